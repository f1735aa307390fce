/*
 * Block-circulant 2-D convolution, f32 (contract: circnn/bc_conv2d.h;
 * scratch layout: bc_conv2d_common.h).
 *
 * 1. The channel vector of every input pixel, zero padded to q * k, is
 *    transformed block by block into the spectra buffer, CIRCNN_F32_LANES
 *    blocks at a time (fft_common.h).
 * 2. For each output pixel and output block i, the spectral products are
 *    summed over the taps that read a pixel inside the input and over the
 *    input blocks j.  As in bc_dense_f32.c the sums are kept as two plain
 *    elementwise sums on the packed reals,
 *        A += w * X    and    B += w * swap(X)
 *    (swap exchanges the two reals of each pair), and the complex products
 *    follow once per output block: Re = A[2b] - A[2b+1], Im = B[2b] + B[2b+1],
 *    with the real DC and Nyquist bins A[0] and A[1].
 * 3. The summed spectra of CIRCNN_F32_LANES output blocks (of consecutive
 *    (pixel, block) pairs) go through one lane-parallel inverse transform;
 *    the 1/k is applied with the scale; then the bias and the ReLU.
 */
#include "circnn/bc_conv2d.h"
#include "circnn/fft.h"
#include "bc_conv2d_common.h"

#define LANES CIRCNN_F32_LANES

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

/* Step 1: the spectra of all q * pixels input blocks. */
static void forward(const circnn_window_t *g, uint32_t k, const float *x, float *spectra,
                    float *buf_a, float *buf_b)
{
    const uint32_t c = g->in_c, q = circnn_blocks(c, k);
    const size_t total = circnn_bc_conv2d_pixels(g) * q;
    for (size_t g0 = 0; g0 < total; g0 += LANES) {
        uint32_t count = total - g0 < LANES ? (uint32_t)(total - g0) : LANES;
        if (count == 1) {
            float *dst = spectra + g0 * k;
            size_t pixel = g0 / q;
            uint32_t j = (uint32_t)(g0 % q), valid = block_count(j, k, c);
            const float *src = x + pixel * c + (size_t)j * k;
            for (uint32_t t = 0; t < valid; t++) dst[t] = src[t];
            for (uint32_t t = valid; t < k; t++) dst[t] = 0.0f;
            circnn_rfft_f32(dst, dst, k);
            continue;
        }
        for (uint32_t l = 0; l < LANES; l++) {
            uint32_t valid = 0;
            const float *src = x;
            if (l < count) {
                size_t pixel = (g0 + l) / q;
                uint32_t j = (uint32_t)((g0 + l) % q);
                valid = block_count(j, k, c);
                src = x + pixel * c + (size_t)j * k;
            }
            for (uint32_t t = 0; t < valid; t++) buf_a[(size_t)t * LANES + l] = src[t];
            for (uint32_t t = valid; t < k; t++) buf_a[(size_t)t * LANES + l] = 0.0f;
        }
        circnn_rfft_f32_lanes(buf_a, buf_b, k);
        for (uint32_t l = 0; l < count; l++) {
            float *dst = spectra + (g0 + l) * k;
            for (uint32_t t = 0; t < k; t++) dst[t] = buf_b[(size_t)t * LANES + l];
        }
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

/* Step 3: the outputs of block i at out (the pixel's out_c values) from
 * v[t * stride], which holds the result divided by unit (1, or k when the
 * inverse transform left out its 1/k). */
static void finish(const circnn_bc_conv2d_f32_t *layer, uint32_t i, const float *v, uint32_t stride,
                   float unit, float *out)
{
    const uint32_t k = layer->block_size, c0 = i * k;
    const uint32_t rows = block_count(i, k, layer->g.out_c);
    for (uint32_t t = 0; t < rows; t++) {
        float s = unit;
        if (layer->scale) s *= layer->scale[c0 + t];
        float y = v[(size_t)t * stride] * s;
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
    const float inv_k = 1.0f / (float)k;
    unsigned char *base = (unsigned char *)scratch;
    float *spectra = (float *)(void *)base;
    float *acc_a = (float *)(void *)(base + circnn_bc_conv2d_f32_spectra_bytes(g, k));
    float *acc_b = acc_a + k;
    float *buf_a = acc_b + k;                   /* LANES * k */
    float *buf_b = buf_a + (size_t)LANES * k;   /* LANES * k */

    forward(g, k, x, spectra, buf_a, buf_b);

    /* The output blocks in the order (pixel, i), LANES at a time. */
    const size_t total = (size_t)g->out_h * g->out_w * p;
    for (size_t o0 = 0; o0 < total; o0 += LANES) {
        uint32_t count = total - o0 < LANES ? (uint32_t)(total - o0) : LANES;
        if (count == 1) {
            size_t pixel = o0 / p;
            uint32_t i = (uint32_t)(o0 % p);
            sum_block(layer, spectra, (uint32_t)(pixel / g->out_w), (uint32_t)(pixel % g->out_w), i,
                      acc_a, acc_b, buf_a, 1);
            circnn_irfft_f32(buf_a, buf_b, k);
            finish(layer, i, buf_b, 1, 1.0f, y + pixel * g->out_c);
            continue;
        }
        for (uint32_t l = 0; l < LANES; l++) {
            if (l < count) {
                size_t pixel = (o0 + l) / p;
                sum_block(layer, spectra, (uint32_t)(pixel / g->out_w), (uint32_t)(pixel % g->out_w),
                          (uint32_t)((o0 + l) % p), acc_a, acc_b, buf_a + l, LANES);
            } else {
                for (uint32_t t = 0; t < k; t++) buf_a[(size_t)t * LANES + l] = 0.0f;
            }
        }
        circnn_irfft_f32_lanes_unscaled(buf_a, buf_b, k);
        for (uint32_t l = 0; l < count; l++) {
            size_t pixel = (o0 + l) / p;
            finish(layer, (uint32_t)((o0 + l) % p), buf_b + l, LANES, inv_k, y + pixel * g->out_c);
        }
    }
}
