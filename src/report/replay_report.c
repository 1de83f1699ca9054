// SPDX-License-Identifier: MIT
/*
 * replay_report.c - the reports of `mthp sim --replay` (replay_report.h).
 */
#include <errno.h>
#include <inttypes.h>

#include <jansson.h>

#include <mthp/tlb.h>

#include "common/names.h"
#include "report/replay_report.h"
#include "report/report.h"
#include "report/sim_report.h"

uint32_t mthp_replay_profiles(const struct mthp_geometry *geo)
{
	uint32_t mask = 0;

	for (unsigned p = 0; p < MTHP_TLB_NR_PROFILES; p++)
		if (mthp_tlb_profile_fits((enum mthp_tlb_profile)p, geo))
			mask |= 1u << p;
	return mask;
}

/* The rows of the table. */
enum row {
	ROW_NAME, ROW_SIMULATED, ROW_RECORDED, ROW_EXTRA, ROW_MISSING,
	ROW_FRAMES_DIFFERING, ROW_MAX_EXTRA, ROW_WAKEUPS,
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
	case ROW_WAKEUPS:
		return r->wakeups;
	}
	return 0;
}

/* One row: its name, then each run's value (ROW_NAME: each run's name). */
static void print_row(FILE *out, const char *name, const struct mthp_replay_report *reps,
		      size_t n, enum row row)
{
	fprintf(out, "%-28s", name);
	for (size_t i = 0; i < n; i++) {
		if (row == ROW_NAME)
			fprintf(out, " %12s", mthp_run_name(reps[i].policy));
		else
			fprintf(out, " %12" PRIu64, row_value(&reps[i], row));
	}
	fputc('\n', out);
}

/* Where the machine's size came from, in words. */
static const char *machine_words(enum mthp_replay_machine m)
{
	static const char *const words[] = {
		[MTHP_REPLAY_MACHINE_HOST] =
			"the recording host's, at most what the simulator models",
		[MTHP_REPLAY_MACHINE_SET] = "set with --set memory= or swap=",
		[MTHP_REPLAY_MACHINE_PAGES] = ("the recording does not say its host's: room for "
					       "the most pages the process had, twice over"),
	};

	return mthp_name_of(words, sizeof(words) / sizeof(words[0]), m, "?");
}

void mthp_replay_text(FILE *out, const char *path, const struct mthp_rec_info *info,
		      const struct mthp_settings *s, const struct mthp_replay_report *reps,
		      const struct mthp_run_report *runs, size_t n)
{
	fprintf(out, "mthp sim --replay %s: pid %d (%s), %" PRIu32 " frames over %.1f s, "
		"page size %u\n", path, (int)info->pid, info->comm, reps[0].frames,
		(double)reps[0].last.time_ms / 1000.0, s->geo.page_size);
	if (!info->track_writes)
		fprintf(out, "writes not tracked: rewrites of pages already present are invisible\n");
	else
		fprintf(out, "writes tracked: %" PRIu64 " writes to pages present in the frame "
			"before replayed as writes\n", reps[0].rewrites);
	if (reps[0].moves)
		fprintf(out, "moves: %" PRIu64 " VMA pieces the program moved (mremap), "
			"replayed as moves\n", reps[0].moves);
	if (reps[0].forks)
		fprintf(out, "forks: %" PRIu64 " children forked where frames show pages "
			"shared\n", reps[0].forks);
	if (reps[0].host_fills)
		fprintf(out, "host collapses: %" PRIu64 " PTEs filled by the recorded host's "
			"khugepaged or MADV_COLLAPSE, not replayed as the program's writes\n",
			reps[0].host_fills);
	fprintf(out, "machine: %" PRIu64 " pages of memory, %" PRIu64 " of swap (%s)\n\n",
		reps[0].memory_pages, reps[0].swap_pages, machine_words(reps[0].machine));
	print_row(out, "", reps, n, ROW_NAME);
	print_row(out, "pages mapped, last frame", reps, n, ROW_SIMULATED);
	print_row(out, "  recorded", reps, n, ROW_RECORDED);
	print_row(out, "  more than recorded", reps, n, ROW_EXTRA);
	print_row(out, "  fewer than recorded", reps, n, ROW_MISSING);
	print_row(out, "frames that differ", reps, n, ROW_FRAMES_DIFFERING);
	print_row(out, "most pages more, a frame", reps, n, ROW_MAX_EXTRA);
	print_row(out, "khugepaged wake-ups", reps, n, ROW_WAKEUPS);
	/* then the runs' own rows, as a scenario's table has them */
	mthp_sim_rows(out, &s->geo, mthp_replay_profiles(&s->geo), runs, n, true);
}

