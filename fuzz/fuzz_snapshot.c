// SPDX-License-Identifier: MIT
/* fuzz_snapshot.c - libFuzzer target: the snapshot reader, writer and planner. */
#include "helpers/fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_snapshot(data, size);
}
