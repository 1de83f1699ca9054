// SPDX-License-Identifier: MIT
/*
 * record.c - `mthp record --pid PID -o FILE`: a running process's page
 * tables every interval, as a recording (docs/recording-format.md); and
 * `mthp record --read FILE`: the frames of a recording, one line each,
 * or one frame as a snapshot.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/live.h>
#include <mthp/record.h>
#include <mthp/snapshot.h>

#include "cli/cli.h"
#include "cli/opts.h"

static const char record_intro[] =
"usage: mthp record --pid PID [--interval MS] [--duration S | --frames N]\n"
"                   [--track-writes] -o FILE\n"
"       mthp record --read FILE [--frame N] [-o OUT]\n"
"\n"
"Record a running process's anonymous page tables over time: every\n"
"interval, its VMAs and every populated PMD range, as 'mthp snapshot --pid'\n"
"reads them.  The first frame holds every range, each later one only the\n"
"ranges that changed; the file is compressed with zlib\n"
"(docs/recording-format.md).  Needs root, as 'mthp snapshot --pid'.\n"
"SIGINT or SIGTERM ends the recording with a complete file, and so does\n"
"the process exiting (the file says which).\n"
"\n"
"With --read, list the frames of a recording (frame, time in ms, VMAs, PMD\n"
"ranges, ranges changed and dropped since the frame before, present pages,\n"
"and pages written since the frame before when writes are tracked) or,\n"
"with --frame N, write frame N whole as a snapshot (format 2) for\n"
"'mthp plan --snapshot'.\n"
"\n";

static const char record_outro[] =
"Without --track-writes a page written again while present changes\n"
"nothing a frame holds, so such rewrites are invisible in a recording.\n"
"--track-writes records them from the kernel's soft-dirty bits: after\n"
"each frame the process's bits are cleared (/proc/PID/clear_refs 4), and\n"
"the next frame says which present pages were written since.  It needs\n"
"a kernel with CONFIG_MEM_SOFT_DIRTY; without one it ends with exit\n"
"status 1 before recording anything, saying so.\n"
"\n"
"A frame is read again when the process's mappings changed while it was\n"
"read other than by growing (a VMA unmapped, shrunk, moved or changed in\n"
"its permissions; a heap's brk or a mapping next to another one is\n"
"growth, whose new pages the next frame shows).  After 3 such reads the\n"
"frame is skipped with a warning on stderr, the next frame showing its\n"
"changes, and the summary counts the frames skipped.  20 frames skipped\n"
"in a row end the recording with exit status 1 (the frames written\n"
"before stay readable).\n"
"Exit status: 0 recorded (or read), 1 the process or the file could not be\n"
"read or written, 2 bad option.\n";

struct record_opts {
	pid_t pid;
	uint64_t interval;
	uint64_t duration;
	uint64_t frames;
	uint64_t frame;
	bool frame_given;
	const char *output;
	const char *read;
	bool track_writes;
};

static int set_frame(void *opts, const char *value, char *why, size_t len)
{
	struct record_opts *o = opts;

	o->frame_given = true;
	return mthp_opts_u64(value, false, 0, UINT32_MAX, &o->frame, why, len);
}

static const struct mthp_opt record_opts_table[] = {
	{ "pid", 'p', "PID", MTHP_OPT_PID, offsetof(struct record_opts, pid),
	  .help = "the process to record" },
	{ "interval", 'i', "MS", MTHP_OPT_U64, offsetof(struct record_opts, interval),
	  10, 3600000, .help = "a frame every MS milliseconds, 10 to 3600000\n"
		  "(default 1000)" },
	{ "duration", 'd', "S", MTHP_OPT_U64, offsetof(struct record_opts, duration),
	  1, 31 * 86400, .help = "stop after S seconds" },
	{ "frames", 'n', "N", MTHP_OPT_U64, offsetof(struct record_opts, frames),
	  1, UINT32_MAX, .help = "stop after N frames" },
	{ "track-writes", 'w', NULL, MTHP_OPT_FLAG, offsetof(struct record_opts, track_writes),
	  .help = "record which present pages were written between\n"
		  "frames (soft-dirty bits; see below)" },
	{ "output", 'o', "FILE", MTHP_OPT_STRING, offsetof(struct record_opts, output),
	  .help = "the recording to write (with --read: where the frame or\n"
		  "list goes, default standard output)" },
	{ "read", 'r', "FILE", MTHP_OPT_STRING, offsetof(struct record_opts, read),
	  .help = "read a recording instead of making one" },
	{ "frame", 'f', "N", MTHP_OPT_FN, 0, .fn = set_frame,
	  .help = "with --read: write frame N (from 0) as a snapshot" },
	{ 0 },
};

static const struct mthp_cmd_spec record_spec = {
	"record", record_intro, record_opts_table, record_outro, NULL, 0,
};

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* The process's name as one token ('-' for none). */
static void read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	comm[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, (int)len, f))
			comm[0] = '\0';
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = '\0';
	for (char *c = comm; *c; c++)
		if (*c == ' ' || *c == '\t' || (unsigned char)*c < 0x20)
			*c = '_';
}

