/*
 * dsp_q15.h - the Armv7E-M / Armv8-M DSP-extension instructions the fast q15
 * kernels use, with exact C emulations (private).
 *
 * CIRCNN_DSP is 1 where the DSP variants of the q15 kernels are compiled
 * in: on cores with the extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33,
 * M55), or anywhere when CIRCNN_DSP_EMULATE is defined (the host tests
 * build the variants that way and compare them with the portable reference
 * bit for bit).  -DCIRCNN_NO_DSP keeps the portable reference on every core.
 * Either way the results are the same: the variants compute the same exact
 * integer sums, in registers instead of memory.
 *
 * Each helper is the instruction's definition (Arm ARM), written with
 * unsigned 64-bit arithmetic where the instruction wraps, so the emulation
 * has no undefined behaviour and equals the hardware's result for every
 * input.  A packed pair holds two int16: bits 0-15 ("bottom") and 16-31
 * ("top").
 */
#ifndef CIRCNN_DSP_Q15_H
#define CIRCNN_DSP_Q15_H

#include <stdint.h>
#include <string.h>

#if defined(CIRCNN_NO_DSP)
#define CIRCNN_DSP 0
#elif defined(CIRCNN_DSP_EMULATE) || (defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP)
#define CIRCNN_DSP 1
#else
#define CIRCNN_DSP 0
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(CIRCNN_DSP_EMULATE)
#define CIRCNN_DSP_NATIVE 1
#include <arm_acle.h>
#else
#define CIRCNN_DSP_NATIVE 0
#endif

/* Two int16 from memory as one packed pair (p need not be 4-byte aligned;
 * every core with the extension loads unaligned words). */
static inline uint32_t circnn_load_pair(const int16_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline int32_t circnn_pair_bottom(uint32_t v)
{
    return (int32_t)(int16_t)(uint16_t)(v & 0xFFFFu);
}

static inline int32_t circnn_pair_top(uint32_t v)
{
    return (int32_t)(int16_t)(uint16_t)(v >> 16);
}

/* SMLALD: acc + a.bottom * b.bottom + a.top * b.top (64-bit, wrapping). */
static inline int64_t circnn_smlald(uint32_t a, uint32_t b, int64_t acc)
{
#if CIRCNN_DSP_NATIVE
    return __smlald((int16x2_t)a, (int16x2_t)b, acc);
#else
    uint64_t s = (uint64_t)acc;
    s += (uint64_t)(int64_t)(circnn_pair_bottom(a) * circnn_pair_bottom(b));
    s += (uint64_t)(int64_t)(circnn_pair_top(a) * circnn_pair_top(b));
    return (int64_t)s;
#endif
}

/* SMLSLD: acc + a.bottom * b.bottom - a.top * b.top (64-bit, wrapping). */
static inline int64_t circnn_smlsld(uint32_t a, uint32_t b, int64_t acc)
{
#if CIRCNN_DSP_NATIVE
    return __smlsld((int16x2_t)a, (int16x2_t)b, acc);
#else
    uint64_t s = (uint64_t)acc;
    s += (uint64_t)(int64_t)(circnn_pair_bottom(a) * circnn_pair_bottom(b));
    s -= (uint64_t)(int64_t)(circnn_pair_top(a) * circnn_pair_top(b));
    return (int64_t)s;
#endif
}

/* SMLALDX: acc + a.bottom * b.top + a.top * b.bottom (64-bit, wrapping). */
static inline int64_t circnn_smlaldx(uint32_t a, uint32_t b, int64_t acc)
{
#if CIRCNN_DSP_NATIVE
    return __smlaldx((int16x2_t)a, (int16x2_t)b, acc);
#else
    uint64_t s = (uint64_t)acc;
    s += (uint64_t)(int64_t)(circnn_pair_bottom(a) * circnn_pair_top(b));
    s += (uint64_t)(int64_t)(circnn_pair_top(a) * circnn_pair_bottom(b));
    return (int64_t)s;
#endif
}

/*
 * The spectral multiply-accumulate of the q15 block-circulant layers with
 * dual 16-bit MACs (bc_mac_q15_dsp.c): for j < blocks,
 *   acc += w_j * x_j   (packed spectra of k reals, circnn/fft.h layout)
 * with w_j = w + j * w_stride and x_j = x + j * x_stride: DC and Nyquist
 * real, bins 1 .. k/2-1 complex (re = wr xr - wi xi: SMLSLD; im = wr xi +
 * wi xr: SMLALDX).  Every product and sum is exact in int64, as in the
 * reference loops of bc_dense_q15.c and bc_conv2d_q15.c, so the sums are
 * the same; here each bin stays in registers over all j.
 */
void circnn_bc_mac_q15_dsp(int64_t *acc, const int16_t *w, uint32_t w_stride, const int16_t *x,
                           uint32_t x_stride, uint32_t blocks, uint32_t k);

#endif /* CIRCNN_DSP_Q15_H */
