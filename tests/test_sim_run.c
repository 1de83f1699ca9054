// SPDX-License-Identifier: MIT
/*
 * test_sim_run.c - running scenarios: each action does what it says
 * (pages counted and placed), a run is deterministic, --compare runs every
 * policy on the same workload, and `mthp sim` reports and fails as a user
 * expects.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <mthp/engine.h>
#include <mthp/scenario.h>
#include <mthp/sim.h>

#include "cli/cli.h"
#include "helpers/cli_run.h"
#include "helpers/ftrace_line.h"
#include "helpers/png_file.h"
#include "helpers/test_main.h"
#include "report/sim_report.h"

#define HEAD "[machine]\nmemory = 256M\nswap = 64M\n[process p]\n[vma p v]\nsize = 16M\n"
#define V_PAGES 4096u

static void run_text(const char *text, int policy, struct mthp_run_report *rep)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_run_opts opts = { .policy = policy };
	struct mthp_scenario sc;
	struct mthp_settings s;

	if (mthp_scenario_read_mem(&sc, text, strlen(text), "t.ini", &diag))
		fail_msg("scenario rejected: %s", diag.msg);
	assert_int_equal(mthp_scenario_settings(&sc, &s, &diag), 0);
	if (mthp_scenario_run(&sc, &s, sc.seed, &opts, rep, &diag))
		fail_msg("run failed: %s", diag.msg);
	mthp_scenario_free(&sc);
}

/* The process of HEAD with phases after it, run without collapses. */
static void run_phases(const char *phases, struct mthp_run_report *rep)
{
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", HEAD, phases);
	run_text(text, MTHP_RUN_NO_COLLAPSE, rep);
}

/* How many PTEs of the final snapshot are in state c. */
static uint64_t count_state(const struct mthp_run_report *rep, char c)
{
	const struct mthp_snapshot *snap = &rep->final;
	uint64_t n = 0;

	for (size_t i = 0; i < snap->nr_pmds; i++)
		if (snap->pmds[i].kind == MTHP_PMD_TABLE)
			for (uint32_t k = 0; k < snap->geo.ptes_per_pmd; k++)
				n += snap->pmds[i].ptes[k] == c;
	return n;
}

/*
 * DONTNEED of one page of each of 64 64K folios leaves 64 partially mapped
 * folios holding 64 pages no PTE maps; the report counts them (resident
 * counts mapped pages), a shrink phase splits them and frees those pages.
 */
static void test_partially_mapped_folios_at_the_end(void **state)
{
	static const char settings[] = "[settings]\nhugepages-64kB/enabled = always\n";
	static const char phases[] =
		"[phase p f]\nvma = v\naction = fill\nlength = 4M\n"
		"[phase p d]\nvma = v\naction = dontneed\npages = 1,17,33,49,65,81,97,113\n";
	char text[2048];
	struct mthp_run_report rep;

	(void)state;
	snprintf(text, sizeof(text), "%s%s%s", settings, HEAD, phases);
	run_text(text, MTHP_RUN_NO_COLLAPSE, &rep);
	assert_int_equal(rep.partial_folios, 8);
	assert_int_equal(rep.partial_unmapped, 8);
	assert_int_equal(rep.resident_pages, 1024 - 8);
	mthp_run_report_free(&rep);
	snprintf(text, sizeof(text), "%s%s%s[phase p s]\naction = shrink\n", settings, HEAD,
		 phases);
	run_text(text, MTHP_RUN_NO_COLLAPSE, &rep);
	assert_int_equal(rep.partial_folios, 0);
	assert_int_equal(rep.partial_unmapped, 0);
	assert_int_equal(rep.resident_pages, 1024 - 8);
	mthp_run_report_free(&rep);
}

static void test_fill_writes_every_page_of_its_range(void **state)
{
	struct mthp_run_report rep;

	(void)state;
	run_phases("[phase p a]\nvma = v\naction = fill\noffset = 4M\nlength = 8M\n", &rep);
	assert_int_equal(rep.pages_written, 2048);
	assert_int_equal(rep.resident_pages, 2048);
	/* placement: the written pages fill PMD ranges 2 to 5 of the VMA */
	for (size_t i = 0; i < rep.final.nr_pmds; i++) {
		uint64_t off = rep.final.pmds[i].addr - rep.final.vmas[0].start;
		bool inside = off >= (4u << 20) && off < (12u << 20);

		assert_int_equal(rep.final.pmds[i].kind == MTHP_PMD_TABLE, inside);
	}
	assert_int_equal(count_state(&rep, 'A'), 2048);
	mthp_run_report_free(&rep);
}

static void test_random_writes_about_density(void **state)
{
	struct mthp_run_report rep;

	(void)state;
	run_phases("[phase p a]\nvma = v\naction = random\ndensity = 25%\n", &rep);
	assert_in_range(rep.pages_written, V_PAGES / 4 - 200, V_PAGES / 4 + 200);
	assert_int_equal(rep.resident_pages, rep.pages_written);
	mthp_run_report_free(&rep);
}

static void test_cluster_writes_runs(void **state)
{
	struct mthp_run_report rep;

	(void)state;
	run_phases("[phase p a]\nvma = v\naction = cluster\nruns = 4\nrun_pages = 32\n", &rep);
	assert_in_range(rep.pages_written, 32, 128);
	/* each run is 32 contiguous pages: at most 4 separate stretches */
	{
		const struct mthp_snapshot *snap = &rep.final;
		unsigned stretches = 0;
		char prev = '.';

		for (size_t i = 0; i < snap->nr_pmds; i++) {
			for (uint32_t k = 0; k < snap->geo.ptes_per_pmd; k++) {
				char c = snap->pmds[i].kind == MTHP_PMD_TABLE ?
					 (char)snap->pmds[i].ptes[k] : '.';

				stretches += c == 'A' && prev != 'A';
				prev = c;
			}
		}
		assert_in_range(stretches, 1, 4);
	}
	mthp_run_report_free(&rep);
}

static void test_read_maps_the_zero_page(void **state)
{
	struct mthp_run_report rep;

	(void)state;
	run_phases("[phase p a]\nvma = v\naction = read\ndensity = 50%\n", &rep);
	assert_int_equal(rep.pages_written, 0);
	assert_in_range(count_state(&rep, '0'), V_PAGES / 2 - 200, V_PAGES / 2 + 200);
	assert_int_equal(rep.resident_pages, 0);
	mthp_run_report_free(&rep);
}

static void test_hot_keeps_a_hot_set_young(void **state)
{
	struct mthp_run_report rep;
	uint64_t young;

	(void)state;
	run_phases("[phase p fill]\nvma = v\naction = fill\n"
		   "[phase p hot]\nvma = v\naction = hot\nhot = 10%\nduration = 1s\n", &rep);
	young = count_state(&rep, 'A');
	assert_in_range(young, V_PAGES / 10 - 150, V_PAGES / 10 + 150);
	assert_int_equal(young + count_state(&rep, 'a'), V_PAGES);
	mthp_run_report_free(&rep);
}

