/*
 * Block-circulant dense layer, f32 (contract: circnn/bc_dense.h).
 *
 * 1. The input blocks are transformed into xspec up to 16 at a time
 *    (fft_common.h: 4 lanes per vector, up to 4 vectors) where the compiler
 *    has a 16-byte vector type for the target, else one by one.
 * 2. For each output block i the spectral products are summed over the
 *    input blocks j as two plain elementwise sums on the packed reals,
 *        A += w_ij * X_j    and    B += w_ij * swap(X_j)
 *    (swap exchanges the two reals of each pair; the swapped spectra are
 *    kept in xswap), 16 reals at a time in registers.  The complex products
 *    follow once per output block: Re = A[2b] - A[2b+1], Im = B[2b] + B[2b+1],
 *    and the real DC and Nyquist bins are A[0] and A[1].
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
 * Scratch: the input spectra, the same with pairs swapped (q * k floats
 * each), and two batch buffers of 4 * groups * k floats (staged inputs and
 * work area; summed spectra and inverse outputs).
 */
size_t circnn_bc_dense_f32_scratch_bytes(uint32_t in_features, uint32_t out_features,
                                         uint32_t block_size)
{
    uint32_t p = circnn_blocks(out_features, block_size), q = circnn_blocks(in_features, block_size);
    size_t spectra = (size_t)q * block_size;
    size_t batch = (size_t)LANES * batch_groups(p, q, block_size) * block_size;
    return circnn_align8((2 * spectra + 2 * batch + ALIGN_FLOATS) * sizeof(float));
}

#if CIRCNN_HAVE_V4

/* spec[0..16) = the complex products of 16 reals of one output block, from
 * the sums A and B of the top over `count` rows (stride apart), taken two
 * rows at a time; A itself goes to a[0..16) when a is not NULL. */
#if defined(__x86_64__) && defined(__ELF__) && defined(__GNUC__) && !defined(CIRCNN_NO_CLONES)
/* Compiled twice, for AVX2 and for the x86-64 baseline, chosen at load time
 * (an ifunc): 8-float vectors in ymm registers or in pairs of xmm.  The
 * same multiplications and additions in the same order either way (no FMA),
 * so the results are bit-identical. */
#define CIRCNN_MAC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CIRCNN_MAC_CLONES
#endif

typedef float v8 __attribute__((vector_size(32)));
/* An unaligned, aliasing view for loads (no function returns a v8: that
 * would change the ABI between the two clones). */
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define ld8(p) (*(const v8u *)(const void *)(p))

/* The sums A and B of mac16 over `count` rows, two rows at a time, for 16
 * reals: a[0..16), b[0..16). */
CIRCNN_MAC_CLONES
static void mac16_sums(const float *restrict w, const float *restrict x, const float *restrict xs,
                       uint32_t count, uint32_t stride, float *restrict a, float *restrict b)
{
    v8 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
    const size_t step = 2 * (size_t)stride, end = (size_t)(count / 2) * step;
    const float *wu = w + stride, *xu = x + stride, *su = xs + stride;
    for (size_t o = 0; o < end; o += step) {
        v8 w0 = ld8(w + o), w1 = ld8(w + o + 8), u0 = ld8(wu + o), u1 = ld8(wu + o + 8);
        a0 += w0 * ld8(x + o) + u0 * ld8(xu + o);
        b0 += w0 * ld8(xs + o) + u0 * ld8(su + o);
        a1 += w1 * ld8(x + o + 8) + u1 * ld8(xu + o + 8);
        b1 += w1 * ld8(xs + o + 8) + u1 * ld8(su + o + 8);
    }
    if (count % 2) {
        const float *wr = w + end, *xr = x + end, *sr = xs + end;
        v8 w0 = ld8(wr), w1 = ld8(wr + 8);
        a0 += w0 * ld8(xr);
        b0 += w0 * ld8(sr);
        a1 += w1 * ld8(xr + 8);
        b1 += w1 * ld8(sr + 8);
    }
    memcpy(a, &a0, sizeof a0);
    memcpy(a + 8, &a1, sizeof a1);
    memcpy(b, &b0, sizeof b0);
    memcpy(b + 8, &b1, sizeof b1);
}

