/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <netdb.h>
#include <malloc.h>
#include <string.h>

#include "vpnd-config.h"
#include "control/control.h"

G_DEFINE_QUARK(vpnd - control - error - quark, control_error)

/* A subscriber of any kind; func is the kind's function type. */
typedef struct {
	guint id;
	gpointer func;
	gpointer user_data;
	LogLevel level; /* traces: the most verbose level wanted */
} Sub;

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
	GArray *subs;      /* Sub: ControlLogFunc */
	guint last_sub_id; /* of every kind of Sub */
	gboolean dispatching;
	GQueue history;    /* QueuedLine, oldest first, at most CONTROL_LOG_HISTORY */
	GArray *conn_subs; /* Sub: ControlConnFunc */
	/* lines from other threads; the lock guards both fields */
	GMutex lock;
	GQueue queued;
	GSource *flush_source;
	GPtrArray *pools;   /* ControlPool, in load order */
	GArray *traces;     /* Sub: ControlTraceFunc */
	guint log_trace;    /* log_trace_add() id while traces is not empty */
	gboolean tracing;   /* a tracer runs: lines it logs are not passed on */
	GArray *sa_subs;    /* Sub: ControlSaFunc */
	guint sa_views_holds;
	GArray *rekey_subs; /* Sub: ControlRekeyFunc */
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
		Sub sub = g_array_index(ctl->subs, Sub, i);
		((ControlLogFunc)sub.func)(line, sub.user_data);
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

static void control_pool_free(ControlPool *pool);

Control *
control_new(const ControlHooks *hooks)
{
	Control *ctl = g_new0(Control, 1);

	ctl->hooks = *hooks;
	ctl->started = g_date_time_new_now_local();
	ctl->started_mono = g_get_monotonic_time();
	ctl->main_thread = g_thread_self();
	thread_number(); /* the main thread is number 1 if it asks first */
	ctl->subs = g_array_new(FALSE, FALSE, sizeof(Sub));
	g_mutex_init(&ctl->lock);
	g_queue_init(&ctl->queued);
	g_queue_init(&ctl->history);
	ctl->conn_subs = g_array_new(FALSE, FALSE, sizeof(Sub));
	ctl->log_watch = log_watch_add(on_log, ctl);
	ctl->pools = g_ptr_array_new_with_free_func((GDestroyNotify)control_pool_free);
	ctl->traces = g_array_new(FALSE, FALSE, sizeof(Sub));
	ctl->sa_subs = g_array_new(FALSE, FALSE, sizeof(Sub));
	ctl->rekey_subs = g_array_new(FALSE, FALSE, sizeof(Sub));
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
	g_ptr_array_unref(ctl->pools);
	if (ctl->log_trace)
		log_trace_remove(ctl->log_trace);
	g_array_unref(ctl->traces);
	g_array_unref(ctl->sa_subs);
	g_array_unref(ctl->rekey_subs);
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

static void
count_ike_sas(Control *ctl, ControlStats *stats)
{
	g_autoptr(GPtrArray) sas = control_list_sas(ctl);

	stats->ikesas_total = sas->len;
	for (guint i = 0; i < sas->len; i++) {
		const ControlIkeSa *sa = sas->pdata[i];
		if (g_str_equal(sa->state, "CREATED") || g_str_equal(sa->state, "CONNECTING"))
			stats->ikesas_half_open++;
	}
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
	count_ike_sas(ctl, stats);
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

static guint
subs_add(Control *ctl, GArray *subs, gpointer func, gpointer user_data)
{
	Sub sub = { .id = ++ctl->last_sub_id, .func = func, .user_data = user_data };

	g_array_append_val(subs, sub);
	return sub.id;
}

static void
subs_remove(GArray *subs, guint id)
{
	for (guint i = 0; i < subs->len; i++) {
		if (g_array_index(subs, Sub, i).id == id) {
			g_array_remove_index(subs, i);
			return;
		}
	}
}

guint
control_log_watch_add(Control *ctl, ControlLogFunc func, gpointer user_data)
{
	return subs_add(ctl, ctl->subs, func, user_data);
}

void
control_log_watch_remove(Control *ctl, guint id)
{
	subs_remove(ctl->subs, id);
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
	g_autoptr(GPtrArray) conns = NULL;
	ControlConn *one;

	/* one connection, not a copy of all of them with their counters read */
	if (ctl->hooks.lookup_connection) {
		if ((one = ctl->hooks.lookup_connection(ctl->hooks.user_data, name)))
			return one;
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND,
			    "connection \"%s\" not found", name);
		return NULL;
	}
	conns = control_list_connections(ctl);
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
	g_autoptr(GError) local = NULL;
	char **names = ctl->hooks.load(ctl->hooks.user_data, text, origin, &local);

	if (names)
		return names;
	/* a parser's or a loader's error: the text was wrong */
	if (local->domain != CONTROL_ERROR)
		g_set_error_literal(error, CONTROL_ERROR, CONTROL_ERROR_INVALID_ARGUMENT,
				    local->message);
	else
		g_propagate_error(error, g_steal_pointer(&local));
	return NULL;
}

gboolean
control_unload_connection(Control *ctl, const char *name, GError **error)
{
	return call_name_hook(ctl, ctl->hooks.unload, name, "unloading", error);
}

guint
control_conn_watch_add(Control *ctl, ControlConnFunc func, gpointer user_data)
{
	return subs_add(ctl, ctl->conn_subs, func, user_data);
}

void
control_conn_watch_remove(Control *ctl, guint id)
{
	subs_remove(ctl->conn_subs, id);
}

void
control_publish_conn(Control *ctl, ControlConnEvent event, const ControlConn *conn)
{
	/* by index: a watcher may remove itself */
	for (guint i = 0; i < ctl->conn_subs->len; i++) {
		Sub sub = g_array_index(ctl->conn_subs, Sub, i);
		((ControlConnFunc)sub.func)(event, conn, sub.user_data);
	}
}

/* ---- Configurations and keys ---- */

GPtrArray *
control_list_conn_configs(Control *ctl)
{
	if (!ctl->hooks.list_conn_configs)
		return g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);
	return ctl->hooks.list_conn_configs(ctl->hooks.user_data);
}

