// SPDX-License-Identifier: MIT
/*
 * load.c - `mthp sim --load SNAPSHOT`: a snapshot made real in the
 * simulator (mthp_snapshot_load()), then khugepaged's full passes over
 * it, each pass's collapses by size, and what the passes left.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <mthp/replay.h>
#include <mthp/sim.h>

#include "cli/cli.h"
#include "cli/sweep.h"
#include "report/report.h"

int cli_apply_sets(const char *cmd, const char *const *sets, size_t nr_sets,
		   struct mthp_settings *s, FILE *err)
{
	char msg[256];

	for (size_t i = 0; i < nr_sets; i++) {
		if (mthp_settings_set_assignment(s, sets[i], msg, sizeof(msg))) {
			fprintf(err, "mthp %s: --set %s: %s\n", cmd, sets[i], msg);
			return EXIT_USAGE;
		}
	}
	return 0;
}

FILE *cli_open_output(const char *cmd, const char *path, FILE *err)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fprintf(err, "mthp %s: %s: %s\n", cmd, path, strerror(errno));
	return f;
}

int cli_write_snapshot(const char *cmd, const char *path, const struct mthp_snapshot *snap,
		       FILE *err)
{
	FILE *f = cli_open_output(cmd, path, err);
	int ret;

	if (!f)
		return 1;
	ret = mthp_snapshot_write(snap, f);
	if (fclose(f) || ret) {
		fprintf(err, "mthp %s: %s: write error\n", cmd, path);
		return 1;
	}
	return 0;
}

/* The snapshot in path ("-": standard input) and its settings with the --set ones. */
static int read_input(const struct cli_load_opts *o, struct mthp_snapshot *snap,
		      struct mthp_settings *s, FILE *err)
{
	struct mthp_diag diag = { .warn = NULL };
	const char *name = strcmp(o->path, "-") ? o->path : "<stdin>";
	FILE *f = strcmp(o->path, "-") ? mthp_cli_open_input(o->path) : stdin;
	int ret;

	if (!f) {
		fprintf(err, "mthp sim: --load %s: %s\n", o->path, strerror(errno));
		return 1;
	}
	ret = mthp_snapshot_read(snap, f, name, &diag);
	if (f != stdin)
		fclose(f);
	if (!ret)
		ret = mthp_snapshot_settings(snap, s, name, &diag);
	if (ret) {
		fprintf(err, "mthp sim: %s\n", diag.msg);
		return 1;
	}
	return cli_apply_sets("sim", o->sets, o->nr_sets, s, err);
}

/* Collapses by order, counted by the collapse observer. */
struct pass_count {
	uint64_t by_order[MTHP_MAX_PMD_ORDER + 1];
	uint64_t total;
};

static void count_collapse(void *ctx, const struct sim_collapse_event *ev)
{
	struct pass_count *c = ctx;

	if (ev->result != SCAN_SUCCEED || ev->order > MTHP_MAX_PMD_ORDER)
		return;
	c->by_order[ev->order]++;
	c->total++;
}

static void print_pass(FILE *out, uint64_t pass, const struct pass_count *c,
		       const struct mthp_geometry *geo, uint64_t ptes)
{
	const char *sep = " (";

	fprintf(out, "pass %" PRIu64 ": %" PRIu64 " window%s collapsed", pass, c->total,
		c->total == 1 ? "" : "s");
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++) {
		char size[16];

		if (!c->by_order[o])
			continue;
		mthp_size_label(geo, o, size, sizeof(size));
		fprintf(out, "%s%s %" PRIu64, sep, size, c->by_order[o]);
		sep = ", ";
	}
	fprintf(out, "%s, %" PRIu64 " PTEs scanned\n", c->total ? ")" : "", ptes);
}

/* The counters' changes over the passes, as WHERE NAME CHANGE lines. */
static void print_stats(FILE *out, const struct mthp_geometry *geo, const struct sim_stat *before,
			const struct sim_stat *after, size_t n)
{
	fprintf(out, "\nCounters by their kernel names, their change over the passes: "
		"WHERE NAME CHANGE\n");
	for (size_t k = 0; k < n; k++) {
		char where[96];

		sim_stat_where(geo, &after[k], where, sizeof(where));
		fprintf(out, "%s %s %" PRId64 "\n", where, after[k].name,
			(int64_t)(after[k].value - before[k].value));
	}
}

#define MAX_STATS 512

