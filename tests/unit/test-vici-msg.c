/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VICI codec: every frame of real swanctl <-> charon sessions (vici-captures/)
 * decodes and re-encodes byte for byte; malformed input of every kind is refused with
 * the right code, never a crash; the builder refuses what the format cannot carry.
 * Also the texts vici_commands.c formats for swanctl.
 */
#include <string.h>

#include <glib.h>

#include "vici/vici_commands.h"
#include "vici/vici_msg.h"

/* ---- helpers ---- */

static GBytes *
unhex(const char *hex)
{
	GByteArray *out = g_byte_array_new();

	for (const char *p = hex; *p;) {
		if (g_ascii_isspace(*p)) {
			p++;
			continue;
		}
		g_assert_true(g_ascii_isxdigit(p[0]) && g_ascii_isxdigit(p[1]));
		guint8 b = (guint8)(g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]));
		g_byte_array_append(out, &b, 1);
		p += 2;
	}
	return g_byte_array_free_to_bytes(out);
}

static void
assert_bytes_equal(GBytes *a, GBytes *b)
{
	gsize la, lb;
	const guint8 *pa = g_bytes_get_data(a, &la);
	const guint8 *pb = g_bytes_get_data(b, &lb);

	g_assert_cmpmem(pa, la, pb, lb);
}

static char *
captures_dir(void)
{
	const char *root = g_getenv("VPND_SOURCE_ROOT");

	g_assert_nonnull(root);
	return g_build_filename(root, "tests", "unit", "vici-captures", NULL);
}

/* The frames of one capture file, in order. (transfer full) */
static GPtrArray *
load_frames(const char *path)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	GPtrArray *frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	g_assert_true(g_file_get_contents(path, &text, NULL, &error));
	g_assert_no_error(error);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		if (*lines[i])
			g_ptr_array_add(frames, unhex(lines[i]));
	}
	return frames;
}

/* Decodes one frame completely, re-encodes it and compares. Returns the packet type. */
static ViciPacketType
roundtrip_frame(GBytes *frame)
{
	gsize len;
	const guint8 *data = g_bytes_get_data(frame, &len);
	g_autoptr(GError) error = NULL;
	g_autoptr(ViciMsg) msg = NULL;
	ViciPacket pkt;

	g_assert_cmpuint(len, >=, VICI_FRAME_HEADER + 1);
	guint32 plen = (guint32)data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3];
	g_assert_cmpuint(plen, ==, len - VICI_FRAME_HEADER);
	g_assert_cmpuint(plen, <=, VICI_MAX_PACKET);

	g_assert_cmpint(vici_packet_decode(data + 4, plen, &pkt), ==, VICI_PARSE_OK);
	g_assert_cmpint(vici_msg_decode(pkt.body, pkt.body_len, VICI_DECODE_STRICT, &msg), ==,
			VICI_PARSE_OK);
	g_autoptr(GBytes) body = vici_msg_encode(msg, &error);
	g_assert_no_error(error);
	g_assert_cmpmem(g_bytes_get_data(body, NULL), g_bytes_get_size(body), pkt.body,
			pkt.body_len);
	g_autoptr(GBytes) again = vici_packet_encode(pkt.type, pkt.name, body, &error);
	g_assert_no_error(error);
	assert_bytes_equal(again, frame);
	return pkt.type;
}

/* ---- captures ---- */

static void
test_capture(gconstpointer data)
{
	const char *path = data;
	g_autoptr(GPtrArray) frames = load_frames(path);

	g_assert_cmpuint(frames->len, >, 0);
	for (guint i = 0; i < frames->len; i++)
		roundtrip_frame(frames->pdata[i]);
}

/* Decodes the only frame of @name (a capture of one response) into a message. */
static ViciMsg *
capture_response(const char *name)
{
	g_autofree char *dir = captures_dir();
	g_autofree char *file = g_strdup_printf("%s.s2c.hex", name);
	g_autofree char *path = g_build_filename(dir, file, NULL);
	g_autoptr(GPtrArray) frames = load_frames(path);
	GBytes *frame = frames->pdata[frames->len - 1];
	gsize len;
	const guint8 *data = g_bytes_get_data(frame, &len);
	ViciPacket pkt;
	ViciMsg *msg = NULL;

	g_assert_cmpint(vici_packet_decode(data + 4, len - 4, &pkt), ==, VICI_PARSE_OK);
	g_assert_cmpint(pkt.type, ==, VICI_PACKET_CMD_RESPONSE);
	g_assert_cmpint(vici_msg_decode(pkt.body, pkt.body_len, 0, &msg), ==, VICI_PARSE_OK);
	return msg;
}

static void
test_capture_version(void)
{
	g_autoptr(ViciMsg) msg = capture_response("version-daemon");

	g_assert_cmpstr(vici_msg_get_str(msg, "daemon", NULL), ==, "charon");
	g_assert_cmpstr(vici_msg_get_str(msg, "version", NULL), ==, "5.9.8");
	g_assert_cmpstr(vici_msg_get_str(msg, "machine", NULL), ==, "x86_64");
	g_assert_cmpstr(vici_msg_get_str(msg, "nonexistent", "dflt"), ==, "dflt");
	g_assert_cmpuint(vici_node_get_n_children(vici_msg_get_root(msg)), ==, 5);
}

