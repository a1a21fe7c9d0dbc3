/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vpnctl drives real tunnels over org.vpnd1. Two network namespaces joined by a veth
 * pair (192.0.2.1 and .2; 10.1.0.1 and 10.2.0.1 on lo inside), a vpnd in each (PSK,
 * kernel-tun). vpnd "a" owns org.vpnd1 on a dbus-daemon the test starts (a unix socket
 * path, which reaches into the namespaces where an abstract socket would not); vpnd "b"
 * runs with dbus { enable = no } and is checked through its log.
 *
 * a's connections: "site" (the good one), "badpsk" (b holds another key for its
 * identity: b answers AUTHENTICATION_FAILED) and "nowhere" (192.0.2.3: nobody answers).
 *
 * Needs root (exit 77 otherwise). Every process dies with the test; namespaces and
 * files go in the teardown, also when a test failed.
 */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "dbus-harness.h"

#define TUNNEL_TIMEOUT_MS 15000
#define PEER_DOWN_TIMEOUT_MS 5000
#define PING_COUNT "3"
/* a gives a silent peer up after 2.5 s: sent at 0 and 1 s, then 1.5 s more */
#define A_RETRANSMIT                                                                               \
	"ike {\n\tretransmit_timeout = 1\n\tretransmit_base = 1.5\n\tretransmit_tries = 1\n}\n"
#define A_GIVES_UP_S 2.5

/* Exit codes from vpnctl(1). */
#define EXIT_NOT_FOUND 4
#define EXIT_AUTHENTICATION_FAILED 6
#define EXIT_TIMEOUT 7
#define EXIT_PERMISSION_DENIED 8

typedef struct {
	gboolean open_policy; /* the bus lets anyone call: vpnd's own check must refuse */
} Params;

typedef struct {
	const Params *params;
	char *dir;
	char *ns[2];
	char **env; /* for vpnctl */
	HarnessBus *bus;
	GSubprocess *vpnd[2];
	GPtrArray *states; /* the State values a second client saw, in order */
	guint sub;
	GSubprocess *janitor; /* removes the namespaces and files when the test ends */
} Fixture;

static const char *const side_names[2] = { "a", "b" };

static char *
path_in(Fixture *f, const char *name)
{
	return g_build_filename(f->dir, name, NULL);
}

/* Runs argv to completion; dies with its output if it fails. */
static void
run_or_die(const char *const *argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *out = NULL;
	int status;

	g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
		     NULL, NULL, &out, NULL, &status, &error);
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_autofree char *cmd = g_strjoinv(" ", (char **)argv);
		g_error("%s failed: %s", cmd, out);
	}
}

#define RUN(...) run_or_die((const char *const[]){ __VA_ARGS__, NULL })

static void
setup_namespaces(Fixture *f)
{
	RUN("ip", "netns", "add", f->ns[0]);
	RUN("ip", "netns", "add", f->ns[1]);
	RUN("ip", "link", "add", "dt1", "netns", f->ns[0], "type", "veth", "peer", "name", "dt2",
	    "netns", f->ns[1]);
	RUN("ip", "-n", f->ns[0], "addr", "add", "192.0.2.1/24", "dev", "dt1");
	RUN("ip", "-n", f->ns[1], "addr", "add", "192.0.2.2/24", "dev", "dt2");
	RUN("ip", "-n", f->ns[0], "addr", "add", "10.1.0.1/32", "dev", "lo");
	RUN("ip", "-n", f->ns[1], "addr", "add", "10.2.0.1/32", "dev", "lo");
	for (guint i = 0; i < 2; i++) {
		RUN("ip", "-n", f->ns[i], "link", "set", "lo", "up");
		RUN("ip", "-n", f->ns[i], "link", "set", i ? "dt2" : "dt1", "up");
	}
}

/* One connection in swanctl.conf syntax. */
static char *
conn_text(const char *name, const char *local, const char *remote, const char *id,
	  const char *local_ts, const char *remote_ts)
{
	return g_strdup_printf("\t%s {\n"
			       "\t\tlocal_addrs = %s\n\t\tremote_addrs = %s\n"
			       "\t\tproposals = aes256gcm16-prfsha256-curve25519\n"
			       "\t\tlocal {\n\t\t\tauth = psk\n\t\t\tid = %s\n\t\t}\n"
			       "\t\tremote {\n\t\t\tauth = psk\n\t\t\tid = %%any\n\t\t}\n"
			       "\t\tchildren {\n\t\t\tnet {\n"
			       "\t\t\t\tlocal_ts = %s\n\t\t\t\tremote_ts = %s\n"
			       "\t\t\t\tesp_proposals = aes256gcm16\n"
			       "\t\t\t\tstart_action = none\n\t\t\t}\n\t\t}\n\t}\n",
			       name, local, remote, id, local_ts, remote_ts);
}

