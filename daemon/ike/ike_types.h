/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IANA numbers of IKEv2 ("Internet Key Exchange Version 2 (IKEv2) Parameters"
 * registry) that the codec and the engine name, each enum with a _to_string() for
 * logs. Transform types and IDs are not here: include/vpnd/crypto.h owns them, and the
 * codec carries them as plain integers.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* RFC 7296 §3.1: exchange types. */
typedef enum {
	IKE_EXCHANGE_IKE_SA_INIT = 34,
	IKE_EXCHANGE_IKE_AUTH = 35,
	IKE_EXCHANGE_CREATE_CHILD_SA = 36,
	IKE_EXCHANGE_INFORMATIONAL = 37,
	IKE_EXCHANGE_IKE_SESSION_RESUME = 38, /* RFC 5723 */
	IKE_EXCHANGE_IKE_INTERMEDIATE = 43,   /* RFC 9242 */
} IkeExchangeType;

/* RFC 7296 §3.1: header flags. */
typedef enum {
	IKE_FLAG_INITIATOR = 0x08, /* sent by the original initiator of the IKE SA */
	IKE_FLAG_VERSION = 0x10,   /* sender could speak a higher major version */
	IKE_FLAG_RESPONSE = 0x20,
} IkeHeaderFlag;

/* RFC 7296 §3.2 and RFC 7383: payload types. NONE ends a chain. */
typedef enum {
	IKE_PAYLOAD_NONE = 0,
	IKE_PAYLOAD_SA = 33,
	IKE_PAYLOAD_KE = 34,
	IKE_PAYLOAD_IDI = 35,
	IKE_PAYLOAD_IDR = 36,
	IKE_PAYLOAD_CERT = 37,
	IKE_PAYLOAD_CERTREQ = 38,
	IKE_PAYLOAD_AUTH = 39,
	IKE_PAYLOAD_NONCE = 40,
	IKE_PAYLOAD_NOTIFY = 41,
	IKE_PAYLOAD_DELETE = 42,
	IKE_PAYLOAD_VENDOR = 43,
	IKE_PAYLOAD_TSI = 44,
	IKE_PAYLOAD_TSR = 45,
	IKE_PAYLOAD_SK = 46,
	IKE_PAYLOAD_CP = 47,
	IKE_PAYLOAD_EAP = 48,
	IKE_PAYLOAD_SKF = 53, /* RFC 7383 */
} IkePayloadType;

/* RFC 7296 §3.2: the critical bit of the generic payload header's flags octet. */
#define IKE_PAYLOAD_FLAG_CRITICAL 0x80

/* RFC 7296 §3.3.1: protocol IDs of proposals, notifies and deletes. */
typedef enum {
	IKE_PROTOCOL_NONE = 0, /* notifies that concern no SA */
	IKE_PROTOCOL_IKE = 1,
	IKE_PROTOCOL_AH = 2,
	IKE_PROTOCOL_ESP = 3,
} IkeProtocolId;

/* RFC 7296 §3.3.5: the one defined transform attribute, sent in TV format. */
#define IKE_ATTR_KEY_LENGTH 14
#define IKE_ATTR_FORMAT_TV 0x8000

/* RFC 7296 §3.5, RFC 7619 (NULL): identification types. */
typedef enum {
	IKE_ID_IPV4_ADDR = 1,
	IKE_ID_FQDN = 2,
	IKE_ID_RFC822_ADDR = 3,
	IKE_ID_IPV6_ADDR = 5,
	IKE_ID_DER_ASN1_DN = 9,
	IKE_ID_DER_ASN1_GN = 10,
	IKE_ID_KEY_ID = 11,
	IKE_ID_NULL = 13,
} IkeIdType;

/* RFC 7296 §3.6, RFC 7670 (raw public key): certificate encodings. */
typedef enum {
	IKE_CERT_PKCS7_X509 = 1,
	IKE_CERT_X509_SIGNATURE = 4,
	IKE_CERT_CRL = 7,
	IKE_CERT_X509_HASH_URL = 12,
	IKE_CERT_X509_BUNDLE_HASH_URL = 13,
	IKE_CERT_RAW_PUBLIC_KEY = 15,
} IkeCertEncoding;

