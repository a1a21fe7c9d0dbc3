/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* crypto-openssl internals shared by its files. */
#pragma once

#include <vpnd/crypto.h>
#include <vpnd/plugin.h>

/* A GError from a OpenSSL error (the queue is logged at debug and cleared). Returns FALSE. */
gboolean os_fail(GError **error, gint code, const char *what);

/* openssl_ke.c: MODP with BN, the curves with EVP_PKEY derive */
gboolean os_ke_supports(VpndKeId id);
VpndKe *os_ke_new(VpndKeId id, GError **error);

/* openssl_pk.c: keys, signatures, certificates */
gboolean os_supports_sign(VpndSignScheme scheme, guint key_bits);
VpndPrivKey *os_privkey_load(const guint8 *data, gsize len, GError **error);
VpndPrivKey *os_privkey_generate(VpndKeyType type, guint bits, GError **error);
VpndPubKey *os_pubkey_load(const guint8 *data, gsize len, GError **error);
VpndCert *os_cert_load(const guint8 *data, gsize len, GError **error);
gboolean os_cert_verify(VpndCert *leaf, VpndCert *const *intermediates, guint n_intermediates,
                        VpndCert *const *anchors, guint n_anchors, GError **error);
