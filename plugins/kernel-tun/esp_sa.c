/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/random.h>

#include "esp_sa.h"

struct EspSa {
	guint32 spi;
	gboolean esn;
	VpndAead *aead;       /* either this … */
	VpndCipher *cipher;   /* … or these two */
	VpndIntegrity *integ;
	gsize iv_len;
	gsize icv_len;
	gsize block;          /* what we send: the ciphertext is a multiple of this */
	gsize align;          /* what we accept: a multiple of this (block, or 4 for AEADs) */
	guint64 seq;          /* outbound: the last sequence number used */
	EspReplay replay;     /* inbound */
	EspCounters counters;
};

static EspSa *
sa_new(guint32 spi, gboolean esn, guint32 replay_window)
{
	EspSa *sa = g_new0(EspSa, 1);

	sa->spi = spi;
	sa->esn = esn;
	esp_replay_init(&sa->replay, replay_window, esn);
	return sa;
}

EspSa *
esp_sa_new_aead(guint32 spi, gboolean esn, guint32 replay_window, VpndAead *aead)
{
	EspSa *sa = sa_new(spi, esn, replay_window);

	sa->aead = aead;
	sa->iv_len = aead->iv_len;
	sa->icv_len = aead->icv_len;
	/*
	 * RFC 4303 §2.4 asks for a 4-byte boundary. AES-GCM/CCM pad to the AES block
	 * instead: a partial last block costs GnuTLS about a third more work on small
	 * packets (bench/RESULTS.md, esp-packet), for at most 12 more bytes on the wire.
	 */
	sa->block = aead->id == VPND_ENCR_CHACHA20_POLY1305 ? 4 : 16;
	/* the peer may well pad to 4 bytes only (RFC 4106 §3.2; strongSwan does) */
	sa->align = 4;
	return sa;
}

EspSa *
esp_sa_new_cipher(guint32 spi, gboolean esn, guint32 replay_window, VpndCipher *cipher,
		  VpndIntegrity *integ)
{
	EspSa *sa = sa_new(spi, esn, replay_window);

	sa->cipher = cipher;
	sa->integ = integ;
	sa->iv_len = cipher->iv_len;
	sa->icv_len = integ->icv_len;
	sa->block = MAX(cipher->block_size, 4);
	sa->align = sa->block;
	return sa;
}

void
esp_sa_free(EspSa *sa)
{
	if (!sa)
		return;
	vpnd_aead_free(sa->aead);
	vpnd_cipher_free(sa->cipher);
	vpnd_integrity_free(sa->integ);
	esp_replay_clear(&sa->replay);
	g_free(sa);
}

guint32
esp_sa_get_spi(const EspSa *sa)
{
	return sa->spi;
}

const EspCounters *
esp_sa_get_counters(const EspSa *sa)
{
	return &sa->counters;
}

gsize
esp_sa_headroom(const EspSa *sa)
{
	return ESP_HEADER_LEN + sa->iv_len;
}

gsize
esp_sa_tailroom(const EspSa *sa)
{
	return sa->block - 1 + ESP_TRAILER_LEN + sa->icv_len;
}

static void
put_be32(guint8 *p, guint32 v)
{
	v = GUINT32_TO_BE(v);
	memcpy(p, &v, 4);
}

static void
put_be64(guint8 *p, guint64 v)
{
	v = GUINT64_TO_BE(v);
	memcpy(p, &v, 8);
}

static guint32
get_be32(const guint8 *p)
{
	guint32 v;

	memcpy(&v, p, 4);
	return GUINT32_FROM_BE(v);
}

/* RFC 4106 §5 / RFC 7634 §3: SPI || seq, or SPI || seq high || seq low with ESN. */
static gsize
build_aad(const EspSa *sa, guint64 seq, guint8 aad[12])
{
	put_be32(aad, sa->spi);
	if (!sa->esn) {
		put_be32(aad + 4, (guint32)seq);
		return 8;
	}
	put_be64(aad + 4, seq);
	return 12;
}

/*
 * The ICV of the cipher+MAC transforms covers header, IV and ciphertext, and under
 * ESN also the high half of the sequence number (RFC 4303 §2.2.1), which is not sent:
 * it is placed for a moment where the ICV will go.
 */
static void
compute_icv(EspSa *sa, guint8 *buf, gsize covered, guint64 seq, guint8 *icv)
{
	guint8 saved[4], mac[VPND_ICV_MAX_LEN];

	if (!sa->esn) {
		vpnd_integrity_compute(sa->integ, buf, covered, icv);
		return;
	}
	/* @icv may point at buf + covered: compute aside, restore, then write */
	memcpy(saved, buf + covered, 4);
	put_be32(buf + covered, (guint32)(seq >> 32));
	vpnd_integrity_compute(sa->integ, buf, covered + 4, mac);
	memcpy(buf + covered, saved, 4);
	memcpy(icv, mac, sa->icv_len);
}

