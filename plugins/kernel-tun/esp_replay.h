/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ESP anti-replay window of RFC 4303 §3.4.3, with extended sequence numbers
 * inferred as in its Appendix A2. A packet is checked before its ICV is (cheap
 * rejection of replays) and marked seen only after its ICV verified, so forged
 * packets cannot move the window.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ESP_REPLAY_DEFAULT_SIZE 64
#define ESP_REPLAY_MAX_SIZE 4096

typedef enum {
	ESP_REPLAY_OK,        /* new: check the ICV, then esp_replay_accept() */
	ESP_REPLAY_DUPLICATE, /* inside the window and seen already */
	ESP_REPLAY_TOO_OLD,   /* left of the window */
	ESP_REPLAY_INVALID,   /* sequence number 0, which no sender uses */
} EspReplayResult;

typedef struct {
	guint64 top;   /* highest sequence number accepted, 0 before the first */
	guint32 size;  /* window in packets, a multiple of 64; 0: no replay check */
	gboolean esn;  /* 64-bit sequence numbers, low 32 bits on the wire */
	guint64 *bits; /* size bits; bit (seq % size) set when seq was accepted */
	guint64 word;  /* bits of a window of 64 (the usual one: no allocation per SA) */
} EspReplay;

/* @size is rounded up to a multiple of 64 and capped at ESP_REPLAY_MAX_SIZE. A window
 * of 64 lives in @replay itself, which must not move while in use. */
void esp_replay_init(EspReplay *replay, guint32 size, gboolean esn);
void esp_replay_clear(EspReplay *replay);

/*
 * Checks the 32 bits of sequence number a packet carries; @seq gets the full number
 * (with the inferred high half under ESN, which the ICV then covers).
 */
EspReplayResult esp_replay_check(const EspReplay *replay, guint32 seq_low, guint64 *seq);
/* Marks @seq seen, sliding the window when it is new on the right. */
void esp_replay_accept(EspReplay *replay, guint64 seq);

const char *esp_replay_result_to_string(EspReplayResult result);

G_END_DECLS
