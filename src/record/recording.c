// SPDX-License-Identifier: MIT
/*
 * recording.c - the recording file (docs/recording-format.md): blocks of
 * zlib-compressed text, a header, frames as differences of snapshots,
 * and an end block.  The snapshot text inside a block is written and read
 * by the snapshot code itself; this file adds the framing and the
 * differences.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <mthp/engine.h>
#include <mthp/record.h>

#include "common/array.h"
#include "common/msg.h"
#include "common/names.h"

/* A block never holds more than this much text (a 64 TiB process has
 * 32 Mi PMD ranges of 4 KiB pages, about 33 GiB: record less at once). */
#define REC_RAW_MAX (1u << 30)
/* zlib's best ratio is about 1032:1; more claimed is a corrupt length. */
#define REC_RATIO_MAX 1100u

static const char rec_magic[8] = { 'M', 'T', 'H', 'P', 'R', 'E', 'C', '\n' };

static const char *const end_names[MTHP_REC_NR_ENDS] = {
	MTHP_REC_ENDS(MTHP_NAME_ENTRY)
};

const char *mthp_rec_end_name(enum mthp_rec_end end)
{
	return mthp_name_of(end_names, MTHP_REC_NR_ENDS, end, "?");
}

/* ---- writing ---- */

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * One block: tag, text length, compressed length, CRC-32 of the compressed
 * bytes (zlib checks the text itself; this catches a change in the
 * padding bits of deflate's last byte too).
 */
static int write_block(struct mthp_rec_writer *w, const char tag[4],
		       const char *raw, size_t len)
{
	uLongf clen = compressBound((uLong)len);
	uint8_t head[16];
	Bytef *comp;
	int err = 0;

	if (len > REC_RAW_MAX)
		return -E2BIG;
	comp = malloc(clen ? clen : 1);
	if (!comp)
		return -ENOMEM;
	if (compress2(comp, &clen, (const Bytef *)raw, (uLong)len, Z_BEST_SPEED) != Z_OK) {
		free(comp);
		return -ENOMEM;
	}
	memcpy(head, tag, 4);
	put_le32(head + 4, (uint32_t)len);
	put_le32(head + 8, (uint32_t)clen);
	put_le32(head + 12, (uint32_t)crc32(0L, comp, (uInt)clen));
	if (fwrite(head, 1, sizeof(head), w->f) != sizeof(head) ||
	    fwrite(comp, 1, clen, w->f) != clen || fflush(w->f) != 0)
		err = -EIO;
	free(comp);
	if (!err)
		w->bytes += sizeof(head) + clen;
	return err;
}

/* The text of a block, built in memory. */
struct text {
	char *buf;
	size_t len;
	FILE *f;
};

static int text_open(struct text *t)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	return t->f ? 0 : -ENOMEM;
}

static int text_close(struct text *t)
{
	int err = ferror(t->f) ? -ENOMEM : 0;

	if (fclose(t->f) != 0)
		err = -ENOMEM;
	return err;
}

int mthp_rec_writer_open(struct mthp_rec_writer *w, FILE *f,
			 const struct mthp_rec_info *info,
			 const struct mthp_snapshot *host)
{
	struct mthp_snapshot geo_only;
	struct text t;
	int err;

	memset(w, 0, sizeof(*w));
	w->f = f;
	w->track_writes = info->track_writes;
	mthp_snapshot_init(&w->prev, &host->geo);
	if (fwrite(rec_magic, 1, sizeof(rec_magic), f) != sizeof(rec_magic))
		return -EIO;
	w->bytes = sizeof(rec_magic);
	err = text_open(&t);
	if (err)
		return err;
	fprintf(t.f, "mthp-recording %d\npid %d\ncomm %s\ninterval_ms %" PRIu32
		"\ntrack_writes %s\nmemory %" PRIu64 "\nswap %" PRIu64 "\n", MTHP_REC_VERSION,
		(int)info->pid, info->comm[0] ? info->comm : "-", info->interval_ms,
		info->track_writes ? "yes" : "no", info->memory_bytes, info->swap_bytes);
	/* the settings and geometry, without VMAs */
	geo_only = *host;
	geo_only.nr_vmas = 0;
	geo_only.nr_pmds = 0;
	err = mthp_snapshot_write(&geo_only, t.f);
	if (text_close(&t) && !err)
		err = -ENOMEM;
	if (!err)
		err = write_block(w, "HEAD", t.buf, t.len);
	free(t.buf);
	return err;
}

