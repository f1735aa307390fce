/*
 * Block-circulant dense layer, f32 (contract: circnn/bc_dense.h).
 *
 * 1. The input blocks are transformed into xspec up to 16 at a time
 *    (fft_common.h: 4 lanes per vector, up to 4 vectors; 8 lanes with AVX2)
 *    where the compiler has a 16-byte vector type for the target, else one
 *    by one.
 * 2. For each output block i the spectral products are summed over the
 *    input blocks j as two plain elementwise sums on the packed reals,
 *        A += w_ij * X_j    and    B += w_ij * swap(X_j)
 *    (swap exchanges the two reals of each pair, a shuffle in registers),
 *    32 reals at a time in registers (16 in the plain C code, whose b[t]
 *    reads x[t ^ 1] directly).  The complex products follow once per
 *    output block: Re = A[2b] - A[2b+1], Im = B[2b] + B[2b+1], and the real
 *    DC and Nyquist bins are A[0] and A[1].
 * 3. The summed spectra go through the inverse transforms, batched as in
 *    1; the 1/k of the inverse is applied with the bias, then the ReLU.
 */
#include <string.h>

#include "circnn/bc_dense.h"
#include "circnn/fft.h"
#include "bc_dense_common.h"
#include "fft_common.h"

#define LANES CIRCNN_F32_LANES
/* Scratch is 8-byte aligned; the buffers start on a 64-byte boundary. */
#define ALIGN_FLOATS 16u
/* A batched transform takes at most this many floats per buffer. */
#define BATCH_FLOATS 4096u

/*
 * Groups of 4 blocks per batched transform: as many as the blocks of the
 * layer can fill, at most CIRCNN_F32_MAX_GROUPS and BATCH_FLOATS / (4k).
 * A function of the shape only, so that the scratch size is the same for
 * every target (the model runtime checks the exporter's arena figure).
 */
static uint32_t batch_groups(uint32_t p, uint32_t q, uint32_t k)
{
    uint32_t blocks = p > q ? p : q;
    uint32_t g = (blocks + LANES - 1) / LANES, cap = BATCH_FLOATS / (LANES * k);
    if (g > CIRCNN_F32_MAX_GROUPS) g = CIRCNN_F32_MAX_GROUPS;
    if (g > cap) g = cap;
    return g < 1 ? 1 : g;
}

/*
 * Scratch: the input spectra (q * k floats) and two batch buffers of 4 * groups * k floats (staged inputs and
 * work area; summed spectra and inverse outputs).
 */
size_t circnn_bc_dense_f32_scratch_bytes(uint32_t in_features, uint32_t out_features,
                                         uint32_t block_size)
{
    if (circnn_bc_dense_check(in_features, out_features, block_size) != CIRCNN_OK) return SIZE_MAX;
    uint32_t p = circnn_blocks(out_features, block_size), q = circnn_blocks(in_features, block_size);
    size_t spectra = (size_t)q * block_size;
    size_t batch = (size_t)LANES * batch_groups(p, q, block_size) * block_size;
    return circnn_align8((spectra + 2 * batch + ALIGN_FLOATS) * sizeof(float));
}

/*
 * mac_sums: for each of `chunks` chunks of `width` (16 or 32) reals, chunk c
 * at offset c * width of each row, the sums A and B over `count` rows
 * (stride apart), taken two rows at a time, combined into the complex
 * products spec[c * width + 0..width); the raw A of chunk 0 also goes to
 * a[0..width).  B reads x with the two reals of each pair exchanged
 * (x[t ^ 1]).  The vector code does the multiplications and additions of
 * the plain C code, in its order, so every target gets bit-identical
 * results.
 */
#if CIRCNN_X86_AVX2
/* Compiled twice, for AVX2 and for the x86-64 baseline, chosen at load time
 * (an ifunc): 8-float vectors in ymm registers or in pairs of xmm.  The
 * same multiplications and additions in the same order either way (no FMA),
 * so the results are bit-identical. */
#define CIRCNN_MAC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CIRCNN_MAC_CLONES
#endif

#if CIRCNN_HAVE_V4

typedef float v8 __attribute__((vector_size(32)));
/* An unaligned, aliasing view for loads and stores (no function takes or
 * returns a v8 by value: that would change the ABI between the clones). */
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define ld8(p) (*(const v8u *)(const void *)(p))
#define st8(p, v) (*(v8u *)(void *)(p) = (v))
/* SWAP8: the two reals of each pair exchanged; MIX8: [d0, s0, d2, s2, ...]. */
#if defined(__clang__)
#define SWAP8(v) __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6)
#define MIX8(d, s) __builtin_shufflevector(d, s, 0, 8, 2, 10, 4, 12, 6, 14)
#else
typedef int32_t v8i __attribute__((vector_size(32)));
#define SWAP8(v) __builtin_shuffle(v, (v8i){1, 0, 3, 2, 5, 4, 7, 6})
#define MIX8(d, s) __builtin_shuffle(d, s, (v8i){0, 8, 2, 10, 4, 12, 6, 14})
#endif