static void test_heap_keeps_its_live_share(void **state)
{
	struct mthp_run_report rep;

	(void)state;
	run_phases("[phase p h]\nvma = v\naction = heap\nobject_sizes = 4K:3,64K:1\n"
		   "live = 50%\nchurn = 20%\nduration = 1s\n", &rep);
	/* placed up to half the range, some freed at the last tick */
	assert_in_range(rep.resident_pages, V_PAGES / 4, V_PAGES / 2 + 16);
	/* churn placed new objects where old ones were freed */
	assert_true(rep.pages_written > rep.resident_pages);
	mthp_run_report_free(&rep);
}

static void test_pageout_free_dontneed(void **state)
{
	struct mthp_run_report rep;

	(void)state;
	run_phases("[phase p fill]\nvma = v\naction = fill\n"
		   "[phase p out]\nvma = v\naction = pageout\ndensity = 100%\nlength = 4M\n"
		   "[phase p free]\nvma = v\naction = free\ndensity = 100%\noffset = 4M\nlength = 4M\n"
		   "[phase p gone]\nvma = v\naction = dontneed\ndensity = 100%\noffset = 8M\n", &rep);
	assert_int_equal(count_state(&rep, 'w'), 1024);
	assert_int_equal(count_state(&rep, 'l'), 1024);
	assert_int_equal(rep.resident_pages, 1024);	/* the lazyfree ones */
	mthp_run_report_free(&rep);
}

/* pages = LIST: exactly those pages of the phase's range, for each action that takes it. */
static void test_exact_page_lists(void **state)
{
	const struct mthp_snapshot_pmd *pmd;
	struct mthp_run_report rep;

	(void)state;
	run_phases("[phase p w]\nvma = v\naction = random\npages = 3,5,9-12\n"
		   "[phase p r]\nvma = v\naction = read\noffset = 2M\npages = 0-7,100\n", &rep);
	assert_int_equal(rep.pages_written, 6);
	pmd = &rep.final.pmds[0];
	for (uint32_t i = 0; i < 16; i++)
		assert_int_equal(pmd->ptes[i], i == 3 || i == 5 || (i >= 9 && i <= 12) ? 'A' : '.');
	assert_int_equal(count_state(&rep, '0'), 9);
	mthp_run_report_free(&rep);

	run_phases("[phase p fill]\nvma = v\naction = fill\n"
		   "[phase p out]\nvma = v\naction = pageout\npages = 1,3-4\n"
		   "[phase p gone]\nvma = v\naction = dontneed\noffset = 4M\npages = 0-511\n"
		   "[phase p fork]\nvma = v\naction = fork\npages = 7\nduration = 100ms\n", &rep);
	assert_int_equal(count_state(&rep, 'w'), 3);
	assert_int_equal(rep.final.pmds[0].ptes[3], 'w');
	assert_int_equal(rep.resident_pages, V_PAGES - 3 - 512);
	mthp_run_report_free(&rep);
}

static void test_fork_child_writes_and_exits(void **state)
{
	struct mthp_run_report rep;

	(void)state;
	run_phases("[phase p fill]\nvma = v\naction = fill\n"
		   "[phase p fork]\nvma = v\naction = fork\nchild_writes = 50%\nduration = 200ms\n", &rep);
	/* the child is gone: nothing is shared any more */
	assert_int_equal(count_state(&rep, 'S') + count_state(&rep, 's'), 0);
	assert_int_equal(rep.resident_pages, V_PAGES);
	assert_int_equal(rep.sim_ns, 200000000ull);
	mthp_run_report_free(&rep);
}

/* child_lives = run: the child outlives its phase, until child_exit or the end. */
static void test_child_lives_past_its_phase(void **state)
{
	struct mthp_run_report rep;

	(void)state;
	run_phases("[phase p fill]\nvma = v\naction = fill\n"
		   "[phase p fork]\nvma = v\naction = fork\npages = 0-3\nchild_lives = run\n"
		   "duration = 100ms\n"
		   "[phase p write]\nvma = v\naction = random\npages = 10\n"
		   "[phase p wait]\naction = sleep\nduration = 100ms\n", &rep);
	/* shared with the child: all but the 4 it wrote and the 1 the parent wrote */
	assert_int_equal(count_state(&rep, 'S') + count_state(&rep, 's'), V_PAGES - 5);
	assert_int_equal(rep.final.pmds[0].ptes[10], 'A');
	mthp_run_report_free(&rep);
	run_phases("[phase p fill]\nvma = v\naction = fill\n"
		   "[phase p fork]\nvma = v\naction = fork\npages = 0-3\nchild_lives = run\n"
		   "[phase p wait]\naction = sleep\nduration = 100ms\n"
		   "[phase p end]\naction = child_exit\n", &rep);
	assert_int_equal(count_state(&rep, 'S') + count_state(&rep, 's'), 0);
	mthp_run_report_free(&rep);
}

static void test_advise_and_sleep(void **state)
{
	struct mthp_run_report rep;

	(void)state;
	run_text(HEAD "[phase p fill]\nvma = v\naction = fill\n"
		      "[phase p adv]\nvma = v\naction = advise\n"
		      "[phase p wait]\naction = sleep\nduration = 2s\n",
		 MTHP_POLICY_UPSTREAM, &rep);
	assert_true(rep.final.vmas[0].flags & MTHP_VMA_HUGEPAGE);
	assert_int_equal(rep.sim_ns, 2000000000ull);
	/* advised after the faults: khugepaged collapses all 8 ranges */
	assert_int_equal(rep.collapses_by_order[9], 8);
	assert_int_equal(rep.scan_results[SCAN_SUCCEED], 8);
	/* the default scan_sleep_millisecs is 10 s: one wake-up, at time 0 */
	assert_int_equal(rep.wakeups, 1);
	mthp_run_report_free(&rep);
}

static void test_same_seed_same_report_every_policy_same_workload(void **state)
{
	static const char text[] =
		"[machine]\nmemory = 256M\n[settings]\nhugepages-64kB/enabled = madvise\n"
		"khugepaged/max_ptes_none = 384\n[process p]\n[vma p v]\nsize = 16M\n"
		"[phase p a]\nvma = v\naction = random\ndensity = 20%\n"
		"[phase p b]\nvma = v\naction = advise\n[phase p c]\naction = sleep\nduration = 1s\n";
	struct mthp_run_report a, b, base;

	(void)state;
	run_text(text, MTHP_RUN_NO_COLLAPSE, &base);
	for (int p = 0; p < MTHP_NR_POLICIES; p++) {
		run_text(text, p, &a);
		run_text(text, p, &b);
		assert_int_equal(a.pages_written, base.pages_written);
		assert_int_equal(a.pages_written, b.pages_written);
		assert_memory_equal(a.collapses_by_order, b.collapses_by_order,
				    sizeof(a.collapses_by_order));
		assert_int_equal(a.pages_filled, b.pages_filled);
		assert_int_equal(a.resident_pages, b.resident_pages);
		/* filled pages are what collapse added to the workload's own */
		assert_int_equal(a.resident_pages, base.resident_pages + a.pages_filled);
		mthp_run_report_free(&a);
		mthp_run_report_free(&b);
	}
	mthp_run_report_free(&base);
}

