// SPDX-License-Identifier: MIT
/*
 * test_live_robust.c - the live tools when things go wrong: audit and
 * snapshot of a process that maps and unmaps while it is read (each run
 * is complete and consistent, or says the mappings kept changing), of
 * processes that exit while read and of a zombie (gone, never "no
 * memory"), pids that do not exist, a run without privileges (a clear
 * error naming what is missing and that root, CAP_SYS_ADMIN, is needed;
 * process_madvise refused with the pid named); and the THP settings
 * stack, which puts every knob back on SIGTERM, SIGINT, SIGSEGV, SIGABRT
 * and exit.  Every child is killed and reaped in the teardown.  Needs root.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/live.h>
#include <mthp/snapshot.h>

#include "cli/cli.h"
#include "helpers/live_skip.h"
#include "helpers/thp_settings.h"

#define PAGE 4096ul
#define NO_PID "1073741808"
#define NOBODY 65534

/* ---- children, killed and reaped in the teardown ---- */

#define MAX_KIDS 8
static pid_t kids[MAX_KIDS];

static pid_t kid_fork(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		return 0;
	}
	for (int i = 0; i < MAX_KIDS; i++) {
		if (!kids[i]) {
			kids[i] = pid;
			return pid;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fail_msg("too many children");
	return -1;
}

static void kid_reap(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++) {
		if (kids[i] == pid) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			kids[i] = 0;
		}
	}
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i])
			kid_reap(kids[i]);
	return 0;
}

/* Run `mthp ARGS...` (NULL-terminated) into out and err. */
static int run(char *out, size_t outlen, char *err, size_t errlen, ...)
{
	char *argv[16];
	int argc = 0, status;
	va_list ap;
	FILE *fo = fmemopen(out, outlen, "w"), *fe = fmemopen(err, errlen, "w");

	if (!fo || !fe)
		abort();
	va_start(ap, errlen);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	status = mthp_cli_run(argc, argv, fo, fe);
	fclose(fo);
	fclose(fe);
	return status;
}

/* ---- consistency of a result ---- */

static void check_audit(const struct mthp_audit_proc *p)
{
	struct mthp_audit_counts sum = { 0 };

	for (size_t i = 0; i < p->nr_vmas; i++) {
		const struct mthp_audit_counts *c = &p->vmas[i].c;
		uint64_t thp = c->pmd_mapped + c->pte_partial, ranges = 0;
		uint64_t pages = (p->vmas[i].end - p->vmas[i].start) / PAGE;

		for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
			thp += c->pte_aligned[o] + c->pte_unaligned[o];
		for (unsigned b = 0; b < MTHP_AUDIT_OCC_BUCKETS; b++)
			ranges += c->occupancy[b];
		assert_true(p->vmas[i].start < p->vmas[i].end);
		assert_true(!i || p->vmas[i - 1].end <= p->vmas[i].start);
		assert_true(thp <= c->anon);
		assert_true(c->anon + c->swap + c->zero <= pages);
		assert_int_equal(ranges, c->pmd_ranges);
		mthp_audit_counts_add(&sum, c);
	}
	assert_memory_equal(&sum, &p->total, sizeof(sum));
}

static void check_snapshot(const struct mthp_snapshot *s)
{
	struct mthp_snapshot back;
	struct mthp_diag diag = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	for (size_t i = 0; i < s->nr_pmds; i++) {
		const struct mthp_snapshot_vma *v = &s->vmas[s->pmds[i].vma];

		assert_true(s->pmds[i].vma < s->nr_vmas);
		assert_true(v->start <= s->pmds[i].addr && s->pmds[i].addr < v->end);
		assert_true(!i || s->pmds[i - 1].addr < s->pmds[i].addr);
	}
	assert_non_null(f);
	assert_int_equal(mthp_snapshot_write(s, f), 0);
	fclose(f);
	if (mthp_snapshot_read_mem(&back, text, len, "live.snap", &diag) < 0)
		fail_msg("the snapshot does not read back: %s", diag.msg);
	assert_int_equal(back.nr_pmds, s->nr_pmds);
	assert_int_equal(back.nr_vmas, s->nr_vmas);
	mthp_snapshot_free(&back);
	free(text);
}

