// SPDX-License-Identifier: MIT
/*
 * test_sim_ops.c - every mapping operation of the simulator: mapping,
 * counts and content tags before and after, sim_check() clean after each.
 * munmap frees, DONTNEED zaps and leaves partially covered large folios
 * partially mapped (queued for the shrinker),
 * FREE marks lazyfree, PAGEOUT writes to swap and reads back on fault,
 * mremap moves PTEs and PMDs, mprotect and madvise split and merge VMAs,
 * userfaultfd write-protection, aging, pins.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_stat.h"
#include "helpers/sim_fx.h"
#include "helpers/test_main.h"

#define PAGE 4096ull
#define PMD (512 * PAGE)
#define BASE 0x200000000ull

static struct sim_fx make(const char *const *knobs)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 8192,
					.nr_swap_slots = 4096, .seed = 1 };

	return sim_fx_make(&cfg, knobs);
}

static void fill(struct sim_mm *mm, uint64_t addr, unsigned n, uint64_t salt)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(sim_write(mm, addr + i * PAGE, (addr + i * PAGE) ^ salt), 0);
}

static void expect(struct sim_mm *mm, uint64_t addr, unsigned n, uint64_t salt)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t tag = 0;

		assert_int_equal(sim_read(mm, addr + i * PAGE, &tag), 0);
		assert_int_equal(tag, (addr + i * PAGE) ^ salt);
	}
}

static struct sim_page_info info(struct sim_mm *mm, uint64_t addr)
{
	struct sim_page_info pi;

	assert_int_equal(sim_page_info(mm, addr, &pi), 0);
	return pi;
}

static const char *const k64[] = { "hugepages-64kB/enabled", "always", NULL };
static const char *const kpmd[] = { "enabled", "always", NULL };

static void test_munmap_frees(void **state)
{
	struct sim_fx f = make(k64);
	uint64_t before = sim_free_pages(f.sim);

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	fill(f.mm, BASE, 64, 0);
	assert_int_equal(sim_free_pages(f.sim), before - 64);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon"), 4);
	assert_int_equal(sim_munmap(f.mm, BASE, PMD), 0);
	assert_int_equal(sim_nr_vmas(f.mm), 0);
	assert_int_equal(sim_free_pages(f.sim), before);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon"), 0);
	assert_int_equal(sim_write(f.mm, BASE, 1), -EFAULT);
	sim_fx_done(&f, true);
}

static void test_munmap_middle_splits_vma(void **state)
{
	struct sim_fx f = make(NULL);
	struct sim_vma_info vi;

	(void)state;
	sim_fx_map(f.mm, BASE, 64 * PAGE);
	fill(f.mm, BASE, 64, 0);
	assert_int_equal(sim_munmap(f.mm, BASE + 16 * PAGE, 16 * PAGE), 0);
	assert_int_equal(sim_nr_vmas(f.mm), 2);
	assert_int_equal(sim_vma_info(f.mm, 1, &vi), 0);
	assert_int_equal(vi.start, BASE + 32 * PAGE);
	expect(f.mm, BASE, 16, 0);
	expect(f.mm, BASE + 32 * PAGE, 32, 0);
	sim_fx_check(f.sim);
	/* mapping the hole again merges the three */
	sim_fx_map(f.mm, BASE + 16 * PAGE, 16 * PAGE);
	assert_int_equal(sim_nr_vmas(f.mm), 1);
	assert_int_equal(info(f.mm, BASE + 16 * PAGE).state, '.');
	sim_fx_done(&f, true);
}

/*
 * DONTNEED of part of a 64K folio keeps the folio, partially mapped and
 * queued for the deferred split once; the shrinker splits it and frees
 * the unmapped pages.
 */
