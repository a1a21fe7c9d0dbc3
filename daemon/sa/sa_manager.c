/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IKE engine on the main loop: sockets in, actions out (sa_manager.h). */
#include <string.h>

#include "config/conn_loader.h"
#include "core/crypto.h"
#include "core/host.h"
#include "ike/ike_engine.h"
#include "ike/ike_sa.h"
#include "net/net_addr.h"
#include "net/net_service.h"
#include "sa/sa_manager.h"

/* An installed child SA, so that its counters can be read. */
typedef struct {
	VpndSaId id;
	VpndDirection dir;
} SaRef;

typedef struct {
	ConnConfig *conn;
	ControlConn *state;
	GArray *ike_sas; /* guint32 engine ids of this connection's IKE SAs */
	GPtrArray *start_later; /* names of children to create once the IKE SA is up */
	GArray *sas;            /* SaRef: its child SAs in the kernel */
	/* what SAs deleted since the connection went up carried: rekeys keep the totals */
	VpndSaStats gone_in, gone_out;
} SaConn;

struct SaManager {
	VpndHost *host;
	Control *control;
	ConnSecrets *secrets;
	GPtrArray *conns; /* SaConn, in load order */
	IkeEngine *engine;
	const VpndKernelOps *kops; /* NULL: no kernel provider */
	VpndKernel *kernel;
	NetService *net;
	NetConfig *net_cfg;   /* the sockets to open with the first connection */
	char *conf_dir;
	gboolean force_encap; /* kernel-tun carries ESP in UDP only */
	GHashTable *timers;   /* SaTimer by timer_key() */
	guint counter_timer;  /* while any child SA is installed */
	ControlCounters counters;
};

typedef struct {
	SaManager *mgr;
	guint32 ike_sa_id;
	IkeTimerKind kind;
	guint source; /* 0 once fired */
} SaTimer;

static void run_actions(SaManager *mgr);
static gboolean refresh_counters(SaManager *mgr, SaConn *c);

/* ---- Connections ---- */

