/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ike_sa.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* seconds the kernel keeps an SA past its life_time (the engine deletes it first) */
#define KERNEL_HARD_MARGIN_S 30
#define IKE_SA_EVENT_MESSAGE_ID "7f3c2a9e5b1d4e08a6c4f2d19b0e7a53"

const char *
ike_sa_state_to_string(IkeSaState state)
{
	switch (state) {
	case IKE_SA_STATE_CREATED:
		return "CREATED";
	case IKE_SA_STATE_CONNECTING:
		return "CONNECTING";
	case IKE_SA_STATE_ESTABLISHED:
		return "ESTABLISHED";
	case IKE_SA_STATE_DELETING:
		return "DELETING";
	case IKE_SA_STATE_DESTROYING:
		return "DESTROYING";
	}
	return "UNKNOWN";
}

const char *
child_sa_state_to_string(ChildSaState state)
{
	switch (state) {
	case CHILD_SA_STATE_CREATED:
		return "CREATED";
	case CHILD_SA_STATE_INSTALLED:
		return "INSTALLED";
	case CHILD_SA_STATE_REKEYING:
		return "REKEYING";
	case CHILD_SA_STATE_REKEYED:
		return "REKEYED";
	case CHILD_SA_STATE_DELETING:
		return "DELETING";
	case CHILD_SA_STATE_DESTROYING:
		return "DESTROYING";
	}
	return "UNKNOWN";
}

void
ike_task_free(IkeTask *task)
{
	if (task)
		task->ops->free(task);
}

void
ike_task_set_error(IkeTask *task, guint16 notify, IkeReason reason)
{
	task->notify = notify;
	task->reason = reason;
}

static const char *
priority_of(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return "3";
	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		return "4";
	if (level & G_LOG_LEVEL_MESSAGE)
		return "5";
	if (level & G_LOG_LEVEL_INFO)
		return "6";
	return "7";
}

void
ike_sa_log(IkeSa *sa, GLogLevelFlags level, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	char id[16];
	va_list ap;

	if (!vpnd_log_wanted("ike", level))
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_snprintf(id, sizeof(id), "%u", sa->id);
	const GLogField fields[] = {
		{ "GLIB_DOMAIN", "ike", -1 }, { "PRIORITY", priority_of(level), -1 },
		{ "MESSAGE", msg, -1 },       { "VPND_CONN", sa->conn->name, -1 },
		{ "VPND_IKE_SA", id, -1 },
	};
	g_log_structured_array(level, fields, G_N_ELEMENTS(fields));
}

IkeSa *
ike_sa_new(IkeEngine *engine, guint32 id, ConnConfig *conn, gboolean initiator)
{
	IkeSa *sa = g_new0(IkeSa, 1);

	sa->engine = engine;
	sa->id = id;
	sa->conn = conn_config_ref(conn);
	sa->initiator = initiator;
	sa->state = IKE_SA_STATE_CREATED;
	sa->pending = g_queue_new();
	sa->children = g_ptr_array_new_with_free_func((GDestroyNotify)child_sa_free);
	sa->tasks = g_ptr_array_new_with_free_func((GDestroyNotify)ike_task_free);
	for (int i = 0; i < IKE_TIMER_COUNT; i++)
		sa->timers[i] = -1;
	sa->down_reason = IKE_REASON_FAILED;
	return sa;
}

void
ike_sa_inherit(IkeSa *sa, IkeSa *old)
{
	sa->local = old->local;
	sa->remote = old->remote;
	sa->nat_local = old->nat_local;
	sa->nat_remote = old->nat_remote;
	sa->last_inbound = old->last_inbound;
	if (old->peer_id)
		ike_engine_set_peer_id(
			sa, conn_identity_new_from_payload(
				    old->peer_id->type, g_bytes_get_data(old->peer_id->data, NULL),
				    old->peer_id->data ? g_bytes_get_size(old->peer_id->data) : 0));
}

static gboolean
is_child_work(IkePendingKind kind)
{
	return kind == IKE_PENDING_CREATE_CHILD || kind == IKE_PENDING_REKEY_CHILD ||
	       kind == IKE_PENDING_DELETE_CHILD;
}

void
ike_sa_move_children(IkeSa *from, IkeSa *to)
{
	while (from->children->len) {
		ChildSa *c = g_ptr_array_steal_index(from->children, 0);

		c->ike_sa = to;
		g_ptr_array_add(to->children, c);
	}
	/* queued rekeys, deletes and new children go with them */
	for (GList *l = from->pending->head, *next; l; l = next) {
		IkePending *p = l->data;

		next = l->next;
		if (!is_child_work(p->kind))
			continue;
		g_queue_delete_link(from->pending, l);
		g_queue_push_tail(to->pending, p);
	}
	to->undecided = FALSE;
	ike_engine_update_child_timer(from);
	ike_engine_update_child_timer(to);
}

