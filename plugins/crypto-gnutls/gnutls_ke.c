/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key exchange for crypto-gnutls. GnuTLS 3.7 has no public raw key-exchange API, so:
 * MODP with GMP (mpz_powm_sec, RFC 3526/2409 primes), ECP with nettle's ecc_point_mul
 * on the secp curves, Curve25519/448 with nettle's curve25519_mul/curve448_mul.
 */
#include <gmp.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/curve25519.h>
#include <nettle/curve448.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>

#include "gnutls_plugin.h"
#include "modp_groups.h"

/* Private exponent bits per MODP group: twice the upper strength estimate of RFC 3526
 * §8 (RFC 2409's group 2 gets 256). */
typedef struct {
	VpndKeId id;
	const char *prime_hex;
	guint exp_bits;
} ModpGroup;

static const ModpGroup modp_groups[] = {
        {VPND_KE_MODP_1024, modp_1024, 256}, {VPND_KE_MODP_2048, modp_2048, 320},
        {VPND_KE_MODP_3072, modp_3072, 420}, {VPND_KE_MODP_4096, modp_4096, 480},
        {VPND_KE_MODP_6144, modp_6144, 540}, {VPND_KE_MODP_8192, modp_8192, 620},
};

static const ModpGroup *
modp_group(VpndKeId id)
{
	for (guint i = 0; i < G_N_ELEMENTS(modp_groups); i++)
		if (modp_groups[i].id == id)
			return &modp_groups[i];
	return NULL;
}

static const struct ecc_curve *
ecp_curve(VpndKeId id, gsize *field_len)
{
	switch (id) {
	case VPND_KE_ECP_256:
		*field_len = 32;
		return nettle_get_secp_256r1();
	case VPND_KE_ECP_384:
		*field_len = 48;
		return nettle_get_secp_384r1();
	case VPND_KE_ECP_521:
		*field_len = 66;
		return nettle_get_secp_521r1();
	case VPND_KE_MODP_1024:
	case VPND_KE_MODP_2048:
	case VPND_KE_MODP_3072:
	case VPND_KE_MODP_4096:
	case VPND_KE_MODP_6144:
	case VPND_KE_MODP_8192:
	case VPND_KE_CURVE25519:
	case VPND_KE_CURVE448:
		break;
	}
	*field_len = 0;
	return NULL;
}

gboolean
gt_ke_supports(VpndKeId id)
{
	gsize len;

	return modp_group(id) || ecp_curve(id, &len) || id == VPND_KE_CURVE25519 ||
	       id == VPND_KE_CURVE448;
}

static void
rnd(void *ctx, size_t len, uint8_t *dst)
{
	if (gnutls_rnd(GNUTLS_RND_KEY, dst, len) < 0)
		g_error("crypto-gnutls: the random generator failed");
}

static gboolean
invalid(GError **error, VpndKeId id, const char *why)
{
	g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_INVALID_PUBLIC,
	            "%s public value %s", vpnd_ke_to_string(id), why);
	return FALSE;
}

/* Big-endian, left-padded with zeros to @len bytes; @x must fit. */
static void
mpz_export_padded(guint8 *out, gsize len, const mpz_t x)
{
	gsize n = (mpz_sizeinbase(x, 2) + 7) / 8;

	memset(out, 0, len);
	if (mpz_sgn(x) != 0)
		mpz_export(out + len - n, NULL, 1, 1, 1, 0, x);
}

typedef struct {
	VpndKe base;
	guint8 *pub;
	/* MODP */
	mpz_t p, x;
	/* ECP */
	const struct ecc_curve *curve;
	struct ecc_scalar scalar;
	/* Curve25519/448 */
	guint8 priv[CURVE448_SIZE];
} Ke;

static const guint8 *
ke_get_public(VpndKe *base)
{
	return ((Ke *)base)->pub;
}

/* ---- MODP ---------------------------------------------------------------------------- */

static void
modp_set_public(Ke *k)
{
	mpz_t y, g;

	mpz_inits(y, g, NULL);
	mpz_set_ui(g, 2);
	mpz_powm_sec(y, g, k->x, k->p);
	mpz_export_padded(k->pub, k->base.public_len, y);
	mpz_clears(y, g, NULL);
}

