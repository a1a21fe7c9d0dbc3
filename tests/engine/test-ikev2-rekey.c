/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rekeying (RFC 7296 §1.3.2, §1.3.3, §2.8): child SAs and the IKE SA, started by the API,
 * by the engine's own timers and by the kernel's soft expiry; from either side, both
 * sides at once (§2.8.1, §2.8.2), and over a network that loses, duplicates and
 * reorders 30 % of the datagrams. Each case ends with one IKE SA and one child SA a
 * side whose SPIs and keys match.
 *
 *   CREATE_CHILD_SA SK { N(REKEY_SA, spi), SA, Ni, [KEi], TSi, TSr }  -->
 *                  <--  CREATE_CHILD_SA SK { SA, Nr, [KEr], TSi, TSr }
 *   INFORMATIONAL SK { D(ESP, old spi) }  -->
 *                  <--  INFORMATIONAL SK { D(ESP, old spi') }
 *
 *   CREATE_CHILD_SA SK { SA(IKE, SPIi'), Ni, KEi }  -->
 *                  <--  CREATE_CHILD_SA SK { SA(IKE, SPIr'), Nr, KEr }
 *   INFORMATIONAL SK { D(IKE) }  -->   (old IKE SA)
 *                  <--  INFORMATIONAL SK { }
 */
#include "engine-harness.h"

#define IKE_PROPS "aes256gcm16-prfsha256-curve25519"
#define SEC(n) ((gint64)(n)*G_USEC_PER_SEC)

typedef struct {
	Net *net;
	ConnConfig *ca, *cb;
	guint32 id_a, id_b;
} Pair;

/* The one IKE SA of @p's engine. */
static IkeSa *
only_sa(Peer *p)
{
	IkeSa *found = NULL;

	g_assert_cmpuint(ike_engine_count_sas(p->engine), ==, 1);
	for (guint32 id = 1; id < 256 && !found; id++)
		found = ike_engine_get_sa(p->engine, id);
	g_assert_nonnull(found);
	return found;
}

static void
pair_up(Pair *p, guint32 seed, const char *esp)
{
	g_autoptr(GError) error = NULL;

	p->net = net_new(seed);
	p->ca = net_conn(&p->net->a, &p->net->b, IKE_PROPS, esp, NULL, NULL);
	p->cb = net_conn(&p->net->b, &p->net->a, IKE_PROPS, esp, NULL, NULL);
	ike_engine_add_conn(p->net->b.engine, p->cb);
	p->id_a = ike_engine_initiate(p->net->a.engine, p->ca, "net", p->net->now, &error);
	g_assert_no_error(error);
	net_flush(p->net);
	assert_ike_pair(p->net, p->id_a);
	p->id_b = only_sa(&p->net->b)->id;
}

static void
pair_free(Pair *p)
{
	net_free(p->net);
	conn_config_unref(p->ca);
	conn_config_unref(p->cb);
}

/* The ADD_SA @p gave its kernel for SPI @spi. */
static IkeAction *
find_add_sa(Peer *p, guint32 spi)
{
	for (guint n = 0; n < peer_count(p, IKE_ACTION_ADD_SA); n++) {
		IkeAction *a = peer_find(p, IKE_ACTION_ADD_SA, n);

		if (a->sa.spi == spi)
			return a;
	}
	g_assert_not_reached();
}

/* One IKE SA a side, established, same SPIs; one child a side with matching SPIs and
 * keys. Returns a's child. */
static ChildSa *
assert_settled(Pair *p)
{
	IkeSa *a = only_sa(&p->net->a), *b = only_sa(&p->net->b);

	g_assert_cmpint(a->state, ==, IKE_SA_STATE_ESTABLISHED);
	g_assert_cmpint(b->state, ==, IKE_SA_STATE_ESTABLISHED);
	g_assert_cmpuint(a->spi_i, ==, b->spi_i);
	g_assert_cmpuint(a->spi_r, ==, b->spi_r);
	g_assert_cmpuint(a->children->len, ==, 1);
	g_assert_cmpuint(b->children->len, ==, 1);
	ChildSa *ca = g_ptr_array_index(a->children, 0), *cb = g_ptr_array_index(b->children, 0);
	g_assert_cmpint(ca->state, ==, CHILD_SA_STATE_INSTALLED);
	g_assert_cmpint(cb->state, ==, CHILD_SA_STATE_INSTALLED);
	g_assert_cmpuint(ca->spi_in, ==, cb->spi_out);
	g_assert_cmpuint(ca->spi_out, ==, cb->spi_in);
	g_assert_cmpuint(ca->reqid, !=, 0);
	/* the keys each side gave its kernel pair up; the engines kept none */
	assert_child_pair(find_add_sa(&p->net->a, ca->spi_out), find_add_sa(&p->net->b, cb->spi_in));
	assert_child_pair(find_add_sa(&p->net->b, cb->spi_out), find_add_sa(&p->net->a, ca->spi_in));
	g_assert_true(!ca->encr_in && !ca->integ_in && !ca->encr_out && !ca->integ_out);
	g_assert_true(!cb->encr_in && !cb->integ_in && !cb->encr_out && !cb->integ_out);
	g_assert_null(a->request);
	g_assert_null(b->request);
	return ca;
}

/* Rekeys are not up/down: the log has exactly one child up and no child down. */
static void
assert_no_updown(Peer *p)
{
	g_assert_cmpuint(peer_count(p, IKE_ACTION_CHILD_UPDOWN), ==, 1);
	g_assert_true(peer_find(p, IKE_ACTION_CHILD_UPDOWN, 0)->up);
	g_assert_cmpuint(peer_count(p, IKE_ACTION_IKE_UPDOWN), ==, 1);
	g_assert_true(peer_find(p, IKE_ACTION_IKE_UPDOWN, 0)->up);
}

/* Policies stay: installed once (3 directions), never removed. */
static void
assert_policies_kept(Peer *p)
{
	g_assert_cmpuint(peer_count(p, IKE_ACTION_ADD_POLICY), ==, 3);
	g_assert_cmpuint(peer_count(p, IKE_ACTION_DEL_POLICY), ==, 0);
}

typedef struct {
	const char *esp;
	gboolean from_b;
} ChildCase;

static const ChildCase child_cases[] = {
	{ "aes256gcm16", FALSE },
	{ "aes256gcm16", TRUE },
	{ "aes128-sha256-ecp256", FALSE }, /* PFS */
	{ "aes128gcm16-curve25519", TRUE }, /* PFS */
};

static void
test_child_rekey(gconstpointer data)
{
	const ChildCase *tc = data;
	Pair p = { 0 };

	pair_up(&p, 31, tc->esp);
	Peer *self = tc->from_b ? &p.net->b : &p.net->a, *other = tc->from_b ? &p.net->a : &p.net->b;
	IkeSa *sa = only_sa(self);
	ChildSa *old = g_ptr_array_index(sa->children, 0);
	guint32 old_in = old->spi_in, old_out = old->spi_out, reqid = old->reqid;

	g_assert_true(ike_engine_rekey_child(self->engine, sa->id, old_in, p.net->now));
	net_flush(p.net);
	ChildSa *c = assert_settled(&p);
	ChildSa *mine = g_ptr_array_index(only_sa(self)->children, 0);
	g_assert_cmpuint(mine->spi_in, !=, old_in);
	g_assert_cmpuint(mine->spi_out, !=, old_out);
	g_assert_cmpuint(mine->reqid, ==, reqid);
	/* the new child is the second one installed on that side: listings show id 2 */
	g_assert_cmpuint(mine->unique_id, ==, 2);
	g_assert_cmpint(mine->installed_at, ==, p.net->now);
	g_assert_cmpuint(c->alg.ke, ==, strstr(tc->esp, "ecp256") ? VPND_KE_ECP_256
				      : strstr(tc->esp, "curve") ? VPND_KE_CURVE25519
								 : 0);
	for (int i = 0; i < 2; i++) {
		Peer *peer = i ? other : self;
		IkeAction *ev = peer_last(peer, IKE_ACTION_CHILD_REKEY);

		g_assert_nonnull(ev);
		g_assert_cmpuint(peer_count(peer, IKE_ACTION_CHILD_REKEY), ==, 1);
		g_assert_cmpstr(ev->child_name, ==, "net");
		g_assert_cmpuint(ev->old_spi_in, ==, i ? old_out : old_in);
		g_assert_cmpuint(ev->old_spi_out, ==, i ? old_in : old_out);
		assert_no_updown(peer);
		assert_policies_kept(peer);
		/* new SAs before the old ones go: 4 added, then the old 2 deleted */
		g_assert_cmpuint(peer_count(peer, IKE_ACTION_ADD_SA), ==, 4);
		g_assert_cmpuint(peer_count(peer, IKE_ACTION_DEL_SA), ==, 2);
		g_assert_cmpuint(peer_find(peer, IKE_ACTION_DEL_SA, 0)->sa_key.spi, ==,
				 i ? old_out : old_in);
	}
	/* the kernel's view: the new SAs carry the same keys on both sides */
	assert_child_pair(peer_find_sa(self, VPND_DIR_OUT, 1), peer_find_sa(other, VPND_DIR_IN, 1));
	assert_child_pair(peer_find_sa(other, VPND_DIR_OUT, 1), peer_find_sa(self, VPND_DIR_IN, 1));
	/* and they are new keys */
	IkeAction *first = peer_find_sa(self, VPND_DIR_OUT, 0), *second = peer_find_sa(self, VPND_DIR_OUT, 1);
	g_assert_true(memcmp(first->sa.encr_key, second->sa.encr_key, first->sa.encr_key_len));
	pair_free(&p);
}

/* rekey_time 100 s, life_time 120 s: the engine rekeys by itself, again and again. */
static void
test_child_rekey_timer(void)
{
	Pair p = { 0 };
	ChildConfig *child;

	pair_up(&p, 32, "aes256gcm16");
	/* both sides configure it; the first timer to fire starts the rekey */
	for (int i = 0; i < 2; i++) {
		child = conn_config_get_child(i ? p.cb : p.ca, "net");
		child->rekey_time = 100;
		child->life_time = 120;
	}
	/* the lifetimes are taken when a child is installed: rekey once by hand first */
	ChildSa *c = g_ptr_array_index(only_sa(&p.net->a)->children, 0);
	g_assert_true(ike_engine_rekey_child(p.net->a.engine, p.id_a, c->spi_in, p.net->now));
	net_flush(p.net);
	c = assert_settled(&p);
	g_assert_cmpint(c->rekey_at, >, p.net->now + SEC(80));
	g_assert_cmpint(c->rekey_at, <=, p.net->now + SEC(100));
	g_assert_cmpint(c->expire_at, ==, p.net->now + SEC(120));
	/* the kernel gets life_time as the hard limit, with a margin */
	g_assert_cmpuint(peer_last(&p.net->a, IKE_ACTION_ADD_SA)->sa.hard.seconds, ==, 150);
	g_assert_cmpuint(peer_find_sa(&p.net->a, VPND_DIR_OUT, 0)->sa.hard.seconds, ==, 0);
	/* 1000 s: at least 9 more rekeys, never an expiry */
	net_advance(p.net, p.net->now + SEC(1000));
	assert_settled(&p);
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_CHILD_REKEY), >=, 10);
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_CHILD_REKEY), ==,
			 peer_count(&p.net->b, IKE_ACTION_CHILD_REKEY));
	assert_no_updown(&p.net->a);
	assert_no_updown(&p.net->b);
	assert_policies_kept(&p.net->a);
	assert_policies_kept(&p.net->b);
	pair_free(&p);
}

/* life_time not after rekey_time: the child is still rekeyed, a tenth before its end. */
static void
test_child_life_before_rekey(void)
{
	Pair p = { 0 };

	pair_up(&p, 34, "aes256gcm16");
	for (int i = 0; i < 2; i++) {
		ChildConfig *child = conn_config_get_child(i ? p.cb : p.ca, "net");

		child->rekey_time = 100;
		child->life_time = 50;
	}
	ChildSa *c = g_ptr_array_index(only_sa(&p.net->a)->children, 0);
	g_assert_true(ike_engine_rekey_child(p.net->a.engine, p.id_a, c->spi_in, p.net->now));
	net_flush(p.net);
	c = assert_settled(&p);
	g_assert_cmpint(c->rekey_at, <, c->expire_at);
	net_advance(p.net, p.net->now + SEC(200));
	assert_settled(&p);
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_CHILD_REKEY), >=, 4);
	assert_no_updown(&p.net->a);
	assert_no_updown(&p.net->b);
	pair_free(&p);
}