static void
sa_conn_free(SaConn *c)
{
	conn_config_unref(c->conn);
	control_conn_free(c->state);
	g_array_unref(c->ike_sas);
	g_ptr_array_unref(c->start_later);
	g_array_unref(c->sas);
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
	for (guint i = 0; name && i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		if (strcmp(c->conn->name, name) == 0)
			return c;
	}
	return NULL;
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
	case IKE_REASON_FAILED:
	case IKE_REASON_EXPIRED:
	case IKE_REASON_REKEYED:
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

/* @conn replaces a connection of the same name; that one's IKE SAs stay up. */
static void
add_conn(SaManager *mgr, ConnConfig *conn)
{
	SaConn *old = find_conn(mgr, conn->name);
	SaConn *c = sa_conn_new(conn);

	conn->encap |= mgr->force_encap;
	ike_engine_add_conn(mgr->engine, conn);
	if (old) {
		g_array_append_vals(c->ike_sas, old->ike_sas->data, old->ike_sas->len);
		c->state->state = old->state->state;
		c->state->established_at = old->state->established_at;
		ike_engine_remove_conn(mgr->engine, old->conn);
		g_ptr_array_remove(mgr->conns, old);
		g_ptr_array_add(mgr->conns, c);
		control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
		return;
	}
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
		g_info("connection %s loaded from %s", conn->name, origin);
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
	delete_all(mgr, c);
	run_actions(mgr);
	ike_engine_remove_conn(mgr->engine, c->conn);
	control_publish_conn(mgr->control, CONTROL_CONN_REMOVED, c->state);
	g_ptr_array_remove(mgr->conns, c);
	g_info("connection %s unloaded", name);
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
	if (mgr->conns->len == 0)
		g_info("no connections in %s", mgr->conf_dir);
	else
		g_message("%u connection%s and %u secret%s loaded from %s", mgr->conns->len,
			  mgr->conns->len == 1 ? "" : "s", conn_secrets_count(mgr->secrets),
			  conn_secrets_count(mgr->secrets) == 1 ? "" : "s", mgr->conf_dir);
	return TRUE;
}

/* ---- Timers ---- */

static gpointer
timer_key(guint32 ike_sa_id, IkeTimerKind kind)
{
	return GSIZE_TO_POINTER((gsize)ike_sa_id * IKE_TIMER_COUNT + kind + 1);
}

static void
sa_timer_free(SaTimer *t)
{
	if (t->source)
		g_source_remove(t->source);
	g_free(t);
}

static gboolean
on_timer(gpointer user_data)
{
	SaTimer *t = user_data;
	SaManager *mgr = t->mgr;
	guint32 id = t->ike_sa_id;
	IkeTimerKind kind = t->kind;

	t->source = 0;
	g_hash_table_remove(mgr->timers, timer_key(id, kind));
	ike_engine_timer(mgr->engine, id, kind, g_get_monotonic_time());
	run_actions(mgr);
	return G_SOURCE_REMOVE;
}

static void
set_timer(SaManager *mgr, const IkeAction *a)
{
	gpointer key = timer_key(a->ike_sa_id, a->timer);
	SaTimer *t;
	GSource *source;

	g_hash_table_remove(mgr->timers, key);
	if (a->when < 0)
		return;
	t = g_new0(SaTimer, 1);
	t->mgr = mgr;
	t->ike_sa_id = a->ike_sa_id;
	t->kind = a->timer;
	source = g_timeout_source_new(G_MAXINT);
	g_source_set_ready_time(source, a->when); /* both on g_get_monotonic_time() */
	g_source_set_callback(source, on_timer, t, NULL);
	t->source = g_source_attach(source, NULL);
	g_source_unref(source);
	g_hash_table_insert(mgr->timers, key, t);
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

static gboolean
any_sas(SaManager *mgr)
{
	for (guint i = 0; i < mgr->conns->len; i++) {
		if (((SaConn *)mgr->conns->pdata[i])->sas->len)
			return TRUE;
	}
	return FALSE;
}

static gboolean
on_counter_timer(gpointer user_data)
{
	SaManager *mgr = user_data;

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
		      .dir = a->sa.dir };

	if (!c)
		return;
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

static gboolean
kernel_add_sa(SaManager *mgr, const IkeAction *a, GError **error)
{
	if (!mgr->kops) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "no kernel provider is loaded (plugins.load: kernel-tun?)");
		return FALSE;
	}
	return mgr->kops->add_sa(mgr->kernel, &a->sa, error);
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

static void
do_kernel(SaManager *mgr, const IkeAction *a)
{
	g_autoptr(GError) error = NULL;
	gboolean ok = TRUE;

	if (!mgr->kops)
		return;
	if (a->kind == IKE_ACTION_DEL_SA) {
		untrack_sa(mgr, a);
		ok = mgr->kops->del_sa(mgr->kernel, &a->sa_key, &error);
	} else if (a->kind == IKE_ACTION_ADD_POLICY)
		ok = mgr->kops->add_policy(mgr->kernel, &a->policy, &error);
	else if (a->kind == IKE_ACTION_DEL_POLICY)
		ok = mgr->kops->del_policy(mgr->kernel, &a->policy, &error);
	if (!ok)
		g_warning("%s: %s", a->conn_name, error->message);
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
		g_info("SA %08x: no child SA of ours", sa->spi);
	run_actions(mgr);
}

static gboolean
open_kernel(SaManager *mgr, GError **error)
{
	const HostProvider *p = host_get_best(mgr->host, VPND_PROVIDER_KERNEL);
	static const VpndKernelEvents events = {
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
	g_info("kernel provider %s (plugin %s)", p->name, p->plugin);
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

static char *
alg_name(VpndAlgType type, guint id)
{
	const char *name = crypto_algorithm_name(type, id);

	return id == 0 ? NULL : name ? g_strdup(name) : g_strdup_printf("%u", id);
}

static GPtrArray *
ts_list(GArray *ts)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; ts && i < ts->len; i++)
		g_ptr_array_add(list, control_format_ts(&g_array_index(ts, VpndTs, i), FALSE));
	return list;
}

static void
query_traffic(SaManager *mgr, IkeSa *sa, guint32 spi, gboolean in, guint64 *bytes,
	      guint64 *packets, gint64 *use)
{
	VpndSaId id = { .spi = spi, .protocol = 50, .dst = in ? sa->local : sa->remote };
	VpndSaStats st = { 0 };

	*use = -1;
	if (!mgr->kops || !mgr->kops->query_sa ||
	    !mgr->kops->query_sa(mgr->kernel, &id, &st, NULL))
		return;
	*bytes = st.bytes;
	*packets = st.packets;
	if (st.last_use)
		*use = MAX(0, g_get_real_time() / G_USEC_PER_SEC - st.last_use);
}

static ControlChildSa *
list_child(SaManager *mgr, IkeSa *sa, ChildSa *child)
{
	ControlChildSa *c = g_new0(ControlChildSa, 1);

	c->name = g_strdup(child->cfg ? child->cfg->name : "?");
	c->unique_id = child->reqid;
	c->reqid = child->reqid;
	c->state = g_strdup(child_sa_state_to_string(child->state));
	c->mode = g_strdup(child->mode == VPND_MODE_TRANSPORT ? "TRANSPORT" : "TUNNEL");
	c->encap = sa->nat_local || sa->nat_remote || sa->conn->encap;
	c->spi_in = child->spi_in;
	c->spi_out = child->spi_out;
	c->encr_alg = alg_name(VPND_ALG_ENCR, child->alg.encr);
	c->encr_keysize = child->alg.encr_bits;
	c->integ_alg = alg_name(VPND_ALG_INTEG, child->alg.integ);
	c->dh_group = alg_name(VPND_ALG_KE, child->alg.ke);
	query_traffic(mgr, sa, child->spi_in, TRUE, &c->bytes_in, &c->packets_in, &c->use_in);
	query_traffic(mgr, sa, child->spi_out, FALSE, &c->bytes_out, &c->packets_out,
		      &c->use_out);
	c->installed = -1;
	c->rekey_in = -1;
	c->life_in = -1;
	c->local_ts = ts_list(child->local_ts);
	c->remote_ts = ts_list(child->remote_ts);
	return c;
}

static ControlIkeSa *
list_ike_sa(SaManager *mgr, IkeSa *sa)
{
	ControlIkeSa *s = g_new0(ControlIkeSa, 1);
	const ConnIdentity *local_id = conn_config_get_id(sa->conn, TRUE);
	const ConnIdentity *remote_id = sa->peer_id ? sa->peer_id : conn_config_get_id(sa->conn, FALSE);
	VpndAddr local = sa->local, remote = sa->remote;
	char buf[64];

	s->name = g_strdup(sa->conn->name);
	s->unique_id = sa->id;
	s->state = g_strdup(ike_sa_state_to_string(sa->state));
	s->local_port = local.port;
	s->remote_port = remote.port;
	local.port = remote.port = 0;
	s->local_host = g_strdup(net_addr_format(&local, buf, sizeof(buf)));
	s->remote_host = g_strdup(net_addr_format(&remote, buf, sizeof(buf)));
	s->local_id = g_strdup(local_id && !conn_identity_is_any(local_id) ? local_id->text : s->local_host);
	s->remote_id = g_strdup(remote_id && !conn_identity_is_any(remote_id) ? remote_id->text : s->remote_host);
	s->initiator = sa->initiator;
	s->spi_i = sa->spi_i;
	s->spi_r = sa->spi_r;
	s->nat_local = sa->nat_local;
	s->nat_remote = sa->nat_remote;
	if (sa->keymat) {
		s->encr_alg = alg_name(VPND_ALG_ENCR, sa->alg.encr);
		s->encr_keysize = sa->alg.encr_bits;
		s->integ_alg = alg_name(VPND_ALG_INTEG, sa->alg.integ);
		s->prf_alg = alg_name(VPND_ALG_PRF, sa->alg.prf);
		s->dh_group = alg_name(VPND_ALG_KE, sa->alg.ke);
	}
	s->established = -1;
	s->rekey_in = -1;
	s->children = g_ptr_array_new_with_free_func((GDestroyNotify)control_child_sa_free);
	for (guint i = 0; i < sa->children->len; i++)
		g_ptr_array_add(s->children, list_child(mgr, sa, sa->children->pdata[i]));
	return s;
}

GPtrArray *
sa_manager_list_sas(SaManager *mgr)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)control_ike_sa_free);

	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		for (guint j = 0; j < c->ike_sas->len; j++) {
			IkeSa *sa = ike_engine_get_sa(mgr->engine, g_array_index(c->ike_sas, guint32, j));

			if (sa)
				g_ptr_array_add(list, list_ike_sa(mgr, sa));
		}
	}
	return list;
}

