/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon/net against real sockets.
 *
 * Without arguments: on loopback, no root needed, ports picked by the kernel. The
 * service binds the wildcards, so a datagram to 127.0.0.2 must be answered from
 * 127.0.0.2 although routing alone would pick 127.0.0.1.
 *
 * With --netns (root; exits 77 otherwise): two network namespaces joined by a veth
 * pair; the service's side has two IPv4 and two IPv6 addresses on one interface and
 * every reply must come from the address its request went to. The namespaces are
 * removed when the test ends, fails, or is terminated.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "net/net_addr.h"
#include "net/net_encap.h"
#include "net/net_service.h"

/* generous: the same test runs under AddressSanitizer */
#define WAIT_MS 5000
#define NO_DATAGRAM_MS 200

/* ---- what the service hands us ---- */

typedef struct {
	GBytes *data;
	VpndAddr local, remote;
} Received;

static void
received_free(gpointer p)
{
	Received *r = p;

	g_bytes_unref(r->data);
	g_free(r);
}

typedef struct {
	NetService *net;
	GPtrArray *ike; /* Received */
	GPtrArray *esp; /* Received */
	gboolean reply; /* answer each IKE datagram with "re:" + its bytes */
} Fixture;

static void
record(GPtrArray *list, const guint8 *data, gsize len, const VpndAddr *local,
       const VpndAddr *remote)
{
	Received *r = g_new0(Received, 1);

	r->data = g_bytes_new(data, len);
	r->local = *local;
	r->remote = *remote;
	g_ptr_array_add(list, r);
}

static void
on_ike(const guint8 *data, gsize len, const VpndAddr *local, const VpndAddr *remote, gint64 now,
       gpointer user_data)
{
	Fixture *f = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GByteArray) reply = g_byte_array_new();

	g_assert_cmpint(now, >, 0);
	g_assert_cmpint(now, <=, g_get_monotonic_time());
	record(f->ike, data, len, local, remote);
	if (!f->reply)
		return;
	g_byte_array_append(reply, (const guint8 *)"re:", 3);
	g_byte_array_append(reply, data, len);
	g_assert_true(net_service_send_ike(f->net, local, remote, reply->data, reply->len, &error));
	g_assert_no_error(error);
}

static void
on_esp(guint8 *data, gsize len, const VpndAddr *local, const VpndAddr *remote, gpointer user_data)
{
	Fixture *f = user_data;

	record(f->esp, data, len, local, remote);
}

static void
fixture_init(Fixture *f, const char *addresses)
{
	g_autoptr(NetConfig) config = net_config_new();
	g_autoptr(GError) error = NULL;

	config->port = 0;
	config->port_nat_t = 0;
	if (addresses)
		g_assert_true(net_config_set_addresses(config, addresses, NULL));
	f->ike = g_ptr_array_new_with_free_func(received_free);
	f->esp = g_ptr_array_new_with_free_func(received_free);
	f->net = net_service_new(config, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(f->net);
	g_assert_cmpuint(net_service_get_port(f->net), !=, 0);
	g_assert_cmpuint(net_service_get_port_nat_t(f->net), !=, 0);
	g_assert_cmpuint(net_service_get_port(f->net), !=, net_service_get_port_nat_t(f->net));
	net_service_set_ike_handler(f->net, on_ike, f);
	net_service_set_esp_handler(f->net, on_esp, f);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	fixture_init(f, NULL);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_clear_pointer(&f->net, net_service_free);
	g_ptr_array_unref(f->ike);
	g_ptr_array_unref(f->esp);
}

static NetCounters
counters(Fixture *f)
{
	NetCounters c;

	net_service_get_counters(f->net, &c);
	return c;
}

static gboolean
on_timeout(gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
	return G_SOURCE_REMOVE;
}

/* Runs the main loop until @received datagrams were read, at most WAIT_MS. */
static void
wait_received(Fixture *f, guint64 received)
{
	gboolean expired = FALSE;
	guint id = g_timeout_add(WAIT_MS, on_timeout, &expired);

	while (counters(f).received < received && !expired)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(counters(f).received, ==, received);
	if (!expired)
		g_source_remove(id);
}

/* Runs the main loop until *@count reaches @want, at most WAIT_MS. */
static void
wait_count(const guint *count, guint want)
{
	gboolean expired = FALSE;
	guint id = g_timeout_add(WAIT_MS, on_timeout, &expired);

	while (*count < want && !expired)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(*count, ==, want);
	if (!expired)
		g_source_remove(id);
}

/* Runs the main loop for @ms. */
static void
run_for(guint ms)
{
	gboolean expired = FALSE;

	g_timeout_add(ms, on_timeout, &expired);
	while (!expired)
		g_main_context_iteration(NULL, TRUE);
}

/* ---- the peer: a plain UDP socket ---- */

static const guint8 non_esp_marker[NET_NON_ESP_MARKER_LEN];

static int
peer_open(const char *ip)
{
	VpndAddr addr;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	g_assert_true(net_addr_parse(ip, &addr));
	len = net_addr_to_sockaddr(&addr, &ss);
	fd = socket(addr.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&ss, len), ==, 0);
	return fd;
}

