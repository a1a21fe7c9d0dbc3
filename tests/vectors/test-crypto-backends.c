/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crypto plugins against each other and against bad input:
 *   /crypto/cross/…     random inputs (fixed-seed GRand) give the same output in every
 *                       backend; key exchanges and signatures work across backends
 *   /crypto/BACKEND/…   invalid public values, wrong ICVs, truncated ciphertext, wrong
 *                       key lengths, garbage keys; X.509 chains
 *   /crypto/facade/…    provider choice, MODP_1024 policy, prf+ limits
 */
#include "core/ke_pool.h"
#include "core/log.h"
#include "crypto-test.h"
#include "../../plugins/crypto-gnutls/modp_groups.h"

#define SEED 0x7a3e11u
#define ROUNDS 24

#define DATA(b) ((const guint8 *)g_bytes_get_data((b), NULL))
#define LEN(b) g_bytes_get_size(b)

static const char *
other_backend(const char *backend)
{
	return strcmp(backend, "gnutls") == 0 ? "openssl" : "gnutls";
}

static guint8 *
random_buf(GRand *r, gsize len)
{
	guint8 *b = g_malloc(len + 1);

	for (gsize i = 0; i < len; i++)
		b[i] = (guint8)g_rand_int_range(r, 0, 256);
	return b;
}

static void
assert_same(const guint8 *a, const guint8 *b, gsize len)
{
	g_autofree char *ha = crypto_test_to_hex(a, len);
	g_autofree char *hb = crypto_test_to_hex(b, len);

	g_assert_cmpstr(ha, ==, hb);
}

/* ---- cross: hashes, PRFs, MACs -------------------------------------------------------------- */

static void
test_cross_hash(gconstpointer data)
{
	VpndHashId id = GPOINTER_TO_UINT(data);
	g_autoptr(GRand) r = g_rand_new_with_seed(SEED + id);
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndHasher) a =
	        crypto_hasher_new_from(crypto_test_provider("gnutls"), id, &error);
	g_autoptr(VpndHasher) b =
	        crypto_hasher_new_from(crypto_test_provider("openssl"), id, &error);

	g_assert_no_error(error);
	for (guint round = 0; round < ROUNDS; round++) {
		gsize len = g_rand_int_range(r, 0, 600),
		      cut = len ? g_rand_int_range(r, 0, len) : 0;
		g_autofree guint8 *msg = random_buf(r, len);
		guint8 ha[VPND_HASH_MAX_LEN], hb[VPND_HASH_MAX_LEN];
		vpnd_hasher_update(a, msg, len);
		vpnd_hasher_finish(a, ha);
		vpnd_hasher_update(b, msg, cut);
		vpnd_hasher_update(b, msg + cut, len - cut);
		vpnd_hasher_finish(b, hb);
		assert_same(ha, hb, a->hash_len);
	}
}

static void
test_cross_prf(gconstpointer data)
{
	VpndPrfId id = GPOINTER_TO_UINT(data);
	g_autoptr(GRand) r = g_rand_new_with_seed(SEED + id);

	for (guint round = 0; round < ROUNDS; round++) {
		g_autoptr(GError) error = NULL;
		gsize klen = g_rand_int_range(r, 1, 80), len = g_rand_int_range(r, 0, 400);
		g_autofree guint8 *key = random_buf(r, klen);
		g_autofree guint8 *msg = random_buf(r, len);
		g_autoptr(VpndPrf) a =
		        crypto_prf_new_from(crypto_test_provider("gnutls"), id, key, klen, &error);
		g_assert_no_error(error);
		g_autoptr(VpndPrf) b =
		        crypto_prf_new_from(crypto_test_provider("openssl"), id, key, klen, &error);
		g_assert_no_error(error);
		guint8 oa[VPND_PRF_MAX_LEN], ob[VPND_PRF_MAX_LEN];
		vpnd_prf_update(a, msg, len);
		vpnd_prf_finish(a, oa);
		vpnd_prf_update(b, msg, len);
		vpnd_prf_finish(b, ob);
		g_assert_cmpuint(a->out_len, ==, b->out_len);
		assert_same(oa, ob, a->out_len);

		/* prf+ over both, long enough for several blocks */
		g_autoptr(VpndSecret) pa = crypto_prf_plus(a, msg, len, 200, &error);
		g_autoptr(VpndSecret) pb = crypto_prf_plus(b, msg, len, 200, &error);
		g_assert_no_error(error);
		assert_same(pa->data, pb->data, 200);
	}
}

static void
test_cross_integ(gconstpointer data)
{
	VpndIntegId id = GPOINTER_TO_UINT(data);
	g_autoptr(GRand) r = g_rand_new_with_seed(SEED + id);
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndIntegrity) probe =
	        crypto_integrity_new_from(crypto_test_provider("gnutls"), id,
	                                  (const guint8 *)"0123456789abcdef0123456789abcdef"
	                                                  "0123456789abcdef0123456789abcdef",
	                                  0, &error);

	/* the key length the transform wants, from the refusal of a wrong one */
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_assert_null(probe);
	gsize klen = 0;
	for (gsize l = 1; l <= 64 && !klen; l++) {
		g_autoptr(GError) e = NULL;
		guint8 k[64] = {0};
		g_autoptr(VpndIntegrity) t =
		        crypto_integrity_new_from(crypto_test_provider("gnutls"), id, k, l, &e);
		if (t)
			klen = l;
	}
	g_assert_cmpuint(klen, >, 0);

	for (guint round = 0; round < ROUNDS; round++) {
		g_autoptr(GError) e = NULL;
		gsize len = g_rand_int_range(r, 0, 1500);
		g_autofree guint8 *key = random_buf(r, klen);
		g_autofree guint8 *msg = random_buf(r, len);
		g_autoptr(VpndIntegrity) a = crypto_integrity_new_from(
		        crypto_test_provider("gnutls"), id, key, klen, &e);
		g_autoptr(VpndIntegrity) b = crypto_integrity_new_from(
		        crypto_test_provider("openssl"), id, key, klen, &e);
		g_assert_no_error(e);
		guint8 ia[VPND_ICV_MAX_LEN], ib[VPND_ICV_MAX_LEN];
		vpnd_integrity_compute(a, msg, len, ia);
		vpnd_integrity_compute(b, msg, len, ib);
		assert_same(ia, ib, a->icv_len);
		g_assert_true(vpnd_integrity_verify(b, msg, len, ia, a->icv_len));
	}
}

/* ---- cross: ciphers and AEADs ------------------------------------------------------------------
 */

typedef struct {
	VpndEncrId id;
	guint key_bits;
} EncrCase;

static const EncrCase encr_cases[] = {
        {VPND_ENCR_AES_CBC, 128},           {VPND_ENCR_AES_CBC, 192},
        {VPND_ENCR_AES_CBC, 256},           {VPND_ENCR_AES_CTR, 128},
        {VPND_ENCR_AES_CTR, 192},           {VPND_ENCR_AES_CTR, 256},
        {VPND_ENCR_AES_GCM_8, 128},         {VPND_ENCR_AES_GCM_12, 192},
        {VPND_ENCR_AES_GCM_16, 128},        {VPND_ENCR_AES_GCM_16, 192},
        {VPND_ENCR_AES_GCM_16, 256},        {VPND_ENCR_AES_CCM_8, 128},
        {VPND_ENCR_AES_CCM_12, 192},        {VPND_ENCR_AES_CCM_16, 128},
        {VPND_ENCR_AES_CCM_16, 192},        {VPND_ENCR_AES_CCM_16, 256},
        {VPND_ENCR_CHACHA20_POLY1305, 256},
};

