/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VICI codec: packets (type, optional name, message) and messages (a tree of sections,
 * key/values and lists, vici.md §1.4-1.5 and §2).
 *
 * Decoding reads peer bytes through one WireReader and checks every length and every
 * structure rule before building a ViciMsg tree; it returns a ViciParse code and never
 * trusts a length. Building goes through a ViciBuilder that writes the encoding
 * directly and refuses (sticky GError, reported by vici_builder_finish()) anything the
 * format or the limits below cannot carry.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Limits (vici.md §1.3, §2.4). */
#define VICI_MAX_PACKET 524288u /* frame payload, inclusive */
#define VICI_MAX_NAME 255u      /* packet, section, key and list names (1-byte length) */
#define VICI_MAX_VALUE 65535u   /* values and list items (2-byte length) */
/* Open sections at once. The format has no limit; ours keeps recursion bounded and is
 * far above what swanctl sends (a connection's children nest 3 deep). */
#define VICI_MAX_DEPTH 32u
#define VICI_FRAME_HEADER 4u /* big-endian packet length */

typedef enum {
	VICI_PACKET_CMD_REQUEST = 0,
	VICI_PACKET_CMD_RESPONSE = 1,
	VICI_PACKET_CMD_UNKNOWN = 2,
	VICI_PACKET_EVENT_REGISTER = 3,
	VICI_PACKET_EVENT_UNREGISTER = 4,
	VICI_PACKET_EVENT_CONFIRM = 5,
	VICI_PACKET_EVENT_UNKNOWN = 6,
	VICI_PACKET_EVENT = 7,
} ViciPacketType;

typedef enum {
	VICI_ELEMENT_SECTION_START = 1,
	VICI_ELEMENT_SECTION_END = 2,
	VICI_ELEMENT_KEY_VALUE = 3,
	VICI_ELEMENT_LIST_START = 4,
	VICI_ELEMENT_LIST_ITEM = 5,
	VICI_ELEMENT_LIST_END = 6,
} ViciElementType;

/* Outcome of decoding peer bytes; ordinary traffic, so no GError. */
typedef enum {
	VICI_PARSE_OK,
	VICI_PARSE_TRUNCATED, /* a length or a field runs past the end */
	VICI_PARSE_BAD_TYPE,  /* unknown packet or element type */
	VICI_PARSE_BAD_NAME,  /* a name byte that is not printable ASCII */
	VICI_PARSE_MISPLACED, /* element where it may not be (end without start, nesting lists) */
	VICI_PARSE_UNCLOSED,  /* the message ends inside a section or list */
	VICI_PARSE_TOO_DEEP,  /* more than VICI_MAX_DEPTH open sections */
	VICI_PARSE_TOO_LARGE, /* more than VICI_MAX_PACKET bytes */
} ViciParse;

const char *vici_parse_to_string(ViciParse result);
const char *vici_packet_type_to_string(ViciPacketType type);
/* Whether packets of @type carry a name after the type byte (0, 3, 4, 7). */
gboolean vici_packet_type_is_named(ViciPacketType type);

/* ---- packets ---- */

typedef struct {
	ViciPacketType type;
	char name[VICI_MAX_NAME + 1]; /* NUL-terminated; "" for unnamed types */
	const guint8 *body;           /* the message bytes, borrowed from the input */
	gsize body_len;
} ViciPacket;

/*
 * Splits one packet (a frame's payload, without the length header). Unknown types give
 * VICI_PARSE_BAD_TYPE; a name that is missing, runs past the end or is not printable
 * gives TRUNCATED or BAD_NAME.
 */
ViciParse vici_packet_decode(const guint8 *data, gsize len, ViciPacket *packet);

/*
 * A whole frame: length header, type, name (named types only), @msg (nullable: empty).
 * NULL and @error when the name or the total is over the limits. (transfer full)
 */
GBytes *vici_packet_encode(ViciPacketType type, const char *name, GBytes *msg, GError **error);

/* ---- message trees ---- */

typedef enum {
	VICI_NODE_SECTION,
	VICI_NODE_VALUE, /* key/value */
	VICI_NODE_LIST,
	VICI_NODE_ITEM, /* a list item: a value without a name */
} ViciNodeKind;

typedef struct ViciMsg ViciMsg;
typedef struct ViciNode ViciNode;

