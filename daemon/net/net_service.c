/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib-unix.h>

#include "net_addr.h"
#include "net_encap.h"
#include "net_service.h"

typedef struct {
	NetService *service;
	int fd;
	guint source_id;
	gboolean nat_t; /* the NAT-T port: marker, keepalives, ESP */
	VpndAddr bound; /* address (0.0.0.0/:: for wildcards) and port */
} NetSocket;

typedef struct {
	NetService *service;
	guint id;
	guint source_id;
	VpndAddr local, remote;
} NetKeepalive;

struct NetService {
	GPtrArray *sockets; /* NetSocket, owned */
	guint16 port, port_nat_t;
	NetIkeFunc ike_func;
	gpointer ike_data;
	NetEspFunc esp_func;
	gpointer esp_data;
	const VpndKernelOps *kernel_ops;
	VpndKernel *kernel;
	GHashTable *keepalives; /* id -> NetKeepalive, owned */
	guint last_keepalive_id;
	guint8 *rxbuf; /* NET_MAX_DATAGRAM, reused by every read */
	gboolean no_gso; /* the kernel refused UDP_SEGMENT once: one datagram per send */
	NetCounters counters;
};

/* Room for IP_PKTINFO or IPV6_PKTINFO and UDP_SEGMENT or UDP_GRO, aligned for cmsghdr. */
typedef union {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
		 CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
} NetCmsgBuf;

static const guint8 non_esp_marker[NET_NON_ESP_MARKER_LEN];

const char *
net_drop_reason_to_string(NetDropReason reason)
{
	switch (reason) {
	case NET_DROP_TRUNCATED:
		return "truncated";
	case NET_DROP_MALFORMED:
		return "malformed";
	case NET_DROP_NO_LOCAL:
		return "no-local-address";
	case NET_DROP_NO_HANDLER:
		return "no-handler";
	case NET_DROP_RECV_ERROR:
		return "recv-error";
	case NET_DROP_SEND_ERROR:
		return "send-error";
	case NET_DROP_NO_SOCKET:
		return "no-socket";
	case NET_DROP_MAX:
		break;
	}
	return "unknown";
}

/* ---- sending ---- */

/* The socket to send from: right family and port, bound to @local's address or a
 * wildcard; an exact address beats the wildcard. (nullable) */
static NetSocket *
pick_socket(NetService *service, int family, const VpndAddr *local, gboolean nat_t)
{
	NetSocket *wildcard = NULL;

	if (local && local->family && local->family != family)
		return NULL;
	for (guint i = 0; i < service->sockets->len; i++) {
		NetSocket *sock = g_ptr_array_index(service->sockets, i);

		if (sock->nat_t != nat_t || sock->bound.family != family)
			continue;
		if (net_addr_is_any(&sock->bound))
			wildcard = wildcard ? wildcard : sock;
		else if (local && net_addr_equal_ip(&sock->bound, local))
			return sock;
	}
	return wildcard;
}

/* Appends a control message; msg_control points at a zeroed NetCmsgBuf. */
static void
put_cmsg(struct msghdr *msg, int level, int type, const void *data, gsize len)
{
	struct cmsghdr *cmsg = (struct cmsghdr *)((char *)msg->msg_control + msg->msg_controllen);

	msg->msg_controllen += CMSG_SPACE(len);
	cmsg->cmsg_level = level;
	cmsg->cmsg_type = type;
	cmsg->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cmsg), data, len);
}