static char *
secret_text(const char *name, const char *id_a, const char *secret)
{
	return g_strdup_printf("\t%s {\n\t\tid-a = %s\n\t\tid-b = b.example.org\n"
			       "\t\tsecret = \"%s\"\n\t}\n",
			       name, id_a, secret);
}

static void
write_in(Fixture *f, const char *rel, const char *text)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = path_in(f, rel);

	g_file_set_contents(path, text, -1, &error);
	g_assert_no_error(error);
}

static void
write_side(Fixture *f, guint i)
{
	const char *side = side_names[i];
	g_autofree char *conf_d = g_strdup_printf("%s/%s/conf.d", f->dir, side);
	g_autofree char *plugins = harness_build_path("plugins");
	g_autofree char *vpnd_conf = g_strdup_printf(
		"plugins {\n\tdir = %s\n\tload = crypto-gnutls kernel-tun auth-psk\n}\n"
		"vici {\n\tsocket = unix://%s/%s/vici\n}\n"
		"%s"
		"log {\n\tdefault = info\n}\nconf_dir = %s\n",
		plugins, f->dir, side, i ? "dbus {\n\tenable = no\n}\n" : A_RETRANSMIT, conf_d);
	const char *good = "a throwaway test key, not a real one";
	g_autofree char *conns = NULL, *secrets = NULL;

	g_assert_cmpint(g_mkdir_with_parents(conf_d, 0700), ==, 0);
	if (i == 0) {
		g_autofree char *site = conn_text("site", "192.0.2.1", "192.0.2.2", "a.example.org",
						  "10.1.0.1/32", "10.2.0.1/32");
		g_autofree char *bad = conn_text("badpsk", "192.0.2.1", "192.0.2.2",
						 "a-bad.example.org", "10.1.0.1/32", "10.2.0.1/32");
		g_autofree char *nowhere = conn_text("nowhere", "192.0.2.1", "192.0.2.3",
						     "a.example.org", "10.1.0.1/32", "10.2.0.1/32");
		g_autofree char *s1 = secret_text("ike-site", "a.example.org", good);
		g_autofree char *s2 = secret_text("ike-bad", "a-bad.example.org", "what a thinks");
		conns = g_strconcat(site, bad, nowhere, NULL);
		secrets = g_strconcat(s1, s2, NULL);
	} else {
		g_autofree char *s1 = secret_text("ike-site", "a.example.org", good);
		g_autofree char *s2 = secret_text("ike-bad", "a-bad.example.org", "what b thinks");
		conns = conn_text("site", "192.0.2.2", "192.0.2.1", "b.example.org", "10.2.0.1/32",
				  "10.1.0.1/32");
		secrets = g_strconcat(s1, s2, NULL);
	}
	g_autofree char *text =
		g_strdup_printf("connections {\n%s}\nsecrets {\n%s}\n", conns, secrets);
	g_autofree char *conf_rel = g_strdup_printf("%s/vpnd.conf", side);
	g_autofree char *conns_rel = g_strdup_printf("%s/conf.d/test.conf", side);
	write_in(f, conf_rel, vpnd_conf);
	write_in(f, conns_rel, text);
}

static char *
vpnd_log(Fixture *f, guint i)
{
	g_autofree char *rel = g_strdup_printf("%s.log", side_names[i]);
	g_autofree char *path = path_in(f, rel);
	char *text = NULL;

	g_file_get_contents(path, &text, NULL, NULL);
	return text ? text : g_strdup("");
}

static void
start_vpnd(Fixture *f, guint i)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *log_rel = g_strdup_printf("%s.log", side_names[i]);
	g_autofree char *log = path_in(f, log_rel);
	g_autofree char *conf = g_strdup_printf("%s/%s/vpnd.conf", f->dir, side_names[i]);
	g_autofree char *vpnd = harness_build_path("daemon/vpnd");
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);

	g_subprocess_launcher_unsetenv(l, "NOTIFY_SOCKET");
	g_subprocess_launcher_unsetenv(l, "JOURNAL_STREAM");
	g_subprocess_launcher_unsetenv(l, "LISTEN_FDS");
	g_subprocess_launcher_setenv(l, "DBUS_SYSTEM_BUS_ADDRESS", f->bus->address, TRUE);
	g_subprocess_launcher_set_stderr_file_path(l, log);
	g_subprocess_launcher_set_child_setup(l, harness_die_with_parent, NULL, NULL);
	/* ip execs vpnd: the PID is vpnd's */
	f->vpnd[i] = g_subprocess_launcher_spawn(l, &error, "ip", "netns", "exec", f->ns[i], vpnd,
						 "--config", conf, NULL);
	g_assert_no_error(error);
}

