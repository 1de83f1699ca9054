/* SPDX-License-Identifier: MIT */
/*
 * sim/inject_race.h - fault injection's racing mutations (inject_race.c):
 * munmap, mremap or fork of the PMD range between a scan and a collapse,
 * and while a collapse's swap-in waits with mmap_lock dropped.
 */
#ifndef MTHP_SIM_INJECT_RACE_H
#define MTHP_SIM_INJECT_RACE_H

#include <stdint.h>

#include "sim/world.h"

/*
 * Where a window's collapse holds no lock (before its allocation, between
 * its read unlock and write lock, in a swap-in's wait): maybe run one of
 * the racing mutations.  Returns a forked child to sim_exit() after the attempt, or
 * NULL.  Context: no simulator lock held.
 */
struct sim_mm *inject_race_point(struct sim_mm *mm, uint64_t pmd_addr);

#endif /* MTHP_SIM_INJECT_RACE_H */
