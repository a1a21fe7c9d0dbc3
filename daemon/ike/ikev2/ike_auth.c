/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IKE_AUTH with pre-shared keys (RFC 7296 §2.15): identities and the AUTH payload.
 * The first child SA rides in the same exchange (child_create.c).
 *
 *   IKE_AUTH { IDi, [IDr], AUTH, SA, TSi, TSr }  -->
 *           <--  { IDr, AUTH, SA, TSi, TSr }   or   <--  { N(AUTHENTICATION_FAILED) }
 */
#include <string.h>
#include <sys/socket.h>

#include "ike_msg.h"
#include "ike_sa.h"

/* Our identity: the configured one, else our IP address. (transfer full) */
static ConnIdentity *
local_identity(IkeSa *sa)
{
	const ConnIdentity *id = conn_config_get_id(sa->conn, TRUE);

	if (id && !conn_identity_is_any(id))
		return conn_identity_new_from_payload(id->type, g_bytes_get_data(id->data, NULL),
						      g_bytes_get_size(id->data));
	return conn_identity_new_from_payload(sa->local.family == AF_INET ? IKE_ID_IPV4_ADDR
									  : IKE_ID_IPV6_ADDR,
					      sa->local.addr, sa->local.family == AF_INET ? 4 : 16);
}

/* RestOfIDPayload (RFC 7296 §2.15): ID Type | RESERVED | Identification Data. */
static GBytes *
id_body(guint8 type, GBytes *data)
{
	GByteArray *b = g_byte_array_new();
	guint8 hdr[4] = { type, 0, 0, 0 };

	g_byte_array_append(b, hdr, sizeof(hdr));
	if (data)
		g_byte_array_append(b, g_bytes_get_data(data, NULL), g_bytes_get_size(data));
	return g_byte_array_free_to_bytes(b);
}

static void
add_id(IkeMsg *msg, IkePayloadType type, const ConnIdentity *id)
{
	IkePayload *p = ike_msg_add_payload(msg, type, TRUE);

	p->id.type = id->type;
	ike_payload_set_data(p, g_bytes_get_data(id->data, NULL), g_bytes_get_size(id->data));
}

/* The AUTH value @of_initiator's side must send. (transfer full) (nullable) */
static VpndSecret *
compute_auth(IkeSa *sa, gboolean of_initiator, const ConnIdentity *local,
	     const ConnIdentity *remote, const ConnIdentity *signer)
{
	g_autoptr(VpndSecret) psk = ike_engine_lookup_psk(sa->engine, local, remote);
	g_autoptr(GBytes) body = id_body(signer->type, signer->data);
	g_autoptr(GError) error = NULL;
	VpndSecret *auth;

	if (!psk) {
		ike_sa_log(sa, G_LOG_LEVEL_WARNING, "no shared key for '%s' - '%s'", local->text,
			   remote->text);
		return NULL;
	}
	auth = ike_keymat_psk_auth(sa->keymat, of_initiator, psk,
				   of_initiator ? sa->init_req : sa->init_resp,
				   of_initiator ? sa->nonce_r : sa->nonce_i, body, &error);
	if (!auth)
		ike_sa_log(sa, G_LOG_LEVEL_WARNING, "AUTH: %s", error->message);
	return auth;
}

static gboolean
verify_auth(IkeSa *sa, const IkePayload *auth, gboolean of_initiator, const ConnIdentity *peer)
{
	g_autoptr(ConnIdentity) me = local_identity(sa);
	g_autoptr(VpndSecret) expect = NULL;
	gsize len;
	const guint8 *data;

	if (!auth || auth->auth.method != IKE_AUTH_SHARED_KEY_MIC)
		return FALSE;
	data = ike_payload_get_data(auth, &len);
	expect = compute_auth(sa, of_initiator, me, peer, peer);
	return expect && expect->len == len && vpnd_memeq_const(expect->data, data, len);
}

static void
add_auth(IkeMsg *msg, const VpndSecret *value)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_AUTH, TRUE);

	p->auth.method = IKE_AUTH_SHARED_KEY_MIC;
	ike_payload_set_data(p, value->data, value->len);
}

/* The peer's identity from its ID payload, if the configuration accepts it. */
static ConnIdentity *
peer_identity(IkeSa *sa, const IkePayload *id)
{
	gsize len;
	const guint8 *data;
	ConnIdentity *peer;

	if (!id)
		return NULL;
	data = ike_payload_get_data(id, &len);
	peer = conn_identity_new_from_payload(id->id.type, data, len);
	if (!conn_identity_matches(conn_config_get_id(sa->conn, FALSE), peer)) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "peer identity '%s' not accepted", peer->text);
		conn_identity_free(peer);
		return NULL;
	}
	return peer;
}

