/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Debian's real swanctl (strongSwan 5.9.8) against the real vpnd: what swanctl prints
 * must be what it prints against charon (vici.md §6.2), with vpnd's data. Then raw
 * protocol abuse (garbage, oversized and truncated frames, clients that never read)
 * must leave vpnd serving.
 *
 * Every child runs under `timeout -s KILL`; vpnd is killed by its PID if a test fails.
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "vpnd-config.h"

#define SWANCTL "/usr/sbin/swanctl"
#define CHARON "/usr/lib/ipsec/charon"
#define CHILD_TIMEOUT "30" /* seconds, for every swanctl run */
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
#define READ_TIMEOUT_MS 3000

typedef struct {
	char *dir;
	char *config;
	char *socket;
	char *stderr_path;
	GSubprocess *vpnd;
	char **env; /* for swanctl: STRONGSWAN_CONF */
} Fixture;

static const char *
vpnd_path(void)
{
	static char *path;

	if (!path)
		path = g_build_filename(g_getenv("VPND_BUILD_ROOT"), "daemon", "vpnd", NULL);
	return path;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, &error));
	g_assert_no_error(error);
}

static void
write_config(Fixture *f, const char *extra)
{
	g_autofree char *text = g_strdup_printf("plugins {\n\tdir = %s/plugins\n}\n"
						"vici {\n\tsocket = unix://%s\n}\n"
						/* the host's system bus is not the test's */
						"dbus {\n\tenable = no\n}\n"
						"log {\n\tdefault = message\n\tvici = debug\n}\n%s",
						f->dir, f->socket, extra ? extra : "");
	write_file(f->dir, "vpnd.conf", text);
}

/* Children die with the test, even when a failed assertion aborts it before teardown. */
static void
die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* A unix socket that accepts connections at @path. */
static gboolean
can_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	gboolean ok;

	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/*
 * Starts vpnd and waits for f->socket. With @listen_fd >= 0 it is passed as systemd
 * does (fd 3, LISTEN_FDS=1, LISTEN_FDNAMES=@name); else vpnd binds its sockets.
 */
static void
start_vpnd(Fixture *f, int listen_fd, const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);

	g_subprocess_launcher_unsetenv(l, "NOTIFY_SOCKET");
	g_subprocess_launcher_unsetenv(l, "JOURNAL_STREAM");
	g_subprocess_launcher_unsetenv(l, "LISTEN_FDS");
	g_subprocess_launcher_unsetenv(l, "LISTEN_FDNAMES");
	g_subprocess_launcher_set_stderr_file_path(l, f->stderr_path);
	g_subprocess_launcher_set_child_setup(l, die_with_parent, NULL, NULL);
	if (listen_fd >= 0) {
		g_subprocess_launcher_take_fd(l, listen_fd, 3);
		g_subprocess_launcher_setenv(l, "LISTEN_FDS", "1", TRUE);
		g_subprocess_launcher_setenv(l, "LISTEN_FDNAMES", name ? name : "vici", TRUE);
		/* LISTEN_PID is vpnd's own: the shell's, which execs it */
		f->vpnd = g_subprocess_launcher_spawn(l, &error, "/bin/sh", "-c",
						      "LISTEN_PID=$$ exec \"$0\" \"$@\"",
						      vpnd_path(), "--config", f->config, NULL);
	} else {
		f->vpnd = g_subprocess_launcher_spawn(l, &error, vpnd_path(), "--config", f->config,
						      NULL);
	}
	g_assert_no_error(error);

	/* running: its signal handlers are set, so SIGTERM stops it cleanly */
	gint64 deadline = g_get_monotonic_time() + START_TIMEOUT_MS * 1000;
	for (;;) {
		g_autofree char *log = NULL;

		g_file_get_contents(f->stderr_path, &log, NULL, NULL);
		if (can_connect(f->socket) && log && strstr(log, " running, plugins: "))
			break;
		if (g_get_monotonic_time() > deadline || !g_subprocess_get_identifier(f->vpnd))
			g_error("vpnd did not open %s; its stderr:\n%s", f->socket, log);
		g_usleep(10 * 1000);
	}
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_test(SWANCTL, G_FILE_TEST_IS_EXECUTABLE))
		g_error(SWANCTL
			" is missing: run scripts/install-deps (package strongswan-swanctl)");
	f->dir = g_dir_make_tmp("vpnd-vici-XXXXXX", &error);
	g_assert_no_error(error);
	f->config = g_build_filename(f->dir, "vpnd.conf", NULL);
	f->socket = g_build_filename(f->dir, "vici", NULL);
	f->stderr_path = g_build_filename(f->dir, "vpnd.stderr", NULL);
	g_autofree char *plugins = g_build_filename(f->dir, "plugins", NULL);
	g_assert_cmpint(g_mkdir(plugins, 0700), ==, 0);
	write_config(f, data); /* a test's extra settings, or NULL */
	/* swanctl's own plugins: only what exists without the Recommends, so it stays quiet */
	write_file(f->dir, "strongswan.conf", "swanctl {\n\tload = pem\n}\n");
	g_autofree char *sconf = g_build_filename(f->dir, "strongswan.conf", NULL);
	f->env = g_environ_setenv(g_get_environ(), "STRONGSWAN_CONF", sconf, TRUE);

	start_vpnd(f, -1, NULL);
}

static char *
vpnd_stderr(Fixture *f)
{
	char *text = NULL;

	g_file_get_contents(f->stderr_path, &text, NULL, NULL);
	return text ? text : g_strdup("");
}

/* Waits for @p to exit (GLib's worker thread reaps it); FALSE on timeout. */
static gboolean
wait_exit(GSubprocess *p, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (g_subprocess_get_identifier(p) && g_get_monotonic_time() < deadline)
		g_usleep(5 * 1000);
	return g_subprocess_get_identifier(p) == NULL;
}

/* SIGTERM: vpnd exits 0. */
static void
stop_vpnd_keep_socket(Fixture *f)
{
	g_subprocess_send_signal(f->vpnd, SIGTERM);
	if (!wait_exit(f->vpnd, STOP_TIMEOUT_MS))
		g_error("vpnd did not stop on SIGTERM");
	g_autofree char *err = vpnd_stderr(f);
	if (!g_subprocess_get_if_exited(f->vpnd) || g_subprocess_get_exit_status(f->vpnd) != 0)
		g_error("vpnd did not exit cleanly; its stderr:\n%s", err);
	g_clear_object(&f->vpnd);
}

/* SIGTERM: vpnd exits 0 and removes the socket it made. */
static void
stop_vpnd(Fixture *f)
{
	stop_vpnd_keep_socket(f);
	g_assert_false(g_file_test(f->socket, G_FILE_TEST_EXISTS));
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	if (f->vpnd) {
		/* the test failed while vpnd ran: do not leave it behind */
		g_subprocess_force_exit(f->vpnd);
		wait_exit(f->vpnd, STOP_TIMEOUT_MS);
		g_clear_object(&f->vpnd);
	}
	const char *names[] = { "vpnd.conf",  "vpnd.stderr",   "strongswan.conf", "pools.conf",
				"vici",       "swanctl.conf",  "charon.conf",     "charon.vici",
				"charon.log", "charon.stderr", "conf.d/a.conf",   "conf.d" };
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *p = g_build_filename(f->dir, names[i], NULL);
		if (g_unlink(p) != 0)
			g_rmdir(p);
	}
	g_autofree char *plugins = g_build_filename(f->dir, "plugins", NULL);
	g_rmdir(plugins);
	g_rmdir(f->dir);
	g_free(f->dir);
	g_free(f->config);
	g_free(f->socket);
	g_free(f->stderr_path);
	g_strfreev(f->env);
}

