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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "helpers/stress_harness.h"
#include "helpers/test_main.h"

static void test_four_threads_one_mm(void **state)
{
	const struct stress_config cfg = {
		.seconds = stress_seconds_from_env(2.0),
		.nr_threads = 4,
		.seed = 42,
		.policy = MTHP_POLICY_UPSTREAM,
	};
	struct stress_totals t;

	(void)state;
	assert_int_equal(stress_run(&cfg, &t, NULL), 0);
	printf("stress: %llu operations in %.1f s, %llu checks\n", (unsigned long long)t.ops,
	       cfg.seconds, (unsigned long long)t.checks);
	if (!stress_ok(&t))
		fail_msg("%s (%llu lost pages, %llu failed operations)", t.why,
			 (unsigned long long)t.lost, (unsigned long long)t.errors);
	assert_true(t.ops > 0);
	assert_true(t.checks > 0);
	assert_int_equal(t.full_scans, 0);	/* no khugepaged thread */
}

/*
 * The same in a memory cgroup of half the pages the threads map: their
 * writes and swap-ins past its limit page out to swap, and no page is
 * lost for it.
 */
static void test_four_threads_under_pressure(void **state)
{
	const struct stress_config cfg = {
		.seconds = stress_seconds_from_env(2.0),
		.nr_threads = 4,
		.seed = 43,
		.policy = MTHP_POLICY_UPSTREAM,
		.pressure = true,
	};
	struct stress_totals t;

	(void)state;
	assert_int_equal(stress_run(&cfg, &t, NULL), 0);
	printf("stress under pressure: %llu operations, %llu pages paged out, %llu accesses "
	       "found no memory\n", (unsigned long long)t.ops,
	       (unsigned long long)t.paged_out, (unsigned long long)t.no_memory);
	if (!stress_ok(&t))
		fail_msg("%s (%llu lost pages, %llu failed operations)", t.why,
			 (unsigned long long)t.lost, (unsigned long long)t.errors);
	assert_true(t.paged_out > 0);
	assert_true(t.checks > 0);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_four_threads_one_mm),
	cmocka_unit_test(test_four_threads_under_pressure),
)