/* Sets the datagram's source address; a zero ifindex lets routing pick the interface. */
static void
set_source(struct msghdr *msg, const VpndAddr *local)
{
	if (local->family == AF_INET) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, local->addr, 4);
		put_cmsg(msg, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = { 0 };

		memcpy(&pi.ipi6_addr, local->addr, 16);
		put_cmsg(msg, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
}

/* The iovecs from @sock: one datagram, or datagrams of @seg_len bytes (UDP GSO) when
 * @seg_len is not 0. errno is kept on failure; nothing is counted. */
static gboolean
sendmsg_from(NetSocket *sock, const VpndAddr *local, const VpndAddr *remote, struct iovec *iov,
	     int iovcnt, guint16 seg_len)
{
	struct sockaddr_storage ss;
	NetCmsgBuf cbuf = { 0 };
	struct msghdr msg = { .msg_control = cbuf.buf };
	ssize_t n;

	msg.msg_namelen = net_addr_to_sockaddr(remote, &ss);
	msg.msg_name = &ss;
	msg.msg_iov = iov;
	msg.msg_iovlen = iovcnt;
	if (local && local->family == remote->family && !net_addr_is_any(local))
		set_source(&msg, local);
	if (seg_len)
		put_cmsg(&msg, SOL_UDP, UDP_SEGMENT, &seg_len, sizeof(seg_len));
	if (!msg.msg_controllen)
		msg.msg_control = NULL;
	do
		n = sendmsg(sock->fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n >= 0;
}

/* One datagram of the iovecs from @sock, counted; errno is kept on failure. */
static gboolean
send_iov(NetSocket *sock, const VpndAddr *local, const VpndAddr *remote, struct iovec *iov,
	 int iovcnt)
{
	if (!sendmsg_from(sock, local, remote, iov, iovcnt, 0)) {
		sock->service->counters.dropped[NET_DROP_SEND_ERROR]++;
		return FALSE;
	}
	sock->service->counters.sent++;
	return TRUE;
}

static gboolean
is_peer(const VpndAddr *remote)
{
	return remote && net_addr_len(remote->family) && remote->port;
}

gboolean
net_service_send_ike(NetService *service, const VpndAddr *local, const VpndAddr *remote,
		     const guint8 *data, gsize len, GError **error)
{
	char rbuf[NET_ADDR_STRLEN], lbuf[NET_ADDR_STRLEN];
	guint16 port = local && local->port ? local->port : service->port;
	gboolean nat_t = port == service->port_nat_t;
	struct iovec iov[2];
	NetSocket *sock;
	int n = 0;

	g_return_val_if_fail(is_peer(remote), FALSE);
	g_return_val_if_fail(data && len, FALSE);
	sock = port == service->port || nat_t ? pick_socket(service, remote->family, local, nat_t)
					      : NULL;
	if (!sock) {
		service->counters.dropped[NET_DROP_NO_SOCKET]++;
		g_set_error(error, NET_ERROR, NET_ERROR_NO_SOCKET,
			    "no UDP socket to send from %s to %s",
			    local ? net_addr_format(local, lbuf, sizeof(lbuf)) : "(any)",
			    net_addr_format(remote, rbuf, sizeof(rbuf)));
		return FALSE;
	}
	if (nat_t)
		iov[n++] = (struct iovec){ (void *)non_esp_marker, sizeof(non_esp_marker) };
	iov[n++] = (struct iovec){ (void *)data, len };
	if (!send_iov(sock, local, remote, iov, n)) {
		int err = errno;

		g_set_error(error, NET_ERROR, NET_ERROR_SEND, "sending IKE from %s to %s: %s",
			    local ? net_addr_format(local, lbuf, sizeof(lbuf)) : "(any)",
			    net_addr_format(remote, rbuf, sizeof(rbuf)), g_strerror(err));
		return FALSE;
	}
	service->counters.sent_ike++;
	return TRUE;
}

/* ESP in UDP only ever uses the NAT-T port: on the IKE port it would read as IKE */
static NetSocket *
esp_socket(NetService *service, const VpndAddr *src, const VpndAddr *dst)
{
	if (is_peer(dst) && (!src || !src->port || src->port == service->port_nat_t))
		return pick_socket(service, dst->family, src, TRUE);
	return NULL;
}

gboolean
net_service_send_esp(NetService *service, const VpndAddr *src, const VpndAddr *dst,
		     const guint8 *data, gsize len)
{
	struct iovec iov = { (void *)data, len };
	NetSocket *sock = data && len ? esp_socket(service, src, dst) : NULL;

	if (!sock) {
		service->counters.dropped[NET_DROP_NO_SOCKET]++;
		return FALSE;
	}
	if (!send_iov(sock, src, dst, &iov, 1))
		return FALSE;
	service->counters.sent_esp++;
	return TRUE;
}

static gboolean
send_esp_each(NetService *service, const VpndAddr *src, const VpndAddr *dst, const guint8 *data,
	      gsize len, gsize seg_len)
{
	gboolean all = TRUE;

	for (gsize off = 0; off < len; off += seg_len)
		all &= net_service_send_esp(service, src, dst, data + off, MIN(seg_len, len - off));
	return all;
}

gboolean
net_service_send_esp_batch(NetService *service, const VpndAddr *src, const VpndAddr *dst,
			   const guint8 *data, gsize len, gsize seg_len)
{
	g_return_val_if_fail(seg_len > 0 && seg_len <= G_MAXUINT16, FALSE);
	guint n = (guint)((len + seg_len - 1) / seg_len);
	struct iovec iov = { (void *)data, len };
	NetSocket *sock = esp_socket(service, src, dst);

	if (n < 2 || service->no_gso || !sock || n > VPND_ESP_BATCH_MAX ||
	    len > VPND_ESP_BATCH_BYTES)
		return send_esp_each(service, src, dst, data, len, seg_len);
	if (sendmsg_from(sock, src, dst, &iov, 1, (guint16)seg_len)) {
		service->counters.sent += n;
		service->counters.sent_esp += n;
		service->counters.sent_gso++;
		return TRUE;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
		service->counters.dropped[NET_DROP_SEND_ERROR] += n;
		return FALSE;
	}
	/* EIO: no checksum offload on the route; ENOPROTOOPT, EINVAL: an older kernel */
	vpnd_info("UDP GSO refused (%s): ESP goes out one datagram per send from now on",
	       g_strerror(errno));
	service->no_gso = TRUE;
	return send_esp_each(service, src, dst, data, len, seg_len);
}


void
net_service_kernel_send_esp(gpointer user_data, const VpndAddr *src, const VpndAddr *dst,
			    const guint8 *data, gsize len)
{
	net_service_send_esp(user_data, src, dst, data, len);
}

/* ---- receiving ---- */

/* The size of each datagram in a UDP GRO read; 0 when it holds one datagram. */
static gsize
read_gro_size(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int size;

			memcpy(&size, CMSG_DATA(c), sizeof(size));
			return size > 0 ? (gsize)size : 0;
		}
	}
	return 0;
}

