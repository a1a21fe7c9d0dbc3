/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SAs over VICI (vici.md §3.3, §4): list-sas, list-policies, initiate and terminate
 * (answered when the outcome is known, with control-log events meanwhile),
 * get-counters, reset-counters, rekey, and the ike-updown, child-updown, ike-rekey and
 * child-rekey broadcasts.
 */
#include <inttypes.h>

#include "vici/vici_commands.h"
#include "vici/vici_server.h"

/* An initiate or terminate waiting for its outcome. */
typedef struct {
	ViciSas *sas;
	guint client_id;
	char *conn;
	char *child; /* the child to wait for; NULL: the IKE SA */
	gboolean terminate;
	guint matches;   /* terminate: SAs selected */
	guint remaining; /* terminate of children: CHILD_DOWN still to come */
	int loglevel;    /* control-log lines up to this charon level */
	guint32 ike_id;  /* the IKE SA once known, for ikesa-uniqueid */
	gboolean one_ike; /* terminate of the IKE SA ike_id only (by ike-id) */
	guint trace;     /* control_trace_add() id */
	guint timeout;   /* GSource id, 0: none */
	char *timeout_msg;
	gboolean conn_down; /* initiate: the connection went down, maybe without an SA event */
} Pending;

struct ViciSas {
	ViciServer *server;
	Control *ctl;
	guint sa_watch;
	guint rekey_watch;
	guint conn_watch;
	guint down_idle; /* initiates whose connection went down without an SA event */
	GPtrArray *pending; /* Pending */
	gboolean views_held; /* a client is registered for an event that shows SAs */
};

/* ---- The IKE_SA and CHILD_SA blocks (vici.md §4.2) ---- */

static void
add_yes(ViciBuilder *b, const char *key, gboolean value)
{
	if (value)
		vici_builder_add_kv(b, key, "yes");
}

static void
add_alg(ViciBuilder *b, const char *alg, guint keysize)
{
	if (!alg)
		return;
	vici_builder_add_kv(b, "encr-alg", alg);
	if (keysize)
		vici_builder_add_kv_printf(b, "encr-keysize", "%u", keysize);
}

static void
add_list(ViciBuilder *b, const char *key, const char *const *items)
{
	vici_builder_begin_list(b, key);
	for (guint i = 0; items[i]; i++)
		vici_builder_list_item(b, items[i]);
	vici_builder_end_list(b);
}

static void
add_child_fields(ViciBuilder *b, const ControlChildSa *c)
{
	vici_builder_add_kv(b, "name", c->name);
	vici_builder_add_kv_printf(b, "uniqueid", "%u", c->unique_id);
	vici_builder_add_kv_printf(b, "reqid", "%u", c->reqid);
	vici_builder_add_kv(b, "state", c->state);
	vici_builder_add_kv(b, "mode", c->mode);
	vici_builder_add_kv(b, "protocol", "ESP");
	add_yes(b, "encap", c->encap);
	vici_builder_add_kv_printf(b, "spi-in", "%08x", c->spi_in);
	vici_builder_add_kv_printf(b, "spi-out", "%08x", c->spi_out);
	add_alg(b, c->encr_alg, c->encr_keysize);
	if (c->integ_alg)
		vici_builder_add_kv(b, "integ-alg", c->integ_alg);
	if (c->dh_group)
		vici_builder_add_kv(b, "dh-group", c->dh_group);
	vici_builder_add_kv_printf(b, "bytes-in", "%" G_GUINT64_FORMAT, c->bytes_in);
	vici_builder_add_kv_printf(b, "packets-in", "%" G_GUINT64_FORMAT, c->packets_in);
	if (c->use_in >= 0)
		vici_builder_add_kv_printf(b, "use-in", "%" G_GINT64_FORMAT, c->use_in);
	vici_builder_add_kv_printf(b, "bytes-out", "%" G_GUINT64_FORMAT, c->bytes_out);
	vici_builder_add_kv_printf(b, "packets-out", "%" G_GUINT64_FORMAT, c->packets_out);
	if (c->use_out >= 0)
		vici_builder_add_kv_printf(b, "use-out", "%" G_GINT64_FORMAT, c->use_out);
	if (c->rekey_in >= 0)
		vici_builder_add_kv_printf(b, "rekey-time", "%" G_GINT64_FORMAT, c->rekey_in);
	if (c->life_in >= 0)
		vici_builder_add_kv_printf(b, "life-time", "%" G_GINT64_FORMAT, c->life_in);
	if (c->installed >= 0)
		vici_builder_add_kv_printf(b, "install-time", "%" G_GINT64_FORMAT, c->installed);
	add_list(b, "local-ts", c->local_ts);
	add_list(b, "remote-ts", c->remote_ts);
}

