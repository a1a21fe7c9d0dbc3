/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The settings parser against the corpus in tests/unit/settings/ (valid/ loads,
 * broken/ fails at a known place) and against input generated here: limits, control
 * bytes, random binary and mutations of the valid files.
 */
#include "config/settings.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* ---- helpers ---- */

static char *
corpus_path(const char *kind, const char *name)
{
	return g_test_build_filename(G_TEST_DIST, "unit", "settings", kind, name, NULL);
}

static Settings *
load_valid(const char *name)
{
	g_autofree char *path = corpus_path("valid", name);
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;

	g_assert_true(settings_load_file(settings, path, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&settings);
}

static Settings *
load_text(const char *text)
{
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;

	g_assert_true(settings_load_string(settings, text, strlen(text), "text", &error));
	g_assert_no_error(error);
	return g_steal_pointer(&settings);
}

static void
assert_contains(const char *text, const char *part)
{
	if (strstr(text, part) == NULL)
		g_error("\"%s\" does not contain \"%s\"", text, part);
}

/* @error is @code, starts with "FILE:WHERE: " and contains @what. */
static void
assert_error_at(const GError *error, SettingsError code, const char *file, const char *where,
                const char *what)
{
	g_autofree char *prefix = g_strdup_printf("%s:%s: ", file, where);
	g_autofree char *head = NULL;

	g_assert_error(error, SETTINGS_ERROR, (gint)code);
	head = g_strndup(error->message, strlen(prefix));
	g_assert_cmpstr(head, ==, prefix);
	assert_contains(error->message, what);
}

/* One line per section, "[path] key=value …", depth first in stored order. */
static void
dump_section(GString *out, const char *path, const SettingsSection *section, gboolean origins)
{
	g_autoptr(GPtrArray) keys = settings_section_list_keys(section);
	g_autoptr(GPtrArray) children = settings_section_list_sections(section);

	g_string_append_printf(out, "[%s]", path);
	for (guint i = 0; i < keys->len; i++) {
		const char *key = keys->pdata[i];
		g_autofree char *value =
		        g_strescape(settings_section_get_value(section, key), NULL);

		g_string_append_printf(out, " %s=%s", key, value);
		if (origins)
			g_string_append_printf(out, "@%s",
			                       settings_section_get_origin(section, key));
	}
	g_string_append_c(out, '\n');
	for (guint i = 0; i < children->len; i++) {
		const char *name = settings_section_get_name(children->pdata[i]);
		g_autofree char *child_path =
		        *path != '\0' ? g_strconcat(path, ".", name, NULL) : g_strdup(name);

		dump_section(out, child_path, children->pdata[i], origins);
	}
}

static char *
dump(Settings *settings, gboolean origins)
{
	GString *out = g_string_new(NULL);

	dump_section(out, "", settings_get_root(settings), origins);
	return g_string_free(out, FALSE);
}

static void
assert_dump(Settings *settings, const char *expected)
{
	g_autofree char *got = dump(settings, FALSE);

	g_assert_cmpstr(got, ==, expected);
}

static char *
make_tmp_dir(void)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp("test-settings-XXXXXX", &error);

	g_assert_no_error(error);
	return dir;
}