static void
test_capture_stats(void)
{
	g_autoptr(ViciMsg) msg = capture_response("stats");
	const ViciNode *plugins = vici_msg_lookup(msg, "plugins");

	g_assert_cmpstr(vici_msg_get_str(msg, "uptime.running", NULL), ==, "0 seconds");
	g_assert_cmpstr(vici_msg_get_str(msg, "uptime.since", NULL), ==, "Nov 27 00:06:25 2026");
	g_assert_cmpstr(vici_msg_get_str(msg, "workers.active.critical", NULL), ==, "4");
	g_assert_cmpstr(vici_msg_get_str(msg, "ikesas.half-open", NULL), ==, "0");
	g_assert_cmpstr(vici_msg_get_str(msg, "mallinfo.sbrk", NULL), ==, "2568192");
	/* a section is not a value, a missing path is nothing */
	g_assert_null(vici_msg_get_str(msg, "uptime", NULL));
	g_assert_null(vici_msg_lookup(msg, "uptime.running.x"));
	g_assert_null(vici_msg_lookup(msg, "nosuch.running"));

	g_assert_nonnull(plugins);
	g_assert_cmpint(vici_node_get_kind(plugins), ==, VICI_NODE_LIST);
	g_assert_cmpuint(vici_node_get_n_children(plugins), ==, 21);
	const ViciNode *first = vici_node_get_child(plugins, 0);
	g_assert_cmpint(vici_node_get_kind(first), ==, VICI_NODE_ITEM);
	g_assert_cmpstr(vici_node_get_str(first), ==, "charon");
	g_assert_cmpstr(vici_node_get_name(first), ==, "");

	const ViciNode *uptime = vici_node_find(vici_msg_get_root(msg), "uptime");
	g_assert_cmpint(vici_node_get_kind(uptime), ==, VICI_NODE_SECTION);
	g_assert_cmpuint(vici_node_get_n_children(uptime), ==, 2);
	g_assert_cmpstr(vici_node_get_name(vici_node_get_child(uptime, 1)), ==, "since");
}

static void
test_capture_list_algs(void)
{
	g_autoptr(ViciMsg) msg = capture_response("list-algs");
	const ViciNode *root = vici_msg_get_root(msg);

	/* eleven classes, always in this order (vici.md §3.3 get-algorithms) */
	g_assert_cmpuint(vici_node_get_n_children(root), ==, 11);
	g_assert_cmpstr(vici_node_get_name(vici_node_get_child(root, 0)), ==, "encryption");
	g_assert_cmpstr(vici_node_get_name(vici_node_get_child(root, 10)), ==, "nonce-gen");
	g_assert_cmpstr(vici_msg_get_str(msg, "encryption.AES_CBC", NULL), ==, "openssl");
}

/* Every proper prefix of every captured packet: no crash, and if it still decodes, it
 * re-encodes to exactly that prefix. */
static void
test_capture_truncations(gconstpointer data)
{
	g_autoptr(GPtrArray) frames = load_frames(data);

	for (guint f = 0; f < frames->len; f++) {
		gsize len;
		const guint8 *packet = (const guint8 *)g_bytes_get_data(frames->pdata[f], &len) + 4;
		ViciPacket pkt;

		len -= 4;
		g_assert_cmpint(vici_packet_decode(packet, len, &pkt), ==, VICI_PARSE_OK);
		gsize head = len - pkt.body_len;
		for (gsize cut = 0; cut < len; cut++) {
			ViciPacket p2;
			ViciParse res = vici_packet_decode(packet, cut, &p2);

			if (cut < head) {
				g_assert_cmpint(res, ==, VICI_PARSE_TRUNCATED);
				continue;
			}
			g_assert_cmpint(res, ==, VICI_PARSE_OK);
			g_autoptr(ViciMsg) msg = NULL;
			if (vici_msg_decode(p2.body, p2.body_len, 0, &msg) == VICI_PARSE_OK) {
				g_autoptr(GBytes) enc = vici_msg_encode(msg, NULL);
				g_assert_cmpmem(g_bytes_get_data(enc, NULL), g_bytes_get_size(enc),
						p2.body, p2.body_len);
			} else {
				g_assert_null(msg);
			}
			/* the tolerant mode charon uses for requests never crashes either */
			g_autoptr(ViciMsg) loose = NULL;
			vici_msg_decode(p2.body, p2.body_len, VICI_DECODE_ALLOW_UNCLOSED, &loose);
		}
	}
}

/* ---- malformed messages, table-driven ---- */

typedef struct {
	const char *name;
	const char *hex;
	ViciParse strict;
	ViciParse loose; /* with VICI_DECODE_ALLOW_UNCLOSED */
} MsgCase;

