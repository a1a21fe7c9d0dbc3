/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine and the per-SA driver: SA table, message IDs (window 1), retransmission,
 * cached responses, the exchange table, timers, and the actions queue. Tasks
 * (ikev2/) do the payload work and never see a retransmit.
 */
#include "ike_engine.h"

#include <math.h>
#include <string.h>

#include "ike_cookie.h"
#include "ike_engine_private.h"
#include "ike_msg.h"
#include "ike_sa.h"

#define DEFAULT_TIMEOUT_MS 4000
#define DEFAULT_BASE 1.8
#define DEFAULT_TRIES 5
#define DEFAULT_HALF_OPEN_S 30
#define DEFAULT_HALF_OPEN_PER_PEER 5
#define DEFAULT_COOKIE_THRESHOLD 10
#define DEFAULT_COOKIE_SECRET_S 120
#define IKE_PORT 500
#define USEC_PER_MS 1000
#define USEC_PER_S G_USEC_PER_SEC


/* ---- the exchange table: (exchange, what we start) -> tasks; responders use the row of
 * the exchange received ---- */

typedef IkeTask *(*TaskNew)(gboolean initiator, const IkePending *p);

static IkeTask *
new_ike_init(gboolean initiator, const IkePending *p)
{
	return ike_init_task_new(initiator);
}

static IkeTask *
new_natd(gboolean initiator, const IkePending *p)
{
	return ike_natd_task_new(initiator);
}

static IkeTask *
new_ike_auth(gboolean initiator, const IkePending *p)
{
	return ike_auth_task_new(initiator);
}

static IkeTask *
new_child_in_auth(gboolean initiator, const IkePending *p)
{
	return child_create_task_new(initiator, p ? p->child : NULL, TRUE);
}

static IkeTask *
new_child(gboolean initiator, const IkePending *p)
{
	if (!initiator)
		return child_create_task_new(FALSE, NULL, FALSE);
	if (p->kind == IKE_PENDING_REKEY_CHILD)
		return child_rekey_task_new(p->spi);
	if (p->kind == IKE_PENDING_CREATE_CHILD)
		return child_create_task_new(TRUE, p->child, FALSE);
	return NULL;
}

static IkeTask *
new_ike_rekey(gboolean initiator, const IkePending *p)
{
	if (initiator && p->kind != IKE_PENDING_REKEY_IKE)
		return NULL;
	return ike_rekey_task_new(initiator);
}

static IkeTask *
new_info(gboolean initiator, const IkePending *p)
{
	return informational_task_new(initiator, p ? p->kind : IKE_PENDING_DPD, p ? p->spi : 0);
}

#define MAX_TASKS 3

/* An exchange and its tasks; a constructor returns NULL when it has no part in what
 * the initiator starts (a responder runs them all). */
typedef struct {
	guint8 exchange;
	TaskNew tasks[MAX_TASKS];
} ExchangeRow;

/* clang-format off */
static const ExchangeRow exchange_table[] = {
	/* IKE_SA_INIT { SA, KE, Ni, N(NAT_D)+ } <--> { SA, KE, Nr, N(NAT_D)+ } */
	{ IKE_EXCHANGE_IKE_SA_INIT, { new_ike_init, new_natd } },
	/* IKE_AUTH { IDi, [IDr], AUTH, SA, TSi, TSr } <--> { IDr, AUTH, SA, TSi, TSr } */
	{ IKE_EXCHANGE_IKE_AUTH, { new_ike_auth, new_child_in_auth } },
	/* CREATE_CHILD_SA { [N(REKEY_SA)], SA, Ni, [KEi], TSi, TSr } <--> { SA, Nr, [KEr], TSi, TSr }
	 * CREATE_CHILD_SA { SA(IKE), Ni, KEi } <--> { SA(IKE), Nr, KEr }  (IKE SA rekey) */
	{ IKE_EXCHANGE_CREATE_CHILD_SA, { new_child, new_ike_rekey } },
	/* INFORMATIONAL { [D] } <--> { [D] } */
	{ IKE_EXCHANGE_INFORMATIONAL, { new_info } },
};
/* clang-format on */

static guint8
exchange_of(IkePendingKind kind)
{
	switch (kind) {
	case IKE_PENDING_IKE_INIT:
		return IKE_EXCHANGE_IKE_SA_INIT;
	case IKE_PENDING_IKE_AUTH:
		return IKE_EXCHANGE_IKE_AUTH;
	case IKE_PENDING_CREATE_CHILD:
	case IKE_PENDING_REKEY_CHILD:
	case IKE_PENDING_REKEY_IKE:
		return IKE_EXCHANGE_CREATE_CHILD_SA;
	case IKE_PENDING_DELETE_CHILD:
	case IKE_PENDING_DELETE_IKE:
	case IKE_PENDING_DPD:
		return IKE_EXCHANGE_INFORMATIONAL;
	}
	return 0;
}

static const ExchangeRow *
row_for_exchange(guint8 exchange)
{
	for (gsize i = 0; i < G_N_ELEMENTS(exchange_table); i++) {
		if (exchange_table[i].exchange == exchange)
			return &exchange_table[i];
	}
	return NULL;
}

static void
fill_tasks(GPtrArray *tasks, const ExchangeRow *row, gboolean initiator, const IkePending *p)
{
	g_ptr_array_set_size(tasks, 0);
	for (guint i = 0; i < MAX_TASKS && row->tasks[i]; i++) {
		IkeTask *t = row->tasks[i](initiator, p);

		if (t)
			g_ptr_array_add(tasks, t);
	}
}

/* ---- actions ---- */

const char *
ike_reason_to_string(IkeReason reason)
{
	switch (reason) {
	case IKE_REASON_ESTABLISHED:
		return "established";
	case IKE_REASON_DELETED_LOCAL:
		return "deleted locally";
	case IKE_REASON_DELETED_PEER:
		return "deleted by peer";
	case IKE_REASON_PEER_TIMEOUT:
		return "peer not responding";
	case IKE_REASON_HALF_OPEN_TIMEOUT:
		return "half-open timeout";
	case IKE_REASON_AUTH_FAILED:
		return "authentication failed";
	case IKE_REASON_PEER_AUTH_FAILED:
		return "authentication refused by the peer";
	case IKE_REASON_NO_PROPOSAL:
		return "no proposal chosen";
	case IKE_REASON_TS_UNACCEPTABLE:
		return "traffic selectors unacceptable";
	case IKE_REASON_INVALID_KE:
		return "invalid KE payload";
	case IKE_REASON_FAILED:
		return "failed";
	case IKE_REASON_EXPIRED:
		return "lifetime expired";
	case IKE_REASON_REKEYED:
		return "rekeyed";
	case IKE_REASON_REPLACED:
		return "replaced (the peer restarted: INITIAL_CONTACT)";
	}
	return "unknown";
}

