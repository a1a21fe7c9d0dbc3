/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Two IKE engines joined in memory. A packet sent by one is queued on the "wire" and
 * delivered to the other; with loss/duplication/reordering set, a seeded GRand decides
 * each packet's fate, so every run is the same. Time is a counter the harness moves to
 * the next armed timer when nothing is in flight.
 */
#pragma once

#include "core/crypto.h"
#include "core/plugin_loader.h"
#include "ike_engine.h"
#include "ike_sa.h"

typedef struct {
	IkeEngine *engine;
	VpndAddr addr;
	GPtrArray *log;     /* IkeAction other than SEND and TIMER, in order */
	GHashTable *timers; /* (sa id << 4 | kind) -> gint64 when */
	char *psk;          /* what psk_lookup returns */
	GRand *rand;        /* SPIs, nonces, IVs */
	guint sent;
} Peer;

typedef struct {
	Peer *to;
	GBytes *data;
	VpndAddr src, dst;
} Packet;

typedef struct {
	Peer a, b; /* a initiates */
	gint64 now;
	GQueue *wire;
	GRand *net_rand;
	gdouble loss, dup, reorder;
	guint dropped, duplicated, reordered, delivered;
	/* a filter may swallow (return FALSE) or change packets; NULL: none */
	gboolean (*filter)(gpointer data, Packet *p);
	gpointer filter_data;
	GPtrArray *trace; /* Packet: every datagram sent, before loss */
	/* FALSE (default): like the daemon, ike_engine_derive_pending() after each input;
	 * TRUE: never, a responder's keys come with the SA's next message */
	gboolean lazy_keys;
} Net;

void packet_free(Packet *p);

void harness_init(void);
void harness_fini(void);
VpndHost *harness_host(void);

/* Two engines with seeds @seed and @seed + 1; addresses 192.0.2.1 and 192.0.2.2. */
Net *net_new(guint32 seed);
/* The same with @tries retransmissions before an SA is given up (0: the default, 5). */
Net *net_new_with_tries(guint32 seed, guint tries);
/* The same with both engines' limits from @limits (host, random and PSK are the harness's). */
Net *net_new_with_config(guint32 seed, const IkeEngineConfig *limits);
void net_free(Net *net);
/* A PSK connection from @self to @peer with one child "net" (TS as given, NULL: dynamic). */
ConnConfig *net_conn(Peer *self, Peer *peer, const char *ike, const char *esp, const char *local_ts,
		     const char *remote_ts);

/* Collects actions, delivers packets, fires timers, until quiet or @until (absolute). */
void net_run(Net *net, gint64 until);
/* Delivers the packets in flight (no timers). */
void net_flush(Net *net);
/* Moves the clock to @t, firing every timer due on the way. */
void net_advance(Net *net, gint64 t);

/* Log queries. */
guint peer_count(Peer *p, IkeActionKind kind);
/* The @n-th action of @kind (nullable). */
IkeAction *peer_find(Peer *p, IkeActionKind kind, guint n);
/* The n-th ADD_SA of direction @dir. */
IkeAction *peer_find_sa(Peer *p, VpndDirection dir, guint n);
/* The last IKE/child up-down event. */
IkeAction *peer_last(Peer *p, IkeActionKind kind);

/* Asserts both sides' child SAs of one negotiation agree: SPIs, transforms, keys. */
void assert_child_pair(IkeAction *out, IkeAction *in);
/* Asserts both IKE SAs exist, are ESTABLISHED with the same SPIs and transforms. */
void assert_ike_pair(Net *net, guint32 id_a);
