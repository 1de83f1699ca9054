// SPDX-License-Identifier: MIT
/*
 * bulk.c - the plan's walk below PMD order decided 64 PTEs at a time, for
 * seed and upstream in khugepaged context when every allowed order below
 * PMD accepts no none PTE in an attempt (upstream at any max_ptes_none but
 * N-1; seed wherever max_ptes_none scaled to those orders is 0).  There
 * the walk attempts dozens of windows a range (seed: every window of an
 * order set `always`), and a window at a time costs too much.
 *
 * What makes it possible is what an attempt that accepts no none PTE looks
 * like.  Its rules stop it at the first none, shared or (upstream) too
 * large folio's PTE, so every page it isolates before that is present; a
 * failed attempt puts back the pages [x, stop) of its window, and the
 * per-CPU LRU add batch (plan.c) then holds an interval of pages.  Only
 * the windows inside the one that put them back can meet them, and those
 * come right after it in the walk's pre-order, which never goes back to a
 * lower offset.  So the batch is two numbers: how many folios it holds
 * and where the pages it holds of the last put-back end (held_end); a
 * later window starting below held_end, whose first page is present, fails
 * with SCAN_PAGE_COUNT on that page, and no other one meets a held page.
 * The PMD window, tried first, puts back the present pages of [0, stop)
 * (none PTEs are not put back, and no window below PMD gets past one).
 *
 * Most windows then need no sequence at all: one that fails on its first
 * PTE (none, shared, a swap entry anywhere in it, a folio too large at its
 * start) isolates nothing, whatever the batch holds.  These, the count or
 * density test and the swap entries are worked out for every window of a
 * word at once from the scan's bitmaps (folds of a word onto itself, SWAR
 * counts of seed's chunks).  The windows left, those whose first page can
 * be isolated, are taken one by one in the walk's order with the batch;
 * they are the windows that collapse or put pages back.  Then the walk's
 * records are written in its order.
 *
 * Windows of orders 7 and up span several words; they start at a word's
 * first PTE and come before the word's own windows in the walk.  They are
 * few, and decided one at a time with the same rules.
 *
 * plan.c uses this only where it applies, with no observer and no plug-in;
 * tests/test_engine_props.c compares it with the window-at-a-time walk on
 * random tables.
 */
#include <string.h>

#include "engine/engine_internal.h"

/* Orders whose windows lie inside one word. */
#define WORD_ORDER 6
#define MAX_WORD_LEVELS (WORD_ORDER - MTHP_MIN_ORDER + 1)

/* Bits at the multiples of 2^o in a word, o <= 6. */
static const uint64_t starts[WORD_ORDER + 1] = {
	~0ull, 0x5555555555555555ull, 0x1111111111111111ull, 0x0101010101010101ull,
	0x0001000100010001ull, 0x0000000100000001ull, 1,
};

struct bulk {
	const struct mthp_rules *r;
	const struct mthp_scan *s;
	struct mthp_pmd_plan *out;
	uint64_t *scratch;		/* the large-folio bitmap when the scan has none */
	const uint64_t *large;		/* NULL until a put-back or a veto needs it */
	uint32_t words;
	bool veto;			/* upstream: the folio-order veto */
	bool seed;
	uint32_t exempt;		/* seed: orders exempt from the density test */
	uint32_t chunk_s;		/* seed: none PTEs a set chunk may hold */
	/* the LRU add batch */
	uint32_t nr;
	uint32_t held_end;
	/* windows that start below it are inside one that advanced */
	uint32_t skip_until;
	/* allowed orders below PMD, highest first: those of several words, then the rest */
	unsigned big[MTHP_MAX_PMD_ORDER], nr_big;
	unsigned lv[MAX_WORD_LEVELS], nr_lv;
};

static const uint64_t *bulk_large(struct bulk *b)
{
	const struct mthp_scan *s = b->s;

	if (b->large)
		return b->large;
	if (s->has_large) {
		b->large = s->large;
	} else if (!s->folio_orders) {
		memset(b->scratch, 0, b->words * sizeof(uint64_t));
		b->large = b->scratch;
	} else {
		mthp_classify_large_into(s, b->scratch, s->folio_orders, b->words);
		b->large = b->scratch;
	}
	return b->large;
}

static void drain(struct bulk *b)
{
	b->nr = 0;
	b->held_end = 0;
}

/*
 * A failed attempt below PMD puts back [x, stop), every page present: the
 * small folios last PTE first, a full batch draining and keeping the
 * lowest (nr + small) % 31 of them, then the large ones, which drain it.
 */