static bool pmd_equal(const struct mthp_snapshot_pmd *a,
		      const struct mthp_snapshot_pmd *b, uint32_t n)
{
	if (a->kind != b->kind || !a->ptes != !b->ptes ||
	    !a->folio_orders != !b->folio_orders)
		return false;
	if (a->ptes && memcmp(a->ptes, b->ptes, n))
		return false;
	return !a->folio_orders || !memcmp(a->folio_orders, b->folio_orders, n);
}

/* Does pmd map a page (a folio) at PTE i? */
static bool maps_page(const struct mthp_snapshot_pmd *pmd, uint32_t i)
{
	switch (pmd->kind) {
	case MTHP_PMD_NONE:
	case MTHP_PMD_ZERO:
		return false;
	case MTHP_PMD_HUGE:
		return true;
	case MTHP_PMD_TABLE:
		return pmd->ptes && mthp_pte_state_has_folio(pmd->ptes[i]);
	}
	return false;
}

/*
 * The first range of written that is not a PMD range of snap, or that has
 * a bit on a page the range does not map; NULL when there is none.
 */
static const uint64_t *written_misfit(const struct mthp_snapshot *snap,
				      const struct mthp_pmd_bits *written, size_t *at)
{
	uint32_t n = snap->geo.ptes_per_pmd;
	size_t p = 0;

	for (size_t k = 0; k < written->nr; k++) {
		const uint64_t *bits = written->bits + k * written->words;

		*at = k;
		while (p < snap->nr_pmds && snap->pmds[p].addr < written->addr[k])
			p++;
		if (p == snap->nr_pmds || snap->pmds[p].addr != written->addr[k])
			return bits;
		for (uint32_t i = 0; i < n; i++)
			if ((bits[i / 64] >> (i % 64) & 1) && !maps_page(&snap->pmds[p], i))
				return bits;
	}
	return NULL;
}

/* "written ADDR HEX": hex digit j holds pages 4j to 4j + 3, lowest bit first. */
static void write_written(FILE *f, const struct mthp_pmd_bits *written, uint32_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t k = 0; k < written->nr; k++) {
		const uint64_t *bits = written->bits + k * written->words;

		fprintf(f, "written %" PRIx64 " ", written->addr[k]);
		for (uint32_t j = 0; j < (n + 3) / 4; j++)
			fputc(hex[bits[j / 16] >> (j % 16 * 4) & 0xf], f);
		fputc('\n', f);
	}
}

int mthp_rec_writer_frame(struct mthp_rec_writer *w,
			  const struct mthp_snapshot *snap, uint64_t time_ms)
{
	return mthp_rec_writer_frame_written(w, snap, time_ms, NULL);
}

