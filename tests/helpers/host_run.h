/* SPDX-License-Identifier: MIT */
/*
 * host_run.h - the main() of a program of `make check-host`: its cases run
 * as live_tests_run() runs them, then every change to the host is undone
 * and checked undone.
 */
#ifndef MTHP_TEST_HOST_RUN_H
#define MTHP_TEST_HOST_RUN_H

#include <stdbool.h>
#include <stddef.h>

struct CMUnitTest;

/*
 * 77 when host_test_requirements(need_64k) is unmet (nothing runs).  Else
 * the n cases run (live_tests_run()), the undo stack runs (host_undo_all())
 * and the host is checked: a THP knob off its first value or a swap file
 * of this process still listed is said on stderr.  1 when a case failed or
 * something was left behind, else 0.
 */
int host_tests_run(struct CMUnitTest *tests, size_t n, bool need_64k);

#endif /* MTHP_TEST_HOST_RUN_H */
