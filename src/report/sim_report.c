// SPDX-License-Identifier: MIT
/*
 * sim_report.c - what `mthp sim` prints of its runs: the table for people
 * (one column per run, one row per figure, the notes under it) and the
 * "mthp-sim 1" JSON document, with every figure's definition in `mthp sim
 * --help`, the man page and docs/scenarios.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <mthp/notes.h>
#include <mthp/tlb.h>

#include "report/report.h"
#include "report/sim_report.h"

uint32_t mthp_sim_profiles(const struct mthp_scenario *sc, const struct mthp_geometry *geo)
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

int mthp_plot_profile(uint32_t profiles, int machine)
{
	if (machine >= 0 && machine < MTHP_TLB_NR_PROFILES && (profiles & (1u << machine)))
		return machine;
	return profiles ? __builtin_ctz(profiles) : -1;
}

uint64_t mthp_sim_tlb_total(const struct mthp_run_report *r, enum mthp_tlb_profile p)
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

uint64_t mthp_sim_writes_failed(const struct mthp_run_report *r)
{
	uint64_t n = 0;

	for (unsigned f = 0; f < MTHP_NR_WRITE_FAILS; f++)
		n += r->writes_failed[f];
	return n;
}

static uint64_t get_writes_failed(const struct mthp_run_report *r, const void *arg)
{
	(void)arg;
	return mthp_sim_writes_failed(r);
}

/* Writes the machine could not take, by reason; nothing when none failed. */
static void text_write_fails(FILE *out, const struct mthp_run_report *runs, size_t n)
{
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any |= mthp_sim_writes_failed(&runs[i]) != 0;
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
	return mthp_sim_tlb_total(r, *(const enum mthp_tlb_profile *)arg);
}

static void text_field(FILE *out, const char *label, const struct mthp_run_report *runs,
		       size_t n, size_t offset, bool dash)
{
	text_row_u64(out, label, runs, n, get_field, &offset, dash);
}

/* A row of page counts, at offset in each run, in MiB (mib: MiB per page). */
static void text_mib(FILE *out, const char *label, const struct mthp_run_report *runs,
		     size_t n, size_t offset, double mib)
{
	fprintf(out, "%-28s", label);
	for (size_t i = 0; i < n; i++)
		fprintf(out, " %12.1f", (double)get_field(&runs[i], &offset) * mib);
	fputc('\n', out);
}

/*
 * What the underused-THP shrinker took back, and what it would take back
 * under memory pressure at the end; each part only when not all zero.
 */
static void text_shrinker(FILE *out, const struct mthp_run_report *runs, size_t n,
			  double mib)
{
	bool split = false, would = false;

	for (size_t i = 0; i < n; i++) {
		split |= runs[i].shrink_splits != 0;
		would |= runs[i].underused_thps != 0;
	}
	if (split) {
		text_field(out, "THPs split by the shrinker", runs, n,
			   offsetof(struct mthp_run_report, shrink_splits), false);
		text_mib(out, "  MiB it freed", runs, n,
			 offsetof(struct mthp_run_report, shrink_freed), mib);
	}
	if (would) {
		text_field(out, "THPs underused at the end", runs, n,
			   offsetof(struct mthp_run_report, underused_thps), false);
		text_mib(out, "  MiB it would free", runs, n,
			 offsetof(struct mthp_run_report, underused_pages), mib);
	}
}

/* What reclaim paged out when memory was short, when any run did. */
static void text_reclaim(FILE *out, const struct mthp_run_report *runs, size_t n,
			 double mib)
{
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any |= runs[i].reclaim_paged_out != 0;
	if (any)
		text_mib(out, "MiB reclaim paged out", runs, n,
			 offsetof(struct mthp_run_report, reclaim_paged_out), mib);
}