/* The test folders are flat; removes the files, then the folder. */
static void
remove_tmp_dir(const char *dir)
{
	g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
	const char *name;

	g_assert_nonnull(listing);
	while ((name = g_dir_read_name(listing)) != NULL) {
		g_autofree char *path = g_build_filename(dir, name, NULL);

		g_assert_cmpint(g_unlink(path), ==, 0);
	}
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static char *
write_tmp_file(const char *dir, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(path, text, -1, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&path);
}

/* "a {\n" @n times, @inner, "}\n" @n times */
static char *
nested_text(guint n, const char *inner)
{
	GString *text = g_string_new(NULL);

	for (guint i = 0; i < n; i++)
		g_string_append(text, "a {\n");
	g_string_append(text, inner);
	for (guint i = 0; i < n; i++)
		g_string_append(text, "}\n");
	return g_string_free(text, FALSE);
}

/* ---- valid input ---- */

static void
test_parse_nested(void)
{
	g_autoptr(Settings) settings = load_valid("nested.conf");

	assert_dump(settings, "[]\n"
	                      "[a] key=top\n"
	                      "[a.b] key=middle\n"
	                      "[a.b.c] key=deep\n"
	                      "[a.b2] key=brace on its own line\n");
	g_assert_cmpstr(settings_get(settings, "a.b.c.key"), ==, "deep");
	g_assert_null(settings_get(settings, "a.b.c.missing"));
	g_assert_null(settings_get(settings, "a.x.key"));
}

static void
test_parse_merge(void)
{
	g_autoptr(Settings) settings = load_valid("merge.conf");

	assert_dump(settings, "[]\n"
	                      "[charon] threads=16 port=500\n"
	                      "[charon.plugins]\n"
	                      "[charon.plugins.kernel-netlink] fwmark=1 mtu=1400\n"
	                      "[charon.plugins.socket-default] use_ipv6=no\n"
	                      "[other] x=1\n");
}

static void
test_parse_override(void)
{
	g_autoptr(Settings) settings = load_valid("override.conf");
	g_autofree char *path = corpus_path("valid", "override.conf");
	g_autofree char *origin_top = g_strdup_printf("%s:7", path);
	g_autofree char *origin_b = g_strdup_printf("%s:9", path);
	g_autofree char *origin_c = g_strdup_printf("%s:5", path);
	SettingsSection *s = settings_get_section(settings, "s");

	assert_dump(settings, "[] top=new\n"
	                      "[s] a=1 b=two c=3\n");
	g_assert_cmpstr(settings_section_get_origin(settings_get_root(settings), "top"), ==,
	                origin_top);
	g_assert_cmpstr(settings_section_get_origin(s, "b"), ==, origin_b);
	g_assert_cmpstr(settings_section_get_origin(s, "c"), ==, origin_c);
	g_assert_null(settings_section_get_origin(s, "missing"));
}

/* Past 16 keys or sections a section indexes them: every one is still found, a value
 * given again replaces the first (in its place), across the switch to the index. */
static void
test_parse_many(void)
{
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) text = g_string_new("s {\n");
	SettingsSection *s;

	for (guint i = 0; i < 40; i++)
		g_string_append_printf(text, "\tk%u = %u\n\tsub%u { v = %u }\n", i, i, i, i);
	/* again, after the index exists, and one before it would exist */
	g_string_append(text, "\tk3 = again\n\tk30 = again\n\tsub3 { w = 1 }\n}\n");
	g_assert_true(settings_load_string(settings, text->str, text->len, "many", &error));
	g_assert_no_error(error);
	s = settings_get_section(settings, "s");
	g_assert_nonnull(s);
	for (guint i = 0; i < 40; i++) {
		g_autofree char *key = g_strdup_printf("k%u", i);
		g_autofree char *sub = g_strdup_printf("sub%u", i);
		g_autofree char *value = g_strdup_printf("%u", i);
		SettingsSection *child = settings_section_get_section(s, sub);

		g_assert_cmpstr(settings_section_get_value(s, key), ==,
		                i == 3 || i == 30 ? "again" : value);
		g_assert_nonnull(child);
		g_assert_cmpstr(settings_section_get_value(child, "v"), ==, value);
	}
	g_assert_cmpstr(settings_section_get_value(settings_section_get_section(s, "sub3"), "w"),
	                ==, "1");
	g_autoptr(GPtrArray) keys = settings_section_list_keys(s);
	g_autoptr(GPtrArray) sections = settings_section_list_sections(s);
	g_assert_cmpuint(keys->len, ==, 40);
	g_assert_cmpuint(sections->len, ==, 40);
	g_assert_cmpstr(keys->pdata[3], ==, "k3");
	g_assert_null(settings_section_get_value(s, "k40"));
	g_assert_null(settings_section_get_section(s, "sub40"));
}

static void
test_parse_order(void)
{
	g_autoptr(Settings) settings = load_valid("order.conf");

	assert_dump(settings, "[] zebra=1 alpha=again mike=3\n"
	                      "[z]\n"
	                      "[a]\n"
	                      "[m]\n");
}

typedef struct {
	const char *key;
	const char *value;
} ValueCase;

static const ValueCase quoted_cases[] = {
        {"plain", "a"},
        {"spaced", "  keep blanks  "},
        {"hash", "a # not a comment"},
        {"escapes", "quote \" backslash \\ newline \n tab \t other \\x end"},
        {"multi", "first line\nsecond line"},
        {"after", "x"},
        {"empty", ""},
        {"inner", "say \"hi\" there"},
        {"utf8", "grüße ✓"},
};

static void
test_parse_quoted(gconstpointer data)
{
	const ValueCase *tc = data;
	g_autoptr(Settings) settings = load_valid("quoted.conf");

	g_assert_cmpstr(settings_get(settings, tc->key), ==, tc->value);
}

static void
test_parse_comments(void)
{
	g_autoptr(Settings) settings = load_valid("comments.conf");

	assert_dump(settings, "[]\n"
	                      "[a] b=1 c=2\n");
}

static void
test_parse_crlf(void)
{
	const char text[] = "a {\r\n\tb = 1\r\n\tc = \"x\r\ny\"\r\n}\r\nd = 2 \r\ne =\r\n";
	g_autoptr(Settings) settings = load_text(text);
	g_autoptr(Settings) broken = settings_new();
	g_autoptr(GError) error = NULL;

	assert_dump(settings, "[] d=2 e=\n"
	                      "[a] b=1 c=x\\ny\n");
	g_assert_false(settings_load_string(broken, "a {\r\n}\r\n}\r\n", 11, "crlf", &error));
	assert_error_at(error, SETTINGS_ERROR_SYNTAX, "crlf", "3:1", "unexpected '}'");
}

static void
test_parse_empty(void)
{
	g_autoptr(Settings) settings = load_valid("empty.conf");
	g_autoptr(Settings) nothing = load_text("");
	g_autoptr(Settings) blank = load_text(" \n\t\n# only a comment");

	assert_dump(settings, "[] empty= blank=\n"
	                      "[s]\n"
	                      "[t]\n"
	                      "[u]\n");
	g_assert_cmpstr(settings_get(settings, "empty"), ==, "");
	g_assert_nonnull(settings_get_section(settings, "u"));
	assert_dump(nothing, "[]\n");
	assert_dump(blank, "[]\n");
}

