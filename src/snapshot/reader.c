// SPDX-License-Identifier: MIT
/*
 * reader.c - the text of format 1 or 2 into a struct mthp_snapshot: lines,
 * fields, numbers, the header and the geometry lines, and the checks that
 * belong to the text (field counts, string lengths, characters).  What a
 * vma or pmd may be is checked by the builders (build.c); setting values
 * by knobs.c once the geometry is fixed.
 *
 * The reader works on a buffer with explicit lengths and never looks past
 * it: NUL bytes, CRs, huge lines and a missing last newline are all just
 * bytes.  The geometry is fixed at the first vma line (or the end of the
 * input): page_size and ptes_per_pmd may not come later, and the setting
 * lines read so far are checked then, each at its own line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The most fields a known line has: pmd ADDR table PTES FOLIOS, plus one extra. */
#define MAX_TOKS 6


struct tok {
	const char *s;
	size_t len;
};

/* The two lines that set the geometry, either of which fixes it. */
enum { GEO_PAGE_SIZE, GEO_PTES, NR_GEO_KEYS };

static const struct {
	const char *name;
	const char *allowed;
	int (*geometry)(struct mthp_geometry *geo, uint64_t value);
} geo_keys[NR_GEO_KEYS] = {
	[GEO_PAGE_SIZE] = { "page_size", "4096, 16384 or 65536", mthp_geometry_from_page_size },
	[GEO_PTES] = { "ptes_per_pmd", "512, 2048 or 8192", mthp_geometry_from_ptes },
};

struct reader {
	struct mthp_snapshot *snap;
	const char *name;
	struct mthp_diag *diag;
	unsigned line;
	unsigned header_line;		/* 0 until the header is read */
	unsigned version;		/* 1 or 2, from the header */
	unsigned end_line;		/* format 2: the 'end' line, 0 until read */
	unsigned geo_line[NR_GEO_KEYS];	/* 0 if none */
	uint64_t geo_value[NR_GEO_KEYS];	/* as the line gave it */
	struct mthp_geometry geo_of[NR_GEO_KEYS];	/* what the value makes */
	bool geo_fixed;			/* after the first vma line */
	struct mthp_settings scratch;	/* the setting lines so far, once fixed */
	uint8_t *orders;		/* FOLIOS of one line, N bytes, once fixed */
	char why[256];
};

