// SPDX-License-Identifier: MIT
/*
 * test_record.c - the recording format: frames written as differences read
 * back whole and equal to what was written (ranges added, changed, dropped,
 * VMAs gone, huge PMDs); a file cut at every length and a file with any
 * one byte changed give an error naming the file and the frame, never a
 * crash, and keep the frames before the damage; other versions and a
 * frame of another page size are refused saying so.  Replays: with no
 * collapse every frame's mapped pages are the recording's; under a policy
 * the only difference is what collapses filled.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <mthp/record.h>
#include <mthp/replay.h>
#include <mthp/snapshot.h>

#include "helpers/cli_run.h"
#include "helpers/fuzz_targets.h"
#include "helpers/scratch.h"
#include "helpers/snap_build.h"
#include "helpers/test_main.h"

#define NR_FRAMES 6

/*
 * Frame i of a process of 8 PMD ranges: ranges appear, fill, turn huge,
 * vanish; from frame 4 on its last 2 ranges are unmapped (a smaller VMA).
 */
static void make_frame(struct mthp_snapshot *s, unsigned i)
{
	struct snap_table t;
	size_t nr = i >= 4 ? 6 : 8;

	snap_build_new(s, 4096, nr, MTHP_VMA_ANON);
	assert_int_equal(mthp_snapshot_add_setting(s, "khugepaged/max_ptes_none", "64"), 0);
	for (size_t r = 0; r < nr; r++) {
		if (r == 1 && i >= 2)
			continue;			/* dropped from frame 2 */
		if (r > i + 1)
			continue;			/* not yet populated */
		if (r == 3 && i >= 3) {
			snap_build_add(s, r, MTHP_PMD_HUGE, NULL);
			continue;
		}
		snap_table_init(&t, 512);
		snap_table_put(&t, 0, 16 * (unsigned)(i + 1), 'A', r == 0 ? 4 : 0);
		if (r == 2)
			snap_table_put(&t, 100, 3, 'w', 0);	/* unchanged from its start */
		snap_build_add(s, r, MTHP_PMD_TABLE, &t);
	}
}

/* A recording of NR_FRAMES frames in memory; *len its size. */
static char *make_recording(size_t *len, bool with_end)
{
	struct mthp_rec_info info = { .pid = 42, .comm = "prog", .interval_ms = 100 };
	struct mthp_rec_writer w;
	struct mthp_snapshot s;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	make_frame(&s, 0);
	assert_int_equal(mthp_rec_writer_open(&w, f, &info, &s), 0);
	mthp_snapshot_free(&s);
	for (unsigned i = 0; i < NR_FRAMES; i++) {
		make_frame(&s, i);
		assert_int_equal(mthp_rec_writer_frame(&w, &s, 100 * i), 0);
		mthp_snapshot_free(&s);
	}
	if (with_end)
		assert_int_equal(mthp_rec_writer_close(&w, MTHP_REC_END_EXITED), 0);
	else
		mthp_rec_writer_free(&w);
	fclose(f);
	return buf;
}

/* Read everything: frames read before the error or the end; the result. */
static int read_all(const char *buf, size_t len, unsigned *frames, char *msg,
		    size_t msglen, bool check_frames)
{
	struct mthp_diag diag = { 0 };
	struct mthp_rec_reader r;
	FILE *f = fmemopen((void *)buf, len, "r");
	int ret;

	assert_non_null(f);
	*frames = 0;
	ret = mthp_rec_reader_open(&r, f, "t.rec", &diag);
	if (ret == 0) {
		while ((ret = mthp_rec_reader_next(&r, &diag)) == 1) {
			if (check_frames) {
				struct mthp_snapshot want;
				char *a, *b;

				make_frame(&want, *frames);
				a = snap_build_text(&want);
				b = snap_build_text(&r.frame);
				assert_string_equal(b, a);
				free(a);
				free(b);
				mthp_snapshot_free(&want);
			}
			(*frames)++;
		}
		if (ret == 0)
			assert_int_equal(r.end, MTHP_REC_END_EXITED);
		mthp_rec_reader_free(&r);
	}
	fclose(f);
	snprintf(msg, msglen, "%s", diag.msg);
	return ret;
}

/*
 * Read a whole recording (with its end block or without): every frame is
 * read, and read_all() returns ret with the message want (any when NULL).
 */
static void read_whole(bool end, int ret, const char *want)
{
	size_t len;
	char *buf = make_recording(&len, end);
	unsigned frames;
	char msg[512];

	assert_int_equal(read_all(buf, len, &frames, msg, sizeof(msg), true), ret);
	assert_int_equal(frames, NR_FRAMES);
	if (want)
		assert_string_equal(msg, want);
	free(buf);
}

static void test_round_trip(void **state)
{
	(void)state;
	read_whole(true, 0, NULL);
}

/* Frames after the first hold only what changed. */
static void test_differences(void **state)
{
	struct mthp_diag diag = { 0 };
	struct mthp_rec_reader r;
	size_t len;
	char *buf = make_recording(&len, true);
	FILE *f = fmemopen(buf, len, "r");
	/* changed ranges and dropped ranges per frame (see make_frame) */
	static const size_t changed[NR_FRAMES] = { 2, 3, 3, 4, 5, 4 };
	static const size_t dropped[NR_FRAMES] = { 0, 0, 1, 0, 0, 0 };

	(void)state;
	assert_int_equal(mthp_rec_reader_open(&r, f, "t.rec", &diag), 0);
	assert_int_equal(r.info.pid, 42);
	assert_string_equal(r.info.comm, "prog");
	assert_int_equal(r.info.interval_ms, 100);
	assert_false(r.info.track_writes);
	for (unsigned i = 0; i < NR_FRAMES; i++) {
		assert_int_equal(mthp_rec_reader_next(&r, &diag), 1);
		assert_int_equal(r.time_ms, 100 * i);
		assert_int_equal(r.changed_pmds, changed[i]);
		assert_int_equal(r.dropped_pmds, dropped[i]);
	}
	assert_int_equal(mthp_rec_reader_next(&r, &diag), 0);
	assert_true(r.ended);
	mthp_rec_reader_free(&r);
	fclose(f);
	free(buf);
}

/* Which frame the damage at byte off lies in: the header is -1. */
static int frame_at(const char *buf, size_t len, size_t off)
{
	size_t at = 8;
	int block = -1;

	while (at < len) {
		uint32_t clen = (uint8_t)buf[at + 8] | (uint8_t)buf[at + 9] << 8 |
				(uint32_t)(uint8_t)buf[at + 10] << 16 |
				(uint32_t)(uint8_t)buf[at + 11] << 24;

		if (off < at + 16 + clen)
			return block;
		at += 16 + clen;
		block++;
	}
	return block;
}

static void test_cut_short(void **state)
{
	size_t len;
	char *buf = make_recording(&len, true);
	char msg[512], want[64];
	unsigned frames;

	(void)state;
	for (size_t cut = 0; cut < len; cut++) {
		int block = frame_at(buf, len, cut);

		assert_int_equal(read_all(buf, cut, &frames, msg, sizeof(msg), true), -EINVAL);
		assert_true(!strncmp(msg, "t.rec: ", 7));
		if (cut < 8 || block < 0) {
			assert_non_null(strstr(msg, "header"));
			continue;
		}
		if (block == NR_FRAMES)
			snprintf(want, sizeof(want), "end block");
		else
			snprintf(want, sizeof(want), "frame %d: cut short", block);
		if (block == NR_FRAMES && cut == len - 1)
			snprintf(want, sizeof(want), "cut short");
		if (!strstr(msg, want) && !strstr(msg, "cut short"))
			fail_msg("cut at %zu: '%s' lacks '%s'", cut, msg, want);
		assert_int_equal(frames, (unsigned)block);
	}
	free(buf);
}

