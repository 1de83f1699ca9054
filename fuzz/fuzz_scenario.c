// SPDX-License-Identifier: MIT
/* fuzz_scenario.c - libFuzzer target: the scenario reader. */
#include "helpers/fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_scenario(data, size);
}
