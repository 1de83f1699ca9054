// SPDX-License-Identifier: MIT
/*
 * test_sweep.c - the sweep: knob lists are checked before anything runs,
 * the grid is every combination in order, the same sweep gives the same
 * numbers on one thread and on several, the front is exactly the runs no
 * other run dominates, the recommendation follows the budget, and the
 * chart is written.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/passes.h>
#include <mthp/sweep.h>

#include <jansson.h>

#include "cli/cli.h"
#include "helpers/live_skip.h"
#include "helpers/png_file.h"
#include "helpers/test_main.h"
#include "report/sweep_report.h"

/* Sparse runs of 64K under advice: the policies and max_ptes_none differ. */
static const char scenario_text[] =
	"[machine]\nmemory = 256M\nswap = 0\n"
	"[settings]\nenabled = madvise\nhugepages-64kB/enabled = madvise\n"
	"hugepages-2048kB/enabled = inherit\nkhugepaged/max_ptes_none = 0\n"
	"khugepaged/scan_sleep_millisecs = 100\n"
	"[process p]\n[vma p v]\nsize = 8M\n"
	"[phase p write]\nvma = v\naction = cluster\nruns = 40\nrun_pages = 16\n"
	"[phase p advise]\nvma = v\naction = advise\n"
	"[phase p wait]\naction = sleep\nduration = 2s\n";

struct fixture {
	struct mthp_scenario sc;
	struct mthp_sweep sw;
};

static void setup_sweep(struct fixture *f, unsigned threads)
{
	struct mthp_diag diag = { .warn = NULL };
	static const char *const axes[] = {
		"khugepaged/max_ptes_none=0,511",
		"hugepages-64kB/enabled=never,madvise",
	};

	memset(f, 0, sizeof(*f));
	if (mthp_scenario_read_mem(&f->sc, scenario_text, strlen(scenario_text), "t.ini", &diag))
		fail_msg("scenario rejected: %s", diag.msg);
	assert_int_equal(mthp_scenario_settings(&f->sc, &f->sw.settings, &diag), 0);
	f->sw.scenario = &f->sc;
	f->sw.source = "t.ini";
	for (unsigned a = 0; a < 2; a++)
		if (mthp_sweep_axis_parse(&f->sw.axes[a], axes[a], &f->sw.settings, &diag))
			fail_msg("%s: %s", axes[a], diag.msg);
	f->sw.nr_axes = 2;
	f->sw.policies[0] = MTHP_POLICY_LEGACY;
	f->sw.policies[1] = MTHP_POLICY_UPSTREAM;
	f->sw.nr_policies = 2;
	f->sw.profile = MTHP_TLB_ARM64_4K;
	f->sw.seed = 7;
	f->sw.threads = threads;
	if (mthp_sweep_run(&f->sw, &diag))
		fail_msg("sweep failed: %s", diag.msg);
}

static void teardown_sweep(struct fixture *f)
{
	mthp_sweep_free(&f->sw);
	mthp_scenario_free(&f->sc);
}

static void test_axis_errors_name_the_knob_and_value(void **state)
{
	struct mthp_geometry geo;
	struct mthp_settings s;
	struct mthp_sweep_axis axis;
	static const struct {
		const char *arg, *want;
	} cases[] = {
		{ "khugepaged/max_ptes_none", "expected KNOB=V1,V2" },
		{ "=1,2", "expected KNOB=V1,V2" },
		{ "khugepaged/max_ptes_none=0,,511", "an empty value" },
		{ "khugepaged/max_ptes_none=0,512", "max_ptes_none" },
		{ "khugepaged/max_ptes_none=0,0", "given twice" },
		/* one setting however written */
		{ "khugepaged/max_ptes_none=7,007", "the values '7' and '007' are one setting" },
		{ "no/such_knob=1", "no/such_knob" },
		{ "hugepages-64kB/enabled=always,sometimes", "sometimes" },
	};

	(void)state;
	mthp_geometry_from_page_size(&geo, 4096);
	mthp_settings_init(&s, &geo);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mthp_diag diag = { .warn = NULL };

		assert_int_not_equal(mthp_sweep_axis_parse(&axis, cases[i].arg, &s, &diag), 0);
		if (!strstr(diag.msg, cases[i].want))
			fail_msg("%s: '%s' lacks '%s'", cases[i].arg, diag.msg, cases[i].want);
	}
	assert_int_equal(mthp_sweep_axis_parse(&axis, "khugepaged/max_ptes_none=0,64,511", &s,
					       &(struct mthp_diag){ .warn = NULL }), 0);
	assert_int_equal(axis.nr_values, 3);
	assert_string_equal(axis.values[1], "64");
}

