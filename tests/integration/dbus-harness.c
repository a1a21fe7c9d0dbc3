/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "dbus-harness.h"

void
harness_die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

char *
harness_build_path(const char *rel)
{
	return g_build_filename(g_getenv("VPND_BUILD_ROOT"), rel, NULL);
}

/* Like the system bus's own configuration: method calls denied unless a policy allows. */
static char *
bus_config(const char *dir, gboolean open_policy)
{
	g_autofree char *policy =
		g_build_filename(g_getenv("VPND_SOURCE_ROOT"), "dbus", "org.vpnd1.conf", NULL);
	const char *open = "  <policy context=\"default\">\n"
			   "    <allow send_destination=\"org.vpnd1\"/>\n"
			   "  </policy>\n";

	return g_strdup_printf(
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration "
		"1.0//EN\"\n \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig>\n"
		"  <type>system</type>\n"
		"  <listen>unix:path=%s/bus</listen>\n"
		"  <auth>EXTERNAL</auth>\n"
		"  <policy context=\"default\">\n"
		"    <allow user=\"*\"/>\n"
		"    <deny own=\"*\"/>\n"
		"    <deny send_type=\"method_call\"/>\n"
		"    <allow send_type=\"signal\"/>\n"
		"    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
		"    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
		"    <allow receive_type=\"method_call\"/>\n"
		"    <allow receive_type=\"method_return\"/>\n"
		"    <allow receive_type=\"error\"/>\n"
		"    <allow receive_type=\"signal\"/>\n"
		"    <allow send_destination=\"org.freedesktop.DBus\"/>\n"
		"  </policy>\n"
		"  <include>%s</include>\n"
		"%s"
		"</busconfig>\n",
		dir, policy, open_policy ? open : "");
}

HarnessBus *
harness_bus_start(const char *dir, gboolean open_policy)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *conf = g_build_filename(dir, "bus.conf", NULL);
	g_autofree char *socket = g_build_filename(dir, "bus", NULL);
	g_autofree char *text = bus_config(dir, open_policy);
	g_autofree char *arg = g_strconcat("--config-file=", conf, NULL);
	HarnessBus *bus = g_new0(HarnessBus, 1);

	g_file_set_contents(conf, text, -1, &error);
	g_assert_no_error(error);
	bus->address = g_strdup_printf("unix:path=%s", socket);
	g_autoptr(GSubprocessLauncher) l =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_subprocess_launcher_set_child_setup(l, harness_die_with_parent, NULL, NULL);
	bus->daemon = g_subprocess_launcher_spawn(l, &error, "dbus-daemon", "--nofork", arg, NULL);
	g_assert_no_error(error);

	gint64 deadline = g_get_monotonic_time() + HARNESS_START_TIMEOUT_MS * 1000;
	while (!bus->conn) {
		g_clear_error(&error);
		if (g_file_test(socket, G_FILE_TEST_EXISTS))
			bus->conn = g_dbus_connection_new_for_address_sync(
				bus->address,
				G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
					G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
				NULL, NULL, &error);
		if (!bus->conn && g_get_monotonic_time() > deadline)
			g_error("dbus-daemon did not start at %s", bus->address);
		if (!bus->conn)
			g_usleep(10 * 1000);
	}
	return bus;
}

gboolean
harness_wait_exit(GSubprocess *p, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (g_subprocess_get_identifier(p) && g_get_monotonic_time() < deadline)
		g_usleep(5 * 1000);
	return g_subprocess_get_identifier(p) == NULL;
}

void
harness_bus_stop(HarnessBus *bus)
{
	if (!bus)
		return;
	g_clear_object(&bus->conn);
	g_subprocess_send_signal(bus->daemon, SIGTERM);
	if (!harness_wait_exit(bus->daemon, HARNESS_STOP_TIMEOUT_MS))
		g_subprocess_force_exit(bus->daemon);
	g_object_unref(bus->daemon);
	g_free(bus->address);
	g_free(bus);
}

