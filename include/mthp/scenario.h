/* SPDX-License-Identifier: MIT */
/*
 * mthp/scenario.h - workload scenarios for `mthp sim` (INI, read with
 * libinih; the format is docs/scenarios.md).  The reader checks everything
 * before anything runs and reports "FILE:LINE: what is wrong".  Functions
 * return 0 or -errno and never set errno.
 */
#ifndef MTHP_SCENARIO_H
#define MTHP_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mthp/settings.h>
#include <mthp/snapshot.h>

#define MTHP_SCENARIO_NAME_MAX 32
#define MTHP_SCENARIO_MAX_SIZES 8

enum mthp_scenario_action {
	MTHP_ACT_FILL,
	MTHP_ACT_RANDOM,
	MTHP_ACT_CLUSTER,
	MTHP_ACT_READ,
	MTHP_ACT_HOT,
	MTHP_ACT_HEAP,
	MTHP_ACT_FORK,
	MTHP_ACT_PAGEOUT,
	MTHP_ACT_FREE,
	MTHP_ACT_DONTNEED,
	MTHP_ACT_SLEEP,
};
#define MTHP_NR_ACTIONS (MTHP_ACT_SLEEP + 1)

const char *mthp_scenario_action_name(enum mthp_scenario_action a);

struct mthp_scenario_process {
	char name[MTHP_SCENARIO_NAME_MAX];
	uint64_t memcg_limit;		/* bytes; 0: no limit */
	unsigned line;
};

struct mthp_scenario_vma {
	char name[MTHP_SCENARIO_NAME_MAX];
	size_t process;			/* index into processes */
	uint64_t size;			/* bytes */
	uint64_t align;			/* bytes, a power of two */
	uint32_t flags;			/* MTHP_VMA_HUGEPAGE | NOHUGEPAGE | UFFD */
	unsigned line;
};

struct mthp_scenario_size_weight {
	uint64_t size;			/* bytes */
	uint32_t weight;
};

struct mthp_scenario_phase {
	char label[MTHP_SCENARIO_NAME_MAX];
	size_t process;
	size_t vma;			/* index into vmas; unused for sleep */
	enum mthp_scenario_action action;
	uint64_t duration_ns;
	uint64_t offset;		/* bytes into the VMA */
	uint64_t length;		/* bytes; 0: to the end of the VMA */
	double density;			/* random, read, pageout, free, dontneed */
	uint32_t runs, run_pages;	/* cluster */
	double hot;			/* hot */
	struct mthp_scenario_size_weight sizes[MTHP_SCENARIO_MAX_SIZES]; /* heap */
	unsigned nr_sizes;
	double live, churn;		/* heap */
	double child_writes;		/* fork */
	unsigned line;
};

struct mthp_scenario {
	char *file;
	/* [machine] */
	uint64_t memory;		/* bytes */
	uint32_t page_size;
	uint64_t swap;			/* bytes */
	double fragmentation;		/* 0..1 */
	uint32_t tlb_profiles;		/* bit (1 << enum mthp_tlb_profile); 0: all
					 * that fit the page size */
	bool read_fault_alloc;
	uint64_t seed;
	/* [settings], in file order */
	struct mthp_snapshot_setting *settings;
	size_t nr_settings;
	struct mthp_scenario_process *processes;
	size_t nr_processes;
	struct mthp_scenario_vma *vmas;
	size_t nr_vmas;
	struct mthp_scenario_phase *phases;	/* file order */
	size_t nr_phases;
};

int mthp_scenario_read(struct mthp_scenario *sc, const char *path,
		       struct mthp_diag *diag);
int mthp_scenario_read_mem(struct mthp_scenario *sc, const char *buf, size_t len,
			   const char *name, struct mthp_diag *diag);
void mthp_scenario_free(struct mthp_scenario *sc);

/* The geometry of the machine and the settings of the scenario applied. */
int mthp_scenario_settings(const struct mthp_scenario *sc, struct mthp_settings *s,
			   struct mthp_diag *diag);

#endif /* MTHP_SCENARIO_H */
