// SPDX-License-Identifier: MIT
/*
 * plan_json.c - the plan as the JSON document of plan-contract.md, built
 * with jansson; totals of a plan.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "report/report.h"

void mthp_format_addr(char *buf, size_t len, uint64_t addr)
{
	snprintf(buf, len, "%" PRIx64, addr);
}

void mthp_plan_totals_add(struct mthp_plan_totals *t, const struct mthp_pmd_plan *plan)
{
	t->ranges++;
	if ((unsigned)plan->scan < MTHP_NR_RESULTS)
		t->scan_results[plan->scan]++;
	t->pages_filled += plan->pages_filled;
	t->underused += plan->underused;
	for (uint32_t i = 0; i < plan->nr_collapses; i++)
		t->collapses_by_order[plan->collapses[i].order]++;
}

json_t *mthp_plan_json_new(enum mthp_policy policy, enum mthp_context context)
{
	return json_pack("{s:s, s:s, s:s, s:[]}", "format", "mthp-plan 1",
			 "policy", mthp_policy_name(policy),
			 "context", mthp_context_name(context), "pmds");
}

static json_t *window_json(const struct mthp_geometry *geo, uint64_t pmd_addr,
			   const struct mthp_window *win, bool with_result)
{
	char addr[24];

	mthp_format_addr(addr, sizeof(addr),
			 pmd_addr + (uint64_t)win->offset * geo->page_size);
	if (with_result)
		return json_pack("{s:s, s:i, s:s}", "addr", addr, "order", win->order,
				 "result", mthp_result_name(win->result));
	return json_pack("{s:s, s:i}", "addr", addr, "order", win->order);
}

static int append_windows(json_t *list, const struct mthp_geometry *geo,
			  uint64_t pmd_addr, const struct mthp_window *wins,
			  uint32_t nr, bool with_result)
{
	for (uint32_t i = 0; i < nr; i++) {
		json_t *w = window_json(geo, pmd_addr, &wins[i], with_result);

		if (!w || json_array_append_new(list, w))
			return -ENOMEM;
	}
	return 0;
}

int mthp_plan_json_add(json_t *doc, const struct mthp_geometry *geo,
		       const struct mthp_pmd_plan *plan)
{
	json_t *pmds = json_object_get(doc, "pmds");
	json_t *collapses = json_array();
	json_t *attempts = json_array();
	json_t *range;
	char addr[24];

	if (!pmds || !collapses || !attempts)
		goto out_free;
	if (append_windows(collapses, geo, plan->pmd_addr, plan->collapses,
			   plan->nr_collapses, false) ||
	    append_windows(attempts, geo, plan->pmd_addr, plan->attempts,
			   plan->nr_attempts, true))
		goto out_free;
	mthp_format_addr(addr, sizeof(addr), plan->pmd_addr);
	range = json_pack("{s:s, s:s, s:o, s:o, s:b}", "addr", addr,
			  "scan", mthp_result_name(plan->scan),
			  "collapses", collapses, "attempts", attempts,
			  "underused", plan->underused != 0);
	/* json_pack's "o" took the references, also on failure */
	if (!range)
		return -ENOMEM;
	return json_array_append_new(pmds, range) ? -ENOMEM : 0;

out_free:
	json_decref(collapses);
	json_decref(attempts);
	return -ENOMEM;
}

int mthp_plan_json_finish(json_t *doc, const struct mthp_plan_totals *t)
{
	json_t *by_order = json_object();
	json_t *totals;

	if (!by_order)
		return -ENOMEM;
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++) {
		char key[8];

		if (!t->collapses_by_order[o])
			continue;
		snprintf(key, sizeof(key), "%u", o);
		if (json_object_set_new(by_order, key,
					json_integer((json_int_t)t->collapses_by_order[o]))) {
			json_decref(by_order);
			return -ENOMEM;
		}
	}
	totals = json_pack("{s:o, s:I, s:I}", "collapses_by_order", by_order,
			   "pages_filled", (json_int_t)t->pages_filled,
			   "underused", (json_int_t)t->underused);
	if (!totals)
		return -ENOMEM;
	return json_object_set_new(doc, "totals", totals) ? -ENOMEM : 0;
}
