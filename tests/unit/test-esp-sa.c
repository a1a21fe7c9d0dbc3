/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ESP packets sealed and opened in place (RFC 4303), through both crypto plugins and
 * across them, and every kind of bad packet dropped and counted.
 */
#include "core/crypto.h"
#include "core/plugin_loader.h"
#include "esp_sa.h"

#define BUF_SIZE 2048

typedef struct {
	const char *name;
	VpndEncrId encr;
	guint key_bits;
	VpndIntegId integ; /* 0 for AEADs */
	gboolean esn;
} Suite;

static const Suite suites[] = {
	{ "aes128gcm16", VPND_ENCR_AES_GCM_16, 128, 0, FALSE },
	{ "aes256gcm16", VPND_ENCR_AES_GCM_16, 256, 0, FALSE },
	{ "aes256gcm16-esn", VPND_ENCR_AES_GCM_16, 256, 0, TRUE },
	{ "chacha20poly1305", VPND_ENCR_CHACHA20_POLY1305, 256, 0, FALSE },
	{ "aes128-sha256", VPND_ENCR_AES_CBC, 128, VPND_INTEG_HMAC_SHA2_256_128, FALSE },
	{ "aes256-sha512-esn", VPND_ENCR_AES_CBC, 256, VPND_INTEG_HMAC_SHA2_512_256, TRUE },
	{ "aes128ctr-sha256", VPND_ENCR_AES_CTR, 128, VPND_INTEG_HMAC_SHA2_256_128, FALSE },
};

static VpndHost *host;
static PluginLoader *loader;

/* Key material: fixed bytes, so the two directions and the two backends agree. */
static EspSa *
make_sa(const Suite *s, const char *provider, guint32 spi)
{
	const HostProvider *p = crypto_find_by_name(host, provider);
	g_autoptr(GError) error = NULL;
	guint8 key[32 + 64]; /* cipher key and salt, then the integrity key */
	gsize enc_len = s->key_bits / 8 + crypto_encr_salt_len(s->encr);

	g_assert_nonnull(p);
	for (guint i = 0; i < sizeof(key); i++)
		key[i] = (guint8)(i * 7 + (spi >> 12));
	if (crypto_encr_is_aead(s->encr)) {
		VpndAead *aead = crypto_aead_new_from(p, s->encr, key, enc_len, &error);
		g_assert_no_error(error);
		return esp_sa_new_aead(spi, s->esn, 64, aead);
	}
	VpndCipher *cipher = crypto_cipher_new_from(p, s->encr, key, enc_len, &error);
	g_assert_no_error(error);
	gsize integ_len = s->integ == VPND_INTEG_HMAC_SHA2_512_256 ? 64 : 32;
	VpndIntegrity *integ = crypto_integrity_new_from(p, s->integ, key + 32, integ_len, &error);
	g_assert_no_error(error);
	return esp_sa_new_cipher(spi, s->esn, 64, cipher, integ);
}

static gsize
seal(EspSa *sa, guint8 *buf, const guint8 *payload, gsize len, guint8 next_header)
{
	EspResult result;

	memcpy(buf + esp_sa_headroom(sa), payload, len);
	gsize n = esp_sa_seal(sa, buf, len, BUF_SIZE, next_header, 1, &result);
	g_assert_cmpint(result, ==, ESP_OK);
	g_assert_cmpuint(n, >, len);
	g_assert_cmpuint(n % 4, ==, 0);
	return n;
}

typedef struct {
	const Suite *suite;
	const char *out; /* backend that seals */
	const char *in;  /* backend that opens */
} RoundTrip;

static void
test_round_trip(gconstpointer data)
{
	const RoundTrip *rt = data;
	g_autoptr(EspSa) tx = make_sa(rt->suite, rt->out, 0x1000);
	g_autoptr(EspSa) rx = make_sa(rt->suite, rt->in, 0x1000);
	guint8 payload[1500], buf[BUF_SIZE];
	const gsize sizes[] = { 0, 1, 2, 3, 15, 16, 17, 40, 1400, 1500 };

	for (guint i = 0; i < sizeof(payload); i++)
		payload[i] = (guint8)(i ^ 0x5a);
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		gsize n = seal(tx, buf, payload, sizes[i], ESP_NEXT_HEADER_IPV4);
		/* AES-GCM ciphertexts end on a whole AES block (see esp_sa_new_aead) */
		if (rt->suite->encr == VPND_ENCR_AES_GCM_16)
			g_assert_cmpuint((n - esp_sa_headroom(tx) - 16) % 16, ==, 0);
		/* the payload never shows in clear on the wire */
		if (sizes[i] >= 16)
			g_assert_null(memmem(buf, n, payload, 16));
		gsize off, len;
		guint8 nh;
		g_assert_cmpint(esp_sa_open(rx, buf, n, 2, &off, &len, &nh), ==, ESP_OK);
		g_assert_cmpuint(nh, ==, ESP_NEXT_HEADER_IPV4);
		g_assert_cmpmem(buf + off, len, payload, sizes[i]);
	}
	const EspCounters *c = esp_sa_get_counters(rx);
	g_assert_cmpuint(c->packets, ==, G_N_ELEMENTS(sizes));
	g_assert_cmpuint(c->bytes, ==, 0 + 1 + 2 + 3 + 15 + 16 + 17 + 40 + 1400 + 1500);
	g_assert_cmpuint(c->bytes, ==, esp_sa_get_counters(tx)->bytes);
	g_assert_cmpint(c->last_use, ==, 2);
}

