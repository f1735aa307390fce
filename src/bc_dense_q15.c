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
    if (circnn_bc_dense_check(in_features, out_features, block_size) != CIRCNN_OK) return SIZE_MAX;
    size_t q = circnn_blocks(in_features, block_size);
    return circnn_align8(block_size * sizeof(int64_t)) + circnn_align8(q * sizeof(int32_t)) +
           circnn_align8((q * block_size + block_size) * sizeof(int16_t));
}

#if !CIRCNN_DSP
/* acc = sum over the q blocks j of w_j * x_j (packed q15 spectra, w_j at
 * w + j k, x_j at x + j k), each bin summed in locals over the blocks.  The
 * real part of one product is exact in int32 (|wr xr - wi xi| <= 2^31 -
 * 2^15); the imaginary part reaches 2^31 only when all four are -32768, so
 * its negation (in [-2^31, 2^31 - 2^16]) is subtracted instead. */
static void spectral_sums(int64_t *acc, const int16_t *w, const int16_t *x, uint32_t q, uint32_t k)
{
    int64_t dc = 0, nyquist = 0;
    for (uint32_t j = 0, o = 0; j < q; j++, o += k) {
        dc += (int32_t)w[o] * x[o];
        nyquist += (int32_t)w[o + 1] * x[o + 1];
    }
    acc[0] = dc, acc[1] = nyquist;
    for (uint32_t b = 2; b < k; b += 2) {
        const int16_t *wb = w + b, *xb = x + b, *end = w + b + (size_t)q * k;
#if defined(__ARM_ARCH_6M__) && defined(__GNUC__)
        /* ARMv6-M (Cortex-M0/M0+): GCC spills most of this loop; two passes
         * over the blocks (real, then imaginary parts) in seven low
         * registers, the same sums.  test_firmware.py checks the bits. */
        uint32_t lo, hi, stride = 2 * k, a, c, d;
        const int16_t *wp, *xp;
        __asm__ volatile(
            ".syntax unified\n\t"   /* GCC hands Thumb-1 inline asm divided syntax */
            "movs   %[lo], #0\n\t"
            "movs   %[hi], #0\n\t"
            "1:\n\t"
            "ldrh   %[a], [%[wp], #0]\n\t"
            "sxth   %[a], %[a]\n\t"
            "ldrh   %[c], [%[xp], #0]\n\t"
            "sxth   %[c], %[c]\n\t"
            "muls   %[a], %[c], %[a]\n\t"            /* wr xr */
            "ldrh   %[c], [%[wp], #2]\n\t"
            "sxth   %[c], %[c]\n\t"
            "ldrh   %[d], [%[xp], #2]\n\t"
            "sxth   %[d], %[d]\n\t"
            "muls   %[c], %[d], %[c]\n\t"            /* wi xi */
            "subs   %[a], %[a], %[c]\n\t"
            "asrs   %[c], %[a], #31\n\t"
            "adds   %[lo], %[lo], %[a]\n\t"
            "adcs   %[hi], %[hi], %[c]\n\t"
            "add    %[wp], %[st]\n\t"
            "add    %[xp], %[st]\n\t"
            "cmp    %[wp], %[end]\n\t"
            "bne    1b\n\t"
            ".syntax divided\n\t"
            : [lo] "=&l"(lo), [hi] "=&l"(hi), [a] "=&l"(a), [c] "=&l"(c), [d] "=&l"(d), [wp] "=&l"(wp),
              [xp] "=&l"(xp)
            : "[wp]"(wb), "[xp]"(xb), [st] "h"(stride), [end] "h"(end)
            : "cc", "memory");
        acc[b] = (int64_t)(((uint64_t)hi << 32) | lo);
        __asm__ volatile(
            ".syntax unified\n\t"   /* GCC hands Thumb-1 inline asm divided syntax */
            "movs   %[lo], #0\n\t"
            "movs   %[hi], #0\n\t"
            "1:\n\t"
            "ldrh   %[a], [%[wp], #0]\n\t"
            "sxth   %[a], %[a]\n\t"
            "ldrh   %[c], [%[xp], #2]\n\t"
            "sxth   %[c], %[c]\n\t"
            "muls   %[a], %[c], %[a]\n\t"            /* wr xi */
            "ldrh   %[c], [%[wp], #2]\n\t"
            "sxth   %[c], %[c]\n\t"
            "ldrh   %[d], [%[xp], #0]\n\t"
            "sxth   %[d], %[d]\n\t"
            "muls   %[c], %[d], %[c]\n\t"            /* wi xr */
            "rsbs   %[a], %[a], #0\n\t"
            "subs   %[a], %[a], %[c]\n\t"      /* -(wr xi) - wi xr, exact */
            "asrs   %[c], %[a], #31\n\t"
            "subs   %[lo], %[lo], %[a]\n\t"
            "sbcs   %[hi], %[hi], %[c]\n\t"
            "add    %[wp], %[st]\n\t"
            "add    %[xp], %[st]\n\t"
            "cmp    %[wp], %[end]\n\t"
            "bne    1b\n\t"
            ".syntax divided\n\t"
            : [lo] "=&l"(lo), [hi] "=&l"(hi), [a] "=&l"(a), [c] "=&l"(c), [d] "=&l"(d), [wp] "=&l"(wp),
              [xp] "=&l"(xp)
            : "[wp]"(wb), "[xp]"(xb), [st] "h"(stride), [end] "h"(end)
            : "cc", "memory");
        acc[b + 1] = (int64_t)(((uint64_t)hi << 32) | lo);
#else
        int64_t re = 0, im = 0;
        for (; wb != end; wb += k, xb += k) re += wb[0] * xb[0] - wb[1] * xb[1];
        for (wb = w + b, xb = x + b; wb != end; wb += k, xb += k) im -= -(wb[0] * xb[1]) - wb[1] * xb[0];
        acc[b] = re, acc[b + 1] = im;
#endif
    }
}
#endif

