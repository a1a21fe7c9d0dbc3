/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "config/conn.h"
#include "config/conn_keys.h"

typedef enum {
	USE_READ, /* conn_loader reads it and checks its value */
	USE_ANY,  /* any value: it changes nothing in vpnd (the comment says why) */
	USE_ONLY, /* only the values that are what vpnd does */
	USE_NONE, /* refused whatever its value */
} KeyUse;

typedef struct {
	const char *name;
	KeyUse use;
	/* USE_ONLY: the values accepted, blank-separated; "no", "yes" and "0" stand for
	 * every spelling of false, true and zero */
	const char *values;
	const char *feature; /* USE_ONLY, USE_NONE: what vpnd lacks, for the message */
} KeySpec;

static const KeySpec conn_keys[] = {
	{ "version", USE_READ },
	{ "local_addrs", USE_READ },
	{ "remote_addrs", USE_READ },
	{ "proposals", USE_READ },
	{ "encap", USE_READ },
	{ "dpd_delay", USE_READ },
	{ "rekey_time", USE_READ },
	{ "over_time", USE_READ },
	{ "rand_time", USE_READ },
	{ "unique", USE_READ },
	{ "keyingtries", USE_READ },
	/* negotiated: vpnd offers neither, so "yes" and "accept" mean "not used" */
	{ "mobike", USE_ANY },
	{ "fragmentation", USE_ONLY, "yes accept no", "forced IKE fragmentation" },
	{ "childless", USE_ONLY, "allow never", "IKE SAs created without a child" },
	/* IKEv1 only, or certificates only (which are refused where they are configured) */
	{ "dpd_timeout", USE_ANY },
	{ "pull", USE_ANY },
	{ "send_cert", USE_ANY },
	{ "send_certreq", USE_ANY },
	{ "aggressive", USE_ONLY, "no", "IKEv1 Aggressive Mode" },
	{ "local_port", USE_ONLY, "500", "IKE on ports other than 500 and 4500" },
	{ "remote_port", USE_ONLY, "500", "IKE on ports other than 500 and 4500" },
	{ "reauth_time", USE_ONLY, "0", "reauthentication (rekey_time rekeys)" },
	{ "dscp", USE_ONLY, "000000", "DSCP marks on IKE packets" },
	{ "if_id_in", USE_ONLY, "0", "if_id on the connection (set it on each child)" },
	{ "if_id_out", USE_ONLY, "0", "if_id on the connection (set it on each child)" },
	{ "vips", USE_NONE, NULL, "virtual IP addresses" },
	{ "pools", USE_NONE, NULL, "virtual IP addresses from pools" },
	{ "ppk_id", USE_NONE, NULL, "post-quantum preshared keys (RFC 8784)" },
	{ "ppk_required", USE_ONLY, "no", "post-quantum preshared keys (RFC 8784)" },
	{ "mediation", USE_ONLY, "no", "IKE mediation" },
	{ "mediated_by", USE_NONE, NULL, "IKE mediation" },
	{ "mediation_peer", USE_NONE, NULL, "IKE mediation" },
	{ NULL },
};

static const KeySpec child_keys[] = {
	{ "local_ts", USE_READ },
	{ "remote_ts", USE_READ },
	{ "esp_proposals", USE_READ },
	{ "start_action", USE_READ },
	{ "mode", USE_READ },
	{ "rekey_time", USE_READ },
	{ "life_time", USE_READ },
	{ "rand_time", USE_READ },
	{ "if_id_in", USE_READ },
	{ "if_id_out", USE_READ },
	{ "dpd_action", USE_READ },
	{ "close_action", USE_READ },
	{ "replay_window", USE_READ },
	/* it only changes what an updown script is told, and those are refused */
	{ "hostaccess", USE_ANY },
	{ "ah_proposals", USE_NONE, NULL, "AH" },
	{ "updown", USE_NONE, NULL,
	  "updown scripts; VICI's child-updown events and D-Bus signals report the same" },
	{ "interface", USE_NONE, NULL, "policies bound to an interface" },
	{ "label", USE_NONE, NULL, "security labels" },
	{ "label_mode", USE_NONE, NULL, "security labels" },
	{ "rekey_bytes", USE_ONLY, "0", "limits by volume" },
	{ "life_bytes", USE_ONLY, "0", "limits by volume" },
	{ "rand_bytes", USE_ONLY, "0", "limits by volume" },
	{ "rekey_packets", USE_ONLY, "0", "limits by packet count" },
	{ "life_packets", USE_ONLY, "0", "limits by packet count" },
	{ "rand_packets", USE_ONLY, "0", "limits by packet count" },
	{ "inactivity", USE_ONLY, "0", "closing idle children" },
	{ "policies", USE_ONLY, "yes", "children without policies" },
	{ "policies_fwd_out", USE_ONLY, "no", "outbound forward policies" },
	{ "priority", USE_ONLY, "0", "fixed policy priorities" },
	{ "reqid", USE_ONLY, "0", "fixed reqids" },
	{ "ipcomp", USE_ONLY, "no", "IPComp" },
	{ "mark_in", USE_ONLY, "0", "marks (if_id_in and if_id_out select XFRM interfaces)" },
	{ "mark_in_sa", USE_ONLY, "no", "marks (if_id_in and if_id_out select XFRM interfaces)" },
	{ "mark_out", USE_ONLY, "0", "marks (if_id_in and if_id_out select XFRM interfaces)" },
	{ "set_mark_in", USE_ONLY, "0", "marks (if_id_in and if_id_out select XFRM interfaces)" },
	{ "set_mark_out", USE_ONLY, "0", "marks (if_id_in and if_id_out select XFRM interfaces)" },
	{ "copy_df", USE_ONLY, "yes", "other treatment of the DF bit" },
	{ "copy_ecn", USE_ONLY, "yes", "other treatment of ECN" },
	{ "copy_dscp", USE_ONLY, "out", "other treatment of DSCP" },
	{ "hw_offload", USE_ONLY, "no", "hardware offload" },
	{ "sha256_96", USE_ONLY, "no", "HMAC-SHA-256 truncated to 96 bits" },
	{ "tfc_padding", USE_ONLY, "0", "traffic flow confidentiality padding" },
	{ NULL },
};

