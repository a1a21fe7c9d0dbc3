/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SAs and policies one kernel-tun instance holds, and the decisions taken on them:
 * which policy an outbound packet hits and which SA carries it, which SA an inbound SPI
 * names, whether a decrypted packet is one its SA may carry, when a lifetime runs out.
 * No I/O and no crypto of its own (an entry's EspSa may be NULL in tests).
 */
#pragma once

#include <glib.h>
#include <vpnd/kernel.h>

#include "esp_sa.h"
#include "tun_ts.h"

G_BEGIN_DECLS

/* Why a packet was dropped outside esp_sa; each has a counter in TunTable. */
typedef enum {
	TUN_DROP_UNKNOWN_SPI, /* inbound: no SA with that SPI */
	TUN_DROP_SHORT,       /* inbound: shorter than an ESP header */
	TUN_DROP_SELECTOR,    /* inbound: the inner packet is not what the SA carries */
	TUN_DROP_NOT_IP,      /* either way: not an IPv4/IPv6 packet */
	TUN_DROP_NO_POLICY,   /* outbound: no OUT policy matches */
	TUN_DROP_NO_SA,       /* outbound: the policy has no SA (yet) */
	TUN_DROP_POLICY,      /* outbound: a DROP or BYPASS policy (nothing bypasses a TUN) */
	TUN_DROP_IO,          /* a read, write or send failed */
	TUN_N_DROPS
} TunDrop;

const char *tun_drop_to_string(TunDrop drop);

typedef struct {
	VpndSaId id;
	VpndDirection dir;
	guint32 reqid;
	VpndAddr src, dst; /* outer, with the UDP encapsulation ports */
	gboolean encap;
	EspSa *esp; /* (nullable) in unit tests */
	/* one allocation: the local selectors, then the remote ones (NULL when none) */
	VpndTs *local_ts, *remote_ts;
	guint n_local_ts, n_remote_ts;
	VpndLifetime soft, hard;
	gint64 installed;      /* monotonic µs */
	gboolean soft_expired; /* the soft event went out */
	gboolean hard_expired; /* refused for traffic; removed on the next lifetime check */
	guint64 selector_drops;
	VpndAddr mapping; /* the last NAT mapping reported for it, family 0 before */
	guint64 order;    /* installation order: the newest OUT SA of a reqid carries traffic */
} TunSa;

typedef struct {
	VpndPolicyParams params;
	guint rank; /* lower is tried first */
	guint64 order;
	gboolean acquired; /* an ACQUIRE went out and no SA came since */
} TunPolicy;

typedef struct TunTable TunTable;

TunTable *tun_table_new(void);
void tun_table_free(TunTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TunTable, tun_table_free)

/*
 * A table entry from @params, without its EspSa (the caller adds it).
 * (transfer full) Freed by tun_sa_free(), which frees the EspSa too.
 */
TunSa *tun_sa_new(const VpndSaParams *params, gint64 now);
void tun_sa_free(TunSa *sa);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TunSa, tun_sa_free)

/* Takes @sa; FALSE (and @sa not taken) when an SA with its id is installed. */
gboolean tun_table_add_sa(TunTable *table, TunSa *sa);
/* By SPI, protocol and destination address (a destination of family 0 matches any). */
TunSa *tun_table_find_sa(TunTable *table, const VpndSaId *id);
/* The inbound SA of @spi. (nullable) */
TunSa *tun_table_lookup_in(TunTable *table, guint32 spi);
/* Takes the SA out of the table. (transfer full) */
TunSa *tun_table_steal_sa(TunTable *table, TunSa *sa);
/* Every SA, in installation order. (transfer none) */
GPtrArray *tun_table_get_sas(TunTable *table);

/* An inbound SPI in use or reserved by get_spi. */
gboolean tun_table_spi_taken(TunTable *table, guint32 spi);
void tun_table_reserve_spi(TunTable *table, guint32 spi, gint64 now);
/* Forgets reservations older than @max_age µs that no SA took. */
void tun_table_expire_reservations(TunTable *table, gint64 now, gint64 max_age);

/* FALSE when an identical policy (direction, selectors, mark, if_id) is installed. */
gboolean tun_table_add_policy(TunTable *table, const VpndPolicyParams *params);
gboolean tun_table_del_policy(TunTable *table, const VpndPolicyParams *params);
/* An ACQUIRE went out for @policy: none again until an OUT SA of its reqid comes. */
void tun_table_set_acquired(TunTable *table, TunPolicy *policy);
guint tun_table_n_policies(TunTable *table);

typedef enum {
	TUN_ROUTE_PROTECT, /* *sa carries it */
	TUN_ROUTE_NO_POLICY,
	TUN_ROUTE_NO_SA,  /* *policy protects it but has no SA: acquire when it traps */
	TUN_ROUTE_REFUSE, /* a DROP or BYPASS policy */
} TunRoute;

/* The first OUT policy matching @flow and, if it protects, its newest usable SA. */
TunRoute tun_table_route_out(TunTable *table, const TunFlow *flow, TunPolicy **policy, TunSa **sa);

/*
 * May inbound @sa carry @flow? Its own selectors decide; an SA installed without any
 * asks the IN policies of its reqid; with neither, nothing passes.
 */
gboolean tun_table_inbound_allowed(TunTable *table, const TunSa *sa, const TunFlow *flow);

/* What @sa's lifetimes say after @bytes and @packets at @now; 0 while neither ran out. */
VpndExpireKind tun_sa_lifetime_check(const TunSa *sa, guint64 bytes, guint64 packets, gint64 now);

/* Drop counters of the table's own reasons. */
void tun_table_count_drop(TunTable *table, TunDrop drop);
guint64 tun_table_get_drops(TunTable *table, TunDrop drop);

gboolean tun_addr_equal(const VpndAddr *a, const VpndAddr *b, gboolean with_port);
/* "192.0.2.1[4500]", for logs. (transfer full) */
char *tun_addr_to_string(const VpndAddr *addr);

G_END_DECLS
