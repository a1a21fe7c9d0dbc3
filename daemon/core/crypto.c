/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/crypto.h"
#include "core/ke_pool.h"

#define AES_PRF_KEY_LEN 16

const VpndCryptoOps *
crypto_provider_ops(const HostProvider *provider)
{
	g_return_val_if_fail(provider != NULL, NULL);
	g_return_val_if_fail(provider->kind == VPND_PROVIDER_CRYPTO, NULL);
	return provider->ops;
}

const HostProvider *
crypto_find(VpndHost *host, VpndAlgType type, guint id, guint key_bits)
{
	GPtrArray *list = host_get_providers(host, VPND_PROVIDER_CRYPTO);

	for (guint i = 0; list && i < list->len; i++) {
		const HostProvider *p = list->pdata[i];
		const VpndCryptoOps *ops = p->ops;
		if (ops->supports(type, id, key_bits))
			return p;
	}
	return NULL;
}

/* The plugin ABI's view of crypto_find(): plugins get the ops table only. */
gconstpointer
vpnd_host_get_crypto(VpndHost *host, guint type, guint id, guint key_bits)
{
	g_return_val_if_fail(host != NULL, NULL);

	const HostProvider *p = crypto_find(host, (VpndAlgType)type, id, key_bits);
	return p ? p->ops : NULL;
}

const HostProvider *
crypto_find_by_name(VpndHost *host, const char *name)
{
	GPtrArray *list = host_get_providers(host, VPND_PROVIDER_CRYPTO);

	for (guint i = 0; list && i < list->len; i++) {
		const HostProvider *p = list->pdata[i];
		if (g_strcmp0(p->name, name) == 0)
			return p;
	}
	return NULL;
}

static gboolean
no_provider(GError **error, VpndAlgType type, const char *what)
{
	g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
	            "no crypto provider offers %s %s", vpnd_alg_type_to_string(type), what);
	return FALSE;
}

static gboolean
check_supported(const HostProvider *p, VpndAlgType type, guint id, guint key_bits, const char *what,
                GError **error)
{
	if (crypto_provider_ops(p)->supports(type, id, key_bits))
		return TRUE;
	g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
	            "crypto provider \"%s\" does not offer %s %s", p->name,
	            vpnd_alg_type_to_string(type), what);
	return FALSE;
}

/* ---- Hash ---------------------------------------------------------------------- */

VpndHasher *
crypto_hasher_new_from(const HostProvider *p, VpndHashId id, GError **error)
{
	if (!check_supported(p, VPND_ALG_HASH, id, 0, vpnd_hash_to_string(id), error))
		return NULL;
	return crypto_provider_ops(p)->hasher_new(id, error);
}

VpndHasher *
crypto_hasher_new(VpndHost *host, VpndHashId id, GError **error)
{
	const HostProvider *p = crypto_find(host, VPND_ALG_HASH, id, 0);

	if (!p) {
		no_provider(error, VPND_ALG_HASH, vpnd_hash_to_string(id));
		return NULL;
	}
	return crypto_hasher_new_from(p, id, error);
}

/* ---- PRF --------------------------------------------------------------------------- */

static gboolean
prf_is_aes(VpndPrfId id)
{
	return id == VPND_PRF_AES128_XCBC || id == VPND_PRF_AES128_CMAC;
}

VpndPrf *
crypto_prf_new_from(const HostProvider *p, VpndPrfId id, const guint8 *key, gsize key_len,
                    GError **error)
{
	const VpndCryptoOps *ops = crypto_provider_ops(p);

	if (!check_supported(p, VPND_ALG_PRF, id, 0, vpnd_prf_to_string(id), error))
		return NULL;
	if (!prf_is_aes(id) || key_len == AES_PRF_KEY_LEN)
		return ops->prf_new(id, key, key_len, error);

	/*
	 * Fit the key to 128 bits first. RFC 4434 §2 (XCBC): zero-pad a shorter key, reduce
	 * a longer one with the PRF under a zero key. RFC 4615 §3 (CMAC): reduce every
	 * key of another length that way.
	 */
	guint8 fitted[AES_PRF_KEY_LEN] = {0};
	if (id == VPND_PRF_AES128_XCBC && key_len < AES_PRF_KEY_LEN) {
		memcpy(fitted, key, key_len);
	} else {
		VpndPrf *zero = ops->prf_new(id, fitted, sizeof(fitted), error);
		if (!zero)
			return NULL;
		vpnd_prf_update(zero, key, key_len);
		vpnd_prf_finish(zero, fitted);
		vpnd_prf_free(zero);
	}
	VpndPrf *prf = ops->prf_new(id, fitted, sizeof(fitted), error);
	explicit_bzero(fitted, sizeof(fitted));
	return prf;
}

