/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one internal control API (ARCHITECTURE.md "Control"). VICI and D-Bus are thin
 * adapters over it; nothing here knows their wire formats.
 *
 * The daemon's identity, its counters, reloading the settings, log lines (subscribed,
 * the last few kept, and traced per negotiation); connections, shared keys and pools
 * loaded and listed; IKE and CHILD SAs listed, initiated, rekeyed and terminated, with
 * their events. The daemon lends hooks (ControlHooks) for what its IKE runtime does;
 * without a hook, lists are empty and actions answer CONTROL_ERROR_UNSUPPORTED. Pools
 * are kept here: nothing assigns addresses from them yet.
 */
#pragma once

#include <glib.h>
#include <sys/utsname.h>

#include "config/conn.h"
#include "core/log.h"
#include <vpnd/types.h>

G_BEGIN_DECLS

#define CONTROL_ERROR (control_error_quark())
GQuark control_error_quark(void);

typedef enum {
	CONTROL_ERROR_FAILED,      /* the action was tried and failed; the message says why */
	CONTROL_ERROR_UNSUPPORTED, /* vpnd cannot do this (yet) */
	CONTROL_ERROR_NOT_FOUND,   /* no connection of that name */
	CONTROL_ERROR_ALREADY_ACTIVE,
	CONTROL_ERROR_AUTHENTICATION_FAILED,
	CONTROL_ERROR_TIMEOUT,
	CONTROL_ERROR_INVALID_ARGUMENT,
} ControlError;

typedef enum {
	CONTROL_CONN_DOWN,
	CONTROL_CONN_CONNECTING,
	CONTROL_CONN_ESTABLISHED,
	CONTROL_CONN_DISCONNECTING,
} ControlConnState;

/* "down", "connecting", "established", "disconnecting": what clients see. */
const char *control_conn_state_to_string(ControlConnState state);

/* A connection as clients see it: its configuration's name and its tunnel's state. */
typedef struct {
	char *name;
	ControlConnState state;
	char *local_address;  /* "" when not known */
	char *remote_address; /* "" when not known */
	char **virtual_ips;   /* never NULL */
	guint64 bytes_in;
	guint64 bytes_out;
	guint64 packets_in;
	guint64 packets_out;
	gint64 established_at;        /* UNIX seconds; 0 unless established */
	char *last_error;             /* why the last attempt failed; "" if it did not */
	ControlError last_error_code; /* meaningful when last_error is not "" */
} ControlConn;

/* A connection named @name, down, with every other field empty. (transfer full) */
ControlConn *control_conn_new(const char *name);
ControlConn *control_conn_copy(const ControlConn *conn);
void control_conn_free(ControlConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ControlConn, control_conn_free)

/*
 * The SAs of connection @conn a rekey or terminate means: its IKE SAs, or with @child its
 * CHILD SAs of that name; narrowed to one IKE SA by the unique id listings show
 * (@ike_id) and to one CHILD SA (@child_id); 0: no narrowing.
 */
typedef struct {
	const char *conn;
	const char *child;
	guint32 ike_id, child_id;
} ControlSaSelector;

/* One algorithm a crypto plugin offers, as listings name it ("AES_GCM_16"). */
typedef void (*ControlAlgFunc)(const char *name, const char *plugin, gpointer user_data);

struct ControlCounters;

