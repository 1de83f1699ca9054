// SPDX-License-Identifier: MIT
/*
 * bench_audit_host.c - `mthp audit --rollup --prometheus` of the whole
 * host (every process in /proc) after starting 200 processes of its own
 * that hold, between them, up to 32 GiB of anonymous memory, half of each
 * process's in PMD-mapped THPs and half in 4K pages.  The target is 32 GiB;
 * this machine may not have it, so the amount is what /proc/meminfo's
 * MemAvailable allows with 8 GiB left over for the rest of the machine,
 * and what the processes really hold (their Anonymous and AnonHugePages in
 * smaps_rollup) is printed beside the time: nothing is scaled.  Once the
 * machine has settled after the faults (a second with the CPUs at least
 * 90% idle, waited for up to 120 s), the median of 3 runs with
 * PAGEMAP_SCAN and of 3 with plain pagemap reads, taken in turn.  Needs root and THP; says so and exits 0 without them.  Every
 * process dies with the benchmark (PR_SET_PDEATHSIG), also when it fails
 * or is killed.
 *
 *   build/bench/bench_audit_host [GIB]     (default: as above, at most 32)
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mthp/live.h>

#include "cli/cli.h"
#include "lib/measure.h"

#define PMD (2ul << 20)
#define PROCS 200
#define RUNS 3
#define TARGET_GIB 32
#define HEADROOM_GIB 8

static pid_t kids[PROCS];

static void kill_kids(void)
{
	for (int i = 0; i < PROCS; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	for (int i = 0; i < PROCS; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
}

static void on_signal(int sig)
{
	for (int i = 0; i < PROCS; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A process: map, fault (half THP, half 4K), tell the parent, wait. */
static void __attribute__((noreturn)) child(size_t bytes, int ready_fd)
{
	char *map, *base;
	size_t half = bytes / 2;
	char ok = 1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	map = mmap(NULL, bytes + PMD, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		_exit(1);
	base = (char *)(((unsigned long)map + PMD - 1) & ~(PMD - 1));
	madvise(base, half, MADV_HUGEPAGE);
	madvise(base + half, bytes - half, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < bytes; off += 4096)
		base[off] = 1;
	if (write(ready_fd, &ok, 1) != 1)
		_exit(1);
	close(ready_fd);	/* the parent sees the end when all are done */
	for (;;)
		pause();
}

/* Busy and total jiffies of all CPUs so far (/proc/stat). */
static void cpu_jiffies(uint64_t *busy, uint64_t *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];	/* not idle, not iowait */
	}
	fclose(f);
}

/*
 * After 200 processes faulted their memory in, the kernel goes on working
 * for a while (more so the more memory): wait, up to 120 s, for a second
 * in which the CPUs were at least 90% idle.  The seconds waited.
 */
static double settle(void)
{
	double t0 = bench_now();
	uint64_t b0, t0j, b1, t1j;

	cpu_jiffies(&b0, &t0j);
	while (bench_now() - t0 < 120) {
		sleep(1);
		cpu_jiffies(&b1, &t1j);
		if (t1j > t0j && (b1 - b0) * 10 <= t1j - t0j)
			break;
		b0 = b1;
		t0j = t1j;
	}
	return bench_now() - t0;
}

static double run(bool scan)
{
	char *args[] = { "audit", "--rollup", "--prometheus", NULL };
	FILE *null = fopen("/dev/null", "w");
	double t;
	int status;

	if (!null)
		return -1;
	mthp_live_set_pagemap_scan(scan);
	t = bench_now();
	status = mthp_cli_run(3, args, null, stderr);
	t = bench_now() - t;
	mthp_live_set_pagemap_scan(true);
	fclose(null);
	/* 0, or 1 when some process could not be read (one exited, ...) */
	if (status != 0 && status != 1) {
		fprintf(stderr, "bench_audit_host: audit failed (%d)\n", status);
		return -1;
	}
	return t;
}

