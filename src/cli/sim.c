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
#include <strings.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <mthp/map.h>
#include <mthp/scenario.h>
#include <mthp/snapshot.h>
#include <mthp/tlb.h>

#include "cli/cli.h"
#include "cli/opts.h"

/* scenarios/default.ini, compiled in (scripts/embed) */
extern const char mthp_default_scenario[];

#define MAX_RUNS (1 + MTHP_NR_POLICIES)

static const char sim_intro[] =
"usage: mthp sim [SCENARIO] [--policy P | --compare P1,P2,...] [--set KNOB=VALUE]...\n"
"                [--seed N] [--json] [--map FILE.svg|FILE.png] [--trace FILE]\n"
"                [--snapshot FILE]\n"
"\n"
"Run a workload scenario (docs/scenarios.md; without SCENARIO, the built-in\n"
"default) in the simulated memory manager with khugepaged, and report what\n"
"the collapse policy did, beside a run of the same workload with khugepaged\n"
"off (\"no collapse\").\n"
"\n";

static const char sim_outro[] =
"Writes the machine or a cgroup could not take are counted (\"writes\n"
"failed\", by reason) and warned about; the run still succeeds.\n"
"Exit status: 0 done, 1 bad scenario or failed run, 2 bad option.\n";

struct sim_opts {
	const char *scenario;
	int policies[MTHP_NR_POLICIES];
	size_t nr_policies;
	struct mthp_opt_strings sets;
	uint64_t seed;
	bool seed_given;
	bool policy_given;
	bool json;
	bool compare;
	const char *map;
	const char *trace;
	const char *snapshot;
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

static int parse_policy(void *opts, const char *value, char *why, size_t len)
{
	struct sim_opts *o = opts;
	enum mthp_policy p;

	if (mthp_policy_parse(value, &p)) {
		snprintf(why, len, "must be legacy, seed or upstream");
		return -EINVAL;
	}
	o->policies[0] = (int)p;
	o->nr_policies = 1;
	o->policy_given = true;
	return 0;
}

static int parse_compare(void *opts, const char *list, char *why, size_t len)
{
	struct sim_opts *o = opts;
	char copy[128], *save = NULL;

	if (strlen(list) >= sizeof(copy))
		goto bad;
	strcpy(copy, list);
	o->nr_policies = 0;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		enum mthp_policy p;

		if (mthp_policy_parse(w, &p) || o->nr_policies == MTHP_NR_POLICIES)
			goto bad;
		for (size_t i = 0; i < o->nr_policies; i++)
			if (o->policies[i] == (int)p)
				goto bad;
		o->policies[o->nr_policies++] = (int)p;
	}
	o->compare = true;
	if (o->nr_policies)
		return 0;
bad:
	snprintf(why, len, "must be a comma list of distinct policies (legacy, seed, upstream)");
	return -EINVAL;
}

static int parse_seed(void *opts, const char *value, char *why, size_t len)
{
	struct sim_opts *o = opts;

	o->seed_given = true;
	return mthp_opts_u64(value, false, 0, UINT64_MAX, &o->seed, why, len);
}

#define OPT(field) offsetof(struct sim_opts, field)

static const struct mthp_opt sim_opts_table[] = {
	{ "policy", 0, "P", MTHP_OPT_FN, .fn = parse_policy,
	  .help = "legacy | seed | upstream (default upstream)" },
	{ "compare", 0, "LIST", MTHP_OPT_FN, .fn = parse_compare,
	  .help = "run each policy of the comma list on the same workload\n"
		  "  (same seed) and show them side by side" },
	{ "set", 0, "KNOB=VALUE", MTHP_OPT_STRINGS, OPT(sets),
	  .help = "a THP sysfs knob, over the scenario's [settings];\n"
		  "  repeatable" },
	{ "seed", 0, "N", MTHP_OPT_FN, .fn = parse_seed,
	  .help = "the workload's random seed (default: the scenario's)" },
	{ "json", 0, NULL, MTHP_OPT_FLAG, OPT(json),
	  .help = "one JSON document (\"mthp-sim 1\") instead of the table" },
	{ "map", 0, "FILE", MTHP_OPT_STRING, OPT(map),
	  .help = "draw the address space by folio order (.svg or .png):\n"
		  "  no collapse and each policy side by side, and with\n"
		  "  --compare a plot of bloat against TLB entries" },
	{ "trace", 0, "FILE", MTHP_OPT_STRING, OPT(trace),
	  .help = "khugepaged's tracepoint lines of every run" },
	{ "snapshot", 0, "FILE", MTHP_OPT_STRING, OPT(snapshot),
	  .help = "the processes at the end of the (last) policy's run,\n"
		  "  as a snapshot for `mthp plan --snapshot`" },
	{ 0 },
};