static gboolean
unsupported(GError **error, const char *what)
{
	g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_UNSUPPORTED, "%s is not available yet",
		    what);
	return FALSE;
}

gboolean
control_load_shared(Control *ctl, const char *name, const char *const *owners,
		    const VpndSecret *secret, GError **error)
{
	if (!ctl->hooks.load_shared)
		return unsupported(error, "loading keys");
	if (!name || !*name || !secret || !secret->len) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_INVALID_ARGUMENT,
			    "a shared key needs a name and a non-empty secret");
		return FALSE;
	}
	return ctl->hooks.load_shared(ctl->hooks.user_data, name, owners, secret, error);
}

gboolean
control_unload_shared(Control *ctl, const char *name, GError **error)
{
	if (!ctl->hooks.unload_shared)
		return unsupported(error, "unloading keys");
	return ctl->hooks.unload_shared(ctl->hooks.user_data, name, error);
}

GStrv
control_list_shared(Control *ctl)
{
	if (!ctl->hooks.list_shared)
		return g_new0(char *, 1);
	return ctl->hooks.list_shared(ctl->hooks.user_data);
}

/* ---- Pools ---- */

static void
control_pool_free(ControlPool *pool)
{
	g_free(pool->name);
	g_free(pool->addrs);
	g_free(pool->base);
	g_free(pool);
}

/* @b - @a + 1, saturated at G_MAXUINT32; 0 if @b < @a. */
static guint32
addr_span(const guint8 *a, const guint8 *b, gsize len)
{
	guint64 diff = 0;

	if (memcmp(a, b, len) > 0)
		return 0;
	for (gsize i = 0; i < len; i++) {
		if (diff > G_MAXUINT32)
			return G_MAXUINT32;
		diff = diff * 256 + b[i] - a[i];
	}
	return diff >= G_MAXUINT32 ? G_MAXUINT32 : (guint32)diff + 1;
}

static int
parse_ip(const char *text, guint8 *out)
{
	if (inet_pton(AF_INET, text, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, text, out) == 1)
		return AF_INET6;
	return 0;
}

