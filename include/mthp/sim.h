/* SPDX-License-Identifier: MIT */
/*
 * mthp/sim.h - the simulated memory manager.
 *
 * Physical frames with a buddy allocator, folios with content tags, memory
 * cgroups, page tables, VMAs and mms, swap, and the operations a process
 * does on anonymous memory (mmap, faults, madvise, fork, ...).  The fault
 * path chooses folio orders as Linux does, with the engine's
 * mthp_vma_allowed_orders() as the per-size mask.  Every operation may be
 * called from several threads at once; the locks are real.  Addresses and
 * lengths are in bytes and must be page aligned.  Functions return 0 or
 * -errno and never set errno.
 *
 * Context (every function here): called with no simulator lock held, and
 * returns with none held; the operations take the locks they need (the
 * lock order is at the top of src/sim/lockdep.c).  Debug builds assert it
 * where an operation enters the simulator (world_enter()), so a collapse
 * observer or race function that calls back in from under a lock aborts.
 */
#ifndef MTHP_SIM_H
#define MTHP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mthp/engine.h>
#include <mthp/result.h>
#include <mthp/settings.h>
#include <mthp/snapshot.h>

struct sim;
struct sim_mm;

/*
 * What a swap-in fault brings in.  Linux 7.2 swaps in a large folio only
 * from a synchronous device (zram, pmem: SWP_SYNCHRONOUS_IO) and only
 * while zswap has never been enabled; from any other device a fault
 * brings in one page.
 */
enum sim_swap_device {
	SIM_SWAP_DISK,	/* one page a fault */
	SIM_SWAP_ZRAM,	/* the largest allowed mTHP size the slots allow */
};

/*
 * The simulator's 4-byte PTEs hold a page-frame number of 26 bits and a
 * swap slot of 29 bits: the most frames (nr_frames below this) and swap
 * slots a machine can have.
 */
#define SIM_MAX_FRAMES ((1ull << 26) - 1)
#define SIM_MAX_SWAP_SLOTS ((1ull << 29) - 2)

struct sim_config {
	uint32_t page_size;		/* 4096, 16384 or 65536 */
	uint64_t nr_frames;		/* physical memory in base pages */
	uint64_t nr_swap_slots;		/* swap area in base pages; 0: none */
	enum sim_swap_device swap_device;
	uint64_t seed;			/* for sim_random() */
	bool read_fault_alloc;		/* read faults allocate, no zero page */
	/*
	 * The folios faults allocate stand for another machine's (a loaded
	 * snapshot, a replayed recording): a large one may hold pages a
	 * collapse zero-filled there, so policy guarded's folio discount
	 * counts it (docs/guarded-policy.md)
	 */
	bool foreign_folios;
};

/* A simulator with the given settings (copied); *out on success. */
int sim_create(struct sim **out, const struct sim_config *cfg,
	       const struct mthp_settings *settings);
/* Free everything; every mm must have exited. */
void sim_destroy(struct sim *sim);

const struct mthp_geometry *sim_geometry(const struct sim *sim);
/* Replace the settings (copied); takes effect for later operations. */
int sim_set_settings(struct sim *sim, const struct mthp_settings *s);
/* A copy of the settings in force. */
void sim_get_settings(struct sim *sim, struct mthp_settings *s);
/* One sysfs knob, as mthp_settings_set(). */
int sim_set_knob(struct sim *sim, const char *knob, const char *value);
/* The machine switch: read faults allocate a zeroed page (true) or map
 * the shared zero page (false, Linux's default). */
void sim_set_read_fault_alloc(struct sim *sim, bool alloc);
/* The swap device's kind, for later swap-ins. */
void sim_set_swap_device(struct sim *sim, enum sim_swap_device dev);

/* Simulated clock (nanoseconds) and deterministic random numbers. */
uint64_t sim_now(struct sim *sim);
void sim_advance(struct sim *sim, uint64_t ns);
uint64_t sim_random(struct sim *sim);

