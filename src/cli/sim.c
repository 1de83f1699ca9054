// SPDX-License-Identifier: MIT
/*
 * sim.c - `mthp sim`: run a scenario in the simulator under one policy or
 * several (--compare), each beside a run with khugepaged off, and report
 * what each did: collapses by order, scan results, resident memory, pages
 * filled (bloat), khugepaged's work, re-collapses (creep) and the TLB
 * entries needed under each profile; in text, JSON, and as a map.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <mthp/map.h>
#include <mthp/policy_plugin.h>
#include <mthp/scenario.h>
#include <mthp/snapshot.h>
#include <mthp/tlb.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/plugin.h"
#include "report/sim_report.h"
#include "cli/sweep.h"

/* scenarios/default.ini, compiled in (scripts/embed) */
extern const char mthp_default_scenario[];

#define MAX_RUNS MTHP_SIM_MAX_RUNS

static const char sim_intro[] =
"usage: mthp sim [SCENARIO] [--policy P | --compare P1,P2,...] [--set KNOB=VALUE]...\n"
"                [--tlb PROFILE] [--seed N] [--json] [--map FILE.svg|FILE.png]\n"
"                [--trace FILE] [--trace-events LIST] [--snapshot FILE]\n"
"                [--timeline FILE] [--stats]\n"
"       mthp sim [SCENARIO] --policy-file FILE.so [--time-limit S] [the options above]\n"
"       mthp sim --replay FILE [--policy P | --compare P1,P2,...] [--set KNOB=VALUE]...\n"
"                [--tlb PROFILE]\n"
"       mthp sim --load SNAPSHOT [--passes N] [--policy P] [--set KNOB=VALUE]...\n"
"                [--tlb PROFILE] [--swap-device disk|zram] [--trace FILE]\n"
"                [--trace-events LIST] [--snapshot FILE] [--stats]\n"
"       mthp sim [SCENARIO] --sweep KNOB=V1,V2,... [--sweep ...]... [--compare P1,P2]\n"
"                [--budget PCT] [--tlb PROFILE] [--threads N] [--json] [--plot FILE]\n"
"\n"
"Run a workload scenario (docs/scenarios.md; without SCENARIO, the built-in\n"
"default) in the simulated memory manager with khugepaged, and report what\n"
"the collapse policy did, beside a run of the same workload with khugepaged\n"
"off (\"no collapse\").  With --sweep: run every combination of the swept\n"
"values, with khugepaged off and under each policy (all four unless\n"
"--policy or --compare says), and answer which setting gives the fewest TLB\n"
"entries within the memory budget.  With --replay: replay a recording of a\n"
"real process ('mthp record', docs/recording-format.md) instead of a\n"
"scenario, and compare the pages each run maps with the recording's.  With\n"
"--load: make the process of a snapshot in the simulator, page by page, and\n"
"run khugepaged's full passes over it.\n"
"\n";

