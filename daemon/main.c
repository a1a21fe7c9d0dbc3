/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vpnd: option parsing, start-up order, signals and reload. */
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "vpnd-config.h"
#include "config/settings.h"
#include "control/control.h"
#include "core/crypto.h"
#include "core/host.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/plugin_loader.h"
#include "core/prefault.h"
#include "dbus/dbus_service.h"
#include "sa/sa_manager.h"
#include "vici/vici_server.h"

typedef struct {
	char *config_path;
	gboolean config_given;
	char **debug_specs; /* --debug, re-applied over the settings on every reload */
	Settings *settings;
	VpndHost *host;
	PluginLoader *loader;
	Control *control;
	ViciServer *vici;  /* NULL when its socket could not be set up */
	DbusService *dbus; /* NULL when dbus.enable = no */
	SaManager *sa;     /* NULL when IKE could not start */
	GMainLoop *loop;
} Daemon;

#define KEEP_RUNNING (-1)

/* Returns KEEP_RUNNING, or the exit status when there is nothing more to do. */
static int
parse_options(Daemon *d, int *argc, char ***argv)
{
	gboolean version = FALSE;
	const GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &d->config_path,
		  "Read daemon settings from FILE (default " VPND_DEFAULT_CONFIG ")", "FILE" },
		{ "debug", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &d->debug_specs,
		  "Set a log level: DOMAIN=LEVEL or LEVEL for all (repeatable)", "DOMAIN=LEVEL" },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit",
		  NULL },
		G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- IKE VPN daemon");
	g_autoptr(GError) error = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx, "Log domains: core cfg ctl ike knl net enc vici dbus.\n"
		     "Log levels: error warning message info debug (or 0-4).\n"
		     "Runs in the foreground; SIGHUP reloads the settings, SIGTERM stops.\n"
		     "See vpnd(8) and vpnd.conf(5).");
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		g_printerr("vpnd: %s\nTry 'vpnd --help'.\n", error->message);
		return EX_USAGE;
	}
	if (*argc > 1) {
		g_printerr("vpnd: unexpected argument '%s'\nTry 'vpnd --help'.\n", (*argv)[1]);
		return EX_USAGE;
	}
	if (version) {
		printf("vpnd %s\n", VPND_VERSION);
		return EXIT_SUCCESS;
	}
	d->config_given = d->config_path != NULL;
	if (!d->config_path)
		d->config_path = g_strdup(VPND_DEFAULT_CONFIG);
	for (char **spec = d->debug_specs; spec && *spec; spec++) {
		if (!log_apply_spec(*spec, &error)) {
			g_printerr("vpnd: --debug %s\n", error->message);
			return EX_USAGE;
		}
	}
	return KEEP_RUNNING;
}

/* Reads the config file; a missing default file just means defaults. (nullable) */
static Settings *
read_settings(Daemon *d, GError **error)
{
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) local = NULL;

	if (settings_load_file(settings, d->config_path, &local))
		return g_steal_pointer(&settings);
	if (!d->config_given && settings_error_is_missing_file(local)) {
		vpnd_info("%s does not exist, using defaults", d->config_path);
		return g_steal_pointer(&settings);
	}
	g_propagate_error(error, g_steal_pointer(&local));
	return NULL;
}

/* Log levels from the `log { DOMAIN = LEVEL }` section, then --debug over them. */
static void
apply_log_levels(Daemon *d)
{
	SettingsSection *section = settings_get_section(d->settings, "log");

	log_reset_levels();
	if (section) {
		g_autoptr(GPtrArray) keys = settings_section_list_keys(section);
		for (guint i = 0; i < keys->len; i++) {
			const char *domain = keys->pdata[i];
			const char *value = settings_section_get_value(section, domain);
			g_autoptr(GError) error = NULL;
			LogLevel level;

			if (!log_level_parse(value, &level, &error) ||
			    !log_set_level(domain, level, &error))
				g_warning("%s: %s", settings_section_get_origin(section, domain),
					  error->message);
		}
	}
	for (char **spec = d->debug_specs; spec && *spec; spec++)
		log_apply_spec(*spec, NULL); /* validated at start-up */
}