static VpndAddr
peer_addr(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	VpndAddr addr;

	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&ss, &len), ==, 0);
	g_assert_true(net_addr_from_sockaddr(&addr, (struct sockaddr *)&ss, len));
	return addr;
}

static VpndAddr
addr_port(const char *ip, guint16 port)
{
	VpndAddr addr;

	g_assert_true(net_addr_parse(ip, &addr));
	addr.port = port;
	return addr;
}

static void
peer_send(int fd, const VpndAddr *to, const void *data, gsize len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = net_addr_to_sockaddr(to, &ss);

	g_assert_cmpint(sendto(fd, data, len, 0, (struct sockaddr *)&ss, sslen), ==, (gssize)len);
}

/* The next datagram within @timeout_ms, with its source; NULL when none came. */
static GBytes *
peer_recv(int fd, VpndAddr *from, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	guint8 buf[2048];
	gssize n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return NULL;
	n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
	g_assert_cmpint(n, >=, 0);
	g_assert_true(net_addr_from_sockaddr(from, (struct sockaddr *)&ss, len));
	return g_bytes_new(buf, n);
}

static void
assert_addr(const VpndAddr *got, const VpndAddr *want)
{
	char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN];

	g_assert_cmpstr(net_addr_format(got, a, sizeof(a)), ==,
			net_addr_format(want, b, sizeof(b)));
}

static void
assert_bytes(GBytes *got, const void *want, gsize len)
{
	g_assert_nonnull(got);
	g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got), want, len);
}

/*
 * Peer @peer_ip sends @payload to @ip on the IKE or NAT-T port; the service must see it
 * (marker removed) with the right addresses and its reply must come from exactly there.
 */
static void
exchange(Fixture *f, const char *peer_ip, const char *ip, gboolean nat_t)
{
	guint16 port = nat_t ? net_service_get_port_nat_t(f->net) : net_service_get_port(f->net);
	VpndAddr service = addr_port(ip, port), from;
	int fd = peer_open(peer_ip);
	VpndAddr peer = peer_addr(fd);
	g_autofree char *payload = g_strdup_printf("IKE to %s %s", ip, nat_t ? "NAT-T" : "");
	gsize plen = strlen(payload);
	g_autoptr(GByteArray) wire = g_byte_array_new();
	g_autoptr(GByteArray) want = g_byte_array_new();
	guint64 before = counters(f).received;
	Received *r;

	if (nat_t)
		g_byte_array_append(wire, non_esp_marker, sizeof(non_esp_marker));
	g_byte_array_append(wire, (const guint8 *)payload, plen);
	f->reply = TRUE;
	g_ptr_array_set_size(f->ike, 0);
	peer_send(fd, &service, wire->data, wire->len);
	wait_received(f, before + 1);

	g_assert_cmpuint(f->ike->len, ==, 1);
	r = g_ptr_array_index(f->ike, 0);
	assert_bytes(r->data, payload, plen);
	assert_addr(&r->local, &service);
	assert_addr(&r->remote, &peer);

	g_autoptr(GBytes) reply = peer_recv(fd, &from, WAIT_MS);
	if (nat_t)
		g_byte_array_append(want, non_esp_marker, sizeof(non_esp_marker));
	g_byte_array_append(want, (const guint8 *)"re:", 3);
	g_byte_array_append(want, (const guint8 *)payload, plen);
	assert_bytes(reply, want->data, want->len);
	assert_addr(&from, &service);
	close(fd);
}

