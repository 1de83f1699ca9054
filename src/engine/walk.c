// SPDX-License-Identifier: MIT
/*
 * walk.c - the order walks of the three policies over a scanned range.
 *
 * legacy: one window, the whole range at PMD order.
 *
 * upstream (7.2): a cursor (off, order) that starts at (0, PMD).  A window
 * whose order is allowed and whose occupied count reaches
 * 2^o - max_none(o) is handed out; after its attempt the walk advances past
 * it (success, or an existing folio as large), lowers the order at the
 * same offset (a limit or a transient failure), or stops.  Advancing picks
 * the largest order the new offset is aligned to, so the windows come in
 * the pre-order of the binary split of the range, without a stack.
 *
 * seed (v10): an explicit stack of (offset, order), at most PMD-1 deep,
 * starting with (0, PMD).  A popped window in E that passes the density
 * test of the 4-PTE chunk bitmap is handed out; a success pushes nothing,
 * anything else pushes the right half and then the left half.
 *
 * Neither walk recurses or allocates.
 */
#include <string.h>

#include "engine/engine_internal.h"

_Static_assert(MTHP_MAX_PMD_ORDER - MTHP_MIN_ORDER + 1 <=
	       sizeof(((struct mthp_walk *)0)->stack) /
	       sizeof(((struct mthp_walk *)0)->stack[0]),
	       "the seed stack holds one pending right half per order, plus one");
_Static_assert(MTHP_MAX_PTES <= 65536, "window offsets are 16-bit");
_Static_assert(MTHP_NR_RESULTS <= 256, "window results are 8-bit");

enum mthp_walk_action mthp_walk_action(enum mthp_result r)
{
	return mthp_result_class(r)->walk;
}

/* seed: chunk k is set when PTEs 4k..4k+3 hold at most s none/zero PTEs. */
static void build_chunks(struct mthp_walk *w)
{
	const struct mthp_rules *r = w->rules;
	uint32_t s = r->settings->max_ptes_none >> (r->pmd_order - 2);
	uint32_t nr_chunks = r->nr_ptes / 4;

	memset(w->chunks, 0, sizeof(w->chunks[0]) * ((nr_chunks + 63) / 64));
	for (uint32_t word = 0; word < r->nr_ptes / 64; word++) {
		uint64_t x = w->scan->none[word];
		uint64_t bits;

		/* per-nibble popcount: each nibble holds 0..4 */
		x = x - ((x >> 1) & 0x5555555555555555ull);
		x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
		/* bit 3 of each nibble of 8 + s - count is set iff count <= s */
		bits = (((0x8888888888888888ull | (0x1111111111111111ull * s)) - x) >> 3) &
		       0x1111111111111111ull;
		/* gather bit 4k to bit k: pairs per byte, nibbles per 16 bits, ... */
		bits = (bits | (bits >> 3)) & 0x0303030303030303ull;
		bits = (bits | (bits >> 6)) & 0x000f000f000f000full;
		bits = (bits | (bits >> 12)) & 0x000000ff000000ffull;
		bits = (bits | (bits >> 24)) & 0xffffull;
		w->chunks[word / 4] |= bits << ((word % 4) * 16);
	}
	/* v10 records a chunk when its walk reaches the next one: never the last */
	w->chunks[(nr_chunks - 1) / 64] &= ~(1ull << ((nr_chunks - 1) % 64));
}

void mthp_walk_init(struct mthp_walk *w, const struct mthp_rules *r,
		    const struct mthp_scan *s)
{
	w->rules = r;
	w->scan = s;
	w->off = 0;
	w->order = r->pmd_order;
	w->pending = false;
	w->done = !r->eligible;
	w->depth = 0;
	if (r->policy == MTHP_POLICY_SEED) {
		build_chunks(w);
		w->stack[0].off = 0;
		w->stack[0].order = (uint8_t)r->pmd_order;
		w->depth = 1;
	}
}

