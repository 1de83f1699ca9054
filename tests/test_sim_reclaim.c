// SPDX-License-Identifier: MIT
/*
 * test_sim_reclaim.c - direct reclaim's swap-out (sim_reclaim): a write
 * at a memory cgroup's limit or on a full machine pages out the cgroup's
 * old pages to swap and lands; referenced pages are passed over once
 * (their young bits cleared); a THP goes to swap whole; the clock hand
 * goes on where it stopped; nothing is paged out without swap room, when
 * the shrinkers freed enough, or when a large allocation fails only for
 * want of a free block of its size; a THP fault's and a zram swap-in's
 * large folio reclaim as their defrag setting says, and
 * MADV_POPULATE_WRITE reclaims as its faults need.
 */
#include <errno.h>
#include <stdbool.h>
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

/* A simulator of frames and swap slots, and an mm in a cgroup of limit pages. */
struct cg_fx {
	struct sim_fx f;
	struct sim_mm *mm;
	unsigned cg;
};

static struct cg_fx make_cg(uint64_t frames, uint64_t swap_slots, uint64_t limit,
			    const char *const *knobs)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = frames,
					.nr_swap_slots = swap_slots, .seed = 1 };
	struct cg_fx c = { .f = sim_fx_make(&cfg, knobs) };

	assert_int_equal(sim_memcg_create(c.f.sim, limit, &c.cg), 0);
	assert_int_equal(sim_mm_create(c.f.sim, c.cg, &c.mm), 0);
	sim_fx_map(c.mm, BASE, 8 * PMD);
	return c;
}

static void done_cg(struct cg_fx *c)
{
	sim_fx_check(c->f.sim);
	sim_exit(c->mm);
	assert_int_equal(sim_memcg_usage(c->f.sim, c->cg), 0);
	sim_fx_done(&c->f, true);
}

static void write_range(struct sim_mm *mm, unsigned first, unsigned nr)
{
	for (unsigned i = first; i < first + nr; i++)
		assert_int_equal(sim_write(mm, BASE + i * PAGE, 1000 + i), 0);
}

static char state_of(struct sim_mm *mm, unsigned page)
{
	struct sim_page_info pi;

	assert_int_equal(sim_page_info(mm, BASE + page * PAGE, &pi), 0);
	return pi.state;
}

/* Pages [first, first + nr) are all in this state. */
static void assert_states(struct sim_mm *mm, unsigned first, unsigned nr, char state)
{
	for (unsigned i = first; i < first + nr; i++)
		if (state_of(mm, i) != state)
			fail_msg("page %u is '%c', not '%c'", i, state_of(mm, i), state);
}

/* Every page of [first, first + nr) reads back what write_range() wrote. */
static void assert_contents(struct sim_mm *mm, unsigned first, unsigned nr)
{
	for (unsigned i = first; i < first + nr; i++) {
		uint64_t tag;

		assert_int_equal(sim_read(mm, BASE + i * PAGE, &tag), 0);
		assert_int_equal(tag, 1000 + i);
	}
}

/*
 * A cgroup of 64 pages writes its 65th: the shrinkers free nothing, so
 * reclaim pages out 32 pages (SWAP_CLUSTER_MAX).  All 64 are young at
 * first: the first turn makes them old, the second pages out the first
 * 32.  What went to swap reads back.
 */
static void test_write_at_limit_pages_out(void **state)
{
	struct cg_fx c = make_cg(4096, 1024, 64, NULL);

	(void)state;
	write_range(c.mm, 0, 64);
	assert_int_equal(vmstat(c.f.sim, "pswpout"), 0);
	write_range(c.mm, 64, 1);
	assert_int_equal(vmstat(c.f.sim, "pswpout"), 32);
	assert_int_equal(sim_reclaim_paged_out(c.f.sim), 32);
	assert_states(c.mm, 0, 32, 'w');
	assert_states(c.mm, 32, 32, 'a');
	assert_states(c.mm, 64, 1, 'A');
	assert_int_equal(sim_memcg_usage(c.f.sim, c.cg), 33);
	sim_fx_check(c.f.sim);
	assert_contents(c.mm, 0, 65);
	done_cg(&c);
}

