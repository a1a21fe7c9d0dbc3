/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The D-Bus service org.vpnd1 (ARCHITECTURE.md "Control"): /org/vpnd1 with
 * org.vpnd1.Manager and one org.vpnd1.Connection object per connection, a thin
 * adapter over the control API. It holds no state but its clients' log subscriptions.
 *
 * The bus is the system bus (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket),
 * reached in the background: when it cannot be reached, or org.vpnd1 cannot be owned,
 * one warning says so and vpnd runs on without D-Bus.
 */
#pragma once

#include <gio/gio.h>

#include "control/control.h"

G_BEGIN_DECLS

#define DBUS_SERVICE_NAME "org.vpnd1"
#define DBUS_SERVICE_PATH "/org/vpnd1"
#define DBUS_SERVICE_CONN_PATH "/org/vpnd1/connection"

typedef struct DbusService DbusService;

/* Starts connecting to the system bus; serves @ctl (borrowed: it outlives the service)
 * once connected. Never NULL. */
DbusService *dbus_service_new(Control *ctl);
/* Leaves the bus: releases the name, unexports the objects, closes the connection. */
void dbus_service_free(DbusService *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DbusService, dbus_service_free)

/* The object path of connection @name (escaped as g_dbus_escape_object_path()). */
char *dbus_service_conn_path(const char *name);

G_END_DECLS
