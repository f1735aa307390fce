/*
 * q15 real FFT: the n/2 complex pairs through radix-4 decimation-in-frequency
 * stages (a radix-2 one last when log2(n/2) is odd), a bit reversal, and a
 * split stage that separates the two real spectra.  Block floating point and
 * every rounding: circnn/fft.h.  This file is the portable reference; the
 * DSP-extension variant (fft_q15_dsp.c) computes the same integers.  Every
 * line has its twin in python/circnn/sim/q15.py; change them together.
 */
#include <string.h>

#include "circnn/config.h"
#include "circnn/fft.h"
#include "dsp_q15.h"
#include "fft_q15_common.h"

circnn_status_t circnn_fft_check(uint32_t n)
{
    if (n < CIRCNN_FFT_MIN_SIZE || n > CIRCNN_FFT_MAX_SIZE || (n & (n - 1u)) != 0)
        return CIRCNN_ERR_BLOCK_SIZE;
    if ((CIRCNN_FFT_SIZES & n) == 0) return CIRCNN_ERR_DISABLED;
    return CIRCNN_OK;
}

/* The sizes with straight-line code (4 and 8), whether each is compiled in,
 * and whether another size is (circnn/config.h): the transforms keep only
 * the code of the sizes compiled in (with 4 or 8 or both alone, the linker
 * drops the loops, their tables and the DSP variant). */
#define FFT_STRAIGHT (UINT32_C(4) | UINT32_C(8))
#define FFT_4 ((CIRCNN_FFT_SIZES & UINT32_C(4)) != 0)
#define FFT_8 ((CIRCNN_FFT_SIZES & UINT32_C(8)) != 0)
#define FFT_GENERAL ((CIRCNN_FFT_SIZES & ~FFT_STRAIGHT) != 0)

/*
 * n = 8 written out (m = 4 words: one radix-4 butterfly of twiddle 1, the
 * bit reversal, one split pair of twiddle 128): the same operations in the
 * same order as the loops below and as the DSP variant, without their
 * loops and table look-ups, which cost more than the transform at this
 * size (the block-circulant layers run thousands of them).  Every stored
 * value fits int16 (fft.h's bounds), so locals stand for the buffer.
 */
static inline uint32_t sq_word(int32_t re, int32_t im)
{
    return (uint32_t)(re * re) + (uint32_t)(im * im);
}

/* (v + rnd) >> k of a sum formed modulo 2^32 whose true value fits int32. */
static inline int16_t round_sum8(uint32_t v, uint32_t rnd, int32_t k)
{
    uint32_t u = v + rnd;
    int32_t w = u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
    return (int16_t)(w >> k);
}

/* The split coefficients of bin 1 of 8 (t = 128): fft.h's B. */
static inline void split8_coefficients(int32_t *br, int32_t *bi)
{
    const int32_t c = CIRCNN_TWIDDLE_EIGHTH_Q15, s = CIRCNN_TWIDDLE_EIGHTH_Q15;   /* circnn_twiddle_q15(C / 8) */
    *br = ((32767 + s) >> 1) + 1, *bi = c >> 1;
}

/* circnn_fft_q15_normalise_shift for acc != 0, by CLZ where the core has
 * it: its loop counts the k >= 0 with acc < 2^(28 - 2k), i.e. bit length
 * L <= 28 - 2k, up to 15: floor((28 - L) / 2) + 1 of them when L <= 28. */
static inline int32_t normalise_shift_clz(uint32_t *acc)
{
#if defined(__GNUC__) && (defined(__ARM_FEATURE_CLZ) || !defined(__arm__))
    const int32_t bits = 32 - __builtin_clz(*acc);
    const int32_t s0 = bits > 28 ? 0 : ((28 - bits) >> 1) >= 14 ? 15 : ((28 - bits) >> 1) + 1;
    *acc <<= 2 * s0;
    return s0;
#else
    return circnn_fft_q15_normalise_shift(acc);
#endif
}

/* The radix-4 butterfly of twiddle 1 on words a, b, c, d with shift s, in
 * place; then the bit reversal (words b and c exchanged).  Returns the OR of
 * the outputs' |y|^2. */
