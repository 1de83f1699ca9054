// SPDX-License-Identifier: MIT
/*
 * test_live_daemon.c - `mthp daemon`, the userspace khugepaged, on child
 * processes with a known layout (a dense PMD range of order-0 pages, a
 * sparse one, an empty one): one wake-up collapses the dense range and
 * not the sparse one; the host settings decide eligibility; --dry-run
 * collapses nothing; the budget and cursor advance as khugepaged's do;
 * SIGUSR1 prints the counters, SIGTERM and SIGINT stop it cleanly; a
 * target that exits is dropped and the others go on; the option errors
 * (a cgroup's new processes, which needs a cgroup made, is in
 * test_host_daemon.c).
 * The daemon never writes a knob: overrides go through --set.  Every
 * child is killed and reaped in the teardown, also when a case fails.
 * Needs root and THP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/live.h>

#include "cli/cli.h"
#include "helpers/daemon_child.h"
#include "helpers/live_child.h"
#include "helpers/live_skip.h"
#include "helpers/smaps.h"

#define N 512

/* A daemon child whose dense range is order-0 pages (else the case skips). */
static struct daemon_child small_child(void)
{
	struct daemon_child c = daemon_child_start();

	daemon_require_small_pages(&c);
	return c;
}

/* The line the daemon logs when it decides on c's range at addr, in a static buffer. */
static const char *decision(const struct daemon_child *c, uint64_t addr, const char *result,
			    const char *action)
{
	static char line[160];

	snprintf(line, sizeof(line), "pid=%s addr=%llx result=%s action=%s errno=0\n",
		 c->pid_text, (unsigned long long)addr, result, action);
	return line;
}

static bool has_line(const char *text, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool has_line(const char *text, const char *fmt, ...)
{
	char want[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	return strstr(text, want) != NULL;
}

/* The value of counter NAME in the last counter block of text, or -1. */
static long counter(const char *text, const char *name)
{
	const char *block = text, *p;
	char key[64];
	long v = -1;

	while ((p = strstr(block, "# mthp daemon counters\n")))
		block = p + 1;
	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(block, key);
	if (p)
		sscanf(p + strlen(key), "%ld", &v);
	return v;
}

/* ---- one wake-up from the command line ---- */

static void test_collapses_dense_not_sparse(void **state)
{
	static char out[1 << 16], err[4096];
	struct daemon_child c = small_child();

	(void)state;
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--pid", c.pid_text,
			     "--iterations", "1", "--pages-to-scan", "1000000",
			     "--set", DAEMON_SET_ALWAYS, "--set", DAEMON_SET_NONE, NULL), 0);
	assert_non_null(strstr(out, decision(&c, c.dense, "SCAN_SUCCEED", "collapse")));
	assert_non_null(strstr(out, decision(&c, c.sparse, "SCAN_EXCEED_NONE_PTE", "skip")));
	assert_false(has_line(out, "addr=%llx ", (unsigned long long)c.empty));
	assert_int_equal(daemon_pmd_mapped(c.pid, c.dense), 1);
	assert_int_equal(daemon_pmd_mapped(c.pid, c.sparse), 0);
	assert_int_equal(anon_huge_kb(c.pid, c.dense), 2048);	/* only the dense range */
	assert_true(counter(out, "pages_collapsed") >= 1);
	assert_int_equal(counter(out, "full_scans"), 1);
	assert_true(counter(out, "SCAN_EXCEED_NONE_PTE") >= 1);
	assert_int_equal(counter(out, "collapse_failed"), 0);
}

/* With the host's settings a VMA without VM_HUGEPAGE is not eligible. */
static void test_host_settings_decide(void **state)
{
	static char out[1 << 16], err[4096];
	struct mthp_settings s;
	struct mthp_diag diag = { 0 };
	struct daemon_child c = small_child();

	(void)state;
	assert_int_equal(mthp_live_settings(&s, NULL, &diag), 0);
	if (s.enabled == MTHP_MODE_ALWAYS)
		skip();
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--pid", c.pid_text,
			     "--iterations", "1", "--pages-to-scan", "1000000", NULL), 0);
	assert_false(has_line(out, "addr=%llx ", (unsigned long long)c.dense));
	assert_int_equal(counter(out, "pages_collapsed"), 0);
	assert_int_equal(daemon_pmd_mapped(c.pid, c.dense), 0);
}