/* The passes, printed; 0 or an exit status. */
static int run_passes(const struct cli_load_opts *o, struct mthp_loaded *ld,
		      const struct mthp_geometry *geo, FILE *out, FILE *err)
{
	static struct sim_stat before[MAX_STATS], after[MAX_STATS];
	struct pass_count c;
	size_t nr_stats = sim_stats(ld->sim, before, MAX_STATS);
	uint64_t pass;
	int ret = sim_khugepaged_set_policy(ld->sim, o->policy);

	sim_set_collapse_observer(ld->sim, count_collapse, &c);
	sim_khugepaged_enter(ld->mm);
	for (pass = 1; !ret && pass <= o->passes; pass++) {
		uint64_t ptes0, ptes1;

		memset(&c, 0, sizeof(c));
		ret = sim_khugepaged_stat(ld->sim, "ptes_scanned", &ptes0) ?:
		      sim_khugepaged_pass(ld->sim, 0, NULL) ?:
		      sim_khugepaged_stat(ld->sim, "ptes_scanned", &ptes1);
		if (ret)
			break;
		print_pass(out, pass, &c, geo, ptes1 - ptes0);
		if (!c.total && o->passes > 1) {
			fprintf(out, "stable: pass %" PRIu64 " collapsed nothing\n", pass);
			break;
		}
	}
	sim_set_collapse_observer(ld->sim, NULL, NULL);
	if (ret) {
		fprintf(err, "mthp sim: khugepaged's pass %" PRIu64 " failed (%s)\n", pass,
			strerror(-ret));
		return 1;
	}
	if (o->stats && sim_stats(ld->sim, after, MAX_STATS) == nr_stats)
		print_stats(out, geo, before, after, nr_stats);
	return 0;
}

int cli_sim_load(const struct cli_load_opts *o, FILE *out, FILE *err)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_snapshot snap = { 0 }, after;
	struct mthp_loaded ld;
	struct mthp_settings s;
	FILE *trace = NULL;
	int status = read_input(o, &snap, &s, err);

	if (!status && o->tlb)
		status = cli_tlb_machine("sim", o->tlb, -1, NULL, 0, &s.geo, &s.geo.cont_order,
					 err);
	if (status)
		goto out_snap;
	if (mthp_snapshot_load(&snap, strcmp(o->path, "-") ? o->path : "<stdin>", &s, &ld,
			       &diag)) {
		fprintf(err, "mthp sim: %s\n", diag.msg);
		status = 1;
		goto out_snap;
	}
	fprintf(out, "mthp sim --load %s: %zu PMD range%s, %" PRIu64 " pages present "
		"(%" PRIu64 " shared with a forked child, %" PRIu64 " old), %" PRIu64
		" swapped, %" PRIu64 " zero-page PTEs, %" PRIu64 " PMD-mapped THP%s\n",
		o->path, snap.nr_pmds, snap.nr_pmds == 1 ? "" : "s", ld.present, ld.shared,
		ld.old, ld.swapped, ld.zero, ld.huge, ld.huge == 1 ? "" : "s");
	if (ld.vmas_left_out)
		fprintf(out, "left out: %" PRIu64 " VMA%s not anonymous private memory\n",
			ld.vmas_left_out, ld.vmas_left_out == 1 ? "" : "s");
	sim_set_swap_device(ld.sim, (enum sim_swap_device)o->swap_device);
	fprintf(out, "machine: %" PRIu64 " pages of memory, %" PRIu64 " of swap (%s); "
		"policy %s\n", ld.memory_pages, ld.swap_pages,
		o->swap_device == SIM_SWAP_ZRAM ? "zram" : "disk", mthp_policy_name(o->policy));
	if (o->trace) {
		trace = cli_open_output("sim", o->trace, err);
		if (!trace) {
			status = 1;
			goto out_loaded;
		}
		sim_set_trace(ld.sim, trace);
		if (o->trace_mask)
			sim_set_trace_events(ld.sim, o->trace_mask);
	}
	status = run_passes(o, &ld, &s.geo, out, err);
	if (trace) {
		sim_set_trace(ld.sim, NULL);
		if (fclose(trace) && !status) {
			fprintf(err, "mthp sim: %s: write error\n", o->trace);
			status = 1;
		}
	}
	if (!status && o->snapshot) {
		int ret = sim_mm_snapshot(ld.mm, &after);

		if (ret) {
			fprintf(err, "mthp sim: a snapshot of the process failed (%s)\n",
				strerror(-ret));
			status = 1;
		} else {
			status = cli_write_snapshot("sim", o->snapshot, &after, err);
		}
		mthp_snapshot_free(&after);
	}
out_loaded:
	mthp_loaded_free(&ld);
out_snap:
	mthp_snapshot_free(&snap);
	return status;
}
