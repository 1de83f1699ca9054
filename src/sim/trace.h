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
/* Is event e written (a trace file set and e selected)? */
bool trace_on(struct sim *sim, enum sim_trace_event e);
/*
 * One line of event e: the ftrace prefix of the task that fires it in
 * context ctx (mm: the process, for MADV_COLLAPSE), the event's name, then
 * the fields fmt gives.
 * Context: none required; takes the trace lock (a leaf).
 */
void trace_event(struct sim *sim, enum sim_trace_event e, enum mthp_context ctx,
		 const struct sim_mm *mm, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A stable stand-in for the kernel's %p of an mm. */
unsigned long long trace_mm_ptr(const struct sim_mm *mm);
void trace_observe(struct sim *sim, const struct sim_collapse_event *ev);

#endif /* MTHP_SIM_TRACE_H */
