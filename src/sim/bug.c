// SPDX-License-Identifier: MIT
/*
 * bug.c - sim_bug(), the report of an invariant broken in the middle of
 * an operation (the kernel's VM_BUG_ON), and the per-thread note of what
 * the thread is doing in the simulator that it prints, and a crash
 * handler through sim_thread_doing().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/bug.h"
#include "sim/locks.h"
#include "sim/world.h"

/* What this thread is doing (sim_doing()); step NULL: nothing noted. */
struct doing {
	const char *step;
	uint32_t mm_id;
	unsigned order;
	uint64_t addr;
};
static __thread struct doing doing;

void sim_doing(const char *step, const struct sim_mm *mm, uint64_t addr, unsigned order)
{
	doing.mm_id = mm ? mm->id : 0;
	doing.addr = addr;
	doing.order = order;
	/* the step last: a signal handler reading it sees the fields set */
	__atomic_store_n(&doing.step, step, __ATOMIC_RELEASE);
	if (sched_is_det())
		sched_step(step);
}

void *sim_doing_state(size_t *size)
{
	*size = sizeof(doing);
	return &doing;
}

void sim_doing_clear(void)
{
	__atomic_store_n(&doing.step, NULL, __ATOMIC_RELEASE);
}

const char *sim_thread_doing(char *buf, size_t len)
{
	const char *step = __atomic_load_n(&doing.step, __ATOMIC_ACQUIRE);

	if (!step)
		return NULL;
	snprintf(buf, len, "%s, mm %u at 0x%llx, order %u", step, doing.mm_id,
		 (unsigned long long)doing.addr, doing.order);
	return buf;
}

void sim_bug(const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "sim: BUG: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (sim_thread_doing(what, sizeof(what)))
		fprintf(stderr, "sim: BUG: while %s\n", what);
	fflush(stderr);
	abort();
}
