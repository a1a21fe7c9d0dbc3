/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * prefault_reserve(): after it, heap and stack within the reserve are used without page
 * faults, also after the heap memory was freed and allocated again (no trim). Counted
 * with getrusage()'s minor faults; each case first shows that the same use faults
 * without the reserve, so it cannot pass by accident.
 */
#include <sys/resource.h>

#include <glib.h>

#include "core/prefault.h"

#define KIB 1024u
#define SMALL_CHUNK (2 * KIB) /* far below the mmap threshold */
#define PAGE 4096u

static long
minor_faults(void)
{
	struct rusage ru;

	g_assert_cmpint(getrusage(RUSAGE_SELF, &ru), ==, 0);
	return ru.ru_minflt;
}

/* Allocates @bytes in small chunks, writes every byte, frees them; the faults it took. */
static long
use_heap(gsize bytes)
{
	g_autoptr(GPtrArray) chunks = g_ptr_array_new_full((guint)(bytes / SMALL_CHUNK), g_free);
	long before = minor_faults();

	for (gsize done = 0; done < bytes; done += SMALL_CHUNK) {
		volatile guint8 *p = g_malloc(SMALL_CHUNK);

		for (gsize i = 0; i < SMALL_CHUNK; i += 64)
			p[i] = 1;
		g_ptr_array_add(chunks, (gpointer)p);
	}
	return minor_faults() - before;
}

/* Writes a page of every 4 KiB of a frame of @bytes; the faults it took. */
static long __attribute__((noinline))
use_stack(gsize bytes)
{
	long before = minor_faults();
	volatile guint8 *frame = g_alloca(bytes);

	for (gsize off = 0; off < bytes; off += PAGE)
		frame[off] = 1;
	return minor_faults() - before;
}

static void
test_reserve(void)
{
#if defined(__SANITIZE_ADDRESS__)
	g_test_skip("AddressSanitizer's allocator ignores mallopt(); the normal build runs this");
	return;
#endif
	/* without a reserve: pages beyond what start-up touched fault (1 MiB of heap is
	 * more than glibc keeps at the top, 512 KiB of stack deeper than any start-up) */
	g_assert_cmpint(use_heap(1024 * KIB), >=, 64);
	g_assert_cmpint(use_stack(512 * KIB), >=, 32);

	/* a reserve on top: the same kind of use does not; the stack deeper than before */
	g_assert_true(prefault_reserve(512 * KIB, 1024 * KIB));
	g_assert_cmpint(use_heap(256 * KIB), <=, 2);
	g_assert_cmpint(use_stack(768 * KIB), <=, 1);

	/* freed heap memory stays: glibc would trim a free top of 128 KiB or more */
	g_assert_cmpint(use_heap(256 * KIB), <=, 2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/prefault/reserve", test_reserve);
	return g_test_run();
}
