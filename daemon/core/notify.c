/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <systemd/sd-daemon.h>
#include <time.h>

#include <vpnd/log.h>
#include "core/notify.h"

static guint watchdog_source;

static void
notify_send(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		vpnd_info("sd_notify failed: %s", g_strerror(-r));
}

void
notify_ready(const char *status)
{
	g_autofree char *state = g_strdup_printf("READY=1\nSTATUS=%s", status);

	notify_send(state);
}

/* systemd's reload protocol wants the CLOCK_MONOTONIC time of the reload request. */
void
notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	g_autofree char *state = g_strdup_printf(
		"RELOADING=1\nSTATUS=Reloading settings\nMONOTONIC_USEC=%" G_GUINT64_FORMAT,
		(guint64)ts.tv_sec * G_USEC_PER_SEC + (guint64)ts.tv_nsec / 1000);
	notify_send(state);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=Stopping");
}

void
notify_status(const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	g_autofree char *status = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_autofree char *state = g_strconcat("STATUS=", status, NULL);
	notify_send(state);
}

static gboolean
watchdog_ping(gpointer user_data)
{
	notify_send("WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

void
notify_watchdog_start(void)
{
	guint64 usec = 0;

	if (watchdog_source || sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	guint interval_ms = (guint)MAX(usec / 2000, 1);
	watchdog_source = g_timeout_add(interval_ms, watchdog_ping, NULL);
	vpnd_info("watchdog enabled, pinging every %u ms", interval_ms);
}

void
notify_watchdog_stop(void)
{
	g_clear_handle_id(&watchdog_source, g_source_remove);
}
