/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TUN offloads (IFF_VNET_HDR): the kernel hands kernel-tun TCP segments of up to 64 KB
 * (TSO) with a virtio_net_hdr in front, and takes such large segments back (GRO done
 * here). The kernel's TCP stack then handles one packet where it would handle forty;
 * that per-packet work, not the cipher, is what limits a userspace data plane.
 *
 * Out: tun_tso_* cuts a large segment into MSS-sized IP packets with their own
 * headers and checksums, each sealed into its own ESP datagram. In: tun_gro_* joins
 * the decrypted segments of one TCP flow that follow each other back into one large
 * segment for one write. Both work on plain bytes and touch no SA state.
 */
#pragma once

#include <glib.h>
#include <linux/virtio_net.h>

G_BEGIN_DECLS

#define TUN_VNET_HDR_LEN sizeof(struct virtio_net_hdr)
/* The largest IP packet, and so the largest segment either way. */
#define TUN_OFFLOAD_MAX 65535

/*
 * Completes a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM): the sum
 * of @pkt from @start, stored at @start + @offset. FALSE when those are out of bounds.
 */
gboolean tun_offload_finish_csum(guint8 *pkt, gsize len, guint16 start, guint16 offset);

/* Cutting one large TCP segment (the packet after its virtio_net_hdr) into packets. */
typedef struct {
	const guint8 *pkt;
	gsize len;
	gsize ip_len, hdr_len; /* IP header; IP and TCP headers */
	gsize mss;
	gsize off; /* where the next segment's payload starts in @pkt */
	guint index;
	gboolean v6;
} TunTso;

/* FALSE when @hdr is no TCP GSO or @pkt no TCP segment it fits (not cut then). */
gboolean tun_tso_init(TunTso *tso, const struct virtio_net_hdr *hdr, const guint8 *pkt,
		      gsize len);
/* Writes the next packet, checksums done, to @out (@room bytes); its length, 0 at the end. */
gsize tun_tso_next(TunTso *tso, guint8 *out, gsize room);

/* Joining consecutive TCP segments of one flow into one large segment. */
typedef struct TunGro TunGro;

TunGro *tun_gro_new(void);
void tun_gro_free(TunGro *gro);
/*
 * Adds @pkt to what is held when it continues it (same flow and headers, the next
 * sequence number, no more payload than the first); TRUE when it did. Otherwise the
 * caller writes out what is held (tun_gro_take) and offers @pkt again.
 */
gboolean tun_gro_add(TunGro *gro, const guint8 *pkt, gsize len);
/*
 * What is held, with its virtio_net_hdr in front, ready for one write; NULL when
 * nothing is. Empties the holder (the bytes stay valid until the next add).
 */
const guint8 *tun_gro_take(TunGro *gro, gsize *len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TunGro, tun_gro_free)

G_END_DECLS