VpndPrf *
crypto_prf_new(VpndHost *host, VpndPrfId id, const guint8 *key, gsize key_len, GError **error)
{
	const HostProvider *p = crypto_find(host, VPND_ALG_PRF, id, 0);

	if (!p) {
		no_provider(error, VPND_ALG_PRF, vpnd_prf_to_string(id));
		return NULL;
	}
	return crypto_prf_new_from(p, id, key, key_len, error);
}

/* ---- Integrity ----------------------------------------------------------------------- */

VpndIntegrity *
crypto_integrity_new_from(const HostProvider *p, VpndIntegId id, const guint8 *key, gsize key_len,
                          GError **error)
{
	if (!check_supported(p, VPND_ALG_INTEG, id, 0, vpnd_integ_to_string(id), error))
		return NULL;
	return crypto_provider_ops(p)->integrity_new(id, key, key_len, error);
}

VpndIntegrity *
crypto_integrity_new(VpndHost *host, VpndIntegId id, const guint8 *key, gsize key_len,
                     GError **error)
{
	const HostProvider *p = crypto_find(host, VPND_ALG_INTEG, id, 0);

	if (!p) {
		no_provider(error, VPND_ALG_INTEG, vpnd_integ_to_string(id));
		return NULL;
	}
	return crypto_integrity_new_from(p, id, key, key_len, error);
}

/* ---- Ciphers and AEADs ------------------------------------------------------------- */

gboolean
crypto_encr_is_aead(VpndEncrId id)
{
	return vpnd_encr_is_aead(id);
}

gsize
crypto_encr_salt_len(VpndEncrId id)
{
	switch (id) {
	case VPND_ENCR_AES_CBC:
		return 0;
	case VPND_ENCR_AES_CCM_8:
	case VPND_ENCR_AES_CCM_12:
	case VPND_ENCR_AES_CCM_16:
		return 3;
	case VPND_ENCR_AES_CTR:
	case VPND_ENCR_AES_GCM_8:
	case VPND_ENCR_AES_GCM_12:
	case VPND_ENCR_AES_GCM_16:
	case VPND_ENCR_CHACHA20_POLY1305:
		return 4;
	}
	return 0;
}

/* The cipher key size in bits that @key_len bytes of keymat mean; 0 when too short. */
static guint
encr_key_bits(VpndEncrId id, gsize key_len)
{
	gsize salt = crypto_encr_salt_len(id);

	return key_len > salt ? (guint)((key_len - salt) * 8) : 0;
}

VpndCipher *
crypto_cipher_new_from(const HostProvider *p, VpndEncrId id, const guint8 *key, gsize key_len,
                       GError **error)
{
	if (crypto_encr_is_aead(id)) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
		            "%s is an AEAD, not a cipher", vpnd_encr_to_string(id));
		return NULL;
	}
	if (!check_supported(p, VPND_ALG_ENCR, id, encr_key_bits(id, key_len),
	                     vpnd_encr_to_string(id), error))
		return NULL;
	return crypto_provider_ops(p)->cipher_new(id, key, key_len, error);
}

VpndCipher *
crypto_cipher_new(VpndHost *host, VpndEncrId id, const guint8 *key, gsize key_len, GError **error)
{
	const HostProvider *p = crypto_find(host, VPND_ALG_ENCR, id, encr_key_bits(id, key_len));

	if (!p) {
		no_provider(error, VPND_ALG_ENCR, vpnd_encr_to_string(id));
		return NULL;
	}
	return crypto_cipher_new_from(p, id, key, key_len, error);
}

VpndAead *
crypto_aead_new_from(const HostProvider *p, VpndEncrId id, const guint8 *key, gsize key_len,
                     GError **error)
{
	if (!crypto_encr_is_aead(id)) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
		            "%s is not an AEAD", vpnd_encr_to_string(id));
		return NULL;
	}
	if (!check_supported(p, VPND_ALG_ENCR, id, encr_key_bits(id, key_len),
	                     vpnd_encr_to_string(id), error))
		return NULL;
	return crypto_provider_ops(p)->aead_new(id, key, key_len, error);
}

