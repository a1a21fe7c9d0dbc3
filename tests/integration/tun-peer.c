/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One end of a kernel-tun tunnel without IKE, for test-kernel-tun.sh: loads the real
 * crypto-gnutls and kernel-tun plugins, binds UDP 4500 on --local, installs a pair of
 * SAs with fixed keys (derived from each SPI, so the mirrored peer computes the same)
 * and their policies, and carries ESP in UDP between the plugin and the socket.
 *
 * Commands on stdin, one per line; each answer ends with a line "end":
 *   stats          "counter NAME VALUE" for every counter of the plugin
 *   query in|out   "bytes B packets P last-use-age S drops D" from query_sa
 *   get-spi N      N fresh SPIs from get_spi, "spi XXXXXXXX" each
 *   del-sa in|out  removes that SA ("ok" or "error MESSAGE")
 *   rekey IN OUT   adds a new pair of SAs with these SPIs (hex), which take over
 *   del-old        removes the pair the last rekey replaced
 *   rebind PORT    sends and receives on another UDP port from now on (a NAT rebinding)
 *   quit
 * Events from the plugin come as lines "event expire soft|hard SPI" and
 * "event mapping SPI ADDR PORT" at any time; on a mapping event both SAs follow the
 * peer to its new port with update_sa, as the daemon does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vpnd/crypto.h>
#include <vpnd/kernel.h>

#include "core/host.h"
#include "core/plugin_loader.h"

#define ESP_UDP_PORT 4500
#define REQID 1
#define MAX_DATAGRAM 65536

typedef struct {
	const VpndKernelOps *ops;
	VpndKernel *kernel;
	GMainLoop *loop;
	int sock;
	VpndAddr local, remote;
	guint32 spi_in, spi_out;
	guint32 old_in, old_out; /* after a rekey, until del-old */
	GArray *local_ts, *remote_ts;
	guint udp_source;
	guint8 *buf;
	GString *line;
	guint stdin_source;
} Peer;

static char *opt_local, *opt_remote, *opt_suite = "aes256gcm16", *opt_name = "vpnd0";
static char *opt_spi_in, *opt_spi_out;
static char **opt_local_ts, **opt_remote_ts;
static int opt_mtu = 1400;
static gint64 opt_soft_packets, opt_hard_packets;
static gboolean opt_encap_fd;

static const GOptionEntry entries[] = {
	{ "local", 0, 0, G_OPTION_ARG_STRING, &opt_local, "outer address of this end", "ADDR" },
	{ "remote", 0, 0, G_OPTION_ARG_STRING, &opt_remote, "outer address of the peer", "ADDR" },
	{ "suite", 0, 0, G_OPTION_ARG_STRING, &opt_suite, "aes256gcm16 or aes128-sha256", "S" },
	{ "spi-in", 0, 0, G_OPTION_ARG_STRING, &opt_spi_in, "inbound SPI (hex)", "SPI" },
	{ "spi-out", 0, 0, G_OPTION_ARG_STRING, &opt_spi_out, "outbound SPI (hex)", "SPI" },
	{ "local-ts", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_local_ts, "local subnet", "CIDR" },
	{ "remote-ts", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_remote_ts, "remote subnet", "CIDR" },
	{ "name", 0, 0, G_OPTION_ARG_STRING, &opt_name, "TUN device name", "NAME" },
	{ "mtu", 0, 0, G_OPTION_ARG_INT, &opt_mtu, "TUN MTU", "MTU" },
	{ "encap-fd", 0, 0, G_OPTION_ARG_NONE, &opt_encap_fd,
	  "no send_esp: the plugin sends through the socket (enable_udp_encap)", NULL },
	{ "soft-packets", 0, 0, G_OPTION_ARG_INT64, &opt_soft_packets,
	  "soft packet limit of the outbound SA", "N" },
	{ "hard-packets", 0, 0, G_OPTION_ARG_INT64, &opt_hard_packets,
	  "hard packet limit of the outbound SA", "N" },
	{ NULL }
};

static gboolean
parse_addr(const char *text, guint16 port, VpndAddr *addr)
{
	*addr = (VpndAddr){ .port = port };
	addr->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	return inet_pton(addr->family, text, addr->addr) == 1;
}

