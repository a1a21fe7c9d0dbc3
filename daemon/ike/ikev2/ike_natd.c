/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NAT detection in IKE_SA_INIT (RFC 7296 §2.23): each side sends
 * SHA-1(SPIi | SPIr | IP | port) of its source (NAT_DETECTION_SOURCE_IP) and of the
 * destination it sends to (NAT_DETECTION_DESTINATION_IP); a mismatch means a NAT in
 * between. With `encap = yes` we send a source hash that cannot match, so the peer
 * believes we are behind a NAT and both sides use ESP in UDP (as strongSwan does).
 */
#include <string.h>
#include <sys/socket.h>

#include "ike_msg.h"
#include "ike_sa.h"

#define NATD_HASH_LEN 20 /* SHA-1 */
#define IKE_NATT_PORT 4500
#define IKE_PORT 500

static gboolean
natd_hash(IkeSa *sa, const IkeHeader *h, const VpndAddr *addr, guint8 out[NATD_HASH_LEN])
{
	g_autoptr(VpndHasher) hasher = NULL;
	g_autoptr(GError) error = NULL;
	guint8 spis[16], port[2] = { (guint8)(addr->port >> 8), (guint8)addr->port };

	hasher = crypto_hasher_new(ike_engine_get_host(sa->engine), VPND_HASH_SHA1, &error);
	if (!hasher)
		return FALSE;
	for (int i = 0; i < 8; i++) {
		spis[i] = (guint8)(h->spi_i >> (56 - 8 * i));
		spis[8 + i] = (guint8)(h->spi_r >> (56 - 8 * i));
	}
	vpnd_hasher_update(hasher, spis, sizeof(spis));
	vpnd_hasher_update(hasher, addr->addr, addr->family == AF_INET ? 4 : 16);
	vpnd_hasher_update(hasher, port, sizeof(port));
	vpnd_hasher_finish(hasher, out);
	return TRUE;
}

static IkeTaskStatus
natd_build(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	const IkeHeader *h = ike_msg_get_header(msg);
	guint8 src[NATD_HASH_LEN], dst[NATD_HASH_LEN];

	if (!sa->local.family || !sa->remote.family)
		return IKE_TASK_DONE;
	if (sa->conn->encap) {
		if (!ike_engine_random(sa->engine, src, sizeof(src)))
			return IKE_TASK_DONE;
	} else if (!natd_hash(sa, h, &sa->local, src)) {
		return IKE_TASK_DONE;
	}
	if (!natd_hash(sa, h, &sa->remote, dst))
		return IKE_TASK_DONE;
	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_NAT_DETECTION_SOURCE_IP, 0, NULL, 0, src,
			   sizeof(src));
	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_NAT_DETECTION_DESTINATION_IP, 0, NULL, 0, dst,
			   sizeof(dst));
	return IKE_TASK_DONE;
}

static IkeTaskStatus
natd_process(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	const IkeHeader *h = ike_msg_get_header(msg);
	guint8 local[NATD_HASH_LEN], remote[NATD_HASH_LEN];
	gboolean any_src = FALSE, src_match = FALSE, any_dst = FALSE, dst_match = FALSE;
	IkeMsgIter it;

	if (!natd_hash(sa, h, &sa->local, local) || !natd_hash(sa, h, &sa->remote, remote))
		return IKE_TASK_DONE;
	for (IkePayload *p = ike_msg_iter_init(&it, msg, IKE_PAYLOAD_NOTIFY); p;
	     p = ike_msg_iter_next(&it)) {
		gsize len;
		const guint8 *d = ike_payload_get_data(p, &len);
		gboolean match;

		if (p->notify.type == IKE_NOTIFY_NAT_DETECTION_SOURCE_IP) {
			match = len == NATD_HASH_LEN && memcmp(d, remote, len) == 0;
			any_src = TRUE;
			src_match |= match;
		} else if (p->notify.type == IKE_NOTIFY_NAT_DETECTION_DESTINATION_IP) {
			match = len == NATD_HASH_LEN && memcmp(d, local, len) == 0;
			any_dst = TRUE;
			dst_match |= match;
		}
	}
	sa->nat_remote = any_src && !src_match;
	sa->nat_local = (any_dst && !dst_match) || sa->conn->encap;
	/* RFC 7296 §2.23: once a NAT is found, the initiator moves to port 4500 */
	if (task->initiator && (sa->nat_local || sa->nat_remote) && sa->remote.port == IKE_PORT) {
		sa->remote.port = IKE_NATT_PORT;
		if (sa->local.port == IKE_PORT)
			sa->local.port = IKE_NATT_PORT;
	}
	if (sa->nat_local || sa->nat_remote)
		ike_sa_log(sa, G_LOG_LEVEL_INFO, "NAT detected:%s%s%s",
			   sa->nat_local ? " in front of us" : "",
			   sa->nat_remote ? " in front of the peer" : "",
			   sa->conn->encap ? " (forced by encap)" : "");
	return IKE_TASK_DONE;
}

static void
natd_free(IkeTask *task)
{
	g_free(task);
}

static const IkeTaskOps ike_natd_ops = {
	.name = "ike-natd",
	.build_request = natd_build,
	.process_request = natd_process,
	.build_response = natd_build,
	.process_response = natd_process,
	.free = natd_free,
};

IkeTask *
ike_natd_task_new(gboolean initiator)
{
	IkeTask *t = g_new0(IkeTask, 1);

	t->ops = &ike_natd_ops;
	t->initiator = initiator;
	return t;
}
