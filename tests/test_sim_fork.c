// SPDX-License-Identifier: MIT
/*
 * test_sim_fork.c - fork and copy-on-write in the simulator: pages and
 * THPs shared after fork (mapcount 2, 'S' states), COW copies on write in
 * either process, reuse once exclusive again, swap entries duplicated,
 * pinned pages copied at fork, data tags kept through all of it.
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

#include "helpers/sim_fx.h"
#include "helpers/test_main.h"

#define PAGE 4096ull
#define PMD (512 * PAGE)
#define BASE 0x200000000ull

static struct sim *make(const char *const *knobs)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 8192,
					.nr_swap_slots = 4096, .seed = 1 };

	return sim_fx_sim(&cfg, knobs);
}

static struct sim_page_info info(struct sim_mm *mm, uint64_t addr)
{
	struct sim_page_info pi;

	assert_int_equal(sim_page_info(mm, addr, &pi), 0);
	return pi;
}

static uint64_t rd(struct sim_mm *mm, uint64_t addr)
{
	uint64_t tag = 0;

	assert_int_equal(sim_read(mm, addr, &tag), 0);
	return tag;
}

static struct sim_mm *proc(struct sim *sim, uint64_t len)
{
	struct sim_mm *mm;
	uint64_t addr = BASE;

	assert_int_equal(sim_mm_create(sim, 0, &mm), 0);
	assert_int_equal(sim_mmap(mm, &addr, len, SIM_PROT_RW, SIM_MAP_FIXED), 0);
	return mm;
}

/* The parent exits last: checked, and every frame is free again. */
static void done(struct sim *sim, struct sim_mm *mm)
{
	struct sim_fx f = { .sim = sim, .mm = mm, .nr_frames = 8192 };

	sim_fx_done(&f, true);
}

static void test_fork_shares_and_cow_copies(void **state)
{
	struct sim *sim = make(NULL);
	struct sim_mm *mm = proc(sim, 16 * PAGE), *child;
	uint64_t free_before;

	(void)state;
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(sim_write(mm, BASE + i * PAGE, 100 + i), 0);
	free_before = sim_free_pages(sim);
	assert_int_equal(sim_fork(mm, &child), 0);
	sim_fx_check(sim);
	assert_int_equal(sim_free_pages(sim), free_before);
	assert_int_equal(info(mm, BASE).state, 'S');
	assert_int_equal(info(child, BASE).state, 'S');
	assert_int_equal(info(child, BASE).mapcount, 2);
	assert_int_equal(info(child, BASE).pfn, info(mm, BASE).pfn);
	assert_false(info(mm, BASE).writable);
	/* child writes: a copy; the parent keeps the old data */
	assert_int_equal(sim_write(child, BASE, 555), 0);
	sim_fx_check(sim);
	assert_int_not_equal(info(child, BASE).pfn, info(mm, BASE).pfn);
	assert_int_equal(rd(child, BASE), 555);
	assert_int_equal(rd(mm, BASE), 100);
	assert_int_equal(info(mm, BASE).state, 'A');
	/* the parent's page is exclusive again: reused, not copied */
	{
		uint64_t pfn = info(mm, BASE).pfn;

		assert_int_equal(sim_write(mm, BASE, 101), 0);
		assert_int_equal(info(mm, BASE).pfn, pfn);
	}
	assert_int_equal(rd(child, BASE + PAGE), 101);
	sim_exit(child);
	sim_fx_check(sim);
	assert_int_equal(info(mm, BASE + PAGE).mapcount, 1);
	assert_int_equal(rd(mm, BASE + 3 * PAGE), 103);
	done(sim, mm);
}

