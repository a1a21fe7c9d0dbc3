/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crypto-openssl: everything from OpenSSL 3 EVP — EVP_MAC for HMAC and CMAC, AES-XCBC
 * (RFC 3566) on AES-ECB, EVP_CIPHER for CBC/CTR/GCM/CCM/ChaCha20-Poly1305, key exchange
 * in openssl_ke.c, keys and certificates in openssl_pk.c.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "openssl_plugin.h"

#define AES_BLOCK 16

gboolean
os_fail(GError **error, gint code, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	g_set_error(error, VPND_CRYPTO_ERROR, code, "%s: %s", what, buf);
	return FALSE;
}

static gboolean
fail(GError **error, gint code, const char *what, const char *alg)
{
	g_set_error(error, VPND_CRYPTO_ERROR, code, "%s: %s", alg, what);
	return FALSE;
}

static EVP_MAC *mac_hmac, *mac_cmac; /* fetched once in init */

/* ---- Hash ------------------------------------------------------------------------------ */

static const EVP_MD *
hash_md(VpndHashId id)
{
	switch (id) {
	case VPND_HASH_SHA1:
		return EVP_sha1();
	case VPND_HASH_SHA2_256:
		return EVP_sha256();
	case VPND_HASH_SHA2_384:
		return EVP_sha384();
	case VPND_HASH_SHA2_512:
		return EVP_sha512();
	case VPND_HASH_IDENTITY:
		break;
	}
	return NULL;
}

typedef struct {
	VpndHasher base;
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
} Hasher;

static void
hasher_update(VpndHasher *base, const guint8 *data, gsize len)
{
	if (len)
		EVP_DigestUpdate(((Hasher *)base)->ctx, data, len);
}

static void
hasher_finish(VpndHasher *base, guint8 *out)
{
	Hasher *h = (Hasher *)base;

	EVP_DigestFinal_ex(h->ctx, out, NULL);
	EVP_DigestInit_ex(h->ctx, h->md, NULL);
}

static void
hasher_free(VpndHasher *base)
{
	EVP_MD_CTX_free(((Hasher *)base)->ctx);
	g_free(base);
}

static const VpndHasherOps hasher_ops = {hasher_update, hasher_finish, hasher_free};

static VpndHasher *
hasher_new(VpndHashId id, GError **error)
{
	const EVP_MD *md = hash_md(id);

	if (!md) {
		fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "not supported",
		     vpnd_hash_to_string(id));
		return NULL;
	}
	Hasher *h = g_new0(Hasher, 1);
	h->base = (VpndHasher){&hasher_ops, id, vpnd_hash_len(id)};
	h->md = md;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, md, NULL)) {
		hasher_free(&h->base);
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, vpnd_hash_to_string(id));
		return NULL;
	}
	return &h->base;
}

/* ---- MACs -------------------------------------------------------------------------------- */

typedef enum {
	MAC_HMAC,
	MAC_CMAC,
	MAC_XCBC,
} MacKind;

typedef struct {
	EVP_CIPHER_CTX *k1; /* AES-128-ECB under K1 */
	guint8 k2[AES_BLOCK], k3[AES_BLOCK];
	guint8 e[AES_BLOCK];
	guint8 buf[AES_BLOCK];
	gsize buf_len;
} Xcbc;

static void
ecb_block(EVP_CIPHER_CTX *ctx, guint8 *out, const guint8 *in, gsize len)
{
	int outl;

	EVP_EncryptUpdate(ctx, out, &outl, in, (int)len);
}

