/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vpnd-config.h"
#include "core/log.h"
#include "dbus/dbus_auth.h"
#include "dbus/dbus_errors.h"
#include "dbus/dbus_service.h"
#include "dbus/vpnd-dbus-generated.h"

struct DbusService {
	Control *ctl;
	GCancellable *cancellable; /* connecting, and permission checks in flight */
	gboolean connecting;
	guint n_checks;       /* permission checks in flight */
	GDBusConnection *bus; /* NULL until connected */
	gulong closed_id;
	guint own_id;
	VpndManager *manager;
	GHashTable *conns; /* name -> VpndConnection, exported while on the bus */
	guint conn_watch;
	GHashTable *log_subs; /* unique bus name -> name watch id */
	guint log_watch;      /* on the control API, while anyone subscribes */
};

char *
dbus_service_conn_path(const char *name)
{
	g_autofree char *escaped = g_dbus_escape_object_path(name);

	return g_strconcat(DBUS_SERVICE_CONN_PATH "/", escaped, NULL);
}

static GError *
permission_denied(const char *method)
{
	return g_error_new(DBUS_ERRORS, DBUS_ERRORS_PERMISSION_DENIED,
			   "%s needs root or membership of group \"%s\"", method, DBUS_AUTH_GROUP);
}

/* ---- connections ---- */

static const char *
last_error_name(const ControlConn *conn)
{
	if (!conn->last_error || !*conn->last_error)
		return "";
	return dbus_errors_name(dbus_errors_code_from_control(conn->last_error_code));
}

/* Setters only announce what changed; the flush sends it now, so a client sees every
 * state in order even when two changes come within one main loop iteration. */
static void
conn_update(VpndConnection *obj, const ControlConn *conn)
{
	vpnd_connection_set_name(obj, conn->name);
	vpnd_connection_set_state(obj, control_conn_state_to_string(conn->state));
	vpnd_connection_set_local_address(obj, conn->local_address);
	vpnd_connection_set_remote_address(obj, conn->remote_address);
	vpnd_connection_set_virtual_ips(obj, (const char *const *)conn->virtual_ips);
	vpnd_connection_set_bytes_in(obj, conn->bytes_in);
	vpnd_connection_set_bytes_out(obj, conn->bytes_out);
	vpnd_connection_set_packets_in(obj, conn->packets_in);
	vpnd_connection_set_packets_out(obj, conn->packets_out);
	vpnd_connection_set_established_at(obj, conn->established_at);
	vpnd_connection_set_last_error(obj, conn->last_error);
	vpnd_connection_set_last_error_name(obj, last_error_name(conn));
	g_dbus_interface_skeleton_flush(G_DBUS_INTERFACE_SKELETON(obj));
}

/* The Connection properties by name, as GetStatus returns them. */
static GVariant *
conn_to_vardict(const ControlConn *conn)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "Name", g_variant_new_string(conn->name));
	g_variant_builder_add(&b, "{sv}", "State",
			      g_variant_new_string(control_conn_state_to_string(conn->state)));
	g_variant_builder_add(&b, "{sv}", "LocalAddress",
			      g_variant_new_string(conn->local_address));
	g_variant_builder_add(&b, "{sv}", "RemoteAddress",
			      g_variant_new_string(conn->remote_address));
	g_variant_builder_add(&b, "{sv}", "VirtualIPs",
			      g_variant_new_strv((const char *const *)conn->virtual_ips, -1));
	g_variant_builder_add(&b, "{sv}", "BytesIn", g_variant_new_uint64(conn->bytes_in));
	g_variant_builder_add(&b, "{sv}", "BytesOut", g_variant_new_uint64(conn->bytes_out));
	g_variant_builder_add(&b, "{sv}", "PacketsIn", g_variant_new_uint64(conn->packets_in));
	g_variant_builder_add(&b, "{sv}", "PacketsOut", g_variant_new_uint64(conn->packets_out));
	g_variant_builder_add(&b, "{sv}", "EstablishedAt",
			      g_variant_new_int64(conn->established_at));
	g_variant_builder_add(&b, "{sv}", "LastError", g_variant_new_string(conn->last_error));
	g_variant_builder_add(&b, "{sv}", "LastErrorName",
			      g_variant_new_string(last_error_name(conn)));
	return g_variant_builder_end(&b);
}

