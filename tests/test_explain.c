// SPDX-License-Identifier: MIT
/*
 * test_explain.c - `mthp plan --explain`: the explanation agrees with the
 * plan (its collapses and failed attempts are the plan's, with the same
 * results), lists windows in walk order, and every refusal it reports
 * holds on the table: a failed count test had fewer than it needed, a
 * window not enabled has an order the VMA does not allow; over every
 * worked example and random tables.  And the words of a known case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/explain.h>

#include "cli/cli.h"
#include "common/rng.h"
#include "helpers/table.h"

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

static void test_explanations_agree_with_the_plan(void **state)
{
	static const char *const none[] = { "0", "64", "255", "256", "384", "511" };
	struct mthp_rng r;

	(void)state;
	mthp_rng_seed(&r, 7);
	for (unsigned i = 0; i < 600; i++) {
		static struct mt_table t;
		struct mthp_settings s;
		char err[256];
		struct mthp_range range = {
			.pmd_addr = MT_PMD_ADDR, .vma_start = MT_PMD_ADDR,
			.vma_end = MT_PMD_ADDR + (512ull << 12), .kind = MTHP_PMD_TABLE,
		};
		struct mthp_whatif_range wr = {
			&s, (enum mthp_policy)(i % 3), (enum mthp_context)(i / 3 % 4 == 0),
			MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE, &range,
		};

		mt_table_random(&t, 512, &r, (int)(i % 5 == 0));
		range.ptes = t.ptes;
		range.folio_orders = t.folios;
		if (mt_settings(&s, 512, err, sizeof(err), "hugepages-64kB/enabled=always",
				"hugepages-256kB/enabled=madvise", NULL))
			fail_msg("%s", err);
		mthp_settings_set(&s, "khugepaged/max_ptes_none", none[i % 6], err, sizeof(err));
		check_against_plan(&wr);
	}
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_of_a_known_case),
		cmocka_unit_test(test_explanations_agree_with_the_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