/* ---- loopback ---- */

static void
test_ike_reply_from_local_address(Fixture *f, gconstpointer data)
{
	exchange(f, "127.0.0.1", "127.0.0.1", FALSE);
	/* 127.0.0.2 is on lo too, but routing would answer from 127.0.0.1 */
	exchange(f, "127.0.0.1", "127.0.0.2", FALSE);
	exchange(f, "127.0.0.2", "127.0.0.3", FALSE);
	exchange(f, "::1", "::1", FALSE);
	g_assert_cmpuint(counters(f).received_ike, ==, 4);
	g_assert_cmpuint(counters(f).sent_ike, ==, 4);
	g_assert_cmpuint(counters(f).sent, ==, 4);
}

static void
test_nat_t_marker(Fixture *f, gconstpointer data)
{
	exchange(f, "127.0.0.1", "127.0.0.2", TRUE);
	exchange(f, "::1", "::1", TRUE);
	g_assert_cmpuint(counters(f).received_ike, ==, 2);
	g_assert_cmpuint(counters(f).received_esp, ==, 0);
}

static void
test_keepalive_counted(Fixture *f, gconstpointer data)
{
	static const guint8 keepalive[] = { NET_KEEPALIVE_BYTE };
	VpndAddr to = addr_port("127.0.0.1", net_service_get_port_nat_t(f->net));
	int fd = peer_open("127.0.0.1");

	peer_send(fd, &to, keepalive, sizeof(keepalive));
	peer_send(fd, &to, keepalive, sizeof(keepalive));
	wait_received(f, 2);
	g_assert_cmpuint(counters(f).keepalives_received, ==, 2);
	g_assert_cmpuint(f->ike->len, ==, 0);
	g_assert_cmpuint(f->esp->len, ==, 0);
	close(fd);
}

static void
test_esp_in(Fixture *f, gconstpointer data)
{
	static const guint8 esp[] = { 0x00, 0x00, 0x00, 0x2a, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef };
	VpndAddr to = addr_port("127.0.0.2", net_service_get_port_nat_t(f->net));
	int fd = peer_open("127.0.0.1");
	VpndAddr peer = peer_addr(fd);
	Received *r;

	peer_send(fd, &to, esp, sizeof(esp));
	wait_received(f, 1);
	g_assert_cmpuint(f->esp->len, ==, 1);
	g_assert_cmpuint(f->ike->len, ==, 0);
	r = g_ptr_array_index(f->esp, 0);
	assert_bytes(r->data, esp, sizeof(esp));
	assert_addr(&r->local, &to);
	assert_addr(&r->remote, &peer);
	g_assert_cmpuint(counters(f).received_esp, ==, 1);
	close(fd);
}

static void
test_esp_out(Fixture *f, gconstpointer data)
{
	static const guint8 esp[] = { 0xc0, 0x01, 0xd0, 0x0d, 0, 0, 0, 9, 1, 2, 3 };
	VpndAddr src = addr_port("127.0.0.3", net_service_get_port_nat_t(f->net)), from;
	int fd = peer_open("127.0.0.1");
	VpndAddr peer = peer_addr(fd);

	/* the shape of VpndKernelEvents.send_esp */
	net_service_kernel_send_esp(f->net, &src, &peer, esp, sizeof(esp));
	g_autoptr(GBytes) got = peer_recv(fd, &from, WAIT_MS);
	assert_bytes(got, esp, sizeof(esp));
	assert_addr(&from, &src);
	g_assert_cmpuint(counters(f).sent_esp, ==, 1);
	close(fd);
}

/* Five ESP datagrams of a batch: four of 100 bytes and a shorter last one; each byte
 * tells its datagram and offset apart. */
#define BATCH_SEG 100
#define BATCH_LEN (4 * BATCH_SEG + 37)

static void
fill_batch(guint8 *data)
{
	for (gsize i = 0; i < BATCH_LEN; i++)
		data[i] = (guint8)(i % BATCH_SEG == 0 ? 0xe0 + i / BATCH_SEG : i);
}

