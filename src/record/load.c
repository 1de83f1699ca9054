// SPDX-License-Identifier: MIT
/*
 * load.c - a snapshot made real in the simulator (mthp_snapshot_load()).
 *
 * The pages are made the way a test program makes them in a real
 * process, through the simulator's public operations: the pages the
 * snapshot shows shared are written first, the old ones among them made
 * old (MADV_COLD), and a child forked that keeps them mapped; then every
 * other page is written (a read fault for the zero page), the old ones
 * made old, the pinned ones pinned and the lazily freed ones given
 * MADV_FREE; last the swapped ones are written and paged out, in runs of
 * swap slots as the snapshot's swap orders say (make_swapped()).  Faults
 * allocate the folio order the snapshot shows.  At the end the
 * simulator's own snapshot of the process must equal the one loaded, PTE
 * by PTE, or the load fails saying where.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mthp/replay.h>
#include <mthp/sim.h>

#include "common/msg.h"
#include "record/fault_order.h"

/* What the loader does for a PTE letter. */
enum load_kind {
	LOAD_NONE,	/* nothing */
	LOAD_SHARED,	/* written before the fork: the child maps it too */
	LOAD_PRIVATE,	/* written after the fork */
	LOAD_SWAP,	/* written after the fork, then paged out */
	LOAD_ZERO,	/* read: the zero page */
	LOAD_CANNOT,	/* a state the simulator's operations cannot make */
};

struct letter {
	enum load_kind kind;
	bool old, pin, lazyfree;
	const char *what;	/* LOAD_CANNOT: the state */
};

static struct letter letter_of(uint8_t c)
{
	switch (c) {
	case '.':
		return (struct letter){ LOAD_NONE };
	case '0':
		return (struct letter){ LOAD_ZERO };
	case 'w':
		return (struct letter){ LOAD_SWAP };
	case 'A':
		return (struct letter){ LOAD_PRIVATE };
	case 'a':
		return (struct letter){ LOAD_PRIVATE, .old = true };
	case 'S':
		return (struct letter){ LOAD_SHARED };
	case 's':
		return (struct letter){ LOAD_SHARED, .old = true };
	case 'P':
		return (struct letter){ LOAD_PRIVATE, .pin = true };
	case 'l':
		return (struct letter){ LOAD_PRIVATE, .lazyfree = true };
	case 'u':
		return (struct letter){ LOAD_CANNOT, .what = "a uffd-wp PTE" };
	case 'f':
		return (struct letter){ LOAD_CANNOT, .what = "a page that is not anonymous" };
	case 'n':
		return (struct letter){ LOAD_CANNOT, .what = "a special mapping" };
	case 'K':
		return (struct letter){ LOAD_CANNOT, .what = "a locked folio" };
	case 'N':
		return (struct letter){ LOAD_CANNOT, .what = "a folio off the LRU" };
	}
	return (struct letter){ LOAD_CANNOT, .what = "an unknown PTE state" };
}

struct load {
	const struct mthp_snapshot *snap;
	const char *name;
	const struct mthp_settings *settings;
	struct mthp_loaded *out;
	uint64_t page;
	int fault_order;	/* the order faults allocate now; -1: the settings' */
	struct mthp_diag *diag;
};

static int load_fail(struct load *l, unsigned line, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int load_fail(struct load *l, unsigned line, int err, const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line)
		mthp_msg(l->diag->msg, sizeof(l->diag->msg), "%s:%u: %s", l->name, line, what);
	else
		mthp_msg(l->diag->msg, sizeof(l->diag->msg), "%s: %s", l->name, what);
	return err;
}

/* The order of the folio PTE i maps, as the snapshot says (0: none said). */
static unsigned pte_order(const struct mthp_snapshot_pmd *pmd, uint32_t i)
{
	uint8_t o = pmd->folio_orders ? pmd->folio_orders[i] : 0;

	return o == MTHP_NO_FOLIO ? 0 : o;
}

