// SPDX-License-Identifier: MIT
/*
 * sched.c - the simulator's threads (mthp/sched.h): pthreads, or under
 * sim_sched_begin() coroutines on the calling OS thread with a scheduler
 * that the seed decides.
 *
 * A coroutine is a stack of its own and the registers saved on it; a
 * switch saves the running thread's per-thread state of the simulator
 * (the lock validator's held locks, the step noted for a crash report)
 * and loads the next one's.  The scheduler decides at every scheduling point:
 * before a blocking lock, after an unlock, at a trylock, a yield, a
 * fault injection point and a collapse step.  Its rules:
 *
 *   default  the running thread goes on when it can; else (it blocked,
 *            returned, or yielded) the next runnable thread after it in
 *            the order they started.  A yield passes the turn, so that a
 *            thread polling a flag lets the others reach it.
 *   PCT      every thread has a random priority above d; the highest
 *            runnable one runs; at each of d - 1 change points drawn
 *            among the first pct_steps steps the running thread drops
 *            to priority i (the i-th change point).  A yield drops the
 *            thread below every other (PCT's threads end; a polling
 *            loop would otherwise keep the highest priority for ever),
 *            so threads that yield take turns in the order they yielded.
 *   random   a uniform choice among the runnable threads at every point.
 *   replay   the default, except at the listed steps.
 *
 * Every decision that differs from the default is kept: that list,
 * replayed, gives the same schedule (the threads' own randomness follows
 * from the workload's seed, not the scheduler's), and removing entries
 * from it is how a failing schedule is shrunk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <mthp/sched.h>

#include "common/array.h"
#include "common/names.h"
#include "common/rng.h"
#include "sim/bug.h"
#include "sim/locks.h"

#if defined(__SANITIZE_ADDRESS__)
#define SCHED_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCHED_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SCHED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SCHED_TSAN 1
#endif
#endif
#ifdef SCHED_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/*
 * How a switch is made.  swapcontext() saves and restores the signal
 * mask, a system call at every switch; on x86-64 the switch is instead
 * the few instructions below, which save what the ABI says a callee
 * keeps (rbx, rbp, r12 to r15, the MXCSR and x87 control words) on the
 * old stack and load them from the new one.  The signal mask never
 * changes inside a schedule, so there is nothing else to keep.  The
 * sanitizer builds keep ucontext, whose switches they intercept, and so
 * does a build for shadow stacks (a return to another stack's address
 * would fault), and every other architecture.
 */
#if defined(__x86_64__) && !defined(SCHED_ASAN) && !defined(SCHED_TSAN) && \
    !(defined(__CET__) && (__CET__ & 2))
#define SCHED_ASM_SWITCH 1
#endif

#ifdef SCHED_ASM_SWITCH
/* Save the callee-saved registers on this stack, *from = sp, sp = to, load them. */
void mthp_sched_switch(void **from, void *to);
__asm__(".text\n"
	".p2align 4\n"
	".globl mthp_sched_switch\n"
	".hidden mthp_sched_switch\n"
	".type mthp_sched_switch, @function\n"
	"mthp_sched_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size mthp_sched_switch, .-mthp_sched_switch\n");
#endif
#ifdef SCHED_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#define SCHED_MAX_THREADS 48u
#define SCHED_MAX_HELD 16u
#define SCHED_STACK (512u << 10)
#define SCHED_HISTORY 4096u		/* steps kept for the timeline */
#define SCHED_MAX_STEPS 50000000ull	/* a schedule longer than this is a livelock */
#define SCHED_MAX_CHANGES 64u
/* sim_sched_mutex_lock()'s class, one past the simulator's own */
#define SCHED_PROGRAM_LOCK ((enum sim_lock_class)LOCK_NR_CLASSES)
#define SCHED_NR_CLASSES (LOCK_NR_CLASSES + 1)
#define SITE_SET_SIZE (1u << 16)		/* the most slots; 3/4 of them counted */
#define SITE_SET_FIRST (1u << 10)
#define LOCK_SLOTS 1024u		/* the locks held at once, by address: 2^10 */

enum task_state { TASK_RUNNABLE, TASK_BLOCKED, TASK_DONE };

enum sched_event {
	EV_START, EV_EXIT, EV_LOCK, EV_TRYLOCK, EV_TRYFAIL, EV_BLOCK, EV_UNLOCK,
	EV_YIELD, EV_STEP, EV_JOIN, EV_DEADLOCK, NR_EVENTS
};

struct held {
	const void *lock;
	const char *file;
	int line;
	uint8_t cls;
	uint8_t mode;			/* LOCK_READ or LOCK_WRITE */
};

struct task {
#ifdef SCHED_ASM_SWITCH
	void *sp;			/* its saved registers, while it does not run */
#else
	ucontext_t ctx;
#endif
	unsigned id;
	const char *name;
	enum task_state state;
	const void *wait;		/* what it is blocked on */
	bool joining;			/* wait is a thread to return, not a lock */
	void *(*fn)(void *);
	void *arg;
	void *stack;			/* NULL: the beginning thread's own */
	int64_t prio;			/* PCT */
	struct held held[SCHED_MAX_HELD];
	unsigned nr_held;
	/*
	 * The classes of held[]: read in the low 32 bits, write in the
	 * high ones (one word, stored and loaded whole: two halves stored
	 * apart and loaded together stall the load)
	 */
	uint64_t held_classes;
	uint8_t nr_class_held[SCHED_NR_CLASSES][2];	/* held[] of a class, by mode */
	unsigned char *tls;		/* the per-thread state saved while it waits */
	bool joined;
#ifdef SCHED_ASAN
	void *fake_stack;
	const void *stack_bottom;
	size_t stack_size;
#endif
#ifdef SCHED_TSAN
	void *fiber;
#endif
};

