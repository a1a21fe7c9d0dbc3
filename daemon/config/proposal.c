/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config/proposal.h"

G_DEFINE_QUARK(vpnd-proposal-error-quark, proposal_error)

typedef struct {
	const char *word;
	guint16 type;
	guint16 id;
	guint16 key_bits;
} Keyword;

/*
 * The keywords swanctl.conf users write. The first spelling of each transform is the
 * one proposal_to_string() prints. AES keywords are made by aes_keyword() below.
 */
static const Keyword keywords[] = {
	{ "chacha20poly1305", VPND_ALG_ENCR, VPND_ENCR_CHACHA20_POLY1305, 0 },
	{ "sha1", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA1_96, 0 },
	{ "sha", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA1_96, 0 },
	{ "sha256", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_256_128, 0 },
	{ "sha2_256", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_256_128, 0 },
	{ "sha384", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_384_192, 0 },
	{ "sha2_384", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_384_192, 0 },
	{ "sha512", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_512_256, 0 },
	{ "sha2_512", VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_512_256, 0 },
	{ "aesxcbc", VPND_ALG_INTEG, VPND_INTEG_AES_XCBC_96, 0 },
	{ "aescmac", VPND_ALG_INTEG, VPND_INTEG_AES_CMAC_96, 0 },
	{ "prfsha1", VPND_ALG_PRF, VPND_PRF_HMAC_SHA1, 0 },
	{ "prfsha256", VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_256, 0 },
	{ "prfsha384", VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_384, 0 },
	{ "prfsha512", VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_512, 0 },
	{ "prfaesxcbc", VPND_ALG_PRF, VPND_PRF_AES128_XCBC, 0 },
	{ "prfaescmac", VPND_ALG_PRF, VPND_PRF_AES128_CMAC, 0 },
	{ "modp1024", VPND_ALG_KE, VPND_KE_MODP_1024, 0 },
	{ "modp2048", VPND_ALG_KE, VPND_KE_MODP_2048, 0 },
	{ "modp3072", VPND_ALG_KE, VPND_KE_MODP_3072, 0 },
	{ "modp4096", VPND_ALG_KE, VPND_KE_MODP_4096, 0 },
	{ "modp6144", VPND_ALG_KE, VPND_KE_MODP_6144, 0 },
	{ "modp8192", VPND_ALG_KE, VPND_KE_MODP_8192, 0 },
	{ "ecp256", VPND_ALG_KE, VPND_KE_ECP_256, 0 },
	{ "ecp384", VPND_ALG_KE, VPND_KE_ECP_384, 0 },
	{ "ecp521", VPND_ALG_KE, VPND_KE_ECP_521, 0 },
	{ "curve25519", VPND_ALG_KE, VPND_KE_CURVE25519, 0 },
	{ "x25519", VPND_ALG_KE, VPND_KE_CURVE25519, 0 },
	{ "curve448", VPND_ALG_KE, VPND_KE_CURVE448, 0 },
	{ "x448", VPND_ALG_KE, VPND_KE_CURVE448, 0 },
	{ "esn", PROPOSAL_TRANSFORM_ESN, PROPOSAL_ESN_YES, 0 },
	{ "noesn", PROPOSAL_TRANSFORM_ESN, PROPOSAL_ESN_NO, 0 },
};

/* AES modes: "aes256" (CBC), "aes256ctr", "aes256gcm16" and the ICV in bits
 * ("aes256gcm128"), "aes256ccm8" …; a bare "aes" is AES-128-CBC, "aes256gcm" is ICV 16. */
typedef struct {
	const char *mode; /* suffix after the key size */
	guint16 id;
} AesMode;

static const AesMode aes_modes[] = {
	{ "", VPND_ENCR_AES_CBC },         { "ctr", VPND_ENCR_AES_CTR },
	{ "gcm16", VPND_ENCR_AES_GCM_16 }, { "gcm128", VPND_ENCR_AES_GCM_16 },
	{ "gcm", VPND_ENCR_AES_GCM_16 },   { "gcm12", VPND_ENCR_AES_GCM_12 },
	{ "gcm96", VPND_ENCR_AES_GCM_12 }, { "gcm8", VPND_ENCR_AES_GCM_8 },
	{ "gcm64", VPND_ENCR_AES_GCM_8 },  { "ccm16", VPND_ENCR_AES_CCM_16 },
	{ "ccm128", VPND_ENCR_AES_CCM_16 }, { "ccm", VPND_ENCR_AES_CCM_16 },
	{ "ccm12", VPND_ENCR_AES_CCM_12 }, { "ccm96", VPND_ENCR_AES_CCM_12 },
	{ "ccm8", VPND_ENCR_AES_CCM_8 },   { "ccm64", VPND_ENCR_AES_CCM_8 },
};

