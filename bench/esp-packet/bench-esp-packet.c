/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The userspace ESP packet path on one core: sealing and opening packets in place
 * (plugins/kernel-tun/esp_sa.c) against the bare AEAD/cipher work the same packets
 * need, measured in the same run. The ratio is the figure that matters: what the ESP
 * framing, padding, replay window and counters cost on top of the crypto.
 *
 * Usage: bench-esp-packet PLUGIN_DIR             timed runs, METRIC VALUE UNIT lines
 *        bench-esp-packet PLUGIN_DIR COUNT BACKEND SUITE SIZE esp|floor|offload
 *                                               exactly COUNT packets of one workload,
 *                                               for callgrind (run.sh counts them)
 *
 * offload: what the TUN offloads add per packet (plugins/kernel-tun/tun_offload.c):
 * a large TCP segment of OFFLOAD_SEGMENTS packets of SIZE payload bytes cut into
 * packets (headers, checksums) and joined back, as the two tunnel ends do.
 */
#include <stdio.h>

#include "core/crypto.h"
#include "core/plugin_loader.h"
#include "esp_sa.h"
#include "tun_offload.h"

#define RUNS 5
#define MIN_SECONDS 0.2
#define BUF_SIZE 9000
#define OFFLOAD_SEGMENTS 40

typedef struct {
	const char *name;
	VpndEncrId encr;
	guint key_bits;
	VpndIntegId integ;
} Suite;

static const Suite suites[] = {
	{ "aes128gcm16", VPND_ENCR_AES_GCM_16, 128, 0 },
	{ "aes256gcm16", VPND_ENCR_AES_GCM_16, 256, 0 },
	{ "chacha20poly1305", VPND_ENCR_CHACHA20_POLY1305, 256, 0 },
	{ "aes128-sha256", VPND_ENCR_AES_CBC, 128, VPND_INTEG_HMAC_SHA2_256_128 },
};
static const gsize sizes[] = { 64, 1400, 8192 };

static guint8 key[96];

static EspSa *
make_sa(const HostProvider *p, const Suite *s)
{
	gsize enc_len = s->key_bits / 8 + crypto_encr_salt_len(s->encr);

	if (vpnd_encr_is_aead(s->encr))
		return esp_sa_new_aead(0x1000, FALSE, 64,
				       crypto_aead_new_from(p, s->encr, key, enc_len, NULL));
	return esp_sa_new_cipher(0x1000, FALSE, 64,
				 crypto_cipher_new_from(p, s->encr, key, enc_len, NULL),
				 crypto_integrity_new_from(p, s->integ, key + 32, 32, NULL));
}