static void test_grid_is_every_combination_first_axis_slowest(void **state)
{
	struct fixture f;
	char label[256];

	(void)state;
	setup_sweep(&f, 1);
	assert_int_equal(f.sw.nr_combos, 4);
	assert_int_equal(f.sw.nr_runs, 4 * 3);
	mthp_sweep_combo_label(&f.sw, 1, label, sizeof(label));
	assert_string_equal(label, "khugepaged/max_ptes_none=0, hugepages-64kB/enabled=madvise");
	mthp_sweep_combo_label(&f.sw, 2, label, sizeof(label));
	assert_string_equal(label, "khugepaged/max_ptes_none=511, hugepages-64kB/enabled=never");
	for (size_t i = 0; i < f.sw.nr_runs; i++) {
		assert_int_equal(f.sw.runs[i].combo, i / 3);
		assert_int_equal(f.sw.runs[i].policy, i % 3 == 0 ? MTHP_RUN_NO_COLLAPSE :
				 i % 3 == 1 ? MTHP_POLICY_LEGACY : MTHP_POLICY_UPSTREAM);
	}
	/* khugepaged off: the knob of khugepaged changes nothing */
	assert_int_equal(f.sw.runs[0].report.resident_pages, f.sw.runs[6].report.resident_pages);
	/* upstream at 511 with 64K advised fills the sparse runs: more memory */
	assert_true(f.sw.runs[11].report.resident_pages > f.sw.runs[5].report.resident_pages);
	assert_true(f.sw.runs[11].report.pages_filled > 0);
	teardown_sweep(&f);
}

static void test_same_results_on_one_thread_and_on_four(void **state)
{
	struct fixture a, b;

	(void)state;
	setup_sweep(&a, 1);
	setup_sweep(&b, 4);
	assert_int_equal(a.sw.baseline_tlb, b.sw.baseline_tlb);
	for (size_t i = 0; i < a.sw.nr_runs; i++) {
		assert_int_equal(a.sw.runs[i].report.resident_pages,
				 b.sw.runs[i].report.resident_pages);
		assert_int_equal(a.sw.runs[i].tlb_entries, b.sw.runs[i].tlb_entries);
		assert_memory_equal(a.sw.runs[i].report.collapses_by_order,
				    b.sw.runs[i].report.collapses_by_order,
				    sizeof(a.sw.runs[i].report.collapses_by_order));
		assert_int_equal(a.sw.runs[i].on_front, b.sw.runs[i].on_front);
	}
	teardown_sweep(&a);
	teardown_sweep(&b);
}

static bool dominated(const struct mthp_sweep *sw, size_t i)
{
	const struct mthp_sweep_run *r = &sw->runs[i];

	for (size_t k = 0; k < sw->nr_runs; k++) {
		const struct mthp_sweep_run *o = &sw->runs[k];

		if (o->report.resident_pages <= r->report.resident_pages &&
		    o->tlb_entries <= r->tlb_entries &&
		    (o->report.resident_pages < r->report.resident_pages ||
		     o->tlb_entries < r->tlb_entries))
			return true;
	}
	return false;
}

static void test_front_is_exactly_the_undominated_runs(void **state)
{
	struct fixture f;
	size_t on = 0;

	(void)state;
	setup_sweep(&f, 2);
	for (size_t i = 0; i < f.sw.nr_runs; i++) {
		assert_int_equal(f.sw.runs[i].on_front, !dominated(&f.sw, i));
		on += f.sw.runs[i].on_front;
	}
	assert_true(on >= 1 && on < f.sw.nr_runs);
	teardown_sweep(&f);
}

