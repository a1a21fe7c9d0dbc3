/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ./bench/run handshake: complete IKE_SA_INIT + IKE_AUTH (PSK) + first CHILD_SA per
 * second between two engines in memory on one core, per key exchange group, next to
 * the floor the key exchange sets (both sides' key generation and shared-secret
 * computation, measured here in the same run), and the heap bytes one established IKE
 * SA with one child costs.
 *
 *   handshake_rate_GROUP N /s
 *   floor_rate_GROUP N /s
 *   ike_sa_bytes N B
 *
 * Plugins: crypto-gnutls and auth-psk, and crypto-sodium when PLUGIN_DIR has it (then
 * Curve25519 is libsodium's, as in a daemon that loads every plugin).
 *
 * Usage: bench-handshake PLUGIN_DIR [GROUP [COUNT]]
 *   GROUP: only that group, no memory figure; COUNT: just COUNT handshakes, untimed,
 *   in handshakes() (for callgrind --toggle-collect=handshakes)
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/crypto.h"
#include "core/plugin_loader.h"
#include "ike_engine.h"
#include "ike_sa.h"

#define MIN_TIME_US 300000
#define RUNS 5
#define MEM_SAS 200

static VpndHost *host;

typedef struct {
	const char *name;
	const char *ike;
	VpndKeId ke;
} Group;

static const Group groups[] = {
	{ "curve25519", "aes256gcm16-prfsha256-curve25519", VPND_KE_CURVE25519 },
	{ "ecp256", "aes256gcm16-prfsha256-ecp256", VPND_KE_ECP_256 },
	{ "modp2048", "aes256gcm16-prfsha256-modp2048", VPND_KE_MODP_2048 },
};

static VpndSecret *
psk(gpointer data, const ConnIdentity *l, const ConnIdentity *r)
{
	return vpnd_secret_new_from_data("bench-psk-bench-psk", 19);
}

static ConnConfig *
make_conn(const char *ike, const char *self, const char *peer)
{
	ConnConfig *c = conn_config_new("bench");
	ChildConfig *child = child_config_new("net");

	conn_addr_parse(self, 500, &c->local_addr);
	conn_addr_parse(peer, 500, &c->remote_addr);
	g_ptr_array_extend_and_steal(c->ike_proposals,
				     proposal_parse_list(PROPOSAL_PROTO_IKE, ike, NULL));
	g_ptr_array_extend_and_steal(child->esp_proposals,
				     proposal_parse_list(PROPOSAL_PROTO_ESP, "aes256gcm16", NULL));
	conn_config_add_auth(c, TRUE, CONN_AUTH_PSK, self, NULL);
	conn_config_add_auth(c, FALSE, CONN_AUTH_PSK, "%any", NULL);
	conn_config_take_child(c, child);
	return c;
}

/* Moves datagrams between the engines until neither sends; counts child-ups. */
static guint
pump(IkeEngine *a, IkeEngine *b, gint64 now)
{
	IkeEngine *from[2] = { a, b };
	guint ups = 0;
	gboolean busy = TRUE;

	while (busy) {
		busy = FALSE;
		for (int i = 0; i < 2; i++) {
			g_autoptr(GPtrArray) acts = ike_engine_steal_actions(from[i]);

			for (guint k = 0; k < acts->len; k++) {
				IkeAction *act = g_ptr_array_index(acts, k);

				if (act->kind == IKE_ACTION_CHILD_UPDOWN && act->up)
					ups++;
				if (act->kind != IKE_ACTION_SEND)
					continue;
				ike_engine_input(from[!i], act->datagram, &act->dst, &act->src,
						 now);
				ike_engine_derive_pending(from[!i], now);
				busy = TRUE;
			}
		}
	}
	return ups;
}

static IkeEngine *
engine_new(void)
{
	IkeEngineConfig cfg = { .host = host, .psk_lookup = psk };

	return ike_engine_new(&cfg);
}

/* not inlined: callgrind's --toggle-collect names it */
G_NO_INLINE static gint64
handshakes(const Group *g, guint n)
{
	g_autoptr(ConnConfig) ca = make_conn(g->ike, "192.0.2.1", "192.0.2.2");
	g_autoptr(ConnConfig) cb = make_conn(g->ike, "192.0.2.2", "192.0.2.1");
	gint64 t0 = g_get_monotonic_time();

	for (guint i = 0; i < n; i++) {
		IkeEngine *a = engine_new(), *b = engine_new();

		ike_engine_add_conn(b, cb);
		ike_engine_initiate(a, ca, NULL, t0, NULL);
		if (pump(a, b, t0) != 2)
			g_error("handshake %u with %s did not complete", i, g->name);
		ike_engine_free(a);
		ike_engine_free(b);
	}
	return g_get_monotonic_time() - t0;
}

/* Both sides' key exchange work in one handshake: two key pairs, two secrets. */
static gint64
kex(const Group *g, guint n)
{
	gint64 t0 = g_get_monotonic_time();

	for (guint i = 0; i < n; i++) {
		g_autoptr(VpndKe) x = crypto_ke_new(host, g->ke, CRYPTO_KE_NONE, NULL);
		g_autoptr(VpndKe) y = crypto_ke_new(host, g->ke, CRYPTO_KE_NONE, NULL);
		g_autoptr(VpndSecret) s1 =
			vpnd_ke_compute(x, vpnd_ke_get_public(y), y->public_len, NULL);
		g_autoptr(VpndSecret) s2 =
			vpnd_ke_compute(y, vpnd_ke_get_public(x), x->public_len, NULL);
		if (!s1 || !s2 || memcmp(s1->data, s2->data, s1->len))
			g_error("key exchange %s failed", g->name);
	}
	return g_get_monotonic_time() - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Iterations of @fn that take at least MIN_TIME_US. */
static guint
calibrate(const Group *g, gint64 (*fn)(const Group *, guint))
{
	guint n = 1;

	while (fn(g, n) < MIN_TIME_US)
		n *= 2;
	return n;
}

/*
 * RUNS pairs of (handshakes, key exchanges) measured back to back, so both see the same
 * machine (a shared one is noisy); medians of each rate and of the per-pair ratio.
 */
static void
measure(const Group *g, double *hs, double *floor, double *share)
{
	double h[RUNS], f[RUNS], r[RUNS];
	guint nh = calibrate(g, handshakes), nf = calibrate(g, kex);

	for (int i = 0; i < RUNS; i++) {
		h[i] = (double)nh * G_USEC_PER_SEC / (double)handshakes(g, nh);
		f[i] = (double)nf * G_USEC_PER_SEC / (double)kex(g, nf);
		r[i] = h[i] / f[i];
	}
	qsort(h, RUNS, sizeof(double), cmp_double);
	qsort(f, RUNS, sizeof(double), cmp_double);
	qsort(r, RUNS, sizeof(double), cmp_double);
	*hs = h[RUNS / 2];
	*floor = f[RUNS / 2];
	*share = r[RUNS / 2];
}

/* Heap bytes per established IKE SA with one child (both sides counted, then halved). */
static double
sa_bytes(void)
{
	g_autoptr(ConnConfig) ca = make_conn(groups[0].ike, "192.0.2.1", "192.0.2.2");
	g_autoptr(ConnConfig) cb = make_conn(groups[0].ike, "192.0.2.2", "192.0.2.1");
	IkeEngine *a = engine_new(), *b = engine_new();
	struct mallinfo2 before, after;

	ike_engine_add_conn(b, cb);
	/* warm up: the first SA allocates tables and crypto library state */
	ike_engine_initiate(a, ca, NULL, 0, NULL);
	pump(a, b, 0);
	before = mallinfo2();
	for (int i = 0; i < MEM_SAS; i++) {
		ike_engine_initiate(a, ca, NULL, 0, NULL);
		if (pump(a, b, 0) != 2)
			g_error("memory run: handshake %d did not complete", i);
	}
	after = mallinfo2();
	g_assert(ike_engine_count_sas(a) == MEM_SAS + 1);
	ike_engine_free(a);
	ike_engine_free(b);
	return (double)(after.uordblks - before.uordblks) / (2.0 * MEM_SAS);
}

/* A plugin the build may leave out (an optional dependency): loaded when its file is there. */
static gboolean
load_if_built(PluginLoader *loader, const char *dir, const char *name, GError **error)
{
	g_autofree char *file = g_strdup_printf("%s/%s.so", dir, name);

	if (!g_file_test(file, G_FILE_TEST_EXISTS))
		return TRUE;
	return plugin_loader_load_one(loader, dir, name, error);
}

static GLogWriterOutput
quiet_writer(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
	if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG))
		return G_LOG_WRITER_HANDLED;
	return g_log_writer_default(level, fields, n, data);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	PluginLoader *loader;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PLUGIN_DIR\n", argv[0]);
		return 2;
	}
	/* one log line per SA event would be timed too: keep warnings only */
	g_log_set_writer_func(quiet_writer, NULL, NULL);
	host = host_new();
	loader = plugin_loader_new(host);
	if (!plugin_loader_load_one(loader, argv[1], "crypto-gnutls", &error) ||
	    !plugin_loader_load_one(loader, argv[1], "auth-psk", &error) ||
	    !load_if_built(loader, argv[1], "crypto-sodium", &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(groups); i++) {
		if (argc > 2 && g_strcmp0(argv[2], groups[i].name) != 0)
			continue;
		if (argc > 3) {
			handshakes(&groups[i], (guint)g_ascii_strtoull(argv[3], NULL, 10));
			continue;
		}
		double hs, floor, share;

		measure(&groups[i], &hs, &floor, &share);
		printf("handshake_rate_%s %.1f /s\n", groups[i].name, hs);
		printf("floor_rate_%s %.1f /s\n", groups[i].name, floor);
		printf("handshake_share_of_floor_%s %.0f %%\n", groups[i].name, 100 * share);
		fflush(stdout);
	}
	if (argc <= 2)
		printf("ike_sa_bytes %.0f B\n", sa_bytes());
	plugin_loader_free(loader);
	host_free(host);
	return 0;
}
