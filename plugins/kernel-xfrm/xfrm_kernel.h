/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel-xfrm provider's instance, shared by its SA, policy and event code.
 *
 * Ownership: every SA and policy this plugin installs carries an XFRM mark whose mask
 * includes one reserved bit (owner_bit) with that bit clear in the value. The kernel
 * matches a packet when (packet mark & mask) == value, so for every packet that does
 * not carry owner_bit in its own mark the tag changes nothing, and a dump tells ours
 * apart from anyone else's even after a crash: open() and close() delete exactly the
 * entries whose mark has that shape. The bit is `plugins.kernel-xfrm.owner_mark`
 * (default XFRM_OWNER_MARK_DEFAULT); callers' own marks must leave it alone.
 */
#pragma once

#include <linux/xfrm.h>
#include <vpnd/kernel.h>
#include "xfrm_nl.h"

G_BEGIN_DECLS

#define XFRM_OWNER_MARK_DEFAULT 0x01000000u

struct VpndKernel {
	XfrmNl *nl;     /* requests */
	XfrmNl *events; /* ACQUIRE, EXPIRE, MAPPING multicast */
	guint events_source;
	const VpndKernelEvents *cb;
	gpointer cb_data;
	guint32 owner_bit;
	/* XfrmSaKey -> XfrmSaEntry: the SAs installed through us (marks, rebuild on update) */
	GHashTable *sas;
	/* XfrmSaKey set: SPIs from ALLOCSPI whose larval SA add_sa must update, not add */
	GHashTable *spis;
	XfrmNl *route;      /* NETLINK_ROUTE, opened with the first route-based policy */
	GHashTable *routes; /* "prefix dev ifindex" -> policies using our route */
};

/* The mark we put on a kernel object for a caller's (value, mask); FALSE if they clash. */
gboolean xfrm_kernel_mark(VpndKernel *k, guint32 value, guint32 mask, struct xfrm_mark *out,
			  GError **error);
/* TRUE when a dumped object's XFRMA_MARK says it is ours. */
gboolean xfrm_kernel_mark_is_ours(VpndKernel *k, const struct xfrm_mark *mark);

/* VpndAddr <-> kernel addresses */
void xfrm_kernel_addr_to_xfrm(const VpndAddr *addr, xfrm_address_t *out);
void xfrm_kernel_addr_from_xfrm(guint8 family, const xfrm_address_t *addr, guint16 port,
				VpndAddr *out);

G_END_DECLS
