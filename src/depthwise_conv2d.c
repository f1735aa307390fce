/* Depthwise conv2d, f32 and q15 (contract: circnn/layers.h). */
#include "circnn/layers.h"
#include "requant_q15.h"
#include "window_taps.h"

/* Per output pixel and channel, the sum over the taps inside the input
 * (rows, then columns), kept in a register.  q15 3x3 windows inside the
 * input take an unrolled path with the same exact sums. */

void circnn_depthwise_conv2d_f32(const circnn_depthwise_conv2d_f32_t *layer, const float *x, float *y)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t in_w = g->in_w, c = g->in_c, kw = g->kernel_w, stride = g->stride;
    const size_t row_step = (size_t)in_w * c;
    for (uint32_t oy = 0; oy < g->out_h; oy++) {
        uint32_t a0, a1;
        circnn_window_taps(oy, stride, g->pad_top, g->kernel_h, g->in_h, &a0, &a1);
        for (uint32_t ox = 0; ox < g->out_w; ox++) {
            uint32_t b0, b1;
            circnn_window_taps(ox, stride, g->pad_left, kw, in_w, &b0, &b1);
            float *yp = y + ((size_t)oy * g->out_w + ox) * c;
            /* The first tap's input pixel and weights. */
            const float *x0 = x, *w0 = layer->weight;
            uint32_t rows = 0;   /* 0: a window that misses the input (the output stage of an empty sum) */
            if (a0 < a1 && b0 < b1) {
                x0 += ((size_t)(oy * stride + a0 - g->pad_top) * in_w + (ox * stride + b0 - g->pad_left)) * c;
                w0 += ((size_t)a0 * kw + b0) * c;
                rows = a1 - a0;
            }
            for (uint32_t ch = 0; ch < c; ch++) {
                float acc = 0.0f;
                const float *xr = x0 + ch, *wr = w0 + ch;
                for (uint32_t a = 0; a < rows; a++, xr += row_step, wr += (size_t)kw * c) {
                    const float *xp = xr, *wp = wr;
                    for (uint32_t b = b0; b < b1; b++, xp += c, wp += c) acc += *wp * *xp;
                }
                if (layer->bias) acc += layer->bias[ch];
                if (layer->relu && !(acc > 0.0f)) acc = 0.0f;
                yp[ch] = acc;
            }
        }
    }
}

/* The reference output pixel: exact int64 sums, circnn_requant_q15 itself. */
static void pixel_q15(const circnn_depthwise_conv2d_q15_t *layer, const int16_t *x, int16_t *yp, uint32_t oy,
                      uint32_t ox, uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t in_w = g->in_w, c = g->in_c, kw = g->kernel_w, stride = g->stride;
    const size_t row_step = (size_t)in_w * c;
    const int16_t *x0 = x, *w0 = layer->weight;
    uint32_t rows = 0;   /* 0: a window that misses the input (the output stage of an empty sum) */
    if (a0 < a1 && b0 < b1) {
        x0 += ((size_t)(oy * stride + a0 - g->pad_top) * in_w + (ox * stride + b0 - g->pad_left)) * c;
        w0 += ((size_t)a0 * kw + b0) * c;
        rows = a1 - a0;
    }
    for (uint32_t ch = 0; ch < c; ch++) {
        int64_t acc = 0;   /* exact: each product is at most 2^30 in magnitude */
        const int16_t *xr = x0 + ch, *wr = w0 + ch;
        for (uint32_t a = 0; a < rows; a++, xr += row_step, wr += (size_t)kw * c) {
            const int16_t *xp = xr, *wp = wr;
            for (uint32_t b = b0; b < b1; b++, xp += c, wp += c) acc += (int32_t)*wp * *xp;
        }
        int16_t v = circnn_requant_q15(acc, layer->weight_exp, layer->bias ? layer->bias[ch] : 0);
        if (layer->relu && v < 0) v = 0;
        yp[ch] = v;
    }
}

