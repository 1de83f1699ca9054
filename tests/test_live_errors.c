// SPDX-License-Identifier: MIT
/*
 * test_live_errors.c - the live tools' errors as a user meets them: a
 * kernel thread asked for by --pid, access refused to a user who is root
 * and to one who is not, and an audit that could not read every process,
 * which must say so in every output format.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/sysinfo.h>

#include <cmocka.h>
#include <jansson.h>

#include <mthp/live.h>

#include "cli/cli.h"
#include "helpers/cli_run.h"
#include "live/live_internal.h"
#include "report/audit.h"
#include "report/report.h"
#include "helpers/live_skip.h"
#include "helpers/text_has.h"

/* A kernel thread's pid, or 0 when none is visible (a pid namespace). */
static int find_kernel_thread(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	while (d && (e = readdir(d)) && !found) {
		int pid = atoi(e->d_name);

		if (pid > 0 && live_task_is_user(pid) == 0)
			found = pid;
	}
	if (d)
		closedir(d);
	return found;
}

/* ---- access refused: the hint depends on who we are ---- */

static void test_denied_hint_not_root(void **state)
{
	(void)state;
	assert_non_null(strstr(live_denied_hint(LIVE_DENIED_PROC, 1000),
			       "root (CAP_SYS_ADMIN) is needed"));
	assert_non_null(strstr(live_denied_hint(LIVE_DENIED_PFN, 1000),
			       "root (CAP_SYS_ADMIN) is needed"));
}

static void test_denied_hint_root(void **state)
{
	const char *proc = live_denied_hint(LIVE_DENIED_PROC, 0);
	const char *pfn = live_denied_hint(LIVE_DENIED_PFN, 0);

	(void)state;
	/* root is what the user already is: say what else is missing */
	assert_null(strstr(proc, "root (CAP_SYS_ADMIN) is needed"));
	assert_null(strstr(pfn, "root (CAP_SYS_ADMIN) is needed"));
	assert_text_has(proc, "although running as root", "PTRACE_MODE_READ_FSCREDS", NULL);
	assert_text_has(pfn, "initial user namespace", NULL);
}

static void test_errno_names(void **state)
{
	(void)state;
	assert_string_equal(mthp_errno_name(-EACCES), "EACCES");
	assert_string_equal(mthp_errno_name(ESRCH), "ESRCH");
	assert_string_equal(mthp_errno_name(-ENXIO), "ENXIO");
	assert_string_equal(mthp_errno_name(-12345), "E?");
}

/* ---- a kernel thread has no user memory ---- */

static void test_kernel_thread_pid(void **state)
{
	static const char *const cmds[] = { "snapshot", "plan", "collapse", "audit" };
	char pid[16];
	int kthread;

	(void)state;
	if (live_test_requirements(false))
		skip();
	kthread = find_kernel_thread();
	if (!kthread) {
		printf("SKIP: no kernel thread is visible in /proc here\n");
		skip();
	}
	snprintf(pid, sizeof(pid), "%d", kthread);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct cli_run r = cli_run(cmds[i], "--pid", pid,
					!strcmp(cmds[i], "collapse") ? "--dry-run" : NULL,
					NULL);

		if (r.status != 1 || !strstr(r.err, "is a kernel thread: it has no user memory"))
			fail_msg("mthp %s --pid %s: exit %d, err '%s'", cmds[i], pid,
				 r.status, r.err);
		assert_null(strstr(r.out, "PID"));	/* no bare header */
		cli_run_free(&r);
	}
}

/* -o is checked before the process is read (which may take long). */
static void test_snapshot_output_checked_first(void **state)
{
	struct cli_run r = cli_run("snapshot", "--pid", "1", "-o", "/nonexistent-dir/p.snap", NULL);

	(void)state;
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "mthp snapshot: -o /nonexistent-dir/p.snap: directory "
			    "/nonexistent-dir: does not exist\n");
	cli_run_free(&r);
}

/* ---- a partial audit says it is partial ---- */

/* The geometry of 4K pages. */
static struct mthp_geometry geo_4k(void)
{
	struct mthp_geometry geo;

