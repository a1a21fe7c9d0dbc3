/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vpnctl: controls vpnd over D-Bus (org.vpnd1 on the system bus). A command table
 * (vpnctl.c) and one file per command; client.c talks to the bus, output.c prints.
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>

G_BEGIN_DECLS

/* Exit codes, documented in vpnctl(1): stable, one per named error. */
typedef enum {
	VPNCTL_EXIT_OK = 0,
	VPNCTL_EXIT_FAILED = 1,      /* org.vpnd1.Error.Failed and anything unexpected */
	VPNCTL_EXIT_USAGE = 2,       /* bad command line */
	VPNCTL_EXIT_UNREACHABLE = 3, /* no system bus, or vpnd is not on it */
	VPNCTL_EXIT_NOT_FOUND = 4,
	VPNCTL_EXIT_ALREADY_ACTIVE = 5,
	VPNCTL_EXIT_AUTHENTICATION_FAILED = 6,
	VPNCTL_EXIT_TIMEOUT = 7,
	VPNCTL_EXIT_PERMISSION_DENIED = 8,
	VPNCTL_EXIT_INVALID_ARGUMENT = 9,
	VPNCTL_EXIT_NOT_SUPPORTED = 10,
} VpnctlExit;

typedef struct {
	gboolean json;  /* --json */
	gboolean tty;   /* stdout is a terminal: tables and progress lines */
	gboolean color; /* ... and colour is wanted (no NO_COLOR, TERM not dumb) */
	GDBusConnection *bus;
	const char *command; /* the command being run, for messages */
} Vpnctl;

typedef struct {
	const char *name;
	const char *args; /* for the usage line, e.g. "NAME" */
	const char *summary;
	const GOptionEntry *options; /* the command's own, or NULL */
	/* @argv[1..] are the arguments left after the options. */
	int (*run)(Vpnctl *v, int argc, char **argv);
} VpnctlCommand;

extern const VpnctlCommand list_command;
extern const VpnctlCommand status_command;
extern const VpnctlCommand up_command;
extern const VpnctlCommand down_command;
extern const VpnctlCommand log_command;
extern const VpnctlCommand load_command;
extern const VpnctlCommand unload_command;
extern const VpnctlCommand version_command;

/* Prints "vpnctl: COMMAND: MESSAGE" and the hint to --help; returns VPNCTL_EXIT_USAGE. */
int vpnctl_usage_error(Vpnctl *v, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- client.c: the bus ---- */

#define CLIENT_SERVICE "org.vpnd1"
#define CLIENT_MANAGER_PATH "/org/vpnd1"
#define CLIENT_MANAGER_IFACE "org.vpnd1.Manager"
#define CLIENT_CONN_IFACE "org.vpnd1.Connection"
#define CLIENT_CONN_PATH "/org/vpnd1/connection"

/* The object path of connection @name, as vpnd escapes it. (transfer full) */
char *client_conn_path(const char *name);

gboolean client_connect(Vpnctl *v, GError **error);
/* A method call to vpnd; @params may be floating, NULL for none. (transfer full) */
GVariant *client_call(Vpnctl *v, const char *path, const char *iface, const char *method,
		      GVariant *params, const char *reply_type, GError **error);
/* Every property of @iface at @path, as a{sv}. (transfer full) */
GVariant *client_get_all(Vpnctl *v, const char *path, const char *iface, GError **error);
/* The named error behind @error ("org.vpnd1.Error.NotFound", …) and its exit code. */
VpnctlExit client_error_exit(const GError *error, char **name);
/* Reports @error in one line (stderr; and a JSON object on stdout with --json) and
 * returns its exit code. */
int client_fail(Vpnctl *v, const GError *error);
/*
 * The shape of `vpnctl down NAME` and `vpnctl unload NAME`: calls the Manager's
 * @method with the one NAME argument and, on success, prints `connection "NAME": @done`
 * or {"name": NAME} with --json.
 */
int client_run_name_method(Vpnctl *v, int argc, char **argv, const char *method, const char *done);
/* As client_fail for an error named on the bus (a connection's LastErrorName). */
int client_fail_named(Vpnctl *v, const char *name, const char *message);

/* ---- wait.c: following a connection's State ---- */

typedef enum {
	CONN_WAIT_REACHED,   /* the state asked for */
	CONN_WAIT_FAILED,    /* down again before it got there (the reason is LastError) */
	CONN_WAIT_TIMED_OUT, /* still on the way when the time was up */
	CONN_WAIT_ERROR,     /* the bus failed: see @error */
} ConnWaitResult;

typedef struct ConnWait ConnWait;

/* --no-wait and --timeout of `up` and `down`. */
extern gboolean conn_wait_no_wait;
extern gint conn_wait_timeout_s;
extern const GOptionEntry conn_wait_options[];

/* Subscribes to connection @name's changes: call before the method that moves it.
 * @target is "established" or "down". */
ConnWait *conn_wait_new(Vpnctl *v, const char *name, const char *target);
/* Waits up to --timeout, with a progress line on a terminal; @props receives the
 * connection's properties at the end (not on CONN_WAIT_ERROR). */
ConnWaitResult conn_wait_run(ConnWait *w, GVariant **props, GError **error);
void conn_wait_free(ConnWait *w);

typedef struct {
	const char *method;     /* "Up", "Down" */
	const char *reply_type; /* its reply's signature */
	const char *target;     /* the State it leads to */
} ConnCall;

/* The start of `up` and `down`: checks the NAME argument and --timeout, subscribes to
 * the connection (unless --no-wait), calls the Manager's method. VPNCTL_EXIT_OK with
 * @wait (NULL with --no-wait) and @reply set, or the exit code of what it reported. */
int conn_wait_call(Vpnctl *v, int argc, char **argv, const ConnCall *call, ConnWait **wait,
		   GVariant **reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConnWait, conn_wait_free)

/* list.c: each connection's properties (a{sv}), in ListConnections' order.
 * (transfer full) */
GPtrArray *list_fetch(Vpnctl *v, GError **error);

/* ---- output.c: text, tables, colour, JSON ---- */

/* A connection's properties (a{sv}) as the JSON object vpnctl(1) documents. */
json_object *output_conn_json(GVariant *props);
/* Prints @obj on one line (pretty on a terminal) and takes it. */
void output_json(Vpnctl *v, json_object *obj);
/* @state coloured for a terminal. (transfer full) */
char *output_state(Vpnctl *v, const char *state);
/* Rows of cells (GStrv each): aligned under a bold header on a terminal, else one
 * tab-separated line per row without header. */
void output_table(Vpnctl *v, const char *const *header, GPtrArray *rows);
/* String or 0 for a missing key of a{sv}. */
const char *output_lookup_str(GVariant *dict, const char *key);
guint64 output_lookup_u64(GVariant *dict, const char *key);
gint64 output_lookup_i64(GVariant *dict, const char *key);

G_END_DECLS
