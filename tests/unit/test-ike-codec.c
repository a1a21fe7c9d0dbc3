/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IKEv2 codec (daemon/ike/): wire cursor and writer, decoding of hand-made bytes
 * laid out from RFC 7296 §3, build/decode round trips of every payload and of whole
 * messages, a malformed corpus (lying lengths and counts, truncation at every byte,
 * bit flips), the per-exchange rule tables, and a replay of the fuzzer's seed corpus
 * (tests/fuzz/corpus/ike-decode/).
 *
 * "test-ike-codec --write-corpus DIR" writes the seed messages below as that corpus.
 */
#include "ike/ike_msg.h"
#include "ike/wire.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

/* ---- helpers ---- */

static GByteArray *
hex_bytes(const char *hex)
{
	GByteArray *out = g_byte_array_new();
	int hi = -1;

	for (const char *c = hex; *c; c++) {
		int v = g_ascii_xdigit_value(*c);

		if (v < 0) {
			g_assert_true(g_ascii_isspace(*c) || *c == '|');
			continue;
		}
		if (hi < 0) {
			hi = v;
		} else {
			guint8 b = hi << 4 | v;

			g_byte_array_append(out, &b, 1);
			hi = -1;
		}
	}
	g_assert_cmpint(hi, ==, -1);
	return out;
}

static const IkeHeader base_header = {
        .spi_i = G_GUINT64_CONSTANT(0x0123456789abcdef),
        .spi_r = 0,
        .major_version = 2,
        .exchange = IKE_EXCHANGE_IKE_SA_INIT,
        .flags = IKE_FLAG_INITIATOR,
        .message_id = 0,
};

static void
put_be32(guint8 *p, guint32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* A datagram: a header for @exchange (length filled in) and then @payloads. */
static GByteArray *
wrap_payloads(guint8 exchange, guint8 flags, guint8 first, const guint8 *payloads, gsize len)
{
	g_autoptr(GByteArray) hdr = hex_bytes("0123456789abcdef 1122334455667788 00 20 00 00 "
	                                      "00000001 00000000");
	hdr->data[16] = first;
	hdr->data[18] = exchange;
	hdr->data[19] = flags;
	g_byte_array_append(hdr, payloads, len);
	put_be32(hdr->data + 24, hdr->len);
	return g_steal_pointer(&hdr);
}

static GByteArray *
wrap_hex(guint8 first, const char *payload_hex)
{
	g_autoptr(GByteArray) pl = hex_bytes(payload_hex);

	return wrap_payloads(IKE_EXCHANGE_IKE_SA_INIT, IKE_FLAG_INITIATOR, first, pl->data,
	                     pl->len);
}

static void
assert_same_bytes(const guint8 *a, gsize alen, const guint8 *b, gsize blen)
{
	if (alen != blen || (alen && memcmp(a, b, alen) != 0)) {
		g_autofree char *ha = g_strdup("");
		g_autofree char *hb = g_strdup("");

		for (gsize i = 0; i < alen; i++) {
			g_autofree char *o = ha;
			ha = g_strdup_printf("%s%02x", o, a[i]);
		}
		for (gsize i = 0; i < blen; i++) {
			g_autofree char *o = hb;
			hb = g_strdup_printf("%s%02x", o, b[i]);
		}
		g_error("bytes differ:\n %s\n %s", ha, hb);
	}
}

/* The SK or SKF payload, or NULL. */
static IkePayload *
find_encrypted(const IkeMsg *msg)
{
	IkePayload *sk = ike_msg_find(msg, IKE_PAYLOAD_SK);

	return sk ? sk : ike_msg_find(msg, IKE_PAYLOAD_SKF);
}

static IkeMsg *
decode_ok(const guint8 *data, gsize len)
{
	IkeMsg *msg = NULL;
	IkeParseDetail detail;
	IkeParseResult res = ike_msg_decode_data(data, len, &msg, &detail);

	if (res != IKE_PARSE_OK)
		g_error("decode: %s: %s at %zu", ike_parse_result_to_string(res), detail.reason,
		        detail.offset);
	g_assert_nonnull(msg);
	return msg;
}

/* Decodes, and when there is an SK, parses its data as the plaintext (no cipher here). */
static IkeMsg *
decode_full_ok(const guint8 *data, gsize len)
{
	IkeMsg *msg = decode_ok(data, len);
	IkePayload *sk = find_encrypted(msg);
	IkeParseDetail detail;

	if (sk) {
		gsize plen;
		const guint8 *plain = ike_payload_get_data(sk, &plen);
		IkeParseResult res;

		/* build_with_sk() stands in 8 bytes for an empty plaintext */
		if (sk->sk.first_type == IKE_PAYLOAD_NONE)
			plen = 0;
		res = ike_payloads_parse(sk->sk.first_type, plain, plen, msg, &detail);

		if (res != IKE_PARSE_OK)
			g_error("inner: %s: %s", ike_parse_result_to_string(res), detail.reason);
	}
	return msg;
}

static GByteArray *
build_ok(IkeMsg *msg)
{
	g_autoptr(GByteArray) out = g_byte_array_new();

	g_assert_true(ike_msg_build(msg, out));
	return g_steal_pointer(&out);
}

/*
 * Encodes @msg the way the engine will: its in_sk payloads become the plaintext, here
 * used as the SK data unencrypted, then the outer message is built.
 */
static GByteArray *
build_with_sk(IkeMsg *msg, IkePayloadType sk_type)
{
	g_autoptr(GByteArray) plain = g_byte_array_new();
	IkePayload *sk;
	guint8 first;

	g_assert_true(ike_msg_build_inner(msg, plain, &first));
	sk = ike_msg_add_payload(msg, sk_type, FALSE);
	sk->sk.first_type = first;
	if (sk_type == IKE_PAYLOAD_SKF) {
		sk->sk.fragment = 1;
		sk->sk.total = 1;
	}
	/* an empty plaintext still has IV and ICV on the wire */
	if (plain->len == 0)
		g_byte_array_append(plain, (const guint8 *)"IV..ICV.", 8);
	ike_payload_set_data(sk, plain->data, plain->len);
	return build_ok(msg);
}

/* build(decode(bytes)) == bytes, and the same for the SK plaintext. */
static void
assert_roundtrip(const GByteArray *bytes)
{
	g_autoptr(IkeMsg) msg = decode_full_ok(bytes->data, bytes->len);
	g_autoptr(GByteArray) again = build_ok(msg);
	IkePayload *sk = find_encrypted(msg);

	assert_same_bytes(bytes->data, bytes->len, again->data, again->len);
	if (sk) {
		g_autoptr(GByteArray) plain = g_byte_array_new();
		const guint8 *data;
		gsize len;
		guint8 first;

		g_assert_true(ike_msg_build_inner(msg, plain, &first));
		g_assert_cmpuint(first, ==, sk->sk.first_type);
		data = ike_payload_get_data(sk, &len);
		if (plain->len)
			assert_same_bytes(data, len, plain->data, plain->len);
	}
}

static IkeParseResult
decode_result(const guint8 *data, gsize len, IkeParseDetail *detail)
{
	g_autoptr(IkeMsg) msg = NULL;
	IkeParseResult res = ike_msg_decode_data(data, len, &msg, detail);

	g_assert_true((res == IKE_PARSE_OK) == (msg != NULL));
	return res;
}

/*
 * What the fuzzer checks too: whatever decodes can be checked against the rules, and
 * when it builds, its bytes decode again and build to the same bytes.
 */
static void
exercise(const guint8 *data, gsize len)
{
	g_autoptr(IkeMsg) msg = NULL;
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(IkeMsg) again = NULL;
	g_autoptr(GByteArray) out2 = g_byte_array_new();
	IkePayload *sk;
	guint16 notify;

	if (ike_msg_decode_data(data, len, &msg, NULL) != IKE_PARSE_OK)
		return;
	sk = find_encrypted(msg);
	if (sk) {
		gsize plen;
		const guint8 *plain = ike_payload_get_data(sk, &plen);

		ike_payloads_parse(sk->sk.first_type, plain, plen, msg, NULL);
	}
	ike_msg_check_rules(msg, &notify, NULL);
	if (!ike_msg_build(msg, out))
		return;
	g_assert_cmpint(ike_msg_decode_data(out->data, out->len, &again, NULL), ==, IKE_PARSE_OK);
	g_assert_true(ike_msg_build(again, out2));
	assert_same_bytes(out->data, out->len, out2->data, out2->len);
}

/* ---- seed messages ---- */

/*
 * An IKE_SA_INIT request laid out like strongSwan's with proposal
 * aes256gcm16-prfsha256-curve25519 (RFC 7296 §3.1–§3.10, RFC 7383, RFC 7427).
 */
/* clang-format off */
static const char sa_init_request_hex[] =
	/* header: SPIi, SPIr 0, next SA, 2.0, IKE_SA_INIT, I, message ID 0, 224 bytes */
	"0123456789abcdef 0000000000000000 21 20 22 08 00000000 000000e0"
	/* SA, next KE, 40 bytes: proposal 1 of 36 bytes, IKE, no SPI, 3 transforms */
	"22 00 0028  00 00 0024 01 01 00 03"
	"  03 00 000c 01 00 0014 800e 0100" /* ENCR AES_GCM_16, Key Length 256 */
	"  03 00 0008 02 00 0005"           /* PRF HMAC_SHA2_256 */
	"  00 00 0008 04 00 001f"           /* KE Curve25519 */
	/* KE, next Nonce, 40 bytes: group 31, 32 bytes of public value */
	"28 00 0028 001f 0000"
	"  000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f"
	/* Nonce, next Notify, 36 bytes */
	"29 00 0024 202122232425262728292a2b2c2d2e2f 303132333435363738393a3b3c3d3e3f"
	/* N(NAT_DETECTION_SOURCE_IP): no protocol, no SPI, 20-byte SHA-1 hash */
	"29 00 001c 00 00 4004 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"
	/* N(NAT_DETECTION_DESTINATION_IP) */
	"29 00 001c 00 00 4005 c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3"
	/* N(IKEV2_FRAGMENTATION_SUPPORTED), empty */
	"29 00 0008 00 00 402e"
	/* N(SIGNATURE_HASH_ALGORITHMS): SHA2-256, SHA2-384, SHA2-512, Identity */
	"00 00 0010 00 00 402f 0002 0003 0004 0005";
/* clang-format on */

static const guint8 nonce32[32] = "0123456789abcdef0123456789abcdef";

static IkeMsg *
new_msg(guint8 exchange, guint8 flags, guint32 message_id)
{
	IkeHeader h = base_header;

	h.exchange = exchange;
	h.flags = flags;
	h.message_id = message_id;
	if (exchange != IKE_EXCHANGE_IKE_SA_INIT || (flags & IKE_FLAG_RESPONSE))
		h.spi_r = G_GUINT64_CONSTANT(0xfedcba9876543210);
	return ike_msg_new(&h);
}

static void
add_ike_sa(IkeMsg *msg, gboolean in_sk, const guint8 *spi, gsize spi_len)
{
	IkePayload *sa = ike_msg_add_payload(msg, IKE_PAYLOAD_SA, in_sk);
	IkeProposal *prop = ike_payload_add_proposal(sa, IKE_PROTOCOL_IKE, spi, spi_len);

	ike_payload_proposal_add_transform(prop, 1, 20, 256);
	ike_payload_proposal_add_transform(prop, 2, 5, 0);
	ike_payload_proposal_add_transform(prop, 4, 31, 0);
	prop = ike_payload_add_proposal(sa, IKE_PROTOCOL_IKE, spi, spi_len);
	ike_payload_proposal_add_transform(prop, 1, 12, 128);
	ike_payload_proposal_add_transform(prop, 1, 12, 256);
	ike_payload_proposal_add_transform(prop, 3, 12, 0);
	ike_payload_proposal_add_transform(prop, 2, 5, 0);
	ike_payload_proposal_add_transform(prop, 4, 19, 0);
	ike_payload_proposal_add_transform(prop, 4, 14, 0);
}

static void
add_esp_sa(IkeMsg *msg, gboolean in_sk)
{
	static const guint8 spi[4] = {0xc1, 0x00, 0x00, 0x01};
	IkePayload *sa = ike_msg_add_payload(msg, IKE_PAYLOAD_SA, in_sk);
	IkeProposal *prop = ike_payload_add_proposal(sa, IKE_PROTOCOL_ESP, spi, 4);

	ike_payload_proposal_add_transform(prop, 1, 20, 256);
	ike_payload_proposal_add_transform(prop, 5, 0, 0);
}

static void
add_ts(IkeMsg *msg, IkePayloadType type, gboolean in_sk)
{
	IkePayload *ts = ike_msg_add_payload(msg, type, in_sk);
	IkeTrafficSelector v4 = {
	        .type = IKE_TS_IPV4_ADDR_RANGE,
	        .ip_protocol = 0,
	        .start_port = 0,
	        .end_port = 65535,
	        .start_addr = {10, 1, 0, 0},
	        .end_addr = {10, 1, 255, 255},
	};
	IkeTrafficSelector v6 = {
	        .type = IKE_TS_IPV6_ADDR_RANGE,
	        .ip_protocol = 17,
	        .start_port = 500,
	        .end_port = 500,
	        .start_addr = {0x20, 0x01, 0x0d, 0xb8},
	        .end_addr = {0x20, 0x01, 0x0d, 0xb8, [4 ... 15] = 0xff},
	};

	ike_payload_add_selector(ts, &v4);
	ike_payload_add_selector(ts, &v6);
}

static void
add_data(IkeMsg *msg, IkePayloadType type, gboolean in_sk, const char *text)
{
	IkePayload *p = ike_msg_add_payload(msg, type, in_sk);

	ike_payload_set_data(p, text, strlen(text));
}

static GByteArray *
seed_sa_init_response(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
	static const guint8 ke[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
	static const guint16 hashes[] = {0x0002, 0x0003, 0x0004};
	IkePayload *p;

	add_ike_sa(msg, FALSE, NULL, 0);
	ike_msg_add_ke(msg, FALSE, 31, ke, sizeof(ke));
	ike_msg_add_nonce(msg, FALSE, nonce32, sizeof(nonce32));
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_CERTREQ, FALSE);
	p->cert.encoding = IKE_CERT_X509_SIGNATURE;
	ike_payload_set_data(p, "01234567890123456789", 20);
	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_NAT_DETECTION_SOURCE_IP, 0, NULL, 0,
	                   "01234567890123456789", 20);
	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_NAT_DETECTION_DESTINATION_IP, 0, NULL, 0,
	                   "98765432109876543210", 20);
	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_IKEV2_FRAGMENTATION_SUPPORTED, 0, NULL, 0, NULL,
	                   0);
	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_SIGNATURE_HASH_ALGORITHMS, 0, NULL, 0, hashes,
	                   sizeof(hashes));
	add_data(msg, IKE_PAYLOAD_VENDOR, FALSE, "vpnd test vendor id");
	return build_ok(msg);
}

