/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IKE_SA_INIT's two tasks:
 *   ike_init: SA, KE, Nonce; proposal selection, INVALID_KE_PAYLOAD and retry, COOKIE
 *             (initiator side), SKEYSEED
 *   ike_natd: NAT_DETECTION_SOURCE_IP / _DESTINATION_IP (RFC 7296 §2.23)
 *
 *   IKE_SA_INIT { SA, KE, Ni, N(NAT_D_SRC), N(NAT_D_DST) }  -->
 *              <--  { SA, KE, Nr, N(NAT_D_SRC), N(NAT_D_DST) }
 */
#include <string.h>
#include <sys/socket.h>

#include "ike_msg.h"
#include "ike_sa.h"

#define NONCE_LEN 32
/* COOKIE answers taken before giving up (a new one may come after a secret rotation) */
#define MAX_COOKIES 3

typedef struct {
	IkeTask task;
	GBytes *cookie; /* initiator: sent back first after a COOKIE response */
	guint n_cookies;
	gboolean sig_hashes; /* responder: the initiator announced its hashes */
} IkeInitTask;

static GBytes *
random_bytes(IkeSa *sa, gsize len)
{
	guint8 buf[NONCE_LEN];

	g_assert(len <= sizeof(buf));
	if (!ike_engine_random(sa->engine, buf, len))
		return NULL;
	return g_bytes_new(buf, len);
}

static gboolean
new_ke(IkeSa *sa, guint16 group)
{
	g_autoptr(GError) error = NULL;

	g_clear_pointer(&sa->ke, vpnd_ke_free);
	sa->ke = crypto_ke_new(ike_engine_get_host(sa->engine), group, CRYPTO_KE_NONE, &error);
	if (!sa->ke) {
		ike_sa_log(sa, G_LOG_LEVEL_WARNING, "key exchange %s: %s", vpnd_ke_to_string(group),
			   error->message);
		return FALSE;
	}
	sa->ke_group = group;
	return TRUE;
}

/* g^ir from the peer's KE value, then the IKE SA keys. */
static gboolean
derive(IkeSa *sa, const guint8 *data, gsize len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndSecret) gir = NULL;

	gir = vpnd_ke_compute(sa->ke, data, len, &error);
	if (gir)
		sa->keymat =
			ike_keymat_new(ike_engine_get_host(sa->engine), &sa->alg, sa->initiator,
				       sa->nonce_i, sa->nonce_r, gir, sa->spi_i, sa->spi_r, &error);
	if (!sa->keymat) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "IKE_SA_INIT: %s", error->message);
		return FALSE;
	}
	return TRUE;
}

/* RFC 7427 §4: the hashes we can sign and verify with: SHA2-256, -384, -512 */
static const guint8 sig_hashes[] = { 0, 2, 0, 3, 0, 4 };

static void
add_sig_hashes(IkeMsg *msg)
{
	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_SIGNATURE_HASH_ALGORITHMS, 0, NULL, 0, sig_hashes,
			   sizeof(sig_hashes));
}

/* The peer's list as bits; TRUE when it sent one. */
static gboolean
read_sig_hashes(IkeSa *sa, IkeMsg *msg)
{
	IkePayload *n = ike_msg_find_notify(msg, IKE_NOTIFY_SIGNATURE_HASH_ALGORITHMS);
	gsize len;
	const guint8 *d;

	if (!n)
		return FALSE;
	d = ike_payload_get_data(n, &len);
	sa->peer_hash_algs = 0;
	for (gsize i = 0; i + 1 < len; i += 2) {
		guint16 id = (guint16)(d[i] << 8 | d[i + 1]);

		if (id < 16)
			sa->peer_hash_algs |= (guint16)(1u << id);
	}
	return TRUE;
}

static void
add_ke(IkeSa *sa, IkeMsg *msg)
{
	ike_msg_add_ke(msg, FALSE, sa->ke_group, vpnd_ke_get_public(sa->ke), sa->ke->public_len);
}

static IkeTaskStatus
init_build_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	IkeInitTask *t = (IkeInitTask *)task;
	IkePayload *sa_pl;

	if (!sa->ke_group)
		sa->ke_group = ike_proposal_first_ke(sa->conn->ike_proposals);
	if (!sa->ke && !new_ke(sa, sa->ke_group)) {
		ike_task_set_error(task, 0, IKE_REASON_FAILED);
		return IKE_TASK_FAIL;
	}
	if (!sa->nonce_i && !(sa->nonce_i = random_bytes(sa, NONCE_LEN))) {
		ike_task_set_error(task, 0, IKE_REASON_FAILED);
		return IKE_TASK_FAIL;
	}
	if (t->cookie)
		ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_COOKIE, 0, NULL, 0,
				   g_bytes_get_data(t->cookie, NULL), g_bytes_get_size(t->cookie));
	sa_pl = ike_msg_add_payload(msg, IKE_PAYLOAD_SA, FALSE);
	ike_proposal_add_all(sa_pl, sa->conn->ike_proposals, IKE_PROTOCOL_IKE, NULL, 0,
			     IKE_PROPOSAL_KE_USE);
	add_ke(sa, msg);
	ike_msg_add_nonce(msg, FALSE, g_bytes_get_data(sa->nonce_i, NULL),
			  g_bytes_get_size(sa->nonce_i));
	add_sig_hashes(msg);
	return IKE_TASK_DONE;
}