/* acc + p0 + p1 for two int16 x int16 products.  Cores without a 64-bit
 * multiply-accumulate (ARMv6-M) add the pair in int32 first: each product
 * lies in [-2^30 + 2^15, 2^30], so the sum of the two negated products fits
 * int32 exactly.  Either way the exact sum. */
static inline int64_t add2(int64_t acc, int32_t p0, int32_t p1)
{
#if defined(__ARM_ARCH_6M__)
    return acc - (int64_t)(-p0 - p1);
#else
    return acc + p0 + p1;
#endif
}

/* [*lo, *hi): the outputs along one axis whose 3 taps all lie inside the
 * input (a contiguous range; empty when there is none). */
static void full_range(uint32_t out, uint32_t stride, uint32_t pad, uint32_t in, uint32_t *lo, uint32_t *hi)
{
    uint32_t first = out, last = 0;
    for (uint32_t o = 0; o < out; o++) {
        uint32_t t0, t1;
        circnn_window_taps(o, stride, pad, 3u, in, &t0, &t1);
        if (t0 == 0 && t1 == 3u) {
            if (first == out) first = o;
            last = o + 1u;
        }
    }
    *lo = first == out ? 0 : first;
    *hi = first == out ? 0 : last;
}

/* sat16(r), then the ReLU when relu_mask is all ones (0: none), chosen at
 * run time without a branch (a negative value's bits cleared). */
static inline int16_t saturate_relu(int32_t r, uint32_t relu_mask)
{
    const uint32_t v = (uint32_t)circnn_requant_saturate(r, 0);
    const uint32_t negative = (uint32_t)0 - (v >> 31);
    return (int16_t)circnn_wrap32(v & ~(negative & relu_mask));
}

/* An edge pixel: the taps inside the input (none: the output stage of the
 * empty sum) gathered once as offsets, then every channel.  Few pixels: one
 * copy for every mode (the shift's range and the ReLU at run time), not
 * one inlined in each of depthwise3x3_q15's four. */
static void edge3x3_q15(const circnn_depthwise_conv2d_q15_t *layer, const int16_t *x, int16_t *yp, uint32_t oy,
                        uint32_t ox, int32_t s, int high, uint32_t relu_mask)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t c = g->in_c, stride = g->stride;
    uint32_t a0, a1, b0, b1, taps = 0;
    size_t xoff[9], woff[9];
    circnn_window_taps(oy, stride, g->pad_top, 3u, g->in_h, &a0, &a1);
    circnn_window_taps(ox, stride, g->pad_left, 3u, g->in_w, &b0, &b1);
    for (uint32_t a = a0; a < a1; a++)
        for (uint32_t b = b0; b < b1; b++, taps++) {
            xoff[taps] = ((size_t)(oy * stride + a - g->pad_top) * g->in_w + (ox * stride + b - g->pad_left)) * c;
            woff[taps] = (size_t)(a * 3u + b) * c;
        }
    const int16_t *w = layer->weight;
    const int32_t *bias = layer->bias;
    for (uint32_t ch = 0; ch < c; ch++, x++, w++) {
        int64_t acc = circnn_requant_offset(bias ? bias[ch] : 0, s);
        for (uint32_t t = 0; t < taps; t++) acc += x[xoff[t]] * w[woff[t]];
        yp[ch] = saturate_relu(high ? circnn_requant_shifted(acc, s, 1) : circnn_requant_shifted(acc, s, 0), relu_mask);
    }
}

/* A 3x3 layer, channel by channel: the nine weights and the output stage's
 * offset C (requant_q15.h) of a channel are read once and its windows
 * wholly inside the input sum their nine taps unrolled; then the edge
 * pixels (edge3x3_q15).
 * Every sum starts at C and is finished by one shift: the same bits as
 * circnn_requant_q15 (requant_q15.h's proof; 9 products per sum).  The mode
 * (the shift's range, the ReLU) is a constant where inlined: the layer
 * calls it with s < 32 alone. */
