/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IKEv2 encoder: an IkeMsg into wire bytes. It refuses what the decoder would
 * refuse (a nonce of 8 bytes, a selector of an unknown type …), so everything it
 * writes decodes, and decoding then building again gives the same bytes.
 */
#include "ike_msg_private.h"
#include "wire.h"

typedef struct {
	WireWriter w;
	gsize msg_start; /* offset of the IKE header in the output, for sk.offset */
	const char *reason;
} Builder;

static gboolean
fail(Builder *b, const char *reason)
{
	b->reason = reason;
	return FALSE;
}

static gsize
bytes_len(GBytes *bytes)
{
	return bytes ? g_bytes_get_size(bytes) : 0;
}

static void
put_bytes(Builder *b, GBytes *bytes)
{
	gsize len;
	const guint8 *data;

	if (!bytes)
		return;
	data = g_bytes_get_data(bytes, &len);
	wire_put_bytes(&b->w, data, len);
}

static void
put_zeros(Builder *b, gsize len)
{
	wire_reserve(&b->w, len);
}

/* ---- SA ---- */

static void
build_transform(Builder *b, const IkeTransform *t, gboolean last)
{
	gsize start = wire_writer_offset(&b->w);
	gsize len_at;

	wire_put_u8(&b->w, last ? 0 : 3);
	put_zeros(b, 1);
	len_at = wire_reserve(&b->w, 2);
	wire_put_u8(&b->w, t->type);
	put_zeros(b, 1);
	wire_put_u16(&b->w, t->id);
	if (t->has_key_length) {
		wire_put_u16(&b->w, IKE_ATTR_FORMAT_TV | IKE_ATTR_KEY_LENGTH);
		wire_put_u16(&b->w, t->key_length);
	}
	/* at most 12 bytes: cannot fail */
	wire_patch_len16(&b->w, len_at, start);
}

static gboolean
build_proposal(Builder *b, const IkeProposal *prop, gboolean last)
{
	gsize start = wire_writer_offset(&b->w);
	guint n = prop->transforms->len;
	gsize len_at;

	if (n > G_MAXUINT8)
		return fail(b, "too many transforms");
	if (prop->spi_len != 0 && prop->spi_len != 4 && prop->spi_len != 8)
		return fail(b, "proposal SPI size");
	wire_put_u8(&b->w, last ? 0 : 2);
	put_zeros(b, 1);
	len_at = wire_reserve(&b->w, 2);
	wire_put_u8(&b->w, prop->number);
	wire_put_u8(&b->w, prop->protocol);
	wire_put_u8(&b->w, prop->spi_len);
	wire_put_u8(&b->w, n);
	wire_put_bytes(&b->w, prop->spi, prop->spi_len);
	for (guint i = 0; i < n; i++)
		build_transform(b, &g_array_index(prop->transforms, IkeTransform, i), i + 1 == n);
	if (!wire_patch_len16(&b->w, len_at, start))
		return fail(b, "proposal too long");
	return TRUE;
}

static gboolean
build_sa(Builder *b, const IkePayload *p)
{
	GArray *props = p->sa.proposals;

	if (props->len == 0 || props->len > IKE_MAX_PROPOSALS)
		return fail(b, "number of proposals");
	for (guint i = 0; i < props->len; i++) {
		if (!build_proposal(b, &g_array_index(props, IkeProposal, i), i + 1 == props->len))
			return FALSE;
	}
	return TRUE;
}

/* ---- the simple ones ---- */

static gboolean
build_ke(Builder *b, const IkePayload *p)
{
	if (!bytes_len(p->ke.data))
		return fail(b, "KE without data");
	wire_put_u16(&b->w, p->ke.group);
	put_zeros(b, 2);
	put_bytes(b, p->ke.data);
	return TRUE;
}

/* ID and AUTH: a type octet, three reserved, data. */
static gboolean
build_typed(Builder *b, guint8 type, GBytes *data)
{
	wire_put_u8(&b->w, type);
	put_zeros(b, 3);
	put_bytes(b, data);
	return TRUE;
}

static gboolean
build_auth(Builder *b, const IkePayload *p)
{
	if (!bytes_len(p->auth.data))
		return fail(b, "AUTH without data");
	return build_typed(b, p->auth.method, p->auth.data);
}