/* Polls until @done or @timeout_ms; dies with both logs if not. */
static void
wait_for(Fixture *f, gboolean (*done)(Fixture *f, gconstpointer data), gconstpointer data,
	 guint timeout_ms, const char *what)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (!done(f, data)) {
		if (g_get_monotonic_time() > deadline) {
			g_autofree char *a = vpnd_log(f, 0), *b = vpnd_log(f, 1);
			g_error("%s did not happen\n--- a:\n%s--- b:\n%s", what, a, b);
		}
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10 * 1000);
	}
}

static gboolean
log_has(Fixture *f, gconstpointer data)
{
	const char *const *want = data; /* side index as text, then the needle */
	g_autofree char *log = vpnd_log(f, want[0][0] - '0');

	return strstr(log, want[1]) != NULL;
}

static void
wait_log(Fixture *f, guint side, const char *needle, guint timeout_ms)
{
	const char *want[] = { side ? "1" : "0", needle };
	g_autofree char *what = g_strdup_printf("vpnd %s logging \"%s\"", side_names[side], needle);

	wait_for(f, log_has, want, timeout_ms, what);
}

static gboolean
on_bus(Fixture *f, gconstpointer data)
{
	return harness_bus_has_owner(f->bus, "org.vpnd1");
}

/* The second client: every State of /org/vpnd1/connection/site, in order. */
static void
on_properties_changed(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
		      const char *signal, GVariant *params, gpointer user_data)
{
	Fixture *f = user_data;
	g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
	const char *state = NULL;

	if (g_variant_lookup(changed, "State", "&s", &state))
		g_ptr_array_add(f->states, g_strdup(state));
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	f->params = data;
	f->dir = g_dir_make_tmp("vpnd-dbus-tunnel-XXXXXX", &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(f->dir, 0755), ==, 0); /* "nobody" reaches the bus socket */
	f->ns[0] = g_strdup_printf("vpnd-dt1-%d", getpid());
	f->ns[1] = g_strdup_printf("vpnd-dt2-%d", getpid());
	f->states = g_ptr_array_new_with_free_func(g_free);
	f->janitor = harness_janitor_new(f->dir, (const char *const[]){ f->ns[0], f->ns[1], NULL });
	setup_namespaces(f);
	write_side(f, 0);
	write_side(f, 1);
	f->bus = harness_bus_start(f->dir, f->params->open_policy);
	f->env =
		g_environ_setenv(g_get_environ(), "DBUS_SYSTEM_BUS_ADDRESS", f->bus->address, TRUE);
	f->sub = g_dbus_connection_signal_subscribe(
		f->bus->conn, "org.vpnd1", "org.freedesktop.DBus.Properties", "PropertiesChanged",
		"/org/vpnd1/connection/site", "org.vpnd1.Connection", G_DBUS_SIGNAL_FLAGS_NONE,
		on_properties_changed, f, NULL);
	start_vpnd(f, 1);
	wait_log(f, 1, "running, plugins:", HARNESS_START_TIMEOUT_MS);
	start_vpnd(f, 0);
	wait_for(f, on_bus, NULL, HARNESS_START_TIMEOUT_MS, "vpnd a owning org.vpnd1");
}

/* SIGTERM: exit status 0, and nothing a sanitizer or GLib would call a bug. */
static void
stop_vpnd(Fixture *f, guint i)
{
	g_autofree char *log = NULL;

	g_subprocess_send_signal(f->vpnd[i], SIGTERM);
	if (!harness_wait_exit(f->vpnd[i], HARNESS_STOP_TIMEOUT_MS))
		g_error("vpnd %s did not stop on SIGTERM", side_names[i]);
	log = vpnd_log(f, i);
	if (!g_subprocess_get_if_exited(f->vpnd[i]) || g_subprocess_get_exit_status(f->vpnd[i]) ||
	    strstr(log, "CRITICAL") || strstr(log, "Sanitizer") || strstr(log, "runtime error"))
		g_error("vpnd %s did not stop cleanly; its log:\n%s", side_names[i], log);
	g_clear_object(&f->vpnd[i]);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	for (guint i = 0; i < 2; i++) {
		if (f->vpnd[i]) {
			g_subprocess_force_exit(f->vpnd[i]); /* a test failed while it ran */
			harness_wait_exit(f->vpnd[i], HARNESS_STOP_TIMEOUT_MS);
			g_clear_object(&f->vpnd[i]);
		}
	}
	g_dbus_connection_signal_unsubscribe(f->bus->conn, f->sub);
	harness_bus_stop(f->bus);
	harness_janitor_finish(g_steal_pointer(&f->janitor), f->dir);
	for (guint i = 0; i < 2; i++)
		g_free(f->ns[i]);
	g_free(f->dir);
	g_strfreev(f->env);
	g_ptr_array_unref(f->states);
}