static void test_dontneed_defers_partial_folio(void **state)
{
	struct sim_fx f = make(k64);
	struct sim_shrink_result res;
	uint64_t before;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	fill(f.mm, BASE, 16, 0);
	assert_int_equal(info(f.mm, BASE).order, 4);
	before = sim_free_pages(f.sim);
	assert_int_equal(sim_madvise(f.mm, BASE + 4 * PAGE, 4 * PAGE, SIM_MADV_DONTNEED), 0);
	sim_fx_check(f.sim);
	assert_int_equal(info(f.mm, BASE).order, 4);
	assert_int_equal(info(f.mm, BASE).refcount, 12);
	assert_int_equal(info(f.mm, BASE + 5 * PAGE).state, '.');
	assert_int_equal(sim_free_pages(f.sim), before);	/* nothing freed */
	assert_int_equal(mthp_stat(f.sim, 4, "split"), 0);
	assert_int_equal(mthp_stat(f.sim, 4, "split_deferred"), 1);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 1);
	/* queued once */
	assert_int_equal(sim_madvise(f.mm, BASE + 12 * PAGE, PAGE, SIM_MADV_DONTNEED), 0);
	assert_int_equal(mthp_stat(f.sim, 4, "split_deferred"), 1);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 1);
	assert_int_equal(sim_free_pages(f.sim), before);
	/* the preview counts underused THPs only */
	assert_int_equal(sim_shrink_preview(f.sim, &res), 0);
	assert_int_equal(res.split, 0);
	assert_int_equal(sim_shrink(f.sim, -1, &res), 0);
	sim_fx_check(f.sim);
	assert_int_equal(res.split, 1);
	assert_int_equal(res.pages_freed, 5);
	assert_int_equal(sim_free_pages(f.sim), before + 5);
	assert_int_equal(info(f.mm, BASE).order, 0);
	assert_int_equal(info(f.mm, BASE).refcount, 1);
	assert_int_equal(mthp_stat(f.sim, 4, "split"), 1);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon"), 0);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 0);
	assert_int_equal(sim_shrink_freed(f.sim), 0);	/* no underused THP */
	expect(f.mm, BASE, 4, 0);
	expect(f.mm, BASE + 8 * PAGE, 4, 0);
	expect(f.mm, BASE + 13 * PAGE, 3, 0);
	{
		uint64_t tag = 1;

		assert_int_equal(sim_read(f.mm, BASE + 4 * PAGE, &tag), 0);
		assert_int_equal(tag, 0);
	}
	sim_fx_done(&f, true);
}

/*
 * The pattern make check-kernel runs on the kernel: 64K folios with one
 * page written, cut by DONTNEED of their second page, are kept; the
 * shrinker splits them, mapping their 14 zero-filled pages to the zero
 * page and freeing them with the unmapped one.
 */
static void test_shrink_partial_maps_zero_filled(void **state)
{
	struct sim_fx f = make(k64);
	struct sim_shrink_result res;
	uint64_t before;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	for (unsigned i = 0; i < 16; i++)
		fill(f.mm, BASE + i * 16 * PAGE, 1, 0);
	before = sim_free_pages(f.sim);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(sim_madvise(f.mm, BASE + (i * 16 + 1) * PAGE, PAGE,
					     SIM_MADV_DONTNEED), 0);
	assert_int_equal(mthp_stat(f.sim, 4, "split_deferred"), 16);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 16);
	assert_int_equal(info(f.mm, BASE + 2 * PAGE).order, 4);
	assert_int_equal(sim_free_pages(f.sim), before);
	assert_int_equal(sim_shrink(f.sim, -1, &res), 0);
	sim_fx_check(f.sim);
	assert_int_equal(res.split, 16);
	assert_int_equal(res.pages_freed, 16 * 15);
	assert_int_equal(sim_free_pages(f.sim), before + 16 * 15);
	assert_int_equal(mthp_stat(f.sim, 4, "split"), 16);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 0);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(info(f.mm, BASE + i * 16 * PAGE).order, 0);
		assert_int_equal(info(f.mm, BASE + (i * 16 + 1) * PAGE).state, '.');
		assert_int_equal(info(f.mm, BASE + (i * 16 + 2) * PAGE).state, '0');
	}
	expect(f.mm, BASE + 16 * PAGE, 1, 0);
	sim_fx_done(&f, true);
}

/*
 * A fault that finds the machine out of free pages runs the shrinkers and
 * tries once more, as direct reclaim does: the unmapped pages of
 * partially mapped folios are what it gets back here.
 */
static void test_fault_short_of_memory_shrinks(void **state)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 512, .seed = 1 };
	struct sim_fx f = sim_fx_make(&cfg, k64);
	uint64_t addr = BASE, tag = 1;
	unsigned folios = 0;
	int err;

	(void)state;
	sim_fx_map(f.mm, BASE, 4 * PMD);
	while ((err = sim_write(f.mm, addr, tag)) == 0) {
		folios += info(f.mm, addr).order == 4;
		addr += 16 * PAGE;
	}
	assert_int_equal(err, -ENOMEM);
	assert_true(folios >= 4);
	assert_int_equal(sim_write(f.mm, addr, tag), -ENOMEM);	/* nothing to shrink */
	assert_int_equal(sim_madvise(f.mm, BASE + PAGE, PAGE, SIM_MADV_DONTNEED), 0);
	assert_int_equal(sim_free_pages(f.sim), 0);
	assert_int_equal(sim_write(f.mm, addr, tag), 0);
	sim_fx_check(f.sim);
	assert_int_equal(mthp_stat(f.sim, 4, "split"), 1);
	assert_int_equal(info(f.mm, BASE).order, 0);
	sim_fx_done(&f, true);
}

