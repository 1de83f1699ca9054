// SPDX-License-Identifier: MIT
/*
 * audit_json.c - `mthp audit --json`: {"format": "mthp-audit 1",
 * "page_size", "ptes_per_pmd", "processes": [...] or "rollup": {...},
 * "errors": [{"pid", "reason", "errno", "error"}]}.  Every process that
 * could not be read is in "errors", so a reader knows the audit is partial.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "report/audit.h"
#include "report/report.h"

/*
 * Every builder returns NULL when memory runs out, and json_pack's "o"
 * fails on a NULL value (dropping what it was given), so a document is
 * whole or not made: never a key silently missing.
 */

struct counts_ctx {
	json_t *o;
	bool failed;
};

static void json_counter(void *ctx, const char *name, uint64_t value, bool is_kb)
{
	struct counts_ctx *c = ctx;

	(void)is_kb;
	c->failed |= json_object_set_new(c->o, name, json_integer((json_int_t)value)) != 0;
}

static json_t *json_counts(const struct mthp_audit_counts *c,
			   const struct mthp_geometry *geo,
			   const struct mthp_audit_opts *opts)
{
	struct counts_ctx ctx = { json_object(), false };

	if (!ctx.o)
		return NULL;
	mthp_audit_visit_counters(c, geo, opts, json_counter, &ctx);
	if (ctx.failed) {
		json_decref(ctx.o);
		return NULL;
	}
	return ctx.o;
}

static json_t *json_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIx64, v);
	return json_string(buf);
}

static json_t *json_range(const struct mthp_audit_range *r)
{
	return json_pack("{s:o, s:b, s:I, s:I, s:I}", "addr", json_hex(r->pmd_addr),
			 "huge", r->huge, "present", (json_int_t)r->present,
			 "swap", (json_int_t)r->swap, "zero", (json_int_t)r->zero);
}

static json_t *json_vma(const struct mthp_audit_vma *v,
			const struct mthp_geometry *geo,
			const struct mthp_audit_opts *opts)
{
	json_t *ranges = json_array();

	for (size_t i = 0; ranges && i < v->nr_ranges; i++) {
		if (json_array_append_new(ranges, json_range(&v->ranges[i]))) {
			json_decref(ranges);
			ranges = NULL;
		}
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "start", json_hex(v->start),
			 "end", json_hex(v->end), "perms", mthp_json_text(v->perms),
			 "name", mthp_json_text(v->name), "counters", json_counts(&v->c, geo, opts),
			 "pmd_ranges", ranges);
}

json_t *mthp_audit_json_proc(const struct mthp_audit_proc *p)
{
	json_t *vmas = json_array();

	for (size_t i = 0; vmas && i < p->nr_vmas; i++) {
		if (json_array_append_new(vmas, json_vma(&p->vmas[i], &p->geo, &p->opts))) {
			json_decref(vmas);
			vmas = NULL;
		}
	}
	return json_pack("{s:I, s:o, s:o, s:o}", "pid", (json_int_t)p->pid,
			 "comm", mthp_json_text(p->comm),
			 "counters", json_counts(&p->total, &p->geo, &p->opts), "vmas", vmas);
}

static json_t *json_errors(const struct mthp_audit_report *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->nr_errors; i++) {
		const struct mthp_audit_error *e = &r->errors[i];
		json_t *o = json_pack("{s:I, s:s, s:s, s:o}", "pid", (json_int_t)e->pid,
				      "reason", mthp_audit_reason_name(mthp_audit_reason_of(e->err)),
				      "errno", mthp_errno_name(e->err), "error", mthp_json_text(e->msg));

		if (json_array_append_new(a, o)) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

struct host_ctx {
	json_t *o;
	bool failed;
};

static void json_host(void *ctx, const char *size, const char *stat, uint64_t value)
{
	struct host_ctx *h = ctx;
	json_t *per = json_object_get(h->o, size);

	if (!per) {
		per = json_object();
		if (!per || json_object_set_new(h->o, size, per)) {
			h->failed = true;
			return;
		}
	}
	h->failed |= json_object_set_new(per, stat, json_integer((json_int_t)value)) != 0;
}

/* {"64kB": {"collapse_alloc": N, ...}, ...}; NULL when out of memory. */
static json_t *json_host_stats(const struct mthp_audit_report *r)
{
	struct host_ctx h = { json_object(), false };

	if (!h.o)
		return NULL;
	mthp_audit_visit_host(r, json_host, &h);
	if (h.failed) {
		json_decref(h.o);
		return NULL;
	}
	return h.o;
}

int mthp_audit_json_write(const struct mthp_audit_report *r)
{
	json_t *doc;
	int ret = 0;

	if (r->rollup)
		doc = json_pack("{s:s, s:I, s:I, s:{s:I, s:o}, s:o}", "format", "mthp-audit 1",
				"page_size", (json_int_t)r->geo.page_size,
				"ptes_per_pmd", (json_int_t)r->geo.ptes_per_pmd,
				"rollup", "processes", (json_int_t)r->nr_procs,
				"counters", json_counts(&r->sum, &r->geo, &r->opts),
				"errors", json_errors(r));
	else
		doc = json_pack("{s:s, s:I, s:I, s:O, s:o}", "format", "mthp-audit 1",
				"page_size", (json_int_t)r->geo.page_size,
				"ptes_per_pmd", (json_int_t)r->geo.ptes_per_pmd,
				"processes", r->procs, "errors", json_errors(r));
	if (doc && mthp_audit_has_host(r) &&
	    json_object_set_new(doc, "host_collapse_stats", json_host_stats(r))) {
		json_decref(doc);
		doc = NULL;
	}
	if (!doc)
		return -ENOMEM;
	if (json_dumpf(doc, r->out, JSON_INDENT(2)) < 0 || fputc('\n', r->out) == EOF)
		ret = -EIO;
	json_decref(doc);
	return ret;
}
