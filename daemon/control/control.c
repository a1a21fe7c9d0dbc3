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

typedef struct {
	guint id;
	ControlConnFunc func;
	gpointer user_data;
} ConnSub;

/* A line logged by another thread, waiting for the main thread; or one kept in the
 * history. @line's strings point into the owned copies. */
typedef struct {
	ControlLogLine line;
	char *domain;
	char *message;
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
	GQueue history;    /* QueuedLine, oldest first, at most CONTROL_LOG_HISTORY */
	GArray *conn_subs; /* ConnSub */
	guint last_conn_sub_id;
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

static QueuedLine *
queued_line_new(const ControlLogLine *line)
{
	QueuedLine *q = g_new0(QueuedLine, 1);

	q->line = *line;
	q->domain = g_strdup(line->domain);
	q->message = g_strdup(line->message);
	q->line.domain = q->domain;
	q->line.message = q->message;
	return q;
}

static void
remember(Control *ctl, const ControlLogLine *line)
{
	g_queue_push_tail(&ctl->history, queued_line_new(line));
	if (ctl->history.length > CONTROL_LOG_HISTORY)
		queued_line_free(g_queue_pop_head(&ctl->history));
}

static void
dispatch(Control *ctl, const ControlLogLine *line)
{
	remember(ctl, line);
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
		dispatch(ctl, &q->line);
	}
	g_queue_clear_full(&lines, queued_line_free);
	return G_SOURCE_REMOVE;
}

/* Another thread's line: subscribers run in the main thread only. */
static void
queue_line(Control *ctl, const ControlLogLine *line)
{
	QueuedLine *q = queued_line_new(line);

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
		.time = g_get_real_time(),
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
	g_queue_init(&ctl->history);
	ctl->conn_subs = g_array_new(FALSE, FALSE, sizeof(ConnSub));
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
	g_queue_clear_full(&ctl->history, queued_line_free);
	g_array_unref(ctl->subs);
	g_array_unref(ctl->conn_subs);
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

void
control_list_algorithms(Control *ctl, const char *klass, ControlAlgFunc func, gpointer user_data)
{
	if (ctl->hooks.list_algorithms)
		ctl->hooks.list_algorithms(ctl->hooks.user_data, klass, func, user_data);
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

GPtrArray *
control_log_get_history(Control *ctl)
{
	GPtrArray *lines = g_ptr_array_sized_new(ctl->history.length);

	for (GList *l = ctl->history.head; l; l = l->next) {
		QueuedLine *q = l->data;
		g_ptr_array_add(lines, &q->line);
	}
	return lines;
}

const char *
control_conn_state_to_string(ControlConnState state)
{
	switch (state) {
	case CONTROL_CONN_DOWN:
		return "down";
	case CONTROL_CONN_CONNECTING:
		return "connecting";
	case CONTROL_CONN_ESTABLISHED:
		return "established";
	case CONTROL_CONN_DISCONNECTING:
		return "disconnecting";
	}
	return "unknown";
}

ControlConn *
control_conn_new(const char *name)
{
	ControlConn *conn = g_new0(ControlConn, 1);

	conn->name = g_strdup(name);
	conn->state = CONTROL_CONN_DOWN;
	conn->local_address = g_strdup("");
	conn->remote_address = g_strdup("");
	conn->virtual_ips = g_new0(char *, 1);
	conn->last_error = g_strdup("");
	return conn;
}

ControlConn *
control_conn_copy(const ControlConn *conn)
{
	ControlConn *copy = g_new0(ControlConn, 1);

	*copy = *conn;
	copy->name = g_strdup(conn->name);
	copy->local_address = g_strdup(conn->local_address ? conn->local_address : "");
	copy->remote_address = g_strdup(conn->remote_address ? conn->remote_address : "");
	copy->virtual_ips = conn->virtual_ips ? g_strdupv(conn->virtual_ips) : g_new0(char *, 1);
	copy->last_error = g_strdup(conn->last_error ? conn->last_error : "");
	return copy;
}

void
control_conn_free(ControlConn *conn)
{
	if (!conn)
		return;
	g_free(conn->name);
	g_free(conn->local_address);
	g_free(conn->remote_address);
	g_strfreev(conn->virtual_ips);
	g_free(conn->last_error);
	g_free(conn);
}

GPtrArray *
control_list_connections(Control *ctl)
{
	if (!ctl->hooks.list_connections)
		return g_ptr_array_new_with_free_func((GDestroyNotify)control_conn_free);
	return ctl->hooks.list_connections(ctl->hooks.user_data);
}

ControlConn *
control_lookup_connection(Control *ctl, const char *name, GError **error)
{
	g_autoptr(GPtrArray) conns = control_list_connections(ctl);

	for (guint i = 0; i < conns->len; i++) {
		ControlConn *conn = conns->pdata[i];
		if (g_strcmp0(conn->name, name) == 0)
			return g_ptr_array_steal_index(conns, i);
	}
	g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND, "connection \"%s\" not found",
		    name);
	return NULL;
}

typedef gboolean (*NameHook)(gpointer user_data, const char *name, GError **error);

/* Unknown names first: that answer does not depend on what vpnd can do yet. */
static gboolean
call_name_hook(Control *ctl, NameHook hook, const char *name, const char *what, GError **error)
{
	g_autoptr(ControlConn) conn = control_lookup_connection(ctl, name, error);

	if (!conn)
		return FALSE;
	if (!hook) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_UNSUPPORTED,
			    "connection \"%s\": %s is not available yet", name, what);
		return FALSE;
	}
	return hook(ctl->hooks.user_data, name, error);
}

gboolean
control_initiate(Control *ctl, const char *name, GError **error)
{
	return call_name_hook(ctl, ctl->hooks.initiate, name, "negotiation", error);
}

gboolean
control_terminate(Control *ctl, const char *name, GError **error)
{
	return call_name_hook(ctl, ctl->hooks.terminate, name, "negotiation", error);
}

char **
control_load_connections(Control *ctl, const char *text, const char *origin, GError **error)
{
	if (!ctl->hooks.load) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_UNSUPPORTED,
			    "%s: loading connections is not available yet", origin);
		return NULL;
	}
	return ctl->hooks.load(ctl->hooks.user_data, text, origin, error);
}

gboolean
control_unload_connection(Control *ctl, const char *name, GError **error)
{
	return call_name_hook(ctl, ctl->hooks.unload, name, "unloading", error);
}

guint
control_conn_watch_add(Control *ctl, ControlConnFunc func, gpointer user_data)
{
	ConnSub sub = { .id = ++ctl->last_conn_sub_id, .func = func, .user_data = user_data };

	g_array_append_val(ctl->conn_subs, sub);
	return sub.id;
}

void
control_conn_watch_remove(Control *ctl, guint id)
{
	for (guint i = 0; i < ctl->conn_subs->len; i++) {
		if (g_array_index(ctl->conn_subs, ConnSub, i).id == id) {
			g_array_remove_index(ctl->conn_subs, i);
			return;
		}
	}
}

void
control_publish_conn(Control *ctl, ControlConnEvent event, const ControlConn *conn)
{
	/* by index: a watcher may remove itself */
	for (guint i = 0; i < ctl->conn_subs->len; i++) {
		ConnSub sub = g_array_index(ctl->conn_subs, ConnSub, i);
		sub.func(event, conn, sub.user_data);
	}
}
