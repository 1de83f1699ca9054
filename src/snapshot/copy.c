// SPDX-License-Identifier: MIT
/*
 * copy.c - a deep copy of a snapshot through the checked builders, so a
 * copy obeys every rule a built snapshot does (mthp/passes.h: the passes
 * change a snapshot in place, and a caller that plans several settings on
 * one state gives each its own copy).  Flags the format does not know
 * are not copied.
 */
#include <errno.h>
#include <stdlib.h>

#include <mthp/passes.h>

int mthp_snapshot_copy(struct mthp_snapshot *dst, const struct mthp_snapshot *src)
{
	uint8_t *folios = malloc(src->geo.ptes_per_pmd);
	int err = folios ? 0 : -ENOMEM;

	mthp_snapshot_init(dst, &src->geo);
	for (size_t i = 0; i < src->nr_settings && !err; i++)
		err = mthp_snapshot_add_setting(dst, src->settings[i].key, src->settings[i].value);
	for (size_t v = 0; v < src->nr_vmas && !err; v++) {
		const struct mthp_snapshot_vma *vma = &src->vmas[v];

		err = mthp_snapshot_add_vma(dst, vma->start, vma->end, vma->flags);
		for (size_t i = 0; i < src->nr_pmds && !err; i++) {
			const struct mthp_snapshot_pmd *pmd = &src->pmds[i];

			if (pmd->vma != v)
				continue;
			/* the swap orders ride in FOLIOS, as in the text */
			if (pmd->swap_orders)
				mthp_snapshot_pmd_folios(src, pmd, folios);
			err = mthp_snapshot_add_pmd(dst, pmd->addr, pmd->kind, pmd->ptes,
						    pmd->swap_orders ? folios : pmd->folio_orders);
		}
	}
	free(folios);
	if (err)
		mthp_snapshot_free(dst);
	return err;
}
