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

#endif /* CIRCNN_BC_DENSE_COMMON_H */