VpndAead *
crypto_aead_new(VpndHost *host, VpndEncrId id, const guint8 *key, gsize key_len, GError **error)
{
	const HostProvider *p = crypto_find(host, VPND_ALG_ENCR, id, encr_key_bits(id, key_len));

	if (!p) {
		no_provider(error, VPND_ALG_ENCR, vpnd_encr_to_string(id));
		return NULL;
	}
	return crypto_aead_new_from(p, id, key, key_len, error);
}

/* ---- Key exchange ----------------------------------------------------------------- */

/* Whether @p may make key exchanges of group @id under @flags. */
static gboolean
ke_allowed(const HostProvider *p, VpndKeId id, CryptoKeFlags flags, GError **error)
{
	if (id == VPND_KE_MODP_1024) {
		if (!(flags & CRYPTO_KE_ALLOW_MODP_1024)) {
			g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
			            "MODP_1024 (group 2) is too weak and not enabled");
			return FALSE;
		}
		g_warning("using the weak MODP_1024 key exchange (group 2): "
		          "move this peer to group 14 or better");
	}
	return check_supported(p, VPND_ALG_KE, id, 0, vpnd_ke_to_string(id), error);
}

VpndKe *
crypto_ke_new_from(const HostProvider *p, VpndKeId id, CryptoKeFlags flags, GError **error)
{
	if (!ke_allowed(p, id, flags, error))
		return NULL;
	return crypto_provider_ops(p)->ke_new(id, error);
}

VpndKe *
crypto_ke_new(VpndHost *host, VpndKeId id, CryptoKeFlags flags, GError **error)
{
	const HostProvider *p = crypto_find(host, VPND_ALG_KE, id, 0);
	KePool *pool = host_get_ke_pool(host);
	VpndKe *ke;

	if (!p) {
		no_provider(error, VPND_ALG_KE, vpnd_ke_to_string(id));
		return NULL;
	}
	if (!ke_allowed(p, id, flags, error))
		return NULL;
	if (pool && (ke = ke_pool_take(pool, p, id)))
		return ke;
	return crypto_provider_ops(p)->ke_new(id, error);
}

void
crypto_ke_prepare(VpndHost *host, VpndKeId id)
{
	const HostProvider *p = crypto_find(host, VPND_ALG_KE, id, 0);
	KePool *pool = host_get_ke_pool(host);

	if (pool && p && ke_allowed(p, id, CRYPTO_KE_NONE, NULL))
		ke_pool_prepare(pool, p, id);
}

/* ---- Keys and certificates ---------------------------------------------------------- */

static const HostProvider *
find_x509(VpndHost *host, GError **error)
{
	const HostProvider *p = crypto_find(host, VPND_ALG_X509, 0, 0);

	if (!p)
		no_provider(error, VPND_ALG_X509, "keys and certificates");
	return p;
}

VpndPrivKey *
crypto_privkey_load_from(const HostProvider *p, const guint8 *data, gsize len, GError **error)
{
	return crypto_provider_ops(p)->privkey_load(data, len, error);
}

VpndPrivKey *
crypto_privkey_load(VpndHost *host, const guint8 *data, gsize len, GError **error)
{
	const HostProvider *p = find_x509(host, error);

	return p ? crypto_privkey_load_from(p, data, len, error) : NULL;
}

VpndPrivKey *
crypto_privkey_generate_from(const HostProvider *p, VpndKeyType type, guint bits, GError **error)
{
	return crypto_provider_ops(p)->privkey_generate(type, bits, error);
}

VpndPubKey *
crypto_pubkey_load_from(const HostProvider *p, const guint8 *data, gsize len, GError **error)
{
	return crypto_provider_ops(p)->pubkey_load(data, len, error);
}

VpndPubKey *
crypto_pubkey_load(VpndHost *host, const guint8 *data, gsize len, GError **error)
{
	const HostProvider *p = find_x509(host, error);

	return p ? crypto_pubkey_load_from(p, data, len, error) : NULL;
}

VpndCert *
crypto_cert_load_from(const HostProvider *p, const guint8 *data, gsize len, GError **error)
{
	return crypto_provider_ops(p)->cert_load(data, len, error);
}

