/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/config/conn_loader.c: swanctl.conf connections and secrets. */
#include <glib/gstdio.h>
#include <string.h>

#include "config/conn_loader.h"

static const char good[] = "connections {\n"
			   "  site {\n"
			   "    local_addrs = 192.0.2.1\n"
			   "    remote_addrs = 192.0.2.2, 192.0.2.3\n"
			   "    proposals = aes256gcm16-prfsha256-curve25519\n"
			   "    encap = yes\n"
			   "    dpd_delay = 30s\n"
			   "    unique = replace\n"
			   "    keyingtries = 0\n"
			   "    local {\n      auth = psk\n      id = moon.example.org\n    }\n"
			   "    remote {\n      auth = psk\n      id = sun.example.org\n    }\n"
			   "    children {\n"
			   "      net {\n"
			   "        local_ts = 10.1.0.0/16, 10.3.0.0/16\n"
			   "        remote_ts = 10.2.0.0/16\n"
			   "        esp_proposals = aes256gcm16\n"
			   "        start_action = start\n"
			   "        rekey_time = 1h\n"
			   "        if_id_in = 42\n"
			   "        if_id_out = 0x2b\n"
			   "        replay_window = 128\n"
			   "        dpd_action = restart\n"
			   "        close_action = trap\n"
			   "      }\n"
			   "    }\n"
			   "  }\n"
			   "}\n"
			   "secrets {\n"
			   "  ike-1 {\n    id = moon.example.org\n    id-2 = sun.example.org\n"
			   "    secret = \"both\"\n  }\n"
			   "  ike-2 {\n    id = sun.example.org\n    secret = 0x414243\n  }\n"
			   "  ike-any {\n    secret = fallback\n  }\n"
			   "}\n";

/* Parses @text as one file named t.conf in a fresh folder. */
static gboolean
load_text(const char *text, GPtrArray *conns, ConnSecrets *secrets, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *dir = g_dir_make_tmp("vpnd-conn-loader-XXXXXX", &local);
	g_autofree char *path = g_build_filename(dir, "t.conf", NULL);
	g_autofree char *ignored = g_build_filename(dir, "t.conf.bak", NULL);
	gboolean ok;

	g_assert_no_error(local);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_true(g_file_set_contents(ignored, "garbage {", -1, NULL));
	ok = conn_loader_load_dir(dir, conns, secrets, error);
	g_unlink(path);
	g_unlink(ignored);
	g_rmdir(dir);
	return ok;
}

static void
test_good(void)
{
	g_autoptr(GPtrArray) conns =
		g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);
	g_autoptr(ConnSecrets) secrets = conn_secrets_new();
	g_autoptr(GError) error = NULL;

	g_assert_true(load_text(good, conns, secrets, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(conns->len, ==, 1);
	ConnConfig *conn = conns->pdata[0];
	g_assert_cmpstr(conn->name, ==, "site");
	g_assert_cmpuint(conn->local_addr.family, !=, 0);
	g_assert_cmpuint(conn->remote_addr.addr[3], ==, 2); /* the first address */
	g_assert_cmpuint(conn->ike_proposals->len, ==, 1);
	g_assert_true(conn->encap);
	g_assert_cmpuint(conn->dpd_delay, ==, 30);
	g_assert_cmpint(conn->unique, ==, CONN_UNIQUE_REPLACE);
	g_assert_cmpuint(conn->keyingtries, ==, 0);
	g_assert_cmpstr(conn_config_get_id(conn, TRUE)->text, ==, "moon.example.org");
	g_assert_cmpstr(conn_config_get_id(conn, FALSE)->text, ==, "sun.example.org");
	ChildConfig *child = conn_config_get_child(conn, "net");
	g_assert_nonnull(child);
	g_assert_cmpuint(child->local_ts->len, ==, 2);
	g_assert_cmpuint(child->remote_ts->len, ==, 1);
	g_assert_cmpuint(child->esp_proposals->len, ==, 1);
	g_assert_cmpint(child->start_action, ==, CONN_START_START);
	g_assert_cmpint(child->mode, ==, VPND_MODE_TUNNEL);
	g_assert_cmpuint(child->rekey_time, ==, 3600);
	g_assert_cmpuint(child->if_id_in, ==, 42);
	g_assert_cmpuint(child->if_id_out, ==, 0x2b);
	g_assert_cmpuint(child->replay_window, ==, 128);
	g_assert_cmpint(child->dpd_action, ==, CONN_GONE_RESTART);
	g_assert_cmpint(child->close_action, ==, CONN_GONE_TRAP);
	g_assert_cmpuint(conn_secrets_count(secrets), ==, 3);
}

static void
assert_psk(ConnSecrets *secrets, const char *local, const char *remote, const char *expected)
{
	g_autoptr(ConnIdentity) l = conn_identity_parse(local, NULL);
	g_autoptr(ConnIdentity) r = conn_identity_parse(remote, NULL);
	g_autoptr(VpndSecret) psk = conn_secrets_lookup_psk(secrets, l, r);

	g_assert_nonnull(psk);
	g_assert_cmpmem(psk->data, psk->len, expected, strlen(expected));
}

static void
test_psk_lookup(void)
{
	g_autoptr(GPtrArray) conns =
		g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);
	g_autoptr(ConnSecrets) secrets = conn_secrets_new();

	g_assert_true(load_text(good, conns, secrets, NULL));
	assert_psk(secrets, "moon.example.org", "sun.example.org", "both");
	assert_psk(secrets, "other.example.org", "sun.example.org", "ABC");
	assert_psk(secrets, "other.example.org", "nobody.example.org", "fallback");
}

