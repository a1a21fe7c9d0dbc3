/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Claims a future ABI: must be refused before init runs. */
#include "test-plugin.h"

static gboolean
bad_abi_init(VpndHost *host, GError **error)
{
	g_error("init of a plugin with a wrong ABI must never run");
	return FALSE;
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
	.abi = VPND_PLUGIN_ABI + 1,
	.struct_size = sizeof(VpndPlugin),
	.name = "test-bad-abi",
	.init = bad_abi_init,
};
