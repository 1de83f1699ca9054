// SPDX-License-Identifier: MIT
/*
 * test_live_robust.c - the live tools when things go wrong: audit and
 * snapshot of a process that maps and unmaps while it is read (each run
 * is complete and consistent, or says the mappings kept changing), of
 * processes that exit while read and of a zombie (gone, never "no
 * memory"), pids that do not exist, a run without privileges (a clear
 * error naming what is missing and that root, CAP_SYS_ADMIN, is needed;
 * process_madvise refused with the pid named).  Every child is killed and
 * reaped in the teardown.  Needs root; changes nothing on the host.
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

#include "common/rng.h"
#include "helpers/live_child.h"
#include "helpers/live_skip.h"

#define PAGE LIVE_PAGE
#define NO_PID "1073741808"
#define NOBODY 65534

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
		/* format 2: the range overlaps its vma */
		assert_true(s->pmds[i].addr < v->end &&
			    s->pmds[i].addr + LIVE_PMD_SIZE > v->start);
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
	struct mthp_rng rng = { (uint64_t)getpid() };
	char *maps[32] = { 0 };
	size_t lens[32] = { 0 };

	for (unsigned long n = 0;; n++) {
		unsigned i = mthp_rng_below(&rng, 32);
		size_t len = ((size_t)mthp_rng_below(&rng, 1024) + 1) * PAGE;

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

/* A read of a churning process: complete, or it says the mappings kept changing. */
static bool read_complete(int ret, const struct mthp_diag *diag, int *ok, int *changing)
{
	if (ret == 0) {
		(*ok)++;
		return true;
	}
	assert_int_equal(ret, -EAGAIN);
	assert_non_null(strstr(diag->msg, "kept changing"));
	(*changing)++;
	return false;
}

static void test_churning_process(void **state)
{
	static char out[1 << 20], err[4096];
	pid_t pid = live_kid_fork();
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
		if (read_complete(ret, &diag, &ok, &changing)) {
			check_audit(&p);
			mthp_audit_proc_free(&p);
		}
		ret = mthp_live_snapshot(pid, &snap, &diag);
		if (read_complete(ret, &diag, &ok, &changing))
			check_snapshot(&snap);
		mthp_snapshot_free(&snap);

		/* the commands: complete output and 0, or nothing passed off and 1 */
		out[0] = '\0';
		ret = live_run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid", arg, NULL);
		if (ret == 0) {
			assert_memory_equal(out, "mthp-snapshot 2\n", 16);
		} else {
			assert_int_equal(ret, 1);
			assert_non_null(strstr(err, "kept changing"));
			assert_int_equal(out[0], '\0');
		}
		ret = live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", arg,
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
	live_kid_reap(pid);
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
		pid_t pid = live_kid_fork();
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
		live_kid_reap(pid);
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
	pid_t pid = live_kid_fork();
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
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", arg, NULL), 1);
	assert_true(strstr(err, "exited") || strstr(err, "no such process"));
	out[0] = '\0';
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid", arg,
			     NULL), 1);
	assert_int_equal(out[0], '\0');	/* nothing passed off as a snapshot */
	live_kid_reap(pid);
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
	quiet = live_kid_fork();
	if (quiet == 0) {
		for (;;)
			pause();
	}
	snprintf(self, sizeof(self), "%d", (int)quiet);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", NO_PID,
			     NULL), 1);
	assert_non_null(strstr(err, "pid " NO_PID ": no such process"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "snapshot", "--pid",
			     NO_PID, NULL), 1);
	assert_non_null(strstr(err, "pid " NO_PID ": no such process"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "collapse", "--pid",
			     NO_PID, NULL), 1);
	assert_non_null(strstr(err, "no such process"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "daemon", "--pid",
			     NO_PID, "--iterations", "1", NULL), 1);
	assert_non_null(strstr(err, "no such process"));
	/* one good pid and one missing: the good one is reported, status 1 */
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "audit", "--pid", self,
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
	u->status[0] = live_run(out, sizeof(out), u->err[0], sizeof(u->err[0]), "audit",
			   "--pid", arg, NULL);
	u->status[1] = live_run(out, sizeof(out), u->err[1], sizeof(u->err[1]), "snapshot",
			   "--pid", arg, NULL);
	u->status[2] = live_run(out, sizeof(out), u->err[2], sizeof(u->err[2]), "collapse",
			   "--pid", arg, NULL);
	u->status[3] = live_run(out, sizeof(out), u->err[3], sizeof(u->err[3]), "daemon",
			   "--pid", arg, "--iterations", "1", NULL);
	u->status[4] = live_run(out, sizeof(out), u->err[4], sizeof(u->err[4]), "audit",
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
	target = live_kid_fork();		/* a root process to read */
	if (target == 0) {
		for (;;)
			pause();
	}
	pid = live_kid_fork();
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
	live_kid_reap(pid);
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

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churning_process),
		cmocka_unit_test(test_processes_exiting_while_read),
		cmocka_unit_test(test_zombie_is_gone),
		cmocka_unit_test(test_pids_that_do_not_exist),
		cmocka_unit_test(test_unprivileged_run),
	};

	return live_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
			      live_test_requirements(false));
}