IkeAction *
ike_action_new(IkeActionKind kind, IkeSa *sa)
{
	IkeAction *a = g_new0(IkeAction, 1);

	a->kind = kind;
	if (sa) {
		a->ike_sa_id = sa->id;
		a->conn_name_owned = g_strdup(sa->conn->name);
		a->conn_name = a->conn_name_owned;
	}
	return a;
}

void
ike_action_free(IkeAction *a)
{
	if (!a)
		return;
	g_clear_pointer(&a->datagram, g_bytes_unref);
	g_free(a->conn_name_owned);
	g_free(a->child_name_owned);
	vpnd_secret_free(a->keys);
	g_free(a->ts);
	g_free(a);
}

void
ike_engine_emit(IkeEngine *engine, IkeAction *action)
{
	g_ptr_array_add(engine->actions, action);
}

GPtrArray *
ike_engine_steal_actions(IkeEngine *engine)
{
	GPtrArray *out = engine->actions;

	engine->actions = g_ptr_array_new_with_free_func((GDestroyNotify)ike_action_free);
	return out;
}

static void
arm_timer(IkeSa *sa, IkeTimerKind kind, gint64 when)
{
	IkeAction *a;

	if (sa->timers[kind] == when)
		return;
	sa->timers[kind] = when;
	a = ike_action_new(IKE_ACTION_TIMER, sa);
	a->timer = kind;
	a->when = when;
	ike_engine_emit(sa->engine, a);
}

void
ike_sa_arm_timer(IkeSa *sa, IkeTimerKind kind, gint64 when)
{
	arm_timer(sa, kind, when);
}

static void
send_bytes(IkeSa *sa, GBytes *bytes)
{
	IkeAction *a = ike_action_new(IKE_ACTION_SEND, sa);

	a->datagram = g_bytes_ref(bytes);
	a->src = sa->local;
	a->dst = sa->remote;
	ike_engine_emit(sa->engine, a);
}

/* ---- engine services ---- */

VpndHost *
ike_engine_get_host(IkeEngine *engine)
{
	return engine->cfg.host;
}

gboolean
ike_engine_random(IkeEngine *engine, guint8 *buf, gsize len)
{
	if (engine->cfg.random)
		return engine->cfg.random(engine->cfg.random_data, buf, len);
	return crypto_random(engine->cfg.host, buf, len, FALSE, NULL);
}

static gboolean
random_cb(gpointer data, guint8 *buf, gsize len)
{
	return ike_engine_random(data, buf, len);
}

VpndSecret *
ike_engine_lookup_psk(IkeEngine *engine, const ConnIdentity *local, const ConnIdentity *remote)
{
	if (!engine->cfg.psk_lookup)
		return NULL;
	return engine->cfg.psk_lookup(engine->cfg.psk_data, local, remote);
}

guint32
ike_engine_next_reqid(IkeEngine *engine)
{
	return ++engine->next_reqid;
}

guint32
ike_engine_next_child_id(IkeEngine *engine)
{
	return ++engine->last_child_id;
}

gint64
ike_engine_now(IkeEngine *engine)
{
	return engine->now;
}

guint64
ike_engine_random_below(IkeEngine *engine, guint64 max)
{
	guint64 r = 0;

	if (max <= 1 || !ike_engine_random(engine, (guint8 *)&r, sizeof(r)))
		return 0;
	return r % max;
}

const IkeEngineCounters *
ike_engine_get_counters(IkeEngine *engine)
{
	return &engine->counters;
}

/* ---- the SA table ---- */

IkeEngine *
ike_engine_new(const IkeEngineConfig *config)
{
	IkeEngine *e = g_new0(IkeEngine, 1);

	e->cfg = *config;
	if (!e->cfg.retransmit_timeout_ms)
		e->cfg.retransmit_timeout_ms = DEFAULT_TIMEOUT_MS;
	if (e->cfg.retransmit_base <= 0)
		e->cfg.retransmit_base = DEFAULT_BASE;
	if (!e->cfg.retransmit_tries)
		e->cfg.retransmit_tries = DEFAULT_TRIES;
	if (!e->cfg.half_open_timeout_s)
		e->cfg.half_open_timeout_s = DEFAULT_HALF_OPEN_S;
	if (!e->cfg.half_open_per_peer)
		e->cfg.half_open_per_peer = DEFAULT_HALF_OPEN_PER_PEER;
	if (!e->cfg.cookie_threshold)
		e->cfg.cookie_threshold = DEFAULT_COOKIE_THRESHOLD;
	if (!e->cfg.cookie_secret_s)
		e->cfg.cookie_secret_s = DEFAULT_COOKIE_SECRET_S;
	e->cookies = ike_cookie_jar_new(e->cfg.host, random_cb, e,
					(gint64)e->cfg.cookie_secret_s * USEC_PER_S);
	e->sas = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
				       (GDestroyNotify)ike_sa_free);
	e->by_spi = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	e->half_open = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	e->half_open_by_host = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
						     (GDestroyNotify)g_bytes_unref, NULL);
	e->by_peer_id = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
					      (GDestroyNotify)g_bytes_unref,
					      (GDestroyNotify)g_ptr_array_unref);
	e->conns = g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);
	e->actions = g_ptr_array_new_with_free_func((GDestroyNotify)ike_action_free);
	e->keys_pending = g_array_new(FALSE, FALSE, sizeof(guint32));
	return e;
}

void
ike_engine_free(IkeEngine *e)
{
	if (!e)
		return;
	g_hash_table_unref(e->by_spi);
	g_hash_table_unref(e->half_open);
	g_hash_table_unref(e->by_peer_id); /* borrowed SAs: before they go */
	g_hash_table_unref(e->sas);
	g_hash_table_unref(e->half_open_by_host);
	g_ptr_array_unref(e->conns);
	g_ptr_array_unref(e->actions);
	g_array_unref(e->keys_pending);
	ike_cookie_jar_free(e->cookies);
	g_free(e);
}

void
ike_engine_add_conn(IkeEngine *engine, ConnConfig *conn)
{
	g_ptr_array_add(engine->conns, conn_config_ref(conn));
}

void
ike_engine_remove_conn(IkeEngine *engine, ConnConfig *conn)
{
	g_ptr_array_remove(engine->conns, conn);
}

IkeSa *
ike_engine_get_sa(IkeEngine *engine, guint32 id)
{
	return g_hash_table_lookup(engine->sas, GUINT_TO_POINTER(id));
}

guint
ike_engine_count_sas(IkeEngine *engine)
{
	return g_hash_table_size(engine->sas);
}

static void
index_spi(GHashTable *table, guint64 spi, IkeSa *sa)
{
	g_hash_table_insert(table, g_memdup2(&spi, sizeof(spi)), sa);
}

