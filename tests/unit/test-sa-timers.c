/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine's timers in one heap (daemon/sa/sa_timers.c) on a real GLib main loop. */
#include "sa/sa_timers.h"

typedef struct {
	GArray *fired; /* guint32: ike_sa_id * 16 + kind, in firing order */
	SaTimers *timers;
	GMainLoop *loop;
	guint until; /* quit after this many */
	gboolean rearm; /* SA 1's DPD arms SA 9's REKEY at once, from its callback */
} Run;

static void
on_fire(guint32 ike_sa_id, IkeTimerKind kind, gint64 now, gpointer data)
{
	Run *r = data;
	guint32 v = ike_sa_id * 16 + kind;

	g_assert_cmpint(now, <=, g_get_monotonic_time());
	g_array_append_val(r->fired, v);
	if (r->rearm && ike_sa_id == 1 && kind == IKE_TIMER_DPD)
		sa_timers_set(r->timers, 9, IKE_TIMER_REKEY, 0);
	if (r->fired->len == r->until)
		g_main_loop_quit(r->loop);
}

static gboolean
on_guard(gpointer data)
{
	g_error("timers did not fire within 5 s");
	return G_SOURCE_REMOVE;
}

static void
run_until(Run *r, guint n)
{
	guint guard = g_timeout_add_seconds(5, on_guard, NULL);

	r->until = n;
	g_main_loop_run(r->loop);
	g_source_remove(guard);
}

static guint32
fired(Run *r, guint i)
{
	return g_array_index(r->fired, guint32, i);
}

/* Due order over many timers, replacing, cancelling, ties, and arming from a callback. */
static void
test_order(void)
{
	Run r = { g_array_new(FALSE, FALSE, sizeof(guint32)), NULL, g_main_loop_new(NULL, FALSE) };
	gint64 t0 = g_get_monotonic_time();
	const guint n = 200;

	r.timers = sa_timers_new(on_fire, &r);
	/* SA i's CHILD timer at a pseudo-random time within 50 ms */
	for (guint i = 1; i <= n; i++)
		sa_timers_set(r.timers, i, IKE_TIMER_CHILD, t0 + (i * 7919 % 50) * 1000);
	g_assert_cmpuint(sa_timers_count(r.timers), ==, n);
	/* replaced: SA 5's comes last; cancelled: SA 6's, and one never armed */
	sa_timers_set(r.timers, 5, IKE_TIMER_CHILD, t0 + 60 * 1000);
	sa_timers_set(r.timers, 6, IKE_TIMER_CHILD, -1);
	sa_timers_set(r.timers, 7, IKE_TIMER_DPD, -1);
	g_assert_cmpuint(sa_timers_count(r.timers), ==, n - 1);
	run_until(&r, n - 1);
	g_assert_cmpuint(sa_timers_count(r.timers), ==, 0);
	g_assert_cmpuint(fired(&r, n - 2), ==, 5 * 16 + IKE_TIMER_CHILD);
	for (guint i = 1; i < r.fired->len; i++) {
		guint32 a = fired(&r, i - 1) / 16, b = fired(&r, i) / 16;
		gint64 due_a = a == 5 ? 60 : a * 7919 % 50, due_b = b == 5 ? 60 : b * 7919 % 50;

		g_assert_cmpuint(b, !=, 6);
		/* by due time; equal times by SA id */
		g_assert_true(due_a < due_b || (due_a == due_b && a < b));
	}

	/* two kinds of one SA due together, one of them arming another SA's timer */
	g_array_set_size(r.fired, 0);
	r.rearm = TRUE;
	t0 = g_get_monotonic_time();
	sa_timers_set(r.timers, 1, IKE_TIMER_REKEY, t0 + 1000);
	sa_timers_set(r.timers, 1, IKE_TIMER_DPD, t0 + 1000);
	run_until(&r, 3);
	/* DPD (kind 1) before REKEY (3); what it armed is due first */
	g_assert_cmpuint(fired(&r, 0), ==, 1 * 16 + IKE_TIMER_DPD);
	g_assert_cmpuint(fired(&r, 1), ==, 9 * 16 + IKE_TIMER_REKEY);
	g_assert_cmpuint(fired(&r, 2), ==, 1 * 16 + IKE_TIMER_REKEY);
	g_assert_cmpuint(sa_timers_count(r.timers), ==, 0);

	sa_timers_free(r.timers);
	g_main_loop_unref(r.loop);
	g_array_unref(r.fired);
}

/* Freed with timers armed: none fires later. */
static void
test_free_armed(void)
{
	Run r = { g_array_new(FALSE, FALSE, sizeof(guint32)), NULL, g_main_loop_new(NULL, FALSE) };
	GMainContext *ctx = g_main_context_default();

	r.timers = sa_timers_new(on_fire, &r);
	sa_timers_set(r.timers, 1, IKE_TIMER_EXPIRE, 0);
	sa_timers_free(r.timers);
	for (guint i = 0; i < 10; i++)
		g_main_context_iteration(ctx, FALSE);
	g_assert_cmpuint(r.fired->len, ==, 0);
	g_main_loop_unref(r.loop);
	g_array_unref(r.fired);
}

/*
 * One blocking loop round sleeps until the first timer is due and fires it: the source
 * gives poll() its timeout (no ready time) and, after the poll, sees the timer due.
 */
static void
test_one_round(void)
{
	Run r = { g_array_new(FALSE, FALSE, sizeof(guint32)), NULL, g_main_loop_new(NULL, FALSE) };
	GMainContext *ctx = g_main_context_default();
	gint64 t0;

	r.timers = sa_timers_new(on_fire, &r);
	while (g_main_context_iteration(ctx, FALSE)) /* whatever else is pending */
		;
	t0 = g_get_monotonic_time();
	sa_timers_set(r.timers, 3, IKE_TIMER_RETRANSMIT, t0 + 20 * 1000);
	sa_timers_set(r.timers, 4, IKE_TIMER_RETRANSMIT, t0 + 2 * G_USEC_PER_SEC);
	g_assert_true(g_main_context_iteration(ctx, TRUE));
	g_assert_cmpuint(r.fired->len, ==, 1);
	g_assert_cmpuint(fired(&r, 0), ==, 3 * 16 + IKE_TIMER_RETRANSMIT);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 20 * 1000);
	g_assert_cmpuint(sa_timers_count(r.timers), ==, 1);
	sa_timers_free(r.timers);
	g_main_loop_unref(r.loop);
	g_array_unref(r.fired);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sa/timers/order", test_order);
	g_test_add_func("/sa/timers/free-armed", test_free_armed);
	g_test_add_func("/sa/timers/one-round", test_one_round);
	return g_test_run();
}