/* The VMA that holds addr, or NULL. */
static const struct mthp_snapshot_vma *vma_at(const struct mthp_snapshot *s, uint64_t addr)
{
	return mthp_snapshot_vma_at(s, addr);
}

static bool loadable_vma(const struct mthp_snapshot_vma *v)
{
	return (v->flags & MTHP_VMA_ANON) && !(v->flags & (MTHP_VMA_FILE | MTHP_VMA_SHARED));
}

/*
 * The folio of order o that PTE i belongs to: 2^o PTEs, naturally
 * aligned, each with order o and of one kind (all shared or all private
 * pages), as a fault makes it; or, partially mapped, private pages of
 * order o and none PTEs, the block inside one VMA (a fault makes the
 * folio, then MADV_DONTNEED unmaps the none ones, which Linux and the
 * simulator leave partially mapped).
 */
static int check_folio(struct load *l, const struct mthp_snapshot_pmd *pmd, uint32_t i,
		       unsigned o)
{
	uint32_t n = 1u << o, first = i & ~(n - 1), none = 0;
	enum load_kind kind = letter_of(pmd->ptes[i]).kind;

	if (o < 2 || o >= l->snap->geo.pmd_order)
		return load_fail(l, pmd->line, -EINVAL, "PTE %" PRIu32 ": a folio of order %u "
				 "mapped by PTEs; a fault makes only orders 2 to %u", i, o,
				 l->snap->geo.pmd_order - 1);
	for (uint32_t k = first; k < first + n; k++) {
		enum load_kind kk = letter_of(pmd->ptes[k]).kind;

		if (kk == LOAD_NONE) {
			none++;
			continue;
		}
		if (pte_order(pmd, k) != o || kk != kind ||
		    (kind != LOAD_SHARED && kind != LOAD_PRIVATE))
			return load_fail(l, pmd->line, -EINVAL, "PTE %" PRIu32 ": a folio of order "
					 "%u must be %" PRIu32 " PTEs from PTE %" PRIu32 " of that "
					 "order, all shared or all not, or none (as a fault and an "
					 "unmap make it); PTE %" PRIu32 " is '%c' of order %u",
					 i, o, n, first, k, pmd->ptes[k], pte_order(pmd, k));
	}
	if (none && kind == LOAD_SHARED)
		return load_fail(l, pmd->line, -EINVAL, "PTE %" PRIu32 ": a folio of order %u "
				 "shared with a forked child and partially mapped (PTEs %" PRIu32
				 " to %" PRIu32 "): the simulator makes shared folios whole", i, o,
				 first, first + n - 1);
	if (none && vma_at(l->snap, pmd->addr + first * l->page) !=
		    vma_at(l->snap, pmd->addr + (first + n - 1) * l->page))
		return load_fail(l, pmd->line, -EINVAL, "PTE %" PRIu32 ": a partially mapped "
				 "folio of order %u (PTEs %" PRIu32 " to %" PRIu32 ") across two "
				 "VMAs; the fault that made it had it in one", i, o, first,
				 first + n - 1);
	return 0;
}

/*
 * MADV_DONTNEED of the none PTEs of every partially mapped folio of the
 * range (check_folio()), once its faults made the whole folio.
 */
static int cut_folios(struct load *l, const struct mthp_snapshot_pmd *pmd)
{
	uint32_t n = l->snap->geo.ptes_per_pmd;

	for (uint32_t i = 0; i < n; i++) {
		unsigned o = pte_order(pmd, i);
		uint32_t first = i & ~((1u << o) - 1);
		int err;

		if (o < 2 || letter_of(pmd->ptes[i]).kind != LOAD_PRIVATE)
			continue;
		for (uint32_t k = first; k < first + (1u << o); k++) {
			if (letter_of(pmd->ptes[k]).kind != LOAD_NONE)
				continue;
			err = sim_madvise(l->out->mm, pmd->addr + k * l->page, l->page,
					  SIM_MADV_DONTNEED);
			if (err)
				return load_fail(l, pmd->line, err, "unmapping PTE %" PRIu32
						 " of a partially mapped folio failed (%s)", k,
						 strerror(-err));
		}
		i = first + (1u << o) - 1;
	}
	return 0;
}