static IkeSa *
lookup_spi(GHashTable *table, guint64 spi)
{
	return g_hash_table_lookup(table, &spi);
}

/* Marks @sa gone: children down, timers cancelled, ike-updown; freed by reap(). */
static void
destroy_sa(IkeSa *sa, IkeReason reason, guint16 notify)
{
	if (sa->state == IKE_SA_STATE_DESTROYING)
		return;
	if ((sa->rekeyed || sa->undecided) && !sa->children->len)
		reason = IKE_REASON_REKEYED;
	ike_sa_set_down_reason(sa, reason, notify);
	while (sa->children->len)
		ike_sa_remove_child(sa, g_ptr_array_index(sa->children, sa->children->len - 1),
				    reason);
	for (int k = 0; k < IKE_TIMER_COUNT; k++)
		if (sa->timers[k] >= 0)
			arm_timer(sa, k, -1);
	ike_sa_set_state(sa, IKE_SA_STATE_DESTROYING);
	sa->engine->n_destroying++;
}

void
ike_engine_destroy_sa(IkeSa *sa, IkeReason reason, guint16 notify)
{
	destroy_sa(sa, reason, notify);
}

static gboolean
reap_one(gpointer key, gpointer value, gpointer user_data)
{
	IkeSa *sa = value;
	IkeEngine *e = user_data;
	guint64 ours = sa->initiator ? sa->spi_i : sa->spi_r;

	if (sa->state != IKE_SA_STATE_DESTROYING)
		return FALSE;
	if (lookup_spi(e->by_spi, ours) == sa)
		g_hash_table_remove(e->by_spi, &ours);
	if (!sa->initiator && lookup_spi(e->half_open, sa->spi_i) == sa)
		g_hash_table_remove(e->half_open, &sa->spi_i);
	ike_engine_unindex_peer(e, sa);
	return TRUE;
}

/* After every event: a walk over all SAs only when one was marked gone. */
static void
reap(IkeEngine *e)
{
	if (e->n_destroying)
		e->n_destroying -= g_hash_table_foreach_remove(e->sas, reap_one, e);
}

/* ---- sending requests ---- */

static IkeMsg *
new_msg(IkeSa *sa, guint8 exchange, gboolean response, guint32 mid)
{
	IkeHeader h = {
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.major_version = IKE_MAJOR_VERSION,
		.exchange = exchange,
		.flags = (sa->initiator ? IKE_FLAG_INITIATOR : 0) |
			 (response ? IKE_FLAG_RESPONSE : 0),
		.message_id = mid,
	};

	return ike_msg_new(&h);
}

static GBytes *
encode(IkeSa *sa, IkeMsg *msg)
{
	g_autoptr(GByteArray) out = NULL;

	if (ike_msg_get_header(msg)->exchange != IKE_EXCHANGE_IKE_SA_INIT)
		return sa->keymat ? ike_keymat_seal(sa->keymat, msg, random_cb, sa->engine) : NULL;
	out = g_byte_array_new();
	if (!ike_msg_build(msg, out))
		return NULL;
	return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

static gint64
retransmit_delay(IkeEngine *e, guint tries)
{
	return (gint64)(e->cfg.retransmit_timeout_ms * USEC_PER_MS *
			pow(e->cfg.retransmit_base, tries));
}

static void start_next(IkeSa *sa, gint64 now);

/* How long a request is retransmitted before its SA is given up. */
static gint64
retransmit_total(IkeEngine *e)
{
	gint64 total = 0;

	for (guint i = 0; i <= e->cfg.retransmit_tries; i++)
		total += retransmit_delay(e, i);
	return total;
}

static gboolean
is_setup_exchange(guint8 exchange)
{
	return exchange == IKE_EXCHANGE_IKE_SA_INIT || exchange == IKE_EXCHANGE_IKE_AUTH;
}

/* Ends the exchange in flight; the next pending one may start. */
static void
finish_exchange(IkeSa *sa, gint64 now)
{
	g_clear_pointer(&sa->request, g_bytes_unref);
	g_ptr_array_set_size(sa->tasks, 0);
	sa->mid_out++;
	arm_timer(sa, IKE_TIMER_RETRANSMIT, -1);
}

/* Builds and sends our request for the tasks in sa->tasks (again, after a retry). */
static void
send_request(IkeSa *sa, gint64 now)
{
	g_autoptr(IkeMsg) msg = new_msg(sa, sa->request_exchange, FALSE, sa->mid_out);

	for (guint i = 0; i < sa->tasks->len; i++) {
		IkeTask *t = g_ptr_array_index(sa->tasks, i);

		if (t->ops->build_request(t, sa, msg) != IKE_TASK_DONE) {
			if (is_setup_exchange(sa->request_exchange)) {
				destroy_sa(sa, t->reason, t->notify);
				return;
			}
			/* nothing was sent: the message ID stays unused */
			g_ptr_array_set_size(sa->tasks, 0);
			start_next(sa, now);
			return;
		}
	}
	g_clear_pointer(&sa->request, g_bytes_unref);
	sa->request = encode(sa, msg);
	if (!sa->request) {
		ike_sa_log(sa, G_LOG_LEVEL_WARNING, "cannot build %s request",
			   ike_exchange_type_to_string(sa->request_exchange));
		destroy_sa(sa, IKE_REASON_FAILED, 0);
		return;
	}
	sa->retransmits = 0;
	ike_sa_log(sa, G_LOG_LEVEL_INFO, "sending %s request %u",
		   ike_exchange_type_to_string(sa->request_exchange), sa->mid_out);
	send_bytes(sa, sa->request);
	arm_timer(sa, IKE_TIMER_RETRANSMIT, now + retransmit_delay(sa->engine, 0));
}

static gboolean
pending_allowed(IkeSa *sa, IkePendingKind kind)
{
	switch (kind) {
	case IKE_PENDING_IKE_INIT:
		return sa->state == IKE_SA_STATE_CONNECTING && !sa->keymat;
	case IKE_PENDING_IKE_AUTH:
		return sa->state == IKE_SA_STATE_CONNECTING && sa->keymat;
	case IKE_PENDING_DELETE_IKE:
		return sa->state == IKE_SA_STATE_ESTABLISHED;
	case IKE_PENDING_CREATE_CHILD:
	case IKE_PENDING_DELETE_CHILD:
	case IKE_PENDING_DPD:
	case IKE_PENDING_REKEY_CHILD:
	case IKE_PENDING_REKEY_IKE:
		/* a rekeyed IKE SA only waits for its Delete */
		return sa->state == IKE_SA_STATE_ESTABLISHED && !sa->rekeyed;
	}
	return FALSE;
}

static void
start_next(IkeSa *sa, gint64 now)
{
	while (!sa->request && sa->state != IKE_SA_STATE_DESTROYING && !sa->tasks->len) {
		g_autofree IkePending *p = g_queue_pop_head(sa->pending);
		const ExchangeRow *row;

		if (!p)
			return;
		if (!pending_allowed(sa, p->kind) || !(row = row_for_exchange(exchange_of(p->kind))))
			continue;
		sa->request_exchange = row->exchange;
		fill_tasks(sa->tasks, row, TRUE, p);
		if (sa->tasks->len)
			send_request(sa, now);
	}
}

/* After a rekey: the new SAs start what came over with the children. */
static void
kick_successors(IkeSa *sa, gint64 now)
{
	GHashTableIter it;
	gpointer value;

	if (!sa->rekeyed)
		return;
	g_hash_table_iter_init(&it, sa->engine->sas);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		IkeSa *s = value;

		if (s->rekeyed_from == sa->id && !s->rekeyed)
			start_next(s, now);
	}
}

