/*
 * fft_q15_common.h - the block floating point decisions of the q15 FFT
 * (private; circnn/fft.h states them), shared by the portable reference and
 * the DSP-extension variant so that both take the same shifts.
 *
 * Each decision reads acc, the OR of |z|^2 = re^2 + im^2 (as uint32) over
 * the words entering a step: its bit length is that of the largest |z|^2,
 * so "bit length <= b" is "acc < 2^b".
 */
#ifndef CIRCNN_FFT_Q15_COMMON_H
#define CIRCNN_FFT_Q15_COMMON_H

#include <stdint.h>

#include "fixed_point.h"
#include "twiddle.h"


/* Shift of a radix-4 stage: 0 while |z| < 2^13, 1 below 2^14, 2 below
 * 2^14.5, else 3. */
static inline int32_t circnn_fft_q15_radix4_shift(uint32_t acc)
{
    if (acc < (UINT32_C(1) << 26)) return 0;
    if (acc < (UINT32_C(1) << 28)) return 1;
    if (acc < (UINT32_C(1) << 29)) return 2;
    return 3;
}

/* Shift of the radix-2 stage: 0 while |z| < 2^14, else 1. */
static inline int32_t circnn_fft_q15_radix2_shift(uint32_t acc)
{
    return acc < (UINT32_C(1) << 28) ? 0 : 1;
}

/* Shift of the split stage: 0 while |z| < 2^14, 1 below 2^15, else 2. */
static inline int32_t circnn_fft_q15_split_shift(uint32_t acc)
{
    if (acc < (UINT32_C(1) << 28)) return 0;
    if (acc < (UINT32_C(1) << 30)) return 1;
    return 2;
}

/* The input shift s0: the largest in [0, 15] with |z| * 2^s0 < 2^15 for
 * every word (15 for an all-zero input).  *acc becomes the OR of the
 * scaled words' |z|^2, acc * 4^s0. */
static inline int32_t circnn_fft_q15_normalise_shift(uint32_t *acc)
{
    int32_t s0 = 0;
    while (s0 < 15 && *acc < (UINT32_C(1) << (28 - 2 * s0))) s0++;
    *acc <<= 2 * s0;
    return s0;
}

/* log2 of a power of two. */
static inline uint32_t circnn_fft_q15_log2(uint32_t n)
{
    uint32_t l = 0;
    while ((UINT32_C(1) << l) < n) l++;
    return l;
}

/* The DSP-extension variants (fft_q15_dsp.c): circnn_rfft_q15 and
 * circnn_irfft_q15's contract and results, bit for bit. */
int32_t circnn_rfft_q15_dsp(const int16_t *in, int16_t *out, uint32_t n);
int32_t circnn_irfft_q15_dsp(const int16_t *in, int16_t *out, uint32_t n);

#endif /* CIRCNN_FFT_Q15_COMMON_H */
