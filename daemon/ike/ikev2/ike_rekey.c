/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18): a CREATE_CHILD_SA on the old SA makes
 * a new one with fresh SPIs, nonces and a key exchange; the children move to it and
 * the initiator deletes the old SA.
 *
 *   CREATE_CHILD_SA SK { SA(IKE, SPIi'), Ni, KEi }  -->
 *                  <--  CREATE_CHILD_SA SK { SA(IKE, SPIr'), Nr, KEr }
 *   INFORMATIONAL SK { D(IKE) }  -->   (on the old SA)
 *                  <--  INFORMATIONAL SK { }
 *
 * Both sides rekeying at once (§2.8.2): both exchanges complete; the new SA made by the
 * exchange with the lowest of the four nonces is redundant and deleted by whoever
 * started that exchange, the other side deletes the old SA. The children end up on the
 * surviving one.
 */
#include <string.h>

#include "ike_msg.h"
#include "ike_sa.h"

#define NONCE_LEN 32
#define IKE_SPI_LEN 8

typedef struct {
	IkeTask task;
	IkeSa *new_sa; /* until the engine adopts it */
	GBytes *nonce_i, *nonce_r;
	VpndKe *ke;
	VpndSecret *gir;
	gboolean skip; /* responder: a child SA exchange, not ours */
	const IkePayload *peer_ke; /* responder: (transfer none) the request's KE */
	/* initiator whose rekey collided: the new SA the peer's rekey made */
	guint32 coll_id;
	GBytes *coll_ni, *coll_nr;
} IkeRekeyTask;

static const IkeTaskOps ike_rekey_ops;

static GBytes *
random_nonce(IkeSa *sa)
{
	guint8 buf[NONCE_LEN];

	return ike_engine_random(sa->engine, buf, sizeof(buf)) ? g_bytes_new(buf, sizeof(buf))
							       : NULL;
}

static void
spi_to_be(guint64 spi, guint8 out[IKE_SPI_LEN])
{
	for (int i = 0; i < IKE_SPI_LEN; i++)
		out[i] = (guint8)(spi >> (56 - 8 * i));
}

/* The 8-byte SPI of proposal @number in @sa_pl; 0 when it has none. */
static guint64
proposal_spi(const IkeSaPayload *sa_pl, guint8 number)
{
	for (guint i = 0; i < sa_pl->proposals->len; i++) {
		const IkeProposal *p = &g_array_index(sa_pl->proposals, IkeProposal, i);
		guint64 spi = 0;

		if (p->number != number || p->spi_len != IKE_SPI_LEN)
			continue;
		for (int b = 0; b < IKE_SPI_LEN; b++)
			spi = spi << 8 | p->spi[b];
		return spi;
	}
	return 0;
}

static gboolean
new_ke(IkeRekeyTask *t, IkeSa *sa, guint16 group)
{
	g_autoptr(GError) error = NULL;

	g_clear_pointer(&t->ke, vpnd_ke_free);
	t->ke = crypto_ke_new(ike_engine_get_host(sa->engine), group, CRYPTO_KE_NONE, &error);
	if (!t->ke)
		ike_sa_log(sa, G_LOG_LEVEL_WARNING, "IKE rekey: %s", error->message);
	return t->ke != NULL;
}

/* g^ir, then the new SA's keys from the old SA's SK_d. */
static gboolean
derive(IkeRekeyTask *t, IkeSa *sa, const IkePayload *ke)
{
	g_autoptr(GError) error = NULL;
	IkeSa *n = t->new_sa;
	gsize len;
	const guint8 *data = ike_payload_get_data(ke, &len);

	t->gir = vpnd_ke_compute(t->ke, data, len, &error);
	if (t->gir)
		n->keymat = ike_keymat_new_rekey(sa->keymat, &n->alg, n->initiator, t->nonce_i,
						 t->nonce_r, t->gir, n->spi_i, n->spi_r, &error);
	g_clear_pointer(&t->ke, vpnd_ke_free);
	if (!n->keymat) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "IKE rekey: %s", error->message);
		return FALSE;
	}
	n->nonce_i = g_bytes_ref(t->nonce_i);
	n->nonce_r = g_bytes_ref(t->nonce_r);
	return TRUE;
}

/* Hands the new SA to the engine; the children move unless a collision is pending. */
static IkeSa *
adopt(IkeRekeyTask *t, IkeSa *sa, gboolean move_children)
{
	IkeSa *n = g_steal_pointer(&t->new_sa);

	ike_engine_adopt_rekeyed(sa->engine, n, sa, move_children);
	return n;
}

/* ---- initiator ---- */

static IkeTaskStatus
rekey_build_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	IkeRekeyTask *t = (IkeRekeyTask *)task;
	guint8 spi[IKE_SPI_LEN];

	if (sa->rekeyed || sa->state != IKE_SA_STATE_ESTABLISHED) {
		sa->rekeying = FALSE;
		return IKE_TASK_FAIL;
	}
	if (!t->new_sa) {
		t->new_sa = ike_sa_new(sa->engine, 0, sa->conn, TRUE);
		if (!ike_engine_new_ike_spi(sa->engine, &t->new_sa->spi_i) ||
		    !(t->nonce_i = random_nonce(sa)) || !new_ke(t, sa, sa->alg.ke)) {
			sa->rekeying = FALSE;
			return IKE_TASK_FAIL;
		}
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "rekeying IKE SA %u", sa->id);
	}
	spi_to_be(t->new_sa->spi_i, spi);
	ike_proposal_add_all(ike_msg_add_payload(msg, IKE_PAYLOAD_SA, TRUE), sa->conn->ike_proposals,
			     IKE_PROTOCOL_IKE, spi, sizeof(spi), IKE_PROPOSAL_KE_USE);
	ike_msg_add_nonce(msg, TRUE, g_bytes_get_data(t->nonce_i, NULL),
			  g_bytes_get_size(t->nonce_i));
	ike_msg_add_ke(msg, TRUE, t->ke->id, vpnd_ke_get_public(t->ke), t->ke->public_len);
	return IKE_TASK_DONE;
}

