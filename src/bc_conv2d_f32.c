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
 *    with the real DC and Nyquist bins A[0] and A[1].  The sums run over
 *    16 bins at a time in locals (mac16); for k < 16 over rows of 16 reals,
 *    16 / k whole blocks, folded to k at the end.
 * 3. One inverse transform (circnn_irfft_f32) per output block, then the
 *    scale, the bias and the ReLU.
 */
#include "circnn/bc_conv2d.h"
#include "circnn/fft.h"
#include "bc_conv2d_common.h"
#include "pool2.h"

/* Channels of block b (size k) that lie below `channels`. */
static uint32_t block_count(uint32_t b, uint32_t k, uint32_t channels)
{
    uint32_t start = b * k;
    if (start >= channels) return 0;
    return channels - start < k ? channels - start : k;
}

/* The complex products from the sums A, B, to spec. */
static void combine(const float *acc_a, const float *acc_b, uint32_t k, float *spec)
{
    spec[0] = acc_a[0];
    spec[1] = acc_a[1];
    for (uint32_t t = 2; t < k; t += 2) {
        spec[t] = acc_a[t] - acc_a[t + 1];
        spec[t + 1] = acc_b[t] + acc_b[t + 1];
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

/*
 * a[t] += w[r * stride + t] * x[r * stride + t] and
 * b[t] += w[r * stride + t] * x[r * stride + (t ^ 1)] for t < 16, r < count.
 * The sums stay in locals, the shape that compilers turn into SIMD code.
 */
static void mac16(float *restrict a, float *restrict b, const float *restrict w,
                  const float *restrict x, size_t count, size_t stride)
{
    float sa[16], sb[16];
    for (uint32_t t = 0; t < 16; t++) {
        sa[t] = a[t];
        sb[t] = b[t];
    }
    for (size_t r = 0; r < count; r++) {
        const float *wr = w + r * stride, *xr = x + r * stride;
        for (uint32_t t = 0; t < 16; t += 2) {
            sa[t] += wr[t] * xr[t];
            sa[t + 1] += wr[t + 1] * xr[t + 1];
            sb[t] += wr[t] * xr[t + 1];
            sb[t + 1] += wr[t + 1] * xr[t];
        }
    }
    for (uint32_t t = 0; t < 16; t++) {
        a[t] = sa[t];
        b[t] = sb[t];
    }
}

/*
 * The sums of one tap: the q input blocks of w and x (q * k reals each).
 * k >= 16: bins [c, c + 16) of the q blocks at a time.  k < 16: the q * k
 * reals as rows of 16 (each 16 / k whole blocks) and a shorter last row,
 * into a, b of 16, folded to k by the caller.
 */
static void mac_tap(float *a, float *b, const float *w, const float *x, uint32_t q, uint32_t k)
{
    if (k >= 16u) {
        for (uint32_t c = 0; c < k; c += 16) mac16(a + c, b + c, w + c, x + c, q, k);
        return;
    }
    size_t len = (size_t)q * k, rows = len / 16;
    mac16(a, b, w, x, rows, 16);
    for (size_t o = rows * 16; o < len; o += 2) {
        uint32_t t = (uint32_t)(o - rows * 16);
        a[t] += w[o] * x[o];
        a[t + 1] += w[o + 1] * x[o + 1];
        b[t] += w[o] * x[o + 1];
        b[t + 1] += w[o + 1] * x[o];
    }
}

/* Step 2 for output pixel (oy, ox) and output block i, to spec.  acc_a and
 * acc_b hold max(k, 16) floats each. */
static void sum_block(const circnn_bc_conv2d_f32_t *layer, const float *spectra, uint32_t oy,
                      uint32_t ox, uint32_t i, float *acc_a, float *acc_b, float *spec)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t k = layer->block_size;
    const uint32_t p = circnn_blocks(g->out_c, k), q = circnn_blocks(g->in_c, k);
    const size_t qk = (size_t)q * k;
    const uint32_t width = circnn_bc_conv2d_f32_sum_width(k);
    uint32_t a_lo, a_hi, b_lo, b_hi;
    circnn_tap_range(oy, g->stride, g->pad_top, g->kernel_h, g->in_h, &a_lo, &a_hi);
    circnn_tap_range(ox, g->stride, g->pad_left, g->kernel_w, g->in_w, &b_lo, &b_hi);
    for (uint32_t t = 0; t < width; t++) {
        acc_a[t] = 0.0f;
        acc_b[t] = 0.0f;
    }
    for (uint32_t a = a_lo; a < a_hi; a++) {
        uint32_t iy = oy * g->stride + a - g->pad_top;
        for (uint32_t b = b_lo; b < b_hi; b++) {
            uint32_t ix = ox * g->stride + b - g->pad_left;
            const float *w = layer->weight + (((size_t)a * g->kernel_w + b) * p + i) * qk;
            const float *xs = spectra + ((size_t)iy * g->in_w + ix) * qk;
            mac_tap(acc_a, acc_b, w, xs, q, k);
        }
    }
    for (uint32_t t = k; t < width; t++) { /* k < 16: fold the 16 / k blocks of a row */
        acc_a[t % k] += acc_a[t];
        acc_b[t % k] += acc_b[t];
    }
    combine(acc_a, acc_b, k, spec);
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

/* The scratch's parts (bc_conv2d_common.h). */
typedef struct parts {
    float *spectra, *acc_a, *acc_b, *spec;
} parts_t;

/* over: NULL, or the input the spectra overwrite (then not in the scratch). */
static parts_t parts_of(const circnn_window_t *g, uint32_t k, void *scratch, float *over)
{
    parts_t s;
    unsigned char *base = (unsigned char *)scratch;
    s.spectra = over ? over : (float *)(void *)base;
    s.acc_a = (float *)(void *)(base + (over ? 0u : circnn_bc_conv2d_f32_spectra_bytes(g, k)));
    s.acc_b = s.acc_a + circnn_bc_conv2d_f32_sum_width(k);
    s.spec = s.acc_b + circnn_bc_conv2d_f32_sum_width(k);
    return s;
}

/* Steps 2 and 3 for output rows [oy0, oy1), columns [0, out_w): row oy's
 * pixels at y + (oy - oy0) * out_w * out_c. */
static void output_rows_f32(const circnn_bc_conv2d_f32_t *layer, const parts_t *s, uint32_t oy0,
                            uint32_t oy1, uint32_t out_w, float *y)
{
    const uint32_t k = layer->block_size, p = circnn_blocks(layer->g.out_c, k);
    for (uint32_t oy = oy0; oy < oy1; oy++) {
        for (uint32_t ox = 0; ox < out_w; ox++) {
            float *out = y + ((size_t)(oy - oy0) * out_w + ox) * layer->g.out_c;
            for (uint32_t i = 0; i < p; i++) {
                sum_block(layer, s->spectra, oy, ox, i, s->acc_a, s->acc_b, s->spec);
                circnn_irfft_f32(s->spec, s->spec, k);
                finish(layer, i, s->spec, out);
            }
        }
    }
}

/* The layer into y, or with band its 2x2 max pool (circnn_bc_conv2d_f32_pool2). */
static void run(const circnn_bc_conv2d_f32_t *layer, const float *x, float *y, float *band, const parts_t *s)
{
    const circnn_window_t *g = &layer->g;
    forward(g, layer->block_size, x, s->spectra);
    if (!band) {
        output_rows_f32(layer, s, 0, g->out_h, g->out_w, y);
        return;
    }
    const uint32_t pooled_w = g->out_w / 2u, row = pooled_w * g->out_c;
    const circnn_window_t pool = circnn_pool2_window(pooled_w, g->out_c);
    for (uint32_t r = 0; r < g->out_h / 2u; r++) {
        output_rows_f32(layer, s, 2u * r, 2u * r + 2u, 2u * pooled_w, band);
        circnn_maxpool2x2_f32(&pool, band, y + (size_t)r * row);
    }
}

void circnn_bc_conv2d_f32(const circnn_bc_conv2d_f32_t *layer, const float *x, float *y,
                          void *scratch)
{
    const parts_t s = parts_of(&layer->g, layer->block_size, scratch, NULL);
    run(layer, x, y, NULL, &s);
}

void circnn_bc_conv2d_f32_pool2(const circnn_bc_conv2d_f32_t *layer, const float *x, float *y, float *band,
                                void *scratch)
{
    const parts_t s = parts_of(&layer->g, layer->block_size, scratch, NULL);
    run(layer, x, y, band, &s);
}

void circnn_bc_conv2d_f32_model(const circnn_bc_conv2d_f32_t *layer, const float *x, float *over, float *y,
                                float *band, void *scratch)
{
    const parts_t s = parts_of(&layer->g, layer->block_size, scratch, over);
    run(layer, x, y, band, &s);
}
