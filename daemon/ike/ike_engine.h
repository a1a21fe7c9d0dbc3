/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IKEv2 engine, sans-I/O (ARCHITECTURE.md): fed with datagrams, timer expiries and
 * control calls, each with the current time; it never reads a clock, opens a socket or
 * calls a kernel. What to do comes back as IkeActions, drained with
 * ike_engine_steal_actions(): datagrams to send, timers to (re)arm at absolute times,
 * SAs and policies to install or delete, and events for the control plane.
 *
 * Times are microseconds on any monotonic scale the caller chooses (g_get_monotonic_time()).
 */
#pragma once

#include <glib.h>
#include <vpnd/kernel.h>

#include "config/conn.h"
#include "core/crypto.h"
#include "ike_keymat.h"

G_BEGIN_DECLS

typedef struct _IkeEngine IkeEngine;
typedef struct _IkeSa IkeSa;

/* The PSK for a pair of identities, or NULL when there is none. (transfer full) */
typedef VpndSecret *(*IkePskLookupFunc)(gpointer user_data, const ConnIdentity *local,
					const ConnIdentity *remote);

typedef struct {
	VpndHost *host;       /* crypto providers */
	IkeRandomFunc random; /* SPIs, nonces, IVs; NULL: crypto_random() */
	gpointer random_data;
	IkePskLookupFunc psk_lookup;
	gpointer psk_data;
	guint retransmit_timeout_ms; /* 0: 4000 */
	gdouble retransmit_base;     /* 0: 1.8 */
	guint retransmit_tries;      /* 0: 5 */
	guint half_open_timeout_s;   /* 0: 30 */
	guint half_open_max;         /* responder SAs not yet authenticated; 0: no limit */
	guint half_open_per_peer;    /* the same from one address; 0: 5 */
	/* RFC 7296 §2.6: from this many half-open SAs on, a new IKE_SA_INIT must bring the
	 * COOKIE we answer it with; 0: 10, G_MAXUINT: never */
	guint cookie_threshold;
	guint cookie_secret_s; /* a cookie secret is replaced after this; 0: 120 */
} IkeEngineConfig;

typedef enum {
	IKE_TIMER_RETRANSMIT = 0,
	IKE_TIMER_DPD = 1,
	IKE_TIMER_HALF_OPEN = 2,
	IKE_TIMER_REKEY = 3,  /* IKE SA: rekey_time (randomised) reached */
	IKE_TIMER_EXPIRE = 4, /* IKE SA: hard lifetime reached, or a rekeyed SA lingers */
	IKE_TIMER_CHILD = 5,  /* the earliest rekey or expiry of one of its child SAs */
	IKE_TIMER_COUNT = 6,
} IkeTimerKind;

typedef enum {
	IKE_ACTION_SEND,
	IKE_ACTION_TIMER,  /* arm (or, with when < 0, cancel) one timer of one SA */
	IKE_ACTION_ADD_SA, /* install a child SA (one direction) */
	IKE_ACTION_DEL_SA,
	IKE_ACTION_ADD_POLICY,
	IKE_ACTION_DEL_POLICY,
	IKE_ACTION_IKE_UPDOWN,
	IKE_ACTION_CHILD_UPDOWN,
	IKE_ACTION_IKE_REKEY,   /* ike_sa_id was replaced by new_ike_sa_id (children moved) */
	IKE_ACTION_CHILD_REKEY, /* child old_spi_in/out replaced by spi_in/out */
} IkeActionKind;

