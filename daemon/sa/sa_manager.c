/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IKE engine on the main loop: sockets in, actions out (sa_manager.h). */
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#endif

#include "config/conn_loader.h"
#include "core/crypto.h"
#include "core/host.h"
#include "ike/ike_engine.h"
#include "ike/ike_proposal.h"
#include "ike/ike_sa.h"
#include "net/net_addr.h"
#include "net/net_service.h"
#include "sa/sa_manager.h"
#include "sa/sa_timers.h"

/* An installed child SA, so that its counters can be read. */
typedef struct {
	VpndSaId id;
	VpndDirection dir;
	guint32 reqid; /* the engine's; its policies name the child by it */
	ChildConfig *child; /* (nullable) (transfer none) of the SaConn's conn, which
			     * outlives its SaRefs */
} SaRef;

/*
 * A trap policy: outbound, for one pair of configured selectors. While a child SA of
 * the same selectors is up, its own policy takes the trap's place in the kernel (same
 * selectors, one policy); the trap comes back when that policy is deleted.
 */
typedef struct {
	VpndPolicyParams policy;
	ChildConfig *child; /* (transfer none) owned by the connection */
	gboolean installed;
	/* installed at run time (swanctl --install, dpd_action or close_action = trap),
	 * not by start_action: kept across a reload while the child is still there */
	gboolean runtime;
} SaTrap;

typedef struct {
	ConnConfig *conn;
	ControlConn *state;
	GArray *ike_sas;        /* guint32 engine ids of this connection's IKE SAs */
	GPtrArray *start_later; /* names of children to create once the IKE SA is up */
	GArray *sas;            /* SaRef: its child SAs in the kernel */
	GArray *traps;          /* SaTrap: the trap policies of this connection */
	gboolean has_if_id;     /* a child with if_id_in or if_id_out */
	/* what SAs deleted since the connection went up carried: rekeys keep the totals */
	VpndSaStats gone_in, gone_out;
	/* keyingtries: the attempt under way (1 for the first) and the child it brings */
	guint tries;
	char *tried_child;
	guint retry_source; /* the next attempt, due from the main loop; 0: none */
	GCancellable *resolving; /* remote_addrs' DNS name is being looked up */
} SaConn;

struct SaManager {
	VpndHost *host;
	Control *control;
	ConnSecrets *secrets;
	GPtrArray *conns; /* SaConn, in load order */
	GHashTable *conn_index; /* name -> SaConn (borrowed from @conns): one per action */
	IkeEngine *engine;
	const VpndKernelOps *kops; /* NULL: no kernel provider */
	VpndKernel *kernel;
	NetService *net;
	NetConfig *net_cfg; /* the sockets to open with the first connection */
	char *conf_dir;
	gboolean force_encap; /* kernel-tun carries ESP in UDP only */
	gboolean answers_first; /* the data plane runs in this main loop (kernel-tun) */
	SaTimers *timers;
	guint counter_timer;  /* while any child SA is installed */
	GPtrArray *gone;      /* GoneChild: dpd_action, close_action still to carry out */
	guint gone_source;    /* idle: carries them out, outside the engine's event */
	ControlCounters counters;
	GHashTable *snapshots;    /* engine IKE SA id -> ControlIkeSa last published */
	gboolean keep_views;      /* control wants full SA views: snapshots are kept */
	gboolean started; /* sa_manager_start() ran: later loads start their children */
	guint32 next_trap_reqid;
	gboolean answering_create_child; /* the actions answer a CREATE_CHILD_SA request */
	GPtrArray *held_out; /* IkeAction: outbound SAs of rekeys we answered, not yet used */
	guint held_timer;
};

/* The longest a rekey responder's new outbound SA waits for the old one's Delete. */
#define SA_HELD_OUT_MAX_S 2

/* Trap policies' reqids, far above the engine's (which count from 1). */
#define SA_TRAP_REQID_BASE 0x40000000u


static void run_actions(SaManager *mgr);
static gboolean refresh_counters(SaManager *mgr, SaConn *c);

/* ---- Connections ---- */

static void
sa_conn_free(SaConn *c)
{
	g_clear_handle_id(&c->retry_source, g_source_remove);
	if (c->resolving) /* its callback sees the cancellation and leaves @c alone */
		g_cancellable_cancel(c->resolving);
	g_clear_object(&c->resolving);
	g_free(c->tried_child);
	conn_config_unref(c->conn);
	control_conn_free(c->state);
	g_array_unref(c->ike_sas);
	g_ptr_array_unref(c->start_later);
	g_array_unref(c->sas);
	g_array_unref(c->traps);
	g_free(c);
}

/* The address alone, as clients show it: ports change with NAT-T, the address is the
 * peer's. (transfer full) */
static char *
format_ip(const VpndAddr *addr)
{
	VpndAddr ip = *addr;
	char buf[64];

	ip.port = 0;
	return g_strdup(net_addr_format(&ip, buf, sizeof(buf)));
}

static SaConn *
sa_conn_new(ConnConfig *conn)
{
	SaConn *c = g_new0(SaConn, 1);

	c->conn = conn_config_ref(conn);
	c->state = control_conn_new(conn->name);
	c->ike_sas = g_array_new(FALSE, FALSE, sizeof(guint32));
	c->start_later = g_ptr_array_new_with_free_func(g_free);
	c->sas = g_array_new(FALSE, FALSE, sizeof(SaRef));
	c->traps = g_array_new(FALSE, FALSE, sizeof(SaTrap));
	for (guint i = 0; i < conn->children->len; i++) {
		ChildConfig *child = conn->children->pdata[i];

		c->has_if_id |= child->if_id_in || child->if_id_out;
	}
	if (conn->local_addr.family) {
		g_free(c->state->local_address);
		c->state->local_address = format_ip(&conn->local_addr);
	}
	if (conn->remote_addr.family) {
		g_free(c->state->remote_address);
		c->state->remote_address = format_ip(&conn->remote_addr);
	}
	return c;
}

/* (nullable) */
static SaConn *
find_conn(SaManager *mgr, const char *name)
{
	return name ? g_hash_table_lookup(mgr->conn_index, name) : NULL;
}

static void
track_ike_sa(SaConn *c, guint32 id, gboolean add)
{
	for (guint i = 0; i < c->ike_sas->len; i++) {
		if (g_array_index(c->ike_sas, guint32, i) == id) {
			if (!add)
				g_array_remove_index(c->ike_sas, i);
			return;
		}
	}
	if (add)
		g_array_append_val(c->ike_sas, id);
}

/* A new tunnel counts from zero. */
static void
reset_counters(SaConn *c)
{
	c->gone_in = c->gone_out = (VpndSaStats){ 0 };
	c->state->bytes_in = c->state->bytes_out = 0;
	c->state->packets_in = c->state->packets_out = 0;
}

/* @error: why it went down (NULL: it did not fail), in words and as a ControlError. */
static void
publish_state(SaManager *mgr, SaConn *c, ControlConnState state, const char *error,
	      ControlError code)
{
	if (c->state->state == CONTROL_CONN_DOWN && state != CONTROL_CONN_DOWN)
		reset_counters(c);
	if (state == CONTROL_CONN_CONNECTING) {
		g_free(c->state->last_error); /* a new attempt: the old reason is history */
		c->state->last_error = g_strdup("");
	}
	if (state == CONTROL_CONN_DOWN) {
		/* the last figures stay readable; SAs whose Delete got lost are not read again */
		refresh_counters(mgr, c);
		g_array_set_size(c->sas, 0);
	}
	c->state->state = state;
	c->state->established_at =
		state == CONTROL_CONN_ESTABLISHED ? g_get_real_time() / G_USEC_PER_SEC : 0;
	if (error) {
		g_free(c->state->last_error);
		c->state->last_error = g_strdup(error);
		c->state->last_error_code = code;
	}
	control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
}

/* What clients may act on: a refused authentication, a peer that never answered. */
static ControlError
reason_to_control_error(IkeReason reason)
{
	switch (reason) {
	case IKE_REASON_AUTH_FAILED:
	case IKE_REASON_PEER_AUTH_FAILED:
		return CONTROL_ERROR_AUTHENTICATION_FAILED;
	case IKE_REASON_PEER_TIMEOUT:
	case IKE_REASON_HALF_OPEN_TIMEOUT:
		return CONTROL_ERROR_TIMEOUT;
	case IKE_REASON_ESTABLISHED:
	case IKE_REASON_DELETED_LOCAL:
	case IKE_REASON_DELETED_PEER:
	case IKE_REASON_NO_PROPOSAL:
	case IKE_REASON_TS_UNACCEPTABLE:
	case IKE_REASON_INVALID_KE:
	case IKE_REASON_EXPIRED:
	case IKE_REASON_REKEYED:
	case IKE_REASON_REPLACED:
	case IKE_REASON_FAILED:
		break;
	}
	return CONTROL_ERROR_FAILED;
}

static VpndSecret *
psk_lookup(gpointer user_data, const ConnIdentity *local, const ConnIdentity *remote)
{
	SaManager *mgr = user_data;

	return conn_secrets_lookup_psk(mgr->secrets, local, remote);
}

/* ---- The store: every connection, key and pool comes in through sa_manager_load() ---- */

static gboolean open_ike(SaManager *mgr, GError **error);
static void start_conn(SaManager *mgr, SaConn *c);

static void install_traps(SaManager *mgr, SaConn *c, ChildConfig *child, gboolean runtime);
static void remove_traps(SaManager *mgr, SaConn *c);

/* Traps follow a replaced connection's new children: those of start_action = trap (the
 * old one had traps: it was started), and the run-time ones of children still there. */
static void
replace_traps(SaManager *mgr, SaConn *old, SaConn *c)
{
	g_autoptr(GHashTable) runtime = g_hash_table_new(g_str_hash, g_str_equal);

	if (!old->traps->len)
		return;
	/* the names belong to the old configuration, alive until add_conn() drops it */
	for (guint i = 0; i < old->traps->len; i++) {
		const SaTrap *t = &g_array_index(old->traps, SaTrap, i);

		if (t->runtime)
			g_hash_table_add(runtime, t->child->name);
	}
	remove_traps(mgr, old);
	for (guint i = 0; i < c->conn->children->len; i++) {
		ChildConfig *child = c->conn->children->pdata[i];

		if (child->start_action == CONN_START_TRAP)
			install_traps(mgr, c, child, FALSE);
		else if (g_hash_table_contains(runtime, child->name))
			install_traps(mgr, c, child, TRUE);
	}
}

/* The kernel SAs of a replaced connection, and what its gone SAs carried, go on
 * counting for the new one; their children are the new configuration's, by name. */
static void
carry_sas(const SaConn *old, SaConn *c)
{
	for (guint i = 0; i < old->sas->len; i++) {
		SaRef ref = g_array_index(old->sas, SaRef, i);

		ref.child = ref.child ? conn_config_get_child(c->conn, ref.child->name) : NULL;
		g_array_append_val(c->sas, ref);
	}
	c->gone_in = old->gone_in;
	c->gone_out = old->gone_out;
}

/*
 * The address the route to @remote leaves from, as the kernel picks it (a UDP socket
 * connected, nothing sent): the local end of an IKE SA whose connection names none, so
 * the SAs' outer addresses and NAT detection use the real one.
 */