static void test_fork_thp_and_mthp(void **state)
{
	const char *k[] = { "enabled", "always", "hugepages-64kB/enabled", "always", NULL };
	struct sim *sim = make(k);
	struct sim_mm *mm = proc(sim, 2 * PMD), *child;
	uint64_t addr = BASE + 4 * PMD;

	(void)state;
	assert_int_equal(sim_mmap(mm, &addr, 32 * PAGE, SIM_PROT_RW, SIM_MAP_FIXED), 0);
	assert_int_equal(sim_write(mm, BASE + 7 * PAGE, 7), 0);
	assert_int_equal(sim_write(mm, addr + 3 * PAGE, 3), 0);
	assert_true(info(mm, BASE).huge);
	assert_int_equal(info(mm, addr).order, 4);
	assert_int_equal(sim_fork(mm, &child), 0);
	sim_fx_check(sim);
	assert_true(info(child, BASE).huge);
	assert_int_equal(info(child, addr + 3 * PAGE).state, 'S');
	/* the child unmaps half of the 64K folio: still shared elsewhere */
	assert_int_equal(sim_munmap(child, addr, 8 * PAGE), 0);
	sim_fx_check(sim);
	assert_int_equal(info(mm, addr + 9 * PAGE).state, 'S');
	assert_int_equal(info(mm, addr).state, 'S');
	/* a write to the shared THP splits the PMD and copies one page */
	assert_int_equal(sim_write(mm, BASE + 7 * PAGE, 8), 0);
	sim_fx_check(sim);
	assert_false(info(mm, BASE).huge);
	assert_true(info(child, BASE).huge);
	assert_int_equal(rd(child, BASE + 7 * PAGE), 7);
	assert_int_equal(rd(mm, BASE + 7 * PAGE), 8);
	assert_int_equal(info(mm, BASE + 7 * PAGE).order, 0);
	sim_exit(child);
	sim_fx_check(sim);
	/* exclusive again: a write to the old 64K folio reuses it */
	{
		uint64_t pfn = info(mm, addr + 9 * PAGE).pfn;

		assert_int_equal(sim_write(mm, addr + 9 * PAGE, 9), 0);
		assert_int_equal(info(mm, addr + 9 * PAGE).pfn, pfn);
		assert_int_equal(info(mm, addr + 9 * PAGE).state, 'A');
	}
	sim_exit(mm);
	sim_fx_check(sim);
	sim_destroy(sim);
}

static void test_fork_swap_and_pin(void **state)
{
	struct sim *sim = make(NULL);
	struct sim_mm *mm = proc(sim, 16 * PAGE), *child;

	(void)state;
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(sim_write(mm, BASE + i * PAGE, 200 + i), 0);
	assert_int_equal(sim_madvise(mm, BASE, 2 * PAGE, SIM_MADV_PAGEOUT), 0);
	assert_int_equal(sim_pin(mm, BASE + 3 * PAGE), 0);
	assert_int_equal(sim_fork(mm, &child), 0);
	sim_fx_check(sim);
	assert_int_equal(info(child, BASE).state, 'w');
	/* the pinned page was copied for the child at fork */
	assert_int_not_equal(info(child, BASE + 3 * PAGE).pfn, info(mm, BASE + 3 * PAGE).pfn);
	assert_int_equal(rd(child, BASE + 3 * PAGE), 203);
	/* both swap in their own copy of the slot */
	assert_int_equal(rd(child, BASE), 200);
	sim_fx_check(sim);
	assert_int_equal(rd(mm, BASE), 200);
	assert_int_equal(rd(mm, BASE + PAGE), 201);
	assert_int_equal(rd(child, BASE + PAGE), 201);
	sim_fx_check(sim);
	assert_int_equal(sim_unpin(mm, BASE + 3 * PAGE), 0);
	sim_exit(child);
	done(sim, mm);
}

/*
 * A pin (FOLL_PIN) of a page the child shares unshares it first, as GUP
 * does: the pinned page is the process's own copy, exclusive ('P'), and
 * the child keeps the old one, now mapped by it alone.  A shared THP is
 * split first.
 */
