/* SPDX-License-Identifier: MIT */
/*
 * sim/khugepaged.h - the khugepaged daemon's life (khugepaged.c).
 */
#ifndef MTHP_SIM_KHUGEPAGED_H
#define MTHP_SIM_KHUGEPAGED_H

#include "sim/world.h"

void khugepaged_init(struct sim *sim);
void khugepaged_destroy(struct sim *sim);

#endif /* MTHP_SIM_KHUGEPAGED_H */
