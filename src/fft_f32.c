/*
 * f32 real FFT: an n/2-point complex FFT of the samples paired as complex
 * numbers (z[t] = x[2t] + i x[2t+1]; radix-4 DIT stages after a bit-reversal
 * permutation, with one radix-2 stage when log2(n/2) is odd), then the split
 * stage that separates the two real spectra (as in src/fft_q15.c).
 *
 * The routines work on L interleaved transforms ("lanes"): value s of
 * transform l is at z[s * L + l].  The public single transforms use L = 1.
 * The block-circulant layer (bc_dense_f32.c) transforms CIRCNN_F32_LANES = 4
 * blocks at once: with GCC or Clang through their 16-byte vector type (SSE2
 * on x86-64, NEON on AArch64, plain code elsewhere), which makes each
 * butterfly one vector operation per part; other compilers get the same
 * generic code as the single transforms, with L = 4.
 *
 * The inverse complex FFT is the forward one with the real and imaginary
 * parts exchanged: ifft(z) = swap(fft(swap(z))) for swap(a + ib) = b + ia
 * (unscaled); the stages just read and write the parts the other way round.
 */
#include <stddef.h>

#include "circnn/fft.h"
#include "fft_common.h"
#include "twiddle.h"

/* The generic code below takes the lane count L as an argument; it is forced
 * inline into small wrappers for each L, so that every L gets code made for
 * it (gcc -O2 would otherwise keep one copy with L unknown). */