static void
test_cross_encr(gconstpointer data)
{
	const EncrCase *c = data;
	g_autoptr(GRand) r = g_rand_new_with_seed(SEED + c->id * 1000 + c->key_bits);
	gboolean aead = crypto_encr_is_aead(c->id);
	gsize klen = c->key_bits / 8 + crypto_encr_salt_len(c->id);

	for (guint round = 0; round < ROUNDS; round++) {
		g_autoptr(GError) error = NULL;
		g_autofree guint8 *key = random_buf(r, klen);
		gsize len = g_rand_int_range(r, 0, 1500);
		if (c->id == VPND_ENCR_AES_CBC)
			len -= len % 16;
		gsize aad_len = g_rand_int_range(r, 0, 40);
		g_autofree guint8 *aad = random_buf(r, aad_len);
		g_autofree guint8 *iv = random_buf(r, 16);
		g_autofree guint8 *pt = random_buf(r, len);
		g_autofree guint8 *ba = g_memdup2(pt, len + 1);
		g_autofree guint8 *bb = g_memdup2(pt, len + 1);
		guint8 ia[16], ib[16];

		if (aead) {
			g_autoptr(VpndAead) a = crypto_aead_new_from(crypto_test_provider("gnutls"),
			                                             c->id, key, klen, &error);
			g_assert_no_error(error);
			g_autoptr(VpndAead) b = crypto_aead_new_from(
			        crypto_test_provider("openssl"), c->id, key, klen, &error);
			g_assert_no_error(error);
			g_assert_true(vpnd_aead_encrypt(a, iv, aad, aad_len, ba, len, ia));
			g_assert_true(vpnd_aead_encrypt(b, iv, aad, aad_len, bb, len, ib));
			assert_same(ba, bb, len);
			assert_same(ia, ib, a->icv_len);
			/* each decrypts what the other made */
			g_assert_true(vpnd_aead_decrypt(b, iv, aad, aad_len, ba, len, ia));
			g_assert_true(vpnd_aead_decrypt(a, iv, aad, aad_len, bb, len, ib));
			assert_same(ba, pt, len);
			assert_same(bb, pt, len);
		} else {
			g_autoptr(VpndCipher) a = crypto_cipher_new_from(
			        crypto_test_provider("gnutls"), c->id, key, klen, &error);
			g_assert_no_error(error);
			g_autoptr(VpndCipher) b = crypto_cipher_new_from(
			        crypto_test_provider("openssl"), c->id, key, klen, &error);
			g_assert_no_error(error);
			g_assert_true(vpnd_cipher_encrypt(a, iv, ba, len));
			g_assert_true(vpnd_cipher_encrypt(b, iv, bb, len));
			assert_same(ba, bb, len);
			g_assert_true(vpnd_cipher_decrypt(b, iv, ba, len));
			assert_same(ba, pt, len);
		}
	}
}

/* ---- cross: key exchange ------------------------------------------------------------------------
 */

static const VpndKeId ke_ids[] = {
        VPND_KE_MODP_1024, VPND_KE_MODP_2048,  VPND_KE_MODP_3072, VPND_KE_MODP_4096,
        VPND_KE_MODP_6144, VPND_KE_MODP_8192,  VPND_KE_ECP_256,   VPND_KE_ECP_384,
        VPND_KE_ECP_521,   VPND_KE_CURVE25519, VPND_KE_CURVE448,
};

static GPtrArray *warnings;

static void
capture_warning(LogLevel level, const char *domain, const char *message, gpointer user_data)
{
	if (level == LOG_LEVEL_WARNING)
		g_ptr_array_add(warnings, g_strdup(message));
}

static void
test_cross_ke(gconstpointer data)
{
	VpndKeId id = GPOINTER_TO_UINT(data);
	g_autoptr(GError) error = NULL;
	CryptoKeFlags flags = id == VPND_KE_MODP_1024 ? CRYPTO_KE_ALLOW_MODP_1024 : 0;

	for (guint round = 0; round < 2; round++) {
		g_autoptr(VpndKe) a =
		        crypto_ke_new_from(crypto_test_provider("gnutls"), id, flags, &error);
		g_assert_no_error(error);
		g_autoptr(VpndKe) b =
		        crypto_ke_new_from(crypto_test_provider("openssl"), id, flags, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(a->public_len, ==, b->public_len);
		g_assert_cmpuint(a->secret_len, ==, b->secret_len);
		g_autoptr(VpndSecret) sa =
		        vpnd_ke_compute(a, vpnd_ke_get_public(b), b->public_len, &error);
		g_assert_no_error(error);
		g_autoptr(VpndSecret) sb =
		        vpnd_ke_compute(b, vpnd_ke_get_public(a), a->public_len, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(sa->len, ==, a->secret_len);
		assert_same(sa->data, sb->data, sa->len);
	}
}

/* ---- bad input: key exchange
 * --------------------------------------------------------------------- */

static GBytes *
modp_prime(VpndKeId id)
{
	return crypto_test_hex(id == VPND_KE_MODP_2048 ? modp_2048 : modp_8192);
}

static void
assert_ke_refuses(VpndKe *ke, const guint8 *peer, gsize len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndSecret) s = vpnd_ke_compute(ke, peer, len, &error);

	g_assert_null(s);
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_INVALID_PUBLIC);
}

static void
test_bad_ke_modp(gconstpointer data)
{
	const char *backend = data;

	for (guint g = 0; g < 2; g++) {
		VpndKeId id = g ? VPND_KE_MODP_8192 : VPND_KE_MODP_2048;
		g_autoptr(GError) error = NULL;
		g_autoptr(VpndKe) ke =
		        crypto_ke_new_from(crypto_test_provider(backend), id, 0, &error);
		g_assert_no_error(error);
		g_autoptr(GBytes) p = modp_prime(id);
		gsize n = LEN(p);
		g_assert_cmpuint(n, ==, ke->public_len);
		g_autofree guint8 *v = g_malloc0(n + 1);

		assert_ke_refuses(ke, v, n); /* 0 */
		v[n - 1] = 1;
		assert_ke_refuses(ke, v, n); /* 1 */
		memcpy(v, DATA(p), n);
		assert_ke_refuses(ke, v, n); /* p */
		v[n - 1] -= 1;
		assert_ke_refuses(ke, v, n); /* p - 1 */
		memset(v, 0xff, n);
		assert_ke_refuses(ke, v, n); /* > p */
		assert_ke_refuses(ke, vpnd_ke_get_public(ke), n - 1);
		memset(v, 0, n + 1);
		memcpy(v + 1, vpnd_ke_get_public(ke), n);
		assert_ke_refuses(ke, v, n + 1); /* right value, one byte too long */
		assert_ke_refuses(ke, NULL, 0);

		/* 2 and p - 2 are in range */
		memset(v, 0, n);
		v[n - 1] = 2;
		g_autoptr(VpndSecret) s = vpnd_ke_compute(ke, v, n, &error);
		g_assert_no_error(error);
	}
}