/* Physical memory. */
uint64_t sim_free_pages(struct sim *sim);
/* Free blocks of exactly this order. */
uint64_t sim_free_blocks(struct sim *sim, unsigned order);
/*
 * Pin one free frame in every aligned block of 2^order frames, so that no
 * free block of order or more remains.  Returns the number pinned (>= 0).
 */
int64_t sim_fragment(struct sim *sim, unsigned order);
/*
 * The same for a share of the blocks only, spread evenly over memory:
 * fraction 0 pins nothing, 1 is sim_fragment().
 */
int64_t sim_fragment_some(struct sim *sim, unsigned order, double fraction);
/* Release the frames sim_fragment() pinned. */
void sim_unfragment(struct sim *sim);

/* Memory cgroups: 0 is the root, without limit. */
int sim_memcg_create(struct sim *sim, uint64_t limit_pages, unsigned *id);
int sim_memcg_set_limit(struct sim *sim, unsigned id, uint64_t limit_pages);
uint64_t sim_memcg_usage(struct sim *sim, unsigned id);

/* Processes. */
int sim_mm_create(struct sim *sim, unsigned memcg, struct sim_mm **out);
/* Tear down an mm (process exit); mm is freed. */
void sim_exit(struct sim_mm *mm);
/* A child with a copy of the address space, pages shared copy-on-write. */
int sim_fork(struct sim_mm *mm, struct sim_mm **child);
uint32_t sim_mm_id(const struct sim_mm *mm);

#define SIM_PROT_NONE	0u
#define SIM_PROT_READ	1u
#define SIM_PROT_WRITE	2u
#define SIM_PROT_RW	(SIM_PROT_READ | SIM_PROT_WRITE)

#define SIM_MAP_FIXED	1u	/* map exactly at *addr, replacing */

/* Anonymous private mapping; *addr is the hint/fixed address and the result. */
int sim_mmap(struct sim_mm *mm, uint64_t *addr, uint64_t len, unsigned prot,
	     unsigned flags);
int sim_munmap(struct sim_mm *mm, uint64_t addr, uint64_t len);
int sim_mprotect(struct sim_mm *mm, uint64_t addr, uint64_t len, unsigned prot);
/* Move [old_addr, +len) (one VMA) to new_addr (fixed) or anywhere if 0. */
int sim_mremap(struct sim_mm *mm, uint64_t old_addr, uint64_t len,
	       uint64_t *new_addr);

#define SIM_MREMAP_MAYMOVE 1u	/* MREMAP_MAYMOVE */
#define SIM_MREMAP_FIXED   2u	/* MREMAP_FIXED (needs MAYMOVE) */
/*
 * mremap(2) of [old_addr, +old_len) to new_len bytes, as the kernel does.
 * With SIM_MREMAP_FIXED: [*new_addr, +new_len) is unmapped, the old range
 * shrunk to new_len (its tail unmapped) and moved there, into a VMA of
 * new_len.  Without: a shrink unmaps the tail in place; a grow extends the
 * VMA in place when the range ends at the VMA's end and the new_len -
 * old_len bytes after it are free, else moves the range to a free area
 * with SIM_MREMAP_MAYMOVE, else fails with -ENOMEM.  The part that is
 * moved or grown must lie inside one VMA (-EFAULT; also when nothing is
 * mapped at old_addr).  -EINVAL: unknown flags, FIXED without MAYMOVE, a
 * zero or unaligned length or address, overlapping old and new ranges.
 * *new_addr gets the address of the result.
 */
int sim_mremap_resize(struct sim_mm *mm, uint64_t old_addr, uint64_t old_len,
		      uint64_t new_len, unsigned flags, uint64_t *new_addr);

/* Load and store of a page's content tag, with faults as the CPU would. */
int sim_read(struct sim_mm *mm, uint64_t addr, uint64_t *tag);
int sim_write(struct sim_mm *mm, uint64_t addr, uint64_t tag);

