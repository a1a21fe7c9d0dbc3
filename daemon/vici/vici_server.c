/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vici/vici_commands.h"
#include "vici/vici_server.h"

G_DEFINE_QUARK(vpnd - vici - server - error - quark, vici_server_error)

/* Every event name charon 5.9.8 knows (vici.md §1.7); registering any other fails. */
static const char *const known_events[] = {
	"list-sa", "list-policy", "list-conn", "list-cert",  "list-authority", "control-log",
	"log",     "ike-updown",  "ike-rekey", "ike-update", "child-updown",   "child-rekey",
};

typedef struct {
	ViciCommandFunc func;
	gpointer user_data;
} CommandEntry;

/* One listening socket; a server may have several (vici.socket lists URIs). */
typedef struct {
	GSocket *socket;
	GSource *accept_source;
	char *path;        /* the socket file; NULL when systemd passed the socket by name */
	gboolean own_file; /* we bound it: remove it at exit if it is still ours */
	dev_t dev;
	ino_t ino;
} ViciListener;

struct ViciServer {
	Control *ctl;
	GPtrArray *listeners; /* ViciListener */
	GPtrArray *clients;   /* ViciClient *, connected */
	GPtrArray *dead;      /* ViciClient *, closed, freed from an idle callback */
	GSource *reap_source;
	guint last_client_id;
	GHashTable *commands; /* name -> CommandEntry */
	ViciListenersFunc listeners_func;
	gpointer listeners_data;
	ViciCommands *handlers;
};

gboolean
vici_server_parse_uri(const char *uri, char **path, char **systemd_name, GError **error)
{
	struct sockaddr_un sa;

	*path = NULL;
	*systemd_name = NULL;
	if (g_str_has_prefix(uri, "systemd://") && uri[10]) {
		*systemd_name = g_strdup(uri + 10);
		return TRUE;
	}
	if (!g_str_has_prefix(uri, "unix://")) {
		g_set_error(
			error, VICI_SERVER_ERROR, VICI_SERVER_ERROR_URI,
			"VICI socket \"%s\": vpnd listens on unix:///PATH or systemd://NAME only",
			uri);
		return FALSE;
	}
	if (uri[7] != '/' || strlen(uri + 7) >= sizeof(sa.sun_path)) {
		g_set_error(
			error, VICI_SERVER_ERROR, VICI_SERVER_ERROR_URI,
			"VICI socket \"%s\": the path must be absolute and shorter than %zu bytes",
			uri, sizeof(sa.sun_path));
		return FALSE;
	}
	*path = g_strdup(uri + 7);
	return TRUE;
}

static gboolean
set_error_errno(GError **error, int err, const char *path, const char *what)
{
	g_set_error(error, VICI_SERVER_ERROR, VICI_SERVER_ERROR_SOCKET, "VICI socket %s: %s: %s",
		    path, what, g_strerror(err));
	return FALSE;
}

/* TRUE if something accepts connections at @path. */
static gboolean
socket_is_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	gboolean alive = fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;

	if (fd >= 0)
		close(fd);
	return alive;
}

/* A stale socket file (a crashed daemon's) is replaced; a live one or another file is not. */
static gboolean
clear_path(const struct sockaddr_un *sa, GError **error)
{
	struct stat st;

	if (lstat(sa->sun_path, &st) != 0)
		return errno == ENOENT ? TRUE : set_error_errno(error, errno, sa->sun_path, "stat");
	if (!S_ISSOCK(st.st_mode)) {
		g_set_error(error, VICI_SERVER_ERROR, VICI_SERVER_ERROR_SOCKET,
			    "VICI socket %s: the path exists and is not a socket", sa->sun_path);
		return FALSE;
	}
	if (socket_is_alive(sa)) {
		g_set_error(error, VICI_SERVER_ERROR, VICI_SERVER_ERROR_SOCKET,
			    "VICI socket %s: another process is listening there", sa->sun_path);
		return FALSE;
	}
	if (unlink(sa->sun_path) != 0)
		return set_error_errno(error, errno, sa->sun_path,
				       "cannot remove the stale socket");
	return TRUE;
}

