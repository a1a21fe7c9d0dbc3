/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.vpnd1 and vpnctl against the real vpnd on a real dbus-daemon that the test
 * starts: a bus configured like the system bus with vpnd's own policy file
 * (dbus/org.vpnd1.conf) included. DBUS_SYSTEM_BUS_ADDRESS points vpnd and vpnctl at it.
 *
 * Needs root (vpnd owns org.vpnd1 as root; the unprivileged cases switch to "nobody").
 * Every child runs under `timeout -s KILL` or dies with the test; vpnd and dbus-daemon
 * are stopped by their PID in the teardown, also when a test failed.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "dbus-harness.h"
#include "vpnd-config.h"

#define LOG_TIMEOUT_MS 10000

/* Exit codes from vpnctl(1). */
#define EXIT_UNREACHABLE 3
#define EXIT_NOT_FOUND 4
#define EXIT_PERMISSION_DENIED 8
#define EXIT_NOT_SUPPORTED 10

typedef enum {
	BUS_POLICY_STRICT, /* dbus/org.vpnd1.conf as installed */
	BUS_POLICY_OPEN,   /* a bus that lets anyone call vpnd: vpnd's own check must hold */
	BUS_NONE,          /* no bus at all: vpnd must run on without it */
} BusSetup;

typedef struct {
	BusSetup setup;
	const char *extra_config; /* appended to vpnd.conf */
	gboolean off_bus;         /* vpnd is not expected to own org.vpnd1 */
} Params;

typedef struct {
	const Params *params;
	char *dir;
	char *bus_address;
	char **env; /* for vpnctl */
	HarnessBus *bus;
	GSubprocess *vpnd;
	GSubprocess *janitor; /* removes the folder, also when an assertion aborts the test */
} Fixture;

static char *
path_in(Fixture *f, const char *name)
{
	return g_build_filename(f->dir, name, NULL);
}

static void
write_file(Fixture *f, const char *name, const char *text)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = path_in(f, name);

	g_file_set_contents(path, text, -1, &error);
	g_assert_no_error(error);
}

static void
start_vpnd(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *config = path_in(f, "vpnd.conf");
	g_autofree char *err = path_in(f, "vpnd.stderr");
	g_autofree char *text = g_strdup_printf(
		"plugins {\n\tdir = %s/plugins\n}\n"
		"vici {\n\tsocket = unix://%s/vici\n}\n"
		"log {\n\tdefault = message\n\tdbus = info\n}\n%s",
		f->dir, f->dir, f->params->extra_config ? f->params->extra_config : "");

	write_file(f, "vpnd.conf", text);
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_subprocess_launcher_unsetenv(l, "NOTIFY_SOCKET");
	g_subprocess_launcher_unsetenv(l, "JOURNAL_STREAM");
	g_subprocess_launcher_unsetenv(l, "LISTEN_FDS");
	g_subprocess_launcher_setenv(l, "DBUS_SYSTEM_BUS_ADDRESS", f->bus_address, TRUE);
	g_subprocess_launcher_set_stderr_file_path(l, err);
	g_subprocess_launcher_set_child_setup(l, harness_die_with_parent, NULL, NULL);
	g_autofree char *vpnd = harness_build_path("daemon/vpnd");
	f->vpnd = g_subprocess_launcher_spawn(l, &error, vpnd, "--config", config, NULL);
	g_assert_no_error(error);
}

static char *
vpnd_stderr(Fixture *f)
{
	g_autofree char *path = path_in(f, "vpnd.stderr");
	char *text = NULL;

	g_file_get_contents(path, &text, NULL, NULL);
	return text ? text : g_strdup("");
}

/* Polls until @done or the start timeout; dies with vpnd's stderr if vpnd exits. */
static void
wait_for(Fixture *f, gboolean (*done)(Fixture *f), const char *what)
{
	gint64 deadline = g_get_monotonic_time() + HARNESS_START_TIMEOUT_MS * 1000;

	while (!done(f)) {
		if (g_get_monotonic_time() > deadline || !g_subprocess_get_identifier(f->vpnd)) {
			g_autofree char *err = vpnd_stderr(f);
			g_error("%s did not happen; vpnd's stderr:\n%s", what, err);
		}
		g_usleep(10 * 1000);
	}
}

