// SPDX-License-Identifier: MIT
/*
 * test_plan_cli.c - `mthp plan` as a user meets it: the --ptes pattern
 * form, option errors and their exit status, --set errors that name the
 * knob and its range, the text form, and --help.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <mthp/engine.h>

#include "cli/cli.h"
#include "helpers/cli_run.h"
#include "cli/pattern.h"
#include "helpers/test_main.h"
#include "helpers/text_has.h"

static json_t *run_json(struct cli_run *r)
{
	json_error_t jerr;
	json_t *doc;

	if (r->status != 0)
		fail_msg("exit %d: %s", r->status, r->err);
	doc = json_loads(r->out, 0, &jerr);
	if (!doc)
		fail_msg("not JSON: %s", r->out);
	return doc;
}

/* pmds[0].collapses as "OFFSET:ORDER ..." with offsets in pages from 0. */
static void collapses_of(json_t *doc, char *buf, size_t len)
{
	json_t *list = json_object_get(json_array_get(json_object_get(doc, "pmds"), 0),
				       "collapses");
	size_t i;
	json_t *c;

	buf[0] = '\0';
	json_array_foreach(list, i, c) {
		unsigned long long addr = strtoull(json_string_value(json_object_get(c, "addr")),
						   NULL, 16);
		char one[32];

		snprintf(one, sizeof(one), "%s%llu:%lld", i ? " " : "", addr / 4096,
			 json_integer_value(json_object_get(c, "order")));
		strncat(buf, one, len - strlen(buf) - 1);
	}
}

/* Exit 0, JSON whose first range collapses as want ("OFFSET:ORDER ..."). */
static void expect_collapses(struct cli_run r, const char *want)
{
	json_t *doc = run_json(&r);
	char got[256];

	collapses_of(doc, got, sizeof(got));
	assert_string_equal(got, want);
	json_decref(doc);
	cli_run_free(&r);
}

static void test_ptes_full_64k_blocks_collapse_at_order_4(void **state)
{
	(void)state;
	expect_collapses(cli_run("plan", "--ptes", "A*16 .*496", "--set",
				 "hugepages-64kB/enabled=always", "--set",
				 "khugepaged/max_ptes_none=0", "--json", NULL),
			 "0:4");
}

static void test_ptes_one_page_511_goes_to_largest_order(void **state)
{
	(void)state;
	/* PMD size off, 16K..1M on: the page at 300 lands in [256,512) order 8 */
	expect_collapses(cli_run("plan", "--ptes", ".*300 A .*211",
				 "--set", "hugepages-2048kB/enabled=never",
				 "--set", "hugepages-16kB/enabled=always",
				 "--set", "hugepages-1024kB/enabled=always", "--json", NULL),
			 "256:8");
}

static void test_ptes_folio_order_suffix_vetoes_rebuild(void **state)
{
	/* PTEs 16-31 already one 64K folio: upstream leaves it */
	struct cli_run r = cli_run("plan", "--ptes", "A*16 A*16@4 A*32 .*448", "--set",
				"hugepages-64kB/enabled=always", "--set",
				"hugepages-2048kB/enabled=never", "--json", NULL);
	json_t *doc = run_json(&r);
	json_t *attempt;
	char got[256];

	(void)state;
	collapses_of(doc, got, sizeof(got));
	assert_string_equal(got, "0:4 32:4 48:4");
	attempt = json_array_get(json_object_get(json_array_get(json_object_get(doc, "pmds"), 0),
						 "attempts"), 0);
	assert_string_equal(json_string_value(json_object_get(attempt, "result")),
			    "SCAN_PTE_MAPPED_HUGEPAGE");
	json_decref(doc);
	cli_run_free(&r);
}

static void test_ptes_literal_and_geometry_16k(void **state)
{
	(void)state;
	/* 2048 PTEs: a literal string then runs; 256kB is order 4 there */
	/* offsets printed in 4K units by collapses_of: PTE 0 */
	expect_collapses(cli_run("plan", "--page-size", "16384", "--ptes",
				 "AAAAAAAAAAAAAAAA .*2032", "--set", "hugepages-256kB/enabled=always",
				 "--set", "khugepaged/max_ptes_none=0", "--json", NULL),
			 "0:4");
}

