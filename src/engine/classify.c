// SPDX-License-Identifier: MIT
/*
 * classify.c - PTE states to per-class bitmaps (none, swap, shared, young,
 * occupied, bad) and folio orders to the large-folio bitmap, with the
 * class totals: the one pass of the scan that touches every PTE byte.
 *
 * Four implementations decide alike, and the widest the CPU has is chosen
 * once, when the library is loaded: AVX-512BW (64 PTEs per compare, the
 * compare giving the bit mask directly), AVX2 (32 per compare), SSE2 (16)
 * and the portable one (a switch per PTE).  Each vector form compiles with
 * a target attribute, so the library still runs on any x86-64 (and builds
 * elsewhere with the portable form only).  mthp_engine_force_impl() lets
 * the tests run every form the CPU has on the same tables.
 *
 * The choice also says whether the engine counts bits with the POPCNT
 * instruction (engine_internal.h): the forms that need AVX2 do, the others
 * keep to the portable SWAR count, so that forcing the portable form tests
 * the portable engine whole.
 *
 * The vector forms fold the case bit (0x20) so that 'A' and 'a' are one
 * compare and 'S' and 's' another; the case bit itself tells young (upper
 * case) from old.
 */
#include <errno.h>
#include <stddef.h>

#include "engine/engine_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#define MTHP_X86 1
#include <immintrin.h>
#else
#define MTHP_X86 0
#endif

/* Per-class bits of 64 PTEs. */
struct class_bits {
	uint64_t none;		/* '.' '0' */
	uint64_t swap;		/* 'w' */
	uint64_t anon;		/* 'A' 'a' 'S' 's' */
	uint64_t shared;	/* 'S' 's' */
	uint64_t lower;		/* case bit set: not young among the anon ones */
	uint64_t lazyfree;	/* 'l' */
};

/*
 * The class totals, kept in registers during the pass: stored in the scan
 * each word, they would be reloaded after every PTE load (a byte pointer
 * may alias them).
 */
struct class_totals {
	uint32_t none, swap, shared, bad, young;
};

/* Store the bitmaps of word w and add its totals. */
static inline __attribute__((always_inline)) void
store_word(struct mthp_scan *s, uint32_t w, const struct class_bits *b,
	   bool khugepaged, struct class_totals *tot)
{
	uint64_t known = b->none | b->swap | b->anon | b->lazyfree;
	uint64_t young = b->anon & ~b->lower;
	/* a clean lazyfree folio: khugepaged leaves it to reclaim */
	uint64_t bad = ~known | (khugepaged ? b->lazyfree : 0);

	s->none[w] = b->none;
	s->swap[w] = b->swap;
	s->shared_pte[w] = b->shared;
	s->young[w] = young;
	s->occupied[w] = khugepaged ? b->anon : b->anon | b->lazyfree;
	s->bad[w] = bad;
	tot->none += popcount64(b->none);
	tot->swap += popcount64(b->swap);
	tot->shared += popcount64(b->shared);
	tot->bad += popcount64(bad);
	tot->young += popcount64(young);
}

static void store_totals(struct mthp_scan *s, const struct class_totals *tot)
{
	s->nr_none = tot->none;
	s->nr_swap = tot->swap;
	s->nr_shared = tot->shared;
	s->nr_bad = tot->bad;
	s->nr_young = tot->young;
}

/* ------------------------------------------------------------------ */
/* Portable: one PTE at a time */

/* The classes of each byte; 0 for the states that fail outright. */
enum {
	B_NONE, B_SWAP, B_ANON, B_SHARED, B_LOWER, B_LAZYFREE,	/* bit numbers */
	C_NONE = 1 << B_NONE, C_SWAP = 1 << B_SWAP, C_ANON = 1 << B_ANON,
	C_SHARED = 1 << B_SHARED, C_LOWER = 1 << B_LOWER, C_LAZYFREE = 1 << B_LAZYFREE,
};
static const uint8_t class_of[256] = {
	[MTHP_PTE_NONE] = C_NONE,
	[MTHP_PTE_ZERO] = C_NONE,
	[MTHP_PTE_SWAP] = C_SWAP,
	[MTHP_PTE_YOUNG] = C_ANON,
	[MTHP_PTE_OLD] = C_ANON | C_LOWER,
	[MTHP_PTE_SHARED_YOUNG] = C_ANON | C_SHARED,
	[MTHP_PTE_SHARED_OLD] = C_ANON | C_SHARED | C_LOWER,
	[MTHP_PTE_LAZYFREE] = C_LAZYFREE,
};

/* Bit i set if the classes hold class number b. */
static inline uint64_t class_bit(uint8_t classes, unsigned b, unsigned i)
{
	return (uint64_t)((classes >> b) & 1) << i;
}

