/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keys, signatures and X.509 for crypto-gnutls: gnutls_privkey/pubkey, gnutls_x509_*. */
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "gnutls_plugin.h"

static gboolean
is_pem(const guint8 *data, gsize len)
{
	return len >= 11 &&
	       g_strstr_len((const char *)data, (gssize)MIN(len, 4096), "-----BEGIN") != NULL;
}

static gboolean
key_type_of(gnutls_pk_algorithm_t pk, guint *bits_inout, VpndKeyType *type)
{
	guint bits = *bits_inout;

	/* GnuTLS counts P-521 as 528 bits (66 whole bytes) */
	if (pk == GNUTLS_PK_ECDSA && bits == 528)
		bits = *bits_inout = 521;
	/* not a switch: -Wswitch-enum would want every GnuTLS algorithm listed */
	if (pk == GNUTLS_PK_RSA)
		*type = VPND_KEY_RSA;
	else if (pk == GNUTLS_PK_ECDSA)
		*type = VPND_KEY_ECDSA;
	else if (pk == GNUTLS_PK_EDDSA_ED25519)
		*type = VPND_KEY_ED25519;
	else if (pk == GNUTLS_PK_EDDSA_ED448)
		*type = VPND_KEY_ED448;
	else
		return FALSE;
	return pk != GNUTLS_PK_ECDSA || bits == 256 || bits == 384 || bits == 521;
}

gboolean
gt_supports_sign(VpndSignScheme scheme, guint key_bits)
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

/* The GnuTLS algorithm for (scheme, hash) on a key of @type. */
static gnutls_sign_algorithm_t
sign_algo(VpndKeyType type, const VpndSignParams *params)
{
	static const struct {
		VpndSignScheme scheme;
		VpndKeyType key;
		VpndHashId hash;
		gnutls_sign_algorithm_t algo;
	} table[] = {
	        {VPND_SIGN_RSA_PKCS1, VPND_KEY_RSA, VPND_HASH_SHA1, GNUTLS_SIGN_RSA_SHA1},
	        {VPND_SIGN_RSA_PKCS1, VPND_KEY_RSA, VPND_HASH_SHA2_256, GNUTLS_SIGN_RSA_SHA256},
	        {VPND_SIGN_RSA_PKCS1, VPND_KEY_RSA, VPND_HASH_SHA2_384, GNUTLS_SIGN_RSA_SHA384},
	        {VPND_SIGN_RSA_PKCS1, VPND_KEY_RSA, VPND_HASH_SHA2_512, GNUTLS_SIGN_RSA_SHA512},
	        {VPND_SIGN_RSA_PSS, VPND_KEY_RSA, VPND_HASH_SHA2_256,
	         GNUTLS_SIGN_RSA_PSS_RSAE_SHA256},
	        {VPND_SIGN_RSA_PSS, VPND_KEY_RSA, VPND_HASH_SHA2_384,
	         GNUTLS_SIGN_RSA_PSS_RSAE_SHA384},
	        {VPND_SIGN_RSA_PSS, VPND_KEY_RSA, VPND_HASH_SHA2_512,
	         GNUTLS_SIGN_RSA_PSS_RSAE_SHA512},
	        {VPND_SIGN_ECDSA, VPND_KEY_ECDSA, VPND_HASH_SHA1, GNUTLS_SIGN_ECDSA_SHA1},
	        {VPND_SIGN_ECDSA, VPND_KEY_ECDSA, VPND_HASH_SHA2_256, GNUTLS_SIGN_ECDSA_SHA256},
	        {VPND_SIGN_ECDSA, VPND_KEY_ECDSA, VPND_HASH_SHA2_384, GNUTLS_SIGN_ECDSA_SHA384},
	        {VPND_SIGN_ECDSA, VPND_KEY_ECDSA, VPND_HASH_SHA2_512, GNUTLS_SIGN_ECDSA_SHA512},
	        {VPND_SIGN_ED25519, VPND_KEY_ED25519, VPND_HASH_IDENTITY,
	         GNUTLS_SIGN_EDDSA_ED25519},
	        {VPND_SIGN_ED448, VPND_KEY_ED448, VPND_HASH_IDENTITY, GNUTLS_SIGN_EDDSA_ED448},
	};

	for (guint i = 0; i < G_N_ELEMENTS(table); i++)
		if (table[i].scheme == params->scheme && table[i].key == type &&
		    table[i].hash == params->hash)
			return table[i].algo;
	return GNUTLS_SIGN_UNKNOWN;
}

