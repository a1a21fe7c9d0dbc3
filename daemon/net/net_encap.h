/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a datagram on the NAT-T port (4500) carries, RFC 3948:
 *   §2.2  IKE behind a 4-byte zero non-ESP marker (an ESP SPI is never 0);
 *   §2.3  a NAT keepalive: one byte, 0xFF;
 *   else  ESP in UDP, starting with its non-zero SPI.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NET_NON_ESP_MARKER_LEN 4
#define NET_KEEPALIVE_BYTE 0xFF
/* SPI and sequence number: anything shorter cannot be ESP */
#define NET_ESP_MIN_LEN 8

typedef enum {
	NET_ENCAP_IKE,       /* strip NET_NON_ESP_MARKER_LEN bytes, hand to IKE */
	NET_ENCAP_ESP,       /* hand unmodified to the ESP data plane */
	NET_ENCAP_KEEPALIVE, /* count, otherwise ignore */
	NET_ENCAP_MALFORMED, /* too short to be any of these: drop */
} NetEncapKind;

NetEncapKind net_encap_classify(const guint8 *data, gsize len);
const char *net_encap_kind_to_string(NetEncapKind kind);

G_END_DECLS
