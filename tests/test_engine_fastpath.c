// SPDX-License-Identifier: MIT
/*
 * test_engine_fastpath.c - every implementation of the PTE classification
 * (portable, SSE2, AVX2, AVX-512, AVX-512 with VBMI; those the CPU has) decides every table
 * as the portable one does: the scan (result, counters, bitmaps) and the
 * whole plan, on the worked examples of tests/examples and on random
 * tables of all three geometries, under all policies, both contexts and
 * max_ptes_none 0, N-1 or random.
 *
 * The number of random tables is ten times MTHP_PROP_TABLES (whose default
 * is 100000), so 10^6 unless CI asks for fewer (as it does under the
 * sanitizers).
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
#include <mthp/snapshot.h>

#include "common/rng.h"
#include "engine/engine_internal.h"
#include "helpers/examples.h"
#include "helpers/table.h"


static const char *const impl_names[MTHP_NR_IMPLS] = {
	[MTHP_IMPL_PORTABLE] = "portable", [MTHP_IMPL_SSE2] = "sse2",
	[MTHP_IMPL_AVX2] = "avx2", [MTHP_IMPL_AVX512] = "avx512",
	[MTHP_IMPL_AVX512_VBMI] = "avx512-vbmi",
};

static unsigned nr_tables(void)
{
	const char *e = getenv("MTHP_PROP_TABLES");
	long v = e && *e ? strtol(e, NULL, 10) : 0;

	return v > 0 ? (unsigned)v * 10 : 1000000;
}

static bool same_scan(const struct mthp_scan *a, const struct mthp_scan *b)
{
	uint32_t words = a->nr_ptes / 64;
	size_t len = words * sizeof(uint64_t);

	if (a->result != b->result || a->fail_index != b->fail_index ||
	    a->none_or_zero != b->none_or_zero || a->unmapped != b->unmapped ||
	    a->shared != b->shared || a->referenced != b->referenced ||
	    a->nr_none != b->nr_none || a->nr_swap != b->nr_swap ||
	    a->nr_shared != b->nr_shared || a->nr_bad != b->nr_bad ||
	    a->nr_young != b->nr_young || a->has_large != b->has_large)
		return false;
	return !memcmp(a->occupied, b->occupied, len) && !memcmp(a->none, b->none, len) &&
	       !memcmp(a->swap, b->swap, len) && !memcmp(a->young, b->young, len) &&
	       !memcmp(a->shared_pte, b->shared_pte, len) && !memcmp(a->bad, b->bad, len) &&
	       (!a->has_large || !memcmp(a->large, b->large, len));
}

/* ------------------------------------------------------------------ */
/* Random tables */

static const uint8_t alphabet[] = {
	MTHP_PTE_NONE, MTHP_PTE_ZERO, MTHP_PTE_SWAP, MTHP_PTE_UFFD_WP,
	MTHP_PTE_YOUNG, MTHP_PTE_OLD, MTHP_PTE_SHARED_YOUNG, MTHP_PTE_SHARED_OLD,
	MTHP_PTE_NOT_ANON, MTHP_PTE_SPECIAL, MTHP_PTE_LAZYFREE, MTHP_PTE_LOCKED,
	MTHP_PTE_PINNED, MTHP_PTE_NOT_LRU,
};
#define NR_STATES (sizeof(alphabet) / sizeof(alphabet[0]))

struct fcase {
	struct mthp_settings s;
	struct mthp_rules r;
	uint8_t ptes[MTHP_MAX_PTES];
	uint8_t orders[MTHP_MAX_PTES];
};

/*
 * States of runs and noise, by weight: mostly young, old and none, so that
 * many scans pass.  The states that fail outright are put in a few places
 * of some tables only, so that they end some scans and attempts but not
 * most.
 */
static const char weighted[] =
	"AAAAAAAAAAAAAAAAAAAAAAAAAA..........aaaaaaaaaaSsw0l";
static const char failing[] = "uKfnPNl";
static bool has_folio[256];
#define NR_WEIGHTED (sizeof(weighted) - 1)

/*
 * A byte the vector forms could mistake for a state: a state with the case
 * bit flipped, or with the top bit set.
 */
static uint8_t odd_byte(struct mthp_rng *g)
{
	uint8_t c = alphabet[mthp_rng_below(g, NR_STATES)];

	return mthp_rng_below(g, 2) ? c ^ 0x20 : c | 0x80;
}

