/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One end of a kernel IPsec tunnel, for tests/vm/test-xfrm.sh: loads the real
 * kernel-xfrm plugin through the plugin loader, installs a pair of tunnel-mode SAs
 * (--alg: aes256gcm16, chacha20poly1305 or aes128-sha256; fixed test keys derived from
 * the SPIs so both ends agree) and the in/out/fwd policies, then answers commands on stdin until
 * "quit" or end of input:
 *
 *   stats   ->  "sa out spi=0x… bytes=N packets=N last_use=set|none", "sa in …", "end"
 *   update  ->  update_sa() on both SAs with the addresses and ports they have (UPDSA:
 *               the SAs and their counters stay), then "updated"
 *   move L R -> new outer addresses L (ours) and R: update_sa() on both SAs (installed
 *               again), policies replaced with the new tunnel endpoints, then "moved"
 *
 * It prints "ready" once everything is installed, and "event expire soft spi=0x…" (or
 * hard/acquire/mapping) as the kernel reports them. Closing the plugin removes it all.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib.h>
#include <glib-unix.h>
#include <vpnd/crypto.h>
#include <vpnd/kernel.h>
#include "core/plugin_loader.h"

#define PEER_KEY_MAX 36 /* AES-256 or ChaCha20 key + 4-byte salt (RFC 4106, 7634) */
#define PEER_NATT_PORT 4500
#define PEER_REQID_OUT 1
#define PEER_REQID_IN 2

typedef struct {
	char *local, *remote, *local_ts, *remote_ts;
	guint32 spi_out, spi_in;
	gboolean encap;
	gint soft_packets;
	char *alg;
} PeerOptions;

/* The ESP transforms a test can ask for, with their key lengths. */
typedef struct {
	const char *name;
	guint16 encr_id, encr_key_bits, encr_key_len;
	guint16 integ_id, integ_key_len;
} PeerAlg;

static const PeerAlg peer_algs[] = {
	{ "aes256gcm16", VPND_ENCR_AES_GCM_16, 256, 36, 0, 0 },
	{ "chacha20poly1305", VPND_ENCR_CHACHA20_POLY1305, 256, 36, 0, 0 },
	{ "aes128-sha256", VPND_ENCR_AES_CBC, 128, 16, VPND_INTEG_HMAC_SHA2_256_128, 32 },
};

typedef struct {
	const VpndKernelOps *ops;
	VpndKernel *kernel;
	GMainLoop *loop;
	VpndAddr local, remote;
	PeerOptions opt;
	GString *line;
	guint stdin_source;
	int udp_fd;
	VpndTs lts, rts;
} Peer;

static void
parse_addr(const char *text, VpndAddr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(a->family, text, a->addr) != 1)
		g_error("not an address: %s", text);
}

/* "10.1.0.0/24" as a traffic selector (any protocol and port). */
static void
parse_ts(const char *text, VpndTs *ts)
{
	g_auto(GStrv) parts = g_strsplit(text, "/", 2);
	VpndAddr a;
	guint len, plen;

	if (!parts[0] || !parts[1])
		g_error("not a prefix: %s", text);
	parse_addr(parts[0], &a);
	len = a.family == AF_INET ? 4 : 16;
	plen = atoi(parts[1]);
	memset(ts, 0, sizeof(*ts));
	ts->family = a.family;
	ts->to_port = 0xffff;
	memcpy(ts->from, a.addr, len);
	memcpy(ts->to, a.addr, len);
	for (guint b = plen; b < len * 8; b++) {
		ts->from[b / 8] &= ~(0x80 >> (b % 8));
		ts->to[b / 8] |= 0x80 >> (b % 8);
	}
}

/* Both ends compute the same key for an SPI; test keys only. */
static void
test_key(guint32 spi, guint8 salt, guint8 *key, gsize len)
{
	for (guint i = 0; i < len; i++)
		key[i] = (guint8)((spi >> (8 * (i % 4))) ^ (i * 37 + salt));
}

static const PeerAlg *
find_alg(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(peer_algs); i++)
		if (g_str_equal(peer_algs[i].name, name ? name : "aes256gcm16"))
			return &peer_algs[i];
	g_error("unknown --alg %s", name);
}