/* A block of swap order k lies inside one VMA, as a folio it was. */
static int check_swap_block(struct load *l, const struct mthp_snapshot_pmd *pmd, uint32_t i)
{
	unsigned k = pmd->swap_orders ? pmd->swap_orders[i] : 0;
	uint32_t first = i & ~((1u << k) - 1), last = first + (1u << k) - 1;

	if (vma_at(l->snap, pmd->addr + first * l->page) !=
	    vma_at(l->snap, pmd->addr + last * l->page))
		return load_fail(l, pmd->line, -EINVAL, "PTE %" PRIu32 ": a block of swap "
				 "order %u (PTEs %" PRIu32 " to %" PRIu32 ") across two VMAs; "
				 "a folio swapped out whole lies in one", i, k, first, last);
	return 0;
}

/* Is the whole PMD range of addr inside one loadable VMA? */
static bool pmd_in_vma(const struct load *l, uint64_t addr)
{
	const struct mthp_snapshot_vma *v = vma_at(l->snap, addr);
	uint64_t end = addr + l->page * l->snap->geo.ptes_per_pmd;

	return v && loadable_vma(v) && end <= v->end;
}

/* Check everything before making anything, and count what is needed. */
static int check(struct load *l)
{
	const struct mthp_snapshot *s = l->snap;
	struct mthp_loaded *out = l->out;
	uint32_t n = s->geo.ptes_per_pmd;

	for (size_t p = 0; p < s->nr_pmds; p++) {
		const struct mthp_snapshot_pmd *pmd = &s->pmds[p];

		switch (pmd->kind) {
		case MTHP_PMD_NONE:
			continue;
		case MTHP_PMD_HUGE:
		case MTHP_PMD_ZERO:
			if (!pmd_in_vma(l, pmd->addr))
				return load_fail(l, pmd->line, -EINVAL, "a PMD mapping of a range "
						 "not wholly inside one anonymous VMA");
			if (pmd->kind == MTHP_PMD_HUGE)
				out->present += n;
			out->huge += pmd->kind == MTHP_PMD_HUGE;
			continue;
		case MTHP_PMD_TABLE:
			break;
		}
		for (uint32_t i = 0; i < n; i++) {
			struct letter lt = letter_of(pmd->ptes[i]);
			const struct mthp_snapshot_vma *v = vma_at(s, pmd->addr + i * l->page);
			unsigned o = pte_order(pmd, i);
			int err;

			if (lt.kind == LOAD_NONE)
				continue;
			if (lt.kind == LOAD_CANNOT)
				return load_fail(l, pmd->line, -EINVAL, "PTE %" PRIu32 " is '%c', %s: "
						 "the simulator cannot make that state", i,
						 pmd->ptes[i], lt.what);
			if (!v || !loadable_vma(v))
				return load_fail(l, pmd->line, -EINVAL, "PTE %" PRIu32 " is '%c' "
						 "outside every anonymous private VMA", i,
						 pmd->ptes[i]);
			if (o && lt.kind != LOAD_ZERO && lt.kind != LOAD_SWAP &&
			    (err = check_folio(l, pmd, i, o)))
				return err;
			if (lt.kind == LOAD_SWAP && (err = check_swap_block(l, pmd, i)))
				return err;
			out->present += lt.kind != LOAD_SWAP && lt.kind != LOAD_ZERO;
			out->shared += lt.kind == LOAD_SHARED;
			out->swapped += lt.kind == LOAD_SWAP;
			out->zero += lt.kind == LOAD_ZERO;
			out->old += lt.old;
		}
	}
	return 0;
}

/*
 * The VMAs: every anonymous private one mapped, with MADV_HUGEPAGE where
 * the snapshot says so (MADV_NOHUGEPAGE comes after the pages, finish_vmas()).
 */