static gboolean
source_address_for(const VpndAddr *remote, VpndAddr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = net_addr_to_sockaddr(remote, &ss);
	int fd = socket(remote->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	gboolean ok = fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) == 0 &&
		      (len = sizeof(ss), getsockname(fd, (struct sockaddr *)&ss, &len) == 0) &&
		      net_addr_from_sockaddr(out, (struct sockaddr *)&ss, len);

	if (fd >= 0)
		close(fd);
	if (ok)
		out->port = 500;
	return ok;
}

/* The IKE SA of attempt @attempt (keyingtries) to bring @c up with @child. */
static void
initiate_now(SaManager *mgr, SaConn *c, const char *child, guint attempt)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *name = g_strdup(child); /* it may be c->tried_child */
	VpndAddr local = { 0 };
	guint32 id;

	if (!c->conn->local_addr.family && c->conn->remote_addr.family)
		source_address_for(&c->conn->remote_addr, &local);
	id = ike_engine_initiate_from(mgr->engine, c->conn, name, &local, g_get_monotonic_time(),
				      &error);

	if (!id) {
		g_warning("%s: cannot initiate: %s", c->conn->name, error->message);
		publish_state(mgr, c, CONTROL_CONN_DOWN, error->message, CONTROL_ERROR_FAILED);
		return;
	}
	g_message("%s: initiating IKE SA %u", c->conn->name, id);
	c->tries = attempt;
	g_free(c->tried_child);
	c->tried_child = g_steal_pointer(&name);
	track_ike_sa(c, id, TRUE);
	publish_state(mgr, c, CONTROL_CONN_CONNECTING, NULL, 0);
	run_actions(mgr);
}

typedef struct {
	SaManager *mgr;
	SaConn *c; /* valid unless the lookup was cancelled (sa_conn_free) */
} Lookup;

/* The first address of the family local_addrs has, else the first. */
static gboolean
pick_address(GList *addresses, const VpndAddr *local, VpndAddr *out)
{
	for (guint pass = 0; pass < 2; pass++) {
		for (GList *l = addresses; l; l = l->next) {
			GInetAddress *a = l->data;
			int family = g_inet_address_get_family(a) == G_SOCKET_FAMILY_IPV6 ? AF_INET6
											  : AF_INET;

			if (pass == 0 && local->family && local->family != family)
				continue;
			*out = (VpndAddr){ .family = family, .port = 500 };
			memcpy(out->addr, g_inet_address_to_bytes(a),
			       g_inet_address_get_native_size(a));
			return TRUE;
		}
	}
	return FALSE;
}

/* Our words, not GLib's: its typographic quotes come out of swanctl as nothing. */
static const char *
lookup_failure(const GError *error)
{
	if (g_error_matches(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
		return "no such name";
	if (g_error_matches(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE))
		return "temporary failure in name resolution";
	return error ? "resolver error" : "no usable address";
}

static void
on_resolved(GObject *resolver, GAsyncResult *result, gpointer user_data)
{
	g_autofree Lookup *lookup = user_data;
	g_autoptr(GError) error = NULL;
	GList *addresses = g_resolver_lookup_by_name_finish(G_RESOLVER(resolver), result, &error);
	SaConn *c = lookup->c;
	VpndAddr addr;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	g_clear_object(&c->resolving);
	if (!addresses || !pick_address(addresses, &c->conn->local_addr, &addr)) {
		g_autofree char *why = g_strdup_printf("cannot resolve %s: %s", c->conn->remote_host,
						       lookup_failure(error));

		g_warning("%s: %s", c->conn->name, why);
		c->tries = 0;
		publish_state(lookup->mgr, c, CONTROL_CONN_DOWN, why, CONTROL_ERROR_FAILED);
		g_resolver_free_addresses(addresses);
		return;
	}
	g_resolver_free_addresses(addresses);
	c->conn->remote_addr = addr;
	g_free(c->state->remote_address);
	c->state->remote_address = format_ip(&addr);
	vpnd_info("%s: %s is %s", c->conn->name, c->conn->remote_host, c->state->remote_address);
	initiate_now(lookup->mgr, c, c->tried_child, c->tries);
}

/*
 * Attempt @attempt (keyingtries) of bringing @c up with @child (NULL: the first). A DNS
 * name in remote_addrs is looked up first, for each attempt (the peer's address may
 * change), without holding up the main loop.
 */
static void
start_attempt(SaManager *mgr, SaConn *c, const char *child, guint attempt)
{
	Lookup *lookup;
	g_autoptr(GResolver) resolver = NULL;

	g_clear_handle_id(&c->retry_source, g_source_remove);
	if (!c->conn->remote_host) {
		initiate_now(mgr, c, child, attempt);
		return;
	}
	if (c->resolving) /* one attempt at a time */
		return;
	if (c->tried_child != child) {
		g_free(c->tried_child);
		c->tried_child = g_strdup(child);
	}
	c->tries = attempt;
	c->resolving = g_cancellable_new();
	lookup = g_new(Lookup, 1);
	*lookup = (Lookup){ .mgr = mgr, .c = c };
	resolver = g_resolver_get_default();
	publish_state(mgr, c, CONTROL_CONN_CONNECTING, NULL, 0);
	g_resolver_lookup_by_name_async(resolver, c->conn->remote_host, c->resolving, on_resolved,
					lookup);
}

static void
initiate_child(SaManager *mgr, SaConn *c, const char *child)
{
	start_attempt(mgr, c, child, 1);
}

/* An IKE SA of @c is up, or on its way (its remote name being looked up). */
static gboolean
coming_up(const SaConn *c)
{
	return c->ike_sas->len || c->resolving;
}

typedef struct {
	SaManager *mgr;
	SaConn *c; /* the source goes with it (sa_conn_free) */
} Retry;

static gboolean
on_retry(gpointer user_data)
{
	Retry *r = user_data;

	r->c->retry_source = 0;
	start_attempt(r->mgr, r->c, r->c->tried_child, r->c->tries + 1);
	return G_SOURCE_REMOVE;
}

/* From the main loop, after the event that ended the attempt before. */
static void
schedule_retry(SaManager *mgr, SaConn *c)
{
	Retry *r = g_new(Retry, 1);

	r->mgr = mgr;
	r->c = c;
	c->retry_source = g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, on_retry, r, g_free);
}

/*
 * keyingtries: an attempt whose peer never answered (retransmissions exhausted) is
 * made again, up to keyingtries attempts (0: without end). Other failures (refused
 * proposals, identities, authentication) are answers: trying again would not help.
 */
static gboolean
try_again(SaManager *mgr, SaConn *c, IkeReason reason)
{
	guint max = c->conn->keyingtries;

	if (reason != IKE_REASON_PEER_TIMEOUT || !c->tries || max == 1)
		return FALSE;
	if (max && c->tries >= max) {
		g_message("%s: giving up after %u attempts (keyingtries)", c->conn->name, c->tries);
		return FALSE;
	}
	if (max)
		g_message("%s: peer not responding, trying again (attempt %u of %u)", c->conn->name,
			  c->tries + 1, max);
	else
		g_message("%s: peer not responding, trying again (attempt %u)", c->conn->name,
			  c->tries + 1);
	schedule_retry(mgr, c);
	return TRUE;
}

/* The user took the connection down: no further attempt, no lookup going on. */
static void
stop_attempts(SaConn *c)
{
	g_clear_handle_id(&c->retry_source, g_source_remove);
	if (c->resolving)
		g_cancellable_cancel(c->resolving);
	g_clear_object(&c->resolving);
	c->tries = 0;
}

/* An initiation that is retried goes on under the connection that replaces @old. */
static void
carry_attempt(SaManager *mgr, SaConn *old, SaConn *c)
{
	c->tries = old->tries;
	c->tried_child = g_steal_pointer(&old->tried_child);
	if (old->resolving) {
		/* the lookup goes with @old: the same attempt starts over, under @c's name */
		c->tries = old->tries ? old->tries - 1 : 0;
		schedule_retry(mgr, c);
	} else if (old->retry_source) {
		g_clear_handle_id(&old->retry_source, g_source_remove);
		schedule_retry(mgr, c);
	}
}

/* @conn replaces a connection of the same name; that one's IKE SAs stay up. */
static void
add_conn(SaManager *mgr, ConnConfig *conn)
{
	SaConn *old = find_conn(mgr, conn->name);
	SaConn *c = sa_conn_new(conn);

	conn->encap |= mgr->force_encap;
	ike_engine_add_conn(mgr->engine, conn);
	/* the group an initiator proposes first: ready for the first handshake either way */
	crypto_ke_prepare(mgr->host, ike_proposal_first_ke(conn->ike_proposals));
	if (old) {
		g_array_append_vals(c->ike_sas, old->ike_sas->data, old->ike_sas->len);
		carry_sas(old, c);
		c->state->state = old->state->state;
		c->state->established_at = old->state->established_at;
		carry_attempt(mgr, old, c);
		ike_engine_remove_conn(mgr->engine, old->conn);
		replace_traps(mgr, old, c);
		g_hash_table_replace(mgr->conn_index, c->conn->name, c);
		g_ptr_array_remove(mgr->conns, old);
		g_ptr_array_add(mgr->conns, c);
		control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
		return;
	}
	g_hash_table_insert(mgr->conn_index, c->conn->name, c);
	g_ptr_array_add(mgr->conns, c);
	control_publish_conn(mgr->control, CONTROL_CONN_ADDED, c->state);
}

/*
 * The one way into the store: VICI load-conn, D-Bus Load and the files of conf_dir
 * all parse to a ConnLoad and end here. All or nothing for what can fail.
 */
static char **
apply_load(SaManager *mgr, ConnLoad *load, const char *origin, GError **error)
{
	g_autoptr(GStrvBuilder) names = g_strv_builder_new();

	if (load->conns->len && !open_ike(mgr, error))
		return NULL;
	for (guint i = 0; i < load->pools->len; i++) {
		ConnPoolDef *pool = load->pools->pdata[i];

		if (!control_load_pool(mgr->control, pool->name, pool->addrs, error)) {
			g_prefix_error(error, "%s: ", origin);
			return NULL;
		}
	}
	for (guint i = 0; i < load->shared->len; i++)
		conn_secrets_take(mgr->secrets, g_steal_pointer(&load->shared->pdata[i]));
	for (guint i = 0; i < load->conns->len; i++) {
		ConnConfig *conn = load->conns->pdata[i];

		add_conn(mgr, conn);
		g_strv_builder_add(names, conn->name);
		vpnd_info("connection %s loaded from %s", conn->name, origin);
		/* loaded at run time: started as charon does on load-conn */
		if (mgr->started && !find_conn(mgr, conn->name)->ike_sas->len)
			start_conn(mgr, find_conn(mgr, conn->name));
	}
	return g_strv_builder_end(names);
}

char **
sa_manager_load(SaManager *mgr, const char *text, const char *origin, GError **error)
{
	g_autoptr(ConnLoad) load = conn_loader_parse_text(text, origin, error);

	return load ? apply_load(mgr, load, origin, error) : NULL;
}

static void delete_all(SaManager *mgr, SaConn *c);

gboolean
sa_manager_unload(SaManager *mgr, const char *name, GError **error)
{
	SaConn *c = find_conn(mgr, name);

	if (!c) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND,
			    "connection \"%s\" not found", name);
		return FALSE;
	}
	/* its SAs go with it: nothing could list or terminate them any more */
	stop_attempts(c);
	delete_all(mgr, c);
	run_actions(mgr);
	remove_traps(mgr, c);
	ike_engine_remove_conn(mgr->engine, c->conn);
	control_publish_conn(mgr->control, CONTROL_CONN_REMOVED, c->state);
	g_hash_table_remove(mgr->conn_index, name);
	g_ptr_array_remove(mgr->conns, c);
	vpnd_info("connection %s unloaded", name);
	return TRUE;
}

