/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connection configuration: what a VICI load-conn or a swanctl.conf connection says,
 * as plain structs the IKE engine reads. Filled by the loaders (and by tests directly);
 * the engine only borrows, so a ConnConfig is refcounted: every IKE SA holds a ref.
 *
 * Identities (ConnIdentity) are kept both as the text the user wrote and as the IKEv2
 * ID payload they become (RFC 7296 §3.5): type and data.
 */
#pragma once

#include <glib.h>
#include <vpnd/kernel.h>

G_BEGIN_DECLS

/* The largest replay_window a child may ask for: kernel-tun's ESP limit. */
#define CONN_MAX_REPLAY_WINDOW 4096
#define CONN_ERROR (conn_error_quark())
GQuark conn_error_quark(void);
typedef enum {
	CONN_ERROR_IDENTITY,         /* an identity that cannot be encoded */
	CONN_ERROR_TRAFFIC_SELECTOR, /* a traffic selector that cannot be read */
	CONN_ERROR_ADDRESS,
	CONN_ERROR_INVALID, /* a connection or secret definition that cannot be used */
} ConnError;

/* An identity; type 0 with text "%any" matches every peer identity. */
typedef struct {
	guint8 type;  /* IkeIdType numbers (RFC 7296 §3.5) */
	char *text;   /* as written */
	GBytes *data; /* the ID payload's Identification Data; NULL for %any */
} ConnIdentity;

/*
 * Parses "%any", "1.2.3.4", "2001:db8::1", "@fqdn" or "fqdn", "user@fqdn" (RFC822),
 * "@#0123ab" (KEY_ID, hex), "C=CH, O=org, CN=name" (DER_ASN1_DN; RDN types C, ST, L, O,
 * OU, CN, E/emailAddress, SN, serialNumber, DC, UID as one UTF8String/IA5String/
 * PrintableString attribute per RDN). (transfer full)
 */
ConnIdentity *conn_identity_parse(const char *text, GError **error);
/* From an ID payload received (@data copied). (transfer full) */
ConnIdentity *conn_identity_new_from_payload(guint8 type, const guint8 *data, gsize len);
void conn_identity_free(ConnIdentity *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConnIdentity, conn_identity_free)
gboolean conn_identity_is_any(const ConnIdentity *id);
/* @config (possibly %any) accepts @peer: same type and bytes. */
gboolean conn_identity_matches(const ConnIdentity *config, const ConnIdentity *peer);

typedef enum {
	CONN_AUTH_PSK = 1,
} ConnAuthMethod;

/* One authentication round (only one round with PSK is supported so far). */
typedef struct {
	ConnAuthMethod method;
	ConnIdentity *id; /* (owned) */
} ConnAuth;

/* A traffic selector as configured; "dynamic" stands for the IKE SA's own address. */
typedef struct {
	gboolean dynamic;
	VpndTs ts; /* unless dynamic; its protocol and ports also apply when dynamic */
} ConnTs;

/*
 * "dynamic", "10.1.0.0/16", "10.1.0.5", "2001:db8::/32", "10.0.0.1-10.0.0.9", each
 * optionally followed by "[PROTO/PORT]" with PROTO a number or tcp/udp/icmp/icmpv6 and
 * PORT a number, "a-b" or empty ("[tcp]", "[tcp/443]", "[udp/1000-2000]").
 */
gboolean conn_ts_parse(const char *text, ConnTs *out, GError **error);

typedef enum {
	CONN_START_NONE = 0,
	CONN_START_START = 1, /* initiate at load */
	CONN_START_TRAP = 2,  /* install trap policies, initiate on traffic */
} ConnStartAction;

/* What becomes of a child when its peer is gone (dpd_action: DPD or retransmissions
 * got no answer) or closed it (close_action: a Delete from the peer). */
typedef enum {
	CONN_GONE_CLEAR = 0,   /* nothing more (charon's "none", also "clear") */
	CONN_GONE_TRAP = 1,    /* trap policies: traffic brings it back */
	CONN_GONE_RESTART = 2, /* initiate it again at once, under a new IKE SA */
} ConnGoneAction;