/* Every way a packet can be bad: dropped, counted under its own reason. */
static void
test_drops(gconstpointer data)
{
	const Suite *s = data;
	g_autoptr(EspSa) tx = make_sa(s, "gnutls", 0x2000);
	g_autoptr(EspSa) rx = make_sa(s, "gnutls", 0x2000);
	guint8 payload[100] = { 0x45 }, buf[BUF_SIZE], copy[BUF_SIZE];
	gsize off, len, n;
	guint8 nh;

	/* flipped ICV bit, then flipped ciphertext bit */
	n = seal(tx, buf, payload, sizeof(payload), ESP_NEXT_HEADER_IPV4);
	memcpy(copy, buf, n);
	buf[n - 1] ^= 0x01;
	g_assert_cmpint(esp_sa_open(rx, buf, n, 0, &off, &len, &nh), ==, ESP_DROP_AUTH);
	memcpy(buf, copy, n);
	buf[esp_sa_headroom(rx) + 3] ^= 0x80;
	g_assert_cmpint(esp_sa_open(rx, buf, n, 0, &off, &len, &nh), ==, ESP_DROP_AUTH);
	/* a forged packet did not consume its sequence number: the real one passes */
	memcpy(buf, copy, n);
	g_assert_cmpint(esp_sa_open(rx, buf, n, 0, &off, &len, &nh), ==, ESP_OK);
	/* the same packet again */
	memcpy(buf, copy, n);
	g_assert_cmpint(esp_sa_open(rx, buf, n, 0, &off, &len, &nh), ==, ESP_DROP_REPLAY);
	/* truncated: shorter than header + trailer + ICV, or not whole blocks */
	g_assert_cmpint(esp_sa_open(rx, copy, esp_sa_headroom(rx) + 1, 0, &off, &len, &nh), ==,
			ESP_DROP_MALFORMED);
	/* another SA's key: the ICV cannot match */
	g_autoptr(EspSa) other = make_sa(s, "gnutls", 0x3000);
	for (guint i = 0; i < 3; i++) /* past the sequence numbers rx has seen */
		n = seal(other, buf, payload, sizeof(payload), ESP_NEXT_HEADER_IPV4);
	g_assert_cmpint(esp_sa_open(rx, buf, n, 0, &off, &len, &nh), ==, ESP_DROP_AUTH);
	/* a dummy packet (next header 59) is authentic but not delivered */
	n = seal(tx, buf, payload, sizeof(payload), ESP_NEXT_HEADER_NONE);
	g_assert_cmpint(esp_sa_open(rx, buf, n, 0, &off, &len, &nh), ==, ESP_DROP_DUMMY);

	const EspCounters *c = esp_sa_get_counters(rx);
	g_assert_cmpuint(c->drops[ESP_DROP_AUTH], ==, 3);
	g_assert_cmpuint(c->drops[ESP_DROP_REPLAY], ==, 1);
	g_assert_cmpuint(c->drops[ESP_DROP_MALFORMED], ==, 1);
	g_assert_cmpuint(c->drops[ESP_DROP_DUMMY], ==, 1);
	g_assert_cmpuint(c->packets, ==, 1);
}