#define CERTIFICATES "certificates and public keys"
#define EAP "EAP and XAuth"

static const KeySpec auth_keys[] = {
	{ "auth", USE_READ },
	{ "id", USE_READ },
	{ "round", USE_ANY }, /* one round a side */
	{ "certs", USE_NONE, NULL, CERTIFICATES },
	{ "pubkeys", USE_NONE, NULL, CERTIFICATES },
	{ "cacerts", USE_NONE, NULL, CERTIFICATES },
	{ "ca_id", USE_NONE, NULL, CERTIFICATES },
	{ "groups", USE_NONE, NULL, CERTIFICATES },
	{ "cert_policy", USE_NONE, NULL, CERTIFICATES },
	{ "revocation", USE_NONE, NULL, CERTIFICATES },
	{ "eap_id", USE_NONE, NULL, EAP },
	{ "aaa_id", USE_NONE, NULL, EAP },
	{ "xauth_id", USE_NONE, NULL, EAP },
	{ NULL },
};

static const KeySpec no_keys[] = { { NULL } };

static const char *const false_spellings[] = { "no", "false", "off", "disabled", "0", NULL };
static const char *const true_spellings[] = { "yes", "true", "on", "enabled", "1", NULL };

static gboolean
spelled_as(const char *value, const char *const *spellings)
{
	for (guint i = 0; spellings[i]; i++)
		if (!g_ascii_strcasecmp(value, spellings[i]))
			return TRUE;
	return FALSE;
}

/* 0, 0x0, 00, or a zero duration (0s, 0m, 0h, 0d) */
static gboolean
is_zero(const char *value)
{
	char *end = NULL;

	if (!g_ascii_isdigit(*value) || g_ascii_strtoull(value, &end, 0) != 0)
		return FALSE;
	return !*end || (strchr("smhd", *end) && !end[1]);
}

static gboolean
value_accepted(const char *value, const char *accepted)
{
	g_auto(GStrv) list = g_strsplit(accepted, " ", -1);

	for (guint i = 0; list[i]; i++) {
		if (!strcmp(list[i], "no")    ? spelled_as(value, false_spellings)
		    : !strcmp(list[i], "yes") ? spelled_as(value, true_spellings)
		    : !strcmp(list[i], "0")   ? is_zero(value)
					      : !strcmp(value, list[i]))
			return TRUE;
	}
	return FALSE;
}

/* The known name closest to @name, if it is close enough to be a typo. (nullable) */
static const char *
closest_name(const char *name, const KeySpec *table, const char *const *extra)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();

	for (guint i = 0; table[i].name; i++)
		g_ptr_array_add(names, (gpointer)table[i].name);
	for (guint i = 0; extra && extra[i]; i++)
		g_ptr_array_add(names, (gpointer)extra[i]);
	return settings_closest_name(name, (const char *const *)names->pdata, names->len);
}

static gboolean refuse(GError **error, const SettingsSection *s, const char *key, const char *file,
		       const char *fmt, ...) G_GNUC_PRINTF(5, 6);

/* "FILE:LINE: SECTION: KEY: why" */
static gboolean
refuse(GError **error, const SettingsSection *s, const char *key, const char *file, const char *fmt,
       ...)
{
	const char *where = key ? settings_section_get_origin(s, key) : NULL;
	g_autofree char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, CONN_ERROR, CONN_ERROR_INVALID, "%s: %s: %s%s%s", where ? where : file,
		    settings_section_get_name(s), key ? key : "", key ? ": " : "", why);
	return FALSE;
}

