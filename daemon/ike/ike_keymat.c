/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ike_keymat.h"

#include <string.h>

#define KEY_PAD "Key Pad for IKEv2"

struct _IkeKeymat {
	VpndHost *host;
	const HostProvider *provider; /* of the PRF, for the key derivations */
	IkeChosen alg;
	gboolean initiator;
	VpndSecret *sk_d, *sk_pi, *sk_pr;
	gsize key_bytes;
	/* what protects our messages (out) and the peer's (in) */
	VpndAead *aead_out, *aead_in;
	VpndCipher *cipher_out, *cipher_in;
	VpndIntegrity *integ_out, *integ_in;
};

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

/* One direction's protection from its SK_e (and SK_a) slice of the keymat. */
static gboolean
make_direction(IkeKeymat *km, const guint8 *ke, gsize ke_len, const guint8 *ka, gsize ka_len,
	       VpndAead **aead, VpndCipher **cipher, VpndIntegrity **integ, GError **error)
{
	if (crypto_encr_is_aead(km->alg.encr)) {
		*aead = crypto_aead_new(km->host, km->alg.encr, ke, ke_len, error);
		return *aead != NULL;
	}
	*cipher = crypto_cipher_new(km->host, km->alg.encr, ke, ke_len, error);
	if (!*cipher)
		return FALSE;
	*integ = crypto_integrity_new(km->host, km->alg.integ, ka, ka_len, error);
	return *integ != NULL;
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
	km->key_bytes = 3 * prf_len + 2 * a_len + 2 * e_len;
	keymat = crypto_ikev2_ike_keymat(km->provider, alg->prf, skeyseed, ni_p, ni_len, nr_p,
					 nr_len, spi_i_be, spi_r_be, km->key_bytes, error);
	if (!keymat)
		return FALSE;
	const guint8 *k = keymat->data;
	const guint8 *sk_ai = k + prf_len, *sk_ar = sk_ai + a_len;
	const guint8 *sk_ei = sk_ar + a_len, *sk_er = sk_ei + e_len;
	km->sk_d = vpnd_secret_new_from_data(k, prf_len);
	km->sk_pi = vpnd_secret_new_from_data(sk_er + e_len, prf_len);
	km->sk_pr = vpnd_secret_new_from_data(sk_er + e_len + prf_len, prf_len);
	return make_direction(km, initiator ? sk_ei : sk_er, e_len, initiator ? sk_ai : sk_ar,
			      a_len, &km->aead_out, &km->cipher_out, &km->integ_out, error) &&
	       make_direction(km, initiator ? sk_er : sk_ei, e_len, initiator ? sk_ar : sk_ai,
			      a_len, &km->aead_in, &km->cipher_in, &km->integ_in, error);
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
	vpnd_aead_free(km->aead_out);
	vpnd_aead_free(km->aead_in);
	vpnd_cipher_free(km->cipher_out);
	vpnd_cipher_free(km->cipher_in);
	vpnd_integrity_free(km->integ_out);
	vpnd_integrity_free(km->integ_in);
	g_free(km);
}

