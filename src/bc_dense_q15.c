/* Block-circulant dense layer, q15 (contract and steps: circnn/bc_dense.h). */
#include "circnn/bc_dense.h"
#include "circnn/fft.h"
#include "circnn/q15.h"
#include "bc_dense_common.h"
#include "dsp_q15.h"
#include "fixed_point.h"

size_t circnn_bc_dense_q15_scratch_bytes(uint32_t in_features, uint32_t out_features,
                                         uint32_t block_size)
{
    (void)out_features;
    size_t q = circnn_blocks(in_features, block_size);
    return circnn_align8(block_size * sizeof(int64_t)) + circnn_align8(q * sizeof(int32_t)) +
           circnn_align8((q * block_size + block_size) * sizeof(int16_t));
}

#if !CIRCNN_DSP
/* acc += w * x on packed q15 spectra.  The real part is exact in int32
 * (|wr xr - wi xi| <= 2^31 - 2^15); the imaginary part is not when all four
 * values are -32768, so its two products are added separately. */
static void spectral_mac(int64_t *acc, const int16_t *w, const int16_t *x, uint32_t k)
{
    acc[0] += (int32_t)w[0] * x[0];
    acc[1] += (int32_t)w[1] * x[1];
    for (uint32_t b = 2; b < k; b += 2) {
        int32_t wr = w[b], wi = w[b + 1], xr = x[b], xi = x[b + 1];
        acc[b] += wr * xr - wi * xi;
        acc[b + 1] += wr * xi;
        acc[b + 1] += wi * xr;
    }
}
#endif

/* Step 4: the sums to int16; returns r (the value is out * 2^r). */
static int32_t to_q15(const int64_t *acc, int16_t *out, uint32_t k)
{
    uint64_t largest = 0;
    for (uint32_t t = 0; t < k; t++) {
        uint64_t a = acc[t] < 0 ? (uint64_t)0 - (uint64_t)acc[t] : (uint64_t)acc[t];
        if (a > largest) largest = a;
    }
    int32_t bits = 0;
    while (bits < 64 && (largest >> bits) != 0) bits++;
    int32_t r = bits - 15;
    for (uint32_t t = 0; t < k; t++) {
        int64_t v = r > 0 ? circnn_rshift_round64(acc[t], r) : acc[t] * ((int64_t)1 << -r);
        out[t] = circnn_sat16_64(v);
    }
    return r;
}

void circnn_bc_dense_q15(const circnn_bc_dense_q15_t *layer, const int16_t *x, int16_t *y,
                         void *scratch)
{
    const uint32_t n = layer->in_features, m = layer->out_features, k = layer->block_size;
    const uint32_t p = circnn_blocks(m, k), q = circnn_blocks(n, k);
    unsigned char *base = (unsigned char *)scratch;
    int64_t *acc = (int64_t *)(void *)base;
    int32_t *exps = (int32_t *)(void *)(base + circnn_align8(k * sizeof(int64_t)));
    int16_t *spectra = (int16_t *)(void *)((unsigned char *)exps + circnn_align8(q * sizeof(int32_t)));
    int16_t *tmp = spectra + (size_t)q * k;

    /* Steps 1 and 2. */
    int32_t e_max = INT32_MIN;
    for (uint32_t j = 0; j < q; j++) {
        int16_t *xs = spectra + (size_t)j * k;
        uint32_t c0 = j * k;
        for (uint32_t t = 0; t < k; t++) xs[t] = (c0 + t < n) ? x[c0 + t] : (int16_t)0;
        exps[j] = circnn_rfft_q15(xs, xs, k);
        if (exps[j] > e_max) e_max = exps[j];
    }
    for (uint32_t j = 0; j < q; j++) {
        int32_t shift = e_max - exps[j];
        int16_t *xs = spectra + (size_t)j * k;
        if (shift == 0) continue;
        for (uint32_t t = 0; t < k; t++)
            xs[t] = shift >= 16 ? (int16_t)0 : (int16_t)circnn_rshift_round32(xs[t], shift);
    }
    /* Steps 3 to 6, one output block at a time. */
    for (uint32_t i = 0; i < p; i++) {
        const int16_t *w = layer->weight + (size_t)i * q * k;
        for (uint32_t t = 0; t < k; t++) acc[t] = 0;
#if CIRCNN_DSP
        circnn_bc_mac_q15_dsp(acc, w, k, spectra, k, q, k);   /* the same sums (dsp_q15.h) */
#else
        for (uint32_t j = 0; j < q; j++) spectral_mac(acc, w + (size_t)j * k, spectra + (size_t)j * k, k);
#endif
        int32_t r = to_q15(acc, tmp, k);
        int32_t d = circnn_irfft_q15(tmp, tmp, k);
        int32_t f = layer->weight_exp + e_max + r + d;
        uint32_t r0 = i * k;
        for (uint32_t t = 0; t < k && r0 + t < m; t++)
        {
            int16_t v = circnn_requant_q15(tmp[t], f, layer->bias ? layer->bias[r0 + t] : 0);
            y[r0 + t] = (layer->relu && v < 0) ? (int16_t)0 : v;
        }
    }
}
