// SPDX-License-Identifier: MIT
/*
 * fuzz_targets.c - what each fuzz target does with one input (see
 * fuzz_targets.h).  A target aborts when an invariant breaks, so the fuzzer
 * reports it like a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <mthp/engine.h>
#include <mthp/record.h>
#include <mthp/scenario.h>
#include <mthp/snapshot.h>

#include "cli/cli.h"
#include "helpers/fuzz_targets.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz invariant broken: %s\n", what);
		abort();
	}
}

static void count_plan(void *ctx, const struct mthp_snapshot *snap,
		       const struct mthp_snapshot_pmd *pmd,
		       const struct mthp_pmd_plan *plan)
{
	uint32_t n = snap->geo.ptes_per_pmd;

	(void)pmd;
	*(size_t *)ctx += 1;
	for (uint32_t i = 0; i < plan->nr_collapses; i++) {
		const struct mthp_window *w = &plan->collapses[i];

		check(w->order >= MTHP_MIN_ORDER && w->order <= snap->geo.pmd_order,
		      "collapse order in range");
		check(w->offset % (1u << w->order) == 0, "collapse aligned");
		check(w->offset + (1u << w->order) <= n, "collapse inside the range");
	}
}

int fuzz_snapshot(const uint8_t *data, size_t size)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_snapshot snap, again;
	struct mthp_settings settings;
	char *text = NULL;
	size_t text_len = 0;
	FILE *f;

	if (mthp_snapshot_read_mem(&snap, (const char *)data, size, "fuzz", &diag)) {
		check(strchr(diag.msg, ':') != NULL, "an error names where it is");
		return 0;
	}
	/* write and read back: the same snapshot */
	f = open_memstream(&text, &text_len);
	check(f && !mthp_snapshot_write(&snap, f), "snapshot written");
	fclose(f);
	check(!mthp_snapshot_read_mem(&again, text, text_len, "again", &diag),
	      "a written snapshot reads back");
	check(again.nr_pmds == snap.nr_pmds && again.nr_vmas == snap.nr_vmas &&
	      again.nr_settings == snap.nr_settings, "round trip keeps the lines");
	mthp_snapshot_free(&again);
	free(text);

	if (!mthp_snapshot_settings(&snap, &settings, "fuzz", &diag)) {
		for (unsigned p = 0; p < MTHP_NR_POLICIES; p++) {
			for (unsigned c = 0; c < 2; c++) {
				size_t ranges = 0;

				check(!mthp_snapshot_plan(&snap, &settings, (enum mthp_policy)p,
							  (enum mthp_context)c, count_plan, &ranges),
				      "planned");
				check(ranges == snap.nr_pmds, "one plan per pmd line");
			}
		}
	}
	mthp_snapshot_free(&snap);
	return 0;
}

/* One block of a recording around text (docs/recording-format.md). */
void fuzz_rec_block(FILE *f, const char *tag, const uint8_t *text, size_t len)
{
	uLongf clen = compressBound((uLong)len);
	uint8_t head[16], *comp = malloc(clen);
	uint32_t v[3];

	check(comp && compress(comp, &clen, text, (uLong)len) == Z_OK, "compressed");
	v[0] = (uint32_t)len;
	v[1] = (uint32_t)clen;
	v[2] = (uint32_t)crc32(0L, comp, (uInt)clen);
	memcpy(head, tag, 4);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 4; i++)
			head[4 + 4 * k + i] = (uint8_t)(v[k] >> (8 * i));
	fwrite(head, 1, sizeof(head), f);
	fwrite(comp, 1, clen, f);
	free(comp);
}