static gboolean
parse_ts(const char *cidr, VpndTs *ts)
{
	g_auto(GStrv) parts = g_strsplit(cidr, "/", 2);
	guint8 addr[16];
	guint8 family = strchr(parts[0], ':') ? AF_INET6 : AF_INET;
	guint n = family == AF_INET6 ? 16 : 4;
	guint64 len;

	if (!parts[1] || inet_pton(family, parts[0], addr) != 1 ||
	    !g_ascii_string_to_unsigned(parts[1], 10, 0, n * 8, &len, NULL))
		return FALSE;
	*ts = (VpndTs){ .family = family, .to_port = 0xffff };
	for (guint i = 0; i < n; i++) {
		guint keep = len >= (i + 1) * 8u ? 8 : len > i * 8u ? (guint)(len - i * 8) : 0;
		guint8 mask = (guint8)(0xff00 >> keep);
		ts->from[i] = addr[i] & mask;
		ts->to[i] = (guint8)(addr[i] | ~mask);
	}
	return TRUE;
}

static GArray *
parse_ts_list(char **list)
{
	GArray *array = g_array_new(FALSE, FALSE, sizeof(VpndTs));

	for (guint i = 0; list && list[i]; i++) {
		VpndTs ts;
		if (!parse_ts(list[i], &ts))
			g_error("not a subnet: %s", list[i]);
		g_array_append_val(array, ts);
	}
	return array;
}

static void
sockaddr_from(const VpndAddr *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (addr->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(addr->port);
		memcpy(&sin6->sin6_addr, addr->addr, 16);
		*len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(addr->port);
		memcpy(&sin->sin_addr, addr->addr, 4);
		*len = sizeof(*sin);
	}
}

static void
addr_from(const struct sockaddr_storage *ss, VpndAddr *addr)
{
	*addr = (VpndAddr){ .family = (guint8)ss->ss_family };
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		memcpy(addr->addr, &sin6->sin6_addr, 16);
		addr->port = ntohs(sin6->sin6_port);
	} else {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		memcpy(addr->addr, &sin->sin_addr, 4);
		addr->port = ntohs(sin->sin_port);
	}
}

static void
on_send_esp(gpointer user_data, const VpndAddr *src, const VpndAddr *dst, const guint8 *data,
	    gsize len)
{
	Peer *peer = user_data;
	struct sockaddr_storage ss;
	socklen_t sl;

	sockaddr_from(dst, &ss, &sl);
	if (sendto(peer->sock, data, len, 0, (struct sockaddr *)&ss, sl) < 0)
		g_printerr("sendto: %s\n", g_strerror(errno));
}

static void
on_expire(gpointer user_data, const VpndSaId *sa, VpndExpireKind kind)
{
	printf("event expire %s %08x\n", kind == VPND_EXPIRE_HARD ? "hard" : "soft", sa->spi);
	fflush(stdout);
}

static int open_socket(const VpndAddr *local);
static gboolean on_udp(gint fd, GIOCondition condition, gpointer user_data);

/* The peer's ESP comes from a new address or port: send ours there too. */
static void
follow_peer(Peer *peer, const VpndAddr *moved)
{
	g_autoptr(GError) error = NULL;
	VpndSaId in = { .spi = peer->spi_in, .protocol = IPPROTO_ESP, .dst = peer->local };
	VpndSaId out = { .spi = peer->spi_out, .protocol = IPPROTO_ESP, .dst = peer->remote };

	if (!peer->ops->update_sa(peer->kernel, &in, moved, &peer->local, &error) ||
	    !peer->ops->update_sa(peer->kernel, &out, &peer->local, moved, &error)) {
		printf("event update-failed %s\n", error->message);
	} else {
		peer->remote = *moved;
		printf("event updated\n");
	}
	fflush(stdout);
}

static void
on_mapping(gpointer user_data, const VpndSaId *sa, const VpndAddr *peer)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(peer->family, peer->addr, text, sizeof(text));
	printf("event mapping %08x %s %u\n", sa->spi, text, peer->port);
	fflush(stdout);
	follow_peer(user_data, peer);
}

static gboolean
on_udp(gint fd, GIOCondition condition, gpointer user_data)
{
	Peer *peer = user_data;

	for (guint i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, peer->buf, MAX_DATAGRAM, MSG_DONTWAIT,
				     (struct sockaddr *)&ss, &sl);
		if (n < 0)
			break;
		/* a NAT keepalive (0xff) or IKE behind the non-ESP marker: not ours */
		if (n == 1 || (n >= 4 && memcmp(peer->buf, "\0\0\0\0", 4) == 0))
			continue;
		VpndAddr src;
		addr_from(&ss, &src);
		peer->ops->esp_input(peer->kernel, &src, &peer->local, peer->buf, (gsize)n);
	}
	/* as net/ does after each wakeup */
	if (peer->ops->esp_input_flush)
		peer->ops->esp_input_flush(peer->kernel);
	return G_SOURCE_CONTINUE;
}