enum sim_madv {
	SIM_MADV_HUGEPAGE,
	SIM_MADV_NOHUGEPAGE,
	SIM_MADV_DONTNEED,
	SIM_MADV_FREE,
	SIM_MADV_COLD,		/* clears the young bits of folios mapped once */
	SIM_MADV_PAGEOUT,
	SIM_MADV_POPULATE_WRITE,
};
int sim_madvise(struct sim_mm *mm, uint64_t addr, uint64_t len,
		enum sim_madv advice);

/* userfaultfd: register (missing and/or wp), unregister, write-protect. */
#define SIM_UFFD_MISSING 1u
#define SIM_UFFD_WP	 2u
int sim_uffd_register(struct sim_mm *mm, uint64_t addr, uint64_t len,
		      unsigned modes);
int sim_uffd_unregister(struct sim_mm *mm, uint64_t addr, uint64_t len);
int sim_uffd_writeprotect(struct sim_mm *mm, uint64_t addr, uint64_t len,
			  bool protect);

/*
 * Run the deferred split shrinker, as memory pressure or `echo 2 >
 * /proc/sys/vm/drop_caches` does (src/sim/shrinker.c says what it
 * models), over the folios of the memory cgroup memcg (every cgroup when
 * memcg < 0): every partially mapped folio is split, its unmapped pages
 * freed; every queued PMD-sized folio with more than max_ptes_none
 * zero-filled pages (underused) is split.  A split maps the zero-filled
 * pages to the zero page and frees them.  0 or -ENOMEM.
 * Context: no simulator lock held.
 */
struct sim_shrink_result {
	uint64_t split;		/* folios split, partially mapped or underused */
	uint64_t pages_freed;	/* pages freed: unmapped and zero-filled, and
				 * by sim_reclaim() paged out */
	uint64_t paged_out;	/* sim_reclaim()'s: of them, freed by its
				 * swap-out (swapped out, lazyfree folios
				 * dropped, zero-filled pages of the folios
				 * it split) */
};
int sim_shrink(struct sim *sim, int memcg, struct sim_shrink_result *res);
/*
 * Direct reclaim of at least want pages (32 at least, as the kernel asks),
 * as an allocation that finds no memory (memcg < 0) or a charge at the
 * limit of cgroup memcg runs it: sim_shrink(), then, when that freed less,
 * memory is still short and the machine has swap room, the swap-out of
 * folios of the cgroup (any when memcg < 0) whose young bits say they are
 * not referenced, the young bits of the others cleared, from a clock hand
 * over every mm's page tables (src/sim/reclaim.c says what it models).
 * res counts both.  0 or -ENOMEM.  Context: no simulator lock held.
 */
int sim_reclaim(struct sim *sim, int memcg, uint64_t want, struct sim_shrink_result *res);
/* The pages sim_reclaim()'s swap-out freed since the simulator was made. */
uint64_t sim_reclaim_paged_out(struct sim *sim);
/*
 * What sim_shrink(sim, -1, res) would split and free now of the underused
 * folios, changing nothing (the partially mapped ones are not counted).
 */
int sim_shrink_preview(struct sim *sim, struct sim_shrink_result *res);
/*
 * Zero-filled pages the shrinker freed from underused folios since the
 * simulator was made, also in the runs a fault makes when memory is short
 * (its memory cgroup at its limit, or the machine's memory: it runs the
 * shrinker and retries once).
 */
uint64_t sim_shrink_freed(struct sim *sim);
/*
 * The partially mapped folios now (queued for the deferred split, never
 * split yet), and in *unmapped the pages of them no PTE maps: memory the
 * machine holds that no process maps.  Context: no simulator lock held;
 * meant for a quiet simulator (a run's end).
 */
uint64_t sim_partially_mapped(struct sim *sim, uint64_t *unmapped);

/* Clear the young bits of every PTE and PMD of the mm (aging). */
int sim_age(struct sim_mm *mm);
/*
 * Take or drop an extra reference on the folio at addr (a GUP pin,
 * FOLL_PIN): a page another process may map is unshared first (this
 * process gets its own copy, which is pinned), as Linux does.
 */
int sim_pin(struct sim_mm *mm, uint64_t addr);
int sim_unpin(struct sim_mm *mm, uint64_t addr);