static gboolean
build_cert(Builder *b, const IkePayload *p)
{
	wire_put_u8(&b->w, p->cert.encoding);
	put_bytes(b, p->cert.data);
	return TRUE;
}

static gboolean
build_nonce(Builder *b, const IkePayload *p)
{
	gsize len = bytes_len(p->nonce.data);

	if (len < IKE_NONCE_MIN_LEN || len > IKE_NONCE_MAX_LEN)
		return fail(b, "nonce length outside 16..256");
	put_bytes(b, p->nonce.data);
	return TRUE;
}

static gboolean
build_notify(Builder *b, const IkePayload *p)
{
	const IkeNotifyPayload *n = &p->notify;

	if (n->spi_len > IKE_MAX_SPI_LEN)
		return fail(b, "notify SPI size");
	wire_put_u8(&b->w, n->protocol);
	wire_put_u8(&b->w, n->spi_len);
	wire_put_u16(&b->w, n->type);
	wire_put_bytes(&b->w, n->spi, n->spi_len);
	put_bytes(b, n->data);
	return TRUE;
}

static gboolean
build_delete(Builder *b, const IkePayload *p)
{
	GArray *spis = p->del.spis;

	switch (p->del.protocol) {
	case IKE_PROTOCOL_IKE:
		if (spis->len)
			return fail(b, "delete of the IKE SA with SPIs");
		wire_put_u8(&b->w, IKE_PROTOCOL_IKE);
		wire_put_u8(&b->w, 0);
		wire_put_u16(&b->w, 0);
		return TRUE;
	case IKE_PROTOCOL_AH:
	case IKE_PROTOCOL_ESP:
		if (spis->len == 0 || spis->len > G_MAXUINT16)
			return fail(b, "delete SPI count");
		wire_put_u8(&b->w, p->del.protocol);
		wire_put_u8(&b->w, 4);
		wire_put_u16(&b->w, spis->len);
		for (guint i = 0; i < spis->len; i++)
			wire_put_u32(&b->w, g_array_index(spis, guint32, i));
		return TRUE;
	default:
		return fail(b, "delete protocol");
	}
}

static gboolean
build_vendor(Builder *b, const IkePayload *p)
{
	put_bytes(b, p->vendor.data);
	return TRUE;
}

/* ---- TSi/TSr ---- */

static gboolean
build_selector(Builder *b, const IkeTrafficSelector *sel)
{
	gsize addr_len;

	if (sel->type == IKE_TS_IPV4_ADDR_RANGE)
		addr_len = 4;
	else if (sel->type == IKE_TS_IPV6_ADDR_RANGE)
		addr_len = 16;
	else
		return fail(b, "traffic selector type");
	wire_put_u8(&b->w, sel->type);
	wire_put_u8(&b->w, sel->ip_protocol);
	wire_put_u16(&b->w, addr_len == 4 ? IKE_TS_IPV4_LEN : IKE_TS_IPV6_LEN);
	wire_put_u16(&b->w, sel->start_port);
	wire_put_u16(&b->w, sel->end_port);
	wire_put_bytes(&b->w, sel->start_addr, addr_len);
	wire_put_bytes(&b->w, sel->end_addr, addr_len);
	return TRUE;
}

static gboolean
build_ts(Builder *b, const IkePayload *p)
{
	GArray *sels = p->ts.selectors;

	if (sels->len == 0 || sels->len > IKE_MAX_TRAFFIC_SELECTORS)
		return fail(b, "number of traffic selectors");
	wire_put_u8(&b->w, sels->len);
	put_zeros(b, 3);
	for (guint i = 0; i < sels->len; i++) {
		if (!build_selector(b, &g_array_index(sels, IkeTrafficSelector, i)))
			return FALSE;
	}
	return TRUE;
}

/* ---- CP, EAP, SK ---- */

