/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IKE engine on the main loop: sockets in, actions out (sa_manager.h). */
#include <string.h>

#include "config/conn_loader.h"
#include "core/host.h"
#include "ike/ike_engine.h"
#include "net/net_addr.h"
#include "net/net_service.h"
#include "sa/sa_manager.h"

typedef struct {
	ConnConfig *conn;
	ControlConn *state;
	GArray *ike_sas; /* guint32 engine ids of this connection's IKE SAs */
	GArray *sas;     /* SaInstalled: the child SAs in the kernel, for counters and expiry */
	GArray *traps;   /* SaTrap: start_action = trap policies of this connection */
} SaConn;

typedef struct {
	VpndSaId id;
	VpndDirection dir;
	guint32 ike_sa_id;
	guint32 spi_in; /* the child's inbound SPI: how the engine names the child */
	guint32 reqid;  /* the engine's; its policies name the child by it */
	char *child;    /* (owned) */
} SaInstalled;

/*
 * A trap policy: outbound, for one pair of configured selectors. While a child SA of
 * the same selectors is up, its own policy takes the trap's place in the kernel (same
 * selectors, one policy); the trap comes back when that policy is deleted.
 */
typedef struct {
	VpndPolicyParams policy;
	ChildConfig *child; /* (transfer none) owned by the connection */
	gboolean installed;
} SaTrap;

struct SaManager {
	VpndHost *host;
	Control *control;
	ConnSecrets *secrets;
	GPtrArray *conns; /* SaConn, in load order */
	IkeEngine *engine;
	const VpndKernelOps *kops; /* NULL: no kernel provider */
	VpndKernel *kernel;
	NetService *net;
	GHashTable *timers; /* SaTimer by timer_key() */
	guint32 next_trap_reqid;
};

/* Trap policies' reqids, far above the engine's (which count from 1). */
#define SA_TRAP_REQID_BASE 0x40000000u

typedef struct {
	SaManager *mgr;
	guint32 ike_sa_id;
	IkeTimerKind kind;
	guint source; /* 0 once fired */
} SaTimer;

static void run_actions(SaManager *mgr);

/* ---- Connections ---- */

static void
sa_installed_clear(gpointer data)
{
	g_free(((SaInstalled *)data)->child);
}

static void
sa_conn_free(SaConn *c)
{
	conn_config_unref(c->conn);
	control_conn_free(c->state);
	g_array_unref(c->ike_sas);
	g_array_unref(c->sas);
	g_array_unref(c->traps);
	g_free(c);
}

