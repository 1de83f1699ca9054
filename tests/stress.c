// SPDX-License-Identifier: MIT
/*
 * stress.c - the simulator under load: khugepaged in its own thread beside
 * N mutator threads on one mm, for a given time and seed, with fault
 * injection on at every point of the collapse (the stress harness,
 * helpers/stress_harness.h, with everything on).  Each mutator owns a
 * slice of PMD ranges, keeps a model of its pages' content tags and
 * verifies what it reads against it; every half second everything stops
 * for sim_check() and a check of every page.
 *
 *   stress [--seconds S] [--threads N] [--seed X] [--policy P]
 *
 * Prints operations done, collapses by order, failures by SCAN_* result,
 * injected faults survived, invariant checks run and pages whose content
 * was lost; exits 1 unless no page was lost, every check was clean and no
 * operation failed unexpectedly, 2 on a bad option.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/sim.h>

#include "helpers/stress_harness.h"

static void usage(void)
{
	fprintf(stderr, "usage: stress [--seconds S] [--threads N] [--seed X] "
		"[--policy legacy|seed|upstream]\n");
}

/* Set option opt to val; 0, or -EINVAL when either is bad. */
static int parse_option(struct stress_config *cfg, const char *opt, const char *val)
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
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct stress_config cfg = STRESS_CONFIG_ALL(10, 1);
	struct stress_totals totals;
	int err;

	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc || parse_option(&cfg, argv[i], argv[i + 1])) {
			usage();
			return 2;
		}
	}
	stress_install_crash_handler();
	err = stress_run(&cfg, &totals, stdout);
	if (err) {
		fprintf(stderr, "stress: cannot set up the simulator: %s\n", strerror(-err));
		return 1;
	}
	fflush(stdout);
	if (stress_ok(&totals))
		printf("stress: ok\n");
	else
		printf("stress: FAILED after %.1f s: %s\n", totals.failed_at, totals.why);
	return stress_ok(&totals) ? 0 : 1;
}
