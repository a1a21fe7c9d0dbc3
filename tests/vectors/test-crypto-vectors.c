/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Known-answer tests: every vector file in tests/vectors/data through every crypto
 * plugin, path /crypto/BACKEND/FILE/CASE. The files name their sources.
 */
#include "crypto-test.h"

typedef struct {
	const char *backend;
	const VectorCase *c;
} KatCase;

static const char *const vector_files[] = {
        "prf-hmac-rfc4231.txt",
        "prf-cmac-rfc4493.txt",
        "prf-cmac-rfc4615.txt",
        "prf-xcbc-rfc4434.txt",
        "integ-xcbc-rfc3566.txt",
        "integ-cmac-rfc4493.txt",
        "cipher-aes-cbc-rfc3602.txt",
        "cipher-aes-ctr-rfc3686.txt",
        "aead-gcm.txt",
        "aead-chacha20poly1305-rfc8439.txt",
        "ke-curve25519-rfc7748.txt",
        "ke-curve448-rfc7748.txt",
        "ke-ecp-rfc5903.txt",
        "sign-ed25519-rfc8032.txt",
        "kdf-ikev2-cavp.txt",
};

/* What the partial backends (crypto-test.h) must pass: the files of their algorithms. */
static const struct {
	const char *backend;
	const char *file;
} partial_files[] = {
        {"sodium", "ke-curve25519-rfc7748.txt"},
};

#define DATA(b) g_bytes_get_data((b), NULL)
#define LEN(b) g_bytes_get_size(b)

/* ---- prf-* ---------------------------------------------------------------------------- */

static void
test_prf(gconstpointer data)
{
	const KatCase *k = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) key = vector_get_bytes(k->c, "key");
	g_autoptr(GBytes) msg = vector_get_bytes(k->c, "data");
	g_autoptr(GBytes) out = vector_get_bytes(k->c, "out");
	VpndPrfId id = vector_prf_id(vector_get(k->c, "prf"));
	g_autoptr(VpndPrf) prf = crypto_prf_new_from(crypto_test_provider(k->backend), id,
	                                             DATA(key), LEN(key), &error);
	guint8 got[VPND_PRF_MAX_LEN];

	g_assert_no_error(error);
	g_assert_cmpuint(LEN(out), <=, prf->out_len);
	vpnd_prf_update(prf, DATA(msg), LEN(msg));
	vpnd_prf_finish(prf, got);
	crypto_test_assert_bytes(got, LEN(out), out);

	/* finish() starts over with the same key; feeding byte by byte changes nothing */
	const guint8 *m = DATA(msg);
	for (gsize i = 0; i < LEN(msg); i++)
		vpnd_prf_update(prf, m + i, 1);
	vpnd_prf_finish(prf, got);
	crypto_test_assert_bytes(got, LEN(out), out);
}

/* ---- integ-* -------------------------------------------------------------------------- */

static void
test_integ(gconstpointer data)
{
	const KatCase *k = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) key = vector_get_bytes(k->c, "key");
	g_autoptr(GBytes) icv = vector_get_bytes(k->c, "icv");
	g_autoptr(GBytes) msg = NULL;
	VpndIntegId id = vector_integ_id(vector_get(k->c, "integ"));

	if (vector_has(k->c, "zeros"))
		msg = g_bytes_new_take(g_malloc0(atoi(vector_get(k->c, "zeros"))),
		                       atoi(vector_get(k->c, "zeros")));
	else
		msg = vector_get_bytes(k->c, "data");

	g_autoptr(VpndIntegrity) integ = crypto_integrity_new_from(crypto_test_provider(k->backend),
	                                                           id, DATA(key), LEN(key), &error);
	g_assert_no_error(error);
	g_assert_cmpuint(integ->icv_len, ==, LEN(icv));

	guint8 got[VPND_ICV_MAX_LEN];
	vpnd_integrity_compute(integ, DATA(msg), LEN(msg), got);
	crypto_test_assert_bytes(got, integ->icv_len, icv);
	g_assert_true(vpnd_integrity_verify(integ, DATA(msg), LEN(msg), DATA(icv), LEN(icv)));
	got[0] ^= 1;
	g_assert_false(vpnd_integrity_verify(integ, DATA(msg), LEN(msg), got, integ->icv_len));
}

