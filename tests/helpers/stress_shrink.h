/* SPDX-License-Identifier: MIT */
/*
 * stress_shrink.h - `stress --shrink`: from a failing deterministic
 * schedule, a shorter one that still fails.
 */
#ifndef MTHP_TEST_STRESS_SHRINK_H
#define MTHP_TEST_STRESS_SHRINK_H

#include <stdio.h>

#include "helpers/stress_harness.h"

/*
 * Shrink the schedule of cfg->seed (cfg->det; one schedule): fewer
 * mutator threads, then fewer operations, each kept when the schedule of
 * the same seed still fails; then fewer preemptions, the schedule's
 * decisions that differed from the default removed, a chunk at a time,
 * while its replay still fails.  Every candidate runs in a child process,
 * so that a crash is a failure like any other.  Prints each step to out,
 * then the shortest failing schedule's replay command and its failure
 * with the timeline.  1 when a failing schedule was printed, 0 when the
 * schedule of the seed does not fail, -errno when a child cannot run.
 */
int stress_shrink(const struct stress_config *cfg, FILE *out);

#endif /* MTHP_TEST_STRESS_SHRINK_H */
