// SPDX-License-Identifier: MIT
/*
 * test_engine_props.c - properties of mthp_plan_range() on random tables,
 * and agreement with reference implementations written straight from
 * plan-contract.md:
 *
 *   - upstream: a RECURSIVE pre-order walk of the binary split (the
 *     contract's linear walk visits windows in this order);
 *   - seed: the explicit stack of the contract, counting chunk bits one by
 *     one;
 *   - legacy: one PMD collapse when the scan passes;
 *   - guarded: a recursive walk, the folio discount counted PTE by PTE.
 *
 * Each table (MTHP_PROP_TABLES, default 100000, fixed seed) is planned with
 * each policy under one random setting: so each policy sees that
 * many tables.  Any disagreement prints the table, the settings and both
 * plans.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/engine.h>
#include <mthp/policy_plugin.h>
#include <mthp/result.h>
#include <mthp/settings.h>

#include "engine/engine_internal.h"
#include "helpers/table.h"
#include "helpers/test_main.h"

#define KH MTHP_CONTEXT_KHUGEPAGED
#define MA MTHP_CONTEXT_MADVISE

/* One random case: settings, VMA, context, range shape, table. */
struct pcase {
	struct mthp_settings s;
	enum mthp_context ctx;
	uint32_t flags;
	enum mthp_pmd_kind kind;
	bool short_vma;		/* the VMA ends one page into the range */
	uint32_t lru;		/* folios in the LRU add batch before the range */
	struct mt_table t;
};

/* A plan as the reference computes it (same shape as the engine's). */
struct rplan {
	enum mthp_result scan;
	uint32_t filled;
	uint32_t nc, na;
	uint32_t lru_end;	/* folios in the LRU add batch after the range */
	struct mthp_window c[MTHP_MAX_COLLAPSES];
	struct mthp_window a[MTHP_MAX_ATTEMPTS];
};

/* ------------------------------------------------------------------ */
/* Reference: shared parts (eligibility, scan) */

struct ref {
	const struct pcase *pc;
	enum mthp_policy pol;
	uint32_t n;		/* N */
	unsigned pmd;		/* PMD order */
	uint32_t orders;	/* orders the policy may collapse to (seed: E) */
	bool uffd;
	bool occupied[MTHP_MAX_PTES];
	/* the LRU add batch: the pages it holds, and how many */
	bool held[MTHP_MAX_PTES];
	uint32_t batch;
	struct rplan *out;
};

/* The contract's "Eligible orders of a VMA", from the sysfs settings. */
static uint32_t ref_allowed(const struct mthp_settings *s, uint32_t flags)
{
	bool hp = flags & MTHP_VMA_HUGEPAGE;
	uint32_t m = 0;

	if (!(flags & MTHP_VMA_ANON) || (flags & (MTHP_VMA_NOHUGEPAGE | MTHP_VMA_NOANONVMA)))
		return 0;
	for (unsigned o = 2; o <= s->geo.pmd_order; o++) {
		enum mthp_thp_mode mode = s->size_enabled[o];
		bool ok = mode == MTHP_MODE_ALWAYS ||
			(mode == MTHP_MODE_MADVISE && hp) ||
			(mode == MTHP_MODE_INHERIT &&
			 (s->enabled == MTHP_MODE_ALWAYS ||
			  (s->enabled == MTHP_MODE_MADVISE && hp)));

		if (ok)
			m |= 1u << o;
	}
	return m;
}

static bool is_none(uint8_t c)
{
	return c == '.' || c == '0';
}

static bool is_shared(uint8_t c)
{
	return c == 'S' || c == 's';
}

static bool is_young(uint8_t c)
{
	return c == 'A' || c == 'S';
}

/* "Scan (all policies)". */
static enum mthp_result ref_scan(struct ref *r)
{
	const struct pcase *pc = r->pc;
	const struct mthp_settings *s = &pc->s;
	bool kh = pc->ctx == KH;
	uint32_t n = r->n;
	uint32_t lim_none, lim_swap, lim_shared;
	uint32_t none = 0, unmapped = 0, shared = 0, referenced = 0;
	uint32_t below_pmd = r->orders & ((1u << r->pmd) - 1);

	if (kh) {
		lim_none = s->max_ptes_none;
		lim_swap = s->max_ptes_swap;
		lim_shared = s->max_ptes_shared;
	} else {
		lim_none = lim_swap = lim_shared = n;
	}
	if (r->uffd)
		lim_none = 0;
	if (r->pol == MTHP_POLICY_UPSTREAM && kh && below_pmd)
		lim_none = n - 1;
	if (r->pol == MTHP_POLICY_GUARDED && kh && below_pmd && !r->uffd)
		lim_none = n - 1;
	if (r->pol == MTHP_POLICY_SEED && kh && below_pmd && !r->uffd)
		lim_none = UINT32_MAX;

	memset(r->occupied, 0, sizeof(r->occupied));
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = pc->t.ptes[i];

		switch (c) {
		case '.':
		case '0':
			if (++none > lim_none)
				return SCAN_EXCEED_NONE_PTE;
			break;
		case 'w':
			if (++unmapped > lim_swap)
				return SCAN_EXCEED_SWAP_PTE;
			break;
		case 'u':
			return SCAN_PTE_UFFD_WP;
		case 'n':
			return SCAN_PAGE_NULL;
		case 'l':
			if (kh)
				return SCAN_PAGE_LAZYFREE;
			r->occupied[i] = true;
			break;
		case 'f':
			return SCAN_PAGE_ANON;
		case 'S':
		case 's':
			if (++shared > lim_shared)
				return SCAN_EXCEED_SHARED_PTE;
			r->occupied[i] = true;
			referenced += c == 'S';
			break;
		case 'A':
			referenced++;
			r->occupied[i] = true;
			break;
		case 'a':
			r->occupied[i] = true;
			break;
		case 'N':
			return SCAN_PAGE_LRU;
		case 'K':
			return SCAN_PAGE_LOCK;
		case 'P':
			return SCAN_PAGE_COUNT;
		default:
			fail_msg("bad PTE state %d in a generated table", c);
		}
	}
	if (kh && (referenced == 0 || (unmapped > 0 && referenced < n / 2)))
		return SCAN_LACK_REFERENCED_PAGE;
	return SCAN_SUCCEED;
}

static void add_collapse(struct ref *r, uint32_t off, unsigned o)
{
	struct rplan *p = r->out;

	p->c[p->nc++] = (struct mthp_window){ (uint16_t)off, (uint8_t)o, SCAN_SUCCEED };
	for (uint32_t i = off; i < off + (1u << o); i++)
		p->filled += is_none(r->pc->t.ptes[i]);
}

static void add_attempt(struct ref *r, uint32_t off, unsigned o, enum mthp_result res)
{
	struct rplan *p = r->out;

	p->a[p->na++] = (struct mthp_window){ (uint16_t)off, (uint8_t)o, (uint8_t)res };
}

static bool window_has(const struct ref *r, uint32_t off, unsigned o, uint8_t c)
{
	for (uint32_t i = off; i < off + (1u << o); i++)
		if (r->pc->t.ptes[i] == c)
			return true;
	return false;
}