static void
add_sa(Peer *p, VpndDirection dir, guint32 spi, guint32 reqid, const VpndTs *lts, const VpndTs *rts)
{
	g_autoptr(GError) error = NULL;
	const PeerAlg *alg = find_alg(p->opt.alg);
	guint8 key[PEER_KEY_MAX], ikey[PEER_KEY_MAX];
	gboolean out = dir == VPND_DIR_OUT;
	VpndSaParams sa = {
		.spi = spi,
		.protocol = IPPROTO_ESP,
		.dir = dir,
		.mode = VPND_MODE_TUNNEL,
		.reqid = reqid,
		.src = out ? p->local : p->remote,
		.dst = out ? p->remote : p->local,
		.encap = p->opt.encap,
		.encr_id = alg->encr_id,
		.encr_key_bits = alg->encr_key_bits,
		.encr_key = key,
		.encr_key_len = alg->encr_key_len,
		.integ_id = alg->integ_id,
		.integ_key = alg->integ_key_len ? ikey : NULL,
		.integ_key_len = alg->integ_key_len,
		.esn = TRUE,
		.replay_window = 64,
		.soft.packets = p->opt.soft_packets,
		.local_ts = lts,
		.n_local_ts = 1,
		.remote_ts = rts,
		.n_remote_ts = 1,
	};

	test_key(spi, 11, key, alg->encr_key_len);
	test_key(spi, 97, ikey, alg->integ_key_len);
	if (p->opt.encap)
		sa.src.port = sa.dst.port = PEER_NATT_PORT;
	if (!p->ops->add_sa(p->kernel, &sa, &error))
		g_error("%s", error->message);
}

static void
set_policy(Peer *p, gboolean add, VpndDirection dir, guint32 reqid, const VpndTs *lts,
	   const VpndTs *rts)
{
	g_autoptr(GError) error = NULL;
	gboolean out = dir == VPND_DIR_OUT;
	VpndPolicyParams pol = {
		.dir = dir,
		.action = VPND_POLICY_PROTECT,
		.mode = VPND_MODE_TUNNEL,
		.reqid = reqid,
		.src_ts = out ? *lts : *rts,
		.dst_ts = out ? *rts : *lts,
		.src = out ? p->local : p->remote,
		.dst = out ? p->remote : p->local,
	};

	if (!(add ? p->ops->add_policy : p->ops->del_policy)(p->kernel, &pol, &error))
		g_error("%s", error->message);
}

