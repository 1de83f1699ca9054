// SPDX-License-Identifier: MIT
/*
 * test_guarded.c - the guarded policy (docs/guarded-policy.md): every
 * max_ptes_none honoured at every order, no creep, and no attempt (so no
 * allocation) for a window that already holds a folio of its order; fills
 * below the PMD order only at the orders the machine maps with fewer TLB
 * entries (geo.cont_order) and only in a range out of the PMD's reach; the
 * folio discount only for folios that may hold fills.
 *
 * The creep property: plan a random table, apply the plan's collapses
 * (new folios of the window's order, every PTE present), plan again; the
 * second plan must not collapse a window over a folio the first plan made.
 * It is checked for every max_ptes_none from 0 to 511, on machines with
 * and without cont entries, with and without the folios' fill flags, and
 * the same check must catch seed's creep, so that it is known to be able
 * to fail.  The simulator's counts show the same on the shipped scenarios
 * and the replays of the shipped recordings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/engine.h>
#include <mthp/record.h>
#include <mthp/replay.h>
#include <mthp/result.h>
#include <mthp/scenario.h>
#include <mthp/settings.h>

#include "common/rng.h"
#include "helpers/table.h"
#include "helpers/test_main.h"

#define KH MTHP_CONTEXT_KHUGEPAGED
#define GUARDED MTHP_POLICY_GUARDED
#define UP MTHP_POLICY_UPSTREAM
#define SEED MTHP_POLICY_SEED
#define HP (MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE)
#define UFFD (MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE | MTHP_VMA_UFFD)

static struct mthp_settings S;
static struct mt_table T;

#define SET(n, ...) MT_SET(&S, (n), ##__VA_ARGS__)

#define PLAN(pol, flags) mt_plan_str(mt_plan(&S, (pol), KH, (flags), &T))

/*
 * Aligned blocks of a random order, each present with its own density:
 * the partly filled windows where a scaled limit decides.
 */
static void table_blocks(struct mt_table *t, uint32_t n, struct mthp_rng *r)
{
	unsigned o = 2 + mthp_rng_below(r, 6);
	uint32_t len = 1u << o;

	mt_table_init(t, n, '.');
	for (uint32_t off = 0; off < n; off += len) {
		uint32_t density = mthp_rng_below(r, 17);	/* sixteenths */

		for (uint32_t i = off; i < off + len; i++)
			if (mthp_rng_below(r, 16) < density) {
				t->ptes[i] = mthp_rng_below(r, 4) ? 'A' : 'a';
				t->folios[i] = mt_default_folio(t->ptes[i]);
			}
	}
}

/*
 * Does any collapse of p cover a page of a folio of order >= 2 in t,
 * other than one over a window that the plan before, first, failed only
 * because the LRU add batch held a page of it (SCAN_PAGE_COUNT)?
 */
static bool grows_a_folio(const struct mthp_pmd_plan *p, const struct mthp_pmd_plan *first,
			  const struct mt_table *before)
{
	for (uint32_t k = 0; k < p->nr_collapses; k++) {
		const struct mthp_window *w = &p->collapses[k];

		if (mt_after_page_count(first, w))
			continue;

		for (uint32_t i = w->offset; i < w->offset + (1u << w->order); i++)
			if (before->folios[i] != MTHP_NO_FOLIO && before->folios[i] >= 2 &&
			    before->folios[i] < w->order)
				return true;
	}
	return false;
}

struct creep_count {
	uint32_t tables_with_collapse;
	uint32_t collapses;
	uint32_t creeping;	/* tables whose second plan grew a first-plan folio */
};

/* The cont orders of x86-64, Zen and arm64 with 4K pages. */
static const uint32_t conts[] = { 0, 2, 4 };