static void classify_portable(struct mthp_scan *s, const uint8_t *ptes,
			      uint32_t words, bool khugepaged)
{
	struct class_totals tot = { 0 };

	for (uint32_t w = 0; w < words; w++) {
		struct class_bits b = { 0 };

		for (unsigned i = 0; i < 64; i++) {
			uint8_t c = class_of[ptes[w * 64 + i]];

			b.none |= class_bit(c, B_NONE, i);
			b.swap |= class_bit(c, B_SWAP, i);
			b.anon |= class_bit(c, B_ANON, i);
			b.shared |= class_bit(c, B_SHARED, i);
			b.lower |= class_bit(c, B_LOWER, i);
			b.lazyfree |= class_bit(c, B_LAZYFREE, i);
		}
		store_word(s, w, &b, khugepaged, &tot);
	}
	store_totals(s, &tot);
}

/* Pages of folios of order 2 or more; none and swap PTEs map no folio. */
static uint64_t large_portable(const struct mthp_scan *s, uint64_t *large,
			       const uint8_t *orders, uint32_t words)
{
	uint64_t any = 0;

	for (uint32_t w = 0; w < words; w++) {
		uint64_t bits = 0;

		for (unsigned i = 0; i < 64; i++) {
			uint8_t o = orders[w * 64 + i];

			if (o >= 2 && o != MTHP_NO_FOLIO)
				bits |= 1ull << i;
		}
		large[w] = bits & ~(s->none[w] | s->swap[w]);
		any |= large[w];
	}
	return any;
}

/* ------------------------------------------------------------------ */
/* SSE2 and AVX2: 16 and 32 PTEs per compare, one template */

#if MTHP_X86 && defined(__SSE2__)
#define VEC_FORM(name)		name##_sse2
#define VEC_TARGET
#define VEC			__m128i
#define VEC_BYTES		16
#define VEC_LOAD		_mm_loadu_si128
#define VEC_SET1		_mm_set1_epi8
#define VEC_OR			_mm_or_si128
#define VEC_ANDNOT		_mm_andnot_si128
#define VEC_CMPEQ		_mm_cmpeq_epi8
#define VEC_MAX_EPU8		_mm_max_epu8
#define VEC_SLLI16		_mm_slli_epi16
#define VEC_MASK(v)		((uint64_t)(uint16_t)_mm_movemask_epi8(v))
#include "engine/classify_vec.h"
#define HAVE_SSE2_FORM 1
#else
#define HAVE_SSE2_FORM 0
#endif

#if MTHP_X86
#define VEC_FORM(name)		name##_avx2
#define VEC_TARGET		__attribute__((target("avx2")))
#define VEC			__m256i
#define VEC_BYTES		32
#define VEC_LOAD		_mm256_loadu_si256
#define VEC_SET1		_mm256_set1_epi8
#define VEC_OR			_mm256_or_si256
#define VEC_ANDNOT		_mm256_andnot_si256
#define VEC_CMPEQ		_mm256_cmpeq_epi8
#define VEC_MAX_EPU8		_mm256_max_epu8
#define VEC_SLLI16		_mm256_slli_epi16
#define VEC_MASK(v)		((uint64_t)(uint32_t)_mm256_movemask_epi8(v))
#include "engine/classify_vec.h"

/* ------------------------------------------------------------------ */
/* AVX-512BW: 64 PTEs per compare, straight into a mask register */

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw")))

AVX512_TARGET static void classify_avx512(struct mthp_scan *s, const uint8_t *ptes,
					  uint32_t words, bool khugepaged)
{
	const __m512i case_bit = _mm512_set1_epi8(0x20);
	struct class_totals tot = { 0 };

	for (uint32_t w = 0; w < words; w++) {
		__m512i v = _mm512_loadu_si512((const void *)(ptes + w * 64));
		__m512i folded = _mm512_or_si512(v, case_bit);
		uint64_t shared = _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8('s'));
		struct class_bits b = {
			.none = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(MTHP_PTE_NONE)) |
				_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(MTHP_PTE_ZERO)),
			.swap = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(MTHP_PTE_SWAP)),
			.anon = _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8('a')) | shared,
			.shared = shared,
			.lower = _mm512_test_epi8_mask(v, case_bit),
			.lazyfree = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(MTHP_PTE_LAZYFREE)),
		};

		store_word(s, w, &b, khugepaged, &tot);
	}
	store_totals(s, &tot);
}

