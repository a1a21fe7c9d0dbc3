/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin loader against real .so files built next to this test. */
#include "core/log.h"
#include "core/plugin_loader.h"
#include "plugins/test-plugin.h"

typedef struct {
	VpndHost *host;
	PluginLoader *loader;
	char *dir; /* where meson put the test plugins */
	GPtrArray *warnings; /* every warning logged during the test */
} Fixture;

static void
capture_warning(LogLevel level, const char *domain, const char *message, gpointer user_data)
{
	Fixture *f = user_data;

	if (level == LOG_LEVEL_WARNING)
		g_ptr_array_add(f->warnings, g_strdup(message));
}

static guint watch_id;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->host = host_new();
	f->loader = plugin_loader_new(f->host);
	f->dir = g_test_build_filename(G_TEST_BUILT, "unit", NULL);
	f->warnings = g_ptr_array_new_with_free_func(g_free);
	watch_id = log_watch_add(capture_warning, f);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	log_watch_remove(watch_id);
	plugin_loader_free(f->loader);
	host_free(f->host);
	g_ptr_array_unref(f->warnings);
	g_free(f->dir);
}

static void
test_load_good(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(plugin_loader_load_one(f->loader, f->dir, "test-good", &error));
	g_assert_no_error(error);
	g_assert_true(plugin_loader_has(f->loader, "test-good"));

	const HostProvider *p = host_get_best(f->host, VPND_PROVIDER_TEST);
	g_assert_nonnull(p);
	g_assert_cmpstr(p->name, ==, "good");
	g_assert_cmpstr(p->plugin, ==, "test-good");
	g_assert_cmpint(p->priority, ==, 10);
	g_assert_cmpint(((const TestOps *)p->ops)->answer(), ==, 42);
}

/* The setting reaches the plugin's init through vpnd_host_get_setting(). */
static void
test_load_good_with_setting(Fixture *f, gconstpointer data)
{
	g_autoptr(Settings) settings = settings_new();
	const char text[] = "plugins {\n test-good {\n priority = 77\n }\n}\n";

	g_assert_true(settings_load_string(settings, text, sizeof(text) - 1, "t.conf", NULL));
	host_set_settings(f->host, settings);
	g_assert_true(plugin_loader_load_one(f->loader, f->dir, "test-good", NULL));
	g_assert_cmpint(host_get_best(f->host, VPND_PROVIDER_TEST)->priority, ==, 77);
	host_set_settings(f->host, NULL);
}

typedef struct {
	const char *name;
	PluginLoaderError code;
	const char *says; /* part of the message that tells the operator why */
} RefusalCase;

static const RefusalCase refusals[] = {
	{ "test-bad-abi", PLUGIN_LOADER_ERROR_ABI, "this vpnd has ABI 1" },
	{ "test-init-fails", PLUGIN_LOADER_ERROR_INIT, "init failed: no such hardware" },
	{ "test-no-symbol", PLUGIN_LOADER_ERROR_NO_SYMBOL, "exports no vpnd_plugin" },
	{ "test-wrong-name", PLUGIN_LOADER_ERROR_NAME, "calls itself \"crypto-gnutls\"" },
	{ "test-missing", PLUGIN_LOADER_ERROR_OPEN, "test-missing.so does not exist" },
};

static void
test_refused(Fixture *f, gconstpointer data)
{
	const RefusalCase *c = data;
	g_autoptr(GError) error = NULL;

	g_assert_false(plugin_loader_load_one(f->loader, f->dir, c->name, &error));
	g_assert_error(error, PLUGIN_LOADER_ERROR, (gint)c->code);
	g_assert_nonnull(strstr(error->message, c->says));
	g_assert_false(plugin_loader_has(f->loader, c->name));
	/* whatever a refused plugin registered is gone */
	g_assert_cmpuint(host_get_providers(f->host, VPND_PROVIDER_TEST)->len, ==, 0);
}

/* No list: every .so in the folder is tried, the bad ones are refused one line each. */
static void
test_load_all(Fixture *f, gconstpointer data)
{
	guint n = plugin_loader_load(f->loader, f->dir, NULL);

	g_assert_cmpuint(n, ==, 1);
	g_assert_true(plugin_loader_has(f->loader, "test-good"));
	g_assert_cmpuint(f->warnings->len, ==, 4);
	const char *expect[] = { "\"test-bad-abi\" refused", "\"test-init-fails\" refused",
				 "\"test-no-symbol\" refused", "\"test-wrong-name\" refused" };
	for (guint i = 0; i < G_N_ELEMENTS(expect); i++) {
		const char *line = f->warnings->pdata[i];
		g_assert_nonnull(strstr(line, expect[i]));
		g_assert_null(strchr(line, '\n'));
	}
	g_assert_cmpstr(host_get_best(f->host, VPND_PROVIDER_TEST)->name, ==, "good");
}

