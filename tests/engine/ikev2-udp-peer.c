/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal UDP driver for the IKE engine, for interop checks against strongSwan
 * (tests/engine/interop-charon.sh) until net/ is wired to the engine: binds ADDR:500
 * and ADDR:4500 (non-ESP marker on 4500), feeds datagrams and timers to the engine and
 * prints its events. Exits 0 once a child SA is up (after answering for LINGER s),
 * 1 when the IKE SA goes down first or nothing happens before --timeout. With --rekey
 * it then rekeys the child, the IKE SA, and the child again (over the new IKE SA), and
 * exits 0 once all three are done.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/plugin_loader.h"
#include "ike_engine.h"
#include "ike_sa.h"

#define NON_ESP_MARKER_LEN 4

static char *opt_local, *opt_remote, *opt_local_id, *opt_remote_id, *opt_psk;
static char *opt_ike = "aes256gcm16-prfsha256-curve25519", *opt_esp = "aes256gcm16";
static char *opt_local_ts, *opt_remote_ts;
static gboolean opt_initiate, opt_encap, opt_print_keys, opt_rekey;
static gint opt_timeout = 20, opt_linger = 2;

static const GOptionEntry entries[] = {
	{ "local", 0, 0, G_OPTION_ARG_STRING, &opt_local, "local address", "ADDR" },
	{ "remote", 0, 0, G_OPTION_ARG_STRING, &opt_remote, "peer address", "ADDR" },
	{ "local-id", 0, 0, G_OPTION_ARG_STRING, &opt_local_id, "our identity", "ID" },
	{ "remote-id", 0, 0, G_OPTION_ARG_STRING, &opt_remote_id, "peer identity", "ID" },
	{ "psk", 0, 0, G_OPTION_ARG_STRING, &opt_psk, "pre-shared key", "KEY" },
	{ "ike", 0, 0, G_OPTION_ARG_STRING, &opt_ike, "IKE proposals", "P" },
	{ "esp", 0, 0, G_OPTION_ARG_STRING, &opt_esp, "ESP proposals", "P" },
	{ "local-ts", 0, 0, G_OPTION_ARG_STRING, &opt_local_ts, "local TS", "TS" },
	{ "remote-ts", 0, 0, G_OPTION_ARG_STRING, &opt_remote_ts, "remote TS", "TS" },
	{ "initiate", 0, 0, G_OPTION_ARG_NONE, &opt_initiate, "initiate", NULL },
	{ "encap", 0, 0, G_OPTION_ARG_NONE, &opt_encap, "force UDP encapsulation", NULL },
	{ "print-keys", 0, 0, G_OPTION_ARG_NONE, &opt_print_keys,
	  "print child SA keys (throwaway test keys, to compare with the peer's)", NULL },
	{ "rekey", 0, 0, G_OPTION_ARG_NONE, &opt_rekey,
	  "once up: rekey the child, the IKE SA, the child again", NULL },
	{ "timeout", 0, 0, G_OPTION_ARG_INT, &opt_timeout, "seconds", "S" },
	{ "linger", 0, 0, G_OPTION_ARG_INT, &opt_linger, "seconds after child up", "S" },
	{ NULL },
};

static VpndSecret *
psk_lookup(gpointer data, const ConnIdentity *local, const ConnIdentity *remote)
{
	return vpnd_secret_new_from_data(opt_psk, strlen(opt_psk));
}

static int
udp_socket(const VpndAddr *addr, guint16 port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memcpy(&sin.sin_addr, addr->addr, 4);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		g_printerr("bind port %u: %s\n", port, g_strerror(errno));
		exit(1);
	}
	return fd;
}

