/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What arrives on the NAT-T port (RFC 3948 §2.2, §2.3): IKE, ESP, keepalive or junk. */
#include <glib.h>

#include "net/net_encap.h"

typedef struct {
	const char *name;
	const guint8 *data;
	gsize len;
	NetEncapKind kind;
} EncapCase;

static const guint8 keepalive[] = { 0xff };
static const guint8 not_keepalive[] = { 0xfe };
static const guint8 two_ff[] = { 0xff, 0xff };
static const guint8 marker_only[] = { 0, 0, 0, 0 };
static const guint8 ike[] = { 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
static const guint8 ike_one_byte[] = { 0, 0, 0, 0, 0x01 };
static const guint8 esp[] = { 0x00, 0x00, 0x10, 0x01, 0, 0, 0, 1, 0xaa, 0xbb };
static const guint8 esp_min[] = { 0xc0, 0xff, 0xee, 0x00, 0, 0, 0, 7 };
static const guint8 esp_short[] = { 0xc0, 0xff, 0xee, 0x00, 0, 0, 0 };
static const guint8 three_zero[] = { 0, 0, 0 };
/* an SPI whose first three bytes are zero is still ESP: only all four make the marker */
static const guint8 esp_spi_1[] = { 0, 0, 0, 1, 0, 0, 0, 1 };

static const EncapCase encap_cases[] = {
	{ "keepalive", keepalive, sizeof(keepalive), NET_ENCAP_KEEPALIVE },
	{ "one-byte-not-ff", not_keepalive, sizeof(not_keepalive), NET_ENCAP_MALFORMED },
	{ "two-ff", two_ff, sizeof(two_ff), NET_ENCAP_MALFORMED },
	{ "empty", keepalive, 0, NET_ENCAP_MALFORMED },
	{ "three-zero", three_zero, sizeof(three_zero), NET_ENCAP_MALFORMED },
	{ "marker-only", marker_only, sizeof(marker_only), NET_ENCAP_MALFORMED },
	{ "ike", ike, sizeof(ike), NET_ENCAP_IKE },
	{ "ike-one-byte", ike_one_byte, sizeof(ike_one_byte), NET_ENCAP_IKE },
	{ "esp", esp, sizeof(esp), NET_ENCAP_ESP },
	{ "esp-min", esp_min, sizeof(esp_min), NET_ENCAP_ESP },
	{ "esp-short", esp_short, sizeof(esp_short), NET_ENCAP_MALFORMED },
	{ "esp-spi-1", esp_spi_1, sizeof(esp_spi_1), NET_ENCAP_ESP },
};

static void
test_classify(gconstpointer data)
{
	const EncapCase *c = data;

	g_assert_cmpstr(net_encap_kind_to_string(net_encap_classify(c->data, c->len)), ==,
			net_encap_kind_to_string(c->kind));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(encap_cases); i++) {
		g_autofree char *path = g_strdup_printf("/net/encap/%s", encap_cases[i].name);

		g_test_add_data_func(path, &encap_cases[i], test_classify);
	}
	return g_test_run();
}