GPtrArray *
sa_manager_list_conn_configs(SaManager *mgr)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);

	for (guint i = 0; i < mgr->conns->len; i++)
		g_ptr_array_add(list, conn_config_ref(((SaConn *)mgr->conns->pdata[i])->conn));
	return list;
}

gboolean
sa_manager_load_shared(SaManager *mgr, const char *name, const char *const *owners,
		       const VpndSecret *secret, GError **error)
{
	ConnSharedKey *key = conn_shared_key_new(name, owners, secret, error);

	if (!key)
		return FALSE;
	conn_secrets_take(mgr->secrets, key);
	return TRUE;
}

gboolean
sa_manager_unload_shared(SaManager *mgr, const char *name, GError **error)
{
	if (conn_secrets_remove(mgr->secrets, name))
		return TRUE;
	g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND, "shared key \"%s\" not found",
		    name);
	return FALSE;
}

GStrv
sa_manager_list_shared(SaManager *mgr)
{
	return conn_secrets_list_names(mgr->secrets);
}

/* Every *.conf of conf_dir, down the same path as a client's load-conn. */
gboolean
sa_manager_load_conf_dir(SaManager *mgr, GError **error)
{
	g_auto(GStrv) paths = conn_loader_list_dir(mgr->conf_dir);

	for (guint i = 0; paths[i]; i++) {
		/* from the file itself, so its includes are relative to its folder */
		g_autoptr(ConnLoad) load = conn_loader_parse_file(paths[i], error);
		g_auto(GStrv) names = load ? apply_load(mgr, load, paths[i], error) : NULL;

		if (!names)
			return FALSE;
	}
#ifdef __GLIBC__
	/* The files' settings trees are gone; without this their pages (5 MB for 1000
	 * connections) stay resident in the heap for the daemon's lifetime. */
	malloc_trim(0);
#endif
	if (mgr->conns->len == 0)
		vpnd_info("no connections in %s", mgr->conf_dir);
	else
		g_message("%u connection%s and %u secret%s loaded from %s", mgr->conns->len,
			  mgr->conns->len == 1 ? "" : "s", conn_secrets_count(mgr->secrets),
			  conn_secrets_count(mgr->secrets) == 1 ? "" : "s", mgr->conf_dir);
	return TRUE;
}

/* ---- Timers ---- */

static void
on_timer(guint32 ike_sa_id, IkeTimerKind kind, gint64 now, gpointer user_data)
{
	SaManager *mgr = user_data;

	ike_engine_timer(mgr->engine, ike_sa_id, kind, now);
	run_actions(mgr);
}

/* ---- Counters ---- */

#define SA_MANAGER_COUNTER_INTERVAL_S 1 /* how often clients see the counters move */

static gboolean
sa_id_equal(const VpndSaId *a, const VpndSaId *b)
{
	return a->spi == b->spi && a->protocol == b->protocol && a->dst.family == b->dst.family &&
	       memcmp(a->dst.addr, b->dst.addr, sizeof(a->dst.addr)) == 0;
}

static void
add_stats(VpndSaStats *sum, const VpndSaStats *s)
{
	sum->bytes += s->bytes;
	sum->packets += s->packets;
}

/* The SA's counters now; zero when the provider cannot tell. */
static VpndSaStats
query_sa(SaManager *mgr, const VpndSaId *id)
{
	VpndSaStats stats = { 0 };

	if (mgr->kops && mgr->kops->query_sa)
		mgr->kops->query_sa(mgr->kernel, id, &stats, NULL);
	return stats;
}

/* Totals of the connection's SAs, gone and installed; TRUE when they moved. */
static gboolean
refresh_counters(SaManager *mgr, SaConn *c)
{
	VpndSaStats in = c->gone_in, out = c->gone_out;
	ControlConn *st = c->state;

	for (guint i = 0; i < c->sas->len; i++) {
		const SaRef *ref = &g_array_index(c->sas, SaRef, i);
		VpndSaStats now = query_sa(mgr, &ref->id);

		add_stats(ref->dir == VPND_DIR_IN ? &in : &out, &now);
	}
	if (st->bytes_in == in.bytes && st->packets_in == in.packets &&
	    st->bytes_out == out.bytes && st->packets_out == out.packets)
		return FALSE;
	st->bytes_in = in.bytes;
	st->packets_in = in.packets;
	st->bytes_out = out.bytes;
	st->packets_out = out.packets;
	return TRUE;
}

static void
refresh_all_counters(SaManager *mgr)
{
	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		if (c->sas->len && refresh_counters(mgr, c))
			control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
	}
}

static guint
count_sas(SaManager *mgr)
{
	guint n = 0;

	for (guint i = 0; i < mgr->conns->len; i++)
		n += ((SaConn *)mgr->conns->pdata[i])->sas->len;
	return n;
}

static gboolean
any_sas(SaManager *mgr)
{
	return count_sas(mgr) > 0;
}

/*
 * Every refresh asks the kernel once per SA. Past this many SAs (a gateway, not a
 * desktop) the counters are read when a client asks for them, not every second:
 * with 2000 SAs the periodic reads alone kept vpnd busy (bench xfrm).
 */
#define SA_MANAGER_COUNTER_PERIODIC_MAX_SAS 64

static gboolean
on_counter_timer(gpointer user_data)
{
	SaManager *mgr = user_data;

	if (count_sas(mgr) <= SA_MANAGER_COUNTER_PERIODIC_MAX_SAS)
		refresh_all_counters(mgr);
	if (any_sas(mgr))
		return G_SOURCE_CONTINUE;
	mgr->counter_timer = 0;
	return G_SOURCE_REMOVE;
}

static void
track_sa(SaManager *mgr, const IkeAction *a)
{
	SaConn *c = find_conn(mgr, a->conn_name);
	SaRef ref = { .id = { .spi = a->sa.spi, .protocol = a->sa.protocol, .dst = a->sa.dst },
		      .dir = a->sa.dir, .reqid = a->sa.reqid };

	if (!c)
		return;
	ref.child = a->child_name ? conn_config_get_child(c->conn, a->child_name) : NULL;
	g_array_append_val(c->sas, ref);
	if (!mgr->counter_timer)
		mgr->counter_timer =
			g_timeout_add_seconds(SA_MANAGER_COUNTER_INTERVAL_S, on_counter_timer, mgr);
}

/* Before the SA goes: what it carried stays in the connection's totals. */
static void
untrack_sa(SaManager *mgr, const IkeAction *a)
{
	SaConn *c = find_conn(mgr, a->conn_name);

	for (guint i = 0; c && i < c->sas->len; i++) {
		SaRef *ref = &g_array_index(c->sas, SaRef, i);
		VpndSaStats last;

		if (!sa_id_equal(&ref->id, &a->sa_key))
			continue;
		last = query_sa(mgr, &ref->id);
		add_stats(ref->dir == VPND_DIR_IN ? &c->gone_in : &c->gone_out, &last);
		g_array_remove_index(c->sas, i);
		return;
	}
}

/* ---- Kernel ---- */

/* (nullable) the configuration of the child an SA or policy action belongs to */
static ChildConfig *
action_child(SaConn *c, const IkeAction *a)
{
	guint32 reqid = a->kind == IKE_ACTION_ADD_SA || a->kind == IKE_ACTION_DEL_SA
				? a->sa.reqid
				: a->policy.reqid;

	if (!c)
		return NULL;
	if (a->child_name)
		return conn_config_get_child(c->conn, a->child_name);
	/* policy actions name no child: its SAs, installed before them and removed after
	 * them, do (a rekeyed child keeps its reqid) */
	for (guint i = 0; i < c->sas->len; i++) {
		const SaRef *ref = &g_array_index(c->sas, SaRef, i);

		if (ref->reqid == reqid && ref->child)
			return ref->child;
	}
	return NULL;
}

static SaTrap *
find_child_trap(SaConn *c, const ChildConfig *child)
{
	for (guint i = 0; i < c->traps->len; i++) {
		SaTrap *t = &g_array_index(c->traps, SaTrap, i);

		if (t->child == child)
			return t;
	}
	return NULL;
}

/*
 * What the kernel gets beyond the engine's view: route-based children's XFRM interface
 * ids, and for trapped children the trap's reqid, so the kernel retires the larval SA
 * its ACQUIRE left once the real one arrives.
 */
static void
kernel_ids(SaManager *mgr, const IkeAction *a, gboolean out, guint32 *reqid, guint32 *if_id)
{
	SaConn *c = find_conn(mgr, a->conn_name);
	ChildConfig *child;
	SaTrap *trap;

	/* the common case costs no lookup: nothing to add (matters with 1000s of children) */
	if (!c || (!c->traps->len && !c->has_if_id))
		return;
	child = action_child(c, a);
	trap = child ? find_child_trap(c, child) : NULL;
	if (!child)
		return;
	if (!*if_id)
		*if_id = out ? child->if_id_out : child->if_id_in;
	if (trap)
		*reqid = trap->policy.reqid;
}

static gboolean
kernel_add_sa(SaManager *mgr, const IkeAction *a, GError **error)
{
	VpndSaParams sa = a->sa;

	if (!mgr->kops) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "no kernel provider is loaded (plugins.load: kernel-tun?)");
		return FALSE;
	}
	kernel_ids(mgr, a, sa.dir == VPND_DIR_OUT, &sa.reqid, &sa.if_id);
	return mgr->kops->add_sa(mgr->kernel, &sa, error);
}

/* An SA the kernel refused is no tunnel: the IKE SA goes too. */
static void
do_add_sa(SaManager *mgr, const IkeAction *a)
{
	g_autoptr(GError) error = NULL;

	if (kernel_add_sa(mgr, a, &error)) {
		track_sa(mgr, a);
		return;
	}
	g_warning("%s: installing the %s SA %08x failed: %s; deleting IKE SA %u", a->conn_name,
		  a->sa.dir == VPND_DIR_IN ? "inbound" : "outbound", a->sa.spi, error->message,
		  a->ike_sa_id);
	ike_engine_delete_ike(mgr->engine, a->ike_sa_id, g_get_monotonic_time());
}

/* ---- Rekeying: the responder's new outbound SA ---- */

/*
 * The responder of a child rekey has the new SAs before the initiator, which installs
 * its new inbound SA only when our answer arrives. The kernel sends on the newest
 * outbound SA at once, so ours waits until the initiator deletes the old child (its
 * Delete shows it has the new one), at most SA_HELD_OUT_MAX_S: until then the old
 * outbound SA, which the initiator still accepts, carries the traffic.
 */
static gboolean
should_hold_out(SaManager *mgr, const IkeAction *a)
{
	SaConn *c;

	if (!mgr->answering_create_child || a->kind != IKE_ACTION_ADD_SA ||
	    a->sa.dir != VPND_DIR_OUT || !(c = find_conn(mgr, a->conn_name)))
		return FALSE;
	for (guint i = 0; i < c->sas->len; i++) {
		const SaRef *ref = &g_array_index(c->sas, SaRef, i);

		if (ref->dir == VPND_DIR_OUT && ref->reqid == a->sa.reqid)
			return TRUE; /* a rekey: the old child's outbound SA is there */
	}
	return FALSE;
}

