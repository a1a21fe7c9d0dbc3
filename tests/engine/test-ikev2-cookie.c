/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Responder COOKIEs (RFC 7296 §2.6): once half-open SAs reach the threshold, an
 * IKE_SA_INIT without our cookie gets a stateless answer, and the initiator comes back
 * with it:
 *
 *   IKE_SA_INIT { SA, KE, Ni, N(NAT_D)+ }  -->
 *              <--  IKE_SA_INIT { N(COOKIE) }            (no state kept)
 *   IKE_SA_INIT { N(COOKIE), SA, KE, Ni, N(NAT_D)+ }  -->
 *              <--  IKE_SA_INIT { SA, KE, Nr, N(NAT_D)+ }
 *
 * Cookies are HMACs under a rotating secret; the previous secret is still accepted.
 */
#include <sys/socket.h>

#include "engine-harness.h"
#include "ike_cookie.h"
#include "ike_msg.h"

#define GCM_X25519 "aes256gcm16-prfsha256-curve25519"
#define SEC(n) ((gint64)(n)*G_USEC_PER_SEC)

typedef struct {
	Net *net;
	ConnConfig *ca, *cb;
	gboolean drop_to_a;
	gboolean forge; /* flip a byte of the next cookie a sends back */
	guint forged;
} Load;

static gboolean
filter(gpointer data, Packet *p)
{
	Load *l = data;
	g_autoptr(IkeMsg) msg = NULL;
	IkePayload *n;

	if (l->drop_to_a && p->to == &l->net->a)
		return FALSE;
	if (!l->forge || p->to != &l->net->b ||
	    ike_msg_decode(p->data, &msg, NULL) != IKE_PARSE_OK ||
	    !(n = ike_msg_find_notify(msg, IKE_NOTIFY_COOKIE)))
		return TRUE;
	/* the cookie is the notify's last bytes; it comes first, so find it by value */
	gsize len, dlen;
	const guint8 *c = ike_payload_get_data(n, &len);
	const guint8 *d = g_bytes_get_data(p->data, &dlen);
	const guint8 *at = memmem(d, dlen, c, len);
	g_assert_nonnull(at);
	g_autofree guint8 *copy = g_memdup2(d, dlen);
	copy[at - d + len - 1] ^= 0x5a;
	g_bytes_unref(p->data);
	p->data = g_bytes_new(copy, dlen);
	l->forge = FALSE;
	l->forged++;
	return TRUE;
}

/* b with a cookie threshold of @threshold, and @half_open IKE_SA_INITs of a it answered
 * but a never heard back of. */
static void
load_up(Load *l, guint32 seed, guint threshold, guint half_open)
{
	IkeEngineConfig cfg = { .cookie_threshold = threshold, .half_open_per_peer = 10 };

	l->net = net_new_with_config(seed, &cfg);
	l->ca = net_conn(&l->net->a, &l->net->b, GCM_X25519, "aes256gcm16", NULL, NULL);
	l->cb = net_conn(&l->net->b, &l->net->a, GCM_X25519, "aes256gcm16", NULL, NULL);
	ike_engine_add_conn(l->net->b.engine, l->cb);
	l->net->filter = filter;
	l->net->filter_data = l;
	l->drop_to_a = TRUE;
	for (guint i = 0; i < half_open; i++) {
		g_assert_cmpuint(ike_engine_initiate(l->net->a.engine, l->ca, NULL, l->net->now,
						     NULL), !=, 0);
		net_flush(l->net);
	}
	g_assert_cmpuint(ike_engine_count_sas(l->net->b.engine), ==, half_open);
	l->drop_to_a = FALSE;
}

static void
load_free(Load *l)
{
	net_free(l->net);
	conn_config_unref(l->ca);
	conn_config_unref(l->cb);
}