/* HDR, SK { IDi, [CERTREQ], IDr, AUTH, N(INITIAL_CONTACT), CP, N(USE_TRANSPORT_MODE),
 *           N(ESP_TFC_PADDING_NOT_SUPPORTED), SA, TSi, TSr } --> */
static GByteArray *
seed_ike_auth_request(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
	static const guint8 sha256_len_auth[32] = {0xaa, 0xbb};
	IkePayload *p;

	p = ike_msg_add_payload(msg, IKE_PAYLOAD_IDI, TRUE);
	p->id.type = IKE_ID_FQDN;
	ike_payload_set_data(p, "moon.example.org", 16);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_CERTREQ, TRUE);
	p->cert.encoding = IKE_CERT_X509_SIGNATURE;
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_IDR, TRUE);
	p->id.type = IKE_ID_IPV4_ADDR;
	ike_payload_set_data(p, "\xc0\x00\x02\x01", 4);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_AUTH, TRUE);
	p->auth.method = IKE_AUTH_SHARED_KEY_MIC;
	ike_payload_set_data(p, sha256_len_auth, sizeof(sha256_len_auth));
	ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_INITIAL_CONTACT, 0, NULL, 0, NULL, 0);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_CP, TRUE);
	p->cp.type = IKE_CFG_REQUEST;
	ike_payload_add_cfg_attr(p, IKE_CFG_INTERNAL_IP4_ADDRESS, NULL, 0);
	ike_payload_add_cfg_attr(p, IKE_CFG_INTERNAL_IP4_DNS, NULL, 0);
	ike_payload_add_cfg_attr(p, IKE_CFG_INTERNAL_IP6_ADDRESS, "0123456789abcdef\x40", 17);
	ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_USE_TRANSPORT_MODE, 0, NULL, 0, NULL, 0);
	ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_ESP_TFC_PADDING_NOT_SUPPORTED, 0, NULL, 0, NULL,
	                   0);
	add_esp_sa(msg, TRUE);
	add_ts(msg, IKE_PAYLOAD_TSI, TRUE);
	add_ts(msg, IKE_PAYLOAD_TSR, TRUE);
	return build_with_sk(msg, IKE_PAYLOAD_SK);
}

/* <-- HDR, SK { IDr, CERT, AUTH, EAP(Request, Identity) } */
static GByteArray *
seed_ike_auth_eap(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_AUTH, IKE_FLAG_RESPONSE, 1);
	IkePayload *p;

	p = ike_msg_add_payload(msg, IKE_PAYLOAD_IDR, TRUE);
	p->id.type = IKE_ID_DER_ASN1_DN;
	ike_payload_set_data(p, "\x30\x00", 2);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_CERT, TRUE);
	p->cert.encoding = IKE_CERT_X509_SIGNATURE;
	ike_payload_set_data(p, "\x30\x82\x00\x00 not really DER", 20);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_AUTH, TRUE);
	p->auth.method = IKE_AUTH_DIGITAL_SIGNATURE;
	ike_payload_set_data(p, "signature", 9);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_EAP, TRUE);
	p->eap.code = IKE_EAP_REQUEST;
	p->eap.identifier = 7;
	p->eap.type = 1; /* Identity */
	return build_with_sk(msg, IKE_PAYLOAD_SK);
}

/* HDR, SK { N(REKEY_SA, ESP SPI), SA, Ni, KEi, TSi, TSr } --> */
static GByteArray *
seed_create_child_sa(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_CREATE_CHILD_SA, IKE_FLAG_INITIATOR, 2);
	static const guint8 spi[4] = {0xc1, 0, 0, 1};
	static const guint8 ke[256] = {1};

	ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_REKEY_SA, IKE_PROTOCOL_ESP, spi, 4, NULL, 0);
	add_esp_sa(msg, TRUE);
	ike_msg_add_nonce(msg, TRUE, nonce32, sizeof(nonce32));
	ike_msg_add_ke(msg, TRUE, 14, ke, sizeof(ke));
	add_ts(msg, IKE_PAYLOAD_TSI, TRUE);
	add_ts(msg, IKE_PAYLOAD_TSR, TRUE);
	return build_with_sk(msg, IKE_PAYLOAD_SK);
}

/* HDR, SK { D(ESP: 2 SPIs), D(IKE), N(AUTHENTICATION_FAILED) } --> */
static GByteArray *
seed_informational(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_INFORMATIONAL, IKE_FLAG_INITIATOR, 3);
	IkePayload *p;

	p = ike_msg_add_payload(msg, IKE_PAYLOAD_DELETE, TRUE);
	p->del.protocol = IKE_PROTOCOL_ESP;
	ike_payload_add_delete_spi(p, 0xc1000001);
	ike_payload_add_delete_spi(p, 0xc1000002);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_DELETE, TRUE);
	p->del.protocol = IKE_PROTOCOL_IKE;
	ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_AUTHENTICATION_FAILED, 0, NULL, 0, NULL, 0);
	return build_with_sk(msg, IKE_PAYLOAD_SK);
}

/* HDR, SKF(1/1) { IDi } --> : a fragment (RFC 7383) */
static GByteArray *
seed_skf(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_IDI, TRUE);

	p->id.type = IKE_ID_RFC822_ADDR;
	ike_payload_set_data(p, "carol@example.org", 17);
	return build_with_sk(msg, IKE_PAYLOAD_SKF);
}

typedef struct {
	const char *name;
	GByteArray *(*make)(void);
} SeedCase;

static GByteArray *
seed_sa_init_request(void)
{
	return hex_bytes(sa_init_request_hex);
}

static const SeedCase seeds[] = {
        {"sa-init-request", seed_sa_init_request},
        {"sa-init-response", seed_sa_init_response},
        {"ike-auth-request", seed_ike_auth_request},
        {"ike-auth-eap", seed_ike_auth_eap},
        {"create-child-sa", seed_create_child_sa},
        {"informational", seed_informational},
        {"skf", seed_skf},
};

/* ---- wire.h ---- */

static void
test_wire_reader(void)
{
	static const guint8 buf[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	WireReader r, sub;
	guint8 u8;
	guint16 u16;
	guint32 u32;
	guint64 u64;
	guint8 two[2];
	const guint8 *ptr;

	wire_reader_init(&r, buf, sizeof(buf));
	g_assert_true(wire_read_u8(&r, &u8));
	g_assert_cmpuint(u8, ==, 1);
	g_assert_true(wire_read_u16(&r, &u16));
	g_assert_cmpuint(u16, ==, 0x0203);
	g_assert_true(wire_read_u32(&r, &u32));
	g_assert_cmphex(u32, ==, 0x04050607);
	g_assert_true(wire_read_u64(&r, &u64));
	g_assert_cmphex(u64, ==, G_GUINT64_CONSTANT(0x08090a0b0c0d0e0f));
	g_assert_cmpuint(r.left, ==, 0);
	/* short reads fail and leave the cursor alone */
	g_assert_false(wire_read_u8(&r, &u8));
	wire_reader_init(&r, buf, 3);
	g_assert_false(wire_read_u32(&r, &u32));
	g_assert_false(wire_read_u64(&r, &u64));
	g_assert_cmpuint(r.left, ==, 3);
	g_assert_false(wire_read_sub(&r, 4, &sub));
	g_assert_false(wire_skip(&r, 4));
	g_assert_false(wire_read_ptr(&r, 4, &ptr));
	g_assert_true(wire_read_bytes(&r, two, 2));
	g_assert_cmpuint(two[1], ==, 2);
	g_assert_false(wire_read_u16(&r, &u16));
	g_assert_cmpuint(r.left, ==, 1);
	/* a sub-cursor ends where its structure ends */
	wire_reader_init(&r, buf, sizeof(buf));
	g_assert_true(wire_read_sub(&r, 2, &sub));
	g_assert_true(wire_read_u16(&sub, &u16));
	g_assert_false(wire_read_u8(&sub, &u8));
	g_assert_true(wire_read_u8(&r, &u8));
	g_assert_cmpuint(u8, ==, 3);
	wire_read_rest(&r, &sub);
	g_assert_cmpuint(sub.left, ==, 12);
	g_assert_cmpuint(r.left, ==, 0);
}

static void
test_wire_writer(void)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	g_autoptr(GByteArray) want =
	        hex_bytes("01 0203 04050607 08090a0b0c0d0e0f 0009 aabbcc 00000000");
	g_autoptr(GByteArray) big = g_byte_array_new();
	WireWriter w;
	gsize at, start, len_at;

	wire_writer_init(&w, buf);
	wire_put_u8(&w, 1);
	wire_put_u16(&w, 0x0203);
	wire_put_u32(&w, 0x04050607);
	wire_put_u64(&w, G_GUINT64_CONSTANT(0x08090a0b0c0d0e0f));
	start = wire_writer_offset(&w);
	at = wire_reserve(&w, 2);
	wire_put_bytes(&w, "\xaa\xbb\xcc", 3);
	g_assert_true(wire_patch_len16(&w, at, start - 4)); /* covers the u32 before */
	len_at = wire_reserve(&w, 4);
	g_assert_cmpuint(len_at, ==, 20);
	assert_same_bytes(buf->data, buf->len, want->data, want->len);

	/* a 16-bit length refuses 65536 and leaves the field alone */
	wire_writer_init(&w, big);
	start = wire_writer_offset(&w);
	at = wire_reserve(&w, 2);
	wire_reserve(&w, 65533);
	g_assert_true(wire_patch_len16(&w, at, start));
	g_assert_cmpuint(big->data[0], ==, 0xff);
	wire_put_u8(&w, 0);
	g_assert_false(wire_patch_len16(&w, at, start));
	g_assert_cmpuint(big->data[0], ==, 0xff);
}

