/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Routes into XFRM interfaces for route-based children (xfrm_route.c). */
#pragma once

#include "xfrm_kernel.h"

G_BEGIN_DECLS

/* rtm_protocol of the routes kernel-xfrm adds (unassigned in /etc/iproute2/rt_protos) */
#define XFRM_ROUTE_PROTOCOL 118

/*
 * For an outbound policy with an if_id: adds (or removes) the route of its remote
 * selector through that XFRM interface. Other policies: nothing. FALSE when there is
 * no such interface.
 */
gboolean xfrm_route_policy(VpndKernel *k, const VpndPolicyParams *p, gboolean add,
			   GError **error);
/* Removes every route with XFRM_ROUTE_PROTOCOL; how many. */
guint xfrm_route_flush_owned(VpndKernel *k);

G_END_DECLS