/* What the daemon lends the control API; it outlives the Control object. */
typedef struct {
	/* Re-reads the settings; FALSE and @error when the old ones were kept. */
	gboolean (*reload)(gpointer user_data, GError **error);
	/* Names of the loaded plugins, in load order. (transfer container) */
	GPtrArray *(*list_plugins)(gpointer user_data);
	/* The algorithms of one class ("aead", "dh", …: crypto_algorithm_classes()). */
	void (*list_algorithms)(gpointer user_data, const char *klass, ControlAlgFunc func,
				gpointer func_data);
	/*
	 * Connections, lent by the config store and the engine when they exist; a NULL
	 * hook means vpnd cannot do that yet (CONTROL_ERROR_UNSUPPORTED).
	 */
	/* Every connection, by name. (transfer full: ControlConn, freeing) */
	GPtrArray *(*list_connections)(gpointer user_data);
	/* One connection, its counters read now. (transfer full) (nullable) */
	ControlConn *(*lookup_connection)(gpointer user_data, const char *name);
	/* Start or stop negotiating @name, which exists; the outcome comes as events. */
	gboolean (*initiate)(gpointer user_data, const char *name, GError **error);
	gboolean (*terminate)(gpointer user_data, const char *name, GError **error);
	/* Connections in swanctl.conf syntax; returns the names loaded. (transfer full) */
	char **(*load)(gpointer user_data, const char *text, const char *origin, GError **error);
	gboolean (*unload)(gpointer user_data, const char *name, GError **error);
	/* The configurations behind list_connections, in load order. (transfer full:
	 * ConnConfig references) */
	GPtrArray *(*list_conn_configs)(gpointer user_data);
	/* Pre-shared keys: add (replacing one of the same @name), remove, list names. */
	gboolean (*load_shared)(gpointer user_data, const char *name, const char *const *owners,
				const VpndSecret *secret, GError **error);
	gboolean (*unload_shared)(gpointer user_data, const char *name, GError **error);
	GStrv (*list_shared)(gpointer user_data);
	/* IKE SAs with their children. (transfer full: ControlIkeSa) */
	GPtrArray *(*list_sas)(gpointer user_data);
	/* Trap policies, one entry per child. (transfer full: ControlPolicy) */
	GPtrArray *(*list_policies)(gpointer user_data);
	/* Start negotiating @child of connection @name (NULL: its first child). */
	gboolean (*initiate_child)(gpointer user_data, const char *name, const char *child,
				   GError **error);
	/* Installs / removes the trap policies of @child of connection @name (NULL: the
	 * first connection, in load order, that has a child so named). */
	gboolean (*install_trap)(gpointer user_data, const char *name, const char *child,
				 GError **error);
	gboolean (*uninstall_trap)(gpointer user_data, const char *name, const char *child,
				   GError **error);
	/* Rekey the SAs @sel means; sets *matches to how many rekeyings were started. */
	gboolean (*rekey)(gpointer user_data, const ControlSaSelector *sel, guint *matches,
			  GError **error);
	/* Delete the SAs @sel means (CHILD SAs: their IKE SA stays); *matches: how many
	 * deletions were started. */
	gboolean (*terminate_sas)(gpointer user_data, const ControlSaSelector *sel,
				  guint *matches, GError **error);
	/* Counters of the IKE runtime; FALSE: vpnd runs no IKE (yet). */
	gboolean (*get_counters)(gpointer user_data, struct ControlCounters *counters);
	void (*reset_counters)(gpointer user_data);
	/* control_sa_views_wanted() changed to @wanted. */
	void (*sa_views_changed)(gpointer user_data, gboolean wanted);
	gpointer user_data;
} ControlHooks;

typedef struct Control Control;

/* Call from the main thread: it marks the start of the uptime and is the thread that
 * log subscribers are called in. */
Control *control_new(const ControlHooks *hooks);
void control_free(Control *ctl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Control, control_free)

typedef struct {
	const char *daemon;  /* "vpnd" */
	const char *version; /* VPND_VERSION */
	gboolean have_uname; /* FALSE if uname(2) failed: uts is then unset */
	struct utsname uts;
} ControlVersion;

void control_get_version(Control *ctl, ControlVersion *version);

/* Job priorities of a worker pool, most urgent first. */
typedef enum {
	CONTROL_PRIO_CRITICAL,
	CONTROL_PRIO_HIGH,
	CONTROL_PRIO_MEDIUM,
	CONTROL_PRIO_LOW,
} ControlPrio;
#define CONTROL_N_PRIOS 4

typedef struct {
	GDateTime *started; /* local time of control_new() */
	gint64 running_s;   /* monotonic seconds since then */
	/* Threads doing daemon work, and what they do right now. */
	guint workers_total;
	guint workers_idle;
	guint workers_active[CONTROL_N_PRIOS];
	guint jobs_queued[CONTROL_N_PRIOS];
	guint jobs_scheduled;
	guint ikesas_total;
	guint ikesas_half_open;
	GPtrArray *plugins; /* names, load order */
	gboolean have_mallinfo;
	guint64 heap_sbrk; /* mallinfo2(): arena */
	guint64 heap_mmap; /* hblkhd */
	guint64 heap_used; /* uordblks */
	guint64 heap_free; /* fordblks */
} ControlStats;

/* Fills @stats; release it with control_stats_clear(). */
void control_get_stats(Control *ctl, ControlStats *stats);
void control_stats_clear(ControlStats *stats);

/* Re-reads the daemon's settings (as SIGHUP does). */
gboolean control_reload_settings(Control *ctl, GError **error);

