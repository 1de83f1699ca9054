// SPDX-License-Identifier: MIT
/*
 * test_snapshot.c - the snapshot format 1: reader errors and warnings
 * (exact "FILE:LINE:" prefix and the words that say what is wrong),
 * defaults and geometries, lenient whitespace and FOLIOS, the builders,
 * the writer and round trips, setting lines, the plan visitor, the worked
 * examples, and ~20,000 mutated inputs that must never crash the reader.
 *
 * Inputs are written inline; "{C*N}" in a template stands for N copies of
 * the character C (a 512-PTE table is "{A*512}").
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mthp/passes.h>
#include <mthp/snapshot.h>

#include "common/rng.h"
#include "helpers/examples.h"
#include "helpers/test_main.h"

#define NAME "x.snap"
#define HDR "mthp-snapshot 1\n"
#define VMA "vma 7f3a00000000 7f3a00600000 anon,hugepage\n"

/* ---- helpers ---- */

/* The template with every "{C*N}" expanded; the caller frees it. */
static char *expand(const char *tmpl)
{
	size_t cap = strlen(tmpl) + 1, len = 0;
	char *out = malloc(cap);

	assert_non_null(out);
	for (const char *p = tmpl; *p;) {
		char c = 0, *end = NULL;
		unsigned long n = 1;

		if (p[0] == '{' && p[1] && p[2] == '*') {
			c = p[1];
			n = strtoul(p + 3, &end, 10);
			assert_true(end && *end == '}');
			p = end + 1;
		} else {
			c = *p++;
		}
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memset(out + len, c, n);
		len += n;
	}
	out[len] = '\0';
	return out;
}

struct warnings {
	char text[4096];
	unsigned count;
};

static void collect_warning(void *ctx, const char *msg)
{
	struct warnings *w = ctx;
	size_t used = strlen(w->text);

	snprintf(w->text + used, sizeof(w->text) - used, "%s\n", msg);
	w->count++;
}

static int read_text(struct mthp_snapshot *snap, const char *tmpl,
		     struct mthp_diag *d)
{
	char *text = expand(tmpl);
	int err = mthp_snapshot_read_mem(snap, text, strlen(text), NAME, d);

	free(text);
	return err;
}

static void assert_empty(const struct mthp_snapshot *snap)
{
	assert_int_equal(snap->nr_settings, 0);
	assert_int_equal(snap->nr_vmas, 0);
	assert_int_equal(snap->nr_pmds, 0);
}

/* Reading tmpl fails; the message starts with prefix and has every word. */
static void check_error(const char *tmpl, const char *prefix, ...)
{
	struct mthp_diag d = { .warn = NULL };
	struct mthp_snapshot snap;
	const char *word;
	va_list ap;

	assert_int_equal(read_text(&snap, tmpl, &d), -EINVAL);
	if (strncmp(d.msg, prefix, strlen(prefix)))
		fail_msg("message '%s' does not start with '%s'", d.msg, prefix);
	va_start(ap, prefix);
	while ((word = va_arg(ap, const char *)))
		if (!strstr(d.msg, word))
			fail_msg("message '%s' does not say '%s'", d.msg, word);
	va_end(ap);
	assert_empty(&snap);
	mthp_snapshot_free(&snap);
}

/* Reading tmpl fails with exactly msg. */
static void check_error_exact(const char *tmpl, const char *msg)
{
	struct mthp_diag d = { .warn = NULL };
	struct mthp_snapshot snap;

	assert_int_equal(read_text(&snap, tmpl, &d), -EINVAL);
	assert_string_equal(d.msg, msg);
	assert_empty(&snap);
	mthp_snapshot_free(&snap);
}

/* Reading tmpl succeeds; warnings go to *w (may be NULL). */
static void read_ok(struct mthp_snapshot *snap, const char *tmpl,
		    struct warnings *w)
{
	struct mthp_diag d = { .warn = w ? collect_warning : NULL, .warn_ctx = w };

	if (read_text(snap, tmpl, &d))
		fail_msg("unexpected error: %s", d.msg);
}

static void assert_snap_equal(const struct mthp_snapshot *a,
			      const struct mthp_snapshot *b)
{
	uint32_t n = a->geo.ptes_per_pmd;

	assert_memory_equal(&a->geo, &b->geo, sizeof(a->geo));
	assert_int_equal(a->nr_settings, b->nr_settings);
	for (size_t i = 0; i < a->nr_settings; i++) {
		assert_string_equal(a->settings[i].key, b->settings[i].key);
		assert_string_equal(a->settings[i].value, b->settings[i].value);
	}
	assert_int_equal(a->nr_vmas, b->nr_vmas);
	for (size_t i = 0; i < a->nr_vmas; i++) {
		const struct mthp_snapshot_vma *x = &a->vmas[i], *y = &b->vmas[i];

		assert_int_equal(x->start, y->start);
		assert_int_equal(x->end, y->end);
		assert_int_equal(x->flags, y->flags);
		assert_int_equal(!x->unknown_flags, !y->unknown_flags);
		if (x->unknown_flags)
			assert_string_equal(x->unknown_flags, y->unknown_flags);
	}
	assert_int_equal(a->nr_pmds, b->nr_pmds);
	for (size_t i = 0; i < a->nr_pmds; i++) {
		const struct mthp_snapshot_pmd *x = &a->pmds[i], *y = &b->pmds[i];

		assert_int_equal(x->addr, y->addr);
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->vma, y->vma);
		assert_int_equal(!x->ptes, !y->ptes);
		if (x->ptes)
			assert_memory_equal(x->ptes, y->ptes, n);
		assert_int_equal(!x->folio_orders, !y->folio_orders);
		if (x->folio_orders)
			assert_memory_equal(x->folio_orders, y->folio_orders, n);
		assert_int_equal(!x->swap_orders, !y->swap_orders);
		if (x->swap_orders)
			assert_memory_equal(x->swap_orders, y->swap_orders, n);
	}
}

/* The text mthp_snapshot_write() makes of snap; the caller frees it. */
static char *write_text(const struct mthp_snapshot *snap, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	assert_non_null(f);
	assert_int_equal(mthp_snapshot_write(snap, f), 0);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* Write snap, read it back, and compare. */
static void check_round_trip(const struct mthp_snapshot *snap)
{
	struct mthp_diag d = { .warn = NULL };
	struct mthp_snapshot back;
	size_t len;
	char *text = write_text(snap, &len);

	if (mthp_snapshot_read_mem(&back, text, len, "rt.snap", &d))
		fail_msg("written snapshot does not read back: %s\n%.300s", d.msg, text);
	assert_snap_equal(snap, &back);
	mthp_snapshot_free(&back);
	free(text);
}

/* ---- header ---- */

static void test_missing_header(void **state)
{
	(void)state;
	check_error_exact("# comment\n\npage_size 4096\n",
			  "x.snap:3: missing header 'mthp-snapshot 2' (or 1)");
	check_error_exact("vma 0 1000 anon\n" HDR,
			  "x.snap:1: missing header 'mthp-snapshot 2' (or 1)");
}

static void test_missing_header_empty_input(void **state)
{
	(void)state;
	check_error("", "x.snap:1: ", "missing header 'mthp-snapshot 2' (or 1)", "empty", NULL);
	check_error("# only a comment\n\n", "x.snap:1: ", "missing header", NULL);
}

static void test_missing_header_unknown_kind_first(void **state)
{
	(void)state;
	check_error_exact("frobnicate 1\n" HDR, "x.snap:1: missing header 'mthp-snapshot 2' (or 1)");
}

static void test_header_unsupported_version(void **state)
{
	(void)state;
	check_error("mthp-snapshot 3\n", "x.snap:1: ", "unsupported", "version", "'3'", NULL);
	check_error("mthp-snapshot 0\n", "x.snap:1: ", "unsupported", "version", "'0'", NULL);
	check_error("mthp-snapshot one\n", "x.snap:1: ", "unsupported", "'one'", NULL);
}

static void test_header_missing_version(void **state)
{
	(void)state;
	check_error("mthp-snapshot\n", "x.snap:1: ", "header line", "missing VERSION", NULL);
}

static void test_header_extra_field(void **state)
{
	(void)state;
	check_error("mthp-snapshot 1 beta\n", "x.snap:1: ", "header line",
		    "unexpected extra field 'beta'", NULL);
}

static void test_header_duplicate(void **state)
{
	(void)state;
	check_error(HDR "# again\n" HDR, "x.snap:3: ", "duplicate header", "line 1", NULL);
}

/* ---- geometry ---- */

static void test_page_size_bad_value(void **state)
{
	(void)state;
	check_error_exact(HDR "page_size 8192\n",
			  "x.snap:2: page_size 8192: must be 4096, 16384 or 65536");
}

static void test_page_size_not_a_number(void **state)
{
	(void)state;
	check_error(HDR "page_size 4k\n", "x.snap:2: ", "page_size '4k'",
		    "not a decimal number", NULL);
	check_error(HDR "page_size 99999999999999999999999\n", "x.snap:2: ",
		    "not a decimal number", NULL);
	check_error(HDR "page_size\n", "x.snap:2: ", "page_size line", "missing N", NULL);
	check_error(HDR "page_size 4096 4096\n", "x.snap:2: ", "page_size line",
		    "unexpected extra field '4096'", NULL);
}

static void test_page_size_duplicate(void **state)
{
	(void)state;
	check_error(HDR "page_size 4096\npage_size 4096\n", "x.snap:3: ",
		    "duplicate page_size", "line 2", NULL);
}

static void test_page_size_after_vma(void **state)
{
	(void)state;
	check_error(HDR VMA "page_size 4096\n", "x.snap:3: ", "page_size",
		    "after the first vma", NULL);
}

static void test_ptes_per_pmd_bad_value(void **state)
{
	(void)state;
	check_error_exact(HDR "ptes_per_pmd 1024\n",
			  "x.snap:2: ptes_per_pmd 1024: must be 512, 2048 or 8192");
	check_error(HDR "ptes_per_pmd -512\n", "x.snap:2: ", "ptes_per_pmd '-512'",
		    "not a decimal number", NULL);
}

static void test_ptes_per_pmd_duplicate(void **state)
{
	(void)state;
	check_error(HDR "ptes_per_pmd 512\n\nptes_per_pmd 2048\n", "x.snap:4: ",
		    "duplicate ptes_per_pmd", "line 2", NULL);
}

static void test_ptes_per_pmd_after_vma(void **state)
{
	(void)state;
	check_error(HDR VMA "ptes_per_pmd 512\n", "x.snap:3: ", "ptes_per_pmd",
		    "after the first vma", NULL);
}

static void test_ptes_per_pmd_inconsistent(void **state)
{
	(void)state;
	check_error(HDR "page_size 4096\nptes_per_pmd 2048\n", "x.snap:3: ",
		    "ptes_per_pmd 2048 does not match page_size 4096", "line 2",
		    "512 PTEs", NULL);
}

static void test_page_size_inconsistent(void **state)
{
	(void)state;
	check_error(HDR "ptes_per_pmd 8192\npage_size 16384\n", "x.snap:3: ",
		    "page_size 16384 does not match ptes_per_pmd 8192", "line 2",
		    "2048 PTEs", NULL);
}

static void test_default_geometry(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR VMA "pmd 7f3a00000000 table {A*512}\n", NULL);
	assert_int_equal(snap.geo.page_size, 4096);
	assert_int_equal(snap.geo.ptes_per_pmd, 512);
	assert_int_equal(snap.geo.pmd_order, 9);
	mthp_snapshot_free(&snap);
	/* no vma at all: the geometry is still fixed at the end */
	read_ok(&snap, HDR "page_size 65536\n", NULL);
	assert_int_equal(snap.geo.ptes_per_pmd, 8192);
	mthp_snapshot_free(&snap);
}

