/*
 * Block-circulant dense layer, f32 (contract: circnn/bc_dense.h).
 *
 * The transforms run CIRCNN_F32_LANES blocks at a time (fft_common.h), which
 * the compiler turns into SIMD code.  The spectral multiply-accumulate of an
 * output block i keeps two sums over the input blocks j,
 *     A += w_ij * X_j    and    B += w_ij * swap(X_j)
 * (elementwise on the packed reals; swap exchanges the two reals of each
 * pair), which are plain vectorisable loops.  The complex products follow
 * once per output block: Re = A[2b] - A[2b+1], Im = B[2b] + B[2b+1], and the
 * real DC and Nyquist bins are A[0] and A[1].  The 1/k of the inverse
 * transform is applied with the bias.
 */
#include "circnn/bc_dense.h"
#include "circnn/fft.h"
#include "bc_dense_common.h"
#include "fft_common.h"

#define LANES CIRCNN_F32_LANES
/* Scratch is 8-byte aligned; the buffers start on a 64-byte boundary. */
#define ALIGN_FLOATS 16u

size_t circnn_bc_dense_f32_scratch_bytes(uint32_t in_features, uint32_t out_features,
                                         uint32_t block_size)
{
    (void)out_features;
    size_t spectra = (size_t)circnn_blocks(in_features, block_size) * block_size;
    size_t floats = 2 * spectra + 2 * (size_t)LANES * block_size + ALIGN_FLOATS;
    return circnn_align8(floats * sizeof(float));
}

/*
 * a[t] = sum_r w[r * stride + t] * x[r * stride + t] and b likewise with xs,
 * for t < 16 and r < count.  Four groups of four independent sums: the
 * shape that gcc turns into SSE2 (or NEON) code with the sums in registers.
 */
static void mac16(const float *restrict w, const float *restrict x, const float *restrict xs,
                  uint32_t count, uint32_t stride, float *restrict a, float *restrict b)
{
    float a0[4] = {0}, a1[4] = {0}, a2[4] = {0}, a3[4] = {0};
    float b0[4] = {0}, b1[4] = {0}, b2[4] = {0}, b3[4] = {0};
    for (uint32_t r = 0; r < count; r++) {
        const float *wr = w + (size_t)r * stride, *xr = x + (size_t)r * stride,
                    *sr = xs + (size_t)r * stride;
        for (uint32_t t = 0; t < 4; t++) {
            a0[t] += wr[t] * xr[t];
            b0[t] += wr[t] * sr[t];
            a1[t] += wr[4 + t] * xr[4 + t];
            b1[t] += wr[4 + t] * sr[4 + t];
            a2[t] += wr[8 + t] * xr[8 + t];
            b2[t] += wr[8 + t] * sr[8 + t];
            a3[t] += wr[12 + t] * xr[12 + t];
            b3[t] += wr[12 + t] * sr[12 + t];
        }
    }
    for (uint32_t t = 0; t < 4; t++) {
        a[t] = a0[t];
        a[4 + t] = a1[t];
        a[8 + t] = a2[t];
        a[12 + t] = a3[t];
        b[t] = b0[t];
        b[4 + t] = b1[t];
        b[8 + t] = b2[t];
        b[12 + t] = b3[t];
    }
}

/* The complex products from the sums a, b of bins [c, c + len), to spec[s * stride]. */
static void combine(const float *a, const float *b, uint32_t c, uint32_t len, float *spec,
                    uint32_t stride)
{
    for (uint32_t t = 0; t < len; t += 2) {
        spec[(size_t)(c + t) * stride] = a[t] - a[t + 1];
        spec[(size_t)(c + t + 1) * stride] = b[t] + b[t + 1];
    }
    if (c == 0) {  /* the real DC and Nyquist bins */
        spec[0] = a[0];
        spec[stride] = a[1];
    }
}

/*
 * The summed spectrum of one output block (weights w = weight + i * q * k),
 * to spec[s * stride].
 */
static void mac_block(const float *w, const float *x, const float *xs, uint32_t q, uint32_t k,
                      float *spec, uint32_t stride)
{
    float a[16], b[16];
    /* k >= 16: bins [c, c + 16) of the q blocks; k < 16: the q * k reals as
     * rows of 16 (whole blocks), folded to k at the end. */
    uint32_t rows = k >= 16 ? q : (uint32_t)((size_t)q * k / 16);
    uint32_t row = k >= 16 ? k : 16;
    for (uint32_t c = 0; c < k; c += 16) {
        mac16(w + c, x + c, xs + c, rows, row, a, b);
        if (k >= 16) combine(a, b, c, 16, spec, stride);
    }
    if (k >= 16) return;
    size_t total = (size_t)q * k, done = (size_t)rows * 16;
    for (size_t o = done; o < total; o++) {  /* fewer than 16 reals, whole blocks */
        a[o - done] += w[o] * x[o];
        b[o - done] += w[o] * xs[o];
    }
    for (uint32_t t = k; t < 16; t++) {
        a[t % k] += a[t];
        b[t % k] += b[t];
    }
    combine(a, b, 0, k, spec, stride);
}