gboolean
harness_bus_has_owner(HarnessBus *bus, const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		bus->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
		"NameHasOwner", g_variant_new("(s)", name), G_VARIANT_TYPE("(b)"),
		G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	gboolean owned = FALSE;

	g_assert_no_error(error);
	g_variant_get(reply, "(b)", &owned);
	return owned;
}

char *
harness_call_error_name(HarnessBus *bus, const char *method, GVariant *params)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		bus->conn, "org.vpnd1", "/org/vpnd1", "org.vpnd1.Manager", method, params, NULL,
		G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);

	return reply ? NULL : g_dbus_error_get_remote_error(error);
}

int
harness_vpnctl_v(char **env, gboolean unprivileged, char **out, char **err, const char *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	int status;

	g_ptr_array_add(argv, g_strdup("timeout"));
	g_ptr_array_add(argv, g_strdup("-s"));
	g_ptr_array_add(argv, g_strdup("KILL"));
	g_ptr_array_add(argv, g_strdup(HARNESS_VPNCTL_TIMEOUT));
	if (unprivileged) {
		struct passwd *pw = getpwnam(HARNESS_NOBODY);
		g_assert_nonnull(pw);
		g_ptr_array_add(argv, g_strdup("setpriv"));
		g_ptr_array_add(argv, g_strdup_printf("--reuid=%u", (guint)pw->pw_uid));
		g_ptr_array_add(argv, g_strdup_printf("--regid=%u", (guint)pw->pw_gid));
		g_ptr_array_add(argv, g_strdup("--clear-groups"));
	}
	g_ptr_array_add(argv, harness_build_path("cli/vpnctl"));
	for (guint i = 0; args[i]; i++)
		g_ptr_array_add(argv, g_strdup(args[i]));
	g_ptr_array_add(argv, NULL);
	g_spawn_sync("/", (char **)argv->pdata, env, G_SPAWN_SEARCH_PATH, harness_die_with_parent,
		     NULL, out, err, &status, &error);
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

int
harness_vpnctl(char **env, gboolean unprivileged, char **out, char **err, ...)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	va_list ap;

	va_start(ap, err);
	for (const char *a; (a = va_arg(ap, const char *));)
		g_ptr_array_add(args, (char *)a);
	va_end(ap);
	g_ptr_array_add(args, NULL);
	return harness_vpnctl_v(env, unprivileged, out, err, (const char *const *)args->pdata);
}

GSubprocess *
harness_janitor_new(const char *dir, const char *const *netns)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const char *script = "read _; d=$1; shift; for ns; do ip netns del \"$ns\"; done; "
			     "rm -rf \"$d\"";

	g_ptr_array_add(argv, "sh");
	g_ptr_array_add(argv, "-c");
	g_ptr_array_add(argv, (char *)script);
	g_ptr_array_add(argv, "janitor");
	g_ptr_array_add(argv, (char *)dir);
	for (guint i = 0; netns && netns[i]; i++)
		g_ptr_array_add(argv, (char *)netns[i]);
	g_ptr_array_add(argv, NULL);
	GSubprocess *janitor = g_subprocess_newv(
		(const char *const *)argv->pdata,
		G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
	g_assert_no_error(error);
	return janitor;
}

void
harness_janitor_finish(GSubprocess *janitor, const char *dir)
{
	g_output_stream_close(g_subprocess_get_stdin_pipe(janitor), NULL, NULL);
	g_assert_true(g_subprocess_wait(janitor, NULL, NULL));
	g_object_unref(janitor);
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
}

json_object *
harness_parse_json(const char *text)
{
	json_object *obj = json_tokener_parse(text);

	if (!obj)
		g_error("not JSON: %s", text);
	return obj;
}

const char *
harness_json_str(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		g_error("no \"%s\" in %s", key, json_object_to_json_string(obj));
	g_assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

gint64
harness_json_int(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		g_error("no \"%s\" in %s", key, json_object_to_json_string(obj));
	g_assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}
