/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Status notifies: SIGNATURE_HASH_ALGORITHMS (RFC 7427) in IKE_SA_INIT, INITIAL_CONTACT
 * in the first IKE_AUTH to a peer (RFC 7296 §2.4), ESP_TFC_PADDING_NOT_SUPPORTED and
 * USE_TRANSPORT_MODE with child SAs (§1.3.1, §3.10.1).
 *
 *   IKE_SA_INIT { SA, KE, Ni, N(NAT_D)+, N(SIGNATURE_HASH_ALGORITHMS) }  -->
 *              <--  { SA, KE, Nr, N(NAT_D)+, N(SIGNATURE_HASH_ALGORITHMS) }
 *   IKE_AUTH SK { IDi, AUTH, N(INITIAL_CONTACT), SA, TSi, TSr, [N(USE_TRANSPORT_MODE)],
 *                 N(ESP_TFC_PADDING_NOT_SUPPORTED) }  -->
 *              <--  { IDr, AUTH, SA, TSi, TSr, [N(USE_TRANSPORT_MODE)], N(ESP_TFC_…) }
 */
#include "engine-harness.h"
#include "ike_msg.h"

#define GCM_X25519 "aes256gcm16-prfsha256-curve25519"
#define SEC(n) ((gint64)(n)*G_USEC_PER_SEC)

static Net *
connect_pair(guint32 seed, ConnConfig **ca, ConnConfig **cb, guint32 *id)
{
	Net *net = net_new(seed);

	*ca = net_conn(&net->a, &net->b, GCM_X25519, "aes256gcm16", NULL, NULL);
	*cb = net_conn(&net->b, &net->a, GCM_X25519, "aes256gcm16", NULL, NULL);
	ike_engine_add_conn(net->b.engine, *cb);
	*id = ike_engine_initiate(net->a.engine, *ca, NULL, net->now, NULL);
	return net;
}

/* The notify @type's data in the @n-th IKE_SA_INIT message on the wire (nullable). */
static GBytes *
init_notify(Net *net, guint n, guint16 type)
{
	for (guint i = 0; i < net->trace->len; i++) {
		Packet *p = g_ptr_array_index(net->trace, i);
		g_autoptr(IkeMsg) msg = NULL;
		IkePayload *pl;

		if (ike_msg_decode(p->data, &msg, NULL) != IKE_PARSE_OK ||
		    ike_msg_get_header(msg)->exchange != IKE_EXCHANGE_IKE_SA_INIT || n-- > 0)
			continue;
		if (!(pl = ike_msg_find_notify(msg, type)))
			return NULL;
		gsize len;
		const guint8 *d = ike_payload_get_data(pl, &len);
		return g_bytes_new(d, len);
	}
	return NULL;
}

static void
test_signature_hashes(void)
{
	ConnConfig *ca, *cb;
	guint32 id;
	Net *net = connect_pair(61, &ca, &cb, &id);
	static const guint8 want[] = { 0, 2, 0, 3, 0, 4 };

	net_flush(net);
	assert_ike_pair(net, id);
	for (guint n = 0; n < 2; n++) {
		g_autoptr(GBytes) d = init_notify(net, n, IKE_NOTIFY_SIGNATURE_HASH_ALGORITHMS);

		g_assert_nonnull(d);
		g_assert_cmpmem(g_bytes_get_data(d, NULL), g_bytes_get_size(d), want, sizeof(want));
	}
	/* SHA2-256, -384, -512 as bits 2, 3, 4 */
	g_assert_cmphex(ike_engine_get_sa(net->a.engine, id)->peer_hash_algs, ==, 0x1c);
	IkeSa *b = NULL;
	for (guint32 i = 1; i < 8 && !b; i++)
		b = ike_engine_get_sa(net->b.engine, i);
	g_assert_cmphex(b->peer_hash_algs, ==, 0x1c);
	net_free(net);
	conn_config_unref(ca);
	conn_config_unref(cb);
}

