// SPDX-License-Identifier: MIT
/*
 * bench_sweep.c - `mthp sim --sweep` of the built-in default scenario over
 * 64 settings (max_ptes_none 0, 64, 128, 255, 256, 384, 448, 511; 64K,
 * 256K and 2M each two ways) under legacy, seed and upstream, with khugepaged
 * off beside each: 256 runs and the baseline, on every online CPU.  Wall
 * time of the whole command, min/median/max of 3 runs.  Target: under
 * 10 s on this project's 2-core machine.  Printed, never asserted.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/measure.h"

#define RUNS 3

int main(void)
{
	char *args[] = { "sim", "--sweep",
			 "khugepaged/max_ptes_none=0,64,128,255,256,384,448,511",
			 "--sweep", "hugepages-64kB/enabled=never,madvise",
			 "--sweep", "hugepages-256kB/enabled=never,madvise",
			 "--sweep", "hugepages-2048kB/enabled=inherit,never",
			 "--compare", "legacy,seed,upstream", NULL };
	FILE *null = fopen("/dev/null", "w");
	double samples[RUNS];
	struct bench_stats st;

	if (!null)
		return 1;
	for (int i = 0; i < RUNS; i++) {
		double t0 = bench_now();
		int status = mthp_cli_run(11, args, null, stderr);

		samples[i] = bench_now() - t0;
		if (status) {
			fprintf(stderr, "bench_sweep: mthp sim --sweep failed (%d)\n", status);
			return 1;
		}
	}
	fclose(null);
	bench_stats(&st, samples, RUNS);
	printf("bench_sweep: mthp sim --sweep of the default scenario, 64 settings x (no collapse "
	       "+ 3 policies) = 256 runs on %ld CPUs, %u runs: %.2f s median (min %.2f, max %.2f; "
	       "target < 10 s)\n", sysconf(_SC_NPROCESSORS_ONLN), st.runs, st.median, st.min,
	       st.max);
	return 0;
}