static const MsgCase msg_cases[] = {
	{ "empty", "", VICI_PARSE_OK, VICI_PARSE_OK },
	{ "type-0", "00", VICI_PARSE_BAD_TYPE, VICI_PARSE_BAD_TYPE },
	{ "type-7", "07", VICI_PARSE_BAD_TYPE, VICI_PARSE_BAD_TYPE },
	{ "type-ff", "ff", VICI_PARSE_BAD_TYPE, VICI_PARSE_BAD_TYPE },
	{ "bad-type-after-good",
	  "030161000162"
	  "09",
	  VICI_PARSE_BAD_TYPE, VICI_PARSE_BAD_TYPE },
	{ "section-no-name-len", "01", VICI_PARSE_TRUNCATED, VICI_PARSE_TRUNCATED },
	{ "section-name-lies", "0105616263", VICI_PARSE_TRUNCATED, VICI_PARSE_TRUNCATED },
	{ "section-name-255-lies", "01ff61", VICI_PARSE_TRUNCATED, VICI_PARSE_TRUNCATED },
	{ "key-no-value-len", "030161", VICI_PARSE_TRUNCATED, VICI_PARSE_TRUNCATED },
	{ "key-half-value-len", "03016100", VICI_PARSE_TRUNCATED, VICI_PARSE_TRUNCATED },
	{ "key-value-lies", "0301610005616263", VICI_PARSE_TRUNCATED, VICI_PARSE_TRUNCATED },
	{ "key-value-ffff-lies", "030161ffff61", VICI_PARSE_TRUNCATED, VICI_PARSE_TRUNCATED },
	{ "item-value-lies",
	  "040161"
	  "050003616263"
	  "05000a61"
	  "06",
	  VICI_PARSE_TRUNCATED, VICI_PARSE_TRUNCATED },
	{ "list-name-lies", "040961", VICI_PARSE_TRUNCATED, VICI_PARSE_TRUNCATED },
	{ "name-control-byte", "01010902", VICI_PARSE_BAD_NAME, VICI_PARSE_BAD_NAME },
	{ "name-del", "03017f0000", VICI_PARSE_BAD_NAME, VICI_PARSE_BAD_NAME },
	{ "name-high-byte",
	  "04028061"
	  "06",
	  VICI_PARSE_BAD_NAME, VICI_PARSE_BAD_NAME },
	{ "name-nul", "0302610000 00", VICI_PARSE_BAD_NAME, VICI_PARSE_BAD_NAME },
	{ "empty-names",
	  "0100"
	  "030000 00"
	  "0400 06"
	  "02",
	  VICI_PARSE_OK, VICI_PARSE_OK },
	{ "binary-value", "030161 0003 00ff0a", VICI_PARSE_OK, VICI_PARSE_OK },
	{ "section-end-at-root", "02", VICI_PARSE_MISPLACED, VICI_PARSE_MISPLACED },
	{ "section-end-extra",
	  "010161"
	  "02"
	  "02",
	  VICI_PARSE_MISPLACED, VICI_PARSE_MISPLACED },
	{ "item-outside-list", "05000161", VICI_PARSE_MISPLACED, VICI_PARSE_MISPLACED },
	{ "list-end-outside-list", "06", VICI_PARSE_MISPLACED, VICI_PARSE_MISPLACED },
	{ "list-end-in-section",
	  "010161"
	  "06"
	  "02",
	  VICI_PARSE_MISPLACED, VICI_PARSE_MISPLACED },
	{ "section-in-list",
	  "040161"
	  "010162"
	  "02"
	  "06",
	  VICI_PARSE_MISPLACED, VICI_PARSE_MISPLACED },
	{ "section-end-in-list",
	  "010161"
	  "040162"
	  "02",
	  VICI_PARSE_MISPLACED, VICI_PARSE_MISPLACED },
	{ "list-in-list",
	  "040161"
	  "040162"
	  "06"
	  "06",
	  VICI_PARSE_MISPLACED, VICI_PARSE_MISPLACED },
	{ "key-in-list",
	  "040161"
	  "030162000163"
	  "06",
	  VICI_PARSE_MISPLACED, VICI_PARSE_MISPLACED },
	{ "unclosed-section", "010161", VICI_PARSE_UNCLOSED, VICI_PARSE_OK },
	{ "unclosed-nested",
	  "010161"
	  "010162"
	  "030163000164"
	  "02",
	  VICI_PARSE_UNCLOSED, VICI_PARSE_OK },
	{ "unclosed-list",
	  "040161"
	  "05000162",
	  VICI_PARSE_UNCLOSED, VICI_PARSE_OK },
	{ "balanced",
	  "010161"
	  "040162"
	  "0500016306"
	  "030164000165"
	  "02",
	  VICI_PARSE_OK, VICI_PARSE_OK },
};

