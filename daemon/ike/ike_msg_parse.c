/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IKEv2 decoder: a datagram into an IkeMsg (ike_msg_decode()) and a decrypted SK
 * plaintext into more of its payloads (ike_payloads_parse()).
 *
 * Each payload's generic header gives a length that becomes the payload's own
 * sub-cursor; proposals, transforms, attributes, selectors and configuration
 * attributes nest the same way, so no parser can read past the structure it parses,
 * and every structure must be consumed exactly. The first problem found ends the
 * decode; the message is then dropped whole, never used in part.
 */
#include "ike_msg_private.h"
#include "wire.h"

typedef struct {
	GBytes *backing;    /* the bytes the readers point into */
	const guint8 *base; /* its first byte, for offsets */
	IkeMsg *msg;
	gboolean in_sk;
	guint n_payloads; /* seen so far in this message, skipped ones too */
	guint8 payload_type;
	gsize payload_offset;
	const char *reason;
} Parser;

static gboolean
fail(Parser *ps, const char *reason)
{
	ps->reason = reason;
	return FALSE;
}

/* What is left in @r, as a slice of the backing bytes (no copy). */
static GBytes *
rest_bytes(Parser *ps, WireReader *r)
{
	GBytes *b = g_bytes_new_from_bytes(ps->backing, r->p - ps->base, r->left);

	wire_skip(r, r->left);
	return b;
}

static gboolean
skip_reserved(WireReader *r, gsize len)
{
	return wire_skip(r, len);
}

/* ---- SA: proposals, transforms, attributes (RFC 7296 §3.3) ---- */

static gboolean
parse_attributes(Parser *ps, WireReader *r, IkeTransform *t)
{
	for (guint n = 1; r->left; n++) {
		guint16 type, value;

		if (n > IKE_MAX_ATTRIBUTES)
			return fail(ps, "too many transform attributes");
		if (!wire_read_u16(r, &type) || !wire_read_u16(r, &value))
			return fail(ps, "transform attribute truncated");
		if (!(type & IKE_ATTR_FORMAT_TV)) {
			/* TLV: @value is the length of a value no IKEv2 attribute has */
			if (!wire_skip(r, value))
				return fail(ps, "transform attribute longer than its transform");
			t->unknown_attributes = TRUE;
		} else if ((type & ~IKE_ATTR_FORMAT_TV) != IKE_ATTR_KEY_LENGTH) {
			t->unknown_attributes = TRUE;
		} else if (t->has_key_length) {
			return fail(ps, "Key Length attribute twice");
		} else {
			t->has_key_length = TRUE;
			t->key_length = value;
		}
	}
	return TRUE;
}

static gboolean
parse_transforms(Parser *ps, WireReader *r, guint n, IkeProposal *prop)
{
	for (guint i = 0; i < n; i++) {
		IkeTransform t = {0};
		guint8 last, reserved;
		guint16 len;
		WireReader tr;

		if (!wire_read_u8(r, &last) || !wire_read_u8(r, &reserved) ||
		    !wire_read_u16(r, &len))
			return fail(ps, "transform truncated or fewer than counted");
		if (len < 8 || !wire_read_sub(r, len - 4, &tr))
			return fail(ps, "transform length");
		if (!wire_read_u8(&tr, &t.type) || !wire_read_u8(&tr, &reserved) ||
		    !wire_read_u16(&tr, &t.id))
			return fail(ps, "transform truncated");
		/* RFC 7296 §3.3.2: 3 when more transforms follow, 0 on the last */
		if (last != (i + 1 == n ? 0 : 3))
			return fail(ps, "transform Last Substruc disagrees with the count");
		if (!parse_attributes(ps, &tr, &t))
			return FALSE;
		g_array_append_val(prop->transforms, t);
	}
	if (r->left)
		return fail(ps, "proposal longer than its transforms");
	return TRUE;
}

