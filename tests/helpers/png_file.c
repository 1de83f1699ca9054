// SPDX-License-Identifier: MIT
/*
 * png_file.c - see png_file.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "helpers/png_file.h"

void assert_png_file(const char *path)
{
	unsigned char magic[8];
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fread(magic, 1, sizeof(magic), f), sizeof(magic));
	fclose(f);
	assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", sizeof(magic));
}