/* Without its end block (the recorder was killed): every frame, then an error. */
static void test_no_end(void **state)
{
	(void)state;
	read_whole(false, -EINVAL,
		   "t.rec: frame 6: cut short: the file ends after 6 frames without its end block");
}

/* Bytes after the end block, even a whole second one, are damage. */
static void test_bytes_after_end(void **state)
{
	size_t len;
	char *buf = make_recording(&len, true), *more = malloc(2 * len);
	unsigned frames;
	char msg[512];
	size_t end;

	(void)state;
	assert_non_null(more);
	memcpy(more, buf, len);
	more[len] = '\n';
	assert_int_equal(read_all(more, len + 1, &frames, msg, sizeof(msg), true), -EINVAL);
	assert_int_equal(frames, NR_FRAMES);
	assert_string_equal(msg, "t.rec: end block after 6 frames: bytes follow the end block");
	/* the file twice: the second header after the first end */
	memcpy(more + len, buf, len);
	assert_int_equal(read_all(more, 2 * len, &frames, msg, sizeof(msg), true), -EINVAL);
	assert_string_equal(msg, "t.rec: end block after 6 frames: bytes follow the end block");
	/* the end block twice: its tag is the last "END." of the file */
	for (end = len - 4; end > 0 && memcmp(buf + end, "END.", 4); end--)
		;
	assert_true(end > 0);
	memcpy(more + len, buf + end, len - end);
	assert_int_equal(read_all(more, len + (len - end), &frames, msg, sizeof(msg), true),
			 -EINVAL);
	assert_string_equal(msg, "t.rec: end block after 6 frames: bytes follow the end block");
	free(more);
	free(buf);
}

static void test_corrupt_byte(void **state)
{
	size_t len;
	char *buf = make_recording(&len, true);
	char msg[512];
	unsigned frames;

	(void)state;
	for (size_t off = 0; off < len; off++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			int block = frame_at(buf, len, off);
			int ret;

			buf[off] ^= (char)(1u << bit);
			ret = read_all(buf, len, &frames, msg, sizeof(msg), false);
			buf[off] ^= (char)(1u << bit);
			if (ret != -EINVAL)
				fail_msg("byte %zu bit %u changed: read %d frames without an error",
					 off, bit, frames);
			assert_true(!strncmp(msg, "t.rec: ", 7));
			/* the frames before the damaged block read */
			if (block >= 0 && block < NR_FRAMES)
				assert_int_equal(frames, (unsigned)block);
		}
	}
	free(buf);
}

/* A file of the blocks' texts; *len its size. */
static char *file_of(const char *const *texts, size_t n, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	fwrite("MTHPREC\n", 1, 8, f);
	for (size_t i = 0; i < n; i++)
		fuzz_rec_block(f, !strncmp(texts[i], "mthp-recording", 14) ? "HEAD" : !strncmp(texts[i], "end ", 4) ? "END." : "FRAM",
			       (const uint8_t *)texts[i], strlen(texts[i]));
	fclose(f);
	return buf;
}

#define HEAD "mthp-recording 1\npid 7\ncomm x\ninterval_ms 10\ntrack_writes no\n" \
	"mthp-snapshot 2\npage_size 4096\nptes_per_pmd 512\nend\n"
#define FRAME0 "frame 0 0\nmthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\n" \
	"pmd 7f0000000000 huge\nend\n"

#define HEADW "mthp-recording 1\npid 7\ncomm x\ninterval_ms 10\ntrack_writes yes\n" \
	"mthp-snapshot 2\npage_size 4096\nptes_per_pmd 512\nend\n"
/* 127 zero digits, and the 128 digits of page 0 written */
#define BITS0 "0000000000000000000000000000000000000000000000000000000000000000" \
	"000000000000000000000000000000000000000000000000000000000000000"
#define BITS1 "1" BITS0

/* The error of reading the texts as a recording. */
static void expect_error(const char *const *texts, size_t n, const char *want)
{
	size_t len;
	char *buf = file_of(texts, n, &len);
	char msg[512];
	unsigned frames;

	assert_int_equal(read_all(buf, len, &frames, msg, sizeof(msg), false), -EINVAL);
	if (!strstr(msg, want))
		fail_msg("'%s' lacks '%s'", msg, want);
	free(buf);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error((const char *[]){ "mthp-recording 3\npid 7\n" }, 1,
		     "t.rec: header line 1: format version 3 is not one this mthp reads (1 or 2)");
	expect_error((const char *[]){ "mthp-recording 2\npid 7\ncomm x\ninterval_ms 10\n"
				       "track_writes no\nmemory 4G\n" }, 1,
		     "t.rec: header line 6: bad memory size '4G' (bytes)");
	expect_error((const char *[]){ "mthp-recording 2\npid 7\ncomm x\ninterval_ms 10\n"
				       "track_writes no\nmemory 4096\nmthp-snapshot 2\n" }, 1,
		     "t.rec: header line 7: expected 'swap VALUE'");
	/* a version 1 header has no machine lines */
	expect_error((const char *[]){ "mthp-recording 1\npid 7\ncomm x\ninterval_ms 10\n"
				       "track_writes no\nmemory 4096\nswap 0\n" }, 1,
		     "t.rec header:1:");
	expect_error((const char *[]){ "mthp-recording 1\npid x\n" }, 1,
		     "t.rec: header line 2: bad pid 'x'");
	expect_error((const char *[]){ "mthp-recording 1\npid 7\ncomm x\ninterval_ms 10\n"
				       "track_writes no\nmthp-snapshot 2\npage_size 8192\nend\n" }, 1,
		     "t.rec header:2:");
	expect_error((const char *[]){ HEAD, "frame 0 0\nmthp-snapshot 2\npage_size 16384\n"
				       "ptes_per_pmd 2048\nend\n" }, 2,
		     "t.rec: frame 0: page size 16384 differs from the header's 4096");
	expect_error((const char *[]){ HEAD, "frame 1 0\n" }, 2,
		     "t.rec: frame 0: says it is frame '1'");
	expect_error((const char *[]){ HEAD, FRAME0, "frame 1 0\ndrop 7f0000200000\n"
				       "mthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\nend\n" }, 3,
		     "t.rec: frame 1: drop 7f0000200000 names no PMD range of the frame before");
	expect_error((const char *[]){ HEAD, FRAME0, "frame 1 0\n"
				       "mthp-snapshot 2\nvma 7f0000200000 7f0000400000 anon\nend\n" }, 3,
		     "t.rec: frame 1: the VMA of PMD range 7f0000000000 is gone but the range is not dropped");
	expect_error((const char *[]){ HEAD, FRAME0, "frame 1 0\nmthp-snapshot 2\nvma 1 0 anon\nend\n" }, 3,
		     "t.rec: frame 1:2: vma start 1 is not below its end 0");
	expect_error((const char *[]){ HEAD, FRAME0, "frame 1 31622400001\n"
				       "mthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\nend\n" }, 3,
		     "t.rec: frame 1: time 31622400001 ms is past the latest a recording may "
		     "have, 31622400000 ms (366 days)");
	expect_error((const char *[]){ HEAD, FRAME0, "end frames 2\n" }, 3,
		     "t.rec: end block after 1 frames: says 2 frames, the file holds 1");
	expect_error((const char *[]){ HEAD, HEAD }, 2, "t.rec: frame 0: a second header block");
	expect_error((const char *[]){ HEAD, FRAME0, "frame 1 0\nwritten 7f0000000000 " BITS1
				       "\nmthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\nend\n" },
		     3, "t.rec: frame 1: a written line in a recording that does not track writes");
	expect_error((const char *[]){ HEADW, "frame 0 0\nwritten 7f0000000000 " BITS1 "\n"
				       "mthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\n"
				       "pmd 7f0000000000 huge\nend\n" }, 2,
		     "t.rec: frame 0: written lines in the first frame, which has no frame before it");
	expect_error((const char *[]){ HEADW, FRAME0, "frame 1 0\nwritten 7f0000000000 1\n"
				       "mthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\nend\n" },
		     3, "t.rec: frame 1: written 7f0000000000: 1 hex digits, not 128 (one a 4 pages)");
	expect_error((const char *[]){ HEADW, FRAME0, "frame 1 0\nwritten 7f0000000000 g"
				       BITS0 "\nmthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\nend\n" },
		     3, "t.rec: frame 1: written 7f0000000000: bad digit 'g' at 1");
	expect_error((const char *[]){ HEADW, FRAME0, "frame 1 0\nwritten 7f0000000001 " BITS1
				       "\nmthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\nend\n" },
		     3, "t.rec: frame 1: bad written address '7f0000000001'");
	expect_error((const char *[]){ HEADW, FRAME0, "frame 1 0\nwritten 7f0000200000 " BITS1
				       "\nwritten 7f0000000000 " BITS1 "\n"
				       "mthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\nend\n" },
		     3, "t.rec: frame 1: written 7f0000000000 is not in increasing order");
	expect_error((const char *[]){ HEADW, FRAME0, "frame 1 0\nwritten 7f0000200000 " BITS1
				       "\nmthp-snapshot 2\nvma 7f0000000000 7f0000400000 anon\nend\n" },
		     3, "t.rec: frame 1: written 7f0000200000 marks a page the frame does not map");
}