static void
assert_fails(const char *text, const char *expected)
{
	g_autoptr(GPtrArray) conns =
		g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);
	g_autoptr(ConnSecrets) secrets = conn_secrets_new();
	g_autoptr(GError) error = NULL;

	g_assert_false(load_text(text, conns, secrets, &error));
	g_assert_nonnull(error);
	if (!strstr(error->message, expected))
		g_error("\"%s\" does not contain \"%s\"", error->message, expected);
	g_assert_null(strstr(error->message, "sekrit"));
}

static void
test_errors(void)
{
	assert_fails("connections {\n c {\n  remote_addrs = nowhere!\n }\n}\n", "t.conf:3");
	assert_fails("connections {\n c {\n  proposals = aes999\n }\n}\n", "t.conf:3");
	assert_fails("connections {\n c {\n  local {\n   auth = pubkey\n  }\n }\n}\n", "only psk");
	assert_fails("connections {\n c {\n  children {\n   n {\n    start_action = later\n"
		     "   }\n  }\n }\n}\n",
		     "t.conf:5");
	assert_fails("connections {\n c {\n  children {\n   n {\n    dpd_action = hold\n"
		     "   }\n  }\n }\n}\n",
		     "expected none, clear, trap or restart");
	assert_fails("connections {\n c {\n  children {\n   n {\n    local_ts = 10.0.0.0/99\n"
		     "   }\n  }\n }\n}\n",
		     "t.conf:5");
	assert_fails("connections {\n c {\n  dpd_delay = soon\n }\n}\n", "t.conf:3");
	assert_fails("connections {\n c {\n  children {\n   n {\n    if_id_out = 0\n"
		     "   }\n  }\n }\n}\n",
		     "t.conf:5");
	assert_fails("connections {\n c {\n  children {\n   n {\n    if_id_in = %unique\n"
		     "   }\n  }\n }\n}\n",
		     "interface id");
	assert_fails("connections {\n c {\n  children {\n   n {\n    replay_window = 0\n"
		     "   }\n  }\n }\n}\n",
		     "t.conf:5: n: replay_window: expected 1 to 4096 packets");
	assert_fails("secrets {\n ike-x {\n  id = a\n }\n}\n", "no secret");
	assert_fails("secrets {\n ike-x {\n  secret = 0xsekrit\n }\n}\n", "t.conf:3");
	assert_fails("connections {\n c {\n", "t.conf");
}

/* A connection "c" with @conn_lines inside it and a child "n" with @child_lines. */
static char *
conn_text(const char *conn_lines, const char *child_lines)
{
	return g_strdup_printf("connections {\n c {\n%s  children {\n   n {\n%s   }\n  }\n"
			       " }\n}\n",
			       conn_lines, child_lines);
}

