// SPDX-License-Identifier: MIT
/*
 * scan.c - the scan of one page table (collapse_scan_pmd's PTE loop).
 *
 * The kernel walks the PTEs one by one and stops at the first one that
 * breaks a rule.  Here the PTE states are first turned into per-class
 * bitmaps with the widest vector unit the CPU has (classify.c), and the
 * first failure is then found from the bitmaps: the PTE where a
 * count first goes above its limit is the (limit+1)-th set bit of that
 * class, and the earliest of those candidates, or of the PTEs that fail
 * outright, ends the scan.  The counters are then those the kernel had
 * when it stopped.  The result is the same as the PTE-by-PTE walk.
 */
#include "engine/engine_internal.h"

enum mthp_result mthp_pte_failure(uint8_t state)
{
	switch (state) {
	case MTHP_PTE_UFFD_WP:
		return SCAN_PTE_UFFD_WP;
	case MTHP_PTE_SPECIAL:
		return SCAN_PAGE_NULL;
	case MTHP_PTE_LAZYFREE:
		return SCAN_PAGE_LAZYFREE;
	case MTHP_PTE_NOT_ANON:
		return SCAN_PAGE_ANON;
	case MTHP_PTE_LOCKED:
		return SCAN_PAGE_LOCK;
	case MTHP_PTE_PINNED:
		return SCAN_PAGE_COUNT;
	case MTHP_PTE_NOT_LRU:
		return SCAN_PAGE_LRU;
	}
	/* not a state that fails on its own: not in the alphabet */
	return SCAN_FAIL;
}

/*
 * The folio bitmap is only needed where the walk can veto a window for an
 * existing large folio (upstream below PMD order) and for guarded.
 */
static bool wants_large(const struct mthp_scan *s, const struct mthp_rules *r)
{
	if (!s->folio_orders)
		return false;
	/* guarded's count test discounts large folios at every order */
	if (r->policy == MTHP_POLICY_GUARDED)
		return true;
	return r->policy == MTHP_POLICY_UPSTREAM && (r->orders & (BIT(r->pmd_order) - 1));
}

void mthp_scan_large(struct mthp_scan *s, const struct mthp_rules *r)
{
	s->has_large = wants_large(s, r) &&
		       mthp_classify_large(s, s->folio_orders, r->nr_ptes / 64);
}

/* The PTE where the count of a class goes above limit, or MTHP_NO_BIT. */
static uint32_t limit_crossing(const uint64_t *map, uint32_t n, uint32_t total,
			       uint32_t limit)
{
	if (total <= limit)
		return MTHP_NO_BIT;
	return bits_nth(map, 0, n, limit);
}

/*
 * A class's count up to and including PTE first: none if the class is
 * empty, limit + 1 if its crossing ended the scan, else counted.
 */
static uint32_t count_to(const uint64_t *map, uint32_t total, uint32_t first,
			 bool crossed, uint32_t limit)
{
	if (!total)
		return 0;
	if (crossed)
		return limit + 1;
	return bits_prefix(map, first + 1);
}

static void consider(uint32_t pos, enum mthp_result why, uint32_t *first,
		     enum mthp_result *result)
{
	if (pos < *first) {
		*first = pos;
		*result = why;
	}
}

void mthp_scan(struct mthp_scan *s, const struct mthp_rules *r,
	       const uint8_t *ptes, const uint8_t *folio_orders)
{
	mthp_scan_deferred(s, r, ptes, folio_orders);
	mthp_scan_large(s, r);
}

void mthp_scan_deferred(struct mthp_scan *s, const struct mthp_rules *r,
			const uint8_t *ptes, const uint8_t *folio_orders)
{
	bool khugepaged = r->context == MTHP_CONTEXT_KHUGEPAGED;
	uint32_t n = r->nr_ptes;
	uint32_t first = MTHP_NO_BIT;
	enum mthp_result result = SCAN_SUCCEED;
	uint32_t none_or_zero, unmapped, shared, referenced;

	s->nr_ptes = n;
	s->ptes = ptes;
	s->folio_orders = folio_orders;
	s->folio_fills = NULL;
	s->has_large = false;
	mthp_classify(s, ptes, n / 64, khugepaged);

	consider(limit_crossing(s->none, n, s->nr_none, r->scan_max_none),
		 SCAN_EXCEED_NONE_PTE, &first, &result);
	consider(limit_crossing(s->swap, n, s->nr_swap, r->scan_max_swap),
		 SCAN_EXCEED_SWAP_PTE, &first, &result);
	consider(limit_crossing(s->shared_pte, n, s->nr_shared, r->scan_max_shared),
		 SCAN_EXCEED_SHARED_PTE, &first, &result);
	if (s->nr_bad) {
		uint32_t bad = bits_first(s->bad, 0, n);

		consider(bad, mthp_pte_failure(ptes[bad]), &first, &result);
	}

	if (first == MTHP_NO_BIT) {
		first = n;
		none_or_zero = s->nr_none;
		unmapped = s->nr_swap;
		shared = s->nr_shared;
		referenced = s->nr_young;
	} else {
		/* the kernel's counters stop at the PTE that ended the scan */
		none_or_zero = count_to(s->none, s->nr_none, first,
					result == SCAN_EXCEED_NONE_PTE, r->scan_max_none);
		unmapped = count_to(s->swap, s->nr_swap, first,
				    result == SCAN_EXCEED_SWAP_PTE, r->scan_max_swap);
		shared = count_to(s->shared_pte, s->nr_shared, first,
				  result == SCAN_EXCEED_SHARED_PTE, r->scan_max_shared);
		/* the young bit of the PTE that ended it is never looked at */
		referenced = s->nr_young ? bits_prefix(s->young, first) : 0;
	}
	/* referenced is counted by khugepaged only */
	if (!khugepaged)
		referenced = 0;
	if (result == SCAN_SUCCEED && khugepaged &&
	    (referenced == 0 || (unmapped > 0 && referenced < n / 2)))
		result = SCAN_LACK_REFERENCED_PAGE;
	/* the counters are stored once, from registers */
	s->fail_index = first;
	s->none_or_zero = none_or_zero;
	s->unmapped = unmapped;
	s->shared = shared;
	s->referenced = referenced;
	s->result = result;
}
