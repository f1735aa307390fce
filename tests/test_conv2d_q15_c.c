/*
 * test_conv2d_q15_c.c - circnn_conv2d_q15's fast kernels against its plain
 * reference (circnn_conv2d_q15_reference), bit for bit, on the host.
 *
 * First the shifted output stage of src/requant_q15.h against
 * circnn_requant_q15 itself: every exponent it takes, sums of up to its
 * limit of products (the extremes included), every kind of bias.  Then
 * conv2d_q15.c is compiled a second time in this file with
 * CIRCNN_DSP_EMULATE (the DSP-extension kernels, as on a Cortex-M4/M7/M33,
 * on the exact C emulations of the instructions) under other names; the
 * library's own build is the portable one.  Both are compared with the
 * reference on random layers, with HWIO weights and with the same weights
 * OHWI (the reference's OHWI reading included): 1 to 5, 7, 16 and 33 input
 * channels (odd ones: runs that end in a single value), 1 to 19 output
 * channels (not multiples of four too), kernels from 1x1 to 5x5 (and 1x7,
 * 4x4, 6x3: more than 16 taps), stride 1 to 3, 'same' and 'valid' padding,
 * weight exponents from -50 to 2 (the shifted form and the reference's
 * fallback), bias or none (the int32 extremes too), ReLU or not, inputs and
 * weights full-range, quiet, or all -32768 (the largest sums).
 */
#define CIRCNN_DSP_EMULATE 1
#define circnn_conv2d_q15 dsp_conv2d_q15
#define circnn_conv2d_q15_ohwi dsp_conv2d_q15_ohwi
#define circnn_conv2d_q15_reference dsp_conv2d_q15_reference
#include "conv2d_q15.c"
#undef circnn_conv2d_q15
#undef circnn_conv2d_q15_ohwi
#undef circnn_conv2d_q15_reference

#if !CIRCNN_DSP
#error "the DSP variant is not compiled in"
#endif

#include "circnn/window.h"
#include "c_test_util.h"

void circnn_conv2d_q15(const circnn_conv2d_q15_t *layer, const int16_t *x, int16_t *y);
void circnn_conv2d_q15_ohwi(const circnn_conv2d_q15_t *layer, const int16_t *x, int16_t *y);
void circnn_conv2d_q15_reference(const circnn_conv2d_q15_t *layer, int ohwi, const int16_t *x, int16_t *y);

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

static void test_requant(void)
{
    rng_t r = rng_seed(11);
    const int32_t biases[] = {0, 1, -1, 32767, -32768, 32768, INT32_MAX, INT32_MIN, INT32_MAX - 32767,
                              INT32_MIN + 32768, 123456789, -987654321};
    long tried = 0;
    for (int32_t e = -50; e <= 2; e++) {
        for (uint32_t pe = 0; pe <= 16; pe++) {
            const uint64_t products = (uint64_t)1 << pe;
            const int32_t s = circnn_requant_shift(e, products);
            const int applies = e >= -46 && e <= -1 && pe <= (uint32_t)(-e < 16 ? -e : 16);
            CHECK((s != 0) == applies, "requant shift e=%d P=2^%u: %d", e, pe, s);
            if (!s) continue;
            const int64_t limit = (int64_t)products << 30;
            for (int i = 0; i < 400; i++) {
                int64_t v;
                switch (i % 5) {
                case 0: v = limit - (int64_t)(rng_next(&r) % 3u); break;
                case 1: v = -limit + (int64_t)(rng_next(&r) % 3u) * 32768; break;
                case 2: v = (int64_t)rng_int(&r, -70000, 70000) * ((int64_t)1 << (rng_next(&r) % 20u)); break;
                default: v = (int64_t)(((uint64_t)rng_next(&r) << 32 | rng_next(&r)) % (uint64_t)(2 * limit + 1)) - limit;
                }
                if (v > limit || v < -limit) v %= limit;   /* |v| <= P 2^30: the form's premise */
                int32_t bias = (i & 1) ? biases[(uint32_t)i / 2u % 12u] : (int32_t)rng_next(&r);
                const int64_t w = v + circnn_requant_offset(bias, s);
                for (int relu = 0; relu < 2; relu++) {
                    int16_t want = circnn_requant_q15(v, e, bias);
                    if (relu && want < 0) want = 0;
                    int32_t sh = s >= 32 ? circnn_requant_shifted(w, s, 1) : circnn_requant_shifted(w, s, 0);
                    int16_t got = relu ? circnn_requant_saturate(sh, 1) : circnn_requant_saturate(sh, 0);
                    CHECK(got == want, "requant e=%d v=%lld bias=%d relu=%d: %d, want %d", e, (long long)v, bias,
                          relu, got, want);
                    tried++;
                }
            }
        }
    }
    CHECK(tried > 10000, "requant: %ld cases", tried);
}

