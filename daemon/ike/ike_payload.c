/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Life cycle of the payload structs of ike_payload.h and helpers to fill them. */
#include "ike_payload.h"

#include <string.h>

gboolean
ike_payload_type_is_known(guint8 type)
{
	switch ((IkePayloadType)type) {
	case IKE_PAYLOAD_SA:
	case IKE_PAYLOAD_KE:
	case IKE_PAYLOAD_IDI:
	case IKE_PAYLOAD_IDR:
	case IKE_PAYLOAD_CERT:
	case IKE_PAYLOAD_CERTREQ:
	case IKE_PAYLOAD_AUTH:
	case IKE_PAYLOAD_NONCE:
	case IKE_PAYLOAD_NOTIFY:
	case IKE_PAYLOAD_DELETE:
	case IKE_PAYLOAD_VENDOR:
	case IKE_PAYLOAD_TSI:
	case IKE_PAYLOAD_TSR:
	case IKE_PAYLOAD_SK:
	case IKE_PAYLOAD_CP:
	case IKE_PAYLOAD_EAP:
	case IKE_PAYLOAD_SKF:
		return TRUE;
	case IKE_PAYLOAD_NONE:
		return FALSE;
	}
	return FALSE;
}

static void
proposal_clear(gpointer data)
{
	IkeProposal *prop = data;

	g_clear_pointer(&prop->transforms, g_array_unref);
}

static void
cfg_attr_clear(gpointer data)
{
	IkeCfgAttr *attr = data;

	g_clear_pointer(&attr->value, g_bytes_unref);
}

IkePayload *
ike_payload_new(IkePayloadType type)
{
	IkePayload *p;

	g_return_val_if_fail(ike_payload_type_is_known(type), NULL);
	p = g_new0(IkePayload, 1);
	p->type = type;
	switch (type) {
	case IKE_PAYLOAD_SA:
		p->sa.proposals = g_array_new(FALSE, TRUE, sizeof(IkeProposal));
		g_array_set_clear_func(p->sa.proposals, proposal_clear);
		break;
	case IKE_PAYLOAD_DELETE:
		p->del.spis = g_array_new(FALSE, TRUE, sizeof(guint32));
		break;
	case IKE_PAYLOAD_TSI:
	case IKE_PAYLOAD_TSR:
		p->ts.selectors = g_array_new(FALSE, TRUE, sizeof(IkeTrafficSelector));
		break;
	case IKE_PAYLOAD_CP:
		p->cp.attributes = g_array_new(FALSE, TRUE, sizeof(IkeCfgAttr));
		g_array_set_clear_func(p->cp.attributes, cfg_attr_clear);
		break;
	case IKE_PAYLOAD_NONE:
	case IKE_PAYLOAD_KE:
	case IKE_PAYLOAD_IDI:
	case IKE_PAYLOAD_IDR:
	case IKE_PAYLOAD_CERT:
	case IKE_PAYLOAD_CERTREQ:
	case IKE_PAYLOAD_AUTH:
	case IKE_PAYLOAD_NONCE:
	case IKE_PAYLOAD_NOTIFY:
	case IKE_PAYLOAD_VENDOR:
	case IKE_PAYLOAD_SK:
	case IKE_PAYLOAD_SKF:
	case IKE_PAYLOAD_EAP:
		break;
	}
	return p;
}

/* The payload's main byte string field, or NULL for kinds that have none. */
static GBytes **
data_field(IkePayload *p)
{
	switch ((IkePayloadType)p->type) {
	case IKE_PAYLOAD_KE:
		return &p->ke.data;
	case IKE_PAYLOAD_IDI:
	case IKE_PAYLOAD_IDR:
		return &p->id.data;
	case IKE_PAYLOAD_CERT:
	case IKE_PAYLOAD_CERTREQ:
		return &p->cert.data;
	case IKE_PAYLOAD_AUTH:
		return &p->auth.data;
	case IKE_PAYLOAD_NONCE:
		return &p->nonce.data;
	case IKE_PAYLOAD_NOTIFY:
		return &p->notify.data;
	case IKE_PAYLOAD_VENDOR:
		return &p->vendor.data;
	case IKE_PAYLOAD_SK:
	case IKE_PAYLOAD_SKF:
		return &p->sk.data;
	case IKE_PAYLOAD_EAP:
		return &p->eap.data;
	case IKE_PAYLOAD_NONE:
	case IKE_PAYLOAD_SA:
	case IKE_PAYLOAD_DELETE:
	case IKE_PAYLOAD_TSI:
	case IKE_PAYLOAD_TSR:
	case IKE_PAYLOAD_CP:
		return NULL;
	}
	return NULL;
}

