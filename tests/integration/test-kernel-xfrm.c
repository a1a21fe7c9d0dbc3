/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel-xfrm plugin against this machine's kernel, in a network namespace of the
 * test's own (unshare at start: the kernel drops it, policies and all, when we exit).
 * This kernel takes XFRM policies and SPI allocations but may lack ESP, so SAs carrying
 * traffic are tested in the VM (tests/vm/); here SA installation must either work or
 * fail with the message that tells the operator what to do.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <glib.h>
#include <vpnd/crypto.h>
#include <vpnd/kernel.h>
#include "config/settings.h"
#include "core/host.h"
#include "core/plugin_loader.h"

#define EVENT_TIMEOUT_US (3 * G_USEC_PER_SEC)
/* plugins.kernel-xfrm.owner_mark when not set */
#define OWNER_MARK 0x01000000u

static VpndHost *host;
static PluginLoader *loader;
static const VpndKernelOps *ops;
static GPtrArray *warnings; /* knl warnings logged, newest last */
static GPtrArray *messages; /* and messages */

static GLogWriterOutput
capture_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
	if (level & G_LOG_LEVEL_MESSAGE) {
		for (gsize i = 0; i < n_fields; i++)
			if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
				g_ptr_array_add(messages, g_strdup(fields[i].value));
	}
	if (level & G_LOG_LEVEL_WARNING) {
		for (gsize i = 0; i < n_fields; i++)
			if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
				g_ptr_array_add(warnings, g_strdup(fields[i].value));
		return G_LOG_WRITER_HANDLED;
	}
	return g_log_writer_default(level, fields, n_fields, data);
}

/* `ip ARGS` in our namespace; its stdout. */
static char *
ip(const char *args)
{
	g_autofree char *cmd = g_strdup_printf("ip %s", args);
	g_autofree char *err = NULL;
	g_autoptr(GError) error = NULL;
	char *out = NULL;
	int status;

	g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("%s failed: %s", cmd, err);
	return out;
}

/* Entries in `ip xfrm state|policy` output: each starts with "src " at column 0. */
static guint
count_entries(const char *what)
{
	g_autofree char *cmd = g_strdup_printf("xfrm %s", what);
	g_autofree char *out = ip(cmd);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	guint n = 0;

	for (guint i = 0; lines[i]; i++)
		n += g_str_has_prefix(lines[i], "src ");
	return n;
}

static VpndAddr
addr(const char *text)
{
	VpndAddr a = { .family = strchr(text, ':') ? AF_INET6 : AF_INET };

	g_assert_cmpint(inet_pton(a.family, text, a.addr), ==, 1);
	return a;
}

/* A prefix as a traffic selector, any protocol and port. */
static VpndTs
ts(const char *prefix, guint plen)
{
	VpndAddr a = addr(prefix);
	VpndTs t = { .family = a.family, .to_port = 0xffff };
	guint len = a.family == AF_INET ? 4 : 16;

	memcpy(t.from, a.addr, len);
	memcpy(t.to, a.addr, len);
	for (guint b = plen; b < len * 8; b++)
		t.to[b / 8] |= 0x80 >> (b % 8);
	return t;
}

static VpndKernel *
open_kernel(const VpndKernelEvents *events, gpointer data)
{
	g_autoptr(GError) error = NULL;
	VpndKernel *k = ops->open(host, events, data, &error);

	g_assert_no_error(error);
	g_assert_nonnull(k);
	return k;
}

static VpndPolicyParams
tunnel_policy(VpndDirection dir, const char *lnet, const char *rnet, guint plen, const char *local,
	      const char *remote, guint32 reqid)
{
	gboolean out = dir == VPND_DIR_OUT;
	VpndPolicyParams p = {
		.dir = dir,
		.action = VPND_POLICY_PROTECT,
		.mode = VPND_MODE_TUNNEL,
		.reqid = reqid,
		.src_ts = ts(out ? lnet : rnet, plen),
		.dst_ts = ts(out ? rnet : lnet, plen),
		.src = addr(out ? local : remote),
		.dst = addr(out ? remote : local),
	};
	return p;
}

static void
add_tunnel_policies(VpndKernel *k, const char *lnet, const char *rnet, guint plen,
		    const char *local, const char *remote, guint32 reqid)
{
	static const VpndDirection dirs[] = { VPND_DIR_OUT, VPND_DIR_IN, VPND_DIR_FWD };

	for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
		g_autoptr(GError) error = NULL;
		VpndPolicyParams p = tunnel_policy(dirs[i], lnet, rnet, plen, local, remote, reqid);

		g_assert_true(ops->add_policy(k, &p, &error));
		g_assert_no_error(error);
	}
}

