// SPDX-License-Identifier: MIT
/*
 * test_det_schedule.c - deterministic schedules (mthp/sched.h) through the
 * stress harness: the same seed prints the same report, byte for byte;
 * other seeds give other schedules; a schedule's own list of decisions,
 * replayed, gives the same run; and the scheduler itself, on two threads
 * that take two locks in opposite orders, finds the deadlock from some
 * seed and prints the seed's replay command and the timeline of the
 * threads and the locks they held, in a child process (the deadlock
 * aborts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <mthp/sched.h>

#include "helpers/stress_harness.h"
#include "helpers/stress_shrink.h"
#include "helpers/test_main.h"

#define TEXT_OF(x) #x
#define TO_TEXT(x) TEXT_OF(x)

/*
 * Schedules a run: fewer under AddressSanitizer, whose interception of
 * every context switch clears the shadow of a whole coroutine stack.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RUN_SCHEDULES 3
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RUN_SCHEDULES 3
#endif
#endif
#ifndef RUN_SCHEDULES
#define RUN_SCHEDULES 20
#endif

/* A deterministic run of cfg; its report (malloc'd) and totals. */
static char *det_report(const struct stress_config *cfg, struct stress_totals *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	assert_int_equal(stress_run(cfg, t, out), 0);
	fclose(out);
	if (!stress_ok(t))
		fail_msg("the run failed: %s\n%s", t->why, text);
	return text;
}

static struct stress_config det_config(uint64_t seed, uint64_t schedules)
{
	struct stress_config cfg = STRESS_CONFIG_ALL(1, seed);

	cfg.det = true;
	cfg.schedules = schedules;
	cfg.ops = 60;
	cfg.strategy = SIM_SCHED_PCT;
	cfg.pct_depth = 3;
	return cfg;
}

static void test_same_seed_same_report(void **state)
{
	struct stress_config cfg = det_config(7, RUN_SCHEDULES);
	struct stress_totals a, b;
	char *first, *second;

	(void)state;
	first = det_report(&cfg, &a);
	second = det_report(&cfg, &b);
	assert_string_equal(first, second);
	assert_int_equal(a.schedules, RUN_SCHEDULES);
	assert_int_equal(a.ops, RUN_SCHEDULES * 60);
	assert_true(a.steps > RUN_SCHEDULES * 60);
	assert_int_equal(a.steps, b.steps);
	assert_int_equal(a.switches, b.switches);
	assert_true(a.class_pairs > 0 && a.site_pairs >= a.class_pairs);
	assert_non_null(strstr(first, "schedules: " TO_TEXT(RUN_SCHEDULES) " run"));
	free(first);
	free(second);

	/* the random walk too */
	cfg.strategy = SIM_SCHED_RANDOM;
	first = det_report(&cfg, &a);
	second = det_report(&cfg, &b);
	assert_string_equal(first, second);
	assert_non_null(strstr(first, "random walk"));
	free(first);
	free(second);
}

/*
 * With atomic points every lockless step is a scheduling point: more
 * points than without, and still the same report for the same seed.
 */
static void test_atomic_points(void **state)
{
	struct stress_config cfg = det_config(7, RUN_SCHEDULES);
	struct stress_totals plain, a, b;
	char *first, *second;

	(void)state;
	free(det_report(&cfg, &plain));
	cfg.atomic_points = true;
	first = det_report(&cfg, &a);
	second = det_report(&cfg, &b);
	assert_string_equal(first, second);
	assert_int_equal(a.steps, b.steps);
	if (a.steps <= plain.steps + plain.steps / 4)
		fail_msg("atomic points: %llu scheduling points, without %llu",
			 (unsigned long long)a.steps, (unsigned long long)plain.steps);
	free(first);
	free(second);
}

/* The decisions of one schedule of cfg (malloc'd), and its totals. */
static struct sim_sched_preempt *decisions_of(const struct stress_config *cfg, size_t *nr,
					      struct stress_totals *t)
{
	const struct sim_sched_preempt *d;
	struct sim_sched_preempt *copy;

