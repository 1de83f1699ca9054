// SPDX-License-Identifier: MIT
/*
 * test_passes.c - plans over passes: a pass's collapses are applied as
 * the kernel leaves them (young pages of one new folio, a huge PMD at PMD
 * order), the creep case of the review creeps under seed at max_ptes_none
 * 256 and not at 255 nor under upstream, and a bound stops the passes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>

#include <mthp/passes.h>

#include "helpers/cli_run.h"
#include "helpers/test_main.h"

#define N 512
#define PMD_ADDR 0x200000ull

/* 32 young pages at the start of an empty table, every size madvise. */
static void creep_case(struct mthp_snapshot *snap, struct mthp_settings *s,
		       const char *max_ptes_none)
{
	static const char *const sizes[] = { "16", "32", "64", "128", "256", "512", "1024",
					     "2048" };
	struct mthp_geometry geo;
	uint8_t ptes[N];
	char knob[64], err[256];

	mthp_geometry_from_page_size(&geo, 4096);
	mthp_snapshot_init(snap, &geo);
	memset(ptes, MTHP_PTE_NONE, N);
	memset(ptes, MTHP_PTE_YOUNG, 32);
	assert_int_equal(mthp_snapshot_add_vma(snap, PMD_ADDR, PMD_ADDR + (N << 12),
					       MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE), 0);
	assert_int_equal(mthp_snapshot_add_pmd(snap, PMD_ADDR, MTHP_PMD_TABLE, ptes, NULL), 0);
	mthp_settings_init(s, &geo);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(knob, sizeof(knob), "hugepages-%skB/enabled", sizes[i]);
		if (mthp_settings_set(s, knob, "madvise", err, sizeof(err)))
			fail_msg("%s", err);
	}
	assert_int_equal(mthp_settings_set(s, "khugepaged/max_ptes_none", max_ptes_none, err,
					   sizeof(err)), 0);
}

struct seen {
	unsigned passes;
	uint64_t collapses_by_order[10][MTHP_MAX_PMD_ORDER + 1];
};

static void count_pass(void *ctx, const struct mthp_snapshot *snap,
		       const struct mthp_pass_report *rep)
{
	struct seen *seen = ctx;

	(void)snap;
	assert_int_equal(rep->pass, seen->passes + 1);
	seen->passes = rep->pass;
	if (rep->pass < 10)
		memcpy(seen->collapses_by_order[rep->pass], rep->collapses_by_order,
		       sizeof(rep->collapses_by_order));
}

/* What the passes over the creep case did; the snapshot as they left it. */
struct passes {
	struct mthp_snapshot snap;
	struct mthp_passes_summary sum;
	struct seen seen;
};

static void run(struct passes *p, const char *none, enum mthp_policy policy, unsigned bound)
{
	struct mthp_settings s;

	memset(&p->seen, 0, sizeof(p->seen));
	creep_case(&p->snap, &s, none);
	assert_int_equal(mthp_snapshot_plan_passes(&p->snap, &s, policy, MTHP_CONTEXT_KHUGEPAGED,
						   bound, NULL, count_pass, &p->seen, &p->sum), 0);
	assert_int_equal(p->seen.passes, p->sum.passes);
}

/*
 * One line for what the passes did: the summary, then each pass's
 * collapses as pass:order (xN when N > 1).
 */
static const char *story(const struct passes *p)
{
	static const char *const ends[] = { [MTHP_PASSES_STABLE] = "stable",
					    [MTHP_PASSES_BOUND] = "bound" };
	static char buf[512];

	snprintf(buf, sizeof(buf), "passes=%u end=%s creep=%u->%u@%u recollapses=%llu "
		 "rebuilds=%llu filled=%llu collapses:", p->sum.passes, ends[p->sum.end],
		 p->sum.creep_from, p->sum.creep_to, p->sum.creep_last_pass,
		 (unsigned long long)p->sum.recollapses, (unsigned long long)p->sum.rebuilds,
		 (unsigned long long)p->sum.pages_filled);
	for (unsigned pass = 1; pass < 10; pass++)
		for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++) {
			uint64_t n = p->seen.collapses_by_order[pass][o];

			if (n)
				snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
					 n > 1 ? " %u:o%u x%llu" : " %u:o%u", pass, o,
					 (unsigned long long)n);
		}
	return buf;
}

/*
 * The range as the passes left it: "huge", or its PTEs as runs of
 * state/folio order*count ('-' for no folio): "A/5*32 ./-*480".
 */