/* Plan, apply, plan again: count what the second plan grows. */
static void creep_round(enum mthp_policy pol, uint32_t max_none, unsigned tables,
			struct creep_count *cc)
{
	static const char *const size_sets[][4] = {
		{ "hugepages-16kB/enabled=always", "hugepages-64kB/enabled=always", NULL },
		{ "hugepages-32kB/enabled=always", "hugepages-256kB/enabled=always", NULL },
		{ "hugepages-16kB/enabled=always", "hugepages-32kB/enabled=always",
		  "hugepages-64kB/enabled=always", "hugepages-128kB/enabled=always" },
		{ "hugepages-512kB/enabled=always", "hugepages-1024kB/enabled=always",
		  "hugepages-64kB/enabled=madvise", NULL },
	};
	static struct mt_table before;
	static struct mthp_pmd_plan first;
	char mn[64];
	struct mthp_rng r;

	snprintf(mn, sizeof(mn), "khugepaged/max_ptes_none=%u", max_none);
	mthp_rng_seed(&r, 0x67756172u + max_none);
	for (unsigned i = 0; i < tables; i++) {
		const char *const *set = size_sets[mthp_rng_below(&r, 4)];
		uint32_t flags = mthp_rng_below(&r, 10) == 0 ? UFFD : HP;
		const struct mthp_pmd_plan *p;

		SET(512, mn, "enabled=always", set[0], set[1], set[2],
		    set[3]);
		S.geo.cont_order = conts[mthp_rng_below(&r, 3)];
		if (i % 2)
			table_blocks(&T, 512, &r);
		else
			mt_table_random(&T, 512, &r, 0);
		/* half the tables say which folios may hold fills */
		T.has_fills = mthp_rng_below(&r, 2);
		for (uint32_t k = 0; T.has_fills && k < 512; k++)
			T.fills[k] = (uint8_t)mthp_rng_below(&r, 2);
		first = *mt_plan(&S, pol, KH, flags, &T);
		if (first.nr_collapses) {
			cc->tables_with_collapse++;
			cc->collapses += first.nr_collapses;
		}
		/* every collapse within max_ptes_none scaled to its order */
		if (pol == GUARDED && !(flags & MTHP_VMA_UFFD))
			for (uint32_t k = 0; k < first.nr_collapses; k++) {
				const struct mthp_window *w = &first.collapses[k];
				uint32_t none = mt_table_count(&T, w->offset,
							       w->offset + (1u << w->order), ".0");

				if (none > max_none >> (9 - w->order))
					fail_msg("max_ptes_none %u, table %u: %u none PTEs in the "
						 "collapse at %u order %u", max_none, i, none,
						 w->offset, w->order);
			}
		mt_table_apply(&T, &first);
		before = T;
		p = mt_plan(&S, pol, KH, flags, &T);
		if (grows_a_folio(p, &first, &before)) {
			cc->creeping++;
			if (pol == GUARDED)
				fail_msg("max_ptes_none %u, table %u: after '%.200s' the next plan "
					 "grows a new folio: '%.300s'", max_none, i,
					 mt_plan_str(&first), mt_plan_str(p));
		}
	}
}

/* The property, for every max_ptes_none from 0 to 511. */
static void guarded_never_creeps(void **state)
{
	struct creep_count cc = { 0 };

	(void)state;
	for (uint32_t max_none = 0; max_none < 512; max_none++)
		creep_round(GUARDED, max_none, 60, &cc);
	/* the property means something only if the first plans collapse */
	assert_true(cc.tables_with_collapse > 512 * 60 / 4);
	assert_true(cc.collapses > 512 * 60);
	assert_int_equal(cc.creeping, 0);
}

/* The same check finds seed's creep: it can fail. */
static void the_check_catches_seed_creep(void **state)
{
	struct creep_count cc = { 0 };

	(void)state;
	for (uint32_t max_none = 64; max_none < 512; max_none += 64)
		creep_round(SEED, max_none, 200, &cc);
	assert_true(cc.creeping > 0);
}

/*
 * arm64 with 4K pages (cont order 4), 64kB and 128kB, the PMD size never,
 * max_ptes_none 255: 128kB needs 17 of 32, 64kB 9 of 16.
 * The first half has 9, the second 7: the 128kB window fails (16), the
 * first half collapses and fills 7.  At the next scan the 128kB window
 * would count 23 under seed's rule and collapse (creep); guarded does not
 * count 7 pages of the new 64kB folio, the most its collapse can have
 * filled, so it still counts 16 and fails.
 */
