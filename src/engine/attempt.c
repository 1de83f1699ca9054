// SPDX-License-Identifier: MIT
/*
 * attempt.c - what attempting one window checks before anything is copied:
 * the swap-in step and the isolate step of collapse_huge_page, with the
 * per-order limits of the policy (rules.c).  The plan calls them on the
 * scan it planned from; the simulator calls them on a scan of the window's
 * PTEs in the table it holds locked, so both decide from the same code.
 * Nothing here reads a PTE outside the window: the totals of the scan only
 * tell when a window cannot break a limit.
 *
 * The isolate step walks the window's PTEs in address order and stops at
 * the first one that breaks a rule.  As in scan.c the first such PTE is
 * found from the bitmaps: the candidates are the PTE where the none count
 * goes above its limit, the one where the shared count does, the first
 * non-present PTE, the first PTE that fails outright, and the first page of
 * a folio of the target order or larger; the earliest wins.  Only the folio
 * check can fall on the same PTE as another: the kernel checks that a page
 * is anon, not lazyfree and within the shared limit before it looks at its
 * folio's order, and looks at the order before it locks, counts references
 * and isolates from the LRU.
 */
#include "engine/engine_internal.h"

static enum mthp_result swapin_step(const struct mthp_window_limits *lim,
				     const struct mthp_scan *s, uint32_t off,
				     unsigned order)
{
	if (lim->swap_veto && s->nr_swap && bits_any(s->swap, off, BIT(order)))
		return SCAN_EXCEED_SWAP_PTE;
	return SCAN_SUCCEED;
}

enum mthp_result mthp_attempt_swapin(const struct mthp_rules *r,
				     const struct mthp_scan *s,
				     uint32_t off, unsigned order)
{
	return swapin_step(&r->limits[order], s, off, order);
}

uint32_t mthp_first_large_folio(const struct mthp_scan *s, uint32_t off,
				unsigned order)
{
	uint32_t len = BIT(order);

	for (uint32_t k = 0;; k++) {
		uint32_t pos = bits_nth(s->large, off, len, k);

		if (pos == MTHP_NO_BIT || s->folio_orders[pos] >= order)
			return pos;
	}
}

/* Does an outright failure of this state come after the folio-order check? */
static bool fails_after_folio_check(uint8_t state)
{
	return state == MTHP_PTE_LOCKED || state == MTHP_PTE_PINNED ||
	       state == MTHP_PTE_NOT_LRU;
}

static uint32_t window_crossing(const uint64_t *map, uint32_t off,
				uint32_t len, uint32_t limit)
{
	if (limit >= len)
		return MTHP_NO_BIT;
	/* below PMD order the limits are mostly 0: the first bit, one ctz */
	if (!limit)
		return bits_first(map, off, len);
	return bits_nth(map, off, len, limit);
}

/* *stop: the PTE that broke a rule, or off + 2^order when none did. */
static enum mthp_result isolate_step(const struct mthp_window_limits *lim,
				      const struct mthp_scan *s, uint32_t off,
				      unsigned order, bool swapped_in, uint32_t *stop)
{
	uint32_t len = BIT(order);
	uint32_t first = MTHP_NO_BIT;
	enum mthp_result result = SCAN_SUCCEED;
	uint32_t pos;

	/* a window holds no more of a class than the whole table */
	if (s->nr_none > lim->max_none) {
		pos = window_crossing(s->none, off, len, lim->max_none);
		if (pos != MTHP_NO_BIT) {
			first = pos;
			result = SCAN_EXCEED_NONE_PTE;
		}
	}
	if (s->nr_shared > lim->max_shared) {
		pos = window_crossing(s->shared_pte, off, len, lim->max_shared);
		if (pos < first) {
			first = pos;
			result = SCAN_EXCEED_SHARED_PTE;
		}
	}
	if (!swapped_in && s->nr_swap) {
		pos = bits_first(s->swap, off, len);
		if (pos < first) {
			first = pos;
			result = SCAN_PTE_NON_PRESENT;
		}
	}
	if (s->nr_bad) {
		pos = bits_first(s->bad, off, len);
		if (pos < first) {
			first = pos;
			result = mthp_pte_failure(s->ptes[pos]);
		}
	}
	if (lim->folio_veto && s->has_large) {
		pos = mthp_first_large_folio(s, off, order);
		if (pos != MTHP_NO_BIT &&
		    (pos < first ||
		     (pos == first && fails_after_folio_check(s->ptes[pos])))) {
			first = pos;
			result = SCAN_PTE_MAPPED_HUGEPAGE;
		}
	}
	*stop = first == MTHP_NO_BIT ? off + len : first;
	if (result != SCAN_SUCCEED)
		return result;
	if (lim->need_young && !bits_any(s->young, off, len))
		return SCAN_LACK_REFERENCED_PAGE;
	return SCAN_SUCCEED;
}

enum mthp_result mthp_attempt_isolate(const struct mthp_rules *r,
				      const struct mthp_scan *s,
				      uint32_t off, unsigned order,
				      bool swapped_in)
{
	uint32_t stop;

	return isolate_step(&r->limits[order], s, off, order, swapped_in, &stop);
}

enum mthp_result mthp_attempt_isolate_at(const struct mthp_rules *r,
					 const struct mthp_scan *s,
					 uint32_t off, unsigned order,
					 bool swapped_in, uint32_t *stop)
{
	return isolate_step(&r->limits[order], s, off, order, swapped_in, stop);
}

enum mthp_result mthp_attempt_at(const struct mthp_rules *r,
				 const struct mthp_scan *s,
				 uint32_t off, unsigned order, uint32_t *stop)
{
	const struct mthp_window_limits *lim = &r->limits[order];
	enum mthp_result result = swapin_step(lim, s, off, order);

	if (result != SCAN_SUCCEED) {
		*stop = off;
		return result;
	}
	return isolate_step(lim, s, off, order, true, stop);
}

enum mthp_result mthp_attempt(const struct mthp_rules *r,
			      const struct mthp_scan *s,
			      uint32_t off, unsigned order)
{
	uint32_t stop;

	return mthp_attempt_at(r, s, off, order, &stop);
}