#define vpnctl(f, out, err, ...) harness_vpnctl((f)->env, FALSE, out, err, __VA_ARGS__)

/*
 * vpnctl on a terminal (script(1) gives it one): the output, colour codes and
 * carriage returns included, and its exit code. @no_color sets NO_COLOR.
 */
static int
vpnctl_tty(Fixture *f, char **out, const char *args, gboolean no_color)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *vpnctl = harness_build_path("cli/vpnctl");
	g_autofree char *cmd = g_strdup_printf("%s %s", vpnctl, args);
	char **env = g_environ_setenv(g_strdupv(f->env), "TERM", "xterm", TRUE);
	int status;

	env = no_color ? g_environ_setenv(env, "NO_COLOR", "1", TRUE)
		       : g_environ_unsetenv(env, "NO_COLOR");
	const char *argv[] = { "timeout", "-s",   "KILL", HARNESS_VPNCTL_TIMEOUT,
			       "script",  "-qec", cmd,    "/dev/null",
			       NULL };
	g_spawn_sync("/", (char **)argv, env, G_SPAWN_SEARCH_PATH, harness_die_with_parent, NULL,
		     out, NULL, &status, &error);
	g_strfreev(env);
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* What a terminal got, escaped, when it is not what was expected. */
static void
assert_tty_output(const char *text, const char *needle, gboolean at_end)
{
	gboolean ok = at_end ? g_str_has_suffix(text, needle) : strstr(text, needle) != NULL;

	if (!ok) {
		g_autofree char *got = g_strescape(text, NULL), *want = g_strescape(needle, NULL);
		g_error("terminal output \"%s\" lacks%s \"%s\"", got, at_end ? " at its end" : "",
			want);
	}
}

static gboolean
pings(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	int status;
	const char *argv[] = { "ip", "netns",    "exec",     f->ns[0], "ping", "-q",
			       "-c", PING_COUNT, "-i",       "0.2",    "-W",   "2",
			       "-I", "10.1.0.1", "10.2.0.1", NULL };

	g_spawn_sync(NULL, (char **)argv, NULL,
		     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
		     NULL, NULL, NULL, NULL, &status, &error);
	g_assert_no_error(error);
	return g_spawn_check_wait_status(status, NULL);
}

static gboolean
saw_states(Fixture *f, gconstpointer data)
{
	return f->states->len >= GPOINTER_TO_UINT(data);
}

static char *
states_text(Fixture *f)
{
	g_ptr_array_add(f->states, NULL);
	char *text = g_strjoinv(" ", (char **)f->states->pdata);
	g_ptr_array_remove_index(f->states, f->states->len - 1);
	return text;
}

/*
 * up on a terminal (a progress line, then success), traffic, status --json with the
 * counters, list as a table, down; the second client saw every State in order, and the
 * peer took the tunnel down too.
 */
