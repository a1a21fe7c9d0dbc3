/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>
#include <string.h>

#include "tun_offload.h"

/* TCP header fields (RFC 9293 §3.1) and flags */
#define TCP_HDR_MIN 20
#define TCP_OFF_SEQ 4
#define TCP_OFF_ACK 8
#define TCP_OFF_FLAGS 13
#define TCP_OFF_CSUM 16
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80
#define IPV4_OFF_LEN 2
#define IPV4_OFF_ID 4
#define IPV4_OFF_CSUM 10
#define IPV6_HDR_LEN 40
#define IPV6_OFF_LEN 4

/* The virtio_net_hdr of a legacy TUN is in host byte order. */

static guint16
get16(const guint8 *p)
{
	return (guint16)(p[0] << 8 | p[1]);
}

static void
put16(guint8 *p, guint16 v)
{
	p[0] = (guint8)(v >> 8);
	p[1] = (guint8)v;
}

static guint32
get32(const guint8 *p)
{
	return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static void
put32(guint8 *p, guint32 v)
{
	put16(p, (guint16)(v >> 16));
	put16(p + 2, (guint16)v);
}

/* ---- Internet checksum (RFC 1071), on big-endian 16-bit words ---------------------- */

static guint16
csum_fold(guint64 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (guint16)sum;
}

/*
 * Adds @p to @sum. The bytes are summed as host-order 32-bit words, which is the same
 * one's complement sum in the host's byte order (RFC 1071 §2(B)); folded and turned
 * to network order it joins @sum. Byte-wise big-endian reads cost three times as much.
 */
static guint64
csum_add(guint64 sum, const guint8 *p, gsize len)
{
	guint64 host = 0;
	guint32 v32;
	guint16 v16;

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&v32, p, 4);
		host += v32;
	}
	if (len >= 2) {
		memcpy(&v16, p, 2);
		host += v16;
		p += 2;
		len -= 2;
	}
	if (len) {
		const guint8 last[2] = { p[0], 0 };
		memcpy(&v16, last, 2);
		host += v16;
	}
	return sum + GUINT16_FROM_BE(csum_fold(host));
}

/* The TCP pseudo-header of a packet with IP header @ip and @l4_len bytes of TCP. */
static guint64
csum_pseudo(const guint8 *ip, gboolean v6, gsize l4_len)
{
	guint64 sum = IPPROTO_TCP + l4_len;

	return v6 ? csum_add(sum, ip + 8, 32) : csum_add(sum, ip + 12, 8);
}

static void
ipv4_set_csum(guint8 *ip, gsize ip_len)
{
	put16(ip + IPV4_OFF_CSUM, 0);
	put16(ip + IPV4_OFF_CSUM, (guint16)~csum_fold(csum_add(0, ip, ip_len)));
}

gboolean
tun_offload_finish_csum(guint8 *pkt, gsize len, guint16 start, guint16 offset)
{
	if ((gsize)start + offset + 2 > len)
		return FALSE;
	/* the field holds the pseudo-header sum already: it is summed with the rest */
	put16(pkt + start + offset, (guint16)~csum_fold(csum_add(0, pkt + start, len - start)));
	return TRUE;
}

/* ---- Headers ------------------------------------------------------------------------ */

/* A TCP packet without IP options or extension headers and not a fragment. */
typedef struct {
	gboolean v6;
	gsize ip_len, tcp_len, payload;
} TcpShape;

static gboolean
tcp_shape(const guint8 *pkt, gsize len, TcpShape *s)
{
	if (len < 1)
		return FALSE;
	s->v6 = pkt[0] >> 4 == 6;
	if (s->v6) {
		if (len < IPV6_HDR_LEN + TCP_HDR_MIN || pkt[6] != IPPROTO_TCP ||
		    (gsize)get16(pkt + IPV6_OFF_LEN) + IPV6_HDR_LEN != len)
			return FALSE;
		s->ip_len = IPV6_HDR_LEN;
	} else {
		if (pkt[0] != 0x45 || len < 20 + TCP_HDR_MIN || pkt[9] != IPPROTO_TCP ||
		    (gsize)get16(pkt + IPV4_OFF_LEN) != len || (get16(pkt + 6) & 0x3fff))
			return FALSE;
		s->ip_len = 20;
	}
	s->tcp_len = (gsize)(pkt[s->ip_len + 12] >> 4) * 4;
	if (s->tcp_len < TCP_HDR_MIN || s->ip_len + s->tcp_len > len)
		return FALSE;
	s->payload = len - s->ip_len - s->tcp_len;
	return TRUE;
}

