/* SPDX-License-Identifier: MIT */
/*
 * sim/fault.h - an access with the faults it takes (fault.c).
 */
#ifndef MTHP_SIM_FAULT_H
#define MTHP_SIM_FAULT_H

#include <stdint.h>

#include "sim/vma.h"
#include "sim/world.h"

enum sim_access { SIM_ACCESS_READ, SIM_ACCESS_WRITE, SIM_ACCESS_POPULATE };
/* One access with faults.  Context: mmap_lock held for read. */
int handle_access(struct sim_mm *mm, uint64_t addr, enum sim_access kind,
		  uint64_t *tag);
uint32_t fault_allowed_orders(struct sim *sim, const struct sim_vma *v);

#endif /* MTHP_SIM_FAULT_H */