static IkeReason
reason_of(guint16 notify)
{
	switch (notify) {
	case IKE_NOTIFY_NO_PROPOSAL_CHOSEN:
		return IKE_REASON_NO_PROPOSAL;
	case IKE_NOTIFY_AUTHENTICATION_FAILED: /* the peer sent it */
		return IKE_REASON_PEER_AUTH_FAILED;
	case IKE_NOTIFY_TS_UNACCEPTABLE:
		return IKE_REASON_TS_UNACCEPTABLE;
	case IKE_NOTIFY_INVALID_KE_PAYLOAD:
		return IKE_REASON_INVALID_KE;
	default:
		return IKE_REASON_FAILED;
	}
}

/* INVALID_KE_PAYLOAD: retry with the group asked for, once per group we offer. */
static IkeTaskStatus
retry_with_group(IkeTask *task, IkeSa *sa, const IkePayload *n)
{
	gsize len;
	const guint8 *d = ike_payload_get_data(n, &len);
	guint16 group = len == 2 ? (guint16)(d[0] << 8 | d[1]) : 0;

	if (!group || group == sa->ke_group ||
	    !ike_proposal_has_ke(sa->conn->ike_proposals, group) || !new_ke(sa, group)) {
		ike_task_set_error(task, IKE_NOTIFY_INVALID_KE_PAYLOAD, IKE_REASON_INVALID_KE);
		return IKE_TASK_FAIL;
	}
	ike_sa_log(sa, G_LOG_LEVEL_INFO, "peer asks for %s, retrying", vpnd_ke_to_string(group));
	return IKE_TASK_MORE;
}

static IkeTaskStatus
init_process_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	IkeInitTask *t = (IkeInitTask *)task;
	IkePayload *n, *sa_pl, *ke, *nonce;
	IkeSaPayload *sp;

	if ((n = ike_msg_find_notify(msg, IKE_NOTIFY_COOKIE))) {
		gsize len;
		const guint8 *d = ike_payload_get_data(n, &len);

		/* RFC 7296 §2.6: the same request again, the cookie first */
		if (len < 1 || len > 64 || ++t->n_cookies > MAX_COOKIES) {
			ike_task_set_error(task, 0, IKE_REASON_FAILED);
			return IKE_TASK_FAIL;
		}
		g_clear_pointer(&t->cookie, g_bytes_unref);
		t->cookie = g_bytes_new(d, len);
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "responder asks for a cookie, retrying");
		return IKE_TASK_MORE;
	}
	if ((n = ike_msg_find_notify(msg, IKE_NOTIFY_INVALID_KE_PAYLOAD)))
		return retry_with_group(task, sa, n);
	if ((n = ike_msg_find_error_notify(msg))) {
		ike_task_set_error(task, n->notify.type, reason_of(n->notify.type));
		return IKE_TASK_FAIL;
	}
	sa_pl = ike_msg_find(msg, IKE_PAYLOAD_SA);
	ke = ike_msg_find(msg, IKE_PAYLOAD_KE);
	nonce = ike_msg_find(msg, IKE_PAYLOAD_NONCE);
	sp = sa_pl ? &sa_pl->sa : NULL;
	/* one proposal, one of ours, with the group of our KE */
	if (!sp || !ke || !nonce || sp->proposals->len != 1 ||
	    !ike_proposal_select(sa->conn->ike_proposals, sp, IKE_PROTOCOL_IKE, FALSE,
				 IKE_PROPOSAL_KE_USE, &sa->alg) ||
	    sa->alg.ke != sa->ke_group || ke->ke.group != sa->ke_group ||
	    !ike_msg_get_header(msg)->spi_r) {
		ike_task_set_error(task, 0, IKE_REASON_NO_PROPOSAL);
		return IKE_TASK_FAIL;
	}
	sa->spi_r = ike_msg_get_header(msg)->spi_r;
	sa->nonce_r = g_bytes_ref(nonce->nonce.data);
	read_sig_hashes(sa, msg);
	sa->init_req = g_bytes_ref(sa->request);
	sa->init_resp = g_bytes_ref(ike_msg_get_raw(msg));
	gsize ke_len;
	const guint8 *ke_data = ike_payload_get_data(ke, &ke_len);
	if (!derive(sa, ke_data, ke_len)) {
		ike_task_set_error(task, 0, IKE_REASON_FAILED);
		return IKE_TASK_FAIL;
	}
	g_clear_pointer(&sa->ke, vpnd_ke_free); /* the private value is no longer needed */
	return IKE_TASK_DONE;
}

