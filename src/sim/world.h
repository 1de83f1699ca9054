/* SPDX-License-Identifier: MIT */
/*
 * sim/world.h - the two objects every layer works on: the simulator
 * (struct sim, with the state of each subsystem it embeds, under a
 * comment naming that subsystem) and an address space (struct sim_mm);
 * and world.c: the settings in force, the clock, the world lock.
 */
#ifndef MTHP_SIM_WORLD_H
#define MTHP_SIM_WORLD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mthp/engine.h>
#include <mthp/settings.h>
#include <mthp/sim.h>

#include "common/names.h"

#define SIM_VA_BITS	47
#define SIM_NO_PFN	UINT32_MAX
#define SIM_MAX_ORDER	MTHP_MAX_PMD_ORDER
#define SIM_MAX_MEMCGS	64
/* The bits a 32-bit PTE has for a pfn and for a swap slot (pgtable.h). */
#define SIM_PFN_BITS	26
#define SIM_SLOT_BITS	29
_Static_assert(SIM_MAX_FRAMES == (1ull << SIM_PFN_BITS) - 1 &&
	       SIM_MAX_SWAP_SLOTS == (1ull << SIM_SLOT_BITS) - 2,
	       "mthp/sim.h's limits are the PTE's bits");

/* ---- physmem.c's and folio.c's state: frames and folios ---- */

enum sim_page_flag {
	PG_BUDDY	= 1u << 0,	/* head of a free buddy block */
	PG_HEAD		= 1u << 1,	/* head of an allocated folio */
	PG_ANON		= 1u << 2,
	PG_LRU		= 1u << 3,
	PG_LOCKED	= 1u << 4,
	PG_SWAPCACHE	= 1u << 5,
	PG_LAZYFREE	= 1u << 6,	/* MADV_FREE: !swapbacked */
	PG_RESERVED	= 1u << 7,	/* zero page, fragmentation pins */
	PG_MAPLOCK	= 1u << 8,	/* bit spinlock: map counts, mm slots */
	PG_CHARGED	= 1u << 10,	/* counted in pages[head].memcg */
	PG_DEFERRED	= 1u << 11,	/* head: on the deferred split queue */
	/*
	 * head: may hold pages a collapse zero-filled (policy guarded's folio
	 * discount, docs/guarded-policy.md): set by a collapse that filled a
	 * page or took in a folio with it, and on a folio of unknown history
	 * (a large swap-in, a fault of sim_config.foreign_folios)
	 */
	PG_FILLED	= 1u << 12,
	/*
	 * head: a page of it is mapped nowhere while others are mapped; on the
	 * deferred split queue as partially mapped, until a shrinker splits it
	 */
	PG_PARTIAL	= 1u << 13,
};

/*
 * One per frame.  Allocated folio, head page: a = refcount, b = total
 * mapcount (PTE mappings + PMD mappings); page[1].b = entire (PMD)
 * mapcount; page[2] and page[3]: a = mm id, b = that mm's share of the
 * total (the kernel's two mm-id slots).  Every page: mapcount = its PTE
 * mappings; order = the folio's order.  Free block head: a = next,
 * mapcount = prev on the free list, order = block order.
 */
struct sim_page {
	uint32_t a;
	int32_t mapcount;
	uint32_t b;
	uint16_t flags;
	uint8_t order;
	uint8_t memcg;
};
_Static_assert(sizeof(struct sim_page) == 16, "sim_page must stay 16 bytes");

/*
 * Rewrite a whole page descriptor with relaxed atomic stores: the buddy
 * allocator reads a neighbour's flags and order (under the zone lock)
 * while the neighbour's owner may be changing them.
 */
