// SPDX-License-Identifier: MIT
/*
 * walk.c - the order walks of the three policies over a scanned range.
 *
 * legacy: one window, the whole range at PMD order.
 *
 * upstream (7.2) and seed (v10) visit the windows of the binary split of
 * the range in pre-order, from (0, PMD), with a cursor (off, order) and no
 * stack: going down is order - 1 at the same offset, going on after a
 * window is the next offset and the largest order it is aligned to.  A
 * visited window whose order is allowed and that passes the policy's test
 * is handed out: upstream's count test (2^o - max_none(o) occupied PTEs),
 * or seed's density test on the 4-PTE chunk bitmap.  After its attempt
 * the walk goes on past it (upstream: success, or an existing folio as
 * large; seed: success), goes down (upstream: a limit or a transient
 * failure; seed: any failure) or stops (upstream: a hard failure).
 *
 * seed's contract is an explicit stack of (offset, order) that pushes the
 * two halves of every window it does not collapse; popping it visits the
 * same pre-order, so the cursor gives the same windows in the same order.
 *
 * Before going down into a window, the walk asks where inside it a window
 * can be handed out at all (first_possible); where none can, it goes on
 * past the whole subtree at once instead of visiting it window by window.
 * The answer comes from one bitmap test over the window:
 *   - no allowed order at or below the window's: nowhere;
 *   - upstream below PMD, where max_none(o) is the same rule for every
 *     order (mthp_upstream_count_rule): always, with one occupied PTE (any
 *     occupied bit in the window), or with every PTE occupied: from the
 *     first fully occupied block of the lowest allowed order m (the
 *     bitmap "full", built when the walk starts).  No window that starts
 *     before that block can be fully occupied, so the walk jumps to its
 *     first visit there, the largest order the block's offset is aligned
 *     to;
 *   - seed: an allowed order exempt from the density test passes always;
 *     otherwise a window needs more set chunks than a threshold >= 0, so
 *     at least one set chunk in the window.
 * The test may say yes where no window passes (the walk then visits the
 * subtree as before); it never says no where one does.
 *
 * guarded walks the same pre-order with upstream's actions and the count
 * test of max_none(o) = max_ptes_none scaled to o (every value honoured at
 * every order) where a folio of order o saves TLB entries on the machine
 * (the PMD order, and geo.cont_order and above), 7.2's limit at the other
 * orders, and three more rules:
 *   - within the PMD's reach: in a range whose PMD window may collapse and
 *     whose none PTEs are at most 2 * max_ptes_none, the count test below
 *     PMD order takes 7.2's limit.  All the fills of the range's smaller
 *     collapses together are at most max_ptes_none (below), so they could
 *     bring such a range to its PMD threshold, which the discount then
 *     refuses: the range is left to the PMD collapse;
 *   - the folio discount: the count of a window does not count max_none(k)
 *     pages of each smaller large folio (order k) in it that may hold
 *     fills (scan->folio_fills; all when NULL), or the pages it still maps
 *     if fewer (one unmapped in part, told by its aligned block), the
 *     most a collapse to that folio may have filled.  A collapse to order
 *     o fills at most max_none(o) minus the discounts of the folios it
 *     takes in (its own count test), and its folio may hold fills (with a
 *     discount of max_none(o)) when it filled a page or took in a folio
 *     that may: no enclosing window's count grows, so a window that
 *     failed its test fails it again at the next scan (no creep);
 *   - below PMD order, a window that already holds a folio of its order or
 *     larger is gone past before it is handed out, so before the caller
 *     allocates for it (the attempt's folio veto would refuse it after).
 *
 * The walk neither recurses nor allocates; its state is the cursor and
 * two bitmaps of static size.
 */
#include <string.h>

#include <mthp/policy_plugin.h>

#include "engine/engine_internal.h"

_Static_assert(MTHP_MAX_PTES <= 65536, "window offsets are 16-bit");
_Static_assert(MTHP_NR_RESULTS <= 256, "window results are 8-bit");

enum mthp_walk_action mthp_walk_action(enum mthp_result r)
{
	return mthp_result_class(r)->walk;
}

/*
 * seed: of one word of the none bitmap, bit 4k set when PTEs 4k..4k+3 hold
 * at most s none/zero PTEs (chunk k of the word is set).
 */
