/* SPDX-License-Identifier: MIT */
/*
 * sim/gup.h - the GUP-fast walker (gup.c): get_user_pages_fast() of one
 * page at a time, from a thread of its own, on one mm, with no lock, as
 * the kernel's lockless walk; sim_gup_fast_walker_start() in <mthp/sim.h>.
 */
#ifndef MTHP_SIM_GUP_H
#define MTHP_SIM_GUP_H

#include "sim/world.h"

/* Stop the walker if it runs on sim (sim_destroy). */
void gup_destroy(struct sim *sim);

#endif /* MTHP_SIM_GUP_H */