static gboolean
parse_proposal(Parser *ps, WireReader *pr, GArray *proposals)
{
	IkeProposal prop = {0};
	guint8 n_transforms;

	if (!wire_read_u8(pr, &prop.number) || !wire_read_u8(pr, &prop.protocol) ||
	    !wire_read_u8(pr, &prop.spi_len) || !wire_read_u8(pr, &n_transforms))
		return fail(ps, "proposal truncated");
	if (prop.spi_len != 0 && prop.spi_len != 4 && prop.spi_len != 8)
		return fail(ps, "proposal SPI size");
	if (!wire_read_bytes(pr, prop.spi, prop.spi_len))
		return fail(ps, "proposal SPI truncated");
	prop.transforms = g_array_new(FALSE, TRUE, sizeof(IkeTransform));
	/* appended first: the payload owns it, even when a transform fails below */
	g_array_append_val(proposals, prop);
	return parse_transforms(ps, pr, n_transforms,
	                        &g_array_index(proposals, IkeProposal, proposals->len - 1));
}

static gboolean
parse_sa(Parser *ps, WireReader *r, IkePayload *p)
{
	guint8 last;

	do {
		guint8 reserved;
		guint16 len;
		WireReader pr;

		if (p->sa.proposals->len >= IKE_MAX_PROPOSALS)
			return fail(ps, "too many proposals");
		if (!wire_read_u8(r, &last) || !wire_read_u8(r, &reserved) ||
		    !wire_read_u16(r, &len))
			return fail(ps, "proposal header truncated");
		if (len < 8 || !wire_read_sub(r, len - 4, &pr))
			return fail(ps, "proposal length");
		if (!parse_proposal(ps, &pr, p->sa.proposals))
			return FALSE;
		/* RFC 7296 §3.3.1: 2 when more proposals follow, 0 on the last */
		if (last != 0 && last != 2)
			return fail(ps, "proposal Last Substruc");
	} while (last == 2);
	if (r->left)
		return fail(ps, "SA payload longer than its proposals");
	return TRUE;
}

/* ---- the simple ones ---- */

static gboolean
parse_ke(Parser *ps, WireReader *r, IkePayload *p)
{
	if (!wire_read_u16(r, &p->ke.group) || !skip_reserved(r, 2))
		return fail(ps, "KE truncated");
	if (!r->left)
		return fail(ps, "KE without data");
	p->ke.data = rest_bytes(ps, r);
	return TRUE;
}

static gboolean
parse_id(Parser *ps, WireReader *r, IkePayload *p)
{
	if (!wire_read_u8(r, &p->id.type) || !skip_reserved(r, 3))
		return fail(ps, "ID truncated");
	p->id.data = rest_bytes(ps, r);
	return TRUE;
}

static gboolean
parse_cert(Parser *ps, WireReader *r, IkePayload *p)
{
	if (!wire_read_u8(r, &p->cert.encoding))
		return fail(ps, "CERT/CERTREQ truncated");
	p->cert.data = rest_bytes(ps, r);
	return TRUE;
}

static gboolean
parse_auth(Parser *ps, WireReader *r, IkePayload *p)
{
	if (!wire_read_u8(r, &p->auth.method) || !skip_reserved(r, 3))
		return fail(ps, "AUTH truncated");
	if (!r->left)
		return fail(ps, "AUTH without data");
	p->auth.data = rest_bytes(ps, r);
	return TRUE;
}

static gboolean
parse_nonce(Parser *ps, WireReader *r, IkePayload *p)
{
	if (r->left < IKE_NONCE_MIN_LEN || r->left > IKE_NONCE_MAX_LEN)
		return fail(ps, "nonce length outside 16..256");
	p->nonce.data = rest_bytes(ps, r);
	return TRUE;
}

static gboolean
parse_notify(Parser *ps, WireReader *r, IkePayload *p)
{
	IkeNotifyPayload *n = &p->notify;

	if (!wire_read_u8(r, &n->protocol) || !wire_read_u8(r, &n->spi_len) ||
	    !wire_read_u16(r, &n->type))
		return fail(ps, "notify truncated");
	if (n->spi_len > IKE_MAX_SPI_LEN)
		return fail(ps, "notify SPI size");
	if (!wire_read_bytes(r, n->spi, n->spi_len))
		return fail(ps, "notify SPI truncated");
	n->data = rest_bytes(ps, r);
	return TRUE;
}