/* Fixed key material for one SA: both ends derive it from the SPI. */
static void
test_key(guint32 spi, guint8 salt, guint8 *key, gsize len)
{
	for (gsize i = 0; i < len; i++)
		key[i] = (guint8)(i * 13 + salt + (spi & 0xff) + (spi >> 24));
}

static gboolean
add_sa(Peer *peer, VpndDirection dir, GError **error)
{
	GArray *local_ts = peer->local_ts, *remote_ts = peer->remote_ts;
	guint8 encr_key[36], integ_key[32];
	gboolean gcm = g_strcmp0(opt_suite, "aes256gcm16") == 0;
	guint32 spi = dir == VPND_DIR_IN ? peer->spi_in : peer->spi_out;
	VpndSaParams p = {
		.spi = spi,
		.protocol = IPPROTO_ESP,
		.dir = dir,
		.mode = VPND_MODE_TUNNEL,
		.reqid = REQID,
		.src = dir == VPND_DIR_IN ? peer->remote : peer->local,
		.dst = dir == VPND_DIR_IN ? peer->local : peer->remote,
		.encap = TRUE,
		.encr_key = encr_key,
		.local_ts = (const VpndTs *)local_ts->data,
		.n_local_ts = local_ts->len,
		.remote_ts = (const VpndTs *)remote_ts->data,
		.n_remote_ts = remote_ts->len,
	};

	if (gcm) {
		p.encr_id = VPND_ENCR_AES_GCM_16;
		p.encr_key_bits = 256;
		p.encr_key_len = 36;
	} else if (g_strcmp0(opt_suite, "aes128-sha256") == 0) {
		p.encr_id = VPND_ENCR_AES_CBC;
		p.encr_key_bits = 128;
		p.encr_key_len = 16;
		p.integ_id = VPND_INTEG_HMAC_SHA2_256_128;
		p.integ_key = integ_key;
		p.integ_key_len = 32;
	} else {
		g_error("unknown suite %s", opt_suite);
	}
	if (dir == VPND_DIR_OUT) {
		p.soft.packets = (guint64)opt_soft_packets;
		p.hard.packets = (guint64)opt_hard_packets;
	}
	test_key(spi, 1, encr_key, sizeof(encr_key));
	test_key(spi, 2, integ_key, sizeof(integ_key));
	return peer->ops->add_sa(peer->kernel, &p, error);
}

static gboolean
del_sa(Peer *peer, gboolean in, guint32 spi, GError **error)
{
	VpndSaId id = { .spi = spi,
			.protocol = IPPROTO_ESP,
			.dst = in ? peer->local : peer->remote };

	return peer->ops->del_sa(peer->kernel, &id, error);
}

static void
add_policies(Peer *peer, GArray *local_ts, GArray *remote_ts)
{
	for (guint l = 0; l < local_ts->len; l++) {
		for (guint r = 0; r < remote_ts->len; r++) {
			const VpndTs *lt = &g_array_index(local_ts, VpndTs, l);
			const VpndTs *rt = &g_array_index(remote_ts, VpndTs, r);
			if (lt->family != rt->family)
				continue;
			for (guint d = VPND_DIR_IN; d <= VPND_DIR_OUT; d++) {
				g_autoptr(GError) error = NULL;
				VpndPolicyParams p = {
					.dir = d,
					.action = VPND_POLICY_PROTECT,
					.mode = VPND_MODE_TUNNEL,
					.reqid = REQID,
					.src_ts = d == VPND_DIR_OUT ? *lt : *rt,
					.dst_ts = d == VPND_DIR_OUT ? *rt : *lt,
					.src = d == VPND_DIR_OUT ? peer->local : peer->remote,
					.dst = d == VPND_DIR_OUT ? peer->remote : peer->local,
				};
				if (!peer->ops->add_policy(peer->kernel, &p, &error))
					g_error("add_policy: %s", error->message);
			}
		}
	}
}

static void
print_counter(const char *name, guint64 value, gpointer user_data)
{
	printf("counter %s %" G_GUINT64_FORMAT "\n", name, value);
}