static void test_cli_json_is_byte_identical_and_compares(void **state)
{
	char *argv[] = { "sim", "--compare", "legacy,seed,upstream", "--json", NULL };
	struct cli_run a = cli_run_argv(4, argv), b = cli_run_argv(4, argv);
	json_t *doc, *runs;

	(void)state;
	assert_int_equal(a.status, 0);
	assert_string_equal(a.out, b.out);
	doc = json_loads(a.out, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "mthp-sim 1");
	runs = json_object_get(doc, "runs");
	assert_int_equal(json_array_size(runs), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 2), "policy")),
			    "seed");
	/* the default scenario shows seed's creep and none under upstream */
	assert_true(json_integer_value(json_object_get(json_array_get(runs, 2), "recollapses")) > 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 3), "recollapses")), 0);
	json_decref(doc);
	cli_run_free(&a);
	cli_run_free(&b);
}

static void test_cli_errors(void **state)
{
	struct { char *argv[6]; int argc; const char *needle; int status; } cases[] = {
		{ { "sim", "--policy", "greedy" }, 3, "--policy 'greedy'", 2 },
		{ { "sim", "--compare", "seed,seed" }, 3, "distinct policies", 2 },
		{ { "sim", "--compare", "legacy," }, 3, "distinct policies", 2 },
		{ { "sim", "--compare", ",legacy" }, 3, "distinct policies", 2 },
		{ { "sim", "--compare", "legacy,,seed" }, 3, "distinct policies", 2 },
		{ { "sim", "--compare", "seed", "--policy", "legacy" }, 5, "not both", 2 },
		{ { "sim", "--seed", "x" }, 3, "--seed 'x'", 2 },
		/* a seed the JSON report can say, a signed 64-bit number */
		{ { "sim", "--seed", "9223372036854775808" }, 3, "at most 9223372036854775807", 2 },
		{ { "sim", "--map", "out.jpg" }, 3, "must end in .svg or .png", 2 },
		{ { "sim", "--set", "khugepaged/max_ptes_none=999" }, 3, "range 0..511", 2 },
		{ { "sim", "tests/no-such.ini" }, 2, "tests/no-such.ini: No such file", 1 },
		{ { "sim", "a.ini", "b.ini" }, 3, "unexpected argument 'b.ini'", 2 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_run r = cli_run_argv(cases[i].argc, cases[i].argv);

		if (r.status != cases[i].status || !strstr(r.err, cases[i].needle))
			fail_msg("case %zu: exit %d, '%s'", i, r.status, r.err);
		cli_run_free(&r);
	}
}

/* A workload larger than the machine is cut short, and the report says how. */
static void test_writes_past_the_machine_are_counted(void **state)
{
	static const char text[] =
		"[machine]\nmemory = 16M\nswap = 0\n[process p]\n[vma p v]\nsize = 64M\n"
		"[phase p f]\nvma = v\naction = fill\n";
	struct mthp_run_report rep;

	(void)state;
	run_text(text, MTHP_RUN_NO_COLLAPSE, &rep);
	/* fill writes each of the 16384 pages once: written or failed */
	assert_true(rep.writes_failed[MTHP_WRITE_FAIL_MEMORY] > 0);
	assert_int_equal(rep.pages_written + rep.writes_failed[MTHP_WRITE_FAIL_MEMORY],
			 (64u << 20) / 4096);
	assert_int_equal(rep.writes_failed[MTHP_WRITE_FAIL_MEMCG], 0);
	mthp_run_report_free(&rep);
}

static void test_writes_past_the_cgroup_limit_are_counted(void **state)
{
	static const char text[] =
		"[machine]\nmemory = 64M\nswap = 0\n[process p]\nmemcg_limit = 2M\n"
		"[vma p v]\nsize = 4M\n[phase p f]\nvma = v\naction = fill\n";
	struct mthp_run_report rep;

	(void)state;
	run_text(text, MTHP_POLICY_UPSTREAM, &rep);
	assert_true(rep.pages_written <= 512);
	assert_int_equal(rep.writes_failed[MTHP_WRITE_FAIL_MEMCG], 1024 - rep.pages_written);
	assert_int_equal(rep.writes_failed[MTHP_WRITE_FAIL_MEMORY], 0);
	assert_int_equal(rep.reclaim_paged_out, 0);
	mthp_run_report_free(&rep);
}

/* Write text to a new file from template (mkstemp's), named in path. */
static void write_temp(char *path, const char *text)
{
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The run succeeded, and its JSON's key names the file with '?' for the byte. */
static void assert_json_name(struct cli_run r, const char *key)
{
	json_t *doc;

	assert_int_equal(r.status, 0);
	doc = json_loads(r.out, 0, NULL);
	assert_non_null(doc);
	assert_non_null(strstr(json_string_value(json_object_get(doc, key)), "/tmp/mthp-test-?-"));
	json_decref(doc);
	cli_run_free(&r);
}

/*
 * A scenario whose file name is not UTF-8: the JSON of a run and of a
 * sweep names it with '?' for the byte, where jansson refused the name
 * and the report was an empty output with status 1.
 */
static void test_json_of_a_name_not_utf8(void **state)
{
	static const char text[] =
		"[machine]\nmemory = 64M\n[process p]\n[vma p v]\nsize = 2M\n"
		"[phase p f]\nvma = v\naction = fill\n";
	char path[] = "/tmp/mthp-test-\xff-XXXXXX";

	(void)state;
	write_temp(path, text);
	assert_json_name(cli_run("sim", path, "--json", NULL), "scenario");
	assert_json_name(cli_run("sim", path, "--sweep", "khugepaged/max_ptes_none=0,511",
				 "--json", NULL), "source");
	unlink(path);
}

/* Run the CLI on a scenario text with one more argument (or NULL). */
static int cli_on_text(const char *text, char *arg, char **out_buf, char **err_buf)
{
	char path[] = "/tmp/mthp-test-XXXXXX";
	char *argv[] = { "sim", path, arg, NULL };
	size_t len;
	FILE *out, *err;
	int status;

	write_temp(path, text);
	out = open_memstream(out_buf, &len);
	err = open_memstream(err_buf, &len);
	status = mthp_cli_run(arg ? 3 : 2, argv, out, err);
	fclose(out);
	fclose(err);
	unlink(path);
	return status;
}

/*
 * With swap, the cgroup's limit pages out what the workload wrote before:
 * every write lands, and the report says how much went to swap.
 */
static void test_writes_past_the_cgroup_limit_go_to_swap(void **state)
{
	static const char text[] =
		"[machine]\nmemory = 64M\nswap = 8M\n[process p]\nmemcg_limit = 2M\n"
		"[vma p v]\nsize = 4M\n[phase p f]\nvma = v\naction = fill\n";
	struct mthp_run_report rep;
	char *out_buf = NULL, *err_buf = NULL;

	(void)state;
	run_text(text, MTHP_POLICY_UPSTREAM, &rep);
	assert_int_equal(rep.pages_written, 1024);
	assert_int_equal(rep.writes_failed[MTHP_WRITE_FAIL_MEMCG] +
			 rep.writes_failed[MTHP_WRITE_FAIL_MEMORY], 0);
	assert_int_equal(rep.reclaim_paged_out, 512);
	assert_int_equal(rep.resident_pages, 512);
	mthp_run_report_free(&rep);

	assert_int_equal(cli_on_text(text, NULL, &out_buf, &err_buf), 0);
	assert_non_null(strstr(out_buf, "\nMiB reclaim paged out                 2.0          2.0\n"));
	assert_null(strstr(out_buf, "writes failed"));
	free(out_buf);
	free(err_buf);
	assert_int_equal(cli_on_text(text, "--json", &out_buf, &err_buf), 0);
	assert_non_null(strstr(out_buf, "\"reclaim\": {"));
	assert_non_null(strstr(out_buf, "\"pages_paged_out\": 512"));
	free(out_buf);
	free(err_buf);
}

/*
 * The docs' shrinker case: 16 THPs with one page written each map 32 MiB;
 * a shrink phase at max_ptes_none 0 leaves the 16 pages, at 511 all of it.
 */
static void test_shrink_phase_splits_underused_thps(void **state)
{
	static const char fmt[] =
		"[machine]\nmemory = 256M\n[settings]\nenabled = always\n"
		"khugepaged/max_ptes_none = %s\n[process p]\n[vma p thps]\nsize = 32M\n"
		"[phase p one-page-each]\nvma = thps\naction = random\n"
		"pages = 0,512,1024,1536,2048,2560,3072,3584,4096,4608,5120,5632,6144,6656,7168,7680\n"
		"[phase p pressure]\naction = shrink\n";
	struct mthp_run_report rep;
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), fmt, "0");
	run_text(text, MTHP_POLICY_UPSTREAM, &rep);
	assert_int_equal(rep.pages_written, 16);
	assert_int_equal(rep.shrink_splits, 16);
	assert_int_equal(rep.shrink_freed, 16 * 511);
	assert_int_equal(rep.resident_pages, 16);
	mthp_run_report_free(&rep);

	snprintf(text, sizeof(text), fmt, "511");
	run_text(text, MTHP_POLICY_UPSTREAM, &rep);
	assert_int_equal(rep.shrink_splits, 0);
	assert_int_equal(rep.resident_pages, 16 * 512);
	mthp_run_report_free(&rep);
}

