/* SPDX-License-Identifier: MIT */
/*
 * sim/memcg.h - charging memory cgroups (memcg.c).
 */
#ifndef MTHP_SIM_MEMCG_H
#define MTHP_SIM_MEMCG_H

#include <stdint.h>

#include "sim/world.h"

int memcg_charge(struct sim *sim, unsigned memcg, uint64_t nr);
void memcg_uncharge(struct sim *sim, unsigned memcg, uint64_t nr);

#endif /* MTHP_SIM_MEMCG_H */