/* ---- the hand-made IKE_SA_INIT request ---- */

static void
assert_data(const IkePayload *p, const char *hex)
{
	g_autoptr(GByteArray) want = hex_bytes(hex);
	gsize len;
	const guint8 *data = ike_payload_get_data(p, &len);

	assert_same_bytes(data, len, want->data, want->len);
}

static void
test_sa_init_strongswan(void)
{
	g_autoptr(GByteArray) bytes = hex_bytes(sa_init_request_hex);
	g_autoptr(IkeMsg) msg = decode_ok(bytes->data, bytes->len);
	const IkeHeader *h = ike_msg_get_header(msg);
	const IkeProposal *prop;
	const IkeTransform *t;
	IkePayload *p;
	IkeMsgIter it;
	guint16 notify;
	guint n;

	g_assert_cmpuint(bytes->len, ==, 224);
	g_assert_cmphex(h->spi_i, ==, G_GUINT64_CONSTANT(0x0123456789abcdef));
	g_assert_cmphex(h->spi_r, ==, 0);
	g_assert_cmpuint(h->next_payload, ==, IKE_PAYLOAD_SA);
	g_assert_cmpuint(h->major_version, ==, 2);
	g_assert_cmpuint(h->minor_version, ==, 0);
	g_assert_cmpuint(h->exchange, ==, IKE_EXCHANGE_IKE_SA_INIT);
	g_assert_cmpuint(h->flags, ==, IKE_FLAG_INITIATOR);
	g_assert_false(ike_msg_is_response(msg));
	g_assert_cmpuint(h->message_id, ==, 0);
	g_assert_cmpuint(h->length, ==, 224);
	g_assert_cmpuint(ike_msg_get_n_payloads(msg), ==, 7);

	p = ike_msg_get_payload(msg, 0);
	g_assert_cmpuint(p->type, ==, IKE_PAYLOAD_SA);
	g_assert_false(p->in_sk);
	g_assert_cmpuint(p->sa.proposals->len, ==, 1);
	prop = &g_array_index(p->sa.proposals, IkeProposal, 0);
	g_assert_cmpuint(prop->number, ==, 1);
	g_assert_cmpuint(prop->protocol, ==, IKE_PROTOCOL_IKE);
	g_assert_cmpuint(prop->spi_len, ==, 0);
	g_assert_cmpuint(prop->transforms->len, ==, 3);
	t = &g_array_index(prop->transforms, IkeTransform, 0);
	g_assert_cmpuint(t->type, ==, 1);
	g_assert_cmpuint(t->id, ==, 20);
	g_assert_true(t->has_key_length);
	g_assert_cmpuint(t->key_length, ==, 256);
	g_assert_false(t->unknown_attributes);
	t = &g_array_index(prop->transforms, IkeTransform, 1);
	g_assert_cmpuint(t->type, ==, 2);
	g_assert_cmpuint(t->id, ==, 5);
	g_assert_false(t->has_key_length);
	t = &g_array_index(prop->transforms, IkeTransform, 2);
	g_assert_cmpuint(t->type, ==, 4);
	g_assert_cmpuint(t->id, ==, 31);

	p = ike_msg_find(msg, IKE_PAYLOAD_KE);
	g_assert_cmpuint(p->ke.group, ==, 31);
	assert_data(p, "000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f");
	p = ike_msg_find(msg, IKE_PAYLOAD_NONCE);
	assert_data(p, "202122232425262728292a2b2c2d2e2f 303132333435363738393a3b3c3d3e3f");

	g_assert_cmpuint(ike_msg_count(msg, IKE_PAYLOAD_NOTIFY), ==, 4);
	p = ike_msg_find_notify(msg, IKE_NOTIFY_NAT_DETECTION_SOURCE_IP);
	g_assert_cmpuint(p->notify.protocol, ==, 0);
	g_assert_cmpuint(p->notify.spi_len, ==, 0);
	assert_data(p, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");
	p = ike_msg_find_notify(msg, IKE_NOTIFY_NAT_DETECTION_DESTINATION_IP);
	assert_data(p, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3");
	p = ike_msg_find_notify(msg, IKE_NOTIFY_IKEV2_FRAGMENTATION_SUPPORTED);
	assert_data(p, "");
	p = ike_msg_find_notify(msg, IKE_NOTIFY_SIGNATURE_HASH_ALGORITHMS);
	assert_data(p, "0002 0003 0004 0005");
	g_assert_null(ike_msg_find_notify(msg, IKE_NOTIFY_COOKIE));
	g_assert_null(ike_msg_find_error_notify(msg));

	n = 0;
	for (p = ike_msg_iter_init(&it, msg, IKE_PAYLOAD_NOTIFY); p; p = ike_msg_iter_next(&it))
		n++;
	g_assert_cmpuint(n, ==, 4);
	n = 0;
	for (p = ike_msg_iter_init(&it, msg, IKE_PAYLOAD_NONE); p; p = ike_msg_iter_next(&it))
		n++;
	g_assert_cmpuint(n, ==, 7);
	g_assert_true(g_bytes_get_size(ike_msg_get_raw(msg)) == 224);

	g_assert_cmpint(ike_msg_check_rules(msg, &notify, NULL), ==, IKE_RULES_OK);
	assert_roundtrip(bytes);
}

/* ---- header ---- */

typedef struct {
	const char *name;
	gssize cut;    /* bytes of the seed kept; -1 all */
	gssize extra;  /* bytes appended */
	gint64 length; /* header length field; -1 leave */
	gint version;  /* version octet; -1 leave */
	IkeParseResult want;
	gboolean have_header;
} HeaderCase;

static const HeaderCase header_cases[] = {
        {"valid", -1, 0, -1, -1, IKE_PARSE_OK, TRUE},
        {"minor-version-ignored", -1, 0, -1, 0x21, IKE_PARSE_OK, TRUE},
        {"major-3", -1, 0, -1, 0x30, IKE_PARSE_INVALID_MAJOR_VERSION, TRUE},
        {"major-15", -1, 0, -1, 0xf0, IKE_PARSE_INVALID_MAJOR_VERSION, TRUE},
        {"major-1", -1, 0, -1, 0x10, IKE_PARSE_DROP, TRUE},
        {"length-too-long", -1, 0, 225, -1, IKE_PARSE_DROP, TRUE},
        {"length-too-short", -1, 0, 223, -1, IKE_PARSE_DROP, TRUE},
        {"length-zero", -1, 0, 0, -1, IKE_PARSE_DROP, TRUE},
        {"length-below-header", -1, 0, 27, -1, IKE_PARSE_DROP, TRUE},
        {"length-huge", -1, 0, 0xffffffff, -1, IKE_PARSE_DROP, TRUE},
        {"datagram-longer", -1, 1, -1, -1, IKE_PARSE_DROP, TRUE},
        {"header-only", 28, 0, 28, -1, IKE_PARSE_MALFORMED, TRUE},
        {"shorter-than-header", 27, 0, -1, -1, IKE_PARSE_DROP, FALSE},
        {"empty", 0, 0, -1, -1, IKE_PARSE_DROP, FALSE},
};

static void
test_header(gconstpointer data)
{
	const HeaderCase *c = data;
	g_autoptr(GByteArray) bytes = hex_bytes(sa_init_request_hex);
	IkeParseDetail detail;

	if (c->cut >= 0)
		g_byte_array_set_size(bytes, c->cut);
	for (gssize i = 0; i < c->extra; i++)
		g_byte_array_append(bytes, (const guint8 *)"", 1);
	if (c->length >= 0)
		put_be32(bytes->data + 24, c->length);
	if (c->version >= 0)
		bytes->data[17] = c->version;
	g_assert_cmpstr(ike_parse_result_to_string(decode_result(bytes->data, bytes->len, &detail)),
	                ==, ike_parse_result_to_string(c->want));
	g_assert_cmpint(detail.have_header, ==, c->have_header);
	if (c->have_header)
		g_assert_cmphex(detail.header.spi_i, ==, G_GUINT64_CONSTANT(0x0123456789abcdef));
	if (c->want != IKE_PARSE_OK)
		g_assert_nonnull(detail.reason);
}

/* ---- payloads decoded from hand-made bytes ---- */

/* build(decode(bytes)) == bytes, SK data taken as opaque. */
static void
assert_outer_roundtrip(const GByteArray *bytes)
{
	g_autoptr(IkeMsg) msg = decode_ok(bytes->data, bytes->len);
	g_autoptr(GByteArray) again = build_ok(msg);

	assert_same_bytes(bytes->data, bytes->len, again->data, again->len);
}

static IkeMsg *
decode_hex_ok(guint8 first, const char *hex)
{
	g_autoptr(GByteArray) bytes = wrap_hex(first, hex);
	IkeMsg *msg = decode_ok(bytes->data, bytes->len);

	assert_outer_roundtrip(bytes);
	return msg;
}

static void
test_decode_ts(void)
{
	/* clang-format off */
	/* TSi: an IPv4 range of TCP port 80, an IPv6 range of everything */
	g_autoptr(IkeMsg) msg = decode_hex_ok(IKE_PAYLOAD_TSI,
		"00 00 0040 02 000000"
		"  07 06 0010 0050 0050 c0000200 c00002ff"
		"  08 00 0028 0000 ffff 20010db8000000000000000000000000"
		"                       20010db8ffffffffffffffffffffffff");
	/* clang-format on */
	IkePayload *p = ike_msg_find(msg, IKE_PAYLOAD_TSI);
	const IkeTrafficSelector *s;

	g_assert_cmpuint(p->ts.selectors->len, ==, 2);
	g_assert_cmpuint(p->ts.n_unknown, ==, 0);
	s = &g_array_index(p->ts.selectors, IkeTrafficSelector, 0);
	g_assert_cmpuint(s->type, ==, IKE_TS_IPV4_ADDR_RANGE);
	g_assert_cmpuint(s->ip_protocol, ==, 6);
	g_assert_cmpuint(s->start_port, ==, 80);
	g_assert_cmpuint(s->end_port, ==, 80);
	g_assert_cmpmem(s->start_addr, 4, "\xc0\x00\x02\x00", 4);
	g_assert_cmpmem(s->end_addr, 4, "\xc0\x00\x02\xff", 4);
	s = &g_array_index(p->ts.selectors, IkeTrafficSelector, 1);
	g_assert_cmpuint(s->type, ==, IKE_TS_IPV6_ADDR_RANGE);
	g_assert_cmpuint(s->end_port, ==, 65535);
	g_assert_cmpuint(s->end_addr[15], ==, 0xff);
	g_assert_cmpuint(s->start_addr[4], ==, 0);
}

static void
test_decode_ts_unknown_type(void)
{
	/* a selector of type 10 (not ours) is left out and counted */
	g_autoptr(GByteArray) bytes =
	        wrap_hex(IKE_PAYLOAD_TSR, "00 00 0020 02 000000  0a 00 0008 01020304  07 00 0010 "
	                                  "0000 ffff 0a000000 0affffff");
	g_autoptr(IkeMsg) msg = decode_ok(bytes->data, bytes->len);
	IkePayload *p = ike_msg_find(msg, IKE_PAYLOAD_TSR);

	g_assert_cmpuint(p->ts.selectors->len, ==, 1);
	g_assert_cmpuint(p->ts.n_unknown, ==, 1);
}

static void
test_decode_delete(void)
{
	/* clang-format off */
	g_autoptr(IkeMsg) msg = decode_hex_ok(IKE_PAYLOAD_DELETE,
		"2a 00 0010 03 04 0002 c1000001 c1000002" /* ESP, 2 SPIs */
		"00 00 0008 01 00 0000");                 /* the IKE SA */
	IkePayload *p = ike_msg_get_payload(msg, 0);
	/* clang-format on */

	g_assert_cmpuint(p->del.protocol, ==, IKE_PROTOCOL_ESP);
	g_assert_cmpuint(p->del.spis->len, ==, 2);
	g_assert_cmphex(g_array_index(p->del.spis, guint32, 1), ==, 0xc1000002);
	p = ike_msg_get_payload(msg, 1);
	g_assert_cmpuint(p->del.protocol, ==, IKE_PROTOCOL_IKE);
	g_assert_cmpuint(p->del.spis->len, ==, 0);
}

static void
test_decode_cp_eap(void)
{
	/* clang-format off */
	g_autoptr(IkeMsg) msg = decode_hex_ok(IKE_PAYLOAD_CP,
		/* CP(REQUEST): INTERNAL_IP4_ADDRESS empty, INTERNAL_IP4_DNS empty */
		"30 00 0010 01 000000 0001 0000 0003 0000"
		/* EAP Response, id 5, Identity "hi" */
		"30 00 000b 02 05 0007 01 6869"
		/* EAP Success, id 6 */
		"00 00 0008 03 06 0004");
	/* clang-format on */
	IkePayload *p = ike_msg_find(msg, IKE_PAYLOAD_CP);
	const IkeCfgAttr *a;
	IkeMsgIter it;

	g_assert_cmpuint(p->cp.type, ==, IKE_CFG_REQUEST);
	g_assert_cmpuint(p->cp.attributes->len, ==, 2);
	a = &g_array_index(p->cp.attributes, IkeCfgAttr, 1);
	g_assert_cmpuint(a->type, ==, IKE_CFG_INTERNAL_IP4_DNS);
	g_assert_cmpuint(g_bytes_get_size(a->value), ==, 0);
	p = ike_msg_iter_init(&it, msg, IKE_PAYLOAD_EAP);
	g_assert_cmpuint(p->eap.code, ==, IKE_EAP_RESPONSE);
	g_assert_cmpuint(p->eap.identifier, ==, 5);
	g_assert_cmpuint(p->eap.type, ==, 1);
	assert_data(p, "6869");
	p = ike_msg_iter_next(&it);
	g_assert_cmpuint(p->eap.code, ==, IKE_EAP_SUCCESS);
	g_assert_null(p->eap.data);
	g_assert_null(ike_msg_iter_next(&it));
}

static void
test_decode_id_auth_cert(void)
{
	/* clang-format off */
	g_autoptr(IkeMsg) msg = decode_hex_ok(IKE_PAYLOAD_IDI,
		"27 00 000c 02 000000 6d6f6f6e"       /* IDi FQDN "moon" */
		"25 00 000c 02 000000 01020304"       /* AUTH PSK */
		"26 00 0008 04 616263"                /* CERT X.509 "abc" */
		"24 00 0005 04"                       /* CERTREQ, no CA */
		"2b 00 0008 0d 000000"                /* IDr NULL: no data */
		"00 00 0008 76706e64");               /* V "vpnd" */
	IkePayload *p = ike_msg_find(msg, IKE_PAYLOAD_IDI);
	/* clang-format on */

	g_assert_cmpuint(p->id.type, ==, IKE_ID_FQDN);
	assert_data(p, "6d6f6f6e");
	p = ike_msg_find(msg, IKE_PAYLOAD_AUTH);
	g_assert_cmpuint(p->auth.method, ==, IKE_AUTH_SHARED_KEY_MIC);
	p = ike_msg_find(msg, IKE_PAYLOAD_CERT);
	g_assert_cmpuint(p->cert.encoding, ==, IKE_CERT_X509_SIGNATURE);
	assert_data(p, "616263");
	p = ike_msg_find(msg, IKE_PAYLOAD_CERTREQ);
	assert_data(p, "");
	p = ike_msg_find(msg, IKE_PAYLOAD_IDR);
	g_assert_cmpuint(p->id.type, ==, IKE_ID_NULL);
	p = ike_msg_find(msg, IKE_PAYLOAD_VENDOR);
	assert_data(p, "76706e64");
}

static void
test_decode_sk(void)
{
	/* N(COOKIE) outside, then SK whose first inner payload is IDi (35) */
	g_autoptr(GByteArray) bytes = wrap_hex(IKE_PAYLOAD_NOTIFY, "2e 00 000c 00 00 4006 0a0b0c0d"
	                                                           "23 00 000c 00112233 44556677");
	g_autoptr(IkeMsg) msg = decode_ok(bytes->data, bytes->len);
	IkePayload *p = ike_msg_find(msg, IKE_PAYLOAD_SK);

	g_assert_cmpuint(p->sk.first_type, ==, IKE_PAYLOAD_IDI);
	g_assert_cmpuint(p->sk.offset, ==, IKE_HEADER_LEN + 12);
	assert_data(p, "00112233 44556677");
	g_assert_false(ike_msg_has_inner(msg));
	assert_outer_roundtrip(bytes);
}

static void
test_decode_skf(void)
{
	/* fragment 2 of 3: Next Payload is 0 in all but the first (RFC 7383 §2.5) */
	g_autoptr(IkeMsg) msg = decode_hex_ok(IKE_PAYLOAD_SKF, "00 00 000c 0002 0003 aabbccdd");
	IkePayload *p = ike_msg_find(msg, IKE_PAYLOAD_SKF);

	g_assert_cmpuint(p->sk.fragment, ==, 2);
	g_assert_cmpuint(p->sk.total, ==, 3);
	g_assert_cmpuint(p->sk.first_type, ==, 0);
	assert_data(p, "aabbccdd");
}

static void
test_decode_transform_attributes(void)
{
	/* Key Length, an unknown TV (type 15) and a TLV (type 16, 3 bytes) attribute */
	g_autoptr(GByteArray) bytes = wrap_hex(
	        IKE_PAYLOAD_SA, "00 00 0027 00 00 0023 01 03 04 01 c1000001"
	                        "  00 00 0017 01 00 000c 800e 0080 800f 0001 0010 0003 aabbcc");
	g_autoptr(IkeMsg) msg = decode_ok(bytes->data, bytes->len);
	IkePayload *p = ike_msg_find(msg, IKE_PAYLOAD_SA);
	const IkeProposal *prop = &g_array_index(p->sa.proposals, IkeProposal, 0);
	const IkeTransform *t = &g_array_index(prop->transforms, IkeTransform, 0);

	g_assert_cmpuint(prop->protocol, ==, IKE_PROTOCOL_ESP);
	g_assert_cmpuint(prop->spi_len, ==, 4);
	g_assert_cmpmem(prop->spi, 4, "\xc1\x00\x00\x01", 4);
	g_assert_cmpuint(t->key_length, ==, 128);
	g_assert_true(t->unknown_attributes);
}

static void
test_decode_unknown_payloads(void)
{
	/* type 99 without the critical bit: skipped; the V after it is read */
	g_autoptr(GByteArray) bytes = wrap_hex(99, "2b 00 0008 01020304  00 80 0006 aabb");
	g_autoptr(IkeMsg) msg = decode_ok(bytes->data, bytes->len);
	const guint8 *skipped;
	guint n;

	skipped = ike_msg_get_skipped(msg, &n);
	g_assert_cmpuint(n, ==, 1);
	g_assert_cmpuint(skipped[0], ==, 99);
	/* the critical bit of a payload we know is ignored (RFC 7296 §3.2) */
	g_assert_cmpuint(ike_msg_count(msg, IKE_PAYLOAD_VENDOR), ==, 1);
	g_assert_cmpuint(ike_msg_get_n_payloads(msg), ==, 1);
}

static void
test_decode_unknown_critical(void)
{
	g_autoptr(GByteArray) bytes =
	        wrap_hex(IKE_PAYLOAD_VENDOR, "63 00 0006 aabb  00 80 0008 01020304");
	IkeParseDetail detail;

	g_assert_cmpint(decode_result(bytes->data, bytes->len, &detail), ==,
	                IKE_PARSE_UNSUPPORTED_CRITICAL);
	g_assert_cmpuint(detail.payload_type, ==, 99);
	g_assert_cmpuint(detail.offset, ==, IKE_HEADER_LEN + 6);
	g_assert_true(detail.have_header);
}

/* ---- round trips: one payload kind at a time ---- */

typedef struct {
	const char *name;
	IkePayloadType type;
	void (*add)(IkeMsg *msg);
} PayloadCase;

static void
add_sa_case(IkeMsg *msg)
{
	static const guint8 spi[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	add_ike_sa(msg, FALSE, spi, sizeof(spi));
	add_esp_sa(msg, FALSE);
}

static void
add_ke_case(IkeMsg *msg)
{
	static const guint8 ke[97] = {4}; /* ECP-384 x || y */

	ike_msg_add_ke(msg, FALSE, 20, ke, sizeof(ke));
}

static void
add_id_case(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_IDI, FALSE);

	p->id.type = IKE_ID_KEY_ID;
	ike_payload_set_data(p, "\x00\x01\x02", 3);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_IDR, FALSE);
	p->id.type = IKE_ID_IPV6_ADDR;
	ike_payload_set_data(p, "0123456789abcdef", 16);
}

static void
add_cert_case(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_CERT, FALSE);

	p->cert.encoding = IKE_CERT_X509_SIGNATURE;
	ike_payload_set_data(p, "\x30\x03\x02\x01\x00", 5);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_CERTREQ, FALSE);
	p->cert.encoding = IKE_CERT_X509_SIGNATURE;
	ike_payload_set_data(p, "0123456789012345678901234567890123456789", 40);
}

