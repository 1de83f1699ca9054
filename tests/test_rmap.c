// SPDX-License-Identifier: MIT
/*
 * test_rmap.c - the rmap walkers against the collapse.  An aging walk
 * (folio_referenced) of the folios mapped beside an mTHP window, run
 * between the window's ISOLATE and COPY by the RMAP injection point, must
 * find the anon_vma held for write and give up: were it released before
 * the copy, as at PMD order, the walk would find the PMD clear under
 * folios still mapped in the detached table and fail naming them (the
 * section "The anon_vma lock below PMD order" of docs/locking.md).  At
 * PMD order there is nothing beside the window to walk.  And the walker
 * thread, racing with khugepaged, faults, zaps, page-out and mremap,
 * checks every folio it walks without a failure.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_fx.h"

#define PAGE 4096ull
#define NR 512u
#define PMD (NR * PAGE)
#define BASE (1ull << 30)

/* The pages beside the window [0, 16) of the first PMD range. */
static const unsigned beside[] = { 100, 101, 102, 103, 300 };
#define NR_BESIDE (sizeof(beside) / sizeof(beside[0]))

struct events {
	unsigned nr, succeeded;
	unsigned order;
};

static void observe(void *ctx, const struct sim_collapse_event *ev)
{
	struct events *e = ctx;

	e->nr++;
	e->order = ev->order;
	if (ev->result == SCAN_SUCCEED)
		e->succeeded++;
}

static uint64_t tag_of(unsigned i)
{
	return 0x4d4150000ull + i;
}

/*
 * Order-0 pages at the given indexes of the range, tagged; then the knobs
 * (pairs of name and value, NULL-terminated) set.
 */
static struct sim_fx fx_pages(const unsigned *pages, unsigned nr, const char *const *knobs)
{
	static const char *const never[] = { "enabled", "never", NULL };
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 1u << 14,
					.nr_swap_slots = 1u << 10, .seed = 11 };
	struct sim_fx f = sim_fx_make(&cfg, never);

	sim_fx_map(f.mm, BASE, 2 * PMD);
	for (unsigned k = 0; k < nr; k++)
		assert_int_equal(sim_write(f.mm, BASE + pages[k] * PAGE, tag_of(pages[k])), 0);
	for (; *knobs; knobs += 2)
		if (sim_set_knob(f.sim, knobs[0], knobs[1]))
			fail_msg("%s=%s refused", knobs[0], knobs[1]);
	return f;
}

/* Fail the case with the walker's message if a check failed. */
static void assert_no_rmap_failure(struct sim *sim)
{
	const char *why = sim_rmap_failure(sim);

	if (why)
		fail_msg("%s", why);
}

/*
 * The pages and knobs of fx_pages(), then one khugepaged pass of this
 * policy with the RMAP point firing at every window: the point fires once,
 * at the one window attempted, which collapses at this order; each walk of
 * a folio beside the window (walks of them) finds the anon_vma held for
 * write and is given up, no rmap check fails, and every tag is kept.
 */
static void one_collapse_with_rmap_point(const unsigned *pages, unsigned nr,
					 const char *const *knobs, enum mthp_policy policy,
					 unsigned order, unsigned walks)
{
	struct sim_fx f = fx_pages(pages, nr, knobs);
	struct events ev = { 0 };
	struct sim_rmap_stats st;
	uint64_t collapsed = 0;

	assert_int_equal(sim_khugepaged_set_policy(f.sim, policy), 0);
	sim_khugepaged_enter(f.mm);
	sim_set_collapse_observer(f.sim, observe, &ev);
	assert_int_equal(sim_inject_set(f.sim, SIM_INJECT_RMAP, 1), 0);
	assert_int_equal(sim_khugepaged_pass(f.sim, 0, &collapsed), 0);
	sim_set_collapse_observer(f.sim, NULL, NULL);
	assert_no_rmap_failure(f.sim);
	assert_int_equal(sim_inject_fired(f.sim, SIM_INJECT_RMAP), 1);
	sim_rmap_stats(f.sim, &st);
	assert_int_equal(ev.nr, 1);
	assert_int_equal(ev.succeeded, 1);
	assert_int_equal(ev.order, order);
	assert_int_equal(st.walks, walks);
	assert_int_equal(st.contended, walks);
	assert_int_equal(st.checked, 0);
	for (unsigned k = 0; k < nr; k++) {
		uint64_t tag = 0;

		assert_int_equal(sim_read(f.mm, BASE + pages[k] * PAGE, &tag), 0);
		assert_int_equal(tag, tag_of(pages[k]));
	}
	sim_fx_done(&f, true);
}

