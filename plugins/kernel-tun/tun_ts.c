/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tun_ts.h"

#define IPV4_HEADER_MIN 20
#define IPV6_HEADER_LEN 40
#define IPV6_EXT_HOP_BY_HOP 0
#define IPV6_EXT_ROUTING 43
#define IPV6_EXT_FRAGMENT 44
#define IPV6_EXT_DEST_OPTS 60

gsize
tun_addr_len(guint8 family)
{
	return family == AF_INET6 ? 16 : 4;
}

static guint16
get_be16(const guint8 *p)
{
	return (guint16)(p[0] << 8 | p[1]);
}

/* Ports, or ICMP type and code, of the upper-layer header at @l4 (@left bytes). */
static void
parse_ports(TunFlow *flow, const guint8 *l4, gsize left)
{
	switch (flow->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		if (left < 4)
			return;
		flow->sport = get_be16(l4);
		flow->dport = get_be16(l4 + 2);
		flow->ports_known = TRUE;
		return;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (left < 2)
			return;
		flow->sport = flow->dport = get_be16(l4);
		flow->ports_known = TRUE;
		return;
	default:
		/* no ports: only selectors of all ports match */
		return;
	}
}

static gboolean
parse_ipv4(const guint8 *pkt, gsize len, TunFlow *flow)
{
	gsize ihl = (gsize)(pkt[0] & 0x0f) * 4;
	gsize total = get_be16(pkt + 2);

	if (len < IPV4_HEADER_MIN || ihl < IPV4_HEADER_MIN || total < ihl || total > len)
		return FALSE;
	flow->family = AF_INET;
	flow->proto = pkt[9];
	memcpy(flow->src, pkt + 12, 4);
	memcpy(flow->dst, pkt + 16, 4);
	/* a non-first fragment carries no ports (RFC 4301 §7: OPAQUE) */
	if ((get_be16(pkt + 6) & 0x1fff) == 0)
		parse_ports(flow, pkt + ihl, total - ihl);
	return TRUE;
}

static gboolean
parse_ipv6(const guint8 *pkt, gsize len, TunFlow *flow)
{
	if (len < IPV6_HEADER_LEN || IPV6_HEADER_LEN + (gsize)get_be16(pkt + 4) > len)
		return FALSE;
	flow->family = AF_INET6;
	memcpy(flow->src, pkt + 8, 16);
	memcpy(flow->dst, pkt + 24, 16);

	gsize end = IPV6_HEADER_LEN + get_be16(pkt + 4);
	gsize off = IPV6_HEADER_LEN;
	guint8 next = pkt[6];
	for (guint i = 0; i < TUN_FLOW_MAX_EXT_HEADERS; i++) {
		switch (next) {
		case IPV6_EXT_HOP_BY_HOP:
		case IPV6_EXT_ROUTING:
		case IPV6_EXT_DEST_OPTS:
			if (end - off < 8)
				goto opaque;
			next = pkt[off];
			off += 8 + (gsize)pkt[off + 1] * 8;
			if (off > end)
				goto opaque;
			continue;
		case IPV6_EXT_FRAGMENT:
			if (end - off < 8)
				goto opaque;
			flow->proto = pkt[off];
			if ((get_be16(pkt + off + 2) & 0xfff8) != 0)
				return TRUE; /* not the first fragment: no ports */
			next = pkt[off];
			off += 8;
			continue;
		default:
			flow->proto = next;
			parse_ports(flow, pkt + off, end - off);
			return TRUE;
		}
	}
opaque:
	/* too many or truncated extension headers: no protocol nor ports to match */
	flow->proto = next;
	flow->ports_known = FALSE;
	return TRUE;
}

gboolean
tun_flow_parse(const guint8 *pkt, gsize len, TunFlow *flow)
{
	*flow = (TunFlow){ 0 };
	if (len < 1)
		return FALSE;
	switch (pkt[0] >> 4) {
	case 4:
		return parse_ipv4(pkt, len, flow);
	case 6:
		return parse_ipv6(pkt, len, flow);
	default:
		return FALSE;
	}
}

gboolean
tun_ts_has_addr(const VpndTs *ts, guint8 family, const guint8 *addr)
{
	gsize n = tun_addr_len(family);

	return ts->family == family && memcmp(addr, ts->from, n) >= 0 &&
	       memcmp(addr, ts->to, n) <= 0;
}

static gboolean
ts_all_ports(const VpndTs *ts)
{
	return ts->from_port == 0 && ts->to_port == 0xffff;
}

gboolean
tun_ts_has_port(const VpndTs *ts, guint8 proto, gboolean port_known, guint16 port)
{
	if (ts->ip_proto != 0 && ts->ip_proto != proto)
		return FALSE;
	if (ts_all_ports(ts))
		return TRUE;
	return port_known && port >= ts->from_port && port <= ts->to_port;
}

gboolean
tun_ts_match_flow(const VpndTs *src, const VpndTs *dst, const TunFlow *flow)
{
	return tun_ts_has_addr(src, flow->family, flow->src) &&
	       tun_ts_has_addr(dst, flow->family, flow->dst) &&
	       tun_ts_has_port(src, flow->proto, flow->ports_known, flow->sport) &&
	       tun_ts_has_port(dst, flow->proto, flow->ports_known, flow->dport);
}

