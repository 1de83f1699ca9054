/* SPDX-License-Identifier: MIT */
/*
 * sim/shrinker.h - the deferred split queue of PMD-sized folios that the
 * underused-THP shrinker (shrinker.c) looks at; sim_shrink() runs it.
 */
#ifndef MTHP_SIM_SHRINKER_H
#define MTHP_SIM_SHRINKER_H

#include <stdint.h>

#include "sim/world.h"

/*
 * Queue a PMD-sized anon folio just mapped by a PMD (at fault, by a PMD
 * collapse), when shrink_underused is on and it is not in the swap cache.
 * Context: the PMD lock of its mapping held (it sets a flag of the folio).
 */
void shrinker_queue(struct sim *sim, uint32_t head);

#endif /* MTHP_SIM_SHRINKER_H */
