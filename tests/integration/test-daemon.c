/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vpnd as systemd runs it: NOTIFY_SOCKET points at a datagram socket this test owns,
 * so the test sees READY=1, RELOADING=1, WATCHDOG=1 and STOPPING=1 as systemd would.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

/* generous: the same test runs under AddressSanitizer */
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 2000

typedef struct {
	char *dir;
	char *config;
	int notify_fd;
	GPid pid;
	int stderr_fd;
} Daemon;

static const char *
vpnd_path(void)
{
	static char *path;

	if (!path)
		path = g_build_filename(g_getenv("VPND_BUILD_ROOT"), "daemon", "vpnd", NULL);
	return path;
}

static char *
plugin_dir(void)
{
	return g_build_filename(g_getenv("VPND_BUILD_ROOT"), "tests", "unit", NULL);
}

static int
bind_notify_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	return fd;
}

/* Every config gets a VICI socket of its own, so a test run as root never touches /run,
 * and no D-Bus: the host's system bus is not the test's. */
static void
write_config(Daemon *d, const char *text)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *full =
		g_strdup_printf("%svici {\n\tsocket = unix://%s/vici\n}\ndbus {\n\tenable = no\n}\n",
				text, d->dir);

	g_assert_true(g_file_set_contents(d->config, full, -1, &error));
}

static void
daemon_setup(Daemon *d, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *plugins = plugin_dir();

	d->dir = g_dir_make_tmp("vpnd-test-XXXXXX", &error);
	g_assert_no_error(error);
	d->config = g_build_filename(d->dir, "vpnd.conf", NULL);
	g_autofree char *sock = g_build_filename(d->dir, "notify", NULL);
	d->notify_fd = bind_notify_socket(sock);
	g_autofree char *conf = g_strdup_printf("plugins {\n\tdir = %s\n\tload = test-good\n}\n"
						"log {\n\tdefault = info\n}\n",
						plugins);
	write_config(d, conf);
	d->pid = 0;
	d->stderr_fd = -1;
}

static void
daemon_start_env(Daemon *d, const char *const *extra_env, const char *const *extra_args)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *sock = g_build_filename(d->dir, "notify", NULL);
	g_auto(GStrv) env = g_get_environ();
	g_autoptr(GPtrArray) argv = g_ptr_array_new();

	env = g_environ_setenv(env, "NOTIFY_SOCKET", sock, TRUE);
	env = g_environ_unsetenv(env, "JOURNAL_STREAM");
	for (; extra_env && extra_env[0]; extra_env += 2)
		env = g_environ_setenv(env, extra_env[0], extra_env[1], TRUE);
	g_ptr_array_add(argv, (char *)vpnd_path());
	g_ptr_array_add(argv, "--config");
	g_ptr_array_add(argv, d->config);
	for (; extra_args && *extra_args; extra_args++)
		g_ptr_array_add(argv, (char *)*extra_args);
	g_ptr_array_add(argv, NULL);

	g_spawn_async_with_pipes(d->dir, (char **)argv->pdata, env, G_SPAWN_DO_NOT_REAP_CHILD,
				 NULL, NULL, &d->pid, NULL, NULL, &d->stderr_fd, &error);
	g_assert_no_error(error);
}

static void
daemon_start(Daemon *d)
{
	daemon_start_env(d, NULL, NULL);
}

/* Waits for the child to exit; returns its wait status or -1 on timeout. */
static int
wait_exit(GPid pid, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;
	int status;

	while (g_get_monotonic_time() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		g_assert_cmpint(r, ==, 0);
		g_usleep(10 * 1000);
	}
	return -1;
}

static void
daemon_teardown(Daemon *d, gconstpointer data)
{
	if (d->pid > 0) {
		/* the test failed while vpnd ran: do not leave it behind */
		kill(d->pid, SIGKILL);
		wait_exit(d->pid, STOP_TIMEOUT_MS);
	}
	if (d->stderr_fd >= 0)
		close(d->stderr_fd);
	close(d->notify_fd);
	g_autofree char *sock = g_build_filename(d->dir, "notify", NULL);
	g_unlink(sock);
	g_autofree char *vici = g_build_filename(d->dir, "vici", NULL);
	g_unlink(vici);
	g_unlink(d->config);
	g_rmdir(d->dir);
	g_free(d->config);
	g_free(d->dir);
}

/* The next notification datagram, or NULL after @timeout_ms. */
static char *
recv_notify(Daemon *d, guint timeout_ms)
{
	struct pollfd p = { .fd = d->notify_fd, .events = POLLIN };
	char buf[4096];

	if (poll(&p, 1, (int)timeout_ms) <= 0)
		return NULL;
	ssize_t n = recv(d->notify_fd, buf, sizeof(buf) - 1, 0);
	g_assert_cmpint(n, >, 0);
	buf[n] = '\0';
	return g_strdup(buf);
}

