/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key exchange for crypto-openssl: MODP with BN (the RFC 3526/2409 primes OpenSSL
 * carries, BN_mod_exp_mont_consttime), ECP, X25519 and X448 with EVP_PKEY derive.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "openssl_plugin.h"

typedef struct {
	VpndKeId id;
	BIGNUM *(*prime)(BIGNUM *bn);
	guint exp_bits; /* as in crypto-gnutls: twice RFC 3526's upper strength estimate */
} ModpGroup;

static const ModpGroup modp_groups[] = {
        {VPND_KE_MODP_1024, BN_get_rfc2409_prime_1024, 256},
        {VPND_KE_MODP_2048, BN_get_rfc3526_prime_2048, 320},
        {VPND_KE_MODP_3072, BN_get_rfc3526_prime_3072, 420},
        {VPND_KE_MODP_4096, BN_get_rfc3526_prime_4096, 480},
        {VPND_KE_MODP_6144, BN_get_rfc3526_prime_6144, 540},
        {VPND_KE_MODP_8192, BN_get_rfc3526_prime_8192, 620},
};

static const ModpGroup *
modp_group(VpndKeId id)
{
	for (guint i = 0; i < G_N_ELEMENTS(modp_groups); i++)
		if (modp_groups[i].id == id)
			return &modp_groups[i];
	return NULL;
}

/* EVP key type name and, for ECP, group name and field size. */
static const char *
curve_name(VpndKeId id, const char **group, gsize *field_len)
{
	*group = NULL;
	switch (id) {
	case VPND_KE_ECP_256:
		*group = "P-256", *field_len = 32;
		return "EC";
	case VPND_KE_ECP_384:
		*group = "P-384", *field_len = 48;
		return "EC";
	case VPND_KE_ECP_521:
		*group = "P-521", *field_len = 66;
		return "EC";
	case VPND_KE_CURVE25519:
		*field_len = 32;
		return "X25519";
	case VPND_KE_CURVE448:
		*field_len = 56;
		return "X448";
	case VPND_KE_MODP_1024:
	case VPND_KE_MODP_2048:
	case VPND_KE_MODP_3072:
	case VPND_KE_MODP_4096:
	case VPND_KE_MODP_6144:
	case VPND_KE_MODP_8192:
		break;
	}
	*field_len = 0;
	return NULL;
}

gboolean
os_ke_supports(VpndKeId id)
{
	const char *group;
	gsize len;

	return modp_group(id) || curve_name(id, &group, &len);
}

static gboolean
invalid(GError **error, VpndKeId id, const char *why)
{
	ERR_clear_error();
	g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_INVALID_PUBLIC,
	            "%s public value %s", vpnd_ke_to_string(id), why);
	return FALSE;
}

typedef struct {
	VpndKe base;
	guint8 *pub;
	/* MODP */
	BIGNUM *p, *x;
	BN_MONT_CTX *mont;
	BN_CTX *bn;
	/* curves */
	EVP_PKEY *key;
	const char *type, *group;
} Ke;

static const guint8 *
ke_get_public(VpndKe *base)
{
	return ((Ke *)base)->pub;
}

/* ---- MODP ---------------------------------------------------------------------------------- */

static gboolean
modp_set_public(Ke *k)
{
	BIGNUM *g = BN_new(), *y = BN_new();
	gboolean ok = g && y && BN_set_word(g, 2) &&
	              BN_mod_exp_mont_consttime(y, g, k->x, k->p, k->bn, k->mont) &&
	              BN_bn2binpad(y, k->pub, (int)k->base.public_len) > 0;

	BN_free(g);
	BN_free(y);
	return ok;
}

