// SPDX-License-Identifier: MIT
/*
 * test_tlb.c - TLB entries needed to map a snapshot under each profile
 * (include/mthp/tlb.h, docs/tlb-profiles.md): hand-built layouts with
 * exact counts (a PMD-mapped 2M, 512 order-0 pages, 32 aligned 64K folios,
 * a 64K folio not fully mapped, unaligned runs, zero pages, mixed), the
 * geometry rule, names, and errors.
 *
 * Layouts are built with the snapshot builder; a table is written as runs:
 * snap_table_put(&t, off, n, state, order).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/snapshot.h>

#include "helpers/snap_build.h"
#include "helpers/test_main.h"
#include <mthp/tlb.h>

#define X86 MTHP_TLB_X86_64
#define ZEN MTHP_TLB_ZEN
#define A4K MTHP_TLB_ARM64_4K
#define A16K MTHP_TLB_ARM64_16K
#define A64K MTHP_TLB_ARM64_64K

#define BASE MTHP_TLB_BASE
#define CONT MTHP_TLB_CONT
#define PMD MTHP_TLB_PMD


/* Count and compare base, cont, pmd entries and the total. */
static void expect(const struct mthp_snapshot *s, enum mthp_tlb_profile p,
		   uint64_t base, uint64_t cont, uint64_t pmd)
{
	struct mthp_tlb_count c;

	assert_int_equal(mthp_tlb_count(s, p, &c), 0);
	assert_int_equal(c.profile, p);
	assert_int_equal(c.entries[BASE], base);
	assert_int_equal(c.entries[CONT], cont);
	assert_int_equal(c.entries[PMD], pmd);
	assert_int_equal(c.total, base + cont + pmd);
}

static struct snap_table T;

/* Nothing mapped, nothing counted. */
static void test_empty_snapshot(void **state)
{
	struct mthp_snapshot s;

	(void)state;
	mthp_snapshot_init(&s, NULL);
	expect(&s, X86, 0, 0, 0);
	expect(&s, ZEN, 0, 0, 0);
	mthp_snapshot_free(&s);
}

/* ---- the layouts of the brief, each profile ---- */

static void test_full_pmd_mapped(void **state)
{
	struct mthp_snapshot s;
	struct mthp_tlb_count c;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_build_add(&s, 0, MTHP_PMD_HUGE, NULL);
	expect(&s, X86, 0, 0, 1);
	expect(&s, ZEN, 0, 0, 1);
	expect(&s, A4K, 0, 0, 1);
	assert_int_equal(mthp_tlb_count(&s, X86, &c), 0);
	assert_int_equal(c.pages, 512);
	assert_int_equal(c.entry_bytes[PMD], 2u << 20);
	mthp_snapshot_free(&s);
}

static void test_512_order0_pages(void **state)
{
	struct mthp_snapshot s;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 512, 'A', 0);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, X86, 512, 0, 0);
	expect(&s, ZEN, 512, 0, 0);
	expect(&s, A4K, 512, 0, 0);
	mthp_snapshot_free(&s);
}

static void test_32_aligned_64k_folios(void **state)
{
	struct mthp_snapshot s;
	struct mthp_tlb_count c;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 512, 'a', 4);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, X86, 512, 0, 0);	/* Intel does not coalesce */
	expect(&s, ZEN, 0, 128, 0);	/* 4 PTEs per 16K entry */
	expect(&s, A4K, 0, 32, 0);	/* 16 PTEs per contpte entry */
	assert_int_equal(mthp_tlb_count(&s, A4K, &c), 0);
	assert_int_equal(c.pages, 512);
	assert_int_equal(c.entry_bytes[CONT], 64 * 1024);
	mthp_snapshot_free(&s);
}

static void test_64k_folio_not_fully_mapped(void **state)
{
	struct mthp_snapshot s;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 16, 'A', 4);
	snap_table_put(&T, 5, 1, '.', 0);		/* one PTE of the folio unmapped */
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, X86, 15, 0, 0);
	/* blocks 0-3, 8-11, 12-15 coalesce; 4-7 has a hole: 3 base */
	expect(&s, ZEN, 3, 3, 0);
	expect(&s, A4K, 15, 0, 0);
	mthp_snapshot_free(&s);
}

