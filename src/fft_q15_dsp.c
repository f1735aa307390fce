/*
 * q15 real FFT with the DSP extension's packed 16-bit instructions (Cortex-M4,
 * M7, M33): the same integers as the portable reference in fft_q15.c, which
 * the numeric contract of circnn/fft.h defines so that these instructions
 * compute it exactly:
 *   - a halving add or subtract (floor) is SHADD16 / SHSUB16 / SHASX / SHSAX;
 *   - a rotation (sum of two or four 16x16 products, one rounding) is a chain
 *     of SMLAD / SMLSDX started from the rounding constant, packed by PKHTB
 *     (shift 16) or ASR + PKHBT (shift 15);
 *   - |z|^2 for the block floating point bound is SMUAD(z, z).
 * A complex word is one 32-bit load: re in the bottom lane, im in the top.
 * Compiled on every target: with the extension circnn_rfft_q15 and
 * circnn_irfft_q15 call these; elsewhere the host tests run them on the
 * exact C emulations of dsp_q15.h and compare them with the reference.
 */
#include "circnn/fft.h"
#include "dsp_q15.h"
#include "fft_q15_common.h"

#define LD(z, i) circnn_load_pair((z) + 2 * (i))
#define ST(z, i, v) circnn_store_pair((z) + 2 * (i), (v))

static inline uint32_t sqw(uint32_t v)
{
    return (uint32_t)circnn_smuad(v, v);
}

/* Twiddle words for a stage butterfly: a word (c, s) stands for c - i s.
 * From the twiddles W^j, W^2j, W^3j = (c1, s1), (c2, s2), (c3, s3), forward:
 * W1, -i W1, W2, -W2, W3, i W3 (y1 = q W1 + u (-i W1), ...); inverse: the
 * same from V = conj W with i and -i exchanged, so one kernel rotates both
 * ways. */
CIRCNN_FFT_INLINE void stage_words(int32_t c1, int32_t s1, int32_t c2, int32_t s2, int32_t c3, int32_t s3,
                               int inverse, uint32_t *w)
{
    if (inverse) {
        w[0] = circnn_pair(c1, -s1), w[1] = circnn_pair(-s1, -c1);
        w[2] = circnn_pair(c2, -s2), w[3] = circnn_pair(-c2, s2);
        w[4] = circnn_pair(c3, -s3), w[5] = circnn_pair(s3, c3);
    } else {
        w[0] = circnn_pair(c1, s1), w[1] = circnn_pair(-s1, c1);
        w[2] = circnn_pair(c2, s2), w[3] = circnn_pair(-c2, -s2);
        w[4] = circnn_pair(c3, s3), w[5] = circnn_pair(s3, -c3);
    }
}

/* The words of j (t = j 1024 / L < 128) in w, and of L/4 - j (t' = 256 - t:
 * W^j' = (s1, c1), W^2j' = (-c2, s2), W^3j' = (-s3, -c3)) in w2. */
CIRCNN_FFT_INLINE void stage_twiddles(uint32_t t, int inverse, uint32_t *w, uint32_t *w2)
{
    const uint16_t *tab = circnn_cos_q15;
    int32_t c1 = tab[t], s1 = tab[256u - t], c2 = tab[2u * t], s2 = tab[256u - 2u * t], c3, s3;
    if (3u * t <= 256u) {
        c3 = tab[3u * t], s3 = tab[256u - 3u * t];
    } else {
        c3 = -(int32_t)tab[512u - 3u * t], s3 = tab[3u * t - 256u];
    }
    stage_words(c1, s1, c2, s2, c3, s3, inverse, w);
    stage_words(s1, c1, -c2, s2, -s3, -c3, inverse, w2);
}

/* Round and pack a rotation: k = 16 (PKHTB) or 15 (ASR, PKHBT). */
CIRCNN_FFT_INLINE uint32_t pack(int32_t re, int32_t im, int32_t k)
{
    return k == 16 ? circnn_pkhtb16(im, re) : circnn_pkhbt1(re >> 15, im);
}

