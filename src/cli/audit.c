// SPDX-License-Identifier: MIT
/*
 * audit.c - `mthp audit`: its options, which processes to audit, and the
 * exit status.  What (m)THPs each process has comes from the live tools
 * (mthp_live_audit); the text, JSON and Prometheus forms are written by
 * src/report (report/audit.h).
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/live.h>
#include <mthp/scenario.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "report/audit.h"

static const char audit_intro[] =
"usage: mthp audit [--pid PID]... [--cgroup PATH] [--rollup] [--json | --prometheus]\n"
"                  [--cont SIZE]... [--file]\n"
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
"With --cont SIZE, thpmaps's contiguous blocks of that size:\n"
"  anon-cont-pte-aligned-<S>kB     PTE-mapped blocks of S, aligned to S in both\n"
"                                  the virtual and the physical address, each\n"
"                                  inside one folio (what arm64's contpte needs)\n"
"  anon-cont-pmd-aligned-<S>kB     the PMD-mapped memory, all such blocks\n"
"With --file, the file-backed VMAs too, with the file-* twins of the\n"
"thp and cont counters (page-cache folios) and file-total, the present\n"
"page-cache memory; anonymous pages of a private file mapping count as anon.\n"
"In text, a kB counter is followed by its share of anon-total (file-*\n"
"counters: of file-total), except anon-swap and anon-zero-page, which are\n"
"not part of it.\n"
"\n"
"Where the kernel counts collapses per size (hugepages-<S>/stats/collapse_*,\n"
"Linux 7.2), the host's counters since boot follow the processes: the\n"
"lines not 0 in text, \"host_collapse_stats\" in JSON (per size, every\n"
"counter), mthp_host_collapse_total in Prometheus.\n"
"\n";

static const char audit_outro[] =
"Needs root (CAP_SYS_ADMIN).  A process that exits while it is read is\n"
"reported as gone and the others go on; a kernel thread, which has no\n"
"user memory, is skipped (an error when named by --pid).  Every process\n"
"that could not be read is counted on standard error by reason (text),\n"
"listed under \"errors\" with its pid, reason, errno and message (JSON),\n"
"and counted by the mthp_audit_errors gauges (Prometheus), so a partial\n"
"audit says it is partial.  Exit status: 0 done; 1 a --pid could not be\n"
"read (or nothing could); 2 bad option.\n";

struct audit_opts {
	struct mthp_opt_pids pids;
	struct mthp_opt_strings cont;
	const char *cgroup;
	bool rollup, json, prometheus, file;
	struct mthp_audit_opts read;	/* from the above, once the page size is known */
};

#define OPT(field) offsetof(struct audit_opts, field)

static const struct mthp_opt audit_opts_table[] = {
	{ "pid", 'p', "PID", MTHP_OPT_PIDS, OPT(pids),
	  .help = "a process (repeatable; a pid named twice is read once)" },
	{ "cgroup", 'c', "PATH", MTHP_OPT_STRING, OPT(cgroup),
	  .help = "the processes of a cgroup (v2) and its descendants;\n"
		  "PATH absolute or below /sys/fs/cgroup" },
	{ "rollup", 'r', NULL, MTHP_OPT_FLAG, OPT(rollup),
	  .help = "one sum over all VMAs of all processes" },
	{ "json", 'j', NULL, MTHP_OPT_FLAG, OPT(json),
	  .help = "JSON (per process, per VMA, per PMD range)" },
	{ "prometheus", 'P', NULL, MTHP_OPT_FLAG, OPT(prometheus),
	  .help = "node_exporter textfile format" },
	{ "cont", 'C', "SIZE", MTHP_OPT_STRINGS, OPT(cont),
	  .help = "also count contiguous blocks of SIZE (repeatable): 2 pages to\n"
		  "the PMD size, a power of 2 pages, as 64K, 2M or bytes" },
	{ "file", 'f', NULL, MTHP_OPT_FLAG, OPT(file),
	  .help = "file-backed VMAs too, with the file-* counters" },
	{ 0 },
};