static VpndSecret *
modp_compute(VpndKe *base, const guint8 *peer, gsize peer_len, GError **error)
{
	Ke *k = (Ke *)base;
	BIGNUM *y, *pm1, *z;
	VpndSecret *secret = NULL;

	if (peer_len != base->public_len) {
		invalid(error, base->id, "has the wrong length");
		return NULL;
	}
	y = BN_bin2bn(peer, (int)peer_len, NULL);
	pm1 = BN_dup(k->p);
	z = BN_secure_new();
	if (!y || !pm1 || !z || !BN_sub_word(pm1, 1)) {
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, "MODP");
	} else if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0) {
		/* 1 < y < p-1: refuses 0, 1, p-1 and anything >= p */
		invalid(error, base->id, "is out of range");
	} else if (!BN_mod_exp_mont_consttime(z, y, k->x, k->p, k->bn, k->mont)) {
		os_fail(error, VPND_CRYPTO_ERROR_FAILED, "MODP");
	} else {
		secret = vpnd_secret_new(base->secret_len);
		BN_bn2binpad(z, secret->data, (int)secret->len);
	}
	BN_free(y);
	BN_free(pm1);
	BN_clear_free(z);
	return secret;
}

static gboolean
modp_set_private(VpndKe *base, const guint8 *priv, gsize len, GError **error)
{
	Ke *k = (Ke *)base;

	if (!BN_bin2bn(priv, (int)len, k->x) || !modp_set_public(k))
		return os_fail(error, VPND_CRYPTO_ERROR_FAILED, "MODP");
	return TRUE;
}

/* ---- Curves --------------------------------------------------------------------------------- */

static gboolean
curve_set_public(Ke *k)
{
	if (!k->group) {
		size_t len = k->base.public_len;
		return EVP_PKEY_get_raw_public_key(k->key, k->pub, &len) &&
		       len == k->base.public_len;
	}
	guint8 point[1 + 2 * 66];
	size_t len = 0;
	if (!EVP_PKEY_get_octet_string_param(k->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
	                                     sizeof(point), &len) ||
	    len != 1 + k->base.public_len || point[0] != POINT_CONVERSION_UNCOMPRESSED)
		return FALSE;
	memcpy(k->pub, point + 1, k->base.public_len);
	return TRUE;
}

/* An EC key of @group from a public point and/or a private scalar. */
static EVP_PKEY *
ec_key_from(const char *group, const guint8 *point, gsize point_len, const BIGNUM *priv)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;

	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    (point &&
	     !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, point_len)) ||
	    (priv && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <=
	            0)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return key;
}

/* The peer's value as an EVP_PKEY, checked to lie on the curve. (nullable) */
static EVP_PKEY *
peer_key(Ke *k, const guint8 *peer, gsize len)
{
	if (!k->group) {
		int type = k->base.id == VPND_KE_CURVE25519 ? EVP_PKEY_X25519 : EVP_PKEY_X448;
		return EVP_PKEY_new_raw_public_key(type, NULL, peer, len);
	}
	guint8 point[1 + 2 * 66];
	point[0] = POINT_CONVERSION_UNCOMPRESSED;
	memcpy(point + 1, peer, len);
	EVP_PKEY *key = ec_key_from(k->group, point, len + 1, NULL);
	EVP_PKEY_CTX *ctx = key ? EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) : NULL;
	/* fromdata decodes with EC_POINT_oct2point, which already refuses off-curve points;
	 * the explicit check keeps that true whatever the OpenSSL version does. The quick
	 * one (in range, on the curve, not infinity) is the whole check for these groups:
	 * P-256/384/521 have cofactor 1, so every such point has the group's prime order.
	 * The full check multiplies the point by that order, a second scalar
	 * multiplication per key exchange (for P-384 in OpenSSL's generic code). */
	if (!ctx || EVP_PKEY_public_check_quick(ctx) <= 0) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static VpndSecret *
curve_compute(VpndKe *base, const guint8 *peer, gsize peer_len, GError **error)
{
	Ke *k = (Ke *)base;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx;
	size_t len = base->secret_len;
	guint8 zero[56] = {0};

	if (peer_len != base->public_len) {
		invalid(error, base->id, "has the wrong length");
		return NULL;
	}
	if (!(pk = peer_key(k, peer, peer_len))) {
		invalid(error, base->id, "is not a point on the curve");
		return NULL;
	}
	g_autoptr(VpndSecret) secret = vpnd_secret_new(base->secret_len);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->key, NULL);
	gboolean ok = ctx && EVP_PKEY_derive_init(ctx) > 0 &&
	              /* an EC point was checked above (peer_key()); set_peer() would check
	               * it again, fully */
	              EVP_PKEY_derive_set_peer_ex(ctx, pk, !k->group) > 0 &&
	              EVP_PKEY_derive(ctx, secret->data, &len) > 0 && len == secret->len;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	/* OpenSSL refuses an all-zero X25519/X448 result in derive; check it anyway */
	if (!ok || (!k->group && vpnd_memeq_const(secret->data, zero, secret->len))) {
		invalid(error, base->id, k->group ? "gives no shared secret" : "is of small order");
		return NULL;
	}
	return g_steal_pointer(&secret);
}

