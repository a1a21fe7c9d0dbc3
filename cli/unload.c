/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vpnctl unload NAME: closes a connection's tunnel and forgets the connection. */
#include <stdio.h>

#include "vpnctl.h"

static int
unload_run(Vpnctl *v, int argc, char **argv)
{
	g_autoptr(GError) error = NULL;

	if (argc != 2)
		return vpnctl_usage_error(v, argc < 2 ? "a connection NAME is needed"
						      : "one connection NAME only");
	g_autoptr(GVariant) reply =
		client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE, "Unload",
			    g_variant_new("(s)", argv[1]), "()", &error);
	if (!reply)
		return client_fail(v, error);
	if (v->json) {
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "name", json_object_new_string(argv[1]));
		output_json(v, obj);
	} else {
		printf("connection \"%s\" unloaded\n", argv[1]);
	}
	return VPNCTL_EXIT_OK;
}

const VpnctlCommand unload_command = {
	.name = "unload",
	.args = "NAME",
	.summary = "Forget a connection (closing its tunnel)",
	.run = unload_run,
};