static const struct mthp_cmd_spec sim_spec = {
	"sim", sim_intro, sim_opts_table, sim_outro, "SCENARIO", OPT(scenario),
};

/* 0, -1 (help shown) or an exit status. */
static int parse_opts(int argc, char **argv, struct sim_opts *o, FILE *out, FILE *err)
{
	const char *dot;
	int ret = mthp_opts_parse(&sim_spec, argc, argv, o, out, err);

	if (ret)
		return ret;
	if (o->policy_given && o->compare)
		return mthp_opts_usage_error(&sim_spec, err, "give --policy or --compare, not both");
	dot = o->map ? strrchr(o->map, '.') : NULL;
	if (o->map && (!dot || (strcasecmp(dot, ".svg") && strcasecmp(dot, ".png"))))
		return mthp_opts_usage_error(&sim_spec, err,
					     "--map %s: the file name must end in .svg or .png",
					     o->map);
	return 0;
}

static const char *run_name(int policy)
{
	return policy == MTHP_RUN_NO_COLLAPSE ? "no collapse" :
	       mthp_policy_name((enum mthp_policy)policy);
}

/* Profiles to report: the scenario's, of those made for its page size. */
static uint32_t profiles_of(const struct mthp_scenario *sc, const struct mthp_geometry *geo)
{
	uint32_t mask = 0;

	for (unsigned p = 0; p < MTHP_TLB_NR_PROFILES; p++) {
		if (sc->tlb_profiles && !(sc->tlb_profiles & (1u << p)))
			continue;
		if (mthp_tlb_profile_fits((enum mthp_tlb_profile)p, geo))
			mask |= 1u << p;
	}
	return mask;
}

static uint64_t tlb_total(const struct mthp_run_report *r, enum mthp_tlb_profile p)
{
	struct mthp_tlb_count count;

	if (mthp_tlb_count(&r->final, p, &count))
		return 0;
	return count.total;
}

static double bloat_percent(const struct mthp_run_report *r)
{
	return r->pages_written ? 100.0 * (double)r->pages_filled / (double)r->pages_written : 0;
}

/* ---- text ---- */

static void text_row_u64(FILE *out, const char *label, const struct mthp_run_report *runs,
			 size_t n, uint64_t (*get)(const struct mthp_run_report *, const void *),
			 const void *arg, bool baseline_dash)
{
	fprintf(out, "%-28s", label);
	for (size_t i = 0; i < n; i++) {
		if (baseline_dash && runs[i].policy == MTHP_RUN_NO_COLLAPSE)
			fprintf(out, " %12s", "-");
		else
			fprintf(out, " %12" PRIu64, get(&runs[i], arg));
	}
	fputc('\n', out);
}

static uint64_t get_order(const struct mthp_run_report *r, const void *arg)
{
	return r->collapses_by_order[*(const unsigned *)arg];
}

static uint64_t get_collapses(const struct mthp_run_report *r, const void *arg)
{
	uint64_t n = 0;

	(void)arg;
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
		n += r->collapses_by_order[o];
	return n;
}

static uint64_t get_field(const struct mthp_run_report *r, const void *arg)
{
	return *(const uint64_t *)((const char *)r + *(const size_t *)arg);
}

