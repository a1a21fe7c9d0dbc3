/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crypto-gnutls: hashes, MACs, ciphers, AEADs, signatures, X.509 and randomness from
 * GnuTLS; from nettle what GnuTLS does not offer (AES-XCBC per RFC 3566, AES-CTR,
 * AES-CCM with 192-bit keys and 12/16-byte ICVs) and key exchange (gnutls_ke.c).
 */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/aes.h>
#include <nettle/ccm.h>
#include <nettle/ctr.h>
#include <nettle/memxor.h>

#include "gnutls_plugin.h"

#define AES_BLOCK 16

gboolean
gt_fail(GError **error, gint code, int gnutls_rc, const char *what)
{
	g_set_error(error, VPND_CRYPTO_ERROR, code, "%s: %s", what, gnutls_strerror(gnutls_rc));
	return FALSE;
}

static gboolean
fail(GError **error, gint code, const char *what, const char *alg)
{
	g_set_error(error, VPND_CRYPTO_ERROR, code, "%s: %s", alg, what);
	return FALSE;
}

/* AES of any key size behind nettle's cipher function type */
typedef struct {
	union {
		struct aes128_ctx k128;
		struct aes192_ctx k192;
		struct aes256_ctx k256;
	} u;
	gsize key_len;
} Aes;

static void
aes_set_key(Aes *aes, gsize key_len, const guint8 *key)
{
	aes->key_len = key_len;
	if (key_len == 16)
		aes128_set_encrypt_key(&aes->u.k128, key);
	else if (key_len == 24)
		aes192_set_encrypt_key(&aes->u.k192, key);
	else
		aes256_set_encrypt_key(&aes->u.k256, key);
}

static void
aes_encrypt_fn(const void *ctx, size_t len, uint8_t *dst, const uint8_t *src)
{
	const Aes *aes = ctx;

	if (aes->key_len == 16)
		aes128_encrypt(&aes->u.k128, len, dst, src);
	else if (aes->key_len == 24)
		aes192_encrypt(&aes->u.k192, len, dst, src);
	else
		aes256_encrypt(&aes->u.k256, len, dst, src);
}

/* ---- Hash -------------------------------------------------------------------------- */

static gnutls_digest_algorithm_t
hash_algo(VpndHashId id)
{
	switch (id) {
	case VPND_HASH_SHA1:
		return GNUTLS_DIG_SHA1;
	case VPND_HASH_SHA2_256:
		return GNUTLS_DIG_SHA256;
	case VPND_HASH_SHA2_384:
		return GNUTLS_DIG_SHA384;
	case VPND_HASH_SHA2_512:
		return GNUTLS_DIG_SHA512;
	case VPND_HASH_IDENTITY:
		break;
	}
	return GNUTLS_DIG_UNKNOWN;
}

typedef struct {
	VpndHasher base;
	gnutls_hash_hd_t h;
} Hasher;

static void
hasher_update(VpndHasher *base, const guint8 *data, gsize len)
{
	if (len)
		gnutls_hash(((Hasher *)base)->h, data, len);
}

static void
hasher_finish(VpndHasher *base, guint8 *out)
{
	gnutls_hash_output(((Hasher *)base)->h, out); /* also resets */
}

static void
hasher_free(VpndHasher *base)
{
	gnutls_hash_deinit(((Hasher *)base)->h, NULL);
	g_free(base);
}

static const VpndHasherOps hasher_ops = {hasher_update, hasher_finish, hasher_free};

static VpndHasher *
hasher_new(VpndHashId id, GError **error)
{
	gnutls_digest_algorithm_t algo = hash_algo(id);
	gnutls_hash_hd_t h;
	int rc;

	if (algo == GNUTLS_DIG_UNKNOWN) {
		fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "not supported",
		     vpnd_hash_to_string(id));
		return NULL;
	}
	if ((rc = gnutls_hash_init(&h, algo)) < 0) {
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, vpnd_hash_to_string(id));
		return NULL;
	}
	Hasher *s = g_new0(Hasher, 1);
	s->base = (VpndHasher){&hasher_ops, id, vpnd_hash_len(id)};
	s->h = h;
	return &s->base;
}

