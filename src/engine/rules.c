// SPDX-License-Identifier: MIT
/*
 * rules.c - which orders a VMA may collapse to under each policy and
 * context, the scan's limits, and the per-order limits of an attempt
 * (plan-contract.md: "Eligible orders of a VMA", "Scan", and the attempt
 * rules of each policy).
 */
#include <stdio.h>

#include <mthp/policy_plugin.h>

#include "engine/engine_internal.h"

static const struct mthp_policy_plugin *active_plugin;

/* The plug-in's first answer outside the rules (set once, by compare-exchange). */
static struct {
	uint32_t set;		/* 0, 1 while being written, 2 written */
	uint32_t gave, allowed, vma_flags;
} violation;

void mthp_policy_plugin_use(const struct mthp_policy_plugin *p)
{
	active_plugin = p;
	__atomic_store_n(&violation.set, 0, __ATOMIC_RELEASE);
}

uint32_t mthp_fault_orders(const struct mthp_policy_plugin *p, const struct mthp_settings *s,
			   uint32_t vma_flags, uint32_t allowed)
{
	struct mthp_plugin_fault f = {
		.allowed = allowed, .pmd_order = s->geo.pmd_order,
		.vma_flags = vma_flags, .page_size = s->geo.page_size,
	};
	uint32_t zero = 0, gave;

	/* a version-1 plug-in's struct ends before fault_orders */
	if (!p || p->version < 2 || !p->fault_orders)
		return allowed;
	gave = p->fault_orders(&f);
	if ((gave & ~allowed) &&
	    __atomic_compare_exchange_n(&violation.set, &zero, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED)) {
		violation.gave = gave;
		violation.allowed = allowed;
		violation.vma_flags = vma_flags;
		__atomic_store_n(&violation.set, 2, __ATOMIC_RELEASE);
	}
	return gave & allowed;
}

bool mthp_policy_plugin_violation(char *msg, size_t len)
{
	if (__atomic_load_n(&violation.set, __ATOMIC_ACQUIRE) != 2)
		return false;
	snprintf(msg, len, "fault_orders returned orders 0x%x where only 0x%x were allowed "
		 "(bit o: order o; VMA flags 0x%x): the orders outside were not tried",
		 violation.gave, violation.allowed, violation.vma_flags);
	return true;
}

uint32_t mthp_vma_allowed_orders(const struct mthp_settings *s, uint32_t vma_flags)
{
	bool advised = vma_flags & MTHP_VMA_HUGEPAGE;
	bool inherit = s->enabled == MTHP_MODE_ALWAYS ||
		       (s->enabled == MTHP_MODE_MADVISE && advised);
	uint32_t orders = 0;

	if (!(vma_flags & MTHP_VMA_ANON) ||
	    (vma_flags & (MTHP_VMA_NOHUGEPAGE | MTHP_VMA_NOANONVMA)))
		return 0;
	/* every fault asks: one test per order, without a jump table */
	for (unsigned o = MTHP_MIN_ORDER; o <= s->geo.pmd_order; o++) {
		enum mthp_thp_mode mode = s->size_enabled[o];

		if (mode == MTHP_MODE_ALWAYS || (mode == MTHP_MODE_MADVISE && advised) ||
		    (mode == MTHP_MODE_INHERIT && inherit))
			orders |= BIT(o);
	}
	return orders;
}

/* The orders the walk may collapse to. */
static uint32_t policy_orders(const struct mthp_settings *s,
			      enum mthp_policy policy,
			      enum mthp_context context, uint32_t vma_flags)
{
	uint32_t pmd_bit = BIT(s->geo.pmd_order);
	uint32_t allowed;

	if (context == MTHP_CONTEXT_MADVISE) {
		/* MADV_COLLAPSE ignores sysfs: only the VMA can refuse it */
		if (!(vma_flags & MTHP_VMA_ANON) ||
		    (vma_flags & (MTHP_VMA_NOHUGEPAGE | MTHP_VMA_NOANONVMA)))
			return 0;
		return pmd_bit;
	}
	allowed = mthp_vma_allowed_orders(s, vma_flags);
	switch (policy) {
	case MTHP_POLICY_LEGACY:
		return allowed & pmd_bit;
	case MTHP_POLICY_SEED:
		/* v10 scans only where the PMD order is allowed */
		return (allowed & pmd_bit) ? allowed : 0;
	case MTHP_POLICY_UPSTREAM:
	case MTHP_POLICY_GUARDED:
		return allowed;
	}
	return 0;
}

static void window_limits(const struct mthp_rules *r, unsigned order,
			  struct mthp_window_limits *lim);