static void
add_auth_case(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_AUTH, FALSE);

	p->auth.method = IKE_AUTH_SHARED_KEY_MIC;
	ike_payload_set_data(p, nonce32, sizeof(nonce32));
}

static void
add_nonce_case(IkeMsg *msg)
{
	static const guint8 big[IKE_NONCE_MAX_LEN] = {0xff};

	ike_msg_add_nonce(msg, FALSE, nonce32, IKE_NONCE_MIN_LEN);
	ike_msg_add_nonce(msg, FALSE, big, sizeof(big));
}

static void
add_notify_case(IkeMsg *msg)
{
	static const guint8 spi[4] = {0xc1, 0, 0, 9};
	static const guint8 ike_spis[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_CHILD_SA_NOT_FOUND, IKE_PROTOCOL_ESP, spi, 4,
	                   NULL, 0);
	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_INVALID_KE_PAYLOAD, 0, NULL, 0, "\x00\x1f", 2);
	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_INVALID_IKE_SPI, IKE_PROTOCOL_IKE, ike_spis, 8,
	                   NULL, 0);
	ike_msg_add_notify(msg, FALSE, 40000, 0, NULL, 0, "private use", 11);
}

static void
add_delete_case(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_DELETE, FALSE);

	p->del.protocol = IKE_PROTOCOL_AH;
	ike_payload_add_delete_spi(p, 0x01020304);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_DELETE, FALSE);
	p->del.protocol = IKE_PROTOCOL_IKE;
}