static const struct mthp_cmd_spec audit_spec = {
	"audit", audit_intro, audit_opts_table, audit_outro, NULL, 0,
};

/* ---- the command ---- */

/* The --cont sizes as orders of geo; EXIT_USAGE after the error on err. */
static int cont_orders(struct audit_opts *o, const struct mthp_geometry *geo, FILE *err)
{
	for (size_t i = 0; i < o->cont.nr; i++) {
		const char *v = o->cont.v[i];
		uint64_t bytes, pages;
		char why[160];

		if (!mthp_parse_size(v, &bytes) || !bytes || bytes % geo->page_size) {
			snprintf(why, sizeof(why), "--cont %s: not a size in whole %u-byte "
				 "pages (as 64K or 2M)", v, (unsigned)geo->page_size);
			return mthp_opts_usage_error(&audit_spec, err, "%s", why);
		}
		pages = bytes / geo->page_size;
		if (pages < 2 || (pages & (pages - 1)) || pages > geo->ptes_per_pmd) {
			snprintf(why, sizeof(why), "--cont %s: must be a power of 2 pages from "
				 "2 pages to the PMD size (%" PRIu64 "K to %" PRIu64 "K)", v,
				 (uint64_t)geo->page_size * 2 / 1024, mthp_pmd_size(geo) / 1024);
			return mthp_opts_usage_error(&audit_spec, err, "%s", why);
		}
		o->read.cont_orders |= 1u << __builtin_ctzll(pages);	/* 1 << order */
	}
	return 0;
}

/* 0, -1 (help shown) or an exit status. */
static int parse_audit_opts(int argc, char **argv, struct audit_opts *o,
			    FILE *out, FILE *err)
{
	int ret = mthp_opts_parse(&audit_spec, argc, argv, o, out, err);

	if (ret)
		return ret;
	if (o->json && o->prometheus)
		return mthp_opts_usage_error(&audit_spec, err,
					     "--json and --prometheus exclude each other");
	if (o->cgroup && o->pids.nr)
		return mthp_opts_usage_error(&audit_spec, err,
					     "--pid and --cgroup exclude each other");
	if (o->cgroup && !*o->cgroup)
		return mthp_opts_usage_error(&audit_spec, err,
					     "--cgroup: the path is empty (the root cgroup is /)");
	return 0;
}

static int select_pids(const struct audit_opts *o, pid_t **pids, size_t *nr,
		       FILE *err)
{
	struct mthp_diag diag = { 0 };
	int ret;

	if (o->pids.nr) {
		*pids = malloc(o->pids.nr * sizeof(pid_t));
		if (!*pids)
			return -ENOMEM;
		memcpy(*pids, o->pids.v, o->pids.nr * sizeof(pid_t));
		*nr = o->pids.nr;
		return 0;
	}
	ret = o->cgroup ? mthp_live_cgroup_pids(o->cgroup, pids, nr, &diag) :
			  mthp_live_all_pids(pids, nr, &diag);
	if (ret < 0)
		fprintf(err, "mthp audit: %s\n", diag.msg);
	return ret;
}

/*
 * Without --pid, processes that exit while read and kernel threads are no
 * news; every other failure is recorded for the report (JSON and
 * Prometheus list it, text counts it on err).  With --pid, each is said.
 */
static int audit_one(const struct audit_opts *o, struct mthp_audit_report *rep,
		     pid_t pid, FILE *err)
{
	struct mthp_diag diag = { 0 };
	struct mthp_audit_proc p;
	int ret;

	ret = mthp_live_audit_opts(pid, &o->read, &p, &diag);
	if (ret < 0) {
		if (!o->pids.nr && ret == -ENXIO)
			return 0;
		if (o->pids.nr && !o->json)
			fprintf(err, "mthp audit: %s\n", diag.msg);
		if (mthp_audit_report_error(rep, pid, ret, diag.msg) < 0)
			return -ENOMEM;
		return ret;
	}
	ret = mthp_audit_report_proc(rep, &p);
	mthp_audit_proc_free(&p);
	return ret == -ENOMEM ? ret : 0;
}

