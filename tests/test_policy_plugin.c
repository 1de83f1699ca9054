// SPDX-License-Identifier: MIT
/*
 * test_policy_plugin.c - `mthp plan` and `mthp sim` with --policy-file: the
 * example plug-in of examples/policy/ changes the plan and the simulated
 * run as it says it does, and each bad
 * plug-in of tests/plugins/ (wrong version, no symbol, a fallback that is
 * no policy, a crash, a hang, a fault hook answering orders not allowed)
 * is reported by name with what it did, the command still standing; a
 * plug-in of the older version 1 still runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/cli_run.h"
#include "helpers/test_main.h"
#include "helpers/text_has.h"

/* 4 mapped PTEs then 12 none, then 14 mapped and 2 none: two 64K windows */
#define PATTERN "A*4 .*12 A*14 .*2"

static struct cli_run plan_with(const char *plugin_flag, const char *plugin, const char *limit)
{
	return cli_run("plan", "--ptes", PATTERN, "--set", "hugepages-2048kB/enabled=never",
		       "--set", "hugepages-64kB/enabled=always", plugin_flag, plugin,
		       limit ? "--time-limit" : NULL, limit, NULL);
}

static void test_example_refuses_the_sparse_window(void **state)
{
	struct cli_run builtin = plan_with("--policy", "upstream", NULL);
	struct cli_run dense = plan_with("--policy-file", MTHP_PLUGIN_DIR "/dense.so", NULL);

	(void)state;
	assert_int_equal(builtin.status, 0);
	assert_int_equal(dense.status, 0);
	/* upstream at max_ptes_none 511 collapses any window with a PTE */
	assert_text_has(builtin.out, "0:o4:64K 10000:o4:64K", "2 collapses", NULL);
	/* dense wants 12 of 16 mapped: only the second window */
	assert_text_has(dense.out, "# policy plug-in dense (", "falling back to upstream",
			"SCAN_SUCCEED               10000:o4:64K\n", "1 collapses", NULL);
	cli_run_free(&builtin);
	cli_run_free(&dense);
}