static bool window_young(const struct ref *r, uint32_t off, unsigned o)
{
	for (uint32_t i = off; i < off + (1u << o); i++)
		if (is_young(r->pc->t.ptes[i]))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Reference: upstream, recursive */

/* max_none(o) */
static uint32_t up_max_none(const struct ref *r, unsigned o)
{
	const struct mthp_settings *s = &r->pc->s;

	if (r->pc->ctx == MA)
		return r->n;
	if (o == r->pmd)
		return s->max_ptes_none;
	if (s->max_ptes_none == r->n - 1)
		return (1u << o) - 1;
	return 0;
}

static bool up_passes(const struct ref *r, uint32_t off, unsigned o)
{
	uint32_t count = 0;
	int64_t need;

	for (uint32_t i = off; i < off + (1u << o); i++) {
		count += r->occupied[i];
		if (o == r->pmd && r->pc->t.ptes[i] == 'w')
			count++;
	}
	need = (int64_t)(1u << o) - (int64_t)up_max_none(r, o);
	return (int64_t)count >= need;
}

/* The LRU add batch drains: every page it held goes back to the LRU. */
static void ref_drain(struct ref *r)
{
	memset(r->held, 0, sizeof(r->held));
	r->batch = 0;
}

static bool ref_large(const struct ref *r, uint32_t i)
{
	uint8_t c = r->pc->t.ptes[i], f = r->pc->t.folios[i];

	return c != 'w' && f != MTHP_NO_FOLIO && f >= 2;
}

/*
 * After the checks of an attempt: on success the new folio drains the
 * batch; on a failure the pages isolated before PTE stop go back into it,
 * the small ones last PTE first (31 of them drain it), then the large
 * ones, which drain it.
 */
static enum mthp_result ref_batch(struct ref *r, uint32_t off, uint32_t stop,
				  enum mthp_result res)
{
	bool large = false;

	if (res == SCAN_SUCCEED) {
		ref_drain(r);
		return res;
	}
	for (uint32_t i = stop; i-- > off;) {
		if (is_none(r->pc->t.ptes[i]))
			continue;
		if (ref_large(r, i)) {
			large = true;
			continue;
		}
		r->held[i] = true;
		if (++r->batch == 31)
			ref_drain(r);
	}
	if (large)
		ref_drain(r);
	return res;
}

/* Every PTE of the window passed: khugepaged still wants a young one. */
static enum mthp_result ref_passed(struct ref *r, uint32_t off, unsigned o)
{
	if (r->pc->ctx == KH && !window_young(r, off, o))
		return ref_batch(r, off, off + (1u << o), SCAN_LACK_REFERENCED_PAGE);
	return ref_batch(r, off, off + (1u << o), SCAN_SUCCEED);
}

/* An attempt with the window's none limit (upstream's or guarded's). */
static enum mthp_result ref_attempt(struct ref *r, uint32_t off, unsigned o,
				    uint32_t max_none)
{
	const struct pcase *pc = r->pc;
	uint32_t lim_shared = o < r->pmd ? 0 :
		pc->ctx == KH ? pc->s.max_ptes_shared : r->n;
	uint32_t none = 0, shared = 0;

	if (window_has(r, off, o, 'w')) {
		if (o < r->pmd)
			return SCAN_EXCEED_SWAP_PTE;
		ref_drain(r);		/* swapped in */
	}
	for (uint32_t i = off; i < off + (1u << o); i++) {
		uint8_t c = pc->t.ptes[i];
		uint8_t f = pc->t.folios[i];

		if (is_none(c) && ++none > max_none)
			return ref_batch(r, off, i, SCAN_EXCEED_NONE_PTE);
		if (is_shared(c) && ++shared > lim_shared)
			return ref_batch(r, off, i, SCAN_EXCEED_SHARED_PTE);
		if (o < r->pmd && !is_none(c) && c != 'w' && f != MTHP_NO_FOLIO && f >= o)
			return ref_batch(r, off, i, SCAN_PTE_MAPPED_HUGEPAGE);
		if (!is_none(c) && r->held[i])
			return ref_batch(r, off, i, SCAN_PAGE_COUNT);
	}
	return ref_passed(r, off, o);
}

static enum mthp_result up_attempt(struct ref *r, uint32_t off, unsigned o)
{
	return ref_attempt(r, off, o, r->uffd ? 0 : up_max_none(r, o));
}

static void up_visit(struct ref *r, uint32_t off, unsigned o)
{
	if ((r->orders & (1u << o)) && up_passes(r, off, o)) {
		enum mthp_result res = up_attempt(r, off, o);

		if (res == SCAN_SUCCEED) {
			add_collapse(r, off, o);
			return;
		}
		add_attempt(r, off, o, res);
		if (res == SCAN_PTE_MAPPED_HUGEPAGE)
			return;
	}
	/* lower: only when some allowed order is below o */
	if (r->orders & ((1u << o) - 1)) {
		up_visit(r, off, o - 1);
		up_visit(r, off + (1u << (o - 1)), o - 1);
	}
}

/* ------------------------------------------------------------------ */
/* Reference: guarded, recursive, the folio discount counted folio by folio */

/*
 * The VMA's max_none(o): scaled where a folio of order o saves TLB entries
 * (the PMD order, cont_order and above), upstream's elsewhere.
 */
static uint32_t gd_max_none(const struct ref *r, unsigned o)
{
	unsigned cont = r->pc->s.geo.cont_order;

	if (r->pc->ctx == MA)
		return r->n;
	if (o < r->pmd && !(cont && o >= cont))
		return up_max_none(r, o);
	return r->pc->s.max_ptes_none >> (r->pmd - o);
}

/* Does PTE i map a page of a folio of order 2 <= k < o that may hold fills? */
static bool gd_discounted(const struct ref *r, uint32_t i, unsigned o)
{
	const struct mt_table *t = &r->pc->t;
	uint8_t c = t->ptes[i], f = t->folios[i];

	return !is_none(c) && c != 'w' && f != MTHP_NO_FOLIO && f >= 2 && f < o &&
	       (!t->has_fills || t->fills[i]);
}

/*
 * The count test's occupied PTEs (swap too at PMD order), less, for every
 * aligned block of 2^k PTEs in the window that maps pages of folios of
 * order 2 <= k < o that may hold fills, max_none(k) or the number of
 * those pages if fewer: counted at the block's first such page.
 */
static int64_t gd_count(const struct ref *r, uint32_t off, unsigned o)
{
	const struct mt_table *t = &r->pc->t;
	int64_t count = 0;

	for (uint32_t i = off; i < off + (1u << o); i++) {
		uint8_t c = t->ptes[i], f = t->folios[i];
		uint32_t first, pages = 0;
		bool first_here = true;

		count += r->occupied[i];
		if (o == r->pmd && c == 'w')
			count++;
		if (!gd_discounted(r, i, o))
			continue;
		first = i & ~((1u << f) - 1);
		for (uint32_t j = first; j < first + (1u << f); j++) {
			bool same = gd_discounted(r, j, o) && t->folios[j] == f;

			if (same && j < i)
				first_here = false;
			pages += same;
		}
		if (first_here)
			count -= pages < gd_max_none(r, f) ? pages : gd_max_none(r, f);
	}
	return count;
}

/*
 * The count test's limit: upstream's below PMD order in a range whose PMD
 * order is allowed and whose occupied PTEs (swap too) and max_ptes_none
 * more reach the PMD's need.
 */
static uint32_t gd_limit(const struct ref *r, unsigned o)
{
	uint32_t mpn = r->pc->s.max_ptes_none, held = 0;

	if (o == r->pmd || r->pc->ctx == MA || !(r->orders & (1u << r->pmd)))
		return gd_max_none(r, o);
	for (uint32_t i = 0; i < r->n; i++)
		held += r->occupied[i] || r->pc->t.ptes[i] == 'w';
	if ((uint64_t)held + mpn >= (uint64_t)r->n - mpn)
		return up_max_none(r, o);
	return gd_max_none(r, o);
}

static bool gd_passes(const struct ref *r, uint32_t off, unsigned o)
{
	return gd_limit(r, o) >= (1u << o) ||
	       gd_count(r, off, o) >= (int64_t)(1u << o) - gd_limit(r, o);
}

static bool gd_holds_folio(const struct ref *r, uint32_t off, unsigned o)
{
	for (uint32_t i = off; i < off + (1u << o); i++) {
		uint8_t c = r->pc->t.ptes[i], f = r->pc->t.folios[i];

		if (o < r->pmd && !is_none(c) && c != 'w' && f != MTHP_NO_FOLIO && f >= o)
			return true;
	}
	return false;
}

static void gd_visit(struct ref *r, uint32_t off, unsigned o)
{
	if (gd_holds_folio(r, off, o))
		return;
	if ((r->orders & (1u << o)) && gd_passes(r, off, o)) {
		enum mthp_result res = ref_attempt(r, off, o, r->uffd ? 0 : gd_max_none(r, o));

		if (res == SCAN_SUCCEED) {
			add_collapse(r, off, o);
			return;
		}
		add_attempt(r, off, o, res);
	}
	if (r->orders & ((1u << o) - 1)) {
		gd_visit(r, off, o - 1);
		gd_visit(r, off + (1u << (o - 1)), o - 1);
	}
}

/* ------------------------------------------------------------------ */
/* Reference: seed, explicit stack */

struct seed_ref {
	bool chunk[MTHP_MAX_PTES / 4];
	bool pmd_only;
};

static bool seed_density(const struct ref *r, const struct seed_ref *sr,
			 uint32_t off, unsigned o)
{
	const struct mthp_settings *s = &r->pc->s;
	uint32_t b = 0, t;

	if (sr->pmd_only || s->size_enabled[o] == MTHP_MODE_ALWAYS)
		return true;
	for (uint32_t k = off / 4; k < off / 4 + (1u << (o - 2)); k++)
		if (sr->chunk[k])
			b++;
	t = (r->n - 1 - s->max_ptes_none) >> (r->pmd - o + 2);
	return b > t;
}

static enum mthp_result seed_attempt(struct ref *r, uint32_t off, unsigned o)
{
	const struct pcase *pc = r->pc;
	uint64_t lim_none;
	uint32_t none = 0, shared = 0;

	if (window_has(r, off, o, 'w')) {
		if (o < r->pmd)
			return SCAN_EXCEED_SWAP_PTE;
		ref_drain(r);		/* swapped in */
	}
	if (r->uffd)
		lim_none = 0;
	else if (pc->ctx == KH)
		lim_none = pc->s.max_ptes_none >> (r->pmd - o);
	else
		lim_none = UINT64_MAX;
	for (uint32_t i = off; i < off + (1u << o); i++) {
		uint8_t c = pc->t.ptes[i];

		if (is_none(c) && ++none > lim_none)
			return ref_batch(r, off, i, SCAN_EXCEED_NONE_PTE);
		if (is_shared(c)) {
			if (o < r->pmd)
				return ref_batch(r, off, i, SCAN_EXCEED_SHARED_PTE);
			if (pc->ctx == KH && ++shared > pc->s.max_ptes_shared)
				return ref_batch(r, off, i, SCAN_EXCEED_SHARED_PTE);
		}
		if (!is_none(c) && r->held[i])
			return ref_batch(r, off, i, SCAN_PAGE_COUNT);
	}
	return ref_passed(r, off, o);
}

static void seed_walk(struct ref *r)
{
	static struct seed_ref sr;
	uint32_t s_none = r->pc->s.max_ptes_none >> (r->pmd - 2);
	uint32_t nchunks = r->n / 4;
	struct {
		uint32_t off;
		unsigned o;
	} stack[64];
	unsigned depth = 0;

	sr.pmd_only = r->orders == (1u << r->pmd);
	for (uint32_t k = 0; k < nchunks; k++) {
		uint32_t none = 0;

		for (uint32_t i = 4 * k; i < 4 * k + 4; i++)
			none += is_none(r->pc->t.ptes[i]);
		sr.chunk[k] = k != nchunks - 1 && none <= s_none;
	}

	stack[depth].off = 0;
	stack[depth++].o = r->pmd;
	while (depth) {
		uint32_t off = stack[--depth].off;
		unsigned o = stack[depth].o;

		if ((r->orders & (1u << o)) && seed_density(r, &sr, off, o)) {
			enum mthp_result res = seed_attempt(r, off, o);

			if (res == SCAN_SUCCEED) {
				add_collapse(r, off, o);
				continue;
			}
			add_attempt(r, off, o, res);
		}
		if (o > 2) {
			assert_true(depth + 2 <= 64);
			stack[depth].off = off + (1u << (o - 1));
			stack[depth++].o = o - 1;
			stack[depth].off = off;
			stack[depth++].o = o - 1;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Reference: the whole plan of one range */

static void ref_plan(struct rplan *out, const struct pcase *pc, enum mthp_policy pol)
{
	static struct ref r;
	uint32_t allowed;
	bool eligible;

	memset(out, 0, offsetof(struct rplan, c));
	r.pc = pc;
	r.pol = pol;
	r.n = pc->s.geo.ptes_per_pmd;
	r.pmd = pc->s.geo.pmd_order;
	r.uffd = pc->flags & MTHP_VMA_UFFD;
	r.out = out;
	ref_drain(&r);
	r.batch = pc->lru;
	out->lru_end = pc->lru;

	allowed = ref_allowed(&pc->s, pc->flags);
	if (pc->ctx == MA) {
		eligible = (pc->flags & MTHP_VMA_ANON) &&
			!(pc->flags & (MTHP_VMA_NOHUGEPAGE | MTHP_VMA_NOANONVMA));
		r.orders = 1u << r.pmd;
	} else if (pol == MTHP_POLICY_UPSTREAM || pol == MTHP_POLICY_GUARDED) {
		r.orders = allowed;
		eligible = allowed != 0;
	} else {
		eligible = allowed & (1u << r.pmd);
		r.orders = pol == MTHP_POLICY_SEED ? allowed : 1u << r.pmd;
	}

	if (!eligible)
		out->scan = SCAN_VMA_CHECK;
	else if (pc->short_vma)
		out->scan = SCAN_ADDRESS_RANGE;
	else if (pc->kind == MTHP_PMD_NONE)
		out->scan = SCAN_NO_PTE_TABLE;
	else if (pc->kind == MTHP_PMD_HUGE)
		out->scan = SCAN_PMD_MAPPED;
	else
		out->scan = ref_scan(&r);
	if (out->scan != SCAN_SUCCEED)
		return;

	switch (pol) {
	case MTHP_POLICY_LEGACY:
		add_collapse(&r, 0, r.pmd);
		ref_drain(&r);
		break;
	case MTHP_POLICY_UPSTREAM:
		up_visit(&r, 0, r.pmd);
		break;
	case MTHP_POLICY_SEED:
		seed_walk(&r);
		break;
	case MTHP_POLICY_GUARDED:
		gd_visit(&r, 0, r.pmd);
		break;
	}
	out->lru_end = r.batch;
}

/* ------------------------------------------------------------------ */
/* Random cases */

static enum mthp_thp_mode random_mode(struct mthp_rng *g)
{
	static const enum mthp_thp_mode modes[] = {
		MTHP_MODE_NEVER, MTHP_MODE_NEVER, MTHP_MODE_NEVER, MTHP_MODE_NEVER,
		MTHP_MODE_ALWAYS, MTHP_MODE_ALWAYS, MTHP_MODE_MADVISE, MTHP_MODE_INHERIT,
		MTHP_MODE_INHERIT, MTHP_MODE_MADVISE,
	};

	return modes[mthp_rng_below(g, sizeof(modes) / sizeof(modes[0]))];
}

static void random_case(struct pcase *pc, struct mthp_rng *g)
{
	struct mthp_geometry geo;
	uint32_t n, pick = mthp_rng_below(g, 64);
	unsigned pmd;

	n = pick == 0 ? 8192 : pick < 5 ? 2048 : 512;
	assert_int_equal(mthp_geometry_from_ptes(&geo, n), 0);
	pmd = geo.pmd_order;
	mthp_settings_init(&pc->s, &geo);

	switch (mthp_rng_below(g, 3)) {
	case 0: pc->s.max_ptes_none = 0; break;
	case 1: pc->s.max_ptes_none = n - 1; break;
	default: pc->s.max_ptes_none = mthp_rng_below(g, n); break;
	}
	if (mthp_rng_below(g, 3) == 0)
		pc->s.max_ptes_swap = mthp_rng_below(g, 4) == 0 ? 0 : mthp_rng_below(g, n);
	if (mthp_rng_below(g, 3) == 0)
		pc->s.max_ptes_shared = mthp_rng_below(g, 4) == 0 ? 0 : mthp_rng_below(g, n);
	pc->s.enabled = (enum mthp_thp_mode[]){ MTHP_MODE_ALWAYS, MTHP_MODE_MADVISE,
						MTHP_MODE_NEVER }[mthp_rng_below(g, 3)];
	for (unsigned o = 2; o < pmd; o++)
		pc->s.size_enabled[o] = random_mode(g);
	if (mthp_rng_below(g, 2) == 0)
		pc->s.size_enabled[pmd] = random_mode(g);

	pc->flags = MTHP_VMA_ANON;
	if (mthp_rng_below(g, 10) < 7)
		pc->flags |= MTHP_VMA_HUGEPAGE;
	if (mthp_rng_below(g, 14) == 0)
		pc->flags |= MTHP_VMA_UFFD;
	switch (mthp_rng_below(g, 100)) {
	case 0: case 1: pc->flags |= MTHP_VMA_NOHUGEPAGE; break;
	case 2: pc->flags |= MTHP_VMA_NOANONVMA; break;
	case 3: pc->flags = MTHP_VMA_FILE | (pc->flags & MTHP_VMA_HUGEPAGE); break;
	}
	pc->ctx = mthp_rng_below(g, 5) == 0 ? MA : KH;

	pc->kind = MTHP_PMD_TABLE;
	pc->short_vma = false;
	switch (mthp_rng_below(g, 100)) {
	case 0: case 1: pc->kind = MTHP_PMD_NONE; break;
	case 2: pc->kind = MTHP_PMD_HUGE; break;
	case 3: pc->short_vma = true; break;
	}
	/* half the ranges come after others that left folios in the batch */
	pc->lru = mthp_rng_below(g, 2) ? 0 : 1 + mthp_rng_below(g, 30);
	mt_table_random(&pc->t, n, g, 1);
	/* the machine: no cont entries, Zen's 4 PTEs, arm64's contpte */
	pc->s.geo.cont_order = (uint32_t[]){ 0, 2, 4, geo.cont_order }[mthp_rng_below(g, 4)];
	/* half the tables say which folios may hold fills, at random */
	pc->t.has_fills = mthp_rng_below(g, 2);
	for (uint32_t i = 0; pc->t.has_fills && i < n; i++)
		pc->t.fills[i] = (uint8_t)mthp_rng_below(g, 2);
}

static const struct mthp_pmd_plan *engine_plan(const struct pcase *pc, enum mthp_policy pol)
{
	uint64_t size = mthp_pmd_size(&pc->s.geo);
	struct mthp_range range = {
		.pmd_addr = MT_PMD_ADDR,
		.vma_start = MT_PMD_ADDR,
		.vma_end = MT_PMD_ADDR + size - (pc->short_vma ? (size - pc->s.geo.page_size) : 0),
		.kind = pc->kind,
		.ptes = pc->kind == MTHP_PMD_TABLE ? pc->t.ptes : NULL,
		.folio_orders = pc->kind == MTHP_PMD_TABLE ? pc->t.folios : NULL,
		.folio_fills = pc->kind == MTHP_PMD_TABLE && pc->t.has_fills ? pc->t.fills : NULL,
		.lru_batch = pc->lru,
	};

	return mt_plan_range(&pc->s, pol, pc->ctx, pc->flags, &range);
}

/* ------------------------------------------------------------------ */
/* Reporting */

static void dump_case(const struct pcase *pc, unsigned idx, enum mthp_policy pol)
{
	uint32_t n = pc->t.n;

	fprintf(stderr, "\n== table %u, policy %s, context %s, N %u\n", idx,
		mthp_policy_name(pol), mthp_context_name(pc->ctx), n);
	fprintf(stderr, "vma flags 0x%x%s%s%s%s%s, kind %d%s\n", pc->flags,
		pc->flags & MTHP_VMA_ANON ? " anon" : "",
		pc->flags & MTHP_VMA_HUGEPAGE ? " hugepage" : "",
		pc->flags & MTHP_VMA_NOHUGEPAGE ? " nohugepage" : "",
		pc->flags & MTHP_VMA_UFFD ? " uffd" : "",
		pc->flags & MTHP_VMA_NOANONVMA ? " noanonvma" : "",
		(int)pc->kind, pc->short_vma ? ", short VMA" : "");
	fprintf(stderr, "settings: enabled %s, max_ptes_none %u, swap %u, shared %u, sizes",
		mthp_thp_mode_name(pc->s.enabled), pc->s.max_ptes_none,
		pc->s.max_ptes_swap, pc->s.max_ptes_shared);
	for (unsigned o = 2; o <= pc->s.geo.pmd_order; o++)
		fprintf(stderr, " %u:%s", o, mthp_thp_mode_name(pc->s.size_enabled[o]));
	fprintf(stderr, "\nPTES   %.*s\nFOLIOS ", (int)n, (const char *)pc->t.ptes);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t f = pc->t.folios[i];

		fputc(f == MTHP_NO_FOLIO ? '-' : "0123456789abcd"[f < 14 ? f : 0], stderr);
	}
	fputc('\n', stderr);
}

static const char *rplan_str(const struct rplan *rp)
{
	static struct mthp_pmd_plan p;

	p.scan = rp->scan;
	p.pages_filled = rp->filled;
	p.nr_collapses = rp->nc;
	p.nr_attempts = rp->na;
	memcpy(p.collapses, rp->c, rp->nc * sizeof(rp->c[0]));
	memcpy(p.attempts, rp->a, rp->na * sizeof(rp->a[0]));
	return mt_plan_str(&p);
}

static bool same_plan(const struct mthp_pmd_plan *p, const struct rplan *rp)
{
	if (p->scan != rp->scan || p->pages_filled != rp->filled ||
	    p->nr_collapses != rp->nc || p->nr_attempts != rp->na)
		return false;
	for (uint32_t i = 0; i < rp->nc; i++)
		if (p->collapses[i].offset != rp->c[i].offset ||
		    p->collapses[i].order != rp->c[i].order)
			return false;
	for (uint32_t i = 0; i < rp->na; i++)
		if (p->attempts[i].offset != rp->a[i].offset ||
		    p->attempts[i].order != rp->a[i].order ||
		    p->attempts[i].result != rp->a[i].result)
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Properties that must hold for every plan, whatever the reference says */

/* Walk order (pre-order of the binary split): offset up, then order down. */
static bool before(const struct mthp_window *a, const struct mthp_window *b)
{
	return a->offset < b->offset || (a->offset == b->offset && a->order > b->order);
}

static bool inside(const struct mthp_window *in, const struct mthp_window *out)
{
	return in->offset >= out->offset &&
		in->offset + (1u << in->order) <= out->offset + (1u << out->order);
}

static bool overlap(const struct mthp_window *a, const struct mthp_window *b)
{
	return a->offset < b->offset + (1u << b->order) &&
		b->offset < a->offset + (1u << a->order);
}

/* Returns NULL or what is wrong. */
static const char *check_plan(const struct mthp_pmd_plan *p, const struct pcase *pc,
			      enum mthp_policy pol)
{
	static bool covered[MTHP_MAX_PTES];
	uint32_t n = pc->s.geo.ptes_per_pmd;
	unsigned pmd = pc->s.geo.pmd_order;
	uint32_t allowed = ref_allowed(&pc->s, pc->flags);
	uint32_t may;
	uint32_t filled = 0;

	if (pc->ctx == MA || pol == MTHP_POLICY_LEGACY)
		may = 1u << pmd;
	else
		may = allowed;

	if (p->nr_collapses > MTHP_MAX_COLLAPSES || p->nr_attempts > MTHP_MAX_ATTEMPTS)
		return "counts out of bounds";
	if (p->scan != SCAN_SUCCEED &&
	    (p->nr_collapses || p->nr_attempts || p->pages_filled))
		return "a failed range has collapses, attempts or pages_filled";
	if (pol == MTHP_POLICY_LEGACY && (p->nr_collapses > 1 || p->nr_attempts))
		return "legacy: more than one collapse, or an attempt";
	if (p->scan == SCAN_SUCCEED && pol == MTHP_POLICY_LEGACY && p->nr_collapses != 1)
		return "legacy: scan passed without the PMD collapse";

	memset(covered, 0, n * sizeof(covered[0]));
	for (uint32_t i = 0; i < p->nr_collapses; i++) {
		const struct mthp_window *w = &p->collapses[i];
		uint32_t len = 1u << w->order;

		if (w->order < 2 || w->order > pmd)
			return "collapse order outside 2..PMD";
		if (!(may & (1u << w->order)))
			return "collapse at an order that is not allowed";
		if (w->offset % len)
			return "collapse window not naturally aligned";
		if (w->offset + len > n)
			return "collapse window outside the range";
		if (i && !before(&p->collapses[i - 1], w))
			return "collapses not in walk (address) order";
		for (uint32_t k = w->offset; k < w->offset + len; k++) {
			if (covered[k])
				return "collapse windows overlap";
			covered[k] = true;
			filled += is_none(pc->t.ptes[k]);
			if (pol != MTHP_POLICY_LEGACY && w->order < pmd &&
			    (pc->t.ptes[k] == 'w' || is_shared(pc->t.ptes[k])))
				return "a collapse below PMD holds a swap or shared PTE";
		}
		if (pc->ctx == KH) {
			bool young = false;

			for (uint32_t k = w->offset; k < w->offset + len; k++)
				young |= is_young(pc->t.ptes[k]);
			if (!young)
				return "khugepaged collapse without a young PTE";
		}
	}
	if (filled != p->pages_filled)
		return "pages_filled is not the none/zero PTEs inside the collapses";

	for (uint32_t i = 0; i < p->nr_attempts; i++) {
		const struct mthp_window *w = &p->attempts[i];
		uint32_t len = 1u << w->order;

		if (w->order < 2 || w->order > pmd || !(may & (1u << w->order)))
			return "attempt at an order that is not allowed";
		if (w->offset % len || w->offset + len > n)
			return "attempt window misaligned or outside the range";
		if (i && !before(&p->attempts[i - 1], w))
			return "attempts not in walk order";
		switch (w->result) {
		case SCAN_EXCEED_NONE_PTE:
			if ((pol == MTHP_POLICY_UPSTREAM || pol == MTHP_POLICY_GUARDED) &&
			    !(pc->flags & MTHP_VMA_UFFD))
				return "upstream/guarded EXCEED_NONE attempt outside a uffd VMA";
			break;
		case SCAN_EXCEED_SWAP_PTE:
		case SCAN_EXCEED_SHARED_PTE:
		case SCAN_PAGE_COUNT:	/* a page the LRU add batch holds */
			break;
		case SCAN_LACK_REFERENCED_PAGE:
			if (pc->ctx == MA)
				return "LACK_REFERENCED attempt in context madvise";
			break;
		case SCAN_PTE_MAPPED_HUGEPAGE:
			if (pol != MTHP_POLICY_UPSTREAM || w->order == pmd)
				return "PTE_MAPPED_HUGEPAGE outside upstream below PMD";
			break;
		default:
			return "attempt result that no attempt can give";
		}
		/* attempts never lie inside (or on) a collapse: a window after
		 * a collapse in walk order is disjoint from it */
		for (uint32_t k = 0; k < p->nr_collapses; k++) {
			const struct mthp_window *c = &p->collapses[k];

			if (overlap(w, c) && !(inside(c, w) && w->order > c->order))
				return "an attempt overlaps a collapse that came before it";
		}
		/* nothing is visited inside a window that advanced */
		if (w->result == SCAN_PTE_MAPPED_HUGEPAGE) {
			for (uint32_t k = 0; k < p->nr_collapses; k++)
				if (inside(&p->collapses[k], w))
					return "a collapse inside a PTE_MAPPED_HUGEPAGE window";
			for (uint32_t k = 0; k < p->nr_attempts; k++)
				if (k != i && inside(&p->attempts[k], w))
					return "an attempt inside a PTE_MAPPED_HUGEPAGE window";
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */

static unsigned nr_tables(void)
{
	const char *e = getenv("MTHP_PROP_TABLES");

	if (e && *e) {
		long v = strtol(e, NULL, 10);

		if (v > 0)
			return (unsigned)v;
	}
	return 100000;
}

struct stats {
	unsigned tables, succeed, collapses, attempts, below_pmd, mapped;
};

static void run_policy(enum mthp_policy pol, uint64_t seed)
{
	static struct pcase pc;
	static struct rplan rp;
	static char legacy_str[256 * 1024];
	struct mthp_rng g;
	struct stats st = { 0 };
	unsigned tables = nr_tables();

	mthp_rng_seed(&g, seed);
	for (unsigned i = 0; i < tables; i++) {
		const struct mthp_pmd_plan *p;
		const char *why;

		random_case(&pc, &g);
		p = engine_plan(&pc, pol);
		why = check_plan(p, &pc, pol);
		if (why) {
			dump_case(&pc, i, pol);
			fprintf(stderr, "engine:    %s\n", mt_plan_str(p));
			fail_msg("property broken: %s", why);
		}
		ref_plan(&rp, &pc, pol);
		if (!same_plan(p, &rp) || p->lru_batch_end != rp.lru_end) {
			dump_case(&pc, i, pol);
			fprintf(stderr, "engine:    %s (batch %u before, %u after)\nreference: %s "
				"(%u after)\n", mt_plan_str(p), pc.lru, p->lru_batch_end,
				rplan_str(&rp), rp.lru_end);
			fail_msg("engine and reference disagree on table %u (%s)", i,
				 mthp_policy_name(pol));
		}
		st.tables++;
		st.succeed += p->scan == SCAN_SUCCEED;
		st.collapses += p->nr_collapses;
		st.attempts += p->nr_attempts;
		for (uint32_t k = 0; k < p->nr_collapses; k++)
			st.below_pmd += p->collapses[k].order < pc.s.geo.pmd_order;
		for (uint32_t k = 0; k < p->nr_attempts; k++)
			st.mapped += p->attempts[k].result == SCAN_PTE_MAPPED_HUGEPAGE;

		/* seed decides as legacy when PMD-only or in context madvise,
		 * and upstream as legacy in context madvise */
		if (pol != MTHP_POLICY_LEGACY) {
			uint32_t allowed = ref_allowed(&pc.s, pc.flags);
			unsigned pmd = pc.s.geo.pmd_order;
			bool as_legacy = pc.ctx == MA ||
				(pol == MTHP_POLICY_SEED && allowed == (1u << pmd));

			if (as_legacy) {
				snprintf(legacy_str, sizeof(legacy_str), "%s", mt_plan_str(p));
				p = engine_plan(&pc, MTHP_POLICY_LEGACY);
				if (strcmp(legacy_str, mt_plan_str(p))) {
					dump_case(&pc, i, pol);
					fail_msg("%s decides unlike legacy: '%s' vs '%s'",
						 mthp_policy_name(pol), legacy_str, mt_plan_str(p));
				}
			}
		}
	}
	fprintf(stderr, "%s: %u tables, %u scanned through, %u collapses (%u below PMD), "
		"%u failed attempts (%u PTE_MAPPED_HUGEPAGE)\n", mthp_policy_name(pol),
		st.tables, st.succeed, st.collapses, st.below_pmd, st.attempts, st.mapped);
	/* the random mix must reach the interesting cases */
	if (tables >= 10000) {
		assert_true(st.succeed > tables / 5);
		assert_true(st.collapses > tables / 5);
		if (pol != MTHP_POLICY_LEGACY) {
			assert_true(st.below_pmd > tables / 20);
			assert_true(st.attempts > tables / 20);
		}
		if (pol == MTHP_POLICY_UPSTREAM)
			assert_true(st.mapped > tables / 200);
	}
}

/* Each policy against its reference, on its own stream of random tables. */
struct policy_run {
	enum mthp_policy policy;
	uint64_t seed;
};

static const struct policy_run legacy_run = { MTHP_POLICY_LEGACY, 0x1e9acull };
/* the recursive reference */
static const struct policy_run upstream_run = { MTHP_POLICY_UPSTREAM, 0x0b57ea3ull };
/* the stack reference */
static const struct policy_run seed_run = { MTHP_POLICY_SEED, 0x5eedull };
/* the recursive reference, the folio discount counted PTE by PTE */
static const struct policy_run guarded_run = { MTHP_POLICY_GUARDED, 0x6a7dedull };

static void matches_reference_on_random_tables(void **state)
{
	const struct policy_run *r = *state;

	run_policy(r->policy, r->seed);
}

#define POLICY_CASE(name, run) \
	{ name, matches_reference_on_random_tables, NULL, NULL, (void *)&(run) }

/* The reference itself on the contract's worked examples, so that a
 * reference bug cannot hide behind agreement with the same engine bug. */
static void reference_reproduces_contract_examples(void **state)
{
	(void)state;
	static struct pcase pc;
	static struct rplan rp;
	static char want[4096];
	struct mthp_geometry geo;

	assert_int_equal(mthp_geometry_from_ptes(&geo, 512), 0);
	mthp_settings_init(&pc.s, &geo);
	pc.ctx = KH;
	pc.flags = MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE;
	pc.kind = MTHP_PMD_TABLE;
	pc.short_vma = false;

	/* upstream-swap-in-64k */
	for (unsigned o = 2; o <= 4; o++)
		pc.s.size_enabled[o] = MTHP_MODE_ALWAYS;
	pc.s.size_enabled[9] = MTHP_MODE_NEVER;
	mt_table_init(&pc.t, 512, 'A');
	mt_table_put(&pc.t, 5, "w");
	ref_plan(&rp, &pc, MTHP_POLICY_UPSTREAM);
	want[0] = '\0';
	mt_strcat(want, sizeof(want), "SUCCEED C[0/2 8/3");
	for (uint32_t off = 16; off < 512; off += 16)
		mt_strcat(want, sizeof(want), " %u/4", off);
	mt_strcat(want, sizeof(want), "] A[0/4:EXCEED_SWAP_PTE 0/3:EXCEED_SWAP_PTE "
		  "4/2:EXCEED_SWAP_PTE] F=0");
	assert_string_equal(rplan_str(&rp), want);

	/* seed-last-chunk */
	mthp_settings_init(&pc.s, &geo);
	pc.s.max_ptes_none = 0;
	for (unsigned o = 2; o < 9; o++)
		pc.s.size_enabled[o] = MTHP_MODE_MADVISE;
	mt_table_init(&pc.t, 512, 'A');
	ref_plan(&rp, &pc, MTHP_POLICY_SEED);
	assert_string_equal(rplan_str(&rp),
			    "SUCCEED C[0/8 256/7 384/6 448/5 480/4 496/3 504/2] A[] F=0");

	/* seed-creep round 1 */
	mthp_settings_init(&pc.s, &geo);
	pc.s.max_ptes_none = 384;
	for (unsigned o = 6; o < 9; o++)
		pc.s.size_enabled[o] = MTHP_MODE_MADVISE;
	mt_table_init(&pc.t, 512, '.');
	mt_table_fill(&pc.t, 0, 16, 'A');
	ref_plan(&rp, &pc, MTHP_POLICY_SEED);
	assert_string_equal(rplan_str(&rp), "SUCCEED C[0/6] A[] F=48");
	ref_plan(&rp, &pc, MTHP_POLICY_UPSTREAM);
	assert_string_equal(rplan_str(&rp), "SUCCEED C[] A[] F=0");

	/* uffd-upstream-mthp range 2 */
	mthp_settings_init(&pc.s, &geo);
	pc.s.size_enabled[4] = MTHP_MODE_ALWAYS;
	pc.flags |= MTHP_VMA_UFFD;
	mt_table_init(&pc.t, 512, '.');
	mt_table_fill(&pc.t, 0, 32, 'A');
	mt_table_put(&pc.t, 15, ".");
	ref_plan(&rp, &pc, MTHP_POLICY_UPSTREAM);
	assert_string_equal(rplan_str(&rp),
			    "SUCCEED C[16/4] A[0/9:EXCEED_NONE_PTE 0/4:PAGE_COUNT] F=0");
}

/*
 * The attempt of a window decides from the window's PTEs alone: the
 * simulator re-checks a window on a table whose other PTEs it leaves as
 * none.  Random tables, each policy, every order and a few windows of
 * each: the swap-in step, the isolate step (with its stop, both ways of
 * swapped_in) and the whole attempt, on the table and on the table
 * emptied outside the window, must agree.
 */
static void attempts_read_only_their_window(void **state)
{
	(void)state;
	static struct pcase pc;
	static struct mt_table win;
	static struct mthp_scan full, alone;
	unsigned tables = nr_tables() / 10 + 1;
	uint32_t failed = 0, passed = 0;
	struct mthp_rng g;

	mthp_rng_seed(&g, 0xa11e7ull);
	for (unsigned i = 0; i < tables; i++) {
		enum mthp_policy pol = (enum mthp_policy)mthp_rng_below(&g, MTHP_NR_POLICIES);
		struct mthp_rules r;
		uint32_t n;

		random_case(&pc, &g);
		n = pc.t.n;
		mthp_rules_init(&r, &pc.s, pol, pc.ctx, pc.flags);
		mthp_scan(&full, &r, pc.t.ptes, pc.t.folios);
		for (unsigned o = 2; o <= pc.s.geo.pmd_order; o++) {
			for (unsigned k = 0; k < 3; k++) {
				uint32_t len = 1u << o, off = mthp_rng_below(&g, n / len) * len;
				enum mthp_result a, b;
				uint32_t stop_a, stop_b;

				memset(win.ptes, MTHP_PTE_NONE, n);
				memset(win.folios, MTHP_NO_FOLIO, n);
				memcpy(win.ptes + off, pc.t.ptes + off, len);
				memcpy(win.folios + off, pc.t.folios + off, len);
				mthp_scan(&alone, &r, win.ptes, win.folios);
				assert_int_equal(mthp_attempt_swapin(&r, &full, off, o),
						 mthp_attempt_swapin(&r, &alone, off, o));
				for (int sw = 0; sw < 2; sw++) {
					a = mthp_attempt_isolate_at(&r, &full, off, o, sw, &stop_a);
					b = mthp_attempt_isolate_at(&r, &alone, off, o, sw, &stop_b);
					if (a != b || stop_a != stop_b) {
						dump_case(&pc, i, pol);
						fail_msg("window %u/%u, swapped_in %d: %s stop %u on the "
							 "table, %s stop %u on the window alone", off, o,
							 sw, mthp_result_name(a), stop_a,
							 mthp_result_name(b), stop_b);
					}
				}
				a = mthp_attempt(&r, &full, off, o);
				assert_int_equal(a, mthp_attempt(&r, &alone, off, o));
				failed += a != SCAN_SUCCEED;
				passed += a == SCAN_SUCCEED;
			}
		}
	}
	fprintf(stderr, "window alone: %u tables, %u attempts passed, %u failed\n", tables,
		passed, failed);
	/* both outcomes must be common for the agreement to mean anything */
	if (tables >= 1000) {
		assert_true(passed > tables / 4);
		assert_true(failed > tables / 4);
	}
}

/*
 * The plan decides the walk below PMD order a word of PTEs at a time where
 * every allowed order below PMD accepts no none PTE (engine/bulk.c); a plan
 * with an observer still takes the walk a window at a time, as every other
 * setting does.  The two must agree on everything a plan says, the LRU add
 * batch left for the next range included.  Ten times MTHP_PROP_TABLES
 * random tables (10^6 by default), with settings drawn so that most of
 * them take the word-at-a-time path: seed, upstream and guarded in
 * khugepaged context, max_ptes_none 0 or small, sizes often always or
 * inherit.
 */
static void no_visit(void *ctx, const struct mthp_visit *v)
{
	(void)ctx;
	(void)v;
}

static void bulk_case(struct pcase *pc, struct mthp_rng *g, enum mthp_policy *pol)
{
	unsigned pmd;

	random_case(pc, g);
	pmd = pc->s.geo.pmd_order;
	*pol = (enum mthp_policy[]){ MTHP_POLICY_SEED, MTHP_POLICY_UPSTREAM,
				     MTHP_POLICY_GUARDED }[mthp_rng_below(g, 3)];
	pc->ctx = mthp_rng_below(g, 16) ? KH : MA;
	switch (mthp_rng_below(g, 4)) {
	case 0: case 1: pc->s.max_ptes_none = 0; break;
	/* seed scales it: 0 below PMD while it is under 2^(PMD - o) */
	case 2: pc->s.max_ptes_none = mthp_rng_below(g, 1u << (pmd - 6)); break;
	default: pc->s.max_ptes_none = mthp_rng_below(g, pc->s.geo.ptes_per_pmd); break;
	}
	pc->s.enabled = mthp_rng_below(g, 4) ? MTHP_MODE_ALWAYS : MTHP_MODE_MADVISE;
	if (mthp_rng_below(g, 4) == 0)
		pc->s.size_enabled[pmd] = MTHP_MODE_ALWAYS;
	/* every shape of the walk: often orders 2 and 4 as the benchmark has them */
	if (mthp_rng_below(g, 3) == 0) {
		for (unsigned o = 2; o < pmd; o++)
			pc->s.size_enabled[o] = MTHP_MODE_NEVER;
		pc->s.size_enabled[2] = mthp_rng_below(g, 2) ? MTHP_MODE_ALWAYS : MTHP_MODE_INHERIT;
		pc->s.size_enabled[4] = mthp_rng_below(g, 2) ? MTHP_MODE_ALWAYS : MTHP_MODE_MADVISE;
	}
	if (mthp_rng_below(g, 2))
		pc->flags &= ~(MTHP_VMA_NOHUGEPAGE | MTHP_VMA_NOANONVMA);
}

static int refuse_every_window(const struct mthp_plugin_window *w)
{
	(void)w;
	return 0;
}

/*
 * A plug-in put in the rules after mthp_rules_init() (as a simulator with
 * its own does) decides the windows, where the word-at-a-time path would
 * otherwise have: a full table at max_ptes_none 0 under upstream, which
 * that path takes, collapses nothing when the plug-in refuses every window.
 */
static void plugin_set_after_init_is_asked(void **state)
{
	static const struct mthp_policy_plugin refuse = {
		.version = MTHP_POLICY_PLUGIN_VERSION, .name = "refuse", .fallback = "upstream",
		.window_attempt = refuse_every_window,
	};
	static struct mthp_planner work;
	static uint8_t ptes[512], folios[512];
	struct mthp_geometry geo;
	struct mthp_pmd_plan plan;
	struct mthp_settings s;
	struct mthp_rules r;
	struct mthp_range range;

	(void)state;
	assert_int_equal(mthp_geometry_from_page_size(&geo, 4096), 0);
	mthp_settings_init(&s, &geo);
	s.max_ptes_none = 0;
	s.enabled = MTHP_MODE_ALWAYS;
	s.size_enabled[4] = MTHP_MODE_ALWAYS;
	memset(ptes, MTHP_PTE_YOUNG, sizeof(ptes));
	memset(folios, 0, sizeof(folios));
	range = (struct mthp_range){
		.pmd_addr = MT_PMD_ADDR, .vma_start = MT_PMD_ADDR,
		.vma_end = MT_PMD_ADDR + mthp_pmd_size(&geo), .kind = MTHP_PMD_TABLE,
		.ptes = ptes, .folio_orders = folios,
	};
	mthp_rules_init(&r, &s, MTHP_POLICY_UPSTREAM, MTHP_CONTEXT_KHUGEPAGED, MTHP_VMA_ANON);
	mthp_plan_range(&plan, &r, &range, &work);
	assert_int_equal(plan.nr_collapses, 1);	/* the whole table at PMD order */
	r.plugin = &refuse;
	mthp_plan_range(&plan, &r, &range, &work);
	assert_int_equal(plan.nr_collapses, 0);
}

static void bulk_matches_walk_on_random_tables(void **state)
{
	static struct pcase pc;
	static struct mthp_pmd_plan bulk, walk;
	static struct mthp_planner work;
	unsigned tables = nr_tables() * 10, taken = 0, below = 0, counted = 0;
	struct mthp_rng g;

	(void)state;
	mthp_rng_seed(&g, 0xb01cull);
	for (unsigned i = 0; i < tables; i++) {
		uint64_t size;
		struct mthp_rules r;
		enum mthp_policy pol;
		struct mthp_range range;

		bulk_case(&pc, &g, &pol);
		size = mthp_pmd_size(&pc.s.geo);
		range = (struct mthp_range){
			.pmd_addr = MT_PMD_ADDR, .vma_start = MT_PMD_ADDR,
			.vma_end = MT_PMD_ADDR + size, .kind = pc.kind,
			.ptes = pc.kind == MTHP_PMD_TABLE ? pc.t.ptes : NULL,
			.folio_orders = pc.kind == MTHP_PMD_TABLE ? pc.t.folios : NULL,
			.lru_batch = pc.lru,
		};
		mthp_rules_init(&r, &pc.s, pol, pc.ctx, pc.flags);
		memset(&bulk, 0xa5, sizeof(bulk));
		memset(&walk, 0x5a, sizeof(walk));
		mthp_plan_range_observed(&walk, &r, &range, &work, no_visit, NULL);
		mthp_plan_range(&bulk, &r, &range, &work);
		if (bulk.scan == SCAN_SUCCEED && mthp_plan_bulk_applies(&r, &work.scan)) {
			taken++;
			for (uint32_t k = 0; k < walk.nr_collapses; k++)
				below += walk.collapses[k].order < pc.s.geo.pmd_order;
			for (uint32_t k = 0; k < walk.nr_attempts; k++)
				counted += walk.attempts[k].result == SCAN_PAGE_COUNT;
		}
		if (!mt_plans_equal(&walk, &bulk)) {
			dump_case(&pc, i, pol);
			fprintf(stderr, "walk: %s (batch %u before, %u after)\n", mt_plan_str(&walk),
				pc.lru, walk.lru_batch_end);
			fprintf(stderr, "bulk: %s (%u after)\n", mt_plan_str(&bulk),
				bulk.lru_batch_end);
			fail_msg("the word-at-a-time plan and the walk differ on table %u", i);
		}
	}
	fprintf(stderr, "bulk: %u tables, %u planned a word at a time, %u collapses below PMD, "
		"%u SCAN_PAGE_COUNT attempts\n", tables, taken, below, counted);
	/* the fast path must be taken, and reach collapses and the batch */
	if (tables >= 100000) {
		assert_true(taken > tables / 4);
		assert_true(below > tables / 4);
		assert_true(counted > tables / 20);
	}
}

/*
 * The plan attempts the PMD window before it sets up the walk, when the
 * walk would hand it out first (mthp_walk_hands_out_pmd()), and goes on
 * with the walk when that attempt fails.  An observer makes the plan take
 * the walk from the start: on random tables of every policy, setting and
 * geometry both give the same plan, and mthp_walk_hands_out_pmd() says
 * what the walk's first mthp_walk_next() hands out.
 */
static void pmd_first_matches_walk_on_random_tables(void **state)
{
	static struct pcase pc;
	static struct mthp_pmd_plan fast, walk;
	static struct mthp_planner work;
	static struct mthp_walk w;
	unsigned tables = nr_tables(), collapsed = 0, went_on = 0;
	struct mthp_rng g;

	(void)state;
	mthp_rng_seed(&g, 0x9d1f5ull);
	for (unsigned i = 0; i < tables; i++) {
		enum mthp_policy pol = (enum mthp_policy)mthp_rng_below(&g, 4);
		struct mthp_window win;
		struct mthp_rules r;
		struct mthp_range range;
		bool first, handed;

		random_case(&pc, &g);
		/*
		 * a PMD attempt fails after its window passed the test mostly in
		 * a userfaultfd VMA (its attempts take no none PTE, 7.2's scan
		 * and count test do): more of them
		 */
		if (mthp_rng_below(&g, 4) == 0)
			pc.flags |= MTHP_VMA_UFFD;
		range = (struct mthp_range){
			.pmd_addr = MT_PMD_ADDR, .vma_start = MT_PMD_ADDR,
			.vma_end = MT_PMD_ADDR + mthp_pmd_size(&pc.s.geo), .kind = pc.kind,
			.ptes = pc.kind == MTHP_PMD_TABLE ? pc.t.ptes : NULL,
			.folio_orders = pc.kind == MTHP_PMD_TABLE ? pc.t.folios : NULL,
			.folio_fills = pc.kind == MTHP_PMD_TABLE && pc.t.has_fills ? pc.t.fills : NULL,
			.lru_batch = pc.lru,
		};
		mthp_rules_init(&r, &pc.s, pol, pc.ctx, pc.flags);
		memset(&fast, 0xa5, sizeof(fast));
		memset(&walk, 0x5a, sizeof(walk));
		mthp_plan_range_observed(&walk, &r, &range, &work, no_visit, NULL);
		mthp_plan_range(&fast, &r, &range, &work);
		if (!mt_plans_equal(&walk, &fast)) {
			dump_case(&pc, i, pol);
			fprintf(stderr, "walk: %s\nplan: %s\n", mt_plan_str(&walk), mt_plan_str(&fast));
			fail_msg("the plan and the walk from the start differ on table %u", i);
		}
		if (fast.scan != SCAN_SUCCEED || mthp_plan_bulk_applies(&r, &work.scan))
			continue;
		/* the scan the plan left: the walk's first window against the test */
		first = mthp_walk_hands_out_pmd(&r, &work.scan);
		mthp_walk_init(&w, &r, &work.scan);
		handed = mthp_walk_next(&w, &win) && win.offset == 0 && win.order == r.pmd_order;
		if (first != handed) {
			dump_case(&pc, i, pol);
			fail_msg("table %u: mthp_walk_hands_out_pmd() says %d, the walk %d",
				 i, first, handed);
		}
		if (first && fast.nr_collapses && fast.collapses[0].order == r.pmd_order)
			collapsed++;
		else if (first)
			went_on++;
	}
	fprintf(stderr, "pmd first: %u tables, %u collapsed whole, %u went on with the walk\n",
		tables, collapsed, went_on);
	/* both ways out of the PMD attempt are taken */
	if (tables >= 100000) {
		assert_true(collapsed > tables / 20);
		assert_true(went_on > tables / 1000);
	}
}

MTHP_TEST_MAIN(
	cmocka_unit_test(reference_reproduces_contract_examples),
	cmocka_unit_test(attempts_read_only_their_window),
	POLICY_CASE("legacy_matches_reference_on_random_tables", legacy_run),
	POLICY_CASE("upstream_matches_recursive_reference_on_random_tables", upstream_run),
	POLICY_CASE("seed_matches_stack_reference_on_random_tables", seed_run),
	POLICY_CASE("guarded_matches_recursive_reference_on_random_tables", guarded_run),
	cmocka_unit_test(bulk_matches_walk_on_random_tables),
	cmocka_unit_test(pmd_first_matches_walk_on_random_tables),
	cmocka_unit_test(plugin_set_after_init_is_asked),
)
