/* SPDX-License-Identifier: MIT */
/* smaps.h - what the live tests read back from /proc/PID/smaps. */
#ifndef MTHP_TEST_SMAPS_H
#define MTHP_TEST_SMAPS_H

#include <stdint.h>
#include <sys/types.h>

/* AnonHugePages (kB) of the VMA of pid holding addr; -1 if none or unreadable. */
long anon_huge_kb(pid_t pid, uint64_t addr);

#endif
