/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The error domain of daemon/net: configuration, sockets and sends a person reads about. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NET_ERROR (net_error_quark())
GQuark net_error_quark(void);

typedef enum {
	NET_ERROR_CONFIG,    /* a net { } setting is malformed; the message names it */
	NET_ERROR_SOCKET,    /* a socket cannot be created or configured */
	NET_ERROR_BIND,      /* address and port cannot be bound; the message names both */
	NET_ERROR_KERNEL,    /* the kernel provider refused a socket (bypass, UDP encap) */
	NET_ERROR_NO_SOCKET, /* no socket for that family, local address and port */
	NET_ERROR_SEND,      /* sendmsg() failed */
} NetError;

G_END_DECLS
