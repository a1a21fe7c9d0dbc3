/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the crypto tests: load the real crypto plugins from the build's
 * plugin folder, read vector files, hex.
 */
#pragma once

#include "core/crypto.h"
#include "core/plugin_loader.h"

G_BEGIN_DECLS

/* The plugins every crypto test runs through: "gnutls", "openssl" (when built). */
extern const char *const crypto_test_backends[];
/*
 * Plugins that offer a few algorithms and rank above the others for those: "sodium"
 * (Curve25519, when built). Loaded with the rest; each test names what it runs
 * through them.
 */
extern const char *const crypto_test_partial_backends[];

/* Loads every crypto plugin (both lists) into one host for the whole test program. */
void crypto_test_init(void);
void crypto_test_shutdown(void);
VpndHost *crypto_test_host(void);
/* The provider a backend registered. (transfer none) */
const HostProvider *crypto_test_provider(const char *backend);

/* Hex with blanks allowed. (transfer full) */
GBytes *crypto_test_hex(const char *text);
char *crypto_test_to_hex(const guint8 *data, gsize len);
void crypto_test_assert_bytes(const guint8 *got, gsize got_len, GBytes *want);

/* One case of a vector file: field -> value (strings as written). */
typedef struct {
	char *file; /* base name without ".txt" */
	char *name;
	GHashTable *fields;
} VectorCase;

/* Parses tests/vectors/data/@file. (transfer full): VectorCase */
GPtrArray *vector_file_load(const char *file);
const char *vector_get(const VectorCase *c, const char *field);
/* The field as bytes; an absent field asserts. (transfer full) */
GBytes *vector_get_bytes(const VectorCase *c, const char *field);
gboolean vector_has(const VectorCase *c, const char *field);

/* Names ("PRF_HMAC_SHA2_256") to ids; asserts on an unknown name. */
VpndPrfId vector_prf_id(const char *name);
VpndIntegId vector_integ_id(const char *name);
VpndEncrId vector_encr_id(const char *name);
VpndKeId vector_ke_id(const char *name);

G_END_DECLS
