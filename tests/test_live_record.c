// SPDX-License-Identifier: MIT
/*
 * test_live_record.c - recordings of programs of the test's own with known
 * behaviour: a child steps through writes, frees in runs, read faults of
 * the zero page, munmap and fork, one step per frame, and every frame read
 * back equals the live snapshot taken at that step and shows what the step
 * did; `mthp record` ends on --frames, on SIGTERM and when the process
 * exits, saying so in the file; `--read` lists frames and writes one as a
 * snapshot; errors.  Needs root and THP; changes nothing on the host (the
 * page-out with a swap file belongs in a test_host_ program).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/engine.h>
#include <mthp/live.h>
#include <mthp/record.h>
#include <mthp/replay.h>
#include <mthp/snapshot.h>

#include "live/live_internal.h"
#include "helpers/live_child.h"
#include "helpers/live_skip.h"
#include "helpers/rec_child.h"
#include "helpers/snap_build.h"

#define PMD LIVE_PMD_SIZE
#define PAGE LIVE_PAGE
#define NR_STEPS 7

/* In the child: step k of the program (see expect_present). */
static void child_step(char *a, int k)
{
	switch (k) {
	case 1:		/* write 100 pages of range 0 */
		for (int i = 0; i < 100; i++)
			a[(size_t)i * PAGE] = 1;
		break;
	case 2:		/* write all of range 1 */
		memset(a + PMD, 2, PMD);
		break;
	case 3:		/* free a run: pages 0..49 of range 0 */
		madvise(a, 50 * PAGE, MADV_DONTNEED);
		break;
	case 4:		/* read 10 pages of range 2: the zero page */
		for (int i = 0; i < 10; i++)
			(void)*(volatile char *)(a + 2 * PMD + (size_t)i * PAGE);
		break;
	case 5:		/* unmap range 1 */
		munmap(a + PMD, PMD);
		break;
	case 7:		/* exit a little later */
		usleep(600 * 1000);
		_exit(0);
	case 6:		/* fork: the pages left are shared with the new child */
		if (fork() == 0) {
			for (;;)
				pause();
		}
		break;
	}
}

/* After step k: pages present, of them zero-page mappings, and shared. */
static void expect_present(const struct mthp_snapshot *snap, uint64_t addr, int k)
{
	static const unsigned present[NR_STEPS] = { 0, 100, 612, 562, 572, 60, 60 };
	static const unsigned zero[NR_STEPS] = { 0, 0, 0, 0, 10, 10, 10 };
	/* a kernel that maps no zero page on a read fault allocates pages */
	bool zero_page = live_read_maps_zero_page();

	assert_int_equal(rec_count_in(snap, addr, '*'), present[k]);
	assert_int_equal(rec_count_in(snap, addr, '0'), zero_page ? zero[k] : 0);
	/* after the fork, the 50 written pages left are shared (and the read ones) */
	assert_int_equal(rec_count_in(snap, addr, 'S'), k == 6 ? 50 + (zero_page ? 0 : 10) : 0);
}

static void test_frames_equal_what_the_program_did(void **state)
{
	struct stepper s = stepper_start(child_step);
	char *buf;
	size_t len;

	(void)state;
	rec_steps(&s, NR_STEPS, expect_present, &buf, &len);
	stepper_stop(&s);
	/* replayed with no collapse: every frame's mapped pages as recorded */
	rec_replay_buffer(buf, len, NR_STEPS);
}

/* In the child: a block written, then moved and grown as realloc() does. */
static void move_step(char *a, int k)
{
	switch (k) {
	case 1:		/* write 300 pages of range 1 */
		for (int i = 0; i < 300; i++)
			a[PMD + (size_t)i * PAGE] = 3;
		break;
	case 2:		/* range 1 moved and grown to 2 PMD sizes: mapped after it, it cannot grow in place */
		if (mremap(a + PMD, PMD, 2 * PMD, MREMAP_MAYMOVE) == MAP_FAILED)
			_exit(3);
		break;
	}
}