void
ike_sa_free(IkeSa *sa)
{
	if (!sa)
		return;
	g_ptr_array_unref(sa->children);
	g_ptr_array_unref(sa->tasks);
	g_queue_free_full(sa->pending, g_free);
	g_clear_pointer(&sa->nonce_i, g_bytes_unref);
	g_clear_pointer(&sa->nonce_r, g_bytes_unref);
	g_clear_pointer(&sa->init_req, g_bytes_unref);
	g_clear_pointer(&sa->init_resp, g_bytes_unref);
	g_clear_pointer(&sa->last_response, g_bytes_unref);
	g_clear_pointer(&sa->request, g_bytes_unref);
	vpnd_ke_free(sa->ke);
	g_clear_pointer(&sa->peer_ke, g_bytes_unref);
	ike_keymat_free(sa->keymat);
	conn_identity_free(sa->peer_id);
	conn_config_unref(sa->conn);
	g_free(sa);
}

void
ike_sa_setup_done(IkeSa *sa)
{
	g_clear_pointer(&sa->nonce_i, g_bytes_unref);
	g_clear_pointer(&sa->nonce_r, g_bytes_unref);
	g_clear_pointer(&sa->init_req, g_bytes_unref);
	g_clear_pointer(&sa->init_resp, g_bytes_unref);
	g_clear_pointer(&sa->ke, vpnd_ke_free);
	if (sa->keymat)
		ike_keymat_auth_done(sa->keymat);
}

static void
emit_ike_updown(IkeSa *sa, gboolean up)
{
	IkeAction *a;

	/* a rekey is one IKE_REKEY event, not an up and a down */
	if (up ? sa->rekeyed_from != 0 : sa->down_reason == IKE_REASON_REKEYED)
		return;
	a = ike_action_new(IKE_ACTION_IKE_UPDOWN, sa);

	a->up = up;
	a->reason = up ? IKE_REASON_ESTABLISHED : sa->down_reason;
	a->notify = up ? 0 : sa->down_notify;
	a->nat_local = sa->nat_local;
	a->nat_remote = sa->nat_remote;
	ike_engine_emit(sa->engine, a);
}

void
ike_sa_set_state(IkeSa *sa, IkeSaState state)
{
	IkeSaState old = sa->state;

	if (old == state)
		return;
	g_return_if_fail(old != IKE_SA_STATE_DESTROYING);
	sa->state = state;
	if (!sa->initiator && (old == IKE_SA_STATE_CONNECTING || state == IKE_SA_STATE_CONNECTING))
		ike_engine_half_open(sa, state == IKE_SA_STATE_CONNECTING);
	switch (state) {
	case IKE_SA_STATE_ESTABLISHED:
		ike_sa_log(sa, G_LOG_LEVEL_INFO,
			   "IKE SA %u of \"%s\" established (%s, SPIs %016" G_GINT64_MODIFIER
			   "x_i %016" G_GINT64_MODIFIER "x_r%s%s)",
			   sa->id, sa->conn->name, sa->initiator ? "initiator" : "responder",
			   sa->spi_i, sa->spi_r, sa->nat_local ? ", NAT here" : "",
			   sa->nat_remote ? ", NAT at peer" : "");
		emit_ike_updown(sa, TRUE);
		break;
	case IKE_SA_STATE_DESTROYING:
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "IKE SA %u of \"%s\" down: %s", sa->id,
			   sa->conn->name, ike_reason_to_string(sa->down_reason));
		emit_ike_updown(sa, FALSE);
		break;
	case IKE_SA_STATE_CREATED:
	case IKE_SA_STATE_CONNECTING:
	case IKE_SA_STATE_DELETING:
		ike_sa_log(sa, G_LOG_LEVEL_DEBUG, "IKE SA %u: %s -> %s", sa->id,
			   ike_sa_state_to_string(old), ike_sa_state_to_string(state));
		break;
	}
}

void
ike_sa_set_down_reason(IkeSa *sa, IkeReason reason, guint16 notify)
{
	sa->down_reason = reason;
	sa->down_notify = notify;
}

void
ike_sa_queue(IkeSa *sa, IkePendingKind kind, ChildConfig *child, guint32 spi)
{
	IkePending *p = g_new0(IkePending, 1);

	p->kind = kind;
	p->child = child;
	p->spi = spi;
	g_queue_push_tail(sa->pending, p);
}

