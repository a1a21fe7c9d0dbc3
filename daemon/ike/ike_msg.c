/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IkeMsg life cycle, payload access and shorthands to add payloads. */
#include "ike_msg_private.h"

#include <string.h>

IkeMsg *
ike_msg_new(const IkeHeader *header)
{
	IkeMsg *msg = g_new0(IkeMsg, 1);

	msg->header = *header;
	msg->payloads = g_ptr_array_new_with_free_func((GDestroyNotify)ike_payload_free);
	msg->skipped = g_array_new(FALSE, FALSE, sizeof(guint8));
	return msg;
}

void
ike_msg_free(IkeMsg *msg)
{
	if (!msg)
		return;
	g_ptr_array_unref(msg->payloads);
	g_array_unref(msg->skipped);
	g_clear_pointer(&msg->raw, g_bytes_unref);
	g_free(msg);
}

IkeHeader *
ike_msg_get_header(IkeMsg *msg)
{
	return &msg->header;
}

gboolean
ike_msg_is_response(const IkeMsg *msg)
{
	return (msg->header.flags & IKE_FLAG_RESPONSE) != 0;
}

gboolean
ike_msg_is_ike_rekey(const IkeMsg *msg)
{
	IkePayload *sa = ike_msg_find(msg, IKE_PAYLOAD_SA);

	return msg->header.exchange == IKE_EXCHANGE_CREATE_CHILD_SA && sa &&
	       sa->sa.proposals->len &&
	       g_array_index(sa->sa.proposals, IkeProposal, 0).protocol == IKE_PROTOCOL_IKE;
}

GBytes *
ike_msg_get_raw(const IkeMsg *msg)
{
	return msg->raw;
}

void
ike_msg_take_payload(IkeMsg *msg, IkePayload *payload)
{
	g_ptr_array_add(msg->payloads, payload);
}

IkePayload *
ike_msg_add_payload(IkeMsg *msg, IkePayloadType type, gboolean in_sk)
{
	IkePayload *p = ike_payload_new(type);

	g_return_val_if_fail(p != NULL, NULL);
	p->in_sk = in_sk;
	ike_msg_take_payload(msg, p);
	return p;
}

IkePayload *
ike_msg_add_notify(IkeMsg *msg, gboolean in_sk, guint16 type, guint8 protocol, const guint8 *spi,
                   gsize spi_len, const void *data, gsize len)
{
	IkePayload *p;

	g_return_val_if_fail(spi_len <= IKE_MAX_SPI_LEN, NULL);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_NOTIFY, in_sk);
	p->notify.type = type;
	p->notify.protocol = protocol;
	p->notify.spi_len = spi_len;
	if (spi_len)
		memcpy(p->notify.spi, spi, spi_len);
	ike_payload_set_data(p, data, len);
	return p;
}

IkePayload *
ike_msg_add_nonce(IkeMsg *msg, gboolean in_sk, const void *nonce, gsize len)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_NONCE, in_sk);

	ike_payload_set_data(p, nonce, len);
	return p;
}

IkePayload *
ike_msg_add_ke(IkeMsg *msg, gboolean in_sk, guint16 group, const void *data, gsize len)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_KE, in_sk);

	p->ke.group = group;
	ike_payload_set_data(p, data, len);
	return p;
}

guint
ike_msg_get_n_payloads(const IkeMsg *msg)
{
	return msg->payloads->len;
}

IkePayload *
ike_msg_get_payload(const IkeMsg *msg, guint index)
{
	g_return_val_if_fail(index < msg->payloads->len, NULL);
	return g_ptr_array_index(msg->payloads, index);
}

IkePayload *
ike_msg_iter_init(IkeMsgIter *iter, const IkeMsg *msg, IkePayloadType type)
{
	*iter = (IkeMsgIter){.msg = msg, .next = 0, .type = type};
	return ike_msg_iter_next(iter);
}

IkePayload *
ike_msg_iter_next(IkeMsgIter *iter)
{
	GPtrArray *payloads = iter->msg->payloads;

	while (iter->next < payloads->len) {
		IkePayload *p = g_ptr_array_index(payloads, iter->next++);

		if (iter->type == IKE_PAYLOAD_NONE || p->type == iter->type)
			return p;
	}
	return NULL;
}

IkePayload *
ike_msg_find(const IkeMsg *msg, IkePayloadType type)
{
	IkeMsgIter it;

	return ike_msg_iter_init(&it, msg, type);
}

guint
ike_msg_count(const IkeMsg *msg, IkePayloadType type)
{
	IkeMsgIter it;
	guint n = 0;

	for (IkePayload *p = ike_msg_iter_init(&it, msg, type); p; p = ike_msg_iter_next(&it))
		n++;
	return n;
}

IkePayload *
ike_msg_find_notify(const IkeMsg *msg, guint16 notify_type)
{
	IkeMsgIter it;

	for (IkePayload *p = ike_msg_iter_init(&it, msg, IKE_PAYLOAD_NOTIFY); p;
	     p = ike_msg_iter_next(&it)) {
		if (p->notify.type == notify_type)
			return p;
	}
	return NULL;
}

IkePayload *
ike_msg_find_error_notify(const IkeMsg *msg)
{
	IkeMsgIter it;

	for (IkePayload *p = ike_msg_iter_init(&it, msg, IKE_PAYLOAD_NOTIFY); p;
	     p = ike_msg_iter_next(&it)) {
		if (p->notify.type < IKE_NOTIFY_FIRST_STATUS)
			return p;
	}
	return NULL;
}

const guint8 *
ike_msg_get_skipped(const IkeMsg *msg, guint *n)
{
	*n = msg->skipped->len;
	return (const guint8 *)msg->skipped->data;
}

gboolean
ike_msg_has_inner(const IkeMsg *msg)
{
	return msg->has_inner;
}

const char *
ike_parse_result_to_string(IkeParseResult result)
{
	switch (result) {
	case IKE_PARSE_OK:
		return "OK";
	case IKE_PARSE_MALFORMED:
		return "MALFORMED";
	case IKE_PARSE_UNSUPPORTED_CRITICAL:
		return "UNSUPPORTED_CRITICAL";
	case IKE_PARSE_INVALID_MAJOR_VERSION:
		return "INVALID_MAJOR_VERSION";
	case IKE_PARSE_DROP:
		return "DROP";
	}
	return "UNKNOWN";
}