/* ---- MACs: HMAC and AES-CMAC from GnuTLS, AES-XCBC (RFC 3566) on nettle's AES -------- */

typedef struct {
	struct aes128_ctx k1;
	guint8 k2[AES_BLOCK], k3[AES_BLOCK];
	guint8 e[AES_BLOCK];   /* the running CBC state */
	guint8 buf[AES_BLOCK]; /* the last block seen, held back until more data comes */
	gsize buf_len;
} Xcbc;

static void
xcbc_init(Xcbc *x, const guint8 key[AES_BLOCK])
{
	struct aes128_ctx k;
	guint8 consts[3][AES_BLOCK];

	/* K1 = E(K, 0x01…), K2 = E(K, 0x02…), K3 = E(K, 0x03…) */
	for (guint i = 0; i < 3; i++)
		memset(consts[i], i + 1, AES_BLOCK);
	aes128_set_encrypt_key(&k, key);
	aes128_encrypt(&k, sizeof(consts), (guint8 *)consts, (const guint8 *)consts);
	aes128_set_encrypt_key(&x->k1, consts[0]);
	memcpy(x->k2, consts[1], AES_BLOCK);
	memcpy(x->k3, consts[2], AES_BLOCK);
	explicit_bzero(consts, sizeof(consts));
	explicit_bzero(&k, sizeof(k));
	memset(x->e, 0, AES_BLOCK);
	x->buf_len = 0;
}

static void
xcbc_update(Xcbc *x, const guint8 *data, gsize len)
{
	while (len > 0) {
		if (x->buf_len == AES_BLOCK) {
			memxor(x->e, x->buf, AES_BLOCK);
			aes128_encrypt(&x->k1, AES_BLOCK, x->e, x->e);
			x->buf_len = 0;
		}
		gsize n = MIN(AES_BLOCK - x->buf_len, len);
		memcpy(x->buf + x->buf_len, data, n);
		x->buf_len += n;
		data += n;
		len -= n;
	}
}

static void
xcbc_finish(Xcbc *x, guint8 out[AES_BLOCK])
{
	if (x->buf_len == AES_BLOCK) {
		memxor(x->buf, x->k2, AES_BLOCK);
	} else {
		/* pad with 10* and use K3 (an empty message is one padded block) */
		x->buf[x->buf_len] = 0x80;
		memset(x->buf + x->buf_len + 1, 0, AES_BLOCK - x->buf_len - 1);
		memxor(x->buf, x->k3, AES_BLOCK);
	}
	memxor(x->e, x->buf, AES_BLOCK);
	aes128_encrypt(&x->k1, AES_BLOCK, out, x->e);
	memset(x->e, 0, AES_BLOCK);
	explicit_bzero(x->buf, AES_BLOCK);
	x->buf_len = 0;
}

typedef struct {
	gnutls_hmac_hd_t h; /* NULL for XCBC */
	Xcbc xcbc;
	gsize out_len;
} Mac;

/* @algo GNUTLS_MAC_UNKNOWN means AES-XCBC. */
static gboolean
mac_init(Mac *m, gnutls_mac_algorithm_t algo, const guint8 *key, gsize key_len, const char *name,
         GError **error)
{
	static const guint8 empty[1];
	int rc;

	if (algo == GNUTLS_MAC_UNKNOWN) {
		if (key_len != AES_BLOCK)
			return fail(error, VPND_CRYPTO_ERROR_KEY_LENGTH, "key must be 16 bytes",
			            name);
		xcbc_init(&m->xcbc, key);
		m->out_len = AES_BLOCK;
		return TRUE;
	}
	if (algo == GNUTLS_MAC_AES_CMAC_128 && key_len != AES_BLOCK)
		return fail(error, VPND_CRYPTO_ERROR_KEY_LENGTH, "key must be 16 bytes", name);
	if ((rc = gnutls_hmac_init(&m->h, algo, key_len ? key : empty, key_len)) < 0)
		return gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, name);
	m->out_len = gnutls_hmac_get_len(algo);
	return TRUE;
}

static void
mac_update(Mac *m, const guint8 *data, gsize len)
{
	if (!len)
		return;
	if (m->h)
		gnutls_hmac(m->h, data, len);
	else
		xcbc_update(&m->xcbc, data, len);
}

