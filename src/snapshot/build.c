// SPDX-License-Identifier: MIT
/*
 * build.c - the in-memory snapshot: init, free and the builders.  Every
 * rule of the format about settings, vmas and pmds that does not depend on
 * text is checked here, once, for the public builders and the reader
 * alike; the stored folio orders are normalised here (a PTE without a
 * folio stores MTHP_NO_FOLIO, a PTE with one stores an order, 0 if none
 * was given) so that writing and reading back gives the same snapshot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "common/array.h"
#include "common/msg.h"

static const struct mthp_geometry default_geo = { 4096, 512, 9 };

void mthp_snapshot_init(struct mthp_snapshot *snap, const struct mthp_geometry *geo)
{
	memset(snap, 0, sizeof(*snap));
	snap->geo = geo ? *geo : default_geo;
}

uint64_t mthp_snapshot_present_pages(const struct mthp_snapshot *snap)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < snap->nr_pmds; i++) {
		const struct mthp_snapshot_pmd *pmd = &snap->pmds[i];

		if (pmd->kind == MTHP_PMD_HUGE)
			pages += snap->geo.ptes_per_pmd;
		if (pmd->kind != MTHP_PMD_TABLE)
			continue;
		for (uint32_t k = 0; k < snap->geo.ptes_per_pmd; k++)
			pages += mthp_pte_state_has_folio(pmd->ptes[k]);
	}
	return pages;
}

const struct mthp_snapshot_vma *mthp_snapshot_vma_at(const struct mthp_snapshot *snap,
						     uint64_t addr)
{
	size_t lo = 0, hi = snap->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (snap->vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < snap->nr_vmas && snap->vmas[lo].start <= addr ? &snap->vmas[lo] : NULL;
}

void snap_pmd_free_ptes(struct mthp_snapshot_pmd *pmd)
{
	free(pmd->ptes);
	free(pmd->folio_orders);
	free(pmd->swap_orders);
	pmd->ptes = NULL;
	pmd->folio_orders = NULL;
	pmd->swap_orders = NULL;
}

void mthp_snapshot_free(struct mthp_snapshot *snap)
{
	struct mthp_geometry geo = snap->geo;

	for (size_t i = 0; i < snap->nr_settings; i++) {
		free(snap->settings[i].key);
		free(snap->settings[i].value);
	}
	for (size_t i = 0; i < snap->nr_vmas; i++)
		free(snap->vmas[i].unknown_flags);
	for (size_t i = 0; i < snap->nr_pmds; i++)
		snap_pmd_free_ptes(&snap->pmds[i]);
	free(snap->settings);
	free(snap->vmas);
	free(snap->pmds);
	mthp_snapshot_init(snap, &geo);
}

static char *copy_text(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* " (line N)" for a line that was read, "" for a built one. */
static const char *line_ref(char *buf, size_t buflen, unsigned line)
{
	if (!line)
		return "";
	snprintf(buf, buflen, " (line %u)", line);
	return buf;
}

/* A KEY or VALUE must be one token that a writer can write and read back. */
static int check_token(const char *what, const char *s, size_t len,
		       char *why, size_t whylen)
{
	char q[64];

	if (!len) {
		mthp_msg(why, whylen, "setting line: empty %s", what);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f) {
			snap_quote(q, sizeof(q), s, len);
			mthp_msg(why, whylen,
				 "setting line: %s '%s' has the control character 0x%02x at position %zu",
				 what, q, c, i);
			return -EINVAL;
		}
	}
	return 0;
}

int snap_add_setting(struct mthp_snapshot *snap, const char *key, size_t keylen,
		     const char *value, size_t valuelen, unsigned line,
		     char *why, size_t whylen)
{
	struct mthp_snapshot_setting *set;
	int err;

	err = check_token("KEY", key, keylen, why, whylen);
	if (!err)
		err = check_token("VALUE", value, valuelen, why, whylen);
	if (err)
		return err;
	err = mthp_array_grow((void **)&snap->settings, &snap->cap_settings,
			      snap->nr_settings, sizeof(*snap->settings));
	if (err)
		goto out_nomem;
	set = &snap->settings[snap->nr_settings];
	set->key = copy_text(key, keylen);
	set->value = copy_text(value, valuelen);
	if (!set->key || !set->value)
		goto out_free_set;
	set->line = line;
	snap->nr_settings++;
	return 0;

out_free_set:
	free(set->key);
	free(set->value);
out_nomem:
	mthp_msg(why, whylen, "out of memory");
	return -ENOMEM;
}

