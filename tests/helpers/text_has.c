// SPDX-License-Identifier: MIT
/* text_has.c - does an output hold every expected piece (text_has.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/text_has.h"

void assert_text_has(const char *text, ...)
{
	const char *piece;
	va_list ap;

	assert_non_null(text);
	va_start(ap, text);
	while ((piece = va_arg(ap, const char *))) {
		if (!strstr(text, piece)) {
			va_end(ap);
			fail_msg("missing '%s' in:\n%s", piece, text);
		}
	}
	va_end(ap);
}
