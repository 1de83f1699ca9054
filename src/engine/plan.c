// SPDX-License-Identifier: MIT
/*
 * plan.c - the plan of one PMD range: the prechecks, the scan, and the walk
 * driven by the engine's own prediction of every attempt (mthp_attempt):
 * what khugepaged or MADV_COLLAPSE would do if nothing changed between the
 * scan and the collapse and every allocation succeeded.
 *
 * The walk's attempts are not independent: one whose isolation fails puts
 * the folios it isolated back through the per-CPU LRU add batch, which
 * holds a reference to each until it drains, so a later attempt over one
 * of them fails its reference check (SCAN_PAGE_COUNT).  The plan follows
 * that batch within the range (struct lru_batch).
 */
#include <string.h>

#include "engine/engine_internal.h"

/* Folios a per-CPU LRU add batch holds before it drains (a folio_batch). */
#define LRU_BATCH_SIZE 31

/*
 * The batch as far as the plan's range is concerned: the PTEs of the
 * range whose folio waits in it, and how many folios do, those of the
 * ranges before it in the pass included (mthp_range.lru_batch).  It
 * drains when it is full, when a large folio joins it (the new folio of
 * a collapse, or a large one put back), and after a swap-in.
 */
struct lru_batch {
	uint64_t held[MTHP_BITMAP_WORDS];
	uint32_t nr;
};

static void lru_drain(struct lru_batch *b)
{
	memset(b->held, 0, sizeof(b->held));
	b->nr = 0;
}

/* A PTE whose page the isolate step takes: present (swapped in by then). */
static bool isolates_page(uint8_t state)
{
	return state != MTHP_PTE_NONE && state != MTHP_PTE_ZERO;
}

/* Does PTE i map a page of a large folio (a swap entry comes in small)? */
static bool in_large_folio(const struct mthp_scan *s, uint32_t i)
{
	return s->folio_orders && s->ptes[i] != MTHP_PTE_SWAP &&
	       s->folio_orders[i] != MTHP_NO_FOLIO && s->folio_orders[i] > 0;
}

/*
 * The isolate step's folio loop over [off, stop), the PTEs before the
 * one that breaks a rule: a page the batch holds fails the attempt with
 * SCAN_PAGE_COUNT; a failed attempt puts back what it isolated, the small
 * folios from the last PTE back to the first, then the large ones.
 * rule: the result of the rules, which applies when the loop gets through.
 */
static enum mthp_result lru_isolate(struct lru_batch *b, const struct mthp_scan *s,
				    uint32_t off, uint32_t stop, enum mthp_result rule)
{
	enum mthp_result result = rule;
	bool large = false;
	uint32_t end = stop;

	for (uint32_t i = off; i < stop; i++) {
		if (!isolates_page(s->ptes[i]))
			continue;
		if (b->held[i / 64] >> (i % 64) & 1) {
			result = SCAN_PAGE_COUNT;
			end = i;
			break;
		}
		large |= in_large_folio(s, i);
	}
	if (result == SCAN_SUCCEED)
		return result;
	for (uint32_t i = end; i-- > off;) {
		if (!isolates_page(s->ptes[i]) || in_large_folio(s, i))
			continue;
		b->held[i / 64] |= 1ull << (i % 64);
		if (++b->nr == LRU_BATCH_SIZE)
			lru_drain(b);
	}
	if (large)
		lru_drain(b);
	return result;
}

/* One attempt: the swap-in step, then the isolate step with the batch. */
static enum mthp_result plan_attempt(struct lru_batch *b, const struct mthp_rules *r,
				     const struct mthp_scan *s, uint32_t off, unsigned order)
{
	enum mthp_result result = mthp_attempt_swapin(r, s, off, order);
	uint32_t stop;

	if (result != SCAN_SUCCEED)
		return result;
	if (s->nr_swap && bits_any(s->swap, off, BIT(order)))
		lru_drain(b);	/* the swapped-in folios drained the batch */
	result = mthp_attempt_isolate_at(r, s, off, order, true, &stop);
	result = lru_isolate(b, s, off, stop, result);
	if (result == SCAN_SUCCEED)
		lru_drain(b);	/* the new folio, large, drains it */
	return result;
}

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
	struct lru_batch batch = { .nr = out->lru_batch_start % LRU_BATCH_SIZE };
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
		result = plan_attempt(&batch, r, scan, off, order);
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
	out->lru_batch_end = batch.nr;
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
	out->lru_batch_start = out->lru_batch_end = range->lru_batch;
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
	if (out->scan != SCAN_SUCCEED)
		return;
	if (r->policy == MTHP_POLICY_GUARDED) {
		/* guarded's walk itself goes past windows that hold a large folio */
		mthp_scan_large(&work->scan, r);
		plan_walk(out, r, &work->scan, &work->walk, NULL, fn, ctx);
		return;
	}
	plan_walk(out, r, &work->scan, &work->walk, &work->scan, fn, ctx);
}
