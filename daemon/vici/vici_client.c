/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include <vpnd/log.h>
#include "vici/vici_client.h"

struct ViciClient {
	guint id;
	int fd; /* owned: closed with the client */
	ViciClientHandlers handlers;
	gpointer user_data;
	GSource *in_source;  /* NULL while paused or closed */
	GSource *out_source; /* only while output waits */
	GByteArray *in;      /* bytes of frames not complete yet */
	GByteArray *out;     /* frames not written yet, from out_off on */
	gsize out_off;
	gboolean paused;      /* too much output waits: requests wait too */
	gboolean held;        /* a request is being answered: the next ones wait */
	gboolean dispatching; /* in the packet handler: process_frames() must not recurse */
	gboolean closed;
	GHashTable *events; /* name -> registration count */
};

static gboolean on_readable(gint fd, GIOCondition cond, gpointer user_data);
static gboolean on_writable(gint fd, GIOCondition cond, gpointer user_data);

static gsize
output_pending(const ViciClient *c)
{
	return c->out->len - c->out_off;
}

static void
clear_source(GSource **source)
{
	if (*source) {
		g_source_destroy(*source);
		g_clear_pointer(source, g_source_unref);
	}
}

static void
watch_input(ViciClient *c)
{
	if (c->in_source || c->closed)
		return;
	c->in_source = g_unix_fd_source_new(c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(c->in_source, G_SOURCE_FUNC(on_readable), c, NULL);
	g_source_set_can_recurse(c->in_source, TRUE); /* see vpnd_unix_fd_add() */
	g_source_attach(c->in_source, g_main_context_get_thread_default());
}

static void
watch_output(ViciClient *c)
{
	if (c->out_source || c->closed)
		return;
	c->out_source = g_unix_fd_source_new(c->fd, G_IO_OUT | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(c->out_source, G_SOURCE_FUNC(on_writable), c, NULL);
	g_source_set_can_recurse(c->out_source, TRUE); /* see vpnd_unix_fd_add() */
	g_source_attach(c->out_source, g_main_context_get_thread_default());
}

ViciClient *
vici_client_new(int fd, guint id, const ViciClientHandlers *handlers, gpointer user_data)
{
	ViciClient *c = g_new0(ViciClient, 1);

	c->id = id;
	c->fd = fd;
	c->handlers = *handlers;
	c->user_data = user_data;
	c->in = g_byte_array_new();
	c->out = g_byte_array_new();
	c->events = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	/* the fd's blocking mode does not matter: every recv() and send() is MSG_DONTWAIT */
	watch_input(c);
	return c;
}

void
vici_client_free(ViciClient *c)
{
	if (!c)
		return;
	clear_source(&c->in_source);
	clear_source(&c->out_source);
	if (!c->closed)
		close(c->fd);
	if (c->in->len) /* data is NULL while empty, and explicit_bzero wants a pointer */
		explicit_bzero(c->in->data, c->in->len);
	g_byte_array_unref(c->in);
	g_byte_array_unref(c->out);
	g_hash_table_unref(c->events);
	g_free(c);
}

guint
vici_client_get_id(ViciClient *c)
{
	return c->id;
}

gboolean
vici_client_is_closed(ViciClient *c)
{
	return c->closed;
}

void
vici_client_close(ViciClient *c, const char *reason)
{
	if (c->closed)
		return;
	vpnd_debug("client %u: closing: %s", c->id, reason);
	c->closed = TRUE;
	clear_source(&c->in_source);
	clear_source(&c->out_source);
	close(c->fd);
	c->handlers.closed(c, c->user_data);
}

static guint32
read_be32(const guint8 *p)
{
	return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

/* Hands every complete frame to the packet handler, in order, until output backs up. */
static void
process_frames(ViciClient *c)
{
	gsize off = 0;

	while (!c->closed && !c->held && output_pending(c) < VICI_CLIENT_OUTPUT_HIGH &&
	       c->in->len - off >= VICI_FRAME_HEADER) {
		guint32 len = read_be32(c->in->data + off);

		if (len > VICI_MAX_PACKET) {
			/* charon drops such a client without reading the body (vici.md §1.9) */
			g_autofree char *why =
				g_strdup_printf("frame of %u bytes exceeds the %u byte limit", len,
						VICI_MAX_PACKET);
			vici_client_close(c, why);
			return;
		}
		if (c->in->len - off - VICI_FRAME_HEADER < len)
			break;
		off += VICI_FRAME_HEADER;
		if (len > 0) { /* an empty frame is ignored, as charon does */
			c->dispatching = TRUE;
			c->handlers.packet(c, c->in->data + off, len, c->user_data);
			c->dispatching = FALSE;
		}
		off += len;
	}
	/* the frames handled may have carried keys: wipe them before the buffer moves */
	explicit_bzero(c->in->data, off);
	if (!c->closed)
		g_byte_array_remove_range(c->in, 0, (guint)off);
	c->paused = !c->closed && output_pending(c) >= VICI_CLIENT_OUTPUT_HIGH;
	if (c->paused)
		clear_source(&c->in_source);
}

void
vici_client_read(ViciClient *c)
{
	guint8 buf[VICI_CLIENT_READ_CHUNK];
	gssize n;

	if (!c->in_source)
		return; /* closed, or input waits for the client to read or be answered */
	/* recv() itself, not g_socket_receive(): "nothing yet" is no error to build (its
	 * message costs a locale conversion, and the first one loads iconv) */
	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		vici_client_close(c, n == 0 ? "disconnected" : g_strerror(errno));
		return;
	}
	g_byte_array_append(c->in, buf, (guint)n);
	explicit_bzero(buf, (gsize)n);
	process_frames(c);
	/* a held client may hang up, so it is read; but what it piles up is bounded */
	if (c->held && c->in->len >= VICI_CLIENT_OUTPUT_HIGH)
		clear_source(&c->in_source);
}

static gboolean
on_readable(gint fd, GIOCondition cond, gpointer user_data)
{
	vici_client_read(user_data);
	return G_SOURCE_CONTINUE; /* a close destroyed this source already */
}

/* One send() of what waits; MSG_NOSIGNAL: a client gone is an error, not SIGPIPE. */
static gssize
send_pending(ViciClient *c)
{
	gssize n;

	do
		n = send(c->fd, c->out->data + c->out_off, output_pending(c),
			 MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Writes what the socket takes; TRUE when nothing is left. */
static gboolean
flush_output(ViciClient *c)
{
	while (!c->closed && output_pending(c) > 0) {
		gssize n = send_pending(c);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return FALSE;
		if (n <= 0) {
			vici_client_close(c, n < 0 ? g_strerror(errno) : "write failed");
			return FALSE;
		}
		c->out_off += (gsize)n;
	}
	g_byte_array_set_size(c->out, 0);
	c->out_off = 0;
	return !c->closed;
}

static gboolean
on_writable(gint fd, GIOCondition cond, gpointer user_data)
{
	ViciClient *c = user_data;

	if (!flush_output(c))
		return G_SOURCE_CONTINUE; /* still waiting, or closed (source destroyed) */
	clear_source(&c->out_source);
	if (c->paused) {
		/* requests that waited for the client to read come first */
		process_frames(c);
		if (!c->paused)
			watch_input(c);
	}
	return G_SOURCE_CONTINUE;
}

/* Sends what the socket takes at once, not one main loop iteration later; the rest, and
 * any error, are left to the writable watch (which closes the client when it must). */
static void
send_now(ViciClient *c)
{
	gssize n = send_pending(c);

	if (n > 0)
		c->out_off += (gsize)n;
	if (output_pending(c) == 0) {
		g_byte_array_set_size(c->out, 0);
		c->out_off = 0;
	}
}

void
vici_client_send_frame(ViciClient *c, GBytes *frame)
{
	gsize len;
	const guint8 *data = g_bytes_get_data(frame, &len);

	if (c->closed)
		return;
	if (output_pending(c) + len > VICI_CLIENT_MAX_OUTPUT) {
		vici_client_close(c, "does not read what it is sent");
		return;
	}
	/* reclaim the written part before growing */
	if (c->out_off > 0 && c->out_off >= c->out->len / 2) {
		g_byte_array_remove_range(c->out, 0, (guint)c->out_off);
		c->out_off = 0;
	}
	g_byte_array_append(c->out, data, (guint)len);
	if (!c->out_source)
		send_now(c);
	if (output_pending(c) > 0)
		watch_output(c);
}

void
vici_client_hold(ViciClient *c)
{
	c->held = TRUE;
}

void
vici_client_release(ViciClient *c)
{
	if (!c->held)
		return;
	c->held = FALSE;
	if (c->dispatching || c->closed)
		return; /* the loop that called the handler goes on by itself */
	process_frames(c);
	if (!c->paused)
		watch_input(c);
}

void
vici_client_send_simple(ViciClient *c, ViciPacketType type)
{
	g_autoptr(GBytes) frame = vici_packet_encode(type, NULL, NULL, NULL);

	vici_client_send_frame(c, frame);
}

void
vici_client_register(ViciClient *c, const char *event)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(c->events, event));

	g_hash_table_insert(c->events, g_strdup(event), GUINT_TO_POINTER(n + 1));
}

gboolean
vici_client_unregister(ViciClient *c, const char *event)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(c->events, event));

	if (n == 0)
		return FALSE;
	if (n == 1)
		g_hash_table_remove(c->events, event);
	else
		g_hash_table_insert(c->events, g_strdup(event), GUINT_TO_POINTER(n - 1));
	return TRUE;
}

guint
vici_client_get_registrations(ViciClient *c, const char *event)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(c->events, event));
}