static const char sim_outro[] =
"The rows of the table:\n"
"  collapses                  folios collapses made, by size\n"
"  re-collapses (creep)       collapses into a larger folio of pages an earlier\n"
"                             collapse made (and the workload did not free)\n"
"    of which crept           those whose window held more pages that earlier\n"
"                             collapses filled and the workload never wrote\n"
"                             since than the policy's none limit for its size:\n"
"                             the test passed only by counting them\n"
"  rebuilds at the same order collapses of an earlier collapse's window again\n"
"                             at the same order (seed has no folio veto)\n"
"  folios allocated           folios allocated for collapses, counted where\n"
"                             Linux 7.2 counts collapse_alloc (every size)\n"
"    and dropped unused       of them, those no collapse kept (upstream\n"
"                             allocates before it finds a window already a\n"
"                             folio of that size, then drops the new one)\n"
"  resident MiB               memory mapped at the end, the zero page aside\n"
"  THPs split by the shrinker THPs the underused-THP shrinker split (shrink\n"
"    MiB it freed             phases, memory short at a fault), the zero-filled\n"
"                             memory it gave back\n"
"  THPs underused at the end  PMD-sized THPs the shrinker would split if memory\n"
"    MiB it would free        ran short now (more than max_ptes_none of their\n"
"                             pages zero-filled), the memory that would free\n"
"  MiB reclaim paged out      memory direct reclaim freed by paging out to\n"
"                             swap when a fault or a collapse found the machine\n"
"                             or its cgroup full (old pages first;\n"
"                             docs/scenarios.md)\n"
"  partially mapped folios    large folios the workload unmapped in part, kept\n"
"    MiB mapped nowhere       whole until a shrinker splits them (as Linux\n"
"                             does), and their pages no PTE maps: memory held\n"
"                             that resident MiB does not count\n"
"  pages written              distinct pages the workload wrote\n"
"  writes failed              writes the machine or a cgroup could not take\n"
"  pages filled (bloat)       none or zero-page PTEs that collapses filled\n"
"    % of pages written       pages filled per page the workload wrote\n"
"  PTEs scanned, pages copied khugepaged's work\n"
"  TLB entries                entries needed to map the memory, per profile\n"
"                             (docs/tlb-profiles.md)\n"
"  scan results               PMD ranges khugepaged scanned, by the result of\n"
"                             the scan; under SCAN_SUCCEED (the walk ran), what\n"
"                             came of it: some window collapsed, every attempt\n"
"                             failed, or no window passed its test\n"
"  failed attempts            collapse windows tried and refused, by result\n"
"With --replay (no --sweep) the rows are the replay's, against the\n"
"recording:\n"
"  pages mapped, last frame   pages the run maps at the last frame, the zero\n"
"                             page included\n"
"    recorded                 the same in the recording\n"
"    more than recorded       mapped in the run only (collapse fills, and\n"
"                             what follows from them)\n"
"    fewer than recorded      mapped in the recording only\n"
"  frames that differ         frames with pages more or fewer\n"
"  most pages more, a frame   the most pages more than recorded in a frame\n"
"  khugepaged wake-ups        khugepaged's wake-ups over the replay\n"
"then the rows above from collapses on (resident memory and TLB entries\n"
"at the last frame), but for crept, pages written and writes failed: a\n"
"recording does not say which pages the program wrote.\n"
"With --sweep, \"memory\" and \"TLB\" are changes from the baseline (the\n"
"scenario as written with khugepaged off) and * marks the Pareto front: the\n"
"runs that no other run beats on both memory and TLB entries.\n"
"\n"
"Writes the machine or a cgroup could not take, even after reclaim, are\n"
"counted (\"writes failed\", by reason) and warned about; the run still\n"
"succeeds.\n"
"Exit status: 0 done, 1 bad scenario or failed run, 2 bad option.\n";

struct sim_opts {
	const char *scenario;
	int policies[MTHP_RUN_MAX_POLICIES];
	size_t nr_policies;
	struct mthp_opt_strings sets;
	uint64_t seed;
	bool seed_given;
	bool policy_given;
	bool json;
	bool compare;
	bool stats;
	const char *map;
	const char *trace;
	const char *trace_events;
	uint32_t trace_mask;		/* of trace_events */
	const char *snapshot;
	const char *timeline;
	const char *replay;
	const char *load;
	uint64_t passes;
	int swap_device;		/* enum sim_swap_device */
	bool swap_device_given;
	struct cli_sweep_opts sweep;
	const char *policy_file;
	uint64_t time_limit;
};

struct progress {
	FILE *err;
	bool tty;
	struct timespec start;
	const char *label;
	bool shown;
};

static double elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A bar on stderr, once a run has taken more than a second, on a terminal. */
static void show_progress(void *ctx, double done)
{
	struct progress *pg = ctx;
	int width = 30, filled = (int)(done * width);

	if (!pg->tty || elapsed(&pg->start) < 1.0)
		return;
	fprintf(pg->err, "\r%-10s [%.*s%*s] %3d%%", pg->label, filled,
		"##############################", width - filled, "", (int)(done * 100));
	fflush(pg->err);
	pg->shown = true;
}

CLI_POLICY_HANDLERS(struct sim_opts)

static int parse_seed(void *opts, const char *value, char *why, size_t len)
{
	struct sim_opts *o = opts;

	o->seed_given = true;
	/* JSON numbers are signed 64-bit: a seed the JSON report can say */
	return mthp_opts_u64(value, false, 0, INT64_MAX, &o->seed, why, len);
}

#define OPT(field) offsetof(struct sim_opts, field)

CLI_SWEEP_HANDLERS(struct sim_opts)

