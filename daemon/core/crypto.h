/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host side of crypto: picks, for each algorithm, the highest-priority
 * VPND_PROVIDER_CRYPTO provider whose supports() accepts it, and builds on the
 * providers' primitives what is the same for all of them — the RFC 4434/4615 rules for
 * AES-PRF keys of other lengths, prf+ (RFC 7296 §2.13) and the IKEv2 key derivation
 * (SKEYSEED, the IKE SA keys, child SA KEYMAT; RFC 7296 §2.14, §2.17, §2.18).
 *
 * crypto_*_new(host, …) chooses the provider; crypto_*_new_from(provider, …) uses the
 * given one (tests force a backend with it). Objects are freed with vpnd_*_free().
 */
#pragma once

#include <vpnd/crypto.h>
#include "core/host.h"

G_BEGIN_DECLS

/* The best provider for (type, id, key_bits). (nullable) (transfer none) */
const HostProvider *crypto_find(VpndHost *host, VpndAlgType type, guint id, guint key_bits);
/* A provider by the name it registered ("gnutls", "openssl"). (nullable) */
const HostProvider *crypto_find_by_name(VpndHost *host, const char *name);
/* The ops table of a crypto provider. */
const VpndCryptoOps *crypto_provider_ops(const HostProvider *provider);

VpndHasher *crypto_hasher_new(VpndHost *host, VpndHashId id, GError **error);
VpndHasher *crypto_hasher_new_from(const HostProvider *p, VpndHashId id, GError **error);

/*
 * Any key length: for AES128-XCBC a shorter key is zero-padded and a longer one reduced
 * with the PRF under a zero key (RFC 4434 §2); AES128-CMAC reduces every key of another
 * length than 16 bytes that way (RFC 4615 §3).
 */
VpndPrf *crypto_prf_new(VpndHost *host, VpndPrfId id, const guint8 *key, gsize key_len,
                        GError **error);
VpndPrf *crypto_prf_new_from(const HostProvider *p, VpndPrfId id, const guint8 *key, gsize key_len,
                             GError **error);

VpndIntegrity *crypto_integrity_new(VpndHost *host, VpndIntegId id, const guint8 *key,
                                    gsize key_len, GError **error);
VpndIntegrity *crypto_integrity_new_from(const HostProvider *p, VpndIntegId id, const guint8 *key,
                                         gsize key_len, GError **error);

/* @key: keymat as VpndCipher/VpndAead describe it (key || nonce/salt). */
VpndCipher *crypto_cipher_new(VpndHost *host, VpndEncrId id, const guint8 *key, gsize key_len,
                              GError **error);
VpndCipher *crypto_cipher_new_from(const HostProvider *p, VpndEncrId id, const guint8 *key,
                                   gsize key_len, GError **error);
VpndAead *crypto_aead_new(VpndHost *host, VpndEncrId id, const guint8 *key, gsize key_len,
                          GError **error);
VpndAead *crypto_aead_new_from(const HostProvider *p, VpndEncrId id, const guint8 *key,
                               gsize key_len, GError **error);
/*
 * What the loaded providers offer, for listings (swanctl --list-algs): for @klass, one
 * of crypto_algorithm_classes(), calls @func with each algorithm's name as strongSwan's
 * tools spell it ("AES_GCM_16", "HMAC_SHA2_256_128", "CURVE_25519") and the name of the
 * plugin that provides it, highest priority first.
 */
typedef void (*CryptoAlgFunc)(const char *name, const char *plugin, gpointer user_data);
/* "encryption", "integrity", "aead", "hasher", "prf", "xof", "kdf", "drbg", "dh", "rng",
 * "nonce-gen", NULL: the classes in the order listings show them. */
const char *const *crypto_algorithm_classes(void);
void crypto_list_algorithms(VpndHost *host, const char *klass, CryptoAlgFunc func,
			    gpointer user_data);
/* One algorithm's name as listings spell it ("AES_GCM_16"); NULL if vpnd has no name. */
const char *crypto_algorithm_name(VpndAlgType type, guint id);