static gboolean
drop_all(gpointer data, Packet *p)
{
	return FALSE;
}

/*
 * a forgets its IKE SA (its Delete never arrives), then comes back: its IKE_AUTH carries
 * INITIAL_CONTACT and b removes the stale SA, quietly (no Delete to a dead peer). A
 * second SA while the first is up sends none: b keeps both.
 */
static void
test_initial_contact(void)
{
	ConnConfig *ca, *cb;
	guint32 id;
	Net *net = connect_pair(62, &ca, &cb, &id);

	net_flush(net);
	assert_ike_pair(net, id);
	/* a second SA next to the first: no INITIAL_CONTACT, b has two */
	guint32 id2 = ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
	net_flush(net);
	g_assert_cmpint(ike_engine_get_sa(net->a.engine, id2)->state, ==, IKE_SA_STATE_ESTABLISHED);
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 2);
	/* a loses both without b noticing */
	net->filter = drop_all;
	g_assert_true(ike_engine_delete_ike(net->a.engine, id, net->now));
	g_assert_true(ike_engine_delete_ike(net->a.engine, id2, net->now));
	net_advance(net, net->now + SEC(300));
	g_assert_cmpuint(ike_engine_count_sas(net->a.engine), ==, 0);
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 2);
	net->filter = NULL;
	guint sent_before = net->b.sent;
	guint32 id3 = ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
	net_flush(net);
	g_assert_cmpint(ike_engine_get_sa(net->a.engine, id3)->state, ==, IKE_SA_STATE_ESTABLISHED);
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 1);
	/* b answered IKE_SA_INIT and IKE_AUTH, nothing else (no Delete) */
	g_assert_cmpuint(net->b.sent - sent_before, ==, 2);
	guint replaced = 0;
	for (guint i = 0; i < net->b.log->len; i++) {
		IkeAction *a = g_ptr_array_index(net->b.log, i);

		replaced += a->kind == IKE_ACTION_IKE_UPDOWN && !a->up &&
			    a->reason == IKE_REASON_REPLACED;
	}
	g_assert_cmpuint(replaced, ==, 2);
	IkeAction *up = peer_last(&net->b, IKE_ACTION_IKE_UPDOWN);
	g_assert_true(up->up);
	net_free(net);
	conn_config_unref(ca);
	conn_config_unref(cb);
}

/* The IKE_UPDOWN downs @p saw with @reason. */
static guint
downs(Peer *p, IkeReason reason)
{
	guint n = 0;

	for (guint i = 0; i < p->log->len; i++) {
		IkeAction *a = g_ptr_array_index(p->log, i);

		n += a->kind == IKE_ACTION_IKE_UPDOWN && !a->up && a->reason == reason;
	}
	return n;
}

/*
 * unique = never on b: a comes back after forgetting its IKE SA, with INITIAL_CONTACT,
 * and b keeps the stale SA next to the new one.
 */
static void
test_unique_never(void)
{
	ConnConfig *ca, *cb;
	guint32 id;
	Net *net = connect_pair(63, &ca, &cb, &id);

	cb->unique = CONN_UNIQUE_NEVER;
	net_flush(net);
	assert_ike_pair(net, id);
	net->filter = drop_all;
	g_assert_true(ike_engine_delete_ike(net->a.engine, id, net->now));
	net_advance(net, net->now + SEC(300));
	g_assert_cmpuint(ike_engine_count_sas(net->a.engine), ==, 0);
	net->filter = NULL;
	guint32 id2 = ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
	net_flush(net);
	g_assert_cmpint(ike_engine_get_sa(net->a.engine, id2)->state, ==, IKE_SA_STATE_ESTABLISHED);
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 2);
	g_assert_cmpuint(downs(&net->b, IKE_REASON_REPLACED), ==, 0);
	net_free(net);
	conn_config_unref(ca);
	conn_config_unref(cb);
}

