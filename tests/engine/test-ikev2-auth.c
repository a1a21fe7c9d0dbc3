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
			IKE_REASON_AUTH_FAILED);
	g_assert_cmpuint(peer_count(&net->a, IKE_ACTION_ADD_SA), ==, 0);
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
	g_test_add_func("/ikev2/auth/psk/zz-no-provider", test_no_provider);
	ret = g_test_run();
	harness_fini();
	return ret;
}