static uint64_t chunk_nibbles(uint64_t none, uint32_t s)
{
	uint64_t x = none;

	/* per-nibble popcount: each nibble holds 0..4 */
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	/* bit 3 of each nibble of 8 + s - count is set iff count <= s */
	return (((0x8888888888888888ull | (0x1111111111111111ull * s)) - x) >> 3) &
	       0x1111111111111111ull;
}

static uint32_t chunk_limit(const struct mthp_rules *r)
{
	return r->settings->max_ptes_none >> (r->pmd_order - 2);
}

/* v10 records a chunk when its walk reaches the next one: never the last */
static uint32_t last_chunk(const struct mthp_rules *r)
{
	return r->nr_ptes / 4 - 1;
}

/*
 * seed: are more than threshold chunks of the whole range set?  Counted
 * without placing them, and only until the answer is known.
 */
static bool chunks_exceed(const struct mthp_walk *w, uint32_t threshold)
{
	const struct mthp_rules *r = w->rules;
	uint32_t words = r->nr_ptes / 64, s = chunk_limit(r), count = 0;

	for (uint32_t word = 0; word < words; word++) {
		uint64_t set = chunk_nibbles(w->scan->none[word], s);

		/* the last chunk is bit 60 of the last word's nibbles */
		if (word == words - 1)
			set &= ~(1ull << 60);
		count += popcount64(set);
		if (count > threshold)
			return true;
	}
	return false;
}

/* seed: chunk k of the range is bit k of w->chunks. */
static void build_chunks(struct mthp_walk *w)
{
	const struct mthp_rules *r = w->rules;
	uint32_t words = r->nr_ptes / 64, s = chunk_limit(r);
	uint64_t acc = 0;

	for (uint32_t word = 0; word < words; word++) {
		uint64_t bits = chunk_nibbles(w->scan->none[word], s);

		/* gather bit 4k to bit k: pairs per byte, nibbles per 16 bits, ... */
		bits = (bits | (bits >> 3)) & 0x0303030303030303ull;
		bits = (bits | (bits >> 6)) & 0x000f000f000f000full;
		bits = (bits | (bits >> 12)) & 0x000000ff000000ffull;
		bits = (bits | (bits >> 24)) & 0xffffull;
		/* built in a register, stored once per 64 chunks */
		acc |= bits << ((word % 4) * 16);
		if (word % 4 == 3 || word + 1 == words) {
			w->chunks[word / 4] = acc;
			acc = 0;
		}
	}
	w->chunks[last_chunk(r) / 64] &= ~(1ull << (last_chunk(r) % 64));
	w->chunks_ready = true;
}

/*
 * upstream, every PTE occupied: bit p of w->full is set when PTEs
 * p..p+2^m-1 are all occupied, for p a multiple of 2^m.
 */
static void build_full(struct mthp_walk *w, unsigned m)
{
	const uint64_t *occ = w->scan->occupied;
	uint32_t words = w->rules->nr_ptes / 64;

	static const uint64_t multiples[7] = {
		~0ull, 0x5555555555555555ull, 0x1111111111111111ull,
		0x0101010101010101ull, 0x0001000100010001ull, 0x0000000100000001ull, 1,
	};

	if (m <= 6) {
		/* fold each word onto itself: after step k, bit p covers 2^(k+1) PTEs */
		for (uint32_t i = 0; i < words; i++) {
			uint64_t x = occ[i];

			for (unsigned k = 0; k < m; k++)
				x &= x >> (1u << k);
			w->full[i] = x & multiples[m];
		}
		return;
	}
	for (uint32_t i = 0; i < words; i += 1u << (m - 6)) {
		bool all = true;

		for (uint32_t j = i; j < i + (1u << (m - 6)); j++)
			all = all && occ[j] == ~0ull;
		w->full[i] = all;
		for (uint32_t j = i + 1; j < i + (1u << (m - 6)); j++)
			w->full[j] = 0;
	}
}

/* seed: the allowed orders the density test lets through unasked. */
static uint32_t seed_exempt(const struct mthp_rules *r)
{
	uint32_t always = 0;

	if (r->pmd_only)
		return r->orders;
	for (unsigned o = MTHP_MIN_ORDER; o <= r->pmd_order; o++)
		if (r->settings->size_enabled[o] == MTHP_MODE_ALWAYS)
			always |= BIT(o);
	return always & r->orders;
}

