/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "vpnctl.h"

#define CALL_TIMEOUT_MS 25000

gboolean
client_connect(Vpnctl *v, GError **error)
{
	g_autofree char *address = NULL;

	if (v->bus)
		return TRUE;
	address = g_dbus_address_get_for_bus_sync(G_BUS_TYPE_SYSTEM, NULL, error);
	if (!address)
		return FALSE;
	v->bus = g_dbus_connection_new_for_address_sync(
		address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, error);
	return v->bus != NULL;
}

GVariant *
client_call(Vpnctl *v, const char *path, const char *iface, const char *method, GVariant *params,
	    const char *reply_type, GError **error)
{
	if (!client_connect(v, error)) {
		if (params)
			g_variant_unref(g_variant_ref_sink(params));
		return NULL;
	}
	return g_dbus_connection_call_sync(v->bus, CLIENT_SERVICE, path, iface, method, params,
					   reply_type ? G_VARIANT_TYPE(reply_type) : NULL,
					   G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, error);
}

char *
client_conn_path(const char *name)
{
	g_autofree char *escaped = g_dbus_escape_object_path(name);

	return g_strconcat(CLIENT_CONN_PATH "/", escaped, NULL);
}

GVariant *
client_get_all(Vpnctl *v, const char *path, const char *iface, GError **error)
{
	g_autoptr(GVariant) reply =
		client_call(v, path, "org.freedesktop.DBus.Properties", "GetAll",
			    g_variant_new("(s)", iface), "(a{sv})", error);

	return reply ? g_variant_get_child_value(reply, 0) : NULL;
}

/* Each error a call may end with, its exit code, and the org.vpnd1 name scripts see
 * for it (the bus's own errors say the same thing under another name). */
static const struct {
	const char *name;
	VpnctlExit exit;
	const char *vpnd_name; /* NULL: @name itself */
} named_exits[] = {
	{ "org.vpnd1.Error.Failed", VPNCTL_EXIT_FAILED, NULL },
	{ "org.vpnd1.Error.NotFound", VPNCTL_EXIT_NOT_FOUND, NULL },
	{ "org.vpnd1.Error.AlreadyActive", VPNCTL_EXIT_ALREADY_ACTIVE, NULL },
	{ "org.vpnd1.Error.AuthenticationFailed", VPNCTL_EXIT_AUTHENTICATION_FAILED, NULL },
	{ "org.vpnd1.Error.Timeout", VPNCTL_EXIT_TIMEOUT, NULL },
	{ "org.vpnd1.Error.PermissionDenied", VPNCTL_EXIT_PERMISSION_DENIED, NULL },
	{ "org.vpnd1.Error.InvalidArgument", VPNCTL_EXIT_INVALID_ARGUMENT, NULL },
	{ "org.vpnd1.Error.NotSupported", VPNCTL_EXIT_NOT_SUPPORTED, NULL },
	/* the bus policy refused before vpnd saw the call */
	{ "org.freedesktop.DBus.Error.AccessDenied", VPNCTL_EXIT_PERMISSION_DENIED,
	  "org.vpnd1.Error.PermissionDenied" },
	{ "org.freedesktop.DBus.Error.ServiceUnknown", VPNCTL_EXIT_UNREACHABLE, NULL },
	{ "org.freedesktop.DBus.Error.NameHasNoOwner", VPNCTL_EXIT_UNREACHABLE, NULL },
	{ "org.freedesktop.DBus.Error.NoReply", VPNCTL_EXIT_TIMEOUT, "org.vpnd1.Error.Timeout" },
	{ "org.freedesktop.DBus.Error.Timeout", VPNCTL_EXIT_TIMEOUT, "org.vpnd1.Error.Timeout" },
};

static VpnctlExit
exit_for_name(const char *name)
{
	for (guint i = 0; name && i < G_N_ELEMENTS(named_exits); i++) {
		if (g_str_equal(name, named_exits[i].name))
			return named_exits[i].exit;
	}
	return VPNCTL_EXIT_FAILED;
}

