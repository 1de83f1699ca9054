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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/live.h>
#include <mthp/record.h>
#include <mthp/replay.h>
#include <mthp/snapshot.h>

#include "helpers/live_child.h"
#include "helpers/live_skip.h"
#include "helpers/rec_child.h"

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
		usleep(150 * 1000);
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
	/* the child exits 150 ms from now, while it is recorded */
	k = 7;
	assert_int_equal(write(s.cmd, &k, sizeof(k)), sizeof(k));
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid", pidtext,
				  "--interval", "20", "--duration", "30", "-o", path, NULL), 0);
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
	/* --track-writes says what this kernel can do, and records nothing */
	sd = mthp_live_soft_dirty(&diag);
	if (sd < 0)
		fail_msg("%s", diag.msg);
	unlink(path);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--pid", "1",
				  "--track-writes", "-o", path, NULL), 1);
	assert_non_null(strstr(err, sd ? "--track-writes: this kernel tracks soft-dirty bits, "
					 "but mthp record does not record them yet" :
				    "--track-writes: this kernel has no soft-dirty tracking"));
	assert_int_equal(access(path, F_OK), -1);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("mthp-snapshot 2\nend\n", f);
	fclose(f);
	assert_int_equal(live_run(out, sizeof(out), err, sizeof(err), "record", "--read", path,
				  NULL), 1);
	assert_non_null(strstr(err, ": header: not an mthp recording"));
	unlink(path);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_equal_what_the_program_did),
		cmocka_unit_test(test_record_frames_and_read),
		cmocka_unit_test(test_record_until_exit),
		cmocka_unit_test(test_record_until_signal),
		cmocka_unit_test(test_errors),
	};

	return live_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
			      live_test_requirements(false));
}