int mthp_rec_writer_frame_written(struct mthp_rec_writer *w,
				  const struct mthp_snapshot *snap, uint64_t time_ms,
				  const struct mthp_pmd_bits *written)
{
	struct mthp_snapshot *prev = &w->prev;
	uint32_t n = snap->geo.ptes_per_pmd;
	struct mthp_snapshot diff, copy;
	size_t *same;		/* the equal range of prev, or SIZE_MAX */
	struct text t;
	size_t p = 0, i;
	int err;

	if (snap->geo.page_size != prev->geo.page_size ||
	    snap->geo.ptes_per_pmd != prev->geo.ptes_per_pmd ||
	    time_ms > MTHP_REC_MAX_TIME_MS)
		return -EINVAL;
	if (written && written->nr &&
	    (!w->track_writes || !w->frames || written->words != (n + 63) / 64 ||
	     written_misfit(snap, written, &p)))
		return -EINVAL;
	p = 0;
	same = malloc((snap->nr_pmds + 1) * sizeof(*same));
	if (!same)
		return -ENOMEM;
	err = text_open(&t);
	if (err) {
		free(same);
		return err;
	}
	fprintf(t.f, "frame %" PRIu32 " %" PRIu64 "\n", w->frames, time_ms);
	/* both lists are in address order: one walk finds what changed */
	for (i = 0; i < snap->nr_pmds; i++) {
		const struct mthp_snapshot_pmd *pmd = &snap->pmds[i];

		same[i] = SIZE_MAX;
		for (; p < prev->nr_pmds && prev->pmds[p].addr < pmd->addr; p++)
			fprintf(t.f, "drop %" PRIx64 "\n", prev->pmds[p].addr);
		if (p < prev->nr_pmds && prev->pmds[p].addr == pmd->addr) {
			const struct mthp_snapshot_vma *was = &prev->vmas[prev->pmds[p].vma];
			const struct mthp_snapshot_vma *is = &snap->vmas[pmd->vma];

			/* written again when its VMA's bounds changed: the
			 * reader places a range it carries by them */
			if (pmd_equal(pmd, &prev->pmds[p], n) && was->start == is->start &&
			    was->end == is->end)
				same[i] = p;
			p++;
		}
	}
	for (; p < prev->nr_pmds; p++)
		fprintf(t.f, "drop %" PRIx64 "\n", prev->pmds[p].addr);
	if (written)
		write_written(t.f, written, n);

	/* the VMAs, and the PMD ranges that changed (a VMA's follow it) */
	mthp_snapshot_init(&diff, &snap->geo);
	for (size_t v = 0, k = 0; v < snap->nr_vmas && !err; v++) {
		err = mthp_snapshot_add_vma(&diff, snap->vmas[v].start,
					    snap->vmas[v].end, snap->vmas[v].flags);
		for (; k < snap->nr_pmds && snap->pmds[k].vma == v && !err; k++) {
			const struct mthp_snapshot_pmd *pmd = &snap->pmds[k];

			if (same[k] != SIZE_MAX)
				continue;
			err = mthp_snapshot_add_pmd(&diff, pmd->addr, pmd->kind,
						    pmd->ptes, pmd->folio_orders);
			w->changed_pmds++;
		}
	}
	if (!err)
		err = mthp_snapshot_write(&diff, t.f);
	mthp_snapshot_free(&diff);
	if (text_close(&t) && !err)
		err = -ENOMEM;
	if (!err)
		err = write_block(w, "FRAM", t.buf, t.len);
	free(t.buf);
	/*
	 * Keep this frame, without its settings, for the next difference: an
	 * unchanged range takes the arrays of the equal one kept before.
	 */
	mthp_snapshot_init(&copy, &snap->geo);
	for (size_t v = 0, k = 0; v < snap->nr_vmas && !err; v++) {
		err = mthp_snapshot_add_vma(&copy, snap->vmas[v].start,
					    snap->vmas[v].end, snap->vmas[v].flags);
		for (; k < snap->nr_pmds && snap->pmds[k].vma == v && !err; k++) {
			const struct mthp_snapshot_pmd *pmd = &snap->pmds[k];

			if (same[k] != SIZE_MAX)
				err = mthp_snapshot_take_pmd(&copy, &prev->pmds[same[k]]);
			else
				err = mthp_snapshot_add_pmd(&copy, pmd->addr, pmd->kind,
							    pmd->ptes, pmd->folio_orders);
		}
	}
	free(same);
	if (err) {
		mthp_snapshot_free(&copy);
		return err;
	}
	mthp_snapshot_free(&w->prev);
	w->prev = copy;
	w->frames++;
	return 0;
}

int mthp_rec_writer_close(struct mthp_rec_writer *w, enum mthp_rec_end end)
{
	char buf[64];
	int len, err;

	len = snprintf(buf, sizeof(buf), "end %s %" PRIu32 "\n",
		       mthp_rec_end_name(end), w->frames);
	err = write_block(w, "END.", buf, (size_t)len);
	mthp_rec_writer_free(w);
	return err;
}

void mthp_rec_writer_free(struct mthp_rec_writer *w)
{
	mthp_snapshot_free(&w->prev);
	mthp_snapshot_init(&w->prev, NULL);
}

/* ---- reading ---- */