static void
arm_dpd(IkeSa *sa, gint64 now)
{
	if (sa->conn->dpd_delay && sa->state == IKE_SA_STATE_ESTABLISHED)
		arm_timer(sa, IKE_TIMER_DPD, now + (gint64)sa->conn->dpd_delay * USEC_PER_S);
}

/* rekey_time minus up to rand_time; the SA dies at rekey_time + over_time. */
static void
arm_ike_lifetimes(IkeSa *sa, gint64 now)
{
	const ConnConfig *c = sa->conn;
	guint64 over, rand, jitter;

	if (!c->rekey_time)
		return;
	over = c->over_time ? c->over_time : MAX(c->rekey_time / 10, 1);
	rand = c->rand_time ? c->rand_time : over;
	if (rand >= c->rekey_time)
		rand = c->rekey_time / 2;
	jitter = ike_engine_random_below(sa->engine, rand * USEC_PER_S + 1);
	sa->rekey_at = now + (gint64)(c->rekey_time * USEC_PER_S - jitter);
	sa->expire_at = now + (gint64)((c->rekey_time + over) * USEC_PER_S);
	arm_timer(sa, IKE_TIMER_REKEY, sa->rekey_at);
	arm_timer(sa, IKE_TIMER_EXPIRE, sa->expire_at);
}

static void
established(IkeSa *sa, gint64 now)
{
	ike_sa_setup_done(sa);
	sa->established_at = now;
	arm_timer(sa, IKE_TIMER_HALF_OPEN, -1);
	arm_dpd(sa, now);
	arm_ike_lifetimes(sa, now);
}

void
ike_engine_update_child_timer(IkeSa *sa)
{
	gint64 next = -1;

	if (sa->state == IKE_SA_STATE_DESTROYING)
		return;
	for (guint i = 0; i < sa->children->len; i++) {
		ChildSa *c = g_ptr_array_index(sa->children, i);

		if (c->state == CHILD_SA_STATE_DESTROYING || c->state == CHILD_SA_STATE_CREATED)
			continue;
		if (c->rekey_at && c->state == CHILD_SA_STATE_INSTALLED &&
		    (next < 0 || c->rekey_at < next))
			next = c->rekey_at;
		if (c->expire_at && (next < 0 || c->expire_at < next))
			next = c->expire_at;
	}
	arm_timer(sa, IKE_TIMER_CHILD, next);
}

gboolean
ike_engine_new_ike_spi(IkeEngine *e, guint64 *spi)
{
	do {
		if (!ike_engine_random(e, (guint8 *)spi, sizeof(*spi)))
			return FALSE;
	} while (!*spi || lookup_spi(e->by_spi, *spi));
	return TRUE;
}

void
ike_engine_adopt_rekeyed(IkeEngine *e, IkeSa *sa, IkeSa *old, gboolean move_children)
{
	guint64 ours = sa->initiator ? sa->spi_i : sa->spi_r;

	sa->id = ++e->next_id;
	sa->rekeyed_from = old->id;
	ike_sa_inherit(sa, old);
	g_hash_table_insert(e->sas, GUINT_TO_POINTER(sa->id), sa);
	index_spi(e->by_spi, ours, sa);
	ike_sa_set_state(sa, IKE_SA_STATE_CONNECTING);
	ike_sa_set_state(sa, IKE_SA_STATE_ESTABLISHED);
	established(sa, e->now);
	if (move_children)
		ike_sa_move_children(old, sa);
	else
		sa->undecided = TRUE;
}

/* The rekey of @old finished here: the IKE_REKEY event; @old waits for its Delete. */
void
ike_engine_ike_rekeyed(IkeEngine *e, IkeSa *old, IkeSa *sa)
{
	IkeAction *a = ike_action_new(IKE_ACTION_IKE_REKEY, old);

	sa->undecided = FALSE;
	a->new_ike_sa_id = sa->id;
	a->up = TRUE;
	a->reason = IKE_REASON_REKEYED;
	ike_engine_emit(e, a);
	ike_engine_retire(old);
}

void
ike_engine_retire(IkeSa *sa)
{
	IkeEngine *e = sa->engine;

	sa->rekeyed = TRUE;
	for (int k = 0; k < IKE_TIMER_COUNT; k++)
		if (k != IKE_TIMER_RETRANSMIT && sa->timers[k] >= 0)
			arm_timer(sa, k, -1);
	/* if the peer never deletes it, it goes by itself, once the peer's retransmits of
	 * the rekey (answered from the cache) would have ended */
	arm_timer(sa, IKE_TIMER_EXPIRE, e->now + retransmit_total(e));
}

void
ike_engine_kick(IkeSa *sa)
{
	start_next(sa, sa->engine->now);
}

/* ---- receiving ---- */

static gboolean
rules_ok(const IkeMsg *msg)
{
	guint16 notify = 0;

	return ike_msg_check_rules(msg, &notify, NULL) == IKE_RULES_OK;
}

/* Decrypts an encrypted exchange; FALSE to drop. @result for the caller's answer. */
static gboolean
open_msg(IkeSa *sa, IkeMsg *msg, IkeOpenResult *result, guint8 *critical)
{
	if (ike_msg_get_header(msg)->exchange == IKE_EXCHANGE_IKE_SA_INIT) {
		*result = IKE_OPEN_OK;
		return TRUE;
	}
	if (!sa->keymat) {
		*result = IKE_OPEN_DROP;
		return FALSE;
	}
	*result = ike_keymat_open(sa->keymat, msg, critical);
	if (*result == IKE_OPEN_DROP)
		sa->engine->counters.bad_icv++;
	return *result != IKE_OPEN_DROP;
}

