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
 * counts of seed's chunks).  When every window left, those whose first
 * page can be isolated, collapses and nothing of an earlier put-back is
 * held in the word, the walk is known from the bitmaps too (all_collapse).
 * Otherwise those windows are taken one by one in the walk's order with
 * the batch, without branches on the table's contents.  The walk's order
 * of a word's windows is a list of slots worked out with the rules; the
 * records are written in it, 16 at a time with AVX-512 VBMI where the
 * scan uses it.
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

#if defined(__x86_64__)
#include <immintrin.h>
#define BULK_X86 1
#else
#define BULK_X86 0
#endif

/* Orders whose windows lie inside one word. */
#define WORD_ORDER 6
#define MAX_WORD_LEVELS (WORD_ORDER - MTHP_MIN_ORDER + 1)

/* Bits at the multiples of 2^o in a word, o <= 6. */
static const uint64_t starts[WORD_ORDER + 1] = {
	~0ull, 0x5555555555555555ull, 0x1111111111111111ull, 0x0101010101010101ull,
	0x0001000100010001ull, 0x0000000100000001ull, 1,
};

void mthp_bulk_rules_init(struct mthp_rules *r)
{
	struct mthp_bulk_rules *br = &r->bulk;
	uint32_t below = r->orders & (BIT(r->pmd_order) - 1);
	unsigned lowest;

	memset(br, 0, sizeof(*br));
	if (r->context != MTHP_CONTEXT_KHUGEPAGED || r->plugin || !below)
		return;
	switch (r->policy) {
	case MTHP_POLICY_SEED:
		break;
	case MTHP_POLICY_UPSTREAM:
		/* the count test below PMD must be "every PTE occupied" */
		if (mthp_upstream_count_rule(r) != MTHP_COUNT_ALL)
			return;
		break;
	case MTHP_POLICY_GUARDED:
		/*
		 * max_ptes_none 0: upstream's every-PTE test at every order
		 * and no folio discount (max_none(k) is 0)
		 */
		if (r->settings->max_ptes_none)
			return;
		break;
	case MTHP_POLICY_LEGACY:
		return;
	}
	for (unsigned o = MTHP_MIN_ORDER; o < r->pmd_order; o++)
		if ((below & BIT(o)) && (r->limits[o].max_none || r->limits[o].max_shared))
			return;
	br->applies = true;
	br->chunk_none = r->settings->max_ptes_none >> (r->pmd_order - 2);
	for (unsigned o = r->pmd_order + 1; o-- > MTHP_MIN_ORDER;) {
		br->threshold[o] = (r->nr_ptes - 1 - r->settings->max_ptes_none) >>
				   (r->pmd_order - o + 2);
		if (r->settings->size_enabled[o] == MTHP_MODE_ALWAYS)
			br->exempt |= BIT(o);
		if ((below & BIT(o)) && o <= WORD_ORDER)
			br->word[br->nr_word++] = (uint8_t)o;
	}
	if (r->policy == MTHP_POLICY_SEED) {
		/* v10 never sets the last of the N/4 chunks */
		br->pmd_never = !(br->exempt & BIT(r->pmd_order)) &&
				br->threshold[r->pmd_order] >= r->nr_ptes / 4 - 1;
		for (unsigned i = 0; i < br->nr_word; i++)
			br->chunks |= !(br->exempt & BIT(br->word[i]));
	}
	/* capped at a word: a window of several needs them all occupied */
	br->lowest = WORD_ORDER;
	if (!br->nr_word)
		return;
	/* a word's windows in the walk's order: by offset, then larger first */
	lowest = br->lowest = br->word[br->nr_word - 1];
	for (uint32_t pos = 0; pos < 64; pos += BIT(lowest)) {
		for (unsigned i = 0; i < br->nr_word; i++) {
			if (pos & (BIT(br->word[i]) - 1))
				continue;
			br->slot_pos[br->nr_slots] = (uint8_t)pos;
			br->slot_level[br->nr_slots] = (uint8_t)i;
			br->slot_rec[br->nr_slots] = pos | (uint32_t)br->word[i] << 16;
			br->slot_mask[i] |= BIT(br->nr_slots);
			br->nr_slots++;
		}
	}
	for (unsigned k = 0; k < br->nr_slots; k++) {
		uint32_t end = br->slot_pos[k] + BIT(br->word[br->slot_level[k]]);

		for (unsigned j = k + 1; j < br->nr_slots && br->slot_pos[j] < end; j++)
			br->slot_inside[k] |= BIT(j);
	}
}

