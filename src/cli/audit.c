// SPDX-License-Identifier: MIT
/*
 * audit.c - `mthp audit`: what (m)THPs running processes have, per anon
 * VMA or rolled up, with the counter names of the kernel's tools/mm/thpmaps
 * plus swap, shared-folio and zero-page pages and PMD-range occupancy; as
 * text, JSON (jansson) or the node_exporter textfile format.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <mthp/live.h>

#include "cli/cli.h"

static const char audit_usage[] =
"usage: mthp audit [--pid PID]... [--cgroup PATH] [--rollup] [--json | --prometheus]\n"
"\n"
"For each anonymous VMA of the selected processes (default: every\n"
"process), the memory mapped by folios of each order, named as the\n"
"kernel's tools/mm/thpmaps names it, in kB:\n"
"  anon-thp-pmd-aligned-<PMD>kB    PMD-mapped THPs\n"
"  anon-thp-pte-aligned-<S>kB      PTE-mapped whole folios of size S whose\n"
"                                  virtual address is S-aligned\n"
"  anon-thp-pte-unaligned-<S>kB    the same, not S-aligned\n"
"  anon-thp-pte-partial            pages of large folios mapped in part\n"
"and what thpmaps lacks:\n"
"  anon-total                      present anonymous memory\n"
"  anon-swap                       swapped-out pages\n"
"  anon-shared                     pages of folios mapped by another process too\n"
"  anon-zero-page                  mappings of the (huge) zero page\n"
"  pmd-occupancy-<LO>-<HI>         PMD ranges inside the VMA with LO..HI present\n"
"                                  pages (a count of ranges, not kB)\n"
"\n"
"  -p, --pid PID       a process (repeatable)\n"
"  -c, --cgroup PATH   the processes of a cgroup (v2) and its descendants;\n"
"                      PATH absolute or below /sys/fs/cgroup\n"
"  -r, --rollup        one sum over all VMAs of all processes\n"
"  -j, --json          JSON (per process, per VMA, per PMD range)\n"
"  -P, --prometheus    node_exporter textfile format\n"
"  -h, --help          this help\n"
"\n"
"Needs root (CAP_SYS_ADMIN).  A process that exits while it is read is\n"
"reported as gone and the others go on.  Exit status: 0 done; 1 a --pid\n"
"could not be read (or nothing could); 2 bad option.\n";

#define MAX_PIDS 4096

struct audit_opts {
	pid_t pids[MAX_PIDS];
	size_t nr_pids;
	const char *cgroup;
	bool rollup, json, prometheus;
};

/* ---- counters by name ---- */

typedef void (*counter_fn)(void *ctx, const char *name, uint64_t value, bool kb);

static uint64_t kb(const struct mthp_geometry *geo, uint64_t pages)
{
	return pages * geo->page_size / 1024;
}

static void visit_counters(const struct mthp_audit_counts *c,
			   const struct mthp_geometry *geo, counter_fn fn, void *ctx)
{
	char name[64];
	unsigned pmd = geo->pmd_order;

	snprintf(name, sizeof(name), "anon-thp-pmd-aligned-%" PRIu64 "kB",
		 kb(geo, 1ull << pmd));
	fn(ctx, name, kb(geo, c->pmd_mapped), true);
	for (unsigned o = MTHP_MIN_ORDER; o <= pmd; o++) {
		snprintf(name, sizeof(name), "anon-thp-pte-aligned-%" PRIu64 "kB",
			 kb(geo, 1ull << o));
		fn(ctx, name, kb(geo, c->pte_aligned[o]), true);
	}
	for (unsigned o = MTHP_MIN_ORDER; o <= pmd; o++) {
		snprintf(name, sizeof(name), "anon-thp-pte-unaligned-%" PRIu64 "kB",
			 kb(geo, 1ull << o));
		fn(ctx, name, kb(geo, c->pte_unaligned[o]), true);
	}
	fn(ctx, "anon-thp-pte-partial", kb(geo, c->pte_partial), true);
	fn(ctx, "anon-total", kb(geo, c->anon), true);
	fn(ctx, "anon-swap", kb(geo, c->swap), true);
	fn(ctx, "anon-shared", kb(geo, c->shared), true);
	fn(ctx, "anon-zero-page", kb(geo, c->zero), true);
	for (unsigned b = 0; b < MTHP_AUDIT_OCC_BUCKETS; b++) {
		uint32_t n = geo->ptes_per_pmd, step = n / (MTHP_AUDIT_OCC_BUCKETS - 1);

		if (b == MTHP_AUDIT_OCC_BUCKETS - 1)
			snprintf(name, sizeof(name), "pmd-occupancy-%u-%u", n, n);
		else
			snprintf(name, sizeof(name), "pmd-occupancy-%u-%u", b * step,
				 (b + 1) * step - 1);
		fn(ctx, name, c->occupancy[b], false);
	}
}

