// SPDX-License-Identifier: MIT
/*
 * snapshot.c - a live process's anonymous page tables as a snapshot
 * (format 2): one vma line per anon VMA, one pmd line per populated PMD
 * range (also one a VMA covers in part, once when two VMAs share it),
 * PTE states and folio orders from pagemap and kpageflags, and the
 * host's THP settings as setting lines.
 *
 * How a PTE is classified (first match):
 *   not present, no swap entry          '.'
 *   swap entry with the uffd-wp marker  'u'     other swap entries   'w'
 *   present with the uffd-wp bit        'u'
 *   KPF_ZERO_PAGE                       '0'     KPF_NOPAGE           'n'
 *   not KPF_ANON                        'f'     KPF_LOCKED           'K'
 *   !KPF_SWAPBACKED and !KPF_DIRTY      'l' (clean MADV_FREE folio)
 *   otherwise anon: 'S' when pagemap does not say "mapped exclusively"
 *   (a small folio mapped more than once, the same as kpagecount > 1, or
 *   a large folio of which some part may be mapped elsewhere); else 'A'.
 *
 * Young or old: pagemap has no young bit, and KPF_IDLE is the raw PG_idle
 * flag, not refreshed from the PTE young bits unless someone reads
 * /sys/kernel/mm/page_idle/bitmap (pages written a moment ago show it on
 * this kind of host).  So every present anon page is written young ('A',
 * 'S'): khugepaged then needs only what it needs from memory the process
 * touched since its last scan, one referenced page (N/2 with swap PTEs),
 * and the plan predicts the kernel for recently used memory.  Old ('a',
 * 's') is never written; edit the file to ask "what if it were idle".
 * Not shown by the kernel, so never written: 'P' (extra references) and
 * 'N' (off the LRU: khugepaged drains the per-CPU LRU batches before it
 * scans, so a page still in one would not stop it).
 * A 'w' PTE's FOLIOS digit is its swap order, from the swap offsets
 * pagemap shows (snap_swap_orders()).
 * A range with nothing present or swapped gets no pmd line, nor does a
 * range that starts below its VMA (the format and khugepaged both skip
 * it); PTEs of a range past the VMA's end are written as '.'.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live/live_internal.h"

struct snap_ctx {
	struct mthp_snapshot *snap;
	uint8_t *ptes;
	uint8_t *orders;
	uint64_t *slots;	/* the swap orders' keys (mthp_swap_orders()) */
	uint8_t *swap;		/* the swap orders */
	struct mthp_pmd_bits *written;	/* soft-dirty present pages, or NULL */
	uint64_t *bits;		/* one range's of them */
};

static uint8_t classify(struct live_capture *cap, uint64_t e, uint64_t f, uint8_t *order)
{
	*order = MTHP_NO_FOLIO;
	if (!(e & PM_PRESENT)) {
		if (!(e & PM_SWAP))
			return MTHP_PTE_NONE;
		return e & PM_UFFD_WP ? MTHP_PTE_UFFD_WP : MTHP_PTE_SWAP;
	}
	if (f & KPF_BIT(KPF_ZERO_PAGE))
		return MTHP_PTE_ZERO;
	if (f & KPF_BIT(KPF_NOPAGE))
		return MTHP_PTE_SPECIAL;
	*order = f & KPF_BIT(KPF_THP) ?
		(uint8_t)live_folio_order(&cap->kp, e & PM_PFN_MASK, f,
					  cap->geo.pmd_order) : 0;
	if (e & PM_UFFD_WP)
		return MTHP_PTE_UFFD_WP;
	if (!(f & KPF_BIT(KPF_ANON)))
		return MTHP_PTE_NOT_ANON;
	if (f & KPF_BIT(KPF_LOCKED))
		return MTHP_PTE_LOCKED;
	if (!(f & (KPF_BIT(KPF_SWAPBACKED) | KPF_BIT(KPF_DIRTY) | KPF_BIT(KPF_KSM))))
		return MTHP_PTE_LAZYFREE;
	if (live_page_shared(e))
		return MTHP_PTE_SHARED_YOUNG;
	return MTHP_PTE_YOUNG;
}

/*
 * The swap orders of the 'w' PTEs of ptes[lo, hi), this VMA's part of the
 * table, into sc->swap: pagemap gives a swap entry's device (bits 0-4)
 * and offset (bits 5-54), hidden (0) to a reader without CAP_SYS_ADMIN,
 * which then finds no runs.  Only this VMA's part counts: a swap-in brings
 * in a block only from inside the faulting VMA.  False when none is set.
 */
