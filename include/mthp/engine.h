/* SPDX-License-Identifier: MIT */
/*
 * mthp/engine.h - the khugepaged (m)THP collapse decision engine.
 *
 * One PMD range at a time: precheck (VMA eligibility, range, PMD state),
 * scan of the PTEs into the occupancy bitmap, then the order walk of the
 * chosen policy, which hands out windows to attempt and is told how each
 * attempt went.  The plan (mthp_plan_range) drives the walk with the
 * engine's own prediction of each attempt; the simulator drives the same
 * walk with real collapses.  Nothing here allocates, recurses or locks;
 * every structure has a static bound.  Rules: docs/plan-contract.md.
 *
 * The scan classifies the PTEs with the widest vector unit the CPU has
 * (AVX-512, AVX2, SSE2 or none), chosen when the library is loaded; every
 * choice decides alike.
 */
#ifndef MTHP_ENGINE_H
#define MTHP_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <mthp/result.h>
#include <mthp/settings.h>

/* PTE states: the characters of the snapshot alphabet. */
enum mthp_pte_state {
	MTHP_PTE_NONE		= '.',	/* pte_none */
	MTHP_PTE_ZERO		= '0',	/* maps the shared zero page */
	MTHP_PTE_SWAP		= 'w',	/* swap entry */
	MTHP_PTE_UFFD_WP	= 'u',	/* uffd-wp bit or uffd-wp swap marker */
	MTHP_PTE_YOUNG		= 'A',	/* exclusive anon page, young */
	MTHP_PTE_OLD		= 'a',	/* exclusive anon page, not young */
	MTHP_PTE_SHARED_YOUNG	= 'S',	/* anon page maybe mapped elsewhere, young */
	MTHP_PTE_SHARED_OLD	= 's',	/* the same, not young */
	MTHP_PTE_NOT_ANON	= 'f',	/* present page that is not anonymous */
	MTHP_PTE_SPECIAL	= 'n',	/* special mapping without a normal page */
	MTHP_PTE_LAZYFREE	= 'l',	/* clean MADV_FREE folio */
	MTHP_PTE_LOCKED		= 'K',	/* folio locked */
	MTHP_PTE_PINNED		= 'P',	/* extra reference */
	MTHP_PTE_NOT_LRU	= 'N',	/* folio not on an LRU list */
};

/* True for a character of the alphabet above. */
bool mthp_pte_state_valid(int c);
/*
 * True when the state maps a normal page, so a folio order applies (none,
 * zero page, swap, uffd-wp, taken as a marker, and special do not).
 * Inline: the snapshot builder and the simulator ask it of every PTE.
 */
static inline bool mthp_pte_state_has_folio(int c)
{
	switch (c) {
	case MTHP_PTE_YOUNG: case MTHP_PTE_OLD: case MTHP_PTE_SHARED_YOUNG:
	case MTHP_PTE_SHARED_OLD: case MTHP_PTE_NOT_ANON: case MTHP_PTE_LAZYFREE:
	case MTHP_PTE_LOCKED: case MTHP_PTE_PINNED: case MTHP_PTE_NOT_LRU:
		return true;
	}
	return false;
}
/* The index of the first of ptes[0, n) not in the alphabet, or n. */
uint32_t mthp_pte_states_check(const uint8_t *ptes, uint32_t n);

/* Folio order of a PTE that maps no normal page. */
#define MTHP_NO_FOLIO 0xff

/* VMA flags of the snapshot format. */
enum mthp_vma_flag {
	MTHP_VMA_ANON		= 1u << 0,
	MTHP_VMA_HUGEPAGE	= 1u << 1,	/* VM_HUGEPAGE */
	MTHP_VMA_NOHUGEPAGE	= 1u << 2,	/* VM_NOHUGEPAGE */
	MTHP_VMA_UFFD		= 1u << 3,	/* userfaultfd armed */
	MTHP_VMA_NOANONVMA	= 1u << 4,	/* no anon_vma yet */
	MTHP_VMA_FILE		= 1u << 5,
	MTHP_VMA_SHARED		= 1u << 6,
};

struct mthp_policy_plugin;

enum mthp_policy {
	MTHP_POLICY_LEGACY,	/* mainline before 7.2: PMD only */
	MTHP_POLICY_SEED,	/* v10 of the mTHP series (patches 01-06) */
	MTHP_POLICY_UPSTREAM,	/* Linux 7.2 */
	MTHP_POLICY_GUARDED,	/* every max_ptes_none, scaled, without creep
				 * (docs/guarded-policy.md) */
};
#define MTHP_NR_POLICIES 4

