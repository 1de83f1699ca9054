// SPDX-License-Identifier: MIT
/*
 * test_engine.c - the decision engine against plan-contract.md, one case
 * per function: the scan table in both contexts, eligibility and the
 * prechecks, the rules of the policies legacy, upstream and seed, the three
 * geometries and their knobs, the kernel selftest boundaries, and creep.
 *
 * Written from the contract, not from the engine.  A plan is compared as
 * one line (tests/helpers/table.h):
 *
 *     "SUCCEED C[0/4 16/4] A[0/9:EXCEED_NONE_PTE] F=15"
 *
 * scan result, collapses offset/order in walk order, failed attempts
 * offset/order:result in walk order, pages_filled.
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

#include <mthp/engine.h>
#include <mthp/result.h>
#include <mthp/settings.h>

#include "helpers/table.h"
#include "helpers/test_main.h"

#define KH MTHP_CONTEXT_KHUGEPAGED
#define MA MTHP_CONTEXT_MADVISE
#define LEGACY MTHP_POLICY_LEGACY
#define SEED MTHP_POLICY_SEED
#define UP MTHP_POLICY_UPSTREAM

#define ANON MTHP_VMA_ANON
#define HP (MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE)
#define UFFD (MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE | MTHP_VMA_UFFD)

static struct mthp_settings S;
static struct mt_table T;
static struct mthp_scan SC;

/* Settings of the geometry with n PTEs, then "knob=value" assignments. */
#define SET(n, ...) MT_SET(&S, (n), ##__VA_ARGS__)

#define PLAN(pol, ctx, flags) mt_plan_str(mt_plan(&S, (pol), (ctx), (flags), &T))
#define EXPECT(pol, ctx, flags, want) assert_string_equal(PLAN(pol, ctx, flags), (want))

/* Expected strings built in loops. */
#define BUF_CAP 65536
static char want[BUF_CAP];

static void want_reset(void)
{
	want[0] = '\0';
}

#define W(...) mt_strcat(want, BUF_CAP, __VA_ARGS__)

/* Scan T with the rules of policy/context/flags. */
static void scan_table(enum mthp_policy pol, enum mthp_context ctx, uint32_t flags)
{
	static struct mthp_rules r;

	mthp_rules_init(&r, &S, pol, ctx, flags);
	memset(&SC, 0xa5, sizeof(SC));
	mthp_scan(&SC, &r, T.ptes, T.folios);
}

static bool bit(const uint64_t *map, uint32_t i)
{
	return (map[i / 64] >> (i % 64)) & 1;
}

/* ------------------------------------------------------------------ */
/* Scan table: one PTE state among young pages, every policy, both contexts */

static void one_pte(char c, const char *kh, const char *ma)
{
	char s[2] = { c, '\0' };

	SET(512);
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 100, s);
	/* Default settings: PMD only, where all three policies agree. */
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		EXPECT((enum mthp_policy)p, KH, HP, kh);
		EXPECT((enum mthp_policy)p, MA, HP, ma);
	}
}

static void scan_none_pte_counts_as_none(void **state)
{
	(void)state;
	one_pte('.', "SUCCEED C[0/9] A[] F=1", "SUCCEED C[0/9] A[] F=1");
}

static void scan_zero_page_pte_counts_as_none(void **state)
{
	(void)state;
	one_pte('0', "SUCCEED C[0/9] A[] F=1", "SUCCEED C[0/9] A[] F=1");
}

static void scan_swap_pte_counts_as_unmapped(void **state)
{
	(void)state;
	/* Swapped in, not filled. */
	one_pte('w', "SUCCEED C[0/9] A[] F=0", "SUCCEED C[0/9] A[] F=0");
}

static void scan_uffd_wp_pte_fails_in_both_contexts(void **state)
{
	(void)state;
	one_pte('u', "PTE_UFFD_WP C[] A[] F=0", "PTE_UFFD_WP C[] A[] F=0");
}

static void scan_special_pte_gives_page_null(void **state)
{
	(void)state;
	one_pte('n', "PAGE_NULL C[] A[] F=0", "PAGE_NULL C[] A[] F=0");
}

static void scan_lazyfree_fails_in_khugepaged_only(void **state)
{
	(void)state;
	one_pte('l', "PAGE_LAZYFREE C[] A[] F=0", "SUCCEED C[0/9] A[] F=0");
}

static void scan_not_anon_page_gives_page_anon(void **state)
{
	(void)state;
	one_pte('f', "PAGE_ANON C[] A[] F=0", "PAGE_ANON C[] A[] F=0");
}

static void scan_shared_young_pte_is_occupied(void **state)
{
	(void)state;
	one_pte('S', "SUCCEED C[0/9] A[] F=0", "SUCCEED C[0/9] A[] F=0");
}

static void scan_shared_old_pte_is_occupied(void **state)
{
	(void)state;
	one_pte('s', "SUCCEED C[0/9] A[] F=0", "SUCCEED C[0/9] A[] F=0");
}

static void scan_young_pte_is_occupied(void **state)
{
	(void)state;
	one_pte('A', "SUCCEED C[0/9] A[] F=0", "SUCCEED C[0/9] A[] F=0");
}

static void scan_old_pte_is_occupied(void **state)
{
	(void)state;
	one_pte('a', "SUCCEED C[0/9] A[] F=0", "SUCCEED C[0/9] A[] F=0");
}

static void scan_not_lru_gives_page_lru(void **state)
{
	(void)state;
	one_pte('N', "PAGE_LRU C[] A[] F=0", "PAGE_LRU C[] A[] F=0");
}

static void scan_locked_gives_page_lock(void **state)
{
	(void)state;
	one_pte('K', "PAGE_LOCK C[] A[] F=0", "PAGE_LOCK C[] A[] F=0");
}

static void scan_pinned_gives_page_count(void **state)
{
	(void)state;
	one_pte('P', "PAGE_COUNT C[] A[] F=0", "PAGE_COUNT C[] A[] F=0");
}

/* The occupancy bitmap and the counters of mthp_scan(), state by state. */
static void scan_occupancy_bitmap_per_state(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 0, "AaSs.0w");
	scan_table(UP, KH, HP);
	assert_int_equal(SC.result, SCAN_SUCCEED);
	assert_int_equal(SC.fail_index, 512);
	for (uint32_t i = 0; i < 7; i++)
		assert_int_equal(bit(SC.occupied, i), i < 4);
	assert_int_equal(mthp_bitmap_count(SC.occupied, 0, 512), 512 - 3);
	assert_int_equal(SC.none_or_zero, 2);
	assert_int_equal(SC.unmapped, 1);
	assert_int_equal(SC.shared, 2);
	/* A and S are young; 'a' and 's' are not. */
	assert_int_equal(SC.referenced, 512 - 7 + 2);
}

static void scan_lazyfree_is_occupied_in_madvise_context(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 42, "l");
	scan_table(UP, MA, HP);
	assert_int_equal(SC.result, SCAN_SUCCEED);
	assert_true(bit(SC.occupied, 42));
	assert_int_equal(mthp_bitmap_count(SC.occupied, 0, 512), 512);
	scan_table(UP, KH, HP);
	assert_int_equal(SC.result, SCAN_PAGE_LAZYFREE);
	assert_int_equal(SC.fail_index, 42);
	/* examples/lazyfree: upstream, both contexts */
	EXPECT(UP, KH, HP, "PAGE_LAZYFREE C[] A[] F=0");
	EXPECT(UP, MA, HP, "SUCCEED C[0/9] A[] F=0");
	/* Only lazyfree and old pages: madvise has no referenced rule. */
	mt_table_init(&T, 512, 'l');
	EXPECT(UP, MA, HP, "SUCCEED C[0/9] A[] F=0");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=0");
	EXPECT(SEED, MA, HP, "SUCCEED C[0/9] A[] F=0");
}

/* ------------------------------------------------------------------ */
/* Scan limits: exactly the limit passes, one more fails */

static void scan_none_limit_exact_passes_one_more_fails(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=100");
	mt_table_init(&T, 512, 'A');
	mt_table_fill(&T, 200, 300, '.');
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=100");
	mt_table_put(&T, 300, "0");
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	scan_table(LEGACY, KH, HP);
	assert_int_equal(SC.fail_index, 300);
	assert_int_equal(SC.none_or_zero, 101);
	/* madvise: no limit */
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=101");
	mt_table_init(&T, 512, '.');
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=512");
}

static void scan_swap_limit_exact_passes_one_more_fails(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_swap=10");
	mt_table_init(&T, 512, 'A');
	mt_table_fill(&T, 0, 10, 'w');
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=0");
	mt_table_put(&T, 511, "w");
	EXPECT(LEGACY, KH, HP, "EXCEED_SWAP_PTE C[] A[] F=0");
	scan_table(LEGACY, KH, HP);
	assert_int_equal(SC.fail_index, 511);
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=0");
	/* madvise: 300 swap entries and no young page */
	mt_table_init(&T, 512, 'a');
	mt_table_fill(&T, 0, 300, 'w');
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=0");
}

static void scan_shared_limit_exact_passes_one_more_fails(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_shared=10");
	mt_table_init(&T, 512, 'A');
	mt_table_fill(&T, 0, 5, 'S');
	mt_table_fill(&T, 5, 10, 's');
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=0");
	mt_table_put(&T, 400, "s");
	EXPECT(LEGACY, KH, HP, "EXCEED_SHARED_PTE C[] A[] F=0");
	scan_table(LEGACY, KH, HP);
	assert_int_equal(SC.fail_index, 400);
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=0");
	mt_table_init(&T, 512, 's');
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=0");
}

static void scan_zero_limits_fail_on_first(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "khugepaged/max_ptes_swap=0",
	    "khugepaged/max_ptes_shared=0");
	mt_table_init(&T, 512, 'A');
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=0");
	mt_table_put(&T, 7, "0");
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	mt_table_put(&T, 7, "w");
	EXPECT(LEGACY, KH, HP, "EXCEED_SWAP_PTE C[] A[] F=0");
	mt_table_put(&T, 7, "S");
	EXPECT(LEGACY, KH, HP, "EXCEED_SHARED_PTE C[] A[] F=0");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=0");
}

/* ------------------------------------------------------------------ */
/* Scan: the first failure in address order decides */

static void scan_first_bad_pte_in_address_order_wins(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 10, "n");
	mt_table_put(&T, 20, "K");
	EXPECT(LEGACY, KH, HP, "PAGE_NULL C[] A[] F=0");
	EXPECT(LEGACY, MA, HP, "PAGE_NULL C[] A[] F=0");
	mt_table_put(&T, 10, "K");
	mt_table_put(&T, 20, "n");
	EXPECT(LEGACY, KH, HP, "PAGE_LOCK C[] A[] F=0");
	EXPECT(LEGACY, MA, HP, "PAGE_LOCK C[] A[] F=0");
	mt_table_put(&T, 5, "P");
	EXPECT(UP, KH, HP, "PAGE_COUNT C[] A[] F=0");
	mt_table_put(&T, 1, "l");
	EXPECT(UP, KH, HP, "PAGE_LAZYFREE C[] A[] F=0");
	/* madvise: the lazyfree page is occupied, the pinned one decides */
	EXPECT(UP, MA, HP, "PAGE_COUNT C[] A[] F=0");
}

static void scan_limit_crossing_before_bad_pte_wins(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=40");
	mt_table_init(&T, 512, 'A');
	mt_table_fill(&T, 10, 51, '.');		/* the 41st none is PTE 50 */
	mt_table_put(&T, 60, "K");
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	/* madvise: no limit, the locked page decides */
	EXPECT(LEGACY, MA, HP, "PAGE_LOCK C[] A[] F=0");
	mt_table_put(&T, 60, "A");
	mt_table_put(&T, 50, "K");
	EXPECT(LEGACY, KH, HP, "PAGE_LOCK C[] A[] F=0");
}