AVX512_TARGET static uint64_t large_avx512(const struct mthp_scan *s, uint64_t *large,
					   const uint8_t *orders, uint32_t words)
{
	uint64_t any = 0;

	for (uint32_t w = 0; w < words; w++) {
		__m512i v = _mm512_loadu_si512((const void *)(orders + w * 64));
		uint64_t bits = _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(2)) &
				_mm512_cmpneq_epi8_mask(v, _mm512_set1_epi8((char)MTHP_NO_FOLIO));

		large[w] = bits & ~(s->none[w] | s->swap[w]);
		any |= large[w];
	}
	return any;
}
/* ------------------------------------------------------------------ */
/*
 * AVX-512 with VBMI, GFNI and VPOPCNTDQ: one table lookup gives each PTE
 * a byte of class flags, a GF(2) affine product transposes each 8x8 block
 * of bits (8 PTEs x 8 flags) into one byte per flag, and one byte shuffle
 * gathers each flag's 8 bytes into its 64-bit mask: 4 shuffles a word,
 * where the compares take 8, and the totals counted 8 masks at a time.
 */
enum {
	F_NONE, F_SWAP, F_SHARED, F_YOUNG, F_OCCUPIED, F_GOOD,	/* bit numbers */
};

/* Flags of each 7-bit byte, per context (lazyfree differs); bytes >= 0x80 have none. */
static uint8_t vbmi_flags[2][128] __attribute__((aligned(64)));

/* The flags, derived once from class_of, the portable form's table. */
static void vbmi_build_flags(void)
{
	for (unsigned kh = 0; kh < 2; kh++) {
		for (unsigned b = 0; b < 128; b++) {
			uint8_t c = class_of[b];
			bool anon = c & C_ANON, lazy = c & C_LAZYFREE;
			bool good = c && !(kh && lazy);

			vbmi_flags[kh][b] = (uint8_t)(
				(!!(c & C_NONE) << F_NONE) | (!!(c & C_SWAP) << F_SWAP) |
				(!!(c & C_SHARED) << F_SHARED) |
				((anon && !(c & C_LOWER)) << F_YOUNG) |
				((anon || (!kh && lazy)) << F_OCCUPIED) | (good << F_GOOD));
		}
	}
}

#define VBMI_TARGET \
	__attribute__((target("avx512f,avx512bw,avx512vbmi,gfni,avx512vpopcntdq")))

/* Byte k of qword l to byte l of qword k: each flag's 8 bytes together. */
#define GATHER(k) k, 8 + k, 16 + k, 24 + k, 32 + k, 40 + k, 48 + k, 56 + k
static const uint8_t gather_index[64] __attribute__((aligned(64))) = {
	GATHER(0), GATHER(1), GATHER(2), GATHER(3),
	GATHER(4), GATHER(5), GATHER(6), GATHER(7),
};

/* Byte k of qword l to byte 7 - k of it. */
#define REVERSE(l) 8 * l + 7, 8 * l + 6, 8 * l + 5, 8 * l + 4, \
		   8 * l + 3, 8 * l + 2, 8 * l + 1, 8 * l
static const uint8_t reverse_index[64] __attribute__((aligned(64))) = {
	REVERSE(0), REVERSE(1), REVERSE(2), REVERSE(3),
	REVERSE(4), REVERSE(5), REVERSE(6), REVERSE(7),
};

VBMI_TARGET static void classify_avx512_vbmi(struct mthp_scan *s, const uint8_t *ptes,
					       uint32_t words, bool khugepaged)
{
	const uint8_t *table = vbmi_flags[khugepaged];
	const __m512i lo = _mm512_load_si512((const void *)table);
	const __m512i hi = _mm512_load_si512((const void *)(table + 64));
	/* reverse the bytes of each qword: the transpose reverses them back */
	const __m512i reverse = _mm512_load_si512((const void *)reverse_index);
	const __m512i gather = _mm512_load_si512((const void *)gather_index);
	const __m512i transpose = _mm512_set1_epi64(0x8040201008040201ll);
	__m512i counts = _mm512_setzero_si512();
	uint64_t m[8] __attribute__((aligned(64)));

	for (uint32_t w = 0; w < words; w++) {
		__m512i v = _mm512_loadu_si512((const void *)(ptes + w * 64));
		__m512i f = _mm512_maskz_permutex2var_epi8(~_mm512_movepi8_mask(v), lo, v, hi);
		__m512i bits;

		f = _mm512_permutexvar_epi8(reverse, f);
		bits = _mm512_permutexvar_epi8(gather,
					       _mm512_gf2p8affine_epi64_epi8(transpose, f, 0));
		counts = _mm512_add_epi64(counts, _mm512_popcnt_epi64(bits));
		_mm512_store_si512((void *)m, bits);
		s->none[w] = m[F_NONE];
		s->swap[w] = m[F_SWAP];
		s->shared_pte[w] = m[F_SHARED];
		s->young[w] = m[F_YOUNG];
		s->occupied[w] = m[F_OCCUPIED];
		s->bad[w] = ~m[F_GOOD];
	}
	_mm512_store_si512((void *)m, counts);
	s->nr_none = (uint32_t)m[F_NONE];
	s->nr_swap = (uint32_t)m[F_SWAP];
	s->nr_shared = (uint32_t)m[F_SHARED];
	s->nr_young = (uint32_t)m[F_YOUNG];
	s->nr_bad = words * 64 - (uint32_t)m[F_GOOD];
}
#endif /* MTHP_X86 */