/* What one address maps, for tests and tools. */
struct sim_page_info {
	char state;		/* snapshot alphabet: '.', '0', 'w', 'A', ... */
	bool huge;		/* PMD-mapped */
	bool writable, dirty, young;
	uint64_t pfn;		/* present pages */
	unsigned order;		/* folio order (present pages) */
	uint32_t refcount;	/* folio refcount */
	uint32_t mapcount;	/* this page's mapcount (PTE + PMD) */
	uint32_t folio_mapcount;
	uint64_t tag;		/* content (present or swapped) */
};
int sim_page_info(struct sim_mm *mm, uint64_t addr, struct sim_page_info *info);

/* VMAs, for tests: the n-th VMA, -ENOENT past the last. */
struct sim_vma_info {
	uint64_t start, end;
	unsigned prot;
	uint32_t flags;		/* enum mthp_vma_flag */
};
int sim_vma_info(struct sim_mm *mm, size_t n, struct sim_vma_info *info);
size_t sim_nr_vmas(struct sim_mm *mm);

/*
 * A lookup by name whose result must be checked: an unknown (misspelled)
 * name is an error the caller cannot ignore (-Werror), never a silent 0.
 */
#define SIM_MUST_CHECK __attribute__((warn_unused_result))

/*
 * Statistics by their kernel names.  vmstat: "thp_fault_alloc", ...
 * Per size (order 0..PMD): "anon_fault_alloc", "anon_fault_fallback",
 * "anon_fault_fallback_charge", "nr_anon", "swpout", "swpin", "split", ...
 * 0 with the counter in *value, or -EINVAL (and *value untouched) for an
 * unknown name or an order above the PMD order.
 */
SIM_MUST_CHECK int sim_vmstat(struct sim *sim, const char *name, uint64_t *value);
SIM_MUST_CHECK int sim_mthp_stat(struct sim *sim, unsigned order, const char *name,
				 uint64_t *value);

/* Where Linux shows a counter. */
enum sim_stat_file {
	SIM_STAT_VMSTAT,	/* a line of /proc/vmstat */
	SIM_STAT_KHUGEPAGED,	/* a file of transparent_hugepage/khugepaged/ */
	SIM_STAT_SIZE,		/* a file of transparent_hugepage/hugepages-<size>kB/stats/ */
};

/* One counter under its kernel name. */
struct sim_stat {
	enum sim_stat_file file;
	unsigned order;		/* SIM_STAT_SIZE: the size's order; else 0 */
	const char *name;	/* "thp_collapse_alloc", ...: static storage */
	uint64_t value;
};

/*
 * The counters the simulator keeps where Linux 7.2 bumps them, in a fixed
 * order: /proc/vmstat (pswpin, pswpout and the thp_* lines it models),
 * khugepaged/ (pages_collapsed, full_scans; not its knobs), then per size
 * from the smallest mTHP order to the PMD order the stats/ files it
 * models.  Writes the first room of them to out (may be NULL with room 0)
 * and returns how many there are.
 */
size_t sim_stats(struct sim *sim, struct sim_stat *out, size_t room);
/* "vmstat", "khugepaged" or "hugepages-64kB": the counter's group. */
void sim_stat_group(const struct mthp_geometry *geo, const struct sim_stat *st,
		    char *buf, size_t len);
/*
 * Where Linux shows it: "/proc/vmstat" (a line of that file),
 * "/sys/kernel/mm/transparent_hugepage/khugepaged" or
 * "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/stats" (a file of
 * that directory).
 */
void sim_stat_where(const struct mthp_geometry *geo, const struct sim_stat *st,
		    char *buf, size_t len);
/* The sysfs-like dump of sim_stats(): "/proc/vmstat/thp_fault_alloc 3" and
 * "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/stats/swpout 1". */
int sim_stats_dump(struct sim *sim, FILE *f);

/*
 * Walk every page table, folio count and map count, cgroup charge, swap
 * slot and buddy free list; 0, or -EUCLEAN with the first inconsistency in
 * sim_check_message().  Takes the world lock: no operation runs meanwhile.
 */