static SaConn *
sa_conn_new(ConnConfig *conn)
{
	SaConn *c = g_new0(SaConn, 1);
	char buf[64];

	c->conn = conn_config_ref(conn);
	c->state = control_conn_new(conn->name);
	c->ike_sas = g_array_new(FALSE, FALSE, sizeof(guint32));
	c->sas = g_array_new(FALSE, FALSE, sizeof(SaInstalled));
	g_array_set_clear_func(c->sas, sa_installed_clear);
	c->traps = g_array_new(FALSE, FALSE, sizeof(SaTrap));
	if (conn->local_addr.family) {
		g_free(c->state->local_address);
		c->state->local_address =
			g_strdup(net_addr_format(&conn->local_addr, buf, sizeof(buf)));
	}
	if (conn->remote_addr.family) {
		g_free(c->state->remote_address);
		c->state->remote_address =
			g_strdup(net_addr_format(&conn->remote_addr, buf, sizeof(buf)));
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

static void
publish_state(SaManager *mgr, SaConn *c, ControlConnState state, const char *error)
{
	c->state->state = state;
	c->state->established_at =
		state == CONTROL_CONN_ESTABLISHED ? g_get_real_time() / G_USEC_PER_SEC : 0;
	if (error) {
		g_free(c->state->last_error);
		c->state->last_error = g_strdup(error);
		c->state->last_error_code = CONTROL_ERROR_FAILED;
	}
	control_publish_conn(mgr->control, CONTROL_CONN_CHANGED, c->state);
}

static VpndSecret *
psk_lookup(gpointer user_data, const ConnIdentity *local, const ConnIdentity *remote)
{
	SaManager *mgr = user_data;

	return conn_secrets_lookup_psk(mgr->secrets, local, remote);
}

static gboolean
load_conns(SaManager *mgr, const char *dir, gboolean force_encap, GError **error)
{
	g_autoptr(GPtrArray) conns =
		g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);

	if (!conn_loader_load_dir(dir, conns, mgr->secrets, error))
		return FALSE;
	for (guint i = 0; i < conns->len; i++) {
		ConnConfig *conn = conns->pdata[i];
		SaConn *c = sa_conn_new(conn);

		conn->encap |= force_encap;
		ike_engine_add_conn(mgr->engine, conn);
		g_ptr_array_add(mgr->conns, c);
		control_publish_conn(mgr->control, CONTROL_CONN_ADDED, c->state);
	}
	if (conns->len == 0) {
		g_info("no connections in %s", dir);
		return TRUE;
	}
	g_message("%u connection%s and %u secret%s loaded from %s", conns->len,
		  conns->len == 1 ? "" : "s", conn_secrets_count(mgr->secrets),
		  conn_secrets_count(mgr->secrets) == 1 ? "" : "s", dir);
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

/* ---- Kernel ---- */

static gboolean
sa_id_equal(const VpndSaId *a, const VpndSaId *b)
{
	return a->spi == b->spi && a->protocol == b->protocol && a->dst.family == b->dst.family &&
	       memcmp(a->dst.addr, b->dst.addr, sizeof(a->dst.addr)) == 0;
}

/* (nullable) the connection that installed @id, and its index in c->sas */
static SaConn *
find_installed(SaManager *mgr, const VpndSaId *id, guint *index)
{
	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		for (guint j = 0; j < c->sas->len; j++) {
			if (sa_id_equal(&g_array_index(c->sas, SaInstalled, j).id, id)) {
				*index = j;
				return c;
			}
		}
	}
	return NULL;
}

/* The engine installs a child's inbound SA first, then its outbound one. */
static void
remember_sa(SaManager *mgr, const IkeAction *a)
{
	SaConn *c = find_conn(mgr, a->conn_name);
	SaInstalled s = { .id = a->sa_key, .dir = a->sa.dir, .ike_sa_id = a->ike_sa_id };

	if (!c)
		return;
	s.spi_in = a->sa.dir == VPND_DIR_IN ? a->sa.spi : 0;
	for (guint i = c->sas->len; !s.spi_in && i > 0; i--) {
		const SaInstalled *in = &g_array_index(c->sas, SaInstalled, i - 1);

		if (in->dir == VPND_DIR_IN && in->ike_sa_id == a->ike_sa_id)
			s.spi_in = in->spi_in;
	}
	s.reqid = a->sa.reqid;
	s.child = g_strdup(a->child_name);
	g_array_append_val(c->sas, s);
}

static void
forget_sa(SaManager *mgr, const VpndSaId *id)
{
	guint index;
	SaConn *c = find_installed(mgr, id, &index);

	if (c)
		g_array_remove_index(c->sas, index);
}

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
	/* policy actions name no child: its SAs, installed before them, do */
	for (guint i = 0; i < c->sas->len; i++) {
		const SaInstalled *s = &g_array_index(c->sas, SaInstalled, i);

		if (s->reqid == reqid && s->ike_sa_id == a->ike_sa_id)
			return conn_config_get_child(c->conn, s->child);
	}
	return NULL;
}

static SaTrap *find_child_trap(SaConn *c, const ChildConfig *child);

/*
 * What the kernel gets beyond the engine's view: route-based children's XFRM interface
 * ids, and for trapped children the trap's reqid, so the kernel retires the larval SA
 * its ACQUIRE left once the real one arrives.
 */
static void
kernel_ids(SaManager *mgr, const IkeAction *a, gboolean out, guint32 *reqid, guint32 *if_id)
{
	SaConn *c = find_conn(mgr, a->conn_name);
	ChildConfig *child = action_child(c, a);
	SaTrap *trap = child ? find_child_trap(c, child) : NULL;

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
		remember_sa(mgr, a);
		return;
	}
	g_warning("%s: installing the %s SA %08x failed: %s; deleting IKE SA %u", a->conn_name,
		  a->sa.dir == VPND_DIR_IN ? "inbound" : "outbound", a->sa.spi, error->message,
		  a->ike_sa_id);
	ike_engine_delete_ike(mgr->engine, a->ike_sa_id, g_get_monotonic_time());
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