/* Padding that is not 1, 2, 3 … is refused even when the ICV is right. */
static void
test_bad_padding(void)
{
	const Suite *s = &suites[1]; /* aes256gcm16 */
	g_autoptr(EspSa) tx = make_sa(s, "gnutls", 0x4000);
	g_autoptr(EspSa) rx = make_sa(s, "gnutls", 0x4000);
	const HostProvider *p = crypto_find_by_name(host, "gnutls");
	guint8 key[64], buf[BUF_SIZE], payload[5] = { 0 }, aad[8];
	gsize off, len;
	guint8 nh;

	for (guint i = 0; i < sizeof(key); i++)
		key[i] = (guint8)(i * 7 + (0x4000 >> 12));
	g_autoptr(VpndAead) aead = crypto_aead_new_from(p, s->encr, key, 36, NULL);
	/* 5 bytes of payload leave room for padding: make its first byte 7 instead of 1 */
	gsize n = seal(tx, buf, payload, sizeof(payload), ESP_NEXT_HEADER_IPV4);
	gsize head = esp_sa_headroom(tx), ct_len = n - head - 16;
	memcpy(aad, buf, 8);
	g_assert_true(vpnd_aead_decrypt(aead, buf + 8, aad, 8, buf + head, ct_len,
					buf + head + ct_len));
	gsize pad_len = buf[head + ct_len - 2];
	g_assert_cmpuint(pad_len, >, 0);
	g_assert_cmpuint(buf[head + ct_len - 2 - pad_len], ==, 1);
	buf[head + ct_len - 2 - pad_len] = 7;
	g_assert_true(vpnd_aead_encrypt(aead, buf + 8, aad, 8, buf + head, ct_len,
					buf + head + ct_len));
	g_assert_cmpint(esp_sa_open(rx, buf, n, 0, &off, &len, &nh), ==, ESP_DROP_PADDING);
	g_assert_cmpuint(esp_sa_get_counters(rx)->drops[ESP_DROP_PADDING], ==, 1);
}

/*
 * AES-GCM needs no padding beyond ESP's 4 bytes (RFC 4106 §3.2) and strongSwan's
 * libipsec sends just that: such a packet opens although we pad to 16 ourselves.
 */
static void
test_gcm_four_byte_padding(void)
{
	const Suite *s = &suites[1]; /* aes256gcm16 */
	g_autoptr(EspSa) rx = make_sa(s, "gnutls", 0x4000);
	const HostProvider *p = crypto_find_by_name(host, "gnutls");
	guint8 key[64], buf[BUF_SIZE], aad[8];
	const guint8 payload[5] = { 0x45, 1, 2, 3, 4 };
	const gsize head = 8 + 8, ct_len = 8; /* 5 payload + 1 pad + pad length + next header */
	gsize off, len;
	guint8 nh;

	for (guint i = 0; i < sizeof(key); i++)
		key[i] = (guint8)(i * 7 + (0x4000 >> 12));
	g_autoptr(VpndAead) aead = crypto_aead_new_from(p, s->encr, key, 36, NULL);
	const guint8 hdr[16] = { 0, 0, 0x40, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf + head, payload, sizeof(payload));
	buf[head + 5] = 1;                    /* padding */
	buf[head + 6] = 1;                    /* pad length */
	buf[head + 7] = ESP_NEXT_HEADER_IPV4; /* next header */
	memcpy(aad, buf, 8);
	g_assert_true(vpnd_aead_encrypt(aead, buf + 8, aad, 8, buf + head, ct_len,
					buf + head + ct_len));
	g_assert_cmpint(esp_sa_open(rx, buf, head + ct_len + 16, 0, &off, &len, &nh), ==, ESP_OK);
	g_assert_cmpmem(buf + off, len, payload, sizeof(payload));
	g_assert_cmpuint(nh, ==, ESP_NEXT_HEADER_IPV4);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	const char *dir = g_getenv("VPND_PLUGIN_BUILDDIR");
	const char *backends[] = { "gnutls", "openssl" };

	g_test_init(&argc, &argv, NULL);
	g_assert_nonnull(dir);
	host = host_new();
	loader = plugin_loader_new(host);
	g_assert_true(plugin_loader_load_one(loader, dir, "crypto-gnutls", &error));
	g_assert_true(plugin_loader_load_one(loader, dir, "crypto-openssl", &error));

	for (guint i = 0; i < G_N_ELEMENTS(suites); i++) {
		for (guint a = 0; a < 2; a++) {
			for (guint b = 0; b < 2; b++) {
				RoundTrip *rt = g_new0(RoundTrip, 1);
				*rt = (RoundTrip){ &suites[i], backends[a], backends[b] };
				g_autofree char *path = g_strdup_printf(
					"/esp/sa/%s/%s-to-%s", suites[i].name, backends[a], backends[b]);
				g_test_add_data_func_full(path, rt, test_round_trip, g_free);
			}
		}
		g_autofree char *path = g_strdup_printf("/esp/sa/%s/drops", suites[i].name);
		g_test_add_data_func(path, &suites[i], test_drops);
	}
	g_test_add_func("/esp/sa/bad-padding", test_bad_padding);
	g_test_add_func("/esp/sa/gcm-four-byte-padding", test_gcm_four_byte_padding);
	int status = g_test_run();
	plugin_loader_free(loader);
	host_free(host);
	return status;
}
