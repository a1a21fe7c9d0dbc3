/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key exchange pairs made ahead, while the main loop is idle and not in the middle of a
 * handshake: one per group in use, so the next handshake (an initiate, an IKE_SA_INIT
 * to answer) finds its pair ready and the key generation is off its critical path.
 * Each pair is handed out once, then owned (and zeroed when freed) like any other. A
 * burst of handshakes makes its own pairs after the first; the pool refills after it.
 */
#pragma once

#include <vpnd/crypto.h>
#include "core/host.h"

G_BEGIN_DECLS

typedef struct KePool KePool;

/* Refills from the thread-default main context of the caller. */
KePool *ke_pool_new(void);
void ke_pool_free(KePool *pool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KePool, ke_pool_free)

/* A pair for group @id made ahead by @provider, or NULL when none is ready; either way
 * a pair for the next caller is made when the loop is idle. (transfer full) */
VpndKe *ke_pool_take(KePool *pool, const HostProvider *provider, VpndKeId id);
/* Has a pair of group @id made ahead, before anyone asks: for the groups that loaded
 * connections propose first. */
void ke_pool_prepare(KePool *pool, const HostProvider *provider, VpndKeId id);
/* Pairs ready now (tests). */
guint ke_pool_n_ready(KePool *pool);

G_END_DECLS