/* ---- text ---- */

struct text_ctx {
	FILE *out;
	uint64_t anon_kb;
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
	else if (t->anon_kb && strcmp(name, "anon-total") &&
		 strncmp(name, "anon-swap", 9))
		fprintf(t->out, "%s:%*s%8" PRIu64 " kB (%3.0f%%)\n", name, pad, "",
			value, 100.0 * (double)value / (double)t->anon_kb);
	else
		fprintf(t->out, "%s:%*s%8" PRIu64 " kB\n", name, pad, "", value);
}

static void text_block(FILE *out, const struct mthp_audit_counts *c,
		       const struct mthp_geometry *geo)
{
	struct text_ctx t = { out, kb(geo, c->anon) };

	visit_counters(c, geo, text_counter, &t);
}

static void text_proc(FILE *out, const struct mthp_audit_proc *p)
{
	for (size_t i = 0; i < p->nr_vmas; i++) {
		const struct mthp_audit_vma *v = &p->vmas[i];

		fprintf(out, "%010d: %016" PRIx64 "-%016" PRIx64 " %s %s\n",
			(int)p->pid, v->start, v->end, v->perms, v->name);
		text_block(out, &v->c, &p->geo);
	}
}

/* ---- JSON ---- */

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
		visit_counters(c, geo, json_counter, o);
	return o;
}

static json_t *json_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIx64, v);
	return json_string(buf);
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
	for (size_t i = 0; i < v->nr_ranges; i++) {
		const struct mthp_audit_range *r = &v->ranges[i];
		json_t *jr = json_object();

		json_object_set_new(jr, "addr", json_hex(r->pmd_addr));
		json_object_set_new(jr, "huge", json_boolean(r->huge));
		json_object_set_new(jr, "present", json_integer(r->present));
		json_object_set_new(jr, "swap", json_integer(r->swap));
		json_object_set_new(jr, "zero", json_integer(r->zero));
		json_array_append_new(ranges, jr);
	}
	json_object_set_new(o, "pmd_ranges", ranges);
	return o;
}

static json_t *json_proc(const struct mthp_audit_proc *p)
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

/* ---- Prometheus (node_exporter textfile) ---- */

struct prom_entry {
	pid_t pid;		/* 0: rollup */
	char comm[32];
	struct mthp_audit_counts c;
};

struct prom_ctx {
	FILE *out;
	const struct prom_entry *e;
	const char *want;	/* the family being written */
};