static uint64_t get_scan(const struct mthp_run_report *r, const void *arg)
{
	return r->scan_results[*(const unsigned *)arg];
}

static uint64_t get_failed(const struct mthp_run_report *r, const void *arg)
{
	return r->failed_by_result[*(const unsigned *)arg];
}

static uint64_t get_write_fail(const struct mthp_run_report *r, const void *arg)
{
	return r->writes_failed[*(const unsigned *)arg];
}

static uint64_t writes_failed(const struct mthp_run_report *r)
{
	uint64_t n = 0;

	for (unsigned f = 0; f < MTHP_NR_WRITE_FAILS; f++)
		n += r->writes_failed[f];
	return n;
}

static uint64_t get_writes_failed(const struct mthp_run_report *r, const void *arg)
{
	(void)arg;
	return writes_failed(r);
}

/* Writes the machine could not take, by reason; nothing when none failed. */
static void text_write_fails(FILE *out, const struct mthp_run_report *runs, size_t n)
{
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any |= writes_failed(&runs[i]) != 0;
	if (!any)
		return;
	text_row_u64(out, "writes failed", runs, n, get_writes_failed, NULL, false);
	for (unsigned f = 0; f < MTHP_NR_WRITE_FAILS; f++) {
		char label[48];

		snprintf(label, sizeof(label), "  %s", mthp_write_fail_name(f));
		text_row_u64(out, label, runs, n, get_write_fail, &f, false);
	}
}

static uint64_t get_tlb(const struct mthp_run_report *r, const void *arg)
{
	return tlb_total(r, *(const enum mthp_tlb_profile *)arg);
}

static void text_field(FILE *out, const char *label, const struct mthp_run_report *runs,
		       size_t n, size_t offset, bool dash)
{
	text_row_u64(out, label, runs, n, get_field, &offset, dash);
}

/* A heading, then a row for each SCAN_* result some run counted. */
static void text_results(FILE *out, const char *heading, const struct mthp_run_report *runs,
			 size_t n, uint64_t (*get)(const struct mthp_run_report *, const void *))
{
	fprintf(out, "%s\n", heading);
	for (unsigned r = 0; r < MTHP_NR_RESULTS; r++) {
		char label[48];
		bool any = false;

		for (size_t i = 0; i < n; i++)
			any |= get(&runs[i], &r) != 0;
		if (!any)
			continue;
		snprintf(label, sizeof(label), "  %s", mthp_result_name((enum mthp_result)r));
		text_row_u64(out, label, runs, n, get, &r, true);
	}
}

