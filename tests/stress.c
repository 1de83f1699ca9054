// SPDX-License-Identifier: MIT
/*
 * stress.c - the simulator under load: khugepaged and the rmap walker
 * beside N mutator threads on one mm, with fault injection on at every
 * point of the collapse (the stress harness, helpers/stress_harness.h,
 * with everything on).  Each mutator owns a slice of PMD ranges, keeps a
 * model of its pages' content tags and verifies what it reads against it.
 *
 * Two schedules: real threads that the OS schedules for a given time,
 * every half second stopped for sim_check() and a check of every page
 * (--schedule threads, the default; what the sanitizers need); or
 * deterministic schedules (--schedule det), every thread a coroutine of
 * one OS thread and the seed deciding who runs at every lock, unlock,
 * yield, injection point and collapse step: the same seed gives the
 * same report, and a failure prints the command that replays it and the
 * last steps of its schedule.  --shrink looks for a shorter schedule
 * that still fails.  --help says it all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/sched.h>
#include <mthp/sim.h>

#include "helpers/stress_harness.h"
#include "helpers/stress_shrink.h"

static void usage(FILE *out)
{
	fprintf(out,
"usage: stress [--schedule threads|det] [--threads N] [--seed X] [--policy P] ...\n"
"\n"
"The simulator under load: khugepaged, the rmap walker and N mutator threads\n"
"on one mm, with fault injection at every step of the collapse.  Exits 0 when\n"
"no page was lost, no operation failed and every check was clean, 1 on a\n"
"failure, 2 on a bad option.\n"
"\n"
"  --schedule threads   real threads the OS schedules (default); what\n"
"                       ThreadSanitizer and the other sanitizers need\n"
"  --schedule det       deterministic: every thread a coroutine of one OS\n"
"                       thread, the seed choosing who runs at every lock,\n"
"                       unlock, yield, injection point and collapse step;\n"
"                       the same seed prints the same report on any machine\n"
"  --threads N          mutator threads, 1 to %u (default 4)\n"
"  --seed X             every random choice follows from it (default 1)\n"
"  --policy P           khugepaged's: legacy, seed or upstream (default)\n"
"  --pressure           the mm in a memory cgroup of half the pages the\n"
"                       mutators map: their writes and swap-ins past its\n"
"                       limit page out to swap (direct reclaim)\n"
"\n"
"With --schedule threads:\n"
"  --seconds S          how long (default 10)\n"
"\n"
"With --schedule det (one schedule for each seed from X to X + N - 1, each\n"
"a fresh simulator checked at its end; the run stops at the first failure\n"
"and prints its seed, the command that replays it and its timeline):\n"
"  --schedules N        how many (default 1000)\n"
"  --ops N              mutator operations a schedule, over all mutators\n"
"                       (default %u)\n"
"  --pct D              PCT with D - 1 priority change points (default %u)\n"
"  --random             a random walk instead: a uniform choice at every point\n"
"  --atomic-points      every step of a lockless protocol (an acquire load or\n"
"                       release store of a PMD entry, a folio's reference\n"
"                       count, a VMA's anon_vma) is a scheduling point too\n"
"  --preempt LIST       replay these preemptions, STEP:THREAD,... (or none),\n"
"                       as a failure's replay command or --shrink prints them\n"
"  --timeline N         lines of the timeline a failure prints (default %u)\n"
"  --shrink             from the failing schedule of --seed, look for a\n"
"                       shorter one that still fails (fewer threads, fewer\n"
"                       operations, fewer preemptions) and print it\n"
"\n"
"The report goes to standard output; with --schedule det, the rate\n"
"(schedules a second) goes to standard error, so that the report of a\n"
"seed is the same from run to run.\n",
		STRESS_MAX_THREADS, STRESS_DET_OPS, STRESS_DET_PCT, STRESS_DET_TIMELINE);
}

/* "STEP:THREAD,...", or "none": the preemptions to replay; 0 or -EINVAL. */
static int parse_preempt(const char *val, struct sim_sched_preempt **list, size_t *nr)
{
	size_t cap = 1;
	const char *p = val;

	*nr = 0;
	for (const char *c = val; *c; c++)
		cap += *c == ',';
	free(*list);
	*list = calloc(cap, sizeof(**list));
	if (!*list)
		return -ENOMEM;
	if (!strcmp(val, "none"))
		return 0;
	for (;;) {
		char *end;
		unsigned long long step = strtoull(p, &end, 10);
		unsigned long to;

		if (end == p || *end != ':' || !step)
			return -EINVAL;
		p = end + 1;
		to = strtoul(p, &end, 10);
		if (end == p || (*end && *end != ',') || (*nr && step <= (*list)[*nr - 1].step))
			return -EINVAL;
		(*list)[*nr].step = step;
		(*list)[*nr].to = (uint32_t)to;
		(*nr)++;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

/* Set option opt to val; 0, or -EINVAL when either is bad. */
static int parse_option(struct stress_config *cfg, const char *opt, const char *val,
			struct sim_sched_preempt **replay)
{
	char *end = NULL;

	if (!strcmp(opt, "--seconds")) {
		cfg->seconds = strtod(val, &end);
		return *end || !(cfg->seconds > 0) ? -EINVAL : 0;
	}
	if (!strcmp(opt, "--threads")) {
		cfg->nr_threads = (unsigned)strtoul(val, &end, 10);
		return *end || !cfg->nr_threads || cfg->nr_threads > STRESS_MAX_THREADS ?
		       -EINVAL : 0;
	}
	if (!strcmp(opt, "--seed")) {
		cfg->seed = strtoull(val, &end, 0);
		return *end ? -EINVAL : 0;
	}
	if (!strcmp(opt, "--policy"))
		return mthp_policy_parse(val, &cfg->policy) ? -EINVAL : 0;
	if (!strcmp(opt, "--schedule")) {
		if (strcmp(val, "det") && strcmp(val, "threads"))
			return -EINVAL;
		cfg->det = !strcmp(val, "det");
		return 0;
	}
	if (!strcmp(opt, "--schedules")) {
		cfg->schedules = strtoull(val, &end, 10);
		return *end || !cfg->schedules ? -EINVAL : 0;
	}
	if (!strcmp(opt, "--ops")) {
		cfg->ops = (unsigned)strtoul(val, &end, 10);
		return *end || !cfg->ops ? -EINVAL : 0;
	}
	if (!strcmp(opt, "--pct")) {
		cfg->pct_depth = (unsigned)strtoul(val, &end, 10);
		cfg->strategy = SIM_SCHED_PCT;
		return *end || !cfg->pct_depth || cfg->pct_depth > 64 ? -EINVAL : 0;
	}
	if (!strcmp(opt, "--timeline")) {
		cfg->timeline = (unsigned)strtoul(val, &end, 10);
		return *end || !cfg->timeline ? -EINVAL : 0;
	}
	if (!strcmp(opt, "--preempt")) {
		cfg->strategy = SIM_SCHED_REPLAY;
		if (parse_preempt(val, replay, &cfg->nr_replay))
			return -EINVAL;
		cfg->replay = *replay;
		return 0;
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct stress_config cfg = STRESS_CONFIG_ALL(10, 1);
	struct sim_sched_preempt *replay = NULL;
	struct stress_totals totals;
	bool shrink = false, seconds = false, det_only = false;
	int err;

	cfg.schedules = 1000;
	cfg.ops = STRESS_DET_OPS;
	cfg.pct_depth = STRESS_DET_PCT;
	cfg.strategy = SIM_SCHED_PCT;
	cfg.program = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];

		if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(opt, "--pressure")) {
			cfg.pressure = true;
			continue;
		}
		if (!strcmp(opt, "--shrink") || !strcmp(opt, "--random") ||
		    !strcmp(opt, "--atomic-points")) {
			if (opt[2] == 's')
				shrink = true;
			else if (opt[2] == 'r')
				cfg.strategy = SIM_SCHED_RANDOM;
			else
				cfg.atomic_points = true;
			det_only = true;
			continue;
		}
		if (i + 1 >= argc || parse_option(&cfg, opt, argv[i + 1], &replay)) {
			fprintf(stderr, "stress: bad option %s%s%s (stress --help says them all)\n",
				opt, i + 1 < argc ? " " : "", i + 1 < argc ? argv[i + 1] : "");
			return 2;
		}
		seconds |= !strcmp(opt, "--seconds");
		det_only |= strcmp(opt, "--seconds") && strcmp(opt, "--threads") &&
			    strcmp(opt, "--seed") && strcmp(opt, "--policy") &&
			    strcmp(opt, "--schedule");
		i++;
	}
	if (cfg.det && seconds) {
		fprintf(stderr, "stress: --seconds is for --schedule threads; a deterministic "
			"run is --schedules N of --ops M operations\n");
		return 2;
	}
	if (!cfg.det && det_only) {
		fprintf(stderr, "stress: --schedules, --ops, --pct, --random, --preempt, "
			"--atomic-points, --timeline and --shrink need --schedule det\n");
		return 2;
	}
	stress_install_crash_handler();
	if (shrink) {
		err = stress_shrink(&cfg, stdout);
		free(replay);
		if (err < 0)
			fprintf(stderr, "stress: --shrink: %s\n", strerror(-err));
		return err < 0 ? 2 : err;
	}
	err = stress_run(&cfg, &totals, stdout);
	free(replay);
	if (err) {
		fprintf(stderr, "stress: cannot set up the simulator: %s\n", strerror(-err));
		return 1;
	}
	fflush(stdout);
	if (cfg.det)
		fprintf(stderr, "stress: %llu schedules in %.2f s: %.0f schedules a second\n",
			(unsigned long long)totals.schedules, totals.seconds,
			totals.seconds > 0 ? (double)totals.schedules / totals.seconds : 0.0);
	if (stress_ok(&totals)) {
		printf("stress: ok\n");
	} else if (cfg.det) {
		char *cmd = stress_replay_command(&cfg, totals.failed_seed);

		printf("stress: FAILED: the schedule of seed %llu (schedule %llu of the run): %s\n",
		       (unsigned long long)totals.failed_seed,
		       (unsigned long long)totals.schedules, totals.why);
		printf("stress: replay it: %s\n", cmd ? cmd : "(out of memory)");
		free(cmd);
	} else {
		printf("stress: FAILED after %.1f s: %s\n", totals.failed_at, totals.why);
	}
	return stress_ok(&totals) ? 0 : 1;
}
