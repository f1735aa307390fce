/*
 * Block-circulant dense layer, f32 (contract: circnn/bc_dense.h).
 *
 * 1. The input blocks are transformed up to 16 at a time (fft_common.h: 4
 *    lanes per vector, up to 4 vectors), which the compiler turns into SIMD
 *    code, into xspec.
 * 2. For each output block i the spectral products are summed over the
 *    input blocks j as two plain elementwise sums on the packed reals,
 *        A += w_ij * X_j    and    B += w_ij * swap(X_j)
 *    (swap exchanges the two reals of each pair; the swapped spectra are
 *    kept in xswap), 16 reals at a time in registers.  The complex products
 *    follow once per output block: Re = A[2b] - A[2b+1], Im = B[2b] + B[2b+1],
 *    and the real DC and Nyquist bins are A[0] and A[1].
 * 3. The summed spectra go through the inverse transforms up to 16 at a
 *    time; the 1/k of the inverse is applied with the bias, then the ReLU.
 */
#include "circnn/bc_dense.h"
#include "circnn/fft.h"
#include "bc_dense_common.h"
#include "fft_common.h"

#define LANES CIRCNN_F32_LANES
/* Scratch is 8-byte aligned; the buffers start on a 64-byte boundary. */
#define ALIGN_FLOATS 16u
/* The batched transforms take at most this many floats per buffer. */
#define BATCH_FLOATS 4096u

/* Groups of 4 blocks per batched transform for block size k. */
static uint32_t max_groups(uint32_t k)
{
    uint32_t g = BATCH_FLOATS / (LANES * k);
    if (g > CIRCNN_F32_MAX_GROUPS) g = CIRCNN_F32_MAX_GROUPS;
    return g < 1 ? 1 : g;
}

size_t circnn_bc_dense_f32_scratch_bytes(uint32_t in_features, uint32_t out_features,
                                         uint32_t block_size)
{
    (void)out_features;
    size_t spectra = (size_t)circnn_blocks(in_features, block_size) * block_size;
    size_t batch = (size_t)LANES * max_groups(block_size) * block_size;
    return circnn_align8((2 * spectra + 3 * batch + ALIGN_FLOATS) * sizeof(float));
}

#if CIRCNN_HAVE_V4

/* spec[0..16) = the complex products of 16 reals of one output block, from
 * the sums A and B of the top over `count` rows (stride apart); A itself
 * goes to a[0..16) when a is not NULL. */
static void mac16(const float *restrict w, const float *restrict x, const float *restrict xs,
                  uint32_t count, uint32_t stride, float *restrict spec, float *restrict a)
{
    v4 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
    for (uint32_t r = 0; r < count; r++) {
        size_t o = (size_t)r * stride;
        v4 w0 = ld(w + o), w1 = ld(w + o + 4), w2 = ld(w + o + 8), w3 = ld(w + o + 12);
        a0 += w0 * ld(x + o);
        b0 += w0 * ld(xs + o);
        a1 += w1 * ld(x + o + 4);
        b1 += w1 * ld(xs + o + 4);
        a2 += w2 * ld(x + o + 8);
        b2 += w2 * ld(xs + o + 8);
        a3 += w3 * ld(x + o + 12);
        b3 += w3 * ld(xs + o + 12);
    }
    /* [a0 - a1, b0 + b1, a2 - a3, b2 + b3] from a = [a0 a1 a2 a3], b likewise */
    v4 as[4] = {a0, a1, a2, a3}, bs[4] = {b0, b1, b2, b3};
    if (a)
        for (uint32_t g = 0; g < 4; g++) st(a + 4 * g, as[g]);
    for (uint32_t g = 0; g < 4; g++) {
        v4 d = as[g] - SHUF(as[g], as[g], 1, 0, 3, 2);
        v4 s = bs[g] + SHUF(bs[g], bs[g], 1, 0, 3, 2);
        st(spec + 4 * g, SHUF(d, s, 0, 4, 2, 6));
    }
}

