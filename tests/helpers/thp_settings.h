/* SPDX-License-Identifier: MIT */
/*
 * thp_settings.h - a stack of THP sysfs knob changes for tests, modelled
 * on the kernel's tools/testing/selftests/mm/thp_settings.c: every knob
 * pushed is restored to its original value at exit and on the signals of
 * host_undo.h, and the test can check that all were.
 */
#ifndef MTHP_TEST_THP_SETTINGS_H
#define MTHP_TEST_THP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

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

/* The selected value of KNOB ("madvise", "511") into buf; 0 or -errno. */
int thp_settings_read(const char *knob, char *buf, size_t len);

/* Write KNOB without saving it (a test's safety net); 0 or -errno. */
int thp_settings_write(const char *knob, const char *value);

#endif /* MTHP_TEST_THP_SETTINGS_H */