static void
handle_response(IkeSa *sa, IkeMsg *msg, gint64 now)
{
	const IkeHeader *h = ike_msg_get_header(msg);
	IkeOpenResult opened;
	guint8 critical = 0;

	if (!sa->request || h->message_id != sa->mid_out || h->exchange != sa->request_exchange) {
		sa->engine->counters.bad_msgid++;
		return;
	}
	if (!open_msg(sa, msg, &opened, &critical) || opened != IKE_OPEN_OK || !rules_ok(msg)) {
		sa->engine->counters.malformed += opened != IKE_OPEN_DROP;
		return;
	}
	sa->last_inbound = now;
	for (guint i = 0; i < sa->tasks->len; i++) {
		IkeTask *t = g_ptr_array_index(sa->tasks, i);

		switch (t->ops->process_response(t, sa, msg)) {
		case IKE_TASK_DONE:
			break;
		case IKE_TASK_MORE:
			/* the request again (new group, cookie): IKE_SA_INIT keeps message ID 0
			 * and no state; elsewhere the answer ended that exchange, the retry is
			 * a new one */
			if (h->exchange == IKE_EXCHANGE_IKE_SA_INIT)
				sa->spi_r = 0;
			else
				sa->mid_out++;
			send_request(sa, now);
			return;
		case IKE_TASK_FAIL:
			if (is_setup_exchange(h->exchange)) {
				destroy_sa(sa, t->reason, t->notify);
				return;
			}
			i = sa->tasks->len; /* the exchange is over; the SA stays */
			break;
		case IKE_TASK_DELETE_SA: {
			IkeReason reason = t->reason;
			guint16 notify = t->notify;

			finish_exchange(sa, now); /* frees the tasks */
			destroy_sa(sa, reason, notify);
			return;
		}
		}
	}
	finish_exchange(sa, now);
	if (h->exchange == IKE_EXCHANGE_IKE_SA_INIT)
		index_spi(sa->engine->by_spi, sa->spi_i, sa); /* now with its final SPIs */
	if (h->exchange == IKE_EXCHANGE_IKE_AUTH)
		established(sa, now);
	start_next(sa, now);
	kick_successors(sa, now);
}

static void
answer(IkeSa *sa, IkeMsg *req, IkeMsg *resp)
{
	GBytes *bytes = encode(sa, resp);

	if (!bytes) {
		ike_sa_log(sa, G_LOG_LEVEL_WARNING, "cannot build %s response",
			   ike_exchange_type_to_string(ike_msg_get_header(resp)->exchange));
		return;
	}
	g_clear_pointer(&sa->last_response, g_bytes_unref);
	sa->last_response = bytes;
	sa->mid_in++;
	send_bytes(sa, bytes);
}

/* A response that carries only the error notify @n (with @data). */
static void
answer_notify(IkeSa *sa, IkeMsg *req, guint16 n, const guint8 *data, gsize len)
{
	const IkeHeader *h = ike_msg_get_header(req);
	g_autoptr(IkeMsg) resp = new_msg(sa, h->exchange, TRUE, h->message_id);
	gboolean in_sk = h->exchange != IKE_EXCHANGE_IKE_SA_INIT;

	ike_msg_add_notify(resp, in_sk, n, 0, NULL, 0, data, len);
	answer(sa, req, resp);
}

/* The exchange type of a datagram we built (the IKE header's byte 18). */
static guint8
exchange_of_datagram(GBytes *datagram)
{
	gsize len;
	const guint8 *p = g_bytes_get_data(datagram, &len);

	return len > 18 ? p[18] : 0;
}

/*
 * @msg has the message ID of the request sa->last_response answered: TRUE when it may
 * be that request again (same exchange; for IKE_SA_INIT, the same bytes). An encrypted
 * request is not kept for this: its copy is recognised by being authentic, and RFC 7296
 * §2.1 has retransmits bitwise identical anyway.
 */
static gboolean
may_be_retransmit(IkeSa *sa, IkeMsg *msg)
{
	const IkeHeader *h = ike_msg_get_header(msg);

	if (h->exchange != exchange_of_datagram(sa->last_response))
		return FALSE;
	return h->exchange != IKE_EXCHANGE_IKE_SA_INIT ||
	       (sa->init_req && g_bytes_equal(sa->init_req, ike_msg_get_raw(msg)));
}

static gboolean
request_allowed(IkeSa *sa, guint8 exchange)
{
	switch (exchange) {
	case IKE_EXCHANGE_IKE_SA_INIT:
		return sa->state == IKE_SA_STATE_CONNECTING && !sa->keymat;
	case IKE_EXCHANGE_IKE_AUTH:
		return sa->state == IKE_SA_STATE_CONNECTING && sa->keymat && !sa->initiator;
	case IKE_EXCHANGE_CREATE_CHILD_SA:
		return sa->state == IKE_SA_STATE_ESTABLISHED;
	case IKE_EXCHANGE_INFORMATIONAL:
		return sa->state == IKE_SA_STATE_ESTABLISHED || sa->state == IKE_SA_STATE_DELETING;
	default:
		return FALSE;
	}
}

