/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ike_cookie.h"

#include <string.h>
#include <sys/socket.h>

#include "core/crypto.h"

#define SECRET_LEN 32

typedef struct {
	guint8 version;
	VpndSecret *key; /* NULL: none yet */
} CookieSecret;

struct _IkeCookieJar {
	VpndHost *host;
	IkeRandomFunc random;
	gpointer random_data;
	gint64 lifetime, born;
	CookieSecret cur, prev;
};

IkeCookieJar *
ike_cookie_jar_new(VpndHost *host, IkeRandomFunc random, gpointer random_data, gint64 lifetime_us)
{
	IkeCookieJar *jar = g_new0(IkeCookieJar, 1);

	jar->host = host;
	jar->random = random;
	jar->random_data = random_data;
	jar->lifetime = lifetime_us;
	return jar;
}

void
ike_cookie_jar_free(IkeCookieJar *jar)
{
	if (!jar)
		return;
	vpnd_secret_free(jar->cur.key);
	vpnd_secret_free(jar->prev.key);
	g_free(jar);
}

/* A new secret when there is none or the current one is older than the lifetime. */
static gboolean
rotate(IkeCookieJar *jar, gint64 now)
{
	VpndSecret *key;

	if (jar->cur.key && now - jar->born < jar->lifetime)
		return TRUE;
	key = vpnd_secret_new(SECRET_LEN);
	if (!jar->random(jar->random_data, key->data, key->len)) {
		vpnd_secret_free(key);
		return jar->cur.key != NULL;
	}
	/* one rotation missed entirely: the previous secret is too old to keep */
	vpnd_secret_free(jar->prev.key);
	jar->prev = (CookieSecret){ 0 };
	if (jar->cur.key && now - jar->born < 2 * jar->lifetime)
		jar->prev = jar->cur;
	else
		vpnd_secret_free(jar->cur.key);
	jar->cur.key = key;
	jar->cur.version++;
	jar->born = now;
	return TRUE;
}

static gboolean
compute(IkeCookieJar *jar, const CookieSecret *s, GBytes *ni, const VpndAddr *ipi, guint64 spi_i,
	guint8 out[IKE_COOKIE_LEN])
{
	g_autoptr(VpndPrf) prf = crypto_prf_new(jar->host, VPND_PRF_HMAC_SHA2_256, s->key->data,
						s->key->len, NULL);
	guint8 spi_be[8];
	gsize ni_len;
	const guint8 *ni_p = g_bytes_get_data(ni, &ni_len);

	if (!prf || prf->out_len != IKE_COOKIE_LEN - 1)
		return FALSE;
	for (int i = 0; i < 8; i++)
		spi_be[i] = (guint8)(spi_i >> (56 - 8 * i));
	vpnd_prf_update(prf, ni_p, ni_len);
	vpnd_prf_update(prf, ipi->addr, ipi->family == AF_INET ? 4 : 16);
	vpnd_prf_update(prf, spi_be, sizeof(spi_be));
	out[0] = s->version;
	vpnd_prf_finish(prf, out + 1);
	return TRUE;
}

gboolean
ike_cookie_make(IkeCookieJar *jar, gint64 now, GBytes *ni, const VpndAddr *ipi, guint64 spi_i,
		guint8 out[IKE_COOKIE_LEN])
{
	return rotate(jar, now) && compute(jar, &jar->cur, ni, ipi, spi_i, out);
}

gboolean
ike_cookie_check(IkeCookieJar *jar, gint64 now, GBytes *ni, const VpndAddr *ipi, guint64 spi_i,
		 const guint8 *cookie, gsize len)
{
	guint8 want[IKE_COOKIE_LEN];
	const CookieSecret *s;
	gboolean ok;

	if (len != IKE_COOKIE_LEN || !rotate(jar, now))
		return FALSE;
	if (cookie[0] == jar->cur.version)
		s = &jar->cur;
	else if (jar->prev.key && cookie[0] == jar->prev.version)
		s = &jar->prev;
	else
		return FALSE;
	ok = compute(jar, s, ni, ipi, spi_i, want) && vpnd_memeq_const(want, cookie, len);
	explicit_bzero(want, sizeof(want));
	return ok;
}