/* "NAME-UNIQUEID" { CHILD_SA block } */
static void
add_child_block(ViciBuilder *b, const ControlChildSa *c)
{
	g_autofree char *section = g_strdup_printf("%s-%u", c->name, c->unique_id);

	vici_builder_begin_section(b, section);
	add_child_fields(b, c);
	vici_builder_end_section(b);
}

static void
add_ike_fields(ViciBuilder *b, const ControlIkeSa *sa)
{
	vici_builder_add_kv_printf(b, "uniqueid", "%u", sa->unique_id);
	vici_builder_add_kv(b, "version", "2");
	vici_builder_add_kv(b, "state", sa->state);
	vici_builder_add_kv(b, "local-host", sa->local_host);
	vici_builder_add_kv_printf(b, "local-port", "%u", sa->local_port);
	vici_builder_add_kv(b, "local-id", sa->local_id);
	vici_builder_add_kv(b, "remote-host", sa->remote_host);
	vici_builder_add_kv_printf(b, "remote-port", "%u", sa->remote_port);
	vici_builder_add_kv(b, "remote-id", sa->remote_id);
	add_yes(b, "initiator", sa->initiator);
	vici_builder_add_kv_printf(b, "initiator-spi", "%016" G_GINT64_MODIFIER "x", sa->spi_i);
	vici_builder_add_kv_printf(b, "responder-spi", "%016" G_GINT64_MODIFIER "x", sa->spi_r);
	add_yes(b, "nat-local", sa->nat_local);
	add_yes(b, "nat-remote", sa->nat_remote);
	add_yes(b, "nat-any", sa->nat_local || sa->nat_remote);
	add_alg(b, sa->encr_alg, sa->encr_keysize);
	if (sa->integ_alg)
		vici_builder_add_kv(b, "integ-alg", sa->integ_alg);
	if (sa->prf_alg)
		vici_builder_add_kv(b, "prf-alg", sa->prf_alg);
	if (sa->dh_group)
		vici_builder_add_kv(b, "dh-group", sa->dh_group);
	if (sa->established >= 0)
		vici_builder_add_kv_printf(b, "established", "%" G_GINT64_FORMAT, sa->established);
	if (sa->rekey_in >= 0)
		vici_builder_add_kv_printf(b, "rekey-time", "%" G_GINT64_FORMAT, sa->rekey_in);
}

/* NAME { IKE_SA block [child-sas { the children, or only those named @child }] } */
static void
add_ike_block(ViciBuilder *b, const ControlIkeSa *sa, gboolean children, const char *child)
{
	vici_builder_begin_section(b, sa->name);
	add_ike_fields(b, sa);
	if (children) {
		vici_builder_begin_section(b, "child-sas");
		for (guint i = 0; i < sa->n_children; i++) {
			const ControlChildSa *c = sa->children[i];
			if (!child || g_strcmp0(child, c->name) == 0)
				add_child_block(b, c);
		}
		vici_builder_end_section(b);
	}
	vici_builder_end_section(b);
}

/* ---- list-sas, list-policies ---- */

static GBytes *
cmd_list_sas(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	     gpointer user_data)
{
	ViciSas *self = user_data;
	g_autoptr(GPtrArray) sas = control_list_sas(self->ctl);
	const char *ike = vici_msg_get_str(request, "ike", NULL);
	const char *ike_id = vici_msg_get_str(request, "ike-id", NULL);
	const char *child = vici_msg_get_str(request, "child", NULL);

	for (guint i = 0; i < sas->len; i++) {
		const ControlIkeSa *sa = sas->pdata[i];
		g_autofree char *id = g_strdup_printf("%u", sa->unique_id);

		if ((ike && g_strcmp0(ike, sa->name) != 0) ||
		    (ike_id && g_strcmp0(ike_id, id) != 0))
			continue;
		g_autoptr(ViciBuilder) b = vici_builder_new();
		add_ike_block(b, sa, TRUE, child);
		g_autoptr(GBytes) event = vici_commands_finish(b);
		vici_server_send_event(server, client, "list-sa", event);
	}
	return g_bytes_new(NULL, 0);
}

static void
add_str_list(ViciBuilder *b, const char *name, GStrv items)
{
	vici_builder_begin_list(b, name);
	for (guint i = 0; items && items[i]; i++)
		vici_builder_list_item(b, items[i]);
	vici_builder_end_list(b);
}