static void
install_held(SaManager *mgr, guint index)
{
	IkeAction *a = g_ptr_array_steal_index(mgr->held_out, index);

	vpnd_info("%s: outbound SA %08x now in use", a->conn_name, a->sa.spi);
	do_add_sa(mgr, a);
	ike_action_free(a);
}

/* The old outbound SA of @conn's child @reqid goes: its successor takes over first. */
static void
release_held_out(SaManager *mgr, const char *conn, guint32 reqid)
{
	for (guint i = mgr->held_out->len; i > 0; i--) {
		const IkeAction *a = mgr->held_out->pdata[i - 1];

		if (a->sa.reqid == reqid && g_strcmp0(a->conn_name, conn) == 0)
			install_held(mgr, i - 1);
	}
}

static gboolean
on_held_timer(gpointer user_data)
{
	SaManager *mgr = user_data;

	mgr->held_timer = 0;
	while (mgr->held_out->len)
		install_held(mgr, 0);
	run_actions(mgr);
	return G_SOURCE_REMOVE;
}

static void
hold_out(SaManager *mgr, IkeAction *a)
{
	vpnd_info("%s: new outbound SA %08x held until the old one is deleted", a->conn_name,
		a->sa.spi);
	g_ptr_array_add(mgr->held_out, a);
	if (!mgr->held_timer)
		mgr->held_timer = g_timeout_add_seconds(SA_HELD_OUT_MAX_S, on_held_timer, mgr);
}

/* A held SA deleted before it was used (the child went down meanwhile). */
static gboolean
drop_held_out(SaManager *mgr, const VpndSaId *id)
{
	for (guint i = 0; i < mgr->held_out->len; i++) {
		const IkeAction *a = mgr->held_out->pdata[i];

		if (sa_id_equal(&a->sa_key, id)) {
			g_ptr_array_remove_index(mgr->held_out, i);
			return TRUE;
		}
	}
	return FALSE;
}

/* ---- Trap policies ---- */

static gboolean
same_policy_key(const VpndPolicyParams *a, const VpndPolicyParams *b)
{
	return a->dir == b->dir && a->if_id == b->if_id &&
	       memcmp(&a->src_ts, &b->src_ts, sizeof(VpndTs)) == 0 &&
	       memcmp(&a->dst_ts, &b->dst_ts, sizeof(VpndTs)) == 0;
}

/* (nullable) the trap of @c that @policy (a child's own) stands in for */
static SaTrap *
find_trap(SaConn *c, const VpndPolicyParams *policy, gboolean installed)
{
	for (guint i = 0; c && i < c->traps->len; i++) {
		SaTrap *t = &g_array_index(c->traps, SaTrap, i);

		if (t->installed == installed && same_policy_key(&t->policy, policy))
			return t;
	}
	return NULL;
}

/* FALSE when the kernel refused the policy. While the connection has an IKE SA, a
 * policy of the same selectors is its child's own: no refusal, it stands in for the
 * trap until it is deleted (do_kernel() installs the trap then). */
static gboolean
trap_install(SaManager *mgr, SaConn *c, SaTrap *t)
{
	g_autoptr(GError) error = NULL;

	t->installed = mgr->kops->add_policy(mgr->kernel, &t->policy, &error);
	if (t->installed ||
	    (g_error_matches(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_EXISTS) &&
	     c->ike_sas->len))
		return TRUE;
	g_warning("%s: cannot install the trap policy of %s: %s", c->conn->name, t->child->name,
		  error->message);
	return FALSE;
}

static void
trap_remove(SaManager *mgr, SaConn *c, SaTrap *t)
{
	g_autoptr(GError) error = NULL;

	if (!mgr->kops->del_policy(mgr->kernel, &t->policy, &error))
		g_warning("%s: cannot remove the trap policy of %s: %s", c->conn->name,
			  t->child->name, error->message);
	t->installed = FALSE;
}

static void
do_kernel(SaManager *mgr, const IkeAction *a)
{
	g_autoptr(GError) error = NULL;
	SaConn *c = find_conn(mgr, a->conn_name);
	VpndPolicyParams policy = a->policy;
	SaTrap *trap;
	gboolean ok = TRUE;

	if (!mgr->kops)
		return;
	kernel_ids(mgr, a, policy.dir == VPND_DIR_OUT, &policy.reqid, &policy.if_id);
	if (a->kind == IKE_ACTION_DEL_SA) {
		if (drop_held_out(mgr, &a->sa_key))
			return; /* never installed */
		if (a->sa.dir == VPND_DIR_OUT)
			release_held_out(mgr, a->conn_name, a->sa.reqid);
		untrack_sa(mgr, a);
		ok = mgr->kops->del_sa(mgr->kernel, &a->sa_key, &error);
	} else if (a->kind == IKE_ACTION_ADD_POLICY) {
		if ((trap = find_trap(c, &policy, TRUE)))
			trap_remove(mgr, c, trap);
		ok = mgr->kops->add_policy(mgr->kernel, &policy, &error);
	} else if (a->kind == IKE_ACTION_DEL_POLICY) {
		ok = mgr->kops->del_policy(mgr->kernel, &policy, &error);
		if ((trap = find_trap(c, &policy, FALSE)))
			trap_install(mgr, c, trap);
	}
	if (!ok)
		g_warning("%s: %s", a->conn_name, error->message);
}

/* A packet hit a trap policy: negotiate its child. */
static void
on_kernel_acquire(gpointer user_data, guint32 reqid, const VpndTs *src, const VpndTs *dst)
{
	SaManager *mgr = user_data;

	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		for (guint j = 0; j < c->traps->len; j++) {
			SaTrap *t = &g_array_index(c->traps, SaTrap, j);

			if (t->policy.reqid != reqid)
				continue;
			g_message("%s: traffic for %s hit its trap policy", c->conn->name,
				  t->child->name);
			if (c->ike_sas->len == 0) {
				initiate_child(mgr, c, t->child->name);
			} else {
				ike_engine_create_child(mgr->engine,
							g_array_index(c->ike_sas, guint32, 0),
							t->child->name, g_get_monotonic_time());
				run_actions(mgr);
			}
			return;
		}
	}
	vpnd_debug("acquire for reqid %u: no trap policy of ours", reqid);
}

/* The host address of a "dynamic" selector, keeping its protocol and ports. */
static gboolean
trap_ts(const ConnTs *cts, const VpndAddr *host, VpndTs *out)
{
	*out = cts->ts;
	if (!cts->dynamic)
		return TRUE;
	if (!host->family)
		return FALSE;
	out->family = host->family;
	memcpy(out->from, host->addr, sizeof(out->from));
	memcpy(out->to, host->addr, sizeof(out->to));
	if (!out->to_port && !out->from_port)
		out->to_port = 65535;
	return TRUE;
}

static const ConnTs dynamic_ts = { .dynamic = TRUE, .ts = { .to_port = 65535 } };

static void
add_trap(SaManager *mgr, SaConn *c, ChildConfig *child, gboolean runtime, guint32 reqid,
	 const ConnTs *l, const ConnTs *r)
{
	SaTrap t = { .child = child, .runtime = runtime };
	VpndPolicyParams *p = &t.policy;

	if (!trap_ts(l, &c->conn->local_addr, &p->src_ts) ||
	    !trap_ts(r, &c->conn->remote_addr, &p->dst_ts) || p->src_ts.family != p->dst_ts.family)
		return;
	p->dir = VPND_DIR_OUT;
	p->action = VPND_POLICY_TRAP;
	p->mode = child->mode;
	p->reqid = reqid;
	p->src = c->conn->local_addr;
	p->src.family = c->conn->remote_addr.family; /* the kernel picks the source when unset */
	p->src.port = 0;
	p->dst = c->conn->remote_addr;
	p->dst.port = 0;
	p->if_id = child->if_id_out;
	if (trap_install(mgr, c, &t))
		g_array_append_val(c->traps, t);
}

/* The trap policies of @child (start_action = trap, or @runtime): one outbound trap
 * policy per pair of configured selectors. */
static void
install_traps(SaManager *mgr, SaConn *c, ChildConfig *child, gboolean runtime)
{
	guint32 reqid = SA_TRAP_REQID_BASE + mgr->next_trap_reqid++;
	guint nl = MAX(child->local_ts->len, 1), nr = MAX(child->remote_ts->len, 1);
	guint before = c->traps->len;

	if (!mgr->kops || !c->conn->remote_addr.family) {
		g_warning("%s: a trap policy needs %s", child->name,
			  !mgr->kops             ? "a kernel provider"
			  : c->conn->remote_host ? "remote_addrs as an address, or an initiation "
						   "that looked its name up"
						 : "remote_addrs");
		return;
	}
	for (guint l = 0; l < nl; l++) {
		for (guint r = 0; r < nr; r++) {
			const ConnTs *lt = child->local_ts->len
						   ? &g_array_index(child->local_ts, ConnTs, l)
						   : &dynamic_ts;
			const ConnTs *rt = child->remote_ts->len
						   ? &g_array_index(child->remote_ts, ConnTs, r)
						   : &dynamic_ts;

			add_trap(mgr, c, child, runtime, reqid, lt, rt);
		}
	}
	g_message("%s: %u trap polic%s installed for %s", c->conn->name, c->traps->len - before,
		  c->traps->len - before == 1 ? "y" : "ies", child->name);
}

/* The traps of one child, uninstalled by hand. */
static void
remove_child_traps(SaManager *mgr, SaConn *c, const ChildConfig *child)
{
	for (guint i = c->traps->len; i-- > 0;) {
		SaTrap *t = &g_array_index(c->traps, SaTrap, i);

		if (t->child != child)
			continue;
		if (t->installed)
			trap_remove(mgr, c, t);
		g_array_remove_index(c->traps, i);
	}
	g_message("%s: trap policies of %s uninstalled", c->conn->name, child->name);
}

/* A connection replaced or unloaded takes its traps along. */
static void
remove_traps(SaManager *mgr, SaConn *c)
{
	for (guint i = 0; i < c->traps->len; i++) {
		SaTrap *t = &g_array_index(c->traps, SaTrap, i);

		if (t->installed)
			trap_remove(mgr, c, t);
	}
	g_array_set_size(c->traps, 0);
}

static void
on_kernel_send_esp(gpointer user_data, const VpndAddr *src, const VpndAddr *dst, const guint8 *data,
		   gsize len)
{
	SaManager *mgr = user_data;

	if (mgr->net)
		net_service_send_esp(mgr->net, src, dst, data, len);
}

/* Soft: the engine rekeys the child; hard: the kernel dropped it, the engine deletes it. */
static void
on_kernel_send_esp_batch(gpointer user_data, const VpndAddr *src, const VpndAddr *dst,
			 const guint8 *data, gsize len, gsize seg_len)
{
	SaManager *mgr = user_data;

	if (mgr->net)
		net_service_send_esp_batch(mgr->net, src, dst, data, len, seg_len);
}

static void
on_kernel_expire(gpointer user_data, const VpndSaId *sa, VpndExpireKind kind)
{
	SaManager *mgr = user_data;
	gboolean hard = kind == VPND_EXPIRE_HARD;

	g_message("SA %08x reached its %s lifetime", sa->spi, hard ? "hard" : "soft");
	if (!ike_engine_child_expired(mgr->engine, sa->spi, hard, g_get_monotonic_time()))
		vpnd_info("SA %08x: no child SA of ours", sa->spi);
	run_actions(mgr);
}

