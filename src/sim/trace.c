// SPDX-License-Identifier: MIT
/*
 * trace.c - the huge_memory tracepoints as text lines and the collapse
 * observer.  A line is what an ftrace text trace holds,
 * "TASK-PID [CPU] FLAGS SECONDS: EVENT: FIELDS", with the simulated clock
 * as time stamp and each event's fields in Linux 7.2's order and format,
 * so that a parser of ftrace output reads either, and a run with the same
 * seed writes the same bytes.  One line is written at a time under the
 * trace lock (a leaf).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/names.h"
#include "sim/locks.h"
#include "sim/trace.h"
#include "sim/world.h"

void trace_init(struct sim *sim)
{
	pthread_mutex_init(&sim->trace.lock, NULL);
	sim->trace.file = NULL;
	sim->trace.events = SIM_TRACE_ALL;
	sim->trace.observer = NULL;
	sim->trace.observer_ctx = NULL;
}

void trace_destroy(struct sim *sim)
{
	pthread_mutex_destroy(&sim->trace.lock);
}

/* Context: takes and drops the trace lock. */
void sim_set_trace(struct sim *sim, FILE *f)
{
	trace_lock(&sim->trace);
	st_config(&sim->trace.file, f);
	trace_unlock(&sim->trace);
}

/* Context: takes and drops the trace lock. */
void sim_set_collapse_observer(struct sim *sim, sim_collapse_fn fn, void *ctx)
{
	trace_lock(&sim->trace);
	sim->trace.observer = fn;
	sim->trace.observer_ctx = ctx;
	trace_unlock(&sim->trace);
}

void sim_set_trace_events(struct sim *sim, uint32_t mask)
{
	st_config(&sim->trace.events, mask & SIM_TRACE_ALL);
}

bool trace_on(struct sim *sim, enum sim_trace_event e)
{
	return ld_config(&sim->trace.file) != NULL &&
	       (ld_config(&sim->trace.events) & (1u << e));
}

unsigned long long trace_mm_ptr(const struct sim_mm *mm)
{
	/* the kernel hashes %p; a fixed mapping of the mm id serves as well */
	return 0xffff888000000000ull + ((unsigned long long)mm->id << 12);
}

static const char *const event_names[SIM_NR_TRACE_EVENTS] = {
	SIM_TRACE_EVENTS(MTHP_NAME_ENTRY)
};

/* huge_memory's other events in Linux 7.2, and why none fires here */
static const char *const not_fired[][2] = {
	{ "mm_khugepaged_scan_file", "file-backed memory is not simulated" },
	{ "mm_khugepaged_collapse_file", "file-backed memory is not simulated" },
};

#define TRACE_SYSTEM_NAME "huge_memory"

const char *sim_trace_event_name(enum sim_trace_event e)
{
	return mthp_name_of(event_names, SIM_NR_TRACE_EVENTS, e, "?");
}

/* One item of the list: its events' bits into *mask, or -EINVAL. */
static int trace_events_item(const char *item, size_t n, uint32_t *mask, char *why,
			     size_t len)
{
	const char *colon = memchr(item, ':', n), *ev = item;
	size_t evn = n;
	int e;

	if (colon) {
		size_t sysn = (size_t)(colon - item);

		if (!(sysn == 1 && item[0] == '*') &&
		    !(sysn == strlen(TRACE_SYSTEM_NAME) &&
		      !memcmp(item, TRACE_SYSTEM_NAME, sysn))) {
			snprintf(why, len, "'%.*s': no such event system (the simulator's "
				 "events are " TRACE_SYSTEM_NAME "'s)", (int)n, item);
			return -EINVAL;
		}
		ev = colon + 1;
		evn = n - sysn - 1;
		if (evn == 0 || (evn == 1 && ev[0] == '*')) {
			*mask |= SIM_TRACE_ALL;
			return 0;
		}
	} else if (n == strlen(TRACE_SYSTEM_NAME) && !memcmp(item, TRACE_SYSTEM_NAME, n)) {
		*mask |= SIM_TRACE_ALL;
		return 0;
	}
	e = mthp_name_find_len(event_names, SIM_NR_TRACE_EVENTS, ev, evn);
	if (e >= 0) {
		*mask |= 1u << e;
		return 0;
	}
	for (size_t i = 0; i < sizeof(not_fired) / sizeof(not_fired[0]); i++) {
		if (strlen(not_fired[i][0]) == evn && !memcmp(not_fired[i][0], ev, evn)) {
			snprintf(why, len, "'%.*s': the simulator does not fire this event (%s)",
				 (int)n, item, not_fired[i][1]);
			return -EINVAL;
		}
	}
	snprintf(why, len, "'%.*s': no such event (the simulator fires %s, %s, %s, %s and %s)",
		 (int)n, item, event_names[0], event_names[1], event_names[2], event_names[3],
		 event_names[4]);
	return -EINVAL;
}

int sim_trace_events_parse(const char *list, uint32_t *mask, char *why, size_t len)
{
	uint32_t m = 0;

	_Static_assert(SIM_NR_TRACE_EVENTS == 5, "the message of trace_events_item()");
	if (!*list) {
		snprintf(why, len, "the list of events is empty");
		return -EINVAL;
	}
	for (const char *p = list;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int err;

		if (n == 0) {
			snprintf(why, len, "an empty event name in '%s'", list);
			return -EINVAL;
		}
		err = trace_events_item(p, n, &m, why, len);
		if (err)
			return err;
		if (!end)
			break;
		p = end + 1;
	}
	*mask = m;
	return 0;
}

/* Context: any simulator lock may be held; takes and drops the trace lock. */
void trace_event(struct sim *sim, enum sim_trace_event e, enum mthp_context ctx,
		 const struct sim_mm *mm, const char *fmt, ...)
{
	uint64_t ns = sim_now(sim);
	char task[24] = "?";
	unsigned pid = 0;
	va_list ap;

	switch (ctx) {
	case MTHP_CONTEXT_KHUGEPAGED:
		snprintf(task, sizeof(task), "khugepaged");
		pid = SIM_TRACE_KHUGEPAGED_PID;
		break;
	case MTHP_CONTEXT_MADVISE:
		snprintf(task, sizeof(task), "mthp-mm%u", (unsigned)mm->id);
		pid = SIM_TRACE_PID_BASE + (unsigned)mm->id;
		break;
	}
	trace_lock(&sim->trace);
	if (sim->trace.file) {
		fprintf(sim->trace.file, "%16s-%-7u [000] ..... %5llu.%06llu: %s: ", task, pid,
			(unsigned long long)(ns / 1000000000ull),
			(unsigned long long)(ns % 1000000000ull / 1000),
			sim_trace_event_name(e));
		va_start(ap, fmt);
		vfprintf(sim->trace.file, fmt, ap);
		va_end(ap);
		fputc('\n', sim->trace.file);
	}
	trace_unlock(&sim->trace);
}

/* Context: no mmap_lock held; takes and drops the trace lock, then calls the observer. */
void trace_observe(struct sim *sim, const struct sim_collapse_event *ev)
{
	sim_collapse_fn fn;
	void *ctx;

	lockdep_assert_not_held(LOCK_MMAP, NULL);
	trace_lock(&sim->trace);
	fn = sim->trace.observer;
	ctx = sim->trace.observer_ctx;
	trace_unlock(&sim->trace);
	if (fn)
		fn(ctx, ev);
}