static void test_page_size_alone_implies_ptes(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR "page_size 16384\n"
		"vma 7f3a00000000 7f3a04000000 anon\n"
		"pmd 7f3a02000000 table {a*2048}\n", NULL);
	assert_int_equal(snap.geo.page_size, 16384);
	assert_int_equal(snap.geo.ptes_per_pmd, 2048);
	assert_int_equal(snap.geo.pmd_order, 11);
	mthp_snapshot_free(&snap);
}

static void test_ptes_alone_implies_page_size(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR "ptes_per_pmd 8192\n"
		"vma 7f3a00000000 7f3a40000000 anon\n"
		"pmd 7f3a20000000 table {s*8192}\n", NULL);
	assert_int_equal(snap.geo.page_size, 65536);
	assert_int_equal(snap.geo.ptes_per_pmd, 8192);
	assert_int_equal(snap.geo.pmd_order, 13);
	mthp_snapshot_free(&snap);
}

static void check_geometry(const char *tmpl, uint32_t page_size, uint32_t ptes,
			   uint32_t order)
{
	struct mthp_snapshot snap;

	read_ok(&snap, tmpl, NULL);
	assert_int_equal(snap.geo.page_size, page_size);
	assert_int_equal(snap.geo.ptes_per_pmd, ptes);
	assert_int_equal(snap.geo.pmd_order, order);
	assert_int_equal(snap.nr_pmds, 2);
	assert_int_equal(snap.pmds[1].ptes[ptes - 1], 'A');
	mthp_snapshot_free(&snap);
}

static void test_geometry_4k(void **state)
{
	(void)state;
	check_geometry(HDR "page_size 4096\nptes_per_pmd 512\n" VMA
		       "pmd 7f3a00200000 none\npmd 7f3a00400000 table {A*512}\n",
		       4096, 512, 9);
}

static void test_geometry_16k(void **state)
{
	(void)state;
	check_geometry(HDR "page_size 16384\nptes_per_pmd 2048\n"
		       "vma 7f3a00000000 7f3a04000000 anon,hugepage\n"
		       "pmd 7f3a00000000 huge\npmd 7f3a02000000 table {A*2048}\n",
		       16384, 2048, 11);
	check_error(HDR "page_size 16384\n" VMA "pmd 7f3a00200000 none\n",
		    "x.snap:4: ", "address 7f3a00200000 is not aligned to the PMD size 0x2000000",
		    NULL);
	check_error(HDR "page_size 16384\n" VMA "pmd 7f3a00000000 table {A*512}\n",
		    "x.snap:4: ", "PTES has 512 characters, expected 2048", NULL);
}

static void test_geometry_64k(void **state)
{
	(void)state;
	check_geometry(HDR "ptes_per_pmd 8192\npage_size 65536\n"
		       "vma 7f3a00000000 7f3a40000000 anon,hugepage\n"
		       "pmd 7f3a00000000 none\npmd 7f3a20000000 table {A*8192}\n",
		       65536, 8192, 13);
	check_error(HDR "page_size 65536\n" VMA "pmd 7f3a02000000 none\n",
		    "x.snap:4: ", "not aligned to the PMD size 0x20000000", NULL);
}

/* ---- vma lines ---- */

static void test_vma_start_not_below_end(void **state)
{
	(void)state;
	check_error(HDR "vma 7f3a00200000 7f3a00000000 anon\n", "x.snap:2: ",
		    "vma start 7f3a00200000 is not below its end 7f3a00000000", NULL);
}

static void test_vma_start_equal_end(void **state)
{
	(void)state;
	check_error(HDR "vma 7f3a00200000 7f3a00200000 anon\n", "x.snap:2: ",
		    "not below its end", NULL);
}

static void test_vma_overlap(void **state)
{
	(void)state;
	check_error(HDR "vma 7f3a00000000 7f3a00400000 anon\n"
		    "vma 7f3a00200000 7f3a00600000 anon\n", "x.snap:3: ",
		    "vma 7f3a00200000-7f3a00600000 overlaps the previous vma 7f3a00000000-7f3a00400000",
		    "line 2", NULL);
}

static void test_vma_not_increasing(void **state)
{
	(void)state;
	check_error(HDR "vma 7f3a00400000 7f3a00600000 anon\n"
		    "vma 7f3a00000000 7f3a00200000 anon\n", "x.snap:3: ",
		    "below the previous vma", "increasing order", NULL);
}

static void test_vma_adjacent_ok(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR "vma 7f3a00000000 7f3a00200000 anon\n"
		"vma 7f3a00200000 7f3a00400000 file\n", NULL);
	assert_int_equal(snap.nr_vmas, 2);
	mthp_snapshot_free(&snap);
}

static void test_vma_bad_hex(void **state)
{
	(void)state;
	check_error(HDR "vma 0x7f3a00000000 7f3a00200000 anon\n", "x.snap:2: ",
		    "vma line: START '0x7f3a00000000'", "hex", NULL);
	check_error(HDR "vma 7f3a00000000 7f3g00200000 anon\n", "x.snap:2: ",
		    "vma line: END '7f3g00200000'", "hex", NULL);
}

/* mthp_snapshot_vma_at(): the VMA holding an address, none in a gap or outside. */
static void test_vma_at(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	mthp_snapshot_init(&snap, NULL);
	assert_null(mthp_snapshot_vma_at(&snap, 0x1000));
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x200000, 0x400000, MTHP_VMA_ANON), 0);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x600000, 0x601000, MTHP_VMA_ANON), 0);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x601000, 0x800000, MTHP_VMA_ANON), 0);
	assert_null(mthp_snapshot_vma_at(&snap, 0x1ff000));
	assert_ptr_equal(mthp_snapshot_vma_at(&snap, 0x200000), &snap.vmas[0]);
	assert_ptr_equal(mthp_snapshot_vma_at(&snap, 0x3ff000), &snap.vmas[0]);
	assert_null(mthp_snapshot_vma_at(&snap, 0x400000));
	assert_null(mthp_snapshot_vma_at(&snap, 0x5ff000));
	assert_ptr_equal(mthp_snapshot_vma_at(&snap, 0x600000), &snap.vmas[1]);
	assert_ptr_equal(mthp_snapshot_vma_at(&snap, 0x601000), &snap.vmas[2]);
	assert_ptr_equal(mthp_snapshot_vma_at(&snap, 0x7ff000), &snap.vmas[2]);
	assert_null(mthp_snapshot_vma_at(&snap, 0x800000));
	mthp_snapshot_free(&snap);
}

/* A VMA starts and ends on a page boundary of the file's page size. */
static void test_vma_not_page_aligned(void **state)
{
	(void)state;
	check_error(HDR "vma 7f0000000100 7f0000400000 anon\n", "x.snap:2: ",
		    "vma line: 7f0000000100-7f0000400000 does not start and end on a page "
		    "boundary (4096-byte pages)", NULL);
	check_error("mthp-snapshot 2\npage_size 16384\nvma 7f0000000000 7f0000001000 anon\n",
		    "x.snap:3: ", "(16384-byte pages)", NULL);
}

static void test_vma_hex_overflow(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	check_error(HDR "vma 10000000000000000 20000000000000000 anon\n", "x.snap:2: ",
		    "START '10000000000000000'", "64-bit hex", NULL);
	/* leading zeros are not an overflow; the largest END is fine */
	read_ok(&snap, HDR "vma 00000000007f3a00000000 ffffffffffffffff anon\n", NULL);
	assert_int_equal(snap.vmas[0].start, 0x7f3a00000000ull);
	assert_int_equal(snap.vmas[0].end, UINT64_MAX);
	mthp_snapshot_free(&snap);
}

static void test_vma_missing_field(void **state)
{
	(void)state;
	check_error(HDR "vma 7f3a00000000 7f3a00200000\n", "x.snap:2: ",
		    "vma line: missing FLAGS", "vma START END FLAGS", NULL);
	check_error(HDR "vma\n", "x.snap:2: ", "vma line: missing START", NULL);
}

static void test_vma_extra_field(void **state)
{
	(void)state;
	check_error(HDR "vma 7f3a00000000 7f3a00200000 anon rw-p\n", "x.snap:2: ",
		    "vma line: unexpected extra field 'rw-p'", NULL);
}

static void test_vma_bad_flags(void **state)
{
	(void)state;
	check_error(HDR "vma 7f3a00000000 7f3a00200000 anon,,hugepage\n", "x.snap:2: ",
		    "bad FLAGS 'anon,,hugepage'", "empty flag name", NULL);
	check_error(HDR "vma 7f3a00000000 7f3a00200000 anon,\n", "x.snap:2: ",
		    "empty flag name", NULL);
	check_error(HDR "vma 7f3a00000000 7f3a00200000 anon,-\n", "x.snap:2: ",
		    "'-' stands alone", NULL);
}