/* "include" is a keyword only where it cannot be a name. */
static void
test_parse_include_as_name(void)
{
	g_autoptr(Settings) settings = load_text("include = yes\ninclude { x = 1 }\n"
	                                         "a { b = 1 } c = 2\n");

	assert_dump(settings, "[] include=yes c=2\n"
	                      "[include] x=1\n"
	                      "[a] b=1\n");
}

static void
test_include_glob(void)
{
	g_autoptr(Settings) settings = load_valid("include-glob.conf");
	g_autofree char *second = corpus_path("valid", "include-glob.d/20-second.conf");
	g_autofree char *origin = g_strdup_printf("%s:3", second);

	/* 05-zero, 10-first, 20-second: glob's order; notes.txt is not *.conf */
	assert_dump(settings, "[] before=main zero=0 shared=second order=second first=1 "
	                      "second=2 after=main\n");
	g_assert_cmpstr(settings_section_get_origin(settings_get_root(settings), "shared"), ==,
	                origin);
}

static void
test_include_relative(void)
{
	/* the corpus is not in the working directory, so only file-relative paths work */
	g_autoptr(Settings) settings = load_valid("include-relative.conf");

	assert_dump(settings, "[] part=yes leaf=found next to part.conf\n");
}

static void
test_include_section(void)
{
	g_autoptr(Settings) settings = load_valid("include-section.conf");

	assert_dump(settings, "[]\n"
	                      "[outer] x=1 y=2\n"
	                      "[outer.inner] key=from include\n"
	                      "[outer.inner.sub] deep=yes\n");
}

static void
test_include_nomatch(void)
{
	g_autoptr(Settings) settings = load_valid("include-nomatch.conf");

	assert_dump(settings, "[] still=here\n");
}

/* Text from memory includes relative to the working directory. */
static void
test_include_string_cwd(void)
{
	g_autofree char *dir = make_tmp_dir();
	g_autofree char *cwd = g_get_current_dir();
	g_autoptr(Settings) settings = NULL;

	g_free(write_tmp_file(dir, "part.conf", "x = 1\n"));
	g_assert_cmpint(g_chdir(dir), ==, 0);
	settings = load_text("include part.conf\nsub { include *.conf }\n");
	g_assert_cmpint(g_chdir(cwd), ==, 0);
	assert_dump(settings, "[] x=1\n"
	                      "[sub] x=1\n");
	g_assert_cmpstr(settings_section_get_origin(settings_get_root(settings), "x"), ==,
	                "part.conf:1");
	remove_tmp_dir(dir);
}

