/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * After IKE_AUTH: more child SAs (CREATE_CHILD_SA, with and without PFS), deletes of
 * child SAs and of the IKE SA from either side, and liveness checks (DPD).
 */
#include "engine-harness.h"

#define GCM_X25519 "aes256gcm16-prfsha256-curve25519"
#define SEC(n) ((gint64)(n)*G_USEC_PER_SEC)

typedef struct {
	Net *net;
	ConnConfig *ca, *cb;
	guint32 id_a, id_b;
} Pair;

static void
add_child(ConnConfig *conn, const char *name, const char *esp, const char *l, const char *r)
{
	g_autoptr(GError) error = NULL;
	ChildConfig *child = child_config_new(name);
	GPtrArray *list = proposal_parse_list(PROPOSAL_PROTO_ESP, esp, &error);

	g_assert_no_error(error);
	g_ptr_array_extend_and_steal(child->esp_proposals, list);
	g_assert_true(child_config_add_local_ts(child, l, &error));
	g_assert_true(child_config_add_remote_ts(child, r, &error));
	conn_config_take_child(conn, child);
}

/* An established IKE SA with child "net"; b also knows child "more". */
static void
pair_up(Pair *p, guint32 seed, guint dpd)
{
	g_autoptr(GError) error = NULL;

	p->net = net_new(seed);
	p->ca = net_conn(&p->net->a, &p->net->b, GCM_X25519, "aes256gcm16", NULL, NULL);
	p->cb = net_conn(&p->net->b, &p->net->a, GCM_X25519, "aes256gcm16", NULL, NULL);
	add_child(p->ca, "more", "aes128gcm16-ecp256", "10.3.0.0/16", "10.4.0.0/16");
	add_child(p->ca, "nopfs", "aes128-sha256", "10.5.0.0/16", "10.6.0.0/16");
	add_child(p->cb, "more", "aes128gcm16-ecp256", "10.4.0.0/16", "10.3.0.0/16");
	add_child(p->cb, "nopfs", "aes128-sha256", "10.6.0.0/16", "10.5.0.0/16");
	p->ca->dpd_delay = dpd;
	ike_engine_add_conn(p->net->b.engine, p->cb);
	p->id_a = ike_engine_initiate(p->net->a.engine, p->ca, "net", p->net->now, &error);
	g_assert_no_error(error);
	net_flush(p->net);
	assert_ike_pair(p->net, p->id_a);
	for (guint32 id = 1; id < 16 && !p->id_b; id++)
		if (ike_engine_get_sa(p->net->b.engine, id))
			p->id_b = id;
}

static void
pair_free(Pair *p)
{
	net_free(p->net);
	conn_config_unref(p->ca);
	conn_config_unref(p->cb);
}

/*
 *   CREATE_CHILD_SA SK { SA, Ni, KEi(ecp256), TSi(10.3/16), TSr(10.4/16) }  -->
 *                <--  CREATE_CHILD_SA SK { SA, Nr, KEr, TSi, TSr }
 */
static void
test_create_child(gconstpointer data)
{
	const char *name = data;
	Pair p = { 0 };

	pair_up(&p, 11, 0);
	g_assert_true(ike_engine_create_child(p.net->a.engine, p.id_a, name, p.net->now));
	net_flush(p.net);
	IkeSa *a = ike_engine_get_sa(p.net->a.engine, p.id_a);
	IkeSa *b = ike_engine_get_sa(p.net->b.engine, p.id_b);
	g_assert_cmpuint(a->children->len, ==, 2);
	g_assert_cmpuint(b->children->len, ==, 2);
	g_assert_cmpuint(a->mid_out, ==, 3);
	g_assert_cmpuint(b->mid_in, ==, 3);
	IkeAction *out = peer_find_sa(&p.net->a, VPND_DIR_OUT, 1);
	assert_child_pair(out, peer_find_sa(&p.net->b, VPND_DIR_IN, 1));
	assert_child_pair(peer_find_sa(&p.net->b, VPND_DIR_OUT, 1),
			  peer_find_sa(&p.net->a, VPND_DIR_IN, 1));
	g_assert_cmpstr(out->child_name, ==, name);
	ChildSa *c = g_ptr_array_index(a->children, 1);
	g_assert_cmpuint(c->alg.ke, ==, g_str_equal(name, "more") ? VPND_KE_ECP_256 : 0);
	/* new keys, not those of the first child */
	IkeAction *first = peer_find_sa(&p.net->a, VPND_DIR_OUT, 0);
	g_assert_true(out->sa.encr_key_len != first->sa.encr_key_len ||
		      memcmp(out->sa.encr_key, first->sa.encr_key, first->sa.encr_key_len));
	pair_free(&p);
}

