/* SPDX-License-Identifier: MIT */
/*
 * fuzz_targets.h - the bodies of the fuzz targets.  fuzz/fuzz_*.c hand
 * them libFuzzer's inputs; tests/test_fuzz_corpus.c replays the seed corpus
 * and every saved crash through them in the normal test builds.
 */
#ifndef MTHP_FUZZ_TARGETS_H
#define MTHP_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* Read the bytes as a snapshot; if valid, round-trip and plan it. */
int fuzz_snapshot(const uint8_t *data, size_t size);
/* Read the bytes as a scenario; if valid, its settings must apply. */
int fuzz_scenario(const uint8_t *data, size_t size);
/* Split the bytes into arguments (NUL or newline) and run `mthp plan`. */
int fuzz_plan_args(const uint8_t *data, size_t size);

#endif
