/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The connection config model (daemon/config/conn.c): identities and traffic selectors. */
#include <string.h>
#include <sys/socket.h>

#include "config/conn.h"

typedef struct {
	const char *text;
	guint8 type;
	const char *hex; /* Identification Data; NULL for %any */
} IdCase;

/* Expected DER by hand from X.690: SET { SEQUENCE { OID, string } } per RDN. */
static const IdCase id_cases[] = {
	{ "%any", 0, NULL },
	{ "moon.example.org", 2, "6d6f6f6e2e6578616d706c652e6f7267" },
	{ "@moon", 2, "6d6f6f6e" },
	{ "carol@example.org", 3, "6361726f6c406578616d706c652e6f7267" },
	{ "192.0.2.1", 1, "c0000201" },
	{ "2001:db8::1", 5, "20010db8000000000000000000000001" },
	{ "@#0a1B2c", 11, "0a1b2c" },
	{ "C=CH, O=strongSwan, CN=moon", 9,
	  "3031"
	  "310b300906035504061302"
	  "4348"
	  "31133011060355040a0c0a"
	  "7374726f6e675377616e"
	  "310d300b06035504030c04"
	  "6d6f6f6e" },
};

static void
test_identity(gconstpointer data)
{
	const IdCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(ConnIdentity) id = conn_identity_parse(c->text, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(id->type, ==, c->type);
	if (!c->hex) {
		g_assert_null(id->data);
		g_assert_true(conn_identity_is_any(id));
		return;
	}
	gsize len;
	const guint8 *d = g_bytes_get_data(id->data, &len);
	g_autoptr(GString) hex = g_string_new(NULL);
	for (gsize i = 0; i < len; i++)
		g_string_append_printf(hex, "%02x", d[i]);
	g_assert_cmpstr(hex->str, ==, c->hex);
	/* the same identity received in an ID payload matches */
	g_autoptr(ConnIdentity) peer = conn_identity_new_from_payload(id->type, d, len);
	g_assert_true(conn_identity_matches(id, peer));
}

static void
test_identity_bad(void)
{
	const char *bad[] = { "@#abc", "@#zz", "C=CH, X=y", "CN=a+OU=b", "C=CH, CN=a\\,b" };

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;

		g_assert_null(conn_identity_parse(bad[i], &error));
		g_assert_error(error, CONN_ERROR, CONN_ERROR_IDENTITY);
	}
}

static void
test_identity_match(void)
{
	g_autoptr(ConnIdentity) any = conn_identity_parse("%any", NULL);
	g_autoptr(ConnIdentity) fqdn = conn_identity_parse("Moon.Example.org", NULL);
	g_autoptr(ConnIdentity) fqdn2 = conn_identity_parse("moon.example.ORG", NULL);
	g_autoptr(ConnIdentity) mail = conn_identity_parse("moon@example.org", NULL);

	g_assert_true(conn_identity_matches(any, fqdn));
	g_assert_true(conn_identity_matches(fqdn, fqdn2)); /* DNS names ignore case */
	g_assert_false(conn_identity_matches(fqdn, mail));
	g_assert_false(conn_identity_matches(fqdn, NULL));
}

/* A DN matches whatever string types carry its values (strongSwan: all UTF8String). */
static void
test_identity_match_dn(void)
{
	g_autoptr(ConnIdentity) dn = conn_identity_parse("C=CH, O=vpnd, CN=b", NULL);
	/* SEQUENCE { SET { SEQ { C, UTF8 "CH" } } SET { SEQ { O, UTF8 "vpnd" } }
	 * SET { SEQ { CN, UTF8 "b" } } } */
	static const guint8 utf8[] = { 0x30, 0x28, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55,
				       0x04, 0x06, 0x0c, 0x02, 'C',  'H',  0x31, 0x0d, 0x30,
				       0x0b, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x04, 'v',
				       'p',  'n',  'd',  0x31, 0x0a, 0x30, 0x08, 0x06, 0x03,
				       0x55, 0x04, 0x03, 0x0c, 0x01, 'b' };
	guint8 other[sizeof(utf8)];

	g_autoptr(ConnIdentity) peer = conn_identity_new_from_payload(9, utf8, sizeof(utf8));
	g_assert_true(conn_identity_matches(dn, peer));
	memcpy(other, utf8, sizeof(other));
	other[sizeof(other) - 1] = 'c';
	g_autoptr(ConnIdentity) cn_c = conn_identity_new_from_payload(9, other, sizeof(other));
	g_assert_false(conn_identity_matches(dn, cn_c));
	other[sizeof(other) - 1] = 'b';
	other[13] = 'D'; /* C=DH */
	g_autoptr(ConnIdentity) c_dh = conn_identity_new_from_payload(9, other, sizeof(other));
	g_assert_false(conn_identity_matches(dn, c_dh));
	g_autoptr(ConnIdentity) cut = conn_identity_new_from_payload(9, utf8, sizeof(utf8) - 1);
	g_assert_false(conn_identity_matches(dn, cut));
}