/*
 * A window's outcome as a code of 3 bits; the windows that fail on their
 * first PTE have the first four.
 */
enum code {
	C_SWAP, C_NONE, C_SHARED, C_MAPPED, C_COUNT, C_LACK, C_SUCCEED,
};

/* code to result, padded for a 64-byte table lookup */
static const uint8_t code_result[64] __attribute__((aligned(64))) = {
	[C_SWAP] = SCAN_EXCEED_SWAP_PTE, [C_NONE] = SCAN_EXCEED_NONE_PTE,
	[C_SHARED] = SCAN_EXCEED_SHARED_PTE, [C_MAPPED] = SCAN_PTE_MAPPED_HUGEPAGE,
	[C_COUNT] = SCAN_PAGE_COUNT, [C_LACK] = SCAN_LACK_REFERENCED_PAGE,
	[C_SUCCEED] = SCAN_SUCCEED,
};

struct bulk {
	const struct mthp_rules *r;
	const struct mthp_bulk_rules *br;
	const struct mthp_scan *s;
	struct mthp_pmd_plan *out;
	uint64_t *scratch;		/* the large-folio bitmap when the scan has none */
	const uint64_t *large;		/* NULL until a put-back or a veto needs it */
	uint32_t words;
	bool veto;			/* upstream: the folio-order veto */
	bool seed;
	/* guarded: a window holding a folio of its order or larger is gone past */
	bool guarded;
	uint32_t guarded_all;		/* guarded: every order, else none */
	bool vbmi;			/* the records written with AVX-512 VBMI */
	/* the LRU add batch */
	uint32_t nr;
	uint32_t held_end;
	/* windows that start below it are inside one that advanced */
	uint32_t skip_until;
	/* guarded, with a large folio: the words with a page of one of order 7 or more */
	uint64_t big_words[MTHP_BITMAP_WORDS / 64];
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
 * A failed attempt below PMD puts back [x, stop), every page present, big
 * of them large: the small folios last PTE first, a full batch draining
 * and keeping the lowest (nr + small) % 31 of them, then the large ones,
 * which drain it.
 */
static void put_back(struct bulk *b, uint32_t x, uint32_t stop, uint32_t big)
{
	b->nr += stop - x - big;
	b->held_end = stop;
	if (b->nr >= MTHP_LRU_BATCH_SIZE) {
		b->nr %= MTHP_LRU_BATCH_SIZE;
		b->held_end = b->nr ? x + b->nr : 0;
	}
	if (big)
		drain(b);
}

/*
 * The batch's part in an attempt whose rules stop its isolation at stop
 * (x + 2^o when none does): SCAN_PAGE_COUNT when its first page is held,
 * else the rules' result, and what that does to the batch.
 */
static enum mthp_result with_batch(struct bulk *b, uint32_t x, uint32_t stop,
				   enum mthp_result result)
{
	if (x < b->held_end)
		return SCAN_PAGE_COUNT;
	if (result == SCAN_SUCCEED)
		drain(b);
	else
		put_back(b, x, stop, mthp_bitmap_count(bulk_large(b), x, stop - x));
	return result;
}

static uint64_t orders_at_least(const struct bulk *b, uint32_t w, unsigned o);

/* The first page of [x, x + 2^o) of a folio of order o or more, or MTHP_NO_BIT. */
static uint32_t first_veto(struct bulk *b, uint32_t x, unsigned o)
{
	const uint64_t *large = bulk_large(b);
	uint32_t len = BIT(o);

	for (uint32_t i = x / 64; i * 64 < x + len; i++) {
		uint64_t bits = large[i];

		if (len < 64)
			bits &= ((1ull << len) - 1) << (x % 64);
		/* one compare of the word's orders, where it is one instruction */
		if (bits && b->vbmi)
			bits &= orders_at_least(b, i, o);
		for (; bits; bits &= bits - 1) {
			uint32_t p = i * 64 + lowest_bit(bits);

			if (b->s->folio_orders[p] >= o)
				return p;
		}
	}
	return MTHP_NO_BIT;
}

/*
 * Attempting (x, o) below PMD, no none and no shared PTE accepted: the
 * swap veto, then the first PTE that stops the isolation, then the
 * referenced rule, then the batch.  For the windows of several words.
 */
static enum mthp_result attempt(struct bulk *b, uint32_t x, unsigned o)
{
	const struct mthp_scan *s = b->s;
	uint32_t len = BIT(o), first = MTHP_NO_BIT, pos;
	enum mthp_result result = SCAN_SUCCEED;