/* list-policies lists trap, drop and pass policies (not those of CHILD SAs), as
 * charon: one list-policy event per child, "CONN/CHILD" { child, ike, mode, local-ts,
 * remote-ts }. vpnd has trap policies only. */
static GBytes *
cmd_list_policies(ViciServer *server, ViciClient *client, const char *command,
		  const ViciMsg *request, gpointer user_data)
{
	ViciSas *self = user_data;
	const char *child = vici_msg_get_str(request, "child", NULL);
	g_autoptr(GPtrArray) policies = NULL;

	if (g_strcmp0(vici_msg_get_str(request, "trap", "no"), "yes") != 0)
		return g_bytes_new(NULL, 0);
	policies = control_list_policies(self->ctl);
	for (guint i = 0; i < policies->len; i++) {
		const ControlPolicy *p = policies->pdata[i];
		g_autofree char *name = g_strdup_printf("%s/%s", p->conn, p->child);
		g_autoptr(ViciBuilder) b = vici_builder_new();

		if (child && g_strcmp0(child, p->child) != 0)
			continue;
		vici_builder_begin_section(b, name);
		vici_builder_add_kv(b, "child", p->child);
		vici_builder_add_kv(b, "ike", p->conn);
		vici_builder_add_kv(b, "mode", p->mode == VPND_MODE_TRANSPORT ? "TRANSPORT" : "TUNNEL");
		add_str_list(b, "local-ts", p->local_ts);
		add_str_list(b, "remote-ts", p->remote_ts);
		vici_builder_end_section(b);
		g_autoptr(GBytes) event = vici_commands_finish(b);
		vici_server_send_event(server, client, "list-policy", event);
	}
	return g_bytes_new(NULL, 0);
}

/* ---- get-counters, reset-counters ---- */

static GBytes *
cmd_get_counters(ViciServer *server, ViciClient *client, const char *command,
		 const ViciMsg *request, gpointer user_data)
{
	ViciSas *self = user_data;
	g_autoptr(ViciBuilder) b = vici_builder_new();
	const char *name = vici_msg_get_str(request, "name", NULL);
	gboolean all = g_strcmp0(vici_msg_get_str(request, "all", "no"), "yes") == 0;
	ControlCounters c;
	/* in the order of ControlCounters' fields, which is charon's */
	static const char *const keys[] = {
		"ike-rekey-init",        "ike-rekey-resp",
		"child-rekey",           "invalid",
		"invalid-spi",           "ike-init-in-req",
		"ike-init-in-resp",      "ike-init-out-req",
		"ike-init-out-resp",     "ike-auth-in-req",
		"ike-auth-in-resp",      "ike-auth-out-req",
		"ike-auth-out-resp",     "create-child-in-req",
		"create-child-in-resp",  "create-child-out-req",
		"create-child-out-resp", "info-in-req",
		"info-in-resp",          "info-out-req",
		"info-out-resp",
	};
	G_STATIC_ASSERT(sizeof(ControlCounters) == G_N_ELEMENTS(keys) * sizeof(guint64));

	control_get_counters(self->ctl, &c);
	vici_builder_begin_section(b, "counters");
	/* vpnd counts for the daemon as a whole: per-connection sets do not exist */
	if (!all && !name) {
		const guint64 *values = (const guint64 *)&c;

		vici_builder_begin_section(b, "");
		for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
			vici_builder_add_kv_printf(b, keys[i], "%" G_GUINT64_FORMAT, values[i]);
		vici_builder_end_section(b);
	}
	vici_builder_end_section(b);
	vici_builder_add_kv(b, "success", name && !all ? "no" : "yes");
	if (name && !all)
		vici_builder_add_kv(b, "errmsg",
				    "no counters found for this connection "
				    "(vpnd keeps global counters only)");
	return vici_commands_finish(b);
}

static GBytes *
cmd_reset_counters(ViciServer *server, ViciClient *client, const char *command,
		   const ViciMsg *request, gpointer user_data)
{
	ViciSas *self = user_data;

	if (!vici_msg_get_str(request, "name", NULL))
		control_reset_counters(self->ctl);
	return vici_commands_reply_result(TRUE, NULL);
}

/* ---- initiate, terminate ---- */

static void
pending_free(Pending *p)
{
	if (p->trace)
		control_trace_remove(p->sas->ctl, p->trace);
	if (p->timeout)
		g_source_remove(p->timeout);
	g_free(p->conn);
	g_free(p->child);
	g_free(p->timeout_msg);
	g_free(p);
}