/*
 * Freeing a partially mapped folio's last mapping frees it, and it leaves
 * nr_anon_partially_mapped; a folio shared after fork that one process
 * unmaps in part is mapped whole by the other, so not partially mapped.
 */
static void test_partial_folio_freed_and_shared(void **state)
{
	struct sim_fx f = make(k64);
	uint64_t before = sim_free_pages(f.sim);
	struct sim_mm *child;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	fill(f.mm, BASE, 32, 0);
	assert_int_equal(sim_madvise(f.mm, BASE, PAGE, SIM_MADV_DONTNEED), 0);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 1);
	assert_int_equal(sim_munmap(f.mm, BASE, 16 * PAGE), 0);
	sim_fx_check(f.sim);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 0);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon"), 1);
	assert_int_equal(sim_free_pages(f.sim), before - 16);
	assert_int_equal(sim_fork(f.mm, &child), 0);
	assert_int_equal(sim_madvise(child, BASE + 16 * PAGE, PAGE, SIM_MADV_DONTNEED), 0);
	sim_fx_check(f.sim);
	assert_int_equal(mthp_stat(f.sim, 4, "split_deferred"), 1);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 0);
	sim_exit(child);
	sim_fx_done(&f, true);
}

static void test_dontneed_huge_pmd(void **state)
{
	struct sim_fx f = make(kpmd);

	(void)state;
	sim_fx_map(f.mm, BASE, 2 * PMD);
	fill(f.mm, BASE, 512, 0);
	assert_true(info(f.mm, BASE).huge);
	/* part of the PMD: split the PMD mapping and zap; the folio is kept */
	assert_int_equal(sim_madvise(f.mm, BASE, 8 * PAGE, SIM_MADV_DONTNEED), 0);
	sim_fx_check(f.sim);
	assert_false(info(f.mm, BASE + 8 * PAGE).huge);
	assert_int_equal(info(f.mm, BASE + 8 * PAGE).order, 9);
	assert_int_equal(vmstat(f.sim, "thp_split_pmd"), 1);
	assert_int_equal(vmstat(f.sim, "thp_split_page"), 0);
	assert_int_equal(vmstat(f.sim, "thp_deferred_split_page"), 1);
	assert_int_equal(mthp_stat(f.sim, 9, "nr_anon_partially_mapped"), 1);
	expect(f.mm, BASE + 8 * PAGE, 504, 0);
	/* a whole PMD: zapped at once */
	fill(f.mm, BASE + PMD, 1, 0);
	assert_true(info(f.mm, BASE + PMD).huge);
	assert_int_equal(sim_madvise(f.mm, BASE + PMD, PMD, SIM_MADV_DONTNEED), 0);
	assert_int_equal(info(f.mm, BASE + PMD).state, '.');
	assert_int_equal(mthp_stat(f.sim, 9, "nr_anon"), 1);	/* the first one */
	sim_fx_done(&f, true);
}

static void test_free_marks_lazyfree(void **state)
{
	struct sim_fx f = make(NULL);

	(void)state;
	sim_fx_map(f.mm, BASE, 16 * PAGE);
	fill(f.mm, BASE, 16, 0);
	assert_int_equal(sim_madvise(f.mm, BASE, 8 * PAGE, SIM_MADV_FREE), 0);
	sim_fx_check(f.sim);
	assert_int_equal(info(f.mm, BASE).state, 'l');
	assert_int_equal(info(f.mm, BASE + 8 * PAGE).state, 'A');
	/* written again: dirty, so not discarded by page-out */
	fill(f.mm, BASE, 1, 0x55);
	assert_int_equal(sim_madvise(f.mm, BASE, 16 * PAGE, SIM_MADV_PAGEOUT), 0);
	sim_fx_check(f.sim);
	assert_int_equal(info(f.mm, BASE).state, 'w');
	assert_int_equal(info(f.mm, BASE + PAGE).state, '.');	/* dropped */
	assert_int_equal(info(f.mm, BASE + 8 * PAGE).state, 'w');
	expect(f.mm, BASE, 1, 0x55);
	expect(f.mm, BASE + 8 * PAGE, 8, 0);
	{
		uint64_t tag = 1;

		assert_int_equal(sim_read(f.mm, BASE + PAGE, &tag), 0);
		assert_int_equal(tag, 0);
	}
	sim_fx_done(&f, true);
}