static void expect_moved(const struct mthp_snapshot *snap, uint64_t addr, int k)
{
	static const unsigned present[] = { 0, 300, 0 };

	assert_int_equal(rec_count_in(snap, addr, '*'), present[k]);
}

/* The program's mremap: recorded, and replayed as a move, frame-exact. */
static void test_record_mremap(void **state)
{
	struct stepper s = stepper_start(move_step);
	char *buf;
	size_t len;

	(void)state;
	rec_steps(&s, 3, expect_moved, &buf, &len);
	stepper_stop(&s);
	assert_int_equal(rec_replay_buffer(buf, len, 3), 1);
}

/* In the child: pages written, some freed, some freed lazily. */
static void lazy_step(char *a, int k)
{
	switch (k) {
	case 1:		/* write 300 pages of range 0, 100 of range 1 */
		for (int i = 0; i < 300; i++)
			a[(size_t)i * PAGE] = 1;
		for (int i = 0; i < 100; i++)
			a[PMD + (size_t)i * PAGE] = 1;
		break;
	case 2:		/* free pages 0..49 of range 0 */
		madvise(a, 50 * PAGE, MADV_DONTNEED);
		break;
	case 3:		/* free pages 0..49 of range 1 lazily */
		madvise(a + PMD, 50 * PAGE, MADV_FREE);
		break;
	}
}

/*
 * A frame as mthp record takes it, against a fresh snapshot: the PTE
 * states of the region at addr the same, or with addr 0 the VMAs.
 * *lazy (when not NULL): the frame's lazily freed PTEs in the region.
 */
static bool frame_is_fresh(pid_t pid, struct mthp_live_frames *frames, unsigned *lazy,
			   uint64_t addr)
{
	struct mthp_diag diag = { 0 };
	struct mthp_snapshot snap, fresh;
	char *a, *b;
	bool same;

	if (mthp_live_snapshot_frame(pid, frames, &snap, NULL, &diag) ||
	    mthp_live_snapshot(pid, &fresh, &diag))
		fail_msg("%s", diag.msg);
	a = addr ? rec_region_text(&snap, addr) : rec_vmas_text(&snap);
	b = addr ? rec_region_text(&fresh, addr) : rec_vmas_text(&fresh);
	same = !strcmp(a, b);
	if (lazy)
		*lazy = rec_count_in(&snap, addr, 'l');
	free(a);
	free(b);
	mthp_snapshot_free(&snap);
	mthp_snapshot_free(&fresh);
	return same;
}

/*
 * The recorder's frames read a range whose entries did not change from
 * the frame before's flags: the same frame as a fresh snapshot, but for a
 * page freed lazily since (MADV_FREE changes no entry), which the full
 * read of every 16th frame sees.
 */
static void test_frames_kept(void **state)
{
	struct stepper s = stepper_start(lazy_step);
	struct mthp_live_frames *frames;
	uint64_t reused, read, reused_before;
	unsigned lazy, frame = 0;

	(void)state;
	assert_int_equal(mthp_live_frames_new(&frames), 0);
	stepper_step(&s, 1);
	assert_true(frame_is_fresh(s.pid, frames, &lazy, s.addr));	/* frame 0: all read */
	frame++;
	mthp_live_frames_stats(frames, &reused, &read);
	assert_int_equal(reused, 0);
	assert_true(read >= 2);
	/* nothing changed: every range's flags kept, the frame the same */
	assert_true(frame_is_fresh(s.pid, frames, &lazy, s.addr));
	frame++;
	reused_before = reused;
	mthp_live_frames_stats(frames, &reused, &read);
	assert_true(reused >= reused_before + 2);
	/* freed pages change entries: read again, seen at once */
	stepper_step(&s, 2);
	assert_true(frame_is_fresh(s.pid, frames, &lazy, s.addr));
	frame++;
	/* freed lazily: no entry changes, the kept flags say written */
	stepper_step(&s, 3);
	assert_false(frame_is_fresh(s.pid, frames, &lazy, s.addr));
	assert_int_equal(lazy, 0);
	/* until the 16th frame reads every range whole */
	while (++frame % 16)
		assert_false(frame_is_fresh(s.pid, frames, &lazy, s.addr));
	assert_true(frame_is_fresh(s.pid, frames, &lazy, s.addr));
	/* (the pages still in the kernel's per-CPU lazyfree batch show written) */
	assert_true(lazy > 0 && lazy <= 50);
	mthp_live_frames_free(frames);
	stepper_stop(&s);
}

