/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stateless COOKIEs of a responder under load (RFC 7296 §2.6):
 *   Cookie = <VersionIDofSecret> | HMAC-SHA-256(<secret>, Ni | IPi | SPIi)
 * The secret is random and replaced every @lifetime; a cookie made with the previous
 * secret is still accepted, so one rotation never rejects an initiator that is just
 * coming back with its cookie. Secrets are wiped when replaced or freed.
 */
#pragma once

#include <glib.h>
#include <vpnd/kernel.h>

#include "ike_keymat.h"

G_BEGIN_DECLS

/* Version byte and a SHA-256 MAC (RFC 7296 §3.10.1 allows 1 to 64 bytes). */
#define IKE_COOKIE_LEN 33

typedef struct _IkeCookieJar IkeCookieJar;

/* @lifetime_us: how long one secret is used. (transfer full) */
IkeCookieJar *ike_cookie_jar_new(VpndHost *host, IkeRandomFunc random, gpointer random_data,
				 gint64 lifetime_us);
void ike_cookie_jar_free(IkeCookieJar *jar);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IkeCookieJar, ike_cookie_jar_free)

/* The cookie for this initiator at @now into @out; FALSE when no secret can be made. */
gboolean ike_cookie_make(IkeCookieJar *jar, gint64 now, GBytes *ni, const VpndAddr *ipi,
			 guint64 spi_i, guint8 out[IKE_COOKIE_LEN]);
/* Whether @cookie is one we made, with the current or the previous secret. */
gboolean ike_cookie_check(IkeCookieJar *jar, gint64 now, GBytes *ni, const VpndAddr *ipi,
			  guint64 spi_i, const guint8 *cookie, gsize len);

G_END_DECLS
