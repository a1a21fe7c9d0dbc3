/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Crypto floor: operations per second per key exchange, signature and AEAD, for every
 * crypto plugin. Prints one figure per line, "METRIC VALUE UNIT", each the median of
 * RUNS timed runs.
 *
 *   bench-crypto PLUGIN_DIR KEY_DIR
 *
 * ke_ops_*: a fresh key pair plus one shared secret (what each IKE_SA_INIT side pays);
 * sign_ops_* / verify_ops_*: one signature over 64 bytes; aead_*: in-place encryption
 * of one message of 64, 1400 or 8192 bytes, in bytes per second.
 */
#include <stdio.h>

#include "core/crypto.h"
#include "core/plugin_loader.h"

#define RUNS 5
#define RUN_SECONDS 0.2

static const char *backends[] = {"gnutls", "openssl"};

typedef gboolean (*OpFunc)(gpointer data);

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Operations per second: the median of RUNS runs of at least RUN_SECONDS each. */
static double
measure(OpFunc op, gpointer data)
{
	double rates[RUNS];

	for (guint r = 0; r < RUNS; r++) {
		gint64 start = g_get_monotonic_time(), now;
		guint64 n = 0;
		do {
			if (!op(data))
				g_error("operation failed");
			n++;
			now = g_get_monotonic_time();
		} while (now - start < RUN_SECONDS * G_USEC_PER_SEC);
		rates[r] = (double)n * G_USEC_PER_SEC / (double)(now - start);
	}
	qsort(rates, RUNS, sizeof(double), cmp_double);
	return rates[RUNS / 2];
}

static char *
metric_name(const char *s)
{
	char *m = g_ascii_strdown(s, -1);

	g_strdelimit(m, "-", '_');
	return m;
}

/* ---- key exchange -------------------------------------------------------------------------------
 */

typedef struct {
	const HostProvider *p;
	VpndKeId id;
	GBytes *peer;
} KeBench;

static gboolean
ke_op(gpointer data)
{
	KeBench *b = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndKe) ke = crypto_ke_new_from(b->p, b->id, CRYPTO_KE_ALLOW_MODP_1024, &error);
	if (!ke)
		return FALSE;
	g_autoptr(VpndSecret) s = vpnd_ke_compute(ke, g_bytes_get_data(b->peer, NULL),
	                                          g_bytes_get_size(b->peer), &error);
	return s != NULL;
}

static void
bench_ke(const char *backend, const HostProvider *p)
{
	const VpndKeId ids[] = {VPND_KE_MODP_2048, VPND_KE_MODP_3072, VPND_KE_MODP_4096,
	                        VPND_KE_MODP_6144, VPND_KE_MODP_8192, VPND_KE_ECP_256,
	                        VPND_KE_ECP_384,   VPND_KE_ECP_521,   VPND_KE_CURVE25519,
	                        VPND_KE_CURVE448};

	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(VpndKe) peer = crypto_ke_new_from(p, ids[i], 0, &error);
		if (!peer)
			g_error("%s", error->message);
		KeBench b = {p, ids[i], g_bytes_new(vpnd_ke_get_public(peer), peer->public_len)};
		g_autofree char *name = metric_name(vpnd_ke_to_string(ids[i]));
		printf("ke_ops_%s_%s %.1f ops/s\n", backend, name, measure(ke_op, &b));
		fflush(stdout);
		g_bytes_unref(b.peer);
	}
}

/* ---- signatures
 * ------------------------------------------------------------------------------------ */

typedef struct {
	VpndPrivKey *key;
	VpndPubKey *pub;
	VpndSignParams params;
	GBytes *sig;
} SignBench;

static const guint8 sign_msg[64] = {1, 2, 3};

static gboolean
sign_op(gpointer data)
{
	SignBench *b = data;
	g_autoptr(GBytes) sig =
	        vpnd_privkey_sign(b->key, &b->params, sign_msg, sizeof(sign_msg), NULL);
	return sig != NULL;
}

static gboolean
verify_op(gpointer data)
{
	SignBench *b = data;

	return vpnd_pubkey_verify(b->pub, &b->params, sign_msg, sizeof(sign_msg),
	                          g_bytes_get_data(b->sig, NULL), g_bytes_get_size(b->sig), NULL);
}

