// SPDX-License-Identifier: MIT
/*
 * bits.c - a bit a page over PMD ranges (mthp/snapshot.h): what a
 * recording's frame says the process wrote.
 */
#include <errno.h>
#include <string.h>

#include <mthp/snapshot.h>

#include "common/array.h"

void mthp_pmd_bits_init(struct mthp_pmd_bits *b, const struct mthp_geometry *geo)
{
	memset(b, 0, sizeof(*b));
	b->words = geo ? (geo->ptes_per_pmd + 63) / 64 : 0;
}

void mthp_pmd_bits_free(struct mthp_pmd_bits *b)
{
	free(b->addr);
	free(b->bits);
	mthp_pmd_bits_init(b, NULL);
}

void mthp_pmd_bits_clear(struct mthp_pmd_bits *b)
{
	b->nr = 0;
}

int mthp_pmd_bits_or(struct mthp_pmd_bits *b, uint64_t addr, const uint64_t *bits)
{
	uint64_t *dst, any = 0;
	size_t cap;

	if (!b->words)
		return -EINVAL;
	for (uint32_t w = 0; w < b->words; w++)
		any |= bits[w];
	if (!any)
		return 0;
	if (b->nr && b->addr[b->nr - 1] == addr) {
		dst = b->bits + (b->nr - 1) * b->words;
		for (uint32_t w = 0; w < b->words; w++)
			dst[w] |= bits[w];
		return 0;
	}
	if (b->nr && b->addr[b->nr - 1] > addr)
		return -EINVAL;
	cap = b->cap;
	if (mthp_array_grow((void **)&b->addr, &cap, b->nr, sizeof(*b->addr)))
		return -ENOMEM;
	if (cap != b->cap) {
		uint64_t *p;

		if (cap > SIZE_MAX / sizeof(*b->bits) / b->words)
			return -ENOMEM;
		p = realloc(b->bits, cap * b->words * sizeof(*b->bits));
		if (!p)
			return -ENOMEM;
		b->bits = p;
		b->cap = cap;
	}
	b->addr[b->nr] = addr;
	memcpy(b->bits + b->nr * b->words, bits, b->words * sizeof(*bits));
	b->nr++;
	return 0;
}

const uint64_t *mthp_pmd_bits_find(const struct mthp_pmd_bits *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->addr[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->nr && b->addr[lo] == addr ? b->bits + lo * b->words : NULL;
}

uint64_t mthp_pmd_bits_count(const struct mthp_pmd_bits *b)
{
	uint64_t n = 0;

	for (size_t k = 0; k < b->nr * b->words; k++)
		n += (uint64_t)__builtin_popcountll(b->bits[k]);
	return n;
}
