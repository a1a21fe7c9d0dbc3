/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel-xfrm: the Linux kernel's IPsec (XFRM) as vpnd's data plane, over XFRM
 * netlink with libmnl. xfrm_kernel.h explains how it knows its own SAs and policies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/udp.h>
#include <vpnd/plugin.h>
#include "xfrm_events.h"
#include "xfrm_policy.h"
#include "xfrm_route.h"
#include "xfrm_sa.h"

#define XFRM_PLUGIN_PRIORITY 100

/* One bit, from `plugins.kernel-xfrm.owner_mark` (hex or decimal). */
static gboolean
owner_bit_from_settings(VpndHost *host, guint32 *bit, GError **error)
{
	const char *s = vpnd_host_get_setting(host, "plugins.kernel-xfrm.owner_mark");
	guint64 v = XFRM_OWNER_MARK_DEFAULT;
	char *end = NULL;

	if (s)
		v = g_ascii_strtoull(s, &end, 0);
	if (s && (end == s || *end || v == 0 || v > G_MAXUINT32 || (v & (v - 1)))) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
			    "plugins.kernel-xfrm.owner_mark = %s: want one bit, like 0x1000000", s);
		return FALSE;
	}
	*bit = v;
	return TRUE;
}

static void xfrm_close(VpndKernel *k);

static void
flush_owned(VpndKernel *k, const char *when)
{
	guint policies = xfrm_policy_flush_owned(k);
	guint sas = xfrm_sa_flush_owned(k);
	guint routes = xfrm_route_flush_owned(k);

	if (policies || sas)
		g_message("%s: removed %u SAs and %u policies of kernel-xfrm", when, sas, policies);
	if (routes)
		g_message("%s: removed %u routes of kernel-xfrm", when, routes);
}

static void
kernel_free(VpndKernel *k)
{
	g_clear_pointer(&k->nl, xfrm_nl_free);
	g_clear_pointer(&k->route, xfrm_nl_free);
	g_clear_pointer(&k->routes, g_hash_table_destroy);
	g_hash_table_destroy(k->sas);
	g_hash_table_destroy(k->spis);
	g_free(k);
}

/* The instance without its event socket: what requests need. */
static VpndKernel *
kernel_new(VpndHost *host, GError **error)
{
	VpndKernel *k = g_new0(VpndKernel, 1);

	k->sas = g_hash_table_new_full(xfrm_sa_key_hash, xfrm_sa_key_equal, g_free,
				       (GDestroyNotify)xfrm_sa_entry_free);
	k->spis = g_hash_table_new_full(xfrm_sa_key_hash, xfrm_sa_key_equal, g_free, NULL);
	if (!owner_bit_from_settings(host, &k->owner_bit, error) ||
	    !(k->nl = xfrm_nl_new(NULL, error))) {
		kernel_free(k);
		return NULL;
	}
	return k;
}

static VpndKernel *
xfrm_open(VpndHost *host, const VpndKernelEvents *events, gpointer user_data, GError **error)
{
	VpndKernel *k = kernel_new(host, error);

	if (!k)
		return NULL;
	k->cb = events;
	k->cb_data = user_data;
	if (!xfrm_events_start(k, error)) {
		xfrm_close(k);
		return NULL;
	}
	/* whatever an earlier run left behind (a crash, SIGKILL) is stale now */
	flush_owned(k, "start");
	return k;
}

static void
xfrm_close(VpndKernel *k)
{
	if (!k)
		return;
	xfrm_events_stop(k);
	if (k->nl)
		flush_owned(k, "stop");
	kernel_free(k);
}

static gboolean
xfrm_bypass_socket(VpndKernel *k, int fd, int family, GError **error)
{
	return xfrm_policy_bypass_socket(fd, family, error);
}

static gboolean
xfrm_enable_udp_encap(VpndKernel *k, int fd, int family, GError **error)
{
	int type = UDP_ENCAP_ESPINUDP;

	if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)) < 0) {
		int err = errno;

		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
			    "cannot enable ESP-in-UDP decapsulation on socket %d: %s", fd,
			    g_strerror(err));
		return FALSE;
	}
	return TRUE;
}

static const VpndKernelOps xfrm_ops = {
	.open = xfrm_open,
	.close = xfrm_close,
	.get_spi = xfrm_sa_get_spi,
	.add_sa = xfrm_sa_add,
	.update_sa = xfrm_sa_update,
	.query_sa = xfrm_sa_query,
	.del_sa = xfrm_sa_del,
	.add_policy = xfrm_policy_add,
	.del_policy = xfrm_policy_del,
	.bypass_socket = xfrm_bypass_socket,
	.enable_udp_encap = xfrm_enable_udp_encap,
};

/*
 * A kernel without ESP takes XFRM policies but no SA: offering kernel-xfrm there would
 * win over kernel-tun (priority 100 against 50) and fail at the first tunnel. One
 * throwaway SA tells. Problems reaching XFRM netlink at all are left to open(), which
 * reports them; `plugins.kernel-xfrm.probe = no` skips the test (policy-only uses).
 */
static gboolean
kernel_has_esp(VpndHost *host)
{
	const char *probe = vpnd_host_get_setting(host, "plugins.kernel-xfrm.probe");
	g_autoptr(GError) error = NULL;
	VpndKernel *k;
	gboolean lacks;

	if (probe && (!g_ascii_strcasecmp(probe, "no") || !strcmp(probe, "0")))
		return TRUE;
	k = kernel_new(host, &error);
	if (!k) {
		vpnd_debug("kernel-xfrm: no ESP probe: %s", error->message);
		return TRUE;
	}
	lacks = xfrm_sa_kernel_lacks_esp(k);
	kernel_free(k);
	if (lacks)
		g_message("kernel-xfrm: this kernel has XFRM but no ESP (no esp4/esp6 module, "
			  "CONFIG_INET_ESP unset): not offered as kernel provider; load kernel-tun "
			  "for userspace ESP");
	return !lacks;
}

static gboolean
xfrm_plugin_init(VpndHost *host, GError **error)
{
	const char *prio = vpnd_host_get_setting(host, "plugins.kernel-xfrm.priority");
	g_autoptr(GError) bad = NULL;
	guint32 bit;

	/* read at start-up too, whatever the probe: a bad value is said at once (open()
	 * refuses it), and the setting does not count as unused */
	if (!owner_bit_from_settings(host, &bit, &bad))
		g_warning("%s", bad->message);
	if (!kernel_has_esp(host))
		return TRUE;
	vpnd_host_add_provider(host, VPND_PROVIDER_KERNEL, "xfrm", &xfrm_ops,
			       prio ? atoi(prio) : XFRM_PLUGIN_PRIORITY, NULL);
	return TRUE;
}

VPND_EXPORT const VpndPlugin vpnd_plugin = {
	.abi = VPND_PLUGIN_ABI,
	.struct_size = sizeof(VpndPlugin),
	.name = "kernel-xfrm",
	.init = xfrm_plugin_init,
};
