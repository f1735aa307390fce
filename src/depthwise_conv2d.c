/* Depthwise conv2d, f32 and q15 (contract: circnn/layers.h). */
#include "circnn/layers.h"
#include "window_taps.h"

/* One loop nest for both types: per output pixel and channel, the sum over
 * the taps inside the input (rows, then columns), kept in a register. */

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

void circnn_depthwise_conv2d_q15(const circnn_depthwise_conv2d_q15_t *layer, const int16_t *x, int16_t *y)
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
            int16_t *yp = y + ((size_t)oy * g->out_w + ox) * c;
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
    }
}
