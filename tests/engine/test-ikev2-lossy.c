/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The whole handshake over a bad network: 30 % of datagrams lost, 30 % duplicated and
 * 30 % overtaking those queued before them, decided by a seeded GRand (the same every
 * run). Retransmission, cached responses and the message ID window must still bring
 * both sides to one IKE SA and one child SA with the same keys.
 *
 *   IKE_SA_INIT { SA, KE, Ni, N(NAT_D)+ }  --x   (lost: retransmitted after 4 s)
 *   IKE_SA_INIT { SA, KE, Ni, N(NAT_D)+ }  -->   (twice: the copy gets the cached answer)
 *               <--  IKE_SA_INIT { SA, KE, Nr, N(NAT_D)+ }
 *   IKE_AUTH SK { IDi, AUTH, SA, TSi, TSr }  -->
 *               x--  IKE_AUTH SK { IDr, AUTH, SA, TSi, TSr }   (retransmit, cached answer)
 */
#include "engine-harness.h"

#define SEEDS 40
#define SEC(n) ((gint64)(n)*G_USEC_PER_SEC)

static void
test_lossy(gconstpointer data)
{
	guint32 seed = GPOINTER_TO_UINT(data);
	g_autoptr(GError) error = NULL;
	Net *net = net_new(seed);
	const char *ike = seed % 2 ? "aes256gcm16-prfsha256-curve25519" : "aes128-sha256-ecp256";
	const char *esp = seed % 2 ? "aes256gcm16" : "aes128-sha256";
	g_autoptr(ConnConfig) ca = net_conn(&net->a, &net->b, ike, esp, NULL, NULL);
	g_autoptr(ConnConfig) cb = net_conn(&net->b, &net->a, ike, esp, NULL, NULL);

	net->loss = 0.3;
	net->dup = 0.3;
	net->reorder = 0.3;
	ike_engine_add_conn(net->b.engine, cb);
	guint32 id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, &error);
	g_assert_no_error(error);
	/* the default schedule gives up after 165 s; 30 % loss each way makes a whole
	 * exchange fail 51 % of the time, so some seeds need several retransmits */
	net_advance(net, net->now + SEC(400));
	assert_ike_pair(net, id);
	g_assert_cmpuint(peer_count(&net->a, IKE_ACTION_ADD_SA), ==, 2);
	g_assert_cmpuint(peer_count(&net->b, IKE_ACTION_ADD_SA), ==, 2);
	assert_child_pair(peer_find_sa(&net->a, VPND_DIR_OUT, 0),
			  peer_find_sa(&net->b, VPND_DIR_IN, 0));
	assert_child_pair(peer_find_sa(&net->b, VPND_DIR_OUT, 0),
			  peer_find_sa(&net->a, VPND_DIR_IN, 0));
	g_assert_cmpuint(peer_count(&net->a, IKE_ACTION_IKE_UPDOWN), ==, 1);
	g_assert_cmpuint(peer_count(&net->b, IKE_ACTION_IKE_UPDOWN), ==, 1);
	g_test_message("seed %u: %u sent by a, %u by b, %u lost, %u duplicated, %u reordered", seed,
		       net->a.sent, net->b.sent, net->dropped, net->duplicated, net->reordered);
	net_free(net);
}

/* Over all seeds: most establish, and the network really was that bad. */
static void
test_lossy_summary(void)
{
	guint established = 0, dropped = 0, duplicated = 0, reordered = 0;

	for (guint32 seed = 1; seed <= SEEDS; seed++) {
		Net *net = net_new(seed * 7919);
		g_autoptr(ConnConfig) ca =
			net_conn(&net->a, &net->b, "aes256gcm16-prfsha256-curve25519",
				 "aes256gcm16", NULL, NULL);
		g_autoptr(ConnConfig) cb =
			net_conn(&net->b, &net->a, "aes256gcm16-prfsha256-curve25519",
				 "aes256gcm16", NULL, NULL);

		net->loss = net->dup = net->reorder = 0.3;
		ike_engine_add_conn(net->b.engine, cb);
		guint32 id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
		net_advance(net, net->now + SEC(400));
		IkeSa *sa = ike_engine_get_sa(net->a.engine, id);
		if (sa && sa->state == IKE_SA_STATE_ESTABLISHED) {
			established++;
			assert_ike_pair(net, id);
		} else {
			/* the schedule ran out: a ended cleanly, with the right reason */
			g_assert_null(sa);
			g_assert_cmpint(peer_last(&net->a, IKE_ACTION_IKE_UPDOWN)->reason, ==,
					IKE_REASON_PEER_TIMEOUT);
			g_assert_cmpuint(g_hash_table_size(net->a.timers), ==, 0);
		}
		dropped += net->dropped;
		duplicated += net->duplicated;
		reordered += net->reordered;
		net_free(net);
	}
	g_test_message("%u/%u established; %u lost, %u duplicated, %u reordered", established,
		       SEEDS, dropped, duplicated, reordered);
	g_assert_cmpuint(established, >=, SEEDS * 9 / 10);
	g_assert_cmpuint(dropped, >, 0);
	g_assert_cmpuint(duplicated, >, 0);
	g_assert_cmpuint(reordered, >, 0);
}

