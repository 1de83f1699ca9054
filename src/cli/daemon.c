// SPDX-License-Identifier: MIT
/*
 * daemon.c - `mthp daemon`: the userspace khugepaged of src/live/daemon.c
 * run every interval, with its options, the signal handling (SIGTERM and
 * SIGINT stop it after the current PMD range, SIGUSR1 prints the
 * counters) and the interruptible sleep between wake-ups.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/select.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mthp/engine.h>
#include <mthp/live.h>

#include "cli/cli.h"

static const char daemon_usage[] =
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
"  -p, --pid PID            a target process (repeatable); a target that\n"
"                           exits is dropped, the others go on\n"
"  -c, --cgroup PATH        the processes of a cgroup and its descendants,\n"
"                           listed again at each full scan; PATH absolute\n"
"                           or below /sys/fs/cgroup\n"
"                           (neither: every process with anonymous memory)\n"
"  -i, --interval MS        sleep between scans (default: the host's\n"
"                           khugepaged/scan_sleep_millisecs)\n"
"  -s, --pages-to-scan N    pages per scan, N > 0 (default: the host's\n"
"                           khugepaged/pages_to_scan)\n"
"  -P, --policy P           legacy | seed | upstream (default upstream)\n"
"  -S, --set KNOB=VALUE     plan with this THP knob (sysfs name, e.g.\n"
"                           khugepaged/max_ptes_none=64) instead of the\n"
"                           host's; repeatable; sysfs is never written\n"
"  -n, --dry-run            plan and log, never call process_madvise\n"
"  -N, --iterations N       stop after N scans (default 0: until signalled)\n"
"  -h, --help               this help\n"
"\n"
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
"Needs root (CAP_SYS_ADMIN to read page tables, CAP_SYS_NICE for\n"
"process_madvise).  Exit status: 0 stopped (signal, --iterations, or every\n"
"--pid exited); 1 cannot run (not root, no THP, no such pid or cgroup);\n"
"2 bad option.\n";

#define MAX_PIDS 4096
#define MAX_SETS 64

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

struct daemon_opts {
	pid_t pids[MAX_PIDS];
	size_t nr_pids;
	const char *sets[MAX_SETS];
	size_t nr_sets;
	const char *cgroup;
	long interval;		/* -1: the host's */
	uint32_t pages_to_scan;	/* 0: the host's */
	enum mthp_policy policy;
	bool dry_run;
	unsigned long iterations;
};

static int parse_ulong(const char *text, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	if (text[0] == '-')
		return -EINVAL;
	*v = strtoul(text, &end, 10);
	if (errno || end == text || *end || *v > max) {
		errno = 0;
		return -EINVAL;
	}
	return 0;
}

