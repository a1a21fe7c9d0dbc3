/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strongSwan's settings syntax, one parser for vpnd.conf and swanctl.conf-style files:
 *
 *   # comment
 *   name {            sections nest; a section named twice is merged
 *       key = value   value runs to end of line, surrounding blanks trimmed
 *       key = "a # b" quoted values keep blanks and '#', know \" \\ \n \t, may span lines
 *   }
 *   include conf.d/[*].conf globs, relative to the including file's folder
 *
 * Later definitions override earlier ones. Keys and sections keep the order in which
 * they first appeared. Errors name the file, line and column.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Limits; input beyond them is refused with SETTINGS_ERROR_LIMIT. */
#define SETTINGS_MAX_DEPTH 32            /* nested sections */
#define SETTINGS_MAX_INCLUDE_DEPTH 16    /* include inside include … */
#define SETTINGS_MAX_VALUE_LEN (1 << 20) /* bytes in one value */
#define SETTINGS_MAX_FILE_SIZE (16 << 20)

#define SETTINGS_ERROR (settings_error_quark())
GQuark settings_error_quark(void);

typedef enum {
	SETTINGS_ERROR_IO,      /* a file cannot be read */
	SETTINGS_ERROR_SYNTAX,  /* "FILE:LINE:COL: …" */
	SETTINGS_ERROR_LIMIT,   /* one of the limits above */
	SETTINGS_ERROR_INCLUDE, /* an include pattern that is broken or loops */
	SETTINGS_ERROR_NOT_FOUND, /* the top-level file does not exist */
} SettingsError;

typedef struct Settings Settings;
typedef struct SettingsSection SettingsSection;

Settings *settings_new(void);
void settings_free(Settings *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Settings, settings_free)

/*
 * Parses @path (and what it includes) and merges it into @settings, later values
 * overriding earlier ones. All or nothing: on error @settings is unchanged.
 * A missing top-level file is SETTINGS_ERROR_NOT_FOUND, any other read failure
 * SETTINGS_ERROR_IO; callers that may skip an absent file test the error with
 * settings_error_is_missing_file(). A missing include is SETTINGS_ERROR_INCLUDE.
 */
gboolean settings_load_file(Settings *settings, const char *path, GError **error);
/* The same for text in memory; @name is used in messages, includes are relative to cwd. */
gboolean settings_load_string(Settings *settings, const char *text, gsize len,
			      const char *name, GError **error);
gboolean settings_error_is_missing_file(const GError *error);

/* The unnamed top-level section. (transfer none) */
SettingsSection *settings_get_root(Settings *settings);

/* Lookups by dotted path from the root ("plugins.load"); (nullable) (transfer none) */
const char *settings_get(Settings *settings, const char *key);
const char *settings_get_str(Settings *settings, const char *key, const char *fallback);
/* yes/no, true/false, on/off, enabled/disabled, 1/0; anything else gives @fallback */
gboolean settings_get_bool(Settings *settings, const char *key, gboolean fallback);
gint64 settings_get_int(Settings *settings, const char *key, gint64 fallback);
SettingsSection *settings_get_section(Settings *settings, const char *path);

const char *settings_section_get_name(const SettingsSection *section);
/* A direct child; (nullable) (transfer none) */
SettingsSection *settings_section_get_section(const SettingsSection *section,
					      const char *name);
const char *settings_section_get_value(const SettingsSection *section, const char *key);
/* Children in first-seen order. (transfer container): free the array, not its items */
GPtrArray *settings_section_list_sections(const SettingsSection *section);
/* Key names in first-seen order. (transfer container) */
GPtrArray *settings_section_list_keys(const SettingsSection *section);
/* Where @key got its current value: "FILE:LINE", for messages. (nullable) */
const char *settings_section_get_origin(const SettingsSection *section, const char *key);

/* Each key no lookup has read since it was loaded, with its dotted path ("ike.x") and
 * origin: settings nothing uses, typos most often. Top-level sections named in @skip
 * (NULL-terminated, nullable) are left out. */
typedef void (*SettingsUnusedFunc)(const char *path, const char *origin, gpointer user_data);
void settings_foreach_unused(Settings *settings, const char *const *skip,
			     SettingsUnusedFunc func, gpointer user_data);
/* The dotted paths settings_get() and the helpers on it were asked for, present in the
 * file or not: the names the program knows. (transfer container) */
GPtrArray *settings_list_asked(Settings *settings);
/* Of @candidates, the one @name most likely misspells: a quarter of its letters off at
 * most. (nullable) */
const char *settings_closest_name(const char *name, const char *const *candidates, gsize n);

G_END_DECLS