static void test_vma_flags(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR "vma 1000 2000 -\n"
		"vma 2000 3000 anon,hugepage,nohugepage,uffd,noanonvma,file,shared\n"
		"vma 3000 4000 shared,anon\n", NULL);
	assert_int_equal(snap.vmas[0].flags, 0);
	assert_int_equal(snap.vmas[1].flags, 0x7f);
	assert_int_equal(snap.vmas[2].flags, MTHP_VMA_ANON | MTHP_VMA_SHARED);
	assert_null(snap.vmas[2].unknown_flags);
	mthp_snapshot_free(&snap);
}

static void test_vma_unknown_flags_kept(void **state)
{
	struct mthp_snapshot snap;
	struct warnings w = { "" };

	(void)state;
	read_ok(&snap, HDR "vma 7f3a00000000 7f3a00200000 anon,mlocked,hugepage,stack\n",
		&w);
	assert_int_equal(snap.vmas[0].flags, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	assert_string_equal(snap.vmas[0].unknown_flags, "mlocked,stack");
	assert_int_equal(w.count, 0);
	mthp_snapshot_free(&snap);
}

/* ---- pmd lines ---- */

static void test_pmd_before_vma(void **state)
{
	(void)state;
	check_error_exact(HDR "pmd 7f3a00000000 none\n",
			  "x.snap:2: pmd line before any vma line");
}

static void test_pmd_not_aligned(void **state)
{
	(void)state;
	check_error_exact(HDR "#\n" VMA "pmd 7f3a00001000 none\n",
			  "x.snap:4: address 7f3a00001000 is not aligned to the PMD size 0x200000");
}

static void test_pmd_outside_vma(void **state)
{
	(void)state;
	check_error(HDR "vma 7f3a00000000 7f3a00200000 anon\n"
		    "pmd 7f3a00400000 none\n", "x.snap:3: ",
		    "pmd 7f3a00400000 is outside its vma 7f3a00000000-7f3a00200000", NULL);
	/* below the vma start */
	check_error(HDR "vma 7f3a00200000 7f3a00400000 anon\n"
		    "pmd 7f3a00000000 none\n", "x.snap:3: ",
		    "pmd 7f3a00000000 is outside its vma 7f3a00200000-7f3a00400000", NULL);
	/* the end is exclusive */
	check_error(HDR "vma 7f3a00000000 7f3a00200000 anon\n"
		    "pmd 7f3a00200000 none\n", "x.snap:3: ", "is outside its vma", NULL);
}

static void test_pmd_past_vma_end_ok(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	/* the range may extend past the end: the plan says SCAN_ADDRESS_RANGE */
	read_ok(&snap, HDR "vma 7f3a00000000 7f3a00001000 anon\n"
		"pmd 7f3a00000000 none\n"
		"vma ffffffffffe00000 ffffffffffffffff anon\n"
		"pmd ffffffffffe00000 huge\n", NULL);
	assert_int_equal(snap.nr_pmds, 2);
	assert_int_equal(snap.pmds[1].vma, 1);
	mthp_snapshot_free(&snap);
}

/* Format 2: a table over the start of its vma, and the end line. */
static void test_format2_partial_ranges_and_end(void **state)
{
	static const char v2[] = "mthp-snapshot 2\n";
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, "mthp-snapshot 2\nvma 7f3a00001000 7f3a00011000 anon\n"
		"pmd 7f3a00000000 none\n"
		"vma 7f3a00201000 7f3a00401000 anon\n"
		"pmd 7f3a00200000 huge\npmd 7f3a00400000 none\nend\n", NULL);
	assert_int_equal(snap.nr_pmds, 3);
	assert_int_equal(snap.pmds[0].vma, 0);
	assert_int_equal(snap.pmds[1].vma, 1);
	mthp_snapshot_free(&snap);
	/* a range that does not reach its vma */
	check_error("mthp-snapshot 2\nvma 7f3a00200000 7f3a00400000 anon\n"
		    "pmd 7f3a00000000 none\nend\n", "x.snap:3: ",
		    "pmd 7f3a00000000 is outside its vma 7f3a00200000-7f3a00400000", NULL);
	/* format 1 wants the start inside */
	check_error(HDR "vma 7f3a00001000 7f3a00011000 anon\npmd 7f3a00000000 none\n",
		    "x.snap:3: ", "format 1 wants the range's start inside", NULL);
	/* cut short, lines after the end, an end in format 1 */
	check_error("mthp-snapshot 2\nvma 7f3a00000000 7f3a00200000 anon\n"
		    "pmd 7f3a00000000 none\n", "x.snap:3: ", "no 'end' line", "cut short", NULL);
	check_error("mthp-snapshot 2\nend\nvma 7f3a00000000 7f3a00200000 anon\n",
		    "x.snap:3: ", "a line after the 'end' line (line 2)", NULL);
	check_error(HDR "end\n", "x.snap:2: ", "'end' line in a format-1 snapshot", NULL);
	check_error("mthp-snapshot 2\nend now\n", "x.snap:2: ", "no fields expected", NULL);
	check_error(v2, "x.snap:1: ", "no 'end' line", NULL);
	/* the huge zero page: format 2 only, and written back as read */
	read_ok(&snap, "mthp-snapshot 2\nvma 7f3a00000000 7f3a00200000 anon\n"
		"pmd 7f3a00000000 zero\nend\n", NULL);
	assert_int_equal(snap.pmds[0].kind, MTHP_PMD_ZERO);
	assert_null(snap.pmds[0].ptes);
	mthp_snapshot_free(&snap);
	check_error(HDR "vma 7f3a00000000 7f3a00200000 anon\npmd 7f3a00000000 zero\n",
		    "x.snap:3: ", "kind 'zero' in a format-1 snapshot", NULL);
	check_error("mthp-snapshot 2\nvma 7f3a00000000 7f3a00200000 anon\n"
		    "pmd 7f3a00000000 zero AAAA\nend\n", "x.snap:3: ", "pmd line", NULL);
}

static void test_pmd_repeated(void **state)
{
	(void)state;
	check_error(HDR VMA "pmd 7f3a00200000 none\npmd 7f3a00200000 huge\n",
		    "x.snap:4: ", "pmd 7f3a00200000 is repeated", "line 3", NULL);
}

static void test_pmd_not_increasing(void **state)
{
	(void)state;
	check_error(HDR VMA "pmd 7f3a00200000 none\npmd 7f3a00000000 none\n",
		    "x.snap:4: ", "pmd 7f3a00000000 is below the previous pmd 7f3a00200000",
		    "increasing order", NULL);
}

static void test_pmd_unknown_kind(void **state)
{
	(void)state;
	check_error(HDR VMA "pmd 7f3a00000000 tabel {A*512}\n", "x.snap:3: ",
		    "pmd line: unknown kind 'tabel'", "none, huge, zero or table", NULL);
}

static void test_pmd_missing_fields(void **state)
{
	(void)state;
	check_error(HDR VMA "pmd 7f3a00000000\n", "x.snap:3: ", "pmd line: missing KIND",
		    NULL);
	check_error(HDR VMA "pmd\n", "x.snap:3: ", "pmd line: missing ADDR", NULL);
	check_error(HDR VMA "pmd 7f3a00000000 table\n", "x.snap:3: ",
		    "pmd line: missing PTES", NULL);
}

static void test_pmd_extra_field(void **state)
{
	(void)state;
	check_error(HDR VMA "pmd 7f3a00000000 none {A*512}\n", "x.snap:3: ",
		    "pmd line: unexpected extra field 'AAAAAAAA", NULL);
	check_error(HDR VMA "pmd 7f3a00000000 huge x\n", "x.snap:3: ",
		    "pmd line: unexpected extra field 'x'", NULL);
	check_error(HDR VMA "pmd 7f3a00000000 table {A*512} {0*512} # note\n",
		    "x.snap:3: ", "pmd line: unexpected extra field '#'", NULL);
}

static void test_pmd_bad_address(void **state)
{
	(void)state;
	check_error(HDR VMA "pmd 7f3a0000000z none\n", "x.snap:3: ",
		    "pmd line: ADDR '7f3a0000000z'", "hex", NULL);
}

static void test_pmd_ptes_wrong_length(void **state)
{
	(void)state;
	check_error_exact(HDR "#\n#\n#\n" VMA "\npmd 7f3a00000000 table {A*511}\n",
			  "x.snap:7: pmd line: PTES has 511 characters, expected 512");
	check_error_exact(HDR VMA "pmd 7f3a00000000 table {A*513}\n",
			  "x.snap:3: pmd line: PTES has 513 characters, expected 512");
}

static void test_pmd_unknown_pte_character(void **state)
{
	(void)state;
	check_error_exact(HDR VMA "pmd 7f3a00000000 table {A*17}Z{A*494}\n",
			  "x.snap:3: unknown PTE character 'Z' at position 17");
	check_error(HDR VMA "pmd 7f3a00000000 table {A*511}\x01\n", "x.snap:3: ",
		    "unknown PTE character '\\x01' at position 511", NULL);
}

static void test_pmd_folios_wrong_length(void **state)
{
	(void)state;
	check_error_exact(HDR VMA "pmd 7f3a00000000 table {A*512} {0*100}\n",
			  "x.snap:3: pmd line: FOLIOS has 100 characters, expected 512");
}

static void test_pmd_folios_bad_digit(void **state)
{
	(void)state;
	check_error(HDR VMA "pmd 7f3a00000000 table {A*512} {0*5}e{0*506}\n", "x.snap:3: ",
		    "pmd line: bad FOLIOS character 'e' at position 5", "0-9, a-d or '-'",
		    NULL);
	check_error(HDR VMA "pmd 7f3a00000000 table {A*512} {0*511}A\n", "x.snap:3: ",
		    "bad FOLIOS character 'A' at position 511", NULL);
}

static void test_pmd_kinds(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR VMA "pmd 7f3a00000000 none\npmd 7f3a00200000 huge\n"
		"pmd 7f3a00400000 table .0wuAaSsfnlKPN{A*498}\n", NULL);
	assert_int_equal(snap.nr_pmds, 3);
	assert_int_equal(snap.pmds[0].kind, MTHP_PMD_NONE);
	assert_null(snap.pmds[0].ptes);
	assert_int_equal(snap.pmds[1].kind, MTHP_PMD_HUGE);
	assert_null(snap.pmds[1].ptes);
	assert_int_equal(snap.pmds[2].kind, MTHP_PMD_TABLE);
	assert_memory_equal(snap.pmds[2].ptes, ".0wuAaSsfnlKPN", 14);
	assert_null(snap.pmds[2].folio_orders);
	assert_int_equal(snap.pmds[2].line, 5);
	assert_int_equal(snap.vmas[0].line, 2);
	mthp_snapshot_free(&snap);
}