enum mthp_context {
	MTHP_CONTEXT_KHUGEPAGED,
	MTHP_CONTEXT_MADVISE,	/* MADV_COLLAPSE */
};

const char *mthp_policy_name(enum mthp_policy p);
int mthp_policy_parse(const char *name, enum mthp_policy *p);
const char *mthp_context_name(enum mthp_context c);
int mthp_context_parse(const char *name, enum mthp_context *c);

/*
 * Orders (bit o set for order o, 2 <= o <= PMD) the sysfs settings allow
 * for a VMA with these flags: always; madvise with hugepage; inherit under
 * a global always, or a global madvise with hugepage.  None for
 * nohugepage, noanonvma or a VMA that is not anon.
 */
uint32_t mthp_vma_allowed_orders(const struct mthp_settings *s, uint32_t vma_flags);

/*
 * What an attempt at one order may accept: none/zero and shared PTEs (a
 * limit of N means no limit), whether a swap PTE vetoes the window below
 * PMD order, whether a folio of the target order or larger does, and
 * whether the window needs a young PTE.  Also the none PTEs the walk's
 * count test lets a window of the order hold before it is attempted
 * (upstream and guarded; uffd does not lower it): test_none, and
 * upstream_none, 7.2's, which guarded takes within the PMD's reach.
 */
struct mthp_window_limits {
	uint32_t max_none;
	uint32_t max_shared;
	uint32_t test_none;
	uint32_t upstream_none;
	bool swap_veto;
	bool folio_veto;
	bool need_young;
};

/* Everything the engine decides from for the ranges of one VMA. */
struct mthp_rules {
	const struct mthp_settings *settings;
	enum mthp_policy policy;
	enum mthp_context context;
	uint32_t vma_flags;
	uint32_t nr_ptes;	/* N */
	uint32_t pmd_order;	/* log2(N) */
	uint32_t orders;	/* orders the walk may collapse to */
	bool eligible;		/* false: SCAN_VMA_CHECK */
	bool pmd_only;		/* orders == {PMD} */
	bool uffd;		/* the VMA is userfaultfd armed */
	uint32_t scan_max_none;	/* scan limits; N means no limit */
	uint32_t scan_max_swap;
	uint32_t scan_max_shared;
	/* the limits of an attempt at each order, worked out once */
	struct mthp_window_limits limits[MTHP_MAX_PMD_ORDER + 1];
	/* a user's policy deciding the walk's windows; NULL: none */
	const struct mthp_policy_plugin *plugin;
	/*
	 * The plan's walk a word of PTEs at a time (engine/bulk.c), worked
	 * out once: whether it applies (a scan that met no failing PTE
	 * aside), the allowed orders of 2..6 highest first, and the walk's
	 * order of the windows inside a word.
	 */
	struct mthp_bulk_rules {
		bool applies;
		bool pmd_never;			/* seed: the PMD window never passes its test */
		bool chunks;			/* seed: a word's orders need its chunks */
		uint8_t nr_word;		/* those of orders 2..6 */
		uint8_t lowest;			/* the lowest of them all, at most 6 */
		uint8_t word[5];
		uint32_t exempt;		/* seed: orders exempt from the density test */
		uint32_t chunk_none;		/* seed: none PTEs a set 4-PTE chunk may hold */
		uint32_t threshold[MTHP_MAX_PMD_ORDER + 1];	/* seed: T(o) */
		/*
		 * Slot k of a word: the window at PTE slot_pos[k], of order
		 * word[slot_level[k]]; the slots of the windows inside it
		 * (slot_inside[k]) come right after it.
		 */
		uint8_t nr_slots;
		uint8_t slot_pos[64];
		uint8_t slot_level[32];
		uint32_t slot_inside[32];
		uint32_t slot_rec[32];		/* offset | order << 16, a struct mthp_window */
		uint32_t slot_mask[5];		/* the slots of each order of word[] */
	} bulk;
};

/*
 * Make every mthp_rules_init() from now on consult this plug-in's hooks
 * (include/mthp/policy_plugin.h); NULL stops it.  Set it before any thread
 * uses the engine: it is read, never written, while they run.
 */
