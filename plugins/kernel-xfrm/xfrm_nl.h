/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A NETLINK_XFRM request socket over libmnl: one request at a time, the answer read
 * back to its ACK (or to NLMSG_DONE for dumps). Kernel refusals become a GError that
 * carries the kernel's own extended-ACK text where it gave one.
 */
#pragma once

#include <string.h>
#include <glib.h>
#include <libmnl/libmnl.h>

G_BEGIN_DECLS

/* Large enough for any single XFRM message we build or a dump batch the kernel sends. */
#define XFRM_NL_BUF_SIZE 32768

typedef struct XfrmNl XfrmNl;

/* Called for each data message of the answer; returns an MNL_CB_* value. */
typedef int (*XfrmNlDataCb)(const struct nlmsghdr *nlh, gpointer user_data);

/* @groups: XFRMNLGRP_* memberships, 0-terminated (NULL for a request-only socket). */
XfrmNl *xfrm_nl_new(const int *groups, GError **error);
/* The same requests over NETLINK_ROUTE (links, routes). */
XfrmNl *xfrm_nl_new_route(GError **error);
void xfrm_nl_free(XfrmNl *nl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(XfrmNl, xfrm_nl_free)

int xfrm_nl_get_fd(XfrmNl *nl);

/* Puts a request header at the start of @buf (XFRM_NL_BUF_SIZE bytes); the rest is left as
 * it is: the libmnl calls that add to the message zero what they add. */
struct nlmsghdr *xfrm_nl_put_header(XfrmNl *nl, void *buf, guint16 type, guint16 flags);

/*
 * Sends @nlh with a fresh sequence number (NLM_F_ACK is added unless it is a dump) and reads the
 * answer. On a refusal sets @error (VPND_KERNEL_ERROR, code from the errno) and, when @errnum is
 * non-NULL, stores the errno there (0 on success).
 */
gboolean xfrm_nl_request(XfrmNl *nl, struct nlmsghdr *nlh, XfrmNlDataCb cb, gpointer user_data,
			 int *errnum, GError **error);

/*
 * Reads what is queued on a non-blocking event socket and passes each message to @cb.
 * Returns FALSE when the socket failed for good.
 */
gboolean xfrm_nl_drain(XfrmNl *nl, XfrmNlDataCb cb, gpointer user_data);

/*
 * Copies a message's fixed part out: messages in a batch are only 4-byte aligned and
 * the XFRM structs hold 64-bit counters. FALSE when the message is too short.
 */
static inline gboolean
xfrm_nl_get_fixed(const struct nlmsghdr *nlh, void *out, gsize len)
{
	if (mnl_nlmsg_get_payload_len(nlh) < len)
		return FALSE;
	memcpy(out, mnl_nlmsg_get_payload(nlh), len);
	return TRUE;
}

G_END_DECLS