/* "FILE: frame N: ..." (or "FILE: header: ..." before the first frame). */
static int rec_error(struct mthp_rec_reader *r, struct mthp_diag *diag,
		     const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int rec_error(struct mthp_rec_reader *r, struct mthp_diag *diag,
		     const char *where, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	mthp_msg(diag->msg, sizeof(diag->msg), "%s: %s: %s", r->name, where, what);
	return -EINVAL;
}

/* The compressed bytes of a block are read this many at a time. */
#define REC_READ_PIECE (1u << 20)

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/*
 * Read one block into r->raw (NUL-terminated).  1 and its tag; 0 at the
 * end of the file before a block starts; -EINVAL naming where.
 */
static int read_block(struct mthp_rec_reader *r, char tag[5], size_t *len,
		      const char *where, struct mthp_diag *diag)
{
	uint32_t raw_len, comp_len, crc;
	uint8_t head[16];
	uLongf out_len;
	size_t got;

	got = fread(head, 1, sizeof(head), r->f);
	if (got == 0 && feof(r->f))
		return 0;
	if (got != sizeof(head))
		return rec_error(r, diag, where, "cut short: the file ends inside the block header");
	memcpy(tag, head, 4);
	tag[4] = '\0';
	raw_len = get_le32(head + 4);
	comp_len = get_le32(head + 8);
	crc = get_le32(head + 12);
	if (strcmp(tag, "HEAD") && strcmp(tag, "FRAM") && strcmp(tag, "END."))
		return rec_error(r, diag, where, "not a block (corrupt file)");
	if (raw_len > REC_RAW_MAX || comp_len == 0 ||
	    raw_len / REC_RATIO_MAX > comp_len)
		return rec_error(r, diag, where,
				 "block lengths %" PRIu32 " (text) and %" PRIu32
				 " (compressed) are impossible (corrupt file)",
				 raw_len, comp_len);
	if (comp_len > compressBound(raw_len))
		return rec_error(r, diag, where,
				 "block lengths %" PRIu32 " (text) and %" PRIu32
				 " (compressed) are impossible (corrupt file)",
				 raw_len, comp_len);
	/*
	 * In pieces, the buffer growing as they arrive: a damaged length
	 * meets the end of the file before it costs memory the file lacks.
	 */
	for (size_t at = 0; at < comp_len;) {
		size_t want = comp_len - at < REC_READ_PIECE ? comp_len - at : REC_READ_PIECE;
		size_t cap = r->comp_cap * 2 > at + want ? r->comp_cap * 2 : at + want;

		if (grow(&r->comp, &r->comp_cap, cap < comp_len ? cap : comp_len))
			return -ENOMEM;
		if (fread(r->comp + at, 1, want, r->f) != want)
			return rec_error(r, diag, where,
					 "cut short: the file ends inside the block");
		at += want;
	}
	if (grow(&r->raw, &r->raw_cap, (size_t)raw_len + 1))
		return -ENOMEM;
	if ((uint32_t)crc32(0L, r->comp, comp_len) != crc)
		return rec_error(r, diag, where, "checksum mismatch (corrupt file)");
	out_len = raw_len;
	if (uncompress(r->raw, &out_len, r->comp, comp_len) != Z_OK || out_len != raw_len)
		return rec_error(r, diag, where, "the compressed data is corrupt");
	r->raw[raw_len] = '\0';
	if (memchr(r->raw, '\0', raw_len))
		return rec_error(r, diag, where, "a NUL byte in the text (corrupt file)");
	*len = raw_len;
	return 1;
}

/* The next line of text at *pos (without its newline); NULL at the end. */
static char *next_line(char *text, size_t len, size_t *pos)
{
	char *line, *nl;

	if (*pos >= len)
		return NULL;
	line = text + *pos;
	nl = memchr(line, '\n', len - *pos);
	if (nl) {
		*nl = '\0';
		*pos = (size_t)(nl - text) + 1;
	} else {
		*pos = len;
	}
	return line;
}

static int parse_u64(const char *s, int base, uint64_t max, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, base);
	if (errno || *end || *v > max) {
		errno = 0;
		return -EINVAL;
	}
	return 0;
}

/* "KEY VALUE" of the header: the value after "KEY ", or NULL. */
static const char *header_value(const char *line, const char *key)
{
	size_t n = strlen(key);

	return !strncmp(line, key, n) && line[n] == ' ' ? line + n + 1 : NULL;
}

static int parse_header(struct mthp_rec_reader *r, char *text, size_t len,
			struct mthp_diag *diag)
{
	static const char *const keys[] = { "mthp-recording", "pid", "comm", "interval_ms",
					    "track_writes", "memory", "swap" };
	size_t pos = 0, snap_at, nr_keys = 5;
	uint64_t v;
	char where[64];
	int err;

