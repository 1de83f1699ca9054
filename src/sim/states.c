// SPDX-License-Identifier: MIT
/*
 * states.c - what a PTE is, in the snapshot alphabet (shared = the folio
 * is mapped by more than one mm; young = the PTE's young bit), and the
 * states and folio orders of a whole table or PMD range, as the engine's
 * scan reads them.
 */
#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/pgtable.h"
#include "sim/states.h"
#include "sim/world.h"

/* Context: the PTE lock of the table holding pte. */
char pte_state(struct sim *sim, uint32_t pte)
{
	uint32_t pfn, head;
	uint32_t expected;

	lockdep_assert_held(LOCK_PTE, NULL, LOCK_WRITE);
	if (!pte)
		return MTHP_PTE_NONE;
	if (!pte_present(pte))
		return (pte & PTE_SWP_UFFD_WP) || !pte_slot(pte) ? MTHP_PTE_UFFD_WP
								 : MTHP_PTE_SWAP;
	if (pte & PTE_UFFD_WP)
		return MTHP_PTE_UFFD_WP;
	pfn = pte_pfn(pte);
	if (pfn == sim->pm.zero_pfn)
		return MTHP_PTE_ZERO;
	head = folio_head(sim, pfn);
	if (folio_test_flag(sim, head, PG_LAZYFREE) && !(pte & PTE_DIRTY))
		return MTHP_PTE_LAZYFREE;
	if (folio_maybe_shared(sim, head))
		return (pte & PTE_YOUNG) ? MTHP_PTE_SHARED_YOUNG : MTHP_PTE_SHARED_OLD;
	if (!folio_test_flag(sim, head, PG_LRU))
		return MTHP_PTE_NOT_LRU;
	if (folio_test_flag(sim, head, PG_LOCKED))
		return MTHP_PTE_LOCKED;
	expected = folio_mapcount(sim, head);
	if (folio_test_flag(sim, head, PG_SWAPCACHE))
		expected += 1u << sim_pg(sim, head)->order;
	if (folio_refcount(sim, head) > expected)
		return MTHP_PTE_PINNED;
	return (pte & PTE_YOUNG) ? MTHP_PTE_YOUNG : MTHP_PTE_OLD;
}

enum mthp_pmd_kind sim_pmd_states(struct sim_mm *mm, uint64_t pmd_addr,
				  uint8_t *ptes, uint8_t *orders)
{
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t;
	enum mthp_pmd_kind kind;
	uint64_t *pmdp;

	lockdep_assert_held(LOCK_MMAP, mm, LOCK_ANY);
	lockdep_assert_not_held(LOCK_PTE, NULL);
	kind = pmd_lookup_kind(mm, pmd_addr, &pmdp, &pmdt, &t);
	if (kind != MTHP_PMD_TABLE)
		return kind;
	pte_lock(t);
	table_states(mm->sim, t, ptes, orders);
	pte_unlock(t);
	return MTHP_PMD_TABLE;
}

void table_states(struct sim *sim, struct sim_pte_table *t, uint8_t *ptes,
		  uint8_t *orders)
{
	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = 0; i < sim->geo.ptes_per_pmd; i++) {
		uint32_t pte = t->ptes[i];

		ptes[i] = (uint8_t)pte_state(sim, pte);
		orders[i] = MTHP_NO_FOLIO;
		if (pte_present(pte) && pte_pfn(pte) != sim->pm.zero_pfn)
			orders[i] = sim_pg(sim, pte_pfn(pte))->order;
	}
}
