// SPDX-License-Identifier: MIT
/*
 * pte.c - the PTE alphabet, and the names of policies and contexts.
 */
#include <errno.h>
#include <string.h>

#include <mthp/engine.h>

#include "common/array.h"
#include "common/names.h"

bool mthp_pte_state_valid(int c)
{
	switch (c) {
	case MTHP_PTE_NONE: case MTHP_PTE_ZERO: case MTHP_PTE_SWAP:
	case MTHP_PTE_UFFD_WP: case MTHP_PTE_YOUNG: case MTHP_PTE_OLD:
	case MTHP_PTE_SHARED_YOUNG: case MTHP_PTE_SHARED_OLD:
	case MTHP_PTE_NOT_ANON: case MTHP_PTE_SPECIAL: case MTHP_PTE_LAZYFREE:
	case MTHP_PTE_LOCKED: case MTHP_PTE_PINNED: case MTHP_PTE_NOT_LRU:
		return true;
	}
	return false;
}

bool mthp_pte_state_has_folio(int c)
{
	switch (c) {
	case MTHP_PTE_YOUNG: case MTHP_PTE_OLD: case MTHP_PTE_SHARED_YOUNG:
	case MTHP_PTE_SHARED_OLD: case MTHP_PTE_NOT_ANON: case MTHP_PTE_LAZYFREE:
	case MTHP_PTE_LOCKED: case MTHP_PTE_PINNED: case MTHP_PTE_NOT_LRU:
		return true;
	}
	/* none, zero page, swap, uffd-wp (taken as a marker), special */
	return false;
}

static const char *const policy_names[MTHP_NR_POLICIES] = {
	[MTHP_POLICY_LEGACY] = "legacy",
	[MTHP_POLICY_SEED] = "seed",
	[MTHP_POLICY_UPSTREAM] = "upstream",
	[MTHP_POLICY_GUARDED] = "guarded",
};

const char *mthp_policy_name(enum mthp_policy p)
{
	return mthp_name_of(policy_names, MTHP_NR_POLICIES, p, "?");
}

int mthp_policy_parse(const char *name, enum mthp_policy *p)
{
	int i = mthp_name_find(policy_names, MTHP_NR_POLICIES, name);

	if (i < 0)
		return i;
	*p = (enum mthp_policy)i;
	return 0;
}

static const char *const context_names[] = {
	[MTHP_CONTEXT_KHUGEPAGED] = "khugepaged",
	[MTHP_CONTEXT_MADVISE] = "madvise",
};

const char *mthp_context_name(enum mthp_context c)
{
	return mthp_name_of(context_names, ARRAY_SIZE(context_names), c, "?");
}

int mthp_context_parse(const char *name, enum mthp_context *c)
{
	int i = mthp_name_find(context_names, ARRAY_SIZE(context_names), name);

	if (i < 0)
		return i;
	*c = (enum mthp_context)i;
	return 0;
}
