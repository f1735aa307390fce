/*
 * q15 real FFT: an n/2-point complex radix-2 DIT FFT of the even/odd samples
 * packed as complex numbers, then a split stage that separates the two real
 * spectra.  Block floating point: see the policy in circnn/fft.h.  Every line
 * here has its twin in python/circnn/fixed.py; change both together.
 */
#include "circnn/fft.h"
#include "fft_common.h"
#include "fixed_point.h"
#include "twiddle.h"

/* Largest part that lets a stage keep its outputs unscaled, or halved. */
#define STAGE_LIMIT_0 13568
#define STAGE_LIMIT_1 27136

circnn_status_t circnn_fft_check(uint32_t n)
{
    if (n < CIRCNN_FFT_MIN_SIZE || n > CIRCNN_FFT_MAX_SIZE || (n & (n - 1u)) != 0)
        return CIRCNN_ERR_BLOCK_SIZE;
    return CIRCNN_OK;
}

static int32_t stage_shift(int32_t largest)
{
    if (largest <= STAGE_LIMIT_0) return 0;
    if (largest <= STAGE_LIMIT_1) return 1;
    return 2;
}

static int32_t max_abs(const int16_t *v, uint32_t n)
{
    int32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        int32_t a = circnn_abs32(v[i]);
        if (a > m) m = a;
    }
    return m;
}

/* Largest s0 in [0, 15] with largest * 2^s0 <= 32767. */
static int32_t normalise_shift(int32_t largest)
{
    int32_t s = 0;
    if (largest == 0) return 15;
    while (s < 15 && largest * 2 <= INT16_MAX) {
        largest *= 2;
        s++;
    }
    return s;
}

/* out = in * 2^s0 with s0 from normalise_shift; returns s0, sets *largest. */
static int32_t normalise(const int16_t *in, int16_t *out, uint32_t n, int32_t *largest)
{
    int32_t a = max_abs(in, n);
    int32_t s0 = normalise_shift(a);
    int32_t scale = (int32_t)1 << s0;
    for (uint32_t i = 0; i < n; i++) out[i] = (int16_t)(in[i] * scale);
    *largest = a * scale;
    return s0;
}

static void bit_reverse(int16_t *z, uint32_t m)
{
    uint32_t bits = circnn_log2u(m);
    for (uint32_t i = 0; i < m; i++) {
        uint32_t j = circnn_bitrev(i, bits);
        if (j > i) {
            int16_t re = z[2 * i], im = z[2 * i + 1];
            z[2 * i] = z[2 * j];
            z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = re;
            z[2 * j + 1] = im;
        }
    }
}

/* One rounded, clamped output of a stage; tracks the largest magnitude. */
static inline int16_t stage_out(int32_t v, int32_t r, int32_t *largest)
{
    int16_t o = circnn_sat16(circnn_rshift_round32(v, r));
    int32_t a = circnn_abs32(o);
    if (a > *largest) *largest = a;
    return o;
}

/* Radix-2 DIT stages over m complex values in bit-reversed order.
 * inverse = 0: twiddles e^(-2 pi i j / L); 1: e^(+2 pi i j / L).
 * *largest: the largest part entering, updated to the largest leaving.
 * Returns the sum of the stage shifts. */
static int32_t complex_stages(int16_t *z, uint32_t m, int inverse, int32_t *largest)
{
    int32_t exponent = 0;
    for (uint32_t len = 2; len <= m; len <<= 1) {
        uint32_t half = len / 2, step = CIRCNN_TWIDDLE_CIRCLE / len;
        int32_t shift = stage_shift(*largest);
        int32_t r = 14 + shift;
        int32_t out_largest = 0;
        exponent += shift;
        for (uint32_t j = 0; j < half; j++) {
            int32_t c, s;
            circnn_twiddle_q15(j * step, &c, &s);
            int32_t wr = c, wi = inverse ? s : -s;
            for (uint32_t g = j; g < m; g += len) {
                int16_t *a = z + 2 * g, *b = z + 2 * (g + half);
                /* w * b at scale 2^14: each product fits 31 bits, halved
                 * before the sum so the sum fits too. */
                int32_t tr = ((wr * b[0]) >> 1) - ((wi * b[1]) >> 1);
                int32_t ti = ((wr * b[1]) >> 1) + ((wi * b[0]) >> 1);
                int32_t ar = a[0] * 16384, ai = a[1] * 16384;
                a[0] = stage_out(ar + tr, r, &out_largest);
                a[1] = stage_out(ai + ti, r, &out_largest);
                b[0] = stage_out(ar - tr, r, &out_largest);
                b[1] = stage_out(ai - ti, r, &out_largest);
            }
        }
        *largest = out_largest;
    }
    return exponent;
}

