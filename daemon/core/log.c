/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <unistd.h>

#include "core/log.h"

G_DEFINE_QUARK(vpnd-log-error-quark, log_error)

static const char *const domains[] = {
	"core", "cfg", "ctl", "ike", "knl", "net", "enc", "vici", "dbus", NULL,
};
#define N_DOMAINS (G_N_ELEMENTS(domains) - 1)
#define LEVEL_UNSET (-1)

/* Plain ints read by the writer from any thread; written with g_atomic. */
static gint domain_level[N_DOMAINS] = { [0 ... N_DOMAINS - 1] = LEVEL_UNSET };
static gint default_level = LOG_LEVEL_MESSAGE;
static gboolean use_journal;
static gboolean writer_installed; /* log_init() ran: this file's levels decide */
static GLogLevelFlags fatal_mask; /* G_DEBUG=fatal-criticals etc., as GLib's own writer */

typedef struct {
	guint id;
	LogWatchFunc func;
	gpointer user_data;
} LogWatch;
static GArray *watches; /* LogWatch; touched only from the main thread */
static guint last_watch_id;

typedef struct {
	guint id;
	LogTraceFunc func;
	LogLevel level; /* the most verbose level it wants */
	gpointer user_data;
} LogTrace;
/* LogTrace; added and removed while other threads log, hence the (recursive: a tracer
 * may log) lock */
static GArray *traces;
static GRecMutex traces_lock;
static gint n_traces; /* atomic: lets the writer skip the lock when nobody traces */
static gint trace_level = LEVEL_UNSET; /* atomic: the most verbose level a tracer wants */

static const char *const level_names[] = { "error", "warning", "message", "info", "debug" };

const char *const *
log_domains(void)
{
	return domains;
}

static gint
domain_index(const char *domain)
{
	for (guint i = 0; domain && i < N_DOMAINS; i++) {
		if (g_str_equal(domains[i], domain))
			return (gint)i;
	}
	return -1;
}

const char *
log_level_to_string(LogLevel level)
{
	return level <= LOG_LEVEL_DEBUG ? level_names[level] : "unknown";
}

gboolean
log_level_parse(const char *text, LogLevel *level, GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(level_names); i++) {
		if (g_ascii_strcasecmp(text, level_names[i]) == 0 ||
		    (text[0] == (char)('0' + i) && text[1] == '\0')) {
			*level = (LogLevel)i;
			return TRUE;
		}
	}
	g_set_error(error, LOG_ERROR, LOG_ERROR_UNKNOWN_LEVEL,
		    "unknown log level \"%s\" (use error, warning, message, info or debug)", text);
	return FALSE;
}

gboolean
log_set_level(const char *domain, LogLevel level, GError **error)
{
	if (g_str_equal(domain, "default")) {
		g_atomic_int_set(&default_level, level);
		return TRUE;
	}
	gint i = domain_index(domain);
	if (i < 0) {
		g_autofree char *known = g_strjoinv(" ", (char **)domains);
		g_set_error(error, LOG_ERROR, LOG_ERROR_UNKNOWN_DOMAIN,
			    "unknown log domain \"%s\" (known: default %s)", domain, known);
		return FALSE;
	}
	g_atomic_int_set(&domain_level[i], level);
	return TRUE;
}

LogLevel
log_get_level(const char *domain)
{
	gint i = domain_index(domain);
	gint level = i < 0 ? LEVEL_UNSET : g_atomic_int_get(&domain_level[i]);

	return level == LEVEL_UNSET ? (LogLevel)g_atomic_int_get(&default_level) : (LogLevel)level;
}

void
log_reset_levels(void)
{
	for (guint i = 0; i < N_DOMAINS; i++)
		g_atomic_int_set(&domain_level[i], LEVEL_UNSET);
	g_atomic_int_set(&default_level, LOG_LEVEL_MESSAGE);
}

gboolean
log_apply_spec(const char *spec, GError **error)
{
	const char *eq = strchr(spec, '=');
	g_autofree char *domain = eq ? g_strndup(spec, eq - spec) : g_strdup("default");
	const char *value = eq ? eq + 1 : spec;
	LogLevel level;

	if (!*domain || !*value) {
		g_set_error(error, LOG_ERROR, LOG_ERROR_SYNTAX,
			    "\"%s\": expected DOMAIN=LEVEL, e.g. ike=debug", spec);
		return FALSE;
	}
	return log_level_parse(value, &level, error) && log_set_level(domain, level, error);
}

static LogLevel
flags_to_level(GLogLevelFlags flags)
{
	if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return LOG_LEVEL_ERROR;
	if (flags & G_LOG_LEVEL_WARNING)
		return LOG_LEVEL_WARNING;
	if (flags & G_LOG_LEVEL_MESSAGE)
		return LOG_LEVEL_MESSAGE;
	if (flags & G_LOG_LEVEL_INFO)
		return LOG_LEVEL_INFO;
	return LOG_LEVEL_DEBUG;
}

gboolean
log_enabled(const char *domain, GLogLevelFlags flags)
{
	return flags_to_level(flags) <= log_get_level(domain);
}

gboolean
vpnd_log_wanted(const char *domain, GLogLevelFlags level)
{
	/* without our writer, GLib's decides (G_MESSAGES_DEBUG in tests) */
	return !writer_installed || (gint)flags_to_level(level) <= g_atomic_int_get(&trace_level) ||
	       log_enabled(domain, level);
}

static const char *
field_string(const GLogField *fields, gsize n_fields, const char *key)
{
	for (gsize i = 0; i < n_fields; i++) {
		if (g_str_equal(fields[i].key, key))
			return fields[i].length < 0 ? fields[i].value : NULL;
	}
	return NULL;
}

