// SPDX-License-Identifier: MIT
/*
 * test_sim_shrinker.c - the underused-THP shrinker (sim_shrink): which
 * folios it splits (PMD-sized, queued when mapped by a PMD while
 * shrink_underused was on, more than max_ptes_none zero-filled pages),
 * what it leaves (mTHP folios, 511, folios queued with the knob off), what
 * a split does (written pages kept, zero-filled ones mapped to the zero
 * page and freed), and the retry of a write fault whose memory cgroup is
 * at its limit, and of a collapse's allocation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_fx.h"
#include "helpers/sim_stat.h"
#include "helpers/test_main.h"

#define PAGE 4096ull
#define N 512u
#define PMD (N * PAGE)
#define BASE 0x200000000ull

static struct sim_fx make(const char *const *knobs)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 16384,
					.nr_swap_slots = 0, .seed = 1 };

	return sim_fx_make(&cfg, knobs);
}

/* THPs at fault in n PMD ranges, with pages [0, written) of each written. */
static void fault_thps(struct sim_mm *mm, unsigned n, unsigned written)
{
	sim_fx_map(mm, BASE, n * PMD);
	for (unsigned r = 0; r < n; r++)
		for (unsigned i = 0; i < written; i++)
			assert_int_equal(sim_write(mm, BASE + r * PMD + i * PAGE, 1000 + i), 0);
}

static struct sim_shrink_result shrink(struct sim *sim)
{
	struct sim_shrink_result res;

	assert_int_equal(sim_shrink(sim, -1, &res), 0);
	sim_fx_check(sim);
	return res;
}

static const char *const thp0[] = { "enabled", "always", "khugepaged/max_ptes_none", "0",
				    NULL };

/* 4 THPs of one written page each, at max_ptes_none 0: each is split. */
static void test_splits_underused_thps(void **state)
{
	struct sim_fx f = make(thp0);
	uint64_t free_before;
	struct sim_shrink_result res;
	struct sim_page_info pi;

	(void)state;
	fault_thps(f.mm, 4, 1);
	assert_int_equal(sim_page_info(f.mm, BASE, &pi), 0);
	assert_true(pi.huge);
	free_before = sim_free_pages(f.sim);
	/* the preview counts what a run would do, and does none of it */
	assert_int_equal(sim_shrink_preview(f.sim, &res), 0);
	assert_int_equal(res.split, 4);
	assert_int_equal(res.pages_freed, 4 * (N - 1));
	assert_int_equal(sim_free_pages(f.sim), free_before);
	assert_int_equal(sim_page_info(f.mm, BASE, &pi), 0);
	assert_true(pi.huge);
	assert_int_equal(vmstat(f.sim, "thp_underused_split_page"), 0);
	res = shrink(f.sim);
	assert_int_equal(res.split, 4);
	assert_int_equal(res.pages_freed, 4 * (N - 1));
	assert_int_equal(sim_free_pages(f.sim), free_before + 4 * (N - 1));
	assert_int_equal(vmstat(f.sim, "thp_underused_split_page"), 4);
	assert_int_equal(vmstat(f.sim, "thp_split_page"), 4);
	assert_int_equal(sim_shrink_freed(f.sim), 4 * (N - 1));
	/* the written page is kept, order 0; the others read as the zero page */
	assert_int_equal(sim_page_info(f.mm, BASE, &pi), 0);
	assert_false(pi.huge);
	assert_int_equal(pi.order, 0);
	assert_int_equal(pi.tag, 1000);
	assert_int_equal(sim_page_info(f.mm, BASE + 7 * PAGE, &pi), 0);
	assert_int_equal(pi.state, '0');
	/* nothing left to split */
	res = shrink(f.sim);
	assert_int_equal(res.split, 0);
	assert_int_equal(sim_shrink_preview(f.sim, &res), 0);
	assert_int_equal(res.split, 0);
	sim_fx_done(&f, true);
}

