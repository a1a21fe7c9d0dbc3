/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VICI command table and event sources: thin adapters from VICI messages to
 * control/ (vici.md §3, §4). Commands vpnd cannot serve yet answer success = no with
 * an errmsg that says so; listings of things vpnd does not have yet are empty.
 */
#pragma once

#include <glib.h>

#include "control/control.h"

G_BEGIN_DECLS

typedef struct ViciServer ViciServer;
typedef struct ViciCommands ViciCommands;

/* Registers every command with @server and starts the `log` event source. */
ViciCommands *vici_commands_new(ViciServer *server, Control *ctl);
void vici_commands_free(ViciCommands *commands);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ViciCommands, vici_commands_free)

/* swanctl's `--stats` formats, exposed for tests (vici.md §3.3 "stats"). (transfer full) */
char *vici_commands_format_running(gint64 seconds);
char *vici_commands_format_since(GDateTime *time);
/* The charon log group for a vpnd log domain (DMN, CFG, IKE, …). */
const char *vici_commands_log_group(const char *domain);

/* Helpers for the command files (vici_config.c, vici_sas.c). */
typedef struct ViciBuilder ViciBuilder;
/* The message built, or an empty one if building failed (logged). (transfer full) */
GBytes *vici_commands_finish(ViciBuilder *b);
/* {success = yes} or {success = no, errmsg = @errmsg}. (transfer full) */
GBytes *vici_commands_reply_result(gboolean success, const char *errmsg);

/* charon's log levels: 0 audit (vpnd's message and above), 1 control (info), 2 debug. */
int vici_commands_charon_level(LogLevel level);
/* The other way: the most verbose of vpnd's levels a charon level takes in. */
LogLevel vici_commands_log_level(int charon_level);

/* Connections, keys and pools: load-conn … get-pools (vici_config.c). */
void vici_config_add_commands(ViciServer *server, Control *ctl);

/* SAs: list-sas, list-policies, initiate, terminate, get-counters, reset-counters,
 * and the ike-updown and child-updown events (vici_sas.c). */
typedef struct ViciSas ViciSas;
ViciSas *vici_sas_new(ViciServer *server, Control *ctl);
void vici_sas_free(ViciSas *sas);

G_END_DECLS
