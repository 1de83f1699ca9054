// SPDX-License-Identifier: MIT
/*
 * test_sim_fault.c - the simulator's anonymous fault path: which folio
 * order a write fault gets for each per-size setting combination that
 * matters, and the anon_fault_* / thp_fault_* counters; zero page and
 * huge zero page on read; the read-fault machine switch; what a swap-in
 * fault brings in from each kind of swap device.
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
#include "helpers/test_main.h"
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
	/* the limit is reached: even order 0 fails to charge, and reclaim
	 * pages out both 16K folios whole (it asks for 32 pages) */
	assert_int_equal(sim_write(mm, BASE + 8 * PAGE, 7), 0);
	assert_int_equal(vmstat(f.sim, "pswpout"), 8);
	assert_int_equal(ms(&f, 2, "swpout"), 2);
	assert_int_equal(sim_memcg_usage(f.sim, cg), 4);
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

/* A simulator on a swap device; its first mm maps [BASE, BASE + PMD). */
static struct sim_fx make_swap(enum sim_swap_device dev, uint64_t frames,
			       const char *const *knobs)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = frames,
					.nr_swap_slots = 1024, .swap_device = dev, .seed = 1 };
	struct sim_fx f = sim_fx_make(&cfg, knobs);

	sim_fx_map(f.mm, BASE, PMD);
	return f;
}

/* make_swap() of 4096 frames with 64K folios enabled. */
static struct sim_fx make_swap_64k(enum sim_swap_device dev)
{
	const char *k[] = { "hugepages-64kB/enabled", "always", NULL };

	return make_swap(dev, 4096, k);
}

/* Write pages [first, first + nr) of BASE, each its own content. */
static void write_pages(struct sim_fx *f, unsigned first, unsigned nr)
{
	for (unsigned i = first; i < first + nr; i++)
		assert_int_equal(sim_write(f->mm, BASE + i * PAGE, 1000 + i), 0);
}

/* Pages [first, first + nr) are present with their content, of this order. */
static void assert_present(struct sim_fx *f, unsigned first, unsigned nr, unsigned order)
{
	struct sim_page_info pi;

	for (unsigned i = first; i < first + nr; i++) {
		assert_int_equal(sim_page_info(f->mm, BASE + i * PAGE, &pi), 0);
		assert_int_equal(pi.state, 'A');
		assert_int_equal(pi.order, order);
		assert_int_equal(pi.tag, 1000 + i);
	}
}

static char state_of(struct sim_fx *f, unsigned i)
{
	struct sim_page_info pi;

	assert_int_equal(sim_page_info(f->mm, BASE + i * PAGE, &pi), 0);
	return pi.state;
}

/* Pages [16, 32) written, then paged out together. */
static void page_out_64k(struct sim_fx *f)
{
	write_pages(f, 16, 16);
	assert_int_equal(sim_madvise(f->mm, BASE + 16 * PAGE, 16 * PAGE, SIM_MADV_PAGEOUT), 0);
}

/* A 64K folio paged out whole, then one of its pages read. */
static void swap_64k_and_read(struct sim_fx *f)
{
	uint64_t tag;

	page_out_64k(f);
	assert_int_equal(ms(f, 4, "swpout"), 1);
	assert_int_equal(state_of(f, 16), 'w');
	assert_int_equal(sim_read(f->mm, BASE + 21 * PAGE, &tag), 0);
	assert_int_equal(tag, 1021);
}

static void test_swapin_zram_whole_folio(void **state)
{
	struct sim_fx f = make_swap_64k(SIM_SWAP_ZRAM);

	(void)state;
	swap_64k_and_read(&f);
	assert_present(&f, 16, 16, 4);
	assert_int_equal(ms(&f, 4, "swpin"), 1);
	assert_int_equal(vmstat(f.sim, "pswpin"), 16);
	assert_int_equal(ms(&f, 4, "swpin_fallback"), 0);
	sim_fx_done(&f, true);
}

static void test_swapin_disk_one_page(void **state)
{
	struct sim_fx f = make_swap_64k(SIM_SWAP_DISK);

	(void)state;
	swap_64k_and_read(&f);
	assert_present(&f, 21, 1, 0);
	assert_int_equal(state_of(&f, 20), 'w');
	assert_int_equal(state_of(&f, 22), 'w');
	assert_int_equal(ms(&f, 4, "swpin"), 0);
	assert_int_equal(vmstat(f.sim, "pswpin"), 1);
	/* the switch: the next fault brings in the rest of the block's 16K */
	sim_set_swap_device(f.sim, SIM_SWAP_ZRAM);
	assert_int_equal(sim_set_knob(f.sim, "hugepages-16kB/enabled", "always"), 0);
	assert_int_equal(sim_read(f.mm, BASE + 17 * PAGE, &(uint64_t){ 0 }), 0);
	assert_present(&f, 16, 4, 2);
	assert_int_equal(ms(&f, 2, "swpin"), 1);
	sim_fx_done(&f, true);
}

