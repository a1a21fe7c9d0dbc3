/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which payloads each exchange carries (RFC 7296 §1.2–§1.5, §2.6, §2.16), as one
 * table: exchange, request or response, inside SK or not, and per payload type how
 * many times it may and must appear. A payload type missing from a row is not
 * allowed in that exchange. Checked after decoding (and decrypting), before any task
 * sees the message.
 *
 * A response refusing the exchange carries little more than its error notify
 * ("HDR, N(NO_PROPOSAL_CHOSEN)", "HDR, N(COOKIE)"), so a response with an error
 * notify, or an IKE_SA_INIT response with a COOKIE, needs none of the required ones.
 *
 * A violation in a request is answered with INVALID_SYNTAX; one in a response is
 * dropped, since responses are never answered (RFC 7296 §2.21).
 */
#include "ike_msg_private.h"

#define MANY G_MAXUINT8
#define MAX_RULES 14

typedef struct {
	guint8 type; /* IkePayloadType; NONE ends the row */
	guint8 min;
	guint8 max;
} PayloadRule;

typedef struct {
	guint8 exchange; /* IkeExchangeType */
	gboolean response;
	gboolean in_sk; /* every payload inside SK/SKF, which is then the only one outside */
	PayloadRule payloads[MAX_RULES];
} ExchangeRules;

#define REQUEST FALSE
#define RESPONSE TRUE
#define PLAIN FALSE
#define IN_SK TRUE

/* clang-format off */
static const ExchangeRules exchange_rules[] = {
	/* HDR, SAi1, KEi, Ni, [N(COOKIE)], [N+], [V+] */
	{ IKE_EXCHANGE_IKE_SA_INIT, REQUEST, PLAIN, {
		{ IKE_PAYLOAD_SA,      1, 1 },
		{ IKE_PAYLOAD_KE,      1, 1 },
		{ IKE_PAYLOAD_NONCE,   1, 1 },
		{ IKE_PAYLOAD_NOTIFY,  0, MANY },
		{ IKE_PAYLOAD_VENDOR,  0, MANY },
	} },
	/* HDR, SAr1, KEr, Nr, [CERTREQ+], [N+], [V+]  or  HDR, N(error or COOKIE) */
	{ IKE_EXCHANGE_IKE_SA_INIT, RESPONSE, PLAIN, {
		{ IKE_PAYLOAD_SA,      1, 1 },
		{ IKE_PAYLOAD_KE,      1, 1 },
		{ IKE_PAYLOAD_NONCE,   1, 1 },
		{ IKE_PAYLOAD_CERTREQ, 0, MANY },
		{ IKE_PAYLOAD_NOTIFY,  0, MANY },
		{ IKE_PAYLOAD_VENDOR,  0, MANY },
	} },
	/*
	 * HDR, SK { IDi, [CERT+], [CERTREQ+], [IDr], AUTH, [CP], SAi2, TSi, TSr, [N+], [V+] }
	 * With EAP the first request has no AUTH and later ones carry only EAP or AUTH,
	 * so no payload is required in every round: the tasks check per round.
	 */
	{ IKE_EXCHANGE_IKE_AUTH, REQUEST, IN_SK, {
		{ IKE_PAYLOAD_IDI,     0, 1 },
		{ IKE_PAYLOAD_CERT,    0, MANY },
		{ IKE_PAYLOAD_CERTREQ, 0, MANY },
		{ IKE_PAYLOAD_IDR,     0, 1 },
		{ IKE_PAYLOAD_AUTH,    0, 1 },
		{ IKE_PAYLOAD_EAP,     0, 1 },
		{ IKE_PAYLOAD_CP,      0, 1 },
		{ IKE_PAYLOAD_SA,      0, 1 },
		{ IKE_PAYLOAD_TSI,     0, 1 },
		{ IKE_PAYLOAD_TSR,     0, 1 },
		{ IKE_PAYLOAD_NOTIFY,  0, MANY },
		{ IKE_PAYLOAD_VENDOR,  0, MANY },
	} },
	/* HDR, SK { IDr, [CERT+], AUTH, [CP], SAr2, TSi, TSr, [N+], [V+] }, or EAP rounds */
	{ IKE_EXCHANGE_IKE_AUTH, RESPONSE, IN_SK, {
		{ IKE_PAYLOAD_IDR,     0, 1 },
		{ IKE_PAYLOAD_CERT,    0, MANY },
		{ IKE_PAYLOAD_AUTH,    0, 1 },
		{ IKE_PAYLOAD_EAP,     0, 1 },
		{ IKE_PAYLOAD_CP,      0, 1 },
		{ IKE_PAYLOAD_SA,      0, 1 },
		{ IKE_PAYLOAD_TSI,     0, 1 },
		{ IKE_PAYLOAD_TSR,     0, 1 },
		{ IKE_PAYLOAD_NOTIFY,  0, MANY },
		{ IKE_PAYLOAD_VENDOR,  0, MANY },
	} },
	/* HDR, SK { [N(REKEY_SA)], [N+], SA, Ni, [KEi], [TSi, TSr] } (no TS: IKE SA rekey) */
	{ IKE_EXCHANGE_CREATE_CHILD_SA, REQUEST, IN_SK, {
		{ IKE_PAYLOAD_SA,      1, 1 },
		{ IKE_PAYLOAD_NONCE,   1, 1 },
		{ IKE_PAYLOAD_KE,      0, 1 },
		{ IKE_PAYLOAD_TSI,     0, 1 },
		{ IKE_PAYLOAD_TSR,     0, 1 },
		{ IKE_PAYLOAD_NOTIFY,  0, MANY },
		{ IKE_PAYLOAD_VENDOR,  0, MANY },
	} },
	/* HDR, SK { [N+], SA, Nr, [KEr], [TSi, TSr] }  or  HDR, SK { N(error) } */
	{ IKE_EXCHANGE_CREATE_CHILD_SA, RESPONSE, IN_SK, {
		{ IKE_PAYLOAD_SA,      1, 1 },
		{ IKE_PAYLOAD_NONCE,   1, 1 },
		{ IKE_PAYLOAD_KE,      0, 1 },
		{ IKE_PAYLOAD_TSI,     0, 1 },
		{ IKE_PAYLOAD_TSR,     0, 1 },
		{ IKE_PAYLOAD_NOTIFY,  0, MANY },
		{ IKE_PAYLOAD_VENDOR,  0, MANY },
	} },
	/* HDR, SK { [N+], [D+], [CP] }; empty is a liveness check */
	{ IKE_EXCHANGE_INFORMATIONAL, REQUEST, IN_SK, {
		{ IKE_PAYLOAD_NOTIFY,  0, MANY },
		{ IKE_PAYLOAD_DELETE,  0, MANY },
		{ IKE_PAYLOAD_CP,      0, 1 },
		{ IKE_PAYLOAD_VENDOR,  0, MANY },
	} },
	{ IKE_EXCHANGE_INFORMATIONAL, RESPONSE, IN_SK, {
		{ IKE_PAYLOAD_NOTIFY,  0, MANY },
		{ IKE_PAYLOAD_DELETE,  0, MANY },
		{ IKE_PAYLOAD_CP,      0, 1 },
		{ IKE_PAYLOAD_VENDOR,  0, MANY },
	} },
};
/* clang-format on */

