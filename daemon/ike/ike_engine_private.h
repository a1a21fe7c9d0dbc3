/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine's insides, shared by ike_engine.c (the driver) and ike_engine_peers.c
 * (who belongs to whom: connections by address and identity, half-open counts,
 * INITIAL_CONTACT, rekey successors). Nothing outside daemon/ike/ includes this.
 */
#pragma once

#include "ike_cookie.h"
#include "ike_engine.h"
#include "ike_sa.h"

struct _IkeEngine {
	IkeEngineConfig cfg;
	GHashTable *sas;       /* id -> IkeSa (owned) */
	GHashTable *by_spi;    /* our SPI (guint64) -> IkeSa */
	GHashTable *half_open; /* responder: initiator's SPI (guint64) -> IkeSa */
	GPtrArray *conns;      /* ConnConfig */
	GPtrArray *actions;    /* IkeAction */
	guint32 next_id, next_reqid, last_child_id;
	gint64 now; /* of the call being processed */
	IkeCookieJar *cookies;
	guint n_half_open;            /* responder SAs not yet authenticated */
	guint n_destroying;           /* SAs marked gone, freed by the next reap() */
	GArray *keys_pending;          /* guint32 ids: responders that answered IKE_SA_INIT */
	GHashTable *half_open_by_host; /* peer address (GBytes) -> GUINT_TO_POINTER(count) */
	/* peer identity (type || data, GBytes) -> GPtrArray of the IkeSa (borrowed) that
	 * authenticated it, until reaped: INITIAL_CONTACT looks there, not at every SA */
	GHashTable *by_peer_id;
	IkeEngineCounters counters;
};

/* Marks @sa gone: children down, timers cancelled, ike-updown; freed by the engine. */
void ike_engine_destroy_sa(IkeSa *sa, IkeReason reason, guint16 notify);

/* The same address, whatever the port (a NAT may have moved it). */
gboolean ike_same_host(const VpndAddr *a, const VpndAddr *b);
/* The first connection that fits these addresses. (nullable) (transfer none) */
ConnConfig *ike_engine_find_conn(IkeEngine *e, const VpndAddr *local, const VpndAddr *remote);
/* Takes @sa out of the index by peer identity (before it is freed). */
void ike_engine_unindex_peer(IkeEngine *e, IkeSa *sa);
/* Queues a Delete of @sa (established) and sends it as soon as @sa is free to. */
void ike_engine_queue_delete(IkeSa *sa);
/* Half-open responder SAs from @host's address. */
guint ike_engine_half_open_from(IkeEngine *e, const VpndAddr *host);
