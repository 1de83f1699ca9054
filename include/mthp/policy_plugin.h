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
 * this header changes incompatibly; a plug-in of another version is
 * refused, not run.
 */
#ifndef MTHP_POLICY_PLUGIN_H
#define MTHP_POLICY_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>

#define MTHP_POLICY_PLUGIN_VERSION 1
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
};

#endif
