// SPDX-License-Identifier: MIT
/*
 * bench_audit_host.c - `mthp audit --rollup --prometheus` of the whole
 * host (every process in /proc) after starting 200 processes of its own
 * that hold 32 GiB of anonymous memory between them, half of each
 * process's in PMD-mapped THPs and half in 4K pages.  Two measurements:
 *
 *   - distinct: each of the 200 faults its own memory.  This machine may
 *     not have 32 GiB, so the amount is what /proc/meminfo's MemAvailable
 *     allows with 8 GiB left over (at most 32);
 *   - shared: 20 processes fault 1/200 of 32 GiB each and fork 9
 *     children each that keep their parent's pages (copy-on-write, never
 *     written), so the 200 processes map 32 GiB with a tenth of it in RAM.
 *     The audit reads every process's pagemap and kpageflags just the
 *     same.
 *
 * What the processes really map (their Anonymous and AnonHugePages in
 * smaps_rollup, summed) is printed beside each time: nothing is scaled.
 * Once the machine has settled after the faults (a second with the CPUs
 * at least 90% idle, waited for up to 120 s), the median of 3 runs with
 * PAGEMAP_SCAN and of 3 with plain pagemap reads, taken in turn, each
 * PAUSE seconds after the one before: this virtual machine runs slower
 * for a few seconds after sustained load (an audit right after a plain
 * one of the 32 GiB took 1.1 to 1.2 s, 0.6 to 0.8 s three seconds later,
 * the same as alone).  Needs root and THP; says so and exits 0 without
 * them.  Every process dies with the benchmark (PR_SET_PDEATHSIG), also
 * when it fails or is killed.
 *
 *   build/bench/bench_audit_host [GIB]     (distinct: GIB instead)
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
#define FAMILIES 20		/* shared: parents, each with PROCS / FAMILIES - 1 children */
#define RUNS 3
#define PAUSE 3			/* seconds between two runs */
#define TARGET_GIB 32
#define HEADROOM_GIB 8

/* Every process of the benchmark's (the children's children too). */
static pid_t kids[PROCS];

