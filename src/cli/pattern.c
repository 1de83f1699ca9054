// SPDX-License-Identifier: MIT
/*
 * pattern.c - the run-length form of a page table (`mthp plan --ptes`).
 *
 *   PATTERN := TOKEN [ SPACE TOKEN ]...
 *   TOKEN   := STATES [ '@' ORDER ]  |  STATE '*' COUNT [ '@' ORDER ]
 *
 * STATES is a string of PTE states of the snapshot alphabet (". 0 w u A a
 * S s f n l K P N"), STATE '*' COUNT repeats one state COUNT times, and
 * '@' ORDER (decimal, 0 up to the PMD order) puts those PTEs' pages in a
 * folio of that order; only PTEs that map a page can take one.  Tokens
 * that add up to less than one page table are padded with none PTEs (the
 * caller says so); more than one page table is an error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mthp/engine.h>

#include "cli/pattern.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Decimal digits in [p, end) into *v, at most max; false otherwise. */
static bool parse_count(const char *p, const char *end, uint64_t max, uint64_t *v)
{
	*v = 0;
	if (p == end)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		*v = *v * 10 + (uint64_t)(*p - '0');
		if (*v > max)
			return false;
	}
	return true;
}

int mthp_pattern_parse(const char *pattern, uint32_t n, uint8_t *ptes,
		       uint8_t *folio_orders, bool *has_folios, uint32_t *padded,
		       char *err, size_t errlen)
{
	const char *p = pattern;
	uint32_t filled = 0, pmd_order = 0;
	unsigned token = 0;

	while ((1u << pmd_order) < n)
		pmd_order++;
	*padded = 0;
	*has_folios = false;
	for (;;) {
		const char *start, *end, *star, *at;
		uint64_t count = 1, order = 0;
		uint32_t states_len;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		token++;
		start = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		end = p;
		at = memchr(start, '@', (size_t)(end - start));
		if (at) {
			if (!parse_count(at + 1, end, pmd_order, &order))
				return fail(err, errlen,
					    "token %u '%.*s': '@' needs a folio order 0..%u (the PMD order)",
					    token, (int)(end - start), start, pmd_order);
			*has_folios = true;
			end = at;
		}
		star = memchr(start, '*', (size_t)(end - start));
		if (star) {
			if (star - start != 1)
				return fail(err, errlen,
					    "token %u '%.*s': '*' repeats one state, as in 'A*16'",
					    token, (int)(p - start), start);
			if (!parse_count(star + 1, end, n, &count) || count == 0)
				return fail(err, errlen,
					    "token %u '%.*s': the count after '*' must be 1..%u",
					    token, (int)(p - start), start, n);
			states_len = 1;
		} else {
			states_len = (uint32_t)(end - start);
			if (!states_len)
				return fail(err, errlen, "token %u '%.*s': no PTE states",
					    token, (int)(p - start), start);
		}
		for (uint32_t i = 0; i < states_len; i++) {
			if (!mthp_pte_state_valid((unsigned char)start[i]))
				return fail(err, errlen,
					    "token %u: '%c' is not a PTE state (one of . 0 w u A a S s f n l K P N)",
					    token, start[i]);
			if (at && !mthp_pte_state_has_folio((unsigned char)start[i]))
				return fail(err, errlen,
					    "token %u: '@' on '%c', a PTE that maps no page of a folio",
					    token, start[i]);
		}
		if (!star)
			count = states_len;
		if (count > n - filled)
			return fail(err, errlen, "more than %u PTEs (one page table) at token %u",
				    n, token);
		for (uint32_t i = 0; i < count; i++) {
			uint8_t state = (uint8_t)start[star ? 0 : i];

			ptes[filled] = state;
			folio_orders[filled] = mthp_pte_state_has_folio(state) ?
				(uint8_t)order : MTHP_NO_FOLIO;
			filled++;
		}
	}
	if (!filled)
		return fail(err, errlen, "no PTEs given (a page table has %u)", n);
	*padded = n - filled;
	memset(ptes + filled, MTHP_PTE_NONE, *padded);
	memset(folio_orders + filled, MTHP_NO_FOLIO, *padded);
	return 0;
}
