/* SPDX-License-Identifier: MIT */
/*
 * sim_report.h - the reports of `mthp sim` runs: the text table with its
 * notes, and the "mthp-sim 1" JSON document (one object per run).
 */
#ifndef MTHP_REPORT_SIM_H
#define MTHP_REPORT_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <mthp/scenario.h>
#include <mthp/tlb.h>

/* no collapse and every policy */
#define MTHP_SIM_MAX_RUNS (1 + MTHP_RUN_MAX_POLICIES)

/* The TLB profiles to report (bits): the scenario's that fit its page size. */
uint32_t mthp_sim_profiles(const struct mthp_scenario *sc, const struct mthp_geometry *geo);
/*
 * The TLB profile a picture of the runs counts in: the simulated machine's
 * MMU (machine, an enum mthp_tlb_profile, or -1 when not said) when it is
 * one of profiles (bits), else the first of them; -1 when there is none.
 */
int mthp_plot_profile(uint32_t profiles, int machine);
/* The run's TLB entries under profile p; 0 when p does not fit. */
uint64_t mthp_sim_tlb_total(const struct mthp_run_report *r, enum mthp_tlb_profile p);
/* Writes the workload could not make, all reasons. */
uint64_t mthp_sim_writes_failed(const struct mthp_run_report *r);

/*
 * The table's rows from "collapses" on, one column per run, the TLB
 * entries of the profiles given (bits); replay: a replay's runs, without
 * the rows a recording cannot give (crept, pages written, writes failed).
 */
void mthp_sim_rows(FILE *out, const struct mthp_geometry *geo, uint32_t profiles,
		   const struct mthp_run_report *runs, size_t n, bool replay);
/* The table, one column per run (n <= MTHP_SIM_MAX_RUNS), and its notes. */
void mthp_sim_text(FILE *out, const struct mthp_scenario *sc, uint64_t seed,
		   const struct mthp_settings *s, const struct mthp_run_report *runs, size_t n);
/* One run as JSON, its TLB entries for the profiles given; NULL: no memory. */
json_t *mthp_sim_run_json(const struct mthp_run_report *r, uint32_t profiles,
			  const struct mthp_geometry *geo);
/* Each run as JSON, a list; with stats, each run's "stats".  NULL: no memory. */
json_t *mthp_sim_runs_json(const struct mthp_run_report *runs, size_t n, uint32_t profiles,
			   const struct mthp_geometry *geo, bool stats);
/*
 * The whole document; with stats, each run's kernel counters as "stats":
 * {"vmstat": {...}, "khugepaged": {...}, "hugepages-64kB": {...}, ...}.
 * 0, -ENOMEM or -EIO.
 */
int mthp_sim_json(FILE *out, const struct mthp_scenario *sc, uint64_t seed,
		  const struct mthp_settings *s, const struct mthp_run_report *runs, size_t n,
		  bool stats);
/*
 * --stats in text: for each run a line "# RUN" and one line per counter,
 * "WHERE NAME VALUE" (WHERE as sim_stat_where() writes it).
 */
void mthp_sim_stats_text(FILE *out, const struct mthp_run_report *runs, size_t n);

/*
 * timeline_plot.c: resident memory and TLB entries (profile) over
 * simulated time, one line per run (their timelines); .svg or .png.
 */
int mthp_timeline_plot(const char *path, const char *title, const char *profile,
		       const struct mthp_run_report *runs, size_t n, uint32_t page_size,
		       char *err, size_t errlen);

#endif