/* ---- TSO: one large segment into packets --------------------------------------------- */

gboolean
tun_tso_init(TunTso *tso, const struct virtio_net_hdr *hdr, const guint8 *pkt, gsize len)
{
	guint8 type = hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	gsize ip_len;

	*tso = (TunTso){ .pkt = pkt, .len = len, .mss = hdr->gso_size };
	if (type == VIRTIO_NET_HDR_GSO_TCPV6) {
		if (len < IPV6_HDR_LEN || pkt[0] >> 4 != 6 || pkt[6] != IPPROTO_TCP)
			return FALSE;
		ip_len = IPV6_HDR_LEN;
		tso->v6 = TRUE;
	} else if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (len < 20 || pkt[0] >> 4 != 4 || pkt[9] != IPPROTO_TCP)
			return FALSE;
		ip_len = (gsize)(pkt[0] & 0x0f) * 4;
	} else {
		return FALSE;
	}
	if (ip_len < 20 || len < ip_len + TCP_HDR_MIN || tso->mss == 0)
		return FALSE;
	tso->ip_len = ip_len;
	tso->hdr_len = ip_len + (gsize)(pkt[ip_len + 12] >> 4) * 4;
	if (tso->hdr_len < ip_len + TCP_HDR_MIN || tso->hdr_len > len)
		return FALSE;
	tso->off = tso->hdr_len;
	return TRUE;
}

gsize
tun_tso_next(TunTso *tso, guint8 *out, gsize room)
{
	if (tso->off >= tso->len)
		return 0;
	gsize chunk = MIN(tso->mss, tso->len - tso->off);
	gsize total = tso->hdr_len + chunk;
	gboolean last = tso->off + chunk == tso->len;
	guint8 *tcp = out + tso->ip_len;

	if (total > room)
		return 0;
	memcpy(out, tso->pkt, tso->hdr_len);
	memcpy(out + tso->hdr_len, tso->pkt + tso->off, chunk);
	if (tso->v6) {
		put16(out + IPV6_OFF_LEN, (guint16)(total - IPV6_HDR_LEN));
	} else {
		put16(out + IPV4_OFF_LEN, (guint16)total);
		put16(out + IPV4_OFF_ID, (guint16)(get16(tso->pkt + IPV4_OFF_ID) + tso->index));
		ipv4_set_csum(out, tso->ip_len);
	}
	put32(tcp + TCP_OFF_SEQ,
	      get32(tso->pkt + tso->ip_len + TCP_OFF_SEQ) + (guint32)(tso->off - tso->hdr_len));
	/* FIN and PSH end the whole segment; CWR goes with its first packet only */
	if (!last)
		tcp[TCP_OFF_FLAGS] &= (guint8)~(TCP_FIN | TCP_PSH);
	if (tso->index > 0)
		tcp[TCP_OFF_FLAGS] &= (guint8)~TCP_CWR;
	put16(tcp + TCP_OFF_CSUM, 0);
	guint64 sum = csum_pseudo(out, tso->v6, total - tso->ip_len);
	put16(tcp + TCP_OFF_CSUM, (guint16)~csum_fold(csum_add(sum, tcp, total - tso->ip_len)));
	tso->off += chunk;
	tso->index++;
	return total;
}

/* ---- GRO: packets into one large segment --------------------------------------------- */

struct TunGro {
	gsize len; /* bytes of the packet held after the header; 0: nothing held */
	TcpShape shape; /* of the first packet */
	guint segments;
	guint32 next_seq;
	gboolean closed; /* a short or PSH segment came: it must be the last */
	guint8 buf[TUN_VNET_HDR_LEN + TUN_OFFLOAD_MAX];
};

TunGro *
tun_gro_new(void)
{
	return g_new0(TunGro, 1);
}

void
tun_gro_free(TunGro *gro)
{
	g_free(gro);
}

/* Only plain data segments join: ACK with or without PSH, nothing else set. */
static gboolean
flags_joinable(guint8 flags)
{
	return (flags & ~TCP_PSH) == TCP_ACK;
}