static VpndSecret *
modp_compute(VpndKe *base, const guint8 *peer, gsize peer_len, GError **error)
{
	Ke *k = (Ke *)base;
	mpz_t y, z, pm1;
	VpndSecret *secret = NULL;

	if (peer_len != base->public_len) {
		invalid(error, base->id, "has the wrong length");
		return NULL;
	}
	mpz_inits(y, z, pm1, NULL);
	mpz_import(y, peer_len, 1, 1, 1, 0, peer);
	mpz_sub_ui(pm1, k->p, 1);
	/* 1 < y < p-1: refuses 0, 1, p-1 and anything >= p */
	if (mpz_cmp_ui(y, 1) <= 0 || mpz_cmp(y, pm1) >= 0) {
		invalid(error, base->id, "is out of range");
	} else {
		mpz_powm_sec(z, y, k->x, k->p);
		secret = vpnd_secret_new(base->secret_len);
		mpz_export_padded(secret->data, secret->len, z);
	}
	/* GMP has no wiping clear; overwrite the limbs before they go back */
	mpz_set_ui(z, 0);
	mpz_clears(y, z, pm1, NULL);
	return secret;
}

static gboolean
modp_set_private(VpndKe *base, const guint8 *priv, gsize len, GError **error)
{
	Ke *k = (Ke *)base;

	mpz_import(k->x, len, 1, 1, 1, 0, priv);
	modp_set_public(k);
	return TRUE;
}

/* ---- ECP ----------------------------------------------------------------------------- */

static gsize
ecp_field_len(const Ke *k)
{
	return k->base.public_len / 2;
}

static void
ecp_set_public(Ke *k)
{
	struct ecc_point pub;
	mpz_t x, y;
	gsize flen = ecp_field_len(k);

	ecc_point_init(&pub, k->curve);
	ecc_point_mul_g(&pub, &k->scalar);
	mpz_inits(x, y, NULL);
	ecc_point_get(&pub, x, y);
	mpz_export_padded(k->pub, flen, x);
	mpz_export_padded(k->pub + flen, flen, y);
	mpz_clears(x, y, NULL);
	ecc_point_clear(&pub);
}

static VpndSecret *
ecp_compute(VpndKe *base, const guint8 *peer, gsize peer_len, GError **error)
{
	Ke *k = (Ke *)base;
	gsize flen = ecp_field_len(k);
	struct ecc_point pt, r;
	mpz_t x, y;
	VpndSecret *secret = NULL;

	if (peer_len != base->public_len) {
		invalid(error, base->id, "has the wrong length");
		return NULL;
	}
	mpz_inits(x, y, NULL);
	mpz_import(x, flen, 1, 1, 1, 0, peer);
	mpz_import(y, flen, 1, 1, 1, 0, peer + flen);
	ecc_point_init(&pt, k->curve);
	ecc_point_init(&r, k->curve);
	/* ecc_point_set() refuses coordinates >= p and points off the curve */
	if (!ecc_point_set(&pt, x, y)) {
		invalid(error, base->id, "is not a point on the curve");
	} else {
		ecc_point_mul(&r, &k->scalar, &pt);
		ecc_point_get(&r, x, y);
		secret = vpnd_secret_new(base->secret_len);
		mpz_export_padded(secret->data, secret->len, x);
		mpz_set_ui(x, 0);
	}
	ecc_point_clear(&pt);
	ecc_point_clear(&r);
	mpz_clears(x, y, NULL);
	return secret;
}

static gboolean
ecp_set_private(VpndKe *base, const guint8 *priv, gsize len, GError **error)
{
	Ke *k = (Ke *)base;
	mpz_t z;
	gboolean ok;

	mpz_init(z);
	mpz_import(z, len, 1, 1, 1, 0, priv);
	ok = ecc_scalar_set(&k->scalar, z);
	mpz_set_ui(z, 0);
	mpz_clear(z);
	if (!ok) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH,
		            "%s private key out of range", vpnd_ke_to_string(base->id));
		return FALSE;
	}
	ecp_set_public(k);
	return TRUE;
}

/* ---- Curve25519 and Curve448 ---------------------------------------------------------- */

static void
mont_set_public(Ke *k)
{
	if (k->base.id == VPND_KE_CURVE25519)
		curve25519_mul_g(k->pub, k->priv);
	else
		curve448_mul_g(k->pub, k->priv);
}

