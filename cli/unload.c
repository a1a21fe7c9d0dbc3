/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vpnctl unload NAME: closes a connection's tunnel and forgets the connection. */
#include "vpnctl.h"

static int
unload_run(Vpnctl *v, int argc, char **argv)
{
	return client_run_name_method(v, argc, argv, "Unload", "unloaded");
}

const VpnctlCommand unload_command = {
	.name = "unload",
	.args = "NAME",
	.summary = "Forget a connection (closing its tunnel)",
	.run = unload_run,
};
