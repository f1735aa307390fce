/*
 * Step 4 of the q15 block-circulant layers (circnn/bc_dense.h): k int64
 * spectral sums to int16 with one shared exponent (contract:
 * bc_dense_common.h).  python/circnn/sim/q15.py is the bit-exact twin.
 */
#include "circnn/config.h"
#include "bc_dense_common.h"
#include "dsp_q15.h"
#include "fixed_point.h"

/* Bit length of v (CLZ where the core has it). */
static inline int32_t bit_length32(uint32_t v)
{
#if defined(__GNUC__) && (defined(__ARM_FEATURE_CLZ) || !defined(__arm__))
    return v ? 32 - __builtin_clz(v) : 0;
#else
    int32_t b = 0;
    if (v >> 16) b += 16, v >>= 16;
    if (v >> 8) b += 8, v >>= 8;
    if (v >> 4) b += 4, v >>= 4;
    if (v >> 2) b += 2, v >>= 2;
    if (v >> 1) b += 1, v >>= 1;
    return b + (int32_t)v;
#endif
}

/* (v + 2^15) >> 16, saturated to 32767 (the only value above the range it
 * can reach); with the DSP extension two at a time, packed. */
static inline int16_t round_top16(int32_t v)
{
#if CIRCNN_DSP
    return (int16_t)(circnn_qadd(v, 0x8000) >> 16);
#else
    return (int16_t)(v >= INT32_MAX - 0x7FFF ? INT16_MAX : (v + 0x8000) >> 16);
#endif
}

#if CIRCNN_DSP
static inline uint32_t round_top16_pair(int32_t bottom, int32_t top)
{
    return circnn_pkhtb16(circnn_qadd(top, 0x8000), circnn_qadd(bottom, 0x8000));
}
#endif

/* floor(a * 2^(16-r)) for r > 0 in the three ranges of circnn_spectral_to_q15 (the mode,
 * a constant where inlined): r <= 16, 16 < r < 48, r >= 48. */
CIRCNN_ALWAYS_INLINE int32_t scaled(int64_t a, int32_t r, int mode)
{
    uint64_t u = (uint64_t)a;
    if (mode == 0) return (int32_t)a * ((int32_t)1 << (16 - r));   /* |a| < 2^31 */
    if (mode == 1) return (int32_t)(((uint32_t)u >> (r - 16)) | ((uint32_t)(u >> 32) << (48 - r)));
    return (int32_t)(a >> 32) >> (r - 48);
}

CIRCNN_ALWAYS_INLINE void round_block(const int64_t *acc, int16_t *out, uint32_t k, int32_t r, int mode)
{
    uint32_t t = 0;
#if CIRCNN_DSP
    for (; t + 2 <= k; t += 2)
        circnn_store_pair(out + t, round_top16_pair(scaled(acc[t], r, mode), scaled(acc[t + 1], r, mode)));
#endif
    for (; t < k; t++) out[t] = round_top16(scaled(acc[t], r, mode));
}

/* r is the bit length of the largest |sum| minus 15 (that of the OR of them
 * all); then every |sum| * 2^-r < 2^15, so only r > 0 can round up to 2^15
 * and saturate.  For r > 0, v = floor(sum * 2^(16-r)) fits in int32, and
 * round(sum * 2^-r) = (v + 2^15) >> 16: for r > 16 the rounding constant
 * 2^(r-1) is a multiple of 2^(r-16), so the floor may come first. */
