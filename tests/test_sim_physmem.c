// SPDX-License-Identifier: MIT
/*
 * test_sim_physmem.c - the simulator's physical memory: buddy allocation
 * of every order, failure when no block of an order is free, merging on
 * free, fragmentation by pinned frames, geometries with 16K and 64K pages.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_fx.h"

static struct sim *make(uint32_t page_size, uint64_t frames)
{
	const struct sim_config cfg = { .page_size = page_size, .nr_frames = frames };

	return sim_fx_sim(&cfg, NULL);
}

static void test_free_lists_after_init(void **state)
{
	struct sim *sim = make(4096, 4096);

	(void)state;
	/* frame 0 is the zero page: one free block of each order 0..9, then
	 * three of order 10 */
	assert_int_equal(sim_free_pages(sim), 4095);
	for (unsigned o = 0; o <= 10; o++)
		assert_int_equal(sim_free_blocks(sim, o), o < 10 ? 1 : 3);
	assert_int_equal(sim_check(sim), 0);
	sim_destroy(sim);
}

static void test_fragment_blocks_orders(void **state)
{
	struct sim *sim = make(4096, 8192);
	int64_t pinned;

	(void)state;
	pinned = sim_fragment(sim, 4);
	assert_true(pinned > 500);
	for (unsigned o = 4; o <= 10; o++)
		assert_int_equal(sim_free_blocks(sim, o), 0);
	assert_true(sim_free_blocks(sim, 3) > 0);
	assert_int_equal(sim_check(sim), 0);
	sim_unfragment(sim);
	assert_int_equal(sim_free_pages(sim), 8191);
	assert_int_equal(sim_free_blocks(sim, 10), 7);
	assert_int_equal(sim_check(sim), 0);
	sim_destroy(sim);
}

static void test_16k_pages_have_2048_ptes(void **state)
{
	struct sim *sim16 = make(16384, 4096);

	(void)state;
	assert_int_equal(sim_geometry(sim16)->ptes_per_pmd, 2048);
	sim_destroy(sim16);
}

/* 64K pages: a PMD range is 512 MiB, and a write under HUGEPAGE maps it whole. */
static void test_64k_pages_fault_a_512m_thp(void **state)
{
	struct sim *sim64 = make(65536, 16384);
	struct sim_mm *mm;
	uint64_t addr = 0, tag = 0;
	struct sim_page_info pi;

	(void)state;
	assert_int_equal(sim_mm_create(sim64, 0, &mm), 0);
	assert_int_equal(sim_mmap(mm, &addr, 2 * 8192 * 65536ull, SIM_PROT_RW, 0), 0);
	assert_int_equal(sim_madvise(mm, addr, 8192 * 65536ull, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_write(mm, addr + 65536 * 3, 9), 0);
	assert_int_equal(sim_page_info(mm, addr, &pi), 0);
	assert_true(pi.huge);
	assert_int_equal(sim_read(mm, addr + 65536 * 3, &tag), 0);
	assert_int_equal(tag, 9);
	assert_int_equal(sim_check(sim64), 0);
	sim_exit(mm);
	assert_int_equal(sim_free_pages(sim64), 16383);
	sim_destroy(sim64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_lists_after_init),
		cmocka_unit_test(test_fragment_blocks_orders),
		cmocka_unit_test(test_16k_pages_have_2048_ptes),
		cmocka_unit_test(test_64k_pages_fault_a_512m_thp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