/*
 * Frames in a row the recorder skips because the process's mappings kept
 * changing while they were read, before it gives up.
 */
#define RECORD_SKIP_LIMIT 20

/*
 * The tick of the interval to take the next frame at, after tick: the
 * next one still ahead, so that a frame that took longer than the
 * interval is not made up for by frames back to back.
 */
static uint64_t next_tick(uint64_t start, uint64_t interval, uint64_t tick)
{
	uint64_t ahead = (mthp_cli_now_ms() - start) / interval + 1;

	return ahead > tick + 1 ? ahead : tick + 1;
}

/*
 * Take the next frame into snap, and with --track-writes clear the
 * soft-dirty bits.  A frame whose mappings changed (other than by
 * growing) through every try is skipped with a warning: the next frame
 * shows its changes.  Returns 0, 1 when skipped, or -errno (diag says).
 */
static int take_frame(const struct record_opts *o, struct mthp_live_frames *frames,
		      struct mthp_snapshot *snap, struct mthp_pmd_bits *written,
		      uint64_t t, unsigned *skips, FILE *err, struct mthp_diag *diag)
{
	int ret;

	/*
	 * The bits read, then cleared: a write between the two (while the
	 * frame is read) is not seen by any frame.
	 */
	ret = mthp_live_snapshot_frame(o->pid, frames, snap,
				       o->track_writes ? written : NULL, diag);
	if (!ret && o->track_writes)
		ret = mthp_live_clear_soft_dirty(o->pid, diag);
	if (ret != -EAGAIN) {
		if (!ret)
			*skips = 0;
		return ret;
	}
	mthp_snapshot_free(snap);
	mthp_snapshot_init(snap, NULL);
	if (++*skips >= RECORD_SKIP_LIMIT) {
		size_t n = strlen(diag->msg);

		snprintf(diag->msg + n, sizeof(diag->msg) - n, ", at %u frames in a row",
			 RECORD_SKIP_LIMIT);
		return -EAGAIN;
	}
	fprintf(err, "mthp record: frame at %" PRIu64 " ms skipped: %s\n", t, diag->msg);
	return 1;
}

