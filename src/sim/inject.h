/* SPDX-License-Identifier: MIT */
/*
 * sim/inject.h - fault injection's draws (inject.c): does an injection
 * point fire now?
 */
#ifndef MTHP_SIM_INJECT_H
#define MTHP_SIM_INJECT_H

#include <stdbool.h>

#include <mthp/sim.h>

#include "sim/world.h"

void inject_init(struct sim *sim);
/* Does point p fire now?  Counts it when it does.  Context: any. */
bool inject_fail(struct sim *sim, enum sim_inject_point p);

#endif /* MTHP_SIM_INJECT_H */
