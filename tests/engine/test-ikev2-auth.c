/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IKE_AUTH through the auth provider (plugin auth-psk, RFC 7296 §2.15) with every PRF,
 * AES-based ones included (their keys are fitted before use), and without a provider.
 *
 *   IKE_AUTH SK { IDi, [IDr], AUTH(2: Shared Key MIC), SA, TSi, TSr }  -->
 *           <--  IKE_AUTH SK { IDr, AUTH, SA, TSi, TSr }
 */
#include "core/host.h"
#include "engine-harness.h"

static void
test_prf(gconstpointer data)
{
	const char *ike = data;
	g_autoptr(GError) error = NULL;
	Net *net = net_new(71);
	g_autoptr(ConnConfig) ca = net_conn(&net->a, &net->b, ike, "aes128gcm16", NULL, NULL);
	g_autoptr(ConnConfig) cb = net_conn(&net->b, &net->a, ike, "aes128gcm16", NULL, NULL);

	/* longer than any PRF key: hashed (HMAC) or reduced (AES-XCBC/CMAC) first */
	g_free(net->a.psk);
	g_free(net->b.psk);
	net->a.psk = g_strdup("a pre-shared key that is longer than sixty-four bytes, so that "
			      "every PRF has to shorten it before use");
	net->b.psk = g_strdup(net->a.psk);
	ike_engine_add_conn(net->b.engine, cb);
	guint32 id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, &error);
	g_assert_no_error(error);
	net_flush(net);
	assert_ike_pair(net, id);
	assert_child_pair(peer_find_sa(&net->a, VPND_DIR_OUT, 0),
			  peer_find_sa(&net->b, VPND_DIR_IN, 0));
	/* and a key that differs in its last byte is refused */
	net_free(net);
	net = net_new(72);
	g_autoptr(ConnConfig) ca2 = net_conn(&net->a, &net->b, ike, "aes128gcm16", NULL, NULL);
	g_autoptr(ConnConfig) cb2 = net_conn(&net->b, &net->a, ike, "aes128gcm16", NULL, NULL);
	g_free(net->b.psk);
	net->b.psk = g_strdup("a shared secret of some lengtH");
	ike_engine_add_conn(net->b.engine, cb2);
	ike_engine_initiate(net->a.engine, ca2, NULL, net->now, NULL);
	net_flush(net);
	g_assert_cmpuint(ike_engine_count_sas(net->a.engine), ==, 0);
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 0);
	g_assert_cmpint(peer_last(&net->a, IKE_ACTION_IKE_UPDOWN)->reason, ==,
			IKE_REASON_PEER_AUTH_FAILED);
	g_assert_cmpuint(peer_count(&net->a, IKE_ACTION_ADD_SA), ==, 0);
	net_free(net);
}

#define IKE "aes128gcm16-prfsha256-curve25519"

/* A connection named @name between @self and @peer with these identities. */
static ConnConfig *
id_conn(Peer *self, Peer *peer, const char *name, const char *local_id, const char *remote_id)
{
	g_autoptr(GError) error = NULL;
	ConnConfig *c = net_conn(self, peer, IKE, "aes128gcm16", NULL, NULL);

	g_free(c->name);
	c->name = g_strdup(name);
	g_ptr_array_set_size(c->local_auth, 0);
	g_ptr_array_set_size(c->remote_auth, 0);
	g_assert_true(conn_config_add_auth(c, TRUE, CONN_AUTH_PSK, local_id, &error));
	g_assert_true(conn_config_add_auth(c, FALSE, CONN_AUTH_PSK, remote_id, &error));
	g_assert_no_error(error);
	return c;
}

typedef struct {
	const char *name;
	const char *a_id, *a_asks; /* a's identity, and b's it asks for (IDr; %any: none) */
	const char *b1_id, *b1_accepts; /* b's first connection: its identity, the peer's */
	const char *b2_id, *b2_accepts; /* b's second one */
	const char *want;               /* the connection b picks; NULL: none (refused) */
} IdCase;

/* clang-format off */
static const IdCase id_cases[] = {
	{ "ipv4", "192.0.2.1", "%any", "%any", "192.0.2.9", "%any", "192.0.2.1", "second" },
	{ "ipv6", "2001:db8::1", "%any", "%any", "2001:db8::9", "%any", "2001:db8::1", "second" },
	{ "fqdn", "moon.example.org", "%any", "%any", "sun.example.org", "%any", "@moon.example.org", "second" },
	{ "rfc822", "moon@example.org", "%any", "%any", "carol@example.org", "%any", "moon@example.org", "second" },
	{ "dn", "C=CH, O=org, CN=moon", "%any", "%any", "C=CH, O=org, CN=carol", "%any", "C=CH, O=org, CN=moon", "second" },
	{ "key-id", "@#0123ab", "%any", "%any", "@#0123ac", "%any", "@#0123ab", "second" },
	{ "first-fits", "moon.example.org", "%any", "%any", "%any", "%any", "moon.example.org", "first" },
	/* IDr chooses between two that accept anyone */
	{ "idr", "moon.example.org", "gw2.example.org", "gw1.example.org", "%any", "gw2.example.org", "%any", "second" },
	{ "idr-ip", "moon.example.org", "192.0.2.2", "gw1.example.org", "%any", "%any", "%any", "second" },
	{ "none", "moon.example.org", "%any", "%any", "carol.example.org", "%any", "dave.example.org", NULL },
	{ "wrong-type", "moon@example.org", "%any", "%any", "moon.example.org", "%any", "C=CH, CN=moon@example.org", NULL },
};
/* clang-format on */

