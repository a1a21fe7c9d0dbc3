/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Handshakes that must fail, and end cleanly on both sides with the right notify.
 */
#include "engine-harness.h"

#define GCM_X25519 "aes256gcm16-prfsha256-curve25519"
#define SEC(n) ((gint64)(n)*G_USEC_PER_SEC)

static Net *
start(guint32 seed, const char *ike_a, const char *ike_b, const char *ts_a_l, const char *ts_a_r,
      const char *ts_b_l, const char *ts_b_r, guint32 *id)
{
	g_autoptr(GError) error = NULL;
	Net *net = net_new(seed);
	g_autoptr(ConnConfig) ca = net_conn(&net->a, &net->b, ike_a, "aes256gcm16", ts_a_l, ts_a_r);
	g_autoptr(ConnConfig) cb = net_conn(&net->b, &net->a, ike_b, "aes256gcm16", ts_b_l, ts_b_r);

	ike_engine_add_conn(net->b.engine, cb);
	*id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(*id, !=, 0);
	return net;
}

static void
assert_down(Peer *p, IkeReason reason, guint16 notify)
{
	IkeAction *down = peer_last(p, IKE_ACTION_IKE_UPDOWN);

	g_assert_nonnull(down);
	g_assert_false(down->up);
	g_assert_cmpint(down->reason, ==, reason);
	g_assert_cmpuint(down->notify, ==, notify);
	g_assert_cmpuint(ike_engine_count_sas(p->engine), ==, 0);
	/* nothing installed, and every timer cancelled */
	g_assert_cmpuint(peer_count(p, IKE_ACTION_ADD_SA), ==, 0);
	g_assert_cmpuint(g_hash_table_size(p->timers), ==, 0);
}

/*
 *   IKE_SA_INIT ...  <-->  ...
 *   IKE_AUTH SK { IDi, AUTH(wrong key), SA, TSi, TSr }  -->
 *                 <--  IKE_AUTH SK { N(AUTHENTICATION_FAILED) }
 */
static void
test_wrong_psk(void)
{
	guint32 id;
	Net *net = start(1, GCM_X25519, GCM_X25519, NULL, NULL, NULL, NULL, &id);

	g_free(net->b.psk);
	net->b.psk = g_strdup("not the same secret");
	net_flush(net);
	/* b refused a's AUTH; a learns it from b's notify, and says whose refusal it was */
	assert_down(&net->a, IKE_REASON_PEER_AUTH_FAILED, IKE_NOTIFY_AUTHENTICATION_FAILED);
	assert_down(&net->b, IKE_REASON_AUTH_FAILED, IKE_NOTIFY_AUTHENTICATION_FAILED);
	g_assert_cmpuint(peer_count(&net->a, IKE_ACTION_CHILD_UPDOWN), ==, 0);
	g_assert_cmpuint(peer_count(&net->b, IKE_ACTION_CHILD_UPDOWN), ==, 0);
	g_assert_null(peer_find(&net->a, IKE_ACTION_IKE_UPDOWN, 1));
	g_assert_false(peer_find(&net->a, IKE_ACTION_IKE_UPDOWN, 0)->up);
	net_free(net);
}

/*
 *   IKE_SA_INIT { SA(aes128-sha256-ecp256), KE, Ni, N(NAT_D)+ }  -->
 *                 <--  IKE_SA_INIT { N(NO_PROPOSAL_CHOSEN) }
 */
static void
test_no_proposal(void)
{
	guint32 id;
	Net *net = start(2, "aes128-sha256-ecp256", GCM_X25519, NULL, NULL, NULL, NULL, &id);

	net_flush(net);
	assert_down(&net->a, IKE_REASON_NO_PROPOSAL, IKE_NOTIFY_NO_PROPOSAL_CHOSEN);
	assert_down(&net->b, IKE_REASON_NO_PROPOSAL, IKE_NOTIFY_NO_PROPOSAL_CHOSEN);
	g_assert_cmpuint(net->a.sent, ==, 1);
	g_assert_cmpuint(net->b.sent, ==, 1);
	net_free(net);
}