/* ---- cipher-* ------------------------------------------------------------------------- */

static void
test_cipher(gconstpointer data)
{
	const KatCase *k = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) key = vector_get_bytes(k->c, "key");
	g_autoptr(GBytes) iv = vector_get_bytes(k->c, "iv");
	g_autoptr(GBytes) pt = vector_get_bytes(k->c, "pt");
	g_autoptr(GBytes) ct = vector_get_bytes(k->c, "ct");
	VpndEncrId id = vector_encr_id(vector_get(k->c, "encr"));
	g_autoptr(VpndCipher) c = crypto_cipher_new_from(crypto_test_provider(k->backend), id,
	                                                 DATA(key), LEN(key), &error);

	g_assert_no_error(error);
	g_assert_cmpuint(c->iv_len, ==, LEN(iv));
	g_autofree guint8 *buf = g_memdup2(DATA(pt), LEN(pt));
	g_assert_true(vpnd_cipher_encrypt(c, DATA(iv), buf, LEN(pt)));
	crypto_test_assert_bytes(buf, LEN(pt), ct);
	g_assert_true(vpnd_cipher_decrypt(c, DATA(iv), buf, LEN(pt)));
	crypto_test_assert_bytes(buf, LEN(pt), pt);
}

/* ---- aead-* --------------------------------------------------------------------------- */

typedef struct {
	KatCase kat;
	VpndEncrId id; /* the case's transform, or a truncated-ICV variant of it */
	gsize icv_len;
} AeadCase;

static void
test_aead(gconstpointer data)
{
	const AeadCase *a = data;
	const VectorCase *c = a->kat.c;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) key = vector_get_bytes(c, "key");
	g_autoptr(GBytes) nonce = vector_get_bytes(c, "nonce");
	g_autoptr(GBytes) aad = vector_get_bytes(c, "aad");
	g_autoptr(GBytes) pt = vector_get_bytes(c, "pt");
	g_autoptr(GBytes) ct = vector_get_bytes(c, "ct");
	g_autoptr(GBytes) icv_full = vector_get_bytes(c, "icv");
	g_autoptr(GBytes) icv = g_bytes_new_from_bytes(icv_full, 0, a->icv_len);
	const guint8 *n = DATA(nonce);

	/* keymat = key || salt; nonce = salt || iv */
	g_assert_cmpuint(LEN(nonce), ==, 12);
	g_autoptr(GByteArray) keymat = g_byte_array_new();
	g_byte_array_append(keymat, DATA(key), LEN(key));
	g_byte_array_append(keymat, n, 4);

	g_autoptr(VpndAead) aead = crypto_aead_new_from(crypto_test_provider(a->kat.backend), a->id,
	                                                keymat->data, keymat->len, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(aead->icv_len, ==, a->icv_len);

	g_autofree guint8 *buf = g_malloc(LEN(pt) + a->icv_len);
	if (LEN(pt))
		memcpy(buf, DATA(pt), LEN(pt));
	g_assert_true(
	        vpnd_aead_encrypt(aead, n + 4, DATA(aad), LEN(aad), buf, LEN(pt), buf + LEN(pt)));
	crypto_test_assert_bytes(buf, LEN(pt), ct);
	crypto_test_assert_bytes(buf + LEN(pt), a->icv_len, icv);

	g_assert_true(
	        vpnd_aead_decrypt(aead, n + 4, DATA(aad), LEN(aad), buf, LEN(pt), buf + LEN(pt)));
	crypto_test_assert_bytes(buf, LEN(pt), pt);

	/* a flipped ICV bit is refused */
	if (LEN(pt))
		memcpy(buf, DATA(ct), LEN(pt));
	buf[LEN(pt) + a->icv_len - 1] ^= 0x80;
	g_assert_false(
	        vpnd_aead_decrypt(aead, n + 4, DATA(aad), LEN(aad), buf, LEN(pt), buf + LEN(pt)));
}

