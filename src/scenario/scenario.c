// SPDX-License-Identifier: MIT
/*
 * scenario.c - the scenario reader (docs/scenarios.md).
 *
 * libinih parses the key = value lines; this file feeds it one line at a
 * time through its own reader, so it always knows the line number (the
 * Debian libinih does not pass it to the handler), and it sees section
 * headers itself, since libinih only reports sections that hold keys.
 * Values are checked as they come; what depends on several lines (the
 * geometry for the settings, the action for a phase's keys) is checked
 * when the whole file has been read, at the line of the key concerned.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include <mthp/engine.h>
#include <mthp/scenario.h>
#include <mthp/sim.h>
#include <mthp/tlb.h>

#include "common/msg.h"
#include "common/names.h"

#define MAX_LINE 180		/* longest line accepted, in characters */
#define MAX_PROCESSES 64
#define MAX_VMAS 256
#define MAX_PHASES 1024
#define MAX_SETTINGS 256
#define MAX_DURATION_S 1000000.0
#define MAX_COUNT 1000000	/* runs, run_pages, object weights */

/* What a value of each kind must be, for the messages. */
#define ALLOWED_FRACTION "must be 0-100% (or a fraction 0..1)"
#define ALLOWED_COUNT "must be a whole number 1-1000000"

/* Phase keys, to check which ones apply to the action, and what each takes. */
enum phase_key {
	PK_VMA, PK_ACTION, PK_DURATION, PK_OFFSET, PK_LENGTH, PK_DENSITY, PK_RUNS,
	PK_RUN_PAGES, PK_HOT, PK_OBJECT_SIZES, PK_LIVE, PK_CHURN, PK_CHILD_WRITES,
	PK_ADVICE, PK_ALIGNED, PK_PAGES, PK_CHILD_LIVES, NR_PHASE_KEYS
};

static const char *const phase_key_names[NR_PHASE_KEYS] = {
	"vma", "action", "duration", "offset", "length", "density", "runs",
	"run_pages", "hot", "object_sizes", "live", "churn", "child_writes",
	"advice", "aligned", "pages", "child_lives",
};

/* Where the value of each fraction key and each count key goes. */
#define PHASE_FIELD(f) offsetof(struct mthp_scenario_phase, f)
static const size_t phase_key_field[NR_PHASE_KEYS] = {
	[PK_DENSITY] = PHASE_FIELD(density),
	[PK_HOT] = PHASE_FIELD(hot),
	[PK_LIVE] = PHASE_FIELD(live),
	[PK_CHURN] = PHASE_FIELD(churn),
	[PK_CHILD_WRITES] = PHASE_FIELD(child_writes),
	[PK_RUNS] = PHASE_FIELD(runs),
	[PK_RUN_PAGES] = PHASE_FIELD(run_pages),
};

/* The keys of runs of pages, for the actions that can work run by run. */
#define RUN_KEYS (KEY(PK_RUNS) | KEY(PK_RUN_PAGES) | KEY(PK_ALIGNED))

static const char *const phase_key_allowed[NR_PHASE_KEYS] = {
	[PK_VMA] = "must be the name of a vma of the process (letters, digits, _ . -)",
	[PK_DURATION] = "must be a duration such as 500ms or 2s, at most 1000000 s",
	[PK_OFFSET] = "must be a size such as 4M",
	[PK_LENGTH] = "must be a size above 0 such as 4M",
	[PK_DENSITY] = ALLOWED_FRACTION,
	[PK_RUNS] = ALLOWED_COUNT,
	[PK_RUN_PAGES] = ALLOWED_COUNT,
	[PK_HOT] = ALLOWED_FRACTION,
	[PK_OBJECT_SIZES] = "must be SIZE:WEIGHT,... such as 4K:60,64K:30 (1-8 sizes above 0, weights 1-1000000)",
	[PK_LIVE] = ALLOWED_FRACTION,
	[PK_CHURN] = ALLOWED_FRACTION,
	[PK_CHILD_WRITES] = ALLOWED_FRACTION,
	[PK_ADVICE] = "must be hugepage or nohugepage",
	[PK_ALIGNED] = "must be yes or no",
	[PK_PAGES] = "must be page numbers of the phase's range in increasing order, "
		     "such as 3,5,9-12 (at most 64 items)",
	[PK_CHILD_LIVES] = "must be phase or run",
};

#define KEY(k) (1u << (k))
#define COMMON_KEYS (KEY(PK_VMA) | KEY(PK_ACTION) | KEY(PK_DURATION) | \
		     KEY(PK_OFFSET) | KEY(PK_LENGTH))

static const struct {
	const char *name;
	uint32_t keys;		/* keys beyond the common ones */
} actions[MTHP_NR_ACTIONS] = {
	[MTHP_ACT_FILL] = { "fill", 0 },
	[MTHP_ACT_RANDOM] = { "random", KEY(PK_DENSITY) | KEY(PK_PAGES) },
	[MTHP_ACT_CLUSTER] = { "cluster", KEY(PK_RUNS) | KEY(PK_RUN_PAGES) | KEY(PK_ALIGNED) },
	[MTHP_ACT_READ] = { "read", KEY(PK_DENSITY) | KEY(PK_PAGES) },
	[MTHP_ACT_HOT] = { "hot", KEY(PK_HOT) },
	[MTHP_ACT_HEAP] = { "heap", KEY(PK_OBJECT_SIZES) | KEY(PK_LIVE) | KEY(PK_CHURN) },
	[MTHP_ACT_FORK] = { "fork", KEY(PK_CHILD_WRITES) | KEY(PK_PAGES) | KEY(PK_CHILD_LIVES) },
	[MTHP_ACT_PAGEOUT] = { "pageout", KEY(PK_DENSITY) | RUN_KEYS | KEY(PK_PAGES) },
	[MTHP_ACT_FREE] = { "free", KEY(PK_DENSITY) | RUN_KEYS | KEY(PK_PAGES) },
	[MTHP_ACT_DONTNEED] = { "dontneed", KEY(PK_DENSITY) | RUN_KEYS | KEY(PK_PAGES) },
	[MTHP_ACT_ADVISE] = { "advise", KEY(PK_ADVICE) },
	[MTHP_ACT_SLEEP] = { "sleep", 0 },
	[MTHP_ACT_CHILD_EXIT] = { "child_exit", 0 },
	[MTHP_ACT_SHRINK] = { "shrink", 0 },
};