/*
 * A lock held in a deterministic schedule.  Every simulated thread runs
 * on one OS thread, so the scheduler keeps the locks' state itself, by
 * address, and never touches the pthread locks: a lock is taken when
 * the table says it is free (for a read, when no writer holds it), the
 * rules the pthread locks' trylock follows (glibc's rwlocks let readers
 * in while a writer waits), without an atomic instruction.
 */
struct lock_slot {
	const void *lock;		/* NULL: free */
	uint64_t holders;		/* readers, or SLOT_WRITER */
};

#define SLOT_WRITER UINT64_MAX

/* 32 bytes: a schedule has fewer than SCHED_MAX_STEPS steps, 2^32 */
struct step_rec {
	const char *file;		/* or the step's text (EV_STEP) */
	uint32_t step;
	int32_t line;
	uint32_t held_read;		/* classes held after the step, by mode */
	uint32_t held_write;
	uint8_t task;
	uint8_t ev;
	uint8_t cls;
	uint8_t mode;
	uint8_t switched;		/* another thread ran just before */
};

/* A per-thread variable of the simulator that each coroutine keeps its own of. */
struct tls_region {
	void *addr;
	size_t size;
};

struct sched {
	struct sim_sched_config cfg;
	struct mthp_rng rng;
	struct task *tasks[SCHED_MAX_THREADS];
	unsigned nr_tasks;
	unsigned nr_live;		/* started and not returned */
	unsigned nr_held;		/* locks held, by all threads */
	unsigned nr_lock_waiters;	/* threads blocked on a lock (not a join) */
	bool dirty;			/* a thread woke or started since the last choice */
	struct task *cur;
	struct task *prev;		/* the thread switched from */
	uint64_t step;
	uint64_t switches;
	uint64_t change[SCHED_MAX_CHANGES];
	unsigned nr_change;
	int64_t yields;			/* PCT: a yield's priority is -yields */
	size_t replay_at;
	struct sim_sched_preempt *decisions;
	size_t nr_decisions, cap_decisions;
	struct step_rec hist[SCHED_HISTORY];
	uint64_t nr_hist;
	unsigned last_task;		/* the thread of the last record */
	bool frozen;			/* sim_sched_failed(): the timeline ends */
	uint64_t frozen_at;
	struct tls_region tls[4];
	unsigned nr_tls;
	size_t tls_size;
	char *replay;			/* the command, or NULL */
	struct lock_slot locks[LOCK_SLOTS];	/* open addressing, linear probing */
	unsigned nr_locks;
};

__thread struct sched *sched_det;
__thread bool sched_det_atomic;

/* Kept across schedules of one OS thread: the decisions and the coverage. */
static __thread struct sim_sched_preempt *last_decisions;
static __thread size_t nr_last_decisions;
static __thread uint8_t class_pairs[SCHED_NR_CLASSES][SCHED_NR_CLASSES];
static __thread unsigned nr_class_pairs;
static __thread uint64_t *site_set;	/* open addressing, site_set_size slots */
static __thread unsigned site_set_size;
static __thread unsigned nr_site_pairs;
/* stacks kept for the next schedule */
static __thread void *stack_pool[SCHED_MAX_THREADS];
static __thread unsigned nr_stack_pool;

static const char *class_name(unsigned cls)
{
	return cls == SCHED_PROGRAM_LOCK ? "program_lock" :
	       lockdep_class_name((enum sim_lock_class)cls);
}

/* ---- the per-thread state of the simulator ---- */

static void tls_register(struct sched *s, void *addr, size_t size)
{
	if (!addr || !size || s->nr_tls == ARRAY_SIZE(s->tls))
		return;
	s->tls[s->nr_tls].addr = addr;
	s->tls[s->nr_tls].size = size;
	s->nr_tls++;
	s->tls_size += size;
}

static void tls_save(struct sched *s, struct task *t)
{
	size_t off = 0;

	for (unsigned i = 0; i < s->nr_tls; i++) {
		memcpy(t->tls + off, s->tls[i].addr, s->tls[i].size);
		off += s->tls[i].size;
	}
}

static void tls_load(struct sched *s, const struct task *t)
{
	size_t off = 0;

	for (unsigned i = 0; i < s->nr_tls; i++) {
		memcpy(s->tls[i].addr, t->tls + off, s->tls[i].size);
		off += s->tls[i].size;
	}
}

/* ---- the history and the coverage ---- */

/* Bit 1 << cls of held_classes, for mode: read low, write high. */
static uint64_t class_bit(unsigned cls, unsigned mode)
{
	return (uint64_t)1 << (cls + (mode == LOCK_READ ? 0 : 32));
}

/*
 * The functions every scheduling point runs, inlined: a schedule has
 * some 28,000 points, and their calls cost more than their work.
 */
#define SCHED_HOT static inline __attribute__((always_inline))

