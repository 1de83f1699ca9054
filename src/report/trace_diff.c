// SPDX-License-Identifier: MIT
/*
 * trace_diff.c - two khugepaged traces compared PMD range by PMD range
 * (report/trace_diff.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/msg.h"
#include "report/trace_diff.h"

/* The events of a PMD range; the last one closes it. */
static const char *const range_events[] = {
	"mm_collapse_huge_page_swapin", "mm_collapse_huge_page_isolate",
	"mm_collapse_huge_page", "mm_khugepaged_scan_pmd",
};
#define SCAN_PMD "mm_khugepaged_scan_pmd"

struct trace_event {
	unsigned line;
	char *text;		/* "EVENT: FIELDS" as written */
	char *key;		/* "EVENT: FIELDS" without mm= and scan_pfn= */
};

struct trace_range {
	size_t first, nr;	/* events */
	char *mm;		/* of its mm_khugepaged_scan_pmd */
};

struct mthp_trace {
	struct trace_event *ev;
	size_t nr_ev, cap_ev;
	struct trace_range *ranges;
	size_t nr_ranges, cap_ranges;
	size_t open;		/* the first event of the range not closed yet */
};

void mthp_trace_free(struct mthp_trace *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nr_ev; i++) {
		free(t->ev[i].text);
		free(t->ev[i].key);
	}
	for (size_t i = 0; i < t->nr_ranges; i++)
		free(t->ranges[i].mm);
	free(t->ev);
	free(t->ranges);
	free(t);
}

/* The event name at s (up to ':'), if it is one of a range's; else NULL. */
static const char *range_event(const char *s)
{
	size_t len = strcspn(s, ":");

	for (size_t i = 0; i < sizeof(range_events) / sizeof(range_events[0]); i++)
		if (strlen(range_events[i]) == len && !strncmp(s, range_events[i], len))
			return range_events[i];
	return NULL;
}

/* text ("EVENT: FIELDS") without its mm= and scan_pfn= fields: what two traces share. */
static char *event_key(const char *text)
{
	char *key = malloc(strlen(text) + 1), *out = key;
	const char *p = strchr(text, ':');

	if (!key)
		return NULL;
	p = p ? p + 1 : text + strlen(text);
	memcpy(out, text, (size_t)(p - text));
	out += p - text;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *field = p + strspn(p, " ");

		if (strncmp(field, "mm=", 3) && strncmp(field, "scan_pfn=", 9)) {
			memcpy(out, p, len);
			out += len;
			if (p[len])
				*out++ = ',';
		}
		p += len + (p[len] == ',');
	}
	*out = '\0';
	return key;
}

/* The value of field name= in text, copied; NULL when absent or no memory. */
static char *field_value(const char *text, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = text; (p = strstr(p, name)); p++) {
		if ((p == text || p[-1] == ' ') && p[nlen] == '=') {
			const char *v = p + nlen + 1;

			return strndup(v, strcspn(v, ", \n"));
		}
	}
	return NULL;
}

/* One line: an event of a range appended, the range closed at scan_pmd. */
static int add_line(struct mthp_trace *t, char *line, unsigned lineno)
{
	char *at = strstr(line, ": mm_");
	const char *name;
	struct trace_event *ev;

	if (line[0] == '#' || !at || !(name = range_event(at + 2)))
		return 0;
	at += 2;
	at[strcspn(at, "\r\n")] = '\0';
	if (mthp_array_grow((void **)&t->ev, &t->cap_ev, t->nr_ev, sizeof(*t->ev)))
		return -ENOMEM;
	ev = &t->ev[t->nr_ev];
	ev->line = lineno;
	ev->text = strdup(at);
	ev->key = event_key(at);
	if (!ev->text || !ev->key) {
		free(ev->text);
		free(ev->key);
		return -ENOMEM;
	}
	t->nr_ev++;
	if (strcmp(name, SCAN_PMD))
		return 0;
	if (mthp_array_grow((void **)&t->ranges, &t->cap_ranges, t->nr_ranges,
			    sizeof(*t->ranges)))
		return -ENOMEM;
	t->ranges[t->nr_ranges] = (struct trace_range){
		.first = t->open, .nr = t->nr_ev - t->open, .mm = field_value(at, "mm"),
	};
	if (!t->ranges[t->nr_ranges].mm)
		return strstr(at, "mm=") ? -ENOMEM : -ENOMSG;
	t->nr_ranges++;
	t->open = t->nr_ev;
	return 0;
}

/* The longest line of a trace read: an ftrace line is some hundred bytes. */
#define TRACE_LINE_MAX 65536