static void
test_bad_ke_ecp(gconstpointer data)
{
	const char *backend = data;
	const VpndKeId ids[] = {VPND_KE_ECP_256, VPND_KE_ECP_384, VPND_KE_ECP_521};

	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(VpndKe) ke =
		        crypto_ke_new_from(crypto_test_provider(backend), ids[i], 0, &error);
		g_assert_no_error(error);
		gsize n = ke->public_len;
		g_autofree guint8 *v = g_malloc0(n + 2);

		assert_ke_refuses(ke, v, n); /* (0, 0) */
		memset(v, 0xaa, n);
		assert_ke_refuses(ke, v, n); /* off the curve */
		memset(v, 0xff, n);
		assert_ke_refuses(ke, v, n); /* coordinates >= p */
		memcpy(v, vpnd_ke_get_public(ke), n);
		v[n - 1] ^= 1;
		assert_ke_refuses(ke, v, n); /* our own point, y changed */
		assert_ke_refuses(ke, vpnd_ke_get_public(ke), n - 1);
		/* SEC 1 uncompressed form (0x04 || x || y) is not the IKE encoding */
		v[0] = 0x04;
		memcpy(v + 1, vpnd_ke_get_public(ke), n);
		assert_ke_refuses(ke, v, n + 1);
	}
}

/* Curve25519 u-coordinates of small order: the output is all zero for every scalar
 * (RFC 7748 §6.1 asks to refuse it). Little-endian; p = 2^255 - 19. */
static void
x25519_small_order_points(guint8 pts[][32], guint *n)
{
	/* an order-8 point (its x-coordinate is a root of x^2 + 1 on the Edwards curve) */
	static const guint8 order8[32] = {
	        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	        0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	        0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
	};
	const guint8 low[] = {0, 1, 0xec, 0xed, 0xee}; /* 0, 1, p - 1, p, p + 1 */

	*n = 0;
	for (guint i = 0; i < G_N_ELEMENTS(low); i++) {
		guint8 *u = pts[(*n)++];
		memset(u, low[i] >= 0xec ? 0xff : 0, 32);
		u[0] = low[i];
		if (low[i] >= 0xec)
			u[31] = 0x7f;
	}
	memcpy(pts[(*n)++], order8, 32);
	/* the top bit is ignored (RFC 7748 §5): the same points with it set */
	for (guint i = 0, m = *n; i < m; i++) {
		memcpy(pts[*n], pts[i], 32);
		pts[(*n)++][31] |= 0x80;
	}
}

static void
assert_x25519_refuses_small_order(VpndKe *ke)
{
	guint8 pts[16][32];
	guint n;

	x25519_small_order_points(pts, &n);
	for (guint i = 0; i < n; i++)
		assert_ke_refuses(ke, pts[i], 32);
}

static void
check_bad_montgomery(const char *backend, VpndKeId id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndKe) ke = crypto_ke_new_from(crypto_test_provider(backend), id, 0, &error);
	g_assert_no_error(error);
	gsize n = ke->public_len;
	guint8 v[57] = {0};

	assert_ke_refuses(ke, v, n); /* u = 0: all-zero output */
	v[0] = 1;
	assert_ke_refuses(ke, v, n); /* u = 1: small order, all-zero output */
	assert_ke_refuses(ke, v, n - 1);
	assert_ke_refuses(ke, v, n + 1);
	assert_ke_refuses(ke, NULL, 0);
	if (id == VPND_KE_CURVE25519)
		assert_x25519_refuses_small_order(ke);
}

static void
test_bad_ke_montgomery(gconstpointer data)
{
	check_bad_montgomery(data, VPND_KE_CURVE25519);
	check_bad_montgomery(data, VPND_KE_CURVE448);
}

/* ---- partial backends: crypto-sodium ------------------------------------------------------- */

static void
test_partial_bad_x25519(gconstpointer data)
{
	check_bad_montgomery(data, VPND_KE_CURVE25519);
}

/* A partial backend's X25519 against every full one, random keys, both directions. */
static void
test_partial_cross_x25519(gconstpointer data)
{
	const char *partial = data;

	for (guint b = 0; crypto_test_backends[b]; b++) {
		for (guint round = 0; round < 8; round++) {
			g_autoptr(GError) error = NULL;
			g_autoptr(VpndKe) a = crypto_ke_new_from(crypto_test_provider(partial),
			                                         VPND_KE_CURVE25519, 0, &error);
			g_assert_no_error(error);
			g_autoptr(VpndKe) f = crypto_ke_new_from(
			        crypto_test_provider(crypto_test_backends[b]), VPND_KE_CURVE25519,
			        0, &error);
			g_assert_no_error(error);
			g_assert_cmpuint(a->public_len, ==, 32);
			g_assert_cmpuint(a->secret_len, ==, 32);
			g_autoptr(VpndSecret) sa = vpnd_ke_compute(a, vpnd_ke_get_public(f), 32, &error);
			g_assert_no_error(error);
			g_autoptr(VpndSecret) sf = vpnd_ke_compute(f, vpnd_ke_get_public(a), 32, &error);
			g_assert_no_error(error);
			g_assert_cmpuint(sa->len, ==, 32);
			assert_same(sa->data, sf->data, 32);
		}
	}
}

