/* SPDX-License-Identifier: MIT */
/*
 * guest.h - what the programs that run inside the make check-kernel guest
 * share: the THP knobs below /sys/kernel/mm/transparent_hugepage, and
 * `mthp snapshot --pid` of a process.  Functions return 0 or -errno and
 * say on stderr what failed, naming the file.
 */
#ifndef MTHP_TESTS_KERNEL_GUEST_H
#define MTHP_TESTS_KERNEL_GUEST_H

#include <stddef.h>
#include <sys/types.h>

#define GUEST_THP "/sys/kernel/mm/transparent_hugepage"

/* The THP sizes of x86-64 with order >= 2, 16K to 2M. */
extern const char *const guest_sizes[];
#define GUEST_NR_SIZES 8

void guest_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write or read one knob, named below GUEST_THP ("khugepaged/full_scans"). */
int guest_knob_write(const char *knob, const char *value);
int guest_knob_read(const char *knob, unsigned long *value);

/* Every size and the global mode never: khugepaged stops, faults map order 0. */
int guest_thp_all_never(void);

/* `mthp snapshot --pid PID -o PATH` ($MTHP or /bin/mthp). */
int guest_snapshot(pid_t pid, const char *path);

#endif /* MTHP_TESTS_KERNEL_GUEST_H */
