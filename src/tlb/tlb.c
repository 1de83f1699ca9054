// SPDX-License-Identifier: MIT
/*
 * tlb.c - the TLB profiles and the count of TLB entries needed to map the
 * resident memory of a snapshot, of one of its pmds, or of one PMD range
 * given as arrays (the simulator's case).
 *
 * A page table is counted in aligned blocks of 2^cont_order PTEs: a block
 * whose PTEs all map a normal page of folios of one order o >= cont_order
 * is one cont entry; otherwise every counted PTE of the block is one base
 * entry.  The rules, and why a folio's order stands for its placement, are
 * in include/mthp/tlb.h and docs/tlb-profiles.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mthp/snapshot.h>
#include <mthp/tlb.h>

#define KB ((uint64_t)1024)
#define MB (1024 * KB)

/* Indexed by enum mthp_tlb_profile. */
static const struct mthp_tlb_profile_info profiles[MTHP_TLB_NR_PROFILES] = {
	[MTHP_TLB_X86_64] = {
		"x86-64", 4096, 0, { 4 * KB, 0, 2 * MB } },
	[MTHP_TLB_ZEN] = {
		"zen", 4096, 2, { 4 * KB, 16 * KB, 2 * MB } },
	[MTHP_TLB_ARM64_4K] = {
		"arm64-4k", 4096, 4, { 4 * KB, 64 * KB, 2 * MB } },
	[MTHP_TLB_ARM64_16K] = {
		"arm64-16k", 16384, 7, { 16 * KB, 2 * MB, 32 * MB } },
	[MTHP_TLB_ARM64_64K] = {
		"arm64-64k", 65536, 5, { 64 * KB, 2 * MB, 512 * MB } },
};

int mthp_tlb_profile_parse(const char *name, enum mthp_tlb_profile *p)
{
	if (!name)
		return -EINVAL;
	for (unsigned i = 0; i < MTHP_TLB_NR_PROFILES; i++) {
		if (!strcmp(name, profiles[i].name)) {
			*p = (enum mthp_tlb_profile)i;
			return 0;
		}
	}
	return -EINVAL;
}

const struct mthp_tlb_profile_info *mthp_tlb_profile_info(enum mthp_tlb_profile p)
{
	if ((unsigned)p >= MTHP_TLB_NR_PROFILES)
		return NULL;
	return &profiles[p];
}

const char *mthp_tlb_profile_name(enum mthp_tlb_profile p)
{
	const struct mthp_tlb_profile_info *info = mthp_tlb_profile_info(p);

	return info ? info->name : "?";
}

bool mthp_tlb_profile_fits(enum mthp_tlb_profile p, const struct mthp_geometry *geo)
{
	const struct mthp_tlb_profile_info *info = mthp_tlb_profile_info(p);

	return info && geo && info->page_size == geo->page_size &&
	       (uint64_t)geo->page_size * geo->ptes_per_pmd == info->entry_bytes[MTHP_TLB_PMD];
}

void mthp_tlb_size_label(uint64_t bytes, char *buf, size_t buflen)
{
	if (bytes >= MB && bytes % MB == 0)
		snprintf(buf, buflen, "%" PRIu64 "M", bytes / MB);
	else if (bytes >= KB && bytes % KB == 0)
		snprintf(buf, buflen, "%" PRIu64 "K", bytes / KB);
	else
		snprintf(buf, buflen, "%" PRIu64, bytes);
}

int mthp_tlb_count_init(struct mthp_tlb_count *out, enum mthp_tlb_profile p,
			const struct mthp_geometry *geo)
{
	const struct mthp_tlb_profile_info *info = mthp_tlb_profile_info(p);

	if (!info || !geo)
		return -EINVAL;
	if (!mthp_tlb_profile_fits(p, geo))
		return -EDOM;
	memset(out, 0, sizeof(*out));
	out->profile = p;
	memcpy(out->entry_bytes, info->entry_bytes, sizeof(out->entry_bytes));
	return 0;
}

