/* SPDX-License-Identifier: MIT */
/*
 * common/array.h - the one growing array of the project: room for one
 * more element, doubling the capacity (from 16) so appending is amortised
 * O(1); and ARRAY_SIZE, the number of elements of a fixed array.  Header
 * only and libc only: every layer may include it.
 */
#ifndef MTHP_COMMON_ARRAY_H
#define MTHP_COMMON_ARRAY_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* *array holds nr elements of elem bytes in room for *cap: 0 or -ENOMEM. */
static inline int mthp_array_grow(void **array, size_t *cap, size_t nr, size_t elem)
{
	size_t ncap;
	void *p;

	if (nr < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*array, ncap * elem);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = ncap;
	return 0;
}

#endif /* MTHP_COMMON_ARRAY_H */
