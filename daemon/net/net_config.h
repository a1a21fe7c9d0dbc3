/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The net { } section of vpnd.conf:
 *
 *   net {
 *       port = 500                  IKE; 0: a free port the kernel picks (tests)
 *       port_nat_t = 4500           IKE and ESP in UDP after NAT detection (RFC 3948)
 *       addresses = 192.0.2.1, 2001:db8::1   default: every address (IPv4 and IPv6
 *                                   wildcards); 0.0.0.0 or :: for one family only
 *   }
 */
#pragma once

#include <glib.h>
#include <vpnd/kernel.h>
#include "config/settings.h"

G_BEGIN_DECLS

#define NET_DEFAULT_PORT 500
#define NET_DEFAULT_PORT_NAT_T 4500

typedef struct {
	guint16 port;
	guint16 port_nat_t;
	GArray *addresses; /* VpndAddr with port 0; empty: 0.0.0.0 and :: */
} NetConfig;

/* Defaults: ports 500 and 4500 on every address. (transfer full) */
NetConfig *net_config_new(void);
/* Reads net.port, net.port_nat_t and net.addresses; errors name the setting. */
NetConfig *net_config_new_from_settings(Settings *settings, GError **error);
void net_config_free(NetConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetConfig, net_config_free)

/* Parses a list of numeric addresses separated by commas and/or blanks into @config;
 * "%any" or an empty list means every address. */
gboolean net_config_set_addresses(NetConfig *config, const char *list, GError **error);

G_END_DECLS
