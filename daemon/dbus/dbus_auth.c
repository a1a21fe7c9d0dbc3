/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "dbus/dbus_auth.h"

#define MAX_GROUPS 4096 /* more than NGROUPS_MAX on Linux (65536 is rare; refuse then) */

static gboolean
lookup_group(const char *group, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return FALSE;
	*gid = gr.gr_gid;
	return TRUE;
}

gboolean
dbus_auth_uid_is_privileged(uid_t uid, const char *group)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t wanted;

	if (uid == 0)
		return TRUE;
	if (!lookup_group(group, &wanted))
		return FALSE;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return FALSE;
	if (pw.pw_gid == wanted)
		return TRUE;

	int n = MAX_GROUPS;
	g_autofree gid_t *groups = g_new(gid_t, n);
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return FALSE; /* in more groups than we look at: not a user we admit */
	for (int i = 0; i < n; i++) {
		if (groups[i] == wanted)
			return TRUE;
	}
	return FALSE;
}

typedef struct {
	DbusAuthFunc done;
	gpointer user_data;
} Check;

static void
on_unix_user(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Check *check = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
		g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	guint32 uid = G_MAXUINT32;

	if (reply)
		g_variant_get(reply, "(u)", &uid);
	check->done(reply && dbus_auth_uid_is_privileged(uid, DBUS_AUTH_GROUP), error,
		    check->user_data);
	g_free(check);
}

void
dbus_auth_check(GDBusConnection *bus, const char *sender, GCancellable *cancellable,
		DbusAuthFunc done, gpointer user_data)
{
	Check *check = g_new0(Check, 1);

	check->done = done;
	check->user_data = user_data;
	g_dbus_connection_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetConnectionUnixUser",
			       g_variant_new("(s)", sender), G_VARIANT_TYPE("(u)"),
			       G_DBUS_CALL_FLAGS_NONE, -1, cancellable, on_unix_user, check);
}