	free(det_report(cfg, t));
	d = sim_sched_decisions(nr);
	copy = malloc((*nr + 1) * sizeof(*copy));
	assert_non_null(copy);
	if (*nr)
		memcpy(copy, d, *nr * sizeof(*copy));
	return copy;
}

/*
 * The same n decisions, step and thread (a struct's padding is not
 * written, so the bytes of two lists may differ where they agree).
 */
static bool same_decisions(const struct sim_sched_preempt *a, const struct sim_sched_preempt *b,
			   size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].step != b[i].step || a[i].to != b[i].to)
			return false;
	return true;
}

static void test_other_seeds_other_schedules(void **state)
{
	struct stress_config cfg;
	struct stress_totals t1, t2;
	struct sim_sched_preempt *d1, *d2;
	size_t n1, n2;
	bool differ;

	(void)state;
	cfg = det_config(1, 1);
	d1 = decisions_of(&cfg, &n1, &t1);
	cfg = det_config(2, 1);
	d2 = decisions_of(&cfg, &n2, &t2);
	assert_true(n1 > 0 && n2 > 0);
	differ = n1 != n2 || t1.steps != t2.steps ||
		 !same_decisions(d1, d2, n1);
	assert_true(differ);
	free(d1);
	free(d2);
}

/* A schedule's decisions, replayed, make the same schedule. */
static void test_decisions_replay_the_schedule(void **state)
{
	struct stress_config cfg = det_config(11, 1);
	struct stress_totals pct, replayed;
	struct sim_sched_preempt *d, *again;
	size_t n, n_again;

	(void)state;
	d = decisions_of(&cfg, &n, &pct);
	assert_true(n > 0);
	cfg.strategy = SIM_SCHED_REPLAY;
	cfg.replay = d;
	cfg.nr_replay = n;
	again = decisions_of(&cfg, &n_again, &replayed);
	assert_int_equal(n_again, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(again[i].step, d[i].step);
		assert_int_equal(again[i].to, d[i].to);
	}
	assert_int_equal(replayed.steps, pct.steps);
	assert_int_equal(replayed.switches, pct.switches);
	assert_int_equal(replayed.collapses, pct.collapses);
	assert_int_equal(replayed.full_scans, pct.full_scans);
	free(d);
	free(again);
}

/* The text a function printed to a FILE (malloc'd); it returned want. */
static char *printed(int (*fn)(const struct stress_config *, FILE *),
		     const struct stress_config *cfg, int want)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int ret;

	assert_non_null(out);
	ret = fn(cfg, out);
	fclose(out);
	assert_int_equal(ret, want);
	return text;
}

static int run_printing(const struct stress_config *cfg, FILE *out)
{
	struct stress_totals t;
	int err = stress_run(cfg, &t, out);

	return err ? err : stress_ok(&t) ? 0 : 1;
}

/*
 * A failure (planted: mutator 0's 7th operation) prints the seed, the
 * replay command and the timeline, which ends where it was seen.
 */
static void test_failure_prints_seed_replay_and_timeline(void **state)
{
	struct stress_config cfg = det_config(5, 3);
	char *text;

	(void)state;
	cfg.plant_failure = 7;
	cfg.program = "build/tests/stress";
	cfg.timeline = 2000;	/* far enough back for its operation (debug builds step more) */
	text = printed(run_printing, &cfg, 1);
	assert_non_null(strstr(text, "stress: FAILED in the schedule of seed 5: thread 0: "
			       "the planted failure"));
	assert_non_null(strstr(text, "replay: build/tests/stress --schedule det --seed 5 "
			       "--schedules 1 --threads 4 --ops 60 --policy upstream --pct 3\n"));
	assert_non_null(strstr(text, "timeline: the last "));
	assert_non_null(strstr(text, " lines before the failure was seen"));
	/* its 7th operation was the last step of mutator 0 before the failure */
	assert_non_null(strstr(text, "mutator 0    operation: "));
	/* the first schedule failed: the run stopped there */
	assert_non_null(strstr(text, "schedules: 1 run"));
	free(text);
}

