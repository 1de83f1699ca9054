// SPDX-License-Identifier: MIT
/*
 * json_text.c - text from outside (a path, a comm, a mapping's name) as a
 * JSON string: JSON is UTF-8, and jansson refuses anything else, so bytes
 * that are not UTF-8 become '?'.
 */
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned min, c;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, min = 0x80, c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, min = 0x800, c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, min = 0x10000, c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* the NUL at the end too */
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

json_t *mthp_json_text(const char *text)
{
	json_t *j = json_string(text);
	char *copy;
	size_t i = 0;

	if (j || !text)
		return j;
	copy = strdup(text);
	if (!copy)
		return NULL;
	while (copy[i]) {
		size_t n = utf8_len((const unsigned char *)copy + i);

		if (!n) {
			copy[i] = '?';
			n = 1;
		}
		i += n;
	}
	j = json_string(copy);
	free(copy);
	return j;
}