/* The kernel's soft expiry rekeys; its hard expiry deletes (on both sides). */
static void
test_child_kernel_expire(void)
{
	Pair p = { 0 };

	pair_up(&p, 33, "aes256gcm16");
	ChildSa *c = g_ptr_array_index(only_sa(&p.net->a)->children, 0);
	guint32 out = c->spi_out;
	g_assert_true(ike_engine_child_expired(p.net->a.engine, out, FALSE, p.net->now));
	net_flush(p.net);
	c = assert_settled(&p);
	g_assert_cmpuint(c->spi_out, !=, out);
	g_assert_cmpuint(peer_count(&p.net->b, IKE_ACTION_CHILD_REKEY), ==, 1);
	g_assert_false(ike_engine_child_expired(p.net->a.engine, out, TRUE, p.net->now));
	g_assert_true(ike_engine_child_expired(p.net->a.engine, c->spi_in, TRUE, p.net->now));
	net_flush(p.net);
	g_assert_cmpuint(only_sa(&p.net->a)->children->len, ==, 0);
	g_assert_cmpuint(only_sa(&p.net->b)->children->len, ==, 0);
	g_assert_false(peer_last(&p.net->a, IKE_ACTION_CHILD_UPDOWN)->up);
	g_assert_false(peer_last(&p.net->b, IKE_ACTION_CHILD_UPDOWN)->up);
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_DEL_POLICY), ==, 3);
	pair_free(&p);
}

