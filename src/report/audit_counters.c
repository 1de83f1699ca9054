// SPDX-License-Identifier: MIT
/*
 * audit_counters.c - the counters of an audit block by name, as the
 * kernel's tools/mm/thpmaps names them (the file-backed and contiguous
 * block ones when asked for) plus mthp's own (totals, swap, shared, zero
 * page, PMD occupancy): the one list every audit format walks.
 */
#include <inttypes.h>
#include <stdio.h>

#include "report/audit.h"

uint64_t mthp_audit_kb(const struct mthp_geometry *geo, uint64_t pages)
{
	return pages * geo->page_size / 1024;
}

static void visit_sizes(const char *type, const char *kind, const uint64_t *pages,
			const struct mthp_geometry *geo,
			mthp_audit_counter_fn fn, void *ctx)
{
	char name[64];

	for (unsigned o = MTHP_MIN_ORDER; o <= geo->pmd_order; o++) {
		snprintf(name, sizeof(name), "%s-thp-pte-%s-%" PRIu64 "kB", type, kind,
			 mthp_audit_kb(geo, 1ull << o));
		fn(ctx, name, mthp_audit_kb(geo, pages[o]), true);
	}
}

/* type-thp-*: thpmaps's folio counters of anon or file-backed memory. */
static void visit_thp(const char *type, uint64_t pmd_mapped, const uint64_t *aligned,
		      const uint64_t *unaligned, uint64_t partial,
		      const struct mthp_geometry *geo, mthp_audit_counter_fn fn, void *ctx)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-thp-pmd-aligned-%" PRIu64 "kB", type,
		 mthp_audit_kb(geo, 1ull << geo->pmd_order));
	fn(ctx, name, mthp_audit_kb(geo, pmd_mapped), true);
	visit_sizes(type, "aligned", aligned, geo, fn, ctx);
	visit_sizes(type, "unaligned", unaligned, geo, fn, ctx);
	snprintf(name, sizeof(name), "%s-thp-pte-partial", type);
	fn(ctx, name, mthp_audit_kb(geo, partial), true);
}

/* type-cont-*: thpmaps's --cont counters, per size asked for. */
static void visit_cont(const char *type, uint64_t pmd_mapped, const uint64_t *cont,
		       uint32_t orders, const struct mthp_geometry *geo,
		       mthp_audit_counter_fn fn, void *ctx)
{
	char name[64];

	for (uint32_t m = orders; m; m &= m - 1) {
		unsigned o = (unsigned)__builtin_ctz(m);
		uint64_t kb = mthp_audit_kb(geo, 1ull << o);

		snprintf(name, sizeof(name), "%s-cont-pmd-aligned-%" PRIu64 "kB", type, kb);
		fn(ctx, name, mthp_audit_kb(geo, pmd_mapped), true);
		snprintf(name, sizeof(name), "%s-cont-pte-aligned-%" PRIu64 "kB", type, kb);
		fn(ctx, name, mthp_audit_kb(geo, cont[o]), true);
	}
}

void mthp_audit_visit_counters(const struct mthp_audit_counts *c,
			       const struct mthp_geometry *geo,
			       const struct mthp_audit_opts *opts,
			       mthp_audit_counter_fn fn, void *ctx)
{
	uint32_t n = geo->ptes_per_pmd, step = n / (MTHP_AUDIT_OCC_BUCKETS - 1);
	char name[64];

	visit_thp("anon", c->pmd_mapped, c->pte_aligned, c->pte_unaligned, c->pte_partial,
		  geo, fn, ctx);
	visit_cont("anon", c->pmd_mapped, c->cont_pte, opts->cont_orders, geo, fn, ctx);
	fn(ctx, "anon-total", mthp_audit_kb(geo, c->anon), true);
	fn(ctx, "anon-swap", mthp_audit_kb(geo, c->swap), true);
	fn(ctx, "anon-shared", mthp_audit_kb(geo, c->shared), true);
	fn(ctx, "anon-zero-page", mthp_audit_kb(geo, c->zero), true);
	if (opts->files) {
		visit_thp("file", c->file_pmd_mapped, c->file_pte_aligned,
			  c->file_pte_unaligned, c->file_pte_partial, geo, fn, ctx);
		visit_cont("file", c->file_pmd_mapped, c->file_cont_pte, opts->cont_orders,
			   geo, fn, ctx);
		fn(ctx, "file-total", mthp_audit_kb(geo, c->file), true);
	}
	for (unsigned b = 0; b < MTHP_AUDIT_OCC_BUCKETS; b++) {
		if (b == MTHP_AUDIT_OCC_BUCKETS - 1)
			snprintf(name, sizeof(name), "pmd-occupancy-%u-%u", n, n);
		else
			snprintf(name, sizeof(name), "pmd-occupancy-%u-%u", b * step,
				 (b + 1) * step - 1);
		fn(ctx, name, c->occupancy[b], false);
	}
}