/* One chunk of 8V reals, V <= 4. */
static inline __attribute__((always_inline)) void mac_chunk(
    const float *restrict w, const float *restrict x, uint32_t count, uint32_t stride,
    float *restrict spec, float *restrict araw, uint32_t V)
{
    v8 a[4] = {{0}}, b[4] = {{0}};
    const size_t step = 2 * (size_t)stride, end = (size_t)(count / 2) * step;
    for (size_t o = 0; o < end; o += step) {
        const float *wr = w + o, *wu = wr + stride, *xr = x + o, *xu = xr + stride;
        for (uint32_t v = 0; v < V; v++) {
            v8 w0 = ld8(wr + 8 * v), u0 = ld8(wu + 8 * v), x0 = ld8(xr + 8 * v), x1 = ld8(xu + 8 * v);
            a[v] += w0 * x0 + u0 * x1;
            b[v] += w0 * SWAP8(x0) + u0 * SWAP8(x1);
        }
    }
    if (count % 2) {
        for (uint32_t v = 0; v < V; v++) {
            v8 w0 = ld8(w + end + 8 * v), x0 = ld8(x + end + 8 * v);
            a[v] += w0 * x0;
            b[v] += w0 * SWAP8(x0);
        }
    }
    for (uint32_t v = 0; v < V; v++) {
        st8(spec + 8 * v, MIX8(a[v] - SWAP8(a[v]), b[v] + SWAP8(b[v])));
        if (araw) st8(araw + 8 * v, a[v]);
    }
}

CIRCNN_MAC_CLONES
static void mac_sums(const float *restrict w, const float *restrict x, uint32_t count,
                     uint32_t stride, uint32_t chunks, uint32_t width, float *restrict spec,
                     float *restrict a)
{
    for (uint32_t c = 0; c < chunks; c++) {
        size_t o = (size_t)c * width;
        if (width == 32)
            mac_chunk(w + o, x + o, count, stride, spec + o, c ? NULL : a, 4);
        else
            mac_chunk(w + o, x + o, count, stride, spec + o, c ? NULL : a, 2);
    }
}

#else

static void mac_sums(const float *restrict w, const float *restrict x, uint32_t count,
                     uint32_t stride, uint32_t chunks, uint32_t width, float *restrict spec,
                     float *restrict araw)
{
    for (uint32_t c = 0; c < chunks; c++) {
        const float *wc = w + (size_t)c * width, *xc = x + (size_t)c * width;
        float a[32] = {0}, b[32] = {0}, *out = spec + (size_t)c * width;
        uint32_t r = 0;
        for (; r + 2 <= count; r += 2) {
            const float *wr = wc + (size_t)r * stride, *xr = xc + (size_t)r * stride;
            const float *wu = wr + stride, *xu = xr + stride;
            for (uint32_t t = 0; t < width; t += 2) {
                float w0 = wr[t], w1 = wr[t + 1], u0 = wu[t], u1 = wu[t + 1];
                float x0 = xr[t], x1 = xr[t + 1], y0 = xu[t], y1 = xu[t + 1];
                a[t] += w0 * x0 + u0 * y0;
                a[t + 1] += w1 * x1 + u1 * y1;
                b[t] += w0 * x1 + u0 * y1;
                b[t + 1] += w1 * x0 + u1 * y0;
            }
        }
        if (r < count) {
            const float *wr = wc + (size_t)r * stride, *xr = xc + (size_t)r * stride;
            for (uint32_t t = 0; t < width; t += 2) {
                a[t] += wr[t] * xr[t];
                a[t + 1] += wr[t + 1] * xr[t + 1];
                b[t] += wr[t] * xr[t + 1];
                b[t + 1] += wr[t + 1] * xr[t];
            }
        }
        for (uint32_t t = 0; t < width; t += 2) {
            out[t] = a[t] - a[t + 1];
            out[t + 1] = b[t] + b[t + 1];
        }
        if (araw && c == 0)
            for (uint32_t t = 0; t < width; t++) araw[t] = a[t];
    }
}

#endif