gsize
ike_keymat_size(const IkeKeymat *km)
{
	return sizeof(*km) + km->key_bytes;
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
	gsize iv_len, icv_len, block;
	guint8 first = IKE_PAYLOAD_NONE;

	if (!ike_msg_build_inner(msg, plain, &first))
		return NULL;
	if (km->aead_out) {
		iv_len = km->aead_out->iv_len;
		icv_len = km->aead_out->icv_len;
		block = 1;
	} else {
		iv_len = km->cipher_out->iv_len;
		icv_len = km->integ_out->icv_len;
		block = km->cipher_out->block_size;
	}
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
	if (ok && km->aead_out) {
		ok = vpnd_aead_encrypt(km->aead_out, iv, out->data, at, buf, plain->len, icv);
	} else if (ok) {
		ok = vpnd_cipher_encrypt(km->cipher_out, iv, buf, plain->len);
		if (ok)
			vpnd_integrity_compute(km->integ_out, out->data, (gsize)(icv - out->data),
					       icv);
	}
	if (!ok)
		return NULL;
	return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

IkeOpenResult
ike_keymat_open(IkeKeymat *km, IkeMsg *msg, guint8 *critical_type)
{
	IkePayload *sk = ike_msg_find(msg, IKE_PAYLOAD_SK);
	GBytes *raw = ike_msg_get_raw(msg);
	gsize raw_len, data_len, iv_len, icv_len, block, ct_len;
	const guint8 *raw_p, *data;
	IkeParseDetail detail = { 0 };

	if (!sk || !raw || ike_msg_has_inner(msg))
		return IKE_OPEN_DROP;
	raw_p = g_bytes_get_data(raw, &raw_len);
	data = ike_payload_get_data(sk, &data_len);
	gsize at = sk->sk.offset + IKE_PAYLOAD_HEADER_LEN;
	if (at > raw_len || data_len > raw_len - at)
		return IKE_OPEN_DROP;
	if (km->aead_in) {
		iv_len = km->aead_in->iv_len;
		icv_len = km->aead_in->icv_len;
		block = 1;
	} else {
		iv_len = km->cipher_in->iv_len;
		icv_len = km->integ_in->icv_len;
		block = km->cipher_in->block_size;
	}
	if (data_len < iv_len + icv_len + block)
		return IKE_OPEN_DROP;
	ct_len = data_len - iv_len - icv_len;
	if (ct_len % block)
		return IKE_OPEN_DROP;
	const guint8 *iv = data, *icv = data + iv_len + ct_len;
	g_autoptr(VpndSecret) plain = vpnd_secret_new_from_data(iv + iv_len, ct_len);
	if (km->aead_in) {
		if (!vpnd_aead_decrypt(km->aead_in, iv, raw_p, at, plain->data, ct_len, icv))
			return IKE_OPEN_DROP;
	} else {
		if (!vpnd_integrity_verify(km->integ_in, raw_p, at + iv_len + ct_len, icv,
					   icv_len) ||
		    !vpnd_cipher_decrypt(km->cipher_in, iv, plain->data, ct_len))
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

static VpndSecret *
prf_once(VpndHost *host, guint16 prf_id, const guint8 *key, gsize key_len, const guint8 *a,
	 gsize a_len, const guint8 *b, gsize b_len, const guint8 *c, gsize c_len, GError **error)
{
	g_autoptr(VpndPrf) prf = crypto_prf_new(host, prf_id, key, key_len, error);
	VpndSecret *out;

	if (!prf)
		return NULL;
	out = vpnd_secret_new(prf->out_len);
	vpnd_prf_update(prf, a, a_len);
	if (b_len)
		vpnd_prf_update(prf, b, b_len);
	if (c_len)
		vpnd_prf_update(prf, c, c_len);
	vpnd_prf_finish(prf, out->data);
	return out;
}

VpndSecret *
ike_keymat_psk_auth(IkeKeymat *km, gboolean of_initiator, const VpndSecret *psk, GBytes *init_msg,
		    GBytes *peer_nonce, GBytes *id_body, GError **error)
{
	const VpndSecret *sk_p = of_initiator ? km->sk_pi : km->sk_pr;
	gsize id_len, msg_len, nonce_len;
	const guint8 *id_p = g_bytes_get_data(id_body, &id_len);
	const guint8 *msg_p = g_bytes_get_data(init_msg, &msg_len);
	const guint8 *nonce_p = g_bytes_get_data(peer_nonce, &nonce_len);
	g_autoptr(VpndSecret) maced_id = NULL, pad_key = NULL;

	maced_id = prf_once(km->host, km->alg.prf, sk_p->data, sk_p->len, id_p, id_len, NULL, 0,
			    NULL, 0, error);
	if (!maced_id)
		return NULL;
	pad_key = prf_once(km->host, km->alg.prf, psk->data, psk->len, (const guint8 *)KEY_PAD,
			   strlen(KEY_PAD), NULL, 0, NULL, 0, error);
	if (!pad_key)
		return NULL;
	return prf_once(km->host, km->alg.prf, pad_key->data, pad_key->len, msg_p, msg_len, nonce_p,
			nonce_len, maced_id->data, maced_id->len, error);
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
