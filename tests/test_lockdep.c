// SPDX-License-Identifier: MIT
/*
 * test_lockdep.c - the simulator's lock validator (src/sim/lockdep.c)
 * aborts on each kind of mistake, naming both locks and both call sites:
 * a lock taken out of order, the same lock taken twice, a lock released
 * that is not held, a function whose Context: says a lock is dropped
 * returning with it held, and one whose Context: says a lock is held
 * called without it.  Each case runs in a forked child, which must die of
 * SIGABRT; the child sends the call sites it used on stdout and the
 * parent finds them, with the lock names, in the child's stderr.  The
 * allowed nestings (the documented order, the nested classes, a trylock
 * against the order) run in the test process itself.  The validator
 * exists in debug builds only (MTHP_DEBUG=1, every SANITIZE build): in
 * others the test is skipped.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "helpers/sim_fx.h"
#include "sim/sim_internal.h"

struct lfx {
	struct sim *sim;
	struct sim_mm *mm;
	struct sim_pmd_table *pmdt;
	struct sim_pte_table *t, *t2;
};

static struct lfx fx;

/* The call site of the next line, sent to the parent. */
#define SITE() printf("tests/test_lockdep.c:%d\n", __LINE__ + 1)

static void fx_setup(void)
{
	const struct sim_config cfg = { .page_size = 4096, .nr_frames = 1u << 12, .seed = 1 };
	struct sim_fx f = sim_fx_make(&cfg, NULL);

	fx.sim = f.sim;
	fx.mm = f.mm;
	fx.pmdt = calloc(1, sizeof(*fx.pmdt));
	assert_non_null(fx.pmdt);
	pthread_mutex_init(&fx.pmdt->lock, NULL);
	fx.t = pte_table_alloc(fx.sim);
	fx.t2 = pte_table_alloc(fx.sim);
	assert_non_null(fx.t);
	assert_non_null(fx.t2);
}

static void fx_teardown(void)
{
	pte_table_free(fx.t);
	pte_table_free(fx.t2);
	pthread_mutex_destroy(&fx.pmdt->lock);
	free(fx.pmdt);
	sim_exit(fx.mm);
	sim_destroy(fx.sim);
}

static void case_order_inversion(void)
{
	SITE();
	pte_lock(fx.t);
	SITE();
	pmd_lock(fx.pmdt);		/* the PMD lock is outside the PTE lock */
}

static void case_recursion(void)
{
	SITE();
	mmap_read_lock(fx.mm);
	SITE();
	mmap_read_lock(fx.mm);
}

static void case_release_not_held(void)
{
	SITE();
	pmd_lock(fx.pmdt);
	SITE();
	pte_unlock(fx.t);
}

static void case_nested_class_reversed(void)
{
	SITE();
	pte_lock_nested(fx.t2);
	SITE();
	pte_lock(fx.t);			/* nested is taken inside, not outside */
}

/*
 * Takes and drops the PTE lock of t.
 * Context: no PTE lock held on return -- but this one forgets to drop it.
 */
static void drop_forgotten(struct sim_pte_table *t)
{
	SITE();
	pte_lock(t);
	SITE();
	lockdep_assert_not_held(LOCK_PTE, NULL);
}

static void case_context_still_held(void)
{
	drop_forgotten(fx.t);
}

/* A simulator function whose Context: says no lock: called under mmap_lock. */
static void case_context_sim_function(void)
{
	SITE();
	mmap_read_lock(fx.mm);
	inject_race_point(fx.mm, 0);
}

/* khugepaged_exit_locked's Context: the mm list lock held; it is not. */
static void case_context_not_held(void)
{
	SITE();
	pte_lock(fx.t);
	khugepaged_exit_locked(fx.mm);
}

/* An operation entered from under a simulator lock (world_enter's Context). */
static void case_context_operation(void)
{
	SITE();
	mmap_read_lock(fx.mm);
	sim_write(fx.mm, 0, 1);
}

/* A function that wants mmap_lock for write, called under the read lock. */
static void case_context_mmap_write(void)
{
	SITE();
	mmap_read_lock(fx.mm);
	SITE();
	mmap_assert_locked(fx.mm, LOCK_WRITE);
}

/*
 * Run fn in a child; it must abort, and its stderr must name the locks in
 * names (NULL-terminated) and every call site it printed on stdout.
 */
