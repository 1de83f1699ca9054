// SPDX-License-Identifier: MIT
/*
 * states.c - what a PTE is, in the snapshot alphabet (shared = the folio
 * is mapped by more than one mm; young = the PTE's young bit), and the
 * states and folio orders of a whole table or PMD range, as the engine's
 * scan reads them.
 *
 * A present PTE's state is its folio's (shared, off the LRU, locked,
 * pinned, lazyfree) with the PTE's own young and dirty bits: the folio's
 * part is read once per folio, and a table's PTEs that map one large folio
 * one after the other share it.
 */
#include <string.h>

#include "sim/folio.h"
#include "sim/locks.h"
#include "sim/pgtable.h"
#include "sim/states.h"
#include "sim/world.h"

/* The folio's part of a present PTE's state. */
struct folio_part {
	uint32_t head;
	uint32_t nr;		/* pages in the folio */
	uint8_t order;
	bool lazyfree;
	bool filled;		/* PG_FILLED */
	char state;		/* MTHP_PTE_SHARED_YOUNG, _NOT_LRU, _LOCKED, _PINNED or _YOUNG */
};

/* Context: the PTE lock of a table mapping the folio of pfn. */
static void folio_part_read(struct sim *sim, uint32_t pfn, struct folio_part *f)
{
	uint32_t head = folio_head(sim, pfn), expected;
	uint16_t flags;

	f->head = head;
	f->order = sim_pg(sim, head)->order;
	f->nr = 1u << f->order;
	f->lazyfree = folio_test_flag(sim, head, PG_LAZYFREE);
	f->filled = folio_test_flag(sim, head, PG_FILLED);
	if (folio_maybe_shared(sim, head)) {
		f->state = MTHP_PTE_SHARED_YOUNG;
		return;
	}
	flags = folio_flags(sim, head);
	if (!(flags & PG_LRU)) {
		f->state = MTHP_PTE_NOT_LRU;
		return;
	}
	if (flags & PG_LOCKED) {
		f->state = MTHP_PTE_LOCKED;
		return;
	}
	expected = folio_mapcount(sim, head);
	if (flags & PG_SWAPCACHE)
		expected += f->nr;
	f->state = folio_refcount(sim, head) > expected ? MTHP_PTE_PINNED : MTHP_PTE_YOUNG;
}

/* A present PTE mapping a page of f's folio. */
static char present_state(uint32_t pte, const struct folio_part *f)
{
	bool young = pte & PTE_YOUNG;

	if (f->lazyfree && !(pte & PTE_DIRTY))
		return MTHP_PTE_LAZYFREE;
	switch (f->state) {
	case MTHP_PTE_SHARED_YOUNG:
		return young ? MTHP_PTE_SHARED_YOUNG : MTHP_PTE_SHARED_OLD;
	case MTHP_PTE_YOUNG:
		return young ? MTHP_PTE_YOUNG : MTHP_PTE_OLD;
	}
	return f->state;
}

/* A PTE that maps no folio: none, swap, uffd-wp or the zero page. */
static char nonfolio_state(struct sim *sim, uint32_t pte, bool *folio)
{
	*folio = false;
	if (!pte)
		return MTHP_PTE_NONE;
	if (!pte_present(pte))
		return (pte & PTE_SWP_UFFD_WP) || !pte_slot(pte) ? MTHP_PTE_UFFD_WP
								 : MTHP_PTE_SWAP;
	if (pte & PTE_UFFD_WP)
		return MTHP_PTE_UFFD_WP;
	if (pte_pfn(pte) == sim->pm.zero_pfn)
		return MTHP_PTE_ZERO;
	*folio = true;
	return 0;
}

/* Context: the PTE lock of the table holding pte. */
char pte_state(struct sim *sim, uint32_t pte)
{
	struct folio_part f;
	bool folio;
	char state;

	lockdep_assert_held(LOCK_PTE, NULL, LOCK_WRITE);
	state = nonfolio_state(sim, pte, &folio);
	if (!folio)
		return state;
	folio_part_read(sim, pte_pfn(pte), &f);
	return present_state(pte, &f);
}

enum mthp_pmd_kind sim_pmd_states(struct sim_mm *mm, uint64_t pmd_addr,
				  uint8_t *ptes, uint8_t *orders, uint8_t *fills)
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
	table_states(mm->sim, t, ptes, orders, fills);
	pte_unlock(t);
	return MTHP_PMD_TABLE;
}

/*
 * Context: PTE lock of t held.  The states and folio orders of PTEs
 * [from, to), and their folios' PG_FILLED when fills is not NULL.
 */
static void states_between(struct sim *sim, struct sim_pte_table *t, uint32_t from,
			   uint32_t to, uint8_t *ptes, uint8_t *orders, uint8_t *fills)
{
	struct folio_part f = { .nr = 0 };

	lockdep_assert_held(LOCK_PTE, t, LOCK_WRITE);
	for (uint32_t i = from; i < to; i++) {
		uint32_t pte = t->ptes[i], pfn = pte_pfn(pte);
		bool folio;

		ptes[i] = (uint8_t)nonfolio_state(sim, pte, &folio);
		orders[i] = MTHP_NO_FOLIO;
		if (fills)
			fills[i] = 0;
		if (!folio) {
			/* a uffd-wp PTE still maps its page */
			if (pte_present(pte) && pfn != sim->pm.zero_pfn)
				orders[i] = sim_pg(sim, pfn)->order;
			continue;
		}
		/* the folio of the PTE before, or a new one */
		if (pfn - f.head >= f.nr)
			folio_part_read(sim, pfn, &f);
		ptes[i] = (uint8_t)present_state(pte, &f);
		orders[i] = f.order;
		if (fills)
			fills[i] = f.filled;
	}
}

void table_states(struct sim *sim, struct sim_pte_table *t, uint8_t *ptes,
		  uint8_t *orders, uint8_t *fills)
{
	states_between(sim, t, 0, sim->geo.ptes_per_pmd, ptes, orders, fills);
}

void table_window_states(struct sim *sim, struct sim_pte_table *t, uint32_t off,
			 uint32_t nr, uint8_t *ptes, uint8_t *orders)
{
	uint32_t n = sim->geo.ptes_per_pmd;

	memset(ptes, MTHP_PTE_NONE, off);
	memset(orders, MTHP_NO_FOLIO, off);
	states_between(sim, t, off, off + nr, ptes, orders, NULL);
	memset(ptes + off + nr, MTHP_PTE_NONE, n - off - nr);
	memset(orders + off + nr, MTHP_NO_FOLIO, n - off - nr);
}
