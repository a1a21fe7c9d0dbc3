/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Routes for route-based children: an outbound policy with an if_id sends its remote
 * selector's prefix into the XFRM interface of that if_id (ip link … type xfrm if_id N),
 * in the main table. Our routes carry their own protocol number, so start and stop
 * remove exactly them (also after a crash), and a route the administrator made for the
 * same prefix is neither replaced nor deleted.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include "xfrm_policy.h"
#include "xfrm_route.h"

typedef struct {
	guint32 if_id;
	int ifindex;
} LinkSearch;

/* IFLA_LINKINFO { IFLA_INFO_KIND "xfrm", IFLA_INFO_DATA { IFLA_XFRM_IF_ID } } */
static guint32
link_xfrm_if_id(const struct nlattr *linkinfo)
{
	const struct nlattr *attr, *data = NULL;
	gboolean xfrm = FALSE;
	guint32 if_id = 0;

	mnl_attr_for_each_nested(attr, linkinfo)
	{
		if (mnl_attr_get_type(attr) == IFLA_INFO_KIND)
			xfrm = g_strcmp0(mnl_attr_get_str(attr), "xfrm") == 0;
		else if (mnl_attr_get_type(attr) == IFLA_INFO_DATA)
			data = attr;
	}
	if (!xfrm || !data)
		return 0;
	mnl_attr_for_each_nested(attr, data)
	{
		if (mnl_attr_get_type(attr) == IFLA_XFRM_IF_ID &&
		    mnl_attr_get_payload_len(attr) >= sizeof(guint32))
			if_id = mnl_attr_get_u32(attr);
	}
	return if_id;
}

static int
on_link(const struct nlmsghdr *nlh, gpointer user_data)
{
	LinkSearch *search = user_data;
	struct ifinfomsg ifi;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWLINK || !xfrm_nl_get_fixed(nlh, &ifi, sizeof(ifi)))
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(ifi))
	{
		if (mnl_attr_get_type(attr) == IFLA_LINKINFO &&
		    link_xfrm_if_id(attr) == search->if_id && !search->ifindex)
			search->ifindex = ifi.ifi_index;
	}
	return MNL_CB_OK;
}

/* The XFRM interface of @if_id, 0 when there is none. */
static int
find_xfrm_link(VpndKernel *k, guint32 if_id, GError **error)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->route, buf, RTM_GETLINK, NLM_F_DUMP);
	LinkSearch search = { .if_id = if_id };

	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	if (!xfrm_nl_request(k->route, nlh, on_link, &search, NULL, error))
		return 0;
	return search.ifindex;
}

static struct nlmsghdr *
put_route(VpndKernel *k, void *buf, guint16 type, guint16 flags, guint8 family,
	  const xfrm_address_t *dst, guint8 prefixlen, int ifindex)
{
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->route, buf, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = family;
	rtm->rtm_dst_len = prefixlen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = XFRM_ROUTE_PROTOCOL;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, family == AF_INET ? 4 : 16, dst);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return nlh;
}

static gboolean
wants_route(const VpndPolicyParams *p)
{
	return p->dir == VPND_DIR_OUT && p->if_id &&
	       (p->action == VPND_POLICY_PROTECT || p->action == VPND_POLICY_TRAP);
}

static char *
route_key(const struct xfrm_selector *sel, int ifindex)
{
	char addr[INET6_ADDRSTRLEN] = "";

	inet_ntop(sel->family, &sel->daddr, addr, sizeof(addr));
	return g_strdup_printf("%s/%u dev %d", addr, sel->prefixlen_d, ifindex);
}

static gboolean
open_route(VpndKernel *k, GError **error)
{
	if (!k->route && !(k->route = xfrm_nl_new_route(error)))
		return FALSE;
	if (!k->routes)
		k->routes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return TRUE;
}

gboolean
xfrm_route_policy(VpndKernel *k, const VpndPolicyParams *p, gboolean add, GError **error)
{
	g_autofree guint8 *buf = NULL;
	g_autofree char *key = NULL;
	struct xfrm_selector sel;
	struct nlmsghdr *nlh;
	guint users;
	int ifindex, err = 0;

	if (!wants_route(p))
		return TRUE;
	if (!open_route(k, error) ||
	    !xfrm_policy_selector_from_ts(&p->src_ts, &p->dst_ts, &sel, error))
		return FALSE;
	ifindex = find_xfrm_link(k, p->if_id, error);
	if (!ifindex) {
		if (error && !*error)
			g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND,
				    "no XFRM interface with if_id %u for the route to the remote "
				    "selector (ip link add NAME type xfrm if_id %u)",
				    p->if_id, p->if_id);
		return FALSE;
	}
	key = route_key(&sel, ifindex);
	users = GPOINTER_TO_UINT(g_hash_table_lookup(k->routes, key));
	/* several policies (other local selectors) may share one route */
	if ((add && users > 0) || (!add && users > 1)) {
		users += add ? 1 : -1;
		g_hash_table_insert(k->routes, g_steal_pointer(&key), GUINT_TO_POINTER(users));
		return TRUE;
	}
	buf = g_malloc(XFRM_NL_BUF_SIZE);
	nlh = put_route(k, buf, add ? RTM_NEWROUTE : RTM_DELROUTE,
			add ? NLM_F_CREATE | NLM_F_EXCL : 0, sel.family, &sel.daddr, sel.prefixlen_d,
			ifindex);
	if (!xfrm_nl_request(k->route, nlh, NULL, NULL, &err, NULL) && err != EEXIST &&
	    err != ESRCH)
		g_warning("kernel-xfrm: cannot %s the route %s: %s", add ? "add" : "delete", key,
			  g_strerror(err));
	else if (add && err == EEXIST)
		vpnd_info("kernel-xfrm: a route %s exists already: kept as it is", key);
	if (add)
		g_hash_table_insert(k->routes, g_steal_pointer(&key), GUINT_TO_POINTER(1));
	else
		g_hash_table_remove(k->routes, key);
	return TRUE;
}

static int
on_route(const struct nlmsghdr *nlh, gpointer user_data)
{
	GPtrArray *ours = user_data;
	struct rtmsg rtm;

	if (nlh->nlmsg_type == RTM_NEWROUTE && xfrm_nl_get_fixed(nlh, &rtm, sizeof(rtm)) &&
	    rtm.rtm_protocol == XFRM_ROUTE_PROTOCOL)
		g_ptr_array_add(ours, g_memdup2(nlh, nlh->nlmsg_len));
	return MNL_CB_OK;
}

guint
xfrm_route_flush_owned(VpndKernel *k)
{
	static const guint8 families[] = { AF_INET, AF_INET6 };
	g_autoptr(GPtrArray) ours = g_ptr_array_new_with_free_func(g_free);
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	guint removed = 0;

	if (!open_route(k, NULL))
		return 0;
	for (guint f = 0; f < G_N_ELEMENTS(families); f++) {
		struct nlmsghdr *nlh = xfrm_nl_put_header(k->route, buf, RTM_GETROUTE, NLM_F_DUMP);
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

		rtm->rtm_family = families[f];
		xfrm_nl_request(k->route, nlh, on_route, ours, NULL, NULL);
	}
	for (guint i = 0; i < ours->len; i++) {
		struct nlmsghdr *route = ours->pdata[i];

		/* the dumped route itself, sent back as its deletion */
		route->nlmsg_type = RTM_DELROUTE;
		route->nlmsg_flags = NLM_F_REQUEST;
		removed += xfrm_nl_request(k->route, route, NULL, NULL, NULL, NULL);
	}
	g_hash_table_remove_all(k->routes);
	return removed;
}