	assert_int_equal(mthp_geometry_from_page_size(&geo, 4096), 0);
	return geo;
}

static struct mthp_audit_proc one_proc(void)
{
	struct mthp_audit_proc p = { .pid = 4242, .geo = geo_4k() };

	strcpy(p.comm, "worker");
	p.total.anon = 100;
	return p;
}

/* Feed one process and three failures to a report; return what it wrote. */
static char *partial_report(enum mthp_audit_format f, bool rollup)
{
	struct mthp_audit_proc p = one_proc();
	struct mthp_audit_report rep;
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(mthp_audit_report_init(&rep, f, rollup, &p.geo, out), 0);
	assert_int_equal(mthp_audit_report_proc(&rep, &p), 0);
	assert_int_equal(mthp_audit_report_error(&rep, 1, -EACCES, "pid 1: denied"), 0);
	assert_int_equal(mthp_audit_report_error(&rep, 7, -EPERM, "pid 7: denied"), 0);
	assert_int_equal(mthp_audit_report_error(&rep, 9, -ESRCH, "pid 9: gone"), 0);
	assert_int_equal(mthp_audit_report_finish(&rep), 0);
	fclose(out);
	return buf;
}

static void test_audit_json_lists_errors(void **state)
{
	char *text = partial_report(MTHP_AUDIT_JSON, false);
	json_t *doc = json_loads(text, 0, NULL), *errors, *e;

	(void)state;
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "processes")), 1);
	errors = json_object_get(doc, "errors");
	assert_int_equal(json_array_size(errors), 3);
	e = json_array_get(errors, 0);
	assert_int_equal(json_integer_value(json_object_get(e, "pid")), 1);
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "denied");
	assert_string_equal(json_string_value(json_object_get(e, "errno")), "EACCES");
	assert_string_equal(json_string_value(json_object_get(e, "error")), "pid 1: denied");
	e = json_array_get(errors, 2);
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "gone");
	assert_string_equal(json_string_value(json_object_get(e, "errno")), "ESRCH");
	json_decref(doc);
	free(text);
}

/* Names from the kernel need not be UTF-8: JSON gets '?' for such bytes. */
static void test_audit_json_names_not_utf8(void **state)
{
	struct mthp_audit_proc p = one_proc();
	struct mthp_audit_vma v = { .start = 0x1000, .end = 0x2000 };
	struct mthp_audit_report rep;
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);
	json_t *doc, *proc;

	(void)state;
	strcpy(p.comm, "w\xff\xfeker");
	strcpy(v.perms, "rw-p");
	strcpy(v.name, "[anon:\xc3]");
	p.vmas = &v;
	p.nr_vmas = 1;
	assert_int_equal(mthp_audit_report_init(&rep, MTHP_AUDIT_JSON, false, &p.geo, out), 0);
	assert_int_equal(mthp_audit_report_proc(&rep, &p), 0);
	assert_int_equal(mthp_audit_report_error(&rep, 3, -ESRCH, "pid 3 (\xff): gone"), 0);
	assert_int_equal(mthp_audit_report_finish(&rep), 0);
	fclose(out);
	doc = json_loads(buf, 0, NULL);
	assert_non_null(doc);
	proc = json_array_get(json_object_get(doc, "processes"), 0);
	assert_string_equal(json_string_value(json_object_get(proc, "comm")), "w??ker");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(proc, "vmas"), 0), "name")), "[anon:?]");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(doc, "errors"), 0), "error")), "pid 3 (?): gone");
	json_decref(doc);
	free(buf);
}

/*
 * mthp_json_text() makes '?' of each byte that is not part of valid UTF-8
 * (a lone or cut lead byte, an overlong form, a surrogate, a code point
 * past U+10FFFF) and keeps valid sequences whole.
 */
static void test_json_text_utf8(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "ab\xc3", "ab?" },
		{ "\xc3\xa9\xff\xc3\xa9", "\xc3\xa9?\xc3\xa9" },
		{ "\xc0\xaf", "??" },
		{ "\xed\xa0\x80", "???" },
		{ "\xf4\x90\x80\x80", "????" },
		{ "\xe2\x82", "??" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = mthp_json_text(cases[i].in);

		assert_non_null(j);
		assert_string_equal(json_string_value(j), cases[i].out);
		json_decref(j);
	}
}