/*
 * Referenced pages are passed over: of 64 old pages, the first 16 are
 * written again (young); the 65th write pages out 16-47 and keeps 0-15,
 * their young bits now cleared.
 */
static void test_referenced_pages_are_kept(void **state)
{
	struct cg_fx c = make_cg(4096, 1024, 64, NULL);

	(void)state;
	write_range(c.mm, 0, 64);
	assert_int_equal(sim_madvise(c.mm, BASE, 64 * PAGE, SIM_MADV_COLD), 0);
	write_range(c.mm, 0, 16);
	write_range(c.mm, 64, 1);
	assert_states(c.mm, 0, 16, 'a');
	assert_states(c.mm, 16, 32, 'w');
	assert_states(c.mm, 48, 16, 'a');
	/* the next write past the limit pages out the rest, old now */
	write_range(c.mm, 65, 32);
	assert_states(c.mm, 48, 16, 'w');
	assert_states(c.mm, 0, 16, 'w');
	assert_int_equal(vmstat(c.f.sim, "pswpout"), 64);
	assert_contents(c.mm, 0, 16);
	done_cg(&c);
}

/* An old THP of the cgroup goes to swap whole (thp_swpout), its PMD split. */
static void test_old_thp_swapped_out_whole(void **state)
{
	const char *k[] = { "enabled", "always", NULL };
	struct cg_fx c = make_cg(8192, 2048, 600, k);
	struct sim_page_info pi;

	(void)state;
	write_range(c.mm, 0, 1);
	assert_int_equal(sim_page_info(c.mm, BASE, &pi), 0);
	assert_true(pi.huge);
	assert_int_equal(sim_madvise(c.mm, BASE, PMD, SIM_MADV_COLD), 0);
	assert_int_equal(sim_madvise(c.mm, BASE + PMD, PMD, SIM_MADV_NOHUGEPAGE), 0);
	write_range(c.mm, N, 89);
	assert_int_equal(sim_memcg_usage(c.f.sim, c.cg), 601 - 512);
	assert_int_equal(vmstat(c.f.sim, "thp_swpout"), 1);
	assert_int_equal(vmstat(c.f.sim, "thp_swpout_fallback"), 0);
	assert_int_equal(vmstat(c.f.sim, "pswpout"), N);
	assert_states(c.mm, 0, N, 'w');
	assert_contents(c.mm, 0, 1);
	done_cg(&c);
}

/*
 * The clock hand goes on from the PMD range it stopped in: 16 pages in
 * the first range and 48 in the second, all young; the 65th write pages
 * out the 16 and the first 16 of the second range, stopping there.  The
 * 16 read back (swapped in, young) are not looked at by the next
 * reclaim, which pages out the rest of the second range: they stay young.
 */
static void test_hand_goes_on(void **state)
{
	struct cg_fx c = make_cg(4096, 1024, 64, NULL);

	(void)state;
	write_range(c.mm, 0, 16);
	write_range(c.mm, N, 48);
	write_range(c.mm, 2 * N, 1);
	assert_states(c.mm, 0, 16, 'w');
	assert_states(c.mm, N, 16, 'w');
	assert_states(c.mm, N + 16, 32, 'a');
	assert_contents(c.mm, 0, 16);
	assert_states(c.mm, 0, 16, 'A');
	write_range(c.mm, 2 * N + 1, 15);
	assert_int_equal(sim_memcg_usage(c.f.sim, c.cg), 64);
	write_range(c.mm, 2 * N + 16, 1);
	assert_states(c.mm, N, 48, 'w');
	assert_states(c.mm, 0, 16, 'A');
	assert_int_equal(vmstat(c.f.sim, "pswpout"), 64);
	done_cg(&c);
}

/* The pages of [first, first + nr) that are swapped out. */
static unsigned swapped(struct sim_mm *mm, unsigned first, unsigned nr)
{
	unsigned n = 0;

	for (unsigned i = first; i < first + nr; i++)
		n += state_of(mm, i) == 'w';
	return n;
}

/*
 * The pattern of the guest case of make check-kernel (tests/kernel/
 * guest_faults.c), which Linux 7.2 passes: regions A and B of 1024 pages
 * written, the cgroup's limit 256 pages above them, then C written while
 * B is read every 32 pages.  Every write lands, what went to swap is
 * A's before B's, and everything reads back.
 */