static gboolean
vpnd_on_bus(Fixture *f)
{
	return harness_bus_has_owner(f->bus, "org.vpnd1");
}

static gboolean
vici_socket_exists(Fixture *f)
{
	g_autofree char *path = path_in(f, "vici");

	return g_file_test(path, G_FILE_TEST_EXISTS);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	f->params = data;
	f->dir = g_dir_make_tmp("vpnd-dbus-XXXXXX", &error);
	g_assert_no_error(error);
	f->janitor = harness_janitor_new(f->dir, NULL);
	/* "nobody" must reach the bus socket in here */
	g_assert_cmpint(g_chmod(f->dir, 0755), ==, 0);
	g_autofree char *plugins = path_in(f, "plugins");
	g_assert_cmpint(g_mkdir(plugins, 0700), ==, 0);
	f->bus_address = g_strdup_printf("unix:path=%s/bus", f->dir);
	f->env = g_environ_setenv(g_get_environ(), "DBUS_SYSTEM_BUS_ADDRESS", f->bus_address, TRUE);
	if (f->params->setup != BUS_NONE)
		f->bus = harness_bus_start(f->dir, f->params->setup == BUS_POLICY_OPEN);
	start_vpnd(f);
	if (f->params->setup != BUS_NONE && !f->params->off_bus)
		wait_for(f, vpnd_on_bus, "vpnd owning org.vpnd1");
	else
		wait_for(f, vici_socket_exists, "vpnd opening its VICI socket");
}

/* SIGTERM: vpnd leaves the bus and exits 0 (under ASan: without leaks). */
static void
stop_vpnd(Fixture *f)
{
	g_subprocess_send_signal(f->vpnd, SIGTERM);
	if (!harness_wait_exit(f->vpnd, HARNESS_STOP_TIMEOUT_MS))
		g_error("vpnd did not stop on SIGTERM");
	g_autofree char *err = vpnd_stderr(f);
	if (!g_subprocess_get_if_exited(f->vpnd) || g_subprocess_get_exit_status(f->vpnd) != 0)
		g_error("vpnd did not exit cleanly; its stderr:\n%s", err);
	g_clear_object(&f->vpnd);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	if (f->vpnd) {
		g_subprocess_force_exit(f->vpnd); /* a test failed while vpnd ran */
		harness_wait_exit(f->vpnd, HARNESS_STOP_TIMEOUT_MS);
		g_clear_object(&f->vpnd);
	}
	g_clear_pointer(&f->bus, harness_bus_stop);
	harness_janitor_finish(g_steal_pointer(&f->janitor), f->dir);
	g_free(f->dir);
	g_free(f->bus_address);
	g_strfreev(f->env);
}

static const Params strict = { BUS_POLICY_STRICT, NULL, FALSE };
static const Params open_policy = { BUS_POLICY_OPEN, NULL, FALSE };
static const Params no_bus = { BUS_NONE, NULL, TRUE };
static const Params disabled = { BUS_POLICY_STRICT, "dbus {\n\tenable = no\n}\n", TRUE };