int mthp_snapshot_add_setting(struct mthp_snapshot *snap, const char *key,
			      const char *value)
{
	if (!key || !value)
		return -EINVAL;
	return snap_add_setting(snap, key, strlen(key), value, strlen(value), 0,
				NULL, 0);
}

static int check_vma(const struct mthp_snapshot *snap, uint64_t start,
		     uint64_t end, uint32_t flags, char *why, size_t whylen)
{
	const struct mthp_snapshot_vma *prev;
	char ref[32];

	if (flags & ~SNAP_KNOWN_VMA_FLAGS) {
		mthp_msg(why, whylen, "vma flags 0x%x have bits the format does not know",
			 flags);
		return -EINVAL;
	}
	if (start >= end) {
		mthp_msg(why, whylen, "vma start %llx is not below its end %llx",
			 (unsigned long long)start, (unsigned long long)end);
		return -EINVAL;
	}
	if (!snap->nr_vmas)
		return 0;
	prev = &snap->vmas[snap->nr_vmas - 1];
	if (start < prev->start) {
		mthp_msg(why, whylen,
			 "vma %llx-%llx is below the previous vma %llx-%llx%s: vmas must be in increasing order",
			 (unsigned long long)start, (unsigned long long)end,
			 (unsigned long long)prev->start, (unsigned long long)prev->end,
			 line_ref(ref, sizeof(ref), prev->line));
		return -EINVAL;
	}
	if (start < prev->end) {
		mthp_msg(why, whylen, "vma %llx-%llx overlaps the previous vma %llx-%llx%s",
			 (unsigned long long)start, (unsigned long long)end,
			 (unsigned long long)prev->start, (unsigned long long)prev->end,
			 line_ref(ref, sizeof(ref), prev->line));
		return -EINVAL;
	}
	return 0;
}

int snap_add_vma(struct mthp_snapshot *snap, uint64_t start, uint64_t end,
		 uint32_t flags, const char *unknown, unsigned line,
		 char *why, size_t whylen)
{
	struct mthp_snapshot_vma *vma;
	int err;

	err = check_vma(snap, start, end, flags, why, whylen);
	if (err)
		return err;
	err = mthp_array_grow((void **)&snap->vmas, &snap->cap_vmas, snap->nr_vmas,
			      sizeof(*snap->vmas));
	if (err)
		goto out_nomem;
	vma = &snap->vmas[snap->nr_vmas];
	vma->unknown_flags = NULL;
	if (unknown && *unknown) {
		vma->unknown_flags = copy_text(unknown, strlen(unknown));
		if (!vma->unknown_flags)
			goto out_nomem;
	}
	vma->start = start;
	vma->end = end;
	vma->flags = flags;
	vma->line = line;
	snap->nr_vmas++;
	return 0;

out_nomem:
	mthp_msg(why, whylen, "out of memory");
	return -ENOMEM;
}

int mthp_snapshot_add_vma(struct mthp_snapshot *snap, uint64_t start,
			  uint64_t end, uint32_t flags)
{
	return snap_add_vma(snap, start, end, flags, NULL, 0, NULL, 0);
}