static void test_ptes_vma_flags_and_policy(void **state)
{
	struct cli_run r = cli_run("plan", "--ptes", "A*512", "--vma", "anon,nohugepage",
				"--json", NULL);
	json_t *doc = run_json(&r);
	json_t *pmd = json_array_get(json_object_get(doc, "pmds"), 0);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(pmd, "scan")), "SCAN_VMA_CHECK");
	json_decref(doc);
	cli_run_free(&r);

	r = cli_run("plan", "--ptes", "A*512", "--policy", "legacy", "--context", "madvise",
		     "--json", NULL);
	doc = run_json(&r);
	assert_string_equal(json_string_value(json_object_get(doc, "policy")), "legacy");
	assert_string_equal(json_string_value(json_object_get(doc, "context")), "madvise");
	json_decref(doc);
	cli_run_free(&r);
}

static void expect_usage_error(struct cli_run r, const char *needle)
{
	if (r.status != EXIT_USAGE || !strstr(r.err, needle))
		fail_msg("expected exit 2 and '%s', got exit %d: %s", needle, r.status, r.err);
	cli_run_free(&r);
}

static void test_bad_patterns_are_usage_errors(void **state)
{
	(void)state;
	expect_usage_error(cli_run("plan", "--ptes", "A*16@10 .*496", NULL),
			   "'@' needs a folio order 0..9 (the PMD order)");
	expect_usage_error(cli_run("plan", "--ptes", "A*16 .*16@4", NULL),
			   "'@' on '.', a PTE that maps no page");
	expect_usage_error(cli_run("plan", "--ptes", "A*600", NULL), "count after '*'");
	expect_usage_error(cli_run("plan", "--ptes", "Z*512", NULL), "'Z' is not a PTE state");
	expect_usage_error(cli_run("plan", "--ptes", "AA*2 .*510", NULL), "repeats one state");
	expect_usage_error(cli_run("plan", "--ptes", "A*16@14 .*496", NULL), "folio order 0..9");
	expect_usage_error(cli_run("plan", "--ptes", "A*513", NULL), "count after '*'");
	expect_usage_error(cli_run("plan", "--ptes", "A*512 A", NULL), "more than 512 PTEs");
	expect_usage_error(cli_run("plan", "--ptes", "", NULL), "no PTEs given");
}

static void test_bad_options_are_usage_errors(void **state)
{
	/* an option with a bad value on a 4K table, and what the error must say */
	static const char *const bad[][3] = {
		{ "--policy", "greedy", "--policy 'greedy'" },
		{ "--context", "fault", "--context 'fault'" },
		{ "--page-size", "8192", "must be 4096, 16384 or 65536" },
		{ "--addr", "1000", "not aligned" },
		{ "--addr", "ffffffffffe00000", "would end past the last address" },
		{ "--vma", "anon,huge", "--vma 'anon,huge'" },
	};

	(void)state;
	expect_usage_error(cli_run("plan", NULL), "give one of --snapshot");
	expect_usage_error(cli_run("plan", "--ptes", "A*512", "--snapshot", "x", NULL),
			   "give one of --snapshot");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_usage_error(cli_run("plan", "--ptes", "A*512", bad[i][0], bad[i][1], NULL),
				   bad[i][2]);
	expect_usage_error(cli_run("plan", "--ptes", "A*512", "--bogus", NULL),
			   "unknown option '--bogus'");
	expect_usage_error(cli_run("plan", "--ptes", NULL), "needs a value");
	expect_usage_error(cli_run("plan", "--ptes", "A*512", "extra", NULL),
			   "unexpected argument 'extra'");
	expect_usage_error(cli_run("plan", "--snapshot", "x.snap", "--page-size", "4096", NULL),
			   "go with --ptes");
	/* 0 is a value given, not the default */
	expect_usage_error(cli_run("plan", "--snapshot", "x.snap", "--addr", "0", NULL),
			   "go with --ptes");
	expect_usage_error(cli_run("plan", "--ptes", "A*512", "--page-size", "0", NULL),
			   "--page-size 0: must be 4096, 16384 or 65536");
	expect_usage_error(cli_run("plan", "--ptes", "A*512", "--policy-file", "x.so",
				   "--policy", "seed", NULL),
			   "--policy-file replaces --policy");
	expect_usage_error(cli_run("frobnicate", NULL), "unknown command 'frobnicate'");
}