/* No new SA from our exchange: the peer's (collision) wins, or we try again later. */
static IkeTaskStatus
rekey_failed(IkeRekeyTask *t, IkeSa *sa, guint16 notify)
{
	IkeSa *theirs = t->coll_id ? ike_engine_get_sa(sa->engine, t->coll_id) : NULL;

	ike_sa_log(sa, G_LOG_LEVEL_INFO, "rekeying IKE SA %u failed: %s", sa->id,
		   notify ? ike_notify_type_to_string(notify) : "bad response");
	sa->rekeying = FALSE;
	if (theirs) {
		ike_sa_move_children(sa, theirs);
		ike_engine_ike_rekeyed(sa->engine, sa, theirs);
		return IKE_TASK_DONE;
	}
	if (notify == IKE_NOTIFY_TEMPORARY_FAILURE) {
		/* busy (RFC 7296 §2.25): again in a few seconds, randomised */
		sa->rekey_at = ike_engine_now(sa->engine) + 2 * G_USEC_PER_SEC +
			       (gint64)ike_engine_random_below(sa->engine, 8 * G_USEC_PER_SEC);
		ike_sa_arm_timer(sa, IKE_TIMER_REKEY, sa->rekey_at);
	}
	return IKE_TASK_DONE;
}

/* INVALID_KE_PAYLOAD: once more with the group the peer asks for, if we offer it. */
static IkeTaskStatus
retry_group(IkeRekeyTask *t, IkeSa *sa, const IkePayload *n)
{
	gsize len;
	const guint8 *d = ike_payload_get_data(n, &len);
	guint16 group = len == 2 ? (guint16)(d[0] << 8 | d[1]) : 0;

	if (!group || group == t->ke->id || !ike_proposal_has_ke(sa->conn->ike_proposals, group) ||
	    !new_ke(t, sa, group))
		return rekey_failed(t, sa, IKE_NOTIFY_INVALID_KE_PAYLOAD);
	return IKE_TASK_MORE;
}

