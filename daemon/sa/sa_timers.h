/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine's timers on the main loop: at most one per (IKE SA, kind). An IKE SA's
 * timers share one record (its times by kind), the records sit in one binary heap by
 * their earliest time, behind one GSource. A GSource per timer cost about 250 bytes
 * (source, callback, two hash table entries), and an established IKE SA keeps three
 * (rekey, expiry, its children's): here they cost one 64-byte record, a heap slot and a
 * hash set slot together.
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