/*
 * Runs of one state, half of them with noise of other states, each run
 * with the folio order of its pages: dense and sparse runs of all lengths,
 * so that windows of every order pass and fail.  Then a few PTEs that fail
 * outright, odd bytes and odd folio orders in some tables.
 */
static void random_table(struct fcase *fc, uint32_t n, struct mthp_rng *g)
{
	uint32_t i = 0;

	while (i < n) {
		uint32_t len = 1 + mthp_rng_below(g, mthp_rng_below(g, 2) ? 8 : 160);
		uint8_t main_state = (uint8_t)weighted[mthp_rng_below(g, NR_WEIGHTED)];
		uint32_t noise = mthp_rng_below(g, 2) ? 0 : 1 + mthp_rng_below(g, 4);
		uint8_t order = mthp_rng_below(g, 3) ? 0 : (uint8_t)mthp_rng_below(g, 14);
		uint64_t r = 0;

		if (len > n - i)
			len = n - i;
		if (!noise) {
			memset(fc->ptes + i, main_state, len);
			memset(fc->orders + i, has_folio[main_state] ? order : MTHP_NO_FOLIO, len);
			i += len;
			continue;
		}
		for (uint32_t k = 0; k < len; k++, i++, r >>= 16) {
			uint8_t c, noisy;

			if (noise && k % 4 == 0)
				r = mthp_rng_next(g);
			/* 16 bits a PTE: 4 for the odds of noise, 12 for the state */
			noisy = (uint8_t)weighted[((r >> 4) & 0xfff) % NR_WEIGHTED];
			c = (r & 15) < noise ? noisy : main_state;
			fc->ptes[i] = c;
			fc->orders[i] = has_folio[c] ? order : MTHP_NO_FOLIO;
		}
	}
	for (uint32_t k = mthp_rng_below(g, 8); k < 3; k++)
		fc->ptes[mthp_rng_below(g, n)] = (uint8_t)failing[mthp_rng_below(g, 7)];
	for (uint32_t k = mthp_rng_below(g, 16); k < 2; k++)
		fc->ptes[mthp_rng_below(g, n)] = odd_byte(g);
	for (uint32_t k = mthp_rng_below(g, 8); k < 2; k++)
		fc->orders[mthp_rng_below(g, n)] = (uint8_t)mthp_rng_next(g);
}

static enum mthp_thp_mode random_mode(struct mthp_rng *g)
{
	static const enum mthp_thp_mode modes[] = {
		MTHP_MODE_NEVER, MTHP_MODE_ALWAYS, MTHP_MODE_INHERIT, MTHP_MODE_MADVISE,
	};

	return modes[mthp_rng_below(g, 4)];
}

static void random_case(struct fcase *fc, struct mthp_rng *g)
{
	static const uint32_t sizes[] = { 512, 2048, 8192 };
	/* the larger tables cost more: 1 in 64 of 8192 PTEs, 1 in 16 of 2048 */
	uint32_t pick = mthp_rng_below(g, 64);
	uint32_t n = sizes[pick == 0 ? 2 : pick < 5 ? 1 : 0];
	struct mthp_geometry geo;
	uint32_t flags = MTHP_VMA_ANON;

	assert_int_equal(mthp_geometry_from_ptes(&geo, n), 0);
	mthp_settings_init(&fc->s, &geo);
	switch (mthp_rng_below(g, 3)) {
	case 0: fc->s.max_ptes_none = 0; break;
	case 1: fc->s.max_ptes_none = n - 1; break;
	default: fc->s.max_ptes_none = mthp_rng_below(g, n); break;
	}
	fc->s.max_ptes_swap = mthp_rng_below(g, 2) ? mthp_rng_below(g, n) : 0;
	fc->s.max_ptes_shared = mthp_rng_below(g, 2) ? mthp_rng_below(g, n) : 0;
	fc->s.enabled = random_mode(g);
	for (unsigned o = MTHP_MIN_ORDER; o <= geo.pmd_order; o++)
		fc->s.size_enabled[o] = random_mode(g);
	if (mthp_rng_below(g, 4))
		flags |= MTHP_VMA_HUGEPAGE;
	if (mthp_rng_below(g, 10) == 0)
		flags |= MTHP_VMA_UFFD;
	mthp_rules_init(&fc->r, &fc->s, (enum mthp_policy)mthp_rng_below(g, MTHP_NR_POLICIES),
			mthp_rng_below(g, 4) ? MTHP_CONTEXT_KHUGEPAGED : MTHP_CONTEXT_MADVISE,
			flags);
	random_table(fc, n, g);
}