/* ---- a process that maps and unmaps while it is read ---- */

static void churn(void)
{
	unsigned seed = (unsigned)getpid();
	char *maps[32] = { 0 };
	size_t lens[32] = { 0 };

	for (unsigned long n = 0;; n++) {
		unsigned i = (unsigned)rand_r(&seed) % 32;
		size_t len = ((size_t)rand_r(&seed) % 1024 + 1) * PAGE;

		if (maps[i]) {
			munmap(maps[i], lens[i]);
			maps[i] = NULL;
		} else {
			maps[i] = mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (maps[i] == MAP_FAILED) {
				maps[i] = NULL;
				continue;
			}
			lens[i] = len;
			for (size_t off = 0; off < len; off += 8 * PAGE)
				maps[i][off] = 1;
			/* split it: a VMA with other permissions in the middle */
			if (len > 4 * PAGE)
				mprotect(maps[i] + PAGE, PAGE, PROT_READ);
		}
		/* bursts of changes, and quiet spells a read can fit in */
		if (n % 64 == 63)
			usleep(10000);
	}
}

static void test_churning_process(void **state)
{
	static char out[1 << 20], err[4096];
	pid_t pid = kid_fork();
	struct timespec t0, t;
	int ok = 0, changing = 0, runs = 0;
	char arg[16];

	(void)state;
	if (pid == 0)
		churn();
	snprintf(arg, sizeof(arg), "%d", (int)pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct mthp_diag diag = { 0 };
		struct mthp_audit_proc p;
		struct mthp_snapshot snap;
		int ret;

		ret = mthp_live_audit(pid, true, &p, &diag);
		if (ret == 0) {
			check_audit(&p);
			mthp_audit_proc_free(&p);
			ok++;
		} else {
			assert_int_equal(ret, -EAGAIN);
			assert_non_null(strstr(diag.msg, "kept changing"));
			changing++;
		}
		ret = mthp_live_snapshot(pid, &snap, &diag);
		if (ret == 0) {
			check_snapshot(&snap);
			ok++;
		} else {
			assert_int_equal(ret, -EAGAIN);
			assert_non_null(strstr(diag.msg, "kept changing"));
			changing++;
		}
		mthp_snapshot_free(&snap);

		/* the commands: complete output and 0, or nothing passed off and 1 */
		out[0] = '\0';
		ret = run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid", arg, NULL);
		if (ret == 0) {
			assert_memory_equal(out, "mthp-snapshot 1\n", 16);
		} else {
			assert_int_equal(ret, 1);
			assert_non_null(strstr(err, "kept changing"));
			assert_int_equal(out[0], '\0');
		}
		ret = run(out, sizeof(out), err, sizeof(err), "audit", "--pid", arg,
			  "--rollup", NULL);
		if (ret != 0) {
			assert_int_equal(ret, 1);
			assert_non_null(strstr(err, "kept changing"));
			assert_null(strstr(out, "anon-total"));
		}
		runs++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (runs < 400 && (t.tv_sec - t0.tv_sec) * 1000 +
		 (t.tv_nsec - t0.tv_nsec) / 1000000 < 3000);
	print_message("churn: %d runs, %d complete reads, %d 'kept changing'\n",
		      runs, ok, changing);
	assert_true(runs > 0);
	kid_reap(pid);
}

/* ---- processes that exit while they are read ---- */

static void test_processes_exiting_while_read(void **state)
{
	int gone = 0, retried = 0, ok = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		struct mthp_diag diag = { 0 };
		struct mthp_audit_proc p;
		struct mthp_snapshot snap;
		pid_t pid = kid_fork();
		int ret;

		if (pid == 0) {
			size_t len = 8u << 20;
			char *a = mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			for (size_t off = 0; a != MAP_FAILED && off < len; off += PAGE)
				a[off] = 1;
			usleep((useconds_t)(i % 10) * 2000);
			_exit(0);
		}
		ret = i % 2 ? mthp_live_audit(pid, false, &p, &diag) :
			      mthp_live_snapshot(pid, &snap, &diag);
		if (ret == 0) {
			if (i % 2) {
				check_audit(&p);
				mthp_audit_proc_free(&p);
			} else {
				check_snapshot(&snap);
			}
			ok++;
		} else {
			if (ret != -ESRCH && ret != -EAGAIN)
				fail_msg("pid %d: %d: %s", (int)pid, ret, diag.msg);
			assert_true(strstr(diag.msg, "exited") ||
				    strstr(diag.msg, "no such process") ||
				    strstr(diag.msg, "kept changing"));
			gone += ret == -ESRCH;
			retried += ret == -EAGAIN;
		}
		if (!(i % 2))
			mthp_snapshot_free(&snap);
		kid_reap(pid);
	}
	print_message("exiting: %d complete, %d gone, %d kept changing\n", ok, gone,
		      retried);
}

