/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One direction of an ESP SA (RFC 4303) in userspace: sealing and opening packets in
 * place, with the anti-replay window and the counters the engine reads back.
 *
 * Packet layout, in one buffer:
 *
 *   | SPI | seq | IV | payload … | padding | pad len | next hdr | ICV |
 *   '-- esp_sa_headroom() --'                        '-- up to esp_sa_tailroom() --'
 *
 * AEAD transforms use the 64-bit sequence number as their explicit IV, which RFC 4106
 * and RFC 7634 allow and which costs no random bytes per packet; AES-CBC takes a fresh
 * random IV per packet, as RFC 3602 requires.
 */
#pragma once

#include <glib.h>
#include <vpnd/crypto.h>

#include "esp_replay.h"

G_BEGIN_DECLS

#define ESP_HEADER_LEN 8 /* SPI, sequence number */
#define ESP_TRAILER_LEN 2 /* pad length, next header */
#define ESP_MAX_IV_LEN 16
#define ESP_MAX_PAD_LEN 255

#define ESP_NEXT_HEADER_IPV4 4
#define ESP_NEXT_HEADER_IPV6 41
#define ESP_NEXT_HEADER_NONE 59 /* dummy packet (RFC 4303 §2.6): dropped silently */

/* Why an inbound packet was dropped; each has its own counter. */
typedef enum {
	ESP_OK,
	ESP_DROP_MALFORMED, /* too short, or a ciphertext not a whole number of blocks */
	ESP_DROP_REPLAY,    /* seen already */
	ESP_DROP_TOO_OLD,   /* left of the replay window, or sequence number 0 */
	ESP_DROP_AUTH,      /* wrong ICV */
	ESP_DROP_PADDING,   /* pad length too long, or padding bytes not 1, 2, 3 … */
	ESP_DROP_DUMMY,     /* next header 59 */
	ESP_DROP_EXHAUSTED, /* outbound: the sequence number would cycle; rekey */
	ESP_N_RESULTS
} EspResult;

typedef struct {
	guint64 bytes;   /* payload bytes sealed or opened */
	guint64 packets;
	gint64 last_use; /* monotonic µs of the last packet, 0 if none */
	guint64 drops[ESP_N_RESULTS];
} EspCounters;

typedef struct EspSa EspSa;

/* Takes ownership of @aead. @replay_window 0 turns replay checks off (inbound only). */
EspSa *esp_sa_new_aead(guint32 spi, gboolean esn, guint32 replay_window, VpndAead *aead);
/* Takes ownership of @cipher (AES-CBC or AES-CTR) and @integ. */
EspSa *esp_sa_new_cipher(guint32 spi, gboolean esn, guint32 replay_window,
			 VpndCipher *cipher, VpndIntegrity *integ);
void esp_sa_free(EspSa *sa);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EspSa, esp_sa_free)

guint32 esp_sa_get_spi(const EspSa *sa);
const EspCounters *esp_sa_get_counters(const EspSa *sa);
/* Bytes before the payload (header and IV), and the most that may follow it. */
gsize esp_sa_headroom(const EspSa *sa);
gsize esp_sa_tailroom(const EspSa *sa);

/*
 * Seals the payload at buf + esp_sa_headroom() (@len bytes) in place; @cap is the
 * buffer's size, which must allow esp_sa_tailroom() after the payload. Returns the
 * ESP packet's length, or 0 with *@result set (ESP_DROP_EXHAUSTED).
 */
gsize esp_sa_seal(EspSa *sa, guint8 *buf, gsize len, gsize cap, guint8 next_header,
		  gint64 now, EspResult *result);

/*
 * Opens the ESP packet in @buf (@len bytes, from the SPI on) in place. On ESP_OK the
 * inner packet is at buf + *@offset, *@payload_len bytes, of type *@next_header.
 */
EspResult esp_sa_open(EspSa *sa, guint8 *buf, gsize len, gint64 now, gsize *offset,
		      gsize *payload_len, guint8 *next_header);

const char *esp_result_to_string(EspResult result);

G_END_DECLS
