// SPDX-License-Identifier: MIT
/*
 * scan.c - the scan of one page table (collapse_scan_pmd's PTE loop).
 *
 * The kernel walks the PTEs one by one and stops at the first one that
 * breaks a rule.  Here the PTE states are first turned into per-class
 * bitmaps, 16 PTEs per SSE2 step (or one by one where SSE2 is missing),
 * and the first failure is then found from the bitmaps: the PTE where a
 * count first goes above its limit is the (limit+1)-th set bit of that
 * class, and the earliest of those candidates, or of the PTEs that fail
 * outright, ends the scan.  The counters are then those the kernel had
 * when it stopped.  The result is the same as the PTE-by-PTE walk.
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* Per-class bits of 64 PTEs. */
struct class_bits {
	uint64_t none, swap, young, old, shared_young, shared_old, lazyfree;
};

#if defined(__SSE2__)
static inline uint64_t eq_mask(__m128i v, char c)
{
	return (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
}

/* Classify 64 PTEs (fewer is never needed: N is a multiple of 64). */
static void classify64(const uint8_t *ptes, struct class_bits *b)
{
	memset(b, 0, sizeof(*b));
	for (unsigned i = 0; i < 64; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(ptes + i));

		b->none |= (eq_mask(v, MTHP_PTE_NONE) | eq_mask(v, MTHP_PTE_ZERO)) << i;
		b->swap |= eq_mask(v, MTHP_PTE_SWAP) << i;
		b->young |= eq_mask(v, MTHP_PTE_YOUNG) << i;
		b->old |= eq_mask(v, MTHP_PTE_OLD) << i;
		b->shared_young |= eq_mask(v, MTHP_PTE_SHARED_YOUNG) << i;
		b->shared_old |= eq_mask(v, MTHP_PTE_SHARED_OLD) << i;
		b->lazyfree |= eq_mask(v, MTHP_PTE_LAZYFREE) << i;
	}
}

/* Bits of the PTEs of 64 whose folio order is 2 or more. */
static uint64_t large64(const uint8_t *orders)
{
	const __m128i two = _mm_set1_epi8(2);
	const __m128i none = _mm_set1_epi8((char)MTHP_NO_FOLIO);
	uint64_t bits = 0;

	for (unsigned i = 0; i < 64; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(orders + i));
		__m128i ge2 = _mm_cmpeq_epi8(_mm_max_epu8(v, two), v);
		__m128i large = _mm_andnot_si128(_mm_cmpeq_epi8(v, none), ge2);

		bits |= (uint64_t)(uint16_t)_mm_movemask_epi8(large) << i;
	}
	return bits;
}
#else
static void classify64(const uint8_t *ptes, struct class_bits *b)
{
	memset(b, 0, sizeof(*b));
	for (unsigned i = 0; i < 64; i++) {
		uint64_t bit = 1ull << i;

		switch (ptes[i]) {
		case MTHP_PTE_NONE:
		case MTHP_PTE_ZERO:
			b->none |= bit;
			break;
		case MTHP_PTE_SWAP:
			b->swap |= bit;
			break;
		case MTHP_PTE_YOUNG:
			b->young |= bit;
			break;
		case MTHP_PTE_OLD:
			b->old |= bit;
			break;
		case MTHP_PTE_SHARED_YOUNG:
			b->shared_young |= bit;
			break;
		case MTHP_PTE_SHARED_OLD:
			b->shared_old |= bit;
			break;
		case MTHP_PTE_LAZYFREE:
			b->lazyfree |= bit;
			break;
		}
	}
}

static uint64_t large64(const uint8_t *orders)
{
	uint64_t bits = 0;

	for (unsigned i = 0; i < 64; i++)
		if (orders[i] >= 2 && orders[i] != MTHP_NO_FOLIO)
			bits |= 1ull << i;
	return bits;
}
#endif

/* Fill the bitmaps of s from the PTE states. */
static void build_bitmaps(struct mthp_scan *s, const struct mthp_rules *r,
			  const uint8_t *ptes, const uint8_t *folio_orders)
{
	bool khugepaged = r->context == MTHP_CONTEXT_KHUGEPAGED;
	uint32_t words = r->nr_ptes / 64;

	for (uint32_t w = 0; w < words; w++) {
		struct class_bits b;
		uint64_t known, anon;

		classify64(ptes + w * 64, &b);
		anon = b.young | b.old | b.shared_young | b.shared_old;
		known = b.none | b.swap | anon | b.lazyfree;
		s->none[w] = b.none;
		s->swap[w] = b.swap;
		s->shared_pte[w] = b.shared_young | b.shared_old;
		s->young[w] = b.young | b.shared_young;
		/* a clean lazyfree folio: khugepaged leaves it to reclaim */
		s->occupied[w] = khugepaged ? anon : anon | b.lazyfree;
		s->bad[w] = ~known | (khugepaged ? b.lazyfree : 0);
		/* none and swap PTEs map no folio, whatever the orders say */
		s->large[w] = folio_orders ?
			large64(folio_orders + w * 64) & ~(b.none | b.swap) : 0;
	}
}

/* The PTE where the count of a class goes above limit, or MTHP_NO_BIT. */
static uint32_t limit_crossing(const uint64_t *map, uint32_t n, uint32_t limit)
{
	if (limit >= n)
		return MTHP_NO_BIT;
	return mthp_bitmap_nth(map, 0, n, limit);
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
	uint32_t n = r->nr_ptes;
	uint32_t first = MTHP_NO_BIT;
	enum mthp_result result = SCAN_SUCCEED;
	uint32_t upto;
	uint32_t bad;

	s->nr_ptes = n;
	s->ptes = ptes;
	s->folio_orders = folio_orders;
	build_bitmaps(s, r, ptes, folio_orders);

	consider(limit_crossing(s->none, n, r->scan_max_none),
		 SCAN_EXCEED_NONE_PTE, &first, &result);
	consider(limit_crossing(s->swap, n, r->scan_max_swap),
		 SCAN_EXCEED_SWAP_PTE, &first, &result);
	consider(limit_crossing(s->shared_pte, n, r->scan_max_shared),
		 SCAN_EXCEED_SHARED_PTE, &first, &result);
	bad = mthp_bitmap_nth(s->bad, 0, n, 0);
	if (bad != MTHP_NO_BIT)
		consider(bad, mthp_pte_failure(ptes[bad]), &first, &result);

	/* the kernel's counters stop at the PTE that ended the scan */
	upto = first == MTHP_NO_BIT ? n : first + 1;
	s->fail_index = first == MTHP_NO_BIT ? n : first;
	s->none_or_zero = mthp_bitmap_count(s->none, 0, upto);
	s->unmapped = mthp_bitmap_count(s->swap, 0, upto);
	s->shared = mthp_bitmap_count(s->shared_pte, 0, upto);
	s->referenced = r->context == MTHP_CONTEXT_KHUGEPAGED ?
		mthp_bitmap_count(s->young, 0, upto) : 0;
	s->present = mthp_bitmap_count(s->occupied, 0, n);

	if (result == SCAN_SUCCEED && r->context == MTHP_CONTEXT_KHUGEPAGED &&
	    (s->referenced == 0 || (s->unmapped > 0 && s->referenced < n / 2)))
		result = SCAN_LACK_REFERENCED_PAGE;
	s->result = result;
}