/* A VMA moved (mremap): its ranges go with it, the old ones are dropped. */
static void test_moved_vma(void **state)
{
	static const char *const texts[] = {
		HEAD, FRAME0,
		("frame 1 5\ndrop 7f0000000000\nmthp-snapshot 2\n"
		 "vma 7f1000000000 7f1000400000 anon\npmd 7f1000200000 huge\nend\n"),
		"end signal 2\n",
	};
	struct mthp_diag diag = { 0 };
	struct mthp_rec_reader r;
	size_t len;
	char *buf = file_of(texts, 4, &len);
	FILE *f = fmemopen(buf, len, "r");

	(void)state;
	assert_int_equal(mthp_rec_reader_open(&r, f, "t.rec", &diag), 0);
	assert_int_equal(mthp_rec_reader_next(&r, &diag), 1);
	assert_int_equal(r.frame.nr_pmds, 1);
	assert_int_equal(mthp_rec_reader_next(&r, &diag), 1);
	assert_int_equal(r.time_ms, 5);
	assert_int_equal(r.frame.nr_vmas, 1);
	assert_int_equal(r.frame.nr_pmds, 1);
	assert_int_equal(r.frame.pmds[0].addr, 0x7f1000200000);
	assert_int_equal(mthp_rec_reader_next(&r, &diag), 0);
	assert_int_equal(r.end, MTHP_REC_END_SIGNAL);
	mthp_rec_reader_free(&r);
	fclose(f);
	free(buf);
}

/* A recording with header info of frames snapshots frame_fn makes, one a second. */
static char *recording_with(const struct mthp_rec_info *info, unsigned frames,
			    void (*frame_fn)(struct mthp_snapshot *s, unsigned i),
			    enum mthp_rec_end end, size_t *len)
{
	struct mthp_rec_writer w;
	struct mthp_snapshot s;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	for (unsigned i = 0; i < frames; i++) {
		frame_fn(&s, i);
		if (i == 0)
			assert_int_equal(mthp_rec_writer_open(&w, f, info, &s), 0);
		assert_int_equal(mthp_rec_writer_frame(&w, &s, 1000 * i), 0);
		mthp_snapshot_free(&s);
	}
	assert_int_equal(mthp_rec_writer_close(&w, end), 0);
	fclose(f);
	return buf;
}

/* The same, by a host that did not say its memory, ended by end. */
static char *recording_of(const char *comm, unsigned frames,
			  void (*frame_fn)(struct mthp_snapshot *s, unsigned i),
			  enum mthp_rec_end end, size_t *len)
{
	struct mthp_rec_info info = { .pid = 9, .interval_ms = 1000 };

	snprintf(info.comm, sizeof(info.comm), "%s", comm);
	return recording_with(&info, frames, frame_fn, end, len);
}

