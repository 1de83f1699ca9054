// SPDX-License-Identifier: MIT
/*
 * bench_record.c - what recording and replaying cost.
 *
 * 1. The CPU time of a frame of `mthp record` (a live snapshot of the
 *    process, kept from frame to frame as the recorder keeps it, and its
 *    frame written) of a process of its own holding up to 8 GiB of
 *    anonymous memory that does not change between frames: half in 4K
 *    pages, half in PMD-mapped THPs (MADV_COLLAPSE).  The amount is what
 *    MemAvailable allows with 8 GiB left for the rest of the machine, and
 *    is printed: nothing is scaled.  The mean of 16 frames after the
 *    first two (every range read; the recorder's kept memory sized), one
 *    of which reads every range whole, as the recorder does every 16
 *    frames; its time and the others' median are printed beside it.
 *    Target: a mean under 0.1 s per frame.
 * 2. The bytes a frame adds per changed page: pages written in new PMD
 *    ranges (a range filled), and one page written in each of many
 *    ranges already present (a range rewritten for one page).
 * 3. The wall time of `mthp_replay` under upstream of a 1 GiB process
 *    over 600 frames, 1% of its pages freed and 1% written each frame,
 *    a recording made with the recording writer (not captured live).
 *    Target: under 10 s (wall time; the CPU time is printed beside it).
 *
 * Needs root and THP for 1 and 2; says so and skips them without.
 *
 *   build/bench/bench_record [replay]     (replay: part 3 only)
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mthp/live.h>
#include <mthp/record.h>
#include <mthp/replay.h>

#include "lib/measure.h"

#define PMD (2ul << 20)
#define PAGE 4096ul
#define FRAMES 16
#define HEADROOM_GIB 8

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The child: bytes of memory, half 4K pages, half THPs; then commands. */
static void __attribute__((noreturn)) child(uint64_t bytes, int ready, int cmd)
{
	char *p = mmap(NULL, bytes + PMD, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a = (char *)(((uintptr_t)p + PMD - 1) & ~(PMD - 1));
	char *extra;
	int c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (p == MAP_FAILED)
		_exit(2);
	madvise(a, bytes / 2, MADV_NOHUGEPAGE);
	for (uint64_t off = 0; off < bytes / 2; off += PAGE)
		a[off] = 1;
	madvise(a + bytes / 2, bytes / 2, MADV_HUGEPAGE);
	for (uint64_t off = bytes / 2; off < bytes; off += PMD) {
		a[off] = 1;
		madvise(a + off, PMD, MADV_COLLAPSE);
	}
	/* room for the changes of part 2, never THP */
	extra = mmap(NULL, 1025 * PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (extra == MAP_FAILED)
		_exit(2);
	extra = (char *)(((uintptr_t)extra + PMD - 1) & ~(PMD - 1));
	madvise(extra, 1024 * PMD, MADV_NOHUGEPAGE);
	for (uint64_t r = 0; r < 512; r++)
		extra[r * PMD] = 1;		/* 512 ranges present, one page each */
	c = 0;
	if (write(ready, &c, 1) != 1)
		_exit(1);
	while (read(cmd, &c, 1) == 1) {
		if (c == 'f')		/* fill 16 new ranges: 8192 pages */
			for (uint64_t off = 512 * PMD; off < 528 * PMD; off += PAGE)
				extra[off] = 1;
		if (c == 'o')		/* one more page in each of the 512 ranges */
			for (uint64_t r = 0; r < 512; r++)
				extra[r * PMD + PAGE] = 1;
		if (write(ready, &c, 1) != 1)
			_exit(1);
	}
	_exit(0);
}

static void command(int cmd, int ready, char c)
{
	if (write(cmd, &c, 1) != 1 || read(ready, &c, 1) != 1) {
		fprintf(stderr, "bench_record: the child died\n");
		exit(1);
	}
}

/* One frame: a live snapshot written into w; its CPU seconds. */
static double frame(pid_t pid, struct mthp_live_frames *frames, struct mthp_rec_writer *w,
		    uint64_t t)
{
	struct mthp_diag diag = { 0 };
	struct mthp_snapshot snap;
	double start = cpu_seconds();

	if (mthp_live_snapshot_frame(pid, frames, &snap, NULL, &diag) ||
	    mthp_rec_writer_frame(w, &snap, t)) {
		fprintf(stderr, "bench_record: %s\n", diag.msg);
		exit(1);
	}
	mthp_snapshot_free(&snap);
	return cpu_seconds() - start;
}

static void live_parts(void)
{
	struct mthp_rec_info info = { .interval_ms = 1000 };
	struct mthp_diag diag = { 0 };
	uint64_t avail_kb = bench_proc_kb("/proc/meminfo", "MemAvailable");
	uint64_t bytes = 8ull << 30, anon_kb, huge_kb, before;
	double samples[FRAMES], full = 0, mean = 0;
	uint64_t reused, nr_read;
	struct mthp_live_frames *frames;
	struct mthp_rec_writer w;
	struct mthp_snapshot first;
	struct bench_stats st;
	int ready[2], cmd[2];
	char c, path[64], *buf = NULL;
	size_t len = 0;
	FILE *f;
	pid_t pid;

	if (geteuid() != 0 || mthp_live_check_access(&diag) ||
	    access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK)) {
		printf("record: skipped (needs root and THP)\n");
		return;
	}
	if (avail_kb < (HEADROOM_GIB << 20) + (1ull << 20)) {
		printf("record: skipped (MemAvailable %llu MiB leaves no room)\n",
		       (unsigned long long)(avail_kb >> 10));
		return;
	}
	if (bytes > ((avail_kb - (HEADROOM_GIB << 20)) << 10))
		bytes = ((avail_kb - (HEADROOM_GIB << 20)) << 10) & ~(2 * PMD - 1);
	if (pipe(ready) || pipe(cmd))
		exit(1);
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(cmd[1]);
		child(bytes, ready[1], cmd[0]);
	}
	close(ready[1]);
	close(cmd[0]);
	if (read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "bench_record: the child could not map its memory\n");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	anon_kb = bench_proc_kb(path, "Anonymous");
	huge_kb = bench_proc_kb(path, "AnonHugePages");

	f = open_memstream(&buf, &len);
	info.pid = pid;
	if (mthp_live_frames_new(&frames) || mthp_live_snapshot(pid, &first, &diag) ||
	    mthp_rec_writer_open(&w, f, &info, &first)) {
		fprintf(stderr, "bench_record: %s\n", diag.msg);
		exit(1);
	}
	mthp_snapshot_free(&first);
	/*
	 * Not measured: the first frame (every range read and written) and
	 * the second, which sizes the memory the recorder keeps from frame
	 * to frame (the two buffers it alternates, once per recording).
	 */
	frame(pid, frames, &w, 0);
	frame(pid, frames, &w, 1000);
	for (int i = 0, k = 0; i < FRAMES; i++) {
		double t = frame(pid, frames, &w, 1000 * (uint64_t)(i + 2));

		/* frame 16 of the recording (from 0) reads every range whole */
		if (i + 2 == 16)
			full = t;
		else
			samples[k++] = t;
		mean += t / FRAMES;
	}
	mthp_live_frames_stats(frames, &reused, &nr_read);
	bench_stats(&st, samples, FRAMES - 1);
	printf("record: a frame of a process of %.2f GiB anon (%.2f GiB in PMD THPs), unchanged:\n"
	       "  %.4f s CPU, the mean of %d frames   target < 0.1 s\n"
	       "  (each range read whole every 16th frame: %.4f s; the other frames' median "
	       "%.4f s, min %.4f, max %.4f;\n"
	       "  PMD ranges of 4K pages over the 18 frames: %llu read, %llu kept from the "
	       "frame before)\n",
	       anon_kb / 1048576.0, huge_kb / 1048576.0, mean, FRAMES, full, st.median, st.min,
	       st.max, (unsigned long long)nr_read, (unsigned long long)reused);

	before = w.bytes;
	command(cmd[1], ready[0], 'f');
	frame(pid, frames, &w, 20000);
	printf("record: 8192 pages written in 16 new PMD ranges: %.2f bytes per changed page\n",
	       (double)(w.bytes - before) / 8192.0);
	before = w.bytes;
	command(cmd[1], ready[0], 'o');
	frame(pid, frames, &w, 21000);
	printf("record: 1 page written in each of 512 PMD ranges: %.2f bytes per changed page\n",
	       (double)(w.bytes - before) / 512.0);
	before = w.bytes;
	frame(pid, frames, &w, 22000);
	printf("record: a frame with nothing changed: %llu bytes\n",
	       (unsigned long long)(w.bytes - before));
	mthp_rec_writer_close(&w, MTHP_REC_END_FRAMES);
	mthp_live_frames_free(frames);
	fclose(f);
	free(buf);
	close(cmd[1]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Part 3: a 1 GiB process over 600 frames, written with the writer. */
static void replay_part(void)
{
	const uint64_t ranges = 512, base = 0x7f0000000000ull;
	struct mthp_rec_info info = { .pid = 1, .comm = "bench", .interval_ms = 1000 };
	struct mthp_diag diag = { 0 };
	struct mthp_replay_opts o = { .policy = MTHP_POLICY_UPSTREAM };
	struct mthp_replay_report rep;
	struct mthp_rec_writer w;
	struct mthp_geometry geo;
	uint8_t *state = malloc(ranges * 512);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	uint64_t rng = 1;
	double start, cpu;

	mthp_geometry_from_page_size(&geo, 4096);
	memset(state, 'A', ranges * 512);
	for (unsigned fr = 0; fr < 600; fr++) {
		struct mthp_snapshot s;

		mthp_snapshot_init(&s, &geo);
		mthp_snapshot_add_setting(&s, "khugepaged/scan_sleep_millisecs", "1000");
		mthp_snapshot_add_setting(&s, "enabled", "always");
		mthp_snapshot_add_vma(&s, base, base + ranges * PMD, MTHP_VMA_ANON);
		/* 1% of the pages freed, 1% written, at random */
		for (unsigned k = 0; fr && k < ranges * 512 / 100; k++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			state[(rng >> 33) % (ranges * 512)] = '.';
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			state[(rng >> 33) % (ranges * 512)] = 'A';
		}
		for (uint64_t r = 0; r < ranges; r++)
			mthp_snapshot_add_pmd(&s, base + r * PMD, MTHP_PMD_TABLE, state + r * 512, NULL);
		if (fr == 0 && mthp_rec_writer_open(&w, f, &info, &s))
			exit(1);
		if (mthp_rec_writer_frame(&w, &s, 1000ull * fr))
			exit(1);
		mthp_snapshot_free(&s);
	}
	mthp_rec_writer_close(&w, MTHP_REC_END_FRAMES);
	fclose(f);
	f = fmemopen(buf, len, "r");
	start = bench_now();
	cpu = cpu_seconds();
	if (mthp_replay(f, "bench.rec", &o, &rep, &diag)) {
		fprintf(stderr, "bench_record: %s\n", diag.msg);
		exit(1);
	}
	printf("replay: a 1 GiB process over %u frames (%zu bytes recorded), upstream:\n"
	       "  %.2f s (%.2f s CPU)   target < 10 s   (%llu collapses, %llu wake-ups)\n",
	       rep.frames, len, bench_now() - start, cpu_seconds() - cpu,
	       (unsigned long long)rep.collapses,
	       (unsigned long long)rep.wakeups);
	mthp_replay_report_free(&rep);
	fclose(f);
	free(buf);
	free(state);
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "replay"))
		live_parts();
	replay_part();
	return 0;
}