/*
 * After the handshake, over the same network: a second child (CREATE_CHILD_SA with PFS),
 * a DPD, a child delete and finally the IKE SA delete, each started once the previous
 * one has settled. Ten retransmissions instead of five: this is about the exchanges
 * under loss; giving up after the default schedule is tested in test-ikev2-failures.
 *
 *   CREATE_CHILD_SA SK { SA, Ni, KEi, TSi, TSr }  -->   <--  { SA, Nr, KEr, TSi, TSr }
 *   INFORMATIONAL SK { }  -->                            <--  { }
 *   INFORMATIONAL SK { D(ESP) }  -->                     <--  { D(ESP) }
 *   INFORMATIONAL SK { D(IKE) }  -->                     <--  { }
 */
static void
test_lossy_after(gconstpointer data)
{
	guint32 seed = GPOINTER_TO_UINT(data);
	g_autoptr(GError) error = NULL;
	Net *net = net_new_with_tries(seed, 10);
	const char *ike = "aes256gcm16-prfsha256-curve25519";
	g_autoptr(ConnConfig) ca = net_conn(&net->a, &net->b, ike, "aes256gcm16", NULL, NULL);
	g_autoptr(ConnConfig) cb = net_conn(&net->b, &net->a, ike, "aes256gcm16", NULL, NULL);
	ChildConfig *more_a = child_config_new("more"), *more_b = child_config_new("more");

	g_ptr_array_extend_and_steal(
		more_a->esp_proposals,
		proposal_parse_list(PROPOSAL_PROTO_ESP, "aes128gcm16-ecp256", &error));
	g_ptr_array_extend_and_steal(
		more_b->esp_proposals,
		proposal_parse_list(PROPOSAL_PROTO_ESP, "aes128gcm16-ecp256", &error));
	g_assert_true(child_config_add_local_ts(more_a, "10.3.0.0/16", &error));
	g_assert_true(child_config_add_remote_ts(more_a, "10.4.0.0/16", &error));
	g_assert_true(child_config_add_local_ts(more_b, "10.4.0.0/16", &error));
	g_assert_true(child_config_add_remote_ts(more_b, "10.3.0.0/16", &error));
	conn_config_take_child(ca, more_a);
	conn_config_take_child(cb, more_b);
	ike_engine_add_conn(net->b.engine, cb);
	guint32 id = ike_engine_initiate(net->a.engine, ca, "net", net->now, &error);
	g_assert_no_error(error);
	/* the handshake without loss; the exchanges after it with */
	net_flush(net);
	assert_ike_pair(net, id);
	net->loss = net->dup = net->reorder = 0.3;

	g_assert_true(ike_engine_create_child(net->a.engine, id, "more", net->now));
	net_advance(net, net->now + SEC(4000));
	IkeSa *a = ike_engine_get_sa(net->a.engine, id);
	g_assert_nonnull(a);
	g_assert_cmpuint(a->children->len, ==, 2);
	assert_ike_pair(net, id);
	assert_child_pair(peer_find_sa(&net->a, VPND_DIR_OUT, 1),
			  peer_find_sa(&net->b, VPND_DIR_IN, 1));
	assert_child_pair(peer_find_sa(&net->b, VPND_DIR_OUT, 1),
			  peer_find_sa(&net->a, VPND_DIR_IN, 1));

	g_assert_true(ike_engine_dpd(net->a.engine, id, net->now));
	net_advance(net, net->now + SEC(4000));
	a = ike_engine_get_sa(net->a.engine, id);
	g_assert_nonnull(a);
	g_assert_cmpuint(a->mid_out, ==, 4);

	ChildSa *c = g_ptr_array_index(a->children, 0);
	g_assert_true(ike_engine_delete_child(net->a.engine, id, c->spi_in, net->now));
	net_advance(net, net->now + SEC(4000));
	a = ike_engine_get_sa(net->a.engine, id);
	g_assert_nonnull(a);
	g_assert_cmpuint(a->children->len, ==, 1);
	assert_ike_pair(net, id);
	g_assert_cmpuint(peer_count(&net->b, IKE_ACTION_DEL_SA), ==, 2);

	g_assert_true(ike_engine_delete_ike(net->a.engine, id, net->now));
	net_advance(net, net->now + SEC(4000));
	g_assert_cmpuint(ike_engine_count_sas(net->a.engine), ==, 0);
	g_assert_cmpint(peer_last(&net->a, IKE_ACTION_IKE_UPDOWN)->reason, ==,
			IKE_REASON_DELETED_LOCAL);
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 0);
	g_assert_cmpint(peer_last(&net->b, IKE_ACTION_IKE_UPDOWN)->reason, ==,
			IKE_REASON_DELETED_PEER);
	g_test_message("seed %u: %u lost, %u duplicated, %u reordered", seed, net->dropped,
		       net->duplicated, net->reordered);
	net_free(net);
}

int
main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	harness_init();
	for (guint32 seed = 1; seed <= 16; seed++) {
		g_autofree char *path = g_strdup_printf("/engine/ikev2/lossy/seed-%u", seed);

		g_test_add_data_func(path, GUINT_TO_POINTER(seed), test_lossy);
	}
	for (guint32 seed = 100; seed < 108; seed++) {
		g_autofree char *path = g_strdup_printf("/engine/ikev2/lossy/after-%u", seed);

		g_test_add_data_func(path, GUINT_TO_POINTER(seed), test_lossy_after);
	}
	g_test_add_func("/engine/ikev2/lossy/summary", test_lossy_summary);
	ret = g_test_run();
	harness_fini();
	return ret;
}