/*
 * A dry run of one pid, then of every process with anonymous memory (the
 * host's too, hence a dry run): the dense range would collapse, nothing is.
 */
static void test_dry_run_collapses_nothing(void **state)
{
	static char out[1 << 20], err[4096];
	struct daemon_child c = small_child();

	(void)state;
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--pid", c.pid_text,
			     "--dry-run", "--iterations", "2", "--interval", "0",
			     "--pages-to-scan", "1000000", "--set", DAEMON_SET_ALWAYS,
			     "--set", DAEMON_SET_NONE, NULL), 0);
	assert_non_null(strstr(out, decision(&c, c.dense, "SCAN_SUCCEED", "would-collapse")));
	assert_non_null(strstr(out, ", dry run\n"));
	assert_int_equal(counter(out, "pages_collapsed"), 0);
	assert_int_equal(counter(out, "full_scans"), 2);
	/* what it says of the kernel's own khugepaged follows the per-size stats */
	if (access("/sys/kernel/mm/transparent_hugepage/hugepages-64kB/stats/collapse_alloc",
		   F_OK) == 0)
		assert_non_null(strstr(err, "own khugepaged collapses sizes below 2048K too"));
	else
		assert_non_null(strstr(err, "own khugepaged collapses at the PMD size only"));

	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--dry-run",
			     "--iterations", "1", "--pages-to-scan", "100000000",
			     "--set", DAEMON_SET_ALWAYS, "--set", DAEMON_SET_NONE, NULL), 0);
	assert_non_null(strstr(out, decision(&c, c.dense, "SCAN_SUCCEED", "would-collapse")));
	assert_false(has_line(out, "pid=%d ", (int)getpid()));	/* not itself */
	assert_int_equal(daemon_pmd_mapped(c.pid, c.dense), 0);
	assert_int_equal(anon_huge_kb(c.pid, c.dense), 0);
}

/* ---- the API: single wake-ups ---- */

static void daemon_start(struct mthp_daemon *d, const pid_t *pids, size_t nr,
			 uint32_t budget, FILE *log)
{
	struct mthp_daemon_config cfg = {
		.pids = pids,
		.nr_pids = nr,
		.pages_to_scan = budget,
		.policy = MTHP_POLICY_UPSTREAM,
		.overrides = daemon_overrides,
		.nr_overrides = 2,
	};
	struct mthp_diag diag = { 0 };

	if (mthp_daemon_init(d, &cfg, log, &diag) < 0)
		fail_msg("daemon init: %s", diag.msg);
}

static void test_api_single_wakeup(void **state)
{
	struct daemon_child c = daemon_child_start();
	struct mthp_diag diag = { 0 };
	struct mthp_daemon d;

	(void)state;
	daemon_require_small_pages(&c);
	daemon_start(&d, &c.pid, 1, 1000000, NULL);
	assert_int_equal(d.nr_targets, 1);
	uint64_t collapsed, mapped;

	assert_int_equal(mthp_daemon_scan(&d, &diag), 0);
	/*
	 * The dense range, and any dense range the child inherited from this
	 * test process (an allocator's arena, a sanitizer's own memory).
	 */
	collapsed = d.c.pages_collapsed;
	assert_true(collapsed >= 1);
	assert_int_equal(d.c.result[SCAN_SUCCEED], collapsed);
	assert_true(d.c.full_scans >= 1);
	assert_true(d.c.result[SCAN_EXCEED_NONE_PTE] >= 1);
	assert_int_equal(daemon_pmd_mapped(c.pid, c.dense), 1);
	assert_int_equal(daemon_pmd_mapped(c.pid, c.sparse), 0);
	/* The next wake-up finds THPs there and collapses nothing more. */
	mapped = d.c.result[SCAN_PMD_MAPPED];
	assert_int_equal(mthp_daemon_scan(&d, &diag), 0);
	assert_daemon_count(d.c.pages_collapsed, collapsed);
	assert_true(d.c.result[SCAN_PMD_MAPPED] >= mapped + collapsed);
	assert_int_equal(daemon_pmd_mapped(c.pid, c.sparse), 0);
	mthp_daemon_free(&d);
}

