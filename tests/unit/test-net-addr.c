/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VpndAddr conversions: text, socket addresses, comparisons. */
#include <netinet/in.h>
#include <string.h>

#include <glib.h>

#include "net/net_addr.h"

typedef struct {
	const char *text;
	int family;
	guint16 port;
	const char *formatted; /* with @port */
} AddrCase;

static const AddrCase addr_cases[] = {
	{ "192.0.2.1", AF_INET, 500, "192.0.2.1:500" },
	{ "0.0.0.0", AF_INET, 0, "0.0.0.0" },
	{ "2001:db8::1", AF_INET6, 4500, "[2001:db8::1]:4500" },
	{ "::", AF_INET6, 0, "::" },
	{ "::ffff:192.0.2.1", AF_INET6, 1, "[::ffff:192.0.2.1]:1" },
	{ "fe80::1:2", AF_INET6, 65535, "[fe80::1:2]:65535" },
};

static void
test_roundtrip(gconstpointer data)
{
	const AddrCase *c = data;
	char buf[NET_ADDR_STRLEN];
	struct sockaddr_storage ss;
	VpndAddr addr, back;
	socklen_t len;

	g_assert_true(net_addr_parse(c->text, &addr));
	g_assert_cmpint(addr.family, ==, c->family);
	g_assert_cmpuint(addr.port, ==, 0);
	addr.port = c->port;
	g_assert_cmpstr(net_addr_format(&addr, buf, sizeof(buf)), ==, c->formatted);

	len = net_addr_to_sockaddr(&addr, &ss);
	g_assert_cmpuint(len, ==,
			 c->family == AF_INET ? sizeof(struct sockaddr_in)
					      : sizeof(struct sockaddr_in6));
	g_assert_true(net_addr_from_sockaddr(&back, (struct sockaddr *)&ss, len));
	g_assert_cmpmem(&back, sizeof(back), &addr, sizeof(addr));
}

static void
test_parse_invalid(void)
{
	static const char *const bad[] = {
		"",          "192.0.2",       "192.0.2.256", "host",
		"[::1]",     "192.0.2.1:500", "2001:db8::g", " 192.0.2.1",
		"1.2.3.4/24"
	};
	VpndAddr addr;

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_false(net_addr_parse(bad[i], &addr));
		g_assert_cmpint(addr.family, ==, 0);
	}
}

static void
test_sockaddr_short_or_foreign(void)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr sa = { .sa_family = AF_UNIX };
	VpndAddr addr = { 0 }, none = { 0 };
	struct sockaddr_storage ss;

	g_assert_false(net_addr_from_sockaddr(&addr, (struct sockaddr *)&sin6,
					      sizeof(struct sockaddr_in)));
	g_assert_false(net_addr_from_sockaddr(&addr, &sa, sizeof(sa)));
	g_assert_cmpuint(net_addr_to_sockaddr(&none, &ss), ==, 0);
}

static void
test_compare(void)
{
	VpndAddr a, b, any4, any6;
	char buf[NET_ADDR_STRLEN];

	g_assert_true(net_addr_parse("192.0.2.1", &a));
	g_assert_true(net_addr_parse("192.0.2.1", &b));
	a.port = 500;
	b.port = 4500;
	g_assert_true(net_addr_equal_ip(&a, &b));
	g_assert_true(net_addr_parse("::ffff:192.0.2.1", &b));
	g_assert_false(net_addr_equal_ip(&a, &b));
	g_assert_true(net_addr_parse("192.0.2.2", &b));
	g_assert_false(net_addr_equal_ip(&a, &b));

	net_addr_set_any(&any4, AF_INET, 500);
	net_addr_set_any(&any6, AF_INET6, 0);
	g_assert_true(net_addr_is_any(&any4));
	g_assert_true(net_addr_is_any(&any6));
	g_assert_false(net_addr_is_any(&a));
	g_assert_false(net_addr_equal_ip(&any4, &any6));
	g_assert_cmpstr(net_addr_format(&any4, buf, sizeof(buf)), ==, "0.0.0.0:500");

	memset(&a, 0, sizeof(a));
	g_assert_false(net_addr_is_any(&a));
	g_assert_false(net_addr_equal_ip(&a, &a));
	g_assert_cmpstr(net_addr_format(&a, buf, sizeof(buf)), ==, "(none)");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(addr_cases); i++) {
		g_autofree char *path =
			g_strdup_printf("/net/addr/roundtrip/%s", addr_cases[i].text);

		g_test_add_data_func(path, &addr_cases[i], test_roundtrip);
	}
	g_test_add_func("/net/addr/parse-invalid", test_parse_invalid);
	g_test_add_func("/net/addr/sockaddr-short-or-foreign", test_sockaddr_short_or_foreign);
	g_test_add_func("/net/addr/compare", test_compare);
	return g_test_run();
}
