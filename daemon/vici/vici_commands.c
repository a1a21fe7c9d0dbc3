/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/crypto.h"
#include "vici/vici_commands.h"
#include "vici/vici_server.h"

struct ViciCommands {
	ViciServer *server;
	Control *ctl;
	guint log_watch;
	ViciSas *sas;
};

GBytes *
vici_commands_finish(ViciBuilder *b)
{
	g_autoptr(GError) error = NULL;
	GBytes *msg = vici_builder_finish(b, &error);

	if (!msg) {
		g_critical("building a VICI message: %s", error->message);
		msg = g_bytes_new(NULL, 0);
	}
	return msg;
}

GBytes *
vici_commands_reply_result(gboolean success, const char *errmsg)
{
	g_autoptr(ViciBuilder) b = vici_builder_new();

	vici_builder_add_kv(b, "success", success ? "yes" : "no");
	if (!success)
		vici_builder_add_text(b, "errmsg", errmsg);
	return vici_commands_finish(b);
}

static GBytes *
cmd_version(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	    gpointer user_data)
{
	ViciCommands *self = user_data;
	g_autoptr(ViciBuilder) b = vici_builder_new();
	ControlVersion v;

	control_get_version(self->ctl, &v);
	vici_builder_add_kv(b, "daemon", v.daemon);
	vici_builder_add_kv(b, "version", v.version);
	if (v.have_uname) {
		vici_builder_add_kv(b, "sysname", v.uts.sysname);
		vici_builder_add_kv(b, "release", v.uts.release);
		vici_builder_add_kv(b, "machine", v.uts.machine);
	}
	return vici_commands_finish(b);
}

char *
vici_commands_format_running(gint64 seconds)
{
	static const struct {
		gint64 size;
		const char *name;
	} units[] = { { 86400, "day" }, { 3600, "hour" }, { 60, "minute" } };
	gint64 n = ABS(seconds);
	const char *unit = "second";

	/* the largest unit of which more than two have passed */
	for (guint i = 0; i < G_N_ELEMENTS(units); i++) {
		if (n > 2 * units[i].size) {
			n /= units[i].size;
			unit = units[i].name;
			break;
		}
	}
	return g_strdup_printf("%" G_GINT64_FORMAT " %s%s", n, unit, n == 1 ? "" : "s");
}

char *
vici_commands_format_since(GDateTime *time)
{
	/* English whatever the locale: swanctl users compare this text */
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	if (!time)
		return g_strdup("--- -- --:--:-- ----");
	return g_strdup_printf("%s %02d %02d:%02d:%02d %04d",
			       months[g_date_time_get_month(time) - 1],
			       g_date_time_get_day_of_month(time), g_date_time_get_hour(time),
			       g_date_time_get_minute(time), g_date_time_get_second(time),
			       g_date_time_get_year(time));
}

static void
add_prios(ViciBuilder *b, const guint *counts)
{
	static const char *const names[CONTROL_N_PRIOS] = { "critical", "high", "medium", "low" };

	for (guint i = 0; i < CONTROL_N_PRIOS; i++)
		vici_builder_add_kv_printf(b, names[i], "%u", counts[i]);
}

static GBytes *
cmd_stats(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
	  gpointer user_data)
{
	ViciCommands *self = user_data;
	g_autoptr(ViciBuilder) b = vici_builder_new();
	ControlStats st;

	control_get_stats(self->ctl, &st);
	g_autofree char *running = vici_commands_format_running(st.running_s);
	g_autofree char *since = vici_commands_format_since(st.started);

	vici_builder_begin_section(b, "uptime");
	vici_builder_add_kv(b, "running", running);
	vici_builder_add_kv(b, "since", since);
	vici_builder_end_section(b);
	vici_builder_begin_section(b, "workers");
	vici_builder_add_kv_printf(b, "total", "%u", st.workers_total);
	vici_builder_add_kv_printf(b, "idle", "%u", st.workers_idle);
	vici_builder_begin_section(b, "active");
	add_prios(b, st.workers_active);
	vici_builder_end_section(b);
	vici_builder_end_section(b);
	vici_builder_begin_section(b, "queues");
	add_prios(b, st.jobs_queued);
	vici_builder_end_section(b);
	vici_builder_add_kv_printf(b, "scheduled", "%u", st.jobs_scheduled);
	vici_builder_begin_section(b, "ikesas");
	vici_builder_add_kv_printf(b, "total", "%u", st.ikesas_total);
	vici_builder_add_kv_printf(b, "half-open", "%u", st.ikesas_half_open);
	vici_builder_end_section(b);
	vici_builder_begin_list(b, "plugins");
	for (guint i = 0; i < st.plugins->len; i++)
		vici_builder_list_item(b, st.plugins->pdata[i]);
	vici_builder_end_list(b);
	if (st.have_mallinfo) {
		vici_builder_begin_section(b, "mallinfo");
		vici_builder_add_kv_printf(b, "sbrk", "%" G_GUINT64_FORMAT, st.heap_sbrk);
		vici_builder_add_kv_printf(b, "mmap", "%" G_GUINT64_FORMAT, st.heap_mmap);
		vici_builder_add_kv_printf(b, "used", "%" G_GUINT64_FORMAT, st.heap_used);
		vici_builder_add_kv_printf(b, "free", "%" G_GUINT64_FORMAT, st.heap_free);
		vici_builder_end_section(b);
	}
	control_stats_clear(&st);
	return vici_commands_finish(b);
}

static GBytes *
cmd_reload_settings(ViciServer *server, ViciClient *client, const char *command,
		    const ViciMsg *request, gpointer user_data)
{
	ViciCommands *self = user_data;
	g_autoptr(GError) error = NULL;
	gboolean ok = control_reload_settings(self->ctl, &error);

	return vici_commands_reply_result(ok, ok ? NULL : error->message);
}