/*
 * The cases that make a full scan in small wake-ups need a dense range of
 * order-0 pages, and a process of few VMAs: skip them under AddressSanitizer,
 * whose shadow memory gives a forked test process terabytes of VMAs (the
 * teardown kills the child).
 */
static void skip_full_scans_in_small_steps(const struct daemon_child *c)
{
	if (SANITIZED_ADDRESS_SPACE) {
		print_message("SKIP: AddressSanitizer's shadow memory gives a forked test "
			      "process terabytes of VMAs: a full scan at one range per "
			      "wake-up is too long\n");
		skip();
	}
	daemon_require_small_pages(c);
}

/*
 * A budget of one PMD range: each wake-up goes a little further from the
 * cursor, never much past its budget, and one full scan takes several.
 */
static void test_budget_and_cursor(void **state)
{
	struct daemon_child c = daemon_child_start();
	struct mthp_diag diag = { 0 };
	struct mthp_daemon d;
	int wakeups = 0;

	(void)state;
	skip_full_scans_in_small_steps(&c);
	daemon_start(&d, &c.pid, 1, N + 1, NULL);
	while (d.c.full_scans == 0 && wakeups < 100) {
		uint64_t before = d.c.pages_scanned;

		assert_int_equal(mthp_daemon_scan(&d, &diag), 0);
		/* checked before each range, so at most one range over */
		assert_true(d.c.pages_scanned - before <= N + 1 + N);
		assert_true(d.c.pages_scanned - before > 0);
		wakeups++;
	}
	/*
	 * The wake-up that ends the first pass began inside it: as 7.2's
	 * khugepaged_do_scan(), it may go on through one whole pass more
	 * (it passes the list head at most twice) when that pass costs less
	 * than the budget left.  The child's other anon VMAs, inherited from
	 * this process's allocations before the fork, decide: with one more
	 * region that fails its scan a few hundred PTEs in, it does not fit.
	 */
	assert_in_range(d.c.full_scans, 1, 2);
	assert_true(wakeups >= 2);	/* the dense range's collapse ends a turn */
	assert_int_equal(d.c.pages_collapsed, 1);
	assert_int_equal(daemon_pmd_mapped(c.pid, c.dense), 1);
	mthp_daemon_free(&d);
}

/*
 * Progress as Linux 7.2 counts it: with a budget of 2, a wake-up takes the
 * mm (1) and one thing more.  The dense range scans all its PTEs (1 + N),
 * the sparse one stops at the none PTE that makes it fail (fewer), and
 * what is decided without a scan (the range with no page table, a VMA
 * that cannot hold THPs) counts 1.
 */
static void test_progress_as_the_kernel_counts(void **state)
{
	struct daemon_child c = daemon_child_start();
	struct mthp_diag diag = { 0 };
	struct mthp_daemon d;
	char *log = NULL;
	size_t loglen = 0, mark;
	unsigned seen = 0;
	FILE *f;

	(void)state;
	skip_full_scans_in_small_steps(&c);	/* before anything is allocated */
	f = open_memstream(&log, &loglen);
	assert_non_null(f);
	daemon_start(&d, &c.pid, 1, 2, f);
	for (int wakeups = 0; d.c.full_scans == 0 && wakeups < 100000; wakeups++) {
		uint64_t before = d.c.pages_scanned, step;

		fflush(f);
		mark = loglen;
		assert_int_equal(mthp_daemon_scan(&d, &diag), 0);
		fflush(f);
		step = d.c.pages_scanned - before;
		if (strstr(log + mark, decision(&c, c.dense, "SCAN_SUCCEED", "collapse"))) {
			assert_int_equal(step, 1 + N);
			seen |= 1;
		}
		if (strstr(log + mark, decision(&c, c.sparse, "SCAN_EXCEED_NONE_PTE", "skip"))) {
			assert_true(step > 2 && step < 1 + N);
			seen |= 2;
		}
		/* no decision: a range with no table (the empty one), or a VMA */
		if (loglen == mark) {
			assert_int_equal(step, 2);
			seen |= 4;
		}
	}
	assert_int_equal(d.c.full_scans, 1);
	assert_int_equal(seen, 7);
	mthp_daemon_free(&d);
	fclose(f);
	free(log);
}