static void
assert_conn_fails(const char *conn_lines, const char *child_lines, const char *expected)
{
	g_autofree char *text = conn_text(conn_lines, child_lines);

	assert_fails(text, expected);
}

static ConnConfig *
load_one(const char *conn_lines, const char *child_lines)
{
	g_autofree char *text = conn_text(conn_lines, child_lines);
	g_autoptr(GError) error = NULL;
	g_autoptr(ConnLoad) load = conn_loader_parse_text(text, "t.conf", &error);

	g_assert_no_error(error);
	g_assert_cmpuint(load->conns->len, ==, 1);
	return conn_config_ref(load->conns->pdata[0]);
}

/* swanctl.conf keys vpnd does not know, or cannot honour, are refused with the reason;
 * a typo would otherwise change the tunnel in silence. */
static void
test_vocabulary(void)
{
	/* unknown: with the closest known name where one is close */
	assert_conn_fails("  rekey_tme = 1h\n", "",
			  "t.conf:3: c: rekey_tme: unknown setting "
			  "(did you mean rekey_time?)");
	assert_conn_fails(
		"", "    esp_proposal = aes256gcm16\n",
		"t.conf:5: n: esp_proposal: unknown setting (did you mean esp_proposals?)");
	g_autofree char *far = conn_text("  frobnicate = 1\n", "");
	g_autoptr(GError) error = NULL;
	g_assert_null(conn_loader_parse_text(far, "t.conf", &error));
	g_assert_cmpstr(error->message, ==, "t.conf:3: c: frobnicate: unknown setting");
	assert_conn_fails("  chidren {\n  }\n", "",
			  "chidren: unknown section (did you mean children?)");
	assert_conn_fails("", "    tun {\n    }\n", "tun: unknown section in a child");
	assert_conn_fails("  local {\n   auth = psk\n   idd = a\n  }\n", "",
			  "t.conf:5: local: idd: unknown setting (did you mean id?)");
	/* known, not supported: refused whatever the value, or unless it is vpnd's way */
	assert_conn_fails("  vips = 0.0.0.0\n", "",
			  "t.conf:3: c: vips: not supported by vpnd yet "
			  "(virtual IP addresses)");
	assert_conn_fails("", "    ah_proposals = sha256\n",
			  "ah_proposals: not supported by vpnd yet (AH)");
	assert_conn_fails(
		"", "    ipcomp = yes\n",
		"t.conf:5: n: ipcomp: \"yes\" is not supported by vpnd yet (IPComp); it takes: no");
	assert_conn_fails("  reauth_time = 4h\n", "", "reauthentication");
	assert_conn_fails("", "    mode = drop\n",
			  "mode: shunt policies (pass, drop) are not supported by vpnd yet");
	assert_conn_fails("  remote_addrs = 10.1.2.300\n", "",
			  "t.conf:3: c: remote_addrs: not an IPv4 or IPv6 address, nor a DNS name");
	assert_conn_fails("  remote_addrs = gw..example\n", "", "nor a DNS name");
	assert_conn_fails("  remote_addrs = -gw.example\n", "", "nor a DNS name");
	assert_conn_fails("  keyingtries = forever\n", "",
			  "t.conf:3: c: keyingtries: expected a count (0: no limit)");
	assert_conn_fails(
		"  unique = keep\n", "",
		"t.conf:3: c: unique: \"keep\" is not supported by vpnd yet; it takes no, "
		"never or replace");
	assert_conn_fails("", "    life_bytes = 1000000\n", "limits by volume");
	assert_conn_fails("", "    updown = /usr/lib/ipsec/_updown iptables\n", "updown scripts");
	assert_conn_fails("  remote {\n   auth = psk\n   certs = peer.pem\n  }\n", "",
			  "certs: not supported by vpnd yet (certificates and public keys)");
	assert_conn_fails("  local {\n   cert-1 {\n    file = a.pem\n   }\n  }\n", "",
			  "cert-1: not supported by vpnd yet (certificates");
	assert_conn_fails("  local {\n   auth = psk\n  }\n  local-2 {\n   auth = psk\n  }\n", "",
			  "local-2: not supported by vpnd yet (more than one authentication round");

	/* vpnd's own behaviour, however it is spelled: accepted */
	g_autoptr(ConnConfig) same =
		load_one("  mobike = yes\n  fragmentation = accept\n"
			 "  reauth_time = 0s\n  unique = never\n  keyingtries = 1\n"
			 "  local_port = 500\n  send_certreq = no\n",
			 "    ipcomp = false\n    policies = true\n"
			 "    mark_in = 0x0\n    inactivity = 0\n"
			 "    hostaccess = yes\n    copy_dscp = out\n");
	g_assert_nonnull(conn_config_get_child(same, "n"));
	g_assert_cmpint(same->unique, ==, CONN_UNIQUE_NEVER);
	g_assert_cmpuint(same->keyingtries, ==, 1);
	/* one round a side, whatever its suffix, is read */
	g_autoptr(ConnConfig) round = load_one(
		"  local-1 {\n   auth = psk\n   id = moon.example.org\n   round = 1\n  }\n", "");
	g_assert_cmpstr(conn_config_get_id(round, TRUE)->text, ==, "moon.example.org");
	g_assert_cmpuint(round->keyingtries, ==, 1); /* the default: one attempt */

	/* a DNS name: looked up when initiating; no address until then */
	g_autoptr(ConnConfig) named = load_one("  remote_addrs = vpn.example.org.\n", "");
	g_assert_cmpstr(named->remote_host, ==, "vpn.example.org.");
	g_assert_cmpuint(named->remote_addr.family, ==, 0);
	g_autoptr(ConnConfig) addressed = load_one("  remote_addrs = 2001:db8::2\n", "");
	g_assert_null(addressed->remote_host);
}

