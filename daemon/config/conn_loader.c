/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* swanctl.conf-style connections and secrets -> ConnConfig and a PSK store. */
#include <stdlib.h>
#include <string.h>

#include "config/conn_loader.h"
#include "config/proposal.h"

/* "FILE:LINE" of @key in @section, or @file when the parser does not know it. */
static const char *
origin(const SettingsSection *section, const char *key, const char *file)
{
	const char *where = key ? settings_section_get_origin(section, key) : NULL;

	return where ? where : file;
}

/* Prefixes @error's message with where the value came from. */
static gboolean
fail_at(GError **error, const SettingsSection *section, const char *key, const char *file)
{
	if (error && *error)
		g_prefix_error(error, "%s: %s: ", origin(section, key, file),
			       settings_section_get_name(section));
	return FALSE;
}

static gboolean
invalid(GError **error, const SettingsSection *section, const char *key, const char *file,
	const char *why)
{
	g_set_error(error, CONN_ERROR, CONN_ERROR_INVALID, "%s: %s: %s%s%s",
		    origin(section, key, file), settings_section_get_name(section), key ? key : "",
		    key ? ": " : "", why);
	return FALSE;
}

/* "30", "30s", "5m", "1h", "1d" -> seconds; FALSE for anything else. */
static gboolean
parse_duration(const char *text, guint *out)
{
	char *end = NULL;
	guint64 v = g_ascii_strtoull(text, &end, 10);
	guint64 mult = 1;

	if (end == text)
		return FALSE;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return FALSE;
	}
	if (*end && end[1])
		return FALSE;
	if (v * mult > G_MAXUINT)
		return FALSE;
	*out = (guint)(v * mult);
	return TRUE;
}

static gboolean
get_duration(const SettingsSection *s, const char *key, const char *file, guint *out,
	     GError **error)
{
	const char *text = settings_section_get_value(s, key);

	if (!text)
		return TRUE;
	if (!parse_duration(text, out))
		return invalid(error, s, key, file, "not a duration (30, 30s, 5m, 1h, 1d)");
	return TRUE;
}

static gboolean
get_bool(const SettingsSection *s, const char *key, const char *file, gboolean *out, GError **error)
{
	const char *text = settings_section_get_value(s, key);

	if (!text)
		return TRUE;
	if (!g_ascii_strcasecmp(text, "yes") || !g_ascii_strcasecmp(text, "true") ||
	    !g_ascii_strcasecmp(text, "1"))
		*out = TRUE;
	else if (!g_ascii_strcasecmp(text, "no") || !g_ascii_strcasecmp(text, "false") ||
		 !g_ascii_strcasecmp(text, "0"))
		*out = FALSE;
	else
		return invalid(error, s, key, file, "expected yes or no");
	return TRUE;
}

/* A comma/blank separated list without empty items. (transfer full) */
static GStrv
split_list(const char *text)
{
	g_auto(GStrv) parts = g_strsplit_set(text, ", \t", -1);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	for (guint i = 0; parts[i]; i++)
		if (*parts[i])
			g_strv_builder_add(b, parts[i]);
	return g_strv_builder_end(b);
}

/* The first address of @key; absent or %any leaves @out unset. */
static gboolean
get_addr(const SettingsSection *s, const char *key, const char *file, VpndAddr *out, GError **error)
{
	const char *text = settings_section_get_value(s, key);
	g_auto(GStrv) addrs = text ? split_list(text) : NULL;

	if (!addrs || !addrs[0] || !strcmp(addrs[0], "%any"))
		return TRUE;
	if (!conn_addr_parse(addrs[0], 500, out))
		return invalid(error, s, key, file, "not an IPv4 or IPv6 address");
	return TRUE;
}

static gboolean
get_proposals(const SettingsSection *s, const char *key, const char *file, ProposalProtocol proto,
	      GPtrArray *out, GError **error)
{
	const char *text = settings_section_get_value(s, key);
	GPtrArray *list;

	if (!text)
		list = proposal_defaults(proto);
	else if (!(list = proposal_parse_list(proto, text, error)))
		return fail_at(error, s, key, file);
	g_ptr_array_extend_and_steal(out, list);
	return TRUE;
}