static int count_pids(void)
{
	pid_t *pids;
	size_t nr = 0;
	struct mthp_diag diag = { 0 };

	if (mthp_live_all_pids(&pids, &nr, &diag) < 0)
		return -1;
	free(pids);
	return (int)nr;
}

int main(int argc, char **argv)
{
	uint64_t avail_kb = bench_proc_kb("/proc/meminfo", "MemAvailable");
	uint64_t bytes, per, anon_kb = 0, huge_kb = 0;
	double fast[RUNS], plain[RUNS], t0;
	struct bench_stats sf, sp;
	int fds[2], ready = 0, procs;
	char ok;

	if (geteuid() != 0 || access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK)) {
		printf("bench_audit_host: needs root and THP; nothing measured\n");
		return 0;
	}
	if (argc > 1)
		bytes = strtoull(argv[1], NULL, 10) << 30;
	else if (avail_kb > ((uint64_t)HEADROOM_GIB << 20))
		bytes = (avail_kb - ((uint64_t)HEADROOM_GIB << 20)) << 10;
	else
		bytes = 0;
	if (bytes > (uint64_t)TARGET_GIB << 30)
		bytes = (uint64_t)TARGET_GIB << 30;
	per = bytes / PROCS / (2 * PMD) * (2 * PMD);	/* whole THPs in each half */
	if (!per) {
		printf("bench_audit_host: %llu MiB available, too little to leave %d GiB; "
		       "nothing measured\n", (unsigned long long)(avail_kb >> 10), HEADROOM_GIB);
		return 0;
	}
	if (pipe(fds))
		return 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	t0 = bench_now();
	for (int i = 0; i < PROCS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(fds[0]);
			child(per, fds[1]);
		}
		if (kids[i] < 0)
			break;
	}
	close(fds[1]);
	while (ready < PROCS && read(fds[0], &ok, 1) == 1)
		ready++;
	close(fds[0]);
	if (ready < PROCS) {
		fprintf(stderr, "bench_audit_host: %d of %d processes started\n", ready, PROCS);
		kill_kids();
		return 1;
	}
	for (int i = 0; i < PROCS; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)kids[i]);
		anon_kb += bench_proc_kb(path, "Anonymous");
		huge_kb += bench_proc_kb(path, "AnonHugePages");
	}
	printf("bench_audit_host: %d processes faulted %.1f GiB in %.1f s "
	       "(MemAvailable was %.1f GiB)\n", PROCS, (double)anon_kb / (1 << 20),
	       bench_now() - t0, (double)avail_kb / (1 << 20));
	printf("bench_audit_host: waited %.0f s for the CPUs to be 90%% idle for a second\n",
	       settle());
	procs = count_pids();
	for (int i = 0; i < RUNS; i++) {
		fast[i] = run(true);
		plain[i] = run(false);
		if (fast[i] < 0 || plain[i] < 0) {
			kill_kids();
			return 1;
		}
	}
	kill_kids();
	bench_stats(&sf, fast, RUNS);
	bench_stats(&sp, plain, RUNS);
	printf("bench_audit_host: mthp audit --rollup --prometheus of every process "
	       "(%d, of which %d hold %.2f GiB of anonymous memory, %.2f GiB of it in "
	       "PMD THPs), %u runs each, in turn:\n", procs, PROCS,
	       (double)anon_kb / (1 << 20), (double)huge_kb / (1 << 20), sf.runs);
	printf("  PAGEMAP_SCAN, batched kpageflags: %.3f s median (min %.3f, max %.3f) "
	       "(target < 1 s for 200 processes and %d GiB)\n", sf.median, sf.min, sf.max,
	       TARGET_GIB);
	printf("  plain pagemap reads:              %.3f s median (min %.3f, max %.3f)\n",
	       sp.median, sp.min, sp.max);
	printf("  plain / PAGEMAP_SCAN: %.1fx\n", sp.median / sf.median);
	return 0;
}
