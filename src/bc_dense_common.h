/* bc_dense_common.h - helpers of the block-circulant layers (private). */
#ifndef CIRCNN_BC_DENSE_COMMON_H
#define CIRCNN_BC_DENSE_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Number of k-blocks that cover n features. */
static inline uint32_t circnn_blocks(uint32_t n, uint32_t k)
{
    return (n + k - 1u) / k;
}

/* Round a byte count up to a multiple of 8, the scratch alignment. */
static inline size_t circnn_align8(size_t bytes)
{
    return (bytes + 7u) & ~(size_t)7u;
}

/* Step 4 of the q15 layers: out[t] = round(acc[t] * 2^-r) with r the bit
 * length of the largest |acc[t]| minus 15, so that |out| <= 2^15 - 1
 * (rounding half up, saturated); returns r (spectral_to_q15.c). */
int32_t circnn_spectral_to_q15(const int64_t *acc, int16_t *out, uint32_t k);

#endif /* CIRCNN_BC_DENSE_COMMON_H */
