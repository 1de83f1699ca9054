// SPDX-License-Identifier: MIT
/*
 * flags.c - the FLAGS field of a vma line: one name table indexed by bit
 * drives both parsing and formatting.  Names the format does not know are
 * collected as a comma list so that a writer can keep them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "common/msg.h"

static const char *const flag_names[] = {
	"anon",		/* MTHP_VMA_ANON */
	"hugepage",	/* MTHP_VMA_HUGEPAGE */
	"nohugepage",	/* MTHP_VMA_NOHUGEPAGE */
	"uffd",		/* MTHP_VMA_UFFD */
	"noanonvma",	/* MTHP_VMA_NOANONVMA */
	"file",		/* MTHP_VMA_FILE */
	"shared",	/* MTHP_VMA_SHARED */
};

_Static_assert(ARRAY_SIZE(flag_names) == 7, "one name per enum mthp_vma_flag");
_Static_assert(MTHP_VMA_SHARED == 1u << 6, "flag_names is indexed by bit");
_Static_assert(SNAP_KNOWN_VMA_FLAGS == (1u << ARRAY_SIZE(flag_names)) - 1,
	       "SNAP_KNOWN_VMA_FLAGS covers flag_names");

static int flag_bit(const char *name, size_t len)
{
	for (unsigned i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (strlen(flag_names[i]) == len && !memcmp(flag_names[i], name, len))
			return (int)i;
	return -1;
}

/* Append name[0..len) to the comma list in unknown; -ENOSPC if it does not fit. */
static int add_unknown(char *unknown, size_t unknown_len, size_t *used,
		       const char *name, size_t len)
{
	size_t need = len + (*used ? 1 : 0);

	if (!unknown || !unknown_len)
		return 0;
	if (*used + need >= unknown_len)
		return -ENOSPC;
	if (*used)
		unknown[(*used)++] = ',';
	memcpy(unknown + *used, name, len);
	*used += len;
	unknown[*used] = '\0';
	return 0;
}

int snap_flags_parse(const char *text, size_t len, uint32_t *flags,
		     char *unknown, size_t unknown_len, char *why, size_t whylen)
{
	const char *p = text, *end = text + len;
	size_t used = 0;
	char q[64];

	*flags = 0;
	if (unknown && unknown_len)
		unknown[0] = '\0';
	if (len == 1 && text[0] == '-')
		return 0;
	for (bool last = false; !last;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		size_t n = (size_t)(stop - p);
		int bit = flag_bit(p, n);

		if (!n || (n == 1 && *p == '-') || memchr(p, '\0', n)) {
			snap_quote(q, sizeof(q), text, len);
			mthp_msg(why, whylen, "bad FLAGS '%s': %s", q,
				 !n ? "empty flag name" :
				 *p == '-' ? "'-' stands alone for no flags" :
				 "NUL byte in a flag name");
			return -EINVAL;
		}
		if (bit >= 0) {
			*flags |= 1u << bit;
		} else if (add_unknown(unknown, unknown_len, &used, p, n)) {
			mthp_msg(why, whylen, "unknown flags do not fit in %zu bytes",
				 unknown_len);
			return -ENOSPC;
		}
		last = !comma;
		if (comma)
			p = comma + 1;
	}
	return 0;
}

int mthp_vma_flags_parse(const char *text, uint32_t *flags, char *unknown,
			 size_t unknown_len)
{
	return snap_flags_parse(text, strlen(text), flags, unknown, unknown_len,
				NULL, 0);
}

/* Append s to buf (comma first unless at the start); stays NUL-terminated. */
static void append_name(char *buf, size_t buflen, size_t *used, const char *s)
{
	int n = snprintf(buf + *used, buflen - *used, "%s%s", *used ? "," : "", s);

	if (n < 0)
		return;
	*used += (size_t)n;
	if (*used >= buflen)
		*used = buflen - 1;
}

void mthp_vma_flags_format(uint32_t flags, const char *unknown, char *buf,
			   size_t buflen)
{
	size_t used = 0;

	if (!buflen)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (flags & (1u << i))
			append_name(buf, buflen, &used, flag_names[i]);
	if (unknown && *unknown)
		append_name(buf, buflen, &used, unknown);
	if (!used)
		snprintf(buf, buflen, "-");
}
