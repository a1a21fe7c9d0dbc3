/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine's timers on the main loop: at most one per (IKE SA, kind), all of them in
 * one binary heap by due time behind one GSource. A GSource per timer cost about 250
 * bytes (source, callback, two hash table entries) and a gateway has a few timers per
 * IKE SA; here one costs a 24-byte record, a heap slot and a hash set slot.
 */
#pragma once

#include <glib.h>

#include "ike/ike_engine.h"

G_BEGIN_DECLS

typedef struct SaTimers SaTimers;

/* A timer is due: @now is g_get_monotonic_time() when it fires. */
typedef void (*SaTimerFunc)(guint32 ike_sa_id, IkeTimerKind kind, gint64 now, gpointer data);

/* Attached to the thread-default main context. */
SaTimers *sa_timers_new(SaTimerFunc func, gpointer data);
void sa_timers_free(SaTimers *timers);

/* Arms the timer (@when absolute, on g_get_monotonic_time()), replacing one armed before;
 * @when < 0 cancels it. Timers due at the same time fire by IKE SA id, then kind. */
void sa_timers_set(SaTimers *timers, guint32 ike_sa_id, IkeTimerKind kind, gint64 when);
/* Armed timers (for tests). */
guint sa_timers_count(SaTimers *timers);

G_END_DECLS