/* Every process of a scenario gets an address space below the 47-bit top. */
static void test_several_processes_run(void **state)
{
	static const char text[] =
		"[machine]\nmemory = 64M\n"
		"[process a]\n[vma a v]\nsize = 4M\n[phase a f]\nvma = v\naction = fill\n"
		"[process b]\n[vma b v]\nsize = 4M\n[phase b f]\nvma = v\naction = fill\n"
		"[process c]\n[vma c v]\nsize = 4M\n[phase c f]\nvma = v\naction = fill\n";
	struct mthp_run_report rep;
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;
	uint64_t addr[3];

	(void)state;
	run_text(text, MTHP_RUN_NO_COLLAPSE, &rep);
	assert_int_equal(rep.pages_written, 3 * 1024);
	assert_int_equal(rep.final.nr_vmas, 3);
	for (size_t i = 1; i < rep.final.nr_vmas; i++)
		assert_true(rep.final.vmas[i - 1].end <= rep.final.vmas[i].start);
	/* each VMA where mthp_scenario_vma_addresses() says (the map names them so) */
	assert_int_equal(mthp_scenario_read_mem(&sc, text, strlen(text), "t.ini", &diag), 0);
	mthp_scenario_vma_addresses(&sc, addr);
	for (size_t v = 0; v < 3; v++) {
		assert_int_equal(rep.final.vmas[v].start, addr[v]);
		assert_int_equal(rep.final.vmas[v].end, addr[v] + sc.vmas[v].size);
	}
	mthp_scenario_free(&sc);
	mthp_run_report_free(&rep);
}

/*
 * pmd_offset: VMAs that start past a PMD boundary and are smaller than a
 * PMD; the snapshot has every table over them, so no written page is lost.
 */
static void test_vmas_off_pmd_boundaries(void **state)
{
	static const char text[] =
		"[machine]\nmemory = 64M\n"
		"[process p]\n[vma p small]\nsize = 64K\npmd_offset = 1M\n"
		"[vma p shifted]\nsize = 4M\npmd_offset = 4K\n"
		"[phase p a]\nvma = small\naction = fill\n"
		"[phase p b]\nvma = shifted\naction = fill\n";
	const uint64_t pmd = 2 << 20;
	struct mthp_run_report rep;

	(void)state;
	run_text(text, MTHP_RUN_NO_COLLAPSE, &rep);
	assert_int_equal(rep.final.nr_vmas, 2);
	assert_int_equal(rep.final.vmas[0].start % pmd, 1 << 20);
	assert_int_equal(rep.final.vmas[1].start % pmd, 4096);
	/* one table over the small vma; three over the shifted one */
	assert_int_equal(rep.final.nr_pmds, 4);
	assert_int_equal(rep.final.pmds[1].addr, rep.final.vmas[1].start - 4096);
	assert_int_equal(rep.pages_written, 16 + 1024);
	assert_int_equal(rep.resident_pages, rep.pages_written);
	mthp_run_report_free(&rep);
}

/* `mthp sim` warns of a cut-short workload and exits 0 (a condition, not an error). */
static void test_cli_warns_of_failed_writes(void **state)
{
	static const char text[] =
		"[machine]\nmemory = 16M\nswap = 0\n[process p]\n[vma p v]\nsize = 64M\n"
		"[phase p f]\nvma = v\naction = fill\n";
	char *out_buf = NULL, *err_buf = NULL;

	(void)state;
	assert_int_equal(cli_on_text(text, NULL, &out_buf, &err_buf), 0);
	assert_non_null(strstr(err_buf, "writes failed, the workload was cut short (out_of_memory"));
	assert_non_null(strstr(out_buf, "\nwrites failed "));
	assert_non_null(strstr(out_buf, "\n  out_of_memory "));
	assert_null(strstr(out_buf, "reclaim paged out"));
	free(out_buf);
	free(err_buf);
}

/* Output paths are checked before the run: the error comes, the report does not. */
static void test_cli_checks_output_paths_first(void **state)
{
	static const struct {
		const char *opt, *path, *needle;
		int status;
	} cases[] = {
		{ "--map", "/nonexistent-dir/m.svg", "--map /nonexistent-dir/m.svg: directory /nonexistent-dir: does not exist", 1 },
		{ "--snapshot", "/tmp", "--snapshot /tmp: is a directory", 1 },
		{ "--trace", "/dev/null/t.txt", "--trace /dev/null/t.txt: /dev/null is not a directory", 1 },
		{ "--trace", "", "--trace: the file name is empty", 2 },
		{ "--snapshot", "", "--snapshot: the file name is empty", 2 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "sim", (char *)cases[i].opt, (char *)cases[i].path, NULL };
		char *out_buf = NULL, *err_buf = NULL;
		size_t len;
		FILE *out = open_memstream(&out_buf, &len);
		FILE *err = open_memstream(&err_buf, &len);
		int status = mthp_cli_run(3, argv, out, err);

		fclose(out);
		fclose(err);
		if (status != cases[i].status || !strstr(err_buf, cases[i].needle) || *out_buf)
			fail_msg("sim %s '%s': exit %d, err '%s', out '%.40s'", cases[i].opt,
				 cases[i].path, status, err_buf, out_buf);
		free(out_buf);
		free(err_buf);
	}
}

/* Which pages of the VMA are present at the end, in page order. */
static void present_map(const struct mthp_run_report *rep, char *map)
{
	const struct mthp_snapshot *snap = &rep->final;

	memset(map, 0, V_PAGES);
	for (size_t i = 0; i < snap->nr_pmds; i++) {
		const struct mthp_snapshot_pmd *pmd = &snap->pmds[i];
		uint64_t first = (pmd->addr - snap->vmas[pmd->vma].start) / 4096;

		for (uint32_t k = 0; k < 512 && first + k < V_PAGES; k++)
			map[first + k] = pmd->kind == MTHP_PMD_HUGE ||
					 (pmd->kind == MTHP_PMD_TABLE && pmd->ptes[k] != '.');
	}
}