/* RFC 7296 §3.8, RFC 4754, RFC 7619, RFC 7427: authentication methods. */
typedef enum {
	IKE_AUTH_RSA_SIG = 1,
	IKE_AUTH_SHARED_KEY_MIC = 2,
	IKE_AUTH_DSS_SIG = 3,
	IKE_AUTH_ECDSA_256 = 9,
	IKE_AUTH_ECDSA_384 = 10,
	IKE_AUTH_ECDSA_521 = 11,
	IKE_AUTH_NULL = 13,
	IKE_AUTH_DIGITAL_SIGNATURE = 14,
} IkeAuthMethod;

/*
 * RFC 7296 §3.10.1 and later RFCs: notify message types. Below 16384 an error, from
 * 16384 on a status.
 */
typedef enum {
	IKE_NOTIFY_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	IKE_NOTIFY_INVALID_IKE_SPI = 4,
	IKE_NOTIFY_INVALID_MAJOR_VERSION = 5,
	IKE_NOTIFY_INVALID_SYNTAX = 7,
	IKE_NOTIFY_INVALID_MESSAGE_ID = 9,
	IKE_NOTIFY_INVALID_SPI = 11,
	IKE_NOTIFY_NO_PROPOSAL_CHOSEN = 14,
	IKE_NOTIFY_INVALID_KE_PAYLOAD = 17,
	IKE_NOTIFY_AUTHENTICATION_FAILED = 24,
	IKE_NOTIFY_SINGLE_PAIR_REQUIRED = 34,
	IKE_NOTIFY_NO_ADDITIONAL_SAS = 35,
	IKE_NOTIFY_INTERNAL_ADDRESS_FAILURE = 36,
	IKE_NOTIFY_FAILED_CP_REQUIRED = 37,
	IKE_NOTIFY_TS_UNACCEPTABLE = 38,
	IKE_NOTIFY_INVALID_SELECTORS = 39,
	IKE_NOTIFY_UNACCEPTABLE_ADDRESSES = 40,  /* RFC 4555 */
	IKE_NOTIFY_UNEXPECTED_NAT_DETECTED = 41, /* RFC 4555 */
	IKE_NOTIFY_TEMPORARY_FAILURE = 43,
	IKE_NOTIFY_CHILD_SA_NOT_FOUND = 44,

	IKE_NOTIFY_INITIAL_CONTACT = 16384,
	IKE_NOTIFY_SET_WINDOW_SIZE = 16385,
	IKE_NOTIFY_ADDITIONAL_TS_POSSIBLE = 16386,
	IKE_NOTIFY_IPCOMP_SUPPORTED = 16387,
	IKE_NOTIFY_NAT_DETECTION_SOURCE_IP = 16388,
	IKE_NOTIFY_NAT_DETECTION_DESTINATION_IP = 16389,
	IKE_NOTIFY_COOKIE = 16390,
	IKE_NOTIFY_USE_TRANSPORT_MODE = 16391,
	IKE_NOTIFY_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
	IKE_NOTIFY_REKEY_SA = 16393,
	IKE_NOTIFY_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	IKE_NOTIFY_NON_FIRST_FRAGMENTS_ALSO = 16395,
	IKE_NOTIFY_MOBIKE_SUPPORTED = 16396,                /* RFC 4555 */
	IKE_NOTIFY_ADDITIONAL_IP4_ADDRESS = 16397,          /* RFC 4555 */
	IKE_NOTIFY_ADDITIONAL_IP6_ADDRESS = 16398,          /* RFC 4555 */
	IKE_NOTIFY_NO_ADDITIONAL_ADDRESSES = 16399,         /* RFC 4555 */
	IKE_NOTIFY_UPDATE_SA_ADDRESSES = 16400,             /* RFC 4555 */
	IKE_NOTIFY_COOKIE2 = 16401,                         /* RFC 4555 */
	IKE_NOTIFY_NO_NATS_ALLOWED = 16402,                 /* RFC 4555 */
	IKE_NOTIFY_AUTH_LIFETIME = 16403,                   /* RFC 4478 */
	IKE_NOTIFY_MULTIPLE_AUTH_SUPPORTED = 16404,         /* RFC 4739 */
	IKE_NOTIFY_ANOTHER_AUTH_FOLLOWS = 16405,            /* RFC 4739 */
	IKE_NOTIFY_REDIRECT_SUPPORTED = 16406,              /* RFC 5685 */
	IKE_NOTIFY_REDIRECT = 16407,                        /* RFC 5685 */
	IKE_NOTIFY_REDIRECTED_FROM = 16408,                 /* RFC 5685 */
	IKE_NOTIFY_EAP_ONLY_AUTHENTICATION = 16417,         /* RFC 5998 */
	IKE_NOTIFY_CHILDLESS_IKEV2_SUPPORTED = 16418,       /* RFC 6023 */
	IKE_NOTIFY_IKEV2_FRAGMENTATION_SUPPORTED = 16430,   /* RFC 7383 */
	IKE_NOTIFY_SIGNATURE_HASH_ALGORITHMS = 16431,       /* RFC 7427 */
	IKE_NOTIFY_USE_PPK = 16435,                         /* RFC 8784 */
	IKE_NOTIFY_PPK_IDENTITY = 16436,                    /* RFC 8784 */
	IKE_NOTIFY_NO_PPK_AUTH = 16437,                     /* RFC 8784 */
	IKE_NOTIFY_INTERMEDIATE_EXCHANGE_SUPPORTED = 16438, /* RFC 9242 */
} IkeNotifyType;

