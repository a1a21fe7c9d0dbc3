/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel provider ABI: where negotiated IPsec SAs and policies go. Two providers
 * implement it: kernel-xfrm (the Linux kernel's IPsec over XFRM netlink) and
 * kernel-tun (a userspace ESP data plane on a TUN device). A plugin registers one
 * const VpndKernelOps as VPND_PROVIDER_KERNEL; the daemon uses the highest-priority one.
 *
 * Calls take parameter structs (VpndSaParams, VpndPolicyParams), so a field added at
 * the end is not an ABI break; every struct is zero-initialised by the caller, and
 * zero means "not set" / "default" for every field.
 *
 * All calls happen on the main thread. Events (acquire, expire, mapping change) come
 * back through the VpndKernelEvents callbacks, also on the main thread.
 */
#pragma once

#include <glib.h>
#include <vpnd/plugin.h>
#include <vpnd/types.h>

G_BEGIN_DECLS

#define VPND_KERNEL_ERROR (g_quark_from_static_string("vpnd-kernel-error-quark"))

typedef enum {
	VPND_KERNEL_ERROR_FAILED,      /* the kernel refused; the message says why */
	VPND_KERNEL_ERROR_UNSUPPORTED, /* algorithm, mode or feature not available */
	VPND_KERNEL_ERROR_NOT_FOUND,   /* no such SA or policy */
	VPND_KERNEL_ERROR_EXISTS,      /* an SA or policy with that key is installed */
} VpndKernelError;

/* An IP address, optionally with a UDP port. */
typedef struct {
	guint8 family;   /* AF_INET or AF_INET6; 0 for none */
	guint8 addr[16]; /* network byte order; IPv4 uses the first 4 bytes */
	guint16 port;    /* host byte order; 0 for none */
} VpndAddr;

/* A traffic selector (RFC 7296 §3.13.1): address range, IP protocol, port range. */
typedef struct {
	guint8 family;   /* AF_INET or AF_INET6 */
	guint8 ip_proto; /* 0: any */
	guint16 from_port, to_port; /* host order; 0-65535 for any */
	guint8 from[16], to[16];    /* inclusive address range, network order */
} VpndTs;

typedef enum {
	VPND_DIR_IN = 1,
	VPND_DIR_OUT = 2,
	VPND_DIR_FWD = 3, /* policies only: forwarded traffic (gateways) */
} VpndDirection;

typedef enum {
	VPND_MODE_TUNNEL = 1,
	VPND_MODE_TRANSPORT = 2,
} VpndIpsecMode;

/* Limits after which an SA expires; 0 for none. */
typedef struct {
	guint64 bytes;
	guint64 packets;
	guint64 seconds; /* from installation */
} VpndLifetime;

/*
 * One SA in one direction. For ESP the keys are KEYMAT as RFC 7296 §2.17 splits it:
 * encr_key holds the cipher key followed by the salt/nonce where the transform has one
 * (include/vpnd/crypto.h says which), integ_key is empty for AEAD transforms.
 */
typedef struct {
	guint32 spi;         /* host order */
	guint8 protocol;     /* IPPROTO_ESP (50) */
	VpndDirection dir;   /* IN or OUT */
	VpndIpsecMode mode;
	guint32 reqid;       /* ties the SA to its policies; allocated by the daemon */
	VpndAddr src, dst;   /* outer addresses; ports are the UDP encapsulation ports */
	gboolean encap;      /* ESP in UDP (RFC 3948) between src.port and dst.port */
	guint16 encr_id;     /* IANA transform type 1 */
	guint16 encr_key_bits;
	const guint8 *encr_key;
	gsize encr_key_len;
	guint16 integ_id;    /* IANA transform type 3; 0 with AEADs */
	const guint8 *integ_key;
	gsize integ_key_len;
	gboolean esn;
	guint32 replay_window; /* packets; 0: the provider's default */
	VpndLifetime soft, hard;
	/* the traffic this SA carries, from our side (local) and the peer's (remote) */
	const VpndTs *local_ts;
	guint n_local_ts;
	const VpndTs *remote_ts;
	guint n_remote_ts;
	guint32 if_id; /* XFRM interface id for route-based setups; 0: none */
	guint32 mark, mark_mask;
} VpndSaParams;

/* Identifies an installed SA. */
typedef struct {
	guint32 spi;
	guint8 protocol;
	VpndAddr dst; /* port ignored */
} VpndSaId;

typedef struct {
	guint64 bytes;
	guint64 packets;
	gint64 last_use; /* Unix time of the last packet, 0 if none */
	guint64 drops;   /* packets refused: bad ICV, replay, malformed … */
} VpndSaStats;

typedef enum {
	VPND_POLICY_PROTECT = 1, /* through the SA of reqid */
	VPND_POLICY_TRAP = 2,    /* protect; with no SA yet, ask for one (ACQUIRE) */
	VPND_POLICY_BYPASS = 3,
	VPND_POLICY_DROP = 4,
} VpndPolicyAction;

typedef struct {
	VpndDirection dir;
	VpndPolicyAction action;
	VpndIpsecMode mode;
	guint32 reqid;
	VpndTs src_ts, dst_ts; /* the packets the policy matches */
	VpndAddr src, dst;     /* tunnel endpoints (outer addresses) */
	guint32 priority;      /* 0: derived from the selectors' specificity */
	guint32 if_id;
	guint32 mark, mark_mask;
} VpndPolicyParams;

typedef enum {
	VPND_EXPIRE_SOFT = 1, /* time to rekey */
	VPND_EXPIRE_HARD = 2, /* the SA is gone */
} VpndExpireKind;

/* Callbacks into the daemon; any may be NULL. */
typedef struct {
	/* A packet hit a TRAP policy: negotiate an SA for @reqid (src/dst: its selectors). */
	void (*acquire)(gpointer user_data, guint32 reqid, const VpndTs *src, const VpndTs *dst);
	void (*expire)(gpointer user_data, const VpndSaId *sa, VpndExpireKind kind);
	/* The peer's NAT mapping changed: its new address and port for ESP in UDP. */
	void (*mapping)(gpointer user_data, const VpndSaId *sa, const VpndAddr *new_peer);
	/* Userspace data planes: an ESP-in-UDP datagram to send from @src to @dst. */
	void (*send_esp)(gpointer user_data, const VpndAddr *src, const VpndAddr *dst,
			 const guint8 *data, gsize len);
	/*
	 * Userspace data planes, batched: ESP-in-UDP datagrams back to back in @data, each
	 * @seg_len bytes but the last, which may be shorter; at most VPND_ESP_BATCH_MAX
	 * datagrams and 65000 bytes. The daemon sends them in one go (UDP GSO) where the
	 * kernel allows. (nullable: then send_esp per datagram)
	 */
	void (*send_esp_batch)(gpointer user_data, const VpndAddr *src, const VpndAddr *dst,
			       const guint8 *data, gsize len, gsize seg_len);
} VpndKernelEvents;

/* Limits of VpndKernelEvents.send_esp_batch (those of Linux's UDP_SEGMENT). */
#define VPND_ESP_BATCH_MAX 64
#define VPND_ESP_BATCH_BYTES 65000

typedef struct VpndKernel VpndKernel;

/*
 * Registered as VPND_PROVIDER_KERNEL. Members marked (nullable) may be NULL.
 * Calls that a person reads the outcome of take a GError.
 */
typedef struct {
	/* One instance per daemon; settings come through vpnd_host_get_setting(). */
	VpndKernel *(*open)(VpndHost *host, const VpndKernelEvents *events, gpointer user_data,
			    GError **error);
	/* Removes every SA and policy this instance installed, then frees it. */
	void (*close)(VpndKernel *kernel);

	/* A fresh inbound SPI for an SA from @src to @dst (the SA is added later). */
	gboolean (*get_spi)(VpndKernel *kernel, const VpndAddr *src, const VpndAddr *dst,
			    guint8 protocol, guint32 *spi, GError **error);
	gboolean (*add_sa)(VpndKernel *kernel, const VpndSaParams *params, GError **error);
	/* New outer addresses/ports for an installed SA (MOBIKE, NAT mapping change). */
	gboolean (*update_sa)(VpndKernel *kernel, const VpndSaId *id, const VpndAddr *new_src,
			      const VpndAddr *new_dst, GError **error);
	gboolean (*query_sa)(VpndKernel *kernel, const VpndSaId *id, VpndSaStats *stats,
			     GError **error);
	gboolean (*del_sa)(VpndKernel *kernel, const VpndSaId *id, GError **error);

	gboolean (*add_policy)(VpndKernel *kernel, const VpndPolicyParams *params,
			       GError **error);
	gboolean (*del_policy)(VpndKernel *kernel, const VpndPolicyParams *params,
			       GError **error);

	/* Lets IKE traffic on @fd pass any policy (XFRM socket policy bypass). (nullable) */
	gboolean (*bypass_socket)(VpndKernel *kernel, int fd, int family, GError **error);
	/*
	 * @fd is the UDP 4500 socket of @family: the kernel decapsulates ESP arriving on it
	 * (UDP_ENCAP_ESPINUDP), or a userspace data plane sends its ESP through it. (nullable)
	 */
	gboolean (*enable_udp_encap)(VpndKernel *kernel, int fd, int family, GError **error);
	/* Userspace data planes: an ESP-in-UDP datagram (marker removed) arrived. (nullable) */
	void (*esp_input)(VpndKernel *kernel, const VpndAddr *src, const VpndAddr *dst,
			  guint8 *data, gsize len);
	/*
	 * Userspace data planes: every counter by a stable name ("drops.unknown-spi",
	 * "sa.in.0000c001.drops.auth" …), for status output and tests. (nullable)
	 */
	void (*foreach_counter)(VpndKernel *kernel,
				void (*func)(const char *name, guint64 value, gpointer user_data),
				gpointer user_data);
} VpndKernelOps;

G_END_DECLS
