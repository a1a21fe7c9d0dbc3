/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/plugin_loader.h"

G_DEFINE_QUARK(vpnd-plugin-loader-error-quark, plugin_loader_error)

typedef struct {
	const VpndPlugin *plugin;
	GModule *module; /* (nullable): descriptors added directly have none */
} Loaded;

struct PluginLoader {
	VpndHost *host;
	GArray *loaded; /* Loaded, in load order */
};

PluginLoader *
plugin_loader_new(VpndHost *host)
{
	PluginLoader *loader = g_new0(PluginLoader, 1);

	loader->host = host;
	loader->loaded = g_array_new(FALSE, FALSE, sizeof(Loaded));
	return loader;
}

void
plugin_loader_free(PluginLoader *loader)
{
	if (!loader)
		return;
	for (guint i = loader->loaded->len; i-- > 0;) {
		Loaded *l = &g_array_index(loader->loaded, Loaded, i);
		if (l->plugin->fini)
			l->plugin->fini();
		host_remove_plugin_providers(loader->host, l->plugin->name);
		/*
		 * The module stays mapped: unloading at exit buys nothing, and after a
		 * dlclose() of libraries with thread-local storage (GnuTLS) LeakSanitizer's
		 * exit-time scan read their freed TLS and crashed, and leak reports lose
		 * the plugins' symbols.
		 */
		if (l->module) {
			g_module_make_resident(l->module);
			g_module_close(l->module);
		}
	}
	g_array_unref(loader->loaded);
	g_free(loader);
}

gboolean
plugin_loader_has(PluginLoader *loader, const char *name)
{
	for (guint i = 0; i < loader->loaded->len; i++) {
		if (g_str_equal(g_array_index(loader->loaded, Loaded, i).plugin->name, name))
			return TRUE;
	}
	return FALSE;
}

/* Only abi and struct_size may be read before they are checked. */
static gboolean
check_descriptor(PluginLoader *loader, const VpndPlugin *plugin, GError **error)
{
	if (plugin->abi != VPND_PLUGIN_ABI || plugin->struct_size != sizeof(VpndPlugin)) {
		g_set_error(error, PLUGIN_LOADER_ERROR, PLUGIN_LOADER_ERROR_ABI,
			    "built for plugin ABI %u (descriptor size %u), this vpnd has ABI %u "
			    "(size %zu); rebuild the plugin",
			    plugin->abi, plugin->struct_size, VPND_PLUGIN_ABI,
			    sizeof(VpndPlugin));
		return FALSE;
	}
	if (!plugin->name || !plugin->init) {
		g_set_error_literal(error, PLUGIN_LOADER_ERROR, PLUGIN_LOADER_ERROR_ABI,
				    "descriptor has no name or no init function");
		return FALSE;
	}
	if (plugin_loader_has(loader, plugin->name)) {
		g_set_error(error, PLUGIN_LOADER_ERROR, PLUGIN_LOADER_ERROR_DUPLICATE,
			    "a plugin named \"%s\" is already loaded", plugin->name);
		return FALSE;
	}
	return TRUE;
}

static gboolean
add_plugin(PluginLoader *loader, const VpndPlugin *plugin, GModule *module, GError **error)
{
	g_autoptr(GError) init_error = NULL;

	if (!check_descriptor(loader, plugin, error))
		return FALSE;

	host_set_current_plugin(loader->host, plugin->name);
	gboolean ok = plugin->init(loader->host, &init_error);
	host_set_current_plugin(loader->host, NULL);
	if (!ok) {
		/* what a failed init registered must not be used */
		host_remove_plugin_providers(loader->host, plugin->name);
		g_set_error(error, PLUGIN_LOADER_ERROR, PLUGIN_LOADER_ERROR_INIT,
			    "init failed: %s",
			    init_error ? init_error->message : "(no reason given)");
		return FALSE;
	}

	Loaded l = { .plugin = plugin, .module = module };
	g_array_append_val(loader->loaded, l);
	vpnd_info("plugin \"%s\" loaded", plugin->name);
	return TRUE;
}

gboolean
plugin_loader_add(PluginLoader *loader, const VpndPlugin *plugin, GError **error)
{
	return add_plugin(loader, plugin, NULL, error);
}

gboolean
plugin_loader_load_one(PluginLoader *loader, const char *dir, const char *name, GError **error)
{
	g_autofree char *file = g_strconcat(name, ".so", NULL);
	g_autofree char *path = g_build_filename(dir, file, NULL);
	gpointer symbol = NULL;

	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, PLUGIN_LOADER_ERROR, PLUGIN_LOADER_ERROR_OPEN,
			    "%s does not exist", path);
		return FALSE;
	}
	/* no LAZY binding: a symbol the host lacks fails here, not at first call */
	GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);
	if (!module) {
		g_set_error(error, PLUGIN_LOADER_ERROR, PLUGIN_LOADER_ERROR_OPEN, "%s",
			    g_module_error());
		return FALSE;
	}
	if (!g_module_symbol(module, VPND_PLUGIN_SYMBOL, &symbol) || !symbol) {
		g_set_error(error, PLUGIN_LOADER_ERROR, PLUGIN_LOADER_ERROR_NO_SYMBOL,
			    "%s exports no %s descriptor", path, VPND_PLUGIN_SYMBOL);
		g_module_close(module);
		return FALSE;
	}

	const VpndPlugin *plugin = symbol;
	gboolean ok = check_descriptor(loader, plugin, error);
	if (ok && !g_str_equal(plugin->name, name)) {
		g_set_error(error, PLUGIN_LOADER_ERROR, PLUGIN_LOADER_ERROR_NAME,
			    "%s calls itself \"%s\"", path, plugin->name);
		ok = FALSE;
	}
	if (ok)
		ok = add_plugin(loader, plugin, module, error);
	if (!ok)
		g_module_close(module);
	return ok;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every "NAME.so" in @dir, sorted so that load order does not depend on the file system. */
static GPtrArray *
list_dir(const char *dir)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &error);

	if (!d) {
		g_warning("no plugins loaded: %s", error->message);
		return names;
	}
	for (const char *entry; (entry = g_dir_read_name(d));) {
		if (g_str_has_suffix(entry, ".so") && strlen(entry) > 3)
			g_ptr_array_add(names, g_strndup(entry, strlen(entry) - 3));
	}
	g_ptr_array_sort(names, compare_names);
	return names;
}

guint
plugin_loader_load(PluginLoader *loader, const char *dir, const char *const *names)
{
	g_autoptr(GPtrArray) found = names ? NULL : list_dir(dir);
	guint n = names ? g_strv_length((char **)names) : found->len;
	guint loaded = 0;

	for (guint i = 0; i < n; i++) {
		const char *name = names ? names[i] : found->pdata[i];
		g_autoptr(GError) error = NULL;

		if (plugin_loader_load_one(loader, dir, name, &error))
			loaded++;
		else
			g_warning("plugin \"%s\" refused: %s", name, error->message);
	}
	return loaded;
}

GPtrArray *
plugin_loader_list(PluginLoader *loader)
{
	GPtrArray *names = g_ptr_array_new();

	for (guint i = 0; i < loader->loaded->len; i++)
		g_ptr_array_add(names, (char *)g_array_index(loader->loaded, Loaded, i).plugin->name);
	return names;
}
