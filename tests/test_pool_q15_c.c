/*
 * test_pool_q15_c.c - circnn_avgpool2d_q15 against an independent int64
 * oracle: per output the sum of the input pixels inside the input, then
 * floor((2 * sum + count) / (2 * count)) by floor division in int64
 * (circnn/layers.h's definition).  The kernel computes it in 32 bits
 * (src/pool.c: the sums are exact in int32 for every window a
 * circnn_window_t holds, up to 255 x 255, and one unsigned division
 * floors): random windows (kernels 1 to 9, strides 1 to 3, 'same' and
 * 'valid', 1 to 40 channels: more than one chunk of 16), full-range,
 * quiet and constant inputs, and the largest window, 255 x 255 as one
 * global average, at both extremes (sums of -32768 and 32767 * 65025, a
 * hair below 2^31) and with every tie of the rounding.
 */
#include "circnn/circnn.h"
#include "c_test_util.h"

static long outputs = 0;

static int16_t oracle(const circnn_window_t *g, const int16_t *x, uint32_t oy, uint32_t ox, uint32_t c)
{
    int64_t sum = 0, count = 0;
    for (uint32_t a = 0; a < g->kernel_h; a++)
        for (uint32_t b = 0; b < g->kernel_w; b++) {
            const int64_t iy = (int64_t)oy * g->stride + a - g->pad_top;
            const int64_t ix = (int64_t)ox * g->stride + b - g->pad_left;
            if (iy < 0 || ix < 0 || iy >= g->in_h || ix >= g->in_w) continue;
            sum += x[((size_t)iy * g->in_w + (size_t)ix) * g->in_c + c];
            count++;
        }
    if (count == 0) return 0;
    const int64_t num = 2 * sum + count, den = 2 * count;
    int64_t q = num / den;
    if (num % den != 0 && num < 0) q -= 1;
    return (int16_t)q;
}

static void check_layer(const circnn_window_t *g, const int16_t *x, const char *what)
{
    const size_t ny = (size_t)g->out_h * g->out_w * g->in_c;
    guarded_t gy;
    int16_t *y = (int16_t *)guarded_alloc(&gy, ny * sizeof(int16_t));
    circnn_avgpool2d_q15(g, x, y);
    for (uint32_t oy = 0; oy < g->out_h; oy++)
        for (uint32_t ox = 0; ox < g->out_w; ox++)
            for (uint32_t c = 0; c < g->in_c; c++) {
                const int16_t want = oracle(g, x, oy, ox, c), got = y[((size_t)oy * g->out_w + ox) * g->in_c + c];
                CHECK(got == want, "%s %ux%u k %ux%u s %u, output (%u, %u, %u): %d, want %d", what, g->in_h, g->in_w,
                      g->kernel_h, g->kernel_w, g->stride, oy, ox, c, got, want);
                outputs++;
            }
    CHECK(guarded_intact(&gy), "%s: write outside the output", what);
    guarded_free(&gy);
}

static circnn_window_t window(uint32_t h, uint32_t w, uint32_t c, uint32_t kh, uint32_t kw, uint32_t s, uint32_t pad)
{
    circnn_window_t g;
    memset(&g, 0, sizeof g);
    g.in_h = (uint16_t)h, g.in_w = (uint16_t)w, g.in_c = g.out_c = (uint16_t)c;
    g.kernel_h = (uint8_t)kh, g.kernel_w = (uint8_t)kw, g.stride = (uint8_t)s;
    if (circnn_window_geometry(&g, pad) != CIRCNN_OK) g.out_h = 0;
    return g;
}

int main(void)
{
    rng_t r = rng_seed(23);
    for (int i = 0; i < 300; i++) {
        const uint32_t kh = (uint32_t)rng_int(&r, 1, 9), kw = (uint32_t)rng_int(&r, 1, 9);
        circnn_window_t g = window((uint32_t)rng_int(&r, (int32_t)kh, 14), (uint32_t)rng_int(&r, (int32_t)kw, 14),
                                   (uint32_t)rng_int(&r, 1, 40), kh, kw, (uint32_t)rng_int(&r, 1, 3),
                                   rng_next(&r) & 1u);
        if (g.out_h == 0) continue;
        const size_t nx = (size_t)g.in_h * g.in_w * g.in_c;
        int16_t *x = (int16_t *)xmalloc(nx * sizeof(int16_t));
        const int kind = i % 4;
        for (size_t j = 0; j < nx; j++) {
            const uint32_t u = rng_next(&r);
            x[j] = kind == 0 ? (int16_t)(uint16_t)(u >> 16)
                 : kind == 1 ? (int16_t)((int32_t)(u >> 16) % 7 - 3)
                 : kind == 2 ? (int16_t)-32768 : (int16_t)32767;
        }
        check_layer(&g, x, "random");
        free(x);
    }
    /* the largest window a circnn_window_t holds, as one global average */
    circnn_window_t g = window(255, 255, 2, 255, 255, 1, CIRCNN_PAD_VALID);
    CHECK(g.out_h == 1 && g.out_w == 1, "255 x 255 window");
    int16_t *x = (int16_t *)xmalloc((size_t)255 * 255 * 2 * sizeof(int16_t));
    const int16_t fills[][2] = {{-32768, 32767}, {32767, -32768}, {-1, 1}, {0, -32767}};
    for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
        for (size_t j = 0; j < (size_t)255 * 255; j++) x[2 * j] = fills[f][0], x[2 * j + 1] = fills[f][1];
        check_layer(&g, x, "255x255 constant");
    }
    /* every remainder r of sum = q count + r, ties included: one pixel varied */
    for (int32_t d = -65025; d <= 65025; d += 17) {
        for (size_t j = 0; j < (size_t)255 * 255 * 2; j++) x[j] = (int16_t)(j & 1u ? -32768 : 32767);
        int32_t v = 32767 - (d < 0 ? -d : d) / 2;
        x[0] = (int16_t)(v < -32768 ? -32768 : v);
        x[1] = (int16_t)(-32768 + (d < 0 ? -d : d) % 65536 / 2);
        check_layer(&g, x, "255x255 remainders");
    }
    free(x);
    CHECK(outputs > 20000, "%ld outputs", outputs);
    return test_summary("test_pool_q15_c");
}