static gboolean
xcbc_init(Xcbc *x, const guint8 key[AES_BLOCK])
{
	guint8 consts[3 * AES_BLOCK];
	EVP_CIPHER_CTX *k = EVP_CIPHER_CTX_new();
	gboolean ok;

	for (guint i = 0; i < 3; i++)
		memset(consts + i * AES_BLOCK, i + 1, AES_BLOCK);
	x->k1 = EVP_CIPHER_CTX_new();
	ok = k && x->k1 && EVP_EncryptInit_ex(k, EVP_aes_128_ecb(), NULL, key, NULL) &&
	     EVP_CIPHER_CTX_set_padding(k, 0);
	if (ok) {
		ecb_block(k, consts, consts, sizeof(consts));
		ok = EVP_EncryptInit_ex(x->k1, EVP_aes_128_ecb(), NULL, consts, NULL) &&
		     EVP_CIPHER_CTX_set_padding(x->k1, 0);
		memcpy(x->k2, consts + AES_BLOCK, AES_BLOCK);
		memcpy(x->k3, consts + 2 * AES_BLOCK, AES_BLOCK);
	}
	OPENSSL_cleanse(consts, sizeof(consts));
	EVP_CIPHER_CTX_free(k);
	memset(x->e, 0, AES_BLOCK);
	x->buf_len = 0;
	return ok;
}

static void
xor_block(guint8 *dst, const guint8 *src)
{
	for (guint i = 0; i < AES_BLOCK; i++)
		dst[i] ^= src[i];
}

static void
xcbc_update(Xcbc *x, const guint8 *data, gsize len)
{
	while (len > 0) {
		if (x->buf_len == AES_BLOCK) {
			xor_block(x->e, x->buf);
			ecb_block(x->k1, x->e, x->e, AES_BLOCK);
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
		xor_block(x->buf, x->k2);
	} else {
		x->buf[x->buf_len] = 0x80;
		memset(x->buf + x->buf_len + 1, 0, AES_BLOCK - x->buf_len - 1);
		xor_block(x->buf, x->k3);
	}
	xor_block(x->e, x->buf);
	ecb_block(x->k1, out, x->e, AES_BLOCK);
	memset(x->e, 0, AES_BLOCK);
	OPENSSL_cleanse(x->buf, AES_BLOCK);
	x->buf_len = 0;
}

typedef struct {
	MacKind kind;
	EVP_MAC_CTX *ctx; /* HMAC, CMAC */
	Xcbc xcbc;
	gsize out_len;
} Mac;

static gboolean
mac_init(Mac *m, MacKind kind, const char *digest, const guint8 *key, gsize key_len,
         const char *name, GError **error)
{
	static const guint8 empty[1];
	OSSL_PARAM params[2];

	m->kind = kind;
	if (kind != MAC_HMAC && key_len != AES_BLOCK)
		return fail(error, VPND_CRYPTO_ERROR_KEY_LENGTH, "key must be 16 bytes", name);
	if (kind == MAC_XCBC) {
		m->out_len = AES_BLOCK;
		if (!xcbc_init(&m->xcbc, key))
			return os_fail(error, VPND_CRYPTO_ERROR_FAILED, name);
		return TRUE;
	}
	if (kind == MAC_HMAC)
		params[0] =
		        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	else
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
		                                             (char *)"AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	m->ctx = EVP_MAC_CTX_new(kind == MAC_HMAC ? mac_hmac : mac_cmac);
	if (!m->ctx || !EVP_MAC_init(m->ctx, key_len ? key : empty, key_len, params))
		return os_fail(error, VPND_CRYPTO_ERROR_FAILED, name);
	m->out_len = EVP_MAC_CTX_get_mac_size(m->ctx);
	return TRUE;
}

static void
mac_update(Mac *m, const guint8 *data, gsize len)
{
	if (!len)
		return;
	if (m->kind == MAC_XCBC)
		xcbc_update(&m->xcbc, data, len);
	else
		EVP_MAC_update(m->ctx, data, len);
}

static void
mac_finish(Mac *m, guint8 *out)
{
	size_t outl;

	if (m->kind == MAC_XCBC) {
		xcbc_finish(&m->xcbc, out);
		return;
	}
	EVP_MAC_final(m->ctx, out, &outl, m->out_len);
	EVP_MAC_init(m->ctx, NULL, 0, NULL); /* same key again */
}

static void
mac_clear(Mac *m)
{
	EVP_MAC_CTX_free(m->ctx);
	EVP_CIPHER_CTX_free(m->xcbc.k1);
	OPENSSL_cleanse(&m->xcbc, sizeof(m->xcbc));
}

static gboolean
prf_params(VpndPrfId id, MacKind *kind, const char **digest, gsize *pref)
{
	*digest = NULL;
	switch (id) {
	case VPND_PRF_HMAC_SHA1:
		*kind = MAC_HMAC, *digest = "SHA1", *pref = 20;
		return TRUE;
	case VPND_PRF_HMAC_SHA2_256:
		*kind = MAC_HMAC, *digest = "SHA256", *pref = 32;
		return TRUE;
	case VPND_PRF_HMAC_SHA2_384:
		*kind = MAC_HMAC, *digest = "SHA384", *pref = 48;
		return TRUE;
	case VPND_PRF_HMAC_SHA2_512:
		*kind = MAC_HMAC, *digest = "SHA512", *pref = 64;
		return TRUE;
	case VPND_PRF_AES128_CMAC:
		*kind = MAC_CMAC, *pref = 16;
		return TRUE;
	case VPND_PRF_AES128_XCBC:
		*kind = MAC_XCBC, *pref = 16;
		return TRUE;
	}
	return FALSE;
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
	MacKind kind;
	const char *digest;
	gsize pref;

	if (!prf_params(id, &kind, &digest, &pref)) {
		fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "not supported", vpnd_prf_to_string(id));
		return NULL;
	}
	Prf *p = g_new0(Prf, 1);
	if (!mac_init(&p->mac, kind, digest, key, key_len, vpnd_prf_to_string(id), error)) {
		prf_free(&p->base);
		return NULL;
	}
	p->base = (VpndPrf){&prf_ops, id, p->mac.out_len, pref};
	return &p->base;
}