static int map_vmas(struct load *l)
{
	const struct mthp_snapshot *s = l->snap;

	for (size_t i = 0; i < s->nr_vmas; i++) {
		const struct mthp_snapshot_vma *v = &s->vmas[i];
		uint64_t addr = v->start, len = v->end - v->start;
		int err;

		if (!loadable_vma(v)) {
			l->out->vmas_left_out++;
			continue;
		}
		err = sim_mmap(l->out->mm, &addr, len, SIM_PROT_RW, SIM_MAP_FIXED);
		if (!err && (v->flags & MTHP_VMA_HUGEPAGE))
			err = sim_madvise(l->out->mm, v->start, len, SIM_MADV_HUGEPAGE);
		if (err)
			return load_fail(l, v->line, err, "mapping the VMA in the simulator "
					 "failed (%s)", strerror(-err));
	}
	return 0;
}

/*
 * What the VMAs get once the pages are made: MADV_NOHUGEPAGE where the
 * snapshot says so (a process may hold large folios in a VMA advised so
 * afterwards: the advice splits nothing, and no fault in such a VMA could
 * make them), and the userfaultfd registration of uffd ones.
 */
static int finish_vmas(struct load *l)
{
	const struct mthp_snapshot *s = l->snap;

	for (size_t i = 0; i < s->nr_vmas; i++) {
		const struct mthp_snapshot_vma *v = &s->vmas[i];
		uint64_t len = v->end - v->start;
		int err = 0;

		if (!loadable_vma(v))
			continue;
		if (v->flags & MTHP_VMA_NOHUGEPAGE) {
			err = sim_madvise(l->out->mm, v->start, len, SIM_MADV_NOHUGEPAGE);
			if (err)
				return load_fail(l, v->line, err, "advising the VMA in the "
						 "simulator failed (%s)", strerror(-err));
		}
		if (v->flags & MTHP_VMA_UFFD)
			err = sim_uffd_register(l->out->mm, v->start, len, SIM_UFFD_MISSING);
		if (err)
			return err;
	}
	return 0;
}

/* fault_order_set() of this run. */
static int set_fault_order(struct load *l, int o)
{
	return fault_order_set(l->out->sim, l->settings, &l->fault_order, o);
}

/* Make the page at addr: a write or read fault of a folio of order o. */
static int make_page(struct load *l, unsigned line, uint64_t addr, bool read, unsigned o)
{
	struct sim_page_info info;
	uint64_t tag;
	int err = set_fault_order(l, (int)o);

	if (!err)
		err = read ? sim_read(l->out->mm, addr, &tag) : sim_write(l->out->mm, addr, addr);
	if (!err)
		err = sim_page_info(l->out->mm, addr, &info);
	if (err)
		return load_fail(l, line, err, "a fault at %" PRIx64 " failed (%s)", addr,
				 strerror(-err));
	if (!read && info.order != o)
		return load_fail(l, line, -ENOMEM, "a fault at %" PRIx64 " made a folio of order "
				 "%u, not %u (the simulated machine has too little memory?)",
				 addr, info.order, o);
	return 0;
}

/* Is a page of this letter made by make_pages(shared)?  Swapped ones come last. */
static bool in_pass(struct letter lt, bool shared)
{
	return lt.kind != LOAD_NONE && lt.kind != LOAD_SWAP && (lt.kind == LOAD_SHARED) == shared;
}

/*
 * The pages of one kind (LOAD_SHARED, or every other but the swapped
 * ones): faults, then what each page needs after its fault.
 */