/*
 *   INFORMATIONAL SK { D(ESP, spi) }  -->
 *                <--  INFORMATIONAL SK { D(ESP, spi') }
 */
static void
test_delete_child(gconstpointer data)
{
	gboolean from_b = GPOINTER_TO_INT(data);
	Pair p = { 0 };

	pair_up(&p, 12, 0);
	Peer *self = from_b ? &p.net->b : &p.net->a, *other = from_b ? &p.net->a : &p.net->b;
	guint32 id = from_b ? p.id_b : p.id_a;
	IkeSa *sa = ike_engine_get_sa(self->engine, id);
	ChildSa *c = g_ptr_array_index(sa->children, 0);

	g_assert_true(ike_engine_delete_child(self->engine, id, c->spi_in, p.net->now));
	net_flush(p.net);
	for (int i = 0; i < 2; i++) {
		Peer *peer = i ? other : self;
		IkeAction *down = peer_last(peer, IKE_ACTION_CHILD_UPDOWN);

		g_assert_false(down->up);
		g_assert_cmpint(down->reason, ==,
				i ? IKE_REASON_DELETED_PEER : IKE_REASON_DELETED_LOCAL);
		g_assert_cmpuint(peer_count(peer, IKE_ACTION_DEL_SA), ==, 2);
		g_assert_cmpuint(peer_count(peer, IKE_ACTION_DEL_POLICY), ==, 3);
		g_assert_cmpuint(ike_engine_count_sas(peer->engine), ==, 1);
	}
	g_assert_cmpuint(ike_engine_get_sa(p.net->a.engine, p.id_a)->children->len, ==, 0);
	g_assert_cmpuint(ike_engine_get_sa(p.net->b.engine, p.id_b)->children->len, ==, 0);
	/* the SAs deleted are the ones installed */
	g_assert_cmpuint(peer_find(self, IKE_ACTION_DEL_SA, 0)->sa_key.spi, ==,
			 peer_find_sa(self, VPND_DIR_IN, 0)->sa.spi);
	pair_free(&p);
}

/*
 *   INFORMATIONAL SK { D(IKE) }  -->
 *                <--  INFORMATIONAL SK { }
 */
static void
test_delete_ike(gconstpointer data)
{
	gboolean from_b = GPOINTER_TO_INT(data);
	Pair p = { 0 };

	pair_up(&p, 13, 0);
	Peer *self = from_b ? &p.net->b : &p.net->a, *other = from_b ? &p.net->a : &p.net->b;

	g_assert_true(ike_engine_delete_ike(self->engine, from_b ? p.id_b : p.id_a, p.net->now));
	net_flush(p.net);
	for (int i = 0; i < 2; i++) {
		Peer *peer = i ? other : self;
		IkeReason why = i ? IKE_REASON_DELETED_PEER : IKE_REASON_DELETED_LOCAL;
		IkeAction *down = peer_last(peer, IKE_ACTION_IKE_UPDOWN);

		g_assert_false(down->up);
		g_assert_cmpint(down->reason, ==, why);
		g_assert_cmpint(peer_last(peer, IKE_ACTION_CHILD_UPDOWN)->reason, ==, why);
		g_assert_cmpuint(peer_count(peer, IKE_ACTION_DEL_SA), ==, 2);
		g_assert_cmpuint(ike_engine_count_sas(peer->engine), ==, 0);
		g_assert_cmpuint(g_hash_table_size(peer->timers), ==, 0);
	}
	pair_free(&p);
}

