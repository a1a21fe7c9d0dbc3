/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vpnctl status [NAME]: one connection in detail, or vpnd and all its connections. */
#include <stdio.h>

#include "vpnctl.h"

static char *
format_time(gint64 unix_s)
{
	g_autoptr(GDateTime) t = unix_s ? g_date_time_new_from_unix_local(unix_s) : NULL;

	return t ? g_date_time_format(t, "%Y-%m-%d %H:%M:%S %Z") : g_strdup("-");
}

static void
print_conn(Vpnctl *v, GVariant *props)
{
	g_autofree char *state = output_state(v, output_lookup_str(props, "State"));
	g_autofree char *since = format_time(output_lookup_i64(props, "EstablishedAt"));
	g_autofree const char **vips = NULL;
	g_autofree char *vip_text = NULL;

	if (g_variant_lookup(props, "VirtualIPs", "^a&s", &vips))
		vip_text = g_strjoinv(" ", (char **)vips);
	printf("%s: %s\n", output_lookup_str(props, "Name"), state);
	printf("  local:        %s\n", output_lookup_str(props, "LocalAddress"));
	printf("  remote:       %s\n", output_lookup_str(props, "RemoteAddress"));
	printf("  virtual IPs:  %s\n", vip_text && *vip_text ? vip_text : "-");
	printf("  established:  %s\n", since);
	printf("  in:           %" G_GUINT64_FORMAT " bytes, %" G_GUINT64_FORMAT " packets\n",
	       output_lookup_u64(props, "BytesIn"), output_lookup_u64(props, "PacketsIn"));
	printf("  out:          %" G_GUINT64_FORMAT " bytes, %" G_GUINT64_FORMAT " packets\n",
	       output_lookup_u64(props, "BytesOut"), output_lookup_u64(props, "PacketsOut"));
	if (*output_lookup_str(props, "LastError"))
		printf("  last error:   %s\n", output_lookup_str(props, "LastError"));
}

static int
status_one(Vpnctl *v, const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
		client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE, "GetStatus",
			    g_variant_new("(s)", name), "(a{sv})", &error);

	if (!reply)
		return client_fail(v, error);
	g_autoptr(GVariant) props = g_variant_get_child_value(reply, 0);
	if (v->json)
		output_json(v, output_conn_json(props));
	else
		print_conn(v, props);
	return VPNCTL_EXIT_OK;
}

static json_object *
daemon_json(GVariant *mgr)
{
	json_object *obj = json_object_new_object();
	json_object *plugins = json_object_new_array();
	g_autofree const char **names = NULL;

	json_object_object_add(obj, "version",
			       json_object_new_string(output_lookup_str(mgr, "Version")));
	json_object_object_add(obj, "started_at",
			       json_object_new_int64(output_lookup_i64(mgr, "StartedAt")));
	if (g_variant_lookup(mgr, "Plugins", "^a&s", &names)) {
		for (guint i = 0; names[i]; i++)
			json_object_array_add(plugins, json_object_new_string(names[i]));
	}
	json_object_object_add(obj, "plugins", plugins);
	return obj;
}

static void
print_daemon(Vpnctl *v, GVariant *mgr, GPtrArray *conns)
{
	g_autofree char *since = format_time(output_lookup_i64(mgr, "StartedAt"));
	g_autofree const char **names = NULL;
	g_autofree char *plugins = NULL;

	if (g_variant_lookup(mgr, "Plugins", "^a&s", &names))
		plugins = g_strjoinv(" ", (char **)names);
	printf("vpnd %s, running since %s\n", output_lookup_str(mgr, "Version"), since);
	printf("plugins: %s\n", plugins && *plugins ? plugins : "none");
	printf("connections: %u\n", conns->len);
	for (guint i = 0; i < conns->len; i++) {
		g_autofree char *state =
			output_state(v, output_lookup_str(conns->pdata[i], "State"));
		printf("  %s: %s\n", output_lookup_str(conns->pdata[i], "Name"), state);
	}
}

static int
status_all(Vpnctl *v)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) mgr =
		client_get_all(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE, &error);
	g_autoptr(GPtrArray) conns = mgr ? list_fetch(v, &error) : NULL;

	if (!conns)
		return client_fail(v, error);
	if (v->json) {
		json_object *obj = json_object_new_object();
		json_object *arr = json_object_new_array();
		for (guint i = 0; i < conns->len; i++)
			json_object_array_add(arr, output_conn_json(conns->pdata[i]));
		json_object_object_add(obj, "daemon", daemon_json(mgr));
		json_object_object_add(obj, "connections", arr);
		output_json(v, obj);
	} else {
		print_daemon(v, mgr, conns);
	}
	return VPNCTL_EXIT_OK;
}

static int
status_run(Vpnctl *v, int argc, char **argv)
{
	if (argc > 2)
		return vpnctl_usage_error(v, "unexpected argument '%s'", argv[2]);
	return argc == 2 ? status_one(v, argv[1]) : status_all(v);
}

const VpnctlCommand status_command = {
	.name = "status",
	.args = "[NAME]",
	.summary = "Show a connection in detail, or vpnd and all connections",
	.run = status_run,
};
