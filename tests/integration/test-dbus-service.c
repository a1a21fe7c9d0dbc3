/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The org.vpnd1 adapter (daemon/dbus) with connections, before the engine exists: the
 * test lends the control API a fake connection store whose "negotiations" move through
 * the states an engine will report. On a dbus-daemon the test starts (system-bus-like,
 * with dbus/org.vpnd1.conf), the real vpnctl must show them, and a second client must
 * see every PropertiesChanged in order.
 *
 * Needs root: the service owns org.vpnd1, which the policy grants root only.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "control/control.h"
#include "dbus-harness.h"
#include "core/log.h"
#include "dbus/dbus_service.h"

#define WAIT_TIMEOUT_MS 20000
#define STEP_MS 20 /* between the fake engine's state changes */

/* Exit codes from vpnctl(1). */
#define EXIT_AUTHENTICATION_FAILED 6
#define EXIT_NOT_SUPPORTED 10

/* One folder and bus address for the whole run: set before any thread exists. */
static char *test_dir;

typedef struct {
	char *dir;
	char *bus_address;
	HarnessBus *bus; /* its connection is the second client, watching */
	Control *ctl;
	DbusService *service;
	GHashTable *conns; /* the fake store: name -> ControlConn */
	GPtrArray *states; /* State values of "home" seen by the client, in order */
	GPtrArray *added;  /* names from ConnectionAdded */
	GPtrArray *removed;
	guint subs[3];
} Fixture;

/* ---- the fake store and engine ---- */

static GPtrArray *
fake_list(gpointer user_data)
{
	Fixture *f = user_data;
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)control_conn_free);
	g_autoptr(GList) names = g_hash_table_get_keys(f->conns);

	names = g_list_sort(names, (GCompareFunc)g_strcmp0);
	for (GList *l = names; l; l = l->next)
		g_ptr_array_add(list, control_conn_copy(g_hash_table_lookup(f->conns, l->data)));
	return list;
}

static void
fake_add(Fixture *f, const char *name)
{
	ControlConn *conn = control_conn_new(name);

	g_hash_table_replace(f->conns, conn->name, conn);
	control_publish_conn(f->ctl, CONTROL_CONN_ADDED, conn);
}

typedef struct {
	Fixture *f;
	char *name;
	guint step;
} Negotiation;

static void
negotiation_free(gpointer data)
{
	Negotiation *n = data;

	g_free(n->name);
	g_free(n);
}

/* "home" comes up; any other name fails authentication. */
static gboolean
negotiate_step(gpointer user_data)
{
	Negotiation *n = user_data;
	ControlConn *conn = g_hash_table_lookup(n->f->conns, n->name);

	if (g_str_equal(n->name, "home")) {
		conn->state = CONTROL_CONN_ESTABLISHED;
		g_free(conn->local_address);
		conn->local_address = g_strdup("192.0.2.1");
		g_free(conn->remote_address);
		conn->remote_address = g_strdup("198.51.100.7");
		conn->bytes_in = 1200;
		conn->packets_in = 10;
		conn->bytes_out = 800;
		conn->packets_out = 8;
		conn->established_at = g_get_real_time() / G_USEC_PER_SEC;
	} else {
		conn->state = CONTROL_CONN_DOWN;
		g_free(conn->last_error);
		conn->last_error = g_strdup("the peer refused our authentication");
		conn->last_error_code = CONTROL_ERROR_AUTHENTICATION_FAILED;
	}
	control_publish_conn(n->f->ctl, CONTROL_CONN_CHANGED, conn);
	return G_SOURCE_REMOVE;
}

static gboolean
fake_initiate(gpointer user_data, const char *name, GError **error)
{
	Fixture *f = user_data;
	ControlConn *conn = g_hash_table_lookup(f->conns, name);
	Negotiation *n = g_new0(Negotiation, 1);

	if (conn->state != CONTROL_CONN_DOWN) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_ALREADY_ACTIVE,
			    "connection \"%s\" is already %s", name,
			    control_conn_state_to_string(conn->state));
		g_free(n);
		return FALSE;
	}
	conn->state = CONTROL_CONN_CONNECTING;
	control_publish_conn(f->ctl, CONTROL_CONN_CHANGED, conn);
	n->f = f;
	n->name = g_strdup(name);
	g_timeout_add_full(G_PRIORITY_DEFAULT, STEP_MS, negotiate_step, n, negotiation_free);
	return TRUE;
}

static gboolean
fake_terminate(gpointer user_data, const char *name, GError **error)
{
	Fixture *f = user_data;
	ControlConn *conn = g_hash_table_lookup(f->conns, name);

	conn->state = CONTROL_CONN_DOWN;
	conn->established_at = 0;
	control_publish_conn(f->ctl, CONTROL_CONN_CHANGED, conn);
	return TRUE;
}

