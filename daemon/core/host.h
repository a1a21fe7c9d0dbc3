/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host side of the plugin ABI: the registry of providers by kind and priority. */
#pragma once

#include <vpnd/plugin.h>
#include "config/settings.h"

G_BEGIN_DECLS

typedef struct {
	VpndProviderKind kind;
	char *name;
	char *plugin; /* name of the plugin that registered it */
	gconstpointer ops;
	gint priority;
	gpointer user_data;
} HostProvider;

VpndHost *host_new(void);
void host_free(VpndHost *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndHost, host_free)

/* Key exchange pairs made ahead when the main loop is idle (core/ke_pool.h); the
 * daemon turns it on, tests that count on fresh pairs leave it off. */
typedef struct KePool KePool;
void host_enable_ke_pool(VpndHost *host);
/* Frees the pairs made ahead: before the plugins that made them are finished. */
void host_disable_ke_pool(VpndHost *host);
KePool *host_get_ke_pool(VpndHost *host); /* (nullable) (transfer none) */

/* Settings that vpnd_host_get_setting() reads; borrowed, may be replaced on reload. */
void host_set_settings(VpndHost *host, Settings *settings);

/* Providers registered from now on are attributed to @plugin (NULL: none). */
void host_set_current_plugin(VpndHost *host, const char *plugin);
/* Forgets every provider @plugin registered: its init failed or it is unloaded. */
void host_remove_plugin_providers(VpndHost *host, const char *plugin);

/* Providers of @kind, highest priority first; equal priorities keep registration order.
 * (transfer none) */
GPtrArray *host_get_providers(VpndHost *host, VpndProviderKind kind);
/* The highest-priority provider of @kind. (nullable) (transfer none) */
const HostProvider *host_get_best(VpndHost *host, VpndProviderKind kind);

const char *host_provider_kind_to_string(VpndProviderKind kind);

G_END_DECLS