	for (size_t k = 0; k < nr_keys; k++) {
		const char *line, *val;

		snprintf(where, sizeof(where), "header line %zu", k + 1);
		line = next_line(text, len, &pos);
		val = line ? header_value(line, keys[k]) : NULL;
		if (!val)
			return rec_error(r, diag, where, "expected '%s VALUE'", keys[k]);
		switch (k) {
		case 0:
			if (parse_u64(val, 10, UINT32_MAX, &v))
				return rec_error(r, diag, where, "bad version '%.20s'", val);
			if (v != 1 && v != MTHP_REC_VERSION)
				return rec_error(r, diag, where,
						 "format version %" PRIu64
						 " is not one this mthp reads (1 or %d)",
						 v, MTHP_REC_VERSION);
			r->info.version = (uint32_t)v;
			nr_keys = v == 1 ? 5 : 7;
			break;
		case 1:
			if (parse_u64(val, 10, 0x3fffffff, &v) || v == 0)
				return rec_error(r, diag, where, "bad pid '%.20s'", val);
			r->info.pid = (pid_t)v;
			break;
		case 2:
			if (!*val || strlen(val) >= sizeof(r->info.comm) || strchr(val, ' '))
				return rec_error(r, diag, where, "bad comm '%.40s'", val);
			strcpy(r->info.comm, val);
			break;
		case 3:
			if (parse_u64(val, 10, UINT32_MAX, &v))
				return rec_error(r, diag, where, "bad interval '%.20s'", val);
			r->info.interval_ms = (uint32_t)v;
			break;
		case 4:
			if (strcmp(val, "yes") && strcmp(val, "no"))
				return rec_error(r, diag, where,
						 "track_writes is '%.20s', not yes or no", val);
			r->info.track_writes = !strcmp(val, "yes");
			break;
		case 5:
		case 6:
			if (parse_u64(val, 10, UINT64_MAX, &v))
				return rec_error(r, diag, where, "bad %s size '%.30s' (bytes)",
						 keys[k], val);
			*(k == 5 ? &r->info.memory_bytes : &r->info.swap_bytes) = v;
			break;
		}
	}
	snap_at = pos;
	snprintf(where, sizeof(where), "%s header", r->name);
	err = mthp_snapshot_read_mem(&r->host, text + snap_at, len - snap_at, where, diag);
	if (err)
		return err;
	if (r->host.nr_vmas)
		return rec_error(r, diag, "header", "the header holds VMAs (corrupt file)");
	return 0;
}

int mthp_rec_reader_open(struct mthp_rec_reader *r, FILE *f, const char *name,
			 struct mthp_diag *diag)
{
	char magic[sizeof(rec_magic)], tag[5];
	size_t len;
	int err;

	memset(r, 0, sizeof(*r));
	r->f = f;
	r->name = name ? name : "recording";
	mthp_snapshot_init(&r->host, NULL);
	mthp_snapshot_init(&r->frame, NULL);
	mthp_snapshot_init(&r->prev, NULL);
	diag->msg[0] = '\0';
	if (fread(magic, 1, sizeof(magic), f) != sizeof(magic) ||
	    memcmp(magic, rec_magic, sizeof(magic))) {
		err = rec_error(r, diag, "header", "not an mthp recording (no MTHPREC at the start)");
		goto out;
	}
	err = read_block(r, tag, &len, "header", diag);
	if (err == 0)
		err = rec_error(r, diag, "header", "cut short: no header block");
	if (err < 0)
		goto out;
	if (strcmp(tag, "HEAD")) {
		err = rec_error(r, diag, "header", "the first block is not the header");
		goto out;
	}
	err = parse_header(r, (char *)r->raw, len, diag);
	if (!err)
		mthp_pmd_bits_init(&r->written, &r->host.geo);
out:
	if (err < 0)
		mthp_rec_reader_free(r);
	return err < 0 ? err : 0;
}

/* The drop lines of a frame, in increasing address order. */
struct drops {
	uint64_t *addr;
	size_t nr, cap;
};

/* "ADDR HEX" of a written line (see write_written()) into r->written. */
static int parse_written(struct mthp_rec_reader *r, char *text, const char *where,
			 struct mthp_diag *diag)
{
	uint32_t n = r->host.geo.ptes_per_pmd, digits = (n + 3) / 4;
	char *sp = strchr(text, ' ');
	uint64_t addr, *bits;
	int err;