static void test_recommendation_follows_the_budget(void **state)
{
	struct mthp_sweep_choice tight, loose;
	struct fixture f;
	char words[1024];

	(void)state;
	setup_sweep(&f, 2);
	mthp_sweep_choose(&f.sw, 0.0, &tight);
	mthp_sweep_choose(&f.sw, 10.0, &loose);
	assert_true(loose.fewest_tlb >= 0);
	/* with room for everything, the choice is the fewest TLB entries */
	assert_int_equal(loose.within_budget, loose.fewest_tlb);
	if (tight.within_budget >= 0)
		assert_true(f.sw.runs[tight.within_budget].memory_change <= 1e-9);
	for (size_t i = 0; i < f.sw.nr_runs; i++) {
		assert_true(f.sw.runs[i].tlb_entries >= f.sw.runs[loose.fewest_tlb].tlb_entries);
		if (tight.within_budget >= 0 && f.sw.runs[i].memory_change <= 1e-9)
			assert_true(f.sw.runs[i].tlb_entries >=
				    f.sw.runs[tight.within_budget].tlb_entries);
	}
	mthp_sweep_recommendation(&f.sw, 10.0, words, sizeof(words));
	assert_non_null(strstr(words, "within 1000% more memory"));
	assert_non_null(strstr(words, mthp_run_name(f.sw.runs[loose.fewest_tlb].policy)));
	/* a budget under 1% reads as what it is, not as 0% */
	mthp_sweep_recommendation(&f.sw, 0.002, words, sizeof(words));
	assert_non_null(strstr(words, "within 0.2% more memory"));
	mthp_sweep_recommendation(&f.sw, 0.1225, words, sizeof(words));
	assert_non_null(strstr(words, "within 12.25% more memory"));
	teardown_sweep(&f);
}

static void test_text_marks_the_front_and_ends_with_the_answer(void **state)
{
	struct fixture f;
	char *buf = NULL, words[1024];
	size_t len = 0, stars = 0, on = 0;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	setup_sweep(&f, 2);
	mthp_sweep_text(out, &f.sw, 0.05, "--tlb");
	fclose(out);
	/* a row: "NNNN * policy ...", the mark after the row number */
	for (const char *p = buf; (p = strchr(p, '\n')); p++)
		stars += strlen(p) > 6 && p[6] == '*';
	for (size_t i = 0; i < f.sw.nr_runs; i++)
		on += f.sw.runs[i].on_front;
	assert_int_equal(stars, on);
	mthp_sweep_recommendation(&f.sw, 0.05, words, sizeof(words));
	assert_non_null(strstr(buf, words));
	assert_non_null(strstr(buf, "profile arm64-4k (--tlb)"));
	free(buf);
	teardown_sweep(&f);
}

static void test_chart_is_written_and_bad_names_refused(void **state)
{
	char path[] = "/tmp/mthp-sweep-XXXXXX.png", err[256];
	struct fixture f;
	int fd;

	(void)state;
	setup_sweep(&f, 2);
	assert_int_equal(mthp_sweep_plot("/tmp/x.jpg", &f.sw, 0.05, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ".svg or .png"));
	fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mthp_sweep_plot(path, &f.sw, 0.05, err, sizeof(err)), 0);
	assert_png_file(path);
	unlink(path);
	teardown_sweep(&f);
}

/* The height of a PNG file, from its header. */
static unsigned png_height(const char *path)
{
	unsigned char h[24];
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fread(h, 1, sizeof(h), f), sizeof(h));
	fclose(f);
	return (unsigned)h[20] << 24 | (unsigned)h[21] << 16 | (unsigned)h[22] << 8 | h[23];
}

/* The chart of a sweep of n made-up runs at `points` distinct points, all on the front. */
static unsigned chart_height(size_t n, size_t points)
{
	char path[] = "/tmp/mthp-sweep-XXXXXX.png", err[256] = "";
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_geometry geo;
	struct mthp_sweep sw;
	unsigned height;
	int fd;

	memset(&sw, 0, sizeof(sw));
	mthp_geometry_from_page_size(&geo, 4096);
	mthp_settings_init(&sw.settings, &geo);
	assert_int_equal(mthp_sweep_axis_parse(&sw.axes[0], "khugepaged/max_ptes_none=0,511",
					       &sw.settings, &diag), 0);
	sw.nr_axes = 1;
	sw.nr_combos = 2;
	sw.source = "made up";
	sw.baseline.resident_pages = 1000;
	sw.baseline_tlb = 100000;
	sw.runs = calloc(n, sizeof(*sw.runs));
	assert_non_null(sw.runs);
	sw.nr_runs = n;
	for (size_t i = 0; i < n; i++) {
		size_t pt = i % points;

		sw.runs[i] = (struct mthp_sweep_run){
			.combo = (unsigned)(i % 2), .policy = MTHP_POLICY_UPSTREAM,
			.tlb_entries = 100000 - pt, .on_front = true,
		};
		sw.runs[i].report.resident_pages = 1000 + pt;
		sw.runs[i].memory_change = (double)pt / 1000;
	}
	fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	close(fd);
	if (mthp_sweep_plot(path, &sw, 0.05, err, sizeof(err)))
		fail_msg("%zu runs: %s", n, err);
	height = png_height(path);
	unlink(path);
	free(sw.runs);
	return height;
}

