/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vpnctl log [-f]: the lines vpnd logged last; with -f, then every new line until vpnd
 * stops or vpnctl is interrupted. Subscribing comes before fetching the history, so a
 * line is shown twice at worst, never lost.
 */
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>

#include "vpnctl.h"

static gboolean opt_follow;

static const GOptionEntry log_options[] = {
	{ "follow", 'f', 0, G_OPTION_ARG_NONE, &opt_follow, "Keep printing new lines", NULL },
	G_OPTION_ENTRY_NULL,
};

typedef struct {
	Vpnctl *v;
	GMainLoop *loop;
	int status;
} LogFollow;

static void
log_print(Vpnctl *v, gint64 time, const char *level, const char *domain, const char *message)
{
	if (v->json) {
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "time", json_object_new_int64(time));
		json_object_object_add(obj, "level", json_object_new_string(level));
		json_object_object_add(obj, "domain", json_object_new_string(domain));
		json_object_object_add(obj, "message", json_object_new_string(message));
		Vpnctl one_line = *v;
		one_line.tty = FALSE; /* JSON Lines: one object per line */
		output_json(&one_line, obj);
		return;
	}
	g_autoptr(GDateTime) secs = g_date_time_new_from_unix_local(time / G_USEC_PER_SEC);
	g_autoptr(GDateTime) t = secs ? g_date_time_add(secs, time % G_USEC_PER_SEC) : NULL;
	g_autofree char *stamp = t ? g_date_time_format(t, "%Y-%m-%d %H:%M:%S.%f") : NULL;
	/* %f gives microseconds: milliseconds are enough to read */
	if (stamp && strlen(stamp) > 3)
		stamp[strlen(stamp) - 3] = '\0';
	printf("%s %-7s %-4s %s\n", stamp ? stamp : "-", level, domain, message);
	fflush(stdout);
}

static void
on_log_line(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
	    const char *signal, GVariant *params, gpointer user_data)
{
	LogFollow *f = user_data;
	const char *level, *domain, *message;
	gint64 time;

	g_variant_get(params, "(x&s&s&s)", &time, &level, &domain, &message);
	log_print(f->v, time, level, domain, message);
}

static void
on_vpnd_vanished(GDBusConnection *bus, const char *name, gpointer user_data)
{
	LogFollow *f = user_data;

	g_printerr("vpnctl: vpnd left the bus\n");
	f->status = VPNCTL_EXIT_UNREACHABLE;
	g_main_loop_quit(f->loop);
}

static gboolean
on_interrupt(gpointer user_data)
{
	LogFollow *f = user_data;

	g_main_loop_quit(f->loop);
	return G_SOURCE_CONTINUE;
}

static int
print_history(Vpnctl *v)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE,
						"GetLog", NULL, "(a(xsss))", &error);
	g_autoptr(GVariantIter) it = NULL;
	const char *level, *domain, *message;
	gint64 time;

	if (!reply)
		return client_fail(v, error);
	g_variant_get(reply, "(a(xsss))", &it);
	while (g_variant_iter_next(it, "(x&s&s&s)", &time, &level, &domain, &message))
		log_print(v, time, level, domain, message);
	return VPNCTL_EXIT_OK;
}

static int
follow(Vpnctl *v)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	LogFollow f = { .v = v, .loop = loop, .status = VPNCTL_EXIT_OK };

	if (!client_connect(v, &error))
		return client_fail(v, error);
	guint sub = g_dbus_connection_signal_subscribe(
		v->bus, CLIENT_SERVICE, CLIENT_MANAGER_IFACE, "LogLine", CLIENT_MANAGER_PATH, NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, on_log_line, &f, NULL);
	guint watch = g_bus_watch_name_on_connection(v->bus, CLIENT_SERVICE,
						     G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
						     on_vpnd_vanished, &f, NULL);
	guint sigint = g_unix_signal_add(SIGINT, on_interrupt, &f);
	guint sigterm = g_unix_signal_add(SIGTERM, on_interrupt, &f);
	g_autoptr(GVariant) reply = client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE,
						"SubscribeLog", NULL, "()", &error);
	if (!reply)
		f.status = client_fail(v, error);
	else
		f.status = print_history(v);
	if (f.status == VPNCTL_EXIT_OK)
		g_main_loop_run(loop);
	g_source_remove(sigint);
	g_source_remove(sigterm);
	g_bus_unwatch_name(watch);
	g_dbus_connection_signal_unsubscribe(v->bus, sub);
	return f.status;
}

static int
log_run(Vpnctl *v, int argc, char **argv)
{
	if (argc > 1)
		return vpnctl_usage_error(v, "unexpected argument '%s'", argv[1]);
	return opt_follow ? follow(v) : print_history(v);
}

const VpnctlCommand log_command = {
	.name = "log",
	.args = "",
	.summary = "Show vpnd's recent log lines; -f keeps following",
	.options = log_options,
	.run = log_run,
};