/* Runs swanctl with @args and --uri @uri (NULL: vpnd's); returns its exit code. */
static int
swanctl_va(Fixture *f, const char *uri, char **out, char **err, va_list ap)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	int status;

	g_ptr_array_add(argv, g_strdup("timeout"));
	g_ptr_array_add(argv, g_strdup("-s"));
	g_ptr_array_add(argv, g_strdup("KILL"));
	g_ptr_array_add(argv, g_strdup(CHILD_TIMEOUT));
	g_ptr_array_add(argv, g_strdup(SWANCTL));
	for (const char *a; (a = va_arg(ap, const char *));)
		g_ptr_array_add(argv, g_strdup(a));
	g_ptr_array_add(argv, g_strdup("--uri"));
	g_ptr_array_add(argv, uri ? g_strdup(uri) : g_strdup_printf("unix://%s", f->socket));
	g_ptr_array_add(argv, NULL);
	g_spawn_sync(f->dir, (char **)argv->pdata, f->env, G_SPAWN_SEARCH_PATH, die_with_parent,
		     NULL, out, err, &status, &error);
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int
swanctl(Fixture *f, char **out, char **err, ...)
{
	va_list ap;
	int rc;

	va_start(ap, err);
	rc = swanctl_va(f, NULL, out, err, ap);
	va_end(ap);
	return rc;
}

static int
swanctl_uri(Fixture *f, const char *uri, char **out, char **err, ...)
{
	va_list ap;
	int rc;

	va_start(ap, err);
	rc = swanctl_va(f, uri, out, err, ap);
	va_end(ap);
	return rc;
}

/* Replaces what legitimately varies (vici.md Appendix C) by fixed text. */
static char *
mask(const char *text, const char *pattern, const char *replacement)
{
	g_autoptr(GRegex) re = g_regex_new(pattern, G_REGEX_MULTILINE, 0, NULL);

	g_assert_nonnull(re);
	return g_regex_replace(re, text, -1, 0, replacement, 0, NULL);
}

static void
test_version(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *dout = NULL, *derr = NULL;
	struct utsname u;

	g_assert_cmpint(swanctl(f, &out, &err, "--version", NULL), ==, 0);
	g_assert_cmpstr(out, ==, "strongSwan swanctl 5.9.8\n");
	g_assert_cmpstr(err, ==, "");

	/* as version-daemon.out.txt, with vpnd's data */
	g_assert_cmpint(uname(&u), ==, 0);
	g_autofree char *expect = g_strdup_printf("strongSwan %s vpnd (%s, %s, %s)\n", VPND_VERSION,
						  u.sysname, u.release, u.machine);
	g_assert_cmpint(swanctl(f, &dout, &derr, "--version", "--daemon", NULL), ==, 0);
	g_assert_cmpstr(dout, ==, expect);
	g_assert_cmpstr(derr, ==, "");
	stop_vpnd(f);
}

/* swanctl --list-algs: every class header, each algorithm with the plugin offering it. */
static void
test_list_algs(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL;

	g_assert_cmpint(swanctl(f, &out, &err, "--list-algs", NULL), ==, 0);
	g_assert_cmpstr(err, ==, "");
	g_assert_true(g_str_has_prefix(out, "encryption:\n  AES_CBC[crypto-gnutls]\n"));
	g_assert_nonnull(strstr(out, "\naead:\n  AES_GCM_16[crypto-gnutls]\n"));
	g_assert_nonnull(strstr(out, "  CHACHA20_POLY1305[crypto-gnutls]\n"));
	g_assert_nonnull(strstr(out, "\ndh:\n"));
	g_assert_nonnull(strstr(out, "  CURVE_25519[crypto-gnutls]\n"));
	g_assert_nonnull(strstr(out, "\nkdf:\n  KDF_PRF_PLUS[vpnd]\n"));
	/* classes vpnd has nothing for still show their header */
	g_assert_nonnull(strstr(out, "\nxof:\n"));
	g_assert_true(g_str_has_suffix(out, "\nnonce-gen:\n"));
	/* the plugin that was not loaded is not listed */
	g_assert_null(strstr(out, "crypto-openssl"));
	g_assert_null(strstr(out, "crypto-sodium"));
	stop_vpnd(f);
}

#ifdef VPND_HAVE_SODIUM
/* With crypto-sodium loaded: Curve25519 from it first, everything else as before. */
static void
test_list_algs_sodium(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL;

	g_assert_cmpint(swanctl(f, &out, &err, "--list-algs", NULL), ==, 0);
	g_assert_cmpstr(err, ==, "");
	g_assert_true(g_str_has_prefix(out, "encryption:\n  AES_CBC[crypto-gnutls]\n"));
	g_assert_nonnull(strstr(out, "\naead:\n  AES_GCM_16[crypto-gnutls]\n"));
	g_assert_nonnull(strstr(out, "\ndh:\n  CURVE_25519[crypto-sodium]\n"));
	g_assert_nonnull(strstr(out, "  CURVE_25519[crypto-gnutls]\n"));
	/* one algorithm: nothing else of crypto-sodium's but its random bytes */
	g_assert_null(strstr(out, "CURVE_448[crypto-sodium]"));
	g_assert_null(strstr(out, "AES_GCM_16[crypto-sodium]"));
	g_assert_nonnull(strstr(out, "  RNG_STRONG[crypto-sodium]\n"));
	stop_vpnd(f);
}
#endif

static void
test_stats(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *raw = NULL, *rerr = NULL;

	g_assert_cmpint(swanctl(f, &out, &err, "--stats", NULL), ==, 0);
	g_assert_cmpstr(err, ==, "");
	g_autofree char *m1 = mask(out,
				   "^uptime: \\d+ (second|minute)s?, since "
				   "[A-Z][a-z]{2} \\d{2} \\d{2}:\\d{2}:\\d{2} \\d{4}$",
				   "uptime: N, since DATE");
	g_autofree char *m2 =
		mask(m1, "^mallinfo: sbrk \\d+, mmap \\d+, used \\d+, free \\d+$", "mallinfo: N");
	g_assert_cmpstr(m2, ==,
			"uptime: N, since DATE\n"
			"worker threads: 1 total, 0 idle, working: 0/0/1/0\n"
			"job queues: 0/0/0/0\n"
			"jobs scheduled: 0\n"
			"IKE_SAs: 0 total, 0 half-open\n"
			"mallinfo: N\n"
			"loaded plugins:\n");

	/* the tree itself, in charon's key order (stats.s2c.hex) */
	g_assert_cmpint(swanctl(f, &raw, &rerr, "--stats", "--raw", NULL), ==, 0);
	g_autofree char *m3 = mask(raw, "\\d+ seconds?|[A-Z][a-z]{2} \\d{2} [\\d:]{8} \\d{4}", "T");
	g_autofree char *m4 = mask(m3, "(sbrk|mmap|used|free)=\\d+", "\\1=N");
	g_assert_cmpstr(m4, ==,
			"stats reply {uptime {running=T since=T} workers {total=1 idle=0 active "
			"{critical=0 high=0 medium=1 low=0}} queues {critical=0 high=0 medium=0 "
			"low=0} scheduled=0 ikesas {total=0 half-open=0} plugins=[] mallinfo "
			"{sbrk=N mmap=N used=N free=N}}\n");
	stop_vpnd(f);
}

