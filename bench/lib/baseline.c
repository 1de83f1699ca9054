// SPDX-License-Identifier: MIT
/*
 * baseline.c - the straightforward scan and walk (see baseline.h).  Every
 * count is a loop over single PTEs or bits, as in v10's
 * collapse_scan_bitmap(); the walk is the explicit (offset, order) stack.
 */
#include <string.h>

#include "lib/baseline.h"

static bool is_none(uint8_t c)
{
	return c == MTHP_PTE_NONE || c == MTHP_PTE_ZERO;
}

static bool is_shared(uint8_t c)
{
	return c == MTHP_PTE_SHARED_YOUNG || c == MTHP_PTE_SHARED_OLD;
}

static bool is_young(uint8_t c)
{
	return c == MTHP_PTE_YOUNG || c == MTHP_PTE_SHARED_YOUNG;
}

static enum mthp_result failure_of(uint8_t c, bool khugepaged)
{
	switch (c) {
	case MTHP_PTE_UFFD_WP: return SCAN_PTE_UFFD_WP;
	case MTHP_PTE_SPECIAL: return SCAN_PAGE_NULL;
	case MTHP_PTE_NOT_ANON: return SCAN_PAGE_ANON;
	case MTHP_PTE_LAZYFREE: return khugepaged ? SCAN_PAGE_LAZYFREE : SCAN_SUCCEED;
	case MTHP_PTE_LOCKED: return SCAN_PAGE_LOCK;
	case MTHP_PTE_PINNED: return SCAN_PAGE_COUNT;
	case MTHP_PTE_NOT_LRU: return SCAN_PAGE_LRU;
	}
	return SCAN_SUCCEED;
}

void baseline_scan(struct baseline_scan *bs, const struct mthp_rules *r,
		   const uint8_t *ptes)
{
	bool khugepaged = r->context == MTHP_CONTEXT_KHUGEPAGED;
	uint32_t none = 0, swap = 0, shared = 0, referenced = 0;

	memset(bs->present, 0, r->nr_ptes);
	bs->result = SCAN_SUCCEED;
	for (uint32_t i = 0; i < r->nr_ptes; i++) {
		uint8_t c = ptes[i];
		enum mthp_result f;

		if (is_none(c)) {
			if (++none > r->scan_max_none) {
				bs->result = SCAN_EXCEED_NONE_PTE;
				break;
			}
			continue;
		}
		if (c == MTHP_PTE_SWAP) {
			if (++swap > r->scan_max_swap) {
				bs->result = SCAN_EXCEED_SWAP_PTE;
				break;
			}
			continue;
		}
		f = failure_of(c, khugepaged);
		if (f != SCAN_SUCCEED) {
			bs->result = f;
			break;
		}
		if (is_shared(c) && ++shared > r->scan_max_shared) {
			bs->result = SCAN_EXCEED_SHARED_PTE;
			break;
		}
		bs->present[i] = 1;
		if (khugepaged && is_young(c))
			referenced++;
	}
	bs->unmapped = swap;
	if (bs->result == SCAN_SUCCEED && khugepaged &&
	    (referenced == 0 || (swap > 0 && referenced < r->nr_ptes / 2)))
		bs->result = SCAN_LACK_REFERENCED_PAGE;
}

static uint32_t max_none_of(const struct mthp_rules *r, unsigned o)
{
	const struct mthp_settings *s = r->settings;

	if (r->context == MTHP_CONTEXT_MADVISE)
		return r->nr_ptes;
	if (r->policy == MTHP_POLICY_SEED || r->policy == MTHP_POLICY_GUARDED)
		return s->max_ptes_none >> (r->pmd_order - o);
	if (o == r->pmd_order)
		return s->max_ptes_none;
	return s->max_ptes_none == r->nr_ptes - 1 ? (1u << o) - 1 : 0;
}

/*
 * The per-CPU LRU add batch: the pages it holds (and their list, fewer
 * than 31), and how many folios.
 */
struct batch {
	bool held[MTHP_MAX_PTES];
	uint32_t list[31], nr_list;
	uint32_t nr;
};

static void drain(struct batch *b)
{
	for (uint32_t k = 0; k < b->nr_list; k++)
		b->held[b->list[k]] = false;
	b->nr_list = 0;
	b->nr = 0;
}

/*
 * A failed attempt puts back the pages it isolated, [off, stop) but the
 * none ones: small folios last PTE first (31 drain the batch), then the
 * large ones, which drain it.
 */