/* Same ciphers, no common group: also NO_PROPOSAL_CHOSEN (not INVALID_KE_PAYLOAD). */
static void
test_no_common_group(void)
{
	guint32 id;
	Net *net =
		start(3, GCM_X25519, "aes256gcm16-prfsha256-modp2048", NULL, NULL, NULL, NULL, &id);

	net_flush(net);
	assert_down(&net->a, IKE_REASON_NO_PROPOSAL, IKE_NOTIFY_NO_PROPOSAL_CHOSEN);
	net_free(net);
}

/*
 *   IKE_AUTH SK { IDi, AUTH, SA, TSi(10.1/16), TSr(10.2/16) }  -->
 *                 <--  IKE_AUTH SK { IDr, AUTH, N(TS_UNACCEPTABLE) }
 * The IKE SA is up on both sides, without a child.
 */
static void
test_ts_unacceptable(void)
{
	guint32 id;
	Net *net = start(4, GCM_X25519, GCM_X25519, "10.1.0.0/16", "10.2.0.0/16", "192.168.0.0/24",
			 "192.168.1.0/24", &id);

	net_flush(net);
	assert_ike_pair(net, id);
	IkeAction *child = peer_last(&net->a, IKE_ACTION_CHILD_UPDOWN);
	g_assert_nonnull(child);
	g_assert_false(child->up);
	g_assert_cmpint(child->reason, ==, IKE_REASON_TS_UNACCEPTABLE);
	g_assert_cmpuint(peer_count(&net->a, IKE_ACTION_ADD_SA), ==, 0);
	g_assert_cmpuint(peer_count(&net->b, IKE_ACTION_ADD_SA), ==, 0);
	g_assert_cmpuint(peer_count(&net->b, IKE_ACTION_CHILD_UPDOWN), ==, 0);
	g_assert_cmpuint(ike_engine_get_sa(net->a.engine, id)->children->len, ==, 0);
	net_free(net);
}

/* Same for an ESP proposal nobody shares: NO_PROPOSAL_CHOSEN for the child only. */
static void
test_child_no_proposal(void)
{
	g_autoptr(GError) error = NULL;
	Net *net = net_new(5);
	g_autoptr(ConnConfig) ca =
		net_conn(&net->a, &net->b, GCM_X25519, "aes128-sha1", NULL, NULL);
	g_autoptr(ConnConfig) cb =
		net_conn(&net->b, &net->a, GCM_X25519, "aes256gcm16", NULL, NULL);

	ike_engine_add_conn(net->b.engine, cb);
	guint32 id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, &error);
	net_flush(net);
	assert_ike_pair(net, id);
	IkeAction *child = peer_last(&net->a, IKE_ACTION_CHILD_UPDOWN);
	g_assert_nonnull(child);
	g_assert_false(child->up);
	g_assert_cmpint(child->reason, ==, IKE_REASON_NO_PROPOSAL);
	net_free(net);
}

/*
 *   IKE_SA_INIT { SA(curve25519, ecp256), KE(curve25519), Ni }  -->
 *                 <--  IKE_SA_INIT { N(INVALID_KE_PAYLOAD, ecp256) }
 *   IKE_SA_INIT { SA(curve25519, ecp256), KE(ecp256), Ni }  -->
 *                 <--  IKE_SA_INIT { SA(ecp256), KE, Nr }
 *   IKE_AUTH ... <--> ...
 */
