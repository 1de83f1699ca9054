/* SPDX-License-Identifier: MIT */
/*
 * sim/states.h - PTEs as the snapshot alphabet (states.c): the state and
 * folio order of each PTE of a table or a PMD range.
 */
#ifndef MTHP_SIM_STATES_H
#define MTHP_SIM_STATES_H

#include <stdint.h>

#include <mthp/engine.h>

#include "sim/pgtable.h"
#include "sim/world.h"

/*
 * The states and folio orders of one PMD range, as the snapshot alphabet,
 * and when fills is not NULL whether each PTE's folio may hold pages a
 * collapse zero-filled (PG_FILLED; mthp_range.folio_fills).
 * Context: mmap_lock held; takes and drops the PTE lock.
 */
enum mthp_pmd_kind sim_pmd_states(struct sim_mm *mm, uint64_t pmd_addr,
				  uint8_t *ptes, uint8_t *orders, uint8_t *fills);
char pte_state(struct sim *sim, uint32_t pte);
/* Context: PTE lock of t held.  States, folio orders and fills (or NULL) of t's PTEs. */
void table_states(struct sim *sim, struct sim_pte_table *t, uint8_t *ptes,
		  uint8_t *orders, uint8_t *fills);
/*
 * Context: PTE lock of t held.  As table_states() for the window
 * [off, off + nr); every other PTE reads as none: the engine's attempt
 * of a window decides from the window's PTEs alone.
 */
void table_window_states(struct sim *sim, struct sim_pte_table *t, uint32_t off,
			 uint32_t nr, uint8_t *ptes, uint8_t *orders);

#endif /* MTHP_SIM_STATES_H */
