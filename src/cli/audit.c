// SPDX-License-Identifier: MIT
/*
 * audit.c - `mthp audit`: its options, which processes to audit, and the
 * exit status.  What (m)THPs each process has comes from the live tools
 * (mthp_live_audit); the text, JSON and Prometheus forms are written by
 * src/report (report/audit.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/live.h>

#include "cli/cli.h"
#include "report/audit.h"

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

	ret = mthp_live_audit(pid, o->json && !o->rollup, &p, &diag);
	if (ret < 0) {
		if (!o->nr_pids && ret == -ENXIO)
			return 0;
		if (o->nr_pids && !o->json)
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
		free(o);
		return ret < 0 ? 0 : ret;
	}
	if (mthp_live_check_access(&diag) < 0 || mthp_live_geometry(&geo, &diag) < 0) {
		fprintf(err, "mthp audit: %s\n", diag.msg);
		goto out_opts;
	}
	host_notes(o, err);
	if (select_pids(o, &pids, &nr, err) < 0)
		goto out_opts;
	if (mthp_audit_report_init(&rep, audit_format(o), o->rollup, &geo, out) < 0)
		goto out_pids;
	for (size_t i = 0; i < nr; i++) {
		ret = audit_one(o, &rep, pids[i], err);
		if (ret == -ENOMEM)
			break;
		nr_failed += ret < 0;
	}
	/* 1 when a --pid failed, or when nothing at all could be read */
	status = ret == -ENOMEM || (o->nr_pids && nr_failed) || (nr && !rep.nr_procs);
	if (!o->nr_pids && !o->json && !o->prometheus)
		say_skipped(&rep, err);
	if (mthp_audit_report_finish(&rep) < 0)
		status = 1;
out_pids:
	free(pids);
out_opts:
	free(o);
	return status;
}