/* The test is "more than max_ptes_none": 256 zero pages pass 255, 255 do not. */
static void test_underused_is_more_than_max_ptes_none(void **state)
{
	static const char *const k[] = { "enabled", "always", "khugepaged/max_ptes_none",
					 "255", NULL };
	struct sim_fx f = make(k);

	(void)state;
	fault_thps(f.mm, 1, N - 256);		/* 256 zero-filled */
	sim_fx_map(f.mm, BASE + PMD, PMD);
	for (unsigned i = 0; i < N - 255; i++)	/* 255 zero-filled */
		assert_int_equal(sim_write(f.mm, BASE + PMD + i * PAGE, 1), 0);
	assert_int_equal(shrink(f.sim).split, 1);
	assert_int_equal(vmstat(f.sim, "thp_underused_split_page"), 1);
	/* the second is off the queue now: writing zeros later changes nothing */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(sim_write(f.mm, BASE + PMD + i * PAGE, 0), 0);
	assert_int_equal(shrink(f.sim).split, 0);
	sim_fx_done(&f, true);
}

/* 511, the knob off when the THP was mapped, or mTHP folios: never split. */
static void test_what_is_never_split(void **state)
{
	static const char *const k511[] = { "enabled", "always", NULL };
	static const char *const koff[] = { "enabled", "always", "khugepaged/max_ptes_none",
					    "0", "shrink_underused", "0", NULL };
	static const char *const k64[] = { "enabled", "always", "hugepages-2048kB/enabled",
					   "never", "hugepages-64kB/enabled", "always",
					   "khugepaged/max_ptes_none", "0", NULL };
	struct sim_fx f = make(k511);

	(void)state;
	fault_thps(f.mm, 2, 1);
	assert_int_equal(shrink(f.sim).split, 0);
	sim_fx_done(&f, true);

	f = make(koff);
	fault_thps(f.mm, 2, 1);
	assert_int_equal(sim_set_knob(f.sim, "shrink_underused", "1"), 0);
	assert_int_equal(shrink(f.sim).split, 0);	/* queued only when mapped */
	sim_fx_done(&f, true);

	f = make(k64);
	fault_thps(f.mm, 2, 1);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon"), 2);
	assert_int_equal(shrink(f.sim).split, 0);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon"), 2);
	sim_fx_done(&f, true);
}

/* A THP shared with a fork child is left alone here (see shrinker.c). */
static void test_shared_thp_left(void **state)
{
	struct sim_fx f = make(thp0);
	struct sim_mm *child;

	(void)state;
	fault_thps(f.mm, 1, 1);
	assert_int_equal(sim_fork(f.mm, &child), 0);
	assert_int_equal(shrink(f.sim).split, 0);
	sim_exit(child);
	assert_int_equal(shrink(f.sim).split, 1);
	sim_fx_done(&f, true);
}

/*
 * A cgroup at its limit: the write fault that cannot be charged runs the
 * cgroup's shrinker and is retried, as reclaim would.
 */
static void test_memcg_limit_runs_the_shrinker(void **state)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 16384,
					.nr_swap_slots = 0, .seed = 1 };
	struct sim *sim = sim_fx_sim(&cfg, thp0);
	struct sim_mm *mm;
	unsigned cg;

	(void)state;
	assert_int_equal(sim_memcg_create(sim, 3 * N, &cg), 0);
	assert_int_equal(sim_mm_create(sim, cg, &mm), 0);
	fault_thps(mm, 4, 0);
	for (unsigned r = 0; r < 3; r++)
		assert_int_equal(sim_write(mm, BASE + r * PMD, 1), 0);
	assert_int_equal(sim_memcg_usage(sim, cg), 3 * N);
	assert_int_equal(vmstat(sim, "thp_underused_split_page"), 0);
	/*
	 * The fourth THP does not fit, nor its order-0 fallback: the three
	 * are split and the fault retried, which finds the page table its
	 * fallback installed and takes one page (in the kernel a THP charge
	 * does not reclaim without direct reclaim in its gfp; the order-0
	 * charge does, and reclaim runs the shrinkers)
	 */
	assert_int_equal(sim_write(mm, BASE + 3 * PMD, 1), 0);
	assert_int_equal(vmstat(sim, "thp_underused_split_page"), 3);
	assert_int_equal(sim_memcg_usage(sim, cg), 4);
	assert_int_equal(sim_shrink_freed(sim), 3 * (N - 1));
	sim_fx_check(sim);
	sim_exit(mm);
	sim_destroy(sim);
}