static void put_back(struct bulk *b, uint32_t x, uint32_t stop)
{
	uint32_t big = mthp_bitmap_count(bulk_large(b), x, stop - x);

	b->nr += stop - x - big;
	b->held_end = stop;
	if (b->nr >= MTHP_LRU_BATCH_SIZE) {
		b->nr %= MTHP_LRU_BATCH_SIZE;
		b->held_end = b->nr ? x + b->nr : 0;
	}
	if (big)
		drain(b);
}

/* The first page of [x, x + 2^o) of a folio of order o or more, or MTHP_NO_BIT. */
static uint32_t first_veto(struct bulk *b, uint32_t x, unsigned o)
{
	const uint64_t *large = bulk_large(b);
	uint32_t len = BIT(o);

	for (uint32_t i = x / 64; i * 64 < x + len; i++) {
		uint64_t bits = large[i];

		if (len < 64)
			bits &= ((1ull << len) - 1) << (x % 64);
		for (; bits; bits &= bits - 1) {
			uint32_t p = i * 64 + lowest_bit(bits);

			if (b->s->folio_orders[p] >= o)
				return p;
		}
	}
	return MTHP_NO_BIT;
}

/*
 * The rules of attempting (x, o) below PMD with no none PTE and no shared
 * one accepted, the batch aside: the result and the PTE the isolation
 * stops at (x + 2^o when none stops it).
 */
static enum mthp_result window_rules(struct bulk *b, uint32_t x, unsigned o, uint32_t *stop)
{
	const struct mthp_scan *s = b->s;
	uint32_t len = BIT(o), first = MTHP_NO_BIT, pos;
	enum mthp_result result = SCAN_SUCCEED;

	if (s->nr_swap && bits_any(s->swap, x, len)) {
		*stop = x;
		return SCAN_EXCEED_SWAP_PTE;
	}
	if (s->nr_none) {
		first = bits_first(s->none, x, len);
		result = SCAN_EXCEED_NONE_PTE;
	}
	if (s->nr_shared) {
		pos = bits_first(s->shared_pte, x, len);
		if (pos < first) {
			first = pos;
			result = SCAN_EXCEED_SHARED_PTE;
		}
	}
	/* on one PTE the shared count is checked before the folio's order */
	if (b->veto && s->folio_orders) {
		pos = first_veto(b, x, o);
		if (pos < first) {
			first = pos;
			result = SCAN_PTE_MAPPED_HUGEPAGE;
		}
	}
	if (first != MTHP_NO_BIT) {
		*stop = first;
		return result;
	}
	*stop = x + len;
	return bits_any(s->young, x, len) ? SCAN_SUCCEED : SCAN_LACK_REFERENCED_PAGE;
}

/*
 * One attempt with the batch: SCAN_PAGE_COUNT when its first page is held
 * (and the rules let the isolation reach it), else the rules' result and
 * what it does to the batch.
 */
static enum mthp_result attempt(struct bulk *b, uint32_t x, unsigned o)
{
	uint32_t stop;
	enum mthp_result result = window_rules(b, x, o, &stop);

	if (stop == x)
		return result;
	if (x < b->held_end)
		return SCAN_PAGE_COUNT;
	if (result == SCAN_SUCCEED)
		drain(b);
	else
		put_back(b, x, stop);
	return result;
}

static void record(struct bulk *b, uint32_t x, unsigned o, enum mthp_result result)
{
	struct mthp_pmd_plan *out = b->out;
	struct mthp_window win = {
		.offset = (uint16_t)x, .order = (uint8_t)o, .result = (uint8_t)result,
	};
	bool done = result == SCAN_SUCCEED;

	/*
	 * Stored in both lists, counted in one: no branch to mispredict.  The
	 * other list has room, as the windows of a range number fewer than
	 * N/2 and a failed window is not inside an earlier collapse.  Below
	 * PMD a collapse holds no none PTE: it fills nothing.
	 */
	out->collapses[out->nr_collapses] = win;
	out->attempts[out->nr_attempts] = win;
	out->nr_collapses += done;
	out->nr_attempts += !done;
}

/* seed: of the none bits of word w, bit 4k set when chunk k of the word is set. */
static uint64_t word_chunks(const struct bulk *b, uint32_t w)
{
	uint64_t x = b->s->none[w];

	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (((0x8888888888888888ull | (0x1111111111111111ull * b->chunk_s)) - x) >> 3) &
	    0x1111111111111111ull;
	/* v10 never records the last chunk */
	if (w == b->words - 1)
		x &= ~(1ull << 60);
	return x;
}