/* A VMA of the child's own between two holes, so that no flag change merges it. */
static char *own_vma;

static void flags_step(char *a, int k)
{
	char *q;

	(void)a;
	switch (k) {
	case 1:		/* mapped, never touched: no anon_vma yet */
		q = mmap(NULL, 3 * PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (q == MAP_FAILED)
			_exit(2);
		munmap(q, PMD);
		munmap(q + 2 * PMD, PMD);
		own_vma = q + PMD;
		break;
	case 2:		/* written: an anon_vma */
		own_vma[0] = 1;
		break;
	case 3:		/* a flag of the whole VMA: its maps line stays */
		madvise(own_vma, PMD, MADV_NOHUGEPAGE);
		break;
	}
}

/*
 * Between two full frames the recorder reads the maps, not smaps: a VMA
 * keeps the flags smaps showed while its maps line stays, and whether it
 * has an anon_vma yet is told from its pages.  A flag changed over a whole
 * VMA shows at the next full frame.
 */
static void test_frames_vma_flags(void **state)
{
	struct stepper s = stepper_start(flags_step);
	struct mthp_live_frames *frames;
	unsigned frame = 0;

	(void)state;
	assert_int_equal(mthp_live_frames_new(&frames), 0);
	stepper_step(&s, 1);
	assert_true(frame_is_fresh(s.pid, frames, NULL, 0));	/* frame 0 reads smaps */
	frame++;
	assert_true(frame_is_fresh(s.pid, frames, NULL, 0));	/* the maps: still no anon_vma */
	frame++;
	stepper_step(&s, 2);
	assert_true(frame_is_fresh(s.pid, frames, NULL, 0));	/* a page: an anon_vma at once */
	frame++;
	stepper_step(&s, 3);
	while (frame++ % 16)
		assert_false(frame_is_fresh(s.pid, frames, NULL, 0));
	assert_true(frame_is_fresh(s.pid, frames, NULL, 0));
	mthp_live_frames_free(frames);
	stepper_stop(&s);
}

/* A temporary file name for a recording; the caller unlinks it. */
static void temp_name(char *path, size_t len)
{
	int fd;

	snprintf(path, len, "/tmp/mthp-rec-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
}

/* Read the file: frames, and how it ended (-1: an error). */
static int read_file(const char *path, unsigned *frames, struct mthp_snapshot *last)
{
	struct mthp_diag diag = { 0 };
	struct mthp_rec_reader r;
	FILE *f = fopen(path, "r");
	int ret, end = -1;

	assert_non_null(f);
	if (mthp_rec_reader_open(&r, f, path, &diag))
		fail_msg("%s", diag.msg);
	while ((ret = mthp_rec_reader_next(&r, &diag)) == 1)
		;
	if (ret < 0)
		fail_msg("%s", diag.msg);
	end = (int)r.end;
	*frames = r.nr_frames;
	if (last) {
		*last = r.frame;
		mthp_snapshot_init(&r.frame, NULL);
	}
	mthp_rec_reader_free(&r);
	fclose(f);
	return end;
}

static void test_record_frames_and_read(void **state)
{
	struct stepper s = stepper_start(child_step);
	char path[64], snap_path[64], pidtext[16], out[4096], err[1024];
	struct mthp_snapshot last, again;
	struct mthp_diag diag = { 0 };
	unsigned frames;
	FILE *f;

	(void)state;
	temp_name(path, sizeof(path));
	temp_name(snap_path, sizeof(snap_path));
	stepper_step(&s, 2);
	snprintf(pidtext, sizeof(pidtext), "%d", (int)s.pid);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid", pidtext,
				  "--interval", "20", "--frames", "3", "-o", path, NULL), 0);
	assert_non_null(strstr(out, "mthp record: 3 frames of pid "));
	assert_non_null(strstr(out, "ended: frames"));
	assert_int_equal(read_file(path, &frames, &last), MTHP_REC_END_FRAMES);
	assert_int_equal(frames, 3);
	assert_int_equal(rec_count_in(&last, s.addr, '*'), 512);
	mthp_snapshot_free(&last);

	/* the list: a header, 3 frames, the end */
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--read", path,
				  NULL), 0);
	assert_non_null(strstr(out, "writes not tracked (rewrites of present pages are invisible)"));
	{
		struct sysinfo si;
		char host[80];

		assert_int_equal(sysinfo(&si), 0);
		snprintf(host, sizeof(host), ", host memory %llu MiB, swap %llu MiB, ",
			 (unsigned long long)si.totalram * si.mem_unit >> 20,
			 (unsigned long long)si.totalswap * si.mem_unit >> 20);
		assert_non_null(strstr(out, host));
	}
	assert_non_null(strstr(out, "\n1 "));
	assert_non_null(strstr(out, "\n2 "));
	assert_non_null(strstr(out, "# end: frames after 3 frames\n"));

	/* one frame as a snapshot that the snapshot reader takes */
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--read", path,
				  "--frame", "2", "-o", snap_path, NULL), 0);
	f = fopen(snap_path, "r");
	assert_non_null(f);
	if (mthp_snapshot_read(&again, f, snap_path, &diag))
		fail_msg("%s", diag.msg);
	fclose(f);
	assert_int_equal(rec_count_in(&again, s.addr, '*'), 512);
	mthp_snapshot_free(&again);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--read", path,
				  "--frame", "3", NULL), 1);
	assert_non_null(strstr(err, "has 3 frames, no frame 3"));
	stepper_stop(&s);
	unlink(path);
	unlink(snap_path);
}