/* xs = x with the two reals of each pair exchanged; count is a multiple of 4. */
static void swap_pairs(const float *restrict x, float *restrict xs, size_t count)
{
    for (size_t t = 0; t < count; t += 4) {
        v4 v = ld(x + t);
        st(xs + t, SHUF(v, v, 1, 0, 3, 2));
    }
}

#else

/* The same in plain C: four groups of four independent sums, the shape
 * that compilers vectorise. */
static void mac16(const float *restrict w, const float *restrict x, const float *restrict xs,
                  uint32_t count, uint32_t stride, float *restrict spec, float *restrict araw)
{
    float a[4][4] = {{0}}, b[4][4] = {{0}};
    for (uint32_t r = 0; r < count; r++) {
        const float *wr = w + (size_t)r * stride, *xr = x + (size_t)r * stride,
                    *sr = xs + (size_t)r * stride;
        for (uint32_t g = 0; g < 4; g++)
            for (uint32_t t = 0; t < 4; t++) {
                a[g][t] += wr[4 * g + t] * xr[4 * g + t];
                b[g][t] += wr[4 * g + t] * sr[4 * g + t];
            }
    }
    for (uint32_t g = 0; g < 4; g++)
        for (uint32_t t = 0; t < 4; t += 2) {
            spec[4 * g + t] = a[g][t] - a[g][t + 1];
            spec[4 * g + t + 1] = b[g][t] + b[g][t + 1];
        }
    if (araw)
        for (uint32_t g = 0; g < 4; g++)
            for (uint32_t t = 0; t < 4; t++) araw[4 * g + t] = a[g][t];
}

static void swap_pairs(const float *restrict x, float *restrict xs, size_t count)
{
    for (size_t t = 0; t < count; t += 2) {
        xs[t] = x[t + 1];
        xs[t + 1] = x[t];
    }
}

#endif

/* The summed spectrum of one output block (weights w = weight + i * q * k). */
static void mac_block(const float *restrict w, const float *restrict x,
                      const float *restrict xs, uint32_t q, uint32_t k, float *restrict spec)
{
    float a[16];
    if (k >= 16) {
        mac16(w, x, xs, q, k, spec, a);
        for (uint32_t c = 16; c < k; c += 16) mac16(w + c, x + c, xs + c, q, k, spec + c, NULL);
        spec[0] = a[0];  /* the real DC and Nyquist bins, not pairs */
        spec[1] = a[1];
        return;
    }
    /* k < 16: the q * k reals as rows of 16 (whole blocks), folded to k (the
     * pairing into complex products commutes with the folding). */
    const size_t total = (size_t)q * k;
    float sums[16], dc = 0.0f, nyquist = 0.0f;
    uint32_t rows = (uint32_t)(total / 16);
    mac16(w, x, xs, rows, 16, sums, a);
    for (uint32_t t = 0; t < k; t++) spec[t] = sums[t];
    for (uint32_t t = k; t < 16; t++) spec[t % k] += sums[t];
    for (uint32_t t = 0; t < 16; t += k) {
        dc += a[t];
        nyquist += a[t + 1];
    }
    for (size_t o = (size_t)rows * 16; o < total; o += 2) {  /* fewer than 16 left */
        uint32_t t = (uint32_t)(o % k);
        spec[t] += w[o] * x[o] - w[o + 1] * x[o + 1];
        spec[t + 1] += w[o] * xs[o] + w[o + 1] * xs[o + 1];
        if (t == 0) {
            dc += w[o] * x[o];
            nyquist += w[o + 1] * x[o + 1];
        }
    }
    spec[0] = dc;
    spec[1] = nyquist;
}

/* Number of features of block b (size k) that lie below `features`. */
static uint32_t block_count(uint32_t b, uint32_t k, uint32_t features)
{
    uint32_t start = b * k;
    if (start >= features) return 0;
    return features - start < k ? features - start : k;
}

/* y = v * scale + bias (bias may be NULL), then the ReLU if asked. */
static void output_rows(const float *restrict v, const float *restrict bias, float scale, int relu,
                        float *restrict y, uint32_t count)
{
    if (bias) {
        for (uint32_t t = 0; t < count; t++) y[t] = v[t] * scale + bias[t];
    } else {
        for (uint32_t t = 0; t < count; t++) y[t] = v[t] * scale;
    }
    if (relu)
        for (uint32_t t = 0; t < count; t++) y[t] = y[t] < 0.0f ? 0.0f : y[t];
}