/* The local time zone, looked up once: GLib's g_date_time_new_now_local() re-reads
 * /etc/localtime (a stat and a readlink) for every call, i.e. for every log line. A
 * change of the system's zone shows after a restart; daylight saving time needs none. */
static GTimeZone *
local_zone(void)
{
	static GTimeZone *zone;

	if (g_once_init_enter(&zone))
		g_once_init_leave(&zone, g_time_zone_new_local());
	return zone;
}

/* "12:00:01.234 ike   warning: text" — the level only where it is not routine. */
static void
write_stderr(LogLevel level, const char *domain, const char *message)
{
	g_autoptr(GDateTime) now = g_date_time_new_now(local_zone());
	g_autofree char *stamp = g_date_time_format(now, "%H:%M:%S");
	const char *tag = level <= LOG_LEVEL_WARNING ? level_names[level] : NULL;

	fprintf(stderr, "%s.%03d %-5s %s%s%s\n", stamp, g_date_time_get_microsecond(now) / 1000,
		domain ? domain : "-", tag ? tag : "", tag ? ": " : "", message ? message : "");
	fflush(stderr);
}

static void
run_traces(GLogLevelFlags flags, const char *domain, const GLogField *fields, gsize n_fields)
{
	g_rec_mutex_lock(&traces_lock);
	for (guint i = 0; traces && i < traces->len; i++) {
		LogTrace t = g_array_index(traces, LogTrace, i);
		if (flags_to_level(flags) > t.level)
			continue;
		t.func(flags_to_level(flags), domain, field_string(fields, n_fields, "MESSAGE"),
		       field_string(fields, n_fields, "VPND_CONN"), t.user_data);
	}
	g_rec_mutex_unlock(&traces_lock);
}

static GLogWriterOutput
writer(GLogLevelFlags flags, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	const char *domain = field_string(fields, n_fields, "GLIB_DOMAIN");

	if (g_atomic_int_get(&n_traces))
		run_traces(flags, domain, fields, n_fields);
	if (!log_enabled(domain, flags))
		return G_LOG_WRITER_HANDLED;
	const char *message = field_string(fields, n_fields, "MESSAGE");
	for (guint i = 0; watches && i < watches->len; i++) {
		const LogWatch *w = &g_array_index(watches, LogWatch, i);
		w->func(flags_to_level(flags), domain, message, w->user_data);
	}
	if (!use_journal ||
	    g_log_writer_journald(flags, fields, n_fields, user_data) != G_LOG_WRITER_HANDLED)
		write_stderr(flags_to_level(flags), domain, message);
	if (flags & fatal_mask)
		G_BREAKPOINT(); /* SIGTRAP, as g_log would: a core dump at the culprit */
	return G_LOG_WRITER_HANDLED;
}

void
log_init(gboolean force_stderr)
{
	use_journal = !force_stderr && g_log_writer_is_journald(fileno(stderr));
	/* a custom writer must apply the always-fatal mask itself; reading it means setting it */
	fatal_mask = g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_log_set_always_fatal(fatal_mask);
	fatal_mask &= ~G_LOG_FATAL_MASK;
	g_log_set_writer_func(writer, NULL, NULL);
	writer_installed = TRUE;
}

/* Call with traces_lock held. */
static void
update_trace_level(void)
{
	gint level = LEVEL_UNSET;

	for (guint i = 0; traces && i < traces->len; i++)
		level = MAX(level, (gint)g_array_index(traces, LogTrace, i).level);
	g_atomic_int_set(&trace_level, level);
}

guint
log_trace_add(LogTraceFunc func, LogLevel level, gpointer user_data)
{
	LogTrace t = { .func = func, .level = level, .user_data = user_data };

	g_rec_mutex_lock(&traces_lock);
	t.id = ++last_watch_id;
	if (!traces)
		traces = g_array_new(FALSE, FALSE, sizeof(LogTrace));
	g_array_append_val(traces, t);
	g_atomic_int_inc(&n_traces);
	update_trace_level();
	g_rec_mutex_unlock(&traces_lock);
	return t.id;
}

void
log_trace_set_level(guint id, LogLevel level)
{
	g_rec_mutex_lock(&traces_lock);
	for (guint i = 0; traces && i < traces->len; i++) {
		if (g_array_index(traces, LogTrace, i).id == id)
			g_array_index(traces, LogTrace, i).level = level;
	}
	update_trace_level();
	g_rec_mutex_unlock(&traces_lock);
}

void
log_trace_remove(guint id)
{
	g_rec_mutex_lock(&traces_lock);
	for (guint i = 0; traces && i < traces->len; i++) {
		if (g_array_index(traces, LogTrace, i).id == id) {
			g_array_remove_index(traces, i);
			g_atomic_int_add(&n_traces, -1);
			break;
		}
	}
	update_trace_level();
	g_rec_mutex_unlock(&traces_lock);
}

guint
log_watch_add(LogWatchFunc func, gpointer user_data)
{
	LogWatch w = { .id = ++last_watch_id, .func = func, .user_data = user_data };

	if (!watches)
		watches = g_array_new(FALSE, FALSE, sizeof(LogWatch));
	g_array_append_val(watches, w);
	return w.id;
}

void
log_watch_remove(guint id)
{
	for (guint i = 0; watches && i < watches->len; i++) {
		if (g_array_index(watches, LogWatch, i).id == id) {
			g_array_remove_index(watches, i);
			return;
		}
	}
}
