/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crypto provider ABI, shared by the daemon and the crypto plugins.
 *
 * Algorithms are named by their IANA IKEv2 numbers (RFC 7296 §3.3.2, the "IKEv2
 * Parameters" registry), so proposal matching and the codec never translate names.
 * A plugin registers one const VpndCryptoOps as VPND_PROVIDER_CRYPTO; the host
 * (daemon/core/crypto.h) picks, per algorithm, the highest-priority provider whose
 * supports() says yes.
 *
 * Every primitive is an object created once per key and reused: a struct whose first
 * member points to a const ops table, followed by public, read-only facts about it
 * (lengths). Callers use the static inline vpnd_*() wrappers below and never need to
 * know which backend made the object. Objects wipe their key material when freed.
 *
 * Error conventions: constructors and other calls a person reads the outcome of take a
 * GError (domain VPND_CRYPTO_ERROR) and return NULL/FALSE exactly when they set it.
 * Per-packet calls (MAC, cipher, AEAD) return gboolean and never allocate an error:
 * a wrong ICV is ordinary traffic.
 *
 * Objects are not thread-safe; one thread uses an object at a time (an ESP SA keeps
 * one VpndAead per direction).
 */
#pragma once

#include <glib.h>
#include <vpnd/types.h>

G_BEGIN_DECLS

/* ---- Error domain -------------------------------------------------------------- */

/* A quark by name, so a plugin and the daemon agree on it without linking. */
#define VPND_CRYPTO_ERROR (g_quark_from_static_string("vpnd-crypto-error-quark"))

typedef enum {
	VPND_CRYPTO_ERROR_UNSUPPORTED,    /* algorithm, key size or key type not offered */
	VPND_CRYPTO_ERROR_KEY_LENGTH,     /* key material of the wrong length */
	VPND_CRYPTO_ERROR_INVALID_PUBLIC, /* a peer's KE value failed validation */
	VPND_CRYPTO_ERROR_PARSE,          /* a key or certificate that cannot be read */
	VPND_CRYPTO_ERROR_VERIFY,         /* a signature or certificate chain is not valid */
	VPND_CRYPTO_ERROR_FAILED,         /* the library failed (out of memory, RNG …) */
} VpndCryptoError;

/* ---- Algorithm identifiers: IANA IKEv2 numbers ----------------------------------- */

/* What supports() is asked about. 1–4 are the IKEv2 transform types. */
typedef enum {
	VPND_ALG_ENCR = 1,  /* VpndEncrId: a cipher or an AEAD */
	VPND_ALG_PRF = 2,   /* VpndPrfId */
	VPND_ALG_INTEG = 3, /* VpndIntegId */
	VPND_ALG_KE = 4,    /* VpndKeId */
	/* not transform types: */
	VPND_ALG_HASH = 256, /* VpndHashId (RFC 7427 hash algorithm numbers) */
	VPND_ALG_SIGN = 257, /* VpndSignScheme */
	VPND_ALG_X509 = 258, /* certificates; id 0 */
} VpndAlgType;

/* Transform Type 1 (subset). */
typedef enum {
	VPND_ENCR_AES_CBC = 12,
	VPND_ENCR_AES_CTR = 13,   /* RFC 5930/3686: key || 4-byte nonce, 8-byte IV */
	VPND_ENCR_AES_CCM_8 = 14, /* RFC 4309/5282: key || 3-byte salt, 8-byte IV */
	VPND_ENCR_AES_CCM_12 = 15,
	VPND_ENCR_AES_CCM_16 = 16,
	VPND_ENCR_AES_GCM_8 = 18, /* RFC 4106/5282: key || 4-byte salt, 8-byte IV */
	VPND_ENCR_AES_GCM_12 = 19,
	VPND_ENCR_AES_GCM_16 = 20,
	VPND_ENCR_CHACHA20_POLY1305 = 28, /* RFC 7634: 32-byte key || 4-byte salt, 8-byte IV */
} VpndEncrId;

/* Transform Type 2 (subset). */
typedef enum {
	VPND_PRF_HMAC_SHA1 = 2,
	VPND_PRF_AES128_XCBC = 4, /* RFC 4434 */
	VPND_PRF_HMAC_SHA2_256 = 5,
	VPND_PRF_HMAC_SHA2_384 = 6,
	VPND_PRF_HMAC_SHA2_512 = 7,
	VPND_PRF_AES128_CMAC = 8, /* RFC 4615 */
} VpndPrfId;

/* Transform Type 3 (subset). */
typedef enum {
	VPND_INTEG_HMAC_SHA1_96 = 2,
	VPND_INTEG_AES_XCBC_96 = 5, /* RFC 3566 */
	VPND_INTEG_AES_CMAC_96 = 8, /* RFC 4494 */
	VPND_INTEG_HMAC_SHA2_256_128 = 12,
	VPND_INTEG_HMAC_SHA2_384_192 = 13,
	VPND_INTEG_HMAC_SHA2_512_256 = 14,
} VpndIntegId;

/* Transform Type 4 (subset). */
typedef enum {
	VPND_KE_MODP_1024 = 2,  /* RFC 2409; only when enabled for legacy peers */
	VPND_KE_MODP_2048 = 14, /* RFC 3526 */
	VPND_KE_MODP_3072 = 15,
	VPND_KE_MODP_4096 = 16,
	VPND_KE_MODP_6144 = 17,
	VPND_KE_MODP_8192 = 18,
	VPND_KE_ECP_256 = 19, /* RFC 5903 */
	VPND_KE_ECP_384 = 20,
	VPND_KE_ECP_521 = 21,
	VPND_KE_CURVE25519 = 31, /* RFC 8031 */
	VPND_KE_CURVE448 = 32,
} VpndKeId;

/* IKEv2 Hash Algorithms registry (RFC 7427 §7). */
typedef enum {
	VPND_HASH_SHA1 = 1,
	VPND_HASH_SHA2_256 = 2,
	VPND_HASH_SHA2_384 = 3,
	VPND_HASH_SHA2_512 = 4,
	VPND_HASH_IDENTITY = 5, /* RFC 8420: EdDSA signs the message itself */
} VpndHashId;

/*
 * Signature schemes. Not an IANA registry (RFC 7427 names them by ASN.1
 * AlgorithmIdentifier); the hash comes separately, see VpndSignParams.
 */
typedef enum {
	VPND_SIGN_RSA_PKCS1 = 1, /* RSASSA-PKCS1-v1_5 */
	VPND_SIGN_RSA_PSS = 2,   /* RSASSA-PSS, MGF1 with the same hash, salt = hash length */
	VPND_SIGN_ECDSA = 3,     /* signature DER-encoded Ecdsa-Sig-Value (RFC 7427 §3) */
	VPND_SIGN_ED25519 = 4,   /* RFC 8032 pure Ed25519, hash VPND_HASH_IDENTITY */
	VPND_SIGN_ED448 = 5,     /* RFC 8032 pure Ed448, hash VPND_HASH_IDENTITY */
} VpndSignScheme;

/* Key types of VpndPrivKey/VpndPubKey. */
typedef enum {
	VPND_KEY_RSA = 1,
	VPND_KEY_ECDSA = 2, /* bits: 256, 384 or 521 (the curve) */
	VPND_KEY_ED25519 = 3,
	VPND_KEY_ED448 = 4,
} VpndKeyType;

/* Names for logs: "AES_GCM_16", "HMAC_SHA2_256", "ECP_256" …; never NULL. */
static inline const char *
vpnd_encr_to_string(VpndEncrId id)
{
	switch (id) {
	case VPND_ENCR_AES_CBC:
		return "AES_CBC";
	case VPND_ENCR_AES_CTR:
		return "AES_CTR";
	case VPND_ENCR_AES_CCM_8:
		return "AES_CCM_8";
	case VPND_ENCR_AES_CCM_12:
		return "AES_CCM_12";
	case VPND_ENCR_AES_CCM_16:
		return "AES_CCM_16";
	case VPND_ENCR_AES_GCM_8:
		return "AES_GCM_8";
	case VPND_ENCR_AES_GCM_12:
		return "AES_GCM_12";
	case VPND_ENCR_AES_GCM_16:
		return "AES_GCM_16";
	case VPND_ENCR_CHACHA20_POLY1305:
		return "CHACHA20_POLY1305";
	}
	return "ENCR_UNKNOWN";
}

static inline const char *
vpnd_prf_to_string(VpndPrfId id)
{
	switch (id) {
	case VPND_PRF_HMAC_SHA1:
		return "PRF_HMAC_SHA1";
	case VPND_PRF_AES128_XCBC:
		return "PRF_AES128_XCBC";
	case VPND_PRF_HMAC_SHA2_256:
		return "PRF_HMAC_SHA2_256";
	case VPND_PRF_HMAC_SHA2_384:
		return "PRF_HMAC_SHA2_384";
	case VPND_PRF_HMAC_SHA2_512:
		return "PRF_HMAC_SHA2_512";
	case VPND_PRF_AES128_CMAC:
		return "PRF_AES128_CMAC";
	}
	return "PRF_UNKNOWN";
}

static inline const char *
vpnd_integ_to_string(VpndIntegId id)
{
	switch (id) {
	case VPND_INTEG_HMAC_SHA1_96:
		return "AUTH_HMAC_SHA1_96";
	case VPND_INTEG_AES_XCBC_96:
		return "AUTH_AES_XCBC_96";
	case VPND_INTEG_AES_CMAC_96:
		return "AUTH_AES_CMAC_96";
	case VPND_INTEG_HMAC_SHA2_256_128:
		return "AUTH_HMAC_SHA2_256_128";
	case VPND_INTEG_HMAC_SHA2_384_192:
		return "AUTH_HMAC_SHA2_384_192";
	case VPND_INTEG_HMAC_SHA2_512_256:
		return "AUTH_HMAC_SHA2_512_256";
	}
	return "AUTH_UNKNOWN";
}

static inline const char *
vpnd_ke_to_string(VpndKeId id)
{
	switch (id) {
	case VPND_KE_MODP_1024:
		return "MODP_1024";
	case VPND_KE_MODP_2048:
		return "MODP_2048";
	case VPND_KE_MODP_3072:
		return "MODP_3072";
	case VPND_KE_MODP_4096:
		return "MODP_4096";
	case VPND_KE_MODP_6144:
		return "MODP_6144";
	case VPND_KE_MODP_8192:
		return "MODP_8192";
	case VPND_KE_ECP_256:
		return "ECP_256";
	case VPND_KE_ECP_384:
		return "ECP_384";
	case VPND_KE_ECP_521:
		return "ECP_521";
	case VPND_KE_CURVE25519:
		return "CURVE_25519";
	case VPND_KE_CURVE448:
		return "CURVE_448";
	}
	return "KE_UNKNOWN";
}

static inline const char *
vpnd_hash_to_string(VpndHashId id)
{
	switch (id) {
	case VPND_HASH_SHA1:
		return "SHA1";
	case VPND_HASH_SHA2_256:
		return "SHA2_256";
	case VPND_HASH_SHA2_384:
		return "SHA2_384";
	case VPND_HASH_SHA2_512:
		return "SHA2_512";
	case VPND_HASH_IDENTITY:
		return "IDENTITY";
	}
	return "HASH_UNKNOWN";
}

static inline const char *
vpnd_sign_scheme_to_string(VpndSignScheme scheme)
{
	switch (scheme) {
	case VPND_SIGN_RSA_PKCS1:
		return "RSA_PKCS1";
	case VPND_SIGN_RSA_PSS:
		return "RSA_PSS";
	case VPND_SIGN_ECDSA:
		return "ECDSA";
	case VPND_SIGN_ED25519:
		return "ED25519";
	case VPND_SIGN_ED448:
		return "ED448";
	}
	return "SIGN_UNKNOWN";
}

static inline const char *
vpnd_key_type_to_string(VpndKeyType type)
{
	switch (type) {
	case VPND_KEY_RSA:
		return "RSA";
	case VPND_KEY_ECDSA:
		return "ECDSA";
	case VPND_KEY_ED25519:
		return "ED25519";
	case VPND_KEY_ED448:
		return "ED448";
	}
	return "KEY_UNKNOWN";
}

static inline const char *
vpnd_alg_type_to_string(VpndAlgType type)
{
	switch (type) {
	case VPND_ALG_ENCR:
		return "ENCR";
	case VPND_ALG_PRF:
		return "PRF";
	case VPND_ALG_INTEG:
		return "INTEG";
	case VPND_ALG_KE:
		return "KE";
	case VPND_ALG_HASH:
		return "HASH";
	case VPND_ALG_SIGN:
		return "SIGN";
	case VPND_ALG_X509:
		return "X509";
	}
	return "ALG_UNKNOWN";
}

/* TRUE for the combined-mode (AEAD) ciphers: GCM, CCM, ChaCha20-Poly1305. */
static inline gboolean
vpnd_encr_is_aead(guint id)
{
	switch (id) {
	case VPND_ENCR_AES_CCM_8:
	case VPND_ENCR_AES_CCM_12:
	case VPND_ENCR_AES_CCM_16:
	case VPND_ENCR_AES_GCM_8:
	case VPND_ENCR_AES_GCM_12:
	case VPND_ENCR_AES_GCM_16:
	case VPND_ENCR_CHACHA20_POLY1305:
		return TRUE;
	default:
		return FALSE;
	}
}

/* Hash output length in bytes, 0 for an unknown hash or IDENTITY. */
static inline gsize
vpnd_hash_len(VpndHashId id)
{
	switch (id) {
	case VPND_HASH_SHA1:
		return 20;
	case VPND_HASH_SHA2_256:
		return 32;
	case VPND_HASH_SHA2_384:
		return 48;
	case VPND_HASH_SHA2_512:
		return 64;
	case VPND_HASH_IDENTITY:
		break;
	}
	return 0;
}

/* ---- Limits ---------------------------------------------------------------------- */

#define VPND_HASH_MAX_LEN 64 /* SHA-512 */
#define VPND_PRF_MAX_LEN 64  /* HMAC-SHA2-512 */
#define VPND_ICV_MAX_LEN 32  /* HMAC-SHA2-512-256 */
#define VPND_AEAD_IV_LEN 8   /* every AEAD here: the explicit per-packet IV */
#define VPND_AEAD_MAX_SALT_LEN 4
#define VPND_KE_MAX_PUBLIC_LEN 1024  /* MODP 8192 */
#define VPND_PRF_PLUS_MAX_BLOCKS 255 /* RFC 7296 §2.13: the counter is one octet */

/* ---- Hash --------------------------------------------------------------------------- */

typedef struct VpndHasher VpndHasher;
typedef struct {
	void (*update)(VpndHasher *h, const guint8 *data, gsize len);
	/* Writes hash_len bytes and resets to the empty state. */
	void (*finish)(VpndHasher *h, guint8 *out);
	void (*free)(VpndHasher *h);
} VpndHasherOps;

struct VpndHasher {
	const VpndHasherOps *ops;
	VpndHashId id;
	gsize hash_len;
};

/* ---- PRF ---------------------------------------------------------------------------- */

/*
 * A keyed PRF. Constructors get the final PRF key: for the AES-based PRFs exactly 16
 * bytes (the host applies the RFC 4434/4615 rule for other key lengths before).
 */
typedef struct VpndPrf VpndPrf;
typedef struct {
	void (*update)(VpndPrf *prf, const guint8 *data, gsize len);
	/* Writes out_len bytes and starts over with the same key. */
	void (*finish)(VpndPrf *prf, guint8 *out);
	void (*free)(VpndPrf *prf);
} VpndPrfOps;

struct VpndPrf {
	const VpndPrfOps *ops;
	VpndPrfId id;
	gsize out_len; /* bytes per output block */
	gsize key_len; /* the preferred key length (RFC 7296 §2.14) */
};

/* ---- Integrity (MAC with truncation) -------------------------------------------- */

typedef struct VpndIntegrity VpndIntegrity;
typedef struct {
	/* Writes icv_len bytes of MAC(data). */
	void (*compute)(VpndIntegrity *integ, const guint8 *data, gsize len, guint8 *icv);
	void (*free)(VpndIntegrity *integ);
} VpndIntegrityOps;

struct VpndIntegrity {
	const VpndIntegrityOps *ops;
	VpndIntegId id;
	gsize key_len; /* bytes the constructor requires */
	gsize icv_len;
};

/* ---- Cipher: AES-CBC, AES-CTR ------------------------------------------------------- */

/*
 * Key material: AES-CBC the AES key (16/24/32); AES-CTR the AES key followed by the
 * 4-byte nonce (RFC 3686 §5.1). Calls work in place on whole buffers; CBC needs a
 * multiple of block_size, CTR any length.
 */
typedef struct VpndCipher VpndCipher;
typedef struct {
	gboolean (*encrypt)(VpndCipher *c, const guint8 *iv, guint8 *buf, gsize len);
	gboolean (*decrypt)(VpndCipher *c, const guint8 *iv, guint8 *buf, gsize len);
	void (*free)(VpndCipher *c);
} VpndCipherOps;

struct VpndCipher {
	const VpndCipherOps *ops;
	VpndEncrId id;
	gsize key_len;    /* AES key bytes, without the CTR nonce */
	gsize block_size; /* 16 for CBC, 1 for CTR (padding granularity) */
	gsize iv_len;     /* 16 for CBC, 8 for CTR */
};

/* ---- AEAD: AES-GCM, AES-CCM, ChaCha20-Poly1305 -------------------------------------- */

/*
 * Key material is the cipher key followed by the salt (IKEv2/ESP keymat layout). The
 * nonce is salt || iv (iv: VPND_AEAD_IV_LEN bytes from the packet). encrypt() works in
 * place on buf and writes icv_len bytes to icv (which may be buf + len). decrypt()
 * checks the ICV in constant time and returns FALSE, leaving buf undefined, when it
 * does not match.
 */
typedef struct VpndAead VpndAead;
typedef struct {
	gboolean (*encrypt)(VpndAead *a, const guint8 *iv, const guint8 *aad, gsize aad_len,
	                    guint8 *buf, gsize len, guint8 *icv);
	gboolean (*decrypt)(VpndAead *a, const guint8 *iv, const guint8 *aad, gsize aad_len,
	                    guint8 *buf, gsize len, const guint8 *icv);
	void (*free)(VpndAead *a);
} VpndAeadOps;

struct VpndAead {
	const VpndAeadOps *ops;
	VpndEncrId id;
	gsize key_len;  /* cipher key bytes */
	gsize salt_len; /* 4, or 3 for CCM */
	gsize iv_len;   /* VPND_AEAD_IV_LEN */
	gsize icv_len;
};

/* ---- Key exchange --------------------------------------------------------------- */

/*
 * One ephemeral key pair. The public value is in IKE KE payload encoding: MODP
 * big-endian padded to the prime's length; ECP x || y each padded to the field size
 * (RFC 5903 §7); Curve25519/448 the little-endian u-coordinate (RFC 7748, RFC 8031).
 * The shared secret: MODP g^ir padded to the prime's length; ECP the x-coordinate;
 * X25519/X448 the 32/56-byte output.
 *
 * compute() validates the peer value: exact length; MODP 1 < y < p-1; ECP a point on
 * the curve; X25519/X448 an all-zero result (small-order point) is refused.
 */
typedef struct VpndKe VpndKe;
typedef struct {
	/* (transfer none) valid while the object lives; public_len bytes */
	const guint8 *(*get_public)(VpndKe *ke);
	/* (transfer full) */
	VpndSecret *(*compute)(VpndKe *ke, const guint8 *peer, gsize peer_len, GError **error);
	/*
	 * Replaces the generated private key by a known one (known-answer tests only):
	 * MODP/ECP a big-endian exponent/scalar, X25519/X448 the RFC 7748 scalar bytes.
	 * (nullable) in an ops table: not every backend offers it.
	 */
	gboolean (*set_private)(VpndKe *ke, const guint8 *priv, gsize len, GError **error);
	void (*free)(VpndKe *ke);
} VpndKeOps;

struct VpndKe {
	const VpndKeOps *ops;
	VpndKeId id;
	gsize public_len;
	gsize secret_len;
};

/* ---- Signatures ----------------------------------------------------------------- */

typedef struct {
	VpndSignScheme scheme;
	VpndHashId hash; /* VPND_HASH_IDENTITY for EdDSA */
} VpndSignParams;

typedef struct VpndPubKey VpndPubKey;
typedef struct VpndPrivKey VpndPrivKey;

typedef struct {
	/* The signature over data (hashing included). (transfer full) */
	GBytes *(*sign)(VpndPrivKey *key, const VpndSignParams *params, const guint8 *data,
	                gsize len, GError **error);
	/* The public half as DER SubjectPublicKeyInfo. (transfer full) */
	GBytes *(*get_public_der)(VpndPrivKey *key, GError **error);
	void (*free)(VpndPrivKey *key);
} VpndPrivKeyOps;

struct VpndPrivKey {
	const VpndPrivKeyOps *ops;
	VpndKeyType type;
	guint bits;
};

typedef struct {
	/* FALSE with VPND_CRYPTO_ERROR_VERIFY when the signature does not match. */
	gboolean (*verify)(VpndPubKey *key, const VpndSignParams *params, const guint8 *data,
	                   gsize len, const guint8 *sig, gsize sig_len, GError **error);
	/* DER SubjectPublicKeyInfo. (transfer full) */
	GBytes *(*get_der)(VpndPubKey *key, GError **error);
	void (*free)(VpndPubKey *key);
} VpndPubKeyOps;

struct VpndPubKey {
	const VpndPubKeyOps *ops;
	VpndKeyType type;
	guint bits;
};

/* ---- X.509 ----------------------------------------------------------------------- */

typedef struct VpndCert VpndCert;
typedef struct {
	/* RFC 4514 strings. (transfer full) */
	char *(*get_subject)(VpndCert *cert);
	char *(*get_issuer)(VpndCert *cert);
	/* (transfer full) */
	GBytes *(*get_der)(VpndCert *cert);
	VpndPubKey *(*get_public_key)(VpndCert *cert, GError **error);
	/* Validity as Unix times. */
	void (*get_validity)(VpndCert *cert, gint64 *not_before, gint64 *not_after);
	void (*free)(VpndCert *cert);
} VpndCertOps;

struct VpndCert {
	const VpndCertOps *ops;
};

/* ---- The provider --------------------------------------------------------------- */

/*
 * Registered as VPND_PROVIDER_CRYPTO. Constructors of algorithms that supports()
 * refuses fail with VPND_CRYPTO_ERROR_UNSUPPORTED. Every member is required, except
 * where marked (nullable): the host checks those.
 */
typedef struct {
	/*
	 * @type: a VpndAlgType; @id: the enum of that type; @key_bits: the AES key size
	 * for VPND_ALG_ENCR (0: any), the key size for VPND_ALG_SIGN (RSA modulus bits, EC
	 * curve bits; 0: any), ignored otherwise.
	 */
	gboolean (*supports)(VpndAlgType type, guint id, guint key_bits);

	VpndHasher *(*hasher_new)(VpndHashId id, GError **error);
	VpndPrf *(*prf_new)(VpndPrfId id, const guint8 *key, gsize key_len, GError **error);
	VpndIntegrity *(*integrity_new)(VpndIntegId id, const guint8 *key, gsize key_len,
	                                GError **error);
	VpndCipher *(*cipher_new)(VpndEncrId id, const guint8 *key, gsize key_len, GError **error);
	VpndAead *(*aead_new)(VpndEncrId id, const guint8 *key, gsize key_len, GError **error);
	/* A fresh key pair from the provider's RNG. */
	VpndKe *(*ke_new)(VpndKeId id, GError **error);

	/* PEM or DER; PKCS#8 or the key type's own format. */
	VpndPrivKey *(*privkey_load)(const guint8 *data, gsize len, GError **error);
	/* @bits: RSA modulus bits, EC curve bits, ignored for EdDSA. */
	VpndPrivKey *(*privkey_generate)(VpndKeyType type, guint bits, GError **error);
	/* SubjectPublicKeyInfo, PEM or DER. */
	VpndPubKey *(*pubkey_load)(const guint8 *data, gsize len, GError **error);

	/* One certificate, PEM or DER. */
	VpndCert *(*cert_load)(const guint8 *data, gsize len, GError **error);
	/*
	 * Verifies @leaf up to one of @anchors through @intermediates, at the current
	 * time. All certificates must come from this provider.
	 */
	gboolean (*cert_verify)(VpndCert *leaf, VpndCert *const *intermediates,
	                        guint n_intermediates, VpndCert *const *anchors, guint n_anchors,
	                        GError **error);

	/*
	 * @key: for key material (slower, stronger), else nonces, SPIs, IVs. Every
	 * provider must have a cryptographic generator here, whatever else it offers: the
	 * host takes random bytes from its highest-priority provider.
	 */
	gboolean (*random)(guint8 *buf, gsize len, gboolean key, GError **error);
} VpndCryptoOps;

/* ---- Calls on objects ------------------------------------------------------------- */

static inline void
vpnd_hasher_update(VpndHasher *h, const guint8 *data, gsize len)
{
	h->ops->update(h, data, len);
}

static inline void
vpnd_hasher_finish(VpndHasher *h, guint8 *out)
{
	h->ops->finish(h, out);
}

static inline void
vpnd_hasher_free(VpndHasher *h)
{
	if (h)
		h->ops->free(h);
}

static inline void
vpnd_prf_update(VpndPrf *prf, const guint8 *data, gsize len)
{
	prf->ops->update(prf, data, len);
}

static inline void
vpnd_prf_finish(VpndPrf *prf, guint8 *out)
{
	prf->ops->finish(prf, out);
}

static inline void
vpnd_prf_free(VpndPrf *prf)
{
	if (prf)
		prf->ops->free(prf);
}

static inline void
vpnd_integrity_compute(VpndIntegrity *integ, const guint8 *data, gsize len, guint8 *icv)
{
	integ->ops->compute(integ, data, len, icv);
}

/* Compares in constant time; FALSE when @icv_len is not the object's ICV length. */
static inline gboolean
vpnd_integrity_verify(VpndIntegrity *integ, const guint8 *data, gsize len, const guint8 *icv,
                      gsize icv_len)
{
	guint8 mine[VPND_ICV_MAX_LEN];
	gboolean ok;

	if (icv_len != integ->icv_len)
		return FALSE;
	integ->ops->compute(integ, data, len, mine);
	ok = vpnd_memeq_const(mine, icv, icv_len);
	explicit_bzero(mine, sizeof(mine));
	return ok;
}

static inline void
vpnd_integrity_free(VpndIntegrity *integ)
{
	if (integ)
		integ->ops->free(integ);
}

static inline gboolean
vpnd_cipher_encrypt(VpndCipher *c, const guint8 *iv, guint8 *buf, gsize len)
{
	return c->ops->encrypt(c, iv, buf, len);
}

static inline gboolean
vpnd_cipher_decrypt(VpndCipher *c, const guint8 *iv, guint8 *buf, gsize len)
{
	return c->ops->decrypt(c, iv, buf, len);
}

static inline void
vpnd_cipher_free(VpndCipher *c)
{
	if (c)
		c->ops->free(c);
}

static inline gboolean
vpnd_aead_encrypt(VpndAead *a, const guint8 *iv, const guint8 *aad, gsize aad_len, guint8 *buf,
                  gsize len, guint8 *icv)
{
	return a->ops->encrypt(a, iv, aad, aad_len, buf, len, icv);
}

static inline gboolean
vpnd_aead_decrypt(VpndAead *a, const guint8 *iv, const guint8 *aad, gsize aad_len, guint8 *buf,
                  gsize len, const guint8 *icv)
{
	return a->ops->decrypt(a, iv, aad, aad_len, buf, len, icv);
}

static inline void
vpnd_aead_free(VpndAead *a)
{
	if (a)
		a->ops->free(a);
}

static inline const guint8 *
vpnd_ke_get_public(VpndKe *ke)
{
	return ke->ops->get_public(ke);
}

static inline VpndSecret *
vpnd_ke_compute(VpndKe *ke, const guint8 *peer, gsize peer_len, GError **error)
{
	return ke->ops->compute(ke, peer, peer_len, error);
}

static inline void
vpnd_ke_free(VpndKe *ke)
{
	if (ke)
		ke->ops->free(ke);
}

static inline GBytes *
vpnd_privkey_sign(VpndPrivKey *key, const VpndSignParams *params, const guint8 *data, gsize len,
                  GError **error)
{
	return key->ops->sign(key, params, data, len, error);
}

static inline void
vpnd_privkey_free(VpndPrivKey *key)
{
	if (key)
		key->ops->free(key);
}

static inline gboolean
vpnd_pubkey_verify(VpndPubKey *key, const VpndSignParams *params, const guint8 *data, gsize len,
                   const guint8 *sig, gsize sig_len, GError **error)
{
	return key->ops->verify(key, params, data, len, sig, sig_len, error);
}

static inline void
vpnd_pubkey_free(VpndPubKey *key)
{
	if (key)
		key->ops->free(key);
}

static inline void
vpnd_cert_free(VpndCert *cert)
{
	if (cert)
		cert->ops->free(cert);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndHasher, vpnd_hasher_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndPrf, vpnd_prf_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndIntegrity, vpnd_integrity_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndCipher, vpnd_cipher_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndAead, vpnd_aead_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndKe, vpnd_ke_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndPrivKey, vpnd_privkey_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndPubKey, vpnd_pubkey_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpndCert, vpnd_cert_free)

G_END_DECLS
