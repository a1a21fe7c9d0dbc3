/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VpndAddr (include/vpnd/kernel.h) to and from socket addresses and text. */
#pragma once

#include <sys/socket.h>
#include <glib.h>
#include <vpnd/kernel.h>

G_BEGIN_DECLS

/* "[" INET6_ADDRSTRLEN "]:65535" with room to spare */
#define NET_ADDR_STRLEN 64

/* Fills @out (address and port) from an AF_INET or AF_INET6 @sa; FALSE for other families
 * or a short @len. IPv4-mapped IPv6 addresses stay IPv6. */
gboolean net_addr_from_sockaddr(VpndAddr *out, const struct sockaddr *sa, socklen_t len);

/* Writes @addr as a sockaddr_in/sockaddr_in6 into @ss; returns its length, 0 when
 * @addr has no family we know. */
socklen_t net_addr_to_sockaddr(const VpndAddr *addr, struct sockaddr_storage *ss);

/* Parses a numeric IPv4 or IPv6 address (no port, no brackets); @out->port is 0. */
gboolean net_addr_parse(const char *text, VpndAddr *out);

/* "192.0.2.1:500", "[2001:db8::1]:4500", or without the port when it is 0; "(none)"
 * for family 0. Returns @buf, which holds at least NET_ADDR_STRLEN bytes. */
const char *net_addr_format(const VpndAddr *addr, char *buf, gsize size);

/* The wildcard address of @family with @port. */
void net_addr_set_any(VpndAddr *addr, int family, guint16 port);
/* Whether @addr is 0.0.0.0 or :: (ports are ignored). */
gboolean net_addr_is_any(const VpndAddr *addr);
/* Same family and address; ports are ignored. */
gboolean net_addr_equal_ip(const VpndAddr *a, const VpndAddr *b);
/* Bytes of the address for @family: 4, 16, or 0 for an unknown family. */
gsize net_addr_len(int family);

G_END_DECLS