static void
test_up_status_down(Fixture *f, gconstpointer data)
{
	g_autofree char *up = NULL, *tab = NULL, *out = NULL, *err = NULL, *dout = NULL,
			*derr = NULL, *plain = NULL, *perr = NULL, *bare = NULL;

	g_assert_cmpint(vpnctl_tty(f, &up, "up site", FALSE), ==, 0);
	/* the progress line is coloured and rewritten in place, the result stays */
	assert_tty_output(up, "\r\033[Kconnection \"site\": \033[33mconnecting\033[0m…", FALSE);
	assert_tty_output(up, "\r\033[Kconnection \"site\" established (192.0.2.1 - 192.0.2.2)\r\n",
			  TRUE);
	wait_log(f, 1, "CHILD SA net up", TUNNEL_TIMEOUT_MS);

	g_assert_true(pings(f));
	g_assert_cmpint(vpnctl(f, &out, &err, "status", "--json", "site", NULL), ==, 0);
	g_assert_cmpstr(err, ==, "");
	json_object *st = harness_parse_json(out);
	g_assert_cmpstr(harness_json_str(st, "name"), ==, "site");
	g_assert_cmpstr(harness_json_str(st, "state"), ==, "established");
	g_assert_cmpstr(harness_json_str(st, "local_address"), ==, "192.0.2.1");
	g_assert_cmpstr(harness_json_str(st, "remote_address"), ==, "192.0.2.2");
	g_assert_cmpint(harness_json_int(st, "established_at"), >, 0);
	/* three echo requests out, three replies in, at least */
	g_assert_cmpint(harness_json_int(st, "packets_out"), >=, 3);
	g_assert_cmpint(harness_json_int(st, "packets_in"), >=, 3);
	g_assert_cmpint(harness_json_int(st, "bytes_out"), >=, 3 * 84);
	g_assert_cmpint(harness_json_int(st, "bytes_in"), >=, 3 * 84);
	g_assert_cmpstr(harness_json_str(st, "last_error"), ==, "");
	json_object_put(st);

	/* a table with a bold header on a terminal; tab-separated lines off it */
	g_assert_cmpint(vpnctl_tty(f, &tab, "list", FALSE), ==, 0);
	assert_tty_output(tab, "\033[1mNAME\033[0m", FALSE);
	assert_tty_output(tab, "\r\nsite     \033[32mestablished\033[0m  192.0.2.2\r\n", FALSE);
	/* NO_COLOR: the table stays, the colour goes */
	g_assert_cmpint(vpnctl_tty(f, &bare, "list", TRUE), ==, 0);
	g_assert_true(g_str_has_prefix(bare, "NAME     STATE        REMOTE\r\n"));
	g_assert_null(strchr(bare, '\033'));
	g_assert_cmpint(vpnctl(f, &plain, &perr, "list", NULL), ==, 0);
	g_assert_cmpstr(plain, ==,
			"site\testablished\t192.0.2.2\nbadpsk\tdown\t192.0.2.2\n"
			"nowhere\tdown\t192.0.2.3\n");

	g_assert_cmpint(vpnctl(f, &dout, &derr, "down", "site", NULL), ==, 0);
	g_assert_cmpstr(dout, ==, "connection \"site\": down\n");
	g_assert_cmpstr(derr, ==, "");
	wait_log(f, 1, "CHILD SA net down", PEER_DOWN_TIMEOUT_MS);
	wait_log(f, 1, "down: deleted by peer", PEER_DOWN_TIMEOUT_MS);

	wait_for(f, saw_states, GUINT_TO_POINTER(4), PEER_DOWN_TIMEOUT_MS, "four State changes");
	g_autofree char *seen = states_text(f);
	g_assert_cmpstr(seen, ==, "connecting established disconnecting down");
	g_assert_false(pings(f)); /* no tunnel, no route across */
	stop_vpnd(f, 0);
	stop_vpnd(f, 1);
}

