// SPDX-License-Identifier: MIT
/*
 * daemon.c - `mthp daemon`: the userspace khugepaged of src/live/daemon.c
 * run every interval, with its options, the signal handling (SIGTERM and
 * SIGINT stop it after the current PMD range, SIGUSR1 prints the
 * counters) and the interruptible sleep between wake-ups.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mthp/engine.h>
#include <mthp/live.h>

#include "cli/cli.h"
#include "cli/opts.h"

static const char daemon_intro[] =
"usage: mthp daemon [--pid PID... | --cgroup PATH] [--interval MS]\n"
"                   [--pages-to-scan N] [--policy P] [--set KNOB=VALUE]...\n"
"                   [--dry-run] [--iterations N]\n"
"\n"
"A userspace khugepaged.  Every interval it scans at most N pages of the\n"
"targets from where the last scan stopped, process by process and PMD range\n"
"by PMD range, counting progress as khugepaged does (+1 per process taken\n"
"and per VMA skipped, +512 per PMD range of 4K pages).  It plans each range\n"
"with the engine (khugepaged context, the host's THP settings) and\n"
"collapses the ranges planned at PMD size with\n"
"process_madvise(MADV_COLLAPSE); smaller (mTHP) windows are logged as not\n"
"possible on this kernel.  After a collapse attempt the process's turn\n"
"ends, as khugepaged's does when it drops mmap_lock.\n"
"\n"
"\n";

static const char daemon_outro[] =
"Log, one line per PMD range that has a page table (not a THP already):\n"
"  pid=PID addr=HEX result=SCAN_... action=ACTION errno=NAME [note]\n"
"ACTION is skip, collapse, would-collapse (--dry-run) or mthp-not-possible;\n"
"drop (the target exited or refused us) and skip-pass (its mappings kept\n"
"changing) name a target.  Counters (pages_collapsed, full_scans,\n"
"pages_scanned, collapse_failed, mthp_not_possible, targets,\n"
"targets_dropped, then one line per SCAN_* result) are printed at exit\n"
"and on SIGUSR1.  SIGTERM or SIGINT: finish the current range, print the\n"
"counters, exit.\n"
"\n"
"At start it notes on standard error whether the kernel's own khugepaged\n"
"collapses sizes below the PMD size too (it counts collapses per size:\n"
"Linux 7.2) or at the PMD size only, so a user knows whether both act on\n"
"the same processes.\n"
"\n"
"Needs root (CAP_SYS_ADMIN to read page tables, CAP_SYS_NICE for\n"
"process_madvise).  Exit status: 0 stopped (signal, --iterations, or every\n"
"--pid exited); 1 cannot run (not root, no THP, no such pid or cgroup);\n"
"2 bad option.\n";


static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t dump_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_dump(int sig)
{
	(void)sig;
	dump_flag = 1;
}

#define HOST_INTERVAL UINT64_MAX	/* the host's scan_sleep_millisecs */

struct daemon_opts {
	struct mthp_opt_pids pids;
	struct mthp_opt_strings sets;
	const char *cgroup;
	uint64_t interval;		/* ms, or HOST_INTERVAL */
	uint64_t pages_to_scan;		/* 0: the host's */
	enum mthp_policy policy;
	bool dry_run;
	uint64_t iterations;		/* 0: until signalled */
};

#define OPT(field) offsetof(struct daemon_opts, field)