static inline void page_store(struct sim_page *p, uint32_t a, int32_t mapcount,
			      uint32_t b, uint16_t flags, uint8_t order, uint8_t memcg)
{
	__atomic_store_n(&p->a, a, __ATOMIC_RELAXED);
	__atomic_store_n(&p->mapcount, mapcount, __ATOMIC_RELAXED);
	__atomic_store_n(&p->b, b, __ATOMIC_RELAXED);
	__atomic_store_n(&p->flags, flags, __ATOMIC_RELAXED);
	__atomic_store_n(&p->order, order, __ATOMIC_RELAXED);
	__atomic_store_n(&p->memcg, memcg, __ATOMIC_RELAXED);
}

struct sim_physmem {
	pthread_mutex_t zone_lock;
	uint64_t nr_frames;
	unsigned max_order;
	struct sim_page *pages;
	uint64_t *tags;			/* content tag per frame */
	uint32_t free_head[SIM_MAX_ORDER + 1];
	uint64_t nr_free_blocks[SIM_MAX_ORDER + 1];
	uint64_t nr_free_pages;
	uint32_t *pinned;		/* sim_fragment() frames */
	size_t nr_pinned, cap_pinned;
	uint32_t zero_pfn;
};

/* ---- swap.c's state: the swap area ---- */

struct sim_swap_slot {
	uint64_t tag;
	uint32_t count;		/* swap PTEs referring to the slot */
	uint32_t pad;
};

struct sim_swap {
	pthread_mutex_t lock;
	uint64_t nr_slots;	/* slot 0 is reserved: the marker-only entry */
	uint64_t nr_used;
	uint64_t cursor;
	struct sim_swap_slot *slots;
};

/* ---- memcg.c's state ---- */

struct sim_memcg {
	uint64_t limit;		/* pages; UINT64_MAX: none */
	uint64_t usage;		/* atomic */
	bool used;
};

/* ---- stats.c's counters ---- */

/*
 * Both in the order of the kernel's files, which sim_stats() lists them in:
 * X(item, the kernel's name of the counter).
 */
#define SIM_VMSTAT_ITEMS(X) \
	X(VM_PSWPIN, "pswpin") \
	X(VM_PSWPOUT, "pswpout") \
	X(VM_PGFAULT, "pgfault") \
	X(VM_THP_FAULT_ALLOC, "thp_fault_alloc") \
	X(VM_THP_FAULT_FALLBACK, "thp_fault_fallback") \
	X(VM_THP_FAULT_FALLBACK_CHARGE, "thp_fault_fallback_charge") \
	X(VM_THP_COLLAPSE_ALLOC, "thp_collapse_alloc") \
	X(VM_THP_COLLAPSE_ALLOC_FAILED, "thp_collapse_alloc_failed") \
	X(VM_THP_SPLIT_PAGE, "thp_split_page") \
	X(VM_THP_SPLIT_PAGE_FAILED, "thp_split_page_failed") \
	X(VM_THP_DEFERRED_SPLIT_PAGE, "thp_deferred_split_page") \
	X(VM_THP_UNDERUSED_SPLIT_PAGE, "thp_underused_split_page") \
	X(VM_THP_SPLIT_PMD, "thp_split_pmd") \
	X(VM_THP_SCAN_EXCEED_NONE_PTE, "thp_scan_exceed_none_pte") \
	X(VM_THP_SCAN_EXCEED_SWAP_PTE, "thp_scan_exceed_swap_pte") \
	X(VM_THP_SCAN_EXCEED_SHARE_PTE, "thp_scan_exceed_share_pte") \
	X(VM_THP_ZERO_PAGE_ALLOC, "thp_zero_page_alloc") \
	X(VM_THP_SWPOUT, "thp_swpout") \
	X(VM_THP_SWPOUT_FALLBACK, "thp_swpout_fallback")
enum sim_vmstat_item {
	SIM_VMSTAT_ITEMS(MTHP_NAME_VALUE)
	VM_NR_ITEMS
};

