/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keys, signatures and X.509 for crypto-openssl: EVP_PKEY, EVP_DigestSign/Verify, X509. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <time.h>

#include "openssl_plugin.h"

static gboolean
is_pem(const guint8 *data, gsize len)
{
	return g_strstr_len((const char *)data, (gssize)MIN(len, 4096), "-----BEGIN") != NULL;
}

static gboolean
key_type_of(EVP_PKEY *key, VpndKeyType *type, guint *bits)
{
	int id = EVP_PKEY_get_base_id(key);

	*bits = (guint)EVP_PKEY_get_bits(key);
	if (id == EVP_PKEY_RSA)
		*type = VPND_KEY_RSA;
	else if (id == EVP_PKEY_EC)
		*type = VPND_KEY_ECDSA;
	else if (id == EVP_PKEY_ED25519)
		*type = VPND_KEY_ED25519;
	else if (id == EVP_PKEY_ED448)
		*type = VPND_KEY_ED448;
	else
		return FALSE;
	return id != EVP_PKEY_EC || *bits == 256 || *bits == 384 || *bits == 521;
}

gboolean
os_supports_sign(VpndSignScheme scheme, guint key_bits)
{
	switch (scheme) {
	case VPND_SIGN_RSA_PKCS1:
	case VPND_SIGN_RSA_PSS:
		return key_bits == 0 || key_bits >= 1024;
	case VPND_SIGN_ECDSA:
		return key_bits == 0 || key_bits == 256 || key_bits == 384 || key_bits == 521;
	case VPND_SIGN_ED25519:
	case VPND_SIGN_ED448:
		return TRUE;
	}
	return FALSE;
}

/* Checks (scheme, hash, key type) and gives the digest (NULL for EdDSA). */
static gboolean
sign_md(VpndKeyType type, const VpndSignParams *params, const EVP_MD **md, GError **error)
{
	gboolean ok;

	*md = NULL;
	switch (params->scheme) {
	case VPND_SIGN_RSA_PKCS1:
		ok = type == VPND_KEY_RSA;
		break;
	case VPND_SIGN_RSA_PSS:
		ok = type == VPND_KEY_RSA && params->hash != VPND_HASH_SHA1;
		break;
	case VPND_SIGN_ECDSA:
		ok = type == VPND_KEY_ECDSA;
		break;
	case VPND_SIGN_ED25519:
		ok = type == VPND_KEY_ED25519 && params->hash == VPND_HASH_IDENTITY;
		break;
	case VPND_SIGN_ED448:
		ok = type == VPND_KEY_ED448 && params->hash == VPND_HASH_IDENTITY;
		break;
	default:
		ok = FALSE;
		break;
	}
	if (ok && params->hash != VPND_HASH_IDENTITY) {
		switch (params->hash) {
		case VPND_HASH_SHA1:
			*md = EVP_sha1();
			break;
		case VPND_HASH_SHA2_256:
			*md = EVP_sha256();
			break;
		case VPND_HASH_SHA2_384:
			*md = EVP_sha384();
			break;
		case VPND_HASH_SHA2_512:
			*md = EVP_sha512();
			break;
		case VPND_HASH_IDENTITY:
			break;
		}
		ok = *md != NULL;
	}
	if (!ok)
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
		            "%s with %s cannot be used with a %s key",
		            vpnd_sign_scheme_to_string(params->scheme),
		            vpnd_hash_to_string(params->hash), vpnd_key_type_to_string(type));
	return ok;
}

/* EVP_DigestSignInit/VerifyInit with the padding @params ask for. */
static EVP_MD_CTX *
md_ctx_for(EVP_PKEY *key, VpndKeyType type, const VpndSignParams *params, gboolean sign,
           GError **error)
{
	const EVP_MD *md;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *ctx;

	if (!sign_md(type, params, &md, error))
		return NULL;
	ctx = EVP_MD_CTX_new();
	if (!ctx ||
	    (sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key)
	          : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key)) <= 0 ||
	    (params->scheme == VPND_SIGN_RSA_PSS &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))) {
		EVP_MD_CTX_free(ctx);
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, "signature setup");
		return NULL;
	}
	return ctx;
}

static GBytes *
spki_der(EVP_PKEY *key, GError **error)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);

	if (len <= 0) {
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, "public key export");
		return NULL;
	}
	GBytes *b = g_bytes_new(der, (gsize)len);
	OPENSSL_free(der);
	return b;
}

