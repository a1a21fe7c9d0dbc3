/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/host.h"
#include "core/ke_pool.h"

struct VpndHost {
	GPtrArray *providers[VPND_PROVIDER_N_KINDS]; /* HostProvider, sorted */
	char *current_plugin;
	Settings *settings; /* borrowed */
	KePool *ke_pool;    /* (nullable) */
};

static void
provider_free(HostProvider *p)
{
	g_free(p->name);
	g_free(p->plugin);
	g_free(p);
}

VpndHost *
host_new(void)
{
	VpndHost *host = g_new0(VpndHost, 1);

	for (guint k = 0; k < VPND_PROVIDER_N_KINDS; k++)
		host->providers[k] = g_ptr_array_new_with_free_func((GDestroyNotify)provider_free);
	return host;
}

void
host_free(VpndHost *host)
{
	if (!host)
		return;
	host_disable_ke_pool(host);
	for (guint k = 0; k < VPND_PROVIDER_N_KINDS; k++)
		g_ptr_array_unref(host->providers[k]);
	g_free(host->current_plugin);
	g_free(host);
}

void
host_enable_ke_pool(VpndHost *host)
{
	if (!host->ke_pool)
		host->ke_pool = ke_pool_new();
}

void
host_disable_ke_pool(VpndHost *host)
{
	g_clear_pointer(&host->ke_pool, ke_pool_free);
}

KePool *
host_get_ke_pool(VpndHost *host)
{
	return host->ke_pool;
}

void
host_set_settings(VpndHost *host, Settings *settings)
{
	host->settings = settings;
}

void
host_set_current_plugin(VpndHost *host, const char *plugin)
{
	g_free(host->current_plugin);
	host->current_plugin = g_strdup(plugin);
}

const char *
host_provider_kind_to_string(VpndProviderKind kind)
{
	switch (kind) {
	case VPND_PROVIDER_CRYPTO:
		return "crypto";
	case VPND_PROVIDER_KERNEL:
		return "kernel";
	case VPND_PROVIDER_AUTH:
		return "auth";
	case VPND_PROVIDER_TEST:
		return "test";
	case VPND_PROVIDER_N_KINDS:
		break;
	}
	return "unknown";
}

void
vpnd_host_add_provider(VpndHost *host, VpndProviderKind kind, const char *name,
		       gconstpointer ops, gint priority, gpointer user_data)
{
	g_return_if_fail(host != NULL);
	g_return_if_fail(kind < VPND_PROVIDER_N_KINDS);
	g_return_if_fail(name != NULL && ops != NULL);

	HostProvider *p = g_new0(HostProvider, 1);
	p->kind = kind;
	p->name = g_strdup(name);
	p->plugin = g_strdup(host->current_plugin);
	p->ops = ops;
	p->priority = priority;
	p->user_data = user_data;

	/* insert after every provider of equal or higher priority: stable order */
	GPtrArray *list = host->providers[kind];
	guint at = 0;
	while (at < list->len && ((HostProvider *)list->pdata[at])->priority >= priority)
		at++;
	g_ptr_array_insert(list, at, p);
	vpnd_debug("%s provider \"%s\" registered by %s, priority %d",
		host_provider_kind_to_string(kind), name,
		p->plugin ? p->plugin : "the daemon", priority);
}

const char *
vpnd_host_get_setting(VpndHost *host, const char *key)
{
	g_return_val_if_fail(host != NULL && key != NULL, NULL);
	return host->settings ? settings_get(host->settings, key) : NULL;
}

void
host_remove_plugin_providers(VpndHost *host, const char *plugin)
{
	for (guint k = 0; k < VPND_PROVIDER_N_KINDS; k++) {
		GPtrArray *list = host->providers[k];
		for (guint i = list->len; i-- > 0;) {
			const HostProvider *p = list->pdata[i];
			if (g_strcmp0(p->plugin, plugin) == 0)
				g_ptr_array_remove_index(list, i);
		}
	}
}

GPtrArray *
host_get_providers(VpndHost *host, VpndProviderKind kind)
{
	g_return_val_if_fail(kind < VPND_PROVIDER_N_KINDS, NULL);
	return host->providers[kind];
}

const HostProvider *
host_get_best(VpndHost *host, VpndProviderKind kind)
{
	GPtrArray *list = host_get_providers(host, kind);

	return list && list->len ? list->pdata[0] : NULL;
}