/* A zombie has no memory map left: it is gone, not a process with nothing. */
static void test_zombie_is_gone(void **state)
{
	static char out[8192], err[8192];
	struct mthp_diag diag = { 0 };
	struct mthp_audit_proc p;
	struct mthp_snapshot snap;
	siginfo_t si;
	pid_t pid = kid_fork();
	char arg[16];

	(void)state;
	if (pid == 0)
		_exit(0);
	/* wait until it is a zombie, without reaping it */
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(mthp_live_audit(pid, false, &p, &diag), -ESRCH);
	assert_int_equal(mthp_live_snapshot(pid, &snap, &diag), -ESRCH);
	mthp_snapshot_free(&snap);
	snprintf(arg, sizeof(arg), "%d", (int)pid);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--pid", arg, NULL), 1);
	assert_true(strstr(err, "exited") || strstr(err, "no such process"));
	out[0] = '\0';
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid", arg,
			     NULL), 1);
	assert_int_equal(out[0], '\0');	/* nothing passed off as a snapshot */
	kid_reap(pid);
}

/* ---- pids that do not exist ---- */

static void test_pids_that_do_not_exist(void **state)
{
	static char out[1 << 16], err[8192];
	char self[16];
	pid_t quiet;

	(void)state;
	/*
	 * A process that does nothing: reading this test process itself races
	 * with its own allocations (under a sanitizer, its maps change).
	 */
	quiet = kid_fork();
	if (quiet == 0) {
		for (;;)
			pause();
	}
	snprintf(self, sizeof(self), "%d", (int)quiet);
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--pid", NO_PID,
			     NULL), 1);
	assert_non_null(strstr(err, "pid " NO_PID ": no such process"));
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid",
			     NO_PID, NULL), 1);
	assert_non_null(strstr(err, "pid " NO_PID ": no such process"));
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "collapse", "--pid",
			     NO_PID, NULL), 1);
	assert_non_null(strstr(err, "no such process"));
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "daemon", "--pid",
			     NO_PID, "--iterations", "1", NULL), 1);
	assert_non_null(strstr(err, "no such process"));
	/* one good pid and one missing: the good one is reported, status 1 */
	assert_int_equal(run(out, sizeof(out), err, sizeof(err), "audit", "--pid", self,
			     "--pid", NO_PID, NULL), 1);
	assert_non_null(strstr(err, "pid " NO_PID ": no such process"));
	assert_non_null(strstr(out, self));
}

/* ---- without privileges ---- */

#define NR_UNPRIV 5

struct unpriv {
	int status[NR_UNPRIV];
	char err[NR_UNPRIV][1024];
	int collapse_ret;
	char collapse_msg[512];
	int setup;		/* 0: privileges dropped */
};

static void unprivileged_runs(struct unpriv *u, pid_t target)
{
	static char out[1 << 16];
	struct mthp_diag diag = { 0 };
	char arg[16];

	snprintf(arg, sizeof(arg), "%d", (int)target);
	u->status[0] = run(out, sizeof(out), u->err[0], sizeof(u->err[0]), "audit",
			   "--pid", arg, NULL);
	u->status[1] = run(out, sizeof(out), u->err[1], sizeof(u->err[1]), "snapshot",
			   "--pid", arg, NULL);
	u->status[2] = run(out, sizeof(out), u->err[2], sizeof(u->err[2]), "collapse",
			   "--pid", arg, NULL);
	u->status[3] = run(out, sizeof(out), u->err[3], sizeof(u->err[3]), "daemon",
			   "--pid", arg, "--iterations", "1", NULL);
	u->status[4] = run(out, sizeof(out), u->err[4], sizeof(u->err[4]), "audit",
			   "--rollup", NULL);
	u->collapse_ret = mthp_live_collapse(target, 0x200000, 0x200000, &diag);
	snprintf(u->collapse_msg, sizeof(u->collapse_msg), "%s", diag.msg);
}

