/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "xfrm_policy.h"
#include "xfrm_route.h"

/*
 * Priorities count down from here by specificity; the kernel tries the smallest
 * number first. Room below for 2 x 128 prefix bits, a protocol and two ports.
 */
#define XFRM_POLICY_PRIO_BASE 100000u
#define XFRM_POLICY_PRIO_PREFIX_STEP 8u
#define XFRM_POLICY_PRIO_PROTO 4u
#define XFRM_POLICY_PRIO_PORT 1u
/* Template modes (struct xfrm_user_tmpl.mode) */
#define XFRM_POLICY_MODE_TRANSPORT 0
#define XFRM_POLICY_MODE_TUNNEL 1

static guint
addr_len(guint8 family)
{
	return family == AF_INET ? 4 : 16;
}

static gboolean
bit_is_set(const guint8 *addr, guint bit)
{
	return (addr[bit / 8] >> (7 - bit % 8)) & 1;
}

/* The prefix length of an address range, or -1 when it is not one prefix. */
static int
range_prefix(const guint8 *from, const guint8 *to, guint len)
{
	guint bits = len * 8, plen = 0;

	while (plen < bits && bit_is_set(from, plen) == bit_is_set(to, plen))
		plen++;
	for (guint b = plen; b < bits; b++)
		if (bit_is_set(from, b) || !bit_is_set(to, b))
			return -1;
	return plen;
}

static gboolean
port_range(guint16 from, guint16 to, __be16 *port, __be16 *mask)
{
	if (from == 0 && to == 0xffff) {
		*port = *mask = 0;
		return TRUE;
	}
	if (from != to)
		return FALSE;
	*port = htons(from);
	*mask = 0xffff;
	return TRUE;
}

static gboolean
ts_error(GError **error, const char *what)
{
	g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
		    "traffic selector not representable as an XFRM selector: %s", what);
	return FALSE;
}

gboolean
xfrm_policy_selector_from_ts(const VpndTs *src, const VpndTs *dst, struct xfrm_selector *sel,
			     GError **error)
{
	guint len = addr_len(src->family);
	int splen, dplen;

	memset(sel, 0, sizeof(*sel));
	if ((src->family != AF_INET && src->family != AF_INET6) || src->family != dst->family)
		return ts_error(error, "source and destination of different families");
	splen = range_prefix(src->from, src->to, len);
	dplen = range_prefix(dst->from, dst->to, len);
	if (splen < 0 || dplen < 0)
		return ts_error(error, "address range is not a prefix");
	if (src->ip_proto != dst->ip_proto && src->ip_proto && dst->ip_proto)
		return ts_error(error, "two different IP protocols");
	if (!port_range(src->from_port, src->to_port, &sel->sport, &sel->sport_mask) ||
	    !port_range(dst->from_port, dst->to_port, &sel->dport, &sel->dport_mask))
		return ts_error(error, "port range is neither one port nor all");
	memcpy(&sel->saddr, src->from, len);
	memcpy(&sel->daddr, dst->from, len);
	sel->prefixlen_s = splen;
	sel->prefixlen_d = dplen;
	sel->family = src->family;
	sel->proto = src->ip_proto ? src->ip_proto : dst->ip_proto;
	return TRUE;
}

static void
prefix_to_range(const xfrm_address_t *addr, guint8 plen, guint len, guint8 *from, guint8 *to)
{
	memcpy(from, addr, len);
	memcpy(to, addr, len);
	for (guint b = plen; b < len * 8; b++) {
		from[b / 8] &= ~(0x80 >> (b % 8));
		to[b / 8] |= 0x80 >> (b % 8);
	}
}

void
xfrm_policy_ts_from_selector(const struct xfrm_selector *sel, gboolean source, VpndTs *ts)
{
	guint len = addr_len(sel->family);
	__be16 port = source ? sel->sport : sel->dport;
	__be16 mask = source ? sel->sport_mask : sel->dport_mask;

	memset(ts, 0, sizeof(*ts));
	ts->family = sel->family;
	ts->ip_proto = sel->proto;
	if (source)
		prefix_to_range(&sel->saddr, sel->prefixlen_s, len, ts->from, ts->to);
	else
		prefix_to_range(&sel->daddr, sel->prefixlen_d, len, ts->from, ts->to);
	ts->from_port = mask ? ntohs(port) : 0;
	ts->to_port = mask ? ntohs(port) : 0xffff;
}

