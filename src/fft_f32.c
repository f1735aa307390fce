/*
 * f32 real FFT: the same structure as the q15 one (src/fft_q15.c) without
 * the scaling: an n/2-point complex radix-2 DIT FFT of the samples paired as
 * complex numbers, then the split stage.
 *
 * Every routine here works on L interleaved transforms ("lanes"): value s
 * of transform l is at z[s * L + l].  The public single transforms use
 * L = 1; the block-circulant layer (bc_dense_f32.c) runs CIRCNN_F32_LANES
 * blocks at once, where each loop over the lanes becomes one SIMD operation
 * (SSE2 on x86-64, from plain C).  The lane count is a constant in every
 * call, so the compiler specialises the inlined code for it.
 */
#include <stddef.h>

#include "circnn/fft.h"
#include "fft_common.h"
#include "twiddle.h"

/* Byte bit reversal, for the bit-reversal permutations. */
#define R2(v) v, v + 2 * 64, v + 1 * 64, v + 3 * 64
#define R4(v) R2(v), R2(v + 2 * 16), R2(v + 1 * 16), R2(v + 3 * 16)
#define R6(v) R4(v), R4(v + 2 * 4), R4(v + 1 * 4), R4(v + 3 * 4)
static const uint8_t rev8[256] = {R6(0), R6(2), R6(1), R6(3)};
#undef R2
#undef R4
#undef R6

/* Reverse the low `bits` bits of i, i < 2^16, 1 <= bits <= 16. */
static inline uint32_t bitrev16(uint32_t i, uint32_t bits)
{
    uint32_t r = ((uint32_t)rev8[i & 0xffu] << 8) | rev8[(i >> 8) & 0xffu];
    return r >> (16u - bits);
}

/* out[rev(t)] = in[t] for the m complex values of L lanes; in != out. */
static inline void bitrev_copy(const float *restrict in, float *restrict out, uint32_t m,
                               uint32_t L)
{
    if (m == 1) {
        for (uint32_t l = 0; l < 2 * L; l++) out[l] = in[l];
        return;
    }
    uint32_t bits = circnn_log2u(m);
    for (uint32_t t = 0; t < m; t++) {
        const float *src = in + (size_t)2 * L * t;
        float *dst = out + (size_t)2 * L * bitrev16(t, bits);
        for (uint32_t l = 0; l < 2 * L; l++) dst[l] = src[l];
    }
}

/* The same permutation in place, one lane. */
static void bitrev_swap(float *z, uint32_t m)
{
    if (m <= 2) return;
    uint32_t bits = circnn_log2u(m);
    for (uint32_t i = 1; i < m - 1; i++) {
        uint32_t j = bitrev16(i, bits);
        if (j > i) {
            float re = z[2 * i], im = z[2 * i + 1];
            z[2 * i] = z[2 * j];
            z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = re;
            z[2 * j + 1] = im;
        }
    }
}

/* Radix-2 butterflies a, b <- a + w b, a - w b; the unit-twiddle one without
 * the product. */
static inline void bfly(float *restrict a, float *restrict b, float wr, float wi, uint32_t L)
{
    for (uint32_t l = 0; l < L; l++) {
        float br = b[l], bi = b[L + l];
        float tr = wr * br - wi * bi, ti = wr * bi + wi * br;
        float ar = a[l], ai = a[L + l];
        a[l] = ar + tr;
        a[L + l] = ai + ti;
        b[l] = ar - tr;
        b[L + l] = ai - ti;
    }
}

static inline void bfly1(float *restrict a, float *restrict b, uint32_t L)
{
    for (uint32_t l = 0; l < L; l++) {
        float br = b[l], bi = b[L + l], ar = a[l], ai = a[L + l];
        a[l] = ar + br;
        a[L + l] = ai + bi;
        b[l] = ar - br;
        b[L + l] = ai - bi;
    }
}

/* In-place radix-2 DIT stages of an m-point complex FFT whose input is in
 * bit-reversed order; sign -1 forward (numpy's), +1 inverse (unscaled). */
static inline void complex_stages(float *z, uint32_t m, int inverse, uint32_t L)
{
    for (uint32_t len = 2; len <= m; len <<= 1) {
        uint32_t half = len / 2, step = CIRCNN_TWIDDLE_CIRCLE / len;
        for (uint32_t g = 0; g < m; g += len)
            bfly1(z + (size_t)2 * L * g, z + (size_t)2 * L * (g + half), L);
        for (uint32_t j = 1; j < half; j++) {
            float wr, s;
            circnn_twiddle_f32(j * step, &wr, &s);
            float wi = inverse ? s : -s;
            for (uint32_t g = j; g < m; g += len)
                bfly(z + (size_t)2 * L * g, z + (size_t)2 * L * (g + half), wr, wi, L);
        }
    }
}

