// SPDX-License-Identifier: MIT
/*
 * audit_prom.c - `mthp audit --prometheus`: the node_exporter textfile
 * format, one gauge family per counter kind, labelled by pid and comm
 * (none for --rollup), then how complete the audit is: the processes
 * audited and the ones that could not be read, in all and by reason, so
 * a fleet dashboard can tell a partial audit from a quiet host.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/audit.h"

struct mthp_audit_prom_entry {
	pid_t pid;		/* 0: rollup */
	char comm[32];
	struct mthp_audit_counts c;
};

struct prom_ctx {
	FILE *out;
	const struct mthp_audit_prom_entry *e;
	const char *want;	/* the family being written */
};

static void prom_labels(FILE *out, const struct mthp_audit_prom_entry *e)
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
	char type[8], map[8], align[16];
	unsigned long size;

	labels[0] = '\0';
	if (sscanf(name, "%7[a-z]-thp-%7[a-z]-%15[a-z]-%lukB", type, map, align, &size) == 4) {
		snprintf(labels, len, "mapping=\"%s\",alignment=\"%s\",size_kb=\"%lu\",name=\"%s\"",
			 map, align, size, name);
		return strcmp(type, "anon") ? "mthp_file_thp_kilobytes" : "mthp_anon_thp_kilobytes";
	}
	if (!strcmp(name, "anon-thp-pte-partial") || !strcmp(name, "file-thp-pte-partial")) {
		snprintf(labels, len, "mapping=\"pte\",alignment=\"partial\",size_kb=\"\",name=\"%s\"",
			 name);
		return name[0] == 'a' ? "mthp_anon_thp_kilobytes" : "mthp_file_thp_kilobytes";
	}
	if (sscanf(name, "%7[a-z]-cont-%7[a-z]-aligned-%lukB", type, map, &size) == 3) {
		snprintf(labels, len, "mapping=\"%s\",size_kb=\"%lu\",name=\"%s\"",
			 map, size, name);
		return strcmp(type, "anon") ? "mthp_file_cont_kilobytes" : "mthp_anon_cont_kilobytes";
	}
	if (!strncmp(name, "pmd-occupancy-", 14)) {
		snprintf(labels, len, "present=\"%s\"", name + 14);
		return "mthp_pmd_ranges";
	}
	if (!strcmp(name, "anon-total"))
		return "mthp_anon_kilobytes";
	if (!strcmp(name, "file-total"))
		return "mthp_file_kilobytes";
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
	bool cont;	/* only with --cont */
	bool files;	/* only with --file */
} prom_families[] = {
	{ "mthp_anon_thp_kilobytes", "Anonymous memory in (m)THPs by mapping, alignment and folio size (thpmaps counters)." },
	{ "mthp_anon_kilobytes", "Present anonymous memory." },
	{ "mthp_anon_swap_kilobytes", "Swapped-out anonymous memory." },
	{ "mthp_anon_shared_kilobytes", "Anonymous memory in folios mapped by another process too." },
	{ "mthp_anon_zero_page_kilobytes", "Mappings of the shared (huge) zero page in anonymous VMAs." },
	{ "mthp_pmd_ranges", "PMD ranges inside anonymous VMAs by number of present pages." },
	{ "mthp_anon_cont_kilobytes", "Anonymous memory in aligned contiguous blocks by mapping and block size (thpmaps --cont counters).", true, false },
	{ "mthp_file_thp_kilobytes", "Page-cache memory in large folios by mapping, alignment and folio size (thpmaps counters).", false, true },
	{ "mthp_file_cont_kilobytes", "Page-cache memory in aligned contiguous blocks by mapping and block size (thpmaps --cont counters).", true, true },
	{ "mthp_file_kilobytes", "Present page-cache memory of file-backed VMAs.", false, true },
};

int mthp_audit_prom_add(struct mthp_audit_report *r, const struct mthp_audit_proc *p)
{
	struct mthp_audit_prom_entry *pe = realloc(r->prom, (r->nr_prom + 1) * sizeof(*pe));

	if (!pe)
		return -ENOMEM;
	r->prom = pe;
	pe = &r->prom[r->nr_prom++];
	*pe = (struct mthp_audit_prom_entry){ .pid = p->pid, .c = p->total };
	memcpy(pe->comm, p->comm, sizeof(pe->comm));
	return 0;
}

static void prom_gauge(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* How complete the audit is. */
static void prom_completeness(const struct mthp_audit_report *r)
{
	size_t counts[MTHP_AUDIT_NR_REASONS];

	mthp_audit_report_tally(r, counts);
	prom_gauge(r->out, "mthp_audit_processes", "Processes audited.");
	fprintf(r->out, "mthp_audit_processes %zu\n", r->nr_procs);
	prom_gauge(r->out, "mthp_audit_errors",
		   "Processes that could not be audited (the audit is partial when not 0).");
	fprintf(r->out, "mthp_audit_errors %zu\n", r->nr_errors);
	prom_gauge(r->out, "mthp_audit_errors_by_reason",
		   "Processes that could not be audited, by reason.");
	for (int i = 0; i < MTHP_AUDIT_NR_REASONS; i++)
		fprintf(r->out, "mthp_audit_errors_by_reason{reason=\"%s\"} %zu\n",
			mthp_audit_reason_name(i), counts[i]);
}

static void prom_host(void *ctx, const char *size, const char *stat, uint64_t value)
{
	fprintf(ctx, "mthp_host_collapse_total{size_kb=\"%.*s\",stat=\"%s\"} %" PRIu64 "\n",
		(int)strlen(size) - 2, size, stat, value);
}

int mthp_audit_prom_write(const struct mthp_audit_report *r)
{
	struct mthp_audit_prom_entry rollup = { .c = r->sum };
	const struct mthp_audit_prom_entry *entries = r->rollup ? &rollup : r->prom;
	size_t nr = r->rollup ? 1 : r->nr_prom;

	for (size_t f = 0; f < sizeof(prom_families) / sizeof(prom_families[0]); f++) {
		if ((prom_families[f].cont && !r->opts.cont_orders) ||
		    (prom_families[f].files && !r->opts.files))
			continue;
		prom_gauge(r->out, prom_families[f].name, prom_families[f].help);
		for (size_t i = 0; i < nr; i++) {
			struct prom_ctx pc = { r->out, &entries[i], prom_families[f].name };

			mthp_audit_visit_counters(&entries[i].c, &r->geo, &r->opts, prom_counter,
						  &pc);
		}
	}
	if (mthp_audit_has_host(r)) {
		fprintf(r->out, "# HELP mthp_host_collapse_total The host's per-size collapse "
			"counters (hugepages-<size>/stats/collapse_*).\n"
			"# TYPE mthp_host_collapse_total counter\n");
		mthp_audit_visit_host(r, prom_host, r->out);
	}
	prom_completeness(r);
	return ferror(r->out) ? -EIO : 0;
}
