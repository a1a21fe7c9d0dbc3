/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <string.h>

#include "ike/wire.h"
#include "vici/vici_msg.h"

G_DEFINE_QUARK(vpnd - vici - msg - error - quark, vici_msg_error)

struct ViciNode {
	ViciNodeKind kind;
	char *name;    /* "" for the root and list items */
	guint8 *value; /* VALUE, ITEM: len bytes plus a NUL */
	gsize len;
	GPtrArray *children; /* SECTION: elements, LIST: items (ViciNode *, owned) */
};

struct ViciMsg {
	ViciNode *root;
};

const char *
vici_parse_to_string(ViciParse result)
{
	switch (result) {
	case VICI_PARSE_OK:
		return "ok";
	case VICI_PARSE_TRUNCATED:
		return "truncated";
	case VICI_PARSE_BAD_TYPE:
		return "unknown type";
	case VICI_PARSE_BAD_NAME:
		return "non-printable name";
	case VICI_PARSE_MISPLACED:
		return "misplaced element";
	case VICI_PARSE_UNCLOSED:
		return "unclosed section or list";
	case VICI_PARSE_TOO_DEEP:
		return "sections nested too deep";
	case VICI_PARSE_TOO_LARGE:
		return "too large";
	}
	return "?";
}

const char *
vici_packet_type_to_string(ViciPacketType type)
{
	switch (type) {
	case VICI_PACKET_CMD_REQUEST:
		return "CMD_REQUEST";
	case VICI_PACKET_CMD_RESPONSE:
		return "CMD_RESPONSE";
	case VICI_PACKET_CMD_UNKNOWN:
		return "CMD_UNKNOWN";
	case VICI_PACKET_EVENT_REGISTER:
		return "EVENT_REGISTER";
	case VICI_PACKET_EVENT_UNREGISTER:
		return "EVENT_UNREGISTER";
	case VICI_PACKET_EVENT_CONFIRM:
		return "EVENT_CONFIRM";
	case VICI_PACKET_EVENT_UNKNOWN:
		return "EVENT_UNKNOWN";
	case VICI_PACKET_EVENT:
		return "EVENT";
	}
	return "?";
}

gboolean
vici_packet_type_is_named(ViciPacketType type)
{
	return type == VICI_PACKET_CMD_REQUEST || type == VICI_PACKET_EVENT_REGISTER ||
	       type == VICI_PACKET_EVENT_UNREGISTER || type == VICI_PACKET_EVENT;
}

static gboolean
is_printable(const guint8 *p, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return FALSE;
	}
	return TRUE;
}

/* 1-byte length + printable bytes, copied into @name (VICI_MAX_NAME + 1 bytes). */
static ViciParse
read_name(WireReader *r, char *name)
{
	guint8 len;
	const guint8 *p;

	if (!wire_read_u8(r, &len) || !wire_read_ptr(r, len, &p))
		return VICI_PARSE_TRUNCATED;
	if (!is_printable(p, len))
		return VICI_PARSE_BAD_NAME;
	memcpy(name, p, len);
	name[len] = '\0';
	return VICI_PARSE_OK;
}

ViciParse
vici_packet_decode(const guint8 *data, gsize len, ViciPacket *packet)
{
	WireReader r;
	guint8 type;

	if (len > VICI_MAX_PACKET)
		return VICI_PARSE_TOO_LARGE;
	wire_reader_init(&r, data, len);
	if (!wire_read_u8(&r, &type))
		return VICI_PARSE_TRUNCATED;
	if (type > VICI_PACKET_EVENT)
		return VICI_PARSE_BAD_TYPE;
	packet->type = (ViciPacketType)type;
	packet->name[0] = '\0';
	if (vici_packet_type_is_named(packet->type)) {
		ViciParse res = read_name(&r, packet->name);
		if (res != VICI_PARSE_OK)
			return res;
	}
	packet->body = r.p;
	packet->body_len = r.left;
	return VICI_PARSE_OK;
}

static gboolean
check_name(const char *name, GError **error)
{
	gsize len = strlen(name);

	if (len > VICI_MAX_NAME || !is_printable((const guint8 *)name, len)) {
		g_set_error(error, VICI_MSG_ERROR, VICI_MSG_ERROR_NAME,
			    "name \"%.40s%s\" is not up to 255 printable ASCII bytes", name,
			    len > 40 ? "…" : "");
		return FALSE;
	}
	return TRUE;
}