static void
unexport(gpointer data)
{
	GDBusInterfaceSkeleton *obj = data;

	g_dbus_interface_skeleton_unexport(obj);
	g_object_unref(obj);
}

static void conn_export(DbusService *self, const ControlConn *conn);

static void
on_conn_event(ControlConnEvent event, const ControlConn *conn, gpointer user_data)
{
	DbusService *self = user_data;
	g_autofree char *path = dbus_service_conn_path(conn->name);
	VpndConnection *obj;

	if (!self->bus)
		return; /* connecting: the whole list is read once connected */
	switch (event) {
	case CONTROL_CONN_ADDED:
		conn_export(self, conn);
		vpnd_manager_emit_connection_added(self->manager, path, conn->name);
		break;
	case CONTROL_CONN_CHANGED:
		obj = g_hash_table_lookup(self->conns, conn->name);
		if (obj)
			conn_update(obj, conn);
		else
			conn_export(self, conn);
		break;
	case CONTROL_CONN_REMOVED:
		if (g_hash_table_remove(self->conns, conn->name))
			vpnd_manager_emit_connection_removed(self->manager, path, conn->name);
		break;
	}
}

/* ---- methods that change state: the caller's permission first ---- */

typedef void (*Action)(DbusService *self, GDBusMethodInvocation *invocation, const char *name);

typedef struct {
	DbusService *self;
	GDBusMethodInvocation *invocation;
	Action action;
	char *name;
} Pending;

static void
on_auth(gboolean allowed, const GError *error, gpointer user_data)
{
	Pending *p = user_data;
	const char *method = g_dbus_method_invocation_get_method_name(p->invocation);

	p->self->n_checks--;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_object_unref(p->invocation); /* vpnd is leaving the bus: no answer */
	} else if (error) {
		g_autoptr(GError) e =
			g_error_new(DBUS_ERRORS, DBUS_ERRORS_PERMISSION_DENIED,
				    "%s: cannot tell who is calling: %s", method, error->message);
		g_dbus_method_invocation_return_gerror(p->invocation, e);
	} else if (!allowed) {
		g_autoptr(GError) e = permission_denied(method);
		vpnd_info("%s from %s refused: not privileged", method,
		       g_dbus_method_invocation_get_sender(p->invocation));
		g_dbus_method_invocation_return_gerror(p->invocation, e);
	} else {
		p->action(p->self, p->invocation, p->name);
	}
	g_free(p->name);
	g_free(p);
}