static void
test_msg_case(gconstpointer data)
{
	const MsgCase *c = data;
	g_autoptr(GBytes) bytes = unhex(c->hex);
	gsize len;
	const guint8 *p = g_bytes_get_data(bytes, &len);
	g_autoptr(ViciMsg) strict = NULL;
	g_autoptr(ViciMsg) loose = NULL;

	g_assert_cmpint(vici_msg_decode(p, len, VICI_DECODE_STRICT, &strict), ==, c->strict);
	g_assert_true((strict != NULL) == (c->strict == VICI_PARSE_OK));
	g_assert_cmpint(vici_msg_decode(p, len, VICI_DECODE_ALLOW_UNCLOSED, &loose), ==, c->loose);
	g_assert_true((loose != NULL) == (c->loose == VICI_PARSE_OK));
	if (strict) {
		g_autoptr(GBytes) enc = vici_msg_encode(strict, NULL);
		assert_bytes_equal(enc, bytes);
	}
	g_assert_nonnull(vici_parse_to_string(c->strict));
}

/* @depth nested sections "s", closed again. */
static GBytes *
nested(guint depth, gboolean closed)
{
	GByteArray *a = g_byte_array_new();
	static const guint8 start[] = { 1, 1, 's' }, end[] = { 2 };

	for (guint i = 0; i < depth; i++)
		g_byte_array_append(a, start, sizeof(start));
	for (guint i = 0; closed && i < depth; i++)
		g_byte_array_append(a, end, sizeof(end));
	return g_byte_array_free_to_bytes(a);
}

static void
test_msg_depth(void)
{
	g_autoptr(GBytes) ok = nested(VICI_MAX_DEPTH, TRUE);
	g_autoptr(GBytes) deep = nested(VICI_MAX_DEPTH + 1, TRUE);
	g_autoptr(GBytes) deep_open = nested(VICI_MAX_DEPTH + 1000, FALSE);
	g_autoptr(ViciMsg) msg = NULL;
	g_autoptr(ViciMsg) none = NULL;
	g_autoptr(ViciMsg) none2 = NULL;

	g_assert_cmpint(vici_msg_decode(g_bytes_get_data(ok, NULL), g_bytes_get_size(ok), 0, &msg),
			==, VICI_PARSE_OK);
	g_assert_cmpint(
		vici_msg_decode(g_bytes_get_data(deep, NULL), g_bytes_get_size(deep), 0, &none), ==,
		VICI_PARSE_TOO_DEEP);
	g_assert_cmpint(vici_msg_decode(g_bytes_get_data(deep_open, NULL),
					g_bytes_get_size(deep_open), VICI_DECODE_ALLOW_UNCLOSED,
					&none2),
			==, VICI_PARSE_TOO_DEEP);
	g_autoptr(GBytes) enc = vici_msg_encode(msg, NULL);
	assert_bytes_equal(enc, ok);
}

/* Key/values "k" = 'x'… filling exactly @size bytes (size >= 6). */
static GBytes *
filled(gsize size)
{
	GByteArray *a = g_byte_array_new();

	while (size > 0) {
		gsize elem = MIN(size, 5 + VICI_MAX_VALUE);
		if (size - elem > 0 && size - elem < 5)
			elem -= 5; /* leave room for a last, smaller element */
		guint8 hdr[] = { 3, 1, 'k', (guint8)((elem - 5) >> 8), (guint8)(elem - 5) };
		g_byte_array_append(a, hdr, sizeof(hdr));
		gsize at = a->len;
		g_byte_array_set_size(a, (guint)(at + elem - 5));
		memset(a->data + at, 'x', elem - 5);
		size -= elem;
	}
	return g_byte_array_free_to_bytes(a);
}

static void
test_msg_size(void)
{
	g_autoptr(GBytes) max = filled(VICI_MAX_PACKET);
	g_autoptr(GBytes) over = filled(VICI_MAX_PACKET + 1);
	g_autoptr(ViciMsg) msg = NULL;
	g_autoptr(ViciMsg) none = NULL;
	ViciPacket pkt;

	g_assert_cmpuint(g_bytes_get_size(max), ==, VICI_MAX_PACKET);
	g_assert_cmpint(vici_msg_decode(g_bytes_get_data(max, NULL), VICI_MAX_PACKET, 0, &msg), ==,
			VICI_PARSE_OK);
	g_assert_cmpint(
		vici_msg_decode(g_bytes_get_data(over, NULL), VICI_MAX_PACKET + 1, 0, &none), ==,
		VICI_PARSE_TOO_LARGE);
	g_assert_cmpint(vici_packet_decode(g_bytes_get_data(over, NULL), VICI_MAX_PACKET + 1, &pkt),
			==, VICI_PARSE_TOO_LARGE);
	g_autoptr(GBytes) enc = vici_msg_encode(msg, NULL);
	assert_bytes_equal(enc, max);
}

/* ---- packets ---- */

typedef struct {
	const char *name;
	const char *hex;
	ViciParse result;
	ViciPacketType type;
	const char *packet_name;
	gsize body_len;
} PacketCase;

