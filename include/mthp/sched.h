/* SPDX-License-Identifier: MIT */
/*
 * mthp/sched.h - the simulator's threads, real or deterministic.
 *
 * Every thread of a simulator run (khugepaged's, the rmap walker's, a
 * program's own, such as the stress harness's mutators) is started with
 * sim_thread_start().  By default that is a pthread and the OS schedules
 * it.  After sim_sched_begin() on a thread, the threads it starts are
 * coroutines on that one OS thread instead, and a scheduler decides which
 * one runs at every scheduling point: every lock and unlock of the
 * simulator's locks (and sim_sched_mutex_lock()), every yield, every
 * fault injection point and every step of a collapse, and with
 * atomic_points every step of a lockless protocol.  The decision
 * follows from the seed alone (PCT: priorities with d change points; or
 * a random walk; or a replayed list of preemptions), so the same seed
 * gives the same schedule on any machine.  A held lock blocks the taker
 * in the scheduler; when every thread is blocked that is a deadlock,
 * reported with the timeline.  Time is the simulator's clock: a sleep is
 * a yield.
 *
 * The scheduler keeps the last steps (thread, event, lock, call site and
 * the locks the thread held) for the timeline that a failure prints, and
 * counts the distinct pairs of locks it saw interleaved: a lock taken by
 * one thread while another thread held another.
 */
#ifndef MTHP_SCHED_H
#define MTHP_SCHED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum sim_sched_strategy {
	SIM_SCHED_PCT,		/* priorities, d - 1 change points (PCT) */
	SIM_SCHED_RANDOM,	/* a uniform choice at every point */
	SIM_SCHED_REPLAY,	/* the listed preemptions, else the default */
};

/*
 * A preemption: at scheduling point `step` (counted from 1), thread `to`
 * (numbered in the order the threads started, the beginning thread 0)
 * runs instead of the default choice (the running thread when it can
 * continue, else the lowest-numbered runnable one).
 */
struct sim_sched_preempt {
	uint64_t step;
	uint32_t to;
};

struct sim_sched_config {
	uint64_t seed;
	enum sim_sched_strategy strategy;
	unsigned pct_depth;		/* d >= 1: d - 1 change points */
	uint64_t pct_steps;		/* the steps the change points fall among */
	const struct sim_sched_preempt *replay;	/* SIM_SCHED_REPLAY's list */
	size_t nr_replay;
	const char *replay_command;	/* printed with a failure's timeline */
	/*
	 * Every step of the simulator's lockless protocols is a scheduling
	 * point too: each acquire load and release store of a PMD entry read
	 * or published outside its lock, of a folio's reference count and
	 * of a VMA's anon_vma (about twice the points, half the rate).
	 */
	bool atomic_points;
};

/* What a schedule did (sim_sched_end()). */
struct sim_sched_result {
	uint64_t steps;			/* scheduling points */
	uint64_t switches;		/* context switches */
	uint64_t preemptions;		/* decisions other than the default */
	unsigned threads;		/* started, the beginning thread too */
};

struct sim_thread;

/*
 * Run a deterministic schedule on the calling thread, which becomes its
 * thread 0 ("main").  0, -EBUSY when one is already running here,
 * -EINVAL for a bad config, -ENOMEM.
 */
int sim_sched_begin(const struct sim_sched_config *cfg);
/*
 * End it: every other thread must have been joined.  Fills *res (may be
 * NULL); the decisions that differed from the default stay readable by
 * sim_sched_decisions() until the next sim_sched_begin().
 */
void sim_sched_end(struct sim_sched_result *res);
/* Is a deterministic schedule running on the calling thread? */
bool sim_sched_on(void);

/*
 * Start fn(arg) in a thread named name (a static string): a pthread, or
 * under sim_sched_begin() a coroutine.  0 or -errno.
 */
int sim_thread_start(struct sim_thread **out, const char *name, void *(*fn)(void *),
		     void *arg);
/* Wait for it to return, and free it. */
void sim_thread_join(struct sim_thread *t);
/* Let the others run: sched_yield(), or a scheduling point. */
void sim_thread_yield(void);
/*
 * A lock of the program's own (not the simulator's), so that a
 * deterministic schedule can block on it instead of deadlocking its one
 * OS thread.  Context: takes or drops m.
 */
void sim_sched_mutex_lock(pthread_mutex_t *m);
void sim_sched_mutex_unlock(pthread_mutex_t *m);
/* A named step of the running thread (a static string), for the timeline. */
void sim_sched_note(const char *what);
/*
 * A failure was seen: the timeline stops here (the first call only), so
 * that it ends where the failure was found.
 */
void sim_sched_failed(void);
/* The name of the running deterministic thread, or NULL. */
const char *sim_sched_thread_name(void);

/*
 * Write the failure's timeline: the replay command, then its last n lines
 * (each step's thread, event, call site and the locks it held after it; a
 * polling loop's repeated steps folded into one line) and every thread's
 * state.  Uses only write(2) and snprintf, for crash handlers.
 * Does nothing outside a schedule.
 */
void sim_sched_dump(int fd, unsigned n);
/* The same into a FILE (not for crash handlers). */
void sim_sched_dump_file(FILE *out, unsigned n);

/*
 * The decisions that differed from the default: of the schedule running
 * on this OS thread (a crash handler's question), else of the last one.
 */
const struct sim_sched_preempt *sim_sched_decisions(size_t *nr);
/* The scheduling points of the schedule running on this OS thread, or 0. */
uint64_t sim_sched_steps(void);

/*
 * The distinct lock pairs seen interleaved (class of the lock another
 * thread held, class of the lock taken) and the distinct pairs of call
 * sites, over every schedule run by this OS thread since the last reset;
 * *nr_classes: the lock classes there are (the simulator's and the
 * program's locks of sim_sched_mutex_lock() as one).
 */
void sim_sched_coverage(unsigned *class_pairs, unsigned *site_pairs, unsigned *nr_classes);
void sim_sched_coverage_reset(void);

#endif /* MTHP_SCHED_H */