static void test_target_exit_is_dropped(void **state)
{
	struct daemon_child a = daemon_child_start(), b = daemon_child_start();
	struct mthp_diag diag = { 0 };
	struct mthp_daemon d;
	pid_t pids[2] = { a.pid, b.pid };
	char *log = NULL;
	size_t loglen = 0, mark;
	FILE *f = open_memstream(&log, &loglen);

	(void)state;
	daemon_require_small_pages(&a);
	daemon_require_small_pages(&b);
	assert_non_null(f);
	daemon_start(&d, pids, 2, 1000000, f);
	assert_int_equal(mthp_daemon_scan(&d, &diag), 0);
	assert_int_equal(d.c.pages_collapsed, 2);
	live_kid_reap(a.pid);
	fflush(f);
	mark = loglen;
	assert_int_equal(mthp_daemon_scan(&d, &diag), 0);
	fflush(f);
	assert_int_equal(d.nr_targets, 1);
	assert_int_equal(d.targets[0].pid, b.pid);
	assert_int_equal(d.c.targets_dropped, 1);
	assert_true(has_line(log + mark, "pid=%d addr=0 result=- action=drop errno=ESRCH",
			     (int)a.pid));
	/* b goes on: its sparse range is decided again */
	assert_non_null(strstr(log + mark, decision(&b, b.sparse, "SCAN_EXCEED_NONE_PTE", "skip")));
	/* every --pid gone: the daemon says so */
	live_kid_reap(b.pid);
	assert_int_equal(mthp_daemon_scan(&d, &diag), -ESRCH);
	assert_non_null(strstr(diag.msg, "no target left"));
	mthp_daemon_free(&d);
	fclose(f);
	free(log);
}

/* ---- signals: a daemon in its own process ---- */

struct bg {
	pid_t pid;
	int fd;		/* its standard output */
	char out[1 << 16];
	size_t len;
};

static void bg_start(struct bg *bg, const char *target)
{
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	bg->len = 0;
	bg->out[0] = '\0';
	bg->pid = live_kid_fork();
	if (bg->pid == 0) {
		char *argv[] = { "daemon", "--pid", (char *)target, "--interval", "60000",
				 "--pages-to-scan", "1000000", "--set", DAEMON_SET_ALWAYS,
				 "--set", DAEMON_SET_NONE, NULL };
		FILE *out = fdopen(fds[1], "w");

		close(fds[0]);
		if (!out)
			_exit(99);
		_exit(mthp_cli_run(11, argv, out, stderr));
	}
	close(fds[1]);
	bg->fd = fds[0];
}

/* Read its output until it holds want (or 10 s pass); true when found. */
static bool bg_wait_for(struct bg *bg, const char *want)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!strstr(bg->out, want)) {
		struct pollfd p = { .fd = bg->fd, .events = POLLIN };
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10)
			return false;
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(bg->fd, bg->out + bg->len, sizeof(bg->out) - 1 - bg->len);
		if (n <= 0)
			return strstr(bg->out, want) != NULL;
		bg->len += (size_t)n;
		bg->out[bg->len] = '\0';
	}
	return true;
}

