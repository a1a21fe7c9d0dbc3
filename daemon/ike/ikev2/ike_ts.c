/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Traffic selectors (RFC 7296 §2.9, §3.13): conversion and narrowing. */
#include <string.h>
#include <sys/socket.h>

#include "ike_msg.h"
#include "ike_sa.h"

static guint
addr_len(guint8 family)
{
	return family == AF_INET ? 4 : 16;
}

void
ike_ts_add_payload(IkeMsg *msg, IkePayloadType type, GArray *list)
{
	IkePayload *p = ike_msg_add_payload(msg, type, TRUE);

	for (guint i = 0; i < list->len; i++) {
		const VpndTs *ts = &g_array_index(list, VpndTs, i);
		IkeTrafficSelector sel = {
			.type = ts->family == AF_INET ? IKE_TS_IPV4_ADDR_RANGE
						      : IKE_TS_IPV6_ADDR_RANGE,
			.ip_protocol = ts->ip_proto,
			.start_port = ts->from_port,
			.end_port = ts->to_port,
		};

		memcpy(sel.start_addr, ts->from, addr_len(ts->family));
		memcpy(sel.end_addr, ts->to, addr_len(ts->family));
		ike_payload_add_selector(p, &sel);
	}
}

GArray *
ike_ts_from_payload(const IkePayload *p)
{
	GArray *list = g_array_new(FALSE, TRUE, sizeof(VpndTs));

	for (guint i = 0; p && i < p->ts.selectors->len; i++) {
		const IkeTrafficSelector *sel =
			&g_array_index(p->ts.selectors, IkeTrafficSelector, i);
		VpndTs ts = {
			.family = sel->type == IKE_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6,
			.ip_proto = sel->ip_protocol,
			.from_port = sel->start_port,
			.to_port = sel->end_port,
		};

		memcpy(ts.from, sel->start_addr, addr_len(ts.family));
		memcpy(ts.to, sel->end_addr, addr_len(ts.family));
		g_array_append_val(list, ts);
	}
	return list;
}

GArray *
ike_ts_from_config(GArray *conn_ts, const VpndAddr *addr)
{
	GArray *list = g_array_new(FALSE, TRUE, sizeof(VpndTs));
	ConnTs dyn = { .dynamic = TRUE, .ts = { .from_port = 0, .to_port = 65535 } };
	guint n = conn_ts->len ? conn_ts->len : 1;

	for (guint i = 0; i < n; i++) {
		const ConnTs *c = conn_ts->len ? &g_array_index(conn_ts, ConnTs, i) : &dyn;
		VpndTs ts = c->ts;

		if (c->dynamic) {
			if (!addr->family)
				continue;
			ts.family = addr->family;
			memcpy(ts.from, addr->addr, addr_len(addr->family));
			memcpy(ts.to, addr->addr, addr_len(addr->family));
		}
		g_array_append_val(list, ts);
	}
	return list;
}

/* The intersection of @a and @b into @out; FALSE when empty. */
static gboolean
intersect(const VpndTs *a, const VpndTs *b, VpndTs *out)
{
	guint len = addr_len(a->family);
	VpndTs r = { .family = a->family };

	if (a->family != b->family)
		return FALSE;
	if (a->ip_proto && b->ip_proto && a->ip_proto != b->ip_proto)
		return FALSE;
	r.ip_proto = a->ip_proto ? a->ip_proto : b->ip_proto;
	r.from_port = MAX(a->from_port, b->from_port);
	r.to_port = MIN(a->to_port, b->to_port);
	if (r.from_port > r.to_port)
		return FALSE;
	memcpy(r.from, memcmp(a->from, b->from, len) > 0 ? a->from : b->from, len);
	memcpy(r.to, memcmp(a->to, b->to, len) < 0 ? a->to : b->to, len);
	if (memcmp(r.from, r.to, len) > 0)
		return FALSE;
	*out = r;
	return TRUE;
}

GArray *
ike_ts_narrow(GArray *ours, GArray *theirs)
{
	GArray *list = g_array_new(FALSE, TRUE, sizeof(VpndTs));

	for (guint i = 0; i < theirs->len; i++) {
		for (guint j = 0; j < ours->len; j++) {
			VpndTs r;

			if (intersect(&g_array_index(theirs, VpndTs, i),
				      &g_array_index(ours, VpndTs, j), &r))
				g_array_append_val(list, r);
		}
	}
	return list;
}

gboolean
ike_ts_is_subset(GArray *sub, GArray *super)
{
	for (guint i = 0; i < sub->len; i++) {
		const VpndTs *s = &g_array_index(sub, VpndTs, i);
		gboolean inside = FALSE;

		for (guint j = 0; j < super->len && !inside; j++) {
			VpndTs r;

			inside = intersect(s, &g_array_index(super, VpndTs, j), &r) &&
				 memcmp(&r, s, sizeof(r)) == 0;
		}
		if (!inside)
			return FALSE;
	}
	return TRUE;
}