static gboolean
parse_delete(Parser *ps, WireReader *r, IkePayload *p)
{
	guint8 spi_len;
	guint16 n_spis;

	if (!wire_read_u8(r, &p->del.protocol) || !wire_read_u8(r, &spi_len) ||
	    !wire_read_u16(r, &n_spis))
		return fail(ps, "delete truncated");
	/* RFC 7296 §3.11: IKE SAs are named by the header; child SAs by 4-byte SPIs */
	switch (p->del.protocol) {
	case IKE_PROTOCOL_IKE:
		if (spi_len != 0 || n_spis != 0)
			return fail(ps, "delete of the IKE SA with SPIs");
		break;
	case IKE_PROTOCOL_AH:
	case IKE_PROTOCOL_ESP:
		if (spi_len != 4 || n_spis == 0)
			return fail(ps, "delete SPI size or count");
		break;
	default:
		return fail(ps, "delete protocol");
	}
	if (r->left != (gsize)spi_len * n_spis)
		return fail(ps, "delete SPI count disagrees with the length");
	for (guint i = 0; i < n_spis; i++) {
		guint32 spi = 0;

		wire_read_u32(r, &spi);
		g_array_append_val(p->del.spis, spi);
	}
	return TRUE;
}

static gboolean
parse_vendor(Parser *ps, WireReader *r, IkePayload *p)
{
	p->vendor.data = rest_bytes(ps, r);
	return TRUE;
}

/* ---- TSi/TSr (RFC 7296 §3.13) ---- */

static gboolean
parse_selector(Parser *ps, WireReader *r, IkeTsPayload *ts)
{
	IkeTrafficSelector sel = {0};
	gsize addr_len, want;
	guint16 len;
	WireReader sr;

	if (!wire_read_u8(r, &sel.type) || !wire_read_u8(r, &sel.ip_protocol) ||
	    !wire_read_u16(r, &len))
		return fail(ps, "traffic selector truncated or fewer than counted");
	if (len < 4 || !wire_read_sub(r, len - 4, &sr))
		return fail(ps, "traffic selector length");
	if (sel.type == IKE_TS_IPV4_ADDR_RANGE) {
		addr_len = 4;
		want = IKE_TS_IPV4_LEN;
	} else if (sel.type == IKE_TS_IPV6_ADDR_RANGE) {
		addr_len = 16;
		want = IKE_TS_IPV6_LEN;
	} else {
		/* a type we do not know only ever narrows: leave it out, say so */
		ts->n_unknown++;
		return TRUE;
	}
	if (len != want)
		return fail(ps, "traffic selector length does not fit its type");
	if (!wire_read_u16(&sr, &sel.start_port) || !wire_read_u16(&sr, &sel.end_port) ||
	    !wire_read_bytes(&sr, sel.start_addr, addr_len) ||
	    !wire_read_bytes(&sr, sel.end_addr, addr_len))
		return fail(ps, "traffic selector truncated");
	g_array_append_val(ts->selectors, sel);
	return TRUE;
}

static gboolean
parse_ts(Parser *ps, WireReader *r, IkePayload *p)
{
	guint8 n;

	if (!wire_read_u8(r, &n) || !skip_reserved(r, 3))
		return fail(ps, "TS truncated");
	if (n == 0 || n > IKE_MAX_TRAFFIC_SELECTORS)
		return fail(ps, "number of traffic selectors");
	for (guint i = 0; i < n; i++) {
		if (!parse_selector(ps, r, &p->ts))
			return FALSE;
	}
	if (r->left)
		return fail(ps, "TS payload longer than its selectors");
	return TRUE;
}

/* ---- CP (RFC 7296 §3.15) and EAP (§3.16) ---- */