static gboolean
aes_keyword(const char *word, Keyword *out)
{
	guint bits = 128;
	const char *rest;

	if (!g_str_has_prefix(word, "aes"))
		return FALSE;
	rest = word + 3;
	if (g_str_has_prefix(rest, "128") || g_str_has_prefix(rest, "192") ||
	    g_str_has_prefix(rest, "256")) {
		bits = (guint)g_ascii_strtoull(rest, NULL, 10);
		rest += 3;
	} else if (*rest) {
		return FALSE; /* "aesgcm16" and the like: the key size is not optional there */
	}
	for (guint i = 0; i < G_N_ELEMENTS(aes_modes); i++) {
		if (g_str_equal(rest, aes_modes[i].mode)) {
			*out = (Keyword){ word, VPND_ALG_ENCR, aes_modes[i].id, (guint16)bits };
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
lookup_keyword(const char *word, Keyword *out)
{
	for (guint i = 0; i < G_N_ELEMENTS(keywords); i++) {
		if (g_str_equal(word, keywords[i].word)) {
			*out = keywords[i];
			return TRUE;
		}
	}
	return aes_keyword(word, out);
}

Proposal *
proposal_new(ProposalProtocol protocol)
{
	Proposal *p = g_new0(Proposal, 1);

	p->protocol = protocol;
	p->transforms = g_array_new(FALSE, FALSE, sizeof(ProposalTransform));
	return p;
}

void
proposal_free(Proposal *proposal)
{
	if (!proposal)
		return;
	g_array_unref(proposal->transforms);
	g_free(proposal);
}

static gboolean
proposal_has(const Proposal *p, guint16 type, guint16 id, guint16 key_bits)
{
	for (guint i = 0; i < p->transforms->len; i++) {
		const ProposalTransform *t = &g_array_index(p->transforms, ProposalTransform, i);
		if (t->type == type && t->id == id && t->key_bits == key_bits)
			return TRUE;
	}
	return FALSE;
}

static guint
count_type(const Proposal *p, guint16 type)
{
	guint n = 0;

	for (guint i = 0; i < p->transforms->len; i++)
		n += g_array_index(p->transforms, ProposalTransform, i).type == type;
	return n;
}

void
proposal_add(Proposal *proposal, guint16 type, guint16 id, guint16 key_bits)
{
	ProposalTransform t = { type, id, key_bits };

	if (!proposal_has(proposal, type, id, key_bits))
		g_array_append_val(proposal->transforms, t);
}

/* How many ciphers of each kind; a proposal may not mix AEAD and plain ciphers. */
static void
count_ciphers(const Proposal *p, guint *aead, guint *plain)
{
	*aead = *plain = 0;
	for (guint i = 0; i < p->transforms->len; i++) {
		const ProposalTransform *t = &g_array_index(p->transforms, ProposalTransform, i);
		if (t->type == VPND_ALG_ENCR)
			(*(vpnd_encr_is_aead(t->id) ? aead : plain))++;
	}
}

/* IKE without an explicit PRF takes the PRFs matching its integrity algorithms. */
static void
add_implied_prfs(Proposal *p)
{
	static const struct {
		guint16 integ, prf;
	} implied[] = {
		{ VPND_INTEG_HMAC_SHA1_96, VPND_PRF_HMAC_SHA1 },
		{ VPND_INTEG_HMAC_SHA2_256_128, VPND_PRF_HMAC_SHA2_256 },
		{ VPND_INTEG_HMAC_SHA2_384_192, VPND_PRF_HMAC_SHA2_384 },
		{ VPND_INTEG_HMAC_SHA2_512_256, VPND_PRF_HMAC_SHA2_512 },
		{ VPND_INTEG_AES_XCBC_96, VPND_PRF_AES128_XCBC },
		{ VPND_INTEG_AES_CMAC_96, VPND_PRF_AES128_CMAC },
	};

	if (count_type(p, VPND_ALG_PRF))
		return;
	for (guint i = 0; i < p->transforms->len; i++) {
		const ProposalTransform t = g_array_index(p->transforms, ProposalTransform, i);
		for (guint j = 0; t.type == VPND_ALG_INTEG && j < G_N_ELEMENTS(implied); j++) {
			if (implied[j].integ == t.id)
				proposal_add(p, VPND_ALG_PRF, implied[j].prf, 0);
		}
	}
}

static gboolean
check_complete(Proposal *p, const char *text, GError **error)
{
	guint aead, plain;

	count_ciphers(p, &aead, &plain);
	if (aead && plain) {
		g_set_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_MIXED,
			    "proposal \"%s\" mixes AEAD and non-AEAD ciphers; "
			    "write them as two proposals", text);
		return FALSE;
	}
	if (!aead && !plain) {
		g_set_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_INCOMPLETE,
			    "proposal \"%s\" has no encryption algorithm", text);
		return FALSE;
	}
	if (plain && !count_type(p, VPND_ALG_INTEG)) {
		g_set_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_INCOMPLETE,
			    "proposal \"%s\" has no integrity algorithm (e.g. sha256)", text);
		return FALSE;
	}
	if (p->protocol != PROPOSAL_PROTO_IKE)
		return TRUE;
	if (aead && count_type(p, VPND_ALG_INTEG)) {
		g_set_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_MIXED,
			    "proposal \"%s\": an AEAD cipher needs no integrity algorithm; use a "
			    "PRF keyword (e.g. prfsha256)", text);
		return FALSE;
	}
	add_implied_prfs(p);
	if (!count_type(p, VPND_ALG_PRF)) {
		g_set_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_INCOMPLETE,
			    "proposal \"%s\" has no PRF (e.g. prfsha256)", text);
		return FALSE;
	}
	if (!count_type(p, VPND_ALG_KE)) {
		g_set_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_INCOMPLETE,
			    "proposal \"%s\" has no key exchange group (e.g. curve25519)", text);
		return FALSE;
	}
	return TRUE;
}