/* ---- Public keys ---------------------------------------------------------------------------- */

typedef struct {
	VpndPubKey base;
	EVP_PKEY *key;
} PubKey;

static gboolean
pubkey_verify(VpndPubKey *base, const VpndSignParams *params, const guint8 *data, gsize len,
              const guint8 *sig, gsize sig_len, GError **error)
{
	EVP_MD_CTX *ctx = md_ctx_for(((PubKey *)base)->key, base->type, params, FALSE, error);
	int rc;

	if (!ctx)
		return FALSE;
	rc = EVP_DigestVerify(ctx, sig, sig_len, data, len);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (rc != 1) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_VERIFY,
		            "signature not valid");
		return FALSE;
	}
	return TRUE;
}

static GBytes *
pubkey_get_der(VpndPubKey *base, GError **error)
{
	return spki_der(((PubKey *)base)->key, error);
}

static void
pubkey_free(VpndPubKey *base)
{
	EVP_PKEY_free(((PubKey *)base)->key);
	g_free(base);
}

static const VpndPubKeyOps pubkey_ops = {pubkey_verify, pubkey_get_der, pubkey_free};

/* Takes @key. */
static VpndPubKey *
pubkey_wrap(EVP_PKEY *key, GError **error)
{
	VpndKeyType type;
	guint bits;

	if (!key_type_of(key, &type, &bits)) {
		EVP_PKEY_free(key);
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
		            "unsupported public key type");
		return NULL;
	}
	PubKey *k = g_new0(PubKey, 1);
	k->base = (VpndPubKey){&pubkey_ops, type, bits};
	k->key = key;
	return &k->base;
}

VpndPubKey *
os_pubkey_load(const guint8 *data, gsize len, GError **error)
{
	EVP_PKEY *key = NULL;

	if (is_pem(data, len)) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else {
		const unsigned char *p = data;
		key = d2i_PUBKEY(NULL, &p, (long)len);
	}
	if (!key) {
		os_fail(error, VPND_CRYPTO_ERROR_PARSE, "public key");
		return NULL;
	}
	return pubkey_wrap(key, error);
}

/* ---- Private keys -----------------------------------------------------------------------------
 */

typedef struct {
	VpndPrivKey base;
	EVP_PKEY *key;
} PrivKey;

static GBytes *
privkey_sign(VpndPrivKey *base, const VpndSignParams *params, const guint8 *data, gsize len,
             GError **error)
{
	EVP_MD_CTX *ctx = md_ctx_for(((PrivKey *)base)->key, base->type, params, TRUE, error);
	size_t sig_len = 0;
	guint8 *sig = NULL;

	if (!ctx)
		return NULL;
	if (EVP_DigestSign(ctx, NULL, &sig_len, data, len) <= 0 || !(sig = g_malloc(sig_len)) ||
	    EVP_DigestSign(ctx, sig, &sig_len, data, len) <= 0) {
		g_free(sig);
		EVP_MD_CTX_free(ctx);
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, "signing");
		return NULL;
	}
	EVP_MD_CTX_free(ctx);
	return g_bytes_new_take(sig, sig_len);
}

static GBytes *
privkey_get_public_der(VpndPrivKey *base, GError **error)
{
	return spki_der(((PrivKey *)base)->key, error);
}

static void
privkey_free(VpndPrivKey *base)
{
	EVP_PKEY_free(((PrivKey *)base)->key); /* OpenSSL clears the key */
	g_free(base);
}

static const VpndPrivKeyOps privkey_ops = {privkey_sign, privkey_get_public_der, privkey_free};

static VpndPrivKey *
privkey_wrap(EVP_PKEY *key, GError **error)
{
	VpndKeyType type;
	guint bits;

	if (!key_type_of(key, &type, &bits)) {
		EVP_PKEY_free(key);
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
		            "unsupported private key type");
		return NULL;
	}
	PrivKey *k = g_new0(PrivKey, 1);
	k->base = (VpndPrivKey){&privkey_ops, type, bits};
	k->key = key;
	return &k->base;
}

VpndPrivKey *
os_privkey_load(const guint8 *data, gsize len, GError **error)
{
	EVP_PKEY *key = NULL;

	if (is_pem(data, len)) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else {
		const unsigned char *p = data;
		key = d2i_AutoPrivateKey(NULL, &p, (long)len);
	}
	if (!key) {
		os_fail(error, VPND_CRYPTO_ERROR_PARSE, "private key");
		return NULL;
	}
	return privkey_wrap(key, error);
}