static int record(const struct record_opts *o, FILE *out, FILE *err)
{
	struct sigaction stop = { .sa_handler = on_stop }, old_term, old_int;
	struct mthp_rec_info info = { .pid = o->pid, .track_writes = o->track_writes };
	struct mthp_pmd_bits written;
	enum mthp_rec_end end = MTHP_REC_END_SIGNAL;
	struct mthp_diag diag = { 0 };
	struct mthp_live_frames *frames;
	struct mthp_rec_writer w;
	struct mthp_snapshot snap;
	uint64_t start, skipped = 0, interval = o->interval ? o->interval : 1000;
	unsigned skips = 0;
	int ret, status = 0;
	FILE *f;

	info.interval_ms = (uint32_t)interval;
	read_comm(o->pid, info.comm, sizeof(info.comm));
	if (mthp_live_host_memory(&info.memory_bytes, &info.swap_bytes, &diag) < 0) {
		fprintf(err, "mthp record: %s\n", diag.msg);
		return 1;
	}
	if (mthp_live_frames_new(&frames)) {
		fprintf(err, "mthp record: out of memory\n");
		return 1;
	}
	mthp_pmd_bits_init(&written, NULL);
	mthp_snapshot_init(&snap, NULL);
	/* No SA_RESTART: a signal ends the sleep at once. */
	sigemptyset(&stop.sa_mask);
	stop_flag = 0;
	sigaction(SIGTERM, &stop, &old_term);
	sigaction(SIGINT, &stop, &old_int);
	start = mthp_cli_now_ms();
	/* frame 0 says nothing of writes: it starts the soft-dirty tracking */
	for (uint64_t tick = 0;;) {
		ret = take_frame(o, frames, &snap, NULL, mthp_cli_now_ms() - start, &skips,
				 err, &diag);
		if (ret <= 0)
			break;
		skipped++;
		tick = next_tick(start, interval, tick);
		mthp_cli_pause_until(start + tick * interval, &stop_flag, NULL);
		if (stop_flag)
			break;
	}
	if (ret) {	/* < 0, or 1: stopped after skipped frames only */
		if (ret < 0)
			fprintf(err, "mthp record: %s\n", diag.msg);
		else
			fprintf(err, "mthp record: stopped before a frame could be read\n");
		f = NULL;
		ret = 0;	/* said: nothing was written */
		status = 1;
		goto out;
	}
	f = fopen(o->output, "w");
	if (!f) {
		fprintf(err, "mthp record: cannot create %s: %s\n", o->output, strerror(errno));
		status = 1;
		goto out;
	}
	start = mthp_cli_now_ms();
	ret = mthp_rec_writer_open(&w, f, &info, &snap);
	for (uint64_t next = 0; !ret;) {
		ret = mthp_rec_writer_frame_written(&w, &snap, mthp_cli_now_ms() - start,
						    w.frames ? &written : NULL);
		mthp_snapshot_free(&snap);
		mthp_snapshot_init(&snap, NULL);
		if (ret)
			break;
		if (o->frames && w.frames >= o->frames) {
			end = MTHP_REC_END_FRAMES;
			break;
		}
		do {
			next = next_tick(start, interval, next);
			if ((o->duration && next * interval >= o->duration * 1000) ||
			    next * interval > MTHP_REC_MAX_TIME_MS) {
				end = MTHP_REC_END_DURATION;
				goto close;
			}
			mthp_cli_pause_until(start + next * interval, &stop_flag, NULL);
			if (stop_flag)
				goto close;
			ret = take_frame(o, frames, &snap, &written, mthp_cli_now_ms() - start,
					 &skips, err, &diag);
			skipped += ret == 1;
		} while (ret == 1);
		if (ret == -ESRCH) {
			end = MTHP_REC_END_EXITED;
			ret = 0;
			break;
		}
		if (ret < 0) {
			/* the frames so far stay readable: the file ends cut short */
			fprintf(err, "mthp record: %s\n", diag.msg);
			status = 1;
			ret = 0;
			mthp_rec_writer_free(&w);
			goto out;
		}
	}
close:
	if (!ret)
		ret = mthp_rec_writer_close(&w, end);
	else
		mthp_rec_writer_free(&w);
	if (!ret) {
		fprintf(out, "mthp record: %" PRIu32 " frames of pid %d (%s) in %s, %" PRIu64
			" bytes, %" PRIu64 " PMD ranges written; ended: %s",
			w.frames, (int)o->pid, info.comm, o->output, w.bytes,
			w.changed_pmds, mthp_rec_end_name(end));
		if (skipped)
			fprintf(out, "; %" PRIu64 " frame%s skipped (mappings changing)", skipped,
				skipped == 1 ? "" : "s");
		fputc('\n', out);
	}
out:
	mthp_snapshot_free(&snap);
	mthp_pmd_bits_free(&written);
	mthp_live_frames_free(frames);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	if (f && fclose(f) != 0 && !ret)
		ret = -EIO;
	if (ret) {
		fprintf(err, "mthp record: writing %s failed: %s\n", o->output, strerror(-ret));
		return 1;
	}
	return status;
}

