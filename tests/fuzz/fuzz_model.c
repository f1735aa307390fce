/*
 * libFuzzer harness: circnn_model_init on arbitrary bytes, then, when it
 * accepts them, circnn_model_run.  Built with AddressSanitizer and
 * UndefinedBehaviorSanitizer by tests/test_fuzz.py; any crash, out-of-bounds
 * access or undefined behaviour is a finding.
 */
#include <stdint.h>
#include <string.h>

#include "circnn/circnn.h"

#define MAX_BLOB 16384
#define MAX_IO 8192

static uint64_t blob[MAX_BLOB / 8];
static uint64_t arena[65536 / 8];
static float input[MAX_IO];
static float output[MAX_IO];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    circnn_model_t model;
    if (size > MAX_BLOB) return 0;
    memcpy(blob, data, size);
    if (size >= 16) {
        uint8_t *b = (uint8_t *)blob;
        uint32_t total = (uint32_t)b[8] | ((uint32_t)b[9] << 8) | ((uint32_t)b[10] << 16) |
                         ((uint32_t)b[11] << 24);
        if (total >= 16 && total <= size) {
            uint32_t crc = circnn_crc32(b + 16, total - 16u);
            for (int i = 0; i < 4; i++) b[12 + i] = (uint8_t)(crc >> (8 * i));
        }
    }
    if (circnn_model_init(&model, blob, size, arena, sizeof arena) != CIRCNN_OK) return 0;
    if (model.input_count > MAX_IO || model.output_count > MAX_IO) return 0;
    for (uint32_t i = 0; i < model.input_count; i++) {
        if (model.dtype == CIRCNN_DTYPE_F32)
            input[i] = (float)((int32_t)(i * 2654435761u >> 16) - 32768) / 4096.0f;
        else
            ((int16_t *)(void *)input)[i] = (int16_t)(i * 2654435761u >> 16);
    }
    circnn_model_run(&model, input, output, arena);
    return 0;
}