/*
 * "net/prefix": based at the network address, whose first and last addresses are not
 * handed out (as charon counts, for IPv6 too); "a-b": both ends included; a single
 * address: a pool of one.
 */
static gboolean
pool_range(ControlPool *pool, GError **error)
{
	g_auto(GStrv) range = g_strsplit(pool->addrs, "-", 2);
	g_auto(GStrv) cidr = g_strsplit(range[0], "/", 2);
	guint8 first[16] = { 0 }, last[16] = { 0 };
	int family = parse_ip(g_strstrip(cidr[0]), first);
	gsize len = family == AF_INET ? 4 : 16;
	char buf[INET6_ADDRSTRLEN];

	if (family && range[1] && !cidr[1] && parse_ip(g_strstrip(range[1]), last) == family) {
		pool->size = addr_span(first, last, len);
	} else if (family && cidr[1] && !range[1]) {
		char *end = NULL;
		guint64 bits = g_ascii_strtoull(cidr[1], &end, 10);
		guint host_bits = (guint)(len * 8 - MIN(bits, len * 8));

		if (end == cidr[1] || *end || bits > len * 8)
			family = 0;
		for (guint i = 0; family && i < len * 8; i++)
			if (i >= bits)
				first[i / 8] &= (guint8) ~(0x80 >> (i % 8));
		pool->size = host_bits >= 32 ? G_MAXUINT32 : 1u << host_bits;
		if (host_bits >= 2)
			pool->size -= 2;
	} else if (family && !range[1] && !cidr[1]) {
		pool->size = 1;
	} else {
		family = 0;
	}
	if (!family || pool->size == 0) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_INVALID_ARGUMENT,
			    "pool %s: \"%s\" is not an address, a subnet or a range", pool->name,
			    pool->addrs);
		return FALSE;
	}
	pool->base = g_strdup(inet_ntop(family, first, buf, sizeof(buf)));
	return TRUE;
}

static gint
find_pool(Control *ctl, const char *name)
{
	for (guint i = 0; i < ctl->pools->len; i++) {
		if (g_strcmp0(((ControlPool *)ctl->pools->pdata[i])->name, name) == 0)
			return (gint)i;
	}
	return -1;
}

gboolean
control_load_pool(Control *ctl, const char *name, const char *addrs, GError **error)
{
	ControlPool *pool = g_new0(ControlPool, 1);
	gint at;

	pool->name = g_strdup(name);
	pool->addrs = g_strdup(addrs ? addrs : "");
	if (!name || !*name || !pool_range(pool, error)) {
		if (error && !*error)
			g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_INVALID_ARGUMENT,
				    "a pool needs a name");
		control_pool_free(pool);
		return FALSE;
	}
	at = find_pool(ctl, name);
	if (at < 0) {
		g_ptr_array_add(ctl->pools, pool);
	} else {
		control_pool_free(ctl->pools->pdata[at]);
		ctl->pools->pdata[at] = pool;
	}
	vpnd_info("pool %s: %s, %u addresses", name, pool->base, pool->size);
	return TRUE;
}

gboolean
control_unload_pool(Control *ctl, const char *name, GError **error)
{
	gint at = find_pool(ctl, name);

	if (at < 0) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND, "pool \"%s\" not found",
			    name);
		return FALSE;
	}
	g_ptr_array_remove_index(ctl->pools, (guint)at);
	return TRUE;
}

GPtrArray *
control_list_pools(Control *ctl)
{
	GPtrArray *list = g_ptr_array_sized_new(ctl->pools->len);

	/* not g_ptr_array_copy(): that would take the free function along */
	for (guint i = 0; i < ctl->pools->len; i++)
		g_ptr_array_add(list, ctl->pools->pdata[i]);
	return list;
}

/* ---- Traffic selectors ---- */

/* The prefix length if [@from, @to] is one subnet, else -1. */
static gint
ts_prefix(const guint8 *from, const guint8 *to, gsize len)
{
	guint prefix = 0;

	while (prefix < len * 8 && !((from[prefix / 8] ^ to[prefix / 8]) & (0x80 >> (prefix % 8))))
		prefix++;
	for (guint i = prefix; i < len * 8; i++) {
		guint8 bit = 0x80 >> (i % 8);
		if ((from[i / 8] & bit) || !(to[i / 8] & bit))
			return -1;
	}
	return (gint)prefix;
}