static gboolean
add_ts_list(const SettingsSection *s, const char *key, const char *file, ChildConfig *child,
	    gboolean local, GError **error)
{
	const char *text = settings_section_get_value(s, key);
	g_auto(GStrv) items = text ? g_strsplit(text, ",", -1) : NULL;

	for (guint i = 0; items && items[i]; i++) {
		g_strstrip(items[i]);
		if (!*items[i])
			continue;
		if (!(local ? child_config_add_local_ts(child, items[i], error)
			    : child_config_add_remote_ts(child, items[i], error)))
			return fail_at(error, s, key, file);
	}
	return TRUE;
}

static gboolean
get_start_action(const SettingsSection *s, const char *file, ChildConfig *child, GError **error)
{
	const char *text = settings_section_get_value(s, "start_action");

	if (!text || !strcmp(text, "none"))
		child->start_action = CONN_START_NONE;
	else if (!strcmp(text, "start"))
		child->start_action = CONN_START_START;
	else if (!strcmp(text, "trap"))
		child->start_action = CONN_START_TRAP;
	else
		return invalid(error, s, "start_action", file, "expected none, start or trap");
	return TRUE;
}

static gboolean
get_mode(const SettingsSection *s, const char *file, ChildConfig *child, GError **error)
{
	const char *text = settings_section_get_value(s, "mode");

	if (!text || !strcmp(text, "tunnel"))
		child->mode = VPND_MODE_TUNNEL;
	else if (!strcmp(text, "transport"))
		child->mode = VPND_MODE_TRANSPORT;
	else
		return invalid(error, s, "mode", file, "expected tunnel or transport");
	return TRUE;
}

static ChildConfig *
parse_child(const SettingsSection *s, const char *file, GError **error)
{
	g_autoptr(ChildConfig) child = child_config_new(settings_section_get_name(s));

	child->rekey_time = CONN_LOADER_CHILD_REKEY_TIME;

	if (!add_ts_list(s, "local_ts", file, child, TRUE, error) ||
	    !add_ts_list(s, "remote_ts", file, child, FALSE, error) ||
	    !get_proposals(s, "esp_proposals", file, PROPOSAL_PROTO_ESP, child->esp_proposals,
			   error) ||
	    !get_start_action(s, file, child, error) || !get_mode(s, file, child, error) ||
	    !get_duration(s, "rekey_time", file, &child->rekey_time, error) ||
	    !get_duration(s, "life_time", file, &child->life_time, error) ||
	    !get_duration(s, "rand_time", file, &child->rand_time, error))
		return NULL;
	return g_steal_pointer(&child);
}

/* local { auth = psk  id = … } or remote { … }; absent: one PSK round as %any. */
static gboolean
parse_auth(const SettingsSection *conn_s, const char *file, ConnConfig *conn, gboolean local,
	   GError **error)
{
	const char *side = local ? "local" : "remote";
	SettingsSection *s = settings_section_get_section(conn_s, side);
	const char *auth = s ? settings_section_get_value(s, "auth") : NULL;
	const char *id = s ? settings_section_get_value(s, "id") : NULL;

	if (auth && strcmp(auth, "psk") != 0)
		return invalid(error, s, "auth", file, "only psk is supported");
	if (!conn_config_add_auth(conn, local, CONN_AUTH_PSK, id ? id : "%any", error))
		return s ? fail_at(error, s, "id", file) : fail_at(error, conn_s, NULL, file);
	return TRUE;
}

static gboolean
parse_children(const SettingsSection *conn_s, const char *file, ConnConfig *conn, GError **error)
{
	SettingsSection *s = settings_section_get_section(conn_s, "children");
	g_autoptr(GPtrArray) list = s ? settings_section_list_sections(s) : NULL;

	for (guint i = 0; list && i < list->len; i++) {
		ChildConfig *child = parse_child(list->pdata[i], file, error);

		if (!child)
			return FALSE;
		conn_config_take_child(conn, child);
	}
	return TRUE;
}

