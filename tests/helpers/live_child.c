// SPDX-License-Identifier: MIT
/*
 * live_child.c - the live tests' children, layout child, command runner
 * and kpageflags reader (live_child.h).  Children are kept in a fixed
 * table so the teardown finds every one a failed case left behind.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "helpers/live_child.h"

#define MAX_KIDS 8
static pid_t kids[MAX_KIDS];

pid_t live_kid_fork(void)
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

void live_kid_reap(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++) {
		if (kids[i] != pid)
			continue;
		if (getpgid(pid) == pid)
			kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		kids[i] = 0;
	}
}

void live_kid_forget(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

int live_kids_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i])
			live_kid_reap(kids[i]);
	return 0;
}

int live_tests_run(struct CMUnitTest *tests, size_t n, int unmet)
{
	if (unmet)
		return unmet;
	for (size_t i = 0; i < n; i++)
		if (!tests[i].teardown_func)
			tests[i].teardown_func = live_kids_teardown;
	return _cmocka_run_group_tests("live", tests, n, NULL, NULL) ? 1 : 0;
}

/* In the child: its own VMA of 3 PMD ranges, laid out, address reported. */
static void __attribute__((noreturn)) child_main(live_layout_fn layout, int fd)
{
	char *p = mmap(NULL, 4 * LIVE_PMD_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a = (char *)(((uintptr_t)p + LIVE_PMD_SIZE - 1) & ~(LIVE_PMD_SIZE - 1));
	char *end = a + 3 * LIVE_PMD_SIZE;
	uint64_t addr = (uintptr_t)a;

	if (p == MAP_FAILED)
		_exit(2);
	setpgid(0, 0);
	/* Unmap the slack so nothing merges into the VMA. */
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(end, (size_t)(p + 4 * LIVE_PMD_SIZE - end));
	layout(a);
	if (write(fd, &addr, sizeof(addr)) != sizeof(addr))
		_exit(1);
	for (;;)
		pause();
}

struct live_child live_child_start(live_layout_fn layout)
{
	struct live_child c = { 0 };
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	c.pid = live_kid_fork();
	if (c.pid == 0) {
		close(fds[0]);
		child_main(layout, fds[1]);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c.addr, sizeof(c.addr)), sizeof(c.addr));
	close(fds[0]);
	return c;
}

void live_child_stop(struct live_child *c)
{
	live_kid_reap(c->pid);
}

int live_run(char *out, size_t outlen, char *err, size_t errlen, ...)
{
	char *argv[32];
	int argc = 0, status;
	va_list ap;
	FILE *fo, *fe;

	/* a stream nothing was written to leaves its buffer as it was */
	out[0] = err[0] = '\0';
	fo = fmemopen(out, outlen, "w");
	fe = fmemopen(err, errlen, "w");
	assert_non_null(fo);
	assert_non_null(fe);
	va_start(ap, errlen);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	status = mthp_cli_run(argc, argv, fo, fe);
	fclose(fo);
	fclose(fe);
	return status;
}

uint64_t live_page_flags(pid_t pid, uint64_t addr)
{
	char path[64];
	uint64_t e = 0, f = 0;
	int fd, kf;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY);
	kf = open("/proc/kpageflags", O_RDONLY);
	assert_true(fd >= 0 && kf >= 0);
	assert_int_equal(pread(fd, &e, 8, (off_t)(addr / LIVE_PAGE * 8)), 8);
	if (e >> 63)
		assert_int_equal(pread(kf, &f, 8, (off_t)((e & ((1ull << 55) - 1)) * 8)), 8);
	close(fd);
	close(kf);
	return f;
}

const struct mthp_audit_vma *live_audit_vma(const struct mthp_audit_proc *p, uint64_t addr)
{
	for (size_t i = 0; i < p->nr_vmas; i++)
		if (p->vmas[i].start <= addr && addr < p->vmas[i].end)
			return &p->vmas[i];
	fail_msg("no audited VMA holds %#llx", (unsigned long long)addr);
	return NULL;
}

void live_view_of(const struct live_child *c, bool ranges, struct live_view *v)
{
	struct mthp_diag diag = { 0 };

	memset(v, 0, sizeof(*v));
	v->addr = c->addr;
	if (mthp_live_audit(c->pid, ranges, &v->audit, &diag) < 0)
		fail_msg("audit: %s", diag.msg);
	v->vma = live_audit_vma(&v->audit, c->addr);
	if (mthp_live_snapshot(c->pid, &v->snap, &diag) < 0)
		fail_msg("snapshot: %s", diag.msg);
}

void live_view_free(struct live_view *v)
{
	mthp_audit_proc_free(&v->audit);
	mthp_snapshot_free(&v->snap);
}

const struct mthp_snapshot_pmd *live_view_pmd(const struct live_view *v, unsigned i)
{
	for (size_t k = 0; k < v->snap.nr_pmds; k++)
		if (v->snap.pmds[k].addr == v->addr + i * LIVE_PMD_SIZE)
			return &v->snap.pmds[k];
	return NULL;
}

void live_view_ptes(const struct live_view *v, unsigned i, char *buf, size_t len)
{
	const struct mthp_snapshot_pmd *pmd = live_view_pmd(v, i);

	if (!pmd || pmd->kind != MTHP_PMD_TABLE)
		fail_msg("range %u of the child is not a page table", i);
	memcpy(buf, pmd->ptes, len);
	buf[len] = '\0';
}

