/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The named errors of org.vpnd1 (org.vpnd1.Error.*), registered with GDBus so that a
 * GError in this domain crosses the bus under its name, and the mapping from the
 * control API's errors to them.
 */
#pragma once

#include <gio/gio.h>

#include "control/control.h"

G_BEGIN_DECLS

#define DBUS_ERRORS (dbus_errors_quark())
GQuark dbus_errors_quark(void);

/* Stable: clients (vpnctl's exit codes) key on the names, see dbus_errors.c. */
typedef enum {
	DBUS_ERRORS_FAILED,         /* org.vpnd1.Error.Failed */
	DBUS_ERRORS_NOT_FOUND,      /* org.vpnd1.Error.NotFound */
	DBUS_ERRORS_ALREADY_ACTIVE, /* org.vpnd1.Error.AlreadyActive */
	DBUS_ERRORS_AUTHENTICATION_FAILED,
	DBUS_ERRORS_TIMEOUT,
	DBUS_ERRORS_PERMISSION_DENIED,
	DBUS_ERRORS_INVALID_ARGUMENT,
	DBUS_ERRORS_NOT_SUPPORTED,
} DbusErrors;

/* The D-Bus name of @code, e.g. "org.vpnd1.Error.NotFound". */
const char *dbus_errors_name(DbusErrors code);

DbusErrors dbus_errors_code_from_control(ControlError code);

/* The control API's @error as its named error, message kept. (transfer full) */
GError *dbus_errors_from_control(const GError *error);

/* Answers @invocation with @error (any domain) as a named error; takes @invocation. */
void dbus_errors_return(GDBusMethodInvocation *invocation, const GError *error);

G_END_DECLS