/* ------------------------------------------------------------------ */

/* The implementations to check against the portable one; prints the others. */
static unsigned fast_impls(enum mthp_impl *out)
{
	unsigned nr = 0;

	for (unsigned i = MTHP_IMPL_PORTABLE + 1; i < MTHP_NR_IMPLS; i++) {
		if (mthp_engine_impl_supported((enum mthp_impl)i))
			out[nr++] = (enum mthp_impl)i;
		else
			fprintf(stderr, "%s: not on this CPU or build, not checked\n",
				impl_names[i]);
	}
	return nr;
}

struct planned {
	struct mthp_pmd_plan plan;
	struct mthp_planner work;
};

static void plan_with(struct planned *p, enum mthp_impl impl, const struct fcase *fc)
{
	struct mthp_range range = {
		.pmd_addr = 0, .vma_start = 0, .vma_end = mthp_pmd_size(&fc->s.geo),
		.kind = MTHP_PMD_TABLE, .ptes = fc->ptes, .folio_orders = fc->orders,
	};

	assert_int_equal(mthp_engine_force_impl(impl), 0);
	mthp_plan_range(&p->plan, &fc->r, &range, &p->work);
	/*
	 * The precheck stops an ineligible VMA before the scan, and the plan
	 * fills the folio bitmap only if its walk needs it: complete the scan,
	 * to compare every bitmap.
	 */
	if (fc->r.eligible)
		mthp_scan_large(&p->work.scan, &fc->r);
	else
		mthp_scan(&p->work.scan, &fc->r, fc->ptes, fc->orders);
}

static void report_case(const struct fcase *fc, unsigned idx, enum mthp_impl impl)
{
	uint32_t n = fc->r.nr_ptes;

	fprintf(stderr, "table %u: %s disagrees with portable: N %u, %s, %s, "
		"max_ptes_none %u, swap %u, shared %u, vma 0x%x\nptes: ",
		idx, impl_names[impl], n, mthp_policy_name(fc->r.policy),
		mthp_context_name(fc->r.context), fc->s.max_ptes_none,
		fc->s.max_ptes_swap, fc->s.max_ptes_shared, fc->r.vma_flags);
	for (uint32_t i = 0; i < n; i++)
		fputc(fc->ptes[i] >= 0x20 && fc->ptes[i] < 0x7f ? fc->ptes[i] : '?', stderr);
	fputc('\n', stderr);
}

static void implementations_agree_on_random_tables(void **state)
{
	static struct fcase fc;
	static struct planned ref, got;
	enum mthp_impl impls[MTHP_NR_IMPLS];
	unsigned nr = fast_impls(impls), tables = nr_tables();
	unsigned succeed = 0, collapses = 0, attempts = 0;
	struct mthp_rng g;

	(void)state;
	for (unsigned c = 0; c < 256; c++)
		has_folio[c] = mthp_pte_state_has_folio((int)c);
	mthp_rng_seed(&g, 0xfa57ull);
	for (unsigned t = 0; t < tables; t++) {
		random_case(&fc, &g);
		plan_with(&ref, MTHP_IMPL_PORTABLE, &fc);
		succeed += ref.plan.scan == SCAN_SUCCEED;
		collapses += ref.plan.nr_collapses;
		attempts += ref.plan.nr_attempts;
		for (unsigned k = 0; k < nr; k++) {
			plan_with(&got, impls[k], &fc);
			if (!same_scan(&ref.work.scan, &got.work.scan) ||
			    !mt_plans_equal(&ref.plan, &got.plan)) {
				report_case(&fc, t, impls[k]);
				fail_msg("%s and portable differ on table %u",
					 impl_names[impls[k]], t);
			}
		}
	}
	fprintf(stderr, "%u tables, %u implementations beside portable: %u scanned "
		"through, %u collapses, %u failed attempts\n",
		tables, nr, succeed, collapses, attempts);
	/* the mix must reach the walk, and both its outcomes */
	assert_true(succeed > tables / 10);
	assert_true(collapses > tables / 10);
	assert_true(attempts > tables / 10);
	mthp_engine_force_impl(mthp_engine_best_impl());
}