/* Writes out_len bytes and returns to the keyed initial state. */
static void
mac_finish(Mac *m, guint8 *out)
{
	if (m->h)
		gnutls_hmac_output(m->h, out);
	else
		xcbc_finish(&m->xcbc, out);
}

static void
mac_clear(Mac *m)
{
	if (m->h)
		gnutls_hmac_deinit(m->h, NULL);
	explicit_bzero(&m->xcbc, sizeof(m->xcbc));
}

static gnutls_mac_algorithm_t
prf_algo(VpndPrfId id, gsize *key_len)
{
	switch (id) {
	case VPND_PRF_HMAC_SHA1:
		*key_len = 20;
		return GNUTLS_MAC_SHA1;
	case VPND_PRF_HMAC_SHA2_256:
		*key_len = 32;
		return GNUTLS_MAC_SHA256;
	case VPND_PRF_HMAC_SHA2_384:
		*key_len = 48;
		return GNUTLS_MAC_SHA384;
	case VPND_PRF_HMAC_SHA2_512:
		*key_len = 64;
		return GNUTLS_MAC_SHA512;
	case VPND_PRF_AES128_CMAC:
		*key_len = 16;
		return GNUTLS_MAC_AES_CMAC_128;
	case VPND_PRF_AES128_XCBC:
		*key_len = 16;
		return GNUTLS_MAC_UNKNOWN;
	}
	*key_len = 0;
	return GNUTLS_MAC_NULL;
}

typedef struct {
	VpndPrf base;
	Mac mac;
} Prf;

static void
prf_update(VpndPrf *base, const guint8 *data, gsize len)
{
	mac_update(&((Prf *)base)->mac, data, len);
}

static void
prf_finish(VpndPrf *base, guint8 *out)
{
	mac_finish(&((Prf *)base)->mac, out);
}

static void
prf_free(VpndPrf *base)
{
	mac_clear(&((Prf *)base)->mac);
	g_free(base);
}

static const VpndPrfOps prf_ops = {prf_update, prf_finish, prf_free};

static VpndPrf *
prf_new(VpndPrfId id, const guint8 *key, gsize key_len, GError **error)
{
	gsize pref;
	gnutls_mac_algorithm_t algo = prf_algo(id, &pref);

	if (algo == GNUTLS_MAC_NULL) {
		fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "not supported", vpnd_prf_to_string(id));
		return NULL;
	}
	Prf *p = g_new0(Prf, 1);
	if (!mac_init(&p->mac, algo, key, key_len, vpnd_prf_to_string(id), error)) {
		g_free(p);
		return NULL;
	}
	p->base = (VpndPrf){&prf_ops, id, p->mac.out_len, pref};
	return &p->base;
}

static gnutls_mac_algorithm_t
integ_algo(VpndIntegId id, gsize *key_len, gsize *icv_len)
{
	switch (id) {
	case VPND_INTEG_HMAC_SHA1_96:
		*key_len = 20, *icv_len = 12;
		return GNUTLS_MAC_SHA1;
	case VPND_INTEG_HMAC_SHA2_256_128:
		*key_len = 32, *icv_len = 16;
		return GNUTLS_MAC_SHA256;
	case VPND_INTEG_HMAC_SHA2_384_192:
		*key_len = 48, *icv_len = 24;
		return GNUTLS_MAC_SHA384;
	case VPND_INTEG_HMAC_SHA2_512_256:
		*key_len = 64, *icv_len = 32;
		return GNUTLS_MAC_SHA512;
	case VPND_INTEG_AES_CMAC_96:
		*key_len = 16, *icv_len = 12;
		return GNUTLS_MAC_AES_CMAC_128;
	case VPND_INTEG_AES_XCBC_96:
		*key_len = 16, *icv_len = 12;
		return GNUTLS_MAC_UNKNOWN;
	}
	*key_len = *icv_len = 0;
	return GNUTLS_MAC_NULL;
}

typedef struct {
	VpndIntegrity base;
	Mac mac;
} Integ;