/* The datagram's destination address (ours) from IP_PKTINFO / IPV6_PKTINFO. */
static gboolean
read_local(struct msghdr *msg, VpndAddr *local, int *ifindex)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->family = AF_INET;
			memcpy(local->addr, &pi.ipi_addr, 4);
			*ifindex = pi.ipi_ifindex;
			return TRUE;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->family = AF_INET6;
			memcpy(local->addr, &pi.ipi6_addr, 16);
			*ifindex = pi.ipi6_ifindex;
			return TRUE;
		}
	}
	return FALSE;
}

/* Logged for IKE only: ESP is the per-packet path of the data plane. */
static void
log_ike(gsize len, const VpndAddr *local, const VpndAddr *remote, int ifindex)
{
	char lbuf[NET_ADDR_STRLEN], rbuf[NET_ADDR_STRLEN];

	vpnd_debug("IKE: %zu bytes from %s to %s (interface %d)", len,
		net_addr_format(remote, rbuf, sizeof(rbuf)),
		net_addr_format(local, lbuf, sizeof(lbuf)), ifindex);
}

static void
deliver_ike(NetService *service, const guint8 *data, gsize len, const VpndAddr *local,
	    const VpndAddr *remote, int ifindex)
{
	log_ike(len, local, remote, ifindex);
	if (!service->ike_func) {
		service->counters.dropped[NET_DROP_NO_HANDLER]++;
		return;
	}
	service->counters.received_ike++;
	service->ike_func(data, len, local, remote, g_get_monotonic_time(), service->ike_data);
}