/* The responder picks its connection by the identities IKE_AUTH brings. */
static void
test_identity(gconstpointer data)
{
	const IdCase *tc = data;
	Net *net = net_new(74);
	g_autoptr(ConnConfig) ca = id_conn(&net->a, &net->b, "a", tc->a_id, tc->a_asks);
	g_autoptr(ConnConfig) b1 = id_conn(&net->b, &net->a, "first", tc->b1_id, tc->b1_accepts);
	g_autoptr(ConnConfig) b2 = id_conn(&net->b, &net->a, "second", tc->b2_id, tc->b2_accepts);

	ike_engine_add_conn(net->b.engine, b1);
	ike_engine_add_conn(net->b.engine, b2);
	guint32 id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
	net_flush(net);
	if (!tc->want) {
		g_assert_cmpuint(ike_engine_count_sas(net->a.engine), ==, 0);
		g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 0);
		g_assert_cmpint(peer_last(&net->a, IKE_ACTION_IKE_UPDOWN)->reason, ==,
				IKE_REASON_PEER_AUTH_FAILED); /* b found no connection for a */
		g_assert_cmpuint(peer_count(&net->b, IKE_ACTION_ADD_SA), ==, 0);
		net_free(net);
		return;
	}
	assert_ike_pair(net, id);
	IkeAction *up = peer_last(&net->b, IKE_ACTION_IKE_UPDOWN);
	g_assert_cmpstr(up->conn_name, ==, tc->want);
	g_assert_cmpstr(peer_last(&net->b, IKE_ACTION_CHILD_UPDOWN)->conn_name, ==, tc->want);
	/* each side knows the other's identity as sent */
	IkeSa *a = ike_engine_get_sa(net->a.engine, id), *b = NULL;
	for (guint32 i = 1; i < 8 && !b; i++)
		b = ike_engine_get_sa(net->b.engine, i);
	g_assert_cmpstr(b->conn->name, ==, tc->want);
	g_autoptr(ConnIdentity) want_a = conn_identity_parse(tc->a_id, NULL);
	g_assert_true(conn_identity_matches(want_a, b->peer_id));
	g_assert_cmpuint(a->peer_id->type, !=, 0);
	net_free(net);
}

/* No auth-psk loaded: the initiator gives up with a clear reason, nothing is sent. */
static void
test_no_provider(void)
{
	Net *net = net_new(73);
	g_autoptr(ConnConfig) ca =
		net_conn(&net->a, &net->b, "aes128gcm16-prfsha256-curve25519", "aes128gcm16", NULL,
			 NULL);
	g_autoptr(ConnConfig) cb =
		net_conn(&net->b, &net->a, "aes128gcm16-prfsha256-curve25519", "aes128gcm16", NULL,
			 NULL);

	/* the last test of this binary: the providers do not come back */
	host_remove_plugin_providers(harness_host(), "auth-psk");
	ike_engine_add_conn(net->b.engine, cb);
	/* "no auth provider" is a warning for the operator; not fatal here */
	GLogLevelFlags old = g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
	net_flush(net);
	g_log_set_always_fatal(old);
	g_assert_cmpuint(ike_engine_count_sas(net->a.engine), ==, 0);
	g_assert_cmpint(peer_last(&net->a, IKE_ACTION_IKE_UPDOWN)->reason, ==,
			IKE_REASON_AUTH_FAILED);
	g_assert_cmpuint(net->a.sent, ==, 1); /* IKE_SA_INIT only */
	net_free(net);
}

int
main(int argc, char **argv)
{
	static const char *const prfs[] = {
		"aes128gcm16-prfsha256-curve25519", "aes128-sha1-prfsha1-ecp256",
		"aes128gcm16-prfsha384-ecp384",	    "aes256gcm16-prfsha512-curve25519",
		"aes128-aesxcbc-prfaesxcbc-modp2048", "aes128gcm16-prfaescmac-curve25519",
	};
	int ret;

	g_test_init(&argc, &argv, NULL);
	harness_init();
	for (gsize i = 0; i < G_N_ELEMENTS(prfs); i++) {
		g_autofree char *path = g_strdup_printf("/ikev2/auth/psk/%s", prfs[i]);
		g_test_add_data_func(path, prfs[i], test_prf);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(id_cases); i++) {
		g_autofree char *path = g_strdup_printf("/ikev2/auth/identity/%s", id_cases[i].name);
		g_test_add_data_func(path, &id_cases[i], test_identity);
	}
	/* last: it unloads the provider (subsuites run after the cases of a suite) */
	g_test_add_func("/ikev2/auth/zz/no-provider", test_no_provider);
	ret = g_test_run();
	harness_fini();
	return ret;
}
