/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel-tun's TUN offloads without a device: a large TCP segment as the kernel hands
 * it over (TSO) cut into packets whose every header field and checksum is checked
 * against a plain RFC 1071 sum here, and those packets joined back (GRO) into the
 * original segment; what must not be joined is not.
 */
#include <netinet/in.h>
#include <string.h>

#include "tun_offload.h"

#define MSS 1388
#define PAYLOAD 10000
#define TCP_HDR 32 /* 20 + 12 bytes of options (NOP NOP timestamps) */
#define SEQ 0xfffff000u /* wraps inside the segment */

/* RFC 1071, the slow obvious way */
static guint16
ref_sum(guint32 sum, const guint8 *p, gsize len)
{
	for (gsize i = 0; i + 1 < len; i += 2)
		sum += (guint32)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (guint32)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (guint16)sum;
}

static gboolean
tcp_csum_ok(const guint8 *pkt, gsize len, gboolean v6)
{
	gsize ip_len = v6 ? 40 : 20;
	guint8 pseudo[40] = { 0 };
	gsize plen;

	if (v6) {
		memcpy(pseudo, pkt + 8, 32);
		pseudo[34] = (guint8)((len - ip_len) >> 8);
		pseudo[35] = (guint8)(len - ip_len);
		pseudo[39] = IPPROTO_TCP;
		plen = 40;
	} else {
		memcpy(pseudo, pkt + 12, 8);
		pseudo[9] = IPPROTO_TCP;
		pseudo[10] = (guint8)((len - ip_len) >> 8);
		pseudo[11] = (guint8)(len - ip_len);
		plen = 12;
	}
	return ref_sum(ref_sum(0, pseudo, plen), pkt + ip_len, len - ip_len) == 0xffff;
}

