// SPDX-License-Identifier: MIT
/*
 * test_host_record.c - a recording of a program that pages out: with a
 * temporary swap file (removed at the end, also when a case fails), a
 * child of the test writes a PMD range, pages 64 of its pages out, reads
 * 32 of them back (swap-in faults) and frees 16 swapped ones; every frame
 * shows what the step did, reads back as captured, and the no-collapse
 * replay (page-out and swap-in in the simulator) maps exactly the
 * recording's pages in every frame.  Needs root; changes the host (swap),
 * so only `make check-host` runs it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/snapshot.h>

#include "helpers/host_run.h"
#include "helpers/live_child.h"
#include "helpers/rec_child.h"
#include "helpers/swapfile.h"

#define NR_STEPS 5

static void swap_step(char *a, int k)
{
	switch (k) {
	case 1:		/* write a whole range */
		memset(a, 1, REC_PMD);
		break;
	case 2:		/* page out 64 pages */
		if (madvise(a, 64 * REC_PAGE, MADV_PAGEOUT))
			_exit(4);
		break;
	case 3:		/* read 32 back: swap-in faults */
		for (int i = 0; i < 32; i++)
			(void)*(volatile char *)(a + (size_t)i * REC_PAGE);
		break;
	case 4:		/* free 16 swapped-out pages */
		madvise(a + 32 * REC_PAGE, 16 * REC_PAGE, MADV_DONTNEED);
		break;
	}
}

/* After step k: swap entries, and pages mapped. */
static void expect_swap(const struct mthp_snapshot *snap, uint64_t addr, int k)
{
	static const unsigned swapped[NR_STEPS] = { 0, 0, 64, 32, 16 };
	static const unsigned any[NR_STEPS] = { 0, 512, 512, 512, 496 };

	assert_int_equal(rec_count_in(snap, addr, 'w'), swapped[k]);
	assert_int_equal(rec_count_in(snap, addr, '*'), any[k]);
}

static void test_page_out_and_swap_in(void **state)
{
	struct stepper s;
	char *buf;
	size_t len;
	int ret;

	(void)state;
	ret = swapfile_create("/var/tmp", 32);
	if (ret < 0) {
		print_message("SKIP: no swap file in /var/tmp: %s\n", strerror(-ret));
		skip();
	}
	s = stepper_start(swap_step);
	rec_steps(&s, NR_STEPS, expect_swap, &buf, &len);
	stepper_stop(&s);
	rec_replay_buffer(buf, len, NR_STEPS);
	swapfile_remove();
	assert_false(swapfile_listed(getpid()));
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_out_and_swap_in),
	};

	return host_tests_run(tests, sizeof(tests) / sizeof(tests[0]), false);
}
