// SPDX-License-Identifier: MIT
/*
 * explain.c - a range's plan window by window, in words (mthp/explain.h).
 * The walk's observer reports what it refused or passed over; the plan
 * reports what it attempted; this file orders them, counts the PTEs
 * behind each decision and asks mthp_whatif() what would change it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/explain.h>
#include <mthp/tlb.h>

#include "common/array.h"
#include "common/msg.h"
#include "common/names.h"

struct collect {
	struct mthp_explain_window *w;
	size_t nr, cap;
	int err;
};

static struct mthp_explain_window *add(struct collect *c)
{
	if (mthp_array_grow((void **)&c->w, &c->cap, c->nr, sizeof(*c->w))) {
		c->err = -ENOMEM;
		return NULL;
	}
	memset(&c->w[c->nr], 0, sizeof(c->w[c->nr]));
	return &c->w[c->nr++];
}

static void on_visit(void *ctx, const struct mthp_visit *v)
{
	static const enum mthp_explain_kind kinds[] = {
		[MTHP_VISIT_NOT_ALLOWED] = MTHP_EXPLAIN_NOT_ALLOWED,
		[MTHP_VISIT_TEST_FAILED] = MTHP_EXPLAIN_TEST_FAILED,
		[MTHP_VISIT_PASSED_OVER] = MTHP_EXPLAIN_PASSED_OVER,
	};
	struct mthp_explain_window *w = add(ctx);

	if (!w)
		return;
	w->kind = kinds[v->kind];
	w->offset = v->offset;
	w->order = v->order;
	w->end = v->end;
	w->have = v->have;
	w->need = v->need;
	w->result = SCAN_SUCCEED;
}

static const char *const kind_names[] = {
	MTHP_EXPLAIN_KINDS(MTHP_NAME_ENTRY)
};

const char *mthp_explain_kind_name(enum mthp_explain_kind k)
{
	return mthp_name_of(kind_names, ARRAY_SIZE(kind_names), k, "?");
}

/* PTEs of [off, off + len) whose state is one of states. */
static uint32_t count(const struct mthp_range *range, uint32_t off, uint32_t len,
		      const char *states)
{
	uint32_t n = 0;

	for (uint32_t k = off; k < off + len; k++)
		n += strchr(states, range->ptes[k]) != NULL;
	return n;
}

static void attempt_words(const struct mthp_whatif_range *wr, struct mthp_explain_window *w)
{
	const struct mthp_settings *s = wr->settings;
	uint32_t len = 1u << w->order, pmd = s->geo.pmd_order;
	const struct mthp_range *range = wr->range;

	/* the results an attempt of the plan can give, by what counts in them */
	if (w->result == SCAN_SUCCEED && w->order == pmd &&
	    mthp_underused(s, count(range, w->offset, len, ".0")))
		mthp_msg(w->why, sizeof(w->why), "%u of %u PTEs present, %u none or zero filled, "
			 "above khugepaged/max_ptes_none (%u): the underused-THP shrinker "
			 "splits it again under memory pressure",
			 len - count(range, w->offset, len, ".0"), len,
			 count(range, w->offset, len, ".0"), s->max_ptes_none);
	else if (w->result == SCAN_SUCCEED)
		mthp_msg(w->why, sizeof(w->why), "%u of %u PTEs present, %u none or zero filled",
			 len - count(range, w->offset, len, ".0"), len,
			 count(range, w->offset, len, ".0"));
	else if (w->result == SCAN_EXCEED_NONE_PTE)
		mthp_msg(w->why, sizeof(w->why), "%u of %u PTEs none or zero: more than %s "
			 "allows at this order", count(range, w->offset, len, ".0"), len,
			 wr->vma_flags & MTHP_VMA_UFFD ? "a userfaultfd VMA (0)" :
			 "khugepaged/max_ptes_none");
	else if (w->result == SCAN_EXCEED_SWAP_PTE)
		mthp_msg(w->why, sizeof(w->why), w->order < pmd ?
			 "%u swap PTEs: below the PMD order a window with a swapped-out page is "
			 "not collapsed" : "%u swap PTEs, above khugepaged/max_ptes_swap",
			 count(range, w->offset, len, "w"));
	else if (w->result == SCAN_EXCEED_SHARED_PTE)
		mthp_msg(w->why, sizeof(w->why), w->order < pmd ?
			 "%u shared PTEs: below the PMD order a window with a shared page is "
			 "not collapsed" : "%u shared PTEs, above khugepaged/max_ptes_shared",
			 count(range, w->offset, len, "Ss"));
	else if (w->result == SCAN_LACK_REFERENCED_PAGE)
		mthp_msg(w->why, sizeof(w->why), "no young PTE in the window");
	else if (w->result == SCAN_PTE_MAPPED_HUGEPAGE)
		mthp_msg(w->why, sizeof(w->why), "a PTE of the window maps a folio of this "
			 "order or larger already");
	else if (w->result == SCAN_PAGE_COUNT)
		mthp_msg(w->why, sizeof(w->why), "a page of the window waits in the per-CPU "
			 "LRU add batch, put back by a failed attempt before it in this pass "
			 "(a later pass may collapse it)");
	else
		mthp_msg(w->why, sizeof(w->why), "the attempt fails with %s",
			 mthp_result_name(w->result));
}