/* The process exits: the recording ends, complete, and says so. */
static void test_record_until_exit(void **state)
{
	char path[64], pidtext[16], out[4096], err[1024];
	struct stepper s = stepper_start(child_step);
	unsigned frames;
	FILE *f;
	int k;

	(void)state;
	temp_name(path, sizeof(path));
	snprintf(pidtext, sizeof(pidtext), "%d", (int)s.pid);
	/* the child exits 600 ms from now, while it is recorded (its first frame
	 * alone may take a good part of that in a sanitizer build) */
	k = 7;
	assert_int_equal(write(s.cmd, &k, sizeof(k)), sizeof(k));
	if (live_run(out, sizeof(out), err, sizeof(err), "record", "--pid", pidtext,
		     "--interval", "20", "--duration", "30", "-o", path, NULL))
		fail_msg("mthp record failed: %s", err);
	assert_non_null(strstr(out, "ended: exited"));
	assert_int_equal(read_file(path, &frames, NULL), MTHP_REC_END_EXITED);
	assert_true(frames >= 2);
	f = fopen(path, "r");
	assert_non_null(f);
	rec_replay_exactly(f, frames);
	fclose(f);
	stepper_stop(&s);
	unlink(path);
}

/* SIGTERM to the recorder: a complete file that says so. */
static void test_record_until_signal(void **state)
{
	char path[64], pidtext[16];
	struct stepper s = stepper_start(child_step);
	unsigned frames;
	pid_t rec;
	int status;

	(void)state;
	temp_name(path, sizeof(path));
	snprintf(pidtext, sizeof(pidtext), "%d", (int)s.pid);
	rec = live_kid_fork();
	if (rec == 0) {
		char out[4096], err[1024];

		_exit(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid", pidtext,
			       "--interval", "20", "-o", path, NULL));
	}
	usleep(300 * 1000);
	assert_int_equal(kill(rec, SIGTERM), 0);
	assert_int_equal(waitpid(rec, &status, 0), rec);
	live_kid_forget(rec);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read_file(path, &frames, NULL), MTHP_REC_END_SIGNAL);
	assert_true(frames >= 2);
	stepper_stop(&s);
	unlink(path);
}

