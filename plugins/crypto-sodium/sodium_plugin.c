/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crypto-sodium: Curve25519 key exchange (RFC 7748, RFC 8031) from libsodium, nothing
 * else. X25519 dominates a handshake's CPU time, and libsodium's variable-base scalar
 * multiplication takes well under half of nettle's instructions on x86-64; so this
 * provider registers above crypto-gnutls and answers supports() for that one group,
 * and the host keeps taking every other algorithm from the full providers.
 */
#include <sodium.h>

#include <vpnd/crypto.h>
#include <vpnd/plugin.h>

#define DEFAULT_PRIORITY 30

static gboolean
unsupported(GError **error, const char *what)
{
	g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
		    "crypto-sodium offers no %s", what);
	return FALSE;
}

/* ---- Curve25519 ----------------------------------------------------------------------- */

typedef struct {
	VpndKe base;
	guint8 priv[crypto_scalarmult_SCALARBYTES];
	guint8 pub[crypto_scalarmult_BYTES];
} Ke;

static const guint8 *
ke_get_public(VpndKe *base)
{
	return ((Ke *)base)->pub;
}

static VpndSecret *
ke_compute(VpndKe *base, const guint8 *peer, gsize peer_len, GError **error)
{
	Ke *k = (Ke *)base;

	if (peer_len != crypto_scalarmult_BYTES) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_INVALID_PUBLIC,
			    "CURVE_25519 public value has the wrong length (%" G_GSIZE_FORMAT
			    " bytes)",
			    peer_len);
		return NULL;
	}
	g_autoptr(VpndSecret) secret = vpnd_secret_new(crypto_scalarmult_BYTES);
	/* -1: a small-order peer point, whose all-zero result RFC 7748 §6.1 refuses */
	if (crypto_scalarmult(secret->data, k->priv, peer) != 0) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_INVALID_PUBLIC,
			    "CURVE_25519 public value is a point of small order");
		return NULL;
	}
	return g_steal_pointer(&secret);
}

/* Takes the RFC 7748 scalar bytes as they are: libsodium clamps them on every use. */
static gboolean
ke_set_private(VpndKe *base, const guint8 *priv, gsize len, GError **error)
{
	Ke *k = (Ke *)base;

	if (len != sizeof(k->priv)) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH,
			    "CURVE_25519 private key must be %zu bytes", sizeof(k->priv));
		return FALSE;
	}
	memcpy(k->priv, priv, len);
	crypto_scalarmult_base(k->pub, k->priv);
	return TRUE;
}

static void
ke_free(VpndKe *base)
{
	sodium_memzero(((Ke *)base)->priv, crypto_scalarmult_SCALARBYTES);
	g_free(base);
}

static const VpndKeOps ke_ops = { ke_get_public, ke_compute, ke_set_private, ke_free };

static VpndKe *
ke_new(VpndKeId id, GError **error)
{
	if (id != VPND_KE_CURVE25519) {
		unsupported(error, vpnd_ke_to_string(id));
		return NULL;
	}
	Ke *k = g_new0(Ke, 1);
	k->base = (VpndKe){ &ke_ops, id, crypto_scalarmult_BYTES, crypto_scalarmult_BYTES };
	randombytes_buf(k->priv, sizeof(k->priv));
	crypto_scalarmult_base(k->pub, k->priv);
	return &k->base;
}

/* ---- What the ABI requires and this provider does not offer ---------------------------- */

static VpndHasher *
hasher_new(VpndHashId id, GError **error)
{
	unsupported(error, vpnd_hash_to_string(id));
	return NULL;
}

static VpndPrf *
prf_new(VpndPrfId id, const guint8 *key, gsize key_len, GError **error)
{
	unsupported(error, vpnd_prf_to_string(id));
	return NULL;
}

static VpndIntegrity *
integrity_new(VpndIntegId id, const guint8 *key, gsize key_len, GError **error)
{
	unsupported(error, vpnd_integ_to_string(id));
	return NULL;
}

static VpndCipher *
cipher_new(VpndEncrId id, const guint8 *key, gsize key_len, GError **error)
{
	unsupported(error, vpnd_encr_to_string(id));
	return NULL;
}

static VpndAead *
aead_new(VpndEncrId id, const guint8 *key, gsize key_len, GError **error)
{
	unsupported(error, vpnd_encr_to_string(id));
	return NULL;
}

static VpndPrivKey *
privkey_load(const guint8 *data, gsize len, GError **error)
{
	unsupported(error, "private keys");
	return NULL;
}

static VpndPrivKey *
privkey_generate(VpndKeyType type, guint bits, GError **error)
{
	unsupported(error, "private keys");
	return NULL;
}

static VpndPubKey *
pubkey_load(const guint8 *data, gsize len, GError **error)
{
	unsupported(error, "public keys");
	return NULL;
}

static VpndCert *
cert_load(const guint8 *data, gsize len, GError **error)
{
	unsupported(error, "certificates");
	return NULL;
}

static gboolean
cert_verify(VpndCert *leaf, VpndCert *const *intermediates, guint n_intermediates,
	    VpndCert *const *anchors, guint n_anchors, GError **error)
{
	return unsupported(error, "certificates");
}

/*
 * The host takes random bytes from its highest-priority crypto provider, which this
 * one is by default. randombytes_buf() reads the kernel's getrandom(), the same source
 * kernel-tun uses for its IVs, for nonces and keys alike; it cannot fail once
 * sodium_init() has succeeded.
 */
static gboolean
random_bytes(guint8 *buf, gsize len, gboolean key, GError **error)
{
	randombytes_buf(buf, len);
	return TRUE;
}

/* ---- The provider ---------------------------------------------------------------------- */

static gboolean
supports(VpndAlgType type, guint id, guint key_bits)
{
	return type == VPND_ALG_KE && id == VPND_KE_CURVE25519;
}

static const VpndCryptoOps sodium_crypto_ops = {
	.supports = supports,
	.hasher_new = hasher_new,
	.prf_new = prf_new,
	.integrity_new = integrity_new,
	.cipher_new = cipher_new,
	.aead_new = aead_new,
	.ke_new = ke_new,
	.privkey_load = privkey_load,
	.privkey_generate = privkey_generate,
	.pubkey_load = pubkey_load,
	.cert_load = cert_load,
	.cert_verify = cert_verify,
	.random = random_bytes,
};

static gboolean
crypto_sodium_init(VpndHost *host, GError **error)
{
	const char *prio = vpnd_host_get_setting(host, "plugins.crypto-sodium.priority");

	if (sodium_init() < 0) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_FAILED,
			    "libsodium %s failed to initialise (no usable random source?)",
			    sodium_version_string());
		return FALSE;
	}
	vpnd_host_add_provider(host, VPND_PROVIDER_CRYPTO, "sodium", &sodium_crypto_ops,
			       prio ? (gint)g_ascii_strtoll(prio, NULL, 10) : DEFAULT_PRIORITY,
			       NULL);
	vpnd_debug("crypto-sodium: libsodium %s", sodium_version_string());
	return TRUE;
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
	.abi = VPND_PLUGIN_ABI,
	.struct_size = sizeof(VpndPlugin),
	.name = "crypto-sodium",
	.init = crypto_sodium_init,
	.fini = NULL,
};