/* The same scalar gives the same public value in a partial and a full backend. */
static void
test_partial_same_public(gconstpointer data)
{
	g_autoptr(GRand) r = g_rand_new_with_seed(SEED);
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndKe) a = crypto_ke_new_from(crypto_test_provider(data), VPND_KE_CURVE25519,
	                                         0, &error);
	g_autoptr(VpndKe) f = crypto_ke_new_from(crypto_test_provider("gnutls"),
	                                         VPND_KE_CURVE25519, 0, &error);

	g_assert_no_error(error);
	for (guint round = 0; round < ROUNDS; round++) {
		g_autofree guint8 *priv = random_buf(r, 32);
		g_assert_true(a->ops->set_private(a, priv, 32, &error));
		g_assert_true(f->ops->set_private(f, priv, 32, &error));
		g_assert_no_error(error);
		assert_same(vpnd_ke_get_public(a), vpnd_ke_get_public(f), 32);
	}
	g_assert_false(a->ops->set_private(a, vpnd_ke_get_public(f), 31, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
}

#ifdef VPND_HAVE_SODIUM
static void
assert_unsupported(gpointer made, GError **error)
{
	g_assert_null(made);
	g_assert_error(*error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(error);
}

/* crypto-sodium says yes to Curve25519 only; everything else fails cleanly. */
static void
test_sodium_only_x25519(void)
{
	const HostProvider *p = crypto_test_provider("sodium");
	const VpndCryptoOps *ops = crypto_provider_ops(p);
	guint8 key[32] = {1}, buf[32] = {0}, zero[32] = {0};
	GError *error = NULL;

	g_assert_true(ops->supports(VPND_ALG_KE, VPND_KE_CURVE25519, 0));
	g_assert_false(ops->supports(VPND_ALG_KE, VPND_KE_CURVE448, 0));
	g_assert_false(ops->supports(VPND_ALG_KE, VPND_KE_ECP_256, 0));
	g_assert_false(ops->supports(VPND_ALG_ENCR, VPND_ENCR_CHACHA20_POLY1305, 0));
	g_assert_false(ops->supports(VPND_ALG_HASH, VPND_HASH_SHA2_256, 0));
	g_assert_false(ops->supports(VPND_ALG_X509, 0, 0));
	g_assert_false(ops->supports(VPND_ALG_SIGN, VPND_SIGN_ED25519, 0));

	assert_unsupported(crypto_ke_new_from(p, VPND_KE_CURVE448, 0, &error), &error);
	assert_unsupported(ops->ke_new(VPND_KE_MODP_2048, &error), &error);
	assert_unsupported(ops->hasher_new(VPND_HASH_SHA2_256, &error), &error);
	assert_unsupported(ops->prf_new(VPND_PRF_HMAC_SHA2_256, key, 32, &error), &error);
	assert_unsupported(ops->integrity_new(VPND_INTEG_HMAC_SHA2_256_128, key, 32, &error),
	                   &error);
	assert_unsupported(ops->cipher_new(VPND_ENCR_AES_CBC, key, 16, &error), &error);
	assert_unsupported(ops->aead_new(VPND_ENCR_AES_GCM_16, key, 20, &error), &error);
	assert_unsupported(ops->privkey_load(key, 32, &error), &error);
	assert_unsupported(ops->privkey_generate(VPND_KEY_ED25519, 0, &error), &error);
	assert_unsupported(ops->pubkey_load(key, 32, &error), &error);
	assert_unsupported(ops->cert_load(key, 32, &error), &error);
	g_assert_false(ops->cert_verify(NULL, NULL, 0, NULL, 0, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(&error);

	/* random bytes it has, for nonces and keys */
	g_assert_true(ops->random(buf, sizeof(buf), FALSE, &error));
	g_assert_false(vpnd_memeq_const(buf, zero, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	g_assert_true(ops->random(buf, sizeof(buf), TRUE, &error));
	g_assert_false(vpnd_memeq_const(buf, zero, sizeof(buf)));
	g_assert_no_error(error);
}
#endif

/* ---- bad input: symmetric ---------------------------------------------------------------------
 */

static void
test_bad_symmetric(gconstpointer data)
{
	const HostProvider *p = crypto_test_provider(data);
	guint8 key[64] = {1, 2, 3}, iv[16] = {0}, buf[64] = {0}, icv[16];
	GError *error = NULL;

	/* wrong key lengths */
	g_assert_null(crypto_cipher_new_from(p, VPND_ENCR_AES_CBC, key, 17, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(&error);
	g_assert_null(crypto_provider_ops(p)->cipher_new(VPND_ENCR_AES_CBC, key, 17, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_clear_error(&error);
	g_assert_null(crypto_provider_ops(p)->cipher_new(VPND_ENCR_AES_CTR, key, 3, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_clear_error(&error);
	g_assert_null(crypto_provider_ops(p)->aead_new(VPND_ENCR_AES_GCM_16, key, 16, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_clear_error(&error);
	g_assert_null(
	        crypto_provider_ops(p)->aead_new(VPND_ENCR_CHACHA20_POLY1305, key, 20, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_clear_error(&error);
	g_assert_null(crypto_provider_ops(p)->aead_new(VPND_ENCR_AES_CCM_16, key, 2, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_clear_error(&error);
	g_assert_null(crypto_integrity_new_from(p, VPND_INTEG_HMAC_SHA2_256_128, key, 31, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_clear_error(&error);
	g_assert_null(crypto_integrity_new_from(p, VPND_INTEG_AES_XCBC_96, key, 15, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_clear_error(&error);
	g_assert_null(crypto_provider_ops(p)->prf_new(VPND_PRF_AES128_CMAC, key, 10, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_clear_error(&error);
	/* an AEAD is not a cipher and the other way round */
	g_assert_null(crypto_cipher_new_from(p, VPND_ENCR_AES_GCM_16, key, 20, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(&error);
	g_assert_null(crypto_aead_new_from(p, VPND_ENCR_AES_CBC, key, 16, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(&error);
	/* an unknown transform */
	g_assert_null(crypto_cipher_new_from(p, (VpndEncrId)3, key, 16, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(&error);

	/* CBC refuses partial blocks */
	g_autoptr(VpndCipher) cbc = crypto_cipher_new_from(p, VPND_ENCR_AES_CBC, key, 16, &error);
	g_assert_no_error(error);
	g_assert_false(vpnd_cipher_encrypt(cbc, iv, buf, 15));
	g_assert_false(vpnd_cipher_decrypt(cbc, iv, buf, 33));

	/* AEADs: wrong ICV, truncated ciphertext, changed AAD or IV */
	const VpndEncrId aeads[] = {VPND_ENCR_AES_GCM_16, VPND_ENCR_AES_GCM_8, VPND_ENCR_AES_CCM_12,
	                            VPND_ENCR_CHACHA20_POLY1305};
	for (guint i = 0; i < G_N_ELEMENTS(aeads); i++) {
		gsize klen = (aeads[i] == VPND_ENCR_AES_GCM_8 ? 16 : 32) +
		             crypto_encr_salt_len(aeads[i]);
		g_autoptr(VpndAead) a = crypto_aead_new_from(p, aeads[i], key, klen, &error);
		g_assert_no_error(error);
		guint8 aad[8] = {9}, msg[48];
		for (guint j = 0; j < sizeof(msg); j++)
			msg[j] = (guint8)j;
		memcpy(buf, msg, sizeof(msg));
		g_assert_true(vpnd_aead_encrypt(a, iv, aad, sizeof(aad), buf, sizeof(msg), icv));
		g_autofree guint8 *ct = g_memdup2(buf, sizeof(msg));

		icv[0] ^= 1;
		g_assert_false(vpnd_aead_decrypt(a, iv, aad, sizeof(aad), buf, sizeof(msg), icv));
		icv[0] ^= 1;
		memcpy(buf, ct, sizeof(msg));
		g_assert_false(
		        vpnd_aead_decrypt(a, iv, aad, sizeof(aad), buf, sizeof(msg) - 1, icv));
		memcpy(buf, ct, sizeof(msg));
		aad[3] ^= 4;
		g_assert_false(vpnd_aead_decrypt(a, iv, aad, sizeof(aad), buf, sizeof(msg), icv));
		aad[3] ^= 4;
		memcpy(buf, ct, sizeof(msg));
		iv[7] ^= 1;
		g_assert_false(vpnd_aead_decrypt(a, iv, aad, sizeof(aad), buf, sizeof(msg), icv));
		iv[7] ^= 1;
		memcpy(buf, ct, sizeof(msg));
		buf[20] ^= 0x10;
		g_assert_false(vpnd_aead_decrypt(a, iv, aad, sizeof(aad), buf, sizeof(msg), icv));
		/* and the untouched message still decrypts afterwards */
		memcpy(buf, ct, sizeof(msg));
		g_assert_true(vpnd_aead_decrypt(a, iv, aad, sizeof(aad), buf, sizeof(msg), icv));
		assert_same(buf, msg, sizeof(msg));
	}
}

/* ---- keys, signatures, certificates ------------------------------------------------------------
 */

static GBytes *
read_key_file(const char *name)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "vectors", "keys", name, NULL);
	g_autoptr(GError) error = NULL;
	char *text = NULL;
	gsize len;

	if (!g_file_get_contents(path, &text, &len, &error))
		g_error("%s", error->message);
	return g_bytes_new_take(text, len);
}

typedef struct {
	const char *file;
	VpndKeyType type;
	guint bits;
	VpndSignParams params;
	const char *name;
} SignCase;

static const SignCase sign_cases[] = {
        {"intermediate.key",
         VPND_KEY_RSA,
         2048,
         {VPND_SIGN_RSA_PKCS1, VPND_HASH_SHA2_256},
         "rsa2048-pkcs1-sha256"},
        {"intermediate.key",
         VPND_KEY_RSA,
         2048,
         {VPND_SIGN_RSA_PKCS1, VPND_HASH_SHA2_512},
         "rsa2048-pkcs1-sha512"},
        {"intermediate.key",
         VPND_KEY_RSA,
         2048,
         {VPND_SIGN_RSA_PSS, VPND_HASH_SHA2_256},
         "rsa2048-pss-sha256"},
        {"intermediate.key",
         VPND_KEY_RSA,
         2048,
         {VPND_SIGN_RSA_PSS, VPND_HASH_SHA2_384},
         "rsa2048-pss-sha384"},
        {"ca.key", VPND_KEY_ECDSA, 256, {VPND_SIGN_ECDSA, VPND_HASH_SHA2_256}, "ecdsa-p256-sha256"},
        {"ecdsa-p384.key",
         VPND_KEY_ECDSA,
         384,
         {VPND_SIGN_ECDSA, VPND_HASH_SHA2_384},
         "ecdsa-p384-sha384"},
        {"ecdsa-p521.key",
         VPND_KEY_ECDSA,
         521,
         {VPND_SIGN_ECDSA, VPND_HASH_SHA2_512},
         "ecdsa-p521-sha512"},
        {"leaf.key", VPND_KEY_ED25519, 256, {VPND_SIGN_ED25519, VPND_HASH_IDENTITY}, "ed25519"},
        {"ed448.key", VPND_KEY_ED448, 456, {VPND_SIGN_ED448, VPND_HASH_IDENTITY}, "ed448"},
};

/* Signs with the key loaded in one backend, verifies with its public half in the other. */
static void
test_cross_sign(gconstpointer data)
{
	const SignCase *c = data;
	g_autoptr(GBytes) pem = read_key_file(c->file);
	const guint8 msg[] = "IKE_AUTH octets to sign";

	for (guint i = 0; crypto_test_backends[i]; i++) {
		const char *signer = crypto_test_backends[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(VpndPrivKey) key = crypto_privkey_load_from(crypto_test_provider(signer),
		                                                      DATA(pem), LEN(pem), &error);
		g_assert_no_error(error);
		g_assert_cmpint(key->type, ==, c->type);
		g_assert_cmpuint(key->bits, ==, c->bits);
		g_autoptr(GBytes) sig =
		        vpnd_privkey_sign(key, &c->params, msg, sizeof(msg), &error);
		g_assert_no_error(error);
		g_autoptr(GBytes) spki = key->ops->get_public_der(key, &error);
		g_assert_no_error(error);

		g_autoptr(VpndPubKey) pub = crypto_pubkey_load_from(
		        crypto_test_provider(other_backend(signer)), DATA(spki), LEN(spki), &error);
		g_assert_no_error(error);
		g_assert_cmpint(pub->type, ==, c->type);
		g_assert_true(vpnd_pubkey_verify(pub, &c->params, msg, sizeof(msg), DATA(sig),
		                                 LEN(sig), &error));
		g_assert_no_error(error);
		g_assert_false(vpnd_pubkey_verify(pub, &c->params, msg, sizeof(msg) - 1, DATA(sig),
		                                  LEN(sig), &error));
		g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_VERIFY);
		g_clear_error(&error);
		/* the DER both backends give for the public key is the same */
		g_autoptr(GBytes) spki2 = pub->ops->get_der(pub, &error);
		g_assert_no_error(error);
		g_assert_true(g_bytes_equal(spki, spki2));
	}
}

static void
test_generate(gconstpointer data)
{
	const char *backend = data;
	const struct {
		VpndKeyType type;
		guint bits;
		VpndSignParams params;
	} cases[] = {
	        {VPND_KEY_RSA, 2048, {VPND_SIGN_RSA_PSS, VPND_HASH_SHA2_256}},
	        {VPND_KEY_ECDSA, 384, {VPND_SIGN_ECDSA, VPND_HASH_SHA2_384}},
	        {VPND_KEY_ED25519, 0, {VPND_SIGN_ED25519, VPND_HASH_IDENTITY}},
	        {VPND_KEY_ED448, 0, {VPND_SIGN_ED448, VPND_HASH_IDENTITY}},
	};
	const guint8 msg[] = "AUTH";

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(VpndPrivKey) key = crypto_privkey_generate_from(
		        crypto_test_provider(backend), cases[i].type, cases[i].bits, &error);
		g_assert_no_error(error);
		g_assert_cmpint(key->type, ==, cases[i].type);
		g_autoptr(GBytes) sig =
		        vpnd_privkey_sign(key, &cases[i].params, msg, sizeof(msg), &error);
		g_assert_no_error(error);
		g_autoptr(GBytes) spki = key->ops->get_public_der(key, &error);
		g_assert_no_error(error);
		g_autoptr(VpndPubKey) pub =
		        crypto_pubkey_load_from(crypto_test_provider(other_backend(backend)),
		                                DATA(spki), LEN(spki), &error);
		g_assert_no_error(error);
		g_assert_true(vpnd_pubkey_verify(pub, &cases[i].params, msg, sizeof(msg), DATA(sig),
		                                 LEN(sig), &error));
	}
	/* what cannot be made or used */
	GError *error = NULL;
	g_assert_null(crypto_privkey_generate_from(crypto_test_provider(backend), VPND_KEY_ECDSA,
	                                           255, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(&error);
}

static void
test_bad_keys(gconstpointer data)
{
	const HostProvider *p = crypto_test_provider(data);
	const char garbage_pem[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	const guint8 garbage_der[] = {0x30, 0x82, 0x01, 0x00, 0x02};
	GError *error = NULL;

	g_assert_null(crypto_privkey_load_from(p, (const guint8 *)garbage_pem,
	                                       sizeof(garbage_pem) - 1, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_PARSE);
	g_clear_error(&error);
	g_assert_null(crypto_privkey_load_from(p, garbage_der, sizeof(garbage_der), &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_PARSE);
	g_clear_error(&error);
	g_assert_null(crypto_pubkey_load_from(p, garbage_der, sizeof(garbage_der), &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_PARSE);
	g_clear_error(&error);
	g_assert_null(crypto_cert_load_from(p, garbage_der, sizeof(garbage_der), &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_PARSE);
	g_clear_error(&error);

	/* a scheme that does not fit the key */
	g_autoptr(GBytes) pem = read_key_file("ca.key");
	g_autoptr(VpndPrivKey) key = crypto_privkey_load_from(p, DATA(pem), LEN(pem), &error);
	g_assert_no_error(error);
	const VpndSignParams rsa = {VPND_SIGN_RSA_PSS, VPND_HASH_SHA2_256};
	g_assert_null(vpnd_privkey_sign(key, &rsa, (const guint8 *)"x", 1, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(&error);
}

static VpndCert *
load_cert(const HostProvider *p, const char *file)
{
	g_autoptr(GBytes) pem = read_key_file(file);
	g_autoptr(GError) error = NULL;
	VpndCert *cert = crypto_cert_load_from(p, DATA(pem), LEN(pem), &error);

	g_assert_no_error(error);
	return cert;
}

static void
test_x509(gconstpointer data)
{
	const HostProvider *p = crypto_test_provider(data);
	g_autoptr(VpndCert) ca = load_cert(p, "ca.pem");
	g_autoptr(VpndCert) mid = load_cert(p, "intermediate.pem");
	g_autoptr(VpndCert) leaf = load_cert(p, "leaf.pem");
	g_autoptr(VpndCert) other = load_cert(p, "other-ca.pem");
	GError *error = NULL;

	g_autofree char *subject = leaf->ops->get_subject(leaf);
	g_autofree char *issuer = leaf->ops->get_issuer(leaf);
	g_assert_nonnull(strstr(subject, "CN=gateway.vpnd.test"));
	g_assert_nonnull(strstr(issuer, "CN=vpnd test intermediate"));
	gint64 nb, na;
	leaf->ops->get_validity(leaf, &nb, &na);
	g_assert_cmpint(nb, <, g_get_real_time() / G_USEC_PER_SEC);
	g_assert_cmpint(na, >, g_get_real_time() / G_USEC_PER_SEC);

	/* the DER survives a trip through the other backend */
	g_autoptr(GBytes) der = leaf->ops->get_der(leaf);
	g_autoptr(VpndCert) again = crypto_cert_load_from(crypto_test_provider(other_backend(data)),
	                                                  DATA(der), LEN(der), &error);
	g_assert_no_error(error);
	g_autoptr(GBytes) der2 = again->ops->get_der(again);
	g_assert_true(g_bytes_equal(der, der2));

	VpndCert *chain[] = {mid};
	VpndCert *anchors[] = {ca};
	VpndCert *wrong[] = {other};
	g_assert_true(crypto_cert_verify_from(p, leaf, chain, 1, anchors, 1, &error));
	g_assert_no_error(error);
	g_assert_false(crypto_cert_verify_from(p, leaf, chain, 1, wrong, 1, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_VERIFY);
	g_clear_error(&error);
	g_assert_false(crypto_cert_verify_from(p, leaf, NULL, 0, anchors, 1, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_VERIFY);
	g_clear_error(&error);

	/* the leaf's key signs, the certificate's public key verifies */
	g_autoptr(GBytes) pem = read_key_file("leaf.key");
	g_autoptr(VpndPrivKey) key = crypto_privkey_load_from(p, DATA(pem), LEN(pem), &error);
	g_assert_no_error(error);
	const VpndSignParams ed = {VPND_SIGN_ED25519, VPND_HASH_IDENTITY};
	g_autoptr(GBytes) sig = vpnd_privkey_sign(key, &ed, (const guint8 *)"hi", 2, &error);
	g_assert_no_error(error);
	g_autoptr(VpndPubKey) pub = leaf->ops->get_public_key(leaf, &error);
	g_assert_no_error(error);
	g_assert_true(
	        vpnd_pubkey_verify(pub, &ed, (const guint8 *)"hi", 2, DATA(sig), LEN(sig), &error));
	g_assert_no_error(error);
}

/* ---- the facade
 * ---------------------------------------------------------------------------------- */

static void
test_facade_choice(void)
{
	VpndHost *host = crypto_test_host();
	g_autoptr(GError) error = NULL;
	guint8 nonce[32] = {0}, zero[32] = {0};

	/* crypto-gnutls registers with priority 20, crypto-openssl with 10 */
	const HostProvider *best = crypto_find(host, VPND_ALG_ENCR, VPND_ENCR_AES_GCM_16, 256);
	g_assert_nonnull(best);
	g_assert_cmpstr(best->name, ==, "gnutls");
	g_assert_null(crypto_find(host, VPND_ALG_ENCR, VPND_ENCR_AES_GCM_16, 100));
	g_assert_null(crypto_find(host, VPND_ALG_KE, 1, 0)); /* MODP 768 */
	g_assert_null(crypto_find_by_name(host, "nope"));

	g_autoptr(VpndAead) a = crypto_aead_new(host, VPND_ENCR_AES_GCM_16, nonce, 20, &error);
	g_assert_no_error(error);
	g_autoptr(VpndKe) ke = crypto_ke_new(host, VPND_KE_CURVE25519, 0, &error);
	g_assert_no_error(error);
	g_assert_null(crypto_ke_new(host, (VpndKeId)1, 0, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(&error);

	g_assert_true(crypto_random(host, nonce, sizeof(nonce), FALSE, &error));
	g_assert_false(vpnd_memeq_const(nonce, zero, sizeof(nonce)));
}

static void
test_facade_modp1024(void)
{
	VpndHost *host = crypto_test_host();
	g_autoptr(GError) error = NULL;
	guint before = warnings->len;

	g_assert_null(crypto_ke_new(host, VPND_KE_MODP_1024, 0, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	g_clear_error(&error);
	g_assert_cmpuint(warnings->len, ==, before);

	g_autoptr(VpndKe) ke =
	        crypto_ke_new(host, VPND_KE_MODP_1024, CRYPTO_KE_ALLOW_MODP_1024, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(ke->public_len, ==, 128);
	g_assert_cmpuint(warnings->len, ==, before + 1);
	g_assert_nonnull(strstr(warnings->pdata[warnings->len - 1], "MODP_1024"));
}

static gboolean
set_flag(gpointer flag)
{
	*(gboolean *)flag = TRUE;
	return G_SOURCE_REMOVE;
}

/* Runs the default context until @pool has @n pairs ready, for at most @ms (its refill
 * waits a few milliseconds after a take). */
static void
wait_ready(KePool *pool, guint n, guint ms)
{
	gboolean late = FALSE;
	guint guard = g_timeout_add(ms, set_flag, &late);

	while (!late && ke_pool_n_ready(pool) < n)
		g_main_context_iteration(NULL, TRUE);
	if (!late)
		g_source_remove(guard);
}

static void
test_facade_ke_pool(void)
{
	VpndHost *host = crypto_test_host();
	g_autoptr(GError) error = NULL;

	host_enable_ke_pool(host);
	KePool *pool = host_get_ke_pool(host);
	/* the first take of a group finds nothing and orders one pair */
	g_autoptr(VpndKe) first = crypto_ke_new(host, VPND_KE_CURVE25519, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(ke_pool_n_ready(pool), ==, 0);
	wait_ready(pool, 1, 2000);
	g_assert_cmpuint(ke_pool_n_ready(pool), ==, 1);

	/* handed out once: a second take gets it, a third a fresh pair, all different */
	g_autoptr(VpndKe) second = crypto_ke_new(host, VPND_KE_CURVE25519, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(ke_pool_n_ready(pool), ==, 0);
	g_autoptr(VpndKe) third = crypto_ke_new(host, VPND_KE_CURVE25519, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(second->public_len, ==, 32);
	g_assert_false(vpnd_memeq_const(vpnd_ke_get_public(first), vpnd_ke_get_public(second), 32));
	g_assert_false(vpnd_memeq_const(vpnd_ke_get_public(second), vpnd_ke_get_public(third), 32));

	/* a pooled pair works: both ends derive the same secret */
	g_autoptr(VpndSecret) a = vpnd_ke_compute(second, vpnd_ke_get_public(third), 32, &error);
	g_assert_no_error(error);
	g_autoptr(VpndSecret) b = vpnd_ke_compute(third, vpnd_ke_get_public(second), 32, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(a->len, ==, 32);
	g_assert_true(vpnd_memeq_const(a->data, b->data, 32));

	/* the checks still come first: no weak group out of the pool */
	g_assert_null(crypto_ke_new(host, VPND_KE_MODP_1024, 0, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED);
	wait_ready(pool, 2, 100); /* never: five refill delays */
	g_assert_cmpuint(ke_pool_n_ready(pool), ==, 1); /* Curve25519 only */
	host_disable_ke_pool(host);
	g_assert_null(host_get_ke_pool(host));
}

static void
test_facade_prf_plus(void)
{
	g_autoptr(GError) error = NULL;
	guint8 key[32] = {7};
	g_autoptr(VpndPrf) prf =
	        crypto_prf_new(crypto_test_host(), VPND_PRF_HMAC_SHA2_256, key, 32, &error);
	g_assert_no_error(error);

	/* 255 blocks is the most prf+ can give */
	g_autoptr(VpndSecret) max = crypto_prf_plus(prf, key, 4, 255 * 32, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(max->len, ==, 255 * 32);
	g_assert_null(crypto_prf_plus(prf, key, 4, 255 * 32 + 1, &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH);
	g_clear_error(&error);

	/* a prefix of a longer output is the shorter output */
	g_autoptr(VpndSecret) a = crypto_prf_plus(prf, key, 4, 33, &error);
	g_assert_no_error(error);
	assert_same(a->data, max->data, 33);

	/* AES PRFs key SKEYSEED with the first 8 bytes of each nonce (RFC 7296 §2.14) */
	guint8 ni[32], nr[32];
	for (guint i = 0; i < 32; i++)
		ni[i] = (guint8)i, nr[i] = (guint8)(0x80 + i);
	g_autoptr(VpndSecret) gir = vpnd_secret_new_from_data(key, 32);
	const HostProvider *p =
	        crypto_find(crypto_test_host(), VPND_ALG_PRF, VPND_PRF_AES128_XCBC, 0);
	g_autoptr(VpndSecret) s1 =
	        crypto_ikev2_skeyseed(p, VPND_PRF_AES128_XCBC, ni, 32, nr, 32, gir, &error);
	g_assert_no_error(error);
	guint8 k16[16];
	memcpy(k16, ni, 8);
	memcpy(k16 + 8, nr, 8);
	g_autoptr(VpndPrf) x = crypto_prf_new_from(p, VPND_PRF_AES128_XCBC, k16, 16, &error);
	g_assert_no_error(error);
	guint8 out[16];
	vpnd_prf_update(x, gir->data, gir->len);
	vpnd_prf_finish(x, out);
	assert_same(s1->data, out, 16);
}

/* ---- registration
 * -------------------------------------------------------------------------------- */

static void
collect_alg(const char *name, const char *plugin, gpointer user_data)
{
	g_ptr_array_add(user_data, g_strdup_printf("%s[%s]", name, plugin));
}

static gboolean
listed(GPtrArray *lines, const char *line)
{
	return g_ptr_array_find_with_equal_func(lines, line, g_str_equal, NULL);
}

/* What swanctl --list-algs shows: every class in order, each algorithm per plugin. */
static void
test_facade_listing(void)
{
	const char *const *classes = crypto_algorithm_classes();
	g_autoptr(GPtrArray) aead = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) dh = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) kdf = g_ptr_array_new_with_free_func(g_free);

	g_assert_cmpuint(g_strv_length((char **)classes), ==, 11);
	g_assert_cmpstr(classes[0], ==, "encryption");
	g_assert_cmpstr(classes[10], ==, "nonce-gen");
	crypto_list_algorithms(crypto_test_host(), "aead", collect_alg, aead);
	crypto_list_algorithms(crypto_test_host(), "dh", collect_alg, dh);
	crypto_list_algorithms(crypto_test_host(), "kdf", collect_alg, kdf);
	/* the higher-priority plugin first */
	g_assert_cmpstr(aead->pdata[0], ==, "AES_GCM_16[crypto-gnutls]");
	g_assert_true(listed(aead, "CHACHA20_POLY1305[crypto-gnutls]"));
	g_assert_true(listed(dh, "CURVE_25519[crypto-gnutls]"));
	g_assert_true(listed(dh, "ECP_521[crypto-gnutls]"));
	g_assert_true(listed(kdf, "KDF_PRF_PLUS[vpnd]"));
	if (crypto_test_provider("openssl"))
		g_assert_true(listed(aead, "AES_GCM_16[crypto-openssl]"));
#ifdef VPND_HAVE_SODIUM
	/* the highest priority lists first, and a partial backend only what it offers */
	g_assert_cmpstr(dh->pdata[0], ==, "CURVE_25519[crypto-sodium]");
	g_assert_true(listed(dh, "CURVE_25519[crypto-gnutls]"));
	g_assert_false(listed(dh, "CURVE_448[crypto-sodium]"));
	for (guint i = 0; i < aead->len; i++)
		g_assert_null(strstr(aead->pdata[i], "crypto-sodium"));
#endif
}

#ifdef VPND_HAVE_SODIUM
static const char *
provider_of(VpndAlgType type, guint id, guint key_bits)
{
	const HostProvider *p = crypto_find(crypto_test_host(), type, id, key_bits);

	g_assert_nonnull(p);
	return p->name;
}

/* crypto-sodium ranks first (30 > 20 > 10) for Curve25519 and nothing else. */
static void
test_facade_partial(void)
{
	VpndHost *host = crypto_test_host();
	g_autoptr(GError) error = NULL;

	g_assert_cmpstr(provider_of(VPND_ALG_KE, VPND_KE_CURVE25519, 0), ==, "sodium");
	g_assert_cmpstr(provider_of(VPND_ALG_KE, VPND_KE_CURVE448, 0), ==, "gnutls");
	g_assert_cmpstr(provider_of(VPND_ALG_KE, VPND_KE_ECP_256, 0), ==, "gnutls");
	g_assert_cmpstr(provider_of(VPND_ALG_KE, VPND_KE_MODP_2048, 0), ==, "gnutls");
	g_assert_cmpstr(provider_of(VPND_ALG_ENCR, VPND_ENCR_AES_GCM_16, 256), ==, "gnutls");
	g_assert_cmpstr(provider_of(VPND_ALG_ENCR, VPND_ENCR_CHACHA20_POLY1305, 0), ==, "gnutls");
	g_assert_cmpstr(provider_of(VPND_ALG_HASH, VPND_HASH_SHA2_256, 0), ==, "gnutls");
	g_assert_cmpstr(provider_of(VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_256, 0), ==, "gnutls");
	g_assert_cmpstr(provider_of(VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_256_128, 0), ==,
	                "gnutls");
	g_assert_cmpstr(provider_of(VPND_ALG_SIGN, VPND_SIGN_ED25519, 0), ==, "gnutls");
	g_assert_cmpstr(provider_of(VPND_ALG_X509, 0, 0), ==, "gnutls");
	g_assert_true(vpnd_host_get_crypto(host, VPND_ALG_KE, VPND_KE_CURVE25519, 0) ==
	              crypto_provider_ops(crypto_test_provider("sodium")));

	/* the objects the host makes come from the same providers */
	g_autoptr(VpndKe) ke = crypto_ke_new(host, VPND_KE_CURVE25519, 0, &error);
	g_assert_no_error(error);
	g_autoptr(VpndKe) direct =
	        crypto_ke_new_from(crypto_test_provider("sodium"), VPND_KE_CURVE25519, 0, &error);
	g_assert_no_error(error);
	g_assert_true(ke->ops == direct->ops);
	g_autoptr(VpndHasher) h = crypto_hasher_new(host, VPND_HASH_SHA2_256, &error);
	g_assert_no_error(error);
	g_autoptr(GBytes) pem = read_key_file("leaf.key");
	g_autoptr(VpndPrivKey) key = crypto_privkey_load(host, DATA(pem), LEN(pem), &error);
	g_assert_no_error(error);
	g_assert_cmpint(key->type, ==, VPND_KEY_ED25519);
	g_autoptr(GBytes) der = key->ops->get_public_der(key, &error);
	g_assert_no_error(error);
	g_autoptr(VpndPubKey) pub = crypto_pubkey_load(host, DATA(der), LEN(der), &error);
	g_assert_no_error(error);
}
#endif

int
main(int argc, char **argv)
{
	guint watch;
	int rc;

	/* no G_TEST_OPTION_ISOLATE_DIRS: nothing here touches files, and with GLib 2.74
	 * it leaks the per-test directory strings, which LeakSanitizer reports */
	g_test_init(&argc, &argv, NULL);
	/* the MODP_1024 warning is wanted here; criticals stay fatal */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	log_init(TRUE);
	log_set_level("default", LOG_LEVEL_WARNING, NULL);
	warnings = g_ptr_array_new_with_free_func(g_free);
	watch = log_watch_add(capture_warning, NULL);
	crypto_test_init();

	const VpndHashId hashes[] = {VPND_HASH_SHA1, VPND_HASH_SHA2_256, VPND_HASH_SHA2_384,
	                             VPND_HASH_SHA2_512};
	const VpndPrfId prfs[] = {VPND_PRF_HMAC_SHA1,     VPND_PRF_AES128_XCBC,
	                          VPND_PRF_HMAC_SHA2_256, VPND_PRF_HMAC_SHA2_384,
	                          VPND_PRF_HMAC_SHA2_512, VPND_PRF_AES128_CMAC};
	const VpndIntegId integs[] = {VPND_INTEG_HMAC_SHA1_96,      VPND_INTEG_AES_XCBC_96,
	                              VPND_INTEG_AES_CMAC_96,       VPND_INTEG_HMAC_SHA2_256_128,
	                              VPND_INTEG_HMAC_SHA2_384_192, VPND_INTEG_HMAC_SHA2_512_256};
	gboolean cross = crypto_test_backends[0] && crypto_test_backends[1];
	if (cross) {
		for (guint i = 0; i < G_N_ELEMENTS(hashes); i++) {
			g_autofree char *path = g_strdup_printf("/crypto/cross/hash/%s",
			                                        vpnd_hash_to_string(hashes[i]));
			g_test_add_data_func(path, GUINT_TO_POINTER(hashes[i]), test_cross_hash);
		}
		for (guint i = 0; i < G_N_ELEMENTS(prfs); i++) {
			g_autofree char *path = g_strdup_printf("/crypto/cross/prf/%s",
			                                        vpnd_prf_to_string(prfs[i]));
			g_test_add_data_func(path, GUINT_TO_POINTER(prfs[i]), test_cross_prf);
		}
		for (guint i = 0; i < G_N_ELEMENTS(integs); i++) {
			g_autofree char *path = g_strdup_printf("/crypto/cross/integ/%s",
			                                        vpnd_integ_to_string(integs[i]));
			g_test_add_data_func(path, GUINT_TO_POINTER(integs[i]), test_cross_integ);
		}
		for (guint i = 0; i < G_N_ELEMENTS(encr_cases); i++) {
			g_autofree char *path = g_strdup_printf(
			        "/crypto/cross/encr/%s/%u", vpnd_encr_to_string(encr_cases[i].id),
			        encr_cases[i].key_bits);
			g_test_add_data_func(path, &encr_cases[i], test_cross_encr);
		}
		for (guint i = 0; i < G_N_ELEMENTS(ke_ids); i++) {
			g_autofree char *path = g_strdup_printf("/crypto/cross/ke/%s",
			                                        vpnd_ke_to_string(ke_ids[i]));
			g_test_add_data_func(path, GUINT_TO_POINTER(ke_ids[i]), test_cross_ke);
		}
		for (guint i = 0; i < G_N_ELEMENTS(sign_cases); i++) {
			g_autofree char *path =
			        g_strdup_printf("/crypto/cross/sign/%s", sign_cases[i].name);
			g_test_add_data_func(path, &sign_cases[i], test_cross_sign);
		}
	}
	for (guint b = 0; crypto_test_backends[b]; b++) {
		const char *be = crypto_test_backends[b];
		const struct {
			const char *name;
			GTestDataFunc func;
			gboolean needs_other;
		} tests[] = {
		        {"bad/ke-modp", test_bad_ke_modp, FALSE},
		        {"bad/ke-ecp", test_bad_ke_ecp, FALSE},
		        {"bad/ke-montgomery", test_bad_ke_montgomery, FALSE},
		        {"bad/symmetric", test_bad_symmetric, FALSE},
		        {"bad/keys", test_bad_keys, FALSE},
		        {"sign/generate", test_generate, TRUE},
		        {"x509/chain", test_x509, TRUE},
		};
		for (guint i = 0; i < G_N_ELEMENTS(tests); i++) {
			if (tests[i].needs_other && !cross)
				continue;
			g_autofree char *path = g_strdup_printf("/crypto/%s/%s", be, tests[i].name);
			g_test_add_data_func(path, be, tests[i].func);
		}
	}
	g_test_add_func("/crypto/facade/choice", test_facade_choice);
	g_test_add_func("/crypto/facade/modp1024", test_facade_modp1024);
	g_test_add_func("/crypto/facade/ke-pool", test_facade_ke_pool);
	g_test_add_func("/crypto/facade/prf-plus", test_facade_prf_plus);
	g_test_add_func("/crypto/facade/listing", test_facade_listing);
#ifdef VPND_HAVE_SODIUM
	g_test_add_func("/crypto/facade/partial", test_facade_partial);
	g_test_add_func("/crypto/sodium/only-x25519", test_sodium_only_x25519);
#endif
	for (guint b = 0; crypto_test_partial_backends[b]; b++) {
		const char *be = crypto_test_partial_backends[b];
		const struct {
			const char *name;
			GTestDataFunc func;
		} tests[] = {
		        {"bad/ke-x25519", test_partial_bad_x25519},
		        {"cross/ke-x25519", test_partial_cross_x25519},
		        {"same-public/x25519", test_partial_same_public},
		};
		for (guint i = 0; i < G_N_ELEMENTS(tests); i++) {
			g_autofree char *path = g_strdup_printf("/crypto/%s/%s", be, tests[i].name);
			g_test_add_data_func(path, be, tests[i].func);
		}
	}

	rc = g_test_run();
	crypto_test_shutdown();
	log_watch_remove(watch);
	g_ptr_array_unref(warnings);
	return rc;
}
