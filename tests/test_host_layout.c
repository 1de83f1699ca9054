// SPDX-License-Identifier: MIT
/*
 * test_host_layout.c - audit and snapshot of the live layouts that need
 * the host changed (make check-host): 64K mTHPs from faults and a
 * partially mapped 64K folio (hugepages-64kB/enabled=always through the
 * settings stack, restored once the child has faulted), and pages
 * swapped out (MADV_PAGEOUT) to a temporary swap file; each also read
 * with plain pagemap reads, which must give the same audit and snapshot
 * as PAGEMAP_SCAN (live_paths_agree()).  Every change is
 * undone at exit and on signals (host_undo.h); the program fails when a
 * knob or the swap file is left behind.  Needs root, THP with a 64kB size
 * and a writable /sys/kernel/mm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/live.h>
#include <mthp/snapshot.h>

#include "helpers/host_run.h"
#include "helpers/live_child.h"
#include "helpers/swapfile.h"
#include "helpers/thp_settings.h"

#define PMD_SIZE LIVE_PMD_SIZE
#define PAGE LIVE_PAGE
#define N 512

/* ---- layouts ---- */

/* 16 64K folios at the start of range 1 (the knob is set by the test). */
static void layout_64k(char *a)
{
	for (size_t off = 0; off < 16 * 65536; off += 65536)
		a[PMD_SIZE + off] = 1;
}

/* The same, then page 0 of the first folio and page 15 of the second unmapped. */
static void layout_64k_partial(char *a)
{
	layout_64k(a);
	madvise(a + PMD_SIZE, PAGE, MADV_DONTNEED);
	madvise(a + PMD_SIZE + 65536 + 15 * PAGE, PAGE, MADV_DONTNEED);
}

/* 512 pages written, the first 64 paged out to swap. */
static void layout_swapped(char *a)
{
	madvise(a, 3 * PMD_SIZE, MADV_NOHUGEPAGE);
	memset(a, 1, PMD_SIZE);
	if (madvise(a, 64 * PAGE, MADV_PAGEOUT))
		_exit(4);
}

/*
 * A child laid out while hugepages-64kB/enabled is "always", and its view;
 * the pmd line of its range 1 (which must be there).
 */
static const struct mthp_snapshot_pmd *view_with_64k(live_layout_fn layout,
						     struct live_child *c, struct live_view *v)
{
	const struct mthp_snapshot_pmd *pmd;

	assert_int_equal(thp_settings_push("hugepages-64kB/enabled", "always"), 0);
	*c = live_child_start(layout);
	thp_settings_restore();
	live_view_of(c, false, v);
	pmd = live_view_pmd(v, 1);
	assert_non_null(pmd);
	return pmd;
}

/* PAGEMAP_SCAN and plain reads agree on the child; then it is stopped. */
static void view_done(struct live_child *c, struct live_view *v)
{
	live_view_free(v);
	live_paths_agree(c->pid);
	live_child_stop(c);
}

/* ---- cases ---- */

static void test_64k_mthp_from_faults(void **state)
{
	struct live_child c;
	struct live_view v;
	const struct mthp_snapshot_pmd *pmd = view_with_64k(layout_64k, &c, &v);

	(void)state;
	assert_int_equal(v.vma->c.pte_aligned[4], 256);
	assert_int_equal(v.vma->c.pte_unaligned[4], 0);
	assert_int_equal(v.vma->c.pte_partial, 0);
	assert_int_equal(v.vma->c.anon, 256);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(pmd->ptes[i], i < 256 ? 'A' : '.');
		assert_int_equal(pmd->folio_orders[i], i < 256 ? 4 : MTHP_NO_FOLIO);
	}
	view_done(&c, &v);
}

static void test_64k_partially_mapped(void **state)
{
	struct live_child c;
	struct live_view v;
	const struct mthp_snapshot_pmd *pmd = view_with_64k(layout_64k_partial, &c, &v);

	(void)state;
	/* thpmaps: a run starting at a tail, and one ending before a tail */
	assert_int_equal(v.vma->c.pte_partial, 30);
	assert_int_equal(v.vma->c.pte_aligned[4], 14 * 16);
	assert_int_equal(v.vma->c.anon, 254);
	assert_int_equal(pmd->ptes[0], '.');
	assert_int_equal(pmd->ptes[1], 'A');
	assert_int_equal(pmd->folio_orders[1], 4);	/* still a 64K folio */
	assert_int_equal(pmd->ptes[31], '.');
	assert_int_equal(pmd->folio_orders[30], 4);
	view_done(&c, &v);
}

static void test_swapped_out_pages(void **state)
{
	struct live_child c;
	struct live_view v;
	char ptes[N + 1];
	int ret;

	(void)state;
	ret = swapfile_create("/var/tmp", 32);
	if (ret < 0) {
		print_message("SKIP: no swap file in /var/tmp: %s\n", strerror(-ret));
		skip();		/* e.g. a file system without swap files */
	}
	assert_true(swapfile_listed(getpid()));
	c = live_child_start(layout_swapped);
	live_view_of(&c, false, &v);
	assert_int_equal(v.vma->c.swap, 64);
	assert_int_equal(v.vma->c.anon, N - 64);
	live_view_ptes(&v, 0, ptes, N);
	assert_int_equal(strspn(ptes, "w"), 64);
	assert_int_equal(strspn(ptes + 64, "A"), N - 64);
	assert_int_equal(live_view_pmd(&v, 0)->folio_orders[0], MTHP_NO_FOLIO);
	view_done(&c, &v);
	swapfile_remove();
	assert_false(swapfile_listed(getpid()));
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_64k_mthp_from_faults),
		cmocka_unit_test(test_64k_partially_mapped),
		cmocka_unit_test(test_swapped_out_pages),
	};

	return host_tests_run(tests, sizeof(tests) / sizeof(tests[0]), true);
}