static void
add_vendor_case(IkeMsg *msg)
{
	add_data(msg, IKE_PAYLOAD_VENDOR, FALSE, "strongSwan-like vendor id");
	ike_msg_add_payload(msg, IKE_PAYLOAD_VENDOR, FALSE); /* empty */
}

static void
add_ts_case(IkeMsg *msg)
{
	add_ts(msg, IKE_PAYLOAD_TSI, FALSE);
	add_ts(msg, IKE_PAYLOAD_TSR, FALSE);
}

static void
add_sk_case(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_SK, FALSE);

	p->sk.first_type = IKE_PAYLOAD_IDI;
	ike_payload_set_data(p, nonce32, sizeof(nonce32));
}

static void
add_skf_case(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_SKF, FALSE);

	p->sk.first_type = IKE_PAYLOAD_IDI;
	p->sk.fragment = 1;
	p->sk.total = 4;
	ike_payload_set_data(p, nonce32, sizeof(nonce32));
}

static void
add_cp_case(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_CP, FALSE);

	p->cp.type = IKE_CFG_REPLY;
	ike_payload_add_cfg_attr(p, IKE_CFG_INTERNAL_IP4_ADDRESS, "\x0a\x03\x00\x01", 4);
	ike_payload_add_cfg_attr(p, IKE_CFG_INTERNAL_IP4_DNS, "\x08\x08\x08\x08", 4);
	ike_payload_add_cfg_attr(p, IKE_CFG_APPLICATION_VERSION, "vpnd 0.1", 8);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_CP, FALSE);
	p->cp.type = IKE_CFG_ACK; /* no attributes */
}

static void
add_eap_case(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_EAP, FALSE);

	p->eap.code = IKE_EAP_REQUEST;
	p->eap.identifier = 1;
	p->eap.type = 26; /* MSCHAPv2 */
	ike_payload_set_data(p, "challenge", 9);
	p = ike_msg_add_payload(msg, IKE_PAYLOAD_EAP, FALSE);
	p->eap.code = IKE_EAP_FAILURE;
	p->eap.identifier = 2;
}

static const PayloadCase payload_cases[] = {
        {"sa", IKE_PAYLOAD_SA, add_sa_case},
        {"ke", IKE_PAYLOAD_KE, add_ke_case},
        {"id", IKE_PAYLOAD_IDR, add_id_case},
        {"cert", IKE_PAYLOAD_CERTREQ, add_cert_case},
        {"auth", IKE_PAYLOAD_AUTH, add_auth_case},
        {"nonce", IKE_PAYLOAD_NONCE, add_nonce_case},
        {"notify", IKE_PAYLOAD_NOTIFY, add_notify_case},
        {"delete", IKE_PAYLOAD_DELETE, add_delete_case},
        {"vendor", IKE_PAYLOAD_VENDOR, add_vendor_case},
        {"ts", IKE_PAYLOAD_TSR, add_ts_case},
        {"sk", IKE_PAYLOAD_SK, add_sk_case},
        {"skf", IKE_PAYLOAD_SKF, add_skf_case},
        {"cp", IKE_PAYLOAD_CP, add_cp_case},
        {"eap", IKE_PAYLOAD_EAP, add_eap_case},
};

static void
assert_same_payloads(IkeMsg *a, IkeMsg *b)
{
	g_assert_cmpuint(ike_msg_get_n_payloads(a), ==, ike_msg_get_n_payloads(b));
	for (guint i = 0; i < ike_msg_get_n_payloads(a); i++) {
		IkePayload *pa = ike_msg_get_payload(a, i);
		IkePayload *pb = ike_msg_get_payload(b, i);
		gsize la, lb;
		const guint8 *da = ike_payload_get_data(pa, &la);
		const guint8 *db = ike_payload_get_data(pb, &lb);

		g_assert_cmpuint(pa->type, ==, pb->type);
		assert_same_bytes(da, la, db, lb);
	}
}

static void
test_roundtrip_payload(gconstpointer data)
{
	const PayloadCase *c = data;
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_INFORMATIONAL, 0, 7);
	g_autoptr(GByteArray) bytes = NULL;
	g_autoptr(IkeMsg) decoded = NULL;

	c->add(msg);
	bytes = build_ok(msg);
	decoded = decode_ok(bytes->data, bytes->len);
	g_assert_cmpuint(ike_msg_count(decoded, c->type), >=, 1);
	assert_same_payloads(msg, decoded);
	assert_outer_roundtrip(bytes);
}

/* Whole seed messages: build → decode (+ SK plaintext) → build gives the same bytes. */
static void
test_roundtrip_seed(gconstpointer data)
{
	const SeedCase *c = data;
	g_autoptr(GByteArray) bytes = c->make();

	assert_roundtrip(bytes);
}

static void
test_roundtrip_ike_auth_fields(void)
{
	g_autoptr(GByteArray) bytes = seed_ike_auth_request();
	g_autoptr(IkeMsg) msg = decode_full_ok(bytes->data, bytes->len);
	IkePayload *p;
	const IkeTrafficSelector *s;
	guint16 notify;

	g_assert_true(ike_msg_has_inner(msg));
	g_assert_false(ike_msg_get_payload(msg, 0)->in_sk);
	p = ike_msg_find(msg, IKE_PAYLOAD_IDI);
	g_assert_true(p->in_sk);
	g_assert_cmpuint(p->id.type, ==, IKE_ID_FQDN);
	assert_data(p, "6d6f6f6e2e6578616d706c652e6f7267");
	g_assert_nonnull(ike_msg_find_notify(msg, IKE_NOTIFY_USE_TRANSPORT_MODE));
	g_assert_nonnull(ike_msg_find_notify(msg, IKE_NOTIFY_ESP_TFC_PADDING_NOT_SUPPORTED));
	g_assert_nonnull(ike_msg_find_notify(msg, IKE_NOTIFY_INITIAL_CONTACT));
	p = ike_msg_find(msg, IKE_PAYLOAD_TSR);
	s = &g_array_index(p->ts.selectors, IkeTrafficSelector, 1);
	g_assert_cmpuint(s->ip_protocol, ==, 17);
	g_assert_cmpuint(s->start_port, ==, 500);
	g_assert_cmpmem(s->start_addr, 4, "\x20\x01\x0d\xb8", 4);
	p = ike_msg_find(msg, IKE_PAYLOAD_CP);
	g_assert_cmpuint(p->cp.attributes->len, ==, 3);
	g_assert_cmpint(ike_msg_check_rules(msg, &notify, NULL), ==, IKE_RULES_OK);
}

/* ---- malformed corpus: lengths and counts that lie ---- */

typedef struct {
	const char *name;
	guint8 first;
	const char *hex;
	IkeParseResult want;
} MalformedCase;

/* clang-format off */
#define MAL IKE_PARSE_MALFORMED
/* The valid SA of the IKE_SA_INIT seed, for reference:
 *   "00 00 0028  00 00 0024 01 01 00 03"
 *   "  03 00 000c 01 00 0014 800e 0100  03 00 0008 02 00 0005  00 00 0008 04 00 001f" */