/*
 * unique = replace on b: a second IKE SA from a while the first is up (no
 * INITIAL_CONTACT) makes b delete the first, with a Delete that a answers: one SA a
 * side, the new one.
 */
static void
test_unique_replace(void)
{
	ConnConfig *ca, *cb;
	guint32 id;
	Net *net = connect_pair(64, &ca, &cb, &id);

	cb->unique = CONN_UNIQUE_REPLACE;
	net_flush(net);
	assert_ike_pair(net, id);
	guint32 id2 = ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
	net_flush(net);
	g_assert_cmpuint(ike_engine_count_sas(net->a.engine), ==, 1);
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 1);
	g_assert_null(ike_engine_get_sa(net->a.engine, id));
	g_assert_cmpint(ike_engine_get_sa(net->a.engine, id2)->state, ==, IKE_SA_STATE_ESTABLISHED);
	g_assert_cmpuint(downs(&net->a, IKE_REASON_DELETED_PEER), ==, 1);
	g_assert_cmpuint(downs(&net->b, IKE_REASON_DELETED_LOCAL), ==, 1);
	net_free(net);
	conn_config_unref(ca);
	conn_config_unref(cb);
}

/*
 * The IKE SAs INITIAL_CONTACT retires are found through an index by peer identity: the
 * successor of a rekeyed IKE SA must be in it (it inherits the identity), the SA it
 * replaced must have left it when reaped. b rekeys (responder side of the index), a
 * then forgets everything and comes back.
 */
static void
test_initial_contact_after_rekey(void)
{
	ConnConfig *ca, *cb;
	guint32 id;
	Net *net = connect_pair(63, &ca, &cb, &id);

	net_flush(net);
	assert_ike_pair(net, id);
	guint32 old_b = 0;
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 1);
	for (old_b = 1; !ike_engine_get_sa(net->b.engine, old_b); old_b++)
		;
	g_assert_true(ike_engine_rekey_ike(net->b.engine, old_b, net->now));
	net_flush(net);
	net_advance(net, net->now + SEC(1));
	/* the old SA is gone (reaped), its successor holds the peer identity */
	g_assert_null(ike_engine_get_sa(net->b.engine, old_b));
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 1);
	/* a forgets its SA without b noticing, then comes back */
	net->filter = drop_all;
	g_assert_cmpuint(ike_engine_count_sas(net->a.engine), ==, 1);
	guint32 a_id = 0;
	for (a_id = 1; !ike_engine_get_sa(net->a.engine, a_id); a_id++)
		;
	g_assert_true(ike_engine_delete_ike(net->a.engine, a_id, net->now));
	net_advance(net, net->now + SEC(300));
	g_assert_cmpuint(ike_engine_count_sas(net->a.engine), ==, 0);
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 1);
	net->filter = NULL;
	guint32 id2 = ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
	net_flush(net);
	g_assert_cmpint(ike_engine_get_sa(net->a.engine, id2)->state, ==, IKE_SA_STATE_ESTABLISHED);
	/* the rekeyed SA was found and replaced: b holds only the new one */
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 1);
	IkeAction *down = NULL;
	for (guint i = 0; i < net->b.log->len; i++) {
		IkeAction *a = g_ptr_array_index(net->b.log, i);

		if (a->kind == IKE_ACTION_IKE_UPDOWN && !a->up)
			down = a;
	}
	g_assert_nonnull(down);
	g_assert_cmpint(down->reason, ==, IKE_REASON_REPLACED);
	net_free(net);
	conn_config_unref(ca);
	conn_config_unref(cb);
}

static void
test_tfc(void)
{
	ConnConfig *ca, *cb;
	guint32 id;
	Net *net = connect_pair(63, &ca, &cb, &id);

	net_flush(net);
	assert_ike_pair(net, id);
	ChildSa *c = g_ptr_array_index(ike_engine_get_sa(net->a.engine, id)->children, 0);
	g_assert_true(c->peer_no_tfc);
	IkeSa *b = NULL;
	for (guint32 i = 1; i < 8 && !b; i++)
		b = ike_engine_get_sa(net->b.engine, i);
	g_assert_true(((ChildSa *)g_ptr_array_index(b->children, 0))->peer_no_tfc);
	net_free(net);
	conn_config_unref(ca);
	conn_config_unref(cb);
}