gboolean
crypto_cert_verify_from(const HostProvider *p, VpndCert *leaf, VpndCert *const *intermediates,
                        guint n_intermediates, VpndCert *const *anchors, guint n_anchors,
                        GError **error)
{
	return crypto_provider_ops(p)->cert_verify(leaf, intermediates, n_intermediates, anchors,
	                                           n_anchors, error);
}

/*
 * Random bytes have no algorithm to choose a provider by: the highest-priority one
 * serves them, even a provider that offers a single algorithm (crypto-sodium). The ABI
 * requires every provider's random() to be a cryptographic generator.
 */
gboolean
crypto_random(VpndHost *host, guint8 *buf, gsize len, gboolean key, GError **error)
{
	const HostProvider *p = host_get_best(host, VPND_PROVIDER_CRYPTO);

	if (!p)
		return no_provider(error, VPND_ALG_KE, "random bytes");
	return crypto_provider_ops(p)->random(buf, len, key, error);
}

/* ---- prf+ and IKEv2 key derivation -------------------------------------------------- */

VpndSecret *
crypto_prf_plus(VpndPrf *prf, const guint8 *seed, gsize seed_len, gsize len, GError **error)
{
	gsize blocks = (len + prf->out_len - 1) / prf->out_len;

	if (blocks > VPND_PRF_PLUS_MAX_BLOCKS) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH,
		            "prf+ cannot give %" G_GSIZE_FORMAT " bytes with %s", len,
		            vpnd_prf_to_string(prf->id));
		return NULL;
	}

	g_autoptr(VpndSecret) out = vpnd_secret_new(blocks * prf->out_len);
	for (gsize n = 1; n <= blocks; n++) {
		guint8 counter = (guint8)n;
		guint8 *block = out->data + (n - 1) * prf->out_len;
		if (n > 1)
			vpnd_prf_update(prf, block - prf->out_len, prf->out_len);
		vpnd_prf_update(prf, seed, seed_len);
		vpnd_prf_update(prf, &counter, 1);
		vpnd_prf_finish(prf, block);
	}
	VpndSecret *result = vpnd_secret_new_from_data(out->data, len);
	return result;
}

/* prf(key, a | b | c) in one call; any of the parts may be empty. */
static VpndSecret *
prf_once(const HostProvider *p, VpndPrfId id, const guint8 *key, gsize key_len, const guint8 *a,
         gsize a_len, const guint8 *b, gsize b_len, const guint8 *c, gsize c_len, GError **error)
{
	g_autoptr(VpndPrf) prf = crypto_prf_new_from(p, id, key, key_len, error);

	if (!prf)
		return NULL;
	VpndSecret *out = vpnd_secret_new(prf->out_len);
	vpnd_prf_update(prf, a, a_len);
	vpnd_prf_update(prf, b, b_len);
	vpnd_prf_update(prf, c, c_len);
	vpnd_prf_finish(prf, out->data);
	return out;
}

/* prf+(key, a | b | c | d) */
static VpndSecret *
prf_plus_once(const HostProvider *p, VpndPrfId id, const VpndSecret *key, const guint8 *a,
              gsize a_len, const guint8 *b, gsize b_len, const guint8 *c, gsize c_len,
              const guint8 *d, gsize d_len, gsize len, GError **error)
{
	g_autoptr(VpndPrf) prf = crypto_prf_new_from(p, id, key->data, key->len, error);

	if (!prf)
		return NULL;
	g_autoptr(VpndSecret) seed = vpnd_secret_new(a_len + b_len + c_len + d_len);
	guint8 *at = seed->data;
	const struct {
		const guint8 *p;
		gsize len;
	} parts[] = {{a, a_len}, {b, b_len}, {c, c_len}, {d, d_len}};
	for (guint i = 0; i < G_N_ELEMENTS(parts); i++) {
		if (parts[i].len)
			memcpy(at, parts[i].p, parts[i].len);
		at += parts[i].len;
	}
	return crypto_prf_plus(prf, seed->data, seed->len, len, error);
}