/* Runs @action once the caller is known to be root or in group vpnd. */
static gboolean
authorize(DbusService *self, GDBusMethodInvocation *invocation, Action action, const char *name)
{
	Pending *p = g_new0(Pending, 1);

	p->self = self;
	p->invocation = invocation; /* the handler owns it until it answers */
	p->action = action;
	p->name = g_strdup(name);
	self->n_checks++;
	dbus_auth_check(self->bus, g_dbus_method_invocation_get_sender(invocation),
			self->cancellable, on_auth, p);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
do_up(DbusService *self, GDBusMethodInvocation *invocation, const char *name)
{
	g_autoptr(GError) error = NULL;

	if (!control_initiate(self->ctl, name, &error)) {
		dbus_errors_return(invocation, error);
		return;
	}
	g_autofree char *path = dbus_service_conn_path(name);
	g_dbus_method_invocation_return_value(invocation, g_variant_new("(o)", path));
}

static void
do_down(DbusService *self, GDBusMethodInvocation *invocation, const char *name)
{
	g_autoptr(GError) error = NULL;

	if (!control_terminate(self->ctl, name, &error))
		dbus_errors_return(invocation, error);
	else
		g_dbus_method_invocation_return_value(invocation, NULL);
}

static void
do_unload(DbusService *self, GDBusMethodInvocation *invocation, const char *name)
{
	g_autoptr(GError) error = NULL;

	if (!control_unload_connection(self->ctl, name, &error))
		dbus_errors_return(invocation, error);
	else
		g_dbus_method_invocation_return_value(invocation, NULL);
}

static void
do_load(DbusService *self, GDBusMethodInvocation *invocation, const char *unused)
{
	GVariant *params = g_dbus_method_invocation_get_parameters(invocation);
	g_autoptr(GError) error = NULL;
	const char *text, *origin;

	g_variant_get(params, "(&s&s)", &text, &origin);
	g_auto(GStrv) names =
		control_load_connections(self->ctl, text, *origin ? origin : "text", &error);
	if (!names)
		dbus_errors_return(invocation, error);
	else
		g_dbus_method_invocation_return_value(invocation, g_variant_new("(^as)", names));
}

static void
do_get_log(DbusService *self, GDBusMethodInvocation *invocation, const char *unused)
{
	g_autoptr(GPtrArray) lines = control_log_get_history(self->ctl);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a(xsss)"));
	for (guint i = 0; i < lines->len; i++) {
		const ControlLogLine *line = lines->pdata[i];
		g_variant_builder_add(&b, "(xsss)", line->time, log_level_to_string(line->level),
				      line->domain, line->message);
	}
	g_dbus_method_invocation_return_value(invocation, g_variant_new("(a(xsss))", &b));
}

/* ---- log subscriptions ---- */

static void
on_log_line(const ControlLogLine *line, gpointer user_data)
{
	DbusService *self = user_data;
	GHashTableIter it;
	gpointer dest;
	g_autoptr(GVariant) params = g_variant_ref_sink(
		g_variant_new("(xsss)", line->time, log_level_to_string(line->level), line->domain,
			      line->message));

	/* unicast: logs are for the privileged, though anyone may receive broadcasts */
	g_hash_table_iter_init(&it, self->log_subs);
	while (g_hash_table_iter_next(&it, &dest, NULL))
		g_dbus_connection_emit_signal(self->bus, dest, DBUS_SERVICE_PATH,
					      "org.vpnd1.Manager", "LogLine", params, NULL);
}

static void
log_subs_changed(DbusService *self)
{
	guint n = g_hash_table_size(self->log_subs);

	if (n && !self->log_watch)
		self->log_watch = control_log_watch_add(self->ctl, on_log_line, self);
	else if (!n && self->log_watch) {
		control_log_watch_remove(self->ctl, self->log_watch);
		self->log_watch = 0;
	}
}

static void
on_subscriber_vanished(GDBusConnection *bus, const char *name, gpointer user_data)
{
	DbusService *self = user_data;

	if (g_hash_table_remove(self->log_subs, name))
		log_subs_changed(self);
}

static void
unwatch(gpointer id)
{
	g_bus_unwatch_name(GPOINTER_TO_UINT(id));
}

static void
do_subscribe_log(DbusService *self, GDBusMethodInvocation *invocation, const char *unused)
{
	const char *sender = g_dbus_method_invocation_get_sender(invocation);

	if (!g_hash_table_contains(self->log_subs, sender)) {
		guint id = g_bus_watch_name_on_connection(self->bus, sender,
							  G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
							  on_subscriber_vanished, self, NULL);
		g_hash_table_insert(self->log_subs, g_strdup(sender), GUINT_TO_POINTER(id));
		log_subs_changed(self);
	}
	g_dbus_method_invocation_return_value(invocation, NULL);
}

/* ---- org.vpnd1.Manager ---- */

static gboolean
on_list_connections(VpndManager *manager, GDBusMethodInvocation *invocation, gpointer user_data)
{
	DbusService *self = user_data;
	g_autoptr(GPtrArray) conns = control_list_connections(self->ctl);
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < conns->len; i++)
		g_ptr_array_add(paths,
				dbus_service_conn_path(((ControlConn *)conns->pdata[i])->name));
	g_ptr_array_add(paths, NULL);
	vpnd_manager_complete_list_connections(manager, invocation,
					       (const char *const *)paths->pdata);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_get_status(VpndManager *manager, GDBusMethodInvocation *invocation, const char *name,
	      gpointer user_data)
{
	DbusService *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(ControlConn) conn = control_lookup_connection(self->ctl, name, &error);

	if (!conn)
		dbus_errors_return(invocation, error);
	else
		vpnd_manager_complete_get_status(manager, invocation, conn_to_vardict(conn));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_up(VpndManager *manager, GDBusMethodInvocation *invocation, const char *name, gpointer user_data)
{
	return authorize(user_data, invocation, do_up, name);
}

static gboolean
on_down(VpndManager *manager, GDBusMethodInvocation *invocation, const char *name,
	gpointer user_data)
{
	return authorize(user_data, invocation, do_down, name);
}

static gboolean
on_load(VpndManager *manager, GDBusMethodInvocation *invocation, const char *text,
	const char *origin, gpointer user_data)
{
	return authorize(user_data, invocation, do_load, NULL);
}

static gboolean
on_unload(VpndManager *manager, GDBusMethodInvocation *invocation, const char *name,
	  gpointer user_data)
{
	return authorize(user_data, invocation, do_unload, name);
}

static gboolean
on_get_log(VpndManager *manager, GDBusMethodInvocation *invocation, gpointer user_data)
{
	return authorize(user_data, invocation, do_get_log, NULL);
}

static gboolean
on_subscribe_log(VpndManager *manager, GDBusMethodInvocation *invocation, gpointer user_data)
{
	return authorize(user_data, invocation, do_subscribe_log, NULL);
}

/* Open to all: it only ever removes the caller's own subscription. */
static gboolean
on_unsubscribe_log(VpndManager *manager, GDBusMethodInvocation *invocation, gpointer user_data)
{
	DbusService *self = user_data;

	if (g_hash_table_remove(self->log_subs, g_dbus_method_invocation_get_sender(invocation)))
		log_subs_changed(self);
	vpnd_manager_complete_unsubscribe_log(manager, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- org.vpnd1.Connection ---- */

static gboolean
on_conn_up(VpndConnection *obj, GDBusMethodInvocation *invocation, gpointer user_data)
{
	return authorize(user_data, invocation, do_up, vpnd_connection_get_name(obj));
}

static gboolean
on_conn_down(VpndConnection *obj, GDBusMethodInvocation *invocation, gpointer user_data)
{
	return authorize(user_data, invocation, do_down, vpnd_connection_get_name(obj));
}

static void
conn_export(DbusService *self, const ControlConn *conn)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = dbus_service_conn_path(conn->name);
	VpndConnection *obj = vpnd_connection_skeleton_new();

	conn_update(obj, conn);
	g_signal_connect(obj, "handle-up", G_CALLBACK(on_conn_up), self);
	g_signal_connect(obj, "handle-down", G_CALLBACK(on_conn_down), self);
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(obj), self->bus, path,
					      &error)) {
		g_warning("connection \"%s\": cannot export %s: %s", conn->name, path,
			  error->message);
		g_object_unref(obj);
		return;
	}
	g_hash_table_replace(self->conns, g_strdup(conn->name), obj);
}

static void
manager_init(DbusService *self)
{
	ControlVersion v;
	ControlStats st;

	self->manager = vpnd_manager_skeleton_new();
	control_get_version(self->ctl, &v);
	vpnd_manager_set_version(self->manager, v.version);
	vpnd_manager_set_sysname(self->manager, v.have_uname ? v.uts.sysname : "");
	vpnd_manager_set_release(self->manager, v.have_uname ? v.uts.release : "");
	vpnd_manager_set_machine(self->manager, v.have_uname ? v.uts.machine : "");
	control_get_stats(self->ctl, &st);
	vpnd_manager_set_started_at(self->manager, g_date_time_to_unix(st.started));
	g_ptr_array_add(st.plugins, NULL);
	vpnd_manager_set_plugins(self->manager, (const char *const *)st.plugins->pdata);
	control_stats_clear(&st);

	g_signal_connect(self->manager, "handle-list-connections", G_CALLBACK(on_list_connections),
			 self);
	g_signal_connect(self->manager, "handle-get-status", G_CALLBACK(on_get_status), self);
	g_signal_connect(self->manager, "handle-up", G_CALLBACK(on_up), self);
	g_signal_connect(self->manager, "handle-down", G_CALLBACK(on_down), self);
	g_signal_connect(self->manager, "handle-load", G_CALLBACK(on_load), self);
	g_signal_connect(self->manager, "handle-unload", G_CALLBACK(on_unload), self);
	g_signal_connect(self->manager, "handle-get-log", G_CALLBACK(on_get_log), self);
	g_signal_connect(self->manager, "handle-subscribe-log", G_CALLBACK(on_subscribe_log), self);
	g_signal_connect(self->manager, "handle-unsubscribe-log", G_CALLBACK(on_unsubscribe_log),
			 self);
}

/* ---- the bus ---- */

static void
on_name_acquired(GDBusConnection *bus, const char *name, gpointer user_data)
{
	vpnd_info("serving %s on the system bus", name);
}

static void
on_name_lost(GDBusConnection *bus, const char *name, gpointer user_data)
{
	if (!bus || g_dbus_connection_is_closed(bus))
		return; /* on_closed said it already */
	g_warning("cannot own %s on the system bus (another vpnd has it, or the bus policy "
		  "does not allow it); vpnctl cannot reach this vpnd",
		  name);
}

static void
on_closed(GDBusConnection *bus, gboolean remote_peer_vanished, GError *error, gpointer user_data)
{
	g_warning("lost the system bus%s%s; vpnctl cannot reach vpnd until vpnd restarts",
		  error ? ": " : "", error ? error->message : "");
}

static void
on_connected(GObject *source, GAsyncResult *result, gpointer user_data)
{
	DbusService *self = user_data;
	g_autoptr(GError) error = NULL;
	GDBusConnection *bus = g_dbus_connection_new_for_address_finish(result, &error);

	self->connecting = FALSE;
	if (!bus) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_warning("cannot connect to the system bus: %s; running without D-Bus",
				  error->message);
		return;
	}
	if (g_cancellable_is_cancelled(self->cancellable)) {
		g_object_unref(bus); /* connected just as the service was freed */
		return;
	}
	self->bus = bus;
	self->closed_id = g_signal_connect(bus, "closed", G_CALLBACK(on_closed), self);
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->manager), bus,
					      DBUS_SERVICE_PATH, &error)) {
		g_warning("cannot export %s: %s; running without D-Bus", DBUS_SERVICE_PATH,
			  error->message);
		return;
	}
	g_autoptr(GPtrArray) conns = control_list_connections(self->ctl);
	for (guint i = 0; i < conns->len; i++)
		conn_export(self, conns->pdata[i]);
	self->own_id = g_bus_own_name_on_connection(bus, DBUS_SERVICE_NAME,
						    G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
						    on_name_acquired, on_name_lost, self, NULL);
}