/* ---- ke-* ----------------------------------------------------------------------------- */

static void
test_ke(gconstpointer data)
{
	const KatCase *k = data;
	const HostProvider *p = crypto_test_provider(k->backend);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) priv = vector_get_bytes(k->c, "priv");
	g_autoptr(GBytes) peer = vector_get_bytes(k->c, "peer");
	g_autoptr(GBytes) shared = vector_get_bytes(k->c, "shared");
	VpndKeId id = vector_ke_id(vector_get(k->c, "ke"));
	g_autoptr(VpndKe) ke = crypto_ke_new_from(p, id, CRYPTO_KE_NONE, &error);

	g_assert_no_error(error);
	g_assert_nonnull(ke->ops->set_private);
	gboolean set = ke->ops->set_private(ke, DATA(priv), LEN(priv), &error);
	g_assert_no_error(error);
	g_assert_true(set);
	if (vector_has(k->c, "pub")) {
		g_autoptr(GBytes) pub = vector_get_bytes(k->c, "pub");
		crypto_test_assert_bytes(vpnd_ke_get_public(ke), ke->public_len, pub);
	}
	g_autoptr(VpndSecret) secret = vpnd_ke_compute(ke, DATA(peer), LEN(peer), &error);
	g_assert_no_error(error);
	crypto_test_assert_bytes(secret->data, secret->len, shared);
}

/* ---- sign-ed25519 --------------------------------------------------------------------- */

/* RFC 8410 encodings of a raw Ed25519 key: PKCS#8 and SubjectPublicKeyInfo prefixes */
static const guint8 ed25519_pkcs8_prefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                              0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
static const guint8 ed25519_spki_prefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                             0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

static void
test_ed25519(gconstpointer data)
{
	const KatCase *k = data;
	const HostProvider *p = crypto_test_provider(k->backend);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) secret = vector_get_bytes(k->c, "secret");
	g_autoptr(GBytes) pub = vector_get_bytes(k->c, "public");
	g_autoptr(GBytes) msg = vector_get_bytes(k->c, "msg");
	g_autoptr(GBytes) sig = vector_get_bytes(k->c, "sig");
	const VpndSignParams params = {VPND_SIGN_ED25519, VPND_HASH_IDENTITY};

	g_autoptr(GByteArray) pkcs8 = g_byte_array_new();
	g_byte_array_append(pkcs8, ed25519_pkcs8_prefix, sizeof(ed25519_pkcs8_prefix));
	g_byte_array_append(pkcs8, DATA(secret), LEN(secret));
	g_autoptr(VpndPrivKey) key = crypto_privkey_load_from(p, pkcs8->data, pkcs8->len, &error);
	g_assert_no_error(error);
	g_assert_cmpint(key->type, ==, VPND_KEY_ED25519);

	g_autoptr(GBytes) got = vpnd_privkey_sign(key, &params, DATA(msg), LEN(msg), &error);
	g_assert_no_error(error);
	crypto_test_assert_bytes(g_bytes_get_data(got, NULL), g_bytes_get_size(got), sig);

	g_autoptr(GByteArray) spki = g_byte_array_new();
	g_byte_array_append(spki, ed25519_spki_prefix, sizeof(ed25519_spki_prefix));
	g_byte_array_append(spki, DATA(pub), LEN(pub));
	g_autoptr(GBytes) want_spki = g_byte_array_free_to_bytes(g_steal_pointer(&spki));
	g_autoptr(GBytes) der = key->ops->get_public_der(key, &error);
	g_assert_no_error(error);
	crypto_test_assert_bytes(g_bytes_get_data(der, NULL), g_bytes_get_size(der), want_spki);

	g_autoptr(VpndPubKey) pk = crypto_pubkey_load_from(p, g_bytes_get_data(der, NULL),
	                                                   g_bytes_get_size(der), &error);
	g_assert_no_error(error);
	g_assert_true(
	        vpnd_pubkey_verify(pk, &params, DATA(msg), LEN(msg), DATA(sig), LEN(sig), &error));
	g_assert_no_error(error);
	guint8 *bad = g_memdup2(DATA(sig), LEN(sig));
	bad[10] ^= 1;
	g_assert_false(vpnd_pubkey_verify(pk, &params, DATA(msg), LEN(msg), bad, LEN(sig), &error));
	g_assert_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_VERIFY);
	g_free(bad);
}

