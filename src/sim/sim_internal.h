/* SPDX-License-Identifier: MIT */
/*
 * sim_internal.h - the simulator's structures and internal prototypes,
 * grouped by the file that defines them.
 *
 * Data layout (bytes per base page): struct sim_page 16 + content tag 8,
 * indexed by pfn; a PTE is 4 bytes.  No per-page allocation anywhere.
 *
 * The lock order, and which lock guards what, is written once at the top
 * of lockdep.c; the lock wrappers and classes are below.
 */
#ifndef MTHP_SIM_INTERNAL_H
#define MTHP_SIM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <mthp/engine.h>
#include <mthp/settings.h>
#include <mthp/sim.h>

#define SIM_VA_BITS	47
#define SIM_NO_PFN	UINT32_MAX
#define SIM_MAX_ORDER	MTHP_MAX_PMD_ORDER
#define SIM_MAX_MEMCGS	64
#define SIM_DIR_ENTRIES	512

#define ld_relaxed(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define st_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ld_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define st_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* ---- frames and folios ---- */

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
	uint64_t nr_pinned, cap_pinned;
	uint32_t zero_pfn;
};

/* ---- swap ---- */

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

/* ---- memcg ---- */

struct sim_memcg {
	uint64_t limit;		/* pages; UINT64_MAX: none */
	uint64_t usage;		/* atomic */
	bool used;
};

/* ---- statistics ---- */

enum sim_vmstat_item {
	VM_THP_FAULT_ALLOC,
	VM_THP_FAULT_FALLBACK,
	VM_THP_FAULT_FALLBACK_CHARGE,
	VM_THP_COLLAPSE_ALLOC,
	VM_THP_COLLAPSE_ALLOC_FAILED,
	VM_THP_SPLIT_PAGE,
	VM_THP_SPLIT_PAGE_FAILED,
	VM_THP_DEFERRED_SPLIT_PAGE,
	VM_THP_SPLIT_PMD,
	VM_THP_SCAN_EXCEED_NONE_PTE,
	VM_THP_SCAN_EXCEED_SWAP_PTE,
	VM_THP_SCAN_EXCEED_SHARE_PTE,
	VM_THP_ZERO_PAGE_ALLOC,
	VM_THP_SWPOUT,
	VM_THP_SWPOUT_FALLBACK,
	VM_PSWPIN,
	VM_PSWPOUT,
	VM_PGFAULT,
	VM_NR_ITEMS
};

enum sim_mthp_item {
	MS_ANON_FAULT_ALLOC,
	MS_ANON_FAULT_FALLBACK,
	MS_ANON_FAULT_FALLBACK_CHARGE,
	MS_COLLAPSE_ALLOC,
	MS_COLLAPSE_ALLOC_FAILED,
	MS_COLLAPSE_EXCEED_NONE_PTE,
	MS_COLLAPSE_EXCEED_SWAP_PTE,
	MS_COLLAPSE_EXCEED_SHARED_PTE,
	MS_SWPOUT,
	MS_SWPOUT_FALLBACK,
	MS_SWPIN,
	MS_SPLIT,
	MS_SPLIT_FAILED,
	MS_SPLIT_DEFERRED,
	MS_NR_ANON,
	MS_NR_ITEMS
};

/* ---- khugepaged (khugepaged.c) ---- */

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
	struct collapse_control *cc;	/* khugepaged's workspace */
	/* the concurrent mode's thread */
	pthread_mutex_t lock;		/* leaf: guards the fields below */
	pthread_cond_t wake;
	pthread_t thread;
	bool running;
	bool stop;
};

/* Tracepoint lines and the collapse observer (trace.c). */
struct sim_trace {
	pthread_mutex_t lock;		/* leaf: one line at a time */
	FILE *file;			/* NULL: tracing off */
	sim_collapse_fn observer;
	void *observer_ctx;
};

/* ---- fault injection (inject.c) ---- */

struct sim_inject {
	uint64_t seed;
	uint64_t counter;			/* atomic: draws made */
	uint32_t one_in[SIM_NR_INJECT];		/* atomic: 0 off */
	uint64_t fired[SIM_NR_INJECT];		/* atomic */
	sim_race_fn race_fn;			/* atomic pair, set together */
	void *race_ctx;
};

/* ---- the simulator ---- */

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
	uint64_t vmstat[VM_NR_ITEMS];				/* atomic */
	uint64_t mthp_stat[MTHP_MAX_PMD_ORDER + 1][MS_NR_ITEMS];	/* atomic */
	char check_msg[256];
	uint32_t check_interval;	/* debug builds: sim_check every Nth op */
	uint32_t check_counter;		/* atomic */
	struct sim_khugepaged khugepaged;
	struct sim_trace trace;
	struct sim_inject inject;
};