static void
test_reload_settings(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *bout = NULL, *berr = NULL;

	/* success prints nothing (vici.md §6.2) */
	g_assert_cmpint(swanctl(f, &out, &err, "--reload-settings", NULL), ==, 0);
	g_assert_cmpstr(out, ==, "");
	g_assert_cmpstr(err, ==, "");

	/* a broken file is refused and said so; the old settings stay */
	write_config(f, "}\n");
	g_assert_cmpint(swanctl(f, &bout, &berr, "--reload-settings", NULL), ==, 1);
	g_assert_cmpstr(bout, ==, "");
	g_assert_true(
		g_str_has_prefix(berr, "reload-settings failed: reloading settings failed: "));
	g_assert_nonnull(strstr(berr, "vpnd.conf:14:1"));
	write_config(f, NULL);

	g_autofree char *log = vpnd_stderr(f);
	g_assert_nonnull(strstr(log, "settings reloaded from"));
	g_assert_nonnull(strstr(log, "reload failed, keeping the current settings"));
	stop_vpnd(f);
}

/* Reads what @stream has until @needle appears or @timeout_ms pass. */
static gboolean
read_until(GInputStream *stream, GString *acc, const char *needle, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (!strstr(acc->str, needle) && g_get_monotonic_time() < deadline) {
		char buf[1024];
		g_autoptr(GError) error = NULL;
		gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(stream),
								    buf, sizeof(buf), NULL, &error);
		if (n > 0)
			g_string_append_len(acc, buf, n);
		else if (n == 0)
			break;
		else
			g_usleep(10 * 1000);
	}
	return strstr(acc->str, needle) != NULL;
}

