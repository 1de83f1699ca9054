// SPDX-License-Identifier: MIT
/*
 * visit.c - the plan of a snapshot: every pmd line, in file order, planned
 * by the engine (mthp_plan_range) under the rules of its VMA and handed to
 * a callback.  The ranges are one pass: the LRU add batch a range leaves
 * is the next one's (in context madvise, within its VMA).  The plan and the planner's workspace are large, so
 * they are allocated once per call, not on the stack.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

int mthp_snapshot_plan(const struct mthp_snapshot *snap,
		       const struct mthp_settings *s, enum mthp_policy policy,
		       enum mthp_context context, mthp_plan_fn fn, void *ctx)
{
	struct mthp_pmd_plan *plan;
	struct mthp_planner *work;
	struct mthp_rules rules;
	size_t rules_vma = SIZE_MAX;
	uint32_t lru_batch = 0;		/* drained when the pass starts */
	int err = 0;

	/* The engine reads N PTEs per range: N is the settings' geometry. */
	if (s->geo.ptes_per_pmd != snap->geo.ptes_per_pmd ||
	    s->geo.page_size != snap->geo.page_size)
		return -EINVAL;
	plan = malloc(sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	work = malloc(sizeof(*work));
	if (!work) {
		err = -ENOMEM;
		goto out_free_plan;
	}
	for (size_t i = 0; i < snap->nr_pmds; i++) {
		const struct mthp_snapshot_pmd *pmd = &snap->pmds[i];
		const struct mthp_snapshot_vma *vma = &snap->vmas[pmd->vma];
		struct mthp_range range = {
			.pmd_addr = pmd->addr,
			.vma_start = vma->start,
			.vma_end = vma->end,
			.kind = pmd->kind,
			.ptes = pmd->ptes,
			.folio_orders = pmd->folio_orders,
			.lru_batch = lru_batch,
		};

		if (pmd->vma != rules_vma) {
			mthp_rules_init(&rules, s, policy, context, vma->flags);
			rules_vma = pmd->vma;
			/* MADV_COLLAPSE drains at each VMA (one call per VMA) */
			if (context == MTHP_CONTEXT_MADVISE)
				lru_batch = 0;
		}
		mthp_plan_range(plan, &rules, &range, work);
		lru_batch = plan->lru_batch_end;
		fn(ctx, snap, pmd, plan);
	}
	free(work);
out_free_plan:
	free(plan);
	return err;
}
