// SPDX-License-Identifier: MIT
/* snap_build.c - in-memory snapshots for the map and TLB tests (snap_build.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/snap_build.h"

void snap_table_init(struct snap_table *t, uint32_t n)
{
	t->n = n;
	snap_table_put(t, 0, n, '.', 0);
}

void snap_table_put(struct snap_table *t, uint32_t off, uint32_t n, char c, uint8_t order)
{
	assert_true(off + n <= t->n);
	memset(t->ptes + off, c, n);
	memset(t->orders + off, mthp_pte_state_has_folio(c) ? order : MTHP_NO_FOLIO, n);
}

void snap_build_new(struct mthp_snapshot *s, uint32_t ps, size_t nr_pmds, uint32_t vma_flags)
{
	struct mthp_geometry geo;

	assert_int_equal(mthp_geometry_from_page_size(&geo, ps), 0);
	mthp_snapshot_init(s, &geo);
	assert_int_equal(mthp_snapshot_add_vma(s, SNAP_VMA_START,
					       SNAP_VMA_START + nr_pmds * mthp_pmd_size(&geo),
					       vma_flags), 0);
}

uint64_t snap_build_pmd_addr(const struct mthp_snapshot *s, size_t i)
{
	return SNAP_VMA_START + i * mthp_pmd_size(&s->geo);
}

void snap_build_add(struct mthp_snapshot *s, size_t i, enum mthp_pmd_kind kind,
		    const struct snap_table *t)
{
	if (t)
		assert_int_equal(t->n, s->geo.ptes_per_pmd);
	assert_int_equal(mthp_snapshot_add_pmd(s, snap_build_pmd_addr(s, i), kind,
					       t ? t->ptes : NULL, t ? t->orders : NULL), 0);
}

char *snap_build_text(const struct mthp_snapshot *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(mthp_snapshot_write(s, f), 0);
	fclose(f);
	return text;
}