/* In the child: the program whose writes test_track_writes() records. */
static void write_step(char *a, int k)
{
	switch (k) {
	case 0:		/* write pages 0..99 of range 0 */
		for (int i = 0; i < 100; i++)
			a[(size_t)i * PAGE] = 1;
		break;
	case 1:		/* write pages 10..19 again */
		for (int i = 10; i < 20; i++)
			a[(size_t)i * PAGE] = 2;
		break;
	case 2:		/* write page 50 again, and pages 200..209 for the first time */
		a[50 * PAGE] = 3;
		for (int i = 200; i < 210; i++)
			a[(size_t)i * PAGE] = 3;
		break;
	}
}

/* The pages of [addr, addr + 4 PMDs) written has, as a list of page numbers. */
static void written_pages(const struct mthp_pmd_bits *written, uint64_t addr, char *buf,
			  size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < written->nr; k++) {
		if (written->addr[k] < addr || written->addr[k] >= addr + 4 * PMD)
			continue;
		for (uint32_t i = 0; i < 512; i++)
			if (written->bits[k * written->words + i / 64] >> (i % 64) & 1)
				at += (size_t)snprintf(buf + at, len - at, "%s%lu", at ? " " : "",
						       (unsigned long)((written->addr[k] - addr) / PAGE + i));
	}
}

/* Does pmd (NULL: none) map a folio's page at PTE i? */
static bool maps_folio(const struct mthp_snapshot_pmd *pmd, uint32_t i)
{
	if (!pmd)
		return false;
	return pmd->kind == MTHP_PMD_HUGE ||
	       (pmd->kind == MTHP_PMD_TABLE && mthp_pte_state_has_folio(pmd->ptes[i]));
}

static const struct mthp_snapshot_pmd *pmd_at(const struct mthp_snapshot *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nr_pmds; i++)
		if (s->pmds[i].addr == addr)
			return &s->pmds[i];
	return NULL;
}

/* Written pages of the reader's frame that the frame before mapped too. */
static uint64_t rewritten(const struct mthp_rec_reader *r)
{
	uint64_t n = 0;

	for (size_t k = 0; k < r->written.nr; k++) {
		const struct mthp_snapshot_pmd *a = pmd_at(&r->prev, r->written.addr[k]);
		const struct mthp_snapshot_pmd *b = pmd_at(&r->frame, r->written.addr[k]);

		for (uint32_t i = 0; i < 512; i++)
			n += (r->written.bits[k * r->written.words + i / 64] >> (i % 64) & 1) &&
			     maps_folio(a, i) && maps_folio(b, i);
	}
	return n;
}

/*
 * --track-writes: a frame says which present pages were written since the
 * frame before, from soft-dirty bits, and the replay writes them again.
 * Skipped on a kernel without soft-dirty tracking, unless
 * MTHP_EXPECT_SOFT_DIRTY is set (the make check-kernel guest sets it).
 */
