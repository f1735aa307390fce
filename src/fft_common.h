/*
 * fft_common.h - index helpers shared by the f32 and q15 transforms (private).
 */
#ifndef CIRCNN_FFT_COMMON_H
#define CIRCNN_FFT_COMMON_H

#include <stdint.h>

/* log2 of a power of two. */
static inline uint32_t circnn_log2u(uint32_t n)
{
    uint32_t l = 0;
    while ((1u << l) < n) l++;
    return l;
}

/* Reverse the low `bits` bits of i. */
static inline uint32_t circnn_bitrev(uint32_t i, uint32_t bits)
{
    uint32_t r = 0;
    for (uint32_t b = 0; b < bits; b++) {
        r = (r << 1) | (i & 1u);
        i >>= 1;
    }
    return r;
}

#endif /* CIRCNN_FFT_COMMON_H */