static IkeTaskStatus
rekey_process_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	IkeRekeyTask *t = (IkeRekeyTask *)task;
	IkePayload *n = ike_msg_find_error_notify(msg);
	IkePayload *sa_pl = ike_msg_find(msg, IKE_PAYLOAD_SA);
	IkePayload *nonce = ike_msg_find(msg, IKE_PAYLOAD_NONCE);
	IkePayload *ke = ike_msg_find(msg, IKE_PAYLOAD_KE);
	IkeSa *fresh = t->new_sa;

	if (n && n->notify.type == IKE_NOTIFY_INVALID_KE_PAYLOAD)
		return retry_group(t, sa, n);
	if (n)
		return rekey_failed(t, sa, n->notify.type);
	if (!sa_pl || !nonce || !ke || sa_pl->sa.proposals->len != 1 ||
	    !ike_proposal_select(sa->conn->ike_proposals, &sa_pl->sa, IKE_PROTOCOL_IKE, FALSE,
				 IKE_PROPOSAL_KE_USE, &fresh->alg) ||
	    fresh->alg.ke != t->ke->id || ke->ke.group != t->ke->id ||
	    !(fresh->spi_r = proposal_spi(&sa_pl->sa, fresh->alg.number)))
		return rekey_failed(t, sa, IKE_NOTIFY_NO_PROPOSAL_CHOSEN);
	t->nonce_r = g_bytes_ref(nonce->nonce.data);
	if (!derive(t, sa, ke))
		return rekey_failed(t, sa, 0);
	sa->rekeying = FALSE;

	IkeSa *theirs = t->coll_id ? ike_engine_get_sa(sa->engine, t->coll_id) : NULL;
	if (theirs && ike_rekey_lost(t->nonce_i, t->nonce_r, t->coll_ni, t->coll_nr)) {
		/* ours is redundant: it goes, the children live on in the peer's */
		IkeSa *ours = adopt(t, sa, FALSE);

		ike_sa_log(sa, G_LOG_LEVEL_INFO, "IKE rekey collision: deleting our IKE SA %u",
			   ours->id);
		ike_engine_retire(ours);
		ike_sa_queue(ours, IKE_PENDING_DELETE_IKE, NULL, 0);
		ike_sa_move_children(sa, theirs);
		ike_engine_ike_rekeyed(sa->engine, sa, theirs);
		ike_engine_kick(ours);
		return IKE_TASK_DONE;
	}
	IkeSa *ours = adopt(t, sa, TRUE);
	if (theirs) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "IKE rekey collision: the peer deletes IKE SA %u",
			   theirs->id);
		ike_engine_retire(theirs);
	}
	ike_engine_ike_rekeyed(sa->engine, sa, ours);
	ike_sa_queue(sa, IKE_PENDING_DELETE_IKE, NULL, 0);
	return IKE_TASK_DONE;
}

/* ---- responder ---- */

/* The peer rekeys while our own rekey is in flight: remember its SA for our task. */
static gboolean
note_collision(IkeSa *sa, IkeRekeyTask *resp, IkeSa *theirs)
{
	for (guint i = 0; i < sa->tasks->len; i++) {
		IkeTask *task = g_ptr_array_index(sa->tasks, i);
		IkeRekeyTask *ours = (IkeRekeyTask *)task;

		if (task->ops != &ike_rekey_ops)
			continue;
		ours->coll_id = theirs->id;
		g_clear_pointer(&ours->coll_ni, g_bytes_unref);
		g_clear_pointer(&ours->coll_nr, g_bytes_unref);
		ours->coll_ni = g_bytes_ref(resp->nonce_i);
		ours->coll_nr = g_bytes_ref(resp->nonce_r);
		return TRUE;
	}
	return FALSE;
}

static IkeTaskStatus
refuse(IkeTask *task, guint16 notify, guint16 group)
{
	ike_task_set_error(task, notify, IKE_REASON_FAILED);
	if (group) {
		task->notify_data[0] = (guint8)(group >> 8);
		task->notify_data[1] = (guint8)group;
		task->notify_data_len = 2;
	}
	return IKE_TASK_FAIL;
}