const char *mthp_scenario_action_name(enum mthp_scenario_action a)
{
	return (unsigned)a < MTHP_NR_ACTIONS ? actions[a].name : "?";
}

enum section_kind { SEC_NONE, SEC_MACHINE, SEC_SETTINGS, SEC_PROCESS, SEC_VMA, SEC_PHASE };

/* What the reader knows about a phase beyond struct mthp_scenario_phase. */
struct phase_extra {
	uint32_t keys;				/* keys given */
	unsigned key_line[NR_PHASE_KEYS];
	char vma_name[MTHP_SCENARIO_NAME_MAX];
	bool has_action;
};

struct reader {
	const char *name;
	const char *buf;
	size_t len, pos;
	unsigned line;
	struct mthp_scenario *sc;
	struct mthp_diag *diag;
	bool failed;
	enum section_kind section;
	size_t index;				/* of the current process/vma/phase */
	bool seen_machine, seen_settings;
	unsigned memory_line, swap_line;	/* where [machine] set them */
	unsigned page_size_line;
	unsigned tlb_line;			/* where [machine] gave tlb */
	char memory_text[MAX_LINE + 1], swap_text[MAX_LINE + 1];	/* as written */
	struct phase_extra *extra;		/* one per phase */
	/* the keys the current [machine], [process] or [vma] gave, and where */
	struct {
		char key[24];
		unsigned line;
	} keys[12];
	size_t nr_keys;
};

static void fail_at(struct reader *rd, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_at(struct reader *rd, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (rd->failed)
		return;
	va_start(ap, fmt);
	mthp_vmsg_at(rd->diag->msg, sizeof(rd->diag->msg), rd->name, line, fmt, ap);
	va_end(ap);
	rd->failed = true;
}

/* "KEY 'VALUE': what it must be" at line. */
static void fail_value(struct reader *rd, unsigned line, const char *key,
		       const char *value, const char *allowed)
{
	fail_at(rd, line, "%s '%s': %s", key, value, allowed);
}

/* ---- values ---- */

static bool parse_u64(const char *text, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)*text))
		return false;
	errno = 0;
	*v = strtoull(text, &end, 10);
	return !errno && !*end;
}

bool mthp_parse_size(const char *text, uint64_t *bytes)
{
	static const char units[] = "KMGT";	/* 2^10, 2^20, 2^30, 2^40 */
	const char *unit;
	char *end;
	uint64_t v, mult = 1;

	if (!isdigit((unsigned char)*text))
		return false;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return false;
	unit = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
	if (unit) {
		mult = 1ull << (10 * (unit - units + 1));
		end++;
	}
	if (toupper((unsigned char)*end) == 'B')
		end++;
	if (*end || v > UINT64_MAX / mult)
		return false;
	*bytes = v * mult;
	return true;
}

/*
 * strtod() of a plain decimal number at text, DIGITS or DIGITS.DIGITS
 * (.DIGITS too when lead_dot): no sign, exponent, hex or inf, which
 * strtod() would take.  *end past it; false when text does not start so.
 */
static bool parse_decimal(const char *text, bool lead_dot, double *v, char **end)
{
	size_t n = strspn(text, "0123456789"), frac = 0;

	if (text[n] == '.')
		frac = strspn(text + n + 1, "0123456789");
	if ((!n && !(lead_dot && frac)) || (text[n] == '.' && !frac))
		return false;
	*v = strtod(text, end);
	return *end == text + n + (frac ? frac + 1 : 0);
}

/* A duration: a number, then "ms" or "s" (or nothing: seconds). */
static bool parse_duration(const char *text, uint64_t *ns)
{
	char *end;
	double v, scale = 1e9;

	if (!parse_decimal(text, false, &v, &end))
		return false;
	if (!strcmp(end, "ms"))
		scale = 1e6;
	else if (strcmp(end, "s") && *end)
		return false;
	if (!isfinite(v) || v * scale / 1e9 > MAX_DURATION_S)
		return false;
	*ns = (uint64_t)llround(v * scale);
	return true;
}

/* A fraction: "0.25" or "25%", from 0 to 1. */
static bool parse_fraction(const char *text, double *f)
{
	char *end;
	double v;

	if (!parse_decimal(text, true, &v, &end))
		return false;
	if (!strcmp(end, "%"))
		v /= 100;
	else if (*end)
		return false;
	if (!isfinite(v) || v < 0 || v > 1)
		return false;
	*f = v;
	return true;
}

static bool parse_bool(const char *text, bool *b)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (unsigned i = 0; i < 4; i++) {
		if (!strcmp(text, yes[i])) {
			*b = true;
			return true;
		}
		if (!strcmp(text, no[i])) {
			*b = false;
			return true;
		}
	}
	return false;
}

