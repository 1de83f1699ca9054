// SPDX-License-Identifier: MIT
/*
 * stats.c - the statistics by their kernel names: /proc/vmstat thp_*
 * events, khugepaged's counters and the per-size hugepages-<size>kB/stats/
 * files, as lookups by name, as a list of the counters kept (sim_stats())
 * and as a sysfs-like dump.  The counters are relaxed atomics in
 * struct sim, bumped by count_vm() and count_mthp().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/names.h"
#include "sim/locks.h"
#include "sim/stats.h"
#include "sim/world.h"

static const char *const vm_names[VM_NR_ITEMS] = {
	SIM_VMSTAT_ITEMS(MTHP_NAME_ENTRY)
};

static const char *const mthp_names[MS_NR_ITEMS] = {
	SIM_MTHP_ITEMS(MTHP_NAME_ENTRY)
};

int sim_vmstat(struct sim *sim, const char *name, uint64_t *value)
{
	int i = mthp_name_find(vm_names, VM_NR_ITEMS, name);

	if (i < 0)
		return i;
	*value = ld_relaxed(&sim->vmstat[i]);
	return 0;
}

int sim_mthp_stat(struct sim *sim, unsigned order, const char *name,
		  uint64_t *value)
{
	int i = mthp_name_find(mthp_names, MS_NR_ITEMS, name);

	if (i < 0 || order > sim->geo.pmd_order)
		return -EINVAL;
	*value = ld_relaxed(&sim->mthp_stat[order][i]);
	return 0;
}

/*
 * The counters printed by sim_stats(), in the order of the kernel's files
 * (the enums' order): those the simulator bumps where the kernel does.
 * Not printed: pgfault (the simulator does not count every fault the
 * kernel does, a uffd-wp marker's for one).
 */
static bool vm_kept(enum sim_vmstat_item i)
{
	return i != VM_PGFAULT;
}

/* khugepaged/'s counters; its other files are knobs */
static const char *const khugepaged_kept[] = { "pages_collapsed", "full_scans" };

/* Appends one counter when there is room; *n counts them all. */
static void stat_put(struct sim_stat *out, size_t room, size_t *n,
		     enum sim_stat_file file, unsigned order, const char *name,
		     uint64_t value)
{
	if (*n < room)
		out[*n] = (struct sim_stat){ file, order, name, value };
	(*n)++;
}

size_t sim_stats(struct sim *sim, struct sim_stat *out, size_t room)
{
	size_t n = 0;

	for (enum sim_vmstat_item i = 0; i < VM_NR_ITEMS; i++)
		if (vm_kept(i))
			stat_put(out, room, &n, SIM_STAT_VMSTAT, 0, vm_names[i],
				 ld_relaxed(&sim->vmstat[i]));
	for (size_t i = 0; i < ARRAY_SIZE(khugepaged_kept); i++) {
		uint64_t v = 0;

		/* the names are sim_khugepaged_stat()'s own */
		if (sim_khugepaged_stat(sim, khugepaged_kept[i], &v))
			continue;
		stat_put(out, room, &n, SIM_STAT_KHUGEPAGED, 0, khugepaged_kept[i], v);
	}
	for (unsigned o = MTHP_MIN_ORDER; o <= sim->geo.pmd_order; o++)
		for (enum sim_mthp_item i = 0; i < MS_NR_ITEMS; i++)
			stat_put(out, room, &n, SIM_STAT_SIZE, o, mthp_names[i],
				 ld_relaxed(&sim->mthp_stat[o][i]));
	return n;
}

void sim_stat_group(const struct mthp_geometry *geo, const struct sim_stat *st,
		    char *buf, size_t len)
{
	switch (st->file) {
	case SIM_STAT_VMSTAT:
		snprintf(buf, len, "vmstat");
		return;
	case SIM_STAT_KHUGEPAGED:
		snprintf(buf, len, "khugepaged");
		return;
	case SIM_STAT_SIZE:
		mthp_size_name(geo, st->order, buf, len);
		return;
	}
	snprintf(buf, len, "?");
}

void sim_stat_where(const struct mthp_geometry *geo, const struct sim_stat *st,
		    char *buf, size_t len)
{
	char group[32];

	/* the group names the file, or the directory of a size's stats/ */
	sim_stat_group(geo, st, group, sizeof(group));
	switch (st->file) {
	case SIM_STAT_VMSTAT:
		snprintf(buf, len, "/proc/%s", group);
		return;
	case SIM_STAT_KHUGEPAGED:
	case SIM_STAT_SIZE:
		snprintf(buf, len, "/sys/kernel/mm/transparent_hugepage/%s%s", group,
			 st->file == SIM_STAT_SIZE ? "/stats" : "");
		return;
	}
	snprintf(buf, len, "?");
}

int sim_stats_dump(struct sim *sim, FILE *f)
{
	size_t n = sim_stats(sim, NULL, 0);
	struct sim_stat *all = calloc(n, sizeof(*all));

	if (!all)
		return -ENOMEM;
	sim_stats(sim, all, n);
	for (size_t i = 0; i < n; i++) {
		char where[96];

		sim_stat_where(&sim->geo, &all[i], where, sizeof(where));
		fprintf(f, "%s/%s %llu\n", where, all[i].name,
			(unsigned long long)all[i].value);
	}
	free(all);
	return ferror(f) ? -EIO : 0;
}
