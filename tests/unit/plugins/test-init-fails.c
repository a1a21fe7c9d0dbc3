/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Registers a provider, then fails: the provider must not stay registered. */
#include "test-plugin.h"

static int
answer(void)
{
	return -1;
}

static const TestOps ops = { .answer = answer };

static gboolean
failing_init(VpndHost *host, GError **error)
{
	vpnd_host_add_provider(host, VPND_PROVIDER_TEST, "half-done", &ops, 100, NULL);
	g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_NODEV,
			    "no such hardware on this machine");
	return FALSE;
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
	.abi = VPND_PLUGIN_ABI,
	.struct_size = sizeof(VpndPlugin),
	.name = "test-init-fails",
	.init = failing_init,
};