/*
 * Both sides rekey the same child at once (§2.8.1):
 *   a: CREATE_CHILD_SA { N(REKEY_SA), SA, Na_i, … }  -->  <--  { N(REKEY_SA), SA, Nb_i, … } :b
 *   both answer; the exchange with the lowest nonce made the redundant child, its
 *   initiator deletes that one, the other side deletes the old child.
 * Over seeds both sides win sometimes.
 */
static void
test_child_collision(void)
{
	guint a_won = 0, b_won = 0;

	for (guint32 seed = 1; seed <= 12; seed++) {
		Pair p = { 0 };

		pair_up(&p, 100 + seed, seed % 2 ? "aes256gcm16" : "aes128-sha256-curve25519");
		ChildSa *ca = g_ptr_array_index(only_sa(&p.net->a)->children, 0);
		ChildSa *cb = g_ptr_array_index(only_sa(&p.net->b)->children, 0);
		g_assert_true(ike_engine_rekey_child(p.net->a.engine, p.id_a, ca->spi_in, p.net->now));
		g_assert_true(ike_engine_rekey_child(p.net->b.engine, p.id_b, cb->spi_in, p.net->now));
		net_flush(p.net);
		ChildSa *c = assert_settled(&p);
		/* both new children were reported, one of them then went quietly */
		g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_CHILD_REKEY), ==, 2);
		g_assert_cmpuint(peer_count(&p.net->b, IKE_ACTION_CHILD_REKEY), ==, 2);
		g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_ADD_SA), ==, 6);
		g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_DEL_SA), ==, 4);
		assert_no_updown(&p.net->a);
		assert_no_updown(&p.net->b);
		assert_policies_kept(&p.net->a);
		assert_policies_kept(&p.net->b);
		/* whose exchange made the survivor: a's made it if a's CHILD_REKEY for it came
		 * from a's own request, i.e. the survivor's inbound SPI was allocated by a first */
		IkeAction *first = peer_find(&p.net->a, IKE_ACTION_CHILD_REKEY, 0);
		IkeAction *second = peer_find(&p.net->a, IKE_ACTION_CHILD_REKEY, 1);
		g_assert_true(c->spi_in == first->spi_in || c->spi_in == second->spi_in);
		if (c->spi_in == first->spi_in)
			b_won++; /* a answered b's request first: b's exchange made it */
		else
			a_won++;
		pair_free(&p);
	}
	g_test_message("collisions: a's child survived %u times, b's %u times", a_won, b_won);
	g_assert_cmpuint(a_won, >, 0);
	g_assert_cmpuint(b_won, >, 0);
}