guint32
xfrm_policy_priority(const VpndTs *src, const VpndTs *dst)
{
	struct xfrm_selector sel;
	guint32 score;

	if (!xfrm_policy_selector_from_ts(src, dst, &sel, NULL))
		return XFRM_POLICY_PRIO_BASE;
	score = (sel.prefixlen_s + sel.prefixlen_d) * XFRM_POLICY_PRIO_PREFIX_STEP;
	if (sel.proto)
		score += XFRM_POLICY_PRIO_PROTO;
	if (sel.sport_mask)
		score += XFRM_POLICY_PRIO_PORT;
	if (sel.dport_mask)
		score += XFRM_POLICY_PRIO_PORT;
	return XFRM_POLICY_PRIO_BASE - score;
}

static guint8
policy_dir(VpndDirection dir)
{
	switch (dir) {
	case VPND_DIR_IN:
		return XFRM_POLICY_IN;
	case VPND_DIR_OUT:
		return XFRM_POLICY_OUT;
	case VPND_DIR_FWD:
		return XFRM_POLICY_FWD;
	}
	return XFRM_POLICY_MAX; /* refused by the kernel */
}

static void
put_lifetime_inf(struct xfrm_lifetime_cfg *lft)
{
	lft->soft_byte_limit = lft->hard_byte_limit = XFRM_INF;
	lft->soft_packet_limit = lft->hard_packet_limit = XFRM_INF;
}

static void
put_tmpl(struct nlmsghdr *nlh, const VpndPolicyParams *p)
{
	struct xfrm_user_tmpl tmpl = {
		.id.proto = IPPROTO_ESP,
		.family = p->dst.family ? p->dst.family : p->dst_ts.family,
		.reqid = p->reqid,
		.mode = p->mode == VPND_MODE_TRANSPORT ? XFRM_POLICY_MODE_TRANSPORT
						       : XFRM_POLICY_MODE_TUNNEL,
		.aalgos = ~0u,
		.ealgos = ~0u,
		.calgos = ~0u,
	};

	if (p->dst.family)
		xfrm_kernel_addr_to_xfrm(&p->dst, &tmpl.id.daddr);
	if (p->src.family)
		xfrm_kernel_addr_to_xfrm(&p->src, &tmpl.saddr);
	mnl_attr_put(nlh, XFRMA_TMPL, sizeof(tmpl), &tmpl);
}

/* Attributes every request about a policy carries: the mark and the interface id. */
static gboolean
put_policy_key(VpndKernel *k, struct nlmsghdr *nlh, const VpndPolicyParams *p, GError **error)
{
	struct xfrm_mark mark;

	if (!xfrm_kernel_mark(k, p->mark, p->mark_mask, &mark, error))
		return FALSE;
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(mark), &mark);
	if (p->if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, p->if_id);
	return TRUE;
}

static const char *
dir_name(VpndDirection dir)
{
	switch (dir) {
	case VPND_DIR_IN:
		return "in";
	case VPND_DIR_OUT:
		return "out";
	case VPND_DIR_FWD:
		return "fwd";
	}
	return "?";
}

gboolean
xfrm_policy_add(VpndKernel *k, const VpndPolicyParams *params, GError **error)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->nl, buf, XFRM_MSG_NEWPOLICY, 0);
	struct xfrm_userpolicy_info *info = mnl_nlmsg_put_extra_header(nlh, sizeof(*info));

	if (!xfrm_policy_selector_from_ts(&params->src_ts, &params->dst_ts, &info->sel, error))
		goto fail;
	put_lifetime_inf(&info->lft);
	info->priority = params->priority ? params->priority
					  : xfrm_policy_priority(&params->src_ts, &params->dst_ts);
	info->dir = policy_dir(params->dir);
	info->action = params->action == VPND_POLICY_DROP ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW;
	if (params->action == VPND_POLICY_PROTECT || params->action == VPND_POLICY_TRAP)
		put_tmpl(nlh, params);
	if (!put_policy_key(k, nlh, params, error) ||
	    !xfrm_nl_request(k->nl, nlh, NULL, NULL, NULL, error))
		goto fail;
	vpnd_debug("policy %s reqid %u installed (priority %u)", dir_name(params->dir), params->reqid,
		info->priority);
	/* route-based: the traffic must reach the XFRM interface in the first place */
	if (!xfrm_route_policy(k, params, TRUE, error)) {
		xfrm_policy_del(k, params, NULL);
		goto fail;
	}
	return TRUE;
fail:
	g_prefix_error(error, "cannot install %s policy (reqid %u): ", dir_name(params->dir),
		       params->reqid);
	return FALSE;
}

