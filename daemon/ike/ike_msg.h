/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An IKEv2 message (RFC 7296 §3): its header and its payloads in wire order, decoded
 * from a datagram or assembled to be built into one.
 *
 * Receiving:
 *   ike_msg_decode()        header + outer payload chain; SK/SKF kept undecrypted
 *   (decrypt elsewhere)     with the keys, using the SK payload's data and offset
 *   ike_payloads_parse()    the plaintext's chain, appended with in_sk = TRUE
 *   ike_msg_check_rules()   which payloads this exchange allows, inside SK or not
 * Sending:
 *   ike_msg_new(), ike_msg_add_payload() …   in_sk payloads go inside SK
 *   ike_msg_build_inner()   the plaintext chain to encrypt
 *   ike_msg_build()         header + outer payloads + SK (data as the caller set it)
 *
 * The codec touches no SA state and logs at debug level only. Peer input never
 * reaches a g_return_if_fail() or an assertion.
 */
#pragma once

#include <glib.h>

#include "ike_limits.h"
#include "ike_payload.h"
#include "ike_types.h"

G_BEGIN_DECLS

/* RFC 7296 §3.1. */
typedef struct {
	guint64 spi_i;
	guint64 spi_r;
	guint8 next_payload;  /* as decoded; the builder computes its own */
	guint8 major_version; /* the builder writes 2 only */
	guint8 minor_version; /* ignored on receipt (RFC 7296 §2.5) */
	guint8 exchange;      /* IkeExchangeType */
	guint8 flags;         /* IkeHeaderFlag bits; others kept as received */
	guint32 message_id;
	guint32 length; /* as decoded; the builder computes its own */
} IkeHeader;

#define IKE_MAJOR_VERSION 2

typedef enum {
	IKE_PARSE_OK,
	/* lengths or counts that do not add up: INVALID_SYNTAX for a request, else drop */
	IKE_PARSE_MALFORMED,
	/* an unknown payload with the critical bit: UNSUPPORTED_CRITICAL_PAYLOAD whose
	 * one byte of data is IkeParseDetail.payload_type (RFC 7296 §2.5, §3.10.1) */
	IKE_PARSE_UNSUPPORTED_CRITICAL,
	/* major version above 2: INVALID_MAJOR_VERSION (RFC 7296 §2.5); header valid */
	IKE_PARSE_INVALID_MAJOR_VERSION,
	/* nothing worth an answer: short, wrong length field, not IKEv2 */
	IKE_PARSE_DROP,
} IkeParseResult;

const char *ike_parse_result_to_string(IkeParseResult result);

/* What went wrong and where, for a debug line and for the answer. */
typedef struct {
	gboolean have_header; /* @header is valid (decode only) */
	IkeHeader header;
	guint8 payload_type; /* the payload being read when it failed */
	gsize offset;        /* of that payload, from the start of the decoded bytes */
	const char *reason;  /* static text; NULL on success */
} IkeParseDetail;

typedef struct _IkeMsg IkeMsg;

/* An empty message with a copy of @header; lengths are computed when built. */
IkeMsg *ike_msg_new(const IkeHeader *header);
void ike_msg_free(IkeMsg *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IkeMsg, ike_msg_free)

/* (transfer none); the caller may change fields before building. */
IkeHeader *ike_msg_get_header(IkeMsg *msg);
gboolean ike_msg_is_response(const IkeMsg *msg);
/* A CREATE_CHILD_SA whose SA payload proposes an IKE SA (RFC 7296 §1.3.2). */
gboolean ike_msg_is_ike_rekey(const IkeMsg *msg);
/* The datagram it was decoded from; NULL for a message built here. (transfer none) */
GBytes *ike_msg_get_raw(const IkeMsg *msg);

/* Appends a new empty payload. (transfer none): the message owns it. */
IkePayload *ike_msg_add_payload(IkeMsg *msg, IkePayloadType type, gboolean in_sk);
/* Appends @payload. (transfer full) */
void ike_msg_take_payload(IkeMsg *msg, IkePayload *payload);
/* Shorthands for the common ones. (transfer none) */
IkePayload *ike_msg_add_notify(IkeMsg *msg, gboolean in_sk, guint16 type, guint8 protocol,
                               const guint8 *spi, gsize spi_len, const void *data, gsize len);
