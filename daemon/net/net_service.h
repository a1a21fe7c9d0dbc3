/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The UDP side of IKE: sockets on the IKE port (500) and the NAT-T port (4500) for every
 * configured address, on the GLib main loop. Each received datagram carries the local
 * address it arrived on (IP_PKTINFO / IPV6_PKTINFO), and each datagram sent names the
 * local address it leaves from, so a reply always comes from the address the request
 * went to, even on a wildcard socket of a host with many addresses.
 *
 * On the NAT-T port, RFC 3948 applies: IKE is framed by the 4-byte non-ESP marker
 * (stripped on receive, added on send), 0xFF is a keepalive, everything else is ESP.
 *
 * Use from main.c:
 *   g_autoptr(NetConfig) cfg = net_config_new_from_settings(settings, &error);
 *   NetService *net = net_service_new(cfg, kernel_ops, kernel, &error);  (ops may be NULL)
 *   net_service_set_ike_handler(net, engine_on_datagram, engine);
 *   … engine output: net_service_send_ike(net, &local, &remote, data, len, &error);
 *   … VpndKernelEvents.send_esp = net_service_kernel_send_esp, user_data = net
 *     (and .send_esp_batch calling net_service_send_esp_batch())
 *
 * Everything runs on the thread of the main context that was the thread default at
 * creation. Handlers must not free the service.
 */
#pragma once

#include <glib.h>
#include <vpnd/kernel.h>
#include "net/net_config.h"
#include "net/net_error.h"

G_BEGIN_DECLS

/* Largest datagram read; UDP payloads never exceed it, so nothing is cut short. */
#define NET_MAX_DATAGRAM 65536
/* Socket buffers of the NAT-T sockets: ESP arrives in bursts of a TCP window, and a
 * datagram the receive buffer has no room for is a TCP retransmit in the tunnel. */
#define NET_NAT_T_BUFFER (4 * 1024 * 1024)
/* Socket buffers of the IKE (port 500) sockets: a gateway's clients all reconnect at
 * once after a restart or an outage, and each IKE_SA_INIT the default ~200 KB receive
 * buffer has no room for costs its sender a retransmission timeout. */
#define NET_IKE_BUFFER (1024 * 1024)
/* Datagrams read per socket per main loop wakeup: a flood cannot starve timers and
 * other sockets; the rest is read on the next iteration. */
#define NET_RX_BURST 64

typedef enum {
	NET_DROP_TRUNCATED,  /* larger than NET_MAX_DATAGRAM */
	NET_DROP_MALFORMED,  /* empty, or too short for what the NAT-T port carries */
	NET_DROP_NO_LOCAL,   /* no IP_PKTINFO/IPV6_PKTINFO or unknown peer address family */
	NET_DROP_NO_HANDLER, /* IKE or ESP with nobody registered to take it */
	NET_DROP_RECV_ERROR, /* recvmsg() failed other than with EAGAIN */
	NET_DROP_SEND_ERROR, /* sendmsg() failed (IKE, ESP or keepalive) */
	NET_DROP_NO_SOCKET,  /* nothing to send from: no socket of that family/address/port */
	NET_DROP_MAX,
} NetDropReason;

typedef struct {
	guint64 received;            /* datagrams read, whatever became of them */
	guint64 received_ike;        /* handed to the IKE handler */
	guint64 received_esp;        /* handed to the ESP handler */
	guint64 keepalives_received; /* 0xFF on the NAT-T port */
	guint64 sent;                /* datagrams sent: IKE, ESP and keepalives */
	guint64 sent_ike;
	guint64 sent_esp;
	guint64 keepalives_sent;
	guint64 burst_limited; /* wakeups that stopped at NET_RX_BURST; more may wait */
	guint64 received_gro;  /* reads that held several datagrams (UDP GRO) */
	guint64 sent_gso;      /* sends that held several datagrams (UDP GSO) */
	guint64 dropped[NET_DROP_MAX];
} NetCounters;

typedef struct NetService NetService;

