/* SPDX-License-Identifier: MIT */
/*
 * mthp/scenario.h - workload scenarios for `mthp sim` (INI, read with
 * libinih; the format is docs/scenarios.md).  The reader checks everything
 * before anything runs and reports "FILE:LINE: what is wrong".  Functions
 * return 0 or -errno and never set errno.
 */
#ifndef MTHP_SCENARIO_H
#define MTHP_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mthp/engine.h>
#include <mthp/result.h>
#include <mthp/settings.h>
#include <mthp/sim.h>
#include <mthp/snapshot.h>

#define MTHP_SCENARIO_NAME_MAX 32
#define MTHP_SCENARIO_MAX_PAGE_RANGES 64
#define MTHP_SCENARIO_MAX_SIZES 8

enum mthp_scenario_action {
	MTHP_ACT_FILL,
	MTHP_ACT_RANDOM,
	MTHP_ACT_CLUSTER,
	MTHP_ACT_READ,
	MTHP_ACT_HOT,
	MTHP_ACT_HEAP,
	MTHP_ACT_FORK,
	MTHP_ACT_PAGEOUT,
	MTHP_ACT_FREE,
	MTHP_ACT_DONTNEED,
	MTHP_ACT_ADVISE,
	MTHP_ACT_SLEEP,
	MTHP_ACT_CHILD_EXIT,		/* the child of an earlier fork exits */
	MTHP_ACT_SHRINK,		/* the shrinkers run (drop_caches=2) */
};
#define MTHP_NR_ACTIONS (MTHP_ACT_SHRINK + 1)

/* Whether a phase of this action works on a VMA (all but sleep, child_exit, shrink). */
static inline bool mthp_scenario_action_has_vma(enum mthp_scenario_action a)
{
	return a != MTHP_ACT_SLEEP && a != MTHP_ACT_CHILD_EXIT && a != MTHP_ACT_SHRINK;
}

const char *mthp_scenario_action_name(enum mthp_scenario_action a);

struct mthp_scenario_process {
	char name[MTHP_SCENARIO_NAME_MAX];
	uint64_t memcg_limit;		/* bytes; 0: no limit */
	unsigned line;
};

struct mthp_scenario_vma {
	char name[MTHP_SCENARIO_NAME_MAX];
	size_t process;			/* index into processes */
	uint64_t size;			/* bytes */
	uint64_t align;			/* bytes, a power of two */
	uint64_t pmd_offset;		/* bytes past a PMD boundary (align is then
					 * the PMD size) */
	bool has_pmd_offset;		/* pmd_offset given */
	uint32_t flags;			/* MTHP_VMA_HUGEPAGE | NOHUGEPAGE | UFFD */
	unsigned line;
};

struct mthp_scenario_size_weight {
	uint64_t size;			/* bytes */
	uint32_t weight;
};

struct mthp_scenario_phase {
	char label[MTHP_SCENARIO_NAME_MAX];
	size_t process;
	size_t vma;			/* index into vmas; unused for sleep */
	enum mthp_scenario_action action;
	uint64_t duration_ns;
	uint64_t offset;		/* bytes into the VMA */
	uint64_t length;		/* bytes; 0: to the end of the VMA */
	double density;			/* random, read, pageout, free, dontneed */
	uint32_t runs, run_pages;	/* cluster; pageout, free, dontneed by runs */
	bool by_runs;			/* pageout, free, dontneed: runs, not density */
	bool aligned;			/* runs start at a multiple of run_pages */
	double hot;			/* hot */
	struct mthp_scenario_size_weight sizes[MTHP_SCENARIO_MAX_SIZES]; /* heap */
	unsigned nr_sizes;
	double live, churn;		/* heap */
	double child_writes;		/* fork */
	bool child_lives;		/* fork: the child outlives the phase, until a
					 * child_exit phase or the end of the run */
	/* random, read, fork (the child's writes), pageout, free, dontneed:
	 * exact pages of the phase's range, in place of density, child_writes
	 * or runs; increasing, not overlapping */
	struct mthp_scenario_page_range {
		uint64_t first, last;	/* page numbers from the range's start */
	} pages[MTHP_SCENARIO_MAX_PAGE_RANGES];
	unsigned nr_pages;		/* ranges in pages[]; 0: not given */
	uint32_t advice;		/* advise: MTHP_VMA_HUGEPAGE or NOHUGEPAGE */
	unsigned line;
};

