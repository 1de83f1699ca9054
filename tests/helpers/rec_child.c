// SPDX-License-Identifier: MIT
/* rec_child.c - the stepping child and the recording checks (rec_child.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <mthp/live.h>
#include <mthp/record.h>
#include <mthp/replay.h>

#include "helpers/live_child.h"
#include "helpers/rec_child.h"
#include "helpers/snap_build.h"

#define PMD REC_PMD

static void __attribute__((noreturn)) stepper_main(rec_step_fn step, int cmd, int ack)
{
	char *p = mmap(NULL, 5 * PMD, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a = (char *)(((uintptr_t)p + PMD - 1) & ~(PMD - 1));
	uint64_t addr = (uintptr_t)a;
	int k;

	if (p == MAP_FAILED)
		_exit(2);
	setpgid(0, 0);
	/* no THP from the host's khugepaged: the frames show the program alone */
	madvise(a, 4 * PMD, MADV_NOHUGEPAGE);
	if (write(ack, &addr, sizeof(addr)) != sizeof(addr))
		_exit(2);
	while (read(cmd, &k, sizeof(k)) == sizeof(k)) {
		step(a, k);
		if (write(ack, &k, sizeof(k)) != sizeof(k))
			_exit(2);
	}
	_exit(0);
}

struct stepper stepper_start(rec_step_fn step)
{
	struct stepper s = { 0 };
	int cmd[2], ack[2];