/* The partially mapped folios at the end, when any run has one. */
static void text_partial(FILE *out, const struct mthp_run_report *runs, size_t n,
			 double mib)
{
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any |= runs[i].partial_folios != 0;
	if (!any)
		return;
	text_field(out, "partially mapped folios", runs, n,
		   offsetof(struct mthp_run_report, partial_folios), false);
	text_mib(out, "  MiB mapped nowhere", runs, n,
		 offsetof(struct mthp_run_report, partial_unmapped), mib);
}

static uint64_t get_walk(const struct mthp_run_report *r, const void *arg)
{
	return r->walk_outcomes[*(const unsigned *)arg];
}

/* What came of the ranges whose scan succeeded: never a bare "succeeded". */
static void text_walk_rows(FILE *out, const struct mthp_run_report *runs, size_t n)
{
	static const char *const labels[3] = {
		"    of which collapsed", "    every attempt failed", "    none passed its test",
	};

	for (unsigned w = 0; w < 3; w++)
		text_row_u64(out, labels[w], runs, n, get_walk, &w, true);
}

/*
 * A heading, then a row for each SCAN_* result some run counted; under
 * SCAN_SUCCEED of the scan results, what the walk made of those ranges.
 */
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
		if (r == SCAN_SUCCEED && get == get_scan)
			text_walk_rows(out, runs, n);
	}
}

