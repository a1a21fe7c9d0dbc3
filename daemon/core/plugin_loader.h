/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loads plugins (GModule .so files exporting one VpndPlugin) and runs their init.
 * A plugin that cannot be used is refused with one warning naming it and the reason;
 * the daemon goes on without it.
 */
#pragma once

#include <gmodule.h>
#include "core/host.h"

G_BEGIN_DECLS

#define PLUGIN_LOADER_ERROR (plugin_loader_error_quark())
GQuark plugin_loader_error_quark(void);

typedef enum {
	PLUGIN_LOADER_ERROR_OPEN,       /* dlopen failed: missing file or undefined symbol */
	PLUGIN_LOADER_ERROR_NO_SYMBOL,  /* no vpnd_plugin descriptor */
	PLUGIN_LOADER_ERROR_ABI,        /* built for another ABI or struct size */
	PLUGIN_LOADER_ERROR_NAME,       /* descriptor name does not match the file */
	PLUGIN_LOADER_ERROR_DUPLICATE,  /* a plugin of that name is already loaded */
	PLUGIN_LOADER_ERROR_INIT,       /* init() returned FALSE */
} PluginLoaderError;

typedef struct PluginLoader PluginLoader;

PluginLoader *plugin_loader_new(VpndHost *host);
/* Runs every loaded plugin's fini() in reverse load order, then closes the modules. */
void plugin_loader_free(PluginLoader *loader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PluginLoader, plugin_loader_free)

/* Checks and initialises a descriptor; tests use it without dlopen. */
gboolean plugin_loader_add(PluginLoader *loader, const VpndPlugin *plugin, GError **error);
/* Opens @dir/@name.so and adds its descriptor. */
gboolean plugin_loader_load_one(PluginLoader *loader, const char *dir, const char *name,
				GError **error);
/*
 * Loads @names (NULL: every *.so in @dir, sorted by name) and logs one warning per
 * plugin refused. Returns how many were loaded.
 */
guint plugin_loader_load(PluginLoader *loader, const char *dir, const char *const *names);

/* Names of the loaded plugins in load order. (transfer container) */
GPtrArray *plugin_loader_list(PluginLoader *loader);
gboolean plugin_loader_has(PluginLoader *loader, const char *name);

G_END_DECLS