static gboolean
integ_params(VpndIntegId id, MacKind *kind, const char **digest, gsize *key_len, gsize *icv)
{
	*digest = NULL;
	switch (id) {
	case VPND_INTEG_HMAC_SHA1_96:
		*kind = MAC_HMAC, *digest = "SHA1", *key_len = 20, *icv = 12;
		return TRUE;
	case VPND_INTEG_HMAC_SHA2_256_128:
		*kind = MAC_HMAC, *digest = "SHA256", *key_len = 32, *icv = 16;
		return TRUE;
	case VPND_INTEG_HMAC_SHA2_384_192:
		*kind = MAC_HMAC, *digest = "SHA384", *key_len = 48, *icv = 24;
		return TRUE;
	case VPND_INTEG_HMAC_SHA2_512_256:
		*kind = MAC_HMAC, *digest = "SHA512", *key_len = 64, *icv = 32;
		return TRUE;
	case VPND_INTEG_AES_CMAC_96:
		*kind = MAC_CMAC, *key_len = 16, *icv = 12;
		return TRUE;
	case VPND_INTEG_AES_XCBC_96:
		*kind = MAC_XCBC, *key_len = 16, *icv = 12;
		return TRUE;
	}
	return FALSE;
}

typedef struct {
	VpndIntegrity base;
	Mac mac;
} Integ;

static void
integ_compute(VpndIntegrity *base, const guint8 *data, gsize len, guint8 *icv)
{
	Integ *s = (Integ *)base;
	guint8 full[EVP_MAX_MD_SIZE];

	mac_update(&s->mac, data, len);
	mac_finish(&s->mac, full);
	memcpy(icv, full, base->icv_len);
	OPENSSL_cleanse(full, sizeof(full));
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
	MacKind kind;
	const char *digest;
	gsize want, icv;

	if (!integ_params(id, &kind, &digest, &want, &icv)) {
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
	if (!mac_init(&s->mac, kind, digest, key, key_len, vpnd_integ_to_string(id), error)) {
		integ_free(&s->base);
		return NULL;
	}
	s->base = (VpndIntegrity){&integ_ops, id, want, icv};
	return &s->base;
}

/* ---- Ciphers ------------------------------------------------------------------------------ */

static const EVP_CIPHER *
aes_cipher(const char *mode, gsize key_len)
{
	if (strcmp(mode, "cbc") == 0)
		return key_len == 16   ? EVP_aes_128_cbc()
		       : key_len == 24 ? EVP_aes_192_cbc()
		                       : EVP_aes_256_cbc();
	if (strcmp(mode, "ctr") == 0)
		return key_len == 16   ? EVP_aes_128_ctr()
		       : key_len == 24 ? EVP_aes_192_ctr()
		                       : EVP_aes_256_ctr();
	if (strcmp(mode, "gcm") == 0)
		return key_len == 16   ? EVP_aes_128_gcm()
		       : key_len == 24 ? EVP_aes_192_gcm()
		                       : EVP_aes_256_gcm();
	return key_len == 16   ? EVP_aes_128_ccm()
	       : key_len == 24 ? EVP_aes_192_ccm()
	                       : EVP_aes_256_ccm();
}

static gboolean
aes_key_ok(gsize len)
{
	return len == 16 || len == 24 || len == 32;
}

typedef struct {
	VpndCipher base;
	EVP_CIPHER_CTX *enc, *dec; /* CTR uses enc only */
	guint8 nonce[4];
} Cipher;

static gboolean
run(EVP_CIPHER_CTX *ctx, const guint8 *iv, guint8 *buf, gsize len)
{
	int outl;

	if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1))
		return FALSE;
	return len == 0 || (EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) && (gsize)outl == len);
}