static void guarded_does_not_count_what_a_collapse_filled(void **state)
{
	static struct mthp_pmd_plan first;
	const char *seed_first;

	(void)state;
	SET(512, "khugepaged/max_ptes_none=255", "hugepages-64kB/enabled=always",
	    "hugepages-128kB/enabled=always", "hugepages-2048kB/enabled=never");
	S.geo.cont_order = 4;
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 0, "AAAAAAAAA.......AAAAAAA.........");
	first = *mt_plan(&S, GUARDED, KH, HP, &T);
	assert_string_equal(mt_plan_str(&first), "SUCCEED C[0/4] A[] F=7");
	mt_table_apply(&T, &first);
	assert_string_equal(PLAN(GUARDED, HP), "SUCCEED C[] A[] F=0");
	/* the program writes one more page of the second half: 17, it passes */
	mt_table_put(&T, 23, "A");
	assert_string_equal(PLAN(GUARDED, HP), "SUCCEED C[0/5] A[] F=8");
	/*
	 * seed's scaled limits, on the same table after the 64kB collapse,
	 * creep.  (seed's own first pass collapses nothing here: its 128kB
	 * attempt isolates pages 0..30 before the 16th none PTE fails it, and
	 * they wait in the LRU add batch when its 64kB windows come.)
	 */
	SET(512, "khugepaged/max_ptes_none=255", "hugepages-64kB/enabled=always",
	    "hugepages-128kB/enabled=always");
	mt_table_init(&T, 512, '.');
	mt_table_put(&T, 0, "AAAAAAAAA.......AAAAAAA.........");
	seed_first = PLAN(SEED, HP);
	assert_ptr_equal(strstr(seed_first, "SUCCEED C[] A[0/5:EXCEED_NONE_PTE "
				"0/4:PAGE_COUNT 16/4:PAGE_COUNT 32/5:"), seed_first);
	mt_table_apply(&T, &first);
	assert_int_not_equal(mt_plan(&S, SEED, KH, HP, &T)->nr_collapses, 0);
}

/*
 * arm64 (cont order 4), 64kB and 128kB, max_ptes_none 255: the table of
 * pattern planned by guarded with no folio flags (a snapshot: every large
 * folio may hold fills), with PTEs [from, to) flagged as holding fills,
 * and flagged as holding none.
 */