static void
integ_compute(VpndIntegrity *base, const guint8 *data, gsize len, guint8 *icv)
{
	Integ *s = (Integ *)base;
	guint8 full[VPND_PRF_MAX_LEN];

	mac_update(&s->mac, data, len);
	mac_finish(&s->mac, full);
	memcpy(icv, full, base->icv_len);
	explicit_bzero(full, sizeof(full));
}

static void
integ_free(VpndIntegrity *base)
{
	mac_clear(&((Integ *)base)->mac);
	g_free(base);
}

static const VpndIntegrityOps integ_ops = {integ_compute, integ_free};

static VpndIntegrity *
integrity_new(VpndIntegId id, const guint8 *key, gsize key_len, GError **error)
{
	gsize want, icv;
	gnutls_mac_algorithm_t algo = integ_algo(id, &want, &icv);

	if (algo == GNUTLS_MAC_NULL) {
		fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "not supported",
		     vpnd_integ_to_string(id));
		return NULL;
	}
	if (key_len != want) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH,
		            "%s: key must be %" G_GSIZE_FORMAT " bytes", vpnd_integ_to_string(id),
		            want);
		return NULL;
	}
	Integ *s = g_new0(Integ, 1);
	if (!mac_init(&s->mac, algo, key, key_len, vpnd_integ_to_string(id), error)) {
		g_free(s);
		return NULL;
	}
	s->base = (VpndIntegrity){&integ_ops, id, want, icv};
	return &s->base;
}

/* ---- Ciphers: AES-CBC from GnuTLS, AES-CTR (RFC 3686) on nettle ----------------------- */

static gboolean
aes_key_ok(gsize len)
{
	return len == 16 || len == 24 || len == 32;
}

typedef struct {
	VpndCipher base;
	gnutls_cipher_hd_t cbc;
	Aes aes; /* CTR */
	guint8 nonce[4];
} Cipher;

static gboolean
cbc_encrypt(VpndCipher *base, const guint8 *iv, guint8 *buf, gsize len)
{
	Cipher *c = (Cipher *)base;

	if (len % AES_BLOCK)
		return FALSE;
	if (!len)
		return TRUE;
	gnutls_cipher_set_iv(c->cbc, (void *)iv, AES_BLOCK);
	return gnutls_cipher_encrypt(c->cbc, buf, len) == 0;
}

static gboolean
cbc_decrypt(VpndCipher *base, const guint8 *iv, guint8 *buf, gsize len)
{
	Cipher *c = (Cipher *)base;

	if (len % AES_BLOCK)
		return FALSE;
	if (!len)
		return TRUE;
	gnutls_cipher_set_iv(c->cbc, (void *)iv, AES_BLOCK);
	return gnutls_cipher_decrypt(c->cbc, buf, len) == 0;
}

/* counter block: nonce(4) | iv(8) | 00000001 (RFC 3686 §4) */
static gboolean
ctr_crypt_buf(VpndCipher *base, const guint8 *iv, guint8 *buf, gsize len)
{
	Cipher *c = (Cipher *)base;
	guint8 ctr[AES_BLOCK] = {0};

	memcpy(ctr, c->nonce, 4);
	memcpy(ctr + 4, iv, 8);
	ctr[15] = 1;
	if (len)
		ctr_crypt(&c->aes, aes_encrypt_fn, AES_BLOCK, ctr, len, buf, buf);
	return TRUE;
}

static void
cipher_free(VpndCipher *base)
{
	Cipher *c = (Cipher *)base;

	if (c->cbc)
		gnutls_cipher_deinit(c->cbc);
	explicit_bzero(&c->aes, sizeof(c->aes));
	explicit_bzero(c->nonce, sizeof(c->nonce));
	g_free(c);
}

static const VpndCipherOps cbc_ops = {cbc_encrypt, cbc_decrypt, cipher_free};
static const VpndCipherOps ctr_ops = {ctr_crypt_buf, ctr_crypt_buf, cipher_free};