static int make_pages(struct load *l, bool shared)
{
	const struct mthp_snapshot *s = l->snap;
	struct sim_mm *mm = l->out->mm;
	uint32_t n = s->geo.ptes_per_pmd;

	for (size_t p = 0; p < s->nr_pmds; p++) {
		const struct mthp_snapshot_pmd *pmd = &s->pmds[p];
		int err = 0;

		if (pmd->kind == MTHP_PMD_HUGE || pmd->kind == MTHP_PMD_ZERO) {
			if (!shared)
				err = make_page(l, pmd->line, pmd->addr, pmd->kind == MTHP_PMD_ZERO,
						s->geo.pmd_order);
			if (err)
				return err;
			continue;
		}
		if (pmd->kind != MTHP_PMD_TABLE)
			continue;
		for (uint32_t i = 0; i < n && !err; i++) {
			struct letter lt = letter_of(pmd->ptes[i]);
			uint64_t addr = pmd->addr + i * l->page;

			if (!in_pass(lt, shared))
				continue;
			err = make_page(l, pmd->line, addr, lt.kind == LOAD_ZERO, pte_order(pmd, i));
		}
		if (!err && !shared)
			err = cut_folios(l, pmd);
		/* after every fault of the range: a page-out or MADV_FREE splits */
		for (uint32_t i = 0; i < n && !err; i++) {
			struct letter lt = letter_of(pmd->ptes[i]);
			uint64_t addr = pmd->addr + i * l->page;

			if (!in_pass(lt, shared))
				continue;
			if (lt.old)
				err = sim_madvise(mm, addr, l->page, SIM_MADV_COLD);
			if (!err && lt.pin)
				err = sim_pin(mm, addr);
			if (!err && lt.lazyfree)
				err = sim_madvise(mm, addr, l->page, SIM_MADV_FREE);
			if (err)
				return load_fail(l, pmd->line, err, "making PTE %" PRIu32 " '%c' "
						 "failed (%s)", i, pmd->ptes[i], strerror(-err));
		}
		if (err)
			return err;
	}
	return 0;
}

/* The swap order of PTE i (0: none said). */
static unsigned swap_order(const struct mthp_snapshot_pmd *pmd, uint32_t i)
{
	return pmd->swap_orders ? pmd->swap_orders[i] : 0;
}

/*
 * The swapped-out pages, with the runs of swap slots the snapshot shows:
 * a block of swap order k is a folio of order k written and paged out
 * whole (aligned, consecutive slots), any other 'w' one page paged out.
 * They go from the highest address down, each taking slots above the
 * ones before it, so no two of them make a run the snapshot does not
 * show (a run climbs with the address).
 */
static int make_swapped(struct load *l)
{
	const struct mthp_snapshot *s = l->snap;
	uint32_t n = s->geo.ptes_per_pmd;

	for (size_t p = s->nr_pmds; p-- > 0;) {
		const struct mthp_snapshot_pmd *pmd = &s->pmds[p];

		if (pmd->kind != MTHP_PMD_TABLE)
			continue;
		for (uint32_t i = n; i-- > 0;) {
			unsigned k = swap_order(pmd, i);
			uint32_t first = i & ~((1u << k) - 1);
			uint64_t addr = pmd->addr + first * l->page;
			int err;

			if (letter_of(pmd->ptes[i]).kind != LOAD_SWAP)
				continue;
			err = make_page(l, pmd->line, addr, false, k);
			if (!err)
				err = sim_madvise(l->out->mm, addr, l->page << k, SIM_MADV_PAGEOUT);
			if (err)
				return load_fail(l, pmd->line, err, "paging out PTE %" PRIu32
						 " failed (%s)", first, strerror(-err));
			i = first;
		}
	}
	return 0;
}