static void
finish_pending(Pending *p, GBytes *response)
{
	ViciSas *self = p->sas;

	vici_server_respond(self->server, p->client_id, response);
	g_ptr_array_remove(self->pending, p);
}

static void
finish_result(Pending *p, gboolean success, const char *errmsg)
{
	g_autoptr(ViciBuilder) b = vici_builder_new();

	vici_builder_add_kv(b, "success", success ? "yes" : "no");
	if (p->terminate) {
		vici_builder_add_kv_printf(b, "matches", "%u", p->matches);
		vici_builder_add_kv_printf(b, "terminated", "%u",
					   success ? p->matches : p->matches - p->remaining);
	}
	if (!success)
		vici_builder_add_text(b, "errmsg", errmsg);
	g_autoptr(GBytes) msg = vici_commands_finish(b);
	finish_pending(p, msg);
}

/* A line about the connection: the engine tags its lines, the runtime starts its own
 * with "NAME: ". */
static gboolean
line_is_about(const ControlLogLine *line, const char *conn, const char *name)
{
	if (conn)
		return g_strcmp0(conn, name) == 0;
	return g_str_has_prefix(line->message, name) && line->message[strlen(name)] == ':';
}

static void
on_trace(const ControlLogLine *line, const char *conn, gpointer user_data)
{
	Pending *p = user_data;
	int level = vici_commands_charon_level(line->level);
	ViciClient *client = vici_server_find_client(p->sas->server, p->client_id);

	if (!client || level > p->loglevel || !line_is_about(line, conn, p->conn))
		return;
	g_autoptr(ViciBuilder) b = vici_builder_new();
	vici_builder_add_kv(b, "group", vici_commands_log_group(line->domain));
	vici_builder_add_kv_printf(b, "level", "%d", level);
	vici_builder_add_kv(b, "ikesa-name", p->conn);
	if (p->ike_id)
		vici_builder_add_kv_printf(b, "ikesa-uniqueid", "%u", p->ike_id);
	vici_builder_add_text(b, "msg", line->message);
	g_autoptr(GBytes) event = vici_commands_finish(b);
	vici_server_send_event(p->sas->server, client, "control-log", event);
}

static gboolean
on_timeout(gpointer user_data)
{
	Pending *p = user_data;

	p->timeout = 0;
	finish_result(p, FALSE, p->timeout_msg);
	return G_SOURCE_REMOVE;
}

/* keyingtries: the connection stays connecting after its IKE SA failed, another attempt
 * is under way; an initiate waits for that one, as charon's does. */
static gboolean
next_attempt_follows(Pending *p)
{
	g_autoptr(ControlConn) state = control_lookup_connection(p->sas->ctl, p->conn, NULL);

	return state && state->state == CONTROL_CONN_CONNECTING;
}

/* One SA event against one waiting command; TRUE when that command is answered. */
static gboolean
check_pending(Pending *p, ControlSaEvent event, const ControlIkeSa *sa, const char *child,
	      const char *reason)
{
	if (g_strcmp0(sa->name, p->conn) != 0 || (p->one_ike && sa->unique_id != p->ike_id))
		return FALSE;
	if (!p->ike_id)
		p->ike_id = sa->unique_id;
	if (p->terminate && p->child) {
		if (event == CONTROL_SA_CHILD_DOWN && g_strcmp0(child, p->child) == 0 &&
		    p->remaining)
			p->remaining--;
		if (p->remaining && event != CONTROL_SA_IKE_DOWN)
			return FALSE;
		finish_result(p, TRUE, NULL);
		return TRUE;
	}
	if (p->terminate) {
		if (event != CONTROL_SA_IKE_DOWN)
			return FALSE;
		finish_result(p, TRUE, NULL);
		return TRUE;
	}
	if (event == CONTROL_SA_IKE_DOWN && next_attempt_follows(p)) {
		p->ike_id = 0; /* the next attempt's, for ikesa-uniqueid */
		return FALSE;
	}
	if (event == CONTROL_SA_IKE_DOWN) {
		g_autofree char *why = g_strdup_printf(
			"establishing %s '%s' failed: %s", p->child ? "CHILD_SA" : "IKE_SA",
			p->child ? p->child : p->conn, *reason ? reason : "deleted");
		finish_result(p, FALSE, why);
		return TRUE;
	}
	if ((event == CONTROL_SA_CHILD_UP && (!p->child || g_strcmp0(child, p->child) == 0)) ||
	    (event == CONTROL_SA_IKE_UP && !p->child)) {
		finish_result(p, TRUE, NULL);
		return TRUE;
	}
	return FALSE;
}