static void
test_esp_batch_out(Fixture *f, gconstpointer data)
{
	guint8 batch[BATCH_LEN];
	VpndAddr src = addr_port("127.0.0.3", net_service_get_port_nat_t(f->net)), from;
	int fd = peer_open("127.0.0.1");
	VpndAddr peer = peer_addr(fd);

	fill_batch(batch);
	g_assert_true(net_service_send_esp_batch(f->net, &src, &peer, batch, BATCH_LEN, BATCH_SEG));
	/* the peer reads five datagrams, as if each had been sent alone */
	for (gsize off = 0; off < BATCH_LEN; off += BATCH_SEG) {
		g_autoptr(GBytes) got = peer_recv(fd, &from, WAIT_MS);
		assert_bytes(got, batch + off, MIN(BATCH_SEG, BATCH_LEN - off));
		assert_addr(&from, &src);
	}
	g_assert_cmpuint(counters(f).sent_esp, ==, 5);
	g_assert_cmpuint(counters(f).sent, ==, 5);
	/* loopback takes UDP GSO: one send */
	g_assert_cmpuint(counters(f).sent_gso, ==, 1);
	close(fd);
}

/* A peer sending with UDP GSO reaches the service as one UDP GRO read: each datagram
 * still goes to the ESP handler on its own. */