/* list-certs, list-authorities: vpnd holds no certificates or authorities yet, so
 * there is nothing to stream and the reply is the usual empty one. */
static GBytes *
cmd_list_nothing(ViciServer *server, ViciClient *client, const char *command,
		 const ViciMsg *request, gpointer user_data)
{
	return g_bytes_new(NULL, 0);
}

/* get-keys, get-authorities: vpnd holds no private keys or CAs yet, so the lists are
 * empty (swanctl --load-all then loads none; load-key and load-authority say why). */
static GBytes *
cmd_get_nothing(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
		gpointer user_data)
{
	static const struct {
		const char *command;
		const char *list;
	} lists[] = {
		{ "get-keys", "keys" },
		{ "get-authorities", "authorities" },
	};
	g_autoptr(ViciBuilder) b = vici_builder_new();

	for (guint i = 0; i < G_N_ELEMENTS(lists); i++) {
		if (g_str_equal(command, lists[i].command)) {
			vici_builder_begin_list(b, lists[i].list);
			vici_builder_end_list(b);
		}
	}
	return vici_commands_finish(b);
}

static GBytes *
cmd_unsupported(ViciServer *server, ViciClient *client, const char *command, const ViciMsg *request,
		gpointer user_data)
{
	g_autofree char *errmsg = g_strdup_printf("%s not supported by vpnd yet", command);

	return vici_commands_reply_result(FALSE, errmsg);
}

static void
add_algorithm(const char *name, const char *plugin, gpointer user_data)
{
	vici_builder_add_kv(user_data, name, plugin);
}

/* Every class, in order, even when empty: swanctl --list-algs prints each header. */
static GBytes *
cmd_get_algorithms(ViciServer *server, ViciClient *client, const char *command,
		   const ViciMsg *request, gpointer user_data)
{
	ViciCommands *self = user_data;
	g_autoptr(ViciBuilder) b = vici_builder_new();

	for (const char *const *klass = crypto_algorithm_classes(); *klass; klass++) {
		vici_builder_begin_section(b, *klass);
		control_list_algorithms(self->ctl, *klass, add_algorithm, b);
		vici_builder_end_section(b);
	}
	return vici_commands_finish(b);
}

static const ViciCommand commands[] = {
	{ "version", cmd_version },
	{ "stats", cmd_stats },
	{ "reload-settings", cmd_reload_settings },
	{ "list-certs", cmd_list_nothing },
	{ "list-authorities", cmd_list_nothing },
	{ "get-keys", cmd_get_nothing },
	{ "get-authorities", cmd_get_nothing },
	{ "redirect", cmd_unsupported },
	{ "load-cert", cmd_unsupported },
	{ "load-key", cmd_unsupported },
	{ "unload-key", cmd_unsupported },
	{ "load-token", cmd_unsupported },
	{ "flush-certs", cmd_unsupported },
	{ "load-authority", cmd_unsupported },
	{ "unload-authority", cmd_unsupported },
	{ "get-algorithms", cmd_get_algorithms },
};

const char *
vici_commands_log_group(const char *domain)
{
	static const char *const groups[][2] = {
		{ "core", "DMN" }, { "cfg", "CFG" },  { "ctl", "CFG" },
		{ "ike", "IKE" },  { "knl", "KNL" },  { "net", "NET" },
		{ "enc", "ENC" },  { "vici", "CFG" }, { "dbus", "CFG" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(groups); i++) {
		if (g_strcmp0(domain, groups[i][0]) == 0)
			return groups[i][1];
	}
	return "LIB"; /* GLib and other libraries */
}

/* charon's levels: 0 audit, 1 control, 2 diagnostic; only 0 and 1 become `log` events. */
int
vici_commands_charon_level(LogLevel level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
	case LOG_LEVEL_WARNING:
	case LOG_LEVEL_MESSAGE:
		return 0;
	case LOG_LEVEL_INFO:
		return 1;
	case LOG_LEVEL_DEBUG:
		return 2;
	}
	return 2;
}

LogLevel
vici_commands_log_level(int charon_level)
{
	return charon_level <= 0 ? LOG_LEVEL_MESSAGE
	       : charon_level == 1 ? LOG_LEVEL_INFO
				   : LOG_LEVEL_DEBUG;
}

static void
on_log_line(const ControlLogLine *line, gpointer user_data)
{
	ViciCommands *self = user_data;
	int level = vici_commands_charon_level(line->level);

	if (level > 1 || !vici_server_has_listeners(self->server, "log"))
		return;
	g_autoptr(ViciBuilder) b = vici_builder_new();
	vici_builder_add_kv(b, "group", vici_commands_log_group(line->domain));
	vici_builder_add_kv_printf(b, "level", "%d", level);
	vici_builder_add_kv_printf(b, "thread", "%u", line->thread);
	vici_builder_add_text(b, "msg", line->message);
	g_autoptr(GBytes) msg = vici_commands_finish(b);
	vici_server_broadcast(self->server, "log", msg);
}

ViciCommands *
vici_commands_new(ViciServer *server, Control *ctl)
{
	ViciCommands *self = g_new0(ViciCommands, 1);

	self->server = server;
	self->ctl = ctl;
	vici_server_add_commands(server, commands, G_N_ELEMENTS(commands), self);
	vici_config_add_commands(server, ctl);
	self->sas = vici_sas_new(server, ctl);
	self->log_watch = control_log_watch_add(ctl, on_log_line, self);
	return self;
}

void
vici_commands_free(ViciCommands *self)
{
	if (!self)
		return;
	control_log_watch_remove(self->ctl, self->log_watch);
	g_clear_pointer(&self->sas, vici_sas_free);
	g_free(self);
}
