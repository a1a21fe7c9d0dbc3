/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "net_addr.h"

gsize
net_addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

gboolean
net_addr_from_sockaddr(VpndAddr *out, const struct sockaddr *sa, socklen_t len)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		out->family = AF_INET;
		memcpy(out->addr, &sin->sin_addr, 4);
		out->port = ntohs(sin->sin_port);
		return TRUE;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		out->family = AF_INET6;
		memcpy(out->addr, &sin6->sin6_addr, 16);
		out->port = ntohs(sin6->sin6_port);
		return TRUE;
	}
	return FALSE;
}

socklen_t
net_addr_to_sockaddr(const VpndAddr *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (addr->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr->addr, 4);
		sin->sin_port = htons(addr->port);
		return sizeof(*sin);
	}
	if (addr->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr->addr, 16);
		sin6->sin6_port = htons(addr->port);
		return sizeof(*sin6);
	}
	return 0;
}

gboolean
net_addr_parse(const char *text, VpndAddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = AF_INET;
		return TRUE;
	}
	if (inet_pton(AF_INET6, text, out->addr) == 1) {
		out->family = AF_INET6;
		return TRUE;
	}
	memset(out, 0, sizeof(*out));
	return FALSE;
}

const char *
net_addr_format(const VpndAddr *addr, char *buf, gsize size)
{
	char ip[INET6_ADDRSTRLEN];

	if (!net_addr_len(addr->family) || !inet_ntop(addr->family, addr->addr, ip, sizeof(ip))) {
		g_strlcpy(buf, "(none)", size);
		return buf;
	}
	if (!addr->port)
		g_strlcpy(buf, ip, size);
	else if (addr->family == AF_INET6)
		g_snprintf(buf, size, "[%s]:%u", ip, addr->port);
	else
		g_snprintf(buf, size, "%s:%u", ip, addr->port);
	return buf;
}

void
net_addr_set_any(VpndAddr *addr, int family, guint16 port)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = family;
	addr->port = port;
}

gboolean
net_addr_is_any(const VpndAddr *addr)
{
	static const guint8 zero[16];
	gsize len = net_addr_len(addr->family);

	return len && memcmp(addr->addr, zero, len) == 0;
}

gboolean
net_addr_equal_ip(const VpndAddr *a, const VpndAddr *b)
{
	gsize len = net_addr_len(a->family);

	return len && a->family == b->family && memcmp(a->addr, b->addr, len) == 0;
}
