/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IKE_SA_INIT + IKE_AUTH (PSK) + the first CHILD_SA between two engines in memory, for
 * each key exchange group and for AEAD and encrypt-then-MAC IKE proposals:
 *
 *   a (192.0.2.1)                                               b (192.0.2.2)
 *   IKE_SA_INIT { SA, KE, Ni, N(NAT_D_SRC), N(NAT_D_DST) }  -->
 *                <--  IKE_SA_INIT { SA, KE, Nr, N(NAT_D_SRC), N(NAT_D_DST) }
 *   IKE_AUTH SK { IDi, AUTH, SA, TSi, TSr }  -->
 *                <--  IKE_AUTH SK { IDr, AUTH, SA, TSi, TSr }
 *
 * Both sides end with the same IKE SPIs and transforms, and each child SA a installs
 * outbound is the one b installs inbound, with the same keys (and the other way round).
 */
#include <string.h>
#include <sys/socket.h>

#include "engine-harness.h"

typedef struct {
	const char *name;
	const char *ike;
	const char *esp;
	VpndKeId group;
	VpndEncrId ike_encr;
} Case;

static const Case cases[] = {
	{ "curve25519-aead", "aes256gcm16-prfsha256-curve25519", "aes256gcm16", VPND_KE_CURVE25519,
	  VPND_ENCR_AES_GCM_16 },
	{ "ecp256-aead", "aes256gcm16-prfsha256-ecp256", "aes256gcm16", VPND_KE_ECP_256,
	  VPND_ENCR_AES_GCM_16 },
	{ "modp2048-aead", "aes256gcm16-prfsha256-modp2048", "aes256gcm16", VPND_KE_MODP_2048,
	  VPND_ENCR_AES_GCM_16 },
	{ "curve25519-cbc", "aes128-sha256-curve25519", "aes128-sha256", VPND_KE_CURVE25519,
	  VPND_ENCR_AES_CBC },
	{ "ecp256-cbc", "aes128-sha256-ecp256", "aes128-sha256", VPND_KE_ECP_256,
	  VPND_ENCR_AES_CBC },
	{ "modp2048-cbc", "aes128-sha256-modp2048", "aes128-sha256", VPND_KE_MODP_2048,
	  VPND_ENCR_AES_CBC },
};

/* The last datagram sent to @to, on the wire again (a retransmit). */
static void
replay_last_to(Net *net, Peer *to)
{
	for (guint i = net->trace->len; i-- > 0;) {
		Packet *p = net->trace->pdata[i];

		if (p->to != to)
			continue;
		Packet *copy = g_new0(Packet, 1);
		*copy = *p;
		copy->data = g_bytes_ref(p->data);
		g_queue_push_tail(net->wire, copy);
		return;
	}
	g_assert_not_reached();
}