static const char *
vpnd_name_for(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(named_exits); i++) {
		if (g_str_equal(name, named_exits[i].name) && named_exits[i].vpnd_name)
			return named_exits[i].vpnd_name;
	}
	return name;
}

VpnctlExit
client_error_exit(const GError *error, char **name)
{
	g_autofree char *remote = g_dbus_error_get_remote_error(error);

	if (!remote && error->domain == G_IO_ERROR && error->code == G_IO_ERROR_TIMED_OUT)
		remote = g_strdup("org.freedesktop.DBus.Error.Timeout");
	if (!remote && error->domain == G_IO_ERROR)
		remote = g_strdup("org.freedesktop.DBus.Error.NoServer"); /* no bus at all */
	VpnctlExit code = exit_for_name(remote);
	if (remote && g_str_equal(remote, "org.freedesktop.DBus.Error.NoServer"))
		code = VPNCTL_EXIT_UNREACHABLE;
	if (name)
		*name = g_steal_pointer(&remote);
	return code;
}

/* What a person should read: the peer's text without GDBus's "GDBus.Error:…: " prefix,
 * or a plain sentence where the bus, not vpnd, answered. */
static char *
human_message(const char *name, VpnctlExit code, const GError *error)
{
	g_autoptr(GError) copy = g_error_copy(error);

	g_dbus_error_strip_remote_error(copy);
	if (code == VPNCTL_EXIT_UNREACHABLE && name && !g_str_has_prefix(name, "org.vpnd1."))
		return g_strdup_printf("vpnd is not reachable on the system bus: %s",
				       copy->message);
	if (code == VPNCTL_EXIT_PERMISSION_DENIED && name && !g_str_has_prefix(name, "org.vpnd1."))
		return g_strdup("permission denied: this needs root or membership of group "
				"\"vpnd\"");
	return g_strdup(copy->message);
}

/* @wire_name: the error as the bus delivered it, NULL when vpnctl itself decided. */
static int
report(Vpnctl *v, const char *name, const char *wire_name, int code, const char *message)
{
	/* one line, whatever the daemon sent */
	g_autofree char *line = g_strdelimit(g_strdup(message), "\n", ' ');

	if (v->json) {
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "error", json_object_new_string(vpnd_name_for(name)));
		if (wire_name)
			json_object_object_add(obj, "dbus_error",
					       json_object_new_string(wire_name));
		json_object_object_add(obj, "message", json_object_new_string(line));
		json_object_object_add(obj, "exit_code", json_object_new_int(code));
		output_json(v, obj);
	}
	g_printerr("vpnctl: %s\n", line);
	return code;
}

int
client_fail(Vpnctl *v, const GError *error)
{
	g_autofree char *name = NULL;
	VpnctlExit code = client_error_exit(error, &name);
	g_autofree char *message = human_message(name, code, error);

	return report(v, name ? name : "org.vpnd1.Error.Failed", name, code, message);
}

int
client_run_name_method(Vpnctl *v, int argc, char **argv, const char *method, const char *done)
{
	g_autoptr(GError) error = NULL;

	if (argc != 2)
		return vpnctl_usage_error(v, argc < 2 ? "a connection NAME is needed"
						      : "one connection NAME only");
	g_autoptr(GVariant) reply =
		client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE, method,
			    g_variant_new("(s)", argv[1]), "()", &error);
	if (!reply)
		return client_fail(v, error);
	if (v->json) {
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "name", json_object_new_string(argv[1]));
		output_json(v, obj);
	} else {
		printf("connection \"%s\": %s\n", argv[1], done);
	}
	return VPNCTL_EXIT_OK;
}

int
client_fail_named(Vpnctl *v, const char *name, const char *message)
{
	return report(v, name, NULL, exit_for_name(name), message);
}
