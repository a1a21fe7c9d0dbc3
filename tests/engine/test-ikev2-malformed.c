/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Malformed input to a running engine: an established pair is fed truncations, bit
 * flips, lying lengths, zero-length SK, foreign SPIs and random bytes. Nothing may crash
 * or change an SA; only an authentic request whose plaintext breaks the rules gets an
 * answer, and that answer is INVALID_SYNTAX (RFC 7296 §3.10.1: only for and in an
 * encrypted message with a valid Message ID and checksum). Afterwards the pair still
 * works (a DPD exchange and a new child).
 */
#include "engine-harness.h"

#define GCM_X25519 "aes256gcm16-prfsha256-curve25519"

typedef struct {
	Net *net;
	ConnConfig *ca, *cb;
	guint32 id_a, id_b;
	guint last_actions; /* actions of the last feed_b() */
} Pair;

typedef struct {
	IkeSaState state;
	guint32 mid_in, mid_out;
	guint children;
	guint log_len;
} Snapshot;

static void
pair_up(Pair *p, const char *ike)
{
	g_autoptr(GError) error = NULL;

	p->net = net_new(99);
	p->ca = net_conn(&p->net->a, &p->net->b, ike, "aes256gcm16", NULL, NULL);
	p->cb = net_conn(&p->net->b, &p->net->a, ike, "aes256gcm16", NULL, NULL);
	ike_engine_add_conn(p->net->b.engine, p->cb);
	p->id_a = ike_engine_initiate(p->net->a.engine, p->ca, NULL, p->net->now, &error);
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

static Snapshot
snap(Peer *peer, guint32 id)
{
	IkeSa *sa = ike_engine_get_sa(peer->engine, id);

	g_assert_nonnull(sa);
	return (Snapshot){ sa->state, sa->mid_in, sa->mid_out, sa->children->len, peer->log->len };
}

static void
assert_unchanged(Peer *peer, guint32 id, const Snapshot *before)
{
	Snapshot now = snap(peer, id);

	g_assert_cmpint(now.state, ==, before->state);
	g_assert_cmpuint(now.mid_in, ==, before->mid_in);
	g_assert_cmpuint(now.mid_out, ==, before->mid_out);
	g_assert_cmpuint(now.children, ==, before->children);
	g_assert_cmpuint(now.log_len, ==, before->log_len);
	g_assert_cmpuint(ike_engine_count_sas(peer->engine), ==, 1);
}

/* Feeds @data to b as if from a; returns how many datagrams b wanted to send. */
static guint
feed_b(Pair *p, const guint8 *data, gsize len)
{
	g_autoptr(GBytes) bytes = g_bytes_new(data, len);
	g_autoptr(GPtrArray) actions = NULL;
	guint sends = 0;

	ike_engine_input(p->net->b.engine, bytes, &p->net->b.addr, &p->net->a.addr, p->net->now);
	actions = ike_engine_steal_actions(p->net->b.engine);
	for (guint i = 0; i < actions->len; i++)
		sends += ((IkeAction *)g_ptr_array_index(actions, i))->kind == IKE_ACTION_SEND;
	p->last_actions = actions->len;
	return sends;
}

/* The n-th datagram a sent (a request of a's). */
static GBytes *
sent_by_a(Pair *p, guint n)
{
	for (guint i = 0; i < p->net->trace->len; i++) {
		Packet *pk = g_ptr_array_index(p->net->trace, i);

		if (pk->to == &p->net->b && n-- == 0)
			return pk->data;
	}
	g_assert_not_reached();
}

/* Every truncation and every single-bit flip of both requests a sent: dropped. */
static void
test_truncated_and_flipped(gconstpointer data)
{
	Pair p = { 0 };

	pair_up(&p, data);
	Snapshot before = snap(&p.net->b, p.id_b);
	for (guint n = 0; n < 2; n++) {
		gsize len;
		const guint8 *orig = g_bytes_get_data(sent_by_a(&p, n), &len);
		g_autofree guint8 *buf = g_memdup2(orig, len);

		for (gsize cut = 0; cut < len; cut++) {
			g_assert_cmpuint(feed_b(&p, buf, cut), ==, 0);
			g_assert_cmpuint(p.last_actions, ==, 0);
		}
		for (gsize i = 0; i < len; i++) {
			for (int bit = 0; bit < 8; bit++) {
				buf[i] ^= (guint8)(1 << bit);
				/* a changed IKE_SA_INIT may be a valid new request: to a new SA */
				guint sends = feed_b(&p, buf, len);
				buf[i] ^= (guint8)(1 << bit);
				/* IKE_AUTH: nothing at all, not even a timer */
				if (n == 1) {
					g_assert_cmpuint(sends, ==, 0);
					g_assert_cmpuint(p.last_actions, ==, 0);
				}
			}
		}
		/* the exact request again is a retransmit: answered from the cache */
		if (n == 1)
			g_assert_cmpuint(feed_b(&p, buf, len), ==, 1);
	}
	/* flipped IKE_SA_INIT requests may open half-open SAs; they are not ours to keep */
	IkeSa *b = ike_engine_get_sa(p.net->b.engine, p.id_b);
	g_assert_cmpint(b->state, ==, before.state);
	g_assert_cmpuint(b->mid_in, ==, before.mid_in);
	g_assert_cmpuint(b->children->len, ==, before.children);
	g_assert_cmpuint(ike_engine_get_counters(p.net->b.engine)->invalid_syntax_sent, ==, 0);
	pair_free(&p);
}

/* Headers that lie, SK of length zero, unknown SPIs, random bytes. */
static void
test_garbage(void)
{
	Pair p = { 0 };
	IkeSa *a;
	GRand *r = g_rand_new_with_seed(1234);

	pair_up(&p, GCM_X25519);
	a = ike_engine_get_sa(p.net->a.engine, p.id_a);
	Snapshot before = snap(&p.net->b, p.id_b);
	guint8 hdr[28 + 4] = { 0 };
	for (int i = 0; i < 8; i++) {
		hdr[i] = (guint8)(a->spi_i >> (56 - 8 * i));
		hdr[8 + i] = (guint8)(a->spi_r >> (56 - 8 * i));
	}
	hdr[16] = IKE_PAYLOAD_SK;
	hdr[17] = 0x20;
	hdr[18] = IKE_EXCHANGE_INFORMATIONAL;
	hdr[19] = IKE_FLAG_INITIATOR;
	hdr[23] = (guint8)a->mid_out;
	/* zero-length SK (4-byte header only) */
	hdr[27] = sizeof(hdr);
	hdr[31] = 4;
	g_assert_cmpuint(feed_b(&p, hdr, sizeof(hdr)), ==, 0);
	/* message length larger / smaller than the datagram */
	hdr[27] = sizeof(hdr) + 8;
	g_assert_cmpuint(feed_b(&p, hdr, sizeof(hdr)), ==, 0);
	hdr[27] = 20;
	g_assert_cmpuint(feed_b(&p, hdr, sizeof(hdr)), ==, 0);
	/* payload length past the end */
	hdr[27] = sizeof(hdr);
	hdr[30] = 0xff;
	g_assert_cmpuint(feed_b(&p, hdr, sizeof(hdr)), ==, 0);
	/* right SPIs and header, random SK body of every length up to 300 */
	for (gsize len = 0; len < 300; len++) {
		guint8 buf[28 + 4 + 300];

		memcpy(buf, hdr, 28);
		buf[24] = buf[25] = 0;
		buf[26] = (guint8)((28 + 4 + len) >> 8);
		buf[27] = (guint8)(28 + 4 + len);
		buf[28] = 0;
		buf[29] = 0;
		buf[30] = (guint8)((4 + len) >> 8);
		buf[31] = (guint8)(4 + len);
		for (gsize i = 0; i < len; i++)
			buf[32 + i] = (guint8)g_rand_int_range(r, 0, 256);
		g_assert_cmpuint(feed_b(&p, buf, 32 + len), ==, 0);
	}
	/* pure noise */
	for (int n = 0; n < 2000; n++) {
		guint8 buf[512];
		gsize len = (gsize)g_rand_int_range(r, 0, sizeof(buf));

		for (gsize i = 0; i < len; i++)
			buf[i] = (guint8)g_rand_int_range(r, 0, 256);
		g_assert_cmpuint(feed_b(&p, buf, len), ==, 0);
		g_assert_cmpuint(p.last_actions, ==, 0);
	}
	assert_unchanged(&p.net->b, p.id_b, &before);
	g_assert_cmpuint(ike_engine_get_counters(p.net->b.engine)->bad_icv, >, 0);
	g_rand_free(r);
	pair_free(&p);
}

static gboolean
zero_random(gpointer data, guint8 *buf, gsize len)
{
	memset(buf, 0x5a, len);
	return TRUE;
}

/*
 * Authentic but against the rules:
 *   INFORMATIONAL SK { Nonce }  -->      <--  INFORMATIONAL SK { N(INVALID_SYNTAX) }
 * The message ID is used up, nothing else changes, and the pair goes on working.
 */
static void
test_invalid_syntax_answered(void)
{
	Pair p = { 0 };

	pair_up(&p, "aes128-sha256-curve25519");
	IkeSa *a = ike_engine_get_sa(p.net->a.engine, p.id_a);
	Snapshot before = snap(&p.net->b, p.id_b);
	IkeHeader h = { .spi_i = a->spi_i,
			.spi_r = a->spi_r,
			.major_version = 2,
			.exchange = IKE_EXCHANGE_INFORMATIONAL,
			.flags = IKE_FLAG_INITIATOR,
			.message_id = a->mid_out };
	g_autoptr(IkeMsg) msg = ike_msg_new(&h);
	guint8 nonce[32] = { 1 };

	ike_msg_add_nonce(msg, TRUE, nonce, sizeof(nonce));
	g_autoptr(GBytes) bytes = ike_keymat_seal(a->keymat, msg, zero_random, NULL);
	g_assert_nonnull(bytes);
	ike_engine_input(p.net->b.engine, bytes, &p.net->b.addr, &p.net->a.addr, p.net->now);
	g_autoptr(GPtrArray) actions = ike_engine_steal_actions(p.net->b.engine);
	g_assert_cmpuint(actions->len, ==, 1);
	IkeAction *send = g_ptr_array_index(actions, 0);
	g_assert_cmpint(send->kind, ==, IKE_ACTION_SEND);

	/* a reads the answer with its keys: one INVALID_SYNTAX notify */
	g_autoptr(IkeMsg) resp = NULL;
	g_assert_cmpint(ike_msg_decode(send->datagram, &resp, NULL), ==, IKE_PARSE_OK);
	g_assert_cmpint(ike_keymat_open(a->keymat, resp, NULL), ==, IKE_OPEN_OK);
	IkePayload *n = ike_msg_find_notify(resp, IKE_NOTIFY_INVALID_SYNTAX);
	g_assert_nonnull(n);
	g_assert_cmpuint(ike_engine_get_counters(p.net->b.engine)->invalid_syntax_sent, ==, 1);

	IkeSa *b = ike_engine_get_sa(p.net->b.engine, p.id_b);
	g_assert_cmpint(b->state, ==, before.state);
	g_assert_cmpuint(b->mid_in, ==, before.mid_in + 1);
	g_assert_cmpuint(b->children->len, ==, before.children);
	g_assert_cmpuint(p.net->b.log->len, ==, before.log_len);

	/* a's next request uses the next ID, and everything still works */
	a->mid_out++;
	g_assert_true(ike_engine_dpd(p.net->a.engine, p.id_a, p.net->now));
	net_flush(p.net);
	g_assert_cmpuint(a->mid_out, ==, before.mid_in + 2);
	g_assert_cmpint(a->state, ==, IKE_SA_STATE_ESTABLISHED);
	pair_free(&p);
}

int
main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_data_func("/engine/ikev2/malformed/truncated-flipped-aead", GCM_X25519,
			     test_truncated_and_flipped);
	g_test_add_data_func("/engine/ikev2/malformed/truncated-flipped-cbc",
			     "aes128-sha256-curve25519", test_truncated_and_flipped);
	g_test_add_func("/engine/ikev2/malformed/garbage", test_garbage);
	g_test_add_func("/engine/ikev2/malformed/invalid-syntax", test_invalid_syntax_answered);
	ret = g_test_run();
	harness_fini();
	return ret;
}