/* What an IKE SA that authenticates a peer does to the others between the same
 * identities (swanctl.conf's unique). */
typedef enum {
	CONN_UNIQUE_NO = 0,  /* nothing, except for INITIAL_CONTACT (RFC 7296 §2.4) */
	CONN_UNIQUE_NEVER,   /* nothing, even for INITIAL_CONTACT */
	CONN_UNIQUE_REPLACE, /* the older ones are deleted */
} ConnUnique;

typedef struct {
	char *name;
	GArray *local_ts;         /* ConnTs; empty means one "dynamic" */
	GArray *remote_ts;        /* ConnTs; empty means one "dynamic" */
	GPtrArray *esp_proposals; /* Proposal (PROPOSAL_PROTO_ESP) */
	VpndIpsecMode mode;
	ConnStartAction start_action;
	guint rekey_time; /* seconds; 0: no rekeying */
	guint life_time;  /* seconds; 0: rekey_time * 1.1 */
	guint rand_time;  /* seconds taken at random off rekey_time; 0: life_time - rekey_time */
	guint32 if_id_in, if_id_out; /* XFRM interface ids (route-based); 0: none */
	guint32 replay_window;       /* inbound anti-replay window, packets; 0: the provider's */
	ConnGoneAction dpd_action, close_action;
} ChildConfig;

ChildConfig *child_config_new(const char *name);
void child_config_free(ChildConfig *child);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChildConfig, child_config_free)
/* Shorthands for loaders and tests; FALSE (and @error) when @text cannot be read. */
gboolean child_config_add_local_ts(ChildConfig *child, const char *text, GError **error);
gboolean child_config_add_remote_ts(ChildConfig *child, const char *text, GError **error);

typedef struct {
	gint ref;
	char *name;
	VpndAddr local_addr;                 /* family 0: any */
	VpndAddr remote_addr;                /* family 0: any (then this side cannot initiate) */
	/* remote_addrs given as a DNS name: resolved into remote_addr at each initiation
	 * (until then the peer may come from anywhere); NULL for an address or %any */
	char *remote_host;
	GPtrArray *ike_proposals;            /* Proposal (PROPOSAL_PROTO_IKE) */
	GPtrArray *local_auth;               /* ConnAuth, one per round */
	GPtrArray *remote_auth;              /* ConnAuth, one per round */
	GPtrArray *children;                 /* ChildConfig */
	gboolean encap;                      /* force ESP in UDP: pretend a NAT is in the way */
	gboolean prefer_initiator_proposals; /* responder: pick by the initiator's order */
	guint dpd_delay;                     /* seconds; 0: no liveness checks */
	ConnUnique unique;
	guint keyingtries; /* attempts of an initiation whose peer does not answer; 0: no limit */
	guint rekey_time; /* IKE SA, seconds; 0: no rekeying */
	guint over_time;  /* IKE SA lives rekey_time + over_time at most; 0: 10 % of rekey_time */
	guint rand_time;  /* seconds taken at random off rekey_time; 0: over_time */
} ConnConfig;

ConnConfig *conn_config_new(const char *name);
ConnConfig *conn_config_ref(ConnConfig *conn);
void conn_config_unref(ConnConfig *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConnConfig, conn_config_unref)

/* Appends an auth round; @id is parsed with conn_identity_parse(). */
gboolean conn_config_add_auth(ConnConfig *conn, gboolean local, ConnAuthMethod method,
			      const char *id, GError **error);
/* (transfer full) @child */
void conn_config_take_child(ConnConfig *conn, ChildConfig *child);
/* (nullable) (transfer none) */
ChildConfig *conn_config_get_child(ConnConfig *conn, const char *name);
/* The identity of the first round on that side, or NULL. (transfer none) */
const ConnIdentity *conn_config_get_id(const ConnConfig *conn, gboolean local);

/* "192.0.2.1", "2001:db8::1"; FALSE for anything else. */
gboolean conn_addr_parse(const char *text, guint16 port, VpndAddr *out);
/* A name DNS could resolve: letters, digits, '-' and '.', labels of 1 to 63. */
gboolean conn_is_host_name(const char *text);

G_END_DECLS
