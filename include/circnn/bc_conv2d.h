/*
 * circnn/bc_conv2d.h - block-circulant 2-D convolution (CirCNN CONV), f32 and q15.
 *
 * For every kernel tap (a, b) the in_c x out_c channel-mixing matrix is
 * block-circulant: p x q blocks of k x k (p = ceil(out_c / k),
 * q = ceil(in_c / k)), block (i, j) mapping input-channel block j to
 * output-channel block i, defined by its first column (circnn/bc_dense.h)
 * and stored as its packed spectrum (circnn/fft.h):
 *     weight + (((a * kernel_w + b) * p + i) * q + j) * k
 * Output pixel (oy, ox) reads input pixel (oy * stride + a - pad_top,
 * ox * stride + b - pad_left) through tap (a, b) (cross-correlation; see
 * circnn_window_t in circnn/window.h); pixels outside the input are zeros.
 *
 * How: the channel vector of every input pixel is transformed once (q
 * forward FFTs per pixel) and reused by every tap that reads it; for each
 * output pixel the products are summed over taps and input blocks in the
 * frequency domain, then one inverse FFT per output block.  Channels beyond
 * in_c / out_c are zero padding.  Parameters: kernel_h * kernel_w * p * q * k.
 *
 * An optional per-output-channel scale (batch normalisation folded at
 * export, since a channel scale cannot be folded into circulant weights):
 *     y[c] = scale[c] * (W x)[c] + bias[c]
 *
 * q15 (python/circnn/fixed.py is the bit-exact twin): the steps of
 * circnn_bc_dense_q15 (circnn/bc_dense.h), with step 2 aligning the spectra
 * of all pixels and blocks of the input to one exponent E, step 3 summing
 * over the taps that fall inside the input too, and the output stage
 *     y = circnn_requant_q15(a * scale[c], F + scale_exp, bias[c])
 * (without a scale: circnn_requant_q15(a, F, bias[c])), then the ReLU.
 *
 * bc_dense is the 1 x 1 case of this layer (a 1 x 1 image, a 1 x 1 kernel).
 *
 * Memory: a scratch buffer of circnn_bc_conv2d_*_scratch_bytes(), 8-byte
 * aligned; x, y and scratch must not overlap.  Nothing allocates.
 */
#ifndef CIRCNN_BC_CONV2D_H
#define CIRCNN_BC_CONV2D_H

#include <stddef.h>
#include <stdint.h>

#include "circnn/q15.h"
#include "circnn/window.h"
#include "circnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct circnn_bc_conv2d_f32 {
    circnn_window_t g;
    uint32_t block_size;    /* k */
    uint32_t relu;
    const float *weight;    /* kernel_h * kernel_w * p * q * k packed spectra */
    const float *bias;      /* out_c, or NULL */
    const float *scale;     /* out_c, or NULL */
} circnn_bc_conv2d_f32_t;

typedef struct circnn_bc_conv2d_q15 {
    circnn_window_t g;
    uint32_t block_size;
    uint32_t relu;
    const int16_t *weight;  /* packed spectrum mantissas */
    int32_t weight_exp;     /* spectrum = weight * 2^weight_exp */
    const int32_t *bias;    /* out_c, 16 fraction bits, or NULL */
    const int16_t *scale;   /* out_c mantissas, or NULL */
    int32_t scale_exp;      /* scale = scale_mantissa * 2^scale_exp */
} circnn_bc_conv2d_q15_t;

/* CIRCNN_OK, CIRCNN_ERR_BLOCK_SIZE or CIRCNN_ERR_SHAPE. */
circnn_status_t circnn_bc_conv2d_check(const circnn_window_t *g, uint32_t block_size);

size_t circnn_bc_conv2d_f32_scratch_bytes(const circnn_window_t *g, uint32_t block_size);
size_t circnn_bc_conv2d_q15_scratch_bytes(const circnn_window_t *g, uint32_t block_size);

void circnn_bc_conv2d_f32(const circnn_bc_conv2d_f32_t *layer, const float *x, float *y,
                          void *scratch);
void circnn_bc_conv2d_q15(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *y,
                          void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* CIRCNN_BC_CONV2D_H */