static const PacketCase packet_cases[] = {
	{ "empty", "", VICI_PARSE_TRUNCATED },
	{ "type-8", "08", VICI_PARSE_BAD_TYPE },
	{ "type-ff", "ff0161", VICI_PARSE_BAD_TYPE },
	{ "request-no-name-len", "00", VICI_PARSE_TRUNCATED },
	{ "request-name-lies", "0005616263", VICI_PARSE_TRUNCATED },
	{ "request-name-ff-lies", "00ff", VICI_PARSE_TRUNCATED },
	{ "request-name-newline", "0002610a", VICI_PARSE_BAD_NAME },
	{ "request-name-tab", "000109", VICI_PARSE_BAD_NAME },
	{ "request-empty-name", "0000", VICI_PARSE_OK, VICI_PACKET_CMD_REQUEST, "", 0 },
	{ "request", "000776657273696f6e", VICI_PARSE_OK, VICI_PACKET_CMD_REQUEST, "version", 0 },
	{ "request-body", "00016103016100016202", VICI_PARSE_OK, VICI_PACKET_CMD_REQUEST, "a", 7 },
	{ "response-empty", "01", VICI_PARSE_OK, VICI_PACKET_CMD_RESPONSE, "", 0 },
	{ "cmd-unknown", "02", VICI_PARSE_OK, VICI_PACKET_CMD_UNKNOWN, "", 0 },
	{ "register", "03076c6973742d7361", VICI_PARSE_OK, VICI_PACKET_EVENT_REGISTER, "list-sa",
	  0 },
	{ "register-extra", "030161ffff", VICI_PARSE_OK, VICI_PACKET_EVENT_REGISTER, "a", 2 },
	{ "unregister-no-name", "04", VICI_PARSE_TRUNCATED },
	{ "confirm", "05", VICI_PARSE_OK, VICI_PACKET_EVENT_CONFIRM, "", 0 },
	{ "event-unknown", "06", VICI_PARSE_OK, VICI_PACKET_EVENT_UNKNOWN, "", 0 },
	{ "event", "07036c6f67", VICI_PARSE_OK, VICI_PACKET_EVENT, "log", 0 },
};

static void
test_packet_case(gconstpointer data)
{
	const PacketCase *c = data;
	g_autoptr(GBytes) bytes = unhex(c->hex);
	gsize len;
	const guint8 *p = g_bytes_get_data(bytes, &len);
	ViciPacket pkt;

	g_assert_cmpint(vici_packet_decode(p, len, &pkt), ==, c->result);
	if (c->result != VICI_PARSE_OK)
		return;
	g_assert_cmpint(pkt.type, ==, c->type);
	g_assert_cmpstr(pkt.name, ==, c->packet_name);
	g_assert_cmpuint(pkt.body_len, ==, c->body_len);
	g_assert_true(pkt.body == p + len - c->body_len);
}

static void
test_packet_encode_limits(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *long_name = g_strnfill(VICI_MAX_NAME + 1, 'n');
	g_autoptr(GBytes) big =
		g_bytes_new_take(g_malloc0(VICI_MAX_PACKET - 1), VICI_MAX_PACKET - 1);
	g_autoptr(GBytes) frame = NULL;

	g_assert_null(vici_packet_encode(VICI_PACKET_EVENT, long_name, NULL, &error));
	g_assert_error(error, VICI_MSG_ERROR, VICI_MSG_ERROR_NAME);
	g_clear_error(&error);
	g_assert_null(vici_packet_encode(VICI_PACKET_CMD_REQUEST, "a\nb", NULL, &error));
	g_assert_error(error, VICI_MSG_ERROR, VICI_MSG_ERROR_NAME);
	g_clear_error(&error);

	/* type byte + 524287 bytes: exactly the limit */
	frame = vici_packet_encode(VICI_PACKET_CMD_RESPONSE, NULL, big, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_bytes_get_size(frame), ==, VICI_FRAME_HEADER + VICI_MAX_PACKET);
	g_assert_null(vici_packet_encode(VICI_PACKET_EVENT, "x", big, &error));
	g_assert_error(error, VICI_MSG_ERROR, VICI_MSG_ERROR_SIZE);
	g_clear_error(&error);

	/* the 1-byte answers of vici.md §2.6 (c) */
	g_autoptr(GBytes) confirm = vici_packet_encode(VICI_PACKET_EVENT_CONFIRM, NULL, NULL, NULL);
	g_autoptr(GBytes) expect = unhex("0000000105");
	assert_bytes_equal(confirm, expect);
}

/* ---- builder ---- */

