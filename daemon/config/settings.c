/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A hand-written scanner over the whole file in memory: one pass, one cursor that
 * tracks line and column, an explicit stack for open sections (no recursion per
 * nesting level). Only includes recurse, and SETTINGS_MAX_INCLUDE_DEPTH bounds that.
 *
 * Each load parses into a fresh tree that is merged into the live one only once
 * everything parsed, so a broken file never leaves half of itself behind.
 *
 * Where settings.h is silent we follow strongSwan: an unquoted value also ends at '}'
 * (so "a { b = 1 }" is one line), and ':' and ',' are not part of names because
 * strongSwan reserves them for section references, which we refuse.
 */
#include "config/settings.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* the quark name is stringified: clang-format's spaces would end up in it */
/* clang-format off */
G_DEFINE_QUARK(settings-error-quark, settings_error)
/* clang-format on */

typedef struct {
	char *name; /* first, as in SettingsSection: see named_find() */
	char *value;
	char *origin;  /* "FILE:LINE" */
	gboolean used; /* read since it was loaded: see settings_foreach_unused() */
} SettingsKey;

struct SettingsSection {
	char *name;
	GPtrArray *keys;           /* SettingsKey *, first-seen order, owned */
	GHashTable *key_index;     /* name → SettingsKey *, borrowed; NULL while few */
	GPtrArray *sections;       /* SettingsSection *, first-seen order, owned */
	GHashTable *section_index; /* name → SettingsSection *, borrowed; NULL while few */
};

/*
 * Keys and sections are found by a scan while a section has few of them, as most do,
 * and through an index from NAMED_INDEX_MIN on. Two hash tables for every section were
 * most of the tree: 4 KB per connection of a swanctl.conf while it loads, which stayed
 * in the daemon's RSS as holes between the connections made from it.
 */
#define NAMED_INDEX_MIN 16

/* The item of @items (keys or sections: each starts with its name) called @name. */
static gpointer
named_find(const GPtrArray *items, GHashTable *index, const char *name)
{
	if (index != NULL)
		return g_hash_table_lookup(index, name);
	for (guint i = 0; i < items->len; i++) {
		const char *const *item_name = items->pdata[i];

		/* merging leaves NULL behind in the tree it empties */
		if (item_name != NULL && strcmp(*item_name, name) == 0)
			return items->pdata[i];
	}
	return NULL;
}

static void
named_add(GPtrArray *items, GHashTable **index, gpointer item)
{
	g_ptr_array_add(items, item);
	if (*index == NULL && items->len < NAMED_INDEX_MIN)
		return;
	if (*index == NULL) {
		*index = g_hash_table_new(g_str_hash, g_str_equal);
		for (guint i = 0; i + 1 < items->len; i++)
			if (items->pdata[i] != NULL)
				g_hash_table_insert(*index, *(char **)items->pdata[i], items->pdata[i]);
	}
	g_hash_table_insert(*index, *(char **)item, item);
}

struct Settings {
	SettingsSection *root;
	GHashTable *asked; /* dotted paths settings_get() was asked for, there or not */
};

/* ---- tree ---- */

/* Values may be secrets (a PSK in a secrets section): wiped before the memory goes. */
static void
value_free(char *value)
{
	if (value != NULL)
		explicit_bzero(value, strlen(value));
	g_free(value);
}

static void
settings_key_free(SettingsKey *key)
{
	/* merging steals keys and leaves NULL behind */
	if (key == NULL)
		return;
	g_free(key->name);
	value_free(key->value);
	g_free(key->origin);
	g_free(key);
}

static void
section_free(SettingsSection *section)
{
	/* merging steals sections and leaves NULL behind; depth is bounded by the parser */
	if (section == NULL)
		return;
	g_clear_pointer(&section->key_index, g_hash_table_unref);
	g_clear_pointer(&section->section_index, g_hash_table_unref);
	g_ptr_array_unref(section->keys);
	g_ptr_array_unref(section->sections);
	g_free(section->name);
	g_free(section);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SettingsSection, section_free)

static SettingsSection *
section_new(const char *name)
{
	SettingsSection *section = g_new0(SettingsSection, 1);

	section->name = g_strdup(name);
	section->keys = g_ptr_array_new_with_free_func((GDestroyNotify)settings_key_free);
	section->sections = g_ptr_array_new_with_free_func((GDestroyNotify)section_free);
	return section;
}