static void
test_esp_batch_in(Fixture *f, gconstpointer data)
{
	guint8 batch[BATCH_LEN];
	VpndAddr to = addr_port("127.0.0.1", net_service_get_port_nat_t(f->net));
	int fd = peer_open("127.0.0.1");
	struct sockaddr_storage ss;
	guint16 seg = BATCH_SEG;
	union {
		char buf[CMSG_SPACE(sizeof(guint16))];
		struct cmsghdr align;
	} cbuf = { 0 };
	struct iovec iov = { batch, BATCH_LEN };
	struct msghdr msg = { .msg_name = &ss, .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	fill_batch(batch);
	msg.msg_namelen = net_addr_to_sockaddr(&to, &ss);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	g_assert_cmpint(sendmsg(fd, &msg, 0), ==, BATCH_LEN);
	wait_received(f, 5);
	g_assert_cmpuint(f->esp->len, ==, 5);
	for (guint i = 0; i < 5; i++) {
		Received *r = g_ptr_array_index(f->esp, i);
		assert_bytes(r->data, batch + i * BATCH_SEG,
			     MIN(BATCH_SEG, BATCH_LEN - i * BATCH_SEG));
	}
	g_assert_cmpuint(counters(f).received_esp, ==, 5);
	g_assert_cmpuint(counters(f).received_gro, ==, 1);
	close(fd);
}

static void
test_keepalive_interval(Fixture *f, gconstpointer data)
{
	VpndAddr local = addr_port("127.0.0.2", 0), from;
	VpndAddr want = addr_port("127.0.0.2", net_service_get_port_nat_t(f->net));
	int fd = peer_open("127.0.0.1");
	VpndAddr peer = peer_addr(fd);
	gint64 start = g_get_monotonic_time();
	guint id = net_service_keepalive_add(f->net, &local, &peer, 1);

	g_assert_cmpuint(id, >, 0);
	/* nothing before the first interval */
	run_for(700);
	g_assert_null(peer_recv(fd, &from, 0));
	for (int i = 0; i < 2; i++) {
		gboolean expired = FALSE;
		guint tid = g_timeout_add(WAIT_MS, on_timeout, &expired);
		g_autoptr(GBytes) got = NULL;

		while (counters(f).keepalives_sent < (guint64)i + 1 && !expired)
			g_main_context_iteration(NULL, TRUE);
		g_assert_false(expired);
		g_source_remove(tid);
		got = peer_recv(fd, &from, WAIT_MS);
		assert_bytes(got, "\xff", 1);
		assert_addr(&from, &want);
	}
	g_assert_cmpint(g_get_monotonic_time() - start, >=, 2 * G_USEC_PER_SEC - 100000);

	net_service_keepalive_remove(f->net, id);
	run_for(1300);
	g_assert_null(peer_recv(fd, &from, 0));
	g_assert_cmpuint(counters(f).keepalives_sent, ==, 2);
	/* a second one stays until the service is freed */
	g_assert_cmpuint(net_service_keepalive_add(f->net, NULL, &peer, 30), >, id);
	close(fd);
}

static void
test_burst_bounded(Fixture *f, gconstpointer data)
{
	const guint total = NET_RX_BURST + NET_RX_BURST / 4;
	VpndAddr to = addr_port("127.0.0.1", net_service_get_port(f->net));
	int fd = peer_open("127.0.0.1");

	for (guint i = 0; i < total; i++)
		peer_send(fd, &to, &i, sizeof(i));
	/* loopback queues synchronously: one wakeup finds all of them, reads a burst */
	g_assert_true(g_main_context_iteration(NULL, FALSE));
	g_assert_cmpuint(counters(f).received, ==, NET_RX_BURST);
	g_assert_cmpuint(counters(f).burst_limited, ==, 1);
	wait_received(f, total);
	g_assert_cmpuint(f->ike->len, ==, total);
	for (guint i = 0; i < total; i++) {
		Received *r = g_ptr_array_index(f->ike, i);

		assert_bytes(r->data, &i, sizeof(i));
	}
	close(fd);
}

static void
test_malformed_dropped(Fixture *f, gconstpointer data)
{
	static const guint8 marker_only[] = { 0, 0, 0, 0 };
	static const guint8 short_esp[] = { 1, 2, 3, 4, 5 };
	VpndAddr ike = addr_port("127.0.0.1", net_service_get_port(f->net));
	VpndAddr nat_t = addr_port("127.0.0.1", net_service_get_port_nat_t(f->net));
	int fd = peer_open("127.0.0.1");
	NetCounters c;

	peer_send(fd, &ike, "", 0);
	peer_send(fd, &nat_t, "", 0);
	peer_send(fd, &nat_t, marker_only, sizeof(marker_only));
	peer_send(fd, &nat_t, short_esp, sizeof(short_esp));
	wait_received(f, 4);
	c = counters(f);
	g_assert_cmpuint(c.dropped[NET_DROP_MALFORMED], ==, 4);
	g_assert_cmpuint(c.received_ike + c.received_esp, ==, 0);

	/* with nobody to take them, IKE and ESP are counted as such */
	net_service_set_ike_handler(f->net, NULL, NULL);
	net_service_set_esp_handler(f->net, NULL, NULL);
	peer_send(fd, &ike, "x", 1);
	peer_send(fd, &nat_t, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	wait_received(f, 6);
	g_assert_cmpuint(counters(f).dropped[NET_DROP_NO_HANDLER], ==, 2);
	g_assert_cmpuint(f->ike->len + f->esp->len, ==, 0);
	g_assert_cmpstr(net_drop_reason_to_string(NET_DROP_NO_HANDLER), ==, "no-handler");
	close(fd);
}

static void
test_send_no_socket(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	VpndAddr local = addr_port("127.0.0.1", 1), remote = addr_port("127.0.0.1", 9);

	/* neither the IKE nor the NAT-T port */
	g_assert_false(
		net_service_send_ike(f->net, &local, &remote, (const guint8 *)"x", 1, &error));
	g_assert_error(error, NET_ERROR, NET_ERROR_NO_SOCKET);
	g_clear_error(&error);
	/* an IPv6 source for an IPv4 peer */
	local = addr_port("::1", net_service_get_port(f->net));
	g_assert_false(
		net_service_send_ike(f->net, &local, &remote, (const guint8 *)"x", 1, &error));
	g_assert_error(error, NET_ERROR, NET_ERROR_NO_SOCKET);
	local.port = net_service_get_port_nat_t(f->net);
	g_assert_false(net_service_send_esp(f->net, &local, &remote, (const guint8 *)"x", 1));
	/* ESP never leaves from the IKE port, where the peer would take it for IKE */
	local = addr_port("127.0.0.1", net_service_get_port(f->net));
	g_assert_false(net_service_send_esp(f->net, &local, &remote, (const guint8 *)"x", 1));
	g_assert_cmpuint(counters(f).dropped[NET_DROP_NO_SOCKET], ==, 4);
	g_assert_cmpuint(counters(f).sent, ==, 0);
}

/* A service bound to 127.0.0.1 only sends from there: a request for ::1 finds no socket. */
static void
test_specific_address(void)
{
	Fixture f = { 0 };
	g_autoptr(GError) error = NULL;
	VpndAddr v6 = addr_port("::1", 9);

	fixture_init(&f, "127.0.0.1");
	exchange(&f, "127.0.0.2", "127.0.0.1", FALSE);
	exchange(&f, "127.0.0.2", "127.0.0.1", TRUE);
	g_assert_false(net_service_send_ike(f.net, NULL, &v6, (const guint8 *)"x", 1, &error));
	g_assert_error(error, NET_ERROR, NET_ERROR_NO_SOCKET);
	fixture_teardown(&f, NULL);
}

/* ---- kernel provider hooks ---- */

struct VpndKernel {
	GArray *bypass;    /* fds */
	GArray *udp_encap; /* fds */
	guint esp_inputs;
	VpndAddr esp_src, esp_dst;
	gboolean fail_encap;
};

static gboolean
fake_bypass(VpndKernel *k, int fd, int family, GError **error)
{
	g_array_append_val(k->bypass, fd);
	return TRUE;
}

static gboolean
fake_encap(VpndKernel *k, int fd, int family, GError **error)
{
	if (k->fail_encap) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED, "no encap");
		return FALSE;
	}
	g_array_append_val(k->udp_encap, fd);
	return TRUE;
}

