/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>

#include "vpnd-config.h"
#include "control/control.h"

G_DEFINE_QUARK(vpnd - control - error - quark, control_error)

typedef struct {
	guint id;
	ControlLogFunc func;
	gpointer user_data;
} LogSub;

/* A line logged by another thread, waiting for the main thread. */
typedef struct {
	LogLevel level;
	char *domain;
	char *message;
	guint thread;
} QueuedLine;

struct Control {
	ControlHooks hooks;
	GDateTime *started;
	gint64 started_mono;
	GThread *main_thread;
	guint log_watch;
	GArray *subs; /* LogSub */
	guint last_sub_id;
	gboolean dispatching;
	/* lines from other threads; the lock guards both fields */
	GMutex lock;
	GQueue queued;
	GSource *flush_source;
};

static void
queued_line_free(gpointer data)
{
	QueuedLine *q = data;

	g_free(q->domain);
	g_free(q->message);
	g_free(q);
}

/* Thread numbers as log lines show them: small and stable, the first caller gets 1. */
static guint
thread_number(void)
{
	static gint last;
	static GPrivate number;
	guint n = GPOINTER_TO_UINT(g_private_get(&number));

	if (!n) {
		n = (guint)g_atomic_int_add(&last, 1) + 1;
		g_private_set(&number, GUINT_TO_POINTER(n));
	}
	return n;
}

static void
dispatch(Control *ctl, const ControlLogLine *line)
{
	if (ctl->dispatching)
		return; /* a subscriber logged: passing that on could loop */
	ctl->dispatching = TRUE;
	/* by index: a subscriber may remove itself */
	for (guint i = 0; i < ctl->subs->len; i++) {
		LogSub sub = g_array_index(ctl->subs, LogSub, i);
		sub.func(line, sub.user_data);
	}
	ctl->dispatching = FALSE;
}

static gboolean
flush_queued(gpointer user_data)
{
	Control *ctl = user_data;
	GQueue lines = G_QUEUE_INIT;

	g_mutex_lock(&ctl->lock);
	lines = ctl->queued;
	g_queue_init(&ctl->queued);
	g_clear_pointer(&ctl->flush_source, g_source_unref);
	g_mutex_unlock(&ctl->lock);

	for (GList *l = lines.head; l; l = l->next) {
		const QueuedLine *q = l->data;
		ControlLogLine line = { q->level, q->domain, q->message, q->thread };
		dispatch(ctl, &line);
	}
	g_queue_clear_full(&lines, queued_line_free);
	return G_SOURCE_REMOVE;
}

/* Another thread's line: subscribers run in the main thread only. */
static void
queue_line(Control *ctl, const ControlLogLine *line)
{
	QueuedLine *q = g_new0(QueuedLine, 1);

	q->level = line->level;
	q->domain = g_strdup(line->domain);
	q->message = g_strdup(line->message);
	q->thread = line->thread;
	g_mutex_lock(&ctl->lock);
	g_queue_push_tail(&ctl->queued, q);
	if (!ctl->flush_source) {
		ctl->flush_source = g_idle_source_new();
		g_source_set_callback(ctl->flush_source, flush_queued, ctl, NULL);
		g_source_attach(ctl->flush_source, NULL);
	}
	g_mutex_unlock(&ctl->lock);
}

static void
on_log(LogLevel level, const char *domain, const char *message, gpointer user_data)
{
	Control *ctl = user_data;
	ControlLogLine line = {
		.level = level,
		.domain = domain ? domain : "",
		.message = message ? message : "",
		.thread = thread_number(),
	};

	if (g_thread_self() == ctl->main_thread)
		dispatch(ctl, &line);
	else
		queue_line(ctl, &line);
}

Control *
control_new(const ControlHooks *hooks)
{
	Control *ctl = g_new0(Control, 1);

	ctl->hooks = *hooks;
	ctl->started = g_date_time_new_now_local();
	ctl->started_mono = g_get_monotonic_time();
	ctl->main_thread = g_thread_self();
	thread_number(); /* the main thread is number 1 if it asks first */
	ctl->subs = g_array_new(FALSE, FALSE, sizeof(LogSub));
	g_mutex_init(&ctl->lock);
	g_queue_init(&ctl->queued);
	ctl->log_watch = log_watch_add(on_log, ctl);
	return ctl;
}

void
control_free(Control *ctl)
{
	if (!ctl)
		return;
	log_watch_remove(ctl->log_watch);
	g_mutex_lock(&ctl->lock);
	if (ctl->flush_source) {
		g_source_destroy(ctl->flush_source);
		g_clear_pointer(&ctl->flush_source, g_source_unref);
	}
	g_queue_clear_full(&ctl->queued, queued_line_free);
	g_mutex_unlock(&ctl->lock);
	g_mutex_clear(&ctl->lock);
	g_array_unref(ctl->subs);
	g_date_time_unref(ctl->started);
	g_free(ctl);
}

void
control_get_version(Control *ctl, ControlVersion *version)
{
	*version = (ControlVersion){ .daemon = "vpnd", .version = VPND_VERSION };
	version->have_uname = uname(&version->uts) == 0;
}

static void
get_heap(ControlStats *stats)
{
	struct mallinfo2 mi = mallinfo2();

	stats->have_mallinfo = TRUE;
	stats->heap_sbrk = mi.arena;
	stats->heap_mmap = mi.hblkhd;
	stats->heap_used = mi.uordblks;
	stats->heap_free = mi.fordblks;
}

void
control_get_stats(Control *ctl, ControlStats *stats)
{
	*stats = (ControlStats){ 0 };
	stats->started = g_date_time_ref(ctl->started);
	stats->running_s = (g_get_monotonic_time() - ctl->started_mono) / G_USEC_PER_SEC;
	/*
	 * One thread, the main loop, does all the work, and it is busy answering this very
	 * question: one worker, none idle, one active at normal priority. Nothing waits in a
	 * job queue; timers live in the GLib main context, which cannot count them.
	 */
	stats->workers_total = 1;
	stats->workers_idle = 0;
	stats->workers_active[CONTROL_PRIO_MEDIUM] = 1;
	/* no IKE engine yet: no IKE_SAs */
	stats->plugins = ctl->hooks.list_plugins ? ctl->hooks.list_plugins(ctl->hooks.user_data)
						 : g_ptr_array_new();
	get_heap(stats);
}

void
control_stats_clear(ControlStats *stats)
{
	g_clear_pointer(&stats->started, g_date_time_unref);
	g_clear_pointer(&stats->plugins, g_ptr_array_unref);
}

gboolean
control_reload_settings(Control *ctl, GError **error)
{
	g_autoptr(GError) local = NULL;

	if (!ctl->hooks.reload) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_UNSUPPORTED,
			    "reloading settings is not supported");
		return FALSE;
	}
	if (!ctl->hooks.reload(ctl->hooks.user_data, &local)) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_FAILED,
			    "reloading settings failed: %s",
			    local ? local->message : "unknown error");
		return FALSE;
	}
	return TRUE;
}

guint
control_log_watch_add(Control *ctl, ControlLogFunc func, gpointer user_data)
{
	LogSub sub = { .id = ++ctl->last_sub_id, .func = func, .user_data = user_data };

	g_array_append_val(ctl->subs, sub);
	return sub.id;
}

void
control_log_watch_remove(Control *ctl, guint id)
{
	for (guint i = 0; i < ctl->subs->len; i++) {
		if (g_array_index(ctl->subs, LogSub, i).id == id) {
			g_array_remove_index(ctl->subs, i);
			return;
		}
	}
}