static void
section_append_section(SettingsSection *section, SettingsSection *child)
{
	named_add(section->sections, &section->section_index, child);
}

/* The child @name, created at the end of the order if it is new. (transfer none) */
static SettingsSection *
section_ensure_section(SettingsSection *section, const char *name)
{
	SettingsSection *child = named_find(section->sections, section->section_index, name);

	if (child == NULL) {
		child = section_new(name);
		section_append_section(section, child);
	}
	return child;
}

/* A known key keeps its place in the order and gets the new value and origin. */
static void
section_take_value(SettingsSection *section, const char *name, char *value, char *origin)
{
	SettingsKey *key = named_find(section->keys, section->key_index, name);

	if (key == NULL) {
		key = g_new0(SettingsKey, 1);
		key->name = g_strdup(name);
		named_add(section->keys, &section->key_index, key);
	}
	value_free(key->value);
	key->value = value;
	g_free(key->origin);
	key->origin = origin;
}

/* Moves everything from @src into @dst; @src is left with holes and must be freed. */
static void
section_merge(SettingsSection *dst, SettingsSection *src)
{
	for (guint i = 0; i < src->keys->len; i++) {
		SettingsKey *key = src->keys->pdata[i];

		section_take_value(dst, key->name, g_steal_pointer(&key->value),
		                   g_steal_pointer(&key->origin));
	}
	for (guint i = 0; i < src->sections->len; i++) {
		SettingsSection *child = src->sections->pdata[i];
		SettingsSection *known = named_find(dst->sections, dst->section_index, child->name);

		if (known != NULL) {
			section_merge(known, child);
		} else {
			section_append_section(dst, child);
			src->sections->pdata[i] = NULL;
		}
	}
}

/* ---- scanning ---- */

/* A GString that may hold a secret value: wiped when freed unused. */
typedef GString WipedString;

static void
wiped_string_free(WipedString *string)
{
	explicit_bzero(string->str, string->allocated_len);
	g_string_free(string, TRUE);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WipedString, wiped_string_free)

typedef struct {
	const char *p;
	const char *end;
	guint line;
	guint col;
} Cursor;

/* Where a section was opened, for "not closed" messages. */
typedef struct {
	SettingsSection *section;
	guint line;
	guint col;
} Frame;

typedef struct {
	Cursor cur;
	const char *file; /* in messages and origins */
	const char *dir;  /* base of relative includes; NULL: the working directory */
	guint include_depth;
	guint base_depth; /* sections already open in the including files */
	GArray *stack;    /* Frame; [0] is the section the text goes into */
} Parser;

static inline int
cur_peek(const Cursor *cur)
{
	return cur->p < cur->end ? (guchar)*cur->p : -1;
}

static inline void
cur_advance(Cursor *cur)
{
	guchar c = (guchar)*cur->p++;

	if (c == '\n') {
		cur->line++;
		cur->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		/* columns count characters, not UTF-8 continuation bytes */
		cur->col++;
	}
}

static inline gboolean
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static inline gboolean
is_name_char(int c)
{
	/* ':' and ',' are reserved by strongSwan for section references */
	return c > 0x20 && c != 0x7f && strchr("{}=#\":,", c) == NULL;
}

/* Bytes no text file has; tab, CR and LF are the only control characters allowed. */
static inline gboolean
is_bad_byte(guchar c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

static gboolean fail_at(const Parser *ps, guint line, guint col, SettingsError code, GError **error,
                        const char *fmt, ...) G_GNUC_PRINTF(6, 7);

/* Sets "FILE:LINE:COL: what" and returns FALSE, so callers can return it. */
static gboolean
fail_at(const Parser *ps, guint line, guint col, SettingsError code, GError **error,
        const char *fmt, ...)
{
	g_autofree char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, SETTINGS_ERROR, code, "%s:%u:%u: %s", ps->file, line, col, what);
	return FALSE;
}

/* Checked up front so the scanner can trust every byte it looks at. */
static gboolean
check_bytes(Parser *ps, GError **error)
{
	Cursor cur = ps->cur;

	while (cur.p < cur.end && !is_bad_byte((guchar)*cur.p))
		cur_advance(&cur);
	if (cur.p == cur.end)
		return TRUE;
	return fail_at(ps, cur.line, cur.col, SETTINGS_ERROR_SYNTAX, error,
	               "unexpected byte 0x%02x", (guchar)*cur.p);
}