static gboolean
open_kernel(SaManager *mgr, GError **error)
{
	const HostProvider *p = host_get_best(mgr->host, VPND_PROVIDER_KERNEL);
	static const VpndKernelEvents events = {
		.acquire = on_kernel_acquire,
		.expire = on_kernel_expire,
		.send_esp = on_kernel_send_esp,
		.send_esp_batch = on_kernel_send_esp_batch,
	};

	if (!p) {
		g_warning("no kernel provider loaded: SAs cannot be installed");
		return TRUE;
	}
	mgr->kops = p->ops;
	mgr->kernel = mgr->kops->open(mgr->host, &events, mgr, error);
	if (!mgr->kernel) {
		g_prefix_error(error, "kernel provider %s: ", p->name);
		return FALSE;
	}
	vpnd_info("kernel provider %s (plugin %s)", p->name, p->plugin);
	return TRUE;
}

/* ---- Counters ---- */

/* By the IKE header (RFC 7296 §3.1): exchange type at 18, flags at 19 (R = 0x20). */
static void
count_message(SaManager *mgr, const guint8 *data, gsize len, gboolean in)
{
	ControlCounters *c = &mgr->counters;
	gboolean resp;
	guint64 *slot[4][4] = {
		/* in req, in resp, out req, out resp */
		{ &c->ike_init_in_req, &c->ike_init_in_resp, &c->ike_init_out_req,
		  &c->ike_init_out_resp },
		{ &c->ike_auth_in_req, &c->ike_auth_in_resp, &c->ike_auth_out_req,
		  &c->ike_auth_out_resp },
		{ &c->create_child_in_req, &c->create_child_in_resp, &c->create_child_out_req,
		  &c->create_child_out_resp },
		{ &c->info_in_req, &c->info_in_resp, &c->info_out_req, &c->info_out_resp },
	};

	if (len < 28 || data[18] < 34 || data[18] > 37)
		return;
	resp = (data[19] & 0x20) != 0;
	(*slot[data[18] - 34][(in ? 0 : 2) + resp])++;
}

gboolean
sa_manager_get_counters(SaManager *mgr, ControlCounters *out)
{
	const IkeEngineCounters *e = ike_engine_get_counters(mgr->engine);

	*out = mgr->counters;
	out->invalid = e->malformed + e->bad_icv + e->bad_msgid - mgr->counters.invalid;
	out->invalid_spi = e->no_sa - mgr->counters.invalid_spi;
	return TRUE;
}

void
sa_manager_reset_counters(SaManager *mgr)
{
	const IkeEngineCounters *e = ike_engine_get_counters(mgr->engine);

	/* the engine's own counters cannot be reset: remember where they stood */
	mgr->counters = (ControlCounters){
		.invalid = e->malformed + e->bad_icv + e->bad_msgid,
		.invalid_spi = e->no_sa,
	};
}

/* ---- Listing SAs ---- */

/* (transfer none) static, or interned for an algorithm vpnd has no name for */
static const char *
alg_name(VpndAlgType type, guint id)
{
	const char *name = crypto_algorithm_name(type, id);
	char number[16];

	if (id == 0 || name)
		return id == 0 ? NULL : name;
	g_snprintf(number, sizeof(number), "%u", id);
	return g_intern_string(number);
}

/* (transfer full) the selectors as list-sas prints them */
static char **
ts_texts(GArray *ts)
{
	char **texts = g_new0(char *, (ts ? ts->len : 0) + 1);

	for (guint i = 0; ts && i < ts->len; i++)
		texts[i] = control_format_ts(&g_array_index(ts, VpndTs, i), FALSE);
	return texts;
}

static void
query_traffic(SaManager *mgr, IkeSa *sa, guint32 spi, gboolean in, guint64 *bytes, guint64 *packets,
	      gint64 *use)
{
	VpndSaId id = { .spi = spi, .protocol = 50, .dst = in ? sa->local : sa->remote };
	VpndSaStats st = { 0 };

	*use = -1;
	if (!mgr->kops || !mgr->kops->query_sa || !mgr->kops->query_sa(mgr->kernel, &id, &st, NULL))
		return;
	*bytes = st.bytes;
	*packets = st.packets;
	if (st.last_use)
		*use = MAX(0, g_get_real_time() / G_USEC_PER_SEC - st.last_use);
}

/* Seconds since @when (g_get_monotonic_time() scale); -1 for never (0). */
static gint64
seconds_since(gint64 when)
{
	return when ? (g_get_monotonic_time() - when) / G_USEC_PER_SEC : -1;
}

/* Seconds from now to @when (g_get_monotonic_time() scale); -1 for none (0). */
static gint64
seconds_until(gint64 when)
{
	return when ? MAX(0, (when - g_get_monotonic_time()) / G_USEC_PER_SEC) : -1;
}

static ControlChildSa *
list_child(SaManager *mgr, IkeSa *sa, ChildSa *child)
{
	g_auto(GStrv) local_ts = ts_texts(child->local_ts);
	g_auto(GStrv) remote_ts = ts_texts(child->remote_ts);
	ControlChildSa *c =
		control_child_sa_new(child->cfg ? child->cfg->name : "?", local_ts, remote_ts);

	c->unique_id = child->unique_id;
	c->reqid = child->reqid;
	c->state = child_sa_state_to_string(child->state);
	c->mode = child->mode == VPND_MODE_TRANSPORT ? "TRANSPORT" : "TUNNEL";
	c->encap = sa->nat_local || sa->nat_remote || sa->conn->encap;
	c->spi_in = child->spi_in;
	c->spi_out = child->spi_out;
	c->encr_alg = alg_name(VPND_ALG_ENCR, child->alg.encr);
	c->encr_keysize = child->alg.encr_bits;
	c->integ_alg = alg_name(VPND_ALG_INTEG, child->alg.integ);
	c->dh_group = alg_name(VPND_ALG_KE, child->alg.ke);
	query_traffic(mgr, sa, child->spi_in, TRUE, &c->bytes_in, &c->packets_in, &c->use_in);
	query_traffic(mgr, sa, child->spi_out, FALSE, &c->bytes_out, &c->packets_out, &c->use_out);
	c->installed = seconds_since(child->installed_at);
	c->rekey_in = seconds_until(child->rekey_at);
	c->life_in = seconds_until(child->expire_at);
	return c;
}

static ControlIkeSa *
list_ike_sa(SaManager *mgr, IkeSa *sa)
{
	const ConnIdentity *local_id = conn_config_get_id(sa->conn, TRUE);
	const ConnIdentity *remote_id =
		sa->peer_id ? sa->peer_id : conn_config_get_id(sa->conn, FALSE);
	VpndAddr local = sa->local, remote = sa->remote;
	char local_host[64], remote_host[64];

	local.port = remote.port = 0;
	net_addr_format(&local, local_host, sizeof(local_host));
	net_addr_format(&remote, remote_host, sizeof(remote_host));
	ControlIkeSa *s = control_ike_sa_new(
		sa->conn->name, local_host, remote_host,
		local_id && !conn_identity_is_any(local_id) ? local_id->text : local_host,
		remote_id && !conn_identity_is_any(remote_id) ? remote_id->text : remote_host,
		sa->children->len);

	s->unique_id = sa->id;
	s->state = ike_sa_state_to_string(sa->state);
	s->local_port = sa->local.port;
	s->remote_port = sa->remote.port;
	s->initiator = sa->initiator;
	s->spi_i = sa->spi_i;
	s->spi_r = sa->spi_r;
	/* forced encapsulation fakes a NAT here; charon lists none then, nor does vpnd */
	s->nat_local = sa->nat_local && !sa->conn->encap;
	s->nat_remote = sa->nat_remote;
	if (sa->keymat) {
		s->encr_alg = alg_name(VPND_ALG_ENCR, sa->alg.encr);
		s->encr_keysize = sa->alg.encr_bits;
		s->integ_alg = alg_name(VPND_ALG_INTEG, sa->alg.integ);
		s->prf_alg = alg_name(VPND_ALG_PRF, sa->alg.prf);
		s->dh_group = alg_name(VPND_ALG_KE, sa->alg.ke);
	}
	s->established = -1;
	s->rekey_in = seconds_until(sa->rekey_at);
	if (sa->state == IKE_SA_STATE_ESTABLISHED)
		s->established = seconds_since(sa->established_at);
	for (guint i = 0; i < sa->children->len; i++)
		s->children[i] = list_child(mgr, sa, sa->children->pdata[i]);
	return s;
}

GPtrArray *
sa_manager_list_sas(SaManager *mgr)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)control_ike_sa_free);

	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		for (guint j = 0; j < c->ike_sas->len; j++) {
			IkeSa *sa = ike_engine_get_sa(mgr->engine,
						      g_array_index(c->ike_sas, guint32, j));

			if (sa)
				g_ptr_array_add(list, list_ike_sa(mgr, sa));
		}
	}
	return list;
}

/* ---- Engine events ---- */

static ControlIkeSa *
minimal_snapshot(const IkeAction *a)
{
	ControlIkeSa *s = control_ike_sa_new(a->conn_name ? a->conn_name : "", "", "", "", "", 0);

	s->unique_id = a->ike_sa_id;
	s->state = "DESTROYING";
	s->established = -1;
	s->rekey_in = -1;
	return s;
}

/*
 * The IKE SA as it is; once the engine let it go, as it was last seen (DELETING, the
 * child that went down DELETED), so a down event still says what went down.
 * (transfer none): kept in mgr->snapshots until the IKE SA is down.
 */
static ControlIkeSa *
sa_snapshot(SaManager *mgr, const IkeAction *a, ControlSaEvent event)
{
	gpointer key = GUINT_TO_POINTER(a->ike_sa_id);
	IkeSa *sa = ike_engine_get_sa(mgr->engine, a->ike_sa_id);
	ControlIkeSa *s = sa ? list_ike_sa(mgr, sa) : NULL;

	if (s)
		g_hash_table_replace(mgr->snapshots, key, s);
	else if (!(s = g_hash_table_lookup(mgr->snapshots, key)))
		g_hash_table_replace(mgr->snapshots, key, (s = minimal_snapshot(a)));
	if (!sa) /* gone: only a down event can come now */
		s->state = "DELETING";
	for (guint i = 0; event == CONTROL_SA_CHILD_DOWN && i < s->n_children; i++) {
		ControlChildSa *child = s->children[i];
		if (g_strcmp0(child->name, a->child_name) == 0)
			child->state = "DELETED";
	}
	return s;
}

/* Keeps what list-sas would show of IKE SA @id for its down events. */
static void
refresh_snapshot(SaManager *mgr, guint32 id)
{
	IkeSa *sa = ike_engine_get_sa(mgr->engine, id);

	if (sa)
		g_hash_table_replace(mgr->snapshots, GUINT_TO_POINTER(id), list_ike_sa(mgr, sa));
}

/* @old_id as last published (else as it is), @new_id as it is now, which is kept. */
static void
publish_rekey(SaManager *mgr, guint32 old_id, guint32 new_id, const char *child, guint32 old_spi,
	      guint32 new_spi)
{
	g_autoptr(ControlIkeSa) before = NULL;
	IkeSa *old_sa = ike_engine_get_sa(mgr->engine, old_id);
	ControlIkeSa *now;

	if (!mgr->keep_views) /* rekey events carry full views: nobody wants them */
		return;

	/* taken out: refreshing the new one may replace it (a child rekey: the same id) */
	if (!g_hash_table_steal_extended(mgr->snapshots, GUINT_TO_POINTER(old_id), NULL,
					 (gpointer *)&before) &&
	    old_sa)
		before = list_ike_sa(mgr, old_sa);
	refresh_snapshot(mgr, new_id);
	now = g_hash_table_lookup(mgr->snapshots, GUINT_TO_POINTER(new_id));
	if (before && now)
		control_publish_rekey(mgr->control, before, now, child, old_spi, new_spi);
}