static const char *range_str(const struct passes *p)
{
	const struct mthp_snapshot_pmd *pmd = &p->snap.pmds[0];
	static char buf[512];

	if (pmd->kind == MTHP_PMD_HUGE)
		return "huge";
	buf[0] = '\0';
	for (unsigned k = 0, run; k < N; k += run) {
		char order[8] = "-";

		for (run = 1; k + run < N && pmd->ptes[k + run] == pmd->ptes[k] &&
			      pmd->folio_orders[k + run] == pmd->folio_orders[k]; run++)
			;
		if (pmd->folio_orders[k] != MTHP_NO_FOLIO)
			snprintf(order, sizeof(order), "%u", pmd->folio_orders[k]);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%c/%s*%u",
			 k ? " " : "", pmd->ptes[k], order, run);
	}
	return buf;
}

/*
 * The creep case under seed at max_ptes_none 256 creeps to the PMD order,
 * one window a pass, each twice the last, then a pass that changes
 * nothing; at 255 it does not creep, but with no folio veto in v10 the
 * same 128K window is collapsed again (a rebuild); upstream does not
 * creep; and a bound stops a creeping run with the range still a table.
 */
static void test_creep_case_passes(void **state)
{
	static const struct {
		const char *none;
		enum mthp_policy policy;
		unsigned bound;
		const char *story, *range;
	} runs[] = {
		{ "256", MTHP_POLICY_SEED, 20,
		  "passes=5 end=stable creep=6->9@4 recollapses=3 rebuilds=0 filled=480 "
		  "collapses: 1:o6 2:o7 3:o8 4:o9", "huge" },
		{ "255", MTHP_POLICY_SEED, 20,
		  "passes=2 end=stable creep=0->0@0 recollapses=0 rebuilds=1 filled=0 "
		  "collapses: 1:o5 2:o5", "A/5*32 ./-*480" },
		{ "256", MTHP_POLICY_UPSTREAM, 20,
		  "passes=2 end=stable creep=0->0@0 recollapses=0 rebuilds=0 filled=0 "
		  "collapses: 1:o5", "A/5*32 ./-*480" },
		{ "256", MTHP_POLICY_SEED, 2,
		  "passes=2 end=bound creep=6->7@2 recollapses=1 rebuilds=0 filled=96 "
		  "collapses: 1:o6 2:o7", "A/7*128 ./-*384" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct passes p;

		run(&p, runs[i].none, runs[i].policy, runs[i].bound);
		if (strcmp(story(&p), runs[i].story) || strcmp(range_str(&p), runs[i].range))
			fail_msg("max_ptes_none %s, policy %s, bound %u:\n  got  %s | %s\n"
				 "  want %s | %s", runs[i].none, mthp_policy_name(runs[i].policy),
				 runs[i].bound, story(&p), range_str(&p), runs[i].story,
				 runs[i].range);
		mthp_snapshot_free(&p.snap);
	}
}

/* Passes over a snapshot need a bound of at least one. */
static void test_passes_need_a_bound(void **state)
{
	struct passes p;

	(void)state;
	run(&p, "256", MTHP_POLICY_SEED, 2);
	assert_int_equal(mthp_snapshot_plan_passes(&p.snap, &(struct mthp_settings){ 0 },
						   MTHP_POLICY_SEED, MTHP_CONTEXT_KHUGEPAGED, 0,
						   NULL, NULL, NULL, &p.sum), -EINVAL);
	mthp_snapshot_free(&p.snap);
}

static void test_apply_refuses_what_a_plan_cannot_hold(void **state)
{
	struct mthp_pmd_plan plan = { .nr_collapses = 1 };
	struct mthp_settings s;
	struct mthp_snapshot snap;

	(void)state;
	creep_case(&snap, &s, "0");
	assert_int_equal(mthp_snapshot_apply_plan(&snap, 1, &plan), -EINVAL);
	plan.collapses[0] = (struct mthp_window){ .offset = 8, .order = 4 };	/* misaligned */
	assert_int_equal(mthp_snapshot_apply_plan(&snap, 0, &plan), -EINVAL);
	plan.collapses[0] = (struct mthp_window){ .offset = 0, .order = 9 };
	assert_int_equal(mthp_snapshot_apply_plan(&snap, 0, &plan), 0);
	assert_int_equal(snap.pmds[0].kind, MTHP_PMD_HUGE);
	assert_null(snap.pmds[0].ptes);
	mthp_snapshot_free(&snap);
}

/*
 * `mthp plan --ptes 'A*32'` with every size madvise, the given extra args;
 * it must succeed.
 */
static struct cli_run plan_cli(const char *policy, const char *none, const char *a1,
			       const char *a2)
{
	char none_set[64];
	char *argv[40] = { "plan", "--ptes", "A*32", "--policy", (char *)policy,
			   "--set", none_set };
	static const char *const sizes[] = { "16", "32", "64", "128", "256", "512", "1024",
					     "2048" };
	static char sets[8][64];
	int argc = 7;
	struct cli_run r;

	snprintf(none_set, sizeof(none_set), "khugepaged/max_ptes_none=%s", none);
	for (int i = 0; i < 8; i++) {
		snprintf(sets[i], sizeof(sets[i]), "hugepages-%skB/enabled=madvise", sizes[i]);
		argv[argc++] = "--set";
		argv[argc++] = sets[i];
	}
	argv[argc++] = (char *)a1;
	if (a2)
		argv[argc++] = (char *)a2;
	argv[argc] = NULL;
	r = cli_run_argv(argc, argv);
	assert_int_equal(r.status, 0);
	return r;
}

static void test_until_stable_says_how_the_passes_ended(void **state)
{
	static const struct {
		const char *policy, *none, *a1, *a2;
		const char *said[2];	/* what the output holds (NULL: nothing more) */
	} cases[] = {
		{ "seed", "256", "--until-stable", NULL,
		  { "# creeps: order 6 (256K) -> 9 (2M) in 4 passes, 480 pages "
		    "filled; stable after 5 passes (the last changed nothing)",
		    "# pass 4: 1 collapse 2M:1, 256 pages filled" } },
		{ "seed", "255", "--until-stable", NULL,
		  { "# no creep, 0 pages filled; stable after 2 passes (the "
		    "last changed nothing); 1 collapse rebuilt a folio at its "
		    "own order (no folio veto)" } },
		{ "upstream", "256", "--until-stable", NULL,
		  { "# no creep, 0 pages filled; stable after 2 passes" } },
		{ "seed", "256", "--passes", "2", { "; still changing after 2 passes (the bound)" } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_run r = plan_cli(cases[i].policy, cases[i].none, cases[i].a1,
					    cases[i].a2);

		for (size_t k = 0; k < 2 && cases[i].said[k]; k++)
			if (!strstr(r.out, cases[i].said[k]))
				fail_msg("--policy %s max_ptes_none %s %s: lacks '%s' in:\n%s",
					 cases[i].policy, cases[i].none, cases[i].a1,
					 cases[i].said[k], r.out);
		cli_run_free(&r);
	}
}

static void test_passes_as_json(void **state)
{
	struct cli_run r = plan_cli("seed", "256", "--until-stable", "--json");
	json_error_t jerr;
	json_t *doc, *summary;

	(void)state;
	doc = json_loads(r.out, 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "format")),
			    "mthp-plan-passes 1");
	assert_int_equal(json_array_size(json_object_get(doc, "passes")), 5);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		json_object_get(doc, "passes"), 3), "pass")), 4);
	summary = json_object_get(doc, "summary");
	assert_string_equal(json_string_value(json_object_get(summary, "end")), "stable");
	assert_int_equal(json_integer_value(json_object_get(summary, "creep_to_order")), 9);
	assert_int_equal(json_integer_value(json_object_get(summary, "pages_filled")), 480);
	json_decref(doc);
	cli_run_free(&r);
}