/* Y W for a materialised Y (the twiddle word W from stage_twiddles). */
CIRCNN_FFT_INLINE uint32_t rot2(uint32_t y, uint32_t w, int32_t rnd, int32_t k)
{
    return pack(circnn_smlad(y, w, rnd), circnn_smlsdx(w, y, rnd), k);
}

/* X W + V W' without forming X + V (which may not fit 16 bits). */
CIRCNN_FFT_INLINE uint32_t rot4(uint32_t x, uint32_t w, uint32_t v, uint32_t w2, int32_t rnd, int32_t k)
{
    int32_t re = circnn_smlad(v, w2, circnn_smlad(x, w, rnd));
    int32_t im = circnn_smlsdx(w2, v, circnn_smlsdx(w, x, rnd));
    return pack(re, im, k);
}

/* v * 2^s0 in both lanes (exact: the caller's s0 keeps every lane in range);
 * mask clears the bits the bottom lane shifts into the top one. */
static inline uint32_t shift_pair(uint32_t v, int32_t s0, uint32_t mask)
{
    return (v << s0) & mask;
}

/* One radix-4 DIF butterfly (fft.h) from words src[0], src[q4], src[2 q4],
 * src[3 q4] (scaled by 2^s0 if norm) to the same words of dst; w == NULL
 * for j = 0.  Returns the OR of the outputs' |y|^2 (0 unless track). */
CIRCNN_FFT_INLINE uint32_t butterfly4(const int16_t *src, int16_t *dst, uint32_t q4, const uint32_t *w, int32_t s,
                                      int inverse, int norm, int32_t s0, uint32_t mask, int track)
{
    const int32_t k = s == 0 ? 15 : 16, rnd = (int32_t)1 << (k - 1);
    uint32_t a = LD(src, 0), b = LD(src, q4), c = LD(src, 2 * q4), d = LD(src, 3 * q4);
    uint32_t p, q, r, u, y0, y1, y2, y3;
    if (norm) {
        a = shift_pair(a, s0, mask), b = shift_pair(b, s0, mask);
        c = shift_pair(c, s0, mask), d = shift_pair(d, s0, mask);
    }
    if (s >= 2) {
        p = circnn_shadd16(a, c), q = circnn_shsub16(a, c), r = circnn_shadd16(b, d), u = circnn_shsub16(b, d);
    } else {
        p = circnn_sadd16(a, c), q = circnn_ssub16(a, c), r = circnn_sadd16(b, d), u = circnn_ssub16(b, d);
    }
    y0 = s == 0 ? circnn_sadd16(p, r) : circnn_shadd16(p, r);
    if (s == 3) y0 = circnn_shadd16(y0, 0);
    if (w == NULL || s == 3) {
        /* Y1 = q -+ i u, Y3 = q +- i u, Y2 = p - r, halved unless s == 0 */
        if (s == 0) {
            y2 = circnn_ssub16(p, r);
            y1 = inverse ? circnn_sasx(q, u) : circnn_ssax(q, u);
            y3 = inverse ? circnn_ssax(q, u) : circnn_sasx(q, u);
        } else {
            y2 = circnn_shsub16(p, r);
            y1 = inverse ? circnn_shasx(q, u) : circnn_shsax(q, u);
            y3 = inverse ? circnn_shsax(q, u) : circnn_shasx(q, u);
        }
        if (w == NULL && s == 3) {
            y1 = circnn_shadd16(y1, 0), y2 = circnn_shadd16(y2, 0), y3 = circnn_shadd16(y3, 0);
        } else if (w != NULL) {
            y2 = rot2(y2, w[2], rnd, k), y1 = rot2(y1, w[0], rnd, k), y3 = rot2(y3, w[4], rnd, k);
        }
    } else {
        y2 = rot4(p, w[2], r, w[3], rnd, k);
        y1 = rot4(q, w[0], u, w[1], rnd, k);
        y3 = rot4(q, w[4], u, w[5], rnd, k);
    }
    ST(dst, 0, y0), ST(dst, q4, y2), ST(dst, 2 * q4, y1), ST(dst, 3 * q4, y3);
    return track ? sqw(y0) | sqw(y1) | sqw(y2) | sqw(y3) : 0;
}