static int fail(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* An error at the current line; always -EINVAL. */
static int fail(struct reader *r, const char *fmt, ...)
{
	char msg[sizeof(r->diag->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snap_error(r->diag, r->name, r->line, "%s", msg);
	return -EINVAL;
}

/* An error from a builder: its message, or out of memory. */
static int fail_why(struct reader *r, int err)
{
	if (err == -ENOMEM)
		snap_error(r->diag, r->name, r->line, "out of memory");
	else
		fail(r, "%s", r->why);
	return err;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool tok_is(const struct tok *t, const char *s)
{
	return t->len == strlen(s) && !memcmp(t->s, s, t->len);
}

/* Split a trimmed line; *n counts every field, at most MAX_TOKS are kept. */
static void tokenize(const char *s, size_t len, struct tok *t, size_t *n)
{
	size_t i = 0;

	*n = 0;
	while (i < len) {
		size_t start;

		while (i < len && is_space(s[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !is_space(s[i]))
			i++;
		if (*n < MAX_TOKS)
			t[*n] = (struct tok){ s + start, i - start };
		(*n)++;
	}
}

/* A digit's value, hex letters in either case; 16 for any other byte. */
static unsigned digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 16;
}

/*
 * A token of base 10 or 16 digits as a number; false when empty, with
 * another byte, or when one more digit could overflow 64 bits.
 */
static bool parse_base(const struct tok *t, unsigned base, uint64_t *out)
{
	uint64_t v = 0;

	if (!t->len)
		return false;
	for (size_t i = 0; i < t->len; i++) {
		unsigned d = digit_value(t->s[i]);

		if (d >= base || v > (UINT64_MAX - (base - 1)) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool parse_hex(const struct tok *t, uint64_t *out)
{
	return parse_base(t, 16, out);
}

static bool parse_dec(const struct tok *t, uint64_t *out)
{
	return parse_base(t, 10, out);
}

static const char *quote(char *buf, size_t buflen, const struct tok *t)
{
	snap_quote(buf, buflen, t->s, t->len);
	return buf;
}

/*
 * The line has exactly the fields named in fields[] after its kind;
 * usage is the line's syntax, for the message.
 */
static int check_fields(struct reader *r, const char *kind, const struct tok *t,
			size_t n, const char *const *fields, size_t nfields,
			const char *usage)
{
	char q[64];

	if (n - 1 < nfields)
		return fail(r, "%s line: missing %s (expected '%s')", kind,
			    fields[n - 1], usage);
	if (n - 1 > nfields)
		return fail(r, "%s line: unexpected extra field '%s'", kind,
			    quote(q, sizeof(q), &t[nfields + 1]));
	return 0;
}

static int read_header(struct reader *r, const struct tok *t, size_t n)
{
	static const char *const fields[] = { "VERSION" };
	uint64_t version;
	char q[64];
	int err;

	if (r->header_line)
		return fail(r, "duplicate header (first on line %u)", r->header_line);
	err = check_fields(r, "header", t, n, fields, 1, "mthp-snapshot 2");
	if (err)
		return err;
	if (!parse_dec(&t[1], &version) || version < 1 || version > 2)
		return fail(r, "unsupported snapshot version '%s' (this reader knows "
			    "'mthp-snapshot 1' and 'mthp-snapshot 2')", quote(q, sizeof(q), &t[1]));
	r->header_line = r->line;
	r->version = (unsigned)version;
	return 0;
}

/* Format 2: the last line, so that a file cut short is an error. */
static int read_end(struct reader *r, const struct tok *t, size_t n)
{
	(void)t;
	if (r->version < 2)
		return fail(r, "'end' line in a format-1 snapshot (it came with format 2)");
	if (n != 1)
		return fail(r, "'end' line: no fields expected (usage: end)");
	r->end_line = r->line;
	return 0;
}

/*
 * page_size or ptes_per_pmd (key): once, before the first vma, one number
 * of the allowed ones, and making the same geometry as the other if given.
 */
static int read_geometry(struct reader *r, unsigned key, const struct tok *t, size_t n)
{
	static const char *const fields[] = { "N" };
	const char *kind = geo_keys[key].name;
	unsigned other = key == GEO_PAGE_SIZE ? GEO_PTES : GEO_PAGE_SIZE;
	const struct mthp_geometry *pages;
	struct mthp_geometry geo;
	char usage[32], q[64];
	uint64_t v;
	int err;

	snprintf(usage, sizeof(usage), "%s N", kind);
	err = check_fields(r, kind, t, n, fields, 1, usage);
	if (err)
		return err;
	if (r->geo_line[key])
		return fail(r, "duplicate %s (first on line %u)", kind, r->geo_line[key]);
	if (r->geo_fixed)
		return fail(r, "%s after the first vma line: it must come before",
			    kind);
	if (!parse_dec(&t[1], &v))
		return fail(r, "%s '%s': not a decimal number", kind,
			    quote(q, sizeof(q), &t[1]));
	if (geo_keys[key].geometry(&geo, v))
		return fail(r, "%s %llu: must be %s", kind, (unsigned long long)v,
			    geo_keys[key].allowed);
	if (r->geo_line[other] && r->geo_of[other].page_size != geo.page_size) {
		pages = key == GEO_PAGE_SIZE ? &geo : &r->geo_of[other];
		return fail(r, "%s %llu does not match %s %llu of line %u (%llu-byte pages have %u PTEs per PMD)",
			    kind, (unsigned long long)v, geo_keys[other].name,
			    (unsigned long long)r->geo_value[other], r->geo_line[other],
			    (unsigned long long)pages->page_size, pages->ptes_per_pmd);
	}
	r->geo_value[key] = v;
	r->geo_of[key] = geo;
	r->geo_line[key] = r->line;
	return 0;
}

static int read_page_size(struct reader *r, const struct tok *t, size_t n)
{
	return read_geometry(r, GEO_PAGE_SIZE, t, n);
}

static int read_ptes_per_pmd(struct reader *r, const struct tok *t, size_t n)
{
	return read_geometry(r, GEO_PTES, t, n);
}

/*
 * Fix the geometry (the defaults fill in what the lines left out) and
 * check the setting lines read so far against it.
 */
static int fix_geometry(struct reader *r)
{
	struct mthp_snapshot *snap = r->snap;
	struct mthp_geometry geo = { 4096, 512, 9 };

	if (r->geo_fixed)
		return 0;
	for (unsigned k = 0; k < NR_GEO_KEYS; k++) {
		if (r->geo_line[k]) {
			geo = r->geo_of[k];
			break;
		}
	}
	snap->geo = geo;
	r->orders = malloc(geo.ptes_per_pmd);
	if (!r->orders) {
		snap_error(r->diag, r->name, r->line, "out of memory");
		return -ENOMEM;
	}
	r->geo_fixed = true;
	mthp_settings_init(&r->scratch, &geo);
	for (size_t i = 0; i < snap->nr_settings; i++) {
		int err = snap_apply_setting(&r->scratch, &snap->settings[i],
					     r->name, r->diag);
		if (err)
			return err;
	}
	return 0;
}

static int read_setting(struct reader *r, const struct tok *t, size_t n)
{
	static const char *const fields[] = { "KEY", "VALUE" };
	struct mthp_snapshot *snap = r->snap;
	int err;

	err = check_fields(r, "setting", t, n, fields, 2, "setting KEY VALUE");
	if (err)
		return err;
	err = snap_add_setting(snap, t[1].s, t[1].len, t[2].s, t[2].len,
			       r->line, r->why, sizeof(r->why));
	if (err)
		return fail_why(r, err);
	if (!r->geo_fixed)
		return 0;
	return snap_apply_setting(&r->scratch, &snap->settings[snap->nr_settings - 1],
				  r->name, r->diag);
}

static int read_vma(struct reader *r, const struct tok *t, size_t n)
{
	static const char *const fields[] = { "START", "END", "FLAGS" };
	uint64_t start, end;
	uint32_t flags;
	char *unknown;
	char q[64];
	int err;

	err = check_fields(r, "vma", t, n, fields, 3, "vma START END FLAGS");
	if (err)
		return err;
	err = fix_geometry(r);
	if (err)
		return err;
	if (!parse_hex(&t[1], &start))
		return fail(r, "vma line: START '%s' is not a 64-bit hex number",
			    quote(q, sizeof(q), &t[1]));
	if (!parse_hex(&t[2], &end))
		return fail(r, "vma line: END '%s' is not a 64-bit hex number",
			    quote(q, sizeof(q), &t[2]));
	/* (an END of all ones stands for the top of the address space) */
	if (start < end && ((start | (end == UINT64_MAX ? 0 : end)) &
			    (r->snap->geo.page_size - 1)))
		return fail(r, "vma line: %llx-%llx does not start and end on a page boundary "
			    "(%u-byte pages), as a VMA does", (unsigned long long)start,
			    (unsigned long long)end, r->snap->geo.page_size);
	unknown = malloc(t[3].len + 1);
	if (!unknown)
		return fail_why(r, -ENOMEM);
	err = snap_flags_parse(t[3].s, t[3].len, &flags, unknown, t[3].len + 1,
			       r->why, sizeof(r->why));
	if (err) {
		err = fail(r, "vma line: %s", r->why);
		goto out_free_unknown;
	}
	err = snap_add_vma(r->snap, start, end, flags, unknown, r->line,
			   r->why, sizeof(r->why));
	if (err)
		fail_why(r, err);
out_free_unknown:
	free(unknown);
	return err;
}

/* FOLIOS into r->orders: digits 0-9 a-d, or '-' for no folio. */
static int read_folios(struct reader *r, const struct tok *t)
{
	uint32_t nr = r->snap->geo.ptes_per_pmd;
	char q[16];

	if (t->len != nr)
		return fail(r, "pmd line: FOLIOS has %zu characters, expected %u",
			    t->len, nr);
	for (uint32_t i = 0; i < nr; i++) {
		const char *d = memchr(SNAP_FOLIO_DIGITS, t->s[i],
					  sizeof(SNAP_FOLIO_DIGITS) - 1);

		if (t->s[i] == '-') {
			r->orders[i] = MTHP_NO_FOLIO;
			continue;
		}
		if (!d) {
			snap_quote(q, sizeof(q), &t->s[i], 1);
			return fail(r, "pmd line: bad FOLIOS character '%s' at position %u (expected 0-9, a-d or '-')",
				    q, i);
		}
		r->orders[i] = (uint8_t)(d - SNAP_FOLIO_DIGITS);
	}
	return 0;
}

static int read_pmd_kind(struct reader *r, const struct tok *t, size_t n,
			 enum mthp_pmd_kind *kind)
{
	static const char *const fields[] = { "ADDR", "KIND", "PTES", "FOLIOS" };
	static const char *const usage = "pmd ADDR none|huge|zero|table PTES [FOLIOS]";
	char q[64];

	if (n < 3)
		return check_fields(r, "pmd", t, n, fields, 2, usage);
	if (tok_is(&t[2], "none"))
		*kind = MTHP_PMD_NONE;
	else if (tok_is(&t[2], "huge"))
		*kind = MTHP_PMD_HUGE;
	else if (tok_is(&t[2], "table"))
		*kind = MTHP_PMD_TABLE;
	else if (tok_is(&t[2], "zero") && r->version >= 2)
		*kind = MTHP_PMD_ZERO;
	else if (tok_is(&t[2], "zero"))
		return fail(r, "pmd line: kind 'zero' in a format-1 snapshot (it came with "
			    "format 2)");
	else
		return fail(r, "pmd line: unknown kind '%s' (expected none, huge, zero or table)",
			    quote(q, sizeof(q), &t[2]));
	if (*kind != MTHP_PMD_TABLE)
		return check_fields(r, "pmd", t, n, fields, 2, usage);
	return check_fields(r, "pmd", t, n, fields, n <= 4 ? 3 : 4, usage);
}

static int read_pmd(struct reader *r, const struct tok *t, size_t n)
{
	uint32_t nr = r->snap->geo.ptes_per_pmd;
	enum mthp_pmd_kind kind = MTHP_PMD_NONE;
	const uint8_t *ptes = NULL, *orders = NULL;
	uint64_t addr;
	char q[64];
	int err;

	err = read_pmd_kind(r, t, n, &kind);
	if (err)
		return err;
	if (!r->snap->nr_vmas)
		return fail(r, "pmd line before any vma line");
	if (!parse_hex(&t[1], &addr))
		return fail(r, "pmd line: ADDR '%s' is not a 64-bit hex number",
			    quote(q, sizeof(q), &t[1]));
	/* format 1: the range starts inside its vma; format 2: it overlaps it */
	if (r->version < 2 && addr < r->snap->vmas[r->snap->nr_vmas - 1].start)
		return fail(r, "pmd %llx is outside its vma %llx-%llx (format 1 wants the "
			    "range's start inside; format 2 takes any overlap)",
			    (unsigned long long)addr,
			    (unsigned long long)r->snap->vmas[r->snap->nr_vmas - 1].start,
			    (unsigned long long)r->snap->vmas[r->snap->nr_vmas - 1].end);
	if (kind == MTHP_PMD_TABLE) {
		if (t[3].len != nr)
			return fail(r, "pmd line: PTES has %zu characters, expected %u",
				    t[3].len, nr);
		ptes = (const uint8_t *)t[3].s;
		if (n == 5) {
			err = read_folios(r, &t[4]);
			if (err)
				return err;
			orders = r->orders;
		}
	}
	err = snap_add_pmd(r->snap, addr, kind, ptes, orders, r->line, r->why,
			   sizeof(r->why));
	return err ? fail_why(r, err) : 0;
}

static const struct line_kind {
	const char *name;
	int (*read)(struct reader *r, const struct tok *t, size_t n);
} line_kinds[] = {
	{ "mthp-snapshot", read_header },
	{ "page_size", read_page_size },
	{ "ptes_per_pmd", read_ptes_per_pmd },
	{ "setting", read_setting },
	{ "vma", read_vma },
	{ "pmd", read_pmd },
	{ "end", read_end },
};

static int read_line(struct reader *r, const char *line, size_t len)
{
	const char *s = line, *nul;
	struct tok t[MAX_TOKS];
	size_t n;
	char q[64];

	while (len && is_space(*s)) {
		s++;
		len--;
	}
	while (len && is_space(s[len - 1]))
		len--;
	if (!len || *s == '#')
		return 0;
	nul = memchr(s, '\0', len);
	if (nul)
		return fail(r, "NUL byte at column %zu", (size_t)(nul - line) + 1);
	tokenize(s, len, t, &n);
	if (!r->header_line && !tok_is(&t[0], "mthp-snapshot"))
		return fail(r, "missing header 'mthp-snapshot 2' (or 1)");
	if (r->end_line)
		return fail(r, "a line after the 'end' line (line %u)", r->end_line);
	for (size_t i = 0; i < ARRAY_SIZE(line_kinds); i++)
		if (tok_is(&t[0], line_kinds[i].name))
			return line_kinds[i].read(r, t, n);
	snap_warn(r->diag, r->name, r->line, "unknown line kind '%s' skipped",
		  quote(q, sizeof(q), &t[0]));
	return 0;
}

static int read_all(struct reader *r, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	int err;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		r->line++;
		err = read_line(r, p, (size_t)(eol - p));
		if (err)
			return err;
		p = nl ? nl + 1 : end;
	}
	if (!r->header_line) {
		r->line = 1;
		return fail(r, "missing header 'mthp-snapshot 2' (or 1) (the input is empty or "
			    "only comments)");
	}
	if (r->version >= 2 && !r->end_line)
		return fail(r, "no 'end' line: the snapshot is cut short (format 2 ends with "
			    "'end')");
	return fix_geometry(r);
}

int mthp_snapshot_read_mem(struct mthp_snapshot *snap, const char *buf,
			   size_t len, const char *name, struct mthp_diag *diag)
{
	struct mthp_diag local = { .warn = NULL };
	struct reader r = {
		.snap = snap,
		.name = name ? name : SNAP_DEFAULT_NAME,
		.diag = diag ? diag : &local,
	};
	int err;

	r.diag->msg[0] = '\0';
	mthp_snapshot_init(snap, NULL);
	err = read_all(&r, buf ? buf : "", buf ? len : 0);
	free(r.orders);
	if (err) {
		mthp_snapshot_free(snap);
		mthp_snapshot_init(snap, NULL);
	}
	return err;
}

int mthp_snapshot_read(struct mthp_snapshot *snap, FILE *f, const char *name,
		       struct mthp_diag *diag)
{
	struct mthp_diag local = { .warn = NULL };
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int err;

	if (!diag)
		diag = &local;
	for (;;) {
		size_t got;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *p = ncap > cap ? realloc(buf, ncap) : NULL;

			if (!p) {
				err = -ENOMEM;
				snap_error(diag, name, 0, "out of memory");
				goto out_free_buf;
			}
			buf = p;
			cap = ncap;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		/* a NUL byte ends the reading: its line is an error anyway
		 * (and /dev/zero would never end) */
		if (got && memchr(buf + len - got, '\0', got))
			break;
		if (got)
			continue;
		if (ferror(f)) {
			err = errno ? -errno : -EIO;	/* -EISDIR for a directory */
			snap_error(diag, name, 0, "%s", strerror(-err));
			goto out_free_buf;
		}
		break;
	}
	err = mthp_snapshot_read_mem(snap, buf, len, name, diag);
	free(buf);
	return err;

out_free_buf:
	free(buf);
	mthp_snapshot_init(snap, NULL);
	return err;
}
