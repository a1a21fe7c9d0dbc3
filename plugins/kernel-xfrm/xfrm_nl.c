/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <vpnd/kernel.h>
#include "xfrm_nl.h"

/* The kernel answers at once; a request still unanswered after this is a kernel bug. */
#define XFRM_NL_TIMEOUT_S 5

struct XfrmNl {
	struct mnl_socket *sock;
	guint32 portid;
	guint32 seq;
};

/* What one request's answer carries besides its data messages. */
typedef struct {
	XfrmNlDataCb cb;
	gpointer user_data;
	int err;
	char ext_msg[256];
} XfrmNlAnswer;

static void
set_option(struct mnl_socket *sock, int option)
{
	int one = 1;

	/* optional extras (extended ACK text, short ACKs): older kernels lack them */
	(void)mnl_socket_setsockopt(sock, option, &one, sizeof(one));
}

static XfrmNl *
nl_new(int protocol, const int *groups, GError **error)
{
	g_autofree XfrmNl *nl = g_new0(XfrmNl, 1);
	struct timeval tv = { .tv_sec = XFRM_NL_TIMEOUT_S };

	nl->sock = mnl_socket_open(protocol);
	if (!nl->sock) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "cannot open %s netlink socket: %s%s",
			    protocol == NETLINK_XFRM ? "an XFRM" : "a route", g_strerror(errno),
			    protocol == NETLINK_XFRM ? " (kernel without CONFIG_XFRM_USER?)" : "");
		return NULL;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
			    "cannot bind the XFRM netlink socket: %s", g_strerror(errno));
		mnl_socket_close(nl->sock);
		return NULL;
	}
	set_option(nl->sock, NETLINK_EXT_ACK);
	set_option(nl->sock, NETLINK_CAP_ACK);
	for (guint i = 0; groups && groups[i]; i++) {
		int group = groups[i];

		if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) <
		    0) {
			g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
				    "cannot join XFRM netlink group %d: %s", groups[i],
				    g_strerror(errno));
			mnl_socket_close(nl->sock);
			return NULL;
		}
	}
	if (groups) {
		int fd = mnl_socket_get_fd(nl->sock);

		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	} else {
		setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = g_random_int();
	return g_steal_pointer(&nl);
}

XfrmNl *
xfrm_nl_new(const int *groups, GError **error)
{
	return nl_new(NETLINK_XFRM, groups, error);
}

XfrmNl *
xfrm_nl_new_route(GError **error)
{
	return nl_new(NETLINK_ROUTE, NULL, error);
}

void
xfrm_nl_free(XfrmNl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	g_free(nl);
}

int
xfrm_nl_get_fd(XfrmNl *nl)
{
	return mnl_socket_get_fd(nl->sock);
}

struct nlmsghdr *
xfrm_nl_put_header(XfrmNl *nl, void *buf, guint16 type, guint16 flags)
{
	struct nlmsghdr *nlh;

	/* no memset of the buffer: libmnl zeroes each header, extra header and attribute
	 * padding it puts (32 KB cleared per request was a quarter of the CPU time of
	 * removing 300 children in the VM bench) */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

/* The kernel's NLMSGERR_ATTR_MSG text of an error, when it sent one. */
static void
answer_take_ext_msg(XfrmNlAnswer *answer, const struct nlmsghdr *nlh, const struct nlmsgerr *err)
{
	gsize off = sizeof(*err);
	const struct nlattr *attr;
	const void *tlvs;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (MNL_NLMSG_HDRLEN + off > nlh->nlmsg_len)
		return;
	tlvs = (const char *)err + off;
	mnl_attr_for_each_payload(tlvs, nlh->nlmsg_len - MNL_NLMSG_HDRLEN - off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			g_strlcpy(answer->ext_msg, mnl_attr_get_str(attr), sizeof(answer->ext_msg));
	}
}

static int
answer_error(const struct nlmsghdr *nlh, void *data)
{
	XfrmNlAnswer *answer = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		answer->err = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP; /* the ACK */
	answer->err = -err->error;
	answer_take_ext_msg(answer, nlh, err);
	return MNL_CB_STOP;
}

static int
answer_done(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

static int
answer_data(const struct nlmsghdr *nlh, void *data)
{
	XfrmNlAnswer *answer = data;

	return answer->cb ? answer->cb(nlh, answer->user_data) : MNL_CB_OK;
}

static VpndKernelError
error_code_from_errno(int err)
{
	switch (err) {
	case EEXIST:
		return VPND_KERNEL_ERROR_EXISTS;
	case ENOENT:
	case ESRCH:
		return VPND_KERNEL_ERROR_NOT_FOUND;
	case EPROTONOSUPPORT:
	case EAFNOSUPPORT:
	case ENOSYS:
	case EOPNOTSUPP:
		return VPND_KERNEL_ERROR_UNSUPPORTED;
	default:
		return VPND_KERNEL_ERROR_FAILED;
	}
}

static gboolean
answer_read(XfrmNl *nl, guint32 seq, XfrmNlAnswer *answer)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = answer_error,
		[NLMSG_DONE] = answer_done,
	};
	g_autofree char *buf = g_malloc(XFRM_NL_BUF_SIZE);
	int ret = MNL_CB_OK;

	while (ret > MNL_CB_STOP) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, XFRM_NL_BUF_SIZE);

		if (n < 0) {
			answer->err = errno == EAGAIN ? ETIMEDOUT : errno;
			return FALSE;
		}
		ret = mnl_cb_run2(buf, n, seq, nl->portid, answer_data, answer, ctl,
				  G_N_ELEMENTS(ctl));
		if (ret == MNL_CB_ERROR && !answer->err)
			answer->err = errno ? errno : EPROTO;
	}
	return answer->err == 0;
}

gboolean
xfrm_nl_request(XfrmNl *nl, struct nlmsghdr *nlh, XfrmNlDataCb cb, gpointer user_data, int *errnum,
		GError **error)
{
	XfrmNlAnswer answer = { .cb = cb, .user_data = user_data };

	nlh->nlmsg_seq = ++nl->seq;
	/* both bits: NLM_F_MATCH alone is NLM_F_EXCL on a NEW request, which wants its ACK */
	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		answer.err = errno;
	else
		answer_read(nl, nlh->nlmsg_seq, &answer);
	if (errnum)
		*errnum = answer.err;
	if (answer.err == 0)
		return TRUE;
	if (answer.ext_msg[0])
		g_set_error(error, VPND_KERNEL_ERROR, error_code_from_errno(answer.err), "%s (%s)",
			    g_strerror(answer.err), answer.ext_msg);
	else
		g_set_error_literal(error, VPND_KERNEL_ERROR, error_code_from_errno(answer.err),
				    g_strerror(answer.err));
	return FALSE;
}

gboolean
xfrm_nl_drain(XfrmNl *nl, XfrmNlDataCb cb, gpointer user_data)
{
	g_autofree char *buf = g_malloc(XFRM_NL_BUF_SIZE);

	/* bounded: the kernel queues at most a socket buffer's worth */
	for (guint i = 0; i < 1024; i++) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, XFRM_NL_BUF_SIZE);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return TRUE;
		if (n < 0 && errno == ENOBUFS) {
			g_warning("XFRM events were lost (socket buffer full)");
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_warning("XFRM event socket failed: %s", g_strerror(errno));
			return FALSE;
		}
		mnl_cb_run(buf, n, 0, 0, (mnl_cb_t)cb, user_data);
	}
	return TRUE;
}