/* How many IKE_SA_INIT responses carried a COOKIE, and requests sent one back. */
static void
count_cookies(Net *net, guint *answers, guint *returned)
{
	*answers = *returned = 0;
	for (guint i = 0; i < net->trace->len; i++) {
		Packet *p = g_ptr_array_index(net->trace, i);
		g_autoptr(IkeMsg) msg = NULL;

		if (ike_msg_decode(p->data, &msg, NULL) != IKE_PARSE_OK ||
		    ike_msg_get_header(msg)->exchange != IKE_EXCHANGE_IKE_SA_INIT ||
		    !ike_msg_find_notify(msg, IKE_NOTIFY_COOKIE))
			continue;
		if (ike_msg_is_response(msg)) {
			/* stateless: no SPI of ours, nothing but the cookie */
			g_assert_cmpuint(ike_msg_get_header(msg)->spi_r, ==, 0);
			(*answers)++;
		} else {
			(*returned)++;
		}
	}
}

static IkeSa *
established(Load *l, guint32 id)
{
	IkeSa *a = ike_engine_get_sa(l->net->a.engine, id);

	g_assert_nonnull(a);
	g_assert_cmpint(a->state, ==, IKE_SA_STATE_ESTABLISHED);
	g_assert_cmpuint(a->children->len, ==, 1);
	assert_child_pair(peer_find_sa(&l->net->a, VPND_DIR_OUT, 0),
			  peer_find_sa(&l->net->b, VPND_DIR_IN, 0));
	return a;
}

/* 3 half-open SAs, threshold 3: the fourth initiator is asked for a cookie, and gets in. */
static void
test_under_load(void)
{
	Load l = { 0 };
	guint answers, returned;

	load_up(&l, 51, 3, 3);
	guint32 id = ike_engine_initiate(l.net->a.engine, l.ca, NULL, l.net->now, NULL);
	net_flush(l.net);
	established(&l, id);
	count_cookies(l.net, &answers, &returned);
	g_assert_cmpuint(answers, ==, 1);
	g_assert_cmpuint(returned, ==, 1);
	const IkeEngineCounters *c = ike_engine_get_counters(l.net->b.engine);
	g_assert_cmpuint(c->cookies_sent, ==, 1);
	g_assert_cmpuint(c->cookies_rejected, ==, 0);
	g_assert_cmpuint(ike_engine_count_sas(l.net->b.engine), ==, 4);
	load_free(&l);
}

/* Below the threshold nobody is asked. */
static void
test_below_threshold(void)
{
	Load l = { 0 };
	guint answers, returned;

	load_up(&l, 52, 3, 2);
	guint32 id = ike_engine_initiate(l.net->a.engine, l.ca, NULL, l.net->now, NULL);
	net_flush(l.net);
	established(&l, id);
	count_cookies(l.net, &answers, &returned);
	g_assert_cmpuint(answers, ==, 0);
	g_assert_cmpuint(ike_engine_get_counters(l.net->b.engine)->cookies_sent, ==, 0);
	load_free(&l);
}

/* A cookie that is not ours is refused with a fresh one; the initiator then gets in. */
static void
test_forged(void)
{
	Load l = { 0 };
	guint answers, returned;

	load_up(&l, 53, 2, 2);
	l.forge = TRUE;
	guint32 id = ike_engine_initiate(l.net->a.engine, l.ca, NULL, l.net->now, NULL);
	net_flush(l.net);
	g_assert_cmpuint(l.forged, ==, 1);
	established(&l, id);
	count_cookies(l.net, &answers, &returned);
	g_assert_cmpuint(answers, ==, 2);
	g_assert_cmpuint(returned, ==, 2);
	g_assert_cmpuint(ike_engine_get_counters(l.net->b.engine)->cookies_rejected, ==, 1);
	load_free(&l);
}

/* A flood without cookies creates no state at all; the per-peer limit still holds. */
static void
test_no_state(void)
{
	Load l = { 0 };

	load_up(&l, 54, 2, 2);
	l.drop_to_a = TRUE; /* a never sees the cookie: it keeps sending without one */
	for (int i = 0; i < 20; i++) {
		ike_engine_initiate(l.net->a.engine, l.ca, NULL, l.net->now, NULL);
		net_flush(l.net);
	}
	g_assert_cmpuint(ike_engine_count_sas(l.net->b.engine), ==, 2);
	g_assert_cmpuint(ike_engine_get_counters(l.net->b.engine)->cookies_sent, ==, 20);
	load_free(&l);
}

