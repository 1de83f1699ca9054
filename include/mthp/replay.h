/* SPDX-License-Identifier: MIT */
/*
 * mthp/replay.h - a recording (mthp/record.h) replayed in the simulator.
 *
 * The differences between frames become the program's actions: a page
 * that appears is a write fault (a read fault where it maps the zero
 * page), one that vanishes MADV_DONTNEED (munmap when its VMA went away),
 * present -> swapped a page-out, swapped -> present a swap-in fault; VMAs
 * that appear are mapped and those that go away unmapped.  Simulated time
 * follows the frames' time stamps; under a policy khugepaged wakes every
 * scan_sleep_millisecs meanwhile.  Before each frame's actions every page
 * is aged, so the pages that appeared in it are the young ones.
 *
 * After each frame the simulated process's present pages are compared
 * with the recording's: with no collapse they are the same set, frame by
 * frame; under a policy the differences are collapse fills and what
 * follows from them.  Functions return 0 or -errno and never set errno.
 */
#ifndef MTHP_REPLAY_H
#define MTHP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <mthp/scenario.h>
#include <mthp/settings.h>
#include <mthp/snapshot.h>

struct sim;
struct sim_mm;

struct mthp_replay_frame {
	uint32_t frame;
	uint64_t time_ms;
	uint64_t recorded;	/* pages mapped in the recording (zero page included) */
	uint64_t simulated;	/* the same in the simulator */
	uint64_t extra;		/* mapped in the simulator only */
	uint64_t missing;	/* mapped in the recording only */
	/* pages shown shared (S, s: another process may map them), by each */
	uint64_t shared_recorded, shared_simulated;
};

/*
 * The simulated machine's memory and swap in bytes, each used when its
 * _set is true; else the recording host's (its header), or for a
 * recording that does not say, room for the most pages the process had
 * (mthp_replay()).
 */
struct mthp_replay_size {
	uint64_t memory_bytes, swap_bytes;
	bool memory_set, swap_set;
};

struct mthp_replay_opts {
	int policy;		/* enum mthp_policy, or MTHP_RUN_NO_COLLAPSE */
	/* the settings; NULL: the recording's (its header) */
	const struct mthp_settings *settings;
	/* called after each frame; may be NULL */
	void (*frame_fn)(void *ctx, const struct mthp_replay_frame *f);
	void *ctx;
	/*
	 * > 0: the run report's timeline, resident memory and the TLB
	 * entries of this profile (enum mthp_tlb_profile + 1) after frames
	 * spread over the recording, at most MTHP_RUN_MAX_SAMPLES; 0: none.
	 */
	int timeline_profile;
	struct mthp_replay_size size;	/* the machine; zero: the recording's */
};

/* Where the replay's machine size came from. */
enum mthp_replay_machine {
	MTHP_REPLAY_MACHINE_HOST,	/* the recording host's memory and swap */
	MTHP_REPLAY_MACHINE_SET,	/* one or both set in the options */
	MTHP_REPLAY_MACHINE_PAGES,	/* the recording does not say: the process's pages */
};

/* "host", "set", "pages". */
const char *mthp_replay_machine_name(enum mthp_replay_machine m);

struct mthp_replay_report {
	int policy;
	uint32_t frames;
	uint64_t memory_pages, swap_pages;	/* the simulated machine */
	enum mthp_replay_machine machine;	/* where its size came from */
	uint64_t wakeups;			/* khugepaged's */
	uint64_t collapses;			/* windows collapsed, every size */
	uint64_t frames_differing;		/* frames with extra or missing pages */
	uint64_t max_extra, max_missing;	/* over the frames */
	/*
	 * PTEs the recorded host's collapses filled (a large folio over
	 * pages already present; replay.c's host_fill()), not replayed as
	 * the program's writes: they count among the pages fewer than recorded.
	 */
	uint64_t host_fills;
	/*
	 * Writes to pages present before and after (a recording that
	 * tracks writes), replayed as writes; 0 without tracking.
	 */
	uint64_t rewrites;
	/*
	 * VMA pieces the program moved (mremap), replayed as moves: a piece
	 * gone whose pages are at the same offsets of a piece that appeared
	 * at least as long (replay.c's moved_to()).
	 */
	uint64_t moves;
	/*
	 * Forks replayed: a child forked where a frame shows shared pages
	 * (S, s) the simulator's process did not share (replay.c's
	 * replay_sharing()).
	 */
	uint64_t forks;
	struct mthp_replay_frame last;		/* the last frame */
	/*
	 * The run as a scenario run reports it (mthp/scenario.h): collapses
	 * by order, fills, failed attempts, scan results, the kernel's
	 * counters, the shrinker's, the timeline and the process as the last
	 * frame left it (final).  No page is known never written, so crept
	 * is 0; pages_written and writes_failed are 0.
	 */
	struct mthp_run_report run;
};