/* Where the pmd goes: over the last vma, aligned, after the last pmd. */
static int check_pmd_place(const struct mthp_snapshot *snap, uint64_t addr,
			   char *why, size_t whylen)
{
	uint64_t size = mthp_pmd_size(&snap->geo);
	const struct mthp_snapshot_vma *vma;
	const struct mthp_snapshot_pmd *prev;
	char ref[32];

	if (!snap->nr_vmas) {
		mthp_msg(why, whylen, "pmd line before any vma line");
		return -EINVAL;
	}
	vma = &snap->vmas[snap->nr_vmas - 1];
	if (addr & (size - 1)) {
		mthp_msg(why, whylen, "address %llx is not aligned to the PMD size 0x%llx",
			 (unsigned long long)addr, (unsigned long long)size);
		return -EINVAL;
	}
	if ((addr < vma->start && vma->start - addr >= size) || addr >= vma->end) {
		mthp_msg(why, whylen, "pmd %llx is outside its vma %llx-%llx%s",
			 (unsigned long long)addr, (unsigned long long)vma->start,
			 (unsigned long long)vma->end,
			 line_ref(ref, sizeof(ref), vma->line));
		return -EINVAL;
	}
	if (!snap->nr_pmds)
		return 0;
	prev = &snap->pmds[snap->nr_pmds - 1];
	if (addr == prev->addr) {
		mthp_msg(why, whylen, "pmd %llx is repeated%s",
			 (unsigned long long)addr,
			 line_ref(ref, sizeof(ref), prev->line));
		return -EINVAL;
	}
	if (addr < prev->addr) {
		mthp_msg(why, whylen,
			 "pmd %llx is below the previous pmd %llx%s: pmd lines must be in increasing order",
			 (unsigned long long)addr, (unsigned long long)prev->addr,
			 line_ref(ref, sizeof(ref), prev->line));
		return -EINVAL;
	}
	return 0;
}

/* The swap order FOLIOS gives a PTE: 0 but under a 'w'. */
static uint8_t swap_order_of(const uint8_t *ptes, const uint8_t *folio_orders, uint32_t i)
{
	if (ptes[i] != MTHP_PTE_SWAP || folio_orders[i] == MTHP_NO_FOLIO)
		return 0;
	return folio_orders[i];
}

static bool has_swap_orders(const struct mthp_snapshot *snap, const uint8_t *ptes,
			    const uint8_t *folio_orders)
{
	for (uint32_t i = 0; i < snap->geo.ptes_per_pmd; i++)
		if (swap_order_of(ptes, folio_orders, i))
			return true;
	return false;
}

/*
 * A swap order k under a 'w' says its aligned block of 2^k PTEs are all
 * 'w' with swap order k (mthp_swap_orders() gives every PTE of a block
 * the block's order); k is 0 or from 2 to the PMD order less 1, the
 * orders a swap-in may bring in.
 */
