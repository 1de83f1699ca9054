// SPDX-License-Identifier: MIT
/*
 * test_khugepaged_stress.c - khugepaged in its own thread (policy
 * upstream, no scan sleep, max_ptes_none 511) beside four mutator threads
 * on one mm, through the stress harness (helpers/stress_harness.h):
 * first without fault injection, then with it at every step of the
 * collapse.  Runs MTHP_STRESS_SECONDS (default 2) seconds each half; no
 * data is lost, every check is clean, khugepaged made full scans and
 * something was collapsed.  Debug builds also run sim_check() every
 * 512th mapping change.
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

static void check_khugepaged_run(bool inject)
{
	struct stress_config cfg = STRESS_CONFIG_ALL(stress_seconds_from_env(2.0) / 2, 3);
	struct stress_totals t;

	cfg.inject = inject;
	assert_int_equal(stress_run(&cfg, &t, NULL), 0);
	printf("stress%s: %.1f s, %llu mutator ops, full_scans %llu, %llu collapses\n",
	       inject ? " with injection" : "", cfg.seconds, (unsigned long long)t.ops,
	       (unsigned long long)t.full_scans, (unsigned long long)t.collapses);
	if (!stress_ok(&t))
		fail_msg("%s (%llu lost pages, %llu failed operations)", t.why,
			 (unsigned long long)t.lost, (unsigned long long)t.errors);
	assert_true(t.full_scans > 0);
	assert_true(t.collapses > 0);
}

/* The same seed without and with injection: the faults are what differs. */
static void test_khugepaged_thread_and_four_mutators(void **state)
{
	(void)state;
	check_khugepaged_run(false);
	check_khugepaged_run(true);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_khugepaged_thread_and_four_mutators),
)