static bool valid_name(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= MTHP_SCENARIO_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

/* ---- growing arrays ---- */

/*
 * *array (of *nr elements of size bytes) one element longer: the new
 * element, zeroed; NULL when it has max already or memory ran out.
 */
static void *grow(void **array, size_t *nr, size_t size, size_t max)
{
	char *bigger;

	if (*nr >= max)
		return NULL;
	bigger = realloc(*array, (*nr + 1) * size);
	if (!bigger)
		return NULL;
	*array = bigger;
	memset(bigger + *nr * size, 0, size);
	return bigger + (*nr)++ * size;
}

/* ---- section headers ---- */

static ssize_t find_process(const struct mthp_scenario *sc, const char *name)
{
	for (size_t i = 0; i < sc->nr_processes; i++)
		if (!strcmp(sc->processes[i].name, name))
			return (ssize_t)i;
	return -1;
}

static ssize_t find_vma(const struct mthp_scenario *sc, size_t process, const char *name)
{
	for (size_t i = 0; i < sc->nr_vmas; i++)
		if (sc->vmas[i].process == process && !strcmp(sc->vmas[i].name, name))
			return (ssize_t)i;
	return -1;
}

static void begin_process(struct reader *rd, char **words, int nr)
{
	struct mthp_scenario *sc = rd->sc;
	struct mthp_scenario_process *p;

	if (nr != 2 || !valid_name(words[1]))
		return fail_at(rd, rd->line, "a process section is [process NAME] (letters, digits, _ . -)");
	if (find_process(sc, words[1]) >= 0)
		return fail_at(rd, rd->line, "process '%s' is defined twice", words[1]);
	p = grow((void **)&sc->processes, &sc->nr_processes, sizeof(*p), MAX_PROCESSES);
	if (!p)
		return fail_at(rd, rd->line, "more than %d processes", MAX_PROCESSES);
	snprintf(p->name, sizeof(p->name), "%s", words[1]);
	p->line = rd->line;
	rd->section = SEC_PROCESS;
	rd->index = sc->nr_processes - 1;
}

/*
 * The process of a [KIND PROCESS NAME] section (what says what its NAME
 * is), or -1 after failing.
 */
static ssize_t section_process(struct reader *rd, char **words, int nr, const char *kind,
			       const char *what)
{
	ssize_t proc;

	if (nr != 3 || !valid_name(words[2])) {
		fail_at(rd, rd->line, "a %s section is [%s PROCESS %s]", kind, kind, what);
		return -1;
	}
	proc = find_process(rd->sc, words[1]);
	if (proc < 0)
		fail_at(rd, rd->line, "%s '%s': no process '%s' above this line", kind,
			words[2], words[1]);
	return proc;
}

static void begin_vma(struct reader *rd, char **words, int nr)
{
	struct mthp_scenario *sc = rd->sc;
	struct mthp_scenario_vma *v;
	ssize_t proc = section_process(rd, words, nr, "vma", "NAME");

	if (proc < 0)
		return;
	if (find_vma(sc, (size_t)proc, words[2]) >= 0)
		return fail_at(rd, rd->line, "process '%s' has two vmas named '%s'",
			       words[1], words[2]);
	v = grow((void **)&sc->vmas, &sc->nr_vmas, sizeof(*v), MAX_VMAS);
	if (!v)
		return fail_at(rd, rd->line, "more than %d vmas", MAX_VMAS);
	snprintf(v->name, sizeof(v->name), "%s", words[2]);
	v->process = (size_t)proc;
	v->line = rd->line;
	rd->section = SEC_VMA;
	rd->index = sc->nr_vmas - 1;
}

/* A phase's keys left out: the defaults of docs/scenarios.md. */
static const struct mthp_scenario_phase phase_defaults = {
	.density = 0.1,
	.runs = 8,
	.run_pages = 16,
	.hot = 0.1,
	.live = 0.5,
	.churn = 0.05,
	.child_writes = 0.1,
	.advice = MTHP_VMA_HUGEPAGE,
	.sizes = { { 4096, 60 }, { 65536, 30 }, { 1u << 20, 10 } },
	.nr_sizes = 3,
};

static void begin_phase(struct reader *rd, char **words, int nr)
{
	struct mthp_scenario *sc = rd->sc;
	struct mthp_scenario_phase *ph;
	ssize_t proc = section_process(rd, words, nr, "phase", "LABEL");
	size_t nr_extra;

	if (proc < 0)
		return;
	for (size_t i = 0; i < sc->nr_phases; i++)
		if (sc->phases[i].process == (size_t)proc && !strcmp(sc->phases[i].label, words[2]))
			return fail_at(rd, rd->line, "process '%s' has two phases labelled '%s'",
				       words[1], words[2]);
	nr_extra = sc->nr_phases;
	ph = grow((void **)&sc->phases, &sc->nr_phases, sizeof(*ph), MAX_PHASES);
	if (!ph)
		return fail_at(rd, rd->line, "more than %d phases, or out of memory", MAX_PHASES);
	if (!grow((void **)&rd->extra, &nr_extra, sizeof(*rd->extra), MAX_PHASES))
		return fail_at(rd, rd->line, "out of memory");
	*ph = phase_defaults;
	snprintf(ph->label, sizeof(ph->label), "%s", words[2]);
	ph->process = (size_t)proc;
	ph->line = rd->line;
	rd->section = SEC_PHASE;
	rd->index = sc->nr_phases - 1;
}

/* A "[...]" line: note the section it opens. */
static void begin_section(struct reader *rd, const char *text)
{
	char copy[MAX_LINE + 1], *words[4], *save = NULL;
	const char *close = strchr(text, ']');
	int nr = 0;

	rd->nr_keys = 0;
	if (!close || close[strspn(close + 1, " \t\r\n") + 1] != '\0')
		return fail_at(rd, rd->line, "a section header is [KIND ...] alone on its line");
	snprintf(copy, sizeof(copy), "%.*s", (int)(close - text - 1), text + 1);
	for (char *w = strtok_r(copy, " \t", &save); w && nr < 4; w = strtok_r(NULL, " \t", &save))
		words[nr++] = w;
	if (!nr)
		return fail_at(rd, rd->line, "empty section header []");
	if (!strcmp(words[0], "machine") || !strcmp(words[0], "settings")) {
		bool machine = words[0][0] == 'm';
		bool *seen = machine ? &rd->seen_machine : &rd->seen_settings;

		if (nr != 1)
			return fail_at(rd, rd->line, "[%s] takes no name", words[0]);
		if (*seen)
			return fail_at(rd, rd->line, "a second [%s] section", words[0]);
		*seen = true;
		rd->section = machine ? SEC_MACHINE : SEC_SETTINGS;
		return;
	}
	if (!strcmp(words[0], "process"))
		return begin_process(rd, words, nr);
	if (!strcmp(words[0], "vma"))
		return begin_vma(rd, words, nr);
	if (!strcmp(words[0], "phase"))
		return begin_phase(rd, words, nr);
	fail_at(rd, rd->line,
		"unknown section [%s]: sections are machine, settings, process, vma, phase",
		words[0]);
}

/* ---- the line reader libinih pulls from ---- */

static char *read_line(char *str, int num, void *stream)
{
	struct reader *rd = stream;
	const char *start = rd->buf + rd->pos;
	const char *nl;
	size_t len, text_len;

	if (rd->failed || rd->pos >= rd->len)
		return NULL;
	nl = memchr(start, '\n', rd->len - rd->pos);
	len = nl ? (size_t)(nl - start) + 1 : rd->len - rd->pos;
	rd->pos += len;
	rd->line++;
	text_len = len - (nl ? 1 : 0);
	if (text_len && start[text_len - 1] == '\r')
		text_len--;
	/* a UTF-8 byte order mark, as some editors write, is not text */
	if (rd->line == 1 && text_len >= 3 && !memcmp(start, "\xEF\xBB\xBF", 3)) {
		start += 3;
		text_len -= 3;
	}
	if (memchr(start, '\0', text_len)) {
		fail_at(rd, rd->line, "NUL byte in the line");
		return NULL;
	}
	if (text_len > MAX_LINE || text_len + 2 > (size_t)num) {
		fail_at(rd, rd->line, "line longer than %d characters", MAX_LINE);
		return NULL;
	}
	memcpy(str, start, text_len);
	str[text_len] = '\n';
	str[text_len + 1] = '\0';
	start = str + strspn(str, " \t");
	if (*start == '[')
		begin_section(rd, start);
	return rd->failed ? NULL : str;
}

/* ---- keys ---- */

static void machine_key(struct reader *rd, const char *key, const char *value)
{
	struct mthp_scenario *sc = rd->sc;
	uint64_t v;

	if (!strcmp(key, "memory")) {
		rd->memory_line = rd->line;
		snprintf(rd->memory_text, sizeof(rd->memory_text), "%s", value);
		if (!mthp_parse_size(value, &sc->memory) || !sc->memory)
			return fail_value(rd, rd->line, key, value, "must be a size such as 1G");
	} else if (!strcmp(key, "page_size")) {
		struct mthp_geometry geo;

		if (!mthp_parse_size(value, &v) || mthp_geometry_from_page_size(&geo, v))
			return fail_value(rd, rd->line, key, value, "must be 4K, 16K or 64K");
		sc->page_size = (uint32_t)v;
		rd->page_size_line = rd->line;
	} else if (!strcmp(key, "swap")) {
		rd->swap_line = rd->line;
		snprintf(rd->swap_text, sizeof(rd->swap_text), "%s", value);
		if (!mthp_parse_size(value, &sc->swap))
			return fail_value(rd, rd->line, key, value, "must be a size such as 256M (0: no swap)");
	} else if (!strcmp(key, "fragmentation")) {
		if (!parse_fraction(value, &sc->fragmentation))
			return fail_value(rd, rd->line, key, value, ALLOWED_FRACTION);
	} else if (!strcmp(key, "tlb")) {
		char copy[MAX_LINE + 1], *save = NULL;
		bool all = false;

		snprintf(copy, sizeof(copy), "%s", value);
		rd->tlb_line = rd->line;
		sc->tlb_profiles = 0;
		for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			enum mthp_tlb_profile prof;

			if (!strcmp(w, "all"))
				all = true;
			else if (mthp_tlb_profile_parse(w, &prof))
				return fail_at(rd, rd->line,
					       "tlb profile '%s': must be x86-64, zen, arm64-4k, arm64-16k, arm64-64k or all", w);
			else
				sc->tlb_profiles |= 1u << prof;
		}
		if (!sc->tlb_profiles && !all)
			return fail_at(rd, rd->line, "tlb: no profile given");
		if (all)
			sc->tlb_profiles = 0;
	} else if (!strcmp(key, "mmu")) {
		enum mthp_tlb_profile prof;

		if (mthp_tlb_profile_parse(value, &prof))
			return fail_value(rd, rd->line, key, value,
					  "must be x86-64, zen, arm64-4k, arm64-16k or arm64-64k");
		sc->mmu = (int)prof;
		sc->mmu_line = rd->line;
	} else if (!strcmp(key, "swap_device")) {
		if (!strcmp(value, "disk"))
			sc->swap_device = SIM_SWAP_DISK;
		else if (!strcmp(value, "zram"))
			sc->swap_device = SIM_SWAP_ZRAM;
		else
			return fail_value(rd, rd->line, key, value, "must be disk or zram");
	} else if (!strcmp(key, "read_fault_alloc")) {
		if (!parse_bool(value, &sc->read_fault_alloc))
			return fail_value(rd, rd->line, key, value, "must be yes or no");
	} else if (!strcmp(key, "seed")) {
		if (!parse_u64(value, &sc->seed) || sc->seed > INT64_MAX)
			return fail_value(rd, rd->line, key, value,
					  "must be a whole number 0-9223372036854775807");
	} else {
		return fail_at(rd, rd->line,
			       "unknown key '%s' in [machine] (memory, page_size, swap, "
			       "swap_device, fragmentation, tlb, mmu, read_fault_alloc, seed)", key);
	}
}

