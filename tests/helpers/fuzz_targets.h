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
#include <stdio.h>

/* Read the bytes as a snapshot; if valid, round-trip and plan it. */
int fuzz_snapshot(const uint8_t *data, size_t size);
/* Read the bytes as a scenario; if valid, its settings must apply. */
int fuzz_scenario(const uint8_t *data, size_t size);
/*
 * Read the bytes as a recording: as they are when they start as one does
 * (MTHPREC), else as the texts of its blocks, separated by NUL bytes,
 * compressed into a well-formed file first.  Every frame read must write
 * and read back as a snapshot.
 */
int fuzz_recording(const uint8_t *data, size_t size);
/* Write one block of a recording (tag "HEAD", "FRAM" or "END.") around text. */
void fuzz_rec_block(FILE *f, const char *tag, const uint8_t *text, size_t len);
/* Split the bytes into arguments (NUL or newline) and run `mthp plan`. */
int fuzz_plan_args(const uint8_t *data, size_t size);

#endif