/* Mode 0660, group vpnd when it exists: members of that group may use swanctl. */
static gboolean
set_permissions(const char *path, GError **error)
{
	struct group *gr = getgrnam(VICI_SOCKET_GROUP);

	if (gr && chown(path, (uid_t)-1, gr->gr_gid) != 0)
		return set_error_errno(error, errno, path, "cannot set group " VICI_SOCKET_GROUP);
	if (chmod(path, VICI_SOCKET_MODE) != 0)
		return set_error_errno(error, errno, path, "chmod");
	return TRUE;
}

static int
bind_unix(ViciListener *l, const char *path, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_autofree char *dir = g_path_get_dirname(path);
	struct stat st;
	int fd;

	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if (g_mkdir_with_parents(dir, 0755) != 0)
		return set_error_errno(error, errno, path, "cannot create its folder"), -1;
	if (!clear_path(&sa, error))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return set_error_errno(error, errno, path, "socket"), -1;
	/* no window in which the socket is more open than 0600; chmod widens it to 0660 */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int bind_errno = errno;
	umask(old);
	if (r != 0) {
		close(fd);
		return set_error_errno(error, bind_errno, path, "bind"), -1;
	}
	l->own_file = stat(path, &st) == 0;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	if (!set_permissions(path, error)) {
		close(fd);
		g_unlink(path);
		return -1;
	}
	if (listen(fd, SOMAXCONN) != 0) {
		set_error_errno(error, errno, path, "listen");
		close(fd);
		g_unlink(path);
		return -1;
	}
	return fd;
}

/* A listening socket systemd passed: by name, or bound to @path. -1 if none. */
static int
systemd_fd(const char *path, const char *name)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(0, &names);
	int found = -1;

	for (int i = 0; i < n && found < 0; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		if (name ? names && g_strcmp0(names[i], name) == 0 &&
				    sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1) > 0
			 : sd_is_socket_unix(fd, SOCK_STREAM, 1, path, 0) > 0)
			found = fd;
	}
	g_strfreev(names);
	return found;
}

static void
reap_dead(ViciServer *s)
{
	g_ptr_array_set_size(s->dead, 0);
	if (s->reap_source) {
		g_source_destroy(s->reap_source);
		g_clear_pointer(&s->reap_source, g_source_unref);
	}
}

static gboolean
on_reap(gpointer user_data)
{
	reap_dead(user_data);
	return G_SOURCE_REMOVE;
}

static void
on_client_closed(ViciClient *client, gpointer user_data)
{
	ViciServer *s = user_data;

	vpnd_debug("client %u disconnected", vici_client_get_id(client));
	/* the client may be in the middle of its own callback: free it later */
	g_ptr_array_remove_fast(s->clients, client);
	g_ptr_array_add(s->dead, client);
	if (s->listeners_func)
		s->listeners_func(s, s->listeners_data);
	if (!s->reap_source) {
		s->reap_source = g_idle_source_new();
		g_source_set_callback(s->reap_source, on_reap, s, NULL);
		g_source_attach(s->reap_source, g_main_context_get_thread_default());
	}
}

static void
send_packet(ViciClient *client, ViciPacketType type, const char *name, GBytes *msg)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) frame = vici_packet_encode(type, name, msg, &error);

	if (!frame) {
		/* a bug of ours (an oversized response): the client must still get an answer */
		g_warning("client %u: %s", vici_client_get_id(client), error->message);
		if (type != VICI_PACKET_CMD_RESPONSE)
			return;
		g_autoptr(ViciBuilder) b = vici_builder_new();
		vici_builder_add_kv(b, "success", "no");
		vici_builder_add_kv(b, "errmsg", "response too large for VICI");
		g_autoptr(GBytes) small = vici_builder_finish(b, NULL);
		frame = vici_packet_encode(type, NULL, small, NULL);
	}
	vici_client_send_frame(client, frame);
}