static int parse_swap_device(void *opts, const char *value, char *why, size_t len)
{
	struct sim_opts *o = opts;

	o->swap_device_given = true;
	if (!strcmp(value, "disk"))
		o->swap_device = SIM_SWAP_DISK;
	else if (!strcmp(value, "zram"))
		o->swap_device = SIM_SWAP_ZRAM;
	else {
		snprintf(why, len, "must be disk or zram");
		return -EINVAL;
	}
	return 0;
}

static const struct mthp_opt sim_opts_table[] = {
	{ "policy", 0, "P", MTHP_OPT_FN, .fn = parse_policy,
	  .help = "legacy | seed | upstream | guarded (default upstream)" },
	CLI_PLUGIN_OPTS("  as a run's policy, under its built-in fallback;\n"
			"  with --compare, one more run beside the policies\n"
			"  listed, with --sweep one more policy swept (after\n"
			"  those of --compare, or all four built-in ones);\n", 60),
	{ "compare", 0, "LIST", MTHP_OPT_FN, .fn = parse_compare,
	  .help = "run each policy of the comma list on the same workload\n"
		  "  (same seed) and show them side by side" },
	{ "set", 0, "KNOB=VALUE", MTHP_OPT_STRINGS, OPT(sets),
	  .help = "a THP sysfs knob, over the scenario's [settings];\n"
		  "  repeatable; with --replay also memory=SIZE and\n"
		  "  swap=SIZE, the simulated machine's" },
	{ "seed", 0, "N", MTHP_OPT_FN, .fn = parse_seed,
	  .help = "the workload's random seed, 0 to 9223372036854775807\n"
		  "  (default: the scenario's)" },
	{ "json", 0, NULL, MTHP_OPT_FLAG, OPT(json),
	  .help = "one JSON document (\"mthp-sim 1\") instead of the table" },
	{ "stats", 0, NULL, MTHP_OPT_FLAG, OPT(stats),
	  .help = "each run's counters as Linux shows them after the same\n"
		  "  work, by their kernel names, one line each after a line\n"
		  "  \"# RUN\": WHERE NAME VALUE, as in \"/proc/vmstat\n"
		  "  thp_collapse_alloc 8\" or \"/sys/kernel/mm/\n"
		  "  transparent_hugepage/hugepages-64kB/stats collapse_alloc\n"
		  "  8\"; with --json, a \"stats\" object in each run.  Only the\n"
		  "  counters the simulator keeps as Linux does (listed in\n"
		  "  docs/scenarios.md)" },
	{ "map", 0, "FILE", MTHP_OPT_STRING, OPT(map),
	  .help = "draw the address space by folio order (.svg or .png):\n"
		  "  one panel per run (no collapse, then each policy),\n"
		  "  one below the other, the scenario's VMAs named beside\n"
		  "  their rows; with --compare a plot of bloat against\n"
		  "  TLB entries below, in the profile --timeline counts in" },
	{ "trace", 0, "FILE", MTHP_OPT_STRING, OPT(trace),
	  .help = "khugepaged's tracepoint lines of every run, as an ftrace\n"
		  "  text trace of Linux 7.2 has them (docs/scenarios.md)" },
	{ "trace-events", 0, "LIST", MTHP_OPT_STRING, OPT(trace_events),
	  .help = "with --trace: only these events, a comma list as\n"
		  "  tracefs's set_event takes it: mm_khugepaged_scan_pmd,\n"
		  "  mm_collapse_huge_page, mm_collapse_huge_page_isolate,\n"
		  "  mm_collapse_huge_page_swapin, mm_khugepaged_scan,\n"
		  "  huge_memory:EVENT or huge_memory (all; the default)" },
	{ "snapshot", 0, "FILE", MTHP_OPT_STRING, OPT(snapshot),
	  .help = "the processes at the end of the (last) policy's run,\n"
		  "  as a snapshot for `mthp plan --snapshot`" },
	{ "timeline", 0, "FILE", MTHP_OPT_STRING, OPT(timeline),
	  .help = "resident memory and TLB entries over simulated time,\n"
		  "  one line per run (.svg or .png); the TLB entries of the\n"
		  "  simulated machine's MMU (--tlb, else a scenario's mmu)\n"
		  "  when the report counts them, else of its first profile" },
	{ "replay", 0, "FILE", MTHP_OPT_STRING, OPT(replay),
	  .help = "replay this recording: the differences between its\n"
		  "  frames as the program's faults, frees, page-outs,\n"
		  "  swap-ins, mmaps, munmaps and mremaps, at its time\n"
		  "  stamps, with its settings and its host's memory and\n"
		  "  swap (--set overrides them); goes with --policy,\n"
		  "  --compare, --set, --tlb, --sweep and its options,\n"
		  "  --json, --stats, --snapshot, --map and --timeline" },
	{ "load", 0, "SNAPSHOT", MTHP_OPT_STRING, OPT(load),
	  .help = "instead of a scenario, make the process of this\n"
		  "  snapshot ('-': standard input) in the simulator: its\n"
		  "  VMAs, and each page in the state of its PTE letter\n"
		  "  and folio order (shared pages are shared with a forked\n"
		  "  child, old ones made old, 'w' paged out; a state the\n"
		  "  simulator's operations cannot make, such as a PMD-sized\n"
		  "  folio mapped by PTEs, refused at its line); with its\n"
		  "  settings, --set overriding them; then run khugepaged's\n"
		  "  full passes and print what each collapsed.  Goes with\n"
		  "  --passes, --policy, --set, --tlb, --swap-device,\n"
		  "  --trace, --trace-events, --snapshot (the process\n"
		  "  after the passes) and --stats (the counters' change\n"
		  "  over the passes)" },
	{ "swap-device", 0, "KIND", MTHP_OPT_FN, .fn = parse_swap_device,
	  .help = "with --load: what a swap-in fault brings in: disk\n"
		  "  (default), one page; zram, a whole folio of the\n"
		  "  largest mTHP size allowed there whose swap slots are\n"
		  "  one aligned run (what a folio swapped out whole left;\n"
		  "  the snapshot's swap orders say where), as Linux 7.2\n"
		  "  does from zram while zswap has never been enabled" },
	{ "passes", 0, "N", MTHP_OPT_U64, OPT(passes), 1, 1000,
	  .help = "with --load: at most N full passes, 1 to 1000 (default\n"
		  "  1); a pass that collapses nothing ends them" },
	CLI_SWEEP_OPTIONS(struct sim_opts, "with --sweep: ",
			  "the MMU of the machine the runs simulate, which\n"
			  "  policy guarded reads (default: a scenario's [machine]\n"
			  "  mmu, else x86-64 with 4K pages and arm64 with 16K and\n"
			  "  64K); with --sweep also the TLB profile judged\n"
			  "  (default there: a scenario's mmu, else this host's CPU\n"
			  "  and page size)"),
	{ 0 },
};