static gboolean
cbc_encrypt(VpndCipher *base, const guint8 *iv, guint8 *buf, gsize len)
{
	return len % AES_BLOCK == 0 && run(((Cipher *)base)->enc, iv, buf, len);
}

static gboolean
cbc_decrypt(VpndCipher *base, const guint8 *iv, guint8 *buf, gsize len)
{
	return len % AES_BLOCK == 0 && run(((Cipher *)base)->dec, iv, buf, len);
}

static gboolean
ctr_crypt_buf(VpndCipher *base, const guint8 *iv, guint8 *buf, gsize len)
{
	Cipher *c = (Cipher *)base;
	guint8 ctr[AES_BLOCK] = {0};

	memcpy(ctr, c->nonce, 4);
	memcpy(ctr + 4, iv, 8);
	ctr[15] = 1;
	return run(c->enc, ctr, buf, len);
}

static void
cipher_free(VpndCipher *base)
{
	Cipher *c = (Cipher *)base;

	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	OPENSSL_cleanse(c->nonce, sizeof(c->nonce));
	g_free(c);
}

static const VpndCipherOps cbc_ops = {cbc_encrypt, cbc_decrypt, cipher_free};
static const VpndCipherOps ctr_ops = {ctr_crypt_buf, ctr_crypt_buf, cipher_free};

static EVP_CIPHER_CTX *
ctx_new(const EVP_CIPHER *cipher, const guint8 *key, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx && EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, enc) &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0))
		return ctx;
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

static VpndCipher *
cipher_new(VpndEncrId id, const guint8 *key, gsize key_len, GError **error)
{
	const char *name = vpnd_encr_to_string(id);
	gboolean ctr = id == VPND_ENCR_AES_CTR;
	gsize aes_len = ctr ? key_len - 4 : key_len;

	if (id != VPND_ENCR_AES_CBC && !ctr) {
		fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "not a cipher", name);
		return NULL;
	}
	if ((ctr && key_len < 4) || !aes_key_ok(aes_len)) {
		fail(error, VPND_CRYPTO_ERROR_KEY_LENGTH, "wrong key length", name);
		return NULL;
	}
	Cipher *c = g_new0(Cipher, 1);
	const EVP_CIPHER *cipher = aes_cipher(ctr ? "ctr" : "cbc", aes_len);
	c->enc = ctx_new(cipher, key, 1);
	if (!ctr)
		c->dec = ctx_new(cipher, key, 0);
	if (!c->enc || (!ctr && !c->dec)) {
		cipher_free(&c->base);
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, name);
		return NULL;
	}
	if (ctr) {
		memcpy(c->nonce, key + aes_len, 4);
		c->base = (VpndCipher){&ctr_ops, id, aes_len, 1, 8};
	} else {
		c->base = (VpndCipher){&cbc_ops, id, aes_len, AES_BLOCK, AES_BLOCK};
	}
	return &c->base;
}

/* ---- AEADs ------------------------------------------------------------------------------- */

typedef struct {
	VpndAead base;
	EVP_CIPHER_CTX *enc, *dec;
	gboolean ccm;
	guint8 salt[VPND_AEAD_MAX_SALT_LEN];
} Aead;

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