SCHED_HOT void record(struct sched *s, enum sched_event ev, unsigned cls, unsigned mode,
		      const char *file, int line)
{
	const struct task *t = s->cur;

	if (s->frozen)
		return;
	s->hist[s->nr_hist % SCHED_HISTORY] = (struct step_rec){
		.file = file, .step = (uint32_t)s->step, .line = line,
		.held_read = (uint32_t)t->held_classes,
		.held_write = (uint32_t)(t->held_classes >> 32),
		.task = (uint8_t)t->id, .ev = (uint8_t)ev, .cls = (uint8_t)cls,
		.mode = (uint8_t)mode, .switched = s->nr_hist && s->last_task != t->id,
	};
	s->last_task = t->id;
	s->nr_hist++;
}

static uint64_t site_key(const char *fa, int la, const char *fb, int lb)
{
	return mthp_rng_mix(mthp_rng_mix((uint64_t)(uintptr_t)fa ^ ((uint64_t)la << 48)) ^
			    ((uint64_t)(uintptr_t)fb + ((uint64_t)lb << 40)));
}

/* Put key in the set of size slots (there is room). */
static void site_put(uint64_t *set, unsigned size, uint64_t key)
{
	for (uint32_t i = (uint32_t)key & (size - 1);; i = (i + 1) & (size - 1)) {
		if (set[i] == key)
			return;
		if (!set[i]) {
			set[i] = key;
			nr_site_pairs++;
			return;
		}
	}
}

/*
 * The set starts small and doubles at 3/4 full, up to SITE_SET_SIZE
 * slots: the hundred-odd pairs a run sees stay in a few cache lines.
 */
static void site_insert(uint64_t key)
{
	if (!key)
		key = 1;
	if (nr_site_pairs >= SITE_SET_SIZE / 4 * 3)
		return;
	if (!site_set || (nr_site_pairs >= site_set_size / 4 * 3 && site_set_size < SITE_SET_SIZE)) {
		unsigned size = site_set ? site_set_size * 2 : SITE_SET_FIRST;
		uint64_t *set = calloc(size, sizeof(*set));

		if (!set)
			return;
		nr_site_pairs = 0;
		for (unsigned i = 0; site_set && i < site_set_size; i++)
			if (site_set[i])
				site_put(set, size, site_set[i]);
		free(site_set);
		site_set = set;
		site_set_size = size;
	}
	site_put(site_set, site_set_size, key);
}

/* The lock just taken by the running thread, against every lock the others hold. */
static void cover(struct sched *s, unsigned cls, const char *file, int line)
{
	for (unsigned i = 0; i < s->nr_tasks; i++) {
		const struct task *t = s->tasks[i];

		if (t == s->cur)
			continue;
		for (unsigned j = 0; j < t->nr_held; j++) {
			const struct held *h = &t->held[j];

			if (!class_pairs[h->cls][cls]) {
				class_pairs[h->cls][cls] = 1;
				nr_class_pairs++;
			}
			site_insert(site_key(h->file, h->line, file, line));
		}
	}
}

/* ---- switching ---- */

static void switch_to(struct sched *s, struct task *next)
{
	struct task *prev = s->cur;

	if (next == prev)
		return;
	s->switches++;
	tls_save(s, prev);
	tls_load(s, next);
	s->prev = prev;
	s->cur = next;
#ifdef SCHED_TSAN
	__tsan_switch_to_fiber(next->fiber, 0);
#endif
#ifdef SCHED_ASAN
	__sanitizer_start_switch_fiber(prev->state == TASK_DONE ? NULL : &prev->fake_stack,
				       next->stack_bottom, next->stack_size);
#endif
#ifdef SCHED_ASM_SWITCH
	mthp_sched_switch(&prev->sp, next->sp);
#else
	swapcontext(&prev->ctx, &next->ctx);
#endif
#ifdef SCHED_ASAN
	/* back in prev: note the bounds of the stack that switched here */
	__sanitizer_finish_switch_fiber(prev->fake_stack, &s->prev->stack_bottom,
					&s->prev->stack_size);
#endif
}

static _Noreturn void deadlock(struct sched *s)
{
	char line[200];

	record(s, EV_DEADLOCK, 0, 0, NULL, 0);
	s->frozen = true;
	snprintf(line, sizeof(line), "sched: deadlock at step %llu: every thread is blocked\n",
		 (unsigned long long)s->step);
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		abort();
	abort();
}

static bool runnable(const struct task *t)
{
	return t->state == TASK_RUNNABLE;
}

/* The default: the running thread, unless it passes the turn or cannot run. */
static struct task *default_choice(struct sched *s, bool pass)
{
	unsigned n = s->nr_tasks, from = s->cur->id;

	if (!pass && runnable(s->cur))
		return s->cur;
	for (unsigned k = 1; k <= n; k++) {
		struct task *t = s->tasks[(from + k) % n];

		if (runnable(t))
			return t;
	}
	return NULL;
}

static struct task *pct_choice(struct sched *s)
{
	struct task *best = NULL;

	for (unsigned i = 0; i < s->nr_change; i++)
		if (s->change[i] == s->step)
			s->cur->prio = (int64_t)i + 1;
	for (unsigned i = 0; i < s->nr_tasks; i++) {
		struct task *t = s->tasks[i];

		if (runnable(t) && (!best || t->prio > best->prio))
			best = t;
	}
	return best;
}

static struct task *random_choice(struct sched *s)
{
	unsigned nr = 0, pick;