static void
append_ts_ports(GString *out, const VpndTs *ts)
{
	struct protoent *proto = ts->ip_proto ? getprotobynumber(ts->ip_proto) : NULL;
	gboolean any_port = ts->from_port == 0 && ts->to_port == 65535;

	if (!ts->ip_proto && any_port)
		return;
	g_string_append_c(out, '[');
	if (proto)
		g_string_append(out, proto->p_name);
	else
		g_string_append_printf(out, "%u", ts->ip_proto);
	if (ts->from_port == ts->to_port) {
		struct servent *serv =
			proto ? getservbyport(htons(ts->from_port), proto->p_name) : NULL;
		if (serv)
			g_string_append_printf(out, "/%s", serv->s_name);
		else
			g_string_append_printf(out, "/%u", ts->from_port);
	} else if (!any_port) {
		g_string_append_printf(out, "/%u-%u", ts->from_port, ts->to_port);
	}
	g_string_append_c(out, ']');
}

char *
control_format_ts(const VpndTs *ts, gboolean dynamic)
{
	GString *out = g_string_new(NULL);
	int family = ts->family == AF_INET6 ? AF_INET6 : AF_INET;
	gsize len = family == AF_INET ? 4 : 16;
	char from[INET6_ADDRSTRLEN], to[INET6_ADDRSTRLEN];
	gint prefix;

	if (dynamic) {
		g_string_append(out, "dynamic");
	} else {
		inet_ntop(family, ts->from, from, sizeof(from));
		inet_ntop(family, ts->to, to, sizeof(to));
		prefix = ts_prefix(ts->from, ts->to, len);
		if (prefix >= 0)
			g_string_append_printf(out, "%s/%d", from, prefix);
		else
			g_string_append_printf(out, "%s..%s", from, to);
	}
	append_ts_ports(out, ts);
	/* to its length, not the GString's 64 or more: SA views keep these for every child */
	char *text = g_strndup(out->str, out->len);
	g_string_free(out, TRUE);
	return text;
}

/* ---- SAs and counters ---- */

/* Copies @text to *@at, moves *@at past it. */
static const char *
put_text(char **at, const char *text)
{
	gsize len = strlen(text) + 1;
	char *copy = memcpy(*at, text, len);

	*at += len;
	return copy;
}

static gsize
texts_size(char **texts)
{
	gsize size = 0;

	for (guint i = 0; texts && texts[i]; i++)
		size += strlen(texts[i]) + 1;
	return size;
}

/* @texts as a NULL-terminated list at *@list, their bytes at *@at. */
static const char *const *
put_list(const char ***list, char **at, char **texts)
{
	const char **first = *list;
	guint n = texts ? g_strv_length(texts) : 0;

	for (guint i = 0; i < n; i++)
		first[i] = put_text(at, texts[i]);
	first[n] = NULL;
	*list += n + 1;
	return first;
}

ControlChildSa *
control_child_sa_new(const char *name, char **local_ts, char **remote_ts)
{
	guint n = (local_ts ? g_strv_length(local_ts) : 0) +
		  (remote_ts ? g_strv_length(remote_ts) : 0) + 2;
	gsize size = sizeof(ControlChildSa) + n * sizeof(char *) + strlen(name) + 1 +
		     texts_size(local_ts) + texts_size(remote_ts);
	ControlChildSa *c = g_malloc0(size);
	const char **list = (const char **)(c + 1);
	char *at = (char *)(list + n);

	c->local_ts = put_list(&list, &at, local_ts);
	c->remote_ts = put_list(&list, &at, remote_ts);
	c->name = put_text(&at, name);
	return c;
}

void
control_child_sa_free(ControlChildSa *c)
{
	g_free(c);
}

