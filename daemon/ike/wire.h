/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Big-endian wire primitives shared by the IKEv2 and IKEv1 codecs.
 *
 * WireReader is a (pointer, bytes left) cursor on the stack. Every read checks what is
 * left before touching memory and returns FALSE when short, leaving the cursor where
 * it was; a length-delimited structure becomes its own sub-cursor (wire_read_sub()),
 * so an inner parser cannot run past its end.
 *
 * WireWriter appends to a GByteArray. A header whose length is not known yet is
 * reserved (wire_reserve()) and patched afterwards; patching a 16-bit length refuses
 * anything above 65535 rather than truncating it.
 */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

typedef struct {
	const guint8 *p;
	gsize left;
} WireReader;

static inline void
wire_reader_init(WireReader *r, const void *data, gsize len)
{
	*r = (WireReader){.p = data, .left = len};
}

static inline gboolean
wire_read_u8(WireReader *r, guint8 *v)
{
	if (r->left < 1)
		return FALSE;
	*v = r->p[0];
	r->p += 1;
	r->left -= 1;
	return TRUE;
}

static inline gboolean
wire_read_u16(WireReader *r, guint16 *v)
{
	if (r->left < 2)
		return FALSE;
	*v = (guint16)((guint)r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->left -= 2;
	return TRUE;
}

static inline gboolean
wire_read_u32(WireReader *r, guint32 *v)
{
	if (r->left < 4)
		return FALSE;
	*v = (guint32)r->p[0] << 24 | (guint32)r->p[1] << 16 | (guint32)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return TRUE;
}

static inline gboolean
wire_read_u64(WireReader *r, guint64 *v)
{
	guint64 x = 0;

	if (r->left < 8)
		return FALSE;
	for (int i = 0; i < 8; i++)
		x = x << 8 | r->p[i];
	*v = x;
	r->p += 8;
	r->left -= 8;
	return TRUE;
}

/* Copies @len bytes to @dst. */
static inline gboolean
wire_read_bytes(WireReader *r, void *dst, gsize len)
{
	if (r->left < len)
		return FALSE;
	if (len)
		memcpy(dst, r->p, len);
	r->p += len;
	r->left -= len;
	return TRUE;
}

/* Borrows @len bytes: *@out points into the reader's buffer. */
static inline gboolean
wire_read_ptr(WireReader *r, gsize len, const guint8 **out)
{
	if (r->left < len)
		return FALSE;
	*out = r->p;
	r->p += len;
	r->left -= len;
	return TRUE;
}

static inline gboolean
wire_skip(WireReader *r, gsize len)
{
	if (r->left < len)
		return FALSE;
	r->p += len;
	r->left -= len;
	return TRUE;
}

/* The next @len bytes become @sub; @r moves past them. */
static inline gboolean
wire_read_sub(WireReader *r, gsize len, WireReader *sub)
{
	if (r->left < len)
		return FALSE;
	*sub = (WireReader){.p = r->p, .left = len};
	r->p += len;
	r->left -= len;
	return TRUE;
}

/* Everything that is left becomes @sub; @r ends empty. */
static inline void
wire_read_rest(WireReader *r, WireReader *sub)
{
	*sub = *r;
	r->p += r->left;
	r->left = 0;
}

typedef struct {
	GByteArray *buf;
} WireWriter;

static inline void
wire_writer_init(WireWriter *w, GByteArray *buf)
{
	w->buf = buf;
}

/* Bytes written so far to the underlying array (an offset for wire_patch_*()). */
static inline gsize
wire_writer_offset(const WireWriter *w)
{
	return w->buf->len;
}

static inline void
wire_put_u8(WireWriter *w, guint8 v)
{
	g_byte_array_append(w->buf, &v, 1);
}

static inline void
wire_put_u16(WireWriter *w, guint16 v)
{
	guint8 b[2] = {v >> 8, v & 0xff};

	g_byte_array_append(w->buf, b, sizeof(b));
}

static inline void
wire_put_u32(WireWriter *w, guint32 v)
{
	guint8 b[4] = {v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff};

	g_byte_array_append(w->buf, b, sizeof(b));
}

static inline void
wire_put_u64(WireWriter *w, guint64 v)
{
	wire_put_u32(w, (guint32)(v >> 32));
	wire_put_u32(w, (guint32)v);
}

static inline void
wire_put_bytes(WireWriter *w, const void *data, gsize len)
{
	if (len)
		g_byte_array_append(w->buf, data, (guint)len);
}

/* Appends @len zero bytes to be filled in later; returns their offset. */
static inline gsize
wire_reserve(WireWriter *w, gsize len)
{
	gsize at = w->buf->len;

	g_byte_array_set_size(w->buf, (guint)(at + len));
	memset(w->buf->data + at, 0, len);
	return at;
}

static inline void
wire_patch_u16(WireWriter *w, gsize at, guint16 v)
{
	g_assert(at + 2 <= w->buf->len);
	w->buf->data[at] = v >> 8;
	w->buf->data[at + 1] = v & 0xff;
}

static inline void
wire_patch_u32(WireWriter *w, gsize at, guint32 v)
{
	g_assert(at + 4 <= w->buf->len);
	w->buf->data[at] = v >> 24;
	w->buf->data[at + 1] = (v >> 16) & 0xff;
	w->buf->data[at + 2] = (v >> 8) & 0xff;
	w->buf->data[at + 3] = v & 0xff;
}

/*
 * Writes at @at the 16-bit length of what was written since @start (a structure's
 * first byte). FALSE, and nothing patched, when that is more than 65535 bytes.
 */
static inline gboolean
wire_patch_len16(WireWriter *w, gsize at, gsize start)
{
	gsize len = w->buf->len - start;

	if (len > G_MAXUINT16)
		return FALSE;
	wire_patch_u16(w, at, (guint16)len);
	return TRUE;
}

G_END_DECLS