static void
skip_blanks(Cursor *cur)
{
	while (is_blank(cur_peek(cur)))
		cur_advance(cur);
}

static void
skip_comment(Cursor *cur)
{
	while (cur_peek(cur) != -1 && cur_peek(cur) != '\n')
		cur_advance(cur);
}

/* Blanks, line ends and comments between statements. */
static void
skip_space(Cursor *cur)
{
	for (;;) {
		int c = cur_peek(cur);

		if (is_blank(c) || c == '\n')
			cur_advance(cur);
		else if (c == '#')
			skip_comment(cur);
		else
			return;
	}
}

/* After a value or include: only a comment, a '}' or the end of the line may follow. */
static gboolean
at_statement_end(Cursor *cur)
{
	int c;

	skip_blanks(cur);
	c = cur_peek(cur);
	return c == -1 || c == '\n' || c == '#' || c == '}';
}

static char *
read_name(Cursor *cur)
{
	const char *start = cur->p;

	while (is_name_char(cur_peek(cur)))
		cur_advance(cur);
	return g_strndup(start, cur->p - start);
}

/*
 * Appends the plain bytes up to the next quote, backslash or CR in one go; stops
 * just past the value limit so a huge string is not copied whole.
 */
static void
append_run(Cursor *cur, GString *out)
{
	const char *start = cur->p;
	gsize room = SETTINGS_MAX_VALUE_LEN + 1 - MIN(out->len, SETTINGS_MAX_VALUE_LEN + 1);
	int c;

	while ((gsize)(cur->p - start) < room && (c = cur_peek(cur)) != -1 && c != '"' &&
	       c != '\\' && c != '\r')
		cur_advance(cur);
	g_string_append_len(out, start, cur->p - start);
}

/* After a backslash: the escapes we know, else both characters stay. */
static void
append_escape(Cursor *cur, GString *out)
{
	int c = cur_peek(cur);

	switch (c) {
	case '"':
	case '\\':
		g_string_append_c(out, (char)c);
		break;
	case 'n':
		g_string_append_c(out, '\n');
		break;
	case 't':
		g_string_append_c(out, '\t');
		break;
	default:
		/* the next character is read as if no backslash came before it */
		g_string_append_c(out, '\\');
		return;
	}
	cur_advance(cur);
}

/*
 * A double-quoted string starting at the cursor; @what names it in messages. It may
 * span lines; CRLF inside becomes LF so a file means the same on either platform.
 */
