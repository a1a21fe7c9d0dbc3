/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The key material of one IKE SA (RFC 7296 §2.14): SK_d, SK_pi/pr and the SK payload
 * protection built from SK_ai/ar/ei/er, both AEAD (RFC 5282) and encrypt-then-MAC
 * (RFC 7296 §3.14); the PSK AUTH value (§2.15) and child SA KEYMAT (§2.17). Every key
 * lives in a VpndSecret or a crypto object that wipes it when freed.
 */
#pragma once

#include <glib.h>

#include <vpnd/auth.h>

#include "core/crypto.h"
#include "ike_msg.h"
#include "ike_proposal.h"

G_BEGIN_DECLS

/* Injected randomness: fills @buf; FALSE on failure. */
typedef gboolean (*IkeRandomFunc)(gpointer user_data, guint8 *buf, gsize len);

typedef struct _IkeKeymat IkeKeymat;

/*
 * Derives SKEYSEED and the IKE SA keys from the IKE_SA_INIT exchange; @initiator says
 * which keys protect what we send. (transfer full), NULL and @error on failure.
 */
IkeKeymat *ike_keymat_new(VpndHost *host, const IkeChosen *alg, gboolean initiator, GBytes *ni,
			  GBytes *nr, const VpndSecret *gir, guint64 spi_i, guint64 spi_r,
			  GError **error);
/*
 * The keys of an IKE SA made by rekeying the one of @old (RFC 7296 §2.18):
 * SKEYSEED = prf_old(SK_d (old), g^ir (new) | Ni | Nr), then as above with @alg's PRF.
 */
IkeKeymat *ike_keymat_new_rekey(const IkeKeymat *old, const IkeChosen *alg, gboolean initiator,
				GBytes *ni, GBytes *nr, const VpndSecret *gir, guint64 spi_i,
				guint64 spi_r, GError **error);
void ike_keymat_free(IkeKeymat *km);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IkeKeymat, ike_keymat_free)

/* Bytes of key material held (for the memory figure of the handshake bench). */
gsize ike_keymat_size(const IkeKeymat *km);

/* IKE_AUTH is over: SK_pi and SK_pr, which only AUTH uses, are wiped and freed. */
void ike_keymat_auth_done(IkeKeymat *km);

/*
 * Puts @msg's in_sk payloads into an SK payload (random IV from @random), builds the
 * datagram and protects it. (transfer full), NULL when it cannot be built.
 */
GBytes *ike_keymat_seal(IkeKeymat *km, IkeMsg *msg, IkeRandomFunc random, gpointer random_data);

typedef enum {
	IKE_OPEN_OK,
	IKE_OPEN_DROP,                 /* no SK, bad ICV, bad padding: drop silently */
	IKE_OPEN_INVALID_SYNTAX,       /* authentic, but the plaintext does not parse */
	IKE_OPEN_UNSUPPORTED_CRITICAL, /* authentic, with an unknown critical payload */
} IkeOpenResult;

/* Checks and decrypts @msg's SK payload and parses the plaintext into @msg. */
IkeOpenResult ike_keymat_open(IkeKeymat *km, IkeMsg *msg, guint8 *critical_type);

/*
 * The keymat's part of an auth provider's parameters (RFC 7296 §2.15): the negotiated
 * PRF and SK_pi (@of_initiator) or SK_pr. Valid while @km lives, until
 * ike_keymat_auth_done().
 */
void ike_keymat_auth_params(IkeKeymat *km, gboolean of_initiator, VpndAuthParams *params);

/* KEYMAT = prf+(SK_d, [@gir |] Ni | Nr), @len bytes (RFC 7296 §2.17). */
VpndSecret *ike_keymat_child(IkeKeymat *km, const VpndSecret *gir, GBytes *ni, GBytes *nr,
			     gsize len, GError **error);

/* The negotiated IKE transforms. (transfer none) */
const IkeChosen *ike_keymat_get_alg(const IkeKeymat *km);

G_END_DECLS