static void discount_case(const char *pattern, uint32_t from, uint32_t to,
			  const char *unknown, const char *flagged, const char *clean)
{
	char err[256];

	SET(512, "khugepaged/max_ptes_none=255", "hugepages-64kB/enabled=always",
	    "hugepages-128kB/enabled=always", "hugepages-2048kB/enabled=never");
	S.geo.cont_order = 4;
	if (mt_table_pattern(&T, 512, pattern, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(PLAN(GUARDED, HP), unknown);
	T.has_fills = true;
	for (uint32_t i = from; i < to; i++)
		T.fills[i] = 1;
	assert_string_equal(PLAN(GUARDED, HP), flagged);
	for (uint32_t i = from; i < to; i++)
		T.fills[i] = 0;
	assert_string_equal(PLAN(GUARDED, HP), clean);
}

/*
 * The discount counts only folios that may hold fills: a 64kB folio and
 * 7 present PTEs beside it.  Not knowing its history, the 128kB window
 * counts 23 - 7 = 16 of the 17 it needs; a folio that no collapse filled
 * (a fault's) counts whole.
 */
static void guarded_discounts_only_what_may_hold_fills(void **state)
{
	(void)state;
	discount_case("A*16@4 A*7", 0, 16, "SUCCEED C[] A[] F=0", "SUCCEED C[] A[] F=0",
		      "SUCCEED C[0/5] A[] F=9");
}

/*
 * A folio the program unmapped in part, its first page too (7.2 splits it
 * later, if ever): what is left of it is discounted all the same, as many
 * of its pages as max_none(k) or fewer.  12 pages of a 64kB folio and 7
 * PTEs beside them: less 7, the 128kB window has 12 of the 17 it needs;
 * counted whole (a folio no collapse filled), 19, and it collapses.
 */
static void guarded_discounts_a_folio_unmapped_in_part(void **state)
{
	(void)state;
	discount_case(".*4 A*12@4 A*7", 4, 16, "SUCCEED C[] A[] F=0", "SUCCEED C[] A[] F=0",
		      "SUCCEED C[0/5] A[] F=13");
}

/* The table of pattern (`mthp plan --ptes`) into T, or fail the case. */
static void table(const char *pattern)
{
	char err[256];

	if (mt_table_pattern(&T, 512, pattern, err, sizeof(err)))
		fail_msg("pattern '%s': %s", pattern, err);
}

/*
 * One table planned by upstream and by guarded, with these knobs: what
 * each plans differs where guarded honours max_ptes_none at every order
 * and goes past a window that already is a folio of its order.
 */
static void guarded_plans_beside_upstream(void **state)
{
	static const struct {
		const char *what;
		uint32_t cont;
		const char *knobs[4];
		const char *ptes;
		const char *up, *guarded;
	} cases[] = {
		/*
		 * max_ptes_none 255 (half) with 16kB and 64kB on arm64 (cont
		 * order 4): 9 of 16 PTEs present pass 64kB's limit of 7 none
		 * PTEs under guarded; upstream takes 255 as 0 below the PMD
		 * order and collapses only the two fully present 16kB blocks.
		 */
		{ "an intermediate max_ptes_none", 4,
		  { "khugepaged/max_ptes_none=255", "hugepages-16kB/enabled=always",
		    "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never" },
		  "A*5 a*4", "SUCCEED C[0/2 4/2] A[] F=0", "SUCCEED C[0/4] A[] F=7" },
		/* the same on x86-64: a 64kB folio saves no TLB entry, 7.2's limit */
		{ "no TLB entry to save", 0,
		  { "khugepaged/max_ptes_none=255", "hugepages-16kB/enabled=always",
		    "hugepages-64kB/enabled=always", "hugepages-2048kB/enabled=never" },
		  "A*5 a*4", "SUCCEED C[0/2 4/2] A[] F=0", "SUCCEED C[0/2 4/2] A[] F=0" },
		/*
		 * arm64, 16kB alone at 384: 3 of 4 present would pass a scaled
		 * limit of 1, but a 16kB folio is below the contpte size
		 */
		{ "an order below the cont order", 4,
		  { "khugepaged/max_ptes_none=384", "hugepages-16kB/enabled=always",
		    "hugepages-2048kB/enabled=never" },
		  "A*3 . A*4", "SUCCEED C[4/2] A[] F=0", "SUCCEED C[4/2] A[] F=0" },
		/*
		 * arm64, 64kB and the PMD size at 64 (64kB: 2 none PTEs): the
		 * first range has 482 none PTEs, more than 2 * 64, so no fill
		 * could bring its PMD window in reach: the first 64kB window
		 * takes 2.  The second has 92 (420 present, 448 needed):
		 * within reach, 7.2's limit, and none of its 26 windows with
		 * one none PTE collapses.
		 */
		{ "out of the PMD's reach", 4,
		  { "khugepaged/max_ptes_none=64", "hugepages-64kB/enabled=always",
		    "hugepages-2048kB/enabled=always" },
		  "A*14 .*2 A*16", "SUCCEED C[16/4] A[] F=0", "SUCCEED C[0/4 16/4] A[] F=2" },
		{ "within the PMD's reach", 4,
		  { "khugepaged/max_ptes_none=64", "hugepages-64kB/enabled=always",
		    "hugepages-2048kB/enabled=always" },
		  "A*14 .*2 A*16 .*64 "
		  "A*15 . A*15 . A*15 . A*15 . A*15 . A*15 . A*15 . A*15 . "
		  "A*15 . A*15 . A*15 . A*15 . A*15 . A*15 . A*15 . A*15 . "
		  "A*15 . A*15 . A*15 . A*15 . A*15 . A*15 . A*15 . A*15 . "
		  "A*15 . A*15 .",
		  "SUCCEED C[16/4] A[] F=0",
		  "SUCCEED C[16/4] A[] F=0" },
		/*
		 * A window that already holds a folio of its order is not
		 * handed out: upstream attempts it (the kernel allocates, then
		 * drops the folio), guarded goes past it.
		 */
		{ "a window that is a folio of its order", 4,
		  { "khugepaged/max_ptes_none=0", "hugepages-64kB/enabled=always",
		    "hugepages-2048kB/enabled=never" },
		  "A*16@4 A*16", "SUCCEED C[16/4] A[0/4:PTE_MAPPED_HUGEPAGE] F=0",
		  "SUCCEED C[16/4] A[] F=0" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *k = cases[i].knobs;
		const char *up, *guarded;

		SET(512, k[0], k[1], k[2], k[3]);
		S.geo.cont_order = cases[i].cont;
		table(cases[i].ptes);
		up = PLAN(UP, HP);
		guarded = PLAN(GUARDED, HP);
		if (strcmp(up, cases[i].up) || strcmp(guarded, cases[i].guarded))
			fail_msg("%s: upstream '%s', guarded '%s'; want '%s', '%s'", cases[i].what,
				 up, guarded, cases[i].up, cases[i].guarded);
	}
}

/* At 0 and 511 guarded plans what upstream plans, on random tables. */
static void guarded_is_upstream_at_the_ends(void **state)
{
	struct mthp_rng r;
	static struct mthp_pmd_plan up;
	const struct mthp_pmd_plan *g;

	(void)state;
	mthp_rng_seed(&r, 42);
	for (unsigned i = 0; i < 4000; i++) {
		SET(512, i % 2 ? "khugepaged/max_ptes_none=511" : "khugepaged/max_ptes_none=0",
		    "hugepages-16kB/enabled=always", "hugepages-64kB/enabled=always",
		    "hugepages-256kB/enabled=always");
		mt_table_random(&T, 512, &r, 1);
		/* no existing folios: there upstream attempts where guarded does not */
		memset(T.folios, 0, sizeof(T.folios));
		up = *mt_plan(&S, UP, KH, HP, &T);
		g = mt_plan(&S, GUARDED, KH, HP, &T);
		assert_int_equal(g->scan, up.scan);
		assert_int_equal(g->pages_filled, up.pages_filled);
		assert_int_equal(g->nr_collapses, up.nr_collapses);
		assert_int_equal(g->nr_attempts, up.nr_attempts);
		for (uint32_t k = 0; k < up.nr_collapses; k++)
			assert_memory_equal(&g->collapses[k], &up.collapses[k], sizeof(up.collapses[k]));
		for (uint32_t k = 0; k < up.nr_attempts; k++)
			if (memcmp(&g->attempts[k], &up.attempts[k], sizeof(up.attempts[k])))
				fail_msg("table %u, attempt %u: upstream %u/%u:%s, guarded %u/%u:%s", i, k,
					 up.attempts[k].offset, up.attempts[k].order,
					 mt_result_short(up.attempts[k].result), g->attempts[k].offset,
					 g->attempts[k].order, mt_result_short(g->attempts[k].result));
	}
}

/*
 * On a machine without cont entries (x86-64) guarded plans what upstream
 * plans at every max_ptes_none, on random tables without large folios.
 */
static void guarded_is_upstream_without_cont_entries(void **state)
{
	struct mthp_rng r;
	static struct mthp_pmd_plan up;
	const struct mthp_pmd_plan *g;
	char mn[64];

	(void)state;
	mthp_rng_seed(&r, 86);
	for (unsigned i = 0; i < 8000; i++) {
		snprintf(mn, sizeof(mn), "khugepaged/max_ptes_none=%u", (unsigned)mthp_rng_below(&r, 512));
		SET(512, mn, "hugepages-16kB/enabled=always", "hugepages-64kB/enabled=always",
		    "hugepages-256kB/enabled=always",
		    mthp_rng_below(&r, 2) ? "hugepages-2048kB/enabled=always" :
					    "hugepages-2048kB/enabled=never");
		assert_int_equal(S.geo.cont_order, 0);
		mt_table_random(&T, 512, &r, 1);
		memset(T.folios, 0, sizeof(T.folios));
		up = *mt_plan(&S, UP, KH, HP, &T);
		g = mt_plan(&S, GUARDED, KH, HP, &T);
		if (strcmp(mt_plan_str(&up), mt_plan_str(g)))
			fail_msg("table %u, %s: upstream '%s', guarded '%s'", i, mn,
				 mt_plan_str(&up), mt_plan_str(g));
	}
}

/*
 * The simulator, on every shipped scenario, max_ptes_none 0, 64, 128,
 * 255, 384 and 511, on x86-64 and arm64 with 4K pages: no re-collapse of
 * guarded crept, and no collapse allocation of guarded was dropped;
 * upstream drops some (it allocates for windows that already are a folio
 * of that size), so the count can tell.
 */
static void guarded_in_the_simulator(void **state)
{
	static const char *const files[] = {
		"scenarios/default.ini", "scenarios/database.ini", "scenarios/hashtable.ini",
		"scenarios/jvm.ini", "scenarios/malloc-server.ini", "scenarios/fork-workers.ini",
	};
	static const uint32_t values[] = { 0, 64, 128, 255, 384, 511 };
	struct mthp_diag diag = { .warn = NULL };
	uint64_t upstream_dropped = 0, guarded_collapses = 0;

	(void)state;
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct mthp_scenario sc;

		if (mthp_scenario_read(&sc, files[i], &diag))
			fail_msg("%s", diag.msg);
		for (unsigned m = 0; m < 2 * sizeof(values) / sizeof(values[0]); m++) {
			struct mthp_run_opts opts = { .policy = MTHP_POLICY_GUARDED };
			struct mthp_run_report g, u;
			struct mthp_settings set;
			uint32_t v = values[m / 2];

			assert_int_equal(mthp_scenario_settings(&sc, &set, &diag), 0);
			/* x86-64, then arm64 (contpte: 16 PTEs) */
			set.geo.cont_order = m % 2 ? 4 : 0;
			set.max_ptes_none = v * set.geo.ptes_per_pmd / 512;
			if (set.max_ptes_none >= set.geo.ptes_per_pmd)
				set.max_ptes_none = set.geo.ptes_per_pmd - 1;
			if (mthp_scenario_run(&sc, &set, 1, &opts, &g, &diag))
				fail_msg("%s: %s", files[i], diag.msg);
			opts.policy = MTHP_POLICY_UPSTREAM;
			if (mthp_scenario_run(&sc, &set, 1, &opts, &u, &diag))
				fail_msg("%s: %s", files[i], diag.msg);
			if (g.crept || g.collapse_allocs_dropped)
				fail_msg("%s, max_ptes_none %u, cont order %u: guarded crept %llu "
					 "times (upstream %llu), dropped %llu allocations", files[i],
					 set.max_ptes_none, set.geo.cont_order,
					 (unsigned long long)g.crept, (unsigned long long)u.crept,
					 (unsigned long long)g.collapse_allocs_dropped);
			for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
				guarded_collapses += g.collapses_by_order[o];
			upstream_dropped += u.collapse_allocs_dropped;
			mthp_run_report_free(&g);
			mthp_run_report_free(&u);
		}
		mthp_scenario_free(&sc);
	}
	assert_true(guarded_collapses > 1000);
	assert_true(upstream_dropped > 1000);
}

/*
 * The replays of the shipped recordings of real programs, as
 * scripts/guarded-evidence replays them (the 16K and 64K sizes always,
 * khugepaged every 100 ms), at max_ptes_none 0, 128 and 511 on both
 * machines, on a machine of 2 GiB (the recording host's 24 GiB would make
 * a debug build's whole-simulator checks take tens of seconds a replay):
 * no attempt of guarded found its window a folio already
 * (SCAN_PTE_MAPPED_HUGEPAGE, an allocation dropped), and upstream's do.
 * Other allocations are dropped there under either policy: 7.2 checks the
 * page references and young bits after allocating (SCAN_PAGE_COUNT,
 * SCAN_LACK_REFERENCED_PAGE).  A replay cannot count creep (no page is
 * known never written).
 */
static void guarded_in_the_replays(void **state)
{
	static const char *const files[] = {
		"recordings/redis.rec", "recordings/python-heap.rec", "recordings/gcc-cc1.rec",
	};
	static const char *const sets[] = {
		"hugepages-16kB/enabled=always", "hugepages-64kB/enabled=always",
		"khugepaged/scan_sleep_millisecs=100",
	};
	static const uint32_t values[] = { 0, 128, 511 };
	struct mthp_diag diag = { .warn = NULL };
	uint64_t upstream_over_folios = 0, guarded_collapses = 0;

	(void)state;
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct mthp_rec_reader r;
		struct mthp_settings set;
		char why[256];
		FILE *f = fopen(files[i], "rb");

		if (!f)
			fail_msg("%s: cannot open", files[i]);
		if (mthp_rec_reader_open(&r, f, files[i], &diag))
			fail_msg("%s", diag.msg);
		assert_int_equal(mthp_snapshot_settings(&r.host, &set, files[i], &diag), 0);
		mthp_rec_reader_free(&r);
		for (unsigned k = 0; k < sizeof(sets) / sizeof(sets[0]); k++)
			if (mthp_settings_set_assignment(&set, sets[k], why, sizeof(why)))
				fail_msg("%s: %s", sets[k], why);
		for (unsigned m = 0; m < 2 * sizeof(values) / sizeof(values[0]); m++) {
			struct mthp_replay_opts opts = {
				.policy = MTHP_POLICY_GUARDED, .settings = &set,
				.size = { .memory_bytes = 2ull << 30, .memory_set = true },
			};
			struct mthp_replay_report g, u;

			/* x86-64, then arm64 (contpte: 16 PTEs) */
			set.geo.cont_order = m % 2 ? 4 : 0;
			set.max_ptes_none = values[m / 2];
			rewind(f);
			if (mthp_replay(f, files[i], &opts, &g, &diag))
				fail_msg("%s", diag.msg);
			opts.policy = MTHP_POLICY_UPSTREAM;
			rewind(f);
			if (mthp_replay(f, files[i], &opts, &u, &diag))
				fail_msg("%s", diag.msg);
			if (g.run.failed_by_result[SCAN_PTE_MAPPED_HUGEPAGE])
				fail_msg("%s, max_ptes_none %u, cont order %u: %llu guarded attempts "
					 "over a folio of their order", files[i], set.max_ptes_none,
					 set.geo.cont_order, (unsigned long long)
					 g.run.failed_by_result[SCAN_PTE_MAPPED_HUGEPAGE]);
			guarded_collapses += g.collapses;
			upstream_over_folios += u.run.failed_by_result[SCAN_PTE_MAPPED_HUGEPAGE];
			mthp_replay_report_free(&g);
			mthp_replay_report_free(&u);
		}
		fclose(f);
	}
	assert_true(guarded_collapses > 1000);
	assert_true(upstream_over_folios > 1000);
}

/* The crept count can be non-zero: seed at 384 on the JVM-like heap. */
static void seed_creeps_in_the_simulator(void **state)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_run_opts opts = { .policy = MTHP_POLICY_SEED };
	struct mthp_run_report rep;
	struct mthp_scenario sc;
	struct mthp_settings set;

	(void)state;
	if (mthp_scenario_read(&sc, "scenarios/jvm.ini", &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(mthp_scenario_settings(&sc, &set, &diag), 0);
	set.max_ptes_none = 384;
	if (mthp_scenario_run(&sc, &set, 1, &opts, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_true(rep.crept > 0);
	assert_true(rep.crept <= rep.recollapses);
	mthp_run_report_free(&rep);
	mthp_scenario_free(&sc);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(guarded_plans_beside_upstream),
	cmocka_unit_test(guarded_does_not_count_what_a_collapse_filled),
	cmocka_unit_test(guarded_is_upstream_at_the_ends),
	cmocka_unit_test(guarded_is_upstream_without_cont_entries),
	cmocka_unit_test(guarded_discounts_only_what_may_hold_fills),
	cmocka_unit_test(guarded_discounts_a_folio_unmapped_in_part),
	cmocka_unit_test(guarded_never_creeps),
	cmocka_unit_test(the_check_catches_seed_creep),
	cmocka_unit_test(guarded_in_the_simulator),
	cmocka_unit_test(guarded_in_the_replays),
	cmocka_unit_test(seed_creeps_in_the_simulator),
)