static void test_old_region_goes_before_the_read_one(void **state)
{
	struct cg_fx c = make_cg(8192, 4096, 2048 + 256, NULL);
	unsigned a, b;

	(void)state;
	write_range(c.mm, 0, 1024);
	write_range(c.mm, 1024, 1024);
	for (unsigned i = 0; i < 1024; i++) {
		write_range(c.mm, 2048 + i, 1);
		if (i % 32 == 31)
			assert_contents(c.mm, 1024, 1024);
	}
	a = swapped(c.mm, 0, 1024);
	b = swapped(c.mm, 1024, 1024);
	assert_true(a + b + swapped(c.mm, 2048, 1024) >= 1024 - 256);
	assert_true(a > b);
	assert_int_equal(b, 0);
	assert_contents(c.mm, 0, 3 * 1024);
	done_cg(&c);
}

/*
 * A THP fault at the cgroup's limit, in a VMA with MADV_HUGEPAGE under
 * defrag madvise (the default): its charge reclaims (the cgroup's 400
 * small pages, old, go to swap) and the THP is mapped, as the kernel's
 * GFP_TRANSHUGE charge does.  With defrag never, or in a VMA without
 * the advice under madvise, it falls back to a small page at once and
 * nothing is paged out.  The pattern of the guest case of make
 * check-kernel (tests/kernel/guest_faults.c).
 */
static void thp_fault_at_limit(const char *defrag, bool advise, bool reclaims)
{
	const char *k[] = { "enabled", advise ? "madvise" : "always", "defrag", defrag, NULL };
	struct cg_fx c = make_cg(8192, 2048, 700, k);
	struct sim_page_info pi;

	assert_int_equal(sim_madvise(c.mm, BASE, PMD, SIM_MADV_NOHUGEPAGE), 0);
	if (advise)
		assert_int_equal(sim_madvise(c.mm, BASE + PMD, PMD, SIM_MADV_HUGEPAGE), 0);
	write_range(c.mm, 0, 400);
	assert_int_equal(sim_madvise(c.mm, BASE, PMD, SIM_MADV_COLD), 0);
	write_range(c.mm, N, 1);
	assert_int_equal(sim_page_info(c.mm, BASE + PMD, &pi), 0);
	if (reclaims) {
		assert_true(pi.huge);
		assert_int_equal(vmstat(c.f.sim, "thp_fault_alloc"), 1);
		assert_int_equal(vmstat(c.f.sim, "thp_fault_fallback_charge"), 0);
		assert_true(vmstat(c.f.sim, "pswpout") >= 400 + N - 700);
	} else {
		assert_false(pi.huge);
		assert_int_equal(vmstat(c.f.sim, "thp_fault_alloc"), 0);
		assert_int_equal(vmstat(c.f.sim, "thp_fault_fallback_charge"), 1);
		assert_int_equal(vmstat(c.f.sim, "pswpout"), 0);
	}
	assert_contents(c.mm, 0, 400);
	done_cg(&c);
}

static void test_thp_fault_charge_reclaims(void **state)
{
	(void)state;
	thp_fault_at_limit("madvise", true, true);
	thp_fault_at_limit("always", false, true);
	thp_fault_at_limit("never", true, false);
	thp_fault_at_limit("defer", true, false);
}

/*
 * A swap-in of a 64K folio from zram at the cgroup's limit: under defrag
 * always, or madvise in a VMA with MADV_HUGEPAGE, its charge reclaims
 * (the cgroup's old small pages go to swap) and the folio comes back
 * whole; else it falls back at once to one page (swpin_fallback and
 * swpin_fallback_charge), which fits, and nothing is paged out.  As
 * Linux's large swap-in allocates and charges with vma_thp_gfp_mask().
 */