static void test_unprivileged_run(void **state)
{
	struct unpriv *u = mmap(NULL, sizeof(*u), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t target, pid;
	int status;
	char want[64];

	(void)state;
	assert_true(u != MAP_FAILED);
	u->setup = -1;
	target = kid_fork();		/* a root process to read */
	if (target == 0) {
		for (;;)
			pause();
	}
	pid = kid_fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(1);
		/* as a user's own process is (setuid cleared it) */
		prctl(PR_SET_DUMPABLE, 1);
		u->setup = 0;
		unprivileged_runs(u, target);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	kid_reap(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(u->setup, 0);
	for (int i = 0; i < NR_UNPRIV; i++) {
		if (u->status[i] != 1 || !strstr(u->err[i], "root (CAP_SYS_ADMIN) is needed") ||
		    !strstr(u->err[i], "page frame numbers are hidden"))
			fail_msg("run %d: status %d: %s", i, u->status[i], u->err[i]);
	}
	/* process_madvise refused: the pid is named */
	assert_true(u->collapse_ret == -EPERM || u->collapse_ret == -EACCES);
	snprintf(want, sizeof(want), "pid %d: no permission", (int)target);
	assert_non_null(strstr(u->collapse_msg, want));
	munmap(u, sizeof(*u));
}

/* ---- the settings stack ---- */

static const char *const knobs[] = {
	"hugepages-64kB/enabled",
	"khugepaged/max_ptes_none",
	"khugepaged/max_ptes_swap",
};
#define NR_KNOBS (sizeof(knobs) / sizeof(knobs[0]))

/* The selected value of a knob ("madvise", "511"). */
static void knob_read(const char *knob, char *buf, size_t len)
{
	char path[256], text[256], *lb, *rb;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/transparent_hugepage/%s", knob);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	text[strcspn(text, "\n")] = '\0';
	lb = strchr(text, '[');
	rb = lb ? strchr(lb, ']') : NULL;
	if (lb && rb) {
		*rb = '\0';
		memmove(text, lb + 1, strlen(lb + 1) + 1);
	}
	assert_true(strlen(text) < len);
	memcpy(buf, text, strlen(text) + 1);
}

/* A value other than the current one. */
static const char *other_value(const char *knob, const char *now)
{
	if (strstr(knob, "enabled"))
		return strcmp(now, "always") ? "always" : "never";
	return strcmp(now, "7") ? "7" : "9";
}


enum how { BY_RAISE, BY_KILL, BY_FAULT, BY_ABORT, BY_EXIT };

/* In the child: push a change to every knob, then die as asked. */
static void child_push_and_die(int sig, enum how how, int ready)
{
	const int sigs[] = { SIGTERM, SIGINT, SIGSEGV, SIGABRT };
	char now[64];

	/* a plain program: no handler of the test framework underneath */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	for (size_t i = 0; i < NR_KNOBS; i++) {
		knob_read(knobs[i], now, sizeof(now));
		if (thp_settings_push(knobs[i], other_value(knobs[i], now)) < 0)
			_exit(10);
		knob_read(knobs[i], now, sizeof(now));
	}
	switch (how) {
	case BY_RAISE:
		raise(sig);
		break;
	case BY_KILL:
		if (write(ready, "r", 1) != 1)
			_exit(11);
		for (;;)
			pause();
	case BY_FAULT: {
		/* a real fault, on a page with no access (not NULL: UBSan stops that) */
		volatile char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
					   -1, 0);

		if (page == MAP_FAILED)
			_exit(13);
		*page = 1;
		break;
	}
	case BY_ABORT:
		abort();
	case BY_EXIT:
		exit(0);	/* atexit restores */
	}
	_exit(12);
}

/* Put a knob back as it was: the safety net when a child failed to. */
static void knob_write(const char *knob, const char *value)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/transparent_hugepage/%s", knob);
	f = fopen(path, "w");
	if (f) {
		fputs(value, f);
		fclose(f);
	}
}

