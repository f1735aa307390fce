/*
 * twiddle.h - twiddle factors for every FFT size from small symmetric tables
 * (private).
 *
 * f32: e^(-2 pi i t / 1024) is cos - i sin, cos and sin read from 257
 * cosines by symmetry (1028 bytes); they cover every size up to 1024, a
 * size-L stage uses t = j * 1024 / L.  q15: the circle is C =
 * CIRCNN_TWIDDLE_Q15_CIRCLE, the largest transform size compiled in
 * (circnn/config.h's CIRCNN_FFT_SIZES; at least 8), and t counts C-ths of
 * it: (cos, sin) pairs of t = 0..C/8 as 32-bit words (516 bytes for C =
 * 1024, 36 for 64), the rest of the circle by symmetry; a size-L stage uses
 * t = j * C / L.  The words are every (1024/C)-th of the 1024-point table,
 * the same values whatever C.
 *
 * The q15 values are 32767 cos and 32767 sin, rounded, and lowered by one
 * where needed so that every twiddle (c, s) has c^2 + s^2 <= 32767^2
 * (fft.h's stage bounds use this); 1.0 is 32767.
 */
#ifndef CIRCNN_TWIDDLE_H
#define CIRCNN_TWIDDLE_H

#include <stdint.h>

#include "circnn/config.h"

/* The f32 circle. */
#define CIRCNN_TWIDDLE_QUARTER 256u
#define CIRCNN_TWIDDLE_CIRCLE 1024u

/* The q15 circle: the largest size in CIRCNN_FFT_SIZES, at least 8 (n = 2
 * and 4 read no twiddle; the straight-line 4- and 8-point transforms read
 * no table, so with 4 and 8 alone none is linked).  The sources that read
 * the q15 table are compiled per configuration. */
#if (CIRCNN_FFT_SIZES & 1024) != 0
#define CIRCNN_TWIDDLE_Q15_CIRCLE 1024u
#elif (CIRCNN_FFT_SIZES & 512) != 0
#define CIRCNN_TWIDDLE_Q15_CIRCLE 512u
#elif (CIRCNN_FFT_SIZES & 256) != 0
#define CIRCNN_TWIDDLE_Q15_CIRCLE 256u
#elif (CIRCNN_FFT_SIZES & 128) != 0
#define CIRCNN_TWIDDLE_Q15_CIRCLE 128u
#elif (CIRCNN_FFT_SIZES & 64) != 0
#define CIRCNN_TWIDDLE_Q15_CIRCLE 64u
#elif (CIRCNN_FFT_SIZES & 32) != 0
#define CIRCNN_TWIDDLE_Q15_CIRCLE 32u
#elif (CIRCNN_FFT_SIZES & 16) != 0
#define CIRCNN_TWIDDLE_Q15_CIRCLE 16u
#else
#define CIRCNN_TWIDDLE_Q15_CIRCLE 8u
#endif
#define CIRCNN_TWIDDLE_Q15_QUARTER (CIRCNN_TWIDDLE_Q15_CIRCLE / 4u)
#define CIRCNN_TWIDDLE_Q15_OCTANT (CIRCNN_TWIDDLE_Q15_CIRCLE / 8u)

extern const uint32_t circnn_twiddle_pairs_q15[CIRCNN_TWIDDLE_Q15_OCTANT + 1];

/* cos = sin of pi / 4, both halves of the table's last word, as a
 * constant: the 8-point transforms need no other twiddle (the 4-point ones
 * none), so a build with them alone links no table (tests/test_config_c.c
 * checks it is the word's). */
#define CIRCNN_TWIDDLE_EIGHTH_Q15 23169
extern const float circnn_cos_f32[CIRCNN_TWIDDLE_QUARTER + 1];

/* The q15 (cos, sin) of t, 0 <= t <= C/4, as one word (cos in the bottom
 * half): the table's, or above C/8 the table's of C/4 - t with the halves
 * exchanged. */
static inline uint32_t circnn_twiddle_word_q15(uint32_t t)
{
    if (t <= CIRCNN_TWIDDLE_Q15_OCTANT) return circnn_twiddle_pairs_q15[t];
    uint32_t w = circnn_twiddle_pairs_q15[CIRCNN_TWIDDLE_Q15_QUARTER - t];
    return (w >> 16) | (w << 16);
}

/* q15 cos and sin of 2 pi t / C, 0 <= t < 3C/4 (three quadrants). */
static inline void circnn_twiddle_q15(uint32_t t, int32_t *c, int32_t *s)
{
    uint32_t q = t / CIRCNN_TWIDDLE_Q15_QUARTER, w = circnn_twiddle_word_q15(t - q * CIRCNN_TWIDDLE_Q15_QUARTER);
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
