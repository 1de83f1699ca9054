/* SPDX-License-Identifier: MIT */
/*
 * sim/check.h - the invariant walker (check.c).
 */
#ifndef MTHP_SIM_CHECK_H
#define MTHP_SIM_CHECK_H

#include "sim/world.h"

/* sim_check() itself.  Context: the world lock held for write. */
int sim_check_locked(struct sim *sim);
/* Debug builds: sim_check() after a mapping change; aborts on failure. */
void sim_debug_check(struct sim *sim);

#endif /* MTHP_SIM_CHECK_H */