static const struct mthp_cmd_spec sim_spec = {
	"sim", sim_intro, sim_opts_table, sim_outro, "SCENARIO", OPT(scenario),
};

/* 0, -1 (help shown) or an exit status. */
static int parse_opts(int argc, char **argv, struct sim_opts *o, FILE *out, FILE *err)
{
	int ret = mthp_opts_parse(&sim_spec, argc, argv, o, out, err);

	if (ret)
		return ret;
	if (o->policy_given && o->compare)
		return mthp_opts_usage_error(&sim_spec, err, "give --policy or --compare, not both");
	if (o->policy_file && o->policy_given)
		return mthp_opts_usage_error(&sim_spec, err, "--policy-file is a run's policy; "
					     "--policy does not go with it (--compare P1,... runs "
					     "built-in policies beside it)");
	if (o->time_limit && !o->policy_file)
		return mthp_opts_usage_error(&sim_spec, err, "--time-limit goes with --policy-file");
	if (!o->sweep.axes.nr && cli_sweep_extras_given(&o->sweep))
		return mthp_opts_usage_error(&sim_spec, err, "--plot, --budget and --threads "
					     "go with --sweep");
	ret = cli_sweep_check_sets("sim", &o->sweep, &o->sets, err);
	if (ret)
		return ret;
	if (o->sweep.axes.nr && (o->map || o->trace || o->snapshot || o->timeline))
		return mthp_opts_usage_error(&sim_spec, err, "--map, --trace, --snapshot and "
					     "--timeline draw one run each; with --sweep, use --plot");
	if (o->sweep.axes.nr && o->stats)
		return mthp_opts_usage_error(&sim_spec, err, "--stats prints each run's counters; "
					     "it does not go with --sweep");
	if (o->replay && (o->scenario || o->trace || o->seed_given))
		return mthp_opts_usage_error(&sim_spec, err, "--replay goes with --policy, --compare, "
					     "--set, --tlb, --sweep, --json, --stats, --snapshot, --map "
					     "and --timeline (no SCENARIO, --trace or --seed)");
	if (o->passes && !o->load)
		return mthp_opts_usage_error(&sim_spec, err, "--passes goes with --load");
	if (o->swap_device_given && !o->load)
		return mthp_opts_usage_error(&sim_spec, err, "--swap-device goes with --load (a "
					     "scenario says swap_device in [machine])");
	if (o->load && (o->scenario || o->replay || o->policy_file || o->compare ||
			o->sweep.axes.nr || o->json || o->map || o->timeline || o->seed_given))
		return mthp_opts_usage_error(&sim_spec, err, "--load goes with --passes, --policy, "
					     "--set, --tlb, --swap-device, --trace, --trace-events, "
					     "--snapshot and --stats only (no SCENARIO)");
	if (o->trace_events) {
		char why[200];

		if (!o->trace)
			return mthp_opts_usage_error(&sim_spec, err, "--trace-events selects the "
						     "events of --trace; give --trace FILE");
		if (sim_trace_events_parse(o->trace_events, &o->trace_mask, why, sizeof(why)))
			return mthp_opts_usage_error(&sim_spec, err, "--trace-events: %s", why);
	}
	ret = cli_check_picture_name(&sim_spec, "--timeline", o->timeline, err) ?:
	      (o->sweep.plot ? cli_sweep_check_plot(&sim_spec, &o->sweep, err) : 0) ?:
	      cli_check_picture_name(&sim_spec, "--map", o->map, err);
	return ret;
}