static void
test_log(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *uri = g_strdup_printf("unix://%s", f->socket);
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(
		G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *rout = NULL, *rerr = NULL;

	g_subprocess_launcher_set_environ(l, f->env);
	g_subprocess_launcher_set_child_setup(l, die_with_parent, NULL, NULL);
	/* swanctl's stdout is a pipe here: line-buffer it so lines arrive as printed */
	g_autoptr(GSubprocess) logger =
		g_subprocess_launcher_spawn(l, &error, "timeout", "-s", "KILL", CHILD_TIMEOUT,
					    "stdbuf", "-oL", SWANCTL, "--log", "--uri", uri, NULL);
	g_assert_no_error(error);

	/* registered once vpnd confirmed it (vici debug log) */
	gint64 deadline = g_get_monotonic_time() + START_TIMEOUT_MS * 1000;
	for (;;) {
		g_autofree char *log = vpnd_stderr(f);
		if (strstr(log, "EVENT_REGISTER log: confirmed"))
			break;
		if (g_get_monotonic_time() > deadline) {
			g_subprocess_force_exit(logger);
			g_error("swanctl --log did not register; vpnd said:\n%s", log);
		}
		g_usleep(10 * 1000);
	}

	g_assert_cmpint(swanctl(f, &rout, &rerr, "--reload-settings", NULL), ==, 0);
	/* the main thread is 01; core logs as charon's DMN group (vici.md §6.2 --log) */
	g_autofree char *expect = g_strdup_printf("01[DMN] settings reloaded from %s\n", f->config);
	gboolean seen =
		read_until(g_subprocess_get_stdout_pipe(logger), out, expect, READ_TIMEOUT_MS);

	g_subprocess_send_signal(logger, SIGINT);
	g_assert_true(wait_exit(logger, STOP_TIMEOUT_MS));
	if (!seen)
		g_error("swanctl --log printed \"%s\", expected \"%s\"", out->str, expect);
	g_assert_cmpstr(out->str, ==, expect);
	stop_vpnd(f);
}

static void
test_empty_lists(Fixture *f, gconstpointer data)
{
	static const char *const cmds[][2] = {
		{ "--list-sas", "list-sas reply {}\n" },
		{ "--list-conns", "list-conns reply {}\n" },
		{ "--list-pols", "list-policies reply {}\n" },
		{ "--list-certs", "list-certs reply {}\n" },
		{ "--list-pools", "get-pools reply {}\n" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cmds); i++) {
		g_autofree char *out = NULL, *err = NULL, *raw = NULL, *rerr = NULL;

		/* nothing to list prints nothing (list-sas-empty.out.txt) */
		g_assert_cmpint(swanctl(f, &out, &err, cmds[i][0], NULL), ==, 0);
		g_assert_cmpstr(out, ==, "");
		g_assert_cmpstr(err, ==, "");
		g_assert_cmpint(swanctl(f, &raw, &rerr, cmds[i][0], "--raw", NULL), ==, 0);
		g_assert_cmpstr(raw, ==, cmds[i][1]);
	}
	stop_vpnd(f);
}

static void
test_unsupported(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *iout = NULL, *ierr = NULL;
	g_autofree char *cout = NULL, *cerr = NULL, *rout = NULL, *rerr = NULL;
	g_autofree char *pools = g_build_filename(f->dir, "pools.conf", NULL);

	write_file(f->dir, "pools.conf", "pools {\n\tp1 {\n\t\taddrs = 10.3.0.0/33\n\t}\n}\n");
	/* failed objects: stderr and EINVAL (vici.md §6.2 --load-all) */
	g_assert_cmpint(swanctl(f, &out, &err, "--load-pools", "--file", pools, NULL), ==, 22);
	g_assert_cmpstr(out, ==, "");
	g_assert_cmpstr(err, ==,
			"loading pool 'p1' failed: pool p1: \"10.3.0.0/33\" is not an address, a "
			"subnet or a range\n"
			"loaded 0 of 1 pools, 1 failed to load, 0 unloaded\n");

	g_assert_cmpint(swanctl(f, &iout, &ierr, "--rekey", "--ike", "net", NULL), ==, 1);
	g_assert_cmpstr(iout, ==, "");
	g_assert_cmpstr(ierr, ==, "rekey failed: no matching SAs to rekey found\n");
	g_assert_cmpint(swanctl(f, &rout, &rerr, "--redirect", "--ike", "net", "--gateway",
				"192.0.2.9", NULL),
			==, 1);
	g_assert_cmpstr(rerr, ==, "redirect failed: redirect not supported by vpnd yet\n");

	/* what vpnd cannot do is refused with the reason, not loaded halfway */
	g_autofree char *conns = g_build_filename(f->dir, "swanctl.conf", NULL);
	g_autofree char *lout = NULL, *lerr = NULL, *lraw = NULL, *lrerr = NULL;
	write_file(f->dir, "swanctl.conf",
		   "connections {\n\tcert {\n\t\tlocal {\n\t\t\tauth = pubkey\n\t\t}\n\t}\n"
		   "\tv1 {\n\t\tversion = 1\n\t}\n}\n");
	g_assert_cmpint(swanctl(f, &lout, &lerr, "--load-conns", "--file", conns, NULL), ==, 22);
	g_assert_cmpstr(lerr, ==,
			"loading connection 'cert' failed: local: auth: only psk is supported\n"
			"loading connection 'v1' failed: v1: version: only IKEv2 is supported\n"
			"loaded 0 of 2 connections, 2 failed to load, 0 unloaded\n");
	g_assert_cmpint(swanctl(f, &lraw, &lrerr, "--list-conns", "--raw", NULL), ==, 0);
	g_assert_cmpstr(lraw, ==, "list-conns reply {}\n");

	/* install / uninstall of a child no connection has: charon's messages */
	g_assert_cmpint(swanctl(f, &cout, &cerr, "--install", "--child", "net", NULL), ==, 1);
	g_assert_cmpstr(cerr, ==, "install failed: configuration name not found\n");
	g_clear_pointer(&cout, g_free);
	g_clear_pointer(&cerr, g_free);
	g_assert_cmpint(swanctl(f, &cout, &cerr, "--uninstall", "--child", "net", NULL), ==, 1);
	g_assert_cmpstr(cerr, ==, "uninstall failed: policy 'net' not found\n");
	stop_vpnd(f);
}

/* ---- connections, keys and pools ---- */

/* Several connections, two PSKs and three pools, as an admin's swanctl.conf has them.
 * Every value is explicit where charon's defaults differ from vpnd's (vpnd speaks
 * IKEv2 only, rekeys only when told, and authenticates with a PSK when no auth is
 * given). */
static const char golden_conf[] =
	"connections {\n"
	"\tgw {\n"
	"\t\tversion = 2\n"
	"\t\tlocal_addrs = 192.0.2.1\n"
	"\t\tremote_addrs = 192.0.2.2\n"
	"\t\tproposals = aes256gcm16-prfsha256-x25519\n"
	"\t\trekey_time = 4h\n"
	"\t\tdpd_delay = 30s\n"
	"\t\tlocal {\n\t\t\tauth = psk\n\t\t\tid = moon.example.org\n\t\t}\n"
	"\t\tremote {\n\t\t\tauth = psk\n\t\t\tid = sun.example.org\n\t\t}\n"
	"\t\tchildren {\n"
	"\t\t\tnet {\n"
	"\t\t\t\tlocal_ts = 10.1.0.0/24\n"
	"\t\t\t\tremote_ts = 10.2.0.0/24, 10.3.0.0/16\n"
	"\t\t\t\tesp_proposals = aes256gcm16\n"
	"\t\t\t\trekey_time = 1h\n"
	"\t\t\t}\n"
	"\t\t\thost {\n"
	"\t\t\t\tlocal_ts = 10.1.0.5/32[tcp/443]\n"
	"\t\t\t\tremote_ts = 10.2.0.0-10.2.0.9\n"
	"\t\t\t\trekey_time = 30m\n"
	"\t\t\t\tmode = transport\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t}\n"
	"\troad {\n"
	"\t\tversion = 2\n"
	"\t\tlocal_addrs = 192.0.2.1\n"
	"\t\trekey_time = 0\n"
	"\t\tlocal {\n\t\t\tauth = psk\n\t\t\tid = moon.example.org\n\t\t}\n"
	"\t\tremote {\n\t\t\tauth = psk\n\t\t}\n"
	"\t\tchildren {\n"
	"\t\t\tall {\n\t\t\t\tremote_ts = 10.8.0.0/16, fd00:8::/64[udp/1000-2000]\n"
	"\t\t\t\trekey_time = 0\n\t\t\t}\n"
	"\t\t}\n"
	"\t}\n"
	"\tv6 {\n"
	"\t\tversion = 2\n"
	"\t\tremote_addrs = 2001:db8::2\n"
	"\t\trekey_time = 1d\n"
	"\t\tlocal {\n\t\t\tauth = psk\n\t\t}\n"
	"\t\tremote {\n\t\t\tauth = psk\n\t\t\tid = @peer.example.net\n\t\t}\n"
	"\t\tchildren {\n"
	"\t\t\tv6 {\n\t\t\t\tlocal_ts = 2001:db8:1::/48\n\t\t\t\trekey_time = 2h\n\t\t\t}\n"
	"\t\t}\n"
	"\t}\n"
	"}\n"
	"secrets {\n"
	"\tike-gw {\n\t\tid-1 = moon.example.org\n\t\tid-2 = sun.example.org\n"
	"\t\tsecret = \"a test secret, not a real one\"\n\t}\n"
	"\tike-road {\n\t\tsecret = 0x0123456789abcdef\n\t}\n"
	"}\n"
	"pools {\n"
	"\tp4 {\n\t\taddrs = 10.3.0.0/28\n\t}\n"
	"\tp6 {\n\t\taddrs = fd00::/120\n\t}\n"
	"\trange {\n\t\taddrs = 10.4.0.10-10.4.0.20\n\t}\n"
	"}\n";

/* vpnd binds its IKE sockets with the first connection: loopback, ports the kernel picks */
#define NET_LOOPBACK                                                                               \
	"net {\n\tport = 0\n\tport_nat_t = 0\n\taddresses = 127.0.0.1\n}\nlog {\n\tike = "         \
	"info\n}\n"

/* Lines swanctl prints about credential folders it cannot find: they depend on the
 * client's configuration, not on the daemon. */
static char *
without_folder_noise(const char *text)
{
	return mask(text, "^opening directory '.*' failed: .*\n", "");
}

static void
load_all(Fixture *f, const char *uri, char **out)
{
	g_autofree char *path = g_build_filename(f->dir, "swanctl.conf", NULL);
	g_autofree char *raw = NULL, *err = NULL;

	g_assert_cmpint(swanctl_uri(f, uri, &raw, &err, "--load-all", "--file", path, NULL), ==, 0);
	*out = without_folder_noise(raw);
	g_autofree char *err_clean = without_folder_noise(err);
	g_assert_cmpstr(err_clean, ==, "");
}

static void
test_load_all(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *conns = NULL, *err = NULL, *raw = NULL, *rerr = NULL;
	g_autofree char *again = NULL;

	write_file(f->dir, "swanctl.conf", golden_conf);
	load_all(f, NULL, &out);
	g_assert_cmpstr(out, ==,
			"loaded ike secret 'ike-gw'\n"
			"loaded ike secret 'ike-road'\n"
			"no authorities found, 0 unloaded\n"
			"loaded pool 'p4'\n"
			"loaded pool 'p6'\n"
			"loaded pool 'range'\n"
			"successfully loaded 3 pools, 0 unloaded\n"
			"loaded connection 'gw'\n"
			"loaded connection 'road'\n"
			"loaded connection 'v6'\n"
			"successfully loaded 3 connections, 0 unloaded\n");
	/* vpnd started without connections: the first one opened the IKE sockets */
	g_autofree char *log = vpnd_stderr(f);
	g_assert_nonnull(strstr(log, "IKE on UDP"));
	g_assert_null(strstr(log, "a test secret"));

	g_assert_cmpint(swanctl(f, &conns, &err, "--list-conns", NULL), ==, 0);
	g_assert_true(g_str_has_prefix(conns, "gw: IKEv2, no reauthentication, rekeying every "
					      "14400s, dpd delay 30s\n"));
	g_assert_nonnull(strstr(conns, "\nroad: IKEv2, no reauthentication, no rekeying\n"));
	g_assert_nonnull(strstr(conns, "  host: TRANSPORT, rekeying every 1800s"));

	/* swanctl asks get-conns/get-shared/get-pools first: what is gone is unloaded */
	g_autofree char *smaller =
		mask(golden_conf, "\tv6 \\{(.|\n)*\n\t\\}\n\\}\nsecrets", "}\nsecrets");
	write_file(f->dir, "swanctl.conf", smaller);
	load_all(f, NULL, &again);
	g_assert_nonnull(strstr(again, "successfully loaded 2 connections, 1 unloaded\n"));
	g_assert_cmpint(swanctl(f, &raw, &rerr, "--list-conns", "--raw", NULL), ==, 0);
	g_assert_null(strstr(raw, "v6 {"));
	g_assert_nonnull(strstr(raw, "list-conn event {road {"));

	/* --clear forgets every key first (clear-creds), then loads the file's again */
	g_autofree char *path = g_build_filename(f->dir, "swanctl.conf", NULL);
	g_autofree char *creds = NULL, *cerr = NULL;
	g_assert_cmpint(swanctl(f, &creds, &cerr, "--load-creds", "--clear", "--file", path, NULL),
			==, 0);
	g_autofree char *creds_clean = without_folder_noise(creds);
	g_assert_cmpstr(creds_clean, ==,
			"loaded ike secret 'ike-gw'\nloaded ike secret 'ike-road'\n");
	g_autofree char *log2 = vpnd_stderr(f);
	g_assert_nonnull(strstr(log2, "2 shared keys cleared"));
	g_assert_null(strstr(log2, "a test secret"));
	stop_vpnd(f);

	/* the same file in conf_dir at start-up: the same path in, the same listing out */
	g_autofree char *confd = g_build_filename(f->dir, "conf.d", NULL);
	g_assert_cmpint(g_mkdir(confd, 0700), ==, 0);
	write_file(confd, "a.conf", golden_conf);
	g_autofree char *with_dir = g_strdup_printf("%sconf_dir = %s\n", NET_LOOPBACK, confd);
	write_config(f, with_dir);
	start_vpnd(f, -1, NULL);
	g_autofree char *again_conns = NULL, *again_err = NULL, *pools = NULL, *perr = NULL;
	g_assert_cmpint(swanctl(f, &again_conns, &again_err, "--list-conns", NULL), ==, 0);
	g_assert_cmpstr(again_conns, ==, conns);
	g_assert_cmpint(swanctl(f, &pools, &perr, "--list-pools", NULL), ==, 0);
	g_assert_nonnull(strstr(pools, "p4                   10.3.0.0 "));
	stop_vpnd(f);
}

/* charon, started by the test: in its own network namespace (its sockets bind nothing
 * of the host's) and mount namespace (its pid file lives in /run). (transfer full) */
static GSubprocess *
start_charon(Fixture *f, char **uri)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *sock = g_build_filename(f->dir, "charon.vici", NULL);
	g_autofree char *conf = g_strdup_printf(
		"charon {\n"
		"\tload_modular = no\n"
		"\tload = random nonce openssl pem pkcs1 x509 pubkey kdf vici socket-default "
		"kernel-netlink attr\n"
		"\tinstall_virtual_ip = no\n"
		"\tsyslog {\n\t\tdaemon {\n\t\t\tdefault = -1\n\t\t}\n\t}\n"
		"\tfilelog {\n\t\tmain {\n\t\t\tpath = %s/charon.log\n\t\t\tdefault = "
		"1\n\t\t}\n\t}\n"
		"\tplugins {\n\t\tvici {\n\t\t\tsocket = unix://%s\n\t\t}\n\t}\n"
		"}\n",
		f->dir, sock);
	g_autofree char *conf_path = g_build_filename(f->dir, "charon.conf", NULL);
	g_autofree char *err_path = g_build_filename(f->dir, "charon.stderr", NULL);

	write_file(f->dir, "charon.conf", conf);
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_subprocess_launcher_setenv(l, "STRONGSWAN_CONF", conf_path, TRUE);
	g_subprocess_launcher_set_stderr_file_path(l, err_path);
	g_subprocess_launcher_set_stdout_file_path(l, "/dev/null");
	g_subprocess_launcher_set_child_setup(l, die_with_parent, NULL, NULL);
	/* unshare and sh exec: the process is charon itself, so its PID is what we stop */
	GSubprocess *charon = g_subprocess_launcher_spawn(
		l, &error, "unshare", "--net", "--mount", "--propagation", "private", "--", "sh",
		"-c", "mount -t tmpfs -o size=4m vpnd-vici-test /run && exec \"$0\"", CHARON, NULL);
	g_assert_no_error(error);
	gint64 deadline = g_get_monotonic_time() + START_TIMEOUT_MS * 1000;
	while (!can_connect(sock)) {
		if (g_get_monotonic_time() > deadline || !g_subprocess_get_identifier(charon)) {
			g_autofree char *text = NULL;
			g_file_get_contents(err_path, &text, NULL, NULL);
			g_error("charon did not open %s; its stderr:\n%s", sock, text);
		}
		g_usleep(20 * 1000);
	}
	*uri = g_strdup_printf("unix://%s", sock);
	return charon;
}