GBytes *
vici_packet_encode(ViciPacketType type, const char *name, GBytes *msg, GError **error)
{
	gsize msg_len = msg ? g_bytes_get_size(msg) : 0;
	gboolean named = vici_packet_type_is_named(type);
	gsize name_len = named && name ? strlen(name) : 0;
	gsize total = 1 + (named ? 1 + name_len : 0) + msg_len;
	WireWriter w;

	if (named && !check_name(name ? name : "", error))
		return NULL;
	if (total > VICI_MAX_PACKET) {
		g_set_error(error, VICI_MSG_ERROR, VICI_MSG_ERROR_SIZE,
			    "%s %s of %" G_GSIZE_FORMAT " bytes exceeds the %u byte limit",
			    vici_packet_type_to_string(type), name ? name : "", total,
			    VICI_MAX_PACKET);
		return NULL;
	}
	wire_writer_init(&w, g_byte_array_sized_new((guint)(VICI_FRAME_HEADER + total)));
	wire_put_u32(&w, (guint32)total);
	wire_put_u8(&w, (guint8)type);
	if (named) {
		wire_put_u8(&w, (guint8)name_len);
		wire_put_bytes(&w, name, name_len);
	}
	if (msg_len)
		wire_put_bytes(&w, g_bytes_get_data(msg, NULL), msg_len);
	return g_byte_array_free_to_bytes(w.buf);
}

/* ---- trees ---- */

static void
node_free(gpointer data)
{
	ViciNode *node = data;

	if (node->children)
		g_ptr_array_unref(node->children);
	/* values may be keys (load-shared's data): none outlives the message */
	if (node->value)
		explicit_bzero(node->value, node->len);
	g_free(node->value);
	g_free(node->name);
	g_free(node);
}

static ViciNode *
node_new(ViciNodeKind kind, const char *name)
{
	ViciNode *node = g_new0(ViciNode, 1);

	node->kind = kind;
	node->name = g_strdup(name ? name : "");
	if (kind == VICI_NODE_SECTION || kind == VICI_NODE_LIST)
		node->children = g_ptr_array_new_with_free_func(node_free);
	return node;
}

static void
node_set_value(ViciNode *node, const guint8 *data, gsize len)
{
	node->value = g_malloc(len + 1);
	if (len)
		memcpy(node->value, data, len);
	node->value[len] = '\0';
	node->len = len;
}

ViciMsg *
vici_msg_new(void)
{
	ViciMsg *msg = g_new0(ViciMsg, 1);

	msg->root = node_new(VICI_NODE_SECTION, NULL);
	return msg;
}

void
vici_msg_free(ViciMsg *msg)
{
	if (!msg)
		return;
	node_free(msg->root);
	g_free(msg);
}

/* Decoder state: the open sections, innermost last, and the open list if any. */
typedef struct {
	ViciNode *open[VICI_MAX_DEPTH + 1]; /* [0] is the root */
	guint depth;                        /* sections open besides the root */
	ViciNode *list;
} Decoder;

static ViciParse
read_value(WireReader *r, ViciNode *node)
{
	guint16 len;
	const guint8 *p;

	if (!wire_read_u16(r, &len) || !wire_read_ptr(r, len, &p))
		return VICI_PARSE_TRUNCATED;
	node_set_value(node, p, len);
	return VICI_PARSE_OK;
}

/* Adds a named element to the innermost section. */
static ViciParse
add_named(Decoder *d, WireReader *r, ViciNodeKind kind, ViciNode **out)
{
	char name[VICI_MAX_NAME + 1];
	ViciParse res;

	if (d->list)
		return VICI_PARSE_MISPLACED; /* lists hold items only */
	res = read_name(r, name);
	if (res != VICI_PARSE_OK)
		return res;
	*out = node_new(kind, name);
	g_ptr_array_add(d->open[d->depth]->children, *out);
	return VICI_PARSE_OK;
}