static char *
read_quoted(Parser *ps, const char *what, GError **error)
{
	Cursor *cur = &ps->cur;
	/* sized to reach the next quote, so growing it leaves no copy of a secret behind
	 * (only a value with escaped quotes may grow past it) */
	gsize left = (gsize)(cur->end - cur->p);
	const char *close = left > 1 ? memchr(cur->p + 1, '"', left - 1) : NULL;
	g_autoptr(WipedString) out = g_string_sized_new(close ? (gsize)(close - cur->p) : 16);
	guint line = cur->line, col = cur->col;
	int c;

	cur_advance(cur);
	while ((c = cur_peek(cur)) != '"') {
		if (c == -1) {
			fail_at(ps, cur->line, cur->col, SETTINGS_ERROR_SYNTAX, error,
			        "unterminated quoted string in %s (quote opened at %u:%u)", what,
			        line, col);
			return NULL;
		}
		cur_advance(cur);
		if (c == '\\')
			append_escape(cur, out);
		else if (c != '\r' || cur_peek(cur) != '\n')
			g_string_append_c(out, (char)c);
		append_run(cur, out);
		if (out->len > SETTINGS_MAX_VALUE_LEN) {
			fail_at(ps, line, col, SETTINGS_ERROR_LIMIT, error,
			        "%s is longer than %d bytes", what, SETTINGS_MAX_VALUE_LEN);
			return NULL;
		}
	}
	cur_advance(cur);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Up to a line end, comment or '}', without the blanks around it. */
static char *
read_plain_value(Parser *ps, const char *key, GError **error)
{
	Cursor *cur = &ps->cur;
	guint line = cur->line, col = cur->col;
	const char *start = cur->p, *end;
	int c;

	while ((c = cur_peek(cur)) != -1 && c != '\n' && c != '#' && c != '}')
		cur_advance(cur);
	for (end = cur->p; end > start && is_blank(end[-1]); end--)
		;
	if ((gsize)(end - start) > SETTINGS_MAX_VALUE_LEN) {
		fail_at(ps, line, col, SETTINGS_ERROR_LIMIT, error,
		        "value of \"%s\" is longer than %d bytes", key, SETTINGS_MAX_VALUE_LEN);
		return NULL;
	}
	return g_strndup(start, end - start);
}

static SettingsSection *
parser_section(const Parser *ps)
{
	return g_array_index(ps->stack, Frame, ps->stack->len - 1).section;
}

/* The cursor is on the character after '='. */
static gboolean
parse_value(Parser *ps, const char *key, guint line, GError **error)
{
	g_autofree char *value = NULL;

	skip_blanks(&ps->cur);
	if (cur_peek(&ps->cur) == '"') {
		g_autofree char *what = g_strdup_printf("value of \"%s\"", key);

		value = read_quoted(ps, what, error);
		if (value == NULL)
			return FALSE;
		if (!at_statement_end(&ps->cur))
			return fail_at(ps, ps->cur.line, ps->cur.col, SETTINGS_ERROR_SYNTAX, error,
			               "unexpected text after the quoted value of \"%s\"", key);
	} else {
		value = read_plain_value(ps, key, error);
		if (value == NULL)
			return FALSE;
	}
	section_take_value(parser_section(ps), key, g_steal_pointer(&value),
	                   g_strdup_printf("%s:%u", ps->file, line));
	return TRUE;
}

/* The cursor is on '{'. */
static gboolean
open_section(Parser *ps, const char *name, guint line, guint col, GError **error)
{
	Frame frame = {.line = line, .col = col};

	if (ps->base_depth + ps->stack->len > SETTINGS_MAX_DEPTH)
		return fail_at(ps, line, col, SETTINGS_ERROR_LIMIT, error,
		               "section \"%s\" is nested too deep (more than %d levels)", name,
		               SETTINGS_MAX_DEPTH);
	cur_advance(&ps->cur);
	frame.section = section_ensure_section(parser_section(ps), name);
	g_array_append_val(ps->stack, frame);
	return TRUE;
}

/* ---- files and includes ---- */

static gboolean parse_text(SettingsSection *into, const char *text, gsize len, const char *file,
                           const char *dir, guint include_depth, guint base_depth, GError **error);

/* A file's text, wiped when freed: secrets files hold PSKs. */
typedef struct {
	char *data;
	gsize len;
} FileText;

static void
file_text_clear(FileText *text)
{
	if (text->data != NULL) {
		explicit_bzero(text->data, text->len);
		g_free(text->data);
	}
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FileText, file_text_clear)

/*
 * Reads at most SETTINGS_MAX_FILE_SIZE bytes. Returns 0 or an errno value, EFBIG for
 * a file over the limit. Reading (rather than trusting st_size) keeps pipes and
 * /proc-like files bounded too.
 */
static int
read_bounded(const char *path, FileText *text)
{
	g_autoptr(GByteArray) buf = NULL;
	guint8 chunk[16384];
	struct stat st;
	int fd, err = 0;

	fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	/* refuse a big regular file before reading any of it */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > SETTINGS_MAX_FILE_SIZE)
		err = EFBIG;
	/* sized to the file, so no reallocation leaves a copy of a secret behind (a pipe
	 * that grows it may) */
	buf = g_byte_array_sized_new(err == 0 && S_ISREG(st.st_mode) ? (guint)st.st_size + 1 : 0);
	while (err == 0) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = errno;
		else if (n == 0)
			break;
		else if (buf->len + (gsize)n > SETTINGS_MAX_FILE_SIZE)
			err = EFBIG;
		else
			g_byte_array_append(buf, chunk, (guint)n);
	}
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	if (err != 0) {
		if (buf->len) /* an empty GByteArray has no data (NULL) */
			explicit_bzero(buf->data, buf->len);
		return err;
	}
	text->len = buf->len;
	text->data = (char *)g_byte_array_free(g_steal_pointer(&buf), FALSE);
	return 0;
}

