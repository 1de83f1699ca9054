/* SPDX-License-Identifier: MIT */
/*
 * baseline.h - the straightforward implementation the engine is measured
 * against: the PTE-by-PTE scan, and v10's stack walk that counts every
 * window's bits one by one and checks every attempt PTE by PTE.  It makes
 * the same decisions as the engine (the benchmark checks that it does).
 */
#ifndef MTHP_BENCH_BASELINE_H
#define MTHP_BENCH_BASELINE_H

#include <mthp/engine.h>

struct baseline_scan {
	enum mthp_result result;
	uint32_t unmapped;
	uint8_t present[MTHP_MAX_PTES];		/* 1 per occupied PTE */
};

void baseline_scan(struct baseline_scan *bs, const struct mthp_rules *r,
		   const uint8_t *ptes);
/* The walk and its attempts; fills out like mthp_plan_range. */
void baseline_walk(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		   const struct baseline_scan *bs, const uint8_t *ptes,
		   const uint8_t *folio_orders);
void baseline_plan(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		   struct baseline_scan *bs, const uint8_t *ptes,
		   const uint8_t *folio_orders);

#endif