static void
deliver_esp(NetService *service, guint8 *data, gsize len, const VpndAddr *local,
	    const VpndAddr *remote)
{
	if (service->esp_func) {
		service->counters.received_esp++;
		service->esp_func(data, len, local, remote, service->esp_data);
	} else if (service->kernel_ops && service->kernel_ops->esp_input) {
		service->counters.received_esp++;
		service->kernel_ops->esp_input(service->kernel, remote, local, data, len);
	} else {
		service->counters.dropped[NET_DROP_NO_HANDLER]++;
	}
}

/* RFC 3948: what the NAT-T port carries is told apart by its first bytes. */
static void
dispatch_nat_t(NetService *service, guint8 *data, gsize len, const VpndAddr *local,
	       const VpndAddr *remote, int ifindex)
{
	NetEncapKind kind = net_encap_classify(data, len);

	switch (kind) {
	case NET_ENCAP_IKE:
		deliver_ike(service, data + NET_NON_ESP_MARKER_LEN, len - NET_NON_ESP_MARKER_LEN,
			    local, remote, ifindex);
		break;
	case NET_ENCAP_ESP:
		deliver_esp(service, data, len, local, remote);
		break;
	case NET_ENCAP_KEEPALIVE:
		service->counters.keepalives_received++;
		break;
	case NET_ENCAP_MALFORMED:
		service->counters.dropped[NET_DROP_MALFORMED]++;
		break;
	}
}

static void
dispatch(NetSocket *sock, gsize len, struct msghdr *msg, const struct sockaddr_storage *from)
{
	NetService *service = sock->service;
	VpndAddr local = { 0 }, remote;
	int ifindex = 0;

	if (msg->msg_flags & MSG_TRUNC) {
		service->counters.dropped[NET_DROP_TRUNCATED]++;
		return;
	}
	if (!net_addr_from_sockaddr(&remote, (const struct sockaddr *)from, msg->msg_namelen) ||
	    !read_local(msg, &local, &ifindex)) {
		service->counters.dropped[NET_DROP_NO_LOCAL]++;
		return;
	}
	local.port = sock->bound.port;
	gsize seg = sock->nat_t ? read_gro_size(msg) : 0;
	if (seg && seg < len) {
		/* UDP GRO: datagrams of one flow, @seg bytes each but the last */
		service->counters.received_gro++;
		service->counters.received += (len - 1) / seg;
		for (gsize off = 0; off < len; off += seg)
			dispatch_nat_t(service, service->rxbuf + off, MIN(seg, len - off), &local,
				       &remote, ifindex);
	} else if (sock->nat_t)
		dispatch_nat_t(service, service->rxbuf, len, &local, &remote, ifindex);
	else if (len == 0)
		service->counters.dropped[NET_DROP_MALFORMED]++;
	else
		deliver_ike(service, service->rxbuf, len, &local, &remote, ifindex);
}

/* Reads and dispatches one datagram; FALSE when the socket has nothing more to give. */
static gboolean
receive_one(NetSocket *sock)
{
	NetService *service = sock->service;
	struct sockaddr_storage from;
	struct iovec iov = { service->rxbuf, NET_MAX_DATAGRAM };
	NetCmsgBuf cbuf;
	struct msghdr msg = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	ssize_t n = recvmsg(sock->fd, &msg, MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EINTR)
			return TRUE;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			service->counters.dropped[NET_DROP_RECV_ERROR]++;
		return FALSE;
	}
	service->counters.received++;
	dispatch(sock, n, &msg, &from);
	return TRUE;
}

/* After a wakeup's reads: the kernel provider writes out what it held back (nullable). */
static void
flush_esp(NetService *service)
{
	if (!service->esp_func && service->kernel_ops && service->kernel_ops->esp_input_flush)
		service->kernel_ops->esp_input_flush(service->kernel);
}

