/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ike_proposal.h"

#include "core/crypto.h"
#include "ike_types.h"

#define NUM_TYPES 6 /* transform types 1..5 */

static gboolean
skip_type(guint16 type, IkeProposalKeMode ke_mode)
{
	return type == VPND_ALG_KE && ke_mode == IKE_PROPOSAL_KE_IGNORE;
}

void
ike_proposal_add_all(IkePayload *sa, GPtrArray *config, guint8 protocol, const guint8 *spi,
		     gsize spi_len, IkeProposalKeMode ke_mode)
{
	for (guint i = 0; i < config->len; i++) {
		const Proposal *p = g_ptr_array_index(config, i);
		IkeProposal *prop = ike_payload_add_proposal(sa, protocol, spi, spi_len);

		for (guint t = 0; t < p->transforms->len; t++) {
			const ProposalTransform *tr =
				&g_array_index(p->transforms, ProposalTransform, t);

			if (skip_type(tr->type, ke_mode))
				continue;
			ike_payload_proposal_add_transform(prop, (guint8)tr->type, tr->id,
							   tr->key_bits);
		}
	}
}

void
ike_proposal_add_chosen(IkePayload *sa, const IkeChosen *c, const guint8 *spi, gsize spi_len)
{
	IkeProposal *prop = ike_payload_add_proposal(sa, c->protocol, spi, spi_len);

	prop->number = c->number;
	ike_payload_proposal_add_transform(prop, VPND_ALG_ENCR, c->encr, c->encr_bits);
	if (c->prf)
		ike_payload_proposal_add_transform(prop, VPND_ALG_PRF, c->prf, 0);
	if (c->integ)
		ike_payload_proposal_add_transform(prop, VPND_ALG_INTEG, c->integ, 0);
	if (c->ke)
		ike_payload_proposal_add_transform(prop, VPND_ALG_KE, c->ke, 0);
	if (c->protocol != IKE_PROTOCOL_IKE)
		ike_payload_proposal_add_transform(prop, PROPOSAL_TRANSFORM_ESN,
						   c->esn ? PROPOSAL_ESN_YES : PROPOSAL_ESN_NO, 0);
}

static gboolean
received_has(const IkeProposal *rp, guint16 type, guint16 id, guint16 bits)
{
	for (guint i = 0; i < rp->transforms->len; i++) {
		const IkeTransform *t = &g_array_index(rp->transforms, IkeTransform, i);

		if (t->type == type && t->id == id && !t->unknown_attributes &&
		    (t->has_key_length ? t->key_length : 0) == bits)
			return TRUE;
	}
	return FALSE;
}

static gboolean
received_has_type(const IkeProposal *rp, guint16 type)
{
	for (guint i = 0; i < rp->transforms->len; i++) {
		if (g_array_index(rp->transforms, IkeTransform, i).type == type)
			return TRUE;
	}
	return FALSE;
}