CIRCNN_ALWAYS_INLINE uint32_t butterfly8(int32_t *z, int32_t s, int inverse)
{
    const int32_t h1 = s >= 2, h2 = s == 3, t = s > 0;
    const int32_t pr = (z[0] + z[4]) >> h1, pi = (z[1] + z[5]) >> h1, qr = (z[0] - z[4]) >> h1;
    const int32_t qi = (z[1] - z[5]) >> h1, rr = (z[2] + z[6]) >> h1, ri = (z[3] + z[7]) >> h1;
    const int32_t ur = (z[2] - z[6]) >> h1, ui = (z[3] - z[7]) >> h1;
    const int32_t y0r = (pr + rr) >> (s - h1), y0i = (pi + ri) >> (s - h1);
    const int32_t y2r = ((pr - rr) >> h2) >> t, y2i = ((pi - ri) >> h2) >> t;
    int32_t y1r, y1i, y3r, y3i;
    if (inverse) {
        y1r = (qr - ui) >> h2, y1i = (qi + ur) >> h2, y3r = (qr + ui) >> h2, y3i = (qi - ur) >> h2;
    } else {
        y1r = (qr + ui) >> h2, y1i = (qi - ur) >> h2, y3r = (qr - ui) >> h2, y3i = (qi + ur) >> h2;
    }
    z[0] = y0r, z[1] = y0i, z[2] = y1r >> t, z[3] = y1i >> t;
    z[4] = y2r, z[5] = y2i, z[6] = y3r >> t, z[7] = y3i >> t;
    return sq_word(z[0], z[1]) | sq_word(z[2], z[3]) | sq_word(z[4], z[5]) | sq_word(z[6], z[7]);
}

static int32_t rfft8(const int16_t *in, int16_t *out)
{
    int32_t z[8] = {in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]};
    uint32_t acc = sq_word(z[0], z[1]) | sq_word(z[2], z[3]) | sq_word(z[4], z[5]) | sq_word(z[6], z[7]);
    if (acc == 0) {   /* zero in, zero out: s0 = 15 and no stage shifts (as circnn_rfft_q15_dsp) */
        for (int i = 0; i < 8; i++) out[i] = 0;
        return -15;
    }
    const int32_t s0 = normalise_shift_clz(&acc);
    z[0] *= 1 << s0, z[1] *= 1 << s0, z[2] *= 1 << s0, z[3] *= 1 << s0;
    z[4] *= 1 << s0, z[5] *= 1 << s0, z[6] *= 1 << s0, z[7] *= 1 << s0;
    const int32_t s = circnn_fft_q15_radix4_shift(acc);
    acc = butterfly8(z, s, 0);
    /* the split */
    const int32_t s2 = circnn_fft_q15_split_shift(acc), h = s2 == 2, k = 15 + s2 - h;
    const uint32_t rnd = (uint32_t)1 << (k - 1);
    int32_t br, bi;
    split8_coefficients(&br, &bi);
    out[0] = (int16_t)((z[0] + z[1]) >> s2), out[1] = (int16_t)((z[0] - z[1]) >> s2);
    out[4] = (int16_t)(z[4] >> s2), out[5] = (int16_t)((-z[5]) >> s2);
    const int32_t zr = z[2] >> h, zi = z[3] >> h, mr = z[6] >> h, mi = z[7] >> h;
    const uint32_t d1 = (uint32_t)(mr - zr), d2 = (uint32_t)(zi + mi);
    const uint32_t p1 = (uint32_t)br * d1 + (uint32_t)bi * d2, p2 = (uint32_t)bi * d1 - (uint32_t)br * d2;
    out[2] = round_sum8((uint32_t)zr * 32768u + p1, rnd, k);
    out[3] = round_sum8((uint32_t)zi * 32768u + p2, rnd, k);
    out[6] = round_sum8((uint32_t)mr * 32768u - p1, rnd, k);
    out[7] = round_sum8((uint32_t)mi * 32768u + p2, rnd, k);
    return -s0 + s + s2;
}