/* ---- Child SAs ---- */

ChildSa *
child_sa_new(IkeSa *sa, ChildConfig *cfg)
{
	ChildSa *child = g_new0(ChildSa, 1);

	child->ike_sa = sa;
	child->cfg = cfg;
	child->mode = cfg ? cfg->mode : VPND_MODE_TUNNEL;
	child->state = CHILD_SA_STATE_CREATED;
	return child;
}

void
child_sa_free(ChildSa *child)
{
	if (!child)
		return;
	g_clear_pointer(&child->local_ts, g_array_unref);
	g_clear_pointer(&child->remote_ts, g_array_unref);
	vpnd_secret_free(child->encr_in);
	vpnd_secret_free(child->integ_in);
	vpnd_secret_free(child->encr_out);
	vpnd_secret_free(child->integ_out);
	g_free(child);
}

/* The SA of one direction; keys and selectors copied into the action. */
static IkeAction *
sa_action(ChildSa *child, IkeActionKind kind, gboolean in)
{
	IkeSa *sa = child->ike_sa;
	IkeAction *a = ike_action_new(kind, sa);
	VpndSaParams *p = &a->sa;
	guint32 spi = in ? child->spi_in : child->spi_out;

	a->child_name_owned = g_strdup(child->cfg ? child->cfg->name : "");
	a->child_name = a->child_name_owned;
	p->spi = spi;
	p->protocol = IPPROTO_ESP;
	p->dir = in ? VPND_DIR_IN : VPND_DIR_OUT;
	p->mode = child->mode;
	p->reqid = child->reqid;
	p->replay_window = child->cfg ? child->cfg->replay_window : 0;
	p->src = in ? sa->remote : sa->local;
	p->dst = in ? sa->local : sa->remote;
	p->encap = sa->nat_local || sa->nat_remote;
	a->sa_key = (VpndSaId){ .spi = spi, .protocol = IPPROTO_ESP, .dst = p->dst };
	if (kind == IKE_ACTION_DEL_SA)
		return a;
	const VpndSecret *ek = in ? child->encr_in : child->encr_out;
	const VpndSecret *ik = in ? child->integ_in : child->integ_out;
	gsize ik_len = ik ? ik->len : 0;
	a->keys = vpnd_secret_new(ek->len + ik_len);
	memcpy(a->keys->data, ek->data, ek->len);
	if (ik_len)
		memcpy(a->keys->data + ek->len, ik->data, ik_len);
	p->encr_id = child->alg.encr;
	p->encr_key_bits = child->alg.encr_bits;
	p->encr_key = a->keys->data;
	p->encr_key_len = ek->len;
	p->integ_id = child->alg.integ;
	p->integ_key = ik_len ? a->keys->data + ek->len : NULL;
	p->integ_key_len = ik_len;
	p->esn = child->alg.esn;
	/* the engine deletes at life_time; the kernel's hard limit is the safety net when
	 * vpnd is gone by then */
	if (child->expire_at)
		p->hard.seconds = (guint64)MAX(child->expire_at - ike_engine_now(sa->engine), 0) /
					  G_USEC_PER_SEC +
				  KERNEL_HARD_MARGIN_S;
	guint nl = child->local_ts->len, nr = child->remote_ts->len;
	a->ts = g_new0(VpndTs, nl + nr);
	memcpy(a->ts, child->local_ts->data, nl * sizeof(VpndTs));
	memcpy(a->ts + nl, child->remote_ts->data, nr * sizeof(VpndTs));
	p->local_ts = a->ts;
	p->n_local_ts = nl;
	p->remote_ts = a->ts + nl;
	p->n_remote_ts = nr;
	return a;
}

static void
emit_policies(ChildSa *child, IkeActionKind kind)
{
	IkeSa *sa = child->ike_sa;
	static const VpndDirection dirs[] = { VPND_DIR_OUT, VPND_DIR_IN, VPND_DIR_FWD };
	guint n_dirs = child->mode == VPND_MODE_TUNNEL ? 3 : 2;

	for (guint l = 0; l < child->local_ts->len; l++) {
		for (guint r = 0; r < child->remote_ts->len; r++) {
			const VpndTs *lt = &g_array_index(child->local_ts, VpndTs, l);
			const VpndTs *rt = &g_array_index(child->remote_ts, VpndTs, r);

			if (lt->family != rt->family)
				continue;
			for (guint d = 0; d < n_dirs; d++) {
				IkeAction *a = ike_action_new(kind, sa);
				VpndPolicyParams *p = &a->policy;
				gboolean out = dirs[d] == VPND_DIR_OUT;

				p->dir = dirs[d];
				p->action = VPND_POLICY_PROTECT;
				p->mode = child->mode;
				p->reqid = child->reqid;
				p->src_ts = out ? *lt : *rt;
				p->dst_ts = out ? *rt : *lt;
				p->src = out ? sa->local : sa->remote;
				p->dst = out ? sa->remote : sa->local;
				ike_engine_emit(sa->engine, a);
			}
		}
	}
}