/* What events carry while no subscriber wants full views: the name and unique id. */
static ControlIkeSa *
light_view(SaManager *mgr, const IkeAction *a)
{
	IkeSa *sa = ike_engine_get_sa(mgr->engine, a->ike_sa_id);
	ControlIkeSa *s = minimal_snapshot(a);

	s->state = sa ? ike_sa_state_to_string(sa->state) : "DELETING";
	return s;
}

static void
publish_sa(SaManager *mgr, const IkeAction *a, ControlSaEvent event)
{
	g_autoptr(ControlIkeSa) light = mgr->keep_views ? NULL : light_view(mgr, a);
	ControlIkeSa *snap = light ? light : sa_snapshot(mgr, a, event);
	gboolean asked =
		a->reason == IKE_REASON_DELETED_LOCAL || a->reason == IKE_REASON_ESTABLISHED;

	control_publish_sa(mgr->control, event, snap, a->child_name,
			   a->up || asked ? "" : ike_reason_to_string(a->reason));
	if (event == CONTROL_SA_IKE_DOWN)
		g_hash_table_remove(mgr->snapshots, GUINT_TO_POINTER(a->ike_sa_id));
}

void
sa_manager_keep_views(SaManager *mgr, gboolean keep)
{
	mgr->keep_views = keep;
	g_hash_table_remove_all(mgr->snapshots);
	/* from now on every IKE SA up has a view, so its down event can show it */
	for (guint i = 0; keep && i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		for (guint j = 0; j < c->ike_sas->len; j++)
			refresh_snapshot(mgr, g_array_index(c->ike_sas, guint32, j));
	}
}

/* The further start_action = start children: CREATE_CHILD_SA on the IKE SA just up. */
static void
create_later_children(SaManager *mgr, SaConn *c, guint32 ike_sa_id)
{
	for (guint i = 0; i < c->start_later->len; i++) {
		const char *child = c->start_later->pdata[i];

		if (!ike_engine_create_child(mgr->engine, ike_sa_id, child, g_get_monotonic_time()))
			g_warning("%s: cannot create child %s on IKE SA %u", c->conn->name, child,
				  ike_sa_id);
	}
	g_ptr_array_set_size(c->start_later, 0);
}

static gboolean create_child(SaManager *mgr, SaConn *c, const char *child, GError **error);

/* ---- A peer gone: dpd_action and close_action ---- */

static ConnGoneAction
gone_action(const ChildConfig *child, IkeReason reason)
{
	if (reason == IKE_REASON_PEER_TIMEOUT)
		return child->dpd_action;
	if (reason == IKE_REASON_DELETED_PEER)
		return child->close_action;
	return CONN_GONE_CLEAR;
}

typedef struct {
	char *conn, *child;
	IkeReason reason;
	gboolean ike_up; /* its IKE SA stays: a new CHILD SA on it */
} GoneChild;

static void
gone_child_free(GoneChild *g)
{
	g_free(g->conn);
	g_free(g->child);
	g_free(g);
}

/* @g's tunnel is gone: trap policies or a new attempt, as its child asks. */
static void
carry_out(SaManager *mgr, const GoneChild *g)
{
	g_autoptr(GError) error = NULL;
	SaConn *c = find_conn(mgr, g->conn);
	ChildConfig *child = c ? conn_config_get_child(c->conn, g->child) : NULL;

	if (!child) /* unloaded meanwhile */
		return;
	if (gone_action(child, g->reason) == CONN_GONE_TRAP) {
		if (child->start_action != CONN_START_TRAP) /* those come back by themselves */
			install_traps(mgr, c, child, TRUE);
		return;
	}
	if (!c->conn->remote_addr.family && !c->conn->remote_host) {
		g_message("%s: %s cannot restart %s: no remote_addrs to initiate to",
			  c->conn->name,
			  g->reason == IKE_REASON_PEER_TIMEOUT ? "dpd_action" : "close_action",
			  child->name);
		return;
	}
	g_message("%s: restarting CHILD SA %s (%s)", c->conn->name, child->name,
		  ike_reason_to_string(g->reason));
	if (g->ike_up) {
		if (!create_child(mgr, c, child->name, &error))
			g_warning("%s: %s", c->conn->name, error->message);
	} else if (coming_up(c)) {
		/* the first child restarted brings the IKE SA; the others follow on it */
		g_ptr_array_add(c->start_later, g_strdup(child->name));
	} else {
		initiate_child(mgr, c, child->name);
	}
}

static gboolean
on_gone(gpointer user_data)
{
	SaManager *mgr = user_data;
	g_autoptr(GPtrArray) gone = g_steal_pointer(&mgr->gone);

	mgr->gone_source = 0;
	mgr->gone = g_ptr_array_new_with_free_func((GDestroyNotify)gone_child_free);
	for (guint i = 0; i < gone->len; i++)
		carry_out(mgr, gone->pdata[i]);
	return G_SOURCE_REMOVE;
}

/*
 * @child's tunnel is gone for @reason: what its dpd_action or close_action asks is done
 * from the main loop, after the event that said so. Done at once, a new exchange would
 * be sent before the answers still queued in that event (the Delete's).
 */
static void
after_child_gone(SaManager *mgr, SaConn *c, ChildConfig *child, IkeReason reason,
		 gboolean ike_up)
{
	GoneChild *g;

	if (gone_action(child, reason) == CONN_GONE_CLEAR)
		return;
	g = g_new0(GoneChild, 1);
	g->conn = g_strdup(c->conn->name);
	g->child = g_strdup(child->name);
	g->reason = reason;
	g->ike_up = ike_up;
	g_ptr_array_add(mgr->gone, g);
	if (!mgr->gone_source)
		mgr->gone_source = g_idle_add(on_gone, mgr);
}

/* The peer deleted one CHILD SA and kept the IKE SA: its close_action. (Children that
 * go with their IKE SA are after_ike_gone()'s: that SA is no more here.) */
static void
after_child_closed(SaManager *mgr, SaConn *c, const IkeAction *a)
{
	IkeSa *sa = ike_engine_get_sa(mgr->engine, a->ike_sa_id);
	ChildConfig *child = conn_config_get_child(c->conn, a->child_name);

	if (sa && sa->state == IKE_SA_STATE_ESTABLISHED && child)
		after_child_gone(mgr, c, child, a->reason, TRUE);
}

/* The IKE SA of @c is gone: what each child asks for. */
static void
after_ike_gone(SaManager *mgr, SaConn *c, IkeReason reason)
{
	for (guint i = 0; i < c->conn->children->len; i++)
		after_child_gone(mgr, c, c->conn->children->pdata[i], reason, FALSE);
}

static void
do_ike_updown(SaManager *mgr, const IkeAction *a)
{
	SaConn *c = find_conn(mgr, a->conn_name);

	if (a->up)
		g_message("%s: IKE SA %u established (NAT here %s, at the peer %s)", a->conn_name,
			  a->ike_sa_id, a->nat_local ? "yes" : "no", a->nat_remote ? "yes" : "no");
	else
		g_message("%s: IKE SA %u down: %s", a->conn_name ? a->conn_name : "?", a->ike_sa_id,
			  ike_reason_to_string(a->reason));
	if (c) {
		track_ike_sa(c, a->ike_sa_id, a->up);
		if (a->up) {
			c->tries = 0;
			create_later_children(mgr, c, a->ike_sa_id);
			publish_state(mgr, c, CONTROL_CONN_ESTABLISHED, NULL, 0);
		} else {
			/* dpd_action and close_action are for tunnels that were up, not for
			 * attempts that failed: those would retry without end */
			gboolean was_up = c->state->state == CONTROL_CONN_ESTABLISHED;

			if (!was_up && c->ike_sas->len == 0 && try_again(mgr, c, a->reason)) {
				publish_sa(mgr, a, CONTROL_SA_IKE_DOWN); /* still connecting */
				return;
			}
			g_ptr_array_set_size(c->start_later, 0); /* their IKE SA failed */
			if (c->ike_sas->len == 0) {
				publish_state(mgr, c, CONTROL_CONN_DOWN,
					      a->reason == IKE_REASON_DELETED_LOCAL ||
							      a->reason == IKE_REASON_DELETED_PEER
						      ? NULL
						      : ike_reason_to_string(a->reason),
					      reason_to_control_error(a->reason));
				if (was_up)
					after_ike_gone(mgr, c, a->reason);
			}
		}
	}
	publish_sa(mgr, a, a->up ? CONTROL_SA_IKE_UP : CONTROL_SA_IKE_DOWN);
}

static void
do_child_updown(SaManager *mgr, const IkeAction *a)
{
	SaConn *c = find_conn(mgr, a->conn_name);

	if (a->up)
		g_message("%s: CHILD SA %s up, SPIs %08x (in) %08x (out)", a->conn_name,
			  a->child_name, a->spi_in, a->spi_out);
	else
		g_message("%s: CHILD SA %s down: %s", a->conn_name, a->child_name,
			  ike_reason_to_string(a->reason));
	publish_sa(mgr, a, a->up ? CONTROL_SA_CHILD_UP : CONTROL_SA_CHILD_DOWN);
	if (!a->up && c && a->reason == IKE_REASON_DELETED_PEER)
		after_child_closed(mgr, c, a);
	if (c)
		control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
}

/* The connection stays up: the new IKE SA takes the old one's place. */
static void
do_ike_rekey(SaManager *mgr, const IkeAction *a)
{
	SaConn *c = find_conn(mgr, a->conn_name);

	IkeSa *fresh = ike_engine_get_sa(mgr->engine, a->new_ike_sa_id);

	g_message("%s: IKE SA %u rekeyed, now IKE SA %u", a->conn_name, a->ike_sa_id,
		  a->new_ike_sa_id);
	/* who started the rekey is the new SA's original initiator (RFC 7296 §2.18) */
	if (fresh && fresh->initiator)
		mgr->counters.ike_rekey_init++;
	else if (fresh)
		mgr->counters.ike_rekey_resp++;
	if (!c)
		return;
	track_ike_sa(c, a->ike_sa_id, FALSE);
	track_ike_sa(c, a->new_ike_sa_id, TRUE);
	publish_rekey(mgr, a->ike_sa_id, a->new_ike_sa_id, NULL, 0, 0);
	/* the new SA's down events must say what went down, as the old one's would have */
	g_hash_table_remove(mgr->snapshots, GUINT_TO_POINTER(a->ike_sa_id));
	control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
}

static void
do_child_rekey(SaManager *mgr, const IkeAction *a)
{
	SaConn *c = find_conn(mgr, a->conn_name);

	g_message("%s: CHILD SA %s rekeyed, SPIs %08x (in) %08x (out), were %08x %08x",
		  a->conn_name, a->child_name, a->spi_in, a->spi_out, a->old_spi_in,
		  a->old_spi_out);
	mgr->counters.child_rekey++;
	publish_rekey(mgr, a->ike_sa_id, a->ike_sa_id, a->child_name, a->old_spi_in, a->spi_in);
	if (c)
		control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
}

static void
do_send(SaManager *mgr, const IkeAction *a)
{
	g_autoptr(GError) error = NULL;
	gsize len;
	const guint8 *data = g_bytes_get_data(a->datagram, &len);

	count_message(mgr, data, len, FALSE);
	if (!net_service_send_ike(mgr->net, &a->src, &a->dst, data, len, &error))
		g_warning("%s: %s", a->conn_name ? a->conn_name : "IKE", error->message);
}

