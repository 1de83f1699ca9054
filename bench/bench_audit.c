// SPDX-License-Identifier: MIT
/*
 * bench_audit.c - `mthp audit --pid P --rollup` on a process with 8 GiB of
 * anonymous memory, half PMD-mapped THPs and half 4K pages: wall time and
 * pages per second, median of 5 runs, with PAGEMAP_SCAN (the default) and
 * with the plain pagemap reads of kernels without it, runs of the two
 * taken in turn on the same process; their ratio; and a check that both
 * printed the same.  Beside them, in the same turns, the kernel's part
 * alone: the reads that any exact audit of the 4K half needs (the pagemap
 * entries of its pages and the kpageflags of their pfns, in the largest
 * reads, nothing done with them), shared by two threads: what the machine
 * allows.  Needs root and THP; says so and exits 0 (nothing measured)
 * without them.  The process dies with the benchmark.
 *
 *   build/bench/bench_audit [GIB]     (default 8)
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mthp/live.h>

#include "cli/cli.h"
#include "lib/measure.h"

#define PMD (2ul << 20)
#define RUNS 5
#define PAGE 4096ul
#define PFN_MASK ((1ull << 55) - 1)
#define PM_PRESENT (1ull << 63)
#define CHUNK 4096u		/* pagemap entries a read */