static void scan_swap_and_none_limits_first_crossing_wins(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=2", "khugepaged/max_ptes_swap=2");
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 0, ".w.ww.");	/* third swap at PTE 4 */
	EXPECT(LEGACY, KH, HP, "EXCEED_SWAP_PTE C[] A[] F=0");
	scan_table(LEGACY, KH, HP);
	assert_int_equal(SC.fail_index, 4);
	mt_table_put(&T, 0, "..w.ww");	/* third none at PTE 3 */
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	scan_table(LEGACY, KH, HP);
	assert_int_equal(SC.fail_index, 3);
}

static void scan_bad_pte_comes_before_referenced_rule(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'a');
	mt_table_put(&T, 500, "K");
	EXPECT(LEGACY, KH, HP, "PAGE_LOCK C[] A[] F=0");
}

/*
 * The counters stop at the PTE that ended the scan, and its young bit is
 * not counted: Linux checks a PTE's limits and folio before its young bit
 * (seen in Linux 7.2's mm_khugepaged_scan_pmd: referenced=320 for 320
 * young pages, then a young shared one over max_ptes_shared).
 */
static void scan_young_pte_that_ends_scan_not_referenced(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_shared=1");
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 0, "AASSA");		/* the second S is over the limit */
	scan_table(UP, KH, HP);
	assert_int_equal(SC.result, SCAN_EXCEED_SHARED_PTE);
	assert_int_equal(SC.fail_index, 3);
	assert_int_equal(SC.shared, 2);
	assert_int_equal(SC.referenced, 3);	/* A, A and the first S */
	mt_table_put(&T, 0, "AAKAA");		/* a locked folio, young */
	scan_table(UP, KH, HP);
	assert_int_equal(SC.result, SCAN_PAGE_LOCK);
	assert_int_equal(SC.fail_index, 2);
	assert_int_equal(SC.referenced, 2);
}

/* ------------------------------------------------------------------ */
/* Scan: the referenced rule (khugepaged only) */

static void scan_referenced_zero_lacks_referenced(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'a');
	EXPECT(LEGACY, KH, HP, "LACK_REFERENCED_PAGE C[] A[] F=0");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=0");
	/* 's' is not young */
	mt_table_put(&T, 3, "s");
	EXPECT(LEGACY, KH, HP, "LACK_REFERENCED_PAGE C[] A[] F=0");
	/* 'S' is */
	mt_table_put(&T, 3, "S");
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=0");
}

static void scan_one_young_page_is_enough_without_swap(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'a');
	mt_table_put(&T, 0, "A");
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=0");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 511, "A");
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=511");
}

static void scan_swap_needs_half_the_table_young(void **state)
{
	(void)state;
	/* examples/lack-referenced: N/2 = 256 */
	SET(512);
	mt_table_init(&T, 512, 'a');
	mt_table_put(&T, 0, "w");
	mt_table_fill(&T, 1, 256, 'A');		/* 255 young */
	EXPECT(LEGACY, KH, HP, "LACK_REFERENCED_PAGE C[] A[] F=0");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=0");
	mt_table_put(&T, 256, "S");		/* 256 young */
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=0");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=0");
}

static void scan_referenced_half_scales_with_geometry(void **state)
{
	(void)state;
	/* N = 2048: a swap entry needs 1024 young pages */
	SET(2048);
	mt_table_init(&T, 2048, 'a');
	mt_table_put(&T, 2047, "w");
	mt_table_fill(&T, 0, 1023, 'A');
	EXPECT(LEGACY, KH, HP, "LACK_REFERENCED_PAGE C[] A[] F=0");
	mt_table_put(&T, 1023, "A");
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/11] A[] F=0");
}

/* ------------------------------------------------------------------ */
/* Eligible orders of a VMA */

static uint32_t orders_mask(unsigned lo, unsigned hi)
{
	uint32_t m = 0;

	for (unsigned o = lo; o <= hi; o++)
		m |= 1u << o;
	return m;
}

static void allowed_orders_always_size_ignores_hugepage(void **state)
{
	(void)state;
	SET(512, "enabled=never", "hugepages-64kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	assert_int_equal(mthp_vma_allowed_orders(&S, ANON), 1u << 4);
	assert_int_equal(mthp_vma_allowed_orders(&S, HP), 1u << 4);
}

static void allowed_orders_madvise_size_needs_hugepage(void **state)
{
	(void)state;
	SET(512, "enabled=always", "hugepages-32kB/enabled=madvise",
	    "hugepages-2048kB/enabled=never");
	assert_int_equal(mthp_vma_allowed_orders(&S, ANON), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, HP), 1u << 3);
}

static void allowed_orders_inherit_follows_global(void **state)
{
	(void)state;
	SET(512, "enabled=always", "hugepages-16kB/enabled=inherit");
	assert_int_equal(mthp_vma_allowed_orders(&S, ANON), (1u << 2) | (1u << 9));
	assert_int_equal(mthp_vma_allowed_orders(&S, HP), (1u << 2) | (1u << 9));
	SET(512, "enabled=madvise", "hugepages-16kB/enabled=inherit");
	assert_int_equal(mthp_vma_allowed_orders(&S, ANON), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, HP), (1u << 2) | (1u << 9));
	SET(512, "enabled=never", "hugepages-16kB/enabled=inherit");
	assert_int_equal(mthp_vma_allowed_orders(&S, ANON), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, HP), 0);
}

static void allowed_orders_never_size_is_never_allowed(void **state)
{
	(void)state;
	SET(512, "enabled=always", "hugepages-2048kB/enabled=never");
	assert_int_equal(mthp_vma_allowed_orders(&S, HP), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, ANON), 0);
}

static void allowed_orders_default_is_pmd_with_hugepage(void **state)
{
	(void)state;
	static const uint32_t ns[] = { 512, 2048, 8192 };

	for (unsigned i = 0; i < 3; i++) {
		SET(ns[i]);
		assert_int_equal(mthp_vma_allowed_orders(&S, HP), 1u << mt_log2(ns[i]));
		assert_int_equal(mthp_vma_allowed_orders(&S, ANON), 0);
	}
}

static void allowed_orders_only_2_to_pmd(void **state)
{
	(void)state;
	static const uint32_t ns[] = { 512, 2048, 8192 };

	for (unsigned i = 0; i < 3; i++) {
		unsigned pmd = mt_log2(ns[i]);

		SET(ns[i], "enabled=always");
		for (unsigned o = 2; o <= pmd; o++) {
			char name[64];

			mthp_size_name(&S.geo, o, name, sizeof(name));
			strcat(name, "/enabled");
			assert_int_equal(mthp_settings_set(&S, name, "always", NULL, 0), 0);
		}
		assert_int_equal(mthp_vma_allowed_orders(&S, ANON), orders_mask(2, pmd));
		assert_int_equal(mthp_vma_allowed_orders(&S, HP), orders_mask(2, pmd));
	}
}

static void allowed_orders_none_for_nohugepage_noanonvma_not_anon(void **state)
{
	(void)state;
	SET(512, "enabled=always", "hugepages-16kB/enabled=always",
	    "hugepages-64kB/enabled=madvise", "hugepages-2048kB/enabled=always");
	assert_int_equal(mthp_vma_allowed_orders(&S, HP), (1u << 2) | (1u << 4) | (1u << 9));
	assert_int_equal(mthp_vma_allowed_orders(&S, HP | MTHP_VMA_NOHUGEPAGE), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, ANON | MTHP_VMA_NOHUGEPAGE), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, HP | MTHP_VMA_NOANONVMA), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, MTHP_VMA_FILE), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, MTHP_VMA_FILE | MTHP_VMA_HUGEPAGE), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, MTHP_VMA_SHARED | MTHP_VMA_HUGEPAGE), 0);
	assert_int_equal(mthp_vma_allowed_orders(&S, 0), 0);
	/* uffd does not change eligibility */
	assert_int_equal(mthp_vma_allowed_orders(&S, UFFD), (1u << 2) | (1u << 4) | (1u << 9));
}

/* ------------------------------------------------------------------ */
/* Prechecks, in the contract's order */

static const struct mthp_pmd_plan *plan_kind(enum mthp_policy pol, enum mthp_context ctx,
					     uint32_t flags, enum mthp_pmd_kind kind,
					     int64_t start_delta, int64_t end_delta)
{
	uint64_t size = mthp_pmd_size(&S.geo);
	struct mthp_range range = {
		.pmd_addr = MT_PMD_ADDR,
		.vma_start = (uint64_t)((int64_t)MT_PMD_ADDR + start_delta),
		.vma_end = (uint64_t)((int64_t)(MT_PMD_ADDR + size) + end_delta),
		.kind = kind,
		.ptes = kind == MTHP_PMD_TABLE ? T.ptes : NULL,
		.folio_orders = kind == MTHP_PMD_TABLE ? T.folios : NULL,
	};
	static struct mthp_rules r;

	mthp_rules_init(&r, &S, pol, ctx, flags);
	if (kind != MTHP_PMD_TABLE || start_delta > 0 || end_delta < 0 ||
	    !(flags & MTHP_VMA_ANON) || (flags & (MTHP_VMA_NOHUGEPAGE | MTHP_VMA_NOANONVMA)))
		assert_int_not_equal(mthp_precheck(&r, &range), SCAN_SUCCEED);
	return mt_plan_range(&S, pol, ctx, flags, &range);
}

#define EXPECT_KIND(pol, ctx, flags, kind, sd, ed, want_)		\
	assert_string_equal(mt_plan_str(plan_kind(pol, ctx, flags, kind, sd, ed)), want_)

static void precheck_vma_check_comes_first(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'A');
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		enum mthp_policy pol = (enum mthp_policy)p;

		EXPECT_KIND(pol, KH, HP | MTHP_VMA_NOHUGEPAGE, MTHP_PMD_NONE, 4096, -4096,
			    "VMA_CHECK C[] A[] F=0");
		EXPECT_KIND(pol, MA, HP | MTHP_VMA_NOANONVMA, MTHP_PMD_HUGE, 0, -4096,
			    "VMA_CHECK C[] A[] F=0");
		/* examples/vma-check: noanonvma without a table */
		EXPECT_KIND(pol, KH, HP | MTHP_VMA_NOANONVMA, MTHP_PMD_NONE, 0, 0,
			    "VMA_CHECK C[] A[] F=0");
		/* khugepaged: not allowed by the settings */
		EXPECT_KIND(pol, KH, ANON, MTHP_PMD_NONE, 0, -4096, "VMA_CHECK C[] A[] F=0");
	}
}

static void precheck_address_range_before_pte_table(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'A');
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		enum mthp_policy pol = (enum mthp_policy)p;

		for (int c = 0; c < 2; c++) {
			enum mthp_context ctx = c ? MA : KH;

			EXPECT_KIND(pol, ctx, HP, MTHP_PMD_NONE, 0, -4096,
				    "ADDRESS_RANGE C[] A[] F=0");
			EXPECT_KIND(pol, ctx, HP, MTHP_PMD_HUGE, 4096, 0,
				    "ADDRESS_RANGE C[] A[] F=0");
			EXPECT_KIND(pol, ctx, HP, MTHP_PMD_TABLE, 0, -4096,
				    "ADDRESS_RANGE C[] A[] F=0");
			/* examples/address-range: the VMA ends one page into the range */
			EXPECT_KIND(pol, ctx, HP, MTHP_PMD_TABLE,
				    -(int64_t)mthp_pmd_size(&S.geo),
				    4096 - (int64_t)mthp_pmd_size(&S.geo),
				    "ADDRESS_RANGE C[] A[] F=0");
		}
	}
}

static void precheck_no_pte_table_before_pmd_mapped(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'A');
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		enum mthp_policy pol = (enum mthp_policy)p;

		for (int c = 0; c < 2; c++) {
			enum mthp_context ctx = c ? MA : KH;

			EXPECT_KIND(pol, ctx, HP, MTHP_PMD_NONE, 0, 0, "NO_PTE_TABLE C[] A[] F=0");
			EXPECT_KIND(pol, ctx, HP, MTHP_PMD_HUGE, 0, 0, "PMD_MAPPED C[] A[] F=0");
			/* a VMA larger than the range is fine */
			EXPECT_KIND(pol, ctx, HP, MTHP_PMD_TABLE, -4096, 8192,
				    "SUCCEED C[0/9] A[] F=0");
		}
	}
}