static int
compare_double(gconstpointer a, gconstpointer b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

typedef guint64 (*Workload)(gpointer data, gsize size, guint8 *buf);

/* Median over RUNS of bytes per second, each run repeating @work for MIN_SECONDS. */
static double
measure(Workload work, gpointer data, gsize size)
{
	static guint8 buf[BUF_SIZE];
	double rates[RUNS];

	for (guint r = 0; r < RUNS; r++) {
		guint64 bytes = 0;
		gint64 start = g_get_monotonic_time(), elapsed;
		do {
			for (guint i = 0; i < 256; i++)
				bytes += work(data, size, buf);
			elapsed = g_get_monotonic_time() - start;
		} while (elapsed < MIN_SECONDS * G_USEC_PER_SEC);
		rates[r] = bytes / (elapsed / 1e6);
	}
	qsort(rates, RUNS, sizeof(double), compare_double);
	return rates[RUNS / 2];
}

typedef struct {
	EspSa *tx, *rx;
} Pair;

/* One packet sealed by one SA and opened by its peer, as it crosses a tunnel. */
static G_GNUC_NO_INLINE guint64
seal_open(gpointer data, gsize size, guint8 *buf)
{
	Pair *pair = data;
	EspResult result;
	gsize off, len;
	guint8 nh;
	gsize n = esp_sa_seal(pair->tx, buf, size, BUF_SIZE, ESP_NEXT_HEADER_IPV4, 0, &result);

	if (esp_sa_open(pair->rx, buf, n, 0, &off, &len, &nh) != ESP_OK)
		g_error("benchmark packet did not open");
	return size;
}

typedef struct {
	VpndAead *aead;
	VpndCipher *cipher;
	VpndIntegrity *integ;
} Bare;

/* The crypto alone: encrypt and decrypt the same bytes, no ESP framing. */
static G_GNUC_NO_INLINE guint64
bare_crypto(gpointer data, gsize size, guint8 *buf)
{
	Bare *b = data;
	static const guint8 iv[16], aad[8];
	guint8 icv[VPND_ICV_MAX_LEN];

	if (b->aead) {
		vpnd_aead_encrypt(b->aead, iv, aad, 8, buf, size, icv);
		if (!vpnd_aead_decrypt(b->aead, iv, aad, 8, buf, size, icv))
			g_error("benchmark AEAD did not verify");
		return size;
	}
	gsize whole = size & ~(gsize)15;
	vpnd_cipher_encrypt(b->cipher, iv, buf, whole);
	vpnd_integrity_compute(b->integ, buf, whole, icv);
	vpnd_integrity_compute(b->integ, buf, whole, icv);
	vpnd_cipher_decrypt(b->cipher, iv, buf, whole);
	return size;
}

static Bare
make_bare(const HostProvider *p, const Suite *s)
{
	gsize enc_len = s->key_bits / 8 + crypto_encr_salt_len(s->encr);
	Bare bare = { 0 };

	if (vpnd_encr_is_aead(s->encr)) {
		bare.aead = crypto_aead_new_from(p, s->encr, key, enc_len, NULL);
	} else {
		bare.cipher = crypto_cipher_new_from(p, s->encr, key, enc_len, NULL);
		bare.integ = crypto_integrity_new_from(p, s->integ, key + 32, 32, NULL);
	}
	return bare;
}

static void
bare_clear(Bare *bare)
{
	vpnd_aead_free(bare->aead);
	vpnd_cipher_free(bare->cipher);
	vpnd_integrity_free(bare->integ);
}

static void
bench_suite(const HostProvider *p, const char *backend, const Suite *s)
{
	Pair pair = { make_sa(p, s), make_sa(p, s) };
	Bare bare = make_bare(p, s);

	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		double esp = measure(seal_open, &pair, sizes[i]);
		double floor = measure(bare_crypto, &bare, sizes[i]);
		printf("esp_seal_open_%s_%s_%zu %.0f bytes/s\n", backend, s->name, sizes[i], esp);
		printf("crypto_floor_%s_%s_%zu %.0f bytes/s\n", backend, s->name, sizes[i], floor);
		printf("esp_vs_floor_%s_%s_%zu %.3f ratio\n", backend, s->name, sizes[i],
		       esp / floor);
		fflush(stdout);
	}
	esp_sa_free(pair.tx);
	esp_sa_free(pair.rx);
	bare_clear(&bare);
}

typedef struct {
	guint8 big[TUN_OFFLOAD_MAX];
	gsize len;
	struct virtio_net_hdr hdr;
	TunGro *gro;
} Offload;

/* An IPv4 TCP segment of OFFLOAD_SEGMENTS * @mss payload bytes, as a TSO read gives it. */
static void
offload_init(Offload *o, gsize mss)
{
	static const guint8 head[40] = {
		0x45, 0,    0,    0,    0x12, 0x34, 0x40, 0,    64,   6,    0,    0,    10, 1,
		0,    1,    10,   2,    0,    1,    0x9c, 0x40, 0x14, 0x51, 0,    0,    0,  1,
		0,    0,    0x77, 0x77, 0x50, 0x10, 0x01, 0xf5, 0,    0,    0,    0,
	};

	o->len = sizeof(head) + OFFLOAD_SEGMENTS * mss;
	g_assert(o->len <= TUN_OFFLOAD_MAX);
	memcpy(o->big, head, sizeof(head));
	o->big[2] = (guint8)(o->len >> 8);
	o->big[3] = (guint8)o->len;
	for (gsize i = sizeof(head); i < o->len; i++)
		o->big[i] = (guint8)i;
	o->hdr = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					  .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					  .gso_size = (guint16)mss,
					  .csum_start = 20,
					  .csum_offset = 16 };
	o->gro = tun_gro_new();
}