static int32_t irfft8(const int16_t *in, int16_t *out)
{
    int32_t x[8] = {in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]}, z[8];
    uint32_t acc = sq_word(x[0], x[1]) | sq_word(x[2], x[3]) | sq_word(x[4], x[5]) | sq_word(x[6], x[7]);
    if (acc == 0) {   /* as circnn_irfft_q15_dsp */
        for (int i = 0; i < 8; i++) out[i] = 0;
        return -17;
    }
    const int32_t s0 = normalise_shift_clz(&acc);
    x[0] *= 1 << s0, x[1] *= 1 << s0, x[2] *= 1 << s0, x[3] *= 1 << s0;
    x[4] *= 1 << s0, x[5] *= 1 << s0, x[6] *= 1 << s0, x[7] *= 1 << s0;
    /* the inverse split */
    const int32_t s2 = circnn_fft_q15_split_shift(acc), h = s2 == 2, k = 15 + s2 - h;
    const uint32_t rnd = (uint32_t)1 << (k - 1);
    int32_t br, bi;
    split8_coefficients(&br, &bi);
    z[0] = (x[0] + x[1]) >> (s2 + 1), z[1] = (x[0] - x[1]) >> (s2 + 1);
    z[4] = x[4] >> s2, z[5] = (-x[5]) >> s2;
    const int32_t zr = x[2] >> h, zi = x[3] >> h, mr = x[6] >> h, mi = x[7] >> h;
    const uint32_t d1 = (uint32_t)(mr - zr), d2 = (uint32_t)(zi + mi);
    const uint32_t q1 = (uint32_t)br * d1 - (uint32_t)bi * d2, q2 = (uint32_t)bi * d1 + (uint32_t)br * d2;
    z[2] = round_sum8((uint32_t)zr * 32768u + q1, rnd, k);
    z[3] = round_sum8((uint32_t)zi * 32768u - q2, rnd, k);
    z[6] = round_sum8((uint32_t)mr * 32768u - q1, rnd, k);
    z[7] = round_sum8((uint32_t)mi * 32768u - q2, rnd, k);
    acc = sq_word(z[0], z[1]) | sq_word(z[2], z[3]) | sq_word(z[4], z[5]) | sq_word(z[6], z[7]);
    const int32_t s = circnn_fft_q15_radix4_shift(acc);
    butterfly8(z, s, 1);
    out[0] = (int16_t)z[0], out[1] = (int16_t)z[1], out[2] = (int16_t)z[2], out[3] = (int16_t)z[3];
    out[4] = (int16_t)z[4], out[5] = (int16_t)z[5], out[6] = (int16_t)z[6], out[7] = (int16_t)z[7];
    return -s0 + s2 + s - 2;
}

/*
 * n = 4 written out (m = 2 words): the loops' path for m = 2 is the
 * radix-2 stage of twiddle 1 (no radix-4 stage), an identity bit reversal
 * and a split without coefficients (bins 0 and 2 from word 0, bin 1 the
 * conjugate of word 1): no twiddle at all.  Same shifts, same order as the
 * loops and the DSP variant (whose zero-input shortcut gives their results).
 */
static int32_t rfft4(const int16_t *in, int16_t *out)
{
    int32_t ar = in[0], ai = in[1], br = in[2], bi = in[3];
    uint32_t acc = sq_word(ar, ai) | sq_word(br, bi);
    if (acc == 0) {   /* zero in, zero out: s0 = 15 and no stage shifts */
        out[0] = 0, out[1] = 0, out[2] = 0, out[3] = 0;
        return -15;
    }
    const int32_t s0 = normalise_shift_clz(&acc);
    ar *= 1 << s0, ai *= 1 << s0, br *= 1 << s0, bi *= 1 << s0;
    const int32_t s = circnn_fft_q15_radix2_shift(acc);
    const int32_t y0r = (ar + br) >> s, y0i = (ai + bi) >> s, y1r = (ar - br) >> s, y1i = (ai - bi) >> s;
    const int32_t s2 = circnn_fft_q15_split_shift(sq_word(y0r, y0i) | sq_word(y1r, y1i));
    out[0] = (int16_t)((y0r + y0i) >> s2), out[1] = (int16_t)((y0r - y0i) >> s2);
    out[2] = (int16_t)(y1r >> s2), out[3] = (int16_t)((-y1i) >> s2);
    return -s0 + s + s2;
}