static void
stop_charon(GSubprocess *charon)
{
	g_subprocess_send_signal(charon, SIGTERM);
	if (!wait_exit(charon, STOP_TIMEOUT_MS)) {
		g_subprocess_force_exit(charon);
		wait_exit(charon, STOP_TIMEOUT_MS);
	}
}

/* What swanctl prints for the same swanctl.conf, against charon and against vpnd. */
static void
test_golden(Fixture *f, gconstpointer data)
{
	g_autofree char *uri = NULL;

	if (getuid() != 0) {
		g_test_skip("starting charon needs root (network and mount namespaces)");
		stop_vpnd(f);
		return;
	}
	if (!g_file_test(CHARON, G_FILE_TEST_IS_EXECUTABLE))
		g_error(CHARON " is missing: run scripts/install-deps (package strongswan-charon)");
	write_file(f->dir, "swanctl.conf", golden_conf);
	g_autoptr(GSubprocess) charon = start_charon(f, &uri);
	g_autofree char *c_load = NULL, *v_load = NULL;
	load_all(f, uri, &c_load);
	load_all(f, NULL, &v_load);
	g_assert_cmpstr(v_load, ==, c_load);

	static const char *const cmds[][2] = {
		{ "--list-conns", NULL },       { "--list-pools", NULL },
		{ "--list-pools", "--leases" }, { "--list-conns", "--raw" },
		{ "--list-pools", "--raw" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cmds); i++) {
		g_autofree char *c_out = NULL, *c_err = NULL, *v_out = NULL, *v_err = NULL;

		g_assert_cmpint(swanctl_uri(f, uri, &c_out, &c_err, cmds[i][0], cmds[i][1], NULL),
				==, 0);
		g_assert_cmpint(swanctl(f, &v_out, &v_err, cmds[i][0], cmds[i][1], NULL), ==, 0);
		g_test_message("%s %s against charon:\n%s", cmds[i][0],
			       cmds[i][1] ? cmds[i][1] : "", c_out);
		g_assert_cmpstr(v_out, ==, c_out);
		g_assert_cmpstr(v_err, ==, c_err);
		g_assert_cmpuint(strlen(v_out), >, 0);
	}
	stop_charon(charon);
	stop_vpnd(f);
}