static void
fake_esp_input(VpndKernel *k, const VpndAddr *src, const VpndAddr *dst, guint8 *data, gsize len)
{
	k->esp_inputs++;
	k->esp_src = *src;
	k->esp_dst = *dst;
}

static const VpndKernelOps fake_ops = {
	.bypass_socket = fake_bypass,
	.enable_udp_encap = fake_encap,
	.esp_input = fake_esp_input,
};

static guint16
fd_port(int fd)
{
	return peer_addr(fd).port;
}

static void
test_kernel_hooks(void)
{
	static const guint8 esp[] = { 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1 };
	struct VpndKernel k = { 0 };
	g_autoptr(NetConfig) config = net_config_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(NetService) net = NULL;
	NetCounters c;
	VpndAddr to;
	int fd;

	k.bypass = g_array_new(FALSE, FALSE, sizeof(int));
	k.udp_encap = g_array_new(FALSE, FALSE, sizeof(int));
	config->port = config->port_nat_t = 0;
	g_assert_true(net_config_set_addresses(config, "127.0.0.1 ::1", NULL));
	net = net_service_new(config, &fake_ops, &k, &error);
	g_assert_no_error(error);
	/* every socket bypasses IPsec, the two NAT-T ones get UDP encapsulation */
	g_assert_cmpuint(k.bypass->len, ==, 4);
	g_assert_cmpuint(k.udp_encap->len, ==, 2);
	for (guint i = 0; i < k.udp_encap->len; i++)
		g_assert_cmpuint(fd_port(g_array_index(k.udp_encap, int, i)), ==,
				 net_service_get_port_nat_t(net));

	/* without a handler of its own, ESP goes to the provider */
	fd = peer_open("::1");
	to = addr_port("::1", net_service_get_port_nat_t(net));
	peer_send(fd, &to, esp, sizeof(esp));
	wait_count(&k.esp_inputs, 1);
	assert_addr(&k.esp_dst, &to);
	VpndAddr peer = peer_addr(fd);
	assert_addr(&k.esp_src, &peer);
	net_service_get_counters(net, &c);
	g_assert_cmpuint(c.received_esp, ==, 1);
	close(fd);
	g_clear_pointer(&net, net_service_free);

	/* a provider that refuses fails the whole service, naming the socket */
	k.fail_encap = TRUE;
	net = net_service_new(config, &fake_ops, &k, &error);
	g_assert_null(net);
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED);
	g_assert_true(g_str_has_prefix(error->message, "UDP encapsulation on 127.0.0.1:"));
	g_array_unref(k.bypass);
	g_array_unref(k.udp_encap);
}

/* ---- bind failures ---- */

static void
test_bind_in_use(void)
{
	int fd = peer_open("127.0.0.1");
	guint16 port = fd_port(fd);
	g_autoptr(NetConfig) config = net_config_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(NetService) net = NULL;
	g_autofree char *want = NULL;

	config->port = port;
	config->port_nat_t = 0;
	g_assert_true(net_config_set_addresses(config, "127.0.0.1", NULL));
	net = net_service_new(config, NULL, NULL, &error);
	g_assert_null(net);
	g_assert_error(error, NET_ERROR, NET_ERROR_BIND);
	want = g_strdup_printf("cannot bind UDP 127.0.0.1 port %u: address already in use: "
			       "another IKE daemon (charon?) running?",
			       port);
	g_assert_cmpstr(error->message, ==, want);
	close(fd);
}

