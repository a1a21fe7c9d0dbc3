/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pages mapped ahead. A page the process touches for the first time costs a page fault,
 * and on a virtual machine a fresh anonymous page can cost the hypervisor a fault of its
 * own: about 10 us each on the machines vpnd is measured on, where the first handshake
 * of a new daemon took some 20 of them (heap and stack growth), a sixth of its time.
 * prefault_reserve() grows the heap and the main thread's stack once, at start-up, and
 * keeps the heap from being trimmed below that again: the first exchanges after start,
 * and after a burst has come and gone, find their pages mapped.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What vpnd reserves: a first IKE_SA_INIT + IKE_AUTH with one child takes ~40 KiB of
 * heap on the initiator; the deepest call chains (log formatting) ~24 KiB of stack. */
#define PREFAULT_HEAP_BYTES (128u << 10)
#define PREFAULT_STACK_BYTES (64u << 10)

/* Touches @heap_bytes of heap (in chunks below the mmap threshold, then freed: the
 * memory stays at the top of the heap) and @stack_bytes of the caller's stack, and sets
 * the trim threshold to twice @heap_bytes. FALSE if the allocator refused the setting
 * (not glibc's, e.g. a sanitizer's): the pages were touched but may be given back. */
gboolean prefault_reserve(gsize heap_bytes, gsize stack_bytes);

G_END_DECLS