/* A sweep of thousands of runs still makes a chart of a readable size. */
static void test_chart_of_many_runs_keys_the_front_points(void **state)
{
	unsigned few = chart_height(12, 12), shared = chart_height(4000, 3);

	(void)state;
	/* up to 120 runs: a key line each */
	assert_true(chart_height(100, 100) > few + 40 * 17);
	/* more: a key line per front point, and at most 120 of them */
	assert_true(shared < few);
	assert_true(chart_height(12000, 12000) == chart_height(3000, 3000));
	assert_true(chart_height(3000, 3000) < 32767);
}

/* Two ranges: full aligned 64K blocks in one, a sparse scatter in the other. */
static void snapshot_case(struct mthp_snapshot *snap, struct mthp_settings *s)
{
	struct mthp_geometry geo;
	uint8_t ptes[512];

	mthp_geometry_from_page_size(&geo, 4096);
	mthp_snapshot_init(snap, &geo);
	assert_int_equal(mthp_snapshot_add_vma(snap, 0x200000, 0x600000, MTHP_VMA_ANON), 0);
	memset(ptes, '.', sizeof(ptes));
	for (unsigned b = 0; b < 512; b += 64)
		memset(ptes + b, 'A', 16);
	assert_int_equal(mthp_snapshot_add_pmd(snap, 0x200000, MTHP_PMD_TABLE, ptes, NULL), 0);
	memset(ptes, '.', sizeof(ptes));
	for (unsigned k = 0; k < 512; k += 37)
		ptes[k] = 'A';
	assert_int_equal(mthp_snapshot_add_pmd(snap, 0x400000, MTHP_PMD_TABLE, ptes, NULL), 0);
	mthp_settings_init(s, &geo);
	assert_int_equal(mthp_settings_set(s, "enabled", "always", NULL, 0), 0);
}

/* A sweep of snapshot_case() under upstream on x86-64, axes to add. */
static void snapshot_sweep(struct mthp_sweep *sw, struct mthp_snapshot *snap,
			   enum mthp_context context)
{
	snapshot_case(snap, &sw->settings);
	sw->snapshot = snap;
	sw->source = "pid 1";
	sw->context = context;
	sw->policies[0] = MTHP_POLICY_UPSTREAM;
	sw->nr_policies = 1;
	sw->profile = MTHP_TLB_X86_64;
}

static void test_a_snapshot_is_swept_by_passes_to_the_fixpoint(void **state)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_snapshot snap;
	struct mthp_sweep sw = { .snapshot = NULL };
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	snapshot_sweep(&sw, &snap, MTHP_CONTEXT_KHUGEPAGED);
	assert_int_equal(mthp_sweep_axis_parse(&sw.axes[0], "khugepaged/max_ptes_none=0,511",
					       &sw.settings, &diag), 0);
	assert_int_equal(mthp_sweep_axis_parse(&sw.axes[1], "hugepages-64kB/enabled=never,always",
					       &sw.settings, &diag), 0);
	sw.nr_axes = 2;
	assert_int_equal(mthp_sweep_run(&sw, &diag), 0);
	/* one run per combination: the snapshot has no fault path to vary */
	assert_int_equal(sw.nr_runs, 4);
	assert_int_equal(sw.baseline.resident_pages, 128 + 14);
	/* 0, never: nothing; 0, always: the eight 64K blocks; 511: both 2M */
	assert_int_equal(sw.runs[0].report.resident_pages, 142);
	assert_int_equal(sw.runs[0].tlb_entries, 142);
	assert_int_equal(sw.runs[1].report.collapses_by_order[4], 8);
	assert_int_equal(sw.runs[1].tlb_entries, 142);	/* x86-64 has no 64K entry */
	assert_int_equal(sw.runs[3].report.collapses_by_order[9], 2);
	assert_int_equal(sw.runs[3].report.resident_pages, 1024);
	assert_int_equal(sw.runs[3].tlb_entries, 2);
	assert_int_equal(sw.runs[3].report.pages_filled, 1024 - 142);
	/* lines for a shell, for the knobs that differ (max_ptes_none is 511) */
	out = open_memstream(&buf, &len);
	assert_int_equal(mthp_sweep_echo(out, &sw, 3), 1);
	assert_int_equal(mthp_sweep_echo(out, &sw, 0), 1);
	fclose(out);
	assert_string_equal(buf, "echo always > /sys/kernel/mm/transparent_hugepage/"
			    "hugepages-64kB/enabled\n"
			    "echo 0 > /sys/kernel/mm/transparent_hugepage/"
			    "khugepaged/max_ptes_none\n");
	free(buf);
	mthp_sweep_free(&sw);
	mthp_snapshot_free(&snap);
}