/* initiate, terminate and rekey when things do not work out: each says why. */
static void
test_initiate_errors(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL, *iout = NULL, *ierr = NULL, *tout = NULL;
	g_autofree char *terr = NULL, *t2out = NULL, *t2err = NULL, *rout = NULL, *rerr = NULL;
	g_autofree char *path = g_build_filename(f->dir, "swanctl.conf", NULL);

	/* loopback, where no IKE daemon answers: the initiator only retransmits */
	write_file(f->dir, "swanctl.conf",
		   "connections {\n\tnowhere {\n\t\tversion = 2\n\t\tlocal_addrs = 127.0.0.1\n"
		   "\t\tremote_addrs = 127.0.0.2\n\t\tlocal {\n\t\t\tauth = psk\n\t\t}\n"
		   "\t\tremote {\n\t\t\tauth = psk\n\t\t}\n\t\tchildren {\n\t\t\tx {\n"
		   "\t\t\t\tremote_ts = 10.9.0.0/24\n\t\t\t}\n\t\t}\n\t}\n}\n");
	g_assert_cmpint(swanctl(f, &out, &err, "--load-conns", "--file", path, NULL), ==, 0);

	g_assert_cmpint(swanctl(f, &iout, &ierr, "--initiate", "--child", "nosuch", NULL), ==, 1);
	g_assert_cmpstr(ierr, ==, "initiate failed: CHILD_SA config 'nosuch' not found\n");

	g_clear_pointer(&iout, g_free);
	g_clear_pointer(&ierr, g_free);
	g_assert_cmpint(
		swanctl(f, &iout, &ierr, "--initiate", "--child", "x", "--timeout", "1", NULL), ==,
		1);
	g_assert_cmpstr(ierr, ==, "initiate failed: CHILD_SA 'x' not established after 1000ms\n");
	/* the control-log lines of the attempt came first */
	g_assert_nonnull(strstr(iout, "[IKE] sending IKE_SA_INIT request 0\n"));
	g_assert_nonnull(strstr(iout, "[IKE] nowhere: initiating IKE SA "));

	/* still connecting: terminate gives it up */
	g_assert_cmpint(swanctl(f, &rout, &rerr, "--rekey", "--ike", "nowhere", NULL), ==, 1);
	g_assert_cmpstr(rerr, ==, "rekey failed: no matching SAs to rekey found\n");
	g_assert_cmpint(swanctl(f, &tout, &terr, "--terminate", "--ike", "nowhere", NULL), ==, 0);
	g_assert_true(g_str_has_suffix(tout, "terminate completed successfully\n"));
	g_assert_cmpint(swanctl(f, &t2out, &t2err, "--terminate", "--ike", "nowhere", NULL), ==, 1);
	g_assert_cmpstr(t2err, ==, "terminate failed: no matching SAs to terminate found\n");
	g_clear_pointer(&t2out, g_free);
	g_clear_pointer(&t2err, g_free);
	g_assert_cmpint(swanctl(f, &t2out, &t2err, "--terminate", "--ike-id", "999", NULL), ==, 1);
	g_assert_cmpstr(t2err, ==, "terminate failed: no matching SAs to terminate found\n");
	stop_vpnd(f);
}

/* A listening UNIX socket at @path, as systemd would create it. */
static int
listening_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 16), ==, 0);
	return fd;
}

static void
expect_daemon_version(Fixture *f, const char *uri)
{
	g_autofree char *out = NULL, *err = NULL;

	g_assert_cmpint(swanctl_uri(f, uri, &out, &err, "--version", "--daemon", NULL), ==, 0);
	g_assert_true(g_str_has_prefix(out, "strongSwan " VPND_VERSION " vpnd ("));
}

/* Mode 0660; several sockets (vpnd's and strongSwan's default path, say); sockets
 * systemd passes, by path and by name. */
static void
test_sockets(Fixture *f, gconstpointer data)
{
	struct stat st;
	g_autofree char *second = g_build_filename(f->dir, "charon.vici", NULL);
	g_autofree char *uri2 = g_strdup_printf("unix://%s", second);

	g_assert_cmpint(stat(f->socket, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0660);
	stop_vpnd(f);

	g_autofree char *two =
		g_strdup_printf("vici {\n\tsocket = unix://%s, %s\n}\n", f->socket, uri2);
	write_config(f, two);
	start_vpnd(f, -1, NULL);
	expect_daemon_version(f, NULL);
	expect_daemon_version(f, uri2);
	g_assert_cmpint(stat(second, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0660);
	stop_vpnd(f);
	g_assert_false(g_file_test(second, G_FILE_TEST_EXISTS));

	/* by path: vpnd takes the socket systemd holds instead of binding one */
	write_config(f, NULL);
	start_vpnd(f, listening_socket(f->socket), NULL);
	expect_daemon_version(f, NULL);
	g_autofree char *log = vpnd_stderr(f);
	g_assert_null(strstr(log, "another process is listening"));
	stop_vpnd_keep_socket(f);
	g_unlink(f->socket);

	/* by name: systemd://NAME */
	write_config(f, "vici {\n\tsocket = systemd://vici-test\n}\n");
	start_vpnd(f, listening_socket(f->socket), "vici-test");
	expect_daemon_version(f, NULL);
	stop_vpnd_keep_socket(f);
	g_unlink(f->socket);
}

/* ---- raw protocol ---- */

static int
raw_connect(Fixture *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = READ_TIMEOUT_MS / 1000 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_strlcpy(sa.sun_path, f->socket, sizeof(sa.sun_path));
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
raw_send(int fd, const void *data, gsize len)
{
	const guint8 *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		g_assert_cmpint(n, >, 0);
		p += n;
		len -= (gsize)n;
	}
}

/* A frame for a named packet with an optional message. */
static void
raw_send_packet(int fd, guint8 type, const char *name, const void *msg, gsize msg_len)
{
	GByteArray *a = g_byte_array_new();
	gsize name_len = name ? strlen(name) : 0;
	guint32 len = (guint32)(1 + (name ? 1 + name_len : 0) + msg_len);
	guint8 hdr[5] = { len >> 24, len >> 16, len >> 8, len, type };

	g_byte_array_append(a, hdr, sizeof(hdr));
	if (name) {
		guint8 nl = (guint8)name_len;
		g_byte_array_append(a, &nl, 1);
		g_byte_array_append(a, (const guint8 *)name, (guint)name_len);
	}
	if (msg_len)
		g_byte_array_append(a, msg, (guint)msg_len);
	raw_send(fd, a->data, a->len);
	g_byte_array_unref(a);
}

static gboolean
read_exact(int fd, guint8 *buf, gsize len)
{
	while (len) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n <= 0)
			return FALSE;
		buf += n;
		len -= (gsize)n;
	}
	return TRUE;
}