static uint32_t seed_threshold(const struct bulk *b, unsigned o)
{
	const struct mthp_rules *r = b->r;

	return (r->nr_ptes - 1 - r->settings->max_ptes_none) >> (r->pmd_order - o + 2);
}

/*
 * seed: of the chunk bits of a word (one at each chunk's first PTE), a
 * bit at each window of order o (2..6) with more than thr set chunks:
 * the counts summed in fields of 2^o bits, then compared all at once.
 */
static uint64_t density_word(uint64_t chunks, unsigned o, uint32_t thr)
{
	static const uint64_t halves[4] = {
		0x0f0f0f0f0f0f0f0full, 0x00ff00ff00ff00ffull, 0x0000ffff0000ffffull,
		0x00000000ffffffffull,
	};
	uint64_t y = chunks, high;

	for (unsigned k = 2; k < o; k++)
		y = (y & halves[k - 2]) + ((y >> (1u << k)) & halves[k - 2]);
	if (o == WORD_ORDER)
		return y > thr;
	/* each field holds far less than half its range: no borrow between fields */
	high = starts[o] << ((1u << o) - 1);
	return ((((y | high) - (thr + 1) * starts[o]) & high) >> ((1u << o) - 1));
}

/* A bit at each window of order o whose bits of x are all set (any set). */
static uint64_t fold_all(uint64_t x, unsigned o)
{
	for (unsigned k = 0; k < o; k++)
		x &= x >> (1u << k);
	return x & starts[o];
}

static uint64_t fold_any(uint64_t x, unsigned o)
{
	for (unsigned k = 0; k < o; k++)
		x |= x >> (1u << k);
	return x & starts[o];
}

/* From windows of order from to all their windows of order to < from. */
static uint64_t spread(uint64_t x, unsigned from, unsigned to)
{
	for (unsigned k = to; k < from; k++)
		x |= x << (1u << k);
	return x;
}

/* Does the window (x, o), o > 6, pass the walk's test? */
static bool big_passes(const struct bulk *b, uint32_t x, unsigned o)
{
	uint32_t count = 0;

	if (!b->seed) {
		for (uint32_t w = x / 64; w < (x + BIT(o)) / 64; w++)
			if (b->s->occupied[w] != ~0ull)
				return false;
		return true;
	}
	if (b->exempt & BIT(o))
		return true;
	for (uint32_t w = x / 64; w < (x + BIT(o)) / 64; w++)
		count += popcount64(word_chunks(b, w));
	return count > seed_threshold(b, o);
}

/*
 * The result of each window of one order in a word, as a 3-bit code in
 * three bit planes: one bit of each plane per window.
 */
enum code {
	C_SWAP, C_NONE, C_SHARED, C_MAPPED, C_COUNT, C_LACK, C_SUCCEED, NR_CODES,
};

static const uint8_t code_result[NR_CODES + 1] = {
	[C_SWAP] = SCAN_EXCEED_SWAP_PTE, [C_NONE] = SCAN_EXCEED_NONE_PTE,
	[C_SHARED] = SCAN_EXCEED_SHARED_PTE, [C_MAPPED] = SCAN_PTE_MAPPED_HUGEPAGE,
	[C_COUNT] = SCAN_PAGE_COUNT, [C_LACK] = SCAN_LACK_REFERENCED_PAGE,
	[C_SUCCEED] = SCAN_SUCCEED,
};

/* The results attempt() gives, and no other. */
static enum code result_code(enum mthp_result r)
{
	if (r == SCAN_EXCEED_NONE_PTE)
		return C_NONE;
	if (r == SCAN_EXCEED_SHARED_PTE)
		return C_SHARED;
	if (r == SCAN_PTE_MAPPED_HUGEPAGE)
		return C_MAPPED;
	if (r == SCAN_PAGE_COUNT)
		return C_COUNT;
	if (r == SCAN_LACK_REFERENCED_PAGE)
		return C_LACK;
	return r == SCAN_SUCCEED ? C_SUCCEED : C_SWAP;
}