/* Is addr mapped by a huge PMD? */
static bool info_huge(struct sim_mm *mm, uint64_t addr)
{
	struct sim_page_info pi;

	assert_int_equal(sim_page_info(mm, addr, &pi), 0);
	return pi.huge;
}

/* The order of the folio mapped at addr. */
static unsigned order_at(struct sim_mm *mm, uint64_t addr)
{
	struct sim_page_info pi;

	assert_int_equal(sim_page_info(mm, addr, &pi), 0);
	return pi.order;
}

/*
 * khugepaged short of memory.  With khugepaged/defrag 1 its allocation
 * reclaims, as the kernel's GFP_TRANSHUGE does: the shrinkers run and the
 * allocation is tried again.  What comes back here is a 64K folio whose
 * written page was unmapped (its 15 other pages zero-filled), and with it
 * the collapse of 16 small pages.  With khugepaged/defrag 0 the
 * allocation fails and that folio stays partially mapped.
 */
static void collapse_short_of_memory(bool defrag)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 1024,
					.nr_swap_slots = 0, .seed = 1 };
	static const char *const knobs[] = {
		"enabled", "never", "hugepages-64kB/enabled", "never",
		"khugepaged/max_ptes_none", "0", NULL };
	struct sim_fx f = sim_fx_make(&cfg, knobs);
	uint64_t addr = BASE + PMD, tag;
	unsigned folios = 0;

	sim_fx_map(f.mm, BASE, 4 * PMD);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(sim_write(f.mm, BASE + i * PAGE, 100 + i), 0);
	assert_int_equal(order_at(f.mm, BASE), 0);
	assert_int_equal(sim_set_knob(f.sim, "hugepages-64kB/enabled", "always"), 0);
	assert_int_equal(sim_set_knob(f.sim, "khugepaged/defrag", defrag ? "1" : "0"), 0);
	/* 64K folios of one written page, then small pages, until nothing is free */
	while (sim_write(f.mm, addr, 1) == 0) {
		folios += order_at(f.mm, addr) == 4;
		addr += 16 * PAGE;
	}
	assert_true(folios >= 2);
	assert_int_equal(sim_free_pages(f.sim), 0);
	assert_int_equal(sim_madvise(f.mm, BASE + PMD, PAGE, SIM_MADV_DONTNEED), 0);
	assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 1);
	assert_int_equal(sim_free_pages(f.sim), 0);

	assert_int_equal(sim_khugepaged_pass(f.sim, 0, NULL), 0);
	sim_fx_check(f.sim);
	if (defrag) {
		assert_int_equal(order_at(f.mm, BASE), 4);
		assert_int_equal(mthp_stat(f.sim, 4, "split"), 1);
		assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 0);
		assert_int_equal(order_at(f.mm, BASE + PMD + PAGE), 0);
	} else {
		assert_int_equal(order_at(f.mm, BASE), 0);
		assert_true(mthp_stat(f.sim, 4, "collapse_alloc_failed") >= 1);
		assert_int_equal(mthp_stat(f.sim, 4, "split"), 0);
		assert_int_equal(mthp_stat(f.sim, 4, "nr_anon_partially_mapped"), 1);
	}
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(sim_read(f.mm, BASE + i * PAGE, &tag), 0);
		assert_int_equal(tag, 100 + i);
	}
	sim_fx_done(&f, true);
}

static void test_collapse_reclaims(void **state)
{
	(void)state;
	collapse_short_of_memory(true);
}

static void test_collapse_without_defrag_does_not_reclaim(void **state)
{
	(void)state;
	collapse_short_of_memory(false);
}

/*
 * A process in a cgroup of limit pages: an underused THP in the second
 * PMD range, then (THPs off) 16 small pages at the start of the first.
 */
static struct sim_mm *thp_and_small_pages(struct sim *sim, uint64_t limit, unsigned *cg)
{
	struct sim_mm *mm;