/* Step 6 on one output block: circnn_requant_q15(a[t], f, bias[t]) and the
 * ReLU, the same integers.  For u = f + 16 in [0, 31] the scaled value
 * a * 2^u is a multiple of 2^16 when u >= 16, and below 2^31 when u <= 15,
 * so 32 bits hold all but the bias: (a 2^u + bias + 2^15) >> 16 is
 * a 2^(u-16) + c with c = (bias + 2^15) >> 16 (u >= 16), or taken in int64. */
static inline int16_t sat16_relu(int64_t v, int relu)
{
    int16_t o = circnn_sat16_64(v);
    return (relu && o < 0) ? (int16_t)0 : o;
}

static inline int16_t sat16_relu32(int32_t v, int relu)
{
    int16_t o = circnn_sat16(v);
    return (relu && o < 0) ? (int16_t)0 : o;
}

static void requant_block(const int16_t *a, int16_t *y, uint32_t count, int32_t f, const int32_t *bias, int relu)
{
    int32_t u = f + CIRCNN_Q15_BIAS_FRAC_BITS;
    if (u >= 16 && u <= 31) {
        int32_t scale = (int32_t)1 << (u - 16);   /* |a| * scale <= 2^30, |c| <= 2^15 */
        if (bias == NULL) {
            for (uint32_t t = 0; t < count; t++) y[t] = sat16_relu32(a[t] * scale, relu);
        } else {
            for (uint32_t t = 0; t < count; t++)
                y[t] = sat16_relu32(a[t] * scale + (int32_t)(((int64_t)bias[t] + 32768) >> 16), relu);
        }
    } else if (u >= 0 && u <= 15) {
        int32_t scale = (int32_t)1 << u;          /* |a| * scale <= 2^30 */
        if (bias == NULL) {
            for (uint32_t t = 0; t < count; t++) y[t] = sat16_relu32((a[t] * scale + 32768) >> 16, relu);
        } else {
            for (uint32_t t = 0; t < count; t++)
                y[t] = sat16_relu(((int64_t)(a[t] * scale) + bias[t] + 32768) >> 16, relu);
        }
    } else {
        for (uint32_t t = 0; t < count; t++) {
            int16_t v = circnn_requant_q15(a[t], f, bias ? bias[t] : 0);
            y[t] = (relu && v < 0) ? (int16_t)0 : v;
        }
    }
}

/* Steps 1 and 2: the spectra of the q input blocks (the last one zero
 * padded), shifted to the largest block exponent, which is returned.  The
 * portable sums read block j's k reals at spectra + j k; the DSP sums read
 * them by word (circnn_bc_mac_q15_dsp_words): reals 2b, 2b + 1 of block j
 * at spectra + 2 (b q + j), through tmp. */
static int32_t input_spectra(const int16_t *x, uint32_t n, uint32_t q, uint32_t k, int16_t *spectra,
                             int16_t *tmp, int32_t *exps)
{
    int32_t e_max = INT32_MIN;
    for (uint32_t j = 0, c0 = 0; j < q; j++, c0 += k) {
#if CIRCNN_DSP
        int16_t *xs = tmp;
#else
        int16_t *xs = spectra + (size_t)j * k;
        (void)tmp;
#endif
        const int16_t *src = x + c0;
        if (n - c0 < k) {
            for (uint32_t t = 0; t < k; t++) xs[t] = c0 + t < n ? x[c0 + t] : (int16_t)0;
            src = xs;
        }
        exps[j] = circnn_rfft_q15(src, xs, k);
        if (exps[j] > e_max) e_max = exps[j];
#if CIRCNN_DSP
        int16_t *to = spectra + 2 * (size_t)j;
        for (uint32_t b = 0; b < k; b += 2, to += 2 * (size_t)q) circnn_store_pair(to, circnn_load_pair(xs + b));
#endif
    }
#if CIRCNN_DSP
    const size_t first = 2, stride = 2 * (size_t)q;   /* between blocks, between words */
#else
    const size_t first = k, stride = 2;
#endif
    for (uint32_t j = 0; j < q; j++) {
        int32_t shift = e_max - exps[j];
        if (shift == 0) continue;
        int16_t *xs = spectra + j * first;
        for (uint32_t b = 0; b < k; b += 2, xs += stride) {
            xs[0] = shift >= 16 ? (int16_t)0 : (int16_t)circnn_rshift_round32(xs[0], shift);
            xs[1] = shift >= 16 ? (int16_t)0 : (int16_t)circnn_rshift_round32(xs[1], shift);
        }
    }
    return e_max;
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

    const int32_t e_max = input_spectra(x, n, q, k, spectra, tmp, exps);
    /* Steps 3 to 6, one output block at a time. */
    for (uint32_t i = 0; i < p; i++) {
        const int16_t *w = layer->weight + (size_t)i * q * k;
#if CIRCNN_DSP
        circnn_bc_mac_q15_dsp_words(acc, w, spectra, q, k);   /* the same sums (dsp_q15.h) */
#else
        spectral_sums(acc, w, spectra, q, k);
#endif
        int32_t r = circnn_spectral_to_q15(acc, tmp, k);
        int32_t d = circnn_irfft_q15(tmp, tmp, k);
        int32_t f = layer->weight_exp + e_max + r + d;
        uint32_t r0 = i * k;
        requant_block(tmp, y + r0, m - r0 < k ? m - r0 : k, f, layer->bias ? layer->bias + r0 : NULL, (int)layer->relu);
    }
}