/* The UDP 4500 socket the kernel decapsulates ESP-in-UDP on, kept open while we run. */
static void
open_natt_socket(Peer *p)
{
	g_autoptr(GError) error = NULL;
	struct sockaddr_storage ss = { 0 };
	socklen_t len;

	if (p->local.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(PEER_NATT_PORT);
		memcpy(&sin->sin_addr, p->local.addr, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(PEER_NATT_PORT);
		memcpy(&sin6->sin6_addr, p->local.addr, 16);
		len = sizeof(*sin6);
	}
	p->udp_fd = socket(p->local.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->udp_fd < 0 || bind(p->udp_fd, (struct sockaddr *)&ss, len) < 0)
		g_error("UDP %d socket: %s", PEER_NATT_PORT, g_strerror(errno));
	if (!p->ops->bypass_socket(p->kernel, p->udp_fd, p->local.family, &error) ||
	    !p->ops->enable_udp_encap(p->kernel, p->udp_fd, p->local.family, &error))
		g_error("%s", error->message);
}

static void
set_policies(Peer *p, gboolean add)
{
	set_policy(p, add, VPND_DIR_OUT, PEER_REQID_OUT, &p->lts, &p->rts);
	set_policy(p, add, VPND_DIR_IN, PEER_REQID_IN, &p->lts, &p->rts);
	set_policy(p, add, VPND_DIR_FWD, PEER_REQID_IN, &p->lts, &p->rts);
}

static void
install(Peer *p)
{
	VpndTs *lts = &p->lts, *rts = &p->rts;

	parse_addr(p->opt.local, &p->local);
	parse_addr(p->opt.remote, &p->remote);
	parse_ts(p->opt.local_ts, lts);
	parse_ts(p->opt.remote_ts, rts);
	if (p->opt.encap)
		open_natt_socket(p);
	add_sa(p, VPND_DIR_OUT, p->opt.spi_out, PEER_REQID_OUT, lts, rts);
	add_sa(p, VPND_DIR_IN, p->opt.spi_in, PEER_REQID_IN, lts, rts);
	set_policies(p, TRUE);
}

static void
print_stats(Peer *p, const char *name, guint32 spi, const VpndAddr *dst)
{
	g_autoptr(GError) error = NULL;
	VpndSaId id = { .spi = spi, .protocol = IPPROTO_ESP, .dst = *dst };
	VpndSaStats stats;

	if (!p->ops->query_sa(p->kernel, &id, &stats, &error)) {
		printf("error %s\n", error->message);
		return;
	}
	printf("sa %s spi=0x%08x bytes=%" G_GUINT64_FORMAT " packets=%" G_GUINT64_FORMAT
	       " last_use=%s\n",
	       name, spi, stats.bytes, stats.packets, stats.last_use ? "set" : "none");
}

/* update_sa() of the SA now sent to @old_dst: new endpoints @src -> @dst */
static void
update_sa(Peer *p, guint32 spi, const VpndAddr *src, const VpndAddr *dst, const VpndAddr *old_dst)
{
	g_autoptr(GError) error = NULL;
	VpndSaId id = { .spi = spi, .protocol = IPPROTO_ESP, .dst = *old_dst };
	VpndAddr s = *src, d = *dst;

	if (p->opt.encap)
		s.port = d.port = PEER_NATT_PORT;
	if (!p->ops->update_sa(p->kernel, &id, &s, &d, &error))
		printf("error %s\n", error->message);
}

/* New outer addresses (MOBIKE): the SAs follow, the policies' templates are replaced. */
static void
move(Peer *p, const char *args)
{
	g_auto(GStrv) addrs = g_strsplit(args, " ", 2);
	VpndAddr local, remote;

	if (!addrs[0] || !addrs[1]) {
		printf("error move wants LOCAL REMOTE\n");
		return;
	}
	parse_addr(addrs[0], &local);
	parse_addr(addrs[1], &remote);
	update_sa(p, p->opt.spi_out, &local, &remote, &p->remote);
	update_sa(p, p->opt.spi_in, &remote, &local, &p->local);
	set_policies(p, FALSE);
	p->local = local;
	p->remote = remote;
	set_policies(p, TRUE);
	printf("moved\n");
}

static void
run_command(Peer *p, const char *cmd)
{
	if (g_str_equal(cmd, "stats")) {
		print_stats(p, "out", p->opt.spi_out, &p->remote);
		print_stats(p, "in", p->opt.spi_in, &p->local);
		printf("end\n");
	} else if (g_str_equal(cmd, "update")) {
		update_sa(p, p->opt.spi_out, &p->local, &p->remote, &p->remote);
		update_sa(p, p->opt.spi_in, &p->remote, &p->local, &p->local);
		printf("updated\n");
	} else if (g_str_has_prefix(cmd, "move ")) {
		move(p, cmd + strlen("move "));
	} else if (g_str_equal(cmd, "quit")) {
		g_main_loop_quit(p->loop);
	} else if (*cmd) {
		printf("error unknown command %s\n", cmd);
	}
}

static gboolean
stdin_ready(gint fd, GIOCondition condition, gpointer user_data)
{
	Peer *p = user_data;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));
	char *nl;

	if (n <= 0) {
		g_main_loop_quit(p->loop);
		p->stdin_source = 0;
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(p->line, buf, n);
	while ((nl = strchr(p->line->str, '\n'))) {
		g_autofree char *cmd = g_strndup(p->line->str, nl - p->line->str);

		g_string_erase(p->line, 0, nl - p->line->str + 1);
		run_command(p, g_strstrip(cmd));
	}
	return G_SOURCE_CONTINUE;
}

static void
on_expire(gpointer user_data, const VpndSaId *sa, VpndExpireKind kind)
{
	printf("event expire %s spi=0x%08x\n", kind == VPND_EXPIRE_HARD ? "hard" : "soft", sa->spi);
}