/* Why an SA came up or went down. */
typedef enum {
	IKE_REASON_ESTABLISHED,
	IKE_REASON_DELETED_LOCAL, /* we asked for it */
	IKE_REASON_DELETED_PEER,  /* the peer sent a Delete */
	IKE_REASON_PEER_TIMEOUT,  /* retransmissions exhausted (or DPD) */
	IKE_REASON_HALF_OPEN_TIMEOUT,
	IKE_REASON_AUTH_FAILED,     /* we refused the peer's AUTH, or could not make ours */
	IKE_REASON_PEER_AUTH_FAILED, /* the peer refused ours: its AUTHENTICATION_FAILED */
	IKE_REASON_NO_PROPOSAL,     /* NO_PROPOSAL_CHOSEN */
	IKE_REASON_TS_UNACCEPTABLE, /* TS_UNACCEPTABLE */
	IKE_REASON_INVALID_KE,      /* INVALID_KE_PAYLOAD with a group we do not have */
	IKE_REASON_FAILED,          /* anything else: internal error, error notify */
	IKE_REASON_EXPIRED,         /* hard lifetime reached before a rekey succeeded */
	IKE_REASON_REKEYED,         /* replaced by a rekey (no up/down event for this) */
	IKE_REASON_REPLACED,        /* the peer came back with INITIAL_CONTACT */
} IkeReason;

const char *ike_reason_to_string(IkeReason reason);

typedef struct {
	IkeActionKind kind;
	guint32 ike_sa_id;     /* the engine's handle of the IKE SA */
	const char *conn_name; /* (transfer none) valid until the action is freed */

	/* SEND */
	GBytes *datagram; /* without the non-ESP marker */
	VpndAddr src, dst;

	/* TIMER */
	IkeTimerKind timer;
	gint64 when; /* absolute; -1: cancel */

	/* ADD_SA/DEL_SA: sa (keys and selectors point into this action) and sa_key */
	VpndSaParams sa;
	VpndSaId sa_key;
	/* ADD_POLICY/DEL_POLICY */
	VpndPolicyParams policy;

	/* IKE_UPDOWN, CHILD_UPDOWN */
	gboolean up;
	IkeReason reason;
	guint16 notify;                 /* the error notify sent or received, 0: none */
	const char *child_name;         /* CHILD_UPDOWN, CHILD_REKEY */
	guint32 spi_in, spi_out;        /* CHILD_UPDOWN, CHILD_REKEY (the new child) */
	guint32 old_spi_in, old_spi_out; /* CHILD_REKEY: the child replaced */
	guint32 new_ike_sa_id;           /* IKE_REKEY */
	gboolean nat_local, nat_remote; /* IKE_UPDOWN (up): NAT in front of us / the peer */

	/* private */
	char *conn_name_owned, *child_name_owned;
	VpndSecret *keys;
	VpndTs *ts; /* local then remote */
} IkeAction;

void ike_action_free(IkeAction *action);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IkeAction, ike_action_free)

IkeEngine *ike_engine_new(const IkeEngineConfig *config);
void ike_engine_free(IkeEngine *engine);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IkeEngine, ike_engine_free)

/* Makes @conn known for peers that initiate to us (a reference is taken). */
void ike_engine_add_conn(IkeEngine *engine, ConnConfig *conn);
/* Forgets @conn for new peers; IKE SAs made from it keep their reference. */
void ike_engine_remove_conn(IkeEngine *engine, ConnConfig *conn);

/*
 * Starts IKE_SA_INIT + IKE_AUTH for @conn with its child @child (NULL: the first one).
 * Returns the new IKE SA's id, 0 (and @error) when it cannot start.
 */
guint32 ike_engine_initiate(IkeEngine *engine, ConnConfig *conn, const char *child, gint64 now,
			    GError **error);
/* The same from @local (nullable): the address the route to the peer leaves from, for
 * a connection without local_addrs. */
guint32 ike_engine_initiate_from(IkeEngine *engine, ConnConfig *conn, const char *child,
				 const VpndAddr *local, gint64 now, GError **error);

/* A datagram (the non-ESP marker removed) from @remote to @local. */
void ike_engine_input(IkeEngine *engine, GBytes *datagram, const VpndAddr *local,
		      const VpndAddr *remote, gint64 now);
