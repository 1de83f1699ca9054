// SPDX-License-Identifier: MIT
/*
 * audit_report.c - one interface over the three formats of `mthp audit`:
 * processes and errors go in as the audit meets them; text is written at
 * once, JSON and Prometheus at the end (they need the totals).  Also the
 * reasons an audit of a process fails, by name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"
#include "report/audit.h"

int mthp_audit_report_init(struct mthp_audit_report *r, enum mthp_audit_format f,
			   bool rollup, const struct mthp_geometry *geo, FILE *out)
{
	*r = (struct mthp_audit_report){ .format = f, .rollup = rollup,
					 .out = out, .geo = *geo };
	if (f == MTHP_AUDIT_JSON && !rollup) {
		r->procs = json_array();
		if (!r->procs)
			return -ENOMEM;
	}
	return 0;
}

void mthp_audit_report_host(struct mthp_audit_report *r,
			    const struct mthp_host_collapse_stats *st)
{
	r->host = *st;
}

bool mthp_audit_has_host(const struct mthp_audit_report *r)
{
	for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
		if (r->host.have[o])
			return true;
	return false;
}

void mthp_audit_visit_host(const struct mthp_audit_report *r, mthp_audit_host_fn fn,
			   void *ctx)
{
	char size[32];

	for (unsigned o = 0; o <= r->geo.pmd_order; o++) {
		snprintf(size, sizeof(size), "%" PRIu64 "kB", mthp_audit_kb(&r->geo, 1ull << o));
		for (int s = 0; s < MTHP_NR_HCS; s++)
			if (r->host.have[o] & (1u << s))
				fn(ctx, size, mthp_host_collapse_stat_name(s), r->host.v[o][s]);
	}
}

void mthp_audit_report_opts(struct mthp_audit_report *r,
			    const struct mthp_audit_opts *opts)
{
	r->opts = *opts;
}

int mthp_audit_report_proc(struct mthp_audit_report *r,
			   const struct mthp_audit_proc *p)
{
	r->nr_procs++;
	mthp_audit_counts_add(&r->sum, &p->total);
	if (r->rollup)
		return 0;
	switch (r->format) {
	case MTHP_AUDIT_TEXT:
		if (!r->header_done)
			mthp_audit_text_header(r->out);
		r->header_done = true;
		mthp_audit_text_proc(r->out, p);
		return 0;
	case MTHP_AUDIT_JSON:
		return json_array_append_new(r->procs, mthp_audit_json_proc(p)) ? -ENOMEM : 0;
	case MTHP_AUDIT_PROM:
		return mthp_audit_prom_add(r, p);
	}
	return -EINVAL;
}

int mthp_audit_report_error(struct mthp_audit_report *r, pid_t pid, int err,
			    const char *msg)
{
	struct mthp_audit_error *e = realloc(r->errors, (r->nr_errors + 1) * sizeof(*e));

	if (!e)
		return -ENOMEM;
	r->errors = e;
	e = &r->errors[r->nr_errors++];
	e->pid = pid;
	e->err = err;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	return 0;
}

static int write_end(struct mthp_audit_report *r)
{
	switch (r->format) {
	case MTHP_AUDIT_TEXT:
		if (r->rollup)
			mthp_audit_text_block(r->out, &r->sum, &r->geo, &r->opts);
		mthp_audit_text_host(r);
		return ferror(r->out) ? -EIO : 0;
	case MTHP_AUDIT_JSON:
		return mthp_audit_json_write(r);
	case MTHP_AUDIT_PROM:
		return mthp_audit_prom_write(r);
	}
	return -EINVAL;
}

int mthp_audit_report_finish(struct mthp_audit_report *r)
{
	int ret = write_end(r);

	json_decref(r->procs);
	free(r->prom);
	free(r->errors);
	r->procs = NULL;
	r->prom = NULL;
	r->errors = NULL;
	return ret;
}

enum mthp_audit_reason mthp_audit_reason_of(int err)
{
	switch (err) {
	case -ESRCH:
		return MTHP_AUDIT_GONE;
	case -EACCES:
	case -EPERM:
		return MTHP_AUDIT_DENIED;
	case -EAGAIN:
		return MTHP_AUDIT_CHANGING;
	case -ENXIO:
		return MTHP_AUDIT_KTHREAD;
	}
	return MTHP_AUDIT_FAILED;
}

const char *mthp_audit_reason_name(enum mthp_audit_reason reason)
{
	static const char *const names[MTHP_AUDIT_NR_REASONS] = {
		MTHP_AUDIT_REASONS(MTHP_NAME_ENTRY)
	};

	return mthp_name_of(names, MTHP_AUDIT_NR_REASONS, reason, "failed");
}

void mthp_audit_report_tally(const struct mthp_audit_report *r, size_t *counts)
{
	memset(counts, 0, MTHP_AUDIT_NR_REASONS * sizeof(*counts));
	for (size_t i = 0; i < r->nr_errors; i++)
		counts[mthp_audit_reason_of(r->errors[i].err)]++;
}