/* ---- map ---- */

/*
 * The profile of the timeline and the --map plot: the simulated machine's
 * MMU (--tlb or [machine] mmu) when the report has it, else its first.
 */
static int plot_profile(const struct mthp_scenario *sc, const struct mthp_geometry *geo)
{
	return mthp_plot_profile(mthp_sim_profiles(sc, geo), sc->mmu);
}

static int draw_map(const struct sim_opts *o, const struct mthp_scenario *sc,
		    const struct mthp_geometry *geo, const struct mthp_run_report *runs,
		    size_t n, FILE *err)
{
	struct mthp_map_panel panels[MAX_RUNS];
	struct mthp_map_point points[MAX_RUNS];
	char labels[MAX_RUNS][64];
	struct mthp_map_plot plot = { .points = points };
	int found = plot_profile(sc, geo);
	enum mthp_tlb_profile prof = found < 0 ? MTHP_TLB_X86_64 : (enum mthp_tlb_profile)found;
	struct mthp_map_region *regions;
	char (*names)[2 * MTHP_SCENARIO_NAME_MAX + 1];
	uint64_t *addr;
	char title[96], msg[256];
	int ret = 0;

	/* the scenario's VMAs, named "vma" (one process) or "process/vma" */
	regions = calloc(sc->nr_vmas + 1, sizeof(*regions));
	names = calloc(sc->nr_vmas + 1, sizeof(*names));
	addr = calloc(sc->nr_vmas + 1, sizeof(*addr));
	if (!regions || !names || !addr) {
		fprintf(err, "mthp sim: --map: out of memory\n");
		ret = 1;
		goto out;
	}
	mthp_scenario_vma_addresses(sc, addr);
	for (size_t v = 0; v < sc->nr_vmas; v++) {
		const struct mthp_scenario_vma *sv = &sc->vmas[v];

		if (sc->nr_processes > 1)
			snprintf(names[v], sizeof(names[v]), "%s/%s",
				 sc->processes[sv->process].name, sv->name);
		else
			snprintf(names[v], sizeof(names[v]), "%s", sv->name);
		regions[v] = (struct mthp_map_region){ addr[v], addr[v] + sv->size, names[v] };
	}
	for (size_t i = 0; i < n; i++) {
		double bloat = (double)runs[i].pages_filled;
		double tlb = (double)mthp_sim_tlb_total(&runs[i], prof);
		size_t k;

		panels[i] = (struct mthp_map_panel){
			mthp_run_name(runs[i].policy), &runs[i].final, regions, sc->nr_vmas,
		};
		/* runs that land on one point share it: "legacy, upstream" */
		for (k = 0; k < plot.nr_points; k++)
			if (points[k].bloat == bloat && points[k].tlb == tlb)
				break;
		if (k == plot.nr_points) {
			snprintf(labels[k], sizeof(labels[k]), "%s", mthp_run_name(runs[i].policy));
			points[k] = (struct mthp_map_point){ labels[k], bloat, tlb };
			plot.nr_points++;
		} else {
			size_t used = strlen(labels[k]);

			snprintf(labels[k] + used, sizeof(labels[k]) - used, ", %s",
				 mthp_run_name(runs[i].policy));
		}
	}
	snprintf(title, sizeof(title), "pages filled by collapse vs TLB entries (%s)",
		 mthp_tlb_profile_name(prof));
	plot.title = title;
	if (mthp_map_render(o->map, panels, n, o->compare && found >= 0 ? &plot : NULL,
			    msg, sizeof(msg))) {
		fprintf(err, "mthp sim: %s\n", msg);
		ret = 1;
	}
out:
	free(regions);
	free(names);
	free(addr);
	return ret;
}