gboolean
xfrm_policy_del(VpndKernel *k, const VpndPolicyParams *params, GError **error)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->nl, buf, XFRM_MSG_DELPOLICY, 0);
	struct xfrm_userpolicy_id *id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));

	id->dir = policy_dir(params->dir);
	if (!xfrm_policy_selector_from_ts(&params->src_ts, &params->dst_ts, &id->sel, error) ||
	    !put_policy_key(k, nlh, params, error) ||
	    !xfrm_nl_request(k->nl, nlh, NULL, NULL, NULL, error)) {
		g_prefix_error(error, "cannot delete %s policy (reqid %u): ", dir_name(params->dir),
			       params->reqid);
		return FALSE;
	}
	xfrm_route_policy(k, params, FALSE, NULL);
	return TRUE;
}

/* One of our policies found in a dump: enough to delete it by index. */
typedef struct {
	guint32 index;
	guint8 dir;
	struct xfrm_mark mark;
	guint32 if_id;
} XfrmPolicyRef;

typedef struct {
	VpndKernel *k;
	GArray *refs;
} XfrmPolicySweep;

static int
sweep_collect(const struct nlmsghdr *nlh, gpointer user_data)
{
	XfrmPolicySweep *sweep = user_data;
	struct xfrm_userpolicy_info info;
	const struct nlattr *attr;
	XfrmPolicyRef ref = { 0 };
	gboolean ours = FALSE;

	if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY || !xfrm_nl_get_fixed(nlh, &info, sizeof(info)))
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(info))
	{
		if (mnl_attr_get_type(attr) == XFRMA_MARK &&
		    mnl_attr_get_payload_len(attr) >= sizeof(ref.mark)) {
			memcpy(&ref.mark, mnl_attr_get_payload(attr), sizeof(ref.mark));
			ours = xfrm_kernel_mark_is_ours(sweep->k, &ref.mark);
		} else if (mnl_attr_get_type(attr) == XFRMA_IF_ID &&
			   mnl_attr_get_payload_len(attr) >= sizeof(guint32)) {
			ref.if_id = mnl_attr_get_u32(attr);
		}
	}
	if (ours) {
		ref.index = info.index;
		ref.dir = info.dir;
		g_array_append_val(sweep->refs, ref);
	}
	return MNL_CB_OK;
}

guint
xfrm_policy_flush_owned(VpndKernel *k)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	g_autoptr(GArray) refs = g_array_new(FALSE, FALSE, sizeof(XfrmPolicyRef));
	XfrmPolicySweep sweep = { k, refs };
	g_autoptr(GError) error = NULL;
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->nl, buf, XFRM_MSG_GETPOLICY, NLM_F_DUMP);
	guint removed = 0;

	if (!xfrm_nl_request(k->nl, nlh, sweep_collect, &sweep, NULL, &error)) {
		g_warning("cannot list the kernel's policies: %s", error->message);
		return 0;
	}
	for (guint i = 0; i < refs->len; i++) {
		const XfrmPolicyRef *ref = &g_array_index(refs, XfrmPolicyRef, i);
		struct xfrm_userpolicy_id *id;

		nlh = xfrm_nl_put_header(k->nl, buf, XFRM_MSG_DELPOLICY, 0);
		id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
		id->index = ref->index;
		id->dir = ref->dir;
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(ref->mark), &ref->mark);
		if (ref->if_id)
			mnl_attr_put_u32(nlh, XFRMA_IF_ID, ref->if_id);
		if (xfrm_nl_request(k->nl, nlh, NULL, NULL, NULL, NULL))
			removed++;
	}
	return removed;
}

gboolean
xfrm_policy_bypass_socket(int fd, int family, GError **error)
{
	int level = family == AF_INET6 ? SOL_IPV6 : SOL_IP;
	int opt = family == AF_INET6 ? IPV6_XFRM_POLICY : IP_XFRM_POLICY;
	static const guint8 dirs[] = { XFRM_POLICY_IN, XFRM_POLICY_OUT };

	for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
		struct xfrm_userpolicy_info pol = {
			.action = XFRM_POLICY_ALLOW,
			.dir = dirs[i],
			.sel.family = family,
		};

		put_lifetime_inf(&pol.lft);
		if (setsockopt(fd, level, opt, &pol, sizeof(pol)) < 0) {
			int err = errno;

			g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
				    "cannot exempt socket %d from IPsec policies (%s): %s", fd,
				    dirs[i] == XFRM_POLICY_IN ? "in" : "out", g_strerror(err));
			return FALSE;
		}
	}
	return TRUE;
}
