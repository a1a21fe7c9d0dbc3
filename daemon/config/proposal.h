/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Proposals as swanctl.conf writes them: "aes256gcm16-prfsha256-curve25519",
 * "aes128-sha256-ecp256-esn", comma-separated lists of those, and "default".
 * Each proposal is a set of IKEv2 transforms (IANA numbers, include/vpnd/crypto.h);
 * several transforms of one type in a proposal are alternatives, in preference order.
 */
#pragma once

#include <glib.h>
#include <vpnd/crypto.h>

G_BEGIN_DECLS

#define PROPOSAL_ERROR (proposal_error_quark())
GQuark proposal_error_quark(void);
typedef enum {
	PROPOSAL_ERROR_UNKNOWN_KEYWORD,
	PROPOSAL_ERROR_INCOMPLETE, /* e.g. no encryption, or integrity missing */
	PROPOSAL_ERROR_MIXED,      /* AEAD and non-AEAD ciphers in one proposal */
} ProposalError;

/* Protocol IDs of RFC 7296 §3.3.1. */
typedef enum {
	PROPOSAL_PROTO_IKE = 1,
	PROPOSAL_PROTO_AH = 2,
	PROPOSAL_PROTO_ESP = 3,
} ProposalProtocol;

/* Transform Type 5 (RFC 7296) is not a crypto algorithm, so it lives here. */
#define PROPOSAL_TRANSFORM_ESN 5
#define PROPOSAL_ESN_NO 0
#define PROPOSAL_ESN_YES 1

typedef struct {
	guint16 type;     /* VpndAlgType 1-4 or PROPOSAL_TRANSFORM_ESN */
	guint16 id;       /* the IANA number within that type */
	guint16 key_bits; /* Key Length attribute; 0 when the algorithm has none */
} ProposalTransform;

typedef struct {
	ProposalProtocol protocol;
	GArray *transforms; /* ProposalTransform, in the order written */
} Proposal;

Proposal *proposal_new(ProposalProtocol protocol);
void proposal_free(Proposal *proposal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Proposal, proposal_free)
void proposal_add(Proposal *proposal, guint16 type, guint16 id, guint16 key_bits);

/* One proposal, e.g. "aes256-sha256-modp3072". */
Proposal *proposal_parse(ProposalProtocol protocol, const char *text, GError **error);
/*
 * A comma- or blank-separated list; "default" stands for vpnd's defaults at that place.
 * (transfer full) array of Proposal
 */
GPtrArray *proposal_parse_list(ProposalProtocol protocol, const char *text, GError **error);
/* vpnd's defaults for @protocol. (transfer full) */
GPtrArray *proposal_defaults(ProposalProtocol protocol);

/* Back to keywords: "aes256gcm16-prfsha256-curve25519". */
char *proposal_to_string(const Proposal *proposal);

G_END_DECLS
