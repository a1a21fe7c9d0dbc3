/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel-tun's VpndKernelOps: a TUN device whose routes lead the remote traffic
 * selectors into it, outbound packets sealed with the SA their OUT policy names and
 * handed to the daemon as ESP in UDP, inbound ESP opened, checked against its SA's
 * selectors and written back to the device. Everything runs on the main loop.
 */
#pragma once

#include <vpnd/kernel.h>

G_BEGIN_DECLS

#define TUN_DEFAULT_NAME "vpnd0"
#define TUN_DEFAULT_MTU 1400
#define TUN_MIN_MTU 576
#define TUN_MAX_MTU 65000
#define TUN_SPI_MIN 256 /* below: reserved by IANA (RFC 4303 §2.1) */
#define TUN_SPI_RESERVATION_USEC (120 * G_USEC_PER_SEC) /* get_spi without add_sa */
/* Packets the TUN queues for us to read. The TUN drops what overflows it (TCP's own
 * queue limits do not see it), and each drop is a TCP retransmit: room for a burst of a
 * TCP window at the rates vpnd reaches. */
#define TUN_TXQUEUELEN 2048
#define TUN_READS_PER_WAKEUP 64                         /* then the main loop runs other sources */

extern const VpndKernelOps tun_kernel_ops;

/* Reads the plugin's device settings at start-up, where the device is made only with the
 * first connection: a bad value is said at once, and none counts as unused. */
void tun_kernel_check_settings(VpndHost *host);

G_END_DECLS
