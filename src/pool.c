/* Max and average pooling, f32 and q15 (contract: circnn/layers.h). */
#include "circnn/layers.h"
#include "dsp_q15.h"
#include "pool2.h"
#include "window_taps.h"

/* q15 average pooling: channels summed together (int64 sums on the stack). */
#define POOL_Q15_CHUNK 16u

/* The taps of output pixel (oy, ox) inside the input: rows [*a0, *a1),
 * columns [*b0, *b1). */
static void pixel_taps(const circnn_window_t *g, uint32_t oy, uint32_t ox, uint32_t *a0, uint32_t *a1, uint32_t *b0,
                       uint32_t *b1)
{
    circnn_window_taps(oy, g->stride, g->pad_top, g->kernel_h, g->in_h, a0, a1);
    circnn_window_taps(ox, g->stride, g->pad_left, g->kernel_w, g->in_w, b0, b1);
}

/* Offset of input pixel (oy * stride + a - pad_top, ox * stride + b - pad_left). */
static size_t input_offset(const circnn_window_t *g, uint32_t oy, uint32_t ox, uint32_t a, uint32_t b)
{
    const uint32_t iy = oy * g->stride + a - g->pad_top;
    const uint32_t ix = ox * g->stride + b - g->pad_left;
    return ((size_t)iy * g->in_w + ix) * g->in_c;
}

/* 2x2 windows, stride 2, no padding (what a fused pool and MaxPool2d(2)
 * run; is_2x2): every window inside the input, so no tap ranges; the four
 * values compared in the general loop's order (the same result, also for a
 * float NaN or a signed zero).  With the DSP extension an even number of q15
 * channels goes two a word (SSUB16 and SEL). */
#define MAXPOOL2X2(T)                                                                             \
    const uint32_t c = g->in_c;                                                                   \
    const size_t row = (size_t)g->in_w * c;                                                       \
    for (uint32_t oy = 0; oy < g->out_h; oy++) {                                                  \
        const T *x0 = x + 2u * oy * row;                                                          \
        for (uint32_t ox = 0; ox < g->out_w; ox++, x0 += 2u * c, y += c) {                        \
            const T *x1 = x0 + c, *x2 = x0 + row, *x3 = x2 + c;                                   \
            for (uint32_t k = 0; k < c; k++) {                                                    \
                T m = x0[k];                                                                      \
                if (x1[k] > m) m = x1[k];                                                         \
                if (x2[k] > m) m = x2[k];                                                         \
                if (x3[k] > m) m = x3[k];                                                         \
                y[k] = m;                                                                         \
            }                                                                                     \
        }                                                                                         \
    }

/* 2x2 windows of stride 2 that all lie inside the input (no padding on any
 * side: "same" padding of an odd size pads below and right only). */
static int is_2x2(const circnn_window_t *g)
{
    return g->kernel_h == 2u && g->kernel_w == 2u && g->stride == 2u && g->pad_top == 0u && g->pad_left == 0u &&
           2u * (uint32_t)g->out_h <= g->in_h && 2u * (uint32_t)g->out_w <= g->in_w;
}

void circnn_maxpool2x2_f32(const circnn_window_t *g, const float *x, float *y)
{
    MAXPOOL2X2(float)
}

void circnn_maxpool2x2_q15(const circnn_window_t *g, const int16_t *x, int16_t *y)
{
#if CIRCNN_DSP
    if (g->in_c % 2u == 0u) {   /* two channels a word (the largest of four values, in any order) */
        const uint32_t c = g->in_c;
        const size_t row = (size_t)g->in_w * c;
        for (uint32_t oy = 0; oy < g->out_h; oy++) {
            const int16_t *x0 = x + 2u * oy * row;
            for (uint32_t ox = 0; ox < g->out_w; ox++, x0 += 2u * c, y += c) {
                const int16_t *x2 = x0 + row;
                for (uint32_t k = 0; k < c; k += 2u) {
                    const uint32_t top = circnn_max16x2(circnn_load_pair(x0 + k), circnn_load_pair(x0 + c + k));
                    const uint32_t bottom = circnn_max16x2(circnn_load_pair(x2 + k), circnn_load_pair(x2 + c + k));
                    circnn_store_pair(y + k, circnn_max16x2(top, bottom));
                }
            }
        }
        return;
    }
#endif
    MAXPOOL2X2(int16_t)
}

/* Max pooling, written once for both element types: an output pixel whose
 * window lies wholly in the padding is 0; windows of 2x2 inside the input
 * take circnn_maxpool2x2_*. */