static void visit_words(const struct mthp_whatif_range *wr, struct mthp_explain_window *w)
{
	const struct mthp_settings *s = wr->settings;
	uint32_t len = 1u << w->order, have = w->have, need = w->need;
	char size[16], knob[48];

	mthp_tlb_size_label((uint64_t)s->geo.page_size << w->order, size, sizeof(size));
	switch (w->kind) {
	case MTHP_EXPLAIN_NOT_ALLOWED:
		mthp_size_name(&s->geo, w->order, knob, sizeof(knob));
		mthp_msg(w->why, sizeof(w->why), "%s is not enabled for this VMA (%s/enabled)",
			 size, knob);
		return;
	case MTHP_EXPLAIN_TEST_FAILED:
		if (wr->policy == MTHP_POLICY_SEED) {
			mthp_msg(w->why, sizeof(w->why), "%u of %u chunks of 4 PTEs are dense "
				 "enough; seed's density test needs %u", have, len / 4, need);
			return;
		}
		if (wr->policy == MTHP_POLICY_GUARDED) {
			mthp_msg(w->why, sizeof(w->why), "%u of %u PTEs occupied, not counting "
				 "what smaller large folios may have filled; the count test needs "
				 "%u (guarded's limit from max_ptes_none %u at this order, on this "
				 "machine and in this range)", have, len, need, s->max_ptes_none);
			return;
		}
		if (wr->policy == MTHP_POLICY_UPSTREAM &&
		    w->order < s->geo.pmd_order && s->max_ptes_none &&
		    s->max_ptes_none != s->geo.ptes_per_pmd - 1)
			mthp_msg(w->why, sizeof(w->why), "%u of %u PTEs occupied; the count test "
				 "needs %u (max_ptes_none %u acts as 0 below the PMD order)", have,
				 len, need, s->max_ptes_none);
		else
			mthp_msg(w->why, sizeof(w->why), "%u of %u PTEs occupied; the count test "
				 "needs %u", have, len, need);
		return;
	case MTHP_EXPLAIN_PASSED_OVER:
		if (w->end)
			mthp_msg(w->why, sizeof(w->why), "no window of %s or smaller in "
				 "[+0x%llx, +0x%llx) can pass its test", size,
				 (unsigned long long)w->offset * s->geo.page_size,
				 (unsigned long long)w->end * s->geo.page_size);
		else
			mthp_msg(w->why, sizeof(w->why), "%u of %u PTEs occupied; passed over with "
				 "the span above, where no window can pass", have, len);
		return;
	case MTHP_EXPLAIN_COLLAPSED:
	case MTHP_EXPLAIN_FAILED:
		break;
	}
}

