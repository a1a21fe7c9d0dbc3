/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* swanctl.conf proposal keywords to IKEv2 transforms and back. */
#include "config/proposal.h"

typedef struct {
	const char *text;
	ProposalProtocol protocol;
	const char *canonical; /* proposal_to_string() of the result */
	ProposalTransform expect[8];
} ParseCase;

#define T(type, id, bits) { (type), (id), (bits) }

static const ParseCase parse_cases[] = {
	{ "aes256gcm16-prfsha256-curve25519", PROPOSAL_PROTO_IKE,
	  "aes256gcm16-prfsha256-curve25519",
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_GCM_16, 256), T(VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_256, 0),
	    T(VPND_ALG_KE, VPND_KE_CURVE25519, 0) } },
	/* no PRF given: the integrity algorithm implies it */
	{ "aes128-sha256-ecp256", PROPOSAL_PROTO_IKE, "aes128-sha256-ecp256-prfsha256",
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_CBC, 128),
	    T(VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_256_128, 0), T(VPND_ALG_KE, VPND_KE_ECP_256, 0),
	    T(VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_256, 0) } },
	{ "aes256-sha384-modp3072", PROPOSAL_PROTO_IKE, "aes256-sha384-modp3072-prfsha384",
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_CBC, 256),
	    T(VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_384_192, 0),
	    T(VPND_ALG_KE, VPND_KE_MODP_3072, 0), T(VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_384, 0) } },
	{ "chacha20poly1305-prfsha256-x25519", PROPOSAL_PROTO_IKE,
	  "chacha20poly1305-prfsha256-curve25519",
	  { T(VPND_ALG_ENCR, VPND_ENCR_CHACHA20_POLY1305, 0),
	    T(VPND_ALG_PRF, VPND_PRF_HMAC_SHA2_256, 0), T(VPND_ALG_KE, VPND_KE_CURVE25519, 0) } },
	/* ESP: no KE unless PFS is asked for, ESN off unless asked for */
	{ "aes256gcm16", PROPOSAL_PROTO_ESP, "aes256gcm16",
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_GCM_16, 256),
	    T(PROPOSAL_TRANSFORM_ESN, PROPOSAL_ESN_NO, 0) } },
	{ "aes256gcm16-ecp256", PROPOSAL_PROTO_ESP, "aes256gcm16-ecp256",
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_GCM_16, 256), T(VPND_ALG_KE, VPND_KE_ECP_256, 0),
	    T(PROPOSAL_TRANSFORM_ESN, PROPOSAL_ESN_NO, 0) } },
	{ "AES128-SHA256-ESN", PROPOSAL_PROTO_ESP, "aes128-sha256-esn",
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_CBC, 128),
	    T(VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_256_128, 0),
	    T(PROPOSAL_TRANSFORM_ESN, PROPOSAL_ESN_YES, 0) } },
	/* aliases: ICV in bits, "aes256gcm", bare "aes" */
	{ "aes128gcm128-aes256gcm-aes192gcm64", PROPOSAL_PROTO_ESP, NULL,
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_GCM_16, 128), T(VPND_ALG_ENCR, VPND_ENCR_AES_GCM_16, 256),
	    T(VPND_ALG_ENCR, VPND_ENCR_AES_GCM_8, 192) } },
	{ "aes-sha", PROPOSAL_PROTO_ESP, "aes128-sha1",
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_CBC, 128), T(VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA1_96, 0) } },
	{ "aes192ccm8-aes128ccm12", PROPOSAL_PROTO_ESP, "aes192ccm8-aes128ccm12",
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_CCM_8, 192), T(VPND_ALG_ENCR, VPND_ENCR_AES_CCM_12, 128) } },
	{ "aes128ctr-sha512", PROPOSAL_PROTO_ESP, "aes128ctr-sha512",
	  { T(VPND_ALG_ENCR, VPND_ENCR_AES_CTR, 128),
	    T(VPND_ALG_INTEG, VPND_INTEG_HMAC_SHA2_512_256, 0) } },
};

