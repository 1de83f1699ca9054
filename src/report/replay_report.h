/* SPDX-License-Identifier: MIT */
/*
 * replay_report.h - the reports of `mthp sim --replay` (replay_report.c):
 * the text table of how each run's mapped pages compare with the
 * recording's, and the "mthp-replay 1" JSON document.
 */
#ifndef MTHP_REPORT_REPLAY_H
#define MTHP_REPORT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <mthp/record.h>
#include <mthp/replay.h>
#include <mthp/settings.h>

/* The TLB profiles a replay reports (bits): every one that fits the geometry. */
uint32_t mthp_replay_profiles(const struct mthp_geometry *geo);

/*
 * The header and the table, one column per run (reps[0] without collapse);
 * runs[i] is reps[i].run, side by side as the scenario rows take them.
 */
void mthp_replay_text(FILE *out, const char *path, const struct mthp_rec_info *info,
		      const struct mthp_settings *s, const struct mthp_replay_report *reps,
		      const struct mthp_run_report *runs, size_t n);
/*
 * The document: the recording, the machine, and per run the comparison
 * with the recording and the run as `mthp sim --json` reports one (with
 * its kernel counters when stats); runs as for mthp_replay_text().  0,
 * -ENOMEM or -EIO.
 */
int mthp_replay_json(FILE *out, const char *path, const struct mthp_rec_info *info,
		     const struct mthp_settings *s, const struct mthp_replay_report *reps,
		     const struct mthp_run_report *runs, size_t n, bool stats);

#endif