#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

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
static ALWAYS_INLINE void bitrev_copy(const float *restrict in, float *restrict out, uint32_t m,
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

/* cos and sin of 2 pi t / 1024 for 0 <= t < 1024. */
static inline void twiddle_full(uint32_t t, float *c, float *s)
{
    if (t < CIRCNN_TWIDDLE_CIRCLE / 2) {
        circnn_twiddle_f32(t, c, s);
    } else {
        circnn_twiddle_f32(t - CIRCNN_TWIDDLE_CIRCLE / 2, c, s);
        *c = -*c;
        *s = -*s;
    }
}

/* The butterflies take the real and imaginary parts of each point as
 * separate pointers (L lanes each) and compute the forward transform. */

/* Radix-2 with a unit twiddle: a, b <- a + b, a - b. */
static inline void bfly2(float *restrict ar, float *restrict ai, float *restrict br,
                         float *restrict bi, uint32_t L)
{
    for (uint32_t l = 0; l < L; l++) {
        float xr = ar[l], xi = ai[l], yr = br[l], yi = bi[l];
        ar[l] = xr + yr;
        ai[l] = xi + yi;
        br[l] = xr - yr;
        bi[l] = xi - yi;
    }
}

/*
 * Radix-4 DIT butterfly: two radix-2 stages (len / 2, then len) on the
 * points a0..a3 at g, g + len/4, g + len/2, g + 3 len/4, with w[] = the
 * twiddles W^j, W^2j, W^3j (W = e^(-2 pi i / len)) as (re, im) pairs:
 *     A = a0, B = W^2j a1, C = W^j a2, D = W^3j a3,
 *     a0 = A + B + (C + D),  a2 = A + B - (C + D),
 *     a1 = A - B - i (C - D),  a3 = A - B + i (C - D).
 */
static inline void bfly4(float *restrict r0, float *restrict i0, float *restrict r1,
                         float *restrict i1, float *restrict r2, float *restrict i2,
                         float *restrict r3, float *restrict i3, const float *w, uint32_t L)
{
    const float w1r = w[0], w1i = w[1], w2r = w[2], w2i = w[3], w3r = w[4], w3i = w[5];
    for (uint32_t l = 0; l < L; l++) {
        float ar = r0[l], ai = i0[l];
        float br = w2r * r1[l] - w2i * i1[l], bi = w2r * i1[l] + w2i * r1[l];
        float cr = w1r * r2[l] - w1i * i2[l], ci = w1r * i2[l] + w1i * r2[l];
        float dr = w3r * r3[l] - w3i * i3[l], di = w3r * i3[l] + w3i * r3[l];
        float c0r = ar + br, c0i = ai + bi, c1r = ar - br, c1i = ai - bi;
        float sr = cr + dr, si = ci + di, er = cr - dr, ei = ci - di;
        r0[l] = c0r + sr;
        i0[l] = c0i + si;
        r2[l] = c0r - sr;
        i2[l] = c0i - si;
        r1[l] = c1r + ei;  /* A - B - i (C - D) */
        i1[l] = c1i - er;
        r3[l] = c1r - ei;
        i3[l] = c1i + er;
    }
}

/* The same with W^0 = 1: no products. */
static inline void bfly4_unit(float *restrict r0, float *restrict i0, float *restrict r1,
                              float *restrict i1, float *restrict r2, float *restrict i2,
                              float *restrict r3, float *restrict i3, uint32_t L)
{
    for (uint32_t l = 0; l < L; l++) {
        float ar = r0[l], ai = i0[l], br = r1[l], bi = i1[l];
        float cr = r2[l], ci = i2[l], dr = r3[l], di = i3[l];
        float c0r = ar + br, c0i = ai + bi, c1r = ar - br, c1i = ai - bi;
        float sr = cr + dr, si = ci + di, er = cr - dr, ei = ci - di;
        r0[l] = c0r + sr;
        i0[l] = c0i + si;
        r2[l] = c0r - sr;
        i2[l] = c0i - si;
        r1[l] = c1r + ei;
        i1[l] = c1i - er;
        r3[l] = c1r - ei;
        i3[l] = c1i + er;
    }
}

/* In-place DIT stages of an m-point complex FFT whose input is in
 * bit-reversed order; forward (numpy's sign) or inverse (unscaled).
 * A radix-2 stage first when log2(m) is odd, then radix-4 stages. */
static ALWAYS_INLINE void complex_stages(float *z, uint32_t m, int inverse, uint32_t L)
{
    /* Offsets of the parts read as real and imaginary: swapped for the inverse. */
    const size_t re = inverse ? L : 0, im = inverse ? 0 : L;
    uint32_t len = 4;
    if (circnn_log2u(m) & 1u) {
        for (uint32_t g = 0; g < m; g += 2) {
            float *a = z + (size_t)2 * L * g, *b = a + 2 * L;
            bfly2(a + re, a + im, b + re, b + im, L);
        }
        len = 8;
    }
    for (; len <= m; len <<= 2) {
        uint32_t q = len / 4, step = CIRCNN_TWIDDLE_CIRCLE / len;
        size_t o = (size_t)2 * L * q;
        for (uint32_t g = 0; g < m; g += len) {
            float *a = z + (size_t)2 * L * g;
            bfly4_unit(a + re, a + im, a + o + re, a + o + im, a + 2 * o + re, a + 2 * o + im,
                       a + 3 * o + re, a + 3 * o + im, L);
        }
        for (uint32_t j = 1; j < q; j++) {
            float w[6];
            for (uint32_t r = 0; r < 3; r++) {
                float c, s;
                twiddle_full((r + 1) * j * step, &c, &s);
                w[2 * r] = c;
                w[2 * r + 1] = -s;
            }
            for (uint32_t g = j; g < m; g += len) {
                float *a = z + (size_t)2 * L * g;
                bfly4(a + re, a + im, a + o + re, a + o + im, a + 2 * o + re, a + 2 * o + im,
                      a + 3 * o + re, a + 3 * o + im, w, L);
            }
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
static ALWAYS_INLINE void split_forward(float *z, uint32_t m, uint32_t n, uint32_t L)
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
static ALWAYS_INLINE void split_inverse(float *z, uint32_t m, uint32_t n, uint32_t L)
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

/* The generic code for one lane. */
static void bitrev_copy_1(const float *in, float *out, uint32_t m)
{
    bitrev_copy(in, out, m, 1);
}

static void complex_stages_1(float *z, uint32_t m, int inverse)
{
    complex_stages(z, m, inverse, 1);
}

static void split_forward_1(float *z, uint32_t m, uint32_t n)
{
    split_forward(z, m, n, 1);
}

static void split_inverse_1(float *z, uint32_t m, uint32_t n)
{
    split_inverse(z, m, n, 1);
}

void circnn_rfft_f32(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    if (out != in) {
        bitrev_copy_1(in, out, m);
    } else {
        bitrev_swap(out, m);
    }
    complex_stages_1(out, m, 0);
    split_forward_1(out, m, n);
}

void circnn_irfft_f32(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    float scale = 1.0f / (float)n;
    if (out != in)
        for (uint32_t i = 0; i < n; i++) out[i] = in[i];
    split_inverse_1(out, m, n);
    bitrev_swap(out, m);
    complex_stages_1(out, m, 1);
    for (uint32_t i = 0; i < n; i++) out[i] *= scale;
}

/* ---------------------------------------------------------------------------
 * Many lanes at a time: 4G lanes, G groups of 4.
 *
 * Complex value e of lane 4u + v (u < G, v < 4) has its real part at
 * z[8G e + 4u + v] and its imaginary part at z[8G e + 4G + 4u + v]: the
 * lane layout of the generic code with L = 4G.  The vector code below keeps
 * each group of four in one vector, so every butterfly is G vector
 * butterflies, and the twiddles and the loop control are shared by G.
 */

#if CIRCNN_HAVE_V4

#if CIRCNN_F32_LANES != 4
#error "the vector code below is written for CIRCNN_F32_LANES == 4"
#endif

static inline v4 splat(float f)
{
    v4 v = {f, f, f, f};
    return v;
}

/* Radix-2 stage with unit twiddles (the parts all go the same way). */
static void v4_stage2(float *z, uint32_t m, uint32_t G)
{
    const size_t e = (size_t)8 * G;
    for (uint32_t g = 0; g < m; g += 2) {
        float *a = z + e * g, *b = a + e;
        for (size_t u = 0; u < e; u += 4) {
            v4 x = ld(a + u), y = ld(b + u);
            st(a + u, x + y);
            st(b + u, x - y);
        }
    }
}

/* bfly4 of the generic code on the G groups at a; re, im: offsets of the
 * parts (exchanged for the inverse); o: distance of the four points in
 * floats; w: the twiddles as vectors, or NULL for W^0 = 1. */
static inline void v4_bfly4(float *a, size_t o, size_t re, size_t im, const v4 *w, uint32_t G)
{
    float *r0 = a + re, *i0 = a + im, *r1 = r0 + o, *i1 = i0 + o;
    float *r2 = r1 + o, *i2 = i1 + o, *r3 = r2 + o, *i3 = i2 + o;
    for (size_t u = 0; u < (size_t)4 * G; u += 4) {
        v4 ar = ld(r0 + u), ai = ld(i0 + u), br = ld(r1 + u), bi = ld(i1 + u);
        if (w) {
            v4 t = w[2] * br - w[3] * bi;
            bi = w[2] * bi + w[3] * br;
            br = t;
        }
        v4 c0r = ar + br, c0i = ai + bi, c1r = ar - br, c1i = ai - bi;
        v4 cr = ld(r2 + u), ci = ld(i2 + u), dr = ld(r3 + u), di = ld(i3 + u);
        if (w) {
            v4 t = w[0] * cr - w[1] * ci;
            ci = w[0] * ci + w[1] * cr;
            cr = t;
            t = w[4] * dr - w[5] * di;
            di = w[4] * di + w[5] * dr;
            dr = t;
        }
        v4 sr = cr + dr, si = ci + di, er = cr - dr, ei = ci - di;
        st(r0 + u, c0r + sr);
        st(i0 + u, c0i + si);
        st(r2 + u, c0r - sr);
        st(i2 + u, c0i - si);
        st(r1 + u, c1r + ei);
        st(i1 + u, c1i - er);
        st(r3 + u, c1r - ei);
        st(i3 + u, c1i + er);
    }
}

/* complex_stages on 4G lanes; done: the stages up to that length were
 * already done (rows_to_lanes_bitrev_first), 1 for none. */
static void v4_stages(float *z, uint32_t m, int inverse, uint32_t G, uint32_t done)
{
    const size_t e = (size_t)8 * G;
    const size_t re = inverse ? (size_t)4 * G : 0, im = inverse ? 0 : (size_t)4 * G;
    uint32_t len = 4;
    if (circnn_log2u(m) & 1u) {
        if (done < 2) v4_stage2(z, m, G);
        len = 8;
    }
    for (; len <= m; len <<= 2) {
        uint32_t q = len / 4, step = CIRCNN_TWIDDLE_CIRCLE / len;
        size_t o = e * q;
        if (len <= done) continue;
        for (uint32_t g = 0; g < m; g += len) v4_bfly4(z + e * g, o, re, im, NULL, G);
        for (uint32_t j = 1; j < q; j++) {
            v4 w[6];
            for (uint32_t r = 0; r < 3; r++) {
                float c, s;
                twiddle_full((r + 1) * j * step, &c, &s);
                w[2 * r] = splat(c);
                w[2 * r + 1] = splat(-s);
            }
            for (uint32_t g = j; g < m; g += len) v4_bfly4(z + e * g, o, re, im, w, G);
        }
    }
}

/* bitrev_copy for 4G lanes. */
static void v4_bitrev_copy(const float *in, float *out, uint32_t m, uint32_t G)
{
    const size_t e = (size_t)8 * G;
    uint32_t bits = circnn_log2u(m);
    for (uint32_t t = 0; t < m; t++) {
        const float *src = in + e * t;
        float *dst = out + e * (m == 1 ? 0 : bitrev16(t, bits));
        for (size_t u = 0; u < e; u += 4) st(dst + u, ld(src + u));
    }
}

static void v4_split_forward(float *z, uint32_t m, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G;
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    for (size_t u = 0; u < h; u += 4) {
        v4 zr = ld(z + u), zi = ld(z + h + u);
        st(z + u, zr + zi);
        st(z + h + u, zr - zi);
        if (m >= 2) st(z + e * (m / 2) + h + u, -ld(z + e * (m / 2) + h + u));
    }
    for (uint32_t k = 1; k < m / 2; k++) {
        float cf, sf;
        circnn_twiddle_f32(k * step, &cf, &sf);
        v4 c = splat(cf), s = splat(sf), half = splat(0.5f);
        float *zk = z + e * k, *zm = z + e * (m - k);
        for (size_t u = 0; u < h; u += 4) {
            v4 kr = ld(zk + u), ki = ld(zk + h + u), mr = ld(zm + u), mi = ld(zm + h + u);
            v4 er = kr + mr, ei = ki - mi, dr = kr - mr, di = ki + mi;
            v4 pr = c * di - s * dr, pi = -(c * dr + s * di);
            st(zk + u, half * (er + pr));
            st(zk + h + u, half * (ei + pi));
            st(zm + u, half * (er - pr));
            st(zm + h + u, half * (pi - ei));
        }
    }
}

static void v4_split_inverse(float *z, uint32_t m, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G;
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    for (size_t u = 0; u < h; u += 4) {
        v4 x0 = ld(z + u), xm = ld(z + h + u);
        st(z + u, x0 + xm);
        st(z + h + u, x0 - xm);
        if (m >= 2) {
            float *zh = z + e * (m / 2);
            st(zh + u, 2.0f * ld(zh + u));
            st(zh + h + u, -2.0f * ld(zh + h + u));
        }
    }
    for (uint32_t k = 1; k < m / 2; k++) {
        float cf, sf;
        circnn_twiddle_f32(k * step, &cf, &sf);
        v4 c = splat(cf), s = splat(sf);
        float *xk = z + e * k, *xj = z + e * (m - k);
        for (size_t u = 0; u < h; u += 4) {
            v4 kr = ld(xk + u), ki = ld(xk + h + u), jr = ld(xj + u), ji = ld(xj + h + u);
            v4 er = kr + jr, ei = ki - ji, pr = kr - jr, pi = ki + ji;
            v4 qr = -s * pr - c * pi, qi = c * pr - s * pi;
            st(xk + u, er + qr);
            st(xk + h + u, ei + qi);
            st(xj + u, er - qr);
            st(xj + h + u, qi - ei);
        }
    }
}

/*
 * bitrev_copy for 4G lanes with the first stage of v4_stages done on the
 * way, as in rows_to_lanes_bitrev_first (m >= 4; the parts are exchanged
 * for the inverse).  Returns the length of the stage done.
 */
static uint32_t v4_bitrev_copy_first(const float *in, float *out, uint32_t m, int inverse,
                                     uint32_t G)
{
    const size_t e = (size_t)8 * G;
    const size_t re = inverse ? (size_t)4 * G : 0, im = inverse ? 0 : (size_t)4 * G;
    uint32_t bits = circnn_log2u(m);
    if (bits & 1u) {
        for (uint32_t t = 0; t < m / 2; t++) {
            const float *a = in + e * t, *b = in + e * (t + m / 2);
            float *p = out + e * bitrev16(t, bits);
            for (size_t u = 0; u < e; u += 4) {  /* both parts alike */
                v4 x = ld(a + u), y = ld(b + u);
                st(p + u, x + y);
                st(p + e + u, x - y);
            }
        }
        return 2;
    }
    for (uint32_t t = 0; t < m / 4; t++) {
        const float *a = in + e * t, *b = in + e * (t + m / 2), *c = in + e * (t + m / 4),
                    *d = in + e * (t + 3 * (m / 4));
        float *p = out + e * bitrev16(t, bits);
        for (uint32_t u = 0; u < 4 * G; u += 4) {  /* bfly4_unit */
            v4 ar = ld(a + re + u), ai = ld(a + im + u), br = ld(b + re + u), bi = ld(b + im + u);
            v4 cr = ld(c + re + u), ci = ld(c + im + u), dr = ld(d + re + u), di = ld(d + im + u);
            v4 c0r = ar + br, c0i = ai + bi, c1r = ar - br, c1i = ai - bi;
            v4 sr = cr + dr, si = ci + di, er = cr - dr, ei = ci - di;
            st(p + re + u, c0r + sr);
            st(p + im + u, c0i + si);
            st(p + 2 * e + re + u, c0r - sr);
            st(p + 2 * e + im + u, c0i - si);
            st(p + e + re + u, c1r + ei);
            st(p + e + im + u, c1i - er);
            st(p + 3 * e + re + u, c1r - ei);
            st(p + 3 * e + im + u, c1i + er);
        }
    }
    return 4;
}

/* The lane-layout interface (fft_common.h): G = 1. */
void circnn_rfft_f32_lanes(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    v4_bitrev_copy(in, out, m, 1);
    v4_stages(out, m, 0, 1, 1);
    v4_split_forward(out, m, n, 1);
}

void circnn_irfft_f32_lanes_unscaled(float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    v4_split_inverse(in, m, n, 1);
    v4_bitrev_copy(in, out, m, 1);
    v4_stages(out, m, 1, 1, 1);
}

/* Transpose the 4 x 4 matrix whose rows are a, b, c, d. */
static inline void transpose4(v4 *a, v4 *b, v4 *c, v4 *d)
{
    v4 t0 = SHUF(*a, *b, 0, 4, 1, 5), t1 = SHUF(*a, *b, 2, 6, 3, 7);
    v4 t2 = SHUF(*c, *d, 0, 4, 1, 5), t3 = SHUF(*c, *d, 2, 6, 3, 7);
    *a = SHUF(t0, t2, 0, 1, 4, 5);
    *b = SHUF(t0, t2, 2, 3, 6, 7);
    *c = SHUF(t1, t3, 0, 1, 4, 5);
    *d = SHUF(t1, t3, 2, 3, 6, 7);
}

/* The complex values t, t + 1 of the 4 rows at r (n reals apart), as the
 * real and imaginary vectors of t (*r0, *i0) and t + 1 (*r1, *i1). */
static inline void load_pairs(const float *r, uint32_t n, uint32_t t, v4 *r0, v4 *i0, v4 *r1,
                              v4 *i1)
{
    *r0 = ld(r + 2 * t);
    *i0 = ld(r + n + 2 * t);
    *r1 = ld(r + 2 * (size_t)n + 2 * t);
    *i1 = ld(r + 3 * (size_t)n + 2 * t);
    transpose4(r0, i0, r1, i1);
}

/*
 * 4G rows of n reals -> lane layout with the complex values in bit-reversed
 * order, and the first stage of v4_stages done on the way (m >= 8): the
 * radix-2 stage pairs t and t + m/2, which land at rev(t) and rev(t) + 1;
 * the first radix-4 stage takes t, t + m/2, t + m/4, t + 3m/4, which land at
 * rev(t) + 0..3.  Returns the length of the stage done.
 */
static uint32_t rows_to_lanes_bitrev_first(const float *rows, float *z, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G;
    uint32_t m = n / 2, bits = circnn_log2u(m);
    if (bits & 1u) {
        for (uint32_t t = 0; t < m / 2; t += 2) {
            float *z0 = z + e * bitrev16(t, bits), *z1 = z + e * bitrev16(t + 1, bits);
            for (uint32_t u = 0; u < G; u++) {
                const float *r = rows + (size_t)4 * u * n;
                v4 ar0, ai0, ar1, ai1, br0, bi0, br1, bi1;
                load_pairs(r, n, t, &ar0, &ai0, &ar1, &ai1);
                load_pairs(r, n, t + m / 2, &br0, &bi0, &br1, &bi1);
                float *p0 = z0 + 4 * u, *p1 = z1 + 4 * u;
                st(p0, ar0 + br0);
                st(p0 + h, ai0 + bi0);
                st(p0 + e, ar0 - br0);
                st(p0 + e + h, ai0 - bi0);
                st(p1, ar1 + br1);
                st(p1 + h, ai1 + bi1);
                st(p1 + e, ar1 - br1);
                st(p1 + e + h, ai1 - bi1);
            }
        }
        return 2;
    }
    for (uint32_t t = 0; t < m / 4; t += 2) {
        float *z0 = z + e * bitrev16(t, bits), *z1 = z + e * bitrev16(t + 1, bits);
        for (uint32_t u = 0; u < G; u++) {
            const float *r = rows + (size_t)4 * u * n;
            v4 ar[2], ai[2], br[2], bi[2], cr[2], ci[2], dr[2], di[2];
            load_pairs(r, n, t, &ar[0], &ai[0], &ar[1], &ai[1]);
            load_pairs(r, n, t + m / 2, &br[0], &bi[0], &br[1], &bi[1]);
            load_pairs(r, n, t + m / 4, &cr[0], &ci[0], &cr[1], &ci[1]);
            load_pairs(r, n, t + 3 * (m / 4), &dr[0], &di[0], &dr[1], &di[1]);
            for (uint32_t v = 0; v < 2; v++) {  /* bfly4_unit, forward */
                float *p = (v ? z1 : z0) + 4 * u;
                v4 c0r = ar[v] + br[v], c0i = ai[v] + bi[v], c1r = ar[v] - br[v], c1i = ai[v] - bi[v];
                v4 sr = cr[v] + dr[v], si = ci[v] + di[v], er = cr[v] - dr[v], ei = ci[v] - di[v];
                st(p, c0r + sr);
                st(p + h, c0i + si);
                st(p + 2 * e, c0r - sr);
                st(p + 2 * e + h, c0i - si);
                st(p + e, c1r + ei);
                st(p + e + h, c1i - er);
                st(p + 3 * e, c1r - ei);
                st(p + 3 * e + h, c1i + er);
            }
        }
    }
    return 4;
}

/* 4G rows of n reals -> lane layout, natural order. */
static void rows_to_lanes(const float *rows, float *z, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G;
    for (uint32_t s = 0; s < n; s += 4) {
        float *z0 = z + e * (s / 2), *z1 = z0 + e;
        for (uint32_t u = 0; u < G; u++) {
            const float *r = rows + (size_t)4 * u * n + s;
            v4 a = ld(r), b = ld(r + n), c = ld(r + 2 * (size_t)n), d = ld(r + 3 * (size_t)n);
            transpose4(&a, &b, &c, &d);
            st(z0 + 4 * u, a);
            st(z0 + h + 4 * u, b);
            st(z1 + 4 * u, c);
            st(z1 + h + 4 * u, d);
        }
    }
}

/* Lane layout -> 4G rows of n reals; and the same with the two reals of
 * each pair exchanged to swapped, unless it is NULL. */
static void lanes_to_rows(const float *z, float *rows, float *swapped, uint32_t n, uint32_t G)
{
    const size_t e = (size_t)8 * G, h = (size_t)4 * G;
    for (uint32_t s = 0; s < n; s += 4) {
        const float *z0 = z + e * (s / 2), *z1 = z0 + e;
        for (uint32_t u = 0; u < G; u++) {
            size_t o = (size_t)4 * u * n + s;
            v4 a = ld(z0 + 4 * u), b = ld(z0 + h + 4 * u), c = ld(z1 + 4 * u), d = ld(z1 + h + 4 * u);
            transpose4(&a, &b, &c, &d);
            st(rows + o, a);
            st(rows + o + n, b);
            st(rows + o + 2 * (size_t)n, c);
            st(rows + o + 3 * (size_t)n, d);
            if (swapped) {
                st(swapped + o, SHUF(a, a, 1, 0, 3, 2));
                st(swapped + o + n, SHUF(b, b, 1, 0, 3, 2));
                st(swapped + o + 2 * (size_t)n, SHUF(c, c, 1, 0, 3, 2));
                st(swapped + o + 3 * (size_t)n, SHUF(d, d, 1, 0, 3, 2));
            }
        }
    }
}

void circnn_rfft_f32_rows(const float *rows, float *out, float *swapped, float *work, uint32_t n,
                          uint32_t groups)
{
    uint32_t m = n / 2;
    if (n < 16) {
        for (uint32_t l = 0; l < 4 * groups; l++) {
            float *o = out + (size_t)l * n;
            circnn_rfft_f32(rows + (size_t)l * n, o, n);
            if (swapped)
                for (uint32_t s = 0; s < n; s += 2) {
                    swapped[(size_t)l * n + s] = o[s + 1];
                    swapped[(size_t)l * n + s + 1] = o[s];
                }
        }
        return;
    }
    uint32_t done = rows_to_lanes_bitrev_first(rows, work, n, groups);
    v4_stages(work, m, 0, groups, done);
    v4_split_forward(work, m, n, groups);
    lanes_to_rows(work, out, swapped, n, groups);
}

void circnn_irfft_f32_rows_unscaled(float *spec, float *out, uint32_t n, uint32_t groups)
{
    uint32_t m = n / 2;
    if (n < 4) {
        for (uint32_t l = 0; l < 4 * groups; l++) {
            circnn_irfft_f32(spec + (size_t)l * n, out + (size_t)l * n, n);
            for (uint32_t s = 0; s < n; s++) out[(size_t)l * n + s] *= (float)n;
        }
        return;
    }
    rows_to_lanes(spec, out, n, groups);
    v4_split_inverse(out, m, n, groups);
    uint32_t done = v4_bitrev_copy_first(out, spec, m, 1, groups);
    v4_stages(spec, m, 1, groups, done);
    lanes_to_rows(spec, out, NULL, n, groups);
}

#else /* generic code */

/* Four lanes. */
static void complex_stages_4(float *z, uint32_t m, int inverse)
{
    complex_stages(z, m, inverse, CIRCNN_F32_LANES);
}

void circnn_rfft_f32_lanes(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    bitrev_copy(in, out, m, CIRCNN_F32_LANES);
    complex_stages_4(out, m, 0);
    split_forward(out, m, n, CIRCNN_F32_LANES);
}

void circnn_irfft_f32_lanes_unscaled(float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    split_inverse(in, m, n, CIRCNN_F32_LANES);
    bitrev_copy(in, out, m, CIRCNN_F32_LANES);
    complex_stages_4(out, m, 1);
}

/* The row interface: 4 * groups lanes, a count known only at run time. */
static void complex_stages_any(float *z, uint32_t m, int inverse, uint32_t L)
{
    complex_stages(z, m, inverse, L);
}

static void rows_to_lanes(const float *rows, float *z, uint32_t n, uint32_t L)
{
    for (uint32_t s = 0; s < n; s++)
        for (uint32_t l = 0; l < L; l++) z[(size_t)s * L + l] = rows[(size_t)l * n + s];
}

static void lanes_to_rows(const float *z, float *rows, uint32_t n, uint32_t L)
{
    for (uint32_t s = 0; s < n; s++)
        for (uint32_t l = 0; l < L; l++) rows[(size_t)l * n + s] = z[(size_t)s * L + l];
}

void circnn_rfft_f32_rows(const float *rows, float *out, float *swapped, float *work, uint32_t n,
                          uint32_t groups)
{
    uint32_t m = n / 2, L = CIRCNN_F32_LANES * groups;
    rows_to_lanes(rows, work, n, L);
    bitrev_copy(work, out, m, L);  /* rows has been read: out may be rows */
    complex_stages_any(out, m, 0, L);
    split_forward(out, m, n, L);
    lanes_to_rows(out, work, n, L);
    for (size_t s = 0; s < (size_t)L * n; s++) out[s] = work[s];
    if (swapped)
        for (size_t s = 0; s < (size_t)L * n; s += 2) {
            swapped[s] = out[s + 1];
            swapped[s + 1] = out[s];
        }
}

void circnn_irfft_f32_rows_unscaled(float *spec, float *out, uint32_t n, uint32_t groups)
{
    uint32_t m = n / 2, L = CIRCNN_F32_LANES * groups;
    rows_to_lanes(spec, out, n, L);
    split_inverse(out, m, n, L);
    bitrev_copy(out, spec, m, L);
    complex_stages_any(spec, m, 1, L);
    lanes_to_rows(spec, out, n, L);
}

#endif