/* Z (m complex, natural order) -> packed real spectrum X, in place:
 * X[k] = (E + P) / 2, X[m-k] = conj(E - P) / 2 with E = Z[k] + conj Z[m-k],
 * D = Z[k] - conj Z[m-k], P = -i e^(-2 pi i k / n) D. */
static int32_t split_forward(int16_t *z, uint32_t m, uint32_t n, int32_t *largest)
{
    int32_t shift = stage_shift(*largest);
    int32_t r = 14 + shift;
    int32_t out_largest = 0;
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    int32_t zr = z[0], zi = z[1];
    z[0] = stage_out((zr + zi) * 16384, r, &out_largest);
    z[1] = stage_out((zr - zi) * 16384, r, &out_largest);
    if (m >= 2) {
        uint32_t h = m / 2;
        int32_t hr = z[2 * h], hi = z[2 * h + 1];
        z[2 * h] = stage_out(hr * 16384, r, &out_largest);
        z[2 * h + 1] = stage_out(-hi * 16384, r, &out_largest);
    }
    for (uint32_t k = 1; k < m / 2; k++) {
        int16_t *zk = z + 2 * k, *zm = z + 2 * (m - k);
        int32_t c, s;
        circnn_twiddle_q15(k * step, &c, &s);
        int32_t er = zk[0] + zm[0], ei = zk[1] - zm[1];
        int32_t dr = zk[0] - zm[0], di = zk[1] + zm[1];
        /* P at scale 2^14 after the 1/2: products fit 31 bits, quartered */
        int32_t pr = ((c * di) >> 2) - ((s * dr) >> 2);
        int32_t pi = -((c * dr) >> 2) - ((s * di) >> 2);
        zk[0] = stage_out(er * 8192 + pr, r, &out_largest);
        zk[1] = stage_out(ei * 8192 + pi, r, &out_largest);
        zm[0] = stage_out(er * 8192 - pr, r, &out_largest);
        zm[1] = stage_out(pi - ei * 8192, r, &out_largest);
    }
    *largest = out_largest;
    return shift;
}

/* Packed real spectrum X -> Z (m complex), the inverse of split_forward:
 * Z[k] = (E + Q) / 2, Z[m-k] = conj(E - Q) / 2 with E = X[k] + conj X[m-k],
 * P = X[k] - conj X[m-k], Q = i conj(W) P and W = e^(-2 pi i k / n). */
static int32_t split_inverse(int16_t *z, uint32_t m, uint32_t n, int32_t *largest)
{
    int32_t shift = stage_shift(*largest);
    int32_t r = 14 + shift;
    int32_t out_largest = 0;
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    int32_t x0 = z[0], xm = z[1];
    z[0] = stage_out((x0 + xm) * 8192, r, &out_largest);
    z[1] = stage_out((x0 - xm) * 8192, r, &out_largest);
    if (m >= 2) {
        uint32_t h = m / 2;
        int32_t hr = z[2 * h], hi = z[2 * h + 1];
        z[2 * h] = stage_out(hr * 16384, r, &out_largest);
        z[2 * h + 1] = stage_out(-hi * 16384, r, &out_largest);
    }
    for (uint32_t k = 1; k < m / 2; k++) {
        int16_t *xk = z + 2 * k, *xm_ = z + 2 * (m - k);
        int32_t c, s;
        circnn_twiddle_q15(k * step, &c, &s);
        int32_t er = xk[0] + xm_[0], ei = xk[1] - xm_[1];
        int32_t pr = xk[0] - xm_[0], pi = xk[1] + xm_[1];
        int32_t qr = -((s * pr) >> 2) - ((c * pi) >> 2);
        int32_t qi = ((c * pr) >> 2) - ((s * pi) >> 2);
        xk[0] = stage_out(er * 8192 + qr, r, &out_largest);
        xk[1] = stage_out(ei * 8192 + qi, r, &out_largest);
        xm_[0] = stage_out(er * 8192 - qr, r, &out_largest);
        xm_[1] = stage_out(qi - ei * 8192, r, &out_largest);
    }
    *largest = out_largest;
    return shift;
}

int32_t circnn_rfft_q15(const int16_t *in, int16_t *out, uint32_t n)
{
    uint32_t m = n / 2;
    int32_t largest;
    int32_t exponent = -normalise(in, out, n, &largest);
    bit_reverse(out, m);
    exponent += complex_stages(out, m, 0, &largest);
    exponent += split_forward(out, m, n, &largest);
    return exponent;
}

int32_t circnn_irfft_q15(const int16_t *in, int16_t *out, uint32_t n)
{
    uint32_t m = n / 2;
    int32_t largest;
    int32_t exponent = -normalise(in, out, n, &largest);
    exponent += split_inverse(out, m, n, &largest);
    bit_reverse(out, m);
    exponent += complex_stages(out, m, 1, &largest);
    return exponent - (int32_t)circnn_log2u(m);
}