static IkeTaskStatus
auth_failed(IkeTask *task, IkeSa *sa)
{
	ike_task_set_error(task, IKE_NOTIFY_AUTHENTICATION_FAILED, IKE_REASON_AUTH_FAILED);
	return IKE_TASK_FAIL;
}

static IkeTaskStatus
auth_build_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	g_autoptr(ConnIdentity) me = local_identity(sa);
	const ConnIdentity *them = conn_config_get_id(sa->conn, FALSE);
	g_autoptr(ConnIdentity) any = NULL;
	g_autoptr(VpndSecret) auth = NULL;

	if (!them)
		them = any = conn_identity_parse("%any", NULL);
	auth = compute_auth(sa, TRUE, me, them, me);
	if (!auth) {
		ike_task_set_error(task, 0, IKE_REASON_AUTH_FAILED);
		return IKE_TASK_FAIL;
	}
	add_id(msg, IKE_PAYLOAD_IDI, me);
	if (!conn_identity_is_any(them))
		add_id(msg, IKE_PAYLOAD_IDR, them);
	add_auth(msg, auth);
	/* RFC 7296 §2.4: our first IKE SA with this peer; older ones it may hold are stale */
	if (!ike_engine_has_sibling(sa->engine, sa))
		ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_INITIAL_CONTACT, 0, NULL, 0, NULL, 0);
	return IKE_TASK_DONE;
}

static IkeTaskStatus
auth_process_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	ConnIdentity *peer = peer_identity(sa, ike_msg_find(msg, IKE_PAYLOAD_IDI));

	if (!peer)
		return auth_failed(task, sa);
	if (!verify_auth(sa, ike_msg_find(msg, IKE_PAYLOAD_AUTH), TRUE, peer)) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "AUTH of '%s' does not verify", peer->text);
		conn_identity_free(peer);
		return auth_failed(task, sa);
	}
	conn_identity_free(sa->peer_id);
	sa->peer_id = peer;
	if (ike_msg_find_notify(msg, IKE_NOTIFY_INITIAL_CONTACT))
		ike_engine_initial_contact(sa->engine, sa);
	return IKE_TASK_DONE;
}

static IkeTaskStatus
auth_build_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	g_autoptr(ConnIdentity) me = local_identity(sa);
	g_autoptr(VpndSecret) auth = compute_auth(sa, FALSE, me, sa->peer_id, me);

	if (!auth)
		return auth_failed(task, sa);
	add_id(msg, IKE_PAYLOAD_IDR, me);
	add_auth(msg, auth);
	ike_sa_set_state(sa, IKE_SA_STATE_ESTABLISHED);
	return IKE_TASK_DONE;
}

static IkeTaskStatus
auth_process_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	IkePayload *idr = ike_msg_find(msg, IKE_PAYLOAD_IDR);
	IkePayload *auth = ike_msg_find(msg, IKE_PAYLOAD_AUTH);
	IkePayload *err = ike_msg_find_error_notify(msg);
	ConnIdentity *peer;

	/* an error without IDr/AUTH concerns the IKE SA; with them only the child */
	if (!idr || !auth) {
		guint16 n = err ? err->notify.type : IKE_NOTIFY_AUTHENTICATION_FAILED;

		ike_task_set_error(task, n,
				   n == IKE_NOTIFY_AUTHENTICATION_FAILED ? IKE_REASON_AUTH_FAILED
									 : IKE_REASON_FAILED);
		return IKE_TASK_FAIL;
	}
	peer = peer_identity(sa, idr);
	if (!peer || !verify_auth(sa, auth, FALSE, peer)) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "responder's AUTH does not verify");
		conn_identity_free(peer);
		ike_task_set_error(task, 0, IKE_REASON_AUTH_FAILED);
		return IKE_TASK_FAIL;
	}
	conn_identity_free(sa->peer_id);
	sa->peer_id = peer;
	if (ike_msg_find_notify(msg, IKE_NOTIFY_INITIAL_CONTACT))
		ike_engine_initial_contact(sa->engine, sa);
	ike_sa_set_state(sa, IKE_SA_STATE_ESTABLISHED);
	return IKE_TASK_DONE;
}

static void
auth_free(IkeTask *task)
{
	g_free(task);
}

static const IkeTaskOps ike_auth_ops = {
	.name = "ike-auth",
	.build_request = auth_build_request,
	.process_request = auth_process_request,
	.build_response = auth_build_response,
	.process_response = auth_process_response,
	.free = auth_free,
};

IkeTask *
ike_auth_task_new(gboolean initiator)
{
	IkeTask *t = g_new0(IkeTask, 1);

	t->ops = &ike_auth_ops;
	t->initiator = initiator;
	return t;
}