/*
 * MADV_COLLAPSE ignores max_ptes_none, so at 0 it makes THPs of the sparse
 * ranges that the underused-THP shrinker would split again: the runs count
 * them, and the recommendation says so.
 */
static void test_a_recommendation_says_what_the_shrinker_takes_back(void **state)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_snapshot snap;
	struct mthp_sweep sw = { .snapshot = NULL };
	char words[1024];

	(void)state;
	snapshot_sweep(&sw, &snap, MTHP_CONTEXT_MADVISE);
	assert_int_equal(mthp_sweep_axis_parse(&sw.axes[0], "khugepaged/max_ptes_none=0,511",
					       &sw.settings, &diag), 0);
	sw.nr_axes = 1;
	assert_int_equal(mthp_sweep_run(&sw, &diag), 0);
	assert_int_equal(sw.nr_runs, 2);
	/* both ranges collapse either way; at 0 both THPs are underused, at 511 none */
	assert_int_equal(sw.runs[0].report.collapses_by_order[9], 2);
	assert_int_equal(sw.runs[0].report.underused_thps, 2);
	assert_int_equal(sw.runs[0].report.underused_pages, 1024 - 142);
	assert_int_equal(sw.runs[1].report.underused_thps, 0);
	mthp_sweep_recommendation(&sw, 10.0, words, sizeof(words));
	if (!strstr(words, "the underused-THP shrinker would split 2 THPs of upstream with "
			   "khugepaged/max_ptes_none=0 again") ||
	    !strstr(words, "giving back 3.4 MiB."))
		fail_msg("recommendation: %s", words);
	mthp_sweep_free(&sw);
	mthp_snapshot_free(&snap);
}

/* Run `mthp ARGS...`; out and err captured; returns the exit status. */
static int mthp(char **out, char **err, ...)
{
	char *argv[32];
	int argc = 0, status;
	size_t olen = 0, elen = 0;
	FILE *o = open_memstream(out, &olen), *e = open_memstream(err, &elen);
	va_list ap;

	va_start(ap, err);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	status = mthp_cli_run(argc, argv, o, e);
	fclose(o);
	fclose(e);
	return status;
}

static void test_sim_sweep_json_has_every_run_the_front_and_the_answer(void **state)
{
	char *out, *err, path[] = "/tmp/mthp-sweep-ini-XXXXXX";
	json_error_t jerr;
	json_t *doc, *runs, *front;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(scenario_text, f);
	fclose(f);
	assert_int_equal(mthp(&out, &err, "sim", path, "--sweep", "khugepaged/max_ptes_none=0,511",
			      "--compare", "upstream", "--tlb", "arm64-4k", "--budget", "10%",
			      "--threads", "2", "--json", NULL), 0);
	unlink(path);
	doc = json_loads(out, 0, &jerr);
	if (!doc)
		fail_msg("not JSON: %s\n%s", jerr.text, out);
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "mthp-sweep 1");
	assert_string_equal(json_string_value(json_object_get(doc, "tlb_profile")), "arm64-4k");
	assert_true(json_real_value(json_object_get(doc, "budget")) == 0.10);
	assert_int_equal(json_integer_value(json_object_get(doc, "seed")), 1);
	runs = json_object_get(doc, "runs");
	front = json_object_get(doc, "front");
	/* two settings, each with khugepaged off and under upstream */
	assert_int_equal(json_array_size(runs), 4);
	assert_true(json_array_size(front) >= 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 3), "policy")),
			    "upstream");
	assert_non_null(json_object_get(json_object_get(json_array_get(runs, 3), "report"),
					"collapses_by_order"));
	assert_non_null(strstr(json_string_value(json_object_get(
				json_object_get(doc, "recommendation"), "text")), "within 10%"));
	json_decref(doc);
	free(out);
	free(err);
}

