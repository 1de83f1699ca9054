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
	uint64_t none;		/* '.' '0' */
	uint64_t swap;		/* 'w' */
	uint64_t anon;		/* 'A' 'a' 'S' 's' */
	uint64_t shared;	/* 'S' 's' */
	uint64_t lower;		/* lower-case state: not young among the anon ones */
	uint64_t lazyfree;	/* 'l' */
};

#if defined(__SSE2__)
static inline uint64_t mask16(__m128i m)
{
	return (uint64_t)(uint16_t)_mm_movemask_epi8(m);
}

/*
 * Classify 64 PTEs, 16 per step.  Folding the case bit (0x20) makes 'A'
 * and 'a' one compare, and 'S' and 's' another; the case bit itself, moved
 * to the sign bit of each byte, tells young (upper case) from old.
 */
static void classify64(const uint8_t *ptes, struct class_bits *b)
{
	const __m128i case_bit = _mm_set1_epi8(0x20);

	memset(b, 0, sizeof(*b));
	for (unsigned i = 0; i < 64; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(ptes + i));
		__m128i folded = _mm_or_si128(v, case_bit);
		__m128i excl = _mm_cmpeq_epi8(folded, _mm_set1_epi8('a'));
		__m128i shared = _mm_cmpeq_epi8(folded, _mm_set1_epi8('s'));
		__m128i none = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(MTHP_PTE_NONE)),
					    _mm_cmpeq_epi8(v, _mm_set1_epi8(MTHP_PTE_ZERO)));

		b->none |= mask16(none) << i;
		b->swap |= mask16(_mm_cmpeq_epi8(v, _mm_set1_epi8(MTHP_PTE_SWAP))) << i;
		b->anon |= mask16(_mm_or_si128(excl, shared)) << i;
		b->shared |= mask16(shared) << i;
		/* a 16-bit shift by 2 puts each byte's bit 5 in its own bit 7 */
		b->lower |= mask16(_mm_slli_epi16(v, 2)) << i;
		b->lazyfree |= mask16(_mm_cmpeq_epi8(v, _mm_set1_epi8(MTHP_PTE_LAZYFREE))) << i;
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

		bits |= mask16(large) << i;
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
			b->anon |= bit;
			break;
		case MTHP_PTE_OLD:
			b->anon |= bit;
			b->lower |= bit;
			break;
		case MTHP_PTE_SHARED_YOUNG:
			b->anon |= bit;
			b->shared |= bit;
			break;
		case MTHP_PTE_SHARED_OLD:
			b->anon |= bit;
			b->shared |= bit;
			b->lower |= bit;
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

static inline uint32_t count_word(uint64_t x)
{
	return x ? popcount64(x) : 0;
}

/*
 * Fill the bitmaps of s from the PTE states, and count the classes.  The
 * folio bitmap is only needed where the walk can veto a window for an
 * existing large folio (upstream below PMD order).
 */
static void build_bitmaps(struct mthp_scan *s, const struct mthp_rules *r,
			  const uint8_t *ptes, const uint8_t *folio_orders,
			  uint64_t *young_any)
{
	bool khugepaged = r->context == MTHP_CONTEXT_KHUGEPAGED;
	bool want_large = folio_orders && r->policy == MTHP_POLICY_UPSTREAM &&
			  (r->orders & (BIT(r->pmd_order) - 1));
	uint32_t words = r->nr_ptes / 64;
	uint64_t large_any = 0;

	s->nr_none = s->nr_swap = s->nr_shared = s->nr_bad = 0;
	*young_any = 0;
	for (uint32_t w = 0; w < words; w++) {
		struct class_bits b;
		uint64_t known;

		classify64(ptes + w * 64, &b);
		known = b.none | b.swap | b.anon | b.lazyfree;
		s->none[w] = b.none;
		s->swap[w] = b.swap;
		s->shared_pte[w] = b.shared;
		s->young[w] = b.anon & ~b.lower;
		/* a clean lazyfree folio: khugepaged leaves it to reclaim */
		s->occupied[w] = khugepaged ? b.anon : b.anon | b.lazyfree;
		s->bad[w] = ~known | (khugepaged ? b.lazyfree : 0);
		if (want_large) {
			/* none and swap PTEs map no folio, whatever the orders say */
			s->large[w] = large64(folio_orders + w * 64) & ~(b.none | b.swap);
			large_any |= s->large[w];
		}
		s->nr_none += count_word(b.none);
		s->nr_swap += count_word(b.swap);
		s->nr_shared += count_word(b.shared);
		s->nr_bad += count_word(s->bad[w]);
		*young_any |= s->young[w];
	}
	s->has_large = large_any != 0;
}

/* The PTE where the count of a class goes above limit, or MTHP_NO_BIT. */
static uint32_t limit_crossing(const uint64_t *map, uint32_t n, uint32_t total,
			       uint32_t limit)
{
	if (total <= limit)
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

static uint32_t first_bad(const struct mthp_scan *s, uint32_t n)
{
	for (uint32_t w = 0; w < n / 64; w++)
		if (s->bad[w])
			return w * 64 + lowest_bit(s->bad[w]);
	return MTHP_NO_BIT;
}

void mthp_scan(struct mthp_scan *s, const struct mthp_rules *r,
	       const uint8_t *ptes, const uint8_t *folio_orders)
{
	bool khugepaged = r->context == MTHP_CONTEXT_KHUGEPAGED;
	uint32_t n = r->nr_ptes;
	uint32_t first = MTHP_NO_BIT;
	enum mthp_result result = SCAN_SUCCEED;
	uint64_t young_any;

	s->nr_ptes = n;
	s->ptes = ptes;
	s->folio_orders = folio_orders;
	build_bitmaps(s, r, ptes, folio_orders, &young_any);

	consider(limit_crossing(s->none, n, s->nr_none, r->scan_max_none),
		 SCAN_EXCEED_NONE_PTE, &first, &result);
	consider(limit_crossing(s->swap, n, s->nr_swap, r->scan_max_swap),
		 SCAN_EXCEED_SWAP_PTE, &first, &result);
	consider(limit_crossing(s->shared_pte, n, s->nr_shared, r->scan_max_shared),
		 SCAN_EXCEED_SHARED_PTE, &first, &result);
	if (s->nr_bad) {
		uint32_t bad = first_bad(s, n);

		consider(bad, mthp_pte_failure(ptes[bad]), &first, &result);
	}

	if (first == MTHP_NO_BIT) {
		s->fail_index = n;
		s->none_or_zero = s->nr_none;
		s->unmapped = s->nr_swap;
		s->shared = s->nr_shared;
	} else {
		/* the kernel's counters stop at the PTE that ended the scan */
		s->fail_index = first;
		s->none_or_zero = mthp_bitmap_count(s->none, 0, first + 1);
		s->unmapped = mthp_bitmap_count(s->swap, 0, first + 1);
		s->shared = mthp_bitmap_count(s->shared_pte, 0, first + 1);
	}
	/* referenced is counted by khugepaged only */
	s->referenced = 0;
	if (khugepaged && young_any)
		s->referenced = mthp_bitmap_count(s->young, 0,
						  first == MTHP_NO_BIT ? n : first + 1);

	if (result == SCAN_SUCCEED && khugepaged &&
	    (s->referenced == 0 || (s->unmapped > 0 && s->referenced < n / 2)))
		result = SCAN_LACK_REFERENCED_PAGE;
	s->result = result;
}
