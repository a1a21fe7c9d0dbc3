/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel-tun's decisions without a device: flows read from IP headers, selectors
 * matched against them, selector ranges turned into routes, the SA and policy table
 * (which SA an outbound packet takes, what an inbound SA may carry) and lifetimes.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "tun_table.h"

static VpndTs
ts(const char *cidr)
{
	VpndTs t;

	g_assert_true(tun_ts_from_string(cidr, &t));
	return t;
}

/* A minimal IPv4 packet: 20-byte header, then @l4_len bytes of upper layer. */
static gsize
ipv4_packet(guint8 *buf, guint8 proto, const char *src, const char *dst, guint16 sport,
	    guint16 dport, guint16 frag_off)
{
	VpndTs s = ts(src), d = ts(dst);
	gsize len = 20 + 8;

	memset(buf, 0, len);
	buf[0] = 0x45;
	buf[2] = (guint8)(len >> 8);
	buf[3] = (guint8)len;
	buf[6] = (guint8)(frag_off >> 8);
	buf[7] = (guint8)frag_off;
	buf[8] = 64;
	buf[9] = proto;
	memcpy(buf + 12, s.from, 4);
	memcpy(buf + 16, d.from, 4);
	buf[20] = (guint8)(sport >> 8);
	buf[21] = (guint8)sport;
	buf[22] = (guint8)(dport >> 8);
	buf[23] = (guint8)dport;
	return len;
}

static void
test_flow_ipv4(void)
{
	guint8 buf[64];
	TunFlow flow;
	gsize len = ipv4_packet(buf, IPPROTO_UDP, "10.1.0.5", "10.2.0.7", 1234, 53, 0);

	g_assert_true(tun_flow_parse(buf, len, &flow));
	g_assert_cmpint(flow.family, ==, AF_INET);
	g_assert_cmpint(flow.proto, ==, IPPROTO_UDP);
	g_assert_true(flow.ports_known);
	g_assert_cmpint(flow.sport, ==, 1234);
	g_assert_cmpint(flow.dport, ==, 53);
	g_assert_cmpint(flow.src[3], ==, 5);
	g_assert_cmpint(flow.dst[3], ==, 7);

	/* ICMP echo request: type 8, code 0 in the port fields */
	len = ipv4_packet(buf, IPPROTO_ICMP, "10.1.0.5", "10.2.0.7", 0x0800, 0, 0);
	g_assert_true(tun_flow_parse(buf, len, &flow));
	g_assert_cmpint(flow.sport, ==, 0x0800);
	g_assert_cmpint(flow.dport, ==, 0x0800);

	/* a later fragment has no ports to match */
	len = ipv4_packet(buf, IPPROTO_TCP, "10.1.0.5", "10.2.0.7", 1, 2, 185);
	g_assert_true(tun_flow_parse(buf, len, &flow));
	g_assert_false(flow.ports_known);
}

static void
test_flow_ipv6(void)
{
	guint8 buf[128] = { 0 };
	VpndTs s = ts("fd01::5"), d = ts("fd02::7");
	TunFlow flow;

	/* IPv6 | hop-by-hop (8 bytes) | TCP 40000 -> 443 */
	buf[0] = 0x60;
	buf[5] = 8 + 20;
	buf[6] = 0; /* hop-by-hop */
	buf[7] = 64;
	memcpy(buf + 8, s.from, 16);
	memcpy(buf + 24, d.from, 16);
	buf[40] = IPPROTO_TCP;
	buf[41] = 0;
	buf[48] = 40000 >> 8;
	buf[49] = 40000 & 0xff;
	buf[50] = 443 >> 8;
	buf[51] = 443 & 0xff;
	g_assert_true(tun_flow_parse(buf, 40 + 28, &flow));
	g_assert_cmpint(flow.family, ==, AF_INET6);
	g_assert_cmpint(flow.proto, ==, IPPROTO_TCP);
	g_assert_true(flow.ports_known);
	g_assert_cmpint(flow.sport, ==, 40000);
	g_assert_cmpint(flow.dport, ==, 443);

	/* the extension header claims more than the payload holds: no ports */
	buf[41] = 10;
	g_assert_true(tun_flow_parse(buf, 40 + 28, &flow));
	g_assert_false(flow.ports_known);
}

typedef struct {
	const char *name;
	gsize len;
	guint8 first;  /* version and IHL */
	guint16 total; /* IPv4 total length / IPv6 payload length field */
} BadPacket;

