/* SPDX-License-Identifier: MIT */
/*
 * mthp/record.h - recordings: a process's page tables over time, frame by
 * frame, in one zlib-compressed file (docs/recording-format.md).
 *
 * Every frame is a snapshot (format 2, mthp/snapshot.h).  The first frame
 * holds every PMD range; each later one holds only the ranges that changed
 * since the frame before and the addresses of those that went away.  Each
 * frame is compressed on its own, so a reader holds one frame at a time
 * and a recording cut short keeps every frame written before the cut.
 *
 * Functions return 0 or -errno and never set errno; on error diag->msg
 * says what is wrong and where ("FILE: frame N: ...").
 */
#ifndef MTHP_RECORD_H
#define MTHP_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <mthp/snapshot.h>

/* The version written; a reader takes this one and version 1 (no machine lines). */
#define MTHP_REC_VERSION 2

/*
 * The latest time a frame may have, in ms from the start: 366 days.  A
 * reader refuses later frames; the recorder ends there ("duration").
 */
#define MTHP_REC_MAX_TIME_MS (366ull * 86400 * 1000)

/* Why a recording ended: X(end, its name). */
#define MTHP_REC_ENDS(X) \
	X(MTHP_REC_END_SIGNAL, "signal")	/* SIGINT or SIGTERM */ \
	X(MTHP_REC_END_FRAMES, "frames")	/* --frames reached */ \
	X(MTHP_REC_END_DURATION, "duration")	/* --duration or 366 days reached */ \
	X(MTHP_REC_END_EXITED, "exited")	/* the process exited */
#define MTHP_REC_END_VALUE(end, name) end,
enum mthp_rec_end {
	MTHP_REC_ENDS(MTHP_REC_END_VALUE)
	MTHP_REC_NR_ENDS,
};

/* "signal", "frames", "duration", "exited". */
const char *mthp_rec_end_name(enum mthp_rec_end end);

/* What the header says about the recording. */
struct mthp_rec_info {
	pid_t pid;
	char comm[32];		/* the process's name, one token */
	uint32_t interval_ms;
	bool track_writes;	/* frames say which present pages were written */
	uint32_t version;	/* of the file read (the writer writes MTHP_REC_VERSION) */
	/*
	 * The recording host's memory and swap in bytes (MemTotal, SwapTotal);
	 * memory 0 when unknown (a version 1 file, or a writer that did not
	 * know it).
	 */
	uint64_t memory_bytes, swap_bytes;
};

struct mthp_rec_writer {
	FILE *f;
	bool track_writes;		/* the header's */
	struct mthp_snapshot prev;	/* the last frame written */
	uint32_t frames;
	uint64_t bytes;			/* written so far */
	uint64_t changed_pmds;		/* pmd lines written, all frames */
};

/*
 * Start a recording on f: the header with info, the geometry and settings
 * of host (its VMAs and PMDs are not used).  -EIO on a write error.
 */
int mthp_rec_writer_open(struct mthp_rec_writer *w, FILE *f,
			 const struct mthp_rec_info *info,
			 const struct mthp_snapshot *host);
/*
 * Append snap (a snapshot of the host's geometry) as the next frame,
 * taken time_ms after the recording started (never less than the frame
 * before's, at most MTHP_REC_MAX_TIME_MS: -EINVAL past it).  Its settings
 * are not stored: the header's apply.
 */
int mthp_rec_writer_frame(struct mthp_rec_writer *w,
			  const struct mthp_snapshot *snap, uint64_t time_ms);
/*
 * The same, with the present pages of snap written since the frame
 * before (a recording that tracks writes; -EINVAL otherwise, or when a
 * bit is on a page snap does not map).
 */
int mthp_rec_writer_frame_written(struct mthp_rec_writer *w,
				  const struct mthp_snapshot *snap, uint64_t time_ms,
				  const struct mthp_pmd_bits *written);
/* The end block; then free.  f is the caller's to close. */
int mthp_rec_writer_close(struct mthp_rec_writer *w, enum mthp_rec_end end);
/* Free without an end block (the file reads as cut short). */
void mthp_rec_writer_free(struct mthp_rec_writer *w);

struct mthp_rec_reader {
	FILE *f;
	const char *name;		/* for messages */
	struct mthp_rec_info info;
	struct mthp_snapshot host;	/* geometry and settings; no VMAs */
	struct mthp_snapshot frame;	/* the current frame, whole */
	struct mthp_snapshot prev;	/* the frame before it (empty at frame 0) */
	struct mthp_pmd_bits written;	/* pages of frame written since prev
					 * (track_writes; none at frame 0) */
	uint32_t nr_frames;		/* frames read so far */
	uint64_t time_ms;		/* of the current frame */
	size_t changed_pmds;		/* pmd lines the frame held */
	size_t dropped_pmds;		/* ranges it said went away */
	bool ended;			/* the end block was read */
	enum mthp_rec_end end;		/* why, when ended */
	uint8_t *raw, *comp;		/* private buffers */
	size_t raw_cap, comp_cap;
};

/* Read the header.  On error r is freed and diag->msg says why. */
int mthp_rec_reader_open(struct mthp_rec_reader *r, FILE *f, const char *name,
			 struct mthp_diag *diag);
/*
 * Read the next frame into r->frame (whole: the settings of the header,
 * every VMA and every PMD range).  1: a frame; 0: the end block (r->end
 * says why); -EINVAL: corrupt or cut short, naming the frame; -ENOMEM.
 */
int mthp_rec_reader_next(struct mthp_rec_reader *r, struct mthp_diag *diag);
void mthp_rec_reader_free(struct mthp_rec_reader *r);

#endif /* MTHP_RECORD_H */