VpndSecret *
crypto_ikev2_skeyseed(const HostProvider *p, VpndPrfId prf, const guint8 *ni, gsize ni_len,
                      const guint8 *nr, gsize nr_len, const VpndSecret *gir, GError **error)
{
	g_autoptr(VpndSecret) key = NULL;

	if (prf_is_aes(prf)) {
		/* RFC 7296 §2.14: a fixed-length key takes half its bits from each nonce */
		gsize half = AES_PRF_KEY_LEN / 2;
		if (ni_len < half || nr_len < half) {
			g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH,
			            "nonces too short for %s", vpnd_prf_to_string(prf));
			return NULL;
		}
		key = vpnd_secret_new(AES_PRF_KEY_LEN);
		memcpy(key->data, ni, half);
		memcpy(key->data + half, nr, half);
	} else {
		key = vpnd_secret_new(ni_len + nr_len);
		memcpy(key->data, ni, ni_len);
		memcpy(key->data + ni_len, nr, nr_len);
	}
	return prf_once(p, prf, key->data, key->len, gir->data, gir->len, NULL, 0, NULL, 0, error);
}

VpndSecret *
crypto_ikev2_skeyseed_rekey(const HostProvider *p, VpndPrfId prf, const VpndSecret *sk_d_old,
                            const VpndSecret *gir_new, const guint8 *ni, gsize ni_len,
                            const guint8 *nr, gsize nr_len, GError **error)
{
	return prf_once(p, prf, sk_d_old->data, sk_d_old->len, gir_new->data, gir_new->len, ni,
	                ni_len, nr, nr_len, error);
}

VpndSecret *
crypto_ikev2_ike_keymat(const HostProvider *p, VpndPrfId prf, const VpndSecret *skeyseed,
                        const guint8 *ni, gsize ni_len, const guint8 *nr, gsize nr_len,
                        const guint8 spi_i[8], const guint8 spi_r[8], gsize len, GError **error)
{
	return prf_plus_once(p, prf, skeyseed, ni, ni_len, nr, nr_len, spi_i, 8, spi_r, 8, len,
	                     error);
}

VpndSecret *
crypto_ikev2_child_keymat(const HostProvider *p, VpndPrfId prf, const VpndSecret *sk_d,
                          const VpndSecret *gir, const guint8 *ni, gsize ni_len, const guint8 *nr,
                          gsize nr_len, gsize len, GError **error)
{
	return prf_plus_once(p, prf, sk_d, gir ? gir->data : NULL, gir ? gir->len : 0, ni, ni_len,
	                     nr, nr_len, NULL, 0, len, error);
}

/* ---- Listings ---------------------------------------------------------------------- */

static const char *const algorithm_classes[] = {
	"encryption", "integrity", "aead", "hasher", "prf", "xof",
	"kdf",        "drbg",      "dh",   "rng",    "nonce-gen", NULL,
};

const char *const *
crypto_algorithm_classes(void)
{
	return algorithm_classes;
}

/* The algorithms of each class, with the spelling listings use. */
typedef struct {
	const char *klass;
	VpndAlgType type;
	guint id;
	const char *name;
} ListedAlg;