static void
test_handshake(gconstpointer data)
{
	const Case *c = data;
	g_autoptr(GError) error = NULL;
	Net *net = net_new(42);
	g_autoptr(ConnConfig) ca = net_conn(&net->a, &net->b, c->ike, c->esp, NULL, NULL);
	g_autoptr(ConnConfig) cb = net_conn(&net->b, &net->a, c->ike, c->esp, NULL, NULL);

	ike_engine_add_conn(net->b.engine, cb);
	guint32 id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(id, !=, 0);
	net_flush(net);

	/* two exchanges, four messages, nothing lost: one datagram each way per exchange */
	g_assert_cmpuint(net->a.sent, ==, 2);
	g_assert_cmpuint(net->b.sent, ==, 2);
	assert_ike_pair(net, id);
	IkeSa *sa = ike_engine_get_sa(net->a.engine, id);
	g_assert_cmpuint(sa->alg.ke, ==, c->group);
	g_assert_cmpuint(sa->alg.encr, ==, c->ike_encr);
	g_assert_false(sa->nat_local);
	g_assert_false(sa->nat_remote);

	/* ike-updown up on both sides, then child-updown up */
	IkeAction *up_a = peer_find(&net->a, IKE_ACTION_IKE_UPDOWN, 0);
	IkeAction *up_b = peer_find(&net->b, IKE_ACTION_IKE_UPDOWN, 0);
	g_assert_true(up_a && up_a->up && up_b && up_b->up);
	g_assert_cmpstr(up_a->conn_name, ==, "test");
	/* what only the handshake needed is gone on both sides once IKE_AUTH is over */
	IkeSa *both[] = { sa, ike_engine_get_sa(net->b.engine, up_b->ike_sa_id) };
	for (guint i = 0; i < G_N_ELEMENTS(both); i++) {
		g_assert_nonnull(both[i]);
		g_assert_null(both[i]->init_req);
		g_assert_null(both[i]->init_resp);
		g_assert_null(both[i]->nonce_i);
		g_assert_null(both[i]->nonce_r);
		g_assert_null(both[i]->ke);
	}
	/* when each came up, and the children's unique ids, for listings */
	for (guint i = 0; i < G_N_ELEMENTS(both); i++) {
		ChildSa *child = g_ptr_array_index(both[i]->children, 0);

		g_assert_cmpint(both[i]->established_at, ==, net->now);
		g_assert_cmpint(child->installed_at, ==, net->now);
		g_assert_cmpuint(child->unique_id, ==, 1);
	}
	/* b answers a's IKE_AUTH again from its cache, recognising the copy by its ICV */
	guint b_sent = net->b.sent;
	replay_last_to(net, &net->b);
	net_flush(net);
	g_assert_cmpuint(net->b.sent, ==, b_sent + 1);
	g_assert_cmpuint(ike_engine_get_counters(net->b.engine)->retransmits_answered, ==, 1);
	IkeAction *ch_a = peer_find(&net->a, IKE_ACTION_CHILD_UPDOWN, 0);
	IkeAction *ch_b = peer_find(&net->b, IKE_ACTION_CHILD_UPDOWN, 0);
	g_assert_true(ch_a && ch_a->up && ch_b && ch_b->up);
	g_assert_cmpstr(ch_a->child_name, ==, "net");
	g_assert_cmpuint(ch_a->spi_in, ==, ch_b->spi_out);
	g_assert_cmpuint(ch_a->spi_out, ==, ch_b->spi_in);

	/* one SA each way on each side; a's outbound is b's inbound, and back */
	g_assert_cmpuint(peer_count(&net->a, IKE_ACTION_ADD_SA), ==, 2);
	g_assert_cmpuint(peer_count(&net->b, IKE_ACTION_ADD_SA), ==, 2);
	assert_child_pair(peer_find_sa(&net->a, VPND_DIR_OUT, 0),
			  peer_find_sa(&net->b, VPND_DIR_IN, 0));
	assert_child_pair(peer_find_sa(&net->b, VPND_DIR_OUT, 0),
			  peer_find_sa(&net->a, VPND_DIR_IN, 0));
	IkeAction *out = peer_find_sa(&net->a, VPND_DIR_OUT, 0);
	IkeAction *in = peer_find_sa(&net->a, VPND_DIR_IN, 0);
	/* the two directions have different keys */
	g_assert_true(out->sa.encr_key_len == in->sa.encr_key_len &&
		      memcmp(out->sa.encr_key, in->sa.encr_key, in->sa.encr_key_len) != 0);
	g_assert_cmpuint(out->sa.mode, ==, VPND_MODE_TUNNEL);
	/* dynamic TS: the hosts' own addresses */
	g_assert_cmpuint(out->sa.n_local_ts, ==, 1);
	g_assert_cmpmem(out->sa.local_ts[0].from, 4, net->a.addr.addr, 4);
	g_assert_cmpmem(out->sa.remote_ts[0].to, 4, net->b.addr.addr, 4);
	/* policies: out, in, fwd for the one TS pair */
	g_assert_cmpuint(peer_count(&net->a, IKE_ACTION_ADD_POLICY), ==, 3);
	net_free(net);
}