/*
 * Without --sweep, --tlb sets the simulated machine's MMU, which guarded
 * reads: on the JVM-like heap at max_ptes_none 128 guarded fills 64K
 * windows on arm64-4k and not on the default x86-64.
 */
static void test_sim_tlb_sets_the_machines_mmu(void **state)
{
	char *out, *err, *x86, *arm;
	char path[] = "/tmp/mthp-mmu-ini-XXXXXX";
	int fd;

	(void)state;
	assert_int_equal(mthp(&x86, &err, "sim", "scenarios/jvm.ini", "--compare",
			      "upstream,guarded", "--set", "khugepaged/max_ptes_none=128", "--json",
			      NULL), 0);
	free(err);
	assert_int_equal(mthp(&arm, &err, "sim", "scenarios/jvm.ini", "--compare",
			      "upstream,guarded", "--set", "khugepaged/max_ptes_none=128", "--json",
			      "--tlb", "arm64-4k", NULL), 0);
	free(err);
	assert_string_not_equal(x86, arm);
	free(x86);
	free(arm);
	assert_int_equal(mthp(&out, &err, "sim", "scenarios/jvm.ini", "--compare",
			      "upstream,guarded", "--set", "khugepaged/max_ptes_none=128",
			      "--tlb", "arm64-4k", NULL), 0);
	assert_non_null(strstr(out, "khugepaged wake-ups per run, MMU arm64-4k\n"));
	assert_non_null(strstr(out, "  arm64-4k                           3931         1741"
				    "         1440\n"));
	free(out);
	free(err);
	/* a profile of another page size; a scenario that names another MMU */
	assert_int_equal(mthp(&out, &err, "sim", "--tlb", "arm64-16k", NULL), 2);
	assert_non_null(strstr(err, "--tlb arm64-16k: made for another page size than 4096"));
	free(out);
	free(err);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[machine]\nmmu = zen\n[process p]\n", 32), 32);
	close(fd);
	assert_int_equal(mthp(&out, &err, "sim", path, "--tlb", "arm64-4k", NULL), 2);
	assert_non_null(strstr(err, "--tlb arm64-4k: the scenario's machine has mmu zen ("));
	free(out);
	free(err);
	unlink(path);
}

