/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Its descriptor names another plugin than its file does. */
#include "test-plugin.h"

static gboolean
wrong_name_init(VpndHost *host, GError **error)
{
	return TRUE;
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
	.abi = VPND_PLUGIN_ABI,
	.struct_size = sizeof(VpndPlugin),
	.name = "crypto-gnutls",
	.init = wrong_name_init,
};