/*
 * An IKE datagram (non-ESP marker already removed). @local: the address and port it
 * arrived on; @remote: the sender; @now: g_get_monotonic_time() at receipt (µs).
 * @data is valid during the call only.
 */
typedef void (*NetIkeFunc)(const guint8 *data, gsize len, const VpndAddr *local,
			   const VpndAddr *remote, gint64 now, gpointer user_data);
/*
 * An ESP-in-UDP datagram from @remote to @local, starting with the SPI. @data may be
 * modified in place (decryption) and is valid during the call only.
 */
typedef void (*NetEspFunc)(guint8 *data, gsize len, const VpndAddr *local, const VpndAddr *remote,
			   gpointer user_data);

/*
 * Binds the sockets @config asks for and adds them to the thread-default main context.
 * With @kernel_ops (nullable, with @kernel), every socket gets bypass_socket() and the
 * NAT-T sockets get enable_udp_encap(); ESP goes to esp_input() until
 * net_service_set_esp_handler() says otherwise. Errors name the address, port and
 * reason ("address already in use: another IKE daemon (charon?) running?").
 */
NetService *net_service_new(const NetConfig *config, const VpndKernelOps *kernel_ops,
			    VpndKernel *kernel, GError **error);
void net_service_free(NetService *service);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetService, net_service_free)

void net_service_set_ike_handler(NetService *service, NetIkeFunc func, gpointer user_data);
/* NULL @func: back to the kernel provider's esp_input, if any. */
void net_service_set_esp_handler(NetService *service, NetEspFunc func, gpointer user_data);

/* The ports bound: the configured ones, or what the kernel picked for a 0. */
guint16 net_service_get_port(NetService *service);
guint16 net_service_get_port_nat_t(NetService *service);

/*
 * Sends an IKE message to @remote from @local (nullable: the IKE port, any address).
 * @local's port picks the socket: the IKE port, or the NAT-T port, which adds the
 * non-ESP marker; port 0 means the IKE port. A specific @local address is set as the
 * datagram's source. Fails when no socket matches or sendmsg() fails.
 */
gboolean net_service_send_ike(NetService *service, const VpndAddr *local, const VpndAddr *remote,
			      const guint8 *data, gsize len, GError **error);

/* Sends ESP in UDP (starting with the SPI, no marker) from @src (nullable; its port, if
 * set, must be the NAT-T port) to @dst. Per-packet: failures are counted, not reported. */
gboolean net_service_send_esp(NetService *service, const VpndAddr *src, const VpndAddr *dst,
			      const guint8 *data, gsize len);
/*
 * Sends @len bytes of ESP-in-UDP datagrams of @seg_len bytes each (the last may be
 * shorter; VpndKernelEvents.send_esp_batch has the limits) from @src to @dst, in one
 * sendmsg() with UDP_SEGMENT; where the kernel refuses that, one datagram at a time
 * (and from then on always). Failures are counted, not reported.
 */
gboolean net_service_send_esp_batch(NetService *service, const VpndAddr *src,
				    const VpndAddr *dst, const guint8 *data, gsize len,
				    gsize seg_len);
/* net_service_send_esp() in the shape of VpndKernelEvents.send_esp; @user_data: service */
void net_service_kernel_send_esp(gpointer user_data, const VpndAddr *src, const VpndAddr *dst,
				 const guint8 *data, gsize len);

/*
 * Sends a NAT keepalive (RFC 3948 §2.3) from @local's address (nullable: any) on the
 * NAT-T port to @remote (port 0: the NAT-T port) every @interval_s seconds, the first
 * one after one interval. Returns an id > 0 for net_service_keepalive_remove().
 */
guint net_service_keepalive_add(NetService *service, const VpndAddr *local, const VpndAddr *remote,
				guint interval_s);
void net_service_keepalive_remove(NetService *service, guint id);

void net_service_get_counters(NetService *service, NetCounters *counters);
const char *net_drop_reason_to_string(NetDropReason reason);

G_END_DECLS