/* Groups of four for `remaining` blocks, at most `most`. */
static uint32_t groups_for(uint32_t remaining, uint32_t most)
{
    uint32_t g = (remaining + LANES - 1) / LANES;
    return g < most ? g : most;
}

void circnn_bc_dense_f32(const circnn_bc_dense_f32_t *layer, const float *x, float *y,
                         void *scratch)
{
    const uint32_t n = layer->in_features, m = layer->out_features, k = layer->block_size;
    const uint32_t p = circnn_blocks(m, k), q = circnn_blocks(n, k), most = max_groups(k);
    const float *bias = layer->bias;
    const int relu = layer->relu != 0;
    float *base = (float *)scratch;
    base += (ALIGN_FLOATS - ((uintptr_t)base / sizeof(float)) % ALIGN_FLOATS) % ALIGN_FLOATS;
    const size_t qk = (size_t)q * k, batch = (size_t)LANES * most * k;
    float *xspec = base;          /* q * k: spectra of the input blocks */
    float *xswap = xspec + qk;    /* q * k: the same, pairs swapped */
    float *rows = xswap + qk;     /* batch: staged inputs, or summed spectra */
    float *out = rows + batch;    /* batch: transformed rows */
    float *work = out + batch;    /* batch: the transforms' work area */

    /* 1. Forward transforms.  A batch whose rows are all inside x is read
     * from x and written to xspec directly; otherwise it is staged in rows
     * with the zero padding.  A lone last block is done on its own. */
    for (uint32_t j0 = 0; j0 < q;) {
        uint32_t g = groups_for(q - j0, most), count = q - j0;
        size_t c0 = (size_t)j0 * k, span = (size_t)LANES * g * k;
        if (count > LANES * g) count = LANES * g;
        if (count == LANES * g && c0 + span <= n) {
            circnn_rfft_f32_rows(x + c0, xspec + c0, work, k, g);
        } else {
            size_t valid = n - c0 < span ? n - c0 : span;
            for (size_t t = 0; t < valid; t++) rows[t] = x[c0 + t];
            for (size_t t = valid; t < span; t++) rows[t] = 0.0f;
            if (count == 1) {
                circnn_rfft_f32(rows, xspec + c0, k);
            } else {
                circnn_rfft_f32_rows(rows, out, work, k, g);
                for (size_t t = 0; t < (size_t)count * k; t++) xspec[c0 + t] = out[t];
            }
        }
        j0 += count;
    }
    swap_pairs(xspec, xswap, qk);

    /* 2 and 3. Multiply-accumulate and inverse transforms, a batch of
     * output blocks at a time (a lone last block on its own). */
    const float inv_k = 1.0f / (float)k;
    for (uint32_t i0 = 0; i0 < p;) {
        uint32_t g = groups_for(p - i0, most), count = p - i0;
        if (count > LANES * g) count = LANES * g;
        for (uint32_t l = 0; l < count; l++)
            mac_block(layer->weight + (size_t)(i0 + l) * qk, xspec, xswap, q, k, rows + (size_t)l * k);
        if (count == 1) {
            circnn_irfft_f32(rows, out, k);
            uint32_t r0 = i0 * k;
            output_rows(out, bias ? bias + r0 : NULL, 1.0f, relu, y + r0, block_count(i0, k, m));
        } else {
            for (size_t t = (size_t)count * k; t < (size_t)LANES * g * k; t++) rows[t] = 0.0f;
            circnn_irfft_f32_rows_unscaled(rows, out, work, k, g);
            for (uint32_t l = 0; l < count; l++) {
                uint32_t r0 = (i0 + l) * k;
                output_rows(out + (size_t)l * k, bias ? bias + r0 : NULL, inv_k, relu, y + r0,
                            block_count(i0 + l, k, m));
            }
        }
        i0 += count;
    }
}
