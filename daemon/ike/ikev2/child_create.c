/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A child SA: in IKE_AUTH (the first one) or in CREATE_CHILD_SA (more, optional PFS).
 * Proposal selection, traffic-selector narrowing (RFC 7296 §2.9), KEYMAT (§2.17).
 *
 *   IKE_AUTH        { …, SA, TSi, TSr, [N(USE_TRANSPORT_MODE)] }  -->
 *   CREATE_CHILD_SA { SA, Ni, [KEi], TSi, TSr }  -->
 *                  <--  { SA, [Nr, KEr,] TSi, TSr }  or  <--  { N(TS_UNACCEPTABLE) } …
 *
 * Rekeying a child (RFC 7296 §1.3.3): the same with N(REKEY_SA, ESP, old inbound SPI);
 * the new child takes the old one's reqid (and so its policies), the initiator deletes
 * the old one once the new one is installed. Both sides rekeying the same child at once
 * (§2.8.1): both exchanges complete, and the new child made by the exchange with the
 * lowest of the four nonces is redundant; whoever started that exchange deletes it,
 * the other side deletes the old child.
 */
#include <string.h>

#include "ike_msg.h"
#include "ike_sa.h"

#define NONCE_LEN 32

typedef struct {
	IkeTask task;
	ChildConfig *cfg; /* (transfer none) */
	gboolean in_ike_auth;
	ChildSa *child;            /* until handed to the IKE SA */
	GArray *my_tsi, *my_tsr;   /* initiator: what we proposed */
	GBytes *nonce_i, *nonce_r; /* CREATE_CHILD_SA */
	VpndKe *ke;                /* CREATE_CHILD_SA with PFS */
	VpndSecret *gir;
	guint16 error; /* responder: the notify that refuses the child */
	guint32 rekey_spi; /* rekey: our inbound SPI of the child replaced */
	/* initiator of a rekey that collided: the peer's exchange for the same child */
	guint32 coll_spi; /* our inbound SPI of the child it made */
	GBytes *coll_ni, *coll_nr;
} ChildCreateTask;

static const IkeTaskOps child_create_ops;

static IkeReason
reason_of(guint16 notify)
{
	switch (notify) {
	case IKE_NOTIFY_TS_UNACCEPTABLE:
		return IKE_REASON_TS_UNACCEPTABLE;
	case IKE_NOTIFY_NO_PROPOSAL_CHOSEN:
		return IKE_REASON_NO_PROPOSAL;
	case IKE_NOTIFY_INVALID_KE_PAYLOAD:
		return IKE_REASON_INVALID_KE;
	default:
		return IKE_REASON_FAILED;
	}
}

static gboolean
alloc_spi(IkeSa *sa, guint32 *spi)
{
	do {
		if (!ike_engine_random(sa->engine, (guint8 *)spi, sizeof(*spi)))
			return FALSE;
	} while (*spi < 0x100); /* SPIs 1-255 are reserved by IANA (RFC 4303 §2.1) */
	return TRUE;
}

static GBytes *
random_nonce(IkeSa *sa)
{
	guint8 buf[NONCE_LEN];

	return ike_engine_random(sa->engine, buf, sizeof(buf)) ? g_bytes_new(buf, sizeof(buf))
							       : NULL;
}

static void
spi_be(guint32 spi, guint8 out[4])
{
	out[0] = (guint8)(spi >> 24);
	out[1] = (guint8)(spi >> 16);
	out[2] = (guint8)(spi >> 8);
	out[3] = (guint8)spi;
}

