/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vpnctl load FILE: sends connections in swanctl.conf syntax to vpnd. vpnctl reads the
 * file, with the caller's own rights, so vpnd never opens a path a client names.
 */
#include <stdio.h>

#include "vpnctl.h"

static int
load_run(Vpnctl *v, int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;

	if (argc != 2)
		return vpnctl_usage_error(v, argc < 2 ? "a FILE is needed" : "one FILE only");
	if (!g_file_get_contents(argv[1], &text, NULL, &error)) {
		g_printerr("vpnctl: %s\n", error->message);
		return VPNCTL_EXIT_INVALID_ARGUMENT;
	}
	if (!g_utf8_validate(text, -1, NULL)) {
		g_printerr("vpnctl: %s: not UTF-8 text\n", argv[1]);
		return VPNCTL_EXIT_INVALID_ARGUMENT;
	}
	g_autofree char *origin = g_canonicalize_filename(argv[1], NULL);
	g_autoptr(GVariant) reply =
		client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE, "Load",
			    g_variant_new("(ss)", text, origin), "(as)", &error);
	if (!reply)
		return client_fail(v, error);
	g_autofree const char **names = NULL;
	g_variant_get(reply, "(^a&s)", &names);
	if (v->json) {
		json_object *arr = json_object_new_array();
		for (guint i = 0; names[i]; i++)
			json_object_array_add(arr, json_object_new_string(names[i]));
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "loaded", arr);
		output_json(v, obj);
	} else {
		for (guint i = 0; names[i]; i++)
			printf("loaded connection \"%s\"\n", names[i]);
	}
	return VPNCTL_EXIT_OK;
}

const VpnctlCommand load_command = {
	.name = "load",
	.args = "FILE",
	.summary = "Load connections from a file in swanctl.conf syntax",
	.run = load_run,
};
