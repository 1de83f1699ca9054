// SPDX-License-Identifier: MIT
/*
 * sim_stat.c - counter lookups for tests that abort, naming the counter,
 * on a name the simulator does not know.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/sim_stat.h"

/* Abort with the lookup and the name when err says the lookup failed. */
static void abort_on_error(int err, const char *what, const char *name)
{
	if (!err)
		return;
	fprintf(stderr, "%s(\"%s\") failed: %s\n", what, name, strerror(-err));
	abort();
}

uint64_t vmstat(struct sim *sim, const char *name)
{
	uint64_t v = 0;
	int err = sim_vmstat(sim, name, &v);

	abort_on_error(err, "sim_vmstat", name);
	return v;
}

uint64_t mthp_stat(struct sim *sim, unsigned order, const char *name)
{
	uint64_t v = 0;
	int err = sim_mthp_stat(sim, order, name, &v);

	abort_on_error(err, "sim_mthp_stat", name);
	return v;
}

uint64_t khugepaged_stat(struct sim *sim, const char *name)
{
	uint64_t v = 0;
	int err = sim_khugepaged_stat(sim, name, &v);

	abort_on_error(err, "sim_khugepaged_stat", name);
	return v;
}