static void test_track_writes(void **state)
{
	static const char *const want[4] = { "", "10 11 12 13 14 15 16 17 18 19",
					     "50 200 201 202 203 204 205 206 207 208 209", "" };
	struct mthp_rec_info info = { .interval_ms = 10, .track_writes = true };
	struct mthp_diag diag = { 0 };
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE };
	struct mthp_replay_report rep;
	struct mthp_pmd_bits written;
	struct mthp_rec_writer w;
	struct mthp_rec_reader r;
	struct stepper s;
	char *buf = NULL, got[512];
	uint64_t rewrites = 0;
	size_t len;
	FILE *f;
	int sd = mthp_live_soft_dirty(&diag);

	(void)state;
	if (sd < 0)
		fail_msg("%s", diag.msg);
	if (!sd) {
		if (getenv("MTHP_EXPECT_SOFT_DIRTY"))
			fail_msg("this kernel has no soft-dirty tracking, and it was expected");
		printf("SKIP: this kernel has no soft-dirty tracking (make check-kernel's "
		       "guest has it and runs this test)\n");
		skip();
	}
	s = stepper_start(write_step);
	info.pid = s.pid;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	mthp_pmd_bits_init(&written, NULL);
	for (int k = 0; k < 4; k++) {
		struct mthp_snapshot snap;

		stepper_step(&s, k);
		if ((k ? mthp_live_snapshot_written(s.pid, &snap, &written, &diag) :
			 mthp_live_snapshot(s.pid, &snap, &diag)) ||
		    mthp_live_clear_soft_dirty(s.pid, &diag))
			fail_msg("%s", diag.msg);
		if (k) {
			written_pages(&written, s.addr, got, sizeof(got));
			assert_string_equal(got, want[k]);
		}
		if (k == 0)
			assert_int_equal(mthp_rec_writer_open(&w, f, &info, &snap), 0);
		assert_int_equal(mthp_rec_writer_frame_written(&w, &snap, 10 * (uint64_t)k,
							       k ? &written : NULL), 0);
		mthp_snapshot_free(&snap);
	}
	assert_int_equal(mthp_rec_writer_close(&w, MTHP_REC_END_FRAMES), 0);
	fclose(f);
	stepper_stop(&s);
	mthp_pmd_bits_free(&written);

	/* read back: the same pages */
	f = fmemopen(buf, len, "r");
	assert_non_null(f);
	assert_int_equal(mthp_rec_reader_open(&r, f, "live.rec", &diag), 0);
	for (int k = 0; k < 4; k++) {
		if (mthp_rec_reader_next(&r, &diag) != 1)
			fail_msg("frame %d: %s", k, diag.msg);
		written_pages(&r.written, s.addr, got, sizeof(got));
		assert_string_equal(got, want[k]);
		rewrites += rewritten(&r);
	}
	mthp_rec_reader_free(&r);
	/*
	 * replayed: the pages written again are writes, the new ones faults;
	 * 11 of them in the region, the rest the child's stack and the like
	 */
	assert_true(rewrites >= 11);
	rewind(f);
	if (mthp_replay(f, "live.rec", &o, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(rep.frames_differing, 0);
	assert_int_equal(rep.rewrites, rewrites);
	mthp_replay_report_free(&rep);
	fclose(f);
	free(buf);
}

static void test_errors(void **state)
{
	char path[64], out[4096], err[1024];
	struct mthp_diag diag = { 0 };
	FILE *f;
	int sd;

	(void)state;
	temp_name(path, sizeof(path));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid",
				  "1073741823", "-o", path, NULL), 1);
	assert_non_null(strstr(err, "mthp record: "));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid", "1",
				  NULL), 2);
	assert_non_null(strstr(err, "-o FILE is required"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", NULL), 2);
	assert_non_null(strstr(err, "--pid or --read is required"));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid", "1",
				  "--frames", "2", "--duration", "2", "-o", path, NULL), 2);
	assert_non_null(strstr(err, "cannot both be given"));
	/* --track-writes records, or says this kernel cannot and records nothing */
	sd = mthp_live_soft_dirty(&diag);
	if (sd < 0)
		fail_msg("%s", diag.msg);
	unlink(path);
	if (sd) {
		struct stepper s = stepper_start(write_step);
		char pidtext[16];

		snprintf(pidtext, sizeof(pidtext), "%d", (int)s.pid);
		stepper_step(&s, 0);
		assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid",
					  pidtext, "--track-writes", "--interval", "20",
					  "--frames", "3", "-o", path, NULL), 0);
		stepper_stop(&s);
		assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--read",
					  path, NULL), 0);
		assert_non_null(strstr(out, "writes tracked\n"));
		assert_non_null(strstr(out, "present written\n"));
		unlink(path);
	} else {
		assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid",
					  "1", "--track-writes", "-o", path, NULL), 1);
		assert_non_null(strstr(err, "--track-writes: this kernel has no soft-dirty "
					    "tracking"));
		assert_int_equal(access(path, F_OK), -1);
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("mthp-snapshot 2\nend\n", f);
	fclose(f);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--read", path,
				  NULL), 1);
	assert_non_null(strstr(err, ": header: not an mthp recording"));
	unlink(path);
}

