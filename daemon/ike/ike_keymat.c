/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ike_keymat.h"

#include <string.h>


struct _IkeKeymat {
	VpndHost *host;
	const HostProvider *provider; /* of the PRF, for the key derivations */
	const HostProvider *encr_provider, *integ_provider; /* integ: NULL with an AEAD */
	IkeChosen alg;
	gboolean initiator;
	VpndSecret *sk_d, *sk_pi, *sk_pr; /* sk_pi/pr: NULL once IKE_AUTH is over */
	/*
	 * SK_e and SK_a of what we send, then of what the peer sends. The cipher objects
	 * are made for each message, not kept: each holds about 1 KB (key schedule, GHASH
	 * tables), a gateway has thousands of IKE SAs, and an IKE SA protects a message or
	 * two a minute once up (the handshake makes one per direction either way).
	 */
	VpndSecret *sk_prot;
	gsize e_len, a_len; /* a_len: 0 with an AEAD */
};

/* What protects one message in one direction, made from the keymat's bytes. */
typedef struct {
	VpndAead *aead;
	VpndCipher *cipher;
	VpndIntegrity *integ;
	gsize iv_len, icv_len, block;
} Protection;

static gsize
prf_key_len(guint16 prf)
{
	switch ((VpndPrfId)prf) {
	case VPND_PRF_HMAC_SHA1:
		return 20;
	case VPND_PRF_AES128_XCBC:
	case VPND_PRF_AES128_CMAC:
		return 16;
	case VPND_PRF_HMAC_SHA2_256:
		return 32;
	case VPND_PRF_HMAC_SHA2_384:
		return 48;
	case VPND_PRF_HMAC_SHA2_512:
		return 64;
	}
	return 0;
}

static gboolean
protection_new(IkeKeymat *km, gboolean out, Protection *p)
{
	const guint8 *ke = km->sk_prot->data + (out ? 0 : km->e_len + km->a_len);
	const guint8 *ka = ke + km->e_len;
	g_autoptr(GError) error = NULL;

	*p = (Protection){ 0 };
	if (!km->integ_provider) {
		p->aead = crypto_aead_new_from(km->encr_provider, km->alg.encr, ke, km->e_len,
					       &error);
		if (p->aead) {
			p->iv_len = p->aead->iv_len;
			p->icv_len = p->aead->icv_len;
			p->block = 1;
			return TRUE;
		}
	} else {
		p->cipher = crypto_cipher_new_from(km->encr_provider, km->alg.encr, ke, km->e_len,
						   &error);
		p->integ = p->cipher ? crypto_integrity_new_from(km->integ_provider, km->alg.integ,
								 ka, km->a_len, &error)
				     : NULL;
		if (p->integ) {
			p->iv_len = p->cipher->iv_len;
			p->icv_len = p->integ->icv_len;
			p->block = p->cipher->block_size;
			return TRUE;
		}
		g_clear_pointer(&p->cipher, vpnd_cipher_free);
	}
	g_warning("IKE SK payload protection: %s", error->message);
	return FALSE;
}

static void
protection_clear(Protection *p)
{
	g_clear_pointer(&p->aead, vpnd_aead_free);
	g_clear_pointer(&p->cipher, vpnd_cipher_free);
	g_clear_pointer(&p->integ, vpnd_integrity_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Protection, protection_clear)

/* The providers the protection will come from, so that a missing one fails here. */
static gboolean
find_protection_providers(IkeKeymat *km, GError **error)
{
	const IkeChosen *alg = &km->alg;

	km->encr_provider = crypto_find(km->host, VPND_ALG_ENCR, alg->encr,
					(guint)(km->e_len - crypto_encr_salt_len(alg->encr)) * 8);
	if (!km->encr_provider) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
			    "no provider for %s", vpnd_encr_to_string(alg->encr));
		return FALSE;
	}
	if (crypto_encr_is_aead(alg->encr))
		return TRUE;
	km->integ_provider = crypto_find(km->host, VPND_ALG_INTEG, alg->integ, 0);
	if (!km->integ_provider) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
			    "no provider for %s", vpnd_integ_to_string(alg->integ));
		return FALSE;
	}
	return TRUE;
}

