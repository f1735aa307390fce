/* Max and average pooling, f32 and q15 (contract: circnn/layers.h). */
#include "circnn/layers.h"
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

/* Max pooling, written once for both element types: an output pixel whose
 * window lies wholly in the padding is 0. */
#define MAXPOOL2D(T)                                                                              \
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
    MAXPOOL2D(float)
}

void circnn_maxpool2d_q15(const circnn_window_t *g, const int16_t *x, int16_t *y)
{
    MAXPOOL2D(int16_t)
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
