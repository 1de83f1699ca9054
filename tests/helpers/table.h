/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers/table.h - page tables, settings and plans for engine tests.
 *
 * A struct mt_table is one PMD range as the snapshot alphabet writes it:
 * N PTE characters and N folio orders kept consistent (MTHP_NO_FOLIO under
 * '.', '0', 'w', 'u' and 'n', order 0 under every other state unless a
 * large folio was placed).  mt_plan() runs the engine's mthp_plan_range()
 * on one table with heap-allocated plan and workspace; mt_plan_str() turns
 * a plan into one short line that a test compares with a literal:
 *
 *     "SUCCEED C[0/4 16/4] A[0/9:EXCEED_NONE_PTE] F=15"
 *
 * (scan result, collapses as offset/order in walk order, failed attempts
 * as offset/order:result, pages_filled; result names without "SCAN_").
 * Nothing here uses cmocka: functions return values, tests assert.
 */
#ifndef MTHP_TEST_TABLE_H
#define MTHP_TEST_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include <mthp/engine.h>
#include <mthp/settings.h>

#include "common/rng.h"

struct mt_table {
	uint32_t n;			/* PTEs: 512, 2048 or 8192 */
	enum mthp_pmd_kind kind;	/* MTHP_PMD_TABLE unless changed */
	uint8_t ptes[MTHP_MAX_PTES];
	uint8_t folios[MTHP_MAX_PTES];
	/*
	 * Policy guarded: with has_fills, fills[i] non-zero where PTE i's
	 * folio may hold pages a collapse zero-filled (mthp_range.folio_fills);
	 * without, any large folio may.  Cleared by mt_table_init() and
	 * mt_table_pattern().
	 */
	bool has_fills;
	uint8_t fills[MTHP_MAX_PTES];
};

/* The folio order a consistent snapshot writes under state c. */
uint8_t mt_default_folio(int c);
/* log2 of n. */
unsigned mt_log2(uint32_t n);

/* n PTEs of state c; kind MTHP_PMD_TABLE. */
void mt_table_init(struct mt_table *t, uint32_t n, char c);
/*
 * n PTEs as the pattern of `mthp plan --ptes` writes them ("A*16@4 .*8",
 * none PTEs after a shorter pattern); kind MTHP_PMD_TABLE.  0, or -EINVAL
 * with the parser's message in err.
 */
int mt_table_pattern(struct mt_table *t, uint32_t n, const char *pattern, char *err,
		     size_t errlen);
/* PTEs [from, to) become state c with their default folio order. */
void mt_table_fill(struct mt_table *t, uint32_t from, uint32_t to, char c);
/* Write the characters of str from PTE at on. */
void mt_table_put(struct mt_table *t, uint32_t at, const char *str);
/* PTEs [from, to) map a folio of this order (their states are kept). */
void mt_table_folio(struct mt_table *t, uint32_t from, uint32_t to, unsigned order);
/* Number of PTEs in [from, to) whose state is one of chars. */
uint32_t mt_table_count(const struct mt_table *t, uint32_t from, uint32_t to,
			const char *chars);
/*
 * Apply a plan as the collapses would: every PTE of each collapsed window
 * becomes 'A' in a folio of the window's order; a collapse at the PMD
 * order makes the range PMD-mapped (kind MTHP_PMD_HUGE).  With has_fills,
 * the new folio may hold fills when the window had a none or zero-page
 * PTE, or a page of a folio that may.
 */
void mt_table_apply(struct mt_table *t, const struct mthp_pmd_plan *p);

/*
 * Does w cover a page of a window that prev failed with SCAN_PAGE_COUNT
 * (a page the LRU add batch held in that pass)?
 */
bool mt_after_page_count(const struct mthp_pmd_plan *prev, const struct mthp_window *w);

/*
 * Settings of the geometry with n PTEs, then each "knob=value" of the
 * NULL-terminated list.  0, or the first error of mthp_settings_set()
 * (its message in err).
 */
int mt_settings(struct mthp_settings *s, uint32_t n, char *err, size_t errlen, ...)
	__attribute__((sentinel));
/* mt_settings() into *s, or fail the (cmocka) test with the error. */
#define MT_SET(s, n, ...)						\
	do {								\
		char e_[256] = "";					\
		if (mt_settings((s), (n), e_, sizeof(e_), ##__VA_ARGS__, NULL)) \
			fail_msg("settings: %s", e_);			\
	} while (0)

/* The address the plans of mt_plan() use for their range. */
#define MT_PMD_ADDR 0x7f3a00000000ull

/*
 * Plan table t with these settings for a VMA that spans exactly the range
 * (pmd_addr MT_PMD_ADDR).  The plan lives in a heap buffer reused by the
 * next call.
 */
const struct mthp_pmd_plan *mt_plan(const struct mthp_settings *s,
				    enum mthp_policy policy,
				    enum mthp_context context,
				    uint32_t vma_flags, const struct mt_table *t);
/* The same for a given range (its ptes and folio_orders may be NULL). */
const struct mthp_pmd_plan *mt_plan_range(const struct mthp_settings *s,
					  enum mthp_policy policy,
					  enum mthp_context context,
					  uint32_t vma_flags,
					  const struct mthp_range *range);

/*
 * The one-line form of a plan (see above), in one of a few rotating
 * static buffers: valid until four more calls.
 */
const char *mt_plan_str(const struct mthp_pmd_plan *p);
/*
 * Do two plans say the same: scan result, windows (in order), pages
 * filled, underused, and the LRU add batch left?
 */
bool mt_plans_equal(const struct mthp_pmd_plan *a, const struct mthp_pmd_plan *b);
/* A result's name without "SCAN_". */
const char *mt_result_short(enum mthp_result r);

/* Append printf output to the NUL-terminated string in buf (size cap). */
void mt_strcat(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A random table of n PTEs from a mix of shapes (empty, sparse, clustered
 * runs, aligned blocks, full), with occasional old, swap, shared, zero-page
 * and (when bad is non-zero) scan-failing PTEs, and existing large folios
 * that cover naturally aligned blocks of present PTEs with consistent orders.
 */
void mt_table_random(struct mt_table *t, uint32_t n, struct mthp_rng *r, int bad);

#endif /* MTHP_TEST_TABLE_H */
