/* Conv2d with a dense kernel, f32 (contract: circnn/layers.h; q15: conv2d_q15.c). */
#include "circnn/layers.h"
#include "window_taps.h"

void circnn_conv2d_f32(const circnn_conv2d_f32_t *layer, const float *x, float *y)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t in_h = g->in_h, in_w = g->in_w, in_c = g->in_c;
    const uint32_t out_h = g->out_h, out_w = g->out_w, out_c = g->out_c;
    const uint32_t kw = g->kernel_w, stride = g->stride;
    for (uint32_t oy = 0; oy < out_h; oy++) {
        uint32_t a0, a1;
        circnn_window_taps(oy, stride, g->pad_top, g->kernel_h, in_h, &a0, &a1);
        for (uint32_t ox = 0; ox < out_w; ox++) {
            uint32_t b0, b1;
            circnn_window_taps(ox, stride, g->pad_left, kw, in_w, &b0, &b1);
            float *yp = y + ((size_t)oy * out_w + ox) * out_c;
            for (uint32_t co = 0; co < out_c; co++) yp[co] = 0.0f;
            for (uint32_t a = a0; a < a1; a++) {
                const uint32_t iy = oy * stride + a - g->pad_top;
                for (uint32_t b = b0; b < b1; b++) {
                    const uint32_t ix = ox * stride + b - g->pad_left;
                    const float *xp = x + ((size_t)iy * in_w + ix) * in_c;
                    const float *wp = layer->weight + ((size_t)a * kw + b) * in_c * out_c;
                    for (uint32_t ci = 0; ci < in_c; ci++, wp += out_c) {
                        const float xv = xp[ci];
                        for (uint32_t co = 0; co < out_c; co++) yp[co] += wp[co] * xv;
                    }
                }
            }
            for (uint32_t co = 0; co < out_c; co++) {
                float v = yp[co];
                if (layer->bias) v += layer->bias[co];
                if (layer->relu && !(v > 0.0f)) v = 0.0f;
                yp[co] = v;
            }
        }
    }
}
