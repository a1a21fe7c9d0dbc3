/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections, shared keys and pools over VICI (vici.md §3.4-3.6): load-conn,
 * unload-conn, get-conns, list-conns, load-shared, unload-shared, get-shared,
 * clear-creds, load-pool, unload-pool, get-pools.
 *
 * A load-conn message is written back as the swanctl.conf text it came from (swanctl
 * turns each list into a key, each section into a section) and handed to
 * control_load_connections(): the path connection files and D-Bus take too, so there is
 * one parser and one way into the store.
 */
#include <arpa/inet.h>
#include <string.h>

#include "vici/vici_commands.h"
#include "vici/vici_server.h"

/* Names the settings parser reads as one name (settings.c is_name_char()). */
static gboolean
is_settings_name(const char *name)
{
	if (!*name)
		return FALSE;
	for (const char *p = name; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || strchr("{}=#\":,", *p))
			return FALSE;
	}
	return TRUE;
}

static void
append_quoted(GString *out, const char *text)
{
	g_string_append_c(out, '"');
	for (const char *p = text; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c(out, '\\');
		g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

static gboolean
bad_node(GError **error, const ViciNode *node, const char *why)
{
	g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_INVALID_ARGUMENT, "\"%s\": %s",
		    vici_node_get_name(node), why);
	return FALSE;
}

/* A list becomes one comma-separated value, as swanctl.conf writes it. */
static gboolean
append_list(GString *out, const ViciNode *list, GError **error)
{
	g_string_append_printf(out, "%s = \"", vici_node_get_name(list));
	for (guint i = 0; i < vici_node_get_n_children(list); i++) {
		const char *item = vici_node_get_str(vici_node_get_child(list, i));

		if (!item)
			return bad_node(error, list, "list item is not printable text");
		if (i)
			g_string_append(out, ", ");
		for (const char *p = item; *p; p++) {
			if (*p == '"' || *p == '\\')
				g_string_append_c(out, '\\');
			g_string_append_c(out, *p);
		}
	}
	g_string_append(out, "\"\n");
	return TRUE;
}

static gboolean
append_section(GString *out, const ViciNode *section, GError **error)
{
	for (guint i = 0; i < vici_node_get_n_children(section); i++) {
		const ViciNode *node = vici_node_get_child(section, i);
		const char *name = vici_node_get_name(node);
		const char *value;

		if (!is_settings_name(name))
			return bad_node(error, node, "not a name swanctl.conf can hold");
		switch (vici_node_get_kind(node)) {
		case VICI_NODE_SECTION:
			g_string_append_printf(out, "%s {\n", name);
			if (!append_section(out, node, error))
				return FALSE;
			g_string_append(out, "}\n");
			break;
		case VICI_NODE_VALUE:
			if (!(value = vici_node_get_str(node)))
				return bad_node(error, node, "value is not printable text");
			g_string_append_printf(out, "%s = ", name);
			append_quoted(out, value);
			g_string_append_c(out, '\n');
			break;
		case VICI_NODE_LIST:
			if (!append_list(out, node, error))
				return FALSE;
			break;
		case VICI_NODE_ITEM:
			return bad_node(error, node, "list item outside a list");
		}
	}
	return TRUE;
}

/* `connections { NAME { … } }` for every section of @request. (transfer full) */
static char *
request_to_text(const ViciMsg *request, const char *top, GError **error)
{
	const ViciNode *root = vici_msg_get_root(request);
	g_autoptr(GString) out = g_string_new(NULL);

	g_string_append_printf(out, "%s {\n", top);
	for (guint i = 0; i < vici_node_get_n_children(root); i++) {
		if (vici_node_get_kind(vici_node_get_child(root, i)) != VICI_NODE_SECTION) {
			g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_INVALID_ARGUMENT,
				    "expected only sections, one per %s entry", top);
			return NULL;
		}
	}
	if (vici_node_get_n_children(root) == 0) {
		g_set_error(error, CONTROL_ERROR, CONTROL_ERROR_INVALID_ARGUMENT,
			    "the request names no %s entry", top);
		return NULL;
	}
	if (!append_section(out, root, error))
		return NULL;
	g_string_append(out, "}\n");
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static GBytes *
reply_error(const char *command, GError *error)
{
	g_autofree char *msg = g_strdup_printf("%s: %s", command, error->message);

	vpnd_info("%s", msg);
	return vici_commands_reply_result(FALSE, error->message);
}

/* "load-conn:7: gw: …" -> "gw: …": the line is one of the text the request became,
 * which the client never saw. */
static void
drop_line_number(GError *error, const char *origin)
{
	gsize n = strlen(origin);
	const char *p = error->message + n;

	if (!g_str_has_prefix(error->message, origin) || *p != ':' || !g_ascii_isdigit(p[1]))
		return;
	for (p++; g_ascii_isdigit(*p); p++)
		;
	if (g_str_has_prefix(p, ": ")) {
		char *rest = g_strdup(p + 2);
		g_free(error->message);
		error->message = rest;
	}
}

static GBytes *
cmd_load_conn(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	      gpointer user_data)
{
	Control *ctl = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = request_to_text(request, "connections", &error);
	g_auto(GStrv) names = text ? control_load_connections(ctl, text, command, &error) : NULL;

	if (!names) {
		drop_line_number(error, command);
		return reply_error(command, error);
	}
	return vici_commands_reply_result(TRUE, NULL);
}

typedef gboolean (*UnloadFunc)(Control *ctl, const char *name, GError **error);

/* unload-conn {name}, unload-shared {id}, unload-pool {name}. */
static GBytes *
unload(Control *ctl, const char *command, const ViciMsg *request, const char *key, UnloadFunc func)
{
	g_autoptr(GError) error = NULL;
	const char *name = vici_msg_get_str(request, key, NULL);

	if (!name) {
		g_autofree char *why = g_strdup_printf("missing %s of what to unload", key);
		return vici_commands_reply_result(FALSE, why);
	}
	if (!func(ctl, name, &error))
		return reply_error(command, error);
	return vici_commands_reply_result(TRUE, NULL);
}

static GBytes *
cmd_unload_conn(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
		gpointer user_data)
{
	return unload(user_data, command, request, "name", control_unload_connection);
}

static GBytes *
cmd_unload_shared(ViciServer *server, ViciClient *client, const char *command,
		  const ViciMsg *request, gpointer user_data)
{
	return unload(user_data, command, request, "id", control_unload_shared);
}

static GBytes *
cmd_unload_pool(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
		gpointer user_data)
{
	return unload(user_data, command, request, "name", control_unload_pool);
}

static GBytes *
cmd_get_conns(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	      gpointer user_data)
{
	Control *ctl = user_data;
	g_autoptr(GPtrArray) conns = control_list_conn_configs(ctl);
	g_autoptr(ViciBuilder) b = vici_builder_new();

	vici_builder_begin_list(b, "conns");
	for (guint i = 0; i < conns->len; i++)
		vici_builder_list_item(b, ((ConnConfig *)conns->pdata[i])->name);
	vici_builder_end_list(b);
	return vici_commands_finish(b);
}

/* ---- list-conns: the fields charon 5.9.8 sends, in its order ---- */

/* @host: the DNS name configured instead of an address (nullable) */
static void
add_addrs(ViciBuilder *b, const char *key, const VpndAddr *addr, const char *host)
{
	char buf[INET6_ADDRSTRLEN];

	vici_builder_begin_list(b, key);
	if (host) {
		vici_builder_list_item(b, host);
	} else if (!addr->family) {
		vici_builder_list_item(b, "%any");
	} else {
		inet_ntop(addr->family, addr->addr, buf, sizeof(buf));
		vici_builder_list_item(b, buf);
	}
	vici_builder_end_list(b);
}

static void
add_empty_list(ViciBuilder *b, const char *key)
{
	vici_builder_begin_list(b, key);
	vici_builder_end_list(b);
}

/* As charon prints identities: "@fqdn" is written to force the FQDN type and shown
 * without the '@' (RFC 7296 ID_FQDN = 2). */
static const char *
identity_text(const ConnIdentity *id)
{
	if (id->type == 2 && id->text[0] == '@')
		return id->text + 1;
	return id->text;
}

static void
add_auth_rounds(ViciBuilder *b, const GPtrArray *rounds, const char *side)
{
	for (guint i = 0; i < rounds->len; i++) {
		const ConnAuth *auth = rounds->pdata[i];
		g_autofree char *name = g_strdup_printf("%s-%u", side, i + 1);

		vici_builder_begin_section(b, name);
		if (auth->id && !conn_identity_is_any(auth->id))
			vici_builder_add_kv(b, "id", identity_text(auth->id));
		vici_builder_add_kv(b, "class", "pre-shared key");
		add_empty_list(b, "groups");
		add_empty_list(b, "cert_policy");
		add_empty_list(b, "certs");
		add_empty_list(b, "cacerts");
		vici_builder_end_section(b);
	}
}

static void
add_ts_list(ViciBuilder *b, const char *key, const GArray *list)
{
	vici_builder_begin_list(b, key);
	if (list->len == 0)
		vici_builder_list_item(b, "dynamic");
	for (guint i = 0; i < list->len; i++) {
		const ConnTs *ts = &g_array_index(list, ConnTs, i);
		g_autofree char *text = control_format_ts(&ts->ts, ts->dynamic);

		vici_builder_list_item(b, text);
	}
	vici_builder_end_list(b);
}

static const char *
gone_action_name(ConnGoneAction action)
{
	switch (action) {
	case CONN_GONE_RESTART:
		return "restart";
	case CONN_GONE_TRAP:
		return "trap";
	case CONN_GONE_CLEAR:
		break;
	}
	return "none"; /* charon's name for its default, clear */
}

static void
add_child(ViciBuilder *b, const ChildConfig *child)
{
	vici_builder_begin_section(b, child->name);
	vici_builder_add_kv(b, "mode", child->mode == VPND_MODE_TRANSPORT ? "TRANSPORT" : "TUNNEL");
	vici_builder_add_kv_printf(b, "rekey_time", "%u", child->rekey_time);
	vici_builder_add_kv(b, "rekey_bytes", "0");
	vici_builder_add_kv(b, "rekey_packets", "0");
	vici_builder_add_kv(b, "dpd_action", gone_action_name(child->dpd_action));
	vici_builder_add_kv(b, "close_action", gone_action_name(child->close_action));
	add_ts_list(b, "local-ts", child->local_ts);
	add_ts_list(b, "remote-ts", child->remote_ts);
	vici_builder_end_section(b);
}

/* as charon lists them */
static const char *
unique_name(ConnUnique unique)
{
	switch (unique) {
	case CONN_UNIQUE_NEVER:
		return "UNIQUE_NEVER";
	case CONN_UNIQUE_REPLACE:
		return "UNIQUE_REPLACE";
	case CONN_UNIQUE_NO:
		break;
	}
	return "UNIQUE_NO";
}

static GBytes *
list_conn_event(const ConnConfig *conn)
{
	g_autoptr(ViciBuilder) b = vici_builder_new();

	vici_builder_begin_section(b, conn->name);
	add_addrs(b, "local_addrs", &conn->local_addr, NULL);
	add_addrs(b, "remote_addrs", &conn->remote_addr, conn->remote_host);
	vici_builder_add_kv(b, "version", "IKEv2"); /* the only one vpnd speaks */
	vici_builder_add_kv(b, "reauth_time", "0");
	vici_builder_add_kv_printf(b, "rekey_time", "%u", conn->rekey_time);
	vici_builder_add_kv(b, "unique", unique_name(conn->unique));
	if (conn->dpd_delay)
		vici_builder_add_kv_printf(b, "dpd_delay", "%u", conn->dpd_delay);
	add_auth_rounds(b, conn->local_auth, "local");
	add_auth_rounds(b, conn->remote_auth, "remote");
	vici_builder_begin_section(b, "children");
	for (guint i = 0; i < conn->children->len; i++)
		add_child(b, conn->children->pdata[i]);
	vici_builder_end_section(b);
	vici_builder_end_section(b);
	return vici_commands_finish(b);
}

static GBytes *
cmd_list_conns(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	       gpointer user_data)
{
	Control *ctl = user_data;
	g_autoptr(GPtrArray) conns = control_list_conn_configs(ctl);
	const char *only = vici_msg_get_str(request, "ike", NULL);

	for (guint i = 0; i < conns->len; i++) {
		const ConnConfig *conn = conns->pdata[i];

		if (only && g_strcmp0(only, conn->name) != 0)
			continue;
		g_autoptr(GBytes) event = list_conn_event(conn);
		vici_server_send_event(server, client, "list-conn", event);
	}
	return g_bytes_new(NULL, 0);
}

/* ---- Shared keys ---- */

static GBytes *
cmd_load_shared(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
		gpointer user_data)
{
	static guint anonymous;
	Control *ctl = user_data;
	g_autoptr(GError) error = NULL;
	const char *type = vici_msg_get_str(request, "type", "");
	const char *id = vici_msg_get_str(request, "id", NULL);
	const ViciNode *data = vici_msg_lookup(request, "data");
	const ViciNode *owners = vici_msg_lookup(request, "owners");
	g_autoptr(GStrvBuilder) ids = g_strv_builder_new();
	g_autofree char *name = id ? g_strdup(id) : g_strdup_printf("%%unnamed-%u", ++anonymous);
	gsize len = 0;
	const guint8 *bytes = data ? vici_node_get_value(data, &len) : NULL;

	if (g_ascii_strcasecmp(type, "ike") != 0) {
		g_autofree char *why = g_strdup_printf(
			"shared keys of type \"%s\" are not supported by vpnd yet (only ike)",
			type);
		return vici_commands_reply_result(FALSE, why);
	}
	if (!bytes || !len)
		return vici_commands_reply_result(FALSE, "the shared key has no data");
	for (guint i = 0; owners && i < vici_node_get_n_children(owners); i++) {
		const char *owner = vici_node_get_str(vici_node_get_child(owners, i));

		if (!owner)
			return vici_commands_reply_result(FALSE, "an owner is not printable text");
		g_strv_builder_add(ids, owner);
	}
	g_autoptr(VpndSecret) secret = vpnd_secret_new_from_data(bytes, len);
	g_auto(GStrv) list = g_strv_builder_end(ids);
	if (!control_load_shared(ctl, name, (const char *const *)list, secret, &error))
		return reply_error(command, error);
	vpnd_info("shared key %s loaded", name); /* the name only, never the key */
	return vici_commands_reply_result(TRUE, NULL);
}

static GBytes *
cmd_get_shared(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	       gpointer user_data)
{
	Control *ctl = user_data;
	g_auto(GStrv) names = control_list_shared(ctl);
	g_autoptr(ViciBuilder) b = vici_builder_new();

	vici_builder_begin_list(b, "keys");
	for (guint i = 0; names[i]; i++)
		vici_builder_list_item(b, names[i]);
	vici_builder_end_list(b);
	return vici_commands_finish(b);
}

/* Forgets every loaded credential: for vpnd, which holds no certificates or private
 * keys yet, the shared keys. */
static GBytes *
cmd_clear_creds(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
		gpointer user_data)
{
	Control *ctl = user_data;
	g_auto(GStrv) names = control_list_shared(ctl);

	for (guint i = 0; names[i]; i++) {
		g_autoptr(GError) error = NULL;

		if (!control_unload_shared(ctl, names[i], &error))
			return reply_error(command, error);
	}
	vpnd_info("%u shared key%s cleared", g_strv_length(names),
	       g_strv_length(names) == 1 ? "" : "s");
	return vici_commands_reply_result(TRUE, NULL);
}

/* ---- Pools ---- */

static GBytes *
cmd_load_pool(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	      gpointer user_data)
{
	Control *ctl = user_data;
	g_autoptr(GError) error = NULL;
	const ViciNode *root = vici_msg_get_root(request);
	const ViciNode *pool = vici_node_get_n_children(root) ? vici_node_get_child(root, 0) : NULL;
	const ViciNode *addrs = pool ? vici_node_find(pool, "addrs") : NULL;
	const char *text = addrs ? vici_node_get_str(addrs) : NULL;

	if (!pool || vici_node_get_kind(pool) != VICI_NODE_SECTION)
		return vici_commands_reply_result(FALSE, "the request names no pool");
	if (!text) {
		g_autofree char *why =
			g_strdup_printf("pool %s: missing addrs", vici_node_get_name(pool));
		return vici_commands_reply_result(FALSE, why);
	}
	if (!control_load_pool(ctl, vici_node_get_name(pool), text, &error))
		return reply_error(command, error);
	return vici_commands_reply_result(TRUE, NULL);
}

/* Leases are asked for with `leases = yes`; vpnd hands out none yet, so the list is
 * empty. */
static GBytes *
cmd_get_pools(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	      gpointer user_data)
{
	Control *ctl = user_data;
	g_autoptr(GPtrArray) pools = control_list_pools(ctl);
	g_autoptr(ViciBuilder) b = vici_builder_new();
	const char *only = vici_msg_get_str(request, "name", NULL);
	gboolean leases = g_strcmp0(vici_msg_get_str(request, "leases", "no"), "yes") == 0;

	for (guint i = 0; i < pools->len; i++) {
		const ControlPool *pool = pools->pdata[i];

		if (only && g_strcmp0(only, pool->name) != 0)
			continue;
		vici_builder_begin_section(b, pool->name);
		vici_builder_add_kv(b, "base", pool->base);
		vici_builder_add_kv_printf(b, "size", "%u", pool->size);
		vici_builder_add_kv_printf(b, "online", "%u", pool->online);
		vici_builder_add_kv_printf(b, "offline", "%u", pool->offline);
		if (leases) {
			vici_builder_begin_section(b, "leases");
			vici_builder_end_section(b);
		}
		vici_builder_end_section(b);
	}
	return vici_commands_finish(b);
}

static const ViciCommand commands[] = {
	{ "load-conn", cmd_load_conn },     { "unload-conn", cmd_unload_conn },
	{ "get-conns", cmd_get_conns },     { "list-conns", cmd_list_conns },
	{ "load-shared", cmd_load_shared }, { "unload-shared", cmd_unload_shared },
	{ "get-shared", cmd_get_shared },   { "clear-creds", cmd_clear_creds },
	{ "load-pool", cmd_load_pool },     { "unload-pool", cmd_unload_pool },
	{ "get-pools", cmd_get_pools },
};

void
vici_config_add_commands(ViciServer *server, Control *ctl)
{
	vici_server_add_commands(server, commands, G_N_ELEMENTS(commands), ctl);
}
