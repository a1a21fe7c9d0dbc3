/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <arpa/inet.h>
#include <glib-unix.h>
#include "xfrm_events.h"
#include "xfrm_policy.h"
#include "xfrm_sa.h"

/* The mark attribute after a message's fixed part; FALSE when there is none. */
static gboolean
find_mark(const struct nlmsghdr *nlh, gsize hdrlen, struct xfrm_mark *mark)
{
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, hdrlen)
	{
		if (mnl_attr_get_type(attr) == XFRMA_MARK &&
		    mnl_attr_get_payload_len(attr) >= sizeof(*mark)) {
			memcpy(mark, mnl_attr_get_payload(attr), sizeof(*mark));
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
is_ours(VpndKernel *k, const struct nlmsghdr *nlh, gsize hdrlen)
{
	struct xfrm_mark mark;

	return find_mark(nlh, hdrlen, &mark) && xfrm_kernel_mark_is_ours(k, &mark);
}

static void
on_acquire(VpndKernel *k, const struct nlmsghdr *nlh)
{
	struct xfrm_user_acquire acq;
	const struct nlattr *attr;
	guint32 reqid = 0;
	VpndTs src, dst;

	if (!xfrm_nl_get_fixed(nlh, &acq, sizeof(acq)) || !is_ours(k, nlh, sizeof(acq)))
		return;
	mnl_attr_for_each(attr, nlh, sizeof(acq))
	{
		const struct xfrm_user_tmpl *tmpl = mnl_attr_get_payload(attr);

		if (mnl_attr_get_type(attr) == XFRMA_TMPL &&
		    mnl_attr_get_payload_len(attr) >= sizeof(*tmpl)) {
			reqid = tmpl->reqid;
			break;
		}
	}
	/* the larval SA's selector: exactly the packet that hit the policy */
	xfrm_policy_ts_from_selector(&acq.sel, TRUE, &src);
	xfrm_policy_ts_from_selector(&acq.sel, FALSE, &dst);
	vpnd_debug("acquire for reqid %u", reqid);
	if (k->cb && k->cb->acquire)
		k->cb->acquire(k->cb_data, reqid, &src, &dst);
}

static void
sa_id_from_xfrm(const struct xfrm_usersa_id *xid, VpndSaId *id)
{
	memset(id, 0, sizeof(*id));
	id->spi = ntohl(xid->spi);
	id->protocol = xid->proto;
	xfrm_kernel_addr_from_xfrm(xid->family, &xid->daddr, 0, &id->dst);
}

static void
on_expire(VpndKernel *k, const struct nlmsghdr *nlh)
{
	struct xfrm_user_expire exp;
	struct xfrm_usersa_id xid = { 0 };
	VpndSaId id;
	XfrmSaKey key;

	if (!xfrm_nl_get_fixed(nlh, &exp, sizeof(exp)) || !is_ours(k, nlh, sizeof(exp)))
		return;
	xid.daddr = exp.state.id.daddr;
	xid.spi = exp.state.id.spi;
	xid.family = exp.state.family;
	xid.proto = exp.state.id.proto;
	sa_id_from_xfrm(&xid, &id);
	if (!id.spi)
		return; /* a larval SA of an ACQUIRE timing out: nothing was installed */
	vpnd_debug("SA 0x%08x expired (%s)", id.spi, exp.hard ? "hard" : "soft");
	if (exp.hard) {
		xfrm_sa_key_init(&key, &id);
		g_hash_table_remove(k->sas, &key);
		g_hash_table_remove(k->spis, &key);
	}
	if (k->cb && k->cb->expire)
		k->cb->expire(k->cb_data, &id, exp.hard ? VPND_EXPIRE_HARD : VPND_EXPIRE_SOFT);
}

static void
on_mapping(VpndKernel *k, const struct nlmsghdr *nlh)
{
	struct xfrm_user_mapping map;
	VpndSaId id;
	VpndAddr peer;
	XfrmSaKey key;

	if (!xfrm_nl_get_fixed(nlh, &map, sizeof(map)))
		return;
	sa_id_from_xfrm(&map.id, &id);
	xfrm_sa_key_init(&key, &id);
	/* the kernel sends no mark with a mapping: our own table says whose SA it is */
	if (!g_hash_table_contains(k->sas, &key))
		return;
	xfrm_kernel_addr_from_xfrm(map.id.family, &map.new_saddr, ntohs(map.new_sport), &peer);
	vpnd_debug("SA 0x%08x: peer's NAT mapping changed", id.spi);
	if (k->cb && k->cb->mapping)
		k->cb->mapping(k->cb_data, &id, &peer);
}

static int
event_dispatch(const struct nlmsghdr *nlh, gpointer user_data)
{
	VpndKernel *k = user_data;

	switch (nlh->nlmsg_type) {
	case XFRM_MSG_ACQUIRE:
		on_acquire(k, nlh);
		break;
	case XFRM_MSG_EXPIRE:
		on_expire(k, nlh);
		break;
	case XFRM_MSG_MAPPING:
		on_mapping(k, nlh);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static gboolean
events_ready(gint fd, GIOCondition condition, gpointer user_data)
{
	VpndKernel *k = user_data;

	if (!xfrm_nl_drain(k->events, event_dispatch, k)) {
		k->events_source = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

gboolean
xfrm_events_start(VpndKernel *k, GError **error)
{
	static const int groups[] = { XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE, XFRMNLGRP_MAPPING, 0 };

	k->events = xfrm_nl_new(groups, error);
	if (!k->events)
		return FALSE;
	k->events_source = vpnd_unix_fd_add(xfrm_nl_get_fd(k->events), G_IO_IN, events_ready, k);
	return TRUE;
}

void
xfrm_events_stop(VpndKernel *k)
{
	g_clear_handle_id(&k->events_source, g_source_remove);
	g_clear_pointer(&k->events, xfrm_nl_free);
}