/* ---- Engine events ---- */

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
	if (!c)
		return;
	track_ike_sa(c, a->ike_sa_id, a->up);
	if (a->up) {
		create_later_children(mgr, c, a->ike_sa_id);
		publish_state(mgr, c, CONTROL_CONN_ESTABLISHED, NULL, 0);
		return;
	}
	g_ptr_array_set_size(c->start_later, 0); /* the IKE SA they waited for failed */
	if (c->ike_sas->len == 0)
		publish_state(mgr, c, CONTROL_CONN_DOWN,
			      a->reason == IKE_REASON_DELETED_LOCAL ||
					      a->reason == IKE_REASON_DELETED_PEER
				      ? NULL
				      : ike_reason_to_string(a->reason),
			      reason_to_control_error(a->reason));
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
	if (c)
		control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
}

/* The connection stays up: the new IKE SA takes the old one's place. */
static void
do_ike_rekey(SaManager *mgr, const IkeAction *a)
{
	SaConn *c = find_conn(mgr, a->conn_name);

	g_message("%s: IKE SA %u rekeyed, now IKE SA %u", a->conn_name, a->ike_sa_id,
		  a->new_ike_sa_id);
	if (!c)
		return;
	track_ike_sa(c, a->ike_sa_id, FALSE);
	track_ike_sa(c, a->new_ike_sa_id, TRUE);
	control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
}