static void expect_abort(void (*fn)(void), const char *what, const char *const *names)
{
	int out[2], err[2], status;
	char sites[1024] = "", msg[8192] = "";
	size_t n_sites = 0, n_msg = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		setvbuf(stdout, NULL, _IOLBF, 0);
		fn();
		fflush(stdout);
		_exit(0);
	}
	close(out[1]);
	close(err[1]);
	while ((n = read(out[0], sites + n_sites, sizeof(sites) - 1 - n_sites)) > 0)
		n_sites += (size_t)n;
	while ((n = read(err[0], msg + n_msg, sizeof(msg) - 1 - n_msg)) > 0)
		n_msg += (size_t)n;
	close(out[0]);
	close(err[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		fail_msg("%s: the child did not abort (status 0x%x): %s", what, status, msg);
	if (!strstr(msg, what))
		fail_msg("expected \"%s\" in: %s", what, msg);
	for (const char *const *p = names; *p; p++)
		if (!strstr(msg, *p))
			fail_msg("expected lock %s in: %s", *p, msg);
	for (char *line = strtok(sites, "\n"); line; line = strtok(NULL, "\n"))
		if (!strstr(msg, line))
			fail_msg("expected call site %s in: %s", line, msg);
}

/* A broken use of the locks: what the validator must say, the names it must print. */
struct abort_case {
	const char *name;
	void (*fn)(void);
	const char *what;
	const char *names[4];	/* NULL-terminated */
};

static const struct abort_case abort_cases[] = {
	{ "test_order_inversion_aborts", case_order_inversion,
	  "lock order inversion taking: pmd_lock",
	  { "pmd_lock", "pte_lock" } },
	{ "test_recursion_aborts", case_recursion,
	  "recursive acquisition of: mmap_lock",
	  { "mmap_lock" } },
	{ "test_release_not_held_aborts", case_release_not_held,
	  "releasing a lock not held: pte_lock",
	  { "pte_lock", "pmd_lock" } },
	{ "test_nested_class_reversed_aborts", case_nested_class_reversed,
	  "lock order inversion taking: pte_lock",
	  { "pte_lock", "pte_lock_nested" } },
	{ "test_context_still_held_aborts", case_context_still_held,
	  "Context: still held: pte_lock",
	  { "pte_lock" } },
	{ "test_context_sim_function_aborts", case_context_sim_function,
	  "Context: still held: mmap_lock",
	  { "mmap_lock", "src/sim/inject_race.c:" } },
	{ "test_context_not_held_aborts", case_context_not_held,
	  "Context: not held for write: mm_list_lock",
	  { "mm_list_lock", "pte_lock", "src/sim/mm.c:" } },
	{ "test_context_operation_aborts", case_context_operation,
	  "Context: no lock may be held, still held: mmap_lock",
	  { "mmap_lock", "src/sim/fault.c:" } },
	{ "test_context_mmap_write_aborts", case_context_mmap_write,
	  "Context: not held for write: mmap_lock",
	  { "mmap_lock" } },
};
#define NR_ABORT_CASES (sizeof(abort_cases) / sizeof(abort_cases[0]))

static void test_aborts(void **state)
{
	const struct abort_case *c = *state;

	expect_abort(c->fn, c->what, c->names);
}

/* mmap_assert_locked() takes a fork child's nested mmap_lock too. */
static void test_mmap_assert_nested(void **state)
{
	(void)state;
	mmap_write_lock_nested(fx.mm);
	mmap_assert_locked(fx.mm, LOCK_WRITE);
	assert_true(lockdep_is_held(LOCK_MMAP_NESTED, fx.mm, LOCK_WRITE));
	assert_false(lockdep_is_held(LOCK_MMAP, fx.mm, LOCK_ANY));
	mmap_unlock_nested(fx.mm);
	mmap_read_lock(fx.mm);
	mmap_assert_locked(fx.mm, LOCK_READ);
	mmap_unlock(fx.mm);
	lockdep_assert_none_held();
}

/* The documented order, the nested classes and a trylock are allowed. */
static void test_allowed_nesting(void **state)
{
	struct sim_anon_vma av;

	(void)state;
	pthread_rwlock_init(&av.lock, NULL);
	assert_int_equal(lockdep_depth(), 0);
	world_enter(fx.sim);
	mmap_write_lock(fx.mm);
	anon_vma_lock_write(&av);
	pmd_lock(fx.pmdt);
	pte_lock(fx.t);
	pte_lock_nested(fx.t2);
	assert_int_equal(lockdep_depth(), 6);
	lockdep_assert_held(LOCK_PTE, fx.t, LOCK_WRITE);
	lockdep_assert_held(LOCK_MMAP, fx.mm, LOCK_WRITE);
	pte_unlock_nested(fx.t2);
	pte_unlock(fx.t);
	pmd_unlock(fx.pmdt);
	/* a trylock against the order cannot deadlock */
	pte_lock(fx.t);
	assert_true(mmap_read_trylock(fx.mm) == false);	/* held for write */
	pte_unlock(fx.t);
	anon_vma_unlock_write(&av);
	mmap_unlock(fx.mm);
	world_exit(fx.sim);
	assert_int_equal(lockdep_depth(), 0);
	lockdep_assert_not_held(LOCK_MMAP, NULL);
	pthread_rwlock_destroy(&av.lock);
}

static int setup(void **state)
{
	(void)state;
	fx_setup();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_teardown();
	return 0;
}

int main(void)
{
	struct CMUnitTest tests[NR_ABORT_CASES + 2] = {
		cmocka_unit_test(test_allowed_nesting),
	};
	size_t n = 1;

	for (size_t i = 0; i < NR_ABORT_CASES; i++)
		tests[n++] = (struct CMUnitTest){ .name = abort_cases[i].name,
						  .test_func = test_aborts,
						  .initial_state = (void *)&abort_cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mmap_assert_nested);
	if (!MTHP_DEBUG) {
		printf("skip: the lock validator exists in debug builds only "
		       "(MTHP_DEBUG=1, e.g. make SANITIZE=address,undefined check)\n");
		return 77;
	}
	return _cmocka_run_group_tests("lockdep", tests, n, setup, teardown);
}
