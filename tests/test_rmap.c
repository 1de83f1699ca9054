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
 * checks every folio it walks without a failure.  Compaction's migration
 * of the folios a failed copy released, run by the MIGRATE injection
 * point, finds each of them mapped where it was: the table went back
 * under the PMD before they were released.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_fx.h"
#include "helpers/test_main.h"

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

/* Fail the case, naming what ran, with the walker's message if a check failed. */
static void assert_no_rmap_failure(struct sim *sim, const char *what)
{
	const char *why = sim_rmap_failure(sim);

	if (why)
		fail_msg("%s: %s", what, why);
}

/* One case of the window tests: the pages, the settings and policy, and what to expect. */
struct window_case {
	const char *what;
	const char *knobs[5];
	enum mthp_policy policy;
	unsigned window, nr_beside;	/* [0, window), nr_beside of beside[] */
	const char *want;		/* what the pass did (window_case_run()) */
};

/*
 * The case's order-0 pages, one khugepaged pass under its policy with the
 * injection points firing at every window; what the pass did (the last
 * point's firings, the collapses, and the walks of the rmap walker, or of
 * the migration when the last point is MIGRATE) must be want; every page
 * keeps its content.
 */
static void window_case_run(const struct window_case *c, const enum sim_inject_point *points,
			    size_t nr_points)
{
	enum sim_inject_point last = points[nr_points - 1];
	unsigned pages[NR + NR_BESIDE], nr = 0;
	struct sim_rmap_stats st;
	struct events ev = { 0 };
	uint64_t collapsed = 0;
	struct sim_fx f;
	char buf[160];
	int n;

	for (unsigned k = 0; k < c->window; k++)
		pages[nr++] = k;
	for (unsigned k = 0; k < c->nr_beside; k++)
		pages[nr++] = beside[k];
	f = fx_pages(pages, nr, c->knobs);
	if (sim_khugepaged_set_policy(f.sim, c->policy))
		fail_msg("%s: policy refused", c->what);
	for (size_t i = 0; i < nr_points; i++)
		if (sim_inject_set(f.sim, points[i], 1))
			fail_msg("%s: injection point refused", c->what);
	sim_khugepaged_enter(f.mm);
	sim_set_collapse_observer(f.sim, observe, &ev);
	if (sim_khugepaged_pass(f.sim, 0, &collapsed))
		fail_msg("%s: the pass failed", c->what);
	sim_set_collapse_observer(f.sim, NULL, NULL);
	assert_no_rmap_failure(f.sim, c->what);
	sim_rmap_stats(f.sim, &st);
	n = snprintf(buf, sizeof(buf), "fired=%llu events=%u succeeded=%u order=%u",
		     (unsigned long long)sim_inject_fired(f.sim, last), ev.nr, ev.succeeded,
		     ev.order);
	if (last == SIM_INJECT_MIGRATE)
		snprintf(buf + n, sizeof(buf) - (size_t)n,
			 " taken=%llu walked=%llu compared=%llu contended=%llu",
			 (unsigned long long)st.migrate_taken, (unsigned long long)st.migrate_walked,
			 (unsigned long long)st.compared, (unsigned long long)st.contended);
	else
		snprintf(buf + n, sizeof(buf) - (size_t)n, " walks=%llu contended=%llu checked=%llu",
			 (unsigned long long)st.walks, (unsigned long long)st.contended,
			 (unsigned long long)st.checked);
	if (strcmp(buf, c->want))
		fail_msg("%s:\n  got  %s\n  want %s", c->what, buf, c->want);
	for (unsigned k = 0; k < nr; k++) {
		uint64_t tag = 0;

		if (sim_read(f.mm, BASE + pages[k] * PAGE, &tag) || tag != tag_of(pages[k]))
			fail_msg("%s: page %u reads %#llx, wrote %#llx", c->what, pages[k],
				 (unsigned long long)tag, (unsigned long long)tag_of(pages[k]));
	}
	sim_fx_done(&f, true);
}

/*
 * One khugepaged pass with the RMAP injection point firing at every
 * window, over order-0 pages: the window [0, window) and, for the mTHP
 * window, 5 pages beside it.  The point fires once, at the one window
 * attempted, which collapses at its order with every tag kept; each walk
 * of a folio beside the window, run between ISOLATE and COPY, finds the
 * anon_vma held for write and is given up.  At PMD order the window is
 * the whole range: nothing beside it to walk.
 */