static void test_pageout_and_swapin(void **state)
{
	struct sim_fx f = make(k64);

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	fill(f.mm, BASE, 32, 7);
	assert_int_equal(sim_madvise(f.mm, BASE, 16 * PAGE, SIM_MADV_PAGEOUT), 0);
	sim_fx_check(f.sim);
	assert_int_equal(info(f.mm, BASE).state, 'w');
	assert_int_equal(mthp_stat(f.sim, 4, "swpout"), 1);
	assert_int_equal(vmstat(f.sim, "pswpout"), 16);
	/* partly covered 64K folio: split, then paged out page by page */
	assert_int_equal(sim_madvise(f.mm, BASE + 16 * PAGE, 4 * PAGE, SIM_MADV_PAGEOUT), 0);
	sim_fx_check(f.sim);
	assert_int_equal(info(f.mm, BASE + 16 * PAGE).state, 'w');
	assert_int_equal(info(f.mm, BASE + 20 * PAGE).state, 'A');
	assert_int_equal(info(f.mm, BASE + 20 * PAGE).order, 0);
	expect(f.mm, BASE, 32, 7);
	sim_fx_check(f.sim);
	assert_int_equal(vmstat(f.sim, "pswpin"), 20);
	assert_int_equal(info(f.mm, BASE).order, 0);
	sim_fx_done(&f, true);
}

static void test_pageout_huge_pmd(void **state)
{
	struct sim_fx f = make(kpmd);

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	fill(f.mm, BASE, 512, 3);
	assert_int_equal(sim_madvise(f.mm, BASE, PMD, SIM_MADV_PAGEOUT), 0);
	sim_fx_check(f.sim);
	assert_int_equal(vmstat(f.sim, "thp_swpout"), 1);
	assert_int_equal(info(f.mm, BASE + 100 * PAGE).state, 'w');
	expect(f.mm, BASE, 512, 3);
	sim_fx_done(&f, true);
}

static void test_mremap_moves_ptes(void **state)
{
	struct sim_fx f = make(k64);
	uint64_t dst = BASE + 8 * PMD + 4 * PAGE;
	struct sim_page_info before, after;

	(void)state;
	sim_fx_map(f.mm, BASE, 64 * PAGE);
	fill(f.mm, BASE, 64, 9);
	before = info(f.mm, BASE + 3 * PAGE);
	assert_int_equal(sim_mremap(f.mm, BASE, 64 * PAGE, &dst), 0);
	sim_fx_check(f.sim);
	assert_int_equal(dst, BASE + 8 * PMD + 4 * PAGE);
	after = info(f.mm, dst + 3 * PAGE);
	assert_int_equal(after.pfn, before.pfn);
	assert_int_equal(after.order, 4);
	assert_int_equal(info(f.mm, BASE).state, '.');
	assert_int_equal(sim_write(f.mm, BASE, 1), -EFAULT);
	for (unsigned i = 0; i < 64; i++) {
		uint64_t tag;

		assert_int_equal(sim_read(f.mm, dst + i * PAGE, &tag), 0);
		assert_int_equal(tag, (BASE + i * PAGE) ^ 9);
	}
	sim_fx_done(&f, true);
}

static void test_mremap_moves_pmd(void **state)
{
	struct sim_fx f = make(kpmd);
	uint64_t dst = 0;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	fill(f.mm, BASE, 512, 4);
	assert_int_equal(sim_mremap(f.mm, BASE, PMD, &dst), 0);
	sim_fx_check(f.sim);
	assert_true(info(f.mm, dst).huge);
	assert_int_equal(vmstat(f.sim, "thp_split_pmd"), 0);
	for (unsigned i = 0; i < 512; i += 17) {
		uint64_t tag;

		assert_int_equal(sim_read(f.mm, dst + i * PAGE, &tag), 0);
		assert_int_equal(tag, (BASE + i * PAGE) ^ 4);
	}
	sim_fx_done(&f, true);
}

/*
 * mremap shrinking in place: the tail is unmapped, its folios freed or
 * left partially mapped.
 */
