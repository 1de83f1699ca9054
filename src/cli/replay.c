// SPDX-License-Identifier: MIT
/*
 * replay.c - `mthp sim --replay FILE`: a recording replayed in the
 * simulator with khugepaged off and under each policy asked for, and how
 * each run's mapped pages compare with the recording's, frame by frame.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <mthp/record.h>
#include <mthp/replay.h>
#include <mthp/scenario.h>

#include "cli/cli.h"
#include "report/sim_report.h"

/* The recording's settings with the --set overrides; 0 or an exit status. */
static int replay_settings(FILE *f, const char *path, const char *const *sets, size_t nr_sets,
			   struct mthp_settings *s, struct mthp_rec_info *info, FILE *err)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_rec_reader r;
	int ret;

	if (mthp_rec_reader_open(&r, f, path, &diag)) {
		fprintf(err, "mthp sim: %s\n", diag.msg);
		return 1;
	}
	*info = r.info;
	ret = mthp_snapshot_settings(&r.host, s, path, &diag);
	mthp_rec_reader_free(&r);
	rewind(f);
	if (ret) {
		fprintf(err, "mthp sim: %s\n", diag.msg);
		return 1;
	}
	return cli_apply_sets("sim", sets, nr_sets, s, err);
}

/* The rows of the table. */
enum row {
	ROW_NAME, ROW_SIMULATED, ROW_RECORDED, ROW_EXTRA, ROW_MISSING,
	ROW_FRAMES_DIFFERING, ROW_MAX_EXTRA, ROW_COLLAPSES, ROW_WAKEUPS,
};

static uint64_t row_value(const struct mthp_replay_report *r, enum row row)
{
	switch (row) {
	case ROW_NAME:
		return 0;
	case ROW_SIMULATED:
		return r->last.simulated;
	case ROW_RECORDED:
		return r->last.recorded;
	case ROW_EXTRA:
		return r->last.extra;
	case ROW_MISSING:
		return r->last.missing;
	case ROW_FRAMES_DIFFERING:
		return r->frames_differing;
	case ROW_MAX_EXTRA:
		return r->max_extra;
	case ROW_COLLAPSES:
		return r->collapses;
	case ROW_WAKEUPS:
		return r->wakeups;
	}
	return 0;
}

/* One row: its name, then each run's value (ROW_NAME: each run's name). */
static void print_row(FILE *out, const char *name, const struct mthp_replay_report *reps,
		      size_t nr_policies, enum row row)
{
	fprintf(out, "%-28s", name);
	for (size_t i = 0; i <= nr_policies; i++) {
		if (row == ROW_NAME)
			fprintf(out, " %12s", mthp_sim_run_name(reps[i].policy));
		else
			fprintf(out, " %12" PRIu64, row_value(&reps[i], row));
	}
	fputc('\n', out);
}

int cli_sim_replay(const char *path, const int *policies, size_t nr_policies,
		   const char *const *sets, size_t nr_sets, FILE *out, FILE *err)
{
	struct mthp_replay_report reps[MTHP_NR_POLICIES + 1];
	struct mthp_rec_info info;
	struct mthp_settings s;
	FILE *f = fopen(path, "r");
	int status;

	if (!f) {
		fprintf(err, "mthp sim: --replay %s: %s\n", path, strerror(errno));
		return 1;
	}
	status = replay_settings(f, path, sets, nr_sets, &s, &info, err);
	for (size_t i = 0; !status && i <= nr_policies; i++) {
		struct mthp_replay_opts ro = { .settings = &s };
		struct mthp_diag diag = { .warn = NULL };

		ro.policy = i ? policies[i - 1] : MTHP_RUN_NO_COLLAPSE;
		rewind(f);
		if (mthp_replay(f, path, &ro, &reps[i], &diag)) {
			fprintf(err, "mthp sim: %s run: %s\n", mthp_sim_run_name(ro.policy), diag.msg);
			status = 1;
		}
	}
	fclose(f);
	if (status)
		return status;
	fprintf(out, "mthp sim --replay %s: pid %d (%s), %" PRIu32 " frames over %.1f s, "
		"page size %u\n", path, (int)info.pid, info.comm, reps[0].frames,
		(double)reps[0].last.time_ms / 1000.0, s.geo.page_size);
	if (!info.track_writes)
		fprintf(out, "writes not tracked: rewrites of pages already present are invisible\n");
	fprintf(out, "machine: %" PRIu64 " pages of memory, %" PRIu64 " of swap "
		"(room for the most pages the process had)\n\n",
		reps[0].memory_pages, reps[0].swap_pages);
	print_row(out, "", reps, nr_policies, ROW_NAME);
	print_row(out, "pages mapped, last frame", reps, nr_policies, ROW_SIMULATED);
	print_row(out, "  recorded", reps, nr_policies, ROW_RECORDED);
	print_row(out, "  more than recorded", reps, nr_policies, ROW_EXTRA);
	print_row(out, "  fewer than recorded", reps, nr_policies, ROW_MISSING);
	print_row(out, "frames that differ", reps, nr_policies, ROW_FRAMES_DIFFERING);
	print_row(out, "most pages more, a frame", reps, nr_policies, ROW_MAX_EXTRA);
	print_row(out, "collapses", reps, nr_policies, ROW_COLLAPSES);
	print_row(out, "khugepaged wake-ups", reps, nr_policies, ROW_WAKEUPS);
	return 0;
}