gboolean
tun_ts_lists_match_inbound(const VpndTs *local, guint n_local, const VpndTs *remote, guint n_remote,
			   const TunFlow *flow)
{
	for (guint r = 0; r < n_remote; r++) {
		for (guint l = 0; l < n_local; l++) {
			if (tun_ts_match_flow(&remote[r], &local[l], flow))
				return TRUE;
		}
	}
	return FALSE;
}

/* Bit @i of a big-endian number of @n bytes, counted from the least significant. */
static gboolean
bit_get(const guint8 *a, gsize n, guint i)
{
	return (a[n - 1 - i / 8] >> (i % 8)) & 1;
}

/* The low @k bits of @a all zero (@fill 0) or all one (@fill 1)? */
static gboolean
low_bits_are(const guint8 *a, gsize n, guint k, gboolean fill)
{
	for (guint i = 0; i < k; i++) {
		if (bit_get(a, n, i) != fill)
			return FALSE;
	}
	return TRUE;
}

/* @a with its low @k bits set to one, compared with @to. */
static gboolean
block_end_within(const guint8 *a, gsize n, guint k, const guint8 *to)
{
	guint8 end[16];

	memcpy(end, a, n);
	for (guint i = 0; i < k; i++)
		end[n - 1 - i / 8] |= (guint8)(1 << (i % 8));
	return memcmp(end, to, n) <= 0;
}

/* @a += 2^k, modulo the address space. */
static void
add_pow2(guint8 *a, gsize n, guint k)
{
	guint carry = 1u << (k % 8);

	for (gssize i = (gssize)(n - 1 - k / 8); i >= 0 && carry; i--) {
		carry += a[i];
		a[i] = (guint8)carry;
		carry >>= 8;
	}
}

guint
tun_ts_to_prefixes(const VpndTs *ts, TunPrefix *out, guint max)
{
	gsize n = tun_addr_len(ts->family);
	guint bits = (guint)n * 8;
	guint8 cur[16], last[16];
	guint count = 0;

	if (memcmp(ts->from, ts->to, n) > 0)
		return 0;
	memcpy(cur, ts->from, n);
	for (;;) {
		/* the largest aligned block starting at @cur that ends inside the range */
		guint k = 0;
		while (k < bits && low_bits_are(cur, n, k + 1, FALSE) &&
		       block_end_within(cur, n, k + 1, ts->to))
			k++;
		if (count == max)
			return 0;
		out[count] = (TunPrefix){ .family = ts->family, .len = (guint8)(bits - k) };
		memcpy(out[count].addr, cur, n);
		count++;

		memcpy(last, cur, n);
		for (guint i = 0; i < k; i++)
			last[n - 1 - i / 8] |= (guint8)(1 << (i % 8));
		if (memcmp(last, ts->to, n) == 0)
			return count;
		/* the block ended before @to, so the next one cannot wrap */
		add_pow2(cur, n, k);
	}
}

guint
tun_ts_specificity(const VpndTs *ts)
{
	gsize n = tun_addr_len(ts->family);
	guint fixed = 0;

	/* leading bits shared by from and to */
	for (guint i = 0; i < n * 8; i++) {
		guint bit = (guint)(n * 8 - 1 - i);
		if (bit_get(ts->from, n, bit) != bit_get(ts->to, n, bit))
			break;
		fixed++;
	}
	return fixed * 4 + (ts->ip_proto ? 2 : 0) + (ts_all_ports(ts) ? 0 : 1);
}

gboolean
tun_ts_from_string(const char *cidr, VpndTs *ts)
{
	g_auto(GStrv) parts = g_strsplit(cidr, "/", 2);
	guint8 addr[16];
	guint8 family = strchr(parts[0], ':') ? AF_INET6 : AF_INET;
	gsize n = tun_addr_len(family);
	guint64 len = n * 8;

	if (inet_pton(family, parts[0], addr) != 1)
		return FALSE;
	if (parts[1] && !g_ascii_string_to_unsigned(parts[1], 10, 0, n * 8, &len, NULL))
		return FALSE;
	*ts = (VpndTs){ .family = family, .from_port = 0, .to_port = 0xffff };
	for (guint i = 0; i < n; i++) {
		guint keep = len >= (i + 1) * 8 ? 8 : len > i * 8 ? (guint)(len - i * 8) : 0;
		guint8 mask = (guint8)(0xff00 >> keep);
		ts->from[i] = addr[i] & mask;
		ts->to[i] = (guint8)(addr[i] | ~mask);
	}
	return TRUE;
}

char *
tun_ts_to_string(const VpndTs *ts)
{
	char from[INET6_ADDRSTRLEN], to[INET6_ADDRSTRLEN];
	int family = ts->family == AF_INET6 ? AF_INET6 : AF_INET;

	inet_ntop(family, ts->from, from, sizeof(from));
	inet_ntop(family, ts->to, to, sizeof(to));
	if (ts->ip_proto == 0 && ts_all_ports(ts))
		return g_strdup_printf("%s..%s", from, to);
	return g_strdup_printf("%s..%s[%u/%u-%u]", from, to, ts->ip_proto, ts->from_port,
			       ts->to_port);
}
