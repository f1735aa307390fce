/*
 * test_config_c.c - the model runtime (src/model.c, src/model_run.c)
 * compiled again with options of circnn/config.h set to 0 (tests/meson.build
 * builds this file six times: q15 without f32, depthwise, softmax and
 * argmax, transforms of 4 and 8 points (their straight-line code alone);
 * f32 without q15; transforms of 8 points alone; of 4 points alone; without
 * the OHWI conv2d kernels; without the fused max pool), with src/fft_q15.c and src/conv2d_q15.c: a blob that needs something compiled
 * out is refused with CIRCNN_ERR_DISABLED, every other one runs and gives
 * exactly the outputs recorded for it (tests/compat: block sizes 4 and 8).
 * Argument: the tests/compat folder.
 */
#include "circnn/circnn.h"
#include "c_test_util.h"
#include "twiddle.h"

static const char *folder;

static uint8_t *read_file(const char *name, size_t *bytes)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* malloc's alignment (8 at least) serves the blob's 4 and the arena's 8 */
    uint8_t *data = (uint8_t *)malloc(n > 0 ? (size_t)n : 1u);
    if (!data || n < 0 || fread(data, 1, (size_t)n, f) != (size_t)n) exit(2);
    fclose(f);
    *bytes = (size_t)n;
    return data;
}

/* The compat model `name` (its .circ file) is refused with `want`
 * (CIRCNN_OK: it runs and gives its recorded outputs for the inputs of its
 * numeric type). */
static void check(const char *name, circnn_status_t want)
{
    char file[256];
    size_t n;
    snprintf(file, sizeof file, "%s.circ", name);
    uint8_t *blob = read_file(file, &n);
    circnn_model_t m;
    circnn_status_t s = circnn_model_init(&m, blob, n, NULL, 0);
    if (s == CIRCNN_ERR_ARENA) s = CIRCNN_OK;   /* asked the size */
    CHECK(s == want, "%s: %s, expected %s", name, circnn_status_string(s), circnn_status_string(want));
    if (s != CIRCNN_OK || want != CIRCNN_OK) {
        free(blob);
        return;
    }
    void *arena = malloc(m.arena_bytes + 8u);
    s = circnn_model_init(&m, blob, n, arena, m.arena_bytes);
    CHECK(s == CIRCNN_OK, "%s: %s with its arena", name, circnn_status_string(s));
    const size_t es = m.dtype == CIRCNN_DTYPE_F32 ? 4u : 2u;
    size_t in_bytes, out_bytes;
    snprintf(file, sizeof file, "%.3s_input.bin", name);
    uint8_t *x = read_file(file, &in_bytes);
    snprintf(file, sizeof file, "%s_output.bin", name);
    uint8_t *want_y = read_file(file, &out_bytes);
    const size_t samples = in_bytes / (m.input_count * es);
    CHECK(samples > 0 && out_bytes == samples * m.output_count * es, "%s: test vectors", name);
    uint8_t *y = (uint8_t *)malloc(m.output_count * es);
    for (size_t i = 0; i < samples && out_bytes == samples * m.output_count * es; i++) {
        circnn_model_run(&m, x + i * m.input_count * es, y, arena);
        CHECK(memcmp(y, want_y + i * m.output_count * es, m.output_count * es) == 0,
              "%s: sample %zu differs from the recorded output", name, i);
    }
    printf("%s: %zu samples bit-exact\n", name, samples);
    free(y);
    free(want_y);
    free(x);
    free(arena);
    free(blob);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: test_config_c TESTS/COMPAT\n");
        return 2;
    }
    folder = argv[1];
#if !CIRCNN_WITH_POOL2
    /* without the fused pool: the format-7 models that fuse one are refused, the others run */
    check("q15_v7", CIRCNN_ERR_DISABLED);
    check("f32_v7", CIRCNN_ERR_DISABLED);
    check("q15_v6", CIRCNN_OK);
    check("f32_v5", CIRCNN_OK);
#elif !CIRCNN_WITH_CONV2D_OHWI
    /* without the OHWI kernels the reference serves: the same outputs */
    check("q15_v6", CIRCNN_OK);
    check("q15_v5", CIRCNN_OK);
#elif CIRCNN_WITH_Q15 && !CIRCNN_WITH_F32 && !CIRCNN_WITH_DEPTHWISE_CONV2D && !CIRCNN_WITH_ARGMAX
    CHECK(CIRCNN_FFT_SIZES == 12, "sizes");
    check("q15", CIRCNN_OK);
    check("q15_argmax", CIRCNN_ERR_DISABLED);
    check("q15_v2", CIRCNN_ERR_DISABLED);
    check("f32", CIRCNN_ERR_DISABLED);
    check("f32_v2", CIRCNN_ERR_DISABLED);
#elif CIRCNN_WITH_F32 && CIRCNN_WITH_Q15 && (CIRCNN_FFT_SIZES == 8 || CIRCNN_FFT_SIZES == 4)
    /* every compat model has a block-circulant convolution of k = 4 and a
     * block-circulant dense layer of k = 8 */
    const char *names[] = {"q15", "q15_argmax", "q15_v2", "f32", "f32_argmax", "f32_v2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) check(names[i], CIRCNN_ERR_DISABLED);
#elif CIRCNN_WITH_F32 && !CIRCNN_WITH_Q15
    check("f32", CIRCNN_OK);
    check("f32_argmax", CIRCNN_OK);
    check("f32_v2", CIRCNN_OK);
    check("q15", CIRCNN_ERR_DISABLED);
    check("q15_v2", CIRCNN_ERR_DISABLED);
#else
#error "test_config_c.c: built with a configuration it has no expectations for"
#endif
    CHECK(strcmp(circnn_status_string(CIRCNN_ERR_DISABLED), "CIRCNN_ERR_DISABLED") == 0, "status string");
    /* the 8-point transforms' constant twiddle is the table's */
    int32_t c8, s8;
    circnn_twiddle_q15(CIRCNN_TWIDDLE_Q15_CIRCLE / 8u, &c8, &s8);
    CHECK(c8 == CIRCNN_TWIDDLE_EIGHTH_Q15 && s8 == CIRCNN_TWIDDLE_EIGHTH_Q15, "twiddle of pi / 4: %d %d", c8, s8);
    /* the transform sizes: those compiled in, the others refused, non-sizes as ever */
    for (uint32_t n = 2; n <= 1024; n *= 2)
        CHECK(circnn_fft_check(n) == ((CIRCNN_FFT_SIZES & n) ? CIRCNN_OK : CIRCNN_ERR_DISABLED), "n = %u", n);
    CHECK(circnn_fft_check(12) == CIRCNN_ERR_BLOCK_SIZE && circnn_fft_check(2048) == CIRCNN_ERR_BLOCK_SIZE,
          "non-sizes");
    return test_summary("test_config_c");
}