static void settings_key(struct reader *rd, const char *key, const char *value)
{
	struct mthp_scenario *sc = rd->sc;
	struct mthp_snapshot_setting *s;

	for (size_t i = 0; i < sc->nr_settings; i++)
		if (!strcmp(sc->settings[i].key, key))
			return fail_at(rd, rd->line, "setting '%s' given twice (first at line %u)",
				       key, sc->settings[i].line);
	s = grow((void **)&sc->settings, &sc->nr_settings, sizeof(*s), MAX_SETTINGS);
	if (!s)
		return fail_at(rd, rd->line, "more than %d settings, or out of memory", MAX_SETTINGS);
	s->key = strdup(key);
	s->value = strdup(value);
	s->line = rd->line;
	if (!s->key || !s->value)
		fail_at(rd, rd->line, "out of memory");
}

static void process_key(struct reader *rd, const char *key, const char *value)
{
	struct mthp_scenario_process *p = &rd->sc->processes[rd->index];

	if (strcmp(key, "memcg_limit"))
		return fail_at(rd, rd->line, "unknown key '%s' in a process (memcg_limit)", key);
	if (!mthp_parse_size(value, &p->memcg_limit))
		fail_value(rd, rd->line, key, value, "must be a size such as 512M (0: no limit)");
}