/* The processes skipped, by reason, on err (text output without --pid). */
static void say_skipped(const struct mthp_audit_report *rep, FILE *err)
{
	size_t counts[MTHP_AUDIT_NR_REASONS];
	const char *sep = "";

	if (!rep->nr_errors)
		return;
	mthp_audit_report_tally(rep, counts);
	fprintf(err, "mthp audit: skipped %zu process%s (", rep->nr_errors,
		rep->nr_errors == 1 ? "" : "es");
	for (int i = 0; i < MTHP_AUDIT_NR_REASONS; i++) {
		if (!counts[i])
			continue;
		fprintf(err, "%s%zu %s", sep, counts[i], mthp_audit_reason_name(i));
		sep = ", ";
	}
	fprintf(err, ")\n");
}

static enum mthp_audit_format audit_format(const struct audit_opts *o)
{
	return o->json ? MTHP_AUDIT_JSON :
	       o->prometheus ? MTHP_AUDIT_PROM : MTHP_AUDIT_TEXT;
}

static void host_notes(const struct audit_opts *o, FILE *err)
{
	struct mthp_settings host_settings;
	struct mthp_live_host host;
	struct mthp_diag diag = { 0 };

	if (o->prometheus || o->json ||
	    mthp_live_settings(&host_settings, &host, &diag) < 0)
		return;
	if (!host.thp_present)
		fprintf(err, "mthp audit: note: transparent hugepages are not available on this kernel\n");
	else if (host.thp_disabled)
		fprintf(err, "mthp audit: note: THP is disabled on this host (enabled=never, no size enabled)\n");
}

/* The host's per-size collapse counters, where the kernel has them. */
static void host_stats(struct mthp_audit_report *rep, const struct mthp_geometry *geo,
		       FILE *err)
{
	struct mthp_host_collapse_stats st;
	struct mthp_diag diag = { 0 };

	if (mthp_live_collapse_stats(geo, &st, &diag) < 0) {
		fprintf(err, "mthp audit: note: the host's collapse counters are left out: %s\n",
			diag.msg);
		return;
	}
	mthp_audit_report_host(rep, &st);
}

int cmd_audit(int argc, char **argv, FILE *out, FILE *err)
{
	struct audit_opts *o = calloc(1, sizeof(*o));
	struct mthp_diag diag = { 0 };
	struct mthp_audit_report rep;
	struct mthp_geometry geo;
	size_t nr = 0, nr_failed = 0;
	pid_t *pids = NULL;
	int ret, status = 1;

	if (!o)
		return 1;
	ret = parse_audit_opts(argc, argv, o, out, err);
	if (ret) {
		status = ret < 0 ? 0 : ret;
		goto out_opts;
	}
	if (mthp_live_check_access(&diag) < 0 || mthp_live_geometry(&geo, &diag) < 0) {
		fprintf(err, "mthp audit: %s\n", diag.msg);
		goto out_opts;
	}
	status = cont_orders(o, &geo, err);
	if (status)
		goto out_opts;
	status = 1;
	o->read.keep_ranges = o->json && !o->rollup;
	o->read.files = o->file;
	host_notes(o, err);
	if (select_pids(o, &pids, &nr, err) < 0)
		goto out_opts;
	if (mthp_audit_report_init(&rep, audit_format(o), o->rollup, &geo, out) < 0)
		goto out_pids;
	mthp_audit_report_opts(&rep, &o->read);
	host_stats(&rep, &geo, err);
	for (size_t i = 0; i < nr; i++) {
		ret = audit_one(o, &rep, pids[i], err);
		if (ret == -ENOMEM)
			break;
		nr_failed += ret < 0;
	}
	/* 1 when a --pid failed, or when nothing at all could be read */
	status = ret == -ENOMEM || (o->pids.nr && nr_failed) || (nr && !rep.nr_procs);
	if (!o->pids.nr && !o->json && !o->prometheus)
		say_skipped(&rep, err);
	if (mthp_audit_report_finish(&rep) < 0)
		status = 1;
out_pids:
	free(pids);
out_opts:
	mthp_opts_free(&audit_spec, o);
	free(o);
	return status;
}
