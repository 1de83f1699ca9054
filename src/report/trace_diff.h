/* SPDX-License-Identifier: MIT */
/*
 * report/trace_diff.h - two text traces of khugepaged's huge_memory
 * events (tracefs's `trace` file of a kernel, `mthp sim --trace` of the
 * simulator) compared PMD range by PMD range.
 *
 * A trace is read as ftrace's text format prints it (TASK-PID [CPU]
 * FLAGS TIMESTAMP: EVENT: FIELDS); lines of other events, comments and
 * lines of another shape are passed over.  The events of one PMD range
 * are those khugepaged emits for it, in order: the collapse attempts'
 * mm_collapse_huge_page_swapin, _isolate and mm_collapse_huge_page, and
 * last mm_khugepaged_scan_pmd, whose mm= names the process.  Two ranges
 * are the same when they have the same events in the same order with the
 * same fields, mm= and scan_pfn= aside (pointers and page frame numbers
 * differ from machine to machine).
 */
#ifndef MTHP_REPORT_TRACE_DIFF_H
#define MTHP_REPORT_TRACE_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <mthp/snapshot.h>

struct mthp_trace;

/* Read a trace; 0, or -errno with diag->msg naming the file and line. */
int mthp_trace_read(struct mthp_trace **out, FILE *f, const char *name,
		    struct mthp_diag *diag);
void mthp_trace_free(struct mthp_trace *t);

struct mthp_trace_diff_opts {
	const char *mm_a, *mm_b;	/* the process of each trace (its mm= value);
					 * NULL: see mthp_trace_diff() */
	bool all;			/* print every range, not only those that differ */
};

struct mthp_trace_diff_result {
	size_t ranges;			/* compared: the fewer of the two */
	size_t same;
	size_t only_a, only_b;		/* ranges past the end of the other trace */
	/*
	 * Per range compared (one allocation: free(res->first_a)): whether it
	 * differs, and then its first differing events (NULL: the range has
	 * fewer events), pointing into the traces.
	 */
	bool *differs;
	const char **first_a, **first_b;
};

/*
 * Compare the ranges of one process in a (named name_a, e.g. "kernel")
 * with those of one in b, printing to out a header naming both, the first
 * difference of each range that differs (both lines, with their line
 * numbers), and a summary line.  Without mm_a/mm_b: a trace's only
 * process; of several, the one with as many ranges as the other trace's
 * process, when exactly one has.  0, or -EINVAL with diag->msg saying why
 * no process could be chosen (listing them).
 */
int mthp_trace_diff(const struct mthp_trace *a, const char *name_a,
		    const struct mthp_trace *b, const char *name_b,
		    const struct mthp_trace_diff_opts *opts, FILE *out,
		    struct mthp_trace_diff_result *res, struct mthp_diag *diag);

#endif /* MTHP_REPORT_TRACE_DIFF_H */