/* 16 includes deep is fine, the 17th is refused. */
static void
test_include_depth(void)
{
	g_autofree char *dir = make_tmp_dir();
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *top = NULL;
	g_autofree char *last = NULL;

	for (guint i = 0; i <= SETTINGS_MAX_INCLUDE_DEPTH + 1; i++) {
		g_autofree char *name = g_strdup_printf("f%02u.conf", i);
		g_autofree char *text =
		        g_strdup_printf("level%u = %u\ninclude f%02u.conf\n", i, i, i + 1);
		g_autofree char *path = write_tmp_file(dir, name, text);

		if (i == 0)
			top = g_strdup(path);
		if (i == SETTINGS_MAX_INCLUDE_DEPTH)
			last = g_strdup(path);
	}
	g_assert_false(settings_load_file(settings, top, &error));
	assert_error_at(error, SETTINGS_ERROR_INCLUDE, last, "2:9", "nested too deep");
	g_clear_error(&error);

	/* end the chain one step earlier */
	g_assert_true(g_file_set_contents(last, "end = yes\n", -1, NULL));
	g_assert_true(settings_load_file(settings, top, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(settings_get(settings, "end"), ==, "yes");
	remove_tmp_dir(dir);
}

static void
test_file_swanctl(void)
{
	g_autoptr(Settings) settings = load_valid("swanctl.conf");
	SettingsSection *connections = settings_get_section(settings, "connections");
	g_autoptr(GPtrArray) names = settings_section_list_sections(connections);
	SettingsSection *dotted;

	g_assert_cmpstr(settings_get(settings, "connections.home.children.home-net.remote_ts"), ==,
	                "10.1.0.0/16, fd00:1::/64");
	g_assert_cmpstr(settings_get(settings, "connections.home.remote.id"), ==,
	                "C=CH, O=strongSwan, CN=vpn.example.org");
	g_assert_cmpstr(settings_get(settings, "connections.home.vips"), ==, "0.0.0.0,::");
	g_assert_cmpstr(settings_get(settings, "secrets.eap-carol.secret"), ==,
	                "Ar3etTnp # with hash");
	g_assert_cmpstr(settings_get(settings, "secrets.ike-1.id-1"), ==, "home@example.org");
	g_assert_cmpint(settings_get_int(settings, "connections.home.version", 1), ==, 2);
	g_assert_cmpstr(settings_get(settings, "pools.v4.addrs"), ==, "10.3.0.0/24");

	g_assert_cmpuint(names->len, ==, 2);
	g_assert_cmpstr(settings_section_get_name(names->pdata[0]), ==, "home");
	g_assert_cmpstr(settings_section_get_name(names->pdata[1]), ==, "ike-192.168.0.1");
	/* a dotted name is reachable from its parent, not by a dotted path */
	dotted = settings_section_get_section(connections, "ike-192.168.0.1");
	g_assert_nonnull(dotted);
	g_assert_cmpstr(settings_section_get_value(dotted, "remote_addrs"), ==, "192.168.0.1");
	g_assert_null(settings_get(settings, "connections.ike-192.168.0.1.remote_addrs"));
}

static void
test_file_strongswan(void)
{
	g_autoptr(Settings) settings = load_valid("strongswan.conf");

	g_assert_true(settings_get_bool(settings, "charon.load_modular", FALSE));
	g_assert_cmpint(settings_get_int(settings, "charon.threads", 1), ==, 16);
	g_assert_cmpint(settings_get_int(settings, "charon.retransmit_timeout", 7), ==, 7);
	g_assert_cmpint(settings_get_int(settings, "charon.filelog.stderr.ike", -1), ==, 2);
	g_assert_cmpstr(settings_get(settings, "charon.filelog.stderr.time_format"), ==,
	                "%b %e %T");
	g_assert_cmpstr(settings_get(settings, "charon.start-scripts.creds"), ==,
	                "swanctl --load-creds");
	g_assert_false(settings_get_bool(settings, "libstrongswan.x509.enforce_critical", TRUE));
	g_assert_nonnull(settings_get_section(settings, "charon.plugins"));
	g_assert_null(settings_get_section(settings, "charon.plugins.missing"));
}

/* Every top-level file in valid/ loads. */
static void
test_file_all_valid(void)
{
	g_autofree char *dir = corpus_path("valid", NULL);
	g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
	const char *name;
	guint count = 0;

	g_assert_nonnull(listing);
	while ((name = g_dir_read_name(listing)) != NULL) {
		g_autoptr(Settings) settings = NULL;

		if (!g_str_has_suffix(name, ".conf"))
			continue;
		g_test_message("loading %s", name);
		settings = load_valid(name);
		count++;
	}
	g_assert_cmpuint(count, >=, 12);
}

/* ---- loading ---- */

static void
test_load_override_across_loads(void)
{
	g_autoptr(Settings) settings = load_valid("override.conf");
	g_autoptr(GError) error = NULL;
	const char second[] = "top = third\ns { a = A }\nnewkey = 1\nt {}\n";
	SettingsSection *s;

	g_assert_true(settings_load_string(settings, second, strlen(second), "second", &error));
	g_assert_no_error(error);
	assert_dump(settings, "[] top=third newkey=1\n"
	                      "[s] a=A b=two c=3\n"
	                      "[t]\n");
	s = settings_get_section(settings, "s");
	g_assert_cmpstr(settings_section_get_origin(settings_get_root(settings), "top"), ==,
	                "second:1");
	g_assert_cmpstr(settings_section_get_origin(s, "a"), ==, "second:2");
}

static void
test_load_missing_file(void)
{
	g_autofree char *dir = make_tmp_dir();
	g_autofree char *path = g_build_filename(dir, "none.conf", NULL);
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;

	g_assert_false(settings_load_file(settings, path, &error));
	g_assert_error(error, SETTINGS_ERROR, SETTINGS_ERROR_NOT_FOUND);
	g_assert_true(settings_error_is_missing_file(error));
	assert_contains(error->message, path);
	assert_contains(error->message, g_strerror(ENOENT));
	g_clear_error(&error);

	/* a folder is not missing, it cannot be read */
	g_assert_false(settings_load_file(settings, dir, &error));
	g_assert_error(error, SETTINGS_ERROR, SETTINGS_ERROR_IO);
	g_assert_false(settings_error_is_missing_file(error));
	assert_contains(error->message, dir);
	g_assert_false(settings_error_is_missing_file(NULL));
	remove_tmp_dir(dir);
}

static void
test_load_missing_include(void)
{
	g_autofree char *path = corpus_path("broken", "include-missing.conf");
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;

	g_assert_false(settings_load_file(settings, path, &error));
	g_assert_false(settings_error_is_missing_file(error));
}

static void
test_load_unchanged_on_error(void)
{
	g_autoptr(Settings) settings = load_valid("nested.conf");
	g_autofree char *path = corpus_path("broken", "late-error.conf");
	g_autofree char *before = dump(settings, TRUE);
	g_autofree char *after = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_false(settings_load_file(settings, path, &error));
	g_assert_error(error, SETTINGS_ERROR, SETTINGS_ERROR_SYNTAX);
	after = dump(settings, TRUE);
	g_assert_cmpstr(after, ==, before);
	g_assert_cmpstr(settings_get(settings, "a.key"), ==, "top");
	g_assert_null(settings_get_section(settings, "fresh"));
}

/* ---- lookups ---- */

static void
test_get_paths(void)
{
	g_autoptr(Settings) settings = load_text("k = v\na { b { k = deep } }\n");
	SettingsSection *root = settings_get_root(settings);

	g_assert_true(settings_get_section(settings, NULL) == root);
	g_assert_true(settings_get_section(settings, "") == root);
	g_assert_cmpstr(settings_section_get_name(root), ==, "");
	g_assert_cmpstr(settings_section_get_name(settings_get_section(settings, "a.b")), ==, "b");
	g_assert_null(settings_get_section(settings, "a.k"));
	g_assert_null(settings_get_section(settings, "a..b"));
	g_assert_cmpstr(settings_get(settings, "k"), ==, "v");
	g_assert_cmpstr(settings_get(settings, "a.b.k"), ==, "deep");
	g_assert_null(settings_get(settings, ""));
	g_assert_null(settings_get(settings, "a"));
	g_assert_null(settings_get(settings, "a.b.k.more"));
	g_assert_cmpstr(settings_get_str(settings, "a.b.k", "fb"), ==, "deep");
	g_assert_cmpstr(settings_get_str(settings, "a.b.none", "fb"), ==, "fb");
	g_assert_null(settings_get_str(settings, "a.b.none", NULL));
	g_assert_true(settings_get_bool(settings, "none", TRUE));
	g_assert_cmpint(settings_get_int(settings, "none", -3), ==, -3);
}

static void
collect_unused(const char *path, const char *origin, gpointer user_data)
{
	g_ptr_array_add(user_data, g_strdup_printf("%s %s", origin, path));
}

/* What no lookup read is listed with its origin (typos, settings for something absent);
 * what was asked for, there or not, is what the program knows. */
static void
test_unused(void)
{
	g_autoptr(Settings) settings =
		load_text("ike {\n retransmit_timout = 2\n tries = 3\n}\nlog {\n ike = debug\n}\n"
			  "connections {\n c {\n  x = 1\n }\n}\n");
	g_autoptr(GPtrArray) unused = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func(g_free);
	static const char *const skip[] = { "connections", NULL };

	g_assert_null(settings_get(settings, "ike.retransmit_timeout"));
	g_assert_cmpstr(settings_get(settings, "ike.tries"), ==, "3");
	g_assert_cmpstr(settings_section_get_value(settings_get_section(settings, "log"), "ike"),
			==, "debug");
	settings_foreach_unused(settings, NULL, collect_unused, unused);
	g_assert_cmpuint(unused->len, ==, 2);
	g_assert_cmpstr(unused->pdata[0], ==, "text:2 ike.retransmit_timout");
	g_assert_cmpstr(unused->pdata[1], ==, "text:10 connections.c.x");
	settings_foreach_unused(settings, skip, collect_unused, skipped);
	g_assert_cmpuint(skipped->len, ==, 1);

	g_autoptr(GPtrArray) asked = settings_list_asked(settings);
	g_assert_cmpuint(asked->len, ==, 2); /* ike.retransmit_timeout, ike.tries */
	g_assert_cmpstr(settings_closest_name("ike.retransmit_timout",
					      (const char *const *)asked->pdata, asked->len),
			==, "ike.retransmit_timeout");
	/* too far off from anything: no guess */
	g_assert_null(settings_closest_name("ike.tires_max", (const char *const *)asked->pdata,
					    asked->len));
}

typedef enum { EXPECT_FALSE, EXPECT_TRUE, EXPECT_FALLBACK } BoolExpect;

typedef struct {
	const char *name;
	const char *value;
	BoolExpect expect;
} BoolCase;

static const BoolCase bool_cases[] = {
        {"yes", "yes", EXPECT_TRUE},
        {"YES", "YES", EXPECT_TRUE},
        {"True", "True", EXPECT_TRUE},
        {"on", "on", EXPECT_TRUE},
        {"Enabled", "Enabled", EXPECT_TRUE},
        {"1", "1", EXPECT_TRUE},
        {"no", "no", EXPECT_FALSE},
        {"FALSE", "FALSE", EXPECT_FALSE},
        {"off", "off", EXPECT_FALSE},
        {"disabled", "disabled", EXPECT_FALSE},
        {"0", "0", EXPECT_FALSE},
        {"empty", "", EXPECT_FALLBACK},
        {"maybe", "maybe", EXPECT_FALLBACK},
        {"2", "2", EXPECT_FALLBACK},
        {"yes-please", "yes please", EXPECT_FALLBACK},
        {"blank-yes", " yes", EXPECT_FALLBACK},
};

static void
test_get_bool(gconstpointer data)
{
	const BoolCase *tc = data;
	g_autofree char *text = g_strdup_printf("s { v = \"%s\" }\n", tc->value);
	g_autoptr(Settings) settings = load_text(text);

	g_assert_cmpstr(settings_get(settings, "s.v"), ==, tc->value);
	g_assert_cmpint(settings_get_bool(settings, "s.v", TRUE), ==, tc->expect != EXPECT_FALSE);
	g_assert_cmpint(settings_get_bool(settings, "s.v", FALSE), ==, tc->expect == EXPECT_TRUE);
}

typedef struct {
	const char *name;
	const char *value;
	gboolean valid;
	gint64 number;
} IntCase;

static const IntCase int_cases[] = {
        {"42", "42", TRUE, 42},
        {"negative", "-17", TRUE, -17},
        {"zero", "0", TRUE, 0},
        {"max", "9223372036854775807", TRUE, G_MAXINT64},
        {"min", "-9223372036854775808", TRUE, G_MININT64},
        {"overflow", "9223372036854775808", FALSE, 0},
        {"hex", "0x10", FALSE, 0},
        {"trailing", "12abc", FALSE, 0},
        {"decimal", "4.0", FALSE, 0},
        {"empty", "", FALSE, 0},
        {"blank", " 5", FALSE, 0},
};

static void
test_get_int(gconstpointer data)
{
	const IntCase *tc = data;
	g_autofree char *text = g_strdup_printf("v = \"%s\"\n", tc->value);
	g_autoptr(Settings) settings = load_text(text);

	if (tc->valid) {
		g_assert_cmpint(settings_get_int(settings, "v", 99), ==, tc->number);
	} else {
		g_assert_cmpint(settings_get_int(settings, "v", 99), ==, 99);
		g_assert_cmpint(settings_get_int(settings, "v", -1), ==, -1);
	}
}

/* ---- broken input ---- */

typedef struct {
	const char *name;
	const char *file; /* where the error is, below broken/; NULL: the loaded file */
	SettingsError code;
	const char *where;
	const char *what;
} BrokenCase;

static const BrokenCase broken_cases[] = {
        {"unclosed-section", NULL, SETTINGS_ERROR_SYNTAX, "5:1",
         "section \"a\" is not closed (opened at 1:1)"},
        {"stray-brace", NULL, SETTINGS_ERROR_SYNTAX, "3:1", "unexpected '}'"},
        {"missing-equals", NULL, SETTINGS_ERROR_SYNTAX, "2:6", "expected '=' or '{' after \"key\""},
        {"unterminated-quote", NULL, SETTINGS_ERROR_SYNTAX, "4:1",
         "unterminated quoted string in value of \"key\" (quote opened at 2:8)"},
        {"text-after-quote", NULL, SETTINGS_ERROR_SYNTAX, "1:16",
         "unexpected text after the quoted value of \"key\""},
        {"stray-equals", NULL, SETTINGS_ERROR_SYNTAX, "1:1", "unexpected '='"},
        {"include-missing", NULL, SETTINGS_ERROR_INCLUDE, "2:9",
         "does-not-exist.conf: No such file or directory"},
        {"include-empty", NULL, SETTINGS_ERROR_SYNTAX, "1:1",
         "include without a file name or pattern"},
        {"include-loop", NULL, SETTINGS_ERROR_INCLUDE, "2:9", "include nested too deep (loop?)"},
        {"include-broken", "include-broken.d/bad.conf", SETTINGS_ERROR_SYNTAX, "2:1",
         "unexpected '}'"},
        {"section-reference", NULL, SETTINGS_ERROR_SYNTAX, "2:9",
         "section references (\"name : base\") are not supported"},
        {"late-error", NULL, SETTINGS_ERROR_SYNTAX, "7:1", "unexpected '}'"},
};

static void
test_broken_file(gconstpointer data)
{
	const BrokenCase *tc = data;
	g_autofree char *name = g_strconcat(tc->name, ".conf", NULL);
	g_autofree char *path = corpus_path("broken", name);
	g_autofree char *file = tc->file != NULL ? corpus_path("broken", tc->file) : NULL;
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;

	g_assert_false(settings_load_file(settings, path, &error));
	assert_error_at(error, tc->code, file != NULL ? file : path, tc->where, tc->what);
	g_assert_false(settings_error_is_missing_file(error));
	assert_dump(settings, "[]\n");
}

#define TEXT(s) s, sizeof(s) - 1

typedef struct {
	const char *name;
	const char *text;
	gsize len;
	const char *where;
	const char *what;
} BytesCase;

static const BytesCase bytes_cases[] = {
        {"nul", TEXT("a = 1\0\n"), "1:6", "unexpected byte 0x00"},
        {"soh", TEXT("a {\n\x01}"), "2:1", "unexpected byte 0x01"},
        {"del", TEXT("k = \x7f"), "1:5", "unexpected byte 0x7f"},
        {"in-comment", TEXT("# \x1b[0m\n"), "1:3", "unexpected byte 0x1b"},
        {"in-quote", TEXT("k = \"\x02\""), "1:6", "unexpected byte 0x02"},
        {"after-utf8", TEXT("k = \xc3\xbc\x01"), "1:6", "unexpected byte 0x01"},
        {"form-feed", TEXT("a = 1\n\f"), "2:1", "unexpected byte 0x0c"},
};

static void
test_broken_bytes(gconstpointer data)
{
	const BytesCase *tc = data;
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;

	g_assert_false(settings_load_string(settings, tc->text, tc->len, "bytes", &error));
	assert_error_at(error, SETTINGS_ERROR_SYNTAX, "bytes", tc->where, tc->what);
	assert_dump(settings, "[]\n");
}

static void
test_broken_random(void)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(20240601);

	for (guint round = 0; round < 16; round++) {
		g_autoptr(Settings) settings = settings_new();
		g_autoptr(GError) error = NULL;
		guint8 data[4096];

		for (gsize i = 0; i < sizeof(data); i++)
			data[i] = (guint8)g_rand_int_range(rand, 0, 256);
		g_assert_false(settings_load_string(settings, (const char *)data, sizeof(data),
		                                    "random", &error));
		g_assert_nonnull(error);
		g_assert_true(error->domain == SETTINGS_ERROR);
		assert_dump(settings, "[]\n");
	}
}

/* Loads @text into empty settings: no crash, FALSE exactly with an error. */
static void
check_mutant(const char *text, gsize len)
{
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;
	gboolean ok = settings_load_string(settings, text, len, "mutant", &error);

	g_assert_true(ok == (error == NULL));
	if (!ok) {
		g_assert_true(error->domain == SETTINGS_ERROR);
		g_assert_true(g_str_has_prefix(error->message, "mutant"));
		assert_dump(settings, "[]\n");
	}
}

/* Every truncation and some byte replacements of each valid file. */
static void
test_broken_mutations(void)
{
	static const char replacements[] = {'{', '}', '"', '=', '\n', '\\', ':', '\0'};
	const char *files[] = {"swanctl.conf", "quoted.conf", "nested.conf", "comments.conf"};

	for (gsize f = 0; f < G_N_ELEMENTS(files); f++) {
		g_autofree char *path = corpus_path("valid", files[f]);
		g_autofree char *text = NULL;
		gsize len = 0;

		g_assert_true(g_file_get_contents(path, &text, &len, NULL));
		for (gsize cut = 0; cut <= len; cut++)
			check_mutant(text, cut);
		for (gsize pos = 0; pos < len; pos++) {
			for (gsize r = 0; r < G_N_ELEMENTS(replacements); r++) {
				g_autofree char *copy = g_memdup2(text, len);

				copy[pos] = replacements[r];
				check_mutant(copy, len);
			}
		}
	}
}

/* ---- limits ---- */

/* "k = " + @n × 'x' (quoted when asked) + "\n" */
static char *
long_value_text(gsize n, gboolean quoted, gsize *len)
{
	GString *text = g_string_sized_new(n + 16);

	g_string_append(text, quoted ? "k = \"" : "k = ");
	memset(text->str + text->len, 'x', n);
	g_string_set_size(text, text->len + n);
	g_string_append(text, quoted ? "\"\n" : "\n");
	*len = text->len;
	return g_string_free(text, FALSE);
}

static void
check_value_refused(gsize n, gboolean quoted)
{
	gsize len = 0;
	g_autofree char *text = long_value_text(n, quoted, &len);
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GTimer) timer = g_timer_new();

	g_assert_false(settings_load_string(settings, text, len, "long", &error));
	/* linear, not quadratic: 10 MB is a few milliseconds of work */
	g_assert_cmpfloat(g_timer_elapsed(timer, NULL), <, 1.0);
	assert_error_at(error, SETTINGS_ERROR_LIMIT, "long", "1:5", "value of \"k\"");
	assert_dump(settings, "[]\n");
}

