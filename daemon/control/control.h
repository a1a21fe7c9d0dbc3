/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one internal control API (ARCHITECTURE.md "Control"). VICI and D-Bus are thin
 * adapters over it; nothing here knows their wire formats.
 *
 * For now: the daemon's identity, its counters, reloading the settings and a
 * subscription to log lines. Connections, SAs, credentials and pools follow with the
 * engine and the config store.
 */
#pragma once

#include <glib.h>
#include <sys/utsname.h>

#include "core/log.h"

G_BEGIN_DECLS

#define CONTROL_ERROR (control_error_quark())
GQuark control_error_quark(void);

typedef enum {
	CONTROL_ERROR_FAILED,      /* the action was tried and failed; the message says why */
	CONTROL_ERROR_UNSUPPORTED, /* vpnd cannot do this (yet) */
} ControlError;

/* What the daemon lends the control API; it outlives the Control object. */
typedef struct {
	/* Re-reads the settings; FALSE and @error when the old ones were kept. */
	gboolean (*reload)(gpointer user_data, GError **error);
	/* Names of the loaded plugins, in load order. (transfer container) */
	GPtrArray *(*list_plugins)(gpointer user_data);
	gpointer user_data;
} ControlHooks;

typedef struct Control Control;

/* Call from the main thread: it marks the start of the uptime and is the thread that
 * log subscribers are called in. */
Control *control_new(const ControlHooks *hooks);
void control_free(Control *ctl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Control, control_free)

typedef struct {
	const char *daemon;  /* "vpnd" */
	const char *version; /* VPND_VERSION */
	gboolean have_uname; /* FALSE if uname(2) failed: uts is then unset */
	struct utsname uts;
} ControlVersion;

void control_get_version(Control *ctl, ControlVersion *version);

/* Job priorities of a worker pool, most urgent first. */
typedef enum {
	CONTROL_PRIO_CRITICAL,
	CONTROL_PRIO_HIGH,
	CONTROL_PRIO_MEDIUM,
	CONTROL_PRIO_LOW,
} ControlPrio;
#define CONTROL_N_PRIOS 4

typedef struct {
	GDateTime *started; /* local time of control_new() */
	gint64 running_s;   /* monotonic seconds since then */
	/* Threads doing daemon work, and what they do right now. */
	guint workers_total;
	guint workers_idle;
	guint workers_active[CONTROL_N_PRIOS];
	guint jobs_queued[CONTROL_N_PRIOS];
	guint jobs_scheduled;
	guint ikesas_total;
	guint ikesas_half_open;
	GPtrArray *plugins; /* names, load order */
	gboolean have_mallinfo;
	guint64 heap_sbrk; /* mallinfo2(): arena */
	guint64 heap_mmap; /* hblkhd */
	guint64 heap_used; /* uordblks */
	guint64 heap_free; /* fordblks */
} ControlStats;

/* Fills @stats; release it with control_stats_clear(). */
void control_get_stats(Control *ctl, ControlStats *stats);
void control_stats_clear(ControlStats *stats);

/* Re-reads the daemon's settings (as SIGHUP does). */
gboolean control_reload_settings(Control *ctl, GError **error);

typedef struct {
	LogLevel level;
	const char *domain;  /* "ike", "cfg", …; never NULL ("" if unknown) */
	const char *message; /* may contain newlines */
	guint thread;        /* small number of the logging thread; the main thread is 1 */
} ControlLogLine;

/*
 * Called in the main thread for every log line that passes its domain's threshold.
 * Lines logged while a subscriber runs (by the subscriber itself, say) are not passed
 * on, so a subscriber that logs cannot loop.
 */
typedef void (*ControlLogFunc)(const ControlLogLine *line, gpointer user_data);
guint control_log_watch_add(Control *ctl, ControlLogFunc func, gpointer user_data);
void control_log_watch_remove(Control *ctl, guint id);

G_END_DECLS