/* The windows of orders 6 and below of word w, visited from their top order. */
static void word_walk(struct bulk *b, uint32_t w)
{
	const struct mthp_scan *s = b->s;
	uint32_t base = w * 64;
	uint64_t test[MAX_WORD_LEVELS], active[MAX_WORD_LEVELS], visit[MAX_WORD_LEVELS];
	uint64_t advance[MAX_WORD_LEVELS], plane[MAX_WORD_LEVELS][3];
	uint64_t chunks = b->seed ? word_chunks(b, w) : 0, todo = 0, recs = 0;
	uint64_t none = s->none[w], shared = s->shared_pte[w];
	uint64_t swap = s->swap[w];

	for (unsigned i = 0; i < b->nr_lv; i++) {
		unsigned o = b->lv[i];
		uint64_t t, sw, mapped = 0, starting;

		if (!b->seed)
			t = fold_all(s->occupied[w], o);
		else if (b->exempt & BIT(o))
			t = starts[o];
		else
			t = density_word(chunks, o, seed_threshold(b, o));
		sw = swap ? fold_any(swap, o) & t : 0;
		/* what ends an attempt on its first PTE, before any isolation */
		starting = t & ~sw;
		if (b->veto && s->folio_orders) {
			uint64_t cand = starting & ~(none | shared);

			if (cand && (cand &= bulk_large(b)[w])) {
				for (; cand; cand &= cand - 1) {
					uint32_t p = lowest_bit(cand);

					if (s->folio_orders[base + p] >= o)
						mapped |= 1ull << p;
				}
			}
		}
		/* C_SWAP is 0, C_NONE 1, C_SHARED 2, C_MAPPED 3 */
		plane[i][0] = (starting & none) | mapped;
		plane[i][1] = (starting & shared) | mapped;
		plane[i][2] = 0;
		test[i] = t;
		active[i] = starting & ~(none | shared | mapped);
		advance[i] = mapped;
	}
	/* visited, as far as the windows that fail on their first PTE tell */
	visit[0] = starts[b->lv[0]];
	for (unsigned i = 1; i < b->nr_lv; i++)
		visit[i] = spread(visit[i - 1] & ~advance[i - 1], b->lv[i - 1], b->lv[i]);
	for (unsigned i = 0; i < b->nr_lv; i++)
		todo |= active[i] & visit[i];

	/* the windows whose first page can be isolated, in the walk's order */
	for (; todo; todo &= todo - 1) {
		uint32_t p = lowest_bit(todo), x = base + p;

		for (unsigned i = 0; i < b->nr_lv; i++) {
			unsigned o = b->lv[i];
			enum mthp_result result;

			if (!((active[i] & visit[i]) >> p & 1))
				continue;
			/* inside a window that advanced: so are the smaller ones here */
			if (x < b->skip_until)
				break;
			result = attempt(b, x, o);
			for (unsigned j = 0; j < 3; j++)
				plane[i][j] |= (uint64_t)(result_code(result) >> j & 1) << p;
			if (result == SCAN_SUCCEED || result == SCAN_PTE_MAPPED_HUGEPAGE) {
				advance[i] |= 1ull << p;
				b->skip_until = x + BIT(o);
			}
		}
	}

	/* visited, now that every window's result is known */
	for (unsigned i = 1; i < b->nr_lv; i++)
		visit[i] = spread(visit[i - 1] & ~advance[i - 1], b->lv[i - 1], b->lv[i]);
	for (unsigned i = 0; i < b->nr_lv; i++) {
		visit[i] &= test[i];
		recs |= visit[i];
	}
	for (; recs; recs &= recs - 1) {
		uint32_t p = lowest_bit(recs);

		for (unsigned i = 0; i < b->nr_lv; i++) {
			unsigned c;

			if (!(visit[i] >> p & 1))
				continue;
			c = (unsigned)((plane[i][0] >> p & 1) | (plane[i][1] >> p & 1) << 1 |
				       (plane[i][2] >> p & 1) << 2);
			record(b, base + p, b->lv[i], (enum mthp_result)code_result[c]);
		}
	}
}

/*
 * The PMD window, when the walk hands it out: attempted as plan.c does,
 * the batch empty of the range's pages.  False when the walk ends there.
 */
