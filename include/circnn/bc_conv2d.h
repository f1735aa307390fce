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
 * q15 (python/circnn/sim/q15.py is the bit-exact twin): the steps of
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
 *
 * Details the above leaves open, as implemented (src/bc_conv2d*.c):
 *  - Tensors are HWC and contiguous, one sample: x holds in_h * in_w * in_c
 *    values, y out_h * out_w * out_c.  The scratch contents on entry are
 *    never read.
 *  - Scratch: the spectra of every input pixel, plus a few blocks.  f32:
 *    4 * (in_h * in_w * q * k + 2 * max(k, 16) + k) bytes; q15: 8k + up8(2k) +
 *    up8(2 * in_h * in_w * q * k) + up8(in_h * in_w * q) bytes (up8 rounds
 *    up to a multiple of 8; the last part holds the block exponents as int8).
 *  - circnn_bc_conv2d_check: CIRCNN_ERR_NULL for g == NULL; CIRCNN_ERR_SHAPE
 *    unless every size (in and out h, w, c) is in [1, CIRCNN_MAX_DIM],
 *    kernel_h, kernel_w in [1, CIRCNN_MAX_KERNEL], stride in
 *    [1, CIRCNN_MAX_STRIDE], pad_top < kernel_h, pad_left < kernel_w and
 *    every window overlaps the input ((out_h - 1) * stride - pad_top < in_h,
 *    likewise for w; circnn_window_geometry's results always do); then
 *    CIRCNN_ERR_BLOCK_SIZE unless circnn_fft_check(k); then CIRCNN_ERR_SHAPE
 *    if a scratch size does not fit a size_t.  The layers assume a checked
 *    shape; the scratch size functions return SIZE_MAX for a shape the
 *    check refuses (never a wrapped figure).
 *  - q15, E: the maximum of the exponents circnn_rfft_q15 returns for the
 *    in_h * in_w * q blocks of the input (an all-zero block takes part with
 *    its exponent); padding pixels are not transformed and take no part.
 *  - q15, step 3: each product of two int16 is exact in int32; the real and
 *    imaginary parts (wr xr - wi xi, wr xi + wi xr) are formed in int64, as
 *    one of them can reach 2^31.
 *  - q15, output stage: scale_exp is ignored when scale is NULL; a *
 *    scale[c] is an exact int16 x int16 product.  The exponent F (+
 *    scale_exp) is computed in 64 bits and clamped to [-128, 128] before
 *    circnn_requant_q15, which changes no result (any e >= 46 saturates or
 *    gives 0 as 46 does; any e <= -79 gives what -79 gives) and makes every
 *    int32 weight_exp and scale_exp safe.
 *  - q15, speed (the same integers): with the DSP extension (Cortex-M4, M7,
 *    M33) step 3 lists the blocks of each output pixel once and sums two
 *    words of every block at a time in ARMv7E-M assembly (k = 4, 8, 16; tap
 *    by tap otherwise); an output block whose sums are all zero skips its
 *    inverse transform; the output stage runs in 32 bits (src/bc_conv2d_q15.c
 *    says why that is exact).
 *  - f32: y = irfft(sum) * scale[c] + bias[c], then the ReLU; the order of
 *    the float sums is not part of the contract (the tests bound the error
 *    at 1e-5 of max |y| against a float64 convolution).
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

/* CIRCNN_OK, CIRCNN_ERR_NULL, CIRCNN_ERR_BLOCK_SIZE or CIRCNN_ERR_SHAPE (rules above). */
circnn_status_t circnn_bc_conv2d_check(const circnn_window_t *g, uint32_t block_size);

size_t circnn_bc_conv2d_f32_scratch_bytes(const circnn_window_t *g, uint32_t block_size);
size_t circnn_bc_conv2d_q15_scratch_bytes(const circnn_window_t *g, uint32_t block_size);

void circnn_bc_conv2d_f32(const circnn_bc_conv2d_f32_t *layer, const float *x, float *y,
                          void *scratch);
void circnn_bc_conv2d_q15(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *y,
                          void *scratch);

/*
 * The layer followed by a 2x2 max pool (stride 2, no padding; requires
 * out_h, out_w >= 2): y receives (out_h / 2) x (out_w / 2) x out_c values
 * (floor), exactly the max pool of what the layer alone gives.  The input is
 * transformed once (for q15 with the same E), then two output rows at a
 * time are computed into band (4 * (out_w / 2) * out_c values, of its own,
 * 4-byte aligned) and pooled: the layer's whole output is never stored.
 * scratch as for the layer.
 */
void circnn_bc_conv2d_f32_pool2(const circnn_bc_conv2d_f32_t *layer, const float *x, float *y, float *band,
                                void *scratch);
void circnn_bc_conv2d_q15_pool2(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *y,
                                int16_t *band, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* CIRCNN_BC_CONV2D_H */