ConnConfig *
conn_loader_parse_conn(const SettingsSection *s, const char *file, GError **error)
{
	g_autoptr(ConnConfig) conn = conn_config_new(settings_section_get_name(s));
	const char *version = settings_section_get_value(s, "version");

	conn->rekey_time = CONN_LOADER_IKE_REKEY_TIME;

	if (version && strcmp(version, "2") != 0 && strcmp(version, "0") != 0) {
		invalid(error, s, "version", file, "only IKEv2 is supported");
		return NULL;
	}
	if (!get_addr(s, "local_addrs", file, &conn->local_addr, error) ||
	    !get_addr(s, "remote_addrs", file, &conn->remote_addr, error) ||
	    !get_proposals(s, "proposals", file, PROPOSAL_PROTO_IKE, conn->ike_proposals, error) ||
	    !get_bool(s, "encap", file, &conn->encap, error) ||
	    !get_duration(s, "dpd_delay", file, &conn->dpd_delay, error) ||
	    !get_duration(s, "rekey_time", file, &conn->rekey_time, error) ||
	    !get_duration(s, "over_time", file, &conn->over_time, error) ||
	    !get_duration(s, "rand_time", file, &conn->rand_time, error) ||
	    !parse_auth(s, file, conn, TRUE, error) || !parse_auth(s, file, conn, FALSE, error) ||
	    !parse_children(s, file, conn, error))
		return NULL;
	return g_steal_pointer(&conn);
}

/* ---- Secrets ---- */

typedef struct {
	GPtrArray *ids; /* ConnIdentity */
	VpndSecret *secret;
} PskEntry;

struct ConnSecrets {
	GPtrArray *entries; /* PskEntry */
};

static void
psk_entry_free(PskEntry *e)
{
	g_ptr_array_unref(e->ids);
	vpnd_secret_free(e->secret);
	g_free(e);
}

ConnSecrets *
conn_secrets_new(void)
{
	ConnSecrets *secrets = g_new0(ConnSecrets, 1);

	secrets->entries = g_ptr_array_new_with_free_func((GDestroyNotify)psk_entry_free);
	return secrets;
}

void
conn_secrets_free(ConnSecrets *secrets)
{
	if (!secrets)
		return;
	g_ptr_array_unref(secrets->entries);
	g_free(secrets);
}

guint
conn_secrets_count(const ConnSecrets *secrets)
{
	return secrets->entries->len;
}

/* "0x…" is hex, anything else the bytes as written. (nullable) */
static VpndSecret *
decode_secret(const char *text)
{
	gsize len = strlen(text);

	if (g_str_has_prefix(text, "0x")) {
		if (len % 2 || len < 4)
			return NULL;
		g_autoptr(VpndSecret) s = vpnd_secret_new((len - 2) / 2);
		for (gsize i = 0; i < s->len; i++) {
			int hi = g_ascii_xdigit_value(text[2 + 2 * i]);
			int lo = g_ascii_xdigit_value(text[3 + 2 * i]);
			if (hi < 0 || lo < 0)
				return NULL;
			s->data[i] = (guint8)(hi << 4 | lo);
		}
		return g_steal_pointer(&s);
	}
	return len ? vpnd_secret_new_from_data(text, len) : NULL;
}

