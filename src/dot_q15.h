/*
 * dot_q15.h - the exact int64 dot product of two runs of q15 values
 * (private), for the kernels without the DSP extension: the dense layer and
 * the conv2d of several input channels with OHWI weights.  On ARMv6-M
 * (Cortex-M0/M0+) in assembly, where GCC's code for the same loop spills
 * (about 16 instructions a product against 7.5); elsewhere plain C.
 */
#ifndef CIRCNN_DOT_Q15_H
#define CIRCNN_DOT_Q15_H

#include <stdint.h>

/* acc plus the dot product of the n values x and w, exactly. */
static inline int64_t circnn_dot_q15(const int16_t *x, const int16_t *w, uint32_t n, int64_t acc)
{
#if defined(__ARM_ARCH_6M__) && defined(__GNUC__) && defined(__OPTIMIZE__)
    /* ARMv6-M (Cortex-M0/M0+), four values a step in seven low registers
     * (r7 may be the frame pointer): each product sign-extended into the
     * 64-bit sum; 30 instructions for 4 products. */
    if (n >= 4u) {
        uint32_t lo = (uint32_t)acc, hi = (uint32_t)((uint64_t)acc >> 32), a, c, i = 0;
        const uint32_t bytes = (n & ~3u) * 2u;
#define CIRCNN_DOT_STEP                     \
            "ldrsh  %[a], [%[x], %[i]]\n\t"  \
            "ldrsh  %[c], [%[w], %[i]]\n\t"  \
            "muls   %[a], %[c], %[a]\n\t"    \
            "asrs   %[c], %[a], #31\n\t"     \
            "adds   %[lo], %[lo], %[a]\n\t"  \
            "adcs   %[hi], %[hi], %[c]\n\t"  \
            "adds   %[i], #2\n\t"
        __asm__ volatile(
            ".syntax unified\n\t"   /* GCC hands Thumb-1 inline asm divided syntax, and restores its own */
            "1:\n\t"
            CIRCNN_DOT_STEP CIRCNN_DOT_STEP CIRCNN_DOT_STEP CIRCNN_DOT_STEP
            "cmp    %[i], %[bytes]\n\t"
            "bne    1b\n\t"
            : [lo] "+l"(lo), [hi] "+l"(hi), [a] "=&l"(a), [c] "=&l"(c), [i] "+l"(i)
            : [x] "l"(x), [w] "l"(w), [bytes] "h"(bytes)
            : "cc", "memory");
#undef CIRCNN_DOT_STEP
        acc = (int64_t)(((uint64_t)hi << 32) | lo);
        x += n & ~3u, w += n & ~3u;
    }
    for (uint32_t i = 0; i < (n & 3u); i++) acc += (int64_t)((int32_t)x[i] * w[i]);
    return acc;
#else
    for (uint32_t i = 0; i < n; i++) acc += (int64_t)((int32_t)x[i] * w[i]);
    return acc;
#endif
}

#endif /* CIRCNN_DOT_Q15_H */