static void
test_invalid_ke_retry(void)
{
	guint32 id;
	Net *net = start(6, "aes256gcm16-prfsha256-curve25519-ecp256",
			 "aes256gcm16-prfsha256-ecp256", NULL, NULL, NULL, NULL, &id);

	net_flush(net);
	assert_ike_pair(net, id);
	IkeSa *sa = ike_engine_get_sa(net->a.engine, id);
	g_assert_cmpuint(sa->alg.ke, ==, VPND_KE_ECP_256);
	g_assert_cmpuint(net->a.sent, ==, 3); /* SA_INIT twice, then IKE_AUTH */
	g_assert_cmpuint(sa->mid_out, ==, 2);
	assert_child_pair(peer_find_sa(&net->a, VPND_DIR_OUT, 0),
			  peer_find_sa(&net->b, VPND_DIR_IN, 0));
	/* b kept no state for the refused attempt, and says so */
	IkeAction *first = peer_find(&net->b, IKE_ACTION_IKE_UPDOWN, 0);
	g_assert_false(first->up);
	g_assert_cmpint(first->reason, ==, IKE_REASON_INVALID_KE);
	g_assert_true(peer_last(&net->b, IKE_ACTION_IKE_UPDOWN)->up);
	net_free(net);
}

static gboolean
drop_to_b(gpointer data, Packet *p)
{
	Net *net = data;

	return p->to != &net->b;
}

static gboolean
drop_to_a(gpointer data, Packet *p)
{
	Net *net = data;

	return p->to != &net->a;
}

/*
 * A peer that never answers: the request goes out at 0, 4, 11.2, 24.16, 47.49 and
 * 89.48 s (4 s, x1.8, 5 retransmits); 75.58 s after the last the SA is dead.
 */
static void
test_peer_gone(void)
{
	guint32 id;
	Net *net = start(7, GCM_X25519, GCM_X25519, NULL, NULL, NULL, NULL, &id);
	gint64 t0 = net->now;

	net->filter = drop_to_b;
	net->filter_data = net;
	net_advance(net, t0 + SEC(89));
	g_assert_cmpuint(net->a.sent, ==, 5);
	net_advance(net, t0 + SEC(90));
	g_assert_cmpuint(net->a.sent, ==, 6);
	net_advance(net, t0 + SEC(165));
	g_assert_nonnull(ike_engine_get_sa(net->a.engine, id));
	net_advance(net, t0 + SEC(166));
	g_assert_null(ike_engine_get_sa(net->a.engine, id));
	g_assert_cmpuint(net->a.sent, ==, 6);
	assert_down(&net->a, IKE_REASON_PEER_TIMEOUT, 0);
	net_free(net);
}

/*
 *   IKE_SA_INIT { SA, KE, Ni, N(NAT_D)+ }  -->  (lost, and lost again)
 *   the user gives up: the SA goes at once, without a word to the peer
 */
static void
test_abort_connecting(void)
{
	guint32 id;
	Net *net = start(9, GCM_X25519, GCM_X25519, NULL, NULL, NULL, NULL, &id);
	gint64 t0 = net->now;

	net->filter = drop_to_b;
	net->filter_data = net;
	net_advance(net, t0 + SEC(5));
	g_assert_cmpuint(net->a.sent, ==, 2);
	g_assert_true(ike_engine_abort_ike(net->a.engine, id));
	net_run(net, t0 + SEC(200));
	assert_down(&net->a, IKE_REASON_DELETED_LOCAL, 0);
	g_assert_cmpuint(net->a.sent, ==, 2); /* no more retransmits, no Delete */
	g_assert_false(ike_engine_abort_ike(net->a.engine, id));
	net_free(net);
}

/* Established SAs are deleted with a Delete, never aborted. */
static void
test_abort_established(void)
{
	guint32 id;
	Net *net = start(10, GCM_X25519, GCM_X25519, NULL, NULL, NULL, NULL, &id);

	net_flush(net);
	g_assert_false(ike_engine_abort_ike(net->a.engine, id));
	g_assert_nonnull(ike_engine_get_sa(net->a.engine, id));
	net_free(net);
}

