// SPDX-License-Identifier: MIT
/*
 * test_sim_fault.c - the simulator's anonymous fault path: which folio
 * order a write fault gets for each per-size setting combination that
 * matters, and the anon_fault_* / thp_fault_* counters; zero page and
 * huge zero page on read; the read-fault machine switch.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_stat.h"
#include "helpers/sim_fx.h"
#include "helpers/text_has.h"

#define PAGE 4096ull
#define PMD (512 * PAGE)
#define BASE 0x200000000ull

static struct sim_fx make(uint64_t frames, const char *const *knobs)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = frames,
					.nr_swap_slots = 1024, .seed = 1 };

	return sim_fx_make(&cfg, knobs);
}

/* Write a fault at addr; return the order of the folio it got. */
static unsigned write_order(struct sim_fx *f, uint64_t addr)
{
	struct sim_page_info pi;

	assert_int_equal(sim_write(f->mm, addr, addr | 1), 0);
	assert_int_equal(sim_page_info(f->mm, addr, &pi), 0);
	assert_int_equal(pi.tag, addr | 1);
	return pi.order;
}

static uint64_t ms(struct sim_fx *f, unsigned order, const char *name)
{
	return mthp_stat(f->sim, order, name);
}

static void test_pmd_only_always(void **state)
{
	const char *k[] = { "enabled", "always", NULL };
	struct sim_fx f = make(4096, k);
	struct sim_page_info pi;

	(void)state;
	sim_fx_map(f.mm, BASE, 2 * PMD);
	assert_int_equal(write_order(&f, BASE + 5 * PAGE), 9);
	assert_int_equal(sim_page_info(f.mm, BASE, &pi), 0);
	assert_true(pi.huge);
	assert_int_equal(pi.tag, 0);
	assert_int_equal(vmstat(f.sim, "thp_fault_alloc"), 1);
	assert_int_equal(ms(&f, 9, "anon_fault_alloc"), 1);
	assert_int_equal(ms(&f, 9, "nr_anon"), 1);
	sim_fx_done(&f, true);
}

static void test_madvise_needs_hugepage(void **state)
{
	struct sim_fx f = make(4096, NULL);

	(void)state;
	sim_fx_map(f.mm, BASE, 2 * PMD);
	assert_int_equal(write_order(&f, BASE), 0);
	assert_int_equal(sim_madvise(f.mm, BASE + PMD, PMD, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_nr_vmas(f.mm), 2);
	assert_int_equal(write_order(&f, BASE + PMD), 9);
	assert_int_equal(vmstat(f.sim, "thp_fault_alloc"), 1);
	sim_fx_done(&f, true);
}

static void test_64k_only(void **state)
{
	const char *k[] = { "hugepages-2048kB/enabled", "never",
			    "hugepages-64kB/enabled", "always", NULL };
	struct sim_fx f = make(4096, k);
	struct sim_page_info pi;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	assert_int_equal(write_order(&f, BASE + 17 * PAGE), 4);
	/* the whole aligned 64K block is mapped, young and writable */
	for (unsigned i = 16; i < 32; i++) {
		assert_int_equal(sim_page_info(f.mm, BASE + i * PAGE, &pi), 0);
		assert_int_equal(pi.state, 'A');
		assert_int_equal(pi.order, 4);
		assert_true(pi.writable);
	}
	assert_int_equal(sim_page_info(f.mm, BASE + 15 * PAGE, &pi), 0);
	assert_int_equal(pi.state, '.');
	assert_int_equal(ms(&f, 4, "anon_fault_alloc"), 1);
	assert_int_equal(vmstat(f.sim, "thp_fault_alloc"), 0);
	sim_fx_done(&f, true);
}

static void test_16k_64k_2m(void **state)
{
	const char *k[] = { "hugepages-2048kB/enabled", "always",
			    "hugepages-64kB/enabled", "always",
			    "hugepages-16kB/enabled", "always", NULL };
	struct sim_fx f = make(8192, k);

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);			/* PMD-sized and aligned */
	sim_fx_map(f.mm, BASE + 2 * PMD, 256 * PAGE);	/* too small for a PMD */
	sim_fx_map(f.mm, BASE + 4 * PMD + 8 * PAGE, 8 * PAGE);	/* misaligned for 64K */
	sim_fx_map(f.mm, BASE + 6 * PMD, 2 * PAGE);	/* too small for 16K */
	assert_int_equal(write_order(&f, BASE + 3 * PAGE), 9);
	assert_int_equal(write_order(&f, BASE + 2 * PMD + 40 * PAGE), 4);
	assert_int_equal(write_order(&f, BASE + 4 * PMD + 9 * PAGE), 2);
	assert_int_equal(write_order(&f, BASE + 6 * PMD), 0);
	assert_int_equal(ms(&f, 9, "anon_fault_alloc"), 1);
	assert_int_equal(ms(&f, 4, "anon_fault_alloc"), 1);
	assert_int_equal(ms(&f, 2, "anon_fault_alloc"), 1);
	assert_int_equal(ms(&f, 4, "anon_fault_fallback"), 0);
	sim_fx_done(&f, true);
}

