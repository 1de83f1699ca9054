/* SPDX-License-Identifier: MIT */
/*
 * mthp/notes.h - the sentences under a report that say what the numbers
 * mean: what the settings imply for each policy (max_ptes_none values that
 * upstream treats as 0 below the PMD order, values at which seed creeps,
 * no size below the PMD size enabled), and what the runs show (a policy
 * that collapsed nothing, two policies that made the same collapses).
 */
#ifndef MTHP_NOTES_H
#define MTHP_NOTES_H

#include <stddef.h>
#include <stdint.h>

#include <mthp/engine.h>

/* What a note needs of one run; policy < 0: khugepaged off. */
struct mthp_note_run {
	int policy;
	uint64_t collapses_by_order[MTHP_MAX_PMD_ORDER + 1];
	uint64_t pages_filled;
	uint64_t resident_pages;
	uint64_t partial_unmapped;	/* pages of partially mapped folios no PTE maps */
};

/* Call emit once per note, in a fixed order; returns the number of notes. */
size_t mthp_notes(const struct mthp_settings *s, const struct mthp_note_run *runs,
		  size_t nr_runs, void (*emit)(void *ctx, const char *note), void *ctx);

#endif