/* A range taken from another snapshot moves its arrays (copied: copies them), and must fit its place. */
static void test_take_pmd(void **state)
{
	struct mthp_snapshot from, to;
	const uint8_t *ptes;

	(void)state;
	read_ok(&from, HDR VMA "pmd 7f3a00000000 huge\n"
		"pmd 7f3a00200000 table {w*16}{A*496} {2*16}{1*496}\n", NULL);
	ptes = from.pmds[1].ptes;
	read_ok(&to, HDR VMA, NULL);
	assert_int_equal(mthp_snapshot_take_pmd(&to, &from.pmds[1]), 0);
	assert_ptr_equal(to.pmds[0].ptes, ptes);
	assert_null(from.pmds[1].ptes);
	assert_null(from.pmds[1].folio_orders);
	assert_null(from.pmds[1].swap_orders);
	assert_non_null(to.pmds[0].swap_orders);
	assert_int_equal(to.pmds[0].folio_orders[16], 1);
	/* below the range before it: refused, and nothing taken */
	assert_int_equal(mthp_snapshot_take_pmd(&to, &from.pmds[0]), -EINVAL);
	assert_int_equal(to.nr_pmds, 1);
	mthp_snapshot_free(&from);
	/* copied: the same arrays' contents, the source keeps its own */
	read_ok(&from, HDR VMA, NULL);
	assert_int_equal(mthp_snapshot_copy_pmd(&from, &to.pmds[0]), 0);
	assert_int_equal(from.nr_pmds, 1);
	assert_ptr_not_equal(from.pmds[0].ptes, to.pmds[0].ptes);
	assert_memory_equal(from.pmds[0].ptes, to.pmds[0].ptes, 512);
	assert_memory_equal(from.pmds[0].folio_orders, to.pmds[0].folio_orders, 512);
	assert_memory_equal(from.pmds[0].swap_orders, to.pmds[0].swap_orders, 512);
	assert_int_equal(mthp_snapshot_copy_pmd(&from, &to.pmds[0]), -EINVAL);	/* repeated */
	assert_int_equal(from.nr_pmds, 1);
	mthp_snapshot_free(&from);
	mthp_snapshot_free(&to);
}

static void test_nul_byte(void **state)
{
	static const char text[] = HDR "vma 7f3a00000000 7f3a00\0" "200000 anon\n";
	struct mthp_diag d = { .warn = NULL };
	struct mthp_snapshot snap;

	(void)state;
	assert_int_equal(mthp_snapshot_read_mem(&snap, text, sizeof(text) - 1, NAME, &d),
			 -EINVAL);
	assert_string_equal(d.msg, "x.snap:2: NUL byte at column 24");
	assert_empty(&snap);
	mthp_snapshot_free(&snap);
}

static void test_nul_byte_in_comment_ok(void **state)
{
	static const char text[] = HDR "# a \0 in a comment\n" VMA;
	struct mthp_diag d = { .warn = NULL };
	struct mthp_snapshot snap;

	(void)state;
	assert_int_equal(mthp_snapshot_read_mem(&snap, text, sizeof(text) - 1, NAME, &d), 0);
	assert_int_equal(snap.nr_vmas, 1);
	mthp_snapshot_free(&snap);
}

/* ---- FOLIOS ---- */

static void test_folios_orders(void **state)
{
	struct mthp_snapshot snap;
	const uint8_t *o;

	(void)state;
	read_ok(&snap, HDR VMA
		"pmd 7f3a00000000 table .{A*511} -0123456789abcd{0*497}\n", NULL);
	o = snap.pmds[0].folio_orders;
	assert_non_null(o);
	assert_int_equal(o[0], MTHP_NO_FOLIO);
	for (unsigned i = 0; i < 14; i++)
		assert_int_equal(o[1 + i], i);
	mthp_snapshot_free(&snap);
}

static void test_folios_dash_under_present_is_order_0(void **state)
{
	struct mthp_snapshot snap;
	const uint8_t *o;

	(void)state;
	read_ok(&snap, HDR VMA "pmd 7f3a00000000 table AaSsflKPN{A*503} {-*512}\n", NULL);
	o = snap.pmds[0].folio_orders;
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(o[i], 0);
	mthp_snapshot_free(&snap);
}

static void test_folios_digit_under_no_page_ignored(void **state)
{
	struct mthp_snapshot snap;
	const uint8_t *o;

	(void)state;
	read_ok(&snap, HDR VMA "pmd 7f3a00000000 table .0un{A*508} 4999{4*508}\n", NULL);
	o = snap.pmds[0].folio_orders;
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(o[i], MTHP_NO_FOLIO);
	assert_int_equal(o[4], 4);
	assert_int_equal(o[511], 4);
	assert_null(snap.pmds[0].swap_orders);
	mthp_snapshot_free(&snap);
}

/* out[from, to) are all order. */
static void assert_orders(const uint8_t *out, unsigned from, unsigned to, uint8_t order)
{
	for (unsigned i = from; i < to; i++)
		if (out[i] != order)
			fail_msg("swap order %u at %u, expected %u", out[i], i, order);
}

/* A digit under 'w' is its swap order: kept apart from the folio orders. */
static void test_folios_swap_orders(void **state)
{
	struct mthp_snapshot snap, copy;
	const struct mthp_snapshot_pmd *pmd;

	(void)state;
	read_ok(&snap, HDR VMA "pmd 7f3a00000000 table {w*16}{w*4}w{A*491} "
		"{4*16}{2*4}-{0*491}\n", NULL);
	pmd = &snap.pmds[0];
	assert_non_null(pmd->swap_orders);
	assert_orders(pmd->swap_orders, 0, 16, 4);
	assert_orders(pmd->swap_orders, 16, 20, 2);
	assert_orders(pmd->swap_orders, 20, 512, 0);
	assert_orders(pmd->folio_orders, 0, 21, MTHP_NO_FOLIO);
	check_round_trip(&snap);
	assert_int_equal(mthp_snapshot_copy(&copy, &snap), 0);
	assert_snap_equal(&snap, &copy);
	mthp_snapshot_free(&copy);
	mthp_snapshot_free(&snap);
	/* '0' under 'w' is no swap order, as '-' is */
	read_ok(&snap, HDR VMA "pmd 7f3a00000000 table {w*16}{A*496} {0*512}\n", NULL);
	assert_null(snap.pmds[0].swap_orders);
	mthp_snapshot_free(&snap);
}

static void test_folios_swap_order_bad(void **state)
{
	(void)state;
	check_error_exact(HDR VMA "pmd 7f3a00000000 table {w*2}{A*510} 11{0*510}\n",
			  "x.snap:3: swap order 1 at position 0: a swap order is 0 or from 2 to 8");
	check_error_exact(HDR VMA "pmd 7f3a00000000 table {w*512} {9*512}\n",
			  "x.snap:3: swap order 9 at position 0: a swap order is 0 or from 2 to 8");
	check_error_exact(HDR VMA "pmd 7f3a00000000 table {w*16}{A*496} {4*15}-{0*496}\n",
			  "x.snap:3: swap order 4 at position 0: positions 0 to 15 must all be "
			  "'w' of swap order 4 (position 15 is not)");
	check_error_exact(HDR VMA "pmd 7f3a00000000 table {w*15}{A*497} {4*16}{0*496}\n",
			  "x.snap:3: swap order 4 at position 0: positions 0 to 15 must all be "
			  "'w' of swap order 4 (position 15 is not)");
	check_error_exact(HDR VMA "pmd 7f3a00000000 table {A*4}{w*16}{A*492} "
			  "{0*4}{4*16}{0*492}\n",
			  "x.snap:3: swap order 4 at position 4: positions 0 to 15 must all be "
			  "'w' of swap order 4 (position 0 is not)");
}

/* mthp_swap_orders(): the aligned runs of consecutive slots. */
static void test_swap_orders_of_slots(void **state)
{
	uint64_t slot[64];
	uint8_t out[64];

	(void)state;
	for (unsigned i = 0; i < 64; i++)
		slot[i] = MTHP_NO_SWAP;
	/* 0-15: one run from slot 32 (64K); 16-19 from 100 (16K); 20-23 from 6 (misaligned) */
	for (unsigned i = 0; i < 16; i++)
		slot[i] = 32 + i;
	for (unsigned i = 16; i < 20; i++)
		slot[i] = 100 + i - 16;
	for (unsigned i = 20; i < 24; i++)
		slot[i] = 6 + i - 20;
	/* 24-31: consecutive 8 but the upper half from another device */
	for (unsigned i = 24; i < 28; i++)
		slot[i] = 200 + i - 24;
	for (unsigned i = 28; i < 32; i++)
		slot[i] = (1ull << 58) + 204 + i - 28;
	/* 32-47: a run but for one hole */
	for (unsigned i = 32; i < 48; i++)
		slot[i] = 48 + i - 32;
	slot[40] = MTHP_NO_SWAP;
	mthp_swap_orders(slot, 64, 8, out);
	assert_orders(out, 0, 16, 4);
	assert_orders(out, 16, 20, 2);
	assert_orders(out, 20, 24, 0);
	assert_orders(out, 24, 32, 2);
	assert_orders(out, 32, 40, 3);
	assert_orders(out, 40, 44, 0);
	assert_orders(out, 44, 48, 2);
	assert_orders(out, 48, 64, 0);
	/* max_order caps the run */
	mthp_swap_orders(slot, 64, 3, out);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[15], 3);
}

static void test_folios_absent(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR VMA "pmd 7f3a00000000 table {A*512}\n", NULL);
	assert_null(snap.pmds[0].folio_orders);
	mthp_snapshot_free(&snap);
}

/* ---- whitespace, comments, line ends ---- */

static void test_crlf(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, "mthp-snapshot 1\r\npage_size 4096\r\n\r\n# c\r\n"
		"vma 7f3a00000000 7f3a00600000 anon,hugepage\r\n"
		"pmd 7f3a00000000 table {A*512} {0*512}\r\n", NULL);
	assert_int_equal(snap.vmas[0].flags, MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE);
	assert_null(snap.vmas[0].unknown_flags);
	assert_int_equal(snap.pmds[0].folio_orders[511], 0);
	mthp_snapshot_free(&snap);
}

