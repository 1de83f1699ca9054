// SPDX-License-Identifier: MIT
/*
 * test_host_undo.c - the host undo stack (make check-host): a child
 * changes three THP knobs, swaps on a temporary file and makes a cgroup
 * with a process in it, then dies by SIGINT, SIGTERM, SIGHUP, SIGQUIT,
 * SIGABRT or SIGSEGV (raised, sent by the test, or a real fault or
 * abort()) or exits; every knob must read its original value again, the
 * swap file must be off and deleted, the cgroup removed, and the signal
 * must have been passed on.  When a child leaves something behind the
 * test puts it back itself before failing.  Needs root, THP and a writable
 * /sys/kernel/mm; the swap and cgroup parts need a file system with swap
 * files and a cgroup2 mount (else they are left out, with the reason).
 */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/cgroup.h"
#include "helpers/host_undo.h"
#include "helpers/live_child.h"
#include "helpers/live_skip.h"
#include "helpers/swapfile.h"
#include "helpers/thp_settings.h"

#define SWAP_DIR "/var/tmp"

static const char *const knobs[] = {
	"hugepages-64kB/enabled",
	"khugepaged/max_ptes_none",
	"khugepaged/max_ptes_swap",
};
#define NR_KNOBS (sizeof(knobs) / sizeof(knobs[0]))

/* What this machine lets the child change besides the knobs. */
static bool can_swap, can_cgroup;

enum how { BY_RAISE, BY_KILL, BY_FAULT, BY_ABORT, BY_EXIT };

struct death {
	int sig;		/* 0 with BY_EXIT */
	enum how how;
};

static const struct death deaths[] = {
	{ SIGINT, BY_RAISE }, { SIGINT, BY_KILL },
	{ SIGTERM, BY_RAISE }, { SIGTERM, BY_KILL },
	{ SIGHUP, BY_RAISE }, { SIGHUP, BY_KILL },
	{ SIGQUIT, BY_RAISE }, { SIGQUIT, BY_KILL },
	{ SIGABRT, BY_RAISE }, { SIGABRT, BY_ABORT },
	{ SIGSEGV, BY_RAISE }, { SIGSEGV, BY_FAULT },
	{ 0, BY_EXIT },
};
#define NR_DEATHS (sizeof(deaths) / sizeof(deaths[0]))

static void knob_read(const char *knob, char *buf, size_t len)
{
	if (thp_settings_read(knob, buf, len) < 0)
		fail_msg("cannot read %s", knob);
}

/* A value other than the current one. */
static const char *other_value(const char *knob, const char *now)
{
	if (strstr(knob, "enabled"))
		return strcmp(now, "always") ? "always" : "never";
	return strcmp(now, "7") ? "7" : "9";
}

/* ---- the child ---- */

/* In the child: change every knob, swap on, a cgroup with a process in it. */
static void child_change_host(int ready)
{
	char now[64], cg[256];
	pid_t sleeper;

	for (size_t i = 0; i < NR_KNOBS; i++) {
		if (thp_settings_read(knobs[i], now, sizeof(now)) < 0 ||
		    thp_settings_push(knobs[i], other_value(knobs[i], now)) < 0)
			_exit(10);
	}
	if (can_swap && swapfile_create(SWAP_DIR, 1) < 0)
		_exit(14);
	if (!can_cgroup)
		return;
	if (cgroup_create(cg, sizeof(cg)) < 0)
		_exit(15);
	sleeper = fork();
	if (sleeper == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlives the test */
		close(ready);
		for (;;)
			pause();
	}
	if (sleeper < 0 || cgroup_add(sleeper) < 0)
		_exit(16);
}

static void __attribute__((noreturn)) child_change_and_die(const struct death *d, int ready)
{
	const struct rlimit no_core = { 0, 0 };

	/* a plain program: no handler of the test framework or a sanitizer */
	for (unsigned i = 0; i < host_undo_nr_signals; i++)
		signal(host_undo_signals[i], SIG_DFL);
	setrlimit(RLIMIT_CORE, &no_core);	/* no core file in the tree */
	child_change_host(ready);
	switch (d->how) {
	case BY_RAISE:
		raise(d->sig);
		break;
	case BY_KILL:
		if (write(ready, "r", 1) != 1)
			_exit(11);
		for (;;)
			pause();
	case BY_FAULT: {
		/* a real fault, on a page with no access (not NULL: UBSan stops that) */
		volatile char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
					   -1, 0);

		if (page == MAP_FAILED)
			_exit(13);
		*page = 1;
		break;
	}
	case BY_ABORT:
		abort();
	case BY_EXIT:
		exit(0);	/* atexit undoes */
	}
	_exit(12);
}

/* ---- what the child may leave behind ---- */

/* Swap files the child left in SWAP_DIR: swapped off and deleted; how many. */
static size_t swap_files_put_away(pid_t child)
{
	char pattern[64];
	glob_t g;
	size_t n = 0;

	snprintf(pattern, sizeof(pattern), SWAP_DIR "/mthp-test-swap-%d.*", (int)child);
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (n = 0; n < g.gl_pathc; n++) {
			swapoff(g.gl_pathv[n]);
			unlink(g.gl_pathv[n]);
		}
	}
	globfree(&g);
	return n;
}