static void
run_command(Peer *peer, const char *cmd)
{
	if (g_strcmp0(cmd, "stats") == 0) {
		peer->ops->foreach_counter(peer->kernel, print_counter, NULL);
	} else if (g_str_has_prefix(cmd, "query ")) {
		g_autoptr(GError) error = NULL;
		gboolean in = g_strcmp0(cmd + 6, "in") == 0;
		VpndSaId id = { .spi = in ? peer->spi_in : peer->spi_out,
				.protocol = IPPROTO_ESP,
				.dst = in ? peer->local : peer->remote };
		VpndSaStats st;
		if (peer->ops->query_sa(peer->kernel, &id, &st, &error))
			printf("bytes %" G_GUINT64_FORMAT " packets %" G_GUINT64_FORMAT
			       " last-use-age %" G_GINT64_FORMAT " drops %" G_GUINT64_FORMAT "\n",
			       st.bytes, st.packets,
			       st.last_use ? g_get_real_time() / G_USEC_PER_SEC - st.last_use : -1,
			       st.drops);
		else
			printf("error %s\n", error->message);
	} else if (g_str_has_prefix(cmd, "get-spi ")) {
		guint64 n = g_ascii_strtoull(cmd + 8, NULL, 10);
		for (guint64 i = 0; i < MIN(n, 100000); i++) {
			g_autoptr(GError) error = NULL;
			guint32 spi;
			if (peer->ops->get_spi(peer->kernel, &peer->remote, &peer->local,
					       IPPROTO_ESP, &spi, &error))
				printf("spi %08x\n", spi);
			else
				printf("error %s\n", error->message);
		}
	} else if (g_str_has_prefix(cmd, "del-sa ")) {
		g_autoptr(GError) error = NULL;
		gboolean in = g_strcmp0(cmd + 7, "in") == 0;
		if (del_sa(peer, in, in ? peer->spi_in : peer->spi_out, &error))
			printf("ok\n");
		else
			printf("error %s\n", error->message);
	} else if (g_str_has_prefix(cmd, "rekey ")) {
		g_autoptr(GError) error = NULL;
		g_auto(GStrv) spis = g_strsplit(cmd + 6, " ", 2);
		peer->old_in = peer->spi_in;
		peer->old_out = peer->spi_out;
		peer->spi_in = (guint32)g_ascii_strtoull(spis[0], NULL, 16);
		peer->spi_out = spis[1] ? (guint32)g_ascii_strtoull(spis[1], NULL, 16) : 0;
		if (add_sa(peer, VPND_DIR_IN, &error) && add_sa(peer, VPND_DIR_OUT, &error))
			printf("ok\n");
		else
			printf("error %s\n", error->message);
	} else if (g_str_has_prefix(cmd, "rebind ")) {
		VpndAddr bind_to = peer->local;
		bind_to.port = (guint16)g_ascii_strtoull(cmd + 7, NULL, 10);
		g_source_remove(peer->udp_source);
		close(peer->sock);
		peer->sock = open_socket(&bind_to);
		peer->udp_source = g_unix_fd_add(peer->sock, G_IO_IN, on_udp, peer);
		g_autoptr(GError) error = NULL;
		if (!opt_encap_fd ||
		    peer->ops->enable_udp_encap(peer->kernel, peer->sock, bind_to.family, &error))
			printf("ok\n");
		else
			printf("error %s\n", error->message);
	} else if (g_strcmp0(cmd, "del-old") == 0) {
		g_autoptr(GError) error = NULL;
		if (del_sa(peer, TRUE, peer->old_in, &error) &&
		    del_sa(peer, FALSE, peer->old_out, &error))
			printf("ok\n");
		else
			printf("error %s\n", error->message);
	} else if (g_strcmp0(cmd, "quit") == 0) {
		g_main_loop_quit(peer->loop);
	} else if (*cmd) {
		printf("error unknown command %s\n", cmd);
	}
	printf("end\n");
	fflush(stdout);
}

