/*
 * requant_q15.h - circnn_requant_q15 for the many outputs of one layer that
 * share its exponent (private; the output stage itself: circnn/q15.h).
 *
 * With u = e + 16 and B = bias + 2^15, circnn_requant_q15(v, e, bias) is
 * sat16((t + B) >> 16) with t = v >> -u (u <= 0) or v * 2^u (u > 0; never
 * clamped below).  For u in [-30, 15] that is
 *
 *     sat16((v + C) >> s),   s = 16 - u in [1, 46],
 *     C = B * 2^-u (u <= 0), or floor(B / 2^u) (u > 0),
 *
 * since floor((floor(v / 2^n) + B) / 2^16) = floor((v + B 2^n) / 2^(n+16))
 * for integers, and floor((v 2^u + B) / 2^16) = floor((v + floor(B / 2^u)) /
 * 2^(16-u)) (the dropped fraction of B / 2^u is below one).  A kernel starts
 * each accumulator at C and applies the shift at the end.  When v is a sum
 * of P products of two int16 (|v| <= P 2^30) with P <= 2^min(s, 16) (then
 * |v| * 2^u < 2^62 for u > 0, so circnn_requant_q15 does not clamp),
 * |v + C| < 2^(s + 31): (v + C) >> s fits in int32 and only its saturation
 * to 16 bits remains (SSAT, or USAT #15 with the ReLU, on the cores with the
 * DSP extension).  Other layers take circnn_requant_q15 itself.
 * python/circnn/sim/q15.py's requant_q15 is the one twin of both forms.
 */
#ifndef CIRCNN_REQUANT_Q15_H
#define CIRCNN_REQUANT_Q15_H

#include <stdint.h>

#include "circnn/q15.h"
#include "dsp_q15.h"
#include "fixed_point.h"

/* The shift s for exponent e and sums of `products` products, or 0 when
 * the shifted form does not apply (see above). */
static inline int32_t circnn_requant_shift(int32_t e, uint64_t products)
{
    if (e < -46 || e > -1) return 0;
    const int32_t s = -e;   /* 16 - u */
    return products <= ((uint64_t)1 << (s < 16 ? s : 16)) ? s : 0;
}

/* C for bias and shift s, exact in int64 (|C| < 2^62). */
static inline int64_t circnn_requant_offset(int32_t bias, int32_t s)
{
    const int64_t b = (int64_t)bias + 32768;
    if (s >= 16) return b * ((int64_t)1 << (s - 16));
    return b >> (16 - s);
}

/* (w >> s) as int32, when it fits (see above); s in [1, 46].  The mode is
 * s >= 32, a constant where inlined. */
CIRCNN_ALWAYS_INLINE int32_t circnn_requant_shifted(int64_t w, int32_t s, int high)
{
    uint64_t u = (uint64_t)w;
    if (high) return (int32_t)(w >> 32) >> (s - 32);
    return circnn_wrap32(((uint32_t)(u >> 32) << (32 - s)) | ((uint32_t)u >> s));
}

/* sat16(r), then the ReLU when relu (a constant where inlined): SSAT #16
 * or USAT #15 with the DSP extension. */
CIRCNN_ALWAYS_INLINE int16_t circnn_requant_saturate(int32_t r, int relu)
{
#if CIRCNN_DSP_NATIVE
    /* The builtins behind ACLE's __usat / __ssat, cast explicitly: GCC's
     * macros store the builtins' unsigned result in an int32_t, which
     * -Wconversion (src/cflags.txt) reports at every use. */
    if (relu) return (int16_t)(int32_t)__builtin_arm_usat(r, 15);
    return (int16_t)(int32_t)__builtin_arm_ssat(r, 16);
#else
    if (relu) return r < 0 ? (int16_t)0 : r > INT16_MAX ? (int16_t)INT16_MAX : (int16_t)r;
    return circnn_sat16(r);
#endif
}

#endif /* CIRCNN_REQUANT_Q15_H */