static void
load_plugins(Daemon *d)
{
	const char *dir = settings_get_str(d->settings, "plugins.dir", VPND_PLUGINDIR);
	const char *list = settings_get(d->settings, "plugins.load");
	g_auto(GStrv) names = list ? g_strsplit_set(list, " \t,", -1) : NULL;

	if (names) {
		/* drop the empty strings that runs of separators leave */
		guint j = 0;
		for (guint i = 0; names[i]; i++) {
			if (*names[i])
				names[j++] = names[i];
			else
				g_free(names[i]);
		}
		names[j] = NULL;
	}
	plugin_loader_load(d->loader, dir, (const char *const *)names);
}

/* plugins.NAME.KEY of a plugin that is not loaded */
static gboolean
for_absent_plugin(Daemon *d, const char *path)
{
	g_autoptr(GPtrArray) loaded = plugin_loader_list(d->loader);
	const char *name = path + strlen("plugins.");
	const char *dot = strchr(name, '.');

	if (!g_str_has_prefix(path, "plugins.") || !dot)
		return FALSE;
	for (guint i = 0; i < loaded->len; i++)
		if (strlen(loaded->pdata[i]) == (gsize)(dot - name) &&
		    !strncmp(loaded->pdata[i], name, dot - name))
			return FALSE;
	return TRUE;
}

static void
on_unused_setting(const char *path, const char *origin, gpointer user_data)
{
	Daemon *d = user_data;
	g_autoptr(GPtrArray) asked = settings_list_asked(d->settings);
	const char *near =
		settings_closest_name(path, (const char *const *)asked->pdata, asked->len);

	if (for_absent_plugin(d, path))
		g_warning("%s: %s: ignored: that plugin is not loaded", origin, path);
	else if (near)
		g_warning("%s: %s: unknown setting, ignored (did you mean %s?)", origin, path,
			  near);
	else
		g_warning("%s: %s: unknown setting, ignored", origin, path);
}

/*
 * Start-up has read every setting vpnd and its plugins use: one still unread is a typo
 * or for something absent. Said, with the closest known name; vpnd runs on without it.
 */
static void
warn_unused_settings(Daemon *d)
{
	settings_foreach_unused(d->settings, NULL, on_unused_setting, d);
}

static char *
plugin_summary(Daemon *d)
{
	g_autoptr(GPtrArray) names = plugin_loader_list(d->loader);

	g_ptr_array_add(names, NULL);
	g_autofree char *joined = g_strjoinv(" ", (char **)names->pdata);
	return g_strdup_printf("plugins: %s", *joined ? joined : "none");
}

static gboolean
on_stop_signal(gpointer user_data)
{
	Daemon *d = user_data;

	g_message("stopping on signal");
	notify_stopping();
	g_main_loop_quit(d->loop);
	return G_SOURCE_CONTINUE;
}

/* SIGHUP and VICI reload-settings. */
static gboolean
reload_settings(Daemon *d, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *summary = plugin_summary(d);

	notify_reloading();
	Settings *fresh = read_settings(d, &local);
	if (!fresh) {
		g_warning("reload failed, keeping the current settings: %s", local->message);
		notify_ready("Running, reload failed");
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (g_strcmp0(settings_get(fresh, "plugins.load"),
		      settings_get(d->settings, "plugins.load")) != 0)
		g_message("the plugin list changed; that takes effect when vpnd restarts");
	host_set_settings(d->host, fresh);
	settings_free(d->settings);
	d->settings = fresh;
	apply_log_levels(d);
	g_message("settings reloaded from %s", d->config_path);
	g_autofree char *status = g_strdup_printf("Running, %s, reloaded", summary);
	notify_ready(status);
	return TRUE;
}

static gboolean
on_reload_signal(gpointer user_data)
{
	reload_settings(user_data, NULL);
	return G_SOURCE_CONTINUE;
}

static gboolean
hook_reload(gpointer user_data, GError **error)
{
	return reload_settings(user_data, error);
}

static void
hook_list_algorithms(gpointer user_data, const char *klass, ControlAlgFunc func,
		     gpointer func_data)
{
	Daemon *d = user_data;

	crypto_list_algorithms(d->host, klass, func, func_data);
}

static GPtrArray *
hook_list_plugins(gpointer user_data)
{
	Daemon *d = user_data;

	return plugin_loader_list(d->loader);
}

/* The hooks below run before the IKE runtime exists too (D-Bus reads its state at
 * start-up): then there is nothing to list and nothing can be loaded yet. */
static gboolean
have_sa(Daemon *d, GError **error)
{
	if (!d->sa)
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_FAILED, "vpnd is still starting");
	return d->sa != NULL;
}