typedef enum {
	VICI_DECODE_STRICT = 0,
	/* End of data closes whatever is open, as charon does for requests (vici.md §1.9). */
	VICI_DECODE_ALLOW_UNCLOSED = 1 << 0,
} ViciDecodeFlags;

/* Decodes a message; on anything but VICI_PARSE_OK *@msg is left NULL. */
ViciParse vici_msg_decode(const guint8 *data, gsize len, ViciDecodeFlags flags, ViciMsg **msg);
/* An empty message (no elements). */
ViciMsg *vici_msg_new(void);
void vici_msg_free(ViciMsg *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ViciMsg, vici_msg_free)

/* Encodes the tree again; NULL and @error only if it is over the limits. (transfer full) */
GBytes *vici_msg_encode(const ViciMsg *msg, GError **error);

/* The implicit root section. (transfer none) */
const ViciNode *vici_msg_get_root(const ViciMsg *msg);
/*
 * Looks up a dot-separated @path ("uptime.running"): every component but the last
 * names a section, the first match wins at each level. (nullable) (transfer none)
 */
const ViciNode *vici_msg_lookup(const ViciMsg *msg, const char *path);
/* The value at @path if it is a key/value of printable ASCII, else @fallback. */
const char *vici_msg_get_str(const ViciMsg *msg, const char *path, const char *fallback);

ViciNodeKind vici_node_get_kind(const ViciNode *node);
/* Section, key or list name; "" for the root and for list items. */
const char *vici_node_get_name(const ViciNode *node);
/* Value bytes of a VALUE or ITEM, NUL-terminated for convenience (the bytes themselves
 * may contain NULs); NULL for other kinds. */
const guint8 *vici_node_get_value(const ViciNode *node, gsize *len);
/* The value as text if every byte is printable ASCII, else NULL. */
const char *vici_node_get_str(const ViciNode *node);
/* Elements of a section, items of a list; 0 for values. */
guint vici_node_get_n_children(const ViciNode *node);
const ViciNode *vici_node_get_child(const ViciNode *node, guint index);
/* First child of @section named @name, of any kind. (nullable) */
const ViciNode *vici_node_find(const ViciNode *section, const char *name);

/* ---- building ---- */

#define VICI_MSG_ERROR (vici_msg_error_quark())
GQuark vici_msg_error_quark(void);

typedef enum {
	VICI_MSG_ERROR_NAME,      /* longer than 255 bytes or not printable */
	VICI_MSG_ERROR_VALUE,     /* longer than 65535 bytes */
	VICI_MSG_ERROR_STRUCTURE, /* element in the wrong place, or left open */
	VICI_MSG_ERROR_DEPTH,     /* more than VICI_MAX_DEPTH sections */
	VICI_MSG_ERROR_SIZE,      /* more than VICI_MAX_PACKET bytes */
} ViciMsgError;

typedef struct ViciBuilder ViciBuilder;

ViciBuilder *vici_builder_new(void);
void vici_builder_free(ViciBuilder *builder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ViciBuilder, vici_builder_free)

/* Each call appends one element; the first invalid call makes every later one a no-op
 * and is what vici_builder_finish() reports. */
void vici_builder_begin_section(ViciBuilder *builder, const char *name);
void vici_builder_end_section(ViciBuilder *builder);
void vici_builder_begin_list(ViciBuilder *builder, const char *name);
void vici_builder_list_item(ViciBuilder *builder, const char *text);
void vici_builder_list_item_bytes(ViciBuilder *builder, const void *data, gsize len);
void vici_builder_end_list(ViciBuilder *builder);
void vici_builder_add_kv(ViciBuilder *builder, const char *key, const char *text);
void vici_builder_add_kv_bytes(ViciBuilder *builder, const char *key, const void *data, gsize len);
void vici_builder_add_kv_printf(ViciBuilder *builder, const char *key, const char *format, ...)
	G_GNUC_PRINTF(3, 4);
/* Text for a person (errmsg, log lines) in printable ASCII, at most VICI_MAX_VALUE
 * bytes: swanctl prints a value with any other byte as nothing at all. Typographic
 * quotes (GLib's messages have them) become ASCII ones, anything else '?'. */
void vici_builder_add_text(ViciBuilder *builder, const char *key, const char *text);

/* The encoded message; NULL and @error after an invalid call or with sections or a list
 * still open. The builder is spent either way. (transfer full) */
GBytes *vici_builder_finish(ViciBuilder *builder, GError **error);

G_END_DECLS
