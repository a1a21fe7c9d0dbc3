/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Auth providers (VPND_PROVIDER_AUTH): build and verify the AUTH payload of IKE_AUTH for
 * one IKEv2 Authentication Method (RFC 7296 §3.8). The engine finds the provider by
 * method, hands it what the method signs (§2.15) and the negotiated PRF, and never sees
 * how the value is made. A plugin registers its table with
 *   vpnd_host_add_provider(host, VPND_PROVIDER_AUTH, "psk", &ops, priority, user_data);
 */
#pragma once

#include <glib.h>
#include <vpnd/crypto.h>
#include <vpnd/plugin.h>
#include <vpnd/types.h>

G_BEGIN_DECLS

/* RFC 7296 §3.8 Auth Method numbers this header knows of. */
typedef enum {
	VPND_AUTH_RSA_SIG = 1,
	VPND_AUTH_SHARED_KEY_MIC = 2,
	VPND_AUTH_DSS_SIG = 3,
	VPND_AUTH_DIGITAL_SIGNATURE = 14, /* RFC 7427 */
} VpndAuthMethod;

/*
 * What one side's AUTH covers (RFC 7296 §2.15), for the side whose AUTH is built or
 * verified: its IKE_SA_INIT message, the other side's nonce, its RestOfIDPayload and
 * its SK_p. Everything is borrowed for the call.
 */
typedef struct {
	guint32 struct_size; /* sizeof(VpndAuthParams) at the engine's build time */
	/* a new PRF object of the negotiated PRF under @key (AES PRF keys fitted as RFC
	 * 4434/4615 say); NULL with @error when it cannot be made */
	VpndPrf *(*prf_new)(gpointer prf_data, const guint8 *key, gsize key_len, GError **error);
	gpointer prf_data;
	const guint8 *sk_p; /* SK_pi or SK_pr */
	gsize sk_p_len;
	const guint8 *init_msg; /* RealMessage1 or RealMessage2 */
	gsize init_msg_len;
	const guint8 *nonce; /* NonceRData or NonceIData */
	gsize nonce_len;
	const guint8 *id_body; /* RestOfInitIDPayload or RestOfRespIDPayload */
	gsize id_body_len;
	const VpndSecret *secret; /* the shared key, for methods that use one (nullable) */
} VpndAuthParams;

typedef struct {
	VpndAuthMethod method;
	/* The AUTH payload's data. (transfer full) NULL with @error. */
	VpndSecret *(*build)(gpointer user_data, const VpndAuthParams *params, GError **error);
	/* Whether @auth is right; compared in constant time. FALSE with @error (the reason)
	 * when not. */
	gboolean (*verify)(gpointer user_data, const VpndAuthParams *params, const guint8 *auth,
			   gsize auth_len, GError **error);
} VpndAuthOps;

#define VPND_AUTH_ERROR (vpnd_auth_error_quark())
GQuark vpnd_auth_error_quark(void);
typedef enum {
	VPND_AUTH_ERROR_FAILED,   /* could not compute (no secret, PRF error) */
	VPND_AUTH_ERROR_MISMATCH, /* the peer's AUTH is wrong */
} VpndAuthError;

G_END_DECLS