/* The next packet (without its length), or NULL on EOF or timeout. */
static GBytes *
raw_read_packet(int fd)
{
	guint8 hdr[4];

	if (!read_exact(fd, hdr, 4))
		return NULL;
	guint32 len = (guint32)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	g_assert_cmpuint(len, >, 0); /* a server must never send empty frames */
	g_assert_cmpuint(len, <=, 524288);
	guint8 *body = g_malloc(len);
	if (!read_exact(fd, body, len)) {
		g_free(body);
		return NULL;
	}
	return g_bytes_new_take(body, len);
}

static void
expect_simple(int fd, guint8 type)
{
	g_autoptr(GBytes) p = raw_read_packet(fd);

	g_assert_nonnull(p);
	g_assert_cmpuint(g_bytes_get_size(p), ==, 1);
	g_assert_cmpint(((const guint8 *)g_bytes_get_data(p, NULL))[0], ==, type);
}

/* Asks for the version and checks the answer is vpnd's. */
static void
expect_version_works(int fd)
{
	raw_send_packet(fd, 0, "version", NULL, 0);
	g_autoptr(GBytes) p = raw_read_packet(fd);
	g_assert_nonnull(p);
	const guint8 *d = g_bytes_get_data(p, NULL);
	g_assert_cmpint(d[0], ==, 1);
	/* first element: daemon = vpnd */
	static const guint8 daemon[] = { 3,   6, 'd', 'a', 'e', 'm', 'o',
					 'n', 0, 4,   'v', 'p', 'n', 'd' };
	g_assert_cmpmem(d + 1, sizeof(daemon), daemon, sizeof(daemon));
}

/* The server closed the connection (EOF, not a timeout). */
static void
expect_closed(int fd)
{
	guint8 b;

	g_assert_cmpint(recv(fd, &b, 1, 0), ==, 0);
}

static void
test_raw_answers(Fixture *f, gconstpointer data)
{
	int fd = raw_connect(f);
	static const guint8 zero[4] = { 0 };

	raw_send_packet(fd, 0, "nonexistent", NULL, 0);
	expect_simple(fd, 2); /* CMD_UNKNOWN */
	raw_send_packet(fd, 0, "", NULL, 0);
	expect_simple(fd, 2);
	raw_send_packet(fd, 0, "List-Sas", NULL, 0);
	expect_simple(fd, 2);
	raw_send_packet(fd, 3, "nosuch", NULL, 0);
	expect_simple(fd, 6); /* EVENT_UNKNOWN */
	raw_send_packet(fd, 3, "log", NULL, 0);
	expect_simple(fd, 5); /* EVENT_CONFIRM */
	raw_send_packet(fd, 4, "log", NULL, 0);
	expect_simple(fd, 5);
	raw_send_packet(fd, 4, "log", NULL, 0);
	expect_simple(fd, 6); /* no longer registered */

	/* ignored without an answer: empty frame, bad name, client-only types, bad type */
	raw_send(fd, zero, sizeof(zero));
	raw_send_packet(fd, 0, "ver\001ion", NULL, 0);
	raw_send_packet(fd, 1, NULL, NULL, 0);
	raw_send_packet(fd, 7, "log", NULL, 0);
	raw_send_packet(fd, 9, NULL, "xyz", 3);
	static const guint8 no_name_len[] = { 0, 0, 0, 1, 0 };
	raw_send(fd, no_name_len, sizeof(no_name_len));
	/* so the next answer is the version's */
	expect_version_works(fd);

	/* a malformed request body: the command still answers (vici.md §1.9) */
	static const guint8 junk[] = { 0xff, 0x01, 0x02 };
	raw_send_packet(fd, 0, "version", junk, sizeof(junk));
	g_autoptr(GBytes) p = raw_read_packet(fd);
	g_assert_nonnull(p);
	expect_version_works(fd);

	/* a frame of exactly 512 KiB is fine */
	gsize msg_len = 524288 - 1 - 1 - strlen("version");
	guint8 *msg = g_malloc0(msg_len);
	for (gsize at = 0; at < msg_len;) {
		gsize v = MIN(msg_len - at - 5, 65535);
		if (msg_len - at - 5 - v > 0 && msg_len - at - 5 - v < 5)
			v -= 5;
		msg[at] = 3;
		msg[at + 1] = 1;
		msg[at + 2] = 'k';
		msg[at + 3] = (guint8)(v >> 8);
		msg[at + 4] = (guint8)v;
		memset(msg + at + 5, 'x', v);
		at += 5 + v;
	}
	raw_send_packet(fd, 0, "version", msg, msg_len);
	g_free(msg);
	g_autoptr(GBytes) big = raw_read_packet(fd);
	g_assert_nonnull(big);
	g_assert_cmpint(((const guint8 *)g_bytes_get_data(big, NULL))[0], ==, 1);
	close(fd);
	stop_vpnd(f);
}

/* @n stats requests in one go, as far as the socket takes them: the answers pile up
 * in vpnd (over a megabyte), which must stop reading this client rather than block. */