static void
test_ts(void)
{
	g_autoptr(GError) error = NULL;
	ConnTs ts;

	g_assert_true(conn_ts_parse("10.1.0.0/16", &ts, &error));
	g_assert_false(ts.dynamic);
	g_assert_cmpuint(ts.ts.family, ==, AF_INET);
	g_assert_cmpmem(ts.ts.from, 4, ((guint8[]){ 10, 1, 0, 0 }), 4);
	g_assert_cmpmem(ts.ts.to, 4, ((guint8[]){ 10, 1, 255, 255 }), 4);
	g_assert_cmpuint(ts.ts.to_port, ==, 65535);
	g_assert_true(conn_ts_parse("10.1.2.3/20[tcp/443]", &ts, &error));
	g_assert_cmpmem(ts.ts.from, 4, ((guint8[]){ 10, 1, 0, 0 }), 4);
	g_assert_cmpmem(ts.ts.to, 4, ((guint8[]){ 10, 1, 15, 255 }), 4);
	g_assert_cmpuint(ts.ts.ip_proto, ==, 6);
	g_assert_cmpuint(ts.ts.from_port, ==, 443);
	g_assert_cmpuint(ts.ts.to_port, ==, 443);
	g_assert_true(conn_ts_parse("dynamic[udp/1000-2000]", &ts, &error));
	g_assert_true(ts.dynamic);
	g_assert_cmpuint(ts.ts.ip_proto, ==, 17);
	g_assert_cmpuint(ts.ts.to_port, ==, 2000);
	g_assert_true(conn_ts_parse("2001:db8::/32", &ts, &error));
	g_assert_cmpuint(ts.ts.family, ==, AF_INET6);
	g_assert_cmpuint(ts.ts.to[3], ==, 0xb8);
	g_assert_cmpuint(ts.ts.to[4], ==, 0xff);
	g_assert_true(conn_ts_parse("10.0.0.1-10.0.0.9", &ts, &error));
	g_assert_cmpuint(ts.ts.to[3], ==, 9);
	g_assert_no_error(error);
	const char *bad[] = { "10.0.0.0/33",       "nope",
			      "10.0.0.9-10.0.0.1", "10.0.0.0/8[tcp",
			      "10.0.0.0/8[xyz/1]", "10.0.0.0/8[tcp/70000]" };
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) e = NULL;

		g_assert_false(conn_ts_parse(bad[i], &ts, &e));
		g_assert_error(e, CONN_ERROR, CONN_ERROR_TRAFFIC_SELECTOR);
	}
}

static void
test_config_ref(void)
{
	g_autoptr(GError) error = NULL;
	ConnConfig *conn = conn_config_new("home");
	ChildConfig *child = child_config_new("net");

	g_assert_true(conn_config_add_auth(conn, TRUE, CONN_AUTH_PSK, "moon", &error));
	conn_config_take_child(conn, child);
	g_assert_true(conn_config_get_child(conn, "net") == child);
	g_assert_true(conn_config_get_child(conn, NULL) == child);
	g_assert_null(conn_config_get_child(conn, "other"));
	g_assert_cmpstr(conn_config_get_id(conn, TRUE)->text, ==, "moon");
	g_assert_null(conn_config_get_id(conn, FALSE));
	conn_config_ref(conn);
	conn_config_unref(conn);
	g_assert_cmpstr(conn->name, ==, "home");
	conn_config_unref(conn);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(id_cases); i++) {
		g_autofree char *path = g_strdup_printf("/config/conn/identity/%zu", i);

		g_test_add_data_func(path, &id_cases[i], test_identity);
	}
	g_test_add_func("/config/conn/identity/bad", test_identity_bad);
	g_test_add_func("/config/conn/identity/match", test_identity_match);
	g_test_add_func("/config/conn/identity/match-dn", test_identity_match_dn);
	g_test_add_func("/config/conn/ts", test_ts);
	g_test_add_func("/config/conn/ref", test_config_ref);
	return g_test_run();
}
