// SPDX-License-Identifier: MIT
/*
 * test_whatif.c - every what-if claim is a plan that flips: for every
 * window a plan collapsed or attempted, over every worked example and a
 * few thousand random tables, each claimed knob value is set through the
 * settings' own parser, the range is planned again, and the window's
 * decision must have flipped; the values the claim says do not flip it
 * (the gap to the current value) must not; and a knob said to flip
 * nothing must flip nothing for any mode and for sampled values.  The
 * explanation of `mthp plan --explain` is checked on the same tables: it
 * agrees with the plan (its collapses and failed attempts are the plan's,
 * with the same results), lists windows in walk order, and every refusal
 * it reports holds on the table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/snapshot.h>
#include <mthp/explain.h>
#include <mthp/whatif.h>

#include "cli/cli.h"
#include "common/rng.h"
#include "helpers/table.h"
#include "helpers/examples.h"
#include "helpers/test_main.h"


static unsigned checked_claims;

static bool window_collapses(const struct mthp_whatif_range *wr, const struct mthp_settings *s,
			     const struct mthp_whatif *w)
{
	const struct mthp_pmd_plan *p = mt_plan_range(s, wr->policy, wr->context, wr->vma_flags,
						      wr->range);

	for (uint32_t c = 0; c < p->nr_collapses; c++)
		if (p->collapses[c].offset == w->offset && p->collapses[c].order == w->order)
			return true;
	return false;
}

static bool flips_with(const struct mthp_whatif_range *wr, const struct mthp_whatif *w,
		       const char *knob, const char *value)
{
	struct mthp_settings s = *wr->settings;
	char err[256];

	if (mthp_settings_set(&s, knob, value, err, sizeof(err)))
		fail_msg("the claim names %s=%s, which the settings refuse: %s", knob, value, err);
	return window_collapses(wr, &s, w) != w->collapses;
}

static bool numeric(const struct mthp_whatif_knob *kn)
{
	return !strncmp(kn->knob, "khugepaged/", 11);
}

static void check_knob(const struct mthp_whatif_range *wr, const struct mthp_whatif *w,
		       const struct mthp_whatif_knob *kn, struct mthp_rng *g)
{
	static const char *const modes[] = { "never", "always", "madvise", "inherit" };
	char value[24];

	if (kn->flips) {
		if (!flips_with(wr, w, kn->knob, kn->nearest))
			fail_msg("window %u/%u: %s=%s was said to flip it and does not", w->offset,
				 w->order, kn->knob, kn->nearest);
		checked_claims++;
		if (!numeric(kn))
			return;
		/* nothing between the current value and the nearest flips it */
		for (long v = kn->current < kn->nearest_value ? kn->current + 1 : kn->nearest_value + 1;
		     v < (kn->current < kn->nearest_value ? kn->nearest_value : kn->current); v++) {
			snprintf(value, sizeof(value), "%ld", v);
			if (flips_with(wr, w, kn->knob, value))
				fail_msg("window %u/%u: %s=%s flips it, nearer than the claimed %s",
					 w->offset, w->order, kn->knob, value, kn->nearest);
		}
		return;
	}
	if (numeric(kn)) {
		for (int i = 0; i < 4; i++) {
			snprintf(value, sizeof(value), "%u",
				 mthp_rng_below(g, wr->settings->geo.ptes_per_pmd));
			if (flips_with(wr, w, kn->knob, value))
				fail_msg("window %u/%u: %s=%s flips it; the claim says no value does",
					 w->offset, w->order, kn->knob, value);
		}
		return;
	}
	for (size_t m = 0; m < 4; m++) {
		struct mthp_settings s = *wr->settings;
		char err[128];

		if (mthp_settings_set(&s, kn->knob, modes[m], err, sizeof(err)))
			continue;	/* "inherit" for the global knob */
		if (window_collapses(wr, &s, w) != w->collapses)
			fail_msg("window %u/%u: %s=%s flips it; the claim says no mode does",
				 w->offset, w->order, kn->knob, modes[m]);
	}
}

/* The windows of the current plan, what-if'ed and every claim checked. */
static void check_range(const struct mthp_whatif_range *wr, struct mthp_rng *g)
{
	const struct mthp_pmd_plan *p = mt_plan_range(wr->settings, wr->policy, wr->context,
						      wr->vma_flags, wr->range);
	struct mthp_whatif w[MTHP_WHATIF_MAX_WINDOWS];
	size_t n = 0, nr_collapses;

	for (uint32_t c = 0; c < p->nr_collapses && n < MTHP_WHATIF_MAX_WINDOWS; c++)
		w[n++] = (struct mthp_whatif){ .offset = p->collapses[c].offset,
					       .order = p->collapses[c].order };
	for (uint32_t a = 0; a < p->nr_attempts && n < MTHP_WHATIF_MAX_WINDOWS; a++)
		w[n++] = (struct mthp_whatif){ .offset = p->attempts[a].offset,
					       .order = p->attempts[a].order };
	/* p is the helper's buffer: the checks below plan again */
	nr_collapses = p->nr_collapses;
	assert_int_equal(mthp_whatif(wr, w, n), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(w[i].collapses, i < nr_collapses);
		assert_true(w[i].words[0] != '\0');
		for (unsigned k = 0; k < w[i].nr_knobs; k++)
			check_knob(wr, &w[i], &w[i].knobs[k], g);
	}
}