	if (s->nr_swap && bits_any(s->swap, x, len))
		return SCAN_EXCEED_SWAP_PTE;
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
	if (first == x)
		return result;
	if (first == MTHP_NO_BIT) {
		first = x + len;
		result = bits_any(s->young, x, len) ? SCAN_SUCCEED : SCAN_LACK_REFERENCED_PAGE;
	}
	return with_batch(b, x, first, result);
}

/*
 * The same for a window of word w at bit p whose first page is present,
 * not shared, of no folio too large, and that holds no swap entry: the
 * word's own bits tell where its isolation stops (veto: the pages of
 * folios of order o or more), and the outcome and the batch are worked
 * out without a branch on the table's contents, which no predictor
 * guesses.  Returns the outcome's code; *advance: the walk goes past it.
 */
static unsigned word_attempt(struct bulk *b, uint32_t w, uint32_t p, unsigned o,
			     uint64_t veto, uint64_t large, bool *advance)
{
	const struct mthp_scan *s = b->s;
	uint64_t win = (o == WORD_ORDER ? ~0ull : (1ull << BIT(o)) - 1) << p;
	uint64_t none = s->none[w], shared = s->shared_pte[w];
	uint64_t stops = (none | shared | veto) & win;
	uint64_t first = stops & -stops, below = first ? (first - 1) & win : win;
	uint32_t x = w * 64 + p, stop = x + popcount64(below);
	/* C_NONE, C_SHARED or C_MAPPED at the first stop; else C_LACK or C_SUCCEED */
	unsigned code = first ? C_MAPPED - 2 * !!(none & first) - !!(shared & first) :
			C_LACK + !!(s->young[w] & win);
	bool held = x < b->held_end;
	uint32_t big = popcount64(large & below), nr = b->nr + popcount64(below) - big;
	uint32_t keep = nr % MTHP_LRU_BATCH_SIZE, held_end = stop;

	/* a full batch drains, keeping the lowest pages put back last */
	if (nr >= MTHP_LRU_BATCH_SIZE) {
		nr = keep;
		held_end = keep ? x + keep : 0;
	}
	/* a large folio put back, or the new folio of a collapse, drains it */
	if (big || code == C_SUCCEED)
		nr = held_end = 0;
	code = held ? C_COUNT : code;
	b->nr = held ? b->nr : nr;
	b->held_end = held ? b->held_end : held_end;
	*advance = code == C_SUCCEED || code == C_MAPPED;
	return code;
}

static void record(struct mthp_pmd_plan *out, uint32_t x, unsigned o,
		   enum mthp_result result)
{
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
	x = (((0x8888888888888888ull | (0x1111111111111111ull * b->br->chunk_none)) - x) >> 3) &
	    0x1111111111111111ull;
	/* v10 never records the last chunk */
	if (w == b->words - 1)
		x &= ~(1ull << 60);
	return x;
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

/*
 * A bit at each window of order o (<= 6) whose bits of x are all set (any
 * set).  Inlined where o is known, or one range's o: the branches go.
 */
#define FOLD static inline __attribute__((always_inline))

FOLD uint64_t fold_all(uint64_t x, unsigned o)
{
	if (o > 0) x &= x >> 1;
	if (o > 1) x &= x >> 2;
	if (o > 2) x &= x >> 4;
	if (o > 3) x &= x >> 8;
	if (o > 4) x &= x >> 16;
	if (o > 5) x &= x >> 32;
	return x & starts[o];
}

FOLD uint64_t fold_any(uint64_t x, unsigned o)
{
	if (o > 0) x |= x >> 1;
	if (o > 1) x |= x >> 2;
	if (o > 2) x |= x >> 4;
	if (o > 3) x |= x >> 8;
	if (o > 4) x |= x >> 16;
	if (o > 5) x |= x >> 32;
	return x & starts[o];
}

/*
 * From windows of order from to all their windows of order to < from (x
 * has bits at multiples of 2^from only): one product, as the copies of a
 * bit land in its own window and no two carry into each other.
 */
static uint64_t spread(uint64_t x, unsigned from, unsigned to)
{
	uint64_t copies = starts[to];

	if (from < WORD_ORDER)
		copies &= (1ull << (1u << from)) - 1;
	return x * copies;
}

/* Does the window (x, o), o > 6 or the PMD window, pass the walk's test? */
static bool big_passes(const struct bulk *b, uint32_t x, unsigned o)
{
	uint32_t count = 0;

	if (!b->seed) {
		for (uint32_t w = x / 64; w < (x + BIT(o)) / 64; w++)
			if (b->s->occupied[w] != ~0ull)
				return false;
		return true;
	}
	if (b->br->exempt & BIT(o))
		return true;
	for (uint32_t w = x / 64; w < (x + BIT(o)) / 64; w++)
		count += popcount64(word_chunks(b, w));
	return count > b->br->threshold[o];
}

/*
 * What the bitmaps say of each window of a word, per order of word[], a
 * bit at each window's first PTE: it passes the walk's test (test), its
 * first PTE is a none (none) or shared (shared) one or a page of a folio
 * too large (mapped), or its first page can be isolated (active); a
 * window that passes with none of these holds a swap entry.
 */
struct word_bits {
	uint64_t test[MAX_WORD_LEVELS], none[MAX_WORD_LEVELS], shared[MAX_WORD_LEVELS];
	uint64_t mapped[MAX_WORD_LEVELS], active[MAX_WORD_LEVELS];
};

/*
 * The same per slot of the word's walk order: masks of slots, and each
 * slot's code (for the windows that fail on their first PTE).
 */
struct word_slots {
	uint32_t test, active, mapped;
	/* the codes of the windows attempted one by one, three bit planes */
	uint32_t done[3];
	/* written whole and read whole: a byte store in between stalls the read */
	uint8_t code[64] __attribute__((aligned(64)));
};

static void slots_portable(const struct mthp_bulk_rules *br, const struct word_bits *wb,
			   struct word_slots *ws)
{
	ws->test = ws->active = ws->mapped = 0;
	memset(ws->code, 0, sizeof(ws->code));
	for (unsigned k = 0; k < br->nr_slots; k++) {
		unsigned i = br->slot_level[k], p = br->slot_pos[k];

		ws->test |= (uint32_t)(wb->test[i] >> p & 1) << k;
		ws->active |= (uint32_t)(wb->active[i] >> p & 1) << k;
		ws->mapped |= (uint32_t)(wb->mapped[i] >> p & 1) << k;
		ws->code[k] = (uint8_t)((wb->none[i] >> p & 1) * C_NONE |
					(wb->shared[i] >> p & 1) * C_SHARED |
					(wb->mapped[i] >> p & 1) * C_MAPPED);
	}
}

/* A word's records: the windows of the slots in recs, in slot order. */
static void emit_portable(struct bulk *b, uint32_t base, uint32_t recs,
			  const struct word_slots *ws)
{
	for (; recs; recs &= recs - 1) {
		unsigned k = lowest_bit(recs);
		unsigned code = ws->active >> k & 1 ?
				(ws->done[0] >> k & 1) | (ws->done[1] >> k & 1) << 1 |
				(ws->done[2] >> k & 1) << 2 : ws->code[k];

		record(b->out, base + b->br->slot_pos[k], b->br->word[b->br->slot_level[k]],
		       (enum mthp_result)code_result[code]);
	}
}

#if BULK_X86
#define VBMI_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/*
 * slots_portable() 64 windows at a time: a byte of flags at each window's
 * first PTE, gathered into the slots of its order by one permute.
 */
VBMI_TARGET static void slots_vbmi(const struct mthp_bulk_rules *br, const struct word_bits *wb,
				   struct word_slots *ws)
{
	const __m512i pos = _mm512_loadu_si512((const void *)br->slot_pos);
	__m512i slots = _mm512_setzero_si512();