#define MAXPOOL2D(T, NAME_2X2)                                                                    \
    if (is_2x2(g)) {                                                                              \
        NAME_2X2(g, x, y);                                                                        \
        return;                                                                                   \
    }                                                                                             \
    const uint32_t c = g->in_c;                                                                   \
    for (uint32_t oy = 0; oy < g->out_h; oy++) {                                                  \
        for (uint32_t ox = 0; ox < g->out_w; ox++) {                                              \
            uint32_t a0, a1, b0, b1;                                                              \
            pixel_taps(g, oy, ox, &a0, &a1, &b0, &b1);                                            \
            T *yp = y + ((size_t)oy * g->out_w + ox) * c;                                         \
            if (a0 == a1 || b0 == b1) {                                                           \
                for (uint32_t k = 0; k < c; k++) yp[k] = (T)0;                                    \
                continue;                                                                         \
            }                                                                                     \
            const T *first = x + input_offset(g, oy, ox, a0, b0);                                 \
            for (uint32_t k = 0; k < c; k++) yp[k] = first[k];                                    \
            for (uint32_t a = a0; a < a1; a++)                                                    \
                for (uint32_t b = b0; b < b1; b++) {                                              \
                    const T *xp = x + input_offset(g, oy, ox, a, b);                              \
                    for (uint32_t k = 0; k < c; k++)                                              \
                        if (xp[k] > yp[k]) yp[k] = xp[k];                                         \
                }                                                                                 \
        }                                                                                         \
    }

void circnn_maxpool2d_f32(const circnn_window_t *g, const float *x, float *y)
{
    MAXPOOL2D(float, circnn_maxpool2x2_f32)
}

void circnn_maxpool2d_q15(const circnn_window_t *g, const int16_t *x, int16_t *y)
{
    MAXPOOL2D(int16_t, circnn_maxpool2x2_q15)
}

void circnn_avgpool2d_f32(const circnn_window_t *g, const float *x, float *y)
{
    const uint32_t c = g->in_c;
    for (uint32_t oy = 0; oy < g->out_h; oy++) {
        for (uint32_t ox = 0; ox < g->out_w; ox++) {
            uint32_t a0, a1, b0, b1;
            pixel_taps(g, oy, ox, &a0, &a1, &b0, &b1);
            float *yp = y + ((size_t)oy * g->out_w + ox) * c;
            for (uint32_t k = 0; k < c; k++) yp[k] = 0.0f;
            if (a0 == a1 || b0 == b1) continue;
            for (uint32_t a = a0; a < a1; a++)
                for (uint32_t b = b0; b < b1; b++) {
                    const float *xp = x + input_offset(g, oy, ox, a, b);
                    for (uint32_t k = 0; k < c; k++) yp[k] += xp[k];
                }
            const float count = (float)((a1 - a0) * (b1 - b0));
            for (uint32_t k = 0; k < c; k++) yp[k] /= count;
        }
    }
}

/* floor((2 * sum + count) / (2 * count)), the mean rounded half up, in 32
 * bits: count <= 255 * 255 (the window), so |sum| <= 32768 count < 2^31,
 * and with sum = q count + r (0 <= r < count) both that and
 * floor((sum + floor(count / 2)) / count) are q + [r >= ceil(count / 2)].
 * The offset 32768 count makes the dividend non-negative (at most 65536
 * count < 2^32), so one unsigned division floors it (no 64-bit division
 * routine linked in).  count >= 1. */
static int16_t mean_half_up(int32_t sum, uint32_t count)
{
    const uint32_t num = (uint32_t)sum + 32768u * count + count / 2u;
    return (int16_t)((int32_t)(num / count) - 32768);   /* a mean of int16 values: within int16 */
}

void circnn_avgpool2d_q15(const circnn_window_t *g, const int16_t *x, int16_t *y)
{
    const uint32_t c = g->in_c;
    int32_t sum[POOL_Q15_CHUNK];   /* exact: at most 255 * 255 int16 values */
    for (uint32_t oy = 0; oy < g->out_h; oy++) {
        for (uint32_t ox = 0; ox < g->out_w; ox++) {
            uint32_t a0, a1, b0, b1;
            pixel_taps(g, oy, ox, &a0, &a1, &b0, &b1);
            int16_t *yp = y + ((size_t)oy * g->out_w + ox) * c;
            const uint32_t count = (a1 - a0) * (b1 - b0);
            for (uint32_t k0 = 0; k0 < c; k0 += POOL_Q15_CHUNK) {
                const uint32_t kn = c - k0 < POOL_Q15_CHUNK ? c - k0 : POOL_Q15_CHUNK;
                if (count == 0) {
                    for (uint32_t j = 0; j < kn; j++) yp[k0 + j] = 0;
                    continue;
                }
                for (uint32_t j = 0; j < kn; j++) sum[j] = 0;
                for (uint32_t a = a0; a < a1; a++)
                    for (uint32_t b = b0; b < b1; b++) {
                        const int16_t *xp = x + input_offset(g, oy, ox, a, b) + k0;
                        for (uint32_t j = 0; j < kn; j++) sum[j] += xp[j];
                    }
                for (uint32_t j = 0; j < kn; j++) yp[k0 + j] = mean_half_up(sum[j], count);
            }
        }
    }
}