static void test_tabs_and_spaces(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, "  \tmthp-snapshot\t1  \n\tpage_size   4096\n"
		"vma\t7f3a00000000\t \t7f3a00600000  anon \t\n"
		"   pmd 7f3a00000000\thuge\t\r\n", NULL);
	assert_int_equal(snap.nr_vmas, 1);
	assert_int_equal(snap.pmds[0].kind, MTHP_PMD_HUGE);
	mthp_snapshot_free(&snap);
}

static void test_comments_and_blank_lines(void **state)
{
	struct mthp_snapshot snap;
	struct warnings w = { "" };

	(void)state;
	read_ok(&snap, "\n# first comment\n   \n\t\n" HDR "#vma 0 1 anon\n"
		"  # indented comment\n" VMA "\n\n# end\n", &w);
	assert_int_equal(snap.nr_vmas, 1);
	assert_int_equal(snap.vmas[0].line, 8);
	assert_int_equal(w.count, 0);
	mthp_snapshot_free(&snap);
}

static void test_no_trailing_newline(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR VMA "pmd 7f3a00000000 table {A*512}", NULL);
	assert_int_equal(snap.nr_pmds, 1);
	mthp_snapshot_free(&snap);
	check_error_exact(HDR VMA "pmd 7f3a00000000 table {A*511}",
			  "x.snap:3: pmd line: PTES has 511 characters, expected 512");
}

static void test_hex_upper_case(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR "vma 7F3A00000000 7f3A00600000 anon\npmd 7F3A00200000 none\n",
		NULL);
	assert_int_equal(snap.vmas[0].start, 0x7f3a00000000ull);
	assert_int_equal(snap.pmds[0].addr, 0x7f3a00200000ull);
	mthp_snapshot_free(&snap);
}

static void test_huge_line(void **state)
{
	(void)state;
	check_error(HDR VMA "pmd 7f3a00000000 table {A*1000000}\n", "x.snap:3: ",
		    "PTES has 1000000 characters, expected 512", NULL);
}

static void test_huge_unknown_line_warns(void **state)
{
	struct mthp_snapshot snap;
	struct warnings w = { "" };

	(void)state;
	read_ok(&snap, HDR "{x*100000} y\n", &w);
	assert_int_equal(w.count, 1);
	assert_string_equal(w.text, "x.snap:2: unknown line kind "
			    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' skipped\n");
	mthp_snapshot_free(&snap);
}

/* ---- warnings ---- */

static void test_unknown_line_kind_warns(void **state)
{
	struct mthp_snapshot snap;
	struct warnings w = { "" };

	(void)state;
	read_ok(&snap, HDR "numa_node 0 1 2\n" VMA "folio 7f3a00000000 9\n", &w);
	assert_int_equal(w.count, 2);
	assert_string_equal(w.text, "x.snap:2: unknown line kind 'numa_node' skipped\n"
			    "x.snap:4: unknown line kind 'folio' skipped\n");
	assert_int_equal(snap.nr_vmas, 1);
	mthp_snapshot_free(&snap);
}

static void test_warnings_dropped_without_callback(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR "numa_node 0\nsetting shmem_enabled always\n", NULL);
	assert_int_equal(snap.nr_settings, 1);
	mthp_snapshot_free(&snap);
	/* no diag at all */
	{
		static const char text[] = HDR "page_size 1\n";

		assert_int_equal(mthp_snapshot_read_mem(&snap, text, sizeof(text) - 1,
							NULL, NULL), -EINVAL);
		mthp_snapshot_free(&snap);
	}
}

/* ---- setting lines ---- */

static void test_setting_lines(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	read_ok(&snap, HDR "setting khugepaged/max_ptes_none 511\n"
		"setting enabled madvise\nsetting hugepages-64kB/enabled inherit\n", NULL);
	assert_int_equal(snap.nr_settings, 3);
	assert_string_equal(snap.settings[0].key, "khugepaged/max_ptes_none");
	assert_string_equal(snap.settings[0].value, "511");
	assert_int_equal(snap.settings[0].line, 2);
	assert_string_equal(snap.settings[2].key, "hugepages-64kB/enabled");
	mthp_snapshot_free(&snap);
}

static void test_setting_unknown_warns(void **state)
{
	struct mthp_snapshot snap;
	struct warnings w = { "" };

	(void)state;
	read_ok(&snap, HDR "setting shmem_enabled always\n" VMA
		"setting khugepaged/full_scans 3\n", &w);
	assert_string_equal(w.text, "x.snap:2: unknown setting 'shmem_enabled' ignored\n"
			    "x.snap:4: unknown setting 'khugepaged/full_scans' ignored\n");
	/* kept in the snapshot, so a writer keeps it */
	assert_int_equal(snap.nr_settings, 2);
	mthp_snapshot_free(&snap);
}

static void test_setting_bad_value(void **state)
{
	(void)state;
	check_error(HDR "setting khugepaged/max_ptes_none 512\n", "x.snap:2: ",
		    "khugepaged/max_ptes_none", "'512'", "0..511", NULL);
	check_error(HDR "setting enabled inherit\n", "x.snap:2: ", "enabled",
		    "'inherit'", NULL);
	check_error(HDR "setting defrag sometimes\n", "x.snap:2: ", "defrag", NULL);
}

static void test_setting_bad_size_for_geometry(void **state)
{
	(void)state;
	check_error(HDR "setting hugepages-4kB/enabled always\n", "x.snap:2: ",
		    "hugepages-4kB/enabled", "no such size", NULL);
	check_error(HDR "setting hugepages-4096kB/enabled always\n", "x.snap:2: ",
		    "hugepages-4096kB/enabled", NULL);
}

static void test_setting_checked_against_later_geometry(void **state)
{
	struct mthp_snapshot snap;
	struct warnings w = { "" };

	(void)state;
	/* valid only with 16K pages, which a later line selects */
	read_ok(&snap, HDR "setting khugepaged/max_ptes_none 2047\n"
		"setting hugepages-32768kB/enabled always\n"
		"page_size 16384\n", &w);
	assert_int_equal(w.count, 0);
	mthp_snapshot_free(&snap);
	/* the error names the setting's own line, found at the first vma */
	check_error(HDR "setting hugepages-128kB/enabled always\n# c\n"
		    "ptes_per_pmd 8192\n"
		    "vma 7f3a00000000 7f3a40000000 anon\n", "x.snap:2: ",
		    "hugepages-128kB/enabled", "no such size", NULL);
	/* ... or at the end of the input */
	check_error(HDR "setting khugepaged/max_ptes_swap 600\npage_size 4096\n",
		    "x.snap:2: ", "khugepaged/max_ptes_swap", "'600'", NULL);
}

static void test_setting_after_vma_checked(void **state)
{
	(void)state;
	check_error(HDR VMA "setting khugepaged/max_ptes_shared 9999\n", "x.snap:3: ",
		    "khugepaged/max_ptes_shared", "0..511", NULL);
}

static void test_setting_fields(void **state)
{
	(void)state;
	check_error(HDR "setting enabled\n", "x.snap:2: ", "setting line: missing VALUE",
		    "setting KEY VALUE", NULL);
	check_error(HDR "setting enabled [always] madvise\n", "x.snap:2: ",
		    "setting line: unexpected extra field 'madvise'", NULL);
	check_error(HDR "setting enabled al\x01ways\n", "x.snap:2: ",
		    "setting line: VALUE", "control character 0x01", NULL);
}

static void test_snapshot_settings(void **state)
{
	struct mthp_snapshot snap;
	struct mthp_settings s;
	struct warnings w = { "" };
	struct mthp_diag d = { .warn = collect_warning, .warn_ctx = &w };

	(void)state;
	read_ok(&snap, HDR "setting khugepaged/max_ptes_none 100\n"
		"setting shmem_enabled always\n"
		"setting khugepaged/max_ptes_none 200\n"
		"setting hugepages-64kB/enabled always\n", NULL);
	assert_int_equal(mthp_snapshot_settings(&snap, &s, NAME, &d), 0);
	assert_int_equal(s.max_ptes_none, 200);		/* file order */
	assert_int_equal(s.max_ptes_swap, 64);		/* default N/8 */
	assert_int_equal(s.size_enabled[4], MTHP_MODE_ALWAYS);
	assert_int_equal(s.size_enabled[9], MTHP_MODE_INHERIT);
	assert_int_equal(s.enabled, MTHP_MODE_MADVISE);
	assert_string_equal(w.text, "x.snap:3: unknown setting 'shmem_enabled' ignored\n");
	mthp_snapshot_free(&snap);
}

static void test_snapshot_settings_geometry_defaults(void **state)
{
	struct mthp_snapshot snap;
	struct mthp_settings s;
	struct mthp_diag d = { .warn = NULL };

	(void)state;
	read_ok(&snap, HDR "page_size 65536\n", NULL);
	assert_int_equal(mthp_snapshot_settings(&snap, &s, NAME, &d), 0);
	assert_int_equal(s.geo.ptes_per_pmd, 8192);
	assert_int_equal(s.max_ptes_none, 8191);
	assert_int_equal(s.max_ptes_shared, 4096);
	assert_int_equal(s.size_enabled[13], MTHP_MODE_INHERIT);
	mthp_snapshot_free(&snap);
}

static void test_snapshot_settings_bad_built(void **state)
{
	static const struct mthp_geometry geo = { 4096, 512, 9 };
	struct mthp_snapshot snap;
	struct mthp_settings s;
	struct mthp_diag d = { .warn = NULL };

	(void)state;
	mthp_snapshot_init(&snap, &geo);
	assert_int_equal(mthp_snapshot_add_setting(&snap, "use_zero_page", "2"), 0);
	assert_int_equal(mthp_snapshot_settings(&snap, &s, "built", &d), -EINVAL);
	if (strncmp(d.msg, "built: use_zero_page", 20) || !strstr(d.msg, "0..1"))
		fail_msg("unexpected message '%s'", d.msg);
	mthp_snapshot_free(&snap);
}

/* ---- builders ---- */