/* KEYMAT split: SK_ei | SK_ai (initiator to responder) | SK_er | SK_ar. */
static gboolean
derive_keys(ChildCreateTask *t, IkeSa *sa, gboolean initiator)
{
	ChildSa *c = t->child;
	gsize e = ike_proposal_encr_key_len(&c->alg);
	gsize a = c->alg.integ ? ike_proposal_integ_key_len(c->alg.integ) : 0;
	GBytes *ni = t->in_ike_auth ? sa->nonce_i : t->nonce_i;
	GBytes *nr = t->in_ike_auth ? sa->nonce_r : t->nonce_r;
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndSecret) km =
		ike_keymat_child(sa->keymat, t->gir, ni, nr, 2 * (e + a), &error);

	if (!km) {
		ike_sa_log(sa, G_LOG_LEVEL_WARNING, "child KEYMAT: %s", error->message);
		return FALSE;
	}
	VpndSecret *ei = vpnd_secret_new_from_data(km->data, e);
	VpndSecret *ai = a ? vpnd_secret_new_from_data(km->data + e, a) : NULL;
	VpndSecret *er = vpnd_secret_new_from_data(km->data + e + a, e);
	VpndSecret *ar = a ? vpnd_secret_new_from_data(km->data + 2 * e + a, a) : NULL;
	c->encr_out = initiator ? ei : er;
	c->integ_out = initiator ? ai : ar;
	c->encr_in = initiator ? er : ei;
	c->integ_in = initiator ? ar : ai;
	return TRUE;
}

static void
install(ChildCreateTask *t, IkeSa *sa)
{
	ChildSa *c = g_steal_pointer(&t->child);

	g_ptr_array_add(sa->children, c);
	child_sa_set_state(c, CHILD_SA_STATE_INSTALLED, IKE_REASON_ESTABLISHED);
}

/* A child that did not come up: report it (the IKE SA is not affected). */
static void rekey_failed(ChildCreateTask *t, IkeSa *sa, guint16 notify);

static void
child_failed(ChildCreateTask *t, IkeSa *sa, guint16 notify)
{
	if (t->rekey_spi) {
		rekey_failed(t, sa, notify);
		return;
	}
	if (!t->child)
		t->child = child_sa_new(sa, t->cfg);
	ike_sa_log(sa, G_LOG_LEVEL_INFO, "child SA refused: %s",
		   notify ? ike_notify_type_to_string(notify) : "bad response");
	child_sa_set_state(t->child, CHILD_SA_STATE_DESTROYING, reason_of(notify));
	g_clear_pointer(&t->child, child_sa_free);
}

static gboolean
new_ke(ChildCreateTask *t, IkeSa *sa, guint16 group)
{
	g_autoptr(GError) error = NULL;

	t->ke = crypto_ke_new(ike_engine_get_host(sa->engine), group, CRYPTO_KE_NONE, &error);
	return t->ke != NULL;
}

static gboolean
compute_gir(ChildCreateTask *t, const IkePayload *ke)
{
	g_autoptr(GError) error = NULL;
	gsize len;
	const guint8 *data = ike_payload_get_data(ke, &len);

	t->gir = vpnd_ke_compute(t->ke, data, len, &error);
	return t->gir != NULL;
}

/* ---- rekeying ---- */

static GArray *
ts_copy(GArray *ts)
{
	GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(VpndTs), ts->len);

	g_array_append_vals(out, ts->data, ts->len);
	return out;
}

/* Initiator: the new child inherits the old one's config, reqid and selectors. */
static gboolean
start_rekey(ChildCreateTask *t, IkeSa *sa)
{
	ChildSa *old = ike_sa_find_child(sa, t->rekey_spi, TRUE);

	if (!old || old->state != CHILD_SA_STATE_INSTALLED)
		return FALSE;
	t->cfg = old->cfg;
	t->child = child_sa_new(sa, old->cfg);
	t->child->reqid = old->reqid;
	t->child->rekey_of = old->spi_in;
	if (!alloc_spi(sa, &t->child->spi_in))
		return FALSE;
	t->my_tsi = ts_copy(old->local_ts);
	t->my_tsr = ts_copy(old->remote_ts);
	ike_sa_log(sa, G_LOG_LEVEL_INFO, "rekeying CHILD SA %08x_i", old->spi_in);
	child_sa_set_state(old, CHILD_SA_STATE_REKEYING, IKE_REASON_REKEYED);
	return TRUE;
}

