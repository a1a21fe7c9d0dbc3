/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vpnctl version: this program's version and the daemon's. */
#include <stdio.h>

#include "vpnd-config.h"
#include "vpnctl.h"

static int
version_run(Vpnctl *v, int argc, char **argv)
{
	g_autoptr(GError) error = NULL;

	if (argc > 1)
		return vpnctl_usage_error(v, "unexpected argument '%s'", argv[1]);
	g_autoptr(GVariant) props =
		client_get_all(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE, &error);
	if (!props) {
		if (!v->json)
			printf("vpnctl %s\n", VPND_VERSION);
		return client_fail(v, error);
	}
	const char *version = output_lookup_str(props, "Version");
	const char *sysname = output_lookup_str(props, "Sysname");
	const char *release = output_lookup_str(props, "Release");
	const char *machine = output_lookup_str(props, "Machine");
	if (v->json) {
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "vpnctl", json_object_new_string(VPND_VERSION));
		json_object_object_add(obj, "vpnd", json_object_new_string(version));
		json_object_object_add(obj, "sysname", json_object_new_string(sysname));
		json_object_object_add(obj, "release", json_object_new_string(release));
		json_object_object_add(obj, "machine", json_object_new_string(machine));
		output_json(v, obj);
		return VPNCTL_EXIT_OK;
	}
	printf("vpnctl %s\nvpnd %s (%s %s %s)\n", VPND_VERSION, version, sysname, release, machine);
	return VPNCTL_EXIT_OK;
}

const VpnctlCommand version_command = {
	.name = "version",
	.args = "",
	.summary = "Show the versions of vpnctl and vpnd",
	.run = version_run,
};
