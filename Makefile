# mthp - the khugepaged mTHP collapse engine, its simulator and live tools.
#
#   make                    build build/mthp, build/libmthp.a and build/libmthp-tools.a
#   make check              build and run every test that leaves the host alone
#   make check-host         as root: the tests that change THP knobs, swap and
#                           cgroups, and restore them (also on signals)
#   make demo               the main job on the built-in default
#   make bench              benchmarks (medians, ratios to the baselines)
#   make stress             the simulator stress program (STRESS_SECONDS=10)
#   make stress SCHEDULE=det  deterministic schedules (STRESS_SCHEDULES=1000
#                           from STRESS_SEED; same seed, same report;
#                           STRESS_ATOMIC=1: lockless steps are points too;
#                           STRESS_PRESSURE=1, either schedule: under memory
#                           pressure, reclaim paging out to swap)
#   make mutants            the collapse protocol's mutants, each must be killed
#                           (tests/mutants/*.patch; MUTANTS="NAME ..." for some)
#   make check-kernel       the real Linux 7.2 under qemu as the oracle
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make SANITIZE=address,undefined check   (objects go to build-asan-ubsan/)
#   make SANITIZE=thread check              (objects go to build-tsan/)
#   make CC=clang ...       any target with clang (objects go to build-clang/)
#
# Packages are checked (and installed when missing) by scripts/install-deps
# before anything is compiled.

CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
SANITIZE ?=
PKG_CONFIG ?= pkg-config

# One build directory per compiler and sanitizer, so they never mix objects.
ifeq ($(SANITIZE),)
  BUILD_SUFFIX :=
else ifeq ($(SANITIZE),thread)
  BUILD_SUFFIX := -tsan
else ifeq ($(SANITIZE),address,undefined)
  BUILD_SUFFIX := -asan-ubsan
else ifeq ($(SANITIZE),address)
  BUILD_SUFFIX := -asan
else ifeq ($(SANITIZE),undefined)
  BUILD_SUFFIX := -ubsan
else
  $(error SANITIZE must be address,undefined or thread (or address, or undefined), not '$(SANITIZE)')
endif
ifneq ($(findstring clang,$(CC)),)
  BUILD_SUFFIX := -clang$(BUILD_SUFFIX)
endif
BUILD ?= build$(BUILD_SUFFIX)

# Libraries of the tools layer; the pkg-config calls run when a recipe
# runs, after scripts/install-deps has made sure the packages are there.
# libmthp itself needs none of them.
LIB_PKGS := jansson cairo inih zlib
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS))
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(LIB_PKGS))
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
TEST_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-missing-field-initializers
OPT ?= -O2
CFLAGS ?= $(OPT) -g
ifneq ($(SANITIZE),)
  CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=$(SANITIZE)
  DEBUG ?= 1
endif
DEBUG ?= 0
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -pthread -Iinclude -Isrc \
	-DMTHP_DEBUG=$(DEBUG) -MMD -MP $(PKG_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) -pthread
LIBS = $(PKG_LIBS) -lm

