/* SPDX-License-Identifier: MIT */
/*
 * pattern.h - the run-length form of one page table used by
 * `mthp plan --ptes`, e.g. "A*16@4 .*496".
 */
#ifndef MTHP_CLI_PATTERN_H
#define MTHP_CLI_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse pattern into n PTE states and folio orders.  *has_folios is set when
 * any token gives an order; *padded is the number of none PTEs added after
 * a pattern shorter than n.  0, or -EINVAL with a message in err.
 */
int mthp_pattern_parse(const char *pattern, uint32_t n, uint8_t *ptes,
		       uint8_t *folio_orders, bool *has_folios, uint32_t *padded,
		       char *err, size_t errlen);

#endif /* MTHP_CLI_PATTERN_H */