static GBytes *
event_message(ControlSaEvent event, const ControlIkeSa *sa, const char *child)
{
	g_autoptr(ViciBuilder) b = vici_builder_new();
	gboolean is_child = event == CONTROL_SA_CHILD_UP || event == CONTROL_SA_CHILD_DOWN;

	if (event == CONTROL_SA_IKE_UP || event == CONTROL_SA_CHILD_UP)
		vici_builder_add_kv(b, "up", "yes");
	add_ike_block(b, sa, is_child, child);
	return vici_commands_finish(b);
}

static void
on_sa_event(ControlSaEvent event, const ControlIkeSa *sa, const char *child, const char *reason,
	    gpointer user_data)
{
	ViciSas *self = user_data;
	gboolean is_child = event == CONTROL_SA_CHILD_UP || event == CONTROL_SA_CHILD_DOWN;
	const char *name = is_child ? "child-updown" : "ike-updown";

	if (vici_server_has_listeners(self->server, name)) {
		g_autoptr(GBytes) msg = event_message(event, sa, child);
		vici_server_broadcast(self->server, name, msg);
	}
	/* answering removes from the array: by index, from the end */
	for (guint i = self->pending->len; i-- > 0;)
		check_pending(self->pending->pdata[i], event, sa, child, reason);
}

/* An initiate whose connection went down and no SA event answered: no IKE SA was ever
 * made (its remote name could not be resolved): the connection's reason is the answer. */
static gboolean
on_down_idle(gpointer user_data)
{
	ViciSas *self = user_data;

	self->down_idle = 0;
	for (guint i = self->pending->len; i-- > 0;) {
		Pending *p = self->pending->pdata[i];
		g_autoptr(ControlConn) state = NULL;

		if (!p->conn_down)
			continue;
		state = control_lookup_connection(self->ctl, p->conn, NULL);
		g_autofree char *why = g_strdup_printf(
			"establishing %s '%s' failed: %s", p->child ? "CHILD_SA" : "IKE_SA",
			p->child ? p->child : p->conn,
			state && *state->last_error ? state->last_error : "down");
		finish_result(p, FALSE, why);
	}
	return G_SOURCE_REMOVE;
}

static void
on_conn_event(ControlConnEvent event, const ControlConn *conn, gpointer user_data)
{
	ViciSas *self = user_data;

	if (event != CONTROL_CONN_CHANGED || conn->state != CONTROL_CONN_DOWN)
		return;
	for (guint i = 0; i < self->pending->len; i++) {
		Pending *p = self->pending->pdata[i];

		if (p->terminate || g_strcmp0(p->conn, conn->name) != 0)
			continue;
		/* an SA event right after answers it as usual; the idle answers the rest */
		p->conn_down = TRUE;
		if (!self->down_idle)
			self->down_idle = g_idle_add(on_down_idle, self);
	}
}

/* (nullable) */
static const ControlChildSa *
find_child(const ControlIkeSa *sa, guint32 spi_in)
{
	for (guint i = 0; i < sa->n_children; i++) {
		const ControlChildSa *c = sa->children[i];
		if (c->spi_in == spi_in)
			return c;
	}
	return NULL;
}

/* ike-rekey {NAME {old {…} new {…}}}, child-rekey {NAME {… child-sas {CHILD {old {…}
 * new {…}}}}} (vici.md §4.3). */
static void
on_rekey(const ControlIkeSa *old_sa, const ControlIkeSa *new_sa, const char *child, guint32 old_spi,
	 guint32 new_spi, gpointer user_data)
{
	ViciSas *self = user_data;
	const char *event = child ? "child-rekey" : "ike-rekey";
	const ControlChildSa *old_child = child ? find_child(old_sa, old_spi) : NULL;
	const ControlChildSa *new_child = child ? find_child(new_sa, new_spi) : NULL;
	g_autoptr(ViciBuilder) b = NULL;

	if (!vici_server_has_listeners(self->server, event) ||
	    (child && (!old_child || !new_child)))
		return;
	b = vici_builder_new();
	vici_builder_begin_section(b, new_sa->name);
	if (child) {
		add_ike_fields(b, new_sa);
		vici_builder_begin_section(b, "child-sas");
		vici_builder_begin_section(b, child);
	}
	vici_builder_begin_section(b, "old");
	child ? add_child_fields(b, old_child) : add_ike_fields(b, old_sa);
	vici_builder_end_section(b);
	vici_builder_begin_section(b, "new");
	child ? add_child_fields(b, new_child) : add_ike_fields(b, new_sa);
	vici_builder_end_section(b);
	if (child) {
		vici_builder_end_section(b);
		vici_builder_end_section(b);
	}
	vici_builder_end_section(b);
	g_autoptr(GBytes) msg = vici_commands_finish(b);
	vici_server_broadcast(self->server, event, msg);
}

