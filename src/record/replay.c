// SPDX-License-Identifier: MIT
/*
 * replay.c - a recording replayed in the simulator (mthp/replay.h),
 * through the simulator's public operations only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mthp/record.h>
#include <mthp/replay.h>
#include <mthp/sim.h>
#include <mthp/tlb.h>

#include "common/array.h"
#include "common/msg.h"
#include "common/names.h"
#include "record/fault_order.h"
#include "scenario/watch.h"

/* What a PTE holds, as far as the replay is concerned. */
enum pte_class { PTE_PAGE, PTE_NONE, PTE_SWAP, PTE_ZERO };

/* Each PTE state's class: a page but for these three. */
static const uint8_t state_class[256] = {
	[MTHP_PTE_NONE] = PTE_NONE, [MTHP_PTE_SWAP] = PTE_SWAP, [MTHP_PTE_ZERO] = PTE_ZERO,
};

static enum pte_class pte_class(uint8_t c)
{
	return (enum pte_class)state_class[c];
}

/* The PTE state letter of PTE k of pmd ('.' for none, or for no range). */
static uint8_t pmd_state(const struct mthp_snapshot_pmd *pmd, uint32_t k)
{
	if (!pmd)
		return '.';
	switch (pmd->kind) {
	case MTHP_PMD_NONE:
		return '.';
	case MTHP_PMD_HUGE:
		return 'A';
	case MTHP_PMD_ZERO:
		return '0';
	case MTHP_PMD_TABLE:
		return pmd->ptes[k];
	}
	return '.';
}

/*
 * The PTE states of a whole range, as pmd_state() gives them one by one:
 * its table, or buf (n bytes) filled with the one state of the rest.
 */
static const uint8_t *pmd_states(const struct mthp_snapshot_pmd *pmd, uint32_t n,
				 uint8_t *buf)
{
	if (pmd && pmd->kind == MTHP_PMD_TABLE)
		return pmd->ptes;
	memset(buf, pmd_state(pmd, 0), n);
	return buf;
}

/* PTE i of a PMD range (NULL: a range the frame does not have). */
static enum pte_class range_pte(const struct mthp_snapshot_pmd *pmd, uint32_t i)
{
	return pte_class(pmd_state(pmd, i));
}

static bool mapped(enum pte_class c)
{
	return c == PTE_ZERO || c == PTE_PAGE;
}

/* The mapped PTEs of a table: present pages and zero-page PTEs. */
static uint64_t mapped_ptes(const struct mthp_snapshot_pmd *pmd, uint32_t n)
{
	uint64_t m = 0;

	for (uint32_t i = 0; i < n; i++)
		m += pmd->ptes[i] != '.' && pmd->ptes[i] != 'w';
	return m;
}

/* Is addr inside a VMA of s? */
static bool in_vma(const struct mthp_snapshot *s, uint64_t addr)
{
	return mthp_snapshot_vma_at(s, addr) != NULL;
}

struct replay {
	const char *name;
	struct sim *sim;
	const struct mthp_settings *settings;	/* the run's */
	int fault_order;		/* the order faults allocate now; -1: the run's settings */
	struct sim_mm *mm;
	const struct mthp_snapshot *prev;	/* the frame before, as recorded */
	struct mthp_snapshot moved;	/* the frame before as moves left it (prev) */
	uint64_t moves;			/* the program's mremaps replayed */
	struct sim_mm *child;		/* a fork's, while the frame shows shared pages */
	uint64_t forks;
	uint64_t pmd_size, page;
	uint32_t frame;
	struct run_watch watch;		/* the run report's collapses */
	struct mthp_diag *diag;
};

static int replay_fail(struct replay *r, int err, const char *what, uint64_t addr)
{
	mthp_msg(r->diag->msg, sizeof(r->diag->msg),
		 "%s: frame %" PRIu32 ": replaying it, %s at %" PRIx64 " failed (%s)",
		 r->name, r->frame, what, addr, strerror(-err));
	return err;
}

/* [start, end) of the address space. */
struct piece {
	uint64_t start, end;
	bool moved;		/* the source or the target of a move */
};

struct pieces {
	struct piece *v;
	size_t nr, cap;
};

/* A move of the program's (mremap): from's pages to the start of to. */
struct move {
	struct piece from, to;
};

struct moves {
	struct move *v;
	size_t nr, cap;
};

/*
 * The pieces of from's VMAs that no VMA of other covers, appended to
 * out.  Both VMA lists are sorted and do not overlap.
 */
static int vma_pieces(const struct mthp_snapshot *from, const struct mthp_snapshot *other,
		      struct pieces *out)
{
	size_t j = 0;

	for (size_t i = 0; i < from->nr_vmas; i++) {
		uint64_t start = from->vmas[i].start, end = from->vmas[i].end;

		while (j < other->nr_vmas && other->vmas[j].end <= start)
			j++;
		for (size_t k = j; start < end; k++) {
			uint64_t stop = k < other->nr_vmas && other->vmas[k].start < end ?
					other->vmas[k].start : end;

			if (stop > start) {
				if (mthp_array_grow((void **)&out->v, &out->cap, out->nr,
						    sizeof(*out->v)))
					return -ENOMEM;
				out->v[out->nr++] = (struct piece){ start, stop, false };
			}
			if (k >= other->nr_vmas || other->vmas[k].start >= end)
				break;
			start = other->vmas[k].end;
		}
	}
	return 0;
}

