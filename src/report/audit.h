/* SPDX-License-Identifier: MIT */
/*
 * report/audit.h - the output of `mthp audit`: text (thpmaps' counter
 * names), JSON ("mthp-audit 1") and the node_exporter textfile format,
 * with the processes that could not be read, so a partial audit says it
 * is partial.  The CLI parses options and feeds processes and errors in;
 * this writes them.
 */
#ifndef MTHP_REPORT_AUDIT_H
#define MTHP_REPORT_AUDIT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include <mthp/live.h>

#include "common/names.h"

enum mthp_audit_format {
	MTHP_AUDIT_TEXT,
	MTHP_AUDIT_JSON,
	MTHP_AUDIT_PROM,
};

/* Why a process could not be audited: X(reason, its name). */
#define MTHP_AUDIT_REASONS(X) \
	X(MTHP_AUDIT_GONE, "gone")		/* exited while read (-ESRCH) */ \
	X(MTHP_AUDIT_DENIED, "denied")		/* the kernel refused (-EACCES, -EPERM) */ \
	X(MTHP_AUDIT_CHANGING, "changing")	/* mappings kept changing (-EAGAIN) */ \
	X(MTHP_AUDIT_KTHREAD, "kernel-thread")	/* a kernel thread, asked for by --pid (-ENXIO) */ \
	X(MTHP_AUDIT_FAILED, "failed")		/* any other error */
enum mthp_audit_reason {
	MTHP_AUDIT_REASONS(MTHP_NAME_VALUE)
	MTHP_AUDIT_NR_REASONS,
};

struct mthp_audit_error {
	pid_t pid;
	int err;		/* -errno */
	char msg[sizeof(((struct mthp_diag *)0)->msg)];
};

struct mthp_audit_prom_entry;

struct mthp_audit_report {
	enum mthp_audit_format format;
	bool rollup;
	FILE *out;
	struct mthp_geometry geo;
	struct mthp_audit_opts opts;		/* what the processes were read for */
	struct mthp_host_collapse_stats host;	/* have[] all 0: none to write */
	struct mthp_audit_counts sum;
	size_t nr_procs;
	bool header_done;			/* text */
	json_t *procs;				/* JSON, per process */
	struct mthp_audit_prom_entry *prom;	/* Prometheus, per process */
	size_t nr_prom;
	struct mthp_audit_error *errors;
	size_t nr_errors;
};

/* audit_report.c: the three formats behind one interface; 0 or -ENOMEM. */
int mthp_audit_report_init(struct mthp_audit_report *r, enum mthp_audit_format f,
			   bool rollup, const struct mthp_geometry *geo, FILE *out);
/* The host's per-size collapse counters, written after the processes. */
void mthp_audit_report_host(struct mthp_audit_report *r,
			    const struct mthp_host_collapse_stats *st);
/*
 * Each existing host collapse counter: fn(ctx, size name as "64kB", stat
 * name, value), sizes from the smallest.
 */
typedef void (*mthp_audit_host_fn)(void *ctx, const char *size, const char *stat,
				   uint64_t value);
void mthp_audit_visit_host(const struct mthp_audit_report *r, mthp_audit_host_fn fn,
			   void *ctx);
bool mthp_audit_has_host(const struct mthp_audit_report *r);
/* Which counters are written (the default: thpmaps's anon ones and mthp's). */
void mthp_audit_report_opts(struct mthp_audit_report *r,
			    const struct mthp_audit_opts *opts);
int mthp_audit_report_proc(struct mthp_audit_report *r,
			   const struct mthp_audit_proc *p);
int mthp_audit_report_error(struct mthp_audit_report *r, pid_t pid, int err,
			    const char *msg);
/* Write what is left to write and free; -EIO on a write error. */
int mthp_audit_report_finish(struct mthp_audit_report *r);
enum mthp_audit_reason mthp_audit_reason_of(int err);
const char *mthp_audit_reason_name(enum mthp_audit_reason reason);
/* Errors by reason; counts has MTHP_AUDIT_NR_REASONS entries. */
void mthp_audit_report_tally(const struct mthp_audit_report *r, size_t *counts);

/*
 * audit_counters.c: every counter of a block, by its thpmaps name; opts
 * says which of the optional ones (--cont, --file) there are.
 */
typedef void (*mthp_audit_counter_fn)(void *ctx, const char *name,
				      uint64_t value, bool kb);
void mthp_audit_visit_counters(const struct mthp_audit_counts *c,
			       const struct mthp_geometry *geo,
			       const struct mthp_audit_opts *opts,
			       mthp_audit_counter_fn fn, void *ctx);
uint64_t mthp_audit_kb(const struct mthp_geometry *geo, uint64_t pages);

/* audit_text.c */
void mthp_audit_text_header(FILE *out);
void mthp_audit_text_proc(FILE *out, const struct mthp_audit_proc *p);
void mthp_audit_text_host(const struct mthp_audit_report *r);
void mthp_audit_text_block(FILE *out, const struct mthp_audit_counts *c,
			   const struct mthp_geometry *geo,
			   const struct mthp_audit_opts *opts);

/* audit_json.c */
json_t *mthp_audit_json_proc(const struct mthp_audit_proc *p);
int mthp_audit_json_write(const struct mthp_audit_report *r);

/* audit_prom.c */
int mthp_audit_prom_add(struct mthp_audit_report *r,
			const struct mthp_audit_proc *p);
int mthp_audit_prom_write(const struct mthp_audit_report *r);

#endif /* MTHP_REPORT_AUDIT_H */