/* Pages present in all of [b, b + run) or in none, for every aligned run. */
static unsigned whole_runs(const char *map, unsigned run)
{
	unsigned pages = 0;

	for (unsigned b = 0; b < V_PAGES; b += run) {
		unsigned n = 0;

		for (unsigned k = b; k < b + run; k++)
			n += (unsigned)map[k];
		assert_true(n == 0 || n == run);
		pages += n;
	}
	return pages;
}

static void test_aligned_runs_start_at_multiples_of_their_length(void **state)
{
	struct mthp_run_report rep;
	static char map[V_PAGES];
	unsigned pages;

	(void)state;
	run_phases("[phase p w]\nvma = v\naction = cluster\nruns = 20\nrun_pages = 16\n"
		   "aligned = yes\n", &rep);
	present_map(&rep, map);
	pages = whole_runs(map, 16);
	assert_true(pages >= 16 && pages <= 20 * 16);
	assert_int_equal(pages, rep.pages_written);
	mthp_run_report_free(&rep);
	/* dontneed by runs: whole aligned runs go, at most ten, at least one */
	run_phases("[phase p w]\nvma = v\naction = fill\n[phase p d]\nvma = v\n"
		   "action = dontneed\nruns = 10\nrun_pages = 32\naligned = yes\n", &rep);
	present_map(&rep, map);
	pages = whole_runs(map, 32);
	assert_true(pages >= V_PAGES - 10 * 32 && pages <= V_PAGES - 32);
	assert_int_equal(pages, rep.resident_pages);
	mthp_run_report_free(&rep);
}

/* A range whose scan succeeded is reported with what its walk made of it. */
static void test_scan_succeed_says_what_the_walk_did(void **state)
{
	static const char text[] = HEAD "[settings]\nhugepages-64kB/enabled = madvise\n"
		"khugepaged/max_ptes_none = 0\nkhugepaged/scan_sleep_millisecs = 100\n"
		"[phase p w]\nvma = v\naction = cluster\nruns = 40\nrun_pages = 16\n"
		"aligned = yes\n[phase p a]\nvma = v\naction = advise\n"
		"[phase p s]\naction = sleep\nduration = 1s\n";
	struct mthp_run_report rep;

	(void)state;
	run_text(text, MTHP_POLICY_UPSTREAM, &rep);
	assert_int_equal(rep.walk_outcomes[0] + rep.walk_outcomes[1] + rep.walk_outcomes[2],
			 rep.scan_results[SCAN_SUCCEED]);
	/* the aligned runs collapse at 64K; later scans find them made */
	assert_true(rep.walk_outcomes[0] > 0);
	assert_true(rep.walk_outcomes[1] + rep.walk_outcomes[2] > 0);
	assert_int_equal(rep.collapses_by_order[4] > 0, true);
	mthp_run_report_free(&rep);
}

/* --timeline: samples in time order, at most the cap, and the picture. */
static void test_timeline_samples_and_picture(void **state)
{
	static const char text[] = HEAD "[settings]\nkhugepaged/scan_sleep_millisecs = 10\n"
		"[phase p w]\nvma = v\naction = fill\nduration = 2s\n";
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_run_opts opts = { .policy = MTHP_POLICY_UPSTREAM, .timeline_profile = 1 };
	char path[] = "/tmp/mthp-timeline-XXXXXX.png";
	char *argv[] = { "sim", "--compare", "legacy,upstream", "--timeline", path, NULL };
	struct mthp_run_report rep;
	struct mthp_scenario sc;
	struct mthp_settings s;
	struct cli_run r;
	int fd;

	(void)state;
	assert_int_equal(mthp_scenario_read_mem(&sc, text, strlen(text), "t.ini", &diag), 0);
	assert_int_equal(mthp_scenario_settings(&sc, &s, &diag), 0);
	assert_int_equal(mthp_scenario_run(&sc, &s, 1, &opts, &rep, &diag), 0);
	/* 200 wake-ups in 2 s, sampled down to the cap */
	assert_true(rep.nr_samples > 50 && rep.nr_samples <= MTHP_RUN_MAX_SAMPLES);
	for (size_t i = 1; i < rep.nr_samples; i++)
		assert_true(rep.timeline[i].ns > rep.timeline[i - 1].ns);
	assert_int_equal(rep.timeline[rep.nr_samples - 1].resident_pages, V_PAGES);
	mthp_run_report_free(&rep);
	assert_null(rep.timeline);
	mthp_scenario_free(&sc);
	fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	close(fd);
	r = cli_run_argv(5, argv);
	assert_int_equal(r.status, 0);
	assert_png_file(path);
	unlink(path);
	cli_run_free(&r);
}

/*
 * The timeline and the --map plot count in the simulated machine's TLB
 * profile (--tlb or [machine] mmu) when the report has it, not in the
 * first profile of the report.
 */
static void test_pictures_count_the_simulated_machine(void **state)
{
	static const struct {
		const char *machine;
		int profile;
	} cases[] = {
		{ "", MTHP_TLB_X86_64 },
		{ "mmu = arm64-4k\n", MTHP_TLB_ARM64_4K },
		{ "mmu = zen\n", MTHP_TLB_ZEN },
		/* the report has only the machine's profile: it */
		{ "mmu = arm64-4k\ntlb = arm64-4k\n", MTHP_TLB_ARM64_4K },
		/* the report leaves the machine's out: its first */
		{ "mmu = arm64-4k\ntlb = zen,x86-64\n", MTHP_TLB_X86_64 },
		/* 16K pages: arm64's, the only machine with them */
		{ "page_size = 16K\n", MTHP_TLB_ARM64_16K },
	};
	struct mthp_diag diag = { .warn = NULL };
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mthp_scenario sc;
		struct mthp_settings s;

		snprintf(text, sizeof(text), "[machine]\n%s[process p]\n", cases[i].machine);
		assert_int_equal(mthp_scenario_read_mem(&sc, text, strlen(text), "t.ini", &diag), 0);
		assert_int_equal(mthp_scenario_settings(&sc, &s, &diag), 0);
		assert_int_equal(mthp_plot_profile(mthp_sim_profiles(&sc, &s.geo), sc.mmu),
				 cases[i].profile);
		mthp_scenario_free(&sc);
	}
	assert_int_equal(mthp_plot_profile(0, MTHP_TLB_ARM64_4K), -1);
}