static gboolean
fake_unload(gpointer user_data, const char *name, GError **error)
{
	Fixture *f = user_data;
	g_autoptr(ControlConn) conn = control_conn_copy(g_hash_table_lookup(f->conns, name));

	g_hash_table_remove(f->conns, name);
	control_publish_conn(f->ctl, CONTROL_CONN_REMOVED, conn);
	return TRUE;
}

/* ---- the bus ---- */

static gboolean
service_on_bus(Fixture *f)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		f->bus->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus", "NameHasOwner", g_variant_new("(s)", DBUS_SERVICE_NAME),
		G_VARIANT_TYPE("(b)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
	gboolean owned = FALSE;

	if (reply)
		g_variant_get(reply, "(b)", &owned);
	return owned;
}

/* Runs the main loop until @done, or fails after @timeout_ms. */
static void
spin_until(Fixture *f, gboolean (*done)(Fixture *f), const char *what)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_TIMEOUT_MS * 1000;

	while (!done(f)) {
		if (g_get_monotonic_time() > deadline)
			g_error("timed out waiting for %s", what);
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	}
}

static void
on_props(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
	 const char *signal, GVariant *params, gpointer user_data)
{
	Fixture *f = user_data;
	g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
	const char *state;

	if (g_variant_lookup(changed, "State", "&s", &state))
		g_ptr_array_add(f->states, g_strdup(state));
}

static void
on_manager_signal(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
		  const char *signal, GVariant *params, gpointer user_data)
{
	Fixture *f = user_data;
	const char *name;

	g_variant_get(params, "(&o&s)", NULL, &name);
	g_ptr_array_add(g_str_equal(signal, "ConnectionAdded") ? f->added : f->removed,
			g_strdup(name));
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->dir = g_strdup(test_dir);
	f->bus_address = g_strdup(g_getenv("DBUS_SYSTEM_BUS_ADDRESS"));
	f->bus = harness_bus_start(f->dir, FALSE);

	f->conns = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					 (GDestroyNotify)control_conn_free);
	f->states = g_ptr_array_new_with_free_func(g_free);
	f->added = g_ptr_array_new_with_free_func(g_free);
	f->removed = g_ptr_array_new_with_free_func(g_free);
	/* data: TRUE for a store without an engine (no initiate, no terminate) */
	gboolean no_engine = GPOINTER_TO_INT(data);
	const ControlHooks hooks = {
		.list_connections = fake_list,
		.initiate = no_engine ? NULL : fake_initiate,
		.terminate = no_engine ? NULL : fake_terminate,
		.unload = fake_unload,
		.user_data = f,
	};
	f->ctl = control_new(&hooks);
	f->subs[0] = g_dbus_connection_signal_subscribe(
		f->bus->conn, DBUS_SERVICE_NAME, "org.freedesktop.DBus.Properties",
		"PropertiesChanged", DBUS_SERVICE_CONN_PATH "/home", "org.vpnd1.Connection",
		G_DBUS_SIGNAL_FLAGS_NONE, on_props, f, NULL);
	f->subs[1] = g_dbus_connection_signal_subscribe(
		f->bus->conn, DBUS_SERVICE_NAME, "org.vpnd1.Manager", "ConnectionAdded",
		DBUS_SERVICE_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_manager_signal, f, NULL);
	f->subs[2] = g_dbus_connection_signal_subscribe(
		f->bus->conn, DBUS_SERVICE_NAME, "org.vpnd1.Manager", "ConnectionRemoved",
		DBUS_SERVICE_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_manager_signal, f, NULL);
	f->service = dbus_service_new(f->ctl);
	spin_until(f, service_on_bus, "the service owning org.vpnd1");
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	for (guint i = 0; i < G_N_ELEMENTS(f->subs); i++)
		g_dbus_connection_signal_unsubscribe(f->bus->conn, f->subs[i]);
	g_clear_pointer(&f->service, dbus_service_free);
	g_clear_pointer(&f->ctl, control_free);
	/* let pending negotiation timers go: they hold the fixture */
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_clear_pointer(&f->bus, harness_bus_stop);
	g_autofree char *conf = g_build_filename(f->dir, "bus.conf", NULL);
	g_autofree char *socket = g_build_filename(f->dir, "bus", NULL);
	g_unlink(conf);
	g_unlink(socket);
	g_free(f->dir);
	g_free(f->bus_address);
	g_hash_table_unref(f->conns);
	g_ptr_array_unref(f->states);
	g_ptr_array_unref(f->added);
	g_ptr_array_unref(f->removed);
}