static const BadPacket bad_packets[] = {
	{ "empty", 0, 0x45, 20 },
	{ "short-ipv4", 19, 0x45, 19 },
	{ "ihl-too-small", 20, 0x44, 20 },
	{ "total-beyond-buffer", 40, 0x45, 41 },
	{ "total-below-ihl", 40, 0x46, 20 },
	{ "version-5", 40, 0x55, 40 },
	{ "short-ipv6", 39, 0x60, 0 },
	{ "ipv6-payload-beyond", 48, 0x60, 9 },
};

static void
test_flow_malformed(gconstpointer data)
{
	const BadPacket *bad = data;
	guint8 buf[64] = { 0 };
	TunFlow flow;

	buf[0] = bad->first;
	if ((bad->first >> 4) == 4) {
		buf[2] = (guint8)(bad->total >> 8);
		buf[3] = (guint8)bad->total;
	} else {
		buf[4] = (guint8)(bad->total >> 8);
		buf[5] = (guint8)bad->total;
	}
	g_assert_false(tun_flow_parse(buf, bad->len, &flow));
}

static void
test_ts_match(void)
{
	guint8 buf[64];
	TunFlow flow;
	VpndTs local = ts("10.1.0.0/24"), remote = ts("10.2.0.0/24");
	VpndTs dns = ts("10.2.0.53/32");

	dns.ip_proto = IPPROTO_UDP;
	dns.from_port = dns.to_port = 53;
	g_assert_true(tun_flow_parse(
		buf, ipv4_packet(buf, IPPROTO_UDP, "10.1.0.5", "10.2.0.53", 1234, 53, 0), &flow));
	g_assert_true(tun_ts_match_flow(&local, &remote, &flow));
	g_assert_true(tun_ts_match_flow(&local, &dns, &flow));
	g_assert_false(tun_ts_match_flow(&remote, &local, &flow));
	/* inbound: source in remote, destination in local */
	g_assert_true(tun_ts_lists_match_inbound(&remote, 1, &local, 1, &flow));
	g_assert_false(tun_ts_lists_match_inbound(&local, 1, &remote, 1, &flow));

	/* wrong port, wrong protocol, unknown port */
	tun_flow_parse(buf, ipv4_packet(buf, IPPROTO_UDP, "10.1.0.5", "10.2.0.53", 1234, 54, 0),
		       &flow);
	g_assert_false(tun_ts_match_flow(&local, &dns, &flow));
	tun_flow_parse(buf, ipv4_packet(buf, IPPROTO_TCP, "10.1.0.5", "10.2.0.53", 1234, 53, 0),
		       &flow);
	g_assert_false(tun_ts_match_flow(&local, &dns, &flow));
	tun_flow_parse(buf, ipv4_packet(buf, IPPROTO_UDP, "10.1.0.5", "10.2.0.53", 0, 0, 100),
		       &flow);
	g_assert_false(tun_ts_match_flow(&local, &dns, &flow));
	g_assert_true(tun_ts_match_flow(&local, &remote, &flow));

	/* another family never matches */
	VpndTs v6 = ts("::/0");
	g_assert_false(tun_ts_has_addr(&v6, AF_INET, flow.src));
}

typedef struct {
	const char *from, *to;
	guint max;
	const char *expect; /* space-separated prefixes, "" for none */
} PrefixCase;

