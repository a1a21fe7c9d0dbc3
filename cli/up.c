/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vpnctl up NAME: asks vpnd to bring the connection up, then (unless --no-wait) follows
 * its State until it is established or down again. When --timeout passes first, the
 * attempt is abandoned (Down), so a late success cannot surprise the user.
 */
#include <stdio.h>

#include "vpnctl.h"

static int
up_timed_out(Vpnctl *v, const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = client_call(v, CLIENT_MANAGER_PATH, CLIENT_MANAGER_IFACE,
						"Down", g_variant_new("(s)", name), "()", &error);
	g_autofree char *msg =
		g_strdup_printf("connection \"%s\": not up after %d s%s", name, conn_wait_timeout_s,
				reply ? ", attempt abandoned" : "");

	return client_fail_named(v, "org.vpnd1.Error.Timeout", msg);
}

/* Established, or down with the reason the connection's LastError gives. */
static int
up_report(Vpnctl *v, const char *name, ConnWaitResult result, GVariant *props)
{
	if (result != CONN_WAIT_REACHED) {
		const char *error = output_lookup_str(props, "LastErrorName");
		const char *text = output_lookup_str(props, "LastError");
		g_autofree char *msg = g_strdup_printf("connection \"%s\": %s", name,
						       *text ? text : "closed before it was up");
		return client_fail_named(v, *error ? error : "org.vpnd1.Error.Failed", msg);
	}
	if (v->json)
		output_json(v, output_conn_json(props));
	else
		printf("connection \"%s\" established (%s - %s)\n", name,
		       output_lookup_str(props, "LocalAddress"),
		       output_lookup_str(props, "RemoteAddress"));
	return VPNCTL_EXIT_OK;
}

static void
up_print_started(Vpnctl *v, const char *name, const char *path)
{
	if (v->json) {
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "name", json_object_new_string(name));
		json_object_object_add(obj, "path", json_object_new_string(path));
		output_json(v, obj);
	} else {
		printf("connection \"%s\": negotiating\n", name);
	}
}

static int
up_run(Vpnctl *v, int argc, char **argv)
{
	const ConnCall call = { "Up", "(o)", "established" };
	g_autoptr(GError) error = NULL;
	g_autoptr(ConnWait) wait = NULL;
	g_autoptr(GVariant) reply = NULL, props = NULL;
	int status = conn_wait_call(v, argc, argv, &call, &wait, &reply);

	if (status != VPNCTL_EXIT_OK)
		return status;
	if (conn_wait_no_wait) {
		const char *path;
		g_variant_get(reply, "(&o)", &path);
		up_print_started(v, argv[1], path);
		return VPNCTL_EXIT_OK;
	}
	ConnWaitResult result = conn_wait_run(wait, &props, &error);
	if (result == CONN_WAIT_ERROR)
		return client_fail(v, error);
	if (result == CONN_WAIT_TIMED_OUT)
		return up_timed_out(v, argv[1]);
	return up_report(v, argv[1], result, props);
}

const VpnctlCommand up_command = {
	.name = "up",
	.args = "NAME",
	.summary = "Bring a connection up and wait for the tunnel",
	.options = conn_wait_options,
	.run = up_run,
};
