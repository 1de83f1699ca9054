/* SPDX-License-Identifier: MIT */
/*
 * sim/trace.h - tracepoint lines and the collapse observer (trace.c).
 */
#ifndef MTHP_SIM_TRACE_H
#define MTHP_SIM_TRACE_H

#include <stdbool.h>

#include <mthp/sim.h>

#include "sim/world.h"

void trace_init(struct sim *sim);
void trace_destroy(struct sim *sim);
bool trace_on(struct sim *sim);
/* Context: none required; takes the trace lock (a leaf). */
void trace_printf(struct sim *sim, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A stable stand-in for the kernel's %p of an mm. */
unsigned long long trace_mm_ptr(const struct sim_mm *mm);
void trace_observe(struct sim *sim, const struct sim_collapse_event *ev);

#endif /* MTHP_SIM_TRACE_H */