static gboolean
no_scheme(GError **error, VpndKeyType type, const VpndSignParams *params)
{
	g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
	            "%s with %s cannot be used with a %s key",
	            vpnd_sign_scheme_to_string(params->scheme), vpnd_hash_to_string(params->hash),
	            vpnd_key_type_to_string(type));
	return FALSE;
}

static GBytes *
datum_to_bytes(gnutls_datum_t *d)
{
	GBytes *b = g_bytes_new(d->data, d->size);

	gnutls_free(d->data);
	d->data = NULL;
	return b;
}

/* ---- Public keys ----------------------------------------------------------------------- */

typedef struct {
	VpndPubKey base;
	gnutls_pubkey_t key;
} PubKey;

static gboolean
pubkey_verify(VpndPubKey *base, const VpndSignParams *params, const guint8 *data, gsize len,
              const guint8 *sig, gsize sig_len, GError **error)
{
	PubKey *k = (PubKey *)base;
	gnutls_sign_algorithm_t algo = sign_algo(base->type, params);
	gnutls_datum_t d = {(guint8 *)data, (unsigned)len};
	gnutls_datum_t s = {(guint8 *)sig, (unsigned)sig_len};
	unsigned flags = params->hash == VPND_HASH_SHA1 ? GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 : 0;
	int rc;

	if (algo == GNUTLS_SIGN_UNKNOWN)
		return no_scheme(error, base->type, params);
	rc = gnutls_pubkey_verify_data2(k->key, algo, flags, &d, &s);
	if (rc < 0)
		return gt_fail(error, VPND_CRYPTO_ERROR_VERIFY, rc, "signature not valid");
	return TRUE;
}

static GBytes *
pubkey_get_der(VpndPubKey *base, GError **error)
{
	gnutls_datum_t out = {NULL, 0};
	int rc = gnutls_pubkey_export2(((PubKey *)base)->key, GNUTLS_X509_FMT_DER, &out);

	if (rc < 0) {
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "public key export");
		return NULL;
	}
	return datum_to_bytes(&out);
}

static void
pubkey_free(VpndPubKey *base)
{
	gnutls_pubkey_deinit(((PubKey *)base)->key);
	g_free(base);
}

static const VpndPubKeyOps pubkey_ops = {pubkey_verify, pubkey_get_der, pubkey_free};

/* Takes @key. */
static VpndPubKey *
pubkey_wrap(gnutls_pubkey_t key, GError **error)
{
	unsigned bits = 0;
	VpndKeyType type;
	int pk = gnutls_pubkey_get_pk_algorithm(key, &bits);

	if (pk < 0 || !key_type_of(pk, &bits, &type)) {
		gnutls_pubkey_deinit(key);
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
gt_pubkey_load(const guint8 *data, gsize len, GError **error)
{
	gnutls_pubkey_t key;
	gnutls_datum_t d = {(guint8 *)data, (unsigned)len};
	int rc;

	if ((rc = gnutls_pubkey_init(&key)) < 0) {
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "public key");
		return NULL;
	}
	rc = gnutls_pubkey_import(key, &d,
	                          is_pem(data, len) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		gnutls_pubkey_deinit(key);
		gt_fail(error, VPND_CRYPTO_ERROR_PARSE, rc, "public key");
		return NULL;
	}
	return pubkey_wrap(key, error);
}

/* ---- Private keys ---------------------------------------------------------------------- */

typedef struct {
	VpndPrivKey base;
	gnutls_privkey_t key;
} PrivKey;

static GBytes *
privkey_sign(VpndPrivKey *base, const VpndSignParams *params, const guint8 *data, gsize len,
             GError **error)
{
	PrivKey *k = (PrivKey *)base;
	gnutls_sign_algorithm_t algo = sign_algo(base->type, params);
	gnutls_datum_t d = {(guint8 *)data, (unsigned)len}, sig = {NULL, 0};
	int rc;

	if (algo == GNUTLS_SIGN_UNKNOWN) {
		no_scheme(error, base->type, params);
		return NULL;
	}
	if ((rc = gnutls_privkey_sign_data2(k->key, algo, 0, &d, &sig)) < 0) {
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "signing");
		return NULL;
	}
	return datum_to_bytes(&sig);
}