/* The simulator's snapshot must be the one loaded. */
static int verify(struct load *l)
{
	const struct mthp_snapshot *s = l->snap;
	uint32_t n = s->geo.ptes_per_pmd;
	struct mthp_snapshot got;
	size_t q = 0;
	int err = sim_mm_snapshot_populated(l->out->mm, &got);

	for (size_t p = 0; !err && p < s->nr_pmds; p++) {
		const struct mthp_snapshot_pmd *want = &s->pmds[p], *have = NULL;

		while (q < got.nr_pmds && got.pmds[q].addr < want->addr)
			q++;
		if (q < got.nr_pmds && got.pmds[q].addr == want->addr)
			have = &got.pmds[q];
		if (want->kind == MTHP_PMD_NONE)
			continue;
		if (!have || have->kind != want->kind) {
			err = load_fail(l, want->line, -EIO, "the simulator made a different "
					"kind of PMD range here");
			break;
		}
		if (want->kind != MTHP_PMD_TABLE)
			continue;
		for (uint32_t i = 0; i < n; i++) {
			unsigned o = pte_order(want, i);
			bool swap, page = letter_of(want->ptes[i]).kind != LOAD_NONE &&
				    letter_of(want->ptes[i]).kind != LOAD_SWAP &&
				    letter_of(want->ptes[i]).kind != LOAD_ZERO;

			if (have->ptes[i] == want->ptes[i] &&
			    (!page || pte_order(have, i) == o) &&
			    swap_order(have, i) == swap_order(want, i))
				continue;
			swap = swap_order(have, i) != swap_order(want, i);
			err = load_fail(l, want->line, -EIO, "PTE %" PRIu32 ": the simulator made "
					"'%c' of %sorder %u where the snapshot has '%c' of %sorder %u",
					i, have->ptes[i], swap ? "swap " : "",
					swap ? swap_order(have, i) : pte_order(have, i),
					want->ptes[i], swap ? "swap " : "",
					swap ? swap_order(want, i) : o);
			break;
		}
	}
	mthp_snapshot_free(&got);
	return err;
}

void mthp_loaded_free(struct mthp_loaded *out)
{
	if (out->sharer)
		sim_exit(out->sharer);
	if (out->mm)
		sim_exit(out->mm);
	if (out->sim)
		sim_destroy(out->sim);
	memset(out, 0, sizeof(*out));
}

int mthp_snapshot_load(const struct mthp_snapshot *snap, const char *name,
		       const struct mthp_settings *settings, struct mthp_loaded *out,
		       struct mthp_diag *diag)
{
	struct load l = {
		.snap = snap, .name = name, .settings = settings, .out = out,
		.page = snap->geo.page_size, .fault_order = -1, .diag = diag,
	};
	struct sim_config cfg = { .page_size = snap->geo.page_size, .seed = 1 };
	uint32_t n = snap->geo.ptes_per_pmd;
	int err;

	memset(out, 0, sizeof(*out));
	diag->msg[0] = '\0';
	if (settings->geo.page_size != snap->geo.page_size)
		return load_fail(&l, 0, -EINVAL, "a snapshot of %u-byte pages, settings for "
				 "%u-byte pages", snap->geo.page_size, settings->geo.page_size);
	err = check(&l);
	if (err)
		return err;
	/* every page twice over (collapses allocate before they free), and some PMDs */
	cfg.nr_frames = 2 * (out->present + out->swapped) + 64 * (uint64_t)n;
	/* room for every block's alignment, so slots are never reused */
	cfg.nr_swap_slots = 2 * out->swapped + 2 * (uint64_t)n;
	out->memory_pages = cfg.nr_frames;
	out->swap_pages = cfg.nr_swap_slots;
	cfg.foreign_folios = true;
	err = sim_create(&out->sim, &cfg, settings);
	if (err) {
		out->sim = NULL;
		return load_fail(&l, 0, err, "cannot create the simulated machine (%s)",
				 strerror(-err));
	}
	err = sim_mm_create(out->sim, 0, &out->mm);
	if (err) {
		out->mm = NULL;
		load_fail(&l, 0, err, "cannot create the process (%s)", strerror(-err));
		goto fail;
	}
	err = set_fault_order(&l, 0) ?: map_vmas(&l) ?: make_pages(&l, true);
	if (!err && out->shared) {
		err = sim_fork(out->mm, &out->sharer);
		if (err) {
			out->sharer = NULL;
			load_fail(&l, 0, err, "the fork of the child that shares pages failed (%s)",
				  strerror(-err));
		}
	}
	err = err ?: make_pages(&l, false) ?: make_swapped(&l) ?: set_fault_order(&l, -1) ?:
	      finish_vmas(&l);
	err = err ?: verify(&l);
	if (!err)
		return 0;
fail:
	if (!diag->msg[0])
		load_fail(&l, 0, err, "loading failed (%s)", strerror(-err));
	mthp_loaded_free(out);
	return err;
}