	for (unsigned i = 0; i < s->nr_tasks; i++)
		nr += runnable(s->tasks[i]);
	if (!nr)
		return NULL;
	pick = mthp_rng_below(&s->rng, nr);
	for (unsigned i = 0; i < s->nr_tasks; i++)
		if (runnable(s->tasks[i]) && !pick--)
			return s->tasks[i];
	return NULL;
}

static struct task *replay_choice(struct sched *s, struct task *dflt)
{
	const struct sim_sched_config *c = &s->cfg;

	while (s->replay_at < c->nr_replay && c->replay[s->replay_at].step < s->step)
		s->replay_at++;
	if (s->replay_at < c->nr_replay && c->replay[s->replay_at].step == s->step) {
		uint32_t to = c->replay[s->replay_at++].to;

		if (to < s->nr_tasks && runnable(s->tasks[to]))
			return s->tasks[to];
	}
	return dflt;
}

static void note_decision(struct sched *s, const struct task *chosen)
{
	if (mthp_array_grow((void **)&s->decisions, &s->cap_decisions, s->nr_decisions,
			    sizeof(*s->decisions)))
		return;
	s->decisions[s->nr_decisions].step = s->step;
	s->decisions[s->nr_decisions].to = chosen->id;
	s->nr_decisions++;
}

/*
 * Would the choice at the next step be the running thread, with nothing
 * to note?  True when it can go on, does not pass the turn, no thread
 * woke or started since the last choice (so none has risen above it),
 * and the step is no change point (PCT) or listed preemption (replay).
 */
SCHED_HOT bool keeps_running(const struct sched *s, bool pass)
{
	uint64_t next = s->step + 1;

	if (pass || s->dirty || !runnable(s->cur))
		return false;
	switch (s->cfg.strategy) {
	case SIM_SCHED_PCT:
		for (unsigned i = 0; i < s->nr_change; i++)
			if (s->change[i] == next)
				return false;
		return true;
	case SIM_SCHED_RANDOM:
		return false;
	case SIM_SCHED_REPLAY:
		return s->replay_at >= s->cfg.nr_replay || s->cfg.replay[s->replay_at].step > next;
	}
	return false;
}

/* A scheduling point: pick who runs next and switch to it. */
static __attribute__((noinline)) void decide_slow(struct sched *s, bool pass)
{
	struct task *dflt, *next = NULL;

	s->dirty = false;
	if (++s->step > SCHED_MAX_STEPS)
		sim_bug("sched: livelock: %llu scheduling points in one schedule",
			(unsigned long long)s->step);
	dflt = default_choice(s, pass);
	if (!dflt)
		deadlock(s);
	switch (s->cfg.strategy) {
	case SIM_SCHED_PCT:
		next = pct_choice(s);
		break;
	case SIM_SCHED_RANDOM:
		next = random_choice(s);
		break;
	case SIM_SCHED_REPLAY:
		next = replay_choice(s, dflt);
		break;
	}
	if (!next)
		next = dflt;
	if (next != dflt)
		note_decision(s, next);
	switch_to(s, next);
}

SCHED_HOT void decide(struct sched *s, bool pass)
{
	if (keeps_running(s, pass))
		s->step++;
	else
		decide_slow(s, pass);
}

/* ---- the threads ---- */

static struct task *task_new(struct sched *s, const char *name)
{
	struct task *t;

	if (s->nr_tasks == SCHED_MAX_THREADS)
		return NULL;
	t = calloc(1, sizeof(*t) + s->tls_size);
	if (!t)
		return NULL;
	t->tls = (unsigned char *)(t + 1);
	t->id = s->nr_tasks;
	t->name = name;
	t->state = TASK_RUNNABLE;
	t->prio = (int64_t)(s->cfg.pct_depth + 1 + (mthp_rng_next(&s->rng) >> 16));
	s->tasks[s->nr_tasks++] = t;
	s->nr_live++;
	s->dirty = true;
	return t;
}

/* The running thread blocks on what: a lock, or (join) a thread to return. */
static void block_on(struct sched *s, const void *what, bool join)
{
	s->cur->state = TASK_BLOCKED;
	s->cur->wait = what;
	s->cur->joining = join;
	s->nr_lock_waiters += !join;
}

/* Wake the threads blocked on what: a lock, or (join) a thread that returned. */
static void wake(struct sched *s, const void *what, bool join)
{
	if (!join && !s->nr_lock_waiters)
		return;
	for (unsigned i = 0; i < s->nr_tasks; i++) {
		struct task *t = s->tasks[i];

		if (t->state == TASK_BLOCKED && t->wait == what) {
			t->state = TASK_RUNNABLE;
			t->wait = NULL;
			s->nr_lock_waiters -= !t->joining;
			s->dirty = true;
		}
	}
}

static void task_entry(void)
{
	struct sched *s = sched_det;
	struct task *t = s->cur;

#ifdef SCHED_ASAN
	__sanitizer_finish_switch_fiber(NULL, &s->prev->stack_bottom, &s->prev->stack_size);
#endif
	record(s, EV_START, 0, 0, NULL, 0);
	t->fn(t->arg);
	s = sched_det;
	record(s, EV_EXIT, 0, 0, NULL, 0);
	t->state = TASK_DONE;
	s->nr_live--;
	wake(s, t, true);
	decide(s, true);
	abort();	/* a finished thread is never chosen */
}