/* One large segment cut into packets and joined back: OFFLOAD_SEGMENTS packets. */
static G_GNUC_NO_INLINE void
offload_round(Offload *o, guint8 *buf)
{
	TunTso tso;
	gsize len, n = 0;

	if (!tun_tso_init(&tso, &o->hdr, o->big, o->len))
		g_error("benchmark segment refused");
	while ((len = tun_tso_next(&tso, buf, BUF_SIZE)) > 0) {
		if (!tun_gro_add(o->gro, buf, len))
			g_error("benchmark packet %zu not joined", n);
		n++;
	}
	if (n != OFFLOAD_SEGMENTS || !tun_gro_take(o->gro, &len))
		g_error("benchmark segment came back wrong");
}

/* A fixed number of packets of one workload: instruction counts do not depend on load. */
static int
count_one(VpndHost *host, char **argv)
{
	static guint8 buf[BUF_SIZE];
	guint64 count = g_ascii_strtoull(argv[2], NULL, 10);
	const HostProvider *p = crypto_find_by_name(host, argv[3]);
	gsize size = g_ascii_strtoull(argv[5], NULL, 10);
	const Suite *s = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(suites); i++) {
		if (g_str_equal(suites[i].name, argv[4]))
			s = &suites[i];
	}
	if (!p || !s || size == 0 || size > BUF_SIZE - 256) {
		fprintf(stderr, "unknown backend, suite or size\n");
		return 2;
	}
	if (g_str_equal(argv[6], "offload")) {
		static Offload o;
		if (count % OFFLOAD_SEGMENTS || size * OFFLOAD_SEGMENTS + 40 > TUN_OFFLOAD_MAX) {
			fprintf(stderr, "offload: COUNT a multiple of %u, SIZE up to %u\n",
				OFFLOAD_SEGMENTS, (TUN_OFFLOAD_MAX - 40) / OFFLOAD_SEGMENTS);
			return 2;
		}
		offload_init(&o, size);
		for (guint64 i = 0; i < count / OFFLOAD_SEGMENTS; i++)
			offload_round(&o, buf);
		tun_gro_free(o.gro);
		return 0;
	}
	Pair pair = { make_sa(p, s), make_sa(p, s) };
	Bare bare = make_bare(p, s);
	gboolean esp = g_str_equal(argv[6], "esp");
	for (guint64 i = 0; i < count; i++) {
		if (esp)
			seal_open(&pair, size, buf);
		else
			bare_crypto(&bare, size, buf);
	}
	esp_sa_free(pair.tx);
	esp_sa_free(pair.rx);
	bare_clear(&bare);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *backends[] = { "gnutls", "openssl" };
	g_autoptr(GError) error = NULL;

	if (argc != 2 && argc != 7) {
		fprintf(stderr, "usage: %s PLUGIN_DIR [COUNT BACKEND SUITE SIZE esp|floor]\n",
			argv[0]);
		return 2;
	}
	VpndHost *host = host_new();
	PluginLoader *loader = plugin_loader_new(host);
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		g_autofree char *name = g_strconcat("crypto-", backends[i], NULL);
		if (!plugin_loader_load_one(loader, argv[1], name, &error))
			g_error("%s", error->message);
	}
	for (guint i = 0; i < sizeof(key); i++)
		key[i] = (guint8)(i * 13 + 1);
	int status = 0;
	if (argc == 7) {
		status = count_one(host, argv);
	} else {
		for (guint b = 0; b < G_N_ELEMENTS(backends); b++) {
			for (guint i = 0; i < G_N_ELEMENTS(suites); i++)
				bench_suite(crypto_find_by_name(host, backends[b]), backends[b],
					    &suites[i]);
		}
	}
	plugin_loader_free(loader);
	host_free(host);
	return status;
}
