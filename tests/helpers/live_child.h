/* SPDX-License-Identifier: MIT */
/*
 * live_child.h - what the live tests share: child processes that are
 * killed and reaped in the teardown (also when a case fails), a child
 * with a known layout in its own 3-PMD VMA, the `mthp` command run into
 * buffers, the kpageflags of one page, audits and snapshots of a child,
 * and the check that PAGEMAP_SCAN and plain pagemap reads agree on one.
 */
#ifndef MTHP_TEST_LIVE_CHILD_H
#define MTHP_TEST_LIVE_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#include <mthp/live.h>
#include <mthp/snapshot.h>

#define LIVE_PMD_SIZE (2ul << 20)
#define LIVE_PAGE 4096ul

/* madvise() advice that older C libraries do not name */
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/* ---- children, killed and reaped by live_kids_teardown ---- */

/* fork(); the child dies with the test (PR_SET_PDEATHSIG).  As fork(). */
pid_t live_kid_fork(void);

/* Kill pid (and its process group when it leads one) and reap it. */
void live_kid_reap(pid_t pid);

/* Forget pid: the case reaped it itself. */
void live_kid_forget(pid_t pid);

/* A cmocka teardown: every child still registered is reaped. */
int live_kids_teardown(void **state);

struct CMUnitTest;

/*
 * The main() of a live test program: unmet (a requirements check's result)
 * when not 0; else the n cases run, each without a teardown of its own
 * given live_kids_teardown; 1 when a case failed, else 0.
 */
int live_tests_run(struct CMUnitTest *tests, size_t n, int unmet);

/* ---- a child with a known layout ---- */

/* Lays out the 3 PMD ranges at a, in the child. */
typedef void (*live_layout_fn)(char *a);

struct live_child {
	pid_t pid;
	uint64_t addr;		/* PMD-aligned start of its 3 PMD ranges */
};

/*
 * Fork a child that maps 3 PMD ranges as a VMA of their own, lays them out,
 * reports the address and sleeps; it leads its own process group, so that
 * live_child_stop() also kills the processes it forked.
 */
struct live_child live_child_start(live_layout_fn layout);

void live_child_stop(struct live_child *c);

/* ---- the command and the kernel's view ---- */

/* Run `mthp ARGS...` (NULL-terminated) into out and err; its exit status. */
int live_run(char *out, size_t outlen, char *err, size_t errlen, ...);

/* The kpageflags of the page at addr in pid (0 when not present). */
uint64_t live_page_flags(pid_t pid, uint64_t addr);

/* The audited VMA of p that holds addr (fails the case when none does). */
const struct mthp_audit_vma *live_audit_vma(const struct mthp_audit_proc *p, uint64_t addr);

/* ---- what the tools see of a child (each read fails the case with its message) ---- */

/* Its audit, the audited VMA that holds its 3 PMD ranges, and its snapshot. */
struct live_view {
	uint64_t addr;			/* the child's */
	struct mthp_audit_proc audit;
	const struct mthp_audit_vma *vma;
	struct mthp_snapshot snap;
};

/* Audit (with the ranges when asked) and snapshot the child. */
void live_view_of(const struct live_child *c, bool ranges, struct live_view *v);

void live_view_free(struct live_view *v);

/* The snapshot's pmd line of the child's range i (0 to 2), or NULL. */
const struct mthp_snapshot_pmd *live_view_pmd(const struct live_view *v, unsigned i);

/* The first len PTEs of the child's range i as a C string (buf holds len + 1). */
void live_view_ptes(const struct live_view *v, unsigned i, char *buf, size_t len);

/* ---- the two ways of reading page tables (mthp_live_set_pagemap_scan) ---- */

/*
 * Built with AddressSanitizer or ThreadSanitizer: a forked child carries
 * the sanitizer's terabytes of reserved anonymous memory, and plain reads
 * read every PMD range of it, for hours.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LIVE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LIVE_SANITIZED 1
#endif
#endif
#ifndef LIVE_SANITIZED
#define LIVE_SANITIZED 0
#endif

/* Audit pid (with its ranges) with PAGEMAP_SCAN (scan) or plain reads. */
void live_audit_with(pid_t pid, bool scan, struct mthp_audit_proc *p);

/*
 * Both ways give pid the same audit (every VMA's counters and ranges) and
 * the same snapshot text; fails the case otherwise.  Under a sanitizer
 * (LIVE_SANITIZED) it says it did not compare, and returns.
 */
void live_paths_agree(pid_t pid);

#endif /* MTHP_TEST_LIVE_CHILD_H */
