/* SPDX-License-Identifier: MIT */
/*
 * sim_fx.h - the simulator fixture of the sim and khugepaged tests: a
 * simulator built from a config and knob pairs, its first mm, the checks
 * that close a case, and a fixed mapping.  Each fails the case (cmocka)
 * with the simulator's message when a step fails.
 */
#ifndef MTHP_TEST_SIM_FX_H
#define MTHP_TEST_SIM_FX_H

#include <stdbool.h>
#include <stdint.h>

#include <mthp/sim.h>

struct sim_fx {
	struct sim *sim;
	struct sim_mm *mm;
	uint64_t nr_frames;	/* the config's */
};

/*
 * A simulator of cfg (its page size gives the geometry), the settings set
 * from knobs: pairs of name and value, NULL-terminated (NULL for none).
 */
struct sim *sim_fx_sim(const struct sim_config *cfg, const char *const *knobs);

/* The same with its first mm. */
struct sim_fx sim_fx_make(const struct sim_config *cfg, const char *const *knobs);

/* sim_check() is clean (else the case fails with its message). */
void sim_fx_check(struct sim *sim);

/*
 * Close a case: checked, the mm exits, checked again, and when all_free
 * every frame but the zero page is free; then the simulator is destroyed.
 */
void sim_fx_done(struct sim_fx *f, bool all_free);

/* Map [addr, addr + len) read-write at that address. */
void sim_fx_map(struct sim_mm *mm, uint64_t addr, uint64_t len);

#endif /* MTHP_TEST_SIM_FX_H */