/* A share of anon-total only for what is part of it: never above 100%. */
static void test_audit_text_shares(void **state)
{
	struct mthp_audit_counts c = { .anon = 100, .zero = 700, .swap = 300, .shared = 50 };
	struct mthp_geometry geo = geo_4k();
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	mthp_audit_text_block(out, &c, &geo, &(struct mthp_audit_opts){ 0 });
	fclose(out);
	assert_text_has(buf, "anon-total:                          400 kB\n",
			"anon-swap:                          1200 kB\n",
			"anon-shared:                         200 kB ( 50%)\n",
			"anon-zero-page:                     2800 kB\n", NULL);
	free(buf);
}

static void test_audit_prom_counts_errors(void **state)
{
	char *text = partial_report(MTHP_AUDIT_PROM, true);

	(void)state;
	assert_text_has(text,
			"# TYPE mthp_audit_errors gauge\n",
			"\nmthp_audit_errors 3\n",
			"\nmthp_audit_processes 1\n",
			"mthp_audit_errors_by_reason{reason=\"denied\"} 2\n",
			"mthp_audit_errors_by_reason{reason=\"gone\"} 1\n",
			"mthp_audit_errors_by_reason{reason=\"changing\"} 0\n",
			"mthp_anon_kilobytes{} 400\n",
			NULL);
	free(text);
}

/* The host's per-size collapse counters, in each format, where they exist. */
static void test_audit_host_collapse_counters(void **state)
{
	struct mthp_audit_proc p = one_proc();
	struct mthp_host_collapse_stats st = { 0 };
	enum mthp_audit_format f[] = { MTHP_AUDIT_TEXT, MTHP_AUDIT_JSON, MTHP_AUDIT_PROM };
	char *text[3];

	(void)state;
	st.have[4] = st.have[9] = (1u << MTHP_NR_HCS) - 1;
	st.v[4][MTHP_HCS_ALLOC] = 12;
	st.v[4][MTHP_HCS_EXCEED_SWAP] = 3;
	st.v[9][MTHP_HCS_ALLOC_FAILED] = 1;
	for (int i = 0; i < 3; i++) {
		struct mthp_audit_report rep;
		size_t len;
		FILE *out = open_memstream(&text[i], &len);

		assert_non_null(out);
		assert_int_equal(mthp_audit_report_init(&rep, f[i], true, &p.geo, out), 0);
		mthp_audit_report_host(&rep, &st);
		assert_int_equal(mthp_audit_report_proc(&rep, &p), 0);
		assert_int_equal(mthp_audit_report_finish(&rep), 0);
		fclose(out);
	}
	assert_text_has(text[0], "host collapse counters since boot (those not 0):\n",
			"hugepages-64kB/stats/collapse_alloc                        12\n",
			"hugepages-64kB/stats/collapse_exceed_swap_pte               3\n",
			"hugepages-2048kB/stats/collapse_alloc_failed                1\n", NULL);
	assert_null(strstr(text[0], "collapse_exceed_none_pte"));
	assert_text_has(text[1], "\"host_collapse_stats\"", "\"64kB\"",
			"\"collapse_exceed_shared_pte\": 0", NULL);
	assert_text_has(text[2], "# TYPE mthp_host_collapse_total counter\n",
			"mthp_host_collapse_total{size_kb=\"64\",stat=\"collapse_alloc\"} 12\n",
			"mthp_host_collapse_total{size_kb=\"2048\",stat=\"collapse_alloc_failed\"} 1\n",
			NULL);
	for (int i = 0; i < 3; i++)
		free(text[i]);
	/* a kernel without them: nothing of it in any format */
	text[0] = partial_report(MTHP_AUDIT_JSON, true);
	assert_null(strstr(text[0], "host_collapse_stats"));
	free(text[0]);
	text[0] = partial_report(MTHP_AUDIT_PROM, true);
	assert_null(strstr(text[0], "mthp_host_collapse_total"));
	free(text[0]);
}

