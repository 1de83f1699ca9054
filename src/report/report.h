/* SPDX-License-Identifier: MIT */
/*
 * report.h - output of plans: the JSON document of plan-contract.md
 * ("mthp-plan 1", through jansson) and the text form for people.
 */
#ifndef MTHP_REPORT_H
#define MTHP_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include <mthp/engine.h>
#include <mthp/explain.h>
#include <mthp/passes.h>

/*
 * json_text.c: text from outside the program (a path, a comm) as a JSON
 * string, each byte that is not part of valid UTF-8 made '?'; NULL when
 * memory runs out (or text is NULL).
 */
json_t *mthp_json_text(const char *text);

/* Totals over the ranges of a plan. */
struct mthp_plan_totals {
	uint64_t collapses_by_order[MTHP_MAX_PMD_ORDER + 1];
	uint64_t pages_filled;
	uint64_t underused;		/* THPs the shrinker would split again */
	uint64_t ranges;
	uint64_t scan_results[MTHP_NR_RESULTS];
};

void mthp_plan_totals_add(struct mthp_plan_totals *t, const struct mthp_pmd_plan *plan);

/* plan_json.c: {"format", "policy", "context", "pmds": [], "totals"} */
json_t *mthp_plan_json_new(enum mthp_policy policy, enum mthp_context context);
/* Append one range; -ENOMEM. */
int mthp_plan_json_add(json_t *doc, const struct mthp_geometry *geo,
		       const struct mthp_pmd_plan *plan);
/* Set "totals"; -ENOMEM. */
int mthp_plan_json_finish(json_t *doc, const struct mthp_plan_totals *t);
/* Lower-case hex without 0x and without leading zeros. */
void mthp_format_addr(char *buf, size_t len, uint64_t addr);

/* plan_text.c */
void mthp_plan_text_header(FILE *out, enum mthp_policy policy,
			   enum mthp_context context);
void mthp_plan_text_range(FILE *out, const struct mthp_geometry *geo,
			  const struct mthp_pmd_plan *plan);
void mthp_plan_text_totals(FILE *out, const struct mthp_geometry *geo,
			   const struct mthp_plan_totals *t);

/* "64K", "2M": the size of a folio of this order. */
void mthp_size_label(const struct mthp_geometry *geo, unsigned order, char *buf, size_t len);

/* passes_report.c: plans over passes (mthp/passes.h) */
void mthp_passes_text_pass(FILE *out, const struct mthp_geometry *geo,
			   const struct mthp_pass_report *rep);
/* How the passes ended, in one sentence. */
void mthp_passes_words(const struct mthp_geometry *geo, const struct mthp_passes_summary *sum,
		       char *buf, size_t len);
json_t *mthp_passes_json_summary(const struct mthp_geometry *geo,
				 const struct mthp_passes_summary *sum);

/* explain_report.c: `mthp plan --explain` (mthp/explain.h) */
void mthp_explain_text(FILE *out, const struct mthp_geometry *geo,
		       const struct mthp_explain *e);
json_t *mthp_explain_json(const struct mthp_geometry *geo, uint64_t pmd_addr,
			  const struct mthp_explain *e);

#endif /* MTHP_REPORT_H */