/* Everything but lengths, IPv4 id and checksum, sequence number, PSH: the same. */
static gboolean
same_headers(const guint8 *a, const guint8 *b, const TcpShape *s)
{
	const guint8 *ta = a + s->ip_len, *tb = b + s->ip_len;

	if (s->v6) {
		if (memcmp(a, b, 4) || memcmp(a + 6, b + 6, IPV6_HDR_LEN - 6))
			return FALSE;
	} else if (memcmp(a, b, 2) || memcmp(a + 6, b + 6, 4) || memcmp(a + 12, b + 12, 8)) {
		return FALSE;
	}
	return !memcmp(ta, tb, TCP_OFF_SEQ) && !memcmp(ta + TCP_OFF_ACK, tb + TCP_OFF_ACK, 5) &&
	       (ta[TCP_OFF_FLAGS] | TCP_PSH) == (tb[TCP_OFF_FLAGS] | TCP_PSH) &&
	       !memcmp(ta + 14, tb + 14, 2) &&
	       !memcmp(ta + TCP_HDR_MIN, tb + TCP_HDR_MIN, s->tcp_len - TCP_HDR_MIN);
}

static gboolean
gro_start(TunGro *gro, const guint8 *pkt, gsize len, const TcpShape *s)
{
	guint8 *held = gro->buf + TUN_VNET_HDR_LEN;

	memcpy(held, pkt, len);
	gro->len = len;
	gro->shape = *s;
	gro->segments = 1;
	gro->next_seq = get32(pkt + s->ip_len + TCP_OFF_SEQ) + (guint32)s->payload;
	gro->closed = s->payload == 0 || !flags_joinable(pkt[s->ip_len + TCP_OFF_FLAGS]) ||
		      (pkt[s->ip_len + TCP_OFF_FLAGS] & TCP_PSH);
	return TRUE;
}

gboolean
tun_gro_add(TunGro *gro, const guint8 *pkt, gsize len)
{
	guint8 *held = gro->buf + TUN_VNET_HDR_LEN;
	TcpShape s;

	if (!tcp_shape(pkt, len, &s)) {
		/* anything else is held alone, as it is, so that order is kept */
		if (gro->len)
			return FALSE;
		memcpy(held, pkt, MIN(len, TUN_OFFLOAD_MAX));
		gro->len = MIN(len, TUN_OFFLOAD_MAX);
		gro->segments = 1;
		gro->shape = (TcpShape){ 0 };
		gro->closed = TRUE;
		return TRUE;
	}
	if (!gro->len)
		return gro_start(gro, pkt, len, &s);
	const guint8 *tcp = pkt + s.ip_len;
	if (gro->closed || s.v6 != gro->shape.v6 || s.ip_len != gro->shape.ip_len ||
	    s.tcp_len != gro->shape.tcp_len || s.payload == 0 ||
	    s.payload > gro->shape.payload || gro->len + s.payload > TUN_OFFLOAD_MAX ||
	    !flags_joinable(tcp[TCP_OFF_FLAGS]) || get32(tcp + TCP_OFF_SEQ) != gro->next_seq ||
	    !same_headers(held, pkt, &s))
		return FALSE;
	memcpy(held + gro->len, pkt + len - s.payload, s.payload);
	gro->len += s.payload;
	gro->next_seq += (guint32)s.payload;
	gro->segments++;
	held[s.ip_len + TCP_OFF_FLAGS] |= tcp[TCP_OFF_FLAGS] & TCP_PSH;
	gro->closed = s.payload < gro->shape.payload || (tcp[TCP_OFF_FLAGS] & TCP_PSH);
	return TRUE;
}

const guint8 *
tun_gro_take(TunGro *gro, gsize *len)
{
	struct virtio_net_hdr hdr = { 0 };
	guint8 *held = gro->buf + TUN_VNET_HDR_LEN;
	const TcpShape *s = &gro->shape;

	if (!gro->len)
		return NULL;
	if (gro->segments > 1) {
		if (s->v6) {
			put16(held + IPV6_OFF_LEN, (guint16)(gro->len - IPV6_HDR_LEN));
		} else {
			put16(held + IPV4_OFF_LEN, (guint16)gro->len);
			ipv4_set_csum(held, s->ip_len);
		}
		/* the kernel finishes the sum from csum_start (as for its own GSO packets) */
		guint8 *tcp = held + s->ip_len;
		put16(tcp + TCP_OFF_CSUM, csum_fold(csum_pseudo(held, s->v6, gro->len - s->ip_len)));
		hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		hdr.gso_type = s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		hdr.hdr_len = (guint16)(s->ip_len + s->tcp_len);
		hdr.gso_size = (guint16)s->payload;
		hdr.csum_start = (guint16)s->ip_len;
		hdr.csum_offset = TCP_OFF_CSUM;
	}
	memcpy(gro->buf, &hdr, sizeof(hdr));
	*len = TUN_VNET_HDR_LEN + gro->len;
	gro->len = 0;
	return gro->buf;
}