static IkeAction *
child_event(ChildSa *child, IkeActionKind kind, gboolean up, IkeReason reason)
{
	IkeAction *a = ike_action_new(kind, child->ike_sa);

	a->child_name_owned = g_strdup(child->cfg ? child->cfg->name : "");
	a->child_name = a->child_name_owned;
	a->up = up;
	a->reason = reason;
	a->spi_in = child->spi_in;
	a->spi_out = child->spi_out;
	return a;
}

static void
emit_child_updown(ChildSa *child, gboolean up, IkeReason reason)
{
	ike_engine_emit(child->ike_sa->engine,
			child_event(child, IKE_ACTION_CHILD_UPDOWN, up, reason));
}

static void
emit_child_rekey(ChildSa *child)
{
	IkeAction *a = child_event(child, IKE_ACTION_CHILD_REKEY, TRUE, IKE_REASON_REKEYED);
	ChildSa *old = ike_sa_find_child(child->ike_sa, child->rekey_of, TRUE);

	a->old_spi_in = child->rekey_of;
	a->old_spi_out = old ? old->spi_out : 0;
	ike_engine_emit(child->ike_sa->engine, a);
}

/*
 * Policies belong to a reqid, which a rekeyed child passes on: they are installed with
 * the first child SA of a reqid and removed with the last one.
 */
static gboolean
reqid_shared(ChildSa *child)
{
	IkeSa *sa = child->ike_sa;

	for (guint i = 0; i < sa->children->len; i++) {
		ChildSa *c = g_ptr_array_index(sa->children, i);

		if (c != child && c->reqid == child->reqid && c->state != CHILD_SA_STATE_CREATED &&
		    c->state != CHILD_SA_STATE_DESTROYING)
			return TRUE;
	}
	return FALSE;
}

static void
child_installed(ChildSa *child)
{
	IkeSa *sa = child->ike_sa;

	child_sa_set_lifetimes(child);
	child->unique_id = ike_engine_next_child_id(sa->engine);
	child->installed_at = ike_engine_now(sa->engine);
	ike_engine_emit(sa->engine, sa_action(child, IKE_ACTION_ADD_SA, TRUE));
	ike_engine_emit(sa->engine, sa_action(child, IKE_ACTION_ADD_SA, FALSE));
	/* the kernel has them now: the engine never needs them again (a rekey derives new) */
	g_clear_pointer(&child->encr_in, vpnd_secret_free);
	g_clear_pointer(&child->integ_in, vpnd_secret_free);
	g_clear_pointer(&child->encr_out, vpnd_secret_free);
	g_clear_pointer(&child->integ_out, vpnd_secret_free);
	if (!reqid_shared(child))
		emit_policies(child, IKE_ACTION_ADD_POLICY);
	ike_sa_log(sa, G_LOG_LEVEL_INFO,
		   "CHILD SA \"%s\" of \"%s\" %s (SPIs %08x_i %08x_o, %s)",
		   child->cfg ? child->cfg->name : "", sa->conn->name,
		   child->rekey_of ? "rekeyed" : "installed", child->spi_in, child->spi_out,
		   vpnd_encr_to_string(child->alg.encr));
	if (child->rekey_of)
		emit_child_rekey(child);
	else
		emit_child_updown(child, TRUE, IKE_REASON_ESTABLISHED);
	ike_engine_update_child_timer(sa);
}

static void
child_destroyed(ChildSa *child, ChildSaState old, IkeReason reason)
{
	IkeSa *sa = child->ike_sa;

	if (old != CHILD_SA_STATE_CREATED) {
		if (!reqid_shared(child))
			emit_policies(child, IKE_ACTION_DEL_POLICY);
		ike_engine_emit(sa->engine, sa_action(child, IKE_ACTION_DEL_SA, TRUE));
		ike_engine_emit(sa->engine, sa_action(child, IKE_ACTION_DEL_SA, FALSE));
	}
	ike_sa_log(sa, G_LOG_LEVEL_INFO,
		   "CHILD SA \"%s\" of \"%s\" (SPIs %08x_i %08x_o) down: %s",
		   child->cfg ? child->cfg->name : "", sa->conn->name, child->spi_in,
		   child->spi_out, ike_reason_to_string(child->replaced ? IKE_REASON_REKEYED : reason));
	/* a replaced child was reported by the CHILD_REKEY of its successor */
	if (!child->replaced)
		emit_child_updown(child, FALSE, reason);
}