static IkeKeymat *
keymat_alloc(VpndHost *host, const IkeChosen *alg, gboolean initiator, GError **error)
{
	IkeKeymat *km = g_new0(IkeKeymat, 1);

	km->host = host;
	km->alg = *alg;
	km->initiator = initiator;
	km->provider = crypto_find(host, VPND_ALG_PRF, alg->prf, 0);
	if (!km->provider || !prf_key_len(alg->prf)) {
		g_set_error(error, VPND_CRYPTO_ERROR, VPND_CRYPTO_ERROR_UNSUPPORTED,
			    "no provider for %s", vpnd_prf_to_string(alg->prf));
		g_free(km);
		return NULL;
	}
	return km;
}

/* Copies SK_e|SK_a of one direction to @to. */
static guint8 *
put_direction(guint8 *to, const guint8 *sk_e, const guint8 *sk_a, gsize e_len, gsize a_len)
{
	memcpy(to, sk_e, e_len);
	memcpy(to + e_len, sk_a, a_len);
	return to + e_len + a_len;
}

/* SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr = prf+(SKEYSEED, Ni | Nr | SPIs) */
static gboolean
derive_keys(IkeKeymat *km, const VpndSecret *skeyseed, GBytes *ni, GBytes *nr, guint64 spi_i,
	    guint64 spi_r, GError **error)
{
	const IkeChosen *alg = &km->alg;
	g_autoptr(VpndSecret) keymat = NULL;
	gsize ni_len, nr_len;
	const guint8 *ni_p = g_bytes_get_data(ni, &ni_len), *nr_p = g_bytes_get_data(nr, &nr_len);
	guint8 spi_i_be[8], spi_r_be[8];
	gsize prf_len = prf_key_len(alg->prf);
	gsize e_len = ike_proposal_encr_key_len(alg);
	gsize a_len = crypto_encr_is_aead(alg->encr) ? 0 : ike_proposal_integ_key_len(alg->integ);
	gboolean initiator = km->initiator;

	for (int i = 0; i < 8; i++) {
		spi_i_be[i] = (guint8)(spi_i >> (56 - 8 * i));
		spi_r_be[i] = (guint8)(spi_r >> (56 - 8 * i));
	}
	km->e_len = e_len;
	km->a_len = a_len;
	if (!find_protection_providers(km, error))
		return FALSE;
	keymat = crypto_ikev2_ike_keymat(km->provider, alg->prf, skeyseed, ni_p, ni_len, nr_p,
					 nr_len, spi_i_be, spi_r_be,
					 3 * prf_len + 2 * a_len + 2 * e_len, error);
	if (!keymat)
		return FALSE;
	const guint8 *k = keymat->data;
	const guint8 *sk_ai = k + prf_len, *sk_ar = sk_ai + a_len;
	const guint8 *sk_ei = sk_ar + a_len, *sk_er = sk_ei + e_len;
	km->sk_d = vpnd_secret_new_from_data(k, prf_len);
	km->sk_pi = vpnd_secret_new_from_data(sk_er + e_len, prf_len);
	km->sk_pr = vpnd_secret_new_from_data(sk_er + e_len + prf_len, prf_len);
	km->sk_prot = vpnd_secret_new(2 * (e_len + a_len));
	guint8 *at = put_direction(km->sk_prot->data, initiator ? sk_ei : sk_er,
				   initiator ? sk_ai : sk_ar, e_len, a_len);
	put_direction(at, initiator ? sk_er : sk_ei, initiator ? sk_ar : sk_ai, e_len, a_len);
	return TRUE;
}

IkeKeymat *
ike_keymat_new(VpndHost *host, const IkeChosen *alg, gboolean initiator, GBytes *ni, GBytes *nr,
	       const VpndSecret *gir, guint64 spi_i, guint64 spi_r, GError **error)
{
	g_autoptr(IkeKeymat) km = keymat_alloc(host, alg, initiator, error);
	g_autoptr(VpndSecret) skeyseed = NULL;
	gsize ni_len, nr_len;
	const guint8 *ni_p = g_bytes_get_data(ni, &ni_len), *nr_p = g_bytes_get_data(nr, &nr_len);

	if (!km)
		return NULL;
	skeyseed = crypto_ikev2_skeyseed(km->provider, alg->prf, ni_p, ni_len, nr_p, nr_len, gir,
					 error);
	if (!skeyseed || !derive_keys(km, skeyseed, ni, nr, spi_i, spi_r, error))
		return NULL;
	return g_steal_pointer(&km);
}

