/* SPDX-License-Identifier: MIT */
/*
 * common/rng.h - the one pseudo-random generator of mthp.
 *
 * SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): a 64-bit state advanced by a fixed odd
 * increment and a bijective mixer.  Every seed, 0 included, gives a full
 * period of 2^64, so callers never special-case a zero seed.  The same
 * seed gives the same sequence on every machine; the simulator, the
 * scenario runner, the tests and the benchmarks all draw from it, so a
 * run is decided by its seed alone.
 *
 * Header only and libc only: every layer may include it.
 */
#ifndef MTHP_COMMON_RNG_H
#define MTHP_COMMON_RNG_H

#include <stdint.h>

#define MTHP_RNG_GAMMA 0x9e3779b97f4a7c15ull

struct mthp_rng {
	uint64_t state;
};

/* The bijective finaliser: distinct inputs give distinct outputs. */
static inline uint64_t mthp_rng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void mthp_rng_seed(struct mthp_rng *g, uint64_t seed)
{
	g->state = seed;
}

/*
 * The n-th value (n from 0) of the stream that seed starts: lets threads
 * share one stream through an atomic counter without sharing a state.
 */
static inline uint64_t mthp_rng_at(uint64_t seed, uint64_t n)
{
	return mthp_rng_mix(seed + (n + 1) * MTHP_RNG_GAMMA);
}

static inline uint64_t mthp_rng_next(struct mthp_rng *g)
{
	g->state += MTHP_RNG_GAMMA;
	return mthp_rng_mix(g->state);
}

/* Uniform in [0, bound) for bound >= 1 (Lemire's multiply-shift). */
static inline uint32_t mthp_rng_below(struct mthp_rng *g, uint32_t bound)
{
	return (uint32_t)(((mthp_rng_next(g) >> 32) * bound) >> 32);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double mthp_rng_unit(struct mthp_rng *g)
{
	return (double)(mthp_rng_next(g) >> 11) * (1.0 / 9007199254740992.0);
}

/* True with probability p (p <= 0 never, p >= 1 always). */
static inline int mthp_rng_chance(struct mthp_rng *g, double p)
{
	return mthp_rng_unit(g) < p;
}

#endif /* MTHP_COMMON_RNG_H */