static const ExchangeRules *
find_rules(guint8 exchange, gboolean response)
{
	for (gsize i = 0; i < G_N_ELEMENTS(exchange_rules); i++) {
		if (exchange_rules[i].exchange == exchange &&
		    exchange_rules[i].response == response)
			return &exchange_rules[i];
	}
	return NULL;
}

static const PayloadRule *
find_rule(const ExchangeRules *rules, guint8 type)
{
	for (gsize i = 0; i < MAX_RULES && rules->payloads[i].type != IKE_PAYLOAD_NONE; i++) {
		if (rules->payloads[i].type == type)
			return &rules->payloads[i];
	}
	return NULL;
}

static gboolean
is_encrypted(const IkePayload *p)
{
	return p->type == IKE_PAYLOAD_SK || p->type == IKE_PAYLOAD_SKF;
}

/* A refusal carries its notify and need not carry the rest. */
static gboolean
is_refusal(const IkeMsg *msg)
{
	if (!ike_msg_is_response(msg))
		return FALSE;
	if (ike_msg_find_error_notify(msg))
		return TRUE;
	return msg->header.exchange == IKE_EXCHANGE_IKE_SA_INIT &&
	       ike_msg_find_notify(msg, IKE_NOTIFY_COOKIE);
}

/* Where the payloads are: an SK alone outside for IN_SK rows, no SK for PLAIN ones. */
static const char *
check_placement(const IkeMsg *msg, const ExchangeRules *rules, gboolean *drop)
{
	guint n_encrypted = 0, n_plain = 0, n_inner = 0;

	for (guint i = 0; i < msg->payloads->len; i++) {
		const IkePayload *p = g_ptr_array_index(msg->payloads, i);

		if (is_encrypted(p))
			n_encrypted++;
		else if (p->in_sk)
			n_inner++;
		else
			n_plain++;
	}
	if (!rules->in_sk)
		return n_encrypted || n_inner ? "SK in an unencrypted exchange" : NULL;
	/* not protected at all, or not decrypted yet: nothing to trust or answer */
	if (n_encrypted == 0 || !msg->has_inner) {
		*drop = TRUE;
		return n_encrypted ? "SK not decrypted" : "unprotected message";
	}
	return n_plain ? "payload outside SK" : NULL;
}

static const char *
check_counts(const IkeMsg *msg, const ExchangeRules *rules)
{
	guint counts[256] = {0};
	gboolean refusal = is_refusal(msg);

	for (guint i = 0; i < msg->payloads->len; i++) {
		const IkePayload *p = g_ptr_array_index(msg->payloads, i);

		if (is_encrypted(p))
			continue;
		if (!find_rule(rules, p->type))
			return "payload not allowed in this exchange";
		counts[p->type]++;
	}
	for (gsize i = 0; i < MAX_RULES && rules->payloads[i].type != IKE_PAYLOAD_NONE; i++) {
		const PayloadRule *rule = &rules->payloads[i];

		if (counts[rule->type] > rule->max)
			return "payload more often than allowed";
		if (counts[rule->type] < rule->min && !refusal)
			return "required payload missing";
	}
	return NULL;
}

IkeRulesVerdict
ike_msg_check_rules(const IkeMsg *msg, guint16 *notify, const char **reason)
{
	const ExchangeRules *rules = find_rules(msg->header.exchange, ike_msg_is_response(msg));
	gboolean drop = FALSE;
	const char *why;

	*notify = 0;
	if (!rules) {
		why = "exchange type without rules";
		drop = TRUE;
	} else {
		why = check_placement(msg, rules, &drop);
		if (!why)
			why = check_counts(msg, rules);
	}
	if (reason)
		*reason = why;
	if (!why)
		return IKE_RULES_OK;
	g_debug("%s %s: %s", ike_exchange_type_to_string(msg->header.exchange),
	        ike_msg_is_response(msg) ? "response" : "request", why);
	if (drop || ike_msg_is_response(msg))
		return IKE_RULES_DROP;
	*notify = IKE_NOTIFY_INVALID_SYNTAX;
	return IKE_RULES_NOTIFY;
}