static void
do_child_rekey(SaManager *mgr, const IkeAction *a)
{
	SaConn *c = find_conn(mgr, a->conn_name);

	g_message("%s: CHILD SA %s rekeyed, SPIs %08x (in) %08x (out), were %08x %08x",
		  a->conn_name, a->child_name, a->spi_in, a->spi_out, a->old_spi_in,
		  a->old_spi_out);
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
		set_timer(mgr, a);
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
		for (guint i = 0; i < actions->len; i++)
			do_action(mgr, actions->pdata[i]);
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

/* ike.retransmit_{timeout,base,tries}: how long a silent peer is tried (also DPD). */
static gboolean
read_retransmit(Settings *settings, IkeEngineConfig *cfg, GError **error)
{
	gdouble timeout = 0, base = 0, tries = 0;

	if (!read_number(settings, "ike.retransmit_timeout", 0.05, 3600, &timeout, error) ||
	    !read_number(settings, "ike.retransmit_base", 1, 10, &base, error) ||
	    !read_number(settings, "ike.retransmit_tries", 1, 100, &tries, error))
		return FALSE;
	if (tries != (guint)tries) {
		g_set_error(error, SETTINGS_ERROR, SETTINGS_ERROR_SYNTAX,
			    "ike.retransmit_tries: %g is not a whole number", tries);
		return FALSE;
	}
	cfg->retransmit_timeout_ms = (guint)(timeout * 1000);
	cfg->retransmit_base = base;
	cfg->retransmit_tries = (guint)tries;
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
	mgr->net = net_service_new(mgr->net_cfg, mgr->kernel ? mgr->kops : NULL, mgr->kernel,
				   error);
	if (!mgr->net)
		return FALSE;
	net_service_set_ike_handler(mgr->net, on_ike_datagram, mgr);
	g_info("IKE on UDP %u and %u", net_service_get_port(mgr->net),
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
		.half_open_max = (guint)settings_get_int(settings, "ike.half_open_max", 0),
		.half_open_per_peer = (guint)settings_get_int(settings, "ike.half_open_per_peer", 0),
		.cookie_threshold = (guint)settings_get_int(settings, "ike.cookie_threshold", 0),
	};

	if (!read_retransmit(settings, &cfg, error))
		return NULL;
	mgr->host = host;
	mgr->control = control;
	mgr->conf_dir =
		g_strdup(settings_get_str(settings, "conf_dir", SA_MANAGER_DEFAULT_CONF_DIR));
	mgr->secrets = conn_secrets_new();
	mgr->conns = g_ptr_array_new_with_free_func((GDestroyNotify)sa_conn_free);
	mgr->timers = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)sa_timer_free);
	mgr->engine = ike_engine_new(&cfg);
	mgr->force_encap = kernel_is_tun(mgr);
	/* checked now, used when the first connection arrives (none: UDP 500 stays free) */
	mgr->net_cfg = net_config_new_from_settings(settings, error);
	if (!mgr->net_cfg)
		return NULL;
	return g_steal_pointer(&mgr);
}