static void print_text(FILE *out, const struct mthp_scenario *sc, uint64_t seed,
		       const struct mthp_geometry *geo, const struct mthp_run_report *runs,
		       size_t n)
{
	uint32_t profiles = profiles_of(sc, geo);
	double mib = (double)geo->page_size / (1 << 20);

	fprintf(out, "mthp sim: %s, seed %" PRIu64 ", %.1f s simulated, %" PRIu64
		" khugepaged wake-ups per run\n\n", sc->file, seed, runs[0].sim_ns / 1e9,
		runs[n - 1].wakeups);
	fprintf(out, "%-28s", "");
	for (size_t i = 0; i < n; i++)
		fprintf(out, " %12s", run_name(runs[i].policy));
	fputc('\n', out);

	text_row_u64(out, "collapses", runs, n, get_collapses, NULL, true);
	for (unsigned o = MTHP_MIN_ORDER; o <= geo->pmd_order; o++) {
		char label[40], size[16];
		bool any = false;

		for (size_t i = 0; i < n; i++)
			any |= runs[i].collapses_by_order[o] != 0;
		if (!any)
			continue;
		mthp_tlb_size_label((uint64_t)geo->page_size << o, size, sizeof(size));
		snprintf(label, sizeof(label), "  %s", size);
		text_row_u64(out, label, runs, n, get_order, &o, true);
	}
	text_field(out, "re-collapses (creep)", runs, n,
		   offsetof(struct mthp_run_report, recollapses), true);
	text_field(out, "rebuilds at the same order", runs, n,
		   offsetof(struct mthp_run_report, rebuilds), true);
	fprintf(out, "%-28s", "resident MiB");
	for (size_t i = 0; i < n; i++)
		fprintf(out, " %12.1f", (double)runs[i].resident_pages * mib);
	fputc('\n', out);
	text_field(out, "pages written", runs, n,
		   offsetof(struct mthp_run_report, pages_written), false);
	text_write_fails(out, runs, n);
	text_field(out, "pages filled (bloat)", runs, n,
		   offsetof(struct mthp_run_report, pages_filled), true);
	fprintf(out, "%-28s", "  % of pages written");
	for (size_t i = 0; i < n; i++) {
		if (runs[i].policy == MTHP_RUN_NO_COLLAPSE)
			fprintf(out, " %12s", "-");
		else
			fprintf(out, " %11.1f%%", bloat_percent(&runs[i]));
	}
	fputc('\n', out);
	text_field(out, "PTEs scanned", runs, n,
		   offsetof(struct mthp_run_report, ptes_scanned), true);
	text_field(out, "pages copied", runs, n,
		   offsetof(struct mthp_run_report, pages_copied), true);
	fprintf(out, "TLB entries\n");
	for (unsigned p = 0; p < MTHP_TLB_NR_PROFILES; p++) {
		char label[40];

		if (!(profiles & (1u << p)))
			continue;
		snprintf(label, sizeof(label), "  %s", mthp_tlb_profile_name((enum mthp_tlb_profile)p));
		text_row_u64(out, label, runs, n, get_tlb, &p, false);
	}
	text_results(out, "scan results (PMD ranges)", runs, n, get_scan);
	text_results(out, "failed attempts", runs, n, get_failed);
}

/* ---- JSON ---- */