/* Each failure: a named error, one line from vpnctl, its own exit code. */
static void
test_errors(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *aout = NULL, *aerr = NULL, *jout = NULL,
			*jerr = NULL, *sout = NULL, *serr = NULL, *tout = NULL, *terr = NULL,
			*tsout = NULL, *tserr = NULL, *rout = NULL, *rerr = NULL, *rsout = NULL,
			*rserr = NULL;

	g_assert_cmpint(vpnctl(f, &out, &err, "up", "nosuch", NULL), ==, EXIT_NOT_FOUND);
	g_assert_cmpstr(err, ==, "vpnctl: connection \"nosuch\" not found\n");

	/* b refuses a's AUTH: its AUTHENTICATION_FAILED notify is a's LastError, which
	 * says that the peer refused (not a) */
	g_assert_cmpint(vpnctl(f, &aout, &aerr, "up", "badpsk", NULL), ==,
			EXIT_AUTHENTICATION_FAILED);
	g_assert_cmpstr(aout, ==, "");
	g_assert_cmpstr(aerr, ==,
			"vpnctl: connection \"badpsk\": authentication refused by the peer\n");
	g_assert_cmpint(vpnctl(f, &jout, &jerr, "--json", "up", "badpsk", NULL), ==,
			EXIT_AUTHENTICATION_FAILED);
	json_object *obj = harness_parse_json(jout);
	g_assert_cmpstr(harness_json_str(obj, "error"), ==, "org.vpnd1.Error.AuthenticationFailed");
	g_assert_cmpint(harness_json_int(obj, "exit_code"), ==, EXIT_AUTHENTICATION_FAILED);
	json_object_put(obj);
	g_assert_cmpint(vpnctl(f, &sout, &serr, "--json", "status", "badpsk", NULL), ==, 0);
	json_object *st = harness_parse_json(sout);
	g_assert_cmpstr(harness_json_str(st, "state"), ==, "down");
	g_assert_cmpstr(harness_json_str(st, "last_error"), ==, "authentication refused by the peer");
	g_assert_cmpstr(harness_json_str(st, "last_error_name"), ==,
			"org.vpnd1.Error.AuthenticationFailed");
	json_object_put(st);

	/* nobody answers: vpnd's retransmissions give up, and say so */
	gint64 start = g_get_monotonic_time();
	g_assert_cmpint(vpnctl(f, &rout, &rerr, "up", "nowhere", NULL), ==, EXIT_TIMEOUT);
	g_assert_cmpint(g_get_monotonic_time() - start, >=, A_GIVES_UP_S * G_USEC_PER_SEC);
	g_assert_cmpstr(rerr, ==, "vpnctl: connection \"nowhere\": peer not responding\n");
	g_assert_cmpint(vpnctl(f, &rsout, &rserr, "--json", "status", "nowhere", NULL), ==, 0);
	json_object *rs = harness_parse_json(rsout);
	g_assert_cmpstr(harness_json_str(rs, "last_error_name"), ==, "org.vpnd1.Error.Timeout");
	json_object_put(rs);

	/* vpnctl's --timeout comes first: it ends the wait and the attempt */
	start = g_get_monotonic_time();
	g_assert_cmpint(vpnctl(f, &tout, &terr, "up", "--timeout", "1", "nowhere", NULL), ==,
			EXIT_TIMEOUT);
	g_assert_cmpint(g_get_monotonic_time() - start, <, A_GIVES_UP_S * G_USEC_PER_SEC);
	g_assert_cmpstr(terr, ==,
			"vpnctl: connection \"nowhere\": not up after 1 s, attempt abandoned\n");
	/* abandoned: vpnd does not go on trying */
	g_assert_cmpint(vpnctl(f, &tsout, &tserr, "--json", "status", "nowhere", NULL), ==, 0);
	json_object *ts = harness_parse_json(tsout);
	g_assert_cmpstr(harness_json_str(ts, "state"), ==, "down");
	json_object_put(ts);
	stop_vpnd(f, 0);
	stop_vpnd(f, 1);
}

static void
check_denied(Fixture *f, const char *command)
{
	g_autofree char *out = NULL, *err = NULL;

	g_assert_cmpint(harness_vpnctl(f->env, TRUE, &out, &err, "--json", command, "site", NULL),
			==, EXIT_PERMISSION_DENIED);
	json_object *obj = harness_parse_json(out);
	g_assert_cmpstr(harness_json_str(obj, "error"), ==, "org.vpnd1.Error.PermissionDenied");
	/* who refused: the bus policy, or (on a bus open to all) vpnd itself */
	g_assert_cmpstr(harness_json_str(obj, "dbus_error"), ==,
			f->params->open_policy ? "org.vpnd1.Error.PermissionDenied"
					       : "org.freedesktop.DBus.Error.AccessDenied");
	json_object_put(obj);
	g_assert_true(g_str_has_prefix(err, "vpnctl: "));
	g_assert_cmpint(strchr(err, '\n') - err + 1, ==, strlen(err)); /* one line */
}

/* The connection object's own Up, called as "nobody" with gdbus: the error it names. */
static char *
conn_up_as_nobody(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *err = NULL, *uid = NULL, *gid = NULL;
	struct passwd *pw = getpwnam(HARNESS_NOBODY);
	int status;

	g_assert_nonnull(pw);
	uid = g_strdup_printf("--reuid=%u", (guint)pw->pw_uid);
	gid = g_strdup_printf("--regid=%u", (guint)pw->pw_gid);
	const char *argv[] = { "setpriv",
			       uid,
			       gid,
			       "--clear-groups",
			       "gdbus",
			       "call",
			       "--system",
			       "--dest",
			       "org.vpnd1",
			       "--object-path",
			       "/org/vpnd1/connection/site",
			       "--method",
			       "org.vpnd1.Connection.Up",
			       NULL };
	g_spawn_sync("/", (char **)argv, f->env, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
		     harness_die_with_parent, NULL, NULL, &err, &status, &error);
	g_assert_no_error(error);
	g_assert_false(g_spawn_check_wait_status(status, NULL));
	/* "Error: GDBus.Error:NAME: message" */
	const char *name = strstr(err, "GDBus.Error:");
	g_assert_nonnull(name);
	name += strlen("GDBus.Error:");
	return g_strndup(name, strcspn(name, ":"));
}

