/*
 * circnn/bc_dense.h - block-circulant fully connected layer, f32 and q15.
 *
 * y = W x + b for W of out_features (m) x in_features (n), split into
 * p x q blocks of k x k (p = ceil(m / k), q = ceil(n / k), k = block_size).
 * Block (i, j) is circulant with first column w_ij:
 *     W_ij[r][c] = w_ij[(r - c) mod k].
 * The layer stores rfft(w_ij) in the packed layout of circnn/fft.h (k reals
 * per block, block (i, j) at weight + (i * q + j) * k) and computes
 *     y_i = irfft( sum_j rfft(w_ij) * rfft(x_j) ) + b_i
 * with the sum taken in the frequency domain: q forward FFTs, p * q spectral
 * multiply-accumulates, p inverse FFTs.  x is zero-padded to q * k and y cut
 * to m.  Optional bias, optional fused ReLU.
 *
 * Memory: the caller passes a scratch buffer of at least
 * circnn_bc_dense_*_scratch_bytes() bytes, aligned to 8 bytes.  x, y and
 * scratch must not overlap.  Nothing is allocated; no static state.
 *
 * Call circnn_bc_dense_check() once for a shape; the layer functions assume
 * a valid shape and cannot fail.
 */
#ifndef CIRCNN_BC_DENSE_H
#define CIRCNN_BC_DENSE_H

#include <stddef.h>
#include <stdint.h>

#include "circnn/q15.h"
#include "circnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest in_features or out_features a layer may have. */
#define CIRCNN_MAX_FEATURES 65536

/* CIRCNN_OK, CIRCNN_ERR_SHAPE (a size is 0 or above CIRCNN_MAX_FEATURES)
 * or CIRCNN_ERR_BLOCK_SIZE (k is not a power of two in [2, 1024]). */
circnn_status_t circnn_bc_dense_check(uint32_t in_features, uint32_t out_features,
                                      uint32_t block_size);

/* Number of reals (f32) or int16 (q15) in the packed weights: p * q * k
 * (at most 2^31); SIZE_MAX for a shape circnn_bc_dense_check refuses.
 * The scratch sizes below are SIZE_MAX for those shapes too. */
size_t circnn_bc_dense_weight_count(uint32_t in_features, uint32_t out_features,
                                    uint32_t block_size);

typedef struct circnn_bc_dense_f32 {
    uint32_t in_features;   /* n */
    uint32_t out_features;  /* m */
    uint32_t block_size;    /* k */
    uint32_t relu;          /* nonzero: y = max(y, 0) */
    const float *weight;    /* p * q * k packed spectra */
    const float *bias;      /* m values, or NULL */
} circnn_bc_dense_f32_t;

size_t circnn_bc_dense_f32_scratch_bytes(uint32_t in_features, uint32_t out_features,
                                         uint32_t block_size);

/* x: n floats; y: m floats. */
void circnn_bc_dense_f32(const circnn_bc_dense_f32_t *layer, const float *x, float *y,
                         void *scratch);

/*
 * q15: integers in, integers out.
 *
 * The weights are int16 mantissas of the packed spectra with one exponent
 * for the layer: rfft(w_ij) = weight * 2^weight_exp, where w maps input
 * integers to output integers (the exporter folds the input and output
 * scales of the activations into w).  The bias is int32 with
 * CIRCNN_Q15_BIAS_FRAC_BITS fraction bits, in output integers.  Then
 *     y = sat16( round( W x + bias / 2^16 ) )
 * up to the error of the transforms, never wrapped.
 *
 * How, exactly (python/circnn/sim/q15.py is bit-exact with it):
 *  1. Each input block x_j is transformed by circnn_rfft_q15 -> (X_j, e_j).
 *  2. The spectra are aligned to E = max e_j: X_j >>= (E - e_j), rounded
 *     half up (a shift of 16 or more gives 0).
 *  3. For each output block i, the complex products rfft(w_ij) * X_j are
 *     summed over j exactly, in int64.
 *  4. The sums are brought to 16 bits: with L the bit length of their
 *     largest magnitude, shift by r = L - 15 (right with rounding half up,
 *     or left when r < 0) and saturate.
 *  5. circnn_irfft_q15 -> (a, d).  The block's result is a * 2^F with
 *     F = weight_exp + E + r + d.
 *  6. y = circnn_requant_q15(a, F, bias) (circnn/q15.h): round half up
 *     of a * 2^F + bias / 2^16, saturated; then the ReLU.
 */
typedef struct circnn_bc_dense_q15 {
    uint32_t in_features;   /* n */
    uint32_t out_features;  /* m */
    uint32_t block_size;    /* k */
    uint32_t relu;          /* nonzero: y = max(y, 0) */
    const int16_t *weight;  /* p * q * k packed spectrum mantissas */
    int32_t weight_exp;     /* spectrum = weight * 2^weight_exp */
    const int32_t *bias;    /* m values with 16 fraction bits, or NULL */
} circnn_bc_dense_q15_t;

size_t circnn_bc_dense_q15_scratch_bytes(uint32_t in_features, uint32_t out_features,
                                         uint32_t block_size);

/* x: n int16; y: m int16. */
void circnn_bc_dense_q15(const circnn_bc_dense_q15_t *layer, const int16_t *x, int16_t *y,
                         void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* CIRCNN_BC_DENSE_H */
