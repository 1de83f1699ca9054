// SPDX-License-Identifier: MIT
/* fuzz_plan_args.c - libFuzzer target: the options of `mthp plan`. */
#include "helpers/fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_plan_args(data, size);
}