static void vma_key(struct reader *rd, const char *key, const char *value)
{
	struct mthp_scenario_vma *v = &rd->sc->vmas[rd->index];

	if (!strcmp(key, "size")) {
		if (!mthp_parse_size(value, &v->size) || !v->size)
			return fail_value(rd, rd->line, key, value, "must be a size above 0 such as 64M");
	} else if (!strcmp(key, "align")) {
		if (!mthp_parse_size(value, &v->align) || !v->align || (v->align & (v->align - 1)))
			return fail_value(rd, rd->line, key, value, "must be a power of two such as 2M");
	} else if (!strcmp(key, "pmd_offset")) {
		if (!mthp_parse_size(value, &v->pmd_offset))
			return fail_value(rd, rd->line, key, value,
					  "must be a size below the PMD size such as 4K");
		v->has_pmd_offset = true;
	} else if (!strcmp(key, "flags")) {
		char copy[MAX_LINE + 1], *save = NULL;

		snprintf(copy, sizeof(copy), "%s", value);
		v->flags = 0;
		for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			if (!strcmp(w, "hugepage"))
				v->flags |= MTHP_VMA_HUGEPAGE;
			else if (!strcmp(w, "nohugepage"))
				v->flags |= MTHP_VMA_NOHUGEPAGE;
			else if (!strcmp(w, "uffd"))
				v->flags |= MTHP_VMA_UFFD;
			else if (strcmp(w, "none"))
				return fail_at(rd, rd->line,
					       "vma flag '%s': flags are hugepage, nohugepage, uffd or none", w);
		}
		if ((v->flags & MTHP_VMA_HUGEPAGE) && (v->flags & MTHP_VMA_NOHUGEPAGE))
			return fail_at(rd, rd->line, "hugepage and nohugepage exclude each other");
	} else {
		fail_at(rd, rd->line, "unknown key '%s' in a vma (size, align, pmd_offset, flags)",
			key);
	}
}

/*
 * value's comma-separated items, each through item(ph, WORD, i) for i from
 * 0, at most max of them: how many, or 0 when there is none, an empty
 * one ("1,,2", a comma at either end), more than max, or one item()
 * refuses.
 */
static unsigned parse_items(struct mthp_scenario_phase *ph, const char *value, unsigned max,
			    bool (*item)(struct mthp_scenario_phase *ph, char *w, unsigned i))
{
	char copy[MAX_LINE + 1], *rest = copy, *w;
	unsigned nr = 0;

	snprintf(copy, sizeof(copy), "%s", value);
	while ((w = strsep(&rest, ",")))
		if (!*w || nr == max || !item(ph, w, nr++))
			return 0;
	return nr;
}

/* An item of "3,5,9-12": increasing, not overlapping. */
static bool page_range(struct mthp_scenario_phase *ph, char *w, unsigned i)
{
	char *dash = strchr(w, '-');
	uint64_t first, last;

	if (dash)
		*dash = '\0';
	if (!parse_u64(w, &first))
		return false;
	last = first;
	if (dash && (!parse_u64(dash + 1, &last) || last < first))
		return false;
	if (i && first <= ph->pages[i - 1].last)
		return false;
	ph->pages[i] = (struct mthp_scenario_page_range){ first, last };
	return true;
}

/* An item of "4K:60,64K:30,1M:10". */
static bool size_weight(struct mthp_scenario_phase *ph, char *w, unsigned i)
{
	char *colon = strchr(w, ':');
	uint64_t weight;

	if (!colon)
		return false;
	*colon = '\0';
	if (!mthp_parse_size(w, &ph->sizes[i].size) || !ph->sizes[i].size ||
	    !parse_u64(colon + 1, &weight) || !weight || weight > MAX_COUNT)
		return false;
	ph->sizes[i].weight = (uint32_t)weight;
	return true;
}