/* Number of features of block b (size k) that lie below `features`. */
static uint32_t block_count(uint32_t b, uint32_t k, uint32_t features)
{
    uint32_t start = b * k;
    if (start >= features) return 0;
    return features - start < k ? features - start : k;
}

/* xs = x with the two reals of each pair exchanged. */
static void swap_pairs(const float *restrict x, float *restrict xs, uint32_t k)
{
    for (uint32_t t = 0; t < k; t += 2) {
        xs[t] = x[t + 1];
        xs[t + 1] = x[t];
    }
}

void circnn_bc_dense_f32(const circnn_bc_dense_f32_t *layer, const float *x, float *y,
                         void *scratch)
{
    const uint32_t n = layer->in_features, m = layer->out_features, k = layer->block_size;
    const uint32_t p = circnn_blocks(m, k), q = circnn_blocks(n, k);
    const float *bias = layer->bias;
    const int relu = layer->relu != 0;
    const float inv_k = 1.0f / (float)k;
    float *base = (float *)scratch;
    base += (ALIGN_FLOATS - ((uintptr_t)base / sizeof(float)) % ALIGN_FLOATS) % ALIGN_FLOATS;
    float *xspec = base;                          /* q * k: spectra of the input blocks */
    float *xswap = xspec + (size_t)q * k;         /* q * k: the same, pairs swapped */
    float *buf_a = xswap + (size_t)q * k;         /* LANES * k */
    float *buf_b = buf_a + (size_t)LANES * k;     /* LANES * k */

    /* Forward transforms, LANES blocks at a time (a lone last block alone). */
    for (uint32_t j0 = 0; j0 < q; j0 += LANES) {
        uint32_t count = q - j0 < LANES ? q - j0 : LANES;
        if (count == 1) {
            float *xj = xspec + (size_t)j0 * k;
            uint32_t valid = block_count(j0, k, n);
            for (uint32_t t = 0; t < valid; t++) xj[t] = x[(size_t)j0 * k + t];
            for (uint32_t t = valid; t < k; t++) xj[t] = 0.0f;
            circnn_rfft_f32(xj, xj, k);
            swap_pairs(xj, xswap + (size_t)j0 * k, k);
            continue;
        }
        for (uint32_t l = 0; l < LANES; l++) {
            uint32_t valid = l < count ? block_count(j0 + l, k, n) : 0;
            const float *src = x + (size_t)(j0 + l) * k;
            for (uint32_t t = 0; t < valid; t++) buf_a[(size_t)t * LANES + l] = src[t];
            for (uint32_t t = valid; t < k; t++) buf_a[(size_t)t * LANES + l] = 0.0f;
        }
        circnn_rfft_f32_lanes(buf_a, buf_b, k);
        for (uint32_t l = 0; l < count; l++) {
            float *xj = xspec + (size_t)(j0 + l) * k, *sj = xswap + (size_t)(j0 + l) * k;
            for (uint32_t t = 0; t < k; t += 2) {
                float re = buf_b[(size_t)t * LANES + l], im = buf_b[(size_t)(t + 1) * LANES + l];
                xj[t] = re;
                xj[t + 1] = im;
                sj[t] = im;
                sj[t + 1] = re;
            }
        }
    }

    /* Multiply-accumulate and inverse transforms, LANES output blocks at a time. */
    for (uint32_t i0 = 0; i0 < p; i0 += LANES) {
        uint32_t count = p - i0 < LANES ? p - i0 : LANES;
        if (count == 1) {
            mac_block(layer->weight + (size_t)i0 * q * k, xspec, xswap, q, k, buf_a, 1);
            circnn_irfft_f32(buf_a, buf_b, k);
            uint32_t r0 = i0 * k, rows = block_count(i0, k, m);
            for (uint32_t t = 0; t < rows; t++) {
                float v = buf_b[t];
                if (bias) v += bias[r0 + t];
                if (relu && v < 0.0f) v = 0.0f;
                y[r0 + t] = v;
            }
            continue;
        }
        for (uint32_t l = 0; l < LANES; l++) {
            if (l < count) {
                mac_block(layer->weight + (size_t)(i0 + l) * q * k, xspec, xswap, q, k, buf_a + l,
                          LANES);
            } else {
                for (uint32_t t = 0; t < k; t++) buf_a[(size_t)t * LANES + l] = 0.0f;
            }
        }
        circnn_irfft_f32_lanes_unscaled(buf_a, buf_b, k);
        for (uint32_t l = 0; l < count; l++) {
            uint32_t r0 = (i0 + l) * k, rows = block_count(i0 + l, k, m);
            for (uint32_t t = 0; t < rows; t++) {
                float v = buf_b[(size_t)t * LANES + l] * inv_k;
                if (bias) v += bias[r0 + t];
                if (relu && v < 0.0f) v = 0.0f;
                y[r0 + t] = v;
            }
        }
    }
}