struct mthp_scenario {
	char *file;
	/* [machine] */
	uint64_t memory;		/* bytes */
	uint32_t page_size;
	uint64_t swap;			/* bytes */
	enum sim_swap_device swap_device;
	double fragmentation;		/* 0..1 */
	uint32_t tlb_profiles;		/* bit (1 << enum mthp_tlb_profile); 0: all
					 * that fit the page size */
	int mmu;			/* the machine's MMU, an enum mthp_tlb_profile;
					 * -1: not said (the geometry's default) */
	unsigned mmu_line;
	bool read_fault_alloc;
	uint64_t seed;
	/* [settings], in file order */
	struct mthp_snapshot_setting *settings;
	size_t nr_settings;
	struct mthp_scenario_process *processes;
	size_t nr_processes;
	struct mthp_scenario_vma *vmas;
	size_t nr_vmas;
	struct mthp_scenario_phase *phases;	/* file order */
	size_t nr_phases;
};

int mthp_scenario_read(struct mthp_scenario *sc, const char *path,
		       struct mthp_diag *diag);
int mthp_scenario_read_mem(struct mthp_scenario *sc, const char *buf, size_t len,
			   const char *name, struct mthp_diag *diag);
void mthp_scenario_free(struct mthp_scenario *sc);
/*
 * A size as scenarios and options write it: digits, then K, M, G or T
 * (powers of 1024, either case), optionally B.  false when it is not one.
 */
bool mthp_parse_size(const char *text, uint64_t *bytes);

/* The geometry of the machine and the settings of the scenario applied. */
int mthp_scenario_settings(const struct mthp_scenario *sc, struct mthp_settings *s,
			   struct mthp_diag *diag);

/* ---- running a scenario (run.c) ---- */

#define MTHP_RUN_NO_COLLAPSE (-1)	/* policy: khugepaged off, the baseline */
#define MTHP_RUN_PLUGIN (-2)		/* policy: the plug-in of mthp_run_use_plugin() */
/* The policies runs can compare: every built-in one and a plug-in. */
#define MTHP_RUN_MAX_POLICIES (MTHP_NR_POLICIES + 1)

struct mthp_policy_plugin;
/*
 * The policy plug-in that runs of policy MTHP_RUN_PLUGIN use, over its
 * built-in fallback (scenario runs, replays and sweeps alike; the other
 * runs use none); NULL: none.  Set it before any run.
 */
void mthp_run_use_plugin(const struct mthp_policy_plugin *p, enum mthp_policy fallback);
/* A run's name: "no collapse", a built-in policy's name, or the plug-in's. */
const char *mthp_run_name(int policy);
/*
 * What a run of policy needs of the simulator: khugepaged's policy (the
 * plug-in's fallback for MTHP_RUN_PLUGIN) and the plug-in (NULL for the
 * built-in policies).  False for MTHP_RUN_NO_COLLAPSE.
 */
bool mthp_run_policy(int policy, enum mthp_policy *builtin,
		     const struct mthp_policy_plugin **plugin);

struct mthp_run_opts {
	int policy;			/* enum mthp_policy, or MTHP_RUN_NO_COLLAPSE */
	FILE *trace;			/* tracepoint lines, or NULL */
	uint32_t trace_events;		/* which (sim_set_trace_events()); 0: all */
	/*
	 * > 0: sample resident memory and the TLB entries of this profile
	 * (enum mthp_tlb_profile + 1) over simulated time, into the report's
	 * timeline, at most MTHP_RUN_MAX_SAMPLES times; 0: no timeline.
	 */
	int timeline_profile;
	/* called now and then with the share of simulated time done, 0..1 */
	void (*progress)(void *ctx, double done);
	void *progress_ctx;
};

/* Why a write of the workload failed (the page stays unwritten). */
enum mthp_write_fail {
	MTHP_WRITE_FAIL_MEMORY,		/* the machine's memory was full */
	MTHP_WRITE_FAIL_MEMCG,		/* the process's memory cgroup was at its limit */
	MTHP_NR_WRITE_FAILS,
};

const char *mthp_write_fail_name(enum mthp_write_fail f);

#define MTHP_RUN_MAX_SAMPLES 400

/* One point of a run's timeline. */
struct mthp_run_sample {
	uint64_t ns;			/* simulated time */
	uint64_t resident_pages;
	uint64_t tlb_entries;
};