/* A second daemon on the same ports: the wildcard sockets collide. */
static void
test_bind_second_service(void)
{
	Fixture f = { 0 };
	g_autoptr(NetConfig) config = net_config_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(NetService) second = NULL;

	fixture_init(&f, NULL);
	config->port = net_service_get_port(f.net);
	config->port_nat_t = net_service_get_port_nat_t(f.net);
	second = net_service_new(config, NULL, NULL, &error);
	g_assert_null(second);
	g_assert_error(error, NET_ERROR, NET_ERROR_BIND);
	g_assert_nonnull(strstr(error->message, "0.0.0.0 port"));
	g_assert_nonnull(strstr(error->message, "another IKE daemon (charon?) running?"));
	fixture_teardown(&f, NULL);
}

/* ---- network namespaces ---- */

#define NS_SERVICE_V4_A "10.77.0.1"
#define NS_SERVICE_V4_B "10.77.0.3"
#define NS_SERVICE_V6_A "fd00:77::1"
#define NS_SERVICE_V6_B "fd00:77::3"
#define NS_PEER_V4 "10.77.0.2"
#define NS_PEER_V6 "fd00:77::2"

static char ns_names[2][64];
static char ns_paths[2][128];

/* What `ip netns del` does, in calls that are safe in a signal handler. */
static void
ns_remove_all(void)
{
	for (int i = 0; i < 2; i++) {
		if (!ns_paths[i][0])
			continue;
		umount2(ns_paths[i], MNT_DETACH);
		unlink(ns_paths[i]);
	}
}