static ViciParse
decode_element(Decoder *d, WireReader *r, guint8 type)
{
	ViciNode *node = NULL;
	ViciParse res;

	switch (type) {
	case VICI_ELEMENT_SECTION_START:
		if (d->depth >= VICI_MAX_DEPTH)
			return d->list ? VICI_PARSE_MISPLACED : VICI_PARSE_TOO_DEEP;
		res = add_named(d, r, VICI_NODE_SECTION, &node);
		if (res == VICI_PARSE_OK)
			d->open[++d->depth] = node;
		return res;
	case VICI_ELEMENT_SECTION_END:
		if (d->list || d->depth == 0)
			return VICI_PARSE_MISPLACED;
		d->depth--;
		return VICI_PARSE_OK;
	case VICI_ELEMENT_KEY_VALUE:
		res = add_named(d, r, VICI_NODE_VALUE, &node);
		return res == VICI_PARSE_OK ? read_value(r, node) : res;
	case VICI_ELEMENT_LIST_START:
		res = add_named(d, r, VICI_NODE_LIST, &node);
		if (res == VICI_PARSE_OK)
			d->list = node;
		return res;
	case VICI_ELEMENT_LIST_ITEM:
		if (!d->list)
			return VICI_PARSE_MISPLACED;
		node = node_new(VICI_NODE_ITEM, NULL);
		g_ptr_array_add(d->list->children, node);
		return read_value(r, node);
	case VICI_ELEMENT_LIST_END:
		if (!d->list)
			return VICI_PARSE_MISPLACED;
		d->list = NULL;
		return VICI_PARSE_OK;
	default:
		return VICI_PARSE_BAD_TYPE;
	}
}

ViciParse
vici_msg_decode(const guint8 *data, gsize len, ViciDecodeFlags flags, ViciMsg **msg)
{
	g_autoptr(ViciMsg) tree = NULL;
	Decoder d = { 0 };
	WireReader r;
	guint8 type;

	*msg = NULL;
	if (len > VICI_MAX_PACKET)
		return VICI_PARSE_TOO_LARGE;
	tree = vici_msg_new();
	d.open[0] = tree->root;
	wire_reader_init(&r, data, len);
	while (wire_read_u8(&r, &type)) {
		ViciParse res = decode_element(&d, &r, type);
		if (res != VICI_PARSE_OK)
			return res;
	}
	if ((d.depth || d.list) && !(flags & VICI_DECODE_ALLOW_UNCLOSED))
		return VICI_PARSE_UNCLOSED;
	*msg = g_steal_pointer(&tree);
	return VICI_PARSE_OK;
}

/* Re-encodes @section's elements through @b; recursion is bounded by VICI_MAX_DEPTH. */
static void
encode_section(ViciBuilder *b, const ViciNode *section)
{
	for (guint i = 0; i < section->children->len; i++) {
		const ViciNode *n = section->children->pdata[i];

		switch (n->kind) {
		case VICI_NODE_SECTION:
			vici_builder_begin_section(b, n->name);
			encode_section(b, n);
			vici_builder_end_section(b);
			break;
		case VICI_NODE_VALUE:
			vici_builder_add_kv_bytes(b, n->name, n->value, n->len);
			break;
		case VICI_NODE_LIST:
			vici_builder_begin_list(b, n->name);
			for (guint j = 0; j < n->children->len; j++) {
				const ViciNode *item = n->children->pdata[j];
				vici_builder_list_item_bytes(b, item->value, item->len);
			}
			vici_builder_end_list(b);
			break;
		case VICI_NODE_ITEM:
			g_assert_not_reached(); /* items live in lists only */
		}
	}
}

GBytes *
vici_msg_encode(const ViciMsg *msg, GError **error)
{
	g_autoptr(ViciBuilder) b = vici_builder_new();

	encode_section(b, msg->root);
	return vici_builder_finish(b, error);
}

const ViciNode *
vici_msg_get_root(const ViciMsg *msg)
{
	return msg->root;
}

/* Like vici_node_find() with a name that is not NUL-terminated. */
static const ViciNode *
find_len(const ViciNode *section, const char *name, gsize len)
{
	if (!section || section->kind != VICI_NODE_SECTION)
		return NULL;
	for (guint i = 0; i < section->children->len; i++) {
		const ViciNode *n = section->children->pdata[i];
		if (strlen(n->name) == len && memcmp(n->name, name, len) == 0)
			return n;
	}
	return NULL;
}

