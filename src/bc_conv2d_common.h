/*
 * bc_conv2d_common.h - scratch layouts and tap ranges of the block-circulant
 * 2-D convolution (private; contract: circnn/bc_conv2d.h).
 *
 * Scratch, every sub-buffer starting on an 8-byte boundary (P = in_h * in_w
 * input pixels, q = ceil(in_c / k)):
 *   f32: spectra  P * q * k float   the packed spectra of every input pixel
 *        sums     2 * max(k, 16) float  the two spectral sums of one output block
 *        spec     k float           their complex products, then the inverse FFT
 *   q15: acc      k int64           the spectral sums of one output block
 *        tmp      k int16           those sums in 16 bits, then the inverse FFT
 *        spectra  P * q * k int16   the aligned spectra of every input pixel
 *        exps     P * q int8        their block exponents (in [-15, 20])
 */
#ifndef CIRCNN_BC_CONV2D_COMMON_H
#define CIRCNN_BC_CONV2D_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "circnn/bc_conv2d.h"
#include "circnn/window.h"
#include "bc_dense_common.h"

/* Number of input pixels. */
static inline size_t circnn_bc_conv2d_pixels(const circnn_window_t *g)
{
    return (size_t)g->in_h * g->in_w;
}

/* Floats in each f32 spectral sum: k, or rows of 16 for k < 16. */
static inline uint32_t circnn_bc_conv2d_f32_sum_width(uint32_t k)
{
    return k < 16u ? 16u : k;
}

/* Bytes of the f32 spectra of all input pixels. */
static inline size_t circnn_bc_conv2d_f32_spectra_bytes(const circnn_window_t *g, uint32_t k)
{
    return circnn_align8(circnn_bc_conv2d_pixels(g) * circnn_blocks(g->in_c, k) * k * sizeof(float));
}

static inline size_t circnn_bc_conv2d_q15_acc_bytes(uint32_t k)
{
    return circnn_align8((size_t)k * sizeof(int64_t));
}

static inline size_t circnn_bc_conv2d_q15_tmp_bytes(uint32_t k)
{
    return circnn_align8((size_t)k * sizeof(int16_t));
}

static inline size_t circnn_bc_conv2d_q15_spectra_bytes(const circnn_window_t *g, uint32_t k)
{
    return circnn_align8(circnn_bc_conv2d_pixels(g) * circnn_blocks(g->in_c, k) * k * sizeof(int16_t));
}

static inline size_t circnn_bc_conv2d_q15_exps_bytes(const circnn_window_t *g, uint32_t k)
{
    return circnn_align8(circnn_bc_conv2d_pixels(g) * circnn_blocks(g->in_c, k));
}

/*
 * The kernel rows (or columns) a in [*lo, *hi) through which output row o
 * reads a row inside the input: 0 <= o * stride + a - pad < in.  The input
 * row of tap a is then o * stride + a - pad.
 */
static inline void circnn_tap_range(uint32_t o, uint32_t stride, uint32_t pad, uint32_t kernel,
                                    uint32_t in, uint32_t *lo, uint32_t *hi)
{
    uint32_t start = o * stride;
    uint32_t first = start < pad ? pad - start : 0u;
    uint32_t limit = in + pad > start ? in + pad - start : 0u;
    uint32_t last = limit < kernel ? limit : kernel;
    *lo = first < last ? first : last;
    *hi = last;
}

/* The model runtime's entry (src/model_run.c): the layer (band NULL) or
 * the layer and its 2x2 max pool (band as for circnn_bc_conv2d_*_pool2);
 * over NULL, or x itself when the kernel may overwrite it with its spectra
 * (blob format 8: in_c a multiple of k, so that each pixel's q k spectrum
 * values take the place of its q k channels), which then take no scratch:
 * the scratch is the layer's less circnn_bc_conv2d_*_spectra_bytes.  The
 * outputs are the layer's. */
void circnn_bc_conv2d_f32_model(const circnn_bc_conv2d_f32_t *layer, const float *x, float *over, float *y,
                                float *band, void *scratch);
void circnn_bc_conv2d_q15_model(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *over, int16_t *y,
                                int16_t *band, void *scratch);

#endif /* CIRCNN_BC_CONV2D_COMMON_H */
