// SPDX-License-Identifier: MIT
/*
 * sweep_text.c - a sweep as a table for people, one row per run, and as
 * JSON for tools (sweep_report.h).  The row labels are the ones `mthp sim`
 * uses and defines in its --help, the man page and docs/scenarios.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report/report.h"
#include "report/sweep_report.h"

static double mib(const struct mthp_sweep *sw, uint64_t pages)
{
	return (double)pages * sw->settings.geo.page_size / 1048576.0;
}

static void header(FILE *out, const struct mthp_sweep *sw, const char *profile_why)
{
	const char *source = sw->source ? sw->source : "sweep";

	if (sw->snapshot)
		fprintf(out, "%s: %u setting%s x %u polic%s, khugepaged's passes (%s) until "
			"nothing changes = %zu runs\n", source, sw->nr_combos,
			sw->nr_combos == 1 ? "" : "s", sw->nr_policies,
			sw->nr_policies == 1 ? "y" : "ies", mthp_context_name(sw->context),
			sw->nr_runs);
	else if (sw->recording)
		fprintf(out, "%s: %u setting%s x %u replays (no collapse and each policy) = "
			"%zu replays\n", source, sw->nr_combos, sw->nr_combos == 1 ? "" : "s",
			mthp_sweep_runs_per_combo(sw), sw->nr_runs);
	else
		fprintf(out, "%s, seed %" PRIu64 ": %u setting%s x %u runs (no collapse and "
			"each policy) = %zu runs\n", source, sw->seed, sw->nr_combos,
			sw->nr_combos == 1 ? "" : "s", mthp_sweep_runs_per_combo(sw), sw->nr_runs);
	fprintf(out, "TLB entries: profile %s (%s)\n", mthp_tlb_profile_name(sw->profile),
		profile_why);
	fprintf(out, "baseline: %s: %.1f MiB resident, %" PRIu64 " TLB entries\n\n",
		mthp_sweep_baseline_name(sw), mib(sw, sw->baseline.resident_pages), sw->baseline_tlb);
}

static void row(FILE *out, const struct mthp_sweep *sw, size_t i)
{
	const struct mthp_sweep_run *run = &sw->runs[i];
	char setting[256];

	mthp_sweep_combo_label(sw, run->combo, setting, sizeof(setting));
	fprintf(out, "%4zu %c %-11s %9.1f %+7.1f%% %8" PRIu64 " %9" PRIu64 " %+6.0f%% %8"
		PRIu64 " %8" PRIu64 "  %s\n", i + 1, run->on_front ? '*' : ' ',
		mthp_run_name(run->policy), mib(sw, run->report.resident_pages),
		run->memory_change * 100, run->report.pages_filled, run->tlb_entries,
		run->tlb_change * 100, run->report.recollapses, run->report.pages_copied,
		setting);
}

void mthp_sweep_text(FILE *out, const struct mthp_sweep *sw, double budget,
		     const char *profile_why)
{
	char words[1024];

	header(out, sw, profile_why);
	fprintf(out, "%4s %c %-11s %9s %8s %8s %9s %7s %8s %8s  %s\n", "#", ' ', "policy",
		"resident", "memory", "filled", "TLB", "TLB", "re-coll", "copied", "setting");
	fprintf(out, "%4s %c %-11s %9s %8s %8s %9s %7s %8s %8s\n", "", ' ', "", "MiB", "",
		"pages", "entries", "", "apses", "pages");
	for (size_t i = 0; i < sw->nr_runs; i++)
		row(out, sw, i);
	mthp_sweep_recommendation(sw, budget, words, sizeof(words));
	fprintf(out, "\n* on the Pareto front: no other run needs less memory and fewer TLB "
		"entries.\nmemory and TLB: change from the baseline. filled: none or zero-page "
		"PTEs collapses filled (bloat). re-collapses: collapses into a larger folio of "
		"an earlier collapse's pages (creep). copied: pages collapses copied. "
		"`mthp sim --help` defines every column.\n\n%s\n", words);
}

unsigned mthp_sweep_echo(FILE *out, const struct mthp_sweep *sw, size_t i)
{
	unsigned n = 0;

	for (unsigned a = 0; a < sw->nr_axes; a++) {
		const char *v = mthp_sweep_value(sw, sw->runs[i].combo, a);
		char now[32];

		if (!mthp_settings_get(&sw->settings, sw->axes[a].knob, now, sizeof(now)) &&
		    !strcmp(now, v))
			continue;
		fprintf(out, "echo %s > /sys/kernel/mm/transparent_hugepage/%s\n", v,
			sw->axes[a].knob);
		n++;
	}
	return n;
}

static json_t *axes_json(const struct mthp_sweep *sw)
{
	json_t *axes = json_array();

	for (unsigned a = 0; axes && a < sw->nr_axes; a++) {
		json_t *values = json_array();

		for (unsigned v = 0; values && v < sw->axes[a].nr_values; v++)
			json_array_append_new(values, json_string(sw->axes[a].values[v]));
		if (!values || json_array_append_new(axes, json_pack("{s:s, s:o}", "knob",
						     sw->axes[a].knob, "values", values))) {
			json_decref(axes);
			return NULL;
		}
	}
	return axes;
}

static json_t *setting_json(const struct mthp_sweep *sw, unsigned combo)
{
	json_t *obj = json_object();

	for (unsigned a = 0; obj && a < sw->nr_axes; a++)
		if (json_object_set_new(obj, sw->axes[a].knob,
					json_string(mthp_sweep_value(sw, combo, a)))) {
			json_decref(obj);
			return NULL;
		}
	return obj;
}

static json_t *runs_json(const struct mthp_sweep *sw,
			 json_t *(*run_json)(const struct mthp_run_report *r, void *ctx),
			 void *ctx)
{
	json_t *runs = json_array();

	for (size_t i = 0; runs && i < sw->nr_runs; i++) {
		const struct mthp_sweep_run *run = &sw->runs[i];
		json_t *setting = setting_json(sw, run->combo);
		json_t *report = run_json(&run->report, ctx);
		json_t *obj = json_pack("{s:I, s:o, s:s, s:b, s:I, s:f, s:f, s:o}",
					"row", (json_int_t)(i + 1), "setting", setting,
					"policy", mthp_run_name(run->policy),
					"on_front", run->on_front,
					"tlb_entries", (json_int_t)run->tlb_entries,
					"memory_change", run->memory_change,
					"tlb_change", run->tlb_change, "report", report);

		if (!obj || json_array_append_new(runs, obj)) {
			json_decref(runs);
			return NULL;
		}
	}
	return runs;
}

static json_t *index_or_null(long i)
{
	return i < 0 ? json_null() : json_integer(i + 1);
}

json_t *mthp_sweep_json(const struct mthp_sweep *sw, double budget, const char *profile_why,
			json_t *(*run_json)(const struct mthp_run_report *r, void *ctx),
			void *ctx)
{
	struct mthp_sweep_choice c;
	json_t *front = json_array();
	char words[1024];

	mthp_sweep_choose(sw, budget, &c);
	mthp_sweep_recommendation(sw, budget, words, sizeof(words));
	for (size_t i = 0; front && i < sw->nr_runs; i++)
		if (sw->runs[i].on_front && json_array_append_new(front, json_integer((json_int_t)i + 1)))
			return json_decref(front), NULL;
	/* a scenario's runs draw from the seed; a snapshot's and a recording's do not */
	return json_pack("{s:s, s:o?, s:o, s:s, s:s, s:f, s:o, s:{s:o, s:I}, s:o, s:o, "
			 "s:{s:s, s:o, s:o}}",
			 "format", "mthp-sweep 1",
			 "source", sw->source ? mthp_json_text(sw->source) : NULL,
			 "seed", sw->scenario ? json_integer((json_int_t)sw->seed) : json_null(),
			 "tlb_profile", mthp_tlb_profile_name(sw->profile),
			 "tlb_profile_source", profile_why,
			 "budget", budget,
			 "axes", axes_json(sw),
			 "baseline", "report", run_json(&sw->baseline, ctx),
			 "tlb_entries", (json_int_t)sw->baseline_tlb,
			 "runs", runs_json(sw, run_json, ctx),
			 "front", front,
			 "recommendation", "text", words,
			 "within_budget", index_or_null(c.within_budget),
			 "fewest_tlb", index_or_null(c.fewest_tlb));
}
