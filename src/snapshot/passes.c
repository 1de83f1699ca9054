// SPDX-License-Identifier: MIT
/*
 * passes.c - plans over passes (mthp/passes.h): each pass plans every
 * range with mthp_snapshot_plan(), collects the collapses, then applies
 * them to the snapshot; the next pass sees what the last one made.  A
 * map of which collapse made each PTE's folio tells creep from growth.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/passes.h>

#include "internal.h"

static int ensure_folio_orders(struct mthp_snapshot_pmd *pmd, uint32_t n)
{
	if (pmd->folio_orders)
		return 0;
	pmd->folio_orders = malloc(n);
	if (!pmd->folio_orders)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++)
		pmd->folio_orders[k] = mthp_pte_state_has_folio(pmd->ptes[k]) ? 0 : MTHP_NO_FOLIO;
	return 0;
}

/* Make one window a new young folio of its order; PTEs it changed. */
static int apply_window(struct mthp_snapshot *snap, struct mthp_snapshot_pmd *pmd,
			const struct mthp_window *win, uint32_t *changed)
{
	uint32_t n = snap->geo.ptes_per_pmd, len = 1u << win->order;
	int err;

	*changed = 0;
	if (win->order == snap->geo.pmd_order) {
		if (pmd->kind != MTHP_PMD_TABLE || win->offset)
			return -EINVAL;
		snap_pmd_free_ptes(pmd);
		pmd->kind = MTHP_PMD_HUGE;
		*changed = n;
		return 0;
	}
	if (pmd->kind != MTHP_PMD_TABLE || win->offset % len || win->offset + len > n)
		return -EINVAL;
	err = ensure_folio_orders(pmd, n);
	if (err)
		return err;
	for (uint32_t k = win->offset; k < win->offset + len; k++) {
		*changed += pmd->ptes[k] != MTHP_PTE_YOUNG || pmd->folio_orders[k] != win->order;
		pmd->ptes[k] = MTHP_PTE_YOUNG;
		pmd->folio_orders[k] = win->order;
		if (pmd->swap_orders)
			pmd->swap_orders[k] = 0;
	}
	return 0;
}

int mthp_snapshot_apply_plan(struct mthp_snapshot *snap, size_t i,
			     const struct mthp_pmd_plan *plan)
{
	if (i >= snap->nr_pmds)
		return -EINVAL;
	for (uint32_t c = 0; c < plan->nr_collapses; c++) {
		uint32_t changed;
		int err = apply_window(snap, &snap->pmds[i], &plan->collapses[c], &changed);

		if (err)
			return err;
	}
	return 0;
}

/* ---- passes ---- */

struct collapse {
	size_t pmd;
	struct mthp_window win;
	uint32_t filled;
	bool underused;		/* a THP the underused-THP shrinker would split */
};

struct pass_state {
	struct mthp_snapshot *snap;
	unsigned pass;
	mthp_pass_range_fn range_fn;
	void *ctx;
	struct collapse *list;
	size_t nr, cap;
	int err;
	/* the order of the collapse that made each PTE's folio; 0: none */
	uint8_t *made;
};

/* None and zero PTEs inside one window of a table. */
static uint32_t none_in(const struct mthp_snapshot_pmd *pmd, const struct mthp_window *win)
{
	uint32_t n = 0;

	for (uint32_t k = win->offset; k < win->offset + (1u << win->order); k++)
		n += pmd->ptes[k] == MTHP_PTE_NONE || pmd->ptes[k] == MTHP_PTE_ZERO;
	return n;
}

static void collect(void *arg, const struct mthp_snapshot *snap,
		    const struct mthp_snapshot_pmd *pmd, const struct mthp_pmd_plan *plan)
{
	struct pass_state *ps = arg;

	if (ps->range_fn)
		ps->range_fn(ps->ctx, ps->pass, snap, pmd, plan);
	for (uint32_t c = 0; c < plan->nr_collapses && !ps->err; c++) {
		ps->err = mthp_array_grow((void **)&ps->list, &ps->cap, ps->nr,
					  sizeof(*ps->list));
		if (ps->err)
			return;
		ps->list[ps->nr++] = (struct collapse){
			.pmd = (size_t)(pmd - snap->pmds),
			.win = plan->collapses[c],
			.filled = pmd->kind == MTHP_PMD_TABLE ? none_in(pmd, &plan->collapses[c]) : 0,
			.underused = plan->underused &&
				     plan->collapses[c].order == snap->geo.pmd_order,
		};
	}
}