static bool pmd_step(struct bulk *b)
{
	const struct mthp_rules *r = b->r;
	const struct mthp_scan *s = b->s;
	unsigned pmd = r->pmd_order;
	uint32_t n = r->nr_ptes, stop, small = 0, big = 0, max_none;
	enum mthp_result result;
	bool passes;

	if (!(r->orders & BIT(pmd)))
		return true;
	if (b->seed) {
		passes = big_passes(b, 0, pmd);
	} else {
		max_none = mthp_upstream_max_none(r, pmd);
		passes = max_none >= n || n - s->nr_none - s->nr_bad >= n - max_none;
	}
	if (!passes)
		return true;
	bulk_large(b);
	result = mthp_attempt_at(r, s, 0, pmd, &stop);
	/* at PMD order the swap entries are swapped in, and that drains the batch */
	if (s->nr_swap)
		b->nr = 0;
	if (result == SCAN_SUCCEED) {
		record(b, 0, pmd, result);
		b->out->pages_filled += s->nr_none;
		b->out->underused = mthp_underused(r->settings, s->nr_none);
		drain(b);
		return false;
	}
	record(b, 0, pmd, result);
	/* the present pages of [0, stop) go back, swapped-in ones too */
	for (uint32_t w = 0; w * 64 < stop; w++) {
		uint64_t pages = ~s->none[w] & (stop - w * 64 >= 64 ? ~0ull :
						 (1ull << (stop - w * 64)) - 1);
		uint64_t l = pages & bulk_large(b)[w];

		big += popcount64(l);
		small += popcount64(pages & ~l);
	}
	b->nr += small;
	b->held_end = stop;
	if (b->nr >= MTHP_LRU_BATCH_SIZE) {
		uint32_t keep = b->nr % MTHP_LRU_BATCH_SIZE;

		b->nr = keep;
		b->held_end = 0;
		/* the lowest keep small pages stay: held_end is past the last of them */
		for (uint32_t w = 0; keep && w * 64 < stop; w++) {
			uint64_t pages = ~s->none[w] & ~b->large[w] &
					 (stop - w * 64 >= 64 ? ~0ull : (1ull << (stop - w * 64)) - 1);
			uint32_t c = popcount64(pages);

			if (c >= keep) {
				b->held_end = w * 64 + nth_bit(pages, keep - 1) + 1;
				break;
			}
			keep -= c;
		}
	}
	if (big)
		drain(b);
	return true;
}

bool mthp_plan_bulk_applies(const struct mthp_rules *r, const struct mthp_scan *s)
{
	uint32_t below = r->orders & (BIT(r->pmd_order) - 1);

	if (r->context != MTHP_CONTEXT_KHUGEPAGED || r->plugin || !below || s->nr_bad)
		return false;
	switch (r->policy) {
	case MTHP_POLICY_SEED:
		break;
	case MTHP_POLICY_UPSTREAM:
		/* the count test below PMD must be "every PTE occupied" */
		if (mthp_upstream_count_rule(r) != MTHP_COUNT_ALL)
			return false;
		break;
	case MTHP_POLICY_LEGACY:
	case MTHP_POLICY_GUARDED:
		return false;
	}
	for (unsigned o = MTHP_MIN_ORDER; o < r->pmd_order; o++)
		if ((below & BIT(o)) && (r->limits[o].max_none || r->limits[o].max_shared))
			return false;
	return true;
}

void mthp_plan_bulk(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		    const struct mthp_scan *s, uint64_t *scratch)
{
	struct bulk b = {
		.r = r, .s = s, .out = out, .scratch = scratch, .words = r->nr_ptes / 64,
		.veto = r->policy == MTHP_POLICY_UPSTREAM,
		.seed = r->policy == MTHP_POLICY_SEED,
		.chunk_s = r->settings->max_ptes_none >> (r->pmd_order - 2),
		.nr = out->lru_batch_start < MTHP_LRU_BATCH_SIZE ? out->lru_batch_start : 0,
	};

	for (unsigned o = r->pmd_order; o-- > MTHP_MIN_ORDER;) {
		if (!(r->orders & BIT(o)))
			continue;
		if (o > WORD_ORDER)
			b.big[b.nr_big++] = o;
		else
			b.lv[b.nr_lv++] = o;
		if (b.seed && r->settings->size_enabled[o] == MTHP_MODE_ALWAYS)
			b.exempt |= BIT(o);
	}
	if (b.seed && r->settings->size_enabled[r->pmd_order] == MTHP_MODE_ALWAYS)
		b.exempt |= BIT(r->pmd_order);

	if (pmd_step(&b)) {
		for (uint32_t w = 0; w < b.words; w++) {
			uint32_t base = w * 64;
			bool skip = false;

			if (base < b.skip_until)
				continue;
			for (unsigned i = 0; i < b.nr_big && !skip; i++) {
				unsigned o = b.big[i];
				enum mthp_result result;

				if (base & (BIT(o) - 1) || !big_passes(&b, base, o))
					continue;
				result = attempt(&b, base, o);
				record(&b, base, o, result);
				if (result == SCAN_SUCCEED || result == SCAN_PTE_MAPPED_HUGEPAGE) {
					b.skip_until = base + BIT(o);
					skip = true;
				}
			}
			if (!skip && b.nr_lv)
				word_walk(&b, w);
		}
	}
	out->lru_batch_end = b.nr;
}
