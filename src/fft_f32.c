/*
 * f32 real FFT: the same structure as the q15 one (src/fft_q15.c) without
 * the scaling: an n/2-point complex radix-2 DIT FFT of the samples paired as
 * complex numbers, then the split stage.
 */
#include "circnn/fft.h"
#include "fft_common.h"
#include "twiddle.h"

static void bit_reverse(float *z, uint32_t m)
{
    uint32_t bits = circnn_log2u(m);
    for (uint32_t i = 0; i < m; i++) {
        uint32_t j = circnn_bitrev(i, bits);
        if (j > i) {
            float re = z[2 * i], im = z[2 * i + 1];
            z[2 * i] = z[2 * j];
            z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = re;
            z[2 * j + 1] = im;
        }
    }
}

static void complex_stages(float *z, uint32_t m, int inverse)
{
    for (uint32_t len = 2; len <= m; len <<= 1) {
        uint32_t half = len / 2, step = CIRCNN_TWIDDLE_CIRCLE / len;
        for (uint32_t j = 0; j < half; j++) {
            float wr, s;
            circnn_twiddle_f32(j * step, &wr, &s);
            float wi = inverse ? s : -s;
            for (uint32_t g = j; g < m; g += len) {
                float *a = z + 2 * g, *b = z + 2 * (g + half);
                float tr = wr * b[0] - wi * b[1];
                float ti = wr * b[1] + wi * b[0];
                float ar = a[0], ai = a[1];
                a[0] = ar + tr;
                a[1] = ai + ti;
                b[0] = ar - tr;
                b[1] = ai - ti;
            }
        }
    }
}

/* See split_forward in fft_q15.c for the formulas. */
static void split_forward(float *z, uint32_t m, uint32_t n)
{
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    float zr = z[0], zi = z[1];
    z[0] = zr + zi;
    z[1] = zr - zi;
    if (m >= 2) z[m + 1] = -z[m + 1];
    for (uint32_t k = 1; k < m / 2; k++) {
        float *zk = z + 2 * k, *zm = z + 2 * (m - k);
        float c, s;
        circnn_twiddle_f32(k * step, &c, &s);
        float er = zk[0] + zm[0], ei = zk[1] - zm[1];
        float dr = zk[0] - zm[0], di = zk[1] + zm[1];
        float pr = c * di - s * dr, pi = -(c * dr + s * di);
        zk[0] = 0.5f * (er + pr);
        zk[1] = 0.5f * (ei + pi);
        zm[0] = 0.5f * (er - pr);
        zm[1] = 0.5f * (pi - ei);
    }
}

/* The inverse of split_forward, without its factor 1/2 (folded into the
 * final 1/n scale). */
static void split_inverse(float *z, uint32_t m, uint32_t n)
{
    uint32_t step = CIRCNN_TWIDDLE_CIRCLE / n;
    float x0 = z[0], xm = z[1];
    z[0] = x0 + xm;
    z[1] = x0 - xm;
    if (m >= 2) {
        z[m] = 2.0f * z[m];
        z[m + 1] = -2.0f * z[m + 1];
    }
    for (uint32_t k = 1; k < m / 2; k++) {
        float *xk = z + 2 * k, *xm_ = z + 2 * (m - k);
        float c, s;
        circnn_twiddle_f32(k * step, &c, &s);
        float er = xk[0] + xm_[0], ei = xk[1] - xm_[1];
        float pr = xk[0] - xm_[0], pi = xk[1] + xm_[1];
        float qr = -s * pr - c * pi, qi = c * pr - s * pi;
        xk[0] = er + qr;
        xk[1] = ei + qi;
        xm_[0] = er - qr;
        xm_[1] = qi - ei;
    }
}

void circnn_rfft_f32(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    if (out != in)
        for (uint32_t i = 0; i < n; i++) out[i] = in[i];
    bit_reverse(out, m);
    complex_stages(out, m, 0);
    split_forward(out, m, n);
}

void circnn_irfft_f32(const float *in, float *out, uint32_t n)
{
    uint32_t m = n / 2;
    float scale = 1.0f / (float)n;
    if (out != in)
        for (uint32_t i = 0; i < n; i++) out[i] = in[i];
    split_inverse(out, m, n);
    bit_reverse(out, m);
    complex_stages(out, m, 1);
    for (uint32_t i = 0; i < n; i++) out[i] *= scale;
}
