/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <vpnd/kernel.h>

#include "tun_netlink.h"

#define TUN_NETLINK_BUF_SIZE 8192 /* MNL_SOCKET_BUFFER_SIZE is not a constant */

struct TunNetlink {
	struct mnl_socket *sock;
	guint32 portid;
	guint32 seq;
};

TunNetlink *
tun_netlink_new(GError **error)
{
	g_autoptr(TunNetlink) nl = g_new0(TunNetlink, 1);

	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
			    "rtnetlink socket: %s", g_strerror(errno));
		return NULL;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (guint32)g_get_real_time();
	return g_steal_pointer(&nl);
}

void
tun_netlink_free(TunNetlink *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	g_free(nl);
}

/* Sends @nlh with NLM_F_ACK and waits for the kernel's answer to it. */
static gboolean
transact(TunNetlink *nl, struct nlmsghdr *nlh, const char *what, GError **error)
{
	char buf[TUN_NETLINK_BUF_SIZE];

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		goto fail;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			goto fail;
		int ret = mnl_cb_run(buf, (size_t)n, nl->seq, nl->portid, NULL, NULL);
		if (ret < 0)
			goto fail;
		if (ret == MNL_CB_STOP)
			return TRUE;
	}
fail:
	g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED, "%s: %s", what,
		    g_strerror(errno));
	return FALSE;
}

gboolean
tun_netlink_link_up(TunNetlink *nl, guint ifindex, guint mtu, guint txqlen, GError **error)
{
	char buf[TUN_NETLINK_BUF_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put_u32(nlh, IFLA_TXQLEN, txqlen);
	return transact(nl, nlh, "setting the TUN link up", error);
}

gboolean
tun_netlink_route(TunNetlink *nl, gboolean add, guint ifindex, const TunPrefix *prefix,
		  GError **error)
{
	char buf[TUN_NETLINK_BUF_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = prefix->family;
	rtm->rtm_dst_len = prefix->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, prefix->family == AF_INET6 ? 16 : 4, prefix->addr);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return transact(nl, nlh, add ? "adding a route" : "deleting a route", error);
}