static void mac16(const float *restrict w, const float *restrict x, const float *restrict xs,
                  uint32_t count, uint32_t stride, float *restrict spec, float *restrict a)
{
    float sa[16], sb[16];
    mac16_sums(w, x, xs, count, stride, sa, sb);
    v4 a0 = ld(sa), a1 = ld(sa + 4), a2 = ld(sa + 8), a3 = ld(sa + 12);
    v4 b0 = ld(sb), b1 = ld(sb + 4), b2 = ld(sb + 8), b3 = ld(sb + 12);
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

#else

/* The same in plain C, with the same operations in the same order (so that
 * every target gets bit-identical results). */
static void mac16(const float *restrict w, const float *restrict x, const float *restrict xs,
                  uint32_t count, uint32_t stride, float *restrict spec, float *restrict araw)
{
    float a[16] = {0}, b[16] = {0};
    uint32_t r = 0;
    for (; r + 2 <= count; r += 2) {
        const float *wr = w + (size_t)r * stride, *xr = x + (size_t)r * stride,
                    *sr = xs + (size_t)r * stride;
        const float *wu = wr + stride, *xu = xr + stride, *su = sr + stride;
        for (uint32_t t = 0; t < 16; t++) {
            a[t] += wr[t] * xr[t] + wu[t] * xu[t];
            b[t] += wr[t] * sr[t] + wu[t] * su[t];
        }
    }
    if (r < count) {
        const float *wr = w + (size_t)r * stride, *xr = x + (size_t)r * stride,
                    *sr = xs + (size_t)r * stride;
        for (uint32_t t = 0; t < 16; t++) {
            a[t] += wr[t] * xr[t];
            b[t] += wr[t] * sr[t];
        }
    }
    for (uint32_t t = 0; t < 16; t += 2) {
        spec[t] = a[t] - a[t + 1];
        spec[t + 1] = b[t] + b[t + 1];
    }
    if (araw)
        for (uint32_t t = 0; t < 16; t++) araw[t] = a[t];
}

#endif

/* xs = x with the two reals of each pair exchanged. */
static void swap_pairs(const float *restrict x, float *restrict xs, size_t count)
{
    for (size_t t = 0; t < count; t += 2) {
        xs[t] = x[t + 1];
        xs[t + 1] = x[t];
    }
}

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
    float *xswap = xspec + qk;    /* q * k: the same, pairs swapped */
    float *buf_a = xswap + qk;    /* batch: staged inputs; summed spectra */
    float *buf_b = buf_a + batch; /* batch: work area; inverse outputs */

    /* 1. Forward transforms.  A batch whose rows are all inside x is read
     * from x and written to xspec directly; otherwise it is staged in buf_a
     * with the zero padding.  A lone last block is done on its own. */
    for (uint32_t j0 = 0; j0 < q;) {
        uint32_t g, count = next_batch(q - j0, most, &g);
        size_t c0 = (size_t)j0 * k, span = count == 1 ? k : (size_t)LANES * g * k;
        if (count > 1 && count == LANES * g && c0 + span <= n) {
            circnn_rfft_f32_rows(x + c0, xspec + c0, xswap + c0, buf_b, k, g);
        } else {
            size_t valid = n - c0 < span ? n - c0 : span;
            for (size_t t = 0; t < valid; t++) buf_a[t] = x[c0 + t];
            for (size_t t = valid; t < span; t++) buf_a[t] = 0.0f;
            if (count == 1) {
                circnn_rfft_f32(buf_a, xspec + c0, k);
            } else {
                circnn_rfft_f32_rows(buf_a, buf_a, NULL, buf_b, k, g);
                for (size_t t = 0; t < (size_t)count * k; t++) xspec[c0 + t] = buf_a[t];
            }
            swap_pairs(xspec + c0, xswap + c0, (size_t)count * k);
        }
        j0 += count;
    }

    /* 2 and 3. Multiply-accumulate and inverse transforms, a batch of
     * output blocks at a time (a lone last block on its own). */
    const float inv_k = 1.0f / (float)k;
    for (uint32_t i0 = 0; i0 < p;) {
        uint32_t g, count = next_batch(p - i0, most, &g);
        for (uint32_t l = 0; l < count; l++)
            mac_block(layer->weight + (size_t)(i0 + l) * qk, xspec, xswap, q, k, buf_a + (size_t)l * k);
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