/* ------------------------------------------------------------------ */
/* Dispatch */

struct classify_impl {
	const char *name;
	void (*classify)(struct mthp_scan *s, const uint8_t *ptes,
			 uint32_t words, bool khugepaged);
	uint64_t (*large)(const struct mthp_scan *s, uint64_t *large, const uint8_t *orders,
			  uint32_t words);
};

static const struct classify_impl impls[MTHP_NR_IMPLS] = {
	[MTHP_IMPL_PORTABLE] = { "portable", classify_portable, large_portable },
#if HAVE_SSE2_FORM
	[MTHP_IMPL_SSE2] = { "sse2", classify_sse2, large_sse2 },
#endif
#if MTHP_X86
	[MTHP_IMPL_AVX2] = { "avx2", classify_avx2, large_avx2 },
	[MTHP_IMPL_AVX512] = { "avx512", classify_avx512, large_avx512 },
	[MTHP_IMPL_AVX512_VBMI] = { "avx512-vbmi", classify_avx512_vbmi, large_avx512 },
#endif
};

/* The implementation in use; written before main() and by tests only. */
static const struct classify_impl *cur = &impls[MTHP_IMPL_PORTABLE];
static enum mthp_impl cur_id = MTHP_IMPL_PORTABLE;
/* AVX2 and AVX-512 are only chosen with POPCNT; the others keep to SWAR. */
bool mthp_use_popcnt;

bool mthp_engine_impl_supported(enum mthp_impl impl)
{
	if ((unsigned)impl >= MTHP_NR_IMPLS || !impls[impl].classify)
		return false;
#if MTHP_X86
	__builtin_cpu_init();
	switch (impl) {
	case MTHP_IMPL_PORTABLE:
	case MTHP_IMPL_SSE2:
		return true;
	case MTHP_IMPL_AVX2:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
	case MTHP_IMPL_AVX512:
		return __builtin_cpu_supports("avx512f") &&
		       __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("popcnt");
	case MTHP_IMPL_AVX512_VBMI:
		return mthp_engine_impl_supported(MTHP_IMPL_AVX512) &&
		       __builtin_cpu_supports("avx512vbmi") &&
		       __builtin_cpu_supports("gfni") &&
		       __builtin_cpu_supports("avx512vpopcntdq");
	}
	return false;
#else
	return impl == MTHP_IMPL_PORTABLE;
#endif
}

int mthp_engine_force_impl(enum mthp_impl impl)
{
	if (!mthp_engine_impl_supported(impl))
		return -ENOTSUP;
	cur = &impls[impl];
	cur_id = impl;
	mthp_use_popcnt = impl >= MTHP_IMPL_AVX2;
	return 0;
}

enum mthp_impl mthp_engine_best_impl(void)
{
	static const enum mthp_impl widest_first[] = {
		MTHP_IMPL_AVX512_VBMI, MTHP_IMPL_AVX512, MTHP_IMPL_AVX2, MTHP_IMPL_SSE2,
		MTHP_IMPL_PORTABLE,
	};

	for (size_t i = 0; i < sizeof(widest_first) / sizeof(widest_first[0]); i++)
		if (mthp_engine_impl_supported(widest_first[i]))
			return widest_first[i];
	return MTHP_IMPL_PORTABLE;
}

/* Before main(), so that no thread ever sees the choice change. */
__attribute__((constructor)) static void choose_impl(void)
{
#if MTHP_X86
	vbmi_build_flags();
#endif
	mthp_engine_force_impl(mthp_engine_best_impl());
}

const char *mthp_engine_impl_name(void)
{
	return cur->name;
}

enum mthp_impl mthp_engine_impl(void)
{
	return cur_id;
}

void mthp_classify(struct mthp_scan *s, const uint8_t *ptes, uint32_t words,
		   bool khugepaged)
{
	cur->classify(s, ptes, words, khugepaged);
}

bool mthp_classify_large(struct mthp_scan *s, const uint8_t *orders,
			 uint32_t words)
{
	return cur->large(s, s->large, orders, words) != 0;
}

bool mthp_classify_large_into(const struct mthp_scan *s, uint64_t *large,
			      const uint8_t *orders, uint32_t words)
{
	return cur->large(s, large, orders, words) != 0;
}
