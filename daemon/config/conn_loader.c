/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* swanctl.conf-style connections and secrets -> ConnConfig and a PSK store. */
#include <stdlib.h>
#include <string.h>

#include "config/conn_keys.h"
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

/* if_id_in / if_id_out: an XFRM interface id, decimal or 0x hex (1 … 0xffffffff) */
static gboolean
get_if_id(const SettingsSection *s, const char *key, const char *file, guint32 *out,
	  GError **error)
{
	const char *text = settings_section_get_value(s, key);
	guint64 v;

	if (!text)
		return TRUE;
	if (!g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT32, &v, NULL) &&
	    !(g_str_has_prefix(text, "0x") &&
	      g_ascii_string_to_unsigned(text + 2, 16, 1, G_MAXUINT32, &v, NULL)))
		return invalid(error, s, key, file, "not an interface id (1 to 0xffffffff)");
	*out = v;
	return TRUE;
}

/* keyingtries: a count, 0 for no limit */
static gboolean
get_keyingtries(const SettingsSection *s, const char *file, guint *out, GError **error)
{
	const char *text = settings_section_get_value(s, "keyingtries");
	guint64 v;

	if (!text)
		return TRUE;
	if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT, &v, NULL))
		return invalid(error, s, "keyingtries", file, "expected a count (0: no limit)");
	*out = (guint)v;
	return TRUE;
}