static inline void split_forward_pair(float *restrict zk, float *restrict zm, float c, float s,
                                      uint32_t L)
{
    for (uint32_t l = 0; l < L; l++) {
        float er = zk[l] + zm[l], ei = zk[L + l] - zm[L + l];
        float dr = zk[l] - zm[l], di = zk[L + l] + zm[L + l];
        float pr = c * di - s * dr, pi = -(c * dr + s * di);
        zk[l] = 0.5f * (er + pr);
        zk[L + l] = 0.5f * (ei + pi);
        zm[l] = 0.5f * (er - pr);
        zm[L + l] = 0.5f * (pi - ei);
    }
}

/* See split_forward in fft_q15.c for the formulas. */
static inline void split_forward(float *z, uint32_t m, uint32_t n, uint32_t L)
{
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    for (uint32_t l = 0; l < L; l++) {
        float zr = z[l], zi = z[L + l];
        z[l] = zr + zi;
        z[L + l] = zr - zi;
        if (m >= 2) z[(size_t)(m + 1) * L + l] = -z[(size_t)(m + 1) * L + l];
    }
    for (uint32_t k = 1; k < m / 2; k++) {
        float c, s;
        circnn_twiddle_f32(k * step, &c, &s);
        split_forward_pair(z + (size_t)2 * L * k, z + (size_t)2 * L * (m - k), c, s, L);
    }
}

static inline void split_inverse_pair(float *restrict xk, float *restrict xm, float c, float s,
                                      uint32_t L)
{
    for (uint32_t l = 0; l < L; l++) {
        float er = xk[l] + xm[l], ei = xk[L + l] - xm[L + l];
        float pr = xk[l] - xm[l], pi = xk[L + l] + xm[L + l];
        float qr = -s * pr - c * pi, qi = c * pr - s * pi;
        xk[l] = er + qr;
        xk[L + l] = ei + qi;
        xm[l] = er - qr;
        xm[L + l] = qi - ei;
    }
}

/* The inverse of split_forward, without its factor 1/2 (folded into the
 * final 1/n scale). */
static inline void split_inverse(float *z, uint32_t m, uint32_t n, uint32_t L)
{
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    for (uint32_t l = 0; l < L; l++) {
        float x0 = z[l], xm = z[L + l];
        z[l] = x0 + xm;
        z[L + l] = x0 - xm;
        if (m >= 2) {
            z[(size_t)m * L + l] = 2.0f * z[(size_t)m * L + l];
            z[(size_t)(m + 1) * L + l] = -2.0f * z[(size_t)(m + 1) * L + l];
        }
    }
    for (uint32_t k = 1; k < m / 2; k++) {
        float c, s;
        circnn_twiddle_f32(k * step, &c, &s);
        split_inverse_pair(z + (size_t)2 * L * k, z + (size_t)2 * L * (m - k), c, s, L);
    }
}

void circnn_rfft_f32(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    if (out != in) {
        bitrev_copy(in, out, m, 1);
    } else {
        bitrev_swap(out, m);
    }
    complex_stages(out, m, 0, 1);
    split_forward(out, m, n, 1);
}

void circnn_irfft_f32(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    float scale = 1.0f / (float)n;
    if (out != in)
        for (uint32_t i = 0; i < n; i++) out[i] = in[i];
    split_inverse(out, m, n, 1);
    bitrev_swap(out, m);
    complex_stages(out, m, 1, 1);
    for (uint32_t i = 0; i < n; i++) out[i] *= scale;
}

void circnn_rfft_f32_lanes(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    bitrev_copy(in, out, m, CIRCNN_F32_LANES);
    complex_stages(out, m, 0, CIRCNN_F32_LANES);
    split_forward(out, m, n, CIRCNN_F32_LANES);
}

void circnn_irfft_f32_lanes_unscaled(float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    split_inverse(in, m, n, CIRCNN_F32_LANES);
    bitrev_copy(in, out, m, CIRCNN_F32_LANES);
    complex_stages(out, m, 1, CIRCNN_F32_LANES);
}