CIRCNN_FFT_INLINE uint32_t radix4_body(const int16_t *src, int16_t *z, uint32_t m, uint32_t len, int32_t s,
                                       int inverse, int norm, int32_t s0, int track)
{
    uint32_t q4 = len / 4, step = CIRCNN_TWIDDLE_CIRCLE / len, acc = 0;
    uint32_t mask = ~(((UINT32_C(1) << s0) - 1u) << 16);
    if (len == m) {   /* one group: one butterfly per j, no inner loop */
        acc = butterfly4(src, z, q4, NULL, s, inverse, norm, s0, mask, track);
        for (uint32_t j = 1, jj = q4 - 1; j <= jj; j++, jj--) {
            uint32_t w[6], w2[6];
            stage_twiddles(j * step, inverse, w, w2);
            acc |= butterfly4(src + 2 * j, z + 2 * j, q4, w, s, inverse, norm, s0, mask, track);
            if (j == jj) break;
            acc |= butterfly4(src + 2 * jj, z + 2 * jj, q4, w2, s, inverse, norm, s0, mask, track);
        }
        return acc;
    }
    for (uint32_t g = 0; g < m; g += len)
        acc |= butterfly4(src + 2 * g, z + 2 * g, q4, NULL, s, inverse, norm, s0, mask, track);
    /* j and q4 - j share their table reads; j = q4 / 2 (t = 128) pairs with itself */
    for (uint32_t j = 1; 2 * j <= q4; j++) {
        uint32_t w[6], w2[6];
        stage_twiddles(j * step, inverse, w, w2);
        for (uint32_t g = j; g < m; g += len)
            acc |= butterfly4(src + 2 * g, z + 2 * g, q4, w, s, inverse, norm, s0, mask, track);
        if (2 * j == q4) break;
        for (uint32_t g = q4 - j; g < m; g += len)
            acc |= butterfly4(src + 2 * g, z + 2 * g, q4, w2, s, inverse, norm, s0, mask, track);
    }
    return acc;
}

/* A radix-4 stage in place on z (track: 1 unless nothing reads the bound). */
static uint32_t radix4_stage(int16_t *z, uint32_t m, uint32_t len, int32_t s, int inverse, int track)
{
    if (!track) {   /* the last stage of an inverse of even log2 m: L = 4, j = 0 only */
        switch (s) {
        case 0: return radix4_body(z, z, m, len, 0, 1, 0, 0, 0);
        case 1: return radix4_body(z, z, m, len, 1, 1, 0, 0, 0);
        case 2: return radix4_body(z, z, m, len, 2, 1, 0, 0, 0);
        default: return radix4_body(z, z, m, len, 3, 1, 0, 0, 0);
        }
    }
    if (inverse) {
        switch (s) {
        case 0: return radix4_body(z, z, m, len, 0, 1, 0, 0, 1);
        case 1: return radix4_body(z, z, m, len, 1, 1, 0, 0, 1);
        case 2: return radix4_body(z, z, m, len, 2, 1, 0, 0, 1);
        default: return radix4_body(z, z, m, len, 3, 1, 0, 0, 1);
        }
    }
    switch (s) {
    case 0: return radix4_body(z, z, m, len, 0, 0, 0, 0, 1);
    case 1: return radix4_body(z, z, m, len, 1, 0, 0, 0, 1);
    case 2: return radix4_body(z, z, m, len, 2, 0, 0, 0, 1);
    default: return radix4_body(z, z, m, len, 3, 0, 0, 0, 1);
    }
}

/* The first forward stage, reading the input scaled by 2^s0: its shift is 2
 * or 3, since the scaled input has b >= 29. */