/* ---- page tables ---- */

/*
 * PTE, 32 bits.  0: none.  Present (bit 0): young, dirty, writable,
 * uffd-wp bits and the pfn from bit 6.  Swap (bit 1, bit 0 clear): the
 * uffd-wp marker bit and the slot from bit 3; slot 0 = marker only.
 */
#define PTE_PRESENT	0x1u
#define PTE_YOUNG	0x2u
#define PTE_DIRTY	0x4u
#define PTE_WRITE	0x8u
#define PTE_UFFD_WP	0x10u
#define PTE_PFN_SHIFT	6
#define PTE_SWAP	0x2u
#define PTE_SWP_UFFD_WP	0x4u
#define PTE_SLOT_SHIFT	3

static inline bool pte_present(uint32_t pte) { return pte & PTE_PRESENT; }
static inline bool pte_is_swap(uint32_t pte)
{
	return !(pte & PTE_PRESENT) && (pte & PTE_SWAP);
}
static inline uint32_t pte_pfn(uint32_t pte) { return pte >> PTE_PFN_SHIFT; }
static inline uint32_t pte_slot(uint32_t pte) { return pte >> PTE_SLOT_SHIFT; }
static inline uint32_t pte_mk(uint32_t pfn, uint32_t bits)
{
	return (pfn << PTE_PFN_SHIFT) | PTE_PRESENT | bits;
}
static inline uint32_t pte_mk_swap(uint32_t slot, bool uffd_wp)
{
	return (slot << PTE_SLOT_SHIFT) | PTE_SWAP | (uffd_wp ? PTE_SWP_UFFD_WP : 0);
}

/*
 * PMD, 64 bits.  0: none.  Bit 0 clear and non-zero: a struct
 * sim_pte_table pointer.  Bit 0 set: huge, with young/dirty/writable bits,
 * PMD_ZERO for the huge zero page, and the pfn from bit 8.
 */
#define PMD_HUGE	0x1ull
#define PMD_YOUNG	0x2ull
#define PMD_DIRTY	0x4ull
#define PMD_WRITE	0x8ull
#define PMD_ZERO	0x10ull
#define PMD_PFN_SHIFT	8

struct sim_pte_table {
	pthread_mutex_t lock;		/* the PTE lock */
	uint32_t ptes[];		/* ptes_per_pmd entries */
};

struct sim_pmd_table {
	pthread_mutex_t lock;		/* the PMD lock of its 512 entries */
	uint64_t pmd[SIM_DIR_ENTRIES];	/* atomic */
};

struct sim_pud {
	struct sim_pmd_table *slot[SIM_DIR_ENTRIES];	/* atomic */
};

static inline bool pmd_is_none(uint64_t pmd) { return pmd == 0; }
static inline bool pmd_is_huge(uint64_t pmd) { return pmd & PMD_HUGE; }
static inline bool pmd_is_table(uint64_t pmd) { return pmd && !(pmd & PMD_HUGE); }
static inline struct sim_pte_table *pmd_table(uint64_t pmd)
{
	return (struct sim_pte_table *)(uintptr_t)pmd;
}
static inline uint32_t pmd_pfn(uint64_t pmd) { return (uint32_t)(pmd >> PMD_PFN_SHIFT); }

/* ---- VMAs and mm ---- */

struct sim_anon_vma {
	pthread_rwlock_t lock;
	uint32_t refcount;	/* atomic */
};

#define SIM_VM_HUGEPAGE		0x1u
#define SIM_VM_NOHUGEPAGE	0x2u
#define SIM_VM_UFFD_MISSING	0x4u
#define SIM_VM_UFFD_WP		0x8u
#define SIM_VM_UFFD		(SIM_VM_UFFD_MISSING | SIM_VM_UFFD_WP)

struct sim_vma {
	uint64_t start;
	uint64_t end;		/* exclusive */
	uint64_t pgoff;		/* start >> page_shift when first mapped */
	unsigned prot;
	uint32_t vm_flags;
	struct sim_anon_vma *anon_vma;	/* atomic: installed under pgd_lock */
};

