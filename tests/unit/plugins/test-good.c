/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A plugin that works: registers one provider, priority from its setting. */
#include <stdlib.h>
#include "test-plugin.h"

static int
answer(void)
{
	return 42;
}

static const TestOps ops = { .answer = answer };

static gboolean
good_init(VpndHost *host, GError **error)
{
	const char *prio = vpnd_host_get_setting(host, "plugins.test-good.priority");

	vpnd_host_add_provider(host, VPND_PROVIDER_TEST, "good", &ops, prio ? atoi(prio) : 10,
			       NULL);
	return TRUE;
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
	.abi = VPND_PLUGIN_ABI,
	.struct_size = sizeof(VpndPlugin),
	.name = "test-good",
	.init = good_init,
};