static void
test_version(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL;
	struct utsname u;

	g_assert_cmpint(uname(&u), ==, 0);
	g_autofree char *expect = g_strdup_printf("vpnctl %s\nvpnd %s (%s %s %s)\n", VPND_VERSION,
						  VPND_VERSION, u.sysname, u.release, u.machine);
	g_assert_cmpint(harness_vpnctl(f->env, FALSE, &out, &err, "version", NULL), ==, 0);
	g_assert_cmpstr(out, ==, expect);
	g_assert_cmpstr(err, ==, "");

	g_assert_cmpint(harness_vpnctl(f->env, FALSE, &jout, &jerr, "version", "--json", NULL), ==,
			0);
	g_assert_cmpstr(jerr, ==, "");
	json_object *obj = harness_parse_json(jout);
	g_assert_cmpstr(harness_json_str(obj, "vpnctl"), ==, VPND_VERSION);
	g_assert_cmpstr(harness_json_str(obj, "vpnd"), ==, VPND_VERSION);
	g_assert_cmpstr(harness_json_str(obj, "sysname"), ==, u.sysname);
	g_assert_cmpstr(harness_json_str(obj, "release"), ==, u.release);
	g_assert_cmpstr(harness_json_str(obj, "machine"), ==, u.machine);
	json_object_put(obj);
	stop_vpnd(f);
}

static void
test_list_empty(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL;
	g_autofree char *sout = NULL, *serr = NULL;

	g_assert_cmpint(harness_vpnctl(f->env, FALSE, &jout, &jerr, "--json", "list", NULL), ==, 0);
	g_assert_cmpstr(jerr, ==, "");
	json_object *arr = harness_parse_json(jout);
	g_assert_true(json_object_is_type(arr, json_type_array));
	g_assert_cmpuint(json_object_array_length(arr), ==, 0);
	json_object_put(arr);

	/* off a terminal: no header, no lines */
	g_assert_cmpint(harness_vpnctl(f->env, FALSE, &out, &err, "list", NULL), ==, 0);
	g_assert_cmpstr(out, ==, "");
	g_assert_cmpstr(err, ==, "");

	g_assert_cmpint(harness_vpnctl(f->env, FALSE, &sout, &serr, "status", "--json", NULL), ==,
			0);
	json_object *st = harness_parse_json(sout), *daemon = NULL, *conns = NULL;
	g_assert_true(json_object_object_get_ex(st, "daemon", &daemon));
	g_assert_cmpstr(harness_json_str(daemon, "version"), ==, VPND_VERSION);
	g_assert_true(json_object_object_get_ex(st, "connections", &conns));
	g_assert_cmpuint(json_object_array_length(conns), ==, 0);
	json_object_put(st);
	stop_vpnd(f);
}

static void
check_not_found(Fixture *f, const char *command)
{
	g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL;

	g_assert_cmpint(harness_vpnctl(f->env, FALSE, &out, &err, command, "nosuch", NULL), ==,
			EXIT_NOT_FOUND);
	g_assert_cmpstr(out, ==, "");
	g_assert_cmpstr(err, ==, "vpnctl: connection \"nosuch\" not found\n");

	g_assert_cmpint(
		harness_vpnctl(f->env, FALSE, &jout, &jerr, "--json", command, "nosuch", NULL), ==,
		EXIT_NOT_FOUND);
	json_object *obj = harness_parse_json(jout), *code = NULL;
	g_assert_cmpstr(harness_json_str(obj, "error"), ==, "org.vpnd1.Error.NotFound");
	g_assert_true(json_object_object_get_ex(obj, "exit_code", &code));
	g_assert_cmpint(json_object_get_int(code), ==, EXIT_NOT_FOUND);
	json_object_put(obj);
}

static void
test_unknown_connection(Fixture *f, gconstpointer data)
{
	const char *commands[] = { "status", "up", "down", "unload" };

	for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
		check_not_found(f, commands[i]);
	/* the names on the bus, not only vpnctl's reading of them */
	const char *methods[] = { "GetStatus", "Up", "Down", "Unload" };
	for (guint i = 0; i < G_N_ELEMENTS(methods); i++) {
		g_autofree char *name =
			harness_call_error_name(f->bus, methods[i], g_variant_new("(s)", "nosuch"));
		g_assert_cmpstr(name, ==, "org.vpnd1.Error.NotFound");
	}
	stop_vpnd(f);
}

/* Load goes down the one load-conn path: text it cannot use is refused with the
 * loader's reason, never a fake success. */
