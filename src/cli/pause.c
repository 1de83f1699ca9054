// SPDX-License-Identifier: MIT
/*
 * pause.c - the sleep of the commands that work every interval (daemon,
 * record) until a signal tells them to stop.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/select.h>
#include <time.h>

#include "cli/cli.h"

uint64_t mthp_cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * SIGTERM, SIGINT and SIGUSR1 are blocked between the flag checks and
 * pselect(), which unblocks them atomically, so none is lost.
 */
bool mthp_cli_pause_until(uint64_t end, const volatile sig_atomic_t *stop,
			  const volatile sig_atomic_t *wake)
{
	bool woken = false;
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (;;) {
		uint64_t now = mthp_cli_now_ms();
		struct timespec ts;

		if (wake && *wake) {
			woken = true;
			break;
		}
		if (*stop || now >= end)
			break;
		ts.tv_sec = (time_t)((end - now) / 1000);
		ts.tv_nsec = (long)((end - now) % 1000) * 1000000;
		pselect(0, NULL, NULL, NULL, &ts, &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return woken;
}
