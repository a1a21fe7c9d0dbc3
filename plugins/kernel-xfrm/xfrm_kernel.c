/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owner marks and address conversions shared by the SA, policy and event code. */
#include <string.h>
#include <sys/socket.h>
#include "xfrm_kernel.h"

gboolean
xfrm_kernel_mark(VpndKernel *k, guint32 value, guint32 mask, struct xfrm_mark *out, GError **error)
{
	if ((value | mask) & k->owner_bit) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "mark 0x%x/0x%x uses bit 0x%x, which kernel-xfrm reserves to tag "
			    "its own entries (plugins.kernel-xfrm.owner_mark)",
			    value, mask, k->owner_bit);
		return FALSE;
	}
	out->v = value & mask;
	out->m = mask | k->owner_bit;
	return TRUE;
}

gboolean
xfrm_kernel_mark_is_ours(VpndKernel *k, const struct xfrm_mark *mark)
{
	return (mark->m & k->owner_bit) && !(mark->v & k->owner_bit);
}

void
xfrm_kernel_addr_to_xfrm(const VpndAddr *addr, xfrm_address_t *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out, addr->addr, addr->family == AF_INET ? 4 : 16);
}

void
xfrm_kernel_addr_from_xfrm(guint8 family, const xfrm_address_t *addr, guint16 port, VpndAddr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->addr, addr, family == AF_INET ? 4 : 16);
	out->port = port;
}