/* The summed spectrum of one output block (weights w = weight + i * q * k). */
static void mac_block(const float *restrict w, const float *restrict x, uint32_t q, uint32_t k,
                      float *restrict spec)
{
    float a[32];
    if (k >= 16) {
        /* 16 reals at a time for the plain C code: fewer instructions on Cortex-M. */
        uint32_t width = (k >= 32 && CIRCNN_HAVE_V4) ? 32 : 16;
        mac_sums(w, x, q, k, k / width, width, spec, a);
        spec[0] = a[0];  /* the real DC and Nyquist bins, not pairs */
        spec[1] = a[1];
        return;
    }
    /* k < 16: the q * k reals as rows of 16 (whole blocks), folded to k (the
     * pairing into complex products commutes with the folding). */
    const size_t total = (size_t)q * k;
    float sums[16], dc = 0.0f, nyquist = 0.0f;
    uint32_t rows = (uint32_t)(total / 16);
    mac_sums(w, x, rows, 16, 1, 16, sums, a);
    for (uint32_t t = 0; t < k; t++) spec[t] = sums[t];
    for (uint32_t t = k; t < 16; t++) spec[t % k] += sums[t];
    for (uint32_t t = 0; t < 16; t += k) {
        dc += a[t];
        nyquist += a[t + 1];
    }
    for (size_t o = (size_t)rows * 16; o < total; o += 2) {  /* fewer than 16 left */
        uint32_t t = (uint32_t)(o % k);
        spec[t] += w[o] * x[o] - w[o + 1] * x[o + 1];
        spec[t + 1] += w[o] * x[o + 1] + w[o + 1] * x[o];
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
CIRCNN_MAC_CLONES
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

/* The next batch of `remaining` blocks: returns its number of blocks and
 * sets *groups to the groups of four of its transform (at most `most`); a
 * batch of one block is transformed alone. */
static uint32_t next_batch(uint32_t remaining, uint32_t most, uint32_t *groups)
{
    uint32_t g = (remaining + LANES - 1) / LANES;
    if (g > most) g = most;
    *groups = g;
    if (g == 0) return 1;
    return remaining < LANES * g ? remaining : LANES * g;
}

void circnn_bc_dense_f32(const circnn_bc_dense_f32_t *layer, const float *x, float *y,
                         void *scratch)
{
    const uint32_t n = layer->in_features, m = layer->out_features, k = layer->block_size;
    const uint32_t p = circnn_blocks(m, k), q = circnn_blocks(n, k), groups = batch_groups(p, q, k);
    /* Without vector code the blocks are transformed one by one. */
    const uint32_t most = CIRCNN_HAVE_V4 ? groups : 0;
    const float *bias = layer->bias;
    const int relu = layer->relu != 0;
    float *base = (float *)scratch;
    base += (ALIGN_FLOATS - ((uintptr_t)base / sizeof(float)) % ALIGN_FLOATS) % ALIGN_FLOATS;
    const size_t qk = (size_t)q * k, batch = (size_t)LANES * groups * k;
    float *xspec = base;          /* q * k: spectra of the input blocks */
    float *buf_a = xspec + qk;    /* batch: staged inputs; summed spectra */
    float *buf_b = buf_a + batch; /* batch: work area; inverse outputs */

    /* 1. Forward transforms.  A batch whose rows are all inside x is read
     * from x and written to xspec directly; otherwise it is staged in buf_a
     * with the zero padding.  A lone last block is done on its own. */
    for (uint32_t j0 = 0; j0 < q;) {
        uint32_t g, count = next_batch(q - j0, most, &g);
        size_t c0 = (size_t)j0 * k, span = count == 1 ? k : (size_t)LANES * g * k;
        if (count > 1 && count == LANES * g && c0 + span <= n) {
            circnn_rfft_f32_rows(x + c0, xspec + c0, buf_b, k, g);
        } else {
            size_t valid = n - c0 < span ? n - c0 : span;
            for (size_t t = 0; t < valid; t++) buf_a[t] = x[c0 + t];
            for (size_t t = valid; t < span; t++) buf_a[t] = 0.0f;
            if (count == 1) {
                circnn_rfft_f32(buf_a, xspec + c0, k);
            } else {
                circnn_rfft_f32_rows(buf_a, buf_a, buf_b, k, g);
                for (size_t t = 0; t < (size_t)count * k; t++) xspec[c0 + t] = buf_a[t];
            }
        }
        j0 += count;
    }

    /* 2 and 3. Multiply-accumulate and inverse transforms, a batch of
     * output blocks at a time (a lone last block on its own). */
    const float inv_k = 1.0f / (float)k;
    for (uint32_t i0 = 0; i0 < p;) {
        uint32_t g, count = next_batch(p - i0, most, &g);
        for (uint32_t l = 0; l < count; l++)
            mac_block(layer->weight + (size_t)(i0 + l) * qk, xspec, q, k, buf_a + (size_t)l * k);
        if (count == 1) {
            circnn_irfft_f32(buf_a, buf_b, k);
            uint32_t r0 = i0 * k;
            output_rows(buf_b, bias ? bias + r0 : NULL, 1.0f, relu, y + r0, block_count(i0, k, m));
        } else {
            for (size_t t = (size_t)count * k; t < (size_t)LANES * g * k; t++) buf_a[t] = 0.0f;
            circnn_irfft_f32_rows_unscaled(buf_a, buf_b, k, g);
            for (uint32_t l = 0; l < count; l++) {
                uint32_t r0 = (i0 + l) * k;
                output_rows(buf_b + (size_t)l * k, bias ? bias + r0 : NULL, inv_k, relu, y + r0,
                            block_count(i0 + l, k, m));
            }
        }
        i0 += count;
    }
}