static void
lossy(Net *net)
{
	net->loss = 0.3;
	net->dup = 0.3;
	net->reorder = 0.3;
}

/* A child rekey, then an IKE rekey, over 30 % loss, duplication and reordering. */
static void
test_lossy(gconstpointer data)
{
	guint32 seed = GPOINTER_TO_UINT(data);
	Pair p = { 0 };

	pair_up(&p, seed, "aes128-sha256-ecp256");
	lossy(p.net);
	ChildSa *c = g_ptr_array_index(only_sa(&p.net->a)->children, 0);
	guint32 old_in = c->spi_in;
	g_assert_true(ike_engine_rekey_child(p.net->a.engine, p.id_a, old_in, p.net->now));
	net_advance(p.net, p.net->now + SEC(400));
	c = assert_settled(&p);
	g_assert_cmpuint(c->spi_in, !=, old_in);
	g_assert_true(ike_engine_rekey_ike(p.net->a.engine, only_sa(&p.net->a)->id, p.net->now));
	net_advance(p.net, p.net->now + SEC(400));
	assert_settled(&p);
	g_assert_cmpuint(only_sa(&p.net->a)->id, !=, p.id_a);
	g_test_message("seed %u: %u lost, %u duplicated, %u reordered", seed, p.net->dropped,
		       p.net->duplicated, p.net->reordered);
	pair_free(&p);
}