static uint32_t radix4_first(const int16_t *in, int16_t *out, uint32_t m, int32_t s, int32_t s0)
{
    if (s == 2) return radix4_body(in, out, m, m, 2, 0, 1, s0, 1);
    return radix4_body(in, out, m, m, 3, 0, 1, s0, 1);
}

static inline uint32_t bitrev(uint32_t i, uint32_t bits)
{
#if CIRCNN_DSP_NATIVE
    uint32_t r;
    __asm__("rbit %0, %1" : "=r"(r) : "r"(i));
    return r >> (32u - bits);
#else
    uint32_t r = 0;
    for (uint32_t b = 0; b < bits; b++) r |= ((i >> b) & 1u) << (bits - 1u - b);
    return r;
#endif
}

/* Radix-2 butterflies (a, b) -> (a + b, a - b) >> s. */
CIRCNN_FFT_INLINE void butterfly2(uint32_t *a, uint32_t *b, int32_t s)
{
    uint32_t x = *a, y = *b;
    *a = s ? circnn_shadd16(x, y) : circnn_sadd16(x, y);
    *b = s ? circnn_shsub16(x, y) : circnn_ssub16(x, y);
}

/* The bit reversal of m >= 4 words, fused with the radix-2 stage (radix2:
 * shift s) when log2 m is odd.  Words i, i+1, i+h, i+h+1 (h = m/2, i even
 * and < h) go to r, r+h, r+1, r+h+1 with r = rev(i), and those of r to
 * those of i: one step moves 8 words (4 if i == r), and the radix-2 pairs
 * (even, odd) are among them. */
CIRCNN_FFT_INLINE uint32_t reverse_body(int16_t *z, uint32_t m, int radix2, int32_t s, int track)
{
    uint32_t bits = circnn_fft_q15_log2(m), h = m / 2, acc = 0;
    for (uint32_t i = 0; i < h; i += 2) {
        uint32_t r = bitrev(i, bits);
        if (r < i) continue;
        uint32_t a0 = LD(z, i), a1 = LD(z, i + 1), b0 = LD(z, i + h), b1 = LD(z, i + h + 1);
        if (radix2) butterfly2(&a0, &a1, s), butterfly2(&b0, &b1, s);
        if (track) acc |= sqw(a0) | sqw(a1) | sqw(b0) | sqw(b1);
        if (r == i) {
            ST(z, i, a0), ST(z, i + h, a1), ST(z, i + 1, b0), ST(z, i + h + 1, b1);
            continue;
        }
        uint32_t c0 = LD(z, r), c1 = LD(z, r + 1), d0 = LD(z, r + h), d1 = LD(z, r + h + 1);
        if (radix2) butterfly2(&c0, &c1, s), butterfly2(&d0, &d1, s);
        if (track) acc |= sqw(c0) | sqw(c1) | sqw(d0) | sqw(d1);
        ST(z, r, a0), ST(z, r + h, a1), ST(z, r + 1, b0), ST(z, r + h + 1, b1);
        ST(z, i, c0), ST(z, i + h, c1), ST(z, i + 1, d0), ST(z, i + h + 1, d1);
    }
    return acc;
}

static uint32_t reverse(int16_t *z, uint32_t m, int radix2, int32_t s, int track)
{
    if (!radix2) return reverse_body(z, m, 0, 0, 0);
    if (track) return s ? reverse_body(z, m, 1, 1, 1) : reverse_body(z, m, 1, 0, 1);
    return s ? reverse_body(z, m, 1, 1, 0) : reverse_body(z, m, 1, 0, 0);
}

/* The m-point complex FFT, natural order in and out, into z.  in != NULL
 * (forward, m >= 4): the first stage reads in * 2^s0 instead of z.  *acc:
 * the OR of |z|^2 entering (of the scaled input), updated to the one leaving
 * (forward only).  Returns the shifts' sum. */
