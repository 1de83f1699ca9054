// SPDX-License-Identifier: MIT
/*
 * test_collapse_races.c - what a collapse must do when the memory changes
 * between its steps: each test lets MADV_COLLAPSE scan a PMD range, then
 * changes the range through the injected-race hook at the moment the
 * collapse has dropped mmap_lock (read) and not yet taken it for write,
 * and checks the collapse saw the change.  These are the deterministic
 * killers of the protocol's mutants (tests/mutants/, make mutants): each
 * failure message says which step of the protocol did not see what.
 *
 * The hook: with the munmap point firing on every draw, the collapse
 * calls the race function twice per window, before allocating (call 1)
 * and between the read unlock and the write lock (call 2); the test's
 * function ignores the kind of race and does its own change at call 2.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_fx.h"
#include "helpers/test_main.h"

#define PAGE 4096ull
#define NR 512u
#define PMD (NR * PAGE)
#define BASE (1ull << 30)
#define AREA_PMDS 4u

enum change {
	CHANGE_NOHUGEPAGE,	/* MADV_NOHUGEPAGE on the range */
	CHANGE_THP,		/* munmap, mmap, MADV_HUGEPAGE, a write: a PMD THP */
	CHANGE_PIN,		/* a pin on page 5 of the range */
	CHANGE_MUNMAP,		/* the range unmapped */
	CHANGE_SHRINK,		/* the VMA's last two PMD ranges unmapped */
};

struct race {
	enum change change;
	unsigned calls;
	unsigned at_call;	/* the call that changes the range */
	uint64_t pmd_addr;	/* the range it changed */
	int err;		/* the change's own result */
};

struct fx {
	struct sim_fx fx;
	struct race race;
};

static int race(void *ctx, struct sim_mm *mm, uint64_t pmd_addr,
		enum sim_inject_point what, struct sim_mm **child)
{
	struct race *r = ctx;
	uint64_t addr = pmd_addr;

	(void)what;
	*child = NULL;
	if (++r->calls != r->at_call)
		return 0;
	r->pmd_addr = pmd_addr;
	switch (r->change) {
	case CHANGE_NOHUGEPAGE:
		r->err = sim_madvise(mm, pmd_addr, PMD, SIM_MADV_NOHUGEPAGE);
		break;
	case CHANGE_THP:
		r->err = sim_munmap(mm, pmd_addr, PMD);
		if (!r->err)
			r->err = sim_mmap(mm, &addr, PMD, SIM_PROT_RW, SIM_MAP_FIXED);
		if (!r->err)
			r->err = sim_madvise(mm, pmd_addr, PMD, SIM_MADV_HUGEPAGE);
		if (!r->err)
			r->err = sim_write(mm, pmd_addr + 7 * PAGE, 0x7ace);
		break;
	case CHANGE_PIN:
		r->err = sim_pin(mm, pmd_addr + 5 * PAGE);
		break;
	case CHANGE_MUNMAP:
		r->err = sim_munmap(mm, pmd_addr, PMD);
		break;
	case CHANGE_SHRINK:
		r->err = sim_munmap(mm, BASE + 2 * PMD, 2 * PMD);
		break;
	}
	return r->err;
}

/* Tag of page i of the area, as fx_init wrote it. */
static uint64_t tag_of(uint64_t i)
{
	return (i << 12) | 0xa1;
}

/*
 * AREA_PMDS ranges of 4K pages, every page written; THP faults "madvise"
 * (none here), the race hooked to change the range at call at_call.
 */
static void fx_init(struct fx *f, enum change change, unsigned at_call)
{
	static const char *const knobs[] = {
		"enabled", "madvise", "hugepages-2048kB/enabled", "inherit", NULL
	};
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 1u << 14,
					.nr_swap_slots = 1024, .seed = 3 };

	memset(f, 0, sizeof(*f));
	f->fx = sim_fx_make(&cfg, knobs);
	sim_fx_map(f->fx.mm, BASE, AREA_PMDS * PMD);
	for (uint64_t i = 0; i < AREA_PMDS * NR; i++)
		assert_int_equal(sim_write(f->fx.mm, BASE + i * PAGE, tag_of(i)), 0);
	f->race.change = change;
	f->race.at_call = at_call;
	sim_inject_set_race(f->fx.sim, race, &f->race);
	assert_int_equal(sim_inject_set(f->fx.sim, SIM_INJECT_MUNMAP, 1), 0);
}

/*
 * fx_init() with the change made at call 2, between the locks; then
 * MADV_COLLAPSE of [BASE, BASE + len), the change made without an error.
 * What MADV_COLLAPSE returned.
 */
static int race_collapse(struct fx *f, enum change change, uint64_t len)
{
	int err;

	fx_init(f, change, 2);
	err = sim_madvise_collapse(f->fx.mm, BASE, len);
	assert_int_equal(f->race.err, 0);
	return err;
}

static struct sim_page_info info(struct fx *f, uint64_t addr)
{
	struct sim_page_info pi;

	assert_int_equal(sim_page_info(f->fx.mm, addr, &pi), 0);
	return pi;
}

/* Every page of PMD range r still holds what fx_init wrote. */
static void assert_range_intact(struct fx *f, unsigned r)
{
	for (uint64_t i = r * NR; i < (r + 1) * NR; i++) {
		struct sim_page_info pi = info(f, BASE + i * PAGE);

		if (pi.tag != tag_of(i))
			fail_msg("page %llu reads %llx, wrote %llx", (unsigned long long)i,
				 (unsigned long long)pi.tag, (unsigned long long)tag_of(i));
	}
}

