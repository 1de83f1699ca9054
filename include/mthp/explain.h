/* SPDX-License-Identifier: MIT */
/*
 * mthp/explain.h - why a plan decided what it did, window by window, in
 * words with their numbers, and what one knob would change it
 * (mthp/whatif.h).  The engine plans the range once with an observer on
 * its walk (mthp_plan_range_observed), so every window the walk refused,
 * passed over or handed out is reported as the walk saw it, in walk order
 * (offset up, then order down: the pre-order of the binary split).
 * Functions return 0 or -errno and never set errno.
 */
#ifndef MTHP_EXPLAIN_H
#define MTHP_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include <mthp/engine.h>
#include <mthp/whatif.h>

/*
 * X(kind, its name).  PASSED_OVER: [offset, end) below order, where none
 * can pass; end 0: one window of an enabled order in such a span with an
 * occupied PTE (have).
 */
#define MTHP_EXPLAIN_KINDS(X) \
	X(MTHP_EXPLAIN_COLLAPSED, "collapses")		/* attempted, and it collapses */ \
	X(MTHP_EXPLAIN_FAILED, "fails")			/* attempted, and the attempt fails */ \
	X(MTHP_EXPLAIN_TEST_FAILED, "not attempted")	/* not attempted: the count/density test */ \
	X(MTHP_EXPLAIN_NOT_ALLOWED, "not enabled")	/* not attempted: the order is not enabled */ \
	X(MTHP_EXPLAIN_PASSED_OVER, "passed over")	/* not attempted: none can pass */
#define MTHP_EXPLAIN_KIND_VALUE(kind, name) kind,
enum mthp_explain_kind {
	MTHP_EXPLAIN_KINDS(MTHP_EXPLAIN_KIND_VALUE)
};

struct mthp_explain_window {
	enum mthp_explain_kind kind;
	uint32_t offset;
	unsigned order;
	uint32_t end;			/* PASSED_OVER */
	uint32_t have, need;		/* TEST_FAILED: see struct mthp_visit */
	enum mthp_result result;	/* FAILED: the attempt's; COLLAPSED: SUCCEED */
	char why[192];			/* the rule that decided, with its numbers */
	bool has_whatif;		/* every kind but a PASSED_OVER span */
	struct mthp_whatif whatif;
};

struct mthp_explain {
	enum mthp_result scan;		/* the precheck or scan result */
	char scan_why[192];		/* why the scan failed; "" on success */
	struct mthp_whatif scan_whatif;	/* the PMD window, when the scan failed */
	struct mthp_explain_window *windows;
	size_t nr_windows;
};

/* Explain one range (with what-ifs); free with mthp_explain_free(). */
int mthp_explain_range(const struct mthp_whatif_range *wr, struct mthp_explain *out);
void mthp_explain_free(struct mthp_explain *e);

/* "collapsed", "failed", "not attempted", "not enabled", "passed over" */
const char *mthp_explain_kind_name(enum mthp_explain_kind k);

#endif /* MTHP_EXPLAIN_H */