static void test_build_basic(void **state)
{
	static const struct mthp_geometry geo = { 4096, 512, 9 };
	struct mthp_snapshot snap;
	uint8_t ptes[512], orders[512];

	(void)state;
	memset(ptes, 'A', sizeof(ptes));
	memset(orders, 2, sizeof(orders));
	ptes[0] = '.';
	orders[1] = MTHP_NO_FOLIO;
	mthp_snapshot_init(&snap, &geo);
	assert_int_equal(mthp_snapshot_add_setting(&snap, "enabled", "always"), 0);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x7f3a00000000, 0x7f3a00600000,
					       MTHP_VMA_ANON), 0);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x7f3a00000000, MTHP_PMD_TABLE,
					       ptes, orders), 0);
	ptes[0] = 'X';		/* copied, not referenced */
	assert_int_equal(snap.pmds[0].ptes[0], '.');
	assert_int_equal(snap.pmds[0].folio_orders[0], MTHP_NO_FOLIO);	/* no page */
	assert_int_equal(snap.pmds[0].folio_orders[1], 0);	/* present: order 0 */
	assert_int_equal(snap.pmds[0].folio_orders[2], 2);
	assert_int_equal(snap.pmds[0].line, 0);
	assert_int_equal(snap.settings[0].line, 0);
	mthp_snapshot_free(&snap);
	assert_empty(&snap);
	assert_int_equal(snap.geo.ptes_per_pmd, 512);
	mthp_snapshot_free(&snap);	/* twice is harmless */
}

static void test_build_add_pmd_errors(void **state)
{
	static const struct mthp_geometry geo = { 4096, 512, 9 };
	struct mthp_snapshot snap;
	uint8_t ptes[512], orders[512];

	(void)state;
	memset(ptes, 'A', sizeof(ptes));
	memset(orders, 0, sizeof(orders));
	mthp_snapshot_init(&snap, &geo);
	/* before any vma */
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x200000, MTHP_PMD_NONE, NULL, NULL),
			 -EINVAL);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x200000, 0x600000, MTHP_VMA_ANON), 0);
	/* not aligned, outside, bad kind, missing or extra PTES */
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x201000, MTHP_PMD_NONE, NULL, NULL),
			 -EINVAL);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x600000, MTHP_PMD_NONE, NULL, NULL),
			 -EINVAL);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0, MTHP_PMD_NONE, NULL, NULL),
			 -EINVAL);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x200000, (enum mthp_pmd_kind)7,
					       NULL, NULL), -EINVAL);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x200000, MTHP_PMD_TABLE, NULL, NULL),
			 -EINVAL);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x200000, MTHP_PMD_HUGE, ptes, NULL),
			 -EINVAL);
	/* bad PTE state, bad order */
	ptes[100] = 'Z';
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x200000, MTHP_PMD_TABLE, ptes, NULL),
			 -EINVAL);
	ptes[100] = 'A';
	orders[7] = 14;
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x200000, MTHP_PMD_TABLE, ptes, orders),
			 -EINVAL);
	assert_int_equal(snap.nr_pmds, 0);
	/* in order, then repeated and decreasing */
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x400000, MTHP_PMD_TABLE, ptes, NULL), 0);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x400000, MTHP_PMD_NONE, NULL, NULL),
			 -EINVAL);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x200000, MTHP_PMD_NONE, NULL, NULL),
			 -EINVAL);
	assert_int_equal(snap.nr_pmds, 1);
	mthp_snapshot_free(&snap);
}

static void test_build_add_vma_errors(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	mthp_snapshot_init(&snap, NULL);
	assert_int_equal(snap.geo.page_size, 4096);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x2000, 0x2000, 0), -EINVAL);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x2000, 0x1000, 0), -EINVAL);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x1000, 0x2000, 1u << 7), -EINVAL);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x1000, 0x3000, 0), 0);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x2000, 0x4000, 0), -EINVAL);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x0, 0x1000, 0), -EINVAL);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x3000, 0x4000, 0), 0);
	assert_int_equal(snap.nr_vmas, 2);
	mthp_snapshot_free(&snap);
}

static void test_build_add_setting_errors(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	mthp_snapshot_init(&snap, NULL);
	assert_int_equal(mthp_snapshot_add_setting(&snap, "", "1"), -EINVAL);
	assert_int_equal(mthp_snapshot_add_setting(&snap, "enabled", ""), -EINVAL);
	assert_int_equal(mthp_snapshot_add_setting(&snap, "enabled", "al ways"), -EINVAL);
	assert_int_equal(mthp_snapshot_add_setting(&snap, "en\tabled", "always"), -EINVAL);
	assert_int_equal(mthp_snapshot_add_setting(&snap, "enabled", "always\n"), -EINVAL);
	assert_int_equal(mthp_snapshot_add_setting(&snap, NULL, "always"), -EINVAL);
	/* values are not checked here, only by mthp_snapshot_settings() */
	assert_int_equal(mthp_snapshot_add_setting(&snap, "enabled", "sometimes"), 0);
	assert_int_equal(snap.nr_settings, 1);
	mthp_snapshot_free(&snap);
}

/* ---- VMA flags ---- */

static void test_vma_flags_parse_format(void **state)
{
	char unknown[32], buf[128];
	uint32_t flags;

	(void)state;
	assert_int_equal(mthp_vma_flags_parse("-", &flags, unknown, sizeof(unknown)), 0);
	assert_int_equal(flags, 0);
	assert_string_equal(unknown, "");
	assert_int_equal(mthp_vma_flags_parse("uffd,x,anon,y", &flags, unknown,
					      sizeof(unknown)), 0);
	assert_int_equal(flags, MTHP_VMA_UFFD | MTHP_VMA_ANON);
	assert_string_equal(unknown, "x,y");
	mthp_vma_flags_format(flags, unknown, buf, sizeof(buf));
	assert_string_equal(buf, "anon,uffd,x,y");
	mthp_vma_flags_format(0, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	mthp_vma_flags_format(0, "z", buf, sizeof(buf));
	assert_string_equal(buf, "z");
	mthp_vma_flags_format(0x7f, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "anon,hugepage,nohugepage,uffd,noanonvma,file,shared");
	/* a short buffer is cut, still terminated */
	mthp_vma_flags_format(0x7f, NULL, buf, 8);
	assert_string_equal(buf, "anon,hu");
	assert_int_equal(mthp_vma_flags_parse("", &flags, NULL, 0), -EINVAL);
	assert_int_equal(mthp_vma_flags_parse("anon,,file", &flags, NULL, 0), -EINVAL);
	/* unknown names dropped without a buffer; too long for a buffer */
	assert_int_equal(mthp_vma_flags_parse("file,zzz", &flags, NULL, 0), 0);
	assert_int_equal(flags, MTHP_VMA_FILE);
	assert_int_equal(mthp_vma_flags_parse("aaaa,bbbb", &flags, unknown, 6), -ENOSPC);
}

/* ---- writer and round trips ---- */

static void test_write_format(void **state)
{
	static const struct mthp_geometry geo = { 4096, 512, 9 };
	struct mthp_snapshot snap;
	uint8_t ptes[512], orders[512];
	char *text, *expected;
	size_t len;

	(void)state;
	memset(ptes, '.', sizeof(ptes));
	memset(orders, MTHP_NO_FOLIO, sizeof(orders));
	memcpy(ptes, "AsPw0", 5);
	orders[0] = 13;
	orders[1] = 4;
	mthp_snapshot_init(&snap, &geo);
	assert_int_equal(mthp_snapshot_add_setting(&snap, "enabled", "always"), 0);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x7F3A00000000, 0x7f3a00400000,
					       MTHP_VMA_HUGEPAGE | MTHP_VMA_ANON), 0);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x7f3a00000000, MTHP_PMD_HUGE,
					       NULL, NULL), 0);
	assert_int_equal(mthp_snapshot_add_pmd(&snap, 0x7f3a00200000, MTHP_PMD_TABLE,
					       ptes, orders), 0);
	assert_int_equal(mthp_snapshot_add_vma(&snap, 0x7f3b00000000, 0x7f3b00001000, 0), 0);
	text = write_text(&snap, &len);
	expected = expand("mthp-snapshot 2\npage_size 4096\nptes_per_pmd 512\n"
			  "setting enabled always\n"
			  "vma 7f3a00000000 7f3a00400000 anon,hugepage\n"
			  "pmd 7f3a00000000 huge\n"
			  "pmd 7f3a00200000 table AsPw0{.*507} d40{-*509}\n"
			  "vma 7f3b00000000 7f3b00001000 -\n"
			  "end\n");
	assert_string_equal(text, expected);
	assert_int_equal(len, strlen(expected));
	free(expected);
	free(text);
	mthp_snapshot_free(&snap);
}

/* A snapshot of every kind of line for a geometry, built. */
static void build_sample(struct mthp_snapshot *snap, uint32_t page_size)
{
	struct mthp_geometry geo;
	uint64_t pmd, base = 0x7f0000000000;
	static const char alphabet[] = ".0wuAaSsfnlKPN";
	uint8_t *ptes, *orders;
	uint32_t n;

	assert_int_equal(mthp_geometry_from_page_size(&geo, page_size), 0);
	n = geo.ptes_per_pmd;
	pmd = mthp_pmd_size(&geo);
	ptes = malloc(n);
	orders = malloc(n);
	assert_non_null(ptes);
	assert_non_null(orders);
	for (uint32_t i = 0; i < n; i++) {
		ptes[i] = (uint8_t)alphabet[(i * 7 + i / 13) % 14];
		orders[i] = (uint8_t)(i % 17 == 16 ? MTHP_NO_FOLIO : i % 14);
		/* under 'w' a digit is a swap order: none here */
		if (ptes[i] == MTHP_PTE_SWAP)
			orders[i] = MTHP_NO_FOLIO;
	}
	mthp_snapshot_init(snap, &geo);
	assert_int_equal(mthp_snapshot_add_setting(snap, "khugepaged/max_ptes_none", "0"), 0);
	assert_int_equal(mthp_snapshot_add_setting(snap, "shmem_enabled", "always"), 0);
	assert_int_equal(mthp_snapshot_add_vma(snap, base, base + 4 * pmd,
					       MTHP_VMA_ANON | MTHP_VMA_HUGEPAGE), 0);
	assert_int_equal(mthp_snapshot_add_pmd(snap, base, MTHP_PMD_NONE, NULL, NULL), 0);
	assert_int_equal(mthp_snapshot_add_pmd(snap, base + pmd, MTHP_PMD_HUGE, NULL, NULL), 0);
	assert_int_equal(mthp_snapshot_add_pmd(snap, base + 2 * pmd, MTHP_PMD_TABLE,
					       ptes, orders), 0);
	assert_int_equal(mthp_snapshot_add_pmd(snap, base + 3 * pmd, MTHP_PMD_TABLE,
					       ptes, NULL), 0);
	/* a vma without pmds, then one whose pmd runs past its end */
	assert_int_equal(mthp_snapshot_add_vma(snap, base + 5 * pmd, base + 5 * pmd + page_size,
					       MTHP_VMA_FILE | MTHP_VMA_SHARED), 0);
	assert_int_equal(mthp_snapshot_add_vma(snap, base + 6 * pmd, base + 6 * pmd + 2 * page_size,
					       MTHP_VMA_ANON | MTHP_VMA_UFFD |
					       MTHP_VMA_NOANONVMA | MTHP_VMA_NOHUGEPAGE), 0);
	assert_int_equal(mthp_snapshot_add_pmd(snap, base + 6 * pmd, MTHP_PMD_TABLE,
					       ptes, orders), 0);
	assert_int_equal(mthp_snapshot_add_vma(snap, base + 8 * pmd, base + 9 * pmd, 0), 0);
	free(ptes);
	free(orders);
}

