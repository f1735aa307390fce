/*
 * Block-circulant 2-D convolution, f32 (contract: circnn/bc_conv2d.h;
 * scratch layout: bc_conv2d_common.h).
 *
 * 1. The channel vector of every input pixel, zero padded to q * k, is
 *    transformed block by block (circnn_rfft_f32) into the spectra buffer.
 * 2. For each output pixel and output block i, the spectral products are
 *    summed over the taps that read a pixel inside the input and over the
 *    input blocks j.  As in bc_dense_f32.c the sums are kept as two plain
 *    elementwise sums on the packed reals,
 *        A += w * X    and    B += w * swap(X)
 *    (swap exchanges the two reals of each pair), and the complex products
 *    follow once per output block: Re = A[2b] - A[2b+1], Im = B[2b] + B[2b+1],
 *    with the real DC and Nyquist bins A[0] and A[1].
 * 3. One inverse transform (circnn_irfft_f32) per output block, then the
 *    scale, the bias and the ReLU.
 */
#include "circnn/bc_conv2d.h"
#include "circnn/fft.h"
#include "bc_conv2d_common.h"

/* Channels of block b (size k) that lie below `channels`. */
static uint32_t block_count(uint32_t b, uint32_t k, uint32_t channels)
{
    uint32_t start = b * k;
    if (start >= channels) return 0;
    return channels - start < k ? channels - start : k;
}

/* A += w * x and B += w * swap(x) on k packed reals. */
static void mac(float *restrict acc_a, float *restrict acc_b, const float *restrict w,
                const float *restrict x, uint32_t k)
{
    for (uint32_t t = 0; t < k; t += 2) {
        float w0 = w[t], w1 = w[t + 1], x0 = x[t], x1 = x[t + 1];
        acc_a[t] += w0 * x0;
        acc_a[t + 1] += w1 * x1;
        acc_b[t] += w0 * x1;
        acc_b[t + 1] += w1 * x0;
    }
}

/* The complex products from the sums A, B, to spec[t * stride]. */
static void combine(const float *acc_a, const float *acc_b, uint32_t k, float *spec,
                    uint32_t stride)
{
    spec[0] = acc_a[0];
    spec[stride] = acc_a[1];
    for (uint32_t t = 2; t < k; t += 2) {
        spec[(size_t)t * stride] = acc_a[t] - acc_a[t + 1];
        spec[(size_t)(t + 1) * stride] = acc_b[t] + acc_b[t + 1];
    }
}

/* Step 1: the spectra of all pixels * q input blocks. */
static void forward(const circnn_window_t *g, uint32_t k, const float *x, float *spectra)
{
    const uint32_t c = g->in_c, q = circnn_blocks(c, k);
    const size_t total = circnn_bc_conv2d_pixels(g) * q;
    for (size_t blk = 0; blk < total; blk++) {
        float *dst = spectra + blk * k;
        uint32_t j = (uint32_t)(blk % q), valid = block_count(j, k, c);
        const float *src = x + (blk / q) * c + (size_t)j * k;
        for (uint32_t t = 0; t < valid; t++) dst[t] = src[t];
        for (uint32_t t = valid; t < k; t++) dst[t] = 0.0f;
        circnn_rfft_f32(dst, dst, k);
    }
}

/* Step 2 for output pixel (oy, ox) and output block i, to spec[t * stride]. */
static void sum_block(const circnn_bc_conv2d_f32_t *layer, const float *spectra, uint32_t oy,
                      uint32_t ox, uint32_t i, float *acc_a, float *acc_b, float *spec,
                      uint32_t stride)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t k = layer->block_size;
    const uint32_t p = circnn_blocks(g->out_c, k), q = circnn_blocks(g->in_c, k);
    uint32_t a_lo, a_hi, b_lo, b_hi;
    circnn_tap_range(oy, g->stride, g->pad_top, g->kernel_h, g->in_h, &a_lo, &a_hi);
    circnn_tap_range(ox, g->stride, g->pad_left, g->kernel_w, g->in_w, &b_lo, &b_hi);
    for (uint32_t t = 0; t < k; t++) {
        acc_a[t] = 0.0f;
        acc_b[t] = 0.0f;
    }
    for (uint32_t a = a_lo; a < a_hi; a++) {
        uint32_t iy = oy * g->stride + a - g->pad_top;
        for (uint32_t b = b_lo; b < b_hi; b++) {
            uint32_t ix = ox * g->stride + b - g->pad_left;
            const float *w = layer->weight + (((size_t)a * g->kernel_w + b) * p + i) * q * k;
            const float *xs = spectra + ((size_t)iy * g->in_w + ix) * q * k;
            for (uint32_t j = 0; j < q; j++) mac(acc_a, acc_b, w + (size_t)j * k, xs + (size_t)j * k, k);
        }
    }
    combine(acc_a, acc_b, k, spec, stride);
}

/* Step 3: the outputs of block i at out (the pixel's out_c values) from v. */
static void finish(const circnn_bc_conv2d_f32_t *layer, uint32_t i, const float *v, float *out)
{
    const uint32_t k = layer->block_size, c0 = i * k;
    const uint32_t rows = block_count(i, k, layer->g.out_c);
    for (uint32_t t = 0; t < rows; t++) {
        float y = v[t];
        if (layer->scale) y *= layer->scale[c0 + t];
        if (layer->bias) y += layer->bias[c0 + t];
        if (layer->relu && y < 0.0f) y = 0.0f;
        out[c0 + t] = y;
    }
}

void circnn_bc_conv2d_f32(const circnn_bc_conv2d_f32_t *layer, const float *x, float *y,
                          void *scratch)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t k = layer->block_size;
    const uint32_t p = circnn_blocks(g->out_c, k);
    unsigned char *base = (unsigned char *)scratch;
    float *spectra = (float *)(void *)base;
    float *acc_a = (float *)(void *)(base + circnn_bc_conv2d_f32_spectra_bytes(g, k));
    float *acc_b = acc_a + k;
    float *spec = acc_b + k;

    forward(g, k, x, spectra);
    for (uint32_t oy = 0; oy < g->out_h; oy++) {
        for (uint32_t ox = 0; ox < g->out_w; ox++) {
            float *out = y + ((size_t)oy * g->out_w + ox) * g->out_c;
            for (uint32_t i = 0; i < p; i++) {
                sum_block(layer, spectra, oy, ox, i, acc_a, acc_b, spec, 1);
                circnn_irfft_f32(spec, spec, k);
                finish(layer, i, spec, out);
            }
        }
    }
}