/* "nobody" reads the real connections but cannot move them. */
static void
test_unprivileged(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *sout = NULL, *serr = NULL;

	g_assert_cmpint(harness_vpnctl(f->env, TRUE, &out, &err, "list", NULL), ==, 0);
	g_assert_cmpstr(
		out, ==,
		"site\tdown\t192.0.2.2\nbadpsk\tdown\t192.0.2.2\nnowhere\tdown\t192.0.2.3\n");
	g_assert_cmpint(
		harness_vpnctl(f->env, TRUE, &sout, &serr, "--json", "status", "site", NULL), ==,
		0);
	json_object *st = harness_parse_json(sout);
	g_assert_cmpstr(harness_json_str(st, "remote_address"), ==, "192.0.2.2");
	json_object_put(st);
	check_denied(f, "up");
	check_denied(f, "down");
	g_autofree char *direct = conn_up_as_nobody(f);
	g_assert_cmpstr(direct, ==,
			f->params->open_policy ? "org.vpnd1.Error.PermissionDenied"
					       : "org.freedesktop.DBus.Error.AccessDenied");
	/* nothing moved */
	g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(f->states->len, ==, 0);
	g_autofree char *log = vpnd_log(f, 0);
	g_assert_null(strstr(log, "initiating"));
	stop_vpnd(f, 0);
	stop_vpnd(f, 1);
}

static gboolean
state_is(Fixture *f, gconstpointer want)
{
	g_autofree char *out = NULL, *err = NULL;

	g_assert_cmpint(vpnctl(f, &out, &err, "--json", "status", "site", NULL), ==, 0);
	json_object *st = harness_parse_json(out);
	gboolean same = g_str_equal(harness_json_str(st, "state"), want);
	json_object_put(st);
	return same;
}

/* --no-wait: up and down return at once; the tunnel comes and goes all the same. */
static void
test_no_wait(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *dout = NULL, *derr = NULL;

	g_assert_cmpint(vpnctl(f, &out, &err, "--json", "up", "--no-wait", "site", NULL), ==, 0);
	json_object *obj = harness_parse_json(out);
	g_assert_cmpstr(harness_json_str(obj, "name"), ==, "site");
	g_assert_cmpstr(harness_json_str(obj, "path"), ==, "/org/vpnd1/connection/site");
	json_object_put(obj);
	wait_for(f, state_is, "established", TUNNEL_TIMEOUT_MS, "site established");
	g_assert_cmpint(vpnctl(f, &dout, &derr, "down", "--no-wait", "site", NULL), ==, 0);
	g_assert_cmpstr(dout, ==, "connection \"site\": closing\n");
	wait_for(f, state_is, "down", PEER_DOWN_TIMEOUT_MS, "site down");
	wait_log(f, 1, "CHILD SA net down", PEER_DOWN_TIMEOUT_MS);
	stop_vpnd(f, 0);
	stop_vpnd(f, 1);
}

static void
on_manager_signal(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
		  const char *signal, GVariant *params, gpointer user_data)
{
	GPtrArray *seen = user_data;
	const char *name;

	g_variant_get(params, "(&o&s)", NULL, &name);
	g_ptr_array_add(seen, g_strdup_printf("%s %s", signal, name));
}

static gboolean
saw_manager_signals(Fixture *f, gconstpointer data)
{
	const GPtrArray *seen = data;

	return seen->len >= 2;
}

/*
 * A connection loaded at run time (vpnctl reads the file, vpnd gets its text) comes up
 * like the others; loaded again, its tunnel stays and its counters go on; unloading it
 * takes its tunnel down on both sides. A second client
 * sees ConnectionAdded and ConnectionRemoved.
 */
