/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Following a connection's State until it reaches what `up` or `down` asked for. The
 * PropertiesChanged subscription comes before the method call, so no state is missed;
 * on a terminal a progress line shows where the negotiation is.
 */
#include <stdio.h>

#include "vpnctl.h"

#define CONN_WAIT_DEFAULT_TIMEOUT_S 30

gboolean conn_wait_no_wait;
gint conn_wait_timeout_s = CONN_WAIT_DEFAULT_TIMEOUT_S;

const GOptionEntry conn_wait_options[] = {
	{ "no-wait", 0, 0, G_OPTION_ARG_NONE, &conn_wait_no_wait,
	  "Return once vpnd has started, without waiting", NULL },
	{ "timeout", 't', 0, G_OPTION_ARG_INT, &conn_wait_timeout_s,
	  "Stop waiting after SECONDS (default 30)", "SECONDS" },
	G_OPTION_ENTRY_NULL,
};

struct ConnWait {
	Vpnctl *v;
	char *name;
	char *path;
	const char *target;
	GMainLoop *loop;
	guint sub;
	gboolean progress_shown;
	gboolean moved; /* left the state it started from since we asked */
	gboolean done;
	ConnWaitResult result;
};

static void
progress(ConnWait *w, const char *state)
{
	if (!w->v->tty || w->v->json)
		return;
	g_autofree char *shown = output_state(w->v, state);
	g_printerr("\r\033[Kconnection \"%s\": %s…", w->name, shown);
	w->progress_shown = TRUE;
}

static void
progress_clear(ConnWait *w)
{
	if (w->progress_shown)
		g_printerr("\r\033[K");
	w->progress_shown = FALSE;
}

static void
finish(ConnWait *w, ConnWaitResult result)
{
	w->result = result;
	w->done = TRUE;
	g_main_loop_quit(w->loop);
}

/*
 * "established" is reached or not; "down" is the end of a failed `up` only after the
 * connection moved, since it may still be down from before when the first look comes.
 */
static void
on_state(ConnWait *w, const char *state)
{
	if (w->done)
		return; /* a late signal: the outcome stands */
	progress(w, state);
	if (g_str_equal(state, w->target))
		finish(w, CONN_WAIT_REACHED);
	else if (g_str_equal(state, "down") && w->moved)
		finish(w, CONN_WAIT_FAILED);
	else if (!g_str_equal(state, "down"))
		w->moved = TRUE;
}

static void
on_properties_changed(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
		      const char *signal, GVariant *params, gpointer user_data)
{
	g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
	const char *state = NULL;

	if (g_variant_lookup(changed, "State", "&s", &state))
		on_state(user_data, state);
}

static gboolean
on_timeout(gpointer user_data)
{
	finish(user_data, CONN_WAIT_TIMED_OUT);
	return G_SOURCE_REMOVE;
}

ConnWait *
conn_wait_new(Vpnctl *v, const char *name, const char *target)
{
	ConnWait *w = g_new0(ConnWait, 1);

	w->v = v;
	w->name = g_strdup(name);
	w->path = client_conn_path(name);
	w->target = target;
	w->loop = g_main_loop_new(NULL, FALSE);
	w->sub = g_dbus_connection_signal_subscribe(
		v->bus, CLIENT_SERVICE, "org.freedesktop.DBus.Properties", "PropertiesChanged",
		w->path, CLIENT_CONN_IFACE, G_DBUS_SIGNAL_FLAGS_NONE, on_properties_changed, w,
		NULL);
	return w;
}

ConnWaitResult
conn_wait_run(ConnWait *w, GVariant **props, GError **error)
{
	/* signals sent before the method's reply are queued already: they come first */
	while (!w->done && g_main_context_iteration(NULL, FALSE))
		;
	if (!w->done) {
		g_autoptr(GVariant) now = client_get_all(w->v, w->path, CLIENT_CONN_IFACE, error);
		if (!now)
			return CONN_WAIT_ERROR;
		/* the target may be reached without a change to announce (down on `down`) */
		if (g_str_equal(output_lookup_str(now, "State"), w->target))
			finish(w, CONN_WAIT_REACHED);
	}
	if (!w->done) {
		guint timer = g_timeout_add_seconds(conn_wait_timeout_s, on_timeout, w);
		g_main_loop_run(w->loop);
		if (w->result != CONN_WAIT_TIMED_OUT)
			g_source_remove(timer);
	}
	progress_clear(w);
	*props = client_get_all(w->v, w->path, CLIENT_CONN_IFACE, error);
	return *props ? w->result : CONN_WAIT_ERROR;
}

int
conn_wait_call(Vpnctl *v, int argc, char **argv, const ConnCall *call, ConnWait **wait,
	       GVariant **reply)
{
	g_autoptr(GError) error = NULL;

	if (argc != 2)
		return vpnctl_usage_error(v, argc < 2 ? "a connection NAME is needed"
						      : "one connection NAME only");
	if (conn_wait_timeout_s <= 0)
		return vpnctl_usage_error(v, "--timeout must be a positive number of seconds");
	if (!client_connect(v, &error))
		return client_fail(v, error);
	*wait = conn_wait_no_wait ? NULL : conn_wait_new(v, argv[1], call->target);
	*reply = client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE, call->method,
			     g_variant_new("(s)", argv[1]), call->reply_type, &error);
	if (!*reply) {
		g_clear_pointer(wait, conn_wait_free);
		return client_fail(v, error);
	}
	return VPNCTL_EXIT_OK;
}

void
conn_wait_free(ConnWait *w)
{
	if (!w)
		return;
	g_dbus_connection_signal_unsubscribe(w->v->bus, w->sub);
	g_main_loop_unref(w->loop);
	g_free(w->name);
	g_free(w->path);
	g_free(w);
}