static int draw_timeline(const struct sim_opts *o, const struct mthp_scenario *sc,
			 const struct mthp_geometry *geo, const struct mthp_run_report *runs,
			 size_t n, FILE *err)
{
	int p = plot_profile(sc, geo);
	char title[320], msg[256];

	if (p < 0) {
		fprintf(err, "mthp sim: --timeline: no TLB profile fits the scenario's page size\n");
		return 1;
	}
	snprintf(title, sizeof(title), "mthp sim: %s, memory and TLB entries over time", sc->file);
	if (mthp_timeline_plot(o->timeline, title, mthp_tlb_profile_name((enum mthp_tlb_profile)p),
			       runs, n, geo->page_size, msg, sizeof(msg))) {
		fprintf(err, "mthp sim: %s\n", msg);
		return 1;
	}
	return 0;
}

/* ---- the command ---- */

/* The scenario and its settings; on failure nothing is left to free. */
static int load(const struct sim_opts *o, struct mthp_scenario *sc,
		struct mthp_settings *s, FILE *err)
{
	struct mthp_diag diag = { .warn = NULL };
	char msg[256];
	int ret;

	if (o->scenario)
		ret = mthp_scenario_read(sc, o->scenario, &diag);
	else
		ret = mthp_scenario_read_mem(sc, mthp_default_scenario,
					     strlen(mthp_default_scenario), "default.ini", &diag);
	if (ret) {
		fprintf(err, "mthp sim: %s\n", diag.msg);
		return 1;
	}
	if (!o->sweep.axes.nr && o->sweep.tlb_given) {
		struct mthp_geometry geo;
		uint32_t cont = 0;

		mthp_geometry_from_page_size(&geo, sc->page_size);
		ret = cli_tlb_machine("sim", &o->sweep, sc->mmu, sc->file, sc->mmu_line, &geo,
				      &cont, err);
		if (ret)
			goto out_free;
		sc->mmu = o->sweep.tlb;	/* the machine simulated */
	}
	if (mthp_scenario_settings(sc, s, &diag)) {
		fprintf(err, "mthp sim: %s\n", diag.msg);
		ret = 1;
		goto out_free;
	}
	for (size_t i = 0; i < o->sets.nr; i++) {
		if (mthp_settings_set_assignment(s, o->sets.v[i], msg, sizeof(msg))) {
			fprintf(err, "mthp sim: --set %s: %s\n", o->sets.v[i], msg);
			ret = EXIT_USAGE;
			goto out_free;
		}
	}
	return 0;

out_free:
	mthp_scenario_free(sc);
	return ret;
}

/*
 * A workload that writes more than the machine (or its cgroup) holds is
 * cut short: a condition of the run, reported, not an error of mthp.
 */