/* 300 pages written in a MADV_HUGEPAGE range, THP always, khugepaged every 100 ms. */
static void hold_still_frame(struct mthp_snapshot *s, unsigned i)
{
	struct snap_table t;

	(void)i;
	snap_build_new(s, 4096, 2, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	assert_int_equal(mthp_snapshot_add_setting(s, "enabled", "always"), 0);
	assert_int_equal(mthp_snapshot_add_setting(s, "khugepaged/scan_sleep_millisecs", "100"),
			 0);
	snap_table_init(&t, 512);
	snap_table_put(&t, 0, 300, 'A', 0);
	snap_build_add(s, 0, MTHP_PMD_TABLE, &t);
}

/*
 * A program that writes 300 pages of a MADV_HUGEPAGE range and then holds
 * still for 10 s, recorded every second, with THP always and
 * khugepaged waking every 100 ms.
 */
static char *hold_still_recording(size_t *len)
{
	return recording_of("hold", 11, hold_still_frame, MTHP_REC_END_DURATION, len);
}

/*
 * Frame 0: four 64K folios, the first two mapped in part (the program
 * unmapped their second page and their last eight), the fourth with a
 * zero-page PTE where its ninth page was (unmapped, then read); frame 1
 * the same.
 */
static void partial_frame(struct mthp_snapshot *s, unsigned i)
{
	struct snap_table t;

	(void)i;
	snap_build_new(s, 4096, 1, MTHP_VMA_ANON);
	assert_int_equal(mthp_snapshot_add_setting(s, "hugepages-64kB/enabled", "always"), 0);
	snap_table_init(&t, 512);
	snap_table_put(&t, 0, 1, 'A', 4);
	snap_table_put(&t, 2, 14, 'A', 4);
	snap_table_put(&t, 16, 8, 'A', 4);
	snap_table_put(&t, 32, 32, 'A', 4);
	snap_table_put(&t, 56, 1, '0', 0);
	snap_build_add(s, 0, MTHP_PMD_TABLE, &t);
}

/*
 * A recording whose first frame holds partially mapped folios replays
 * every frame as recorded, those folios mapped in part as they were.
 */
static void test_replay_partial_folios(void **state)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_replay_report rep;
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE };
	size_t len;
	char *buf = recording_of("partial", 2, partial_frame, MTHP_REC_END_EXITED, &len);
	FILE *f = fmemopen(buf, len, "r");
	const struct mthp_snapshot_pmd *pmd;

	(void)state;
	if (mthp_replay(f, "partial.rec", &o, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(rep.frames, 2);
	assert_int_equal(rep.frames_differing, 0);
	assert_int_equal(rep.last.recorded, 1 + 14 + 8 + 32);
	assert_int_equal(rep.last.simulated, 1 + 14 + 8 + 32);
	assert_int_equal(rep.run.final.nr_pmds, 1);
	pmd = &rep.run.final.pmds[0];
	assert_int_equal(pmd->ptes[56], MTHP_PTE_ZERO);
	for (uint32_t k = 0; k < 64; k++) {
		bool mapped = k != 1 && (k < 24 || k >= 32);

		assert_int_equal(pmd->ptes[k] != MTHP_PTE_NONE, mapped);
		if (mapped && k != 56 && pmd->folio_orders[k] != 4)
			fail_msg("PTE %u: a folio of order %u, not 4", k, pmd->folio_orders[k]);
	}
	mthp_replay_report_free(&rep);
	fclose(f);
	free(buf);
}

/* PMD ranges a snapshot maps with a huge PMD. */
static unsigned huge_ranges(const struct mthp_snapshot *snap)
{
	unsigned n = 0;

	for (size_t i = 0; i < snap->nr_pmds; i++)
		n += snap->pmds[i].kind == MTHP_PMD_HUGE;
	return n;
}

static void test_replay(void **state)
{
	struct mthp_diag diag = { 0 };
	struct mthp_replay_report rep;
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE };
	size_t len;
	char *buf = hold_still_recording(&len);
	FILE *f = fmemopen(buf, len, "r");

	(void)state;
	/* with no collapse: every frame as recorded */
	if (mthp_replay(f, "hold.rec", &o, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(rep.frames, 11);
	assert_int_equal(rep.frames_differing, 0);
	assert_int_equal(rep.last.recorded, 300);
	assert_int_equal(rep.last.simulated, 300);
	assert_int_equal(rep.collapses, 0);
	/* the run report: the process as the last frame left it, nothing collapsed */
	assert_int_equal(rep.run.resident_pages, 300);
	assert_int_equal(rep.run.collapses_by_order[9], 0);
	assert_int_equal(huge_ranges(&rep.run.final), 0);
	mthp_replay_report_free(&rep);
	/* under upstream: khugepaged collapses the range, filling 212 pages */
	o.policy = MTHP_POLICY_UPSTREAM;
	rewind(f);
	if (mthp_replay(f, "hold.rec", &o, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(rep.frames, 11);
	assert_true(rep.collapses >= 1);
	assert_true(rep.wakeups >= 100);
	assert_int_equal(rep.last.missing, 0);
	assert_int_equal(rep.last.extra, 512 - 300);
	assert_int_equal(rep.max_extra, 512 - 300);
	/* and as a scenario run reports it: one 2M collapse of 212 fills */
	assert_int_equal(rep.run.collapses_by_order[9], 1);
	assert_int_equal(rep.run.pages_filled, 512 - 300);
	assert_int_equal(rep.run.pages_copied, 300);
	assert_int_equal(rep.run.resident_pages, 512);
	assert_int_equal(rep.run.wakeups, rep.wakeups);
	assert_int_equal(huge_ranges(&rep.run.final), 1);
	{
		uint64_t v = 0;

		assert_int_equal(mthp_run_stat(&rep.run, "vmstat", "thp_collapse_alloc", &v), 0);
		assert_int_equal(v, 1);
		assert_int_equal(mthp_run_stat(&rep.run, "khugepaged", "pages_collapsed", &v), 0);
		assert_int_equal(v, 1);
	}
	mthp_replay_report_free(&rep);
	fclose(f);
	free(buf);
}

/*
 * Three frames: range 0 is 300 pages, then a THP (the host's khugepaged
 * filled 212); range 1 is empty, then a THP (a fault at PMD order); and
 * in range 2 a 64K window of 10 pages becomes one 64K folio (6 filled)
 * while a 64K folio appears whole in the next window (a fault).
 */
static void host_collapse_frame(struct mthp_snapshot *s, unsigned i)
{
	struct snap_table t;

	snap_build_new(s, 4096, 3, MTHP_VMA_ANON);
	assert_int_equal(mthp_snapshot_add_setting(s, "enabled", "never"), 0);
	snap_table_init(&t, 512);
	snap_table_put(&t, 0, 300, 'A', 0);
	snap_build_add(s, 0, i ? MTHP_PMD_HUGE : MTHP_PMD_TABLE, i ? NULL : &t);
	if (i)
		snap_build_add(s, 1, MTHP_PMD_HUGE, NULL);
	snap_table_init(&t, 512);
	snap_table_put(&t, 0, i ? 16 : 10, 'A', i ? 4 : 0);
	if (i)
		snap_table_put(&t, 16, 16, 'A', 4);
	snap_build_add(s, 2, MTHP_PMD_TABLE, &t);
}

/* The host's collapses are told from the program's faults: their fills are not replayed. */
static void test_replay_host_collapses(void **state)
{
	struct mthp_diag diag = { 0 };
	struct mthp_replay_report rep;
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE };
	size_t len;
	char *buf = recording_of("host", 3, host_collapse_frame, MTHP_REC_END_DURATION, &len);
	FILE *f = fmemopen(buf, len, "r");

	(void)state;
	if (mthp_replay(f, "host.rec", &o, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(rep.frames, 3);
	assert_int_equal(rep.host_fills, 212 + 6);	/* once: frame 2 is frame 1 again */
	/* recorded: 512 + 512 + 32; the simulator: 300 + 512 (the fault) + 10 + 16 */
	assert_int_equal(rep.last.recorded, 512 + 512 + 32);
	assert_int_equal(rep.last.simulated, 300 + 512 + 10 + 16);
	assert_int_equal(rep.last.missing, 212 + 6);
	assert_int_equal(rep.last.extra, 0);
	mthp_replay_report_free(&rep);
	fclose(f);
	free(buf);
}

/*
 * 300 pages written at frame 0 and then only written again (frames 1 to 3,
 * one a second, writes tracked; rewrite: the program rewrites pages 0 to
 * 299 before each of them), with khugepaged waking every 1.5 s: the first
 * wake-up after the faults (1.5 s) comes after frame 1 aged the pages.
 */
static char *rewrite_recording(bool rewrite, size_t *len)
{
	struct mthp_rec_info info = { .pid = 9, .comm = "rw", .interval_ms = 1000,
				      .track_writes = true };
	struct mthp_rec_writer w;
	struct mthp_snapshot s;
	struct mthp_pmd_bits written;
	uint64_t bits[8] = { 0 };
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	for (unsigned i = 0; i < 300; i++)
		bits[i / 64] |= 1ull << (i % 64);
	for (unsigned i = 0; i < 4; i++) {
		struct snap_table t;

		snap_build_new(&s, 4096, 1, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
		assert_int_equal(mthp_snapshot_add_setting(&s, "enabled", "always"), 0);
		assert_int_equal(mthp_snapshot_add_setting(&s, "khugepaged/scan_sleep_millisecs",
							   "1500"), 0);
		snap_table_init(&t, 512);
		snap_table_put(&t, 0, 300, 'A', 0);
		snap_build_add(&s, 0, MTHP_PMD_TABLE, &t);
		mthp_pmd_bits_init(&written, &s.geo);
		if (i && rewrite)
			assert_int_equal(mthp_pmd_bits_or(&written, s.pmds[0].addr, bits), 0);
		if (i == 0)
			assert_int_equal(mthp_rec_writer_open(&w, f, &info, &s), 0);
		assert_int_equal(mthp_rec_writer_frame_written(&w, &s, 1000 * i,
							       i ? &written : NULL), 0);
		mthp_pmd_bits_free(&written);
		mthp_snapshot_free(&s);
	}
	assert_int_equal(mthp_rec_writer_close(&w, MTHP_REC_END_FRAMES), 0);
	fclose(f);
	return buf;
}

/* The tracked writes: read back as written, replayed as writes that keep pages young. */
static void test_tracked_writes(void **state)
{
	struct mthp_diag diag = { 0 };
	struct mthp_replay_report rep;
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE };
	struct mthp_rec_reader r;
	size_t len;
	char *buf = rewrite_recording(true, &len);
	FILE *f = fmemopen(buf, len, "r");
	uint64_t want[4] = { 0, 300, 300, 300 };

	(void)state;
	assert_int_equal(mthp_rec_reader_open(&r, f, "rw.rec", &diag), 0);
	assert_true(r.info.track_writes);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(mthp_rec_reader_next(&r, &diag), 1);
		assert_int_equal(mthp_pmd_bits_count(&r.written), want[i]);
		if (want[i]) {
			const uint64_t *b = mthp_pmd_bits_find(&r.written, r.frame.pmds[0].addr);

			assert_non_null(b);
			assert_int_equal(b[4], (1ull << (300 - 256)) - 1);
			assert_int_equal(b[5], 0);
		}
	}
	assert_int_equal(mthp_rec_reader_next(&r, &diag), 0);
	mthp_rec_reader_free(&r);
	/* no collapse: the frames as recorded, and 3 x 300 writes replayed */
	rewind(f);
	if (mthp_replay(f, "rw.rec", &o, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(rep.frames_differing, 0);
	assert_int_equal(rep.rewrites, 900);
	mthp_replay_report_free(&rep);
	/* upstream: the rewritten pages are young when khugepaged comes: a collapse */
	o.policy = MTHP_POLICY_UPSTREAM;
	rewind(f);
	if (mthp_replay(f, "rw.rec", &o, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(rep.run.collapses_by_order[9], 1);
	mthp_replay_report_free(&rep);
	fclose(f);
	free(buf);
	/* the same pages never written again are old by then: no collapse */
	buf = rewrite_recording(false, &len);
	f = fmemopen(buf, len, "r");
	if (mthp_replay(f, "rw.rec", &o, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(rep.rewrites, 0);
	assert_int_equal(rep.run.collapses_by_order[9], 0);
	mthp_replay_report_free(&rep);
	fclose(f);
	free(buf);
}

/* A writer refuses written bits it cannot store or that name unmapped pages. */
static void test_written_refused(void **state)
{
	struct mthp_rec_info info = { .pid = 9, .comm = "rw", .interval_ms = 1000 };
	struct mthp_rec_writer w;
	struct mthp_snapshot s;
	struct mthp_pmd_bits written;
	struct snap_table t;
	uint64_t bits[8] = { 0 };
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	snap_build_new(&s, 4096, 2, MTHP_VMA_ANON);
	snap_table_init(&t, 512);
	snap_table_put(&t, 0, 10, 'A', 0);
	snap_table_put(&t, 10, 1, 'w', 0);
	snap_build_add(&s, 0, MTHP_PMD_TABLE, &t);
	mthp_pmd_bits_init(&written, &s.geo);
	bits[0] = 1;
	assert_int_equal(mthp_pmd_bits_or(&written, s.pmds[0].addr, bits), 0);
	/* a recording that does not track writes */
	assert_int_equal(mthp_rec_writer_open(&w, f, &info, &s), 0);
	assert_int_equal(mthp_rec_writer_frame_written(&w, &s, 0, &written), -EINVAL);
	mthp_rec_writer_free(&w);
	info.track_writes = true;
	assert_int_equal(mthp_rec_writer_open(&w, f, &info, &s), 0);
	/* the first frame has no frame before it, so nothing written since */
	assert_int_equal(mthp_rec_writer_frame_written(&w, &s, 0, &written), -EINVAL);
	assert_int_equal(mthp_rec_writer_frame_written(&w, &s, 0, NULL), 0);
	assert_int_equal(mthp_rec_writer_frame_written(&w, &s, 0, &written), 0);
	/* a swapped-out page, and a range the frame does not have */
	mthp_pmd_bits_clear(&written);
	bits[0] = 1ull << 10;
	assert_int_equal(mthp_pmd_bits_or(&written, s.pmds[0].addr, bits), 0);
	assert_int_equal(mthp_rec_writer_frame_written(&w, &s, 0, &written), -EINVAL);
	mthp_pmd_bits_clear(&written);
	bits[0] = 1;
	assert_int_equal(mthp_pmd_bits_or(&written, s.pmds[0].addr + (2u << 20), bits), 0);
	assert_int_equal(mthp_rec_writer_frame_written(&w, &s, 0, &written), -EINVAL);
	/* bits out of order are refused when made */
	assert_int_equal(mthp_pmd_bits_or(&written, s.pmds[0].addr, bits), -EINVAL);
	mthp_rec_writer_free(&w);
	mthp_pmd_bits_free(&written);
	mthp_snapshot_free(&s);
	fclose(f);
	free(buf);
}

/* A header block whose lengths say raw and comp, then nothing: the reader's error. */
static void read_lying_lengths(uint32_t raw, uint32_t comp, const char *said)
{
	uint8_t file[8 + 16 + 8] = "MTHPREC\nHEAD";
	struct mthp_diag diag = { 0 };
	struct mthp_rec_reader r;
	FILE *f;

	for (unsigned k = 0; k < 4; k++) {
		file[12 + k] = (uint8_t)(raw >> (8 * k));
		file[16 + k] = (uint8_t)(comp >> (8 * k));
	}
	f = fmemopen(file, sizeof(file), "r");
	assert_non_null(f);
	assert_int_equal(mthp_rec_reader_open(&r, f, "t.rec", &diag), -EINVAL);
	if (!strstr(diag.msg, said))
		fail_msg("lengths %u and %u: %s", raw, comp, diag.msg);
	fclose(f);
}

/*
 * A block's lengths are checked before they cost memory: a compressed
 * length zlib could not make is refused, and one the file cannot hold
 * meets the end of the file while it is read in pieces (not allocated
 * whole first: the fuzzer found a 3.3 GB allocation).
 */
static void test_reader_lying_lengths(void **state)
{
	(void)state;
	read_lying_lengths(772, 0xc700011cu, "are impossible (corrupt file)");
	read_lying_lengths(1u << 30, 1u << 29, "cut short: the file ends inside the block");
}

/* A damaged recording: the replay's error names the frame. */
static void test_replay_corrupt(void **state)
{
	struct mthp_diag diag = { 0 };
	struct mthp_replay_report rep;
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE };
	size_t len;
	char *buf = make_recording(&len, true);
	FILE *f;

	(void)state;
	f = fmemopen(buf, len - 30, "r");
	assert_int_equal(mthp_replay(f, "t.rec", &o, &rep, &diag), -EINVAL);
	/* the end block's header is cut: the 7th block, after 6 frames */
	assert_string_equal(diag.msg, "t.rec: frame 6: cut short: the file ends inside the block header");
	fclose(f);
	free(buf);
}

/* A row of the replay table: its name, then each run's column. */
static void expect_row(const char *out, const char *name, const char *a, const char *b,
		       const char *c)
{
	char row[200];

	snprintf(row, sizeof(row), "%-28s %12s %12s", name, a, b);
	if (c)
		snprintf(row + strlen(row), sizeof(row) - strlen(row), " %12s", c);
	strcat(row, "\n");
	if (!strstr(out, row))
		fail_msg("no row '%s' in:\n%s", row, out);
}

/* `mthp sim --replay`: the table, and what does not go with it. */
/*
 * record --read's output: never the recording it reads (which opening it
 * would truncate), and a write that fails is said, with --frame too.
 */
static void test_read_output(void **state)
{
	char path[] = "/tmp/mthp-read-XXXXXX", link[64], *back;
	size_t len, got;
	char *buf = hold_still_recording(&len);
	int fd = mkstemp(path);
	struct cli_run r;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	snprintf(link, sizeof(link), "%s.link", path);
	assert_int_equal(symlink(path, link), 0);
	cli_run_fails(1, "the file being read; writing it would destroy it",
		      "record", "--read", path, "-o", path, NULL);
	cli_run_fails(1, "the file being read; writing it would destroy it",
		      "record", "--read", path, "-o", link, "--frame", "2", NULL);
	/* the recording is whole: it still reads, byte for byte */
	back = malloc(len + 1);
	assert_non_null(back);
	f = fopen(path, "r");
	assert_non_null(f);
	got = fread(back, 1, len + 1, f);
	fclose(f);
	assert_int_equal(got, len);
	assert_memory_equal(back, buf, len);
	r = cli_run("record", "--read", path, NULL);
	assert_int_equal(r.status, 0);
	cli_run_free(&r);
	if (access("/dev/full", W_OK) == 0) {
		cli_run_fails(1, "mthp record: writing /dev/full failed",
			      "record", "--read", path, "-o", "/dev/full", NULL);
		cli_run_fails(1, "mthp record: writing /dev/full failed: No space left on device",
			      "record", "--read", path, "--frame", "2", "-o", "/dev/full", NULL);
	}
	unlink(link);
	unlink(path);
	free(back);
	free(buf);
}

static void test_sim_replay_command(void **state)
{
	char path[] = "/tmp/mthp-replay-XXXXXX";
	size_t len;
	char *buf = hold_still_recording(&len);
	int fd = mkstemp(path);
	struct cli_run r;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	r = cli_run("sim", "--replay", path, "--compare", "legacy,upstream", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "11 frames over 10.0 s, page size 4096\n"));
	assert_non_null(strstr(r.out, "writes not tracked: rewrites of pages already present are invisible\n"));
	expect_row(r.out, "", "no collapse", "legacy", "upstream");
	expect_row(r.out, "  recorded", "300", "300", "300");
	expect_row(r.out, "  more than recorded", "0", "212", "212");
	expect_row(r.out, "  fewer than recorded", "0", "0", "0");
	expect_row(r.out, "frames that differ", "0", "10", "10");
	cli_run_free(&r);
	/* a setting over the recording's: khugepaged never wakes in 10 s */
	r = cli_run("sim", "--replay", path, "--set", "khugepaged/scan_sleep_millisecs=60000", NULL);
	assert_int_equal(r.status, 0);
	expect_row(r.out, "  more than recorded", "0", "0", NULL);
	cli_run_free(&r);
	cli_run_fails(2, "--replay goes with --policy, --compare, --set, --tlb, --sweep",
		      "sim", "--replay", path, "--seed", "3", NULL);
	cli_run_fails(2, "--map, --trace, --snapshot and --timeline draw one run each",
		      "sim", "--replay", path, "--sweep", "khugepaged/max_ptes_none=0,511",
		      "--snapshot", "/tmp/x.snap", NULL);
	cli_run_fails(1, "mthp sim: --replay /nonexistent/x.rec: No such file",
		      "sim", "--replay", "/nonexistent/x.rec", NULL);
	unlink(path);
	free(buf);
}

/* A file's first bytes (a picture's signature), or "" when it cannot be read. */
static const char *file_start(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* --replay with the reports of a scenario run: JSON, counters, end state, pictures, sweep. */
static void test_sim_replay_reports(void **state)
{
	struct scratch dir;
	const char *path, *snap, *map, *tl;
	char head[16];
	size_t len;
	char *buf = hold_still_recording(&len);
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_snapshot end;
	json_t *doc, *runs, *run;
	struct cli_run r;
	FILE *f;

	(void)state;
	scratch_make(&dir, "replay");
	path = scratch_file(&dir, "hold.rec", buf, len);
	snap = scratch_path(&dir, "end.snap");
	map = scratch_path(&dir, "map.svg");
	tl = scratch_path(&dir, "timeline.png");

	r = cli_run("sim", "--replay", path, "--policy", "upstream", "--json", "--stats", NULL);
	assert_int_equal(r.status, 0);
	doc = json_loads(r.out, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "mthp-replay 1");
	assert_int_equal(json_integer_value(json_object_get(doc, "frames")), 11);
	runs = json_object_get(doc, "runs");
	assert_int_equal(json_array_size(runs), 2);
	run = json_array_get(runs, 1);
	assert_string_equal(json_string_value(json_object_get(run, "policy")), "upstream");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(run, "last_frame"),
							    "extra")), 212);
	run = json_object_get(run, "run");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
			 run, "stats"), "vmstat"), "thp_collapse_alloc")), 1);
	assert_non_null(json_object_get(run, "tlb_entries"));
	json_decref(doc);
	cli_run_free(&r);

	r = cli_run("sim", "--replay", path, "--policy", "upstream", "--stats", "--snapshot", snap,
		    "--map", map, "--timeline", tl, NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "# upstream\n"));
	assert_non_null(strstr(r.out, "/proc/vmstat thp_collapse_alloc 1\n"));
	cli_run_free(&r);
	f = fopen(snap, "r");
	assert_non_null(f);
	assert_int_equal(mthp_snapshot_read(&end, f, snap, &diag), 0);
	fclose(f);
	assert_int_equal(mthp_snapshot_present_pages(&end), 512);
	mthp_snapshot_free(&end);
	assert_non_null(strstr(file_start(map, head, sizeof(head)), "<?xml"));
	assert_memory_equal(file_start(tl, head, sizeof(head)), "\x89PNG", 4);

	r = cli_run("sim", "--replay", path, "--sweep", "khugepaged/max_ptes_none=0,511",
		    "--compare", "legacy,upstream", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "2 settings x 3 replays (no collapse and each policy) = "
				      "6 replays\n"));
	assert_non_null(strstr(r.out, "baseline: the recording replayed with khugepaged off"));
	cli_run_free(&r);
	scratch_remove(&dir);
	free(buf);
}

