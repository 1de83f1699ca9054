// SPDX-License-Identifier: MIT
/*
 * plan.c - the plan of one PMD range: the prechecks, the scan, and the walk
 * driven by the engine's own prediction of every attempt (mthp_attempt):
 * what khugepaged or MADV_COLLAPSE would do if nothing changed between the
 * scan and the collapse and every allocation succeeded.
 */
#include "engine/engine_internal.h"

enum mthp_result mthp_precheck(const struct mthp_rules *r,
			       const struct mthp_range *range)
{
	uint64_t pmd_size = mthp_pmd_size(&r->settings->geo);

	if (!r->eligible)
		return SCAN_VMA_CHECK;
	if (range->pmd_addr < range->vma_start ||
	    range->pmd_addr > range->vma_end ||
	    range->vma_end - range->pmd_addr < pmd_size)
		return SCAN_ADDRESS_RANGE;
	switch (range->kind) {
	case MTHP_PMD_NONE:
		return SCAN_NO_PTE_TABLE;
	case MTHP_PMD_HUGE:
	case MTHP_PMD_ZERO:	/* a huge PMD too, as the kernel's scan sees it */
		return SCAN_PMD_MAPPED;
	case MTHP_PMD_TABLE:
		break;
	}
	return SCAN_SUCCEED;
}

/*
 * The walk with the plan's attempts.  deferred: the scan, when its folio
 * bitmap is still to be filled (before the first attempt that can veto a
 * window for a large folio).
 */
static void plan_walk(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		      const struct mthp_scan *scan, struct mthp_walk *walk,
		      struct mthp_scan *deferred, mthp_visit_fn fn, void *ctx)
{
	struct mthp_window win;

	mthp_walk_init(walk, r, scan);
	mthp_walk_observe(walk, fn, ctx);
	while (mthp_walk_next(walk, &win)) {
		uint32_t off = win.offset;
		unsigned order = win.order;
		enum mthp_result result;

		if (deferred && r->limits[order].folio_veto) {
			mthp_scan_large(deferred, r);
			deferred = NULL;
		}
		result = mthp_attempt(r, scan, off, order);
		/*
		 * Built from registers: storing the result into win and copying
		 * win would read back three separate stores in one load.
		 */
		struct mthp_window done = {
			.offset = (uint16_t)off, .order = (uint8_t)order, .result = (uint8_t)result,
		};

		if (result == SCAN_SUCCEED) {
			out->collapses[out->nr_collapses++] = done;
			/* a PMD window is the whole table: its count is the total */
			out->pages_filled += order == r->pmd_order ? scan->nr_none :
					     bits_count(scan->none, off, BIT(order));
			if (order == r->pmd_order)
				out->underused = mthp_underused(r->settings, scan->nr_none);
		} else {
			out->attempts[out->nr_attempts++] = done;
		}
		mthp_walk_report(walk, result);
	}
}

bool mthp_underused(const struct mthp_settings *s, uint32_t zero_filled)
{
	return s->shrink_underused && s->max_ptes_none < s->geo.ptes_per_pmd - 1 &&
	       zero_filled > s->max_ptes_none;
}

void mthp_plan_walk(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		    const struct mthp_scan *scan, struct mthp_walk *walk)
{
	plan_walk(out, r, scan, walk, NULL, NULL, NULL);
}

void mthp_plan_range(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		     const struct mthp_range *range, struct mthp_planner *work)
{
	mthp_plan_range_observed(out, r, range, work, NULL, NULL);
}

void mthp_plan_range_observed(struct mthp_pmd_plan *out, const struct mthp_rules *r,
			      const struct mthp_range *range, struct mthp_planner *work,
			      mthp_visit_fn fn, void *ctx)
{
	out->pmd_addr = range->pmd_addr;
	out->pages_filled = 0;
	out->underused = 0;
	out->nr_collapses = 0;
	out->nr_attempts = 0;
	out->scan = mthp_precheck(r, range);
	if (out->scan != SCAN_SUCCEED)
		return;
	/* most plans never attempt below PMD order: no folio bitmap for them */
	mthp_scan_deferred(&work->scan, r, range->ptes, range->folio_orders);
	out->scan = work->scan.result;
	if (out->scan == SCAN_SUCCEED)
		plan_walk(out, r, &work->scan, &work->walk, &work->scan, fn, ctx);
}