static VpndSecret *
mont_compute(VpndKe *base, const guint8 *peer, gsize peer_len, GError **error)
{
	Ke *k = (Ke *)base;
	guint8 zero[CURVE448_SIZE] = {0};

	if (peer_len != base->public_len) {
		invalid(error, base->id, "has the wrong length");
		return NULL;
	}
	g_autoptr(VpndSecret) secret = vpnd_secret_new(base->secret_len);
	if (base->id == VPND_KE_CURVE25519)
		curve25519_mul(secret->data, k->priv, peer);
	else
		curve448_mul(secret->data, k->priv, peer);
	/* RFC 7748 §6: an all-zero output means a small-order peer point */
	if (vpnd_memeq_const(secret->data, zero, secret->len)) {
		invalid(error, base->id, "is a point of small order");
		return NULL;
	}
	return g_steal_pointer(&secret);
}

static gboolean
mont_set_private(VpndKe *base, const guint8 *priv, gsize len, GError **error)
{
	Ke *k = (Ke *)base;

	if (len != base->public_len) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_KEY_LENGTH,
		            "%s private key must be %" G_GSIZE_FORMAT " bytes",
		            vpnd_ke_to_string(base->id), base->public_len);
		return FALSE;
	}
	memcpy(k->priv, priv, len);
	mont_set_public(k);
	return TRUE;
}

/* ---- Object --------------------------------------------------------------------------- */

static void
ke_free(VpndKe *base)
{
	Ke *k = (Ke *)base;

	if (modp_group(base->id)) {
		mpz_set_ui(k->x, 0);
		mpz_clears(k->p, k->x, NULL);
	}
	if (k->curve)
		ecc_scalar_clear(&k->scalar);
	g_free(k->pub);
	explicit_bzero(k->priv, sizeof(k->priv));
	g_free(k);
}

static const VpndKeOps modp_ops = {ke_get_public, modp_compute, modp_set_private, ke_free};
static const VpndKeOps ecp_ops = {ke_get_public, ecp_compute, ecp_set_private, ke_free};
static const VpndKeOps mont_ops = {ke_get_public, mont_compute, mont_set_private, ke_free};

VpndKe *
gt_ke_new(VpndKeId id, GError **error)
{
	const ModpGroup *g = modp_group(id);
	gsize flen;
	const struct ecc_curve *curve = ecp_curve(id, &flen);
	Ke *k = g_new0(Ke, 1);

	k->base.id = id;
	if (g) {
		mpz_inits(k->p, k->x, NULL);
		mpz_set_str(k->p, g->prime_hex, 16);
		gsize plen = (mpz_sizeinbase(k->p, 2) + 7) / 8;
		k->base.ops = &modp_ops;
		k->base.public_len = k->base.secret_len = plen;
		k->pub = g_malloc(plen);
		guint8 exp[128];
		gsize exp_len = g->exp_bits / 8 + 1;
		rnd(NULL, exp_len, exp);
		mpz_import(k->x, exp_len, 1, 1, 1, 0, exp);
		explicit_bzero(exp, sizeof(exp));
		mpz_tdiv_r_2exp(k->x, k->x, g->exp_bits);
		mpz_setbit(k->x, g->exp_bits - 1); /* full length, never 0 or 1 */
		modp_set_public(k);
	} else if (curve) {
		k->curve = curve;
		k->base.ops = &ecp_ops;
		k->base.public_len = 2 * flen;
		k->base.secret_len = flen;
		k->pub = g_malloc(2 * flen);
		ecc_scalar_init(&k->scalar, curve);
		ecc_scalar_random(&k->scalar, NULL, rnd);
		ecp_set_public(k);
	} else if (id == VPND_KE_CURVE25519 || id == VPND_KE_CURVE448) {
		gsize len = id == VPND_KE_CURVE25519 ? CURVE25519_SIZE : CURVE448_SIZE;
		k->base.ops = &mont_ops;
		k->base.public_len = k->base.secret_len = len;
		k->pub = g_malloc(len);
		rnd(NULL, len, k->priv);
		mont_set_public(k);
	} else {
		g_free(k);
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
		            "%s is not supported", vpnd_ke_to_string(id));
		return NULL;
	}
	return &k->base;
}