/*
 * The machine of a replay: the recording host's memory and swap from
 * its header, the options' over them, room for the process's pages when
 * the recording does not say (version 1), and an error when an option
 * gives less than the process had.
 */
static void replay_machine(const char *buf, size_t len, const struct mthp_replay_size *size,
			   struct mthp_replay_report *rep, int want, const char *msg)
{
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE };
	struct mthp_diag diag = { 0 };
	FILE *f = fmemopen((void *)buf, len, "r");
	int ret;

	assert_non_null(f);
	if (size)
		o.size = *size;
	ret = mthp_replay(f, "m.rec", &o, rep, &diag);
	if (ret != want)
		fail_msg("replay: %d (%s), not %d", ret, diag.msg, want);
	if (msg && !strstr(diag.msg, msg))
		fail_msg("'%s' lacks '%s'", diag.msg, msg);
	if (!ret)
		assert_int_equal(rep->frames_differing, 0);
	/* the check before a run says the same of the sizes set */
	if (size && (!ret || ret == -ERANGE)) {
		struct mthp_geometry geo;

		assert_int_equal(mthp_geometry_from_page_size(&geo, 4096), 0);
		rewind(f);
		memset(&diag, 0, sizeof(diag));
		assert_int_equal(mthp_replay_check_size(f, "m.rec", size, &geo, &diag), ret);
		if (msg && !strstr(diag.msg, msg))
			fail_msg("check: '%s' lacks '%s'", diag.msg, msg);
	}
	fclose(f);
}

