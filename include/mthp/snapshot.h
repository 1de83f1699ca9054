/* SPDX-License-Identifier: MIT */
/*
 * mthp/snapshot.h - snapshot formats 1 and 2: reader, writer (2), builder, planner.
 *
 * A snapshot is a process's page tables, one line per PMD range
 * (docs/snapshot-format.md).  The reader rejects malformed input with
 * "FILE:LINE: what is wrong" and never reads out of bounds, whatever the
 * bytes.  Functions return 0 or -errno and never set errno.
 */
#ifndef MTHP_SNAPSHOT_H
#define MTHP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mthp/engine.h>
#include <mthp/settings.h>

struct mthp_snapshot_setting {
	char *key;
	char *value;
	unsigned line;		/* 0 when built, not read */
};

struct mthp_snapshot_vma {
	uint64_t start;
	uint64_t end;		/* exclusive */
	uint32_t flags;		/* enum mthp_vma_flag */
	char *unknown_flags;	/* flags the format does not know, kept; or NULL */
	unsigned line;
};

struct mthp_snapshot_pmd {
	uint64_t addr;
	enum mthp_pmd_kind kind;
	size_t vma;		/* index into vmas */
	uint8_t *ptes;		/* N states, kind TABLE; else NULL */
	uint8_t *folio_orders;	/* N orders / MTHP_NO_FOLIO; NULL when absent */
	/*
	 * N swap orders (mthp_swap_orders()), under 'w' PTEs only, 0 under
	 * any other; NULL when every one is 0.  In the text they are the
	 * FOLIOS digits under 'w'.
	 */
	uint8_t *swap_orders;
	unsigned line;
};

struct mthp_snapshot {
	struct mthp_geometry geo;
	struct mthp_snapshot_setting *settings;
	size_t nr_settings;
	struct mthp_snapshot_vma *vmas;
	size_t nr_vmas;
	struct mthp_snapshot_pmd *pmds;
	size_t nr_pmds;
	size_t cap_settings, cap_vmas, cap_pmds;	/* private */
};

/* Diagnostics: the error text, and where warnings go. */
struct mthp_diag {
	char msg[512];		/* "FILE:LINE: what is wrong" after an error */
	void (*warn)(void *ctx, const char *msg);	/* NULL: drop warnings */
	void *warn_ctx;
};

/* An empty snapshot of a geometry. */
void mthp_snapshot_init(struct mthp_snapshot *snap, const struct mthp_geometry *geo);
void mthp_snapshot_free(struct mthp_snapshot *snap);

/* The pages a snapshot maps: its huge PMDs' and its PTEs' that map a folio. */
uint64_t mthp_snapshot_present_pages(const struct mthp_snapshot *snap);

/* The VMA of snap that holds addr, or NULL (a binary search: the VMAs are in order). */
const struct mthp_snapshot_vma *mthp_snapshot_vma_at(const struct mthp_snapshot *snap,
						     uint64_t addr);

/* Builders (copying their arguments); -ENOMEM or -EINVAL on bad input. */
int mthp_snapshot_add_setting(struct mthp_snapshot *snap, const char *key,
			      const char *value);
int mthp_snapshot_add_vma(struct mthp_snapshot *snap, uint64_t start,
			  uint64_t end, uint32_t flags);
/*
 * Adds to the last VMA; ptes/folio_orders may be NULL (folio_orders only).
 * folio_orders is the FOLIOS field as numbers: under a 'w' PTE the swap
 * order (0, or 2 up to the PMD order less 1; MTHP_NO_FOLIO reads as 0).
 */
int mthp_snapshot_add_pmd(struct mthp_snapshot *snap, uint64_t addr,
			  enum mthp_pmd_kind kind, const uint8_t *ptes,
			  const uint8_t *folio_orders);
/*
 * Adds *pmd, a range of another snapshot of the same geometry, to the last
 * VMA, taking its PTE and folio arrays (*pmd is left without them): what
 * mthp_snapshot_add_pmd() checked of them when it was added holds.
 */
int mthp_snapshot_take_pmd(struct mthp_snapshot *snap, struct mthp_snapshot_pmd *pmd);
/* The same, copying the arrays of *pmd. */
int mthp_snapshot_copy_pmd(struct mthp_snapshot *snap, const struct mthp_snapshot_pmd *pmd);
/* The FOLIOS field of a table pmd as numbers, as mthp_snapshot_add_pmd()
 * takes it: folio orders, and swap orders under 'w'. */