static gboolean
build_cp(Builder *b, const IkePayload *p)
{
	GArray *attrs = p->cp.attributes;

	if (attrs->len > IKE_MAX_CP_ATTRIBUTES)
		return fail(b, "too many configuration attributes");
	wire_put_u8(&b->w, p->cp.type);
	put_zeros(b, 3);
	for (guint i = 0; i < attrs->len; i++) {
		const IkeCfgAttr *attr = &g_array_index(attrs, IkeCfgAttr, i);
		gsize len = bytes_len(attr->value);

		if (len > G_MAXUINT16)
			return fail(b, "configuration attribute too long");
		wire_put_u16(&b->w, attr->type & 0x7fff);
		wire_put_u16(&b->w, len);
		put_bytes(b, attr->value);
	}
	return TRUE;
}

static gboolean
build_eap(Builder *b, const IkePayload *p)
{
	const IkeEapPayload *eap = &p->eap;
	gsize len = IKE_EAP_HEADER_LEN;

	switch (eap->code) {
	case IKE_EAP_REQUEST:
	case IKE_EAP_RESPONSE:
		len += 1 + bytes_len(eap->data);
		break;
	case IKE_EAP_SUCCESS:
	case IKE_EAP_FAILURE:
		if (bytes_len(eap->data))
			return fail(b, "EAP Success/Failure with data");
		break;
	default:
		return fail(b, "EAP code");
	}
	if (len > G_MAXUINT16)
		return fail(b, "EAP message too long");
	wire_put_u8(&b->w, eap->code);
	wire_put_u8(&b->w, eap->identifier);
	wire_put_u16(&b->w, len);
	if (len > IKE_EAP_HEADER_LEN) {
		wire_put_u8(&b->w, eap->type);
		put_bytes(b, eap->data);
	}
	return TRUE;
}

static gboolean
build_sk(Builder *b, const IkePayload *p)
{
	const IkeSkPayload *sk = &p->sk;

	if (p->type == IKE_PAYLOAD_SKF) {
		if (sk->fragment == 0 || sk->fragment > sk->total)
			return fail(b, "SKF fragment number");
		wire_put_u16(&b->w, sk->fragment);
		wire_put_u16(&b->w, sk->total);
	}
	if (!bytes_len(sk->data))
		return fail(b, "SK without data");
	put_bytes(b, sk->data);
	return TRUE;
}

static gboolean
build_body(Builder *b, const IkePayload *p)
{
	switch ((IkePayloadType)p->type) {
	case IKE_PAYLOAD_SA:
		return build_sa(b, p);
	case IKE_PAYLOAD_KE:
		return build_ke(b, p);
	case IKE_PAYLOAD_IDI:
	case IKE_PAYLOAD_IDR:
		return build_typed(b, p->id.type, p->id.data);
	case IKE_PAYLOAD_CERT:
	case IKE_PAYLOAD_CERTREQ:
		return build_cert(b, p);
	case IKE_PAYLOAD_AUTH:
		return build_auth(b, p);
	case IKE_PAYLOAD_NONCE:
		return build_nonce(b, p);
	case IKE_PAYLOAD_NOTIFY:
		return build_notify(b, p);
	case IKE_PAYLOAD_DELETE:
		return build_delete(b, p);
	case IKE_PAYLOAD_VENDOR:
		return build_vendor(b, p);
	case IKE_PAYLOAD_TSI:
	case IKE_PAYLOAD_TSR:
		return build_ts(b, p);
	case IKE_PAYLOAD_CP:
		return build_cp(b, p);
	case IKE_PAYLOAD_EAP:
		return build_eap(b, p);
	case IKE_PAYLOAD_SK:
	case IKE_PAYLOAD_SKF:
		return build_sk(b, p);
	case IKE_PAYLOAD_NONE:
		break;
	}
	return fail(b, "payload type");
}

/* ---- the chain ---- */

static gboolean
is_encrypted(const IkePayload *p)
{
	return p->type == IKE_PAYLOAD_SK || p->type == IKE_PAYLOAD_SKF;
}

/* The payloads with in_sk == @in_sk, in order. (transfer container) */
static GPtrArray *
select_payloads(const IkeMsg *msg, gboolean in_sk)
{
	GPtrArray *sel = g_ptr_array_new();

	for (guint i = 0; i < msg->payloads->len; i++) {
		IkePayload *p = g_ptr_array_index(msg->payloads, i);

		if (!p->in_sk == !in_sk)
			g_ptr_array_add(sel, p);
	}
	return sel;
}