#define SIM_MTHP_ITEMS(X) \
	X(MS_ANON_FAULT_ALLOC, "anon_fault_alloc") \
	X(MS_ANON_FAULT_FALLBACK, "anon_fault_fallback") \
	X(MS_ANON_FAULT_FALLBACK_CHARGE, "anon_fault_fallback_charge") \
	X(MS_COLLAPSE_ALLOC, "collapse_alloc") \
	X(MS_COLLAPSE_ALLOC_FAILED, "collapse_alloc_failed") \
	X(MS_SWPIN, "swpin") \
	X(MS_SWPIN_FALLBACK, "swpin_fallback") \
	X(MS_SWPIN_FALLBACK_CHARGE, "swpin_fallback_charge") \
	X(MS_SWPOUT, "swpout") \
	X(MS_SWPOUT_FALLBACK, "swpout_fallback") \
	X(MS_SPLIT, "split") \
	X(MS_SPLIT_FAILED, "split_failed") \
	X(MS_SPLIT_DEFERRED, "split_deferred") \
	X(MS_NR_ANON, "nr_anon") \
	X(MS_NR_ANON_PARTIALLY_MAPPED, "nr_anon_partially_mapped") \
	X(MS_COLLAPSE_EXCEED_SWAP_PTE, "collapse_exceed_swap_pte") \
	X(MS_COLLAPSE_EXCEED_NONE_PTE, "collapse_exceed_none_pte") \
	X(MS_COLLAPSE_EXCEED_SHARED_PTE, "collapse_exceed_shared_pte")
enum sim_mthp_item {
	SIM_MTHP_ITEMS(MTHP_NAME_VALUE)
	MS_NR_ITEMS
};

/* ---- khugepaged.c's state (the mm slots: mm.c) ---- */

struct collapse_control;

struct sim_khugepaged {
	enum mthp_policy policy;
	/* the mm slots and the scan cursor, under sim->mm_list_lock */
	struct sim_mm *slot_head, *slot_tail;
	struct sim_mm *cursor_mm;	/* NULL: start at slot_head */
	uint64_t cursor_addr;
	uint64_t pages_collapsed;	/* atomic */
	uint64_t full_scans;		/* atomic */
	uint64_t ptes_scanned;		/* atomic: PTEs of the tables scanned */
	uint64_t scan_results[MTHP_NR_RESULTS];	/* atomic: per range scanned */
	uint64_t walk_outcomes[SIM_NR_WALK_OUTCOMES];	/* atomic: per range walked */
	struct collapse_control *cc;	/* khugepaged's workspace */
	/* the concurrent mode's thread */
	pthread_mutex_t lock;		/* leaf: guards the fields below */
	pthread_cond_t wake;
	struct sim_thread *thread;	/* mthp/sched.h: real or deterministic */
	bool running;
	bool stop;
};

/* ---- trace.c's state: tracepoint lines and the collapse observer ---- */

struct sim_trace {
	pthread_mutex_t lock;		/* leaf: one line at a time */
	FILE *file;			/* NULL: tracing off */
	uint32_t events;		/* atomic: 1 << enum sim_trace_event */
	sim_collapse_fn observer;
	void *observer_ctx;
};

/* ---- inject.c's state: fault injection ---- */

struct sim_inject {
	uint64_t seed;
	uint64_t counter;			/* atomic: draws made */
	uint32_t one_in[SIM_NR_INJECT];		/* atomic: 0 off */
	uint64_t fired[SIM_NR_INJECT];		/* atomic */
	sim_race_fn race_fn;			/* atomic pair, set together */
	void *race_ctx;
};

/* ---- rmap.c's state: the rmap walker thread and its failures ---- */

struct sim_rmap {
	struct sim_thread *thread;
	bool running;			/* the starting thread's only */
	bool stop;			/* atomic */
	uint32_t failed;		/* atomic: 0, 1 writing msg, 2 msg written */
	char msg[256];
	uint64_t rng_counter;		/* the walker thread's only */
	struct sim_rmap_stats stats;	/* atomic fields */
};

