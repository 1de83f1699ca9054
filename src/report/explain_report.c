// SPDX-License-Identifier: MIT
/*
 * explain_report.c - `mthp plan --explain`: under each range, one line per
 * window the walk decided on (offset, size, decision, why) and the
 * one-knob change that would flip it; the same as JSON.
 */
#include <inttypes.h>
#include <stdio.h>

#include <mthp/tlb.h>

#include "report/report.h"

void mthp_explain_text(FILE *out, const struct mthp_geometry *geo,
		       const struct mthp_explain *e)
{
	char size[16];

	if (e->scan_why[0]) {
		fprintf(out, "    scan: %s\n", e->scan_why);
		if (e->scan_whatif.words[0])
			fprintf(out, "      what if: %s\n", e->scan_whatif.words);
	}
	for (size_t i = 0; i < e->nr_windows; i++) {
		const struct mthp_explain_window *w = &e->windows[i];

		mthp_tlb_size_label((uint64_t)geo->page_size << w->order, size, sizeof(size));
		fprintf(out, "    +%-8" PRIx64 " %-5s %-14s %s\n",
			(uint64_t)w->offset * geo->page_size, size,
			mthp_explain_kind_name(w->kind), w->why);
		if (w->has_whatif)
			fprintf(out, "      what if: %s\n", w->whatif.words);
	}
}

static json_t *whatif_json(const struct mthp_whatif *wi)
{
	json_t *knobs = json_array();

	for (unsigned k = 0; knobs && k < wi->nr_knobs; k++) {
		const struct mthp_whatif_knob *kn = &wi->knobs[k];

		if (kn->flips && json_array_append_new(knobs, json_pack("{s:s, s:s, s:s}",
				"knob", kn->knob, "nearest", kn->nearest, "values", kn->values))) {
			json_decref(knobs);
			return NULL;
		}
	}
	return json_pack("{s:s, s:o}", "words", wi->words, "flipping_knobs", knobs);
}

json_t *mthp_explain_json(const struct mthp_geometry *geo, uint64_t pmd_addr,
			  const struct mthp_explain *e)
{
	json_t *list = json_array(), *doc;

	for (size_t i = 0; list && i < e->nr_windows; i++) {
		const struct mthp_explain_window *w = &e->windows[i];
		char addr[24];
		json_t *obj;

		mthp_format_addr(addr, sizeof(addr), pmd_addr + (uint64_t)w->offset * geo->page_size);
		obj = json_pack("{s:s, s:i, s:s, s:s, s:s}", "addr", addr, "order", w->order,
				"decision", mthp_explain_kind_name(w->kind),
				"result", mthp_result_name(w->result), "why", w->why);
		if (obj && w->has_whatif &&
		    json_object_set_new(obj, "what_if", whatif_json(&w->whatif))) {
			json_decref(obj);
			obj = NULL;
		}
		if (!obj || json_array_append_new(list, obj)) {
			json_decref(list);
			return NULL;
		}
	}
	doc = json_pack("{s:s, s:o}", "scan_why", e->scan_why, "windows", list);
	if (doc && e->scan_whatif.words[0] &&
	    json_object_set_new(doc, "scan_what_if", whatif_json(&e->scan_whatif))) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