static void test_replay_machine(void **state)
{
	struct mthp_rec_info info = { .pid = 9, .comm = "m", .interval_ms = 1000,
				      .memory_bytes = 64ull << 20, .swap_bytes = 16ull << 20 };
	struct mthp_replay_size size = { .memory_bytes = 48ull << 20, .memory_set = true };
	struct mthp_diag diag = { 0 };
	struct mthp_replay_report rep;
	struct mthp_rec_reader r;
	size_t len;
	char *buf = recording_with(&info, 3, hold_still_frame, MTHP_REC_END_FRAMES, &len);
	FILE *f = fmemopen(buf, len, "r");

	(void)state;
	/* the header keeps the host's sizes */
	assert_non_null(f);
	assert_int_equal(mthp_rec_reader_open(&r, f, "m.rec", &diag), 0);
	assert_int_equal(r.info.version, MTHP_REC_VERSION);
	assert_int_equal(r.info.memory_bytes, 64ull << 20);
	assert_int_equal(r.info.swap_bytes, 16ull << 20);
	mthp_rec_reader_free(&r);
	fclose(f);
	/* the host's machine */
	replay_machine(buf, len, NULL, &rep, 0, NULL);
	assert_int_equal(rep.machine, MTHP_REPLAY_MACHINE_HOST);
	assert_int_equal(rep.memory_pages, (64ull << 20) / 4096);
	assert_int_equal(rep.swap_pages, (16ull << 20) / 4096);
	mthp_replay_report_free(&rep);
	/* memory set, swap still the host's */
	replay_machine(buf, len, &size, &rep, 0, NULL);
	assert_int_equal(rep.machine, MTHP_REPLAY_MACHINE_SET);
	assert_int_equal(rep.memory_pages, (48ull << 20) / 4096);
	assert_int_equal(rep.swap_pages, (16ull << 20) / 4096);
	mthp_replay_report_free(&rep);
	/* less than the 300 pages and 16 PMD sizes the replay needs */
	size.memory_bytes = 8ull << 20;
	replay_machine(buf, len, &size, &rep, -ERANGE,
		       "m.rec: memory=8388608 bytes is less than the replay needs: at least 8492 "
		       "pages of 4096 bytes");
	/* more than the simulator models */
	size.memory_bytes = 1ull << 40;
	replay_machine(buf, len, &size, &rep, -ERANGE,
		       "memory=1099511627776 bytes is more than the simulator models: at most "
		       "67108863 pages");
	free(buf);
	/* a host that did not say: room for the process's pages twice over */
	info.memory_bytes = 0;
	buf = recording_with(&info, 3, hold_still_frame, MTHP_REC_END_FRAMES, &len);
	replay_machine(buf, len, NULL, &rep, 0, NULL);
	assert_int_equal(rep.machine, MTHP_REPLAY_MACHINE_PAGES);
	assert_int_equal(rep.memory_pages, 2 * 300 + 16 * 512);
	mthp_replay_report_free(&rep);
	free(buf);
}

