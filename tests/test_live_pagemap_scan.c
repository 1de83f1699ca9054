// SPDX-License-Identifier: MIT
/*
 * test_live_pagemap_scan.c - the two ways the live tools read page tables
 * give the same audit and snapshot: PAGEMAP_SCAN with kpageflags read in
 * batches, and the plain pagemap reads of kernels without PAGEMAP_SCAN
 * (forced with mthp_live_set_pagemap_scan(false)).  The child mixes PMD
 * THPs, a partly unmapped PTE-mapped THP, 4K pages, holes, zero pages,
 * pages shared with a forked grandchild, a VMA that starts and ends inside
 * PMD ranges, and mTHPs when the host's sysfs enables a size (nothing is
 * written here).  The one layout the plain reads cannot tell apart, a
 * PTE-mapped THP that is mapped whole, shows that the fast path is the one
 * used by default.  Needs root and THP; changes nothing on the host.
 * Under AddressSanitizer or ThreadSanitizer the cases skip: a forked child
 * carries the sanitizer's terabytes of reserved anonymous memory, and the
 * plain reads read every PMD range of it, for hours.
 */
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
#include <unistd.h>

#include <cmocka.h>

#include <mthp/live.h>
#include <mthp/snapshot.h>

#include "helpers/live_child.h"
#include "helpers/live_skip.h"

#define PMD_SIZE LIVE_PMD_SIZE
#define PAGE LIVE_PAGE
#define N 512
#define RANGES 40

typedef void (*layout_fn)(char *a, char *odd);

