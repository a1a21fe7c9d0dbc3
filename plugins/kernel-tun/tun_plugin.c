/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel-tun plugin: registers the userspace ESP data plane as a kernel provider. */
#include <vpnd/plugin.h>

#include "tun_kernel.h"

/*
 * Below kernel-xfrm (100): where the kernel has ESP, its data plane is the better one.
 * plugins.kernel-tun.priority (or not loading kernel-xfrm) chooses this one instead.
 */
#define TUN_PLUGIN_PRIORITY 50

static gboolean
tun_plugin_init(VpndHost *host, GError **error)
{
	const char *text = vpnd_host_get_setting(host, "plugins.kernel-tun.priority");
	gint64 priority = TUN_PLUGIN_PRIORITY;

	if (text && !g_ascii_string_to_signed(text, 10, G_MININT, G_MAXINT, &priority, NULL)) {
		g_warning("plugins.kernel-tun.priority = %s is not a number; using %d", text,
			  TUN_PLUGIN_PRIORITY);
		priority = TUN_PLUGIN_PRIORITY;
	}
	tun_kernel_check_settings(host);
	vpnd_host_add_provider(host, VPND_PROVIDER_KERNEL, "tun", &tun_kernel_ops, (gint)priority,
			       NULL);
	return TRUE;
}

static void
tun_plugin_fini(void)
{
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
	.abi = VPND_PLUGIN_ABI,
	.struct_size = sizeof(VpndPlugin),
	.name = "kernel-tun",
	.init = tun_plugin_init,
	.fini = tun_plugin_fini,
};