static void one_layer(rng_t *r, uint32_t in_c, uint32_t out_c, uint32_t kh, uint32_t kw, uint32_t stride,
                      uint32_t padding, int32_t e, int kind, int bias_kind, int relu)
{
    circnn_window_t g = {0};
    g.in_h = (uint16_t)rng_int(r, (int32_t)kh, 11);
    g.in_w = (uint16_t)rng_int(r, (int32_t)kw, 12);
    g.in_c = (uint16_t)in_c;
    g.out_c = (uint16_t)out_c;
    g.kernel_h = (uint8_t)kh;
    g.kernel_w = (uint8_t)kw;
    g.stride = (uint8_t)stride;
    if (circnn_window_geometry(&g, padding) != CIRCNN_OK) return;
    const size_t nw = (size_t)kh * kw * in_c * out_c, nx = (size_t)g.in_h * g.in_w * in_c;
    const size_t ny = (size_t)g.out_h * g.out_w * out_c;
    int16_t *w = (int16_t *)malloc(nw * sizeof *w), *x = (int16_t *)malloc(nx * sizeof *x);
    int32_t *bias = (int32_t *)malloc(out_c * sizeof *bias);
    int16_t *w_ohwi = (int16_t *)malloc(nw * sizeof *w_ohwi);
    guarded_t gy[6];
    int16_t *y[6];
    for (int i = 0; i < 6; i++) y[i] = (int16_t *)guarded_alloc(&gy[i], ny * sizeof(int16_t));
    if (!w || !x || !bias || !w_ohwi) {
        printf("out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < nw; i++) w[i] = draw16(r, kind);
    for (size_t i = 0; i < nx; i++) x[i] = draw16(r, kind);
    for (uint32_t c = 0; c < out_c; c++) {
        uint32_t u = rng_next(r);
        bias[c] = bias_kind == 2 ? ((u & 1u) ? INT32_MAX : INT32_MIN) : (int32_t)u >> (u % 24u);
    }
    /* The same weights OHWI: w_ohwi[c][tap][ci] = w[tap][ci][c]. */
    const size_t taps = (size_t)kh * kw;
    for (size_t t = 0; t < taps; t++)
        for (uint32_t ci = 0; ci < in_c; ci++)
            for (uint32_t c = 0; c < out_c; c++)
                w_ohwi[((size_t)c * taps + t) * in_c + ci] = w[(t * in_c + ci) * out_c + c];
    circnn_conv2d_q15_t layer = {g, (uint32_t)relu, w, e, bias_kind ? bias : NULL};
    circnn_conv2d_q15_t layer_ohwi = {g, (uint32_t)relu, w_ohwi, e, bias_kind ? bias : NULL};
    circnn_conv2d_q15_reference(&layer, 0, x, y[0]);
    circnn_conv2d_q15(&layer, x, y[1]);
    dsp_conv2d_q15(&layer, x, y[2]);
    circnn_conv2d_q15_reference(&layer_ohwi, 1, x, y[3]);
    circnn_conv2d_q15_ohwi(&layer_ohwi, x, y[4]);
    dsp_conv2d_q15_ohwi(&layer_ohwi, x, y[5]);
    static const char *const names[6] = {"", "portable", "DSP", "OHWI reference", "OHWI portable", "OHWI DSP"};
    for (int v = 1; v < 6; v++) {
        size_t bad = 0;
        for (size_t i = 0; i < ny; i++) bad += y[v][i] != y[0][i];
        CHECK(bad == 0, "conv2d q15 %s %ux%ux%u -> %u, %ux%u s%u pad%u e=%d kind %d bias %d relu %d: %zu of %zu differ",
              names[v], g.in_h, g.in_w, in_c, out_c, kh, kw, stride, padding, e, kind, bias_kind, relu, bad, ny);
    }
    for (int i = 0; i < 6; i++) {
        CHECK(guarded_intact(&gy[i]), "conv2d q15 variant %d wrote outside y", i);
        guarded_free(&gy[i]);
    }
    free(w), free(w_ohwi), free(x), free(bias);
}

static void test_conv2d(void)
{
    rng_t r = rng_seed(2026);
    const uint32_t kernels[][2] = {{1, 1}, {3, 3}, {2, 2}, {3, 1}, {1, 3}, {5, 3}, {4, 4}, {5, 5}, {1, 7}, {6, 3}, {2, 3}};
    const uint32_t channels[] = {1, 1, 2, 3, 5, 7, 16, 33};
    for (int rep = 0; rep < 6; rep++)
        for (size_t kk = 0; kk < sizeof kernels / sizeof kernels[0]; kk++)
            for (size_t cc = 0; cc < sizeof channels / sizeof channels[0]; cc++) {
                const uint32_t out_c = (uint32_t)rng_int(&r, 1, 19);
                const uint32_t stride = (uint32_t)rng_int(&r, 1, 3);
                const uint32_t padding = (rng_next(&r) & 1u) ? CIRCNN_PAD_SAME : CIRCNN_PAD_VALID;
                const int32_t e = rep == 0 ? -15 : rng_int(&r, -50, 2);
                const int kind = (int)(rng_next(&r) % 5u) == 0 ? 0 : (int)(rng_next(&r) % 3u);
                one_layer(&r, channels[cc], out_c, kernels[kk][0], kernels[kk][1], stride, padding, e, kind,
                          (int)(rng_next(&r) % 3u), (int)(rng_next(&r) & 1u));
            }
    /* The demo's first layer: 28x28x1 -> 16, 3x3, same, the exponents around its -15. */
    for (int32_t e = -20; e <= -10; e++) one_layer(&r, 1, 16, 3, 3, 1, CIRCNN_PAD_SAME, e, 2, 1, 1);
}

int main(void)
{
    test_requant();
    test_conv2d();
    return test_summary("test_conv2d_q15_c");
}