IkeKeymat *
ike_keymat_new_rekey(const IkeKeymat *old, const IkeChosen *alg, gboolean initiator, GBytes *ni,
		     GBytes *nr, const VpndSecret *gir, guint64 spi_i, guint64 spi_r,
		     GError **error)
{
	g_autoptr(IkeKeymat) km = keymat_alloc(old->host, alg, initiator, error);
	g_autoptr(VpndSecret) skeyseed = NULL;
	gsize ni_len, nr_len;
	const guint8 *ni_p = g_bytes_get_data(ni, &ni_len), *nr_p = g_bytes_get_data(nr, &nr_len);

	if (!km)
		return NULL;
	/* the rekeying exchange belongs to the old SA: its PRF makes SKEYSEED (§2.18) */
	skeyseed = crypto_ikev2_skeyseed_rekey(old->provider, old->alg.prf, old->sk_d, gir, ni_p,
					       ni_len, nr_p, nr_len, error);
	if (!skeyseed || !derive_keys(km, skeyseed, ni, nr, spi_i, spi_r, error))
		return NULL;
	return g_steal_pointer(&km);
}

void
ike_keymat_free(IkeKeymat *km)
{
	if (!km)
		return;
	vpnd_secret_free(km->sk_d);
	vpnd_secret_free(km->sk_pi);
	vpnd_secret_free(km->sk_pr);
	vpnd_secret_free(km->sk_prot);
	g_free(km);
}

static gsize
secret_size(const VpndSecret *s)
{
	return s ? sizeof(*s) + s->len : 0;
}

gsize
ike_keymat_size(const IkeKeymat *km)
{
	return sizeof(*km) + secret_size(km->sk_d) + secret_size(km->sk_pi) +
	       secret_size(km->sk_pr) + secret_size(km->sk_prot);
}

void
ike_keymat_auth_done(IkeKeymat *km)
{
	g_clear_pointer(&km->sk_pi, vpnd_secret_free);
	g_clear_pointer(&km->sk_pr, vpnd_secret_free);
}

const IkeChosen *
ike_keymat_get_alg(const IkeKeymat *km)
{
	return &km->alg;
}

GBytes *
ike_keymat_seal(IkeKeymat *km, IkeMsg *msg, IkeRandomFunc random, gpointer random_data)
{
	g_autoptr(GByteArray) plain = g_byte_array_new();
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_auto(Protection) prot = { 0 };
	guint8 first = IKE_PAYLOAD_NONE;

	if (!protection_new(km, TRUE, &prot) || !ike_msg_build_inner(msg, plain, &first))
		return NULL;
	gsize iv_len = prot.iv_len, icv_len = prot.icv_len, block = prot.block;
	/* Padding then Pad Length: the total a multiple of the block size */
	gsize pad = (block - (plain->len + 1) % block) % block;
	guint8 zero[16] = { 0 }, pad_len = (guint8)pad;
	g_byte_array_append(plain, zero, pad);
	g_byte_array_append(plain, &pad_len, 1);

	IkePayload *sk = ike_msg_add_payload(msg, IKE_PAYLOAD_SK, FALSE);
	gsize data_len = iv_len + plain->len + icv_len;
	g_autofree guint8 *placeholder = g_malloc0(data_len);
	sk->sk.first_type = first;
	ike_payload_set_data(sk, placeholder, data_len);
	if (!ike_msg_build(msg, out)) {
		explicit_bzero(plain->data, plain->len);
		return NULL;
	}
	gsize at = sk->sk.offset + IKE_PAYLOAD_HEADER_LEN;
	guint8 *iv = out->data + at, *buf = iv + iv_len, *icv = buf + plain->len;
	gboolean ok = random(random_data, iv, iv_len);

	memcpy(buf, plain->data, plain->len);
	explicit_bzero(plain->data, plain->len);
	if (ok && prot.aead) {
		ok = vpnd_aead_encrypt(prot.aead, iv, out->data, at, buf, plain->len, icv);
	} else if (ok) {
		ok = vpnd_cipher_encrypt(prot.cipher, iv, buf, plain->len);
		if (ok)
			vpnd_integrity_compute(prot.integ, out->data, (gsize)(icv - out->data), icv);
	}
	if (!ok)
		return NULL;
	/* a copy to the message's length: an IKE SA keeps its last response for retransmits,
	 * and the array has grown by doubling */
	return g_bytes_new(out->data, out->len);
}