static void
test_limit_value(void)
{
	gsize len = 0;
	g_autofree char *text = long_value_text(SETTINGS_MAX_VALUE_LEN, FALSE, &len);
	g_autofree char *quoted = long_value_text(SETTINGS_MAX_VALUE_LEN, TRUE, &len);
	g_autoptr(Settings) settings = load_text(text);
	g_autoptr(Settings) settings_quoted = load_text(quoted);

	g_assert_cmpuint(strlen(settings_get(settings, "k")), ==, SETTINGS_MAX_VALUE_LEN);
	g_assert_cmpuint(strlen(settings_get(settings_quoted, "k")), ==, SETTINGS_MAX_VALUE_LEN);
	check_value_refused(SETTINGS_MAX_VALUE_LEN + 1, FALSE);
	check_value_refused(SETTINGS_MAX_VALUE_LEN + 1, TRUE);
}

static void
test_limit_value_10mb(void)
{
	check_value_refused(10 << 20, FALSE);
	check_value_refused(10 << 20, TRUE);
}

static void
test_limit_depth(void)
{
	g_autofree char *ok_text = nested_text(SETTINGS_MAX_DEPTH, "k = deep\n");
	g_autofree char *deep_text = nested_text(SETTINGS_MAX_DEPTH + 1, "k = deep\n");
	g_autoptr(Settings) settings = load_text(ok_text);
	g_autoptr(Settings) refused = settings_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) path = g_string_new(NULL);
	g_autofree char *where = g_strdup_printf("%d:1", SETTINGS_MAX_DEPTH + 1);

	for (guint i = 0; i < SETTINGS_MAX_DEPTH; i++)
		g_string_append(path, "a.");
	g_string_append(path, "k");
	g_assert_cmpstr(settings_get(settings, path->str), ==, "deep");

	g_assert_false(settings_load_string(refused, deep_text, strlen(deep_text), "deep", &error));
	assert_error_at(error, SETTINGS_ERROR_LIMIT, "deep", where, "nested too deep");
}

