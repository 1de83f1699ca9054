/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the snapshot files share: diagnostics, the checked
 * builders that the public builders and the reader both use (so a built
 * snapshot obeys exactly the rules a read one does), the VMA flag parser
 * and the check of one setting line.  Prototypes grouped by defining file.
 *
 * The "why" buffers receive a message without the "FILE:LINE: " prefix;
 * the reader adds it.  why may be NULL (whylen 0) when nobody wants it.
 */
#ifndef MTHP_SNAPSHOT_INTERNAL_H
#define MTHP_SNAPSHOT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <mthp/snapshot.h>

#include "common/array.h"

/* FOLIOS digits: the folio order is the index. */
#define SNAP_FOLIO_DIGITS "0123456789abcd"
_Static_assert(sizeof(SNAP_FOLIO_DIGITS) - 1 == MTHP_MAX_PMD_ORDER + 1,
	       "one FOLIOS digit per order");

/* The name used in messages when the caller gives none. */
#define SNAP_DEFAULT_NAME "<snapshot>"

/* diag.c */
void snap_error(struct mthp_diag *d, const char *name, unsigned line,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void snap_warn(struct mthp_diag *d, const char *name, unsigned line,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* text[0..len) as printable ASCII (\xNN escapes), cut to about 40 chars. */
void snap_quote(char *buf, size_t buflen, const char *text, size_t len);

/* build.c */
int snap_add_setting(struct mthp_snapshot *snap, const char *key, size_t keylen,
		     const char *value, size_t valuelen, unsigned line,
		     char *why, size_t whylen);
int snap_add_vma(struct mthp_snapshot *snap, uint64_t start, uint64_t end,
		 uint32_t flags, const char *unknown, unsigned line,
		 char *why, size_t whylen);
int snap_add_pmd(struct mthp_snapshot *snap, uint64_t addr,
		 enum mthp_pmd_kind kind, const uint8_t *ptes,
		 const uint8_t *folio_orders, unsigned line,
		 char *why, size_t whylen);
/* A PMD's PTE states and orders freed, the pointers left NULL. */
void snap_pmd_free_ptes(struct mthp_snapshot_pmd *pmd);

/* flags.c */
#define SNAP_KNOWN_VMA_FLAGS 0x7fu
int snap_flags_parse(const char *text, size_t len, uint32_t *flags,
		     char *unknown, size_t unknown_len, char *why, size_t whylen);

/* knobs.c */
/*
 * Apply one setting to s: 0 (an unknown knob is a warning and is skipped),
 * or -EINVAL with "FILE:LINE: <the knob's message>" in d->msg.
 */
int snap_apply_setting(struct mthp_settings *s,
		       const struct mthp_snapshot_setting *set,
		       const char *name, struct mthp_diag *d);

#endif /* MTHP_SNAPSHOT_INTERNAL_H */