static void
handle_request(ViciServer *s, ViciClient *client, const ViciPacket *pkt)
{
	const CommandEntry *cmd = g_hash_table_lookup(s->commands, pkt->name);
	g_autoptr(ViciMsg) request = NULL;

	if (!cmd) {
		vpnd_debug("client %u: unknown command \"%s\"", vici_client_get_id(client), pkt->name);
		vici_client_send_simple(client, VICI_PACKET_CMD_UNKNOWN);
		return;
	}
	/* charon's handlers then find no keys and use their defaults (vici.md §1.9) */
	ViciParse res =
		vici_msg_decode(pkt->body, pkt->body_len, VICI_DECODE_ALLOW_UNCLOSED, &request);
	if (res != VICI_PARSE_OK) {
		vpnd_debug("client %u: %s request: %s", vici_client_get_id(client), pkt->name,
			vici_parse_to_string(res));
		/* nothing is loaded from a request that cannot be read: charon's errmsg */
		if (g_str_has_prefix(pkt->name, "load-")) {
			g_autofree char *errmsg = g_strdup_printf("parsing request failed: %s",
								  vici_parse_to_string(res));
			g_autoptr(GBytes) refusal = vici_commands_reply_result(FALSE, errmsg);
			send_packet(client, VICI_PACKET_CMD_RESPONSE, NULL, refusal);
			return;
		}
		request = vici_msg_new();
	}
	vpnd_debug("client %u: %s", vici_client_get_id(client), pkt->name);
	/* held until answered, now or (NULL) by vici_server_respond(), maybe from inside */
	vici_client_hold(client);
	g_autoptr(GBytes) response = cmd->func(s, client, pkt->name, request, cmd->user_data);
	if (response) {
		send_packet(client, VICI_PACKET_CMD_RESPONSE, NULL, response);
		vici_client_release(client);
	}
}

ViciClient *
vici_server_find_client(ViciServer *s, guint client_id)
{
	for (guint i = 0; i < s->clients->len; i++) {
		if (vici_client_get_id(s->clients->pdata[i]) == client_id)
			return s->clients->pdata[i];
	}
	return NULL;
}

void
vici_server_respond(ViciServer *s, guint client_id, GBytes *msg)
{
	ViciClient *client = vici_server_find_client(s, client_id);

	if (!client)
		return;
	send_packet(client, VICI_PACKET_CMD_RESPONSE, NULL, msg);
	vici_client_release(client);
}

static gboolean
is_known_event(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(known_events); i++) {
		if (g_str_equal(known_events[i], name))
			return TRUE;
	}
	return FALSE;
}

static void
handle_registration(ViciServer *s, ViciClient *client, const ViciPacket *pkt)
{
	gboolean ok;

	if (pkt->type == VICI_PACKET_EVENT_REGISTER) {
		ok = is_known_event(pkt->name);
		if (ok)
			vici_client_register(client, pkt->name);
	} else {
		ok = vici_client_unregister(client, pkt->name);
	}
	vpnd_debug("client %u: %s %s: %s", vici_client_get_id(client),
		vici_packet_type_to_string(pkt->type), pkt->name, ok ? "confirmed" : "unknown");
	vici_client_send_simple(client, ok ? VICI_PACKET_EVENT_CONFIRM : VICI_PACKET_EVENT_UNKNOWN);
	if (ok && s->listeners_func)
		s->listeners_func(s, s->listeners_data);
}

static void
on_packet(ViciClient *client, const guint8 *data, gsize len, gpointer user_data)
{
	ViciServer *s = user_data;
	ViciPacket pkt;
	ViciParse res = vici_packet_decode(data, len, &pkt);

	if (res != VICI_PARSE_OK) {
		/* charon drops these without an answer (vici.md §1.5, §1.9) */
		vpnd_debug("client %u: packet dropped: %s", vici_client_get_id(client),
			vici_parse_to_string(res));
		return;
	}
	switch (pkt.type) {
	case VICI_PACKET_CMD_REQUEST:
		handle_request(s, client, &pkt);
		break;
	case VICI_PACKET_EVENT_REGISTER:
	case VICI_PACKET_EVENT_UNREGISTER:
		handle_registration(s, client, &pkt);
		break;
	case VICI_PACKET_CMD_RESPONSE:
	case VICI_PACKET_CMD_UNKNOWN:
	case VICI_PACKET_EVENT_CONFIRM:
	case VICI_PACKET_EVENT_UNKNOWN:
	case VICI_PACKET_EVENT:
		vpnd_debug("client %u: ignoring a %s packet", vici_client_get_id(client),
			vici_packet_type_to_string(pkt.type));
		break;
	}
}