static void phase_key(struct reader *rd, const char *key, const char *value)
{
	struct mthp_scenario_phase *ph = &rd->sc->phases[rd->index];
	struct phase_extra *x = &rd->extra[rd->index];
	uint64_t v;
	bool ok = true;
	int k;

	k = mthp_name_find(phase_key_names, NR_PHASE_KEYS, key);
	if (k < 0)
		return fail_at(rd, rd->line, "unknown key '%s' in a phase", key);
	if (x->keys & KEY(k))
		return fail_at(rd, rd->line, "key '%s' given twice in this phase", key);
	x->keys |= KEY(k);
	x->key_line[k] = rd->line;
	switch ((enum phase_key)k) {
	case PK_VMA:
		ok = valid_name(value);
		if (ok)
			snprintf(x->vma_name, sizeof(x->vma_name), "%s", value);
		break;
	case PK_ACTION:
		for (k = 0; k < MTHP_NR_ACTIONS && strcmp(value, actions[k].name); k++)
			;
		if (k == MTHP_NR_ACTIONS) {
			char list[256];
			size_t at = 0;

			/* every action, from the table: "a, b, ... or z" */
			for (unsigned a = 0; a < MTHP_NR_ACTIONS && at < sizeof(list); a++)
				at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s",
						       a == 0 ? "" : a + 1 == MTHP_NR_ACTIONS ?
						       " or " : ", ", actions[a].name);
			return fail_at(rd, rd->line, "action '%s': must be %s", value, list);
		}
		ph->action = (enum mthp_scenario_action)k;
		x->has_action = true;
		break;
	case PK_DURATION:
		ok = parse_duration(value, &ph->duration_ns);
		break;
	case PK_OFFSET:
		ok = mthp_parse_size(value, &ph->offset);
		break;
	case PK_LENGTH:
		ok = mthp_parse_size(value, &ph->length) && ph->length;
		break;
	case PK_DENSITY:
	case PK_HOT:
	case PK_LIVE:
	case PK_CHURN:
	case PK_CHILD_WRITES:
		ok = parse_fraction(value, (double *)((char *)ph + phase_key_field[k]));
		break;
	case PK_RUNS:
	case PK_RUN_PAGES:
		ok = parse_u64(value, &v) && v && v <= MAX_COUNT;
		*(uint32_t *)((char *)ph + phase_key_field[k]) = (uint32_t)v;
		break;
	case PK_ALIGNED:
		ok = parse_bool(value, &ph->aligned);
		break;
	case PK_OBJECT_SIZES:
		ph->nr_sizes = parse_items(ph, value, MTHP_SCENARIO_MAX_SIZES, size_weight);
		ok = ph->nr_sizes > 0;
		break;
	case PK_PAGES:
		ph->nr_pages = parse_items(ph, value, MTHP_SCENARIO_MAX_PAGE_RANGES, page_range);
		ok = ph->nr_pages > 0;
		break;
	case PK_CHILD_LIVES:
		ph->child_lives = !strcmp(value, "run");
		ok = ph->child_lives || !strcmp(value, "phase");
		break;
	case PK_ADVICE:
		if (!strcmp(value, "hugepage"))
			ph->advice = MTHP_VMA_HUGEPAGE;
		else if (!strcmp(value, "nohugepage"))
			ph->advice = MTHP_VMA_NOHUGEPAGE;
		else
			ok = false;
		break;
	case NR_PHASE_KEYS:
		break;
	}
	if (!ok)
		fail_value(rd, rd->line, key, value, phase_key_allowed[k]);
}

/*
 * A key of [machine], [process] or [vma] given twice is an error, as in
 * [settings] and [phase] (each checks its own): which one was meant?  A
 * key unknown to the section is left to it to refuse.
 */
static void key_once(struct reader *rd, const char *key)
{
	for (size_t i = 0; i < rd->nr_keys; i++)
		if (!strcmp(rd->keys[i].key, key))
			return fail_at(rd, rd->line, "key '%s' given twice in this section "
				       "(first at line %u)", key, rd->keys[i].line);
	if (rd->nr_keys == sizeof(rd->keys) / sizeof(rd->keys[0]) ||
	    strlen(key) >= sizeof(rd->keys[0].key))
		return;
	snprintf(rd->keys[rd->nr_keys].key, sizeof(rd->keys[0].key), "%s", key);
	rd->keys[rd->nr_keys++].line = rd->line;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	/* each section's reader of its keys */
	static void (*const section_key[])(struct reader *rd, const char *key,
					   const char *value) = {
		[SEC_MACHINE] = machine_key,
		[SEC_SETTINGS] = settings_key,
		[SEC_PROCESS] = process_key,
		[SEC_VMA] = vma_key,
		[SEC_PHASE] = phase_key,
	};
	struct reader *rd = user;

	(void)section;
	if (rd->failed)
		return 0;
	if (rd->section == SEC_NONE) {
		fail_at(rd, rd->line, "'%s' is outside any section", key);
		return 0;
	}
	if (rd->section == SEC_MACHINE || rd->section == SEC_PROCESS || rd->section == SEC_VMA)
		key_once(rd, key);
	if (!rd->failed)
		section_key[rd->section](rd, key, value);
	return !rd->failed;
}

/* ---- checks across lines ---- */

/* "4K", "256G": a size in its largest whole unit, for messages. */
static void format_size(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "KMGT";
	unsigned u = 0;

	for (; bytes >= 1024 && !(bytes % 1024) && u < 4; u++)
		bytes /= 1024;
	if (u)
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[u - 1]);
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
}

static void check_machine(struct reader *rd)
{
	struct mthp_scenario *sc = rd->sc;
	struct mthp_geometry geo;
	char page[32], least[32], most[32], msg[256];
	uint64_t max_memory = (SIM_MAX_FRAMES + 1) * sc->page_size;
	uint64_t max_swap = SIM_MAX_SWAP_SLOTS * sc->page_size;

	mthp_geometry_from_page_size(&geo, sc->page_size);
	format_size(page, sizeof(page), sc->page_size);
	format_size(least, sizeof(least), 4 * mthp_pmd_size(&geo));
	format_size(most, sizeof(most), max_memory);
	if (sc->memory % sc->page_size || sc->memory < 4 * mthp_pmd_size(&geo) ||
	    sc->memory >= max_memory) {
		snprintf(msg, sizeof(msg),
			 "must be a multiple of the page size, at least 4 PMD sizes (%s) and below %s with %s pages",
			 least, most, page);
		if (!rd->memory_line)	/* the default: the page size made it wrong */
			return fail_at(rd, rd->page_size_line ? rd->page_size_line : 1,
				       "the default memory 1G is too small with %s pages: set "
				       "memory in [machine] (at least %s)", page, least);
		return fail_value(rd, rd->memory_line, "memory", rd->memory_text, msg);
	}
	format_size(most, sizeof(most), max_swap + 2ull * sc->page_size);
	if (sc->swap % sc->page_size || sc->swap > max_swap) {
		snprintf(msg, sizeof(msg),
			 "must be a multiple of the page size and at most %s less 2 pages with %s pages",
			 most, page);
		return fail_value(rd, rd->swap_line ? rd->swap_line : 1, "swap",
				  rd->swap_line ? rd->swap_text : "256M", msg);
	}
	if (sc->mmu >= 0 && !mthp_tlb_profile_fits((enum mthp_tlb_profile)sc->mmu, &geo)) {
		snprintf(msg, sizeof(msg), "made for another page size than %s", page);
		return fail_value(rd, sc->mmu_line, "mmu",
				  mthp_tlb_profile_name((enum mthp_tlb_profile)sc->mmu), msg);
	}
	for (unsigned p = 0; p < MTHP_TLB_NR_PROFILES; p++)
		if ((sc->tlb_profiles & (1u << p)) &&
		    !mthp_tlb_profile_fits((enum mthp_tlb_profile)p, &geo))
			return fail_at(rd, rd->tlb_line, "tlb profile '%s' is made for another "
				       "page size than %s", mthp_tlb_profile_name(
					       (enum mthp_tlb_profile)p), page);
}