/* ---- kdf-ikev2 ------------------------------------------------------------------------ */

static VpndSecret *
secret_from(GBytes *b)
{
	return vpnd_secret_new_from_data(DATA(b), LEN(b));
}

static void
test_kdf(gconstpointer data)
{
	const KatCase *k = data;
	const HostProvider *p = crypto_test_provider(k->backend);
	g_autoptr(GError) error = NULL;
	VpndPrfId prf = vector_prf_id(vector_get(k->c, "prf"));
	g_autoptr(GBytes) ni = vector_get_bytes(k->c, "ni");
	g_autoptr(GBytes) nr = vector_get_bytes(k->c, "nr");
	g_autoptr(GBytes) gir_b = vector_get_bytes(k->c, "gir");
	g_autoptr(GBytes) gir_new_b = vector_get_bytes(k->c, "gir_new");
	g_autoptr(GBytes) spii = vector_get_bytes(k->c, "spii");
	g_autoptr(GBytes) spir = vector_get_bytes(k->c, "spir");
	g_autoptr(GBytes) want_skeyseed = vector_get_bytes(k->c, "skeyseed");
	g_autoptr(GBytes) want_dkm = vector_get_bytes(k->c, "dkm");
	g_autoptr(GBytes) want_child = vector_get_bytes(k->c, "dkm_child");
	g_autoptr(GBytes) want_child_dh = vector_get_bytes(k->c, "dkm_child_dh");
	g_autoptr(GBytes) want_rekey = vector_get_bytes(k->c, "skeyseed_rekey");
	g_autoptr(VpndSecret) gir = secret_from(gir_b);
	g_autoptr(VpndSecret) gir_new = secret_from(gir_new_b);

	g_autoptr(VpndSecret) skeyseed =
	        crypto_ikev2_skeyseed(p, prf, DATA(ni), LEN(ni), DATA(nr), LEN(nr), gir, &error);
	g_assert_no_error(error);
	crypto_test_assert_bytes(skeyseed->data, skeyseed->len, want_skeyseed);

	g_autoptr(VpndSecret) dkm =
	        crypto_ikev2_ike_keymat(p, prf, skeyseed, DATA(ni), LEN(ni), DATA(nr), LEN(nr),
	                                DATA(spii), DATA(spir), LEN(want_dkm), &error);
	g_assert_no_error(error);
	crypto_test_assert_bytes(dkm->data, dkm->len, want_dkm);

	g_autoptr(VpndSecret) sk_d = vpnd_secret_new_from_data(dkm->data, skeyseed->len);
	g_autoptr(VpndSecret) child = crypto_ikev2_child_keymat(
	        p, prf, sk_d, NULL, DATA(ni), LEN(ni), DATA(nr), LEN(nr), LEN(want_child), &error);
	g_assert_no_error(error);
	crypto_test_assert_bytes(child->data, child->len, want_child);

	g_autoptr(VpndSecret) child_dh =
	        crypto_ikev2_child_keymat(p, prf, sk_d, gir_new, DATA(ni), LEN(ni), DATA(nr),
	                                  LEN(nr), LEN(want_child_dh), &error);
	g_assert_no_error(error);
	crypto_test_assert_bytes(child_dh->data, child_dh->len, want_child_dh);

	g_autoptr(VpndSecret) rekey = crypto_ikev2_skeyseed_rekey(
	        p, prf, sk_d, gir_new, DATA(ni), LEN(ni), DATA(nr), LEN(nr), &error);
	g_assert_no_error(error);
	crypto_test_assert_bytes(rekey->data, rekey->len, want_rekey);
}

/* ---- registration --------------------------------------------------------------------- */

