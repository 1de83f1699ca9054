/* SPDX-License-Identifier: MIT */
/*
 * engine_internal.h - what the engine's files share: bitmap helpers and the
 * per-order limits of an attempt.  Prototypes grouped by defining file.
 */
#ifndef MTHP_ENGINE_INTERNAL_H
#define MTHP_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <mthp/engine.h>

#define BIT(n) (1u << (n))

/* No set bit found. */
#define MTHP_NO_BIT UINT32_MAX

/*
 * classify.c: whether the implementation in use may count bits with the
 * POPCNT instruction (chosen with it, before main()).
 */
extern bool mthp_use_popcnt;

/*
 * Without -mpopcnt, __builtin_popcountll is a call into libgcc.  On x86
 * the instruction is used when the CPU has it (a branch that is always
 * taken the same way), else the inline SWAR form.
 */
static inline uint32_t popcount64(uint64_t x)
{
#if defined(__POPCNT__)
	return (uint32_t)__builtin_popcountll(x);
#else
#if defined(__x86_64__)
	if (__builtin_expect(mthp_use_popcnt, 1)) {
		uint64_t count;

		__asm__("popcnt %1, %0" : "=r"(count) : "r"(x));
		return (uint32_t)count;
	}
#endif
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (uint32_t)((x * 0x0101010101010101ull) >> 56);
#endif
}

/* Bits [lo, lo + len) of one word, len in 1..64, lo + len <= 64. */
static inline uint64_t word_bits(uint64_t word, uint32_t lo, uint32_t len)
{
	uint64_t mask = len == 64 ? ~0ull : ((1ull << len) - 1);

	return (word >> lo) & mask;
}

/* Index of the lowest set bit of x (x != 0). */
static inline uint32_t lowest_bit(uint64_t x)
{
	return (uint32_t)__builtin_ctzll(x);
}

/*
 * Index of the k-th (0-based) set bit of x; x has more than k set bits.
 * Small k clear the lower bits one by one; larger k halve the word with
 * popcounts (a limit of N-1 lands deep in a word).
 */
static inline uint32_t nth_bit(uint64_t x, uint32_t k)
{
	uint32_t pos = 0;

	if (k < 4) {
		while (k--)
			x &= x - 1;
		return lowest_bit(x);
	}
	for (uint32_t width = 32; width; width /= 2) {
		uint32_t low = popcount64(x & ((1ull << width) - 1));

		if (k >= low) {
			k -= low;
			x >>= width;
			pos += width;
		}
	}
	return pos;
}

/*
 * The window operations on a bitmap.  A window is a naturally aligned
 * power of two: inside one word, or whole words.
 */
static inline uint32_t bits_count(const uint64_t *map, uint32_t off, uint32_t len)
{
	uint32_t count = 0;

	if (len < 64)
		return popcount64(word_bits(map[off / 64], off % 64, len));
	for (uint32_t i = off / 64; i < (off + len) / 64; i++)
		count += popcount64(map[i]);
	return count;
}

static inline bool bits_any(const uint64_t *map, uint32_t off, uint32_t len)
{
	if (len < 64)
		return word_bits(map[off / 64], off % 64, len) != 0;
	for (uint32_t i = off / 64; i < (off + len) / 64; i++)
		if (map[i])
			return true;
	return false;
}

/* Position of the first set bit in the window, or MTHP_NO_BIT. */
static inline uint32_t bits_first(const uint64_t *map, uint32_t off, uint32_t len)
{
	if (len < 64) {
		uint64_t bits = word_bits(map[off / 64], off % 64, len);

		return bits ? off + lowest_bit(bits) : MTHP_NO_BIT;
	}
	for (uint32_t i = off / 64; i < (off + len) / 64; i++)
		if (map[i])
			return i * 64 + lowest_bit(map[i]);
	return MTHP_NO_BIT;
}

/* Set bits in [0, n), any n. */
static inline uint32_t bits_prefix(const uint64_t *map, uint32_t n)
{
	uint32_t count = 0, i;

	for (i = 0; i < n / 64; i++)
		count += popcount64(map[i]);
	if (n % 64)
		count += popcount64(word_bits(map[i], 0, n % 64));
	return count;
}

/* Position of the (k+1)-th set bit in the window, or MTHP_NO_BIT. */
static inline uint32_t bits_nth(const uint64_t *map, uint32_t off, uint32_t len,
				uint32_t k)
{
	if (len < 64) {
		uint64_t bits = word_bits(map[off / 64], off % 64, len);

		return k < popcount64(bits) ? off + nth_bit(bits, k) : MTHP_NO_BIT;
	}
	for (uint32_t i = off / 64; i < (off + len) / 64; i++) {
		uint32_t n = popcount64(map[i]);

		if (k < n)
			return i * 64 + nth_bit(map[i], k);
		k -= n;
	}
	return MTHP_NO_BIT;
}

/* rules.c */
/*
 * upstream's count test below PMD order is one rule for every order: no
 * limit (MADV_COLLAPSE), max_none(o) = 2^o - 1 (max_ptes_none N-1: one
 * occupied PTE is enough) or max_none(o) = 0 (every PTE occupied).
 */