/* ------------------------------------------------------------------ */
/* The worked examples */

#define MAX_EXAMPLE_PMDS 256

struct collected {
	unsigned nr;
	struct mthp_pmd_plan *plans;
};

static void collect(void *ctx, const struct mthp_snapshot *snap,
		    const struct mthp_snapshot_pmd *pmd, const struct mthp_pmd_plan *plan)
{
	struct collected *c = ctx;

	(void)snap;
	(void)pmd;
	assert_true(c->nr < MAX_EXAMPLE_PMDS);
	c->plans[c->nr++] = *plan;
}

/* The fast implementations to compare with the portable one, and how many examples were planned. */
struct impl_check {
	enum mthp_impl impls[MTHP_NR_IMPLS];
	unsigned nr;
	unsigned planned;
};

/* Plan one example under every policy and context with each implementation. */
static void check_example(const char *path, void *ctx)
{
	static struct mthp_pmd_plan ref_plans[MAX_EXAMPLE_PMDS], got_plans[MAX_EXAMPLE_PMDS];
	struct impl_check *ic = ctx;
	const enum mthp_impl *impls = ic->impls;
	unsigned nr = ic->nr;
	struct mthp_snapshot snap;
	struct mthp_settings s;
	struct mthp_diag diag = { 0 };

	if (example_read(path, &snap, &s, &diag))
		return;	/* some examples are bad input on purpose */
	for (unsigned p = 0; p < MTHP_NR_POLICIES; p++) {
		for (unsigned c = 0; c < 2; c++) {
			struct collected ref = { 0, ref_plans };

			assert_int_equal(mthp_engine_force_impl(MTHP_IMPL_PORTABLE), 0);
			assert_int_equal(mthp_snapshot_plan(&snap, &s, (enum mthp_policy)p,
							    (enum mthp_context)c, collect, &ref), 0);
			for (unsigned k = 0; k < nr; k++) {
				struct collected got = { 0, got_plans };

				assert_int_equal(mthp_engine_force_impl(impls[k]), 0);
				assert_int_equal(mthp_snapshot_plan(&snap, &s, (enum mthp_policy)p,
								    (enum mthp_context)c,
								    collect, &got), 0);
				assert_int_equal(got.nr, ref.nr);
				for (unsigned i = 0; i < ref.nr; i++)
					if (!mt_plans_equal(&ref.plans[i], &got.plans[i]))
						fail_msg("%s: %s differs from portable on pmd %u",
							 path, impl_names[impls[k]], i);
			}
		}
	}
	mthp_snapshot_free(&snap);
	ic->planned++;
}

static void implementations_agree_on_examples(void **state)
{
	struct impl_check ic = { .planned = 0 };

	(void)state;
	ic.nr = fast_impls(ic.impls);
	examples_each_snap(check_example, &ic);
	assert_true(ic.planned >= 10);
	mthp_engine_force_impl(mthp_engine_best_impl());
}

static void force_refuses_what_the_cpu_lacks(void **state)
{
	(void)state;
	assert_true(mthp_engine_impl_supported(MTHP_IMPL_PORTABLE));
	assert_int_equal(mthp_engine_force_impl((enum mthp_impl)MTHP_NR_IMPLS), -ENOTSUP);
	for (unsigned i = 0; i < MTHP_NR_IMPLS; i++)
		assert_int_equal(mthp_engine_force_impl((enum mthp_impl)i),
				 mthp_engine_impl_supported((enum mthp_impl)i) ? 0 : -ENOTSUP);
	/* the one chosen at load is the widest the CPU has */
	assert_int_equal(mthp_engine_force_impl(mthp_engine_best_impl()), 0);
	assert_string_equal(mthp_engine_impl_name(), impl_names[mthp_engine_best_impl()]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(force_refuses_what_the_cpu_lacks),
		cmocka_unit_test(implementations_agree_on_examples),
		cmocka_unit_test(implementations_agree_on_random_tables),
	};

	fprintf(stderr, "chosen at load: %s\n", mthp_engine_impl_name());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