static void test_runs_keys_are_checked(void **state)
{
	static const struct {
		const char *phase, *want;
	} cases[] = {
		{ "action = pageout\ndensity = 10%\nruns = 4\n",
		  "t.ini:10: phase 'd': give density or runs and run_pages, not both" },
		{ "action = cluster\naligned = maybe\n", "yes or no" },
		{ "action = fill\naligned = yes\n", "does not apply to action fill" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mthp_diag diag = { .warn = NULL };
		struct mthp_scenario sc;
		char text[512];

		snprintf(text, sizeof(text), "%s[phase p d]\nvma = v\n%s", HEAD, cases[i].phase);
		assert_int_not_equal(mthp_scenario_read_mem(&sc, text, strlen(text), "t.ini",
							    &diag), 0);
		if (!strstr(diag.msg, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, diag.msg, cases[i].want);
	}
}

/* How many folios of order o the final snapshot maps (a PMD mapping is one). */
static uint64_t folios_of_order(const struct mthp_run_report *rep, unsigned o)
{
	const struct mthp_snapshot *snap = &rep->final;
	uint64_t ptes = 0, pmds = 0;

	for (size_t i = 0; i < snap->nr_pmds; i++) {
		const struct mthp_snapshot_pmd *pmd = &snap->pmds[i];

		if (pmd->kind == MTHP_PMD_HUGE)
			pmds++;
		if (pmd->kind != MTHP_PMD_TABLE || !pmd->folio_orders)
			continue;
		for (uint32_t k = 0; k < snap->geo.ptes_per_pmd; k++)
			ptes += pmd->folio_orders[k] == o;
	}
	return (o == snap->geo.pmd_order ? pmds : 0) + (ptes >> o);
}

static uint64_t stat_of(const struct mthp_run_report *rep, const char *group, const char *name)
{
	uint64_t v = UINT64_MAX;

	if (mthp_run_stat(rep, group, name, &v))
		fail_msg("no counter %s %s", group, name);
	return v;
}

/*
 * The counters a run ends with agree with the run's own report.  Linux
 * allocates the new folio before it looks at the window's pages again, so
 * every attempt allocates (or fails to): collapse_alloc is the collapses
 * plus the attempts refused after the allocation, here the 64K windows
 * found already made (SCAN_PTE_MAPPED_HUGEPAGE) on every later scan.  A
 * range with a collapse is one pages_collapsed; nr_anon is what is
 * mapped at the end.
 */
static void test_stats_agree_with_the_report(void **state)
{
	static const char text[] = HEAD "[settings]\nhugepages-64kB/enabled = madvise\n"
		"khugepaged/max_ptes_none = 0\nkhugepaged/scan_sleep_millisecs = 100\n"
		"[phase p f]\nvma = v\naction = fill\nlength = 4M\n"
		"[phase p w]\nvma = v\naction = cluster\noffset = 4M\nruns = 40\n"
		"run_pages = 16\naligned = yes\n[phase p a]\nvma = v\naction = advise\n"
		"[phase p s]\naction = sleep\nduration = 1s\n";
	struct mthp_run_report rep, base;
	uint64_t total = 0, allocs = 0, failed = 0;

	(void)state;
	run_text(text, MTHP_POLICY_UPSTREAM, &rep);
	/* both sizes collapsed, and later scans refused the 64K windows made */
	assert_int_equal(rep.collapses_by_order[9], 2);
	assert_true(rep.collapses_by_order[4] > 0);
	assert_true(rep.failed_by_result[SCAN_PTE_MAPPED_HUGEPAGE] > 0);
	for (unsigned r = 0; r < MTHP_NR_RESULTS; r++)
		failed += rep.failed_by_result[r];
	assert_int_equal(failed, rep.failed_by_result[SCAN_PTE_MAPPED_HUGEPAGE]);
	for (unsigned o = MTHP_MIN_ORDER; o <= 9; o++) {
		char group[32];

		snprintf(group, sizeof(group), "hugepages-%ukB", 4u << o);
		assert_int_equal(stat_of(&rep, group, "nr_anon"), folios_of_order(&rep, o));
		assert_int_equal(stat_of(&rep, group, "collapse_alloc_failed"), 0);
		assert_true(stat_of(&rep, group, "collapse_alloc") >= rep.collapses_by_order[o]);
		allocs += stat_of(&rep, group, "collapse_alloc");
		total += rep.collapses_by_order[o];
	}
	assert_int_equal(stat_of(&rep, "hugepages-2048kB", "collapse_alloc"), 2);
	assert_int_equal(stat_of(&rep, "hugepages-64kB", "collapse_alloc"),
			 rep.collapses_by_order[4] + failed);
	assert_int_equal(allocs, total + failed);
	assert_true(total > 2);
	/* vmstat counts the PMD size only */
	assert_int_equal(stat_of(&rep, "vmstat", "thp_collapse_alloc"), rep.collapses_by_order[9]);
	assert_int_equal(stat_of(&rep, "vmstat", "thp_collapse_alloc_failed"), 0);
	assert_int_equal(stat_of(&rep, "khugepaged", "pages_collapsed"), rep.walk_outcomes[0]);
	assert_true(stat_of(&rep, "khugepaged", "full_scans") >= 1);

	/* unknown names, knobs, counters not kept and the wrong group fail */
	{
		static const char *const bad[][2] = {
			{ "vmstat", "thp_collapse_allocs" }, { "vmstat", "collapse_alloc" },
			{ "khugepaged", "pages_to_scan" }, { "khugepaged", "thp_collapse_alloc" },
			{ "hugepages-64kB", "zswpout" }, { "hugepages-64kB", "thp_fault_alloc" },
			{ "hugepages-8kB", "collapse_alloc" }, { "hugepages-4096kB", "split" },
			{ "vmstat", "pgfault" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint64_t v = 12345;

			assert_int_equal(mthp_run_stat(&rep, bad[i][0], bad[i][1], &v), -ENOENT);
			assert_int_equal(v, 12345);
		}
	}

	/* khugepaged off: nothing collapsed, nothing scanned */
	run_text(text, MTHP_RUN_NO_COLLAPSE, &base);
	assert_int_equal(stat_of(&base, "vmstat", "thp_collapse_alloc"), 0);
	assert_int_equal(stat_of(&base, "hugepages-64kB", "collapse_alloc"), 0);
	assert_int_equal(stat_of(&base, "khugepaged", "pages_collapsed"), 0);
	assert_int_equal(stat_of(&base, "khugepaged", "full_scans"), 0);
	assert_int_equal(stat_of(&base, "hugepages-2048kB", "nr_anon"), 0);
	mthp_run_report_free(&base);
	mthp_run_report_free(&rep);
	assert_null(rep.stats);
}

/* Faults, page-out and splits show in the counters the kernel bumps for them. */
static void test_stats_of_faults_and_pageout(void **state)
{
	static const char text[] = HEAD "[settings]\nenabled = always\n"
		"[phase p f]\nvma = v\naction = fill\n"
		"[phase p o]\nvma = v\naction = pageout\nlength = 2M\ndensity = 100%\n";
	struct mthp_run_report rep;

	(void)state;
	run_text(text, MTHP_RUN_NO_COLLAPSE, &rep);
	/* 16M of 2M faults, one range paged out as a whole THP */
	assert_int_equal(stat_of(&rep, "vmstat", "thp_fault_alloc"), 8);
	assert_int_equal(stat_of(&rep, "hugepages-2048kB", "anon_fault_alloc"), 8);
	assert_int_equal(stat_of(&rep, "vmstat", "thp_fault_fallback"), 0);
	assert_int_equal(stat_of(&rep, "vmstat", "pswpout"), 512);
	assert_int_equal(stat_of(&rep, "vmstat", "pswpout"), V_PAGES - rep.resident_pages);
	/* the THP goes to swap whole, its PMD mapping split first */
	assert_int_equal(stat_of(&rep, "vmstat", "thp_swpout"), 1);
	assert_int_equal(stat_of(&rep, "hugepages-2048kB", "swpout"), 1);
	assert_int_equal(stat_of(&rep, "vmstat", "thp_split_pmd"), 1);
	assert_int_equal(stat_of(&rep, "vmstat", "thp_split_page"), 0);
	assert_int_equal(stat_of(&rep, "hugepages-2048kB", "nr_anon"), 7);
	assert_int_equal(folios_of_order(&rep, 9), 7);
	mthp_run_report_free(&rep);
}

/* The names each group has: the counters the simulator keeps, no more. */
static void test_stats_names_are_the_kernels(void **state)
{
	static const char *const vmstat[] = {
		"pswpin", "pswpout", "thp_fault_alloc", "thp_fault_fallback",
		"thp_fault_fallback_charge", "thp_collapse_alloc", "thp_collapse_alloc_failed",
		"thp_split_page", "thp_split_page_failed", "thp_deferred_split_page",
		"thp_underused_split_page",
		"thp_split_pmd", "thp_scan_exceed_none_pte", "thp_scan_exceed_swap_pte",
		"thp_scan_exceed_share_pte", "thp_zero_page_alloc", "thp_swpout",
		"thp_swpout_fallback",
	};
	static const char *const per_size[] = {
		"anon_fault_alloc", "anon_fault_fallback", "anon_fault_fallback_charge",
		"collapse_alloc", "collapse_alloc_failed", "swpin", "swpin_fallback",
		"swpin_fallback_charge", "swpout", "swpout_fallback", "split",
		"split_failed", "split_deferred", "nr_anon", "nr_anon_partially_mapped",
		"collapse_exceed_swap_pte",
		"collapse_exceed_none_pte", "collapse_exceed_shared_pte",
	};
	size_t nv = sizeof(vmstat) / sizeof(vmstat[0]), ns = sizeof(per_size) / sizeof(per_size[0]);
	struct mthp_run_report rep;
	size_t k = 0;

	(void)state;
	run_phases("[phase p f]\nvma = v\naction = fill\n", &rep);
	/* vmstat, khugepaged, then orders 2..9 in the same order each */
	assert_int_equal(rep.nr_stats, nv + 2 + 8 * ns);
	for (size_t i = 0; i < nv; i++, k++) {
		assert_int_equal(rep.stats[k].file, SIM_STAT_VMSTAT);
		assert_string_equal(rep.stats[k].name, vmstat[i]);
	}
	assert_string_equal(rep.stats[k++].name, "pages_collapsed");
	assert_string_equal(rep.stats[k++].name, "full_scans");
	for (unsigned o = 2; o <= 9; o++) {
		for (size_t i = 0; i < ns; i++, k++) {
			assert_int_equal(rep.stats[k].file, SIM_STAT_SIZE);
			assert_int_equal(rep.stats[k].order, o);
			assert_string_equal(rep.stats[k].name, per_size[i]);
		}
	}
	mthp_run_report_free(&rep);
}

/* The line of counter NAME in the block of run RUN of `--stats` text. */
static uint64_t text_stat(const char *out, const char *run, const char *line_start)
{
	char head[64];
	const char *p = strstr(out, "\nCounters by their kernel names"), *end, *line;
	unsigned long long v;

	assert_non_null(p);
	snprintf(head, sizeof(head), "\n# %s\n", run);
	p = strstr(p, head);
	if (!p)
		fail_msg("no block '%s'", run);
	p += strlen(head);
	end = strstr(p, "\n# ");
	line = strstr(p, line_start);
	if (!line || (end && line > end) || line[-1] != '\n')
		fail_msg("no line '%s' in the block of %s", line_start, run);
	if (sscanf(line + strlen(line_start), " %llu", &v) != 1)
		fail_msg("no value on '%s'", line_start);
	return v;
}

static void test_cli_stats_text_json_and_errors(void **state)
{
	struct cli_run t = cli_run("sim", "--compare", "legacy,upstream", "--stats", NULL);
	struct cli_run j = cli_run("sim", "--compare", "legacy,upstream", "--stats", "--json",
				   NULL);
	struct cli_run plain = cli_run("sim", "--json", NULL);
	struct cli_run sw = cli_run("sim", "--stats", "--sweep", "khugepaged/max_ptes_none=0,511",
				    NULL);
	json_t *doc, *runs;

	(void)state;
	assert_int_equal(t.status, 0);
	assert_int_equal(j.status, 0);
	doc = json_loads(j.out, 0, NULL);
	assert_non_null(doc);
	runs = json_object_get(doc, "runs");
	assert_int_equal(json_array_size(runs), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *run = json_array_get(runs, i), *st = json_object_get(run, "stats");
		const char *name = json_string_value(json_object_get(run, "policy"));
		json_t *c9 = json_object_get(json_object_get(run, "collapses_by_order"), "9");
		uint64_t pmd = c9 ? (uint64_t)json_integer_value(c9) : 0;
		json_t *g = json_object_get(st, "hugepages-2048kB");

		assert_non_null(st);
		/* text and JSON give the same counters, equal to the report's */
		assert_int_equal(text_stat(t.out, name, "/proc/vmstat thp_collapse_alloc"), pmd);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "vmstat"),
								    "thp_collapse_alloc")), pmd);
		assert_int_equal(json_integer_value(json_object_get(g, "collapse_alloc")), pmd);
		assert_int_equal(text_stat(t.out, name, "/sys/kernel/mm/transparent_hugepage/"
					   "hugepages-2048kB/stats collapse_alloc"), pmd);
		assert_int_equal(text_stat(t.out, name, "/sys/kernel/mm/transparent_hugepage/"
					   "khugepaged pages_collapsed"),
				 json_integer_value(json_object_get(json_object_get(st, "khugepaged"),
								    "pages_collapsed")));
		assert_null(json_object_get(json_object_get(st, "hugepages-64kB"), "zswpout"));
		assert_true(json_is_integer(json_object_get(json_object_get(st, "hugepages-64kB"),
							    "swpin")));
		/* the partially mapped folios at the end, as the counters have them */
		{
			json_t *pm = json_object_get(run, "partially_mapped");
			json_int_t folios = 0;
			const char *size;
			json_t *grp;

			assert_true(json_is_integer(json_object_get(pm, "pages_unmapped")));
			json_object_foreach(st, size, grp)
				if (!strncmp(size, "hugepages-", 10))
					folios += json_integer_value(json_object_get(
						grp, "nr_anon_partially_mapped"));
			assert_int_equal(json_integer_value(json_object_get(pm, "folios")), folios);
		}
	}
	/* the default scenario collapses under upstream */
	assert_true(text_stat(t.out, "upstream", "/proc/vmstat thp_collapse_alloc") > 0);
	json_decref(doc);
	/* without --stats the document is as before */
	assert_int_equal(plain.status, 0);
	assert_null(strstr(plain.out, "\"stats\""));
	assert_int_equal(sw.status, 2);
	assert_non_null(strstr(sw.err, "--stats prints each run's counters"));
	cli_run_free(&t);
	cli_run_free(&j);
	cli_run_free(&plain);
	cli_run_free(&sw);
}