static void warn_write_fails(const struct mthp_run_report *r, FILE *err)
{
	if (!mthp_sim_writes_failed(r))
		return;
	fprintf(err, "mthp sim: warning: %s run: %" PRIu64
		" writes failed, the workload was cut short (", mthp_run_name(r->policy),
		mthp_sim_writes_failed(r));
	for (unsigned f = 0; f < MTHP_NR_WRITE_FAILS; f++)
		fprintf(err, "%s%s %" PRIu64, f ? ", " : "", mthp_write_fail_name(f),
			r->writes_failed[f]);
	fprintf(err, ")\n");
}

static int run_all(const struct sim_opts *o, const struct mthp_scenario *sc,
		   const struct mthp_settings *s, struct mthp_run_report *runs,
		   size_t *nr_runs, FILE *trace, FILE *err)
{
	uint64_t seed = o->seed_given ? o->seed : sc->seed;
	struct progress pg = { .err = err, .tty = isatty(fileno(err)) };
	int timeline = o->timeline ? plot_profile(sc, &s->geo) + 1 : 0;

	clock_gettime(CLOCK_MONOTONIC, &pg.start);
	for (size_t i = 0; i <= o->nr_policies; i++) {
		struct mthp_run_opts ro = { .progress = show_progress, .progress_ctx = &pg,
					    .timeline_profile = timeline };
		struct mthp_diag diag = { .warn = NULL };

		ro.policy = i ? o->policies[i - 1] : MTHP_RUN_NO_COLLAPSE;
		pg.label = mthp_run_name(ro.policy);
		if (trace && ro.policy != MTHP_RUN_NO_COLLAPSE) {
			fprintf(trace, "# mthp sim: %s, policy %s, seed %" PRIu64 "\n", sc->file,
				mthp_run_name(ro.policy), seed);
			ro.trace = trace;
			ro.trace_events = o->trace_mask;
		}
		if (mthp_scenario_run(sc, s, seed, &ro, &runs[i], &diag)) {
			if (pg.shown)
				fputc('\n', err);
			fprintf(err, "mthp sim: %s run: %s\n", mthp_run_name(ro.policy), diag.msg);
			return 1;
		}
		(*nr_runs)++;
		warn_write_fails(&runs[i], err);
	}
	if (pg.shown)
		fprintf(err, "\r%60s\r", "");
	return 0;
}

/* ---- --sweep ---- */

/* The sweep of a scenario (sc) or of a recording (--replay, sc NULL). */
static int run_sweep(const struct sim_opts *o, const struct mthp_scenario *sc,
		     const struct mthp_settings *s, const struct mthp_replay_size *size,
		     FILE *out, FILE *err)
{
	struct mthp_sweep sw = { .scenario = sc, .settings = *s };
	char why[160], source[300];
	int status;

	snprintf(source, sizeof(source), "mthp sim --sweep: %s", sc ? sc->file : o->replay);
	sw.source = source;
	if (sc)
		sw.seed = o->seed_given ? o->seed : sc->seed;
	else
		sw.recording = o->replay;
	if (size)
		sw.replay_size = *size;
	if (o->policy_given || o->compare || o->policy_file) {
		for (size_t i = 0; i < o->nr_policies; i++)
			sw.policies[i] = o->policies[i];
		sw.nr_policies = (unsigned)o->nr_policies;
	} else {
		for (int p = 0; p < MTHP_NR_POLICIES; p++)
			sw.policies[p] = p;
		sw.nr_policies = MTHP_NR_POLICIES;
	}
	status = cli_sweep_setup("sim", &o->sweep, &sw, why, sizeof(why), err);
	if (!status)
		status = cli_sweep_run("sim", &o->sweep, &sw, why, o->json, out, err);
	mthp_sweep_free(&sw);
	return status;
}

