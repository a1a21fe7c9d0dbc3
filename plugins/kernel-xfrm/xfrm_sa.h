/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SAs: SPI allocation, add/update/query/delete over XFRM netlink. */
#pragma once

#include "xfrm_kernel.h"

G_BEGIN_DECLS

/* An installed SA's kernel key: (destination, SPI, protocol). */
typedef struct {
	guint8 family;
	guint8 protocol;
	guint32 spi; /* host order */
	guint8 dst[16];
} XfrmSaKey;

void xfrm_sa_key_init(XfrmSaKey *key, const VpndSaId *id);
guint xfrm_sa_key_hash(gconstpointer key);
gboolean xfrm_sa_key_equal(gconstpointer a, gconstpointer b);

/* Values of VpndKernel.sas; owns the message that installed the SA (keys: wiped). */
typedef struct XfrmSaEntry XfrmSaEntry;
void xfrm_sa_entry_free(XfrmSaEntry *entry);

gboolean xfrm_sa_get_spi(VpndKernel *k, const VpndAddr *src, const VpndAddr *dst, guint8 protocol,
			 guint32 *spi, GError **error);
gboolean xfrm_sa_add(VpndKernel *k, const VpndSaParams *params, GError **error);
gboolean xfrm_sa_update(VpndKernel *k, const VpndSaId *id, const VpndAddr *new_src,
			const VpndAddr *new_dst, GError **error);
gboolean xfrm_sa_query(VpndKernel *k, const VpndSaId *id, VpndSaStats *stats, GError **error);
gboolean xfrm_sa_del(VpndKernel *k, const VpndSaId *id, GError **error);
/* TRUE when the kernel knows no ESP type (a throwaway SA says so; it is removed). */
gboolean xfrm_sa_kernel_lacks_esp(VpndKernel *k);

/* Deletes every SA in the kernel whose mark says it is ours; returns how many. */
guint xfrm_sa_flush_owned(VpndKernel *k);

G_END_DECLS