/* Our transforms of each type in @p, in our order, matched against @rp. */
static gboolean
match(const Proposal *p, const IkeProposal *rp, guint8 protocol, IkeProposalKeMode ke_mode,
      IkeChosen *out)
{
	IkeChosen c = { .protocol = protocol, .number = rp->number };
	gboolean found[NUM_TYPES] = { FALSE };
	gboolean offered[NUM_TYPES] = { FALSE };

	if (rp->protocol != protocol)
		return FALSE;
	if (protocol == IKE_PROTOCOL_ESP && rp->spi_len != 4)
		return FALSE;
	for (guint i = 0; i < p->transforms->len; i++) {
		const ProposalTransform *t = &g_array_index(p->transforms, ProposalTransform, i);

		if (t->type >= NUM_TYPES || skip_type(t->type, ke_mode))
			continue;
		offered[t->type] = TRUE;
		if (found[t->type] || !received_has(rp, t->type, t->id, t->key_bits))
			continue;
		found[t->type] = TRUE;
		switch (t->type) {
		case VPND_ALG_ENCR:
			c.encr = t->id;
			c.encr_bits = t->key_bits;
			break;
		case VPND_ALG_PRF:
			c.prf = t->id;
			break;
		case VPND_ALG_INTEG:
			c.integ = t->id;
			break;
		case VPND_ALG_KE:
			c.ke = t->id;
			break;
		case PROPOSAL_TRANSFORM_ESN:
			c.esn = t->id == PROPOSAL_ESN_YES;
			break;
		default:
			break;
		}
	}
	/* every type either side offers must be agreed on (RFC 7296 §3.3.6) */
	for (guint16 type = 1; type < NUM_TYPES; type++) {
		gboolean theirs = received_has_type(rp, type) && !skip_type(type, ke_mode);

		if ((offered[type] || theirs) && !found[type])
			return FALSE;
	}
	if (!c.encr || (protocol == IKE_PROTOCOL_IKE && (!c.prf || !c.ke)))
		return FALSE;
	if (!crypto_encr_is_aead(c.encr) && !c.integ)
		return FALSE;
	if (protocol == IKE_PROTOCOL_ESP)
		c.spi = (guint32)rp->spi[0] << 24 | (guint32)rp->spi[1] << 16 |
			(guint32)rp->spi[2] << 8 | rp->spi[3];
	*out = c;
	return TRUE;
}

gboolean
ike_proposal_select(GPtrArray *config, const IkeSaPayload *received, guint8 protocol,
		    gboolean prefer_received, IkeProposalKeMode ke_mode, IkeChosen *out)
{
	guint n_ours = config->len, n_theirs = received->proposals->len;

	for (guint a = 0; a < (prefer_received ? n_theirs : n_ours); a++) {
		for (guint b = 0; b < (prefer_received ? n_ours : n_theirs); b++) {
			guint ours = prefer_received ? b : a, theirs = prefer_received ? a : b;
			const Proposal *p = g_ptr_array_index(config, ours);
			const IkeProposal *rp =
				&g_array_index(received->proposals, IkeProposal, theirs);

			if (match(p, rp, protocol, ke_mode, out))
				return TRUE;
		}
	}
	return FALSE;
}

gboolean
ike_proposal_has_ke(GPtrArray *config, guint16 ke)
{
	for (guint i = 0; i < config->len; i++) {
		const Proposal *p = g_ptr_array_index(config, i);

		for (guint t = 0; t < p->transforms->len; t++) {
			const ProposalTransform *tr =
				&g_array_index(p->transforms, ProposalTransform, t);

			if (tr->type == VPND_ALG_KE && tr->id == ke)
				return TRUE;
		}
	}
	return FALSE;
}

guint16
ike_proposal_first_ke(GPtrArray *config)
{
	for (guint i = 0; i < config->len; i++) {
		const Proposal *p = g_ptr_array_index(config, i);

		for (guint t = 0; t < p->transforms->len; t++) {
			const ProposalTransform *tr =
				&g_array_index(p->transforms, ProposalTransform, t);

			if (tr->type == VPND_ALG_KE && tr->id)
				return tr->id;
		}
	}
	return 0;
}

gsize
ike_proposal_encr_key_len(const IkeChosen *c)
{
	gsize bits = c->encr_bits ? c->encr_bits : 256; /* ChaCha20 has no Key Length */

	return bits / 8 + crypto_encr_salt_len(c->encr);
}

gsize
ike_proposal_integ_key_len(guint16 integ)
{
	switch ((VpndIntegId)integ) {
	case VPND_INTEG_HMAC_SHA1_96:
		return 20;
	case VPND_INTEG_AES_XCBC_96:
	case VPND_INTEG_AES_CMAC_96:
		return 16;
	case VPND_INTEG_HMAC_SHA2_256_128:
		return 32;
	case VPND_INTEG_HMAC_SHA2_384_192:
		return 48;
	case VPND_INTEG_HMAC_SHA2_512_256:
		return 64;
	}
	return 0;
}