int fuzz_recording(const uint8_t *data, size_t size)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_rec_reader r;
	char *file = NULL;
	size_t file_len = 0;
	FILE *f;
	int ret;

	if (size >= 8 && !memcmp(data, "MTHPREC\n", 8)) {
		f = fmemopen((void *)data, size, "r");
	} else {
		FILE *w = open_memstream(&file, &file_len);
		size_t at = 0, nr = 0;

		check(w != NULL, "memstream");
		fwrite("MTHPREC\n", 1, 8, w);
		while (at <= size && nr < 64) {
			const uint8_t *nul = memchr(data + at, 0, size - at);
			size_t len = nul ? (size_t)(nul - data) - at : size - at;

			bool end = len >= 4 && !memcmp(data + at, "end ", 4);

			fuzz_rec_block(w, nr == 0 ? "HEAD" : end ? "END." : "FRAM", data + at, len);
			at += len + 1;
			nr++;
		}
		fclose(w);
		f = fmemopen(file, file_len, "r");
	}
	check(f != NULL, "fmemopen");
	if (mthp_rec_reader_open(&r, f, "fuzz.rec", &diag)) {
		check(!strncmp(diag.msg, "fuzz.rec", 8), "an error names the file");
		fclose(f);
		free(file);
		return 0;
	}
	while ((ret = mthp_rec_reader_next(&r, &diag)) == 1) {
		struct mthp_snapshot again;
		char *text = NULL;
		size_t text_len = 0;
		FILE *t = open_memstream(&text, &text_len);

		check(t && !mthp_snapshot_write(&r.frame, t), "frame written");
		fclose(t);
		check(!mthp_snapshot_read_mem(&again, text, text_len, "again", &diag),
		      "a frame reads back as a snapshot");
		check(again.nr_pmds == r.frame.nr_pmds, "the frame keeps its ranges");
		mthp_snapshot_free(&again);
		free(text);
	}
	if (ret < 0)
		check(!strncmp(diag.msg, "fuzz.rec", 8) && strstr(diag.msg, "frame") != NULL,
		      "an error names the file and the frame");
	mthp_rec_reader_free(&r);
	fclose(f);
	free(file);
	return 0;
}

int fuzz_scenario(const uint8_t *data, size_t size)
{
	struct mthp_diag diag = { .warn = NULL };
	struct mthp_scenario sc;
	struct mthp_settings settings;

	if (mthp_scenario_read_mem(&sc, (const char *)data, size, "fuzz.ini", &diag)) {
		check(!strncmp(diag.msg, "fuzz.ini:", 9), "an error names the file and line");
		check(sc.nr_processes == 0 && !sc.phases, "a rejected scenario is empty");
		return 0;
	}
	check(sc.nr_processes > 0, "a scenario has a process");
	check(!mthp_scenario_settings(&sc, &settings, &diag), "accepted settings apply");
	for (size_t i = 0; i < sc.nr_phases; i++) {
		const struct mthp_scenario_phase *ph = &sc.phases[i];

		check(ph->process < sc.nr_processes, "phase process exists");
		if (mthp_scenario_action_has_vma(ph->action)) {
			const struct mthp_scenario_vma *v = &sc.vmas[ph->vma];

			check(ph->vma < sc.nr_vmas && v->process == ph->process, "phase vma exists");
			check(ph->length && ph->offset + ph->length <= v->size, "phase range inside its vma");
		}
	}
	mthp_scenario_free(&sc);
	return 0;
}

int fuzz_plan_args(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[33] = { "plan" };
	int argc = 1;
	char *out_text = NULL, *err_text = NULL;
	size_t out_len, err_len;
	FILE *out, *err;
	int status;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf; argc < 32 && p < buf + size;) {
		size_t len = strcspn(p, "\n");

		p[len] = '\0';
		argv[argc++] = p;
		p += len + 1;
	}
	/* the snapshot reader has its own target; never read files here */
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--sn", 4)) {
			free(buf);
			return 0;
		}
	}
	argv[argc] = NULL;
	out = open_memstream(&out_text, &out_len);
	err = open_memstream(&err_text, &err_len);
	check(out && err, "streams");
	status = mthp_cli_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	check(status == 0 || status == 1 || status == EXIT_USAGE, "exit status 0, 1 or 2");
	check(status == 0 || err_len > 0, "a failure says why");
	free(out_text);
	free(err_text);
	free(buf);
	return 0;
}