static void put_back(struct batch *b, const uint8_t *ptes, const uint8_t *orders,
		     uint32_t off, uint32_t stop)
{
	bool large = false;

	for (uint32_t i = stop; i-- > off;) {
		if (is_none(ptes[i]))
			continue;
		if (orders && ptes[i] != MTHP_PTE_SWAP && orders[i] != MTHP_NO_FOLIO &&
		    orders[i] >= 2) {
			large = true;
			continue;
		}
		b->held[i] = true;
		b->list[b->nr_list++] = i;
		if (++b->nr == 31)
			drain(b);
	}
	if (large)
		drain(b);
}

/* The attempt's rules, PTE by PTE; *stop: the PTE that broke one, or the end. */
static enum mthp_result attempt_rules(const struct mthp_rules *r, const uint8_t *ptes,
				      const uint8_t *orders, const struct batch *b,
				      uint32_t off, unsigned o, uint32_t *stop)
{
	bool khugepaged = r->context == MTHP_CONTEXT_KHUGEPAGED;
	bool below = o < r->pmd_order;
	uint32_t max_none = r->uffd ? 0 : max_none_of(r, o);
	uint32_t max_shared = !khugepaged ? r->nr_ptes :
		below ? 0 : r->settings->max_ptes_shared;
	bool folio_veto = below && r->policy != MTHP_POLICY_SEED;
	uint32_t none = 0, shared = 0, young = 0;

	*stop = off + (1u << o);
	for (uint32_t i = off; i < off + (1u << o); i++) {
		uint8_t c = ptes[i];
		enum mthp_result f = failure_of(c, khugepaged);
		bool late = c == MTHP_PTE_LOCKED || c == MTHP_PTE_PINNED ||
			    c == MTHP_PTE_NOT_LRU;

		*stop = i;
		if (is_none(c)) {
			if (++none > max_none)
				return SCAN_EXCEED_NONE_PTE;
			continue;
		}
		if (c != MTHP_PTE_SWAP) {
			if (f != SCAN_SUCCEED && !late)
				return f;
			if (is_shared(c) && ++shared > max_shared)
				return SCAN_EXCEED_SHARED_PTE;
			if (folio_veto && orders && orders[i] != MTHP_NO_FOLIO && orders[i] >= o)
				return SCAN_PTE_MAPPED_HUGEPAGE;
		}
		if (b->held[i])
			return SCAN_PAGE_COUNT;
		if (f != SCAN_SUCCEED)
			return f;
		young += is_young(c);
	}
	*stop = off + (1u << o);
	if (khugepaged && !young)
		return SCAN_LACK_REFERENCED_PAGE;
	return SCAN_SUCCEED;
}

/* One attempt: the swap-in step, the rules, then the batch's part. */
static enum mthp_result attempt(const struct mthp_rules *r, const uint8_t *ptes,
				const uint8_t *orders, struct batch *b, uint32_t off, unsigned o)
{
	enum mthp_result res;
	bool swap = false;
	uint32_t stop;

	for (uint32_t i = off; i < off + (1u << o); i++)
		swap |= ptes[i] == MTHP_PTE_SWAP;
	if (swap && o < r->pmd_order)
		return SCAN_EXCEED_SWAP_PTE;
	if (swap)
		drain(b);	/* swapped in */
	res = attempt_rules(r, ptes, orders, b, off, o, &stop);
	if (res == SCAN_SUCCEED)
		drain(b);	/* the new folio */
	else
		put_back(b, ptes, orders, off, stop);
	return res;
}

/* guarded: does the window hold a page of a folio of order >= o (below PMD)? */
static bool holds_folio(const struct mthp_rules *r, const uint8_t *ptes,
			const uint8_t *orders, uint32_t off, unsigned o)
{
	for (uint32_t i = off; orders && o < r->pmd_order && i < off + (1u << o); i++)
		if (!is_none(ptes[i]) && ptes[i] != MTHP_PTE_SWAP &&
		    orders[i] != MTHP_NO_FOLIO && orders[i] >= o)
			return true;
	return false;
}

/* guarded: max_none(k) for each folio of order 2 <= k < o starting in the window */
static uint32_t discount(const struct mthp_rules *r, const uint8_t *ptes,
			 const uint8_t *orders, uint32_t off, unsigned o)
{
	uint32_t d = 0;

	for (uint32_t i = off; orders && i < off + (1u << o); i++) {
		uint8_t k = orders[i];

		if (!is_none(ptes[i]) && ptes[i] != MTHP_PTE_SWAP && k != MTHP_NO_FOLIO &&
		    k >= 2 && k < o && i % (1u << k) == 0)
			d += max_none_of(r, k);
	}
	return d;
}