static void test_example_named_in_json(void **state)
{
	struct cli_run r = cli_run("plan", "--ptes", PATTERN, "--json", "--policy-file",
				   MTHP_PLUGIN_DIR "/dense.so", NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_text_has(r.out, "\"policy_plugin\": \"dense\"", NULL);
	cli_run_free(&r);
}

/*
 * `mthp sim ARGS` (n <= 8) under upstream and under the example plug-in:
 * both succeed, upstream's output has up_has, the plug-in's is named and
 * has dense_has and dense_too (NULL: nothing more).
 */
static void sim_both(const char *const *args, int n, const char *up_has, const char *dense_has,
		     const char *dense_too)
{
	struct cli_run up, dense;
	char *argv[12];

	argv[0] = "sim";
	for (int i = 0; i < n; i++)
		argv[1 + i] = (char *)args[i];
	argv[n + 1] = "--policy";
	argv[n + 2] = "upstream";
	argv[n + 3] = NULL;
	up = cli_run_argv(n + 3, argv);
	argv[n + 1] = "--policy-file";
	argv[n + 2] = MTHP_PLUGIN_DIR "/dense.so";
	dense = cli_run_argv(n + 3, argv);
	assert_int_equal(up.status, 0);
	assert_int_equal(dense.status, 0);
	assert_text_has(up.out, up_has, NULL);
	assert_text_has(dense.out, "# policy plug-in dense (", dense_has, dense_too, NULL);
	cli_run_free(&up);
	cli_run_free(&dense);
}

/* The simulator's khugepaged calls the same hook: less bloat than upstream. */
static void test_sim_runs_the_example(void **state)
{
	static const char *const sets[] = { "--set", "hugepages-64kB/enabled=always",
		"--set", "hugepages-2048kB/enabled=never", "--set", "khugepaged/max_ptes_none=511" };

	(void)state;
	sim_both(sets, 6, "pages filled (bloat)                    -         6336",
		 "pages filled (bloat)                    -          288", NULL);
}

/*
 * The fault hook: the example keeps faults outside MADV_HUGEPAGE VMAs to
 * 64K at most, so no THP at fault where upstream makes 32 (its faults
 * take 484 64K folios instead).
 */
static void test_sim_fault_hook(void **state)
{
	static const char *const args[] = { "scenarios/malloc-server.ini", "--set",
					    "enabled=always", "--stats" };

	(void)state;
	sim_both(args, 4, "/proc/vmstat thp_fault_alloc 32\n", "/proc/vmstat thp_fault_alloc 0\n",
		 "hugepages-64kB/stats anon_fault_alloc 484\n");
}

/* A hook's answer outside the rules fails the run; a version-1 plug-in still runs. */
static void test_bad_orders_and_old_version(void **state)
{
	struct cli_run bad = cli_run("sim", "--set", "enabled=always", "--policy-file",
				     MTHP_PLUGIN_DIR "/bad_orders.so", NULL);
	struct cli_run old = plan_with("--policy-file", MTHP_PLUGIN_DIR "/old_version.so", NULL);

	(void)state;
	assert_int_equal(bad.status, 1);
	assert_text_has(bad.err, "mthp sim: policy plug-in 'bad-orders' (",
			"fault_orders returned orders 0xfff0 where only 0x200 were allowed",
			"the run is not valid", NULL);
	assert_int_equal(old.status, 0);
	assert_text_has(old.out, "# policy plug-in old (", "2 collapses", NULL);
	cli_run_free(&bad);
	cli_run_free(&old);
}

static void test_sim_crash_and_misuse(void **state)
{
	struct cli_run crash = cli_run("sim", "--set", "khugepaged/max_ptes_none=511",
				       "--policy-file", MTHP_PLUGIN_DIR "/crashes.so", NULL);
	struct cli_run both = cli_run("sim", "--policy", "seed", "--policy-file",
				      MTHP_PLUGIN_DIR "/dense.so", NULL);

	(void)state;
	assert_int_equal(crash.status, 1);
	assert_text_has(crash.err, "mthp sim: policy plug-in 'crashes' (",
			"crashed: killed by signal SIGSEGV", NULL);
	assert_int_equal(both.status, 2);
	assert_text_has(both.err, "--policy does not go with it", NULL);
	cli_run_free(&crash);
	cli_run_free(&both);
}

/*
 * The plug-in beside the built-in policies: one more column of --compare,
 * one more policy of --sweep, its rows named by the plug-in; the built-in
 * runs beside it do not use its hooks.
 */
static void test_sim_compare_and_sweep(void **state)
{
	static const char *const sets[] = { "--set", "hugepages-64kB/enabled=always",
		"--set", "hugepages-2048kB/enabled=never", "--set", "khugepaged/max_ptes_none=511" };
	struct cli_run cmp = cli_run("sim", sets[0], sets[1], sets[2], sets[3], sets[4], sets[5],
				     "--compare", "upstream", "--policy-file",
				     MTHP_PLUGIN_DIR "/dense.so", NULL);
	struct cli_run sweep = cli_run("sim", "--sweep", "khugepaged/max_ptes_none=0,511",
				       "--compare", "upstream", "--policy-file",
				       MTHP_PLUGIN_DIR "/dense.so", NULL);

	(void)state;
	assert_int_equal(cmp.status, 0);
	assert_text_has(cmp.out, "no collapse     upstream        dense\n",
			"pages filled (bloat)                    -         6336          288\n",
			NULL);
	assert_int_equal(sweep.status, 0);
	assert_text_has(sweep.out, "2 settings x 3 runs (no collapse and each policy) = 6 runs",
			" upstream ", " dense ", NULL);
	cli_run_free(&cmp);
	cli_run_free(&sweep);
}

/*
 * Plug-ins that cannot be loaded or that fail a run: `plan` with each exits
 * 1, naming the plug-in (what) and saying what is wrong (said).
 */
static const struct plugin_failure {
	const char *so, *limit, *what, *said;
} failures[] = {
	{ MTHP_PLUGIN_DIR "/bad_version.so", NULL, "bad_version.so",
	  "version 3, this mthp runs versions 1 to 2" },
	{ MTHP_PLUGIN_DIR "/no_symbol.so", NULL, "no_symbol.so", "no symbol 'mthp_policy_plugin'" },
	{ MTHP_PLUGIN_DIR "/bad_fallback.so", NULL, "'lost'", "fallback 'nonesuch' is not a policy" },
	{ MTHP_PLUGIN_DIR "/not-there.so", NULL, "not-there.so", "cannot load" },
	{ "dense.so", NULL, "dense.so", "give a path (./dense.so)" },
	{ MTHP_PLUGIN_DIR "/crashes.so", NULL, "'crashes'", "crashed: killed by signal SIGSEGV" },
	{ MTHP_PLUGIN_DIR "/hangs.so", "1", "'hangs'",
	  "took longer than 1 s, the time limit of a run: stopped" },
};

static void test_plugin_failures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
		const struct plugin_failure *f = &failures[i];
		struct cli_run r = plan_with("--policy-file", f->so, f->limit);

		if (r.status != 1)
			fail_msg("%s: exit %d, stderr: %s", f->so, r.status, r.err);
		assert_text_has(r.err, "mthp plan: policy plug-in ", f->what, f->said, NULL);
		cli_run_free(&r);
	}
}

static void test_time_limit_needs_a_plugin(void **state)
{
	struct cli_run r = plan_with("--policy", "upstream", "1");

	(void)state;
	assert_int_equal(r.status, 2);
	assert_text_has(r.err, "--time-limit goes with --policy-file", NULL);
	cli_run_free(&r);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_example_refuses_the_sparse_window),
	cmocka_unit_test(test_example_named_in_json),
	cmocka_unit_test(test_plugin_failures),
	cmocka_unit_test(test_time_limit_needs_a_plugin),
	cmocka_unit_test(test_sim_runs_the_example),
	cmocka_unit_test(test_sim_crash_and_misuse),
	cmocka_unit_test(test_sim_fault_hook),
	cmocka_unit_test(test_sim_compare_and_sweep),
	cmocka_unit_test(test_bad_orders_and_old_version),
)