/* Narrowing: a asks for 10.0.0.0/8 <-> 10.0.0.0/8 and b allows only 10.1.0.0/16 <-> 10.2.0.0/16. */
static void
test_narrowing(void)
{
	g_autoptr(GError) error = NULL;
	Net *net = net_new(7);
	g_autoptr(ConnConfig) ca = net_conn(&net->a, &net->b, "aes128gcm16-prfsha256-curve25519",
					    "aes128gcm16", "10.0.0.0/8", "10.0.0.0/8");
	g_autoptr(ConnConfig) cb = net_conn(&net->b, &net->a, "aes128gcm16-prfsha256-curve25519",
					    "aes128gcm16", "10.2.0.0/16[tcp]", "10.1.0.0/16");

	ike_engine_add_conn(net->b.engine, cb);
	guint32 id = ike_engine_initiate(net->a.engine, ca, "net", net->now, &error);
	g_assert_no_error(error);
	net_flush(net);
	assert_ike_pair(net, id);
	IkeAction *out = peer_find_sa(&net->a, VPND_DIR_OUT, 0);
	assert_child_pair(out, peer_find_sa(&net->b, VPND_DIR_IN, 0));
	const guint8 l_from[] = { 10, 1, 0, 0 }, l_to[] = { 10, 1, 255, 255 };
	const guint8 r_from[] = { 10, 2, 0, 0 }, r_to[] = { 10, 2, 255, 255 };
	g_assert_cmpuint(out->sa.n_local_ts, ==, 1);
	g_assert_cmpmem(out->sa.local_ts[0].from, 4, l_from, 4);
	g_assert_cmpmem(out->sa.local_ts[0].to, 4, l_to, 4);
	g_assert_cmpmem(out->sa.remote_ts[0].from, 4, r_from, 4);
	g_assert_cmpmem(out->sa.remote_ts[0].to, 4, r_to, 4);
	g_assert_cmpuint(out->sa.remote_ts[0].ip_proto, ==, 6);
	g_assert_cmpuint(out->sa.local_ts[0].ip_proto, ==, 0);
	net_free(net);
}

/* encap = yes on a: both sides see a NAT, a moves to port 4500, child SAs use UDP. */
static void
test_forced_encap(void)
{
	g_autoptr(GError) error = NULL;
	Net *net = net_new(9);
	g_autoptr(ConnConfig) ca = net_conn(&net->a, &net->b, "aes256gcm16-prfsha256-curve25519",
					    "aes256gcm16", NULL, NULL);
	g_autoptr(ConnConfig) cb = net_conn(&net->b, &net->a, "aes256gcm16-prfsha256-curve25519",
					    "aes256gcm16", NULL, NULL);

	ca->encap = TRUE;
	/* b's child asks for its own replay window; a's takes its provider's */
	conn_config_get_child(cb, "net")->replay_window = 256;
	ike_engine_add_conn(net->b.engine, cb);
	guint32 id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, &error);
	net_flush(net);
	assert_ike_pair(net, id);
	IkeSa *sa = ike_engine_get_sa(net->a.engine, id);
	g_assert_true(sa->nat_local);
	g_assert_false(sa->nat_remote);
	g_assert_cmpuint(sa->remote.port, ==, 4500);
	g_assert_cmpuint(sa->local.port, ==, 4500);
	IkeAction *up_b = peer_find(&net->b, IKE_ACTION_IKE_UPDOWN, 0);
	g_assert_true(up_b->nat_remote);
	g_assert_false(up_b->nat_local);
	IkeAction *in_b = peer_find_sa(&net->b, VPND_DIR_IN, 0);
	g_assert_true(in_b->sa.encap);
	g_assert_cmpuint(in_b->sa.replay_window, ==, 256);
	g_assert_cmpuint(peer_find_sa(&net->a, VPND_DIR_IN, 0)->sa.replay_window, ==, 0);
	g_assert_cmpuint(in_b->sa.src.port, ==, 4500);
	assert_child_pair(peer_find_sa(&net->a, VPND_DIR_OUT, 0), in_b);
	net_free(net);
}

/* The responder's IKE SA in b's engine: the only one there. */
static IkeSa *
only_sa(IkeEngine *e)
{
	for (guint32 id = 1; id < 16; id++) {
		IkeSa *sa = ike_engine_get_sa(e, id);
		if (sa)
			return sa;
	}
	return NULL;
}