static void test_mremap_shrink_in_place(void **state)
{
	struct sim_fx f = make(k64);
	uint64_t before = sim_free_pages(f.sim), na = 0;
	struct sim_vma_info vi;

	(void)state;
	sim_fx_map(f.mm, BASE, 64 * PAGE);
	fill(f.mm, BASE, 64, 5);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon"), 4);
	assert_int_equal(sim_free_pages(f.sim), before - 64);
	assert_int_equal(sim_mremap_resize(f.mm, BASE, 64 * PAGE, 20 * PAGE, 0, &na), 0);
	sim_fx_check(f.sim);
	assert_int_equal(na, BASE);
	assert_int_equal(sim_nr_vmas(f.mm), 1);
	assert_int_equal(sim_vma_info(f.mm, 0, &vi), 0);
	assert_int_equal(vi.start, BASE);
	assert_int_equal(vi.end, BASE + 20 * PAGE);
	/* 32 pages freed; the 64K folio cut at page 20 kept, partially mapped */
	assert_int_equal(sim_free_pages(f.sim), before - 32);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon"), 2);
	assert_int_equal(mthp_stat(f.sim, 4, "split"), 0);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 1);
	assert_int_equal(info(f.mm, BASE + 3 * PAGE).order, 4);
	assert_int_equal(info(f.mm, BASE + 17 * PAGE).order, 4);
	assert_int_equal(info(f.mm, BASE + 20 * PAGE).state, '.');
	assert_int_equal(sim_write(f.mm, BASE + 20 * PAGE, 1), -EFAULT);
	expect(f.mm, BASE, 20, 5);
	/* same length: nothing to do */
	assert_int_equal(sim_mremap_resize(f.mm, BASE, 20 * PAGE, 20 * PAGE, 0, &na), 0);
	assert_int_equal(na, BASE);
	sim_fx_done(&f, true);
}

/* mremap growing in place: the VMA is extended, nothing moves. */
static void test_mremap_grow_in_place(void **state)
{
	struct sim_fx f = make(k64);
	struct sim_page_info before;
	struct sim_vma_info vi;
	uint64_t na = 0;

	(void)state;
	sim_fx_map(f.mm, BASE, 16 * PAGE);
	fill(f.mm, BASE, 16, 6);
	before = info(f.mm, BASE + 5 * PAGE);
	assert_int_equal(before.order, 4);
	assert_int_equal(sim_mremap_resize(f.mm, BASE, 16 * PAGE, 48 * PAGE, 0, &na), 0);
	sim_fx_check(f.sim);
	assert_int_equal(na, BASE);
	assert_int_equal(sim_nr_vmas(f.mm), 1);
	assert_int_equal(sim_vma_info(f.mm, 0, &vi), 0);
	assert_int_equal(vi.end, BASE + 48 * PAGE);
	assert_int_equal(info(f.mm, BASE + 5 * PAGE).pfn, before.pfn);
	assert_int_equal(info(f.mm, BASE + 16 * PAGE).state, '.');
	expect(f.mm, BASE, 16, 6);
	/* the grown part faults like the rest (a 64K folio) */
	fill(f.mm, BASE + 16 * PAGE, 32, 6);
	assert_int_equal(info(f.mm, BASE + 40 * PAGE).order, 4);
	expect(f.mm, BASE, 48, 6);
	/* a range in the middle of the VMA grows by moving only (-ENOMEM without) */
	assert_int_equal(sim_mremap_resize(f.mm, BASE, 16 * PAGE, 20 * PAGE, 0, &na),
			 -ENOMEM);
	sim_fx_done(&f, true);
}

/* mremap growing where the next range is taken: -ENOMEM, or a move with MAYMOVE. */
static void test_mremap_grow_moves(void **state)
{
	struct sim_fx f = make(k64);
	struct sim_page_info before;
	struct sim_vma_info vi;
	uint64_t na = 0, free_before;

	(void)state;
	sim_fx_map(f.mm, BASE, 16 * PAGE);
	sim_fx_map(f.mm, BASE + 16 * PAGE, 16 * PAGE);
	assert_int_equal(sim_mprotect(f.mm, BASE + 16 * PAGE, 16 * PAGE, SIM_PROT_READ), 0);
	assert_int_equal(sim_nr_vmas(f.mm), 2);
	fill(f.mm, BASE, 16, 7);
	before = info(f.mm, BASE + 9 * PAGE);
	free_before = sim_free_pages(f.sim);
	assert_int_equal(sim_mremap_resize(f.mm, BASE, 16 * PAGE, 32 * PAGE, 0, &na),
			 -ENOMEM);
	sim_fx_check(f.sim);
	expect(f.mm, BASE, 16, 7);
	assert_int_equal(sim_mremap_resize(f.mm, BASE, 16 * PAGE, 32 * PAGE,
					   SIM_MREMAP_MAYMOVE, &na), 0);
	sim_fx_check(f.sim);
	assert_true(na != BASE);
	assert_int_equal(sim_free_pages(f.sim), free_before);
	assert_int_equal(info(f.mm, na + 9 * PAGE).pfn, before.pfn);
	assert_int_equal(info(f.mm, na + 9 * PAGE).order, 4);
	assert_int_equal(info(f.mm, BASE + 9 * PAGE).state, '.');
	assert_int_equal(sim_write(f.mm, BASE, 1), -EFAULT);
	assert_int_equal(sim_nr_vmas(f.mm), 2);
	assert_int_equal(sim_vma_info(f.mm, 0, &vi), 0);
	assert_int_equal(vi.start, BASE + 16 * PAGE);	/* the blocker stays */
	assert_int_equal(sim_vma_info(f.mm, 1, &vi), 0);
	assert_int_equal(vi.start, na);
	assert_int_equal(vi.end, na + 32 * PAGE);
	for (unsigned i = 0; i < 16; i++) {
		uint64_t tag;

		assert_int_equal(sim_read(f.mm, na + i * PAGE, &tag), 0);
		assert_int_equal(tag, (BASE + i * PAGE) ^ 7);
	}
	assert_int_equal(info(f.mm, na + 20 * PAGE).state, '.');
	sim_fx_done(&f, true);
}

