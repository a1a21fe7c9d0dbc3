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

#include "core/host.h"
#include "ike_msg.h"
#include "ike_sa.h"

/* Our identity in @conn: the configured one, else our IP address. (transfer full) */
static ConnIdentity *
identity_of(const ConnConfig *conn, const VpndAddr *local)
{
	const ConnIdentity *id = conn_config_get_id(conn, TRUE);

	if (id && !conn_identity_is_any(id))
		return conn_identity_new_from_payload(id->type, g_bytes_get_data(id->data, NULL),
						      g_bytes_get_size(id->data));
	return conn_identity_new_from_payload(local->family == AF_INET ? IKE_ID_IPV4_ADDR
								       : IKE_ID_IPV6_ADDR,
					      local->addr, local->family == AF_INET ? 4 : 16);
}

static ConnIdentity *
local_identity(IkeSa *sa)
{
	return identity_of(sa->conn, &sa->local);
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

/* The provider of AUTH method @method, with its user data. (nullable) */
static const VpndAuthOps *
auth_provider(IkeSa *sa, guint8 method, gpointer *user_data)
{
	GPtrArray *list = host_get_providers(ike_engine_get_host(sa->engine), VPND_PROVIDER_AUTH);

	for (guint i = 0; i < list->len; i++) {
		const HostProvider *p = g_ptr_array_index(list, i);
		const VpndAuthOps *ops = p->ops;

		if (ops->method == method) {
			*user_data = p->user_data;
			return ops;
		}
	}
	ike_sa_log(sa, G_LOG_LEVEL_WARNING,
		   "no auth provider for AUTH method %u%s is loaded", method,
		   method == IKE_AUTH_SHARED_KEY_MIC ? " (pre-shared key: plugin auth-psk)" : "");
	return NULL;
}

/* What @of_initiator's AUTH covers (RFC 7296 §2.15); @body and @psk owned by the caller. */
static void
auth_params(IkeSa *sa, gboolean of_initiator, GBytes *body, const VpndSecret *psk,
	    VpndAuthParams *p)
{
	GBytes *init_msg = of_initiator ? sa->init_req : sa->init_resp;
	GBytes *nonce = of_initiator ? sa->nonce_r : sa->nonce_i;

	ike_keymat_auth_params(sa->keymat, of_initiator, p);
	p->init_msg = g_bytes_get_data(init_msg, &p->init_msg_len);
	p->nonce = g_bytes_get_data(nonce, &p->nonce_len);
	p->id_body = g_bytes_get_data(body, &p->id_body_len);
	p->secret = psk;
}

static VpndSecret *
lookup_psk(IkeSa *sa, const ConnIdentity *local, const ConnIdentity *remote)
{
	VpndSecret *psk = ike_engine_lookup_psk(sa->engine, local, remote);

	if (!psk)
		ike_sa_log(sa, G_LOG_LEVEL_WARNING, "no shared key for '%s' - '%s'", local->text,
			   remote->text);
	return psk;
}

/* The AUTH value @of_initiator's side (@signer) sends. (transfer full) (nullable) */
static VpndSecret *
compute_auth(IkeSa *sa, gboolean of_initiator, const ConnIdentity *local,
	     const ConnIdentity *remote, const ConnIdentity *signer)
{
	gpointer data = NULL;
	const VpndAuthOps *ops = auth_provider(sa, IKE_AUTH_SHARED_KEY_MIC, &data);
	g_autoptr(VpndSecret) psk = ops ? lookup_psk(sa, local, remote) : NULL;
	g_autoptr(GBytes) body = id_body(signer->type, signer->data);
	g_autoptr(GError) error = NULL;
	VpndAuthParams params = { 0 };
	VpndSecret *auth;

	if (!psk)
		return NULL;
	auth_params(sa, of_initiator, body, psk, &params);
	auth = ops->build(data, &params, &error);
	if (!auth)
		ike_sa_log(sa, G_LOG_LEVEL_WARNING, "AUTH: %s", error->message);
	return auth;
}

static gboolean
verify_auth(IkeSa *sa, const IkePayload *auth, gboolean of_initiator, const ConnIdentity *peer)
{
	g_autoptr(ConnIdentity) me = local_identity(sa);
	g_autoptr(GBytes) body = NULL;
	g_autoptr(VpndSecret) psk = NULL;
	g_autoptr(GError) error = NULL;
	VpndAuthParams params = { 0 };
	gpointer data = NULL;
	const VpndAuthOps *ops;
	gsize len;
	const guint8 *value;

	if (!auth || auth->auth.method != IKE_AUTH_SHARED_KEY_MIC)
		return FALSE;
	if (!(ops = auth_provider(sa, auth->auth.method, &data)) ||
	    !(psk = lookup_psk(sa, me, peer)))
		return FALSE;
	body = id_body(peer->type, peer->data);
	auth_params(sa, of_initiator, body, psk, &params);
	value = ike_payload_get_data(auth, &len);
	if (ops->verify(data, &params, value, len, &error))
		return TRUE;
	ike_sa_log(sa, G_LOG_LEVEL_INFO, "AUTH of '%s': %s", peer->text, error->message);
	return FALSE;
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

/* IDi (and IDr, when sent) against one connection's identities. */
typedef struct {
	const ConnIdentity *peer, *me;
	const VpndAddr *local;
} IdMatch;

static gboolean
ids_fit(const ConnConfig *conn, gpointer data)
{
	const IdMatch *m = data;
	const ConnIdentity *mine = conn_config_get_id(conn, TRUE);
	g_autoptr(ConnIdentity) mine_or_ip = NULL;

	if (!conn_identity_matches(conn_config_get_id(conn, FALSE), m->peer))
		return FALSE;
	if (!m->me || (mine && conn_identity_is_any(mine)))
		return TRUE;
	mine_or_ip = identity_of(conn, m->local);
	return conn_identity_matches(mine_or_ip, m->me);
}

static ConnIdentity *
id_from_payload(const IkePayload *p)
{
	gsize len;
	const guint8 *data;

	if (!p)
		return NULL;
	data = ike_payload_get_data(p, &len);
	return conn_identity_new_from_payload(p->id.type, data, len);
}

/* Responder: the connection for these identities among those of our addresses. */
static gboolean
select_conn(IkeSa *sa, IkeMsg *msg)
{
	g_autoptr(ConnIdentity) peer = id_from_payload(ike_msg_find(msg, IKE_PAYLOAD_IDI));
	g_autoptr(ConnIdentity) me = id_from_payload(ike_msg_find(msg, IKE_PAYLOAD_IDR));
	IdMatch m = { .peer = peer, .me = me, .local = &sa->local };
	ConnConfig *conn;

	if (!peer)
		return FALSE;
	conn = ike_engine_select_conn(sa->engine, sa, ids_fit, &m);
	if (!conn) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "no connection for '%s'%s%s", peer->text,
			   me ? " asking for " : "", me ? me->text : "");
		return FALSE;
	}
	if (conn != sa->conn) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "'%s' belongs to connection \"%s\"", peer->text,
			   conn->name);
		conn_config_ref(conn);
		conn_config_unref(sa->conn);
		sa->conn = conn;
	}
	return TRUE;
}

static IkeTaskStatus
auth_process_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	ConnIdentity *peer;

	if (!select_conn(sa, msg))
		return auth_failed(task, sa);
	peer = peer_identity(sa, ike_msg_find(msg, IKE_PAYLOAD_IDI));

	if (!peer)
		return auth_failed(task, sa);
	if (!verify_auth(sa, ike_msg_find(msg, IKE_PAYLOAD_AUTH), TRUE, peer)) {
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "AUTH of '%s' does not verify", peer->text);
		conn_identity_free(peer);
		return auth_failed(task, sa);
	}
	ike_engine_set_peer_id(sa, peer);
	ike_engine_authenticated(sa->engine, sa,
				 ike_msg_find_notify(msg, IKE_NOTIFY_INITIAL_CONTACT) != NULL);
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
				   n == IKE_NOTIFY_AUTHENTICATION_FAILED ? IKE_REASON_PEER_AUTH_FAILED
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
	ike_engine_set_peer_id(sa, peer);
	ike_engine_authenticated(sa->engine, sa,
				 ike_msg_find_notify(msg, IKE_NOTIFY_INITIAL_CONTACT) != NULL);
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