static void
bench_sign(const char *backend, const HostProvider *p, const char *key_dir)
{
	const struct {
		const char *file, *name;
		VpndSignParams params;
	} cases[] = {
	        {"intermediate.key",
	         "rsa2048_pkcs1_sha256",
	         {VPND_SIGN_RSA_PKCS1, VPND_HASH_SHA2_256}},
	        {"intermediate.key", "rsa2048_pss_sha256", {VPND_SIGN_RSA_PSS, VPND_HASH_SHA2_256}},
	        {"ca.key", "ecdsa_p256_sha256", {VPND_SIGN_ECDSA, VPND_HASH_SHA2_256}},
	        {"ecdsa-p384.key", "ecdsa_p384_sha384", {VPND_SIGN_ECDSA, VPND_HASH_SHA2_384}},
	        {"ecdsa-p521.key", "ecdsa_p521_sha512", {VPND_SIGN_ECDSA, VPND_HASH_SHA2_512}},
	        {"leaf.key", "ed25519", {VPND_SIGN_ED25519, VPND_HASH_IDENTITY}},
	        {"ed448.key", "ed448", {VPND_SIGN_ED448, VPND_HASH_IDENTITY}},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *path = g_build_filename(key_dir, cases[i].file, NULL);
		g_autofree char *pem = NULL;
		gsize len;
		if (!g_file_get_contents(path, &pem, &len, &error))
			g_error("%s", error->message);
		SignBench b = {.params = cases[i].params};
		b.key = crypto_privkey_load_from(p, (const guint8 *)pem, len, &error);
		if (!b.key)
			g_error("%s", error->message);
		g_autoptr(GBytes) spki = b.key->ops->get_public_der(b.key, &error);
		b.pub = crypto_pubkey_load_from(p, g_bytes_get_data(spki, NULL),
		                                g_bytes_get_size(spki), &error);
		b.sig = vpnd_privkey_sign(b.key, &b.params, sign_msg, sizeof(sign_msg), &error);
		if (!b.pub || !b.sig)
			g_error("%s", error->message);
		printf("sign_ops_%s_%s %.1f ops/s\n", backend, cases[i].name, measure(sign_op, &b));
		printf("verify_ops_%s_%s %.1f ops/s\n", backend, cases[i].name,
		       measure(verify_op, &b));
		fflush(stdout);
		vpnd_privkey_free(b.key);
		vpnd_pubkey_free(b.pub);
		g_bytes_unref(b.sig);
	}
}

/* ---- AEAD ---------------------------------------------------------------------------------------
 */

typedef struct {
	VpndAead *aead;
	guint8 *buf;
	gsize len;
	guint64 seq;
} AeadBench;

static gboolean
aead_op(gpointer data)
{
	AeadBench *b = data;
	guint8 iv[8], aad[8] = {0};

	b->seq++;
	memcpy(iv, &b->seq, sizeof(iv));
	return vpnd_aead_encrypt(b->aead, iv, aad, sizeof(aad), b->buf, b->len, b->buf + b->len);
}

static void
bench_aead(const char *backend, const HostProvider *p)
{
	const struct {
		VpndEncrId id;
		guint bits;
		const char *name;
	} cases[] = {
	        {VPND_ENCR_AES_GCM_16, 128, "aes128gcm16"},
	        {VPND_ENCR_AES_GCM_16, 256, "aes256gcm16"},
	        {VPND_ENCR_CHACHA20_POLY1305, 256, "chacha20poly1305"},
	        {VPND_ENCR_AES_CCM_16, 128, "aes128ccm16"},
	};
	const gsize sizes[] = {64, 1400, 8192};
	guint8 key[36] = {42};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gsize klen = cases[i].bits / 8 + crypto_encr_salt_len(cases[i].id);
		g_autoptr(VpndAead) aead = crypto_aead_new_from(p, cases[i].id, key, klen, &error);
		if (!aead)
			g_error("%s", error->message);
		for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
			AeadBench b = {aead, g_malloc0(sizes[s] + 16), sizes[s], 0};
			printf("aead_%s_%s_%" G_GSIZE_FORMAT " %.0f bytes/s\n", backend,
			       cases[i].name, sizes[s], measure(aead_op, &b) * (double)sizes[s]);
			fflush(stdout);
			g_free(b.buf);
		}
	}
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PLUGIN_DIR KEY_DIR\n", argv[0]);
		return 2;
	}
	g_autoptr(VpndHost) host = host_new();
	g_autoptr(PluginLoader) loader = plugin_loader_new(host);
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		g_autofree char *name = g_strdup_printf("crypto-%s", backends[i]);
		if (!plugin_loader_load_one(loader, argv[1], name, &error))
			g_error("%s", error->message);
	}
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		const HostProvider *p = crypto_find_by_name(host, backends[i]);
		bench_ke(backends[i], p);
		bench_sign(backends[i], p, argv[2]);
		bench_aead(backends[i], p);
	}
	return 0;
}