/*
 * MREMAP_FIXED: the destination is replaced, the old range shrunk (tail
 * unmapped) and moved; then moved back grown (the selftest's splice).
 */
static void test_mremap_fixed_shrink_and_grow(void **state)
{
	struct sim_fx f = make(kpmd);
	uint64_t dst = BASE + 4 * PMD, back = BASE - PAGE, pfn0;
	struct sim_vma_info vi;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	fill(f.mm, BASE, 512, 8);
	assert_true(info(f.mm, BASE).huge);
	pfn0 = info(f.mm, BASE).pfn;
	sim_fx_map(f.mm, dst, 8 * PAGE);		/* replaced by the move */
	fill(f.mm, dst, 8, 9);
	/* errors first: FIXED without MAYMOVE, overlap, crossing, nothing mapped */
	assert_int_equal(sim_mremap_resize(f.mm, BASE, PMD, PAGE, SIM_MREMAP_FIXED, &dst),
			 -EINVAL);
	assert_int_equal(sim_mremap_resize(f.mm, BASE, PMD, PAGE, 4, &dst), -EINVAL);
	back = BASE + PAGE;
	assert_int_equal(sim_mremap_resize(f.mm, BASE, PMD, PMD, SIM_MREMAP_MAYMOVE |
					   SIM_MREMAP_FIXED, &back), -EINVAL);
	back = BASE + 8 * PMD;
	assert_int_equal(sim_mremap_resize(f.mm, BASE + PMD, PAGE, PAGE, SIM_MREMAP_MAYMOVE |
					   SIM_MREMAP_FIXED, &back), -EFAULT);
	assert_int_equal(sim_mremap_resize(f.mm, BASE + PMD - PAGE, 2 * PAGE, PAGE,
					   0, &back), 0);	/* a shrink is allowed */
	assert_int_equal(sim_mremap_resize(f.mm, BASE + PMD - 2 * PAGE, 2 * PAGE,
					   PAGE, 0, &back), 0);	/* in place */
	assert_int_equal(back, BASE + PMD - 2 * PAGE);
	assert_int_equal(sim_mremap_resize(f.mm, BASE + PMD - 2 * PAGE, 2 * PAGE,
					   4 * PAGE, SIM_MREMAP_MAYMOVE, &back), -EFAULT);
	sim_fx_check(f.sim);
	/* shrink to 1 page and move it over the destination */
	assert_int_equal(sim_mremap_resize(f.mm, BASE, PMD - PAGE, PAGE, SIM_MREMAP_MAYMOVE |
					   SIM_MREMAP_FIXED, &dst), 0);
	sim_fx_check(f.sim);
	assert_int_equal(dst, BASE + 4 * PMD);
	assert_int_equal(sim_nr_vmas(f.mm), 2);	/* + the rest of the replaced one */
	assert_int_equal(info(f.mm, dst).pfn, pfn0);
	assert_int_equal(info(f.mm, dst).order, 9);	/* partially mapped */
	expect(f.mm, dst, 1, 8 ^ BASE ^ dst);
	expect(f.mm, dst + PAGE, 7, 9);
	/* back below BASE, grown by a PMD */
	back = BASE - PAGE;
	assert_int_equal(sim_mremap_resize(f.mm, dst, PAGE, PAGE + PMD, SIM_MREMAP_MAYMOVE |
					   SIM_MREMAP_FIXED, &back), 0);
	sim_fx_check(f.sim);
	assert_int_equal(back, BASE - PAGE);
	assert_int_equal(sim_nr_vmas(f.mm), 2);
	assert_int_equal(sim_vma_info(f.mm, 0, &vi), 0);
	assert_int_equal(vi.start, BASE - PAGE);
	assert_int_equal(vi.end, BASE + PMD);
	assert_int_equal(info(f.mm, back).pfn, pfn0);
	assert_int_equal(info(f.mm, dst).state, '.');
	assert_int_equal(info(f.mm, BASE).state, '.');
	expect(f.mm, back, 1, 8 ^ BASE ^ back);
	expect(f.mm, dst + PAGE, 7, 9);
	assert_int_equal(sim_free_pages(f.sim), 8191 - 8 - 511);
	/* the shrinker splits the THP, freeing the 511 pages mapped nowhere */
	{
		struct sim_shrink_result res;

		assert_int_equal(sim_shrink(f.sim, -1, &res), 0);
		assert_int_equal(res.split, 1);
		assert_int_equal(res.pages_freed, 511);
	}
	sim_fx_check(f.sim);
	assert_int_equal(info(f.mm, back).order, 0);
	expect(f.mm, back, 1, 8 ^ BASE ^ back);
	assert_int_equal(sim_free_pages(f.sim), 8191 - 8);
	sim_fx_done(&f, true);
}

