// SPDX-License-Identifier: MIT
/*
 * bitmap.c - counting and searching bits of the per-PTE bitmaps over a
 * window.  Windows are naturally aligned powers of two, so a window either
 * lies inside one 64-bit word or covers whole words; both cases cost
 * O(len / 64) word operations, never a loop over single bits.
 */
#include "engine/engine_internal.h"

uint32_t mthp_bitmap_count(const uint64_t *map, uint32_t off, uint32_t len)
{
	uint32_t count = 0;

	while (len) {
		uint32_t lo = off % 64;
		uint32_t take = 64 - lo < len ? 64 - lo : len;

		count += popcount64(word_bits(map[off / 64], lo, take));
		off += take;
		len -= take;
	}
	return count;
}

bool mthp_bitmap_any(const uint64_t *map, uint32_t off, uint32_t len)
{
	while (len) {
		uint32_t lo = off % 64;
		uint32_t take = 64 - lo < len ? 64 - lo : len;

		if (word_bits(map[off / 64], lo, take))
			return true;
		off += take;
		len -= take;
	}
	return false;
}

uint32_t mthp_bitmap_nth(const uint64_t *map, uint32_t off, uint32_t len,
			 uint32_t k)
{
	while (len) {
		uint32_t lo = off % 64;
		uint32_t take = 64 - lo < len ? 64 - lo : len;
		uint64_t bits = word_bits(map[off / 64], lo, take);
		uint32_t n = popcount64(bits);

		if (k < n)
			return off + nth_bit(bits, k);
		k -= n;
		off += take;
		len -= take;
	}
	return MTHP_NO_BIT;
}