/* Everything after the options: load, run, report. */
static int sim_body(void *ctx, FILE *out, FILE *err)
{
	struct sim_opts *o = ctx;
	struct mthp_run_report runs[MAX_RUNS];
	struct mthp_scenario sc;
	struct mthp_settings s;
	FILE *trace = NULL;
	size_t nr_runs = 0;
	int status;

	status = mthp_cli_check_output(err, "sim", "--map", o->map) ?:
		 mthp_cli_check_output(err, "sim", "--snapshot", o->snapshot) ?:
		 mthp_cli_check_output(err, "sim", "--trace", o->trace) ?:
		 mthp_cli_check_output(err, "sim", "--timeline", o->timeline);
	if (status)
		return status;
	if (o->load) {
		struct cli_load_opts lo = {
			.path = o->load, .policy = o->policies[0], .passes = o->passes ?: 1,
			.sets = (const char *const *)o->sets.v, .nr_sets = o->sets.nr,
			.trace = o->trace, .trace_mask = o->trace_mask, .snapshot = o->snapshot,
			.stats = o->stats, .swap_device = o->swap_device, .tlb = &o->sweep,
		};

		return cli_sim_load(&lo, out, err);
	}
	if (o->replay && o->sweep.axes.nr) {
		struct mthp_replay_size size;

		status = cli_replay_settings(o->replay, (const char *const *)o->sets.v, o->sets.nr,
					     &s, &size, err);
		return status ? status : run_sweep(o, NULL, &s, &size, out, err);
	}
	if (o->replay) {
		struct cli_replay_opts ro = {
			.path = o->replay, .policies = o->policies, .nr_policies = o->nr_policies,
			.sets = (const char *const *)o->sets.v, .nr_sets = o->sets.nr,
			.json = o->json, .stats = o->stats, .snapshot = o->snapshot, .map = o->map,
			.timeline = o->timeline, .tlb = &o->sweep,
		};

		return cli_sim_replay(&ro, out, err);
	}
	status = load(o, &sc, &s, err);
	if (status)
		return status;
	if (o->sweep.axes.nr) {
		status = run_sweep(o, &sc, &s, NULL, out, err);
		goto out_scenario;
	}
	if (o->trace) {
		trace = cli_open_output("sim", o->trace, err);
		if (!trace) {
			status = 1;
			goto out_scenario;
		}
	}
	status = run_all(o, &sc, &s, runs, &nr_runs, trace, err);
	if (!status) {
		uint64_t seed = o->seed_given ? o->seed : sc.seed;

		if (o->json) {
			int ret = mthp_sim_json(out, &sc, seed, &s, runs, nr_runs, o->stats);

			status = ret ? mthp_cli_json_failed(err, "sim", ret) : 0;
		} else {
			mthp_sim_text(out, &sc, seed, &s, runs, nr_runs);
			if (o->stats)
				mthp_sim_stats_text(out, runs, nr_runs);
		}
	}
	if (!status && o->map)
		status = draw_map(o, &sc, &s.geo, runs, nr_runs, err);
	if (!status && o->snapshot)
		status = cli_write_snapshot("sim", o->snapshot, &runs[nr_runs - 1].final, err);
	if (!status && o->timeline)
		status = draw_timeline(o, &sc, &s.geo, runs, nr_runs, err);
	for (size_t i = 0; i < nr_runs; i++)
		mthp_run_report_free(&runs[i]);
	if (trace && fclose(trace) && !status) {
		fprintf(err, "mthp sim: %s: write error\n", o->trace);
		status = 1;
	}
out_scenario:
	mthp_scenario_free(&sc);
	return status;
}

/* In the plug-in's child process: the run under its fallback and hooks. */
static int sim_with_plugin(void *ctx, const struct mthp_policy_plugin *plugin,
			   enum mthp_policy fallback, FILE *out, FILE *err)
{
	struct sim_opts *o = ctx;

	/* the plug-in's run comes after the built-in ones --compare asked for */
	if (!o->compare) {
		o->nr_policies = 0;
		if (o->sweep.axes.nr)
			for (int p = 0; p < MTHP_NR_POLICIES; p++)
				o->policies[o->nr_policies++] = p;
	}
	o->policies[o->nr_policies++] = MTHP_RUN_PLUGIN;
	o->compare = o->nr_policies > 1;
	mthp_run_use_plugin(plugin, fallback);
	/* the JSON document stays one document: the plug-in is said on stderr */
	mthp_plugin_announce(o->json ? err : out, plugin, o->policy_file, fallback);
	return sim_body(o, out, err);
}

int cmd_sim(int argc, char **argv, FILE *out, FILE *err)
{
	struct sim_opts o = { .policies = { MTHP_POLICY_UPSTREAM }, .nr_policies = 1,
			      .sweep.tlb = -1 };
	int status = parse_opts(argc, argv, &o, out, err);

	return mthp_plugin_command(&sim_spec, status, &o, o.policy_file, o.time_limit, 60,
				   sim_with_plugin, sim_body, out, err);
}