/* Kill them all and reap those that are the benchmark's own children. */
static void kill_kids(void)
{
	for (int i = 0; i < PROCS; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	for (int i = 0; i < PROCS; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);	/* ECHILD for a grandchild */
	memset(kids, 0, sizeof(kids));
}

static void on_signal(int sig)
{
	for (int i = 0; i < PROCS; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Map and fault bytes, half THP and half 4K; exits when that fails. */
static void fault_in(size_t bytes)
{
	char *map, *base;
	size_t half = bytes / 2;

	map = mmap(NULL, bytes + PMD, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		_exit(1);
	base = (char *)(((unsigned long)map + PMD - 1) & ~(PMD - 1));
	madvise(base, half, MADV_HUGEPAGE);
	madvise(base + half, bytes - half, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < bytes; off += 4096)
		base[off] = 1;
}

static void __attribute__((noreturn)) wait_for_death(void)
{
	for (;;)
		pause();
}

/*
 * A process of its own memory: fault it, tell the parent (its pid), wait.
 * With children > 0, fork them first, with the memory shared, and tell
 * their pids too.
 */
static void __attribute__((noreturn)) child(size_t bytes, unsigned children, int ready_fd)
{
	pid_t self = getpid();

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	fault_in(bytes);
	for (unsigned i = 0; i < children; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(ready_fd);
			wait_for_death();
		}
		if (pid < 0 || write(ready_fd, &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
	}
	if (write(ready_fd, &self, sizeof(self)) != sizeof(self))
		_exit(1);
	close(ready_fd);	/* the parent sees the end when all are done */
	wait_for_death();
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

/*
 * Start the PROCS processes: parents, each faulting per bytes and forking
 * PROCS / parents - 1 children that share them.  Fills kids[]; false (all
 * killed) when some did not start.
 */
static bool start(unsigned parents, size_t per)
{
	unsigned children = PROCS / parents - 1;
	int fds[2], ready = 0;
	pid_t pid;

	if (pipe(fds))
		return false;
	for (unsigned i = 0; i < parents; i++) {
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			child(per, children, fds[1]);
		}
		if (pid < 0)
			break;
	}
	close(fds[1]);
	while (ready < PROCS && read(fds[0], &pid, sizeof(pid)) == sizeof(pid))
		kids[ready++] = pid;
	close(fds[0]);
	if (ready < PROCS) {
		fprintf(stderr, "bench_audit_host: %d of %d processes started\n", ready, PROCS);
		kill_kids();
		return false;
	}
	return true;
}

/*
 * The measurement of the processes started: what they map, the wait for
 * the machine to settle, RUNS runs with each reader in turn.  False when
 * an audit failed.
 */
static bool measure(const char *what, double started)
{
	double fast[RUNS], plain[RUNS];
	uint64_t anon_kb = 0, huge_kb = 0;
	struct bench_stats sf, sp;
	int procs;

	for (int i = 0; i < PROCS; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)kids[i]);
		anon_kb += bench_proc_kb(path, "Anonymous");
		huge_kb += bench_proc_kb(path, "AnonHugePages");
	}
	printf("bench_audit_host: %s: %d processes started in %.1f s, mapping %.1f GiB\n",
	       what, PROCS, bench_now() - started, (double)anon_kb / (1 << 20));
	printf("bench_audit_host: waited %.0f s for the CPUs to be 90%% idle for a second\n",
	       settle());
	procs = count_pids();
	for (int i = 0; i < RUNS; i++) {
		fast[i] = run(true);
		sleep(PAUSE);
		plain[i] = run(false);
		sleep(PAUSE);
		if (fast[i] < 0 || plain[i] < 0)
			return false;
	}
	bench_stats(&sf, fast, RUNS);
	bench_stats(&sp, plain, RUNS);
	printf("bench_audit_host: %s: mthp audit --rollup --prometheus of every process "
	       "(%d, of which %d map %.2f GiB of anonymous memory, %.2f GiB of it in "
	       "PMD THPs), %u runs each, in turn, %d s apart:\n", what, procs, PROCS,
	       (double)anon_kb / (1 << 20), (double)huge_kb / (1 << 20), sf.runs, PAUSE);
	printf("  PAGEMAP_SCAN, batched kpageflags: %.3f s median (min %.3f, max %.3f) "
	       "(target < 1 s for 200 processes and %d GiB)\n", sf.median, sf.min, sf.max,
	       TARGET_GIB);
	printf("  plain pagemap reads:              %.3f s median (min %.3f, max %.3f)\n",
	       sp.median, sp.min, sp.max);
	printf("  plain / PAGEMAP_SCAN: %.1fx\n", sp.median / sf.median);
	return true;
}

/* Start the processes (parents and their children), measure, kill them all. */
static bool phase(const char *what, unsigned parents, size_t per)
{
	double t0 = bench_now();
	bool ok;

	if (!start(parents, per))
		return false;
	ok = measure(what, t0);
	kill_kids();
	return ok;
}

/* Whole THPs in each half of a process's share of bytes. */
static size_t share(uint64_t bytes, unsigned procs)
{
	return bytes / procs / (2 * PMD) * (2 * PMD);
}

int main(int argc, char **argv)
{
	uint64_t avail_kb = bench_proc_kb("/proc/meminfo", "MemAvailable");
	uint64_t headroom_kb = (uint64_t)HEADROOM_GIB << 20;
	uint64_t bytes, target = (uint64_t)TARGET_GIB << 30;
	/* shared: a whole number of THPs per process, at least the target in all */
	size_t per_shared = (target / PROCS + 2 * PMD - 1) / (2 * PMD) * (2 * PMD);
	size_t per;

	if (geteuid() != 0 || access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK)) {
		printf("bench_audit_host: needs root and THP; nothing measured\n");
		return 0;
	}
	if (argc > 1)
		bytes = strtoull(argv[1], NULL, 10) << 30;
	else if (avail_kb > headroom_kb)
		bytes = (avail_kb - headroom_kb) << 10;
	else
		bytes = 0;
	if (bytes > target)
		bytes = target;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	printf("bench_audit_host: MemAvailable %.1f GiB\n", (double)avail_kb / (1 << 20));

	per = share(bytes, PROCS);
	if (!per)
		printf("bench_audit_host: distinct: too little memory to leave %d GiB; "
		       "nothing measured\n", HEADROOM_GIB);
	else if (!phase("distinct", PROCS, per))
		return 1;
	if ((uint64_t)per_shared * FAMILIES / 1024 + headroom_kb > avail_kb) {
		printf("bench_audit_host: shared: too little memory for %d x %zu MiB with %d GiB "
		       "left; nothing measured\n", FAMILIES, per_shared >> 20, HEADROOM_GIB);
		return 0;
	}
	return phase("shared", FAMILIES, per_shared) ? 0 : 1;
}
