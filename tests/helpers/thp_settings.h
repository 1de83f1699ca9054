/* SPDX-License-Identifier: MIT */
/*
 * thp_settings.h - a stack of THP sysfs knob changes for tests, modelled
 * on the kernel's tools/testing/selftests/mm/thp_settings.c: every knob
 * pushed is restored to its original value at exit and on SIGINT, SIGTERM,
 * SIGSEGV and SIGABRT, and the test can check that all were.
 */
#ifndef MTHP_TEST_THP_SETTINGS_H
#define MTHP_TEST_THP_SETTINGS_H

#include <stdbool.h>

/*
 * Set KNOB (a path below /sys/kernel/mm/transparent_hugepage, e.g.
 * "hugepages-64kB/enabled") to value, saving its original value the first
 * time.  0 or -errno.
 */
int thp_settings_push(const char *knob, const char *value);

/* Restore every pushed knob, newest first (also run at exit and on signals). */
void thp_settings_restore(void);

/* True when every knob ever pushed reads its original value again. */
bool thp_settings_verify(void);

#endif /* MTHP_TEST_THP_SETTINGS_H */
