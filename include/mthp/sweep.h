/* SPDX-License-Identifier: MIT */
/*
 * mthp/sweep.h - the answer to "which settings should I run?": a scenario
 * run over a grid of THP knob values under each policy, the trade-off
 * between memory and TLB entries of every run, its Pareto front, and a
 * recommendation in words.
 *
 * The grid is every combination of the swept values (the first axis
 * varies slowest).  The source is a scenario or a snapshot.  A scenario:
 * each combination is run with khugepaged off ("no collapse": fault-time
 * settings such as hugepages-64kB/enabled matter there too) and under
 * each policy asked for; one more run, the baseline, is the scenario as
 * written (its [settings] and --set overrides) with khugepaged off.  Every
 * run uses the same seed.  A snapshot: each combination under each policy
 * is khugepaged's passes over the snapshot until a pass changes nothing
 * (mthp/passes.h); the baseline is the snapshot as it is.  A run's memory
 * is its resident pages at the end (zero-page PTEs do not count); its TLB
 * entries those of one profile (see mthp/tlb.h).  Both are given as
 * changes from the baseline.  The profile is the machine's: the runs see
 * its contiguous-PTE order (settings.geo.cont_order, which policy guarded
 * reads).
 *
 * The front: a run is on it when no other run needs no more memory and no
 * more TLB entries, and less of one of them.  The recommendation is the
 * run of the front with the fewest TLB entries whose memory increase is
 * within the budget (ties: less memory, then the earlier run), followed by
 * the front's fewest-TLB run when that one is another.
 *
 * Runs go to threads; results are stored by run index, so the output is
 * the same whatever the number of threads.  Functions return 0 or -errno
 * and never set errno; on error diag->msg says what failed.
 */
#ifndef MTHP_SWEEP_H
#define MTHP_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mthp/replay.h>
#include <mthp/scenario.h>
#include <mthp/tlb.h>

#define MTHP_SWEEP_MAX_AXES 6
#define MTHP_SWEEP_MAX_VALUES 16
#define MTHP_SWEEP_MAX_COMBOS 4096
#define MTHP_SWEEP_KNOB_MAX 64
#define MTHP_SWEEP_VALUE_MAX 24

/* One swept knob and its values, in the order given. */
struct mthp_sweep_axis {
	char knob[MTHP_SWEEP_KNOB_MAX];
	char values[MTHP_SWEEP_MAX_VALUES][MTHP_SWEEP_VALUE_MAX];
	unsigned nr_values;
};

/*
 * Parse "KNOB=V1,V2,..." and check every value against the settings s
 * (a knob unknown to s, a value out of range, or a repeated value is an
 * error naming it).  s is not changed.
 */
int mthp_sweep_axis_parse(struct mthp_sweep_axis *axis, const char *arg,
			  const struct mthp_settings *s, struct mthp_diag *diag);

/*
 * The first nr axes sweep distinct knobs: 0, or -EINVAL naming the knob
 * given twice.
 */
int mthp_sweep_axes_distinct(const struct mthp_sweep_axis *axes, unsigned nr,
			     struct mthp_diag *diag);
/*
 * The grid of the first nr axes: its number of combinations of settings
 * in *combos, or -E2BIG (more axes than MTHP_SWEEP_MAX_AXES, more
 * combinations than MTHP_SWEEP_MAX_COMBOS) or -EINVAL (a knob twice),
 * saying which.  mthp_sweep_run() checks the same.
 */
int mthp_sweep_grid_size(const struct mthp_sweep_axis *axes, unsigned nr, unsigned *combos,
			 struct mthp_diag *diag);

/* One run of the grid. */
struct mthp_sweep_run {
	unsigned combo;			/* index into the grid */
	int policy;			/* enum mthp_policy or MTHP_RUN_NO_COLLAPSE */
	struct mthp_run_report report;	/* its final snapshot is freed */
	uint64_t tlb_entries;		/* under the sweep's profile */
	double memory_change;		/* resident / baseline's - 1 */
	double tlb_change;		/* entries / baseline's - 1 */
	bool on_front;
};

struct mthp_sweep {
	/* what to run: set by the caller */
	const struct mthp_scenario *scenario;	/* the source: a scenario, */
	const struct mthp_snapshot *snapshot;	/* or a snapshot, */
	const char *recording;		/* or a recording's path (mthp/replay.h) */
	struct mthp_replay_size replay_size;	/* recording: its machine (zero: its own) */
	const char *source;		/* its name in reports */
	enum mthp_context context;	/* snapshot: khugepaged or madvise */
	unsigned max_passes;		/* snapshot: at most this many passes (0: 64) */
	struct mthp_settings settings;	/* the source's, with overrides */
	struct mthp_sweep_axis axes[MTHP_SWEEP_MAX_AXES];
	unsigned nr_axes;
	int policies[MTHP_RUN_MAX_POLICIES];	/* enum mthp_policy, or MTHP_RUN_PLUGIN */
	unsigned nr_policies;
	enum mthp_tlb_profile profile;	/* judged, and the machine's MMU */
	uint64_t seed;
	unsigned threads;		/* 0: one per online CPU */
	/* what came out: set by mthp_sweep_run() */
	struct mthp_run_report baseline;	/* its final snapshot is freed */
	uint64_t baseline_tlb;
	unsigned nr_combos;
	struct mthp_sweep_run *runs;	/* nr_runs, combo by combo, no collapse first */
	size_t nr_runs;
};

/* Runs per combination: no collapse (scenarios only), then each policy. */
static inline unsigned mthp_sweep_runs_per_combo(const struct mthp_sweep *sw)
{
	return (sw->snapshot ? 0 : 1) + sw->nr_policies;
}

/* What the baseline is, in words: the snapshot as it is, or the run with khugepaged off. */
static inline const char *mthp_sweep_baseline_name(const struct mthp_sweep *sw)
{
	return sw->snapshot ? "the memory as it is now" :
	       sw->recording ? "the recording replayed with khugepaged off" :
	       "the scenario as written with khugepaged off";
}

/* Run the baseline and the whole grid; fills the results. */
int mthp_sweep_run(struct mthp_sweep *sw, struct mthp_diag *diag);
void mthp_sweep_free(struct mthp_sweep *sw);

/* The value of axis a in combination combo. */
const char *mthp_sweep_value(const struct mthp_sweep *sw, unsigned combo, unsigned a);

/* "khugepaged/max_ptes_none=0, hugepages-64kB/enabled=always" */
void mthp_sweep_combo_label(const struct mthp_sweep *sw, unsigned combo,
			    char *buf, size_t buflen);

/*
 * The recommendation: index into runs of the front's fewest-TLB run
 * within budget (a fraction: 0.05 for 5%), and of the front's fewest-TLB
 * run overall (-1 when no run beats the baseline on TLB entries).
 */
struct mthp_sweep_choice {
	long within_budget;
	long fewest_tlb;
};
void mthp_sweep_choose(const struct mthp_sweep *sw, double budget,
		       struct mthp_sweep_choice *choice);

/* The recommendation in plain words, one paragraph, no final newline. */
void mthp_sweep_recommendation(const struct mthp_sweep *sw, double budget,
			       char *buf, size_t buflen);

/*
 * The TLB profile of the machine this runs on: its CPU (AMD family 17h and
 * later: zen; other x86-64: x86-64; arm64 by page size).  why gets a few
 * words on how it was found.  -ENOENT when nothing fits.
 */
int mthp_tlb_host_profile(enum mthp_tlb_profile *p, char *why, size_t whylen);

#endif /* MTHP_SWEEP_H */