void mthp_rules_init(struct mthp_rules *r, const struct mthp_settings *s,
		     enum mthp_policy policy, enum mthp_context context,
		     uint32_t vma_flags)
{
	uint32_t n = s->geo.ptes_per_pmd;
	uint32_t pmd_bit = BIT(s->geo.pmd_order);
	bool khugepaged = context == MTHP_CONTEXT_KHUGEPAGED;

	r->settings = s;
	r->policy = policy;
	r->context = context;
	r->vma_flags = vma_flags;
	r->nr_ptes = n;
	r->pmd_order = s->geo.pmd_order;
	r->orders = policy_orders(s, policy, context, vma_flags);
	r->eligible = r->orders != 0;
	r->pmd_only = r->orders == pmd_bit;
	r->uffd = vma_flags & MTHP_VMA_UFFD;
	r->plugin = active_plugin;

	r->scan_max_none = khugepaged ? s->max_ptes_none : n;
	r->scan_max_swap = khugepaged ? s->max_ptes_swap : n;
	r->scan_max_shared = khugepaged ? s->max_ptes_shared : n;
	if (r->uffd)
		r->scan_max_none = 0;
	if (khugepaged && !r->pmd_only && r->eligible) {
		switch (policy) {
		case MTHP_POLICY_UPSTREAM:
			/* 7.2 overwrites the uffd limit too */
			r->scan_max_none = n - 1;
			break;
		case MTHP_POLICY_SEED:
			/* v10: no none limit at all, but the uffd rule stays */
			if (!r->uffd)
				r->scan_max_none = n;
			break;
		case MTHP_POLICY_GUARDED:
			/* the windows' limits decide; a uffd VMA keeps its 0 */
			if (!r->uffd)
				r->scan_max_none = n - 1;
			break;
		case MTHP_POLICY_LEGACY:
			break;
		}
	}
	for (unsigned o = MTHP_MIN_ORDER; o <= r->pmd_order; o++)
		window_limits(r, o, &r->limits[o]);
	mthp_bulk_rules_init(r);
}

uint32_t mthp_upstream_max_none(const struct mthp_rules *r, unsigned order)
{
	if (r->context == MTHP_CONTEXT_MADVISE)
		return r->nr_ptes;
	if (order == r->pmd_order)
		return r->settings->max_ptes_none;
	switch (mthp_upstream_count_rule(r)) {
	case MTHP_COUNT_ALWAYS:
		return r->nr_ptes;
	case MTHP_COUNT_ANY:
		return BIT(order) - 1;
	case MTHP_COUNT_ALL:
		return 0;
	}
	return 0;
}

static void window_limits(const struct mthp_rules *r, unsigned order,
			  struct mthp_window_limits *lim)
{
	const struct mthp_settings *s = r->settings;
	bool khugepaged = r->context == MTHP_CONTEXT_KHUGEPAGED;
	bool below_pmd = order < r->pmd_order;

	lim->need_young = khugepaged;
	lim->swap_veto = below_pmd;
	lim->upstream_none = mthp_upstream_max_none(r, order);
	lim->test_none = r->policy == MTHP_POLICY_GUARDED ? mthp_guarded_max_none(r, order) :
			 lim->upstream_none;
	if (!khugepaged)
		lim->max_shared = r->nr_ptes;
	else
		lim->max_shared = below_pmd ? 0 : s->max_ptes_shared;

	switch (r->policy) {
	case MTHP_POLICY_LEGACY:
	case MTHP_POLICY_UPSTREAM:
		lim->max_none = mthp_upstream_max_none(r, order);
		lim->folio_veto = below_pmd;
		break;
	case MTHP_POLICY_SEED:
		lim->max_none = khugepaged ?
			s->max_ptes_none >> (r->pmd_order - order) : r->nr_ptes;
		/* the folio-order veto is v10 07/13, not part of seed */
		lim->folio_veto = false;
		break;
	case MTHP_POLICY_GUARDED:
		lim->max_none = mthp_guarded_max_none(r, order);
		lim->folio_veto = below_pmd;
		break;
	}
	if (r->uffd)
		lim->max_none = 0;
}

bool mthp_guarded_fills(const struct mthp_rules *r, unsigned order)
{
	unsigned cont = r->settings->geo.cont_order;

	return order == r->pmd_order || (cont && order >= cont);
}

uint32_t mthp_guarded_max_none(const struct mthp_rules *r, unsigned order)
{
	if (r->context == MTHP_CONTEXT_MADVISE)
		return r->nr_ptes;
	/* a folio of this order saves no TLB entry: 7.2's limit */
	if (!mthp_guarded_fills(r, order))
		return mthp_upstream_max_none(r, order);
	return r->settings->max_ptes_none >> (r->pmd_order - order);
}
