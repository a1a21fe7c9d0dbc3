/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vpnctl up NAME: asks vpnd to bring the connection up, then (unless --no-wait) follows
 * its State until it is established or down again, or --timeout passes.
 */
#include <stdio.h>

#include "vpnctl.h"

#define UP_DEFAULT_TIMEOUT_S 30

static gboolean opt_no_wait;
static gint opt_timeout = UP_DEFAULT_TIMEOUT_S;

static const GOptionEntry up_options[] = {
	{ "no-wait", 0, 0, G_OPTION_ARG_NONE, &opt_no_wait,
	  "Return once vpnd has started negotiating", NULL },
	{ "timeout", 't', 0, G_OPTION_ARG_INT, &opt_timeout,
	  "Give up waiting after SECONDS (default 30)", "SECONDS" },
	G_OPTION_ENTRY_NULL,
};

typedef struct {
	Vpnctl *v;
	const char *name;
	GMainLoop *loop;
	gboolean seen_active; /* left "down" since we asked */
	gboolean done;
	gboolean established;
	gboolean timed_out;
} UpWait;

static void
progress(UpWait *w, const char *state)
{
	if (w->v->tty && !w->v->json)
		g_printerr("\r\033[K%s: %s…", w->name, state);
}

static void
up_check(UpWait *w, const char *state)
{
	if (!state)
		return;
	progress(w, state);
	if (g_str_equal(state, "established")) {
		w->established = w->done = TRUE;
	} else if (g_str_equal(state, "down")) {
		w->done = w->seen_active;
	} else {
		w->seen_active = TRUE;
	}
	if (w->done)
		g_main_loop_quit(w->loop);
}

static void
on_properties_changed(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
		      const char *signal, GVariant *params, gpointer user_data)
{
	g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
	const char *state = NULL;

	if (g_variant_lookup(changed, "State", "&s", &state))
		up_check(user_data, state);
}

static gboolean
on_timeout(gpointer user_data)
{
	UpWait *w = user_data;

	w->timed_out = TRUE;
	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

/* The outcome, from the connection's properties as they are now. */
static int
up_report(UpWait *w, const char *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) props = client_get_all(w->v, path, CLIENT_CONN_IFACE, &error);

	if (w->v->tty && !w->v->json)
		g_printerr("\r\033[K");
	if (!props)
		return client_fail(w->v, error);
	if (w->timed_out) {
		g_autofree char *msg = g_strdup_printf("connection \"%s\": not up after %d s",
						       w->name, opt_timeout);
		return client_fail_named(w->v, "org.vpnd1.Error.Timeout", msg);
	}
	if (!w->established) {
		const char *name = output_lookup_str(props, "LastErrorName");
		const char *text = output_lookup_str(props, "LastError");
		g_autofree char *msg = g_strdup_printf("connection \"%s\": %s", w->name,
						       *text ? text : "closed before it was up");
		return client_fail_named(w->v, *name ? name : "org.vpnd1.Error.Failed", msg);
	}
	if (w->v->json)
		output_json(w->v, output_conn_json(props));
	else
		printf("connection \"%s\" established (%s - %s)\n", w->name,
		       output_lookup_str(props, "LocalAddress"),
		       output_lookup_str(props, "RemoteAddress"));
	return VPNCTL_EXIT_OK;
}

/* Follows the State that signals report (subscribed before Up was called, so none is
 * missed), after a look at the state as it is now. */
static void
up_print_started(Vpnctl *v, const char *name, const char *path)
{
	if (v->json) {
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "name", json_object_new_string(name));
		json_object_object_add(obj, "path", json_object_new_string(path));
		output_json(v, obj);
	} else {
		printf("connection \"%s\": negotiating\n", name);
	}
}

static int
up_wait(UpWait *w, const char *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) props = client_get_all(w->v, path, CLIENT_CONN_IFACE, &error);

	if (!props)
		return client_fail(w->v, error);
	/* "down" now is where it started: only the signals tell of a failure */
	if (g_str_equal(output_lookup_str(props, "State"), "established"))
		w->established = w->done = TRUE;
	if (!w->done) {
		progress(w, output_lookup_str(props, "State"));
		guint timer = g_timeout_add_seconds(opt_timeout, on_timeout, w);
		g_main_loop_run(w->loop);
		if (!w->timed_out)
			g_source_remove(timer);
	}
	return up_report(w, path);
}

static int
up_run(Vpnctl *v, int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	UpWait w = { .v = v, .name = argv[1], .loop = loop };
	guint sub = 0;

	if (argc != 2)
		return vpnctl_usage_error(v, argc < 2 ? "a connection NAME is needed"
						      : "one connection NAME only");
	if (opt_timeout <= 0)
		return vpnctl_usage_error(v, "--timeout must be a positive number of seconds");
	if (!client_connect(v, &error))
		return client_fail(v, error);
	if (!opt_no_wait) {
		g_autofree char *escaped = g_dbus_escape_object_path(argv[1]);
		g_autofree char *expected = g_strconcat("/org/vpnd1/connection/", escaped, NULL);
		sub = g_dbus_connection_signal_subscribe(
			v->bus, CLIENT_SERVICE, "org.freedesktop.DBus.Properties",
			"PropertiesChanged", expected, CLIENT_CONN_IFACE, G_DBUS_SIGNAL_FLAGS_NONE,
			on_properties_changed, &w, NULL);
	}
	g_autoptr(GVariant) reply = client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE, "Up",
						g_variant_new("(s)", argv[1]), "(o)", &error);
	const char *path = NULL;
	int status = VPNCTL_EXIT_OK;
	if (reply)
		g_variant_get(reply, "(&o)", &path);
	if (!reply)
		status = client_fail(v, error);
	else if (!opt_no_wait)
		status = up_wait(&w, path);
	else
		up_print_started(v, argv[1], path);
	if (sub)
		g_dbus_connection_signal_unsubscribe(v->bus, sub);
	return status;
}

const VpnctlCommand up_command = {
	.name = "up",
	.args = "NAME",
	.summary = "Bring a connection up and wait for the tunnel",
	.options = up_options,
	.run = up_run,
};
