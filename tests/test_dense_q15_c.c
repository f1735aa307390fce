/*
 * test_dense_q15_c.c - the DSP-extension circnn_dense_q15 (SMLALD, two
 * outputs a step) against the plain reference, bit for bit, on the host.
 *
 * dense.c is compiled a second time in this file with CIRCNN_DSP_EMULATE
 * (the DSP kernel on the exact C emulations of the instructions, as on a
 * Cortex-M4/M7/M33) under other names; the library's own build is the
 * plain loop.  Both are compared with each other and with an independent
 * oracle (the exact int64 sum, circnn_requant_q15, the ReLU) on random
 * layers: 1 to 40 inputs (every remainder of the eight-input step) and the
 * demo head's 3136, 1 to 9 outputs (odd and even), weight exponents from
 * -50 to 2, bias or none (the int32 extremes too), ReLU or not, and inputs
 * and weights full-range, quiet, or all -32768 (the largest sums: 3136
 * products of 2^30 need 42 bits, which a 32-bit accumulator would wrap).
 * Outputs are written inside guard zones.  On QEMU the native instructions
 * run the same code (tests/test_firmware.py checks their bits there).
 */
#define CIRCNN_DSP_EMULATE 1
#define circnn_dense_q15 dsp_dense_q15
#define circnn_dense_f32 dsp_dense_f32
#include "dense.c"
#undef circnn_dense_q15
#undef circnn_dense_f32

#if !CIRCNN_DSP
#error "the DSP variant is not compiled in"
#endif

#include "c_test_util.h"

/* The library's build, declared with the header's name (the macro above is gone). */
void circnn_dense_q15(const circnn_dense_q15_t *layer, const int16_t *x, int16_t *y);

static int16_t draw16(rng_t *r, int kind)
{
    uint32_t u = rng_next(r);
    switch (kind) {
    case 0: return (int16_t)-32768;
    case 1: return (int16_t)((int32_t)(u >> 16) % 300 - 150);
    default:
        if ((u & 7u) == 0) return (int16_t)-32768;
        if ((u & 7u) == 1) return (int16_t)32767;
        return (int16_t)(uint16_t)(u >> 16);
    }
}

static long layers = 0;

static void one_layer(rng_t *r, uint32_t n, uint32_t m, int32_t e, int kind, int bias_kind, int relu)
{
    int16_t *w = (int16_t *)xmalloc((size_t)n * m * sizeof(int16_t));
    /* the input one element past an aligned start: the DSP kernel loads
     * unaligned pairs, as the cores with the extension allow */
    int16_t *xbuf = (int16_t *)xmalloc(((size_t)n + 1u) * sizeof(int16_t)), *x = xbuf + 1;
    int32_t *bias = (int32_t *)xmalloc(m * sizeof(int32_t));
    guarded_t gy[2];
    int16_t *y[2];
    for (int i = 0; i < 2; i++) y[i] = (int16_t *)guarded_alloc(&gy[i], m * sizeof(int16_t));
    for (size_t i = 0; i < (size_t)n * m; i++) w[i] = draw16(r, kind);
    for (uint32_t i = 0; i < n; i++) x[i] = draw16(r, kind);
    for (uint32_t o = 0; o < m; o++) {
        uint32_t u = rng_next(r);
        bias[o] = bias_kind == 2 ? ((u & 1u) ? INT32_MAX : INT32_MIN) : (int32_t)u >> (u % 24u);
    }
    circnn_dense_q15_t layer = {n, m, (uint32_t)relu, w, e, bias_kind ? bias : NULL};
    circnn_dense_q15(&layer, x, y[0]);
    dsp_dense_q15(&layer, x, y[1]);
    for (uint32_t o = 0; o < m; o++) {
        int64_t acc = 0;
        for (uint32_t i = 0; i < n; i++) acc += (int64_t)w[(size_t)o * n + i] * x[i];
        int16_t want = circnn_requant_q15(acc, e, bias_kind ? bias[o] : 0);
        if (relu && want < 0) want = 0;
        CHECK(y[0][o] == want, "reference n=%u m=%u e=%d output %u: %d, want %d", n, m, e, o, y[0][o], want);
        CHECK(y[1][o] == want, "DSP n=%u m=%u e=%d kind=%d bias=%d relu=%d output %u: %d, want %d", n, m, e, kind,
              bias_kind, relu, o, y[1][o], want);
    }
    for (int i = 0; i < 2; i++) {
        CHECK(guarded_intact(&gy[i]), "n=%u m=%u: write outside the output", n, m);
        guarded_free(&gy[i]);
    }
    free(w);
    free(xbuf);
    free(bias);
    layers++;
}

int main(void)
{
    rng_t r = rng_seed(17);
    for (uint32_t n = 1; n <= 40; n++)
        for (uint32_t m = 1; m <= 9; m++)
            one_layer(&r, n, m, rng_int(&r, -50, 2), (int)(rng_next(&r) % 3u), (int)(rng_next(&r) % 3u),
                      (int)(rng_next(&r) & 1u));
    for (int kind = 0; kind < 3; kind++)
        for (int relu = 0; relu < 2; relu++) {
            one_layer(&r, 3136, 10, -30 - kind, kind, 1, relu);   /* the demo's head */
            one_layer(&r, 3136, 3, -45, kind, 2, relu);
            one_layer(&r, 1023, 5, rng_int(&r, -50, 2), kind, 0, relu);
        }
    CHECK(layers == 40 * 9 + 18, "%ld layers", layers);
    return test_summary("test_dense_q15_c");
}
