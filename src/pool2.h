/* pool2.h - the 2x2 max pool (stride 2, no padding) fused after a
 * convolution (FLAG_POOL2, circnn/model.h), private: the pool's window over
 * a band of two convolution rows. */
#ifndef CIRCNN_POOL2_H
#define CIRCNN_POOL2_H

#include <stdint.h>
#include <string.h>

#include "circnn/window.h"

/* Two rows of 2 * pooled_w pixels of `channels` -> one row of pooled_w. */
static inline circnn_window_t circnn_pool2_window(uint32_t pooled_w, uint32_t channels)
{
    circnn_window_t p;
    memset(&p, 0, sizeof p);
    p.in_h = 2;
    p.in_w = (uint16_t)(2u * pooled_w);
    p.in_c = p.out_c = (uint16_t)channels;
    p.out_h = 1;
    p.out_w = (uint16_t)pooled_w;
    p.kernel_h = p.kernel_w = p.stride = 2;
    return p;
}

/* The max pool of 2x2 windows of stride 2 that all lie inside the input
 * (kernel 2, stride 2, no padding, 2 out_h <= in_h, 2 out_w <= in_w): what
 * circnn_maxpool2d_* runs for such windows (src/pool.c), and what a fused
 * pool runs alone (CIRCNN_WITH_POOL2 without CIRCNN_WITH_MAXPOOL2D). */
void circnn_maxpool2x2_f32(const circnn_window_t *g, const float *x, float *y);
void circnn_maxpool2x2_q15(const circnn_window_t *g, const int16_t *x, int16_t *y);

#endif /* CIRCNN_POOL2_H */