static void test_64k_folio_with_swapped_page(void **state)
{
	struct mthp_snapshot s;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	snap_table_put(&T, 16, 16, 'A', 4);
	snap_table_put(&T, 31, 1, 'w', 0);		/* swap entry: not present */
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, X86, 15, 0, 0);
	expect(&s, ZEN, 3, 3, 0);
	expect(&s, A4K, 15, 0, 0);
	mthp_snapshot_free(&s);
}

static void test_unaligned_runs(void **state)
{
	struct mthp_snapshot s;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	/* order-0 pages in a run of 16 starting at 8: no folio, no merge */
	snap_table_put(&T, 8, 16, 'A', 0);
	/* PTEs labelled order 4 at 40..55 straddle two 16-blocks */
	snap_table_put(&T, 40, 16, 'A', 4);
	/* an order-2 run starting at 66 straddles two 4-blocks */
	snap_table_put(&T, 66, 4, 'A', 2);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, X86, 36, 0, 0);
	/* only 40..55's four aligned 4-blocks coalesce on Zen */
	expect(&s, ZEN, 16 + 4, 4, 0);
	expect(&s, A4K, 36, 0, 0);
	mthp_snapshot_free(&s);
}

static void test_zero_pages(void **state)
{
	struct mthp_snapshot s;
	struct mthp_tlb_count c;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 512, '0', 0);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	/* counted, one base entry each, never coalesced */
	expect(&s, X86, 512, 0, 0);
	expect(&s, ZEN, 512, 0, 0);
	expect(&s, A4K, 512, 0, 0);
	assert_int_equal(mthp_tlb_count(&s, ZEN, &c), 0);
	assert_int_equal(c.zero_pages, 512);
	assert_int_equal(c.pages, 512);
	mthp_snapshot_free(&s);
}

static void test_zero_page_in_a_block_breaks_it(void **state)
{
	struct mthp_snapshot s;
	struct mthp_tlb_count c;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 16, 'A', 4);
	snap_table_put(&T, 15, 1, '0', 0);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, ZEN, 4, 3, 0);
	expect(&s, A4K, 16, 0, 0);
	assert_int_equal(mthp_tlb_count(&s, A4K, &c), 0);
	assert_int_equal(c.zero_pages, 1);
	mthp_snapshot_free(&s);
}

static void test_states_counted_and_not(void **state)
{
	static const char counted[] = "AaSsflKPN0n";
	static const char not_counted[] = ".wu";
	struct mthp_snapshot s;
	struct mthp_tlb_count c;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	for (uint32_t i = 0; counted[i]; i++)
		snap_table_put(&T, i * 16, 1, counted[i], 0);
	for (uint32_t i = 0; not_counted[i]; i++)
		snap_table_put(&T, 256 + i * 16, 1, not_counted[i], 0);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, X86, strlen(counted), 0, 0);
	assert_int_equal(mthp_tlb_count(&s, X86, &c), 0);
	assert_int_equal(c.pages, strlen(counted));
	assert_int_equal(c.zero_pages, 1);
	mthp_snapshot_free(&s);
}

static void test_every_folio_state_coalesces(void **state)
{
	static const char states[] = "AaSsflKPN";
	struct mthp_snapshot s;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	/* one 64K folio per state, pages of mixed states in the last one */
	for (uint32_t i = 0; states[i]; i++)
		snap_table_put(&T, i * 16, 16, states[i], 4);
	for (uint32_t i = 0; states[i]; i++)
		snap_table_put(&T, 160 + i, 1, states[i], 4);
	snap_table_put(&T, 169, 7, 'A', 4);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, A4K, 0, 10, 0);
	expect(&s, ZEN, 0, 40, 0);
	mthp_snapshot_free(&s);
}

static void test_mixed_orders_in_a_block(void **state)
{
	struct mthp_snapshot s;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	/* 0..3: two orders in one 4-block (inconsistent): not one folio */
	snap_table_put(&T, 0, 2, 'A', 2);
	snap_table_put(&T, 2, 2, 'A', 3);
	/* 8..15 one order-3 folio: two Zen entries, too small for contpte */
	snap_table_put(&T, 8, 8, 'A', 3);
	/* 32..63 one 128K folio: two contpte entries, eight Zen entries */
	snap_table_put(&T, 32, 32, 'A', 5);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, X86, 44, 0, 0);
	expect(&s, ZEN, 4, 10, 0);
	expect(&s, A4K, 12, 2, 0);
	mthp_snapshot_free(&s);
}