static void
test_load_list(Fixture *f, gconstpointer data)
{
	const char *const names[] = { "test-missing", "test-good", "test-good", NULL };

	g_assert_cmpuint(plugin_loader_load(f->loader, f->dir, names), ==, 1);
	g_assert_cmpuint(f->warnings->len, ==, 2);
	g_assert_nonnull(strstr(f->warnings->pdata[0], "does not exist"));
	g_assert_nonnull(strstr(f->warnings->pdata[1], "already loaded"));
}

/* Descriptors added without dlopen: priorities, order and fini. */
static GString *fini_order;

static int
answer_low(void)
{
	return 1;
}

static int
answer_high(void)
{
	return 2;
}

static const TestOps low_ops = { .answer = answer_low };
static const TestOps high_ops = { .answer = answer_high };

static gboolean
low_init(VpndHost *host, GError **error)
{
	vpnd_host_add_provider(host, VPND_PROVIDER_TEST, "low", &low_ops, 5, NULL);
	vpnd_host_add_provider(host, VPND_PROVIDER_TEST, "low-too", &low_ops, 5, NULL);
	return TRUE;
}

static gboolean
high_init(VpndHost *host, GError **error)
{
	vpnd_host_add_provider(host, VPND_PROVIDER_TEST, "high", &high_ops, 50, NULL);
	return TRUE;
}

static void
low_fini(void)
{
	g_string_append(fini_order, "low ");
}

static void
high_fini(void)
{
	g_string_append(fini_order, "high ");
}

static const VpndPlugin low_plugin = { VPND_PLUGIN_ABI, sizeof(VpndPlugin), "low", low_init,
				       low_fini };
static const VpndPlugin high_plugin = { VPND_PLUGIN_ABI, sizeof(VpndPlugin), "high",
					high_init, high_fini };

static void
test_priorities(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	fini_order = g_string_new(NULL);
	g_assert_true(plugin_loader_add(f->loader, &low_plugin, NULL));
	g_assert_true(plugin_loader_add(f->loader, &high_plugin, NULL));
	g_assert_false(plugin_loader_add(f->loader, &high_plugin, &error));
	g_assert_error(error, PLUGIN_LOADER_ERROR, PLUGIN_LOADER_ERROR_DUPLICATE);

	GPtrArray *list = host_get_providers(f->host, VPND_PROVIDER_TEST);
	g_assert_cmpuint(list->len, ==, 3);
	g_assert_cmpstr(((HostProvider *)list->pdata[0])->name, ==, "high");
	g_assert_cmpstr(((HostProvider *)list->pdata[1])->name, ==, "low");
	g_assert_cmpstr(((HostProvider *)list->pdata[2])->name, ==, "low-too");

	g_autoptr(GPtrArray) names = plugin_loader_list(f->loader);
	g_assert_cmpuint(names->len, ==, 2);
	g_assert_cmpstr(names->pdata[0], ==, "low");

	g_clear_pointer(&f->loader, plugin_loader_free);
	g_assert_cmpstr(fini_order->str, ==, "high low ");
	g_assert_cmpuint(list->len, ==, 0);
	g_string_free(fini_order, TRUE);
	f->loader = plugin_loader_new(f->host);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* refusals are warnings by design here; criticals stay fatal */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	log_init(TRUE);
	log_set_level("default", LOG_LEVEL_WARNING, NULL);

	g_test_add("/plugin-loader/load/good", Fixture, NULL, fixture_setup, test_load_good,
		   fixture_teardown);
	g_test_add("/plugin-loader/load/setting", Fixture, NULL, fixture_setup,
		   test_load_good_with_setting, fixture_teardown);
	for (guint i = 0; i < G_N_ELEMENTS(refusals); i++) {
		g_autofree char *path =
			g_strdup_printf("/plugin-loader/refuse/%s", refusals[i].name);
		g_test_add(path, Fixture, &refusals[i], fixture_setup, test_refused,
			   fixture_teardown);
	}
	g_test_add("/plugin-loader/load/all", Fixture, NULL, fixture_setup, test_load_all,
		   fixture_teardown);
	g_test_add("/plugin-loader/load/list", Fixture, NULL, fixture_setup, test_load_list,
		   fixture_teardown);
	g_test_add("/plugin-loader/priorities", Fixture, NULL, fixture_setup, test_priorities,
		   fixture_teardown);
	return g_test_run();
}
