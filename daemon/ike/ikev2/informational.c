/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * INFORMATIONAL exchanges (RFC 7296 §1.4): deleting child SAs and the IKE SA, and the
 * empty request that checks the peer is alive (DPD).
 *
 *   INFORMATIONAL { D(ESP, SPIs) }  -->      <--  { D(ESP, SPIs) }
 *   INFORMATIONAL { D(IKE) }  -->            <--  { }
 *   INFORMATIONAL { }  -->                   <--  { }
 */
#include "ike_msg.h"
#include "ike_sa.h"

typedef struct {
	IkeTask task;
	IkePendingKind kind;
	guint32 spi;         /* initiator DELETE_CHILD: our inbound SPI */
	gboolean delete_ike; /* responder: the peer deletes the IKE SA */
	GArray *deleting;    /* responder: our inbound SPIs of the children the peer deletes */
} InfoTask;

static IkeTaskStatus
info_build_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	InfoTask *t = (InfoTask *)task;
	IkePayload *d;
	ChildSa *c;

	switch (t->kind) {
	case IKE_PENDING_DELETE_CHILD:
		c = ike_sa_find_child(sa, t->spi, TRUE);
		if (!c)
			return IKE_TASK_DONE; /* already gone: an empty request does no harm */
		d = ike_msg_add_payload(msg, IKE_PAYLOAD_DELETE, TRUE);
		d->del.protocol = IKE_PROTOCOL_ESP;
		ike_payload_add_delete_spi(d, c->spi_in);
		child_sa_set_state(c, CHILD_SA_STATE_DELETING, IKE_REASON_DELETED_LOCAL);
		break;
	case IKE_PENDING_DELETE_IKE:
		d = ike_msg_add_payload(msg, IKE_PAYLOAD_DELETE, TRUE);
		d->del.protocol = IKE_PROTOCOL_IKE;
		ike_sa_set_state(sa, IKE_SA_STATE_DELETING);
		break;
	case IKE_PENDING_DPD:
	case IKE_PENDING_IKE_INIT:
	case IKE_PENDING_IKE_AUTH:
	case IKE_PENDING_CREATE_CHILD:
	case IKE_PENDING_REKEY_CHILD:
	case IKE_PENDING_REKEY_IKE:
		break;
	}
	return IKE_TASK_DONE;
}

static IkeTaskStatus
info_process_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	InfoTask *t = (InfoTask *)task;
	ChildSa *c;

	switch (t->kind) {
	case IKE_PENDING_DELETE_CHILD:
		if ((c = ike_sa_find_child(sa, t->spi, TRUE)))
			ike_sa_remove_child(sa, c, IKE_REASON_DELETED_LOCAL);
		return IKE_TASK_DONE;
	case IKE_PENDING_DELETE_IKE:
		ike_task_set_error(task, 0, IKE_REASON_DELETED_LOCAL);
		return IKE_TASK_DELETE_SA;
	case IKE_PENDING_DPD:
	case IKE_PENDING_IKE_INIT:
	case IKE_PENDING_IKE_AUTH:
	case IKE_PENDING_CREATE_CHILD:
	case IKE_PENDING_REKEY_CHILD:
	case IKE_PENDING_REKEY_IKE:
		break;
	}
	return IKE_TASK_DONE;
}

static IkeTaskStatus
info_process_request(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	InfoTask *t = (InfoTask *)task;
	IkeMsgIter it;

	for (IkePayload *d = ike_msg_iter_init(&it, msg, IKE_PAYLOAD_DELETE); d;
	     d = ike_msg_iter_next(&it)) {
		if (d->del.protocol == IKE_PROTOCOL_IKE) {
			t->delete_ike = TRUE;
			continue;
		}
		if (d->del.protocol != IKE_PROTOCOL_ESP)
			continue;
		for (guint i = 0; i < d->del.spis->len; i++) {
			ChildSa *c = ike_sa_find_child(sa, g_array_index(d->del.spis, guint32, i),
						       FALSE);

			if (c)
				g_array_append_val(t->deleting, c->spi_in);
		}
	}
	return IKE_TASK_DONE;
}

static IkeTaskStatus
info_build_response(IkeTask *task, IkeSa *sa, IkeMsg *msg)
{
	InfoTask *t = (InfoTask *)task;

	if (t->delete_ike) {
		/* the peer's rekey, which collided with ours, won: its SA takes the children */
		IkeSa *successor = ike_engine_find_successor(sa->engine, sa);

		if (successor) {
			ike_sa_move_children(sa, successor);
			ike_engine_ike_rekeyed(sa->engine, sa, successor);
		}
		ike_task_set_error(task, 0, IKE_REASON_DELETED_PEER);
		return IKE_TASK_DELETE_SA;
	}
	g_autoptr(GArray) spis = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (guint i = 0; i < t->deleting->len; i++) {
		guint32 spi = g_array_index(t->deleting, guint32, i);
		ChildSa *c = ike_sa_find_child(sa, spi, TRUE);

		/* a simultaneous delete: ours is already under way, answer without its SPI */
		if (!c)
			continue;
		if (c->state != CHILD_SA_STATE_DELETING)
			g_array_append_val(spis, spi);
		/* the end of a rekey (also one that collided with ours): no "down" */
		if (child_sa_in_rekey(c))
			c->replaced = TRUE;
		ike_sa_remove_child(sa, c, IKE_REASON_DELETED_PEER);
	}
	if (!spis->len)
		return IKE_TASK_DONE;
	IkePayload *d = ike_msg_add_payload(msg, IKE_PAYLOAD_DELETE, TRUE);
	d->del.protocol = IKE_PROTOCOL_ESP;
	for (guint i = 0; i < spis->len; i++)
		ike_payload_add_delete_spi(d, g_array_index(spis, guint32, i));
	return IKE_TASK_DONE;
}

static void
info_free(IkeTask *task)
{
	InfoTask *t = (InfoTask *)task;

	g_array_unref(t->deleting);
	g_free(t);
}

static const IkeTaskOps informational_ops = {
	.name = "informational",
	.build_request = info_build_request,
	.process_request = info_process_request,
	.build_response = info_build_response,
	.process_response = info_process_response,
	.free = info_free,
};

IkeTask *
informational_task_new(gboolean initiator, IkePendingKind kind, guint32 spi)
{
	InfoTask *t = g_new0(InfoTask, 1);

	t->task.ops = &informational_ops;
	t->task.initiator = initiator;
	t->kind = kind;
	t->spi = spi;
	t->deleting = g_array_new(FALSE, FALSE, sizeof(guint32));
	return &t->task;
}
