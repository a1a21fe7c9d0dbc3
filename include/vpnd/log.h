/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging for the daemon and its plugins: GLib's g_message() and friends, with the
 * domain in G_LOG_DOMAIN. GLib formats a line before the daemon's writer can drop it;
 * vpnd_debug() and vpnd_info() ask first, so lines below the configured level cost a
 * function call, not a printf, on paths taken per packet or per SA.
 */
#pragma once

#include <glib.h>
#include <vpnd/types.h>

G_BEGIN_DECLS

/* Whether a line of @level in @domain goes anywhere: the log, or a control client that
 * follows the log (a VICI initiate with its loglevel). */
VPND_EXPORT gboolean vpnd_log_wanted(const char *domain, GLogLevelFlags level);

#define vpnd_debug(...)                                                    \
	G_STMT_START                                                       \
	{                                                                  \
		if (vpnd_log_wanted(G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG))      \
			g_debug(__VA_ARGS__);                              \
	}                                                                  \
	G_STMT_END
#define vpnd_info(...)                                                     \
	G_STMT_START                                                       \
	{                                                                  \
		if (vpnd_log_wanted(G_LOG_DOMAIN, G_LOG_LEVEL_INFO))       \
			g_info(__VA_ARGS__);                               \
	}                                                                  \
	G_STMT_END

G_END_DECLS
