/*
 * Block-circulant 2-D convolution, q15 (contract: circnn/bc_conv2d.h, the
 * steps of circnn/bc_dense.h generalised; scratch layout: bc_conv2d_common.h).
 * python/circnn/fixed_conv.py is the bit-exact twin.
 *
 *  1. Every input block (pixel, j) is transformed by circnn_rfft_q15 into the
 *     spectra buffer -> (X, e).
 *  2. All spectra are aligned to E = max e over every pixel and block:
 *     X >>= (E - e), rounded half up (a shift of 16 or more gives 0).
 *  3. For each output pixel and output block i, the products w * X are
 *     summed in int64 over the taps that read a pixel inside the input and
 *     over j (each product of two int16 is exact in int32; the real and
 *     imaginary parts are formed in int64).
 *  4. The sums are brought to 16 bits (shift r, bc_dense step 4).
 *  5. circnn_irfft_q15 -> (a, d); F = weight_exp + E + r + d.
 *  6. y = circnn_requant_q15(a * scale[c], F + scale_exp, bias[c]), or
 *     circnn_requant_q15(a, F, bias[c]) without a scale; then the ReLU.
 */
#include "circnn/bc_conv2d.h"
#include "circnn/fft.h"
#include "circnn/q15.h"
#include "bc_conv2d_common.h"
#include "dsp_q15.h"
#include "fixed_point.h"

/* Exponents handed to circnn_requant_q15 are clamped to this range, which
 * changes no result (every e >= 46 saturates or gives 0 alike, every
 * e <= -79 shifts everything out alike) and keeps e + 16 from overflowing. */
#define EXP_LIMIT 128

#if !CIRCNN_DSP
/* acc += w * x on packed q15 spectra, every part exact. */
static void spectral_mac(int64_t *acc, const int16_t *w, const int16_t *x, uint32_t k)
{
    acc[0] += (int32_t)w[0] * x[0];
    acc[1] += (int32_t)w[1] * x[1];
    for (uint32_t b = 2; b < k; b += 2) {
        int32_t wr = w[b], wi = w[b + 1], xr = x[b], xi = x[b + 1];
        acc[b] += (int64_t)(wr * xr) - (int64_t)(wi * xi);
        acc[b + 1] += (int64_t)(wr * xi) + (int64_t)(wi * xr);
    }
}
#endif

static int32_t clamp_exp(int64_t e)
{
    if (e > EXP_LIMIT) return EXP_LIMIT;
    if (e < -EXP_LIMIT) return -EXP_LIMIT;
    return (int32_t)e;
}

/* Steps 1 and 2; returns E. */
static int32_t forward(const circnn_window_t *g, uint32_t k, const int16_t *x, int16_t *spectra,
                       int8_t *exps)
{
    const uint32_t c = g->in_c, q = circnn_blocks(c, k);
    const size_t total = circnn_bc_conv2d_pixels(g) * q;
    int32_t e_max = INT32_MIN;
    for (size_t blk = 0; blk < total; blk++) {
        int16_t *xs = spectra + blk * k;
        const int16_t *src = x + (blk / q) * c;
        uint32_t c0 = (uint32_t)(blk % q) * k;
        for (uint32_t t = 0; t < k; t++) xs[t] = (c0 + t < c) ? src[c0 + t] : (int16_t)0;
        int32_t e = circnn_rfft_q15(xs, xs, k);   /* in [-15, 20]: fits int8 */
        exps[blk] = (int8_t)e;
        if (e > e_max) e_max = e;
    }
    for (size_t blk = 0; blk < total; blk++) {
        int32_t shift = e_max - exps[blk];
        int16_t *xs = spectra + blk * k;
        if (shift == 0) continue;
        for (uint32_t t = 0; t < k; t++)
            xs[t] = shift >= 16 ? (int16_t)0 : (int16_t)circnn_rshift_round32(xs[t], shift);
    }
    return e_max;
}

void circnn_bc_conv2d_q15(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *y,
                          void *scratch)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t k = layer->block_size;
    const uint32_t p = circnn_blocks(g->out_c, k), q = circnn_blocks(g->in_c, k);
    unsigned char *base = (unsigned char *)scratch;
    int64_t *acc = (int64_t *)(void *)base;
    base += circnn_bc_conv2d_q15_acc_bytes(k);
    int16_t *tmp = (int16_t *)(void *)base;
    base += circnn_bc_conv2d_q15_tmp_bytes(k);
    int16_t *spectra = (int16_t *)(void *)base;
    base += circnn_bc_conv2d_q15_spectra_bytes(g, k);
    int8_t *exps = (int8_t *)(void *)base;

    const int32_t e_max = forward(g, k, x, spectra, exps);
    const int64_t e_base = (int64_t)layer->weight_exp + e_max +
                           (layer->scale ? (int64_t)layer->scale_exp : 0);

    for (uint32_t oy = 0; oy < g->out_h; oy++) {
        uint32_t a_lo, a_hi;
        circnn_tap_range(oy, g->stride, g->pad_top, g->kernel_h, g->in_h, &a_lo, &a_hi);
        for (uint32_t ox = 0; ox < g->out_w; ox++) {
            uint32_t b_lo, b_hi;
            circnn_tap_range(ox, g->stride, g->pad_left, g->kernel_w, g->in_w, &b_lo, &b_hi);
            int16_t *out = y + ((size_t)oy * g->out_w + ox) * g->out_c;
            for (uint32_t i = 0; i < p; i++) {
                /* Step 3. */
                for (uint32_t t = 0; t < k; t++) acc[t] = 0;
                for (uint32_t a = a_lo; a < a_hi; a++) {
                    uint32_t iy = oy * g->stride + a - g->pad_top;
                    for (uint32_t b = b_lo; b < b_hi; b++) {
                        uint32_t ix = ox * g->stride + b - g->pad_left;
                        const int16_t *w =
                            layer->weight + (((size_t)a * g->kernel_w + b) * p + i) * q * k;
                        const int16_t *xs = spectra + ((size_t)iy * g->in_w + ix) * q * k;
#if CIRCNN_DSP
                        circnn_bc_mac_q15_dsp(acc, w, k, xs, k, q, k);   /* the same sums (dsp_q15.h) */
#else
                        for (uint32_t j = 0; j < q; j++)
                            spectral_mac(acc, w + (size_t)j * k, xs + (size_t)j * k, k);
#endif
                    }
                }
                /* Steps 4 to 6. */
                int32_t r = circnn_spectral_to_q15(acc, tmp, k);
                int32_t d = circnn_irfft_q15(tmp, tmp, k);
                int32_t f = clamp_exp(e_base + r + d);
                uint32_t c0 = i * k;
                for (uint32_t t = 0; t < k && c0 + t < g->out_c; t++) {
                    uint32_t c = c0 + t;
                    int32_t bias = layer->bias ? layer->bias[c] : 0;
                    int64_t v = layer->scale ? (int64_t)tmp[t] * layer->scale[c] : (int64_t)tmp[t];
                    int16_t o = circnn_requant_q15(v, f, bias);
                    out[c] = (layer->relu && o < 0) ? (int16_t)0 : o;
                }
            }
        }
    }
}