static gboolean
drop_all(gpointer data, Packet *p)
{
	return FALSE;
}

/*
 * DPD every 30 s of silence:  INFORMATIONAL SK { }  -->   <--  INFORMATIONAL SK { }
 * then the peer goes away and the SA dies after the retransmission schedule.
 */
static void
test_dpd(void)
{
	Pair p = { 0 };

	pair_up(&p, 14, 30);
	gint64 t0 = p.net->now;
	guint sent = p.net->a.sent;

	net_advance(p.net, t0 + SEC(29));
	g_assert_cmpuint(p.net->a.sent, ==, sent);
	net_advance(p.net, t0 + SEC(31));
	g_assert_cmpuint(p.net->a.sent, ==, sent + 1);
	g_assert_cmpuint(p.net->b.sent, ==, 3);
	net_advance(p.net, t0 + SEC(95));
	g_assert_cmpuint(p.net->a.sent, ==, sent + 3);
	IkeSa *a = ike_engine_get_sa(p.net->a.engine, p.id_a);
	g_assert_cmpuint(a->mid_out, ==, 5);

	p.net->filter = drop_all;
	net_advance(p.net, t0 + SEC(95 + 30 + 166));
	g_assert_null(ike_engine_get_sa(p.net->a.engine, p.id_a));
	IkeAction *down = peer_last(&p.net->a, IKE_ACTION_IKE_UPDOWN);
	g_assert_cmpint(down->reason, ==, IKE_REASON_PEER_TIMEOUT);
	g_assert_cmpint(peer_last(&p.net->a, IKE_ACTION_CHILD_UPDOWN)->reason, ==,
			IKE_REASON_PEER_TIMEOUT);
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_DEL_SA), ==, 2);
	pair_free(&p);
}

/* A DPD asked for by the control plane, and both sides' message IDs moving apart. */
static void
test_dpd_both_ways(void)
{
	Pair p = { 0 };

	pair_up(&p, 15, 0);
	for (int i = 0; i < 3; i++)
		g_assert_true(ike_engine_dpd(p.net->b.engine, p.id_b, p.net->now));
	g_assert_true(ike_engine_dpd(p.net->a.engine, p.id_a, p.net->now));
	net_flush(p.net);
	IkeSa *a = ike_engine_get_sa(p.net->a.engine, p.id_a);
	IkeSa *b = ike_engine_get_sa(p.net->b.engine, p.id_b);
	g_assert_cmpuint(b->mid_out, ==, 3);
	g_assert_cmpuint(a->mid_in, ==, 3);
	g_assert_cmpuint(a->mid_out, ==, 3);
	g_assert_cmpuint(b->mid_in, ==, 3);
	g_assert_cmpint(a->state, ==, IKE_SA_STATE_ESTABLISHED);
	pair_free(&p);
}

int
main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_data_func("/engine/ikev2/info/create-child-pfs", "more", test_create_child);
	g_test_add_data_func("/engine/ikev2/info/create-child-nopfs", "nopfs", test_create_child);
	g_test_add_data_func("/engine/ikev2/info/delete-child-initiator", GINT_TO_POINTER(FALSE),
			     test_delete_child);
	g_test_add_data_func("/engine/ikev2/info/delete-child-responder", GINT_TO_POINTER(TRUE),
			     test_delete_child);
	g_test_add_data_func("/engine/ikev2/info/delete-ike-initiator", GINT_TO_POINTER(FALSE),
			     test_delete_ike);
	g_test_add_data_func("/engine/ikev2/info/delete-ike-responder", GINT_TO_POINTER(TRUE),
			     test_delete_ike);
	g_test_add_func("/engine/ikev2/info/dpd", test_dpd);
	g_test_add_func("/engine/ikev2/info/dpd-both-ways", test_dpd_both_ways);
	ret = g_test_run();
	harness_fini();
	return ret;
}