IkeOpenResult
ike_keymat_open(IkeKeymat *km, IkeMsg *msg, guint8 *critical_type)
{
	IkePayload *sk = ike_msg_find(msg, IKE_PAYLOAD_SK);
	GBytes *raw = ike_msg_get_raw(msg);
	gsize raw_len, data_len, iv_len, icv_len, block, ct_len;
	const guint8 *raw_p, *data;
	IkeParseDetail detail = { 0 };
	g_auto(Protection) prot = { 0 };

	if (!sk || !raw || ike_msg_has_inner(msg))
		return IKE_OPEN_DROP;
	raw_p = g_bytes_get_data(raw, &raw_len);
	data = ike_payload_get_data(sk, &data_len);
	gsize at = sk->sk.offset + IKE_PAYLOAD_HEADER_LEN;
	if (at > raw_len || data_len > raw_len - at)
		return IKE_OPEN_DROP;
	if (!protection_new(km, FALSE, &prot))
		return IKE_OPEN_DROP;
	iv_len = prot.iv_len;
	icv_len = prot.icv_len;
	block = prot.block;
	if (data_len < iv_len + icv_len + block)
		return IKE_OPEN_DROP;
	ct_len = data_len - iv_len - icv_len;
	if (ct_len % block)
		return IKE_OPEN_DROP;
	const guint8 *iv = data, *icv = data + iv_len + ct_len;
	g_autoptr(VpndSecret) plain = vpnd_secret_new_from_data(iv + iv_len, ct_len);
	if (prot.aead) {
		if (!vpnd_aead_decrypt(prot.aead, iv, raw_p, at, plain->data, ct_len, icv))
			return IKE_OPEN_DROP;
	} else {
		if (!vpnd_integrity_verify(prot.integ, raw_p, at + iv_len + ct_len, icv, icv_len) ||
		    !vpnd_cipher_decrypt(prot.cipher, iv, plain->data, ct_len))
			return IKE_OPEN_DROP;
	}
	guint8 pad = plain->data[ct_len - 1];
	if ((gsize)pad + 1 > ct_len)
		return IKE_OPEN_DROP;
	switch (ike_payloads_parse(sk->sk.first_type, plain->data, ct_len - pad - 1, msg,
				   &detail)) {
	case IKE_PARSE_OK:
		return IKE_OPEN_OK;
	case IKE_PARSE_UNSUPPORTED_CRITICAL:
		if (critical_type)
			*critical_type = detail.payload_type;
		return IKE_OPEN_UNSUPPORTED_CRITICAL;
	case IKE_PARSE_MALFORMED:
	case IKE_PARSE_INVALID_MAJOR_VERSION:
	case IKE_PARSE_DROP:
		break;
	}
	return IKE_OPEN_INVALID_SYNTAX;
}

static VpndPrf *
auth_prf_new(gpointer data, const guint8 *key, gsize key_len, GError **error)
{
	IkeKeymat *km = data;

	return crypto_prf_new_from(km->provider, km->alg.prf, key, key_len, error);
}

void
ike_keymat_auth_params(IkeKeymat *km, gboolean of_initiator, VpndAuthParams *params)
{
	const VpndSecret *sk_p = of_initiator ? km->sk_pi : km->sk_pr;

	params->struct_size = sizeof(*params);
	params->prf_new = auth_prf_new;
	params->prf_data = km;
	params->sk_p = sk_p->data;
	params->sk_p_len = sk_p->len;
}

VpndSecret *
ike_keymat_child(IkeKeymat *km, const VpndSecret *gir, GBytes *ni, GBytes *nr, gsize len,
		 GError **error)
{
	gsize ni_len, nr_len;
	const guint8 *ni_p = g_bytes_get_data(ni, &ni_len), *nr_p = g_bytes_get_data(nr, &nr_len);

	return crypto_ikev2_child_keymat(km->provider, km->alg.prf, km->sk_d, gir, ni_p, ni_len,
					 nr_p, nr_len, len, error);
}
