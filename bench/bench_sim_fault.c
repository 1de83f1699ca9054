// SPDX-License-Identifier: MIT
/*
 * bench_sim_fault.c - fault 16 GiB of simulated anonymous memory (4M 4K
 * pages written, one fault each) in dense regions (every page) and sparse
 * regions (one page in four), order-0 folios (the default settings), on
 * one thread.  Prints faults per second and the simulator's memory per
 * resident page, measured: the growth of this process's resident set
 * (/proc/self/statm) from before the simulator is created to after the
 * last fault, so frames, content tags, page tables, PMD directories, VMAs
 * and the swap map all count, whatever the simulator allocates.  Each of
 * the RUNS runs is a fresh child process, so no run inherits another's
 * heap.  Targets: >= 5M faults/s, <= 48 bytes per resident page.
 * Printed, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mthp/sim.h>

#include "lib/measure.h"

#define PAGE 4096ull
#define PMD (512 * PAGE)
#define NR_FAULTS (4ull << 20)
#define REGION (64 * PMD)	/* 32768 pages */
#define RUNS 3

struct result {
	double secs;
	double bytes_per_page;
};

static int fault_all(struct result *res)
{
	struct mthp_geometry geo;
	struct mthp_settings s;
	struct sim_config cfg = { .page_size = 4096, .nr_frames = NR_FAULTS + 4096,
				  .seed = 1 };
	uint64_t faults = 0, region = 0, rss0, rss1;
	struct sim *sim;
	struct sim_mm *mm;
	double t0;

	rss0 = bench_rss_bytes();
	mthp_geometry_from_page_size(&geo, 4096);
	mthp_settings_init(&s, &geo);
	if (sim_create(&sim, &cfg, &s) || sim_mm_create(sim, 0, &mm))
		return -1;
	t0 = bench_now();
	while (faults < NR_FAULTS) {
		/* regions alternate: two dense, one sparse (1 in 4) */
		unsigned stride = (region % 3 == 2) ? 4 : 1;
		uint64_t addr = 0;

		if (sim_mmap(mm, &addr, REGION, SIM_PROT_RW, 0))
			return -1;
		for (uint64_t off = 0; off < REGION && faults < NR_FAULTS;
		     off += stride * PAGE, faults++)
			if (sim_write(mm, addr + off, addr + off))
				return -1;
		region++;
	}
	res->secs = bench_now() - t0;
	rss1 = bench_rss_bytes();
	if (!rss0 || !rss1 || rss1 < rss0)
		return -1;
	res->bytes_per_page = (double)(rss1 - rss0) / (double)faults;
	sim_exit(mm);
	sim_destroy(sim);
	return 0;
}

/* One run in a child process; its result comes back through a pipe. */
static int run_in_child(struct result *res)
{
	int fds[2], status;
	ssize_t got;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct result r;

		close(fds[0]);
		if (fault_all(&r) || write(fds[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	got = read(fds[0], res, sizeof(*res));
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (got != (ssize_t)sizeof(*res) || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return 0;
}

int main(void)
{
	double rate[RUNS], bytes[RUNS];
	struct bench_stats st_rate, st_bytes;

	for (unsigned i = 0; i < RUNS; i++) {
		struct result r;

		if (run_in_child(&r)) {
			fprintf(stderr, "bench_sim_fault: run %u failed\n", i + 1);
			return 1;
		}
		rate[i] = (double)NR_FAULTS / r.secs / 1e6;
		bytes[i] = r.bytes_per_page;
	}
	bench_stats(&st_rate, rate, RUNS);
	bench_stats(&st_bytes, bytes, RUNS);
	printf("bench_sim_fault: %llu write faults (order 0), %u runs: "
	       "%.2f M faults/s median (min %.2f, max %.2f; target >= 5)\n",
	       (unsigned long long)NR_FAULTS, RUNS, st_rate.median, st_rate.min, st_rate.max);
	printf("bench_sim_fault: %.1f bytes of resident memory per resident 4K page, "
	       "measured (median; min %.1f, max %.1f; target <= 48)\n",
	       st_bytes.median, st_bytes.min, st_bytes.max);
	return 0;
}