ControlIkeSa *
control_ike_sa_new(const char *name, const char *local_host, const char *remote_host,
		   const char *local_id, const char *remote_id, guint n_children)
{
	const char *texts[] = { name, local_host, remote_host, local_id, remote_id };
	gsize size = sizeof(ControlIkeSa) + n_children * sizeof(ControlChildSa *);

	for (guint i = 0; i < G_N_ELEMENTS(texts); i++)
		size += strlen(texts[i]) + 1;
	ControlIkeSa *sa = g_malloc0(size);
	char *at = (char *)((ControlChildSa **)(sa + 1) + n_children);

	sa->n_children = n_children;
	sa->children = (ControlChildSa **)(sa + 1);
	sa->name = put_text(&at, name);
	sa->local_host = put_text(&at, local_host);
	sa->remote_host = put_text(&at, remote_host);
	sa->local_id = put_text(&at, local_id);
	sa->remote_id = put_text(&at, remote_id);
	return sa;
}

void
control_ike_sa_free(ControlIkeSa *sa)
{
	if (!sa)
		return;
	for (guint i = 0; i < sa->n_children; i++)
		control_child_sa_free(sa->children[i]);
	g_free(sa);
}

GPtrArray *
control_list_sas(Control *ctl)
{
	if (!ctl->hooks.list_sas)
		return g_ptr_array_new_with_free_func((GDestroyNotify)control_ike_sa_free);
	return ctl->hooks.list_sas(ctl->hooks.user_data);
}

void
control_policy_free(ControlPolicy *policy)
{
	if (!policy)
		return;
	g_free(policy->conn);
	g_free(policy->child);
	g_strfreev(policy->local_ts);
	g_strfreev(policy->remote_ts);
	g_free(policy);
}

GPtrArray *
control_list_policies(Control *ctl)
{
	if (!ctl->hooks.list_policies)
		return g_ptr_array_new_with_free_func((GDestroyNotify)control_policy_free);
	return ctl->hooks.list_policies(ctl->hooks.user_data);
}

gboolean
control_install_trap(Control *ctl, const char *ike, const char *child, GError **error)
{
	if (!ctl->hooks.install_trap)
		return unsupported(error, "trap policies");
	return ctl->hooks.install_trap(ctl->hooks.user_data, ike, child, error);
}

gboolean
control_uninstall_trap(Control *ctl, const char *ike, const char *child, GError **error)
{
	if (!ctl->hooks.uninstall_trap)
		return unsupported(error, "trap policies");
	return ctl->hooks.uninstall_trap(ctl->hooks.user_data, ike, child, error);
}

void
control_get_counters(Control *ctl, ControlCounters *counters)
{
	*counters = (ControlCounters){ 0 };
	if (ctl->hooks.get_counters)
		ctl->hooks.get_counters(ctl->hooks.user_data, counters);
}

void
control_reset_counters(Control *ctl)
{
	if (ctl->hooks.reset_counters)
		ctl->hooks.reset_counters(ctl->hooks.user_data);
}

/* ---- Following negotiations ---- */

gboolean
control_initiate_child(Control *ctl, const char *name, const char *child, GError **error)
{
	g_autoptr(ControlConn) conn = control_lookup_connection(ctl, name, error);

	if (!conn)
		return FALSE;
	if (!ctl->hooks.initiate_child)
		return unsupported(error, "negotiation");
	return ctl->hooks.initiate_child(ctl->hooks.user_data, name, child, error);
}

typedef gboolean (*SelectorHook)(gpointer user_data, const ControlSaSelector *sel,
				 guint *matches, GError **error);

/* Unknown connections first, as call_name_hook(). */
static gboolean
call_selector_hook(Control *ctl, SelectorHook hook, const ControlSaSelector *sel, const char *what,
		   guint *matches, GError **error)
{
	g_autoptr(ControlConn) conn = control_lookup_connection(ctl, sel->conn, error);

	*matches = 0;
	if (!conn)
		return FALSE;
	if (!hook)
		return unsupported(error, what);
	return hook(ctl->hooks.user_data, sel, matches, error);
}

gboolean
control_rekey(Control *ctl, const ControlSaSelector *sel, guint *matches, GError **error)
{
	return call_selector_hook(ctl, ctl->hooks.rekey, sel, "rekeying", matches, error);
}

gboolean
control_terminate_sas(Control *ctl, const ControlSaSelector *sel, guint *matches, GError **error)
{
	return call_selector_hook(ctl, ctl->hooks.terminate_sas, sel, "deleting an SA", matches,
				  error);
}