static GBytes *
privkey_get_public_der(VpndPrivKey *base, GError **error)
{
	gnutls_pubkey_t pub;
	gnutls_datum_t out = {NULL, 0};
	int rc;

	if ((rc = gnutls_pubkey_init(&pub)) < 0 ||
	    (rc = gnutls_pubkey_import_privkey(pub, ((PrivKey *)base)->key, 0, 0)) < 0 ||
	    (rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &out)) < 0) {
		gnutls_pubkey_deinit(pub);
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "public key export");
		return NULL;
	}
	gnutls_pubkey_deinit(pub);
	return datum_to_bytes(&out);
}

static void
privkey_free(VpndPrivKey *base)
{
	gnutls_privkey_deinit(((PrivKey *)base)->key); /* GnuTLS wipes the key */
	g_free(base);
}

static const VpndPrivKeyOps privkey_ops = {privkey_sign, privkey_get_public_der, privkey_free};

static VpndPrivKey *
privkey_wrap(gnutls_privkey_t key, GError **error)
{
	unsigned bits = 0;
	VpndKeyType type;
	int pk = gnutls_privkey_get_pk_algorithm(key, &bits);

	if (pk < 0 || !key_type_of(pk, &bits, &type)) {
		gnutls_privkey_deinit(key);
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
gt_privkey_load(const guint8 *data, gsize len, GError **error)
{
	gnutls_privkey_t key;
	gnutls_datum_t d = {(guint8 *)data, (unsigned)len};
	int rc;

	if ((rc = gnutls_privkey_init(&key)) < 0) {
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "private key");
		return NULL;
	}
	rc = gnutls_privkey_import_x509_raw(
	        key, &d, is_pem(data, len) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER, NULL,
	        GNUTLS_PKCS_PLAIN);
	if (rc < 0) {
		gnutls_privkey_deinit(key);
		gt_fail(error, VPND_CRYPTO_ERROR_PARSE, rc, "private key");
		return NULL;
	}
	return privkey_wrap(key, error);
}

VpndPrivKey *
gt_privkey_generate(VpndKeyType type, guint bits, GError **error)
{
	gnutls_pk_algorithm_t pk;
	unsigned gbits = bits;
	gnutls_privkey_t key;
	int rc;

	switch (type) {
	case VPND_KEY_RSA:
		pk = GNUTLS_PK_RSA;
		break;
	case VPND_KEY_ECDSA:
		pk = GNUTLS_PK_ECDSA;
		gbits = bits == 256   ? GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1)
		        : bits == 384 ? GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1)
		        : bits == 521 ? GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP521R1)
		                      : 0;
		break;
	case VPND_KEY_ED25519:
		pk = GNUTLS_PK_EDDSA_ED25519;
		gbits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519);
		break;
	case VPND_KEY_ED448:
		pk = GNUTLS_PK_EDDSA_ED448;
		gbits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED448);
		break;
	default:
		pk = GNUTLS_PK_UNKNOWN;
		break;
	}
	if (pk == GNUTLS_PK_UNKNOWN || gbits == 0) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
		            "cannot generate a %u-bit %s key", bits, vpnd_key_type_to_string(type));
		return NULL;
	}
	if ((rc = gnutls_privkey_init(&key)) < 0) {
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "private key");
		return NULL;
	}
	if ((rc = gnutls_privkey_generate2(key, pk, gbits, 0, NULL, 0)) < 0) {
		gnutls_privkey_deinit(key);
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "key generation");
		return NULL;
	}
	return privkey_wrap(key, error);
}

/* ---- Certificates ---------------------------------------------------------------------- */

typedef struct {
	VpndCert base;
	gnutls_x509_crt_t crt;
} Cert;

static char *
dn_to_string(gnutls_x509_crt_t crt, gboolean issuer)
{
	gnutls_datum_t d = {NULL, 0};
	int rc = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &d, 0)
	                : gnutls_x509_crt_get_dn3(crt, &d, 0);

	if (rc < 0)
		return g_strdup("");
	char *s = g_strndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static char *
cert_get_subject(VpndCert *base)
{
	return dn_to_string(((Cert *)base)->crt, FALSE);
}

static char *
cert_get_issuer(VpndCert *base)
{
	return dn_to_string(((Cert *)base)->crt, TRUE);
}

static GBytes *
cert_get_der(VpndCert *base)
{
	gnutls_datum_t out = {NULL, 0};

	if (gnutls_x509_crt_export2(((Cert *)base)->crt, GNUTLS_X509_FMT_DER, &out) < 0)
		return g_bytes_new(NULL, 0);
	return datum_to_bytes(&out);
}

