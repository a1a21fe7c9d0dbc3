/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "net_addr.h"
#include "net_config.h"
#include "net_error.h"

NetConfig *
net_config_new(void)
{
	NetConfig *config = g_new0(NetConfig, 1);

	config->port = NET_DEFAULT_PORT;
	config->port_nat_t = NET_DEFAULT_PORT_NAT_T;
	config->addresses = g_array_new(FALSE, TRUE, sizeof(VpndAddr));
	return config;
}

void
net_config_free(NetConfig *config)
{
	if (!config)
		return;
	g_array_unref(config->addresses);
	g_free(config);
}

gboolean
net_config_set_addresses(NetConfig *config, const char *list, GError **error)
{
	g_auto(GStrv) words = g_strsplit_set(list, ", \t", -1);

	g_array_set_size(config->addresses, 0);
	for (char **w = words; *w; w++) {
		VpndAddr addr;

		if (!**w || g_str_equal(*w, "%any"))
			continue;
		if (!net_addr_parse(*w, &addr)) {
			g_array_set_size(config->addresses, 0);
			g_set_error(error, NET_ERROR, NET_ERROR_CONFIG,
				    "net.addresses: \"%s\" is not a numeric IPv4 or IPv6 address",
				    *w);
			return FALSE;
		}
		g_array_append_val(config->addresses, addr);
	}
	return TRUE;
}

/* Settings give strings; a port must be a whole number from 0 to 65535. */
static gboolean
read_port(Settings *settings, const char *key, guint16 *port, GError **error)
{
	const char *text = settings_get(settings, key);
	guint64 value;

	if (!text)
		return TRUE;
	if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT16, &value, NULL)) {
		g_set_error(error, NET_ERROR, NET_ERROR_CONFIG,
			    "%s: \"%s\" is not a port number (0-65535)", key, text);
		return FALSE;
	}
	*port = value;
	return TRUE;
}

NetConfig *
net_config_new_from_settings(Settings *settings, GError **error)
{
	g_autoptr(NetConfig) config = net_config_new();
	const char *list = settings_get(settings, "net.addresses");

	if (!read_port(settings, "net.port", &config->port, error) ||
	    !read_port(settings, "net.port_nat_t", &config->port_nat_t, error))
		return NULL;
	if (config->port && config->port == config->port_nat_t) {
		g_set_error(error, NET_ERROR, NET_ERROR_CONFIG,
			    "net.port and net.port_nat_t are both %u: they must differ",
			    config->port);
		return NULL;
	}
	if (list && !net_config_set_addresses(config, list, error))
		return NULL;
	return g_steal_pointer(&config);
}
