// SPDX-License-Identifier: MIT
/*
 * plan_text.c - the plan in text, for people: one line per PMD range with
 * its scan result, its collapses and its failed attempts, then totals.
 * Tools should use the JSON form; this one may change.
 */
#include <inttypes.h>

#include <mthp/tlb.h>

#include "report/report.h"

/* Failed attempts listed one by one up to this many, else counted. */
#define MAX_LISTED_ATTEMPTS 4

void mthp_size_label(const struct mthp_geometry *geo, unsigned order, char *buf, size_t len)
{
	mthp_tlb_size_label((uint64_t)geo->page_size << order, buf, len);
}

void mthp_plan_text_header(FILE *out, enum mthp_policy policy,
			   enum mthp_context context)
{
	fprintf(out, "# policy %s, context %s\n", mthp_policy_name(policy),
		mthp_context_name(context));
	fprintf(out, "# %-14s %-26s %s\n", "pmd", "scan", "collapses (address order size), failed attempts");
}

void mthp_plan_text_range(FILE *out, const struct mthp_geometry *geo,
			  const struct mthp_pmd_plan *plan)
{
	char size[32];

	fprintf(out, "%-16" PRIx64 " %-26s", plan->pmd_addr, mthp_result_name(plan->scan));
	for (uint32_t i = 0; i < plan->nr_collapses; i++) {
		const struct mthp_window *w = &plan->collapses[i];

		mthp_size_label(geo, w->order, size, sizeof(size));
		fprintf(out, " %" PRIx64 ":o%u:%s",
			plan->pmd_addr + (uint64_t)w->offset * geo->page_size,
			w->order, size);
	}
	if (plan->underused)
		fputs(" (underused)", out);
	if (plan->nr_collapses && plan->nr_attempts)
		fputs(" |", out);
	if (plan->nr_attempts <= MAX_LISTED_ATTEMPTS) {
		for (uint32_t i = 0; i < plan->nr_attempts; i++) {
			const struct mthp_window *w = &plan->attempts[i];

			fprintf(out, " !%" PRIx64 ":o%u:%s",
				plan->pmd_addr + (uint64_t)w->offset * geo->page_size,
				w->order, mthp_result_name(w->result));
		}
	} else {
		/* many failures: how many of each result */
		uint32_t by_result[MTHP_NR_RESULTS] = { 0 };

		for (uint32_t i = 0; i < plan->nr_attempts; i++)
			by_result[plan->attempts[i].result]++;
		fprintf(out, " %u failed:", plan->nr_attempts);
		for (unsigned r = 0; r < MTHP_NR_RESULTS; r++)
			if (by_result[r])
				fprintf(out, " %ux%s", by_result[r],
					mthp_result_name((enum mthp_result)r));
	}
	fputc('\n', out);
}

void mthp_plan_text_totals(FILE *out, const struct mthp_geometry *geo,
			   const struct mthp_plan_totals *t)
{
	uint64_t collapses = 0;
	char size[32];
	const char *sep = " (";

	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
		collapses += t->collapses_by_order[o];
	fprintf(out, "totals: %" PRIu64 " ranges, %" PRIu64 " collapses", t->ranges, collapses);
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++) {
		if (!t->collapses_by_order[o])
			continue;
		mthp_size_label(geo, o, size, sizeof(size));
		fprintf(out, "%s%s: %" PRIu64, sep, size, t->collapses_by_order[o]);
		sep = ", ";
	}
	fprintf(out, "%s, %" PRIu64 " pages filled", collapses ? ")" : "", t->pages_filled);
	if (t->underused)
		fprintf(out, "; %" PRIu64 " THP%s underused: the shrinker splits %s again under"
			" memory pressure", t->underused, t->underused == 1 ? "" : "s",
			t->underused == 1 ? "it" : "them");
	fputc('\n', out);
}