static gboolean
on_readable(int fd, GIOCondition condition, gpointer user_data)
{
	NetSocket *sock = user_data;

	for (guint i = 0; i < NET_RX_BURST; i++) {
		if (!receive_one(sock)) {
			if (sock->nat_t)
				flush_esp(sock->service);
			return G_SOURCE_CONTINUE;
		}
	}
	/* the socket stays readable: the main loop comes back after other sources ran */
	sock->service->counters.burst_limited++;
	if (sock->nat_t)
		flush_esp(sock->service);
	return G_SOURCE_CONTINUE;
}

/* ---- sockets ---- */

static const char *
bind_hint(int err)
{
	switch (err) {
	case EADDRINUSE:
		return "address already in use: another IKE daemon (charon?) running?";
	case EACCES:
		return "permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE";
	case EADDRNOTAVAIL:
		return "address not available: no interface has this address";
	default:
		return g_strerror(err);
	}
}

static gboolean
set_int_opt(int fd, int level, int name, int value, const char *what, GError **error)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) == 0)
		return TRUE;
	int err = errno;

	g_set_error(error, NET_ERROR, NET_ERROR_SOCKET, "setting %s on a UDP socket: %s", what,
		    g_strerror(err));
	return FALSE;
}

/* Bigger buffers for every socket (bursts of handshakes, bursts of ESP), UDP GRO for
 * the NAT-T socket, which carries ESP. Both only help: a kernel that refuses them gets
 * the defaults, said at info level. */
static void
set_buffer_options(int fd, gboolean nat_t)
{
	static const struct {
		int force, plain;
		const char *name;
	} bufs[] = { { SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF" },
		     { SO_SNDBUFFORCE, SO_SNDBUF, "SO_SNDBUF" } };
	int size = nat_t ? NET_NAT_T_BUFFER : NET_IKE_BUFFER, on = 1;

	for (guint i = 0; i < G_N_ELEMENTS(bufs); i++) {
		/* the FORCE variant passes net.core.[rw]mem_max with CAP_NET_ADMIN */
		if (setsockopt(fd, SOL_SOCKET, bufs[i].force, &size, sizeof(size)) < 0 &&
		    setsockopt(fd, SOL_SOCKET, bufs[i].plain, &size, sizeof(size)) < 0)
			vpnd_info("%s %d on a UDP socket: %s", bufs[i].name, size, g_strerror(errno));
	}
	if (nat_t && setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) < 0)
		vpnd_info("UDP_GRO on the NAT-T socket: %s", g_strerror(errno));
}

