/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One IKE SA and its child SAs, as the engine and its tasks see them. Engine-internal:
 * control/ and tests read these structs, only the engine and tasks change them, and
 * states move only through ike_sa_set_state()/child_sa_set_state().
 */
#pragma once

#include <glib.h>

#include "ike_engine.h"
#include "ike_keymat.h"
#include "ike_proposal.h"
#include "ike_types.h"

G_BEGIN_DECLS

typedef enum {
	IKE_SA_STATE_CREATED,     /* nothing exchanged yet */
	IKE_SA_STATE_CONNECTING,  /* IKE_SA_INIT/IKE_AUTH under way */
	IKE_SA_STATE_ESTABLISHED, /* authenticated */
	IKE_SA_STATE_DELETING,    /* a Delete for it is under way */
	IKE_SA_STATE_DESTROYING,  /* gone: the engine frees it */
} IkeSaState;

const char *ike_sa_state_to_string(IkeSaState state);

typedef enum {
	CHILD_SA_STATE_CREATED,
	CHILD_SA_STATE_INSTALLED,
	CHILD_SA_STATE_REKEYING, /* our CREATE_CHILD_SA with REKEY_SA for it is under way */
	CHILD_SA_STATE_REKEYED,  /* replaced by a new child SA: waits for its Delete */
	CHILD_SA_STATE_DELETING,
	CHILD_SA_STATE_DESTROYING,
} ChildSaState;

const char *child_sa_state_to_string(ChildSaState state);

typedef struct {
	IkeSa *ike_sa;    /* (transfer none) its owner */
	ChildConfig *cfg; /* (transfer none) kept alive by the IKE SA's ConnConfig ref */
	ChildSaState state;
	guint32 spi_in, spi_out;
	guint32 reqid;
	IkeChosen alg;
	VpndIpsecMode mode;
	GArray *local_ts, *remote_ts; /* VpndTs, as negotiated */
	VpndSecret *encr_in, *integ_in, *encr_out, *integ_out; /* until installed */
	gint64 rekey_at;  /* absolute; 0: no rekey due */
	gint64 expire_at; /* absolute; 0: lives as long as its IKE SA */
	guint32 rekey_of; /* the inbound SPI of the child it replaces; 0: a new child */
	gboolean replaced; /* rekeyed (or redundant after a collision): goes quietly */
	gboolean peer_no_tfc; /* the peer sent ESP_TFC_PADDING_NOT_SUPPORTED */
	guint32 unique_id;    /* listings' id, counted by the engine at install; 0 before */
	gint64 installed_at;  /* engine time of the install; 0 before */
} ChildSa;

/* What a task returns (STYLE.md "Exchanges and tasks"). */
typedef enum {
	IKE_TASK_DONE,      /* this task is finished */
	IKE_TASK_MORE,      /* initiator: send the exchange again (INVALID_KE retry, COOKIE) */
	IKE_TASK_FAIL,      /* the exchange failed; task->notify says which notify */
	IKE_TASK_DELETE_SA, /* the IKE SA must go (after the response, on the responder) */
} IkeTaskStatus;

typedef struct _IkeTask IkeTask;

typedef struct {
	const char *name;
	IkeTaskStatus (*build_request)(IkeTask *task, IkeSa *sa, IkeMsg *msg);
	IkeTaskStatus (*process_request)(IkeTask *task, IkeSa *sa, IkeMsg *msg);
	IkeTaskStatus (*build_response)(IkeTask *task, IkeSa *sa, IkeMsg *msg);
	IkeTaskStatus (*process_response)(IkeTask *task, IkeSa *sa, IkeMsg *msg);
	void (*free)(IkeTask *task);
} IkeTaskOps;

struct _IkeTask {
	const IkeTaskOps *ops;
	gboolean initiator; /* role in this exchange, set at creation */
	guint16 notify;     /* FAIL/DELETE_SA: the error notify to send or that was received */
	guint8 notify_data[2];
	gsize notify_data_len;
	IkeReason reason; /* FAIL/DELETE_SA: why, for the down event */
};