void live_audit_with(pid_t pid, bool scan, struct mthp_audit_proc *p)
{
	struct mthp_diag diag = { 0 };

	mthp_live_set_pagemap_scan(scan);
	if (mthp_live_audit(pid, true, p, &diag) < 0) {
		mthp_live_set_pagemap_scan(true);
		fail_msg("audit (%s): %s", scan ? "PAGEMAP_SCAN" : "plain reads", diag.msg);
	}
	mthp_live_set_pagemap_scan(true);
}

/* The snapshot as text (setting lines and all); free() it. */
static char *snapshot_text(pid_t pid, bool scan)
{
	struct mthp_snapshot snap;
	struct mthp_diag diag = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	mthp_live_set_pagemap_scan(scan);
	ret = mthp_live_snapshot(pid, &snap, &diag);
	mthp_live_set_pagemap_scan(true);
	if (ret < 0) {
		mthp_snapshot_free(&snap);
		fail_msg("snapshot (%s): %s", scan ? "PAGEMAP_SCAN" : "plain reads", diag.msg);
	}
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(mthp_snapshot_write(&snap, f), 0);
	fclose(f);
	mthp_snapshot_free(&snap);
	return text;
}

/* Whether two audits say the same, field by field. */
static bool same_audit(const struct mthp_audit_proc *a, const struct mthp_audit_proc *b)
{
	if (a->nr_vmas != b->nr_vmas || memcmp(&a->total, &b->total, sizeof(a->total)))
		return false;
	for (size_t i = 0; i < a->nr_vmas; i++) {
		const struct mthp_audit_vma *x = &a->vmas[i], *y = &b->vmas[i];

		if (x->start != y->start || x->end != y->end ||
		    memcmp(&x->c, &y->c, sizeof(x->c)) || x->nr_ranges != y->nr_ranges)
			return false;
		for (size_t r = 0; r < x->nr_ranges; r++)
			if (x->ranges[r].pmd_addr != y->ranges[r].pmd_addr ||
			    x->ranges[r].present != y->ranges[r].present ||
			    x->ranges[r].swap != y->ranges[r].swap ||
			    x->ranges[r].zero != y->ranges[r].zero ||
			    x->ranges[r].huge != y->ranges[r].huge)
				return false;
	}
	return true;
}

static void assert_same_audit(const struct mthp_audit_proc *a,
			      const struct mthp_audit_proc *b)
{
	assert_int_equal(a->nr_vmas, b->nr_vmas);
	for (size_t i = 0; i < a->nr_vmas; i++) {
		const struct mthp_audit_vma *x = &a->vmas[i], *y = &b->vmas[i];

		assert_int_equal(x->start, y->start);
		assert_int_equal(x->end, y->end);
		assert_memory_equal(&x->c, &y->c, sizeof(x->c));
		assert_int_equal(x->nr_ranges, y->nr_ranges);
		for (size_t r = 0; r < x->nr_ranges; r++) {
			assert_int_equal(x->ranges[r].pmd_addr, y->ranges[r].pmd_addr);
			assert_int_equal(x->ranges[r].present, y->ranges[r].present);
			assert_int_equal(x->ranges[r].swap, y->ranges[r].swap);
			assert_int_equal(x->ranges[r].zero, y->ranges[r].zero);
			assert_int_equal(x->ranges[r].huge, y->ranges[r].huge);
		}
	}
	assert_memory_equal(&a->total, &b->total, sizeof(a->total));
}

/*
 * The kernel may still change the process while it is read (a partly
 * unmapped large folio waits on the deferred split queue; swap-in and
 * reclaim go on), so the paths are compared only across a window in
 * which the fast path read the same before and after the plain one.
 */
#define PATHS_TRIES 50

void live_paths_agree(pid_t pid)
{
	struct mthp_audit_proc fast, plain, again;
	char *snap_fast, *snap_plain, *snap_again;
	int tries;

	if (LIVE_SANITIZED) {
		print_message("not compared with plain pagemap reads under a sanitizer\n");
		return;
	}
	for (tries = 0; tries < PATHS_TRIES; tries++) {
		bool stable;

		live_audit_with(pid, true, &fast);
		live_audit_with(pid, false, &plain);
		live_audit_with(pid, true, &again);
		stable = same_audit(&fast, &again);
		if (stable)
			assert_same_audit(&fast, &plain);
		mthp_audit_proc_free(&fast);
		mthp_audit_proc_free(&plain);
		mthp_audit_proc_free(&again);
		if (stable)
			break;
		usleep(100000);
	}
	if (tries == PATHS_TRIES)
		fail_msg("pid %d: its audit kept changing for %d tries", (int)pid, PATHS_TRIES);
	for (tries = 0; tries < PATHS_TRIES; tries++) {
		bool stable;

		snap_fast = snapshot_text(pid, true);
		snap_plain = snapshot_text(pid, false);
		snap_again = snapshot_text(pid, true);
		stable = !strcmp(snap_fast, snap_again);
		if (stable)
			assert_string_equal(snap_fast, snap_plain);
		free(snap_fast);
		free(snap_plain);
		free(snap_again);
		if (stable)
			break;
		usleep(100000);
	}
	if (tries == PATHS_TRIES)
		fail_msg("pid %d: its snapshot kept changing for %d tries", (int)pid, PATHS_TRIES);
}
