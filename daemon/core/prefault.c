/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>
#include <string.h>

#include "core/prefault.h"

/* below glibc's smallest mmap threshold (128 KiB): these come from the heap's top */
#define CHUNK_BYTES (32u << 10)
#define PAGE_BYTES 4096u

/* noinline: the frame must be this function's own, below the caller's */
static void __attribute__((noinline))
touch_stack(gsize bytes)
{
	volatile guint8 *frame = g_alloca(bytes);

	for (gsize off = 0; off < bytes; off += PAGE_BYTES)
		frame[off] = 0;
}

static void
touch_heap(gsize bytes)
{
	g_autoptr(GPtrArray) chunks = g_ptr_array_new_full((guint)(bytes / CHUNK_BYTES + 1), free);

	for (gsize done = 0; done < bytes; done += CHUNK_BYTES) {
		void *p = malloc(CHUNK_BYTES);

		if (!p)
			break;
		/* explicit_bzero: a memset before free() is a dead store the compiler drops */
		explicit_bzero(p, CHUNK_BYTES);
		g_ptr_array_add(chunks, p);
	}
}

gboolean
prefault_reserve(gsize heap_bytes, gsize stack_bytes)
{
#ifdef M_TRIM_THRESHOLD
	/* glibc gives the top of the heap back once 128 KiB of it are free (by default) */
	gboolean kept = mallopt(M_TRIM_THRESHOLD, (int)MIN(2 * heap_bytes, G_MAXINT)) == 1;
#else
	gboolean kept = FALSE; /* a C library without glibc's malloc tuning */
#endif

	touch_heap(heap_bytes);
	touch_stack(stack_bytes);
	return kept;
}
