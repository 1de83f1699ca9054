/* SPDX-License-Identifier: MIT */
/*
 * host_undo.h - the undo stack of the tests that change the host (make
 * check-host): every change (a THP knob, a swap file, a cgroup) registers
 * the function that undoes it, and the stack runs newest first at exit and
 * on SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT and SIGSEGV, after which the
 * signal goes on to the handler installed before (or the default one).
 */
#ifndef MTHP_TEST_HOST_UNDO_H
#define MTHP_TEST_HOST_UNDO_H

/*
 * An undo function: it must be async-signal-safe (open, write, close,
 * rmdir, unlink, swapoff, nanosleep...) and idempotent, since it may run
 * from a signal handler and again at exit.
 */
typedef void (*host_undo_fn)(void);

/*
 * Register fn (once; registering it again does nothing) and install the
 * exit and signal handlers on first use.  0 or -ENOSPC.
 */
int host_undo_register(host_undo_fn fn);

/* Run every registered undo, newest first (also at exit and on signals). */
void host_undo_all(void);

/* The signals the stack handles, for tests of it. */
extern const int host_undo_signals[];
extern const unsigned host_undo_nr_signals;

#endif /* MTHP_TEST_HOST_UNDO_H */