static void precheck_api_returns_succeed_for_a_table(void **state)
{
	(void)state;
	static struct mthp_rules r;
	struct mthp_range range = {
		.pmd_addr = MT_PMD_ADDR, .vma_start = MT_PMD_ADDR,
		.vma_end = MT_PMD_ADDR + (2u << 20), .kind = MTHP_PMD_TABLE,
		.ptes = T.ptes, .folio_orders = NULL,
	};

	SET(512);
	mt_table_init(&T, 512, 'A');
	mthp_rules_init(&r, &S, UP, KH, HP);
	assert_true(r.eligible);
	assert_int_equal(mthp_precheck(&r, &range), SCAN_SUCCEED);
	range.kind = MTHP_PMD_NONE;
	assert_int_equal(mthp_precheck(&r, &range), SCAN_NO_PTE_TABLE);
	range.kind = MTHP_PMD_HUGE;
	assert_int_equal(mthp_precheck(&r, &range), SCAN_PMD_MAPPED);
	range.vma_end -= 4096;
	assert_int_equal(mthp_precheck(&r, &range), SCAN_ADDRESS_RANGE);
	mthp_rules_init(&r, &S, UP, KH, ANON);
	assert_false(r.eligible);
	assert_int_equal(mthp_precheck(&r, &range), SCAN_VMA_CHECK);
	/* the plan carries the range's address, planned or not */
	assert_int_equal(mt_plan_range(&S, UP, KH, ANON, &range)->pmd_addr, MT_PMD_ADDR);
	/* folio_orders NULL: every page order 0 */
	range.kind = MTHP_PMD_TABLE;
	range.vma_end += 4096;
	assert_string_equal(mt_plan_str(mt_plan_range(&S, UP, KH, HP, &range)),
			    "SUCCEED C[0/9] A[] F=0");
	assert_int_equal(mt_plan_range(&S, UP, KH, HP, &range)->pmd_addr, MT_PMD_ADDR);
}

static void madvise_context_ignores_sysfs(void **state)
{
	(void)state;
	/* examples/madvise-all-none */
	SET(512, "enabled=never", "hugepages-2048kB/enabled=never",
	    "khugepaged/max_ptes_none=0");
	mt_table_init(&T, 512, '.');
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		EXPECT((enum mthp_policy)p, MA, ANON, "SUCCEED C[0/9] A[] F=512");
		EXPECT((enum mthp_policy)p, KH, ANON, "VMA_CHECK C[] A[] F=0");
		EXPECT((enum mthp_policy)p, KH, HP, "VMA_CHECK C[] A[] F=0");
	}
	/* the limits are ignored too */
	SET(512, "khugepaged/max_ptes_swap=0", "khugepaged/max_ptes_shared=0");
	mt_table_init(&T, 512, 's');
	mt_table_fill(&T, 0, 100, 'w');
	for (int p = 0; p < MTHP_NR_POLICIES; p++)
		EXPECT((enum mthp_policy)p, MA, ANON, "SUCCEED C[0/9] A[] F=0");
}

static void madvise_context_refuses_nohugepage_noanonvma_not_anon(void **state)
{
	(void)state;
	SET(512, "enabled=always");
	mt_table_init(&T, 512, 'A');
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		enum mthp_policy pol = (enum mthp_policy)p;

		EXPECT(pol, MA, ANON | MTHP_VMA_NOHUGEPAGE, "VMA_CHECK C[] A[] F=0");
		EXPECT(pol, MA, HP | MTHP_VMA_NOANONVMA, "VMA_CHECK C[] A[] F=0");
		EXPECT(pol, MA, MTHP_VMA_FILE, "VMA_CHECK C[] A[] F=0");
		EXPECT(pol, MA, MTHP_VMA_FILE | MTHP_VMA_SHARED, "VMA_CHECK C[] A[] F=0");
		EXPECT(pol, MA, ANON, "SUCCEED C[0/9] A[] F=0");
	}
}