void mthp_policy_plugin_use(const struct mthp_policy_plugin *p);
/*
 * The orders a fault may try of allowed (mthp_vma_allowed_orders()'s) in
 * a VMA of vma_flags: allowed itself, or what plug-in p (NULL: none)
 * chooses with its fault_orders hook.  Orders it gives outside allowed
 * are dropped, and the first such answer of any plug-in is kept for
 * mthp_policy_plugin_violation().  Thread-safe.
 */
uint32_t mthp_fault_orders(const struct mthp_policy_plugin *p, const struct mthp_settings *s,
			   uint32_t vma_flags, uint32_t allowed);
/*
 * Whether a plug-in has answered outside the rules since the last
 * mthp_policy_plugin_use(); when one has, what it did, in words, into msg.
 */
bool mthp_policy_plugin_violation(char *msg, size_t len);

void mthp_rules_init(struct mthp_rules *r, const struct mthp_settings *s,
		     enum mthp_policy policy, enum mthp_context context,
		     uint32_t vma_flags);

/* What a PMD entry holds. */
enum mthp_pmd_kind {
	MTHP_PMD_NONE,		/* no page table */
	MTHP_PMD_HUGE,		/* mapped by a PMD-sized folio */
	MTHP_PMD_TABLE,		/* a page table of N PTEs */
	MTHP_PMD_ZERO,		/* the PMD maps the huge zero page */
};

/* One PMD range as the engine sees it. */
struct mthp_range {
	uint64_t pmd_addr;
	uint64_t vma_start;		/* the VMA the range belongs to */
	uint64_t vma_end;		/* exclusive */
	enum mthp_pmd_kind kind;
	const uint8_t *ptes;		/* N states (kind TABLE) */
	const uint8_t *folio_orders;	/* N orders or MTHP_NO_FOLIO; NULL: order 0 */
	/*
	 * guarded: N flags, non-zero where the PTE's folio may hold pages a
	 * collapse zero-filled (a folio flag docs/guarded-policy.md asks the
	 * kernel for); NULL: any large folio may (a snapshot, a live process)
	 */
	const uint8_t *folio_fills;
	/*
	 * Folios already in the per-CPU LRU add batch when the range is
	 * planned (docs/plan-contract.md): 0 after a drain; the count a
	 * range before it in the same pass left (mthp_pmd_plan.lru_batch_end).
	 */
	uint32_t lru_batch;
};

/*
 * The checks made before any scan, in the contract's order: SCAN_VMA_CHECK,
 * SCAN_ADDRESS_RANGE, SCAN_NO_PTE_TABLE, SCAN_PMD_MAPPED; else SCAN_SUCCEED.
 */
enum mthp_result mthp_precheck(const struct mthp_rules *r,
			       const struct mthp_range *range);

#define MTHP_BITMAP_WORDS (MTHP_MAX_PTES / 64)

/* The scan of one page table: results, counters and per-PTE bitmaps. */
struct mthp_scan {
	enum mthp_result result;	/* SCAN_SUCCEED or the first failure */
	uint32_t nr_ptes;
	uint32_t fail_index;		/* PTE that ended the scan; nr_ptes if none */
	/* counted as the kernel does: up to and including fail_index */
	uint32_t none_or_zero;
	uint32_t unmapped;
	uint32_t shared;
	uint32_t referenced;
	/* totals over the whole table, whatever the result */
	uint32_t nr_none;
	uint32_t nr_swap;
	uint32_t nr_shared;
	uint32_t nr_bad;
	uint32_t nr_young;
	bool has_large;			/* large[] is filled and not all zero */
	uint64_t occupied[MTHP_BITMAP_WORDS];	/* the occupancy bitmap */
	uint64_t none[MTHP_BITMAP_WORDS];	/* '.' '0' */
	uint64_t swap[MTHP_BITMAP_WORDS];	/* 'w' */
	uint64_t shared_pte[MTHP_BITMAP_WORDS];	/* 'S' 's' */
	uint64_t young[MTHP_BITMAP_WORDS];	/* 'A' 'S' */
	uint64_t large[MTHP_BITMAP_WORDS];	/* pages of folios of order >= 2,
						 * when has_large */
	uint64_t bad[MTHP_BITMAP_WORDS];	/* PTEs that fail any collapse */
	const uint8_t *ptes;
	const uint8_t *folio_orders;
	/* as mthp_range's: NULL after mthp_scan(), the caller may set it */
	const uint8_t *folio_fills;
};

