// SPDX-License-Identifier: MIT
/*
 * bench_det_schedule.c - deterministic schedules of the stress harness
 * (tests/helpers/stress_harness.h, as `stress --schedule det` runs them):
 * 4 mutator threads, 100 operations a schedule, khugepaged, the rmap
 * walker and fault injection on, PCT of depth 3, 1000 schedules from
 * seed 1, three times.  Prints the median rate in schedules a second of
 * wall time (target at least 1000) and of the process's CPU time (the
 * schedules run on one core, so this is the rate of an idle core on a
 * shared machine), the scheduling points a schedule, and the lock pairs
 * the run saw interleaved; then the same with atomic points (every step
 * of a lockless protocol a scheduling point too), which the target does
 * not cover.  Printed, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mthp/sched.h>

#include "helpers/stress_harness.h"
#include "lib/measure.h"

#define RUNS 3
#define SCHEDULES 1000
#define TARGET 1000.0

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* RUNS runs of cfg: the rates, wall and CPU, and the last run's totals; 0 or 1. */
static int measure(const struct stress_config *cfg, struct bench_stats *ws,
		   struct bench_stats *cs, struct stress_totals *t)
{
	double wall[RUNS], cpu[RUNS];

	for (unsigned r = 0; r < RUNS; r++) {
		double w0 = bench_now(), c0 = cpu_now();

		if (stress_run(cfg, t, NULL) || !stress_ok(t)) {
			fprintf(stderr, "bench_det_schedule: the run failed: %s\n", t->why);
			return 1;
		}
		wall[r] = (double)t->schedules / (bench_now() - w0);
		cpu[r] = (double)t->schedules / (cpu_now() - c0);
	}
	bench_stats(ws, wall, RUNS);
	bench_stats(cs, cpu, RUNS);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t schedules = argc > 1 ? strtoull(argv[1], NULL, 0) : SCHEDULES;
	struct stress_config cfg = STRESS_CONFIG_ALL(1, 1);
	struct bench_stats ws, cs;
	struct stress_totals t;

	cfg.det = true;
	cfg.schedules = schedules ? schedules : SCHEDULES;
	cfg.ops = 100;
	cfg.strategy = SIM_SCHED_PCT;
	cfg.pct_depth = 3;
	if (measure(&cfg, &ws, &cs, &t))
		return 1;
	printf("bench_det_schedule: %llu schedules of 4 mutator threads x 100 operations "
	       "with khugepaged, the rmap and GUP-fast walkers and fault injection (pct 3), %u runs\n",
	       (unsigned long long)cfg.schedules, RUNS);
	printf("  %.0f schedules/s of wall time, median (min %.0f, max %.0f) "
	       "(target >= %.0f/s)\n", ws.median, ws.min, ws.max, TARGET);
	printf("  %.0f schedules/s of CPU time, median (min %.0f, max %.0f): one core's "
	       "rate when nothing else runs on it\n", cs.median, cs.min, cs.max);
	printf("  %.0f scheduling points, %.1f switches and %.1f preemptions a schedule\n",
	       (double)t.steps / (double)t.schedules, (double)t.switches / (double)t.schedules,
	       (double)t.preemptions / (double)t.schedules);
	printf("  lock pairs seen interleaved in one run: %u class pairs, %u call-site pairs\n",
	       t.class_pairs, t.site_pairs);
	cfg.atomic_points = true;
	if (measure(&cfg, &ws, &cs, &t))
		return 1;
	printf("  with atomic points (--atomic-points; no target): %.0f schedules/s of wall "
	       "time, median (min %.0f, max %.0f), %.0f scheduling points a schedule\n",
	       ws.median, ws.min, ws.max, (double)t.steps / (double)t.schedules);
	return 0;
}
