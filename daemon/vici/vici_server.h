/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VICI server: a UNIX stream socket that strongSwan's swanctl talks to
 * (vici.md §1), its clients, event registrations, and the command table that
 * dispatches requests to handlers (vici_commands.c, adapters over control/).
 *
 * URIs: unix:///absolute/path (the socket file: stale files are replaced, a live
 * socket is not stolen; mode 0660, group "vpnd" if that group exists), and
 * systemd://NAME for a socket systemd passes (LISTEN_FDS, FileDescriptorName=NAME).
 * A unix:// path that systemd passes as a listening socket is taken over too. One
 * server may listen on several URIs (a comma-separated list), e.g. vpnd's own path
 * and strongSwan's default /var/run/charon.vici.
 */
#pragma once

#include <gio/gio.h>

#include "control/control.h"
#include "vici/vici_client.h"
#include "vici/vici_msg.h"

G_BEGIN_DECLS

#define VICI_DEFAULT_URI "unix:///run/vpnd/vici"
#define VICI_SOCKET_GROUP "vpnd"
#define VICI_SOCKET_MODE 0660
#define VICI_MAX_CLIENTS 256 /* more are accepted and closed at once */

#define VICI_SERVER_ERROR (vici_server_error_quark())
GQuark vici_server_error_quark(void);

typedef enum {
	VICI_SERVER_ERROR_URI,    /* a URI vpnd cannot listen on */
	VICI_SERVER_ERROR_SOCKET, /* the socket cannot be created */
} ViciServerError;

typedef struct ViciServer ViciServer;

/*
 * Answers one request: build the response message (transfer full; may be empty).
 * Streamed events go out before it through vici_server_send_event(). NULL means the
 * answer comes later, through vici_server_respond(); until then the client's further
 * requests wait.
 */
typedef GBytes *(*ViciCommandFunc)(ViciServer *server, ViciClient *client, const char *command,
				   const ViciMsg *request, gpointer user_data);

typedef struct {
	const char *name;
	ViciCommandFunc func;
} ViciCommand;

/* Listens on every URI of @uris (comma-separated) and serves @ctl (borrowed: it
 * outlives the server). NULL and @error naming the path and the reason when a socket
 * cannot be set up. */
ViciServer *vici_server_new(Control *ctl, const char *uris, GError **error);
/* Closes every client and the socket, and removes the socket file if it is ours. */
void vici_server_free(ViciServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ViciServer, vici_server_free)

/* The first socket file, or NULL for a socket systemd passed by name. (transfer none) */
const char *vici_server_get_path(ViciServer *server);
guint vici_server_get_n_clients(ViciServer *server);

/* Adds commands, table-wise; @table lives as long as the server. */
void vici_server_add_commands(ViciServer *server, const ViciCommand *table, guint n,
			      gpointer user_data);

/* The connected client with that id; NULL once it is gone. (transfer none) */
ViciClient *vici_server_find_client(ViciServer *server, guint client_id);
/* The answer to a request whose handler returned NULL; nothing if the client is gone. */
void vici_server_respond(ViciServer *server, guint client_id, GBytes *msg);

/* Whether any client is registered for @event (so it is worth building). */
gboolean vici_server_has_listeners(ViciServer *server, const char *event);
/* @func runs after a client registered for an event, unregistered or went away (one
 * watcher; NULL: none). */
typedef void (*ViciListenersFunc)(ViciServer *server, gpointer user_data);
void vici_server_set_listeners_func(ViciServer *server, ViciListenersFunc func,
				    gpointer user_data);
/* A streamed event to one client, if it registered for it (once per registration). */
void vici_server_send_event(ViciServer *server, ViciClient *client, const char *event, GBytes *msg);
/* A broadcast event to every client registered for it. */
void vici_server_broadcast(ViciServer *server, const char *event, GBytes *msg);

/* Splits a URI as vpnd.conf's vici.socket gives it: on success exactly one of *@path
 * (unix://) and *@systemd_name (systemd://) is set. (transfer full) */
gboolean vici_server_parse_uri(const char *uri, char **path, char **systemd_name, GError **error);

G_END_DECLS