/* --trace-events: tracefs's set_event syntax, and every bad item named. */
static void test_trace_events_parse(void **state)
{
	static const struct { const char *list; uint32_t mask; } good[] = {
		{ "mm_collapse_huge_page", 1u << SIM_TRACE_COLLAPSE },
		{ "huge_memory:mm_collapse_huge_page_swapin", 1u << SIM_TRACE_SWAPIN },
		{ "*:mm_khugepaged_scan_pmd", 1u << SIM_TRACE_SCAN_PMD },
		{ "mm_khugepaged_scan_pmd,mm_collapse_huge_page_isolate",
		  1u << SIM_TRACE_SCAN_PMD | 1u << SIM_TRACE_ISOLATE },
		{ "huge_memory", SIM_TRACE_ALL },
		{ "huge_memory:*", SIM_TRACE_ALL },
		{ "*:*", SIM_TRACE_ALL },
	};
	static const struct { const char *list, *why; } bad[] = {
		{ "", "the list of events is empty" },
		{ "mm_collapse", "'mm_collapse': no such event" },
		{ "mm_collapse_huge_page,", "an empty event name" },
		{ ",mm_collapse_huge_page", "an empty event name" },
		{ "sched:sched_switch", "'sched:sched_switch': no such event system" },
		{ "huge_memory:nope", "'huge_memory:nope': no such event" },
		{ "mm_khugepaged_scan_file", "does not fire this event (file-backed" },
		{ "MM_COLLAPSE_HUGE_PAGE", "no such event" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint32_t mask = 0;
		char why[200] = "";

		if (sim_trace_events_parse(good[i].list, &mask, why, sizeof(why)))
			fail_msg("'%s' refused: %s", good[i].list, why);
		assert_int_equal(mask, good[i].mask);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t mask = 12345;
		char why[200] = "";

		assert_int_equal(sim_trace_events_parse(bad[i].list, &mask, why, sizeof(why)),
				 -EINVAL);
		assert_int_equal(mask, 12345);
		if (!strstr(why, bad[i].why))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].list, why, bad[i].why);
	}
	for (unsigned e = 0; e < SIM_NR_TRACE_EVENTS; e++) {
		uint32_t mask = 0;
		char why[200];

		assert_int_equal(sim_trace_events_parse(sim_trace_event_name(e), &mask, why,
							sizeof(why)), 0);
		assert_int_equal(mask, 1u << e);
	}
}