static int32_t irfft4(const int16_t *in, int16_t *out)
{
    int32_t x0 = in[0], x1 = in[1], x2 = in[2], x3 = in[3];
    uint32_t acc = sq_word(x0, x1) | sq_word(x2, x3);
    if (acc == 0) {   /* as circnn_irfft_q15_dsp */
        out[0] = 0, out[1] = 0, out[2] = 0, out[3] = 0;
        return -16;
    }
    const int32_t s0 = normalise_shift_clz(&acc);
    x0 *= 1 << s0, x1 *= 1 << s0, x2 *= 1 << s0, x3 *= 1 << s0;
    /* the inverse split, then the radix-2 stage */
    const int32_t s2 = circnn_fft_q15_split_shift(acc);
    const int32_t zr = (x0 + x1) >> (s2 + 1), zi = (x0 - x1) >> (s2 + 1), mr = x2 >> s2, mi = (-x3) >> s2;
    const int32_t s = circnn_fft_q15_radix2_shift(sq_word(zr, zi) | sq_word(mr, mi));
    out[0] = (int16_t)((zr + mr) >> s), out[1] = (int16_t)((zi + mi) >> s);
    out[2] = (int16_t)((zr - mr) >> s), out[3] = (int16_t)((zi - mi) >> s);
    return -s0 + s2 + s - 1;
}

#if CIRCNN_DSP

int32_t circnn_rfft_q15(const int16_t *in, int16_t *out, uint32_t n)
{
    if (FFT_8 && n == 8) return rfft8(in, out);
    if (FFT_4 && n == 4) return rfft4(in, out);
    if (!FFT_GENERAL) return 0;   /* not reached: circnn_fft_check refused every size but 4 and 8 */
    return circnn_rfft_q15_dsp(in, out, n);
}

int32_t circnn_irfft_q15(const int16_t *in, int16_t *out, uint32_t n)
{
    if (FFT_8 && n == 8) return irfft8(in, out);
    if (FFT_4 && n == 4) return irfft4(in, out);
    if (!FFT_GENERAL) return 0;   /* not reached, as above */
    return circnn_irfft_q15_dsp(in, out, n);
}

#else

static inline uint32_t sq(int32_t re, int32_t im)
{
    return (uint32_t)(re * re) + (uint32_t)(im * im);
}

/* The OR of |z|^2 over m words. */
static uint32_t sq_or(const int16_t *z, uint32_t m)
{
    uint32_t acc = 0;
    for (const int16_t *e = z + 2 * m; z != e; z += 2) acc |= sq(z[0], z[1]);
    return acc;
}

/* out = in * 2^s0 (exact). */
static void normalise(const int16_t *in, int16_t *out, uint32_t n, int32_t s0)
{
    if (s0 == 0) {
        if (in != out) memcpy(out, in, n * sizeof *out);
        return;
    }
    int32_t scale = (int32_t)1 << s0;
    for (const int16_t *e = in + n; in != e; in += 2, out += 2) {
        int32_t a = in[0], b = in[1];
        out[0] = (int16_t)(a * scale), out[1] = (int16_t)(b * scale);
    }
}

/* y * (c - i s), rounded: (sum + 2^(k-1)) >> k (the inverse passes -s). */
CIRCNN_ALWAYS_INLINE void rotate(int16_t *out, int32_t yr, int32_t yi, int32_t c, int32_t s, int32_t k)
{
    int32_t rnd = (int32_t)1 << (k - 1);
    out[0] = (int16_t)((yr * c + yi * s + rnd) >> k);
    out[1] = (int16_t)((yi * c - yr * s + rnd) >> k);
}

/* One radix-4 DIF butterfly on the words z, z + q4, z + 2 q4, z + 3 q4
 * (w == NULL: j = 0, twiddles exact); returns the OR of the outputs' |y|^2.
 * s and inverse are constants after inlining. */