/* TRUE for the AEAD transforms (GCM, CCM, ChaCha20-Poly1305). */
gboolean crypto_encr_is_aead(VpndEncrId id);
/* Salt/nonce bytes after the key in an AEAD's or AES-CTR's keymat; 0 for AES-CBC. */
gsize crypto_encr_salt_len(VpndEncrId id);

typedef enum {
	CRYPTO_KE_NONE = 0,
	/* MODP_1024 (group 2) is refused unless asked for; using it logs a warning. */
	CRYPTO_KE_ALLOW_MODP_1024 = 1 << 0,
} CryptoKeFlags;

VpndKe *crypto_ke_new(VpndHost *host, VpndKeId id, CryptoKeFlags flags, GError **error);
VpndKe *crypto_ke_new_from(const HostProvider *p, VpndKeId id, CryptoKeFlags flags, GError **error);
/* With the host's key exchange pool on: a pair of group @id is made ahead, so the
 * first crypto_ke_new() of that group finds it ready. Nothing for groups refused. */
void crypto_ke_prepare(VpndHost *host, VpndKeId id);

VpndPrivKey *crypto_privkey_load(VpndHost *host, const guint8 *data, gsize len, GError **error);
VpndPrivKey *crypto_privkey_load_from(const HostProvider *p, const guint8 *data, gsize len,
                                      GError **error);
VpndPrivKey *crypto_privkey_generate_from(const HostProvider *p, VpndKeyType type, guint bits,
                                          GError **error);
VpndPubKey *crypto_pubkey_load(VpndHost *host, const guint8 *data, gsize len, GError **error);
VpndPubKey *crypto_pubkey_load_from(const HostProvider *p, const guint8 *data, gsize len,
                                    GError **error);
VpndCert *crypto_cert_load_from(const HostProvider *p, const guint8 *data, gsize len,
                                GError **error);
/* @leaf, @intermediates and @anchors must all come from @p. */
gboolean crypto_cert_verify_from(const HostProvider *p, VpndCert *leaf,
                                 VpndCert *const *intermediates, guint n_intermediates,
                                 VpndCert *const *anchors, guint n_anchors, GError **error);

gboolean crypto_random(VpndHost *host, guint8 *buf, gsize len, gboolean key, GError **error);

/*
 * prf+ (RFC 7296 §2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), output the
 * first @len bytes of T1 | T2 | …; more than 255 blocks is an error. (transfer full)
 */
VpndSecret *crypto_prf_plus(VpndPrf *prf, const guint8 *seed, gsize seed_len, gsize len,
                            GError **error);

/* SKEYSEED = prf(Ni | Nr, g^ir); AES PRFs key with the first 8 bytes of each nonce. */
VpndSecret *crypto_ikev2_skeyseed(const HostProvider *p, VpndPrfId prf, const guint8 *ni,
                                  gsize ni_len, const guint8 *nr, gsize nr_len,
                                  const VpndSecret *gir, GError **error);
/* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) when an IKE SA is rekeyed. */
VpndSecret *crypto_ikev2_skeyseed_rekey(const HostProvider *p, VpndPrfId prf,
                                        const VpndSecret *sk_d_old, const VpndSecret *gir_new,
                                        const guint8 *ni, gsize ni_len, const guint8 *nr,
                                        gsize nr_len, GError **error);
/* SK_d | SK_ai | … | SK_pr = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), @len bytes. */
VpndSecret *crypto_ikev2_ike_keymat(const HostProvider *p, VpndPrfId prf,
                                    const VpndSecret *skeyseed, const guint8 *ni, gsize ni_len,
                                    const guint8 *nr, gsize nr_len, const guint8 spi_i[8],
                                    const guint8 spi_r[8], gsize len, GError **error);
/* KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); @gir (nullable) without PFS. */
VpndSecret *crypto_ikev2_child_keymat(const HostProvider *p, VpndPrfId prf, const VpndSecret *sk_d,
                                      const VpndSecret *gir, const guint8 *ni, gsize ni_len,
                                      const guint8 *nr, gsize nr_len, gsize len, GError **error);

G_END_DECLS