/* Sections opened in the including file count for the included one. */
static void
test_limit_depth_include(void)
{
	g_autofree char *dir = make_tmp_dir();
	g_autofree char *outer_text = nested_text(SETTINGS_MAX_DEPTH - 1, "include inner.conf\n");
	g_autofree char *outer = write_tmp_file(dir, "outer.conf", outer_text);
	g_autofree char *inner = write_tmp_file(dir, "inner.conf", "b { c { } }\n");
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;

	g_assert_false(settings_load_file(settings, outer, &error));
	assert_error_at(error, SETTINGS_ERROR_LIMIT, inner, "1:5",
	                "section \"c\" is nested too deep");
	remove_tmp_dir(dir);
}

static void
test_limit_file_size(void)
{
	g_autofree char *dir = make_tmp_dir();
	g_autofree char *big = g_build_filename(dir, "big.conf", NULL);
	g_autofree char *includer = write_tmp_file(dir, "includer.conf", "include big.conf\n");
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;
	int fd;

	/* sparse: a size over the limit without writing 16 MiB */
	fd = g_open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, SETTINGS_MAX_FILE_SIZE + 1), ==, 0);
	g_assert_cmpint(close(fd), ==, 0);

	g_assert_false(settings_load_file(settings, big, &error));
	g_assert_error(error, SETTINGS_ERROR, SETTINGS_ERROR_LIMIT);
	assert_contains(error->message, big);
	g_clear_error(&error);

	g_assert_false(settings_load_file(settings, includer, &error));
	assert_error_at(error, SETTINGS_ERROR_LIMIT, includer, "1:9", "big.conf");
	remove_tmp_dir(dir);
}