void
child_sa_set_state(ChildSa *child, ChildSaState state, IkeReason reason)
{
	ChildSaState old = child->state;

	if (old == state)
		return;
	g_return_if_fail(old != CHILD_SA_STATE_DESTROYING);
	child->state = state;
	switch (state) {
	case CHILD_SA_STATE_INSTALLED:
		if (old == CHILD_SA_STATE_CREATED)
			child_installed(child);
		break;
	case CHILD_SA_STATE_REKEYED:
		child->replaced = TRUE;
		break;
	case CHILD_SA_STATE_DESTROYING:
		child_destroyed(child, old, reason);
		break;
	case CHILD_SA_STATE_CREATED:
	case CHILD_SA_STATE_REKEYING:
	case CHILD_SA_STATE_DELETING:
		break;
	}
	ike_engine_update_child_timer(child->ike_sa);
}

/* rekey_time minus up to rand_time; life_time (default 110 % of rekey_time) hard. */
void
child_sa_set_lifetimes(ChildSa *child)
{
	IkeEngine *e = child->ike_sa->engine;
	const ChildConfig *cfg = child->cfg;
	gint64 now = ike_engine_now(e);
	guint64 rekey, life, rand; /* µs: 10 % of a few seconds is not 0 */

	child->rekey_at = child->expire_at = 0;
	if (!cfg || (!cfg->rekey_time && !cfg->life_time))
		return;
	rekey = (guint64)cfg->rekey_time * G_USEC_PER_SEC;
	life = cfg->life_time ? (guint64)cfg->life_time * G_USEC_PER_SEC : rekey + rekey / 10;
	/* a life_time not above rekey_time: rekey before it ends, not when (the expiry wins) */
	if (rekey >= life)
		rekey = life - life / 10;
	rand = cfg->rand_time ? (guint64)cfg->rand_time * G_USEC_PER_SEC : life - rekey;
	if (rand >= rekey)
		rand = rekey / 2;
	if (rekey)
		child->rekey_at = now + (gint64)(rekey - ike_engine_random_below(e, rand + 1));
	child->expire_at = now + (gint64)life;
}

ChildSa *
ike_sa_find_child(IkeSa *sa, guint32 spi, gboolean inbound)
{
	for (guint i = 0; i < sa->children->len; i++) {
		ChildSa *c = g_ptr_array_index(sa->children, i);

		if ((inbound ? c->spi_in : c->spi_out) == spi)
			return c;
	}
	return NULL;
}

gboolean
child_sa_in_rekey(ChildSa *child)
{
	IkeSa *sa = child->ike_sa;

	if (child->rekey_of && ike_sa_find_child(sa, child->rekey_of, TRUE))
		return TRUE;
	for (guint i = 0; i < sa->children->len; i++) {
		ChildSa *c = g_ptr_array_index(sa->children, i);

		if (c != child && c->rekey_of == child->spi_in &&
		    c->state != CHILD_SA_STATE_DESTROYING && c->state != CHILD_SA_STATE_CREATED)
			return TRUE;
	}
	return FALSE;
}

void
ike_sa_remove_child(IkeSa *sa, ChildSa *child, IkeReason reason)
{
	child_sa_set_state(child, CHILD_SA_STATE_DESTROYING, reason);
	g_ptr_array_remove(sa->children, child);
}

static gint
nonce_cmp(GBytes *a, GBytes *b)
{
	gsize la, lb;
	const guint8 *pa = g_bytes_get_data(a, &la), *pb = g_bytes_get_data(b, &lb);
	gint c = memcmp(pa, pb, MIN(la, lb));

	return c ? c : (la > lb) - (la < lb);
}

static GBytes *
lower_nonce(GBytes *a, GBytes *b)
{
	return nonce_cmp(a, b) <= 0 ? a : b;
}

gboolean
ike_rekey_lost(GBytes *ni, GBytes *nr, GBytes *peer_ni, GBytes *peer_nr)
{
	return nonce_cmp(lower_nonce(ni, nr), lower_nonce(peer_ni, peer_nr)) < 0;
}
