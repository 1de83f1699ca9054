// SPDX-License-Identifier: MIT
/*
 * bench_audit.c - `mthp audit --pid P --rollup` on a process with 8 GiB of
 * anonymous memory, half PMD-mapped THPs and half 4K pages: wall time and
 * pages per second, median of 5 runs.  Needs root and THP; says so and
 * exits 0 (nothing measured) without them.
 *
 *   build/bench/bench_audit [GIB]     (default 8)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/measure.h"

#define PMD (2ul << 20)
#define RUNS 5

/* The child: map, fault, tell the parent, wait to be killed. */
static void child(size_t bytes, int ready_fd)
{
	char *map = mmap(NULL, bytes + PMD, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *base = (char *)(((unsigned long)map + PMD - 1) & ~(PMD - 1));
	size_t half = bytes / 2;
	char ok = 1;

	if (map == MAP_FAILED)
		_exit(1);
	madvise(base, half, MADV_HUGEPAGE);
	madvise(base + half, bytes - half, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < bytes; off += 4096)
		base[off] = 1;
	if (write(ready_fd, &ok, 1) != 1)
		_exit(1);
	pause();
	_exit(0);
}

int main(int argc, char **argv)
{
	size_t gib = argc > 1 ? strtoul(argv[1], NULL, 10) : 8;
	char *args[] = { "audit", "--pid", NULL, "--rollup", NULL };
	double samples[RUNS];
	struct bench_stats st;
	char pid_text[32], ok;
	int fds[2];
	pid_t pid;
	FILE *null;

	if (geteuid() != 0 || access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK)) {
		printf("bench_audit: needs root and THP; nothing measured\n");
		return 0;
	}
	if (!gib || gib > 64 || pipe(fds))
		return 2;
	pid = fork();
	if (pid == 0)
		child(gib << 30, fds[1]);
	if (pid < 0 || read(fds[0], &ok, 1) != 1) {
		fprintf(stderr, "bench_audit: the test process did not start\n");
		return 1;
	}
	snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
	args[2] = pid_text;
	null = fopen("/dev/null", "w");
	for (int i = 0; i < RUNS; i++) {
		double t0 = bench_now();
		int status = mthp_cli_run(4, args, null, stderr);

		samples[i] = bench_now() - t0;
		if (status) {
			fprintf(stderr, "bench_audit: audit failed (%d)\n", status);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return 1;
		}
	}
	fclose(null);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	bench_stats(&st, samples, RUNS);
	printf("bench_audit: mthp audit --rollup of %zu GiB (half PMD THPs, half 4K pages), "
	       "%u runs: %.3f s median (min %.3f, max %.3f), %.1f M pages/s "
	       "(target <= 0.05 s for 8 GiB)\n", gib, st.runs, st.median, st.min, st.max,
	       (double)(gib << 30) / 4096 / st.median / 1e6);
	return 0;
}