static guint32
be32(const guint8 *p)
{
	return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static guint16
be16(const guint8 *p)
{
	return (guint16)(p[0] << 8 | p[1]);
}

/* A large TCP segment 10.1.0.1:40000 -> 10.2.0.1:5201 (or fd01::1 -> fd02::1) with
 * ACK|PSH and a payload that tells each byte's place; its virtio_net_hdr in @hdr. */
static gsize
big_segment(guint8 *buf, gboolean v6, struct virtio_net_hdr *hdr)
{
	gsize ip_len = v6 ? 40 : 20, len = ip_len + TCP_HDR + PAYLOAD;
	guint8 *tcp = buf + ip_len;

	memset(buf, 0, ip_len + TCP_HDR);
	if (v6) {
		buf[0] = 0x60;
		buf[4] = (guint8)((len - 40) >> 8); /* as the kernel leaves it: the whole */
		buf[5] = (guint8)(len - 40);
		buf[6] = IPPROTO_TCP;
		buf[7] = 64;
		buf[8] = 0xfd;
		buf[9] = 0x01;
		buf[23] = 1;
		buf[24] = 0xfd;
		buf[25] = 0x02;
		buf[39] = 1;
	} else {
		buf[0] = 0x45;
		buf[2] = (guint8)(len >> 8);
		buf[3] = (guint8)len;
		buf[4] = 0x12; /* id 0x1234 */
		buf[5] = 0x34;
		buf[6] = 0x40; /* DF */
		buf[8] = 64;
		buf[9] = IPPROTO_TCP;
		memcpy(buf + 12, "\x0a\x01\x00\x01\x0a\x02\x00\x01", 8);
	}
	tcp[0] = 40000 >> 8;
	tcp[1] = 40000 & 0xff;
	tcp[2] = 5201 >> 8;
	tcp[3] = 5201 & 0xff;
	tcp[4] = SEQ >> 24;
	tcp[5] = (SEQ >> 16) & 0xff;
	tcp[6] = (SEQ >> 8) & 0xff;
	tcp[7] = SEQ & 0xff;
	memcpy(tcp + 8, "\x00\x00\x77\x77", 4);    /* ack */
	tcp[12] = (TCP_HDR / 4) << 4;
	tcp[13] = 0x18;                            /* ACK PSH */
	memcpy(tcp + 14, "\x01\xf5", 2);           /* window */
	memcpy(tcp + 20, "\x01\x01\x08\x0a", 4);   /* NOP NOP timestamp */
	memcpy(tcp + 24, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	for (gsize i = 0; i < PAYLOAD; i++)
		buf[ip_len + TCP_HDR + i] = (guint8)(i * 7 + i / 251);
	*hdr = (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (guint16)(ip_len + TCP_HDR),
		.gso_size = MSS,
		.csum_start = (guint16)ip_len,
		.csum_offset = 16,
	};
	return len;
}

/* Cuts the big segment; the packets in @out (each 2048 bytes apart), their lengths. */
static guint
cut(const guint8 *big, gsize len, const struct virtio_net_hdr *hdr, guint8 *out, gsize *lens)
{
	TunTso tso;
	guint n = 0;

	g_assert_true(tun_tso_init(&tso, hdr, big, len));
	while ((lens[n] = tun_tso_next(&tso, out + n * 2048, 2048)) > 0)
		n++;
	return n;
}

static void
test_tso(gconstpointer data)
{
	gboolean v6 = GPOINTER_TO_INT(data);
	gsize ip_len = v6 ? 40 : 20, lens[16];
	static guint8 big[TUN_OFFLOAD_MAX], out[16 * 2048];
	struct virtio_net_hdr hdr;
	gsize len = big_segment(big, v6, &hdr);
	guint n = cut(big, len, &hdr, out, lens);

	g_assert_cmpuint(n, ==, (PAYLOAD + MSS - 1) / MSS);
	for (guint i = 0; i < n; i++) {
		const guint8 *p = out + i * 2048, *tcp = p + ip_len;
		gsize payload = MIN(MSS, PAYLOAD - i * MSS);

		g_assert_cmpuint(lens[i], ==, ip_len + TCP_HDR + payload);
		if (v6) {
			g_assert_cmpuint(be16(p + 4), ==, lens[i] - 40);
		} else {
			g_assert_cmpuint(be16(p + 2), ==, lens[i]);
			g_assert_cmpuint(be16(p + 4), ==, 0x1234 + i);
			g_assert_cmpuint(ref_sum(0, p, 20), ==, 0xffff);
		}
		g_assert_cmpuint(be32(tcp + 4), ==, (guint32)(SEQ + i * MSS));
		/* PSH only on the last packet; options and everything else as they were */
		g_assert_cmphex(tcp[13], ==, i == n - 1 ? 0x18 : 0x10);
		g_assert_cmpmem(tcp + 20, 12, big + ip_len + 20, 12);
		g_assert_cmpmem(p + ip_len + TCP_HDR, payload, big + ip_len + TCP_HDR + i * MSS,
				payload);
		g_assert_true(tcp_csum_ok(p, lens[i], v6));
	}
}

static void
test_gro_joins(gconstpointer data)
{
	gboolean v6 = GPOINTER_TO_INT(data);
	gsize ip_len = v6 ? 40 : 20, lens[16], got_len;
	static guint8 big[TUN_OFFLOAD_MAX], out[16 * 2048], joined[TUN_OFFLOAD_MAX];
	struct virtio_net_hdr hdr, got_hdr;
	gsize len = big_segment(big, v6, &hdr);
	guint n = cut(big, len, &hdr, out, lens);
	g_autoptr(TunGro) gro = tun_gro_new();

	for (guint i = 0; i < n; i++)
		g_assert_true(tun_gro_add(gro, out + i * 2048, lens[i]));
	const guint8 *w = tun_gro_take(gro, &got_len);
	g_assert_nonnull(w);
	g_assert_cmpuint(got_len, ==, TUN_VNET_HDR_LEN + len);
	memcpy(&got_hdr, w, sizeof(got_hdr));
	memcpy(joined, w + TUN_VNET_HDR_LEN, len);
	g_assert_null(tun_gro_take(gro, &got_len)); /* emptied */
	g_assert_cmpuint(got_hdr.gso_type, ==, hdr.gso_type);
	g_assert_cmpuint(got_hdr.gso_size, ==, MSS);
	g_assert_cmpuint(got_hdr.hdr_len, ==, ip_len + TCP_HDR);
	g_assert_cmpuint(got_hdr.flags, ==, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	g_assert_cmpuint(got_hdr.csum_start, ==, ip_len);
	g_assert_cmpuint(got_hdr.csum_offset, ==, 16);
	/* the original segment again, its checksum the kernel's to finish */
	g_assert_cmpmem(joined + ip_len + TCP_HDR, PAYLOAD, big + ip_len + TCP_HDR, PAYLOAD);
	g_assert_cmpmem(joined + ip_len, 16, big + ip_len, 16);
	if (v6)
		g_assert_cmpuint(be16(joined + 4), ==, len - 40);
	else
		g_assert_cmpuint(ref_sum(0, joined, 20), ==, 0xffff);
	g_assert_true(tun_offload_finish_csum(joined, len, got_hdr.csum_start,
					      got_hdr.csum_offset));
	g_assert_true(tcp_csum_ok(joined, len, v6));
}

/* Packets that must not join what is held: each starts anew (add says FALSE). */
static void
test_gro_refuses(void)
{
	gsize lens[16], len2;
	static guint8 big[TUN_OFFLOAD_MAX], out[16 * 2048], odd[2048];
	struct virtio_net_hdr hdr;
	gsize len = big_segment(big, FALSE, &hdr);
	guint n = cut(big, len, &hdr, out, lens);
	g_autoptr(TunGro) gro = tun_gro_new();

	g_assert_cmpuint(n, >=, 4);
	/* a gap in the sequence */
	g_assert_true(tun_gro_add(gro, out, lens[0]));
	g_assert_false(tun_gro_add(gro, out + 2 * 2048, lens[2]));
	/* another flow (source port) */
	memcpy(odd, out + 2048, lens[1]);
	odd[21] ^= 1;
	g_assert_false(tun_gro_add(gro, odd, lens[1]));
	/* another window, another timestamp */
	memcpy(odd, out + 2048, lens[1]);
	odd[20 + 15] ^= 1;
	g_assert_false(tun_gro_add(gro, odd, lens[1]));
	memcpy(odd, out + 2048, lens[1]);
	odd[20 + 31] ^= 1;
	g_assert_false(tun_gro_add(gro, odd, lens[1]));
	/* FIN set */
	memcpy(odd, out + 2048, lens[1]);
	odd[20 + 13] |= 0x01;
	g_assert_false(tun_gro_add(gro, odd, lens[1]));
	/* the right one joins; after a short one nothing more may */
	g_assert_true(tun_gro_add(gro, out + 2048, lens[1]));
	tun_gro_take(gro, &len2);
	g_assert_true(tun_gro_add(gro, out + (n - 1) * 2048, lens[n - 1])); /* short, PSH */
	g_assert_false(tun_gro_add(gro, out, lens[0]));
	/* a lone packet goes out as it came, without GSO */
	const guint8 *w = tun_gro_take(gro, &len2);
	struct virtio_net_hdr got;
	memcpy(&got, w, sizeof(got));
	g_assert_cmpuint(got.gso_type, ==, VIRTIO_NET_HDR_GSO_NONE);
	g_assert_cmpuint(got.flags, ==, 0);
	g_assert_cmpuint(len2, ==, TUN_VNET_HDR_LEN + lens[n - 1]);
	g_assert_cmpmem(w + TUN_VNET_HDR_LEN, lens[n - 1], out + (n - 1) * 2048, lens[n - 1]);
	/* not TCP: held alone */
	memcpy(odd, out, lens[0]);
	odd[9] = IPPROTO_UDP;
	g_assert_true(tun_gro_add(gro, odd, lens[0]));
	g_assert_false(tun_gro_add(gro, out, lens[0]));
}

static void
test_tso_refuses(void)
{
	static guint8 big[TUN_OFFLOAD_MAX];
	struct virtio_net_hdr hdr;
	gsize len = big_segment(big, FALSE, &hdr);
	TunTso tso;

	hdr.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	g_assert_false(tun_tso_init(&tso, &hdr, big, len));
	hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; /* an IPv4 packet */
	g_assert_false(tun_tso_init(&tso, &hdr, big, len));
	hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	hdr.gso_size = 0;
	g_assert_false(tun_tso_init(&tso, &hdr, big, len));
	hdr.gso_size = MSS;
	g_assert_false(tun_tso_init(&tso, &hdr, big, 30)); /* shorter than its headers */
	big[20 + 12] = 0xf0;                               /* TCP header past the end */
	g_assert_false(tun_tso_init(&tso, &hdr, big, 20 + 40));
}

static void
test_finish_csum(void)
{
	static guint8 big[TUN_OFFLOAD_MAX];
	struct virtio_net_hdr hdr;
	gsize len = big_segment(big, FALSE, &hdr);
	guint8 pkt[20 + TCP_HDR + 100];
	guint8 pseudo[12] = { 10, 1, 0, 1, 10, 2, 0, 1, 0, IPPROTO_TCP, 0, TCP_HDR + 100 };

	memcpy(pkt, big, sizeof(pkt));
	pkt[2] = 0;
	pkt[3] = sizeof(pkt);
	/* what the kernel leaves: the pseudo-header sum in the field */
	guint16 partial = ref_sum(0, pseudo, sizeof(pseudo));
	pkt[36] = (guint8)(partial >> 8);
	pkt[37] = (guint8)partial;
	g_assert_true(tun_offload_finish_csum(pkt, sizeof(pkt), 20, 16));
	g_assert_true(tcp_csum_ok(pkt, sizeof(pkt), FALSE));
	g_assert_false(tun_offload_finish_csum(pkt, sizeof(pkt), 20, sizeof(pkt) - 21));
	g_assert_false(tun_offload_finish_csum(pkt, len, 0xffff, 16));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_data_func("/kernel-tun/offload/tso/ipv4", GINT_TO_POINTER(FALSE), test_tso);
	g_test_add_data_func("/kernel-tun/offload/tso/ipv6", GINT_TO_POINTER(TRUE), test_tso);
	g_test_add_func("/kernel-tun/offload/tso/refuses", test_tso_refuses);
	g_test_add_data_func("/kernel-tun/offload/gro/ipv4", GINT_TO_POINTER(FALSE),
			     test_gro_joins);
	g_test_add_data_func("/kernel-tun/offload/gro/ipv6", GINT_TO_POINTER(TRUE),
			     test_gro_joins);
	g_test_add_func("/kernel-tun/offload/gro/refuses", test_gro_refuses);
	g_test_add_func("/kernel-tun/offload/finish-csum", test_finish_csum);
	return g_test_run();
}
