/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Traffic selectors against packets: the flow (addresses, protocol, ports) read from an
 * IPv4 or IPv6 header, matching it against VpndTs ranges, and a range turned into the
 * prefixes a route table takes. Pure functions: the unit tests run them without root.
 */
#pragma once

#include <glib.h>
#include <vpnd/kernel.h>

G_BEGIN_DECLS

#define TUN_TS_MAX_PREFIXES 64 /* routes per selector; wider odd ranges are refused */
#define TUN_FLOW_MAX_EXT_HEADERS 8

/* What selectors are matched on. */
typedef struct {
	guint8 family;        /* AF_INET or AF_INET6 */
	guint8 proto;         /* the upper-layer protocol, after IPv6 extension headers */
	gboolean ports_known; /* FALSE for non-first fragments and truncated headers */
	guint16 sport, dport; /* host order; ICMP: type << 8 | code in both */
	guint8 src[16], dst[16];
} TunFlow;

/* One route: @len leading bits of @addr. */
typedef struct {
	guint8 family;
	guint8 len;
	guint8 addr[16];
} TunPrefix;

/*
 * Reads the flow of the IP packet in @pkt. FALSE when it is not a complete IPv4 or
 * IPv6 header whose length fields agree with @len.
 */
gboolean tun_flow_parse(const guint8 *pkt, gsize len, TunFlow *flow);

gsize tun_addr_len(guint8 family);
/* @addr inside [ts->from, ts->to] and of the same family. */
gboolean tun_ts_has_addr(const VpndTs *ts, guint8 family, const guint8 *addr);
/* Protocol and port range: @port unknown only matches a selector of all ports. */
gboolean tun_ts_has_port(const VpndTs *ts, guint8 proto, gboolean port_known, guint16 port);

/* The packet's source in @src and destination in @dst, with protocol and ports. */
gboolean tun_ts_match_flow(const VpndTs *src, const VpndTs *dst, const TunFlow *flow);
/* Some selector of @local has the destination and some of @remote the source (inbound). */
gboolean tun_ts_lists_match_inbound(const VpndTs *local, guint n_local, const VpndTs *remote,
				    guint n_remote, const TunFlow *flow);

/*
 * The fewest prefixes covering exactly [ts->from, ts->to]. Returns how many were
 * written to @out (at most @max), or 0 when the range needs more than @max.
 */
guint tun_ts_to_prefixes(const VpndTs *ts, TunPrefix *out, guint max);

/* Fixed address bits plus protocol and port narrowing: higher is more specific. */
guint tun_ts_specificity(const VpndTs *ts);

/* A selector from a prefix ("10.1.0.0/24", "fd01::/64"), any protocol and port. */
gboolean tun_ts_from_string(const char *cidr, VpndTs *ts);
/* "10.1.0.0..10.1.0.255" style, for logs. (transfer full) */
char *tun_ts_to_string(const VpndTs *ts);

G_END_DECLS
