/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may change vpnd's state over D-Bus: root and the members of group "vpnd". The
 * bus policy (dbus/org.vpnd1.conf) says the same, but vpnd does not rely on it: a bus
 * configured more loosely must not open the door.
 */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

G_BEGIN_DECLS

#define DBUS_AUTH_GROUP "vpnd"

/* uid 0, or a user whose groups (getgrouplist) include @group. A group that does not
 * exist admits nobody but root. */
gboolean dbus_auth_uid_is_privileged(uid_t uid, const char *group);

/*
 * Asks the bus who @sender is (GetConnectionUnixUser) and calls @done with whether it
 * may change state, or with the reason it could not be told (G_IO_ERROR_CANCELLED when
 * @cancellable was cancelled: then only free what @user_data holds).
 */
typedef void (*DbusAuthFunc)(gboolean allowed, const GError *error, gpointer user_data);
void dbus_auth_check(GDBusConnection *bus, const char *sender, GCancellable *cancellable,
		     DbusAuthFunc done, gpointer user_data);

G_END_DECLS
