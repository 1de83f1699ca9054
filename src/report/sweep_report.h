/* SPDX-License-Identifier: MIT */
/*
 * sweep_report.h - a sweep (mthp/sweep.h) for people and tools: the table
 * of runs with the front marked and the recommendation (text), the whole
 * sweep as JSON ("mthp-sweep 1"), and the Pareto chart (SVG or PNG).
 */
#ifndef MTHP_REPORT_SWEEP_H
#define MTHP_REPORT_SWEEP_H

#include <stdio.h>

#include <jansson.h>

#include <mthp/sweep.h>

/* profile_why: how the TLB profile was chosen ("--tlb", "this host: ..."). */
void mthp_sweep_text(FILE *out, const struct mthp_sweep *sw, double budget,
		     const char *profile_why);

/*
 * The document; run_json(report, ctx) gives the full report of one run
 * (the same object `mthp sim --json` gives), NULL on no memory.
 */
json_t *mthp_sweep_json(const struct mthp_sweep *sw, double budget, const char *profile_why,
			json_t *(*run_json)(const struct mthp_run_report *r, void *ctx),
			void *ctx);

/*
 * The shell lines that apply run i's setting on a host, one `echo VALUE >
 * /sys/kernel/mm/transparent_hugepage/KNOB` per swept knob whose value
 * differs from the sweep's current settings; returns how many.
 */
unsigned mthp_sweep_echo(FILE *out, const struct mthp_sweep *sw, size_t i);

/* The Pareto chart; 0 or -errno with a message in err. */
int mthp_sweep_plot(const char *path, const struct mthp_sweep *sw, double budget,
		    char *err, size_t errlen);

#endif