const ViciNode *
vici_node_find(const ViciNode *section, const char *name)
{
	return find_len(section, name, strlen(name));
}

const ViciNode *
vici_msg_lookup(const ViciMsg *msg, const char *path)
{
	const ViciNode *node = msg->root;
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		const ViciNode *next = NULL;
		/* intermediate components must be sections: take the first section match */
		for (guint i = 0; node && i < node->children->len; i++) {
			const ViciNode *n = node->children->pdata[i];
			if (n->kind == VICI_NODE_SECTION &&
			    strlen(n->name) == (gsize)(dot - path) &&
			    memcmp(n->name, path, dot - path) == 0) {
				next = n;
				break;
			}
		}
		if (!next)
			return NULL;
		node = next;
		path = dot + 1;
	}
	return find_len(node, path, strlen(path));
}

const char *
vici_msg_get_str(const ViciMsg *msg, const char *path, const char *fallback)
{
	const ViciNode *node = vici_msg_lookup(msg, path);
	const char *str = node && node->kind == VICI_NODE_VALUE ? vici_node_get_str(node) : NULL;

	return str ? str : fallback;
}

ViciNodeKind
vici_node_get_kind(const ViciNode *node)
{
	return node->kind;
}

const char *
vici_node_get_name(const ViciNode *node)
{
	return node->name;
}

const guint8 *
vici_node_get_value(const ViciNode *node, gsize *len)
{
	if (len)
		*len = node->value ? node->len : 0;
	return node->value;
}

const char *
vici_node_get_str(const ViciNode *node)
{
	if (!node->value || !is_printable(node->value, node->len))
		return NULL;
	return (const char *)node->value;
}

guint
vici_node_get_n_children(const ViciNode *node)
{
	return node->children ? node->children->len : 0;
}

const ViciNode *
vici_node_get_child(const ViciNode *node, guint index)
{
	g_return_val_if_fail(node->children && index < node->children->len, NULL);
	return node->children->pdata[index];
}

/* ---- building ---- */

struct ViciBuilder {
	WireWriter w;
	guint depth;
	gboolean in_list;
	GError *error; /* the first invalid call */
};

ViciBuilder *
vici_builder_new(void)
{
	ViciBuilder *b = g_new0(ViciBuilder, 1);

	wire_writer_init(&b->w, g_byte_array_new());
	return b;
}

void
vici_builder_free(ViciBuilder *b)
{
	if (!b)
		return;
	if (b->w.buf)
		g_byte_array_unref(b->w.buf);
	g_clear_error(&b->error);
	g_free(b);
}

static gboolean
builder_ok(ViciBuilder *b)
{
	return b->error == NULL && b->w.buf != NULL;
}

static void
builder_fail(ViciBuilder *b, ViciMsgError code, const char *what)
{
	g_set_error(&b->error, VICI_MSG_ERROR, code, "%s", what);
}

/* Named elements may not appear inside a list. */
static gboolean
put_named(ViciBuilder *b, ViciElementType type, const char *name)
{
	if (!builder_ok(b))
		return FALSE;
	if (b->in_list) {
		builder_fail(b, VICI_MSG_ERROR_STRUCTURE, "a list can only hold items");
		return FALSE;
	}
	if (!check_name(name, &b->error))
		return FALSE;
	wire_put_u8(&b->w, type);
	wire_put_u8(&b->w, (guint8)strlen(name));
	wire_put_bytes(&b->w, name, strlen(name));
	return TRUE;
}

static void
put_value(ViciBuilder *b, const void *data, gsize len)
{
	if (len > VICI_MAX_VALUE) {
		g_set_error(&b->error, VICI_MSG_ERROR, VICI_MSG_ERROR_VALUE,
			    "value of %" G_GSIZE_FORMAT " bytes exceeds the %u byte limit", len,
			    VICI_MAX_VALUE);
		return;
	}
	wire_put_u16(&b->w, (guint16)len);
	wire_put_bytes(&b->w, data, len);
}

void
vici_builder_begin_section(ViciBuilder *b, const char *name)
{
	if (builder_ok(b) && b->depth >= VICI_MAX_DEPTH) {
		builder_fail(b, VICI_MSG_ERROR_DEPTH, "sections nested too deep");
		return;
	}
	if (put_named(b, VICI_ELEMENT_SECTION_START, name))
		b->depth++;
}