	if (!r->info.track_writes)
		return rec_error(r, diag, where,
				 "a written line in a recording that does not track writes");
	if (!sp)
		return rec_error(r, diag, where, "expected 'written ADDR BITS'");
	*sp = '\0';
	if (parse_u64(text, 16, UINT64_MAX, &addr) || addr % mthp_pmd_size(&r->host.geo))
		return rec_error(r, diag, where, "bad written address '%.20s'", text);
	if (r->written.nr && addr <= r->written.addr[r->written.nr - 1])
		return rec_error(r, diag, where,
				 "written %" PRIx64 " is not in increasing order", addr);
	if (strlen(sp + 1) != digits)
		return rec_error(r, diag, where,
				 "written %" PRIx64 ": %zu hex digits, not %" PRIu32 " (one a 4 pages)",
				 addr, strlen(sp + 1), digits);
	bits = calloc(r->written.words, sizeof(*bits));
	if (!bits)
		return -ENOMEM;
	for (uint32_t j = 0; j < digits; j++) {
		char c = sp[1 + j];
		uint64_t v = c >= '0' && c <= '9' ? (uint64_t)(c - '0') :
			     c >= 'a' && c <= 'f' ? (uint64_t)(c - 'a' + 10) : 16;

		if (v == 16 || (4 * j + 4 > n && v >> (n - 4 * j))) {
			free(bits);
			return rec_error(r, diag, where,
					 "written %" PRIx64 ": bad digit '%c' at %" PRIu32,
					 addr, c, j + 1);
		}
		bits[j / 16] |= v << (j % 16 * 4);
	}
	err = mthp_pmd_bits_or(&r->written, addr, bits);
	free(bits);
	return err;
}

static int parse_frame_head(struct mthp_rec_reader *r, char *text, size_t len,
			    size_t *pos, struct drops *d, const char *where,
			    struct mthp_diag *diag)
{
	uint64_t index, t, addr;
	char *line, *sp;
	int err;

	line = next_line(text, len, pos);
	sp = line ? strchr(line, ' ') : NULL;
	if (!line || strncmp(line, "frame ", 6) || !(sp = strchr(line + 6, ' ')))
		return rec_error(r, diag, where, "expected 'frame N TIME_MS'");
	*sp = '\0';
	if (parse_u64(line + 6, 10, UINT32_MAX, &index) || index != r->nr_frames)
		return rec_error(r, diag, where, "says it is frame '%.20s'", line + 6);
	if (parse_u64(sp + 1, 10, UINT64_MAX, &t) || (r->nr_frames && t < r->time_ms))
		return rec_error(r, diag, where,
				 "time '%.20s' is not a number of ms at or after the frame before",
				 sp + 1);
	if (t > MTHP_REC_MAX_TIME_MS)
		return rec_error(r, diag, where, "time %" PRIu64 " ms is past the latest a "
				 "recording may have, %llu ms (366 days)", t,
				 (unsigned long long)MTHP_REC_MAX_TIME_MS);
	r->time_ms = t;
	while (*pos < len && !strncmp(text + *pos, "drop ", 5)) {
		line = next_line(text, len, pos);
		if (parse_u64(line + 5, 16, UINT64_MAX, &addr))
			return rec_error(r, diag, where, "bad drop address '%.20s'", line + 5);
		if (d->nr && addr <= d->addr[d->nr - 1])
			return rec_error(r, diag, where,
					 "drop %" PRIx64 " is not in increasing order", addr);
		if (mthp_array_grow((void **)&d->addr, &d->cap, d->nr, sizeof(*d->addr)))
			return -ENOMEM;
		d->addr[d->nr++] = addr;
	}
	mthp_pmd_bits_clear(&r->written);
	while (*pos < len && !strncmp(text + *pos, "written ", 8)) {
		err = parse_written(r, next_line(text, len, pos) + 8, where, diag);
		if (err)
			return err;
	}
	return 0;
}

/* Walks the PMD ranges of a new frame in address order. */
struct merge {
	const struct mthp_snapshot *prev, *diff;
	const struct drops *d;
	size_t p, q, x;
	bool bad_drop;		/* d->addr[x] is not a range of prev */
};