/* The connection that has a child named @child. (transfer full) (nullable) */
static char *
conn_of_child(Control *ctl, const char *child)
{
	g_autoptr(GPtrArray) conns = control_list_conn_configs(ctl);

	for (guint i = 0; i < conns->len; i++) {
		ConnConfig *conn = conns->pdata[i];
		if (conn_config_get_child(conn, child))
			return g_strdup(conn->name);
	}
	return NULL;
}

/*
 * The SAs terminate or rekey means (vici.md §3.3): by `ike` a connection's IKE SAs, by
 * `ike-id` one of them, by `child` a connection's CHILD SAs of that name, by `child-id`
 * one of them (and its IKE SA). Fills @sel, whose strings *@conn and *@child hold;
 * FALSE when nothing that exists is named.
 */
static gboolean
select_sas(ViciSas *self, const ViciMsg *request, ControlSaSelector *sel, char **conn,
	   char **child)
{
	const char *ike = vici_msg_get_str(request, "ike", NULL);
	const char *ike_id = vici_msg_get_str(request, "ike-id", NULL);
	const char *child_id = vici_msg_get_str(request, "child-id", NULL);
	g_autoptr(GPtrArray) sas = NULL;

	*sel = (ControlSaSelector){ 0 };
	*child = g_strdup(vici_msg_get_str(request, "child", NULL));
	*conn = ike ? g_strdup(ike) : NULL;
	if (!*conn && !ike_id && !child_id && *child)
		*conn = conn_of_child(self->ctl, *child);
	sas = ike_id || child_id ? control_list_sas(self->ctl) : NULL;
	for (guint i = 0; sas && i < sas->len && !sel->ike_id; i++) {
		const ControlIkeSa *sa = sas->pdata[i];
		g_autofree char *id = g_strdup_printf("%u", sa->unique_id);

		if (ike_id && g_strcmp0(ike_id, id) == 0) {
			sel->ike_id = sa->unique_id;
			g_free(*conn);
			*conn = g_strdup(sa->name);
		}
		for (guint j = 0; child_id && j < sa->n_children; j++) {
			const ControlChildSa *c = sa->children[j];
			g_autofree char *cid = g_strdup_printf("%u", c->unique_id);

			if (g_strcmp0(child_id, cid) == 0) {
				sel->ike_id = sa->unique_id;
				sel->child_id = c->unique_id;
				g_free(*child);
				*child = g_strdup(c->name);
				g_free(*conn);
				*conn = g_strdup(sa->name);
			}
		}
	}
	if ((ike_id || child_id) && !sel->ike_id)
		return FALSE; /* no SA has that id (any more) */
	sel->conn = *conn;
	sel->child = *child;
	return *conn != NULL;
}

static Pending *
pending_new(ViciSas *self, ViciClient *client, const ViciMsg *request, const char *conn,
	    const char *child, gboolean terminate)
{
	Pending *p = g_new0(Pending, 1);

	p->sas = self;
	p->client_id = vici_client_get_id(client);
	p->conn = g_strdup(conn);
	p->child = g_strdup(child);
	p->terminate = terminate;
	p->matches = 1;
	p->loglevel = (int)g_ascii_strtoll(vici_msg_get_str(request, "loglevel", "1"), NULL, 10);
	/* a client that takes no control-log events, or asks for none, costs no tracing */
	if (p->loglevel >= 0 && vici_client_get_registrations(client, "control-log"))
		p->trace = control_trace_add(self->ctl, on_trace,
					     vici_commands_log_level(p->loglevel), p);
	g_ptr_array_add(self->pending, p);
	return p;
}

/* "@what <timeout>ms" answers when the request's timeout passes first. */
static void
arm_timeout(Pending *p, const ViciMsg *request, const char *what)
{
	gint64 ms = g_ascii_strtoll(vici_msg_get_str(request, "timeout", "0"), NULL, 10);

	if (ms <= 0 || !g_ptr_array_find(p->sas->pending, p, NULL))
		return;
	p->timeout_msg = g_strdup_printf("%s %" G_GINT64_FORMAT "ms", what, ms);
	p->timeout = g_timeout_add((guint)MIN(ms, G_MAXUINT), on_timeout, p);
}