/* Free what a replay report holds (its run report). */
void mthp_replay_report_free(struct mthp_replay_report *rep);

/*
 * Replay the recording in f (read twice: a first pass finds the most
 * pages the process ever had, mapped and swapped).  The machine is the
 * recording host's, less what the simulator cannot model (at most
 * SIM_MAX_FRAMES pages of memory and SIM_MAX_SWAP_SLOTS of swap), and
 * never less than room for those pages twice over and 16 PMD sizes more
 * (collapse fills), and swap for every swapped page; opts may set either
 * (-ERANGE when one is out of range: mthp_replay_check_size()).  On
 * error diag->msg names the file and the frame.
 */
int mthp_replay(FILE *f, const char *name, const struct mthp_replay_opts *opts,
		struct mthp_replay_report *out, struct mthp_diag *diag);

/*
 * Check the memory and swap that size sets (those whose _set is true)
 * against the recording in f, read once and rewound, as mthp_replay()
 * would take them for pages of geo: 0; -ERANGE when one is less than the
 * replay needs or more than the simulator models, diag->msg saying which
 * and the bound; another negative errno when f cannot be read.
 */
int mthp_replay_check_size(FILE *f, const char *name, const struct mthp_replay_size *size,
			   const struct mthp_geometry *geo, struct mthp_diag *diag);

/*
 * A snapshot (format 1 or 2) made real in a new simulator, for khugepaged
 * to work on: one process with the snapshot's anonymous private VMAs
 * (their hugepage, nohugepage and uffd flags) and every page in the state
 * its PTE letter and folio order say.  The pages shown shared are made
 * first and a child is forked that keeps them mapped; the others are
 * made after the fork: written (read for the zero page, at PMD order for
 * the huge zero page), paged out for `w`, made old with MADV_COLD for
 * `a` and `s`, pinned for `P`, given MADV_FREE for `l`.  States the
 * simulator's operations cannot make (`u`, `f`, `n`, `K`, `N`, a
 * PTE-mapped folio of an order a fault does not allocate, a large folio
 * not naturally aligned or partly mapped) are errors naming the line.
 * The machine holds every page twice over and 64 PMD sizes more, the
 * swap every swapped page and one PMD size.  Last, the simulator's own
 * snapshot of the process must equal the one loaded.  The process has no
 * khugepaged mm slot (sim_khugepaged_enter() gives it one).
 */
struct mthp_loaded {
	struct sim *sim;
	struct sim_mm *mm;		/* the process */
	struct sim_mm *sharer;		/* the child that shares its pages, or NULL */
	uint64_t memory_pages, swap_pages;	/* the simulated machine */
	uint64_t present, shared, swapped, zero, old, huge;	/* pages (huge: PMDs) */
	uint64_t vmas_left_out;		/* VMAs not anonymous private memory */
};

/* 0, or -errno with diag->msg naming the file (name) and line. */
int mthp_snapshot_load(const struct mthp_snapshot *snap, const char *name,
		       const struct mthp_settings *settings, struct mthp_loaded *out,
		       struct mthp_diag *diag);
/* Exit both processes and free the simulator. */
void mthp_loaded_free(struct mthp_loaded *out);

#endif /* MTHP_REPLAY_H */