static void check_built_round_trip(uint32_t page_size)
{
	struct mthp_snapshot snap;

	build_sample(&snap, page_size);
	check_round_trip(&snap);
	mthp_snapshot_free(&snap);
}

/* Built in memory, written and read back, at each page size. */
static void test_round_trip_built(void **state)
{
	static const uint32_t page_sizes[] = { 4096, 16384, 65536 };

	(void)state;
	for (size_t i = 0; i < sizeof(page_sizes) / sizeof(page_sizes[0]); i++)
		check_built_round_trip(page_sizes[i]);
}

static void test_round_trip_empty(void **state)
{
	struct mthp_snapshot snap;

	(void)state;
	mthp_snapshot_init(&snap, NULL);
	check_round_trip(&snap);
	mthp_snapshot_free(&snap);
}

static void test_round_trip_read_unknown_flags(void **state)
{
	struct mthp_snapshot snap;
	struct warnings w = { "" };

	(void)state;
	read_ok(&snap, "# comment\nmthp-snapshot 1\nptes_per_pmd 2048\n"
		"setting hugepages-64kB/enabled always\n"
		"setting shmem_enabled advise\n"
		"extension stuff\n"
		"vma 7F3A00000000 7f3a04000000 mlocked,hugepage,anon,stack\n"
		"pmd 7f3a00000000 table {A*100}.0wu{S*1944} {3*100}----{-*1944}\n"
		"pmd 7f3a02000000 table {l*2048}\r\n"
		"vma 7f3a08000000 7f3a08004000 io\n", &w);
	assert_string_equal(snap.vmas[0].unknown_flags, "mlocked,stack");
	assert_string_equal(snap.vmas[1].unknown_flags, "io");
	assert_int_equal(snap.vmas[1].flags, 0);
	check_round_trip(&snap);
	mthp_snapshot_free(&snap);
}

/* ---- FILE reader and the worked examples ---- */

static void test_read_file(void **state)
{
	static const char text[] = HDR VMA "pmd 7f3a00200000 huge\n";
	struct mthp_diag d = { .warn = NULL };
	struct mthp_snapshot snap;
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");

	(void)state;
	assert_non_null(f);
	assert_int_equal(mthp_snapshot_read(&snap, f, NAME, &d), 0);
	assert_int_equal(snap.nr_pmds, 1);
	fclose(f);
	mthp_snapshot_free(&snap);
}

/* Every example snapshot reads, has settings and survives a write and a read. */
static void parse_example(const char *path, void *ctx)
{
	struct mthp_diag d = { .warn = NULL };
	struct mthp_snapshot snap;
	struct mthp_settings s;

	(void)ctx;
	if (example_read(path, &snap, &s, &d))
		fail_msg("%s", d.msg);
	assert_true(snap.nr_pmds > 0);
	check_round_trip(&snap);
	mthp_snapshot_free(&snap);
}

static void test_examples_parse(void **state)
{
	(void)state;
	assert_true(examples_each_snap(parse_example, NULL) >= 10);
}

/* ---- plan ---- */

struct plan_log {
	unsigned count;
	enum mthp_result scan[8];
	uint32_t nr_collapses[8];
	uint8_t first_order[8];
};

static void log_plan(void *ctx, const struct mthp_snapshot *snap,
		     const struct mthp_snapshot_pmd *pmd,
		     const struct mthp_pmd_plan *plan)
{
	struct plan_log *log = ctx;

	assert_ptr_equal(pmd, &snap->pmds[log->count]);
	assert_int_equal(plan->pmd_addr, pmd->addr);
	if (log->count < 8) {
		log->scan[log->count] = plan->scan;
		log->nr_collapses[log->count] = plan->nr_collapses;
		log->first_order[log->count] = plan->nr_collapses ? plan->collapses[0].order : 0;
	}
	log->count++;
}

static void test_plan_visits_every_pmd(void **state)
{
	struct mthp_snapshot snap;
	struct mthp_settings s;
	struct mthp_diag d = { .warn = NULL };
	struct plan_log log = { 0 };

	(void)state;
	read_ok(&snap, HDR VMA "pmd 7f3a00000000 none\npmd 7f3a00200000 huge\n"
		"pmd 7f3a00400000 table {A*512}\n"
		"vma 7f3a00600000 7f3a00800000 anon,nohugepage\n"
		"pmd 7f3a00600000 table {A*512}\n"
		"vma 7f3a00a00000 7f3a00b00000 anon,hugepage\n"
		"pmd 7f3a00a00000 table {A*512}\n", NULL);
	assert_int_equal(mthp_snapshot_settings(&snap, &s, NAME, &d), 0);
	assert_int_equal(mthp_snapshot_plan(&snap, &s, MTHP_POLICY_UPSTREAM,
					    MTHP_CONTEXT_KHUGEPAGED, log_plan, &log), 0);
	assert_int_equal(log.count, 5);
	assert_int_equal(log.scan[0], SCAN_NO_PTE_TABLE);
	assert_int_equal(log.scan[1], SCAN_PMD_MAPPED);
	assert_int_equal(log.scan[2], SCAN_SUCCEED);
	assert_int_equal(log.nr_collapses[2], 1);
	assert_int_equal(log.first_order[2], 9);
	assert_int_equal(log.scan[3], SCAN_VMA_CHECK);
	assert_int_equal(log.scan[4], SCAN_ADDRESS_RANGE);
	mthp_snapshot_free(&snap);
}

/* The collapses of a plan as "off:order ...", into ctx (a char[256]) per range. */
struct windows_log {
	char text[4][256];
	uint32_t batch_end[4];
	unsigned count;
};

static void log_windows(void *ctx, const struct mthp_snapshot *snap,
			const struct mthp_snapshot_pmd *pmd, const struct mthp_pmd_plan *plan)
{
	struct windows_log *log = ctx;
	char *t = log->text[log->count];

	(void)snap;
	(void)pmd;
	assert_true(log->count < 4);
	t[0] = '\0';
	for (uint32_t i = 0; i < plan->nr_collapses; i++)
		snprintf(t + strlen(t), 256 - strlen(t), "%s%u:%u", i ? " " : "",
			 plan->collapses[i].offset, plan->collapses[i].order);
	log->batch_end[log->count++] = plan->lru_batch_end;
}

/*
 * The ranges of a snapshot are one pass: the folios a range leaves in the
 * LRU add batch count in the next range's.  Range 1's 1M attempt isolates
 * pages 492-510 and fails on the shared page 511; every window over them
 * fails on their references; nothing collapses, so 19 stay in the batch.
 * Range 2 (A*48 S*4 A*460) alone leaves 17 of its own put-back pages in
 * the batch (20:2 24:3 ... collapse); after range 1 only 5 (0-4): 8:3
 * and 16:4 collapse instead.
 */
static void test_plan_lru_batch_goes_on_to_the_next_range(void **state)
{
	static const char sizes[] =
		"setting enabled always\nsetting hugepages-2048kB/enabled never\n"
		"setting hugepages-16kB/enabled always\nsetting hugepages-32kB/enabled always\n"
		"setting hugepages-64kB/enabled always\nsetting hugepages-128kB/enabled always\n"
		"setting hugepages-256kB/enabled always\nsetting hugepages-512kB/enabled always\n"
		"setting hugepages-1024kB/enabled always\n";
	struct mthp_snapshot snap;
	struct mthp_settings s;
	struct mthp_diag d = { .warn = NULL };
	struct windows_log log = { 0 };
	char text[8192];

	(void)state;
	snprintf(text, sizeof(text), HDR "%s" VMA "pmd 7f3a00000000 table {.*492}{A*19}S\n"
		 "pmd 7f3a00200000 table {A*48}{S*4}{A*460}\n"
		 "pmd 7f3a00400000 table {A*48}{S*4}{A*460}\n", sizes);
	/* the third range alone: a range with nothing put back before it */
	read_ok(&snap, text, NULL);
	assert_int_equal(mthp_snapshot_settings(&snap, &s, NAME, &d), 0);
	assert_int_equal(mthp_snapshot_plan(&snap, &s, MTHP_POLICY_UPSTREAM,
					    MTHP_CONTEXT_KHUGEPAGED, log_windows, &log), 0);
	assert_int_equal(log.count, 3);
	assert_string_equal(log.text[0], "");
	assert_int_equal(log.batch_end[0], 19);
	assert_string_equal(log.text[1], "8:3 16:4 52:2 56:3 64:6 128:7 256:8");
	/* range 2's last collapse drained the batch: range 3 starts empty */
	assert_int_equal(log.batch_end[1], 0);
	assert_string_equal(log.text[2], "20:2 24:3 52:2 56:3 64:6 128:7 256:8");
	mthp_snapshot_free(&snap);
}

static void test_plan_geometry_mismatch(void **state)
{
	struct mthp_snapshot snap;
	struct mthp_settings s;
	struct mthp_geometry geo;
	struct plan_log log = { 0 };

	(void)state;
	read_ok(&snap, HDR VMA "pmd 7f3a00400000 table {A*512}\n", NULL);
	assert_int_equal(mthp_geometry_from_page_size(&geo, 16384), 0);
	mthp_settings_init(&s, &geo);
	assert_int_equal(mthp_snapshot_plan(&snap, &s, MTHP_POLICY_LEGACY,
					    MTHP_CONTEXT_MADVISE, log_plan, &log), -EINVAL);
	assert_int_equal(log.count, 0);
	mthp_snapshot_free(&snap);
}