static void *stack_get(void)
{
	void *p;

	if (nr_stack_pool)
		return stack_pool[--nr_stack_pool];
	p = mmap(NULL, SCHED_STACK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void stack_put(void *p)
{
	if (nr_stack_pool < SCHED_MAX_THREADS)
		stack_pool[nr_stack_pool++] = p;
	else
		munmap(p, SCHED_STACK);
}

/*
 * A new thread's context, to start at task_entry() on its own stack.
 * The switch's pops and return find, from the stack pointer up: the
 * MXCSR and x87 control words, six zero registers and task_entry's
 * address, above which a zero return address ends a backtrace; once
 * returned into, the stack pointer is 8 off a multiple of 16, as after a
 * call.
 */
static int context_init(struct task *t)
{
#ifdef SCHED_ASM_SWITCH
	uintptr_t top = ((uintptr_t)t->stack + SCHED_STACK) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)top - 9;

	memset(sp, 0, 9 * sizeof(*sp));
	sp[0] = 0x1f80u | (0x037full << 32);	/* the ABI's initial MXCSR and x87 words */
	sp[7] = (uint64_t)(uintptr_t)task_entry;
	t->sp = sp;
	return 0;
#else
	if (getcontext(&t->ctx))
		return -1;
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = SCHED_STACK;
	t->ctx.uc_link = NULL;
	makecontext(&t->ctx, task_entry, 0);
	return 0;
#endif
}

struct sim_thread {
	pthread_t thread;
	struct task *task;		/* a deterministic schedule's */
};

int sim_thread_start(struct sim_thread **out, const char *name, void *(*fn)(void *),
		     void *arg)
{
	struct sched *s = sched_det;
	struct sim_thread *st = calloc(1, sizeof(*st));
	struct task *t;
	int err;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	if (!s) {
		err = pthread_create(&st->thread, NULL, fn, arg);
		if (err) {
			free(st);
			return -err;
		}
		*out = st;
		return 0;
	}
	t = task_new(s, name);
	if (!t) {
		free(st);
		return -EAGAIN;
	}
	t->fn = fn;
	t->arg = arg;
	t->stack = stack_get();
	if (!t->stack || context_init(t)) {
		s->nr_tasks--;
		s->nr_live--;
		if (t->stack)
			stack_put(t->stack);
		free(t);
		free(st);
		return -ENOMEM;
	}
#ifdef SCHED_ASAN
	t->stack_bottom = t->stack;
	t->stack_size = SCHED_STACK;
#endif
#ifdef SCHED_TSAN
	t->fiber = __tsan_create_fiber(0);
#endif
	st->task = t;
	*out = st;
	/* the new thread's start is a scheduling point of the starter */
	decide(s, false);
	return 0;
}

void sim_thread_join(struct sim_thread *st)
{
	struct sched *s = sched_det;

	if (!st)
		return;
	if (!st->task) {
		pthread_join(st->thread, NULL);
		free(st);
		return;
	}
	while (st->task->state != TASK_DONE) {
		block_on(s, st->task, true);
		record(s, EV_JOIN, 0, 0, st->task->name, 0);
		decide(s, false);
	}
	st->task->joined = true;
	free(st);
}

void sim_thread_yield(void)
{
	struct sched *s = sched_det;

	if (!s) {
		sched_yield();
		return;
	}
	record(s, EV_YIELD, 0, 0, NULL, 0);
	if (s->cfg.strategy == SIM_SCHED_PCT)
		s->cur->prio = -++s->yields;
	decide(s, true);
}

bool sim_sched_on(void)
{
	return sched_det != NULL;
}

const char *sim_sched_thread_name(void)
{
	return sched_det ? sched_det->cur->name : NULL;
}

/* ---- the locks ---- */

/* Fibonacci hashing of the address: the top bits of one multiplication. */
SCHED_HOT unsigned lock_hash(const void *l)
{
	return (unsigned)(((uint64_t)(uintptr_t)l * 0x9e3779b97f4a7c15ull) >> 54);
}

/* The slot of l, or the free slot where it would go. */
SCHED_HOT struct lock_slot *lock_slot(struct sched *s, const void *l)
{
	unsigned i = lock_hash(l);

	while (s->locks[i].lock && s->locks[i].lock != l)
		i = (i + 1) & (LOCK_SLOTS - 1);
	return &s->locks[i];
}

/* Take l in kind k if it is free for it. */
SCHED_HOT bool try_kind(struct sched *s, const void *l, enum sched_lock_kind k)
{
	struct lock_slot *slot = lock_slot(s, l);

	if (slot->lock && (slot->holders == SLOT_WRITER || k != SCHED_READ))
		return false;
	if (!slot->lock) {
		if (s->nr_locks >= LOCK_SLOTS / 2)
			sim_bug("sched: more than %u locks held at once", LOCK_SLOTS / 2);
		slot->lock = l;
		s->nr_locks++;
	}
	slot->holders = k == SCHED_READ ? slot->holders + 1 : SLOT_WRITER;
	return true;
}

/* Drop l (its writer, or one of its readers); free, its slot leaves the table. */
static void drop_kind(struct sched *s, const void *l)
{
	struct lock_slot *slot = lock_slot(s, l);
	unsigned i, j;

	if (!slot->lock)
		sim_bug("sched: a lock released while not held");
	slot->holders = slot->holders == SLOT_WRITER ? 0 : slot->holders - 1;
	if (slot->holders)
		return;
	/* linear probing's deletion: move back what the gap would hide */
	s->nr_locks--;
	i = (unsigned)(slot - s->locks);
	for (j = (i + 1) & (LOCK_SLOTS - 1); s->locks[j].lock; j = (j + 1) & (LOCK_SLOTS - 1)) {
		unsigned home = lock_hash(s->locks[j].lock);

		/* j's entry may fill the gap at i unless its home lies in (i, j] */
		if (((j - home) & (LOCK_SLOTS - 1)) < ((j - i) & (LOCK_SLOTS - 1)))
			continue;
		s->locks[i] = s->locks[j];
		i = j;
	}
	s->locks[i] = (struct lock_slot){ 0 };
}

static unsigned kind_mode(enum sched_lock_kind k)
{
	return k == SCHED_READ ? LOCK_READ : LOCK_WRITE;
}

SCHED_HOT void held_add(struct sched *s, const void *l, unsigned cls, unsigned mode,
		     const char *file, int line)
{
	struct task *t = s->cur;

	if (s->nr_held > t->nr_held)
		cover(s, cls, file, line);
	if (t->nr_held == SCHED_MAX_HELD)
		return;
	s->nr_held++;
	t->held[t->nr_held].lock = l;
	t->held[t->nr_held].cls = (uint8_t)cls;
	t->held[t->nr_held].mode = (uint8_t)mode;
	t->held[t->nr_held].file = file;
	t->held[t->nr_held].line = line;
	t->nr_held++;
	if (!t->nr_class_held[cls][mode == LOCK_READ]++)
		t->held_classes |= class_bit(cls, mode);
}

SCHED_HOT void held_del(struct sched *s, const void *l)
{
	struct task *t = s->cur;

	for (unsigned i = t->nr_held; i-- > 0;) {
		unsigned cls = t->held[i].cls, mode = t->held[i].mode;

		if (t->held[i].lock != l)
			continue;
		if (!--t->nr_class_held[cls][mode == LOCK_READ])
			t->held_classes &= ~class_bit(cls, mode);
		memmove(&t->held[i], &t->held[i + 1], (t->nr_held - i - 1) * sizeof(t->held[0]));
		t->nr_held--;
		s->nr_held--;
		return;
	}
}

void sched_lock(void *l, enum sched_lock_kind k, enum sim_lock_class c,
		const void *obj, const char *file, int line)
{
	struct sched *s = sched_det;

	(void)obj;
	if (s->nr_live == 1) {
		/* alone (the end's checks): nothing to schedule or record */
		if (!try_kind(s, l, k))
			deadlock(s);
		return;
	}
	decide(s, false);
	while (!try_kind(s, l, k)) {
		block_on(s, l, false);
		record(s, EV_BLOCK, c, kind_mode(k), file, line);
		decide(s, false);
	}
	held_add(s, l, c, kind_mode(k), file, line);
	record(s, EV_LOCK, c, kind_mode(k), file, line);
}

bool sched_trylock(void *l, enum sched_lock_kind k, enum sim_lock_class c,
		   const void *obj, const char *file, int line)
{
	struct sched *s = sched_det;

	(void)obj;
	if (s->nr_live == 1)
		return try_kind(s, l, k);
	decide(s, false);
	if (!try_kind(s, l, k)) {
		record(s, EV_TRYFAIL, c, kind_mode(k), file, line);
		return false;
	}
	held_add(s, l, c, kind_mode(k), file, line);
	record(s, EV_TRYLOCK, c, kind_mode(k), file, line);
	return true;
}

void sched_unlock(void *l, enum sched_lock_kind k, enum sim_lock_class c,
		  const void *obj, const char *file, int line)
{
	struct sched *s = sched_det;

	(void)obj;
	(void)k;
	drop_kind(s, l);
	if (s->nr_live == 1 && !s->cur->nr_held)
		return;
	held_del(s, l);
	record(s, EV_UNLOCK, c, 0, file, line);
	wake(s, l, false);
	decide(s, false);
}

void sched_step(const char *what)
{
	struct sched *s = sched_det;

	if (s->nr_live == 1)
		return;
	record(s, EV_STEP, 0, 0, what, 0);
	decide(s, false);
}

void sim_sched_mutex_lock(pthread_mutex_t *m)
{
	if (sched_det)
		sched_lock(m, SCHED_MUTEX, SCHED_PROGRAM_LOCK, m, NULL, 0);
	else
		pthread_mutex_lock(m);
}

void sim_sched_mutex_unlock(pthread_mutex_t *m)
{
	if (sched_det)
		sched_unlock(m, SCHED_MUTEX, SCHED_PROGRAM_LOCK, m, NULL, 0);
	else
		pthread_mutex_unlock(m);
}

void sim_sched_note(const char *what)
{
	if (sched_det)
		sched_step(what);
}

void sim_sched_failed(void)
{
	struct sched *s = sched_det;

	if (!s || s->frozen)
		return;
	s->frozen = true;
	s->frozen_at = s->step;
}

/* ---- a schedule ---- */

int sim_sched_begin(const struct sim_sched_config *cfg)
{
	struct sched *s;
	struct task *t;
	size_t size;
	void *addr;

	if (sched_det)
		return -EBUSY;
	if (cfg->strategy != SIM_SCHED_PCT && cfg->strategy != SIM_SCHED_RANDOM &&
	    cfg->strategy != SIM_SCHED_REPLAY)
		return -EINVAL;
	if (cfg->strategy == SIM_SCHED_PCT &&
	    (!cfg->pct_depth || cfg->pct_depth > SCHED_MAX_CHANGES || !cfg->pct_steps))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->cfg.replay_command = NULL;
	if (cfg->replay_command && !(s->replay = strdup(cfg->replay_command))) {
		free(s);
		return -ENOMEM;
	}
	mthp_rng_seed(&s->rng, mthp_rng_mix(cfg->seed ^ 0x5c4edu));
	addr = lockdep_thread_state(&size);
	tls_register(s, addr, size);
	addr = sim_doing_state(&size);
	tls_register(s, addr, size);
	if (cfg->strategy == SIM_SCHED_PCT) {
		s->nr_change = cfg->pct_depth - 1;
		for (unsigned i = 0; i < s->nr_change; i++)
			s->change[i] = 1 + mthp_rng_next(&s->rng) % cfg->pct_steps;
	}
	t = task_new(s, "main");
	if (!t) {
		free(s->replay);
		free(s);
		return -ENOMEM;
	}
#ifdef SCHED_TSAN
	t->fiber = __tsan_get_current_fiber();
#endif
	s->cur = t;
	free(last_decisions);
	last_decisions = NULL;
	nr_last_decisions = 0;
	sched_det = s;
	sched_det_atomic = cfg->atomic_points;
	return 0;
}

void sim_sched_end(struct sim_sched_result *res)
{
	struct sched *s = sched_det;

	if (!s)
		return;
	if (res) {
		res->steps = s->step;
		res->switches = s->switches;
		res->preemptions = s->nr_decisions;
		res->threads = s->nr_tasks;
	}
	last_decisions = s->decisions;
	nr_last_decisions = s->nr_decisions;
	sched_det = NULL;
	sched_det_atomic = false;
	for (unsigned i = 1; i < s->nr_tasks; i++) {
		struct task *t = s->tasks[i];

#ifdef SCHED_TSAN
		__tsan_destroy_fiber(t->fiber);
#endif
		if (t->stack)
			stack_put(t->stack);
		free(t);
	}
	free(s->tasks[0]);
	free(s->replay);
	free(s);
}

const struct sim_sched_preempt *sim_sched_decisions(size_t *nr)
{
	if (sched_det) {
		*nr = sched_det->nr_decisions;
		return sched_det->decisions;
	}
	*nr = nr_last_decisions;
	return last_decisions;
}

uint64_t sim_sched_steps(void)
{
	return sched_det ? sched_det->step : 0;
}

void sim_sched_coverage(unsigned *classes, unsigned *sites, unsigned *nr_classes)
{
	*classes = nr_class_pairs;
	*sites = nr_site_pairs;
	*nr_classes = SCHED_NR_CLASSES;
}

void sim_sched_coverage_reset(void)
{
	memset(class_pairs, 0, sizeof(class_pairs));
	nr_class_pairs = 0;
	if (site_set)
		memset(site_set, 0, site_set_size * sizeof(*site_set));
	nr_site_pairs = 0;
}

/* ---- the timeline ---- */

/* Where a timeline goes: a file descriptor (crash handlers), or a FILE. */
struct sink {
	int fd;
	FILE *file;
};

static void put(const struct sink *to, const char *text)
{
	size_t len = strlen(text);
	int fd = to->fd;

	if (to->file) {
		fputs(text, to->file);
		return;
	}

	while (len) {
		ssize_t n = write(fd, text, len);

		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

static const char *base_name(const char *file)
{
	const char *slash = file ? strrchr(file, '/') : NULL;

	return slash ? slash + 1 : file ? file : "";
}

/* "mmap_lock(r) anon_vma(w)" of the masks, into buf. */
static void held_text(char *buf, size_t len, uint32_t rd, uint32_t wr)
{
	size_t at = 0;

	buf[0] = 0;
	for (unsigned c = 0; c < SCHED_NR_CLASSES && at < len; c++) {
		if (!((rd | wr) & (1u << c)))
			continue;
		at += (size_t)snprintf(buf + at, len - at, "%s%s(%s)", at ? " " : "",
				       class_name(c), wr & (1u << c) ? "w" : "r");
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

/*
 * Each event's words as a format: the first %s the lock's class (the step
 * or the thread of EV_STEP and EV_JOIN), the second the lock's mode.
 */
static const char *const event_formats[NR_EVENTS] = {
	[EV_START] = "starts",
	[EV_EXIT] = "returns",
	[EV_LOCK] = "takes %s (%s)",
	[EV_TRYLOCK] = "trylock %s (%s): taken",
	[EV_TRYFAIL] = "trylock %s (%s): busy",
	[EV_BLOCK] = "waits for %s (%s)",
	[EV_UNLOCK] = "drops %s",
	[EV_YIELD] = "yields",
	[EV_STEP] = "%s",
	[EV_JOIN] = "waits for thread %s to return",
	[EV_DEADLOCK] = "DEADLOCK: every thread is blocked",
};

static void event_text(char *buf, size_t len, const struct step_rec *r)
{
	const char *what = r->ev == EV_STEP || r->ev == EV_JOIN ? r->file : class_name(r->cls);
	const char *mode = r->mode == LOCK_READ ? "read" : "write";

	snprintf(buf, len, mthp_name_of(event_formats, NR_EVENTS, r->ev, "?"), what, mode);
}

static bool same_event(const struct step_rec *a, const struct step_rec *b)
{
	return a->task == b->task && a->ev == b->ev && a->cls == b->cls &&
	       a->mode == b->mode && a->file == b->file && a->line == b->line &&
	       a->held_read == b->held_read && a->held_write == b->held_write;
}

/*
 * How many times the p records before i repeat from i on (whole
 * repetitions, up to end): a polling loop's steps print once.
 */
static uint64_t repeats(const struct sched *s, uint64_t i, uint64_t end, unsigned p)
{
	uint64_t n = 0;

	while (i + (n + 1) * p <= end) {
		for (unsigned k = 0; k < p; k++) {
			uint64_t at = i + n * p + k;

			if (!same_event(&s->hist[at % SCHED_HISTORY],
					&s->hist[(at - p) % SCHED_HISTORY]))
				return n;
		}
		n++;
	}
	return n;
}

/*
 * The timeline's lines from record first on, a polling loop's repeated
 * steps as one line; the first skip lines not written, none when fd is
 * NULL.
 * Returns the number of lines.
 */
static uint64_t timeline_lines(const struct sched *s, uint64_t first,
			       const struct sink *fd, uint64_t skip)
{
	char line[640], ev[160], held[200], site[64];
	uint64_t nr = 0;

	for (uint64_t i = first; i < s->nr_hist; i++) {
		const struct step_rec *r = &s->hist[i % SCHED_HISTORY];

		for (unsigned p = 1; p <= 4 && i >= first + p; p++) {
			uint64_t again = repeats(s, i, s->nr_hist, p);

			if (again < 2)
				continue;
			if (fd && nr >= skip) {
				snprintf(line, sizeof(line), "  %8s  %-12s (the %u step%s above, "
					 "%llu times more, to step %llu)\n", "...",
					 s->tasks[r->task]->name, p, p > 1 ? "s" : "",
					 (unsigned long long)again, (unsigned long long)
					 s->hist[(i + again * p - 1) % SCHED_HISTORY].step);
				put(fd, line);
			}
			nr++;
			i += again * p;
			break;
		}
		if (i >= s->nr_hist)
			break;
		if (!fd || nr < skip) {
			nr++;
			continue;
		}
		nr++;
		r = &s->hist[i % SCHED_HISTORY];
		event_text(ev, sizeof(ev), r);
		held_text(held, sizeof(held), r->held_read, r->held_write);
		if (r->line)
			snprintf(site, sizeof(site), "%s:%d", base_name(r->file), r->line);
		else
			snprintf(site, sizeof(site), "-");
		snprintf(line, sizeof(line), "%c %8llu  %-12s %-58s %-22s %s\n",
			 r->switched ? '*' : ' ', (unsigned long long)r->step,
			 s->tasks[r->task]->name, ev, site, held);
		put(fd, line);
	}
	return nr;
}

static void dump(const struct sink *fd, unsigned n)
{
	struct sched *s = sched_det;
	uint64_t first, lines, skip;
	char line[640], held[200];

	if (!s)
		return;
	/* every step kept, whose repeats fold; then the last n lines */
	first = s->nr_hist > SCHED_HISTORY ? s->nr_hist - SCHED_HISTORY : 0;
	lines = timeline_lines(s, first, NULL, 0);
	skip = lines > n ? lines - n : 0;
	snprintf(line, sizeof(line), "schedule: seed %llu, %s, %llu scheduling points, "
		 "%llu switches, %zu preemptions\n", (unsigned long long)s->cfg.seed,
		 s->cfg.strategy == SIM_SCHED_PCT ? "pct" :
		 s->cfg.strategy == SIM_SCHED_RANDOM ? "random walk" : "replayed",
		 (unsigned long long)s->step, (unsigned long long)s->switches,
		 s->nr_decisions);
	put(fd, line);
	if (s->replay) {
		put(fd, "replay: ");
		put(fd, s->replay);
		put(fd, "\n");
	}
	snprintf(line, sizeof(line), "timeline: the last %llu lines%s (* another thread "
		 "ran before the step; held: the thread's locks after it)\n",
		 (unsigned long long)(lines - skip),
		 s->frozen ? " before the failure was seen" : "");
	put(fd, line);
	snprintf(line, sizeof(line), "  %8s  %-12s %-58s %-22s %s\n", "step", "thread",
		 "event", "at", "held");
	put(fd, line);
	timeline_lines(s, first, fd, skip);
	put(fd, "the threads now:\n");
	for (unsigned i = 0; i < s->nr_tasks; i++) {
		const struct task *t = s->tasks[i];

		held_text(held, sizeof(held), (uint32_t)t->held_classes,
			  (uint32_t)(t->held_classes >> 32));
		snprintf(line, sizeof(line), "  %-12s %s; holds %s\n", t->name,
			 t->state == TASK_DONE ? "returned" :
			 t->state == TASK_BLOCKED ? "blocked" :
			 t == s->cur ? "running" : "runnable", held);
		put(fd, line);
	}
}

void sim_sched_dump(int fd, unsigned n)
{
	struct sink to = { .fd = fd };

	dump(&to, n);
}

void sim_sched_dump_file(FILE *out, unsigned n)
{
	struct sink to = { .fd = -1, .file = out };

	dump(&to, n);
}