/* 0 parsed, -1 --help, EXIT_USAGE bad option. */
static int parse_daemon_opts(int argc, char **argv, struct daemon_opts *o,
			     FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "pages-to-scan", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'P' },
		{ "set", required_argument, NULL, 'S' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "iterations", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:c:i:s:P:S:nN:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (o->nr_pids == MAX_PIDS ||
			    mthp_cli_parse_pid(optarg, &o->pids[o->nr_pids]) < 0) {
				fprintf(err, "mthp daemon: bad pid '%s'\n", optarg);
				return EXIT_USAGE;
			}
			o->nr_pids++;
			break;
		case 'c':
			o->cgroup = optarg;
			break;
		case 'i':
			if (parse_ulong(optarg, 86400000, &v) < 0) {
				fprintf(err, "mthp daemon: --interval '%s': milliseconds, 0..86400000\n",
					optarg);
				return EXIT_USAGE;
			}
			o->interval = (long)v;
			break;
		case 's':
			if (parse_ulong(optarg, UINT32_MAX, &v) < 0 || !v) {
				fprintf(err, "mthp daemon: --pages-to-scan '%s': must be greater than 0\n",
					optarg);
				return EXIT_USAGE;
			}
			o->pages_to_scan = (uint32_t)v;
			break;
		case 'P':
			if (mthp_policy_parse(optarg, &o->policy)) {
				fprintf(err, "mthp daemon: --policy '%s': must be legacy, seed or upstream\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S':
			if (o->nr_sets == MAX_SETS || !strchr(optarg, '=')) {
				fprintf(err, "mthp daemon: --set '%s': KNOB=VALUE expected\n",
					optarg);
				return EXIT_USAGE;
			}
			o->sets[o->nr_sets++] = optarg;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case 'N':
			if (parse_ulong(optarg, UINT32_MAX, &v) < 0) {
				fprintf(err, "mthp daemon: --iterations '%s': a count expected\n",
					optarg);
				return EXIT_USAGE;
			}
			o->iterations = v;
			break;
		case 'h':
			fputs(daemon_usage, out);
			return -1;
		default:
			fprintf(err, "mthp daemon: bad option '%s'\n%s", argv[optind - 1],
				daemon_usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(err, "mthp daemon: unexpected argument '%s'\n%s", argv[optind],
			daemon_usage);
		return EXIT_USAGE;
	}
	if (o->cgroup && o->nr_pids) {
		fprintf(err, "mthp daemon: --pid and --cgroup exclude each other\n");
		return EXIT_USAGE;
	}
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
	for (size_t i = 0; i < o->nr_sets; i++) {
		if (mthp_settings_set_assignment(&s, o->sets[i], msg, sizeof(msg)) < 0) {
			fprintf(err, "mthp daemon: --set %s: %s\n", o->sets[i], msg);
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Sleep ms, waking for SIGUSR1 (print the counters) and returning early on
 * SIGTERM/SIGINT.  The signals are blocked between the flag checks and
 * pselect(), which unblocks them atomically, so none is lost.
 */
static void interval_sleep(struct mthp_daemon *d, long ms, FILE *out)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (;;) {
		uint64_t now = now_ms();
		struct timespec ts;

		if (dump_flag) {
			dump_flag = 0;
			mthp_daemon_print_counters(d, out);
			fflush(out);
		}
		if (stop_flag || now >= end)
			break;
		ts.tv_sec = (time_t)((end - now) / 1000);
		ts.tv_nsec = (long)((end - now) % 1000) * 1000000;
		pselect(0, NULL, NULL, NULL, &ts, &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static int run_daemon(const struct daemon_opts *o, FILE *out, FILE *err)
{
	struct mthp_daemon_config cfg = {
		.pids = o->pids,
		.nr_pids = o->nr_pids,
		.cgroup = o->cgroup,
		.pages_to_scan = o->pages_to_scan,
		.policy = o->policy,
		.dry_run = o->dry_run,
		.overrides = o->sets,
		.nr_overrides = o->nr_sets,
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
	interval = o->interval >= 0 ? o->interval : (long)d.settings.scan_sleep_millisecs;
	install_signals(&saved);	/* before the first line: a reader may signal then */
	fprintf(out, "# mthp daemon: %zu targets, pages_to_scan %" PRIu32 ", interval %ld ms, policy %s%s\n",
		d.nr_targets, o->pages_to_scan ? o->pages_to_scan : d.settings.pages_to_scan,
		interval, mthp_policy_name(o->policy), o->dry_run ? ", dry run" : "");
	fflush(out);
	d.stop = &stop_flag;
	d.dump = &dump_flag;
	for (unsigned long i = 0; !o->iterations || i < o->iterations; i++) {
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
	o->interval = -1;
	o->policy = MTHP_POLICY_UPSTREAM;
	ret = parse_daemon_opts(argc, argv, o, out, err);
	if (!ret)
		ret = check_sets(o, err);
	if (ret) {
		free(o);
		return ret < 0 ? 0 : ret;
	}
	ret = run_daemon(o, out, err);
	free(o);
	return ret;
}