/*
 * The lines of a --trace file by event, each read as an ftrace line with
 * 7.2's fields; comment lines ("# mthp sim: ...") are skipped.
 */
static void count_trace_events(const char *path, unsigned counts[SIM_NR_TRACE_EVENTS])
{
	FILE *f = fopen(path, "r");
	char line[1024];

	assert_non_null(f);
	memset(counts, 0, SIM_NR_TRACE_EVENTS * sizeof(counts[0]));
	while (fgets(line, sizeof(line), f)) {
		struct ftrace_line l;
		unsigned e;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#')
			continue;
		if (!ftrace_line_parse(line, &l))
			fail_msg("not an ftrace line: '%s'", line);
		assert_huge_memory_fields(&l);
		for (e = 0; e < SIM_NR_TRACE_EVENTS; e++)
			if (!strcmp(l.event, sim_trace_event_name(e)))
				break;
		assert_true(e < SIM_NR_TRACE_EVENTS);
		counts[e]++;
	}
	fclose(f);
}

static void test_cli_trace_events(void **state)
{
	char path[] = "/tmp/mthp-trace-XXXXXX";
	unsigned all[SIM_NR_TRACE_EVENTS], some[SIM_NR_TRACE_EVENTS];
	struct cli_run r;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	r = cli_run("sim", "--compare", "legacy,upstream", "--trace", path, NULL);
	assert_int_equal(r.status, 0);
	cli_run_free(&r);
	count_trace_events(path, all);
	assert_true(all[SIM_TRACE_SCAN_PMD] > 0);
	assert_true(all[SIM_TRACE_COLLAPSE] > 0);
	/* every attempt has its isolate line (the default scenario has no swap) */
	assert_int_equal(all[SIM_TRACE_ISOLATE], all[SIM_TRACE_COLLAPSE]);
	r = cli_run("sim", "--compare", "legacy,upstream", "--trace", path, "--trace-events",
		    "mm_collapse_huge_page,huge_memory:mm_collapse_huge_page_isolate", NULL);
	assert_int_equal(r.status, 0);
	cli_run_free(&r);
	count_trace_events(path, some);
	assert_int_equal(some[SIM_TRACE_SCAN_PMD], 0);
	assert_int_equal(some[SIM_TRACE_SWAPIN], 0);
	assert_int_equal(some[SIM_TRACE_COLLAPSE], all[SIM_TRACE_COLLAPSE]);
	assert_int_equal(some[SIM_TRACE_ISOLATE], all[SIM_TRACE_ISOLATE]);

	cli_run_fails(2, "--trace-events: 'mm_collapse_hugepage': no such event",
		      "sim", "--trace", path, "--trace-events", "mm_collapse_hugepage", NULL);
	cli_run_fails(2, "give --trace FILE", "sim", "--trace-events", "huge_memory", NULL);
	unlink(path);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_fill_writes_every_page_of_its_range),
	cmocka_unit_test(test_partially_mapped_folios_at_the_end),
	cmocka_unit_test(test_random_writes_about_density),
	cmocka_unit_test(test_cluster_writes_runs),
	cmocka_unit_test(test_read_maps_the_zero_page),
	cmocka_unit_test(test_hot_keeps_a_hot_set_young),
	cmocka_unit_test(test_heap_keeps_its_live_share),
	cmocka_unit_test(test_pageout_free_dontneed),
	cmocka_unit_test(test_exact_page_lists),
	cmocka_unit_test(test_fork_child_writes_and_exits),
	cmocka_unit_test(test_child_lives_past_its_phase),
	cmocka_unit_test(test_advise_and_sleep),
	cmocka_unit_test(test_same_seed_same_report_every_policy_same_workload),
	cmocka_unit_test(test_cli_json_is_byte_identical_and_compares),
	cmocka_unit_test(test_cli_errors),
	cmocka_unit_test(test_writes_past_the_machine_are_counted),
	cmocka_unit_test(test_writes_past_the_cgroup_limit_are_counted),
	cmocka_unit_test(test_writes_past_the_cgroup_limit_go_to_swap),
	cmocka_unit_test(test_json_of_a_name_not_utf8),
	cmocka_unit_test(test_several_processes_run),
	cmocka_unit_test(test_shrink_phase_splits_underused_thps),
	cmocka_unit_test(test_vmas_off_pmd_boundaries),
	cmocka_unit_test(test_cli_warns_of_failed_writes),
	cmocka_unit_test(test_cli_checks_output_paths_first),
	cmocka_unit_test(test_aligned_runs_start_at_multiples_of_their_length),
	cmocka_unit_test(test_runs_keys_are_checked),
	cmocka_unit_test(test_timeline_samples_and_picture),
	cmocka_unit_test(test_pictures_count_the_simulated_machine),
	cmocka_unit_test(test_scan_succeed_says_what_the_walk_did),
	cmocka_unit_test(test_stats_agree_with_the_report),
	cmocka_unit_test(test_stats_of_faults_and_pageout),
	cmocka_unit_test(test_stats_names_are_the_kernels),
	cmocka_unit_test(test_cli_stats_text_json_and_errors),
	cmocka_unit_test(test_trace_events_parse),
	cmocka_unit_test(test_cli_trace_events),
)