static void test_mprotect_splits_and_merges(void **state)
{
	struct sim_fx f = make(kpmd);
	struct sim_vma_info vi;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	fill(f.mm, BASE, 1, 0);
	assert_int_equal(sim_mprotect(f.mm, BASE + 4 * PAGE, 4 * PAGE, SIM_PROT_READ), 0);
	sim_fx_check(f.sim);
	assert_int_equal(sim_nr_vmas(f.mm), 3);
	assert_int_equal(sim_vma_info(f.mm, 1, &vi), 0);
	assert_int_equal(vi.prot, SIM_PROT_READ);
	assert_false(info(f.mm, BASE).huge);	/* the huge PMD was split */
	assert_false(info(f.mm, BASE + 4 * PAGE).writable);
	assert_int_equal(sim_write(f.mm, BASE + 4 * PAGE, 1), -EFAULT);
	expect(f.mm, BASE, 1, 0);
	assert_int_equal(sim_mprotect(f.mm, BASE + 4 * PAGE, 4 * PAGE, SIM_PROT_RW), 0);
	assert_int_equal(sim_nr_vmas(f.mm), 1);
	/* write after re-enabling: reuse, no copy */
	{
		uint64_t pfn = info(f.mm, BASE + 4 * PAGE).pfn;

		assert_int_equal(sim_write(f.mm, BASE + 4 * PAGE, 77), 0);
		assert_int_equal(info(f.mm, BASE + 4 * PAGE).pfn, pfn);
	}
	sim_fx_done(&f, true);
}