/* Only a folio's own run of slots swaps in whole: pages paged out one by one do not. */
static void test_swapin_zram_needs_a_run(void **state)
{
	const char *k[] = { "hugepages-64kB/enabled", "never", NULL };
	struct sim_fx f = make_swap(SIM_SWAP_ZRAM, 4096, k);
	uint64_t tag;

	(void)state;
	write_pages(&f, 16, 16);
	/* from the top down: each page's slot below the one before it */
	for (unsigned i = 32; i-- > 16;)
		assert_int_equal(sim_madvise(f.mm, BASE + i * PAGE, PAGE, SIM_MADV_PAGEOUT), 0);
	assert_int_equal(sim_set_knob(f.sim, "hugepages-64kB/enabled", "always"), 0);
	assert_int_equal(sim_read(f.mm, BASE + 16 * PAGE, &tag), 0);
	assert_present(&f, 16, 1, 0);
	assert_int_equal(state_of(&f, 17), 'w');
	assert_int_equal(ms(&f, 4, "swpin"), 0);
	sim_fx_done(&f, true);
}

/* A userfaultfd-armed VMA swaps in page by page. */
static void test_swapin_zram_uffd_one_page(void **state)
{
	struct sim_fx f = make_swap_64k(SIM_SWAP_ZRAM);

	(void)state;
	page_out_64k(&f);
	assert_int_equal(sim_uffd_register(f.mm, BASE, PMD, SIM_UFFD_MISSING), 0);
	assert_int_equal(sim_read(f.mm, BASE + 21 * PAGE, &(uint64_t){ 0 }), 0);
	assert_present(&f, 21, 1, 0);
	assert_int_equal(state_of(&f, 20), 'w');
	sim_fx_done(&f, true);
}

/* No 64K block free: the fault falls back to 16K and counts it. */
static void test_swapin_zram_alloc_fallback(void **state)
{
	const char *k[] = { "hugepages-64kB/enabled", "always", "hugepages-16kB/enabled",
			    "always", NULL };
	struct sim_fx f = make_swap(SIM_SWAP_ZRAM, 8192, k);

	(void)state;
	page_out_64k(&f);
	assert_true(sim_fragment(f.sim, 4) > 0);
	assert_int_equal(sim_read(f.mm, BASE + 21 * PAGE, &(uint64_t){ 0 }), 0);
	assert_present(&f, 20, 4, 2);
	assert_int_equal(state_of(&f, 19), 'w');
	assert_int_equal(ms(&f, 4, "swpin_fallback"), 1);
	assert_int_equal(ms(&f, 4, "swpin_fallback_charge"), 0);
	assert_int_equal(ms(&f, 2, "swpin"), 1);
	sim_unfragment(f.sim);
	sim_fx_done(&f, true);
}

/* The cgroup's limit refuses 64K: fallback_charge, then order 0. */
static void test_swapin_zram_charge_fallback(void **state)
{
	struct sim_fx f = make_swap_64k(SIM_SWAP_ZRAM);
	struct sim_mm *mm;
	uint64_t addr = BASE, tag;
	unsigned cg;

	(void)state;
	assert_int_equal(sim_memcg_create(f.sim, 16, &cg), 0);
	assert_int_equal(sim_mm_create(f.sim, cg, &mm), 0);
	assert_int_equal(sim_mmap(mm, &addr, PMD, SIM_PROT_RW, SIM_MAP_FIXED), 0);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(sim_write(mm, BASE + i * PAGE, 1000 + i), 0);
	assert_int_equal(sim_madvise(mm, BASE, 16 * PAGE, SIM_MADV_PAGEOUT), 0);
	assert_int_equal(sim_memcg_usage(f.sim, cg), 0);
	/* one page of the process's elsewhere leaves room for 15 */
	assert_int_equal(sim_set_knob(f.sim, "hugepages-64kB/enabled", "never"), 0);
	assert_int_equal(sim_write(mm, BASE + 100 * PAGE, 7), 0);
	assert_int_equal(sim_set_knob(f.sim, "hugepages-64kB/enabled", "always"), 0);
	assert_int_equal(sim_read(mm, BASE + 3 * PAGE, &tag), 0);
	assert_int_equal(tag, 1003);
	assert_int_equal(ms(&f, 4, "swpin_fallback_charge"), 1);
	assert_int_equal(ms(&f, 4, "swpin_fallback"), 1);
	assert_int_equal(sim_memcg_usage(f.sim, cg), 2);
	sim_exit(mm);
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

MTHP_TEST_MAIN(
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
	cmocka_unit_test(test_swapin_zram_whole_folio),
	cmocka_unit_test(test_swapin_disk_one_page),
	cmocka_unit_test(test_swapin_zram_needs_a_run),
	cmocka_unit_test(test_swapin_zram_uffd_one_page),
	cmocka_unit_test(test_swapin_zram_alloc_fallback),
	cmocka_unit_test(test_swapin_zram_charge_fallback),
	cmocka_unit_test(test_stats_dump),
)
