/* SPDX-License-Identifier: MIT */
/*
 * swapfile.h - a temporary swap file for the host tests: created with
 * mkswap and swapon, and swapped off and deleted at exit and on the
 * signals of host_undo.h, also when the test fails.
 */
#ifndef MTHP_TEST_SWAPFILE_H
#define MTHP_TEST_SWAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Create and enable a swap file of mb MiB in dir, named
 * mthp-test-swap-PID.XXXXXX after the process that makes it; 0 or -errno.
 */
int swapfile_create(const char *dir, size_t mb);

/* swapoff and delete it (idempotent; also run at exit and on signals). */
void swapfile_remove(void);

/* True when /proc/swaps lists a swap file that process creator made. */
bool swapfile_listed(pid_t creator);

#endif /* MTHP_TEST_SWAPFILE_H */