static void check_snapshot(const char *path, void *rng)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_rng *g = rng;
	struct mthp_snapshot snap;
	struct mthp_settings s;

	if (example_read(path, &snap, &s, &diag))
		fail_msg("%s", diag.msg);
	for (int policy = 0; policy < MTHP_NR_POLICIES; policy++)
		for (int ctx = 0; ctx < 2; ctx++)
			for (size_t i = 0; i < snap.nr_pmds; i++) {
				const struct mthp_snapshot_pmd *pmd = &snap.pmds[i];
				const struct mthp_snapshot_vma *vma = &snap.vmas[pmd->vma];
				struct mthp_range range = {
					.pmd_addr = pmd->addr, .vma_start = vma->start,
					.vma_end = vma->end, .kind = pmd->kind,
					.ptes = pmd->ptes, .folio_orders = pmd->folio_orders,
				};
				struct mthp_whatif_range wr = {
					&s, (enum mthp_policy)policy, (enum mthp_context)ctx,
					vma->flags, &range,
				};

				check_range(&wr, g);
			}
	mthp_snapshot_free(&snap);
}

static void test_claims_hold_on_every_example(void **state)
{
	struct mthp_rng g;

	(void)state;
	mthp_rng_seed(&g, 1);
	assert_true(examples_each_snap(check_snapshot, &g) >= 20);
	assert_true(checked_claims > 100);
}

static unsigned nr_tables(void)
{
	const char *env = getenv("MTHP_WHATIF_TABLES");

	return env ? (unsigned)strtoul(env, NULL, 10) : 2000;
}

static void check_against_plan(const struct mthp_whatif_range *wr)
{
	const struct mthp_pmd_plan *p = mt_plan_range(wr->settings, wr->policy, wr->context,
						      wr->vma_flags, wr->range);
	uint32_t nc = p->nr_collapses, na = p->nr_attempts, seen_c = 0, seen_a = 0;
	struct mthp_pmd_plan plan = *p;
	struct mthp_rules rules;
	struct mthp_explain e;

	mthp_rules_init(&rules, wr->settings, wr->policy, wr->context, wr->vma_flags);
	assert_int_equal(mthp_explain_range(wr, &e), 0);
	assert_int_equal(e.scan, plan.scan);
	assert_int_equal(e.scan_why[0] != '\0', plan.scan != SCAN_SUCCEED);
	for (size_t i = 0; i < e.nr_windows; i++) {
		const struct mthp_explain_window *w = &e.windows[i];

		if (i) {
			const struct mthp_explain_window *prev = &e.windows[i - 1];

			assert_true(prev->offset < w->offset ||
				    (prev->offset == w->offset && prev->order >= w->order));
		}
		assert_true(w->why[0] != '\0');
		switch (w->kind) {
		case MTHP_EXPLAIN_COLLAPSED:
			assert_int_equal(plan.collapses[seen_c].offset, w->offset);
			assert_int_equal(plan.collapses[seen_c].order, w->order);
			seen_c++;
			break;
		case MTHP_EXPLAIN_FAILED: {
			bool found = false;

			for (uint32_t a = 0; a < na; a++)
				found |= plan.attempts[a].offset == w->offset &&
					 plan.attempts[a].order == w->order &&
					 plan.attempts[a].result == w->result;
			assert_true(found);
			seen_a++;
			break;
		}
		case MTHP_EXPLAIN_TEST_FAILED:
			assert_true(rules.orders & (1u << w->order));
			assert_true(w->have < w->need);
			break;
		case MTHP_EXPLAIN_NOT_ALLOWED:
			assert_false(rules.orders & (1u << w->order));
			break;
		case MTHP_EXPLAIN_PASSED_OVER:
			assert_true(w->end ? w->end > w->offset : w->have > 0);
			break;
		}
	}
	assert_int_equal(seen_c, nc);
	assert_int_equal(seen_a, na);
	mthp_explain_free(&e);
}

