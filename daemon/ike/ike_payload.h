/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decoded IKEv2 payloads (RFC 7296 §3.2–§3.16, RFC 7383 §2.5): plain structs, one per
 * payload kind, in a tagged union. The decoder fills them, the builder writes them,
 * and what the builder writes decodes back to the same structs.
 *
 * Byte strings are GBytes: a decoded payload's point into the datagram it came from
 * (one reference on it, no copy). Fields the RFCs call RESERVED are not kept: they
 * are ignored on receipt and sent as zero. Transform types and IDs are plain integers
 * in the numbering of include/vpnd/crypto.h.
 */
#pragma once

#include <glib.h>

#include "ike_limits.h"
#include "ike_types.h"

G_BEGIN_DECLS

/* RFC 7296 §3.3.2, §3.3.5. */
typedef struct {
	guint8 type; /* VpndAlgType 1–4, or 5 (Extended Sequence Numbers) */
	guint16 id;  /* VpndEncrId, VpndPrfId … by type */
	gboolean has_key_length;
	guint16 key_length; /* bits, from the TV Key Length attribute */
	/* RFC 7296 §3.3.6: a transform with an attribute we do not know is unacceptable. */
	gboolean unknown_attributes;
} IkeTransform;

/* RFC 7296 §3.3.1. */
typedef struct {
	guint8 number;
	guint8 protocol; /* IkeProtocolId */
	guint8 spi_len;  /* 0, 4 or 8 */
	guint8 spi[IKE_MAX_SPI_LEN];
	GArray *transforms; /* IkeTransform, in wire order */
} IkeProposal;

typedef struct {
	GArray *proposals; /* IkeProposal, in wire order; never empty once decoded */
} IkeSaPayload;

typedef struct {
	guint16 group; /* VpndKeId */
	GBytes *data;
} IkeKePayload;

/* IDi and IDr. */
typedef struct {
	guint8 type; /* IkeIdType */
	GBytes *data;
} IkeIdPayload;

/* CERT and CERTREQ (whose data is a list of CA key hashes). */
typedef struct {
	guint8 encoding; /* IkeCertEncoding */
	GBytes *data;
} IkeCertPayload;

typedef struct {
	guint8 method; /* IkeAuthMethod */
	GBytes *data;
} IkeAuthPayload;

/* Nonce (IKE_NONCE_MIN_LEN..IKE_NONCE_MAX_LEN bytes) and Vendor ID. */
typedef struct {
	GBytes *data;
} IkeDataPayload;

typedef struct {
	guint8 protocol; /* IkeProtocolId; NONE when no SPI */
	guint8 spi_len;
	guint8 spi[IKE_MAX_SPI_LEN];
	guint16 type; /* IkeNotifyType */
	GBytes *data;
} IkeNotifyPayload;

/* RFC 7296 §3.11: IKE carries no SPI; AH and ESP carry 4-byte SPIs. */
typedef struct {
	guint8 protocol; /* IkeProtocolId */
	GArray *spis;    /* guint32, host order; empty for IKE */
} IkeDeletePayload;

/* RFC 7296 §3.13.1; an IPv4 range uses the first 4 bytes of the addresses. */
typedef struct {
	guint8 type;        /* IkeTsType */
	guint8 ip_protocol; /* 0: any */
	guint16 start_port;
	guint16 end_port;
	guint8 start_addr[16];
	guint8 end_addr[16];
} IkeTrafficSelector;

/* TSi and TSr. */
typedef struct {
	GArray *selectors; /* IkeTrafficSelector; selectors of unknown types are left out */
	guint n_unknown;   /* how many were left out */
} IkeTsPayload;

/*
 * SK (RFC 7296 §3.14) and SKF (RFC 7383 §2.5). @data is IV || ciphertext || ICV as it
 * is on the wire; decryption happens elsewhere and its plaintext goes to
 * ike_payloads_parse(@first_type, …). @offset is where the payload's generic header
 * starts in the message, so the AEAD associated data is message[0 .. offset + 4] (+ 4
 * more for SKF's fragment fields), and what an ICV covers ends before the ICV.
 */
typedef struct {
	guint8 first_type; /* IkePayloadType of the first inner payload (0 in SKF 2..n) */
	guint16 fragment;  /* SKF only: number, from 1 */
	guint16 total;     /* SKF only: total fragments */
	GBytes *data;
	gsize offset; /* set by the decoder and by ike_msg_build() */
} IkeSkPayload;

/* RFC 7296 §3.15.1. */
typedef struct {
	guint16 type; /* IkeCfgAttrType; the reserved top bit is dropped */
	GBytes *value;
} IkeCfgAttr;

typedef struct {
	guint8 type;        /* IkeCfgType */
	GArray *attributes; /* IkeCfgAttr */
} IkeCpPayload;

/* RFC 7296 §3.16 carrying an RFC 3748 packet. */
typedef struct {
	guint8 code; /* IkeEapCode */
	guint8 identifier;
	guint8 type;  /* Request/Response only */
	GBytes *data; /* type data after @type; NULL for Success/Failure */
} IkeEapPayload;

typedef struct {
	guint8 type;    /* IkePayloadType: selects the union member */
	gboolean in_sk; /* decoded from, or to be built into, the SK plaintext */
	union {
		IkeSaPayload sa;
		IkeKePayload ke;
		IkeIdPayload id;     /* IDI, IDR */
		IkeCertPayload cert; /* CERT, CERTREQ */
		IkeAuthPayload auth;
		IkeDataPayload nonce;
		IkeNotifyPayload notify;
		IkeDeletePayload del;
		IkeDataPayload vendor;
		IkeTsPayload ts; /* TSI, TSR */
		IkeSkPayload sk; /* SK, SKF */
		IkeCpPayload cp;
		IkeEapPayload eap;
	};
} IkePayload;

/* TRUE for the types this codec decodes (and the builder writes). */
gboolean ike_payload_type_is_known(guint8 type);

/*
 * An empty payload of a known @type, its arrays created; byte fields NULL (the
 * builder writes NULL as empty). (transfer full)
 */
IkePayload *ike_payload_new(IkePayloadType type);
void ike_payload_free(IkePayload *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IkePayload, ike_payload_free)

/*
 * Sets the payload's main byte string (KE, ID, CERT, CERTREQ, AUTH data, nonce,
 * notify and vendor data, SK data, EAP type data) to a copy of @data.
 */
void ike_payload_set_data(IkePayload *p, const void *data, gsize len);
/* That byte string: (nullable) (transfer none); *@len 0 when there is none. */
const guint8 *ike_payload_get_data(const IkePayload *p, gsize *len);

/* SA: appends a proposal numbered one more than the last. (transfer none) */
IkeProposal *ike_payload_add_proposal(IkePayload *sa, guint8 protocol, const guint8 *spi,
                                      gsize spi_len);
/* @key_length 0: no Key Length attribute. */
void ike_payload_proposal_add_transform(IkeProposal *prop, guint8 type, guint16 id,
                                        guint16 key_length);
/* TSi/TSr. */
void ike_payload_add_selector(IkePayload *ts, const IkeTrafficSelector *sel);
/* Delete (AH/ESP). */
void ike_payload_add_delete_spi(IkePayload *del, guint32 spi);
/* CP; @value may be NULL with @len 0 (an attribute requested, no value). */
void ike_payload_add_cfg_attr(IkePayload *cp, guint16 type, const void *value, gsize len);

G_END_DECLS
