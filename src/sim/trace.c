// SPDX-License-Identifier: MIT
/*
 * trace.c - the huge_memory tracepoints as text lines and the collapse
 * observer.  A line is "khugepaged [000] SECONDS: EVENT: FIELDS" with the
 * simulated clock as time stamp and the kernel's field layout (newer
 * trees: no writable field; order= as added by the mTHP series), so a run
 * with the same seed writes the same bytes.  One line is written at a
 * time under the trace lock (a leaf).
 */
#include <stdarg.h>
#include <stdio.h>

#include "sim/locks.h"
#include "sim/trace.h"
#include "sim/world.h"

void trace_init(struct sim *sim)
{
	pthread_mutex_init(&sim->trace.lock, NULL);
	sim->trace.file = NULL;
	sim->trace.observer = NULL;
	sim->trace.observer_ctx = NULL;
}

void trace_destroy(struct sim *sim)
{
	pthread_mutex_destroy(&sim->trace.lock);
}

void sim_set_trace(struct sim *sim, FILE *f)
{
	pthread_mutex_lock(&sim->trace.lock);
	st_release(&sim->trace.file, f);
	pthread_mutex_unlock(&sim->trace.lock);
}

void sim_set_collapse_observer(struct sim *sim, sim_collapse_fn fn, void *ctx)
{
	pthread_mutex_lock(&sim->trace.lock);
	sim->trace.observer = fn;
	sim->trace.observer_ctx = ctx;
	pthread_mutex_unlock(&sim->trace.lock);
}

bool trace_on(struct sim *sim)
{
	return ld_acquire(&sim->trace.file) != NULL;
}

unsigned long long trace_mm_ptr(const struct sim_mm *mm)
{
	/* the kernel hashes %p; a fixed mapping of the mm id serves as well */
	return 0xffff888000000000ull + ((unsigned long long)mm->id << 12);
}

void trace_printf(struct sim *sim, const char *fmt, ...)
{
	uint64_t ns = sim_now(sim);
	va_list ap;

	pthread_mutex_lock(&sim->trace.lock);
	if (sim->trace.file) {
		fprintf(sim->trace.file, "      khugepaged [000] %llu.%06llu: ",
			(unsigned long long)(ns / 1000000000ull),
			(unsigned long long)(ns % 1000000000ull / 1000));
		va_start(ap, fmt);
		vfprintf(sim->trace.file, fmt, ap);
		va_end(ap);
		fputc('\n', sim->trace.file);
	}
	pthread_mutex_unlock(&sim->trace.lock);
}

void trace_observe(struct sim *sim, const struct sim_collapse_event *ev)
{
	sim_collapse_fn fn;
	void *ctx;

	lockdep_assert_not_held(LOCK_MMAP, NULL);
	pthread_mutex_lock(&sim->trace.lock);
	fn = sim->trace.observer;
	ctx = sim->trace.observer_ctx;
	pthread_mutex_unlock(&sim->trace.lock);
	if (fn)
		fn(ctx, ev);
}