static void
test_limit_string_size(void)
{
	gsize len = SETTINGS_MAX_FILE_SIZE + 1;
	g_autofree char *text = g_malloc0(len);
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(GError) error = NULL;

	g_assert_false(settings_load_string(settings, text, len, "huge", &error));
	g_assert_error(error, SETTINGS_ERROR, SETTINGS_ERROR_LIMIT);
	assert_contains(error->message, "huge");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/settings/parse/nested", test_parse_nested);
	g_test_add_func("/settings/parse/merge", test_parse_merge);
	g_test_add_func("/settings/parse/override", test_parse_override);
	g_test_add_func("/settings/parse/order", test_parse_order);
	g_test_add_func("/settings/parse/many", test_parse_many);
	for (gsize i = 0; i < G_N_ELEMENTS(quoted_cases); i++) {
		g_autofree char *name =
		        g_strdup_printf("/settings/parse/quoted/%s", quoted_cases[i].key);
		g_test_add_data_func(name, &quoted_cases[i], test_parse_quoted);
	}
	g_test_add_func("/settings/parse/comments", test_parse_comments);
	g_test_add_func("/settings/parse/crlf", test_parse_crlf);
	g_test_add_func("/settings/parse/empty", test_parse_empty);
	g_test_add_func("/settings/parse/include-as-name", test_parse_include_as_name);

	g_test_add_func("/settings/include/glob", test_include_glob);
	g_test_add_func("/settings/include/relative", test_include_relative);
	g_test_add_func("/settings/include/section", test_include_section);
	g_test_add_func("/settings/include/nomatch", test_include_nomatch);
	g_test_add_func("/settings/include/string-cwd", test_include_string_cwd);
	g_test_add_func("/settings/include/depth", test_include_depth);

	g_test_add_func("/settings/file/swanctl", test_file_swanctl);
	g_test_add_func("/settings/file/strongswan", test_file_strongswan);
	g_test_add_func("/settings/file/all-valid", test_file_all_valid);

	g_test_add_func("/settings/load/override", test_load_override_across_loads);
	g_test_add_func("/settings/load/missing-file", test_load_missing_file);
	g_test_add_func("/settings/load/missing-include", test_load_missing_include);
	g_test_add_func("/settings/load/unchanged-on-error", test_load_unchanged_on_error);

	g_test_add_func("/settings/get/paths", test_get_paths);
	g_test_add_func("/settings/get/unused", test_unused);
	for (gsize i = 0; i < G_N_ELEMENTS(bool_cases); i++) {
		g_autofree char *name =
		        g_strdup_printf("/settings/get/bool/%s", bool_cases[i].name);
		g_test_add_data_func(name, &bool_cases[i], test_get_bool);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(int_cases); i++) {
		g_autofree char *name = g_strdup_printf("/settings/get/int/%s", int_cases[i].name);
		g_test_add_data_func(name, &int_cases[i], test_get_int);
	}

	for (gsize i = 0; i < G_N_ELEMENTS(broken_cases); i++) {
		g_autofree char *name =
		        g_strdup_printf("/settings/broken/file/%s", broken_cases[i].name);
		g_test_add_data_func(name, &broken_cases[i], test_broken_file);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(bytes_cases); i++) {
		g_autofree char *name =
		        g_strdup_printf("/settings/broken/bytes/%s", bytes_cases[i].name);
		g_test_add_data_func(name, &bytes_cases[i], test_broken_bytes);
	}
	g_test_add_func("/settings/broken/random", test_broken_random);
	g_test_add_func("/settings/broken/mutations", test_broken_mutations);

	g_test_add_func("/settings/limit/value", test_limit_value);
	g_test_add_func("/settings/limit/value-10mb", test_limit_value_10mb);
	g_test_add_func("/settings/limit/depth", test_limit_depth);
	g_test_add_func("/settings/limit/depth-include", test_limit_depth_include);
	g_test_add_func("/settings/limit/file-size", test_limit_file_size);
	g_test_add_func("/settings/limit/string-size", test_limit_string_size);

	return g_test_run();
}
