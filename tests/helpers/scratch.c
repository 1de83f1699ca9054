// SPDX-License-Identifier: MIT
/*
 * scratch.c - a test's directory of files under /tmp (scratch.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/scratch.h"

void scratch_make(struct scratch *s, const char *name)
{
	s->nr = 0;
	assert_true((size_t)snprintf(s->dir, sizeof(s->dir), "/tmp/mthp-%s-XXXXXX", name) <
		    sizeof(s->dir));
	assert_non_null(mkdtemp(s->dir));
}

const char *scratch_path(struct scratch *s, const char *file)
{
	char path[sizeof(s->path[0])];

	assert_true(s->nr < SCRATCH_MAX_FILES);
	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, file) < sizeof(path));
	memcpy(s->path[s->nr], path, sizeof(path));
	return s->path[s->nr++];
}

const char *scratch_file(struct scratch *s, const char *file, const void *data, size_t len)
{
	const char *path = scratch_path(s, file);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

void scratch_remove(struct scratch *s)
{
	for (unsigned i = 0; i < s->nr; i++)
		unlink(s->path[i]);
	rmdir(s->dir);
}