static void
queue_delete(IkeSa *sa, ChildSa *c)
{
	ike_sa_queue(sa, IKE_PENDING_DELETE_CHILD, NULL, c->spi_in);
}

/* Initiator: the new child is installed; which one of old, new, and the peer's goes. */
static void
finish_rekey(ChildCreateTask *t, IkeSa *sa, ChildSa *new_child)
{
	ChildSa *old = ike_sa_find_child(sa, t->rekey_spi, TRUE);
	ChildSa *theirs = t->coll_spi ? ike_sa_find_child(sa, t->coll_spi, TRUE) : NULL;

	if (t->coll_spi &&
	    ike_rekey_lost(t->nonce_i, t->nonce_r, t->coll_ni, t->coll_nr)) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "rekey collision: deleting our redundant %08x_i",
			   new_child->spi_in);
		child_sa_set_state(new_child, CHILD_SA_STATE_REKEYED, IKE_REASON_REKEYED);
		queue_delete(sa, new_child);
		if (old)
			child_sa_set_state(old, CHILD_SA_STATE_REKEYED, IKE_REASON_REKEYED);
		return;
	}
	if (theirs) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "rekey collision: the peer deletes %08x_i",
			   theirs->spi_in);
		child_sa_set_state(theirs, CHILD_SA_STATE_REKEYED, IKE_REASON_REKEYED);
	}
	if (old) {
		child_sa_set_state(old, CHILD_SA_STATE_REKEYED, IKE_REASON_REKEYED);
		queue_delete(sa, old);
	}
}

/* Initiator: the rekey did not happen; the old child stays (or goes, see below). */
static void
rekey_failed(ChildCreateTask *t, IkeSa *sa, guint16 notify)
{
	ChildSa *old = ike_sa_find_child(sa, t->rekey_spi, TRUE);

	ike_sa_log(sa, G_LOG_LEVEL_INFO, "rekeying CHILD SA %08x_i failed: %s", t->rekey_spi,
		   notify ? ike_notify_type_to_string(notify) : "bad response");
	g_clear_pointer(&t->child, child_sa_free);
	if (!old || old->state != CHILD_SA_STATE_REKEYING)
		return;
	if (t->coll_spi) {
		/* the peer's rekey of it won: it deletes the old child */
		child_sa_set_state(old, CHILD_SA_STATE_REKEYED, IKE_REASON_REKEYED);
		return;
	}
	child_sa_set_state(old, CHILD_SA_STATE_INSTALLED, IKE_REASON_ESTABLISHED);
	if (notify == IKE_NOTIFY_CHILD_SA_NOT_FOUND) {
		queue_delete(sa, old); /* the peer no longer has it */
	} else if (notify == IKE_NOTIFY_TEMPORARY_FAILURE) {
		/* busy (RFC 7296 §2.25): again in a few seconds, randomised against a repeat */
		gint64 now = ike_engine_now(sa->engine);

		old->rekey_at = now + G_USEC_PER_SEC * 2 +
				(gint64)ike_engine_random_below(sa->engine, 8 * G_USEC_PER_SEC);
		ike_engine_update_child_timer(sa);
	}
}

/* Responder: the peer rekeys a child we are rekeying too; our task in flight decides. */
static void
note_collision(IkeSa *sa, ChildCreateTask *resp, ChildSa *new_child)
{
	for (guint i = 0; i < sa->tasks->len; i++) {
		IkeTask *task = g_ptr_array_index(sa->tasks, i);
		ChildCreateTask *ours = (ChildCreateTask *)task;

		if (task->ops != &child_create_ops || ours->rekey_spi != resp->rekey_spi)
			continue;
		ours->coll_spi = new_child->spi_in;
		g_clear_pointer(&ours->coll_ni, g_bytes_unref);
		g_clear_pointer(&ours->coll_nr, g_bytes_unref);
		ours->coll_ni = g_bytes_ref(resp->nonce_i);
		ours->coll_nr = g_bytes_ref(resp->nonce_r);
		return;
	}
}