static gboolean
set_options(int fd, int family, GError **error)
{
	if (family == AF_INET)
		return set_int_opt(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO", error);
	/* one socket per family: IPv4 goes to the AF_INET socket, never as mapped IPv6 */
	return set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY", error) &&
	       set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO", error);
}

/* Binds @sock->bound; a port of 0 is replaced by the one the kernel picked. */
static gboolean
bind_socket(NetSocket *sock, GError **error)
{
	struct sockaddr_storage ss;
	socklen_t len = net_addr_to_sockaddr(&sock->bound, &ss);
	char buf[NET_ADDR_STRLEN];
	VpndAddr got;

	if (bind(sock->fd, (struct sockaddr *)&ss, len) < 0) {
		int err = errno;
		VpndAddr ip = sock->bound;

		ip.port = 0;
		g_set_error(error, NET_ERROR, NET_ERROR_BIND, "cannot bind UDP %s port %u: %s",
			    net_addr_format(&ip, buf, sizeof(buf)), sock->bound.port,
			    bind_hint(err));
		return FALSE;
	}
	len = sizeof(ss);
	if (getsockname(sock->fd, (struct sockaddr *)&ss, &len) < 0 ||
	    !net_addr_from_sockaddr(&got, (struct sockaddr *)&ss, len)) {
		int err = errno;

		g_set_error(error, NET_ERROR, NET_ERROR_SOCKET, "getsockname: %s", g_strerror(err));
		return FALSE;
	}
	sock->bound.port = got.port;
	return TRUE;
}

static gboolean
apply_kernel(NetService *service, NetSocket *sock, GError **error)
{
	const VpndKernelOps *ops = service->kernel_ops;
	char buf[NET_ADDR_STRLEN];

	if (!ops)
		return TRUE;
	if (ops->bypass_socket &&
	    !ops->bypass_socket(service->kernel, sock->fd, sock->bound.family, error)) {
		g_prefix_error(error, "IPsec bypass for UDP %s: ",
			       net_addr_format(&sock->bound, buf, sizeof(buf)));
		return FALSE;
	}
	if (sock->nat_t && ops->enable_udp_encap &&
	    !ops->enable_udp_encap(service->kernel, sock->fd, sock->bound.family, error)) {
		g_prefix_error(error, "UDP encapsulation on %s: ",
			       net_addr_format(&sock->bound, buf, sizeof(buf)));
		return FALSE;
	}
	return TRUE;
}

static void
net_socket_free(NetSocket *sock)
{
	if (sock->source_id)
		g_source_remove(sock->source_id);
	if (sock->fd >= 0)
		close(sock->fd);
	g_free(sock);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetSocket, net_socket_free)

/* Opens one socket; on failure *@unsupported tells whether the family is absent (no IPv6). */
static NetSocket *
open_socket(NetService *service, const VpndAddr *addr, guint16 port, gboolean nat_t,
	    gboolean *unsupported, GError **error)
{
	g_autoptr(NetSocket) sock = g_new0(NetSocket, 1);

	sock->service = service;
	sock->nat_t = nat_t;
	sock->bound = *addr;
	sock->bound.port = port;
	sock->fd = socket(addr->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (sock->fd < 0) {
		int err = errno;

		*unsupported = err == EAFNOSUPPORT;
		g_set_error(error, NET_ERROR, NET_ERROR_SOCKET, "UDP socket for %s: %s",
			    addr->family == AF_INET ? "IPv4" : "IPv6", g_strerror(err));
		return NULL;
	}
	if (!set_options(sock->fd, addr->family, error) || !bind_socket(sock, error) ||
	    !apply_kernel(service, sock, error))
		return NULL;
	set_buffer_options(sock->fd, nat_t);
	return g_steal_pointer(&sock);
}

static void
start_socket(NetSocket *sock)
{
	char buf[NET_ADDR_STRLEN];

	/* G_IO_ERR too: a pending socket error is read (and cleared) by recvmsg(), never
	 * left to make every poll return at once */
	sock->source_id = vpnd_unix_fd_add(sock->fd, G_IO_IN | G_IO_ERR, on_readable, sock);
	vpnd_info("listening on UDP %s%s", net_addr_format(&sock->bound, buf, sizeof(buf)),
	       sock->nat_t ? " (NAT-T)" : "");
}

/* Both ports on @addr; a 0 port becomes the kernel's pick and is reused for the rest. */
static gboolean
open_address(NetService *service, const VpndAddr *addr, gboolean optional, GError **error)
{
	for (int nat_t = 0; nat_t <= 1; nat_t++) {
		guint16 *port = nat_t ? &service->port_nat_t : &service->port;
		g_autoptr(GError) local_error = NULL;
		gboolean unsupported = FALSE;
		NetSocket *sock =
			open_socket(service, addr, *port, nat_t, &unsupported, &local_error);

		if (!sock && optional && unsupported) {
			vpnd_info("no IPv6 here, IKE over IPv4 only: %s", local_error->message);
			return TRUE;
		}
		if (!sock) {
			g_propagate_error(error, g_steal_pointer(&local_error));
			return FALSE;
		}
		*port = sock->bound.port;
		g_ptr_array_add(service->sockets, sock);
	}
	return TRUE;
}

static void
keepalive_free(gpointer data)
{
	NetKeepalive *ka = data;

	g_source_remove(ka->source_id);
	g_free(ka);
}

NetService *
net_service_new(const NetConfig *config, const VpndKernelOps *kernel_ops, VpndKernel *kernel,
		GError **error)
{
	g_autoptr(NetService) service = g_new0(NetService, 1);
	GArray *addrs = config->addresses;

	g_return_val_if_fail(!config->port || config->port != config->port_nat_t, NULL);
	service->sockets = g_ptr_array_new_with_free_func((GDestroyNotify)net_socket_free);
	service->keepalives = g_hash_table_new_full(NULL, NULL, NULL, keepalive_free);
	service->rxbuf = g_malloc(NET_MAX_DATAGRAM);
	service->port = config->port;
	service->port_nat_t = config->port_nat_t;
	service->kernel_ops = kernel_ops;
	service->kernel = kernel;
	if (addrs->len == 0) {
		VpndAddr any4, any6;

		net_addr_set_any(&any4, AF_INET, 0);
		net_addr_set_any(&any6, AF_INET6, 0);
		if (!open_address(service, &any4, FALSE, error) ||
		    !open_address(service, &any6, TRUE, error))
			return NULL;
	}
	for (guint i = 0; i < addrs->len; i++)
		if (!open_address(service, &g_array_index(addrs, VpndAddr, i), FALSE, error))
			return NULL;
	for (guint i = 0; i < service->sockets->len; i++)
		start_socket(g_ptr_array_index(service->sockets, i));
	return g_steal_pointer(&service);
}

void
net_service_free(NetService *service)
{
	if (!service)
		return;
	g_clear_pointer(&service->keepalives, g_hash_table_unref);
	g_clear_pointer(&service->sockets, g_ptr_array_unref);
	g_free(service->rxbuf);
	g_free(service);
}

void
net_service_set_ike_handler(NetService *service, NetIkeFunc func, gpointer user_data)
{
	service->ike_func = func;
	service->ike_data = user_data;
}

void
net_service_set_esp_handler(NetService *service, NetEspFunc func, gpointer user_data)
{
	service->esp_func = func;
	service->esp_data = user_data;
}

guint16
net_service_get_port(NetService *service)
{
	return service->port;
}

guint16
net_service_get_port_nat_t(NetService *service)
{
	return service->port_nat_t;
}

void
net_service_get_counters(NetService *service, NetCounters *counters)
{
	*counters = service->counters;
}

/* ---- NAT keepalives ---- */

static gboolean
on_keepalive(gpointer user_data)
{
	static const guint8 keepalive = NET_KEEPALIVE_BYTE;
	NetKeepalive *ka = user_data;
	NetService *service = ka->service;
	struct iovec iov = { (void *)&keepalive, 1 };
	NetSocket *sock = pick_socket(service, ka->remote.family, &ka->local, TRUE);

	if (!sock)
		service->counters.dropped[NET_DROP_NO_SOCKET]++;
	else if (send_iov(sock, &ka->local, &ka->remote, &iov, 1))
		service->counters.keepalives_sent++;
	return G_SOURCE_CONTINUE;
}

guint
net_service_keepalive_add(NetService *service, const VpndAddr *local, const VpndAddr *remote,
			  guint interval_s)
{
	NetKeepalive *ka;

	g_return_val_if_fail(remote && net_addr_len(remote->family), 0);
	g_return_val_if_fail(interval_s > 0 && interval_s <= G_MAXUINT / 1000, 0);
	ka = g_new0(NetKeepalive, 1);
	ka->service = service;
	ka->id = ++service->last_keepalive_id;
	if (local)
		ka->local = *local;
	ka->local.port = service->port_nat_t;
	ka->remote = *remote;
	if (!ka->remote.port)
		ka->remote.port = service->port_nat_t;
	/* not g_timeout_add_seconds(): that may fire up to a second late or early */
	ka->source_id = g_timeout_add(interval_s * 1000, on_keepalive, ka);
	g_hash_table_insert(service->keepalives, GUINT_TO_POINTER(ka->id), ka);
	return ka->id;
}

void
net_service_keepalive_remove(NetService *service, guint id)
{
	g_hash_table_remove(service->keepalives, GUINT_TO_POINTER(id));
}