static VpndCipher *
cipher_new(VpndEncrId id, const guint8 *key, gsize key_len, GError **error)
{
	const char *name = vpnd_encr_to_string(id);
	gsize aes_len = id == VPND_ENCR_AES_CTR ? key_len - 4 : key_len;
	int rc;

	if (id != VPND_ENCR_AES_CBC && id != VPND_ENCR_AES_CTR) {
		fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "not a cipher", name);
		return NULL;
	}
	if ((id == VPND_ENCR_AES_CTR && key_len < 4) || !aes_key_ok(aes_len)) {
		fail(error, VPND_CRYPTO_ERROR_KEY_LENGTH, "wrong key length", name);
		return NULL;
	}
	Cipher *c = g_new0(Cipher, 1);
	if (id == VPND_ENCR_AES_CBC) {
		static const guint8 zero_iv[AES_BLOCK];
		gnutls_cipher_algorithm_t algo = aes_len == 16   ? GNUTLS_CIPHER_AES_128_CBC
		                                 : aes_len == 24 ? GNUTLS_CIPHER_AES_192_CBC
		                                                 : GNUTLS_CIPHER_AES_256_CBC;
		gnutls_datum_t k = {(guint8 *)key, (unsigned)key_len};
		gnutls_datum_t iv = {(guint8 *)zero_iv, AES_BLOCK};
		if ((rc = gnutls_cipher_init(&c->cbc, algo, &k, &iv)) < 0) {
			g_free(c);
			gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, name);
			return NULL;
		}
		c->base = (VpndCipher){&cbc_ops, id, aes_len, AES_BLOCK, AES_BLOCK};
	} else {
		aes_set_key(&c->aes, aes_len, key);
		memcpy(c->nonce, key + aes_len, 4);
		c->base = (VpndCipher){&ctr_ops, id, aes_len, 1, 8};
	}
	return &c->base;
}

/* ---- AEADs: GCM and ChaCha20-Poly1305 from GnuTLS, CCM (RFC 4309) on nettle ---------- */

typedef struct {
	VpndAead base;
	gnutls_aead_cipher_hd_t h; /* GCM, ChaCha20-Poly1305 */
	guint8 salt[VPND_AEAD_MAX_SALT_LEN];
} Aead;

/* CCM's key schedule is ours; the others' lives in GnuTLS (one per SA direction: a
 * gateway holds thousands, so GCM does not carry CCM's unused 260 bytes) */
typedef struct {
	Aead a;
	Aes aes;
} CcmAead;

static gboolean
is_ccm(VpndEncrId id)
{
	return id == VPND_ENCR_AES_CCM_8 || id == VPND_ENCR_AES_CCM_12 ||
	       id == VPND_ENCR_AES_CCM_16;
}

static void
aead_nonce(Aead *a, const guint8 *iv, guint8 *nonce)
{
	memcpy(nonce, a->salt, a->base.salt_len);
	memcpy(nonce + a->base.salt_len, iv, VPND_AEAD_IV_LEN);
}

static gboolean
gt_aead_encrypt(VpndAead *base, const guint8 *iv, const guint8 *aad, gsize aad_len, guint8 *buf,
                gsize len, guint8 *icv)
{
	Aead *a = (Aead *)base;
	guint8 nonce[12];
	giovec_t ad = {(void *)aad, aad_len}, data = {buf, len};
	size_t tag_len = base->icv_len;

	aead_nonce(a, iv, nonce);
	return gnutls_aead_cipher_encryptv2(a->h, nonce, sizeof(nonce), &ad, aad_len ? 1 : 0, &data,
	                                    len ? 1 : 0, icv, &tag_len) == 0 &&
	       tag_len == base->icv_len;
}

static gboolean
gt_aead_decrypt(VpndAead *base, const guint8 *iv, const guint8 *aad, gsize aad_len, guint8 *buf,
                gsize len, const guint8 *icv)
{
	Aead *a = (Aead *)base;
	guint8 nonce[12];
	giovec_t ad = {(void *)aad, aad_len}, data = {buf, len};

	aead_nonce(a, iv, nonce);
	return gnutls_aead_cipher_decryptv2(a->h, nonce, sizeof(nonce), &ad, aad_len ? 1 : 0, &data,
	                                    len ? 1 : 0, (void *)icv, base->icv_len) == 0;
}