/* Responder: N(REKEY_SA) names one of our children by its outbound SPI. */
static guint16
find_rekeyed(ChildCreateTask *t, IkeSa *sa, IkeMsg *msg)
{
	IkePayload *n = ike_msg_find_notify(msg, IKE_NOTIFY_REKEY_SA);
	ChildSa *old;
	guint32 spi;

	if (!n)
		return 0;
	if (n->notify.protocol != IKE_PROTOCOL_ESP || n->notify.spi_len != 4)
		return IKE_NOTIFY_CHILD_SA_NOT_FOUND;
	spi = (guint32)n->notify.spi[0] << 24 | (guint32)n->notify.spi[1] << 16 |
	      (guint32)n->notify.spi[2] << 8 | n->notify.spi[3];
	old = ike_sa_find_child(sa, spi, FALSE);
	if (!old)
		return IKE_NOTIFY_CHILD_SA_NOT_FOUND;
	if (old->state != CHILD_SA_STATE_INSTALLED && old->state != CHILD_SA_STATE_REKEYING)
		return IKE_NOTIFY_TEMPORARY_FAILURE; /* already replaced or being deleted */
	t->rekey_spi = old->spi_in;
	return 0;
}

/* Responder: the new child is installed; the old one waits for the peer's Delete. */
static void
rekeyed_by_peer(ChildCreateTask *t, IkeSa *sa, ChildSa *new_child)
{
	ChildSa *old = ike_sa_find_child(sa, t->rekey_spi, TRUE);

	if (!old)
		return;
	if (old->state == CHILD_SA_STATE_REKEYING)
		note_collision(sa, t, new_child);
	else
		child_sa_set_state(old, CHILD_SA_STATE_REKEYED, IKE_REASON_REKEYED);
}

/* ---- initiator ---- */

static IkeTaskStatus
child_build_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	ChildCreateTask *t = (ChildCreateTask *)task;
	IkeProposalKeMode ke_mode = t->in_ike_auth ? IKE_PROPOSAL_KE_IGNORE : IKE_PROPOSAL_KE_USE;
	guint8 spi[4];
	IkePayload *sa_pl;

	if (t->rekey_spi && !t->child && !start_rekey(t, sa))
		return IKE_TASK_FAIL; /* the child is gone or busy: nothing to send */
	if (!t->cfg)
		return IKE_TASK_DONE; /* no child requested (childless IKE SA) */
	if (!t->child) {
		t->child = child_sa_new(sa, t->cfg);
		t->child->reqid = ike_engine_next_reqid(sa->engine);
		if (!alloc_spi(sa, &t->child->spi_in))
			return IKE_TASK_FAIL;
		g_clear_pointer(&t->my_tsi, g_array_unref);
		g_clear_pointer(&t->my_tsr, g_array_unref);
		t->my_tsi = ike_ts_from_config(t->cfg->local_ts, &sa->local);
		t->my_tsr = ike_ts_from_config(t->cfg->remote_ts, &sa->remote);
	}
	if (t->rekey_spi) {
		guint8 old[4];

		spi_be(t->rekey_spi, old);
		ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_REKEY_SA, IKE_PROTOCOL_ESP, old, 4, NULL,
				   0);
	}
	spi_be(t->child->spi_in, spi);
	sa_pl = ike_msg_add_payload(msg, IKE_PAYLOAD_SA, TRUE);
	ike_proposal_add_all(sa_pl, t->cfg->esp_proposals, IKE_PROTOCOL_ESP, spi, 4, ke_mode);
	if (!t->in_ike_auth) {
		guint16 group = ike_proposal_first_ke(t->cfg->esp_proposals);

		if (!t->nonce_i && !(t->nonce_i = random_nonce(sa)))
			return IKE_TASK_FAIL;
		ike_msg_add_nonce(msg, TRUE, g_bytes_get_data(t->nonce_i, NULL),
				  g_bytes_get_size(t->nonce_i));
		if (group && !t->ke && !new_ke(t, sa, group))
			return IKE_TASK_FAIL;
		if (t->ke)
			ike_msg_add_ke(msg, TRUE, t->ke->id, vpnd_ke_get_public(t->ke),
				       t->ke->public_len);
	}
	ike_ts_add_payload(msg, IKE_PAYLOAD_TSI, t->my_tsi);
	ike_ts_add_payload(msg, IKE_PAYLOAD_TSR, t->my_tsr);
	if (t->cfg->mode == VPND_MODE_TRANSPORT)
		ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_USE_TRANSPORT_MODE, 0, NULL, 0, NULL, 0);
	return IKE_TASK_DONE;
}

