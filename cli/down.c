/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vpnctl down NAME: closes a connection's tunnel. */
#include "vpnctl.h"

static int
down_run(Vpnctl *v, int argc, char **argv)
{
	return client_run_name_method(v, argc, argv, "Down", "closing");
}

const VpnctlCommand down_command = {
	.name = "down",
	.args = "NAME",
	.summary = "Close a connection's tunnel",
	.run = down_run,
};