/*
 * Close a case: the PMD ranges in the mask intact (bit r: range r still
 * holds what fx_init wrote), then the simulator checked and destroyed.
 */
static void fx_done(struct fx *f, unsigned intact)
{
	for (unsigned r = 0; r < AREA_PMDS; r++)
		if (intact & (1u << r))
			assert_range_intact(f, r);
	sim_inject_set(f->fx.sim, SIM_INJECT_MUNMAP, 0);
	sim_inject_set_race(f->fx.sim, NULL, NULL);
	sim_fx_done(&f->fx, true);
}

/*
 * MADV_NOHUGEPAGE between the locks: the revalidation under the write
 * lock must see the VMA no longer allows the collapse (VMA_CHECK: EINVAL).
 */
static void test_nohugepage_between_locks(void **state)
{
	struct fx f;
	int err = race_collapse(&f, CHANGE_NOHUGEPAGE, PMD);

	(void)state;
	assert_int_equal(f.race.calls, 2);
	if (err != -EINVAL || info(&f, BASE).huge)
		fail_msg("a range made MADV_NOHUGEPAGE between the read unlock and the "
			 "write lock was collapsed (MADV_COLLAPSE returned %d, the range %s "
			 "PMD-mapped): the revalidation after mmap_write_lock did not run",
			 err, info(&f, BASE).huge ? "is" : "is not");
	fx_done(&f, 1u << 0);
}

/*
 * The range unmapped, mapped again and faulted as a PMD THP between the
 * locks: the PMD is no longer the table the collapse found, and the
 * collapse must leave the THP alone (PMD_MAPPED, which MADV_COLLAPSE
 * counts as done).
 */
static void test_thp_between_locks(void **state)
{
	struct fx f;
	struct sim_page_info pi;
	int err = race_collapse(&f, CHANGE_THP, PMD);

	(void)state;
	pi = info(&f, BASE + 7 * PAGE);
	if (err || !pi.huge || pi.tag != 0x7ace)
		fail_msg("a PMD THP faulted in between the read unlock and the write lock "
			 "was not left alone (MADV_COLLAPSE returned %d, page 7 reads %llx, "
			 "%s): the PMD was not checked to be the one scanned", err,
			 (unsigned long long)pi.tag, pi.huge ? "PMD-mapped" : "not PMD-mapped");
	assert_int_equal(info(&f, BASE).tag, 0);
	fx_done(&f, 1u << 1);
}

/*
 * A pin taken after the scan, between the locks: the isolation must see
 * the extra reference (PAGE_COUNT: EAGAIN) and leave the pinned page
 * mapped where it was.
 */
static void test_pin_between_locks(void **state)
{
	struct sim_page_info before, after;
	struct fx f;
	int err;

	(void)state;
	fx_init(&f, CHANGE_PIN, 2);
	before = info(&f, BASE + 5 * PAGE);
	err = sim_madvise_collapse(f.fx.mm, BASE, PMD);
	assert_int_equal(f.race.err, 0);
	after = info(&f, BASE + 5 * PAGE);
	if (err != -EAGAIN || after.pfn != before.pfn)
		fail_msg("a page pinned between the scan and the isolation was collapsed "
			 "(MADV_COLLAPSE returned %d, the pinned page moved from pfn %llu to "
			 "%llu): the isolation did not check the folio's references", err,
			 (unsigned long long)before.pfn, (unsigned long long)after.pfn);
	assert_int_equal(sim_unpin(f.fx.mm, BASE + 5 * PAGE), 0);
	fx_done(&f, 1u << 0);
}

/* The range unmapped between the locks: nothing is collapsed there. */
static void test_munmap_between_locks(void **state)
{
	struct fx f;
	int err = race_collapse(&f, CHANGE_MUNMAP, PMD);

	(void)state;
	/* VMA_NULL: madvise_collapse_errno() has no case for it, so EINVAL */
	assert_int_equal(err, -EINVAL);
	assert_int_equal(sim_nr_vmas(f.fx.mm), 1);
	sim_fx_check(f.fx.sim);
	fx_done(&f, 1u << 1);
}

/*
 * The VMA shrinks during the call: MADV_COLLAPSE of four ranges, the last
 * two unmapped while the first is collapsed.  As the kernel's
 * madvise_collapse() compares the THPs made with the ranges left (the end
 * clamped to the shrunk VMA), the call succeeds.
 */
static void test_vma_shrinks_during_call(void **state)
{
	struct fx f;
	int err = race_collapse(&f, CHANGE_SHRINK, AREA_PMDS * PMD);

	(void)state;
	assert_int_equal(f.race.pmd_addr, BASE);
	assert_int_equal(err, 0);
	assert_true(info(&f, BASE).huge);
	assert_true(info(&f, BASE + PMD).huge);
	fx_done(&f, 1u << 0 | 1u << 1);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_nohugepage_between_locks),
	cmocka_unit_test(test_thp_between_locks),
	cmocka_unit_test(test_pin_between_locks),
	cmocka_unit_test(test_munmap_between_locks),
	cmocka_unit_test(test_vma_shrinks_during_call),
)