/* Reads notifications until one holds @line as a whole line; fails on timeout. */
static char *
expect_notify(Daemon *d, const char *line, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		g_autofree char *msg = recv_notify(d, left > 0 ? (guint)left : 0);
		if (!msg)
			g_error("vpnd did not send %s within %u ms", line, timeout_ms);
		g_auto(GStrv) lines = g_strsplit(msg, "\n", -1);
		if (g_strv_contains((const char *const *)lines, line))
			return g_steal_pointer(&msg);
	}
}

static char *
read_all(int fd)
{
	GString *s = g_string_new(NULL);
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(s, buf, n);
	return g_string_free(s, FALSE);
}

/* SIGTERM: STOPPING=1, then exit 0 within 2 s. Returns what vpnd wrote to stderr. */
static char *
stop_daemon(Daemon *d)
{
	g_assert_cmpint(kill(d->pid, SIGTERM), ==, 0);
	g_free(expect_notify(d, "STOPPING=1", STOP_TIMEOUT_MS));
	int status = wait_exit(d->pid, STOP_TIMEOUT_MS);
	g_assert_cmpint(status, !=, -1);
	d->pid = 0;
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	char *err = read_all(d->stderr_fd);
	close(d->stderr_fd);
	d->stderr_fd = -1;
	return err;
}

static void
test_ready_and_stop(Daemon *d, gconstpointer data)
{
	daemon_start(d);
	g_autofree char *ready = expect_notify(d, "READY=1", START_TIMEOUT_MS);
	g_assert_nonnull(strstr(ready, "STATUS=Running, plugins: test-good"));
	g_autofree char *err = stop_daemon(d);
	g_assert_nonnull(strstr(err, "plugin \"test-good\" loaded"));
	g_assert_nonnull(strstr(err, "stopping on signal"));
	g_assert_null(strstr(err, "setting")); /* every one of this file is read */
}

/* A setting nothing reads is said at start-up, with the closest known name (a typo), or
 * as one of a plugin not loaded; vpnd runs on. */
static void
test_unknown_setting(Daemon *d, gconstpointer data)
{
	g_autofree char *plugins = plugin_dir();
	g_autofree char *conf =
		g_strdup_printf("plugins {\n\tdir = %s\n\tload = test-good\n\tkernel-xfrm {\n"
				"\t\tprobe = no\n\t}\n}\nike {\n\tretransmit_timout = 2\n}\n",
				plugins);

	write_config(d, conf);
	daemon_start(d);
	g_free(expect_notify(d, "READY=1", START_TIMEOUT_MS));
	g_autofree char *err = stop_daemon(d);
	g_assert_nonnull(strstr(err, "vpnd.conf:9: ike.retransmit_timout: unknown setting, "
				     "ignored (did you mean ike.retransmit_timeout?)"));
	g_assert_nonnull(strstr(
		err, "vpnd.conf:5: plugins.kernel-xfrm.probe: ignored: that plugin is not loaded"));
}