Proposal *
proposal_parse(ProposalProtocol protocol, const char *text, GError **error)
{
	g_autoptr(Proposal) p = proposal_new(protocol);
	g_auto(GStrv) words = g_strsplit(text, "-", -1);

	for (char **w = words; *w; w++) {
		g_autofree char *word = g_ascii_strdown(g_strstrip(*w), -1);
		Keyword k;

		if (!lookup_keyword(word, &k)) {
			g_set_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_UNKNOWN_KEYWORD,
				    "proposal \"%s\": unknown algorithm \"%s\"", text, word);
			return NULL;
		}
		if (k.type == PROPOSAL_TRANSFORM_ESN && protocol == PROPOSAL_PROTO_IKE) {
			g_set_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_UNKNOWN_KEYWORD,
				    "proposal \"%s\": \"%s\" applies to ESP, not IKE", text, word);
			return NULL;
		}
		proposal_add(p, k.type, k.id, k.key_bits);
	}
	if (!check_complete(p, text, error))
		return NULL;
	if (protocol != PROPOSAL_PROTO_IKE && !count_type(p, PROPOSAL_TRANSFORM_ESN))
		proposal_add(p, PROPOSAL_TRANSFORM_ESN, PROPOSAL_ESN_NO, 0);
	return g_steal_pointer(&p);
}

static const char *const ike_defaults[] = {
	"aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-"
	"curve25519-ecp256-ecp384-modp3072-modp4096-modp2048",
	"aes256-aes128-sha256-sha384-sha512-curve25519-ecp256-ecp384-modp3072-modp4096-"
	"modp2048",
	NULL,
};

static const char *const esp_defaults[] = {
	"aes256gcm16-aes128gcm16-chacha20poly1305",
	"aes256-aes128-sha256-sha384-sha512",
	NULL,
};

GPtrArray *
proposal_defaults(ProposalProtocol protocol)
{
	const char *const *texts = protocol == PROPOSAL_PROTO_IKE ? ike_defaults : esp_defaults;
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)proposal_free);

	for (; *texts; texts++) {
		Proposal *p = proposal_parse(protocol, *texts, NULL);
		g_assert(p); /* our own defaults parse */
		g_ptr_array_add(list, p);
	}
	return list;
}

GPtrArray *
proposal_parse_list(ProposalProtocol protocol, const char *text, GError **error)
{
	g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func((GDestroyNotify)proposal_free);
	g_auto(GStrv) items = g_strsplit_set(text, ", \t", -1);

	for (char **item = items; *item; item++) {
		if (!**item)
			continue;
		if (g_ascii_strcasecmp(*item, "default") == 0) {
			g_autoptr(GPtrArray) defaults = proposal_defaults(protocol);
			while (defaults->len)
				g_ptr_array_add(list, g_ptr_array_steal_index(defaults, 0));
			continue;
		}
		Proposal *p = proposal_parse(protocol, *item, error);
		if (!p)
			return NULL;
		g_ptr_array_add(list, p);
	}
	if (list->len == 0) {
		g_set_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_INCOMPLETE,
			    "empty proposal list");
		return NULL;
	}
	return g_steal_pointer(&list);
}

/* The first keyword spelling of a transform, for output. */
static char *
transform_keyword(const ProposalTransform *t)
{
	if (t->type == VPND_ALG_ENCR && t->id != VPND_ENCR_CHACHA20_POLY1305) {
		for (guint i = 0; i < G_N_ELEMENTS(aes_modes); i++) {
			if (aes_modes[i].id == t->id)
				return g_strdup_printf("aes%u%s", t->key_bits, aes_modes[i].mode);
		}
	}
	for (guint i = 0; i < G_N_ELEMENTS(keywords); i++) {
		if (keywords[i].type == t->type && keywords[i].id == t->id)
			return g_strdup(keywords[i].word);
	}
	return g_strdup_printf("unknown%u:%u", t->type, t->id);
}

char *
proposal_to_string(const Proposal *proposal)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < proposal->transforms->len; i++) {
		const ProposalTransform *t =
			&g_array_index(proposal->transforms, ProposalTransform, i);
		if (t->type == PROPOSAL_TRANSFORM_ESN && t->id == PROPOSAL_ESN_NO)
			continue; /* the default, not worth printing */
		g_autofree char *word = transform_keyword(t);
		g_string_append_printf(s, "%s%s", s->len ? "-" : "", word);
	}
	return g_string_free(s, FALSE);
}