/* --shrink takes the planted failure down to one thread, seven operations, no preemption. */
static void test_shrink_finds_the_shorter_schedule(void **state)
{
	struct stress_config cfg = det_config(5, 1);
	char *text;

	(void)state;
	cfg.plant_failure = 7;
	text = printed(stress_shrink, &cfg, 1);
	assert_non_null(strstr(text, "shrink: mutator threads 4 -> 1\n"));
	/* mutator 0 does the 7th operation with 7 operations among one thread */
	assert_non_null(strstr(text, "shrink: operations 60 -> 7\n"));
	assert_non_null(strstr(text, " -> 0\n"));
	assert_non_null(strstr(text, "shrunk: replay it: stress --schedule det --seed 5 "
			       "--schedules 1 --threads 1 --ops 7 --policy upstream --preempt none"));
	assert_non_null(strstr(text, "stress: FAILED in the schedule of seed 5"));
	free(text);

	/* a passing seed: nothing to shrink */
	cfg.plant_failure = 0;
	text = printed(stress_shrink, &cfg, 0);
	assert_non_null(strstr(text, "passes: nothing to shrink"));
	free(text);
}

/* ---- the scheduler alone: a lock-order deadlock ---- */

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *a_then_b(void *arg)
{
	(void)arg;
	sim_sched_mutex_lock(&lock_a);
	sim_sched_note("between the two locks");
	sim_sched_mutex_lock(&lock_b);
	sim_sched_mutex_unlock(&lock_b);
	sim_sched_mutex_unlock(&lock_a);
	return NULL;
}

static void *b_then_a(void *arg)
{
	(void)arg;
	sim_sched_mutex_lock(&lock_b);
	sim_sched_note("between the two locks");
	sim_sched_mutex_lock(&lock_a);
	sim_sched_mutex_unlock(&lock_a);
	sim_sched_mutex_unlock(&lock_b);
	return NULL;
}

/* One schedule of the two threads from seed (random walk); returns when no deadlock. */
static void two_threads(uint64_t seed)
{
	struct sim_sched_config sc = { .seed = seed, .strategy = SIM_SCHED_RANDOM,
				       .replay_command = "two_threads --seed N" };
	struct sim_thread *t1, *t2;

	if (sim_sched_begin(&sc))
		abort();
	if (sim_thread_start(&t1, "a-then-b", a_then_b, NULL) ||
	    sim_thread_start(&t2, "b-then-a", b_then_a, NULL))
		abort();
	sim_thread_join(t1);
	sim_thread_join(t2);
	sim_sched_end(NULL);
}

static void dump_on_abort(int sig)
{
	(void)sig;
	sim_sched_dump(STDERR_FILENO, 20);
	signal(SIGABRT, SIG_DFL);
}

static void test_deadlock_found_and_explained(void **state)
{
	int fds[2], status;
	char buf[16384];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		signal(SIGABRT, dump_on_abort);
		for (uint64_t seed = 1; seed <= 200; seed++)
			two_threads(seed);
		_exit(0);	/* no seed found it */
	}
	close(fds[1]);
	while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(buf, "sched: deadlock at step"));
	assert_non_null(strstr(buf, "replay: two_threads --seed N"));
	assert_non_null(strstr(buf, "DEADLOCK: every thread is blocked"));
	assert_non_null(strstr(buf, "waits for program_lock"));
	/* each thread's line at the end holds the lock the other waits for */
	assert_non_null(strstr(buf, "a-then-b     blocked; holds program_lock(w)"));
	assert_non_null(strstr(buf, "b-then-a     blocked; holds program_lock(w)"));
}

MTHP_TEST_MAIN(
	cmocka_unit_test(test_same_seed_same_report),
	cmocka_unit_test(test_atomic_points),
	cmocka_unit_test(test_other_seeds_other_schedules),
	cmocka_unit_test(test_decisions_replay_the_schedule),
	cmocka_unit_test(test_deadlock_found_and_explained),
	cmocka_unit_test(test_failure_prints_seed_replay_and_timeline),
	cmocka_unit_test(test_shrink_finds_the_shorter_schedule),
)
