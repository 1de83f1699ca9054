/* SPDX-License-Identifier: MIT */
/*
 * rec_child.h - what the recording tests share: a child that steps
 * through a program of the test's (one step per command, in a region of
 * 4 PMD ranges of its own, never THP), its steps recorded frame by frame
 * and checked, and the no-collapse replay that must be frame-exact.
 */
#ifndef MTHP_TEST_REC_CHILD_H
#define MTHP_TEST_REC_CHILD_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <mthp/snapshot.h>

#define REC_PMD (2ul << 20)
#define REC_PAGE 4096ul

/* In the child: step k of the program on its region at a. */
typedef void (*rec_step_fn)(char *a, int k);

/* The stepping child: its region, and the two pipes. */
struct stepper {
	pid_t pid;
	uint64_t addr;
	int cmd, ack;
};

/* Fork the child (killed with the case, live_child.h). */
struct stepper stepper_start(rec_step_fn step);
/* Run step k in the child and wait until it is done. */
void stepper_step(struct stepper *s, int k);
void stepper_stop(struct stepper *s);

/* PTEs of the region [addr, addr + 4 PMDs) in state c ('*': any but none). */
unsigned rec_count_in(const struct mthp_snapshot *snap, uint64_t addr, char c);

/*
 * The PTE states of the region's PMD ranges, a line each: the part of a
 * snapshot the child alone changes (the rest of its memory is shared
 * with the test, whose writes unshare it at any time).  The caller frees it.
 */
char *rec_region_text(const struct mthp_snapshot *snap, uint64_t addr);

/* The VMAs of a snapshot, a line each: bounds and flags.  The caller frees it. */
char *rec_vmas_text(const struct mthp_snapshot *snap);

/*
 * Steps 0 .. n-1, a live snapshot after each, taken as mthp record takes
 * it (mthp_live_snapshot_frame()), its region and VMAs the same as a fresh
 * snapshot's, written as a frame; check(snap, addr, k) on each, then on
 * each frame read back, which must equal the snapshot.  The recording in *buf (*len bytes; the caller frees it).
 */
void rec_steps(struct stepper *s, int n,
	       void (*check)(const struct mthp_snapshot *snap, uint64_t addr, int k),
	       char **buf, size_t *len);

/*
 * Replay the recording in f with no collapse: every frame as recorded.
 * The moves the replay found (mremap).
 */
uint64_t rec_replay_exactly(FILE *f, unsigned frames);
/* The same of the recording rec_steps() left in buf, which it frees. */
uint64_t rec_replay_buffer(char *buf, size_t len, unsigned frames);

#endif