/*
 * A responder answers IKE_SA_INIT before it derives the IKE SA keys, which its answer
 * does not need; call this once the actions of ike_engine_input() are carried out (the
 * answer is sent), so the key exchange runs while the initiator works on its own.
 * Without the call the keys are derived when the SA's next message arrives.
 */
void ike_engine_derive_pending(IkeEngine *engine, gint64 now);
/* A timer armed by an IKE_ACTION_TIMER expired; stale expiries are ignored. */
void ike_engine_timer(IkeEngine *engine, guint32 ike_sa_id, IkeTimerKind kind, gint64 now);

/* Queues exchanges on an established IKE SA; FALSE when there is no such SA/child. */
gboolean ike_engine_create_child(IkeEngine *engine, guint32 ike_sa_id, const char *child,
				 gint64 now);
gboolean ike_engine_delete_child(IkeEngine *engine, guint32 ike_sa_id, guint32 spi_in, gint64 now);
gboolean ike_engine_delete_ike(IkeEngine *engine, guint32 ike_sa_id, gint64 now);
gboolean ike_engine_dpd(IkeEngine *engine, guint32 ike_sa_id, gint64 now);
/*
 * Gives up an IKE SA that is not established yet (the user changed their mind): no
 * Delete, since the peer holds at most a half-open SA that it drops by itself; timers
 * cancelled, IKE_UPDOWN down with IKE_REASON_DELETED_LOCAL. FALSE for any other SA
 * (established ones get ike_engine_delete_ike()).
 */
gboolean ike_engine_abort_ike(IkeEngine *engine, guint32 ike_sa_id);

/*
 * Rekeying (RFC 7296 §1.3.3, §2.8): a CREATE_CHILD_SA with REKEY_SA makes a new child
 * SA (PFS when its proposals have a key exchange), installed before the old one is
 * deleted; IKE_ACTION_CHILD_REKEY reports it. The engine also starts these by itself
 * from rekey_time/life_time/rand_time. FALSE when there is no such SA/child.
 */
gboolean ike_engine_rekey_child(IkeEngine *engine, guint32 ike_sa_id, guint32 spi_in, gint64 now);
/* A new IKE SA replaces @ike_sa_id, its children move over (IKE_ACTION_IKE_REKEY). */
gboolean ike_engine_rekey_ike(IkeEngine *engine, guint32 ike_sa_id, gint64 now);
/*
 * The kernel reports an SA (@spi, either direction) reached its soft (rekey it) or
 * hard (delete it) lifetime. FALSE when no child has that SPI.
 */
gboolean ike_engine_child_expired(IkeEngine *engine, guint32 spi, gboolean hard, gint64 now);

/* Everything queued since the last call, in order. (transfer full) array of IkeAction */
GPtrArray *ike_engine_steal_actions(IkeEngine *engine);

/* Inspection (tests, control/). (nullable) (transfer none) */
IkeSa *ike_engine_get_sa(IkeEngine *engine, guint32 ike_sa_id);
guint ike_engine_count_sas(IkeEngine *engine);
/* Counters of dropped input, by cause (for tests and `list-counters`). */
typedef struct {
	guint64 malformed; /* does not decode */
	guint64 no_sa;     /* unknown SPI */
	guint64 bad_msgid; /* out of window */
	guint64 bad_icv;   /* SK failed to verify or decrypt */
	guint64 retransmits_answered;
	guint64 invalid_syntax_sent;
	guint64 half_open_refused; /* IKE_SA_INIT dropped: a half-open limit was reached */
	guint64 cookies_sent;      /* IKE_SA_INIT answered with a COOKIE (no state kept) */
	guint64 cookies_rejected;  /* IKE_SA_INIT with a COOKIE we did not make (or too old) */
} IkeEngineCounters;
const IkeEngineCounters *ike_engine_get_counters(IkeEngine *engine);

G_END_DECLS