/*
 * The progress khugepaged counts for a scanned range (Linux 7.2): the PTEs
 * the scan looked at, up to and including the one that ended it.
 */
static inline uint32_t mthp_scan_progress(const struct mthp_scan *s)
{
	return s->fail_index < s->nr_ptes ? s->fail_index + 1 : s->nr_ptes;
}

/* Scan a page table of r->nr_ptes PTEs. */
void mthp_scan(struct mthp_scan *s, const struct mthp_rules *r,
	       const uint8_t *ptes, const uint8_t *folio_orders);

/* A collapse window: PTE offset in its range, order, outcome. */
struct mthp_window {
	uint16_t offset;
	uint8_t order;
	uint8_t result;		/* enum mthp_result */
};

/*
 * The attempt functions below decide from the window's PTEs of s alone:
 * on a scan of the same table with every other PTE none they decide the
 * same (tests/test_engine_props.c checks it).
 *
 * The swap-in step of attempting (off, order): below PMD order any swap
 * PTE in the window gives SCAN_EXCEED_SWAP_PTE (seed and upstream).
 */
enum mthp_result mthp_attempt_swapin(const struct mthp_rules *r,
				     const struct mthp_scan *s,
				     uint32_t off, unsigned order);

/*
 * The isolate step: the window's PTEs in address order against the
 * per-order limits, then the referenced rule.  swapped_in: the swap PTEs
 * of the window have been swapped in (plan: they count as present order-0
 * pages); otherwise a swap PTE gives SCAN_PTE_NON_PRESENT.
 */
enum mthp_result mthp_attempt_isolate(const struct mthp_rules *r,
				      const struct mthp_scan *s,
				      uint32_t off, unsigned order,
				      bool swapped_in);

/*
 * As mthp_attempt_isolate(), and *stop gets the PTE the kernel's walk of
 * the window stops at: the one that broke a rule, or off + 2^order when
 * none did (also for SCAN_LACK_REFERENCED_PAGE, decided after the walk).
 */
enum mthp_result mthp_attempt_isolate_at(const struct mthp_rules *r,
					 const struct mthp_scan *s,
					 uint32_t off, unsigned order,
					 bool swapped_in, uint32_t *stop);

/*
 * The PTE rules of a whole attempt: swap-in, then isolate (the per-CPU
 * LRU add batch aside: the plan adds it, engine/plan.c).  *stop as for
 * mthp_attempt_isolate_at(); off when the swap-in step failed.
 */
enum mthp_result mthp_attempt_at(const struct mthp_rules *r,
				 const struct mthp_scan *s,
				 uint32_t off, unsigned order, uint32_t *stop);

/* mthp_attempt_at() without the stop. */
enum mthp_result mthp_attempt(const struct mthp_rules *r,
			      const struct mthp_scan *s,
			      uint32_t off, unsigned order);

/*
 * The order walk of a policy over a scanned range.  mthp_walk_next() hands
 * out the next window that passes the count (upstream) or density (seed)
 * test; the caller attempts it and tells mthp_walk_report() the result.
 */
/*
 * What the walk did with a window it did not hand out, for an observer
 * (mthp_walk_observe; `mthp plan --explain`): the order is not allowed;
 * the count (upstream: occupied PTEs, swap entries too at PMD order) or
 * density (seed: set 4-PTE chunks) test failed, with what the window had
 * and the least that passes; or every window of this order and below in
 * [offset, end) was passed over at once, since none of them can pass.
 */
enum mthp_visit_kind {
	MTHP_VISIT_NOT_ALLOWED,
	MTHP_VISIT_TEST_FAILED,
	MTHP_VISIT_PASSED_OVER,
};

struct mthp_visit {
	enum mthp_visit_kind kind;
	uint32_t offset;
	unsigned order;
	uint32_t end;		/* PASSED_OVER: exclusive */
	uint32_t have, need;	/* TEST_FAILED */
};

typedef void (*mthp_visit_fn)(void *ctx, const struct mthp_visit *v);