static gboolean
curve_set_private(VpndKe *base, const guint8 *priv, gsize len, GError **error)
{
	Ke *k = (Ke *)base;
	EVP_PKEY *key = NULL;

	if (!k->group) {
		int type = base->id == VPND_KE_CURVE25519 ? EVP_PKEY_X25519 : EVP_PKEY_X448;
		key = EVP_PKEY_new_raw_private_key(type, NULL, priv, len);
	} else {
		/* fromdata wants the public point too: compute it with EC_POINT_mul */
		EC_GROUP *group = EC_GROUP_new_by_curve_name(EC_curve_nist2nid(k->group));
		BIGNUM *d = BN_bin2bn(priv, (int)len, NULL);
		EC_POINT *pt = group ? EC_POINT_new(group) : NULL;
		guint8 point[1 + 2 * 66];
		size_t plen = 0;
		if (group && d && pt && EC_POINT_mul(group, pt, d, NULL, NULL, NULL))
			plen = EC_POINT_point2oct(group, pt, POINT_CONVERSION_UNCOMPRESSED, point,
			                          sizeof(point), NULL);
		if (plen)
			key = ec_key_from(k->group, point, plen, d);
		EC_POINT_free(pt);
		BN_clear_free(d);
		EC_GROUP_free(group);
	}
	if (!key)
		return os_fail(error, VPND_CRYPTO_ERROR_KEY_LENGTH, "private key");
	EVP_PKEY_free(k->key);
	k->key = key;
	if (!curve_set_public(k))
		return os_fail(error, VPND_CRYPTO_ERROR_FAILED, "public value");
	return TRUE;
}

/* ---- Object ------------------------------------------------------------------------------- */

static void
ke_free(VpndKe *base)
{
	Ke *k = (Ke *)base;

	BN_free(k->p);
	BN_clear_free(k->x);
	BN_MONT_CTX_free(k->mont);
	BN_CTX_free(k->bn);
	EVP_PKEY_free(k->key);
	g_free(k->pub);
	g_free(k);
}

static const VpndKeOps modp_ops = {ke_get_public, modp_compute, modp_set_private, ke_free};
static const VpndKeOps curve_ops = {ke_get_public, curve_compute, curve_set_private, ke_free};

VpndKe *
os_ke_new(VpndKeId id, GError **error)
{
	const ModpGroup *g = modp_group(id);
	const char *group;
	gsize flen;
	const char *type = curve_name(id, &group, &flen);
	Ke *k;

	if (!g && !type) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
		            "%s is not supported", vpnd_ke_to_string(id));
		return NULL;
	}
	k = g_new0(Ke, 1);
	k->base.id = id;
	if (g) {
		k->base.ops = &modp_ops;
		k->p = g->prime(NULL);
		k->x = BN_secure_new();
		k->bn = BN_CTX_secure_new();
		k->mont = BN_MONT_CTX_new();
		k->base.public_len = k->base.secret_len = k->p ? (gsize)BN_num_bytes(k->p) : 0;
		k->pub = g_malloc0(k->base.public_len);
		if (!k->p || !k->x || !k->bn || !k->mont ||
		    !BN_MONT_CTX_set(k->mont, k->p, k->bn) ||
		    !BN_priv_rand(k->x, (int)g->exp_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
		    !modp_set_public(k))
			goto err;
		return &k->base;
	}
	k->base.ops = &curve_ops;
	k->type = type;
	k->group = group;
	k->base.public_len = group ? 2 * flen : flen;
	k->base.secret_len = flen;
	k->pub = g_malloc0(k->base.public_len);
	k->key = group ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", group)
	               : EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (!k->key || !curve_set_public(k))
		goto err;
	return &k->base;
err:
	ke_free(&k->base);
	os_fail(error, VPND_CRYPTO_ERROR_FAILED, vpnd_ke_to_string(id));
	return NULL;
}