/* The index of the first PMD range of s at or above addr (s->nr_pmds: none). */
static size_t pmd_from(const struct mthp_snapshot *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nr_pmds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->pmds[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The PMD range of s at addr, or NULL. */
static const struct mthp_snapshot_pmd *find_pmd(const struct mthp_snapshot *s, uint64_t addr)
{
	size_t i = pmd_from(s, addr);

	return i < s->nr_pmds && s->pmds[i].addr == addr ? &s->pmds[i] : NULL;
}

/* The PTE state letter of the page at addr in s. */
static uint8_t page_state(const struct replay *r, const struct mthp_snapshot *s, uint64_t addr)
{
	return pmd_state(find_pmd(s, addr & ~(r->pmd_size - 1)),
			 (uint32_t)((addr & (r->pmd_size - 1)) / r->page));
}

/*
 * Did the program move gone (a piece of the frame before's VMAs) to
 * added (a piece of this frame's), as mremap(MREMAP_MAYMOVE) does when
 * realloc() grows a large block?  A frame does not say, so the pages
 * tell: added is at least as long, and 9 in 10 of the pages gone had
 * (mapped or swapped out) are at the same offsets in added.  A block
 * freed and another mapped and written alike in one interval passes
 * too; the replay then moves pages where the program faulted new ones,
 * which changes no page that the frames hold.
 */
static bool moved_to(const struct replay *r, const struct mthp_snapshot *next,
		     const struct piece *gone, const struct piece *added)
{
	uint64_t had = 0, kept = 0;

	if (added->end - added->start < gone->end - gone->start)
		return false;
	/* the ranges the frame before has in gone, not every page of it */
	for (size_t i = pmd_from(r->prev, gone->start & ~(r->pmd_size - 1));
	     i < r->prev->nr_pmds && r->prev->pmds[i].addr < gone->end; i++) {
		const struct mthp_snapshot_pmd *pmd = &r->prev->pmds[i];

		for (uint32_t k = 0; k < next->geo.ptes_per_pmd; k++) {
			uint64_t a = pmd->addr + k * r->page;

			if (a < gone->start || a >= gone->end ||
			    pte_class(pmd_state(pmd, k)) == PTE_NONE)
				continue;
			had++;
			kept += pte_class(page_state(r, next, added->start + (a - gone->start))) !=
				PTE_NONE;
		}
	}
	return had && kept * 10 >= had * 9;
}

/*
 * A page of the frame before after the program's moves: the page a move
 * brought to addr, nothing where a move took one away or grew the
 * range, else the frame before's.
 */
static uint8_t moved_state(const struct replay *r, const struct moves *mv, uint64_t addr)
{
	for (size_t i = 0; i < mv->nr; i++) {
		const struct move *m = &mv->v[i];
		uint64_t len = m->from.end - m->from.start;

		if (addr >= m->to.start && addr < m->to.end)
			return addr < m->to.start + len ?
			       page_state(r, r->prev, m->from.start + (addr - m->to.start)) : '.';
		if (addr >= m->from.start && addr < m->from.end)
			return '.';
	}
	return page_state(r, r->prev, addr);
}

/* Does [start, end) meet a piece of a move? */
static bool meets_move(const struct moves *mv, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < mv->nr; i++) {
		const struct move *m = &mv->v[i];

		if ((start < m->from.end && end > m->from.start) ||
		    (start < m->to.end && end > m->to.start))
			return true;
	}
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The PMD ranges that can hold a page after the moves, sorted, each once:
 * the frame before's, and those its ranges in a moved piece go to.
 */
static int moved_ranges(const struct replay *r, const struct moves *mv, uint64_t **out,
			size_t *nr)
{
	const struct mthp_snapshot *prev = r->prev;
	size_t cap = prev->nr_pmds, n = 0;
	uint64_t *v;

	for (size_t i = 0; i < mv->nr; i++)
		cap += 2 * (pmd_from(prev, mv->v[i].from.end) -
			    pmd_from(prev, mv->v[i].from.start & ~(r->pmd_size - 1)));
	v = malloc((cap ? cap : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < prev->nr_pmds; i++)
		v[n++] = prev->pmds[i].addr;
	for (size_t i = 0; i < mv->nr; i++) {
		const struct move *m = &mv->v[i];

		for (size_t k = pmd_from(prev, m->from.start & ~(r->pmd_size - 1));
		     k < prev->nr_pmds && prev->pmds[k].addr < m->from.end; k++) {
			/* a range moved by a multiple of no PMD size spans two */
			uint64_t to = prev->pmds[k].addr - m->from.start + m->to.start;

			v[n++] = to & ~(r->pmd_size - 1);
			v[n++] = (to & ~(r->pmd_size - 1)) + r->pmd_size;
		}
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	*nr = 0;
	for (size_t i = 0; i < n; i++)
		if (!*nr || v[*nr - 1] != v[i])
			v[(*nr)++] = v[i];
	*out = v;
	return 0;
}

/*
 * The frame before as the moves left it, into out, under next's VMAs
 * (the replay reads it only there): a PMD range no move meets is the
 * frame before's, one a move meets is made page by page (PTE states
 * only: the replay's actions need no folio orders of the frame before).
 */
static int moved_prev(struct replay *r, const struct mthp_snapshot *next,
		      const struct moves *mv, struct mthp_snapshot *out)
{
	uint32_t n = next->geo.ptes_per_pmd;
	uint64_t done = 0;	/* ranges below this are in out */
	uint8_t *ptes = malloc(n);
	uint64_t *ranges = NULL;
	size_t nr = 0, j = 0;
	int err = ptes ? moved_ranges(r, mv, &ranges, &nr) : -ENOMEM;

	mthp_snapshot_init(out, &next->geo);
	for (size_t v = 0; v < next->nr_vmas && !err; v++) {
		const struct mthp_snapshot_vma *vma = &next->vmas[v];

		err = mthp_snapshot_add_vma(out, vma->start, vma->end, vma->flags);
		while (j < nr && ranges[j] + r->pmd_size <= vma->start)
			j++;
		for (size_t k = j; !err && k < nr && ranges[k] < vma->end; k++) {
			uint64_t a = ranges[k];
			const struct mthp_snapshot_pmd *pmd;
			bool any = false;

			if (a < done)
				continue;
			done = a + r->pmd_size;
			if (!meets_move(mv, a, a + r->pmd_size)) {
				pmd = find_pmd(r->prev, a);
				if (pmd)
					err = mthp_snapshot_add_pmd(out, a, pmd->kind, pmd->ptes,
								    NULL);
				continue;
			}
			for (uint32_t i = 0; i < n; i++) {
				ptes[i] = moved_state(r, mv, a + i * r->page);
				any |= ptes[i] != '.';
			}
			if (any)
				err = mthp_snapshot_add_pmd(out, a, MTHP_PMD_TABLE, ptes, NULL);
		}
	}
	free(ptes);
	free(ranges);
	if (err)
		mthp_snapshot_free(out);
	return err;
}

/*
 * VMAs: move what the program moved (moved_to()), unmap what went away,
 * map what is new, advise as the flags say.  After a move r->prev is the
 * frame before as the moves left it (r->moved).
 */
static int replay_vmas(struct replay *r, const struct mthp_snapshot *next)
{
	struct pieces gone = { 0 }, added = { 0 };
	struct moves mv = { 0 };
	int err = vma_pieces(r->prev, next, &gone);

	if (!err)
		err = vma_pieces(next, r->prev, &added);
	for (size_t i = 0; i < gone.nr && !err; i++) {
		for (size_t k = 0; k < added.nr && !err; k++) {
			struct piece *g = &gone.v[i], *a = &added.v[k];
			uint64_t to = a->start;

			if (a->moved || !moved_to(r, next, g, a))
				continue;
			err = sim_mremap_resize(r->mm, g->start, g->end - g->start, a->end - a->start,
						SIM_MREMAP_MAYMOVE | SIM_MREMAP_FIXED, &to);
			if (err) {
				replay_fail(r, err, "mremap", g->start);
				break;
			}
			run_watch_forget(&r->watch, sim_mm_id(r->mm), g->start, g->end - g->start);
			g->moved = a->moved = true;
			err = mthp_array_grow((void **)&mv.v, &mv.cap, mv.nr, sizeof(*mv.v));
			if (!err)
				mv.v[mv.nr++] = (struct move){ *g, *a };
			r->moves++;
			break;
		}
	}
	for (size_t i = 0; i < gone.nr && !err; i++) {
		const struct piece *g = &gone.v[i];

		if (g->moved)
			continue;
		err = sim_munmap(r->mm, g->start, g->end - g->start);
		run_watch_forget(&r->watch, sim_mm_id(r->mm), g->start, g->end - g->start);
		if (err)
			replay_fail(r, err, "munmap", g->start);
	}
	for (size_t i = 0; i < added.nr && !err; i++) {
		uint64_t addr = added.v[i].start;

		if (added.v[i].moved)
			continue;
		err = sim_mmap(r->mm, &addr, added.v[i].end - addr, SIM_PROT_RW, SIM_MAP_FIXED);
		if (err)
			replay_fail(r, err, "mmap", addr);
	}
	for (size_t i = 0; i < next->nr_vmas && !err; i++) {
		const struct mthp_snapshot_vma *v = &next->vmas[i];
		uint32_t f = v->flags & (MTHP_VMA_HUGEPAGE | MTHP_VMA_NOHUGEPAGE);

		if (!f)
			continue;
		err = sim_madvise(r->mm, v->start, v->end - v->start,
				  f & MTHP_VMA_HUGEPAGE ? SIM_MADV_HUGEPAGE : SIM_MADV_NOHUGEPAGE);
		if (err)
			replay_fail(r, err, "madvise", v->start);
	}
	if (!err && mv.nr) {
		struct mthp_snapshot moved;

		err = moved_prev(r, next, &mv, &moved);
		if (err) {
			replay_fail(r, err, "the frame before, moved", mv.v[0].from.start);
		} else {
			mthp_snapshot_free(&r->moved);
			r->moved = moved;
			r->prev = &r->moved;
		}
	}
	free(gone.v);
	free(added.v);
	free(mv.v);
	return err;
}

/* The folio order the recording shows for PTE i of pmd (0: none shown). */
static int recorded_order(const struct mthp_snapshot_pmd *pmd, uint32_t i,
			  const struct mthp_geometry *geo)
{
	if (!pmd || pmd->kind == MTHP_PMD_HUGE)
		return pmd ? (int)geo->pmd_order : 0;
	if (pmd->kind != MTHP_PMD_TABLE || !pmd->folio_orders ||
	    pmd->folio_orders[i] == MTHP_NO_FOLIO || pmd->folio_orders[i] < 2)
		return 0;
	return pmd->folio_orders[i];
}

/* fault_order_set() of this run. */
static int set_fault_order(struct replay *r, int order)
{
	return fault_order_set(r->sim, r->settings, &r->fault_order, order);
}

/* One page from what it was to what it is (a folio of order, if it faults). */
static int replay_page(struct replay *r, uint64_t addr, enum pte_class was,
		       enum pte_class is, int order)
{
	uint64_t tag;
	int err = 0;

	if (was == is)
		return 0;
	err = set_fault_order(r, is == PTE_PAGE || is == PTE_SWAP ? order : 0);
	if (err)
		return replay_fail(r, err, "setting the fault order", addr);
	/* what has to go first: a mapping replaced by another kind */
	if ((was == PTE_ZERO && is != PTE_PAGE) || (was == PTE_PAGE && is == PTE_ZERO) ||
	    (was == PTE_PAGE && is == PTE_NONE) || (was == PTE_SWAP && is != PTE_PAGE)) {
		err = sim_madvise(r->mm, addr, r->page, SIM_MADV_DONTNEED);
		if (err)
			return replay_fail(r, err, "MADV_DONTNEED", addr);
		run_watch_forget(&r->watch, sim_mm_id(r->mm), addr, r->page);
		was = PTE_NONE;
	}
	switch (is) {
	case PTE_NONE:
		return 0;
	case PTE_ZERO:
		err = sim_read(r->mm, addr, &tag);
		break;
	case PTE_PAGE:
		/* a swap-in fault, or a write fault */
		err = was == PTE_SWAP ? sim_read(r->mm, addr, &tag) : sim_write(r->mm, addr, addr);
		break;
	case PTE_SWAP:
		if (was != PTE_PAGE)
			err = sim_write(r->mm, addr, addr);
		if (!err)
			err = sim_madvise(r->mm, addr, r->page, SIM_MADV_PAGEOUT);
		run_watch_forget(&r->watch, sim_mm_id(r->mm), addr, r->page);
		break;
	}
	return err ? replay_fail(r, err, is == PTE_SWAP ? "page-out" : "fault", addr) : 0;
}

/*
 * After a fault at PTE i of the range at addr mapped a large folio: its
 * other pages that the next frame shows none or the zero page are
 * unmapped again (MADV_DONTNEED), as the program did on the host before
 * the frame was taken; the folio stays whole, mapped in part, as there.
 * sb: the next frame's PTE states of the range; *end: the PTE after the
 * folio's block, where the range's next fault may make another folio.
 */
static int cut_folio(struct replay *r, const struct mthp_snapshot *next, uint64_t addr,
		     uint32_t i, const uint8_t *sb, uint32_t *end)
{
	struct sim_page_info pi;
	uint32_t first, len;
	int err = sim_page_info(r->mm, addr + i * r->page, &pi);

	*end = i + 1;
	if (err)
		return replay_fail(r, err, "looking at the folio a fault made", addr + i * r->page);
	if (pi.state == '.' || pi.order < 2)
		return 0;
	len = 1u << pi.order;
	first = i & ~(len - 1);
	*end = first + len;
	for (uint32_t j = first; j < first + len; j++) {
		uint64_t page = addr + j * r->page;
		enum pte_class c = pte_class(sb[j]);

		if (j == i || (c != PTE_NONE && c != PTE_ZERO) || !in_vma(next, page))
			continue;
		err = sim_madvise(r->mm, page, r->page, SIM_MADV_DONTNEED);
		if (err)
			return replay_fail(r, err, "MADV_DONTNEED of part of a folio", page);
		run_watch_forget(&r->watch, sim_mm_id(r->mm), page, r->page);
	}
	return 0;
}

/* The same PTE states (and folio orders) in two ranges. */
static bool same_ptes(const struct mthp_snapshot_pmd *a, const struct mthp_snapshot_pmd *b,
		      uint32_t n)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind != MTHP_PMD_TABLE)
		return true;
	if (!a->folio_orders != !b->folio_orders ||
	    (a->folio_orders && memcmp(a->folio_orders, b->folio_orders, n)))
		return false;
	return !memcmp(a->ptes, b->ptes, n);
}

/* The pages of every PMD range either frame has, inside next's VMAs. */
/*
 * Was PTE i filled by a collapse on the recorded host between the two
 * frames (a before, b after)?  It was none or the zero page and is now a
 * page of a folio of order 2 or more (or a PMD) whose window was not all
 * none before.  A fault maps a new large folio only where every PTE is
 * none (a write to the zero page copies one page), and a swap-in only
 * over a block of swap entries; a folio that appears over present pages,
 * or over swap entries and none PTEs together, came from khugepaged or
 * MADV_COLLAPSE, and its none PTEs are its fills, not the program's
 * writes.  Pages freed and faulted again between two frames look the
 * same as before, so a refault of a large folio there is taken for a
 * collapse too.
 */
static bool host_fill(const struct mthp_snapshot_pmd *a, const struct mthp_snapshot_pmd *b,
		      uint32_t i, const struct mthp_geometry *geo)
{
	int k = recorded_order(b, i, geo);
	enum pte_class was = range_pte(a, i);
	uint32_t len, first;
	bool none = false, swap = false;

	if (k < 2 || range_pte(b, i) != PTE_PAGE || (was != PTE_NONE && was != PTE_ZERO))
		return false;
	len = 1u << k;
	first = i & ~(len - 1);
	for (uint32_t j = first; j < first + len; j++) {
		enum pte_class c = range_pte(a, j);

		if (c == PTE_PAGE || c == PTE_ZERO)
			return true;
		none |= c == PTE_NONE;
		swap |= c == PTE_SWAP;
	}
	return none && swap;
}

static int replay_pages(struct replay *r, const struct mthp_snapshot *next,
			uint64_t *host_fills)
{
	const struct mthp_snapshot *prev = r->prev;
	uint32_t n = next->geo.ptes_per_pmd;
	uint8_t buf_a[MTHP_MAX_PTES], buf_b[MTHP_MAX_PTES];
	size_t p = 0, q = 0;

	while (p < prev->nr_pmds || q < next->nr_pmds) {
		uint64_t addr;
		const struct mthp_snapshot_pmd *a = NULL, *b = NULL;
		const uint8_t *sa, *sb;
		uint32_t cut_end;	/* the PTEs before it are in a folio cut_folio() saw */

		if (q >= next->nr_pmds ||
		    (p < prev->nr_pmds && prev->pmds[p].addr <= next->pmds[q].addr))
			addr = prev->pmds[p].addr;
		else
			addr = next->pmds[q].addr;
		if (p < prev->nr_pmds && prev->pmds[p].addr == addr)
			a = &prev->pmds[p++];
		if (q < next->nr_pmds && next->pmds[q].addr == addr)
			b = &next->pmds[q++];
		if (a && b && same_ptes(a, b, n))
			continue;	/* nothing happened here */
		sa = pmd_states(a, n, buf_a);
		sb = pmd_states(b, n, buf_b);
		cut_end = 0;
		for (uint32_t w = 0; w < n; w += 8) {
			/* a PTE whose class stays is left as it is: 8 at a time */
			if (!memcmp(sa + w, sb + w, 8))
				continue;
			for (uint32_t i = w; i < w + 8; i++) {
				uint64_t page = addr + i * r->page;
				int err, order;

				if (state_class[sa[i]] == state_class[sb[i]])
					continue;
				if (!in_vma(next, page))
					continue;	/* unmapped with its VMA */
				if (host_fill(a, b, i, &next->geo)) {
					(*host_fills)++;
					continue;	/* the host's collapse, not the program */
				}
				order = recorded_order(b, i, &next->geo);
				err = replay_page(r, page, pte_class(sa[i]), pte_class(sb[i]), order);
				/* a fault that may have mapped more than the page */
				if (!err && order >= 2 && i >= cut_end &&
				    pte_class(sa[i]) == PTE_NONE && pte_class(sb[i]) == PTE_PAGE)
					err = cut_folio(r, next, addr, i, sb, &cut_end);
				if (err)
					return err;
			}
		}
	}
	return 0;
}


/*
 * The program's writes to pages present in both frames (a recording that
 * tracks writes): each a write in the simulator, which makes the page
 * young.  A page that appeared was written by its fault already.
 */
static int replay_writes(struct replay *r, const struct mthp_snapshot *next,
			 const struct mthp_pmd_bits *written, uint64_t *rewrites)
{
	uint32_t n = next->geo.ptes_per_pmd;

	for (size_t k = 0; k < written->nr; k++) {
		const uint64_t *bits = written->bits + k * written->words;
		const struct mthp_snapshot_pmd *a = find_pmd(r->prev, written->addr[k]);
		const struct mthp_snapshot_pmd *b = find_pmd(next, written->addr[k]);

		for (uint32_t i = 0; i < n; i++) {
			uint64_t page = written->addr[k] + i * r->page;
			int err;

			if (!(bits[i / 64] >> (i % 64) & 1) || range_pte(a, i) != PTE_PAGE ||
			    range_pte(b, i) != PTE_PAGE || !in_vma(next, page))
				continue;
			err = sim_write(r->mm, page, page);
			if (err)
				return replay_fail(r, err, "a write", page);
			(*rewrites)++;
		}
	}
	return 0;
}

/* A PTE state of a page that another process may map too. */
static bool shared_state(uint8_t c)
{
	return c == 'S' || c == 's';
}

/* The PTEs of a table shown shared. */
static uint64_t shared_ptes(const struct mthp_snapshot_pmd *pmd, uint32_t n)
{
	uint64_t m = 0;

	for (uint32_t i = 0; i < n; i++)
		m += shared_state(pmd->ptes[i]);
	return m;
}

/* Pages a frame shows shared; false when it shows none. */
static bool any_shared(const struct mthp_snapshot *s)
{
	for (size_t i = 0; i < s->nr_pmds; i++)
		if (s->pmds[i].kind == MTHP_PMD_TABLE &&
		    (memchr(s->pmds[i].ptes, 'S', s->geo.ptes_per_pmd) ||
		     memchr(s->pmds[i].ptes, 's', s->geo.ptes_per_pmd)))
			return true;
	return false;
}

/* Does the simulator's process share every page the frame shows shared? */
static int sharing_holds(struct replay *r, const struct mthp_snapshot *next, bool *holds)
{
	struct mthp_snapshot sim;
	int err = sim_mm_snapshot_populated(r->mm, &sim);

	*holds = true;
	for (size_t i = 0; !err && i < next->nr_pmds && *holds; i++) {
		const struct mthp_snapshot_pmd *want = &next->pmds[i], *have;

		if (want->kind != MTHP_PMD_TABLE || !shared_ptes(want, next->geo.ptes_per_pmd))
			continue;
		have = find_pmd(&sim, want->addr);
		for (uint32_t k = 0; k < next->geo.ptes_per_pmd && *holds; k++)
			if (shared_state(want->ptes[k]))
				*holds = shared_state(pmd_state(have, k));
	}
	mthp_snapshot_free(&sim);
	return err;
}

/*
 * The child keeps mapped only the pages the frame shows shared: every
 * other page it has (present or swapped out) it drops, in runs.
 */
static int child_keeps_shared(struct replay *r, const struct mthp_snapshot *next)
{
	struct mthp_snapshot child;
	int err = sim_mm_snapshot_populated(r->child, &child);

	for (size_t i = 0; !err && i < child.nr_pmds; i++) {
		const struct mthp_snapshot_pmd *pmd = &child.pmds[i];
		const struct mthp_snapshot_pmd *want = find_pmd(next, pmd->addr);
		uint32_t n = child.geo.ptes_per_pmd, run = 0;

		for (uint32_t k = 0; k <= n && !err; k++) {
			uint64_t addr = pmd->addr + k * r->page;
			bool drop = k < n && pte_class(pmd_state(pmd, k)) != PTE_NONE &&
				    !shared_state(pmd_state(want, k));

			if (drop) {
				run++;
				continue;
			}
			if (run)
				err = sim_madvise(r->child, addr - run * r->page, run * r->page,
						  SIM_MADV_DONTNEED);
			if (err)
				replay_fail(r, err, "the child's MADV_DONTNEED", addr - run * r->page);
			run = 0;
		}
	}
	mthp_snapshot_free(&child);
	return err;
}

/* The fork's child, if there is one, exits. */
static void child_exit(struct replay *r)
{
	if (r->child)
		sim_exit(r->child);
	r->child = NULL;
}

/*
 * Pages the frame shows shared (S, s: another process may map them) were
 * shared by a fork: the replay forks a child when the frame shows shared
 * pages the simulator's process does not share (again, if a child is
 * there already: the program forked once more), and the child then drops
 * every page the frame does not show shared, as a child that exits, or
 * writes its copies, unshares them.  No page shown shared: the child
 * exits.  A THP mapped by a PMD shows no sharing, so it is never shared.
 */
static int replay_sharing(struct replay *r, const struct mthp_snapshot *next)
{
	bool holds;
	int err;

	if (!any_shared(next)) {
		child_exit(r);
		return 0;
	}
	err = sharing_holds(r, next, &holds);
	if (err)
		return replay_fail(r, err, "a snapshot of the simulator", 0);
	if (!holds) {
		child_exit(r);
		err = sim_fork(r->mm, &r->child);
		if (err)
			return replay_fail(r, err, "fork", 0);
		r->forks++;
	}
	return child_keeps_shared(r, next);
}

/* Compare the simulator's mapped pages with the recording's frame. */
static int compare(struct replay *r, const struct mthp_snapshot *rec,
		   struct mthp_replay_frame *f)
{
	struct mthp_snapshot sim;
	uint32_t n = rec->geo.ptes_per_pmd;
	uint8_t buf_a[MTHP_MAX_PTES], buf_b[MTHP_MAX_PTES];
	size_t p = 0, q = 0;
	int err = sim_mm_snapshot_populated(r->mm, &sim);

	if (err) {
		mthp_snapshot_free(&sim);
		return replay_fail(r, err, "a snapshot of the simulator", 0);
	}
	while (p < rec->nr_pmds || q < sim.nr_pmds) {
		const struct mthp_snapshot_pmd *a = NULL, *b = NULL;
		const uint8_t *sa, *sb;
		uint64_t addr;

		if (q >= sim.nr_pmds ||
		    (p < rec->nr_pmds && rec->pmds[p].addr <= sim.pmds[q].addr))
			addr = rec->pmds[p].addr;
		else
			addr = sim.pmds[q].addr;
		if (p < rec->nr_pmds && rec->pmds[p].addr == addr)
			a = &rec->pmds[p++];
		if (q < sim.nr_pmds && sim.pmds[q].addr == addr)
			b = &sim.pmds[q++];
		if (a && b && a->kind == b->kind && a->kind == MTHP_PMD_TABLE &&
		    !memcmp(a->ptes, b->ptes, n)) {
			/* the same table: nothing more or fewer (most ranges, most frames) */
			uint64_t m = mapped_ptes(a, n), sh = shared_ptes(a, n);

			f->recorded += m;
			f->simulated += m;
			f->shared_recorded += sh;
			f->shared_simulated += sh;
			continue;
		}
		sa = pmd_states(a, n, buf_a);
		sb = pmd_states(b, n, buf_b);
		for (uint32_t i = 0; i < n; i++) {
			bool in_rec = mapped(pte_class(sa[i])), in_sim = mapped(pte_class(sb[i]));

			f->recorded += in_rec;
			f->simulated += in_sim;
			f->extra += in_sim && !in_rec;
			f->missing += in_rec && !in_sim;
			f->shared_recorded += shared_state(sa[i]);
			f->shared_simulated += shared_state(sb[i]);
		}
	}
	mthp_snapshot_free(&sim);
	return 0;
}

/* The most pages any frame holds (mapped and swapped), and swapped. */
struct rec_size {
	uint64_t pages, swapped;
	uint64_t frames;
};

/* The first pass: the frames, and the most pages any of them holds. */
static int size_recording(FILE *f, const char *name, struct rec_size *sz,
			  struct mthp_diag *diag)
{
	struct mthp_rec_reader r;
	int ret = mthp_rec_reader_open(&r, f, name, diag);

	memset(sz, 0, sizeof(*sz));
	if (ret)
		return ret;
	while ((ret = mthp_rec_reader_next(&r, diag)) == 1) {
		const struct mthp_snapshot *s = &r.frame;
		uint64_t pages = 0, swapped = 0;

		for (size_t i = 0; i < s->nr_pmds; i++) {
			const struct mthp_snapshot_pmd *pmd = &s->pmds[i];
			uint32_t n = s->geo.ptes_per_pmd;

			if (pmd->kind != MTHP_PMD_TABLE) {
				pages += pmd->kind == MTHP_PMD_NONE ? 0 : n;
				continue;
			}
			for (uint32_t k = 0; k < n; k++) {	/* pte_class(), unrolled */
				pages += pmd->ptes[k] != MTHP_PTE_NONE;
				swapped += pmd->ptes[k] == MTHP_PTE_SWAP;
			}
		}
		if (pages > sz->pages)
			sz->pages = pages;
		if (swapped > sz->swapped)
			sz->swapped = swapped;
		sz->frames++;
	}
	mthp_rec_reader_free(&r);
	return ret;
}

const char *mthp_replay_machine_name(enum mthp_replay_machine m)
{
	static const char *const names[] = {
		[MTHP_REPLAY_MACHINE_HOST] = "host",
		[MTHP_REPLAY_MACHINE_SET] = "set",
		[MTHP_REPLAY_MACHINE_PAGES] = "pages",
	};

	return mthp_name_of(names, sizeof(names) / sizeof(names[0]), m, "?");
}

/*
 * A size the options set (what, in bytes), in pages of page: 0, or
 * -ERANGE outside [least, most], saying which end it passes.
 */
static int set_size(const char *name, const char *what, uint64_t bytes, uint64_t page,
		    uint64_t least, uint64_t most, const char *why, uint64_t *pages,
		    struct mthp_diag *diag)
{
	*pages = bytes / page;
	if (bytes % page) {
		mthp_msg(diag->msg, sizeof(diag->msg),
			 "%s: %s=%" PRIu64 " bytes is not a multiple of the page size, %" PRIu64
			 " bytes", name, what, bytes, page);
		return -ERANGE;
	}
	if (*pages >= least && *pages <= most)
		return 0;
	if (*pages < least)
		mthp_msg(diag->msg, sizeof(diag->msg),
			 "%s: %s=%" PRIu64 " bytes is less than the replay needs: at least %"
			 PRIu64 " pages of %" PRIu64 " bytes, %" PRIu64 " bytes (%s)",
			 name, what, bytes, least, page, least * page, why);
	else
		mthp_msg(diag->msg, sizeof(diag->msg),
			 "%s: %s=%" PRIu64 " bytes is more than the simulator models: at most %"
			 PRIu64 " pages of %" PRIu64 " bytes, %" PRIu64 " bytes",
			 name, what, bytes, most, page, most * page);
	return -ERANGE;
}

/*
 * The simulated machine: the options' sizes, else the recording host's,
 * else room for the process's pages twice over; never more than the
 * simulator can model, and never less than the pages the recording
 * needs (an option that gives less is an error).  0 or -ERANGE.
 */
static int size_machine(const struct mthp_replay_size *opts, const struct mthp_rec_info *info,
			const struct mthp_geometry *geo, const struct rec_size *sz,
			const char *name, struct mthp_replay_report *out, struct sim_config *cfg,
			struct mthp_diag *diag)
{
	uint64_t page = geo->page_size, pmd = geo->ptes_per_pmd;
	uint64_t least = sz->pages + 16 * pmd, least_swap = sz->swapped ? sz->swapped + pmd : 0;
	uint64_t memory = 2 * sz->pages + 16 * pmd, swap = sz->pages + pmd;

	out->machine = MTHP_REPLAY_MACHINE_PAGES;
	if (info->memory_bytes) {
		out->machine = MTHP_REPLAY_MACHINE_HOST;
		memory = info->memory_bytes / page;
		swap = info->swap_bytes / page;
	}
	if (opts->memory_set || opts->swap_set)
		out->machine = MTHP_REPLAY_MACHINE_SET;
	if ((opts->memory_set &&
	     set_size(name, "memory", opts->memory_bytes, page, least, SIM_MAX_FRAMES,
		      "the most the process had, and 16 PMD sizes", &memory, diag)) ||
	    (opts->swap_set &&
	     set_size(name, "swap", opts->swap_bytes, page, least_swap, SIM_MAX_SWAP_SLOTS,
		      "the most the process had swapped out, and a PMD size", &swap, diag)))
		return -ERANGE;
	if (memory < least)
		memory = least;
	if (memory > SIM_MAX_FRAMES)
		memory = SIM_MAX_FRAMES;
	if (swap < least_swap)
		swap = least_swap;
	if (swap > SIM_MAX_SWAP_SLOTS)
		swap = SIM_MAX_SWAP_SLOTS;
	cfg->page_size = (uint32_t)page;
	cfg->nr_frames = memory;
	cfg->nr_swap_slots = swap;
	out->memory_pages = memory;
	out->swap_pages = swap;
	return 0;
}

int mthp_replay_check_size(FILE *f, const char *name, const struct mthp_replay_size *size,
			   const struct mthp_geometry *geo, struct mthp_diag *diag)
{
	const struct mthp_rec_info info = { 0 };
	struct mthp_replay_report rep;
	struct sim_config cfg;
	struct rec_size sz;
	int ret;

	if (!size->memory_set && !size->swap_set)
		return 0;
	ret = size_recording(f, name, &sz, diag);
	rewind(f);
	if (ret)
		return ret;
	return size_machine(size, &info, geo, &sz, name, &rep, &cfg, diag);
}

/* One point of the run's timeline: the process at frame time ns, its memory and TLB entries. */
static int sample(struct replay *r, struct mthp_run_report *run, size_t *cap, int profile,
		  uint64_t ns)
{
	struct mthp_tlb_count count;
	struct mthp_snapshot snap;
	int err = sim_mm_snapshot_populated(r->mm, &snap);

	if (err)
		return replay_fail(r, err, "a snapshot for the timeline", 0);
	err = mthp_tlb_count(&snap, (enum mthp_tlb_profile)(profile - 1), &count);
	if (!err)
		err = mthp_array_grow((void **)&run->timeline, cap, run->nr_samples,
				      sizeof(*run->timeline));
	if (!err)
		run->timeline[run->nr_samples++] = (struct mthp_run_sample){
			ns, mthp_snapshot_present_pages(&snap), count.total,
		};
	mthp_snapshot_free(&snap);
	return err ? replay_fail(r, err, "the timeline", 0) : 0;
}

void mthp_replay_report_free(struct mthp_replay_report *rep)
{
	mthp_run_report_free(&rep->run);
}

int mthp_replay(FILE *f, const char *name, const struct mthp_replay_opts *opts,
		struct mthp_replay_report *out, struct mthp_diag *diag)
{
	struct replay r = { .name = name, .diag = diag, .fault_order = -1 };
	bool collapse = opts->policy != MTHP_RUN_NO_COLLAPSE;
	struct mthp_run_report *run = &out->run;
	struct mthp_rec_reader rd;
	struct mthp_settings s;
	struct sim_config cfg = { 0 };
	struct rec_size sz;
	uint64_t tick, next_wake = 0, sample_every;
	size_t cap_samples = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	mthp_snapshot_init(&r.moved, NULL);
	out->policy = opts->policy;
	run->policy = opts->policy;
	ret = size_recording(f, name, &sz, diag);
	if (ret)
		return ret;
	/* at most MTHP_RUN_MAX_SAMPLES points over the whole recording */
	sample_every = (sz.frames + MTHP_RUN_MAX_SAMPLES - 1) / MTHP_RUN_MAX_SAMPLES;
	if (!sample_every)
		sample_every = 1;
	rewind(f);
	ret = mthp_rec_reader_open(&rd, f, name, diag);
	if (ret)
		return ret;
	if (opts->settings)
		s = *opts->settings;
	else
		ret = mthp_snapshot_settings(&rd.host, &s, name, diag);
	if (ret)
		goto out_reader;
	if (s.geo.page_size != rd.host.geo.page_size) {
		mthp_msg(diag->msg, sizeof(diag->msg),
			 "%s: recorded with %u-byte pages, the settings are for %u-byte pages",
			 name, rd.host.geo.page_size, s.geo.page_size);
		ret = -EINVAL;
		goto out_reader;
	}
	mthp_snapshot_init(&run->final, &s.geo);
	r.settings = &s;
	r.page = s.geo.page_size;
	r.pmd_size = mthp_pmd_size(&s.geo);
	r.watch = (struct run_watch){ .out = run, .page_size = s.geo.page_size };
	ret = size_machine(&opts->size, &rd.info, &s.geo, &sz, name, out, &cfg, diag);
	if (ret)
		goto out_reader;
	cfg.foreign_folios = true;
	ret = sim_create(&r.sim, &cfg, &s);
	if (ret) {
		mthp_msg(diag->msg, sizeof(diag->msg), "%s: cannot create the simulated machine (%s)",
			 name, strerror(-ret));
		goto out_reader;
	}
	/*
	 * A debug build checks the whole simulator (every frame and table)
	 * after every nth change: after each of a recording's pages, that
	 * is quadratic in its size; a few dozen times over its most pages
	 * checks as much.
	 */
	sim_set_check_interval(r.sim, (uint32_t)(1 + sz.pages / 64));
	ret = sim_mm_create(r.sim, 0, &r.mm);
	if (ret)
		goto out_sim;
	if (collapse) {
		run_watch_start(&r.watch, r.sim, opts->policy);
		sim_khugepaged_enter(r.mm);
	}
	tick = (uint64_t)s.scan_sleep_millisecs * 1000000ull;
	if (tick < 1000000ull)
		tick = 1000000ull;
	while ((ret = mthp_rec_reader_next(&rd, diag)) == 1) {
		struct mthp_replay_frame fr = { .frame = rd.nr_frames - 1, .time_ms = rd.time_ms };
		uint64_t t = rd.time_ms * 1000000ull;

		r.frame = fr.frame;
		r.prev = &rd.prev;
		ret = 0;
		/* khugepaged at its pace until the frame's time */
		if (collapse && next_wake <= t)
			ret = set_fault_order(&r, -1);
		while (!ret && collapse && next_wake <= t) {
			if (next_wake > sim_now(r.sim))
				sim_advance(r.sim, next_wake - sim_now(r.sim));
			ret = sim_khugepaged_wake(r.sim, NULL);
			if (ret) {
				replay_fail(&r, ret, "khugepaged", 0);
				break;
			}
			out->wakeups++;
			next_wake += tick;
		}
		if (ret)
			break;
		if (t > sim_now(r.sim))
			sim_advance(r.sim, t - sim_now(r.sim));
		ret = sim_age(r.mm);
		if (!ret)
			ret = replay_vmas(&r, &rd.frame);
		if (!ret)
			ret = replay_pages(&r, &rd.frame, &out->host_fills);
		if (!ret)
			ret = replay_writes(&r, &rd.frame, &rd.written, &out->rewrites);
		if (!ret)
			ret = replay_sharing(&r, &rd.frame);
		if (!ret)
			ret = compare(&r, &rd.frame, &fr);
		if (!ret && opts->timeline_profile > 0 && fr.frame % sample_every == 0)
			ret = sample(&r, run, &cap_samples, opts->timeline_profile, t);
		if (ret)
			break;
		out->frames++;
		out->frames_differing += fr.extra || fr.missing;
		if (fr.extra > out->max_extra)
			out->max_extra = fr.extra;
		if (fr.missing > out->max_missing)
			out->max_missing = fr.missing;
		out->last = fr;
		if (opts->frame_fn)
			opts->frame_fn(opts->ctx, &fr);
	}
	if (ret == 0) {
		/* the run report: the process as the last frame left it */
		sim_set_collapse_observer(r.sim, NULL, NULL);
		run->sim_ns = out->last.time_ms * 1000000ull;
		run->wakeups = out->wakeups;
		mthp_snapshot_free(&run->final);
		ret = sim_mm_snapshot_populated(r.mm, &run->final);
		if (ret)
			replay_fail(&r, ret, "the last snapshot", 0);
		else
			ret = run_watch_finish(&r.watch, r.sim, collapse, diag);
		/* windows, as a scenario run counts them (not pages_collapsed:
		 * 7.2 counts a PMD range there, whatever it collapsed) */
		for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
			out->collapses += run->collapses_by_order[o];
	}
	child_exit(&r);
	sim_exit(r.mm);
out_sim:
	sim_destroy(r.sim);
out_reader:
	out->moves = r.moves;
	out->forks = r.forks;
	mthp_snapshot_free(&r.moved);
	mthp_rec_reader_free(&rd);
	run_watch_free(&r.watch);
	if (ret < 0)
		mthp_run_report_free(run);
	return ret < 0 ? ret : 0;
}