#define MB (1ull << 20)
#define MOVE_A 0x7f0000000000ull		/* 2M, moved to B in frame 3 */
#define MOVE_C 0x7f0000a00000ull		/* 2M, unmapped in frame 3 */
#define MOVE_B 0x7f0040000000ull		/* 4M: A's pages, grown */
#define MOVE_D 0x7f0080000000ull		/* 2M, mapped in frame 3 */

/*
 * A program that fills a MADV_HUGEPAGE block of 2M (A) and writes 100
 * pages of another (C, MADV_NOHUGEPAGE); in frame 3 it has moved A to B,
 * growing it to 4M (realloc's mremap), and unmapped C and mapped D,
 * writing pages 200 to 299 there: no move, as its pages are elsewhere.
 */
static void move_frame(struct mthp_snapshot *s, unsigned i)
{
	struct mthp_geometry geo;
	uint8_t ptes[512];

	assert_int_equal(mthp_geometry_from_page_size(&geo, 4096), 0);
	mthp_snapshot_init(s, &geo);
	assert_int_equal(mthp_snapshot_add_setting(s, "enabled", "always"), 0);
	assert_int_equal(mthp_snapshot_add_setting(s, "khugepaged/scan_sleep_millisecs", "100"),
			 0);
	memset(ptes, 'A', sizeof(ptes));
	assert_int_equal(mthp_snapshot_add_vma(s, i < 3 ? MOVE_A : MOVE_B,
					       (i < 3 ? MOVE_A : MOVE_B) + (i < 3 ? 2 : 4) * MB,
					       MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE), 0);
	assert_int_equal(mthp_snapshot_add_pmd(s, i < 3 ? MOVE_A : MOVE_B, MTHP_PMD_TABLE, ptes,
					       NULL), 0);
	memset(ptes, '.', sizeof(ptes));
	memset(ptes + (i < 3 ? 0 : 200), 'A', 100);
	assert_int_equal(mthp_snapshot_add_vma(s, i < 3 ? MOVE_C : MOVE_D,
					       (i < 3 ? MOVE_C : MOVE_D) + 2 * MB,
					       MTHP_VMA_ANON | MTHP_VMA_NOHUGEPAGE), 0);
	assert_int_equal(mthp_snapshot_add_pmd(s, i < 3 ? MOVE_C : MOVE_D, MTHP_PMD_TABLE, ptes,
					       NULL), 0);
}

/* The PMD range of snap at addr is a huge PMD. */
static bool huge_at(const struct mthp_snapshot *snap, uint64_t addr)
{
	for (size_t i = 0; i < snap->nr_pmds; i++)
		if (snap->pmds[i].addr == addr)
			return snap->pmds[i].kind == MTHP_PMD_HUGE;
	return false;
}

/* The recording in buf replayed with o into rep: the replay must succeed. */
static void replay_of(const char *buf, size_t len, const struct mthp_replay_opts *o,
		      struct mthp_replay_report *rep)
{
	struct mthp_diag diag = { 0 };
	FILE *f = fmemopen((void *)buf, len, "r");

	assert_non_null(f);
	if (mthp_replay(f, "t.rec", o, rep, &diag))
		fail_msg("%s", diag.msg);
	fclose(f);
}