static IkeTaskStatus
child_process_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	ChildCreateTask *t = (ChildCreateTask *)task;
	IkeProposalKeMode ke_mode = t->in_ike_auth ? IKE_PROPOSAL_KE_IGNORE : IKE_PROPOSAL_KE_USE;
	IkePayload *err = ike_msg_find_error_notify(msg);
	IkePayload *sa_pl = ike_msg_find(msg, IKE_PAYLOAD_SA);
	g_autoptr(GArray) tsi = NULL, tsr = NULL;

	if (!t->cfg)
		return IKE_TASK_DONE;
	if (err || !sa_pl || sa_pl->sa.proposals->len != 1) {
		child_failed(t, sa, err ? err->notify.type : 0);
		return IKE_TASK_DONE;
	}
	ChildSa *c = t->child;
	tsi = ike_ts_from_payload(ike_msg_find(msg, IKE_PAYLOAD_TSI));
	tsr = ike_ts_from_payload(ike_msg_find(msg, IKE_PAYLOAD_TSR));
	if (!ike_proposal_select(t->cfg->esp_proposals, &sa_pl->sa, IKE_PROTOCOL_ESP, FALSE,
				 ke_mode, &c->alg)) {
		child_failed(t, sa, IKE_NOTIFY_NO_PROPOSAL_CHOSEN);
		return IKE_TASK_DONE;
	}
	if (!tsi->len || !tsr->len || !ike_ts_is_subset(tsi, t->my_tsi) ||
	    !ike_ts_is_subset(tsr, t->my_tsr)) {
		child_failed(t, sa, IKE_NOTIFY_TS_UNACCEPTABLE);
		return IKE_TASK_DONE;
	}
	if (!t->in_ike_auth) {
		IkePayload *nonce = ike_msg_find(msg, IKE_PAYLOAD_NONCE);
		IkePayload *ke = ike_msg_find(msg, IKE_PAYLOAD_KE);

		if (!nonce || (c->alg.ke && (!t->ke || !ke || ke->ke.group != c->alg.ke ||
					     !compute_gir(t, ke)))) {
			child_failed(t, sa, IKE_NOTIFY_INVALID_KE_PAYLOAD);
			return IKE_TASK_DONE;
		}
		t->nonce_r = g_bytes_ref(nonce->nonce.data);
	}
	c->spi_out = c->alg.spi;
	c->local_ts = g_steal_pointer(&tsi);
	c->remote_ts = g_steal_pointer(&tsr);
	c->mode = ike_msg_find_notify(msg, IKE_NOTIFY_USE_TRANSPORT_MODE) ? VPND_MODE_TRANSPORT
									  : VPND_MODE_TUNNEL;
	if (!derive_keys(t, sa, TRUE)) {
		child_failed(t, sa, 0);
		return IKE_TASK_DONE;
	}
	install(t, sa);
	if (t->rekey_spi)
		finish_rekey(t, sa, c);
	return IKE_TASK_DONE;
}

/* ---- responder ---- */