/*
 * A child whose heap grows without a pause (sbrk, a page at a time) for
 * ms milliseconds once started, then sleeps; it writes one byte to fd
 * when it starts.
 */
static pid_t growing_child(unsigned ms, int fd)
{
	pid_t pid = live_kid_fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec t0, t;
		uint64_t grown = 0;

		if (write(fd, "", 1) != 1)
			_exit(1);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			for (unsigned k = 0; k < 64; k++) {
				if (grown == 1 << 30) {	/* 1 GiB: back to the start */
					sbrk(-(intptr_t)grown);
					grown = 0;
				}
				if (sbrk(4096) == (void *)-1)
					_exit(1);
				grown += 4096;
			}
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000 +
			 (uint64_t)(t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
		for (;;)
			pause();
	}
	return pid;
}

/*
 * Maps that only grew while a frame was read (a heap's brk) leave what
 * was read of the VMAs before consistent: the frame is taken, not
 * skipped.  (A shrinking heap, sbrk(-N) once a GiB, would be skipped.)
 */
static void test_record_takes_growing_maps(void **state)
{
	char path[64], pidtext[16], out[4096], err[4096], c;
	unsigned frames;
	int fds[2];
	pid_t pid;

	(void)state;
	temp_name(path, sizeof(path));
	assert_int_equal(pipe(fds), 0);
	pid = growing_child(2000, fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
	if (live_run(out, sizeof(out), err, sizeof(err), "record", "--pid", pidtext,
		     "--interval", "50", "--frames", "4", "-o", path, NULL))
		fail_msg("mthp record failed: %s", err);
	assert_non_null(strstr(out, "mthp record: 4 frames of pid "));
	assert_int_equal(read_file(path, &frames, NULL), MTHP_REC_END_FRAMES);
	assert_int_equal(frames, 4);
	live_kid_reap(pid);
	unlink(path);
	close(fds[0]);
	close(fds[1]);
	if (strstr(err, "skipped"))
		fail_msg("frames skipped while the heap only grew: %s", err);
}

/*
 * Mappings that changed in every read of a frame (live_capture_changes
 * makes the captures find them changed): the frame is skipped with a
 * warning and the recording goes on; 20 frames skipped in a row end it,
 * with an error.
 */
static void test_record_skips_changing_frames(void **state)
{
	struct stepper s = stepper_start(child_step);
	char path[64], pidtext[16], out[4096], err[8192];
	unsigned frames;

	(void)state;
	temp_name(path, sizeof(path));
	stepper_step(&s, 1);
	snprintf(pidtext, sizeof(pidtext), "%d", (int)s.pid);
	/* frame 0's three reads, then frame 1's: 2 frames skipped */
	live_capture_changes = 2 * 3;
	if (live_run(out, sizeof(out), err, sizeof(err), "record", "--pid", pidtext,
		     "--interval", "10", "--frames", "3", "-o", path, NULL))
		fail_msg("mthp record failed: %s", err);
	assert_int_equal(live_capture_changes, 0);
	assert_non_null(strstr(err, "mthp record: frame at "));
	assert_non_null(strstr(err, " ms skipped: pid "));
	assert_non_null(strstr(err, ": its mappings kept changing while being read (3 tries)\n"));
	assert_non_null(strstr(out, "mthp record: 3 frames of pid "));
	assert_non_null(strstr(out, "; 2 frames skipped (mappings changing)\n"));
	assert_int_equal(read_file(path, &frames, NULL), MTHP_REC_END_FRAMES);
	assert_int_equal(frames, 3);
	unlink(path);

	/* no frame 0 in 20 tries: an error, and no file */
	live_capture_changes = 20 * 3;
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid",
				  pidtext, "--interval", "10", "-o", path, NULL), 1);
	assert_int_equal(live_capture_changes, 0);
	assert_non_null(strstr(err, "kept changing while being read (3 tries), at 20 frames "
				    "in a row\n"));
	assert_null(strstr(err, "writing"));
	assert_int_equal(access(path, F_OK), -1);

	stepper_stop(&s);
}

