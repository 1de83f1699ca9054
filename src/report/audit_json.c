// SPDX-License-Identifier: MIT
/*
 * audit_json.c - `mthp audit --json`: {"format": "mthp-audit 1",
 * "page_size", "ptes_per_pmd", "processes": [...] or "rollup": {...},
 * "errors": [{"pid", "reason", "errno", "error"}]}.  Every process that
 * could not be read is in "errors", so a reader knows the audit is partial.
 */
#include <errno.h>
#include <inttypes.h>

#include "report/audit.h"

static void json_counter(void *ctx, const char *name, uint64_t value, bool is_kb)
{
	(void)is_kb;
	json_object_set_new(ctx, name, json_integer((json_int_t)value));
}

static json_t *json_counts(const struct mthp_audit_counts *c,
			   const struct mthp_geometry *geo)
{
	json_t *o = json_object();

	if (o)
		mthp_audit_visit_counters(c, geo, json_counter, o);
	return o;
}

static json_t *json_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIx64, v);
	return json_string(buf);
}

static json_t *json_range(const struct mthp_audit_range *r)
{
	json_t *jr = json_object();

	json_object_set_new(jr, "addr", json_hex(r->pmd_addr));
	json_object_set_new(jr, "huge", json_boolean(r->huge));
	json_object_set_new(jr, "present", json_integer(r->present));
	json_object_set_new(jr, "swap", json_integer(r->swap));
	json_object_set_new(jr, "zero", json_integer(r->zero));
	return jr;
}

static json_t *json_vma(const struct mthp_audit_vma *v,
			const struct mthp_geometry *geo)
{
	json_t *o = json_object(), *ranges = json_array();

	json_object_set_new(o, "start", json_hex(v->start));
	json_object_set_new(o, "end", json_hex(v->end));
	json_object_set_new(o, "perms", json_string(v->perms));
	json_object_set_new(o, "name", json_string(v->name));
	json_object_set_new(o, "counters", json_counts(&v->c, geo));
	for (size_t i = 0; i < v->nr_ranges; i++)
		json_array_append_new(ranges, json_range(&v->ranges[i]));
	json_object_set_new(o, "pmd_ranges", ranges);
	return o;
}

json_t *mthp_audit_json_proc(const struct mthp_audit_proc *p)
{
	json_t *o = json_object(), *vmas = json_array();

	json_object_set_new(o, "pid", json_integer(p->pid));
	json_object_set_new(o, "comm", json_string(p->comm));
	json_object_set_new(o, "counters", json_counts(&p->total, &p->geo));
	for (size_t i = 0; i < p->nr_vmas; i++)
		json_array_append_new(vmas, json_vma(&p->vmas[i], &p->geo));
	json_object_set_new(o, "vmas", vmas);
	return o;
}

static json_t *json_errors(const struct mthp_audit_report *r)
{
	json_t *a = json_array();

	for (size_t i = 0; i < r->nr_errors; i++) {
		const struct mthp_audit_error *e = &r->errors[i];
		json_t *o = json_object();

		json_object_set_new(o, "pid", json_integer(e->pid));
		json_object_set_new(o, "reason", json_string(
			mthp_audit_reason_name(mthp_audit_reason_of(e->err))));
		json_object_set_new(o, "errno", json_string(mthp_errno_name(e->err)));
		json_object_set_new(o, "error", json_string(e->msg));
		json_array_append_new(a, o);
	}
	return a;
}

int mthp_audit_json_write(const struct mthp_audit_report *r)
{
	json_t *doc = json_object();
	int ret = 0;

	if (!doc)
		return -ENOMEM;
	json_object_set_new(doc, "format", json_string("mthp-audit 1"));
	json_object_set_new(doc, "page_size", json_integer(r->geo.page_size));
	json_object_set_new(doc, "ptes_per_pmd", json_integer(r->geo.ptes_per_pmd));
	if (r->rollup) {
		json_t *ro = json_object();

		json_object_set_new(ro, "processes", json_integer((json_int_t)r->nr_procs));
		json_object_set_new(ro, "counters", json_counts(&r->sum, &r->geo));
		json_object_set_new(doc, "rollup", ro);
	} else {
		json_object_set_new(doc, "processes", json_incref(r->procs));
	}
	json_object_set_new(doc, "errors", json_errors(r));
	if (json_dumpf(doc, r->out, JSON_INDENT(2)) < 0 || fputc('\n', r->out) == EOF)
		ret = -EIO;
	json_decref(doc);
	return ret;
}