static gboolean
trap_install(SaManager *mgr, SaConn *c, SaTrap *t)
{
	g_autoptr(GError) error = NULL;

	if (!mgr->kops->add_policy(mgr->kernel, &t->policy, &error)) {
		g_warning("%s: cannot install the trap policy of %s: %s", c->conn->name,
			  t->child->name, error->message);
		return FALSE;
	}
	t->installed = TRUE;
	return TRUE;
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
		forget_sa(mgr, &a->sa_key);
		ok = mgr->kops->del_sa(mgr->kernel, &a->sa_key, &error);
		/* a hard expiry took it already */
		if (!ok && g_error_matches(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND))
			return;
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

static void
on_kernel_send_esp(gpointer user_data, const VpndAddr *src, const VpndAddr *dst, const guint8 *data,
		   gsize len)
{
	SaManager *mgr = user_data;

	if (mgr->net)
		net_service_send_esp(mgr->net, src, dst, data, len);
}

/* Soft: time for a fresh child SA. Hard: the kernel dropped it, the child is gone. */
static void
on_kernel_expire(gpointer user_data, const VpndSaId *sa, VpndExpireKind kind)
{
	SaManager *mgr = user_data;
	guint index;
	SaConn *c = find_installed(mgr, sa, &index);
	SaInstalled s;

	g_message("SA %08x reached its %s lifetime", sa->spi,
		  kind == VPND_EXPIRE_HARD ? "hard" : "soft");
	if (!c)
		return;
	s = g_array_index(c->sas, SaInstalled, index);
	if (kind == VPND_EXPIRE_HARD) {
		ike_engine_delete_child(mgr->engine, s.ike_sa_id, s.spi_in, g_get_monotonic_time());
		run_actions(mgr);
	}
}

static void initiate_child(SaManager *mgr, SaConn *c, const char *child);

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
	g_debug("acquire for reqid %u: no trap policy of ours", reqid);
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
add_trap(SaManager *mgr, SaConn *c, ChildConfig *child, guint32 reqid, const ConnTs *l,
	 const ConnTs *r)
{
	SaTrap t = { .child = child };
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

/* start_action = trap: one outbound trap policy per pair of configured selectors. */
static void
install_traps(SaManager *mgr, SaConn *c, ChildConfig *child)
{
	guint32 reqid = SA_TRAP_REQID_BASE + mgr->next_trap_reqid++;
	guint nl = MAX(child->local_ts->len, 1), nr = MAX(child->remote_ts->len, 1);
	guint before = c->traps->len;

	if (!mgr->kops || !c->conn->remote_addr.family) {
		g_warning("%s: start_action = trap needs %s", child->name,
			  mgr->kops ? "remote_addrs" : "a kernel provider");
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

			add_trap(mgr, c, child, reqid, lt, rt);
		}
	}
	g_message("%s: %u trap polic%s installed for %s", c->conn->name, c->traps->len - before,
		  c->traps->len - before == 1 ? "y" : "ies", child->name);
}

static gboolean
open_kernel(SaManager *mgr, GError **error)
{
	const HostProvider *p = host_get_best(mgr->host, VPND_PROVIDER_KERNEL);
	static const VpndKernelEvents events = {
		.acquire = on_kernel_acquire,
		.expire = on_kernel_expire,
		.send_esp = on_kernel_send_esp,
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

/* ---- Engine events ---- */

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
	if (a->up)
		publish_state(mgr, c, CONTROL_CONN_ESTABLISHED, NULL);
	else if (c->ike_sas->len == 0)
		publish_state(mgr, c, CONTROL_CONN_DOWN,
			      a->reason == IKE_REASON_DELETED_LOCAL ||
					      a->reason == IKE_REASON_DELETED_PEER
				      ? NULL
				      : ike_reason_to_string(a->reason));
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

static void
do_send(SaManager *mgr, const IkeAction *a)
{
	g_autoptr(GError) error = NULL;
	gsize len;
	const guint8 *data = g_bytes_get_data(a->datagram, &len);

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

	ike_engine_input(mgr->engine, bytes, local, remote, now);
	run_actions(mgr);
}

/* ---- Life cycle ---- */

static gboolean
open_net(SaManager *mgr, Settings *settings, GError **error)
{
	g_autoptr(NetConfig) cfg = net_config_new_from_settings(settings, error);

	if (!cfg)
		return FALSE;
	mgr->net = net_service_new(cfg, mgr->kernel ? mgr->kops : NULL, mgr->kernel, error);
	if (!mgr->net)
		return FALSE;
	net_service_set_ike_handler(mgr->net, on_ike_datagram, mgr);
	g_info("IKE on UDP %u and %u", net_service_get_port(mgr->net),
	       net_service_get_port_nat_t(mgr->net));
	return TRUE;
}

static gboolean
kernel_is_tun(SaManager *mgr)
{
	const HostProvider *p = host_get_best(mgr->host, VPND_PROVIDER_KERNEL);

	return p && g_strcmp0(p->plugin, "kernel-tun") == 0;
}

SaManager *
sa_manager_new(VpndHost *host, Settings *settings, Control *control, GError **error)
{
	g_autoptr(SaManager) mgr = g_new0(SaManager, 1);
	const char *dir = settings_get_str(settings, "conf_dir", SA_MANAGER_DEFAULT_CONF_DIR);
	IkeEngineConfig cfg = { .host = host, .psk_lookup = psk_lookup, .psk_data = mgr };

	mgr->host = host;
	mgr->control = control;
	mgr->secrets = conn_secrets_new();
	mgr->conns = g_ptr_array_new_with_free_func((GDestroyNotify)sa_conn_free);
	mgr->timers = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)sa_timer_free);
	mgr->engine = ike_engine_new(&cfg);
	/* kernel-tun carries ESP in UDP only: every connection asks for it */
	if (!load_conns(mgr, dir, kernel_is_tun(mgr), error))
		return NULL;
	/* Nothing to negotiate: leave UDP 500/4500 and the data plane alone. */
	if (mgr->conns->len == 0)
		return g_steal_pointer(&mgr);
	if (!open_kernel(mgr, error) || !open_net(mgr, settings, error))
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
		publish_state(mgr, c, CONTROL_CONN_DOWN, error->message);
		return;
	}
	g_message("%s: initiating IKE SA %u", c->conn->name, id);
	track_ike_sa(c, id, TRUE);
	publish_state(mgr, c, CONTROL_CONN_CONNECTING, NULL);
	run_actions(mgr);
}