struct mthp_walk {
	const struct mthp_rules *rules;
	const struct mthp_scan *scan;
	uint32_t off;		/* the cursor: the window handed out or next visited */
	uint32_t order;
	bool pending;		/* a window was handed out, no report yet */
	uint8_t rule;		/* upstream (guarded at 0): the count test below PMD order */
	uint32_t exempt;	/* seed: allowed orders exempt from the density test */
	bool chunks_ready;	/* seed: chunks[] is filled */
	mthp_visit_fn visit;	/* NULL unless observed */
	void *visit_ctx;
	/*
	 * Apart from pending: mthp_walk_next() tests both at once, and one
	 * load of two separately stored bytes stalls store forwarding.
	 */
	bool done;
	union {
		/* seed: one bit per 4-PTE chunk */
		uint64_t chunks[MTHP_MAX_PTES / 4 / 64];
		/* upstream and guarded, max_none 0 below PMD: the fully occupied blocks of
		 * the lowest allowed order, one bit at the first PTE of each */
		uint64_t full[MTHP_BITMAP_WORDS];
	};
};

void mthp_walk_init(struct mthp_walk *w, const struct mthp_rules *r,
		    const struct mthp_scan *s);
/* After init: tell fn of every window the walk does not hand out. */
void mthp_walk_observe(struct mthp_walk *w, mthp_visit_fn fn, void *ctx);
bool mthp_walk_next(struct mthp_walk *w, struct mthp_window *win);
void mthp_walk_report(struct mthp_walk *w, enum mthp_result r);

/* What the upstream walk does after an attempt with this result (result.h). */
enum mthp_walk_action mthp_walk_action(enum mthp_result r);

#define MTHP_MAX_COLLAPSES (MTHP_MAX_PTES >> MTHP_MIN_ORDER)
#define MTHP_MAX_ATTEMPTS (MTHP_MAX_PTES >> (MTHP_MIN_ORDER - 1))

/* The plan of one PMD range. */
struct mthp_pmd_plan {
	uint64_t pmd_addr;
	enum mthp_result scan;		/* precheck or scan-phase result */
	/*
	 * khugepaged's progress for the range (Linux 7.2): 1 when the
	 * precheck ends it (no page table, a PMD mapping, an ineligible VMA),
	 * else mthp_scan_progress()
	 */
	uint32_t progress;
	uint32_t pages_filled;		/* none/zero PTEs inside collapses */
	/*
	 * 1 when the PMD-order collapse makes a THP the underused-THP shrinker
	 * splits again under memory pressure (mthp_underused())
	 */
	uint32_t underused;
	/* folios in the LRU add batch before the range (its lru_batch), after it */
	uint32_t lru_batch_start, lru_batch_end;
	uint32_t nr_collapses;
	uint32_t nr_attempts;
	struct mthp_window collapses[MTHP_MAX_COLLAPSES];	/* walk order */
	struct mthp_window attempts[MTHP_MAX_ATTEMPTS];		/* failed ones */
};

/*
 * Would the underused-THP shrinker (Linux 6.12+) split a PMD-sized folio
 * with zero_filled zero-filled pages under these settings: it is queued
 * (shrink_underused 1) and has more than max_ptes_none of them (never at
 * N-1).  A collapse's pages from none and zero-page PTEs are zero-filled.
 */
bool mthp_underused(const struct mthp_settings *s, uint32_t zero_filled);

/* Workspace of mthp_plan_range(); large, so the caller owns it. */
struct mthp_planner {
	struct mthp_scan scan;
	struct mthp_walk walk;
};

/*
 * The walk of a scanned range, each attempt's outcome from the swap-in and
 * isolate steps and the LRU add batch (docs/plan-contract.md): fills the
 * collapses, attempts, pages_filled and lru_batch_end of out, starting
 * from the batch count the caller put in out->lru_batch_start.
 */
void mthp_plan_walk(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		    const struct mthp_scan *scan, struct mthp_walk *walk);

/* Plan one range: precheck, scan, then mthp_plan_walk(). */
void mthp_plan_range(struct mthp_pmd_plan *out, const struct mthp_rules *r,
		     const struct mthp_range *range, struct mthp_planner *work);
/* The same, telling fn (when not NULL) of every window not handed out. */
void mthp_plan_range_observed(struct mthp_pmd_plan *out, const struct mthp_rules *r,
			      const struct mthp_range *range, struct mthp_planner *work,
			      mthp_visit_fn fn, void *ctx);

/*
 * The vector unit the scan classifies PTEs with, chosen when the library is
 * loaded: "avx512", "avx2", "sse2" or "portable".
 */
const char *mthp_engine_impl_name(void);

/* Number of set bits of a bitmap in [off, off + len). */
uint32_t mthp_bitmap_count(const uint64_t *map, uint32_t off, uint32_t len);

#endif /* MTHP_ENGINE_H */