static IkeTaskStatus
init_process_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	IkePayload *sa_pl = ike_msg_find(msg, IKE_PAYLOAD_SA);
	IkePayload *ke = ike_msg_find(msg, IKE_PAYLOAD_KE);
	IkePayload *nonce = ike_msg_find(msg, IKE_PAYLOAD_NONCE);
	guint64 spi_r;

	if (!sa_pl || !ke || !nonce ||
	    !ike_proposal_select(sa->conn->ike_proposals, &sa_pl->sa, IKE_PROTOCOL_IKE,
				 sa->conn->prefer_initiator_proposals, IKE_PROPOSAL_KE_USE,
				 &sa->alg)) {
		ike_task_set_error(task, IKE_NOTIFY_NO_PROPOSAL_CHOSEN, IKE_REASON_NO_PROPOSAL);
		return IKE_TASK_FAIL;
	}
	if (ke->ke.group != sa->alg.ke) {
		ike_task_set_error(task, IKE_NOTIFY_INVALID_KE_PAYLOAD, IKE_REASON_INVALID_KE);
		task->notify_data[0] = (guint8)(sa->alg.ke >> 8);
		task->notify_data[1] = (guint8)sa->alg.ke;
		task->notify_data_len = 2;
		return IKE_TASK_FAIL;
	}
	do {
		if (!ike_engine_random(sa->engine, (guint8 *)&spi_r, sizeof(spi_r))) {
			ike_task_set_error(task, IKE_NOTIFY_NO_PROPOSAL_CHOSEN, IKE_REASON_FAILED);
			return IKE_TASK_FAIL;
		}
	} while (!spi_r);
	sa->spi_r = spi_r;
	((IkeInitTask *)task)->sig_hashes = read_sig_hashes(sa, msg);
	sa->nonce_i = g_bytes_ref(nonce->nonce.data);
	sa->nonce_r = random_bytes(sa, NONCE_LEN);
	sa->init_req = g_bytes_ref(ike_msg_get_raw(msg));
	gsize ke_len;
	const guint8 *ke_data = ike_payload_get_data(ke, &ke_len);
	/* a KE value of the wrong size is the peer's fault, not a proposal issue */
	if (!sa->nonce_r || !new_ke(sa, sa->alg.ke) || ke_len != sa->ke->public_len) {
		ike_task_set_error(task, IKE_NOTIFY_INVALID_SYNTAX, IKE_REASON_FAILED);
		return IKE_TASK_FAIL;
	}
	/* the keys wait until the answer is out (ike_init_derive_keys()): nothing in it
	 * needs them, and the initiator works on its own key exchange meanwhile */
	sa->peer_ke = g_bytes_new(ke_data, ke_len);
	return IKE_TASK_DONE;
}

gboolean
ike_init_derive_keys(IkeSa *sa)
{
	g_autoptr(GBytes) peer = g_steal_pointer(&sa->peer_ke);
	gsize len;
	const guint8 *data = g_bytes_get_data(peer, &len);
	gboolean ok = derive(sa, data, len);

	g_clear_pointer(&sa->ke, vpnd_ke_free); /* the private value is no longer needed */
	return ok;
}

static IkeTaskStatus
init_build_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	IkePayload *sa_pl = ike_msg_add_payload(msg, IKE_PAYLOAD_SA, FALSE);

	ike_proposal_add_chosen(sa_pl, &sa->alg, NULL, 0);
	add_ke(sa, msg);
	ike_msg_add_nonce(msg, FALSE, g_bytes_get_data(sa->nonce_r, NULL),
			  g_bytes_get_size(sa->nonce_r));
	if (((IkeInitTask *)task)->sig_hashes)
		add_sig_hashes(msg);
	return IKE_TASK_DONE;
}

static void
init_free(IkeTask *task)
{
	IkeInitTask *t = (IkeInitTask *)task;

	g_clear_pointer(&t->cookie, g_bytes_unref);
	g_free(t);
}

static const IkeTaskOps ike_init_ops = {
	.name = "ike-init",
	.build_request = init_build_request,
	.process_request = init_process_request,
	.build_response = init_build_response,
	.process_response = init_process_response,
	.free = init_free,
};

IkeTask *
ike_init_task_new(gboolean initiator)
{
	IkeInitTask *t = g_new0(IkeInitTask, 1);

	t->task.ops = &ike_init_ops;
	t->task.initiator = initiator;
	return &t->task;
}