static IkeTaskStatus
rekey_process_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	IkeRekeyTask *t = (IkeRekeyTask *)task;
	IkePayload *sa_pl = ike_msg_find(msg, IKE_PAYLOAD_SA);
	IkePayload *nonce = ike_msg_find(msg, IKE_PAYLOAD_NONCE);
	IkePayload *ke = ike_msg_find(msg, IKE_PAYLOAD_KE);
	IkeSa *fresh;

	if (!ike_msg_is_ike_rekey(msg)) {
		t->skip = TRUE;
		return IKE_TASK_DONE;
	}
	if (sa->rekeyed || sa->state != IKE_SA_STATE_ESTABLISHED)
		return refuse(task, IKE_NOTIFY_TEMPORARY_FAILURE, 0);
	fresh = t->new_sa = ike_sa_new(sa->engine, 0, sa->conn, FALSE);
	if (!ike_proposal_select(sa->conn->ike_proposals, &sa_pl->sa, IKE_PROTOCOL_IKE,
				 sa->conn->prefer_initiator_proposals, IKE_PROPOSAL_KE_USE,
				 &fresh->alg) ||
	    !(fresh->spi_i = proposal_spi(&sa_pl->sa, fresh->alg.number)))
		return refuse(task, IKE_NOTIFY_NO_PROPOSAL_CHOSEN, 0);
	if (!ke || ke->ke.group != fresh->alg.ke)
		return refuse(task, IKE_NOTIFY_INVALID_KE_PAYLOAD, fresh->alg.ke);
	t->nonce_i = g_bytes_ref(nonce->nonce.data);
	if (!ike_engine_new_ike_spi(sa->engine, &fresh->spi_r) || !(t->nonce_r = random_nonce(sa)) ||
	    !new_ke(t, sa, fresh->alg.ke))
		return refuse(task, IKE_NOTIFY_NO_ADDITIONAL_SAS, 0);
	t->peer_ke = ke; /* derived in build_response, after our public value went out */
	return IKE_TASK_DONE;
}

static IkeTaskStatus
rekey_build_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	IkeRekeyTask *t = (IkeRekeyTask *)task;
	guint8 spi[IKE_SPI_LEN];
	IkeSa *fresh = t->new_sa;

	if (t->skip)
		return IKE_TASK_DONE;
	spi_to_be(fresh->spi_r, spi);
	ike_proposal_add_chosen(ike_msg_add_payload(msg, IKE_PAYLOAD_SA, TRUE), &fresh->alg, spi,
				sizeof(spi));
	ike_msg_add_nonce(msg, TRUE, g_bytes_get_data(t->nonce_r, NULL),
			  g_bytes_get_size(t->nonce_r));
	ike_msg_add_ke(msg, TRUE, t->ke->id, vpnd_ke_get_public(t->ke), t->ke->public_len);
	if (!t->peer_ke || !derive(t, sa, t->peer_ke)) {
		ike_task_set_error(task, IKE_NOTIFY_INVALID_SYNTAX, IKE_REASON_FAILED);
		return IKE_TASK_FAIL;
	}
	gboolean collided = FALSE;
	for (guint i = 0; i < sa->tasks->len && !collided; i++)
		collided = ((IkeTask *)g_ptr_array_index(sa->tasks, i))->ops == &ike_rekey_ops;
	IkeSa *n = adopt(t, sa, !collided);
	if (collided)
		note_collision(sa, t, n);
	else
		ike_engine_ike_rekeyed(sa->engine, sa, n);
	return IKE_TASK_DONE;
}

static void
rekey_free(IkeTask *task)
{
	IkeRekeyTask *t = (IkeRekeyTask *)task;

	ike_sa_free(t->new_sa);
	g_clear_pointer(&t->nonce_i, g_bytes_unref);
	g_clear_pointer(&t->nonce_r, g_bytes_unref);
	g_clear_pointer(&t->coll_ni, g_bytes_unref);
	g_clear_pointer(&t->coll_nr, g_bytes_unref);
	vpnd_ke_free(t->ke);
	vpnd_secret_free(t->gir);
	g_free(t);
}

static const IkeTaskOps ike_rekey_ops = {
	.name = "ike-rekey",
	.build_request = rekey_build_request,
	.process_request = rekey_process_request,
	.build_response = rekey_build_response,
	.process_response = rekey_process_response,
	.free = rekey_free,
};

IkeTask *
ike_rekey_task_new(gboolean initiator)
{
	IkeRekeyTask *t = g_new0(IkeRekeyTask, 1);

	t->task.ops = &ike_rekey_ops;
	t->task.initiator = initiator;
	return &t->task;
}
