// SPDX-License-Identifier: MIT
/*
 * replay.c - `mthp sim --replay FILE`: a recording replayed in the
 * simulator with khugepaged off and under each policy asked for, how
 * each run's mapped pages compare with the recording's, frame by frame,
 * and the reports a scenario run has (--json, --stats, --snapshot,
 * --map, --timeline).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/record.h>
#include <mthp/replay.h>
#include <mthp/map.h>
#include <mthp/scenario.h>
#include <mthp/tlb.h>

#include "cli/cli.h"
#include "cli/sweep.h"
#include "report/replay_report.h"
#include "report/sim_report.h"

/*
 * One --set of the replay's machine ("memory=SIZE", "swap=SIZE") into
 * size: 1 if set is one, 0 if it is a THP knob's, or an exit status
 * after saying why.
 */
static int machine_set(const char *set, struct mthp_replay_size *size, FILE *err)
{
	bool memory = !strncmp(set, "memory=", 7), swap = !strncmp(set, "swap=", 5);
	const char *value = set + (memory ? 7 : 5);
	uint64_t bytes;

	if (!memory && !swap)
		return 0;
	if (!mthp_parse_size(value, &bytes) || (memory && !bytes)) {
		fprintf(err, "mthp sim: --set %s: must be a size such as %s\n", set,
			memory ? "16G" : "4G (0: no swap)");
		return EXIT_USAGE;
	}
	if (memory) {
		size->memory_bytes = bytes;
		size->memory_set = true;
	} else {
		size->swap_bytes = bytes;
		size->swap_set = true;
	}
	return 1;
}

/*
 * The recording's settings with the --set overrides (the THP knobs;
 * memory= and swap= into size, checked against the recording, which may
 * be NULL when the caller has them already); 0 or an exit status.
 */
static int replay_settings(FILE *f, const char *path, const char *const *sets, size_t nr_sets,
			   struct mthp_settings *s, struct mthp_replay_size *size,
			   struct mthp_rec_info *info, FILE *err)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_replay_size ignored;
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
	memset(size ? size : &ignored, 0, sizeof(ignored));
	for (size_t i = 0; i < nr_sets; i++) {
		ret = machine_set(sets[i], size ? size : &ignored, err);
		if (!ret)
			ret = cli_apply_sets("sim", &sets[i], 1, s, err);
		else if (ret == 1)
			ret = 0;
		if (ret)
			return ret;
	}
	/* a size out of range is a bad option value: said before any run */
	if (size) {
		ret = mthp_replay_check_size(f, path, size, &s->geo, &diag);
		if (ret) {
			fprintf(err, "mthp sim: %s\n", diag.msg);
			return ret == -ERANGE ? EXIT_USAGE : 1;
		}
	}
	return 0;
}

int cli_replay_settings(const char *path, const char *const *sets, size_t nr_sets,
			struct mthp_settings *s, struct mthp_replay_size *size, FILE *err)
{
	struct mthp_rec_info info;
	FILE *f = mthp_cli_open_input(path);
	int status;

	if (!f) {
		fprintf(err, "mthp sim: --replay %s: %s\n", path, strerror(errno));
		return 1;
	}
	status = replay_settings(f, path, sets, nr_sets, s, size, &info, err);
	fclose(f);
	return status;
}

/* The end state of every run drawn, the recording's VMAs named by their order. */
static int draw_map(const struct cli_replay_opts *o, const struct mthp_replay_report *reps,
		    size_t n, FILE *err)
{
	const struct mthp_snapshot *last = &reps[0].run.final;
	struct mthp_map_panel panels[MTHP_SIM_MAX_RUNS];
	struct mthp_map_region *regions = calloc(last->nr_vmas + 1, sizeof(*regions));
	char (*names)[32] = calloc(last->nr_vmas + 1, sizeof(*names));
	char msg[256];
	int ret = 0;

	if (!regions || !names) {
		fprintf(err, "mthp sim: --map: out of memory\n");
		ret = 1;
		goto out;
	}
	for (size_t v = 0; v < last->nr_vmas; v++) {
		snprintf(names[v], sizeof(names[v]), "vma %zu", v + 1);
		regions[v] = (struct mthp_map_region){ last->vmas[v].start, last->vmas[v].end,
						       names[v] };
	}
	for (size_t i = 0; i < n; i++)
		panels[i] = (struct mthp_map_panel){ mthp_run_name(reps[i].policy),
						     &reps[i].run.final, regions, last->nr_vmas };
	if (mthp_map_render(o->map, panels, n, NULL, msg, sizeof(msg))) {
		fprintf(err, "mthp sim: %s\n", msg);
		ret = 1;
	}
out:
	free(regions);
	free(names);
	return ret;
}