static const MalformedCase malformed_cases[] = {
	{ "sa/valid", 33, "00 00 0028 00 00 0024 01 01 00 03 03 00 000c 01 00 0014 800e 0100"
			  "03 00 0008 02 00 0005 00 00 0008 04 00 001f", IKE_PARSE_OK },
	{ "sa/empty", 33, "00 00 0004", MAL },
	{ "sa/proposal-len-too-long", 33, "00 00 0028 00 00 0025 01 01 00 03 03 00 000c 01 00 0014"
			  "800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/proposal-len-too-short", 33, "00 00 0028 00 00 0023 01 01 00 03 03 00 000c 01 00 "
			  "0014 800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/proposal-len-below-header", 33, "00 00 000c 00 00 0007 01 01 00 00", MAL },
	{ "sa/proposal-len-zero", 33, "00 00 000c 00 00 0000 01 01 00 00", MAL },
	{ "sa/proposal-count-more", 33, "00 00 0028 02 00 0024 01 01 00 03 03 00 000c 01 00 0014"
			  "800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/proposal-last-bad", 33, "00 00 0028 01 00 0024 01 01 00 03 03 00 000c 01 00 0014"
			  "800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/proposal-trailing", 33, "00 00 0029 00 00 0024 01 01 00 03 03 00 000c 01 00 0014"
			  "800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f ff", MAL },
	{ "sa/spi-size-3", 33, "00 00 002b 00 00 0027 01 01 03 03 aabbcc 03 00 000c 01 00 0014"
			  "800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/spi-truncated", 33, "00 00 000e 00 00 000a 01 03 04 00 aabb", MAL },
	{ "sa/transform-count-more", 33, "00 00 0028 00 00 0024 01 01 00 04 03 00 000c 01 00 "
			  "0014 800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/transform-count-less", 33, "00 00 0028 00 00 0024 01 01 00 02 03 00 000c 01 00 "
			  "0014 800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/transform-count-zero", 33, "00 00 0028 00 00 0024 01 01 00 00 03 00 000c 01 00 "
			  "0014 800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/transform-last-bad", 33, "00 00 0028 00 00 0024 01 01 00 03 00 00 000c 01 00 0014"
			  "800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/transform-len-too-long", 33, "00 00 0028 00 00 0024 01 01 00 03 03 00 0010 01 00 "
			  "0014 800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/transform-len-too-short", 33, "00 00 0028 00 00 0024 01 01 00 03 03 00 0007 01 00 "
			  "0014 800e 0100 03 00 0008 02 00 0005 00 00 0008 04 00 001f", MAL },
	{ "sa/transform-len-beyond", 33, "00 00 0014 00 00 0010 01 01 00 01 00 00 0100 01 00 "
			  "0014", MAL },
	{ "sa/attribute-tlv-len-lies", 33, "00 00 0018 00 00 0014 01 01 00 01 00 00 000c 01 00 "
			  "0014 000e 0100", MAL },
	{ "sa/attribute-truncated", 33, "00 00 0016 00 00 0012 01 01 00 01 00 00 000a 01 00 "
			  "0014 800e", MAL },
	{ "sa/key-length-twice", 33, "00 00 001c 00 00 0018 01 01 00 01 00 00 0010 01 00 0014 "
			  "800e 0100 800e 0080", MAL },
	{ "ke/no-data", 34, "00 00 0008 001f 0000", MAL },
	{ "ke/truncated", 34, "00 00 0006 001f", MAL },
	{ "id/truncated", 35, "00 00 0006 02 00", MAL },
	{ "cert/empty", 37, "00 00 0004", MAL },
	{ "auth/no-data", 39, "00 00 0008 02 000000", MAL },
	{ "notify/spi-truncated", 41, "00 00 000a 03 04 4009 aabb", MAL },
	{ "notify/spi-size-9", 41, "00 00 0011 03 09 4009 000102030405060708", MAL },
	{ "notify/truncated", 41, "00 00 0007 00 00 40", MAL },
	{ "delete/count-more", 42, "00 00 0010 03 04 0003 c1000001 c1000002", MAL },
	{ "delete/count-less", 42, "00 00 0010 03 04 0001 c1000001 c1000002", MAL },
	{ "delete/count-zero", 42, "00 00 0008 03 04 0000", MAL },
	{ "delete/ike-with-spi-size", 42, "00 00 0008 01 08 0000", MAL },
	{ "delete/esp-spi-size-8", 42, "00 00 0010 03 08 0001 0102030405060708", MAL },
	{ "delete/protocol-0", 42, "00 00 0008 00 00 0000", MAL },
	{ "ts/count-zero", 44, "00 00 0008 00 000000", MAL },
	{ "ts/count-more", 44, "00 00 0018 02 000000 07 00 0010 0000 ffff 0a000000 0affffff", MAL },
	{ "ts/count-less", 44, "00 00 0028 01 000000 07 00 0010 0000 ffff 0a000000 0affffff "
			  "07 00 0010 0000 ffff 0a000000 0affffff", MAL },
	{ "ts/selector-len-too-long", 44, "00 00 0018 01 000000 07 00 0014 0000 ffff 0a000000 "
			  "0affffff", MAL },
	{ "ts/selector-len-too-short", 44, "00 00 0018 01 000000 07 00 000c 0000 ffff 0a000000 "
			  "0affffff", MAL },
	{ "ts/selector-len-3", 44, "00 00 000c 01 000000 07 00 0003", MAL },
	{ "ts/ipv6-with-ipv4-length", 45, "00 00 0018 01 000000 08 00 0010 0000 ffff 0a000000 "
			  "0affffff", MAL },
	{ "ts/truncated", 44, "00 00 0007 01 0000", MAL },
	{ "cp/attribute-len-lies", 47, "00 00 000d 01 000000 0001 0004 00", MAL },
	{ "cp/attribute-truncated", 47, "00 00 000a 01 000000 0001", MAL },
	{ "eap/length-too-long", 48, "00 00 000a 01 05 0007 01 68", MAL },
	{ "eap/length-too-short", 48, "00 00 000b 01 05 0006 01 6869", MAL },
	{ "eap/request-without-type", 48, "00 00 0008 01 05 0004", MAL },
	{ "eap/success-with-data", 48, "00 00 0009 03 05 0005 00", MAL },
	{ "eap/code-9", 48, "00 00 0009 09 05 0005 00", MAL },
	{ "sk/zero-length", 46, "00 00 0004", MAL },
	{ "sk/not-last", 46, "2b 00 0008 aabbccdd 00 00 0004", MAL },
	{ "skf/zero-length", 53, "00 00 0008 0001 0001", MAL },
	{ "skf/fragment-zero", 53, "00 00 000c 0000 0001 aabbccdd", MAL },
	{ "skf/fragment-beyond-total", 53, "00 00 000c 0003 0002 aabbccdd", MAL },
	{ "skf/truncated", 53, "00 00 0006 0001", MAL },
	{ "chain/len-zero", 43, "00 00 0000", MAL },
	{ "chain/len-3", 43, "00 00 0003", MAL },
	{ "chain/len-beyond-message", 43, "00 00 0010 aabb", MAL },
	{ "chain/header-truncated", 43, "00 00 00", MAL },
	{ "chain/next-missing", 43, "2b 00 0006 aabb", MAL },
	{ "chain/trailing-bytes", 43, "00 00 0006 aabb cc", MAL },
	{ "chain/first-missing", 33, "", MAL },
	{ "chain/none-but-bytes", 0, "2b 00 0004", MAL },
	{ "chain/unknown-critical", 99, "00 80 0004", IKE_PARSE_UNSUPPORTED_CRITICAL },
	{ "chain/unknown-critical-len-lies", 99, "00 80 0008", MAL },
	{ "chain/unknown-skipped", 99, "00 7f 0008 01020304", IKE_PARSE_OK },
	{ "chain/ikev1-type-skipped", 1, "00 00 0004", IKE_PARSE_OK },
};
#undef MAL
/* clang-format on */

static void
test_malformed(gconstpointer data)
{
	const MalformedCase *c = data;
	g_autoptr(GByteArray) bytes = wrap_hex(c->first, c->hex);
	IkeParseDetail detail;
	IkeParseResult res = decode_result(bytes->data, bytes->len, &detail);

	if (res != c->want)
		g_error("%s: got %s (%s), want %s", c->name, ike_parse_result_to_string(res),
		        detail.reason, ike_parse_result_to_string(c->want));
	if (res == IKE_PARSE_UNSUPPORTED_CRITICAL)
		g_assert_cmpuint(detail.payload_type, ==, c->first);
	exercise(bytes->data, bytes->len);
}

static void
test_nonce_lengths(void)
{
	static const struct {
		gsize len;
		IkeParseResult want;
	} cases[] = {
	        {0, IKE_PARSE_MALFORMED}, {15, IKE_PARSE_MALFORMED},  {16, IKE_PARSE_OK},
	        {256, IKE_PARSE_OK},      {257, IKE_PARSE_MALFORMED}, {1000, IKE_PARSE_MALFORMED},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GByteArray) pl = g_byte_array_new();
		g_autoptr(GByteArray) bytes = NULL;
		guint8 hdr[4] = {0, 0, (4 + cases[i].len) >> 8, (4 + cases[i].len) & 0xff};

		g_byte_array_append(pl, hdr, 4);
		g_byte_array_set_size(pl, 4 + cases[i].len);
		bytes = wrap_payloads(IKE_EXCHANGE_IKE_SA_INIT, 0, IKE_PAYLOAD_NONCE, pl->data,
		                      pl->len);
		g_assert_cmpint(decode_result(bytes->data, bytes->len, NULL), ==, cases[i].want);
	}
}

/* @n empty payloads of @type, chained to each other. */
static GByteArray *
chain_of(guint8 type, guint n)
{
	g_autoptr(GByteArray) pl = g_byte_array_new();

	for (guint i = 0; i < n; i++) {
		guint8 p[4] = {i + 1 < n ? type : 0, 0, 0, 4};

		g_byte_array_append(pl, p, 4);
	}
	return wrap_payloads(IKE_EXCHANGE_INFORMATIONAL, 0, type, pl->data, pl->len);
}

static void
test_chain_limits(void)
{
	g_autoptr(GByteArray) max = chain_of(IKE_PAYLOAD_VENDOR, IKE_MAX_PAYLOADS);
	g_autoptr(GByteArray) over = chain_of(IKE_PAYLOAD_VENDOR, IKE_MAX_PAYLOADS + 1);
	/* a long run of unknown payloads (each naming the next) ends cleanly as well */
	g_autoptr(GByteArray) unknown = chain_of(99, 5000);
	g_autoptr(IkeMsg) msg = decode_ok(max->data, max->len);
	IkeParseDetail detail;

	g_assert_cmpuint(ike_msg_get_n_payloads(msg), ==, IKE_MAX_PAYLOADS);
	g_assert_cmpint(decode_result(over->data, over->len, &detail), ==, IKE_PARSE_MALFORMED);
	g_assert_cmpstr(detail.reason, ==, "too many payloads");
	g_assert_cmpint(decode_result(unknown->data, unknown->len, &detail), ==,
	                IKE_PARSE_MALFORMED);
	g_assert_cmpstr(detail.reason, ==, "too many payloads");
}

static void
test_inner_nesting(void)
{
	g_autoptr(GByteArray) bytes = seed_informational();
	g_autoptr(IkeMsg) msg = decode_ok(bytes->data, bytes->len);
	g_autoptr(GByteArray) nested = hex_bytes("2e 00 0008 aabbccdd");
	g_autoptr(GByteArray) nested_f = hex_bytes("00 00 000c 0001 0001 aabbccdd");
	IkeParseDetail detail;
	guint before = ike_msg_get_n_payloads(msg);

	/* SK inside SK */
	g_assert_cmpint(ike_payloads_parse(IKE_PAYLOAD_SK, nested->data, nested->len, msg, &detail),
	                ==, IKE_PARSE_MALFORMED);
	g_assert_cmpstr(detail.reason, ==, "SK inside SK");
	g_assert_cmpint(
	        ike_payloads_parse(IKE_PAYLOAD_SKF, nested_f->data, nested_f->len, msg, NULL), ==,
	        IKE_PARSE_MALFORMED);
	g_assert_cmpuint(ike_msg_get_n_payloads(msg), ==, before);
	g_assert_false(ike_msg_has_inner(msg));
	/* an empty plaintext is an empty chain */
	g_assert_cmpint(ike_payloads_parse(IKE_PAYLOAD_NONE, NULL, 0, msg, NULL), ==, IKE_PARSE_OK);
	g_assert_true(ike_msg_has_inner(msg));
}

static void
test_inner_rollback(void)
{
	/* V, V, then a lying KE: nothing of it stays in the message */
	g_autoptr(GByteArray) bytes = seed_informational();
	g_autoptr(IkeMsg) msg = decode_ok(bytes->data, bytes->len);
	g_autoptr(GByteArray) plain =
	        hex_bytes("2b 00 0005 aa  63 00 0005 bb  22 00 0005 cc  00 00 0008 001f 0000");
	IkeParseDetail detail;
	guint before = ike_msg_get_n_payloads(msg);
	guint n;

	g_assert_cmpint(
	        ike_payloads_parse(IKE_PAYLOAD_VENDOR, plain->data, plain->len, msg, &detail), ==,
	        IKE_PARSE_MALFORMED);
	g_assert_cmpuint(detail.payload_type, ==, IKE_PAYLOAD_KE);
	g_assert_cmpuint(detail.offset, ==, 15);
	g_assert_cmpuint(ike_msg_get_n_payloads(msg), ==, before);
	ike_msg_get_skipped(msg, &n);
	g_assert_cmpuint(n, ==, 0);
}

/* ---- malformed corpus: truncation at every byte, bit flips ---- */

/* Every proper prefix, once as is and once with the header length made to agree. */
static void
test_truncated(gconstpointer data)
{
	const SeedCase *c = data;
	g_autoptr(GByteArray) bytes = c->make();
	g_autoptr(IkeMsg) msg = decode_ok(bytes->data, bytes->len);
	IkePayload *sk = find_encrypted(msg);

	for (gsize cut = 0; cut < bytes->len; cut++) {
		g_autoptr(GByteArray) t = g_byte_array_new();

		g_byte_array_append(t, bytes->data, cut);
		g_assert_cmpint(decode_result(t->data, t->len, NULL), !=, IKE_PARSE_OK);
		if (cut >= IKE_HEADER_LEN) {
			put_be32(t->data + 24, cut);
			g_assert_cmpint(decode_result(t->data, t->len, NULL), ==,
			                IKE_PARSE_MALFORMED);
		}
	}
	if (sk && sk->sk.first_type != IKE_PAYLOAD_NONE) {
		gsize len;
		const guint8 *plain = ike_payload_get_data(sk, &len);

		for (gsize cut = 0; cut < len; cut++) {
			g_assert_cmpint(
			        ike_payloads_parse(sk->sk.first_type, plain, cut, msg, NULL), !=,
			        IKE_PARSE_OK);
		}
	}
}

#define BITFLIP_ROUNDS 3000