static void
do_action(SaManager *mgr, const IkeAction *a)
{
	switch (a->kind) {
	case IKE_ACTION_SEND:
		do_send(mgr, a);
		break;
	case IKE_ACTION_TIMER:
		sa_timers_set(mgr->timers, a->ike_sa_id, a->timer, a->when);
		break;
	case IKE_ACTION_ADD_SA:
		do_add_sa(mgr, a);
		break;
	case IKE_ACTION_DEL_SA:
	case IKE_ACTION_ADD_POLICY:
	case IKE_ACTION_DEL_POLICY:
		do_kernel(mgr, a);
		break;
	case IKE_ACTION_IKE_UPDOWN:
		do_ike_updown(mgr, a);
		break;
	case IKE_ACTION_CHILD_UPDOWN:
		do_child_updown(mgr, a);
		break;
	case IKE_ACTION_IKE_REKEY:
		do_ike_rekey(mgr, a);
		break;
	case IKE_ACTION_CHILD_REKEY:
		do_child_rekey(mgr, a);
		break;
	}
}

/* Until the engine has nothing more to say (a failed SA install adds a Delete). */
static void
run_actions(SaManager *mgr)
{
	for (;;) {
		g_autoptr(GPtrArray) actions = ike_engine_steal_actions(mgr->engine);

		if (actions->len == 0)
			return;
		/*
		 * kernel-tun reads ESP in this main loop, so nothing can use an SA before this
		 * event's actions are done: its datagrams go out first, and the peer does not
		 * wait for our installs. (A kernel data plane could get ESP at once: there the
		 * SAs go in first, in the engine's order.)
		 */
		for (guint i = 0; mgr->answers_first && i < actions->len; i++) {
			IkeAction *a = actions->pdata[i];

			if (a->kind == IKE_ACTION_SEND) {
				do_send(mgr, a);
				ike_action_free(g_ptr_array_steal_index(actions, i--));
			}
		}
		for (guint i = 0; i < actions->len; i++) {
			IkeAction *a = actions->pdata[i];

			if (should_hold_out(mgr, a)) {
				hold_out(mgr, a);
				actions->pdata[i] = NULL; /* taken */
			} else {
				do_action(mgr, a);
			}
		}
	}
}

static void
on_ike_datagram(const guint8 *data, gsize len, const VpndAddr *local, const VpndAddr *remote,
		gint64 now, gpointer user_data)
{
	SaManager *mgr = user_data;
	g_autoptr(GBytes) bytes = g_bytes_new(data, len);

	count_message(mgr, data, len, TRUE);
	ike_engine_input(mgr->engine, bytes, local, remote, now);
	/* by the IKE header (RFC 7296 §3.1): exchange type at 18, flags at 19 (R = 0x20) */
	mgr->answering_create_child = len >= 28 && data[18] == IKE_EXCHANGE_CREATE_CHILD_SA &&
				      !(data[19] & 0x20);
	run_actions(mgr);
	mgr->answering_create_child = FALSE;
	/* the IKE_SA_INIT answers are out: their keys now */
	ike_engine_derive_pending(mgr->engine, now);
	run_actions(mgr);
}

/* ---- Life cycle ---- */

/* ike.KEY as a number from @min to @max; absent leaves @out alone. */
static gboolean
read_number(Settings *settings, const char *key, gdouble min, gdouble max, gdouble *out,
	    GError **error)
{
	const char *text = settings_get(settings, key);
	char *end = NULL;
	gdouble value;

	if (!text)
		return TRUE;
	value = g_ascii_strtod(text, &end);
	if (end == text || *end || !(value >= min && value <= max)) {
		g_set_error(error, SETTINGS_ERROR, SETTINGS_ERROR_SYNTAX,
			    "%s: \"%s\" is not a number from %g to %g", key, text, min, max);
		return FALSE;
	}
	*out = value;
	return TRUE;
}

/* ike.KEY as a whole number from 0 to @max; absent leaves @out alone. */
static gboolean
read_count(Settings *settings, const char *key, guint max, guint *out, GError **error)
{
	gdouble value = *out;

	if (!read_number(settings, key, 0, max, &value, error))
		return FALSE;
	if (value != (guint)value) {
		g_set_error(error, SETTINGS_ERROR, SETTINGS_ERROR_SYNTAX,
			    "%s: %g is not a whole number", key, value);
		return FALSE;
	}
	*out = (guint)value;
	return TRUE;
}

/* ike.KEY as a limit: 0 lifts it (G_MAXUINT; the engine reads 0 as its default). */
static gboolean
read_limit(Settings *settings, const char *key, guint *out, GError **error)
{
	guint value = G_MAXUINT;

	if (!read_count(settings, key, G_MAXINT, &value, error))
		return FALSE;
	if (value != G_MAXUINT)
		*out = value ? value : G_MAXUINT;
	return TRUE;
}

/*
 * ike.retransmit_{timeout,base,tries}: how long a silent peer is tried (also DPD);
 * ike.half_open_{max,per_peer}, ike.cookie_threshold: the responder's protection
 * against IKE_SA_INIT floods (0: no limit, no cookies).
 */
static gboolean
read_engine_settings(Settings *settings, IkeEngineConfig *cfg, GError **error)
{
	gdouble timeout = 0, base = 0;

	if (!read_number(settings, "ike.retransmit_timeout", 0.05, 3600, &timeout, error) ||
	    !read_number(settings, "ike.retransmit_base", 1, 10, &base, error) ||
	    !read_count(settings, "ike.retransmit_tries", 100, &cfg->retransmit_tries, error) ||
	    !read_count(settings, "ike.half_open_max", G_MAXINT, &cfg->half_open_max, error) ||
	    !read_limit(settings, "ike.half_open_per_peer", &cfg->half_open_per_peer, error) ||
	    !read_limit(settings, "ike.cookie_threshold", &cfg->cookie_threshold, error))
		return FALSE;
	cfg->retransmit_timeout_ms = (guint)(timeout * 1000);
	cfg->retransmit_base = base;
	return TRUE;
}

static gboolean
kernel_is_tun(SaManager *mgr)
{
	const HostProvider *p = host_get_best(mgr->host, VPND_PROVIDER_KERNEL);

	return p && g_strcmp0(p->plugin, "kernel-tun") == 0;
}

/* With the first connection: the data plane, then UDP 500/4500. */
static gboolean
open_ike(SaManager *mgr, GError **error)
{
	if (mgr->net)
		return TRUE;
	if (!mgr->kernel && !open_kernel(mgr, error))
		return FALSE;
	mgr->net =
		net_service_new(mgr->net_cfg, mgr->kernel ? mgr->kops : NULL, mgr->kernel, error);
	if (!mgr->net)
		return FALSE;
	net_service_set_ike_handler(mgr->net, on_ike_datagram, mgr);
	vpnd_info("IKE on UDP %u and %u", net_service_get_port(mgr->net),
	       net_service_get_port_nat_t(mgr->net));
	return TRUE;
}

SaManager *
sa_manager_new(VpndHost *host, Settings *settings, Control *control, GError **error)
{
	g_autoptr(SaManager) mgr = g_new0(SaManager, 1);
	IkeEngineConfig cfg = {
		.host = host,
		.psk_lookup = psk_lookup,
		.psk_data = mgr,
	};

	if (!read_engine_settings(settings, &cfg, error))
		return NULL;
	mgr->host = host;
	mgr->control = control;
	mgr->conf_dir =
		g_strdup(settings_get_str(settings, "conf_dir", SA_MANAGER_DEFAULT_CONF_DIR));
	mgr->secrets = conn_secrets_new();
	mgr->conns = g_ptr_array_new_with_free_func((GDestroyNotify)sa_conn_free);
	mgr->conn_index = g_hash_table_new(g_str_hash, g_str_equal);
	mgr->gone = g_ptr_array_new_with_free_func((GDestroyNotify)gone_child_free);
	mgr->timers = sa_timers_new(on_timer, mgr);
	mgr->snapshots =
		g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)control_ike_sa_free);
	mgr->keep_views = control && control_sa_views_wanted(control);
	mgr->held_out = g_ptr_array_new_with_free_func((GDestroyNotify)ike_action_free);
	mgr->engine = ike_engine_new(&cfg);
	mgr->force_encap = kernel_is_tun(mgr);
	mgr->answers_first = mgr->force_encap;
	/* checked now, used when the first connection arrives (none: UDP 500 stays free) */
	mgr->net_cfg = net_config_new_from_settings(settings, error);
	if (!mgr->net_cfg)
		return NULL;
	return g_steal_pointer(&mgr);
}


/* The children with start_action = start (a connection that is up already gets them
 * as further CHILD SAs), and the trap policies of start_action = trap. */
static void
start_conn(SaManager *mgr, SaConn *c)
{
	for (guint j = 0; j < c->conn->children->len; j++) {
		ChildConfig *child = c->conn->children->pdata[j];

		/* one IKE SA per connection: the first child comes with IKE_AUTH */
		if (child->start_action == CONN_START_START && coming_up(c))
			g_ptr_array_add(c->start_later, g_strdup(child->name));
		else if (child->start_action == CONN_START_START)
			initiate_child(mgr, c, child->name);
		else if (child->start_action == CONN_START_TRAP)
			install_traps(mgr, c, child, FALSE);
	}
}

void
sa_manager_start(SaManager *mgr)
{
	mgr->started = TRUE;
	for (guint i = 0; i < mgr->conns->len; i++)
		start_conn(mgr, mgr->conns->pdata[i]);
}

GPtrArray *
sa_manager_list_connections(SaManager *mgr)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)control_conn_free);

	refresh_all_counters(mgr); /* a client asking sees the counters as they are */
	for (guint i = 0; i < mgr->conns->len; i++)
		g_ptr_array_add(list, control_conn_copy(((SaConn *)mgr->conns->pdata[i])->state));
	return list;
}

/* @text once in @list. */
static void
add_unique(GPtrArray *list, char *text)
{
	for (guint i = 0; i < list->len; i++) {
		if (g_str_equal(list->pdata[i], text)) {
			g_free(text);
			return;
		}
	}
	g_ptr_array_add(list, text);
}

/* @c's traps of @child as one listing entry: its selectors, each once. */
static ControlPolicy *
list_child_traps(SaConn *c, ChildConfig *child)
{
	g_autoptr(GPtrArray) local = g_ptr_array_new();
	g_autoptr(GPtrArray) remote = g_ptr_array_new();
	ControlPolicy *p = g_new0(ControlPolicy, 1);

	for (guint i = 0; i < c->traps->len; i++) {
		const SaTrap *t = &g_array_index(c->traps, SaTrap, i);

		if (t->child != child)
			continue;
		add_unique(local, control_format_ts(&t->policy.src_ts, FALSE));
		add_unique(remote, control_format_ts(&t->policy.dst_ts, FALSE));
	}
	g_ptr_array_add(local, NULL);
	g_ptr_array_add(remote, NULL);
	p->conn = g_strdup(c->conn->name);
	p->child = g_strdup(child->name);
	p->mode = child->mode;
	p->local_ts = (GStrv)g_ptr_array_free(g_steal_pointer(&local), FALSE);
	p->remote_ts = (GStrv)g_ptr_array_free(g_steal_pointer(&remote), FALSE);
	return p;
}

