/* SPDX-License-Identifier: MIT */
/*
 * swapfile.h - a temporary swap file for the live tests: created with
 * mkswap and swapon, and swapped off and deleted at exit and on SIGINT,
 * SIGTERM, SIGSEGV and SIGABRT, also when the test fails.
 */
#ifndef MTHP_TEST_SWAPFILE_H
#define MTHP_TEST_SWAPFILE_H

#include <stddef.h>

/* Create and enable a swap file of mb MiB in dir; 0 or -errno. */
int swapfile_create(const char *dir, size_t mb);

/* swapoff and delete it (idempotent; also run at exit and on signals). */
void swapfile_remove(void);

#endif /* MTHP_TEST_SWAPFILE_H */