static void
test_parse(gconstpointer data)
{
	const ParseCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(Proposal) p = proposal_parse(c->protocol, c->text, &error);

	g_assert_no_error(error);
	g_assert_nonnull(p);
	for (guint i = 0; i < G_N_ELEMENTS(c->expect) && c->expect[i].type; i++) {
		g_assert_cmpuint(i, <, p->transforms->len);
		const ProposalTransform *t = &g_array_index(p->transforms, ProposalTransform, i);
		g_assert_cmpuint(t->type, ==, c->expect[i].type);
		g_assert_cmpuint(t->id, ==, c->expect[i].id);
		g_assert_cmpuint(t->key_bits, ==, c->expect[i].key_bits);
	}
	if (c->canonical) {
		g_autofree char *s = proposal_to_string(p);
		g_assert_cmpstr(s, ==, c->canonical);
		/* the canonical form parses back to the same transforms */
		g_autoptr(Proposal) again = proposal_parse(c->protocol, s, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(again->transforms->len, ==, p->transforms->len);
		g_assert_cmpmem(again->transforms->data,
				again->transforms->len * sizeof(ProposalTransform),
				p->transforms->data, p->transforms->len * sizeof(ProposalTransform));
	}
}

typedef struct {
	const char *text;
	ProposalProtocol protocol;
	ProposalError code;
	const char *says;
} BadCase;

static const BadCase bad_cases[] = {
	{ "aes256-sha256-curve9999", PROPOSAL_PROTO_IKE, PROPOSAL_ERROR_UNKNOWN_KEYWORD,
	  "unknown algorithm \"curve9999\"" },
	{ "aes512-sha256-ecp256", PROPOSAL_PROTO_IKE, PROPOSAL_ERROR_UNKNOWN_KEYWORD, "aes512" },
	{ "aesgcm16-prfsha256-ecp256", PROPOSAL_PROTO_IKE, PROPOSAL_ERROR_UNKNOWN_KEYWORD,
	  "aesgcm16" },
	{ "sha256-ecp256", PROPOSAL_PROTO_IKE, PROPOSAL_ERROR_INCOMPLETE, "no encryption" },
	{ "aes256-ecp256", PROPOSAL_PROTO_IKE, PROPOSAL_ERROR_INCOMPLETE, "no integrity" },
	{ "aes256gcm16-curve25519", PROPOSAL_PROTO_IKE, PROPOSAL_ERROR_INCOMPLETE, "no PRF" },
	{ "aes256-sha256", PROPOSAL_PROTO_IKE, PROPOSAL_ERROR_INCOMPLETE, "no key exchange" },
	{ "aes256gcm16-aes256-sha256", PROPOSAL_PROTO_ESP, PROPOSAL_ERROR_MIXED, "mixes" },
	{ "aes256gcm16-sha256-prfsha256-ecp256", PROPOSAL_PROTO_IKE, PROPOSAL_ERROR_MIXED,
	  "needs no integrity" },
	{ "aes256-sha256-ecp256-esn", PROPOSAL_PROTO_IKE, PROPOSAL_ERROR_UNKNOWN_KEYWORD,
	  "applies to ESP" },
	{ "aes256--sha256", PROPOSAL_PROTO_ESP, PROPOSAL_ERROR_UNKNOWN_KEYWORD,
	  "unknown algorithm \"\"" },
	{ "", PROPOSAL_PROTO_ESP, PROPOSAL_ERROR_INCOMPLETE, "no encryption" },
};

static void
test_bad(gconstpointer data)
{
	const BadCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(Proposal) p = proposal_parse(c->protocol, c->text, &error);

	g_assert_null(p);
	g_assert_error(error, PROPOSAL_ERROR, (gint)c->code);
	g_assert_nonnull(strstr(error->message, c->says));
}

static void
test_list(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = proposal_parse_list(
		PROPOSAL_PROTO_ESP, "aes128gcm16, default,aes128-sha256", &error);
	g_autoptr(GPtrArray) defaults = proposal_defaults(PROPOSAL_PROTO_ESP);

	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 2 + defaults->len);
	g_autofree char *first = proposal_to_string(list->pdata[0]);
	g_autofree char *last = proposal_to_string(list->pdata[list->len - 1]);
	g_assert_cmpstr(first, ==, "aes128gcm16");
	g_assert_cmpstr(last, ==, "aes128-sha256");

	g_autoptr(GPtrArray) bad =
		proposal_parse_list(PROPOSAL_PROTO_ESP, "aes128gcm16, nonsense", &error);
	g_assert_null(bad);
	g_assert_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_UNKNOWN_KEYWORD);
	g_clear_error(&error);

	g_autoptr(GPtrArray) empty = proposal_parse_list(PROPOSAL_PROTO_IKE, " , ", &error);
	g_assert_null(empty);
	g_assert_error(error, PROPOSAL_ERROR, PROPOSAL_ERROR_INCOMPLETE);
}

/* The defaults are complete and offer only what RFC 8247 still recommends. */
static void
test_defaults(void)
{
	const ProposalProtocol protocols[] = { PROPOSAL_PROTO_IKE, PROPOSAL_PROTO_ESP };

	for (guint i = 0; i < G_N_ELEMENTS(protocols); i++) {
		g_autoptr(GPtrArray) list = proposal_defaults(protocols[i]);
		g_assert_cmpuint(list->len, >, 0);
		for (guint j = 0; j < list->len; j++) {
			const Proposal *p = list->pdata[j];
			for (guint k = 0; k < p->transforms->len; k++) {
				const ProposalTransform *t =
					&g_array_index(p->transforms, ProposalTransform, k);
				g_assert_false(t->type == VPND_ALG_KE && t->id == VPND_KE_MODP_1024);
				g_assert_false(t->type == VPND_ALG_INTEG &&
					       t->id == VPND_INTEG_HMAC_SHA1_96);
			}
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
		g_autofree char *path = g_strdup_printf("/proposal/parse/%u", i);
		g_test_add_data_func(path, &parse_cases[i], test_parse);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		g_autofree char *path = g_strdup_printf("/proposal/bad/%u", i);
		g_test_add_data_func(path, &bad_cases[i], test_bad);
	}
	g_test_add_func("/proposal/list", test_list);
	g_test_add_func("/proposal/defaults", test_defaults);
	return g_test_run();
}
