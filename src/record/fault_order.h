/* SPDX-License-Identifier: MIT */
/*
 * record/fault_order.h - the folio order the faults of a loaded snapshot
 * (load.c) or of a replayed recording (replay.c) allocate, whatever the
 * run's settings.
 */
#ifndef MTHP_RECORD_FAULT_ORDER_H
#define MTHP_RECORD_FAULT_ORDER_H

#include <mthp/settings.h>
#include <mthp/sim.h>

/*
 * Faults allocate folios of order (order 0 when 0): sim gets the run's
 * settings with that size alone enabled (order 0: every size never, so
 * the faults give no mm slot); -1 puts the run's settings back.  *now is
 * the order set last (-1: the run's settings), to skip a change to the
 * same order.
 */
static inline int fault_order_set(struct sim *sim, const struct mthp_settings *run, int *now,
				  int order)
{
	struct mthp_settings s = *run;

	if (order == *now)
		return 0;
	*now = order;
	if (order >= 0) {
		s.enabled = order ? MTHP_MODE_ALWAYS : MTHP_MODE_NEVER;
		for (unsigned o = 0; o <= MTHP_MAX_PMD_ORDER; o++)
			s.size_enabled[o] = order && (int)o == order ? MTHP_MODE_ALWAYS :
					    MTHP_MODE_NEVER;
	}
	return sim_set_settings(sim, &s);
}

#endif /* MTHP_RECORD_FAULT_ORDER_H */