/*
 * The next PMD range of the new frame, or NULL: the frame before's, unless
 * dropped or changed, and the frame's own.  NULL and bad_drop for a drop
 * of a range the frame before did not have.
 */
static const struct mthp_snapshot_pmd *merge_peek(struct merge *m)
{
	const struct mthp_snapshot *prev = m->prev, *diff = m->diff;

	for (;;) {
		if (m->x < m->d->nr &&
		    (m->p >= prev->nr_pmds || m->d->addr[m->x] < prev->pmds[m->p].addr)) {
			m->bad_drop = true;
			return NULL;
		}
		if (m->x < m->d->nr && m->d->addr[m->x] == prev->pmds[m->p].addr) {
			m->p++;
			m->x++;
			continue;
		}
		if (m->p < prev->nr_pmds && m->q < diff->nr_pmds &&
		    prev->pmds[m->p].addr == diff->pmds[m->q].addr) {
			m->p++;	/* changed: the frame's line replaces it */
			continue;
		}
		break;
	}
	if (m->p < prev->nr_pmds &&
	    (m->q >= diff->nr_pmds || prev->pmds[m->p].addr < diff->pmds[m->q].addr))
		return &prev->pmds[m->p];
	return m->q < diff->nr_pmds ? &diff->pmds[m->q] : NULL;
}

static void merge_take(struct merge *m, const struct mthp_snapshot_pmd *pmd)
{
	if (m->p < m->prev->nr_pmds && pmd == &m->prev->pmds[m->p])
		m->p++;
	else
		m->q++;
}