/* Every knob as before says; true when some had to be written back. */
static bool knobs_put_back(char before[][64])
{
	bool changed = false;
	char now[64];

	for (size_t i = 0; i < NR_KNOBS; i++) {
		knob_read(knobs[i], now, sizeof(now));
		if (strcmp(now, before[i])) {
			thp_settings_write(knobs[i], before[i]);
			changed = true;
		}
	}
	return changed;
}

/* ---- the case ---- */

/* BY_KILL: once the child has changed the host, check it did, and send sig. */
static void wait_ready_and_kill(pid_t pid, int fd, int sig, char before[][64])
{
	char c, now[64];

	assert_int_equal(read(fd, &c, 1), 1);
	for (size_t i = 0; i < NR_KNOBS; i++) {
		knob_read(knobs[i], now, sizeof(now));
		assert_string_not_equal(now, before[i]);
	}
	assert_true(!can_swap || swapfile_listed(pid));
	assert_int_equal(kill(pid, sig), 0);
}

static void check_how_it_died(const struct death *d, int status)
{
	if (d->how == BY_EXIT) {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		return;
	}
	if (!WIFSIGNALED(status))
		fail_msg("signal %d: the child exited with %d", d->sig, WEXITSTATUS(status));
	assert_int_equal(WTERMSIG(status), d->sig);	/* passed on */
}

/* The knobs before the case, and its child: for the teardown's repairs. */
static char orig[NR_KNOBS][64];
static pid_t changer;

/* Put back whatever the child left changed; what that was, or NULL. */
static const char *put_back_all(void)
{
	static char what[64];
	bool knobs_left = knobs_put_back(orig);
	bool swap_on = changer > 0 && swapfile_listed(changer);
	bool swap_left = (changer > 0 && swap_files_put_away(changer) > 0) || swap_on;
	bool cgroup_left = changer > 0 && cgroup_remove_leftover(changer);

	if (!knobs_left && !swap_left && !cgroup_left)
		return NULL;
	snprintf(what, sizeof(what), "%s%s%s", knobs_left ? " a knob" : "",
		 swap_left ? " the swap file" : "", cgroup_left ? " the cgroup" : "");
	return what;
}

/* Also when a case failed half-way: no child, the host as it was. */
static int teardown(void **state)
{
	live_kids_teardown(state);
	put_back_all();
	changer = 0;
	return 0;
}

static void test_undone_after(void **state)
{
	const struct death *d = *state;
	const char *left;
	int fds[2], status;

	for (size_t i = 0; i < NR_KNOBS; i++)
		knob_read(knobs[i], orig[i], sizeof(orig[i]));
	assert_int_equal(pipe(fds), 0);
	changer = live_kid_fork();
	if (changer == 0) {
		close(fds[0]);
		child_change_and_die(d, fds[1]);
	}
	close(fds[1]);
	if (d->how == BY_KILL)
		wait_ready_and_kill(changer, fds[0], d->sig, orig);
	close(fds[0]);
	assert_int_equal(waitpid(changer, &status, 0), changer);
	live_kid_forget(changer);
	left = put_back_all();
	if (left)
		fail_msg("signal %d: left behind:%s", d->sig, left);
	check_how_it_died(d, status);
}

/* In a child: 1 when a swap file can be made here, 2 a cgroup (said when not). */
static int probe_child(void)
{
	char cg[256];
	int ret = swapfile_create(SWAP_DIR, 1), can = 0;

	if (ret < 0)
		printf("note: no swap file in %s (%s): the swap part is left out\n", SWAP_DIR,
		       strerror(-ret));
	can |= ret == 0;
	swapfile_remove();
	ret = cgroup_create(cg, sizeof(cg));
	if (ret < 0)
		printf("note: no cgroup2 directory can be made (%s): the cgroup part is "
		       "left out\n", strerror(-ret));
	can |= (ret == 0) << 1;
	cgroup_remove();
	fflush(stdout);
	return can;
}

/*
 * What the children can change here, probed in a child of its own: this
 * process must not install the undo stack's handlers, so that each child
 * installs them over the default actions.
 */
static void probe_host(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(probe_child());
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return;
	can_swap = WEXITSTATUS(status) & 1;
	can_cgroup = WEXITSTATUS(status) & 2;
}

int main(void)
{
	static struct CMUnitTest tests[NR_DEATHS];
	static char names[NR_DEATHS][48];
	int unmet = host_test_requirements(true);

	if (unmet)
		return unmet;
	probe_host();
	for (size_t i = 0; i < NR_DEATHS; i++) {
		static const char *const hows[] = { "raised", "sent", "a fault", "abort()",
						    "exit" };

		snprintf(names[i], sizeof(names[i]), "undone after %s%s%s",
			 deaths[i].sig ? strsignal(deaths[i].sig) : "", deaths[i].sig ? " " : "",
			 hows[deaths[i].how]);
		tests[i] = (struct CMUnitTest){
			.name = names[i],
			.test_func = test_undone_after,
			.teardown_func = teardown,
			.initial_state = (void *)&deaths[i],
		};
	}
	return _cmocka_run_group_tests("host_undo", tests, NR_DEATHS, NULL, NULL) ? 1 : 0;
}
