// SPDX-License-Identifier: MIT
/* sim_fx.c - the simulator fixture of the tests (sim_fx.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers/sim_fx.h"

struct sim *sim_fx_sim(const struct sim_config *cfg, const char *const *knobs)
{
	struct mthp_geometry geo;
	struct mthp_settings s;
	struct sim *sim;

	assert_int_equal(mthp_geometry_from_page_size(&geo, cfg->page_size), 0);
	mthp_settings_init(&s, &geo);
	for (; knobs && *knobs; knobs += 2)
		assert_int_equal(mthp_settings_set(&s, knobs[0], knobs[1], NULL, 0), 0);
	assert_int_equal(sim_create(&sim, cfg, &s), 0);
	return sim;
}

struct sim_fx sim_fx_make(const struct sim_config *cfg, const char *const *knobs)
{
	struct sim_fx f = { .sim = sim_fx_sim(cfg, knobs), .nr_frames = cfg->nr_frames };

	assert_int_equal(sim_mm_create(f.sim, 0, &f.mm), 0);
	return f;
}

void sim_fx_check(struct sim *sim)
{
	if (sim_check(sim))
		fail_msg("sim_check: %s", sim_check_message(sim));
}

void sim_fx_done(struct sim_fx *f, bool all_free)
{
	sim_fx_check(f->sim);
	sim_exit(f->mm);
	sim_fx_check(f->sim);
	if (all_free)
		assert_int_equal(sim_free_pages(f->sim), f->nr_frames - 1);
	sim_destroy(f->sim);
}

void sim_fx_map(struct sim_mm *mm, uint64_t addr, uint64_t len)
{
	assert_int_equal(sim_mmap(mm, &addr, len, SIM_PROT_RW, SIM_MAP_FIXED), 0);
}
