/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every size and count limit of the IKE codec, in one place. Sizes fixed by the RFCs
 * say where they come from; the others are our choice, generous enough for any peer
 * we know (a strongSwan default proposal has about 40 transforms) and small enough
 * that a hostile datagram cannot make the decoder do much work.
 */
#pragma once

/* RFC 7296 §3.1: the fixed IKE header. */
#define IKE_HEADER_LEN 28
/* RFC 7296 §3.2: the generic payload header. */
#define IKE_PAYLOAD_HEADER_LEN 4
/* A datagram: the 16-bit UDP length bounds it; the 32-bit header field could say more. */
#define IKE_MSG_MAX_LEN 65535

/* Payloads in one message, outside and inside SK together, skipped ones included. */
#define IKE_MAX_PAYLOADS 64

/* SA payload: proposals per payload (transforms per proposal: the 8-bit count field). */
#define IKE_MAX_PROPOSALS 64
/* Attributes per transform (only Key Length is defined; others are counted, skipped). */
#define IKE_MAX_ATTRIBUTES 16
/* RFC 7296 §3.3.1: SPI sizes a proposal may carry (IKE: 0 or 8; AH/ESP: 4). */
#define IKE_MAX_SPI_LEN 8

/* RFC 7296 §3.9: a nonce is at least 16 and at most 256 bytes. */
#define IKE_NONCE_MIN_LEN 16
#define IKE_NONCE_MAX_LEN 256

/* Traffic selectors per TSi/TSr payload. */
#define IKE_MAX_TRAFFIC_SELECTORS 64
/* RFC 7296 §3.13.1: the two selector lengths. */
#define IKE_TS_IPV4_LEN 16
#define IKE_TS_IPV6_LEN 40

/* Configuration attributes per CP payload. */
#define IKE_MAX_CP_ATTRIBUTES 64

/* RFC 3748 §4: an EAP header is 4 bytes, 5 with the type of a Request/Response. */
#define IKE_EAP_HEADER_LEN 4