/* vici.md §2.6 (d)-(g): what the builder writes equals what swanctl and charon send. */
static void
test_builder_examples(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ViciBuilder) b = vici_builder_new();

	vici_builder_add_kv(b, "id", "ike-psk");
	vici_builder_add_kv(b, "type", "ike");
	vici_builder_add_kv(b, "data", "super secret");
	vici_builder_begin_list(b, "owners");
	vici_builder_list_item(b, "a-psk");
	vici_builder_list_item(b, "b-psk");
	vici_builder_end_list(b);
	g_autoptr(GBytes) msg = vici_builder_finish(b, &error);
	g_assert_no_error(error);
	g_autoptr(GBytes) frame =
		vici_packet_encode(VICI_PACKET_CMD_REQUEST, "load-shared", msg, &error);
	g_autoptr(GBytes) expect = unhex("00000052000b6c6f61642d736861726564"
					 "0302696400076"
					 "96b652d70736b"
					 "030474797065000369"
					 "6b65"
					 "0304646174610"
					 "00c7375706572207365637265"
					 "74"
					 "04066f776e657273"
					 "050005612d70736b"
					 "050005622d70736b"
					 "06");
	assert_bytes_equal(frame, expect);

	g_autoptr(ViciBuilder) pool = vici_builder_new();
	vici_builder_begin_section(pool, "p1");
	vici_builder_add_kv(pool, "addrs", "10.3.0.0/28");
	vici_builder_begin_list(pool, "dns");
	vici_builder_list_item(pool, "192.0.2.53");
	vici_builder_end_list(pool);
	vici_builder_end_section(pool);
	g_autoptr(GBytes) pmsg = vici_builder_finish(pool, &error);
	g_autoptr(GBytes) pframe =
		vici_packet_encode(VICI_PACKET_CMD_REQUEST, "load-pool", pmsg, &error);
	g_assert_no_error(error);
	g_autoptr(GBytes) pexpect = unhex("00000037"
					  "00096c6f61642d706f6f6c"
					  "01027031"
					  "030561646472730"
					  "00b31302e332e302e302f3238"
					  "0403646e73"
					  "05000a3139322e302e322e3533"
					  "06"
					  "02");
	assert_bytes_equal(pframe, pexpect);

	g_autoptr(ViciBuilder) ok = vici_builder_new();
	vici_builder_add_kv(ok, "success", "yes");
	g_autoptr(GBytes) okmsg = vici_builder_finish(ok, NULL);
	g_autoptr(GBytes) okframe = vici_packet_encode(VICI_PACKET_CMD_RESPONSE, NULL, okmsg, NULL);
	g_autoptr(GBytes) okexpect = unhex("0000000f01030773756363657373000379657"
					   "3");
	assert_bytes_equal(okframe, okexpect);

	g_autoptr(ViciBuilder) keys = vici_builder_new();
	vici_builder_begin_list(keys, "keys");
	vici_builder_end_list(keys);
	vici_builder_add_kv_printf(keys, "n", "%d", 42);
	g_autoptr(GBytes) kmsg = vici_builder_finish(keys, NULL);
	g_autoptr(GBytes) kexpect = unhex("04046b65797306"
					  "03016e00023432");
	assert_bytes_equal(kmsg, kexpect);
}

typedef void (*BuildFunc)(ViciBuilder *b);

static void
build_name_255(ViciBuilder *b)
{
	g_autofree char *name = g_strnfill(VICI_MAX_NAME, 'k');
	vici_builder_add_kv(b, name, "v");
}
static void
build_name_256(ViciBuilder *b)
{
	g_autofree char *name = g_strnfill(VICI_MAX_NAME + 1, 'k');
	vici_builder_begin_section(b, name);
	vici_builder_end_section(b);
}
static void
build_name_newline(ViciBuilder *b)
{
	vici_builder_begin_list(b, "a\nb");
	vici_builder_end_list(b);
}
static void
build_value_65535(ViciBuilder *b)
{
	g_autofree char *value = g_strnfill(VICI_MAX_VALUE, 'v');
	vici_builder_add_kv(b, "k", value);
	vici_builder_begin_list(b, "l");
	vici_builder_list_item(b, value);
	vici_builder_end_list(b);
}
static void
build_value_65536(ViciBuilder *b)
{
	g_autofree char *value = g_strnfill(VICI_MAX_VALUE + 1, 'v');
	vici_builder_add_kv(b, "k", value);
}
static void
build_item_65536(ViciBuilder *b)
{
	g_autofree char *value = g_strnfill(VICI_MAX_VALUE + 1, 'v');
	vici_builder_begin_list(b, "l");
	vici_builder_list_item(b, value);
	vici_builder_end_list(b);
}
static void
build_end_at_root(ViciBuilder *b)
{
	vici_builder_end_section(b);
	vici_builder_add_kv(b, "after", "error"); /* a no-op now */
}
static void
build_item_outside(ViciBuilder *b)
{
	vici_builder_list_item(b, "x");
}
static void
build_list_end_outside(ViciBuilder *b)
{
	vici_builder_end_list(b);
}
static void
build_kv_in_list(ViciBuilder *b)
{
	vici_builder_begin_list(b, "l");
	vici_builder_add_kv(b, "k", "v");
}
static void
build_section_in_list(ViciBuilder *b)
{
	vici_builder_begin_list(b, "l");
	vici_builder_begin_section(b, "s");
}
static void
build_list_in_list(ViciBuilder *b)
{
	vici_builder_begin_list(b, "l");
	vici_builder_begin_list(b, "m");
}
static void
build_section_end_in_list(ViciBuilder *b)
{
	vici_builder_begin_section(b, "s");
	vici_builder_begin_list(b, "l");
	vici_builder_end_section(b);
}
static void
build_unclosed_section(ViciBuilder *b)
{
	vici_builder_begin_section(b, "s");
}
static void
build_unclosed_list(ViciBuilder *b)
{
	vici_builder_begin_list(b, "l");
}
static void
build_depth(ViciBuilder *b, guint depth)
{
	for (guint i = 0; i < depth; i++)
		vici_builder_begin_section(b, "s");
	for (guint i = 0; i < depth; i++)
		vici_builder_end_section(b);
}
static void
build_depth_max(ViciBuilder *b)
{
	build_depth(b, VICI_MAX_DEPTH);
}
static void
build_depth_over(ViciBuilder *b)
{
	build_depth(b, VICI_MAX_DEPTH + 1);
}
static void
build_too_large(ViciBuilder *b)
{
	g_autofree char *value = g_strnfill(VICI_MAX_VALUE, 'v');
	for (guint i = 0; i < VICI_MAX_PACKET / VICI_MAX_VALUE + 1; i++)
		vici_builder_add_kv(b, "k", value);
}