static void
test_policy_add_del(void)
{
	VpndKernel *k = open_kernel(NULL, NULL);
	g_autoptr(GError) error = NULL;
	VpndPolicyParams p;

	add_tunnel_policies(k, "10.1.0.0", "10.2.0.0", 24, "192.0.2.1", "192.0.2.2", 1);
	add_tunnel_policies(k, "fd00:1::", "fd00:2::", 64, "2001:db8::1", "2001:db8::2", 2);
	g_assert_cmpuint(count_entries("policy"), ==, 6);

	p = tunnel_policy(VPND_DIR_OUT, "10.1.0.0", "10.2.0.0", 24, "192.0.2.1", "192.0.2.2", 1);
	g_assert_false(ops->add_policy(k, &p, &error));
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_EXISTS);
	g_clear_error(&error);

	g_assert_true(ops->del_policy(k, &p, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(count_entries("policy"), ==, 5);
	g_assert_false(ops->del_policy(k, &p, &error));
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND);

	ops->close(k);
	g_assert_cmpuint(count_entries("policy"), ==, 0);
}

/*
 * Route-based: an outbound policy with an if_id routes its remote selector into that
 * XFRM interface (protocol 118), the route goes with the policy, an administrator's
 * route is kept, and no interface for the if_id fails the policy with a clear error.
 */
static void
test_policy_route(void)
{
	VpndKernel *k = open_kernel(NULL, NULL);
	g_autoptr(GError) error = NULL;
	g_autofree char *routes = NULL;
	VpndPolicyParams p =
		tunnel_policy(VPND_DIR_OUT, "10.1.0.0", "10.2.0.0", 24, "192.0.2.1", "192.0.2.2", 7);
	VpndPolicyParams in = p;
	guint warnings_before;
	int status = 1;

	/* this machine's kernel has no XFRM interfaces; the VM suite runs this case */
	g_assert_true(g_spawn_command_line_sync("ip link add xrt42 type xfrm dev xv0 if_id 42",
						NULL, NULL, &status, NULL));
	if (!g_spawn_check_wait_status(status, NULL)) {
		ops->close(k);
		g_test_skip("no XFRM interfaces in this kernel (xfrm_interface)");
		return;
	}
	g_free(ip("link set xrt42 up"));
	warnings_before = warnings->len;
	p.if_id = in.if_id = 42;
	in.dir = VPND_DIR_IN;
	g_assert_true(ops->add_policy(k, &p, &error));
	g_assert_no_error(error);
	g_assert_true(ops->add_policy(k, &in, &error));
	routes = ip("route show proto 118");
	g_assert_cmpstr(routes, ==, "10.2.0.0/24 dev xrt42 scope link \n");
	g_assert_true(ops->del_policy(k, &p, &error));
	g_clear_pointer(&routes, g_free);
	routes = ip("route show proto 118");
	g_assert_cmpstr(routes, ==, "");

	/* the administrator's route for the prefix stays, before and after */
	g_free(ip("route add 10.2.0.0/24 dev xrt42"));
	g_assert_true(ops->add_policy(k, &p, &error));
	g_assert_true(ops->del_policy(k, &p, &error));
	g_clear_pointer(&routes, g_free);
	routes = ip("route show 10.2.0.0/24");
	g_assert_nonnull(strstr(routes, "dev xrt42"));
	g_free(ip("route del 10.2.0.0/24 dev xrt42"));
	/* every route request was answered (none waited out its timeout, none failed) */
	g_assert_cmpuint(warnings->len, ==, warnings_before);

	p.if_id = 43;
	g_assert_false(ops->add_policy(k, &p, &error));
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "if_id 43"));
	g_assert_cmpuint(count_entries("policy"), ==, 1);
	ops->close(k);
	g_assert_cmpuint(count_entries("policy"), ==, 0);
	g_free(ip("link del xrt42"));
}

/* The "priority N" of the one policy whose listing starts with @head. */
static guint
policy_priority(const char *head)
{
	g_autofree char *out = ip("xfrm policy");
	const char *at = strstr(out, head);
	const char *prio;

	g_assert_nonnull(at);
	prio = strstr(at, "priority ");
	g_assert_nonnull(prio);
	return (guint)g_ascii_strtoull(prio + strlen("priority "), NULL, 10);
}

