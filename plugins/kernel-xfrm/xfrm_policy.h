/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policies (SPD entries) over XFRM netlink, and the per-socket bypass policy. */
#pragma once

#include "xfrm_kernel.h"

G_BEGIN_DECLS

gboolean xfrm_policy_add(VpndKernel *k, const VpndPolicyParams *params, GError **error);
gboolean xfrm_policy_del(VpndKernel *k, const VpndPolicyParams *params, GError **error);
/* Deletes every policy in the kernel whose mark says it is ours; returns how many. */
guint xfrm_policy_flush_owned(VpndKernel *k);

/*
 * The priority for selectors @src and @dst: the more specific (longer prefixes, a
 * protocol, single ports), the smaller the number, which the kernel tries first.
 */
guint32 xfrm_policy_priority(const VpndTs *src, const VpndTs *dst);

/* A VpndTs as an XFRM selector; FALSE when the range is not one prefix / port. */
gboolean xfrm_policy_selector_from_ts(const VpndTs *src, const VpndTs *dst,
				      struct xfrm_selector *sel, GError **error);
void xfrm_policy_ts_from_selector(const struct xfrm_selector *sel, gboolean source, VpndTs *ts);

gboolean xfrm_policy_bypass_socket(int fd, int family, GError **error);

G_END_DECLS
