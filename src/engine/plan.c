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

/*
 * The batch as far as the plan's range is concerned: the PTEs of the
 * range whose folio waits in it (any: some do), and how many folios do,
 * those of the ranges before it in the pass included (mthp_range.lru_batch).
 * It drains when it is full, when a large folio joins it (the new folio of
 * a collapse, or a large one put back), and after a swap-in.
 *
 * Large here is order 2 or more, as in the scan's large bitmap: anonymous
 * folios have no order 1.
 */
struct lru_batch {
	uint64_t held[MTHP_BITMAP_WORDS];	/* read only when any */
	uint32_t nr;
	bool any;
	/*
	 * The scan's large bitmap for the put-backs: filled (through
	 * writable, the scan itself) the first time one needs it, when the
	 * policy's walk did not; large_none: the range has no large folio.
	 */
	struct mthp_scan *writable;
	bool large_filled, large_none;
};

static void lru_drain(struct lru_batch *b)
{
	b->any = false;
	b->nr = 0;
}

/* The bits of word w that fall in [lo, hi). */
static uint64_t word_mask(uint32_t w, uint32_t lo, uint32_t hi)
{
	uint32_t a = w * 64 > lo ? w * 64 : lo, b = w * 64 + 64 < hi ? w * 64 + 64 : hi;

	if (a >= b)
		return 0;
	return (b - a == 64 ? ~0ull : ((1ull << (b - a)) - 1)) << (a - w * 64);
}

/* The first PTE of [lo, hi) whose page the batch holds, or hi. */
static uint32_t first_held(const struct lru_batch *b, uint32_t lo, uint32_t hi)
{
	if (!b->any)
		return hi;
	for (uint32_t w = lo / 64; w * 64 < hi; w++) {
		uint64_t x = b->held[w] & word_mask(w, lo, hi);

		if (x)
			return w * 64 + lowest_bit(x);
	}
	return hi;
}

/*
 * The pages of large folios among pages, in word w: from the scan's
 * bitmap when it has one (has_large, or filled here), else from the
 * folio orders.  The scan fills the bitmap only for the policies whose
 * walk needs it; has_large keeps saying that.
 */
static uint64_t large_pages(struct lru_batch *b, const struct mthp_scan *s, uint32_t w,
			    uint64_t pages)
{
	uint64_t big = 0;

	if (!s->folio_orders || !pages)
		return 0;
	if (s->has_large)
		return s->large[w] & pages;
	if (!b->large_filled && b->writable) {
		b->large_none = !mthp_classify_large(b->writable, s->folio_orders,
						     s->nr_ptes / 64);
		b->large_filled = true;
	}
	if (b->large_filled)
		return b->large_none ? 0 : s->large[w] & pages;
	for (uint64_t x = pages; x; x &= x - 1) {
		uint32_t i = w * 64 + lowest_bit(x);
		uint8_t o = s->folio_orders[i];

		if (s->ptes[i] != MTHP_PTE_SWAP && o != MTHP_NO_FOLIO && o >= 2)
			big |= x & -x;
	}
	return big;
}

/*
 * A failed attempt puts back the folios it isolated, the pages of
 * [off, end) that are not none (swap entries were swapped in): the small
 * ones from the last PTE back to the first, each drain at the batch's
 * size leaving the lowest (nr + small) % MTHP_LRU_BATCH_SIZE of them; then
 * the large ones, whose first drains the batch.
 */
static void lru_put_back(struct lru_batch *b, const struct mthp_scan *s,
			 uint32_t off, uint32_t end)
{
	uint64_t small[MTHP_BITMAP_WORDS];
	uint32_t first = off / 64, last = (end + 63) / 64, m = 0, keep;
	bool large = false;

	if (end <= off)
		return;
	for (uint32_t w = first; w < last; w++) {
		uint64_t pages = ~s->none[w] & word_mask(w, off, end);
		uint64_t big = large_pages(b, s, w, pages);

		small[w] = pages & ~big;
		large |= big != 0;
		m += popcount64(small[w]);
	}
	if (!b->any)
		memset(b->held, 0, sizeof(b->held));
	if (b->nr + m < MTHP_LRU_BATCH_SIZE) {
		for (uint32_t w = first; w < last; w++)
			b->held[w] |= small[w];
		b->nr += m;
		b->any = true;
	} else {
		keep = (b->nr + m) % MTHP_LRU_BATCH_SIZE;
		memset(b->held, 0, sizeof(b->held));
		b->any = keep != 0;
		b->nr = keep;
		for (uint32_t w = first; w < last && keep; w++) {
			uint32_t n = popcount64(small[w]);
			uint64_t x = small[w];

			if (n > keep) {
				x &= (1ull << nth_bit(x, keep)) - 1;
				n = keep;
			}
			b->held[w] = x;
			keep -= n;
		}
	}
	if (large)
		lru_drain(b);
}