static int32_t complex_fft(const int16_t *in, int16_t *z, uint32_t m, int inverse, int32_t s0, uint32_t *acc)
{
    int32_t exponent = 0, s;
    uint32_t len = m;
    if (m == 2) {
        uint32_t a = LD(z, 0), b = LD(z, 1);
        s = circnn_fft_q15_radix2_shift(*acc);
        butterfly2(&a, &b, s);
        ST(z, 0, a), ST(z, 1, b);
        *acc = sqw(a) | sqw(b);
        return s;
    }
    for (; len >= 4; len /= 4) {
        s = circnn_fft_q15_radix4_shift(*acc);
        if (in != NULL && len == m)
            *acc = radix4_first(in, z, m, s, s0);
        else
            *acc = radix4_stage(z, m, len, s, inverse, !inverse || len > 4);
        exponent += s;
    }
    if (m < 4) return exponent;
    if (len == 2) {
        s = circnn_fft_q15_radix2_shift(*acc);
        *acc = reverse(z, m, 1, s, !inverse);
        return exponent + s;
    }
    reverse(z, m, 0, 0, 0);
    return exponent;
}

static uint32_t sq_or(const int16_t *z, uint32_t m)
{
    uint32_t acc = 0;
    for (uint32_t i = 0; i < m; i++) acc |= sqw(LD(z, i));
    return acc;
}

static void normalise(const int16_t *in, int16_t *out, uint32_t m, int32_t s0)
{
    uint32_t mask = ~(((UINT32_C(1) << s0) - 1u) << 16);
    if (s0 == 0 && in == out) return;
    for (uint32_t i = 0; i < m; i++) ST(out, i, shift_pair(LD(in, i), s0, mask));
}

/* Split coefficient words of bin k (t = k 1024 / n): B = (((32767 + s) >> 1)
 * + 1, c >> 1), A = (32768, 0) - B, and -B. */
static inline void split_words(uint32_t t, uint32_t *a, uint32_t *b, uint32_t *nb)
{
    uint32_t ts = circnn_pair((int32_t)circnn_cos_q15[CIRCNN_TWIDDLE_QUARTER - t], (int32_t)circnn_cos_q15[t]);
    *b = circnn_sadd16(circnn_shadd16(UINT32_C(0x7FFF), ts), UINT32_C(1));
    *a = circnn_ssub16(UINT32_C(0x8000), *b);
    *nb = circnn_ssub16(0, *b);
}

CIRCNN_FFT_INLINE int32_t split_fwd_body(int16_t *z, uint32_t m, uint32_t n, int32_t s)
{
    const int32_t h = s == 2, k = 15 + s - h, rnd = (int32_t)1 << (k - 1);
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    for (uint32_t b = 1; b < m / 2; b++) {
        uint32_t wa, wb, nb, zk = LD(z, b), zm = LD(z, m - b);
        split_words(b * step, &wa, &wb, &nb);
        if (h) zk = circnn_shadd16(zk, 0), zm = circnn_shadd16(zm, 0);
        int32_t r0 = circnn_smlad(zm, wb, circnn_smlsd(zk, wa, rnd));
        int32_t i0 = circnn_smlsdx(zm, wb, circnn_smladx(zk, wa, rnd));
        int32_t r1 = circnn_smlsd(zk, wb, circnn_smlad(zm, wa, rnd));
        int32_t i1 = circnn_smladx(zk, nb, circnn_smlsdx(wa, zm, rnd));
        ST(z, b, pack(r0, i0, k)), ST(z, m - b, pack(r1, i1, k));
    }
    return s;
}

static int32_t split_forward(int16_t *z, uint32_t m, uint32_t n, uint32_t acc)
{
    int32_t s = circnn_fft_q15_split_shift(acc);
    int32_t x0 = z[0], x1 = z[1];
    z[0] = (int16_t)((x0 + x1) >> s), z[1] = (int16_t)((x0 - x1) >> s);
    if (m >= 2) z[m] = (int16_t)(z[m] >> s), z[m + 1] = (int16_t)((-z[m + 1]) >> s);
    switch (s) {
    case 0: return split_fwd_body(z, m, n, 0);
    case 1: return split_fwd_body(z, m, n, 1);
    default: return split_fwd_body(z, m, n, 2);
    }
}