static gboolean
parse_cp(Parser *ps, WireReader *r, IkePayload *p)
{
	GArray *attrs = p->cp.attributes;

	if (!wire_read_u8(r, &p->cp.type) || !skip_reserved(r, 3))
		return fail(ps, "CP truncated");
	while (r->left) {
		IkeCfgAttr attr = {0};
		guint16 len;
		WireReader vr;

		if (attrs->len >= IKE_MAX_CP_ATTRIBUTES)
			return fail(ps, "too many configuration attributes");
		if (!wire_read_u16(r, &attr.type) || !wire_read_u16(r, &len))
			return fail(ps, "configuration attribute truncated");
		if (!wire_read_sub(r, len, &vr))
			return fail(ps, "configuration attribute longer than its payload");
		attr.type &= 0x7fff; /* the top bit is reserved */
		attr.value = rest_bytes(ps, &vr);
		g_array_append_val(attrs, attr);
	}
	return TRUE;
}

static gboolean
parse_eap(Parser *ps, WireReader *r, IkePayload *p)
{
	IkeEapPayload *eap = &p->eap;
	guint16 len;

	if (!wire_read_u8(r, &eap->code) || !wire_read_u8(r, &eap->identifier) ||
	    !wire_read_u16(r, &len))
		return fail(ps, "EAP header truncated");
	if (len != IKE_EAP_HEADER_LEN + r->left)
		return fail(ps, "EAP length disagrees with the payload length");
	switch (eap->code) {
	case IKE_EAP_REQUEST:
	case IKE_EAP_RESPONSE:
		if (!wire_read_u8(r, &eap->type))
			return fail(ps, "EAP Request/Response without a type");
		eap->data = rest_bytes(ps, r);
		return TRUE;
	case IKE_EAP_SUCCESS:
	case IKE_EAP_FAILURE:
		if (r->left)
			return fail(ps, "EAP Success/Failure with data");
		return TRUE;
	default:
		return fail(ps, "EAP code");
	}
}

/* ---- SK and SKF (RFC 7296 §3.14, RFC 7383 §2.5) ---- */

static gboolean
parse_sk(Parser *ps, WireReader *r, IkePayload *p, guint8 next)
{
	IkeSkPayload *sk = &p->sk;

	if (p->type == IKE_PAYLOAD_SKF) {
		if (!wire_read_u16(r, &sk->fragment) || !wire_read_u16(r, &sk->total))
			return fail(ps, "SKF truncated");
		if (sk->fragment == 0 || sk->fragment > sk->total)
			return fail(ps, "SKF fragment number");
	}
	if (!r->left)
		return fail(ps, "SK without data");
	sk->first_type = next;
	sk->offset = ps->payload_offset;
	sk->data = rest_bytes(ps, r);
	return TRUE;
}

static gboolean
parse_body(Parser *ps, WireReader *r, IkePayload *p)
{
	switch ((IkePayloadType)p->type) {
	case IKE_PAYLOAD_SA:
		return parse_sa(ps, r, p);
	case IKE_PAYLOAD_KE:
		return parse_ke(ps, r, p);
	case IKE_PAYLOAD_IDI:
	case IKE_PAYLOAD_IDR:
		return parse_id(ps, r, p);
	case IKE_PAYLOAD_CERT:
	case IKE_PAYLOAD_CERTREQ:
		return parse_cert(ps, r, p);
	case IKE_PAYLOAD_AUTH:
		return parse_auth(ps, r, p);
	case IKE_PAYLOAD_NONCE:
		return parse_nonce(ps, r, p);
	case IKE_PAYLOAD_NOTIFY:
		return parse_notify(ps, r, p);
	case IKE_PAYLOAD_DELETE:
		return parse_delete(ps, r, p);
	case IKE_PAYLOAD_VENDOR:
		return parse_vendor(ps, r, p);
	case IKE_PAYLOAD_TSI:
	case IKE_PAYLOAD_TSR:
		return parse_ts(ps, r, p);
	case IKE_PAYLOAD_CP:
		return parse_cp(ps, r, p);
	case IKE_PAYLOAD_EAP:
		return parse_eap(ps, r, p);
	case IKE_PAYLOAD_SK:
	case IKE_PAYLOAD_SKF:
	case IKE_PAYLOAD_NONE:
		break;
	}
	return fail(ps, "no body parser"); /* not reached: the chain handles these */
}