static gboolean
check_key(const SettingsSection *s, const char *key, const KeySpec *table,
	  const char *const *sections, const char *file, GError **error)
{
	const char *value = settings_section_get_value(s, key);

	for (guint i = 0; table[i].name; i++) {
		const KeySpec *k = &table[i];

		if (strcmp(k->name, key) != 0)
			continue;
		if (k->use == USE_NONE)
			return refuse(error, s, key, file, "not supported by vpnd yet (%s)",
				      k->feature);
		if (k->use == USE_ONLY && !value_accepted(value, k->values))
			return refuse(error, s, key, file,
				      "\"%s\" is not supported by vpnd yet (%s); it takes: %s",
				      value, k->feature, k->values);
		return TRUE;
	}
	const char *near = closest_name(key, table, sections);
	return near ? refuse(error, s, key, file, "unknown setting (did you mean %s?)", near)
		    : refuse(error, s, key, file, "unknown setting");
}

static gboolean
check_keys(const SettingsSection *s, const KeySpec *table, const char *const *sections,
	   const char *file, GError **error)
{
	g_autoptr(GPtrArray) keys = settings_section_list_keys(s);

	for (guint i = 0; i < keys->len; i++)
		if (!check_key(s, keys->pdata[i], table, sections, file, error))
			return FALSE;
	return TRUE;
}

/* No subsection allowed in @s. */
static gboolean
check_no_sections(const SettingsSection *s, const char *what, const char *file, GError **error)
{
	g_autoptr(GPtrArray) sections = settings_section_list_sections(s);

	if (sections->len == 0)
		return TRUE;
	return refuse(error, sections->pdata[0], NULL, file, "unknown section in %s", what);
}

static gboolean
check_auth(const SettingsSection *s, const char *file, GError **error)
{
	g_autoptr(GPtrArray) sections = settings_section_list_sections(s);
	const SettingsSection *sub = sections->len ? sections->pdata[0] : NULL;
	const char *name = sub ? settings_section_get_name(sub) : NULL;

	if (!sub)
		return check_keys(s, auth_keys, NULL, file, error);
	if (g_str_has_prefix(name, "cert") || g_str_has_prefix(name, "cacert"))
		return refuse(error, sub, NULL, file, "not supported by vpnd yet (%s)",
			      CERTIFICATES);
	return refuse(error, sub, NULL, file, "unknown section in an authentication round");
}

static gboolean
check_children(const SettingsSection *children, const char *file, GError **error)
{
	g_autoptr(GPtrArray) list = settings_section_list_sections(children);

	if (!check_keys(children, no_keys, NULL, file, error))
		return FALSE;
	for (guint i = 0; i < list->len; i++) {
		if (!check_keys(list->pdata[i], child_keys, NULL, file, error) ||
		    !check_no_sections(list->pdata[i], "a child", file, error))
			return FALSE;
	}
	return TRUE;
}

/* local, local-1, local2…: one round a side is all vpnd does. */
static gboolean
is_auth_section(const char *name, const char *side)
{
	return g_str_has_prefix(name, side);
}

gboolean
conn_keys_check_conn(const SettingsSection *conn, const char *file, GError **error)
{
	static const char *const sections[] = { "children", "local", "remote", NULL };
	g_autoptr(GPtrArray) list = settings_section_list_sections(conn);
	guint rounds[2] = { 0, 0 };

	if (!check_keys(conn, conn_keys, sections, file, error))
		return FALSE;
	for (guint i = 0; i < list->len; i++) {
		const SettingsSection *s = list->pdata[i];
		const char *name = settings_section_get_name(s);
		gboolean local = is_auth_section(name, "local");

		if (!strcmp(name, "children")) {
			if (!check_children(s, file, error))
				return FALSE;
			continue;
		}
		if (!local && !is_auth_section(name, "remote")) {
			const char *near = closest_name(name, no_keys, sections);
			return near ? refuse(error, s, NULL, file,
					     "unknown section (did you mean %s?)", near)
				    : refuse(error, s, NULL, file, "unknown section");
		}
		if (++rounds[local] > 1)
			return refuse(error, s, NULL, file,
				      "not supported by vpnd yet (more than one "
				      "authentication round a side)");
		if (!check_auth(s, file, error))
			return FALSE;
	}
	return TRUE;
}

const SettingsSection *
conn_keys_auth_section(const SettingsSection *conn, gboolean local)
{
	g_autoptr(GPtrArray) list = settings_section_list_sections(conn);

	for (guint i = 0; i < list->len; i++)
		if (is_auth_section(settings_section_get_name(list->pdata[i]),
				    local ? "local" : "remote"))
			return list->pdata[i];
	return NULL;
}