static void
handle_request(IkeSa *sa, IkeMsg *msg, const VpndAddr *local, const VpndAddr *remote, gint64 now)
{
	IkeEngine *e = sa->engine;
	const IkeHeader *h = ike_msg_get_header(msg);
	g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func((GDestroyNotify)ike_task_free);
	const ExchangeRow *row = row_for_exchange(h->exchange);
	IkeTask *failed = NULL, *deleting = NULL;
	IkeOpenResult opened;
	guint8 critical = 0;
	guint16 notify = 0;

	if (sa->last_response && h->message_id + 1 == sa->mid_in) {
		/* a retransmitted request: the cached answer, no task runs */
		if (!may_be_retransmit(sa, msg)) {
			e->counters.bad_msgid++;
			return;
		}
		/* not authentic: dropped (open_msg counts it) */
		if (!open_msg(sa, msg, &opened, &critical))
			return;
		e->counters.retransmits_answered++;
		send_bytes(sa, sa->last_response);
		return;
	}
	if (h->message_id != sa->mid_in || !row || !request_allowed(sa, h->exchange)) {
		e->counters.bad_msgid++;
		return;
	}
	if (!open_msg(sa, msg, &opened, &critical))
		return;
	/* from here the message is authentic (or IKE_SA_INIT): it gets an answer */
	if (h->exchange != IKE_EXCHANGE_IKE_SA_INIT) {
		sa->local = *local;
		sa->remote = *remote;
	}
	if (opened == IKE_OPEN_UNSUPPORTED_CRITICAL) {
		answer_notify(sa, msg, IKE_NOTIFY_UNSUPPORTED_CRITICAL_PAYLOAD, &critical, 1);
		return;
	}
	if (opened == IKE_OPEN_INVALID_SYNTAX ||
	    ike_msg_check_rules(msg, &notify, NULL) != IKE_RULES_OK) {
		e->counters.malformed++;
		e->counters.invalid_syntax_sent++;
		answer_notify(sa, msg, notify ? notify : IKE_NOTIFY_INVALID_SYNTAX, NULL, 0);
		if (h->exchange == IKE_EXCHANGE_IKE_AUTH)
			destroy_sa(sa, IKE_REASON_FAILED, IKE_NOTIFY_INVALID_SYNTAX);
		return;
	}
	sa->last_inbound = now;
	if (h->exchange == IKE_EXCHANGE_CREATE_CHILD_SA && sa->rekeyed) {
		/* replaced by a rekey: nothing new on it (RFC 7296 §2.25) */
		answer_notify(sa, msg, IKE_NOTIFY_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	fill_tasks(tasks, row, FALSE, NULL);
	for (guint i = 0; i < tasks->len && !failed; i++) {
		IkeTask *t = g_ptr_array_index(tasks, i);

		if (t->ops->process_request(t, sa, msg) == IKE_TASK_FAIL)
			failed = t;
	}
	g_autoptr(IkeMsg) resp = new_msg(sa, h->exchange, TRUE, h->message_id);
	for (guint i = 0; i < tasks->len && !failed; i++) {
		IkeTask *t = g_ptr_array_index(tasks, i);

		switch (t->ops->build_response(t, sa, resp)) {
		case IKE_TASK_DONE:
		case IKE_TASK_MORE:
			break;
		case IKE_TASK_FAIL:
			failed = t;
			break;
		case IKE_TASK_DELETE_SA:
			deleting = t;
			break;
		}
	}
	if (failed) {
		answer_notify(sa, msg, failed->notify ? failed->notify : IKE_NOTIFY_INVALID_SYNTAX,
			      failed->notify_data, failed->notify_data_len);
		if (is_setup_exchange(h->exchange))
			destroy_sa(sa, failed->reason, failed->notify);
		return;
	}
	answer(sa, msg, resp);
	kick_successors(sa, now);
	if (h->exchange == IKE_EXCHANGE_IKE_SA_INIT) {
		sa->init_resp = g_bytes_ref(sa->last_response);
		index_spi(e->by_spi, sa->spi_r, sa);
	}
	if (deleting)
		destroy_sa(sa, deleting->reason, 0);
	else if (h->exchange == IKE_EXCHANGE_IKE_AUTH && sa->state == IKE_SA_STATE_ESTABLISHED)
		established(sa, now);
}

/* The stateless answer { N(COOKIE) } to an IKE_SA_INIT request (RFC 7296 §2.6). */
static void
send_cookie(IkeEngine *e, IkeMsg *req, const guint8 *cookie, const VpndAddr *local,
	    const VpndAddr *remote)
{
	const IkeHeader *rh = ike_msg_get_header(req);
	IkeHeader h = {
		.spi_i = rh->spi_i,
		.major_version = IKE_MAJOR_VERSION,
		.exchange = IKE_EXCHANGE_IKE_SA_INIT,
		.flags = IKE_FLAG_RESPONSE,
	};
	g_autoptr(IkeMsg) resp = ike_msg_new(&h);
	g_autoptr(GByteArray) out = g_byte_array_new();
	IkeAction *a;

	ike_msg_add_notify(resp, FALSE, IKE_NOTIFY_COOKIE, 0, NULL, 0, cookie, IKE_COOKIE_LEN);
	if (!ike_msg_build(resp, out))
		return;
	a = ike_action_new(IKE_ACTION_SEND, NULL);
	a->datagram = g_byte_array_free_to_bytes(g_steal_pointer(&out));
	a->src = *local;
	a->dst = *remote;
	ike_engine_emit(e, a);
	e->counters.cookies_sent++;
}

/*
 * Under load, only an initiator that returns our cookie gets state (§2.6): TRUE to go on
 * with @msg; FALSE when it was answered with a cookie (or dropped).
 */
static gboolean
cookie_ok(IkeEngine *e, IkeMsg *msg, guint half_open, const VpndAddr *local,
	  const VpndAddr *remote)
{
	const IkeHeader *h = ike_msg_get_header(msg);
	IkePayload *nonce = ike_msg_find(msg, IKE_PAYLOAD_NONCE);
	IkePayload *n = ike_msg_find_notify(msg, IKE_NOTIFY_COOKIE);
	guint8 cookie[IKE_COOKIE_LEN];

	if (e->cfg.cookie_threshold == G_MAXUINT || half_open < e->cfg.cookie_threshold)
		return TRUE;
	if (n) {
		gsize len;
		const guint8 *data = ike_payload_get_data(n, &len);

		if (ike_cookie_check(e->cookies, e->now, nonce->nonce.data, remote, h->spi_i, data,
				     len))
			return TRUE;
		e->counters.cookies_rejected++;
	}
	if (ike_cookie_make(e->cookies, e->now, nonce->nonce.data, remote, h->spi_i, cookie))
		send_cookie(e, msg, cookie, local, remote);
	explicit_bzero(cookie, sizeof(cookie));
	return FALSE;
}

/* IKE_SA_INIT request: a retransmit for a half-open SA, or a new responder SA. */
static void
handle_init_request(IkeEngine *e, IkeMsg *msg, const VpndAddr *local, const VpndAddr *remote,
		    gint64 now)
{
	const IkeHeader *h = ike_msg_get_header(msg);
	IkeSa *sa = lookup_spi(e->half_open, h->spi_i);
	ConnConfig *conn;

	if (sa && sa->remote.family == remote->family &&
	    memcmp(sa->remote.addr, remote->addr, sizeof(remote->addr)) == 0) {
		handle_request(sa, msg, local, remote, now);
		return;
	}
	/* unprotected and unauthenticated: anything wrong is dropped, never answered */
	if (h->message_id != 0 || !rules_ok(msg)) {
		e->counters.malformed++;
		return;
	}
	if (!(conn = ike_engine_find_conn(e, local, remote))) {
		e->counters.no_sa++;
		return;
	}
	guint total = e->n_half_open, from_peer = ike_engine_half_open_from(e, remote);
	if (!cookie_ok(e, msg, total, local, remote))
		return;
	if ((e->cfg.half_open_max && total >= e->cfg.half_open_max) ||
	    from_peer >= e->cfg.half_open_per_peer) {
		e->counters.half_open_refused++;
		return;
	}
	sa = ike_sa_new(e, ++e->next_id, conn, FALSE);
	sa->spi_i = h->spi_i;
	sa->local = *local;
	sa->remote = *remote;
	g_hash_table_insert(e->sas, GUINT_TO_POINTER(sa->id), sa);
	index_spi(e->half_open, sa->spi_i, sa);
	ike_sa_set_state(sa, IKE_SA_STATE_CONNECTING);
	arm_timer(sa, IKE_TIMER_HALF_OPEN, now + (gint64)e->cfg.half_open_timeout_s * USEC_PER_S);
	handle_request(sa, msg, local, remote, now);
	if (sa->peer_ke)
		g_array_append_val(e->keys_pending, sa->id);
}

/* A responder's keys, before anything reads its next message; FALSE: it is gone. */
static gboolean
keys_ready(IkeSa *sa)
{
	if (!sa->peer_ke || sa->state == IKE_SA_STATE_DESTROYING)
		return TRUE;
	if (ike_init_derive_keys(sa))
		return TRUE;
	destroy_sa(sa, IKE_REASON_FAILED, 0);
	return FALSE;
}

void
ike_engine_derive_pending(IkeEngine *e, gint64 now)
{
	e->now = now;
	for (guint i = 0; i < e->keys_pending->len; i++) {
		IkeSa *sa = ike_engine_get_sa(e, g_array_index(e->keys_pending, guint32, i));

		if (sa)
			keys_ready(sa);
	}
	g_array_set_size(e->keys_pending, 0);
	reap(e);
}

void
ike_engine_input(IkeEngine *e, GBytes *datagram, const VpndAddr *local, const VpndAddr *remote,
		 gint64 now)
{
	g_autoptr(IkeMsg) msg = NULL;
	const IkeHeader *h;
	IkeSa *sa;

	e->now = now;
	if (ike_msg_decode(datagram, &msg, NULL) != IKE_PARSE_OK) {
		e->counters.malformed++;
		return;
	}
	h = ike_msg_get_header(msg);
	if (!ike_msg_is_response(msg) && h->exchange == IKE_EXCHANGE_IKE_SA_INIT && !h->spi_r &&
	    (h->flags & IKE_FLAG_INITIATOR)) {
		handle_init_request(e, msg, local, remote, now);
		reap(e);
		return;
	}
	/* the I flag says who sent it, hence which SPI is ours */
	sa = lookup_spi(e->by_spi, (h->flags & IKE_FLAG_INITIATOR) ? h->spi_r : h->spi_i);
	if (!sa || sa->state == IKE_SA_STATE_DESTROYING ||
	    !(h->flags & IKE_FLAG_INITIATOR) != !!sa->initiator ||
	    (sa->spi_r && h->spi_r != sa->spi_r) || h->spi_i != sa->spi_i) {
		e->counters.no_sa++;
		return;
	}
	/* a driver that did not call ike_engine_derive_pending() yet */
	if (!keys_ready(sa)) {
		reap(e);
		return;
	}
	if (ike_msg_is_response(msg))
		handle_response(sa, msg, now);
	else
		handle_request(sa, msg, local, remote, now);
	reap(e);
}

/* ---- timers and control ---- */

static void
queue_rekey_ike(IkeSa *sa)
{
	sa->rekeying = TRUE;
	ike_sa_queue(sa, IKE_PENDING_REKEY_IKE, NULL, 0);
}

/* Hard lifetime: a Delete (best effort), the SA goes whatever the answer. */
static void
expire_ike(IkeSa *sa, gint64 now)
{
	ike_sa_set_down_reason(sa, IKE_REASON_EXPIRED, 0);
	g_queue_clear_full(sa->pending, g_free);
	if (sa->request) {
		destroy_sa(sa, IKE_REASON_EXPIRED, 0);
		return;
	}
	ike_sa_queue(sa, IKE_PENDING_DELETE_IKE, NULL, 0);
	start_next(sa, now);
}

static gboolean
child_pending(IkeSa *sa, IkePendingKind kind, guint32 spi)
{
	for (GList *l = sa->pending->head; l; l = l->next) {
		IkePending *p = l->data;

		if (p->kind == kind && p->spi == spi)
			return TRUE;
	}
	return FALSE;
}

static void
queue_child(IkeSa *sa, IkePendingKind kind, guint32 spi)
{
	if (!child_pending(sa, kind, spi))
		ike_sa_queue(sa, kind, NULL, spi);
}

/* Children due for a rekey or past their hard lifetime. */
static void
child_timers(IkeSa *sa, gint64 now)
{
	for (guint i = 0; i < sa->children->len; i++) {
		ChildSa *c = g_ptr_array_index(sa->children, i);

		if (c->expire_at && c->expire_at <= now && c->state != CHILD_SA_STATE_DELETING) {
			ike_sa_log(sa, G_LOG_LEVEL_INFO, "CHILD SA %08x_i: lifetime expired",
				   c->spi_in);
			c->expire_at = 0;
			queue_child(sa, IKE_PENDING_DELETE_CHILD, c->spi_in);
		} else if (c->rekey_at && c->rekey_at <= now &&
			   c->state == CHILD_SA_STATE_INSTALLED) {
			c->rekey_at = 0;
			queue_child(sa, IKE_PENDING_REKEY_CHILD, c->spi_in);
		}
	}
	ike_engine_update_child_timer(sa);
	start_next(sa, now);
}

void
ike_engine_timer(IkeEngine *e, guint32 id, IkeTimerKind kind, gint64 now)
{
	IkeSa *sa = ike_engine_get_sa(e, id);

	e->now = now;
	if (!sa || kind >= IKE_TIMER_COUNT || sa->timers[kind] < 0 || sa->timers[kind] > now)
		return; /* stale */
	sa->timers[kind] = -1;
	switch (kind) {
	case IKE_TIMER_RETRANSMIT:
		if (!sa->request)
			break;
		if (sa->retransmits >= e->cfg.retransmit_tries) {
			ike_sa_log(sa, G_LOG_LEVEL_INFO, "giving up after %u retransmits",
				   sa->retransmits);
			/* a delete we asked for ends as asked, answered or not */
			destroy_sa(sa,
				   sa->state == IKE_SA_STATE_DELETING ? IKE_REASON_DELETED_LOCAL
								      : IKE_REASON_PEER_TIMEOUT,
				   0);
			break;
		}
		sa->retransmits++;
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "retransmit %u of request %u", sa->retransmits,
			   sa->mid_out);
		send_bytes(sa, sa->request);
		arm_timer(sa, IKE_TIMER_RETRANSMIT, now + retransmit_delay(e, sa->retransmits));
		break;
	case IKE_TIMER_DPD: {
		gint64 due = sa->last_inbound + (gint64)sa->conn->dpd_delay * USEC_PER_S;

		if (due > now) {
			arm_timer(sa, IKE_TIMER_DPD, due);
			break;
		}
		if (!sa->request && g_queue_is_empty(sa->pending)) {
			ike_sa_queue(sa, IKE_PENDING_DPD, NULL, 0);
			start_next(sa, now);
		}
		arm_dpd(sa, now);
		break;
	}
	case IKE_TIMER_HALF_OPEN:
		if (sa->state != IKE_SA_STATE_ESTABLISHED)
			destroy_sa(sa, IKE_REASON_HALF_OPEN_TIMEOUT, 0);
		break;
	case IKE_TIMER_REKEY:
		if (!sa->rekeying)
			queue_rekey_ike(sa);
		start_next(sa, now);
		break;
	case IKE_TIMER_EXPIRE:
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "%s",
			   sa->rekeyed ? "rekeyed IKE SA not deleted by the peer, removing it"
				       : "IKE SA lifetime expired");
		if (sa->rekeyed || sa->state != IKE_SA_STATE_ESTABLISHED)
			destroy_sa(sa, IKE_REASON_EXPIRED, 0);
		else
			expire_ike(sa, now);
		break;
	case IKE_TIMER_CHILD:
		child_timers(sa, now);
		break;
	case IKE_TIMER_COUNT:
		break;
	}
	reap(e);
}

