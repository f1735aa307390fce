/*
 * circnn/layers.h - the plain layers: dense, conv2d, depthwise conv2d,
 * pooling, activations.
 *
 * Tensors are HWC (height, width, channels), contiguous, one sample at a time.
 * A "feature vector" is a tensor of shape (1, 1, n).  Every layer reads x and
 * writes y, which must not overlap (circnn_relu_* alone may run in place).
 * Nothing allocates; none of these functions can fail: check shapes first
 * (circnn_model_init does it for a whole model).
 *
 * q15: the activation scales and the output stage are those of circnn/q15.h.
 * Pooling, ReLU and argmax keep the scale of their input.
 * python/circnn/sim/layers.py is the bit-exact twin of the q15 layers.
 *
 * Details the contract below leaves open, as implemented (src/dense.c,
 * conv2d.c, conv2d_q15.c, depthwise_conv2d.c, pool.c, activation.c):
 *  - Window layers (conv2d, depthwise conv2d, pools) read circnn_window_t
 *    as given: any kernel, stride and padding that fit its fields (CIRCNN_MAX_KERNEL and
 *    CIRCNN_MAX_STRIDE bound circnn_window_geometry and models, not these
 *    functions), so a global average pool of up to 255 x 255 pixels is one
 *    call.  Taps whose input pixel falls outside the input are skipped.  A
 *    window with no input pixel at all (only possible with a hand-made
 *    geometry, never with "same"/"valid") gives 0 in the pools, and the
 *    output stage of an empty sum (the bias, then ReLU) in conv2d and
 *    depthwise conv2d.
 *  - Pools and depthwise conv2d have in_c channels; g->out_c is not read.
 *  - f32 sums are float, in order: dense over i; conv2d over kernel rows,
 *    then columns, then input channels; depthwise conv2d over kernel rows,
 *    then columns; the bias is added after the sum.
 *    Average pooling divides the float sum by the float count.
 *  - f32 ReLU (also the fused one) is y = x > 0 ? x : +0.0f: -0.0 and NaN
 *    become +0.0.
 *  - q15 sums are exact int64 (no overflow below 2^33 products per output);
 *    conv2d_q15 takes faster kernels for the same sums where it can (one
 *    input channel; several with the DSP extension) and the output stage as
 *    one shift and saturation where that provably equals circnn_requant_q15
 *    (src/requant_q15.h), else its plain reference;
 *    the average pool's result is always within int16 (it is a mean).
 *  - softmax_f32 also works in place and does nothing for count 0; inputs
 *    must be finite.  argmax returns 0 for count 0 (reads nothing); with NaN
 *    inputs its result is unspecified (comparisons are "x[i] > best").
 */
#ifndef CIRCNN_LAYERS_H
#define CIRCNN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "circnn/q15.h"
#include "circnn/window.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Dense (fully connected): y = W x + b, W row-major (out_features x in_features). */

typedef struct circnn_dense_f32 {
    uint32_t in_features, out_features;
    uint32_t relu;          /* nonzero: y = max(y, 0) */
    const float *weight;    /* out_features * in_features */
    const float *bias;      /* out_features, or NULL */
} circnn_dense_f32_t;

typedef struct circnn_dense_q15 {
    uint32_t in_features, out_features;
    uint32_t relu;
    const int16_t *weight;  /* out_features * in_features mantissas */
    int32_t weight_exp;     /* W = weight * 2^weight_exp (input to output integers) */
    const int32_t *bias;    /* out_features, 16 fraction bits, or NULL */
} circnn_dense_q15_t;

void circnn_dense_f32(const circnn_dense_f32_t *layer, const float *x, float *y);
/* y[o] = circnn_requant_q15(sum_i weight[o][i] * x[i], weight_exp, bias[o]), then ReLU. */
void circnn_dense_q15(const circnn_dense_q15_t *layer, const int16_t *x, int16_t *y);

/* ---------------------------------------------------------------------------
 * Conv2d (dense kernel): y[oy][ox][co] = sum_{a, b, ci} W[a][b][ci][co] * x[...] + b[co].
 * Weight layout (kernel_h, kernel_w, in_c, out_c), as TensorFlow's HWIO;
 * for circnn_conv2d_q15_ohwi (out_c, kernel_h, kernel_w, in_c), as
 * TensorFlow Lite's OHWI: each output channel's weights are then one run,
 * and a window row's weights follow one another as its input values do,
 * which is what the fast kernels read (model blobs store a q15 conv2d of
 * more than one input channel so from format 6 on; with HWIO weights such
 * a layer takes the portable reference kernel). */