/* ---- the payload chain (RFC 7296 §3.2) ---- */

static IkeParseResult
malformed(Parser *ps, const char *reason)
{
	ps->reason = reason;
	return IKE_PARSE_MALFORMED;
}

/* The SK payload ends the chain; its Next Payload names the first one inside. */
static IkeParseResult
parse_encrypted(Parser *ps, WireReader *r, WireReader *body, guint8 next)
{
	g_autoptr(IkePayload) p = ike_payload_new(ps->payload_type);

	if (ps->in_sk)
		return malformed(ps, "SK inside SK");
	if (!parse_sk(ps, body, p, next))
		return IKE_PARSE_MALFORMED;
	if (r->left)
		return malformed(ps, "payloads after SK");
	ike_msg_take_payload(ps->msg, g_steal_pointer(&p));
	return IKE_PARSE_OK;
}

static IkeParseResult
parse_chain(Parser *ps, guint8 type, WireReader *r)
{
	while (type != IKE_PAYLOAD_NONE) {
		g_autoptr(IkePayload) p = NULL;
		guint8 next, flags;
		guint16 len;
		WireReader body;

		ps->payload_type = type;
		ps->payload_offset = r->p - ps->base;
		if (++ps->n_payloads > IKE_MAX_PAYLOADS)
			return malformed(ps, "too many payloads");
		if (!wire_read_u8(r, &next) || !wire_read_u8(r, &flags) ||
		    !wire_read_u16(r, &len) || len < IKE_PAYLOAD_HEADER_LEN ||
		    !wire_read_sub(r, len - IKE_PAYLOAD_HEADER_LEN, &body))
			return malformed(ps, "payload length");
		if (!ike_payload_type_is_known(type)) {
			/* RFC 7296 §3.2: the critical bit is about this payload, not the next */
			if (flags & IKE_PAYLOAD_FLAG_CRITICAL) {
				ps->reason = "unknown payload marked critical";
				return IKE_PARSE_UNSUPPORTED_CRITICAL;
			}
			g_debug("skipping unknown payload %u (%u bytes)", type, len);
			g_array_append_val(ps->msg->skipped, type);
			type = next;
			continue;
		}
		if (type == IKE_PAYLOAD_SK || type == IKE_PAYLOAD_SKF)
			return parse_encrypted(ps, r, &body, next);
		p = ike_payload_new(type);
		p->in_sk = ps->in_sk;
		if (!parse_body(ps, &body, p))
			return IKE_PARSE_MALFORMED;
		if (body.left)
			return malformed(ps, "payload longer than its fields");
		ike_msg_take_payload(ps->msg, g_steal_pointer(&p));
		type = next;
	}
	if (r->left)
		return malformed(ps, "bytes after the last payload");
	return IKE_PARSE_OK;
}

static void
fill_detail(IkeParseDetail *detail, const Parser *ps)
{
	detail->payload_type = ps->payload_type;
	detail->offset = ps->payload_offset;
	detail->reason = ps->reason;
}

/* ---- entry points ---- */

static gboolean
parse_header(WireReader *r, IkeHeader *h)
{
	guint8 version;

	if (!wire_read_u64(r, &h->spi_i) || !wire_read_u64(r, &h->spi_r) ||
	    !wire_read_u8(r, &h->next_payload) || !wire_read_u8(r, &version) ||
	    !wire_read_u8(r, &h->exchange) || !wire_read_u8(r, &h->flags) ||
	    !wire_read_u32(r, &h->message_id) || !wire_read_u32(r, &h->length))
		return FALSE;
	h->major_version = version >> 4;
	h->minor_version = version & 0x0f;
	return TRUE;
}