static void legacy_and_seed_need_the_pmd_order(void **state)
{
	(void)state;
	SET(512, "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, 'A');
	EXPECT(LEGACY, KH, HP, "VMA_CHECK C[] A[] F=0");
	EXPECT(SEED, KH, HP, "VMA_CHECK C[] A[] F=0");
	mt_table_fill(&T, 16, 512, '.');
	EXPECT(UP, KH, HP, "SUCCEED C[0/4] A[] F=0");
	EXPECT(UP, KH, ANON, "SUCCEED C[0/4] A[] F=0");
	/* madvise context still collapses the PMD order */
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=496");
	EXPECT(SEED, MA, HP, "SUCCEED C[0/9] A[] F=496");
	EXPECT(UP, MA, HP, "SUCCEED C[0/9] A[] F=496");
}

static void rules_record_eligibility_and_pmd_only(void **state)
{
	(void)state;
	static struct mthp_rules r;

	SET(512, "hugepages-64kB/enabled=always");
	mthp_rules_init(&r, &S, UP, KH, HP);
	assert_true(r.eligible);
	assert_false(r.pmd_only);
	assert_int_equal(r.nr_ptes, 512);
	assert_int_equal(r.pmd_order, 9);
	assert_int_equal(r.orders, (1u << 4) | (1u << 9));
	mthp_rules_init(&r, &S, UP, MA, HP);
	assert_true(r.eligible);
	assert_int_equal(r.orders, 1u << 9);
	assert_true(r.pmd_only);
	mthp_rules_init(&r, &S, LEGACY, KH, HP);
	assert_int_equal(r.orders, 1u << 9);
	assert_true(r.pmd_only);
	mthp_rules_init(&r, &S, SEED, KH, HP);
	assert_int_equal(r.orders, (1u << 4) | (1u << 9));
	assert_false(r.pmd_only);
	mthp_rules_init(&r, &S, UP, KH, HP | MTHP_VMA_NOHUGEPAGE);
	assert_false(r.eligible);
	mthp_rules_init(&r, &S, SEED, KH, UFFD);
	assert_true(r.uffd);
}

/* ------------------------------------------------------------------ */
/* Policy legacy */

static void legacy_collapses_whole_range_at_pmd_order(void **state)
{
	(void)state;
	SET(512, "hugepages-64kB/enabled=always", "hugepages-16kB/enabled=always",
	    "khugepaged/max_ptes_none=0");
	mt_table_init(&T, 512, 'A');
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=0");
	/* smaller orders are never considered */
	mt_table_fill(&T, 16, 512, '.');
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=496");
	/* no attempt can fail: no referenced rule per window */
	SET(512);
	mt_table_init(&T, 512, 'a');
	mt_table_put(&T, 511, "A");
	mt_table_fill(&T, 0, 64, 'w');
	mt_table_fill(&T, 64, 320, 'S');
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=0");
}

/* ------------------------------------------------------------------ */
/* Policy upstream */

/* examples/upstream-511-one-page */
static void upstream_max_none_511_is_2_pow_o_minus_1(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=511", "hugepages-16kB/enabled=always",
	    "hugepages-32kB/enabled=always", "hugepages-64kB/enabled=always",
	    "hugepages-128kB/enabled=always", "hugepages-256kB/enabled=always",
	    "hugepages-512kB/enabled=always", "hugepages-1024kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 300, "A");
	EXPECT(UP, KH, HP, "SUCCEED C[256/8] A[] F=255");
	EXPECT(LEGACY, KH, HP, "VMA_CHECK C[] A[] F=0");
	/* with only 16K: the one page makes one order-2 collapse */
	SET(512, "hugepages-16kB/enabled=always", "hugepages-2048kB/enabled=never");
	EXPECT(UP, KH, HP, "SUCCEED C[300/2] A[] F=3");
}

/* examples/upstream-none0-64k */
static void upstream_max_none_0_needs_full_windows(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	EXPECT(UP, KH, HP, "SUCCEED C[0/4] A[] F=0");
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	mt_table_put(&T, 3, "0");
	EXPECT(UP, KH, HP, "SUCCEED C[] A[] F=0");
	mt_table_put(&T, 3, "a");
	mt_table_put(&T, 9, "w");
	EXPECT(UP, KH, HP, "LACK_REFERENCED_PAGE C[] A[] F=0");
}

/* examples/upstream-none256-below-pmd, and other values near 0 and 511 */
static void upstream_other_max_none_acts_as_0_below_pmd(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=256", "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 32, 'A');
	mt_table_put(&T, 5, ".");
	EXPECT(UP, KH, HP, "SUCCEED C[16/4] A[] F=0");
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 256, 'A');
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=256");
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=256");

	/* 510 and 1 act as 0 below PMD; 511 does not */
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 15, 'A');
	SET(512, "khugepaged/max_ptes_none=510", "hugepages-64kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	EXPECT(UP, KH, HP, "SUCCEED C[] A[] F=0");
	SET(512, "khugepaged/max_ptes_none=1", "hugepages-64kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	EXPECT(UP, KH, HP, "SUCCEED C[] A[] F=0");
	SET(512, "khugepaged/max_ptes_none=511", "hugepages-64kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	EXPECT(UP, KH, HP, "SUCCEED C[0/4] A[] F=1");
}

static void upstream_pmd_count_threshold_is_exact(void **state)
{
	(void)state;
	/* PMD order: count >= N - max_ptes_none = 212 */
	SET(512, "khugepaged/max_ptes_none=300", "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 212, 'A');
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=300");
	mt_table_put(&T, 211, ".");
	/* the PMD fails the count test; full 64K windows only below it */
	want_reset();
	W("SUCCEED C[");
	for (uint32_t off = 0; off <= 192; off += 16)
		W("%s%u/4", off ? " " : "", off);
	W("] A[] F=0");
	EXPECT(UP, KH, HP, want);
}

/* examples/upstream-pmd-swap */
static void upstream_swap_entries_count_at_pmd_order(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 9, "w");
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=0");
	mt_table_put(&T, 9, ".");
	want_reset();
	W("SUCCEED C[");
	for (uint32_t off = 16; off < 512; off += 16)
		W("%s%u/4", off > 16 ? " " : "", off);
	W("] A[] F=0");
	EXPECT(UP, KH, HP, want);
}

static void upstream_swap_entries_do_not_count_below_pmd(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 300, 'A');
	mt_table_put(&T, 9, "w");
	/* [0,16) fails the count test (15 occupied): not an attempt */
	want_reset();
	W("SUCCEED C[");
	for (uint32_t off = 16; off <= 272; off += 16)
		W("%s%u/4", off > 16 ? " " : "", off);
	W("] A[] F=0");
	EXPECT(UP, KH, HP, want);
}

/* examples/upstream-swap-in-64k */
static void upstream_swap_below_pmd_fails_attempt(void **state)
{
	(void)state;
	SET(512, "hugepages-16kB/enabled=always", "hugepages-32kB/enabled=always",
	    "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 5, "w");
	want_reset();
	W("SUCCEED C[0/2 8/3");
	for (uint32_t off = 16; off < 512; off += 16)
		W(" %u/4", off);
	W("] A[0/4:EXCEED_SWAP_PTE 0/3:EXCEED_SWAP_PTE 4/2:EXCEED_SWAP_PTE] F=0");
	EXPECT(UP, KH, HP, want);
}

/* examples/uffd-upstream-mthp */
static void upstream_uffd_none_limit_applies_at_attempt(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=511", "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	/*
	 * The PMD attempt isolates pages 0..15 before the first none PTE
	 * fails it; they wait in the LRU add batch, so 0/4 fails on their
	 * references in this pass (and collapses in the next).
	 */
	EXPECT(UP, KH, UFFD, "SUCCEED C[] A[0/9:EXCEED_NONE_PTE 0/4:PAGE_COUNT] F=0");
	EXPECT(LEGACY, KH, UFFD, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(SEED, KH, UFFD, "EXCEED_NONE_PTE C[] A[] F=0");
	/* without uffd the PMD collapses */
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=496");
	mt_table_fill(&T, 16, 32, 'A');
	mt_table_put(&T, 15, ".");
	EXPECT(UP, KH, UFFD,
	       "SUCCEED C[16/4] A[0/9:EXCEED_NONE_PTE 0/4:PAGE_COUNT] F=0");
}

static void upstream_uffd_keeps_scan_limit_0_when_pmd_only(void **state)
{
	(void)state;
	SET(512);
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 100, "0");
	EXPECT(UP, KH, UFFD, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(UP, MA, UFFD, "EXCEED_NONE_PTE C[] A[] F=0");
	/* madvise never raises it, even with smaller orders allowed */
	SET(512, "hugepages-64kB/enabled=always");
	EXPECT(UP, MA, UFFD, "EXCEED_NONE_PTE C[] A[] F=0");
	mt_table_put(&T, 100, "A");
	EXPECT(UP, KH, UFFD, "SUCCEED C[0/9] A[] F=0");
	EXPECT(UP, MA, UFFD, "SUCCEED C[0/9] A[] F=0");
}

static void upstream_scan_none_limit_raised_below_pmd(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 0, "A");
	EXPECT(UP, KH, HP, "SUCCEED C[] A[] F=0");
	/* raised to N-1, not beyond: an empty table still fails the scan */
	mt_table_init(&T, 512, '.');
	EXPECT(UP, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	/* PMD only: max_ptes_none itself */
	SET(512, "khugepaged/max_ptes_none=0");
	mt_table_put(&T, 0, "A");
	EXPECT(UP, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	/* the swap and shared limits are not raised */
	SET(512, "hugepages-64kB/enabled=always", "khugepaged/max_ptes_shared=3");
	mt_table_init(&T, 512, 'A');
	mt_table_fill(&T, 0, 4, 'S');
	EXPECT(UP, KH, HP, "EXCEED_SHARED_PTE C[] A[] F=0");
}

/* examples/upstream-shared-and-large-folio, range 2 */
static void upstream_shared_limit_0_below_pmd(void **state)
{
	(void)state;
	SET(512, "hugepages-16kB/enabled=always", "hugepages-32kB/enabled=always",
	    "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never",
	    "khugepaged/max_ptes_shared=511");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	mt_table_put(&T, 0, "S");
	mt_table_folio(&T, 1, 2, 5);
	EXPECT(UP, KH, HP, "SUCCEED C[4/2 8/3] A[0/4:EXCEED_SHARED_PTE "
	       "0/3:EXCEED_SHARED_PTE 0/2:EXCEED_SHARED_PTE] F=0");
}

static void upstream_pmd_shared_limit_is_max_ptes_shared(void **state)
{
	(void)state;
	SET(512, "hugepages-64kB/enabled=always", "khugepaged/max_ptes_shared=20");
	mt_table_init(&T, 512, 'A');
	mt_table_fill(&T, 100, 120, 's');
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=0");
	EXPECT(UP, MA, HP, "SUCCEED C[0/9] A[] F=0");
}

/* examples/upstream-shared-and-large-folio, range 1 */
static void upstream_large_folio_vetoes_its_order_and_below(void **state)
{
	(void)state;
	SET(512, "hugepages-16kB/enabled=always", "hugepages-32kB/enabled=always",
	    "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	mt_table_put(&T, 1, "S");
	mt_table_folio(&T, 0, 1, 5);
	EXPECT(UP, KH, HP, "SUCCEED C[] A[0/4:PTE_MAPPED_HUGEPAGE] F=0");
}

static void upstream_shared_check_before_folio_check_on_one_pte(void **state)
{
	(void)state;
	SET(512, "hugepages-16kB/enabled=always", "hugepages-32kB/enabled=always",
	    "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	mt_table_put(&T, 2, "S");
	mt_table_folio(&T, 2, 3, 6);	/* the shared PTE maps an order-6 folio */
	/* 0/4 put pages 0 and 1 back in the LRU add batch: 0/3 fails on them */
	EXPECT(UP, KH, HP, "SUCCEED C[4/2 8/3] A[0/4:EXCEED_SHARED_PTE "
	       "0/3:PAGE_COUNT 0/2:PAGE_COUNT] F=0");
}

/* examples/upstream-existing-64k-folio */
static void upstream_mapped_hugepage_advances_past_window(void **state)
{
	(void)state;
	SET(512, "hugepages-16kB/enabled=always", "hugepages-64kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 64, 'A');
	mt_table_folio(&T, 32, 48, 4);
	EXPECT(UP, KH, HP, "SUCCEED C[0/4 16/4 48/4] A[32/4:PTE_MAPPED_HUGEPAGE] F=0");
}

static void upstream_folio_order_below_window_order_is_no_veto(void **state)
{
	(void)state;
	SET(512, "hugepages-16kB/enabled=always", "hugepages-64kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	mt_table_folio(&T, 0, 8, 3);
	EXPECT(UP, KH, HP, "SUCCEED C[0/4] A[] F=0");
	/* an order-2 folio vetoes the order-2 window that holds it */
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-16kB/enabled=always",
	    "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 8, 'A');
	mt_table_folio(&T, 4, 8, 2);
	EXPECT(UP, KH, HP, "SUCCEED C[0/2] A[4/2:PTE_MAPPED_HUGEPAGE] F=0");
}

static void upstream_pmd_order_has_no_folio_veto(void **state)
{
	(void)state;
	SET(512, "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, 'A');
	mt_table_folio(&T, 0, 512, 9);		/* a PTE-mapped THP */
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=0");
	mt_table_folio(&T, 0, 512, 4);
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=0");
}

static void upstream_lack_referenced_is_per_window(void **state)
{
	(void)state;
	SET(512, "hugepages-16kB/enabled=always", "hugepages-64kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'a');
	mt_table_fill(&T, 16, 32, 'A');
	/* the young check comes after isolation: 0/4's 16 pages wait in the batch */
	EXPECT(UP, KH, HP, "SUCCEED C[16/4] A[0/4:LACK_REFERENCED_PAGE "
	       "0/2:PAGE_COUNT 4/2:PAGE_COUNT 8/2:PAGE_COUNT 12/2:PAGE_COUNT] F=0");
	/* madvise: no referenced rule, PMD only */
	EXPECT(UP, MA, HP, "SUCCEED C[0/9] A[] F=480");
}

static void upstream_walk_lowers_then_advances_by_alignment(void **state)
{
	(void)state;
	SET(512, "hugepages-32kB/enabled=always", "hugepages-128kB/enabled=always",
	    "hugepages-2048kB/enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 4, "a");
	mt_table_put(&T, 40, "A");
	EXPECT(UP, KH, HP, "SUCCEED C[32/5] A[0/5:LACK_REFERENCED_PAGE "
	       "0/3:PAGE_COUNT] F=31");
}

static void upstream_mthp_only_without_pmd_size(void **state)
{
	(void)state;
	SET(512, "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never",
	    "enabled=never");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	mt_table_fill(&T, 100, 140, 'A');
	EXPECT(UP, KH, ANON, "SUCCEED C[0/4 96/4 112/4 128/4] A[] F=8");
	EXPECT(LEGACY, KH, ANON, "VMA_CHECK C[] A[] F=0");
	EXPECT(SEED, KH, ANON, "VMA_CHECK C[] A[] F=0");
}

static void upstream_madvise_tries_only_pmd(void **state)
{
	(void)state;
	SET(512, "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never",
	    "khugepaged/max_ptes_none=0");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	EXPECT(UP, KH, HP, "SUCCEED C[0/4] A[] F=0");
	EXPECT(UP, MA, HP, "SUCCEED C[0/9] A[] F=496");
	/* swap, shared and large folios do not stop the PMD window */
	mt_table_put(&T, 20, "wsS");
	mt_table_folio(&T, 0, 16, 4);
	EXPECT(UP, MA, HP, "SUCCEED C[0/9] A[] F=493");
}

/* Every result has a whole row in the result table, and its name parses back. */
static void result_table_rows_are_filled(void **state)
{
	(void)state;
	for (int i = 0; i < MTHP_NR_RESULTS; i++) {
		enum mthp_result r = (enum mthp_result)i, back;
		const struct mthp_result_class *c = mthp_result_class(r);
		int e = c->madvise_errno;

		if (!c->name || strncmp(c->name, "SCAN_", 5) || !c->status || !*c->status)
			fail_msg("result %d: name or status missing", i);
		if (c->walk < MTHP_WALK_ADVANCE || c->walk > MTHP_WALK_STOP)
			fail_msg("%s: walk action %d unfilled", c->name, (int)c->walk);
		if (c->madvise_range < MTHP_MADVISE_DONE || c->madvise_range > MTHP_MADVISE_STOP)
			fail_msg("%s: MADV_COLLAPSE step %d unfilled", c->name,
				 (int)c->madvise_range);
		if (e != -ENOMEM && e != -EBUSY && e != -EAGAIN && e != -EINVAL)
			fail_msg("%s: MADV_COLLAPSE errno %d unfilled", c->name, e);
		assert_int_equal(mthp_result_parse(c->name, &back), 0);
		assert_int_equal(back, r);
	}
	assert_string_equal(mthp_result_class((enum mthp_result)MTHP_NR_RESULTS)->name,
			    "SCAN_?");
}

/* The upstream walk's answer to each attempt result, as the contract lists it. */
static void walk_action_matches_contract(void **state)
{
	(void)state;
	for (int i = 0; i < MTHP_NR_RESULTS; i++) {
		enum mthp_result r = (enum mthp_result)i;
		enum mthp_walk_action want_action;

		switch (r) {
		case SCAN_SUCCEED:
		case SCAN_PTE_MAPPED_HUGEPAGE:
			want_action = MTHP_WALK_ADVANCE;
			break;
		case SCAN_EXCEED_NONE_PTE:
		case SCAN_EXCEED_SWAP_PTE:
		case SCAN_EXCEED_SHARED_PTE:
		case SCAN_LACK_REFERENCED_PAGE:
		case SCAN_ALLOC_HUGE_PAGE_FAIL:
		case SCAN_PAGE_LOCK:
		case SCAN_PAGE_COUNT:
		case SCAN_PAGE_NULL:
		case SCAN_DEL_PAGE_LRU:
		case SCAN_PTE_NON_PRESENT:
		case SCAN_PTE_UFFD_WP:
		case SCAN_PAGE_LAZYFREE:
			want_action = MTHP_WALK_LOWER;
			break;
		default:
			want_action = MTHP_WALK_STOP;
			break;
		}
		if (mthp_walk_action(r) != want_action)
			fail_msg("mthp_walk_action(%s) = %d, want %d", mthp_result_name(r),
				 (int)mthp_walk_action(r), (int)want_action);
	}
}

/* Drive the walk API by hand, as the simulator does. */
static struct mthp_rules WR;
static struct mthp_walk WK;

static void walk_start(enum mthp_policy pol)
{
	mthp_rules_init(&WR, &S, pol, KH, HP);
	mthp_scan(&SC, &WR, T.ptes, T.folios);
	assert_int_equal(SC.result, SCAN_SUCCEED);
	mthp_walk_init(&WK, &WR, &SC);
}

static void walk_expect(uint32_t off, unsigned order)
{
	struct mthp_window win;

	assert_true(mthp_walk_next(&WK, &win));
	assert_int_equal(win.offset, off);
	assert_int_equal(win.order, order);
}

static void walk_expect_end(void)
{
	struct mthp_window win;

	assert_false(mthp_walk_next(&WK, &win));
}

static void walk_upstream_lowers_advances_and_stops(void **state)
{
	(void)state;
	SET(512, "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	mt_table_fill(&T, 32, 48, 'A');
	/* an allocation failure lowers */
	walk_start(UP);
	walk_expect(0, 9);
	mthp_walk_report(&WK, SCAN_ALLOC_HUGE_PAGE_FAIL);
	walk_expect(0, 4);
	mthp_walk_report(&WK, SCAN_SUCCEED);
	walk_expect(32, 4);
	mthp_walk_report(&WK, SCAN_PAGE_LOCK);
	walk_expect_end();
	/* a result outside the lists stops the walk for the range */
	walk_start(UP);
	walk_expect(0, 9);
	mthp_walk_report(&WK, SCAN_CGROUP_CHARGE_FAIL);
	walk_expect_end();
	walk_start(UP);
	walk_expect(0, 9);
	mthp_walk_report(&WK, SCAN_EXCEED_NONE_PTE);
	walk_expect(0, 4);
	mthp_walk_report(&WK, SCAN_COPY_MC);
	walk_expect_end();
	/* PTE_MAPPED_HUGEPAGE advances past the window */
	walk_start(UP);
	walk_expect(0, 9);
	mthp_walk_report(&WK, SCAN_PTE_MAPPED_HUGEPAGE);
	walk_expect_end();
}

static void walk_seed_splits_after_any_failure(void **state)
{
	(void)state;
	SET(512, "hugepages-16kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 8, 'A');
	walk_start(SEED);
	walk_expect(0, 9);
	mthp_walk_report(&WK, SCAN_CGROUP_CHARGE_FAIL);
	walk_expect(0, 2);
	mthp_walk_report(&WK, SCAN_SUCCEED);
	walk_expect(4, 2);
	mthp_walk_report(&WK, SCAN_ALLOC_HUGE_PAGE_FAIL);
	walk_expect_end();
	/* legacy: one window, whatever happens to it */
	walk_start(LEGACY);
	walk_expect(0, 9);
	mthp_walk_report(&WK, SCAN_EXCEED_NONE_PTE);
	walk_expect_end();
}

/* ------------------------------------------------------------------ */
/* Policy seed */

static void seed_no_scan_none_limit_when_not_pmd_only(void **state)
{
	(void)state;
	/* examples/empty-table */
	SET(512, "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	EXPECT(SEED, KH, HP, "LACK_REFERENCED_PAGE C[] A[] F=0");
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(UP, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	/* max_ptes_none 0: the scan still passes */
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-16kB/enabled=madvise");
	mt_table_put(&T, 0, "A");
	EXPECT(SEED, KH, HP, "SUCCEED C[] A[] F=0");
	/* PMD only keeps max_ptes_none */
	SET(512, "khugepaged/max_ptes_none=0");
	EXPECT(SEED, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	SET(512);
	mt_table_init(&T, 512, '.');
	EXPECT(SEED, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
}

static void seed_uffd_keeps_none_limit_0(void **state)
{
	(void)state;
	SET(512, "hugepages-16kB/enabled=madvise");
	mt_table_init(&T, 512, 'A');
	mt_table_put(&T, 77, ".");
	EXPECT(SEED, KH, UFFD, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(SEED, MA, UFFD, "EXCEED_NONE_PTE C[] A[] F=0");
	mt_table_put(&T, 77, "A");
	EXPECT(SEED, KH, UFFD, "SUCCEED C[0/9] A[] F=0");
}

static void seed_chunk_bit_threshold_is_max_none_shifted(void **state)
{
	(void)state;
	/* s = 384 >> 7 = 3: a chunk with 3 none is set; 383 >> 7 = 2: not */
	SET(512, "khugepaged/max_ptes_none=384", "hugepages-16kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 0, "A...");
	EXPECT(SEED, KH, HP, "SUCCEED C[0/2] A[] F=3");
	SET(512, "khugepaged/max_ptes_none=383", "hugepages-16kB/enabled=madvise");
	EXPECT(SEED, KH, HP, "SUCCEED C[] A[] F=0");
	/* s = 255 >> 7 = 1 */
	SET(512, "khugepaged/max_ptes_none=255", "hugepages-16kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 0, "A.AAA..A");
	EXPECT(SEED, KH, HP, "SUCCEED C[0/2] A[] F=1");
	/* a swap entry does not count as none for the chunk */
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-16kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 300, 'A');
	mt_table_put(&T, 4, "w");
	want_reset();
	W("SUCCEED C[0/2");
	for (uint32_t off = 8; off < 300; off += 4)
		W(" %u/2", off);
	W("] A[4/2:EXCEED_SWAP_PTE] F=0");
	EXPECT(SEED, KH, HP, want);
}

/* examples/seed-last-chunk */
static void seed_last_chunk_is_never_set(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-16kB/enabled=madvise",
	    "hugepages-32kB/enabled=madvise", "hugepages-64kB/enabled=madvise",
	    "hugepages-128kB/enabled=madvise", "hugepages-256kB/enabled=madvise",
	    "hugepages-512kB/enabled=madvise", "hugepages-1024kB/enabled=madvise");
	mt_table_init(&T, 512, 'A');
	EXPECT(SEED, KH, HP,
	       "SUCCEED C[0/8 256/7 384/6 448/5 480/4 496/3 504/2] A[] F=0");
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=0");
	/* only the last chunk present: nothing; the chunk before it: PMD */
	SET(512, "hugepages-16kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 508, 512, 'A');
	EXPECT(SEED, KH, HP, "SUCCEED C[] A[] F=0");
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=508");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 504, 508, 'A');
	EXPECT(SEED, KH, HP, "SUCCEED C[0/9] A[] F=508");
}

static void seed_density_test_is_strict(void **state)
{
	(void)state;
	/* T(6) = 127 >> 5 = 3 */
	SET(512, "khugepaged/max_ptes_none=384", "hugepages-256kB/enabled=madvise",
	    "hugepages-512kB/enabled=madvise", "hugepages-1024kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 12, 'A');
	EXPECT(SEED, KH, HP, "SUCCEED C[] A[] F=0");
	mt_table_fill(&T, 12, 16, 'A');
	EXPECT(SEED, KH, HP, "SUCCEED C[0/6] A[] F=48");
	/* max_ptes_none 511: T(6) = 0, one set chunk is enough */
	SET(512, "khugepaged/max_ptes_none=511", "hugepages-256kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 100, "A");
	/* the PMD window comes first and passes too (b = 1 > 0) */
	EXPECT(SEED, KH, HP, "SUCCEED C[0/9] A[] F=511");
	SET(512, "khugepaged/max_ptes_none=511", "hugepages-256kB/enabled=madvise",
	    "hugepages-2048kB/enabled=always", "khugepaged/max_ptes_shared=0");
	mt_table_put(&T, 101, "s");
	/* shared limit 0 at PMD order fails the scan already */
	EXPECT(SEED, KH, HP, "EXCEED_SHARED_PTE C[] A[] F=0");
}

static void seed_pmd_only_skips_density_test(void **state)
{
	(void)state;
	/* Full table, max_ptes_none 0: b = 127 is not above T(9) = 127 */
	SET(512, "khugepaged/max_ptes_none=0");
	mt_table_init(&T, 512, 'A');
	EXPECT(SEED, KH, HP, "SUCCEED C[0/9] A[] F=0");
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/9] A[] F=0");
	/* not PMD-only: the PMD window takes the test and fails it */
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-1024kB/enabled=madvise");
	EXPECT(SEED, KH, HP, "SUCCEED C[0/8] A[] F=0");
}

/* examples/seed-always */
static void seed_always_size_skips_density_test(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 496, 512, 'A');
	want_reset();
	W("SUCCEED C[496/4] A[");
	for (uint32_t off = 0; off < 496; off += 16)
		W("%s%u/4:EXCEED_NONE_PTE", off ? " " : "", off);
	W("] F=0");
	EXPECT(SEED, KH, HP, want);
	EXPECT(UP, KH, HP, "SUCCEED C[496/4] A[] F=0");
}

/* examples/seed-inherit-not-always */
static void seed_inherit_under_global_always_takes_density_test(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "enabled=always",
	    "hugepages-64kB/enabled=inherit");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 496, 512, 'A');
	EXPECT(SEED, KH, HP, "SUCCEED C[] A[] F=0");
	EXPECT(SEED, KH, ANON, "SUCCEED C[] A[] F=0");
	EXPECT(UP, KH, HP, "SUCCEED C[496/4] A[] F=0");
}

static void seed_pmd_size_always_skips_density_test(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=madvise",
	    "hugepages-2048kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 496, 512, 'A');
	EXPECT(SEED, KH, HP, "SUCCEED C[] A[0/9:EXCEED_NONE_PTE] F=0");
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=madvise",
	    "hugepages-2048kB/enabled=inherit", "enabled=always");
	EXPECT(SEED, KH, HP, "SUCCEED C[] A[] F=0");
}

static void seed_attempt_none_limit_is_scaled(void **state)
{
	(void)state;
	/* order 6 allows 384 >> 3 = 48 none */
	SET(512, "khugepaged/max_ptes_none=384", "hugepages-256kB/enabled=madvise",
	    "hugepages-512kB/enabled=madvise", "hugepages-1024kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 15, 'A');		/* chunk 3 "AAA." is set */
	EXPECT(SEED, KH, HP, "SUCCEED C[] A[0/6:EXCEED_NONE_PTE] F=0");
	/* a 16K always window allows 384 >> 7 = 3 none: the first passes,
	 * every all-none window is attempted and fails */
	SET(512, "khugepaged/max_ptes_none=384", "hugepages-16kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 0, "A...");
	want_reset();
	W("SUCCEED C[0/2] A[");
	for (uint32_t off = 4; off < 512; off += 4)
		W("%s%u/2:EXCEED_NONE_PTE", off > 4 ? " " : "", off);
	W("] F=3");
	EXPECT(SEED, KH, HP, want);
}

static void seed_attempt_none_limit_unlimited_in_madvise(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 496, 512, 'a');
	EXPECT(SEED, MA, HP, "SUCCEED C[0/9] A[] F=496");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=496");
}

static void seed_shared_below_pmd_fails_at_once(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-16kB/enabled=madvise",
	    "khugepaged/max_ptes_shared=511");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 0, "SAAAAAAA");
	EXPECT(SEED, KH, HP, "SUCCEED C[4/2] A[0/2:EXCEED_SHARED_PTE] F=0");
}

static void seed_lack_referenced_per_window(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-16kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 0, "aaaaAAAA");
	EXPECT(SEED, KH, HP, "SUCCEED C[4/2] A[0/2:LACK_REFERENCED_PAGE] F=0");
}

static void seed_has_no_folio_veto(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 64, 'A');
	mt_table_folio(&T, 32, 48, 4);
	want_reset();
	W("SUCCEED C[0/4 16/4 32/4 48/4] A[");
	for (uint32_t off = 64; off < 512; off += 16)
		W("%s%u/4:EXCEED_NONE_PTE", off > 64 ? " " : "", off);
	W("] F=0");
	EXPECT(SEED, KH, HP, want);
}

static void seed_failed_window_splits_in_preorder(void **state)
{
	(void)state;
	/*
	 * 16K and 64K always, the PMD size inherit: each failed 64K window
	 * is followed by its own 16K windows, left to right, before the next
	 * 64K window; collapses come out in increasing address order.
	 */
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-16kB/enabled=always",
	    "hugepages-64kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 300, 'A');
	mt_table_put(&T, 5, "w");
	mt_table_put(&T, 25, "w");
	want_reset();
	W("SUCCEED C[0/2 8/2 12/2 16/2 20/2 28/2");
	for (uint32_t off = 32; off < 288; off += 16)
		W(" %u/4", off);
	/* 288/4 isolated 288..299 before its first none PTE: the batch holds them */
	W("] A[0/4:EXCEED_SWAP_PTE 4/2:EXCEED_SWAP_PTE "
	  "16/4:EXCEED_SWAP_PTE 24/2:EXCEED_SWAP_PTE 288/4:EXCEED_NONE_PTE "
	  "288/2:PAGE_COUNT 292/2:PAGE_COUNT 296/2:PAGE_COUNT 300/2:EXCEED_NONE_PTE");
	for (uint32_t off = 304; off < 512; off += 16) {
		W(" %u/4:EXCEED_NONE_PTE", off);
		for (uint32_t k = off; k < off + 16; k += 4)
			W(" %u/2:EXCEED_NONE_PTE", k);
	}
	W("] F=0");
	EXPECT(SEED, KH, HP, want);
}

static void seed_madvise_decides_as_legacy(void **state)
{
	(void)state;
	static const char *const rows[] = {
		"A", "a", ".", "w", "S", "s", "l",
	};
	struct mthp_rng r;

	SET(512, "khugepaged/max_ptes_none=0", "hugepages-16kB/enabled=always",
	    "hugepages-64kB/enabled=always");
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char a[128];

		mt_table_init(&T, 512, rows[i][0]);
		snprintf(a, sizeof(a), "%s", PLAN(LEGACY, MA, HP));
		assert_string_equal(PLAN(SEED, MA, HP), a);
		snprintf(a, sizeof(a), "%s", PLAN(LEGACY, MA, UFFD));
		assert_string_equal(PLAN(SEED, MA, UFFD), a);
	}
	mthp_rng_seed(&r, 7);
	for (unsigned i = 0; i < 200; i++) {
		char a[128];

		mt_table_random(&T, 512, &r, 1);
		snprintf(a, sizeof(a), "%s", PLAN(LEGACY, MA, HP));
		assert_string_equal(PLAN(SEED, MA, HP), a);
		snprintf(a, sizeof(a), "%s", PLAN(UP, MA, HP));
		assert_string_equal(PLAN(SEED, MA, HP), a);
	}
}

/* ------------------------------------------------------------------ */
/* Geometries: one plan per geometry per policy */

static void geometry_512_plans_each_policy(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=madvise");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 32, 'A');
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(UP, KH, HP, "SUCCEED C[0/4 16/4] A[] F=0");
	/* seed: T(4) = 511 >> 7 = 3; 4 set chunks each */
	EXPECT(SEED, KH, HP, "SUCCEED C[0/4 16/4] A[] F=0");
}

/* examples/geometry-16k */
static void geometry_2048_plans_each_policy(void **state)
{
	(void)state;
	SET(2048, "khugepaged/max_ptes_none=0", "hugepages-256kB/enabled=always",
	    "hugepages-32768kB/enabled=inherit");
	mt_table_init(&T, 2048, 'A');
	EXPECT(UP, KH, HP, "SUCCEED C[0/11] A[] F=0");
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/11] A[] F=0");
	/* seed: b = 511 (the last chunk is never set) is not above
	 * T(11) = 2047 >> 2 = 511; every 256K window collapses instead */
	want_reset();
	W("SUCCEED C[");
	for (uint32_t off = 0; off < 2048; off += 16)
		W("%s%u/4", off ? " " : "", off);
	W("] A[] F=0");
	EXPECT(SEED, KH, HP, want);
	mt_table_init(&T, 2048, '.');
	mt_table_fill(&T, 96, 112, 'A');
	EXPECT(UP, KH, HP, "SUCCEED C[96/4] A[] F=0");
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/11] A[] F=2032");
	/* seed: 256K always, every 256K window is attempted */
	want_reset();
	W("SUCCEED C[96/4] A[");
	for (uint32_t off = 0; off < 2048; off += 16)
		if (off != 96)
			W("%s%u/4:EXCEED_NONE_PTE", off ? " " : "", off);
	W("] F=0");
	EXPECT(SEED, KH, HP, want);
}

/* examples/geometry-64k */
static void geometry_8192_plans_each_policy(void **state)
{
	(void)state;
	SET(8192, "khugepaged/max_ptes_none=0", "hugepages-2048kB/enabled=madvise",
	    "hugepages-524288kB/enabled=inherit");
	mt_table_init(&T, 8192, '.');
	mt_table_fill(&T, 0, 32, 'A');
	EXPECT(UP, KH, HP, "SUCCEED C[0/5] A[] F=0");
	EXPECT(SEED, KH, HP, "SUCCEED C[0/5] A[] F=0");
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	/* seed: 7 chunks are not above T(5) = 7 */
	mt_table_put(&T, 31, ".");
	EXPECT(SEED, KH, HP, "SUCCEED C[] A[] F=0");
	mt_table_init(&T, 8192, 'A');
	EXPECT(UP, KH, HP, "SUCCEED C[0/13] A[] F=0");
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/13] A[] F=0");
	for (int p = 0; p < MTHP_NR_POLICIES; p++)
		EXPECT((enum mthp_policy)p, MA, HP, "SUCCEED C[0/13] A[] F=0");
	/* seed: b = 2047 is not above T(13) = 2047; the 2M windows collapse
	 * but the last, which holds the last chunk (7 set, T(5) = 7) */
	want_reset();
	W("SUCCEED C[");
	for (uint32_t off = 0; off < 8160; off += 32)
		W("%s%u/5", off ? " " : "", off);
	W("] A[] F=0");
	EXPECT(SEED, KH, HP, want);
	/* referenced rule: N/2 = 4096 with a swap entry */
	SET(8192);
	mt_table_init(&T, 8192, 'a');
	mt_table_put(&T, 0, "w");
	mt_table_fill(&T, 1, 4096, 'A');
	EXPECT(LEGACY, KH, HP, "LACK_REFERENCED_PAGE C[] A[] F=0");
	/* default max_ptes_swap = 1024 */
	mt_table_init(&T, 8192, 'A');
	mt_table_fill(&T, 0, 1024, 'w');
	EXPECT(LEGACY, KH, HP, "SUCCEED C[0/13] A[] F=0");
	mt_table_put(&T, 8191, "w");
	EXPECT(LEGACY, KH, HP, "EXCEED_SWAP_PTE C[] A[] F=0");
}

static void geometry_upstream_max_none_is_n_minus_1(void **state)
{
	(void)state;
	/* 2047 with 2048 PTEs is the "511" case: 2^o - 1 below PMD */
	SET(2048, "khugepaged/max_ptes_none=2047", "hugepages-64kB/enabled=always",
	    "hugepages-32768kB/enabled=never");
	mt_table_init(&T, 2048, '.');
	mt_table_put(&T, 1000, "A");
	EXPECT(UP, KH, HP, "SUCCEED C[1000/2] A[] F=3");
	/* 511 is an "other value" there: acts as 0 */
	SET(2048, "khugepaged/max_ptes_none=511", "hugepages-64kB/enabled=always",
	    "hugepages-32768kB/enabled=never");
	EXPECT(UP, KH, HP, "SUCCEED C[] A[] F=0");
	SET(8192, "khugepaged/max_ptes_none=8191", "hugepages-256kB/enabled=always",
	    "hugepages-524288kB/enabled=never");
	mt_table_init(&T, 8192, '.');
	mt_table_put(&T, 8190, "A");
	EXPECT(UP, KH, HP, "SUCCEED C[8188/2] A[] F=3");
	/* seed on 2048 PTEs: s = 1536 >> 9 = 3, T(11) = 511 >> 2 = 127,
	 * T(2) = 0, and order 2 allows 1536 >> 9 = 3 none */
	SET(2048, "khugepaged/max_ptes_none=1536", "hugepages-64kB/enabled=madvise");
	mt_table_init(&T, 2048, '.');
	mt_table_put(&T, 100, "A");
	EXPECT(SEED, KH, HP, "SUCCEED C[100/2] A[] F=3");
	SET(2048, "khugepaged/max_ptes_none=2047", "hugepages-64kB/enabled=madvise");
	EXPECT(SEED, KH, HP, "SUCCEED C[0/11] A[] F=2047");
}

/* ------------------------------------------------------------------ */
/* Settings: knobs per geometry */

static void settings_defaults_per_geometry(void **state)
{
	(void)state;
	static const uint32_t ns[] = { 512, 2048, 8192 };
	static const uint32_t pages[] = { 4096, 16384, 65536 };

	for (unsigned i = 0; i < 3; i++) {
		unsigned pmd = mt_log2(ns[i]);

		SET(ns[i]);
		assert_int_equal(S.geo.ptes_per_pmd, ns[i]);
		assert_int_equal(S.geo.pmd_order, pmd);
		assert_int_equal(S.geo.page_size, pages[i]);
		assert_int_equal(S.enabled, MTHP_MODE_MADVISE);
		for (unsigned o = 2; o < pmd; o++)
			assert_int_equal(S.size_enabled[o], MTHP_MODE_NEVER);
		assert_int_equal(S.size_enabled[pmd], MTHP_MODE_INHERIT);
		assert_int_equal(S.max_ptes_none, ns[i] - 1);
		assert_int_equal(S.max_ptes_swap, ns[i] / 8);
		assert_int_equal(S.max_ptes_shared, ns[i] / 2);
	}
}

static int set1(const char *knob, const char *value, char *err, size_t errlen)
{
	err[0] = '\0';
	return mthp_settings_set(&S, knob, value, err, errlen);
}

static void size_knob_ok(uint32_t n, const char *name, unsigned order)
{
	char err[256], knob[64];

	SET(n);
	snprintf(knob, sizeof(knob), "%s/enabled", name);
	assert_int_equal(set1(knob, "always", err, sizeof(err)), 0);
	assert_int_equal(S.size_enabled[order], MTHP_MODE_ALWAYS);
	assert_int_equal(set1(knob, "madvise", err, sizeof(err)), 0);
	assert_int_equal(S.size_enabled[order], MTHP_MODE_MADVISE);
	assert_int_equal(set1(knob, "inherit", err, sizeof(err)), 0);
	assert_int_equal(S.size_enabled[order], MTHP_MODE_INHERIT);
	assert_int_equal(set1(knob, "never", err, sizeof(err)), 0);
	assert_int_equal(S.size_enabled[order], MTHP_MODE_NEVER);
	mthp_size_name(&S.geo, order, knob, sizeof(knob));
	assert_string_equal(knob, name);
}

static void settings_size_names_valid_per_geometry(void **state)
{
	(void)state;
	size_knob_ok(512, "hugepages-16kB", 2);
	size_knob_ok(512, "hugepages-64kB", 4);
	size_knob_ok(512, "hugepages-2048kB", 9);
	size_knob_ok(2048, "hugepages-64kB", 2);
	size_knob_ok(2048, "hugepages-256kB", 4);
	size_knob_ok(2048, "hugepages-2048kB", 7);
	size_knob_ok(2048, "hugepages-32768kB", 11);
	size_knob_ok(8192, "hugepages-256kB", 2);
	size_knob_ok(8192, "hugepages-2048kB", 5);
	size_knob_ok(8192, "hugepages-524288kB", 13);
}

static void size_knob_bad(uint32_t n, const char *knob)
{
	char err[256];

	SET(n);
	assert_int_equal(set1(knob, "always", err, sizeof(err)), -EINVAL);
	if (!strstr(err, knob))
		fail_msg("error for %s does not name it: '%s'", knob, err);
}

static void settings_size_names_invalid_per_geometry(void **state)
{
	(void)state;
	size_knob_bad(512, "hugepages-4kB/enabled");	/* order 0 */
	size_knob_bad(512, "hugepages-8kB/enabled");	/* order 1 */
	size_knob_bad(512, "hugepages-4096kB/enabled");
	size_knob_bad(512, "hugepages-48kB/enabled");
	size_knob_bad(512, "hugepages-0kB/enabled");
	size_knob_bad(2048, "hugepages-16kB/enabled");
	size_knob_bad(2048, "hugepages-32kB/enabled");
	size_knob_bad(2048, "hugepages-65536kB/enabled");
	size_knob_bad(8192, "hugepages-64kB/enabled");
	size_knob_bad(8192, "hugepages-128kB/enabled");
	size_knob_bad(8192, "hugepages-16kB/enabled");
	size_knob_bad(8192, "hugepages-1048576kB/enabled");
}

static void range_error(uint32_t n, const char *knob, const char *value,
			const char *lo, const char *hi)
{
	char err[256];

	SET(n);
	assert_int_equal(set1(knob, value, err, sizeof(err)), -EINVAL);
	if (!strstr(err, knob) || !strstr(err, lo) || !strstr(err, hi))
		fail_msg("error for %s=%s should name it and %s..%s: '%s'",
			 knob, value, lo, hi, err);
}

static void settings_out_of_range_names_knob_and_range(void **state)
{
	(void)state;
	range_error(512, "khugepaged/max_ptes_none", "512", "0", "511");
	range_error(512, "khugepaged/max_ptes_swap", "512", "0", "511");
	range_error(512, "khugepaged/max_ptes_shared", "1000", "0", "511");
	range_error(2048, "khugepaged/max_ptes_none", "2048", "0", "2047");
	range_error(8192, "khugepaged/max_ptes_shared", "8192", "0", "8191");
	range_error(512, "khugepaged/pages_to_scan", "0", "1", "4294967295");
	range_error(512, "khugepaged/scan_sleep_millisecs", "4294967296", "0", "4294967295");
	range_error(512, "khugepaged/alloc_sleep_millisecs", "-1", "0", "4294967295");
	range_error(512, "use_zero_page", "2", "0", "1");
	range_error(512, "khugepaged/defrag", "2", "0", "1");
	range_error(512, "enabled", "inherit", "always", "never");
	range_error(512, "enabled", "Always", "madvise", "never");
	range_error(512, "defrag", "sometimes", "defer+madvise", "never");
	range_error(512, "hugepages-64kB/enabled", "bogus", "inherit", "never");
	range_error(8192, "hugepages-2048kB/enabled", "", "inherit", "madvise");
}

static void settings_in_range_values_are_set(void **state)
{
	(void)state;
	char err[256];

	SET(512);
	assert_int_equal(set1("khugepaged/max_ptes_none", "0", err, sizeof(err)), 0);
	assert_int_equal(S.max_ptes_none, 0);
	assert_int_equal(set1("khugepaged/max_ptes_none", "511", err, sizeof(err)), 0);
	assert_int_equal(S.max_ptes_none, 511);
	assert_int_equal(set1("khugepaged/max_ptes_swap", "511", err, sizeof(err)), 0);
	assert_int_equal(S.max_ptes_swap, 511);
	assert_int_equal(set1("khugepaged/max_ptes_shared", "0", err, sizeof(err)), 0);
	assert_int_equal(S.max_ptes_shared, 0);
	assert_int_equal(set1("khugepaged/pages_to_scan", "4294967295", err, sizeof(err)), 0);
	assert_int_equal(S.pages_to_scan, 4294967295u);
	assert_int_equal(set1("khugepaged/scan_sleep_millisecs", "0", err, sizeof(err)), 0);
	assert_int_equal(S.scan_sleep_millisecs, 0);
	assert_int_equal(set1("khugepaged/alloc_sleep_millisecs", "4294967295", err,
			      sizeof(err)), 0);
	assert_int_equal(S.alloc_sleep_millisecs, 4294967295u);
	assert_int_equal(set1("use_zero_page", "0", err, sizeof(err)), 0);
	assert_int_equal(S.use_zero_page, 0);
	assert_int_equal(set1("khugepaged/defrag", "0", err, sizeof(err)), 0);
	assert_int_equal(S.khugepaged_defrag, 0);
	assert_int_equal(set1("enabled", "always", err, sizeof(err)), 0);
	assert_int_equal(S.enabled, MTHP_MODE_ALWAYS);
	assert_int_equal(set1("enabled", "never", err, sizeof(err)), 0);
	assert_int_equal(S.enabled, MTHP_MODE_NEVER);
	assert_int_equal(set1("defrag", "defer+madvise", err, sizeof(err)), 0);
	assert_int_equal(S.defrag, MTHP_DEFRAG_DEFER_MADVISE);
	assert_int_equal(set1("defrag", "never", err, sizeof(err)), 0);
	assert_int_equal(S.defrag, MTHP_DEFRAG_NEVER);
	SET(8192);
	assert_int_equal(set1("khugepaged/max_ptes_none", "8191", err, sizeof(err)), 0);
	assert_int_equal(S.max_ptes_none, 8191);
	SET(512, "khugepaged/max_ptes_none=+17");
	assert_int_equal(S.max_ptes_none, 17);
}

static void settings_unknown_knob_is_enoent(void **state)
{
	(void)state;
	static const char *const knobs[] = {
		"shmem_enabled", "khugepaged/max_ptes_nonee", "max_ptes_none",
		"hugepages-64kB/shmem_enabled", "khugepaged/pages_collapsed", "",
		"Enabled",
	};
	char err[256];

	SET(512);
	for (unsigned i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		assert_int_equal(set1(knobs[i], "1", err, sizeof(err)), -ENOENT);
}

static void settings_plus_prefix_allowed(void **state)
{
	(void)state;
	char err[256];

	SET(512);
	assert_int_equal(set1("khugepaged/max_ptes_none", "+511", err, sizeof(err)), 0);
	assert_int_equal(S.max_ptes_none, 511);
	assert_int_equal(set1("khugepaged/max_ptes_swap", "+0", err, sizeof(err)), 0);
	assert_int_equal(S.max_ptes_swap, 0);
	assert_int_equal(set1("use_zero_page", "+1", err, sizeof(err)), 0);
	assert_int_equal(S.use_zero_page, 1);
	assert_int_equal(set1("khugepaged/pages_to_scan", "+4294967295", err, sizeof(err)), 0);
	/* leading zeros are still ASCII decimal digits */
	assert_int_equal(set1("khugepaged/max_ptes_shared", "000100", err, sizeof(err)), 0);
	assert_int_equal(S.max_ptes_shared, 100);
}

static void settings_malformed_integers_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "+", "++1", "-1", "-0", " 1", "1 ", "0x10", "1.0", "1e2", "12a", "+-1",
	};
	char err[256];

	SET(512);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (set1("khugepaged/max_ptes_none", bad[i], err, sizeof(err)) != -EINVAL)
			fail_msg("max_ptes_none '%s' accepted", bad[i]);
		if (!strstr(err, "khugepaged/max_ptes_none"))
			fail_msg("error for '%s' does not name the knob: '%s'", bad[i], err);
	}
}

static void settings_overflow_rejected(void **state)
{
	(void)state;
	static const char *const big[] = {
		"4294967296", "4294967807",		/* 2^32, 2^32 + 511 */
		"18446744073709551615", "18446744073709551616",
		"18446744073709552127",			/* 2^64 + 511 */
		"99999999999999999999999999999999999999",
	};
	char err[256];

	SET(512);
	for (unsigned i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		S.max_ptes_none = 7;
		if (set1("khugepaged/max_ptes_none", big[i], err, sizeof(err)) != -EINVAL)
			fail_msg("max_ptes_none '%s' accepted (now %u)", big[i], S.max_ptes_none);
		if (set1("khugepaged/pages_to_scan", big[i], err, sizeof(err)) != -EINVAL)
			fail_msg("pages_to_scan '%s' accepted (now %u)", big[i], S.pages_to_scan);
		if (set1("use_zero_page", big[i], err, sizeof(err)) != -EINVAL)
			fail_msg("use_zero_page '%s' accepted", big[i]);
	}
}

static void settings_assignment_form(void **state)
{
	(void)state;
	char err[256] = "";

	SET(512);
	assert_int_equal(mthp_settings_set_assignment(&S, "khugepaged/max_ptes_swap=+9",
						      err, sizeof(err)), 0);
	assert_int_equal(S.max_ptes_swap, 9);
	assert_int_equal(mthp_settings_set_assignment(&S, "hugepages-32kB/enabled=always",
						      err, sizeof(err)), 0);
	assert_int_equal(S.size_enabled[3], MTHP_MODE_ALWAYS);
	assert_int_equal(mthp_settings_set_assignment(&S, "nosuch=1", err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(mthp_settings_set_assignment(&S, "khugepaged/max_ptes_swap=512",
						      err, sizeof(err)), -EINVAL);
}

/* ------------------------------------------------------------------ */
/* The kernel selftest boundaries (tools/testing/selftests/mm/khugepaged.c) */

static void selftest_max_ptes_none_256(void **state)
{
	(void)state;
	/* examples/none-boundary */
	SET(512, "khugepaged/max_ptes_none=256");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 255, 'A');
	EXPECT(LEGACY, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(UP, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(SEED, KH, HP, "EXCEED_NONE_PTE C[] A[] F=0");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=257");
	mt_table_put(&T, 255, "A");
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		EXPECT((enum mthp_policy)p, KH, HP, "SUCCEED C[0/9] A[] F=256");
		EXPECT((enum mthp_policy)p, MA, HP, "SUCCEED C[0/9] A[] F=256");
	}
}

static void selftest_max_ptes_swap_64(void **state)
{
	(void)state;
	/* examples/swap-boundary: the default max_ptes_swap is 64 */
	SET(512);
	mt_table_init(&T, 512, 'A');
	mt_table_fill(&T, 0, 64, 'w');
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		EXPECT((enum mthp_policy)p, KH, HP, "SUCCEED C[0/9] A[] F=0");
		EXPECT((enum mthp_policy)p, MA, HP, "SUCCEED C[0/9] A[] F=0");
	}
	mt_table_put(&T, 64, "w");
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		EXPECT((enum mthp_policy)p, KH, HP, "EXCEED_SWAP_PTE C[] A[] F=0");
		EXPECT((enum mthp_policy)p, MA, HP, "SUCCEED C[0/9] A[] F=0");
	}
}

static void selftest_max_ptes_shared_256(void **state)
{
	(void)state;
	/* examples/shared-boundary: the default max_ptes_shared is 256 */
	SET(512);
	mt_table_init(&T, 512, 'A');
	mt_table_fill(&T, 0, 256, 'S');
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		EXPECT((enum mthp_policy)p, KH, HP, "SUCCEED C[0/9] A[] F=0");
		EXPECT((enum mthp_policy)p, MA, HP, "SUCCEED C[0/9] A[] F=0");
	}
	mt_table_put(&T, 256, "s");
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		EXPECT((enum mthp_policy)p, KH, HP, "EXCEED_SHARED_PTE C[] A[] F=0");
		EXPECT((enum mthp_policy)p, MA, HP, "SUCCEED C[0/9] A[] F=0");
	}
}

static void selftest_uffd_armed_vma(void **state)
{
	(void)state;
	/* examples/uffd-legacy */
	SET(512);
	for (int c = 0; c < 2; c++) {
		enum mthp_context ctx = c ? MA : KH;

		mt_table_init(&T, 512, 'A');
		mt_table_put(&T, 200, ".");
		EXPECT(LEGACY, ctx, UFFD, "EXCEED_NONE_PTE C[] A[] F=0");
		mt_table_put(&T, 200, "0");
		EXPECT(LEGACY, ctx, UFFD, "EXCEED_NONE_PTE C[] A[] F=0");
		mt_table_put(&T, 200, "A");
		EXPECT(LEGACY, ctx, UFFD, "SUCCEED C[0/9] A[] F=0");
	}
}

static void selftest_single_present_pte_with_511(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=511");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 0, "A");
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		EXPECT((enum mthp_policy)p, KH, HP, "SUCCEED C[0/9] A[] F=511");
		EXPECT((enum mthp_policy)p, MA, HP, "SUCCEED C[0/9] A[] F=511");
	}
	/* an old page alone is not enough for khugepaged */
	mt_table_put(&T, 0, "a");
	EXPECT(LEGACY, KH, HP, "LACK_REFERENCED_PAGE C[] A[] F=0");
	EXPECT(LEGACY, MA, HP, "SUCCEED C[0/9] A[] F=511");
}

/* ------------------------------------------------------------------ */
/* Creep */

static void creep_seed_grows_to_pmd_in_three_rounds(void **state)
{
	(void)state;
	/* examples/seed-creep */
	SET(512, "khugepaged/max_ptes_none=384", "hugepages-256kB/enabled=madvise",
	    "hugepages-512kB/enabled=madvise", "hugepages-1024kB/enabled=madvise",
	    "hugepages-2048kB/enabled=inherit");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	const struct mthp_pmd_plan *p = mt_plan(&S, SEED, KH, HP, &T);

	assert_string_equal(mt_plan_str(p), "SUCCEED C[0/6] A[] F=48");
	mt_table_apply(&T, p);
	p = mt_plan(&S, SEED, KH, HP, &T);
	assert_string_equal(mt_plan_str(p), "SUCCEED C[0/8] A[] F=192");
	mt_table_apply(&T, p);
	p = mt_plan(&S, SEED, KH, HP, &T);
	assert_string_equal(mt_plan_str(p), "SUCCEED C[0/9] A[] F=256");
	mt_table_apply(&T, p);
	assert_int_equal(T.kind, MTHP_PMD_HUGE);
	EXPECT(SEED, KH, HP, "PMD_MAPPED C[] A[] F=0");
}

static void creep_upstream_rounds_of_seed_creep_example(void **state)
{
	(void)state;
	SET(512, "khugepaged/max_ptes_none=384", "hugepages-256kB/enabled=madvise",
	    "hugepages-512kB/enabled=madvise", "hugepages-1024kB/enabled=madvise",
	    "hugepages-2048kB/enabled=inherit");
	mt_table_init(&T, 512, '.');
	mt_table_fill(&T, 0, 16, 'A');
	EXPECT(UP, KH, HP, "SUCCEED C[] A[] F=0");
	mt_table_fill(&T, 0, 64, 'A');
	mt_table_folio(&T, 0, 64, 6);
	EXPECT(UP, KH, HP, "SUCCEED C[] A[0/6:PTE_MAPPED_HUGEPAGE] F=0");
	mt_table_fill(&T, 0, 256, 'A');
	mt_table_folio(&T, 0, 256, 8);
	EXPECT(UP, KH, HP, "SUCCEED C[0/9] A[] F=256");
}

static void no_creep_under_upstream(uint32_t max_none)
{
	static const char *const size_sets[][4] = {
		{ "hugepages-16kB/enabled=always", "hugepages-64kB/enabled=always", NULL },
		{ "hugepages-32kB/enabled=madvise", "hugepages-256kB/enabled=always",
		  "hugepages-2048kB/enabled=never", NULL },
		{ "hugepages-16kB/enabled=always", "hugepages-32kB/enabled=always",
		  "hugepages-64kB/enabled=always", "hugepages-128kB/enabled=always" },
		{ "hugepages-512kB/enabled=always", "hugepages-1024kB/enabled=madvise",
		  "hugepages-64kB/enabled=madvise", NULL },
	};
	char mn[64];
	struct mthp_rng r;
	uint32_t collapsed = 0, tables_with_collapse = 0;

	snprintf(mn, sizeof(mn), "khugepaged/max_ptes_none=%u", max_none);
	mthp_rng_seed(&r, 0x6d746870u + max_none);
	for (unsigned i = 0; i < 1000; i++) {
		const char *const *set = size_sets[mthp_rng_below(&r, 4)];
		uint32_t flags = mthp_rng_below(&r, 10) == 0 ? UFFD : HP;
		const struct mthp_pmd_plan *p;
		char first[256];

		SET(512, mn, set[0], set[1], set[2], set[3]);
		mt_table_random(&T, 512, &r, 0);
		p = mt_plan(&S, UP, KH, flags, &T);
		snprintf(first, sizeof(first), "%.200s", mt_plan_str(p));
		if (p->nr_collapses) {
			tables_with_collapse++;
			collapsed += p->nr_collapses;
		}
		/*
		 * Later passes collapse only what the LRU add batch stopped:
		 * every collapse of a pass covers a page of a window the pass
		 * before failed with SCAN_PAGE_COUNT; and that ends.
		 */
		for (unsigned round = 2; p->nr_collapses; round++) {
			static struct mthp_pmd_plan prev;

			prev = *p;
			mt_table_apply(&T, p);
			p = mt_plan(&S, UP, KH, flags, &T);
			for (uint32_t c = 0; c < p->nr_collapses; c++)
				if (!mt_after_page_count(&prev, &p->collapses[c]))
					fail_msg("table %u (max_ptes_none %u): pass %u after '%s' "
						 "collapses %u/%u, which no SCAN_PAGE_COUNT of the "
						 "pass before stopped: '%.300s'", i, max_none, round,
						 first, p->collapses[c].offset, p->collapses[c].order,
						 mt_plan_str(p));
			if (round > 8)
				fail_msg("table %u (max_ptes_none %u): still collapsing after %u "
					 "passes: '%.300s'", i, max_none, round, mt_plan_str(p));
		}
	}
	/* the test means something only if plans collapse */
	assert_true(tables_with_collapse > 200);
	assert_true(collapsed > 1000);
}

/* No creep at either end of max_ptes_none: 0 and 511. */
static void creep_upstream_none(void **state)
{
	(void)state;
	no_creep_under_upstream(0);
	no_creep_under_upstream(511);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(scan_none_pte_counts_as_none),
	cmocka_unit_test(scan_zero_page_pte_counts_as_none),
	cmocka_unit_test(scan_swap_pte_counts_as_unmapped),
	cmocka_unit_test(scan_uffd_wp_pte_fails_in_both_contexts),
	cmocka_unit_test(scan_special_pte_gives_page_null),
	cmocka_unit_test(scan_lazyfree_fails_in_khugepaged_only),
	cmocka_unit_test(scan_not_anon_page_gives_page_anon),
	cmocka_unit_test(scan_shared_young_pte_is_occupied),
	cmocka_unit_test(scan_shared_old_pte_is_occupied),
	cmocka_unit_test(scan_young_pte_is_occupied),
	cmocka_unit_test(scan_old_pte_is_occupied),
	cmocka_unit_test(scan_not_lru_gives_page_lru),
	cmocka_unit_test(scan_locked_gives_page_lock),
	cmocka_unit_test(scan_pinned_gives_page_count),
	cmocka_unit_test(scan_occupancy_bitmap_per_state),
	cmocka_unit_test(scan_lazyfree_is_occupied_in_madvise_context),
	cmocka_unit_test(scan_none_limit_exact_passes_one_more_fails),
	cmocka_unit_test(scan_swap_limit_exact_passes_one_more_fails),
	cmocka_unit_test(scan_shared_limit_exact_passes_one_more_fails),
	cmocka_unit_test(scan_zero_limits_fail_on_first),
	cmocka_unit_test(scan_first_bad_pte_in_address_order_wins),
	cmocka_unit_test(scan_limit_crossing_before_bad_pte_wins),
	cmocka_unit_test(scan_swap_and_none_limits_first_crossing_wins),
	cmocka_unit_test(scan_bad_pte_comes_before_referenced_rule),
	cmocka_unit_test(scan_young_pte_that_ends_scan_not_referenced),
	cmocka_unit_test(scan_referenced_zero_lacks_referenced),
	cmocka_unit_test(scan_one_young_page_is_enough_without_swap),
	cmocka_unit_test(scan_swap_needs_half_the_table_young),
	cmocka_unit_test(scan_referenced_half_scales_with_geometry),
	cmocka_unit_test(allowed_orders_always_size_ignores_hugepage),
	cmocka_unit_test(allowed_orders_madvise_size_needs_hugepage),
	cmocka_unit_test(allowed_orders_inherit_follows_global),
	cmocka_unit_test(allowed_orders_never_size_is_never_allowed),
	cmocka_unit_test(allowed_orders_default_is_pmd_with_hugepage),
	cmocka_unit_test(allowed_orders_only_2_to_pmd),
	cmocka_unit_test(allowed_orders_none_for_nohugepage_noanonvma_not_anon),
	cmocka_unit_test(precheck_vma_check_comes_first),
	cmocka_unit_test(precheck_address_range_before_pte_table),
	cmocka_unit_test(precheck_no_pte_table_before_pmd_mapped),
	cmocka_unit_test(precheck_api_returns_succeed_for_a_table),
	cmocka_unit_test(madvise_context_ignores_sysfs),
	cmocka_unit_test(madvise_context_refuses_nohugepage_noanonvma_not_anon),
	cmocka_unit_test(legacy_and_seed_need_the_pmd_order),
	cmocka_unit_test(rules_record_eligibility_and_pmd_only),
	cmocka_unit_test(legacy_collapses_whole_range_at_pmd_order),
	cmocka_unit_test(upstream_max_none_511_is_2_pow_o_minus_1),
	cmocka_unit_test(upstream_max_none_0_needs_full_windows),
	cmocka_unit_test(upstream_other_max_none_acts_as_0_below_pmd),
	cmocka_unit_test(upstream_pmd_count_threshold_is_exact),
	cmocka_unit_test(upstream_swap_entries_count_at_pmd_order),
	cmocka_unit_test(upstream_swap_entries_do_not_count_below_pmd),
	cmocka_unit_test(upstream_swap_below_pmd_fails_attempt),
	cmocka_unit_test(upstream_uffd_none_limit_applies_at_attempt),
	cmocka_unit_test(upstream_uffd_keeps_scan_limit_0_when_pmd_only),
	cmocka_unit_test(upstream_scan_none_limit_raised_below_pmd),
	cmocka_unit_test(upstream_shared_limit_0_below_pmd),
	cmocka_unit_test(upstream_pmd_shared_limit_is_max_ptes_shared),
	cmocka_unit_test(upstream_large_folio_vetoes_its_order_and_below),
	cmocka_unit_test(upstream_shared_check_before_folio_check_on_one_pte),
	cmocka_unit_test(upstream_mapped_hugepage_advances_past_window),
	cmocka_unit_test(upstream_folio_order_below_window_order_is_no_veto),
	cmocka_unit_test(upstream_pmd_order_has_no_folio_veto),
	cmocka_unit_test(upstream_lack_referenced_is_per_window),
	cmocka_unit_test(upstream_walk_lowers_then_advances_by_alignment),
	cmocka_unit_test(upstream_mthp_only_without_pmd_size),
	cmocka_unit_test(upstream_madvise_tries_only_pmd),
	cmocka_unit_test(result_table_rows_are_filled),
	cmocka_unit_test(walk_action_matches_contract),
	cmocka_unit_test(walk_upstream_lowers_advances_and_stops),
	cmocka_unit_test(walk_seed_splits_after_any_failure),
	cmocka_unit_test(seed_no_scan_none_limit_when_not_pmd_only),
	cmocka_unit_test(seed_uffd_keeps_none_limit_0),
	cmocka_unit_test(seed_chunk_bit_threshold_is_max_none_shifted),
	cmocka_unit_test(seed_last_chunk_is_never_set),
	cmocka_unit_test(seed_density_test_is_strict),
	cmocka_unit_test(seed_pmd_only_skips_density_test),
	cmocka_unit_test(seed_always_size_skips_density_test),
	cmocka_unit_test(seed_inherit_under_global_always_takes_density_test),
	cmocka_unit_test(seed_pmd_size_always_skips_density_test),
	cmocka_unit_test(seed_attempt_none_limit_is_scaled),
	cmocka_unit_test(seed_attempt_none_limit_unlimited_in_madvise),
	cmocka_unit_test(seed_shared_below_pmd_fails_at_once),
	cmocka_unit_test(seed_lack_referenced_per_window),
	cmocka_unit_test(seed_has_no_folio_veto),
	cmocka_unit_test(seed_failed_window_splits_in_preorder),
	cmocka_unit_test(seed_madvise_decides_as_legacy),
	cmocka_unit_test(geometry_512_plans_each_policy),
	cmocka_unit_test(geometry_2048_plans_each_policy),
	cmocka_unit_test(geometry_8192_plans_each_policy),
	cmocka_unit_test(geometry_upstream_max_none_is_n_minus_1),
	cmocka_unit_test(settings_defaults_per_geometry),
	cmocka_unit_test(settings_size_names_valid_per_geometry),
	cmocka_unit_test(settings_size_names_invalid_per_geometry),
	cmocka_unit_test(settings_out_of_range_names_knob_and_range),
	cmocka_unit_test(settings_in_range_values_are_set),
	cmocka_unit_test(settings_unknown_knob_is_enoent),
	cmocka_unit_test(settings_plus_prefix_allowed),
	cmocka_unit_test(settings_malformed_integers_rejected),
	cmocka_unit_test(settings_overflow_rejected),
	cmocka_unit_test(settings_assignment_form),
	cmocka_unit_test(selftest_max_ptes_none_256),
	cmocka_unit_test(selftest_max_ptes_swap_64),
	cmocka_unit_test(selftest_max_ptes_shared_256),
	cmocka_unit_test(selftest_uffd_armed_vma),
	cmocka_unit_test(selftest_single_present_pte_with_511),
	cmocka_unit_test(creep_seed_grows_to_pmd_in_three_rounds),
	cmocka_unit_test(creep_upstream_rounds_of_seed_creep_example),
	cmocka_unit_test(creep_upstream_none),
)