static void
test_load_invalid(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL;
	g_autofree char *file = path_in(f, "conn.conf");

	write_file(f, "conn.conf", "connections {\n\thome {\n\t\tversion = 1\n\t}\n}\n");
	g_assert_cmpint(harness_vpnctl(f->env, FALSE, &out, &err, "load", file, NULL), !=, 0);
	g_assert_cmpstr(out, ==, "");
	g_assert_nonnull(strstr(err, "home: version: only IKEv2 is supported"));
	g_autofree char *name = harness_call_error_name(
		f->bus, "Load", g_variant_new("(ss)", "connections {", "test"));
	g_assert_cmpstr(name, ==, "org.vpnd1.Error.InvalidArgument");
	stop_vpnd(f);
}

static GDBusInterfaceInfo *
lookup_iface(GDBusNodeInfo *node, const char *name)
{
	GDBusInterfaceInfo *iface = g_dbus_node_info_lookup_interface(node, name);

	g_assert_nonnull(iface);
	return iface;
}

static char *
args_signature(GDBusArgInfo **args)
{
	GString *s = g_string_new("(");

	for (guint i = 0; args && args[i]; i++)
		g_string_append_printf(s, "%s%s:%s", i ? "," : "", args[i]->name,
				       args[i]->signature);
	g_string_append_c(s, ')');
	return g_string_free(s, FALSE);
}

/* Methods, arguments, signals and properties, one per line, in order. */
static char *
describe(GDBusInterfaceInfo *iface)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; iface->methods && iface->methods[i]; i++) {
		g_autofree char *in = args_signature(iface->methods[i]->in_args);
		g_autofree char *out = args_signature(iface->methods[i]->out_args);
		g_string_append_printf(s, "method %s %s -> %s\n", iface->methods[i]->name, in, out);
	}
	for (guint i = 0; iface->signals && iface->signals[i]; i++) {
		g_autofree char *args = args_signature(iface->signals[i]->args);
		g_string_append_printf(s, "signal %s %s\n", iface->signals[i]->name, args);
	}
	for (guint i = 0; iface->properties && iface->properties[i]; i++)
		g_string_append_printf(s, "property %s %s %d\n", iface->properties[i]->name,
				       iface->properties[i]->signature,
				       iface->properties[i]->flags);
	return g_string_free(s, FALSE);
}

static void
test_introspection(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *xml_path = g_build_filename(g_getenv("VPND_SOURCE_ROOT"), "dbus",
						     "org.vpnd1.Manager.xml", NULL);
	g_autofree char *xml = NULL;

	g_assert_true(g_file_get_contents(xml_path, &xml, NULL, &error));
	g_autoptr(GDBusNodeInfo) want = g_dbus_node_info_new_for_xml(xml, &error);
	g_assert_no_error(error);
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		f->bus->conn, "org.vpnd1", "/org/vpnd1", "org.freedesktop.DBus.Introspectable",
		"Introspect", NULL, G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
		&error);
	g_assert_no_error(error);
	const char *live_xml;
	g_variant_get(reply, "(&s)", &live_xml);
	g_autoptr(GDBusNodeInfo) live = g_dbus_node_info_new_for_xml(live_xml, &error);
	g_assert_no_error(error);

	g_autofree char *expect = describe(lookup_iface(want, "org.vpnd1.Manager"));
	g_autofree char *got = describe(lookup_iface(live, "org.vpnd1.Manager"));
	g_assert_cmpstr(got, ==, expect);
	/* and the properties read back as the daemon's own */
	g_autoptr(GVariant) version = g_dbus_connection_call_sync(
		f->bus->conn, "org.vpnd1", "/org/vpnd1", "org.freedesktop.DBus.Properties", "Get",
		g_variant_new("(ss)", "org.vpnd1.Manager", "Version"), G_VARIANT_TYPE("(v)"),
		G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);
	g_autoptr(GVariant) value = NULL;
	g_variant_get(version, "(v)", &value);
	g_assert_cmpstr(g_variant_get_string(value, NULL), ==, VPND_VERSION);
	stop_vpnd(f);
}