/* ---- robustness ---- */

/* Replace buf[0..*len) with a copy of one of its lines inserted again. */
static void duplicate_line(char *buf, size_t *len, size_t cap, struct mthp_rng *rnd)
{
	size_t at = (size_t)(mthp_rng_next(rnd) % (*len + 1)), start = at, end = at;

	while (start > 0 && buf[start - 1] != '\n')
		start--;
	while (end < *len && buf[end] != '\n')
		end++;
	if (end < *len)
		end++;
	if (*len + (end - start) > cap)
		return;
	memmove(buf + end + (end - start), buf + end, *len - end);
	memmove(buf + end, buf + start, end - start);
	*len += end - start;
}

static void mutate(char *buf, size_t *len, size_t cap, struct mthp_rng *rnd)
{
	static const char interesting[] = " \t\r\n\0#-,.0aAfZ9dexv";
	unsigned rounds = 1 + (unsigned)(mthp_rng_next(rnd) % 4);

	for (unsigned k = 0; k < rounds && *len; k++) {
		size_t at = (size_t)(mthp_rng_next(rnd) % *len);

		switch (mthp_rng_next(rnd) % 6) {
		case 0:		/* flip a byte */
			buf[at] = (char)mthp_rng_next(rnd);
			break;
		case 1:		/* a character the reader cares about */
			buf[at] = interesting[mthp_rng_next(rnd) % (sizeof(interesting) - 1)];
			break;
		case 2:		/* truncate */
			*len = at;
			break;
		case 3:		/* insert a NUL */
			if (*len < cap) {
				memmove(buf + at + 1, buf + at, *len - at);
				buf[at] = '\0';
				(*len)++;
			}
			break;
		case 4:		/* delete a byte */
			memmove(buf + at, buf + at + 1, *len - at - 1);
			(*len)--;
			break;
		case 5:
			duplicate_line(buf, len, cap, rnd);
			break;
		}
	}
}

/* "x.snap:N: something" */
static void assert_located(const char *msg)
{
	const char *p = msg + strlen(NAME);

	if (strncmp(msg, NAME ":", strlen(NAME) + 1))
		fail_msg("message without the file name: '%s'", msg);
	p++;
	if (*p < '1' || *p > '9')
		fail_msg("message without a line number: '%s'", msg);
	while (*p >= '0' && *p <= '9')
		p++;
	if (p[0] != ':' || p[1] != ' ' || !p[2])
		fail_msg("message not 'FILE:LINE: what': '%s'", msg);
}

static void test_random_mutations(void **state)
{
	char *base = expand(HDR "page_size 4096\nptes_per_pmd 512\n"
			    "setting khugepaged/max_ptes_none 511\n"
			    "setting hugepages-64kB/enabled always\n"
			    "# comment\n"
			    "vma 7f3a00000000 7f3a00600000 anon,hugepage,odd\n"
			    "pmd 7f3a00000000 huge\npmd 7f3a00200000 none\n"
			    "pmd 7f3a00400000 table {A*16}{.*16}ws0uaSfnlKPN{A*468} "
			    "{4*16}{-*16}-0--000-0000{c*467}d\n"
			    "vma 7f3a00800000 7f3a00a00000 -\n"
			    "pmd 7f3a00800000 table {a*512}\n");
	size_t base_len = strlen(base), cap = base_len * 3;
	char *buf = malloc(cap);
	struct mthp_rng rnd = { 0x6d746870u };	/* "mthp": the same inputs every run */
	unsigned ok = 0, failed = 0;

	(void)state;
	assert_non_null(buf);
	for (unsigned i = 0; i < 20000; i++) {
		struct mthp_diag d = { .warn = NULL };
		struct mthp_snapshot snap;
		size_t len = base_len;
		char *exact;
		int err;

		memcpy(buf, base, base_len);
		mutate(buf, &len, cap, &rnd);
		/* an exact-size copy, so any read past the end is caught */
		exact = malloc(len ? len : 1);
		assert_non_null(exact);
		memcpy(exact, buf, len);
		err = mthp_snapshot_read_mem(&snap, exact, len, NAME, &d);
		if (err) {
			assert_int_equal(err, -EINVAL);
			assert_located(d.msg);
			assert_empty(&snap);
			failed++;
		} else {
			check_round_trip(&snap);
			ok++;
		}
		mthp_snapshot_free(&snap);
		free(exact);
	}
	print_message("%u mutated inputs accepted, %u rejected\n", ok, failed);
	assert_true(ok > 100);
	assert_true(failed > 100);
	free(buf);
	free(base);
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_missing_header),
	cmocka_unit_test(test_missing_header_empty_input),
	cmocka_unit_test(test_missing_header_unknown_kind_first),
	cmocka_unit_test(test_header_unsupported_version),
	cmocka_unit_test(test_header_missing_version),
	cmocka_unit_test(test_header_extra_field),
	cmocka_unit_test(test_header_duplicate),
	cmocka_unit_test(test_page_size_bad_value),
	cmocka_unit_test(test_page_size_not_a_number),
	cmocka_unit_test(test_page_size_duplicate),
	cmocka_unit_test(test_page_size_after_vma),
	cmocka_unit_test(test_ptes_per_pmd_bad_value),
	cmocka_unit_test(test_ptes_per_pmd_duplicate),
	cmocka_unit_test(test_ptes_per_pmd_after_vma),
	cmocka_unit_test(test_ptes_per_pmd_inconsistent),
	cmocka_unit_test(test_page_size_inconsistent),
	cmocka_unit_test(test_default_geometry),
	cmocka_unit_test(test_page_size_alone_implies_ptes),
	cmocka_unit_test(test_ptes_alone_implies_page_size),
	cmocka_unit_test(test_geometry_4k),
	cmocka_unit_test(test_geometry_16k),
	cmocka_unit_test(test_geometry_64k),
	cmocka_unit_test(test_vma_start_not_below_end),
	cmocka_unit_test(test_vma_start_equal_end),
	cmocka_unit_test(test_vma_overlap),
	cmocka_unit_test(test_vma_not_increasing),
	cmocka_unit_test(test_vma_adjacent_ok),
	cmocka_unit_test(test_vma_bad_hex),
	cmocka_unit_test(test_vma_at),
	cmocka_unit_test(test_vma_not_page_aligned),
	cmocka_unit_test(test_vma_hex_overflow),
	cmocka_unit_test(test_vma_missing_field),
	cmocka_unit_test(test_vma_extra_field),
	cmocka_unit_test(test_vma_bad_flags),
	cmocka_unit_test(test_vma_flags),
	cmocka_unit_test(test_vma_unknown_flags_kept),
	cmocka_unit_test(test_pmd_before_vma),
	cmocka_unit_test(test_pmd_not_aligned),
	cmocka_unit_test(test_pmd_outside_vma),
	cmocka_unit_test(test_pmd_past_vma_end_ok),
	cmocka_unit_test(test_format2_partial_ranges_and_end),
	cmocka_unit_test(test_pmd_repeated),
	cmocka_unit_test(test_pmd_not_increasing),
	cmocka_unit_test(test_pmd_unknown_kind),
	cmocka_unit_test(test_pmd_missing_fields),
	cmocka_unit_test(test_pmd_extra_field),
	cmocka_unit_test(test_pmd_bad_address),
	cmocka_unit_test(test_pmd_ptes_wrong_length),
	cmocka_unit_test(test_pmd_unknown_pte_character),
	cmocka_unit_test(test_pmd_folios_wrong_length),
	cmocka_unit_test(test_pmd_folios_bad_digit),
	cmocka_unit_test(test_pmd_kinds),
	cmocka_unit_test(test_take_pmd),
	cmocka_unit_test(test_nul_byte),
	cmocka_unit_test(test_nul_byte_in_comment_ok),
	cmocka_unit_test(test_folios_orders),
	cmocka_unit_test(test_folios_dash_under_present_is_order_0),
	cmocka_unit_test(test_folios_digit_under_no_page_ignored),
	cmocka_unit_test(test_folios_swap_orders),
	cmocka_unit_test(test_folios_swap_order_bad),
	cmocka_unit_test(test_swap_orders_of_slots),
	cmocka_unit_test(test_folios_absent),
	cmocka_unit_test(test_crlf),
	cmocka_unit_test(test_tabs_and_spaces),
	cmocka_unit_test(test_comments_and_blank_lines),
	cmocka_unit_test(test_no_trailing_newline),
	cmocka_unit_test(test_hex_upper_case),
	cmocka_unit_test(test_huge_line),
	cmocka_unit_test(test_huge_unknown_line_warns),
	cmocka_unit_test(test_unknown_line_kind_warns),
	cmocka_unit_test(test_warnings_dropped_without_callback),
	cmocka_unit_test(test_setting_lines),
	cmocka_unit_test(test_setting_unknown_warns),
	cmocka_unit_test(test_setting_bad_value),
	cmocka_unit_test(test_setting_bad_size_for_geometry),
	cmocka_unit_test(test_setting_checked_against_later_geometry),
	cmocka_unit_test(test_setting_after_vma_checked),
	cmocka_unit_test(test_setting_fields),
	cmocka_unit_test(test_snapshot_settings),
	cmocka_unit_test(test_snapshot_settings_geometry_defaults),
	cmocka_unit_test(test_snapshot_settings_bad_built),
	cmocka_unit_test(test_build_basic),
	cmocka_unit_test(test_build_add_pmd_errors),
	cmocka_unit_test(test_build_add_vma_errors),
	cmocka_unit_test(test_build_add_setting_errors),
	cmocka_unit_test(test_vma_flags_parse_format),
	cmocka_unit_test(test_write_format),
	cmocka_unit_test(test_round_trip_built),
	cmocka_unit_test(test_round_trip_empty),
	cmocka_unit_test(test_round_trip_read_unknown_flags),
	cmocka_unit_test(test_read_file),
	cmocka_unit_test(test_examples_parse),
	cmocka_unit_test(test_plan_visits_every_pmd),
	cmocka_unit_test(test_plan_lru_batch_goes_on_to_the_next_range),
	cmocka_unit_test(test_plan_geometry_mismatch),
	cmocka_unit_test(test_random_mutations),
)
