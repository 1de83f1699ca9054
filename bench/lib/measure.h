/* SPDX-License-Identifier: MIT */
/*
 * measure.h - what every benchmark measures with: a monotonic clock, CPU
 * time, the
 * process's resident memory as the kernel counts it, and the order
 * statistics of repeated runs.  Benchmarks print; they never assert.
 */
#ifndef MTHP_BENCH_MEASURE_H
#define MTHP_BENCH_MEASURE_H

#include <stddef.h>
#include <stdint.h>

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

/*
 * CPU seconds this process has used (CLOCK_PROCESS_CPUTIME_ID): on a
 * machine shared with other work, steadier than the clock.
 */
double bench_cpu_now(void);

/* Bytes resident in this process (/proc/self/statm), or 0 if unreadable. */
uint64_t bench_rss_bytes(void);

/* A "Key:   N kB" line of a /proc file, in kB; 0 when missing. */
uint64_t bench_proc_kb(const char *path, const char *key);

struct bench_stats {
	double min, median, max;
	unsigned runs;
};

/* Sorts samples[0..n) in place; n >= 1. */
void bench_stats(struct bench_stats *st, double *samples, unsigned n);

#endif