static void test_madvise_hugepage_splits_vma(void **state)
{
	struct sim_fx f = make(NULL);
	struct sim_vma_info vi;

	(void)state;
	sim_fx_map(f.mm, BASE, 4 * PMD);
	assert_int_equal(sim_madvise(f.mm, BASE + PMD, PMD, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_nr_vmas(f.mm), 3);
	assert_int_equal(sim_vma_info(f.mm, 1, &vi), 0);
	assert_true(vi.flags & MTHP_VMA_HUGEPAGE);
	assert_int_equal(sim_madvise(f.mm, BASE + PMD, PMD, SIM_MADV_NOHUGEPAGE), 0);
	assert_int_equal(sim_nr_vmas(f.mm), 3);
	assert_int_equal(sim_vma_info(f.mm, 1, &vi), 0);
	assert_true(vi.flags & MTHP_VMA_NOHUGEPAGE);
	assert_int_equal(sim_madvise(f.mm, BASE + 8 * PMD, PMD, SIM_MADV_HUGEPAGE), -ENOMEM);
	sim_fx_done(&f, true);
}

static void test_populate_write(void **state)
{
	struct sim_fx f = make(NULL);

	(void)state;
	sim_fx_map(f.mm, BASE, 32 * PAGE);
	fill(f.mm, BASE, 4, 0);
	assert_int_equal(sim_madvise(f.mm, BASE, 32 * PAGE, SIM_MADV_POPULATE_WRITE), 0);
	sim_fx_check(f.sim);
	assert_int_equal(info(f.mm, BASE + 31 * PAGE).state, 'A');
	assert_true(info(f.mm, BASE + 31 * PAGE).writable);
	expect(f.mm, BASE, 4, 0);
	sim_fx_done(&f, true);
}

static void test_uffd_wp_and_age(void **state)
{
	struct sim_fx f = make(NULL);

	(void)state;
	sim_fx_map(f.mm, BASE, 16 * PAGE);
	fill(f.mm, BASE, 16, 0);
	assert_int_equal(sim_uffd_writeprotect(f.mm, BASE, PAGE, true), -ENOENT);
	assert_int_equal(sim_uffd_register(f.mm, BASE, 8 * PAGE, SIM_UFFD_WP), 0);
	assert_int_equal(sim_nr_vmas(f.mm), 2);
	assert_int_equal(sim_uffd_writeprotect(f.mm, BASE, 4 * PAGE, true), 0);
	assert_int_equal(info(f.mm, BASE).state, 'u');
	assert_int_equal(sim_write(f.mm, BASE, 5), -EAGAIN);
	expect(f.mm, BASE, 1, 0);
	assert_int_equal(sim_madvise(f.mm, BASE, PAGE, SIM_MADV_PAGEOUT), 0);
	assert_int_equal(info(f.mm, BASE).state, 'u');	/* swap with marker */
	sim_fx_check(f.sim);
	assert_int_equal(sim_uffd_writeprotect(f.mm, BASE, 4 * PAGE, false), 0);
	assert_int_equal(info(f.mm, BASE).state, 'w');
	assert_int_equal(sim_uffd_unregister(f.mm, BASE, 8 * PAGE), 0);
	assert_int_equal(sim_nr_vmas(f.mm), 1);
	assert_int_equal(sim_age(f.mm), 0);
	assert_int_equal(info(f.mm, BASE + 5 * PAGE).state, 'a');
	expect(f.mm, BASE, 16, 0);
	assert_int_equal(info(f.mm, BASE + 5 * PAGE).state, 'A');
	sim_fx_done(&f, true);
}

static void test_pin(void **state)
{
	struct sim_fx f = make(NULL);

	(void)state;
	sim_fx_map(f.mm, BASE, 16 * PAGE);
	fill(f.mm, BASE, 1, 0);
	assert_int_equal(sim_pin(f.mm, BASE), 0);
	assert_int_equal(info(f.mm, BASE).state, 'P');
	assert_int_equal(info(f.mm, BASE).refcount, 2);
	sim_fx_check(f.sim);
	assert_int_equal(sim_unpin(f.mm, BASE), 0);
	assert_int_equal(sim_unpin(f.mm, BASE), -EFAULT);
	assert_int_equal(info(f.mm, BASE).state, 'A');
	sim_fx_done(&f, true);
}

/* A misspelled counter is an error, never a counter that reads 0. */
static void test_stat_unknown_name_fails(void **state)
{
	struct sim_fx f = make(k64);
	uint64_t v = 12345;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	fill(f.mm, BASE, 16, 0);
	/* one fault maps the 16 pages' 64 KiB folio */
	assert_int_equal(sim_vmstat(f.sim, "pgfault", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(sim_mthp_stat(f.sim, 4, "nr_anon", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(sim_khugepaged_stat(f.sim, "full_scans", &v), 0);
	assert_int_equal(v, 0);
	v = 12345;
	assert_int_equal(sim_vmstat(f.sim, "thp_fualt_alloc", &v), -EINVAL);
	assert_int_equal(sim_vmstat(f.sim, "", &v), -EINVAL);
	assert_int_equal(sim_mthp_stat(f.sim, 4, "nr_annon", &v), -EINVAL);
	assert_int_equal(sim_mthp_stat(f.sim, 10, "nr_anon", &v), -EINVAL);
	assert_int_equal(sim_khugepaged_stat(f.sim, "pages_colapsed", &v), -EINVAL);
	assert_int_equal(v, 12345);
	sim_fx_done(&f, true);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_munmap_frees),
	cmocka_unit_test(test_munmap_middle_splits_vma),
	cmocka_unit_test(test_dontneed_defers_partial_folio),
	cmocka_unit_test(test_shrink_partial_maps_zero_filled),
	cmocka_unit_test(test_fault_short_of_memory_shrinks),
	cmocka_unit_test(test_partial_folio_freed_and_shared),
	cmocka_unit_test(test_dontneed_huge_pmd),
	cmocka_unit_test(test_free_marks_lazyfree),
	cmocka_unit_test(test_pageout_and_swapin),
	cmocka_unit_test(test_pageout_huge_pmd),
	cmocka_unit_test(test_mremap_moves_ptes),
	cmocka_unit_test(test_mremap_moves_pmd),
	cmocka_unit_test(test_mremap_shrink_in_place),
	cmocka_unit_test(test_mremap_grow_in_place),
	cmocka_unit_test(test_mremap_grow_moves),
	cmocka_unit_test(test_mremap_fixed_shrink_and_grow),
	cmocka_unit_test(test_mprotect_splits_and_merges),
	cmocka_unit_test(test_madvise_hugepage_splits_vma),
	cmocka_unit_test(test_populate_write),
	cmocka_unit_test(test_uffd_wp_and_age),
	cmocka_unit_test(test_pin),
	cmocka_unit_test(test_stat_unknown_name_fails),
)
