/* SPDX-License-Identifier: MIT */
/*
 * sim/bug.h - broken invariants and what the thread was doing (bug.c).
 */
#ifndef MTHP_SIM_BUG_H
#define MTHP_SIM_BUG_H

#include <stddef.h>
#include <stdint.h>

#include "sim/world.h"

/*
 * What the calling thread is doing in the simulator, for the report of a
 * broken invariant or a crash (sim_thread_doing()): a step of a collapse
 * (a static string), the mm, the address and the order.  Setting it is a
 * few stores; sim_doing_clear() when the operation ends.  Context: any.
 */
void sim_doing(const char *step, const struct sim_mm *mm, uint64_t addr, unsigned order);
void sim_doing_clear(void);
/* The calling thread's note, for the deterministic scheduler to switch. */
void *sim_doing_state(size_t *size);

/*
 * A broken invariant of the memory manager, found where the kernel has a
 * VM_BUG_ON or a VM_WARN_ON: print "sim: BUG: " and the message, then
 * what the thread was doing, and abort.  Context: any.
 */
_Noreturn void sim_bug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* MTHP_SIM_BUG_H */