guint32
ike_engine_initiate(IkeEngine *e, ConnConfig *conn, const char *child, gint64 now, GError **error)
{
	return ike_engine_initiate_from(e, conn, child, NULL, now, error);
}

guint32
ike_engine_initiate_from(IkeEngine *e, ConnConfig *conn, const char *child, const VpndAddr *local,
			 gint64 now, GError **error)
{
	ChildConfig *cc = conn_config_get_child(conn, child);
	guint64 spi;
	IkeSa *sa;

	e->now = now;
	if (!conn->remote_addr.family) {
		g_set_error(error, CONN_ERROR, CONN_ERROR_ADDRESS,
			    "connection \"%s\": no remote address to initiate to", conn->name);
		return 0;
	}
	if (child && !cc) {
		g_set_error(error, CONN_ERROR, CONN_ERROR_ADDRESS,
			    "connection \"%s\": no child \"%s\"", conn->name, child);
		return 0;
	}
	do {
		if (!ike_engine_random(e, (guint8 *)&spi, sizeof(spi))) {
			g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_FAILED,
				    "connection \"%s\": no random bytes for an SPI", conn->name);
			return 0;
		}
	} while (!spi || lookup_spi(e->by_spi, spi));
	sa = ike_sa_new(e, ++e->next_id, conn, TRUE);
	sa->spi_i = spi;
	sa->local = local && local->family ? *local : conn->local_addr;
	sa->remote = conn->remote_addr;
	if (!sa->local.port)
		sa->local.port = IKE_PORT;
	if (!sa->remote.port)
		sa->remote.port = IKE_PORT;
	g_hash_table_insert(e->sas, GUINT_TO_POINTER(sa->id), sa);
	index_spi(e->by_spi, spi, sa);
	ike_sa_set_state(sa, IKE_SA_STATE_CONNECTING);
	ike_sa_queue(sa, IKE_PENDING_IKE_INIT, NULL, 0);
	ike_sa_queue(sa, IKE_PENDING_IKE_AUTH, cc, 0);
	start_next(sa, now);
	guint32 id = sa->id;
	reap(e);
	return ike_engine_get_sa(e, id) ? id : 0;
}