CIRCNN_ALWAYS_INLINE int32_t to_q15(const int64_t *acc, int16_t *out, uint32_t k)
{
    uint32_t any_lo = 0, any_hi = 0;
    for (uint32_t t = 0; t < k; t++) {
#if CIRCNN_DSP   /* |acc[t]| without a branch */
        const uint64_t m = (uint64_t)0 - ((uint64_t)acc[t] >> 63), a = ((uint64_t)acc[t] ^ m) - m;
#else
        uint64_t a = acc[t] < 0 ? (uint64_t)0 - (uint64_t)acc[t] : (uint64_t)acc[t];
#endif
        any_lo |= (uint32_t)a, any_hi |= (uint32_t)(a >> 32);
    }
    int32_t r = (any_hi ? 32 + bit_length32(any_hi) : bit_length32(any_lo)) - 15;
    if (r <= 0) {   /* |sum| < 2^15: exact in int32 */
        int32_t scale = (int32_t)1 << -r;
            for (uint32_t t = 0; t < k; t++) out[t] = (int16_t)((int32_t)acc[t] * scale);
    } else if (r <= 16) {
        round_block(acc, out, k, r, 0);
    } else if (r < 48) {
        round_block(acc, out, k, r, 1);
    } else {
        round_block(acc, out, k, r, 2);
    }
    return r;
}

#if CIRCNN_DSP
/* k = 8 written out (GCC -O2 keeps the loops): the same operations. */
#define ABS_OR(t)                                                                                                 \
    do {                                                                                                          \
        const uint64_t m = (uint64_t)0 - ((uint64_t)acc[t] >> 63), a = ((uint64_t)acc[t] ^ m) - m;               \
        any_lo |= (uint32_t)a, any_hi |= (uint32_t)(a >> 32);                                                     \
    } while (0)
#define ROUND_PAIR(t, mode) circnn_store_pair(out + t, round_top16_pair(scaled(acc[t], r, mode), scaled(acc[t + 1], r, mode)))

static int32_t to_q15_8(const int64_t *acc, int16_t *out)
{
    uint32_t any_lo = 0, any_hi = 0;
    ABS_OR(0);
    ABS_OR(1);
    ABS_OR(2);
    ABS_OR(3);
    ABS_OR(4);
    ABS_OR(5);
    ABS_OR(6);
    ABS_OR(7);
    const int32_t r = (any_hi ? 32 + bit_length32(any_hi) : bit_length32(any_lo)) - 15;
    if (r > 16 && r < 48) {
        ROUND_PAIR(0, 1), ROUND_PAIR(2, 1), ROUND_PAIR(4, 1), ROUND_PAIR(6, 1);
    } else if (r > 0 && r <= 16) {
        ROUND_PAIR(0, 0), ROUND_PAIR(2, 0), ROUND_PAIR(4, 0), ROUND_PAIR(6, 0);
    } else if (r <= 0) {   /* |sum| < 2^15: exact in int32 */
        const int32_t scale = (int32_t)1 << -r;
        out[0] = (int16_t)((int32_t)acc[0] * scale), out[1] = (int16_t)((int32_t)acc[1] * scale);
        out[2] = (int16_t)((int32_t)acc[2] * scale), out[3] = (int16_t)((int32_t)acc[3] * scale);
        out[4] = (int16_t)((int32_t)acc[4] * scale), out[5] = (int16_t)((int32_t)acc[5] * scale);
        out[6] = (int16_t)((int32_t)acc[6] * scale), out[7] = (int16_t)((int32_t)acc[7] * scale);
    } else {
        return to_q15(acc, out, 8);
    }
    return r;
}
#endif

/* The block sizes compiled in (circnn/config.h): with 8 alone only the
 * written-out k = 8 code is linked, without 8 not that (here only k = 8
 * is written out; fft_q15.c's transforms have 4 and 8). */
#define K_8 ((CIRCNN_FFT_SIZES & UINT32_C(8)) != 0)
#define K_OTHER_THAN_8 ((CIRCNN_FFT_SIZES & ~UINT32_C(8)) != 0)

int32_t circnn_spectral_to_q15(const int64_t *acc, int16_t *out, uint32_t k)
{
#if CIRCNN_DSP
    if (K_8 && (k == 8 || !K_OTHER_THAN_8)) return to_q15_8(acc, out);   /* k = 8: circnn_fft_check refused the rest */
#endif
    return to_q15(acc, out, k);
}
