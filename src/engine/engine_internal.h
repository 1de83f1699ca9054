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
 * Without -mpopcnt, __builtin_popcountll is a call into libgcc; the
 * inline SWAR form is several times faster on the bitmaps' hot paths.
 */
static inline uint32_t popcount64(uint64_t x)
{
#if defined(__POPCNT__)
	return (uint32_t)__builtin_popcountll(x);
#else
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

/* Index of the k-th (0-based) set bit of x; x has more than k set bits. */
static inline uint32_t nth_bit(uint64_t x, uint32_t k)
{
	while (k--)
		x &= x - 1;
	return lowest_bit(x);
}

/* bitmap.c */
bool mthp_bitmap_any(const uint64_t *map, uint32_t off, uint32_t len);
/* Position of the (k+1)-th set bit in [off, off + len), or MTHP_NO_BIT. */
uint32_t mthp_bitmap_nth(const uint64_t *map, uint32_t off, uint32_t len,
			 uint32_t k);

/* rules.c */
/*
 * What an attempt at one order may accept: none/zero and shared PTEs (a
 * limit of N means no limit), whether a swap PTE vetoes the window below
 * PMD order, whether a folio of the target order or larger does, and
 * whether the window needs a young PTE.
 */
struct mthp_window_limits {
	uint32_t max_none;
	uint32_t max_shared;
	bool swap_veto;
	bool folio_veto;
	bool need_young;
};
void mthp_window_limits(const struct mthp_rules *r, unsigned order,
			struct mthp_window_limits *lim);
/* upstream's max_none(o), which ignores uffd (the count test). */
uint32_t mthp_upstream_max_none(const struct mthp_rules *r, unsigned order);

/* classify.c */
/* The implementations of the classification, narrowest first. */
enum mthp_impl {
	MTHP_IMPL_PORTABLE,	/* one PTE at a time, any CPU */
	MTHP_IMPL_SSE2,		/* 16 PTEs per compare */
	MTHP_IMPL_AVX2,		/* 32 */
	MTHP_IMPL_AVX512,	/* 64, AVX-512BW */
};
#define MTHP_NR_IMPLS 4
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

/* scan.c */
/* The result a PTE state gives when it stops a scan or an attempt. */
enum mthp_result mthp_pte_failure(uint8_t state);

#endif /* MTHP_ENGINE_INTERNAL_H */
