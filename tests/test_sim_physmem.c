// SPDX-License-Identifier: MIT
/*
 * test_sim_physmem.c - the simulator's physical memory: buddy allocation
 * of every order, failure when no block of an order is free, merging on
 * free, fragmentation by pinned frames, geometries with 16K and 64K pages,
 * and the free lists physmem_init() builds, against freeing every frame
 * one by one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <mthp/sim.h>

#include "helpers/sim_fx.h"
#include "helpers/test_main.h"
#include "sim/physmem.h"

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

/*
 * The reference: frames 1 to n - 1 freed one by one into an empty buddy
 * allocator, each merged with its free buddy while it can (the first
 * frame of a free block holds PG_BUDDY, its order, the next block in a
 * and the previous in mapcount; every other frame is all zero).
 */
struct ref_buddy {
	struct sim_page *pages;
	uint32_t head[SIM_MAX_ORDER + 1];
	uint64_t blocks[SIM_MAX_ORDER + 1];
};

static void ref_push(struct ref_buddy *r, uint32_t pfn, unsigned order)
{
	r->pages[pfn] = (struct sim_page){ .flags = PG_BUDDY, .order = (uint8_t)order,
					   .a = r->head[order],
					   .mapcount = (int32_t)SIM_NO_PFN };
	if (r->head[order] != SIM_NO_PFN)
		r->pages[r->head[order]].mapcount = (int32_t)pfn;
	r->head[order] = pfn;
	r->blocks[order]++;
}

static void ref_del(struct ref_buddy *r, uint32_t pfn, unsigned order)
{
	uint32_t next = r->pages[pfn].a, prev = (uint32_t)r->pages[pfn].mapcount;

	if (prev == SIM_NO_PFN)
		r->head[order] = next;
	else
		r->pages[prev].a = next;
	if (next != SIM_NO_PFN)
		r->pages[next].mapcount = (int32_t)prev;
	r->pages[pfn] = (struct sim_page){ 0 };
	r->blocks[order]--;
}

static void ref_init(struct ref_buddy *r, uint32_t n, unsigned max_order)
{
	r->pages = calloc(n, sizeof(*r->pages));
	assert_non_null(r->pages);
	for (unsigned o = 0; o <= SIM_MAX_ORDER; o++) {
		r->head[o] = SIM_NO_PFN;
		r->blocks[o] = 0;
	}
	for (uint32_t pfn = 1; pfn < n; pfn++) {
		uint32_t p = pfn;
		unsigned order = 0;

		while (order < max_order) {
			uint32_t buddy = p ^ (1u << order);

			if (buddy >= n || !(r->pages[buddy].flags & PG_BUDDY) ||
			    r->pages[buddy].order != order)
				break;
			ref_del(r, buddy, order);
			p &= ~(1u << order);
			order++;
		}
		ref_push(r, p, order);
	}
}

static void test_init_frees_as_one_by_one(void **state)
{
	static const uint32_t sizes[] = { 2, 3, 4, 5, 7, 8, 1000, 1023, 1024, 1025, 4096,
					  4097, 6143, 70001 };
	static const unsigned orders[] = { 0, 1, 3, 10, SIM_MAX_ORDER };
	uint64_t free_pages = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(orders) / sizeof(orders[0]); j++) {
			uint32_t n = sizes[i];
			struct sim_physmem pm;
			struct ref_buddy r;

			assert_int_equal(physmem_init(&pm, n, orders[j]), 0);
			ref_init(&r, n, orders[j]);
			r.pages[0] = (struct sim_page){ .flags = PG_RESERVED, .a = 1 };
			for (uint32_t pfn = 0; pfn < n; pfn++) {
				const struct sim_page *a = &pm.pages[pfn], *b = &r.pages[pfn];

				if (a->a != b->a || a->mapcount != b->mapcount || a->b != b->b ||
				    a->flags != b->flags || a->order != b->order ||
				    a->memcg != b->memcg)
					fail_msg("%u frames, max order %u: frame %u differs", n,
						 orders[j], pfn);
			}
			free_pages = 0;
			for (unsigned o = 0; o <= SIM_MAX_ORDER; o++) {
				assert_int_equal(pm.free_head[o], r.head[o]);
				assert_int_equal(pm.nr_free_blocks[o], r.blocks[o]);
				free_pages += r.blocks[o] << o;
			}
			assert_int_equal(pm.nr_free_pages, n - 1);
			assert_int_equal(free_pages, n - 1);
			free(r.pages);
			physmem_destroy(&pm);
		}
	}
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_free_lists_after_init),
	cmocka_unit_test(test_init_frees_as_one_by_one),
	cmocka_unit_test(test_fragment_blocks_orders),
	cmocka_unit_test(test_16k_pages_have_2048_ptes),
	cmocka_unit_test(test_64k_pages_fault_a_512m_thp),
)
