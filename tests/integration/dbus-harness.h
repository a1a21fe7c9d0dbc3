/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the org.vpnd1 integration tests share: a real dbus-daemon configured like the
 * system bus (method calls denied unless a policy allows, vpnd's own dbus/org.vpnd1.conf
 * included) listening on a unix socket path, so that processes in other network
 * namespaces reach it too; vpnctl runs, as root or as "nobody"; JSON checks.
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>

G_BEGIN_DECLS

#define HARNESS_START_TIMEOUT_MS 10000
#define HARNESS_STOP_TIMEOUT_MS 5000
#define HARNESS_VPNCTL_TIMEOUT "30" /* seconds, for every vpnctl run (timeout -s KILL) */
#define HARNESS_NOBODY "nobody"

typedef struct {
	char *address; /* unix:path=DIR/bus */
	GSubprocess *daemon;
	GDBusConnection *conn; /* the test's own client connection */
} HarnessBus;

/* child_setup for every process a test starts: it dies with the test. */
void harness_die_with_parent(gpointer user_data);

/* A bus in @dir (DIR/bus.conf, DIR/bus); @open_policy lets anyone call org.vpnd1, so
 * that vpnd's own caller check is what refuses. */
HarnessBus *harness_bus_start(const char *dir, gboolean open_policy);
/* SIGTERM, then SIGKILL if it lingers. */
void harness_bus_stop(HarnessBus *bus);
gboolean harness_bus_has_owner(HarnessBus *bus, const char *name);
/* The error name the bus answers a Manager call with; NULL on success. (transfer full) */
char *harness_call_error_name(HarnessBus *bus, const char *method, GVariant *params);

/* Waits up to @timeout_ms for @p to exit; TRUE if it did. */
gboolean harness_wait_exit(GSubprocess *p, guint timeout_ms);

/* Runs the built vpnctl with @env (as "nobody" if @unprivileged) and the
 * NULL-terminated arguments; returns its exit code. */
int harness_vpnctl(char **env, gboolean unprivileged, char **out, char **err,
		   ...) G_GNUC_NULL_TERMINATED;
int harness_vpnctl_v(char **env, gboolean unprivileged, char **out, char **err,
		     const char *const *args);

/*
 * A shell that waits for its stdin to close, then deletes the network namespaces
 * @netns (NULL-terminated, may be empty) and the folder @dir: harness_janitor_finish()
 * closes it, and so does the kernel when a failed assertion aborts the test before any
 * teardown. It does not die with the test, on purpose.
 */
GSubprocess *harness_janitor_new(const char *dir, const char *const *netns);
/* Lets it clean up now and waits for it; @dir must be gone then. */
void harness_janitor_finish(GSubprocess *janitor, const char *dir);

/* VPND_BUILD_ROOT/@rel. (transfer full) */
char *harness_build_path(const char *rel);

/* Dies with @text when it is not JSON. (transfer full) */
json_object *harness_parse_json(const char *text);
/* The string or integer at @key, which must be there. */
const char *harness_json_str(json_object *obj, const char *key);
gint64 harness_json_int(json_object *obj, const char *key);

G_END_DECLS
