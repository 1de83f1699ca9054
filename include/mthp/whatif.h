/* SPDX-License-Identifier: MIT */
/*
 * mthp/whatif.h - for the windows of one PMD range, the change of one
 * sysfs knob that would flip the plan's decision (a refused window
 * collapses, or a collapsed one does not), found by planning the range
 * again with every value of every knob that can matter:
 *
 *   khugepaged/max_ptes_none, max_ptes_swap, max_ptes_shared (khugepaged
 *   context only; MADV_COLLAPSE ignores them), every value 0..N-1;
 *   hugepages-<size>kB/enabled of the window's size, and the global
 *   enabled, every mode.
 *
 * For each knob the flipping values are kept; the suggestion is the value
 * nearest the current one of the first knob in the order above that has
 * any.  Nothing is inferred: every claim is a plan that was made.
 * Functions return 0 or -errno and never set errno.
 */
#ifndef MTHP_WHATIF_H
#define MTHP_WHATIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mthp/engine.h>

#define MTHP_WHATIF_MAX_WINDOWS 64
#define MTHP_WHATIF_NR_KNOBS 5

/* What changing one knob does to one window. */
struct mthp_whatif_knob {
	char knob[48];			/* "khugepaged/max_ptes_none" */
	bool flips;			/* some value flips the window */
	char nearest[24];		/* the flipping value nearest the current */
	char values[96];		/* every flipping value: "511", "9-511", "always, madvise" */
	long current, nearest_value;	/* numeric knobs; -1 for modes */
};

struct mthp_whatif {
	uint32_t offset;		/* the window */
	unsigned order;
	bool collapses;			/* the plan's decision now */
	struct mthp_whatif_knob knobs[MTHP_WHATIF_NR_KNOBS];
	unsigned nr_knobs;
	int suggestion;			/* index into knobs, or -1: no knob flips it */
	char words[256];		/* the suggestion, or why nothing flips it */
};

/* The range to explain and the rules it was planned with. */
struct mthp_whatif_range {
	const struct mthp_settings *settings;
	enum mthp_policy policy;
	enum mthp_context context;
	uint32_t vma_flags;
	const struct mthp_range *range;
};

/*
 * Fill out[i] for windows[i] (at most MTHP_WHATIF_MAX_WINDOWS), each with
 * offset and order set by the caller.  -EINVAL for too many windows or a
 * window that does not fit the range.
 */
int mthp_whatif(const struct mthp_whatif_range *wr, struct mthp_whatif *out, size_t n);

#endif /* MTHP_WHATIF_H */