static const ListedAlg listed_algs[] = {
	{ "encryption", VPND_ALG_ENCR, VPND_ENCR_AES_CBC, "AES_CBC" },
	{ "encryption", VPND_ALG_ENCR, VPND_ENCR_AES_CTR, "AES_CTR" },
	{ "integrity", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA1_96, "HMAC_SHA1_96" },
	{ "integrity", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_256_128, "HMAC_SHA2_256_128" },
	{ "integrity", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_384_192, "HMAC_SHA2_384_192" },
	{ "integrity", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_512_256, "HMAC_SHA2_512_256" },
	{ "integrity", VPND_ALG_INTEG, VPND_INTEG_AES_XCBC_96, "AES_XCBC_96" },
	{ "integrity", VPND_ALG_INTEG, VPND_INTEG_AES_CMAC_96, "AES_CMAC_96" },
	{ "aead", VPND_ALG_ENCR, VPND_ENCR_AES_GCM_16, "AES_GCM_16" },
	{ "aead", VPND_ALG_ENCR, VPND_ENCR_AES_GCM_12, "AES_GCM_12" },
	{ "aead", VPND_ALG_ENCR, VPND_ENCR_AES_GCM_8, "AES_GCM_8" },
	{ "aead", VPND_ALG_ENCR, VPND_ENCR_AES_CCM_16, "AES_CCM_16" },
	{ "aead", VPND_ALG_ENCR, VPND_ENCR_AES_CCM_12, "AES_CCM_12" },
	{ "aead", VPND_ALG_ENCR, VPND_ENCR_AES_CCM_8, "AES_CCM_8" },
	{ "aead", VPND_ALG_ENCR, VPND_ENCR_CHACHA20_POLY1305, "CHACHA20_POLY1305" },
	{ "hasher", VPND_ALG_HASH, VPND_HASH_SHA1, "HASH_SHA1" },
	{ "hasher", VPND_ALG_HASH, VPND_HASH_SHA2_256, "HASH_SHA2_256" },
	{ "hasher", VPND_ALG_HASH, VPND_HASH_SHA2_384, "HASH_SHA2_384" },
	{ "hasher", VPND_ALG_HASH, VPND_HASH_SHA2_512, "HASH_SHA2_512" },
	{ "hasher", VPND_ALG_HASH, VPND_HASH_IDENTITY, "HASH_IDENTITY" },
	{ "prf", VPND_ALG_PRF, VPND_PRF_HMAC_SHA1, "PRF_HMAC_SHA1" },
	{ "prf", VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_256, "PRF_HMAC_SHA2_256" },
	{ "prf", VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_384, "PRF_HMAC_SHA2_384" },
	{ "prf", VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_512, "PRF_HMAC_SHA2_512" },
	{ "prf", VPND_ALG_PRF, VPND_PRF_AES128_XCBC, "PRF_AES128_XCBC" },
	{ "prf", VPND_ALG_PRF, VPND_PRF_AES128_CMAC, "PRF_AES128_CMAC" },
	{ "dh", VPND_ALG_KE, VPND_KE_MODP_2048, "MODP_2048" },
	{ "dh", VPND_ALG_KE, VPND_KE_MODP_3072, "MODP_3072" },
	{ "dh", VPND_ALG_KE, VPND_KE_MODP_4096, "MODP_4096" },
	{ "dh", VPND_ALG_KE, VPND_KE_MODP_6144, "MODP_6144" },
	{ "dh", VPND_ALG_KE, VPND_KE_MODP_8192, "MODP_8192" },
	{ "dh", VPND_ALG_KE, VPND_KE_MODP_1024, "MODP_1024" },
	{ "dh", VPND_ALG_KE, VPND_KE_ECP_256, "ECP_256" },
	{ "dh", VPND_ALG_KE, VPND_KE_ECP_384, "ECP_384" },
	{ "dh", VPND_ALG_KE, VPND_KE_ECP_521, "ECP_521" },
	{ "dh", VPND_ALG_KE, VPND_KE_CURVE25519, "CURVE_25519" },
	{ "dh", VPND_ALG_KE, VPND_KE_CURVE448, "CURVE_448" },
};

static void
list_provider(const HostProvider *p, const char *klass, CryptoAlgFunc func, gpointer user_data)
{
	const VpndCryptoOps *ops = p->ops;
	const char *plugin = p->plugin ? p->plugin : p->name;

	for (guint i = 0; i < G_N_ELEMENTS(listed_algs); i++) {
		const ListedAlg *a = &listed_algs[i];
		if (g_str_equal(a->klass, klass) && ops->supports(a->type, a->id, 0))
			func(a->name, plugin, user_data);
	}
	/* every provider has both kinds of random bytes (random(key = FALSE/TRUE)) */
	if (g_str_equal(klass, "rng")) {
		func("RNG_WEAK", plugin, user_data);
		func("RNG_STRONG", plugin, user_data);
	}
}

void
crypto_list_algorithms(VpndHost *host, const char *klass, CryptoAlgFunc func,
		       gpointer user_data)
{
	GPtrArray *list = host_get_providers(host, VPND_PROVIDER_CRYPTO);

	for (guint i = 0; list && i < list->len; i++)
		list_provider(list->pdata[i], klass, func, user_data);
	/* prf+ (RFC 7296 2.13) is the daemon's own, over any provider's PRF */
	if (g_str_equal(klass, "kdf") && list && list->len)
		func("KDF_PRF_PLUS", "vpnd", user_data);
}

const char *
crypto_algorithm_name(VpndAlgType type, guint id)
{
	for (guint i = 0; i < G_N_ELEMENTS(listed_algs); i++) {
		if (listed_algs[i].type == type && listed_algs[i].id == id)
			return listed_algs[i].name;
	}
	return NULL;
}
