/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The net { } section of vpnd.conf: ports and addresses, and errors naming the setting. */
#include <netinet/in.h>
#include <string.h>

#include <glib.h>

#include "net/net_addr.h"
#include "net/net_config.h"
#include "net/net_error.h"

static NetConfig *
config_from(const char *text, GError **error)
{
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) local_error = NULL;

	g_assert_true(settings_load_string(settings, text, strlen(text), "test", &local_error));
	g_assert_no_error(local_error);
	return net_config_new_from_settings(settings, error);
}

static void
test_defaults(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(NetConfig) config = config_from("log {\n}\n", &error);

	g_assert_no_error(error);
	g_assert_cmpuint(config->port, ==, 500);
	g_assert_cmpuint(config->port_nat_t, ==, 4500);
	g_assert_cmpuint(config->addresses->len, ==, 0);
}

static void
test_ports_and_addresses(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(NetConfig) config =
		config_from("net {\n port = 0\n port_nat_t = 14500\n"
			    " addresses = 192.0.2.1, 2001:db8::1 ,\t198.51.100.7 %any\n}\n",
			    &error);
	char buf[NET_ADDR_STRLEN];

	g_assert_no_error(error);
	g_assert_cmpuint(config->port, ==, 0);
	g_assert_cmpuint(config->port_nat_t, ==, 14500);
	g_assert_cmpuint(config->addresses->len, ==, 3);
	g_assert_cmpstr(
		net_addr_format(&g_array_index(config->addresses, VpndAddr, 0), buf, sizeof(buf)),
		==, "192.0.2.1");
	g_assert_cmpstr(
		net_addr_format(&g_array_index(config->addresses, VpndAddr, 1), buf, sizeof(buf)),
		==, "2001:db8::1");
	g_assert_cmpstr(
		net_addr_format(&g_array_index(config->addresses, VpndAddr, 2), buf, sizeof(buf)),
		==, "198.51.100.7");
}

static void
test_any_is_default(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(NetConfig) config = config_from("net {\n addresses = %any\n}\n", &error);

	g_assert_no_error(error);
	g_assert_cmpuint(config->addresses->len, ==, 0);
}

typedef struct {
	const char *name;
	const char *text;
	const char *message;
} BadCase;

static const BadCase bad_cases[] = {
	{ "port-text", "net {\n port = ike\n}\n",
	  "net.port: \"ike\" is not a port number (0-65535)" },
	{ "port-range", "net {\n port_nat_t = 65536\n}\n",
	  "net.port_nat_t: \"65536\" is not a port number (0-65535)" },
	{ "port-negative", "net {\n port = -1\n}\n",
	  "net.port: \"-1\" is not a port number (0-65535)" },
	{ "ports-equal", "net {\n port = 4500\n}\n",
	  "net.port and net.port_nat_t are both 4500: they must differ" },
	{ "address", "net {\n addresses = 192.0.2.1, vpn.example.org\n}\n",
	  "net.addresses: \"vpn.example.org\" is not a numeric IPv4 or IPv6 address" },
};

static void
test_bad(gconstpointer data)
{
	const BadCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(NetConfig) config = config_from(c->text, &error);

	g_assert_null(config);
	g_assert_error(error, NET_ERROR, NET_ERROR_CONFIG);
	g_assert_cmpstr(error->message, ==, c->message);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/net/config/defaults", test_defaults);
	g_test_add_func("/net/config/ports-and-addresses", test_ports_and_addresses);
	g_test_add_func("/net/config/any-is-default", test_any_is_default);
	for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		g_autofree char *path = g_strdup_printf("/net/config/bad/%s", bad_cases[i].name);

		g_test_add_data_func(path, &bad_cases[i], test_bad);
	}
	return g_test_run();
}