static void test_sim_sweep_refuses_options_it_cannot_honour(void **state)
{
	static const struct {
		const char *args[6], *want;
	} cases[] = {
		{ { "sim", "--plot", "x.png" }, "go with --sweep" },
		{ { "sim", "--sweep", "khugepaged/max_ptes_none=0", "--map", "m.png" }, "--plot" },
		{ { "sim", "--sweep", "khugepaged/max_ptes_none=0", "--budget", "five" },
		  "percentage" },
		{ { "sim", "--sweep", "khugepaged/max_ptes_none=0", "--budget", "0x10" },
		  "percentage" },
		{ { "sim", "--sweep", "khugepaged/max_ptes_none=0", "--budget", "-0" },
		  "percentage" },
		{ { "sim", "--sweep", "khugepaged/max_ptes_none=0", "--tlb", "sparc" }, "x86-64" },
		{ { "sim", "--sweep", "khugepaged/max_ptes_none=0,600" }, "max_ptes_none" },
		{ { "sim", "--sweep", "khugepaged/max_ptes_none=0", "--plot", "p.jpg" },
		  ".svg or .png" },
		{ { "sim", "--sweep", "khugepaged/max_ptes_none=0", "--sweep",
		    "khugepaged/max_ptes_none=511" }, "--sweep khugepaged/max_ptes_none is given twice" },
		/* the sweep would override the --set without a word */
		{ { "sim", "--set", "khugepaged/max_ptes_none=64", "--sweep",
		    "khugepaged/max_ptes_none=0,511" },
		  "--set khugepaged/max_ptes_none=64 and --sweep khugepaged/max_ptes_none" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out, *err;
		int n = 0;

		while (n < 6 && cases[i].args[n])
			n++;
		assert_int_equal(mthp(&out, &err, cases[i].args[0], cases[i].args[1],
				      n > 2 ? cases[i].args[2] : NULL, n > 3 ? cases[i].args[3] : NULL,
				      n > 4 ? cases[i].args[4] : NULL, NULL), 2);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		free(out);
		free(err);
	}
	/* 16^4 combinations: a bad option too, refused before any run */
	{
		static const char v[] = "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15";
		char none[80], swap[80], shared[80], scan[80], *out, *err;

		snprintf(none, sizeof(none), "khugepaged/max_ptes_none=%s", v);
		snprintf(swap, sizeof(swap), "khugepaged/max_ptes_swap=%s", v);
		snprintf(shared, sizeof(shared), "khugepaged/max_ptes_shared=%s", v);
		snprintf(scan, sizeof(scan), "khugepaged/pages_to_scan=16,%s", v + 2);
		assert_int_equal(mthp(&out, &err, "sim", "--sweep", none, "--sweep", swap,
				      "--sweep", shared, "--sweep", scan, NULL), 2);
		assert_non_null(strstr(err, "the sweep has more than 4096 combinations"));
		free(out);
		free(err);
	}
}

/*
 * A sweep judges the machine it simulates: a scenario's [machine] mmu is
 * the profile, and --tlb may not name another.
 */
static void test_sim_sweep_judges_the_scenarios_mmu(void **state)
{
	char path[] = "/tmp/mthp-test-mmu-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	char *out, *err;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("[machine]\nmmu = arm64-4k\n[process p]\n[vma p v]\nsize = 4M\n"
	      "[phase p fill]\nvma = v\naction = fill\n", f);
	fclose(f);
	assert_int_equal(mthp(&out, &err, "sim", path, "--sweep", "khugepaged/max_ptes_none=0",
			      "--compare", "upstream", NULL), 0);
	assert_non_null(strstr(out, "profile arm64-4k (the scenario's [machine] mmu)"));
	free(out);
	free(err);
	assert_int_equal(mthp(&out, &err, "sim", path, "--sweep", "khugepaged/max_ptes_none=0",
			      "--tlb", "x86-64", NULL), 2);
	assert_non_null(strstr(err, "--tlb x86-64: the scenario's machine has mmu arm64-4k"));
	free(out);
	free(err);
	unlink(path);
}

/* A snapshot file of snapshot_case(): eight full 64K blocks and a scatter. */
static void write_case(char *path)
{
	struct mthp_snapshot snap;
	struct mthp_settings s;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	snapshot_case(&snap, &s);
	assert_int_equal(mthp_snapshot_add_setting(&snap, "enabled", "always"), 0);
	f = fdopen(fd, "w");
	assert_int_equal(mthp_snapshot_write(&snap, f), 0);
	fclose(f);
	mthp_snapshot_free(&snap);
}