/*
 * The next line of f into buf (TRACE_LINE_MAX bytes), NUL-terminated: 1, 0
 * at the end, -EILSEQ for a NUL byte in it, -E2BIG when it is longer.
 */
static int read_line(FILE *f, char *buf)
{
	size_t len = 0;
	int c;

	while ((c = getc(f)) != EOF) {
		if (c == '\0')
			return -EILSEQ;
		if (len == TRACE_LINE_MAX - 1)
			return -E2BIG;
		buf[len++] = (char)c;
		if (c == '\n')
			break;
	}
	buf[len] = '\0';
	return len > 0;
}

int mthp_trace_read(struct mthp_trace **out, FILE *f, const char *name,
		    struct mthp_diag *diag)
{
	struct mthp_trace *t = calloc(1, sizeof(*t));
	char *line = malloc(TRACE_LINE_MAX);
	unsigned lineno = 0;
	int ret = t && line ? 0 : -ENOMEM, got = 0;

	errno = 0;
	while (!ret && (got = read_line(f, line)) > 0)
		ret = add_line(t, line, ++lineno);
	if (!ret && got < 0) {
		ret = got;
		lineno++;
	}
	if (!ret && ferror(f))
		ret = errno ? -errno : -EIO;	/* -EISDIR for a directory */
	free(line);
	if (ret == -EILSEQ || ret == -E2BIG || ret == -ENOMSG) {
		mthp_msg(diag->msg, sizeof(diag->msg), "%s:%u: %s", name, lineno,
			 ret == -EILSEQ ? "a NUL byte: not a trace (text)" :
			 ret == -E2BIG ? "a line longer than 64 KiB: not a trace" :
			 "an mm_khugepaged_scan_pmd event without its mm= field");
		mthp_trace_free(t);
		return -EINVAL;
	}
	if (ret) {
		if (lineno)
			mthp_msg(diag->msg, sizeof(diag->msg), "%s:%u: %s", name, lineno,
				 strerror(-ret));
		else
			mthp_msg(diag->msg, sizeof(diag->msg), "%s: %s", name, strerror(-ret));
		mthp_trace_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

/* How many ranges of t belong to mm. */
static size_t mm_ranges(const struct mthp_trace *t, const char *mm)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nr_ranges; i++)
		n += !strcmp(t->ranges[i].mm, mm);
	return n;
}

/* Each process of t once (pointers into t), in order of first range. */
static size_t list_mms(const struct mthp_trace *t, const char **mms, size_t room)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nr_ranges; i++) {
		bool seen = false;

		for (size_t k = 0; k < n && !seen; k++)
			seen = !strcmp(mms[k], t->ranges[i].mm);
		if (!seen && n < room)
			mms[n++] = t->ranges[i].mm;
	}
	return n;
}

#define MAX_MMS 64

static int no_choice(const struct mthp_trace *t, const char *name, const char *why,
		     struct mthp_diag *diag)
{
	const char *mms[MAX_MMS];
	size_t n = list_mms(t, mms, MAX_MMS), len;

	mthp_msg(diag->msg, sizeof(diag->msg), "%s: %s; its processes (mm=, ranges):",
		 name, why);
	for (size_t k = 0; k < n; k++) {
		len = strlen(diag->msg);
		snprintf(diag->msg + len, sizeof(diag->msg) - len, " %s %zu", mms[k],
			 mm_ranges(t, mms[k]));
	}
	return -EINVAL;
}

/*
 * The process of t to compare: given, its only one, or the only one with
 * want ranges (want 0: none to match).
 */
static int choose_mm(const struct mthp_trace *t, const char *name, const char *given,
		     size_t want, const char **mm, struct mthp_diag *diag)
{
	const char *mms[MAX_MMS], *match = NULL;
	size_t n = list_mms(t, mms, MAX_MMS), matches = 0;

	if (given) {
		if (!mm_ranges(t, given))
			return no_choice(t, name, "no PMD range of the process asked for", diag);
		*mm = given;
		return 0;
	}
	if (n == 1) {
		*mm = mms[0];
		return 0;
	}
	for (size_t k = 0; want && k < n; k++) {
		if (mm_ranges(t, mms[k]) == want) {
			match = mms[k];
			matches++;
		}
	}
	if (matches == 1) {
		*mm = match;
		return 0;
	}
	return no_choice(t, name, n ? "several processes, none chosen (give its mm=)" :
			 "no mm_khugepaged_scan_pmd event", diag);
}

