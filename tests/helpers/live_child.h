/* SPDX-License-Identifier: MIT */
/*
 * live_child.h - what the live tests share: child processes that are
 * killed and reaped in the teardown (also when a case fails), a child
 * with a known layout in its own 3-PMD VMA, the `mthp` command run into
 * buffers, the kpageflags of one page, and audits and snapshots of a child.
 */
#ifndef MTHP_TEST_LIVE_CHILD_H
#define MTHP_TEST_LIVE_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LIVE_PMD_SIZE (2ul << 20)
#define LIVE_PAGE 4096ul

/* ---- children, killed and reaped by live_kids_teardown ---- */

/* fork(); the child dies with the test (PR_SET_PDEATHSIG).  As fork(). */
pid_t live_kid_fork(void);

/* Kill pid (and its process group when it leads one) and reap it. */
void live_kid_reap(pid_t pid);

/* Forget pid: the case reaped it itself. */
void live_kid_forget(pid_t pid);

/* A cmocka teardown: every child still registered is reaped. */
int live_kids_teardown(void **state);

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

/* ---- reading a child (each fails the case with the tool's message) ---- */

struct mthp_audit_proc;
struct mthp_audit_vma;
struct mthp_snapshot;
struct mthp_snapshot_pmd;

void live_snapshot_of(const struct live_child *c, struct mthp_snapshot *snap);
void live_audit_of(const struct live_child *c, bool ranges, struct mthp_audit_proc *p);

/* The audited VMA that holds addr (fails the case when none does). */
const struct mthp_audit_vma *live_audit_vma(const struct mthp_audit_proc *p, uint64_t addr);

/* The snapshot's pmd line at addr, or NULL. */
const struct mthp_snapshot_pmd *live_snap_pmd(const struct mthp_snapshot *s, uint64_t addr);

/* The first len PTEs of a table pmd line as a C string (buf holds len + 1). */
void live_pte_text(const struct mthp_snapshot_pmd *pmd, char *buf, size_t len);

#endif /* MTHP_TEST_LIVE_CHILD_H */