static bool snap_swap_orders(struct snap_ctx *sc, struct live_capture *cap,
			     const struct live_range *r, const uint8_t *ptes)
{
	uint32_t n = cap->geo.ptes_per_pmd;
	bool any = false;

	if (!memchr(ptes + r->lo, MTHP_PTE_SWAP, r->hi - r->lo))
		return false;	/* no swap entry, no swap order (most ranges) */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = r->pm[i];

		sc->slots[i] = MTHP_NO_SWAP;
		if (i >= r->lo && i < r->hi && ptes[i] == MTHP_PTE_SWAP)
			sc->slots[i] = ((e & 0x1f) << 58) | ((e & PM_PFN_MASK) >> 5);
	}
	mthp_swap_orders(sc->slots, n, cap->geo.pmd_order - 1, sc->swap);
	for (uint32_t i = r->lo; i < r->hi; i++)
		any |= sc->swap[i] != 0;
	return any;
}

/*
 * The soft-dirty pages of r that map a folio (states ptes; NULL for a
 * PMD-mapped range), into sc->written.
 */
static int snap_written(struct snap_ctx *sc, const struct live_range *r, const uint8_t *ptes)
{
	if (!sc->written)
		return 0;
	memset(sc->bits, 0, sc->written->words * sizeof(*sc->bits));
	for (uint32_t i = r->lo; i < r->hi; i++)
		if (ptes ? (r->pm[i] & PM_SOFT_DIRTY) && mthp_pte_state_has_folio(ptes[i]) :
		    r->huge_dirty && !r->huge_zero)
			sc->bits[i / 64] |= 1ull << (i % 64);
	return mthp_pmd_bits_or(sc->written, r->pmd_addr, sc->bits);
}

static int snap_range(void *ctx, struct live_capture *cap,
		      const struct live_vma *vma, const struct live_range *r)
{
	struct snap_ctx *sc = ctx;
	uint32_t n = cap->geo.ptes_per_pmd;
	uint8_t *ptes, *orders;
	int ret;

	if (!vma)
		return 0;
	if (!r)
		return mthp_snapshot_add_vma(sc->snap, vma->start, vma->end,
					     vma->flags);
	if (r->huge) {
		ret = snap_written(sc, r, NULL);
		if (ret < 0)
			return ret;
		return mthp_snapshot_add_pmd(sc->snap, r->pmd_addr,
					     r->huge_zero ? MTHP_PMD_ZERO : MTHP_PMD_HUGE,
					     NULL, NULL);
	}
	/*
	 * A table shared with the VMA before (both cover part of it) is one
	 * pmd line, after the first VMA (format 2): this VMA's part goes into
	 * the line already made.
	 */
	if (sc->snap->nr_pmds && sc->snap->pmds[sc->snap->nr_pmds - 1].addr == r->pmd_addr) {
		struct mthp_snapshot_pmd *prev = &sc->snap->pmds[sc->snap->nr_pmds - 1];

		if (prev->kind != MTHP_PMD_TABLE || !prev->ptes || !prev->folio_orders)
			return -EINVAL;
		for (uint32_t i = r->lo; i < r->hi; i++)
			prev->ptes[i] = classify(cap, r->pm[i], r->kflags[i],
						 &prev->folio_orders[i]);
		ret = snap_written(sc, r, prev->ptes);
		if (ret < 0)
			return ret;
		if (!snap_swap_orders(sc, cap, r, prev->ptes))
			return 0;
		if (!prev->swap_orders)
			prev->swap_orders = calloc(n, 1);
		if (!prev->swap_orders)
			return -ENOMEM;
		memcpy(prev->swap_orders + r->lo, sc->swap + r->lo, r->hi - r->lo);
		return 0;
	}
	/* a recorder keeps them with the range, and the next frame takes
	 * them as they are if its entries and flags did not change */
	ptes = r->states ? r->states->ptes : sc->ptes;
	orders = r->states ? r->states->orders : sc->orders;
	if (!r->states || !r->states->valid) {
		for (uint32_t i = 0; i < n; i++) {
			if (i < r->lo || i >= r->hi) {
				ptes[i] = MTHP_PTE_NONE;
				orders[i] = MTHP_NO_FOLIO;
				continue;
			}
			ptes[i] = classify(cap, r->pm[i], r->kflags[i], &orders[i]);
		}
		/* a 'w' PTE's FOLIOS digit is its swap order */
		if (snap_swap_orders(sc, cap, r, ptes))
			for (uint32_t i = r->lo; i < r->hi; i++)
				if (ptes[i] == MTHP_PTE_SWAP)
					orders[i] = sc->swap[i];
		if (r->states)
			r->states->valid = true;
	}
	ret = snap_written(sc, r, ptes);
	if (ret < 0)
		return ret;
	return mthp_snapshot_add_pmd(sc->snap, r->pmd_addr, MTHP_PMD_TABLE, ptes, orders);
}

