/*
 * libFuzzer harness: circnn_model_init on arbitrary bytes, then, when it
 * accepts them, the format's promises checked and the model run within a
 * work cap (fuzz_one, fuzz_common.h).  The custom mutator is the
 * structure-aware one of fuzz_common.h (several shape, kernel, stride and
 * block-size fields at once, sections, arena figure and CRC repaired), with
 * libFuzzer's own byte-level mutations one time in four.  Built with
 * AddressSanitizer and UndefinedBehaviorSanitizer by tests/test_fuzz.py;
 * tests/fuzz/fuzz_replay.c runs the same mutator deterministically in the
 * meson tests.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size);
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (seed % 4u == 0) return LLVMFuzzerMutate(data, size, max_size);
    return fuzz_mutate(data, size, max_size, seed);
}