/* Whoever refused (@wire_name says who), scripts read one name. */
static void
check_denied(Fixture *f, const char *wire_name, const char *command, const char *arg)
{
	g_autofree char *out = NULL, *err = NULL;

	g_assert_cmpint(harness_vpnctl(f->env, TRUE, &out, &err, "--json", command, arg, NULL), ==,
			EXIT_PERMISSION_DENIED);
	json_object *obj = harness_parse_json(out);
	g_assert_cmpstr(harness_json_str(obj, "error"), ==, "org.vpnd1.Error.PermissionDenied");
	g_assert_cmpstr(harness_json_str(obj, "dbus_error"), ==, wire_name);
	json_object_put(obj);
	g_assert_nonnull(strstr(err, "vpnctl: "));
	g_assert_cmpint(strchr(err, '\n') - err + 1, ==, strlen(err)); /* one line */
}

/* As "nobody": reading is open, changing is not (the bus policy says no first). */
static void
test_unprivileged_policy(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *sout = NULL, *serr = NULL;

	g_assert_cmpint(harness_vpnctl(f->env, TRUE, &out, &err, "list", "--json", NULL), ==, 0);
	g_assert_cmpstr(out, ==, "[]\n");
	g_assert_cmpint(harness_vpnctl(f->env, TRUE, &sout, &serr, "status", "nosuch", NULL), ==,
			EXIT_NOT_FOUND);
	check_denied(f, "org.freedesktop.DBus.Error.AccessDenied", "up", "nosuch");
	check_denied(f, "org.freedesktop.DBus.Error.AccessDenied", "down", "nosuch");
	stop_vpnd(f);
}

/* A bus that lets anyone through: vpnd's own check refuses, before any lookup. */
static void
test_unprivileged_daemon_check(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL;

	g_assert_cmpint(harness_vpnctl(f->env, TRUE, &out, &err, "list", "--json", NULL), ==, 0);
	g_assert_cmpstr(out, ==, "[]\n");
	check_denied(f, "org.vpnd1.Error.PermissionDenied", "up", "nosuch");
	check_denied(f, "org.vpnd1.Error.PermissionDenied", "down", "nosuch");
	check_denied(f, "org.vpnd1.Error.PermissionDenied", "unload", "nosuch");
	/* root still gets the real answer */
	check_not_found(f, "up");
	stop_vpnd(f);
}

typedef struct {
	GMainLoop *loop;
	GDataInputStream *in;
	const char *needle;
	gboolean found;
	gboolean eof;
	GString *seen;
} LineWait;

static void read_next(LineWait *w);

static void
on_line(GObject *source, GAsyncResult *result, gpointer user_data)
{
	LineWait *w = user_data;
	g_autofree char *line = g_data_input_stream_read_line_finish(w->in, result, NULL, NULL);

	if (!line) {
		w->eof = TRUE;
		g_main_loop_quit(w->loop);
		return;
	}
	g_string_append_printf(w->seen, "%s\n", line);
	if (strstr(line, w->needle)) {
		w->found = TRUE;
		g_main_loop_quit(w->loop);
		return;
	}
	read_next(w);
}

static void
read_next(LineWait *w)
{
	g_data_input_stream_read_line_async(w->in, G_PRIORITY_DEFAULT, NULL, on_line, w);
}