static void test_bad_set_names_knob_and_range(void **state)
{
	/* --set ASSIGNMENT on a 4K table, and what the error must say */
	static const char *const bad[][2] = {
		{ "khugepaged/max_ptes_none=512",
		  "khugepaged/max_ptes_none: '512' is not in the range 0..511" },
		{ "khugepaged/max_ptes_swap=-1",
		  "khugepaged/max_ptes_swap: '-1' is not in the range 0..511" },
		{ "khugepaged/pages_to_scan=0", "range 1..4294967295" },
		{ "enabled=sometimes", "enabled: 'sometimes' is not one of always, madvise, never" },
		{ "hugepages-8kB/enabled=always", "hugepages-8kB/enabled: no such size" },
		/* sysfs's one name for a size: no leading zero */
		{ "hugepages-02048kB/enabled=always", "hugepages-02048kB/enabled: no such size" },
		{ "shmem_enabled=always", "unknown knob 'shmem_enabled'" },
		{ "max_ptes_none", "is not KNOB=VALUE" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_usage_error(cli_run("plan", "--ptes", "A*512", "--set", bad[i][0], NULL),
				   bad[i][1]);
	/* the range follows the geometry */
	expect_usage_error(cli_run("plan", "--page-size", "65536", "--ptes", "A*8192", "--set",
				    "khugepaged/max_ptes_none=8192", NULL),
			   "range 0..8191");
}

static void test_missing_and_bad_snapshot_files(void **state)
{
	struct cli_run r = cli_run("plan", "--snapshot", "tests/no-such-file.snap", NULL);

	(void)state;
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "tests/no-such-file.snap: No such file or directory"));
	cli_run_free(&r);
}

/* A directory named as a file to read: said so, by every command. */
static void test_directory_as_input(void **state)
{
	static const char *const cmds[][4] = {
		{ "plan", "--snapshot", "tests", NULL },
		{ "advise", "--snapshot", "tests", NULL },
		{ "sim", "tests", NULL, NULL },
		{ "sim", "--replay", "tests", NULL },
		{ "sim", "--load", "tests", NULL },
		{ "record", "--read", "tests", NULL },
		{ "trace-diff", "tests", "tests", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct cli_run r = cli_run(cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], NULL);

		assert_int_not_equal(r.status, 0);
		if (!strstr(r.err, "tests: Is a directory"))
			fail_msg("mthp %s %s: %s", cmds[i][0], cmds[i][1], r.err);
		cli_run_free(&r);
	}
}

static void test_text_form_lists_ranges_and_totals(void **state)
{
	struct cli_run r = cli_run("plan", "--snapshot", "tests/examples/uffd-upstream-mthp.snap",
				NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_text_has(r.out,
			"# policy upstream, context khugepaged",
			"7f3a00200000     SCAN_SUCCEED",
			"7f3a00210000:o4:64K",
			"!7f3a00200000:o9:SCAN_EXCEED_NONE_PTE",
			"totals: 2 ranges, 1 collapses (64K: 1), 0 pages filled",
			NULL);
	cli_run_free(&r);
}

static void test_warns_on_max_ptes_none_treated_as_zero(void **state)
{
	struct cli_run r = cli_run("plan", "--ptes", "A*100 .*412", "--set",
				"khugepaged/max_ptes_none=256", "--set",
				"hugepages-64kB/enabled=always", "--json", NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "does not support max_ptes_none values other than 0 or 511"));
	cli_run_free(&r);
}