/* replay_window: 1 to ESP's 4096 packets; 0 (charon: no replay check) is refused */
static gboolean
get_replay_window(const SettingsSection *s, const char *file, guint32 *out, GError **error)
{
	const char *text = settings_section_get_value(s, "replay_window");
	guint64 v;

	if (!text)
		return TRUE;
	if (!g_ascii_string_to_unsigned(text, 10, 1, CONN_MAX_REPLAY_WINDOW, &v, NULL))
		return invalid(error, s, "replay_window", file,
			       "expected 1 to " G_STRINGIFY(CONN_MAX_REPLAY_WINDOW)
			       " packets (vpnd always checks for replays)");
	*out = (guint32)v;
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

/* remote_addrs: an address, %any, or a DNS name resolved when initiating */
static gboolean
get_remote(const SettingsSection *s, const char *file, ConnConfig *conn, GError **error)
{
	const char *text = settings_section_get_value(s, "remote_addrs");
	g_auto(GStrv) addrs = text ? split_list(text) : NULL;

	if (!addrs || !addrs[0] || !strcmp(addrs[0], "%any") ||
	    conn_addr_parse(addrs[0], 500, &conn->remote_addr))
		return TRUE;
	if (!conn_is_host_name(addrs[0]))
		return invalid(error, s, "remote_addrs", file,
			       "not an IPv4 or IPv6 address, nor a DNS name");
	conn->remote_host = g_strdup(addrs[0]);
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
get_unique(const SettingsSection *s, const char *file, ConnUnique *out, GError **error)
{
	const char *text = settings_section_get_value(s, "unique");

	if (!text || !strcmp(text, "no"))
		*out = CONN_UNIQUE_NO;
	else if (!strcmp(text, "never"))
		*out = CONN_UNIQUE_NEVER;
	else if (!strcmp(text, "replace"))
		*out = CONN_UNIQUE_REPLACE;
	else if (!strcmp(text, "keep"))
		return invalid(error, s, "unique", file,
			       "\"keep\" is not supported by vpnd yet; it takes no, never or replace");
	else
		return invalid(error, s, "unique", file, "expected no, never, replace or keep");
	return TRUE;
}

/* dpd_action, close_action: none (or clear), trap, restart */
static gboolean
get_gone_action(const SettingsSection *s, const char *key, const char *file, ConnGoneAction *out,
		GError **error)
{
	const char *text = settings_section_get_value(s, key);

	if (!text || !strcmp(text, "none") || !strcmp(text, "clear"))
		*out = CONN_GONE_CLEAR;
	else if (!strcmp(text, "trap"))
		*out = CONN_GONE_TRAP;
	else if (!strcmp(text, "restart"))
		*out = CONN_GONE_RESTART;
	else
		return invalid(error, s, key, file, "expected none, clear, trap or restart");
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
		return invalid(error, s, "mode", file,
			       !strcmp(text, "pass") || !strcmp(text, "drop")
				       ? "shunt policies (pass, drop) are not supported by vpnd yet"
				       : "expected tunnel or transport");
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
	    !get_duration(s, "rand_time", file, &child->rand_time, error) ||
	    !get_if_id(s, "if_id_in", file, &child->if_id_in, error) ||
	    !get_if_id(s, "if_id_out", file, &child->if_id_out, error) ||
	    !get_replay_window(s, file, &child->replay_window, error) ||
	    !get_gone_action(s, "dpd_action", file, &child->dpd_action, error) ||
	    !get_gone_action(s, "close_action", file, &child->close_action, error))
		return NULL;
	return g_steal_pointer(&child);
}

/* local { auth = psk  id = … } or remote { … }; absent: one PSK round as %any. */
static gboolean
parse_auth(const SettingsSection *conn_s, const char *file, ConnConfig *conn, gboolean local,
	   GError **error)
{
	const SettingsSection *s = conn_keys_auth_section(conn_s, local);
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

	if (!conn_keys_check_conn(s, file, error))
		return NULL;
	if (version && strcmp(version, "2") != 0 && strcmp(version, "0") != 0) {
		invalid(error, s, "version", file, "only IKEv2 is supported");
		return NULL;
	}
	if (!get_addr(s, "local_addrs", file, &conn->local_addr, error) ||
	    !get_remote(s, file, conn, error) ||
	    !get_proposals(s, "proposals", file, PROPOSAL_PROTO_IKE, conn->ike_proposals, error) ||
	    !get_bool(s, "encap", file, &conn->encap, error) ||
	    !get_duration(s, "dpd_delay", file, &conn->dpd_delay, error) ||
	    !get_unique(s, file, &conn->unique, error) ||
	    !get_keyingtries(s, file, &conn->keyingtries, error) ||
	    !get_duration(s, "rekey_time", file, &conn->rekey_time, error) ||
	    !get_duration(s, "over_time", file, &conn->over_time, error) ||
	    !get_duration(s, "rand_time", file, &conn->rand_time, error) ||
	    !parse_auth(s, file, conn, TRUE, error) || !parse_auth(s, file, conn, FALSE, error) ||
	    !parse_children(s, file, conn, error))
		return NULL;
	return g_steal_pointer(&conn);
}

/* ---- Secrets ---- */

struct ConnSecrets {
	GPtrArray *keys; /* ConnSharedKey, in load order */
};

void
conn_shared_key_free(ConnSharedKey *key)
{
	if (!key)
		return;
	g_free(key->name);
	g_ptr_array_unref(key->owners);
	vpnd_secret_free(key->secret);
	g_free(key);
}

ConnSharedKey *
conn_shared_key_new(const char *name, const char *const *owners, const VpndSecret *secret,
		    GError **error)
{
	g_autoptr(ConnSharedKey) key = g_new0(ConnSharedKey, 1);

	key->name = g_strdup(name);
	key->owners = g_ptr_array_new_with_free_func((GDestroyNotify)conn_identity_free);
	for (guint i = 0; owners && owners[i]; i++) {
		ConnIdentity *id = conn_identity_parse(owners[i], error);

		if (!id)
			return NULL;
		g_ptr_array_add(key->owners, id);
	}
	key->secret = vpnd_secret_new_from_data(secret->data, secret->len);
	return g_steal_pointer(&key);
}

ConnSecrets *
conn_secrets_new(void)
{
	ConnSecrets *secrets = g_new0(ConnSecrets, 1);

	secrets->keys = g_ptr_array_new_with_free_func((GDestroyNotify)conn_shared_key_free);
	return secrets;
}

void
conn_secrets_free(ConnSecrets *secrets)
{
	if (!secrets)
		return;
	g_ptr_array_unref(secrets->keys);
	g_free(secrets);
}

guint
conn_secrets_count(const ConnSecrets *secrets)
{
	return secrets->keys->len;
}

static gint
find_key(const ConnSecrets *secrets, const char *name)
{
	for (guint i = 0; i < secrets->keys->len; i++) {
		const ConnSharedKey *key = secrets->keys->pdata[i];

		if (g_strcmp0(key->name, name) == 0)
			return (gint)i;
	}
	return -1;
}

void
conn_secrets_take(ConnSecrets *secrets, ConnSharedKey *key)
{
	gint at = find_key(secrets, key->name);

	if (at < 0) {
		g_ptr_array_add(secrets->keys, key);
		return;
	}
	conn_shared_key_free(secrets->keys->pdata[at]);
	secrets->keys->pdata[at] = key;
}

gboolean
conn_secrets_remove(ConnSecrets *secrets, const char *name)
{
	gint at = find_key(secrets, name);

	if (at < 0)
		return FALSE;
	g_ptr_array_remove_index(secrets->keys, (guint)at);
	return TRUE;
}

GStrv
conn_secrets_list_names(const ConnSecrets *secrets)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	for (guint i = 0; i < secrets->keys->len; i++)
		g_strv_builder_add(b, ((const ConnSharedKey *)secrets->keys->pdata[i])->name);
	return g_strv_builder_end(b);
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

/* `ike-NAME { id… = …  secret = … }`. (transfer full) */
static ConnSharedKey *
parse_psk(const SettingsSection *s, const char *file, GError **error)
{
	g_autoptr(GPtrArray) keys = settings_section_list_keys(s);
	g_autoptr(GStrvBuilder) owners = g_strv_builder_new();
	const char *text = settings_section_get_value(s, "secret");
	g_autoptr(VpndSecret) secret = NULL;
	ConnSharedKey *key;

	for (guint i = 0; i < keys->len; i++) {
		if (g_str_has_prefix(keys->pdata[i], "id"))
			g_strv_builder_add(owners, settings_section_get_value(s, keys->pdata[i]));
	}
	if (!text)
		return invalid(error, s, NULL, file, "no secret"), NULL;
	if (!(secret = decode_secret(text)))
		return invalid(error, s, "secret", file, "empty or bad hex"), NULL;
	g_auto(GStrv) list = g_strv_builder_end(owners);
	key = conn_shared_key_new(settings_section_get_name(s), (const char *const *)list, secret,
				  error);
	if (!key)
		fail_at(error, s, NULL, file);
	return key;
}

/* Every `ike…` entry of a `secrets { }` section, appended to @out (ConnSharedKey). */
static gboolean
parse_secrets(const SettingsSection *section, const char *file, GPtrArray *out, GError **error)
{
	g_autoptr(GPtrArray) list = settings_section_list_sections(section);

	for (guint i = 0; i < list->len; i++) {
		SettingsSection *s = list->pdata[i];
		ConnSharedKey *key;

		if (!g_str_has_prefix(settings_section_get_name(s), "ike"))
			continue; /* eap-, private-, … are not used yet */
		if (!(key = parse_psk(s, file, error)))
			return FALSE;
		g_ptr_array_add(out, key);
	}
	return TRUE;
}

gboolean
conn_secrets_load_section(ConnSecrets *secrets, const SettingsSection *section, const char *file,
			  GError **error)
{
	g_autoptr(GPtrArray) keys =
		g_ptr_array_new_with_free_func((GDestroyNotify)conn_shared_key_free);

	if (!parse_secrets(section, file, keys, error))
		return FALSE;
	for (guint i = 0; i < keys->len; i++)
		conn_secrets_take(secrets, g_steal_pointer(&keys->pdata[i]));
	return TRUE;
}

static gboolean
entry_names(const ConnSharedKey *e, const ConnIdentity *id)
{
	if (!id)
		return FALSE;
	for (guint i = 0; i < e->owners->len; i++) {
		const ConnIdentity *mine = e->owners->pdata[i];

		if (!conn_identity_is_any(mine) && conn_identity_matches(mine, id))
			return TRUE;
	}
	return FALSE;
}

/* Higher is better: both identities named, then one by an entry naming no other; 1: an
 * entry without ids (anyone), 0: no match. */
static guint
entry_score(const ConnSharedKey *e, const ConnIdentity *local, const ConnIdentity *remote)
{
	guint named = entry_names(e, local) + entry_names(e, remote);

	if (named)
		return 2 * named + (named == e->owners->len) + 1;
	return e->owners->len == 0 ? 1 : 0;
}

VpndSecret *
conn_secrets_lookup_psk(const ConnSecrets *secrets, const ConnIdentity *local,
			const ConnIdentity *remote)
{
	const ConnSharedKey *best = NULL;
	guint best_score = 0;

	for (guint i = 0; i < secrets->keys->len; i++) {
		const ConnSharedKey *e = secrets->keys->pdata[i];
		guint score = entry_score(e, local, remote);

		if (score > best_score) {
			best = e;
			best_score = score;
		}
	}
	return best ? vpnd_secret_new_from_data(best->secret->data, best->secret->len) : NULL;
}

/* ---- Pools ---- */

void
conn_pool_def_free(ConnPoolDef *pool)
{
	if (!pool)
		return;
	g_free(pool->name);
	g_free(pool->addrs);
	g_free(pool);
}

static gboolean
parse_pools(const SettingsSection *section, const char *file, GPtrArray *out, GError **error)
{
	g_autoptr(GPtrArray) list = settings_section_list_sections(section);

	for (guint i = 0; i < list->len; i++) {
		SettingsSection *s = list->pdata[i];
		const char *addrs = settings_section_get_value(s, "addrs");
		ConnPoolDef *pool;

		if (!addrs)
			return invalid(error, s, NULL, file, "no addrs");
		pool = g_new0(ConnPoolDef, 1);
		pool->name = g_strdup(settings_section_get_name(s));
		pool->addrs = g_strdup(addrs);
		g_ptr_array_add(out, pool);
	}
	return TRUE;
}

/* ---- Texts and files ---- */

void
conn_load_free(ConnLoad *load)
{
	if (!load)
		return;
	g_ptr_array_unref(load->conns);
	g_ptr_array_unref(load->shared);
	g_ptr_array_unref(load->pools);
	g_free(load);
}

static ConnLoad *
conn_load_new(void)
{
	ConnLoad *load = g_new0(ConnLoad, 1);

	load->conns = g_ptr_array_new_with_free_func((GDestroyNotify)conn_config_unref);
	load->shared = g_ptr_array_new_with_free_func((GDestroyNotify)conn_shared_key_free);
	load->pools = g_ptr_array_new_with_free_func((GDestroyNotify)conn_pool_def_free);
	return load;
}

static gboolean
parse_settings(Settings *settings, const char *origin, ConnLoad *load, GError **error)
{
	SettingsSection *c = settings_get_section(settings, "connections");
	SettingsSection *sec = settings_get_section(settings, "secrets");
	SettingsSection *pools = settings_get_section(settings, "pools");
	g_autoptr(GPtrArray) list = c ? settings_section_list_sections(c) : NULL;

	for (guint i = 0; list && i < list->len; i++) {
		ConnConfig *conn = conn_loader_parse_conn(list->pdata[i], origin, error);

		if (!conn)
			return FALSE;
		g_ptr_array_add(load->conns, conn);
	}
	return (!sec || parse_secrets(sec, origin, load->shared, error)) &&
	       (!pools || parse_pools(pools, origin, load->pools, error));
}

/* The first line of @text that is an include statement (a line whose first word is
 * "include" not followed by '=', '{' or ':'), or 0. */
static guint
find_include(const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (guint i = 0; lines[i]; i++) {
		const char *p = lines[i] + strspn(lines[i], " \t");

		if (g_str_has_prefix(p, "include") && strchr(" \t", p[7]) && p[7] &&
		    !strchr("={:", p[7 + strspn(p + 7, " \t")]))
			return i + 1;
	}
	return 0;
}

ConnLoad *
conn_loader_parse_text(const char *text, const char *origin, GError **error)
{
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(ConnLoad) load = conn_load_new();
	guint include = find_include(text);

	/* text comes from clients, and vpnd opens no path a client names */
	if (include) {
		g_set_error(error, CONN_ERROR, CONN_ERROR_INVALID,
			    "%s:%u: include is not allowed in a loaded text", origin, include);
		return NULL;
	}
	if (!settings_load_string(settings, text, strlen(text), origin, error) ||
	    !parse_settings(settings, origin, load, error))
		return NULL;
	return g_steal_pointer(&load);
}

ConnLoad *
conn_loader_parse_file(const char *path, GError **error)
{
	g_autoptr(Settings) settings = settings_new();
	g_autoptr(ConnLoad) load = conn_load_new();

	if (!settings_load_file(settings, path, error) ||
	    !parse_settings(settings, path, load, error))
		return NULL;
	return g_steal_pointer(&load);
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GStrv
conn_loader_list_dir(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	while (d && (name = g_dir_read_name(d)))
		if (g_str_has_suffix(name, ".conf"))
			g_ptr_array_add(names, g_build_filename(dir, name, NULL));
	g_ptr_array_sort(names, compare_names);
	g_ptr_array_add(names, NULL);
	return (GStrv)g_ptr_array_steal(names, NULL);
}

gboolean
conn_loader_load_dir(const char *dir, GPtrArray *conns, ConnSecrets *secrets, GError **error)
{
	g_auto(GStrv) paths = conn_loader_list_dir(dir);

	for (guint i = 0; paths[i]; i++) {
		g_autoptr(ConnLoad) load = conn_loader_parse_file(paths[i], error);

		if (!load)
			return FALSE;
		g_ptr_array_extend_and_steal(conns, g_steal_pointer(&load->conns));
		load->conns = g_ptr_array_new();
		for (guint j = 0; j < load->shared->len; j++)
			conn_secrets_take(secrets, g_steal_pointer(&load->shared->pdata[j]));
	}
	return TRUE;
}