/*
 * One order-4 collapse of [0, 16) with 5 order-0 folios beside it: each
 * walk of them, between ISOLATE and COPY, finds the anon_vma held for
 * write and is given up; the collapse succeeds with every tag kept.
 */
static void rmap_walk_beside_mthp_window_waits(void **state)
{
	/* only 64K, no none PTE allowed: [0, 16) is the one window attempted */
	static const char *const knobs[] = { "hugepages-64kB/enabled", "always",
					     "khugepaged/max_ptes_none", "0", NULL };
	unsigned pages[16 + NR_BESIDE];

	(void)state;
	for (unsigned i = 0; i < 16; i++)
		pages[i] = i;
	for (unsigned k = 0; k < NR_BESIDE; k++)
		pages[16 + k] = beside[k];
	one_collapse_with_rmap_point(pages, 16 + NR_BESIDE, knobs, MTHP_POLICY_UPSTREAM,
				     4, NR_BESIDE);
}

/* At PMD order the window is the whole range: nothing beside it to walk. */
static void rmap_walk_at_pmd_order_finds_nothing_beside(void **state)
{
	static const char *const knobs[] = { "hugepages-2048kB/enabled", "always", NULL };
	unsigned pages[NR];

	(void)state;
	for (unsigned i = 0; i < NR; i++)
		pages[i] = i;
	one_collapse_with_rmap_point(pages, NR, knobs, MTHP_POLICY_LEGACY, 9, 0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The walker thread beside khugepaged's while this thread faults, zaps,
 * pages out and moves the range: walks are checked, young bits cleared,
 * and no check fails; the simulator is consistent after.
 */
static void rmap_walker_thread_races_cleanly(void **state)
{
	static const char *const knobs[] = { "hugepages-64kB/enabled", "always",
					     "hugepages-2048kB/enabled", "always",
					     "khugepaged/max_ptes_none", "511",
					     "khugepaged/scan_sleep_millisecs", "0", NULL };
	unsigned pages[64];
	struct sim_rmap_stats st;
	struct sim_fx f;
	double end;
	unsigned round = 0;

	(void)state;
	for (unsigned i = 0; i < 64; i++)
		pages[i] = i * 3;
	f = fx_pages(pages, 64, knobs);
	sim_khugepaged_enter(f.mm);
	assert_int_equal(sim_rmap_walker_start(f.sim), 0);
	assert_int_equal(sim_rmap_walker_start(f.sim), -EBUSY);
	assert_int_equal(sim_khugepaged_start(f.sim), 0);
	end = now() + 0.4;
	while (now() < end) {
		uint64_t addr = BASE + (round % 2) * PMD, moved = BASE + 8 * PMD;

		for (unsigned i = 0; i < NR; i += 5)
			assert_int_equal(sim_write(f.mm, addr + i * PAGE, round + i), 0);
		assert_int_equal(sim_madvise(f.mm, addr + 64 * PAGE, 64 * PAGE,
					     round % 3 ? SIM_MADV_DONTNEED : SIM_MADV_PAGEOUT), 0);
		if (round % 4 == 3) {
			assert_int_equal(sim_mremap(f.mm, addr, PMD, &moved), 0);
			assert_int_equal(sim_mremap(f.mm, moved, PMD, &addr), 0);
		}
		round++;
	}
	sim_khugepaged_stop(f.sim);
	sim_rmap_walker_stop(f.sim);
	assert_no_rmap_failure(f.sim);
	sim_rmap_stats(f.sim, &st);
	assert_true(st.walks > 0);
	assert_true(st.checked > 0);
	assert_true(st.compared > 0 && st.compared <= st.checked);
	assert_true(st.young > 0);
	assert_true(st.unmapped > 0);
	assert_int_equal(st.walks, st.checked + st.contended + st.stale);
	sim_fx_done(&f, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rmap_walk_beside_mthp_window_waits),
		cmocka_unit_test(rmap_walk_at_pmd_order_finds_nothing_beside),
		cmocka_unit_test(rmap_walker_thread_races_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
