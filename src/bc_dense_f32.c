/* Block-circulant dense layer, f32 (contract: circnn/bc_dense.h). */
#include "circnn/bc_dense.h"
#include "circnn/fft.h"
#include "bc_dense_common.h"

size_t circnn_bc_dense_f32_scratch_bytes(uint32_t in_features, uint32_t out_features,
                                         uint32_t block_size)
{
    (void)out_features;
    size_t spectra = (size_t)circnn_blocks(in_features, block_size) * block_size;
    return circnn_align8((spectra + block_size) * sizeof(float));
}

/* acc += w * x on packed spectra: DC and Nyquist real, then complex bins. */
static void spectral_mac(float *acc, const float *w, const float *x, uint32_t k)
{
    acc[0] += w[0] * x[0];
    acc[1] += w[1] * x[1];
    for (uint32_t b = 2; b < k; b += 2) {
        float wr = w[b], wi = w[b + 1], xr = x[b], xi = x[b + 1];
        acc[b] += wr * xr - wi * xi;
        acc[b + 1] += wr * xi + wi * xr;
    }
}

void circnn_bc_dense_f32(const circnn_bc_dense_f32_t *layer, const float *x, float *y,
                         void *scratch)
{
    const uint32_t n = layer->in_features, m = layer->out_features, k = layer->block_size;
    const uint32_t p = circnn_blocks(m, k), q = circnn_blocks(n, k);
    float *spectra = (float *)scratch;  /* q * k */
    float *acc = spectra + (size_t)q * k; /* k */

    for (uint32_t j = 0; j < q; j++) {
        float *xs = spectra + (size_t)j * k;
        uint32_t c0 = j * k;
        for (uint32_t t = 0; t < k; t++) xs[t] = (c0 + t < n) ? x[c0 + t] : 0.0f;
        circnn_rfft_f32(xs, xs, k);
    }
    for (uint32_t i = 0; i < p; i++) {
        const float *w = layer->weight + (size_t)i * q * k;
        for (uint32_t t = 0; t < k; t++) acc[t] = 0.0f;
        for (uint32_t j = 0; j < q; j++) spectral_mac(acc, w + (size_t)j * k, spectra + (size_t)j * k, k);
        circnn_irfft_f32(acc, acc, k);
        uint32_t r0 = i * k;
        for (uint32_t t = 0; t < k && r0 + t < m; t++) {
            float v = acc[t];
            if (layer->bias) v += layer->bias[r0 + t];
            if (layer->relu && v < 0.0f) v = 0.0f;
            y[r0 + t] = v;
        }
    }
}
