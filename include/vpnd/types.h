/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Types shared by the daemon and its plugins. */
#pragma once

#include <glib.h>
#include <glib-unix.h>
#include <string.h>

G_BEGIN_DECLS

#define VPND_EXPORT __attribute__((visibility("default")))

/*
 * g_unix_fd_add() for a source whose callback never runs a nested main loop. GLib takes
 * a source's fds out of the poll set while it dispatches and puts them back after;
 * each change wakes the loop (an eventfd write, then one more poll round): four
 * syscalls per datagram or packet. A source allowed to recurse stays in the set.
 */
static inline guint
vpnd_unix_fd_add(int fd, GIOCondition condition, GUnixFDSourceFunc func, gpointer data)
{
	GSource *source = g_unix_fd_source_new(fd, condition);
	guint id;

	g_source_set_callback(source, G_SOURCE_FUNC(func), data, NULL);
	g_source_set_can_recurse(source, TRUE);
	id = g_source_attach(source, NULL);
	g_source_unref(source);
	return id;
}

/*
 * Key material. The bytes follow the header in one allocation; vpnd_secret_free()
 * wipes them before the memory goes back, so an early return never leaks a key.
 */
typedef struct {
	gsize len;
	guint8 data[];
} VpndSecret;

static inline VpndSecret *
vpnd_secret_new(gsize len)
{
	VpndSecret *s = g_malloc0(sizeof(*s) + len);

	s->len = len;
	return s;
}

static inline VpndSecret *
vpnd_secret_new_from_data(const void *data, gsize len)
{
	VpndSecret *s = vpnd_secret_new(len);

	if (len)
		memcpy(s->data, data, len);
	return s;
}

static inline void
vpnd_secret_free(VpndSecret *s)
{
	if (!s)
		return;
	explicit_bzero(s->data, s->len);
	g_free(s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndSecret, vpnd_secret_free)

/* Compares two buffers in time that depends on len only, never on their contents. */
static inline gboolean
vpnd_memeq_const(const void *a, const void *b, gsize len)
{
	const volatile guint8 *x = a, *y = b;
	guint8 diff = 0;

	for (gsize i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

G_END_DECLS