IkePayload *ike_msg_add_nonce(IkeMsg *msg, gboolean in_sk, const void *nonce, gsize len);
IkePayload *ike_msg_add_ke(IkeMsg *msg, gboolean in_sk, guint16 group, const void *data, gsize len);

/* All payloads, outside and inside SK, in wire order (outer first). (transfer none) */
guint ike_msg_get_n_payloads(const IkeMsg *msg);
IkePayload *ike_msg_get_payload(const IkeMsg *msg, guint index);
/* The first payload of @type, or NULL. (transfer none) */
IkePayload *ike_msg_find(const IkeMsg *msg, IkePayloadType type);
guint ike_msg_count(const IkeMsg *msg, IkePayloadType type);
/* The first Notify of @notify_type, or NULL. (transfer none) */
IkePayload *ike_msg_find_notify(const IkeMsg *msg, guint16 notify_type);
/* The first Notify of an error type (below 16384), or NULL. (transfer none) */
IkePayload *ike_msg_find_error_notify(const IkeMsg *msg);
/* Types of the unknown non-critical payloads skipped, in wire order. (transfer none) */
const guint8 *ike_msg_get_skipped(const IkeMsg *msg, guint *n);
/* TRUE once ike_payloads_parse() has added the SK plaintext's payloads. */
gboolean ike_msg_has_inner(const IkeMsg *msg);

/*
 * for (IkePayload *p = ike_msg_iter_init(&it, msg, IKE_PAYLOAD_TSI); p;
 *      p = ike_msg_iter_next(&it))
 * @type NONE visits every payload.
 */
typedef struct {
	const IkeMsg *msg;
	guint next;
	guint8 type;
} IkeMsgIter;

IkePayload *ike_msg_iter_init(IkeMsgIter *iter, const IkeMsg *msg, IkePayloadType type);
IkePayload *ike_msg_iter_next(IkeMsgIter *iter);

/*
 * Decodes one datagram (the non-ESP marker already removed). On IKE_PARSE_OK *@msg
 * is set (transfer full) and keeps a reference on @datagram; otherwise *@msg stays
 * NULL and @detail (nullable) says why, with the header when one could be read.
 */
IkeParseResult ike_msg_decode(GBytes *datagram, IkeMsg **msg, IkeParseDetail *detail);
/* The same on bytes it copies. */
IkeParseResult ike_msg_decode_data(const guint8 *data, gsize len, IkeMsg **msg,
                                   IkeParseDetail *detail);

/*
 * Parses the decrypted SK (or reassembled SKF) plaintext, padding removed, as a
 * payload chain starting with @first_type, and appends its payloads to @msg with
 * in_sk = TRUE. The plaintext is copied. All or nothing: unless IKE_PARSE_OK, @msg
 * is unchanged. An SK inside SK is IKE_PARSE_MALFORMED.
 */
IkeParseResult ike_payloads_parse(guint8 first_type, const guint8 *data, gsize len, IkeMsg *msg,
                                  IkeParseDetail *detail);

/*
 * Appends the header and the payloads with in_sk FALSE to @out, SK or SKF last with
 * its data as set (the caller fills in IV, ciphertext and ICV afterwards, at
 * sk.offset, or before). Sets sk.offset. FALSE (and @out as it was) when something
 * cannot be encoded: a field out of range, a payload or the message too long, SK not
 * last.
 */
gboolean ike_msg_build(IkeMsg *msg, GByteArray *out);
/* Appends the in_sk payloads' chain (the plaintext to encrypt) and gives its first type. */
gboolean ike_msg_build_inner(IkeMsg *msg, GByteArray *out, guint8 *first_type);

typedef enum {
	IKE_RULES_OK,
	IKE_RULES_NOTIFY, /* answer with the notify given (a request only) */
	IKE_RULES_DROP,   /* drop: a response, an unknown exchange, an unprotected one */
} IkeRulesVerdict;

/*
 * Checks @msg against its exchange's rule table: which payloads may appear, how
 * often, which are required, and whether they must be inside SK. Call it once the SK
 * plaintext has been parsed (for an encrypted exchange). On IKE_RULES_NOTIFY,
 * *@notify is the IkeNotifyType to answer with; @reason (nullable) gets static text.
 */
IkeRulesVerdict ike_msg_check_rules(const IkeMsg *msg, guint16 *notify, const char **reason);

G_END_DECLS