static GPtrArray *
hook_list_connections(gpointer user_data)
{
	Daemon *d = user_data;

	if (!d->sa)
		return g_ptr_array_new_with_free_func((GDestroyNotify)control_conn_free);
	return sa_manager_list_connections(d->sa);
}

static gboolean
hook_initiate(gpointer user_data, const char *name, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_initiate(d->sa, name, error);
}

static gboolean
hook_initiate_child(gpointer user_data, const char *name, const char *child, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_initiate_child(d->sa, name, child, error);
}

static ControlConn *
hook_lookup_connection(gpointer user_data, const char *name)
{
	Daemon *d = user_data;

	return d->sa ? sa_manager_lookup_connection(d->sa, name) : NULL;
}

static gboolean
hook_rekey(gpointer user_data, const ControlSaSelector *sel, guint *matches, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_rekey(d->sa, sel, matches, error);
}

static gboolean
hook_terminate_sas(gpointer user_data, const ControlSaSelector *sel, guint *matches,
		   GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_terminate_sas(d->sa, sel, matches, error);
}

static gboolean
hook_terminate(gpointer user_data, const char *name, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_terminate(d->sa, name, error);
}

static char **
hook_load(gpointer user_data, const char *text, const char *origin, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) ? sa_manager_load(d->sa, text, origin, error) : NULL;
}

static gboolean
hook_unload(gpointer user_data, const char *name, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_unload(d->sa, name, error);
}

static GPtrArray *
hook_list_conn_configs(gpointer user_data)
{
	Daemon *d = user_data;

	if (!d->sa)
		return g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);
	return sa_manager_list_conn_configs(d->sa);
}

static gboolean
hook_load_shared(gpointer user_data, const char *name, const char *const *owners,
		 const VpndSecret *secret, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_load_shared(d->sa, name, owners, secret, error);
}

static gboolean
hook_unload_shared(gpointer user_data, const char *name, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_unload_shared(d->sa, name, error);
}

static GStrv
hook_list_shared(gpointer user_data)
{
	Daemon *d = user_data;

	return d->sa ? sa_manager_list_shared(d->sa) : g_new0(char *, 1);
}

static GPtrArray *
hook_list_policies(gpointer user_data)
{
	Daemon *d = user_data;

	if (!d->sa)
		return g_ptr_array_new_with_free_func((GDestroyNotify)control_policy_free);
	return sa_manager_list_policies(d->sa);
}

static gboolean
hook_install_trap(gpointer user_data, const char *name, const char *child, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_install_trap(d->sa, name, child, error);
}

static gboolean
hook_uninstall_trap(gpointer user_data, const char *name, const char *child, GError **error)
{
	Daemon *d = user_data;

	return have_sa(d, error) && sa_manager_uninstall_trap(d->sa, name, child, error);
}

static GPtrArray *
hook_list_sas(gpointer user_data)
{
	Daemon *d = user_data;

	if (!d->sa)
		return g_ptr_array_new_with_free_func((GDestroyNotify)control_ike_sa_free);
	return sa_manager_list_sas(d->sa);
}

static gboolean
hook_get_counters(gpointer user_data, ControlCounters *counters)
{
	Daemon *d = user_data;

	return d->sa && sa_manager_get_counters(d->sa, counters);
}

static void
hook_reset_counters(gpointer user_data)
{
	Daemon *d = user_data;

	if (d->sa)
		sa_manager_reset_counters(d->sa);
}

static void
hook_sa_views_changed(gpointer user_data, gboolean wanted)
{
	Daemon *d = user_data;

	if (d->sa)
		sa_manager_keep_views(d->sa, wanted);
}

/* The control API and the VICI socket; without the socket vpnd runs on, unreachable by
 * swanctl. The socket is set at start-up only. */