static GBytes *
cmd_initiate(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	     gpointer user_data)
{
	ViciSas *self = user_data;
	g_autoptr(GError) error = NULL;
	const char *child = vici_msg_get_str(request, "child", NULL);
	const char *ike = vici_msg_get_str(request, "ike", NULL);
	const char *type = child ? "CHILD_SA" : "IKE_SA";
	g_autofree char *conn = ike     ? g_strdup(ike)
				: child ? conn_of_child(self->ctl, child)
					: NULL;
	g_autofree char *what = g_strdup_printf("%s '%s'", type, child ? child : ike);
	gboolean wait = g_ascii_strtoll(vici_msg_get_str(request, "timeout", "0"), NULL, 10) >= 0;
	Pending *p = NULL;

	if (!child && !ike)
		return vici_commands_reply_result(FALSE, "missing configuration name");
	if (!conn) {
		g_autofree char *why = g_strdup_printf("%s config '%s' not found", type, child);
		return vici_commands_reply_result(FALSE, why);
	}
	/* before initiating: its first lines are logged at once */
	if (wait)
		p = pending_new(self, client, request, conn, child, FALSE);
	if (!control_initiate_child(self->ctl, conn, child, &error)) {
		g_autofree char *why =
			g_error_matches(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND)
				? g_strdup_printf("%s config '%s' not found", type,
						  child ? child : ike)
				: g_strdup_printf("establishing %s failed: %s", what,
						  error->message);
		if (p)
			g_ptr_array_remove(self->pending, p);
		return vici_commands_reply_result(FALSE, why);
	}
	if (!p)
		return vici_commands_reply_result(TRUE, NULL);
	g_autofree char *late = g_strdup_printf("%s not established after", what);
	arm_timeout(p, request, late);
	return NULL; /* answered by check_pending() or on_timeout(), maybe already */
}

static GBytes *
nothing_to_terminate(void)
{
	g_autoptr(ViciBuilder) b = vici_builder_new();

	vici_builder_add_kv(b, "success", "no");
	vici_builder_add_kv(b, "matches", "0");
	vici_builder_add_kv(b, "terminated", "0");
	vici_builder_add_kv(b, "errmsg", "no matching SAs to terminate found");
	return vici_commands_finish(b);
}

/* The SAs @sel names; FALSE without @error when there are none. */
static gboolean
terminate_sas(ViciSas *self, const ControlSaSelector *sel, Pending *p, GError **error)
{
	guint matches = 0;

	if (!control_terminate_sas(self->ctl, sel, &matches, error))
		return FALSE;
	/* the SAs go when the peer answers the Delete, not before: none went yet */
	if (p && g_ptr_array_find(self->pending, p, NULL))
		p->matches = p->remaining = matches;
	return matches > 0;
}

/* terminate by `ike` or `ike-id` deletes the IKE SA (its CHILD SAs go with it); by
 * `child` or `child-id` the CHILD SAs of that name, keeping the IKE SA. */
static GBytes *
cmd_terminate(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	      gpointer user_data)
{
	ViciSas *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree char *conn = NULL, *child = NULL;
	const char *ike = vici_msg_get_str(request, "ike", NULL);
	ControlSaSelector sel;
	gboolean named = select_sas(self, request, &sel, &conn, &child);
	g_autoptr(ControlConn) state =
		named ? control_lookup_connection(self->ctl, conn, NULL) : NULL;
	gboolean wait = g_ascii_strtoll(vici_msg_get_str(request, "timeout", "0"), NULL, 10) >= 0;
	Pending *p = NULL;

	if (!child && !ike && !vici_msg_get_str(request, "ike-id", NULL) &&
	    !vici_msg_get_str(request, "child-id", NULL))
		return vici_commands_reply_result(FALSE, "missing terminate selector");
	if (!state || state->state == CONTROL_CONN_DOWN)
		return nothing_to_terminate();
	if (wait) {
		p = pending_new(self, client, request, conn, child, TRUE);
		p->ike_id = sel.ike_id;
		p->one_ike = sel.ike_id != 0;
	}
	/* a whole connection by name: its state says disconnecting, as from D-Bus */
	if (!(child || sel.ike_id ? terminate_sas(self, &sel, p, &error)
				  : control_terminate(self->ctl, conn, &error))) {
		if (p)
			g_ptr_array_remove(self->pending, p);
		return error ? vici_commands_reply_result(FALSE, error->message)
			     : nothing_to_terminate();
	}
	if (!p)
		return vici_commands_reply_result(TRUE, NULL);
	arm_timeout(p, request, "terminating SA failed: no answer from the peer after");
	return NULL;
}

