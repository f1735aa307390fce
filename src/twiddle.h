/*
 * twiddle.h - twiddle factors for every FFT size from small symmetric tables
 * (private).
 *
 * e^(-2 pi i t / 1024) is cos - i sin.  f32: cos and sin read from 257
 * cosines by symmetry (1028 bytes).  q15: (cos, sin) pairs of t = 0..128 as
 * 32-bit words (516 bytes), the rest of the circle by symmetry.  Both cover
 * every size up to 1024; a size-L stage uses t = j * 1024 / L.
 *
 * The q15 values are 32767 cos and 32767 sin, rounded, and lowered by one
 * where needed so that every twiddle (c, s) has c^2 + s^2 <= 32767^2
 * (fft.h's stage bounds use this); 1.0 is 32767.
 */
#ifndef CIRCNN_TWIDDLE_H
#define CIRCNN_TWIDDLE_H

#include <stdint.h>

#define CIRCNN_TWIDDLE_OCTANT 128u
#define CIRCNN_TWIDDLE_QUARTER 256u
#define CIRCNN_TWIDDLE_CIRCLE 1024u

extern const uint32_t circnn_twiddle_pairs_q15[CIRCNN_TWIDDLE_OCTANT + 1];

/* cos = sin of t = 128 (pi / 4), both halves of the table's last word, as a
 * constant: the 8-point transforms need no other twiddle, so a build with
 * them alone links no table (tests/test_config_c.c checks it is the word's). */
#define CIRCNN_TWIDDLE_EIGHTH_Q15 23169
extern const float circnn_cos_f32[CIRCNN_TWIDDLE_QUARTER + 1];

/* The q15 (cos, sin) of t, 0 <= t <= 256, as one word (cos in the bottom
 * half): the table's, or above 128 the table's of 256 - t with the halves
 * exchanged. */
static inline uint32_t circnn_twiddle_word_q15(uint32_t t)
{
    if (t <= CIRCNN_TWIDDLE_OCTANT) return circnn_twiddle_pairs_q15[t];
    uint32_t w = circnn_twiddle_pairs_q15[CIRCNN_TWIDDLE_QUARTER - t];
    return (w >> 16) | (w << 16);
}

/* q15 cos and sin of 2 pi t / 1024, 0 <= t < 768 (three quadrants). */
static inline void circnn_twiddle_q15(uint32_t t, int32_t *c, int32_t *s)
{
    uint32_t q = t / CIRCNN_TWIDDLE_QUARTER, w = circnn_twiddle_word_q15(t - q * CIRCNN_TWIDDLE_QUARTER);
    int32_t c0 = (int16_t)(uint16_t)(w & 0xFFFFu), s0 = (int16_t)(uint16_t)(w >> 16);
    if (q == 0) {
        *c = c0, *s = s0;
    } else if (q == 1) {
        *c = -s0, *s = c0;
    } else {
        *c = -c0, *s = -s0;
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
