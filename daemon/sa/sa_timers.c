/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sa/sa_timers.h"

typedef struct {
	gint64 when;
	guint32 ike_sa_id;
	guint32 pos; /* its index in the heap */
	guint8 kind; /* IkeTimerKind */
} Timer;

typedef struct {
	GSource source;
	SaTimers *timers;
} TimerSource;

struct SaTimers {
	SaTimerFunc func;
	gpointer data;
	GPtrArray *heap; /* Timer *, heap[0] the earliest; owns them */
	GHashTable *set; /* the same Timers, by (ike_sa_id, kind) */
	GSource *source; /* ready at heap[0]->when; -1 while the heap is empty */
};

static guint
timer_hash(gconstpointer p)
{
	const Timer *t = p;

	return t->ike_sa_id * IKE_TIMER_COUNT + t->kind;
}

static gboolean
timer_equal(gconstpointer a, gconstpointer b)
{
	const Timer *x = a, *y = b;

	return x->ike_sa_id == y->ike_sa_id && x->kind == y->kind;
}

/* Ties by SA and kind: the order does not depend on the heap's history. */
static gboolean
earlier(const Timer *a, const Timer *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	return a->ike_sa_id != b->ike_sa_id ? a->ike_sa_id < b->ike_sa_id : a->kind < b->kind;
}

static Timer *
at(SaTimers *t, guint pos)
{
	return t->heap->pdata[pos];
}

static void
place(SaTimers *t, guint pos, Timer *timer)
{
	t->heap->pdata[pos] = timer;
	timer->pos = pos;
}

static void
sift_up(SaTimers *t, guint pos)
{
	Timer *timer = at(t, pos);

	while (pos > 0 && earlier(timer, at(t, (pos - 1) / 2))) {
		place(t, pos, at(t, (pos - 1) / 2));
		pos = (pos - 1) / 2;
	}
	place(t, pos, timer);
}

static void
sift_down(SaTimers *t, guint pos)
{
	Timer *timer = at(t, pos);
	guint n = t->heap->len;

	for (;;) {
		guint child = 2 * pos + 1;

		if (child >= n)
			break;
		if (child + 1 < n && earlier(at(t, child + 1), at(t, child)))
			child++;
		if (!earlier(at(t, child), timer))
			break;
		place(t, pos, at(t, child));
		pos = child;
	}
	place(t, pos, timer);
}

static void
update_source(SaTimers *t)
{
	g_source_set_ready_time(t->source, t->heap->len ? at(t, 0)->when : -1);
}

/* Takes @timer out of the heap and the index and frees it. */
static void
remove_timer(SaTimers *t, Timer *timer)
{
	guint pos = timer->pos;
	Timer *last = g_ptr_array_steal_index(t->heap, t->heap->len - 1);

	g_hash_table_remove(t->set, timer);
	if (last != timer) {
		place(t, pos, last);
		sift_up(t, pos);
		sift_down(t, last->pos);
	}
	g_free(timer);
}

/* One due timer per dispatch round: what it runs may arm or cancel any other. */
static gboolean
dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	SaTimers *t = ((TimerSource *)source)->timers;
	gint64 now = g_get_monotonic_time();

	while (t->heap->len && at(t, 0)->when <= now) {
		Timer *due = at(t, 0);
		guint32 id = due->ike_sa_id;
		IkeTimerKind kind = (IkeTimerKind)due->kind;

		remove_timer(t, due);
		t->func(id, kind, now, t->data);
		now = g_get_monotonic_time();
	}
	update_source(t);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = { .dispatch = dispatch };

SaTimers *
sa_timers_new(SaTimerFunc func, gpointer data)
{
	SaTimers *t = g_new0(SaTimers, 1);

	t->func = func;
	t->data = data;
	t->heap = g_ptr_array_new_with_free_func(g_free);
	t->set = g_hash_table_new(timer_hash, timer_equal);
	t->source = g_source_new(&timer_source_funcs, sizeof(TimerSource));
	((TimerSource *)t->source)->timers = t;
	g_source_set_name(t->source, "vpnd IKE timers");
	update_source(t);
	g_source_attach(t->source, NULL);
	return t;
}

void
sa_timers_free(SaTimers *t)
{
	if (!t)
		return;
	g_source_destroy(t->source);
	g_source_unref(t->source);
	g_hash_table_unref(t->set);
	g_ptr_array_unref(t->heap);
	g_free(t);
}

void
sa_timers_set(SaTimers *t, guint32 ike_sa_id, IkeTimerKind kind, gint64 when)
{
	Timer probe = { .ike_sa_id = ike_sa_id, .kind = (guint8)kind };
	Timer *timer = g_hash_table_lookup(t->set, &probe);

	if (timer)
		remove_timer(t, timer);
	if (when >= 0) {
		timer = g_new(Timer, 1);
		*timer = (Timer){ when, ike_sa_id, t->heap->len, (guint8)kind };
		g_ptr_array_add(t->heap, timer);
		g_hash_table_add(t->set, timer);
		sift_up(t, timer->pos);
	}
	update_source(t);
}

guint
sa_timers_count(SaTimers *t)
{
	return t->heap->len;
}
