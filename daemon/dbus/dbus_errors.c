/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "control/control.h"
#include "dbus/dbus_errors.h"

static const GDBusErrorEntry entries[] = {
	{ DBUS_ERRORS_FAILED, "org.vpnd1.Error.Failed" },
	{ DBUS_ERRORS_NOT_FOUND, "org.vpnd1.Error.NotFound" },
	{ DBUS_ERRORS_ALREADY_ACTIVE, "org.vpnd1.Error.AlreadyActive" },
	{ DBUS_ERRORS_AUTHENTICATION_FAILED, "org.vpnd1.Error.AuthenticationFailed" },
	{ DBUS_ERRORS_TIMEOUT, "org.vpnd1.Error.Timeout" },
	{ DBUS_ERRORS_PERMISSION_DENIED, "org.vpnd1.Error.PermissionDenied" },
	{ DBUS_ERRORS_INVALID_ARGUMENT, "org.vpnd1.Error.InvalidArgument" },
	{ DBUS_ERRORS_NOT_SUPPORTED, "org.vpnd1.Error.NotSupported" },
};

GQuark
dbus_errors_quark(void)
{
	static gsize quark;

	g_dbus_error_register_error_domain("vpnd-dbus-error-quark", &quark, entries,
					   G_N_ELEMENTS(entries));
	return (GQuark)quark;
}

const char *
dbus_errors_name(DbusErrors code)
{
	for (guint i = 0; i < G_N_ELEMENTS(entries); i++) {
		if (entries[i].error_code == (gint)code)
			return entries[i].dbus_error_name;
	}
	return entries[0].dbus_error_name;
}

DbusErrors
dbus_errors_code_from_control(ControlError code)
{
	switch (code) {
	case CONTROL_ERROR_FAILED:
		return DBUS_ERRORS_FAILED;
	case CONTROL_ERROR_UNSUPPORTED:
		return DBUS_ERRORS_NOT_SUPPORTED;
	case CONTROL_ERROR_NOT_FOUND:
		return DBUS_ERRORS_NOT_FOUND;
	case CONTROL_ERROR_ALREADY_ACTIVE:
		return DBUS_ERRORS_ALREADY_ACTIVE;
	case CONTROL_ERROR_AUTHENTICATION_FAILED:
		return DBUS_ERRORS_AUTHENTICATION_FAILED;
	case CONTROL_ERROR_TIMEOUT:
		return DBUS_ERRORS_TIMEOUT;
	case CONTROL_ERROR_INVALID_ARGUMENT:
		return DBUS_ERRORS_INVALID_ARGUMENT;
	}
	return DBUS_ERRORS_FAILED;
}

GError *
dbus_errors_from_control(const GError *error)
{
	DbusErrors code = DBUS_ERRORS_FAILED;

	if (error->domain == DBUS_ERRORS)
		return g_error_copy(error);
	if (error->domain == CONTROL_ERROR)
		code = dbus_errors_code_from_control((ControlError)error->code);
	return g_error_new_literal(DBUS_ERRORS, code, error->message);
}

void
dbus_errors_return(GDBusMethodInvocation *invocation, const GError *error)
{
	g_dbus_method_invocation_take_error(invocation, dbus_errors_from_control(error));
}
