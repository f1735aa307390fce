/*
 * runner.c - circnn's firmware test runner for Cortex-M under QEMU.
 *
 * Built by circnn.firmware (`circnn firmware build`) with two generated
 * headers in its include path:
 *   model.h    the exported model (circnn.ExportedModel.write_header,
 *              name "model"): model_blob, MODEL_* macros
 *   vectors.h  the test vectors: VECTORS_COUNT inputs and the outputs the
 *              Python simulator (q15) or the host C engine (f32) gives for
 *              them, as raw bit patterns (VECTORS_ELEM_BITS 16 or 32)
 *
 * It initialises the model, runs every vector between the inference
 * markers, compares each output with the expected one bit for bit, then
 * runs vector 0 once more through circnn_model_run_layers (the same loop
 * compiled with a marker pair around each layer, see layer_hooks.h) for
 * per-layer counts, and prints one sentinel line:
 *
 *   circnn-runner: N passed, M failed
 *
 * (N + M = VECTORS_COUNT + 1: the per-layer run is checked as well.)
 *
 * Exit status (semihosting): 0 all passed, 1 a vector differs, 2 the
 * runtime refused the model; a fault exits 127 (targets/startup/startup.c).
 */
#include <stdint.h>
#include <string.h>

#include "circnn/model.h"
#include "markers.h"
#include "model.h"
#include "semihost.h"
#include "vectors.h"

#if VECTORS_ELEM_BITS == 16
typedef uint16_t elem_t;
#elif VECTORS_ELEM_BITS == 32
typedef uint32_t elem_t;
#else
#error "vectors.h: VECTORS_ELEM_BITS must be 16 (q15) or 32 (f32)"
#endif

#if VECTORS_INPUT_COUNT != MODEL_INPUT_COUNT || VECTORS_OUTPUT_COUNT != MODEL_OUTPUT_COUNT
#error "vectors.h does not match model.h: regenerate both with circnn firmware build"
#endif

/* Where the mismatches reported in detail stop. */
#define REPORT_LIMIT 8

void circnn_model_run_layers(const circnn_model_t *model, const void *input, void *output, void *arena);

static uint64_t arena[(MODEL_ARENA_BYTES + 7u) / 8u];
/* uint64_t storage: aligned for int16_t and float alike. */
static uint64_t input[(VECTORS_INPUT_COUNT * sizeof(elem_t) + 7u) / 8u];
static uint64_t output[(VECTORS_OUTPUT_COUNT * sizeof(elem_t) + 7u) / 8u];

static char *put_text(char *p, const char *s)
{
    while (*s) *p++ = *s++;
    return p;
}

static char *put_uint(char *p, uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) *p++ = digits[--n];
    return p;
}

static char *put_hex(char *p, uint32_t v, int nibbles)
{
    *p++ = '0';
    *p++ = 'x';
    while (nibbles--) *p++ = "0123456789abcdef"[(v >> (4 * nibbles)) & 0xFu];
    return p;
}

static void finish_line(char *line, char *p)
{
    *p++ = '\n';
    *p = '\0';
    semihost_write0(line);
}

/* Compare output with vector v's expected bits; report the first mismatch. */
static int check(uint32_t v, const char *what, uint32_t *reported)
{
    for (uint32_t i = 0; i < VECTORS_OUTPUT_COUNT; i++) {
        elem_t got;
        memcpy(&got, (const unsigned char *)output + i * sizeof got, sizeof got);
        if (got == vectors_expected[v][i]) continue;
        if (*reported < REPORT_LIMIT) {
            char line[128], *p = line;
            p = put_text(p, "circnn-runner: MISMATCH ");
            p = put_text(p, what);
            p = put_text(p, " vector ");
            p = put_uint(p, v);
            p = put_text(p, " output ");
            p = put_uint(p, i);
            p = put_text(p, ": got ");
            p = put_hex(p, got, 2 * (int)sizeof(elem_t));
            p = put_text(p, ", expected ");
            p = put_hex(p, vectors_expected[v][i], 2 * (int)sizeof(elem_t));
            finish_line(line, p);
            ++*reported;
        }
        return 0;
    }
    return 1;
}

int main(void)
{
    char line[128], *p;
    circnn_model_t model;
    circnn_status_t status = circnn_model_init(&model, model_blob, MODEL_BLOB_BYTES, arena, sizeof arena);
    if (status != CIRCNN_OK) {
        p = put_text(line, "circnn-runner: circnn_model_init refused the model: ");
        p = put_text(p, circnn_status_string(status));
        finish_line(line, p);
        return 2;
    }

    p = put_text(line, "circnn-runner: ");
    p = put_uint(p, VECTORS_COUNT);
    p = put_text(p, " vectors, ");
    p = put_uint(p, model.layer_count);
    p = put_text(p, " layers, arena ");
    p = put_uint(p, model.arena_bytes);
    p = put_text(p, " bytes");
    finish_line(line, p);

    /* The markers' own cost, measured once. */
    circnn_mark_empty_begin();
    circnn_mark_empty_end();

    uint32_t passed = 0, failed = 0, reported = 0;
    for (uint32_t v = 0; v < VECTORS_COUNT; v++) {
        memcpy(input, vectors_input[v], sizeof vectors_input[v]);
        memset(output, 0x5a, sizeof output);
        circnn_mark_inference_begin();
        circnn_model_run(&model, input, output, arena);
        circnn_mark_inference_end();
        if (check(v, "inference", &reported))
            passed++;
        else
            failed++;
    }

    /* Per-layer counts: vector 0 through the instrumented copy (checked too). */
    memcpy(input, vectors_input[0], sizeof vectors_input[0]);
    memset(output, 0x5a, sizeof output);
    circnn_model_run_layers(&model, input, output, arena);
    if (check(0, "per-layer run", &reported))
        passed++;
    else
        failed++;

    p = put_text(line, "circnn-runner: ");
    p = put_uint(p, passed);
    p = put_text(p, " passed, ");
    p = put_uint(p, failed);
    p = put_text(p, " failed");
    finish_line(line, p);
    return failed ? 1 : 0;
}