/* The first configured child whose proposals and selectors fit. */
static guint16
choose_child(ChildCreateTask *t, IkeSa *sa, IkeMsg *msg)
{
	IkePayload *sa_pl = ike_msg_find(msg, IKE_PAYLOAD_SA);
	IkeProposalKeMode ke_mode = t->in_ike_auth ? IKE_PROPOSAL_KE_IGNORE : IKE_PROPOSAL_KE_USE;
	g_autoptr(GArray) tsi = ike_ts_from_payload(ike_msg_find(msg, IKE_PAYLOAD_TSI));
	g_autoptr(GArray) tsr = ike_ts_from_payload(ike_msg_find(msg, IKE_PAYLOAD_TSR));
	guint16 error = IKE_NOTIFY_NO_PROPOSAL_CHOSEN;
	IkeChosen chosen;

	ChildSa *old = t->rekey_spi ? ike_sa_find_child(sa, t->rekey_spi, TRUE) : NULL;

	if (!sa_pl)
		return IKE_NOTIFY_NO_PROPOSAL_CHOSEN;
	for (guint i = 0; i < sa->conn->children->len; i++) {
		ChildConfig *cfg = g_ptr_array_index(sa->conn->children, i);
		if (old && old->cfg != cfg)
			continue; /* a rekey keeps the child's config */
		g_autoptr(GArray) mine_l = ike_ts_from_config(cfg->local_ts, &sa->local);
		g_autoptr(GArray) mine_r = ike_ts_from_config(cfg->remote_ts, &sa->remote);

		if (!ike_proposal_select(cfg->esp_proposals, &sa_pl->sa, IKE_PROTOCOL_ESP,
					 sa->conn->prefer_initiator_proposals, ke_mode, &chosen))
			continue;
		g_autoptr(GArray) local = ike_ts_narrow(mine_l, tsr);
		g_autoptr(GArray) remote = ike_ts_narrow(mine_r, tsi);
		if (!local->len || !remote->len) {
			error = IKE_NOTIFY_TS_UNACCEPTABLE;
			continue;
		}
		t->cfg = cfg;
		t->child = child_sa_new(sa, cfg);
		t->child->alg = chosen;
		t->child->spi_out = chosen.spi;
		t->child->local_ts = g_steal_pointer(&local);
		t->child->remote_ts = g_steal_pointer(&remote);
		t->child->mode =
			cfg->mode == VPND_MODE_TRANSPORT &&
					ike_msg_find_notify(msg, IKE_NOTIFY_USE_TRANSPORT_MODE)
				? VPND_MODE_TRANSPORT
				: VPND_MODE_TUNNEL;
		return 0;
	}
	return error;
}

static IkeTaskStatus
child_process_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	ChildCreateTask *t = (ChildCreateTask *)task;

	if (t->in_ike_auth && !ike_msg_find(msg, IKE_PAYLOAD_SA))
		return IKE_TASK_DONE; /* childless (RFC 6023) */
	if (!t->in_ike_auth && ike_msg_is_ike_rekey(msg))
		return IKE_TASK_DONE; /* ike_rekey.c's */
	if (!t->in_ike_auth)
		t->error = find_rekeyed(t, sa, msg);
	if (!t->error)
		t->error = choose_child(t, sa, msg);
	if (!t->error && !t->in_ike_auth) {
		IkePayload *nonce = ike_msg_find(msg, IKE_PAYLOAD_NONCE);
		IkePayload *ke = ike_msg_find(msg, IKE_PAYLOAD_KE);
		guint16 group = t->child->alg.ke;

		t->nonce_i = g_bytes_ref(nonce->nonce.data);
		if (group && (!ke || ke->ke.group != group)) {
			task->notify_data[0] = (guint8)(group >> 8);
			task->notify_data[1] = (guint8)group;
			task->notify_data_len = 2;
			t->error = IKE_NOTIFY_INVALID_KE_PAYLOAD;
		} else if (group && (!new_ke(t, sa, group) || !compute_gir(t, ke))) {
			t->error = IKE_NOTIFY_INVALID_SYNTAX;
		} else if (!(t->nonce_r = random_nonce(sa))) {
			t->error = IKE_NOTIFY_NO_ADDITIONAL_SAS;
		}
	}
	if (t->error && !t->in_ike_auth) {
		g_clear_pointer(&t->child, child_sa_free);
		ike_task_set_error(task, t->error, reason_of(t->error));
		return IKE_TASK_FAIL;
	}
	return IKE_TASK_DONE;
}