static gboolean
on_stdin(gint fd, GIOCondition condition, gpointer user_data)
{
	Peer *peer = user_data;
	char chunk[256];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n <= 0) {
		g_main_loop_quit(peer->loop);
		peer->stdin_source = 0;
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(peer->line, chunk, n);
	char *nl;
	while ((nl = strchr(peer->line->str, '\n'))) {
		g_autofree char *cmd = g_strndup(peer->line->str, (gsize)(nl - peer->line->str));
		g_string_erase(peer->line, 0, nl - peer->line->str + 1);
		run_command(peer, g_strstrip(cmd));
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
on_signal(gpointer user_data)
{
	g_main_loop_quit(((Peer *)user_data)->loop);
	return G_SOURCE_CONTINUE;
}

static int
open_socket(const VpndAddr *local)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;
	int fd = socket(local->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		g_error("socket: %s", g_strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sockaddr_from(local, &ss, &sl);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		g_error("bind to port %u: %s", local->port, g_strerror(errno));
	return fd;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("- one end of a kernel-tun test");
	g_autoptr(GError) error = NULL;
	const char *dir = g_getenv("VPND_PLUGIN_BUILDDIR");
	Peer peer = { 0 };

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || !opt_local || !opt_remote ||
	    !opt_spi_in || !opt_spi_out || !dir) {
		g_printerr("%s\nusage: VPND_PLUGIN_BUILDDIR=… tun-peer --local A --remote B "
			   "--spi-in X --spi-out Y --local-ts CIDR --remote-ts CIDR\n",
			   error ? error->message : "missing arguments");
		return 2;
	}
	if (!parse_addr(opt_local, ESP_UDP_PORT, &peer.local) ||
	    !parse_addr(opt_remote, ESP_UDP_PORT, &peer.remote)) {
		g_printerr("bad address\n");
		return 2;
	}
	peer.spi_in = (guint32)g_ascii_strtoull(opt_spi_in, NULL, 16);
	peer.spi_out = (guint32)g_ascii_strtoull(opt_spi_out, NULL, 16);

	g_autoptr(Settings) settings = settings_new();
	g_autofree char *conf = g_strdup_printf(
		"plugins {\n kernel-tun {\n  name = %s\n  mtu = %d\n }\n}\n", opt_name, opt_mtu);
	if (!settings_load_string(settings, conf, strlen(conf), "tun-peer", &error))
		g_error("settings: %s", error->message);
	g_autoptr(VpndHost) host = host_new();
	host_set_settings(host, settings);
	g_autoptr(PluginLoader) loader = plugin_loader_new(host);
	if (!plugin_loader_load_one(loader, dir, "crypto-gnutls", &error) ||
	    !plugin_loader_load_one(loader, dir, "kernel-tun", &error))
		g_error("loading plugins: %s", error->message);
	const HostProvider *provider = host_get_best(host, VPND_PROVIDER_KERNEL);
	g_assert(provider);
	peer.ops = provider->ops;

	VpndKernelEvents events = { .send_esp = opt_encap_fd ? NULL : on_send_esp,
				    .expire = on_expire,
				    .mapping = on_mapping };
	peer.kernel = peer.ops->open(host, &events, &peer, &error);
	if (!peer.kernel)
		g_error("open: %s", error->message);
	peer.sock = open_socket(&peer.local);
	if (opt_encap_fd &&
	    !peer.ops->enable_udp_encap(peer.kernel, peer.sock, peer.local.family, &error))
		g_error("enable_udp_encap: %s", error->message);
	peer.buf = g_malloc(MAX_DATAGRAM);
	peer.line = g_string_new(NULL);
	peer.loop = g_main_loop_new(NULL, FALSE);

	g_autoptr(GArray) local_ts = parse_ts_list(opt_local_ts);
	g_autoptr(GArray) remote_ts = parse_ts_list(opt_remote_ts);
	peer.local_ts = local_ts;
	peer.remote_ts = remote_ts;
	add_policies(&peer, local_ts, remote_ts);
	if (!add_sa(&peer, VPND_DIR_IN, &error) || !add_sa(&peer, VPND_DIR_OUT, &error))
		g_error("add_sa: %s", error->message);

	peer.udp_source = g_unix_fd_add(peer.sock, G_IO_IN, on_udp, &peer);
	peer.stdin_source = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP, on_stdin, &peer);
	guint term_source = g_unix_signal_add(SIGTERM, on_signal, &peer);
	guint int_source = g_unix_signal_add(SIGINT, on_signal, &peer);
	printf("ready\n");
	fflush(stdout);
	g_main_loop_run(peer.loop);

	g_source_remove(peer.udp_source);
	g_clear_handle_id(&peer.stdin_source, g_source_remove);
	g_source_remove(term_source);
	g_source_remove(int_source);
	peer.ops->close(peer.kernel);
	close(peer.sock);
	g_free(peer.buf);
	g_string_free(peer.line, TRUE);
	g_main_loop_unref(peer.loop);
	return 0;
}