/* Account one collapse for creep, before it is applied; true if it crept. */
static bool crept(struct pass_state *ps, const struct collapse *c,
		  struct mthp_passes_summary *sum)
{
	uint8_t *made = ps->made + c->pmd * ps->snap->geo.ptes_per_pmd;
	uint32_t len = 1u << c->win.order;
	bool creep = false;

	for (uint32_t k = c->win.offset; k < c->win.offset + len; k++) {
		if (made[k] && made[k] < c->win.order) {
			if (!sum->creep_from || made[k] < sum->creep_from)
				sum->creep_from = made[k];
			creep = true;
		}
		made[k] = (uint8_t)c->win.order;
	}
	if (creep && c->win.order > sum->creep_to)
		sum->creep_to = c->win.order;
	return creep;
}

static int apply_pass(struct pass_state *ps, struct mthp_pass_report *rep,
		      struct mthp_passes_summary *sum)
{
	for (size_t i = 0; i < ps->nr; i++) {
		const struct collapse *c = &ps->list[i];
		uint32_t changed;
		bool creep = crept(ps, c, sum);
		int err = apply_window(ps->snap, &ps->snap->pmds[c->pmd], &c->win, &changed);

		if (err)
			return err;
		rep->collapses_by_order[c->win.order]++;
		rep->collapses++;
		rep->pages_filled += c->filled;
		rep->pages_copied += (1u << c->win.order) - c->filled;
		rep->recollapses += creep;
		rep->underused += c->underused;
		rep->underused_pages += c->underused ? c->filled : 0;
		rep->ptes_changed += changed;
		sum->rebuilds += !changed;
	}
	return 0;
}

static void summarize(struct mthp_passes_summary *sum, const struct mthp_pass_report *rep)
{
	sum->passes = rep->pass;
	sum->collapses += rep->collapses;
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
		sum->collapses_by_order[o] += rep->collapses_by_order[o];
	sum->pages_filled += rep->pages_filled;
	sum->pages_copied += rep->pages_copied;
	sum->recollapses += rep->recollapses;
	sum->underused += rep->underused;
	sum->underused_pages += rep->underused_pages;
	if (rep->recollapses)
		sum->creep_last_pass = rep->pass;
	sum->end = rep->ptes_changed ? MTHP_PASSES_BOUND : MTHP_PASSES_STABLE;
}

int mthp_snapshot_plan_passes(struct mthp_snapshot *snap, const struct mthp_settings *s,
			      enum mthp_policy policy, enum mthp_context context,
			      unsigned max_passes, mthp_pass_range_fn range_fn,
			      mthp_pass_fn pass_fn, void *ctx,
			      struct mthp_passes_summary *sum)
{
	struct pass_state ps = { .snap = snap, .range_fn = range_fn, .ctx = ctx };
	int err = 0;

	memset(sum, 0, sizeof(*sum));
	if (!max_passes)
		return -EINVAL;
	ps.made = calloc(snap->nr_pmds ? snap->nr_pmds : 1, snap->geo.ptes_per_pmd);
	if (!ps.made)
		return -ENOMEM;
	for (ps.pass = 1; ps.pass <= max_passes; ps.pass++) {
		struct mthp_pass_report rep = { .pass = ps.pass };

		ps.nr = 0;
		err = mthp_snapshot_plan(snap, s, policy, context, collect, &ps);
		if (!err)
			err = ps.err;
		if (!err)
			err = apply_pass(&ps, &rep, sum);
		if (err)
			break;
		summarize(sum, &rep);
		if (pass_fn)
			pass_fn(ctx, snap, &rep);
		if (!rep.ptes_changed)
			break;
	}
	free(ps.list);
	free(ps.made);
	return err;
}