/* The run reports side by side, for the reports that take them so. */
static void runs_of(const struct mthp_replay_report *reps, size_t n,
		    struct mthp_run_report *runs)
{
	for (size_t i = 0; i < n; i++)
		runs[i] = reps[i].run;
}

/* The profile of the timeline: the simulated machine's (--tlb), else the first. */
static int replay_plot_profile(const struct cli_replay_opts *o, const struct mthp_geometry *geo)
{
	return mthp_plot_profile(mthp_replay_profiles(geo),
				 o->tlb && o->tlb->tlb_given ? o->tlb->tlb : -1);
}

/* The reports asked for, after the runs; 0 or an exit status. */
static int report(const struct cli_replay_opts *o, const struct mthp_rec_info *info,
		  const struct mthp_settings *s, const struct mthp_replay_report *reps, size_t n,
		  FILE *out, FILE *err)
{
	struct mthp_run_report runs[MTHP_SIM_MAX_RUNS];
	int profile = replay_plot_profile(o, &s->geo);
	char title[320], msg[256];
	int status = 0;

	runs_of(reps, n, runs);
	if (o->json) {
		int ret = mthp_replay_json(out, o->path, info, s, reps, runs, n, o->stats);

		status = ret ? mthp_cli_json_failed(err, "sim", ret) : 0;
	} else {
		mthp_replay_text(out, o->path, info, s, reps, runs, n);
		if (o->stats)
			mthp_sim_stats_text(out, runs, n);
	}
	if (!status && o->snapshot)
		status = cli_write_snapshot("sim", o->snapshot, &reps[n - 1].run.final, err);
	if (!status && o->map)
		status = draw_map(o, reps, n, err);
	if (!status && o->timeline) {
		snprintf(title, sizeof(title), "mthp sim --replay: %s, memory and TLB entries "
			 "over time", o->path);
		if (mthp_timeline_plot(o->timeline, title,
				       mthp_tlb_profile_name((enum mthp_tlb_profile)profile),
				       runs, n, s->geo.page_size, msg, sizeof(msg))) {
			fprintf(err, "mthp sim: %s\n", msg);
			status = 1;
		}
	}
	return status;
}

int cli_sim_replay(const struct cli_replay_opts *o, FILE *out, FILE *err)
{
	struct mthp_replay_report reps[MTHP_SIM_MAX_RUNS];
	struct mthp_replay_size size;
	struct mthp_rec_info info;
	struct mthp_settings s;
	FILE *f = mthp_cli_open_input(o->path);
	size_t n = 0;
	int status;

	if (!f) {
		fprintf(err, "mthp sim: --replay %s: %s\n", o->path, strerror(errno));
		return 1;
	}
	status = replay_settings(f, o->path, o->sets, o->nr_sets, &s, &size, &info, err);
	if (!status && o->tlb)
		status = cli_tlb_machine("sim", o->tlb, -1, NULL, 0, &s.geo, &s.geo.cont_order,
					 err);
	if (!status && o->timeline && !mthp_replay_profiles(&s.geo)) {
		fprintf(err, "mthp sim: --timeline: no TLB profile fits %u-byte pages\n",
			s.geo.page_size);
		status = 1;
	}
	for (size_t i = 0; !status && i <= o->nr_policies; i++) {
		struct mthp_replay_opts ro = { .settings = &s, .size = size };
		struct mthp_diag diag = { .warn = NULL };

		ro.policy = i ? o->policies[i - 1] : MTHP_RUN_NO_COLLAPSE;
		if (o->timeline)
			ro.timeline_profile = replay_plot_profile(o, &s.geo) + 1;
		rewind(f);
		if (mthp_replay(f, o->path, &ro, &reps[i], &diag)) {
			fprintf(err, "mthp sim: %s run: %s\n", mthp_run_name(ro.policy), diag.msg);
			status = 1;
			break;
		}
		n++;
	}
	fclose(f);
	if (!status)
		status = report(o, &info, &s, reps, n, out, err);
	for (size_t i = 0; i < n; i++)
		mthp_replay_report_free(&reps[i]);
	return status;
}