/* The first status type; every type below it is an error (RFC 7296 §3.10.1). */
#define IKE_NOTIFY_FIRST_STATUS 16384

/* RFC 7296 §3.13.1: traffic selector types. */
typedef enum {
	IKE_TS_IPV4_ADDR_RANGE = 7,
	IKE_TS_IPV6_ADDR_RANGE = 8,
} IkeTsType;

/* RFC 7296 §3.15: configuration payload types. */
typedef enum {
	IKE_CFG_REQUEST = 1,
	IKE_CFG_REPLY = 2,
	IKE_CFG_SET = 3,
	IKE_CFG_ACK = 4,
} IkeCfgType;

/* RFC 7296 §3.15.1: configuration attribute types. */
typedef enum {
	IKE_CFG_INTERNAL_IP4_ADDRESS = 1,
	IKE_CFG_INTERNAL_IP4_NETMASK = 2,
	IKE_CFG_INTERNAL_IP4_DNS = 3,
	IKE_CFG_INTERNAL_IP4_NBNS = 4,
	IKE_CFG_INTERNAL_IP4_DHCP = 6,
	IKE_CFG_APPLICATION_VERSION = 7,
	IKE_CFG_INTERNAL_IP6_ADDRESS = 8,
	IKE_CFG_INTERNAL_IP6_DNS = 10,
	IKE_CFG_INTERNAL_IP6_DHCP = 12,
	IKE_CFG_INTERNAL_IP4_SUBNET = 13,
	IKE_CFG_SUPPORTED_ATTRIBUTES = 14,
	IKE_CFG_INTERNAL_IP6_SUBNET = 15,
} IkeCfgAttrType;

/* RFC 3748 §4: EAP codes. */
typedef enum {
	IKE_EAP_REQUEST = 1,
	IKE_EAP_RESPONSE = 2,
	IKE_EAP_SUCCESS = 3,
	IKE_EAP_FAILURE = 4,
} IkeEapCode;

/*
 * Names for logs: "IKE_AUTH", "NONCE", "NAT_DETECTION_SOURCE_IP" …; a number without a
 * name gives "UNKNOWN" (log the number beside it). Never NULL, static strings.
 */
const char *ike_exchange_type_to_string(guint8 type);
const char *ike_payload_type_to_string(guint8 type);
const char *ike_notify_type_to_string(guint16 type);
const char *ike_protocol_id_to_string(guint8 id);

G_END_DECLS
