/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* crypto-gnutls internals shared by its files. */
#pragma once

#include <vpnd/crypto.h>
#include <vpnd/plugin.h>

/* A GError from a GnuTLS return code. Returns FALSE. */
gboolean gt_fail(GError **error, gint code, int gnutls_rc, const char *what);

/* gnutls_ke.c: MODP via GMP, ECP, Curve25519 and Curve448 via nettle */
gboolean gt_ke_supports(VpndKeId id);
VpndKe *gt_ke_new(VpndKeId id, GError **error);

/* gnutls_pk.c: keys, signatures, certificates */
gboolean gt_supports_sign(VpndSignScheme scheme, guint key_bits);
VpndPrivKey *gt_privkey_load(const guint8 *data, gsize len, GError **error);
VpndPrivKey *gt_privkey_generate(VpndKeyType type, guint bits, GError **error);
VpndPubKey *gt_pubkey_load(const guint8 *data, gsize len, GError **error);
VpndCert *gt_cert_load(const guint8 *data, gsize len, GError **error);
gboolean gt_cert_verify(VpndCert *leaf, VpndCert *const *intermediates, guint n_intermediates,
                        VpndCert *const *anchors, guint n_anchors, GError **error);
