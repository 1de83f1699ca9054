/* SPDX-License-Identifier: MIT */
/*
 * sim_internal.h - every header of the simulator, for the tests that look
 * inside it.  The simulator's own files include only the headers of the
 * subsystems they use; none includes this one.
 *
 * Each subsystem is a header beside its .c (the state that struct sim
 * embeds is declared in world.h, under a comment naming its subsystem).
 * The subsystems are layered, lowest first; a file includes only headers
 * of lower layers (and its own), and calls only into lower layers, also
 * through the public operations of <mthp/sim.h>.  tests/test_sim_layers
 * checks the includes against this list:
 *
 * layers:
 *   locks+lockdep		atomics, lock classes and wrappers, the validator
 *   world			struct sim and struct sim_mm; settings, clock, world lock
 *   physmem swap stats trace inject bug	frames, swap area, counters, trace, injection draws, sim_bug()
 *   sched			the threads, real or deterministic (mthp/sched.h)
 *   tlbflush			GUP-fast's interrupts-off sections; the IPIs that wait them out
 *   memcg			cgroup charges
 *   folio			folios on the frames
 *   pgtable			page tables, zap
 *   vma states			VMAs; PTEs in the snapshot alphabet
 *   check			the invariant walker
 *   mm				address spaces, mm slots, mmap/munmap/mprotect
 *   pageout			swap-out of mapped pages
 *   shrinker			the underused-THP shrinker
 *   reclaim			direct reclaim: the shrinkers, then swap-out
 *   rmap			the rmap walkers: aging and unmap under the anon_vma lock
 *   gup			the GUP-fast walker: lockless, interrupts off
 *   fault			accesses and their faults, swap-in among them
 *   fork mremap advice		fork, mremap, madvise and friends
 *   inject_race		the racing mutations of fault injection
 *   collapse			collapsing a PMD range and its windows
 *   khugepaged madvise_collapse	the two callers of collapse
 *   export lifecycle		snapshots and page info; sim_create/destroy
 * end of layers
 *
 * The lock wrappers of locks.h reach sched.c (above them) only through
 * the hooks they declare themselves, under a deterministic schedule.
 *
 * The lock order, and which lock guards what, is written once at the top
 * of lockdep.c.
 */
#ifndef MTHP_SIM_INTERNAL_H
#define MTHP_SIM_INTERNAL_H

#include "sim/locks.h"
#include "sim/world.h"
#include "sim/physmem.h"
#include "sim/swap.h"
#include "sim/stats.h"
#include "sim/trace.h"
#include "sim/inject.h"
#include "sim/bug.h"
#include "sim/tlbflush.h"
#include "sim/memcg.h"
#include "sim/folio.h"
#include "sim/pgtable.h"
#include "sim/vma.h"
#include "sim/states.h"
#include "sim/check.h"
#include "sim/mm.h"
#include "sim/pageout.h"
#include "sim/shrinker.h"
#include "sim/rmap.h"
#include "sim/gup.h"
#include "sim/fault.h"
#include "sim/inject_race.h"
#include "sim/collapse.h"
#include "sim/khugepaged.h"

#endif /* MTHP_SIM_INTERNAL_H */
