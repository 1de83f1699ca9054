// SPDX-License-Identifier: MIT
/*
 * pte.c - the PTE alphabet, and the names of policies and contexts.
 */
#include <errno.h>
#include <string.h>

#include <mthp/engine.h>

#include "common/array.h"
#include "common/names.h"

/* The alphabet as a table, for checking whole tables of PTEs at once. */
static const bool state_valid[256] = {
	[MTHP_PTE_NONE] = true, [MTHP_PTE_ZERO] = true, [MTHP_PTE_SWAP] = true,
	[MTHP_PTE_UFFD_WP] = true, [MTHP_PTE_YOUNG] = true, [MTHP_PTE_OLD] = true,
	[MTHP_PTE_SHARED_YOUNG] = true, [MTHP_PTE_SHARED_OLD] = true,
	[MTHP_PTE_NOT_ANON] = true, [MTHP_PTE_SPECIAL] = true, [MTHP_PTE_LAZYFREE] = true,
	[MTHP_PTE_LOCKED] = true, [MTHP_PTE_PINNED] = true, [MTHP_PTE_NOT_LRU] = true,
};

bool mthp_pte_state_valid(int c)
{
	return c >= 0 && c < 256 && state_valid[c];
}

uint32_t mthp_pte_states_check(const uint8_t *ptes, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!state_valid[ptes[i]])
			return i;
	return n;
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