/* One run's comparison with the recording, and the run itself as "run". */
static json_t *replay_run_json(const struct mthp_replay_report *r, json_t *run)
{
	const struct mthp_replay_frame *l = &r->last;

	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:I, "
			 "s:o}",
			 "policy", mthp_run_name(r->policy), "frames", (json_int_t)r->frames,
			 "frames_differing", (json_int_t)r->frames_differing,
			 "max_extra", (json_int_t)r->max_extra,
			 "max_missing", (json_int_t)r->max_missing,
			 "last_frame", "recorded", (json_int_t)l->recorded,
			 "simulated", (json_int_t)l->simulated, "extra", (json_int_t)l->extra,
			 "missing", (json_int_t)l->missing,
			 "shared_recorded", (json_int_t)l->shared_recorded,
			 "shared_simulated", (json_int_t)l->shared_simulated,
			 "collapses", (json_int_t)r->collapses, "wakeups", (json_int_t)r->wakeups,
			 "run", run);
}

int mthp_replay_json(FILE *out, const char *path, const struct mthp_rec_info *info,
		     const struct mthp_settings *s, const struct mthp_replay_report *reps,
		     const struct mthp_run_report *runs, size_t n, bool stats)
{
	json_t *list = NULL, *doc = NULL, *replays = json_array();
	int ret = 0;

	if (!replays) {
		ret = -ENOMEM;
		goto out;
	}
	list = mthp_sim_runs_json(runs, n, mthp_replay_profiles(&s->geo), &s->geo, stats);
	for (size_t i = 0; list && i < n; i++) {
		json_t *one = replay_run_json(&reps[i], json_incref(json_array_get(list, i)));

		if (!one || json_array_append_new(replays, one)) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (!list) {
		ret = -ENOMEM;
		goto out;
	}
	doc = json_pack("{s:s, s:o, s:i, s:o, s:I, s:f, s:i, s:b, s:I, s:I, s:I, s:I, "
			"s:{s:I, s:I, s:s}, s:O}",
			"format", "mthp-replay 1", "recording", mthp_json_text(path),
			"pid", (int)info->pid, "comm", mthp_json_text(info->comm), "frames", (json_int_t)reps[0].frames,
			"seconds", (double)reps[0].last.time_ms / 1000.0,
			"page_size", (int)s->geo.page_size, "writes_tracked", info->track_writes,
			"host_filled_ptes", (json_int_t)reps[0].host_fills,
			"rewrites_replayed", (json_int_t)reps[0].rewrites,
			"moves_replayed", (json_int_t)reps[0].moves,
			"forks_replayed", (json_int_t)reps[0].forks,
			"machine", "memory_pages", (json_int_t)reps[0].memory_pages,
			"swap_pages", (json_int_t)reps[0].swap_pages,
			"from", mthp_replay_machine_name(reps[0].machine), "runs", replays);
	if (!doc) {
		ret = -ENOMEM;
		goto out;
	}
	if (json_dumpf(doc, out, JSON_INDENT(2)))
		ret = -EIO;
	fputc('\n', out);
out:
	json_decref(doc);
	json_decref(list);
	json_decref(replays);
	return ret;
}