/* Both sides rekey the child, then both the IKE SA, over the same bad network. */
static void
test_lossy_collision(gconstpointer data)
{
	guint32 seed = GPOINTER_TO_UINT(data);
	Pair p = { 0 };

	pair_up(&p, seed, "aes256gcm16");
	lossy(p.net);
	ChildSa *ca = g_ptr_array_index(only_sa(&p.net->a)->children, 0);
	ChildSa *cb = g_ptr_array_index(only_sa(&p.net->b)->children, 0);
	g_assert_true(ike_engine_rekey_child(p.net->a.engine, p.id_a, ca->spi_in, p.net->now));
	g_assert_true(ike_engine_rekey_child(p.net->b.engine, p.id_b, cb->spi_in, p.net->now));
	net_advance(p.net, p.net->now + SEC(400));
	assert_settled(&p);
	g_assert_true(ike_engine_rekey_ike(p.net->a.engine, only_sa(&p.net->a)->id, p.net->now));
	g_assert_true(ike_engine_rekey_ike(p.net->b.engine, only_sa(&p.net->b)->id, p.net->now));
	net_advance(p.net, p.net->now + SEC(400));
	assert_settled(&p);
	assert_no_updown(&p.net->a);
	assert_no_updown(&p.net->b);
	assert_policies_kept(&p.net->a);
	assert_policies_kept(&p.net->b);
	pair_free(&p);
}

typedef struct {
	gboolean from_b;
	const char *ike; /* the new proposals (NULL: unchanged) */
} IkeCase;

static const IkeCase ike_cases[] = {
	{ FALSE, NULL },
	{ TRUE, NULL },
};

static void
test_ike_rekey(gconstpointer data)
{
	const IkeCase *tc = data;
	Pair p = { 0 };

	pair_up(&p, 41, "aes256gcm16");
	IkeSa *a = only_sa(&p.net->a), *b = only_sa(&p.net->b);
	guint64 spi_i = a->spi_i, spi_r = a->spi_r;
	guint32 old_a = a->id, old_b = b->id;
	ChildSa *c = g_ptr_array_index(a->children, 0);
	guint32 child_in = c->spi_in;

	g_assert_true(ike_engine_rekey_ike(tc->from_b ? p.net->b.engine : p.net->a.engine,
					   tc->from_b ? old_b : old_a, p.net->now));
	net_flush(p.net);
	c = assert_settled(&p);
	a = only_sa(&p.net->a);
	b = only_sa(&p.net->b);
	/* new SPIs; the child moved over unchanged; message IDs start again */
	g_assert_cmpuint(a->spi_i, !=, spi_i);
	g_assert_cmpuint(a->spi_r, !=, spi_r);
	g_assert_cmpuint(a->id, !=, old_a);
	g_assert_cmpuint(c->spi_in, ==, child_in);
	g_assert_true(c->ike_sa == a);
	g_assert_true(a->initiator == !tc->from_b);
	g_assert_true(b->initiator == tc->from_b);
	for (int i = 0; i < 2; i++) {
		Peer *peer = i ? &p.net->b : &p.net->a;
		IkeAction *ev = peer_last(peer, IKE_ACTION_IKE_REKEY);

		g_assert_nonnull(ev);
		g_assert_cmpuint(ev->ike_sa_id, ==, i ? old_b : old_a);
		g_assert_cmpuint(ev->new_ike_sa_id, ==, i ? b->id : a->id);
		assert_no_updown(peer);
		assert_policies_kept(peer);
		g_assert_cmpuint(peer_count(peer, IKE_ACTION_DEL_SA), ==, 0);
	}
	/* the new SA works: its SK_d makes matching child keys, its messages decrypt */
	g_assert_true(ike_engine_rekey_child(p.net->a.engine, a->id, child_in, p.net->now));
	net_flush(p.net);
	assert_settled(&p);
	assert_child_pair(peer_find_sa(&p.net->a, VPND_DIR_OUT, 1),
			  peer_find_sa(&p.net->b, VPND_DIR_IN, 1));
	g_assert_true(ike_engine_dpd(p.net->b.engine, only_sa(&p.net->b)->id, p.net->now));
	net_flush(p.net);
	assert_settled(&p);
	pair_free(&p);
}