/* What one run of a scenario did. */
struct mthp_run_report {
	int policy;
	uint64_t sim_ns;			/* simulated time */
	uint64_t wakeups;			/* khugepaged wake-ups */
	uint64_t collapses_by_order[MTHP_MAX_PMD_ORDER + 1];
	uint64_t failed_by_result[MTHP_NR_RESULTS];	/* attempts that failed */
	uint64_t scan_results[MTHP_NR_RESULTS];	/* per PMD range scanned */
	/* of the SCAN_SUCCEED ranges: collapsed, every attempt failed, none
	 * passed its test (enum sim_walk_outcome) */
	uint64_t walk_outcomes[3];
	uint64_t recollapses;		/* collapses into a larger folio of an earlier
					 * collapse's pages: the creep signal */
	uint64_t crept;			/* of the recollapses, those whose window held
					 * more pages the workload never wrote than
					 * max_none of the order: fills counted */
	uint64_t rebuilds;		/* collapses of an earlier collapse's window
					 * again at the same order (no folio veto) */
	/* folios allocated for collapses, counted where Linux 7.2 counts
	 * collapse_alloc (every size); and of them, those no collapse kept */
	uint64_t collapse_allocs;
	uint64_t collapse_allocs_dropped;
	uint64_t pages_filled;		/* none/zero PTEs collapses filled */
	uint64_t pages_copied;		/* pages collapses copied */
	uint64_t ptes_scanned;
	uint64_t pages_written;		/* distinct pages the workload wrote */
	/* writes the machine could not take: a workload cut short */
	uint64_t writes_failed[MTHP_NR_WRITE_FAILS];
	uint64_t resident_pages;	/* at the end, over every process */
	/* the underused-THP shrinker: folios it split, zero-filled pages it freed */
	uint64_t shrink_splits;
	uint64_t shrink_freed;
	/* what it would split and free under pressure at the end (sim_shrink_preview()) */
	uint64_t underused_thps;
	uint64_t underused_pages;
	/* pages direct reclaim's swap-out freed, when memory was short */
	uint64_t reclaim_paged_out;
	/* partially mapped folios at the end, and their pages no PTE maps */
	uint64_t partial_folios;
	uint64_t partial_unmapped;
	struct mthp_run_sample *timeline;	/* opts->timeline_profile: in time order */
	size_t nr_samples;
	struct mthp_snapshot final;	/* every process at the end, one snapshot */
	/* the kernel's counters at the end (sim_stats()), in its order */
	struct sim_stat *stats;
	size_t nr_stats;
};

/*
 * Run the scenario once under settings s (the scenario's, with any
 * overrides) and the given policy: the machine, the processes and their
 * phases in simulated time, khugepaged waking every scan_sleep_millisecs.
 * Deterministic: the same scenario, settings and seed give the same
 * report.  On error diag->msg says what failed.  Free the report with
 * mthp_run_report_free().
 */
int mthp_scenario_run(const struct mthp_scenario *sc, const struct mthp_settings *s,
		      uint64_t seed, const struct mthp_run_opts *opts,
		      struct mthp_run_report *out, struct mthp_diag *diag);
void mthp_run_report_free(struct mthp_run_report *r);

/*
 * A counter of the run's stats by group ("vmstat", "khugepaged",
 * "hugepages-64kB": sim_stat_group()) and kernel name: 0 with the value in
 * *value, or -ENOENT (*value untouched) when the run has no such counter,
 * a name the simulator does not keep or one of another group.
 */
__attribute__((warn_unused_result))
int mthp_run_stat(const struct mthp_run_report *r, const char *group, const char *name,
		  uint64_t *value);

/*
 * Where every run maps each VMA of the scenario: addr[v] is the start of
 * sc->vmas[v] (addr has sc->nr_vmas entries).  The same for every run,
 * policy and seed.
 */
void mthp_scenario_vma_addresses(const struct mthp_scenario *sc, uint64_t *addr);
/*
 * The first VMA (its index) that does not fit in its process's 1 TiB of
 * address space as mthp_scenario_vma_addresses() places them (each
 * aligned, a guard gap of its alignment after it), or sc->nr_vmas when
 * all fit.  Needs each VMA's alignment set.
 */
size_t mthp_scenario_vma_misfit(const struct mthp_scenario *sc);

#endif /* MTHP_SCENARIO_H */