/* Starts one message: nonce, (CCM) lengths, AAD. */
static gboolean
aead_start(Aead *a, EVP_CIPHER_CTX *ctx, const guint8 *iv, const guint8 *aad, gsize aad_len,
           gsize len, const guint8 *tag)
{
	guint8 nonce[12];
	int outl;

	memcpy(nonce, a->salt, a->base.salt_len);
	memcpy(nonce + a->base.salt_len, iv, VPND_AEAD_IV_LEN);
	if (a->ccm && tag &&
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)a->base.icv_len, (void *)tag))
		return FALSE;
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, -1))
		return FALSE;
	if (a->ccm && !EVP_CipherUpdate(ctx, NULL, &outl, NULL, (int)len))
		return FALSE;
	return aad_len == 0 || EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len);
}

static gboolean
os_aead_encrypt(VpndAead *base, const guint8 *iv, const guint8 *aad, gsize aad_len, guint8 *buf,
                gsize len, guint8 *icv)
{
	Aead *a = (Aead *)base;
	int outl;

	if (!aead_start(a, a->enc, iv, aad, aad_len, len, NULL))
		return FALSE;
	if ((len || a->ccm) && !EVP_CipherUpdate(a->enc, buf, &outl, buf, (int)len))
		return FALSE;
	if (!EVP_CipherFinal_ex(a->enc, buf + len, &outl))
		return FALSE;
	return EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_AEAD_GET_TAG, (int)base->icv_len, icv) > 0;
}

static gboolean
os_aead_decrypt(VpndAead *base, const guint8 *iv, const guint8 *aad, gsize aad_len, guint8 *buf,
                gsize len, const guint8 *icv)
{
	Aead *a = (Aead *)base;
	int outl;
	gboolean ok;

	if (!aead_start(a, a->dec, iv, aad, aad_len, len, icv))
		return FALSE;
	if (a->ccm) {
		/* CCM checks the tag in the one update call */
		ok = EVP_CipherUpdate(a->dec, buf, &outl, buf, (int)len) > 0;
		ERR_clear_error();
		return ok;
	}
	if (len && !EVP_CipherUpdate(a->dec, buf, &outl, buf, (int)len))
		return FALSE;
	if (!EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_AEAD_SET_TAG, (int)base->icv_len, (void *)icv))
		return FALSE;
	ok = EVP_CipherFinal_ex(a->dec, buf + len, &outl) > 0;
	ERR_clear_error();
	return ok;
}

static void
aead_free(VpndAead *base)
{
	Aead *a = (Aead *)base;

	EVP_CIPHER_CTX_free(a->enc);
	EVP_CIPHER_CTX_free(a->dec);
	OPENSSL_cleanse(a->salt, sizeof(a->salt));
	g_free(a);
}

static const VpndAeadOps aead_ops = {os_aead_encrypt, os_aead_decrypt, aead_free};

static EVP_CIPHER_CTX *
aead_ctx_new(const EVP_CIPHER *cipher, gboolean ccm, gsize icv_len, const guint8 *key, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx || !EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc))
		goto err;
	if (ccm && (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 11, NULL) ||
	            !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)icv_len, NULL)))
		goto err;
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc))
		goto err;
	return ctx;
err:
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

static VpndAead *
aead_new(VpndEncrId id, const guint8 *key, gsize key_len, GError **error)
{
	const char *name = vpnd_encr_to_string(id);
	gsize icv = aead_icv_len(id);
	gboolean ccm = id == VPND_ENCR_AES_CCM_8 || id == VPND_ENCR_AES_CCM_12 ||
	               id == VPND_ENCR_AES_CCM_16;
	gboolean chacha = id == VPND_ENCR_CHACHA20_POLY1305;
	gsize salt = ccm ? 3 : 4;
	gsize klen = key_len > salt ? key_len - salt : 0;

	if (!icv) {
		fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "not an AEAD", name);
		return NULL;
	}
	if (chacha ? klen != 32 : !aes_key_ok(klen)) {
		fail(error, VPND_CRYPTO_ERROR_KEY_LENGTH, "wrong key length", name);
		return NULL;
	}
	const EVP_CIPHER *cipher = chacha ? EVP_chacha20_poly1305()
	                           : ccm  ? aes_cipher("ccm", klen)
	                                  : aes_cipher("gcm", klen);
	Aead *a = g_new0(Aead, 1);
	a->base = (VpndAead){&aead_ops, id, klen, salt, VPND_AEAD_IV_LEN, icv};
	a->ccm = ccm;
	memcpy(a->salt, key + klen, salt);
	a->enc = aead_ctx_new(cipher, ccm, icv, key, 1);
	a->dec = aead_ctx_new(cipher, ccm, icv, key, 0);
	if (!a->enc || !a->dec) {
		aead_free(&a->base);
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, name);
		return NULL;
	}
	return &a->base;
}