void ike_task_free(IkeTask *task);
void ike_task_set_error(IkeTask *task, guint16 notify, IkeReason reason);

/* Exchanges queued on an SA, started one at a time (window size 1). */
typedef enum {
	IKE_PENDING_IKE_INIT,
	IKE_PENDING_IKE_AUTH,
	IKE_PENDING_CREATE_CHILD,
	IKE_PENDING_DELETE_CHILD,
	IKE_PENDING_DELETE_IKE,
	IKE_PENDING_DPD,
	IKE_PENDING_REKEY_CHILD,
	IKE_PENDING_REKEY_IKE,
} IkePendingKind;

typedef struct {
	IkePendingKind kind;
	ChildConfig *child; /* CREATE_CHILD, IKE_AUTH: (transfer none) */
	guint32 spi;        /* DELETE_CHILD, REKEY_CHILD: our inbound SPI */
} IkePending;

struct _IkeSa {
	IkeEngine *engine; /* (transfer none) */
	guint32 id;
	ConnConfig *conn;   /* a reference */
	gboolean initiator; /* original initiator (RFC 7296 §2.2 I flag) */
	IkeSaState state;
	guint64 spi_i, spi_r;
	VpndAddr local, remote;

	/* IKE_SA_INIT; nonces and messages only until IKE_AUTH is over (AUTH signs them) */
	GBytes *nonce_i, *nonce_r;
	GBytes *init_req, *init_resp; /* both IKE_SA_INIT messages */
	VpndKe *ke;
	guint16 ke_group;
	GBytes *peer_ke; /* responder: the initiator's KE value until ike_init_derive_keys() */
	IkeChosen alg;
	IkeKeymat *keymat;              /* NULL until IKE_SA_INIT completes */
	gboolean nat_local, nat_remote; /* NAT in front of us / in front of the peer */
	ConnIdentity *peer_id;          /* once authenticated */
	guint16 peer_hash_algs;         /* RFC 7427: bit n set when the peer announced hash n */

	/* the driver: message IDs, window 1, retransmission */
	guint32 mid_out;       /* ID of our next (or in-flight) request */
	guint32 mid_in;        /* ID of the next request we accept */
	GBytes *last_response; /* our answer to the request mid_in - 1 */
	GBytes *request;       /* our request in flight; NULL when none */
	guint8 request_exchange;
	GPtrArray *tasks; /* IkeTask of the exchange in flight (our request) */
	guint retransmits;
	gint64 timers[IKE_TIMER_COUNT]; /* absolute; -1 when not armed */
	GQueue *pending;                /* IkePending */
	gint64 last_inbound;            /* time of the last authentic message */
	gint64 established_at;          /* when it came up (or was made by a rekey); 0 before */

	GPtrArray *children; /* ChildSa */
	IkeReason down_reason;
	guint16 down_notify;

	/* rekeying (RFC 7296 §1.3.2) */
	gint64 rekey_at, expire_at; /* absolute; 0: none */
	guint32 rekeyed_from;       /* the IKE SA this one replaced; 0 when none */
	gboolean rekeying;          /* our rekey of this IKE SA is under way */
	gboolean rekeyed;           /* replaced by a new IKE SA: goes quietly */
	gboolean undecided;         /* made by a colliding rekey, children not (yet) here */

	/* responder: counted as half-open from this address (ike_engine_half_open()) */
	gboolean half_open;
	VpndAddr half_open_host;
};

IkeSa *ike_sa_new(IkeEngine *engine, guint32 id, ConnConfig *conn, gboolean initiator);
/* Key material of the previous IKE SA (RFC 7296 §2.18): nonces, IDs; not the SPIs. */
void ike_sa_inherit(IkeSa *sa, IkeSa *old);
void ike_sa_free(IkeSa *sa);
/*
 * The SA is up (IKE_AUTH over, or made by a rekey): what only the handshake needed goes
 * (IKE_SA_INIT messages, nonces, SK_pi/pr), so an established SA holds only its keys.
 */