typedef struct {
	guint32 id;
	IkeTimerKind kind;
	gint64 when;
} Timer;

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new("- IKE engine on UDP");
	g_autoptr(GError) error = NULL;
	g_autoptr(VpndHost) host = host_new();
	g_autoptr(PluginLoader) loader = plugin_loader_new(host);
	g_autoptr(GArray) timers = g_array_new(FALSE, FALSE, sizeof(Timer));
	VpndAddr local, remote;
	int fds[2];
	gint64 deadline, child_up = 0;
	int status = 1;
	/* --rekey: 1 child rekey asked, 2 IKE rekey asked, 3 second child rekey asked, 4 done */
	int rekey_stage = 0;
	guint32 child_spi = 0;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || !opt_local || !opt_remote ||
	    !opt_psk || !conn_addr_parse(opt_local, 500, &local) ||
	    !conn_addr_parse(opt_remote, 500, &remote) || local.family != AF_INET) {
		g_printerr("usage: see --help (IPv4 only)\n");
		return 2;
	}
	if (!plugin_loader_load_one(loader, g_getenv("VPND_PLUGIN_BUILDDIR"), "crypto-gnutls",
				    &error)) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	g_autoptr(ConnConfig) conn = conn_config_new("interop");
	ChildConfig *child = child_config_new("tun");
	conn->local_addr = local;
	conn->remote_addr = remote;
	conn->encap = opt_encap;
	g_ptr_array_extend_and_steal(conn->ike_proposals,
				     proposal_parse_list(PROPOSAL_PROTO_IKE, opt_ike, &error));
	g_ptr_array_extend_and_steal(child->esp_proposals,
				     proposal_parse_list(PROPOSAL_PROTO_ESP, opt_esp, &error));
	if (!conn_config_add_auth(conn, TRUE, CONN_AUTH_PSK, opt_local_id, &error) ||
	    !conn_config_add_auth(conn, FALSE, CONN_AUTH_PSK, opt_remote_id, &error) ||
	    (opt_local_ts && !child_config_add_local_ts(child, opt_local_ts, &error)) ||
	    (opt_remote_ts && !child_config_add_remote_ts(child, opt_remote_ts, &error))) {
		g_printerr("%s\n", error->message);
		return 2;
	}
	conn_config_take_child(conn, child);

	IkeEngineConfig cfg = { .host = host, .psk_lookup = psk_lookup };
	g_autoptr(IkeEngine) engine = ike_engine_new(&cfg);
	ike_engine_add_conn(engine, conn);
	fds[0] = udp_socket(&local, 500);
	fds[1] = udp_socket(&local, 4500);
	deadline = g_get_monotonic_time() + (gint64)opt_timeout * G_USEC_PER_SEC;
	if (opt_initiate &&
	    !ike_engine_initiate(engine, conn, NULL, g_get_monotonic_time(), &error)) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	for (;;) {
		gint64 now = g_get_monotonic_time();
		g_autoptr(GPtrArray) actions = ike_engine_steal_actions(engine);

		for (guint i = 0; i < actions->len; i++) {
			IkeAction *a = g_ptr_array_index(actions, i);
			Timer t = { a->ike_sa_id, a->timer, a->when };
			struct sockaddr_in to = { .sin_family = AF_INET,
						  .sin_port = htons(a->dst.port) };
			gsize len;
			const guint8 *d;
			guint8 buf[65536];
			gboolean natt;

			switch (a->kind) {
			case IKE_ACTION_SEND:
				d = g_bytes_get_data(a->datagram, &len);
				natt = a->src.port == 4500;
				memset(buf, 0, NON_ESP_MARKER_LEN);
				memcpy(buf + (natt ? NON_ESP_MARKER_LEN : 0), d, len);
				memcpy(&to.sin_addr, a->dst.addr, 4);
				if (sendto(fds[natt], buf, len + (natt ? NON_ESP_MARKER_LEN : 0), 0,
					   (struct sockaddr *)&to, sizeof(to)) < 0)
					g_printerr("sendto: %s\n", g_strerror(errno));
				break;
			case IKE_ACTION_TIMER:
				for (guint k = 0; k < timers->len; k++) {
					Timer *o = &g_array_index(timers, Timer, k);
					if (o->id == t.id && o->kind == t.kind)
						g_array_remove_index(timers, k--);
				}
				if (t.when >= 0)
					g_array_append_val(timers, t);
				break;
			case IKE_ACTION_ADD_SA:
				printf("# add_sa %s spi %08x encr %u/%u integ %u encap %d\n",
				       a->sa.dir == VPND_DIR_IN ? "in" : "out", a->sa.spi,
				       a->sa.encr_id, a->sa.encr_key_bits, a->sa.integ_id,
				       a->sa.encap);
				if (opt_print_keys) {
					printf("# key %s ",
					       a->sa.dir == VPND_DIR_IN ? "in" : "out");
					for (gsize k = 0; k < a->sa.encr_key_len; k++)
						printf("%02x", a->sa.encr_key[k]);
					for (gsize k = 0; k < a->sa.integ_key_len; k++)
						printf("%02x", a->sa.integ_key[k]);
					printf("\n");
				}
				break;
			case IKE_ACTION_IKE_UPDOWN:
				printf("# ike %s: %s (nat local %d remote %d)\n",
				       a->up ? "up" : "down", ike_reason_to_string(a->reason),
				       a->nat_local, a->nat_remote);
				if (!a->up && !child_up)
					goto out;
				break;
			case IKE_ACTION_CHILD_UPDOWN:
				printf("# child %s %s: %s spi in %08x out %08x\n", a->child_name,
				       a->up ? "up" : "down", ike_reason_to_string(a->reason),
				       a->spi_in, a->spi_out);
				if (a->up && !child_up) {
					child_up = now;
					status = opt_rekey ? 1 : 0;
					child_spi = a->spi_in;
					if (opt_rekey && ike_engine_rekey_child(engine, a->ike_sa_id,
										child_spi, now))
						rekey_stage = 1;
				}
				break;
			case IKE_ACTION_CHILD_REKEY:
				printf("# child %s rekeyed: spi in %08x out %08x (was %08x %08x)\n",
				       a->child_name, a->spi_in, a->spi_out, a->old_spi_in,
				       a->old_spi_out);
				child_spi = a->spi_in;
				if (rekey_stage == 1 &&
				    ike_engine_rekey_ike(engine, a->ike_sa_id, now))
					rekey_stage = 2;
				else if (rekey_stage == 3) {
					rekey_stage = 4;
					status = 0;
					child_up = now; /* linger from here */
				}
				break;
			case IKE_ACTION_IKE_REKEY: {
				IkeSa *sa = ike_engine_get_sa(engine, a->new_ike_sa_id);

				printf("# ike rekeyed: %u -> %u, SPIs %016" G_GINT64_MODIFIER
				       "x_i %016" G_GINT64_MODIFIER "x_r\n",
				       a->ike_sa_id, a->new_ike_sa_id, sa ? sa->spi_i : 0,
				       sa ? sa->spi_r : 0);
				if (rekey_stage == 2 &&
				    ike_engine_rekey_child(engine, a->new_ike_sa_id, child_spi, now))
					rekey_stage = 3;
				break;
			}
			case IKE_ACTION_DEL_SA:
			case IKE_ACTION_ADD_POLICY:
			case IKE_ACTION_DEL_POLICY:
				break;
			}
		}
		fflush(stdout);
		if (now > deadline || (child_up && now > child_up + opt_linger * G_USEC_PER_SEC &&
				       (!opt_rekey || rekey_stage == 4)))
			break;
		gint64 next = deadline;
		for (guint k = 0; k < timers->len; k++)
			next = MIN(next, g_array_index(timers, Timer, k).when);
		struct pollfd pfd[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
		int wait_ms = (int)CLAMP((next - now) / 1000, 0, 1000);
		if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR)
			break;
		now = g_get_monotonic_time();
		for (int s = 0; s < 2; s++) {
			guint8 buf[65536];
			struct sockaddr_in from;
			socklen_t flen = sizeof(from);
			ssize_t n;

			if (!(pfd[s].revents & POLLIN))
				continue;
			n = recvfrom(fds[s], buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
			if (n <= 0)
				continue;
			gsize off = 0;
			if (s == 1) {
				if (n < NON_ESP_MARKER_LEN || memcmp(buf, "\0\0\0\0", 4))
					continue; /* ESP: not ours */
				off = NON_ESP_MARKER_LEN;
			}
			VpndAddr src = { .family = AF_INET, .port = ntohs(from.sin_port) };
			VpndAddr dst = local;
			memcpy(src.addr, &from.sin_addr, 4);
			dst.port = s ? 4500 : 500;
			g_autoptr(GBytes) dgram = g_bytes_new(buf + off, (gsize)n - off);
			ike_engine_input(engine, dgram, &dst, &src, now);
		}
		for (guint k = 0; k < timers->len; k++) {
			Timer t = g_array_index(timers, Timer, k);
			if (t.when <= now) {
				g_array_remove_index(timers, k--);
				ike_engine_timer(engine, t.id, t.kind, now);
			}
		}
	}
out:
	close(fds[0]);
	close(fds[1]);
	return status;
}
