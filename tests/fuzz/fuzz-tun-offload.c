/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for kernel-tun's TUN offloads (plugins/kernel-tun/tun_offload.c).
 *
 * The first byte picks the side. Even: what a peer may send once decrypted, a run of
 * packets (each behind a 2-byte big-endian length) given to the GRO joiner as the
 * inbound path does; whatever is joined must carry lengths that agree and a checksum
 * that can be finished. Odd: a virtio_net_hdr (10 bytes) and a packet as the TUN hands
 * them over, cut by TSO; the packets must fit their buffer, and when they all join
 * again the payload must be the original one. See README.md.
 */
#include "tun_offload.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OUT_ROOM 2048

static void
check_taken(const guint8 *w, gsize len)
{
	struct virtio_net_hdr hdr;

	if (len < TUN_VNET_HDR_LEN || len > TUN_VNET_HDR_LEN + TUN_OFFLOAD_MAX)
		abort();
	memcpy(&hdr, w, sizeof(hdr));
	if (hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return;
	static guint8 copy[TUN_OFFLOAD_MAX];
	gsize pkt_len = len - TUN_VNET_HDR_LEN;
	memcpy(copy, w + TUN_VNET_HDR_LEN, pkt_len);
	gsize ip_len_field = hdr.gso_type == VIRTIO_NET_HDR_GSO_TCPV6
				     ? (gsize)(copy[4] << 8 | copy[5]) + 40
				     : (gsize)(copy[2] << 8 | copy[3]);
	if (ip_len_field != pkt_len || hdr.hdr_len > pkt_len ||
	    !tun_offload_finish_csum(copy, pkt_len, hdr.csum_start, hdr.csum_offset))
		abort();
}

static void
fuzz_gro(const uint8_t *data, size_t size)
{
	g_autoptr(TunGro) gro = tun_gro_new();
	const guint8 *w;
	gsize len;

	while (size >= 2) {
		gsize n = MIN((gsize)(data[0] << 8 | data[1]), size - 2);
		const guint8 *pkt = data + 2;
		data += 2 + n;
		size -= 2 + n;
		if (tun_gro_add(gro, pkt, n))
			continue;
		w = tun_gro_take(gro, &len);
		if (!w)
			abort(); /* refused while holding nothing */
		check_taken(w, len);
		if (!tun_gro_add(gro, pkt, n))
			abort(); /* an empty joiner takes any packet */
	}
	if ((w = tun_gro_take(gro, &len)))
		check_taken(w, len);
}

static void
fuzz_tso(const uint8_t *data, size_t size)
{
	static guint8 out[OUT_ROOM];
	struct virtio_net_hdr hdr;
	g_autoptr(TunGro) gro = tun_gro_new();
	gboolean all_joined = TRUE;
	TunTso tso;
	gsize len, n = 0;

	if (size < sizeof(hdr) || size - sizeof(hdr) > TUN_OFFLOAD_MAX)
		return;
	memcpy(&hdr, data, sizeof(hdr));
	const guint8 *pkt = data + sizeof(hdr);
	gsize pkt_len = size - sizeof(hdr);
	if (!tun_tso_init(&tso, &hdr, pkt, pkt_len))
		return;
	gsize hdr_len = tso.hdr_len;
	while ((len = tun_tso_next(&tso, out, sizeof(out))) > 0) {
		if (len > sizeof(out) || ++n > pkt_len)
			abort();
		all_joined &= tun_gro_add(gro, out, len);
	}
	const guint8 *w = tun_gro_take(gro, &len);
	if (!w || !all_joined || n < 2 || tso.off != pkt_len)
		return;
	check_taken(w, len);
	/* joined back: the same payload after the same amount of header */
	if (len - TUN_VNET_HDR_LEN != pkt_len ||
	    memcmp(w + TUN_VNET_HDR_LEN + hdr_len, pkt + hdr_len, pkt_len - hdr_len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_tso(data + 1, size - 1);
	else
		fuzz_gro(data + 1, size - 1);
	return 0;
}