/* A fork()ed child: RANGES PMD ranges at a PMD boundary, laid out, then sleeps. */
static pid_t start_child(layout_fn layout, uint64_t *addr)
{
	int fds[2];
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = live_kid_fork();
	if (pid == 0) {
		char *p = mmap(NULL, (RANGES + 1) * PMD_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *a = (char *)(((uintptr_t)p + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
		/* A VMA of 3.5 PMD ranges that starts half a range in. */
		char *q = mmap(NULL, 6 * PMD_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *odd = (char *)(((uintptr_t)q + PMD_SIZE - 1) & ~(PMD_SIZE - 1)) +
			    PMD_SIZE / 2;
		char *odd_end = odd + 3 * PMD_SIZE + PMD_SIZE / 2;
		uint64_t at = (uintptr_t)a;

		close(fds[0]);
		if (p == MAP_FAILED || q == MAP_FAILED)
			_exit(2);
		/* Unmap the slack, so that nothing merges with the two VMAs. */
		if (a > p)
			munmap(p, (size_t)(a - p));
		munmap(a + RANGES * PMD_SIZE, (size_t)(p + PMD_SIZE - a));
		munmap(q, (size_t)(odd - q));
		munmap(odd_end, (size_t)(q + 6 * PMD_SIZE - odd_end));
		setpgid(0, 0);	/* live_kid_reap() kills the grandchild too */
		layout(a, odd);
		if (write(fds[1], &at, sizeof(at)) != sizeof(at))
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], addr, sizeof(*addr)), sizeof(*addr));
	close(fds[0]);
	return pid;
}

static void collapse(char *a)
{
	memset(a, 1, PMD_SIZE);
	if (madvise(a, PMD_SIZE, MADV_COLLAPSE))
		_exit(3);
}

static void layout_mixed(char *a, char *odd)
{
	volatile char sink = 0;

	collapse(a);				/* 0: PMD-mapped THP */
	collapse(a + PMD_SIZE);			/* 1: THP, one page unmapped */
	madvise(a + PMD_SIZE + 7 * PAGE, PAGE, MADV_DONTNEED);
	collapse(a + 2 * PMD_SIZE);		/* 2, 3: adjacent THPs */
	collapse(a + 3 * PMD_SIZE);
	memset(a + 4 * PMD_SIZE, 1, PMD_SIZE / 2);	/* 4: half written */
	for (size_t i = 0; i < N; i += 3)	/* 5: every third page */
		a[5 * PMD_SIZE + i * PAGE] = 1;
	for (size_t i = 0; i < 64; i++)		/* 6: reads, the zero page */
		sink += a[6 * PMD_SIZE + i * PAGE];
	/* 7: a read, the huge zero page where THP and use_zero_page allow */
	madvise(a + 7 * PMD_SIZE, PMD_SIZE, MADV_HUGEPAGE);
	sink += a[7 * PMD_SIZE + 100];
	for (size_t i = 0; i < N; i += 2)	/* 9: pages shared below */
		a[9 * PMD_SIZE + i * PAGE] = 1;
	collapse(a + 10 * PMD_SIZE);		/* 10: THP shared below */
	a[15 * PMD_SIZE + 5 * PAGE] = 1;	/* 15: one page */
	memset(odd, 1, 3 * PMD_SIZE);		/* the odd VMA, whole */
	/* 16 to 35: 4K pages only, enough for two threads to share the reads */
	madvise(a + 16 * PMD_SIZE, 20 * PMD_SIZE, MADV_NOHUGEPAGE);
	memset(a + 16 * PMD_SIZE, 1, 20 * PMD_SIZE);
	/* 11: mTHPs when the host enables a size below the PMD, else 4K */
	madvise(a + 11 * PMD_SIZE, PMD_SIZE / 2, MADV_HUGEPAGE);
	memset(a + 11 * PMD_SIZE, 1, PMD_SIZE / 2);
	(void)sink;
	if (fork() == 0) {	/* shares every page written so far */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	for (size_t i = 0; i < N; i += 8)	/* 9: a quarter made private again */
		a[9 * PMD_SIZE + i * PAGE] = 2;
	memset(a + 12 * PMD_SIZE, 1, PMD_SIZE);	/* 12: after the fork */
}

/* A THP split to PTEs by an mprotect of part of it, then mapped whole again. */
static void layout_pte_mapped_thp(char *a, char *odd)
{
	(void)odd;
	collapse(a);
	if (madvise(a, PMD_SIZE, MADV_NOHUGEPAGE) ||	/* khugepaged: leave it be */
	    mprotect(a + 16 * PAGE, 16 * PAGE, PROT_READ) ||
	    mprotect(a + 16 * PAGE, 16 * PAGE, PROT_READ | PROT_WRITE))
		_exit(4);
}

static void audit(pid_t pid, bool scan, struct mthp_audit_proc *p)
{
	live_audit_with(pid, scan, p);
}

/* The counters of the VMAs inside [addr, addr + RANGES PMD ranges). */
static struct mthp_audit_counts counts_of(const struct mthp_audit_proc *p, uint64_t addr)
{
	struct mthp_audit_counts sum = { 0 };

	for (size_t i = 0; i < p->nr_vmas; i++)
		if (p->vmas[i].start >= addr && p->vmas[i].end <= addr + RANGES * PMD_SIZE)
			mthp_audit_counts_add(&sum, &p->vmas[i].c);
	return sum;
}

static void test_both_paths_agree_on_a_mixed_process(void **state)
{
	struct mthp_audit_proc fast;
	struct mthp_audit_counts c;
	uint64_t addr, thp = 0;
	pid_t pid;

	(void)state;
	if (LIVE_SANITIZED)
		skip();
	pid = start_child(layout_mixed, &addr);
	live_paths_agree(pid);
	audit(pid, true, &fast);

	/* What was compared holds every kind of page the layout made. */
	c = counts_of(&fast, addr);
	assert_true(c.pmd_mapped >= 4 * N);		/* 0, 2, 3, 10 (12 may be one) */
	assert_true(c.pte_partial >= N - 1);		/* 1 */
	assert_true(c.shared >= 4 * N + N / 2 - N / 8);	/* 0, 2, 3, 10 and 9 */
	assert_true(c.anon > c.pmd_mapped + N);		/* 4K pages besides */
	if (live_read_maps_zero_page())
		assert_true(c.zero >= 64);		/* 6, 7 */
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
		thp += c.pte_aligned[o] + c.pte_unaligned[o];
	print_message("mTHP pages (PTE-mapped, whole folios) compared: %llu\n",
		      (unsigned long long)thp);
	mthp_audit_proc_free(&fast);
	live_kid_reap(pid);
}

static void test_pte_mapped_thp_tells_the_paths_apart(void **state)
{
	struct mthp_audit_proc fast, plain;
	const struct mthp_audit_vma *f, *p;
	uint64_t addr;
	pid_t pid;

	(void)state;
	if (LIVE_SANITIZED)
		skip();
	pid = start_child(layout_pte_mapped_thp, &addr);
	audit(pid, true, &fast);
	audit(pid, false, &plain);
	f = live_audit_vma(&fast, addr);
	p = live_audit_vma(&plain, addr);
	/* PAGEMAP_SCAN knows the PMD is a table of PTEs ... */
	assert_int_equal(f->c.pmd_mapped, 0);
	assert_int_equal(f->c.pte_aligned[9], N);
	/* ... plain reads see a whole aligned folio and take it for PMD-mapped */
	assert_int_equal(p->c.pmd_mapped, N);
	assert_int_equal(p->c.pte_aligned[9], 0);
	assert_int_equal(f->c.anon, p->c.anon);
	mthp_audit_proc_free(&fast);
	mthp_audit_proc_free(&plain);
	live_kid_reap(pid);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_paths_agree_on_a_mixed_process),
		cmocka_unit_test(test_pte_mapped_thp_tells_the_paths_apart),
	};

	return live_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
			      live_test_requirements(false));
}