/* Every knob as orig says; true when some had to be written back. */
static bool knobs_put_back(char orig[][64])
{
	bool changed = false;
	char now[64];

	for (size_t i = 0; i < NR_KNOBS; i++) {
		knob_read(knobs[i], now, sizeof(now));
		if (strcmp(now, orig[i])) {
			knob_write(knobs[i], orig[i]);
			changed = true;
		}
	}
	return changed;
}

static void check_restored_after(int sig, enum how how)
{
	char orig[NR_KNOBS][64], now[64];
	int fds[2], status;
	pid_t pid;

	for (size_t i = 0; i < NR_KNOBS; i++)
		knob_read(knobs[i], orig[i], sizeof(orig[i]));
	assert_int_equal(pipe(fds), 0);
	pid = kid_fork();
	if (pid == 0) {
		close(fds[0]);
		child_push_and_die(sig, how, fds[1]);
	}
	close(fds[1]);
	if (how == BY_KILL) {
		char c;

		assert_int_equal(read(fds[0], &c, 1), 1);
		for (size_t i = 0; i < NR_KNOBS; i++) {	/* changed now */
			knob_read(knobs[i], now, sizeof(now));
			assert_string_not_equal(now, orig[i]);
		}
		assert_int_equal(kill(pid, sig), 0);
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	kid_reap(pid);
	for (size_t i = 0; i < NR_KNOBS; i++) {
		knob_read(knobs[i], now, sizeof(now));
		if (strcmp(now, orig[i])) {
			/* never leave a knob changed, even when the test fails */
			knobs_put_back(orig);
			fail_msg("signal %d: %s was '%s' after the child, not '%s'", sig,
				 knobs[i], now, orig[i]);
		}
	}
	if (how == BY_EXIT) {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	} else {
		if (!WIFSIGNALED(status))
			fail_msg("signal %d: the child exited with %d", sig,
				 WEXITSTATUS(status));
		assert_int_equal(WTERMSIG(status), sig);	/* passed on */
	}
}

static void test_settings_restored_on_sigterm(void **state)
{
	(void)state;
	check_restored_after(SIGTERM, BY_RAISE);
	check_restored_after(SIGTERM, BY_KILL);
}

static void test_settings_restored_on_sigint(void **state)
{
	(void)state;
	check_restored_after(SIGINT, BY_RAISE);
	check_restored_after(SIGINT, BY_KILL);
}

static void test_settings_restored_on_sigsegv(void **state)
{
	(void)state;
	check_restored_after(SIGSEGV, BY_RAISE);
	check_restored_after(SIGSEGV, BY_FAULT);
}

static void test_settings_restored_on_sigabrt(void **state)
{
	(void)state;
	check_restored_after(SIGABRT, BY_RAISE);
	check_restored_after(SIGABRT, BY_ABORT);
}

static void test_settings_restored_at_exit(void **state)
{
	(void)state;
	check_restored_after(0, BY_EXIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_churning_process, teardown),
		cmocka_unit_test_teardown(test_processes_exiting_while_read, teardown),
		cmocka_unit_test_teardown(test_zombie_is_gone, teardown),
		cmocka_unit_test_teardown(test_pids_that_do_not_exist, teardown),
		cmocka_unit_test_teardown(test_unprivileged_run, teardown),
		cmocka_unit_test_teardown(test_settings_restored_on_sigterm, teardown),
		cmocka_unit_test_teardown(test_settings_restored_on_sigint, teardown),
		cmocka_unit_test_teardown(test_settings_restored_on_sigsegv, teardown),
		cmocka_unit_test_teardown(test_settings_restored_on_sigabrt, teardown),
		cmocka_unit_test_teardown(test_settings_restored_at_exit, teardown),
	};
	int unmet = live_test_requirements(true);

	if (unmet)
		return unmet;
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