/* Calls @func for each algorithm of @klass the loaded crypto plugins offer; nothing
 * when the daemon lent no list_algorithms hook. */
void control_list_algorithms(Control *ctl, const char *klass, ControlAlgFunc func,
			     gpointer user_data);

typedef struct {
	LogLevel level;
	const char *domain;  /* "ike", "cfg", …; never NULL ("" if unknown) */
	const char *message; /* may contain newlines */
	guint thread;        /* small number of the logging thread; the main thread is 1 */
	gint64 time;         /* g_get_real_time() when it was logged */
} ControlLogLine;

/*
 * Called in the main thread for every log line that passes its domain's threshold.
 * Lines logged while a subscriber runs (by the subscriber itself, say) are not passed
 * on, so a subscriber that logs cannot loop.
 */
typedef void (*ControlLogFunc)(const ControlLogLine *line, gpointer user_data);
guint control_log_watch_add(Control *ctl, ControlLogFunc func, gpointer user_data);
void control_log_watch_remove(Control *ctl, guint id);

#define CONTROL_LOG_HISTORY 200 /* lines kept for clients that ask what happened */

/* The last CONTROL_LOG_HISTORY lines, oldest first. (transfer container: the lines
 * stay valid until the next line is logged) */
GPtrArray *control_log_get_history(Control *ctl);

/* Every connection, by name; empty while vpnd has no config store. (transfer full) */
GPtrArray *control_list_connections(Control *ctl);
/* The connection @name, or NULL and CONTROL_ERROR_NOT_FOUND. (transfer full) */
ControlConn *control_lookup_connection(Control *ctl, const char *name, GError **error);

/*
 * Starts (initiate) or stops (terminate) negotiating @name. TRUE means it started;
 * how it ends comes as CONTROL_CONN_CHANGED events. CONTROL_ERROR_NOT_FOUND for an
 * unknown name, CONTROL_ERROR_UNSUPPORTED while vpnd has no IKE engine.
 */
gboolean control_initiate(Control *ctl, const char *name, GError **error);
gboolean control_terminate(Control *ctl, const char *name, GError **error);

/* Loads connections from @text in swanctl.conf syntax (@origin names it in errors);
 * returns the names loaded. (transfer full) */
char **control_load_connections(Control *ctl, const char *text, const char *origin, GError **error);
gboolean control_unload_connection(Control *ctl, const char *name, GError **error);

typedef enum {
	CONTROL_CONN_ADDED,
	CONTROL_CONN_CHANGED, /* any field changed */
	CONTROL_CONN_REMOVED,
} ControlConnEvent;

/* Called in the main thread with the connection as it is now (as it was, if removed). */
typedef void (*ControlConnFunc)(ControlConnEvent event, const ControlConn *conn,
				gpointer user_data);
guint control_conn_watch_add(Control *ctl, ControlConnFunc func, gpointer user_data);
void control_conn_watch_remove(Control *ctl, guint id);
/* For the config store and the engine: tells the watchers. */
void control_publish_conn(Control *ctl, ControlConnEvent event, const ControlConn *conn);

/* The configurations of every connection (ConnConfig references; empty without a store).
 * (transfer full) */
GPtrArray *control_list_conn_configs(Control *ctl);

/*
 * Pre-shared keys, by a unique name. @owners are identities ("moon", "@fqdn", …; none:
 * anyone). @secret is copied; the store zeroes it when it is freed. Never logged.
 */
gboolean control_load_shared(Control *ctl, const char *name, const char *const *owners,
			     const VpndSecret *secret, GError **error);
gboolean control_unload_shared(Control *ctl, const char *name, GError **error);
/* The names of the keys loaded. (transfer full) */
GStrv control_list_shared(Control *ctl);

/* An address pool. vpnd stores and lists pools; it does not assign virtual IPs yet. */
typedef struct {
	char *name;
	char *addrs;           /* as loaded: "10.3.0.0/28", "10.3.0.1-10.3.0.20" */
	char *base;            /* a subnet's network address, a range's first address */
	guint32 size;          /* addresses in the pool */
	guint online, offline; /* leases: always 0 while vpnd assigns none */
} ControlPool;

/* Adds or replaces pool @name; CONTROL_ERROR_INVALID_ARGUMENT if @addrs is no range. */
gboolean control_load_pool(Control *ctl, const char *name, const char *addrs, GError **error);
gboolean control_unload_pool(Control *ctl, const char *name, GError **error);
/* Pools in load order. (transfer container: valid until the next load or unload) */
GPtrArray *control_list_pools(Control *ctl);

