/*
 * A user of libmthp alone: settings, one snapshot read from memory, its
 * plan.  'make check-layers' links this against libmthp.a with nothing but
 * libc (and -lm, -pthread), which proves the engine and the snapshot
 * format need none of the tools' libraries.  Exits 0 when the plan of the
 * one full range is a single PMD collapse.
 */
#include <stdio.h>
#include <string.h>

#include <mthp/engine.h>
#include <mthp/settings.h>
#include <mthp/snapshot.h>

static unsigned collapses;

static void count(void *ctx, const struct mthp_snapshot *snap,
		  const struct mthp_snapshot_pmd *pmd,
		  const struct mthp_pmd_plan *plan)
{
	(void)ctx; (void)snap; (void)pmd;
	collapses += plan->nr_collapses;
}

int main(void)
{
	struct mthp_snapshot snap;
	struct mthp_settings s;
	struct mthp_diag diag = { 0 };
	char ptes[513], text[1024];
	int ret;

	memset(ptes, 'A', 512);
	ptes[512] = '\0';
	snprintf(text, sizeof(text),
		 "mthp-snapshot 1\npage_size 4096\nptes_per_pmd 512\n"
		 "setting enabled always\n"
		 "vma 7f0000000000 7f0000200000 anon\n"
		 "pmd 7f0000000000 table %s\n", ptes);
	ret = mthp_snapshot_read_mem(&snap, text, strlen(text), "inline", &diag);
	if (ret) {
		fprintf(stderr, "engine_only: %s\n", diag.msg);
		return 1;
	}
	ret = mthp_snapshot_settings(&snap, &s, "inline", &diag) ?:
	      mthp_snapshot_plan(&snap, &s, MTHP_POLICY_UPSTREAM,
				 MTHP_CONTEXT_KHUGEPAGED, count, NULL);
	mthp_snapshot_free(&snap);
	if (ret) {
		fprintf(stderr, "engine_only: plan failed: %d %s\n", ret, diag.msg);
		return 1;
	}
	printf("engine_only: %u collapse(s)\n", collapses);
	return collapses == 1 ? 0 : 1;
}
