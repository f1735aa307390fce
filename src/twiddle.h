/*
 * twiddle.h - twiddle factors for every FFT size from one quarter-wave table
 * (private).
 *
 * e^(-2 pi i t / 1024) is cos - i sin with cos and sin read from 257
 * cosines by symmetry: 514 bytes of q15 table and 1028 of f32 cover every
 * size up to 1024.  A size-L stage uses t = j * 1024 / L.
 *
 * The q15 table is 32767 cos, rounded, and lowered by one where needed so
 * that every twiddle (c, s) it gives has c^2 + s^2 <= 32767^2 (fft.h's stage
 * bounds use this); 1.0 is 32767.
 */
#ifndef CIRCNN_TWIDDLE_H
#define CIRCNN_TWIDDLE_H

#include <stdint.h>

#define CIRCNN_TWIDDLE_QUARTER 256u
#define CIRCNN_TWIDDLE_CIRCLE 1024u

extern const uint16_t circnn_cos_q15[CIRCNN_TWIDDLE_QUARTER + 1];
extern const float circnn_cos_f32[CIRCNN_TWIDDLE_QUARTER + 1];

/* q15 cos and sin of 2 pi t / 1024, 0 <= t < 768 (three quadrants). */
static inline void circnn_twiddle_q15(uint32_t t, int32_t *c, int32_t *s)
{
    if (t <= CIRCNN_TWIDDLE_QUARTER) {
        *c = (int32_t)circnn_cos_q15[t];
        *s = (int32_t)circnn_cos_q15[CIRCNN_TWIDDLE_QUARTER - t];
    } else if (t <= 2u * CIRCNN_TWIDDLE_QUARTER) {
        *c = -(int32_t)circnn_cos_q15[2u * CIRCNN_TWIDDLE_QUARTER - t];
        *s = (int32_t)circnn_cos_q15[t - CIRCNN_TWIDDLE_QUARTER];
    } else {
        *c = -(int32_t)circnn_cos_q15[t - 2u * CIRCNN_TWIDDLE_QUARTER];
        *s = -(int32_t)circnn_cos_q15[3u * CIRCNN_TWIDDLE_QUARTER - t];
    }
}

/* cos and sin of 2 pi t / 1024 in float, 0 <= t < 512. */
static inline void circnn_twiddle_f32(uint32_t t, float *c, float *s)
{
    if (t <= CIRCNN_TWIDDLE_QUARTER) {
        *c = circnn_cos_f32[t];
        *s = circnn_cos_f32[CIRCNN_TWIDDLE_QUARTER - t];
    } else {
        *c = -circnn_cos_f32[2u * CIRCNN_TWIDDLE_QUARTER - t];
        *s = circnn_cos_f32[t - CIRCNN_TWIDDLE_QUARTER];
    }
}

#endif /* CIRCNN_TWIDDLE_H */
