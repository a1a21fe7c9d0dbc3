/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vpnctl list: every connection vpnd knows, with its state. */
#include <stdio.h>

#include "vpnctl.h"

GPtrArray *
list_fetch(Vpnctl *v, GError **error)
{
	g_autoptr(GVariant) reply = client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE,
						"ListConnections", NULL, "(ao)", error);
	g_autoptr(GPtrArray) conns =
		g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	g_autofree const char **paths = NULL;

	if (!reply)
		return NULL;
	g_variant_get(reply, "(^a&o)", &paths);
	for (guint i = 0; paths[i]; i++) {
		GVariant *props = client_get_all(v, paths[i], CLIENT_CONN_IFACE, error);
		if (!props)
			return NULL;
		g_ptr_array_add(conns, props);
	}
	return g_steal_pointer(&conns);
}

static void
print_text(Vpnctl *v, GPtrArray *conns)
{
	static const char *const header[] = { "NAME", "STATE", "REMOTE", NULL };
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);

	if (!conns->len) {
		if (v->tty)
			printf("No connections.\n");
		return;
	}
	for (guint i = 0; i < conns->len; i++) {
		GVariant *props = conns->pdata[i];
		char **row = g_new0(char *, 4);
		row[0] = g_strdup(output_lookup_str(props, "Name"));
		row[1] = output_state(v, output_lookup_str(props, "State"));
		row[2] = g_strdup(output_lookup_str(props, "RemoteAddress"));
		g_ptr_array_add(rows, row);
	}
	output_table(v, header, rows);
}

static int
list_run(Vpnctl *v, int argc, char **argv)
{
	g_autoptr(GError) error = NULL;

	if (argc > 1)
		return vpnctl_usage_error(v, "unexpected argument '%s'", argv[1]);
	g_autoptr(GPtrArray) conns = list_fetch(v, &error);
	if (!conns)
		return client_fail(v, error);
	if (v->json) {
		json_object *arr = json_object_new_array();
		for (guint i = 0; i < conns->len; i++)
			json_object_array_add(arr, output_conn_json(conns->pdata[i]));
		output_json(v, arr);
	} else {
		print_text(v, conns);
	}
	return VPNCTL_EXIT_OK;
}

const VpnctlCommand list_command = {
	.name = "list",
	.args = "",
	.summary = "List the connections and their states",
	.run = list_run,
};