CIRCNN_ALWAYS_INLINE void depthwise3x3_q15(const circnn_depthwise_conv2d_q15_t *layer, const int16_t *x,
                                           int16_t *y, int32_t s, int high, int relu)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t c = g->in_c, stride = g->stride, out_w = g->out_w, out_h = g->out_h;
    const size_t row = (size_t)g->in_w * c, step = (size_t)stride * c, c2 = 2u * (size_t)c;
    uint32_t y0, y1, x0, x1;
    full_range(out_h, stride, g->pad_top, g->in_h, &y0, &y1);
    full_range(out_w, stride, g->pad_left, g->in_w, &x0, &x1);
    for (uint32_t ch = 0; ch < c; ch++) {
        const int16_t *w = layer->weight + ch;
        const int32_t w0 = w[0], w1 = w[c], w2 = w[c2], w3 = w[3u * (size_t)c], w4 = w[4u * (size_t)c],
                      w5 = w[5u * (size_t)c], w6 = w[6u * (size_t)c], w7 = w[7u * (size_t)c], w8 = w[8u * (size_t)c];
        const int64_t start = circnn_requant_offset(layer->bias ? layer->bias[ch] : 0, s);
        for (uint32_t oy = y0; oy < y1; oy++) {
            int16_t *yp = y + ((size_t)oy * out_w + x0) * c + ch;
            const int16_t *r0 = x + (size_t)(oy * stride - g->pad_top) * row + (size_t)(x0 * stride - g->pad_left) * c + ch;
            for (uint32_t ox = x0; ox < x1; ox++, r0 += step, yp += c) {
                const int16_t *r1 = r0 + row, *r2 = r1 + row;
                int64_t acc = add2(start, r0[0] * w0, r0[c] * w1);
                acc = add2(acc, r0[c2] * w2, r1[0] * w3);
                acc = add2(acc, r1[c] * w4, r1[c2] * w5);
                acc = add2(acc, r2[0] * w6, r2[c] * w7);
                acc += r2[c2] * w8;
                *yp = circnn_requant_saturate(circnn_requant_shifted(acc, s, high), relu);
            }
        }
    }
    for (uint32_t oy = 0; oy < out_h; oy++) {
        const int inside = oy >= y0 && oy < y1;
        for (uint32_t ox = 0; ox < out_w; ox++) {
            if (inside && ox >= x0 && ox < x1) ox = x1;   /* past the interior */
            if (ox >= out_w) break;
            edge3x3_q15(layer, x, y + ((size_t)oy * out_w + ox) * c, oy, ox, s, high, relu ? UINT32_MAX : 0u);
        }
    }
}

void circnn_depthwise_conv2d_q15(const circnn_depthwise_conv2d_q15_t *layer, const int16_t *x, int16_t *y)
{
    const circnn_window_t *g = &layer->g;
    const int32_t s = circnn_requant_shift(layer->weight_exp, 9u);
    if (g->kernel_h == 3u && g->kernel_w == 3u && s != 0) {
        if (s >= 32) {   /* weights below 2^-17 (rare): every pixel the edges' way, no unrolled copy */
            for (uint32_t oy = 0; oy < g->out_h; oy++)
                for (uint32_t ox = 0; ox < g->out_w; ox++)
                    edge3x3_q15(layer, x, y + ((size_t)oy * g->out_w + ox) * g->in_c, oy, ox, s, 1,
                                layer->relu ? UINT32_MAX : 0u);
        } else {
            layer->relu ? depthwise3x3_q15(layer, x, y, s, 0, 1) : depthwise3x3_q15(layer, x, y, s, 0, 0);
        }
        return;
    }
    for (uint32_t oy = 0; oy < g->out_h; oy++) {
        uint32_t a0, a1;
        circnn_window_taps(oy, g->stride, g->pad_top, g->kernel_h, g->in_h, &a0, &a1);
        for (uint32_t ox = 0; ox < g->out_w; ox++) {
            uint32_t b0, b1;
            circnn_window_taps(ox, g->stride, g->pad_left, g->kernel_w, g->in_w, &b0, &b1);
            pixel_q15(layer, x, y + ((size_t)oy * g->out_w + ox) * g->in_c, oy, ox, a0, a1, b0, b1);
        }
    }
}
