/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The auth-psk plugin: AUTH with a pre-shared key (RFC 7296 §2.15):
 *   AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <InitMessage> | <Nonce> |
 *               prf(SK_p, <RestOfIDPayload>) )
 * with the negotiated PRF; the peer's value is compared in constant time.
 */
#include <string.h>
#include <vpnd/auth.h>

#define KEY_PAD "Key Pad for IKEv2"
#define PSK_PLUGIN_PRIORITY 10

G_DEFINE_QUARK(vpnd-auth-error-quark, vpnd_auth_error)

/* prf(@key, @a | @b | @c), into a new secret of the PRF's output length. */
static VpndSecret *
prf3(const VpndAuthParams *p, const guint8 *key, gsize key_len, const guint8 *a, gsize a_len,
     const guint8 *b, gsize b_len, const guint8 *c, gsize c_len, GError **error)
{
	g_autoptr(VpndPrf) prf = p->prf_new(p->prf_data, key, key_len, error);
	VpndSecret *out;

	if (!prf)
		return NULL;
	out = vpnd_secret_new(prf->out_len);
	vpnd_prf_update(prf, a, a_len);
	if (b_len)
		vpnd_prf_update(prf, b, b_len);
	if (c_len)
		vpnd_prf_update(prf, c, c_len);
	vpnd_prf_finish(prf, out->data);
	return out;
}

static VpndSecret *
psk_build(gpointer user_data, const VpndAuthParams *p, GError **error)
{
	g_autoptr(VpndSecret) maced_id = NULL, pad_key = NULL;

	if (p->struct_size < sizeof(VpndAuthParams)) {
		g_set_error(error, VPND_AUTH_ERROR, VPND_AUTH_ERROR_FAILED,
			    "auth-psk: parameters of an older engine");
		return NULL;
	}
	if (!p->secret || !p->secret->len) {
		g_set_error(error, VPND_AUTH_ERROR, VPND_AUTH_ERROR_FAILED, "no shared key");
		return NULL;
	}
	maced_id = prf3(p, p->sk_p, p->sk_p_len, p->id_body, p->id_body_len, NULL, 0, NULL, 0,
			error);
	if (!maced_id)
		return NULL;
	pad_key = prf3(p, p->secret->data, p->secret->len, (const guint8 *)KEY_PAD,
		       strlen(KEY_PAD), NULL, 0, NULL, 0, error);
	if (!pad_key)
		return NULL;
	return prf3(p, pad_key->data, pad_key->len, p->init_msg, p->init_msg_len, p->nonce,
		    p->nonce_len, maced_id->data, maced_id->len, error);
}

static gboolean
psk_verify(gpointer user_data, const VpndAuthParams *p, const guint8 *auth, gsize auth_len,
	   GError **error)
{
	g_autoptr(VpndSecret) want = psk_build(user_data, p, error);

	if (!want)
		return FALSE;
	if (want->len != auth_len || !vpnd_memeq_const(want->data, auth, auth_len)) {
		g_set_error(error, VPND_AUTH_ERROR, VPND_AUTH_ERROR_MISMATCH,
			    "the AUTH value does not match the shared key");
		return FALSE;
	}
	return TRUE;
}

static const VpndAuthOps psk_auth_ops = {
	.method = VPND_AUTH_SHARED_KEY_MIC,
	.build = psk_build,
	.verify = psk_verify,
};

static gboolean
psk_plugin_init(VpndHost *host, GError **error)
{
	vpnd_host_add_provider(host, VPND_PROVIDER_AUTH, "psk", &psk_auth_ops,
			       PSK_PLUGIN_PRIORITY, NULL);
	return TRUE;
}

static void
psk_plugin_fini(void)
{
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
	.abi = VPND_PLUGIN_ABI,
	.struct_size = sizeof(VpndPlugin),
	.name = "auth-psk",
	.init = psk_plugin_init,
	.fini = psk_plugin_fini,
};