typedef struct {
	VpndIpsecMode a, b, want;
} ModeCase;

static const ModeCase mode_cases[] = {
	{ VPND_MODE_TRANSPORT, VPND_MODE_TRANSPORT, VPND_MODE_TRANSPORT },
	{ VPND_MODE_TRANSPORT, VPND_MODE_TUNNEL, VPND_MODE_TUNNEL },
	{ VPND_MODE_TUNNEL, VPND_MODE_TRANSPORT, VPND_MODE_TUNNEL },
};

/* USE_TRANSPORT_MODE: transport only when both ask for it; then two policy directions. */
static void
test_transport_mode(gconstpointer data)
{
	const ModeCase *tc = data;
	ConnConfig *ca, *cb;
	guint32 id;
	Net *net = net_new(64);

	ca = net_conn(&net->a, &net->b, GCM_X25519, "aes256gcm16", NULL, NULL);
	cb = net_conn(&net->b, &net->a, GCM_X25519, "aes256gcm16", NULL, NULL);
	conn_config_get_child(ca, "net")->mode = tc->a;
	conn_config_get_child(cb, "net")->mode = tc->b;
	ike_engine_add_conn(net->b.engine, cb);
	id = ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
	net_flush(net);
	assert_ike_pair(net, id);
	for (int i = 0; i < 2; i++) {
		Peer *p = i ? &net->b : &net->a;

		g_assert_cmpint(peer_find_sa(p, VPND_DIR_IN, 0)->sa.mode, ==, tc->want);
		g_assert_cmpint(peer_find_sa(p, VPND_DIR_OUT, 0)->sa.mode, ==, tc->want);
		g_assert_cmpuint(peer_count(p, IKE_ACTION_ADD_POLICY), ==,
				 tc->want == VPND_MODE_TRANSPORT ? 2 : 3);
	}
	assert_child_pair(peer_find_sa(&net->a, VPND_DIR_OUT, 0),
			  peer_find_sa(&net->b, VPND_DIR_IN, 0));
	/* a rekey keeps the mode */
	ChildSa *c = g_ptr_array_index(ike_engine_get_sa(net->a.engine, id)->children, 0);
	g_assert_true(ike_engine_rekey_child(net->a.engine, id, c->spi_in, net->now));
	net_flush(net);
	g_assert_cmpint(peer_find_sa(&net->b, VPND_DIR_IN, 1)->sa.mode, ==, tc->want);
	g_assert_cmpint(peer_find_sa(&net->a, VPND_DIR_IN, 1)->sa.mode, ==, tc->want);
	net_free(net);
	conn_config_unref(ca);
	conn_config_unref(cb);
}

int
main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_func("/ikev2/notify/signature-hash-algorithms", test_signature_hashes);
	g_test_add_func("/ikev2/notify/initial-contact", test_initial_contact);
	g_test_add_func("/ikev2/notify/unique-never", test_unique_never);
	g_test_add_func("/ikev2/notify/unique-replace", test_unique_replace);
	g_test_add_func("/ikev2/notify/initial-contact-after-rekey",
			test_initial_contact_after_rekey);
	g_test_add_func("/ikev2/notify/esp-tfc-padding-not-supported", test_tfc);
	g_test_add_data_func("/ikev2/notify/transport-mode/both", &mode_cases[0],
			     test_transport_mode);
	g_test_add_data_func("/ikev2/notify/transport-mode/initiator-only", &mode_cases[1],
			     test_transport_mode);
	g_test_add_data_func("/ikev2/notify/transport-mode/responder-only", &mode_cases[2],
			     test_transport_mode);
	ret = g_test_run();
	harness_fini();
	return ret;
}
