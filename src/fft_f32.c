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
 * butterfly one vector operation per part (on x86-64 CPUs with AVX2, 8 lanes
 * at a time, that is two groups of 4 blocks); other compilers get the same
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

/* The inverse transform without the 1/n. */
static void irfft_unscaled_1(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    if (out != in)
        for (uint32_t i = 0; i < n; i++) out[i] = in[i];
    split_inverse_1(out, m, n);
    bitrev_swap(out, m);
    complex_stages_1(out, m, 1);
}

void circnn_irfft_f32(const float *in, float *out, uint32_t n)
{
    float scale = 1.0f / (float)n;
    irfft_unscaled_1(in, out, n);
    for (uint32_t i = 0; i < n; i++) out[i] *= scale;
}

/* ---------------------------------------------------------------------------
 * Many lanes at a time: 4G lanes, G groups of 4.
 *
 * Complex value e of lane 4u + v (u < G, v < 4) has its real part at
 * z[8G e + 4u + v] and its imaginary part at z[8G e + 4G + 4u + v]: the
 * lane layout of the generic code with L = 4G.  The vector code
 * (fft_f32_vec.h) keeps each group of four in one 4-float vector, or two
 * neighbouring groups in one 8-float vector (AVX2, G even), so every
 * butterfly is G or G/2 vector butterflies, and the twiddles and the loop
 * control are shared by G.
 */

/* The lane-layout interface (fft_common.h), in the generic code with L = 4
 * on every target: nothing calls it on a hot path. */
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

#if CIRCNN_HAVE_V4

#if CIRCNN_F32_LANES != 4
#error "the vector code below is written for CIRCNN_F32_LANES == 4"
#endif

static inline v4 splat(float f)
{
    v4 v = {f, f, f, f};
    return v;
}

#define VF v4
#define VW 4
#define VN(name) v4_##name
#define VFN static inline
#define VLD(p) ld(p)
#define VST(p, v) st(p, v)
#define VLD2(lo, hi) ((void)(hi), ld(lo))
#define VST2(lo, hi, v) ((void)(hi), st(lo, v))
#define VSPLAT(f) splat(f)
#define VSHUF(a, b, i0, i1, i2, i3) SHUF(a, b, i0, i1, i2, i3)
#include "fft_f32_vec.h"

#if CIRCNN_X86_AVX2
/* The same code on 8-float vectors, compiled for AVX2 (without FMA: the
 * same multiplications and additions as the 4-float code) and run when the
 * CPU has it and G is even. */
#include <immintrin.h>

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#if defined(__clang__)
#define SHUF8(a, b, i0, i1, i2, i3) \
    __builtin_shufflevector(a, b, LO8(i0), LO8(i1), LO8(i2), LO8(i3), HI8(i0), HI8(i1), HI8(i2), HI8(i3))
#else
typedef int32_t v8i __attribute__((vector_size(32)));
#define SHUF8(a, b, i0, i1, i2, i3) \
    __builtin_shuffle(a, b, (v8i){LO8(i0), LO8(i1), LO8(i2), LO8(i3), HI8(i0), HI8(i1), HI8(i2), HI8(i3)})
#endif
/* Index i of a 4-lane shuffle (0-3: a, 4-7: b) in the low and high halves. */
#define LO8(i) ((i) < 4 ? (i) : (i) + 4)
#define HI8(i) ((i) < 4 ? (i) + 4 : (i) + 8)

#define VF v8
#define VW 8
#define VN(name) v8_##name
#define VFN static inline __attribute__((target("avx2")))
#define VLD(p) (*(const v8u *)(const void *)(p))
#define VST(p, v) (*(v8u *)(void *)(p) = (v))
#define VLD2(lo, hi) \
    ((v8)_mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo)), _mm_loadu_ps(hi), 1))
#define VST2(lo, hi, v) \
    (_mm_storeu_ps(lo, _mm256_castps256_ps128((__m256)(v))), \
     _mm_storeu_ps(hi, _mm256_extractf128_ps((__m256)(v), 1)))
#define VSPLAT(f) ((v8){(f), (f), (f), (f), (f), (f), (f), (f)})
#define VSHUF(a, b, i0, i1, i2, i3) SHUF8(a, b, i0, i1, i2, i3)
#include "fft_f32_vec.h"

/* The 8-float code is taken for an even number of groups on a CPU with
 * AVX2 (libgcc's or compiler-rt's CPUID figures, which include the OS's
 * support of the registers). */
#define WIDE(groups) ((groups) % 2 == 0 && __builtin_cpu_supports("avx2"))
#endif

void circnn_rfft_f32_rows(const float *rows, float *out, float *work, uint32_t n, uint32_t groups)
{
    if (n < 16) {
        for (uint32_t l = 0; l < 4 * groups; l++)
            circnn_rfft_f32(rows + (size_t)l * n, out + (size_t)l * n, n);
        return;
    }
#if CIRCNN_X86_AVX2
    if (WIDE(groups)) {
        v8_rfft_rows(rows, out, work, n, groups);
        return;
    }
#endif
    v4_rfft_rows(rows, out, work, n, groups);
}

void circnn_irfft_f32_rows_unscaled(float *spec, float *out, uint32_t n, uint32_t groups)
{
    if (n < 4) {
        for (uint32_t l = 0; l < 4 * groups; l++) irfft_unscaled_1(spec + (size_t)l * n, out + (size_t)l * n, n);
        return;
    }
#if CIRCNN_X86_AVX2
    if (WIDE(groups)) {
        v8_irfft_rows(spec, out, n, groups);
        return;
    }
#endif
    v4_irfft_rows(spec, out, n, groups);
}

#else /* generic code */

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

void circnn_rfft_f32_rows(const float *rows, float *out, float *work, uint32_t n, uint32_t groups)
{
    uint32_t m = n / 2, L = CIRCNN_F32_LANES * groups;
    rows_to_lanes(rows, work, n, L);
    bitrev_copy(work, out, m, L);  /* rows has been read: out may be rows */
    complex_stages_any(out, m, 0, L);
    split_forward(out, m, n, L);
    lanes_to_rows(out, work, n, L);
    for (size_t s = 0; s < (size_t)L * n; s++) out[s] = work[s];
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
