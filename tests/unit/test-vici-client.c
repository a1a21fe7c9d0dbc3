/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One VICI client over a socketpair: what the peer wrote before the client existed is
 * handled by vici_client_read() at once, with no main loop round (the server calls it
 * right after accept()); "nothing yet" leaves the client open and waiting; what comes
 * later is read by the main loop; a hang-up or an oversized frame closes it; answers
 * go out at once, and one to a peer gone closes the client instead of raising SIGPIPE.
 */
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "vici/vici_client.h"

typedef struct {
	int peer;
	ViciClient *client;
	GPtrArray *packets; /* GBytes *, the payloads handled, in order */
	guint closed;
} Fixture;

static void
on_packet(ViciClient *client, const guint8 *data, gsize len, gpointer user_data)
{
	Fixture *f = user_data;

	g_ptr_array_add(f->packets, g_bytes_new(data, len));
}

static void
on_closed(ViciClient *client, gpointer user_data)
{
	Fixture *f = user_data;

	g_assert_true(client == f->client);
	f->closed++;
}

static const ViciClientHandlers handlers = { .packet = on_packet, .closed = on_closed };

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	f->peer = sv[0];
	f->packets = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	f->client = vici_client_new(sv[1], 1, &handlers, f);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	vici_client_free(f->client);
	g_ptr_array_unref(f->packets);
	if (f->peer >= 0)
		close(f->peer);
	while (g_main_context_iteration(NULL, FALSE))
		;
}

/* A frame as a client writes it: length (big endian), then the payload. */
static void
peer_write_frame(Fixture *f, const char *payload)
{
	guint32 len = (guint32)strlen(payload);
	guint8 hdr[4] = { len >> 24, len >> 16, len >> 8, len };

	g_assert_cmpint(write(f->peer, hdr, sizeof(hdr)), ==, sizeof(hdr));
	g_assert_cmpint(write(f->peer, payload, len), ==, (gssize)len);
}

static void
assert_packet(Fixture *f, guint i, const char *payload)
{
	g_assert_cmpuint(f->packets->len, >, i);
	GBytes *b = g_ptr_array_index(f->packets, i);
	gsize len;
	const char *data = g_bytes_get_data(b, &len);

	g_assert_cmpmem(data, len, payload, strlen(payload));
}

static void
test_read_at_once(Fixture *f, gconstpointer data)
{
	peer_write_frame(f, "first");
	peer_write_frame(f, "second");
	vici_client_read(f->client); /* no main loop round */
	g_assert_cmpuint(f->packets->len, ==, 2);
	assert_packet(f, 0, "first");
	assert_packet(f, 1, "second");
	g_assert_cmpuint(f->closed, ==, 0);
}

static void
test_nothing_yet(Fixture *f, gconstpointer data)
{
	vici_client_read(f->client);
	g_assert_cmpuint(f->packets->len, ==, 0);
	g_assert_cmpuint(f->closed, ==, 0);
	g_assert_false(vici_client_is_closed(f->client));

	/* later data: the main loop's source reads it */
	peer_write_frame(f, "late");
	for (guint i = 0; i < 100 && f->packets->len == 0; i++)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(f->packets->len, ==, 1);
	assert_packet(f, 0, "late");
}

static void
test_split_frame(Fixture *f, gconstpointer data)
{
	guint8 hdr[4] = { 0, 0, 0, 5 };

	g_assert_cmpint(write(f->peer, hdr, 3), ==, 3);
	vici_client_read(f->client);
	g_assert_cmpuint(f->packets->len, ==, 0);
	g_assert_cmpint(write(f->peer, hdr + 3, 1), ==, 1);
	g_assert_cmpint(write(f->peer, "whole", 5), ==, 5);
	vici_client_read(f->client);
	g_assert_cmpuint(f->packets->len, ==, 1);
	assert_packet(f, 0, "whole");
}

static void
test_hang_up(Fixture *f, gconstpointer data)
{
	peer_write_frame(f, "last words");
	g_assert_cmpint(shutdown(f->peer, SHUT_WR), ==, 0);
	vici_client_read(f->client); /* the frame */
	vici_client_read(f->client); /* then the end of the stream */
	g_assert_cmpuint(f->packets->len, ==, 1);
	assert_packet(f, 0, "last words");
	g_assert_cmpuint(f->closed, ==, 1);
	g_assert_true(vici_client_is_closed(f->client));
	vici_client_read(f->client); /* a closed client reads no more */
	g_assert_cmpuint(f->closed, ==, 1);
}

static void
test_oversized(Fixture *f, gconstpointer data)
{
	guint32 len = VICI_MAX_PACKET + 1;
	guint8 hdr[4] = { len >> 24, len >> 16, len >> 8, len };

	g_assert_cmpint(write(f->peer, hdr, sizeof(hdr)), ==, sizeof(hdr));
	vici_client_read(f->client);
	g_assert_cmpuint(f->packets->len, ==, 0);
	g_assert_cmpuint(f->closed, ==, 1);
}

/* Answers go out at once, whole; to a peer that hung up, they close the client (EPIPE),
 * they do not kill the daemon (SIGPIPE). */
static void
test_send(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) frame = vici_packet_encode(VICI_PACKET_CMD_UNKNOWN, NULL, NULL, NULL);
	gsize len;
	const guint8 *want = g_bytes_get_data(frame, &len);
	guint8 got[64];

	g_assert_cmpuint(len, <=, sizeof(got));
	vici_client_send_frame(f->client, frame);
	g_assert_cmpint(recv(f->peer, got, sizeof(got), MSG_DONTWAIT), ==, (gssize)len);
	g_assert_cmpmem(got, len, want, len);

	close(f->peer);
	f->peer = -1;
	vici_client_send_frame(f->client, frame);
	for (guint i = 0; i < 10 && !f->closed; i++) {
		vici_client_send_frame(f->client, frame);
		g_main_context_iteration(NULL, FALSE);
	}
	g_assert_cmpuint(f->closed, ==, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/vici/client/read-at-once", test_read_at_once);
	ADD("/vici/client/nothing-yet", test_nothing_yet);
	ADD("/vici/client/split-frame", test_split_frame);
	ADD("/vici/client/hang-up", test_hang_up);
	ADD("/vici/client/oversized", test_oversized);
	ADD("/vici/client/send", test_send);
	return g_test_run();
}