static const struct mthp_opt daemon_opts_table[] = {
	{ "pid", 'p', "PID", MTHP_OPT_PIDS, OPT(pids),
	  .help = "a target process (repeatable, each pid once);\n"
		  "a target that exits is dropped, the others go on" },
	{ "cgroup", 'c', "PATH", MTHP_OPT_STRING, OPT(cgroup),
	  .help = "the processes of a cgroup and its descendants,\n"
		  "listed again at each full scan; PATH absolute\n"
		  "or below /sys/fs/cgroup\n"
		  "(neither: every process with anonymous memory)" },
	{ "interval", 'i', "MS", MTHP_OPT_U64, OPT(interval), 0, 86400000,
	  .help = "sleep between scans, 0 to 86400000 (default:\n"
		  "the host's khugepaged/scan_sleep_millisecs)" },
	{ "pages-to-scan", 's', "N", MTHP_OPT_U64, OPT(pages_to_scan), 1, UINT32_MAX,
	  .help = "pages per scan, N > 0 (default: the host's\n"
		  "khugepaged/pages_to_scan)" },
	{ "policy", 'P', "P", MTHP_OPT_POLICY, OPT(policy),
	  .help = "legacy | seed | upstream | guarded (default upstream)" },
	{ "set", 'S', "KNOB=VALUE", MTHP_OPT_STRINGS, OPT(sets),
	  .help = "plan with this THP knob (sysfs name, e.g.\n"
		  "khugepaged/max_ptes_none=64) instead of the\n"
		  "host's; repeatable; sysfs is never written" },
	{ "dry-run", 'n', NULL, MTHP_OPT_FLAG, OPT(dry_run),
	  .help = "plan and log, never call process_madvise" },
	{ "iterations", 'N', "N", MTHP_OPT_U64, OPT(iterations), 0, UINT32_MAX,
	  .help = "stop after N scans (default 0: until signalled)" },
	{ 0 },
};

static const struct mthp_cmd_spec daemon_spec = {
	"daemon", daemon_intro, daemon_opts_table, daemon_outro, NULL, 0,
};

/* 0 parsed, -1 --help, EXIT_USAGE bad option. */
static int parse_daemon_opts(int argc, char **argv, struct daemon_opts *o,
			     FILE *out, FILE *err)
{
	int ret = mthp_opts_parse(&daemon_spec, argc, argv, o, out, err);

	if (ret)
		return ret;
	if (o->cgroup && o->pids.nr)
		return mthp_opts_usage_error(&daemon_spec, err,
					     "--pid and --cgroup exclude each other");
	if (o->cgroup && !*o->cgroup)
		return mthp_opts_usage_error(&daemon_spec, err,
					     "--cgroup: the path is empty (the root cgroup is /)");
	return 0;
}

/* --set values are checked before anything is read: a bad one is a usage error. */
static int check_sets(const struct daemon_opts *o, FILE *err)
{
	struct mthp_geometry geo;
	struct mthp_settings s;
	struct mthp_diag diag = { 0 };
	char msg[160];

	if (mthp_live_geometry(&geo, &diag) < 0)
		return 0;	/* reported by mthp_daemon_init */
	mthp_settings_init(&s, &geo);
	for (size_t i = 0; i < o->sets.nr; i++) {
		if (mthp_settings_set_assignment(&s, o->sets.v[i], msg, sizeof(msg)) < 0) {
			fprintf(err, "mthp daemon: --set %s: %s\n", o->sets.v[i], msg);
			return EXIT_USAGE;
		}
	}
	return 0;
}

struct saved_signals {
	struct sigaction term, intr, usr1;
};

static void install_signals(struct saved_signals *saved)
{
	struct sigaction stop = { .sa_handler = on_stop };
	struct sigaction dump = { .sa_handler = on_dump };

	/* No SA_RESTART: a signal ends the sleep at once. */
	sigemptyset(&stop.sa_mask);
	sigemptyset(&dump.sa_mask);
	stop_flag = 0;
	dump_flag = 0;
	sigaction(SIGTERM, &stop, &saved->term);
	sigaction(SIGINT, &stop, &saved->intr);
	sigaction(SIGUSR1, &dump, &saved->usr1);
}

static void restore_signals(const struct saved_signals *saved)
{
	sigaction(SIGTERM, &saved->term, NULL);
	sigaction(SIGINT, &saved->intr, NULL);
	sigaction(SIGUSR1, &saved->usr1, NULL);
}