int sim_check(struct sim *sim);
const char *sim_check_message(struct sim *sim);
/*
 * What the calling thread was doing in the simulator, for a crash report:
 * the step of a collapse, the mm, the address and the order, written to
 * buf ("collapse_huge_page: ISOLATE, mm 1 at 0x100200000, order 4"), or
 * NULL when it is in no step the simulator notes.  Not async-signal-safe
 * in theory (snprintf), but takes no lock, so a crash handler may call it.
 */
const char *sim_thread_doing(char *buf, size_t len);

/*
 * The mm as a snapshot (format 2) with the settings in force: every PMD
 * range over each VMA, one with no page table as `pmd ADDR none`, as
 * khugepaged meets them.
 */
int sim_mm_snapshot(struct sim_mm *mm, struct mthp_snapshot *snap);
/*
 * The same with only the ranges that have a page table or a huge PMD, as
 * `mthp snapshot --pid` writes a process: what a VMA of terabytes that
 * maps a few pages costs to write.
 */
int sim_mm_snapshot_populated(struct sim_mm *mm, struct mthp_snapshot *snap);

/* Debug builds: run sim_check() after every nth mapping change (default 1). */
void sim_set_check_interval(struct sim *sim, uint32_t n);

/*
 * khugepaged and MADV_COLLAPSE.
 *
 * khugepaged scans the mms that have an mm slot (given by MADV_HUGEPAGE,
 * by a fault in a VMA with an allowed THP order, by fork from an mm that
 * has one, or by sim_khugepaged_enter()), PMD range by PMD range from a
 * cursor, pages_to_scan per wake-up, plans each range with the engine and
 * collapses the windows the policy's walk chooses.  The policy is the
 * caller's choice (default upstream).
 *
 * Deterministic mode: the caller calls sim_khugepaged_wake() (one
 * wake-up, then scan_sleep_millisecs on the simulated clock) or
 * sim_khugepaged_pass() from one thread; with the same seed the same
 * calls give the same bytes of trace.  Concurrent mode:
 * sim_khugepaged_start() runs wake-ups in a thread of its own until
 * sim_khugepaged_stop().
 */
int sim_khugepaged_set_policy(struct sim *sim, enum mthp_policy policy);
enum mthp_policy sim_khugepaged_policy(struct sim *sim);
/*
 * A policy plug-in (mthp/policy_plugin.h) for this simulator: its window
 * hook in khugepaged's and MADV_COLLAPSE's walks, over the policy set
 * above as its fallback, and its fault hook at every anonymous fault;
 * NULL (the default): none.  Set it before threads run.
 */
void sim_set_policy_plugin(struct sim *sim, const struct mthp_policy_plugin *p);
/* Give the mm an mm slot now. */
void sim_khugepaged_enter(struct sim_mm *mm);
/* One wake-up: scan up to pages_to_scan; the progress made is in *progress. */
int sim_khugepaged_wake(struct sim *sim, uint64_t *progress);
/*
 * Wake up until full_scans has gone up by one (a whole pass over every mm
 * slot; the last wake-up ends there) or max_wakeups have run (0: no
 * limit); *collapsed (may be NULL) gets the windows collapsed meanwhile.
 */
int sim_khugepaged_pass(struct sim *sim, uint32_t max_wakeups, uint64_t *collapsed);
/* khugepaged in its own thread (real sleeps of scan_sleep_millisecs). */
int sim_khugepaged_start(struct sim *sim);
void sim_khugepaged_stop(struct sim *sim);
/*
 * "pages_collapsed" or "full_scans" (khugepaged/ in sysfs), or
 * "ptes_scanned" (the PTEs of every table khugepaged scanned): 0 with the
 * counter in *value, or -EINVAL (*value untouched) for an unknown name.
 */
SIM_MUST_CHECK int sim_khugepaged_stat(struct sim *sim, const char *name,
				       uint64_t *value);
/* How many PMD ranges khugepaged's scan ended with each result. */
void sim_khugepaged_scan_results(struct sim *sim, uint64_t out[MTHP_NR_RESULTS]);

