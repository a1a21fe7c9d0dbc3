/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rtnetlink requests kernel-tun makes (libmnl): bring the TUN link up, add routes. */
#pragma once

#include <glib.h>

#include "tun_ts.h"

G_BEGIN_DECLS

typedef struct TunNetlink TunNetlink;

TunNetlink *tun_netlink_new(GError **error);
void tun_netlink_free(TunNetlink *nl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TunNetlink, tun_netlink_free)

/* Sets @mtu, the transmit queue length @txqlen and IFF_UP on link @ifindex. */
gboolean tun_netlink_link_up(TunNetlink *nl, guint ifindex, guint mtu, guint txqlen,
			     GError **error);
/* Adds (replacing any route to the same prefix in the main table) or deletes a route. */
gboolean tun_netlink_route(TunNetlink *nl, gboolean add, guint ifindex, const TunPrefix *prefix,
			   GError **error);

G_END_DECLS