/*
 * The rule a capture keeps its read by: every VMA read lies inside one of
 * the maps read after, with the same permissions, file and name.
 */
static void test_maps_growth_rule(void **state)
{
	struct live_vma before[] = {
		{ .start = 0x10000, .end = 0x20000, .perms = "rw-p" },
		{ .start = 0x40000, .end = 0x50000, .perms = "rw-p", .name = "[heap]" },
		{ .start = 0x80000, .end = 0x90000, .perms = "r--p", .inode = 7 },
	};
	struct live_vma after[3];
	struct live_maps b = { .vmas = before, .nr = 3 }, a = { .vmas = after, .nr = 3 };

	(void)state;
	memcpy(after, before, sizeof(after));
	assert_true(live_maps_grew_only(&b, &a));
	after[1].end = 0x60000;		/* brk */
	after[0].start = 0x8000;	/* a mapping merged below */
	assert_true(live_maps_grew_only(&b, &a));
	after[0].end = 0x40000;		/* grown up to the heap */
	assert_true(live_maps_grew_only(&b, &a));
	memcpy(after, before, sizeof(after));
	after[1].end = 0x48000;		/* shrunk */
	assert_false(live_maps_grew_only(&b, &a));
	memcpy(after, before, sizeof(after));
	strcpy(after[1].perms, "r--p");	/* mprotect */
	assert_false(live_maps_grew_only(&b, &a));
	memcpy(after, before, sizeof(after));
	after[2].inode = 8;		/* another file */
	assert_false(live_maps_grew_only(&b, &a));
	memcpy(after, before, sizeof(after));
	a.nr = 2;			/* unmapped */
	assert_false(live_maps_grew_only(&b, &a));
	after[1].start = 0x41000;	/* moved up */
	a.nr = 3;
	assert_false(live_maps_grew_only(&b, &a));
	/* two VMAs of the same kind merged by a mapping between them: growth */
	{
		struct live_vma two[2] = { { .start = 0x10000, .end = 0x20000, .perms = "rw-p" },
					   { .start = 0x30000, .end = 0x40000, .perms = "rw-p" } };
		struct live_vma one = { .start = 0x10000, .end = 0x40000, .perms = "rw-p" };
		struct live_maps b2 = { .vmas = two, .nr = 2 }, a1 = { .vmas = &one, .nr = 1 };

		assert_true(live_maps_grew_only(&b2, &a1));
		one.start = 0x18000;	/* but not one cut in the same change */
		assert_false(live_maps_grew_only(&b2, &a1));
	}
	/* new VMAs between and after the old ones are growth too */
	{
		struct live_vma more[5] = { before[0], { .start = 0x30000, .end = 0x31000 },
					    before[1], before[2],
					    { .start = 0xa0000, .end = 0xb0000 } };
		struct live_maps m = { .vmas = more, .nr = 5 };

		assert_true(live_maps_grew_only(&b, &m));
	}
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_equal_what_the_program_did),
		cmocka_unit_test(test_record_mremap),
		cmocka_unit_test(test_frames_kept),
		cmocka_unit_test(test_frames_vma_flags),
		cmocka_unit_test(test_record_frames_and_read),
		cmocka_unit_test(test_record_until_exit),
		cmocka_unit_test(test_record_until_signal),
		cmocka_unit_test(test_record_skips_changing_frames),
		cmocka_unit_test(test_record_takes_growing_maps),
		cmocka_unit_test(test_maps_growth_rule),
		cmocka_unit_test(test_track_writes),
		cmocka_unit_test(test_errors),
	};

	return live_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
			      live_test_requirements(false));
}