/*
 * rmap walkers: reclaim's aging walk (folio_referenced), one walk in 8
 * its unmap (try_to_unmap, the folio then swapped out) and one in 8
 * compaction's migration (the folio isolated from the LRU and locked,
 * then try_to_migrate's walk; put back, not moved), in a thread of its
 * own, racing with the faults, zaps and collapses of every mm.  A walk
 * takes a folio it found mapped (under mmap_lock for read, standing in
 * for reclaim's LRU) with a reference, drops mmap_lock, then under the
 * folio's anon_vma lock for read walks the page tables to each of its
 * mappings, clears their young bits, and checks that what it found
 * agrees with the folio's map and reference counts.  The first
 * disagreement is kept, naming the folio, the address and what broke:
 * sim_rmap_failure() returns it and sim_check() fails with it.
 * Start and stop from one thread; sim_destroy() stops a walker left on.
 */
int sim_rmap_walker_start(struct sim *sim);
void sim_rmap_walker_stop(struct sim *sim);
/* The first failed rmap check, or NULL. */
const char *sim_rmap_failure(struct sim *sim);
struct sim_rmap_stats {
	uint64_t walks;		/* folios taken for a walk */
	uint64_t contended;	/* anon_vma trylock failed: walk given up */
	uint64_t stale;		/* a VMA of the anon_vma unlinked meanwhile */
	uint64_t checked;	/* walks that got the lock and walked */
	uint64_t compared;	/* ... of which every mapping of the folio was
				 * in the table walked: counts compared */
	uint64_t young;		/* young bits the walks cleared */
	uint64_t unmapped;	/* folios reclaim's unmap walks swapped out */
	uint64_t migrate_taken;	/* folios compaction's migration took */
	uint64_t migrate_walked;	/* ... of which it isolated from the LRU and
				 * locked, then walked (counted in walks) */
};
void sim_rmap_stats(struct sim *sim, struct sim_rmap_stats *out);

/*
 * The GUP-fast walker: get_user_pages_fast() of a random page of mm at a
 * time, in a thread of its own, with no lock: the PMD and the PTE read
 * with interrupts off, a reference grabbed, both read again and the
 * reference dropped when either changed, as the kernel's lockless walk.
 * A collapse's TLB flush (by IPI) or tlb_remove_table_sync_one() waits
 * out its walks, by the machine's kind (sim_tlb_set_broadcast()); a
 * collapse that deposits a table a walk still reads, or replaces a folio
 * a walk holds pinned, stops the program with sim: BUG: naming it.
 * stream varies its random addresses between starts.  One walker in the
 * program at a time (-EBUSY); stop adds its counts to *add (when not
 * NULL).  mm must not exit while it runs.
 */
struct sim_gup_fast_stats {
	uint64_t walks;		/* walks started */
	uint64_t pinned;	/* pins that passed their re-check */
	uint64_t backed_off;	/* the PMD or PTE changed under the grab */
	uint64_t nothing;	/* nothing mapped to pin */
};
int sim_gup_fast_walker_start(struct sim *sim, struct sim_mm *mm, uint64_t stream);
void sim_gup_fast_walker_stop(struct sim *sim, struct sim_gup_fast_stats *add);
/*
 * The simulated machine's TLB flush: false (the default), by IPI, page
 * tables freed after it; true, broadcast by the hardware with no IPI,
 * page tables freed through RCU, so that tlb_remove_table_sync_one() is
 * the IPI.  For the whole program.
 */
void sim_tlb_set_broadcast(bool broadcast);

/*
 * What came of the walk of the ranges whose scan succeeded: some window
 * collapsed; windows were attempted and every attempt failed; or no
 * window passed its count or density test, so none was attempted.
 */
enum sim_walk_outcome {
	SIM_WALK_COLLAPSED,
	SIM_WALK_ALL_FAILED,
	SIM_WALK_NONE_PASSED,
};
#define SIM_NR_WALK_OUTCOMES 3
void sim_khugepaged_walk_outcomes(struct sim *sim, uint64_t out[SIM_NR_WALK_OUTCOMES]);