/* Does the window pass the count (upstream, guarded) or density (seed) test? */
static bool window_passes(const struct mthp_rules *r, const struct baseline_scan *bs,
			  const uint8_t *ptes, const uint8_t *orders,
			  const uint8_t *chunks, uint32_t off, unsigned o)
{
	const struct mthp_settings *s = r->settings;
	uint32_t len = 1u << o, count = 0;

	if (r->policy == MTHP_POLICY_LEGACY)
		return true;
	if (r->policy == MTHP_POLICY_SEED) {
		uint32_t t = (r->nr_ptes - 1 - s->max_ptes_none) >> (r->pmd_order - o + 2);

		if (r->pmd_only || s->size_enabled[o] == MTHP_MODE_ALWAYS)
			return true;
		for (uint32_t k = off / 4; k < (off + len) / 4; k++)
			count += chunks[k];
		return count > t;
	}
	for (uint32_t i = off; i < off + len; i++)
		count += bs->present[i];
	if (o == r->pmd_order)
		for (uint32_t i = 0; i < r->nr_ptes; i++)
			count += ptes[i] == MTHP_PTE_SWAP;
	if (r->policy == MTHP_POLICY_GUARDED) {
		uint32_t d = discount(r, ptes, orders, off, o);

		count = count > d ? count - d : 0;
	}
	return max_none_of(r, o) >= len || count >= len - max_none_of(r, o);
}

void baseline_walk(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		   const struct baseline_scan *bs, const uint8_t *ptes,
		   const uint8_t *folio_orders)
{
	struct { uint32_t off, order; } stack[MTHP_MAX_PMD_ORDER * 2];
	uint8_t chunks[MTHP_MAX_PTES / 4];
	static struct batch batch;
	uint32_t depth = 0;
	uint32_t s_lim = r->settings->max_ptes_none >> (r->pmd_order - 2);

	for (uint32_t k = 0; k < r->nr_ptes / 4; k++) {
		uint32_t none = 0;

		for (uint32_t i = 4 * k; i < 4 * k + 4; i++)
			none += is_none(ptes[i]);
		chunks[k] = none <= s_lim && k != r->nr_ptes / 4 - 1;
	}
	drain(&batch);	/* the engine's out->lru_batch_start is 0 in the benchmark */
	stack[depth].off = 0;
	stack[depth++].order = r->pmd_order;
	while (depth) {
		uint32_t off = stack[--depth].off, o = stack[depth].order;
		bool lower_allowed = r->orders & ((1u << o) - 1);
		enum mthp_result res;

		if (r->policy == MTHP_POLICY_GUARDED && holds_folio(r, ptes, folio_orders, off, o))
			continue;
		if ((r->orders & (1u << o)) &&
		    window_passes(r, bs, ptes, folio_orders, chunks, off, o)) {
			struct mthp_window w = { (uint16_t)off, (uint8_t)o, 0 };

			res = attempt(r, ptes, folio_orders, &batch, off, o);
			w.result = (uint8_t)res;
			if (res == SCAN_SUCCEED) {
				out->collapses[out->nr_collapses++] = w;
				for (uint32_t i = off; i < off + (1u << o); i++)
					out->pages_filled += is_none(ptes[i]);
				continue;
			}
			out->attempts[out->nr_attempts++] = w;
			if (r->policy != MTHP_POLICY_SEED &&
			    res == SCAN_PTE_MAPPED_HUGEPAGE)
				continue;
		}
		if (o <= MTHP_MIN_ORDER)
			continue;
		/* v10 halves down to order 2; 7.2 only while a lower order is allowed */
		if (r->policy != MTHP_POLICY_SEED && !lower_allowed)
			continue;
		stack[depth].off = off + (1u << (o - 1));
		stack[depth++].order = o - 1;
		stack[depth].off = off;
		stack[depth++].order = o - 1;
	}
}

void baseline_plan(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		   struct baseline_scan *bs, const uint8_t *ptes,
		   const uint8_t *folio_orders)
{
	out->nr_collapses = out->nr_attempts = out->pages_filled = 0;
	baseline_scan(bs, r, ptes);
	out->scan = bs->result;
	if (bs->result == SCAN_SUCCEED)
		baseline_walk(out, r, bs, ptes, folio_orders);
}