static void
initiate_child(SaManager *mgr, SaConn *c, const char *child)
{
	g_autoptr(GError) error = NULL;
	guint32 id =
		ike_engine_initiate(mgr->engine, c->conn, child, g_get_monotonic_time(), &error);

	if (!id) {
		g_warning("%s: cannot initiate: %s", c->conn->name, error->message);
		publish_state(mgr, c, CONTROL_CONN_DOWN, error->message, CONTROL_ERROR_FAILED);
		return;
	}
	g_message("%s: initiating IKE SA %u", c->conn->name, id);
	track_ike_sa(c, id, TRUE);
	publish_state(mgr, c, CONTROL_CONN_CONNECTING, NULL, 0);
	run_actions(mgr);
}

void
sa_manager_start(SaManager *mgr)
{
	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		for (guint j = 0; j < c->conn->children->len; j++) {
			ChildConfig *child = c->conn->children->pdata[j];

			/* one IKE SA per connection: the first child comes with IKE_AUTH */
			if (child->start_action == CONN_START_START && c->ike_sas->len)
				g_ptr_array_add(c->start_later, g_strdup(child->name));
			else if (child->start_action == CONN_START_START)
				initiate_child(mgr, c, child->name);
			else if (child->start_action == CONN_START_TRAP)
				g_warning("%s: start_action = trap is not supported yet",
					  child->name);
		}
	}
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

gboolean
sa_manager_initiate(SaManager *mgr, const char *name, GError **error)
{
	SaConn *c = find_conn(mgr, name);

	if (!c) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND,
			    "connection \"%s\" not found", name);
		return FALSE;
	}
	if (c->ike_sas->len) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_ALREADY_ACTIVE,
			    "connection \"%s\" is already up or connecting", name);
		return FALSE;
	}
	initiate_child(mgr, c, NULL);
	return c->ike_sas->len > 0;
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
	g_clear_pointer(&mgr->timers, g_hash_table_unref);
	g_clear_handle_id(&mgr->counter_timer, g_source_remove);
	if (mgr->kernel)
		mgr->kops->close(mgr->kernel);
	g_clear_pointer(&mgr->net, net_service_free);
	g_clear_pointer(&mgr->engine, ike_engine_free);
	g_clear_pointer(&mgr->conns, g_ptr_array_unref);
	g_clear_pointer(&mgr->secrets, conn_secrets_free);
	g_clear_pointer(&mgr->net_cfg, net_config_free);
	g_free(mgr->conf_dir);
	g_free(mgr);
}