static IkeTaskStatus
child_build_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	ChildCreateTask *t = (ChildCreateTask *)task;
	ChildSa *c = t->child;
	guint8 spi[4];

	if (t->error) {
		ike_msg_add_notify(msg, TRUE, t->error, 0, NULL, 0, NULL, 0);
		g_clear_pointer(&t->child, child_sa_free);
		return IKE_TASK_DONE;
	}
	if (!c)
		return IKE_TASK_DONE;
	ChildSa *old = t->rekey_spi ? ike_sa_find_child(sa, t->rekey_spi, TRUE) : NULL;
	c->reqid = old ? old->reqid : ike_engine_next_reqid(sa->engine);
	c->rekey_of = old ? old->spi_in : 0;
	if (!alloc_spi(sa, &c->spi_in) || !derive_keys(t, sa, FALSE)) {
		ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_NO_ADDITIONAL_SAS, 0, NULL, 0, NULL, 0);
		g_clear_pointer(&t->child, child_sa_free);
		return IKE_TASK_DONE;
	}
	spi_be(c->spi_in, spi);
	ike_proposal_add_chosen(ike_msg_add_payload(msg, IKE_PAYLOAD_SA, TRUE), &c->alg, spi, 4);
	if (!t->in_ike_auth) {
		ike_msg_add_nonce(msg, TRUE, g_bytes_get_data(t->nonce_r, NULL),
				  g_bytes_get_size(t->nonce_r));
		if (t->ke)
			ike_msg_add_ke(msg, TRUE, t->ke->id, vpnd_ke_get_public(t->ke),
				       t->ke->public_len);
	}
	/* TSi is the initiator's side: our remote */
	ike_ts_add_payload(msg, IKE_PAYLOAD_TSI, c->remote_ts);
	ike_ts_add_payload(msg, IKE_PAYLOAD_TSR, c->local_ts);
	if (c->mode == VPND_MODE_TRANSPORT)
		ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_USE_TRANSPORT_MODE, 0, NULL, 0, NULL, 0);
	install(t, sa);
	if (old)
		rekeyed_by_peer(t, sa, c);
	return IKE_TASK_DONE;
}

static void
child_free(IkeTask *task)
{
	ChildCreateTask *t = (ChildCreateTask *)task;

	child_sa_free(t->child);
	g_clear_pointer(&t->my_tsi, g_array_unref);
	g_clear_pointer(&t->my_tsr, g_array_unref);
	g_clear_pointer(&t->nonce_i, g_bytes_unref);
	g_clear_pointer(&t->nonce_r, g_bytes_unref);
	g_clear_pointer(&t->coll_ni, g_bytes_unref);
	g_clear_pointer(&t->coll_nr, g_bytes_unref);
	vpnd_ke_free(t->ke);
	vpnd_secret_free(t->gir);
	g_free(t);
}

static const IkeTaskOps child_create_ops = {
	.name = "child-create",
	.build_request = child_build_request,
	.process_request = child_process_request,
	.build_response = child_build_response,
	.process_response = child_process_response,
	.free = child_free,
};

IkeTask *
child_create_task_new(gboolean initiator, ChildConfig *cfg, gboolean in_ike_auth)
{
	ChildCreateTask *t = g_new0(ChildCreateTask, 1);

	t->task.ops = &child_create_ops;
	t->task.initiator = initiator;
	t->cfg = cfg;
	t->in_ike_auth = in_ike_auth;
	return &t->task;
}

IkeTask *
child_rekey_task_new(guint32 rekey_spi)
{
	ChildCreateTask *t = (ChildCreateTask *)child_create_task_new(TRUE, NULL, FALSE);

	t->rekey_spi = rekey_spi;
	return &t->task;
}
