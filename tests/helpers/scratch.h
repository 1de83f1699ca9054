/* SPDX-License-Identifier: MIT */
/*
 * scratch.h - a directory of a test's files under /tmp: made at the start,
 * each file's path asked for by name, and removed with the files at the
 * end.  Each step fails the case (cmocka) when it cannot be done.
 */
#ifndef MTHP_TEST_SCRATCH_H
#define MTHP_TEST_SCRATCH_H

#include <stddef.h>

#define SCRATCH_MAX_FILES 8

struct scratch {
	char dir[64];
	char path[SCRATCH_MAX_FILES][128];
	unsigned nr;
};

/* The directory /tmp/mthp-NAME-XXXXXX made. */
void scratch_make(struct scratch *s, const char *name);

/* The path of FILE in the directory, removed by scratch_remove(). */
const char *scratch_path(struct scratch *s, const char *file);

/* scratch_path() of FILE, the file written with the len bytes at data. */
const char *scratch_file(struct scratch *s, const char *file, const void *data, size_t len);

/* The files asked for (those that exist) and the directory removed. */
void scratch_remove(struct scratch *s);

#endif
