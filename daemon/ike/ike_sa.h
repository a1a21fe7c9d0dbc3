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
	VpndSecret *encr_in, *integ_in, *encr_out, *integ_out;
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
} IkePendingKind;

typedef struct {
	IkePendingKind kind;
	ChildConfig *child; /* CREATE_CHILD, IKE_AUTH: (transfer none) */
	guint32 spi;        /* DELETE_CHILD: our inbound SPI */
} IkePending;

struct _IkeSa {
	IkeEngine *engine; /* (transfer none) */
	guint32 id;
	ConnConfig *conn;   /* a reference */
	gboolean initiator; /* original initiator (RFC 7296 §2.2 I flag) */
	IkeSaState state;
	guint64 spi_i, spi_r;
	VpndAddr local, remote;

	/* IKE_SA_INIT */
	GBytes *nonce_i, *nonce_r;
	GBytes *init_req, *init_resp; /* both IKE_SA_INIT messages, signed by AUTH */
	VpndKe *ke;
	guint16 ke_group;
	IkeChosen alg;
	IkeKeymat *keymat;              /* NULL until IKE_SA_INIT completes */
	gboolean nat_local, nat_remote; /* NAT in front of us / in front of the peer */
	ConnIdentity *peer_id;          /* once authenticated */

	/* the driver: message IDs, window 1, retransmission */
	guint32 mid_out;       /* ID of our next (or in-flight) request */
	guint32 mid_in;        /* ID of the next request we accept */
	GBytes *last_request;  /* the request mid_in - 1, to recognise its retransmits */
	GBytes *last_response; /* our answer to it */
	GBytes *request;       /* our request in flight; NULL when none */
	guint8 request_exchange;
	GPtrArray *tasks; /* IkeTask of the exchange in flight (our request) */
	guint retransmits;
	gint64 timers[IKE_TIMER_COUNT]; /* absolute; -1 when not armed */
	GQueue *pending;                /* IkePending */
	gint64 last_inbound;            /* time of the last authentic message */

	GPtrArray *children; /* ChildSa */
	IkeReason down_reason;
	guint16 down_notify;
};

IkeSa *ike_sa_new(IkeEngine *engine, guint32 id, ConnConfig *conn, gboolean initiator);
void ike_sa_free(IkeSa *sa);

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
/* Removes @child (DESTROYING first) and frees it. */
void ike_sa_remove_child(IkeSa *sa, ChildSa *child, IkeReason reason);

/* Engine services for tasks (ike_engine.c). */
VpndHost *ike_engine_get_host(IkeEngine *engine);
gboolean ike_engine_random(IkeEngine *engine, guint8 *buf, gsize len);
VpndSecret *ike_engine_lookup_psk(IkeEngine *engine, const ConnIdentity *local,
				  const ConnIdentity *remote);
guint32 ike_engine_next_reqid(IkeEngine *engine);
void ike_engine_emit(IkeEngine *engine, IkeAction *action);
/* A new action of @kind for @sa, not queued yet. */
IkeAction *ike_action_new(IkeActionKind kind, IkeSa *sa);

/* Task constructors (ikev2/). */
IkeTask *ike_init_task_new(gboolean initiator);
IkeTask *ike_natd_task_new(gboolean initiator);
IkeTask *ike_auth_task_new(gboolean initiator);
/* @cfg: initiator's child (responder: NULL, chosen from the proposal); @in_ike_auth. */
IkeTask *child_create_task_new(gboolean initiator, ChildConfig *cfg, gboolean in_ike_auth);
/* Initiator: @kind DELETE_CHILD (@spi), DELETE_IKE or DPD; responder: any request. */
IkeTask *informational_task_new(gboolean initiator, IkePendingKind kind, guint32 spi);

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