static void
flood_requests(int fd, guint n)
{
	static const guint8 stats[] = { 0, 0, 0, 7, 0, 5, 's', 't', 'a', 't', 's' };
	GByteArray *a = g_byte_array_new();
	gsize off = 0;

	for (guint i = 0; i < n; i++)
		g_byte_array_append(a, stats, sizeof(stats));
	while (off < a->len) {
		ssize_t w = send(fd, a->data + off, a->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* vpnd stopped reading: that is the point */
		g_assert_cmpint(w, >, 0);
		off += (gsize)w;
	}
	g_byte_array_unref(a);
}

/* The response to the request just sent: {success=no errmsg=@errmsg}. */
static void
expect_refusal(int fd, const char *errmsg)
{
	g_autoptr(GBytes) p = raw_read_packet(fd);
	GByteArray *want = g_byte_array_new();
	static const guint8 head[] = { 1, 3,   7,   's', 'u', 'c', 'c', 'e', 's', 's', 0,
				       2, 'n', 'o', 3,   6,   'e', 'r', 'r', 'm', 's', 'g' };
	guint8 len[2] = { (guint8)(strlen(errmsg) >> 8), (guint8)strlen(errmsg) };

	g_byte_array_append(want, head, sizeof(head));
	g_byte_array_append(want, len, 2);
	g_byte_array_append(want, (const guint8 *)errmsg, (guint)strlen(errmsg));
	g_assert_nonnull(p);
	g_assert_cmpmem(g_bytes_get_data(p, NULL), g_bytes_get_size(p), want->data, want->len);
	g_byte_array_unref(want);
}

/*
 * Messages that cannot be read, from one client while a second one is connected:
 * unknown element types and nesting past the limit. Nothing is loaded from them
 * (load-* answer charon's "parsing request failed"), other commands answer with their
 * defaults, the unknown command gets CMD_UNKNOWN, and the second client is served.
 */
static void
test_raw_bad_messages(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL;
	int bad = raw_connect(f);
	int good = raw_connect(f);
	static const guint8 unknown_element[] = { 1, 1, 'x', 9, 1, 'k', 2 };
	static const guint8 item_outside_list[] = { 5, 0, 1, 'v' };
	guint8 deep[2 * 40];

	for (guint i = 0; i < 40; i++) {
		deep[2 * i] = 1; /* SECTION_START "a", 40 deep (the limit is 32) */
		deep[2 * i + 1] = 0;
	}
	raw_send_packet(bad, 0, "load-conn", unknown_element, sizeof(unknown_element));
	expect_refusal(bad, "parsing request failed: unknown type");
	expect_version_works(good);
	raw_send_packet(bad, 0, "load-conn", deep, sizeof(deep));
	expect_refusal(bad, "parsing request failed: sections nested too deep");
	expect_version_works(good);
	raw_send_packet(bad, 0, "load-shared", item_outside_list, sizeof(item_outside_list));
	expect_refusal(bad, "parsing request failed: misplaced element");
	raw_send_packet(bad, 0, "load-pool", deep, 7);
	expect_refusal(bad, "parsing request failed: truncated");
	/* a listing ignores what it cannot read: there is nothing, as without a filter */
	raw_send_packet(bad, 0, "get-conns", unknown_element, sizeof(unknown_element));
	g_autoptr(GBytes) conns = raw_read_packet(bad);
	static const guint8 empty_conns[] = { 1, 4, 5, 'c', 'o', 'n', 'n', 's', 6 };
	g_assert_cmpmem(g_bytes_get_data(conns, NULL), g_bytes_get_size(conns), empty_conns,
			sizeof(empty_conns));
	raw_send_packet(bad, 0, "no-such-command", deep, sizeof(deep));
	expect_simple(bad, 2); /* CMD_UNKNOWN */
	expect_version_works(bad);
	expect_version_works(good);
	close(bad);
	close(good);

	g_assert_cmpint(swanctl(f, &out, &err, "--list-conns", "--raw", NULL), ==, 0);
	g_assert_cmpstr(out, ==, "list-conns reply {}\n");
	stop_vpnd(f);
}

static void
test_raw_abuse(Fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *err = NULL;

	/* garbage: its first 4 bytes are a length far over the limit */
	int fd = raw_connect(f);
	static const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
	raw_send(fd, garbage, sizeof(garbage) - 1);
	expect_closed(fd);
	close(fd);

	/* 524289: closed at once, without reading the body */
	fd = raw_connect(f);
	static const guint8 over[] = { 0x00, 0x08, 0x00, 0x01 };
	raw_send(fd, over, sizeof(over));
	expect_closed(fd);
	close(fd);

	/* gone in the middle of a frame, and in the middle of a length */
	fd = raw_connect(f);
	static const guint8 half[] = { 0, 0, 0, 100, 0, 7, 'v', 'e', 'r' };
	raw_send(fd, half, sizeof(half));
	close(fd);
	fd = raw_connect(f);
	raw_send(fd, half, 2);
	close(fd);

	/* a client that asks and never reads, next to one that behaves */
	int lazy = raw_connect(f);
	flood_requests(lazy, 5000);
	int good = raw_connect(f);
	expect_version_works(good);

	/* a flood of connect/disconnect */
	for (guint i = 0; i < 1000; i++)
		close(raw_connect(f));
	expect_version_works(good);
	close(good);
	close(lazy);

	g_assert_cmpint(swanctl(f, &out, &err, "--stats", NULL), ==, 0);
	g_assert_true(g_str_has_prefix(out, "uptime: "));
	g_assert_nonnull(strstr(out, "IKE_SAs: 0 total, 0 half-open\n"));
	g_autofree char *log = vpnd_stderr(f);
	g_assert_nonnull(strstr(log, "frame of 524289 bytes exceeds the 524288 byte limit"));
	stop_vpnd(f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL); /* ISOLATE_DIRS leaks in GLib 2.74 */
	signal(SIGPIPE, SIG_IGN);

	g_test_add("/vici/swanctl/version", Fixture, NULL, fixture_setup, test_version,
		   fixture_teardown);
	g_autofree char *crypto_conf =
		g_strdup_printf("plugins {\n\tdir = %s\n\tload = crypto-gnutls auth-psk\n}\n",
				g_getenv("VPND_PLUGIN_BUILDDIR"));
	g_test_add("/vici/swanctl/list-algs", Fixture, crypto_conf, fixture_setup, test_list_algs,
		   fixture_teardown);
#ifdef VPND_HAVE_SODIUM
	g_autofree char *sodium_conf = g_strdup_printf(
		"plugins {\n\tdir = %s\n\tload = crypto-gnutls crypto-sodium auth-psk\n}\n",
		g_getenv("VPND_PLUGIN_BUILDDIR"));
	g_test_add("/vici/swanctl/list-algs-sodium", Fixture, sodium_conf, fixture_setup,
		   test_list_algs_sodium, fixture_teardown);
#endif
	g_test_add("/vici/swanctl/stats", Fixture, NULL, fixture_setup, test_stats,
		   fixture_teardown);
	g_test_add("/vici/swanctl/reload-settings", Fixture, NULL, fixture_setup,
		   test_reload_settings, fixture_teardown);
	g_test_add("/vici/swanctl/log", Fixture, NULL, fixture_setup, test_log, fixture_teardown);
	g_test_add("/vici/swanctl/empty-lists", Fixture, NULL, fixture_setup, test_empty_lists,
		   fixture_teardown);
	g_test_add("/vici/swanctl/unsupported", Fixture, NULL, fixture_setup, test_unsupported,
		   fixture_teardown);
	g_test_add("/vici/swanctl/load-all", Fixture, NET_LOOPBACK, fixture_setup, test_load_all,
		   fixture_teardown);
	g_autofree char *initiate_conf = g_strconcat(crypto_conf, NET_LOOPBACK, NULL);
	g_test_add("/vici/swanctl/initiate-errors", Fixture, initiate_conf, fixture_setup,
		   test_initiate_errors, fixture_teardown);
	g_test_add("/vici/swanctl/golden", Fixture, NET_LOOPBACK, fixture_setup, test_golden,
		   fixture_teardown);
	g_test_add("/vici/sockets", Fixture, NULL, fixture_setup, test_sockets, fixture_teardown);
	g_test_add("/vici/raw/answers", Fixture, NULL, fixture_setup, test_raw_answers,
		   fixture_teardown);
	g_test_add("/vici/raw/bad-messages", Fixture, NULL, fixture_setup, test_raw_bad_messages,
		   fixture_teardown);
	g_test_add("/vici/raw/abuse", Fixture, NULL, fixture_setup, test_raw_abuse,
		   fixture_teardown);
	return g_test_run();
}