	assert_int_equal(sim_memcg_create(sim, limit, cg), 0);
	assert_int_equal(sim_mm_create(sim, *cg, &mm), 0);
	sim_fx_map(mm, BASE, 2 * PMD);
	assert_int_equal(sim_write(mm, BASE + PMD + 5 * PAGE, 1), 0);
	assert_int_equal(sim_set_knob(sim, "enabled", "never"), 0);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(sim_write(mm, BASE + i * PAGE, 100 + i), 0);
	assert_int_equal(sim_memcg_usage(sim, *cg), N + 16);
	return mm;
}

/*
 * The same at a memory cgroup's limit: with khugepaged/defrag 1 the
 * charge of the new folio reclaims in the cgroup, whose shrinker splits
 * its underused THP, and is tried again; with 0 it fails.
 */
static void collapse_at_memcg_limit(bool defrag)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 16384,
					.nr_swap_slots = 0, .seed = 1 };
	struct sim *sim = sim_fx_sim(&cfg, thp0);
	unsigned cg;
	struct sim_mm *mm = thp_and_small_pages(sim, N + 16, &cg);

	assert_int_equal(sim_set_knob(sim, "hugepages-64kB/enabled", "always"), 0);
	assert_int_equal(sim_set_knob(sim, "khugepaged/defrag", defrag ? "1" : "0"), 0);

	assert_int_equal(sim_khugepaged_pass(sim, 0, NULL), 0);
	sim_fx_check(sim);
	if (defrag) {
		assert_int_equal(order_at(mm, BASE), 4);
		assert_int_equal(vmstat(sim, "thp_underused_split_page"), 1);
		assert_int_equal(sim_memcg_usage(sim, cg), 1 + 16);
	} else {
		assert_int_equal(order_at(mm, BASE), 0);
		assert_int_equal(vmstat(sim, "thp_underused_split_page"), 0);
		assert_int_equal(sim_memcg_usage(sim, cg), N + 16);
	}
	assert_int_equal(mthp_stat(sim, 4, "collapse_alloc"), 1);
	sim_exit(mm);
	sim_destroy(sim);
}

static void test_collapse_charge_reclaims(void **state)
{
	(void)state;
	collapse_at_memcg_limit(true);
}

static void test_collapse_charge_without_defrag_fails(void **state)
{
	(void)state;
	collapse_at_memcg_limit(false);
}

/*
 * What make check-kernel runs on the kernel: MADV_COLLAPSE at the
 * cgroup's limit, the cgroup holding an underused THP.  Its charge
 * reclaims whatever khugepaged/defrag says (here 0): the shrinker splits
 * the THP and the collapse succeeds.
 */
static void test_madv_collapse_charge_reclaims(void **state)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 16384,
					.nr_swap_slots = 0, .seed = 1 };
	struct sim *sim = sim_fx_sim(&cfg, thp0);
	unsigned cg;
	struct sim_mm *mm = thp_and_small_pages(sim, N + 16 + N / 2, &cg);

	(void)state;
	assert_int_equal(sim_set_knob(sim, "khugepaged/defrag", "0"), 0);
	assert_int_equal(sim_madvise_collapse(mm, BASE, PMD), 0);
	sim_fx_check(sim);
	assert_true(info_huge(mm, BASE));
	assert_int_equal(vmstat(sim, "thp_underused_split_page"), 1);
	assert_int_equal(sim_memcg_usage(sim, cg), 1 + N);
	sim_exit(mm);
	sim_destroy(sim);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_splits_underused_thps),
	cmocka_unit_test(test_underused_is_more_than_max_ptes_none),
	cmocka_unit_test(test_what_is_never_split),
	cmocka_unit_test(test_shared_thp_left),
	cmocka_unit_test(test_memcg_limit_runs_the_shrinker),
	cmocka_unit_test(test_collapse_reclaims),
	cmocka_unit_test(test_collapse_without_defrag_does_not_reclaim),
	cmocka_unit_test(test_collapse_charge_reclaims),
	cmocka_unit_test(test_collapse_charge_without_defrag_fails),
	cmocka_unit_test(test_madv_collapse_charge_reclaims),
)