CIRCNN_FFT_INLINE uint32_t split_inv_body(const int16_t *in, int16_t *out, uint32_t m, uint32_t n, int32_t s,
                                          int32_t s0)
{
    const int32_t h = s == 2, k = 15 + s - h, rnd = (int32_t)1 << (k - 1);
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n, acc = 0, mask = ~(((UINT32_C(1) << s0) - 1u) << 16);
    for (uint32_t b = 1; b < m / 2; b++) {
        uint32_t wa, wb, nb;
        uint32_t zk = shift_pair(LD(in, b), s0, mask), zm = shift_pair(LD(in, m - b), s0, mask);
        split_words(b * step, &wa, &wb, &nb);
        if (h) zk = circnn_shadd16(zk, 0), zm = circnn_shadd16(zm, 0);
        int32_t r0 = circnn_smlsd(zm, wb, circnn_smlad(zk, wa, rnd));
        int32_t i0 = circnn_smladx(zm, nb, circnn_smlsdx(wa, zk, rnd));
        int32_t r1 = circnn_smlad(zk, wb, circnn_smlsd(zm, wa, rnd));
        int32_t i1 = circnn_smlsdx(zk, wb, circnn_smladx(zm, wa, rnd));
        uint32_t y0 = pack(r0, i0, k), y1 = pack(r1, i1, k);
        ST(out, b, y0), ST(out, m - b, y1);
        acc |= sqw(y0) | sqw(y1);
    }
    return acc;
}

static int32_t split_inverse(const int16_t *in, int16_t *out, uint32_t m, uint32_t n, int32_t s0, uint32_t *acc)
{
    int32_t s = circnn_fft_q15_split_shift(*acc);
    int32_t scale = (int32_t)1 << s0;
    int32_t x0 = in[0] * scale, x1 = in[1] * scale;
    int32_t hr = 0, hi = 0;
    if (m >= 2) hr = in[m] * scale, hi = in[m + 1] * scale;
    uint32_t a;
    switch (s) {
    case 0: a = split_inv_body(in, out, m, n, 0, s0); break;
    case 1: a = split_inv_body(in, out, m, n, 1, s0); break;
    default: a = split_inv_body(in, out, m, n, 2, s0); break;
    }
    uint32_t y = circnn_pair((x0 + x1) >> (s + 1), (x0 - x1) >> (s + 1));
    ST(out, 0, y);
    a |= sqw(y);
    if (m >= 2) {
        y = circnn_pair(hr >> s, (-hi) >> s);
        ST(out, m / 2, y);
        a |= sqw(y);
    }
    *acc = a;
    return s;
}

int32_t circnn_rfft_q15_dsp(const int16_t *in, int16_t *out, uint32_t n)
{
    uint32_t m = n / 2, acc = sq_or(in, m);
    if (acc == 0) {   /* zero in, zero out: s0 = 15 and no stage shifts */
        for (uint32_t i = 0; i < n; i++) out[i] = 0;
        return -15;
    }
    int32_t s0 = circnn_fft_q15_normalise_shift(&acc);
    if (m < 4) normalise(in, out, m, s0);
    int32_t exponent = -s0 + complex_fft(m >= 4 ? in : NULL, out, m, 0, s0, &acc);
    return exponent + split_forward(out, m, n, acc);
}

int32_t circnn_irfft_q15_dsp(const int16_t *in, int16_t *out, uint32_t n)
{
    uint32_t m = n / 2, acc = sq_or(in, m);
    if (acc == 0) {
        for (uint32_t i = 0; i < n; i++) out[i] = 0;
        return -15 - (int32_t)circnn_fft_q15_log2(m);
    }
    int32_t s0 = circnn_fft_q15_normalise_shift(&acc);
    int32_t exponent = -s0 + split_inverse(in, out, m, n, s0, &acc);
    exponent += complex_fft(NULL, out, m, 1, 0, &acc);
    return exponent - (int32_t)circnn_fft_q15_log2(m);
}