static int check_swap_orders(const struct mthp_snapshot *snap, const uint8_t *ptes,
			     const uint8_t *folio_orders, char *why, size_t whylen)
{
	uint32_t n = snap->geo.ptes_per_pmd;

	for (uint32_t i = 0; i < n; i++) {
		uint8_t k = swap_order_of(ptes, folio_orders, i);
		uint32_t len = 1u << k, first = i & ~(len - 1);

		if (!k)
			continue;
		if (k < 2 || k >= snap->geo.pmd_order) {
			mthp_msg(why, whylen, "swap order %u at position %u: a swap order is 0 "
				 "or from 2 to %u", k, i, snap->geo.pmd_order - 1);
			return -EINVAL;
		}
		for (uint32_t j = first; j < first + len; j++) {
			if (swap_order_of(ptes, folio_orders, j) == k)
				continue;
			mthp_msg(why, whylen, "swap order %u at position %u: positions %u to %u "
				 "must all be 'w' of swap order %u (position %u is not)", k, i,
				 first, first + len - 1, k, j);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_pmd_content(const struct mthp_snapshot *snap,
			     enum mthp_pmd_kind kind, const uint8_t *ptes,
			     const uint8_t *folio_orders, char *why, size_t whylen)
{
	uint32_t n = snap->geo.ptes_per_pmd, bad;
	char q[16];

	if (kind != MTHP_PMD_NONE && kind != MTHP_PMD_HUGE && kind != MTHP_PMD_TABLE &&
	    kind != MTHP_PMD_ZERO) {
		mthp_msg(why, whylen, "bad pmd kind %d", (int)kind);
		return -EINVAL;
	}
	if (kind != MTHP_PMD_TABLE) {
		if (!ptes && !folio_orders)
			return 0;
		mthp_msg(why, whylen, "a pmd that is not a table has no PTES or FOLIOS");
		return -EINVAL;
	}
	if (!ptes) {
		mthp_msg(why, whylen, "a table pmd needs PTES");
		return -EINVAL;
	}
	bad = mthp_pte_states_check(ptes, n);
	if (bad < n) {
		snap_quote(q, sizeof(q), (const char *)&ptes[bad], 1);
		mthp_msg(why, whylen, "unknown PTE character '%s' at position %u", q, bad);
		return -EINVAL;
	}
	for (uint32_t i = 0; folio_orders && i < n; i++) {
		if (folio_orders[i] <= MTHP_MAX_PMD_ORDER || folio_orders[i] == MTHP_NO_FOLIO)
			continue;
		mthp_msg(why, whylen, "folio order %u at position %u is above %u",
			 folio_orders[i], i, MTHP_MAX_PMD_ORDER);
		return -EINVAL;
	}
	if (!folio_orders || !memchr(ptes, MTHP_PTE_SWAP, n))
		return 0;	/* no swap order to check (most tables) */
	return check_swap_orders(snap, ptes, folio_orders, why, whylen);
}

/* Copy orders, normalised against the PTE states (see the top of the file). */
static void copy_orders(uint8_t *dst, const uint8_t *ptes, const uint8_t *src,
			uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (!mthp_pte_state_has_folio(ptes[i]))
			dst[i] = MTHP_NO_FOLIO;
		else
			dst[i] = src[i] == MTHP_NO_FOLIO ? 0 : src[i];
	}
}

int snap_add_pmd(struct mthp_snapshot *snap, uint64_t addr,
		 enum mthp_pmd_kind kind, const uint8_t *ptes,
		 const uint8_t *folio_orders, unsigned line,
		 char *why, size_t whylen)
{
	uint32_t n = snap->geo.ptes_per_pmd;
	struct mthp_snapshot_pmd *pmd;
	int err;

	err = check_pmd_place(snap, addr, why, whylen);
	if (!err)
		err = check_pmd_content(snap, kind, ptes, folio_orders, why, whylen);
	if (err)
		return err;
	err = mthp_array_grow((void **)&snap->pmds, &snap->cap_pmds, snap->nr_pmds,
			      sizeof(*snap->pmds));
	if (err)
		goto out_nomem;
	pmd = &snap->pmds[snap->nr_pmds];
	memset(pmd, 0, sizeof(*pmd));
	if (ptes) {
		pmd->ptes = malloc(n);
		if (!pmd->ptes)
			goto out_nomem;
		memcpy(pmd->ptes, ptes, n);
	}
	if (folio_orders) {
		pmd->folio_orders = malloc(n);
		if (!pmd->folio_orders)
			goto out_free;
		copy_orders(pmd->folio_orders, ptes, folio_orders, n);
		if (ptes && memchr(ptes, MTHP_PTE_SWAP, n) &&
		    has_swap_orders(snap, ptes, folio_orders)) {
			pmd->swap_orders = malloc(n);
			if (!pmd->swap_orders)
				goto out_free;
			for (uint32_t i = 0; i < n; i++)
				pmd->swap_orders[i] = swap_order_of(ptes, folio_orders, i);
		}
	}
	pmd->addr = addr;
	pmd->kind = kind;
	pmd->vma = snap->nr_vmas - 1;
	pmd->line = line;
	snap->nr_pmds++;
	return 0;

out_free:
	snap_pmd_free_ptes(pmd);
out_nomem:
	mthp_msg(why, whylen, "out of memory");
	return -ENOMEM;
}

int mthp_snapshot_take_pmd(struct mthp_snapshot *snap, struct mthp_snapshot_pmd *pmd)
{
	struct mthp_snapshot_pmd *to;
	int err = check_pmd_place(snap, pmd->addr, NULL, 0);

	if (err)
		return err;
	if (mthp_array_grow((void **)&snap->pmds, &snap->cap_pmds, snap->nr_pmds,
			    sizeof(*snap->pmds)))
		return -ENOMEM;
	to = &snap->pmds[snap->nr_pmds++];
	*to = *pmd;
	to->vma = snap->nr_vmas - 1;
	pmd->ptes = NULL;
	pmd->folio_orders = NULL;
	pmd->swap_orders = NULL;
	return 0;
}

static uint8_t *copy_bytes(const uint8_t *p, uint32_t n, bool *failed)
{
	uint8_t *c;

	if (!p)
		return NULL;
	c = malloc(n);
	if (c)
		memcpy(c, p, n);
	*failed |= !c;
	return c;
}

int mthp_snapshot_copy_pmd(struct mthp_snapshot *snap, const struct mthp_snapshot_pmd *pmd)
{
	uint32_t n = snap->geo.ptes_per_pmd;
	struct mthp_snapshot_pmd c = *pmd;
	bool failed = false;
	int err = -ENOMEM;

	c.ptes = copy_bytes(pmd->ptes, n, &failed);
	c.folio_orders = copy_bytes(pmd->folio_orders, n, &failed);
	c.swap_orders = copy_bytes(pmd->swap_orders, n, &failed);
	if (!failed)
		err = mthp_snapshot_take_pmd(snap, &c);
	if (err)
		snap_pmd_free_ptes(&c);
	return err;
}

void mthp_snapshot_pmd_folios(const struct mthp_snapshot *snap,
			      const struct mthp_snapshot_pmd *pmd, uint8_t *out)
{
	for (uint32_t i = 0; i < snap->geo.ptes_per_pmd; i++) {
		if (pmd->ptes[i] == MTHP_PTE_SWAP)
			out[i] = pmd->swap_orders ? pmd->swap_orders[i] : 0;
		else if (pmd->folio_orders)
			out[i] = pmd->folio_orders[i];
		else
			out[i] = mthp_pte_state_has_folio(pmd->ptes[i]) ? 0 : MTHP_NO_FOLIO;
	}
}

void mthp_swap_orders(const uint64_t *slot, uint32_t n, unsigned max_order, uint8_t *out)
{
	/*
	 * First out[s] = the largest k such that the block of 2^k PTEs
	 * starting at s (a multiple of 2^k) is a run: both halves runs, the
	 * upper one's slots following the lower one's, the first slot a
	 * multiple of 2^k.  Then, from the top down (each PTE reads only
	 * block starts at or below it, not yet overwritten), the order of
	 * the largest run holding each PTE.
	 */
	for (uint32_t i = 0; i < n; i++)
		out[i] = slot[i] == MTHP_NO_SWAP ? MTHP_NO_FOLIO : 0;
	for (unsigned k = 1; k <= max_order && (1u << k) <= n; k++) {
		uint32_t len = 1u << k, half = len / 2;

		for (uint32_t s = 0; s < n; s += len)
			if (out[s] == k - 1 && out[s + half] != MTHP_NO_FOLIO &&
			    out[s + half] >= k - 1 && slot[s] % len == 0 &&
			    slot[s + half] == slot[s] + half)
				out[s] = (uint8_t)k;
	}
	for (uint32_t i = n; i-- > 0;) {
		uint8_t best = 0;

		for (unsigned k = max_order; k >= 2 && !best; k--) {
			uint32_t s = i & ~((1u << k) - 1);

			if ((1u << k) <= n && out[s] != MTHP_NO_FOLIO && out[s] >= k)
				best = (uint8_t)k;
		}
		out[i] = best;
	}
}

int mthp_snapshot_add_pmd(struct mthp_snapshot *snap, uint64_t addr,
			  enum mthp_pmd_kind kind, const uint8_t *ptes,
			  const uint8_t *folio_orders)
{
	return snap_add_pmd(snap, addr, kind, ptes, folio_orders, 0, NULL, 0);
}