static gboolean
on_line_timeout(gpointer user_data)
{
	LineWait *w = user_data;

	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

/* Reads lines until one contains @needle; FALSE on end of file or timeout. */
static gboolean
wait_line(LineWait *w, const char *needle)
{
	w->needle = needle;
	w->found = FALSE;
	read_next(w);
	guint timer = g_timeout_add(LOG_TIMEOUT_MS, on_line_timeout, w);
	g_main_loop_run(w->loop);
	if (w->found || w->eof)
		g_source_remove(timer);
	return w->found;
}

/* `vpnctl log -f` prints the history, then a line that a reload (SIGHUP) causes. */
static void
test_log_follow(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocessLauncher) l =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_subprocess_launcher_set_environ(l, f->env);
	g_subprocess_launcher_set_child_setup(l, harness_die_with_parent, NULL, NULL);
	g_autofree char *path = harness_build_path("cli/vpnctl");
	/* not under timeout(1), so that SIGTERM reaches vpnctl itself; bounded by
	 * LOG_TIMEOUT_MS below, and it dies with the test */
	g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn(l, &error, path, "log", "-f", NULL);
	g_assert_no_error(error);
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GDataInputStream) in = g_data_input_stream_new(g_subprocess_get_stdout_pipe(p));
	LineWait w = { .loop = loop, .in = in, .seen = g_string_new(NULL) };

	/* the history comes after the subscription: from here on nothing is missed */
	if (!wait_line(&w, "running, plugins:"))
		g_error("no history from vpnctl log -f; it printed:\n%s", w.seen->str);
	g_subprocess_send_signal(f->vpnd, SIGHUP);
	if (!wait_line(&w, "settings reloaded from"))
		g_error("no reload line from vpnctl log -f; it printed:\n%s", w.seen->str);
	g_subprocess_send_signal(p, SIGTERM);
	g_assert_true(g_subprocess_wait(p, NULL, &error));
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_if_exited(p));
	g_assert_cmpint(g_subprocess_get_exit_status(p), ==, 0);
	g_string_free(w.seen, TRUE);
	stop_vpnd(f);
}

/* No bus: one warning, and vpnd runs on (its VICI socket is up; it stops cleanly). */
static void
test_no_bus(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL;

	g_assert_cmpint(harness_vpnctl(f->env, FALSE, &out, &err, "version", NULL), ==,
			EXIT_UNREACHABLE);
	g_assert_true(g_str_has_prefix(err, "vpnctl: vpnd is not reachable on the system bus"));
	g_assert_true(g_subprocess_get_identifier(f->vpnd) != NULL);
	stop_vpnd(f);
	g_autofree char *log = vpnd_stderr(f);
	g_autofree char **lines = g_strsplit(log, "\n", -1);
	guint warnings = 0;
	for (guint i = 0; lines[i]; i++) {
		if (strstr(lines[i], "cannot connect to the system bus"))
			warnings++;
		g_free(lines[i]);
	}
	g_assert_cmpuint(warnings, ==, 1);
}

/* dbus.enable = no: vpnd stays off the bus. */
static void
test_disabled(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL;

	wait_for(f, vici_socket_exists, "vpnd opening its VICI socket");
	g_assert_false(harness_bus_has_owner(f->bus, "org.vpnd1"));
	g_assert_cmpint(harness_vpnctl(f->env, FALSE, &out, &err, "list", NULL), ==,
			EXIT_UNREACHABLE);
	stop_vpnd(f);
}

int
main(int argc, char **argv)
{
	if (getuid() != 0) {
		printf("1..0 # SKIP needs root (vpnd owns org.vpnd1; tests switch to nobody)\n");
		return 77;
	}
	g_test_init(&argc, &argv, NULL);
#define ADD(path, params, func)                                                                    \
	g_test_add(path, Fixture, params, fixture_setup, func, fixture_teardown)
	ADD("/dbus/version", &strict, test_version);
	ADD("/dbus/list/empty", &strict, test_list_empty);
	ADD("/dbus/errors/not-found", &strict, test_unknown_connection);
	ADD("/dbus/errors/load-invalid", &strict, test_load_invalid);
	ADD("/dbus/introspection", &strict, test_introspection);
	ADD("/dbus/unprivileged/bus-policy", &strict, test_unprivileged_policy);
	ADD("/dbus/unprivileged/daemon-check", &open_policy, test_unprivileged_daemon_check);
	ADD("/dbus/log/follow", &strict, test_log_follow);
	ADD("/dbus/no-bus", &no_bus, test_no_bus);
	ADD("/dbus/disabled", &disabled, test_disabled);
	return g_test_run();
}