static void
on_acquire(gpointer user_data, guint32 reqid, const VpndTs *src, const VpndTs *dst)
{
	printf("event acquire reqid=%u\n", reqid);
}

static void
on_mapping(gpointer user_data, const VpndSaId *sa, const VpndAddr *peer)
{
	printf("event mapping spi=0x%08x port=%u\n", sa->spi, peer->port);
}

static const VpndKernelEvents peer_events = {
	.acquire = on_acquire,
	.expire = on_expire,
	.mapping = on_mapping,
};

static gboolean
parse_options(int *argc, char ***argv, PeerOptions *opt, GError **error)
{
	gint64 spi_out = 0, spi_in = 0;
	g_autofree char *out_text = NULL, *in_text = NULL;
	const GOptionEntry entries[] = {
		{ "local", 0, 0, G_OPTION_ARG_STRING, &opt->local, "outer address here", "IP" },
		{ "remote", 0, 0, G_OPTION_ARG_STRING, &opt->remote, "outer address there", "IP" },
		{ "local-ts", 0, 0, G_OPTION_ARG_STRING, &opt->local_ts, "inner net here", "P/L" },
		{ "remote-ts", 0, 0, G_OPTION_ARG_STRING, &opt->remote_ts, "inner net there",
		  "P/L" },
		{ "spi-out", 0, 0, G_OPTION_ARG_STRING, &out_text, "outbound SPI", "HEX" },
		{ "spi-in", 0, 0, G_OPTION_ARG_STRING, &in_text, "inbound SPI", "HEX" },
		{ "encap", 0, 0, G_OPTION_ARG_NONE, &opt->encap, "ESP in UDP 4500", NULL },
		{ "soft-packets", 0, 0, G_OPTION_ARG_INT, &opt->soft_packets,
		  "soft lifetime in packets", "N" },
		{ "alg", 0, 0, G_OPTION_ARG_STRING, &opt->alg, "ESP transforms", "NAME" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- one end of a test tunnel");

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, error))
		return FALSE;
	if (!opt->local || !opt->remote || !opt->local_ts || !opt->remote_ts || !out_text ||
	    !in_text) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "--local, --remote, --local-ts, --remote-ts, --spi-out and --spi-in "
			    "are needed");
		return FALSE;
	}
	spi_out = g_ascii_strtoll(out_text, NULL, 16);
	spi_in = g_ascii_strtoll(in_text, NULL, 16);
	opt->spi_out = spi_out;
	opt->spi_in = spi_in;
	return TRUE;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndHost) host = host_new();
	g_autoptr(PluginLoader) loader = plugin_loader_new(host);
	const char *dir = g_getenv("VPND_PLUGIN_BUILDDIR");
	const HostProvider *provider;
	Peer p = { .udp_fd = -1 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!parse_options(&argc, &argv, &p.opt, &error) || !dir ||
	    !plugin_loader_load_one(loader, dir, "kernel-xfrm", &error)) {
		g_printerr("xfrm-peer: %s\n",
			   error ? error->message : "VPND_PLUGIN_BUILDDIR unset");
		return 2;
	}
	provider = host_get_best(host, VPND_PROVIDER_KERNEL);
	p.ops = provider->ops;
	p.kernel = p.ops->open(host, &peer_events, &p, &error);
	if (!p.kernel)
		g_error("%s", error->message);
	install(&p);
	p.loop = g_main_loop_new(NULL, FALSE);
	p.line = g_string_new(NULL);
	p.stdin_source = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP, stdin_ready, &p);
	printf("ready\n");
	g_main_loop_run(p.loop);

	g_clear_handle_id(&p.stdin_source, g_source_remove);
	p.ops->close(p.kernel);
	if (p.udp_fd >= 0)
		close(p.udp_fd);
	g_main_loop_unref(p.loop);
	g_string_free(p.line, TRUE);
	g_free(p.opt.local);
	g_free(p.opt.remote);
	g_free(p.opt.local_ts);
	g_free(p.opt.remote_ts);
	g_free(p.opt.alg);
	return 0;
}