/* A block the program moved (mremap) is moved in the replay, its THP with it. */
static void test_replay_moves(void **state)
{
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE };
	struct mthp_replay_report rep;
	size_t len;
	char *buf = recording_of("move", 6, move_frame, MTHP_REC_END_DURATION, &len);

	(void)state;
	replay_of(buf, len, &o, &rep);
	assert_int_equal(rep.moves, 1);
	assert_int_equal(rep.frames_differing, 0);
	assert_int_equal(rep.last.recorded, 612);
	mthp_replay_report_free(&rep);
	/*
	 * Under upstream khugepaged collapses A in frame 0's second; the
	 * move takes the THP to B, where it stays: a replay that unmapped A
	 * and faulted B's pages anew would have collapsed B again.
	 */
	o.policy = MTHP_POLICY_UPSTREAM;
	replay_of(buf, len, &o, &rep);
	assert_int_equal(rep.moves, 1);
	assert_int_equal(rep.run.collapses_by_order[9], 1);
	assert_true(huge_at(&rep.run.final, MOVE_B));
	assert_int_equal(huge_ranges(&rep.run.final), 1);
	assert_int_equal(rep.last.missing, 0);
	assert_int_equal(rep.last.extra, 0);
	mthp_replay_report_free(&rep);
	free(buf);
}

/*
 * 100 pages written; then shared by a fork (frame 1); half of them
 * unshared (2); all (3: the child exited); 20 shared again (4: another
 * fork).
 */
static void fork_frame(struct mthp_snapshot *s, unsigned i)
{
	static const unsigned shared_from[] = { 100, 0, 50, 100, 80 };
	struct snap_table t;

	snap_build_new(s, 4096, 1, MTHP_VMA_ANON);
	snap_table_init(&t, 512);
	snap_table_put(&t, 0, 100, 'A', 0);
	snap_table_put(&t, shared_from[i], 100 - shared_from[i], 'S', 0);
	snap_build_add(s, 0, MTHP_PMD_TABLE, &t);
}

/* Each frame's pages shown shared, by the recording and by the replay. */
static void shared_as_recorded(void *ctx, const struct mthp_replay_frame *f)
{
	static const unsigned shared[] = { 0, 100, 50, 0, 20 };
	unsigned *frames = ctx;

	assert_int_equal(f->shared_recorded, shared[f->frame]);
	assert_int_equal(f->shared_simulated, shared[f->frame]);
	(*frames)++;
}

/* Pages shown shared are shared by a fork in the replay, and unshared as recorded. */
static void test_replay_forks(void **state)
{
	unsigned frames = 0;
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE,
				      .frame_fn = shared_as_recorded, .ctx = &frames };
	struct mthp_replay_report rep;
	size_t len;
	char *buf = recording_of("fork", 5, fork_frame, MTHP_REC_END_DURATION, &len);

	(void)state;
	replay_of(buf, len, &o, &rep);
	assert_int_equal(frames, 5);
	assert_int_equal(rep.forks, 2);
	assert_int_equal(rep.frames_differing, 0);
	mthp_replay_report_free(&rep);
	free(buf);
}

/* --set memory= and swap= with --replay: the machine line, JSON, and bad sizes. */
static void test_sim_replay_machine(void **state)
{
	struct mthp_rec_info info = { .pid = 9, .comm = "m", .interval_ms = 1000,
				      .memory_bytes = 64ull << 20, .swap_bytes = 0 };
	struct scratch dir;
	const char *path;
	size_t len;
	char *buf = recording_with(&info, 3, hold_still_frame, MTHP_REC_END_FRAMES, &len);
	json_t *doc, *m;
	struct cli_run r;

	(void)state;
	scratch_make(&dir, "machine");
	path = scratch_file(&dir, "m.rec", buf, len);
	r = cli_run("sim", "--replay", path, NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "machine: 16384 pages of memory, 0 of swap (the recording "
				      "host's, at most what the simulator models)\n"));
	cli_run_free(&r);
	r = cli_run("sim", "--replay", path, "--set", "memory=128M", "--set", "swap=4M",
		    "--set", "khugepaged/max_ptes_none=0", "--json", NULL);
	assert_int_equal(r.status, 0);
	doc = json_loads(r.out, 0, NULL);
	assert_non_null(doc);
	m = json_object_get(doc, "machine");
	assert_int_equal(json_integer_value(json_object_get(m, "memory_pages")), 32768);
	assert_int_equal(json_integer_value(json_object_get(m, "swap_pages")), 1024);
	assert_string_equal(json_string_value(json_object_get(m, "from")), "set");
	json_decref(doc);
	cli_run_free(&r);
	r = cli_run("sim", "--replay", path, "--sweep", "khugepaged/max_ptes_none=0,511",
		    "--set", "memory=40M", "--policy", "upstream", NULL);
	assert_int_equal(r.status, 0);
	cli_run_free(&r);
	cli_run_fails(2, "mthp sim: --set memory=lots: must be a size such as 16G",
		      "sim", "--replay", path, "--set", "memory=lots", NULL);
	cli_run_fails(2, "mthp sim: --set memory=0: must be a size such as 16G",
		      "sim", "--replay", path, "--set", "memory=0", NULL);
	/* a size out of range is a usage error, said before any run */
	cli_run_fails(2, "rec: memory=1048576 bytes is less than the replay needs",
		      "sim", "--replay", path, "--set", "memory=1M", NULL);
	cli_run_fails(2, "memory=1048576 bytes is less than the replay needs",
		      "sim", "--replay", path, "--set", "memory=1M", "--sweep",
		      "khugepaged/max_ptes_none=0,511", NULL);
	cli_run_fails(2, "swap=1099511627776000 bytes is more than the simulator models",
		      "sim", "--replay", path, "--set", "swap=1000T", NULL);
	/* as a scenario's sizes: whole pages, never rounded down */
	cli_run_fails(2, "swap=4095 bytes is not a multiple of the page size, 4096 bytes",
		      "sim", "--replay", path, "--set", "swap=4095", NULL);
	cli_run_fails(2, "memory=41943041 bytes is not a multiple of the page size",
		      "sim", "--replay", path, "--set", "memory=41943041", NULL);
	scratch_remove(&dir);
	free(buf);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_round_trip),
	cmocka_unit_test(test_differences),
	cmocka_unit_test(test_cut_short),
	cmocka_unit_test(test_no_end),
	cmocka_unit_test(test_bytes_after_end),
	cmocka_unit_test(test_corrupt_byte),
	cmocka_unit_test(test_errors),
	cmocka_unit_test(test_moved_vma),
	cmocka_unit_test(test_replay),
	cmocka_unit_test(test_replay_host_collapses),
	cmocka_unit_test(test_replay_partial_folios),
	cmocka_unit_test(test_tracked_writes),
	cmocka_unit_test(test_written_refused),
	cmocka_unit_test(test_replay_corrupt),
	cmocka_unit_test(test_reader_lying_lengths),
	cmocka_unit_test(test_sim_replay_command),
	cmocka_unit_test(test_sim_replay_reports),
	cmocka_unit_test(test_replay_machine),
	cmocka_unit_test(test_replay_moves),
	cmocka_unit_test(test_replay_forks),
	cmocka_unit_test(test_sim_replay_machine),
	cmocka_unit_test(test_read_output),
)