static void add_setting(void *ctx, const char *knob, const char *value)
{
	struct snap_ctx *sc = ctx;

	if (mthp_snapshot_add_setting(sc->snap, knob, value) < 0)
		sc->ptes = NULL;	/* reported as -ENOMEM below */
}

static int snap_settings(struct snap_ctx *sc, const struct mthp_settings *s)
{
	uint8_t *keep = sc->ptes;

	mthp_settings_foreach(s, add_setting, sc);
	if (!sc->ptes) {
		sc->ptes = keep;
		return -ENOMEM;
	}
	return 0;
}

static int snap_reset(void *ctx)
{
	struct snap_ctx *sc = ctx;
	struct mthp_snapshot *snap = sc->snap;
	struct mthp_geometry geo = snap->geo;
	struct mthp_settings s;
	int ret;

	mthp_snapshot_free(snap);
	mthp_snapshot_init(snap, &geo);
	if (sc->written)
		mthp_pmd_bits_clear(sc->written);
	ret = mthp_live_settings(&s, NULL, NULL);
	if (ret < 0)
		return ret;
	return snap_settings(sc, &s);
}

static int snapshot(pid_t pid, uint64_t start, uint64_t end, struct mthp_live_frames *frames,
		    struct mthp_snapshot *snap, struct mthp_pmd_bits *written,
		    struct mthp_diag *diag)
{
	struct mthp_settings s;
	struct snap_ctx sc = { .snap = snap, .written = written };
	int ret;

	ret = mthp_live_settings(&s, NULL, diag);
	mthp_snapshot_init(snap, &s.geo);
	if (written) {
		mthp_pmd_bits_free(written);
		mthp_pmd_bits_init(written, &s.geo);
	}
	if (ret < 0)
		return ret;
	ret = mthp_live_check_access(diag);
	if (ret < 0)
		return ret;
	sc.ptes = malloc(s.geo.ptes_per_pmd);
	sc.orders = malloc(s.geo.ptes_per_pmd);
	sc.slots = malloc(sizeof(*sc.slots) * s.geo.ptes_per_pmd);
	sc.swap = malloc(s.geo.ptes_per_pmd);
	sc.bits = calloc((s.geo.ptes_per_pmd + 63) / 64, sizeof(*sc.bits));
	if (!sc.ptes || !sc.orders || !sc.slots || !sc.swap || !sc.bits) {
		ret = -ENOMEM;
		goto out;
	}
	ret = snap_settings(&sc, &s);
	if (ret < 0)
		goto out;
	if (frames)
		ret = live_capture_frame(pid, frames, snap_range, snap_reset, &sc, diag);
	else
		ret = live_capture_range(pid, true, start, end, snap_range, snap_reset,
					 &sc, diag);
out:
	if (ret == -ENOMEM)
		live_diag(diag, "out of memory");
	else if (ret == -EINVAL && diag && !diag->msg[0])
		live_diag(diag, "pid %d: the snapshot builder refused a line (a bug)",
			  (int)pid);
	free(sc.ptes);
	free(sc.orders);
	free(sc.slots);
	free(sc.swap);
	free(sc.bits);
	return ret;
}

int mthp_live_snapshot(pid_t pid, struct mthp_snapshot *snap,
		       struct mthp_diag *diag)
{
	return snapshot(pid, 0, UINT64_MAX, NULL, snap, NULL, diag);
}

int mthp_live_snapshot_range(pid_t pid, uint64_t start, uint64_t end,
			     struct mthp_snapshot *snap, struct mthp_diag *diag)
{
	return snapshot(pid, start, end, NULL, snap, NULL, diag);
}

int mthp_live_snapshot_written(pid_t pid, struct mthp_snapshot *snap,
			       struct mthp_pmd_bits *written, struct mthp_diag *diag)
{
	return snapshot(pid, 0, UINT64_MAX, NULL, snap, written, diag);
}

int mthp_live_snapshot_frame(pid_t pid, struct mthp_live_frames *frames,
			     struct mthp_snapshot *snap, struct mthp_pmd_bits *written,
			     struct mthp_diag *diag)
{
	return snapshot(pid, 0, UINT64_MAX, frames, snap, written, diag);
}