/* ---- Random --------------------------------------------------------------------------- */

static gboolean
random_bytes(guint8 *buf, gsize len, gboolean key, GError **error)
{
	if ((key ? RAND_priv_bytes(buf, (int)len) : RAND_bytes(buf, (int)len)) != 1)
		return os_fail(error, VPND_CRYPTO_ERROR_FAILED, "random");
	return TRUE;
}

/* ---- The provider ---------------------------------------------------------------------- */

static gboolean
supports(VpndAlgType type, guint id, guint key_bits)
{
	MacKind kind;
	const char *digest;
	gsize a, b;

	switch (type) {
	case VPND_ALG_ENCR:
		if (id == VPND_ENCR_CHACHA20_POLY1305)
			return key_bits == 0 || key_bits == 256;
		if (!aead_icv_len(id) && id != VPND_ENCR_AES_CBC && id != VPND_ENCR_AES_CTR)
			return FALSE;
		return key_bits == 0 || key_bits == 128 || key_bits == 192 || key_bits == 256;
	case VPND_ALG_PRF:
		return prf_params(id, &kind, &digest, &a);
	case VPND_ALG_INTEG:
		return integ_params(id, &kind, &digest, &a, &b);
	case VPND_ALG_KE:
		return os_ke_supports(id);
	case VPND_ALG_HASH:
		return hash_md(id) != NULL;
	case VPND_ALG_SIGN:
		return os_supports_sign(id, key_bits);
	case VPND_ALG_X509:
		return TRUE;
	}
	return FALSE;
}

static const VpndCryptoOps openssl_crypto_ops = {
        .supports = supports,
        .hasher_new = hasher_new,
        .prf_new = prf_new,
        .integrity_new = integrity_new,
        .cipher_new = cipher_new,
        .aead_new = aead_new,
        .ke_new = os_ke_new,
        .privkey_load = os_privkey_load,
        .privkey_generate = os_privkey_generate,
        .pubkey_load = os_pubkey_load,
        .cert_load = os_cert_load,
        .cert_verify = os_cert_verify,
        .random = random_bytes,
};

#define DEFAULT_PRIORITY 10

static void
crypto_openssl_fini(void)
{
	g_clear_pointer(&mac_hmac, EVP_MAC_free);
	g_clear_pointer(&mac_cmac, EVP_MAC_free);
}

static gboolean
crypto_openssl_init(VpndHost *host, GError **error)
{
	const char *prio = vpnd_host_get_setting(host, "plugins.crypto-openssl.priority");

	mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	mac_cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	if (!mac_hmac || !mac_cmac) {
		crypto_openssl_fini();
		return os_fail(error, VPND_CRYPTO_ERROR_FAILED, "OpenSSL has no HMAC or CMAC");
	}
	vpnd_host_add_provider(host, VPND_PROVIDER_CRYPTO, "openssl", &openssl_crypto_ops,
	                       prio ? (gint)g_ascii_strtoll(prio, NULL, 10) : DEFAULT_PRIORITY,
	                       NULL);
	vpnd_debug("crypto-openssl: %s", OpenSSL_version(OPENSSL_VERSION));
	return TRUE;
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
        .abi = VPND_PLUGIN_ABI,
        .struct_size = sizeof(VpndPlugin),
        .name = "crypto-openssl",
        .init = crypto_openssl_init,
        .fini = crypto_openssl_fini,
};
