/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "esp_replay.h"

void
esp_replay_init(EspReplay *replay, guint32 size, gboolean esn)
{
	size = MIN(size, ESP_REPLAY_MAX_SIZE);
	size = (size + 63) / 64 * 64;
	*replay = (EspReplay){ .size = size, .esn = esn };
	replay->bits = size > 64 ? g_new0(guint64, size / 64) : size ? &replay->word : NULL;
}

void
esp_replay_clear(EspReplay *replay)
{
	if (replay->bits != &replay->word)
		g_free(replay->bits);
	replay->bits = NULL;
}

static gboolean
bit_test(const EspReplay *r, guint64 seq)
{
	guint64 i = seq % r->size;

	return (r->bits[i / 64] >> (i % 64)) & 1;
}

static void
bit_set(EspReplay *r, guint64 seq)
{
	guint64 i = seq % r->size;

	r->bits[i / 64] |= G_GUINT64_CONSTANT(1) << (i % 64);
}

static void
bit_clear(EspReplay *r, guint64 seq)
{
	guint64 i = seq % r->size;

	r->bits[i / 64] &= ~(G_GUINT64_CONSTANT(1) << (i % 64));
}

/*
 * RFC 4303 A2.2: the high half is the top's, or one more when the low half wrapped
 * past the top, or one less when the packet belongs just left of a wrapped window.
 * With a window of W, Tl and Seql are compared against the window's bottom Tl - W + 1.
 */
static gboolean
infer_esn(const EspReplay *r, guint32 seql, guint64 *seq)
{
	guint32 th = (guint32)(r->top >> 32);
	guint32 tl = (guint32)r->top;
	guint32 w = MAX(r->size, 1);
	guint32 bottom = tl - w + 1; /* modulo 2^32 */
	guint32 seqh;

	if (tl >= w - 1) {
		seqh = seql >= bottom ? th : th + 1;
	} else {
		if (seql >= bottom && th == 0)
			return FALSE; /* before the first epoch: nothing was ever sent there */
		seqh = seql >= bottom ? th - 1 : th;
	}
	*seq = ((guint64)seqh << 32) | seql;
	return TRUE;
}

EspReplayResult
esp_replay_check(const EspReplay *replay, guint32 seq_low, guint64 *seq)
{
	guint64 s = seq_low;

	if (replay->esn && !infer_esn(replay, seq_low, &s)) {
		*seq = seq_low;
		return ESP_REPLAY_TOO_OLD;
	}
	*seq = s;
	if (s == 0)
		return ESP_REPLAY_INVALID;
	if (replay->size == 0 || s > replay->top)
		return ESP_REPLAY_OK;
	if (replay->top - s >= replay->size)
		return ESP_REPLAY_TOO_OLD;
	return bit_test(replay, s) ? ESP_REPLAY_DUPLICATE : ESP_REPLAY_OK;
}

void
esp_replay_accept(EspReplay *replay, guint64 seq)
{
	if (replay->size == 0) {
		replay->top = MAX(replay->top, seq);
		return;
	}
	if (seq > replay->top) {
		/* the bits between the old top and seq are packets not yet seen */
		guint64 gap = seq - replay->top;
		if (gap >= replay->size) {
			memset(replay->bits, 0, replay->size / 8);
		} else {
			for (guint64 s = replay->top + 1; s < seq; s++)
				bit_clear(replay, s);
		}
		replay->top = seq;
	}
	bit_set(replay, seq);
}

const char *
esp_replay_result_to_string(EspReplayResult result)
{
	switch (result) {
	case ESP_REPLAY_OK:
		return "ok";
	case ESP_REPLAY_DUPLICATE:
		return "replayed";
	case ESP_REPLAY_TOO_OLD:
		return "too old";
	case ESP_REPLAY_INVALID:
		return "invalid sequence number";
	}
	return "unknown";
}