static void
test_load_up_unload(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *uout = NULL, *uerr = NULL, *nout = NULL,
			*nerr = NULL, *sout = NULL, *serr = NULL, *lout = NULL, *lerr = NULL,
			*rout = NULL, *rerr = NULL, *sjson = NULL, *sjerr = NULL;
	g_autofree char *later = conn_text("later", "192.0.2.1", "192.0.2.2", "a.example.org",
					   "10.1.0.1/32", "10.2.0.1/32");
	g_autofree char *text = g_strdup_printf("connections {\n%s}\n", later);
	g_autofree char *file = path_in(f, "later.conf");
	g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(g_free);
	guint sub = g_dbus_connection_signal_subscribe(
		f->bus->conn, "org.vpnd1", "org.vpnd1.Manager", NULL, "/org/vpnd1", NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, on_manager_signal, seen, NULL);

	write_in(f, "later.conf", text);
	g_assert_cmpint(vpnctl(f, &lout, &lerr, "load", file, NULL), ==, 0);
	g_assert_cmpstr(lout, ==, "loaded connection \"later\"\n");
	g_assert_cmpint(vpnctl(f, &out, &err, "up", "later", NULL), ==, 0);
	g_assert_cmpstr(out, ==, "connection \"later\" established (192.0.2.1 - 192.0.2.2)\n");
	g_assert_true(pings(f));
	/* loaded again with its tunnel up: the tunnel stays and its counters go on */
	g_assert_cmpint(vpnctl(f, &rout, &rerr, "load", file, NULL), ==, 0);
	g_assert_true(pings(f));
	g_assert_cmpint(vpnctl(f, &sjson, &sjerr, "status", "--json", "later", NULL), ==, 0);
	json_object *st = harness_parse_json(sjson);
	g_assert_cmpstr(harness_json_str(st, "state"), ==, "established");
	g_assert_cmpint(harness_json_int(st, "packets_out"), >=, 6);
	g_assert_cmpint(harness_json_int(st, "bytes_in"), >=, 6 * 84);
	json_object_put(st);
	g_assert_cmpint(vpnctl(f, &uout, &uerr, "unload", "later", NULL), ==, 0);
	g_assert_cmpstr(uout, ==, "connection \"later\": unloaded\n");
	wait_log(f, 1, "down: deleted by peer", PEER_DOWN_TIMEOUT_MS);
	g_assert_cmpint(vpnctl(f, &sout, &serr, "status", "later", NULL), ==, EXIT_NOT_FOUND);
	g_assert_cmpint(vpnctl(f, &nout, &nerr, "list", NULL), ==, 0);
	g_assert_null(strstr(nout, "later"));
	wait_for(f, saw_manager_signals, seen, PEER_DOWN_TIMEOUT_MS, "ConnectionAdded/Removed");
	g_assert_cmpstr(seen->pdata[0], ==, "ConnectionAdded later");
	g_assert_cmpstr(seen->pdata[1], ==, "ConnectionRemoved later");
	g_dbus_connection_signal_unsubscribe(f->bus->conn, sub);
	stop_vpnd(f, 0);
	stop_vpnd(f, 1);
}

/* The completion offers the connections vpnd has, as `vpnctl list` names them. */
static void
test_completion_names(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *out = NULL;
	g_autofree char *completion =
		g_build_filename(g_getenv("VPND_SOURCE_ROOT"), "cli", "completion", "vpnctl", NULL);
	g_autofree char *cli = harness_build_path("cli");
	g_autofree char *script = g_strdup_printf(
		"PATH=%s:$PATH; . %s; COMP_WORDS=(vpnctl up ''); COMP_CWORD=2; _vpnctl; "
		"printf '%%s\\n' \"${COMPREPLY[@]}\"",
		cli, completion);
	const char *argv[] = { "bash", "-c", script, NULL };
	int status;

	g_spawn_sync(NULL, (char **)argv, f->env, G_SPAWN_SEARCH_PATH, harness_die_with_parent,
		     NULL, &out, NULL, &status, &error);
	g_assert_no_error(error);
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	g_assert_cmpstr(out, ==, "site\nbadpsk\nnowhere\n");
	stop_vpnd(f, 0);
	stop_vpnd(f, 1);
}

static const Params strict = { FALSE };
static const Params open_policy = { TRUE };

int
main(int argc, char **argv)
{
	if (getuid() != 0) {
		printf("1..0 # SKIP needs root (network namespaces, vpnd owns org.vpnd1)\n");
		return 77;
	}
	g_test_init(&argc, &argv, NULL);
#define ADD(path, params, func)                                                                    \
	g_test_add(path, Fixture, params, fixture_setup, func, fixture_teardown)
	ADD("/dbus-tunnel/up-status-down", &strict, test_up_status_down);
	ADD("/dbus-tunnel/no-wait", &strict, test_no_wait);
	ADD("/dbus-tunnel/errors", &strict, test_errors);
	ADD("/dbus-tunnel/unprivileged/bus-policy", &strict, test_unprivileged);
	ADD("/dbus-tunnel/unprivileged/daemon-check", &open_policy, test_unprivileged);
	ADD("/dbus-tunnel/load-up-unload", &strict, test_load_up_unload);
	ADD("/dbus-tunnel/completion", &strict, test_completion_names);
	return g_test_run();
}