DbusService *
dbus_service_new(Control *ctl)
{
	DbusService *self = g_new0(DbusService, 1);
	g_autoptr(GError) error = NULL;

	self->ctl = ctl;
	self->cancellable = g_cancellable_new();
	self->conns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, unexport);
	self->log_subs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, unwatch);
	self->conn_watch = control_conn_watch_add(ctl, on_conn_event, self);
	manager_init(self);
	(void)dbus_errors_quark(); /* registers the error names before any reply */

	g_autofree char *address = g_dbus_address_get_for_bus_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
	if (!address) {
		g_warning("no system bus: %s; running without D-Bus", error->message);
		return self;
	}
	/* a private connection: GIO's shared one would end vpnd when the bus goes away */
	self->connecting = TRUE;
	g_dbus_connection_new_for_address(address,
					  G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
						  G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
					  NULL, self->cancellable, on_connected, self);
	return self;
}

void
dbus_service_free(DbusService *self)
{
	if (!self)
		return;
	g_cancellable_cancel(self->cancellable);
	/* their callbacks hold self and what they were given: let them finish (cancelled,
	 * they come at once) so nothing is left behind */
	while (self->connecting || self->n_checks)
		g_main_context_iteration(NULL, TRUE);
	if (self->own_id)
		g_bus_unown_name(self->own_id);
	if (self->log_watch)
		control_log_watch_remove(self->ctl, self->log_watch);
	control_conn_watch_remove(self->ctl, self->conn_watch);
	g_hash_table_unref(self->log_subs);
	g_hash_table_unref(self->conns);
	if (g_dbus_interface_skeleton_get_connection(G_DBUS_INTERFACE_SKELETON(self->manager)))
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->manager));
	g_object_unref(self->manager);
	if (self->bus) {
		g_signal_handler_disconnect(self->bus, self->closed_id);
		g_dbus_connection_close_sync(self->bus, NULL, NULL);
		g_object_unref(self->bus);
	}
	g_object_unref(self->cancellable);
	g_free(self);
}
