// SPDX-License-Identifier: MIT
/*
 * audit_text.c - `mthp audit` for people: per anon VMA (the header line
 * of /proc/PID/maps, then the counters that are not zero, in kB with their
 * share of the anonymous memory, anon-total, when they are part of it: not
 * swap, not the zero page) or one rolled-up block.
 */
#include <inttypes.h>
#include <string.h>

#include "report/audit.h"

struct text_ctx {
	FILE *out;
	uint64_t anon_kb;
	uint64_t file_kb;
};

static void text_counter(void *ctx, const char *name, uint64_t value, bool is_kb)
{
	struct text_ctx *t = ctx;
	int pad = 32 - (int)strlen(name) - 1;

	if (!value)
		return;
	if (pad < 0)
		pad = 0;
	if (!is_kb)
		fprintf(t->out, "%s:%*s%8" PRIu64 " ranges\n", name, pad, "", value);
	else if (!strncmp(name, "file-", 5) && t->file_kb && strcmp(name, "file-total"))
		fprintf(t->out, "%s:%*s%8" PRIu64 " kB (%3.0f%%)\n", name, pad, "",
			value, 100.0 * (double)value / (double)t->file_kb);
	else if (!strncmp(name, "anon-", 5) && t->anon_kb && strcmp(name, "anon-total") &&
		 strcmp(name, "anon-swap") && strcmp(name, "anon-zero-page"))
		fprintf(t->out, "%s:%*s%8" PRIu64 " kB (%3.0f%%)\n", name, pad, "",
			value, 100.0 * (double)value / (double)t->anon_kb);
	else
		fprintf(t->out, "%s:%*s%8" PRIu64 " kB\n", name, pad, "", value);
}

void mthp_audit_text_header(FILE *out)
{
	fprintf(out, "       PID             START              END PROT OBJECT\n");
}

void mthp_audit_text_block(FILE *out, const struct mthp_audit_counts *c,
			   const struct mthp_geometry *geo,
			   const struct mthp_audit_opts *opts)
{
	struct text_ctx t = { out, mthp_audit_kb(geo, c->anon), mthp_audit_kb(geo, c->file) };

	mthp_audit_visit_counters(c, geo, opts, text_counter, &t);
}

void mthp_audit_text_proc(FILE *out, const struct mthp_audit_proc *p)
{
	for (size_t i = 0; i < p->nr_vmas; i++) {
		const struct mthp_audit_vma *v = &p->vmas[i];

		fprintf(out, "%010d: %016" PRIx64 "-%016" PRIx64 " %s %s\n",
			(int)p->pid, v->start, v->end, v->perms, v->name);
		mthp_audit_text_block(out, &v->c, &p->geo, &p->opts);
	}
}

static void text_host(void *ctx, const char *size, const char *stat, uint64_t value)
{
	FILE *out = ctx;
	char name[96];

	if (!value)
		return;
	snprintf(name, sizeof(name), "hugepages-%s/stats/%s", size, stat);
	fprintf(out, "%-48s %12" PRIu64 "\n", name, value);
}

void mthp_audit_text_host(const struct mthp_audit_report *r)
{
	if (!mthp_audit_has_host(r))
		return;
	fprintf(r->out, "host collapse counters since boot (those not 0):\n");
	mthp_audit_visit_host(r, text_host, r->out);
}
