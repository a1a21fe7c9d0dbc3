/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sd_notify(3) for Type=notify: readiness, status, reload, stop and the watchdog. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *format, ...) G_GNUC_PRINTF(1, 2);
/* Sends WATCHDOG=1 at half the interval systemd asked for (WATCHDOG_USEC), if it did. */
void notify_watchdog_start(void);
void notify_watchdog_stop(void);

G_END_DECLS