typedef struct circnn_conv2d_f32 {
    circnn_window_t g;
    uint32_t relu;
    const float *weight;    /* kernel_h * kernel_w * in_c * out_c */
    const float *bias;      /* out_c, or NULL */
} circnn_conv2d_f32_t;

typedef struct circnn_conv2d_q15 {
    circnn_window_t g;
    uint32_t relu;
    const int16_t *weight;  /* kernel_h * kernel_w * in_c * out_c mantissas, HWIO (OHWI: _ohwi) */
    int32_t weight_exp;     /* W = weight * 2^weight_exp (input to output integers) */
    const int32_t *bias;    /* out_c, 16 fraction bits, or NULL */
} circnn_conv2d_q15_t;

void circnn_conv2d_f32(const circnn_conv2d_f32_t *layer, const float *x, float *y);
/* Each output: circnn_requant_q15(exact int64 sum, weight_exp, bias[co]), then ReLU. */
void circnn_conv2d_q15(const circnn_conv2d_q15_t *layer, const int16_t *x, int16_t *y);
/* The same, the weights OHWI: the same outputs, bit for bit. */
void circnn_conv2d_q15_ohwi(const circnn_conv2d_q15_t *layer, const int16_t *x, int16_t *y);

/* ---------------------------------------------------------------------------
 * Depthwise conv2d (depth multiplier 1): each channel is convolved with its
 * own kernel, channels do not mix:
 *     y[oy][ox][c] = sum_{a, b} W[a][b][c] * x[oy * stride + a - pad_top][ox * stride + b - pad_left][c] + b[c].
 * Weight layout (kernel_h, kernel_w, channels), as TensorFlow's depthwise
 * kernel (kh, kw, in_c, 1) without its last axis.  g->in_c channels in and
 * out; g->out_c is not read.  Rounding and saturation are conv2d's. */

typedef struct circnn_depthwise_conv2d_f32 {
    circnn_window_t g;
    uint32_t relu;
    const float *weight;    /* kernel_h * kernel_w * in_c */
    const float *bias;      /* in_c, or NULL */
} circnn_depthwise_conv2d_f32_t;

typedef struct circnn_depthwise_conv2d_q15 {
    circnn_window_t g;
    uint32_t relu;
    const int16_t *weight;  /* kernel_h * kernel_w * in_c mantissas */
    int32_t weight_exp;     /* W = weight * 2^weight_exp (input to output integers) */
    const int32_t *bias;    /* in_c, 16 fraction bits, or NULL */
} circnn_depthwise_conv2d_q15_t;

void circnn_depthwise_conv2d_f32(const circnn_depthwise_conv2d_f32_t *layer, const float *x, float *y);
/* Each output: circnn_requant_q15(exact int64 sum, weight_exp, bias[c]), then ReLU. */
void circnn_depthwise_conv2d_q15(const circnn_depthwise_conv2d_q15_t *layer, const int16_t *x, int16_t *y);

/* ---------------------------------------------------------------------------
 * Pooling, per channel (g->out_c == g->in_c).  Max pooling takes the largest
 * input pixel of the window (its first one, replaced by each later one, row
 * by row, that compares greater); average pooling divides the sum of the input
 * pixels inside the input (padding not counted) by their count: in q15,
 * y = floor((2 * sum + count) / (2 * count)), i.e. round half up.  Global
 * average pooling is a window of the whole input. */

void circnn_maxpool2d_f32(const circnn_window_t *g, const float *x, float *y);
void circnn_maxpool2d_q15(const circnn_window_t *g, const int16_t *x, int16_t *y);
void circnn_avgpool2d_f32(const circnn_window_t *g, const float *x, float *y);
void circnn_avgpool2d_q15(const circnn_window_t *g, const int16_t *x, int16_t *y);

/* ---------------------------------------------------------------------------
 * Activations and the final layer. */

/* y = max(x, 0); x == y allowed. */
void circnn_relu_f32(const float *x, float *y, uint32_t count);
void circnn_relu_q15(const int16_t *x, int16_t *y, uint32_t count);

/* y = exp(x - max x) / sum exp(x - max x). */
void circnn_softmax_f32(const float *x, float *y, uint32_t count);

/* Index of the largest value, the first one on ties.  count >= 1. */
uint32_t circnn_argmax_f32(const float *x, uint32_t count);
uint32_t circnn_argmax_q15(const int16_t *x, uint32_t count);

#ifdef __cplusplus
}
#endif

#endif /* CIRCNN_LAYERS_H */