static void zram_swapin_at_limit(const char *defrag, bool advise, bool reclaims)
{
	const char *k[] = { "enabled", "never", "hugepages-64kB/enabled", "always",
			    "defrag", defrag, NULL };
	struct cg_fx c = make_cg(8192, 2048, 100, k);
	struct sim_page_info pi;

	sim_set_swap_device(c.f.sim, SIM_SWAP_ZRAM);
	if (advise)
		assert_int_equal(sim_madvise(c.mm, BASE, PMD, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_madvise(c.mm, BASE + PMD, PMD, SIM_MADV_NOHUGEPAGE), 0);
	write_range(c.mm, 0, 16);
	assert_int_equal(sim_page_info(c.mm, BASE, &pi), 0);
	assert_int_equal(pi.order, 4);
	assert_int_equal(sim_madvise(c.mm, BASE, 16 * PAGE, SIM_MADV_PAGEOUT), 0);
	assert_states(c.mm, 0, 16, 'w');
	write_range(c.mm, N, 95);
	assert_int_equal(sim_madvise(c.mm, BASE + PMD, PMD, SIM_MADV_COLD), 0);
	assert_contents(c.mm, 0, 1);
	assert_int_equal(sim_page_info(c.mm, BASE, &pi), 0);
	if (reclaims) {
		assert_int_equal(pi.order, 4);
		assert_states(c.mm, 1, 15, 'A');
		assert_int_equal(mthp_stat(c.f.sim, 4, "swpin"), 1);
		assert_int_equal(mthp_stat(c.f.sim, 4, "swpin_fallback"), 0);
		assert_true(vmstat(c.f.sim, "pswpout") >= 16 + 32);
	} else {
		assert_int_equal(pi.order, 0);
		assert_states(c.mm, 1, 15, 'w');
		assert_int_equal(mthp_stat(c.f.sim, 4, "swpin"), 0);
		assert_int_equal(mthp_stat(c.f.sim, 4, "swpin_fallback"), 1);
		assert_int_equal(mthp_stat(c.f.sim, 4, "swpin_fallback_charge"), 1);
		assert_int_equal(vmstat(c.f.sim, "pswpout"), 16);
	}
	assert_true(sim_memcg_usage(c.f.sim, c.cg) <= 100);
	assert_contents(c.mm, 0, 16);
	assert_contents(c.mm, N, 95);
	done_cg(&c);
}

static void test_zram_swapin_charge_reclaims(void **state)
{
	(void)state;
	zram_swapin_at_limit("always", false, true);
	zram_swapin_at_limit("madvise", true, true);
	zram_swapin_at_limit("madvise", false, false);
	zram_swapin_at_limit("never", true, false);
}

/*
 * MADV_POPULATE_WRITE past the cgroup's limit: each of its faults that
 * finds no memory reclaims (the cgroup's old pages go to swap) and the
 * advice goes on, as Linux's populate does; every page of the range is
 * then present, and what went to swap reads back.
 */
static void test_populate_at_limit_pages_out(void **state)
{
	struct cg_fx c = make_cg(4096, 1024, 64, NULL);

	(void)state;
	write_range(c.mm, 0, 48);
	assert_int_equal(sim_madvise(c.mm, BASE, 48 * PAGE, SIM_MADV_COLD), 0);
	assert_int_equal(sim_madvise(c.mm, BASE + PMD, 40 * PAGE, SIM_MADV_POPULATE_WRITE), 0);
	assert_states(c.mm, N, 40, 'A');
	assert_true(vmstat(c.f.sim, "pswpout") >= 48 + 40 - 64);
	assert_true(sim_memcg_usage(c.f.sim, c.cg) <= 64);
	assert_contents(c.mm, 0, 48);
	done_cg(&c);
}

/*
 * Without swap, or with the swap area full, the write at the limit fails
 * (-ENOMEM) and nothing is paged out.
 */
static void test_no_swap_room_write_fails(void **state)
{
	struct cg_fx none = make_cg(4096, 0, 64, NULL), full = make_cg(4096, 32, 64, NULL);

	(void)state;
	write_range(none.mm, 0, 64);
	assert_int_equal(sim_write(none.mm, BASE + 64 * PAGE, 1), -ENOMEM);
	assert_int_equal(vmstat(none.f.sim, "pswpout"), 0);
	done_cg(&none);

	write_range(full.mm, 0, 65);	/* 32 pages to swap, which is full then */
	assert_int_equal(vmstat(full.f.sim, "pswpout"), 32);
	write_range(full.mm, 65, 31);
	assert_int_equal(sim_write(full.mm, BASE + 96 * PAGE, 1), -ENOMEM);
	assert_int_equal(vmstat(full.f.sim, "pswpout"), 32);
	done_cg(&full);
}

/*
 * The machine short of memory (no cgroup limit) reclaims every cgroup's
 * old pages the same way.
 */
static void test_machine_short_pages_out(void **state)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 256,
					.nr_swap_slots = 1024, .seed = 1 };
	struct sim_fx f = sim_fx_make(&cfg, NULL);
	uint64_t free_before;
	unsigned i;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	free_before = sim_free_pages(f.sim);
	for (i = 0; i < free_before; i++)
		write_range(f.mm, i, 1);
	assert_int_equal(sim_free_pages(f.sim), 0);
	assert_int_equal(vmstat(f.sim, "pswpout"), 0);
	write_range(f.mm, i, 1);
	assert_int_equal(vmstat(f.sim, "pswpout"), 32);
	assert_contents(f.mm, 0, i + 1);
	sim_fx_done(&f, true);
}

