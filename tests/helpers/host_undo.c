// SPDX-License-Identifier: MIT
/*
 * host_undo.c - the undo stack of host_undo.h: a fixed array of undo
 * functions, published to the signal handler only once complete, run
 * newest first by atexit and by the handler, which then restores the
 * previous action of the signal and raises it again.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "helpers/host_undo.h"

#define MAX_UNDOS 8

const int host_undo_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV };
const unsigned host_undo_nr_signals = sizeof(host_undo_signals) / sizeof(host_undo_signals[0]);

static host_undo_fn undos[MAX_UNDOS];
static volatile sig_atomic_t nr_undos;
static bool installed;
static struct sigaction old_actions[sizeof(host_undo_signals) / sizeof(host_undo_signals[0])];

void host_undo_all(void)
{
	for (int i = nr_undos - 1; i >= 0; i--)
		undos[i]();
}

static void on_signal(int sig)
{
	host_undo_all();
	for (unsigned i = 0; i < host_undo_nr_signals; i++) {
		if (host_undo_signals[i] != sig)
			continue;
		sigaction(sig, &old_actions[i], NULL);
		if (old_actions[i].sa_handler != SIG_IGN)
			raise(sig);	/* the previous handler, or the default */
		return;
	}
}

static void install(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (installed)
		return;
	installed = true;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < host_undo_nr_signals; i++)
		sigaction(host_undo_signals[i], &sa, &old_actions[i]);
	atexit(host_undo_all);
}

int host_undo_register(host_undo_fn fn)
{
	install();
	for (int i = 0; i < nr_undos; i++)
		if (undos[i] == fn)
			return 0;
	if (nr_undos == MAX_UNDOS)
		return -ENOSPC;
	undos[nr_undos] = fn;
	/* The entry is complete before a handler can see it. */
	atomic_signal_fence(memory_order_release);
	nr_undos = nr_undos + 1;
	return 0;
}