typedef struct {
	const char *name;
	BuildFunc build;
	gint error; /* ViciMsgError, or -1 for success */
} BuildCase;

static const BuildCase build_cases[] = {
	{ "name-255", build_name_255, -1 },
	{ "name-256", build_name_256, VICI_MSG_ERROR_NAME },
	{ "name-newline", build_name_newline, VICI_MSG_ERROR_NAME },
	{ "value-65535", build_value_65535, -1 },
	{ "value-65536", build_value_65536, VICI_MSG_ERROR_VALUE },
	{ "item-65536", build_item_65536, VICI_MSG_ERROR_VALUE },
	{ "end-at-root", build_end_at_root, VICI_MSG_ERROR_STRUCTURE },
	{ "item-outside-list", build_item_outside, VICI_MSG_ERROR_STRUCTURE },
	{ "list-end-outside-list", build_list_end_outside, VICI_MSG_ERROR_STRUCTURE },
	{ "kv-in-list", build_kv_in_list, VICI_MSG_ERROR_STRUCTURE },
	{ "section-in-list", build_section_in_list, VICI_MSG_ERROR_STRUCTURE },
	{ "list-in-list", build_list_in_list, VICI_MSG_ERROR_STRUCTURE },
	{ "section-end-in-list", build_section_end_in_list, VICI_MSG_ERROR_STRUCTURE },
	{ "unclosed-section", build_unclosed_section, VICI_MSG_ERROR_STRUCTURE },
	{ "unclosed-list", build_unclosed_list, VICI_MSG_ERROR_STRUCTURE },
	{ "depth-max", build_depth_max, -1 },
	{ "depth-over", build_depth_over, VICI_MSG_ERROR_DEPTH },
	{ "too-large", build_too_large, VICI_MSG_ERROR_SIZE },
};

static void
test_build_case(gconstpointer data)
{
	const BuildCase *c = data;
	g_autoptr(ViciBuilder) b = vici_builder_new();
	g_autoptr(GError) error = NULL;

	c->build(b);
	g_autoptr(GBytes) msg = vici_builder_finish(b, &error);
	if (c->error < 0) {
		g_assert_no_error(error);
		g_autoptr(ViciMsg) tree = NULL;
		g_assert_cmpint(vici_msg_decode(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg),
						0, &tree),
				==, VICI_PARSE_OK);
	} else {
		g_assert_null(msg);
		g_assert_error(error, VICI_MSG_ERROR, c->error);
	}
	/* spent either way */
	g_autoptr(GError) again = NULL;
	g_assert_null(vici_builder_finish(b, &again));
	g_assert_nonnull(again);
}

/* Binary values are kept but not handed out as text (libvici semantics, vici.md §2.5). */
static void
test_binary_values(void)
{
	g_autoptr(GBytes) bytes = unhex("030164000300ff61"
					"030174000374787"
					"4");
	g_autoptr(ViciMsg) msg = NULL;
	gsize len;

	g_assert_cmpint(
		vici_msg_decode(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), 0, &msg),
		==, VICI_PARSE_OK);
	const ViciNode *d = vici_msg_lookup(msg, "d");
	const guint8 *v = vici_node_get_value(d, &len);
	g_assert_cmpuint(len, ==, 3);
	g_assert_cmpint(v[0], ==, 0);
	g_assert_cmpint(v[1], ==, 0xff);
	g_assert_null(vici_node_get_str(d));
	g_assert_cmpstr(vici_msg_get_str(msg, "d", "fallback"), ==, "fallback");
	g_assert_cmpstr(vici_msg_get_str(msg, "t", NULL), ==, "txt");
}