static json_t *counts_json(const uint64_t *counts, unsigned nr, bool by_result)
{
	json_t *obj = json_object();

	for (unsigned i = 0; obj && i < nr; i++) {
		char key[16];

		if (!counts[i])
			continue;
		if (!by_result)
			snprintf(key, sizeof(key), "%u", i);
		if (json_object_set_new(obj, by_result ? mthp_result_name((enum mthp_result)i) : key,
					json_integer((json_int_t)counts[i]))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/* {"total": N, "out_of_memory": N, "memcg_limit": N}, always present. */
static json_t *write_fails_json(const struct mthp_run_report *r)
{
	json_t *obj = json_pack("{s:I}", "total", (json_int_t)writes_failed(r));

	for (unsigned f = 0; obj && f < MTHP_NR_WRITE_FAILS; f++)
		json_object_set_new(obj, mthp_write_fail_name(f),
				    json_integer((json_int_t)r->writes_failed[f]));
	return obj;
}

static json_t *run_json(const struct mthp_run_report *r, uint32_t profiles,
			const struct mthp_geometry *geo)
{
	json_t *tlb = json_object();
	json_t *run;

	for (unsigned p = 0; tlb && p < MTHP_TLB_NR_PROFILES; p++) {
		if (!(profiles & (1u << p)))
			continue;
		if (json_object_set_new(tlb, mthp_tlb_profile_name((enum mthp_tlb_profile)p),
					json_integer((json_int_t)tlb_total(r, (enum mthp_tlb_profile)p)))) {
			json_decref(tlb);
			return NULL;
		}
	}
	run = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:o, s:o, s:o}",
			"policy", run_name(r->policy),
			"collapses_by_order", counts_json(r->collapses_by_order,
							  MTHP_MAX_PMD_ORDER + 1, false),
			"recollapses", (json_int_t)r->recollapses,
			"rebuilds", (json_int_t)r->rebuilds,
			"resident_pages", (json_int_t)r->resident_pages,
			"resident_bytes", (json_int_t)(r->resident_pages * geo->page_size),
			"pages_written", (json_int_t)r->pages_written,
			"pages_filled", (json_int_t)r->pages_filled,
			"bloat_percent", bloat_percent(r),
			"ptes_scanned", (json_int_t)r->ptes_scanned,
			"pages_copied", (json_int_t)r->pages_copied,
			"wakeups", (json_int_t)r->wakeups,
			"tlb_entries", tlb,
			"scan_results", counts_json(r->scan_results, MTHP_NR_RESULTS, true),
			"failed_attempts", counts_json(r->failed_by_result, MTHP_NR_RESULTS, true));
	if (run && json_object_set_new(run, "writes_failed", write_fails_json(r))) {
		json_decref(run);
		return NULL;
	}
	return run;
}

static int print_json(FILE *out, const struct mthp_scenario *sc, uint64_t seed,
		      const struct mthp_geometry *geo, const struct mthp_run_report *runs,
		      size_t n)
{
	uint32_t profiles = profiles_of(sc, geo);
	json_t *list = json_array();
	json_t *doc;
	int ret = 0;

	for (size_t i = 0; list && i < n; i++) {
		json_t *run = run_json(&runs[i], profiles, geo);

		if (!run || json_array_append_new(list, run)) {
			json_decref(list);
			return -ENOMEM;
		}
	}
	doc = json_pack("{s:s, s:s, s:I, s:i, s:f, s:o}", "format", "mthp-sim 1",
			"scenario", sc->file, "seed", (json_int_t)seed,
			"page_size", (int)geo->page_size, "simulated_seconds", runs[0].sim_ns / 1e9,
			"runs", list);
	if (!doc)
		return -ENOMEM;
	if (json_dumpf(doc, out, JSON_INDENT(2)))
		ret = -EIO;
	fputc('\n', out);
	json_decref(doc);
	return ret;
}

/* ---- map ---- */

static int draw_map(const struct sim_opts *o, const struct mthp_scenario *sc,
		    const struct mthp_geometry *geo, const struct mthp_run_report *runs,
		    size_t n, FILE *err)
{
	struct mthp_map_panel panels[MAX_RUNS];
	struct mthp_map_point points[MAX_RUNS];
	char labels[MAX_RUNS][64];
	struct mthp_map_plot plot = { .points = points };
	uint32_t profiles = profiles_of(sc, geo);
	enum mthp_tlb_profile prof = MTHP_TLB_X86_64;
	char title[96], msg[256];

	for (unsigned p = 0; p < MTHP_TLB_NR_PROFILES; p++) {
		if (profiles & (1u << p)) {
			prof = (enum mthp_tlb_profile)p;
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		double bloat = (double)runs[i].pages_filled;
		double tlb = (double)tlb_total(&runs[i], prof);
		size_t k;

		panels[i].title = run_name(runs[i].policy);
		panels[i].snap = &runs[i].final;
		/* runs that land on one point share it: "legacy, upstream" */
		for (k = 0; k < plot.nr_points; k++)
			if (points[k].bloat == bloat && points[k].tlb == tlb)
				break;
		if (k == plot.nr_points) {
			snprintf(labels[k], sizeof(labels[k]), "%s", run_name(runs[i].policy));
			points[k] = (struct mthp_map_point){ labels[k], bloat, tlb };
			plot.nr_points++;
		} else {
			size_t used = strlen(labels[k]);

			snprintf(labels[k] + used, sizeof(labels[k]) - used, ", %s",
				 run_name(runs[i].policy));
		}
	}
	snprintf(title, sizeof(title), "pages filled by collapse vs TLB entries (%s)",
		 mthp_tlb_profile_name(prof));
	plot.title = title;
	if (mthp_map_render(o->map, panels, n, o->compare && profiles ? &plot : NULL,
			    msg, sizeof(msg))) {
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

static int write_snapshot(const char *path, const struct mthp_snapshot *snap, FILE *err)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f) {
		fprintf(err, "mthp sim: %s: %s\n", path, strerror(errno));
		return 1;
	}
	ret = mthp_snapshot_write(snap, f);
	if (fclose(f) || ret) {
		fprintf(err, "mthp sim: %s: write error\n", path);
		return 1;
	}
	return 0;
}

/*
 * A workload that writes more than the machine (or its cgroup) holds is
 * cut short: a condition of the run, reported, not an error of mthp.
 */
static void warn_write_fails(const struct mthp_run_report *r, FILE *err)
{
	if (!writes_failed(r))
		return;
	fprintf(err, "mthp sim: warning: %s run: %" PRIu64
		" writes failed, the workload was cut short (", run_name(r->policy),
		writes_failed(r));
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

	clock_gettime(CLOCK_MONOTONIC, &pg.start);
	for (size_t i = 0; i <= o->nr_policies; i++) {
		struct mthp_run_opts ro = { .progress = show_progress, .progress_ctx = &pg };
		struct mthp_diag diag = { .warn = NULL };

		ro.policy = i ? o->policies[i - 1] : MTHP_RUN_NO_COLLAPSE;
		pg.label = run_name(ro.policy);
		if (trace && ro.policy != MTHP_RUN_NO_COLLAPSE) {
			fprintf(trace, "# mthp sim: %s, policy %s, seed %" PRIu64 "\n", sc->file,
				run_name(ro.policy), seed);
			ro.trace = trace;
		}
		if (mthp_scenario_run(sc, s, seed, &ro, &runs[i], &diag)) {
			if (pg.shown)
				fputc('\n', err);
			fprintf(err, "mthp sim: %s run: %s\n", run_name(ro.policy), diag.msg);
			return 1;
		}
		(*nr_runs)++;
		warn_write_fails(&runs[i], err);
	}
	if (pg.shown)
		fprintf(err, "\r%60s\r", "");
	return 0;
}

int cmd_sim(int argc, char **argv, FILE *out, FILE *err)
{
	struct sim_opts o = { .policies = { MTHP_POLICY_UPSTREAM }, .nr_policies = 1 };
	struct mthp_run_report runs[MAX_RUNS];
	struct mthp_scenario sc;
	struct mthp_settings s;
	FILE *trace = NULL;
	size_t nr_runs = 0;
	int status;

	status = parse_opts(argc, argv, &o, out, err);
	if (status) {
		mthp_opts_free(&sim_spec, &o);
		return status < 0 ? 0 : status;
	}
	status = mthp_cli_check_output(err, "sim", "--map", o.map) ?:
		 mthp_cli_check_output(err, "sim", "--snapshot", o.snapshot) ?:
		 mthp_cli_check_output(err, "sim", "--trace", o.trace);
	if (status)
		goto out_opts;
	status = load(&o, &sc, &s, err);
	if (status)
		goto out_opts;
	if (o.trace) {
		trace = fopen(o.trace, "w");
		if (!trace) {
			fprintf(err, "mthp sim: %s: %s\n", o.trace, strerror(errno));
			status = 1;
			goto out_scenario;
		}
	}
	status = run_all(&o, &sc, &s, runs, &nr_runs, trace, err);
	if (!status) {
		uint64_t seed = o.seed_given ? o.seed : sc.seed;

		if (o.json)
			status = print_json(out, &sc, seed, &s.geo, runs, nr_runs) ? 1 : 0;
		else
			print_text(out, &sc, seed, &s.geo, runs, nr_runs);
	}
	if (!status && o.map)
		status = draw_map(&o, &sc, &s.geo, runs, nr_runs, err);
	if (!status && o.snapshot)
		status = write_snapshot(o.snapshot, &runs[nr_runs - 1].final, err);
	for (size_t i = 0; i < nr_runs; i++)
		mthp_run_report_free(&runs[i]);
	if (trace && fclose(trace) && !status) {
		fprintf(err, "mthp sim: %s: write error\n", o.trace);
		status = 1;
	}
out_scenario:
	mthp_scenario_free(&sc);
out_opts:
	mthp_opts_free(&sim_spec, &o);
	return status;
}