static GPtrArray *all_cases; /* the parsed files, kept for the whole run */
static GPtrArray *all_data;  /* test data, freed at the end */

static void
add_case(const char *backend, const VectorCase *c)
{
	g_autofree char *path = g_strdup_printf("/crypto/%s/%s/%s", backend, c->file, c->name);

	if (g_str_has_prefix(c->file, "aead-")) {
		VpndEncrId id = vector_encr_id(vector_get(c, "encr"));
		const struct {
			VpndEncrId id;
			gsize icv;
			const char *suffix;
		} variants[] = {
		        {id, 16, ""},
		        {VPND_ENCR_AES_GCM_12, 12, "/icv-12"},
		        {VPND_ENCR_AES_GCM_8, 8, "/icv-8"},
		};
		guint n = id == VPND_ENCR_AES_GCM_16 ? G_N_ELEMENTS(variants) : 1;
		for (guint i = 0; i < n; i++) {
			AeadCase *a = g_new0(AeadCase, 1);
			*a = (AeadCase){{backend, c}, variants[i].id, variants[i].icv};
			g_ptr_array_add(all_data, a);
			g_autofree char *p = g_strconcat(path, variants[i].suffix, NULL);
			g_test_add_data_func(p, a, test_aead);
		}
		return;
	}

	KatCase *k = g_new0(KatCase, 1);
	*k = (KatCase){backend, c};
	g_ptr_array_add(all_data, k);
	if (g_str_has_prefix(c->file, "prf-"))
		g_test_add_data_func(path, k, test_prf);
	else if (g_str_has_prefix(c->file, "integ-"))
		g_test_add_data_func(path, k, test_integ);
	else if (g_str_has_prefix(c->file, "cipher-"))
		g_test_add_data_func(path, k, test_cipher);
	else if (g_str_has_prefix(c->file, "ke-"))
		g_test_add_data_func(path, k, test_ke);
	else if (g_str_has_prefix(c->file, "sign-ed25519"))
		g_test_add_data_func(path, k, test_ed25519);
	else if (g_str_has_prefix(c->file, "kdf-ikev2"))
		g_test_add_data_func(path, k, test_kdf);
	else
		g_error("no test for %s", c->file);
}

static void
add_partial(const char *backend)
{
	guint n = 0;

	for (guint i = 0; i < G_N_ELEMENTS(partial_files); i++) {
		if (strcmp(partial_files[i].backend, backend) != 0)
			continue;
		g_autoptr(GPtrArray) cases = vector_file_load(partial_files[i].file);
		g_ptr_array_add(all_cases, g_ptr_array_ref(cases));
		for (guint c = 0; c < cases->len; c++)
			add_case(backend, cases->pdata[c]);
		n++;
	}
	/* a partial backend loaded without vectors would pass unseen */
	if (n == 0)
		g_error("no vector files for the partial backend %s", backend);
}

int
main(int argc, char **argv)
{
	int rc;

	/* no G_TEST_OPTION_ISOLATE_DIRS: nothing here touches files, and with GLib 2.74
	 * it leaks the per-test directory strings, which LeakSanitizer reports */
	g_test_init(&argc, &argv, NULL);
	crypto_test_init();

	all_cases = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
	all_data = g_ptr_array_new_with_free_func(g_free);
	for (guint f = 0; f < G_N_ELEMENTS(vector_files); f++)
		g_ptr_array_add(all_cases, vector_file_load(vector_files[f]));
	for (guint b = 0; crypto_test_backends[b]; b++)
		for (guint f = 0; f < all_cases->len; f++) {
			GPtrArray *cases = all_cases->pdata[f];
			for (guint i = 0; i < cases->len; i++)
				add_case(crypto_test_backends[b], cases->pdata[i]);
		}
	for (guint b = 0; crypto_test_partial_backends[b]; b++)
		add_partial(crypto_test_partial_backends[b]);

	rc = g_test_run();
	g_ptr_array_unref(all_data);
	g_ptr_array_unref(all_cases);
	crypto_test_shutdown();
	return rc;
}