void
ike_payload_free(IkePayload *p)
{
	GBytes **data;

	if (!p)
		return;
	data = data_field(p);
	if (data)
		g_clear_pointer(data, g_bytes_unref);
	switch ((IkePayloadType)p->type) {
	case IKE_PAYLOAD_SA:
		g_clear_pointer(&p->sa.proposals, g_array_unref);
		break;
	case IKE_PAYLOAD_DELETE:
		g_clear_pointer(&p->del.spis, g_array_unref);
		break;
	case IKE_PAYLOAD_TSI:
	case IKE_PAYLOAD_TSR:
		g_clear_pointer(&p->ts.selectors, g_array_unref);
		break;
	case IKE_PAYLOAD_CP:
		g_clear_pointer(&p->cp.attributes, g_array_unref);
		break;
	case IKE_PAYLOAD_NONE:
	case IKE_PAYLOAD_KE:
	case IKE_PAYLOAD_IDI:
	case IKE_PAYLOAD_IDR:
	case IKE_PAYLOAD_CERT:
	case IKE_PAYLOAD_CERTREQ:
	case IKE_PAYLOAD_AUTH:
	case IKE_PAYLOAD_NONCE:
	case IKE_PAYLOAD_NOTIFY:
	case IKE_PAYLOAD_VENDOR:
	case IKE_PAYLOAD_SK:
	case IKE_PAYLOAD_SKF:
	case IKE_PAYLOAD_EAP:
		break;
	}
	g_free(p);
}

void
ike_payload_set_data(IkePayload *p, const void *data, gsize len)
{
	GBytes **field = data_field(p);

	g_return_if_fail(field != NULL);
	g_clear_pointer(field, g_bytes_unref);
	*field = g_bytes_new(data, len);
}

const guint8 *
ike_payload_get_data(const IkePayload *p, gsize *len)
{
	GBytes **field = data_field((IkePayload *)p);

	*len = 0;
	if (!field || !*field)
		return NULL;
	return g_bytes_get_data(*field, len);
}

IkeProposal *
ike_payload_add_proposal(IkePayload *sa, guint8 protocol, const guint8 *spi, gsize spi_len)
{
	IkeProposal prop = {.protocol = protocol, .spi_len = spi_len};
	GArray *props;

	g_return_val_if_fail(sa->type == IKE_PAYLOAD_SA, NULL);
	g_return_val_if_fail(spi_len <= IKE_MAX_SPI_LEN, NULL);
	props = sa->sa.proposals;
	prop.number = props->len + 1;
	if (spi_len)
		memcpy(prop.spi, spi, spi_len);
	prop.transforms = g_array_new(FALSE, TRUE, sizeof(IkeTransform));
	g_array_append_val(props, prop);
	return &g_array_index(props, IkeProposal, props->len - 1);
}

void
ike_payload_proposal_add_transform(IkeProposal *prop, guint8 type, guint16 id, guint16 key_length)
{
	IkeTransform t = {
	        .type = type,
	        .id = id,
	        .has_key_length = key_length != 0,
	        .key_length = key_length,
	};

	g_array_append_val(prop->transforms, t);
}

void
ike_payload_add_selector(IkePayload *ts, const IkeTrafficSelector *sel)
{
	g_return_if_fail(ts->type == IKE_PAYLOAD_TSI || ts->type == IKE_PAYLOAD_TSR);
	g_array_append_val(ts->ts.selectors, *sel);
}

void
ike_payload_add_delete_spi(IkePayload *del, guint32 spi)
{
	g_return_if_fail(del->type == IKE_PAYLOAD_DELETE);
	g_array_append_val(del->del.spis, spi);
}

void
ike_payload_add_cfg_attr(IkePayload *cp, guint16 type, const void *value, gsize len)
{
	IkeCfgAttr attr = {.type = type};

	g_return_if_fail(cp->type == IKE_PAYLOAD_CP);
	attr.value = g_bytes_new(value, len);
	g_array_append_val(cp->cp.attributes, attr);
}