static void test_advise_a_snapshot_prints_the_lines_that_apply_it(void **state)
{
	char path[] = "/tmp/mthp-advise-XXXXXX", *out, *err;
	FILE *f;

	(void)state;
	write_case(path);
	/* 64K always for the blocks; max_ptes_none 511 fills too much */
	assert_int_equal(mthp(&out, &err, "advise", "--snapshot", path, "--tlb", "arm64-4k",
			      NULL), 0);
	assert_non_null(strstr(out, "mthp advise: "));
	assert_non_null(strstr(out, "Lowest TLB entries (arm64-4k) within 5% more memory: "
				    "upstream with khugepaged/max_ptes_none=0, "
				    "hugepages-64kB/enabled=always"));
	assert_non_null(strstr(out, "To apply the recommendation (as root; not run), the "
				    "swept knobs that differ from the snapshot's settings with "
				    "--set:\necho 0 > /sys/kernel/mm/transparent_hugepage/"
				    "khugepaged/max_ptes_none\necho always > /sys/kernel/mm/"
				    "transparent_hugepage/hugepages-64kB/enabled\n"));
	free(out);
	free(err);
	assert_int_equal(mthp(&out, &err, "advise", "--snapshot", path, NULL, NULL), 0);
	free(out);
	free(err);
	/* '-' reads the snapshot from standard input */
	assert_non_null(freopen(path, "r", stdin));
	assert_int_equal(mthp(&out, &err, "advise", "--snapshot", "-", "--tlb", "arm64-4k",
			      NULL), 0);
	assert_non_null(strstr(out, "mthp advise: <stdin>: "));
	assert_non_null(strstr(out, "Lowest TLB entries (arm64-4k) within 5% more memory: "
				    "upstream with khugepaged/max_ptes_none=0, "
				    "hugepages-64kB/enabled=always"));
	free(out);
	free(err);
	/* one source, and only one */
	assert_int_equal(mthp(&out, &err, "advise", NULL, NULL), 2);
	assert_non_null(strstr(err, "give --pid or --snapshot"));
	free(out);
	free(err);
	assert_int_equal(mthp(&out, &err, "advise", "--snapshot", path, "--pid", "1", NULL), 2);
	free(out);
	free(err);
	assert_int_equal(mthp(&out, &err, "advise", "--snapshot", "/nonexistent/x.snap", NULL),
			 1);
	assert_non_null(strstr(err, "/nonexistent/x.snap"));
	free(out);
	free(err);
	/* a THP already: nothing saves an entry, said of the memory as it is */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("mthp-snapshot 2\nvma 7f0000000000 7f0000200000 anon\npmd 7f0000000000 huge\n"
	      "end\n", f);
	fclose(f);
	assert_int_equal(mthp(&out, &err, "advise", "--snapshot", path, "--tlb", "x86-64",
			      NULL), 0);
	assert_non_null(strstr(out, "No setting needs fewer TLB entries (x86-64) than the "
				    "memory as it is now: keep what you have."));
	free(out);
	free(err);
	unlink(path);
}

static void test_advise_a_live_process(void **state)
{
	char pid_text[16], *out, *err;
	json_error_t jerr;
	json_t *doc;
	int ready[2], status;
	pid_t pid;

	(void)state;
	if (live_test_requirements(false) == 77)
		skip();
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		size_t len = 8ul << 20;
		char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);

		if (map == MAP_FAILED)
			_exit(1);
		madvise(map, len, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < len; off += 1 << 20)
			memset(map + off, 1, 64 << 10);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(ready[0], pid_text, 1), 1);
	snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
	status = mthp(&out, &err, "advise", "--pid", pid_text, "--json", NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (status)
		fail_msg("advise --pid failed (%d): %s", status, err);
	doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "mthp-sweep 1");
	assert_true(json_array_size(json_object_get(doc, "runs")) >= 2);
	assert_true(json_is_null(json_object_get(doc, "seed")));	/* no seed in a snapshot's */
	/* the process's 64K runs are resident: 8 of 64K at least */
	assert_true(json_integer_value(json_object_get(json_object_get(json_object_get(doc,
		"baseline"), "report"), "resident_pages")) >= 8 * 16);
	json_decref(doc);
	free(out);
	free(err);
	close(ready[0]);
	close(ready[1]);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_axis_errors_name_the_knob_and_value),
	cmocka_unit_test(test_grid_is_every_combination_first_axis_slowest),
	cmocka_unit_test(test_same_results_on_one_thread_and_on_four),
	cmocka_unit_test(test_front_is_exactly_the_undominated_runs),
	cmocka_unit_test(test_recommendation_follows_the_budget),
	cmocka_unit_test(test_text_marks_the_front_and_ends_with_the_answer),
	cmocka_unit_test(test_chart_is_written_and_bad_names_refused),
	cmocka_unit_test(test_chart_of_many_runs_keys_the_front_points),
	cmocka_unit_test(test_a_snapshot_is_swept_by_passes_to_the_fixpoint),
	cmocka_unit_test(test_a_recommendation_says_what_the_shrinker_takes_back),
	cmocka_unit_test(test_sim_sweep_json_has_every_run_the_front_and_the_answer),
	cmocka_unit_test(test_sim_sweep_refuses_options_it_cannot_honour),
	cmocka_unit_test(test_sim_tlb_sets_the_machines_mmu),
	cmocka_unit_test(test_sim_sweep_judges_the_scenarios_mmu),
	cmocka_unit_test(test_advise_a_snapshot_prints_the_lines_that_apply_it),
	cmocka_unit_test(test_advise_a_live_process),
)
