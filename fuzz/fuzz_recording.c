// SPDX-License-Identifier: MIT
/* fuzz_recording.c - libFuzzer target: the recording reader. */
#include "helpers/fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_recording(data, size);
}
