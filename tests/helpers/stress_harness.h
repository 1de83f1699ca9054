/* SPDX-License-Identifier: MIT */
/*
 * stress_harness.h - the one stress harness of the simulator: mutator
 * threads on one mm, each owning a slice of STRESS_SLICE_PMDS PMD ranges
 * and keeping a model of its pages' content tags, beside khugepaged and
 * the rmap walker (sim_rmap_walker_start()) in threads of their own, with
 * fault injection at every step of the collapse when
 * asked.  Every pause_ms the mutators park, khugepaged stops, sim_check()
 * runs and every page of every slice is verified; then all resume.  The
 * stress program (tests/stress.c) and the short cmocka stress tests are
 * configurations of it.
 */
#ifndef MTHP_TEST_STRESS_HARNESS_H
#define MTHP_TEST_STRESS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <mthp/sched.h>
#include <mthp/sim.h>

#define STRESS_MAX_THREADS 32u
#define STRESS_SLICE_PMDS 4u

struct stress_config {
	double seconds;
	unsigned nr_threads;		/* mutators, 1 to STRESS_MAX_THREADS */
	uint64_t seed;			/* every random choice follows from it */
	enum mthp_policy policy;	/* khugepaged's */
	bool khugepaged;		/* run khugepaged in its own thread */
	bool inject;			/* fault injection and injected races */
	bool rmap_walker;		/* the rmap aging walker in its own thread */
	bool gup_walker;		/* the GUP-fast walker in its own thread */
	unsigned pause_ms;		/* between full checks */
	/*
	 * Memory pressure: the mm in a memory cgroup of half the pages the
	 * slices map, so that writes and swap-ins past its limit reclaim
	 * (page out to swap) while everything else runs; an access that
	 * still finds no memory (-ENOMEM) is counted, not a failure.
	 */
	bool pressure;
	/*
	 * Deterministic schedules (det): every thread a coroutine of one OS
	 * thread, scheduled by mthp/sched.h; one schedule for each seed from
	 * seed to seed + schedules - 1, each a fresh simulator whose
	 * mutators do ops operations in all, checked at its end.  seconds
	 * and pause_ms are not used; the run stops at the first failure.
	 */
	bool det;
	uint64_t schedules;
	unsigned ops;
	enum sim_sched_strategy strategy;
	unsigned pct_depth;
	bool atomic_points;		/* sim_sched_config's: lockless steps are points */
	const struct sim_sched_preempt *replay;	/* SIM_SCHED_REPLAY's */
	size_t nr_replay;
	const char *program;		/* in the replay command; NULL: "stress" */
	unsigned timeline;		/* lines of the timeline printed with a failure */
	/* tests of the failure report: mutator 0's n-th operation fails; 0: none */
	unsigned plant_failure;
};

struct stress_totals {
	uint64_t ops;			/* mutator operations */
	uint64_t lost;			/* pages read back with a wrong tag */
	uint64_t errors;		/* operations that failed unexpectedly */
	uint64_t checks;		/* full checks run */
	uint64_t check_failures;	/* sim_check() failures, frames not freed */
	uint64_t full_scans;		/* khugepaged's */
	uint64_t collapses;		/* by khugepaged and MADV_COLLAPSE */
	uint64_t paged_out;		/* pages reclaim's swap-out freed */
	uint64_t no_memory;		/* accesses that found no memory (pressure) */
	double failed_at;		/* seconds in when a failure was first seen; 0: none */
	char why[300];			/* the first failure, or "" */
	/* deterministic runs */
	uint64_t schedules;		/* run */
	uint64_t failed_seed;		/* the failing schedule's, when one failed */
	uint64_t steps, switches, preemptions;
	unsigned class_pairs, site_pairs;	/* lock pairs seen interleaved */
	double seconds;			/* wall time of the schedules */
};

/* A deterministic run's defaults: PCT of depth 3, 100 operations. */
#define STRESS_DET_OPS 100u
#define STRESS_DET_PCT 3u
#define STRESS_DET_TIMELINE 60u
/* A deterministic schedule's slices are one PMD range (and khugepaged scans
 * 512 PTEs a wake-up), so that a schedule is short. */
#define STRESS_DET_SLICE_PMDS 1u

/*
 * The schedule's steps and its decisions that differed from the default
 * (sim_sched_decisions()), written to fd as the steps, the count and the
 * array: for --shrink's children.  When stress_decisions_fd is not -1,
 * the crash report writes them there too.  Uses write(2) only.
 */
extern int stress_decisions_fd;
void stress_send_decisions(int fd, uint64_t steps);

/* The command that replays the schedule of seed with cfg (malloc'd). */
char *stress_replay_command(const struct stress_config *cfg, uint64_t seed);

/*
 * Everything on: 4 mutators, khugepaged (policy upstream), the rmap
 * walker and fault injection, for seconds, from seed: the stress
 * program's defaults.
 */
#define STRESS_CONFIG_ALL(secs, seed_) {					\
	.seconds = (secs), .nr_threads = 4, .seed = (seed_),			\
	.policy = MTHP_POLICY_UPSTREAM, .khugepaged = true, .inject = true,	\
	.rmap_walker = true, .gup_walker = true,				\
}

/* Milliseconds between full checks when the config says 0. */
#define STRESS_PAUSE_MS 500

/*
 * Run the configuration; fills totals and, when report is not NULL, prints
 * what was done (operations, collapses by order, failures by result,
 * injected faults, checks, lost pages).  0, or -EINVAL for a bad config,
 * -ENOMEM or the simulator's -errno when it cannot be set up.
 */
int stress_run(const struct stress_config *cfg, struct stress_totals *totals, FILE *report);

/* MTHP_STRESS_SECONDS from the environment, or dflt (the short cmocka runs). */
double stress_seconds_from_env(double dflt);

/*
 * On SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT, print what the crashing
 * thread was doing (its operation, or the simulator's step through
 * sim_thread_doing()) and what every mutator was doing, then let the
 * previous handler run.  For the stress program.
 */
void stress_install_crash_handler(void);

/* True when the run lost no page, no operation failed and every check was clean. */
bool stress_ok(const struct stress_totals *totals);

#endif /* MTHP_TEST_STRESS_HARNESS_H */