static void
on_fatal_signal(int sig)
{
	ns_remove_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void ip(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void
ip(const char *fmt, ...)
{
	g_autofree char *args = NULL;
	g_autofree char *cmd = NULL;
	g_autofree char *err = NULL;
	va_list ap;
	g_autoptr(GError) error = NULL;
	int status;

	va_start(ap, fmt);
	args = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	cmd = g_strdup_printf("ip %s", args);
	g_assert_true(g_spawn_command_line_sync(cmd, NULL, &err, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("%s: %s", cmd, err);
}

/* Named after the test process, so the subprocess finds them by its parent's pid. */
static void
ns_set_names(pid_t owner)
{
	for (int i = 0; i < 2; i++) {
		g_snprintf(ns_names[i], sizeof(ns_names[i]), "vpnd-net-%d-%c", (int)owner, "sp"[i]);
		g_snprintf(ns_paths[i], sizeof(ns_paths[i]), "/run/netns/%s", ns_names[i]);
	}
}

static void
ns_create(void)
{
	const char *svc = ns_names[0], *peer = ns_names[1];

	ip("netns add %s", svc);
	ip("netns add %s", peer);
	ip("-n %s link add vs type veth peer name vp netns %s", svc, peer);
	ip("-n %s link set vs up", svc);
	ip("-n %s link set vp up", peer);
	ip("-n %s addr add " NS_SERVICE_V4_A "/24 dev vs", svc);
	ip("-n %s addr add " NS_SERVICE_V4_B "/24 dev vs", svc);
	/* nodad: usable at once, no waiting for duplicate address detection */
	ip("-n %s addr add " NS_SERVICE_V6_A "/64 dev vs nodad", svc);
	ip("-n %s addr add " NS_SERVICE_V6_B "/64 dev vs nodad", svc);
	ip("-n %s addr add " NS_PEER_V4 "/24 dev vp", peer);
	ip("-n %s addr add " NS_PEER_V6 "/64 dev vp nodad", peer);
}

static void
ns_enter(int which)
{
	int fd = open(ns_paths[which], O_RDONLY | O_CLOEXEC);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(setns(fd, CLONE_NEWNET), ==, 0);
	close(fd);
}

/* In the subprocess: the service in one namespace, its peer in the other. */
static void
netns_body(void)
{
	static const char *const service_ips[] = { NS_SERVICE_V4_A, NS_SERVICE_V4_B,
						   NS_SERVICE_V6_A, NS_SERVICE_V6_B };
	static const guint8 esp[] = { 0xab, 0xcd, 0, 1, 0, 0, 0, 5, 0x42 };
	Fixture f = { 0 };
	VpndAddr from, src;
	int fd;

	ns_enter(0);
	fixture_init(&f, NULL);
	/* sockets keep the namespace they were made in */
	ns_enter(1);
	for (gsize i = 0; i < G_N_ELEMENTS(service_ips); i++) {
		const char *peer = strchr(service_ips[i], ':') ? NS_PEER_V6 : NS_PEER_V4;

		exchange(&f, peer, service_ips[i], FALSE);
		exchange(&f, peer, service_ips[i], TRUE);
	}
	g_assert_cmpuint(counters(&f).received_ike, ==, 8);
	g_assert_cmpuint(counters(&f).sent_ike, ==, 8);

	/* ESP and keepalives leave from the secondary addresses too */
	fd = peer_open(NS_PEER_V4);
	VpndAddr peer = peer_addr(fd);
	src = addr_port(NS_SERVICE_V4_B, net_service_get_port_nat_t(f.net));
	g_assert_true(net_service_send_esp(f.net, &src, &peer, esp, sizeof(esp)));
	g_autoptr(GBytes) got = peer_recv(fd, &from, WAIT_MS);
	assert_bytes(got, esp, sizeof(esp));
	assert_addr(&from, &src);
	close(fd);

	fd = peer_open(NS_PEER_V6);
	peer = peer_addr(fd);
	src = addr_port(NS_SERVICE_V6_B, 0);
	net_service_keepalive_add(f.net, &src, &peer, 1);
	src.port = net_service_get_port_nat_t(f.net);
	for (int i = 0; i < WAIT_MS / 100 && !counters(&f).keepalives_sent; i++)
		run_for(100);
	g_assert_cmpuint(counters(&f).keepalives_sent, ==, 1);
	g_autoptr(GBytes) ka = peer_recv(fd, &from, WAIT_MS);
	assert_bytes(ka, "\xff", 1);
	assert_addr(&from, &src);
	close(fd);
	fixture_teardown(&f, NULL);
}

static const int fatal_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGABRT, SIGTRAP, SIGSEGV };

static void
test_netns(void)
{
	struct sigaction sa = { .sa_handler = on_fatal_signal };

	if (g_test_subprocess()) {
		ns_set_names(getppid());
		netns_body();
		return;
	}
	ns_set_names(getpid());
	/* a failed assertion aborts: the namespaces go first, then the signal does its job */
	for (gsize i = 0; i < G_N_ELEMENTS(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, NULL);
	ns_create();
	g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC,
			       G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
	ns_remove_all();
	g_assert_false(g_file_test(ns_paths[0], G_FILE_TEST_EXISTS));
	g_test_trap_assert_passed();
}

int
main(int argc, char **argv)
{
	gboolean netns = FALSE, subprocess = FALSE;

	for (int i = 1; i < argc; i++) {
		subprocess |= g_str_equal(argv[i], "--GTestSubprocess");
		if (g_str_equal(argv[i], "--netns")) {
			netns = TRUE;
			memmove(&argv[i], &argv[i + 1], (argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	}
	if (netns && geteuid() != 0) {
		g_printerr("test-net --netns: needs root for network namespaces\n");
		return 77;
	}
	g_test_init(&argc, &argv, NULL);
	if (netns || subprocess)
		g_test_add_func("/net/netns/reply-from-each-address", test_netns);
	if (netns)
		return g_test_run();

#define ADD(path, fn)                                                                              \
	g_test_add("/net/lo/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("ike-reply-from-local-address", test_ike_reply_from_local_address);
	ADD("nat-t-marker", test_nat_t_marker);
	ADD("keepalive-counted", test_keepalive_counted);
	ADD("esp-in", test_esp_in);
	ADD("esp-out", test_esp_out);
	ADD("esp-batch-out", test_esp_batch_out);
	ADD("esp-batch-in", test_esp_batch_in);
	ADD("keepalive-interval", test_keepalive_interval);
	ADD("burst-bounded", test_burst_bounded);
	ADD("malformed-dropped", test_malformed_dropped);
	ADD("send-no-socket", test_send_no_socket);
#undef ADD
	g_test_add_func("/net/lo/specific-address", test_specific_address);
	g_test_add_func("/net/lo/kernel-hooks", test_kernel_hooks);
	g_test_add_func("/net/bind/in-use", test_bind_in_use);
	g_test_add_func("/net/bind/second-service", test_bind_second_service);
	return g_test_run();
}
