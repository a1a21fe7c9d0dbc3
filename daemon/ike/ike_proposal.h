/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Proposal selection between our configuration (config/proposal.h) and a peer's SA
 * payload (RFC 7296 §2.7, §3.3), and the SA payloads we send.
 */
#pragma once

#include <glib.h>

#include "config/proposal.h"
#include "ike_payload.h"

G_BEGIN_DECLS

/* One transform of each type: what a proposal negotiated. */
typedef struct {
	guint8 protocol; /* IkeProtocolId */
	guint8 number;   /* the proposal number it was chosen from */
	guint16 encr;
	guint16 encr_bits; /* Key Length attribute; 0 when none */
	guint16 integ;     /* 0 with AEADs */
	guint16 prf;       /* IKE only */
	guint16 ke;        /* 0: none (ESP without PFS) */
	gboolean esn;
	guint32 spi; /* ESP: the SPI in the chosen proposal (host order) */
} IkeChosen;

typedef enum {
	IKE_PROPOSAL_KE_USE,    /* KE transforms take part */
	IKE_PROPOSAL_KE_IGNORE, /* child SA in IKE_AUTH: KE transforms are left out */
} IkeProposalKeMode;

/*
 * Appends one proposal per entry of @config (Proposal) to the SA payload @sa, with
 * @spi (nullable, @spi_len 0 for IKE_SA_INIT).
 */
void ike_proposal_add_all(IkePayload *sa, GPtrArray *config, guint8 protocol, const guint8 *spi,
			  gsize spi_len, IkeProposalKeMode ke_mode);
/* Appends the one chosen proposal (a response's SA payload). */
void ike_proposal_add_chosen(IkePayload *sa, const IkeChosen *chosen, const guint8 *spi,
			     gsize spi_len);

/*
 * Picks the first acceptable combination: in our order of @config, or in the order of
 * @received when @prefer_received. FALSE when nothing fits (NO_PROPOSAL_CHOSEN).
 */
gboolean ike_proposal_select(GPtrArray *config, const IkeSaPayload *received, guint8 protocol,
			     gboolean prefer_received, IkeProposalKeMode ke_mode, IkeChosen *out);
/* TRUE when @config offers the group @ke in any proposal. */
gboolean ike_proposal_has_ke(GPtrArray *config, guint16 ke);
/* The first KE group of the first proposal that has one; 0: none. */
guint16 ike_proposal_first_ke(GPtrArray *config);

/* Key bytes (ESP/IKE keymat) for the chosen cipher incl. salt, and integrity. */
gsize ike_proposal_encr_key_len(const IkeChosen *chosen);
gsize ike_proposal_integ_key_len(guint16 integ);

G_END_DECLS
