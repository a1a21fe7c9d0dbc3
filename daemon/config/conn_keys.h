/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The swanctl.conf vocabulary (strongSwan 5.9) of a connection, checked before the
 * connection is read: a key vpnd does not know is refused (a typo would otherwise
 * change the tunnel in silence), and so is a key vpnd knows but cannot honour, unless
 * its value is what vpnd does anyway (mobike = yes: offered only where supported, and
 * vpnd does not offer it). Errors name FILE:LINE, the section and the key.
 */
#pragma once

#include <glib.h>

#include "config/settings.h"

G_BEGIN_DECLS

/* Every key and section inside connection @conn (the section named after it). */
gboolean conn_keys_check_conn(const SettingsSection *conn, const char *file, GError **error);
/* The section of the one authentication round of a side: local (or local-1, local2…),
 * remote likewise. (nullable) (transfer none) */
const SettingsSection *conn_keys_auth_section(const SettingsSection *conn, gboolean local);

G_END_DECLS