static void test_pte_mapped_2m_folio(void **state)
{
	struct mthp_snapshot s;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 512, 'A', 9);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, X86, 512, 0, 0);
	expect(&s, ZEN, 0, 128, 0);
	expect(&s, A4K, 0, 32, 0);
	mthp_snapshot_free(&s);
}

static void test_folios_absent_means_order0(void **state)
{
	struct mthp_snapshot s;

	(void)state;
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 512, 'A', 0);
	assert_int_equal(mthp_snapshot_add_pmd(&s, snap_build_pmd_addr(&s, 0), MTHP_PMD_TABLE,
					       T.ptes, NULL), 0);
	expect(&s, ZEN, 512, 0, 0);
	expect(&s, A4K, 512, 0, 0);
	mthp_snapshot_free(&s);
}

static void test_mixed_layout(void **state)
{
	struct mthp_snapshot s;
	struct mthp_tlb_count c;

	(void)state;
	snap_build_new(&s, 4096, 4, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_build_add(&s, 0, MTHP_PMD_HUGE, NULL);
	snap_build_add(&s, 1, MTHP_PMD_NONE, NULL);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 64, 'A', 4);		/* 4 x 64K */
	snap_table_put(&T, 64, 16, 'S', 2);	/* 4 x 16K, shared */
	snap_table_put(&T, 80, 10, 'a', 0);	/* 10 x 4K */
	snap_table_put(&T, 96, 32, '0', 0);	/* 32 zero pages */
	snap_table_put(&T, 128, 16, 'w', 0);	/* swapped out */
	snap_build_add(&s, 2, MTHP_PMD_TABLE, &T);
	snap_table_init(&T, 512);		/* an empty table */
	snap_build_add(&s, 3, MTHP_PMD_TABLE, &T);
	expect(&s, X86, 64 + 16 + 10 + 32, 0, 1);
	expect(&s, ZEN, 10 + 32, 16 + 4, 1);
	expect(&s, A4K, 16 + 10 + 32, 4, 1);
	assert_int_equal(mthp_tlb_count(&s, A4K, &c), 0);
	assert_int_equal(c.pages, 512 + 64 + 16 + 10 + 32);
	assert_int_equal(c.zero_pages, 32);

	/* one pmd alone */
	assert_int_equal(mthp_tlb_count_pmd(&s, &s.pmds[2], ZEN, &c), 0);
	assert_int_equal(c.entries[BASE], 42);
	assert_int_equal(c.entries[CONT], 20);
	assert_int_equal(c.entries[PMD], 0);
	assert_int_equal(c.total, 62);
	assert_int_equal(mthp_tlb_count_pmd(&s, &s.pmds[0], ZEN, &c), 0);
	assert_int_equal(c.total, 1);
	assert_int_equal(mthp_tlb_count_pmd(&s, &s.pmds[1], ZEN, &c), 0);
	assert_int_equal(c.total, 0);
	mthp_snapshot_free(&s);
}

/* ---- other geometries ---- */