/* The folio order of PTE i, when it maps a normal page; else MTHP_NO_FOLIO. */
static uint8_t folio_order(const uint8_t *ptes, const uint8_t *orders, uint32_t i)
{
	if (!mthp_pte_state_has_folio(ptes[i]))
		return MTHP_NO_FOLIO;
	if (!orders || orders[i] == MTHP_NO_FOLIO)
		return 0;	/* lenient, as the reader: a present PTE is order 0 */
	return orders[i];
}

/* True when the PTE needs a TLB entry: present, zero page or special. */
static bool pte_counted(uint8_t c)
{
	return mthp_pte_state_has_folio(c) || c == MTHP_PTE_ZERO ||
	       c == MTHP_PTE_SPECIAL;
}

/* True when the aligned block [off, off + n) is one cont entry. */
static bool block_is_cont(const uint8_t *ptes, const uint8_t *orders,
			  uint32_t off, uint32_t n, uint32_t cont_order)
{
	uint8_t first = folio_order(ptes, orders, off);

	if (first == MTHP_NO_FOLIO || first < cont_order)
		return false;
	for (uint32_t i = off + 1; i < off + n; i++)
		if (folio_order(ptes, orders, i) != first)
			return false;
	return true;
}

static void count_table(struct mthp_tlb_count *out, uint32_t nr_ptes,
			const uint8_t *ptes, const uint8_t *orders)
{
	uint32_t cont_order = profiles[out->profile].cont_order;
	uint32_t block = 1u << cont_order;

	for (uint32_t off = 0; off < nr_ptes; off += block) {
		if (cont_order && block_is_cont(ptes, orders, off, block, cont_order)) {
			out->entries[MTHP_TLB_CONT]++;
			out->pages += block;
			continue;
		}
		for (uint32_t i = off; i < off + block; i++) {
			if (!pte_counted(ptes[i]))
				continue;
			out->entries[MTHP_TLB_BASE]++;
			out->pages++;
			if (ptes[i] == MTHP_PTE_ZERO)
				out->zero_pages++;
		}
	}
}

int mthp_tlb_count_range(struct mthp_tlb_count *out, const struct mthp_geometry *geo,
			 enum mthp_pmd_kind kind, const uint8_t *ptes,
			 const uint8_t *folio_orders)
{
	if (!out || !geo || (unsigned)out->profile >= MTHP_TLB_NR_PROFILES)
		return -EINVAL;
	if (!mthp_tlb_profile_fits(out->profile, geo))
		return -EDOM;
	switch (kind) {
	case MTHP_PMD_NONE:
		return 0;
	case MTHP_PMD_HUGE:
		out->entries[MTHP_TLB_PMD]++;
		out->pages += geo->ptes_per_pmd;
		break;
	case MTHP_PMD_ZERO:
		out->entries[MTHP_TLB_PMD]++;
		out->pages += geo->ptes_per_pmd;
		out->zero_pages += geo->ptes_per_pmd;
		break;
	case MTHP_PMD_TABLE:
		if (!ptes)
			return -EINVAL;
		count_table(out, geo->ptes_per_pmd, ptes, folio_orders);
		break;
	default:
		return -EINVAL;
	}
	out->total = out->entries[MTHP_TLB_BASE] + out->entries[MTHP_TLB_CONT] +
		     out->entries[MTHP_TLB_PMD];
	return 0;
}

int mthp_tlb_count_pmd(const struct mthp_snapshot *snap,
		       const struct mthp_snapshot_pmd *pmd,
		       enum mthp_tlb_profile p, struct mthp_tlb_count *out)
{
	int err;

	if (!snap || !pmd)
		return -EINVAL;
	err = mthp_tlb_count_init(out, p, &snap->geo);
	if (err)
		return err;
	return mthp_tlb_count_range(out, &snap->geo, pmd->kind, pmd->ptes,
				    pmd->folio_orders);
}

int mthp_tlb_count(const struct mthp_snapshot *snap, enum mthp_tlb_profile p,
		   struct mthp_tlb_count *out)
{
	int err;

	if (!snap)
		return -EINVAL;
	err = mthp_tlb_count_init(out, p, &snap->geo);
	for (size_t i = 0; !err && i < snap->nr_pmds; i++)
		err = mthp_tlb_count_range(out, &snap->geo, snap->pmds[i].kind,
					   snap->pmds[i].ptes, snap->pmds[i].folio_orders);
	return err;
}