static void scan_words(const struct mthp_whatif_range *wr, const struct mthp_planner *work,
		       enum mthp_result r, char *buf, size_t len)
{
	const struct mthp_scan *sc = &work->scan;
	const struct mthp_settings *s = wr->settings;
	uint32_t at = sc->fail_index;

	/* the prechecks, the limits of the scan, then the PTE that ended it */
	if (r == SCAN_SUCCEED)
		buf[0] = '\0';
	else if (r == SCAN_VMA_CHECK)
		mthp_msg(buf, len, "no collapse order is enabled for this VMA");
	else if (r == SCAN_ADDRESS_RANGE)
		mthp_msg(buf, len, "the VMA does not span the whole PMD range");
	else if (r == SCAN_NO_PTE_TABLE)
		mthp_msg(buf, len, "no page table under the PMD: nothing to collapse");
	else if (r == SCAN_PMD_MAPPED && wr->range->kind == MTHP_PMD_ZERO)
		mthp_msg(buf, len, "mapped by the huge zero page (a huge PMD: nothing to "
			 "collapse until a write replaces it)");
	else if (r == SCAN_PMD_MAPPED)
		mthp_msg(buf, len, "already mapped by one PMD-sized folio");
	else if (r == SCAN_EXCEED_NONE_PTE)
		mthp_msg(buf, len, "%u none or zero PTEs by PTE %u, above the scan's limit "
			 "(khugepaged/max_ptes_none %u)", sc->none_or_zero, at, s->max_ptes_none);
	else if (r == SCAN_EXCEED_SWAP_PTE)
		mthp_msg(buf, len, "%u swap PTEs by PTE %u, above khugepaged/max_ptes_swap %u",
			 sc->unmapped, at, s->max_ptes_swap);
	else if (r == SCAN_EXCEED_SHARED_PTE)
		mthp_msg(buf, len, "%u shared PTEs by PTE %u, above khugepaged/max_ptes_shared %u",
			 sc->shared, at, s->max_ptes_shared);
	else if (r == SCAN_LACK_REFERENCED_PAGE && !sc->referenced)
		mthp_msg(buf, len, "no young PTE in the range");
	else if (r == SCAN_LACK_REFERENCED_PAGE)
		mthp_msg(buf, len, "%u swap PTEs and only %u young PTEs, fewer than half "
			 "the table", sc->unmapped, sc->referenced);
	else
		mthp_msg(buf, len, "PTE %u ('%c') ends the scan: %s", at,
			 at < s->geo.ptes_per_pmd && wr->range->ptes ? wr->range->ptes[at] : '?',
			 mthp_result_name(r));
}

static void add_attempts(struct collect *c, const struct mthp_pmd_plan *plan)
{
	for (uint32_t i = 0; i < plan->nr_collapses + plan->nr_attempts; i++) {
		bool ok = i < plan->nr_collapses;
		const struct mthp_window *win = ok ? &plan->collapses[i] :
						&plan->attempts[i - plan->nr_collapses];
		struct mthp_explain_window *w = add(c);

		if (!w)
			return;
		w->kind = ok ? MTHP_EXPLAIN_COLLAPSED : MTHP_EXPLAIN_FAILED;
		w->offset = win->offset;
		w->order = win->order;
		w->result = (enum mthp_result)win->result;
	}
}

/*
 * The windows of enabled orders inside a passed-over span that hold any
 * occupied PTE: the walk did not look at them one by one, but a reader
 * asks about them (end 0 tells them from the span itself).
 */