	for (unsigned i = 0; i < br->nr_word; i++) {
		/* code in bits 0-1, then active, test and mapped */
		__m512i flags = _mm512_or_si512(
			_mm512_or_si512(_mm512_maskz_mov_epi8(wb->none[i], _mm512_set1_epi8(C_NONE)),
					_mm512_maskz_mov_epi8(wb->shared[i], _mm512_set1_epi8(C_SHARED))),
			_mm512_or_si512(_mm512_maskz_mov_epi8(wb->mapped[i], _mm512_set1_epi8(C_MAPPED | 16)),
					_mm512_or_si512(
						_mm512_maskz_mov_epi8(wb->active[i], _mm512_set1_epi8(4)),
						_mm512_maskz_mov_epi8(wb->test[i], _mm512_set1_epi8(8)))));

		slots = _mm512_mask_permutexvar_epi8(slots, br->slot_mask[i], pos, flags);
	}
	ws->active = (uint32_t)_mm512_test_epi8_mask(slots, _mm512_set1_epi8(4));
	ws->test = (uint32_t)_mm512_test_epi8_mask(slots, _mm512_set1_epi8(8));
	ws->mapped = (uint32_t)_mm512_test_epi8_mask(slots, _mm512_set1_epi8(16));
	_mm512_store_si512((void *)ws->code, _mm512_and_si512(slots, _mm512_set1_epi8(3)));
}

/*
 * emit_portable() 16 records at a time: the codes become results by one
 * table lookup, the records (offset | order << 16 | result << 24) of the
 * failed and the collapsed windows are compressed into their lists.
 */
VBMI_TARGET static void emit_vbmi(struct bulk *b, uint32_t base, uint32_t recs,
				  const struct word_slots *ws)
{
	const struct mthp_bulk_rules *br = b->br;
	struct mthp_pmd_plan *out = b->out;
	__m512i done_codes = _mm512_or_si512(
		_mm512_or_si512(_mm512_maskz_mov_epi8(ws->done[0], _mm512_set1_epi8(1)),
				_mm512_maskz_mov_epi8(ws->done[1], _mm512_set1_epi8(2))),
		_mm512_maskz_mov_epi8(ws->done[2], _mm512_set1_epi8(4)));
	__m512i code = _mm512_mask_mov_epi8(_mm512_load_si512((const void *)ws->code),
					    ws->active, done_codes);
	__m512i result = _mm512_maskz_permutexvar_epi8(
		recs, code, _mm512_load_si512((const void *)code_result));
	uint64_t done = _mm512_cmpeq_epi8_mask(result, _mm512_set1_epi8(SCAN_SUCCEED));
	uint64_t failed = recs & ~done;

	for (unsigned half = 0; half * 16 < br->nr_slots; half++) {
		__m512i rec = _mm512_or_si512(
			_mm512_add_epi32(_mm512_loadu_si512((const void *)(br->slot_rec + 16 * half)),
					 _mm512_set1_epi32((int)base)),
			_mm512_slli_epi32(_mm512_cvtepu8_epi32(half ? _mm512_extracti32x4_epi32(result, 1) :
							       _mm512_castsi512_si128(result)), 24));
		__mmask16 f = (__mmask16)(failed >> (16 * half)), d = (__mmask16)(done >> (16 * half));
		uint32_t nf = popcount64(f), nd = popcount64(d);

		/* compressed in registers, stored under a mask: no write past the lists */
		_mm512_mask_storeu_epi32(out->attempts + out->nr_attempts,
					 (__mmask16)((1u << nf) - 1), _mm512_maskz_compress_epi32(f, rec));
		_mm512_mask_storeu_epi32(out->collapses + out->nr_collapses,
					 (__mmask16)((1u << nd) - 1), _mm512_maskz_compress_epi32(d, rec));
		out->nr_attempts += nf;
		out->nr_collapses += nd;
	}
}
#endif

/* A word's slots, by the widest form the CPU has. */
static void slots(const struct bulk *b, const struct word_bits *wb, struct word_slots *ws)
{
#if BULK_X86
	if (b->vbmi) {
		slots_vbmi(b->br, wb, ws);
		return;
	}
#endif
	slots_portable(b->br, wb, ws);
}

/* A word's records (emit_portable()), by the widest form the CPU has. */
static void emit(struct bulk *b, uint32_t base, uint32_t recs, const struct word_slots *ws)
{
#if BULK_X86
	if (b->vbmi) {
		emit_vbmi(b, base, recs, ws);
		return;
	}
#endif
	emit_portable(b, base, recs, ws);
}

#if BULK_X86
VBMI_TARGET static uint64_t orders_at_least_avx512(const uint8_t *orders, unsigned o)
{
	return _mm512_cmpge_epu8_mask(_mm512_loadu_si512((const void *)orders),
				      _mm512_set1_epi8((char)o));
}
#endif

/* Bit p set when PTE p of word w maps a folio of order o or more (or none). */
static uint64_t orders_at_least(const struct bulk *b, uint32_t w, unsigned o)
{
	const uint8_t *orders = b->s->folio_orders + w * 64;
	uint64_t bits = 0;

#if BULK_X86
	if (b->vbmi)
		return orders_at_least_avx512(orders, o);
#endif
	for (unsigned i = 0; i < 64; i++)
		bits |= (uint64_t)(orders[i] >= o) << i;
	return bits;
}

#if BULK_X86
VBMI_TARGET static void word_orders_avx512(const uint8_t *orders, uint64_t *at_least)
{
	__m512i v = _mm512_loadu_si512((const void *)orders);

	for (unsigned o = MTHP_MIN_ORDER; o <= WORD_ORDER; o++)
		at_least[o] = _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8((char)o));
}
#endif

/* orders_at_least() of word w for every order of 2..6, at_least[o]. */
static void word_orders(const struct bulk *b, uint32_t w, uint64_t *at_least)
{
	const uint8_t *orders = b->s->folio_orders + w * 64;

#if BULK_X86
	if (b->vbmi) {
		word_orders_avx512(orders, at_least);
		return;
	}
#endif
	for (unsigned o = MTHP_MIN_ORDER; o <= WORD_ORDER; o++)
		at_least[o] = 0;
	for (unsigned i = 0; i < 64; i++)
		for (unsigned o = MTHP_MIN_ORDER; o <= WORD_ORDER; o++)
			at_least[o] |= (uint64_t)(orders[i] >= o) << i;
}

/*
 * The common case of a word: nothing of an earlier put-back held in it,
 * and every visited window whose first page can be isolated collapses (no
 * none, shared or too large folio's PTE in it, a young one): then nothing
 * is put back, the batch only drains, and the walk is known from the
 * bitmaps alone.  If so, the windows the walk does not visit are taken
 * out of wb->test and wb->active and true is returned.
 */
static bool all_collapse(const struct bulk *b, uint32_t w, struct word_bits *wb,
			 const uint64_t *veto)
{
	const struct mthp_bulk_rules *br = b->br;
	const struct mthp_scan *s = b->s;
	uint64_t none = s->none[w], shared = s->shared_pte[w], young = s->young[w];
	uint64_t visit = starts[br->word[0]];

	if (b->held_end > w * 64)
		return false;
	for (unsigned i = 0; i < br->nr_word; i++) {
		unsigned o = br->word[i];
		uint64_t active = wb->active[i] & visit, collapse;

		if (active) {
			collapse = active & ~fold_any(none | shared | veto[i], o) & fold_any(young, o);
			if (collapse != active)
				return false;
		}
		wb->test[i] &= visit;
		wb->active[i] = active;
		if (i + 1 < br->nr_word)
			visit = spread(visit & ~(active | wb->mapped[i]), o, br->word[i + 1]);
	}
	return true;
}

/* Below this many records in a word, no vector set-up pays. */
#define FEW_RECORDS 8

/*
 * The records of a word whose attempted windows either fail on their
 * first PTE or collapse (all_collapse()), from the bitmaps: recs, the
 * offsets where any order has one.
 */
static void emit_few(struct bulk *b, uint32_t w, uint64_t recs, const struct word_bits *wb)
{
	const struct mthp_bulk_rules *br = b->br;

	for (; recs; recs &= recs - 1) {
		uint32_t p = lowest_bit(recs);

		for (unsigned i = 0; i < br->nr_word; i++) {
			unsigned code;

			if (!(wb->test[i] >> p & 1))
				continue;
			code = wb->active[i] >> p & 1 ? C_SUCCEED :
			       (unsigned)((wb->none[i] >> p & 1) * C_NONE |
					  (wb->shared[i] >> p & 1) * C_SHARED |
					  (wb->mapped[i] >> p & 1) * C_MAPPED);
			record(b->out, w * 64 + p, br->word[i], (enum mthp_result)code_result[code]);
		}
	}
}

/*
 * guarded: out of each order's tests of word w, the windows the walk goes
 * past because they or a window around them (of any order below PMD, in
 * the word) hold a folio of that window's order or larger.
 */
static void guarded_word_gone(const struct bulk *b, uint64_t large, const uint64_t *at_least,
			      uint64_t *test)
{
	const struct mthp_bulk_rules *br = b->br;
	unsigned top = b->r->pmd_order - 1 < WORD_ORDER ? b->r->pmd_order - 1 : WORD_ORDER;
	uint64_t gone = 0;
	unsigned i = 0;

	for (unsigned o = top; o >= MTHP_MIN_ORDER && i < br->nr_word; o--) {
		/* the PTEs of the windows of order o that hold one */
		gone |= spread(fold_any(at_least[o] & large, o), o, 0);
		if (br->word[i] == o)
			test[i++] &= ~gone;
	}
}

/* The windows of orders 6 and below of word w, visited from their top order. */
static void word_walk(struct bulk *b, uint32_t w)
{
	const struct mthp_bulk_rules *br = b->br;
	const struct mthp_scan *s = b->s;
	unsigned nr = br->nr_word;
	uint64_t none = s->none[w], shared = s->shared_pte[w], swap = s->swap[w], any = 0;
	uint64_t chunks = br->chunks ? word_chunks(b, w) : 0, large, veto[MAX_WORD_LEVELS];
	uint64_t at_least[WORD_ORDER + 1];
	uint32_t visit, todo;
	struct word_bits wb;
	struct word_slots ws;

	for (unsigned i = 0; i < nr; i++) {
		unsigned o = br->word[i];

		if (!b->seed)
			wb.test[i] = fold_all(s->occupied[w], o);
		else if (br->exempt & BIT(o))
			wb.test[i] = starts[o];
		else
			wb.test[i] = density_word(chunks, o, br->threshold[o]);
		any |= wb.test[i];
	}
	/* no window attempted: nothing recorded, the batch as it was */
	if (!any)
		return;
	/* upstream's veto needs the large folios now; seed's put-backs only later */
	large = (b->veto || b->guarded) && s->folio_orders ? bulk_large(b)[w] : 0;
	if (large)
		word_orders(b, w, at_least);
	if (b->guarded && large)
		guarded_word_gone(b, large, at_least, wb.test);
	for (unsigned i = 0; i < nr; i++) {
		unsigned o = br->word[i];
		/* what ends an attempt on its first PTE, before any isolation */
		uint64_t starting = wb.test[i] & ~(swap ? fold_any(swap, o) : 0);

		veto[i] = b->veto && large ? at_least[o] & large : 0;
		wb.none[i] = starting & none;
		wb.shared[i] = starting & shared;
		wb.mapped[i] = starting & ~(none | shared) & veto[i];
		wb.active[i] = starting & ~(none | shared | veto[i]);
	}
	if (all_collapse(b, w, &wb, veto)) {
		/*
		 * Every window whose first page can be isolated collapses:
		 * the records are those of the visited windows, the batch
		 * drains if any collapses.  A few records are written
		 * straight from the bitmaps; many go through the slots.
		 */
		uint64_t recs = 0, collapsed = 0;

		for (unsigned i = 0; i < nr; i++) {
			recs |= wb.test[i];
			collapsed |= wb.active[i];
		}
		if (collapsed)
			drain(b);
		if (popcount64(recs) <= FEW_RECORDS) {
			emit_few(b, w, recs, &wb);
			return;
		}
		slots(b, &wb, &ws);
		ws.done[0] = 0;
		ws.done[1] = ws.done[2] = ws.active;
		emit(b, w * 64, ws.test, &ws);
		return;
	}
	slots(b, &wb, &ws);
	if (!b->veto && s->folio_orders)
		large = bulk_large(b)[w];

	/*
	 * In the walk's order, the windows that advance past the ones inside
	 * them (a folio too large at the first PTE, a collapse) and those
	 * whose first page can be isolated, with the batch.
	 */
	visit = (uint32_t)((2ull << (br->nr_slots - 1)) - 1);
	ws.done[0] = ws.done[1] = ws.done[2] = 0;
	for (todo = ws.active | ws.mapped; todo; todo &= todo - 1) {
		unsigned k = lowest_bit(todo), i = br->slot_level[k];
		bool advance = true;
		uint32_t inside;

		if (!(ws.mapped >> k & 1)) {
			unsigned code = word_attempt(b, w, br->slot_pos[k], br->word[i],
						     veto[i], large, &advance);

			for (unsigned j = 0; j < 3; j++)
				ws.done[j] |= (uint32_t)(code >> j & 1) << k;
		}
		inside = advance ? br->slot_inside[k] : 0;
		visit &= ~inside;
		todo &= ~inside;
	}
	emit(b, w * 64, visit & ws.test, &ws);
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
	const uint64_t *large;
	enum mthp_result result;
	bool passes;

	if (!(r->orders & BIT(pmd)) || b->br->pmd_never)
		return true;
	if (b->seed) {
		passes = big_passes(b, 0, pmd);
	} else {
		/* guarded at max_ptes_none 0 discounts nothing: upstream's count */
		max_none = r->limits[pmd].test_none;
		passes = max_none >= n || n - s->nr_none - s->nr_bad >= n - max_none;
	}
	if (!passes)
		return true;
	result = mthp_attempt_at(r, s, 0, pmd, &stop);
	/* at PMD order the swap entries are swapped in, and that drains the batch */
	if (s->nr_swap)
		b->nr = 0;
	record(b->out, 0, pmd, result);
	if (result == SCAN_SUCCEED) {
		b->out->pages_filled += s->nr_none;
		b->out->underused = mthp_underused(r->settings, s->nr_none);
		drain(b);
		return false;
	}
	/* the present pages of [0, stop) go back, swapped-in ones too */
	large = bulk_large(b);
	for (uint32_t w = 0; w * 64 < stop; w++) {
		uint64_t pages = ~s->none[w] & (stop - w * 64 >= 64 ? ~0ull :
						 (1ull << (stop - w * 64)) - 1);

		big += popcount64(pages & large[w]);
		small += popcount64(pages & ~large[w]);
	}
	b->nr += small;
	b->held_end = stop;
	if (b->nr >= MTHP_LRU_BATCH_SIZE) {
		uint32_t keep = b->nr % MTHP_LRU_BATCH_SIZE;

		b->nr = keep;
		b->held_end = 0;
		/* the lowest keep small pages stay: held_end is past the last of them */
		for (uint32_t w = 0; keep && w * 64 < stop; w++) {
			uint64_t pages = ~s->none[w] & ~large[w] &
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

/* guarded, with a large folio: b->big_words. */
static void find_big_words(struct bulk *b)
{
	const uint64_t *large = b->s->large;

	memset(b->big_words, 0, sizeof(b->big_words));
	for (uint32_t w = 0; w < b->words; w++)
		if (large[w] && (orders_at_least(b, w, WORD_ORDER + 1) & large[w]))
			b->big_words[w / 64] |= 1ull << (w % 64);
}

/*
 * guarded: does the window (base, o), o > 6, hold a folio of order o or
 * more?  Only where big_words says it may is the window looked into.
 */
static bool big_veto(struct bulk *b, uint32_t base, unsigned o)
{
	uint32_t w = base / 64, nr = BIT(o - WORD_ORDER);
	/* the window's words lie in one word of big_words: it is aligned */
	uint64_t bits = b->big_words[w / 64] >> (w % 64);

	if (nr < 64)
		bits &= (1ull << nr) - 1;
	return bits && first_veto(b, base, o) != MTHP_NO_BIT;
}

void mthp_plan_bulk(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		    const struct mthp_scan *s, uint64_t *scratch)
{
	const struct mthp_bulk_rules *br = &r->bulk;
	struct bulk b = {
		.r = r, .br = br, .s = s, .out = out, .scratch = scratch,
		.words = r->nr_ptes / 64,
		.veto = r->policy == MTHP_POLICY_UPSTREAM,
		.seed = r->policy == MTHP_POLICY_SEED,
		.guarded = r->policy == MTHP_POLICY_GUARDED,
		.guarded_all = r->policy == MTHP_POLICY_GUARDED ? ~0u : 0,
		.vbmi = mthp_engine_impl() == MTHP_IMPL_AVX512_VBMI,
		.nr = out->lru_batch_start < MTHP_LRU_BATCH_SIZE ? out->lru_batch_start : 0,
	};

	if (pmd_step(&b)) {
		if (b.guarded && s->has_large)
			find_big_words(&b);
		for (uint32_t w = 0; w < b.words; w++) {
			uint32_t base = w * 64;
			bool skip = false;

			/*
			 * upstream and guarded: no window of any order below PMD
			 * passes in a word without a fully occupied block of the
			 * lowest one (but guarded may have to go past a window of
			 * several words from here, holding a large folio)
			 */
			if (!b.seed && !fold_all(s->occupied[w], br->lowest) &&
			    !(b.guarded && s->has_large && !(base & (BIT(WORD_ORDER + 1) - 1))))
				continue;
			if (base < b.skip_until)
				continue;
			/* the windows of several words that start here, larger first */
			for (unsigned o = r->pmd_order - 1; o > WORD_ORDER && !skip; o--) {
				enum mthp_result result;

				if (base & (BIT(o) - 1) || !((r->orders | b.guarded_all) & BIT(o)))
					continue;
				/*
				 * guarded goes past a window holding a folio of its
				 * order or larger, and all inside it, before any test;
				 * a window of any order, allowed or not
				 */
				if (b.guarded && s->has_large && big_veto(&b, base, o)) {
					b.skip_until = base + BIT(o);
					skip = true;
					break;
				}
				if (!(r->orders & BIT(o)) || !big_passes(&b, base, o))
					continue;
				result = attempt(&b, base, o);
				record(out, base, o, result);
				if (result == SCAN_SUCCEED || result == SCAN_PTE_MAPPED_HUGEPAGE) {
					b.skip_until = base + BIT(o);
					skip = true;
				}
			}
			if (!skip && br->nr_word)
				word_walk(&b, w);
		}
	}
	out->lru_batch_end = b.nr;
}
