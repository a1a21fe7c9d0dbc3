/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the responder's IKE_SA_INIT path: a fresh engine with one
 * connection (and a low cookie threshold) gets the input as a datagram from the peer,
 * twice (a retransmit), then every timer it armed fires, and the engine is freed.
 * Whatever comes in must not crash it or leak (the sanitizers say), and it may answer
 * with at most one datagram per request.
 *
 * Built twice: with -fsanitize=fuzzer in clang builds (fuzz-ike-responder), and in
 * every build with FUZZ_REPLAY_MAIN (fuzz-ike-responder-replay), a main() that replays
 * the seed corpus with each seed truncated at every length and with bit flips.
 * The crypto-gnutls and auth-psk plugins come from $VPND_PLUGIN_BUILDDIR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plugin_loader.h"
#include "ike/ike_engine.h"

static VpndHost *host;
static PluginLoader *loader;
static ConnConfig *conn;
static VpndAddr local, remote;

/* Deterministic "randomness": the same input always takes the same path. */
static gboolean
counter_random(gpointer data, guint8 *buf, gsize len)
{
	guint32 *state = data;

	for (gsize i = 0; i < len; i++) {
		*state = *state * 1664525u + 1013904223u;
		buf[i] = (guint8)(*state >> 24);
	}
	return TRUE;
}

static VpndSecret *
psk(gpointer data, const ConnIdentity *l, const ConnIdentity *r)
{
	return vpnd_secret_new_from_data("fuzz", 4);
}

static void
setup(void)
{
	g_autoptr(GError) error = NULL;
	const char *dir = g_getenv("VPND_PLUGIN_BUILDDIR");
	ChildConfig *child;

	host = host_new();
	loader = plugin_loader_new(host);
	if (!dir || !plugin_loader_load_one(loader, dir, "crypto-gnutls", &error) ||
	    !plugin_loader_load_one(loader, dir, "auth-psk", &error)) {
		fprintf(stderr, "fuzz-ike-responder: set VPND_PLUGIN_BUILDDIR to the plugins: %s\n",
			error ? error->message : "unset");
		exit(1);
	}
	conn = conn_config_new("fuzz");
	conn_addr_parse("192.0.2.2", 500, &local);
	conn_addr_parse("192.0.2.1", 500, &remote);
	conn->local_addr = local;
	g_ptr_array_extend_and_steal(
		conn->ike_proposals,
		proposal_parse_list(PROPOSAL_PROTO_IKE,
				    "aes128gcm16-aes256gcm16-prfsha256-curve25519-ecp256,"
				    "aes128-sha256-prfsha256-modp2048",
				    NULL));
	conn_config_add_auth(conn, TRUE, CONN_AUTH_PSK, "responder.example.org", NULL);
	conn_config_add_auth(conn, FALSE, CONN_AUTH_PSK, "%any", NULL);
	child = child_config_new("net");
	g_ptr_array_extend_and_steal(child->esp_proposals,
				     proposal_parse_list(PROPOSAL_PROTO_ESP, "aes128gcm16", NULL));
	conn_config_take_child(conn, child);
}

/* Feeds one input; fires the timers until none is left (bounded). Returns the number of
 * datagrams the engine sent. */
static guint
run_one(const guint8 *data, gsize size)
{
	guint32 seed = 1;
	IkeEngineConfig cfg = {
		.host = host,
		.random = counter_random,
		.random_data = &seed,
		.psk_lookup = psk,
		.cookie_threshold = 2,
	};
	g_autoptr(IkeEngine) engine = ike_engine_new(&cfg);
	g_autoptr(GBytes) dgram = g_bytes_new(data, size);
	g_autoptr(GHashTable) timers = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
							    g_free);
	gint64 now = 1000 * G_USEC_PER_SEC;
	guint sends = 0;

	ike_engine_add_conn(engine, conn);
	for (int i = 0; i < 2; i++) {
		ike_engine_input(engine, dgram, &local, &remote, now);
		ike_engine_derive_pending(engine, now); /* as the daemon does */
	}
	for (int round = 0; round < 32; round++) {
		g_autoptr(GPtrArray) actions = ike_engine_steal_actions(engine);
		GHashTableIter it;
		gpointer k, v;
		gint64 key = -1, when = -1;

		for (guint i = 0; i < actions->len; i++) {
			IkeAction *a = g_ptr_array_index(actions, i);
			gint64 tk = (gint64)a->ike_sa_id << 4 | a->timer;

			sends += a->kind == IKE_ACTION_SEND;
			if (a->kind != IKE_ACTION_TIMER)
				continue;
			if (a->when < 0)
				g_hash_table_remove(timers, &tk);
			else
				g_hash_table_insert(timers, g_memdup2(&tk, sizeof(tk)),
						    g_memdup2(&a->when, sizeof(a->when)));
		}
		g_hash_table_iter_init(&it, timers);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			if (when < 0 || *(gint64 *)v < when) {
				when = *(gint64 *)v;
				key = *(gint64 *)k;
			}
		}
		if (key < 0)
			break;
		g_hash_table_remove(timers, &key);
		now = MAX(now, when);
		ike_engine_timer(engine, (guint32)(key >> 4), (IkeTimerKind)(key & 15), now);
	}
	/* one answer per request (the second a cached or a repeated one) */
	if (sends > 2)
		abort();
	return sends;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((visibility("default"))) int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!host)
		setup();
	run_one(data, size);
	return 0;
}

#ifdef FUZZ_REPLAY_MAIN
/* Each seed of @dir whole, truncated at every length, and with each byte's top bit
 * flipped. */
int
main(int argc, char **argv)
{
	g_autoptr(GDir) dir = NULL;
	const char *name;
	guint seeds = 0;

	if (argc != 2 || !(dir = g_dir_open(argv[1], 0, NULL))) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	setup();
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename(argv[1], name, NULL);
		g_autofree char *data = NULL;
		gsize len;

		if (!g_file_get_contents(path, &data, &len, NULL))
			return 1;
		/* each seed is an IKE_SA_INIT request that deserves an answer */
		if (run_one((const guint8 *)data, len) == 0) {
			printf("1..1\nnot ok 1 - no answer to the seed %s\n", name);
			return 1;
		}
		for (gsize cut = 0; cut < len; cut++)
			run_one((const guint8 *)data, cut);
		for (gsize i = 0; i < len; i++) {
			data[i] ^= 0x80;
			run_one((const guint8 *)data, len);
			data[i] ^= 0x80;
		}
		seeds++;
	}
	printf("1..1\nok 1 - %u seeds replayed whole, truncated and bit-flipped\n", seeds);
	conn_config_unref(conn);
	plugin_loader_free(loader);
	host_free(host);
	return seeds ? 0 : 1;
}
#endif