static void
test_policy_priority(void)
{
	VpndKernel *k = open_kernel(NULL, NULL);
	g_autoptr(GError) error = NULL;
	VpndPolicyParams wide =
		tunnel_policy(VPND_DIR_OUT, "0.0.0.0", "0.0.0.0", 0, "192.0.2.1", "192.0.2.2", 3);
	VpndPolicyParams net = tunnel_policy(VPND_DIR_OUT, "10.1.0.0", "10.2.0.0", 24, "192.0.2.1",
					     "192.0.2.2", 3);
	VpndPolicyParams host_port = tunnel_policy(VPND_DIR_OUT, "10.1.0.5", "10.2.0.7", 32,
						   "192.0.2.1", "192.0.2.2", 3);
	guint pw, pn, ph;

	host_port.src_ts.ip_proto = host_port.dst_ts.ip_proto = IPPROTO_UDP;
	host_port.dst_ts.from_port = host_port.dst_ts.to_port = 53;
	g_assert_true(ops->add_policy(k, &wide, &error));
	g_assert_true(ops->add_policy(k, &net, &error));
	g_assert_true(ops->add_policy(k, &host_port, &error));
	g_assert_no_error(error);
	pw = policy_priority("src 0.0.0.0/0 dst 0.0.0.0/0");
	pn = policy_priority("src 10.1.0.0/24 dst 10.2.0.0/24");
	ph = policy_priority("src 10.1.0.5/32 dst 10.2.0.7/32 proto udp dport 53");
	/* the kernel tries the smallest number first: the most specific must be smallest */
	g_assert_cmpuint(ph, <, pn);
	g_assert_cmpuint(pn, <, pw);

	/* a port range that no XFRM selector can express is refused, not widened */
	net.dst_ts.ip_proto = net.src_ts.ip_proto = IPPROTO_TCP;
	net.dst_ts.from_port = 1000;
	net.dst_ts.to_port = 2000;
	g_assert_false(ops->add_policy(k, &net, &error));
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED);
	ops->close(k);
	g_assert_cmpuint(count_entries("policy"), ==, 0);
}

static void
test_spi(void)
{
	VpndKernel *k = open_kernel(NULL, NULL);
	g_autoptr(GError) error = NULL;
	VpndAddr local = addr("192.0.2.1"), remote = addr("192.0.2.2");
	VpndAddr local6 = addr("2001:db8::1"), remote6 = addr("2001:db8::2");
	guint32 a = 0, b = 0, c = 0;

	g_assert_true(ops->get_spi(k, &remote, &local, IPPROTO_ESP, &a, &error));
	g_assert_true(ops->get_spi(k, &remote, &local, IPPROTO_ESP, &b, &error));
	g_assert_true(ops->get_spi(k, &remote6, &local6, IPPROTO_ESP, &c, &error));
	g_assert_no_error(error);
	g_assert_cmphex(a, >=, 0x100);
	g_assert_cmphex(a, !=, b);
	g_assert_cmphex(c, >=, 0x100);
	/* each sits in the kernel as a larval SA until add_sa fills it in */
	g_assert_cmpuint(count_entries("state"), ==, 3);
	ops->close(k);
	g_assert_cmpuint(count_entries("state"), ==, 0);
}

static VpndSaParams
gcm_sa(guint32 spi, const guint8 *key)
{
	VpndSaParams p = {
		.spi = spi,
		.protocol = IPPROTO_ESP,
		.dir = VPND_DIR_IN,
		.mode = VPND_MODE_TUNNEL,
		.reqid = 5,
		.src = addr("192.0.2.2"),
		.dst = addr("192.0.2.1"),
		.encr_id = VPND_ENCR_AES_GCM_16,
		.encr_key_bits = 256,
		.encr_key = key,
		.encr_key_len = 36,
	};
	return p;
}

/* Without ESP the error and the log line name the cause and the way out. */
static void
assert_no_esp_error(const GError *error)
{
	g_assert_nonnull(error);
	g_test_message("%s", error->message);
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED);
	g_assert_nonnull(strstr(error->message, "lacks ESP"));
	g_assert_nonnull(strstr(error->message, "kernel-tun"));
	g_assert_cmpuint(warnings->len, >, 0);
	g_assert_cmpstr(g_ptr_array_index(warnings, warnings->len - 1), ==, error->message);
}