gsize
esp_sa_seal(EspSa *sa, guint8 *buf, gsize len, gsize cap, guint8 next_header, gint64 now,
	    EspResult *result)
{
	gsize head = esp_sa_headroom(sa);
	g_return_val_if_fail(cap >= head + len + esp_sa_tailroom(sa), 0);

	if (sa->seq == (sa->esn ? G_MAXUINT64 : G_MAXUINT32)) {
		sa->counters.drops[ESP_DROP_EXHAUSTED]++;
		*result = ESP_DROP_EXHAUSTED;
		return 0;
	}
	guint64 seq = ++sa->seq;
	gsize pad = (sa->block - (len + ESP_TRAILER_LEN) % sa->block) % sa->block;
	guint8 *trailer = buf + head + len;

	for (gsize i = 0; i < pad; i++)
		trailer[i] = (guint8)(i + 1);
	trailer[pad] = (guint8)pad;
	trailer[pad + 1] = next_header;
	gsize ct_len = len + pad + ESP_TRAILER_LEN;

	put_be32(buf, sa->spi);
	put_be32(buf + 4, (guint32)seq);
	guint8 *iv = buf + ESP_HEADER_LEN;
	guint8 *ct = buf + head;
	if (sa->aead) {
		guint8 aad[12];
		put_be64(iv, seq);
		gsize aad_len = build_aad(sa, seq, aad);
		vpnd_aead_encrypt(sa->aead, iv, aad, aad_len, ct, ct_len, ct + ct_len);
	} else {
		if (sa->cipher->id == VPND_ENCR_AES_CTR)
			put_be64(iv, seq); /* RFC 3686: unique is enough */
		else if (getrandom(iv, sa->iv_len, 0) != (gssize)sa->iv_len)
			g_error("getrandom failed: %s", g_strerror(errno));
		vpnd_cipher_encrypt(sa->cipher, iv, ct, ct_len);
		compute_icv(sa, buf, head + ct_len, seq, ct + ct_len);
	}
	sa->counters.bytes += len;
	sa->counters.packets++;
	sa->counters.last_use = now;
	*result = ESP_OK;
	return head + ct_len + sa->icv_len;
}

static EspResult
drop(EspSa *sa, EspResult why)
{
	sa->counters.drops[why]++;
	return why;
}

/* RFC 4303 §2.4: the default padding is 1, 2, 3 …; anything else is refused. */
static gboolean
padding_ok(const guint8 *pad, gsize pad_len)
{
	guint8 diff = 0;

	for (gsize i = 0; i < pad_len; i++)
		diff |= pad[i] ^ (guint8)(i + 1);
	return diff == 0;
}

static gboolean
decrypt(EspSa *sa, guint8 *buf, gsize head, gsize ct_len, guint64 seq)
{
	guint8 *iv = buf + ESP_HEADER_LEN;
	guint8 *ct = buf + head;

	if (sa->aead) {
		guint8 aad[12];
		gsize aad_len = build_aad(sa, seq, aad);
		return vpnd_aead_decrypt(sa->aead, iv, aad, aad_len, ct, ct_len, ct + ct_len);
	}
	guint8 icv[VPND_ICV_MAX_LEN];
	compute_icv(sa, buf, head + ct_len, seq, icv);
	if (!vpnd_memeq_const(icv, ct + ct_len, sa->icv_len))
		return FALSE;
	return vpnd_cipher_decrypt(sa->cipher, iv, ct, ct_len);
}

EspResult
esp_sa_open(EspSa *sa, guint8 *buf, gsize len, gint64 now, gsize *offset, gsize *payload_len,
	    guint8 *next_header)
{
	gsize head = esp_sa_headroom(sa);
	guint64 seq;

	if (len < head + ESP_TRAILER_LEN + sa->icv_len)
		return drop(sa, ESP_DROP_MALFORMED);
	gsize ct_len = len - head - sa->icv_len;
	if (ct_len % sa->align != 0)
		return drop(sa, ESP_DROP_MALFORMED);

	switch (esp_replay_check(&sa->replay, get_be32(buf + 4), &seq)) {
	case ESP_REPLAY_OK:
		break;
	case ESP_REPLAY_DUPLICATE:
		return drop(sa, ESP_DROP_REPLAY);
	case ESP_REPLAY_TOO_OLD:
	case ESP_REPLAY_INVALID:
		return drop(sa, ESP_DROP_TOO_OLD);
	}
	if (!decrypt(sa, buf, head, ct_len, seq))
		return drop(sa, ESP_DROP_AUTH);
	/* authentic from here: the window may move even if the contents are refused */
	esp_replay_accept(&sa->replay, seq);

	guint8 *trailer = buf + head + ct_len - ESP_TRAILER_LEN;
	gsize pad_len = trailer[0];
	if (pad_len + ESP_TRAILER_LEN > ct_len || !padding_ok(trailer - pad_len, pad_len))
		return drop(sa, ESP_DROP_PADDING);
	if (trailer[1] == ESP_NEXT_HEADER_NONE)
		return drop(sa, ESP_DROP_DUMMY);

	*offset = head;
	*payload_len = ct_len - ESP_TRAILER_LEN - pad_len;
	*next_header = trailer[1];
	sa->counters.bytes += *payload_len;
	sa->counters.packets++;
	sa->counters.last_use = now;
	return ESP_OK;
}

const char *
esp_result_to_string(EspResult result)
{
	switch (result) {
	case ESP_OK:
		return "ok";
	case ESP_DROP_MALFORMED:
		return "malformed";
	case ESP_DROP_REPLAY:
		return "replayed";
	case ESP_DROP_TOO_OLD:
		return "too old";
	case ESP_DROP_AUTH:
		return "ICV mismatch";
	case ESP_DROP_PADDING:
		return "bad padding";
	case ESP_DROP_DUMMY:
		return "dummy packet";
	case ESP_DROP_EXHAUSTED:
		return "sequence numbers exhausted";
	case ESP_N_RESULTS:
		break;
	}
	return "unknown";
}