static void test_inherit(void **state)
{
	const char *always[] = { "enabled", "always", "hugepages-2048kB/enabled", "never",
				 "hugepages-64kB/enabled", "inherit", NULL };
	const char *madv[] = { "enabled", "madvise", "hugepages-2048kB/enabled", "never",
			       "hugepages-64kB/enabled", "inherit", NULL };
	struct sim_fx f = make(4096, always);
	struct sim_fx g;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	assert_int_equal(write_order(&f, BASE), 4);
	sim_fx_done(&f, true);
	g = make(4096, madv);
	sim_fx_map(g.mm, BASE, PMD);
	assert_int_equal(write_order(&g, BASE), 0);
	assert_int_equal(sim_madvise(g.mm, BASE, PMD, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(write_order(&g, BASE + 64 * PAGE), 4);
	sim_fx_done(&g, true);
}

/* A VMA mark that makes every fault take order 0, whatever the sizes say. */
struct order0_mark {
	const char *name;
	int (*mark)(struct sim_mm *mm, uint64_t addr, uint64_t len);
};

static int mark_nohugepage(struct sim_mm *mm, uint64_t addr, uint64_t len)
{
	return sim_madvise(mm, addr, len, SIM_MADV_NOHUGEPAGE);
}

static int mark_uffd(struct sim_mm *mm, uint64_t addr, uint64_t len)
{
	return sim_uffd_register(mm, addr, len, SIM_UFFD_MISSING);
}

static const struct order0_mark order0_marks[] = {
	{ "test_nohugepage", mark_nohugepage },
	{ "test_uffd_gets_order0", mark_uffd },
};

/* PMD and 64K "always", the VMA marked: a write faults in order 0. */
static void test_marked_vma_gets_order0(void **state)
{
	const struct order0_mark *m = *state;
	const char *k[] = { "enabled", "always", "hugepages-64kB/enabled", "always", NULL };
	struct sim_fx f = make(4096, k);

	sim_fx_map(f.mm, BASE, PMD);
	assert_int_equal(m->mark(f.mm, BASE, PMD), 0);
	assert_int_equal(write_order(&f, BASE), 0);
	sim_fx_done(&f, true);
}

static void test_neighbours_present(void **state)
{
	struct sim_fx f = make(4096, NULL);

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	assert_int_equal(write_order(&f, BASE + 3 * PAGE), 0);
	assert_int_equal(sim_set_knob(f.sim, "hugepages-64kB/enabled", "always"), 0);
	assert_int_equal(sim_set_knob(f.sim, "hugepages-16kB/enabled", "always"), 0);
	/* 64K block [0,16) holds page 3: the 16K block [8,12) is all none */
	assert_int_equal(write_order(&f, BASE + 9 * PAGE), 2);
	/* a zero page counts as not none */
	{
		uint64_t tag = 1;

		assert_int_equal(sim_read(f.mm, BASE + 18 * PAGE, &tag), 0);
		assert_int_equal(tag, 0);
	}
	assert_int_equal(write_order(&f, BASE + 17 * PAGE), 0);
	assert_int_equal(ms(&f, 4, "anon_fault_alloc"), 0);
	sim_fx_done(&f, true);
}

static void test_alloc_failure_falls_back(void **state)
{
	const char *k[] = { "enabled", "always", "hugepages-64kB/enabled", "always",
			    "hugepages-16kB/enabled", "always", NULL };
	struct sim_fx f = make(8192, k);

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	assert_true(sim_fragment(f.sim, 4) > 0);
	assert_int_equal(sim_free_blocks(f.sim, 4), 0);
	assert_int_equal(write_order(&f, BASE), 2);
	assert_int_equal(vmstat(f.sim, "thp_fault_fallback"), 1);
	assert_int_equal(ms(&f, 9, "anon_fault_fallback"), 1);
	assert_int_equal(ms(&f, 4, "anon_fault_fallback"), 1);
	assert_int_equal(ms(&f, 2, "anon_fault_alloc"), 1);
	assert_int_equal(ms(&f, 9, "anon_fault_fallback_charge"), 0);
	sim_unfragment(f.sim);
	assert_int_equal(write_order(&f, BASE + 64 * PAGE), 4);
	sim_fx_done(&f, true);
}

static void test_charge_failure_falls_back(void **state)
{
	const char *k[] = { "enabled", "always", "hugepages-64kB/enabled", "always",
			    "hugepages-16kB/enabled", "always", NULL };
	struct sim_fx f = make(8192, k);
	struct sim_mm *mm;
	unsigned cg;
	uint64_t addr = BASE;

	(void)state;
	assert_int_equal(sim_memcg_create(f.sim, 8, &cg), 0);
	assert_int_equal(sim_mm_create(f.sim, cg, &mm), 0);
	assert_int_equal(sim_mmap(mm, &addr, PMD, SIM_PROT_RW, SIM_MAP_FIXED), 0);
	assert_int_equal(sim_write(mm, BASE, 7), 0);
	assert_int_equal(vmstat(f.sim, "thp_fault_fallback_charge"), 1);
	assert_int_equal(vmstat(f.sim, "thp_fault_fallback"), 1);
	assert_int_equal(ms(&f, 9, "anon_fault_fallback_charge"), 1);
	assert_int_equal(ms(&f, 4, "anon_fault_fallback_charge"), 1);
	assert_int_equal(ms(&f, 4, "anon_fault_fallback"), 1);
	assert_int_equal(ms(&f, 2, "anon_fault_alloc"), 1);
	assert_int_equal(sim_memcg_usage(f.sim, cg), 4);
	/* 4 more pages fit: the next 16K block */
	assert_int_equal(sim_write(mm, BASE + 4 * PAGE, 7), 0);
	assert_int_equal(sim_memcg_usage(f.sim, cg), 8);
	/* the limit is reached: even order 0 fails */
	assert_int_equal(sim_write(mm, BASE + 8 * PAGE, 7), -ENOMEM);
	assert_int_equal(sim_check(f.sim), 0);
	sim_exit(mm);
	assert_int_equal(sim_memcg_usage(f.sim, cg), 0);
	sim_fx_done(&f, true);
}


static void test_read_zero_and_switch(void **state)
{
	const char *k[] = { "enabled", "always", NULL };
	struct sim_fx f = make(4096, k);
	struct sim_page_info pi;
	uint64_t tag = 5;

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	sim_fx_map(f.mm, BASE + 2 * PMD, 16 * PAGE);
	/* PMD path: the huge zero page */
	assert_int_equal(sim_read(f.mm, BASE, &tag), 0);
	assert_int_equal(tag, 0);
	assert_int_equal(sim_page_info(f.mm, BASE, &pi), 0);
	assert_true(pi.huge);
	assert_int_equal(pi.state, '0');
	assert_int_equal(vmstat(f.sim, "thp_zero_page_alloc"), 1);
	/* a write to it splits and gets an order-0 page */
	assert_int_equal(write_order(&f, BASE + PAGE), 0);
	assert_int_equal(vmstat(f.sim, "thp_split_pmd"), 1);
	assert_int_equal(sim_page_info(f.mm, BASE, &pi), 0);
	assert_int_equal(pi.state, '0');
	/* PTE path: the small zero page */
	assert_int_equal(sim_read(f.mm, BASE + 2 * PMD, &tag), 0);
	assert_int_equal(sim_page_info(f.mm, BASE + 2 * PMD, &pi), 0);
	assert_int_equal(pi.state, '0');
	/* the machine switch: read faults allocate */
	sim_set_read_fault_alloc(f.sim, true);
	assert_int_equal(sim_read(f.mm, BASE + 2 * PMD + PAGE, &tag), 0);
	assert_int_equal(tag, 0);
	assert_int_equal(sim_page_info(f.mm, BASE + 2 * PMD + PAGE, &pi), 0);
	assert_int_equal(pi.state, 'A');
	sim_fx_done(&f, true);
}

static void test_stats_dump(void **state)
{
	const char *k[] = { "enabled", "always", NULL };
	struct sim_fx f = make(4096, k);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	(void)state;
	sim_fx_map(f.mm, BASE, PMD);
	write_order(&f, BASE);
	assert_int_equal(sim_stats_dump(f.sim, mem), 0);
	fclose(mem);
	assert_text_has(buf,
			"/proc/vmstat/thp_fault_alloc 1\n",
			"/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/stats/anon_fault_alloc 1\n",
			"hugepages-64kB/stats/swpout 0\n",
			NULL);
	free(buf);
	sim_fx_done(&f, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ order0_marks[0].name, test_marked_vma_gets_order0, NULL, NULL,
		  (void *)&order0_marks[0] },
		{ order0_marks[1].name, test_marked_vma_gets_order0, NULL, NULL,
		  (void *)&order0_marks[1] },
		cmocka_unit_test(test_pmd_only_always),
		cmocka_unit_test(test_madvise_needs_hugepage),
		cmocka_unit_test(test_64k_only),
		cmocka_unit_test(test_16k_64k_2m),
		cmocka_unit_test(test_inherit),
		cmocka_unit_test(test_neighbours_present),
		cmocka_unit_test(test_alloc_failure_falls_back),
		cmocka_unit_test(test_charge_failure_falls_back),
		cmocka_unit_test(test_read_zero_and_switch),
		cmocka_unit_test(test_stats_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