/*
 * A CHILD_SA as list-sas shows it. Made by control_child_sa_new(): its texts live in the
 * same allocation (sa/ keeps the last view of every SA for its events, a gateway has
 * thousands, and one block costs a third of a dozen).
 */
typedef struct {
	const char *name;
	guint32 unique_id;
	guint32 reqid;
	/* state, mode and the algorithm names are static (or interned) strings: events keep
	 * the last view of every SA, and a gateway has thousands */
	const char *state; /* "INSTALLED", "CREATED", … */
	const char *mode;  /* "TUNNEL", "TRANSPORT" */
	gboolean encap;    /* ESP in UDP */
	guint32 spi_in, spi_out;
	const char *encr_alg; /* "AES_GCM_16"; NULL: none */
	guint encr_keysize;
	const char *integ_alg; /* NULL for AEADs */
	const char *dh_group;  /* NULL: no PFS */
	guint64 bytes_in, packets_in, bytes_out, packets_out;
	gint64 use_in, use_out;          /* seconds since last use; -1: never */
	gint64 installed;                /* seconds since install */
	gint64 rekey_in, life_in;        /* seconds until; -1: never */
	const char *const *local_ts;  /* "10.1.0.0/24", …, NULL */
	const char *const *remote_ts; /* the same */
} ControlChildSa;

/* An IKE SA as list-sas shows it; made by control_ike_sa_new(), its texts in one block. */
typedef struct {
	const char *name;
	guint32 unique_id;
	const char *state; /* "ESTABLISHED", "CONNECTING", …: static, as the names below */
	const char *local_host, *remote_host;
	guint16 local_port, remote_port;
	const char *local_id, *remote_id;
	gboolean initiator;
	guint64 spi_i, spi_r;
	gboolean nat_local, nat_remote; /* with encap forced, a NAT here is not known */
	const char *encr_alg;           /* NULL until negotiated */
	guint encr_keysize;
	const char *integ_alg, *prf_alg, *dh_group; /* NULL: none */
	gint64 established;                   /* seconds since; -1: not yet */
	gint64 rekey_in;                      /* seconds until; -1: never */
	guint n_children;
	ControlChildSa **children; /* n_children slots in the same block, owned */
} ControlIkeSa;

/* Views with these texts copied and room for @n_children children (the caller fills
 * each slot); the rest zero. */
ControlIkeSa *control_ike_sa_new(const char *name, const char *local_host,
				 const char *remote_host, const char *local_id,
				 const char *remote_id, guint n_children);
ControlChildSa *control_child_sa_new(const char *name, char **local_ts, char **remote_ts);
void control_ike_sa_free(ControlIkeSa *sa);
void control_child_sa_free(ControlChildSa *child);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ControlIkeSa, control_ike_sa_free)

/*
 * A traffic selector as strongSwan's tools print it: "10.1.0.0/24", "10.0.0.1..10.0.0.9",
 * "dynamic", each with "[tcp/https]", "[udp/1000-2000]" or "[47]" when narrowed.
 * (transfer full)
 */
char *control_format_ts(const VpndTs *ts, gboolean dynamic);

/* Every IKE SA. (transfer full: ControlIkeSa) */
GPtrArray *control_list_sas(Control *ctl);

/* The trap policies of one child (start_action, dpd_action or close_action = trap). */
typedef struct {
	char *conn, *child;
	VpndIpsecMode mode;
	GStrv local_ts, remote_ts; /* as control_format_ts() writes them */
} ControlPolicy;

void control_policy_free(ControlPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ControlPolicy, control_policy_free)
/* Every child's trap policies. (transfer full: ControlPolicy) */
GPtrArray *control_list_policies(Control *ctl);
/*
 * Installs the trap policies of @child in connection @ike (NULL: the first connection
 * with such a child), as start_action = trap does at load; installed already is
 * success. CONTROL_ERROR_NOT_FOUND without such a child, FAILED when no policy could be
 * installed. Uninstall removes them; NOT_FOUND when the child has none.
 */
gboolean control_install_trap(Control *ctl, const char *ike, const char *child, GError **error);
gboolean control_uninstall_trap(Control *ctl, const char *ike, const char *child, GError **error);