void mthp_sim_rows(FILE *out, const struct mthp_geometry *geo, uint32_t profiles,
		   const struct mthp_run_report *runs, size_t n, bool replay)
{
	double mib = (double)geo->page_size / (1 << 20);

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
	if (!replay)
		text_field(out, "  of which crept", runs, n,
			   offsetof(struct mthp_run_report, crept), true);
	text_field(out, "rebuilds at the same order", runs, n,
		   offsetof(struct mthp_run_report, rebuilds), true);
	text_field(out, "folios allocated", runs, n,
		   offsetof(struct mthp_run_report, collapse_allocs), true);
	text_field(out, "  and dropped unused", runs, n,
		   offsetof(struct mthp_run_report, collapse_allocs_dropped), true);
	text_mib(out, "resident MiB", runs, n, offsetof(struct mthp_run_report, resident_pages),
		 mib);
	text_shrinker(out, runs, n, mib);
	text_reclaim(out, runs, n, mib);
	text_partial(out, runs, n, mib);
	if (!replay) {
		text_field(out, "pages written", runs, n,
			   offsetof(struct mthp_run_report, pages_written), false);
		text_write_fails(out, runs, n);
	}
	text_field(out, "pages filled (bloat)", runs, n,
		   offsetof(struct mthp_run_report, pages_filled), true);
	if (!replay) {
		fprintf(out, "%-28s", "  % of pages written");
		for (size_t i = 0; i < n; i++) {
			if (runs[i].policy == MTHP_RUN_NO_COLLAPSE)
				fprintf(out, " %12s", "-");
			else
				fprintf(out, " %11.1f%%", bloat_percent(&runs[i]));
		}
		fputc('\n', out);
	}
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

static void table(FILE *out, const struct mthp_scenario *sc, uint64_t seed,
		  const struct mthp_geometry *geo, const struct mthp_run_report *runs,
		  size_t n)
{
	fprintf(out, "mthp sim: %s, seed %" PRIu64 ", %.1f s simulated, %" PRIu64
		" khugepaged wake-ups per run", sc->file, seed, runs[0].sim_ns / 1e9,
		runs[n - 1].wakeups);
	if (sc->mmu >= 0)	/* what guarded reads */
		fprintf(out, ", MMU %s", mthp_tlb_profile_name((enum mthp_tlb_profile)sc->mmu));
	fputs("\n\n", out);
	fprintf(out, "%-28s", "");
	for (size_t i = 0; i < n; i++)
		fprintf(out, " %12s", mthp_run_name(runs[i].policy));
	fputc('\n', out);
	mthp_sim_rows(out, geo, mthp_sim_profiles(sc, geo), runs, n, false);
}

/* ---- notes ---- */

static void runs_for_notes(const struct mthp_run_report *runs, size_t n,
			   struct mthp_note_run *nr)
{
	for (size_t i = 0; i < n; i++) {
		nr[i].policy = runs[i].policy;
		memcpy(nr[i].collapses_by_order, runs[i].collapses_by_order,
		       sizeof(nr[i].collapses_by_order));
		nr[i].pages_filled = runs[i].pages_filled;
		nr[i].resident_pages = runs[i].resident_pages;
		nr[i].partial_unmapped = runs[i].partial_unmapped;
	}
}

static void note_line(void *ctx, const char *note)
{
	fprintf(ctx, "  - %s\n", note);
}

static void note_json(void *ctx, const char *note)
{
	json_array_append_new(ctx, json_string(note));
}

static json_t *notes_json(const struct mthp_settings *s, const struct mthp_run_report *runs,
			  size_t n)
{
	struct mthp_note_run nr[MTHP_SIM_MAX_RUNS];
	json_t *list = json_array();

	runs_for_notes(runs, n, nr);
	if (list)
		mthp_notes(s, nr, n, note_json, list);
	return list;
}

void mthp_sim_text(FILE *out, const struct mthp_scenario *sc, uint64_t seed,
		   const struct mthp_settings *s, const struct mthp_run_report *runs, size_t n)
{
	struct mthp_note_run nr[MTHP_SIM_MAX_RUNS];

	table(out, sc, seed, &s->geo, runs, n);
	runs_for_notes(runs, n, nr);
	fprintf(out, "\nNotes (every row is defined in `mthp sim --help`):\n");
	if (!mthp_notes(s, nr, n, note_line, out))
		fprintf(out, "  - nothing to add.\n");
}

/* ---- the kernel's counters (--stats) ---- */

void mthp_sim_stats_text(FILE *out, const struct mthp_run_report *runs, size_t n)
{
	fprintf(out, "\nCounters by their kernel names, per run: WHERE NAME VALUE\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "# %s\n", mthp_run_name(runs[i].policy));
		for (size_t k = 0; k < runs[i].nr_stats; k++) {
			char where[96];

			sim_stat_where(&runs[i].final.geo, &runs[i].stats[k], where, sizeof(where));
			fprintf(out, "%s %s %" PRIu64 "\n", where, runs[i].stats[k].name,
				runs[i].stats[k].value);
		}
	}
}

/* {"vmstat": {NAME: N, ...}, "khugepaged": {...}, "hugepages-16kB": {...}, ...} */
static json_t *stats_json(const struct mthp_run_report *r)
{
	json_t *obj = json_object();

	for (size_t k = 0; obj && k < r->nr_stats; k++) {
		char group[32];
		json_t *g;

		sim_stat_group(&r->final.geo, &r->stats[k], group, sizeof(group));
		g = json_object_get(obj, group);
		if (!g) {
			g = json_object();
			/* a failed set drops the new object */
			if (json_object_set_new(obj, group, g))
				g = NULL;
		}
		if (!g || json_object_set_new(g, r->stats[k].name,
					      json_integer((json_int_t)r->stats[k].value))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
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
	json_t *obj = json_pack("{s:I}", "total", (json_int_t)mthp_sim_writes_failed(r));

	for (unsigned f = 0; obj && f < MTHP_NR_WRITE_FAILS; f++)
		json_object_set_new(obj, mthp_write_fail_name(f),
				    json_integer((json_int_t)r->writes_failed[f]));
	return obj;
}

json_t *mthp_sim_run_json(const struct mthp_run_report *r, uint32_t profiles,
			const struct mthp_geometry *geo)
{
	json_t *tlb = json_object();
	json_t *run;

	for (unsigned p = 0; tlb && p < MTHP_TLB_NR_PROFILES; p++) {
		if (!(profiles & (1u << p)))
			continue;
		if (json_object_set_new(tlb, mthp_tlb_profile_name((enum mthp_tlb_profile)p),
					json_integer((json_int_t)mthp_sim_tlb_total(r, (enum mthp_tlb_profile)p)))) {
			json_decref(tlb);
			return NULL;
		}
	}
	run = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:o, "
			"s:o, s:o, s:o}",
			"policy", mthp_run_name(r->policy),
			"collapses_by_order", counts_json(r->collapses_by_order,
							  MTHP_MAX_PMD_ORDER + 1, false),
			"recollapses", (json_int_t)r->recollapses,
			"crept", (json_int_t)r->crept,
			"rebuilds", (json_int_t)r->rebuilds,
			"collapse_allocs", (json_int_t)r->collapse_allocs,
			"collapse_allocs_dropped", (json_int_t)r->collapse_allocs_dropped,
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
			"scan_succeeded", json_pack("{s:I, s:I, s:I}",
						    "collapsed", (json_int_t)r->walk_outcomes[0],
						    "every_attempt_failed",
						    (json_int_t)r->walk_outcomes[1],
						    "none_passed_its_test",
						    (json_int_t)r->walk_outcomes[2]),
			"failed_attempts", counts_json(r->failed_by_result, MTHP_NR_RESULTS, true));
	if (run && json_object_set_new(run, "shrinker",
				       json_pack("{s:I, s:I, s:I, s:I}", "thps_split",
						 (json_int_t)r->shrink_splits, "pages_freed",
						 (json_int_t)r->shrink_freed, "underused_thps_at_end",
						 (json_int_t)r->underused_thps, "underused_pages_at_end",
						 (json_int_t)r->underused_pages))) {
		json_decref(run);
		return NULL;
	}
	if (run && json_object_set_new(run, "reclaim",
				       json_pack("{s:I}", "pages_paged_out",
						 (json_int_t)r->reclaim_paged_out))) {
		json_decref(run);
		return NULL;
	}
	if (run && json_object_set_new(run, "partially_mapped",
				       json_pack("{s:I, s:I}", "folios",
						 (json_int_t)r->partial_folios, "pages_unmapped",
						 (json_int_t)r->partial_unmapped))) {
		json_decref(run);
		return NULL;
	}
	if (run && json_object_set_new(run, "writes_failed", write_fails_json(r))) {
		json_decref(run);
		return NULL;
	}
	return run;
}

json_t *mthp_sim_runs_json(const struct mthp_run_report *runs, size_t n, uint32_t profiles,
			   const struct mthp_geometry *geo, bool stats)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < n; i++) {
		json_t *run = mthp_sim_run_json(&runs[i], profiles, geo);

		if (run && stats && json_object_set_new(run, "stats", stats_json(&runs[i]))) {
			json_decref(run);
			run = NULL;
		}
		if (!run || json_array_append_new(list, run)) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

int mthp_sim_json(FILE *out, const struct mthp_scenario *sc, uint64_t seed,
		  const struct mthp_settings *s,
		  const struct mthp_run_report *runs, size_t n, bool stats)
{
	const struct mthp_geometry *geo = &s->geo;
	json_t *list = mthp_sim_runs_json(runs, n, mthp_sim_profiles(sc, geo), geo, stats);
	json_t *doc;
	int ret = 0;

	if (!list)
		return -ENOMEM;
	doc = json_pack("{s:s, s:o, s:I, s:i, s:f, s:o, s:o}", "format", "mthp-sim 1",
			"scenario", mthp_json_text(sc->file), "seed", (json_int_t)seed,
			"page_size", (int)geo->page_size, "simulated_seconds", runs[0].sim_ns / 1e9,
			"runs", list, "notes", notes_json(s, runs, n));
	if (!doc)
		return -ENOMEM;
	if (json_dumpf(doc, out, JSON_INDENT(2)))
		ret = -EIO;
	fputc('\n', out);
	json_decref(doc);
	return ret;
}