static const PrefixCase prefix_cases[] = {
	{ "10.1.0.0", "10.1.0.255", 64, "10.1.0.0/24" },
	{ "10.0.0.1", "10.0.0.6", 64, "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32" },
	{ "0.0.0.0", "255.255.255.255", 64, "0.0.0.0/0" },
	{ "255.255.255.255", "255.255.255.255", 64, "255.255.255.255/32" },
	{ "10.0.0.1", "10.0.0.6", 3, "" },
	{ "10.0.0.9", "10.0.0.1", 64, "" },
	{ "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 64, "::/0" },
	{ "fd01::", "fd01::ffff:ffff:ffff:ffff", 64, "fd01::/64" },
	{ "fd01::", "fd01::2", 64, "fd01::/127 fd01::2/128" },
};

static void
test_ts_prefixes(gconstpointer data)
{
	const PrefixCase *c = data;
	VpndTs range = ts(c->from);
	VpndTs to = ts(c->to);
	TunPrefix out[64];

	memcpy(range.to, to.to, 16);
	guint n = tun_ts_to_prefixes(&range, out, c->max);
	g_autoptr(GString) got = g_string_new(NULL);
	for (guint i = 0; i < n; i++) {
		VpndTs p = { .family = out[i].family };
		memcpy(p.from, out[i].addr, 16);
		memcpy(p.to, out[i].addr, 16);
		g_autofree char *text = tun_ts_to_string(&p);
		*strstr(text, "..") = '\0';
		g_string_append_printf(got, "%s%s/%u", i ? " " : "", text, out[i].len);
	}
	g_assert_cmpstr(got->str, ==, c->expect);
}

static void
test_ts_from_string(void)
{
	VpndTs t;

	g_assert_false(tun_ts_from_string("10.1.0.0/33", &t));
	g_assert_false(tun_ts_from_string("not-an-address", &t));
	g_assert_true(tun_ts_from_string("10.1.2.3/20", &t));
	g_autofree char *text = tun_ts_to_string(&t);
	g_assert_cmpstr(text, ==, "10.1.0.0..10.1.15.255");
	VpndTs any = ts("0.0.0.0/0");
	VpndTs host = ts("10.1.2.3/32");
	g_assert_cmpuint(tun_ts_specificity(&t), >, tun_ts_specificity(&any));
	g_assert_cmpuint(tun_ts_specificity(&host), >, tun_ts_specificity(&t));
	VpndTs tcp = host;
	tcp.ip_proto = IPPROTO_TCP;
	g_assert_cmpuint(tun_ts_specificity(&tcp), >, tun_ts_specificity(&host));
}

/* ---- The table ----------------------------------------------------------------- */

static VpndSaParams
sa_params(guint32 spi, VpndDirection dir, guint32 reqid, const VpndTs *local, const VpndTs *remote)
{
	VpndSaParams p = { .spi = spi,
			   .protocol = IPPROTO_ESP,
			   .dir = dir,
			   .reqid = reqid,
			   .mode = VPND_MODE_TUNNEL,
			   .encap = TRUE };

	p.src = (VpndAddr){ .family = AF_INET,
			    .addr = { 192, 0, 2, dir == VPND_DIR_IN ? 2 : 1 },
			    .port = 4500 };
	p.dst = (VpndAddr){ .family = AF_INET,
			    .addr = { 192, 0, 2, dir == VPND_DIR_IN ? 1 : 2 },
			    .port = 4500 };
	p.local_ts = local;
	p.n_local_ts = local ? 1 : 0;
	p.remote_ts = remote;
	p.n_remote_ts = remote ? 1 : 0;
	return p;
}

static VpndPolicyParams
policy(VpndDirection dir, VpndPolicyAction action, guint32 reqid, const char *src, const char *dst)
{
	return (VpndPolicyParams){ .dir = dir,
				   .action = action,
				   .reqid = reqid,
				   .mode = VPND_MODE_TUNNEL,
				   .src_ts = ts(src),
				   .dst_ts = ts(dst) };
}

static void
test_table_sa(void)
{
	g_autoptr(TunTable) table = tun_table_new();
	VpndSaParams in = sa_params(0x1001, VPND_DIR_IN, 1, NULL, NULL);
	VpndSaParams out = sa_params(0x2002, VPND_DIR_OUT, 1, NULL, NULL);

	g_assert_true(tun_table_add_sa(table, tun_sa_new(&in, 0)));
	g_assert_true(tun_table_add_sa(table, tun_sa_new(&out, 0)));
	g_autoptr(TunSa) dup = tun_sa_new(&in, 0);
	g_assert_false(tun_table_add_sa(table, dup));

	TunSa *sa = tun_table_lookup_in(table, 0x1001);
	g_assert_nonnull(sa);
	g_assert_null(tun_table_lookup_in(table, 0x2002)); /* outbound: not by SPI alone */

	VpndSaId id = { .spi = 0x2002, .protocol = IPPROTO_ESP, .dst = out.dst };
	g_assert_nonnull(tun_table_find_sa(table, &id));
	id.dst.addr[3] = 99; /* another peer's SA with that SPI */
	g_assert_null(tun_table_find_sa(table, &id));
	id.dst.family = 0; /* no destination: SPI and protocol decide */
	g_assert_nonnull(tun_table_find_sa(table, &id));

	g_assert_true(tun_table_spi_taken(table, 0x1001));
	tun_sa_free(tun_table_steal_sa(table, sa));
	g_assert_null(tun_table_lookup_in(table, 0x1001));
	g_assert_false(tun_table_spi_taken(table, 0x1001));
	g_assert_cmpuint(tun_table_get_sas(table)->len, ==, 1);

	/* get_spi reservations hold until an SA takes them or they age out */
	tun_table_reserve_spi(table, 0x3003, 1000);
	g_assert_true(tun_table_spi_taken(table, 0x3003));
	tun_table_expire_reservations(table, 2000, 5000);
	g_assert_true(tun_table_spi_taken(table, 0x3003));
	tun_table_expire_reservations(table, 7000, 5000);
	g_assert_false(tun_table_spi_taken(table, 0x3003));
}

static TunRoute
route(TunTable *table, const char *src, const char *dst, guint16 dport, TunSa **sa)
{
	guint8 buf[64];
	TunFlow flow;
	TunPolicy *p;

	g_assert_true(tun_flow_parse(buf, ipv4_packet(buf, IPPROTO_TCP, src, dst, 1000, dport, 0),
				     &flow));
	return tun_table_route_out(table, &flow, &p, sa);
}

static void
test_table_route_out(void)
{
	g_autoptr(TunTable) table = tun_table_new();
	VpndPolicyParams wide =
		policy(VPND_DIR_OUT, VPND_POLICY_PROTECT, 1, "10.1.0.0/16", "10.2.0.0/16");
	VpndPolicyParams narrow =
		policy(VPND_DIR_OUT, VPND_POLICY_TRAP, 2, "10.1.0.0/24", "10.2.3.0/24");
	VpndPolicyParams drop =
		policy(VPND_DIR_OUT, VPND_POLICY_DROP, 0, "10.1.0.0/16", "10.2.9.9/32");
	TunSa *sa;

	g_assert_true(tun_table_add_policy(table, &wide));
	g_assert_false(tun_table_add_policy(table, &wide));
	g_assert_true(tun_table_add_policy(table, &narrow));
	g_assert_true(tun_table_add_policy(table, &drop));

	g_assert_cmpint(route(table, "10.9.0.1", "10.2.0.1", 80, &sa), ==, TUN_ROUTE_NO_POLICY);
	g_assert_cmpint(route(table, "10.1.0.1", "10.2.0.1", 80, &sa), ==, TUN_ROUTE_NO_SA);
	g_assert_cmpint(route(table, "10.1.0.1", "10.2.9.9", 80, &sa), ==, TUN_ROUTE_REFUSE);

	VpndSaParams p1 = sa_params(0x1111, VPND_DIR_OUT, 1, NULL, NULL);
	VpndSaParams p2 = sa_params(0x2222, VPND_DIR_OUT, 2, NULL, NULL);
	VpndSaParams p1new = sa_params(0x1112, VPND_DIR_OUT, 1, NULL, NULL);
	g_assert_true(tun_table_add_sa(table, tun_sa_new(&p1, 0)));
	g_assert_true(tun_table_add_sa(table, tun_sa_new(&p2, 0)));

	g_assert_cmpint(route(table, "10.1.0.1", "10.2.0.1", 80, &sa), ==, TUN_ROUTE_PROTECT);
	g_assert_cmpuint(sa->id.spi, ==, 0x1111);
	/* the narrower policy wins inside its selectors */
	g_assert_cmpint(route(table, "10.1.0.1", "10.2.3.4", 80, &sa), ==, TUN_ROUTE_PROTECT);
	g_assert_cmpuint(sa->id.spi, ==, 0x2222);
	/* a rekeyed SA takes over from the old one; a hard-expired one carries nothing */
	g_assert_true(tun_table_add_sa(table, tun_sa_new(&p1new, 0)));
	g_assert_cmpint(route(table, "10.1.0.1", "10.2.0.1", 80, &sa), ==, TUN_ROUTE_PROTECT);
	g_assert_cmpuint(sa->id.spi, ==, 0x1112);
	sa->hard_expired = TRUE;
	g_assert_cmpint(route(table, "10.1.0.1", "10.2.0.1", 80, &sa), ==, TUN_ROUTE_PROTECT);
	g_assert_cmpuint(sa->id.spi, ==, 0x1111);

	/* an explicit priority beats specificity */
	wide.priority = 1;
	g_assert_true(tun_table_del_policy(table, &wide));
	g_assert_false(tun_table_del_policy(table, &wide));
	g_assert_true(tun_table_add_policy(table, &wide));
	g_assert_cmpint(route(table, "10.1.0.1", "10.2.3.4", 80, &sa), ==, TUN_ROUTE_PROTECT);
	g_assert_cmpuint(sa->id.spi, ==, 0x1111);
	g_assert_cmpuint(tun_table_n_policies(table), ==, 3);
}

/* A trap policy acquires once; an OUT SA of its reqid (and only of its reqid) lets it
 * acquire again, also after other acquired policies came and went. */
static void
test_table_acquired(void)
{
	g_autoptr(TunTable) table = tun_table_new();
	VpndPolicyParams t1 =
		policy(VPND_DIR_OUT, VPND_POLICY_TRAP, 1, "10.1.0.0/24", "10.2.1.0/24");
	VpndPolicyParams t2 =
		policy(VPND_DIR_OUT, VPND_POLICY_TRAP, 2, "10.1.0.0/24", "10.2.2.0/24");
	VpndSaParams out1 = sa_params(0x1111, VPND_DIR_OUT, 1, NULL, NULL);
	VpndSaParams out2 = sa_params(0x2222, VPND_DIR_OUT, 2, NULL, NULL);
	VpndSaParams out2b = sa_params(0x2223, VPND_DIR_OUT, 2, NULL, NULL);
	TunSa *sa;
	TunPolicy *p1, *p2;
	guint8 buf[64];
	TunFlow flow;

	g_assert_true(tun_table_add_policy(table, &t1));
	g_assert_true(tun_table_add_policy(table, &t2));
	g_assert_true(tun_flow_parse(
		buf, ipv4_packet(buf, IPPROTO_TCP, "10.1.0.1", "10.2.1.1", 1000, 80, 0), &flow));
	g_assert_cmpint(tun_table_route_out(table, &flow, &p1, &sa), ==, TUN_ROUTE_NO_SA);
	g_assert_true(tun_flow_parse(
		buf, ipv4_packet(buf, IPPROTO_TCP, "10.1.0.1", "10.2.2.1", 1000, 80, 0), &flow));
	g_assert_cmpint(tun_table_route_out(table, &flow, &p2, &sa), ==, TUN_ROUTE_NO_SA);
	g_assert_cmpuint(p1->params.reqid, ==, 1);
	g_assert_cmpuint(p2->params.reqid, ==, 2);

	tun_table_set_acquired(table, p1);
	tun_table_set_acquired(table, p2);
	g_assert_true(tun_table_add_sa(table, tun_sa_new(&out1, 0)));
	g_assert_false(p1->acquired);
	g_assert_true(p2->acquired);
	/* p1 acquired again, then its policy goes: only p2 is still outstanding */
	tun_table_set_acquired(table, p1);
	g_assert_true(tun_table_del_policy(table, &t1));
	g_assert_true(tun_table_add_sa(table, tun_sa_new(&out2, 0)));
	g_assert_false(p2->acquired);
	/* nothing outstanding: another SA leaves the policy as it is */
	g_assert_true(tun_table_add_sa(table, tun_sa_new(&out2b, 0)));
	g_assert_false(p2->acquired);
	tun_table_set_acquired(table, p2);
	tun_table_set_acquired(table, p2); /* twice: still one outstanding */
	g_assert_true(tun_table_del_policy(table, &t2));
	g_assert_cmpuint(tun_table_n_policies(table), ==, 0);
}

/* The reqid of the policy an outbound TCP packet src -> dst hits (0: none). */
static guint32
policy_hit(TunTable *table, const char *src, const char *dst)
{
	guint8 buf[64];
	TunFlow flow;
	TunPolicy *p;
	TunSa *sa;

	g_assert_true(
		tun_flow_parse(buf, ipv4_packet(buf, IPPROTO_TCP, src, dst, 1000, 80, 0), &flow));
	tun_table_route_out(table, &flow, &p, &sa);
	return p ? p->params.reqid : 0;
}

/* Many policies, added and removed in mixed order: the narrowest matching one wins,
 * and among equally narrow ones the oldest; duplicates are refused either way. */
static void
test_table_policy_order(void)
{
	g_autoptr(TunTable) table = tun_table_new();
	enum { N = 300 };

	for (guint i = 0; i < N; i++) {
		g_autofree char *host = g_strdup_printf("10.2.%u.%u/32", i / 250, i % 250 + 1);
		VpndPolicyParams narrow =
			policy(VPND_DIR_OUT, VPND_POLICY_PROTECT, 1000 + i, "10.1.0.0/16", host);
		VpndPolicyParams wide = policy(VPND_DIR_OUT, VPND_POLICY_PROTECT, i + 1,
					       "10.1.0.0/16", "10.2.0.0/16");

		g_assert_true(tun_table_add_policy(table, &narrow));
		/* the same selectors under another reqid: a duplicate */
		wide.reqid = 1;
		g_assert_cmpint(tun_table_add_policy(table, &wide), ==, i == 0);
	}
	g_assert_cmpuint(tun_table_n_policies(table), ==, N + 1);
	/* equally narrow: 10.1.0.0/17 -> 10.2.0.0/16 ranks as 10.1.0.0/16 -> 10.2.0.0/17 */
	VpndPolicyParams left =
		policy(VPND_DIR_OUT, VPND_POLICY_PROTECT, 2, "10.1.0.0/17", "10.2.0.0/16");
	VpndPolicyParams right =
		policy(VPND_DIR_OUT, VPND_POLICY_PROTECT, 3, "10.1.0.0/16", "10.2.0.0/17");
	g_assert_true(tun_table_add_policy(table, &left));
	g_assert_true(tun_table_add_policy(table, &right));

	for (guint i = 0; i < N; i += 7) {
		g_autofree char *dst = g_strdup_printf("10.2.%u.%u", i / 250, i % 250 + 1);
		g_assert_cmpuint(policy_hit(table, "10.1.0.1", dst), ==, 1000 + i);
	}
	g_assert_cmpuint(policy_hit(table, "10.1.0.1", "10.2.200.1"), ==, 2); /* the older */
	g_assert_cmpuint(policy_hit(table, "10.1.200.1", "10.2.100.1"), ==, 3);
	g_assert_cmpuint(policy_hit(table, "10.1.200.1", "10.2.200.1"), ==, 1);

	/* every other narrow one goes: its traffic falls to the equally narrow pair or
	 * the wide policy; the rest keep theirs */
	for (guint i = 0; i < N; i += 2) {
		g_autofree char *host = g_strdup_printf("10.2.%u.%u/32", i / 250, i % 250 + 1);
		VpndPolicyParams narrow =
			policy(VPND_DIR_OUT, VPND_POLICY_PROTECT, 0, "10.1.0.0/16", host);
		g_assert_true(tun_table_del_policy(table, &narrow));
		g_assert_false(tun_table_del_policy(table, &narrow));
	}
	g_assert_true(tun_table_del_policy(table, &left));
	g_assert_true(tun_table_add_policy(table, &left)); /* now the newer of the two */
	for (guint i = 0; i < N; i++) {
		g_autofree char *dst = g_strdup_printf("10.2.%u.%u", i / 250, i % 250 + 1);
		g_assert_cmpuint(policy_hit(table, "10.1.0.1", dst), ==, i % 2 ? 1000 + i : 3);
	}
	g_assert_cmpuint(tun_table_n_policies(table), ==, N / 2 + 3);
}

static void
test_table_inbound(void)
{
	g_autoptr(TunTable) table = tun_table_new();
	VpndTs local = ts("10.1.0.0/24"), remote = ts("10.2.0.0/24");
	VpndSaParams with_ts = sa_params(0x1001, VPND_DIR_IN, 1, &local, &remote);
	VpndSaParams without = sa_params(0x1002, VPND_DIR_IN, 2, NULL, NULL);
	g_autoptr(TunSa) a = tun_sa_new(&with_ts, 0);
	g_autoptr(TunSa) b = tun_sa_new(&without, 0);
	guint8 buf[64];
	TunFlow good, spoofed;

	tun_flow_parse(buf, ipv4_packet(buf, IPPROTO_UDP, "10.2.0.9", "10.1.0.1", 1, 2, 0), &good);
	tun_flow_parse(buf, ipv4_packet(buf, IPPROTO_UDP, "10.7.0.9", "10.1.0.1", 1, 2, 0),
		       &spoofed);
	g_assert_true(tun_table_inbound_allowed(table, a, &good));
	g_assert_false(tun_table_inbound_allowed(table, a, &spoofed));

	/* no selectors on the SA: the IN policies of its reqid decide; none, nothing passes */
	g_assert_false(tun_table_inbound_allowed(table, b, &good));
	VpndPolicyParams in =
		policy(VPND_DIR_IN, VPND_POLICY_PROTECT, 2, "10.2.0.0/24", "10.1.0.0/24");
	VpndPolicyParams other =
		policy(VPND_DIR_IN, VPND_POLICY_PROTECT, 3, "10.7.0.0/24", "10.1.0.0/24");
	tun_table_add_policy(table, &in);
	tun_table_add_policy(table, &other);
	g_assert_true(tun_table_inbound_allowed(table, b, &good));
	g_assert_false(tun_table_inbound_allowed(table, b, &spoofed));
}

static void
test_lifetime(void)
{
	VpndSaParams p = sa_params(0x1001, VPND_DIR_IN, 1, NULL, NULL);
	const gint64 t0 = 1000 * G_USEC_PER_SEC;

	p.soft = (VpndLifetime){ .bytes = 1000, .packets = 10, .seconds = 60 };
	p.hard = (VpndLifetime){ .bytes = 2000, .packets = 20, .seconds = 90 };
	g_autoptr(TunSa) sa = tun_sa_new(&p, t0);

	g_assert_cmpint(tun_sa_lifetime_check(sa, 999, 9, t0 + 59 * G_USEC_PER_SEC), ==, 0);
	g_assert_cmpint(tun_sa_lifetime_check(sa, 1000, 0, t0), ==, VPND_EXPIRE_SOFT);
	g_assert_cmpint(tun_sa_lifetime_check(sa, 0, 10, t0), ==, VPND_EXPIRE_SOFT);
	g_assert_cmpint(tun_sa_lifetime_check(sa, 0, 0, t0 + 60 * G_USEC_PER_SEC), ==,
			VPND_EXPIRE_SOFT);
	sa->soft_expired = TRUE; /* reported once */
	g_assert_cmpint(tun_sa_lifetime_check(sa, 1500, 15, t0 + 80 * G_USEC_PER_SEC), ==, 0);
	g_assert_cmpint(tun_sa_lifetime_check(sa, 2000, 0, t0), ==, VPND_EXPIRE_HARD);
	g_assert_cmpint(tun_sa_lifetime_check(sa, 0, 20, t0), ==, VPND_EXPIRE_HARD);
	g_assert_cmpint(tun_sa_lifetime_check(sa, 0, 0, t0 + 90 * G_USEC_PER_SEC), ==,
			VPND_EXPIRE_HARD);

	/* no limits: never */
	VpndSaParams none = sa_params(0x1002, VPND_DIR_IN, 1, NULL, NULL);
	g_autoptr(TunSa) forever = tun_sa_new(&none, 0);
	g_assert_cmpint(tun_sa_lifetime_check(forever, G_MAXUINT64, G_MAXUINT64, G_MAXINT64), ==,
			0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/kernel-tun/flow/ipv4", test_flow_ipv4);
	g_test_add_func("/kernel-tun/flow/ipv6", test_flow_ipv6);
	for (guint i = 0; i < G_N_ELEMENTS(bad_packets); i++) {
		g_autofree char *path =
			g_strdup_printf("/kernel-tun/flow/malformed/%s", bad_packets[i].name);
		g_test_add_data_func(path, &bad_packets[i], test_flow_malformed);
	}
	g_test_add_func("/kernel-tun/ts/match", test_ts_match);
	g_test_add_func("/kernel-tun/ts/from-string", test_ts_from_string);
	for (guint i = 0; i < G_N_ELEMENTS(prefix_cases); i++) {
		g_autofree char *path = g_strdup_printf("/kernel-tun/ts/prefixes/%u", i);
		g_test_add_data_func(path, &prefix_cases[i], test_ts_prefixes);
	}
	g_test_add_func("/kernel-tun/table/sa", test_table_sa);
	g_test_add_func("/kernel-tun/table/route-out", test_table_route_out);
	g_test_add_func("/kernel-tun/table/policy-order", test_table_policy_order);
	g_test_add_func("/kernel-tun/table/inbound", test_table_inbound);
	g_test_add_func("/kernel-tun/table/acquired", test_table_acquired);
	g_test_add_func("/kernel-tun/table/lifetime", test_lifetime);
	return g_test_run();
}
