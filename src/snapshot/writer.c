// SPDX-License-Identifier: MIT
/*
 * writer.c - a struct mthp_snapshot as the text of format 2: the header,
 * both geometry lines, the setting lines, then each vma line followed by
 * its pmd lines, then the end line.  Addresses are lower-case hex without 0x; FOLIOS is
 * written only when the pmd has folio orders, with '-' under every PTE
 * that maps no folio, so that reading the text back gives the same
 * snapshot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The longest FLAGS of known names: every name and its comma. */
#define KNOWN_FLAGS_LEN 64

static int write_vma(const struct mthp_snapshot_vma *vma, FILE *f)
{
	size_t len = KNOWN_FLAGS_LEN + (vma->unknown_flags ? strlen(vma->unknown_flags) : 0);
	char small[KNOWN_FLAGS_LEN * 2];
	char *flags = small;

	if (len > sizeof(small)) {
		flags = malloc(len);
		if (!flags)
			return -ENOMEM;
	}
	mthp_vma_flags_format(vma->flags, vma->unknown_flags, flags, len);
	fprintf(f, "vma %llx %llx %s\n", (unsigned long long)vma->start,
		(unsigned long long)vma->end, flags);
	if (flags != small)
		free(flags);
	return 0;
}

static const char *kind_name(enum mthp_pmd_kind kind)
{
	switch (kind) {
	case MTHP_PMD_NONE:
		return "none";
	case MTHP_PMD_HUGE:
		return "huge";
	case MTHP_PMD_TABLE:
		return "table";
	case MTHP_PMD_ZERO:
		return "zero";
	}
	return "?";
}

/* folios: a buffer of N characters for the FOLIOS field. */
static void write_pmd(const struct mthp_snapshot *snap,
		      const struct mthp_snapshot_pmd *pmd, char *folios, FILE *f)
{
	uint32_t n = snap->geo.ptes_per_pmd;

	fprintf(f, "pmd %llx %s", (unsigned long long)pmd->addr, kind_name(pmd->kind));
	if (pmd->kind == MTHP_PMD_TABLE && pmd->ptes) {
		fputc(' ', f);
		fwrite(pmd->ptes, 1, n, f);
		if (pmd->folio_orders || pmd->swap_orders) {
			/* the orders as numbers, then as digits ('-': no folio, no swap order) */
			mthp_snapshot_pmd_folios(snap, pmd, (uint8_t *)folios);
			for (uint32_t i = 0; i < n; i++) {
				uint8_t o = folios[i];

				folios[i] = o > MTHP_MAX_PMD_ORDER ||
					    (pmd->ptes[i] == MTHP_PTE_SWAP && !o) ?
					    '-' : SNAP_FOLIO_DIGITS[o];
			}
			fputc(' ', f);
			fwrite(folios, 1, n, f);
		}
	}
	fputc('\n', f);
}

int mthp_snapshot_write(const struct mthp_snapshot *snap, FILE *f)
{
	size_t next_vma = 0;
	char *folios;
	int err = 0;

	folios = malloc(snap->geo.ptes_per_pmd);
	if (!folios)
		return -ENOMEM;
	fprintf(f, "mthp-snapshot 2\npage_size %u\nptes_per_pmd %u\n",
		snap->geo.page_size, snap->geo.ptes_per_pmd);
	for (size_t i = 0; i < snap->nr_settings; i++)
		fprintf(f, "setting %s %s\n", snap->settings[i].key,
			snap->settings[i].value);
	for (size_t i = 0; i < snap->nr_pmds && !err; i++) {
		const struct mthp_snapshot_pmd *pmd = &snap->pmds[i];

		while (next_vma <= pmd->vma && next_vma < snap->nr_vmas && !err)
			err = write_vma(&snap->vmas[next_vma++], f);
		if (!err)
			write_pmd(snap, pmd, folios, f);
	}
	while (next_vma < snap->nr_vmas && !err)
		err = write_vma(&snap->vmas[next_vma++], f);
	if (!err)
		fputs("end\n", f);
	free(folios);
	if (!err) {
		/* flushed here, so that the error is the write's (ENOSPC ...) */
		errno = 0;
		if (fflush(f) != 0 || ferror(f))
			err = errno ? -errno : -EIO;
	}
	return err;
}