/* glob(3) would read wildcards in the folder name; the folder is taken literally. */
static char *
glob_escape(const char *text)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p != '\0'; p++) {
		if (strchr("*?[\\", *p) != NULL)
			g_string_append_c(out, '\\');
		g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

static gboolean
include_file(Parser *ps, const char *path, guint line, guint col, GError **error)
{
	g_auto(FileText) text = { 0 };
	g_autofree char *dir = NULL;
	int err;

	g_debug("including %s", path);
	err = read_bounded(path, &text);
	if (err == EFBIG)
		return fail_at(ps, line, col, SETTINGS_ERROR_LIMIT, error,
		               "include %s: file is larger than %d bytes", path,
		               SETTINGS_MAX_FILE_SIZE);
	if (err != 0)
		return fail_at(ps, line, col, SETTINGS_ERROR_INCLUDE, error, "include %s: %s", path,
		               g_strerror(err));
	dir = g_path_get_dirname(path);
	return parse_text(parser_section(ps), text.data, text.len, path, dir, ps->include_depth + 1,
	                  ps->base_depth + ps->stack->len - 1, error);
}

/* Every match in glob's (sorted) order; a pattern matching nothing includes nothing. */
static gboolean
include_glob(Parser *ps, const char *pattern, guint line, guint col, GError **error)
{
	glob_t matches = {0};
	gboolean ok = TRUE;
	int rc;

	rc = glob(pattern, GLOB_MARK, NULL, &matches);
	if (rc != 0 && rc != GLOB_NOMATCH) {
		globfree(&matches);
		return fail_at(ps, line, col, SETTINGS_ERROR_INCLUDE, error,
		               "include %s: cannot expand the pattern", pattern);
	}
	for (gsize i = 0; ok && i < matches.gl_pathc; i++) {
		/* a wildcard may match folders too; GLOB_MARK gave them a trailing '/' */
		if (!g_str_has_suffix(matches.gl_pathv[i], "/"))
			ok = include_file(ps, matches.gl_pathv[i], line, col, error);
	}
	globfree(&matches);
	return ok;
}

static gboolean
include_pattern(Parser *ps, const char *pattern, guint line, guint col, GError **error)
{
	gboolean relative = !g_path_is_absolute(pattern) && ps->dir != NULL;
	g_autofree char *escaped = NULL;
	g_autofree char *full = NULL;

	if (ps->include_depth >= SETTINGS_MAX_INCLUDE_DEPTH)
		return fail_at(ps, line, col, SETTINGS_ERROR_INCLUDE, error,
		               "include nested too deep (loop?)");
	if (strpbrk(pattern, "*?[") == NULL) {
		/* a plain name must exist, unlike a pattern */
		full = relative ? g_build_filename(ps->dir, pattern, NULL) : g_strdup(pattern);
		return include_file(ps, full, line, col, error);
	}
	if (relative) {
		escaped = glob_escape(ps->dir);
		full = g_build_filename(escaped, pattern, NULL);
	}
	return include_glob(ps, full != NULL ? full : pattern, line, col, error);
}

static char *
read_include_pattern(Parser *ps, GError **error)
{
	const char *start = ps->cur.p;
	int c;

	if (cur_peek(&ps->cur) == '"')
		return read_quoted(ps, "include pattern", error);
	while ((c = cur_peek(&ps->cur)) != -1 && !is_blank(c) && c != '\n' && c != '#' && c != '}')
		cur_advance(&ps->cur);
	return g_strndup(start, ps->cur.p - start);
}

/* The cursor is after "include" and its blanks. */
static gboolean
parse_include(Parser *ps, guint line, guint col, GError **error)
{
	guint pline = ps->cur.line, pcol = ps->cur.col;
	g_autofree char *pattern = read_include_pattern(ps, error);

	if (pattern == NULL)
		return FALSE;
	if (*pattern == '\0')
		return fail_at(ps, line, col, SETTINGS_ERROR_SYNTAX, error,
		               "include without a file name or pattern");
	if (!at_statement_end(&ps->cur))
		return fail_at(ps, ps->cur.line, ps->cur.col, SETTINGS_ERROR_SYNTAX, error,
		               "unexpected text after the include pattern");
	return include_pattern(ps, pattern, pline, pcol, error);
}

/* ---- statements ---- */

/* "include" is a keyword unless a '=', '{' or ':' shows it is a name. */
static gboolean
is_include(Parser *ps, const char *name)
{
	int c;

	if (strcmp(name, "include") != 0)
		return FALSE;
	skip_blanks(&ps->cur);
	c = cur_peek(&ps->cur);
	return c != '=' && c != '{' && c != ':';
}

/* A name has been read; what follows decides whether it is a key or a section. */
static gboolean
parse_named(Parser *ps, const char *name, guint line, guint col, GError **error)
{
	guint eline, ecol;

	/* a complaint points at what follows the name on its line */
	skip_blanks(&ps->cur);
	eline = ps->cur.line;
	ecol = ps->cur.col;
	skip_space(&ps->cur);
	switch (cur_peek(&ps->cur)) {
	case '=':
		cur_advance(&ps->cur);
		return parse_value(ps, name, line, error);
	case '{':
		return open_section(ps, name, line, col, error);
	case ':':
		return fail_at(ps, ps->cur.line, ps->cur.col, SETTINGS_ERROR_SYNTAX, error,
		               "section \"%s\": section references (\"name : base\") are not "
		               "supported",
		               name);
	default:
		return fail_at(ps, eline, ecol, SETTINGS_ERROR_SYNTAX, error,
		               "expected '=' or '{' after \"%s\"", name);
	}
}

static gboolean
parse_statement(Parser *ps, GError **error)
{
	guint line = ps->cur.line, col = ps->cur.col;
	int c = cur_peek(&ps->cur);
	g_autofree char *name = NULL;

	if (c == '}') {
		if (ps->stack->len == 1)
			return fail_at(ps, line, col, SETTINGS_ERROR_SYNTAX, error,
			               "unexpected '}'");
		g_array_set_size(ps->stack, ps->stack->len - 1);
		cur_advance(&ps->cur);
		return TRUE;
	}
	if (!is_name_char(c))
		return fail_at(ps, line, col, SETTINGS_ERROR_SYNTAX, error, "unexpected '%c'", c);
	name = read_name(&ps->cur);
	if (is_include(ps, name))
		return parse_include(ps, line, col, error);
	return parse_named(ps, name, line, col, error);
}

static gboolean
parse_all(Parser *ps, GError **error)
{
	const Frame *open;

	for (;;) {
		skip_space(&ps->cur);
		if (cur_peek(&ps->cur) == -1)
			break;
		if (!parse_statement(ps, error))
			return FALSE;
	}
	if (ps->stack->len == 1)
		return TRUE;
	open = &g_array_index(ps->stack, Frame, ps->stack->len - 1);
	return fail_at(ps, ps->cur.line, ps->cur.col, SETTINGS_ERROR_SYNTAX, error,
	               "section \"%s\" is not closed (opened at %u:%u)", open->section->name,
	               open->line, open->col);
}

/* Parses @text into @into; @dir is NULL for text from memory. */
static gboolean
parse_text(SettingsSection *into, const char *text, gsize len, const char *file, const char *dir,
           guint include_depth, guint base_depth, GError **error)
{
	g_autoptr(GArray) stack = g_array_new(FALSE, FALSE, sizeof(Frame));
	Frame top = {.section = into};
	Parser ps = {
	        .cur = {.p = text, .end = text + len, .line = 1, .col = 1},
	        .file = file,
	        /* "./x.conf" reads worse than "x.conf" in messages and origins */
	        .dir = g_strcmp0(dir, ".") == 0 ? NULL : dir,
	        .include_depth = include_depth,
	        .base_depth = base_depth,
	        .stack = stack,
	};

	g_array_append_val(stack, top);
	return check_bytes(&ps, error) && parse_all(&ps, error);
}

/* ---- public ---- */

Settings *
settings_new(void)
{
	Settings *settings = g_new0(Settings, 1);

	settings->root = section_new("");
	settings->asked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return settings;
}

void
settings_free(Settings *settings)
{
	if (settings == NULL)
		return;
	section_free(settings->root);
	g_hash_table_unref(settings->asked);
	g_free(settings);
}

static gboolean
load_text(Settings *settings, const char *text, gsize len, const char *file, const char *dir,
          GError **error)
{
	g_autoptr(SettingsSection) fresh = section_new("");

	if (!parse_text(fresh, text, len, file, dir, 0, 0, error))
		return FALSE;
	section_merge(settings->root, fresh);
	return TRUE;
}

gboolean
settings_load_file(Settings *settings, const char *path, GError **error)
{
	g_auto(FileText) text = { 0 };
	g_autofree char *dir = NULL;
	int err;

	g_return_val_if_fail(settings != NULL, FALSE);
	g_return_val_if_fail(path != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	err = read_bounded(path, &text);
	if (err == ENOENT) {
		g_set_error(error, SETTINGS_ERROR, SETTINGS_ERROR_NOT_FOUND, "%s: %s", path,
		            g_strerror(err));
		return FALSE;
	}
	if (err == EFBIG) {
		g_set_error(error, SETTINGS_ERROR, SETTINGS_ERROR_LIMIT,
		            "%s: file is larger than %d bytes", path, SETTINGS_MAX_FILE_SIZE);
		return FALSE;
	}
	if (err != 0) {
		g_set_error(error, SETTINGS_ERROR, SETTINGS_ERROR_IO, "%s: %s", path,
		            g_strerror(err));
		return FALSE;
	}
	g_debug("loading %s", path);
	dir = g_path_get_dirname(path);
	return load_text(settings, text.data, text.len, path, dir, error);
}

gboolean
settings_load_string(Settings *settings, const char *text, gsize len, const char *name,
                     GError **error)
{
	g_return_val_if_fail(settings != NULL, FALSE);
	g_return_val_if_fail(text != NULL || len == 0, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (name == NULL)
		name = "<string>";
	if (len > SETTINGS_MAX_FILE_SIZE) {
		g_set_error(error, SETTINGS_ERROR, SETTINGS_ERROR_LIMIT,
		            "%s: text is larger than %d bytes", name, SETTINGS_MAX_FILE_SIZE);
		return FALSE;
	}
	return load_text(settings, text, len, name, NULL, error);
}

gboolean
settings_error_is_missing_file(const GError *error)
{
	return g_error_matches(error, SETTINGS_ERROR, SETTINGS_ERROR_NOT_FOUND);
}

SettingsSection *
settings_get_root(Settings *settings)
{
	g_return_val_if_fail(settings != NULL, NULL);
	return settings->root;
}

/*
 * Walks the sections named in @path up to its last dot; the rest goes to @last
 * (pointing into @buf, which the caller frees). NULL when a section is missing.
 */
static SettingsSection *
walk_path(Settings *settings, char *buf, const char **last)
{
	SettingsSection *section = settings->root;
	char *part = buf, *dot;

	while (section != NULL && (dot = strchr(part, '.')) != NULL) {
		*dot = '\0';
		section = settings_section_get_section(section, part);
		part = dot + 1;
	}
	*last = part;
	return section;
}

const char *
settings_get(Settings *settings, const char *key)
{
	g_autofree char *buf = NULL;
	SettingsSection *section;
	const char *last;

	g_return_val_if_fail(settings != NULL, NULL);
	g_return_val_if_fail(key != NULL, NULL);

	if (!g_hash_table_contains(settings->asked, key))
		g_hash_table_add(settings->asked, g_strdup(key));
	buf = g_strdup(key);
	section = walk_path(settings, buf, &last);
	return section != NULL ? settings_section_get_value(section, last) : NULL;
}

const char *
settings_get_str(Settings *settings, const char *key, const char *fallback)
{
	const char *value = settings_get(settings, key);

	return value != NULL ? value : fallback;
}

gboolean
settings_get_bool(Settings *settings, const char *key, gboolean fallback)
{
	static const char *const yes[] = {"yes", "true", "on", "enabled", "1"};
	static const char *const no[] = {"no", "false", "off", "disabled", "0"};
	const char *value = settings_get(settings, key);

	if (value == NULL)
		return fallback;
	for (gsize i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(value, yes[i]) == 0)
			return TRUE;
		if (g_ascii_strcasecmp(value, no[i]) == 0)
			return FALSE;
	}
	return fallback;
}

gint64
settings_get_int(Settings *settings, const char *key, gint64 fallback)
{
	const char *value = settings_get(settings, key);
	gint64 number;

	if (value == NULL ||
	    !g_ascii_string_to_signed(value, 10, G_MININT64, G_MAXINT64, &number, NULL))
		return fallback;
	return number;
}

SettingsSection *
settings_get_section(Settings *settings, const char *path)
{
	g_autofree char *buf = NULL;
	SettingsSection *section;
	const char *last;

	g_return_val_if_fail(settings != NULL, NULL);

	if (path == NULL || *path == '\0')
		return settings->root;
	buf = g_strdup(path);
	section = walk_path(settings, buf, &last);
	return section != NULL ? settings_section_get_section(section, last) : NULL;
}

const char *
settings_section_get_name(const SettingsSection *section)
{
	g_return_val_if_fail(section != NULL, NULL);
	return section->name;
}

SettingsSection *
settings_section_get_section(const SettingsSection *section, const char *name)
{
	g_return_val_if_fail(section != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);
	return named_find(section->sections, section->section_index, name);
}

static const SettingsKey *
section_get_key(const SettingsSection *section, const char *name)
{
	g_return_val_if_fail(section != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);
	return named_find(section->keys, section->key_index, name);
}

const char *
settings_section_get_value(const SettingsSection *section, const char *key)
{
	SettingsKey *found = (SettingsKey *)section_get_key(section, key);

	if (found == NULL)
		return NULL;
	found->used = TRUE; /* bookkeeping, not content: the tree stays const to readers */
	return found->value;
}

const char *
settings_section_get_origin(const SettingsSection *section, const char *key)
{
	const SettingsKey *found = section_get_key(section, key);

	return found != NULL ? found->origin : NULL;
}

GPtrArray *
settings_section_list_sections(const SettingsSection *section)
{
	GPtrArray *list;

	g_return_val_if_fail(section != NULL, NULL);

	list = g_ptr_array_sized_new(section->sections->len);
	for (guint i = 0; i < section->sections->len; i++)
		g_ptr_array_add(list, section->sections->pdata[i]);
	return list;
}

GPtrArray *
settings_section_list_keys(const SettingsSection *section)
{
	GPtrArray *list;

	g_return_val_if_fail(section != NULL, NULL);

	list = g_ptr_array_sized_new(section->keys->len);
	for (guint i = 0; i < section->keys->len; i++)
		g_ptr_array_add(list, ((SettingsKey *)section->keys->pdata[i])->name);
	return list;
}

static void
unused_in(const SettingsSection *section, GString *path, const char *const *skip,
	  SettingsUnusedFunc func, gpointer user_data)
{
	gsize len = path->len;

	for (guint i = 0; i < section->keys->len; i++) {
		const SettingsKey *key = section->keys->pdata[i];

		if (key == NULL || key->used)
			continue;
		g_string_append(path, key->name);
		func(path->str, key->origin, user_data);
		g_string_truncate(path, len);
	}
	for (guint i = 0; i < section->sections->len; i++) {
		const SettingsSection *child = section->sections->pdata[i];

		if (child == NULL || (len == 0 && skip && g_strv_contains(skip, child->name)))
			continue;
		g_string_append_printf(path, "%s.", child->name);
		unused_in(child, path, NULL, func, user_data);
		g_string_truncate(path, len);
	}
}

void
settings_foreach_unused(Settings *settings, const char *const *skip, SettingsUnusedFunc func,
			gpointer user_data)
{
	g_autoptr(GString) path = g_string_new(NULL);

	g_return_if_fail(settings != NULL);
	unused_in(settings->root, path, skip, func, user_data);
}

GPtrArray *
settings_list_asked(Settings *settings)
{
	GHashTableIter it;
	gpointer key;
	GPtrArray *list;

	g_return_val_if_fail(settings != NULL, NULL);
	list = g_ptr_array_sized_new(g_hash_table_size(settings->asked));
	g_hash_table_iter_init(&it, settings->asked);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(list, key);
	return list;
}

/* Edits (insert, delete, replace) from @a to @b; enough for names of a few dozen bytes. */
static guint
edit_distance(const char *a, const char *b)
{
	gsize la = strlen(a), lb = strlen(b);
	g_autofree guint *row = g_new(guint, lb + 1);

	for (gsize j = 0; j <= lb; j++)
		row[j] = (guint)j;
	for (gsize i = 1; i <= la; i++) {
		guint diag = row[0];

		row[0] = (guint)i;
		for (gsize j = 1; j <= lb; j++) {
			guint up = row[j];

			row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + (a[i - 1] != b[j - 1]));
			diag = up;
		}
	}
	return row[lb];
}

const char *
settings_closest_name(const char *name, const char *const *candidates, gsize n)
{
	const char *best = NULL;
	guint best_d = MAX(strlen(name) / 4, 1) + 1;

	for (gsize i = 0; i < n; i++) {
		guint d = edit_distance(name, candidates[i]);

		if (d < best_d)
			best = candidates[i], best_d = d;
	}
	return best;
}