static void
test_sigint_stops(Daemon *d, gconstpointer data)
{
	daemon_start(d);
	g_free(expect_notify(d, "READY=1", START_TIMEOUT_MS));
	g_assert_cmpint(kill(d->pid, SIGINT), ==, 0);
	g_free(expect_notify(d, "STOPPING=1", STOP_TIMEOUT_MS));
	int status = wait_exit(d->pid, STOP_TIMEOUT_MS);
	d->pid = 0;
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A plugin with a wrong ABI is refused in one line; the daemon starts without it. */
static void
test_bad_plugin_refused(Daemon *d, gconstpointer data)
{
	g_autofree char *plugins = plugin_dir();
	g_autofree char *conf = g_strdup_printf(
		"plugins {\n\tdir = %s\n\tload = test-bad-abi test-good test-init-fails\n}\n",
		plugins);

	write_config(d, conf);
	daemon_start(d);
	g_autofree char *ready = expect_notify(d, "READY=1", START_TIMEOUT_MS);
	g_assert_nonnull(strstr(ready, "plugins: test-good"));
	g_autofree char *err = stop_daemon(d);
	g_assert_nonnull(strstr(err, "warning: plugin \"test-bad-abi\" refused: built for plugin ABI 2"));
	g_assert_nonnull(strstr(err, "warning: plugin \"test-init-fails\" refused: init failed: no such hardware"));
}

/* SIGHUP: RELOADING=1, then READY=1; new log levels apply, a broken file is refused. */
static void
test_reload(Daemon *d, gconstpointer data)
{
	g_autofree char *plugins = plugin_dir();

	daemon_start(d);
	g_free(expect_notify(d, "READY=1", START_TIMEOUT_MS));

	write_config(d, "log {\n\tdefault = warning\n}\n}\n");
	g_assert_cmpint(kill(d->pid, SIGHUP), ==, 0);
	g_free(expect_notify(d, "RELOADING=1", START_TIMEOUT_MS));
	g_autofree char *failed = expect_notify(d, "READY=1", START_TIMEOUT_MS);
	g_assert_nonnull(strstr(failed, "STATUS=Running, reload failed"));

	g_autofree char *conf = g_strdup_printf(
		"plugins {\n\tdir = %s\n\tload = test-good\n}\nlog {\n\tdefault = warning\n}\n",
		plugins);
	write_config(d, conf);
	g_assert_cmpint(kill(d->pid, SIGHUP), ==, 0);
	g_free(expect_notify(d, "RELOADING=1", START_TIMEOUT_MS));
	g_autofree char *ok = expect_notify(d, "READY=1", START_TIMEOUT_MS);
	g_assert_nonnull(strstr(ok, "reloaded"));

	g_autofree char *err = stop_daemon(d);
	g_assert_nonnull(strstr(err, "reload failed, keeping the current settings"));
	g_assert_nonnull(strstr(err, "vpnd.conf:4:1"));
	/* info lines before the reload, none after it lowered the level to warning */
	g_assert_nonnull(strstr(err, "plugin \"test-good\" loaded"));
	g_assert_null(strstr(err, "settings reloaded"));
	g_assert_null(strstr(err, "stopping on signal"));
}

static void
test_watchdog(Daemon *d, gconstpointer data)
{
	const char *const env[] = { "WATCHDOG_USEC", "200000", NULL };

	daemon_start_env(d, env, NULL);
	g_free(expect_notify(d, "READY=1", START_TIMEOUT_MS));
	g_free(expect_notify(d, "WATCHDOG=1", 1000));
	g_free(expect_notify(d, "WATCHDOG=1", 1000));
	g_free(stop_daemon(d));
}

/* --debug overrides the settings and survives a reload. */
static void
test_debug_option(Daemon *d, gconstpointer data)
{
	const char *const args[] = { "--debug", "core=debug", NULL };

	daemon_start_env(d, NULL, args);
	g_free(expect_notify(d, "READY=1", START_TIMEOUT_MS));
	g_autofree char *err = stop_daemon(d);
	g_assert_nonnull(strstr(err, "provider \"good\" registered by test-good"));
}

typedef struct {
	const char *name;
	const char *args[4];
	const char *config; /* (nullable) written as the --config file */
	int exit_code;
	const char *out_has;
	const char *err_has;
} CliCase;

static const CliCase cli_cases[] = {
	{ "version", { "--version" }, NULL, 0, "vpnd 0.1.0\n", NULL },
	{ "help", { "--help" }, NULL, 0, "--config=FILE", NULL },
	{ "bad-option", { "--frobnicate" }, NULL, EX_USAGE, NULL, "Unknown option --frobnicate" },
	{ "bad-domain", { "--debug", "foo=debug" }, NULL, EX_USAGE, NULL,
	  "unknown log domain \"foo\"" },
	{ "bad-level", { "--debug", "ike=loud" }, NULL, EX_USAGE, NULL,
	  "unknown log level \"loud\"" },
	{ "missing-config", { "--config", "/nonexistent/vpnd.conf" }, NULL, EX_CONFIG, NULL,
	  "/nonexistent/vpnd.conf" },
	{ "syntax-error", { NULL }, "plugins {\n\tload = a\n}\n}\n", EX_CONFIG, NULL,
	  "vpnd.conf:4:1: " },
};

static void
test_cli(gconstpointer data)
{
	const CliCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("vpnd-cli-XXXXXX", &error);
	g_autofree char *config = g_build_filename(dir, "vpnd.conf", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree char *out = NULL, *err = NULL;
	int status;

	g_ptr_array_add(argv, (char *)vpnd_path());
	if (c->config) {
		g_assert_true(g_file_set_contents(config, c->config, -1, NULL));
		g_ptr_array_add(argv, "--config");
		g_ptr_array_add(argv, config);
	}
	for (guint i = 0; c->args[i]; i++)
		g_ptr_array_add(argv, (char *)c->args[i]);
	g_ptr_array_add(argv, NULL);

	g_spawn_sync(dir, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
		     &status, &error);
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, c->exit_code);
	if (c->out_has)
		g_assert_nonnull(strstr(out, c->out_has));
	if (c->err_has)
		g_assert_nonnull(strstr(err, c->err_has));
	g_unlink(config);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add("/daemon/notify/ready-and-stop", Daemon, NULL, daemon_setup,
		   test_ready_and_stop, daemon_teardown);
	g_test_add("/daemon/notify/sigint", Daemon, NULL, daemon_setup, test_sigint_stops,
		   daemon_teardown);
	g_test_add("/daemon/notify/reload", Daemon, NULL, daemon_setup, test_reload,
		   daemon_teardown);
	g_test_add("/daemon/notify/watchdog", Daemon, NULL, daemon_setup, test_watchdog,
		   daemon_teardown);
	g_test_add("/daemon/plugins/bad-refused", Daemon, NULL, daemon_setup,
		   test_bad_plugin_refused, daemon_teardown);
	g_test_add("/daemon/settings/unknown", Daemon, NULL, daemon_setup, test_unknown_setting,
		   daemon_teardown);
	g_test_add("/daemon/log/debug-option", Daemon, NULL, daemon_setup, test_debug_option,
		   daemon_teardown);
	for (guint i = 0; i < G_N_ELEMENTS(cli_cases); i++) {
		g_autofree char *path = g_strdup_printf("/daemon/cli/%s", cli_cases[i].name);
		g_test_add_data_func(path, &cli_cases[i], test_cli);
	}
	return g_test_run();
}