/* The initiator vanishes after IKE_SA_INIT: the responder drops its half-open SA at 30 s. */
static void
test_half_open_timeout(void)
{
	guint32 id;
	Net *net = start(8, GCM_X25519, GCM_X25519, NULL, NULL, NULL, NULL, &id);
	gint64 t0 = net->now;

	net->filter = drop_to_a;
	net->filter_data = net;
	net_advance(net, t0 + SEC(29));
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 1);
	g_assert_cmpuint(net->b.sent, >=, 1); /* its answers to a's retransmits are cached ones */
	net_advance(net, t0 + SEC(31));
	assert_down(&net->b, IKE_REASON_HALF_OPEN_TIMEOUT, 0);
	g_assert_cmpuint(ike_engine_get_counters(net->b.engine)->retransmits_answered, ==,
			 net->b.sent - 1);
	net_advance(net, t0 + SEC(200));
	assert_down(&net->a, IKE_REASON_PEER_TIMEOUT, 0);
	net_free(net);
}

/* The responder has no PSK for the initiator: AUTHENTICATION_FAILED as well. */
static void
test_no_psk(void)
{
	guint32 id;
	Net *net = start(9, GCM_X25519, GCM_X25519, NULL, NULL, NULL, NULL, &id);

	g_clear_pointer(&net->b.psk, g_free);
	/* "no shared key" is a warning for the operator; not fatal here */
	GLogLevelFlags old = g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	net_flush(net);
	g_log_set_always_fatal(old);
	/* b refused a's AUTH; a learns it from b's notify, and says whose refusal it was */
	assert_down(&net->a, IKE_REASON_PEER_AUTH_FAILED, IKE_NOTIFY_AUTHENTICATION_FAILED);
	assert_down(&net->b, IKE_REASON_AUTH_FAILED, IKE_NOTIFY_AUTHENTICATION_FAILED);
	net_free(net);
}

/* Half-open SAs from one peer are capped (default 5): the sixth IKE_SA_INIT is dropped. */
static void
test_half_open_limit(void)
{
	g_autoptr(GError) error = NULL;
	Net *net = net_new(10);
	g_autoptr(ConnConfig) ca =
		net_conn(&net->a, &net->b, GCM_X25519, "aes256gcm16", NULL, NULL);
	g_autoptr(ConnConfig) cb =
		net_conn(&net->b, &net->a, GCM_X25519, "aes256gcm16", NULL, NULL);

	ike_engine_add_conn(net->b.engine, cb);
	net->filter = drop_to_a;
	net->filter_data = net;
	for (int i = 0; i < 6; i++) {
		g_assert_cmpuint(ike_engine_initiate(net->a.engine, ca, NULL, net->now, &error), !=,
				 0);
		net_flush(net);
	}
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 5);
	g_assert_cmpuint(net->b.sent, ==, 5);
	g_assert_cmpuint(ike_engine_get_counters(net->b.engine)->half_open_refused, ==, 1);
	/* once they time out, there is room again */
	net_advance(net, net->now + SEC(31));
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 0);
	net->filter = NULL;
	guint32 id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, &error);
	net_flush(net);
	assert_ike_pair(net, id);
	net_free(net);
}

int
main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_func("/engine/ikev2/fail/wrong-psk", test_wrong_psk);
	g_test_add_func("/engine/ikev2/fail/no-psk", test_no_psk);
	g_test_add_func("/engine/ikev2/fail/no-proposal", test_no_proposal);
	g_test_add_func("/engine/ikev2/fail/no-common-group", test_no_common_group);
	g_test_add_func("/engine/ikev2/fail/ts-unacceptable", test_ts_unacceptable);
	g_test_add_func("/engine/ikev2/fail/child-no-proposal", test_child_no_proposal);
	g_test_add_func("/engine/ikev2/fail/invalid-ke-retry", test_invalid_ke_retry);
	g_test_add_func("/engine/ikev2/fail/peer-gone", test_peer_gone);
	g_test_add_func("/engine/ikev2/fail/half-open-timeout", test_half_open_timeout);
	g_test_add_func("/engine/ikev2/fail/abort-connecting", test_abort_connecting);
	g_test_add_func("/engine/ikev2/fail/abort-established", test_abort_established);
	g_test_add_func("/engine/ikev2/fail/half-open-limit", test_half_open_limit);
	ret = g_test_run();
	harness_fini();
	return ret;
}