static gboolean
rand_cb(gpointer data, guint8 *buf, gsize len)
{
	for (gsize i = 0; i < len; i++)
		buf[i] = (guint8)g_rand_int_range(data, 0, 256);
	return TRUE;
}

/* The secret rotates every 10 s; a cookie lives through one rotation, not two. */
static void
test_rotation(void)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(55);
	g_autoptr(IkeCookieJar) jar =
		ike_cookie_jar_new(harness_host(), rand_cb, rand, SEC(10));
	g_autoptr(GBytes) ni = g_bytes_new_static("0123456789abcdef0123456789abcdef", 32);
	g_autoptr(GBytes) other_ni = g_bytes_new_static("0123456789abcdef0123456789abcdeF", 32);
	VpndAddr ip, other_ip;
	guint8 cookie[IKE_COOKIE_LEN], later[IKE_COOKIE_LEN];
	gint64 t0 = SEC(1000);

	g_assert_true(conn_addr_parse("192.0.2.1", 500, &ip));
	g_assert_true(conn_addr_parse("192.0.2.9", 500, &other_ip));
	g_assert_true(ike_cookie_make(jar, t0, ni, &ip, 0x1122334455667788, cookie));
	g_assert_true(ike_cookie_check(jar, t0 + SEC(5), ni, &ip, 0x1122334455667788, cookie,
				       sizeof(cookie)));
	/* bound to the nonce, the address and the SPI */
	g_assert_false(ike_cookie_check(jar, t0, other_ni, &ip, 0x1122334455667788, cookie,
					sizeof(cookie)));
	g_assert_false(ike_cookie_check(jar, t0, ni, &other_ip, 0x1122334455667788, cookie,
					sizeof(cookie)));
	g_assert_false(ike_cookie_check(jar, t0, ni, &ip, 0x1122334455667789, cookie,
					sizeof(cookie)));
	g_assert_false(ike_cookie_check(jar, t0, ni, &ip, 0x1122334455667788, cookie,
					sizeof(cookie) - 1));
	/* one rotation: made anew with the new secret, the old one still accepted */
	g_assert_true(ike_cookie_make(jar, t0 + SEC(15), ni, &ip, 0x1122334455667788, later));
	g_assert_cmpuint(later[0], !=, cookie[0]);
	g_assert_true(memcmp(cookie + 1, later + 1, IKE_COOKIE_LEN - 1) != 0);
	g_assert_true(ike_cookie_check(jar, t0 + SEC(16), ni, &ip, 0x1122334455667788, cookie,
				       sizeof(cookie)));
	g_assert_true(ike_cookie_check(jar, t0 + SEC(16), ni, &ip, 0x1122334455667788, later,
				       sizeof(later)));
	/* a second rotation retires the first secret */
	g_assert_false(ike_cookie_check(jar, t0 + SEC(26), ni, &ip, 0x1122334455667788, cookie,
					sizeof(cookie)));
	g_assert_true(ike_cookie_check(jar, t0 + SEC(26), ni, &ip, 0x1122334455667788, later,
				       sizeof(later)));
	/* a secret not used for two lifetimes is not kept as the previous one */
	g_assert_false(ike_cookie_check(jar, t0 + SEC(60), ni, &ip, 0x1122334455667788, later,
					sizeof(later)));
}

int
main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_func("/ikev2/cookie/under-load", test_under_load);
	g_test_add_func("/ikev2/cookie/below-threshold", test_below_threshold);
	g_test_add_func("/ikev2/cookie/forged", test_forged);
	g_test_add_func("/ikev2/cookie/no-state", test_no_state);
	g_test_add_func("/ikev2/cookie/rotation", test_rotation);
	ret = g_test_run();
	harness_fini();
	return ret;
}
