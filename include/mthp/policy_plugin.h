/* SPDX-License-Identifier: MIT */
/*
 * policy_plugin.h - a collapse policy written by a user, loaded by
 * `mthp plan --policy-file FILE.so` (docs/policy-plugins.md).
 *
 * A plug-in is a shared object that defines one object,
 *
 *	const struct mthp_policy_plugin mthp_policy_plugin = { ... };
 *
 * with MTHP_POLICY_PLUGIN_VERSION in .version, a name, the built-in policy
 * it falls back to for everything it does not decide, and the hooks it
 * implements (NULL: the fallback decides).  The version changes whenever
 * this header changes; mthp runs a plug-in of this version or of an older
 * one it names below, and refuses any other.
 *
 * Version 2 added fault_orders.  A version-1 plug-in (window_attempt only)
 * still runs: its struct ends before fault_orders, which is not read.
 */
#ifndef MTHP_POLICY_PLUGIN_H
#define MTHP_POLICY_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>

#define MTHP_POLICY_PLUGIN_VERSION 2
/* The oldest version mthp still runs. */
#define MTHP_POLICY_PLUGIN_OLDEST 1
#define MTHP_POLICY_PLUGIN_SYMBOL "mthp_policy_plugin"

/* The VMA flags a hook sees (the same bits as enum mthp_vma_flags). */
#define MTHP_PLUGIN_VMA_ANON		(1u << 0)
#define MTHP_PLUGIN_VMA_HUGEPAGE	(1u << 1)
#define MTHP_PLUGIN_VMA_UFFD		(1u << 3)

/*
 * One window of the collapse walk, as the fallback policy's walk reached
 * it: PTEs [offset, offset + 2^order) of a page table of nr_ptes PTEs, its
 * counts, the khugepaged limits, and what the fallback policy would do.
 */
struct mthp_plugin_window {
	uint32_t offset;
	uint32_t order;
	uint32_t nr_ptes;		/* PTEs in the page table (N) */
	uint32_t present;		/* mapped PTEs of the window */
	uint32_t none;			/* none or zero-page PTEs */
	uint32_t swap;
	uint32_t shared;
	uint32_t young;
	uint32_t max_ptes_none;		/* the sysfs knobs */
	uint32_t max_ptes_swap;
	uint32_t max_ptes_shared;
	uint32_t vma_flags;		/* MTHP_PLUGIN_VMA_* */
	bool madvise;			/* MADV_COLLAPSE, not khugepaged */
	bool fallback_attempts;		/* the fallback policy's verdict */
};

/*
 * A page fault in an anonymous VMA choosing the size of the folio it
 * allocates (the fault path's order choice, as the bpf_thp_ops
 * proposal's get_suggested_order hook has it): the orders the settings
 * and the VMA allow there, before the fault tries them from the largest
 * down (the PMD order at a fault in a none PMD, the others where their
 * aligned block is none).
 */
struct mthp_plugin_fault {
	uint32_t allowed;		/* bit o: order o allowed (2 to the PMD order) */
	uint32_t pmd_order;
	uint32_t vma_flags;		/* MTHP_PLUGIN_VMA_* */
	uint32_t page_size;
};

struct mthp_policy_plugin {
	uint32_t version;		/* MTHP_POLICY_PLUGIN_VERSION */
	const char *name;		/* shown in reports: letters, digits, - _ */
	const char *fallback;		/* legacy | seed | upstream | guarded */
	/*
	 * The walk's decision for a window of an allowed order: nonzero to
	 * attempt the collapse, 0 to go on to the smaller orders.  NULL: the
	 * fallback decides.
	 */
	int (*window_attempt)(const struct mthp_plugin_window *w);
	/*
	 * Version 2: the orders a fault may try, a subset of f->allowed
	 * (0: order 0 only).  An order outside f->allowed is a misbehaving
	 * plug-in: it is not tried, and the run is reported failed, naming
	 * the plug-in and the orders.  NULL: the allowed orders.
	 */
	uint32_t (*fault_orders)(const struct mthp_plugin_fault *f);
};

#endif