static void check_settings(struct reader *rd)
{
	struct mthp_settings s;

	if (rd->failed)
		return;
	if (mthp_scenario_settings(rd->sc, &s, rd->diag))
		rd->failed = true;
}

static void check_vmas(struct reader *rd)
{
	struct mthp_scenario *sc = rd->sc;
	size_t misfit;

	if (!rd->failed && !sc->nr_processes)
		fail_at(rd, rd->line, "no [process NAME] section: nothing to simulate");
	for (size_t i = 0; i < sc->nr_processes && !rd->failed; i++)
		if (sc->processes[i].memcg_limit % sc->page_size)
			fail_at(rd, sc->processes[i].line, "process '%s': memcg_limit is not a "
				"multiple of the page size (%u)", sc->processes[i].name,
				sc->page_size);
	for (size_t i = 0; i < sc->nr_vmas && !rd->failed; i++) {
		struct mthp_scenario_vma *v = &sc->vmas[i];
		uint64_t pmd_size = (uint64_t)sc->page_size *
				    (sc->page_size == 4096 ? 512 : sc->page_size == 16384 ? 2048 : 8192);

		if (v->has_pmd_offset && v->align) {
			fail_at(rd, v->line, "vma '%s': align and pmd_offset exclude each other "
				"(pmd_offset places the start past a PMD boundary)", v->name);
			break;
		}
		if (v->has_pmd_offset && (v->pmd_offset >= pmd_size || v->pmd_offset % sc->page_size)) {
			fail_at(rd, v->line, "vma '%s': pmd_offset must be a multiple of the page size "
				"(%u) below the PMD size", v->name, sc->page_size);
			break;
		}
		if (!v->align)
			v->align = pmd_size;
		if (!v->size)
			fail_at(rd, v->line, "vma '%s' has no size", v->name);
		else if (v->size % sc->page_size)
			fail_at(rd, v->line, "vma '%s': size is not a multiple of the page size (%u)",
				v->name, sc->page_size);
		else if (v->align < sc->page_size)
			fail_at(rd, v->line, "vma '%s': align is smaller than the page size", v->name);
	}
	misfit = rd->failed ? sc->nr_vmas : mthp_scenario_vma_misfit(sc);
	if (misfit < sc->nr_vmas) {
		const struct mthp_scenario_vma *v = &sc->vmas[misfit];

		fail_at(rd, v->line, "vma '%s' does not fit: a process's VMAs, each aligned "
			"and followed by a gap of its alignment, take at most 1T of address space",
			v->name);
	}
}

/*
 * What a phase places must fit in its pages: a run of run_pages, an
 * object of object_sizes (else it could never be placed, and the phase
 * would write less than it says without a word); and its runs may cover
 * its pages at most RUNS_OVER times over.
 */
#define RUNS_OVER 64

static void check_phase_sizes(struct reader *rd, const struct mthp_scenario_phase *ph,
			      const struct phase_extra *x)
{
	uint64_t pages = ph->length / rd->sc->page_size;

	if (ph->action == MTHP_ACT_CLUSTER || ph->by_runs) {
		unsigned line = x->keys & KEY(PK_RUN_PAGES) ? x->key_line[PK_RUN_PAGES] : ph->line;

		if (ph->run_pages > pages)
			return fail_at(rd, line, "phase '%s': run_pages %u is more than its %llu "
				       "pages", ph->label, ph->run_pages, (unsigned long long)pages);
		if ((uint64_t)ph->runs * ph->run_pages > RUNS_OVER * pages)
			return fail_at(rd, x->keys & KEY(PK_RUNS) ? x->key_line[PK_RUNS] : line,
				       "phase '%s': %u runs of %u pages would cover its %llu pages "
				       "more than %u times over", ph->label, ph->runs, ph->run_pages,
				       (unsigned long long)pages, RUNS_OVER);
	}
	if (ph->action == MTHP_ACT_HEAP)
		for (unsigned i = 0; i < ph->nr_sizes; i++)
			if (ph->sizes[i].size > ph->length)
				return fail_at(rd, x->keys & KEY(PK_OBJECT_SIZES) ?
					       x->key_line[PK_OBJECT_SIZES] : ph->line,
					       "phase '%s': an object of %llu bytes is larger than "
					       "its %llu bytes", ph->label,
					       (unsigned long long)ph->sizes[i].size,
					       (unsigned long long)ph->length);
}