static VpndPubKey *
cert_get_public_key(VpndCert *base, GError **error)
{
	gnutls_pubkey_t key;
	int rc;

	if ((rc = gnutls_pubkey_init(&key)) < 0 ||
	    (rc = gnutls_pubkey_import_x509(key, ((Cert *)base)->crt, 0)) < 0) {
		gnutls_pubkey_deinit(key);
		gt_fail(error, VPND_CRYPTO_ERROR_PARSE, rc, "certificate public key");
		return NULL;
	}
	return pubkey_wrap(key, error);
}

static void
cert_get_validity(VpndCert *base, gint64 *not_before, gint64 *not_after)
{
	Cert *c = (Cert *)base;

	*not_before = gnutls_x509_crt_get_activation_time(c->crt);
	*not_after = gnutls_x509_crt_get_expiration_time(c->crt);
}

static void
cert_free(VpndCert *base)
{
	gnutls_x509_crt_deinit(((Cert *)base)->crt);
	g_free(base);
}

static const VpndCertOps cert_ops = {
        cert_get_subject,    cert_get_issuer,   cert_get_der,
        cert_get_public_key, cert_get_validity, cert_free,
};

VpndCert *
gt_cert_load(const guint8 *data, gsize len, GError **error)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = {(guint8 *)data, (unsigned)len};
	int rc;

	if ((rc = gnutls_x509_crt_init(&crt)) < 0) {
		gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "certificate");
		return NULL;
	}
	rc = gnutls_x509_crt_import(crt, &d,
	                            is_pem(data, len) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		gnutls_x509_crt_deinit(crt);
		gt_fail(error, VPND_CRYPTO_ERROR_PARSE, rc, "certificate");
		return NULL;
	}
	Cert *c = g_new0(Cert, 1);
	c->base.ops = &cert_ops;
	c->crt = crt;
	return &c->base;
}

gboolean
gt_cert_verify(VpndCert *leaf, VpndCert *const *intermediates, guint n_intermediates,
               VpndCert *const *anchors, guint n_anchors, GError **error)
{
	gnutls_x509_trust_list_t tl;
	unsigned status = 0;
	int rc;

	if ((rc = gnutls_x509_trust_list_init(&tl, 0)) < 0)
		return gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc, "trust list");

	/* the trust list takes what it is given: hand it copies */
	g_autofree gnutls_x509_crt_t *cas = g_new0(gnutls_x509_crt_t, n_anchors + 1);
	guint n_cas = 0;
	for (guint i = 0; i < n_anchors; i++) {
		gnutls_datum_t der = {NULL, 0};
		if (gnutls_x509_crt_export2(((Cert *)anchors[i])->crt, GNUTLS_X509_FMT_DER, &der) <
		    0)
			continue;
		if (gnutls_x509_crt_init(&cas[n_cas]) == 0 &&
		    gnutls_x509_crt_import(cas[n_cas], &der, GNUTLS_X509_FMT_DER) == 0)
			n_cas++;
		else if (cas[n_cas])
			gnutls_x509_crt_deinit(cas[n_cas]);
		cas[n_cas] = NULL;
		gnutls_free(der.data);
	}
	rc = gnutls_x509_trust_list_add_cas(tl, cas, n_cas, 0);
	if (rc < 0 || (guint)rc != n_cas) {
		gnutls_x509_trust_list_deinit(tl, 1);
		return gt_fail(error, VPND_CRYPTO_ERROR_FAILED, rc < 0 ? rc : 0, "trust anchors");
	}

	g_autofree gnutls_x509_crt_t *chain = g_new0(gnutls_x509_crt_t, n_intermediates + 1);
	chain[0] = ((Cert *)leaf)->crt;
	for (guint i = 0; i < n_intermediates; i++)
		chain[i + 1] = ((Cert *)intermediates[i])->crt;
	rc = gnutls_x509_trust_list_verify_crt2(tl, chain, n_intermediates + 1, NULL, 0, 0, &status,
	                                        NULL);
	gnutls_x509_trust_list_deinit(tl, 1);
	if (rc < 0)
		return gt_fail(error, VPND_CRYPTO_ERROR_VERIFY, rc, "certificate verification");
	if (status != 0) {
		gnutls_datum_t out = {NULL, 0};
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0);
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_VERIFY,
		            "certificate not valid: %s", out.data ? (char *)out.data : "?");
		gnutls_free(out.data);
		return FALSE;
	}
	return TRUE;
}
