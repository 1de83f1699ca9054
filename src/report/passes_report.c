// SPDX-License-Identifier: MIT
/*
 * passes_report.c - plans over passes for people and tools: each pass's
 * ranges and totals, and how the passes ended, in words ("stable after 2
 * passes", "creeps: order 6 (256K) -> 9 (2M) in 4 passes, 480 pages
 * filled"), or as one JSON document ("mthp-plan-passes 1").
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report/report.h"

void mthp_passes_text_pass(FILE *out, const struct mthp_geometry *geo,
			   const struct mthp_pass_report *rep)
{
	char size[16];

	fprintf(out, "# pass %u: %" PRIu64 " collapse%s", rep->pass, rep->collapses,
		rep->collapses == 1 ? "" : "s");
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++) {
		if (!rep->collapses_by_order[o])
			continue;
		mthp_size_label(geo, o, size, sizeof(size));
		fprintf(out, " %s:%" PRIu64, size, rep->collapses_by_order[o]);
	}
	fprintf(out, ", %" PRIu64 " pages filled, %" PRIu64 " re-collapses, %" PRIu64
		" PTEs changed\n", rep->pages_filled, rep->recollapses, rep->ptes_changed);
}

void mthp_passes_words(const struct mthp_geometry *geo, const struct mthp_passes_summary *sum,
		       char *buf, size_t len)
{
	char from[16], to[16];
	int n;

	if (sum->creep_last_pass) {
		mthp_size_label(geo, sum->creep_from, from, sizeof(from));
		mthp_size_label(geo, sum->creep_to, to, sizeof(to));
		n = snprintf(buf, len, "creeps: order %u (%s) -> %u (%s) in %u passes, %" PRIu64
			     " pages filled", sum->creep_from, from, sum->creep_to, to,
			     sum->creep_last_pass, sum->pages_filled);
	} else {
		n = snprintf(buf, len, "no creep, %" PRIu64 " pages filled", sum->pages_filled);
	}
	if (n < 0 || (size_t)n >= len)
		return;
	if (sum->end == MTHP_PASSES_STABLE)
		n += snprintf(buf + n, len - (size_t)n, "; stable after %u pass%s (the last "
			      "changed nothing)", sum->passes, sum->passes == 1 ? "" : "es");
	else
		n += snprintf(buf + n, len - (size_t)n, "; still changing after %u passes "
			      "(the bound)", sum->passes);
	if (sum->rebuilds && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "; %" PRIu64 " collapse%s rebuilt a folio at "
			 "its own order (no folio veto)", sum->rebuilds,
			 sum->rebuilds == 1 ? "" : "s");
}

json_t *mthp_passes_json_summary(const struct mthp_geometry *geo,
				 const struct mthp_passes_summary *sum)
{
	char words[512];

	mthp_passes_words(geo, sum, words, sizeof(words));
	return json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:i, s:i, s:i, s:s}",
			 "end", sum->end == MTHP_PASSES_STABLE ? "stable" : "bound",
			 "passes", (int)sum->passes,
			 "collapses", (json_int_t)sum->collapses,
			 "pages_filled", (json_int_t)sum->pages_filled,
			 "recollapses", (json_int_t)sum->recollapses,
			 "rebuilds", (json_int_t)sum->rebuilds,
			 "creep_from_order", (int)sum->creep_from,
			 "creep_to_order", (int)sum->creep_to,
			 "creep_last_pass", (int)sum->creep_last_pass,
			 "words", words);
}