static gboolean
queue_on(IkeEngine *e, guint32 id, IkePendingKind kind, ChildConfig *cc, guint32 spi, gint64 now)
{
	IkeSa *sa = ike_engine_get_sa(e, id);

	e->now = now;
	if (!sa || sa->state != IKE_SA_STATE_ESTABLISHED)
		return FALSE;
	ike_sa_queue(sa, kind, cc, spi);
	start_next(sa, now);
	reap(e);
	return TRUE;
}

gboolean
ike_engine_create_child(IkeEngine *e, guint32 id, const char *child, gint64 now)
{
	IkeSa *sa = ike_engine_get_sa(e, id);
	ChildConfig *cc = sa ? conn_config_get_child(sa->conn, child) : NULL;

	return cc && queue_on(e, id, IKE_PENDING_CREATE_CHILD, cc, 0, now);
}

gboolean
ike_engine_delete_child(IkeEngine *e, guint32 id, guint32 spi_in, gint64 now)
{
	IkeSa *sa = ike_engine_get_sa(e, id);

	return sa && ike_sa_find_child(sa, spi_in, TRUE) &&
	       queue_on(e, id, IKE_PENDING_DELETE_CHILD, NULL, spi_in, now);
}

void
ike_engine_queue_delete(IkeSa *sa)
{
	ike_sa_queue(sa, IKE_PENDING_DELETE_IKE, NULL, 0);
	start_next(sa, sa->engine->now);
}

gboolean
ike_engine_delete_ike(IkeEngine *e, guint32 id, gint64 now)
{
	return queue_on(e, id, IKE_PENDING_DELETE_IKE, NULL, 0, now);
}

gboolean
ike_engine_abort_ike(IkeEngine *e, guint32 id)
{
	IkeSa *sa = ike_engine_get_sa(e, id);

	if (!sa || (sa->state != IKE_SA_STATE_CREATED && sa->state != IKE_SA_STATE_CONNECTING))
		return FALSE;
	destroy_sa(sa, IKE_REASON_DELETED_LOCAL, 0);
	reap(e);
	return TRUE;
}

gboolean
ike_engine_dpd(IkeEngine *e, guint32 id, gint64 now)
{
	return queue_on(e, id, IKE_PENDING_DPD, NULL, 0, now);
}

gboolean
ike_engine_rekey_child(IkeEngine *e, guint32 id, guint32 spi_in, gint64 now)
{
	IkeSa *sa = ike_engine_get_sa(e, id);

	e->now = now;
	if (!sa || sa->rekeyed || !ike_sa_find_child(sa, spi_in, TRUE))
		return FALSE;
	if (!child_pending(sa, IKE_PENDING_REKEY_CHILD, spi_in))
		return queue_on(e, id, IKE_PENDING_REKEY_CHILD, NULL, spi_in, now);
	return TRUE;
}

gboolean
ike_engine_rekey_ike(IkeEngine *e, guint32 id, gint64 now)
{
	IkeSa *sa = ike_engine_get_sa(e, id);

	e->now = now;
	if (!sa || sa->state != IKE_SA_STATE_ESTABLISHED || sa->rekeyed)
		return FALSE;
	if (!sa->rekeying)
		queue_rekey_ike(sa);
	start_next(sa, now);
	reap(e);
	return TRUE;
}

gboolean
ike_engine_child_expired(IkeEngine *e, guint32 spi, gboolean hard, gint64 now)
{
	GHashTableIter it;
	gpointer value;

	e->now = now;
	g_hash_table_iter_init(&it, e->sas);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		IkeSa *sa = value;
		ChildSa *c = ike_sa_find_child(sa, spi, TRUE);

		if (!c)
			c = ike_sa_find_child(sa, spi, FALSE);
		if (!c)
			continue;
		if (hard)
			return ike_engine_delete_child(e, sa->id, c->spi_in, now);
		/* a replaced child is not rekeyed again; its Delete is on its way */
		return c->state != CHILD_SA_STATE_INSTALLED ||
		       ike_engine_rekey_child(e, sa->id, c->spi_in, now);
	}
	return FALSE;
}