static void check_phases(struct reader *rd)
{
	struct mthp_scenario *sc = rd->sc;

	for (size_t i = 0; i < sc->nr_phases && !rd->failed; i++) {
		struct mthp_scenario_phase *ph = &sc->phases[i];
		struct phase_extra *x = &rd->extra[i];
		uint32_t allowed = COMMON_KEYS | actions[ph->action].keys;
		const struct mthp_scenario_vma *v;
		ssize_t vma;

		if (!x->has_action) {
			fail_at(rd, ph->line, "phase '%s' has no action", ph->label);
			break;
		}
		if (!mthp_scenario_action_has_vma(ph->action))
			allowed = KEY(PK_ACTION) | KEY(PK_DURATION);
		for (int k = 0; k < NR_PHASE_KEYS; k++)
			if ((x->keys & KEY(k)) && !(allowed & KEY(k)))
				fail_at(rd, x->key_line[k], "key '%s' does not apply to action %s",
					phase_key_names[k], actions[ph->action].name);
		if (rd->failed || !mthp_scenario_action_has_vma(ph->action))
			continue;
		if ((x->keys & KEY(PK_PAGES)) &&
		    (x->keys & (KEY(PK_DENSITY) | KEY(PK_CHILD_WRITES) | RUN_KEYS))) {
			fail_at(rd, x->key_line[PK_PAGES], "phase '%s': pages excludes density, "
				"child_writes, runs and run_pages (it says which pages exactly)",
				ph->label);
			break;
		}
		if (ph->action != MTHP_ACT_CLUSTER && (x->keys & RUN_KEYS)) {
			if (x->keys & KEY(PK_DENSITY)) {
				fail_at(rd, x->key_line[PK_DENSITY], "phase '%s': give density or "
					"runs and run_pages, not both", ph->label);
				break;
			}
			ph->by_runs = true;
		}
		if (!(x->keys & KEY(PK_VMA))) {
			fail_at(rd, ph->line, "phase '%s' has no vma", ph->label);
			break;
		}
		vma = find_vma(sc, ph->process, x->vma_name);
		if (vma < 0) {
			fail_at(rd, x->key_line[PK_VMA], "process '%s' has no vma '%s'",
				sc->processes[ph->process].name, x->vma_name);
			break;
		}
		ph->vma = (size_t)vma;
		v = &sc->vmas[vma];
		if (ph->offset % sc->page_size || ph->length % sc->page_size)
			fail_at(rd, x->key_line[ph->offset % sc->page_size ? PK_OFFSET : PK_LENGTH],
				"offset and length must be multiples of the page size (%u)",
				sc->page_size);
		else if (ph->offset >= v->size || ph->length > v->size - ph->offset)
			fail_at(rd, x->key_line[(x->keys & KEY(PK_LENGTH)) ? PK_LENGTH : PK_OFFSET],
				"offset and length reach past the end of vma '%s' (%llu bytes)",
				v->name, (unsigned long long)v->size);
		else if (!ph->length)
			ph->length = v->size - ph->offset;
		if (!rd->failed && ph->nr_pages &&
		    ph->pages[ph->nr_pages - 1].last >= ph->length / sc->page_size)
			fail_at(rd, x->key_line[PK_PAGES], "pages: page %llu is past the %llu "
				"pages of phase '%s' (pages count from 0 at the phase's offset)",
				(unsigned long long)ph->pages[ph->nr_pages - 1].last,
				(unsigned long long)(ph->length / sc->page_size), ph->label);
		if (!rd->failed)
			check_phase_sizes(rd, ph, x);
	}
}

int mthp_scenario_settings(const struct mthp_scenario *sc, struct mthp_settings *s,
			   struct mthp_diag *diag)
{
	struct mthp_geometry geo;
	char msg[256];

	if (mthp_geometry_from_page_size(&geo, sc->page_size))
		return -EINVAL;
	/* the machine's MMU (checked against the page size when read) */
	if (sc->mmu >= 0)
		geo.cont_order = mthp_tlb_profile_info((enum mthp_tlb_profile)sc->mmu)->cont_order;
	mthp_settings_init(s, &geo);
	for (size_t i = 0; i < sc->nr_settings; i++) {
		const struct mthp_snapshot_setting *line = &sc->settings[i];

		if (mthp_settings_set(s, line->key, line->value, msg, sizeof(msg))) {
			snprintf(diag->msg, sizeof(diag->msg), "%s:%u: %s", sc->file, line->line, msg);
			return -EINVAL;
		}
	}
	return 0;
}

void mthp_scenario_free(struct mthp_scenario *sc)
{
	for (size_t i = 0; i < sc->nr_settings; i++) {
		free(sc->settings[i].key);
		free(sc->settings[i].value);
	}
	free(sc->settings);
	free(sc->processes);
	free(sc->vmas);
	free(sc->phases);
	free(sc->file);
	memset(sc, 0, sizeof(*sc));
}

int mthp_scenario_read_mem(struct mthp_scenario *sc, const char *buf, size_t len,
			   const char *name, struct mthp_diag *diag)
{
	struct reader rd = { .name = name, .buf = buf, .len = len, .sc = sc, .diag = diag };
	int ret;

	memset(sc, 0, sizeof(*sc));
	sc->file = strdup(name);
	sc->memory = 1ull << 30;
	sc->page_size = 4096;
	sc->mmu = -1;
	sc->swap = 256ull << 20;
	sc->seed = 1;
	if (!sc->file) {
		snprintf(diag->msg, sizeof(diag->msg), "%s: out of memory", name);
		return -ENOMEM;
	}
	/* an indented line is a key, never the continuation of the one above */
	ini_allow_multiline = false;
	ret = ini_parse_stream(read_line, &rd, on_key, &rd);
	if (ret && !rd.failed)
		fail_at(&rd, (unsigned)(ret > 0 ? ret : (int)rd.line),
			"not a 'key = value' line or a [section]");
	if (!rd.failed)
		check_machine(&rd);
	check_settings(&rd);
	if (!rd.failed)
		check_vmas(&rd);
	if (!rd.failed)
		check_phases(&rd);
	free(rd.extra);
	if (rd.failed) {
		mthp_scenario_free(sc);
		return -EINVAL;
	}
	return 0;
}

int mthp_scenario_read(struct mthp_scenario *sc, const char *path,
		       struct mthp_diag *diag)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	int ret;

	memset(sc, 0, sizeof(*sc));
	if (!f) {
		snprintf(diag->msg, sizeof(diag->msg), "%s: %s", path, strerror(errno));
		return -errno;
	}
	do {
		if (len == cap) {
			char *bigger;

			cap = cap ? cap * 2 : 8192;
			bigger = cap > (64u << 20) ? NULL : realloc(buf, cap);
			if (!bigger) {
				snprintf(diag->msg, sizeof(diag->msg), "%s: too large or out of memory", path);
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = bigger;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got);
	if (ferror(f)) {
		int e = errno ? errno : EIO;	/* EISDIR for a directory */

		snprintf(diag->msg, sizeof(diag->msg), "%s: %s", path, strerror(e));
		free(buf);
		fclose(f);
		return -e;
	}
	fclose(f);
	ret = mthp_scenario_read_mem(sc, buf ? buf : "", len, path, diag);
	free(buf);
	return ret;
}