/*
 * A collapse whose allocation fails for want of a free block of its size,
 * with free pages enough, pages nothing out (the kernel would compact).
 */
static void test_fragmented_collapse_pages_nothing_out(void **state)
{
	const char *k[] = { "enabled", "never", NULL };
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 8192,
					.nr_swap_slots = 1024, .seed = 1 };
	struct sim_fx f = sim_fx_make(&cfg, k);
	struct sim_page_info pi;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	write_range(f.mm, 0, 16);
	assert_true(sim_fragment(f.sim, 9) > 0);	/* no free block of 2M */
	assert_int_equal(sim_madvise_collapse(f.mm, BASE, PMD), -ENOMEM);
	assert_int_equal(vmstat(f.sim, "thp_collapse_alloc_failed"), 1);
	assert_int_equal(vmstat(f.sim, "pswpout"), 0);
	assert_int_equal(sim_page_info(f.mm, BASE, &pi), 0);
	assert_false(pi.huge);
	sim_unfragment(f.sim);
	sim_fx_done(&f, true);
}

/*
 * MADV_COLLAPSE at the cgroup's limit, nothing for the shrinkers: the
 * charge's reclaim (512 pages) passes over the young pages of the range
 * and pages out the cgroup's old ones in the next, and the collapse
 * succeeds.
 */
static void test_collapse_charge_pages_out(void **state)
{
	const char *k[] = { "enabled", "never", NULL };
	struct cg_fx c = make_cg(8192, 2048, 700, k);
	struct sim_page_info pi;

	(void)state;
	write_range(c.mm, N, N);	/* the second range: to be paged out */
	assert_int_equal(sim_madvise(c.mm, BASE + PMD, PMD, SIM_MADV_COLD), 0);
	write_range(c.mm, 0, 100);	/* the first range, young */
	assert_int_equal(sim_memcg_usage(c.f.sim, c.cg), N + 100);
	assert_int_equal(sim_madvise_collapse(c.mm, BASE, PMD), 0);
	assert_int_equal(sim_page_info(c.mm, BASE, &pi), 0);
	assert_true(pi.huge);
	assert_int_equal(vmstat(c.f.sim, "pswpout"), N);
	assert_states(c.mm, N, N, 'w');
	assert_int_equal(sim_memcg_usage(c.f.sim, c.cg), N);
	assert_contents(c.mm, 0, 100);
	done_cg(&c);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_write_at_limit_pages_out),
	cmocka_unit_test(test_referenced_pages_are_kept),
	cmocka_unit_test(test_hand_goes_on),
	cmocka_unit_test(test_old_region_goes_before_the_read_one),
	cmocka_unit_test(test_old_thp_swapped_out_whole),
	cmocka_unit_test(test_thp_fault_charge_reclaims),
	cmocka_unit_test(test_zram_swapin_charge_reclaims),
	cmocka_unit_test(test_populate_at_limit_pages_out),
	cmocka_unit_test(test_no_swap_room_write_fails),
	cmocka_unit_test(test_machine_short_pages_out),
	cmocka_unit_test(test_fragmented_collapse_pages_nothing_out),
	cmocka_unit_test(test_collapse_charge_pages_out),
)