static void
on_trace(LogLevel level, const char *domain, const char *message, const char *conn,
	 gpointer user_data)
{
	Control *ctl = user_data;
	ControlLogLine line = {
		.level = level,
		.domain = domain ? domain : "",
		.message = message ? message : "",
		.thread = thread_number(),
		.time = g_get_real_time(),
	};

	/* negotiations run in the main thread; other threads' lines are not theirs */
	if (g_thread_self() != ctl->main_thread || ctl->tracing)
		return;
	ctl->tracing = TRUE;
	for (guint i = 0; i < ctl->traces->len; i++) {
		Sub sub = g_array_index(ctl->traces, Sub, i);
		if (level <= sub.level)
			((ControlTraceFunc)sub.func)(&line, conn, sub.user_data);
	}
	ctl->tracing = FALSE;
}

/* The one log trace stands for all: at the most verbose level any of them wants. */
static LogLevel
traces_level(Control *ctl)
{
	LogLevel level = LOG_LEVEL_ERROR;

	for (guint i = 0; i < ctl->traces->len; i++)
		level = MAX(level, g_array_index(ctl->traces, Sub, i).level);
	return level;
}

guint
control_trace_add(Control *ctl, ControlTraceFunc func, LogLevel level, gpointer user_data)
{
	guint id = subs_add(ctl, ctl->traces, func, user_data);

	g_array_index(ctl->traces, Sub, ctl->traces->len - 1).level = level;
	if (!ctl->log_trace)
		ctl->log_trace = log_trace_add(on_trace, level, ctl);
	else
		log_trace_set_level(ctl->log_trace, traces_level(ctl));
	return id;
}

void
control_trace_remove(Control *ctl, guint id)
{
	subs_remove(ctl->traces, id);
	if (ctl->traces->len == 0 && ctl->log_trace) {
		log_trace_remove(ctl->log_trace);
		ctl->log_trace = 0;
	} else if (ctl->log_trace) {
		log_trace_set_level(ctl->log_trace, traces_level(ctl));
	}
}

guint
control_sa_watch_add(Control *ctl, ControlSaFunc func, gpointer user_data)
{
	return subs_add(ctl, ctl->sa_subs, func, user_data);
}

void
control_sa_watch_remove(Control *ctl, guint id)
{
	subs_remove(ctl->sa_subs, id);
}

static void
sa_views_changed(Control *ctl)
{
	if (ctl->hooks.sa_views_changed)
		ctl->hooks.sa_views_changed(ctl->hooks.user_data, ctl->sa_views_holds > 0);
}

void
control_sa_views_hold(Control *ctl)
{
	if (ctl->sa_views_holds++ == 0)
		sa_views_changed(ctl);
}

void
control_sa_views_release(Control *ctl)
{
	g_return_if_fail(ctl->sa_views_holds > 0);
	if (--ctl->sa_views_holds == 0)
		sa_views_changed(ctl);
}

gboolean
control_sa_views_wanted(Control *ctl)
{
	return ctl->sa_views_holds > 0;
}

void
control_publish_sa(Control *ctl, ControlSaEvent event, const ControlIkeSa *sa, const char *child,
		   const char *reason)
{
	/* by index: a watcher may remove itself */
	for (guint i = 0; i < ctl->sa_subs->len; i++) {
		Sub sub = g_array_index(ctl->sa_subs, Sub, i);
		((ControlSaFunc)sub.func)(event, sa, child, reason ? reason : "", sub.user_data);
	}
}

guint
control_rekey_watch_add(Control *ctl, ControlRekeyFunc func, gpointer user_data)
{
	return subs_add(ctl, ctl->rekey_subs, func, user_data);
}

void
control_rekey_watch_remove(Control *ctl, guint id)
{
	subs_remove(ctl->rekey_subs, id);
}

void
control_publish_rekey(Control *ctl, const ControlIkeSa *old_sa, const ControlIkeSa *new_sa,
		      const char *child, guint32 old_spi, guint32 new_spi)
{
	for (guint i = 0; i < ctl->rekey_subs->len; i++) {
		Sub sub = g_array_index(ctl->rekey_subs, Sub, i);
		((ControlRekeyFunc)sub.func)(old_sa, new_sa, child, old_spi, new_spi,
					     sub.user_data);
	}
}
