/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sa/sa_timers.h"

/* The timers of one IKE SA: the heap orders SAs by their earliest. */
typedef struct {
	gint64 when[IKE_TIMER_COUNT]; /* -1: not armed */
	gint64 next;                  /* the earliest of when[] */
	guint32 ike_sa_id;            /* the hash set's key */
	guint32 pos;                  /* its index in the heap */
} SaEntry;

typedef struct {
	GSource source;
	SaTimers *timers;
} TimerSource;

struct SaTimers {
	SaTimerFunc func;
	gpointer data;
	GPtrArray *heap; /* SaEntry *, heap[0] the earliest; owns them */
	GHashTable *set; /* the same SaEntries, by ike_sa_id */
	guint count;     /* timers armed */
	GSource *source; /* ready at heap[0]->next; -1 while the heap is empty */
};

static guint
entry_hash(gconstpointer p)
{
	return ((const SaEntry *)p)->ike_sa_id;
}

static gboolean
entry_equal(gconstpointer a, gconstpointer b)
{
	return ((const SaEntry *)a)->ike_sa_id == ((const SaEntry *)b)->ike_sa_id;
}

/* The kind due first in @e (the lowest kind among equal times); -1 when none is armed. */
static int
first_kind(const SaEntry *e)
{
	int first = -1;

	for (int k = 0; k < IKE_TIMER_COUNT; k++)
		if (e->when[k] >= 0 && (first < 0 || e->when[k] < e->when[first]))
			first = k;
	return first;
}

/* Ties by SA id: the order does not depend on the heap's history. */
static gboolean
earlier(const SaEntry *a, const SaEntry *b)
{
	return a->next < b->next || (a->next == b->next && a->ike_sa_id < b->ike_sa_id);
}

static SaEntry *
at(SaTimers *t, guint pos)
{
	return t->heap->pdata[pos];
}

static void
place(SaTimers *t, guint pos, SaEntry *e)
{
	t->heap->pdata[pos] = e;
	e->pos = pos;
}

static void
sift_up(SaTimers *t, guint pos)
{
	SaEntry *e = at(t, pos);

	while (pos > 0 && earlier(e, at(t, (pos - 1) / 2))) {
		place(t, pos, at(t, (pos - 1) / 2));
		pos = (pos - 1) / 2;
	}
	place(t, pos, e);
}

static void
sift_down(SaTimers *t, guint pos)
{
	SaEntry *e = at(t, pos);
	guint n = t->heap->len;

	for (;;) {
		guint child = 2 * pos + 1;

		if (child >= n)
			break;
		if (child + 1 < n && earlier(at(t, child + 1), at(t, child)))
			child++;
		if (!earlier(at(t, child), e))
			break;
		place(t, pos, at(t, child));
		pos = child;
	}
	place(t, pos, e);
}

/* After @e's times changed: back to its place in the heap, or out and freed if none is
 * armed any more. */
static void
reorder(SaTimers *t, SaEntry *e)
{
	int first = first_kind(e);

	if (first >= 0) {
		e->next = e->when[first];
		sift_up(t, e->pos);
		sift_down(t, e->pos);
		return;
	}
	SaEntry *last = g_ptr_array_steal_index(t->heap, t->heap->len - 1);
	guint pos = e->pos;

	g_hash_table_remove(t->set, e);
	if (last != e) {
		place(t, pos, last);
		sift_up(t, pos);
		sift_down(t, last->pos);
	}
	g_free(e);
}

/* One due timer at a time: what it runs may arm or cancel any other. */
static gboolean
dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	SaTimers *t = ((TimerSource *)source)->timers;
	gint64 now = g_get_monotonic_time();

	while (t->heap->len && at(t, 0)->next <= now) {
		SaEntry *due = at(t, 0);
		guint32 id = due->ike_sa_id;
		int kind = first_kind(due);

		due->when[kind] = -1;
		t->count--;
		reorder(t, due);
		t->func(id, (IkeTimerKind)kind, now, t->data);
		now = g_get_monotonic_time();
	}
	return G_SOURCE_CONTINUE;
}

/*
 * The poll timeout comes from the heap's first entry each loop round, rather than from
 * g_source_set_ready_time() on every change: that call wakes the loop (an eventfd
 * write and one more poll round) even from the loop's own thread.
 */
static gboolean
prepare(GSource *source, gint *timeout)
{
	SaTimers *t = ((TimerSource *)source)->timers;
	gint64 wait;

	if (!t->heap->len) {
		*timeout = -1;
		return FALSE;
	}
	wait = at(t, 0)->next - g_source_get_time(source);
	if (wait <= 0) {
		*timeout = 0;
		return TRUE;
	}
	/* round up: poll() waking a little early would only go round again */
	*timeout = (gint)MIN((wait + 999) / 1000, G_MAXINT);
	return FALSE;
}

static gboolean
check(GSource *source)
{
	SaTimers *t = ((TimerSource *)source)->timers;

	return t->heap->len && at(t, 0)->next <= g_source_get_time(source);
}

static GSourceFuncs timer_source_funcs = { .prepare = prepare, .check = check, .dispatch = dispatch };

SaTimers *
sa_timers_new(SaTimerFunc func, gpointer data)
{
	SaTimers *t = g_new0(SaTimers, 1);

	t->func = func;
	t->data = data;
	t->heap = g_ptr_array_new_with_free_func(g_free);
	t->set = g_hash_table_new(entry_hash, entry_equal);
	t->source = g_source_new(&timer_source_funcs, sizeof(TimerSource));
	((TimerSource *)t->source)->timers = t;
	g_source_set_name(t->source, "vpnd IKE timers");
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
	SaEntry probe = { .ike_sa_id = ike_sa_id };
	SaEntry *e = g_hash_table_lookup(t->set, &probe);

	g_return_if_fail((guint)kind < IKE_TIMER_COUNT);
	if (!e) {
		if (when < 0)
			return;
		e = g_new(SaEntry, 1);
		for (int k = 0; k < IKE_TIMER_COUNT; k++)
			e->when[k] = -1;
		e->ike_sa_id = ike_sa_id;
		e->pos = t->heap->len;
		g_ptr_array_add(t->heap, e);
		g_hash_table_add(t->set, e);
	}
	t->count += (when >= 0) - (e->when[kind] >= 0);
	e->when[kind] = when < 0 ? -1 : when;
	reorder(t, e);
}

guint
sa_timers_count(SaTimers *t)
{
	return t->count;
}