void mthp_snapshot_pmd_folios(const struct mthp_snapshot *snap,
			      const struct mthp_snapshot_pmd *pmd, uint8_t *out);

/* No swap entry: a key of mthp_swap_orders(). */
#define MTHP_NO_SWAP UINT64_MAX
/*
 * The swap orders of n PTEs of one table (n a power of two, the first PTE
 * PMD-aligned): slot[i] is PTE i's swap entry as one number (the device
 * above the offset, so that consecutive slots of one device differ by 1),
 * or MTHP_NO_SWAP for a PTE that is not a 'w' swap entry or lies outside
 * the VMA whose swap orders are wanted.  out[i] is the largest order k,
 * 2 <= k <= max_order, such that the naturally aligned block of 2^k PTEs
 * holding i has consecutive slots from one that is a multiple of 2^k
 * (what a folio swapped out whole leaves behind, and what a swap-in of a
 * folio of order k needs), else 0.
 */
void mthp_swap_orders(const uint64_t *slot, uint32_t n, unsigned max_order,
		      uint8_t *out);

/*
 * One bit a page over some PMD ranges of a geometry (the pages a process
 * wrote between two frames of a recording): ranges in increasing address
 * order, each with ptes_per_pmd bits, bit i for PTE i.
 */
struct mthp_pmd_bits {
	uint32_t words;		/* 64-bit words of one range's bits */
	size_t nr, cap;
	uint64_t *addr;		/* PMD-aligned, increasing */
	uint64_t *bits;		/* nr * words */
};

void mthp_pmd_bits_init(struct mthp_pmd_bits *b, const struct mthp_geometry *geo);
void mthp_pmd_bits_free(struct mthp_pmd_bits *b);
/* Forget every range, keeping the room and the geometry. */
void mthp_pmd_bits_clear(struct mthp_pmd_bits *b);
/*
 * Set bits[] (words of them) at the range at addr: ORed into the last
 * range when it is addr, else a new range after it (-EINVAL if addr is
 * not past the last range).  All-zero bits add nothing.  0 or -ENOMEM.
 */
int mthp_pmd_bits_or(struct mthp_pmd_bits *b, uint64_t addr, const uint64_t *bits);
/* The bits set, over every range. */
uint64_t mthp_pmd_bits_count(const struct mthp_pmd_bits *b);
/* The bits of the range at addr, or NULL when it has none set. */
const uint64_t *mthp_pmd_bits_find(const struct mthp_pmd_bits *b, uint64_t addr);

/*
 * Read a snapshot.  name is used in messages ("FILE:LINE: ...").  On error
 * returns -EINVAL (or -ENOMEM, -EIO) with diag->msg set and *snap empty.
 * Unknown line kinds and unknown setting knobs are warnings.  Every
 * setting line is checked against the geometry (range, known sizes).
 */
int mthp_snapshot_read(struct mthp_snapshot *snap, FILE *f, const char *name,
		       struct mthp_diag *diag);
int mthp_snapshot_read_mem(struct mthp_snapshot *snap, const char *buf,
			   size_t len, const char *name, struct mthp_diag *diag);

/* Write format 2; -EIO on a write error. */
int mthp_snapshot_write(const struct mthp_snapshot *snap, FILE *f);

/*
 * Settings for planning this snapshot: the defaults of its geometry, then
 * its setting lines in file order (unknown knobs are warnings; bad values
 * are errors "FILE:LINE: ...").
 */
int mthp_snapshot_settings(const struct mthp_snapshot *snap,
			   struct mthp_settings *s, const char *name,
			   struct mthp_diag *diag);

/* Comma list of VMA flags <-> bits; unknown names are collected. */
int mthp_vma_flags_parse(const char *text, uint32_t *flags, char *unknown,
			 size_t unknown_len);
void mthp_vma_flags_format(uint32_t flags, const char *unknown, char *buf,
			   size_t buflen);

/* Visit the plan of every pmd line, in file order. */
typedef void (*mthp_plan_fn)(void *ctx, const struct mthp_snapshot *snap,
			     const struct mthp_snapshot_pmd *pmd,
			     const struct mthp_pmd_plan *plan);
int mthp_snapshot_plan(const struct mthp_snapshot *snap,
		       const struct mthp_settings *s, enum mthp_policy policy,
		       enum mthp_context context, mthp_plan_fn fn, void *ctx);

#endif /* MTHP_SNAPSHOT_H */