static int read_recording(const struct record_opts *o, FILE *out, FILE *err)
{
	struct mthp_diag diag = { 0 };
	struct mthp_rec_reader r;
	bool found = false;
	FILE *f, *dst = out;
	int ret;

	f = mthp_cli_open_input(o->read);
	if (!f) {
		fprintf(err, "mthp record: cannot open %s: %s\n", o->read, strerror(errno));
		return 1;
	}
	ret = mthp_rec_reader_open(&r, f, o->read, &diag);
	if (ret < 0) {
		fprintf(err, "mthp record: %s\n", diag.msg);
		fclose(f);
		return 1;
	}
	if (o->output && strcmp(o->output, "-")) {
		dst = fopen(o->output, "w");
		if (!dst) {
			fprintf(err, "mthp record: cannot create %s: %s\n", o->output,
				strerror(errno));
			ret = -EIO;
			goto out;
		}
	}
	if (!o->frame_given) {
		char host[80] = "host memory not recorded";

		if (r.info.memory_bytes)
			snprintf(host, sizeof(host), "host memory %" PRIu64 " MiB, swap %" PRIu64
				 " MiB", r.info.memory_bytes >> 20, r.info.swap_bytes >> 20);
		fprintf(dst, "# %s: pid %d (%s), interval %" PRIu32 " ms, page size %u, %s, "
			"writes %s\n# frame time_ms vmas pmds changed dropped present%s\n",
			o->read, (int)r.info.pid, r.info.comm, r.info.interval_ms,
			r.host.geo.page_size, host, r.info.track_writes ? "tracked" :
			"not tracked (rewrites of present pages are invisible)",
			r.info.track_writes ? " written" : "");
	}
	while ((ret = mthp_rec_reader_next(&r, &diag)) == 1) {
		if (o->frame_given && r.nr_frames - 1 == o->frame) {
			found = true;
			ret = mthp_snapshot_write(&r.frame, dst);
			break;
		}
		if (!o->frame_given) {
			fprintf(dst, "%" PRIu32 " %" PRIu64 " %zu %zu %zu %zu %" PRIu64,
				r.nr_frames - 1, r.time_ms, r.frame.nr_vmas, r.frame.nr_pmds,
				r.changed_pmds, r.dropped_pmds, mthp_snapshot_present_pages(&r.frame));
			if (r.info.track_writes)
				fprintf(dst, " %" PRIu64, mthp_pmd_bits_count(&r.written));
			fputc('\n', dst);
		}
	}
	if (ret == 0 && !o->frame_given)
		fprintf(dst, "# end: %s after %" PRIu32 " frames\n", mthp_rec_end_name(r.end),
			r.nr_frames);
	if (ret == 0 && o->frame_given && !found) {
		fprintf(err, "mthp record: %s has %" PRIu32 " frames, no frame %" PRIu64 "\n",
			o->read, r.nr_frames, o->frame);
		ret = -ENOENT;
	} else if (ret < 0 && found) {
		/* on standard output, main() says why when it flushes it */
		if (dst != out)
			fprintf(err, "mthp record: writing %s failed: %s\n", o->output,
				strerror(-ret));
	} else if (ret < 0 && diag.msg[0]) {
		fprintf(err, "mthp record: %s\n", diag.msg);
	}
	if (dst != out) {
		bool failed = ferror(dst);

		if ((fclose(dst) != 0 || failed) && ret >= 0) {
			fprintf(err, "mthp record: writing %s failed: %s\n", o->output,
				strerror(errno ? errno : EIO));
			ret = -EIO;
		}
	}
out:
	mthp_rec_reader_free(&r);
	fclose(f);
	return ret < 0 ? 1 : 0;
}

/* --track-writes: 0 when this kernel tracks soft-dirty bits, else 1 (said). */
static int track_writes(FILE *err)
{
	struct mthp_diag diag = { 0 };
	int ret = mthp_live_soft_dirty(&diag);

	if (ret < 0)
		fprintf(err, "mthp record: --track-writes: %s\n", diag.msg);
	else if (ret == 0)
		fprintf(err, "mthp record: --track-writes: this kernel has no soft-dirty "
			"tracking (after clear_refs 4 and a write, pagemap bit 55 stays 0); "
			"record without --track-writes: rewrites of present pages are then "
			"invisible\n");
	return ret > 0 ? 0 : 1;
}

int cmd_record(int argc, char **argv, FILE *out, FILE *err)
{
	struct record_opts o = { 0 };
	int ret;

	ret = mthp_opts_parse(&record_spec, argc, argv, &o, out, err);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (o.read) {
		if (o.pid || o.interval || o.duration || o.frames || o.track_writes)
			return mthp_opts_usage_error(&record_spec, err,
				"--read takes only --frame and -o");
		ret = mthp_cli_check_output(err, "record", "-o", o.output) ?:
		      mthp_cli_check_not_input(err, "record", "-o", o.output, o.read);
		if (ret)
			return ret;
		return read_recording(&o, out, err);
	}
	if (!o.pid)
		return mthp_opts_usage_error(&record_spec, err, "--pid or --read is required");
	if (o.frame_given)
		return mthp_opts_usage_error(&record_spec, err, "--frame goes with --read");
	if (!o.output || !strcmp(o.output, "-"))
		return mthp_opts_usage_error(&record_spec, err,
			"-o FILE is required (a recording is not text)");
	if (o.duration && o.frames)
		return mthp_opts_usage_error(&record_spec, err,
			"--duration and --frames cannot both be given");
	if (o.track_writes && track_writes(err))
		return 1;
	ret = mthp_cli_check_output(err, "record", "-o", o.output);
	if (ret)
		return ret;
	return record(&o, out, err);
}
