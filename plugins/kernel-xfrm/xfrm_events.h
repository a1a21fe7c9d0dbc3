/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ACQUIRE, EXPIRE and MAPPING from the kernel, delivered on the GLib main loop. */
#pragma once

#include "xfrm_kernel.h"

G_BEGIN_DECLS

/* Subscribes to the XFRM multicast groups and attaches a source to the main context. */
gboolean xfrm_events_start(VpndKernel *k, GError **error);
void xfrm_events_stop(VpndKernel *k);

G_END_DECLS
