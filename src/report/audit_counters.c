// SPDX-License-Identifier: MIT
/*
 * audit_counters.c - the counters of an audit block by name, as the
 * kernel's tools/mm/thpmaps names them plus mthp's own (swap, shared,
 * zero page, PMD occupancy): the one list every audit format walks.
 */
#include <inttypes.h>
#include <stdio.h>

#include "report/audit.h"

uint64_t mthp_audit_kb(const struct mthp_geometry *geo, uint64_t pages)
{
	return pages * geo->page_size / 1024;
}

static void visit_sizes(const char *kind, const uint64_t *pages,
			const struct mthp_geometry *geo,
			mthp_audit_counter_fn fn, void *ctx)
{
	char name[64];

	for (unsigned o = MTHP_MIN_ORDER; o <= geo->pmd_order; o++) {
		snprintf(name, sizeof(name), "anon-thp-pte-%s-%" PRIu64 "kB", kind,
			 mthp_audit_kb(geo, 1ull << o));
		fn(ctx, name, mthp_audit_kb(geo, pages[o]), true);
	}
}

void mthp_audit_visit_counters(const struct mthp_audit_counts *c,
			       const struct mthp_geometry *geo,
			       mthp_audit_counter_fn fn, void *ctx)
{
	uint32_t n = geo->ptes_per_pmd, step = n / (MTHP_AUDIT_OCC_BUCKETS - 1);
	char name[64];

	snprintf(name, sizeof(name), "anon-thp-pmd-aligned-%" PRIu64 "kB",
		 mthp_audit_kb(geo, 1ull << geo->pmd_order));
	fn(ctx, name, mthp_audit_kb(geo, c->pmd_mapped), true);
	visit_sizes("aligned", c->pte_aligned, geo, fn, ctx);
	visit_sizes("unaligned", c->pte_unaligned, geo, fn, ctx);
	fn(ctx, "anon-thp-pte-partial", mthp_audit_kb(geo, c->pte_partial), true);
	fn(ctx, "anon-total", mthp_audit_kb(geo, c->anon), true);
	fn(ctx, "anon-swap", mthp_audit_kb(geo, c->swap), true);
	fn(ctx, "anon-shared", mthp_audit_kb(geo, c->shared), true);
	fn(ctx, "anon-zero-page", mthp_audit_kb(geo, c->zero), true);
	for (unsigned b = 0; b < MTHP_AUDIT_OCC_BUCKETS; b++) {
		if (b == MTHP_AUDIT_OCC_BUCKETS - 1)
			snprintf(name, sizeof(name), "pmd-occupancy-%u-%u", n, n);
		else
			snprintf(name, sizeof(name), "pmd-occupancy-%u-%u", b * step,
				 (b + 1) * step - 1);
		fn(ctx, name, c->occupancy[b], false);
	}
}