static const ViciClientHandlers client_handlers = {
	.packet = on_packet,
	.closed = on_client_closed,
};

/* One client per call: more waiting keep the listener readable for the next round.
 * accept4() itself: one syscall, where a GSocket for the client took nine. */
static gboolean
on_accept(GSocket *listener, GIOCondition cond, gpointer user_data)
{
	ViciServer *s = user_data;
	int fd = accept4(g_socket_get_fd(listener), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ViciClient *client;

	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			vpnd_info("accepting a VICI client failed: %s", g_strerror(errno));
		return G_SOURCE_CONTINUE;
	}
	if (s->clients->len >= VICI_MAX_CLIENTS) {
		vpnd_info("refusing a VICI client: %u are connected already", s->clients->len);
		close(fd);
		return G_SOURCE_CONTINUE;
	}
	client = vici_client_new(fd, ++s->last_client_id, &client_handlers, s);
	vpnd_debug("client %u connected", vici_client_get_id(client));
	g_ptr_array_add(s->clients, client);
	/* clients write their request right after connecting: it is often here already */
	vici_client_read(client);
	return G_SOURCE_CONTINUE;
}

/* Removes the socket file unless another daemon has put its own there since. */
static void
listener_free(ViciListener *l)
{
	struct stat st;

	if (l->accept_source) {
		g_source_destroy(l->accept_source);
		g_source_unref(l->accept_source);
	}
	if (l->socket) {
		g_socket_close(l->socket, NULL);
		g_object_unref(l->socket);
	}
	if (l->own_file && l->path && stat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		g_unlink(l->path);
	g_free(l->path);
	g_free(l);
}

static gboolean
open_listener(ViciServer *s, const char *uri, GError **error)
{
	g_autofree char *path = NULL, *name = NULL;
	g_autoptr(GError) local = NULL;
	ViciListener *l;
	int fd;

	if (!vici_server_parse_uri(uri, &path, &name, error))
		return FALSE;
	l = g_new0(ViciListener, 1);
	l->path = g_strdup(path);
	g_ptr_array_add(s->listeners, l); /* freed with the server, also on error */
	fd = systemd_fd(path, name);
	if (fd < 0 && name) {
		g_set_error(error, VICI_SERVER_ERROR, VICI_SERVER_ERROR_SOCKET,
			    "VICI socket %s: systemd passed no listening socket of that name", uri);
		return FALSE;
	}
	if (fd < 0)
		fd = bind_unix(l, path, error);
	if (fd < 0)
		return FALSE;
	l->socket = g_socket_new_from_fd(fd, &local);
	if (!l->socket) {
		close(fd);
		g_set_error(error, VICI_SERVER_ERROR, VICI_SERVER_ERROR_SOCKET,
			    "VICI socket %s: %s", uri, local->message);
		return FALSE;
	}
	g_socket_set_blocking(l->socket, FALSE);
	l->accept_source = g_socket_create_source(l->socket, G_IO_IN, NULL);
	g_source_set_callback(l->accept_source, G_SOURCE_FUNC(on_accept), s, NULL);
	g_source_set_can_recurse(l->accept_source, TRUE); /* see vpnd_unix_fd_add() */
	g_source_attach(l->accept_source, g_main_context_get_thread_default());
	vpnd_info("VICI listening on %s", uri);
	return TRUE;
}

ViciServer *
vici_server_new(Control *ctl, const char *uris, GError **error)
{
	g_autoptr(ViciServer) s = g_new0(ViciServer, 1);
	g_auto(GStrv) list = g_strsplit_set(uris, ", \t", -1);

	s->ctl = ctl;
	s->listeners = g_ptr_array_new_with_free_func((GDestroyNotify)listener_free);
	s->clients = g_ptr_array_new(); /* owned: a closed client moves to dead */
	s->dead = g_ptr_array_new_with_free_func((GDestroyNotify)vici_client_free);
	s->commands = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	for (guint i = 0; list[i]; i++) {
		if (*list[i] && !open_listener(s, list[i], error))
			return NULL;
	}
	if (s->listeners->len == 0) {
		g_set_error(error, VICI_SERVER_ERROR, VICI_SERVER_ERROR_URI,
			    "VICI socket: no URI given");
		return NULL;
	}
	s->handlers = vici_commands_new(s, ctl);
	return g_steal_pointer(&s);
}

void
vici_server_free(ViciServer *s)
{
	if (!s)
		return;
	g_clear_pointer(&s->handlers, vici_commands_free);
	/* closing moves each client to the dead list */
	while (s->clients && s->clients->len)
		vici_client_close(s->clients->pdata[0], "server shutting down");
	reap_dead(s);
	g_clear_pointer(&s->clients, g_ptr_array_unref);
	g_clear_pointer(&s->dead, g_ptr_array_unref);
	g_clear_pointer(&s->listeners, g_ptr_array_unref);
	g_clear_pointer(&s->commands, g_hash_table_unref);
	g_free(s);
}

const char *
vici_server_get_path(ViciServer *s)
{
	return ((ViciListener *)s->listeners->pdata[0])->path;
}

guint
vici_server_get_n_clients(ViciServer *s)
{
	return s->clients->len;
}

void
vici_server_add_commands(ViciServer *s, const ViciCommand *table, guint n, gpointer user_data)
{
	for (guint i = 0; i < n; i++) {
		CommandEntry *e = g_new(CommandEntry, 1);
		e->func = table[i].func;
		e->user_data = user_data;
		g_hash_table_replace(s->commands, (gpointer)table[i].name, e);
	}
}

void
vici_server_set_listeners_func(ViciServer *s, ViciListenersFunc func, gpointer user_data)
{
	s->listeners_func = func;
	s->listeners_data = user_data;
}

gboolean
vici_server_has_listeners(ViciServer *s, const char *event)
{
	for (guint i = 0; i < s->clients->len; i++) {
		if (vici_client_get_registrations(s->clients->pdata[i], event))
			return TRUE;
	}
	return FALSE;
}

static void
send_event_frame(ViciClient *client, const char *event, GBytes *frame)
{
	guint n = vici_client_get_registrations(client, event);

	for (guint i = 0; i < n && !vici_client_is_closed(client); i++)
		vici_client_send_frame(client, frame);
}

static GBytes *
event_frame(const char *event, GBytes *msg)
{
	g_autoptr(GError) error = NULL;
	GBytes *frame = vici_packet_encode(VICI_PACKET_EVENT, event, msg, &error);

	if (!frame)
		g_warning("event %s dropped: %s", event, error->message);
	return frame;
}

void
vici_server_send_event(ViciServer *s, ViciClient *client, const char *event, GBytes *msg)
{
	if (!vici_client_get_registrations(client, event))
		return;
	g_autoptr(GBytes) frame = event_frame(event, msg);
	if (frame)
		send_event_frame(client, event, frame);
}

void
vici_server_broadcast(ViciServer *s, const char *event, GBytes *msg)
{
	if (!vici_server_has_listeners(s, event))
		return;
	g_autoptr(GBytes) frame = event_frame(event, msg);
	if (!frame)
		return;
	/* a client that has let too much pile up is closed, and leaves the array */
	g_autoptr(GPtrArray) snapshot = g_ptr_array_copy(s->clients, NULL, NULL);
	for (guint i = 0; i < snapshot->len; i++)
		send_event_frame(snapshot->pdata[i], event, frame);
}