struct sim_mm {
	struct sim *sim;
	uint32_t id;
	unsigned memcg;
	pthread_rwlock_t mmap_lock;
	pthread_mutex_t pgd_lock;	/* page_table_lock */
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

/* ---- physmem.c ---- */
int physmem_init(struct sim_physmem *pm, uint64_t nr_frames, unsigned max_order);
void physmem_destroy(struct sim_physmem *pm);
/* Context: takes and drops the zone lock. */
int physmem_alloc(struct sim_physmem *pm, unsigned order, uint32_t *pfn);
/* Context: takes and drops the zone lock. */
void physmem_free(struct sim_physmem *pm, uint32_t pfn, unsigned order);
int physmem_check(struct sim *sim, uint8_t *seen);

/* ---- folio.c ---- */
static inline uint32_t folio_head(const struct sim *sim, uint32_t pfn)
{
	return pfn & ~((1u << sim->pm.pages[pfn].order) - 1);
}
static inline struct sim_page *sim_pg(struct sim *sim, uint32_t pfn)
{
	return &sim->pm.pages[pfn];
}
int folio_alloc(struct sim *sim, unsigned order, uint32_t *head);
int folio_charge(struct sim *sim, uint32_t head, unsigned memcg);
/*
 * A new anonymous folio: allocated, charged to memcg, on the LRU and
 * counted in nr_anon; on a failed charge nothing is left allocated.
 */
int anon_folio_new(struct sim *sim, unsigned order, unsigned memcg, uint32_t *head);
/* Drop n references; frees (and uncharges) the folio at zero. */
void folio_put(struct sim *sim, uint32_t head, uint32_t n);
void folio_get(struct sim *sim, uint32_t head, uint32_t n);
uint32_t folio_refcount(struct sim *sim, uint32_t head);
uint32_t folio_mapcount(struct sim *sim, uint32_t head);
uint32_t folio_entire_mapcount(struct sim *sim, uint32_t head);
/* Map/unmap nr PTEs of pages [pfn, pfn + nr) of one folio for mm id. */
void folio_add_ptes(struct sim *sim, uint32_t pfn, uint32_t nr, uint32_t mm_id);
void folio_remove_ptes(struct sim *sim, uint32_t pfn, uint32_t nr, uint32_t mm_id);
void folio_add_pmd(struct sim *sim, uint32_t head, uint32_t mm_id);
void folio_remove_pmd(struct sim *sim, uint32_t head, uint32_t mm_id);
/* A PMD mapping becomes nr PTE mappings (split of the PMD). */
void folio_pmd_to_ptes(struct sim *sim, uint32_t head, uint32_t mm_id);
bool folio_maybe_shared(struct sim *sim, uint32_t head);
/*
 * Split a large folio into order-0 folios and free its unmapped pages.
 * extra: references the caller holds beyond the mappings, consumed on
 * success.  -EBUSY (split_failed counted) when pinned, locked, in the
 * swapcache or PMD-mapped.  Context: the PTE lock of the table holding
 * every mapping of it held; takes and drops the folio's map lock.
 */
int folio_split(struct sim *sim, uint32_t head, uint32_t extra);
void folio_set_flag(struct sim *sim, uint32_t head, uint16_t flag);
void folio_clear_flag(struct sim *sim, uint32_t head, uint16_t flag);
bool folio_test_flag(struct sim *sim, uint32_t head, uint16_t flag);
bool folio_trylock(struct sim *sim, uint32_t head);
void folio_unlock(struct sim *sim, uint32_t head);
/* Copy nr content tags: what a collapse copies into its new folio. */
void folio_copy_tags(struct sim *sim, uint32_t dst_pfn, uint32_t src_pfn, uint32_t nr);
static inline uint64_t page_tag(struct sim *sim, uint32_t pfn)
{
	return ld_relaxed(&sim->pm.tags[pfn]);
}
static inline void page_set_tag(struct sim *sim, uint32_t pfn, uint64_t tag)
{
	st_relaxed(&sim->pm.tags[pfn], tag);
}

/* ---- memcg.c ---- */
int memcg_charge(struct sim *sim, unsigned memcg, uint64_t nr);
void memcg_uncharge(struct sim *sim, unsigned memcg, uint64_t nr);

/* ---- pgtable.c ---- */
static inline uint32_t pte_index(const struct sim *sim, uint64_t addr)
{
	return (uint32_t)(addr >> sim->page_shift) & (sim->geo.ptes_per_pmd - 1);
}
static inline uint64_t pmd_base(const struct sim *sim, uint64_t addr)
{
	return addr & ~((1ull << sim->pmd_shift) - 1);
}
/* The PMD entry of addr, allocating directories when alloc; NULL if absent. */
uint64_t *pmd_lookup(struct sim_mm *mm, uint64_t addr, bool alloc,
		     struct sim_pmd_table **pmdt);
struct sim_pte_table *pte_table_alloc(struct sim *sim);
void pte_table_free(struct sim_pte_table *t);
/* Context: mmap_lock held; takes and drops the PMD lock. */
int pmd_install_table(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt);
/* Context: mmap_lock held; takes and drops the PMD lock. */
int pmd_split_huge(struct sim_mm *mm, uint64_t *pmdp, struct sim_pmd_table *pmdt);
/* Context: PMD lock held: clear the PMD, return the detached table. */
struct sim_pte_table *pmdp_collapse_flush(uint64_t *pmdp);
/* Context: PMD lock held: put a table back under an empty PMD. */
void pmd_populate(uint64_t *pmdp, struct sim_pte_table *t);
/* Visit each PMD entry overlapping [start, end): fn gets the sub-range. */
typedef int (*pmd_range_fn)(struct sim_mm *mm, uint64_t *pmdp,
			    struct sim_pmd_table *pmdt, uint64_t start,
			    uint64_t end, void *ctx);
int walk_pmds(struct sim_mm *mm, uint64_t start, uint64_t end, pmd_range_fn fn,
	      void *ctx);
/* Free PTE tables of PMD ranges in [start, end) that no VMA overlaps. */
void free_unused_tables(struct sim_mm *mm, uint64_t start, uint64_t end);
void free_all_tables(struct sim_mm *mm);
/* Zap one present/swap PTE value (mapping counts, swap slots). */
void zap_pte(struct sim_mm *mm, uint32_t pte);
/* Zap [start, end): PTEs to none, huge PMDs cleared or split, partially
 * zapped large folios split.  Context: mmap_lock held; takes PMD and PTE
 * locks. */
int zap_range(struct sim_mm *mm, uint64_t start, uint64_t end);

/* ---- vma.c ---- */
struct sim_vma *vma_find(struct sim_mm *mm, uint64_t addr);
size_t vma_index_after(struct sim_mm *mm, uint64_t addr);
int vma_insert(struct sim_mm *mm, const struct sim_vma *v);
/* Make VMA boundaries at start and end (splitting). Context: mmap_lock write. */
int vma_split_at(struct sim_mm *mm, uint64_t addr);
/* Merge compatible neighbours around [start, end). Context: mmap_lock write. */
void vma_merge_range(struct sim_mm *mm, uint64_t start, uint64_t end);
/* Remove [start, end) from the VMA list (after its pages are zapped). */
int vma_remove_range(struct sim_mm *mm, uint64_t start, uint64_t end);
uint32_t vma_snapshot_flags(const struct sim_vma *v);
/* Context: mmap_lock held (read is enough): takes pgd_lock. */
struct sim_anon_vma *anon_vma_prepare(struct sim_mm *mm, struct sim_vma *v);
struct sim_anon_vma *anon_vma_get(struct sim_anon_vma *av);
void anon_vma_put(struct sim_anon_vma *av);
/* Find a gap of len below mmap_base (aligned to align). */
int vma_get_unmapped_area(struct sim_mm *mm, uint64_t len, uint64_t align,
			  uint64_t *addr);

/* ---- mm.c ---- */
const struct mthp_settings *sim_settings(struct sim *sim);
/* Context: takes world lock for read (debug builds), drops in world_exit. */
void world_enter(struct sim *sim);
void world_exit(struct sim *sim);
/* Debug builds: sim_check() after a mapping change; aborts on failure. */
void sim_debug_check(struct sim *sim);

int mm_alloc(struct sim *sim, unsigned memcg, struct sim_mm **out);
/* Zap and free everything.  Context: mmap_lock held for write. */
void mm_teardown(struct sim_mm *mm);
/* Is [start, end) covered by VMAs without a hole? */
bool range_mapped(struct sim_mm *mm, uint64_t start, uint64_t end);
/* munmap: zap, remove the VMAs, free the tables no VMA needs any more.
 * Context: mmap_lock held for write. */
int munmap_locked(struct sim_mm *mm, uint64_t start, uint64_t end);
/* Split VMAs at start and end.  Context: mmap_lock held for write. */
int vma_isolate_range(struct sim_mm *mm, uint64_t start, uint64_t end);

/* ---- fault.c ---- */
enum sim_access { SIM_ACCESS_READ, SIM_ACCESS_WRITE, SIM_ACCESS_POPULATE };
/* One access with faults.  Context: mmap_lock held for read. */
int handle_access(struct sim_mm *mm, uint64_t addr, enum sim_access kind,
		  uint64_t *tag);
uint32_t fault_allowed_orders(struct sim *sim, const struct sim_vma *v);

/* ---- swap.c ---- */
int swap_init(struct sim_swap *sw, uint64_t nr_slots);
void swap_destroy(struct sim_swap *sw);
/* Context: takes and drops the swap lock. */
int swap_alloc(struct sim_swap *sw, unsigned order, uint32_t *slot);
void swap_dup(struct sim_swap *sw, uint32_t slot);
void swap_free(struct sim_swap *sw, uint32_t slot);
uint64_t swap_tag(struct sim_swap *sw, uint32_t slot);
void swap_set_tag(struct sim_swap *sw, uint32_t slot, uint64_t tag);
uint32_t swap_count(struct sim_swap *sw, uint32_t slot);
/* Context: PTE lock of t held.  Swap out or drop the folios mapped at
 * PTE indices [first, last] of t. */
void pageout_ptes(struct sim_mm *mm, struct sim_pte_table *t, uint32_t first,
		  uint32_t last);
/* Context: PTE lock of t held.  Is the folio mapped whole, in order, from
 * PTE idx of t, inside [first, last], and nowhere else? */
bool folio_whole_here(struct sim *sim, struct sim_pte_table *t, uint32_t idx,
		      uint32_t first, uint32_t last, uint32_t head);
/* Context: PTE lock held.  Swap in at PTE index i. */
int swapin_pte(struct sim_mm *mm, const struct sim_vma *v,
	       struct sim_pte_table *t, uint32_t i, bool write);

/* ---- stats.c ---- */
static inline void count_vm(struct sim *sim, enum sim_vmstat_item item)
{
	__atomic_fetch_add(&sim->vmstat[item], 1, __ATOMIC_RELAXED);
}
static inline void count_mthp(struct sim *sim, unsigned order,
			      enum sim_mthp_item item)
{
	__atomic_fetch_add(&sim->mthp_stat[order][item], 1, __ATOMIC_RELAXED);
}
static inline void mod_mthp(struct sim *sim, unsigned order,
			    enum sim_mthp_item item, int64_t delta)
{
	__atomic_fetch_add(&sim->mthp_stat[order][item], (uint64_t)delta,
			   __ATOMIC_RELAXED);
}

/* ---- export.c ---- */
/*
 * The states and folio orders of one PMD range, as the snapshot alphabet.
 * Context: mmap_lock held; takes and drops the PTE lock.
 */
enum mthp_pmd_kind sim_pmd_states(struct sim_mm *mm, uint64_t pmd_addr,
				  uint8_t *ptes, uint8_t *orders);
char pte_state(struct sim *sim, uint32_t pte);

/* ---- check.c ---- */
/* sim_check() itself.  Context: the world lock held for write. */
int sim_check_locked(struct sim *sim);

/* ---- lockdep.c: the held-locks record of each thread ---- */

/*
 * Lock classes, ranked in the order they nest (outermost first); the
 * order and why is written once, at the top of lockdep.c.  Debug builds
 * (MTHP_DEBUG) record every lock taken through the wrappers below, with
 * the file and line of the call, in a per-thread list: a blocking
 * acquisition inside a lock of a higher rank (or the same class twice),
 * a release of a lock not held, and a failed Context: assertion abort
 * with both locks' names and both call sites.  Release builds compile all
 * of it away.
 */
enum sim_lock_class {
	LOCK_WORLD,		/* sim->world_lock (debug only; write: sim_check) */
	LOCK_MMAP,		/* mm->mmap_lock */
	LOCK_MMAP_NESTED,	/* a fork child's mmap_lock, inside the parent's */
	LOCK_ANON_VMA,		/* anon_vma->lock */
	LOCK_PMD,		/* sim_pmd_table->lock */
	LOCK_PMD_NESTED,	/* a second PMD table, nested (mremap) */
	LOCK_PTE,		/* sim_pte_table->lock */
	LOCK_PTE_NESTED,	/* a second PTE table, nested (fork, mremap) */
	LOCK_FOLIO_MAP,		/* a large folio's map lock (bit spinlock) */
	LOCK_PGD,		/* mm->pgd_lock, the kernel's page_table_lock */
	LOCK_SWAP,		/* sim->swap.lock (swap_info lock) */
	LOCK_ZONE,		/* sim->pm.zone_lock (the buddy allocator) */
	LOCK_MEMCG,		/* sim->memcg_lock (cgroup creation) */
	LOCK_MM_LIST,		/* sim->mm_list_lock */
	LOCK_NR_CLASSES
};

enum sim_lock_mode {
	LOCK_READ = 1,		/* shared */
	LOCK_WRITE = 2,		/* exclusive (a mutex is always this) */
	LOCK_ANY = 3,		/* for assertions: either */
};

/* The name of a lock class, as lockdep prints it. */
const char *lockdep_class_name(enum sim_lock_class c);

#if MTHP_DEBUG
void lockdep_acquired_at(enum sim_lock_class c, const void *obj,
			 enum sim_lock_mode mode, bool trylock,
			 const char *file, int line);
void lockdep_released_at(enum sim_lock_class c, const void *obj,
			 const char *file, int line);
/* Abort unless obj (any of the class when NULL) is held in mode. */
void lockdep_assert_held_at(enum sim_lock_class c, const void *obj,
			    enum sim_lock_mode mode, const char *file, int line);
/* Abort if obj (any of the class when NULL) is held. */
void lockdep_assert_not_held_at(enum sim_lock_class c, const void *obj,
				const char *file, int line);
/* Abort if the calling thread holds any lock. */
void lockdep_assert_none_held_at(const char *file, int line);
/* Is obj (any of the class when NULL) held in mode? */
bool lockdep_is_held(enum sim_lock_class c, const void *obj,
		     enum sim_lock_mode mode);
/* Number of locks the calling thread holds. */
unsigned lockdep_depth(void);
#else
static inline void lockdep_acquired_at(enum sim_lock_class c, const void *obj,
				       enum sim_lock_mode mode, bool trylock,
				       const char *file, int line)
{
	(void)c; (void)obj; (void)mode; (void)trylock; (void)file; (void)line;
}
static inline void lockdep_released_at(enum sim_lock_class c, const void *obj,
				       const char *file, int line)
{
	(void)c; (void)obj; (void)file; (void)line;
}
static inline void lockdep_assert_held_at(enum sim_lock_class c, const void *obj,
					  enum sim_lock_mode mode,
					  const char *file, int line)
{
	(void)c; (void)obj; (void)mode; (void)file; (void)line;
}
static inline void lockdep_assert_not_held_at(enum sim_lock_class c,
					      const void *obj,
					      const char *file, int line)
{
	(void)c; (void)obj; (void)file; (void)line;
}
static inline void lockdep_assert_none_held_at(const char *file, int line)
{
	(void)file; (void)line;
}
static inline bool lockdep_is_held(enum sim_lock_class c, const void *obj,
				   enum sim_lock_mode mode)
{
	(void)c; (void)obj; (void)mode;
	return true;
}
static inline unsigned lockdep_depth(void) { return 0; }
#endif

#define lockdep_acquired(c, obj, mode, trylock) \
	lockdep_acquired_at(c, obj, mode, trylock, __FILE__, __LINE__)
#define lockdep_released(c, obj) lockdep_released_at(c, obj, __FILE__, __LINE__)
#define lockdep_assert_held(c, obj, mode) \
	lockdep_assert_held_at(c, obj, mode, __FILE__, __LINE__)
#define lockdep_assert_not_held(c, obj) \
	lockdep_assert_not_held_at(c, obj, __FILE__, __LINE__)
#define lockdep_assert_none_held() lockdep_assert_none_held_at(__FILE__, __LINE__)
/*
 * mm's mmap_lock held in mode, as LOCK_MMAP or as LOCK_MMAP_NESTED (a
 * fork child's, whose VMAs and tables fork builds under the parent's).
 */
#define mmap_assert_locked(mm, mode)					\
	do {								\
		if (!lockdep_is_held(LOCK_MMAP_NESTED, (mm), (mode)))	\
			lockdep_assert_held(LOCK_MMAP, (mm), (mode));	\
	} while (0)

/*
 * The lock wrappers: take or drop the lock and record it with the
 * caller's file and line.  Each has a _at function and a macro of the
 * plain name that passes __FILE__ and __LINE__.
 */
static inline void rw_read_lock_at(pthread_rwlock_t *l, enum sim_lock_class c,
				   const void *obj, const char *file, int line)
{
	pthread_rwlock_rdlock(l);
	lockdep_acquired_at(c, obj, LOCK_READ, false, file, line);
}
static inline bool rw_read_trylock_at(pthread_rwlock_t *l, enum sim_lock_class c,
				      const void *obj, const char *file, int line)
{
	if (pthread_rwlock_tryrdlock(l))
		return false;
	lockdep_acquired_at(c, obj, LOCK_READ, true, file, line);
	return true;
}
static inline void rw_write_lock_at(pthread_rwlock_t *l, enum sim_lock_class c,
				    const void *obj, const char *file, int line)
{
	pthread_rwlock_wrlock(l);
	lockdep_acquired_at(c, obj, LOCK_WRITE, false, file, line);
}
static inline void rw_unlock_at(pthread_rwlock_t *l, enum sim_lock_class c,
				const void *obj, const char *file, int line)
{
	lockdep_released_at(c, obj, file, line);
	pthread_rwlock_unlock(l);
}
static inline void mutex_lock_at(pthread_mutex_t *l, enum sim_lock_class c,
				 const void *obj, const char *file, int line)
{
	pthread_mutex_lock(l);
	lockdep_acquired_at(c, obj, LOCK_WRITE, false, file, line);
}
static inline void mutex_unlock_at(pthread_mutex_t *l, enum sim_lock_class c,
				   const void *obj, const char *file, int line)
{
	lockdep_released_at(c, obj, file, line);
	pthread_mutex_unlock(l);
}

#define mmap_read_lock(mm) \
	rw_read_lock_at(&(mm)->mmap_lock, LOCK_MMAP, (mm), __FILE__, __LINE__)
#define mmap_read_trylock(mm) \
	rw_read_trylock_at(&(mm)->mmap_lock, LOCK_MMAP, (mm), __FILE__, __LINE__)
#define mmap_write_lock(mm) \
	rw_write_lock_at(&(mm)->mmap_lock, LOCK_MMAP, (mm), __FILE__, __LINE__)
#define mmap_unlock(mm) \
	rw_unlock_at(&(mm)->mmap_lock, LOCK_MMAP, (mm), __FILE__, __LINE__)
/* A fork child's, while the parent's is held for write. */
#define mmap_write_lock_nested(mm) \
	rw_write_lock_at(&(mm)->mmap_lock, LOCK_MMAP_NESTED, (mm), __FILE__, __LINE__)
#define mmap_unlock_nested(mm) \
	rw_unlock_at(&(mm)->mmap_lock, LOCK_MMAP_NESTED, (mm), __FILE__, __LINE__)
#define anon_vma_lock_write(av) \
	rw_write_lock_at(&(av)->lock, LOCK_ANON_VMA, (av), __FILE__, __LINE__)
#define anon_vma_unlock_write(av) \
	rw_unlock_at(&(av)->lock, LOCK_ANON_VMA, (av), __FILE__, __LINE__)
#define pmd_lock(pmdt) \
	mutex_lock_at(&(pmdt)->lock, LOCK_PMD, (pmdt), __FILE__, __LINE__)
#define pmd_unlock(pmdt) \
	mutex_unlock_at(&(pmdt)->lock, LOCK_PMD, (pmdt), __FILE__, __LINE__)
#define pmd_lock_nested(pmdt) \
	mutex_lock_at(&(pmdt)->lock, LOCK_PMD_NESTED, (pmdt), __FILE__, __LINE__)
#define pmd_unlock_nested(pmdt) \
	mutex_unlock_at(&(pmdt)->lock, LOCK_PMD_NESTED, (pmdt), __FILE__, __LINE__)
#define pte_lock(t) \
	mutex_lock_at(&(t)->lock, LOCK_PTE, (t), __FILE__, __LINE__)
#define pte_unlock(t) \
	mutex_unlock_at(&(t)->lock, LOCK_PTE, (t), __FILE__, __LINE__)
#define pte_lock_nested(t) \
	mutex_lock_at(&(t)->lock, LOCK_PTE_NESTED, (t), __FILE__, __LINE__)
#define pte_unlock_nested(t) \
	mutex_unlock_at(&(t)->lock, LOCK_PTE_NESTED, (t), __FILE__, __LINE__)
#define pgd_lock(mm) \
	mutex_lock_at(&(mm)->pgd_lock, LOCK_PGD, (mm), __FILE__, __LINE__)
#define pgd_unlock(mm) \
	mutex_unlock_at(&(mm)->pgd_lock, LOCK_PGD, (mm), __FILE__, __LINE__)
#define swap_lock(sw) \
	mutex_lock_at(&(sw)->lock, LOCK_SWAP, (sw), __FILE__, __LINE__)
#define swap_unlock(sw) \
	mutex_unlock_at(&(sw)->lock, LOCK_SWAP, (sw), __FILE__, __LINE__)
#define zone_lock(pm) \
	mutex_lock_at(&(pm)->zone_lock, LOCK_ZONE, (pm), __FILE__, __LINE__)
#define zone_unlock(pm) \
	mutex_unlock_at(&(pm)->zone_lock, LOCK_ZONE, (pm), __FILE__, __LINE__)
#define memcg_lock(sim) \
	mutex_lock_at(&(sim)->memcg_lock, LOCK_MEMCG, (sim), __FILE__, __LINE__)
#define memcg_unlock(sim) \
	mutex_unlock_at(&(sim)->memcg_lock, LOCK_MEMCG, (sim), __FILE__, __LINE__)
#define mm_list_lock(sim) \
	mutex_lock_at(&(sim)->mm_list_lock, LOCK_MM_LIST, (sim), __FILE__, __LINE__)
#define mm_list_unlock(sim) \
	mutex_unlock_at(&(sim)->mm_list_lock, LOCK_MM_LIST, (sim), __FILE__, __LINE__)

/* ---- mm.c (references) ---- */
/* Drop a reference; the last one frees the mm (after sim_exit). */
void mm_put(struct sim_mm *mm);

/* ---- export.c (tables) ---- */
/* Context: PTE lock of t held.  States and folio orders of t's PTEs. */
void table_states(struct sim *sim, struct sim_pte_table *t, uint8_t *ptes,
		  uint8_t *orders);

/* ---- khugepaged.c ---- */
void khugepaged_init(struct sim *sim);
void khugepaged_destroy(struct sim *sim);
/* Give the mm an mm slot (khugepaged_enter).  Context: takes the mm list lock. */
void khugepaged_enter(struct sim_mm *mm);
/* Remove the mm's slot, moving the cursor past it.  Context: mm list lock held. */
void khugepaged_exit_locked(struct sim_mm *mm);

/* ---- collapse.c ---- */
struct collapse_control *collapse_control_alloc(struct sim *sim,
						enum mthp_policy policy,
						enum mthp_context context);
void collapse_control_free(struct collapse_control *cc);
void collapse_control_set_policy(struct collapse_control *cc,
				 enum mthp_policy policy);
/*
 * Scan one PMD range with the engine and collapse what the walk chooses.
 * Context: world lock (debug builds) and mmap_lock held for read on
 * entry; on return both are still held when *mmap_locked is true, and
 * both dropped when it is false.
 */
enum mthp_result collapse_scan_pmd(struct sim_mm *mm, const struct sim_vma *v,
				   uint64_t pmd_addr, bool *mmap_locked,
				   struct collapse_control *cc);
/* The rules of a VMA for cc's policy and context. */
void collapse_rules(struct collapse_control *cc, const struct sim_vma *v,
		    struct mthp_rules *rules);
/*
 * Revalidate after mmap_lock was dropped and retaken, as the kernel's
 * hugepage_vma_revalidate() (khugepaged and MADV_COLLAPSE alike): the mm
 * not exiting (ANY_PROCESS), a VMA at pmd_addr (VMA_NULL) spanning its
 * whole PMD range (ADDRESS_RANGE), eligible for some order under cc
 * (VMA_CHECK).  Fills *rules and *vp for the VMA as it is now.
 * Context: mmap_lock held (read or write).
 */
enum mthp_result collapse_revalidate(struct sim_mm *mm, struct collapse_control *cc,
				     uint64_t pmd_addr, struct mthp_rules *rules,
				     const struct sim_vma **vp);
/* Collapses the last collapse_scan_pmd() made. */
uint32_t collapse_nr_done(const struct collapse_control *cc);

/* ---- inject.c ---- */
void inject_init(struct sim *sim);
/* Does point p fire now?  Counts it when it does.  Context: any. */
bool inject_fail(struct sim *sim, enum sim_inject_point p);
/*
 * Between the scan and a window's collapse: maybe run one of the racing
 * mutations.  Returns a forked child to sim_exit() after the attempt, or
 * NULL.  Context: no simulator lock held.
 */
struct sim_mm *inject_race_point(struct sim_mm *mm, uint64_t pmd_addr);

/* ---- trace.c ---- */
void trace_init(struct sim *sim);
void trace_destroy(struct sim *sim);
bool trace_on(struct sim *sim);
/* Context: none required; takes the trace lock (a leaf). */
void trace_printf(struct sim *sim, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A stable stand-in for the kernel's %p of an mm. */
unsigned long long trace_mm_ptr(const struct sim_mm *mm);
void trace_observe(struct sim *sim, const struct sim_collapse_event *ev);

#endif /* MTHP_SIM_INTERNAL_H */