static void expand_passed_over(struct collect *c, const struct mthp_rules *r,
			       const struct mthp_range *range)
{
	size_t nr = c->nr;

	for (size_t i = 0; i < nr && !c->err; i++) {
		struct mthp_explain_window span = c->w[i];

		if (span.kind != MTHP_EXPLAIN_PASSED_OVER || !span.end)
			continue;
		for (unsigned o = MTHP_MIN_ORDER; o <= span.order; o++) {
			uint32_t len = 1u << o;

			if (!(r->orders & (1u << o)))
				continue;
			for (uint32_t off = span.offset; off + len <= span.end; off += len) {
				uint32_t have = len - count(range, off, len, ".0w");
				struct mthp_explain_window *w;

				if (!have || !(w = add(c)))
					continue;
				w->kind = MTHP_EXPLAIN_PASSED_OVER;
				w->offset = off;
				w->order = o;
				w->have = have;
				w->result = SCAN_SUCCEED;
			}
		}
	}
}

/* Walk order: offset up, order down; a window before what it contains. */
static int walk_order(const void *a, const void *b)
{
	const struct mthp_explain_window *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return (int)y->order - (int)x->order;
}

/* What-ifs for the windows that have them, MTHP_WHATIF_MAX_WINDOWS at a time. */
static int whatifs(const struct mthp_whatif_range *wr, struct mthp_explain *e)
{
	struct mthp_whatif batch[MTHP_WHATIF_MAX_WINDOWS];
	struct mthp_explain_window *owner[MTHP_WHATIF_MAX_WINDOWS];
	size_t i = 0;

	while (i < e->nr_windows) {
		size_t n = 0;
		int err;

		for (; i < e->nr_windows && n < MTHP_WHATIF_MAX_WINDOWS; i++) {
			struct mthp_explain_window *w = &e->windows[i];

			if (w->kind == MTHP_EXPLAIN_PASSED_OVER && w->end)
				continue;
			batch[n] = (struct mthp_whatif){ .offset = w->offset, .order = w->order };
			owner[n++] = w;
		}
		err = mthp_whatif(wr, batch, n);
		if (err)
			return err;
		for (size_t k = 0; k < n; k++) {
			owner[k]->whatif = batch[k];
			owner[k]->has_whatif = true;
		}
	}
	return 0;
}

int mthp_explain_range(const struct mthp_whatif_range *wr, struct mthp_explain *out)
{
	struct mthp_pmd_plan *plan = malloc(sizeof(*plan));
	struct mthp_planner *work = malloc(sizeof(*work));
	struct collect c = { .err = 0 };
	struct mthp_rules rules;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!plan || !work)
		goto out_free;
	mthp_rules_init(&rules, wr->settings, wr->policy, wr->context, wr->vma_flags);
	mthp_plan_range_observed(plan, &rules, wr->range, work, on_visit, &c);
	out->scan = plan->scan;
	scan_words(wr, work, plan->scan, out->scan_why, sizeof(out->scan_why));
	add_attempts(&c, plan);
	if (plan->scan == SCAN_SUCCEED)
		expand_passed_over(&c, &rules, wr->range);
	err = c.err;
	if (err)
		goto out_free;
	if (c.nr)
		qsort(c.w, c.nr, sizeof(*c.w), walk_order);
	for (size_t i = 0; i < c.nr; i++) {
		if (c.w[i].kind == MTHP_EXPLAIN_COLLAPSED || c.w[i].kind == MTHP_EXPLAIN_FAILED)
			attempt_words(wr, &c.w[i]);
		else
			visit_words(wr, &c.w[i]);
	}
	out->windows = c.w;
	out->nr_windows = c.nr;
	c.w = NULL;
	if (plan->scan != SCAN_SUCCEED && plan->scan != SCAN_PMD_MAPPED &&
	    plan->scan != SCAN_NO_PTE_TABLE) {
		out->scan_whatif = (struct mthp_whatif){ .offset = 0,
							 .order = wr->settings->geo.pmd_order };
		err = mthp_whatif(wr, &out->scan_whatif, 1);
	}
	if (!err)
		err = whatifs(wr, out);
	if (err)
		mthp_explain_free(out);
out_free:
	free(c.w);
	free(work);
	free(plan);
	return err;
}

void mthp_explain_free(struct mthp_explain *e)
{
	free(e->windows);
	e->windows = NULL;
	e->nr_windows = 0;
}