static void test_pin_unshares(void **state)
{
	const char *k[] = { "enabled", "always", NULL };
	struct sim *sim = make(k);
	struct sim_mm *mm = proc(sim, PMD), *child;
	uint64_t small = BASE + 4 * PMD, shared_pfn;

	(void)state;
	/* 16 pages: too small for a THP */
	assert_int_equal(sim_mmap(mm, &small, 16 * PAGE, SIM_PROT_RW, SIM_MAP_FIXED), 0);
	assert_int_equal(sim_write(mm, small + 5 * PAGE, 5), 0);
	assert_int_equal(sim_write(mm, BASE + 3 * PAGE, 3), 0);		/* a THP */
	assert_true(info(mm, BASE).huge);
	assert_int_equal(sim_fork(mm, &child), 0);
	shared_pfn = info(mm, small + 5 * PAGE).pfn;
	assert_int_equal(info(mm, small + 5 * PAGE).state, 'S');
	assert_int_equal(sim_pin(mm, small + 5 * PAGE), 0);
	sim_fx_check(sim);
	assert_int_not_equal(info(mm, small + 5 * PAGE).pfn, shared_pfn);
	assert_int_equal(info(mm, small + 5 * PAGE).state, 'P');
	assert_int_equal(info(child, small + 5 * PAGE).pfn, shared_pfn);
	assert_int_equal(info(child, small + 5 * PAGE).state, 'A');
	assert_int_equal(rd(mm, small + 5 * PAGE), 5);
	/* the THP the child shares: split, then the page unshared and pinned */
	assert_int_equal(sim_pin(mm, BASE + 3 * PAGE), 0);
	sim_fx_check(sim);
	assert_false(info(mm, BASE).huge);
	assert_true(info(child, BASE).huge);
	assert_int_equal(info(mm, BASE + 3 * PAGE).state, 'P');
	assert_int_equal(info(mm, BASE + 4 * PAGE).state, 'S');
	assert_int_equal(rd(mm, BASE + 3 * PAGE), 3);
	assert_int_equal(rd(child, BASE + 3 * PAGE), 3);
	assert_int_equal(sim_unpin(mm, BASE + 3 * PAGE), 0);
	assert_int_equal(sim_unpin(mm, small + 5 * PAGE), 0);
	sim_exit(child);
	done(sim, mm);
}

/*
 * A THP mapped by four mms: two hold the kernel's two mm-id slots, the
 * other two are untracked.  The parent unmaps it, freeing its slot; a
 * third mm's PMD is split and it takes that slot with the PTE mappings
 * the split adds, one fewer than it holds (its PMD mapping was
 * untracked), so the folio stays maybe shared, as the kernel's shared bit
 * says.  When it unmaps them all, its slot would go below zero: the
 * kernel frees the slot, and so does the simulator, so the slots never
 * count more than the mappings (sim_check) while the fourth mm still maps
 * the folio.  Before, the slot's count wrapped around; the stress program
 * found it.
 */
static void test_slot_of_an_untracked_mm(void **state)
{
	const char *k[] = { "enabled", "always", NULL };
	struct sim *sim = make(k);
	struct sim_mm *mm = proc(sim, PMD), *c1, *c2, *c3;

	(void)state;
	assert_int_equal(sim_write(mm, BASE, 1), 0);
	assert_true(info(mm, BASE).huge);
	assert_int_equal(sim_fork(mm, &c1), 0);
	assert_int_equal(sim_fork(mm, &c2), 0);
	assert_int_equal(sim_fork(c1, &c3), 0);
	assert_int_equal(sim_madvise(mm, BASE, PMD, SIM_MADV_DONTNEED), 0);
	/* c2 splits its PMD: it takes the parent's slot */
	assert_int_equal(sim_madvise(c2, BASE, PAGE, SIM_MADV_DONTNEED), 0);
	sim_fx_check(sim);
	assert_false(info(c2, BASE + PAGE).huge);
	assert_int_equal(info(c2, BASE + PAGE).state, 'S');
	assert_int_equal(sim_madvise(c1, BASE, PMD, SIM_MADV_DONTNEED), 0);
	assert_int_equal(sim_madvise(c2, BASE + PAGE, PMD - PAGE, SIM_MADV_DONTNEED), 0);
	sim_fx_check(sim);
	assert_true(info(c3, BASE).huge);
	assert_int_equal(rd(c3, BASE), 1);
	sim_exit(c3);
	sim_exit(c2);
	sim_exit(c1);
	done(sim, mm);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_fork_shares_and_cow_copies),
	cmocka_unit_test(test_slot_of_an_untracked_mm),
	cmocka_unit_test(test_fork_thp_and_mthp),
	cmocka_unit_test(test_pin_unshares),
	cmocka_unit_test(test_fork_swap_and_pin),
)
