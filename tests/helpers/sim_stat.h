/* SPDX-License-Identifier: MIT */
/*
 * sim_stat.h - the simulator's counters by name, for tests: the value, or
 * the test program aborts with the name when the simulator does not know
 * it, so a misspelled counter fails the test instead of reading as 0.
 */
#ifndef MTHP_TEST_SIM_STAT_H
#define MTHP_TEST_SIM_STAT_H

#include <stdint.h>

#include <mthp/sim.h>

/* sim_vmstat(): "thp_fault_alloc", ... */
uint64_t vmstat(struct sim *sim, const char *name);
/* sim_mthp_stat() of one order: "nr_anon", "swpout", ... */
uint64_t mthp_stat(struct sim *sim, unsigned order, const char *name);
/* sim_khugepaged_stat(): "pages_collapsed", "full_scans", "ptes_scanned". */
uint64_t khugepaged_stat(struct sim *sim, const char *name);

#endif /* MTHP_TEST_SIM_STAT_H */
