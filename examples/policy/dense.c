// SPDX-License-Identifier: MIT
/*
 * dense.c - an example policy for `mthp plan --policy-file` and `mthp sim
 * --policy-file`: upstream's walk, but a window below the PMD order is
 * collapsed only when at least three quarters of its PTEs are mapped,
 * whatever max_ptes_none says, so that a collapse at most triples a
 * quarter of the window's memory; the PMD window keeps upstream's rule.
 * At fault, folios larger than 64K only in VMAs advised MADV_HUGEPAGE:
 * elsewhere a fault does not bet on pages the program has not touched.
 *
 * Build:  cc -shared -fPIC -I/usr/local/include -o dense.so dense.c
 */
#include <mthp/policy_plugin.h>

static int dense_window(const struct mthp_plugin_window *w)
{
	uint32_t len = 1u << w->order;

	if (1u << w->order == w->nr_ptes)
		return w->fallback_attempts;
	if (w->madvise)
		return w->fallback_attempts;
	return w->present * 4 >= len * 3;
}

static uint32_t dense_fault(const struct mthp_plugin_fault *f)
{
	uint32_t up_to_64k = (2u << (16 - __builtin_ctz(f->page_size))) - 1;

	if (f->vma_flags & MTHP_PLUGIN_VMA_HUGEPAGE)
		return f->allowed;
	return f->allowed & up_to_64k;
}

const struct mthp_policy_plugin mthp_policy_plugin = {
	.version = MTHP_POLICY_PLUGIN_VERSION,
	.name = "dense",
	.fallback = "upstream",
	.window_attempt = dense_window,
	.fault_orders = dense_fault,
};