/* Counters of the IKE runtime, as charon's get-counters names them. */
typedef struct ControlCounters {
	guint64 ike_rekey_init, ike_rekey_resp, child_rekey, invalid, invalid_spi;
	guint64 ike_init_in_req, ike_init_in_resp, ike_init_out_req, ike_init_out_resp;
	guint64 ike_auth_in_req, ike_auth_in_resp, ike_auth_out_req, ike_auth_out_resp;
	guint64 create_child_in_req, create_child_in_resp, create_child_out_req,
		create_child_out_resp;
	guint64 info_in_req, info_in_resp, info_out_req, info_out_resp;
} ControlCounters;

/*
 * Starts @child (NULL: the first) of connection @name; as control_initiate(), with
 * CONTROL_ERROR_NOT_FOUND for an unknown connection or child.
 */
gboolean control_initiate_child(Control *ctl, const char *name, const char *child, GError **error);

/*
 * Starts rekeying the SAs @sel means; *@matches says how many. The outcome comes as SA
 * events; CONTROL_ERROR_NOT_FOUND for an unknown connection.
 */
gboolean control_rekey(Control *ctl, const ControlSaSelector *sel, guint *matches,
		       GError **error);

/*
 * Starts deleting the SAs @sel means (CHILD SAs keep their IKE SA); *@matches says how
 * many. The outcome comes as IKE_DOWN or CHILD_DOWN events.
 */
gboolean control_terminate_sas(Control *ctl, const ControlSaSelector *sel, guint *matches,
			       GError **error);

/*
 * Every line up to @level logged in the main thread whatever the log thresholds, with
 * the connection it is about (NULL if none is known): for clients that asked to follow
 * one negotiation (VICI control-log). Lines logged by a tracer are not passed on.
 */
typedef void (*ControlTraceFunc)(const ControlLogLine *line, const char *conn, gpointer user_data);
guint control_trace_add(Control *ctl, ControlTraceFunc func, LogLevel level, gpointer user_data);
void control_trace_remove(Control *ctl, guint id);

typedef enum {
	CONTROL_SA_IKE_UP,
	CONTROL_SA_IKE_DOWN,
	CONTROL_SA_CHILD_UP,
	CONTROL_SA_CHILD_DOWN,
} ControlSaEvent;

/*
 * An IKE or CHILD SA came up or went down. @sa is the IKE SA as it is (as it was, when
 * down: then it may carry only its name and unique id); @child names the CHILD SA for
 * the CHILD events; @reason says why an SA went down ("" when asked to). Unless full
 * views are wanted (control_sa_views_hold()), @sa carries only its name and unique id.
 */
typedef void (*ControlSaFunc)(ControlSaEvent event, const ControlIkeSa *sa, const char *child,
			      const char *reason, gpointer user_data);
guint control_sa_watch_add(Control *ctl, ControlSaFunc func, gpointer user_data);
void control_sa_watch_remove(Control *ctl, guint id);
/* For the engine's runtime: tells the watchers. */
void control_publish_sa(Control *ctl, ControlSaEvent event, const ControlIkeSa *sa,
			const char *child, const char *reason);

/*
 * A rekeying completed. IKE: @old_sa was replaced by @new_sa (@child NULL). CHILD: in
 * the IKE SA (@old_sa as it was before, @new_sa as it is now), the CHILD SA @child
 * with inbound SPI @old_spi was replaced by the one with @new_spi.
 */
typedef void (*ControlRekeyFunc)(const ControlIkeSa *old_sa, const ControlIkeSa *new_sa,
				 const char *child, guint32 old_spi, guint32 new_spi,
				 gpointer user_data);
guint control_rekey_watch_add(Control *ctl, ControlRekeyFunc func, gpointer user_data);
void control_rekey_watch_remove(Control *ctl, guint id);
/*
 * Full SA views in events (the rest of ControlIkeSa, and the rekey events) cost the IKE
 * runtime the last view of every SA, kept for the down and rekey events of SAs already
 * gone: a gateway has thousands. It keeps them only while a subscriber holds them
 * wanted, as the VICI server does while a client is registered for SA events.
 */
void control_sa_views_hold(Control *ctl);
void control_sa_views_release(Control *ctl);
gboolean control_sa_views_wanted(Control *ctl);

void control_publish_rekey(Control *ctl, const ControlIkeSa *old_sa, const ControlIkeSa *new_sa,
			   const char *child, guint32 old_spi, guint32 new_spi);

/* Fills @counters (zeroes while vpnd runs no IKE). */
void control_get_counters(Control *ctl, ControlCounters *counters);
void control_reset_counters(Control *ctl);

G_END_DECLS