/*
 * MADV_COLLAPSE of [addr, addr + len): synchronous, PMD order only, no
 * max_ptes_* limits.  Each VMA the range overlaps is handled on its own,
 * its part clamped inward to whole PMD ranges, in address order: a VMA
 * succeeds when every PMD range of its part is PMD-mapped after the call
 * (already PMD-mapped ranges count); else its errno ends the call:
 * -ENOMEM (allocation), -EBUSY (charge, or a none PTE in a userfaultfd
 * VMA), -EAGAIN (a transient page state), -EINVAL (anything else, an
 * ineligible VMA, or a part within one VMA whose clamped bounds cross).
 * A hole is -ENOMEM: one before or between VMAs when all of them
 * succeeded, one at the end of the range at once (after the VMAs before).
 */
int sim_madvise_collapse(struct sim_mm *mm, uint64_t addr, uint64_t len);

/* One window attempted by khugepaged or MADV_COLLAPSE. */
struct sim_collapse_event {
	uint32_t mm_id;
	uint64_t pmd_addr;
	uint64_t addr;			/* start of the window */
	unsigned order;
	enum mthp_result result;	/* SCAN_SUCCEED: collapsed */
	enum mthp_context context;
	uint32_t filled;		/* collapsed: none/zero PTEs zero-filled */
	const uint64_t *filled_map;	/* collapsed: bit k set for page k of the
					 * window zero-filled; else NULL */
	uint32_t lru_batched;		/* folios left in the collapsing thread's LRU
					 * add batch after the attempt */
};
/*
 * Called after every attempt, from the collapsing thread, with no
 * simulator lock held (it may call sim_page_info(), not sim_khugepaged_*).
 */
typedef void (*sim_collapse_fn)(void *ctx, const struct sim_collapse_event *ev);
void sim_set_collapse_observer(struct sim *sim, sim_collapse_fn fn, void *ctx);

/*
 * Tracepoint lines to f, or off when f is NULL: the huge_memory events of
 * Linux 7.2 that anonymous memory fires, with their fields in its order,
 * in the line format of an ftrace text trace:
 *
 *       khugepaged-42      [000] .....     1.200000: mm_collapse_huge_page: mm=...
 *
 * The task is khugepaged (pid SIM_TRACE_KHUGEPAGED_PID) or, under
 * MADV_COLLAPSE, the process ("mthp-mm<ID>", pid SIM_TRACE_PID_BASE + ID);
 * CPU 0; the time stamp is the simulated clock; "mm=" is a stable stand-in
 * for the kernel's pointer.
 */
void sim_set_trace(struct sim *sim, FILE *f);

#define SIM_TRACE_KHUGEPAGED_PID 42
#define SIM_TRACE_PID_BASE 1000

/* The events sim_set_trace() writes: X(event, its tracepoint's name). */
#define SIM_TRACE_EVENTS(X) \
	X(SIM_TRACE_SCAN_PMD, "mm_khugepaged_scan_pmd") \
	X(SIM_TRACE_COLLAPSE, "mm_collapse_huge_page") \
	X(SIM_TRACE_ISOLATE, "mm_collapse_huge_page_isolate") \
	X(SIM_TRACE_SWAPIN, "mm_collapse_huge_page_swapin") \
	X(SIM_TRACE_SCAN_MM, "mm_khugepaged_scan")
#define SIM_TRACE_EVENT_VALUE(event, name) event,
enum sim_trace_event {
	SIM_TRACE_EVENTS(SIM_TRACE_EVENT_VALUE)
};
#define SIM_NR_TRACE_EVENTS (SIM_TRACE_SCAN_MM + 1)
#define SIM_TRACE_ALL ((1u << SIM_NR_TRACE_EVENTS) - 1)

