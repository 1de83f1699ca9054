/* SPDX-License-Identifier: MIT */
/*
 * mthp/passes.h - plans over passes: apply each pass's collapses to the
 * snapshot and plan again, as khugepaged's next full scan would see the
 * memory, until a pass changes nothing (stable) or a bound is reached.
 *
 * A collapse of window (off, order) leaves every PTE of the window mapping
 * one new folio of that order: young anonymous pages ('A'; a new mapping
 * is made with the accessed bit set), including the none and zero PTEs it
 * filled and the swap PTEs it swapped in; a collapse at PMD order leaves
 * a huge PMD.  Nothing else changes between passes: no page is written,
 * aged, freed or swapped, so the passes show what the policy does to
 * memory left alone, which is where creep shows.
 *
 * Creep: a collapse at order o over pages of a folio that an earlier pass
 * made at a lower order.  Functions return 0 or -errno and never set errno.
 */
#ifndef MTHP_PASSES_H
#define MTHP_PASSES_H

#include <stdbool.h>
#include <stdint.h>

#include <mthp/snapshot.h>

/* A deep copy (flags the format does not know are left out); -ENOMEM. */
int mthp_snapshot_copy(struct mthp_snapshot *dst, const struct mthp_snapshot *src);

/* Make the collapses of plan in pmd number i of snap; -EINVAL, -ENOMEM. */
int mthp_snapshot_apply_plan(struct mthp_snapshot *snap, size_t i,
			     const struct mthp_pmd_plan *plan);

/* One pass. */
struct mthp_pass_report {
	unsigned pass;				/* from 1 */
	uint64_t collapses_by_order[MTHP_MAX_PMD_ORDER + 1];
	uint64_t collapses;
	uint64_t pages_filled;			/* none/zero PTEs collapses filled */
	uint64_t pages_copied;			/* the other PTEs of the windows */
	uint64_t recollapses;			/* collapses that crept */
	uint64_t ptes_changed;			/* PTEs whose state or folio changed */
	/* PMD collapses whose THP the underused-THP shrinker would split
	 * again under pressure (plan->underused), and the pages they filled */
	uint64_t underused;
	uint64_t underused_pages;
};

enum mthp_passes_end {
	MTHP_PASSES_STABLE,	/* the last pass changed nothing */
	MTHP_PASSES_BOUND,	/* max_passes ran and the last one changed something */
};

struct mthp_passes_summary {
	enum mthp_passes_end end;
	unsigned passes;		/* passes run, the unchanging last one included */
	uint64_t collapses;		/* over all passes */
	uint64_t collapses_by_order[MTHP_MAX_PMD_ORDER + 1];
	uint64_t pages_filled;
	uint64_t pages_copied;
	uint64_t recollapses;
	uint64_t rebuilds;		/* collapses that changed no PTE */
	uint64_t underused;		/* as in the pass reports, over all passes */
	uint64_t underused_pages;
	unsigned creep_from;		/* lowest order a creeping collapse grew from */
	unsigned creep_to;		/* highest order a creeping collapse reached */
	unsigned creep_last_pass;	/* the last pass with a creeping collapse; 0: none */
};

/* Called for every range of every pass with its plan, before it is applied. */
typedef void (*mthp_pass_range_fn)(void *ctx, unsigned pass,
				   const struct mthp_snapshot *snap,
				   const struct mthp_snapshot_pmd *pmd,
				   const struct mthp_pmd_plan *plan);
/* Called after each pass, with the snapshot as the pass left it. */
typedef void (*mthp_pass_fn)(void *ctx, const struct mthp_snapshot *snap,
			     const struct mthp_pass_report *pass);

/*
 * Plan and apply up to max_passes passes (>= 1) over snap, which is
 * changed in place; either callback may be NULL.
 */
int mthp_snapshot_plan_passes(struct mthp_snapshot *snap, const struct mthp_settings *s,
			      enum mthp_policy policy, enum mthp_context context,
			      unsigned max_passes, mthp_pass_range_fn range_fn,
			      mthp_pass_fn pass_fn, void *ctx,
			      struct mthp_passes_summary *sum);

#endif /* MTHP_PASSES_H */