/* Sleep ms, printing the counters on SIGUSR1, returning early on SIGTERM/SIGINT. */
static void interval_sleep(struct mthp_daemon *d, long ms, FILE *out)
{
	uint64_t end = mthp_cli_now_ms() + (uint64_t)ms;

	while (mthp_cli_pause_until(end, &stop_flag, &dump_flag)) {
		dump_flag = 0;
		mthp_daemon_print_counters(d, out);
		fflush(out);
	}
}

static int run_daemon(const struct daemon_opts *o, FILE *out, FILE *err)
{
	struct mthp_daemon_config cfg = {
		.pids = o->pids.v,
		.nr_pids = o->pids.nr,
		.cgroup = o->cgroup,
		.pages_to_scan = (uint32_t)o->pages_to_scan,
		.policy = o->policy,
		.dry_run = o->dry_run,
		.overrides = o->sets.v,
		.nr_overrides = o->sets.nr,
	};
	struct mthp_diag diag = { 0 };
	struct saved_signals saved;
	struct mthp_daemon d;
	long interval;
	int ret, status = 0;

	ret = mthp_daemon_init(&d, &cfg, out, &diag);
	if (ret < 0) {
		fprintf(err, "mthp daemon: %s\n", diag.msg);
		mthp_daemon_free(&d);
		return 1;
	}
	if (d.settings.enabled == MTHP_MODE_NEVER)
		fprintf(err, "mthp daemon: note: THP is disabled (enabled=never): khugepaged would not run; only sizes enabled on their own are planned\n");
	if (d.host.mthp_collapse)
		fprintf(err, "mthp daemon: note: this kernel's own khugepaged collapses sizes below %" PRIu64 "K too (Linux 7.2); it acts on the same processes unless stopped or their VMAs are excluded\n",
			mthp_pmd_size(&d.settings.geo) >> 10);
	else
		fprintf(err, "mthp daemon: note: this kernel's own khugepaged collapses at the PMD size only (no per-size collapse_alloc below %" PRIu64 "K); the daemon is what collapses smaller sizes here\n",
			mthp_pmd_size(&d.settings.geo) >> 10);
	interval = o->interval != HOST_INTERVAL ? (long)o->interval :
		   (long)d.settings.scan_sleep_millisecs;
	install_signals(&saved);	/* before the first line: a reader may signal then */
	fprintf(out, "# mthp daemon: %zu targets, pages_to_scan %" PRIu32 ", interval %ld ms, policy %s%s\n",
		d.nr_targets, o->pages_to_scan ? (uint32_t)o->pages_to_scan : d.settings.pages_to_scan,
		interval, mthp_policy_name(o->policy), o->dry_run ? ", dry run" : "");
	fflush(out);
	d.stop = &stop_flag;
	d.dump = &dump_flag;
	for (uint64_t i = 0; !o->iterations || i < o->iterations; i++) {
		ret = mthp_daemon_scan(&d, &diag);
		if (ret == -ESRCH) {
			fprintf(err, "mthp daemon: %s\n", diag.msg);
			break;
		}
		if (ret < 0) {
			fprintf(err, "mthp daemon: %s\n", diag.msg[0] ? diag.msg :
				strerror(-ret));
			status = 1;
			break;
		}
		if (stop_flag || (o->iterations && i + 1 == o->iterations))
			break;
		interval_sleep(&d, interval, out);
		if (stop_flag)
			break;
	}
	restore_signals(&saved);
	mthp_daemon_print_counters(&d, out);
	fflush(out);
	mthp_daemon_free(&d);
	return status;
}

int cmd_daemon(int argc, char **argv, FILE *out, FILE *err)
{
	struct daemon_opts *o = calloc(1, sizeof(*o));
	int ret;

	if (!o)
		return 1;
	o->interval = HOST_INTERVAL;
	o->policy = MTHP_POLICY_UPSTREAM;
	ret = parse_daemon_opts(argc, argv, o, out, err);
	if (!ret)
		ret = check_sets(o, err);
	if (!ret)
		ret = run_daemon(o, out, err);
	mthp_opts_free(&daemon_spec, o);
	free(o);
	return ret < 0 ? 0 : ret;
}