static void test_arm64_64k(void **state)
{
	struct mthp_snapshot s;
	struct mthp_tlb_count c;

	(void)state;
	snap_build_new(&s, 65536, 2, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_build_add(&s, 0, MTHP_PMD_HUGE, NULL);
	snap_table_init(&T, 8192);
	snap_table_put(&T, 0, 8192, 'A', 5);	/* 256 x 2M contpte */
	snap_table_put(&T, 0, 32, 'A', 4);		/* the first 2M as two 1M folios */
	snap_table_put(&T, 100, 1, '.', 0);	/* a hole in the fourth block */
	snap_build_add(&s, 1, MTHP_PMD_TABLE, &T);
	expect(&s, A64K, 32 + 31, 256 - 2, 1);
	assert_int_equal(mthp_tlb_count(&s, A64K, &c), 0);
	assert_int_equal(c.entry_bytes[BASE], 64 * 1024);
	assert_int_equal(c.entry_bytes[CONT], 2u << 20);
	assert_int_equal(c.entry_bytes[PMD], 512u << 20);
	assert_int_equal(c.pages, 8192 + 8191);
	mthp_snapshot_free(&s);
}

static void test_arm64_16k(void **state)
{
	struct mthp_snapshot s;

	(void)state;
	snap_build_new(&s, 16384, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_table_init(&T, 2048);
	snap_table_put(&T, 0, 1024, 'A', 7);	/* 8 x 2M contpte */
	snap_table_put(&T, 1024, 1024, 'A', 6);	/* 1M folios: too small */
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &T);
	expect(&s, A16K, 1024, 8, 0);
	mthp_snapshot_free(&s);
}

static void test_geometry_rule(void **state)
{
	struct mthp_geometry g4, g16, g64;
	struct mthp_snapshot s;
	struct mthp_tlb_count c;

	(void)state;
	assert_int_equal(mthp_geometry_from_page_size(&g4, 4096), 0);
	assert_int_equal(mthp_geometry_from_page_size(&g16, 16384), 0);
	assert_int_equal(mthp_geometry_from_page_size(&g64, 65536), 0);
	assert_true(mthp_tlb_profile_fits(X86, &g4));
	assert_true(mthp_tlb_profile_fits(ZEN, &g4));
	assert_true(mthp_tlb_profile_fits(A4K, &g4));
	assert_false(mthp_tlb_profile_fits(A16K, &g4));
	assert_false(mthp_tlb_profile_fits(A64K, &g4));
	assert_true(mthp_tlb_profile_fits(A16K, &g16));
	assert_false(mthp_tlb_profile_fits(X86, &g16));
	assert_true(mthp_tlb_profile_fits(A64K, &g64));
	assert_false(mthp_tlb_profile_fits(A4K, &g64));
	assert_false(mthp_tlb_profile_fits(X86, &g64));
	assert_false(mthp_tlb_profile_fits((enum mthp_tlb_profile)99, &g4));

	/* a profile that does not fit is an error, -EDOM, not a zero count */
	snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_build_add(&s, 0, MTHP_PMD_HUGE, NULL);
	assert_int_equal(mthp_tlb_count(&s, A64K, &c), -EDOM);
	assert_int_equal(mthp_tlb_count(&s, A16K, &c), -EDOM);
	assert_int_equal(mthp_tlb_count_pmd(&s, &s.pmds[0], A64K, &c), -EDOM);
	mthp_snapshot_free(&s);
	snap_build_new(&s, 65536, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	snap_build_add(&s, 0, MTHP_PMD_HUGE, NULL);
	assert_int_equal(mthp_tlb_count(&s, X86, &c), -EDOM);
	assert_int_equal(mthp_tlb_count(&s, ZEN, &c), -EDOM);
	assert_int_equal(mthp_tlb_count(&s, A4K, &c), -EDOM);
	mthp_snapshot_free(&s);

	/* counts started for one geometry refuse a range of another */
	assert_int_equal(mthp_tlb_count_init(&c, A4K, &g4), 0);
	assert_int_equal(mthp_tlb_count_range(&c, &g64, MTHP_PMD_HUGE, NULL, NULL), -EDOM);
	assert_int_equal(mthp_tlb_count_init(&c, A4K, &g64), -EDOM);
}

/* ---- the range helper ---- */

static void test_count_range_accumulates(void **state)
{
	struct mthp_geometry g;
	struct mthp_tlb_count c;

	(void)state;
	assert_int_equal(mthp_geometry_from_page_size(&g, 4096), 0);
	assert_int_equal(mthp_tlb_count_init(&c, A4K, &g), 0);
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 64, 'A', 4);
	snap_table_put(&T, 64, 3, 'A', 0);
	assert_int_equal(mthp_tlb_count_range(&c, &g, MTHP_PMD_TABLE, T.ptes, T.orders), 0);
	assert_int_equal(mthp_tlb_count_range(&c, &g, MTHP_PMD_TABLE, T.ptes, T.orders), 0);
	assert_int_equal(mthp_tlb_count_range(&c, &g, MTHP_PMD_HUGE, NULL, NULL), 0);
	assert_int_equal(mthp_tlb_count_range(&c, &g, MTHP_PMD_NONE, NULL, NULL), 0);
	assert_int_equal(c.entries[BASE], 6);
	assert_int_equal(c.entries[CONT], 8);
	assert_int_equal(c.entries[PMD], 1);
	assert_int_equal(c.total, 15);
	assert_int_equal(c.pages, 2 * 67 + 512);
	assert_int_equal(c.zero_pages, 0);
	/* the huge zero page: one PMD entry, its pages zero pages */
	assert_int_equal(mthp_tlb_count_range(&c, &g, MTHP_PMD_ZERO, NULL, NULL), 0);
	assert_int_equal(c.entries[PMD], 2);
	assert_int_equal(c.pages, 2 * 67 + 2 * 512);
	assert_int_equal(c.zero_pages, 512);

	/* orders NULL: every page order 0 */
	assert_int_equal(mthp_tlb_count_init(&c, ZEN, &g), 0);
	assert_int_equal(mthp_tlb_count_range(&c, &g, MTHP_PMD_TABLE, T.ptes, NULL), 0);
	assert_int_equal(c.entries[BASE], 67);
	assert_int_equal(c.entries[CONT], 0);

	/* lenient like the reader: no folio under a present PTE is order 0,
	 * an order under '.' is ignored */
	snap_table_init(&T, 512);
	snap_table_put(&T, 0, 4, 'A', 2);
	T.orders[1] = MTHP_NO_FOLIO;
	T.orders[8] = 2;
	assert_int_equal(mthp_tlb_count_init(&c, ZEN, &g), 0);
	assert_int_equal(mthp_tlb_count_range(&c, &g, MTHP_PMD_TABLE, T.ptes, T.orders), 0);
	assert_int_equal(c.entries[BASE], 4);
	assert_int_equal(c.total, 4);
}

static void test_count_range_errors(void **state)
{
	struct mthp_geometry g;
	struct mthp_tlb_count c;

	(void)state;
	assert_int_equal(mthp_geometry_from_page_size(&g, 4096), 0);
	assert_int_equal(mthp_tlb_count_init(&c, ZEN, &g), 0);
	assert_int_equal(mthp_tlb_count_range(&c, &g, MTHP_PMD_TABLE, NULL, NULL), -EINVAL);
	assert_int_equal(mthp_tlb_count_range(&c, &g, (enum mthp_pmd_kind)7, NULL, NULL), -EINVAL);
	assert_int_equal(mthp_tlb_count_range(NULL, &g, MTHP_PMD_HUGE, NULL, NULL), -EINVAL);
	assert_int_equal(mthp_tlb_count_range(&c, NULL, MTHP_PMD_HUGE, NULL, NULL), -EINVAL);
	assert_int_equal(c.total, 0);
	assert_int_equal(mthp_tlb_count_init(&c, (enum mthp_tlb_profile)-1, &g), -EINVAL);
	assert_int_equal(mthp_tlb_count_init(&c, (enum mthp_tlb_profile)5, &g), -EINVAL);
	assert_int_equal(mthp_tlb_count_init(&c, ZEN, NULL), -EINVAL);
	assert_int_equal(mthp_tlb_count(NULL, ZEN, &c), -EINVAL);
	assert_int_equal(mthp_tlb_count_pmd(NULL, NULL, ZEN, &c), -EINVAL);
}

/* ---- names ---- */

static void test_profile_names(void **state)
{
	static const char *const names[MTHP_TLB_NR_PROFILES] = {
		"x86-64", "zen", "arm64-4k", "arm64-16k", "arm64-64k",
	};
	enum mthp_tlb_profile p;

	(void)state;
	for (unsigned i = 0; i < MTHP_TLB_NR_PROFILES; i++) {
		assert_string_equal(mthp_tlb_profile_name((enum mthp_tlb_profile)i), names[i]);
		assert_int_equal(mthp_tlb_profile_parse(names[i], &p), 0);
		assert_int_equal(p, i);
		assert_non_null(mthp_tlb_profile_info(p));
	}
	assert_int_equal(mthp_tlb_profile_parse("x86", &p), -EINVAL);
	assert_int_equal(mthp_tlb_profile_parse("ZEN", &p), -EINVAL);
	assert_int_equal(mthp_tlb_profile_parse("", &p), -EINVAL);
	assert_int_equal(mthp_tlb_profile_parse(NULL, &p), -EINVAL);
	assert_string_equal(mthp_tlb_profile_name((enum mthp_tlb_profile)9), "?");
	assert_null(mthp_tlb_profile_info((enum mthp_tlb_profile)9));
}

static void test_profile_table(void **state)
{
	const struct mthp_tlb_profile_info *x = mthp_tlb_profile_info(X86);
	const struct mthp_tlb_profile_info *z = mthp_tlb_profile_info(ZEN);
	const struct mthp_tlb_profile_info *a = mthp_tlb_profile_info(A4K);

	(void)state;
	assert_int_equal(x->cont_order, 0);
	assert_int_equal(x->entry_bytes[CONT], 0);
	assert_int_equal(z->cont_order, 2);
	assert_int_equal(z->entry_bytes[CONT], 16 * 1024);
	assert_int_equal(a->cont_order, 4);
	for (unsigned i = 0; i < MTHP_TLB_NR_PROFILES; i++) {
		const struct mthp_tlb_profile_info *p =
			mthp_tlb_profile_info((enum mthp_tlb_profile)i);

		assert_int_equal(p->entry_bytes[BASE], p->page_size);
		if (p->cont_order)
			assert_int_equal(p->entry_bytes[CONT],
					 (uint64_t)p->page_size << p->cont_order);
	}
}

/*
 * The engine's default MMU for a page size (libmthp cannot read this
 * table): x86-64's with 4K pages, arm64's with 16K and 64K.
 */
static void test_geometry_defaults_are_profiles(void **state)
{
	static const struct { uint32_t page; enum mthp_tlb_profile p; } cases[] = {
		{ 4096, X86 }, { 16384, MTHP_TLB_ARM64_16K }, { 65536, MTHP_TLB_ARM64_64K },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mthp_geometry geo;

		assert_int_equal(mthp_geometry_from_page_size(&geo, cases[i].page), 0);
		assert_int_equal(geo.cont_order, mthp_tlb_profile_info(cases[i].p)->cont_order);
	}
}

static void test_size_labels(void **state)
{
	char b[16];

	(void)state;
	mthp_tlb_size_label(4096, b, sizeof(b));
	assert_string_equal(b, "4K");
	mthp_tlb_size_label(16384, b, sizeof(b));
	assert_string_equal(b, "16K");
	mthp_tlb_size_label(2u << 20, b, sizeof(b));
	assert_string_equal(b, "2M");
	mthp_tlb_size_label(512u << 20, b, sizeof(b));
	assert_string_equal(b, "512M");
	mthp_tlb_size_label(1536 * 1024, b, sizeof(b));
	assert_string_equal(b, "1536K");
	mthp_tlb_size_label(100, b, sizeof(b));
	assert_string_equal(b, "100");
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_full_pmd_mapped),
	cmocka_unit_test(test_512_order0_pages),
	cmocka_unit_test(test_32_aligned_64k_folios),
	cmocka_unit_test(test_64k_folio_not_fully_mapped),
	cmocka_unit_test(test_64k_folio_with_swapped_page),
	cmocka_unit_test(test_unaligned_runs),
	cmocka_unit_test(test_zero_pages),
	cmocka_unit_test(test_zero_page_in_a_block_breaks_it),
	cmocka_unit_test(test_states_counted_and_not),
	cmocka_unit_test(test_every_folio_state_coalesces),
	cmocka_unit_test(test_mixed_orders_in_a_block),
	cmocka_unit_test(test_pte_mapped_2m_folio),
	cmocka_unit_test(test_folios_absent_means_order0),
	cmocka_unit_test(test_mixed_layout),
	cmocka_unit_test(test_empty_snapshot),
	cmocka_unit_test(test_arm64_64k),
	cmocka_unit_test(test_arm64_16k),
	cmocka_unit_test(test_geometry_rule),
	cmocka_unit_test(test_count_range_accumulates),
	cmocka_unit_test(test_count_range_errors),
	cmocka_unit_test(test_profile_names),
	cmocka_unit_test(test_profile_table),
	cmocka_unit_test(test_size_labels),
	cmocka_unit_test(test_geometry_defaults_are_profiles),
)