/*
 * The responder wants another group: INVALID_KE_PAYLOAD, then a new exchange with it.
 *   CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi(ecp256), … }  -->
 *                  <--  { N(INVALID_KE_PAYLOAD, curve25519) }
 *   CREATE_CHILD_SA { N(REKEY_SA), SA, Ni', KEi(curve25519), … }  -->   (next message ID)
 * and the same for the IKE SA once b prefers ecp256.
 */
static void
test_invalid_ke(void)
{
	g_autoptr(GError) error = NULL;
	Pair p = { 0 };

	p.net = net_new(43);
	p.ca = net_conn(&p.net->a, &p.net->b, "aes128gcm16-prfsha256-curve25519-ecp256",
			"aes128gcm16-ecp256-curve25519", NULL, NULL);
	p.cb = net_conn(&p.net->b, &p.net->a, "aes128gcm16-prfsha256-curve25519-ecp256",
			"aes128gcm16-curve25519", NULL, NULL);
	ike_engine_add_conn(p.net->b.engine, p.cb);
	p.id_a = ike_engine_initiate(p.net->a.engine, p.ca, "net", p.net->now, &error);
	g_assert_no_error(error);
	net_flush(p.net);
	IkeSa *a = only_sa(&p.net->a);
	ChildSa *c = g_ptr_array_index(a->children, 0);
	g_assert_true(ike_engine_rekey_child(p.net->a.engine, a->id, c->spi_in, p.net->now));
	net_flush(p.net);
	c = assert_settled(&p);
	g_assert_cmpuint(c->alg.ke, ==, VPND_KE_CURVE25519);
	/* IKE_AUTH 1, two CREATE_CHILD_SA 2 and 3, the Delete 4 */
	g_assert_cmpuint(only_sa(&p.net->a)->mid_out, ==, 5);
	g_assert_cmpuint(only_sa(&p.net->b)->mid_in, ==, 5);
	/* now b wants ecp256 for IKE SAs */
	g_ptr_array_set_size(p.cb->ike_proposals, 0);
	g_ptr_array_extend_and_steal(p.cb->ike_proposals,
				     proposal_parse_list(PROPOSAL_PROTO_IKE,
							 "aes128gcm16-prfsha256-ecp256", NULL));
	g_assert_true(ike_engine_rekey_ike(p.net->a.engine, only_sa(&p.net->a)->id, p.net->now));
	net_flush(p.net);
	assert_settled(&p);
	g_assert_cmpuint(only_sa(&p.net->a)->alg.ke, ==, VPND_KE_ECP_256);
	g_assert_cmpuint(only_sa(&p.net->b)->alg.ke, ==, VPND_KE_ECP_256);
	pair_free(&p);
}

/* A child rekey queued behind an IKE rekey runs on the new IKE SA. */
static void
test_ike_then_child(void)
{
	Pair p = { 0 };

	pair_up(&p, 44, "aes256gcm16");
	ChildSa *c = g_ptr_array_index(only_sa(&p.net->a)->children, 0);
	guint32 old_in = c->spi_in;
	g_assert_true(ike_engine_rekey_ike(p.net->a.engine, p.id_a, p.net->now));
	g_assert_true(ike_engine_rekey_child(p.net->a.engine, p.id_a, old_in, p.net->now));
	net_flush(p.net);
	c = assert_settled(&p);
	g_assert_cmpuint(c->spi_in, !=, old_in);
	g_assert_true(c->ike_sa != NULL && c->ike_sa->id != p.id_a);
	for (int i = 0; i < 2; i++) {
		Peer *peer = i ? &p.net->b : &p.net->a;

		g_assert_cmpuint(peer_count(peer, IKE_ACTION_IKE_REKEY), ==, 1);
		g_assert_cmpuint(peer_count(peer, IKE_ACTION_CHILD_REKEY), ==, 1);
		assert_no_updown(peer);
	}
	/* the child rekey went over the new IKE SA: its first request */
	g_assert_cmpuint(only_sa(&p.net->a)->mid_out, ==, 2); /* CREATE_CHILD_SA, Delete */
	pair_free(&p);
}