/* ---- vpnctl, run while this process serves the bus ---- */

typedef struct {
	gboolean done;
	char *out;
	char *err;
} Run;

static void
on_communicated(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Run *r = user_data;
	g_autoptr(GError) error = NULL;

	g_subprocess_communicate_utf8_finish(G_SUBPROCESS(source), result, &r->out, &r->err,
					     &error);
	g_assert_no_error(error);
	r->done = TRUE;
}

static Run *current_run;

static gboolean
run_done(Fixture *f)
{
	return current_run->done;
}

/* Runs vpnctl with the NULL-terminated arguments; returns its exit code. */
static int
vpnctl(Fixture *f, char **out, char **err, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	Run r = { 0 };
	va_list ap;

	g_ptr_array_add(argv, g_strdup("timeout"));
	g_ptr_array_add(argv, g_strdup("-s"));
	g_ptr_array_add(argv, g_strdup("KILL"));
	g_ptr_array_add(argv, g_strdup("30"));
	g_ptr_array_add(argv, g_build_filename(g_getenv("VPND_BUILD_ROOT"), "cli", "vpnctl", NULL));
	va_start(ap, err);
	for (const char *a; (a = va_arg(ap, const char *));)
		g_ptr_array_add(argv, g_strdup(a));
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(
		G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_subprocess_launcher_set_child_setup(l, harness_die_with_parent, NULL, NULL);
	g_autoptr(GSubprocess) p =
		g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata, &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8_async(p, NULL, NULL, on_communicated, &r);
	current_run = &r;
	spin_until(f, run_done, "vpnctl");
	g_assert_true(g_subprocess_wait(p, NULL, NULL));
	*out = r.out;
	*err = r.err;
	g_assert_true(g_subprocess_get_if_exited(p));
	return g_subprocess_get_exit_status(p);
}

static gboolean
added_one(Fixture *f)
{
	return f->added->len == 1;
}

static gboolean
removed_one(Fixture *f)
{
	return f->removed->len == 1;
}

static gboolean
saw_down(Fixture *f)
{
	return f->states->len == 3;
}

static void
test_list(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *tout = NULL, *terr = NULL;

	fake_add(f, "home");
	spin_until(f, added_one, "ConnectionAdded");
	g_assert_cmpstr(f->added->pdata[0], ==, "home");
	g_assert_cmpint(vpnctl(f, &out, &err, "list", "--json", NULL), ==, 0);
	json_object *arr = harness_parse_json(out);
	g_assert_cmpuint(json_object_array_length(arr), ==, 1);
	json_object *home = json_object_array_get_idx(arr, 0);
	g_assert_cmpstr(harness_json_str(home, "name"), ==, "home");
	g_assert_cmpstr(harness_json_str(home, "state"), ==, "down");
	g_assert_cmpint(harness_json_int(home, "bytes_in"), ==, 0);
	json_object_put(arr);
	/* off a terminal: tab-separated, no header */
	g_assert_cmpint(vpnctl(f, &tout, &terr, "list", NULL), ==, 0);
	g_assert_cmpstr(tout, ==, "home\tdown\t\n");
}

/* up waits through connecting to established; a second client sees every state. */
static void
test_up_down(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *sout = NULL, *serr = NULL;
	g_autofree char *dout = NULL, *derr = NULL;

	fake_add(f, "home");
	g_assert_cmpint(vpnctl(f, &out, &err, "up", "home", "--json", NULL), ==, 0);
	json_object *conn = harness_parse_json(out);
	g_assert_cmpstr(harness_json_str(conn, "state"), ==, "established");
	g_assert_cmpstr(harness_json_str(conn, "remote_address"), ==, "198.51.100.7");
	g_assert_cmpint(harness_json_int(conn, "bytes_in"), ==, 1200);
	g_assert_cmpint(harness_json_int(conn, "packets_out"), ==, 8);
	g_assert_cmpint(harness_json_int(conn, "established_at"), >, 0);
	json_object_put(conn);

	g_assert_cmpint(vpnctl(f, &sout, &serr, "status", "home", "--json", NULL), ==, 0);
	json_object *st = harness_parse_json(sout);
	g_assert_cmpstr(harness_json_str(st, "state"), ==, "established");
	json_object_put(st);

	g_assert_cmpint(vpnctl(f, &dout, &derr, "down", "home", NULL), ==, 0);
	spin_until(f, saw_down, "State down");
	g_assert_cmpstr(f->states->pdata[0], ==, "connecting");
	g_assert_cmpstr(f->states->pdata[1], ==, "established");
	g_assert_cmpstr(f->states->pdata[2], ==, "down");
}

/* The peer's reason as a named error and its own exit code. */
static void
test_up_auth_failed(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL;

	fake_add(f, "office");
	g_assert_cmpint(vpnctl(f, &out, &err, "up", "office", NULL), ==,
			EXIT_AUTHENTICATION_FAILED);
	g_assert_cmpstr(out, ==, "");
	g_assert_cmpstr(err, ==,
			"vpnctl: connection \"office\": the peer refused our authentication\n");
	/* the second attempt's error is the same, and JSON names it */
	g_assert_cmpint(vpnctl(f, &jout, &jerr, "--json", "up", "office", NULL), ==,
			EXIT_AUTHENTICATION_FAILED);
	json_object *obj = harness_parse_json(jout);
	g_assert_cmpstr(harness_json_str(obj, "error"), ==, "org.vpnd1.Error.AuthenticationFailed");
	json_object_put(obj);
}

static void
test_unload(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *lout = NULL, *lerr = NULL;

	fake_add(f, "home");
	g_assert_cmpint(vpnctl(f, &out, &err, "unload", "home", NULL), ==, 0);
	spin_until(f, removed_one, "ConnectionRemoved");
	g_assert_cmpstr(f->removed->pdata[0], ==, "home");
	g_assert_cmpint(vpnctl(f, &lout, &lerr, "list", "--json", NULL), ==, 0);
	g_assert_cmpstr(lout, ==, "[]\n");
}

/* Connections but no engine yet: an honest NotSupported, never a fake success. */
static void
test_no_engine(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *dout = NULL, *derr = NULL;

	fake_add(f, "home");
	g_assert_cmpint(vpnctl(f, &out, &err, "up", "home", NULL), ==, EXIT_NOT_SUPPORTED);
	g_assert_cmpstr(out, ==, "");
	g_assert_cmpstr(err, ==, "vpnctl: connection \"home\": negotiation is not available yet\n");
	g_assert_cmpint(vpnctl(f, &dout, &derr, "--json", "down", "home", NULL), ==,
			EXIT_NOT_SUPPORTED);
	json_object *obj = harness_parse_json(dout);
	g_assert_cmpstr(harness_json_str(obj, "error"), ==, "org.vpnd1.Error.NotSupported");
	json_object_put(obj);
	g_assert_cmpuint(f->states->len, ==, 0); /* nothing moved */
}

/* The log history keeps the last CONTROL_LOG_HISTORY lines, oldest first. */
static void
test_log_history(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL;

	for (guint i = 0; i < CONTROL_LOG_HISTORY + 50; i++)
		g_log_structured("dbus-test", G_LOG_LEVEL_MESSAGE, "MESSAGE", "history line %u", i);
	g_assert_cmpint(vpnctl(f, &out, &err, "log", "--json", NULL), ==, 0);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, CONTROL_LOG_HISTORY + 1); /* + "" */
	json_object *last = harness_parse_json(lines[CONTROL_LOG_HISTORY - 1]);
	g_assert_cmpstr(harness_json_str(last, "level"), ==, "message");
	g_assert_cmpstr(harness_json_str(last, "domain"), ==, "dbus-test");
	g_autofree char *want = g_strdup_printf("history line %u", CONTROL_LOG_HISTORY + 49);
	g_assert_cmpstr(harness_json_str(last, "message"), ==, want);
	json_object_put(last);
}

int
main(int argc, char **argv)
{
	if (getuid() != 0) {
		printf("1..0 # SKIP needs root (the service owns org.vpnd1)\n");
		return 77;
	}
	g_autoptr(GError) error = NULL;
	test_dir = g_dir_make_tmp("vpnd-dbus-service-XXXXXX", &error);
	g_assert_no_error(error);
	g_autofree char *address = g_strdup_printf("unix:path=%s/bus", test_dir);
	g_setenv("DBUS_SYSTEM_BUS_ADDRESS", address, TRUE);
	g_test_init(&argc, &argv, NULL);
	log_init(TRUE);
#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("/dbus-service/list", test_list);
	ADD("/dbus-service/up-down", test_up_down);
	ADD("/dbus-service/up-auth-failed", test_up_auth_failed);
	ADD("/dbus-service/unload", test_unload);
	g_test_add("/dbus-service/no-engine", Fixture, GINT_TO_POINTER(TRUE), fixture_setup,
		   test_no_engine, fixture_teardown);
	ADD("/dbus-service/log-history", test_log_history);
	int status = g_test_run();
	g_rmdir(test_dir);
	g_free(test_dir);
	return status;
}
