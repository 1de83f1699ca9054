// SPDX-License-Identifier: MIT
/*
 * bench_sim_fault.c - fault 16 GiB of simulated anonymous memory (4M 4K
 * pages written, one fault each) in dense regions (every page) and sparse
 * regions (one page in four), order-0 folios (the default settings), on
 * one thread.  Prints faults per second and simulator bytes per resident
 * page (frame array, tags, page tables, VMAs).  Targets: >= 5M faults/s,
 * <= 48 bytes per resident page.  Printed, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mthp/sim.h>

#define PAGE 4096ull
#define PMD (512 * PAGE)
#define NR_FAULTS (4ull << 20)
#define REGION (64 * PMD)	/* 32768 pages */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	struct mthp_geometry geo;
	struct mthp_settings s;
	struct sim_config cfg = { .page_size = 4096, .nr_frames = NR_FAULTS + 4096,
				  .seed = 1 };
	struct sim *sim;
	struct sim_mm *mm;
	uint64_t faults = 0, tables = 0, region = 0;
	double t0, secs, bytes;

	mthp_geometry_from_page_size(&geo, 4096);
	mthp_settings_init(&s, &geo);
	if (sim_create(&sim, &cfg, &s) || sim_mm_create(sim, 0, &mm))
		return 1;
	t0 = now();
	while (faults < NR_FAULTS) {
		/* regions alternate: two dense, one sparse (1 in 4) */
		unsigned stride = (region % 3 == 2) ? 4 : 1;
		uint64_t addr = 0;

		if (sim_mmap(mm, &addr, REGION, SIM_PROT_RW, 0))
			return 1;
		tables += REGION / PMD;
		for (uint64_t off = 0; off < REGION && faults < NR_FAULTS;
		     off += stride * PAGE, faults++)
			if (sim_write(mm, addr + off, addr + off))
				return 1;
		region++;
	}
	secs = now() - t0;
	/* frames 16 + tag 8 bytes each; tables 2 KiB + lock per 512 PTEs */
	bytes = (double)cfg.nr_frames * (16 + 8) + tables * (2048 + 48 + 8);
	printf("bench_sim_fault: %llu write faults (order 0) in %.2f s: %.2f M faults/s (target >= 5)\n",
	       (unsigned long long)faults, secs, faults / secs / 1e6);
	printf("bench_sim_fault: %.1f simulator bytes per resident 4K page (target <= 48)\n",
	       bytes / (double)faults);
	sim_exit(mm);
	sim_destroy(sim);
	return 0;
}