/* Texts (VICI, D-Bus) parse as files do, but may not make vpnd open a path. */
static void
test_text(void)
{
	static const char conn[] = "connections {\n\tc {\n\t\tremote_addrs = 192.0.2.2\n"
				   "\t}\n}\nsecrets {\n\tike-c {\n\t\tsecret = x\n\t}\n}\n"
				   "pools {\n\tp {\n\t\taddrs = 10.3.0.0/24\n\t}\n}\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(ConnLoad) load = conn_loader_parse_text(conn, "text", &error);

	g_assert_no_error(error);
	g_assert_cmpuint(load->conns->len, ==, 1);
	g_assert_cmpuint(load->shared->len, ==, 1);
	g_assert_cmpstr(((ConnSharedKey *)load->shared->pdata[0])->name, ==, "ike-c");
	g_assert_cmpuint(load->pools->len, ==, 1);

	g_autoptr(ConnLoad) refused =
		conn_loader_parse_text("connections {\n  include /etc/passwd\n}\n", "text", &error);
	g_assert_null(refused);
	g_assert_error(error, CONN_ERROR, CONN_ERROR_INVALID);
	g_assert_cmpstr(error->message, ==, "text:2: include is not allowed in a loaded text");
	g_clear_error(&error);
	/* a key or section of that name is no include */
	g_autoptr(ConnLoad) named =
		conn_loader_parse_text("include = 1\ninclude {\n}\n", "t", &error);
	g_assert_no_error(error);
	g_assert_nonnull(named);
}

static void
test_missing_dir(void)
{
	g_autoptr(GPtrArray) conns =
		g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);
	g_autoptr(ConnSecrets) secrets = conn_secrets_new();

	g_assert_true(conn_loader_load_dir("/nonexistent/vpnd", conns, secrets, NULL));
	g_assert_cmpuint(conns->len, ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conn-loader/good", test_good);
	g_test_add_func("/conn-loader/psk-lookup", test_psk_lookup);
	g_test_add_func("/conn-loader/errors", test_errors);
	g_test_add_func("/conn-loader/vocabulary", test_vocabulary);
	g_test_add_func("/conn-loader/missing-dir", test_missing_dir);
	g_test_add_func("/conn-loader/text", test_text);
	return g_test_run();
}