static void
test_sa_without_esp(void)
{
	VpndKernel *k = open_kernel(NULL, NULL);
	g_autoptr(GError) error = NULL;
	guint8 key[36];
	VpndSaParams p;
	VpndSaId id = { .protocol = IPPROTO_ESP, .dst = addr("192.0.2.1") };
	guint32 spi = 0;
	gboolean ok;

	memset(key, 0x5a, sizeof(key));
	/* an SPI of ours: add_sa fills in its larval SA */
	g_assert_true(ops->get_spi(k, &id.dst, &id.dst, IPPROTO_ESP, &spi, &error));
	p = gcm_sa(spi, key);
	ok = ops->add_sa(k, &p, &error);
	if (ok) {
		VpndSaStats stats;

		g_test_message("this kernel has ESP: the SA must be installed");
		g_assert_no_error(error);
		id.spi = spi;
		g_assert_true(ops->query_sa(k, &id, &stats, &error));
		g_assert_cmpuint(stats.packets, ==, 0);
		g_assert_true(ops->del_sa(k, &id, &error));
	} else {
		g_assert_false(ok);
		assert_no_esp_error(error);
		g_clear_error(&error);
		/* and an SA with an SPI of the peer's choice (NEWSA) says the same */
		p = gcm_sa(0x1234, key);
		g_assert_false(ops->add_sa(k, &p, &error));
		assert_no_esp_error(error);
	}
	ops->close(k);
	g_assert_cmpuint(count_entries("state"), ==, 0);
}

static void
test_sa_unsupported_alg(void)
{
	VpndKernel *k = open_kernel(NULL, NULL);
	g_autoptr(GError) error = NULL;
	guint8 key[32] = { 0 };
	VpndSaParams p = gcm_sa(0x4321, key);

	p.encr_id = VPND_ENCR_AES_CBC; /* and no integrity transform */
	p.encr_key_len = 32;
	g_assert_false(ops->add_sa(k, &p, &error));
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED);
	g_clear_error(&error);
	/* the owner bit is ours alone */
	p = gcm_sa(0x4321, key);
	p.mark = p.mark_mask = OWNER_MARK;
	g_assert_false(ops->add_sa(k, &p, &error));
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED);
	ops->close(k);
}

/* Asking about an SA that is not there says so, with the code the daemon can act on. */
static void
test_sa_not_found(void)
{
	VpndKernel *k = open_kernel(NULL, NULL);
	g_autoptr(GError) error = NULL;
	VpndSaId id = { .spi = 0x7777, .protocol = IPPROTO_ESP, .dst = addr("192.0.2.1") };
	VpndAddr src = addr("192.0.2.3"), dst = addr("192.0.2.1");
	VpndSaStats stats;

	g_assert_false(ops->query_sa(k, &id, &stats, &error));
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(ops->del_sa(k, &id, &error));
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(ops->update_sa(k, &id, &src, &dst, &error));
	g_assert_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND);
	ops->close(k);
}

/* A vpnd that installs a policy and an SPI, then dies without close(): SIGKILL. */
static void
crash_after_install(void)
{
	pid_t pid = fork();
	int status = 0;

	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		VpndKernel *k = ops->open(host, NULL, NULL, NULL);
		VpndPolicyParams p = tunnel_policy(VPND_DIR_OUT, "10.7.0.0", "10.8.0.0", 24,
						   "192.0.2.1", "192.0.2.2", 9);
		VpndAddr local = addr("192.0.2.1"), remote = addr("192.0.2.2");
		guint32 spi;

		if (k && ops->add_policy(k, &p, NULL) &&
		    ops->get_spi(k, &remote, &local, IPPROTO_ESP, &spi, NULL))
			kill(getpid(), SIGKILL);
		_exit(1);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);
}

/*
 * What a killed vpnd left (entries carrying our owner mark) goes at open; what others
 * installed (no mark, or another mark) stays, also across close.
 */
