// SPDX-License-Identifier: MIT
/*
 * bitmap.c - counting the bits of a per-PTE bitmap over any span (the
 * scan's counters up to the PTE that ended it, and callers outside the
 * engine).  The engine's window operations, on naturally aligned powers
 * of two, are inlined from engine_internal.h.  Either costs O(len / 64)
 * word operations, never a loop over single bits.
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