	assert_int_equal(pipe(cmd), 0);
	assert_int_equal(pipe(ack), 0);
	s.pid = live_kid_fork();
	if (s.pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		stepper_main(step, cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	s.cmd = cmd[1];
	s.ack = ack[0];
	assert_int_equal(read(s.ack, &s.addr, sizeof(s.addr)), sizeof(s.addr));
	return s;
}

void stepper_step(struct stepper *s, int k)
{
	int done;

	assert_int_equal(write(s->cmd, &k, sizeof(k)), sizeof(k));
	assert_int_equal(read(s->ack, &done, sizeof(done)), sizeof(done));
	assert_int_equal(done, k);
}

void stepper_stop(struct stepper *s)
{
	close(s->cmd);
	close(s->ack);
	live_kid_reap(s->pid);
}

/* PTEs of the region in state c. */
unsigned rec_count_in(const struct mthp_snapshot *snap, uint64_t addr, char c)
{
	char *text = rec_region_text(snap, addr);
	unsigned n = 0;

	for (const char *p = text; *p; p++)
		n += *p != '\n' && (c == '*' ? *p != '.' : *p == c);
	free(text);
	return n;
}

char *rec_region_text(const struct mthp_snapshot *snap, uint64_t addr)
{
	uint32_t n = snap->geo.ptes_per_pmd;
	char *text = calloc(4 * (n + 1) + 1, 1);
	size_t len = 0;

	assert_non_null(text);
	for (size_t i = 0; i < snap->nr_pmds; i++) {
		const struct mthp_snapshot_pmd *pmd = &snap->pmds[i];

		if (pmd->addr < addr || pmd->addr >= addr + 4 * PMD)
			continue;
		if (pmd->kind != MTHP_PMD_TABLE)
			fail_msg("range %lx is not a table", (unsigned long)pmd->addr);
		memcpy(text + len, pmd->ptes, n);
		len += n;
		text[len++] = '\n';
	}
	return text;
}

char *rec_vmas_text(const struct mthp_snapshot *snap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	for (size_t i = 0; i < snap->nr_vmas; i++)
		fprintf(f, "%llx-%llx %x\n", (unsigned long long)snap->vmas[i].start,
			(unsigned long long)snap->vmas[i].end, (unsigned)snap->vmas[i].flags);
	assert_int_equal(fclose(f), 0);
	return text;
}

void rec_steps(struct stepper *s, int n,
	       void (*check)(const struct mthp_snapshot *snap, uint64_t addr, int k),
	       char **buf, size_t *len)
{
	struct mthp_rec_info info = { .interval_ms = 0, .pid = s->pid };
	struct mthp_diag diag = { 0 };
	char **texts = calloc((size_t)n, sizeof(*texts));
	struct mthp_live_frames *frames;
	struct mthp_rec_writer w;
	struct mthp_rec_reader r;
	FILE *f;

	assert_non_null(texts);
	*buf = NULL;
	f = open_memstream(buf, len);
	assert_non_null(f);
	assert_int_equal(mthp_live_frames_new(&frames), 0);
	for (int k = 0; k < n; k++) {
		struct mthp_snapshot snap, fresh;
		char *want;

		stepper_step(s, k);
		/* as mthp record takes it, and as mthp snapshot does: the same */
		if (mthp_live_snapshot_frame(s->pid, frames, &snap, NULL, &diag) ||
		    mthp_live_snapshot(s->pid, &fresh, &diag))
			fail_msg("%s", diag.msg);
		texts[k] = rec_region_text(&snap, s->addr);
		want = rec_region_text(&fresh, s->addr);
		assert_string_equal(texts[k], want);
		free(want);
		free(texts[k]);
		texts[k] = rec_vmas_text(&snap);
		want = rec_vmas_text(&fresh);
		assert_string_equal(texts[k], want);
		free(want);
		free(texts[k]);
		texts[k] = snap_build_text(&snap);
		mthp_snapshot_free(&fresh);
		check(&snap, s->addr, k);
		if (k == 0)
			assert_int_equal(mthp_rec_writer_open(&w, f, &info, &snap), 0);
		assert_int_equal(mthp_rec_writer_frame(&w, &snap, 10 * (uint64_t)k), 0);
		mthp_snapshot_free(&snap);
	}
	mthp_live_frames_free(frames);
	assert_int_equal(mthp_rec_writer_close(&w, MTHP_REC_END_SIGNAL), 0);
	fclose(f);

	f = fmemopen(*buf, *len, "r");
	assert_non_null(f);
	assert_int_equal(mthp_rec_reader_open(&r, f, "live.rec", &diag), 0);
	for (int k = 0; k < n; k++) {
		char *got;

		if (mthp_rec_reader_next(&r, &diag) != 1)
			fail_msg("frame %d: %s", k, diag.msg);
		got = snap_build_text(&r.frame);
		assert_string_equal(got, texts[k]);
		check(&r.frame, s->addr, k);
		free(got);
		free(texts[k]);
	}
	assert_int_equal(mthp_rec_reader_next(&r, &diag), 0);
	assert_int_equal(r.end, MTHP_REC_END_SIGNAL);
	mthp_rec_reader_free(&r);
	fclose(f);
	free(texts);
}

static void frame_exact(void *ctx, const struct mthp_replay_frame *f)
{
	unsigned *frames = ctx;

	if (f->extra || f->missing)
		fail_msg("frame %u: %lu pages mapped in the replay only, %lu in the recording only",
			 f->frame, (unsigned long)f->extra, (unsigned long)f->missing);
	if (f->shared_recorded != f->shared_simulated)
		fail_msg("frame %u: %lu pages shared in the recording, %lu in the replay",
			 f->frame, (unsigned long)f->shared_recorded,
			 (unsigned long)f->shared_simulated);
	assert_int_equal(f->frame, *frames);
	(*frames)++;
}

uint64_t rec_replay_exactly(FILE *f, unsigned frames)
{
	struct mthp_diag diag = { 0 };
	struct mthp_replay_report rep;
	unsigned seen = 0;
	struct mthp_replay_opts o = { .policy = MTHP_RUN_NO_COLLAPSE, .frame_fn = frame_exact,
				      .ctx = &seen };

	if (mthp_replay(f, "live.rec", &o, &rep, &diag))
		fail_msg("%s", diag.msg);
	assert_int_equal(seen, frames);
	assert_int_equal(rep.frames, frames);
	assert_int_equal(rep.frames_differing, 0);
	assert_true(rep.last.recorded > 0);
	mthp_replay_report_free(&rep);
	return rep.moves;
}

uint64_t rec_replay_buffer(char *buf, size_t len, unsigned frames)
{
	FILE *f = fmemopen(buf, len, "r");
	uint64_t moves;

	assert_non_null(f);
	moves = rec_replay_exactly(f, frames);
	fclose(f);
	free(buf);
	return moves;
}