/*
 * b's child rekey is in flight when a's IKE rekey arrives: b answers TEMPORARY_FAILURE
 * (its exchange would end on an SA whose children left), a tries again seconds later.
 */
static void
test_ike_rekey_busy(void)
{
	Pair p = { 0 };

	pair_up(&p, 45, "aes256gcm16");
	ChildSa *cb = g_ptr_array_index(only_sa(&p.net->b)->children, 0);
	g_assert_true(ike_engine_rekey_child(p.net->b.engine, p.id_b, cb->spi_in, p.net->now));
	g_assert_true(ike_engine_rekey_ike(p.net->a.engine, p.id_a, p.net->now));
	net_flush(p.net);
	/* the child rekey is done, the IKE rekey waits */
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_CHILD_REKEY), ==, 1);
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_IKE_REKEY), ==, 0);
	IkeSa *a = only_sa(&p.net->a);
	g_assert_cmpint(a->timers[IKE_TIMER_REKEY], >=, p.net->now + SEC(2));
	g_assert_cmpint(a->timers[IKE_TIMER_REKEY], <=, p.net->now + SEC(10));
	net_advance(p.net, p.net->now + SEC(30));
	assert_settled(&p);
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_IKE_REKEY), ==, 1);
	g_assert_cmpuint(peer_count(&p.net->b, IKE_ACTION_IKE_REKEY), ==, 1);
	assert_no_updown(&p.net->a);
	assert_no_updown(&p.net->b);
	pair_free(&p);
}

/*
 * rekey_time 2 s (life_time by default 10 % more: 2.2 s, not 2 s), and rekey_time 100 s
 * with a life_time of 60 s: in both the rekey comes before the expiry, so the child is
 * rekeyed, never deleted.
 */
static void
test_child_rekey_short(void)
{
	const guint rekey[] = { 2, 100 }, life[] = { 0, 60 };

	for (int k = 0; k < 2; k++) {
		Pair p = { 0 };

		pair_up(&p, 32, "aes256gcm16");
		for (int i = 0; i < 2; i++) {
			ChildConfig *child = conn_config_get_child(i ? p.cb : p.ca, "net");
			child->rekey_time = rekey[k];
			child->life_time = life[k];
		}
		ChildSa *c = g_ptr_array_index(only_sa(&p.net->a)->children, 0);
		g_assert_true(ike_engine_rekey_child(p.net->a.engine, p.id_a, c->spi_in, p.net->now));
		net_flush(p.net);
		c = assert_settled(&p);
		g_assert_cmpint(c->rekey_at, <, c->expire_at);
		net_advance(p.net, p.net->now + SEC(10 * (life[k] ? life[k] : rekey[k])));
		assert_settled(&p);
		g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_CHILD_REKEY), >=, 8);
		assert_no_updown(&p.net->a);
		assert_no_updown(&p.net->b);
		pair_free(&p);
	}
}

/* rekey_time 300 s: the engine rekeys the IKE SA by itself, more than once. */
static void
test_ike_rekey_timer(void)
{
	Pair p = { 0 };

	p.net = net_new(42);
	p.ca = net_conn(&p.net->a, &p.net->b, IKE_PROPS, "aes256gcm16", NULL, NULL);
	p.cb = net_conn(&p.net->b, &p.net->a, IKE_PROPS, "aes256gcm16", NULL, NULL);
	p.ca->rekey_time = p.cb->rekey_time = 300;
	ike_engine_add_conn(p.net->b.engine, p.cb);
	p.id_a = ike_engine_initiate(p.net->a.engine, p.ca, "net", p.net->now, NULL);
	net_flush(p.net);
	IkeSa *a = only_sa(&p.net->a);
	g_assert_cmpint(a->rekey_at, >, p.net->now + SEC(269));
	g_assert_cmpint(a->expire_at, ==, p.net->now + SEC(330));
	net_advance(p.net, p.net->now + SEC(1000));
	assert_settled(&p);
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_IKE_REKEY), >=, 3);
	g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_IKE_REKEY), ==,
			 peer_count(&p.net->b, IKE_ACTION_IKE_REKEY));
	assert_no_updown(&p.net->a);
	assert_no_updown(&p.net->b);
	pair_free(&p);
}