/* A snapshot without ranges: one pass that changes nothing, in text and JSON. */
static void test_passes_of_an_empty_snapshot(void **state)
{
	char path[] = "/tmp/mthp-test-passes-XXXXXX";
	char *argv[] = { "plan", "--snapshot", path, "--passes", "3", "--json", NULL };
	json_error_t jerr;
	json_t *doc;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(write(fd, "mthp-snapshot 1\npage_size 4096\n", 31) == 31);
	close(fd);
	for (int argc = 6; argc >= 5; argc--) {
		struct cli_run r;

		argv[argc] = NULL;
		r = cli_run_argv(argc, argv);
		assert_int_equal(r.status, 0);
		assert_string_equal(r.err, "");
		if (argc == 6) {
			doc = json_loads(r.out, 0, &jerr);
			assert_non_null(doc);
			assert_int_equal(json_array_size(json_object_get(doc, "passes")), 1);
			assert_string_equal(json_string_value(json_object_get(
				json_object_get(doc, "summary"), "end")), "stable");
			json_decref(doc);
		} else {
			assert_non_null(strstr(r.out, "# pass 1\n# pass 1: 0 collapses"));
		}
		cli_run_free(&r);
	}
	unlink(path);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_creep_case_passes),
	cmocka_unit_test(test_passes_need_a_bound),
	cmocka_unit_test(test_apply_refuses_what_a_plan_cannot_hold),
	cmocka_unit_test(test_until_stable_says_how_the_passes_ended),
	cmocka_unit_test(test_passes_as_json),
	cmocka_unit_test(test_passes_of_an_empty_snapshot),
)