/*
 * What window_passes() reads of the walk at the PMD order: the rules, the
 * scan, and seed's exempt orders and chunks.  Not the bitmaps (a
 * kilobyte), which it reads only below.
 */
static void walk_test_init(struct mthp_walk *w, const struct mthp_rules *r,
			   const struct mthp_scan *s)
{
	w->rules = r;
	w->scan = s;
	w->exempt = 0;
	w->chunks_ready = true;
	if (r->eligible && r->policy == MTHP_POLICY_SEED) {
		w->exempt = seed_exempt(r);
		/*
		 * The chunks only serve the density test, and at PMD order
		 * only their number: placed when the walk first goes below.
		 */
		w->chunks_ready = !(r->orders & ~w->exempt);
	}
}

void mthp_walk_init(struct mthp_walk *w, const struct mthp_rules *r,
		    const struct mthp_scan *s)
{
	walk_test_init(w, r, s);
	w->off = 0;
	w->order = r->pmd_order;
	w->pending = false;
	w->done = !r->eligible;
	w->rule = MTHP_COUNT_ALWAYS;
	w->visit = NULL;
	w->visit_ctx = NULL;
	if (w->done)
		return;
	switch (r->policy) {
	case MTHP_POLICY_LEGACY:
	case MTHP_POLICY_SEED:
		break;
	case MTHP_POLICY_UPSTREAM:
		w->rule = mthp_upstream_count_rule(r);
		if (w->rule == MTHP_COUNT_ALL && (r->orders & (BIT(r->pmd_order) - 1)))
			build_full(w, (unsigned)__builtin_ctz(r->orders));
		break;
	case MTHP_POLICY_GUARDED:
		/* max_ptes_none 0: upstream's every-PTE rule at every order */
		if (r->context == MTHP_CONTEXT_KHUGEPAGED && !r->settings->max_ptes_none &&
		    (r->orders & (BIT(r->pmd_order) - 1))) {
			w->rule = MTHP_COUNT_ALL;
			build_full(w, (unsigned)__builtin_ctz(r->orders));
		}
		break;
	}
}