static void
ccm_start(Aead *a, struct ccm_ctx *ctx, const guint8 *iv, const guint8 *aad, gsize aad_len,
          gsize len)
{
	guint8 nonce[11];

	aead_nonce(a, iv, nonce);
	ccm_set_nonce(ctx, &((CcmAead *)a)->aes, aes_encrypt_fn, sizeof(nonce), nonce, aad_len,
	              len, a->base.icv_len);
	if (aad_len)
		ccm_update(ctx, &((CcmAead *)a)->aes, aes_encrypt_fn, aad_len, aad);
}

static gboolean
ccm_aead_encrypt(VpndAead *base, const guint8 *iv, const guint8 *aad, gsize aad_len, guint8 *buf,
                 gsize len, guint8 *icv)
{
	CcmAead *a = (CcmAead *)base;
	struct ccm_ctx ctx;

	ccm_start(&a->a, &ctx, iv, aad, aad_len, len);
	ccm_encrypt(&ctx, &a->aes, aes_encrypt_fn, len, buf, buf);
	ccm_digest(&ctx, &a->aes, aes_encrypt_fn, base->icv_len, icv);
	explicit_bzero(&ctx, sizeof(ctx));
	return TRUE;
}

static gboolean
ccm_aead_decrypt(VpndAead *base, const guint8 *iv, const guint8 *aad, gsize aad_len, guint8 *buf,
                 gsize len, const guint8 *icv)
{
	CcmAead *a = (CcmAead *)base;
	struct ccm_ctx ctx;
	guint8 tag[AES_BLOCK];
	gboolean ok;

	ccm_start(&a->a, &ctx, iv, aad, aad_len, len);
	ccm_decrypt(&ctx, &a->aes, aes_encrypt_fn, len, buf, buf);
	ccm_digest(&ctx, &a->aes, aes_encrypt_fn, base->icv_len, tag);
	ok = vpnd_memeq_const(tag, icv, base->icv_len);
	explicit_bzero(&ctx, sizeof(ctx));
	explicit_bzero(tag, sizeof(tag));
	return ok;
}

static void
aead_free(VpndAead *base)
{
	Aead *a = (Aead *)base;

	if (a->h)
		gnutls_aead_cipher_deinit(a->h);
	if (is_ccm(base->id))
		explicit_bzero(&((CcmAead *)a)->aes, sizeof(((CcmAead *)a)->aes));
	explicit_bzero(a->salt, sizeof(a->salt));
	g_free(a);
}

static const VpndAeadOps gt_aead_ops = {gt_aead_encrypt, gt_aead_decrypt, aead_free};
static const VpndAeadOps ccm_aead_ops = {ccm_aead_encrypt, ccm_aead_decrypt, aead_free};

static gsize
aead_icv_len(VpndEncrId id)
{
	switch (id) {
	case VPND_ENCR_AES_CCM_8:
	case VPND_ENCR_AES_GCM_8:
		return 8;
	case VPND_ENCR_AES_CCM_12:
	case VPND_ENCR_AES_GCM_12:
		return 12;
	case VPND_ENCR_AES_CCM_16:
	case VPND_ENCR_AES_GCM_16:
	case VPND_ENCR_CHACHA20_POLY1305:
		return 16;
	case VPND_ENCR_AES_CBC:
	case VPND_ENCR_AES_CTR:
		break;
	}
	return 0;
}