/* Queues the rekeyings and answers at once (vici.md §3.3 rekey). */
static GBytes *
cmd_rekey(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	  gpointer user_data)
{
	ViciSas *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(ViciBuilder) b = vici_builder_new();
	g_autofree char *conn = NULL, *child = NULL;
	const char *ike = vici_msg_get_str(request, "ike", NULL);
	ControlSaSelector sel;
	gboolean named = select_sas(self, request, &sel, &conn, &child);
	guint matches = 0;

	if (!child && !ike && !vici_msg_get_str(request, "ike-id", NULL) &&
	    !vici_msg_get_str(request, "child-id", NULL))
		return vici_commands_reply_result(FALSE, "missing rekey selector");
	if (!child && g_strcmp0(vici_msg_get_str(request, "reauth", "no"), "yes") == 0)
		return vici_commands_reply_result(
			FALSE, "reauthentication is not supported by vpnd yet (rekeying is)");
	if (named && !control_rekey(self->ctl, &sel, &matches, &error) &&
	    !g_error_matches(error, CONTROL_ERROR, CONTROL_ERROR_NOT_FOUND))
		return vici_commands_reply_result(FALSE, error->message);
	vici_builder_add_kv(b, "success", matches ? "yes" : "no");
	vici_builder_add_kv_printf(b, "matches", "%u", matches);
	if (!matches)
		vici_builder_add_kv(b, "errmsg", "no matching SAs to rekey found");
	return vici_commands_finish(b);
}

/* install / uninstall (vici.md §3.3): the trap policies of one child. */
static GBytes *
cmd_install(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	    gpointer user_data)
{
	ViciSas *self = user_data;
	g_autoptr(GError) error = NULL;
	const char *child = vici_msg_get_str(request, "child", NULL);
	const char *ike = vici_msg_get_str(request, "ike", NULL);
	gboolean ok;

	if (!child || !*child)
		return vici_commands_reply_result(FALSE, "missing configuration name");
	if (g_str_equal(command, "install"))
		ok = control_install_trap(self->ctl, ike, child, &error);
	else
		ok = control_uninstall_trap(self->ctl, ike, child, &error);
	return vici_commands_reply_result(ok, ok ? NULL : error->message);
}

static const ViciCommand commands[] = {
	{ "install", cmd_install },
	{ "uninstall", cmd_install },
	{ "rekey", cmd_rekey },
	{ "list-sas", cmd_list_sas },
	{ "list-policies", cmd_list_policies },
	{ "initiate", cmd_initiate },
	{ "terminate", cmd_terminate },
	{ "get-counters", cmd_get_counters },
	{ "reset-counters", cmd_reset_counters },
};

/* The events built from SA views (the pending commands need names and ids only). */
static const char *const view_events[] = { "ike-updown", "child-updown", "ike-rekey",
					   "child-rekey" };

/* Full SA views are wanted while a client is registered for one of view_events. */
static void
on_listeners(ViciServer *server, gpointer user_data)
{
	ViciSas *self = user_data;
	gboolean wanted = FALSE;

	for (guint i = 0; i < G_N_ELEMENTS(view_events) && !wanted; i++)
		wanted = vici_server_has_listeners(server, view_events[i]);
	if (wanted == self->views_held)
		return;
	self->views_held = wanted;
	if (wanted)
		control_sa_views_hold(self->ctl);
	else
		control_sa_views_release(self->ctl);
}

ViciSas *
vici_sas_new(ViciServer *server, Control *ctl)
{
	ViciSas *self = g_new0(ViciSas, 1);

	self->server = server;
	self->ctl = ctl;
	self->pending = g_ptr_array_new_with_free_func((GDestroyNotify)pending_free);
	self->sa_watch = control_sa_watch_add(ctl, on_sa_event, self);
	self->rekey_watch = control_rekey_watch_add(ctl, on_rekey, self);
	self->conn_watch = control_conn_watch_add(ctl, on_conn_event, self);
	vici_server_add_commands(server, commands, G_N_ELEMENTS(commands), self);
	vici_server_set_listeners_func(server, on_listeners, self);
	return self;
}

void
vici_sas_free(ViciSas *self)
{
	if (!self)
		return;
	vici_server_set_listeners_func(self->server, NULL, NULL);
	if (self->views_held)
		control_sa_views_release(self->ctl);
	control_sa_watch_remove(self->ctl, self->sa_watch);
	control_rekey_watch_remove(self->ctl, self->rekey_watch);
	control_conn_watch_remove(self->ctl, self->conn_watch);
	g_clear_handle_id(&self->down_idle, g_source_remove);
	g_ptr_array_unref(self->pending);
	g_free(self);
}
