/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The inside of IkeMsg, shared by ike_msg*.c only. */
#pragma once

#include "ike_msg.h"

struct _IkeMsg {
	IkeHeader header;
	GPtrArray *payloads; /* IkePayload, outer ones first, then the SK plaintext's */
	GArray *skipped;     /* guint8: unknown non-critical payload types */
	GBytes *raw;         /* (nullable) the datagram decoded */
	gboolean has_inner;  /* ike_payloads_parse() succeeded */
};