/* Both sides rekey the IKE SA at once (§2.8.2): one new IKE SA survives, with the child. */
static void
test_ike_collision(void)
{
	guint won[2] = { 0 };

	for (guint32 seed = 1; seed <= 8; seed++) {
		Pair p = { 0 };

		pair_up(&p, 200 + seed, "aes256gcm16");
		g_assert_true(ike_engine_rekey_ike(p.net->a.engine, p.id_a, p.net->now));
		g_assert_true(ike_engine_rekey_ike(p.net->b.engine, p.id_b, p.net->now));
		net_flush(p.net);
		assert_settled(&p);
		IkeSa *a = only_sa(&p.net->a);
		g_assert_cmpuint(peer_count(&p.net->a, IKE_ACTION_IKE_REKEY), ==, 1);
		g_assert_cmpuint(peer_count(&p.net->b, IKE_ACTION_IKE_REKEY), ==, 1);
		assert_no_updown(&p.net->a);
		assert_no_updown(&p.net->b);
		won[a->initiator ? 0 : 1]++;
		/* it carries on: a child rekey over the survivor */
		ChildSa *c = g_ptr_array_index(a->children, 0);
		g_assert_true(ike_engine_rekey_child(p.net->a.engine, a->id, c->spi_in, p.net->now));
		net_flush(p.net);
		assert_settled(&p);
		pair_free(&p);
	}
	g_test_message("IKE collisions: a's SA survived %u times, b's %u times", won[0], won[1]);
	g_assert_cmpuint(won[0], >, 0);
	g_assert_cmpuint(won[1], >, 0);
}

int
main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	harness_init();
	for (gsize i = 0; i < G_N_ELEMENTS(child_cases); i++) {
		g_autofree char *path = g_strdup_printf("/ikev2/rekey/child/%s/%s",
							child_cases[i].esp,
							child_cases[i].from_b ? "responder" : "initiator");
		g_test_add_data_func(path, &child_cases[i], test_child_rekey);
	}
	g_test_add_func("/ikev2/rekey/child/timer", test_child_rekey_timer);
	g_test_add_func("/ikev2/rekey/child/short", test_child_rekey_short);
	g_test_add_func("/ikev2/rekey/child/kernel-expire", test_child_kernel_expire);
	g_test_add_func("/ikev2/rekey/child/life-before-rekey", test_child_life_before_rekey);
	g_test_add_func("/ikev2/rekey/child/collision", test_child_collision);
	for (gsize i = 0; i < G_N_ELEMENTS(ike_cases); i++) {
		g_autofree char *path = g_strdup_printf(
			"/ikev2/rekey/ike/%s", ike_cases[i].from_b ? "responder" : "initiator");
		g_test_add_data_func(path, &ike_cases[i], test_ike_rekey);
	}
	g_test_add_func("/ikev2/rekey/ike/timer", test_ike_rekey_timer);
	g_test_add_func("/ikev2/rekey/invalid-ke", test_invalid_ke);
	g_test_add_func("/ikev2/rekey/ike/then-child", test_ike_then_child);
	g_test_add_func("/ikev2/rekey/ike/busy", test_ike_rekey_busy);
	g_test_add_func("/ikev2/rekey/ike/collision", test_ike_collision);
	for (guint32 seed = 1; seed <= 10; seed++) {
		g_autofree char *path = g_strdup_printf("/ikev2/rekey/lossy/%u", seed);
		g_test_add_data_func(path, GUINT_TO_POINTER(seed * 7717), test_lossy);
		g_autofree char *path2 = g_strdup_printf("/ikev2/rekey/lossy-collision/%u", seed);
		g_test_add_data_func(path2, GUINT_TO_POINTER(seed * 6007), test_lossy_collision);
	}
	ret = g_test_run();
	harness_fini();
	return ret;
}