VpndPrivKey *
os_privkey_generate(VpndKeyType type, guint bits, GError **error)
{
	EVP_PKEY *key = NULL;

	switch (type) {
	case VPND_KEY_RSA:
		if (bits >= 1024)
			key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	case VPND_KEY_ECDSA:
		if (bits == 256 || bits == 384 || bits == 521)
			key = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
			                        bits == 256   ? "P-256"
			                        : bits == 384 ? "P-384"
			                                      : "P-521");
		break;
	case VPND_KEY_ED25519:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case VPND_KEY_ED448:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
		break;
	}
	if (!key) {
		os_fail(error, VPND_CRYPTO_ERROR_UNSUPPORTED, "key generation");
		return NULL;
	}
	return privkey_wrap(key, error);
}

/* ---- Certificates ------------------------------------------------------------------------------
 */

typedef struct {
	VpndCert base;
	X509 *crt;
} Cert;

static char *
name_to_string(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;

	if (!bio)
		return g_strdup("");
	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
	len = BIO_get_mem_data(bio, &data);
	char *s = g_strndup(data, (gsize)MAX(len, 0));
	BIO_free(bio);
	return s;
}

static char *
cert_get_subject(VpndCert *base)
{
	return name_to_string(X509_get_subject_name(((Cert *)base)->crt));
}

static char *
cert_get_issuer(VpndCert *base)
{
	return name_to_string(X509_get_issuer_name(((Cert *)base)->crt));
}

static GBytes *
cert_get_der(VpndCert *base)
{
	unsigned char *der = NULL;
	int len = i2d_X509(((Cert *)base)->crt, &der);

	if (len <= 0)
		return g_bytes_new(NULL, 0);
	GBytes *b = g_bytes_new(der, (gsize)len);
	OPENSSL_free(der);
	return b;
}

static VpndPubKey *
cert_get_public_key(VpndCert *base, GError **error)
{
	EVP_PKEY *key = X509_get_pubkey(((Cert *)base)->crt);

	if (!key) {
		os_fail(error, VPND_CRYPTO_ERROR_PARSE, "certificate public key");
		return NULL;
	}
	return pubkey_wrap(key, error);
}

static gint64
asn1_time_to_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (gint64)timegm(&tm);
}

static void
cert_get_validity(VpndCert *base, gint64 *not_before, gint64 *not_after)
{
	X509 *crt = ((Cert *)base)->crt;

	*not_before = asn1_time_to_unix(X509_get0_notBefore(crt));
	*not_after = asn1_time_to_unix(X509_get0_notAfter(crt));
}

static void
cert_free(VpndCert *base)
{
	X509_free(((Cert *)base)->crt);
	g_free(base);
}

static const VpndCertOps cert_ops = {
        cert_get_subject,    cert_get_issuer,   cert_get_der,
        cert_get_public_key, cert_get_validity, cert_free,
};

VpndCert *
os_cert_load(const guint8 *data, gsize len, GError **error)
{
	X509 *crt = NULL;

	if (is_pem(data, len)) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		crt = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else {
		const unsigned char *p = data;
		crt = d2i_X509(NULL, &p, (long)len);
	}
	if (!crt) {
		os_fail(error, VPND_CRYPTO_ERROR_PARSE, "certificate");
		return NULL;
	}
	Cert *c = g_new0(Cert, 1);
	c->base.ops = &cert_ops;
	c->crt = crt;
	return &c->base;
}

gboolean
os_cert_verify(VpndCert *leaf, VpndCert *const *intermediates, guint n_intermediates,
               VpndCert *const *anchors, guint n_anchors, GError **error)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	gboolean ok = FALSE;

	if (!store || !ctx || !chain) {
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, "certificate store");
		goto out;
	}
	for (guint i = 0; i < n_anchors; i++)
		X509_STORE_add_cert(store, ((Cert *)anchors[i])->crt);
	for (guint i = 0; i < n_intermediates; i++)
		sk_X509_push(chain, ((Cert *)intermediates[i])->crt);
	if (!X509_STORE_CTX_init(ctx, store, ((Cert *)leaf)->crt, chain)) {
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, "certificate store");
		goto out;
	}
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_VERIFY,
		            "certificate not valid: %s",
		            X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	ERR_clear_error();
out:
	sk_X509_free(chain);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}
