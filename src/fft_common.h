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

/*
 * f32 transforms of CIRCNN_F32_LANES sequences at once (fft_f32.c), for the
 * block-circulant layer.  Lane layout: value s of sequence l is at
 * buf[s * CIRCNN_F32_LANES + l].  in and out must not overlap.
 *
 * circnn_rfft_f32_lanes: n reals per lane in, packed spectra (fft.h) out;
 * in is left unchanged.
 * circnn_irfft_f32_lanes_unscaled: packed spectra in, n reals out, n times
 * circnn_irfft_f32's (no 1/n); in is overwritten.
 */
#define CIRCNN_F32_LANES 4u

void circnn_rfft_f32_lanes(const float *in, float *out, uint32_t n);
void circnn_irfft_f32_lanes_unscaled(float *in, float *out, uint32_t n);

#endif /* CIRCNN_FFT_COMMON_H */