static void bg_stop_with(struct bg *bg, int sig)
{
	int status;

	assert_int_equal(kill(bg->pid, sig), 0);
	bg_wait_for(bg, "\ntargets_dropped ");
	bg_wait_for(bg, "\n-EOF-");	/* the rest, up to end of file */
	assert_int_equal(waitpid(bg->pid, &status, 0), bg->pid);
	live_kid_forget(bg->pid);
	close(bg->fd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void check_signal_stop(int sig)
{
	struct daemon_child c = small_child();
	struct bg *bg = calloc(1, sizeof(*bg));

	assert_non_null(bg);
	bg_start(bg, c.pid_text);
	/* the first wake-up's collapse, then it sleeps for a minute */
	assert_true(bg_wait_for(bg, decision(&c, c.dense, "SCAN_SUCCEED", "collapse")));
	assert_true(bg_wait_for(bg, "action=skip errno=0\n"));
	usleep(100000);
	/* SIGUSR1: the counters, and it goes on */
	assert_int_equal(kill(bg->pid, SIGUSR1), 0);
	assert_true(bg_wait_for(bg, "\ntargets_dropped 0\n"));
	assert_int_equal(waitpid(bg->pid, NULL, WNOHANG), 0);
	bg->len = 0;
	bg->out[0] = '\0';
	bg_stop_with(bg, sig);
	assert_non_null(strstr(bg->out, "# mthp daemon counters\n"));
	assert_daemon_count(counter(bg->out, "pages_collapsed"), 1);
	/* under ASan the child's address space takes longer than this to scan */
	if (!SANITIZED_ADDRESS_SPACE)
		assert_int_equal(counter(bg->out, "full_scans"), 1);
	free(bg);
}

static void test_sigterm_stops_cleanly(void **state)
{
	(void)state;
	check_signal_stop(SIGTERM);
}

static void test_sigint_stops_cleanly(void **state)
{
	(void)state;
	check_signal_stop(SIGINT);
}

/* ---- options ---- */

static void test_option_errors(void **state)
{
	static char out[8192], err[8192];

	(void)state;
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--bogus", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--pid", "x", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--pid", "0", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon",
			     "--pages-to-scan", "0", NULL), 2);
	assert_non_null(strstr(err, "greater than 0"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon",
			     "--interval", "-5", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon",
			     "--policy", "fast", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon",
			     "--set", "nonsense", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon",
			     "--set", "khugepaged/max_ptes_none=100000", NULL), 2);
	assert_non_null(strstr(err, "max_ptes_none"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon",
			     "--pid", "1", "--cgroup", "/x", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "extra", NULL), 2);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--help", NULL), 0);
	assert_non_null(strstr(out, "--iterations N"));
	assert_non_null(strstr(out, "--dry-run"));
	/* not usage errors: the targets cannot be read */
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--pid",
			     "1073741808", "--iterations", "1", NULL), 1);
	assert_non_null(strstr(err, "no such process"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--cgroup",
			     "/sys/fs/cgroup/unified/mthp-no-such-cgroup", "--iterations",
			     "1", NULL), 1);
	assert_non_null(strstr(err, "cgroup"));
}

/* ---- the man page carries each live command's --help ---- */

/* Collapse runs of white space into one space, in place. */
static void squeeze(char *s)
{
	char *w = s;
	bool space = false;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\t') {
			space = true;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = false;
		*w++ = *s;
	}
	*w = '\0';
}

/* The man page as text: requests dropped, font and escape codes undone. */
static char *man_text(void)
{
	static char text[1 << 17];
	char line[1024];
	size_t len = 0;
	FILE *f = fopen("docs/mthp.1", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '.')
			continue;
		for (char *p = line; *p && len < sizeof(text) - 2; p++) {
			if (p[0] == '\\' && (p[1] == 'f') && p[2]) {
				p += 2;
			} else if (p[0] == '\\' && (p[1] == '-' || p[1] == '&' || p[1] == 'e')) {
				if (p[1] != '&')
					text[len++] = p[1] == 'e' ? '\\' : '-';
				p++;
			} else {
				text[len++] = *p;
			}
		}
		text[len++] = ' ';
	}
	fclose(f);
	text[len] = '\0';
	squeeze(text);
	return text;
}

static void test_man_page_matches_help(void **state)
{
	static const char *const cmds[] = { "sim", "plan", "audit", "snapshot", "collapse",
					     "daemon", "advise", "record", "trace-diff" };
	static char out[16384], err[1024];
	const char *man = man_text();

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *body;

		assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), cmds[i], "--help",
				     NULL), 0);
		body = strstr(out, "\n\n");	/* after the usage lines */
		assert_non_null(body);
		squeeze(body);
		if (!strstr(man, body + 1))
			fail_msg("docs/mthp.1 lacks the --help text of '%s'", cmds[i]);
	}
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collapses_dense_not_sparse),
		cmocka_unit_test(test_host_settings_decide),
		cmocka_unit_test(test_dry_run_collapses_nothing),
		cmocka_unit_test(test_api_single_wakeup),
		cmocka_unit_test(test_budget_and_cursor),
	cmocka_unit_test(test_progress_as_the_kernel_counts),
		cmocka_unit_test(test_target_exit_is_dropped),
		cmocka_unit_test(test_sigterm_stops_cleanly),
		cmocka_unit_test(test_sigint_stops_cleanly),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_man_page_matches_help),
	};

	return live_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
			      live_test_requirements(false));
}