static void prom_labels(FILE *out, const struct prom_entry *e)
{
	if (!e->pid)
		return;
	fprintf(out, "pid=\"%d\",comm=\"", (int)e->pid);
	for (const char *s = e->comm; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputs("\",", out);
}

/* Which family a counter belongs to, and its extra labels. */
static const char *prom_family(const char *name, char *labels, size_t len)
{
	char map[8], align[16];
	unsigned long size;

	labels[0] = '\0';
	if (sscanf(name, "anon-thp-%7[a-z]-%15[a-z]-%lukB", map, align, &size) == 3) {
		snprintf(labels, len, "mapping=\"%s\",alignment=\"%s\",size_kb=\"%lu\",name=\"%s\"",
			 map, align, size, name);
		return "mthp_anon_thp_kilobytes";
	}
	if (!strcmp(name, "anon-thp-pte-partial")) {
		snprintf(labels, len, "mapping=\"pte\",alignment=\"partial\",size_kb=\"\",name=\"%s\"",
			 name);
		return "mthp_anon_thp_kilobytes";
	}
	if (!strncmp(name, "pmd-occupancy-", 14)) {
		snprintf(labels, len, "present=\"%s\"", name + 14);
		return "mthp_pmd_ranges";
	}
	if (!strcmp(name, "anon-total"))
		return "mthp_anon_kilobytes";
	if (!strcmp(name, "anon-swap"))
		return "mthp_anon_swap_kilobytes";
	if (!strcmp(name, "anon-shared"))
		return "mthp_anon_shared_kilobytes";
	return "mthp_anon_zero_page_kilobytes";
}

static void prom_counter(void *ctx, const char *name, uint64_t value, bool is_kb)
{
	struct prom_ctx *pc = ctx;
	char labels[160];
	const char *family = prom_family(name, labels, sizeof(labels));

	(void)is_kb;
	if (strcmp(family, pc->want))
		return;
	fprintf(pc->out, "%s{", family);
	prom_labels(pc->out, pc->e);
	fprintf(pc->out, "%s}", labels);
	fprintf(pc->out, " %" PRIu64 "\n", value);
}

static const struct {
	const char *name;
	const char *help;
} prom_families[] = {
	{ "mthp_anon_thp_kilobytes", "Anonymous memory in (m)THPs by mapping, alignment and folio size (thpmaps counters)." },
	{ "mthp_anon_kilobytes", "Present anonymous memory." },
	{ "mthp_anon_swap_kilobytes", "Swapped-out anonymous memory." },
	{ "mthp_anon_shared_kilobytes", "Anonymous memory in folios mapped by another process too." },
	{ "mthp_anon_zero_page_kilobytes", "Mappings of the shared (huge) zero page in anonymous VMAs." },
	{ "mthp_pmd_ranges", "PMD ranges inside anonymous VMAs by number of present pages." },
};

static void prom_write(FILE *out, const struct prom_entry *entries, size_t nr,
		       const struct mthp_geometry *geo)
{
	for (size_t f = 0; f < sizeof(prom_families) / sizeof(prom_families[0]); f++) {
		fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", prom_families[f].name,
			prom_families[f].help, prom_families[f].name);
		for (size_t i = 0; i < nr; i++) {
			struct prom_ctx pc = { out, &entries[i], prom_families[f].name };

			visit_counters(&entries[i].c, geo, prom_counter, &pc);
		}
	}
}

/* ---- the command ---- */

static int parse_audit_opts(int argc, char **argv, struct audit_opts *o,
			    FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "rollup", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:c:rjPh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (o->nr_pids == MAX_PIDS ||
			    mthp_cli_parse_pid(optarg, &o->pids[o->nr_pids]) < 0) {
				fprintf(err, "mthp audit: bad pid '%s'\n", optarg);
				return EXIT_USAGE;
			}
			o->nr_pids++;
			break;
		case 'c':
			o->cgroup = optarg;
			break;
		case 'r':
			o->rollup = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'P':
			o->prometheus = true;
			break;
		case 'h':
			fputs(audit_usage, out);
			return -1;
		default:
			fprintf(err, "mthp audit: bad option '%s'\n%s", argv[optind - 1],
				audit_usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(err, "mthp audit: unexpected argument '%s'\n%s", argv[optind],
			audit_usage);
		return EXIT_USAGE;
	}
	if (o->json && o->prometheus) {
		fprintf(err, "mthp audit: --json and --prometheus exclude each other\n");
		return EXIT_USAGE;
	}
	if (o->cgroup && o->nr_pids) {
		fprintf(err, "mthp audit: --pid and --cgroup exclude each other\n");
		return EXIT_USAGE;
	}
	return 0;
}

static int select_pids(const struct audit_opts *o, pid_t **pids, size_t *nr,
		       FILE *err)
{
	struct mthp_diag diag = { 0 };
	int ret;

	if (o->nr_pids) {
		*pids = malloc(o->nr_pids * sizeof(pid_t));
		if (!*pids)
			return -ENOMEM;
		memcpy(*pids, o->pids, o->nr_pids * sizeof(pid_t));
		*nr = o->nr_pids;
		return 0;
	}
	ret = o->cgroup ? mthp_live_cgroup_pids(o->cgroup, pids, nr, &diag) :
			  mthp_live_all_pids(pids, nr, &diag);
	if (ret < 0)
		fprintf(err, "mthp audit: %s\n", diag.msg);
	return ret;
}

