/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "crypto-test.h"

const char *const crypto_test_backends[] = {
        "gnutls",
#ifdef VPND_HAVE_OPENSSL
        "openssl",
#endif
        NULL,
};

const char *const crypto_test_partial_backends[] = {
#ifdef VPND_HAVE_SODIUM
        "sodium",
#endif
        NULL,
};

static VpndHost *host;
static PluginLoader *loader;

static void
load_all(const char *dir, const char *const *backends)
{
	for (guint i = 0; backends[i]; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *name = g_strdup_printf("crypto-%s", backends[i]);
		if (!plugin_loader_load_one(loader, dir, name, &error))
			g_error("cannot load %s: %s", name, error->message);
	}
}

void
crypto_test_init(void)
{
	const char *dir = g_getenv("VPND_PLUGIN_BUILDDIR");

	g_assert_nonnull(dir);
	host = host_new();
	loader = plugin_loader_new(host);
	load_all(dir, crypto_test_backends);
	load_all(dir, crypto_test_partial_backends);
}

void
crypto_test_shutdown(void)
{
	g_clear_pointer(&loader, plugin_loader_free);
	g_clear_pointer(&host, host_free);
}

VpndHost *
crypto_test_host(void)
{
	return host;
}

const HostProvider *
crypto_test_provider(const char *backend)
{
	const HostProvider *p = crypto_find_by_name(host, backend);

	g_assert_nonnull(p);
	return p;
}

GBytes *
crypto_test_hex(const char *text)
{
	GByteArray *out = g_byte_array_new();
	int hi = -1;

	for (const char *s = text; *s; s++) {
		if (g_ascii_isspace(*s))
			continue;
		int v = g_ascii_xdigit_value(*s);
		g_assert_cmpint(v, >=, 0);
		if (hi < 0) {
			hi = v;
		} else {
			guint8 b = (guint8)(hi << 4 | v);
			g_byte_array_append(out, &b, 1);
			hi = -1;
		}
	}
	g_assert_cmpint(hi, ==, -1);
	return g_byte_array_free_to_bytes(out);
}

char *
crypto_test_to_hex(const guint8 *data, gsize len)
{
	GString *s = g_string_sized_new(len * 2 + 1);

	for (gsize i = 0; i < len; i++)
		g_string_append_printf(s, "%02x", data[i]);
	return g_string_free(s, FALSE);
}

void
crypto_test_assert_bytes(const guint8 *got, gsize got_len, GBytes *want)
{
	gsize want_len;
	const guint8 *w = g_bytes_get_data(want, &want_len);
	g_autofree char *got_hex = crypto_test_to_hex(got, got_len);
	g_autofree char *want_hex = crypto_test_to_hex(w, want_len);

	g_assert_cmpstr(got_hex, ==, want_hex);
}

static void
vector_case_free(VectorCase *c)
{
	g_free(c->file);
	g_free(c->name);
	g_hash_table_unref(c->fields);
	g_free(c);
}

GPtrArray *
vector_file_load(const char *file)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "vectors", "data", file, NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	GPtrArray *cases = g_ptr_array_new_with_free_func((GDestroyNotify)vector_case_free);
	VectorCase *cur = NULL;

	if (!g_file_get_contents(path, &text, NULL, &error))
		g_error("%s", error->message);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		char *line = g_strstrip(lines[i]);
		if (!*line || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq)
			g_error("%s:%u: no '='", file, i + 1);
		*eq = '\0';
		char *key = g_strstrip(line), *value = g_strstrip(eq + 1);
		if (strcmp(key, "case") == 0) {
			cur = g_new0(VectorCase, 1);
			cur->file = g_strndup(file, strlen(file) - strlen(".txt"));
			cur->name = g_strdup(value);
			cur->fields =
			        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
			g_ptr_array_add(cases, cur);
		} else {
			g_assert_nonnull(cur);
			g_hash_table_replace(cur->fields, g_strdup(key), g_strdup(value));
		}
	}
	g_assert_cmpuint(cases->len, >, 0);
	return cases;
}

const char *
vector_get(const VectorCase *c, const char *field)
{
	const char *v = g_hash_table_lookup(c->fields, field);

	if (!v)
		g_error("%s/%s: no field \"%s\"", c->file, c->name, field);
	return v;
}

gboolean
vector_has(const VectorCase *c, const char *field)
{
	return g_hash_table_contains(c->fields, field);
}

GBytes *
vector_get_bytes(const VectorCase *c, const char *field)
{
	return crypto_test_hex(vector_get(c, field));
}

#define ID_LOOKUP(fn, type, to_string, ...)                                                        \
	type fn(const char *name)                                                                  \
	{                                                                                          \
		static const type ids[] = {__VA_ARGS__};                                           \
		for (guint i = 0; i < G_N_ELEMENTS(ids); i++)                                      \
			if (strcmp(to_string(ids[i]), name) == 0)                                  \
				return ids[i];                                                     \
		g_error("unknown name %s", name);                                                  \
	}

ID_LOOKUP(vector_prf_id, VpndPrfId, vpnd_prf_to_string, VPND_PRF_HMAC_SHA1, VPND_PRF_AES128_XCBC,
          VPND_PRF_HMAC_SHA2_256, VPND_PRF_HMAC_SHA2_384, VPND_PRF_HMAC_SHA2_512,
          VPND_PRF_AES128_CMAC)
ID_LOOKUP(vector_integ_id, VpndIntegId, vpnd_integ_to_string, VPND_INTEG_HMAC_SHA1_96,
          VPND_INTEG_AES_XCBC_96, VPND_INTEG_AES_CMAC_96, VPND_INTEG_HMAC_SHA2_256_128,
          VPND_INTEG_HMAC_SHA2_384_192, VPND_INTEG_HMAC_SHA2_512_256)
ID_LOOKUP(vector_encr_id, VpndEncrId, vpnd_encr_to_string, VPND_ENCR_AES_CBC, VPND_ENCR_AES_CTR,
          VPND_ENCR_AES_CCM_8, VPND_ENCR_AES_CCM_12, VPND_ENCR_AES_CCM_16, VPND_ENCR_AES_GCM_8,
          VPND_ENCR_AES_GCM_12, VPND_ENCR_AES_GCM_16, VPND_ENCR_CHACHA20_POLY1305)
ID_LOOKUP(vector_ke_id, VpndKeId, vpnd_ke_to_string, VPND_KE_MODP_1024, VPND_KE_MODP_2048,
          VPND_KE_MODP_3072, VPND_KE_MODP_4096, VPND_KE_MODP_6144, VPND_KE_MODP_8192,
          VPND_KE_ECP_256, VPND_KE_ECP_384, VPND_KE_ECP_521, VPND_KE_CURVE25519, VPND_KE_CURVE448)