/* "mm_khugepaged_scan_pmd", ...; the tracefs system is "huge_memory". */
const char *sim_trace_event_name(enum sim_trace_event e);
/*
 * A comma list of events as tracefs's set_event takes them: EVENT,
 * SYSTEM:EVENT, SYSTEM (all of its events), with * for a whole part
 * ("huge_memory:*", "*:mm_collapse_huge_page").  0 with the events' bits
 * (1 << enum sim_trace_event) in *mask, or -EINVAL with why naming the
 * item that is wrong: empty, an unknown event or system, or an event of
 * Linux that the simulator does not fire.
 */
int sim_trace_events_parse(const char *list, uint32_t *mask, char *why, size_t len);
/* Which events to write (bits as above; SIM_TRACE_ALL at creation). */
void sim_set_trace_events(struct sim *sim, uint32_t mask);

/*
 * Fault injection: a seeded switch that makes chosen steps of a collapse
 * (khugepaged and MADV_COLLAPSE alike) fail, so that every failure path
 * runs.  Each point fires on one draw in one_in (1: every time, 0: off);
 * the draws come from their own seeded sequence, so sim_random() and the
 * trace of a run without injection are unchanged.
 */
enum sim_inject_point {
	SIM_INJECT_ALLOC,	/* the new folio's allocation: ALLOC_HUGE_PAGE_FAIL */
	SIM_INJECT_CHARGE,	/* its memcg charge: CGROUP_CHARGE_FAIL */
	SIM_INJECT_REVALIDATE,	/* revalidation after the lock was dropped: VMA_CHECK */
	SIM_INJECT_LRU,		/* LRU isolation of a folio: DEL_PAGE_LRU */
	SIM_INJECT_MUNMAP,	/* the PMD range unmapped between scan and collapse */
	SIM_INJECT_MREMAP,	/* ... moved away and back */
	SIM_INJECT_FORK,	/* ... the mm forked (the child exits after the attempt) */
	SIM_INJECT_COPY_MC,	/* a machine check while copying: COPY_MC */
	SIM_INJECT_RMAP,	/* an rmap walk of each folio mapped beside the
				 * window, between ISOLATE and COPY */
	SIM_INJECT_SWAPIN,	/* a swap-in's folio locked (its read in flight):
				 * do_swap_page drops mmap_lock to wait for it,
				 * VM_FAULT_RETRY, and the collapse gives up:
				 * PAGE_LOCK */
	SIM_INJECT_MIGRATE,	/* after a failed copy released its folios:
				 * compaction's migration walk of the first few */
	SIM_NR_INJECT
};
/* "alloc", "charge", ...; NULL outside the enum. */
const char *sim_inject_name(enum sim_inject_point p);
/* Fire point p on one draw in one_in (0: never); -EINVAL for a bad point. */
int sim_inject_set(struct sim *sim, enum sim_inject_point p, uint32_t one_in);
/* Restart the draws from seed (default: the sim's seed). */
void sim_inject_seed(struct sim *sim, uint64_t seed);
/* How often p has fired. */
uint64_t sim_inject_fired(struct sim *sim, enum sim_inject_point p);
/*
 * The concurrent mutations (MUNMAP, MREMAP, FORK) run from the collapsing
 * thread with no simulator lock held, at three points of each window's
 * collapse: after the scan dropped mmap_lock, before the allocation;
 * after the revalidation under the read lock dropped it, before the
 * collapse takes it for write; and while a swap-in (SWAPIN) has it
 * dropped to wait for its folio.  sim_inject_race() is the
 * default mutation of the PMD range at pmd_addr: munmap it; mremap it
 * elsewhere and back; fork the mm (the child in *child, exited by the
 * collapse after its attempt).  A race function replaces it (to keep a
 * model of the memory in step, say) and may call sim_inject_race().
 */
typedef int (*sim_race_fn)(void *ctx, struct sim_mm *mm, uint64_t pmd_addr,
			   enum sim_inject_point what, struct sim_mm **child);
int sim_inject_race(struct sim_mm *mm, uint64_t pmd_addr,
		    enum sim_inject_point what, struct sim_mm **child);
void sim_inject_set_race(struct sim *sim, sim_race_fn fn, void *ctx);

#endif /* MTHP_SIM_H */