int cmd_audit(int argc, char **argv, FILE *out, FILE *err)
{
	struct audit_opts *o = calloc(1, sizeof(*o));
	struct mthp_diag diag = { 0 };
	struct mthp_audit_counts sum = { 0 };
	struct mthp_settings host_settings;
	struct mthp_live_host host;
	struct mthp_geometry geo;
	struct prom_entry *prom = NULL;
	size_t nr_prom = 0, nr = 0, nr_ok = 0, nr_gone = 0;
	json_t *doc = NULL, *procs = NULL, *errors = NULL;
	pid_t *pids = NULL;
	int ret, status = 0;

	if (!o)
		return 1;
	ret = parse_audit_opts(argc, argv, o, out, err);
	if (ret) {
		free(o);
		return ret < 0 ? 0 : ret;
	}
	if (mthp_live_check_access(&diag) < 0 || mthp_live_geometry(&geo, &diag) < 0) {
		fprintf(err, "mthp audit: %s\n", diag.msg);
		free(o);
		return 1;
	}
	if (mthp_live_settings(&host_settings, &host, &diag) == 0 && !o->prometheus &&
	    !o->json) {
		if (!host.thp_present)
			fprintf(err, "mthp audit: note: transparent hugepages are not available on this kernel\n");
		else if (host.thp_disabled)
			fprintf(err, "mthp audit: note: THP is disabled on this host (enabled=never, no size enabled)\n");
	}
	if (select_pids(o, &pids, &nr, err) < 0) {
		free(o);
		return 1;
	}
	if (o->json) {
		doc = json_object();
		procs = json_array();
		errors = json_array();
	}
	if (!o->rollup && !o->json && !o->prometheus)
		fprintf(out, "       PID             START              END PROT OBJECT\n");
	for (size_t i = 0; i < nr; i++) {
		struct mthp_audit_proc p;

		ret = mthp_live_audit(pids[i], o->json && !o->rollup, &p, &diag);
		if (ret < 0) {
			/* Without --pid, gone processes and kernel threads are no news. */
			if (o->nr_pids || (ret != -ESRCH && ret != -EACCES)) {
				if (errors) {
					json_t *e = json_object();

					json_object_set_new(e, "pid", json_integer(pids[i]));
					json_object_set_new(e, "error", json_string(diag.msg));
					json_array_append_new(errors, e);
				} else {
					fprintf(err, "mthp audit: %s%s\n", diag.msg,
						ret == -ESRCH ? " (gone, skipped)" : "");
				}
			}
			if (o->nr_pids)
				status = 1;
			nr_gone += ret == -ESRCH;
			continue;
		}
		nr_ok++;
		mthp_audit_counts_add(&sum, &p.total);
		if (o->prometheus && !o->rollup) {
			struct prom_entry *pe = realloc(prom, (nr_prom + 1) * sizeof(*pe));

			if (pe) {
				prom = pe;
				prom[nr_prom] = (struct prom_entry){ .pid = p.pid, .c = p.total };
				memcpy(prom[nr_prom].comm, p.comm, sizeof(p.comm));
				nr_prom++;
			}
		} else if (o->json && !o->rollup) {
			json_array_append_new(procs, json_proc(&p));
		} else if (!o->rollup && !o->json) {
			text_proc(out, &p);
		}
		mthp_audit_proc_free(&p);
	}
	if (!nr_ok && nr)
		status = 1;
	if (nr_gone && !o->nr_pids && !o->json && !o->prometheus)
		fprintf(err, "mthp audit: %zu processes exited while being read (skipped)\n",
			nr_gone);
	if (o->prometheus) {
		if (o->rollup) {
			struct prom_entry e = { .c = sum };

			prom_write(out, &e, 1, &geo);
		} else {
			prom_write(out, prom, nr_prom, &geo);
		}
	} else if (o->json) {
		json_object_set_new(doc, "format", json_string("mthp-audit 1"));
		json_object_set_new(doc, "page_size", json_integer(geo.page_size));
		json_object_set_new(doc, "ptes_per_pmd", json_integer(geo.ptes_per_pmd));
		if (o->rollup) {
			json_t *r = json_object();

			json_object_set_new(r, "processes", json_integer((json_int_t)nr_ok));
			json_object_set_new(r, "counters", json_counts(&sum, &geo));
			json_object_set_new(doc, "rollup", r);
			json_decref(procs);
		} else {
			json_object_set_new(doc, "processes", procs);
		}
		json_object_set_new(doc, "errors", errors);
		if (json_dumpf(doc, out, JSON_INDENT(2)) < 0)
			status = 1;
		fputc('\n', out);
		json_decref(doc);
	} else if (o->rollup) {
		text_block(out, &sum, &geo);
	}
	free(prom);
	free(pids);
	free(o);
	return status;
}