static void
test_stale_entries(void)
{
	VpndKernel *k;
	g_autofree char *c = NULL, *d = NULL, *left = NULL;

	crash_after_install();
	c = ip("xfrm policy add src 10.9.0.0/24 dst 10.10.0.0/24 dir out "
	       "tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 10 mode tunnel");
	d = ip("xfrm policy add src 10.11.0.0/24 dst 10.12.0.0/24 dir out mark 0x5 mask 0xff "
	       "tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 11 mode tunnel");
	g_assert_cmpuint(count_entries("policy"), ==, 3);
	g_assert_cmpuint(count_entries("state"), ==, 1);

	k = open_kernel(NULL, NULL);
	g_assert_cmpuint(count_entries("policy"), ==, 2);
	g_assert_cmpuint(count_entries("state"), ==, 0);
	ops->close(k);
	left = ip("xfrm policy");
	g_assert_nonnull(strstr(left, "src 10.9.0.0/24"));
	g_assert_nonnull(strstr(left, "src 10.11.0.0/24"));
	g_free(ip("xfrm policy flush"));
	g_assert_cmpuint(count_entries("policy"), ==, 0);
}

static void
test_sockets(void)
{
	VpndKernel *k = open_kernel(NULL, NULL);
	static const int families[] = { AF_INET, AF_INET6 };

	for (gsize i = 0; i < G_N_ELEMENTS(families); i++) {
		g_autoptr(GError) error = NULL;
		int fd = socket(families[i], SOCK_DGRAM | SOCK_CLOEXEC, 0);

		g_assert_cmpint(fd, >=, 0);
		g_assert_true(ops->bypass_socket(k, fd, families[i], &error));
		g_assert_true(ops->enable_udp_encap(k, fd, families[i], &error));
		g_assert_no_error(error);
		close(fd);
	}
	ops->close(k);
}

typedef struct {
	guint n;
	guint32 reqid;
	VpndTs src, dst;
} Acquired;

static void
on_acquire(gpointer user_data, guint32 reqid, const VpndTs *src, const VpndTs *dst)
{
	Acquired *a = user_data;

	a->n++;
	a->reqid = reqid;
	a->src = *src;
	a->dst = *dst;
}

/*
 * A packet hitting a trap policy reaches the daemon as ACQUIRE, through the main loop.
 * (Not over lo: the kernel never applies XFRM to loopback traffic.)
 */
static void
test_acquire(void)
{
	static const VpndKernelEvents events = { .acquire = on_acquire };
	Acquired got = { 0 };
	VpndKernel *k = open_kernel(&events, &got);
	g_autoptr(GError) error = NULL;
	VpndPolicyParams trap = tunnel_policy(VPND_DIR_OUT, "192.0.2.1", "198.51.100.7", 32,
					      "192.0.2.1", "192.0.2.2", 7);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	VpndAddr want = addr("198.51.100.7");
	gint64 deadline = g_get_monotonic_time() + EVENT_TIMEOUT_US;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	trap.action = VPND_POLICY_TRAP;
	g_assert_true(ops->add_policy(k, &trap, &error));
	g_assert_no_error(error);
	inet_pton(AF_INET, "198.51.100.7", &to.sin_addr);
	/* held or dropped while the SA is negotiated: only the ACQUIRE matters here */
	(void)sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	while (!got.n && g_get_monotonic_time() < deadline) {
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(10000);
	}
	g_assert_cmpuint(got.n, ==, 1);
	g_assert_cmpuint(got.reqid, ==, 7);
	g_assert_cmpmem(got.dst.from, 4, want.addr, 4);
	g_assert_cmpmem(got.dst.to, 4, want.addr, 4);
	ops->close(k);
	g_assert_cmpuint(count_entries("policy"), ==, 0);
	/*
	 * The kernel's larval SA for the ACQUIRE (SPI 0) is not ours to delete (DELSA finds
	 * SAs by SPI); it expires by itself after net.core.xfrm_acq_expires seconds.
	 */
	g_assert_cmpuint(count_entries("state"), ==, 1);
	g_free(ip("xfrm state flush"));
}

static void
setup_namespace(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		g_error("unshare(CLONE_NEWNET): %s", g_strerror(errno));
	g_free(ip("link set lo up"));
	/* a link that XFRM applies to, towards 198.51.100.0/24 through 192.0.2.2 */
	g_free(ip("link add xv0 type veth peer name xv1"));
	g_free(ip("addr add 192.0.2.1/24 dev xv0"));
	g_free(ip("link set xv0 up"));
	g_free(ip("link set xv1 up"));
	g_free(ip("route add 198.51.100.0/24 via 192.0.2.2"));
}

