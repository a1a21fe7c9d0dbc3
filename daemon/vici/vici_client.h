/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One connected VICI client: non-blocking reads on the main loop, reassembly of frames
 * (vici.md §1.3), an output queue written as fast as the client reads, and the client's
 * event registrations (§1.7, counted). A client that sends an oversized frame is closed
 * at once, as charon does. A client that stops reading first stops being read from
 * (its further requests wait), and is dropped if it lets more than
 * VICI_CLIENT_MAX_OUTPUT bytes pile up (broadcast events keep coming).
 */
#pragma once

#include <glib.h>

#include "vici/vici_msg.h"

G_BEGIN_DECLS

#define VICI_CLIENT_READ_CHUNK 16384
/* Stop reading requests while this much output waits; resume below half of it. */
#define VICI_CLIENT_OUTPUT_HIGH (2 * (VICI_MAX_PACKET + VICI_FRAME_HEADER))
#define VICI_CLIENT_MAX_OUTPUT (16u << 20)

typedef struct ViciClient ViciClient;

typedef struct {
	/* One complete, non-empty packet (the frame payload). */
	void (*packet)(ViciClient *client, const guint8 *data, gsize len, gpointer user_data);
	/* The client is gone; free it with vici_client_free() outside its own callbacks. */
	void (*closed)(ViciClient *client, gpointer user_data);
} ViciClientHandlers;

/* Takes @fd (a connected stream socket, any blocking mode; closed with the client) and
 * starts reading on the thread-default main context. */
ViciClient *vici_client_new(int fd, guint id, const ViciClientHandlers *handlers,
			    gpointer user_data);
void vici_client_free(ViciClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ViciClient, vici_client_free)

/* Reads and handles what @client has sent already, if anything, without waiting for a
 * main loop round (the source does the same when the socket becomes readable). */
void vici_client_read(ViciClient *client);

guint vici_client_get_id(ViciClient *client);
gboolean vici_client_is_closed(ViciClient *client);

/* Queues a complete frame (from vici_packet_encode()); a no-op once closed. */
void vici_client_send_frame(ViciClient *client, GBytes *frame);
/* While held (a request is answered later), no further request is handled; release
 * handles what waited. */
void vici_client_hold(ViciClient *client);
void vici_client_release(ViciClient *client);

/* Builds and queues an unnamed packet without a message (CONFIRM, UNKNOWN). */
void vici_client_send_simple(ViciClient *client, ViciPacketType type);

/* Stops all I/O and reports `closed` (once). @reason goes to the debug log. */
void vici_client_close(ViciClient *client, const char *reason);

/* Event registrations: counted, as charon counts them. */
void vici_client_register(ViciClient *client, const char *event);
/* FALSE if @client was not registered for @event. */
gboolean vici_client_unregister(ViciClient *client, const char *event);
/* How many times @client registered @event (0: not registered). */
guint vici_client_get_registrations(ViciClient *client, const char *event);

G_END_DECLS