static void test_help_documents_the_pattern(void **state)
{
	struct cli_run r = cli_run("plan", "--help", NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_text_has(r.out,
			"--ptes PATTERN",
			"'A*16@4' is one 64K folio",
			"--set KNOB=VALUE",
			NULL);
	cli_run_free(&r);
	r = cli_run("--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "plan"));
	cli_run_free(&r);
}

static void test_pattern_parser_orders(void **state)
{
	uint8_t ptes[512], orders[512];
	char err[128];
	uint32_t padded;
	bool has;

	(void)state;
	assert_int_equal(mthp_pattern_parse("A*4@2 w . 0 S*4 a*501", 512, ptes, orders, &has,
					    &padded, err, sizeof(err)), 0);
	assert_int_equal(padded, 0);
	assert_true(has);
	assert_int_equal(orders[0], 2);
	assert_int_equal(orders[3], 2);
	assert_int_equal(ptes[4], 'w');
	assert_int_equal(orders[4], MTHP_NO_FOLIO);
	assert_int_equal(orders[5], MTHP_NO_FOLIO);
	assert_int_equal(orders[7], 0);
	assert_int_equal(ptes[511], 'a');
	/* short: padded with none PTEs, and the count said */
	assert_int_equal(mthp_pattern_parse("A*16", 512, ptes, orders, &has, &padded, err,
					    sizeof(err)), 0);
	assert_int_equal(padded, 496);
	assert_int_equal(ptes[15], 'A');
	assert_int_equal(ptes[16], '.');
	assert_int_equal(ptes[511], '.');
	assert_int_equal(orders[511], MTHP_NO_FOLIO);
}

static void test_short_pattern_is_padded_and_says_so(void **state)
{
	struct cli_run r = cli_run("plan", "--ptes", "A*16", "--set", "hugepages-64kB/enabled=always",
				NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "16 PTEs given; padded with 496 none PTEs to one page "
				      "table of 512"));
	assert_non_null(strstr(r.out, "SCAN_SUCCEED"));
	cli_run_free(&r);
}

/*
 * A child with a 2 MiB region written densely and marked nohugepage, planned
 * through --pid: the range is there, and MADV_COLLAPSE refuses its VMA.  (A
 * child, not this process: reading oneself races with one's own mmaps.)
 */
static void test_plan_pid_of_a_live_process(void **state)
{
	const size_t pmd = 2u << 20;
	char pid_text[32], addr_text[32];
	json_t *doc, *range;
	bool found = false;
	uintptr_t region;
	struct cli_run r;
	int fds[2];
	pid_t pid;
	size_t i;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *map = mmap(NULL, 2 * pmd, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *at = (char *)(((uintptr_t)map + pmd - 1) & ~(uintptr_t)(pmd - 1));

		madvise(at, pmd, MADV_NOHUGEPAGE);	/* PTE-mapped: a table */
		for (size_t off = 0; off < pmd; off += 4096)
			at[off] = 1;
		region = (uintptr_t)at;
		if (write(fds[1], &region, sizeof(region)) != sizeof(region))
			_exit(1);
		for (;;)
			pause();
	}
	assert_int_equal(read(fds[0], &region, sizeof(region)), sizeof(region));
	close(fds[0]);
	close(fds[1]);
	snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
	snprintf(addr_text, sizeof(addr_text), "%lx", (unsigned long)region);
	r = cli_run("plan", "--pid", pid_text, "--context", "madvise", "--json", NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (r.status == 1 && strstr(r.err, "CAP_SYS_ADMIN"))
		skip();
	doc = run_json(&r);
	json_array_foreach(json_object_get(doc, "pmds"), i, range) {
		if (strcmp(json_string_value(json_object_get(range, "addr")), addr_text))
			continue;
		found = true;
		assert_string_equal(json_string_value(json_object_get(range, "scan")),
				    "SCAN_VMA_CHECK");
	}
	assert_true(found);
	json_decref(doc);
	cli_run_free(&r);

	cli_run_fails(1, "4194303", "plan", "--pid", "4194303", NULL);
	expect_usage_error(cli_run("plan", "--pid", "0", NULL), "--pid '0' is not a process id");
	expect_usage_error(cli_run("plan", "--pid", "12", "--vma", "anon", NULL), "go with --ptes");
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_ptes_full_64k_blocks_collapse_at_order_4),
	cmocka_unit_test(test_ptes_one_page_511_goes_to_largest_order),
	cmocka_unit_test(test_ptes_folio_order_suffix_vetoes_rebuild),
	cmocka_unit_test(test_ptes_literal_and_geometry_16k),
	cmocka_unit_test(test_ptes_vma_flags_and_policy),
	cmocka_unit_test(test_bad_patterns_are_usage_errors),
	cmocka_unit_test(test_bad_options_are_usage_errors),
	cmocka_unit_test(test_bad_set_names_knob_and_range),
	cmocka_unit_test(test_missing_and_bad_snapshot_files),
	cmocka_unit_test(test_directory_as_input),
	cmocka_unit_test(test_text_form_lists_ranges_and_totals),
	cmocka_unit_test(test_warns_on_max_ptes_none_treated_as_zero),
	cmocka_unit_test(test_help_documents_the_pattern),
	cmocka_unit_test(test_pattern_parser_orders),
	cmocka_unit_test(test_short_pattern_is_padded_and_says_so),
	cmocka_unit_test(test_plan_pid_of_a_live_process),
)