/* a starts a Curve25519 handshake with b; its IKE_SA_INIT request is not sent yet. */
static guint32
initiate_curve25519(Net *net)
{
	g_autoptr(GError) error = NULL;
	const char *ike = "aes256gcm16-prfsha256-curve25519";
	g_autoptr(ConnConfig) ca = net_conn(&net->a, &net->b, ike, "aes256gcm16", NULL, NULL);
	g_autoptr(ConnConfig) cb = net_conn(&net->b, &net->a, ike, "aes256gcm16", NULL, NULL);

	ike_engine_add_conn(net->b.engine, cb);
	guint32 id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, &error);
	g_assert_no_error(error);
	return id;
}

/* b answers IKE_SA_INIT first and derives the keys after: the answer needs none */
static void
test_keys_after_answer(void)
{
	Net *net = net_new(7);

	initiate_curve25519(net);
	g_autoptr(GPtrArray) sent = ike_engine_steal_actions(net->a.engine);
	IkeAction *request = NULL;
	for (guint i = 0; i < sent->len; i++)
		if (((IkeAction *)sent->pdata[i])->kind == IKE_ACTION_SEND)
			request = sent->pdata[i];
	g_assert_nonnull(request);

	ike_engine_input(net->b.engine, request->datagram, &net->b.addr, &net->a.addr, net->now);
	IkeSa *sb = only_sa(net->b.engine);
	g_assert_nonnull(sb);
	g_assert_null(sb->keymat);
	g_assert_nonnull(sb->peer_ke);
	g_autoptr(GPtrArray) answer = ike_engine_steal_actions(net->b.engine);
	guint sends = 0;
	for (guint i = 0; i < answer->len; i++)
		sends += ((IkeAction *)answer->pdata[i])->kind == IKE_ACTION_SEND;
	g_assert_cmpuint(sends, ==, 1);

	ike_engine_derive_pending(net->b.engine, net->now);
	g_assert_nonnull(sb->keymat);
	g_assert_null(sb->peer_ke);
	g_assert_null(sb->ke); /* the private value goes with the derivation */
	net_free(net);

	/* a driver that never calls ike_engine_derive_pending(): keys with IKE_AUTH */
	net = net_new(8);
	net->lazy_keys = TRUE;
	guint32 id = initiate_curve25519(net);
	net_flush(net);
	assert_ike_pair(net, id);
	net_free(net);
}

/* The initiator's X25519 value replaced by zeros (a small-order point): b answers, then
 * refuses the shared secret and forgets the SA; a's IKE_AUTH finds nobody. */
static gboolean
zero_ke(gpointer data, Packet *p)
{
	IkeSa *sa = data;
	gsize len;
	const guint8 *raw = g_bytes_get_data(p->data, &len);
	const guint8 *pub = sa->ke ? vpnd_ke_get_public(sa->ke) : NULL;
	const guint8 *at = pub ? memmem(raw, len, pub, sa->ke->public_len) : NULL;

	if (at) {
		g_autofree guint8 *copy = g_memdup2(raw, len);
		memset(copy + (at - raw), 0, sa->ke->public_len);
		g_bytes_unref(p->data);
		p->data = g_bytes_new(copy, len);
	}
	return TRUE;
}

static void
test_bad_ke_after_answer(void)
{
	Net *net = net_new(9);
	guint32 id = initiate_curve25519(net);

	net->filter = zero_ke;
	net->filter_data = ike_engine_get_sa(net->a.engine, id);
	net_flush(net);
	g_assert_cmpuint(net->b.sent, ==, 1); /* the IKE_SA_INIT answer, nothing after */
	g_assert_null(only_sa(net->b.engine));
	g_assert_cmpuint(ike_engine_get_counters(net->b.engine)->no_sa, >=, 1);
	net_free(net);
}

int
main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	harness_init();
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path =
			g_strdup_printf("/engine/ikev2/handshake/%s", cases[i].name);

		g_test_add_data_func(path, &cases[i], test_handshake);
	}
	g_test_add_func("/engine/ikev2/handshake/ts-narrowing", test_narrowing);
	g_test_add_func("/engine/ikev2/handshake/forced-encap", test_forced_encap);
	g_test_add_func("/engine/ikev2/handshake/keys-after-answer", test_keys_after_answer);
	g_test_add_func("/engine/ikev2/handshake/bad-ke-after-answer", test_bad_ke_after_answer);
	ret = g_test_run();
	harness_fini();
	return ret;
}
