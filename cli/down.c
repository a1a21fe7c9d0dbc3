/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vpnctl down NAME: closes a connection's tunnel and (unless --no-wait) waits until
 * the peer acknowledged the Delete or vpnd gave up on it, that is until State is down.
 */
#include <stdio.h>

#include "vpnctl.h"

static int
down_run(Vpnctl *v, int argc, char **argv)
{
	const ConnCall call = { "Down", "()", "down" };
	g_autoptr(GError) error = NULL;
	g_autoptr(ConnWait) wait = NULL;
	g_autoptr(GVariant) reply = NULL, props = NULL;
	int status = conn_wait_call(v, argc, argv, &call, &wait, &reply);

	if (status != VPNCTL_EXIT_OK)
		return status;
	ConnWaitResult result =
		conn_wait_no_wait ? CONN_WAIT_REACHED : conn_wait_run(wait, &props, &error);
	if (result == CONN_WAIT_ERROR)
		return client_fail(v, error);
	if (result != CONN_WAIT_REACHED) {
		g_autofree char *msg = g_strdup_printf("connection \"%s\": not down after %d s",
						       argv[1], conn_wait_timeout_s);
		return client_fail_named(v, "org.vpnd1.Error.Timeout", msg);
	}
	if (v->json && props) {
		output_json(v, output_conn_json(props));
	} else if (v->json) {
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "name", json_object_new_string(argv[1]));
		output_json(v, obj);
	} else {
		printf("connection \"%s\": %s\n", argv[1], conn_wait_no_wait ? "closing" : "down");
	}
	return VPNCTL_EXIT_OK;
}

const VpnctlCommand down_command = {
	.name = "down",
	.args = "NAME",
	.summary = "Close a connection's tunnel and wait until it is down",
	.options = conn_wait_options,
	.run = down_run,
};