static void rmap_walk_beside_a_collapse_waits(void **state)
{
	static const struct window_case cases[] = {
		/* only 64K, no none PTE allowed: [0, 16) is the one window attempted */
		{ "the order-4 window [0, 16)",
		  { "hugepages-64kB/enabled", "always", "khugepaged/max_ptes_none", "0", NULL },
		  MTHP_POLICY_UPSTREAM, 16, NR_BESIDE,
		  "fired=1 events=1 succeeded=1 order=4 walks=5 contended=5 checked=0" },
		{ "the PMD-order window", { "hugepages-2048kB/enabled", "always", NULL },
		  MTHP_POLICY_LEGACY, NR, 0,
		  "fired=1 events=1 succeeded=1 order=9 walks=0 contended=0 checked=0" },
	};
	static const enum sim_inject_point points[] = { SIM_INJECT_RMAP };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		window_case_run(&cases[i], points, 1);
}

/*
 * One khugepaged pass whose copy fails (COPY_MC at every window), with
 * the MIGRATE point after the failed copy has released its folios:
 * compaction's migration of the first 4 folios of the window.  The table
 * is back under the PMD before the release, so each walk finds every
 * mapping of its folio: at PMD order, where the anon_vma lock was
 * dropped before the copy, each is compared; below it the collapse still
 * holds the lock for write, and each walk is given up.  Every page keeps
 * its content.  (Released before the table is back, a folio is found
 * mapped under a clear PMD: the mutant reattach-after-release.)
 */
static void migrate_after_a_failed_copy_finds_every_mapping(void **state)
{
	static const struct window_case cases[] = {
		{ "the PMD-order window", { "hugepages-2048kB/enabled", "always", NULL },
		  MTHP_POLICY_LEGACY, NR, 0,
		  "fired=1 events=1 succeeded=0 order=9 taken=4 walked=4 compared=4 contended=0" },
		{ "the order-4 window [0, 16)",
		  { "hugepages-64kB/enabled", "always", "khugepaged/max_ptes_none", "0", NULL },
		  MTHP_POLICY_UPSTREAM, 16, NR_BESIDE,
		  "fired=1 events=1 succeeded=0 order=4 taken=4 walked=4 compared=0 contended=4" },
	};
	static const enum sim_inject_point points[] = { SIM_INJECT_COPY_MC, SIM_INJECT_MIGRATE };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		window_case_run(&cases[i], points, 2);
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
 * and no check fails; the simulator is consistent after.  The range
 * churns for 0.4 s at least, and on until the walker has done each kind
 * of work (at most 60 s: a loaded machine, a sanitizer build), so that
 * a slow run does not fail for having done less.
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
	double start;
	unsigned round = 0;

	(void)state;
	for (unsigned i = 0; i < 64; i++)
		pages[i] = i * 3;
	f = fx_pages(pages, 64, knobs);
	sim_khugepaged_enter(f.mm);
	assert_int_equal(sim_rmap_walker_start(f.sim), 0);
	assert_int_equal(sim_rmap_walker_start(f.sim), -EBUSY);
	assert_int_equal(sim_khugepaged_start(f.sim), 0);
	start = now();
	for (;;) {
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
		if (now() - start < 0.4)
			continue;
		sim_rmap_stats(f.sim, &st);
		if ((st.compared && st.young && st.unmapped && st.migrate_walked) ||
		    now() - start > 60)
			break;
	}
	sim_khugepaged_stop(f.sim);
	sim_rmap_walker_stop(f.sim);
	assert_no_rmap_failure(f.sim, "the walker thread");
	sim_rmap_stats(f.sim, &st);
	assert_true(st.walks > 0);
	assert_true(st.checked > 0);
	assert_true(st.compared > 0 && st.compared <= st.checked);
	assert_true(st.young > 0);
	assert_true(st.unmapped > 0);
	assert_true(st.migrate_walked > 0 && st.migrate_walked <= st.migrate_taken);
	assert_int_equal(st.walks, st.checked + st.contended + st.stale);
	sim_fx_done(&f, false);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(rmap_walk_beside_a_collapse_waits),
	cmocka_unit_test(migrate_after_a_failed_copy_finds_every_mapping),
	cmocka_unit_test(rmap_walker_thread_races_cleanly),
)