enum mthp_count_rule {
	MTHP_COUNT_ALWAYS,
	MTHP_COUNT_ANY,
	MTHP_COUNT_ALL,
};
static inline enum mthp_count_rule mthp_upstream_count_rule(const struct mthp_rules *r)
{
	if (r->context == MTHP_CONTEXT_MADVISE)
		return MTHP_COUNT_ALWAYS;
	/* 7.2: only 0 and N-1 are supported below PMD; others act as 0 */
	if (r->settings->max_ptes_none == r->nr_ptes - 1)
		return MTHP_COUNT_ANY;
	return MTHP_COUNT_ALL;
}
/* upstream's max_none(o), which ignores uffd (the count test). */
uint32_t mthp_upstream_max_none(const struct mthp_rules *r, unsigned order);
/*
 * guarded: may a window of this order take none PTEs beyond 7.2's limit?
 * The PMD order, and the orders whose folios the machine maps with fewer
 * TLB entries than PTEs (geo.cont_order and above).
 */
bool mthp_guarded_fills(const struct mthp_rules *r, unsigned order);
/*
 * guarded's max_none(o) of the VMA: max_ptes_none scaled to the order,
 * rounded down, where mthp_guarded_fills(); 7.2's limit elsewhere (no
 * limit for MADV_COLLAPSE).  The attempt's limit and the folio discount;
 * the count test lowers it in a range within the PMD's reach (walk.c).
 */
uint32_t mthp_guarded_max_none(const struct mthp_rules *r, unsigned order);

/* attempt.c */
/* The first page in the window of a folio of order >= order, or MTHP_NO_BIT. */
uint32_t mthp_first_large_folio(const struct mthp_scan *s, uint32_t off,
				unsigned order);

/* walk.c */
/*
 * Does the walk of this successful scan hand out the PMD window first?
 * Its first visit is always the PMD window, handed out when the PMD order
 * is allowed and the window passes the policy's test (legacy: always):
 * what the first mthp_walk_next() after mthp_walk_init() decides, without
 * the walk.  False with a plug-in that decides windows: the walk asks it.
 */
bool mthp_walk_hands_out_pmd(const struct mthp_rules *r, const struct mthp_scan *s);

/* plan.c */
/* Folios a per-CPU LRU add batch holds before it drains (a folio_batch). */
#define MTHP_LRU_BATCH_SIZE 31

/* bulk.c */
/* Fill r->bulk, once the rest of r is set. */
void mthp_bulk_rules_init(struct mthp_rules *r);
/*
 * Whether mthp_plan_bulk() can plan the walk of this successful scan:
 * seed or upstream in khugepaged context, no plug-in, an allowed order
 * below PMD, and every one of them accepting no none and no shared PTE in
 * an attempt (upstream: its count test wanting every PTE occupied).
 */
static inline bool mthp_plan_bulk_applies(const struct mthp_rules *r,
					  const struct mthp_scan *s)
{
	/* a plug-in set after mthp_rules_init() (a simulator's own) decides windows itself */
	return r->bulk.applies && !r->plugin && !s->nr_bad;
}
/*
 * The walk and its attempts as plan.c's window-at-a-time walk makes them
 * (same collapses, attempts, pages_filled, underused and lru_batch_end,
 * from out->lru_batch_start), a word of PTEs at a time.  scratch: a bitmap
 * of N bits it may write (the large-folio bitmap when s has none).
 */
void mthp_plan_bulk(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		    const struct mthp_scan *s, uint64_t *scratch);

/* classify.c */
/* The implementations of the classification, narrowest first. */
enum mthp_impl {
	MTHP_IMPL_PORTABLE,	/* one PTE at a time, any CPU */
	MTHP_IMPL_SSE2,		/* 16 PTEs per compare */
	MTHP_IMPL_AVX2,		/* 32 */
	MTHP_IMPL_AVX512,	/* 64, AVX-512BW */
	MTHP_IMPL_AVX512_VBMI,	/* 64 by lookup and bit transpose (VBMI, GFNI) */
};
#define MTHP_NR_IMPLS 5
/* Whether this build and this CPU can run impl. */
bool mthp_engine_impl_supported(enum mthp_impl impl);
/* The widest implementation this CPU can run (the one chosen at load). */
enum mthp_impl mthp_engine_best_impl(void);
/*
 * Tests only: use impl from now on; -ENOTSUP if the CPU or the build lacks
 * it.  Not safe while another thread scans.
 */
int mthp_engine_force_impl(enum mthp_impl impl);
enum mthp_impl mthp_engine_impl(void);
/*
 * Fill the class bitmaps of s (none, swap, shared_pte, young, occupied,
 * bad) for words * 64 PTEs, and the totals nr_none, nr_swap, nr_shared,
 * nr_bad and nr_young.
 */
void mthp_classify(struct mthp_scan *s, const uint8_t *ptes, uint32_t words,
		   bool khugepaged);
/* Fill s->large from the folio orders (after mthp_classify); true if any. */
bool mthp_classify_large(struct mthp_scan *s, const uint8_t *orders,
			 uint32_t words);
/* The same into another bitmap than s->large (s itself is only read). */
bool mthp_classify_large_into(const struct mthp_scan *s, uint64_t *large,
			      const uint8_t *orders, uint32_t words);

/* scan.c */
/*
 * mthp_scan() without the folio bitmap (has_large false), which only
 * attempts below PMD order need: the plan fills it with mthp_scan_large()
 * when its walk first goes there.
 */
void mthp_scan_deferred(struct mthp_scan *s, const struct mthp_rules *r,
			const uint8_t *ptes, const uint8_t *folio_orders);
void mthp_scan_large(struct mthp_scan *s, const struct mthp_rules *r);
/* The result a PTE state gives when it stops a scan or an attempt. */
enum mthp_result mthp_pte_failure(uint8_t state);

#endif /* MTHP_ENGINE_INTERNAL_H */
