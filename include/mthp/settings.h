/* SPDX-License-Identifier: MIT */
/*
 * mthp/settings.h - page-table geometry and the THP sysfs knobs.
 *
 * Knob names are the sysfs names below /sys/kernel/mm/transparent_hugepage/
 * ("enabled", "hugepages-64kB/enabled", "khugepaged/max_ptes_none", ...).
 * Functions return 0 or -errno and never set errno.
 */
#ifndef MTHP_SETTINGS_H
#define MTHP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest PMD order of any geometry: 64 KiB pages, 8192 PTEs. */
#define MTHP_MAX_PMD_ORDER 13
#define MTHP_MAX_PTES (1u << MTHP_MAX_PMD_ORDER)
/* The smallest collapse order (order 1 anon folios cannot exist). */
#define MTHP_MIN_ORDER 2

/*
 * One page-table geometry: 4K/512, 16K/2048 or 64K/8192, and what the
 * machine's MMU makes of a PTE-mapped folio.
 */
struct mthp_geometry {
	uint32_t page_size;	/* bytes per base page */
	uint32_t ptes_per_pmd;	/* HPAGE_PMD_NR */
	uint32_t pmd_order;	/* log2(ptes_per_pmd) */
	/*
	 * The smallest folio order below the PMD order whose PTE mappings
	 * take fewer TLB entries than PTEs on this machine (arm64's contpte
	 * block: 4 with 4K pages, 7 with 16K, 5 with 64K; AMD Zen's PTE
	 * coalescing: 2), every larger order too; 0: none (x86-64 without
	 * coalescing).  Only policy guarded reads it (docs/guarded-policy.md).
	 */
	uint32_t cont_order;
};

/*
 * Fill *geo for a page size of 4096, 16384 or 65536; -EINVAL otherwise.
 * cont_order: 0 with 4K pages (x86-64), arm64's contpte order with 16K and
 * 64K pages (only arm64 has them); the caller sets another machine's.
 */
int mthp_geometry_from_page_size(struct mthp_geometry *geo, uint64_t page_size);
/* Fill *geo for 512, 2048 or 8192 PTEs per table; -EINVAL otherwise. */
int mthp_geometry_from_ptes(struct mthp_geometry *geo, uint64_t ptes_per_pmd);
/* Bytes mapped by one PMD entry. */
static inline uint64_t mthp_pmd_size(const struct mthp_geometry *geo)
{
	return (uint64_t)geo->page_size * geo->ptes_per_pmd;
}

/* enabled and hugepages-<size>kB/enabled modes. */
enum mthp_thp_mode {
	MTHP_MODE_NEVER,
	MTHP_MODE_ALWAYS,
	MTHP_MODE_MADVISE,
	MTHP_MODE_INHERIT,	/* per-size only: follow the global "enabled" */
};

/* The global "defrag" knob. */
enum mthp_defrag {
	MTHP_DEFRAG_ALWAYS,
	MTHP_DEFRAG_DEFER,
	MTHP_DEFRAG_DEFER_MADVISE,
	MTHP_DEFRAG_MADVISE,
	MTHP_DEFRAG_NEVER,
};

struct mthp_settings {
	struct mthp_geometry geo;
	enum mthp_thp_mode enabled;			/* global */
	/* per size, indexed by order; only orders 2..pmd_order are used */
	enum mthp_thp_mode size_enabled[MTHP_MAX_PMD_ORDER + 1];
	uint32_t max_ptes_none;
	uint32_t max_ptes_swap;
	uint32_t max_ptes_shared;
	uint32_t pages_to_scan;
	uint32_t scan_sleep_millisecs;
	uint32_t alloc_sleep_millisecs;
	uint32_t khugepaged_defrag;			/* 0 or 1 */
	uint32_t use_zero_page;				/* 0 or 1 */
	uint32_t shrink_underused;			/* 0 or 1 */
	enum mthp_defrag defrag;
};

/*
 * The defaults of plan-contract.md: enabled=madvise, the PMD size inherit,
 * every other size never, max_ptes_none N-1, max_ptes_swap N/8,
 * max_ptes_shared N/2, pages_to_scan 8N, sleeps 10000/60000 ms,
 * khugepaged/defrag 1, use_zero_page 1, shrink_underused 1, defrag madvise.
 */
void mthp_settings_init(struct mthp_settings *s, const struct mthp_geometry *geo);

/*
 * Set one knob from its sysfs name and textual value.  Returns 0; -ENOENT
 * for a knob name that is not known; -EINVAL for a value out of range or a
 * hugepages-<size>kB name whose size the geometry lacks.  On error a message
 * naming the knob and its range is written to err (if errlen > 0).
 */
int mthp_settings_set(struct mthp_settings *s, const char *knob,
		      const char *value, char *err, size_t errlen);

/* Parse "KNOB=VALUE" and set it, as mthp_settings_set(). */
int mthp_settings_set_assignment(struct mthp_settings *s, const char *assign,
				 char *err, size_t errlen);

/*
 * The value of a knob as sysfs would print the selected mode or the number
 * ("madvise", "511"); 0 or -ENOENT.
 */
int mthp_settings_get(const struct mthp_settings *s, const char *knob,
		      char *buf, size_t buflen);

/* Visit every knob of this geometry with its current value, in a fixed order. */
void mthp_settings_foreach(const struct mthp_settings *s,
			   void (*fn)(void *ctx, const char *knob, const char *value),
			   void *ctx);

/* The per-size name of an order: "hugepages-64kB" (no "/enabled"). */
void mthp_size_name(const struct mthp_geometry *geo, unsigned order,
		    char *buf, size_t buflen);

const char *mthp_thp_mode_name(enum mthp_thp_mode m);

#endif /* MTHP_SETTINGS_H */
