/*
 * test_compat_c.c - the firmware headers of an earlier circnn (tests/compat,
 * format versions 1 to 8) still compile against the runtime, hold the bytes of
 * their .circ files, and give exactly the outputs recorded when they were
 * written (tests/compat/make_compat.py), in an arena of exactly the size
 * their header states (heap: the sanitizer build sees any access past it),
 * and one byte less is refused.  Argument: the tests/compat folder.
 */
#include "circnn/circnn.h"
#include "c_test_util.h"

#include "f32.h"
#include "f32_argmax.h"
#include "q15.h"
#include "q15_argmax.h"
#include "f32_v2.h"
#include "q15_v2.h"
#include "q15_v3.h"
#include "q15_v4.h"
#include "f32_v5.h"
#include "q15_v5.h"
#include "q15_v6.h"
#include "f32_v7.h"
#include "q15_v7.h"
#include "f32_v8.h"
#include "q15_v8.h"

static const char *folder;

/* The bytes of folder/name into a new buffer; *bytes gets the length. */
static uint8_t *read_file(const char *name, size_t *bytes)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("cannot open %s\n", path);
        exit(2);
    }
    uint8_t *data = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (used == cap) {
            cap = cap ? 2 * cap : 4096;
            data = (uint8_t *)realloc(data, cap);
            if (!data) exit(2);
        }
        size_t got = fread(data + used, 1, cap - used, f);
        used += got;
        if (got == 0) break;
    }
    fclose(f);
    *bytes = used;
    return data;
}

typedef struct {
    const char *name;
    const uint8_t *blob;
    uint32_t blob_bytes, arena_bytes, dtype, input_count, output_count;
} compat_t;

static void check_model(const compat_t *c)
{
    char file[256];
    size_t n;
    snprintf(file, sizeof file, "%s.circ", c->name);
    uint8_t *circ = read_file(file, &n);
    CHECK(n == c->blob_bytes && memcmp(circ, c->blob, n) == 0, "%s: the header's blob is not %s", c->name, file);
    free(circ);

    circnn_model_t m;
    /* exactly the bytes asked for; malloc: aligned for any type, 8 bytes at least */
    void *arena = malloc(c->arena_bytes ? c->arena_bytes : 1u);
    circnn_status_t s = c->arena_bytes ? circnn_model_init(&m, c->blob, c->blob_bytes, arena, c->arena_bytes - 1u)
                                       : CIRCNN_ERR_ARENA;
    CHECK(s == CIRCNN_ERR_ARENA, "%s: an arena one byte short: %s", c->name, circnn_status_string(s));
    s = circnn_model_init(&m, c->blob, c->blob_bytes, arena, c->arena_bytes);
    CHECK(s == CIRCNN_OK, "%s: refused with %s", c->name, circnn_status_string(s));
    if (s != CIRCNN_OK) {
        free(arena);
        return;
    }
    CHECK(m.dtype == c->dtype && m.arena_bytes == c->arena_bytes && m.input_count == c->input_count &&
              m.output_count == c->output_count,
          "%s: the model's figures differ from the header's macros", c->name);

    const size_t es = c->dtype == CIRCNN_DTYPE_F32 ? 4u : 2u;
    size_t in_bytes, out_bytes;
    snprintf(file, sizeof file, "%.3s_input.bin", c->name);
    uint8_t *x = read_file(file, &in_bytes);
    snprintf(file, sizeof file, "%s_output.bin", c->name);
    uint8_t *want = read_file(file, &out_bytes);
    const size_t samples = in_bytes / (c->input_count * es);
    CHECK(samples > 0 && in_bytes == samples * c->input_count * es && out_bytes == samples * c->output_count * es,
          "%s: test vectors of %zu and %zu bytes", c->name, in_bytes, out_bytes);
    uint8_t *y = (uint8_t *)malloc(c->output_count * es);
    for (size_t i = 0; i < samples && out_bytes == samples * c->output_count * es; i++) {
        /* the vectors are little-endian, as is every CPU circnn runs on */
        circnn_model_run(&m, x + i * c->input_count * es, y, arena);
        CHECK(memcmp(y, want + i * c->output_count * es, c->output_count * es) == 0,
              "%s: sample %zu differs from the recorded output", c->name, i);
    }
    free(y);
    free(want);
    free(x);
    free(arena);
}

#define COMPAT(name, NAME)                                                                                    \
    {                                                                                                         \
        #name, compat_##name##_blob, COMPAT_##NAME##_BLOB_BYTES, COMPAT_##NAME##_ARENA_BYTES,               \
            COMPAT_##NAME##_DTYPE, COMPAT_##NAME##_INPUT_COUNT, COMPAT_##NAME##_OUTPUT_COUNT                  \
    }

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: test_compat_c TESTS/COMPAT\n");
        return 2;
    }
    folder = argv[1];
    const compat_t models[] = {COMPAT(q15, Q15), COMPAT(q15_argmax, Q15_ARGMAX), COMPAT(f32, F32),
                               COMPAT(f32_argmax, F32_ARGMAX), COMPAT(q15_v2, Q15_V2), COMPAT(f32_v2, F32_V2),
                               COMPAT(q15_v3, Q15_V3), COMPAT(q15_v4, Q15_V4), COMPAT(q15_v5, Q15_V5),
                               COMPAT(f32_v5, F32_V5), COMPAT(q15_v6, Q15_V6),
                               COMPAT(q15_v7, Q15_V7), COMPAT(f32_v7, F32_V7), COMPAT(q15_v8, Q15_V8),
                               COMPAT(f32_v8, F32_V8)};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) check_model(&models[i]);
    return test_summary("test_compat_c");
}