static void test_audit_text_header_only_with_a_process(void **state)
{
	struct mthp_audit_report rep;
	struct mthp_geometry geo = geo_4k();
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(mthp_audit_report_init(&rep, MTHP_AUDIT_TEXT, false, &geo, out), 0);
	assert_int_equal(mthp_audit_report_error(&rep, 2, -ENXIO, "kernel thread"), 0);
	assert_int_equal(mthp_audit_report_finish(&rep), 0);
	fclose(out);
	assert_string_equal(buf, "");
	free(buf);
}

/* The whole machine, as a user runs it: the skipped ones are counted. */
static void test_audit_all_says_what_it_skipped(void **state)
{
	struct cli_run r;
	json_t *doc, *errors;
	size_t i;
	json_t *e;

	(void)state;
	if (live_test_requirements(false))
		skip();
	r = cli_run("audit", "--rollup", "--json", NULL);
	doc = json_loads(r.out, 0, NULL);
	assert_non_null(doc);
	errors = json_object_get(doc, "errors");
	assert_true(json_is_array(errors));
	json_array_foreach(errors, i, e) {
		assert_true(json_integer_value(json_object_get(e, "pid")) > 0);
		assert_non_null(json_string_value(json_object_get(e, "reason")));
		assert_string_not_equal(json_string_value(json_object_get(e, "errno")), "E?");
		/* kernel threads are not failures of an audit of everything */
		assert_string_not_equal(json_string_value(json_object_get(e, "errno")), "ENXIO");
	}
	json_decref(doc);
	cli_run_free(&r);
}

/* The host's memory and swap: /proc/meminfo's totals, as sysinfo() gives them. */
static void test_host_memory(void **state)
{
	struct mthp_diag diag = { 0 };
	uint64_t memory = 0, swap = 1;
	struct sysinfo si;

	(void)state;
	if (mthp_live_host_memory(&memory, &swap, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(sysinfo(&si), 0);
	assert_int_equal(memory, (uint64_t)si.totalram * si.mem_unit);
	assert_int_equal(swap, (uint64_t)si.totalswap * si.mem_unit);
}

/*
 * --cgroup PATH: a relative PATH is below /sys/fs/cgroup, even where the
 * working directory has a directory of that name: "." is the root
 * cgroup (its processes, or an error naming /sys/fs/cgroup/. where
 * cgroup2 is not mounted there), never the working directory; an empty
 * PATH is refused, not read as the root.
 */
static void test_cgroup_path_below_the_mount(void **state)
{
	struct mthp_diag diag = { .msg = "" };
	pid_t *pids = NULL;
	size_t nr = 0;

	(void)state;
	if (mthp_live_cgroup_pids(".", &pids, &nr, &diag) == 0)
		assert_true(nr > 0);
	else
		assert_non_null(strstr(diag.msg, "/sys/fs/cgroup/./cgroup.procs"));
	free(pids);
	pids = NULL;
	assert_int_equal(mthp_live_cgroup_pids("", &pids, &nr, &diag), -EINVAL);
	assert_non_null(strstr(diag.msg, "the path is empty"));
	assert_null(pids);
	/* an empty --cgroup is a bad option value: exit 2, before anything is read */
	cli_run_fails(2, "--cgroup: the path is empty", "audit", "--cgroup", "", NULL);
	cli_run_fails(2, "--cgroup: the path is empty", "daemon", "--cgroup", "", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_denied_hint_not_root),
		cmocka_unit_test(test_denied_hint_root),
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_host_memory),
		cmocka_unit_test(test_kernel_thread_pid),
		cmocka_unit_test(test_snapshot_output_checked_first),
		cmocka_unit_test(test_audit_json_lists_errors),
		cmocka_unit_test(test_audit_json_names_not_utf8),
		cmocka_unit_test(test_json_text_utf8),
		cmocka_unit_test(test_cgroup_path_below_the_mount),
		cmocka_unit_test(test_audit_text_shares),
		cmocka_unit_test(test_audit_prom_counts_errors),
		cmocka_unit_test(test_audit_text_header_only_with_a_process),
		cmocka_unit_test(test_audit_host_collapse_counters),
		cmocka_unit_test(test_audit_all_says_what_it_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