static gboolean
load_psk(ConnSecrets *secrets, const SettingsSection *s, const char *file, GError **error)
{
	g_autoptr(GPtrArray) keys = settings_section_list_keys(s);
	g_autoptr(GPtrArray) ids =
		g_ptr_array_new_with_free_func((GDestroyNotify)conn_identity_free);
	const char *text = settings_section_get_value(s, "secret");
	VpndSecret *secret;

	for (guint i = 0; i < keys->len; i++) {
		const char *key = keys->pdata[i];
		ConnIdentity *id;

		if (!g_str_has_prefix(key, "id"))
			continue;
		if (!(id = conn_identity_parse(settings_section_get_value(s, key), error)))
			return fail_at(error, s, key, file);
		g_ptr_array_add(ids, id);
	}
	if (!text)
		return invalid(error, s, NULL, file, "no secret");
	if (!(secret = decode_secret(text)))
		return invalid(error, s, "secret", file, "empty or bad hex");
	PskEntry *e = g_new0(PskEntry, 1);
	e->ids = g_steal_pointer(&ids);
	e->secret = secret;
	g_ptr_array_add(secrets->entries, e);
	return TRUE;
}

gboolean
conn_secrets_load_section(ConnSecrets *secrets, const SettingsSection *section, const char *file,
			  GError **error)
{
	g_autoptr(GPtrArray) list = settings_section_list_sections(section);

	for (guint i = 0; i < list->len; i++) {
		SettingsSection *s = list->pdata[i];

		if (!g_str_has_prefix(settings_section_get_name(s), "ike"))
			continue; /* eap-, private-, … are not used yet */
		if (!load_psk(secrets, s, file, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
entry_names(const PskEntry *e, const ConnIdentity *id)
{
	if (!id)
		return FALSE;
	for (guint i = 0; i < e->ids->len; i++) {
		const ConnIdentity *mine = e->ids->pdata[i];

		if (!conn_identity_is_any(mine) && conn_identity_matches(mine, id))
			return TRUE;
	}
	return FALSE;
}

/* Higher is better: both identities named, then one by an entry naming no other; 1: an
 * entry without ids (anyone), 0: no match. */
static guint
entry_score(const PskEntry *e, const ConnIdentity *local, const ConnIdentity *remote)
{
	guint named = entry_names(e, local) + entry_names(e, remote);

	if (named)
		return 2 * named + (named == e->ids->len) + 1;
	return e->ids->len == 0 ? 1 : 0;
}

VpndSecret *
conn_secrets_lookup_psk(const ConnSecrets *secrets, const ConnIdentity *local,
			const ConnIdentity *remote)
{
	const PskEntry *best = NULL;
	guint best_score = 0;

	for (guint i = 0; i < secrets->entries->len; i++) {
		const PskEntry *e = secrets->entries->pdata[i];
		guint score = entry_score(e, local, remote);

		if (score > best_score) {
			best = e;
			best_score = score;
		}
	}
	return best ? vpnd_secret_new_from_data(best->secret->data, best->secret->len) : NULL;
}

/* ---- Files ---- */

static gboolean
load_settings(Settings *settings, const char *path, GPtrArray *conns, ConnSecrets *secrets,
	      GError **error)
{
	SettingsSection *c = settings_get_section(settings, "connections");
	SettingsSection *sec = settings_get_section(settings, "secrets");
	g_autoptr(GPtrArray) list = c ? settings_section_list_sections(c) : NULL;

	for (guint i = 0; list && i < list->len; i++) {
		ConnConfig *conn = conn_loader_parse_conn(list->pdata[i], path, error);

		if (!conn)
			return FALSE;
		g_ptr_array_add(conns, conn);
	}
	return !sec || conn_secrets_load_section(secrets, sec, path, error);
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

gboolean
conn_loader_load_dir(const char *dir, GPtrArray *conns, ConnSecrets *secrets, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	if (!d)
		return TRUE; /* no folder, no connections */
	while ((name = g_dir_read_name(d)))
		if (g_str_has_suffix(name, ".conf"))
			g_ptr_array_add(names, g_build_filename(dir, name, NULL));
	g_ptr_array_sort(names, compare_names);
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(Settings) settings = settings_new();
		const char *path = names->pdata[i];

		if (!settings_load_file(settings, path, error) ||
		    !load_settings(settings, path, conns, secrets, error))
			return FALSE;
	}
	return TRUE;
}