void ike_sa_setup_done(IkeSa *sa);

/* The one place a state changes: checks, logs, queues the ike-updown event. */
void ike_sa_set_state(IkeSa *sa, IkeSaState state);
/* Sets the reason the next down event carries. */
void ike_sa_set_down_reason(IkeSa *sa, IkeReason reason, guint16 notify);
void ike_sa_log(IkeSa *sa, GLogLevelFlags level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void ike_sa_queue(IkeSa *sa, IkePendingKind kind, ChildConfig *child, guint32 spi);

ChildSa *child_sa_new(IkeSa *sa, ChildConfig *cfg);
void child_sa_free(ChildSa *child);
/* Installs (SAs, policies, child-updown up) on INSTALLED; uninstalls on DESTROYING. */
void child_sa_set_state(ChildSa *child, ChildSaState state, IkeReason reason);
/* (nullable) (transfer none) */
ChildSa *ike_sa_find_child(IkeSa *sa, guint32 spi, gboolean inbound);
/*
 * @child is one of several of a rekey (a successor of it exists, or its predecessor
 * is still there, as in a collision): deleting it is no "down".
 */
gboolean child_sa_in_rekey(ChildSa *child);
/* Removes @child (DESTROYING first) and frees it. */
void ike_sa_remove_child(IkeSa *sa, ChildSa *child, IkeReason reason);
/* Sets a new child's rekey and expiry times from its config, randomised (engine "now"). */
void child_sa_set_lifetimes(ChildSa *child);

/* Engine services for tasks (ike_engine.c). */
VpndHost *ike_engine_get_host(IkeEngine *engine);
gboolean ike_engine_random(IkeEngine *engine, guint8 *buf, gsize len);
VpndSecret *ike_engine_lookup_psk(IkeEngine *engine, const ConnIdentity *local,
				  const ConnIdentity *remote);
guint32 ike_engine_next_reqid(IkeEngine *engine);
/* The unique id of the next child SA installed (listings number them 1, 2, …). */
guint32 ike_engine_next_child_id(IkeEngine *engine);
/* The time of the call being processed. */
gint64 ike_engine_now(IkeEngine *engine);
/* A random value in [0, @max) from the injected source (0 when @max is 0). */
guint64 ike_engine_random_below(IkeEngine *engine, guint64 max);
/* Re-arms @sa's child timer for the earliest rekey or expiry among its children. */
void ike_engine_update_child_timer(IkeSa *sa);
/*
 * Takes a new IKE SA made by a rekey into the SA table (a fresh id, indexed by our SPI),
 * ESTABLISHED, with its own timers. The children of @old move to it when @move_children.
 */
void ike_engine_adopt_rekeyed(IkeEngine *engine, IkeSa *sa, IkeSa *old, gboolean move_children);
/* @old is replaced by @sa: the IKE_REKEY event; @old then only waits for its Delete. */
void ike_engine_ike_rekeyed(IkeEngine *engine, IkeSa *old, IkeSa *sa);
/* @sa was replaced: it only waits for a Delete (and goes by itself if none comes). */
void ike_engine_retire(IkeSa *sa);
/* The SA a colliding rekey of @sa by the peer made, still undecided. (nullable) */
IkeSa *ike_engine_find_successor(IkeEngine *engine, IkeSa *sa);
/* A responder SA starts (@opening) or stops being half-open: the engine's counters. */
void ike_engine_half_open(IkeSa *sa, gboolean opening);
/* Another IKE SA of @sa's connection or to its peer's address is up (then
 * INITIAL_CONTACT is not sent). */
gboolean ike_engine_has_sibling(IkeEngine *engine, IkeSa *sa);
/* @sa's authenticated peer identity (@peer: transfer full), indexed for
 * INITIAL_CONTACT. */
void ike_engine_set_peer_id(IkeSa *sa, ConnIdentity *peer);
/* @sa authenticated its peer (@initial_contact: which sent INITIAL_CONTACT): what the
 * connection's unique policy does to the other IKE SAs between the same identities.
 * INITIAL_CONTACT removes those from the same address quietly (the peer forgot them),
 * unless unique = never; unique = replace deletes all older ones with a Delete. */
void ike_engine_authenticated(IkeEngine *engine, IkeSa *sa, gboolean initial_contact);
typedef gboolean (*IkeConnFilter)(const ConnConfig *conn, gpointer data);
/*
 * Responder: the connection for @sa among those that fit its addresses, by @fits (the
 * identities of IKE_AUTH): @sa's own if it fits, else the first that does. (nullable)
 */
ConnConfig *ike_engine_select_conn(IkeEngine *engine, IkeSa *sa, IkeConnFilter fits,
				   gpointer data);
/* Starts @sa's next pending exchange if none is in flight. */
void ike_engine_kick(IkeSa *sa);
/* Moves every child of @from to @to. */
void ike_sa_move_children(IkeSa *from, IkeSa *to);
/* Allocates an unused IKE SPI of ours; FALSE when randomness fails. */
gboolean ike_engine_new_ike_spi(IkeEngine *engine, guint64 *spi);
void ike_engine_emit(IkeEngine *engine, IkeAction *action);
/* A new action of @kind for @sa, not queued yet. */
IkeAction *ike_action_new(IkeActionKind kind, IkeSa *sa);

/* Task constructors (ikev2/). */
IkeTask *ike_init_task_new(gboolean initiator);
/* Responder, once its IKE_SA_INIT answer is out: the IKE SA keys from the initiator's
 * KE value (sa->peer_ke); FALSE (logged) when that value is refused. */
gboolean ike_init_derive_keys(IkeSa *sa);
IkeTask *ike_natd_task_new(gboolean initiator);
IkeTask *ike_auth_task_new(gboolean initiator);
/* @cfg: initiator's child (responder: NULL, chosen from the proposal); @in_ike_auth. */
IkeTask *child_create_task_new(gboolean initiator, ChildConfig *cfg, gboolean in_ike_auth);
/* Initiator: rekey of the child with inbound SPI @rekey_spi (0: a new child). */
IkeTask *child_rekey_task_new(guint32 rekey_spi);
/* IKE SA rekey in CREATE_CHILD_SA (ikev2/ike_rekey.c); responder: any CREATE_CHILD_SA. */
IkeTask *ike_rekey_task_new(gboolean initiator);
/* Initiator: @kind DELETE_CHILD (@spi), DELETE_IKE or DPD; responder: any request. */
IkeTask *informational_task_new(gboolean initiator, IkePendingKind kind, guint32 spi);

/*
 * Simultaneous rekeys (RFC 7296 §2.8.1, §2.8.2): TRUE when our exchange (@ni, @nr) had
 * the lowest of the four nonces, so the SA it made is the redundant one.
 */
gboolean ike_rekey_lost(GBytes *ni, GBytes *nr, GBytes *peer_ni, GBytes *peer_nr);
/* Arms (@when >= 0) or cancels one timer of @sa (ike_engine.c). */
void ike_sa_arm_timer(IkeSa *sa, IkeTimerKind kind, gint64 when);

/* Helpers the tasks share (ikev2/ike_ts.c). */
void ike_ts_add_payload(IkeMsg *msg, IkePayloadType type, GArray *vpnd_ts);
GArray *ike_ts_from_payload(const IkePayload *p);
/* The configured selectors, "dynamic" as @addr. (transfer full) VpndTs */
GArray *ike_ts_from_config(GArray *conn_ts, const VpndAddr *addr);
/* Each of @ours narrowed to @theirs; empty when nothing is common. (transfer full) */
GArray *ike_ts_narrow(GArray *ours, GArray *theirs);
/* Every selector of @sub lies inside one of @super. */
gboolean ike_ts_is_subset(GArray *sub, GArray *super);

G_END_DECLS
