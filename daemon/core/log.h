/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging: GLib structured logging with one log domain per subsystem (ARCHITECTURE.md)
 * and a threshold per domain that can change at run time. Goes to journald when stderr
 * is connected to the journal (JOURNAL_STREAM), to stderr otherwise.
 */
#pragma once

#include <glib.h>
#include <vpnd/log.h>

G_BEGIN_DECLS

/* Ordered from least to most verbose. */
typedef enum {
	LOG_LEVEL_ERROR,   /* g_critical and g_error only */
	LOG_LEVEL_WARNING, /* the operator must fix something */
	LOG_LEVEL_MESSAGE, /* one line per SA event (the default) */
	LOG_LEVEL_INFO,    /* exchange summaries */
	LOG_LEVEL_DEBUG,   /* payload detail */
} LogLevel;

#define LOG_ERROR (log_error_quark())
GQuark log_error_quark(void);
typedef enum {
	LOG_ERROR_UNKNOWN_DOMAIN,
	LOG_ERROR_UNKNOWN_LEVEL,
	LOG_ERROR_SYNTAX,
} LogError;

/* The subsystems' domains, NULL-terminated: core cfg ctl ike knl net enc vici dbus. */
const char *const *log_domains(void);

/* Installs the writer. @force_stderr ignores JOURNAL_STREAM (tests). */
void log_init(gboolean force_stderr);

/* Thresholds; @domain "default" sets the one used by domains not set explicitly. */
gboolean log_set_level(const char *domain, LogLevel level, GError **error);
LogLevel log_get_level(const char *domain);
/* Back to LOG_LEVEL_MESSAGE everywhere. */
void log_reset_levels(void);

/* "error", "warning", "message", "info", "debug", or 0…4. */
gboolean log_level_parse(const char *text, LogLevel *level, GError **error);
const char *log_level_to_string(LogLevel level);
/* "DOMAIN=LEVEL" as given to --debug; a bare "LEVEL" sets the default. */
gboolean log_apply_spec(const char *spec, GError **error);

/*
 * Observers of every line that passes its domain's threshold (VICI `log` events, tests).
 * Called in the logging thread, before the line is written.
 */
typedef void (*LogWatchFunc)(LogLevel level, const char *domain, const char *message,
			     gpointer user_data);
guint log_watch_add(LogWatchFunc func, gpointer user_data);
void log_watch_remove(guint id);

/*
 * Tracers see every line up to their @level in the main program, whatever the
 * thresholds, with the connection it is about (the VPND_CONN field; NULL if none): VICI
 * control-log streams an initiate's lines at the level the client asked for. Called in
 * the logging thread. Lines above every tracer's level and the thresholds are not even
 * formatted (vpnd_log_wanted()), so a tracer asks for no more than it uses.
 */
typedef void (*LogTraceFunc)(LogLevel level, const char *domain, const char *message,
			     const char *conn, gpointer user_data);
guint log_trace_add(LogTraceFunc func, LogLevel level, gpointer user_data);
void log_trace_set_level(guint id, LogLevel level);
void log_trace_remove(guint id);

/* Whether a message of @flags in @domain would be written. */
gboolean log_enabled(const char *domain, GLogLevelFlags flags);

G_END_DECLS