void mthp_walk_observe(struct mthp_walk *w, mthp_visit_fn fn, void *ctx)
{
	w->visit = fn;
	w->visit_ctx = ctx;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/*
 * guarded: the pages of the smaller large folios in a window that may be
 * zero-filled: for each folio of order k < order in the window that may
 * hold fills, max_none(k), or the pages of it the window maps if fewer
 * (a folio the program unmapped in part, its first page too: its pages
 * are those of folio order k in one aligned block of 2^k PTEs).  A folio
 * that guarded collapsed holds at most max_none(k) filled pages; a folio
 * no collapse filled (a fault's, or a collapse's of present pages only)
 * holds none.  Not counting them keeps a later scan from counting an
 * earlier collapse's fills, whatever the program wrote in between.
 */
static uint32_t folio_discount(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	const struct mthp_scan *s = w->scan;
	uint32_t discount = 0, len = BIT(order);
	/* per smaller order: the block being counted, and its PTEs of that order */
	uint32_t block[MTHP_MAX_PMD_ORDER], mapped[MTHP_MAX_PMD_ORDER] = { 0 };

	for (unsigned k = 0; k < order; k++)
		block[k] = UINT32_MAX;
	for (uint32_t i = off / 64; i * 64 < off + len; i++) {
		uint64_t bits = s->large[i];

		if (len < 64)
			bits &= ((1ull << len) - 1) << (off % 64);
		while (bits) {
			uint32_t p = i * 64 + lowest_bit(bits);
			unsigned k = s->folio_orders[p];

			bits &= bits - 1;
			if (k >= order || (s->folio_fills && !s->folio_fills[p]))
				continue;
			if (block[k] != p >> k) {
				if (block[k] != UINT32_MAX)
					discount += min_u32(mapped[k],
							    w->rules->limits[k].test_none);
				block[k] = p >> k;
				mapped[k] = 0;
			}
			mapped[k]++;
		}
	}
	for (unsigned k = 0; k < order; k++)
		if (block[k] != UINT32_MAX)
			discount += min_u32(mapped[k], w->rules->limits[k].test_none);
	return discount;
}

/*
 * The occupied PTEs the count test sees in a window.  At PMD order the swap
 * entries count too: they will be swapped in.  After a successful scan
 * every PTE is none, swap, occupied or (only where the scan itself did not
 * fail on it) bad, so the range's count is what is neither none nor bad.
 * guarded takes the folio discount off.
 */
/* The occupied PTEs of a window before guarded's discount. */
static uint32_t occupied_count(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	const struct mthp_rules *r = w->rules;
	const struct mthp_scan *s = w->scan;

	if (order == r->pmd_order)
		return r->nr_ptes - s->nr_none - s->nr_bad;
	return bits_count(s->occupied, off, BIT(order));
}

static uint32_t window_count(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	const struct mthp_rules *r = w->rules;
	const struct mthp_scan *s = w->scan;
	uint32_t count = occupied_count(w, off, order), discount;

	if (r->policy != MTHP_POLICY_GUARDED || !s->has_large)
		return count;
	discount = folio_discount(w, off, order);
	return count > discount ? count - discount : 0;
}

/*
 * guarded: the none limit of the count test.  Below the PMD order in a
 * range within the PMD's reach, 7.2's limit (see the top of the file).
 */
static uint32_t guarded_limit(const struct mthp_walk *w, unsigned order)
{
	const struct mthp_rules *r = w->rules;
	const struct mthp_scan *s = w->scan;

	if (order < r->pmd_order && r->context == MTHP_CONTEXT_KHUGEPAGED &&
	    (r->orders & BIT(r->pmd_order)) &&
	    s->nr_none + s->nr_bad <= 2 * r->settings->max_ptes_none)
		return r->limits[order].upstream_none;
	return r->limits[order].test_none;
}

/* upstream and guarded: does the window reach 2^o - max_none(o) occupied PTEs? */
static bool count_passes(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	const struct mthp_rules *r = w->rules;
	const struct mthp_scan *s = w->scan;
	uint32_t len = BIT(order);
	uint32_t max_none;

	if (r->policy == MTHP_POLICY_GUARDED) {
		uint32_t count, need;

		max_none = guarded_limit(w, order);
		if (max_none >= len)
			return true;
		need = len - max_none;
		count = occupied_count(w, off, order);
		if (count < need)
			return false;	/* the discount only lowers it */
		/*
		 * The discount is at most the window's pages of large folios:
		 * when the count passes with all of them off, it is not walked.
		 */
		if (!s->has_large || count - need >= bits_count(s->large, off, len))
			return true;
		return window_count(w, off, order) >= need;
	}
	if (order < r->pmd_order) {
		switch (w->rule) {
		case MTHP_COUNT_ALWAYS:
			return true;
		case MTHP_COUNT_ANY:
			return bits_any(s->occupied, off, len);
		case MTHP_COUNT_ALL:
			return bits_count(s->occupied, off, len) == len;
		}
	}
	max_none = r->limits[order].test_none;
	if (max_none >= len)
		return true;
	return window_count(w, off, order) >= len - max_none;
}

/* guarded: does the window hold a folio of its order or larger (below PMD)? */
static bool holds_large_folio(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	return order < w->rules->pmd_order && w->scan->has_large &&
	       mthp_first_large_folio(w->scan, off, order) != MTHP_NO_BIT;
}

/* seed: more set chunks than T(o), or exempt from the test. */
static bool density_passes(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	const struct mthp_rules *r = w->rules;
	uint32_t threshold, chunks;

	if (w->exempt & BIT(order))
		return true;
	threshold = (r->nr_ptes - 1 - r->settings->max_ptes_none) >>
		    (r->pmd_order - order + 2);
	if (!w->chunks_ready)
		return chunks_exceed(w, threshold);
	chunks = bits_count(w->chunks, off / 4, BIT(order) / 4);
	return chunks > threshold;
}

/*
 * The first offset in (off, order) where a window, of this order or below,
 * can be handed out: off itself when it may be, MTHP_NO_BIT when none can.
 */
static uint32_t first_possible(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	const struct mthp_rules *r = w->rules;
	uint32_t below = r->orders & (BIT(order + 1) - 1);
	uint32_t len = BIT(order);

	if (!below)
		return MTHP_NO_BIT;
	if (order == r->pmd_order)
		return off;
	switch (r->policy) {
	case MTHP_POLICY_LEGACY:
		return off;
	case MTHP_POLICY_SEED:
		if ((below & w->exempt) || bits_any(w->chunks, off / 4, len / 4))
			return off;
		return MTHP_NO_BIT;
	case MTHP_POLICY_GUARDED:
		if (r->context == MTHP_CONTEXT_MADVISE)
			return off;
		if (w->rule == MTHP_COUNT_ALL)
			return bits_first(w->full, off, len);
		/* max_none(o) < 2^o below PMD: a window needs an occupied PTE */
		return bits_any(w->scan->occupied, off, len) ? off : MTHP_NO_BIT;
	case MTHP_POLICY_UPSTREAM:
		switch (w->rule) {
		case MTHP_COUNT_ALWAYS:
			return off;
		case MTHP_COUNT_ANY:
			return bits_any(w->scan->occupied, off, len) ? off : MTHP_NO_BIT;
		case MTHP_COUNT_ALL:
			return bits_first(w->full, off, len);
		}
		break;
	}
	return off;
}

/* Go on past the window: the next offset at the largest order it is aligned to. */
static void walk_advance(struct mthp_walk *w)
{
	uint32_t align;

	w->off += BIT(w->order);
	align = (uint32_t)__builtin_ctz(w->off);
	w->order = align < w->rules->pmd_order ? align : w->rules->pmd_order;
}

/* Go down to the left half, or on when no allowed order is below. */
static void walk_lower(struct mthp_walk *w)
{
	/* orders holds no bit below MTHP_MIN_ORDER */
	if (w->order > MTHP_MIN_ORDER && (w->rules->orders & (BIT(w->order) - 1)))
		w->order--;
	else
		walk_advance(w);
}

/* The plug-in's decision for a window, told the counts and the fallback's verdict. */
static bool plugin_passes(const struct mthp_walk *w, uint32_t off, unsigned order,
			  bool fallback)
{
	const struct mthp_rules *r = w->rules;
	const struct mthp_scan *s = w->scan;
	const struct mthp_settings *set = r->settings;
	uint32_t len = BIT(order);
	struct mthp_plugin_window pw = {
		.offset = off, .order = order, .nr_ptes = r->nr_ptes,
		.present = bits_count(s->occupied, off, len),
		.none = bits_count(s->none, off, len),
		.swap = bits_count(s->swap, off, len),
		.shared = bits_count(s->shared_pte, off, len),
		.young = bits_count(s->young, off, len),
		.max_ptes_none = set->max_ptes_none,
		.max_ptes_swap = set->max_ptes_swap,
		.max_ptes_shared = set->max_ptes_shared,
		.vma_flags = r->vma_flags,
		.madvise = r->context == MTHP_CONTEXT_MADVISE,
		.fallback_attempts = fallback,
	};

	return r->plugin->window_attempt(&pw) != 0;
}

static bool window_passes(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	bool passes;

	if (!(w->rules->orders & BIT(order)))
		return false;
	if (w->rules->policy == MTHP_POLICY_SEED)
		passes = density_passes(w, off, order);
	else
		passes = count_passes(w, off, order);
	if (w->rules->plugin && w->rules->plugin->window_attempt)
		return plugin_passes(w, off, order, passes);
	return passes;
}

bool mthp_walk_hands_out_pmd(const struct mthp_rules *r, const struct mthp_scan *s)
{
	struct mthp_walk w;

	if (!r->eligible || !(r->orders & BIT(r->pmd_order)) ||
	    (r->plugin && r->plugin->window_attempt))
		return false;
	switch (r->policy) {
	case MTHP_POLICY_LEGACY:
		return true;
	case MTHP_POLICY_SEED:
	case MTHP_POLICY_UPSTREAM:
	case MTHP_POLICY_GUARDED:
		break;
	}
	walk_test_init(&w, r, s);
	return window_passes(&w, 0, r->pmd_order);
}

/* ---- the observer: what it is told costs nothing when there is none ---- */

static void visit_passed_over(const struct mthp_walk *w, uint32_t end)
{
	struct mthp_visit v = { MTHP_VISIT_PASSED_OVER, w->off, w->order, end, 0, 0 };

	w->visit(w->visit_ctx, &v);
}

/* The window at the cursor failed its test, or its order is not allowed. */
static void visit_refused(const struct mthp_walk *w)
{
	const struct mthp_rules *r = w->rules;
	struct mthp_visit v = { MTHP_VISIT_TEST_FAILED, w->off, w->order, 0, 0, 0 };
	uint32_t len = BIT(w->order);

	if (!(r->orders & BIT(w->order))) {
		v.kind = MTHP_VISIT_NOT_ALLOWED;
	} else if (r->policy == MTHP_POLICY_SEED) {
		uint32_t threshold = (r->nr_ptes - 1 - r->settings->max_ptes_none) >>
				     (r->pmd_order - w->order + 2);

		v.need = threshold + 1;
		if (w->chunks_ready) {
			v.have = bits_count(w->chunks, w->off / 4, len / 4);
		} else {
			/* only the PMD window is refused before the chunks are placed */
			for (uint32_t t = 0; t <= threshold && chunks_exceed(w, t); t++)
				v.have = t + 1;
		}
	} else {
		uint32_t max_none = r->policy == MTHP_POLICY_GUARDED ?
				    guarded_limit(w, w->order) : r->limits[w->order].test_none;

		v.need = len - (max_none < len ? max_none : len);
		v.have = window_count(w, w->off, w->order);
	}
	w->visit(w->visit_ctx, &v);
}

/* upstream and seed: the next window to hand out from the cursor on. */
static bool split_next(struct mthp_walk *w, struct mthp_window *win)
{
	uint32_t first;

	while (w->off < w->rules->nr_ptes) {
		/* only the PMD window is visited before the chunks are placed */
		if (!w->chunks_ready && w->order < w->rules->pmd_order)
			build_chunks(w);
		first = first_possible(w, w->off, w->order);
		if (first == MTHP_NO_BIT) {
			if (w->visit)
				visit_passed_over(w, w->off + BIT(w->order));
			walk_advance(w);
			continue;
		}
		if (w->rules->policy == MTHP_POLICY_GUARDED &&
		    holds_large_folio(w, w->off, w->order)) {
			/* nothing to gain, and nothing allocated to find it out */
			if (w->visit)
				visit_passed_over(w, w->off + BIT(w->order));
			walk_advance(w);
			continue;
		}
		if (first != w->off) {
			if (w->visit)
				visit_passed_over(w, first);
			/* the walk's first visit at first, the largest order it is aligned to */
			w->off = first;
			w->order = (uint32_t)__builtin_ctz(first);
			continue;
		}
		if (window_passes(w, w->off, w->order)) {
			win->offset = (uint16_t)w->off;
			win->order = (uint8_t)w->order;
			return true;
		}
		if (w->visit)
			visit_refused(w);
		walk_lower(w);
	}
	return false;
}

bool mthp_walk_next(struct mthp_walk *w, struct mthp_window *win)
{
	bool found = false;

	if (w->done || w->pending)
		return false;
	win->result = SCAN_SUCCEED;
	switch (w->rules->policy) {
	case MTHP_POLICY_LEGACY:
		win->offset = 0;
		win->order = (uint8_t)w->rules->pmd_order;
		found = true;
		break;
	case MTHP_POLICY_SEED:
	case MTHP_POLICY_UPSTREAM:
	case MTHP_POLICY_GUARDED:
		found = split_next(w, win);
		break;
	}
	w->pending = found;
	w->done = !found;
	return found;
}

void mthp_walk_report(struct mthp_walk *w, enum mthp_result r)
{
	if (!w->pending)
		return;
	w->pending = false;
	switch (w->rules->policy) {
	case MTHP_POLICY_LEGACY:
		w->done = true;
		break;
	case MTHP_POLICY_SEED:
		if (r == SCAN_SUCCEED)
			walk_advance(w);
		else
			walk_lower(w);
		break;
	case MTHP_POLICY_UPSTREAM:
	case MTHP_POLICY_GUARDED:
		switch (mthp_walk_action(r)) {
		case MTHP_WALK_ADVANCE:
			walk_advance(w);
			break;
		case MTHP_WALK_LOWER:
			walk_lower(w);
			break;
		case MTHP_WALK_STOP:
			w->done = true;
			break;
		}
		break;
	}
}