/* swanctl --stats prints these verbatim (vici.md §3.3 "stats"). */
static void
test_format_running(void)
{
	static const struct {
		gint64 seconds;
		const char *text;
	} cases[] = {
		{ 0, "0 seconds" },          { 1, "1 second" },    { 7, "7 seconds" },
		{ 120, "120 seconds" },      { 121, "2 minutes" }, { 180, "3 minutes" },
		{ 7200, "120 minutes" },     { 7201, "2 hours" },  { 47 * 3600, "47 hours" },
		{ 172800, "48 hours" },      { 172801, "2 days" }, { 3 * 86400, "3 days" },
		{ 86400 * 400, "400 days" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = vici_commands_format_running(cases[i].seconds);
		g_assert_cmpstr(text, ==, cases[i].text);
	}
}

static void
test_format_since(void)
{
	g_autoptr(GDateTime) t = g_date_time_new_local(2026, 11, 7, 0, 6, 25);
	g_autofree char *text = vici_commands_format_since(t);
	g_autofree char *unknown = vici_commands_format_since(NULL);

	g_assert_cmpstr(text, ==, "Nov 07 00:06:25 2026");
	g_assert_cmpstr(unknown, ==, "--- -- --:--:-- ----");
}

static void
test_log_groups(void)
{
	g_assert_cmpstr(vici_commands_log_group("core"), ==, "DMN");
	g_assert_cmpstr(vici_commands_log_group("ike"), ==, "IKE");
	g_assert_cmpstr(vici_commands_log_group("vici"), ==, "CFG");
	g_assert_cmpstr(vici_commands_log_group("GLib-GIO"), ==, "LIB");
	g_assert_cmpstr(vici_commands_log_group(NULL), ==, "LIB");
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/* Text for swanctl to print: printable ASCII (it prints anything else as nothing). */
static void
test_builder_text(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ViciBuilder) b = vici_builder_new();
	g_autoptr(ViciMsg) msg = NULL;
	g_autofree char *long_text = g_strnfill(VICI_MAX_VALUE + 10, 'x');

	vici_builder_add_text(b, "quotes", "Error resolving \u201cnosuch\u201d: it\u2019s gone");
	vici_builder_add_text(b, "other", "CN=J\u00fcrgen\ttab \xff end");
	vici_builder_add_text(b, "long", long_text);
	g_autoptr(GBytes) bytes = vici_builder_finish(b, &error);
	g_assert_no_error(error);
	gsize len;
	const guint8 *data = g_bytes_get_data(bytes, &len);
	g_assert_cmpint(vici_msg_decode(data, len, 0, &msg), ==, VICI_PARSE_OK);
	g_assert_cmpstr(vici_msg_get_str(msg, "quotes", NULL), ==,
			"Error resolving \"nosuch\": it's gone");
	g_assert_cmpstr(vici_msg_get_str(msg, "other", NULL), ==, "CN=J?rgen?tab ? end");
	g_assert_cmpuint(strlen(vici_msg_get_str(msg, "long", "")), ==, VICI_MAX_VALUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL); /* ISOLATE_DIRS leaks in GLib 2.74 */

	g_autofree char *dir = captures_dir();
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	const char *entry;

	g_assert_nonnull(d);
	while ((entry = g_dir_read_name(d))) {
		if (g_str_has_suffix(entry, ".hex"))
			g_ptr_array_add(files, g_strdup(entry));
	}
	g_ptr_array_sort(files, compare_names);
	g_assert_cmpuint(files->len, ==, 20);
	for (guint i = 0; i < files->len; i++) {
		const char *name = files->pdata[i];
		g_autofree char *base = g_strndup(name, strlen(name) - 4);
		g_autofree char *p1 = g_strdup_printf("/vici/msg/capture/%s", base);
		g_autofree char *p2 = g_strdup_printf("/vici/msg/capture-truncated/%s", base);
		g_test_add_data_func_full(p1, g_build_filename(dir, name, NULL), test_capture,
					  g_free);
		g_test_add_data_func_full(p2, g_build_filename(dir, name, NULL),
					  test_capture_truncations, g_free);
	}
	g_test_add_func("/vici/msg/capture-content/version", test_capture_version);
	g_test_add_func("/vici/msg/capture-content/stats", test_capture_stats);
	g_test_add_func("/vici/msg/capture-content/list-algs", test_capture_list_algs);
	for (guint i = 0; i < G_N_ELEMENTS(msg_cases); i++) {
		g_autofree char *p = g_strdup_printf("/vici/msg/decode/%s", msg_cases[i].name);
		g_test_add_data_func(p, &msg_cases[i], test_msg_case);
	}
	g_test_add_func("/vici/msg/builder/text", test_builder_text);
	g_test_add_func("/vici/msg/decode/depth", test_msg_depth);
	g_test_add_func("/vici/msg/decode/size", test_msg_size);
	g_test_add_func("/vici/msg/decode/binary", test_binary_values);
	for (guint i = 0; i < G_N_ELEMENTS(packet_cases); i++) {
		g_autofree char *p =
			g_strdup_printf("/vici/packet/decode/%s", packet_cases[i].name);
		g_test_add_data_func(p, &packet_cases[i], test_packet_case);
	}
	g_test_add_func("/vici/packet/encode/limits", test_packet_encode_limits);
	g_test_add_func("/vici/build/examples", test_builder_examples);
	for (guint i = 0; i < G_N_ELEMENTS(build_cases); i++) {
		g_autofree char *p = g_strdup_printf("/vici/build/%s", build_cases[i].name);
		g_test_add_data_func(p, &build_cases[i], test_build_case);
	}
	g_test_add_func("/vici/stats/running", test_format_running);
	g_test_add_func("/vici/stats/since", test_format_since);
	g_test_add_func("/vici/log/groups", test_log_groups);
	return g_test_run();
}