void
sa_manager_start(SaManager *mgr)
{
	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];

		for (guint j = 0; j < c->conn->children->len; j++) {
			ChildConfig *child = c->conn->children->pdata[j];

			if (child->start_action == CONN_START_START)
				initiate_child(mgr, c, child->name);
			else if (child->start_action == CONN_START_TRAP)
				install_traps(mgr, c, child);
		}
	}
}

/* The traffic of the connection's child SAs, as the kernel counts it right now. */
static void
add_counters(SaManager *mgr, SaConn *c, ControlConn *out)
{
	for (guint i = 0; mgr->kops && mgr->kops->query_sa && i < c->sas->len; i++) {
		const SaInstalled *s = &g_array_index(c->sas, SaInstalled, i);
		g_autoptr(GError) error = NULL;
		VpndSaStats stats = { 0 };

		if (!mgr->kops->query_sa(mgr->kernel, &s->id, &stats, &error)) {
			g_debug("%s: SA %08x: %s", c->conn->name, s->id.spi, error->message);
			continue;
		}
		if (s->dir == VPND_DIR_IN) {
			out->bytes_in += stats.bytes;
			out->packets_in += stats.packets;
		} else {
			out->bytes_out += stats.bytes;
			out->packets_out += stats.packets;
		}
	}
}

GPtrArray *
sa_manager_list_connections(SaManager *mgr)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)control_conn_free);

	for (guint i = 0; i < mgr->conns->len; i++) {
		SaConn *c = mgr->conns->pdata[i];
		ControlConn *conn = control_conn_copy(c->state);

		add_counters(mgr, c, conn);
		g_ptr_array_add(list, conn);
	}
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

static void
delete_all(SaManager *mgr, SaConn *c)
{
	g_autoptr(GArray) ids = g_array_copy(c->ike_sas);

	for (guint i = 0; i < ids->len; i++)
		ike_engine_delete_ike(mgr->engine, g_array_index(ids, guint32, i),
				      g_get_monotonic_time());
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
		publish_state(mgr, c, CONTROL_CONN_DISCONNECTING, NULL);
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
	if (mgr->kernel)
		mgr->kops->close(mgr->kernel);
	g_clear_pointer(&mgr->net, net_service_free);
	g_clear_pointer(&mgr->engine, ike_engine_free);
	g_clear_pointer(&mgr->conns, g_ptr_array_unref);
	g_clear_pointer(&mgr->secrets, conn_secrets_free);
	g_free(mgr);
}