/* The VMA of diff with the same bounds as vma; diff->nr_vmas when none. */
static size_t same_vma(const struct mthp_snapshot *diff,
		       const struct mthp_snapshot_vma *vma)
{
	size_t lo = 0, hi = diff->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (diff->vmas[mid].start < vma->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < diff->nr_vmas && diff->vmas[lo].start == vma->start &&
	       diff->vmas[lo].end == vma->end ? lo : diff->nr_vmas;
}

/*
 * The new frame: the VMAs of diff, the PMD ranges of the frame before
 * that were neither dropped nor changed (each under the VMA of the same
 * bounds as before), and those of diff; with the header's settings.
 */
static int apply_diff(struct mthp_rec_reader *r, struct mthp_snapshot *diff,
		      const struct drops *d, struct mthp_snapshot *out,
		      const char *where, struct mthp_diag *diag)
{
	struct merge m = { .prev = &r->frame, .diff = diff, .d = d };
	const struct mthp_snapshot_pmd *pmd;
	size_t next_vma = 0;
	int err = 0;

	mthp_snapshot_init(out, &r->host.geo);
	for (size_t i = 0; i < r->host.nr_settings && !err; i++)
		err = mthp_snapshot_add_setting(out, r->host.settings[i].key,
						r->host.settings[i].value);
	while (!err && (pmd = merge_peek(&m))) {
		bool carried = m.p < r->frame.nr_pmds && pmd == &r->frame.pmds[m.p];
		size_t v = carried ? same_vma(diff, &r->frame.vmas[pmd->vma]) : pmd->vma;

		if (v == diff->nr_vmas)
			return rec_error(r, diag, where,
					 "the VMA of PMD range %" PRIx64 " is gone but the range is not dropped",
					 pmd->addr);
		if (v + 1 < next_vma)
			return rec_error(r, diag, where,
					 "PMD range %" PRIx64 " belongs to a VMA before the one of the range below it",
					 pmd->addr);
		while (next_vma <= v && !err) {
			const struct mthp_snapshot_vma *vma = &diff->vmas[next_vma++];

			err = mthp_snapshot_add_vma(out, vma->start, vma->end, vma->flags);
		}
		/* both checked when read: copied, or taken from the diff */
		if (!err)
			err = carried ? mthp_snapshot_copy_pmd(out, pmd) :
			      mthp_snapshot_take_pmd(out, &diff->pmds[m.q]);
		if (err == -EINVAL)
			return rec_error(r, diag, where,
					 "PMD range %" PRIx64 " does not fit its VMA", pmd->addr);
		merge_take(&m, pmd);
	}
	while (next_vma < diff->nr_vmas && !err) {
		const struct mthp_snapshot_vma *vma = &diff->vmas[next_vma++];

		err = mthp_snapshot_add_vma(out, vma->start, vma->end, vma->flags);
	}
	if (!err && m.bad_drop)
		return rec_error(r, diag, where,
				 "drop %" PRIx64 " names no PMD range of the frame before",
				 d->addr[m.x]);
	return err;
}

int mthp_rec_reader_next(struct mthp_rec_reader *r, struct mthp_diag *diag)
{
	struct mthp_snapshot diff, next;
	struct drops d = { 0 };
	char where[64], name[300], tag[5];
	size_t len, pos = 0;
	int err;

	diag->msg[0] = '\0';
	if (r->ended)
		return 0;
	snprintf(where, sizeof(where), "frame %" PRIu32, r->nr_frames);
	err = read_block(r, tag, &len, where, diag);
	if (err == 0)
		return rec_error(r, diag, where,
				 "cut short: the file ends after %" PRIu32
				 " frames without its end block", r->nr_frames);
	if (err < 0)
		return err;
	if (!strcmp(tag, "END.")) {
		char reason[16];
		unsigned frames;
		int e;

		snprintf(where, sizeof(where), "end block after %" PRIu32 " frames",
			 r->nr_frames);

		if (sscanf((char *)r->raw, "end %15s %u", reason, &frames) != 2)
			return rec_error(r, diag, where, "expected 'end REASON FRAMES'");
		e = mthp_name_find(end_names, MTHP_REC_NR_ENDS, reason);
		if (e < 0)
			return rec_error(r, diag, where, "unknown reason '%s'", reason);
		r->end = (enum mthp_rec_end)e;
		r->ended = true;
		if (frames != r->nr_frames) {
			r->ended = false;
			return rec_error(r, diag, where,
					 "says %u frames, the file holds %" PRIu32,
					 frames, r->nr_frames);
		}
		/* the end block is the last: what follows it is damage */
		if (fgetc(r->f) != EOF) {
			r->ended = false;
			return rec_error(r, diag, where, "bytes follow the end block");
		}
		return 0;
	}
	if (strcmp(tag, "FRAM"))
		return rec_error(r, diag, where, "a second header block");
	err = parse_frame_head(r, (char *)r->raw, len, &pos, &d, where, diag);
	if (!err && r->nr_frames == 0 && r->written.nr)
		err = rec_error(r, diag, where, "written lines in the first frame, which has"
				" no frame before it");
	if (err)
		goto out;
	snprintf(name, sizeof(name), "%s: %s", r->name, where);
	err = mthp_snapshot_read_mem(&diff, (char *)r->raw + pos, len - pos, name, diag);
	if (err)
		goto out;
	if (diff.geo.page_size != r->host.geo.page_size ||
	    diff.geo.ptes_per_pmd != r->host.geo.ptes_per_pmd) {
		err = rec_error(r, diag, where, "page size %u differs from the header's %u",
				diff.geo.page_size, r->host.geo.page_size);
	} else {
		size_t at;

		err = apply_diff(r, &diff, &d, &next, where, diag);
		if (!err && written_misfit(&next, &r->written, &at))
			err = rec_error(r, diag, where,
					"written %" PRIx64 " marks a page the frame does not map",
					r->written.addr[at]);
		if (err) {
			mthp_snapshot_free(&next);
		} else {
			mthp_snapshot_free(&r->prev);
			r->prev = r->frame;
			r->frame = next;
			r->changed_pmds = diff.nr_pmds;
			r->dropped_pmds = d.nr;
			r->nr_frames++;
		}
	}
	mthp_snapshot_free(&diff);
out:
	free(d.addr);
	return err < 0 ? err : 1;
}

void mthp_rec_reader_free(struct mthp_rec_reader *r)
{
	mthp_pmd_bits_free(&r->written);
	mthp_snapshot_free(&r->host);
	mthp_snapshot_free(&r->frame);
	mthp_snapshot_free(&r->prev);
	mthp_snapshot_init(&r->host, NULL);
	mthp_snapshot_init(&r->frame, NULL);
	mthp_snapshot_init(&r->prev, NULL);
	free(r->raw);
	free(r->comp);
	r->raw = r->comp = NULL;
	r->raw_cap = r->comp_cap = 0;
}