/* ---- the simulator (world.c, lifecycle.c) ---- */

struct sim_settings_node {
	struct mthp_settings s;
	struct sim_settings_node *prev;	/* older versions, freed at destroy */
};

struct sim {
	struct mthp_geometry geo;
	unsigned page_shift;
	unsigned pmd_shift;
	unsigned top_entries;		/* pgd size */
	struct sim_settings_node *settings;	/* atomic pointer */
	pthread_mutex_t settings_lock;
	bool read_fault_alloc;		/* atomic */
	bool foreign_folios;		/* sim_config's; set before threads run */
	enum sim_swap_device swap_device;	/* atomic */
	const struct mthp_policy_plugin *plugin;	/* set before threads run */
	struct sim_physmem pm;
	struct sim_swap swap;
	struct sim_memcg memcgs[SIM_MAX_MEMCGS];
	pthread_mutex_t memcg_lock;
	pthread_rwlock_t world_lock;
	pthread_mutex_t mm_list_lock;
	struct sim_mm *mm_list;
	uint32_t next_mm_id;
	uint64_t clock_ns;		/* atomic */
	uint64_t seed;
	uint64_t rng_counter;		/* atomic */
	bool huge_zero_counted;		/* atomic */
	uint64_t shrink_freed;		/* atomic: pages underused splits freed */
	uint64_t nr_deferred;		/* atomic: heads with PG_DEFERRED */
	struct {
		uint32_t mm_id;		/* atomic */
		uint64_t addr;		/* atomic */
	} reclaim_hand;			/* where reclaim's swap-out goes on */
	uint64_t reclaim_paged_out;	/* atomic: pages reclaim's swap-out freed */
	uint64_t vmstat[VM_NR_ITEMS];				/* atomic */
	uint64_t mthp_stat[MTHP_MAX_PMD_ORDER + 1][MS_NR_ITEMS];	/* atomic */
	char check_msg[256];
	uint32_t check_interval;	/* debug builds: sim_check every Nth op */
	uint32_t check_counter;		/* atomic */
	struct sim_khugepaged khugepaged;
	struct sim_trace trace;
	struct sim_inject inject;
	struct sim_rmap rmap;
};

/* ---- an address space (mm.c) ---- */

struct sim_vma;
struct sim_pud;

struct sim_mm {
	struct sim *sim;
	uint32_t id;
	unsigned memcg;
	pthread_rwlock_t mmap_lock;
	pthread_mutex_t pgd_lock;	/* page_table_lock */
	/* the VMA list's RCU read side, for lock_vma_under_rcu() (vma.c) */
	pthread_rwlock_t vma_tree_lock;
	/* atomic: mmap_write_unlock()s so far; a VMA whose vm_lock_seq is
	 * this is write-locked (vma_start_write()) */
	uint32_t mm_lock_seq;
	/* atomic: a collapse's PMD range + 1 while it holds mmap_lock for
	 * write over it (collapse.c), 0 otherwise: no fault may be there */
	uint64_t collapsing;
	struct sim_pud **pgd;		/* top_entries, atomic slots */
	struct sim_vma *vmas;		/* sorted, not overlapping */
	size_t nr_vmas;
	size_t cap_vmas;
	uint64_t mmap_base;
	struct sim_mm *next;		/* sim->mm_list */
	uint32_t refs;			/* atomic: the process + khugepaged's hold */
	bool exiting;			/* atomic: set under mmap_lock for write */
	/* khugepaged's mm slot, under sim->mm_list_lock */
	bool khugepaged_slot;		/* also read relaxed as a hint */
	struct sim_mm *slot_next;
};

/* ---- world.c ---- */
const struct mthp_settings *sim_settings(struct sim *sim);
/* Context: takes world lock for read (debug builds), drops in world_exit. */
void world_enter(struct sim *sim);
void world_exit(struct sim *sim);

#endif /* MTHP_SIM_WORLD_H */