GPtrArray *
sa_manager_list_policies(SaManager *mgr)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)control_policy_free);

	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		for (guint j = 0; j < c->conn->children->len; j++) {
			ChildConfig *child = c->conn->children->pdata[j];
			gboolean trapped = FALSE;

			for (guint k = 0; k < c->traps->len && !trapped; k++)
				trapped = g_array_index(c->traps, SaTrap, k).child == child;
			if (trapped)
				g_ptr_array_add(list, list_child_traps(c, child));
		}
	}
	return list;
}

/* Child @child of connection @name, or of the first connection that has one so named
 * when @name is NULL. */
static ChildConfig *
find_conn_child(SaManager *mgr, const char *name, const char *child, SaConn **conn)
{
	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];
		ChildConfig *found;

		if (name && g_strcmp0(c->conn->name, name) != 0)
			continue;
		if ((found = conn_config_get_child(c->conn, child))) {
			*conn = c;
			return found;
		}
	}
	return NULL;
}

/* The messages are charon's (vici.md §3.3 install / uninstall): swanctl prints them. */
gboolean
sa_manager_install_trap(SaManager *mgr, const char *name, const char *child_name,
			GError **error)
{
	SaConn *c = NULL;
	ChildConfig *child = find_conn_child(mgr, name, child_name, &c);

	if (!child) {
		g_set_error_literal(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND,
				    "configuration name not found");
		return FALSE;
	}
	if (find_child_trap(c, child))
		return TRUE;
	install_traps(mgr, c, child, TRUE);
	if (!find_child_trap(c, child)) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_FAILED,
			    "installing policy '%s' failed", child_name);
		return FALSE;
	}
	return TRUE;
}

gboolean
sa_manager_uninstall_trap(SaManager *mgr, const char *name, const char *child_name,
			  GError **error)
{
	SaConn *c = NULL;
	ChildConfig *child = find_conn_child(mgr, name, child_name, &c);

	if (!child || !find_child_trap(c, child)) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND, "policy '%s' not found",
			    child_name);
		return FALSE;
	}
	remove_child_traps(mgr, c, child);
	return TRUE;
}

ControlConn *
sa_manager_lookup_connection(SaManager *mgr, const char *name)
{
	SaConn *c = find_conn(mgr, name);

	if (!c)
		return NULL;
	if (c->sas->len && refresh_counters(mgr, c))
		control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
	return control_conn_copy(c->state);
}

/* @child on the connection's established IKE SA (CREATE_CHILD_SA), unless it is up. */
static gboolean
create_child(SaManager *mgr, SaConn *c, const char *child, GError **error)
{
	for (guint i = 0; i < c->ike_sas->len; i++) {
		guint32 id = g_array_index(c->ike_sas, guint32, i);
		IkeSa *sa = ike_engine_get_sa(mgr->engine, id);

		if (!sa || sa->state != IKE_SA_STATE_ESTABLISHED)
			continue;
		for (guint j = 0; j < sa->children->len; j++) {
			ChildSa *up = sa->children->pdata[j];
			if (up->cfg && g_strcmp0(up->cfg->name, child) == 0 &&
			    up->state == CHILD_SA_STATE_INSTALLED) {
				g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_ALREADY_ACTIVE,
					    "%s: child \"%s\" is already up", c->conn->name, child);
				return FALSE;
			}
		}
		if (!ike_engine_create_child(mgr->engine, id, child, g_get_monotonic_time()))
			break;
		g_message("%s: creating CHILD SA %s on IKE SA %u", c->conn->name, child, id);
		run_actions(mgr);
		return TRUE;
	}
	g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_ALREADY_ACTIVE,
		    "connection \"%s\" is still connecting", c->conn->name);
	return FALSE;
}

gboolean
sa_manager_initiate_child(SaManager *mgr, const char *name, const char *child, GError **error)
{
	SaConn *c = find_conn(mgr, name);

	if (!c) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND,
			    "connection \"%s\" not found", name);
		return FALSE;
	}
	if (child && !conn_config_get_child(c->conn, child)) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND,
			    "connection \"%s\" has no child \"%s\"", name, child);
		return FALSE;
	}
	if (c->ike_sas->len && child)
		return create_child(mgr, c, child, error);
	if (coming_up(c)) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_ALREADY_ACTIVE,
			    "connection \"%s\" is already up or connecting", name);
		return FALSE;
	}
	initiate_child(mgr, c, child);
	if (!coming_up(c)) /* the reason names the connection already */
		g_set_error_literal(error, CONTROL_ERROR, CONTROL_ERROR_FAILED,
				    c->state->last_error);
	return coming_up(c);
}

gboolean
sa_manager_initiate(SaManager *mgr, const char *name, GError **error)
{
	return sa_manager_initiate_child(mgr, name, NULL, error);
}

/* The inbound SPIs of @sa's installed children @sel names. */
static GArray *
installed_children(IkeSa *sa, const ControlSaSelector *sel)
{
	GArray *spis = g_array_new(FALSE, FALSE, sizeof(guint32));

	for (guint i = 0; i < sa->children->len; i++) {
		ChildSa *c = sa->children->pdata[i];
		if (c->cfg && g_strcmp0(c->cfg->name, sel->child) == 0 &&
		    c->state == CHILD_SA_STATE_INSTALLED &&
		    (!sel->child_id || c->unique_id == sel->child_id))
			g_array_append_val(spis, c->spi_in);
	}
	return spis;
}

/* Rekeys one IKE SA, or its children @sel names; how many rekeyings started. */
static guint
rekey_ike_sa(SaManager *mgr, guint32 id, const ControlSaSelector *sel)
{
	IkeSa *sa = ike_engine_get_sa(mgr->engine, id);
	gint64 now = g_get_monotonic_time();
	g_autoptr(GArray) spis = NULL;
	guint n = 0;

	if (!sa || sa->state != IKE_SA_STATE_ESTABLISHED)
		return 0;
	if (!sel->child)
		return ike_engine_rekey_ike(mgr->engine, id, now) ? 1 : 0;
	/* the SPIs first: rekeying adds children to the array */
	spis = installed_children(sa, sel);
	for (guint i = 0; i < spis->len; i++)
		n += ike_engine_rekey_child(mgr->engine, id, g_array_index(spis, guint32, i), now);
	return n;
}

/* Deletes IKE SA @id, or its installed CHILD SAs @sel names; how many deletions started
 * (an IKE SA still negotiating is dropped on the spot). */
static guint
delete_sas(SaManager *mgr, guint32 id, const ControlSaSelector *sel)
{
	IkeSa *sa = ike_engine_get_sa(mgr->engine, id);
	g_autoptr(GArray) spis = NULL;
	guint n = 0;

	if (!sa)
		return 0;
	if (!sel->child) {
		if (!ike_engine_delete_ike(mgr->engine, id, g_get_monotonic_time()))
			ike_engine_abort_ike(mgr->engine, id);
		return 1;
	}
	if (sa->state != IKE_SA_STATE_ESTABLISHED)
		return 0;
	spis = installed_children(sa, sel);
	for (guint j = 0; j < spis->len; j++)
		n += ike_engine_delete_child(mgr->engine, id, g_array_index(spis, guint32, j),
					     g_get_monotonic_time());
	return n;
}

typedef guint (*IkeSaAction)(SaManager *mgr, guint32 id, const ControlSaSelector *sel);

/* @action on each IKE SA @sel means; *@matches sums what it returns. */
static gboolean
act_on_ike_sas(SaManager *mgr, const ControlSaSelector *sel, IkeSaAction action, guint *matches,
	       GError **error)
{
	SaConn *c = find_conn(mgr, sel->conn);
	g_autoptr(GArray) ids = NULL;

	*matches = 0;
	if (!c) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND,
			    "connection \"%s\" not found", sel->conn);
		return FALSE;
	}
	ids = g_array_copy(c->ike_sas); /* the actions may change the list */
	for (guint i = 0; i < ids->len; i++) {
		guint32 id = g_array_index(ids, guint32, i);

		if (!sel->ike_id || id == sel->ike_id)
			*matches += action(mgr, id, sel);
	}
	run_actions(mgr);
	return TRUE;
}

gboolean
sa_manager_terminate_sas(SaManager *mgr, const ControlSaSelector *sel, guint *matches,
			 GError **error)
{
	return act_on_ike_sas(mgr, sel, delete_sas, matches, error);
}

gboolean
sa_manager_rekey(SaManager *mgr, const ControlSaSelector *sel, guint *matches, GError **error)
{
	return act_on_ike_sas(mgr, sel, rekey_ike_sa, matches, error);
}

/* Established SAs get a Delete; those still negotiating are dropped on the spot. */
static void
delete_all(SaManager *mgr, SaConn *c)
{
	g_autoptr(GArray) ids = g_array_copy(c->ike_sas);

	for (guint i = 0; i < ids->len; i++) {
		guint32 id = g_array_index(ids, guint32, i);

		if (!ike_engine_delete_ike(mgr->engine, id, g_get_monotonic_time()))
			ike_engine_abort_ike(mgr->engine, id);
	}
}

gboolean
sa_manager_terminate(SaManager *mgr, const char *name, GError **error)
{
	SaConn *c = find_conn(mgr, name);

	if (!c) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND,
			    "connection \"%s\" not found", name);
		return FALSE;
	}
	if (c->ike_sas->len)
		publish_state(mgr, c, CONTROL_CONN_DISCONNECTING, NULL, 0);
	else if (c->retry_source || c->resolving) /* between two attempts, or before one */
		publish_state(mgr, c, CONTROL_CONN_DOWN, NULL, 0);
	stop_attempts(c);
	delete_all(mgr, c);
	run_actions(mgr);
	return TRUE;
}

/* At exit: one Delete per IKE SA, without waiting for answers. */
static void
say_goodbye(SaManager *mgr)
{
	g_autoptr(GPtrArray) actions = NULL;

	for (guint i = 0; i < mgr->conns->len; i++)
		delete_all(mgr, mgr->conns->pdata[i]);
	actions = ike_engine_steal_actions(mgr->engine);
	for (guint i = 0; i < actions->len; i++) {
		IkeAction *a = actions->pdata[i];

		if (a->kind == IKE_ACTION_SEND)
			do_send(mgr, a);
	}
}

void
sa_manager_free(SaManager *mgr)
{
	if (!mgr)
		return;
	if (mgr->engine && mgr->net)
		say_goodbye(mgr);
	g_clear_pointer(&mgr->timers, sa_timers_free);
	g_clear_handle_id(&mgr->counter_timer, g_source_remove);
	g_clear_handle_id(&mgr->gone_source, g_source_remove);
	g_clear_pointer(&mgr->gone, g_ptr_array_unref);
	g_clear_handle_id(&mgr->held_timer, g_source_remove);
	g_clear_pointer(&mgr->held_out, g_ptr_array_unref);
	if (mgr->kernel)
		mgr->kops->close(mgr->kernel);
	g_clear_pointer(&mgr->net, net_service_free);
	g_clear_pointer(&mgr->engine, ike_engine_free);
	g_clear_pointer(&mgr->conn_index, g_hash_table_unref);
	g_clear_pointer(&mgr->conns, g_ptr_array_unref);
	g_clear_pointer(&mgr->secrets, conn_secrets_free);
	g_clear_pointer(&mgr->net_cfg, net_config_free);
	g_clear_pointer(&mgr->snapshots, g_hash_table_unref);
	g_free(mgr->conf_dir);
	g_free(mgr);
}