static IkeParseResult
decode_header(WireReader *r, gsize len, IkeParseDetail *detail)
{
	IkeHeader *h = &detail->header;

	if (!parse_header(r, h)) {
		detail->reason = "shorter than an IKE header";
		return IKE_PARSE_DROP;
	}
	detail->have_header = TRUE;
	if (h->major_version > IKE_MAJOR_VERSION) {
		detail->reason = "major version above 2";
		return IKE_PARSE_INVALID_MAJOR_VERSION;
	}
	if (h->major_version < IKE_MAJOR_VERSION) {
		detail->reason = "not IKEv2";
		return IKE_PARSE_DROP;
	}
	if (h->length != len || len > IKE_MSG_MAX_LEN) {
		detail->reason = "length field disagrees with the datagram";
		return IKE_PARSE_DROP;
	}
	return IKE_PARSE_OK;
}

IkeParseResult
ike_msg_decode(GBytes *datagram, IkeMsg **out, IkeParseDetail *detail)
{
	IkeParseDetail scratch;
	g_autoptr(IkeMsg) msg = NULL;
	IkeParseResult res;
	Parser ps = {.backing = datagram};
	gsize len;
	WireReader r;

	if (!detail)
		detail = &scratch;
	*detail = (IkeParseDetail){0};
	*out = NULL;
	ps.base = g_bytes_get_data(datagram, &len);
	wire_reader_init(&r, ps.base, len);
	res = decode_header(&r, len, detail);
	if (res != IKE_PARSE_OK) {
		g_debug("IKE datagram of %zu bytes: %s", len, detail->reason);
		return res;
	}
	msg = ike_msg_new(&detail->header);
	msg->raw = g_bytes_ref(datagram);
	ps.msg = msg;
	ps.payload_offset = IKE_HEADER_LEN;
	res = parse_chain(&ps, detail->header.next_payload, &r);
	if (res != IKE_PARSE_OK) {
		fill_detail(detail, &ps);
		g_debug("%s %s: %s at offset %zu in payload %s (%u)",
		        ike_exchange_type_to_string(detail->header.exchange),
		        ike_parse_result_to_string(res), detail->reason, detail->offset,
		        ike_payload_type_to_string(detail->payload_type), detail->payload_type);
		return res;
	}
	*out = g_steal_pointer(&msg);
	return IKE_PARSE_OK;
}

IkeParseResult
ike_msg_decode_data(const guint8 *data, gsize len, IkeMsg **msg, IkeParseDetail *detail)
{
	g_autoptr(GBytes) bytes = g_bytes_new(data, len);

	return ike_msg_decode(bytes, msg, detail);
}

IkeParseResult
ike_payloads_parse(guint8 first_type, const guint8 *data, gsize len, IkeMsg *msg,
                   IkeParseDetail *detail)
{
	static const guint8 empty[1];
	g_autoptr(GBytes) plain = g_bytes_new(data, len);
	guint old_payloads = msg->payloads->len;
	guint old_skipped = msg->skipped->len;
	Parser ps = {
	        .backing = plain,
	        .msg = msg,
	        .in_sk = TRUE,
	        .n_payloads = old_payloads + old_skipped,
	};
	IkeParseDetail scratch;
	IkeParseResult res;
	WireReader r;

	if (!detail)
		detail = &scratch;
	*detail = (IkeParseDetail){.have_header = TRUE, .header = msg->header};
	/* an empty GBytes has no data pointer; offsets need a real one */
	ps.base = len ? g_bytes_get_data(plain, NULL) : empty;
	wire_reader_init(&r, ps.base, len);
	res = parse_chain(&ps, first_type, &r);
	if (res != IKE_PARSE_OK) {
		g_ptr_array_set_size(msg->payloads, old_payloads);
		g_array_set_size(msg->skipped, old_skipped);
		fill_detail(detail, &ps);
		g_debug("SK plaintext %s: %s at offset %zu in payload %s (%u)",
		        ike_parse_result_to_string(res), detail->reason, detail->offset,
		        ike_payload_type_to_string(detail->payload_type), detail->payload_type);
		return res;
	}
	msg->has_inner = TRUE;
	return IKE_PARSE_OK;
}