CIRCNN_ALWAYS_INLINE uint32_t butterfly4(int16_t *z, uint32_t q4, const int32_t *w, int32_t s, int inverse)
{
    int16_t *za = z, *zb = z + 2 * q4, *zc = z + 4 * q4, *zd = z + 6 * q4;
    const int32_t h1 = s >= 2, h2 = s == 3, k = s == 0 ? 15 : 16;
    int32_t ar = za[0], ai = za[1], br = zb[0], bi = zb[1], cr = zc[0], ci = zc[1], dr = zd[0], di = zd[1];
    int32_t pr = (ar + cr) >> h1, pi = (ai + ci) >> h1, qr = (ar - cr) >> h1, qi = (ai - ci) >> h1;
    int32_t rr = (br + dr) >> h1, ri = (bi + di) >> h1, ur = (br - dr) >> h1, ui = (bi - di) >> h1;
    int32_t y0r = (pr + rr) >> (s - h1), y0i = (pi + ri) >> (s - h1);
    int32_t y2r = (pr - rr) >> h2, y2i = (pi - ri) >> h2;
    int32_t y1r, y1i, y3r, y3i;
    if (inverse) {
        y1r = (qr - ui) >> h2, y1i = (qi + ur) >> h2, y3r = (qr + ui) >> h2, y3i = (qi - ur) >> h2;
    } else {
        y1r = (qr + ui) >> h2, y1i = (qi - ur) >> h2, y3r = (qr - ui) >> h2, y3i = (qi + ur) >> h2;
    }
    za[0] = (int16_t)y0r, za[1] = (int16_t)y0i;
    if (w == NULL) {
        const int32_t t = k - 15;
        zb[0] = (int16_t)(y2r >> t), zb[1] = (int16_t)(y2i >> t);
        zc[0] = (int16_t)(y1r >> t), zc[1] = (int16_t)(y1i >> t);
        zd[0] = (int16_t)(y3r >> t), zd[1] = (int16_t)(y3i >> t);
    } else {
        rotate(zb, y2r, y2i, w[2], w[3], k);
        rotate(zc, y1r, y1i, w[0], w[1], k);
        rotate(zd, y3r, y3i, w[4], w[5], k);
    }
    return sq(za[0], za[1]) | sq(zb[0], zb[1]) | sq(zc[0], zc[1]) | sq(zd[0], zd[1]);
}

CIRCNN_ALWAYS_INLINE uint32_t radix4_body(int16_t *z, uint32_t m, uint32_t len, int32_t s, int inverse)
{
    uint32_t q4 = len / 4, step = CIRCNN_TWIDDLE_Q15_CIRCLE / len, acc = 0;
    for (uint32_t g = 0; g < m; g += len) acc |= butterfly4(z + 2 * g, q4, NULL, s, inverse);
    for (uint32_t j = 1; j < q4; j++) {
        int32_t w[6];
        circnn_twiddle_q15(j * step, &w[0], &w[1]);
        circnn_twiddle_q15(2u * j * step, &w[2], &w[3]);
        circnn_twiddle_q15(3u * j * step, &w[4], &w[5]);
        if (inverse) w[1] = -w[1], w[3] = -w[3], w[5] = -w[5];   /* conj W */
        for (uint32_t g = j; g < m; g += len) acc |= butterfly4(z + 2 * g, q4, w, s, inverse);
    }
    return acc;
}

/* One radix-4 stage with shift s; returns the OR of the outputs' |y|^2.  One
 * loop per shift (a constant there); the direction is the twiddles' sign and
 * a branch on +-i. */
static uint32_t radix4_stage(int16_t *z, uint32_t m, uint32_t len, int32_t s, int inverse)
{
    switch (s) {
    case 0: return radix4_body(z, m, len, 0, inverse);
    case 1: return radix4_body(z, m, len, 1, inverse);
    case 2: return radix4_body(z, m, len, 2, inverse);
    default: return radix4_body(z, m, len, 3, inverse);
    }
}

/* The last stage when log2(m) is odd: radix 2, twiddle 1. */
static uint32_t radix2_stage(int16_t *z, uint32_t m, int32_t s)
{
    uint32_t acc = 0;
    for (uint32_t i = 0; i < m; i += 2) {
        int16_t *a = z + 2 * i, *b = a + 2;
        int32_t ar = a[0], ai = a[1], br = b[0], bi = b[1];
        int32_t y0r = (ar + br) >> s, y0i = (ai + bi) >> s, y1r = (ar - br) >> s, y1i = (ai - bi) >> s;
        a[0] = (int16_t)y0r, a[1] = (int16_t)y0i, b[0] = (int16_t)y1r, b[1] = (int16_t)y1i;
        acc |= sq(y0r, y0i) | sq(y1r, y1i);
    }
    return acc;
}