static VpndAead *
aead_new(VpndEncrId id, const guint8 *key, gsize key_len, GError **error)
{
	const char *name = vpnd_encr_to_string(id);
	gsize icv = aead_icv_len(id);
	gboolean ccm = is_ccm(id);
	gsize salt = ccm ? 3 : 4;
	gsize klen = key_len > salt ? key_len - salt : 0;
	int rc;

	if (!icv) {
		fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "not an AEAD", name);
		return NULL;
	}
	if (id == VPND_ENCR_CHACHA20_POLY1305 ? klen != 32 : !aes_key_ok(klen)) {
		fail(error, VPND_CRYPTO_ERROR_KEY_LENGTH, "wrong key length", name);
		return NULL;
	}
	Aead *a = g_malloc0(ccm ? sizeof(CcmAead) : sizeof(Aead));
	a->base = (VpndAead){
	        ccm ? &ccm_aead_ops : &gt_aead_ops, id, klen, salt, VPND_AEAD_IV_LEN, icv};
	memcpy(a->salt, key + klen, salt);
	if (ccm) {
		aes_set_key(&((CcmAead *)a)->aes, klen, key);
		return &a->base;
	}
	gnutls_cipher_algorithm_t algo = id == VPND_ENCR_CHACHA20_POLY1305
	                                         ? GNUTLS_CIPHER_CHACHA20_POLY1305
	                                 : klen == 16 ? GNUTLS_CIPHER_AES_128_GCM
	                                 : klen == 24 ? GNUTLS_CIPHER_AES_192_GCM
	                                              : GNUTLS_CIPHER_AES_256_GCM;
	gnutls_datum_t k = {(guint8 *)key, (unsigned)klen};
	if ((rc = gnutls_aead_cipher_init(&a->h, algo, &k)) < 0) {
		explicit_bzero(a->salt, sizeof(a->salt));
		g_free(a);
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, name);
		return NULL;
	}
	return &a->base;
}

/* ---- Random ------------------------------------------------------------------------ */

static gboolean
random_bytes(guint8 *buf, gsize len, gboolean key, GError **error)
{
	int rc = gnutls_rnd(key ? GNUTLS_RND_KEY : GNUTLS_RND_NONCE, buf, len);

	if (rc < 0)
		return gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "random");
	return TRUE;
}

/* ---- The provider ------------------------------------------------------------------ */

static gboolean
supports(VpndAlgType type, guint id, guint key_bits)
{
	gsize a, b;

	switch (type) {
	case VPND_ALG_ENCR:
		if (id == VPND_ENCR_CHACHA20_POLY1305)
			return key_bits == 0 || key_bits == 256;
		if (!aead_icv_len(id) && id != VPND_ENCR_AES_CBC && id != VPND_ENCR_AES_CTR)
			return FALSE;
		return key_bits == 0 || key_bits == 128 || key_bits == 192 || key_bits == 256;
	case VPND_ALG_PRF:
		return prf_algo(id, &a) != GNUTLS_MAC_NULL;
	case VPND_ALG_INTEG:
		return integ_algo(id, &a, &b) != GNUTLS_MAC_NULL;
	case VPND_ALG_KE:
		return gt_ke_supports(id);
	case VPND_ALG_HASH:
		return hash_algo(id) != GNUTLS_DIG_UNKNOWN;
	case VPND_ALG_SIGN:
		return gt_supports_sign(id, key_bits);
	case VPND_ALG_X509:
		return TRUE;
	}
	return FALSE;
}

static const VpndCryptoOps gnutls_crypto_ops = {
        .supports = supports,
        .hasher_new = hasher_new,
        .prf_new = prf_new,
        .integrity_new = integrity_new,
        .cipher_new = cipher_new,
        .aead_new = aead_new,
        .ke_new = gt_ke_new,
        .privkey_load = gt_privkey_load,
        .privkey_generate = gt_privkey_generate,
        .pubkey_load = gt_pubkey_load,
        .cert_load = gt_cert_load,
        .cert_verify = gt_cert_verify,
        .random = random_bytes,
};

#define DEFAULT_PRIORITY 20

static gboolean
crypto_gnutls_init(VpndHost *host, GError **error)
{
	const char *prio = vpnd_host_get_setting(host, "plugins.crypto-gnutls.priority");
	int rc;

	if ((rc = gnutls_global_init()) < 0)
		return gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "GnuTLS");
	vpnd_host_add_provider(host, VPND_PROVIDER_CRYPTO, "gnutls", &gnutls_crypto_ops,
	                       prio ? (gint)g_ascii_strtoll(prio, NULL, 10) : DEFAULT_PRIORITY,
	                       NULL);
	vpnd_debug("crypto-gnutls: GnuTLS %s", gnutls_check_version(NULL));
	return TRUE;
}

static void
crypto_gnutls_fini(void)
{
	gnutls_global_deinit();
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
        .abi = VPND_PLUGIN_ABI,
        .struct_size = sizeof(VpndPlugin),
        .name = "crypto-gnutls",
        .init = crypto_gnutls_init,
        .fini = crypto_gnutls_fini,
};