/* Fixed-seed random flips of 1–4 bits; whatever comes out must not crash or leak. */
static void
test_bitflip(gconstpointer data)
{
	const SeedCase *c = data;
	g_autoptr(GByteArray) bytes = c->make();
	g_autoptr(GRand) rand = g_rand_new_with_seed(0x1ce5eed);
	guint counts[IKE_PARSE_DROP + 1] = {0};

	for (guint round = 0; round < BITFLIP_ROUNDS; round++) {
		g_autoptr(GByteArray) t = g_byte_array_new();
		guint flips = g_rand_int_range(rand, 1, 5);
		g_autoptr(IkeMsg) msg = NULL;

		g_byte_array_append(t, bytes->data, bytes->len);
		for (guint i = 0; i < flips; i++) {
			guint at = g_rand_int_range(rand, 0, t->len);

			t->data[at] ^= 1 << g_rand_int_range(rand, 0, 8);
		}
		counts[ike_msg_decode_data(t->data, t->len, &msg, NULL)]++;
		exercise(t->data, t->len);
	}
	g_test_message("%s: ok %u malformed %u critical %u version %u drop %u", c->name,
	               counts[IKE_PARSE_OK], counts[IKE_PARSE_MALFORMED],
	               counts[IKE_PARSE_UNSUPPORTED_CRITICAL],
	               counts[IKE_PARSE_INVALID_MAJOR_VERSION], counts[IKE_PARSE_DROP]);
	/* flips inside data fields still decode; flips in lengths mostly do not */
	g_assert_cmpuint(counts[IKE_PARSE_OK], >, 0);
	g_assert_cmpuint(counts[IKE_PARSE_OK], <, BITFLIP_ROUNDS);
}

/* tests/fuzz/corpus/ike-decode/: every file, its truncations and flips, as the fuzzer. */
static void
test_corpus_replay(void)
{
	g_autofree char *dir_path =
	        g_test_build_filename(G_TEST_DIST, "fuzz", "corpus", "ike-decode", NULL);
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
	g_autoptr(GRand) rand = g_rand_new_with_seed(7296);
	guint n_files = 0;
	const char *name;

	g_assert_nonnull(dir);
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename(dir_path, name, NULL);
		g_autofree char *contents = NULL;
		gsize len;

		g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
		n_files++;
		exercise((const guint8 *)contents, len);
		for (gsize cut = 0; cut < len; cut++)
			exercise((const guint8 *)contents, cut);
		for (guint i = 0; i < 200 && len; i++) {
			guint at = g_rand_int_range(rand, 0, len);
			guint8 bit = 1 << g_rand_int_range(rand, 0, 8);

			contents[at] ^= bit;
			exercise((const guint8 *)contents, len);
			contents[at] ^= bit;
		}
	}
	g_assert_cmpuint(n_files, >=, G_N_ELEMENTS(seeds));
}

/* ---- rule tables ---- */

/* @msg as the peer's engine would see it: encoded (with SK if it has in_sk payloads),
 * decoded, SK plaintext parsed. */
static IkeMsg *
as_received(IkeMsg *msg, gboolean encrypt)
{
	g_autoptr(GByteArray) bytes = encrypt ? build_with_sk(msg, IKE_PAYLOAD_SK) : build_ok(msg);

	return decode_full_ok(bytes->data, bytes->len);
}

static IkeMsg *
seed_received(GByteArray *(*make)(void))
{
	g_autoptr(GByteArray) bytes = make();

	return decode_full_ok(bytes->data, bytes->len);
}

static IkeMsg *
rules_sa_init_ok(void)
{
	return seed_received(seed_sa_init_request);
}

static IkeMsg *
rules_sa_init_no_ke(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0);

	add_ike_sa(msg, FALSE, NULL, 0);
	ike_msg_add_nonce(msg, FALSE, nonce32, 32);
	return as_received(msg, FALSE);
}

static IkeMsg *
rules_sa_init_two_sa(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0);

	add_ike_sa(msg, FALSE, NULL, 0);
	add_ike_sa(msg, FALSE, NULL, 0);
	ike_msg_add_ke(msg, FALSE, 31, nonce32, 32);
	ike_msg_add_nonce(msg, FALSE, nonce32, 32);
	return as_received(msg, FALSE);
}

static IkeMsg *
sa_init_base(guint8 flags)
{
	IkeMsg *msg = new_msg(IKE_EXCHANGE_IKE_SA_INIT, flags, 0);

	add_ike_sa(msg, FALSE, NULL, 0);
	ike_msg_add_ke(msg, FALSE, 31, nonce32, 32);
	ike_msg_add_nonce(msg, FALSE, nonce32, 32);
	return msg;
}

static IkeMsg *
rules_sa_init_idi(void)
{
	g_autoptr(IkeMsg) msg = sa_init_base(IKE_FLAG_INITIATOR);

	add_data(msg, IKE_PAYLOAD_IDI, FALSE, "moon");
	return as_received(msg, FALSE);
}

static IkeMsg *
rules_sa_init_vendors(void)
{
	g_autoptr(IkeMsg) msg = sa_init_base(IKE_FLAG_INITIATOR);

	add_data(msg, IKE_PAYLOAD_VENDOR, FALSE, "one");
	add_data(msg, IKE_PAYLOAD_VENDOR, FALSE, "two");
	add_data(msg, IKE_PAYLOAD_VENDOR, FALSE, "three");
	return as_received(msg, FALSE);
}

static IkeMsg *
rules_sa_init_sk(void)
{
	g_autoptr(IkeMsg) msg = sa_init_base(IKE_FLAG_INITIATOR);

	ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_INITIAL_CONTACT, 0, NULL, 0, NULL, 0);
	return as_received(msg, TRUE);
}

static IkeMsg *
rules_sa_init_resp_no_ke(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);

	add_ike_sa(msg, FALSE, NULL, 0);
	ike_msg_add_nonce(msg, FALSE, nonce32, 32);
	return as_received(msg, FALSE);
}

static IkeMsg *
rules_sa_init_resp_invalid_ke(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);

	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_INVALID_KE_PAYLOAD, 0, NULL, 0, "\x00\x13", 2);
	return as_received(msg, FALSE);
}

static IkeMsg *
rules_sa_init_resp_cookie(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);

	ike_msg_add_notify(msg, FALSE, IKE_NOTIFY_COOKIE, 0, NULL, 0, nonce32, 20);
	return as_received(msg, FALSE);
}

static IkeMsg *
rules_sa_init_resp_ok(void)
{
	return seed_received(seed_sa_init_response);
}

static IkeMsg *
rules_ike_auth_ok(void)
{
	return seed_received(seed_ike_auth_request);
}

static IkeMsg *
rules_ike_auth_eap_ok(void)
{
	return seed_received(seed_ike_auth_eap);
}

static IkeMsg *
rules_ike_auth_skf_ok(void)
{
	return seed_received(seed_skf);
}

static IkeMsg *
rules_ike_auth_outside_sk(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_AUTH, IKE_FLAG_INITIATOR, 1);

	add_data(msg, IKE_PAYLOAD_IDI, FALSE, "moon");
	add_data(msg, IKE_PAYLOAD_AUTH, TRUE, "mac");
	return as_received(msg, TRUE);
}

static IkeMsg *
rules_ike_auth_unprotected(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_AUTH, IKE_FLAG_INITIATOR, 1);

	add_data(msg, IKE_PAYLOAD_IDI, FALSE, "moon");
	add_data(msg, IKE_PAYLOAD_AUTH, FALSE, "mac");
	return as_received(msg, FALSE);
}

static IkeMsg *
rules_ike_auth_two_auth(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_AUTH, IKE_FLAG_INITIATOR, 1);

	add_data(msg, IKE_PAYLOAD_IDI, TRUE, "moon");
	add_data(msg, IKE_PAYLOAD_AUTH, TRUE, "mac");
	add_data(msg, IKE_PAYLOAD_AUTH, TRUE, "mac");
	return as_received(msg, TRUE);
}

static IkeMsg *
rules_ike_auth_ke(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_AUTH, IKE_FLAG_INITIATOR, 1);

	add_data(msg, IKE_PAYLOAD_IDI, TRUE, "moon");
	ike_msg_add_ke(msg, TRUE, 31, nonce32, 32);
	return as_received(msg, TRUE);
}

static IkeMsg *
rules_ike_auth_not_decrypted(void)
{
	g_autoptr(GByteArray) bytes = seed_ike_auth_request();

	return decode_ok(bytes->data, bytes->len);
}

static IkeMsg *
rules_ike_auth_resp_two_idr(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_IKE_AUTH, IKE_FLAG_RESPONSE, 1);

	add_data(msg, IKE_PAYLOAD_IDR, TRUE, "sun");
	add_data(msg, IKE_PAYLOAD_IDR, TRUE, "sun");
	add_data(msg, IKE_PAYLOAD_AUTH, TRUE, "mac");
	return as_received(msg, TRUE);
}

static IkeMsg *
rules_child_ok(void)
{
	return seed_received(seed_create_child_sa);
}

static IkeMsg *
rules_child_no_nonce(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_CREATE_CHILD_SA, IKE_FLAG_INITIATOR, 2);

	add_esp_sa(msg, TRUE);
	ike_msg_add_ke(msg, TRUE, 31, nonce32, 32);
	return as_received(msg, TRUE);
}

static IkeMsg *
rules_child_resp_refused(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_CREATE_CHILD_SA, IKE_FLAG_RESPONSE, 2);

	ike_msg_add_notify(msg, TRUE, IKE_NOTIFY_NO_PROPOSAL_CHOSEN, 0, NULL, 0, NULL, 0);
	return as_received(msg, TRUE);
}

static IkeMsg *
rules_child_resp_no_sa(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_CREATE_CHILD_SA, IKE_FLAG_RESPONSE, 2);

	ike_msg_add_nonce(msg, TRUE, nonce32, 32);
	return as_received(msg, TRUE);
}

static IkeMsg *
rules_info_empty(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_INFORMATIONAL, IKE_FLAG_INITIATOR, 4);

	return as_received(msg, TRUE);
}

static IkeMsg *
rules_info_ok(void)
{
	return seed_received(seed_informational);
}

static IkeMsg *
rules_info_ke(void)
{
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_INFORMATIONAL, 0, 4);

	ike_msg_add_ke(msg, TRUE, 31, nonce32, 32);
	return as_received(msg, TRUE);
}

static IkeMsg *
rules_unknown_exchange(void)
{
	g_autoptr(IkeMsg) msg = new_msg(99, IKE_FLAG_INITIATOR, 4);

	return as_received(msg, TRUE);
}

typedef struct {
	const char *name;
	IkeMsg *(*make)(void);
	IkeRulesVerdict want;
} RulesCase;