/*
 * One attempt: the swap-in step, then the isolate step, whose folio loop
 * over [off, stop) (the PTEs before the one that breaks a rule) fails on
 * the first page the batch holds with SCAN_PAGE_COUNT; the rules' result
 * applies when it gets through.
 */
static enum mthp_result plan_attempt(struct lru_batch *b, const struct mthp_rules *r,
				     const struct mthp_scan *s, uint32_t off, unsigned order)
{
	uint32_t stop, held;
	enum mthp_result result = mthp_attempt_at(r, s, off, order, &stop);

	/* only the swap-in step gives SCAN_EXCEED_SWAP_PTE: nothing isolated */
	if (result == SCAN_EXCEED_SWAP_PTE)
		return result;
	if (s->nr_swap && bits_any(s->swap, off, BIT(order)))
		lru_drain(b);	/* the swapped-in folios drained the batch */
	held = first_held(b, off, stop);
	if (held < stop) {
		result = SCAN_PAGE_COUNT;
		stop = held;
	}
	if (result == SCAN_SUCCEED)
		lru_drain(b);	/* the new folio, large, drains it */
	else
		lru_put_back(b, s, off, stop);
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

/* An attempt's record in the plan, and what a collapse fills. */
static void plan_record(struct mthp_pmd_plan *out, const struct mthp_rules *r,
			const struct mthp_scan *scan, uint32_t off, unsigned order,
			enum mthp_result result)
{
	/*
	 * Built from registers: storing the result into a window and copying
	 * it would read back three separate stores in one load.
	 */
	struct mthp_window done = {
		.offset = (uint16_t)off, .order = (uint8_t)order, .result = (uint8_t)result,
	};

	if (result != SCAN_SUCCEED) {
		out->attempts[out->nr_attempts++] = done;
		return;
	}
	out->collapses[out->nr_collapses++] = done;
	/* a PMD window is the whole table: its count is the total */
	out->pages_filled += order == r->pmd_order ? scan->nr_none :
			     bits_count(scan->none, off, BIT(order));
	if (order == r->pmd_order)
		out->underused = mthp_underused(r->settings, scan->nr_none);
}

/*
 * The walk with the plan's attempts.  deferred: the scan, when its folio
 * bitmap is still to be filled (before the first attempt that can veto a
 * window for a large folio).
 *
 * Most ranges that collapse collapse whole: when the walk hands out the
 * PMD window first (mthp_walk_hands_out_pmd()), it is attempted before
 * the walk is set up, and the walk is only made when that fails, told the
 * result for the same window.  Setting the walk up, asking it for that
 * window and reporting to it took 6 of upstream's 51 ns a range at
 * max_ptes_none N-1 (bench_engine).
 */
static void plan_walk(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		      const struct mthp_scan *scan, struct mthp_walk *walk,
		      struct mthp_scan *deferred, mthp_visit_fn fn, void *ctx)
{
	struct lru_batch batch;
	struct mthp_window win;
	enum mthp_result first = SCAN_SUCCEED;
	bool pmd_first;

	/* an observer is told of every window visited: only the walk does that */
	if (!fn && mthp_plan_bulk_applies(r, scan)) {
		mthp_plan_bulk(out, r, scan, walk->full);
		return;
	}
	batch.nr = out->lru_batch_start < MTHP_LRU_BATCH_SIZE ? out->lru_batch_start : 0;
	batch.any = false;
	batch.writable = deferred;
	batch.large_filled = false;

	/* the PMD attempt needs no folio bitmap: no veto at that order */
	pmd_first = !fn && mthp_walk_hands_out_pmd(r, scan);
	if (pmd_first) {
		first = plan_attempt(&batch, r, scan, 0, r->pmd_order);
		plan_record(out, r, scan, 0, r->pmd_order, first);
		if (first == SCAN_SUCCEED) {
			/* every walk goes on past a collapsed window: past the range */
			out->lru_batch_end = batch.nr;
			return;
		}
	}
	mthp_walk_init(walk, r, scan);
	mthp_walk_observe(walk, fn, ctx);
	/* the walk hands out the same window first: told its result */
	if (pmd_first && mthp_walk_next(walk, &win))
		mthp_walk_report(walk, first);
	while (mthp_walk_next(walk, &win)) {
		uint32_t off = win.offset;
		unsigned order = win.order;
		enum mthp_result result;

		if (deferred && r->limits[order].folio_veto) {
			mthp_scan_large(deferred, r);
			deferred = NULL;
		}
		result = plan_attempt(&batch, r, scan, off, order);
		plan_record(out, r, scan, off, order, result);
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
	out->progress = 1;
	out->scan = mthp_precheck(r, range);
	if (out->scan != SCAN_SUCCEED)
		return;
	/* most plans never attempt below PMD order: no folio bitmap for them */
	mthp_scan_deferred(&work->scan, r, range->ptes, range->folio_orders);
	work->scan.folio_fills = range->folio_fills;
	out->scan = work->scan.result;
	out->progress = mthp_scan_progress(&work->scan);
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