/* upstream: does the window reach 2^o - max_none(o) occupied PTEs? */
static bool count_passes(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	const struct mthp_rules *r = w->rules;
	uint32_t len = BIT(order);
	uint32_t max_none = mthp_upstream_max_none(r, order);
	uint32_t count;

	if (max_none >= len)
		return true;
	/*
	 * At PMD order the swap entries count too: they will be swapped in.
	 * After a successful scan every PTE is none, swap, occupied or (only
	 * where the scan itself did not fail on it) bad, so the range's count
	 * is what is neither none nor bad.
	 */
	if (order == r->pmd_order)
		count = r->nr_ptes - w->scan->nr_none - w->scan->nr_bad;
	else
		count = mthp_bitmap_count(w->scan->occupied, off, len);
	return count >= len - max_none;
}

/* seed: more set chunks than T(o), or exempt from the test. */
static bool density_passes(const struct mthp_walk *w, uint32_t off, unsigned order)
{
	const struct mthp_rules *r = w->rules;
	const struct mthp_settings *s = r->settings;
	uint32_t threshold, chunks;

	if (r->pmd_only || s->size_enabled[order] == MTHP_MODE_ALWAYS)
		return true;
	threshold = (r->nr_ptes - 1 - s->max_ptes_none) >> (r->pmd_order - order + 2);
	chunks = mthp_bitmap_count(w->chunks, off / 4, BIT(order) / 4);
	return chunks > threshold;
}

static void upstream_advance(struct mthp_walk *w)
{
	uint32_t align;

	w->off += BIT(w->order);
	align = (uint32_t)__builtin_ctz(w->off);
	w->order = align < w->rules->pmd_order ? align : w->rules->pmd_order;
}

static void upstream_lower(struct mthp_walk *w)
{
	/* orders holds no bit below MTHP_MIN_ORDER */
	if (w->order > MTHP_MIN_ORDER && (w->rules->orders & (BIT(w->order) - 1)))
		w->order--;
	else
		upstream_advance(w);
}

static bool upstream_next(struct mthp_walk *w, struct mthp_window *win)
{
	while (w->off < w->rules->nr_ptes) {
		if ((w->rules->orders & BIT(w->order)) &&
		    count_passes(w, w->off, w->order)) {
			win->offset = (uint16_t)w->off;
			win->order = (uint8_t)w->order;
			return true;
		}
		upstream_lower(w);
	}
	return false;
}

static void seed_push_halves(struct mthp_walk *w, uint32_t off, unsigned order)
{
	uint32_t half = BIT(order - 1);

	if (order <= MTHP_MIN_ORDER)
		return;
	w->stack[w->depth].off = (uint16_t)(off + half);
	w->stack[w->depth].order = (uint8_t)(order - 1);
	w->stack[w->depth + 1].off = (uint16_t)off;
	w->stack[w->depth + 1].order = (uint8_t)(order - 1);
	w->depth += 2;
}

static bool seed_next(struct mthp_walk *w, struct mthp_window *win)
{
	while (w->depth) {
		uint32_t off, order;

		w->depth--;
		off = w->stack[w->depth].off;
		order = w->stack[w->depth].order;
		if ((w->rules->orders & BIT(order)) && density_passes(w, off, order)) {
			w->off = off;
			w->order = order;
			win->offset = (uint16_t)off;
			win->order = (uint8_t)order;
			return true;
		}
		seed_push_halves(w, off, order);
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
		found = seed_next(w, win);
		break;
	case MTHP_POLICY_UPSTREAM:
		found = upstream_next(w, win);
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
		if (r != SCAN_SUCCEED)
			seed_push_halves(w, w->off, w->order);
		break;
	case MTHP_POLICY_UPSTREAM:
		switch (mthp_walk_action(r)) {
		case MTHP_WALK_ADVANCE:
			upstream_advance(w);
			break;
		case MTHP_WALK_LOWER:
			upstream_lower(w);
			break;
		case MTHP_WALK_STOP:
			w->done = true;
			break;
		}
		break;
	}
}