static void test_claims_hold_on_random_tables(void **state)
{
	static const char *const none[] = { "0", "64", "255", "256", "384", "511" };
	static const char *const mode[] = { "never", "always", "madvise" };
	unsigned before = checked_claims, tables = nr_tables();
	struct mthp_rng r;
	struct mthp_rng g;

	(void)state;
	mthp_rng_seed(&r, 42);
	mthp_rng_seed(&g, 43);
	for (unsigned i = 0; i < tables; i++) {
		static struct mt_table t;
		struct mthp_settings s;
		char err[256];
		struct mthp_range range = {
			.pmd_addr = MT_PMD_ADDR, .vma_start = MT_PMD_ADDR,
			.vma_end = MT_PMD_ADDR + (512ull << 12), .kind = MTHP_PMD_TABLE,
		};
		struct mthp_whatif_range wr = {
			&s, (enum mthp_policy)(i % 3), (enum mthp_context)(i / 3 % 2 ? 1 : 0),
			MTHP_VMA_ANON | (i % 5 ? MTHP_VMA_HUGEPAGE : 0), &range,
		};

		mt_table_random(&t, 512, &r, (int)(i % 7 == 0));
		range.ptes = t.ptes;
		range.folio_orders = t.folios;
		if (mt_settings(&s, 512, err, sizeof(err), mthp_rng_below(&g, 2) ?
				"hugepages-64kB/enabled=always" : "hugepages-64kB/enabled=never",
				NULL))
			fail_msg("%s", err);
		mthp_settings_set(&s, "khugepaged/max_ptes_none", none[i % 6], err, sizeof(err));
		mthp_settings_set(&s, "hugepages-256kB/enabled", mode[i % 3], err, sizeof(err));
		check_range(&wr, &g);
		check_against_plan(&wr);
	}
	assert_true(checked_claims > before + tables / 10);
}

static void test_words_name_the_knob_and_the_gap(void **state)
{
	struct mt_table t;
	struct mthp_settings s;
	char err[256];
	struct mthp_range range = {
		.pmd_addr = MT_PMD_ADDR, .vma_start = MT_PMD_ADDR,
		.vma_end = MT_PMD_ADDR + (512ull << 12), .kind = MTHP_PMD_TABLE,
	};
	struct mthp_whatif_range wr = { &s, MTHP_POLICY_UPSTREAM, MTHP_CONTEXT_KHUGEPAGED,
					MTHP_VMA_ANON, &range };
	struct mthp_whatif w[2] = { { .offset = 16, .order = 4 }, { .offset = 48, .order = 4 } };

	(void)state;
	/* 7 young pages in [16, 32): 9 none; a shared run in [48, 64) */
	mt_table_init(&t, 512, '.');
	mt_table_fill(&t, 0, 23, 'A');
	mt_table_fill(&t, 48, 64, 'S');
	range.ptes = t.ptes;
	range.folio_orders = t.folios;
	assert_int_equal(mt_settings(&s, 512, err, sizeof(err), "hugepages-64kB/enabled=always",
				     "khugepaged/max_ptes_none=0", NULL), 0);
	assert_int_equal(mthp_whatif(&wr, w, 2), 0);
	assert_false(w[0].collapses);
	assert_string_equal(w[0].words, "collapses with khugepaged/max_ptes_none=511; no value "
			    "from 1 to 510 does under upstream (values that do: 511)");
	assert_string_equal(w[1].words, "a shared PTE below the PMD order: no setting "
			    "collapses this window");
	w[0] = (struct mthp_whatif){ .offset = 8, .order = 4 };
	assert_int_equal(mthp_whatif(&wr, w, 1), -EINVAL);
}

static void test_words_of_a_known_case(void **state)
{
	char *argv[] = { "plan", "--ptes", "A*16 AAAAAAA .*9 .*16 S*16 A*8 .*440",
			 "--set", "hugepages-64kB/enabled=always",
			 "--set", "khugepaged/max_ptes_none=384", "--explain", NULL };
	char *out = NULL, *err = NULL;
	size_t olen = 0, elen = 0;
	FILE *o = open_memstream(&out, &olen), *e = open_memstream(&err, &elen);

	(void)state;
	assert_int_equal(mthp_cli_run(8, argv, o, e), 0);
	fclose(o);
	fclose(e);
	assert_non_null(strstr(out, "+0        64K   collapses      16 of 16 PTEs present, "
				    "0 none or zero filled\n"));
	assert_non_null(strstr(out, "+30000    64K   fails          16 shared PTEs: below the "
				    "PMD order a window with a shared page is not collapsed\n"
				    "      what if: a shared PTE below the PMD order: no setting "
				    "collapses this window\n"));
	assert_non_null(strstr(out, "+10000    64K   passed over    7 of 16 PTEs occupied"));
	/* 384 is honoured at the PMD order only */
	assert_non_null(strstr(out, "+0        2M    not attempted  47 of 512 PTEs occupied; "
				    "the count test needs 128\n"));
	free(out);
	free(err);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_words_name_the_knob_and_the_gap),
	cmocka_unit_test(test_words_of_a_known_case),
	cmocka_unit_test(test_claims_hold_on_every_example),
	cmocka_unit_test(test_claims_hold_on_random_tables),
)