# Two libraries: libmthp (the engine and the snapshot format, libc only)
# and libmthp-tools above it (simulator, scenarios, live tools, TLB
# model, reports, answers, recordings; jansson, cairo, inih, zlib).  scripts/check-layers keeps
# libmthp free of the layers above it.
LIB_SRCS := $(sort $(wildcard src/engine/*.c src/snapshot/*.c))
TOOLS_SRCS := $(sort $(wildcard src/sim/*.c src/scenario/*.c src/live/*.c src/record/*.c \
	src/tlb/*.c src/report/*.c src/answer/*.c))
CLI_SRCS := $(sort $(filter-out src/cli/main.c,$(wildcard src/cli/*.c)))
# tests/test_host_*.c change the host (THP knobs, swap, cgroups): only
# 'make check-host' runs them.
TEST_SRCS := $(sort $(filter-out tests/test_host_%,$(wildcard tests/test_*.c)))
HOST_TEST_SRCS := $(sort $(wildcard tests/test_host_*.c))
TEST_HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
BENCH_HELPER_SRCS := $(sort $(wildcard bench/lib/*.c))

# Policy plug-ins: the example of examples/policy/ and the bad ones the
# tests load (tests/plugins/), each a shared object in $(BUILD)/plugins/.
PLUGIN_SRCS := $(sort $(wildcard examples/policy/*.c tests/plugins/*.c))
PLUGIN_SOS := $(addprefix $(BUILD)/plugins/,$(notdir $(PLUGIN_SRCS:.c=.so)))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TOOLS_OBJS := $(TOOLS_SRCS:%.c=$(BUILD)/%.o)
# the built-in default scenario is compiled into the command
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/default_scenario.o
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(BUILD)/%.o)
BENCH_HELPER_OBJS := $(BENCH_HELPER_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
HOST_TEST_BINS := $(HOST_TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

# Quiet by default: 'make V=1' prints the full commands.
ifeq ($(V),1)
  Q :=
  say = @true
else
  Q := @
  say = @printf '  %-6s %s\n' $(1) $(2)
endif

LIBMTHP := $(BUILD)/libmthp.a
LIBTOOLS := $(BUILD)/libmthp-tools.a
# what every program of the project links, in link order
MTHP_LIBS := $(LIBTOOLS) $(LIBMTHP)
PC_FILES := $(BUILD)/libmthp.pc $(BUILD)/libmthp-tools.pc
LIBCLI := $(BUILD)/libmthpcli.a
MTHP := $(BUILD)/mthp
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps check check-host check-layers test-bins bench demo install uninstall clean fuzz \
	fuzz-bins stress check-kernel mutants
# keep the test and bench objects between builds
.SECONDARY:
.DEFAULT_GOAL := all

all: $(MTHP) $(MTHP_LIBS) $(PC_FILES)

deps $(DEPS_STAMP):
	@scripts/install-deps
	@mkdir -p $(BUILD) && touch $(DEPS_STAMP)

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/gen/default_scenario.c: scenarios/default.ini scripts/embed | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)
	$(Q)scripts/embed mthp_default_scenario $< > $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# (rebuilt when the Makefile changes, so an object moved to the other
# library leaves this one)
$(LIBMTHP): $(LIB_OBJS) Makefile
	@rm -f $@
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $(filter %.o,$^)

$(LIBTOOLS): $(TOOLS_OBJS) Makefile
	@rm -f $@
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $(filter %.o,$^)

$(LIBCLI): $(CLI_OBJS)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(MTHP): $(BUILD)/src/cli/main.o $(LIBCLI) $(MTHP_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%.o: tests/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(TEST_HELPER_OBJS) $(LIBCLI) $(MTHP_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

# A plug-in is built as a user would build it: the installed header only.
PLUGIN_CFLAGS := -std=gnu11 $(WARN) -O2 -g -fPIC -shared -Iinclude
$(BUILD)/plugins/%.so: examples/policy/%.c include/mthp/policy_plugin.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(PLUGIN_CFLAGS) -o $@ $<

$(BUILD)/plugins/%.so: tests/plugins/%.c include/mthp/policy_plugin.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(PLUGIN_CFLAGS) -o $@ $<

# the plug-in test finds them in $(BUILD)/plugins (loaded, not linked)
$(BUILD)/tests/test_policy_plugin.o: ALL_CFLAGS += -DMTHP_PLUGIN_DIR='"$(BUILD)/plugins"'
$(BUILD)/tests/test_policy_plugin: | $(PLUGIN_SOS)

# The stress program: khugepaged and mutator threads with fault injection
# (not a cmocka test; 'make stress' runs it, .ci/run under both sanitizers).
# SCHEDULE=threads: real threads for STRESS_SECONDS; SCHEDULE=det:
# STRESS_SCHEDULES deterministic schedules from seed STRESS_SEED.
# STRESS_PRESSURE=1: under memory pressure (stress --pressure).
SCHEDULE ?= threads
STRESS_SECONDS ?= 10
STRESS_SCHEDULES ?= 1000
STRESS_THREADS ?= 4
STRESS_SEED ?= 1
STRESS_POLICY ?= upstream
ifeq ($(SCHEDULE),det)
  STRESS_ARGS = --schedule det --schedules $(STRESS_SCHEDULES) \
		$(if $(filter 1,$(STRESS_ATOMIC)),--atomic-points)
else ifeq ($(SCHEDULE),threads)
  STRESS_ARGS = --seconds $(STRESS_SECONDS)
else
  STRESS_ARGS = $(error SCHEDULE must be threads or det, not '$(SCHEDULE)')
endif

$(BUILD)/tests/stress: $(BUILD)/tests/stress.o $(BUILD)/tests/helpers/stress_harness.o \
		$(BUILD)/tests/helpers/stress_shrink.o $(BUILD)/tests/helpers/sim_stat.o $(MTHP_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

stress: $(BUILD)/tests/stress
	TSAN_OPTIONS="suppressions=tests/stress.tsan.supp $(TSAN_OPTIONS)" \
		$(BUILD)/tests/stress $(STRESS_ARGS) --threads $(STRESS_THREADS) \
		--seed $(STRESS_SEED) --policy $(STRESS_POLICY) \
		$(if $(filter 1,$(STRESS_PRESSURE)),--pressure)

# The collapse protocol's mutants: each tests/mutants/NAME.patch applied to
# a scratch copy of the tree, its killers built and run (60 s at most);
# scripts/mutants prints the table and fails unless every one was killed.
MUTANTS ?=

mutants: | $(DEPS_STAMP)
	@CC="$(CC)" scripts/mutants $(MUTANTS)

# make check-kernel: boots Linux 7.2 under qemu, runs the guest programs
# of tests/kernel/ in it and compares what the kernel did with the plan
# (scripts/kernel-vm/check-kernel, docs/kernel-tests.md).
KERNEL_GUEST_BINS := $(BUILD)/tests/kernel/guest_khugepaged $(BUILD)/tests/kernel/guest_faults \
	$(BUILD)/tests/test_live_record
KERNEL_COMPARE := $(BUILD)/tests/kernel/compare

$(BUILD)/tests/kernel/guest_%: $(BUILD)/tests/kernel/guest_%.o $(BUILD)/tests/kernel/guest.o $(LIBMTHP)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^

$(KERNEL_COMPARE): $(BUILD)/tests/kernel/compare.o $(MTHP_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

check-kernel: $(MTHP) $(KERNEL_GUEST_BINS) $(KERNEL_COMPARE)
	@scripts/kernel-vm/check-kernel $(BUILD) $(MTHP) $(KERNEL_GUEST_BINS) -- $(KERNEL_COMPARE)

$(BUILD)/bench/%.o: bench/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Ibench -c $< -o $@

$(BUILD)/bench/bench_%: $(BUILD)/bench/bench_%.o $(BENCH_HELPER_OBJS) $(LIBCLI) $(MTHP_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# the deterministic schedules' benchmark runs the stress harness
$(BUILD)/bench/bench_det_schedule.o: ALL_CFLAGS += -Itests
$(BUILD)/bench/bench_det_schedule: $(BUILD)/bench/bench_det_schedule.o \
		$(BUILD)/tests/helpers/stress_harness.o $(BUILD)/tests/helpers/sim_stat.o \
		$(BENCH_HELPER_OBJS) $(MTHP_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%.pc: %.pc.in Makefile | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' $< > $@

# libmthp stands alone: the engine and the snapshot code include nothing
# from the layers above, and a program links with libmthp.a and libc only.
check-layers: $(LIBMTHP)
	@scripts/check-layers "$(CC)" $(BUILD) "$(ALL_LDFLAGS)"

test-bins: $(TEST_BINS) $(MTHP) $(PLUGIN_SOS)

# Each test program runs from the project root; exit 77 means skipped.
# 'check' never writes a sysfs knob, turns swap on or makes a cgroup.
check: test-bins check-layers
	@MTHP=$(MTHP) scripts/run-tests $(TEST_BINS)

# Changes the host and puts it back: needs root (each program skips,
# saying why, without it).
# thpmaps (the kernel's tools/mm/thpmaps, from the linux-source package of
# the series check-kernel boots) and the numpy it runs with, for
# test_host_thpmaps; without them that case is skipped, saying why.
check-host: $(HOST_TEST_BINS)
	@scripts/install-deps --thpmaps || echo "check-host: no python3-numpy: the thpmaps comparison will be skipped"
	@MTHP_THPMAPS="$$(scripts/kernel-vm/fetch-kernel --thpmaps $(BUILD)/kernel || true)" \
		scripts/run-tests $(HOST_TEST_BINS)

bench: $(BENCH_BINS) $(MTHP)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

demo: $(MTHP)
	@scripts/demo $(MTHP)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/mthp $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(MTHP) $(DESTDIR)$(PREFIX)/bin/mthp
	install -m 644 $(MTHP_LIBS) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(PC_FILES) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 include/mthp/*.h $(DESTDIR)$(PREFIX)/include/mthp/
	if [ -f docs/mthp.1 ]; then install -m 644 docs/mthp.1 $(DESTDIR)$(PREFIX)/share/man/man1/mthp.1; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mthp $(DESTDIR)$(PREFIX)/lib/libmthp.a \
		$(DESTDIR)$(PREFIX)/lib/libmthp-tools.a \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/libmthp.pc \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/libmthp-tools.pc \
		$(DESTDIR)$(PREFIX)/share/man/man1/mthp.1
	rm -rf $(DESTDIR)$(PREFIX)/include/mthp

# Fuzzing with libFuzzer (clang): each target runs FUZZ_SECONDS, starting
# from its seed corpus in fuzz/corpus/TARGET (new inputs go to a scratch
# directory, not into the repository).  A crash is saved as
# build-fuzz/crash-*; copy it into fuzz/regressions/TARGET/ so
# tests/test_fuzz_corpus replays it in every test run.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all

fuzz:
	@scripts/install-deps --fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang DEBUG=1 \
		CFLAGS="-O1 -g $(FUZZ_FLAGS)" LDFLAGS="-fsanitize=address,undefined" fuzz-bins
	@for t in $(FUZZ_TARGETS); do \
		scratch=$$(mktemp -d); \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		(cd build-fuzz && ./fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 $$scratch ../fuzz/corpus/$$t 2>&1 | \
			grep -E 'stat::number_of_executed_units|ERROR|crash-|SUMMARY' ); \
		status=$$?; rm -rf $$scratch; \
		found=$$(ls build-fuzz/crash-* build-fuzz/oom-* build-fuzz/leak-* \
			build-fuzz/timeout-* 2>/dev/null); \
		if [ -n "$$found" ]; then \
			echo "fuzz: $$t found a failure: $$found"; exit 1; fi; \
	done

FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
fuzz-bins: $(FUZZ_BINS)

$(BUILD)/fuzz/%.o: fuzz/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -c $< -o $@

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/tests/helpers/fuzz_targets.o $(LIBCLI) $(MTHP_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

clean:
	rm -rf build build-*

-include $(LIB_OBJS:.o=.d) $(TOOLS_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(BUILD)/src/cli/main.d $(BUILD)/tests/stress.d \
	$(TEST_BINS:%=%.d) $(HOST_TEST_BINS:%=%.d) $(TEST_HELPER_OBJS:.o=.d) $(BENCH_BINS:%=%.d) \
	$(BENCH_HELPER_OBJS:.o=.d) $(wildcard $(BUILD)/tests/kernel/*.d)