/* Whether this kernel takes an ESP SA, asked with iproute2 rather than the plugin. */
static gboolean
iproute_installs_esp(void)
{
	int status = 1;

	g_assert_true(g_spawn_command_line_sync(
		"ip xfrm state add src 127.0.0.1 dst 127.0.0.1 proto esp spi 0x4242 "
		"mode transport enc ecb(cipher_null) \"\"",
		NULL, NULL, &status, NULL));
	if (!g_spawn_check_wait_status(status, NULL))
		return FALSE;
	g_free(ip("xfrm state delete src 127.0.0.1 dst 127.0.0.1 proto esp spi 0x4242"));
	return TRUE;
}

/*
 * Both kernel providers loaded, the probe on: kernel-xfrm offers itself only where the
 * kernel has ESP, otherwise says so and kernel-tun wins; the probe leaves nothing behind.
 */
static void
test_probe(void)
{
	g_autoptr(VpndHost) probe_host = host_new();
	PluginLoader *probe_loader = plugin_loader_new(probe_host);
	const char *dir = g_getenv("VPND_PLUGIN_BUILDDIR");
	gboolean esp = iproute_installs_esp();
	g_autoptr(GError) error = NULL;
	const HostProvider *best;
	g_autofree char *states = NULL;
	guint before = messages->len;
	gboolean said = FALSE;

	g_test_message("this kernel %s ESP", esp ? "has" : "lacks");
	g_assert_true(plugin_loader_load_one(probe_loader, dir, "kernel-xfrm", &error));
	g_assert_true(plugin_loader_load_one(probe_loader, dir, "kernel-tun", &error));
	best = host_get_best(probe_host, VPND_PROVIDER_KERNEL);
	g_assert_nonnull(best);
	g_assert_cmpstr(best->plugin, ==, esp ? "kernel-xfrm" : "kernel-tun");
	for (guint i = before; i < messages->len; i++) {
		const char *m = g_ptr_array_index(messages, i);

		said |= strstr(m, "no ESP") && strstr(m, "load kernel-tun");
	}
	g_assert_true(said == !esp);
	states = ip("xfrm state");
	g_assert_cmpstr(states, ==, "");
	plugin_loader_free(probe_loader);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	static const char probe_off[] = "plugins {\n kernel-xfrm {\n probe = no\n }\n}\n";
	g_autoptr(Settings) settings = NULL;
	const HostProvider *provider;
	int ret;

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root for a network namespace\n");
		return 77;
	}
	g_test_init(&argc, &argv, NULL);
	warnings = g_ptr_array_new_with_free_func(g_free);
	messages = g_ptr_array_new_with_free_func(g_free);
	g_log_set_writer_func(capture_writer, NULL, NULL);
	setup_namespace();

	host = host_new();
	/* the tests below install policies, which any kernel with XFRM takes */
	settings = settings_new();
	if (!settings_load_string(settings, probe_off, strlen(probe_off), "test", &error))
		g_error("%s", error->message);
	host_set_settings(host, settings);
	loader = plugin_loader_new(host);
	if (!plugin_loader_load_one(loader, g_getenv("VPND_PLUGIN_BUILDDIR"), "kernel-xfrm",
				    &error))
		g_error("%s", error->message);
	provider = host_get_best(host, VPND_PROVIDER_KERNEL);
	g_assert_nonnull(provider);
	ops = provider->ops;

	g_test_add_func("/kernel-xfrm/probe", test_probe);
	g_test_add_func("/kernel-xfrm/policy/add-del", test_policy_add_del);
	g_test_add_func("/kernel-xfrm/policy/priority", test_policy_priority);
	g_test_add_func("/kernel-xfrm/policy/route", test_policy_route);
	g_test_add_func("/kernel-xfrm/spi", test_spi);
	g_test_add_func("/kernel-xfrm/sa/without-esp", test_sa_without_esp);
	g_test_add_func("/kernel-xfrm/sa/unsupported", test_sa_unsupported_alg);
	g_test_add_func("/kernel-xfrm/sa/not-found", test_sa_not_found);
	g_test_add_func("/kernel-xfrm/stale-entries", test_stale_entries);
	g_test_add_func("/kernel-xfrm/sockets", test_sockets);
	g_test_add_func("/kernel-xfrm/acquire", test_acquire);
	ret = g_test_run();

	plugin_loader_free(loader);
	host_free(host);
	g_ptr_array_unref(warnings);
	g_ptr_array_unref(messages);
	return ret;
}
