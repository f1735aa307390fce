/*
 * fixed_point.h - the integer helpers of the q15 kernels (private).
 *
 * Rounding is "half up": add 2^(r-1), then shift right arithmetically by r.
 * Saturation compares; nothing here overflows a signed type or shifts a
 * negative value left (multiplications by powers of two are used instead).
 * circnn.sim.q15 (Python) implements the same helpers.
 */
#ifndef CIRCNN_FIXED_POINT_H
#define CIRCNN_FIXED_POINT_H

#include <stdint.h>

/* Kernels written once with constant parameters (a shift, a direction, a
 * range) are inlined into one loop per combination. */
#if defined(__GNUC__) || defined(__clang__)
#define CIRCNN_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define CIRCNN_ALWAYS_INLINE static inline
#endif

/* Code that runs once per model, not per inference (validation, sizes):
 * compiled for size (GCC's cold functions are optimised for size, and so
 * is what they inline), kept out of the hot paths. */
#if defined(__GNUC__) || defined(__clang__)
#define CIRCNN_COLD __attribute__((cold))
#else
#define CIRCNN_COLD
#endif

static inline int16_t circnn_sat16(int32_t v)
{
    if (v > INT16_MAX) return INT16_MAX;
    if (v < INT16_MIN) return INT16_MIN;
    return (int16_t)v;
}

static inline int16_t circnn_sat16_64(int64_t v)
{
    if (v > INT16_MAX) return INT16_MAX;
    if (v < INT16_MIN) return INT16_MIN;
    return (int16_t)v;
}

/* round(v / 2^r), half up; r >= 1 and v + 2^(r-1) must not overflow. */
static inline int32_t circnn_rshift_round32(int32_t v, int32_t r)
{
    return (v + ((int32_t)1 << (r - 1))) >> r;
}

/* round(v / 2^r) for int64, half up; 1 <= r <= 62. */
static inline int64_t circnn_rshift_round64(int64_t v, int32_t r)
{
    return (v + ((int64_t)1 << (r - 1))) >> r;
}

static inline int32_t circnn_abs32(int32_t v)
{
    return v < 0 ? -v : v;
}

#endif /* CIRCNN_FIXED_POINT_H */
