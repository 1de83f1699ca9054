// SPDX-License-Identifier: MIT
/*
 * test_sim_stress.c - four mutator threads on one mm, no khugepaged
 * thread: writes, reads (own slice and anywhere), DONTNEED, FREE,
 * PAGEOUT, POPULATE_WRITE, (NO)HUGEPAGE, mprotect, munmap + mmap, mremap
 * away and back, fork + exit, aging, pins, snapshots and MADV_COLLAPSE
 * (the stress harness, helpers/stress_harness.h).  Each thread checks
 * every tag it reads in its own slice against its model; every half
 * second all park for sim_check() and a check of every page; at the end
 * every frame is free again; then the same under memory pressure.  Each
 * runs MTHP_STRESS_SECONDS (default 2) s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "helpers/stress_harness.h"
#include "helpers/test_main.h"

/*
 * Four mutators from seed, no khugepaged thread, under memory pressure
 * or not: the run must lose no page, fail no operation and check clean.
 */
static struct stress_totals run_four(uint64_t seed, bool pressure)
{
	const struct stress_config cfg = {
		.seconds = stress_seconds_from_env(2.0),
		.nr_threads = 4,
		.seed = seed,
		.policy = MTHP_POLICY_UPSTREAM,
		.pressure = pressure,
	};
	struct stress_totals t;

	assert_int_equal(stress_run(&cfg, &t, NULL), 0);
	printf("stress%s: %llu operations in %.1f s, %llu checks, %llu pages paged out, "
	       "%llu accesses found no memory\n", pressure ? " under pressure" : "",
	       (unsigned long long)t.ops, cfg.seconds, (unsigned long long)t.checks,
	       (unsigned long long)t.paged_out, (unsigned long long)t.no_memory);
	if (!stress_ok(&t))
		fail_msg("%s (%llu lost pages, %llu failed operations)", t.why,
			 (unsigned long long)t.lost, (unsigned long long)t.errors);
	assert_true(t.ops > 0);
	assert_true(t.checks > 0);
	assert_int_equal(t.full_scans, 0);	/* no khugepaged thread */
	return t;
}

static void test_four_threads_one_mm(void **state)
{
	(void)state;
	run_four(42, false);
}

/*
 * The same in a memory cgroup of half the pages the threads map: their
 * writes and swap-ins past its limit page out to swap, and no page is
 * lost for it.
 */
static void test_four_threads_under_pressure(void **state)
{
	(void)state;
	assert_true(run_four(43, true).paged_out > 0);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_four_threads_one_mm),
	cmocka_unit_test(test_four_threads_under_pressure),
)
