// SPDX-License-Identifier: MIT
/*
 * test_scenario_runs.c - runs of pages in scenarios: `aligned = yes` puts
 * every run of a cluster at a multiple of its length; pageout, free and
 * dontneed take `runs` and `run_pages` instead of a density and remove
 * whole runs; density and runs together are refused with the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/scenario.h>

#define HEAD "[machine]\nmemory = 256M\n[process p]\n[vma p v]\nsize = 8M\n"
#define PAGES 2048u

static void run(const char *text, struct mthp_run_report *rep)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_run_opts opts = { .policy = MTHP_RUN_NO_COLLAPSE };
	struct mthp_scenario sc;
	struct mthp_settings s;

	if (mthp_scenario_read_mem(&sc, text, strlen(text), "t.ini", &diag))
		fail_msg("scenario rejected: %s", diag.msg);
	assert_int_equal(mthp_scenario_settings(&sc, &s, &diag), 0);
	if (mthp_scenario_run(&sc, &s, 5, &opts, rep, &diag))
		fail_msg("run failed: %s", diag.msg);
	mthp_scenario_free(&sc);
}

/* The present PTEs of the one VMA, in page order (8M: four tables). */
static void present(const struct mthp_run_report *rep, char *map)
{
	const struct mthp_snapshot *snap = &rep->final;

	memset(map, 0, PAGES);
	for (size_t i = 0; i < snap->nr_pmds; i++) {
		const struct mthp_snapshot_pmd *pmd = &snap->pmds[i];
		uint64_t first = (pmd->addr - snap->vmas[pmd->vma].start) / 4096;

		if (pmd->kind != MTHP_PMD_TABLE)
			continue;
		for (uint32_t k = 0; k < 512 && first + k < PAGES; k++)
			map[first + k] = pmd->ptes[k] != '.';
	}
}

static void test_aligned_cluster_runs_start_at_multiples_of_their_length(void **state)
{
	struct mthp_run_report rep;
	char map[PAGES];
	unsigned pages = 0;

	(void)state;
	run(HEAD "[phase p w]\nvma = v\naction = cluster\nruns = 20\nrun_pages = 16\n"
	    "aligned = yes\n", &rep);
	present(&rep, map);
	/* every aligned 16-page block is all written or all empty */
	for (unsigned b = 0; b < PAGES; b += 16) {
		unsigned n = 0;

		for (unsigned k = b; k < b + 16; k++)
			n += map[k];
		assert_true(n == 0 || n == 16);
		pages += n;
	}
	assert_true(pages >= 16 && pages <= 20 * 16);
	assert_int_equal(pages, rep.pages_written);
	mthp_run_report_free(&rep);
}

static void test_dontneed_by_runs_removes_whole_runs(void **state)
{
	struct mthp_run_report rep;
	char map[PAGES];
	unsigned pages = 0;

	(void)state;
	run(HEAD "[phase p w]\nvma = v\naction = fill\n"
	    "[phase p d]\nvma = v\naction = dontneed\nruns = 10\nrun_pages = 32\n"
	    "aligned = yes\n", &rep);
	present(&rep, map);
	for (unsigned b = 0; b < PAGES; b += 32) {
		unsigned n = 0;

		for (unsigned k = b; k < b + 32; k++)
			n += map[k];
		assert_true(n == 0 || n == 32);
		pages += n;
	}
	/* at most ten runs gone (two may land on one), at least one */
	assert_true(pages >= PAGES - 10 * 32 && pages <= PAGES - 32);
	assert_int_equal(pages, rep.resident_pages);
	mthp_run_report_free(&rep);
}

static void test_density_and_runs_together_are_refused(void **state)
{
	static const char text[] = HEAD "[phase p d]\nvma = v\naction = pageout\n"
				   "density = 10%\nruns = 4\n";
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;

	(void)state;
	assert_int_not_equal(mthp_scenario_read_mem(&sc, text, strlen(text), "t.ini", &diag), 0);
	assert_non_null(strstr(diag.msg, "t.ini:9:"));
	assert_non_null(strstr(diag.msg, "density or runs and run_pages, not both"));
}

static void test_aligned_is_yes_or_no_and_only_where_runs_are(void **state)
{
	static const char bad_value[] = HEAD "[phase p w]\nvma = v\naction = cluster\n"
					"aligned = maybe\n";
	static const char bad_action[] = HEAD "[phase p w]\nvma = v\naction = fill\n"
					 "aligned = yes\n";
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;

	(void)state;
	assert_int_not_equal(mthp_scenario_read_mem(&sc, bad_value, strlen(bad_value), "t.ini",
						    &diag), 0);
	assert_non_null(strstr(diag.msg, "yes or no"));
	assert_int_not_equal(mthp_scenario_read_mem(&sc, bad_action, strlen(bad_action), "t.ini",
						    &diag), 0);
	assert_non_null(strstr(diag.msg, "does not apply to action fill"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aligned_cluster_runs_start_at_multiples_of_their_length),
		cmocka_unit_test(test_dontneed_by_runs_removes_whole_runs),
		cmocka_unit_test(test_density_and_runs_together_are_refused),
		cmocka_unit_test(test_aligned_is_yes_or_no_and_only_where_runs_are),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