/* The child: map, fault, send the parent its base address, wait to be killed. */
static void child(size_t bytes, int ready_fd)
{
	char *map = mmap(NULL, bytes + PMD, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *base = (char *)(((unsigned long)map + PMD - 1) & ~(PMD - 1));
	size_t half = bytes / 2;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (map == MAP_FAILED || getppid() == 1)
		_exit(1);
	madvise(base, half, MADV_HUGEPAGE);
	madvise(base + half, bytes - half, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < bytes; off += 4096)
		base[off] = 1;
	if (write(ready_fd, &base, sizeof(base)) != sizeof(base))
		_exit(1);
	pause();
	_exit(0);
}

/* One run of the command into a buffer; its time, or -1 when it failed. */
static double run(char **args, bool scan, char **out)
{
	size_t len = 0;
	FILE *f = open_memstream(out, &len);
	double t0;
	int status;

	if (!f)
		return -1;
	mthp_live_set_pagemap_scan(scan);
	t0 = bench_now();
	status = mthp_cli_run(4, args, f, stderr);
	t0 = bench_now() - t0;
	fclose(f);
	if (status) {
		fprintf(stderr, "bench_audit: audit (%s) failed (%d)\n",
			scan ? "PAGEMAP_SCAN" : "plain reads", status);
		return -1;
	}
	return t0;
}

/* One thread's share of the kernel's reads: [first, end) of the process. */
struct floor_part {
	int pagemap, kpageflags;
	uint64_t first, end;	/* virtual page numbers */
	int err;
};

/* The pagemap entries of the part, a chunk a read, and the kpageflags of
 * each chunk's pfns, a run of consecutive pfns a read. */
static void *floor_reads(void *arg)
{
	struct floor_part *p = arg;
	static _Thread_local uint64_t pm[CHUNK], kf[CHUNK];

	for (uint64_t vpn = p->first; vpn < p->end; vpn += CHUNK) {
		size_t n = p->end - vpn < CHUNK ? (size_t)(p->end - vpn) : CHUNK;

		if (pread(p->pagemap, pm, n * 8, (off_t)(vpn * 8)) != (ssize_t)(n * 8)) {
			p->err = 1;
			return NULL;
		}
		for (size_t i = 0, j; i < n; i = j) {
			uint64_t pfn = pm[i] & PFN_MASK;

			j = i + 1;
			if (!(pm[i] & PM_PRESENT))
				continue;	/* none here; the bench faults every page */
			for (; j < n && (pm[j] & PM_PRESENT) && (pm[j] & PFN_MASK) == pfn + (j - i); j++)
				;
			if (pread(p->kpageflags, kf + i, (j - i) * 8, (off_t)(pfn * 8)) !=
			    (ssize_t)((j - i) * 8)) {
				p->err = 1;
				return NULL;
			}
		}
	}
	return NULL;
}

/* The kernel's reads of [first, end) shared by two threads; -1 on failure. */
static double floor_run(pid_t pid, uint64_t first, uint64_t end)
{
	char path[64];
	struct floor_part part[2];
	pthread_t helper;
	double t0 = -1;
	int pagemap, kpageflags;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pagemap = open(path, O_RDONLY);
	kpageflags = open("/proc/kpageflags", O_RDONLY);
	if (pagemap >= 0 && kpageflags >= 0) {
		uint64_t mid = first + (end - first) / 2;

		part[0] = (struct floor_part){ pagemap, kpageflags, first, mid, 0 };
		part[1] = (struct floor_part){ pagemap, kpageflags, mid, end, 0 };
		t0 = bench_now();
		if (pthread_create(&helper, NULL, floor_reads, &part[1]) == 0) {
			floor_reads(&part[0]);
			pthread_join(helper, NULL);
			t0 = part[0].err || part[1].err ? -1 : bench_now() - t0;
		} else {
			t0 = -1;
		}
	}
	if (pagemap >= 0)
		close(pagemap);
	if (kpageflags >= 0)
		close(kpageflags);
	if (t0 < 0)
		fprintf(stderr, "bench_audit: the kernel's reads alone failed\n");
	return t0;
}

int main(int argc, char **argv)
{
	size_t gib = argc > 1 ? strtoul(argv[1], NULL, 10) : 8;
	char *args[] = { "audit", "--pid", NULL, "--rollup", NULL };
	double fast[RUNS], plain[RUNS], kernel[RUNS];
	struct bench_stats sf, sp, sk;
	char pid_text[32], *base, *out[2] = { NULL, NULL };
	bool same = true;
	int fds[2], ret = 0;
	pid_t pid;

	if (geteuid() != 0 || access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK)) {
		printf("bench_audit: needs root and THP; nothing measured\n");
		return 0;
	}
	if (!gib || gib > 64 || pipe(fds))
		return 2;
	pid = fork();
	if (pid == 0)
		child(gib << 30, fds[1]);
	close(fds[1]);
	if (pid < 0 || read(fds[0], &base, sizeof(base)) != sizeof(base)) {
		fprintf(stderr, "bench_audit: the test process did not start\n");
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return 1;
	}
	snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
	args[2] = pid_text;
	for (int i = 0; i < RUNS && !ret; i++) {
		/* In turn, so that all three see the machine alike. */
		for (int k = 0; k < 2 && !ret; k++) {
			double t = run(args, k == 0, &out[k]);

			if (t < 0)
				ret = 1;
			else
				(k == 0 ? fast : plain)[i] = t;
		}
		if (!ret) {
			uint64_t half = (uint64_t)base / PAGE + (gib << 30) / PAGE / 2;

			kernel[i] = floor_run(pid, half, (uint64_t)base / PAGE + (gib << 30) / PAGE);
			ret = kernel[i] < 0;
		}
		if (!ret && strcmp(out[0], out[1]))
			same = false;
		free(out[0]);
		free(out[1]);
		out[0] = out[1] = NULL;
	}
	mthp_live_set_pagemap_scan(true);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (ret)
		return ret;
	if (!same) {
		fprintf(stderr, "bench_audit: PAGEMAP_SCAN and plain reads printed different audits\n");
		return 1;
	}
	bench_stats(&sf, fast, RUNS);
	bench_stats(&sp, plain, RUNS);
	bench_stats(&sk, kernel, RUNS);
	printf("bench_audit: mthp audit --rollup of %zu GiB (half PMD THPs, half 4K pages), "
	       "%u runs each, in turn:\n", gib, sf.runs);
	printf("  PAGEMAP_SCAN, batched kpageflags: %.3f s median (min %.3f, max %.3f), "
	       "%.1f M pages/s (target <= 0.05 s for 8 GiB)\n", sf.median, sf.min, sf.max,
	       (double)(gib << 30) / 4096 / sf.median / 1e6);
	printf("  plain pagemap reads:              %.3f s median (min %.3f, max %.3f), "
	       "%.1f M pages/s\n", sp.median, sp.min, sp.max,
	       (double)(gib << 30) / 4096 / sp.median / 1e6);
	printf("  plain / PAGEMAP_SCAN: %.1fx (same output: yes)\n", sp.median / sf.median);
	printf("  the kernel's reads alone (pagemap and kpageflags of the 4K half, "
	       "two threads): %.3f s median (min %.3f, max %.3f)\n",
	       sk.median, sk.min, sk.max);
	return 0;
}
