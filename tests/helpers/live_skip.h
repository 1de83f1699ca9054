/* SPDX-License-Identifier: MIT */
/*
 * live_skip.h - what a live test needs of the machine: root, THP (with
 * the 64kB size when asked), 4 KiB pages, readable PFNs and kpageflags;
 * and a host test, writable THP knobs besides.
 */
#ifndef MTHP_TEST_LIVE_SKIP_H
#define MTHP_TEST_LIVE_SKIP_H

#include <stdbool.h>

/* 0 when the live tests can run here; else prints "SKIP: why" and returns 77. */
int live_test_requirements(bool need_64k);

/*
 * The same for the host tests (make check-host), which also need to write
 * the THP knobs: /sys/kernel/mm/transparent_hugepage must be writable.
 */
int host_test_requirements(bool need_64k);

/*
 * Does a read fault of an anonymous page map the shared zero page here?
 * Some kernels (seen in a virtual machine's) allocate a page instead; a
 * test that expects zero-page PTEs asks this first.  Found out once, on a
 * page of this process's own, and said once when the answer is no.
 */
bool live_read_maps_zero_page(void);

#endif