static const RulesCase rules_cases[] = {
        {"sa-init/request", rules_sa_init_ok, IKE_RULES_OK},
        {"sa-init/request-vendor-ids", rules_sa_init_vendors, IKE_RULES_OK},
        {"sa-init/request-missing-ke", rules_sa_init_no_ke, IKE_RULES_NOTIFY},
        {"sa-init/request-two-sa", rules_sa_init_two_sa, IKE_RULES_NOTIFY},
        {"sa-init/request-with-idi", rules_sa_init_idi, IKE_RULES_NOTIFY},
        {"sa-init/request-with-sk", rules_sa_init_sk, IKE_RULES_NOTIFY},
        {"sa-init/response", rules_sa_init_resp_ok, IKE_RULES_OK},
        {"sa-init/response-missing-ke", rules_sa_init_resp_no_ke, IKE_RULES_DROP},
        {"sa-init/response-invalid-ke", rules_sa_init_resp_invalid_ke, IKE_RULES_OK},
        {"sa-init/response-cookie", rules_sa_init_resp_cookie, IKE_RULES_OK},
        {"ike-auth/request", rules_ike_auth_ok, IKE_RULES_OK},
        {"ike-auth/response-eap", rules_ike_auth_eap_ok, IKE_RULES_OK},
        {"ike-auth/request-fragment", rules_ike_auth_skf_ok, IKE_RULES_OK},
        {"ike-auth/request-payload-outside-sk", rules_ike_auth_outside_sk, IKE_RULES_NOTIFY},
        {"ike-auth/request-unprotected", rules_ike_auth_unprotected, IKE_RULES_DROP},
        {"ike-auth/request-two-auth", rules_ike_auth_two_auth, IKE_RULES_NOTIFY},
        {"ike-auth/request-with-ke", rules_ike_auth_ke, IKE_RULES_NOTIFY},
        {"ike-auth/request-not-decrypted", rules_ike_auth_not_decrypted, IKE_RULES_DROP},
        {"ike-auth/response-two-idr", rules_ike_auth_resp_two_idr, IKE_RULES_DROP},
        {"create-child-sa/request", rules_child_ok, IKE_RULES_OK},
        {"create-child-sa/request-missing-nonce", rules_child_no_nonce, IKE_RULES_NOTIFY},
        {"create-child-sa/response-refused", rules_child_resp_refused, IKE_RULES_OK},
        {"create-child-sa/response-missing-sa", rules_child_resp_no_sa, IKE_RULES_DROP},
        {"informational/empty", rules_info_empty, IKE_RULES_OK},
        {"informational/delete", rules_info_ok, IKE_RULES_OK},
        {"informational/with-ke", rules_info_ke, IKE_RULES_NOTIFY},
        {"unknown-exchange", rules_unknown_exchange, IKE_RULES_DROP},
};

static void
test_rules(gconstpointer data)
{
	const RulesCase *c = data;
	g_autoptr(IkeMsg) msg = c->make();
	const char *reason = NULL;
	guint16 notify = 1;
	IkeRulesVerdict got = ike_msg_check_rules(msg, &notify, &reason);

	if (got != c->want)
		g_error("%s: verdict %d (%s), want %d", c->name, got, reason, c->want);
	g_assert_cmpuint(notify, ==, got == IKE_RULES_NOTIFY ? IKE_NOTIFY_INVALID_SYNTAX : 0);
	g_assert_true((got == IKE_RULES_OK) == (reason == NULL));
}

/* ---- the builder refuses what would not decode ---- */

typedef struct {
	const char *name;
	void (*add)(IkeMsg *msg);
} RefuseCase;

static void
refuse_short_nonce(IkeMsg *msg)
{
	ike_msg_add_nonce(msg, FALSE, nonce32, IKE_NONCE_MIN_LEN - 1);
}

static void
refuse_sk_not_last(IkeMsg *msg)
{
	add_sk_case(msg);
	add_vendor_case(msg);
}

static void
refuse_sa_empty(IkeMsg *msg)
{
	ike_msg_add_payload(msg, IKE_PAYLOAD_SA, FALSE);
}

static void
refuse_ts_empty(IkeMsg *msg)
{
	ike_msg_add_payload(msg, IKE_PAYLOAD_TSI, FALSE);
}

static void
refuse_ts_type(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_TSI, FALSE);
	IkeTrafficSelector sel = {.type = 10};

	ike_payload_add_selector(p, &sel);
}

static void
refuse_payload_too_long(IkeMsg *msg)
{
	g_autofree guint8 *big = g_malloc0(G_MAXUINT16);
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_VENDOR, FALSE);

	ike_payload_set_data(p, big, G_MAXUINT16 - IKE_PAYLOAD_HEADER_LEN + 1);
}

static void
refuse_msg_too_long(IkeMsg *msg)
{
	g_autofree guint8 *big = g_malloc0(40000);

	ike_payload_set_data(ike_msg_add_payload(msg, IKE_PAYLOAD_VENDOR, FALSE), big, 40000);
	ike_payload_set_data(ike_msg_add_payload(msg, IKE_PAYLOAD_VENDOR, FALSE), big, 40000);
}

static void
refuse_eap_success_data(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_EAP, FALSE);

	p->eap.code = IKE_EAP_SUCCESS;
	ike_payload_set_data(p, "x", 1);
}

static void
refuse_delete_ike_spis(IkeMsg *msg)
{
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_DELETE, FALSE);

	p->del.protocol = IKE_PROTOCOL_IKE;
	ike_payload_add_delete_spi(p, 1);
}

static void
refuse_skf_zero(IkeMsg *msg)
{
	add_skf_case(msg);
	ike_msg_get_payload(msg, ike_msg_get_n_payloads(msg) - 1)->sk.fragment = 0;
}

static void
refuse_sk_empty(IkeMsg *msg)
{
	ike_msg_add_payload(msg, IKE_PAYLOAD_SK, FALSE);
}

static void
refuse_major_version(IkeMsg *msg)
{
	ike_msg_get_header(msg)->major_version = 3;
}

static void
refuse_too_many(IkeMsg *msg)
{
	for (guint i = 0; i <= IKE_MAX_PAYLOADS; i++)
		ike_msg_add_payload(msg, IKE_PAYLOAD_VENDOR, FALSE);
}

static const RefuseCase refuse_cases[] = {
        {"nonce-too-short", refuse_short_nonce},
        {"sk-not-last", refuse_sk_not_last},
        {"sk-empty", refuse_sk_empty},
        {"skf-fragment-zero", refuse_skf_zero},
        {"sa-without-proposals", refuse_sa_empty},
        {"ts-without-selectors", refuse_ts_empty},
        {"ts-unknown-type", refuse_ts_type},
        {"payload-too-long", refuse_payload_too_long},
        {"message-too-long", refuse_msg_too_long},
        {"eap-success-with-data", refuse_eap_success_data},
        {"delete-ike-with-spis", refuse_delete_ike_spis},
        {"too-many-payloads", refuse_too_many},
        {"major-version-3", refuse_major_version},
};

static void
test_build_refuses(gconstpointer data)
{
	const RefuseCase *c = data;
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_INFORMATIONAL, 0, 1);
	g_autoptr(GByteArray) out = g_byte_array_new();

	g_byte_array_append(out, (const guint8 *)"xyz", 3);
	c->add(msg);
	g_assert_false(ike_msg_build(msg, out));
	g_assert_cmpuint(out->len, ==, 3);
}

static void
test_build_payload_max(void)
{
	/* a payload of exactly 65535 bytes is fine */
	g_autoptr(IkeMsg) msg = new_msg(IKE_EXCHANGE_INFORMATIONAL, 0, 1);
	g_autofree guint8 *big = g_malloc0(G_MAXUINT16);
	g_autoptr(GByteArray) out = g_byte_array_new();
	IkePayload *p = ike_msg_add_payload(msg, IKE_PAYLOAD_VENDOR, FALSE);

	ike_payload_set_data(p, big, G_MAXUINT16 - IKE_PAYLOAD_HEADER_LEN - IKE_HEADER_LEN);
	g_assert_true(ike_msg_build(msg, out));
	g_assert_cmpuint(out->len, ==, IKE_MSG_MAX_LEN);
	assert_outer_roundtrip(out);
}

static void
test_to_string(void)
{
	g_assert_cmpstr(ike_exchange_type_to_string(IKE_EXCHANGE_IKE_AUTH), ==, "IKE_AUTH");
	g_assert_cmpstr(ike_exchange_type_to_string(200), ==, "UNKNOWN");
	g_assert_cmpstr(ike_payload_type_to_string(IKE_PAYLOAD_SKF), ==, "SKF");
	g_assert_cmpstr(ike_notify_type_to_string(16431), ==, "SIGNATURE_HASH_ALGORITHMS");
	g_assert_cmpstr(ike_notify_type_to_string(IKE_NOTIFY_UNSUPPORTED_CRITICAL_PAYLOAD), ==,
	                "UNSUPPORTED_CRITICAL_PAYLOAD");
	g_assert_cmpstr(ike_notify_type_to_string(2), ==, "UNKNOWN");
	g_assert_cmpstr(ike_protocol_id_to_string(IKE_PROTOCOL_ESP), ==, "ESP");
	g_assert_cmpstr(ike_parse_result_to_string(IKE_PARSE_UNSUPPORTED_CRITICAL), ==,
	                "UNSUPPORTED_CRITICAL");
}

/* ---- main ---- */

static int
write_corpus(const char *dir)
{
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_printerr("%s: %s\n", dir, g_strerror(errno));
		return 1;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(seeds); i++) {
		g_autoptr(GByteArray) bytes = seeds[i].make();
		g_autofree char *path = g_build_filename(dir, seeds[i].name, NULL);
		g_autoptr(GError) error = NULL;

		if (!g_file_set_contents(path, (const char *)bytes->data, bytes->len, &error)) {
			g_printerr("%s\n", error->message);
			return 1;
		}
	}
	return 0;
}

static void
add_cases(const char *prefix, const void *cases, gsize n, gsize size, GTestDataFunc func)
{
	for (gsize i = 0; i < n; i++) {
		const void *c = (const guint8 *)cases + i * size;
		/* every case struct starts with its name */
		g_autofree char *path = g_strdup_printf("%s/%s", prefix, *(const char *const *)c);

		g_test_add_data_func(path, c, func);
	}
}

#define ADD_CASES(prefix, cases, func)                                                             \
	add_cases(prefix, cases, G_N_ELEMENTS(cases), sizeof(cases[0]), func)

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
		return write_corpus(argv[2]);

	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/ike/wire/reader", test_wire_reader);
	g_test_add_func("/ike/wire/writer", test_wire_writer);

	ADD_CASES("/ike/codec/header", header_cases, test_header);
	g_test_add_func("/ike/codec/sa-init/strongswan-request", test_sa_init_strongswan);
	g_test_add_func("/ike/codec/sa/attributes", test_decode_transform_attributes);
	g_test_add_func("/ike/codec/ts/decode", test_decode_ts);
	g_test_add_func("/ike/codec/ts/unknown-type", test_decode_ts_unknown_type);
	g_test_add_func("/ike/codec/delete/decode", test_decode_delete);
	g_test_add_func("/ike/codec/cp-eap/decode", test_decode_cp_eap);
	g_test_add_func("/ike/codec/id-auth-cert/decode", test_decode_id_auth_cert);
	g_test_add_func("/ike/codec/sk/decode", test_decode_sk);
	g_test_add_func("/ike/codec/skf/decode", test_decode_skf);
	g_test_add_func("/ike/codec/chain/unknown-skipped", test_decode_unknown_payloads);
	g_test_add_func("/ike/codec/chain/unknown-critical", test_decode_unknown_critical);
	g_test_add_func("/ike/codec/chain/limits", test_chain_limits);
	g_test_add_func("/ike/codec/nonce/lengths", test_nonce_lengths);
	g_test_add_func("/ike/codec/inner/nesting", test_inner_nesting);
	g_test_add_func("/ike/codec/inner/rollback", test_inner_rollback);

	ADD_CASES("/ike/codec/roundtrip/payload", payload_cases, test_roundtrip_payload);
	ADD_CASES("/ike/codec/roundtrip/message", seeds, test_roundtrip_seed);
	g_test_add_func("/ike/codec/roundtrip/ike-auth-fields", test_roundtrip_ike_auth_fields);

	ADD_CASES("/ike/codec/malformed", malformed_cases, test_malformed);
	ADD_CASES("/ike/codec/truncated", seeds, test_truncated);
	ADD_CASES("/ike/codec/bitflip", seeds, test_bitflip);
	g_test_add_func("/ike/codec/corpus/replay", test_corpus_replay);

	ADD_CASES("/ike/codec/rules", rules_cases, test_rules);
	ADD_CASES("/ike/codec/build/refuses", refuse_cases, test_build_refuses);
	g_test_add_func("/ike/codec/build/payload-max", test_build_payload_max);
	g_test_add_func("/ike/codec/names", test_to_string);

	return g_test_run();
}