static void bit_reverse(int16_t *z, uint32_t m)
{
    for (uint32_t i = 0, j = 0; i < m; i++) {
        if (i < j) {
            int16_t re = z[2 * i], im = z[2 * i + 1];
            z[2 * i] = z[2 * j], z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = re, z[2 * j + 1] = im;
        }
        uint32_t bit = m >> 1;
        while (j & bit) {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
    }
}

/* The m-point complex FFT in place, natural order in and out; *acc: the OR
 * of |z|^2 entering, updated to the one leaving.  Returns the shifts' sum. */
static int32_t complex_fft(int16_t *z, uint32_t m, int inverse, uint32_t *acc)
{
    int32_t exponent = 0;
    uint32_t len = m;
    for (; len >= 4; len /= 4) {
        int32_t s = circnn_fft_q15_radix4_shift(*acc);
        *acc = radix4_stage(z, m, len, s, inverse);
        exponent += s;
    }
    if (len == 2) {
        int32_t s = circnn_fft_q15_radix2_shift(*acc);
        *acc = radix2_stage(z, m, s);
        exponent += s;
    }
    bit_reverse(z, m);
    return exponent;
}

/* Split coefficients of bin k (t = k C / n, twiddle.h): B = (((32767 + s) >> 1) + 1, c >> 1)
 * and A = (32768, 0) - B, so that A + B = 1 exactly. */
static inline void split_coefficients(uint32_t t, int32_t *br, int32_t *bi)
{
    int32_t c, s;
    circnn_twiddle_q15(t, &c, &s);
    *br = ((32767 + s) >> 1) + 1, *bi = c >> 1;
}

/* (v + rnd) >> k of a sum formed modulo 2^32 whose true value fits int32. */
static inline int16_t round_sum(uint32_t v, uint32_t rnd, int32_t k)
{
    uint32_t u = v + rnd;
    int32_t w = u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
    return (int16_t)(w >> k);
}

/*
 * With A = 32768 - B (Ar = 32768 - Br, Ai = -Bi), D1 = Re Z[m-k] - Re Z[k]
 * and D2 = Im Z[k] + Im Z[m-k], the four sums of fft.h are
 *   X[k]   = (32768 Re Z[k] + P1,   32768 Im Z[k] + P2)
 *   X[m-k] = (32768 Re Z[m-k] - P1, 32768 Im Z[m-k] + P2)
 * with P1 = Br D1 + Bi D2, P2 = Bi D1 - Br D2: four products, not sixteen.
 * The same integers; parts of them may leave int32, so they are summed
 * modulo 2^32 (each whole sum fits int32: fft.h's bounds).
 */
static int32_t split_forward(int16_t *z, uint32_t m, uint32_t n, uint32_t acc)
{
    int32_t s = circnn_fft_q15_split_shift(acc), h = s == 2, k = 15 + s - h;
    uint32_t step = CIRCNN_TWIDDLE_Q15_CIRCLE / n, rnd = (uint32_t)1 << (k - 1);
    int32_t x0 = z[0], x1 = z[1];
    z[0] = (int16_t)((x0 + x1) >> s), z[1] = (int16_t)((x0 - x1) >> s);
    if (m >= 2) z[m] = (int16_t)(z[m] >> s), z[m + 1] = (int16_t)((-z[m + 1]) >> s);
    for (uint32_t b = 1; b < m / 2; b++) {
        int16_t *zk = z + 2 * b, *zm = z + 2 * (m - b);
        int32_t br, bi;
        split_coefficients(b * step, &br, &bi);
        int32_t zr = zk[0] >> h, zi = zk[1] >> h, mr = zm[0] >> h, mi = zm[1] >> h;
        uint32_t d1 = (uint32_t)(mr - zr), d2 = (uint32_t)(zi + mi);
        uint32_t p1 = (uint32_t)br * d1 + (uint32_t)bi * d2, p2 = (uint32_t)bi * d1 - (uint32_t)br * d2;
        zk[0] = round_sum((uint32_t)zr * 32768u + p1, rnd, k);
        zk[1] = round_sum((uint32_t)zi * 32768u + p2, rnd, k);
        zm[0] = round_sum((uint32_t)mr * 32768u - p1, rnd, k);
        zm[1] = round_sum((uint32_t)mi * 32768u + p2, rnd, k);
    }
    return s;
}

/* Inverse split of in * 2^s0 into out (in == out allowed): X -> Z; *acc: the
 * OR of |x|^2 of the scaled input, updated to the output's.  As above, with
 * Q1 = Br D1 - Bi D2 and Q2 = Bi D1 + Br D2:
 *   Z[k] = (32768 Re X[k] + Q1, 32768 Im X[k] - Q2),
 *   Z[m-k] = (32768 Re X[m-k] - Q1, 32768 Im X[m-k] - Q2). */
static int32_t split_inverse(const int16_t *in, int16_t *out, uint32_t m, uint32_t n, int32_t s0, uint32_t *acc)
{
    int32_t s = circnn_fft_q15_split_shift(*acc), h = s == 2, k = 15 + s - h;
    int32_t scale = (int32_t)1 << s0;
    uint32_t step = CIRCNN_TWIDDLE_Q15_CIRCLE / n, rnd = (uint32_t)1 << (k - 1), a = 0;
    int32_t x0 = in[0] * scale, x1 = in[1] * scale;
    out[0] = (int16_t)((x0 + x1) >> (s + 1)), out[1] = (int16_t)((x0 - x1) >> (s + 1));
    a |= sq(out[0], out[1]);
    if (m >= 2) {
        out[m] = (int16_t)((in[m] * scale) >> s), out[m + 1] = (int16_t)((-in[m + 1] * scale) >> s);
        a |= sq(out[m], out[m + 1]);
    }
    for (uint32_t b = 1; b < m / 2; b++) {
        const int16_t *xk = in + 2 * b, *xm = in + 2 * (m - b);
        int16_t *zk = out + 2 * b, *zm = out + 2 * (m - b);
        int32_t br, bi;
        split_coefficients(b * step, &br, &bi);
        int32_t zr = (xk[0] * scale) >> h, zi = (xk[1] * scale) >> h;
        int32_t mr = (xm[0] * scale) >> h, mi = (xm[1] * scale) >> h;
        uint32_t d1 = (uint32_t)(mr - zr), d2 = (uint32_t)(zi + mi);
        uint32_t q1 = (uint32_t)br * d1 - (uint32_t)bi * d2, q2 = (uint32_t)bi * d1 + (uint32_t)br * d2;
        zk[0] = round_sum((uint32_t)zr * 32768u + q1, rnd, k);
        zk[1] = round_sum((uint32_t)zi * 32768u - q2, rnd, k);
        zm[0] = round_sum((uint32_t)mr * 32768u - q1, rnd, k);
        zm[1] = round_sum((uint32_t)mi * 32768u - q2, rnd, k);
        a |= sq(zk[0], zk[1]) | sq(zm[0], zm[1]);
    }
    *acc = a;
    return s;
}

int32_t circnn_rfft_q15(const int16_t *in, int16_t *out, uint32_t n)
{
    if (FFT_8 && n == 8) return rfft8(in, out);
    if (FFT_4 && n == 4) return rfft4(in, out);
    if (!FFT_GENERAL) return 0;   /* not reached: circnn_fft_check refused every size but 4 and 8 */
    uint32_t m = n / 2, acc = sq_or(in, m);
    int32_t s0 = circnn_fft_q15_normalise_shift(&acc);
    normalise(in, out, n, s0);
    int32_t exponent = -s0 + complex_fft(out, m, 0, &acc);
    return exponent + split_forward(out, m, n, acc);
}

int32_t circnn_irfft_q15(const int16_t *in, int16_t *out, uint32_t n)
{
    if (FFT_8 && n == 8) return irfft8(in, out);
    if (FFT_4 && n == 4) return irfft4(in, out);
    if (!FFT_GENERAL) return 0;   /* not reached, as above */
    uint32_t m = n / 2, acc = sq_or(in, m);
    int32_t s0 = circnn_fft_q15_normalise_shift(&acc);
    int32_t exponent = -s0 + split_inverse(in, out, m, n, s0, &acc);
    exponent += complex_fft(out, m, 1, &acc);
    return exponent - (int32_t)circnn_fft_q15_log2(m);
}

#endif /* CIRCNN_DSP */