static gboolean
build_payload(Builder *b, IkePayload *p, guint8 next)
{
	gsize start = wire_writer_offset(&b->w);
	gsize len_at;

	wire_put_u8(&b->w, next);
	wire_put_u8(&b->w, 0); /* critical bit: zero for every payload of RFC 7296 */
	len_at = wire_reserve(&b->w, 2);
	if (is_encrypted(p))
		p->sk.offset = start - b->msg_start;
	if (!build_body(b, p))
		return FALSE;
	if (!wire_patch_len16(&b->w, len_at, start))
		return fail(b, "payload longer than 65535 bytes");
	return TRUE;
}

static gboolean
build_chain(Builder *b, GPtrArray *chain, gboolean in_sk)
{
	for (guint i = 0; i < chain->len; i++) {
		IkePayload *p = g_ptr_array_index(chain, i);
		guint8 next = IKE_PAYLOAD_NONE;

		if (is_encrypted(p)) {
			if (in_sk)
				return fail(b, "SK inside SK");
			if (i + 1 != chain->len)
				return fail(b, "SK not the last payload");
			next = p->sk.first_type;
		} else if (i + 1 < chain->len) {
			next = ((IkePayload *)g_ptr_array_index(chain, i + 1))->type;
		}
		if (!build_payload(b, p, next))
			return FALSE;
	}
	return TRUE;
}

static guint8
first_type(GPtrArray *chain)
{
	return chain->len ? ((IkePayload *)g_ptr_array_index(chain, 0))->type : IKE_PAYLOAD_NONE;
}

static void
build_header(Builder *b, const IkeHeader *h, guint8 next)
{
	wire_put_u64(&b->w, h->spi_i);
	wire_put_u64(&b->w, h->spi_r);
	wire_put_u8(&b->w, next);
	wire_put_u8(&b->w, h->major_version << 4 | h->minor_version);
	wire_put_u8(&b->w, h->exchange);
	wire_put_u8(&b->w, h->flags);
	wire_put_u32(&b->w, h->message_id);
	wire_reserve(&b->w, 4); /* length, patched when known */
}

static gboolean
build_msg(Builder *b, IkeMsg *msg)
{
	g_autoptr(GPtrArray) outer = select_payloads(msg, FALSE);
	const IkeHeader *h = &msg->header;
	gsize len;

	if (msg->payloads->len > IKE_MAX_PAYLOADS)
		return fail(b, "too many payloads");
	/* we speak 2 only, also when answering INVALID_MAJOR_VERSION (RFC 7296 §2.5) */
	if (h->major_version != IKE_MAJOR_VERSION || h->minor_version > 0x0f)
		return fail(b, "version");
	build_header(b, h, first_type(outer));
	if (!build_chain(b, outer, FALSE))
		return FALSE;
	len = wire_writer_offset(&b->w) - b->msg_start;
	if (len > IKE_MSG_MAX_LEN)
		return fail(b, "message too long");
	wire_patch_u32(&b->w, b->msg_start + IKE_HEADER_LEN - 4, len);
	return TRUE;
}

gboolean
ike_msg_build(IkeMsg *msg, GByteArray *out)
{
	Builder b = {.msg_start = out->len};

	wire_writer_init(&b.w, out);
	if (!build_msg(&b, msg)) {
		g_debug("cannot build %s: %s", ike_exchange_type_to_string(msg->header.exchange),
		        b.reason);
		g_byte_array_set_size(out, b.msg_start);
		return FALSE;
	}
	return TRUE;
}

gboolean
ike_msg_build_inner(IkeMsg *msg, GByteArray *out, guint8 *first)
{
	g_autoptr(GPtrArray) inner = select_payloads(msg, TRUE);
	Builder b = {.msg_start = out->len};

	wire_writer_init(&b.w, out);
	if (inner->len > IKE_MAX_PAYLOADS || !build_chain(&b, inner, TRUE)) {
		g_debug("cannot build the SK plaintext of %s: %s",
		        ike_exchange_type_to_string(msg->header.exchange),
		        b.reason ? b.reason : "too many payloads");
		g_byte_array_set_size(out, b.msg_start);
		return FALSE;
	}
	*first = first_type(inner);
	return TRUE;
}