static void
start_control(Daemon *d)
{
	const ControlHooks hooks = {
		.reload = hook_reload,
		.list_plugins = hook_list_plugins,
		.list_algorithms = hook_list_algorithms,
		.list_connections = hook_list_connections,
		.lookup_connection = hook_lookup_connection,
		.initiate = hook_initiate,
		.terminate = hook_terminate,
		.initiate_child = hook_initiate_child,
		.rekey = hook_rekey,
		.terminate_sas = hook_terminate_sas,
		.load = hook_load,
		.unload = hook_unload,
		.list_conn_configs = hook_list_conn_configs,
		.load_shared = hook_load_shared,
		.unload_shared = hook_unload_shared,
		.list_shared = hook_list_shared,
		.list_sas = hook_list_sas,
		.list_policies = hook_list_policies,
		.install_trap = hook_install_trap,
		.uninstall_trap = hook_uninstall_trap,
		.get_counters = hook_get_counters,
		.reset_counters = hook_reset_counters,
		.sa_views_changed = hook_sa_views_changed,
		.user_data = d,
	};
	const char *uri = settings_get_str(d->settings, "vici.socket", VICI_DEFAULT_URI);
	g_autoptr(GError) error = NULL;

	d->control = control_new(&hooks);
	d->vici = vici_server_new(d->control, uri, &error);
	if (!d->vici)
		g_warning("%s; swanctl cannot reach vpnd", error->message);
	if (settings_get_bool(d->settings, "dbus.enable", TRUE))
		d->dbus = dbus_service_new(d->control);
}

/* Connections from conf_dir, the IKE engine, UDP 500/4500, the kernel provider. */
static gboolean
start_ike(Daemon *d)
{
	g_autoptr(GError) error = NULL;

	d->sa = sa_manager_new(d->host, d->settings, d->control, &error);
	if (!d->sa || !sa_manager_load_conf_dir(d->sa, &error)) {
		g_printerr("vpnd: %s\n", error->message);
		return FALSE;
	}
	return TRUE;
}

static void
daemon_clear(Daemon *d)
{
	g_clear_pointer(&d->dbus, dbus_service_free);
	g_clear_pointer(&d->vici, vici_server_free);
	g_clear_pointer(&d->sa, sa_manager_free);
	g_clear_pointer(&d->control, control_free);
	if (d->host)
		host_disable_ke_pool(d->host);
	g_clear_pointer(&d->loader, plugin_loader_free);
	g_clear_pointer(&d->host, host_free);
	g_clear_pointer(&d->settings, settings_free);
	g_clear_pointer(&d->loop, g_main_loop_unref);
	g_clear_pointer(&d->debug_specs, g_strfreev);
	g_clear_pointer(&d->config_path, g_free);
}

int
main(int argc, char **argv)
{
	Daemon d = { 0 };
	g_autoptr(GError) error = NULL;

	int exit_status = parse_options(&d, &argc, &argv);
	if (exit_status != KEEP_RUNNING) {
		daemon_clear(&d);
		return exit_status;
	}
	log_init(FALSE);
	d.settings = read_settings(&d, &error);
	if (!d.settings) {
		g_printerr("vpnd: %s\n", error->message);
		daemon_clear(&d);
		return EX_CONFIG;
	}
	apply_log_levels(&d);

	d.loop = g_main_loop_new(NULL, FALSE);
	d.host = host_new();
	host_enable_ke_pool(d.host);
	host_set_settings(d.host, d.settings);
	d.loader = plugin_loader_new(d.host);
	load_plugins(&d);
	start_control(&d);
	if (!start_ike(&d)) {
		daemon_clear(&d);
		return EX_CONFIG;
	}
	warn_unused_settings(&d);

	g_unix_signal_add(SIGTERM, on_stop_signal, &d);
	g_unix_signal_add(SIGINT, on_stop_signal, &d);
	g_unix_signal_add(SIGHUP, on_reload_signal, &d);

	g_autofree char *summary = plugin_summary(&d);
	g_message("vpnd %s running, %s", VPND_VERSION, summary);
	g_autofree char *status = g_strconcat("Running, ", summary, NULL);
	notify_ready(status);
	notify_watchdog_start();
	sa_manager_start(d.sa);
	/* last: the reserve goes on top of what start-up allocated */
	if (!prefault_reserve(PREFAULT_HEAP_BYTES, PREFAULT_STACK_BYTES))
		g_debug("the allocator keeps no heap reserve (not glibc's malloc)");

	g_main_loop_run(d.loop);

	notify_watchdog_stop();
	daemon_clear(&d);
	return EXIT_SUCCESS;
}