void
vici_builder_end_section(ViciBuilder *b)
{
	if (!builder_ok(b))
		return;
	if (b->in_list || b->depth == 0) {
		builder_fail(b, VICI_MSG_ERROR_STRUCTURE, "end of a section that is not open");
		return;
	}
	wire_put_u8(&b->w, VICI_ELEMENT_SECTION_END);
	b->depth--;
}

void
vici_builder_begin_list(ViciBuilder *b, const char *name)
{
	if (put_named(b, VICI_ELEMENT_LIST_START, name))
		b->in_list = TRUE;
}

void
vici_builder_list_item_bytes(ViciBuilder *b, const void *data, gsize len)
{
	if (!builder_ok(b))
		return;
	if (!b->in_list) {
		builder_fail(b, VICI_MSG_ERROR_STRUCTURE, "list item outside a list");
		return;
	}
	wire_put_u8(&b->w, VICI_ELEMENT_LIST_ITEM);
	put_value(b, data, len);
}

void
vici_builder_list_item(ViciBuilder *b, const char *text)
{
	vici_builder_list_item_bytes(b, text, strlen(text));
}

void
vici_builder_end_list(ViciBuilder *b)
{
	if (!builder_ok(b))
		return;
	if (!b->in_list) {
		builder_fail(b, VICI_MSG_ERROR_STRUCTURE, "end of a list that is not open");
		return;
	}
	wire_put_u8(&b->w, VICI_ELEMENT_LIST_END);
	b->in_list = FALSE;
}

void
vici_builder_add_kv_bytes(ViciBuilder *b, const char *key, const void *data, gsize len)
{
	if (put_named(b, VICI_ELEMENT_KEY_VALUE, key))
		put_value(b, data, len);
}

void
vici_builder_add_kv(ViciBuilder *b, const char *key, const char *text)
{
	vici_builder_add_kv_bytes(b, key, text, strlen(text));
}

/* The ASCII stand-in for one non-ASCII character. */
static char
ascii_for(gunichar c)
{
	switch (c) {
	case 0x2018: /* ‘ */
	case 0x2019: /* ’ */
		return '\'';
	case 0x201c: /* “ */
	case 0x201d: /* ” */
		return '"';
	default:
		return '?';
	}
}

void
vici_builder_add_text(ViciBuilder *b, const char *key, const char *text)
{
	g_autoptr(GString) out = g_string_sized_new(strlen(text));

	for (const char *p = text; *p && out->len < VICI_MAX_VALUE;) {
		gunichar c = g_utf8_get_char_validated(p, -1);

		if (c == (gunichar)-1 || c == (gunichar)-2) { /* not UTF-8: one byte */
			g_string_append_c(out, '?');
			p++;
			continue;
		}
		g_string_append_c(out, c >= 0x20 && c < 0x7f ? (char)c : ascii_for(c));
		p = g_utf8_next_char(p);
	}
	vici_builder_add_kv_bytes(b, key, out->str, out->len);
}

void
vici_builder_add_kv_printf(ViciBuilder *b, const char *key, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	g_autofree char *text = g_strdup_vprintf(format, ap);
	va_end(ap);
	vici_builder_add_kv(b, key, text);
}

GBytes *
vici_builder_finish(ViciBuilder *b, GError **error)
{
	if (builder_ok(b) && (b->depth || b->in_list))
		builder_fail(b, VICI_MSG_ERROR_STRUCTURE, "message ends inside a section or list");
	if (builder_ok(b) && b->w.buf->len > VICI_MAX_PACKET)
		g_set_error(&b->error, VICI_MSG_ERROR, VICI_MSG_ERROR_SIZE,
			    "message of %u bytes exceeds the %u byte limit", b->w.buf->len,
			    VICI_MAX_PACKET);
	if (b->error) {
		g_clear_pointer(&b->w.buf, g_byte_array_unref); /* spent */
		g_propagate_error(error, g_steal_pointer(&b->error));
		return NULL;
	}
	if (!b->w.buf) {
		g_set_error(error, VICI_MSG_ERROR, VICI_MSG_ERROR_STRUCTURE,
			    "builder already finished");
		return NULL;
	}
	return g_byte_array_free_to_bytes(g_steal_pointer(&b->w.buf));
}