/* The ranges of mm in t, as indexes (malloc'd), and their number. */
static size_t ranges_of(const struct mthp_trace *t, const char *mm, size_t **idx)
{
	size_t n = 0;

	*idx = malloc((t->nr_ranges + 1) * sizeof(**idx));
	for (size_t i = 0; *idx && i < t->nr_ranges; i++)
		if (!strcmp(t->ranges[i].mm, mm))
			(*idx)[n++] = i;
	return n;
}

static void print_event(FILE *out, const char *name, const struct mthp_trace *t,
			const struct trace_range *r, size_t k)
{
	if (k < r->nr)
		fprintf(out, "    %-10s line %u: %s\n", name, t->ev[r->first + k].line,
			t->ev[r->first + k].text);
	else
		fprintf(out, "    %-10s no event %zu: the range has %zu\n", name, k + 1, r->nr);
}

/* One range of each: true when they differ (the first difference printed and kept). */
static bool diff_range(const struct mthp_trace *a, const char *name_a,
		       const struct trace_range *ra, const struct mthp_trace *b,
		       const char *name_b, const struct trace_range *rb, size_t index,
		       bool all, FILE *out, struct mthp_trace_diff_result *res)
{
	size_t n = ra->nr > rb->nr ? ra->nr : rb->nr;

	for (size_t k = 0; k < n; k++) {
		if (k < ra->nr && k < rb->nr &&
		    !strcmp(a->ev[ra->first + k].key, b->ev[rb->first + k].key))
			continue;
		fprintf(out, "range %zu: event %zu differs\n", index, k + 1);
		print_event(out, name_a, a, ra, k);
		print_event(out, name_b, b, rb, k);
		res->first_a[index] = k < ra->nr ? a->ev[ra->first + k].text : NULL;
		res->first_b[index] = k < rb->nr ? b->ev[rb->first + k].text : NULL;
		return true;
	}
	if (all)
		fprintf(out, "range %zu: the same (%zu events)\n", index, ra->nr);
	return false;
}

int mthp_trace_diff(const struct mthp_trace *a, const char *name_a,
		    const struct mthp_trace *b, const char *name_b,
		    const struct mthp_trace_diff_opts *opts, FILE *out,
		    struct mthp_trace_diff_result *res, struct mthp_diag *diag)
{
	const char *mm_a = NULL, *mm_b = NULL;
	size_t *ia = NULL, *ib = NULL, na, nb;
	int ret;

	memset(res, 0, sizeof(*res));
	/* the trace whose process is known first; it decides the other's */
	if (!opts->mm_a && list_mms(a, (const char *[2]){ NULL }, 2) > 1)
		ret = choose_mm(b, name_b, opts->mm_b, 0, &mm_b, diag) ?:
		      choose_mm(a, name_a, NULL, mm_ranges(b, mm_b), &mm_a, diag);
	else
		ret = choose_mm(a, name_a, opts->mm_a, 0, &mm_a, diag) ?:
		      choose_mm(b, name_b, opts->mm_b, mm_ranges(a, mm_a), &mm_b, diag);
	if (ret)
		return ret;
	na = ranges_of(a, mm_a, &ia);
	nb = ranges_of(b, mm_b, &ib);
	res->ranges = na < nb ? na : nb;
	/* the pointers first, for their alignment, then the flags */
	res->first_a = calloc(res->ranges + 1, 2 * sizeof(char *) + sizeof(bool));
	if (res->first_a) {
		res->first_b = res->first_a + res->ranges + 1;
		res->differs = (bool *)(res->first_b + res->ranges + 1);
	}
	if (!ia || !ib || !res->first_a) {
		free(ia);
		free(ib);
		free(res->first_a);
		memset(res, 0, sizeof(*res));
		mthp_msg(diag->msg, sizeof(diag->msg), "out of memory");
		return -ENOMEM;
	}
	fprintf(out, "%s: mm=%s, %zu PMD ranges; %s: mm=%s, %zu PMD ranges\n", name_a, mm_a,
		na, name_b, mm_b, nb);
	for (size_t i = 0; i < res->ranges; i++) {
		res->differs[i] = diff_range(a, name_a, &a->ranges[ia[i]], b, name_b,
					     &b->ranges[ib[i]], i, opts->all, out, res);
		res->same += !res->differs[i];
	}
	res->only_a = na - res->ranges;
	res->only_b = nb - res->ranges;
	fprintf(out, "%zu of %zu ranges the same, %zu differ", res->same, res->ranges,
		res->ranges - res->same);
	if (res->only_a || res->only_b)
		fprintf(out, "; %zu more in %s", res->only_a ? res->only_a : res->only_b,
			res->only_a ? name_a : name_b);
	fprintf(out, "\n");
	free(ia);
	free(ib);
	return 0;
}
