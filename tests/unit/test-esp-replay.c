/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ESP anti-replay window (RFC 4303 §3.4.3, ESN inference of Appendix A2). */
#include "esp_replay.h"

/* Receives @seq as a verified packet would be: check, then accept when new. */
static EspReplayResult
receive(EspReplay *r, guint32 seq_low, guint64 *full)
{
	guint64 s;
	EspReplayResult res = esp_replay_check(r, seq_low, &s);

	if (res == ESP_REPLAY_OK)
		esp_replay_accept(r, s);
	if (full)
		*full = s;
	return res;
}

static void
test_in_order_and_duplicates(void)
{
	EspReplay r;

	esp_replay_init(&r, 64, FALSE);
	for (guint32 s = 1; s <= 200; s++)
		g_assert_cmpint(receive(&r, s, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpuint(r.top, ==, 200);
	/* everything inside the window was seen */
	for (guint32 s = 137; s <= 200; s++)
		g_assert_cmpint(receive(&r, s, NULL), ==, ESP_REPLAY_DUPLICATE);
	/* left of the window */
	g_assert_cmpint(receive(&r, 136, NULL), ==, ESP_REPLAY_TOO_OLD);
	g_assert_cmpint(receive(&r, 1, NULL), ==, ESP_REPLAY_TOO_OLD);
	g_assert_cmpint(receive(&r, 0, NULL), ==, ESP_REPLAY_INVALID);
	esp_replay_clear(&r);
}

/* Reordered packets inside the window are accepted once each. */
static void
test_reordering(void)
{
	EspReplay r;

	esp_replay_init(&r, 128, FALSE);
	g_assert_cmpint(receive(&r, 100, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 50, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 50, NULL), ==, ESP_REPLAY_DUPLICATE);
	g_assert_cmpint(receive(&r, 99, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 101, NULL), ==, ESP_REPLAY_OK);
	/* a jump clears the slots it passes: 150 reuses the slot of 22, unseen anyway */
	g_assert_cmpint(receive(&r, 150, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 149, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 100, NULL), ==, ESP_REPLAY_DUPLICATE);
	g_assert_cmpint(receive(&r, 102, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 22, NULL), ==, ESP_REPLAY_TOO_OLD);
	/* a jump by more than the window forgets everything */
	g_assert_cmpint(receive(&r, 1000, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 873, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 872, NULL), ==, ESP_REPLAY_TOO_OLD);
	esp_replay_clear(&r);
}

/* A forged packet is checked but never accepted: it cannot move the window. */
static void
test_check_does_not_move(void)
{
	EspReplay r;
	guint64 s;

	esp_replay_init(&r, 64, FALSE);
	g_assert_cmpint(receive(&r, 10, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(esp_replay_check(&r, 5000, &s), ==, ESP_REPLAY_OK);
	g_assert_cmpuint(r.top, ==, 10);
	g_assert_cmpint(receive(&r, 9, NULL), ==, ESP_REPLAY_OK);
	esp_replay_clear(&r);
}

/* Against a plain list of what was accepted, over a seeded random order. */
static void
test_random_against_model(gconstpointer data)
{
	guint32 size = GPOINTER_TO_UINT(data);
	g_autoptr(GRand) rand = g_rand_new_with_seed(size);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	EspReplay r;
	guint64 top = 0;

	esp_replay_init(&r, size, FALSE);
	for (guint i = 0; i < 20000; i++) {
		/* mostly forward, sometimes back, sometimes far ahead */
		gint32 step = g_rand_int_range(rand, -(gint32)size - 8, 12);
		guint32 seq = (guint32)CLAMP((gint64)top + step, 1, G_MAXINT32);
		EspReplayResult expect;
		if (top && top - seq >= r.size && seq <= top)
			expect = ESP_REPLAY_TOO_OLD;
		else if (g_hash_table_contains(seen, GUINT_TO_POINTER(seq)))
			expect = ESP_REPLAY_DUPLICATE;
		else
			expect = ESP_REPLAY_OK;
		g_assert_cmpint(receive(&r, seq, NULL), ==, expect);
		if (expect == ESP_REPLAY_OK) {
			g_hash_table_add(seen, GUINT_TO_POINTER(seq));
			top = MAX(top, seq);
		}
	}
	esp_replay_clear(&r);
}

static void
test_sizes(void)
{
	EspReplay r;

	esp_replay_init(&r, 100, FALSE);
	g_assert_cmpuint(r.size, ==, 128);
	esp_replay_clear(&r);
	esp_replay_init(&r, 1000000, FALSE);
	g_assert_cmpuint(r.size, ==, ESP_REPLAY_MAX_SIZE);
	esp_replay_clear(&r);
	/* 0 turns the check off: replays pass */
	esp_replay_init(&r, 0, FALSE);
	g_assert_cmpint(receive(&r, 5, NULL), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 5, NULL), ==, ESP_REPLAY_OK);
	esp_replay_clear(&r);
}

/* RFC 4303 A2: the high half is inferred across the 2^32 boundary, both ways. */
static void
test_esn(void)
{
	EspReplay r;
	guint64 full;

	esp_replay_init(&r, 64, TRUE);
	g_assert_cmpint(receive(&r, 1, &full), ==, ESP_REPLAY_OK);
	g_assert_cmpuint(full, ==, 1);
	/* just left of a window that starts at 1 would be epoch -1, which never was */
	g_assert_cmpint(receive(&r, 0xfffffff0u, &full), ==, ESP_REPLAY_TOO_OLD);
	g_assert_cmpuint(r.top, ==, 1);
	g_assert_cmpint(receive(&r, 0x7fffffffu, &full), ==, ESP_REPLAY_OK);
	g_assert_cmpint(receive(&r, 0xfffffff0u, &full), ==, ESP_REPLAY_OK);
	g_assert_cmpuint(full, ==, 0xfffffff0u);
	g_assert_cmpint(receive(&r, 0xffffffffu, &full), ==, ESP_REPLAY_OK);
	/* wraps: low 3 after top 0xffffffff is 2^32 + 3 */
	g_assert_cmpint(receive(&r, 3, &full), ==, ESP_REPLAY_OK);
	g_assert_cmpuint(full, ==, G_GUINT64_CONSTANT(0x100000003));
	g_assert_cmpuint(r.top, ==, G_GUINT64_CONSTANT(0x100000003));
	/* a late packet from before the wrap, still inside the window */
	g_assert_cmpint(receive(&r, 0xfffffffeu, &full), ==, ESP_REPLAY_OK);
	g_assert_cmpuint(full, ==, 0xfffffffeu);
	g_assert_cmpint(receive(&r, 0xffffffffu, &full), ==, ESP_REPLAY_DUPLICATE);
	/* low 0 in epoch 1 is a real sequence number under ESN */
	g_assert_cmpint(receive(&r, 0, &full), ==, ESP_REPLAY_OK);
	g_assert_cmpuint(full, ==, G_GUINT64_CONSTANT(0x100000000));
	esp_replay_clear(&r);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/esp/replay/in-order", test_in_order_and_duplicates);
	g_test_add_func("/esp/replay/reordering", test_reordering);
	g_test_add_func("/esp/replay/check-does-not-move", test_check_does_not_move);
	g_test_add_func("/esp/replay/sizes", test_sizes);
	g_test_add_func("/esp/replay/esn", test_esn);
	g_test_add_data_func("/esp/replay/model/64", GUINT_TO_POINTER(64), test_random_against_model);
	g_test_add_data_func("/esp/replay/model/1024", GUINT_TO_POINTER(1024),
			     test_random_against_model);
	g_test_add_data_func("/esp/replay/model/4096", GUINT_TO_POINTER(4096),
			     test_random_against_model);
	return g_test_run();
}
