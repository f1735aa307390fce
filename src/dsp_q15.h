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
 * Packed 16-bit SIMD (the q15 FFT's DSP variant, fft_q15_dsp.c).  Lanes
 * wrap modulo 2^16 where the instruction wraps; the halving forms compute
 * the 17-bit sum or difference and shift it right by one (floor).
 */
static inline uint32_t circnn_pair(int32_t bottom, int32_t top)
{
#if CIRCNN_DSP_NATIVE
    uint32_t r;   /* PKHBT; GCC would use UXTH and ORR */
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(bottom), "r"(top));
    return r;
#else
    return ((uint32_t)bottom & 0xFFFFu) | ((uint32_t)top << 16);
#endif
}

/* The top halves of two words as one pair: (a.top, b.top), PKHTB. */
static inline uint32_t circnn_pair_tops(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    uint32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (a >> 16) | (b & 0xFFFF0000u);
#endif
}

#if CIRCNN_DSP_NATIVE
#define CIRCNN_SIMD2(name, a, b) ((uint32_t)name((int16x2_t)(a), (int16x2_t)(b)))
#define CIRCNN_MAC2(name, a, b) ((int32_t)name((int16x2_t)(a), (int16x2_t)(b)))
#define CIRCNN_MAC3(name, a, b, c) ((int32_t)name((int16x2_t)(a), (int16x2_t)(b), (int32_t)(c)))
#endif

/* SADD16, SSUB16: a + b, a - b per lane.  SASX: (a.lo - b.hi, a.hi + b.lo);
 * SSAX: (a.lo + b.hi, a.hi - b.lo).  The SH forms halve (floor). */
static inline uint32_t circnn_sadd16(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_SIMD2(__sadd16, a, b);
#else
    return circnn_pair(circnn_pair_bottom(a) + circnn_pair_bottom(b), circnn_pair_top(a) + circnn_pair_top(b));
#endif
}

static inline uint32_t circnn_ssub16(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_SIMD2(__ssub16, a, b);
#else
    return circnn_pair(circnn_pair_bottom(a) - circnn_pair_bottom(b), circnn_pair_top(a) - circnn_pair_top(b));
#endif
}

static inline uint32_t circnn_sasx(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_SIMD2(__sasx, a, b);
#else
    return circnn_pair(circnn_pair_bottom(a) - circnn_pair_top(b), circnn_pair_top(a) + circnn_pair_bottom(b));
#endif
}

static inline uint32_t circnn_ssax(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_SIMD2(__ssax, a, b);
#else
    return circnn_pair(circnn_pair_bottom(a) + circnn_pair_top(b), circnn_pair_top(a) - circnn_pair_bottom(b));
#endif
}

static inline uint32_t circnn_shadd16(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_SIMD2(__shadd16, a, b);
#else
    return circnn_pair((circnn_pair_bottom(a) + circnn_pair_bottom(b)) >> 1,
                       (circnn_pair_top(a) + circnn_pair_top(b)) >> 1);
#endif
}

static inline uint32_t circnn_shsub16(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_SIMD2(__shsub16, a, b);
#else
    return circnn_pair((circnn_pair_bottom(a) - circnn_pair_bottom(b)) >> 1,
                       (circnn_pair_top(a) - circnn_pair_top(b)) >> 1);
#endif
}

/* UHADD16: (a + b) >> 1 per lane, the lanes unsigned. */
static inline uint32_t circnn_uhadd16(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return (uint32_t)__uhadd16((uint16x2_t)a, (uint16x2_t)b);
#else
    return (((a & 0xFFFFu) + (b & 0xFFFFu)) >> 1) | ((((a >> 16) + (b >> 16)) >> 1) << 16);
#endif
}

static inline uint32_t circnn_shasx(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_SIMD2(__shasx, a, b);
#else
    return circnn_pair((circnn_pair_bottom(a) - circnn_pair_top(b)) >> 1,
                       (circnn_pair_top(a) + circnn_pair_bottom(b)) >> 1);
#endif
}

static inline uint32_t circnn_shsax(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_SIMD2(__shsax, a, b);
#else
    return circnn_pair((circnn_pair_bottom(a) + circnn_pair_top(b)) >> 1,
                       (circnn_pair_top(a) - circnn_pair_bottom(b)) >> 1);
#endif
}

/* Dual 16x16 multiplies summed in 32 bits (wrapping, as the instructions):
 * SMUAD a.lo b.lo + a.hi b.hi, SMUADX a.lo b.hi + a.hi b.lo, SMUSD a.lo b.lo -
 * a.hi b.hi, SMUSDX a.lo b.hi - a.hi b.lo; the SMLxx forms add them to acc. */
static inline int32_t circnn_wrap32(uint32_t v)
{
    return v <= (uint32_t)INT32_MAX ? (int32_t)v : -(int32_t)(~v) - 1;
}

#define CIRCNN_MUL_DUAL(a_lo, b_lo, a_hi, b_hi, op, acc)                                              \
    circnn_wrap32((uint32_t)(acc) + (uint32_t)(circnn_pair_##a_lo(a) * circnn_pair_##b_lo(b))        \
                  op (uint32_t)(circnn_pair_##a_hi(a) * circnn_pair_##b_hi(b)))

static inline int32_t circnn_smlad(uint32_t a, uint32_t b, int32_t acc)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_MAC3(__smlad, a, b, acc);
#else
    return CIRCNN_MUL_DUAL(bottom, bottom, top, top, +, acc);
#endif
}

static inline int32_t circnn_smladx(uint32_t a, uint32_t b, int32_t acc)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_MAC3(__smladx, a, b, acc);
#else
    return CIRCNN_MUL_DUAL(bottom, top, top, bottom, +, acc);
#endif
}

static inline int32_t circnn_smlsd(uint32_t a, uint32_t b, int32_t acc)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_MAC3(__smlsd, a, b, acc);
#else
    return CIRCNN_MUL_DUAL(bottom, bottom, top, top, -, acc);
#endif
}

static inline int32_t circnn_smlsdx(uint32_t a, uint32_t b, int32_t acc)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_MAC3(__smlsdx, a, b, acc);
#else
    return CIRCNN_MUL_DUAL(bottom, top, top, bottom, -, acc);
#endif
}

static inline int32_t circnn_smuad(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    return CIRCNN_MAC2(__smuad, a, b);
#else
    return CIRCNN_MUL_DUAL(bottom, bottom, top, top, +, 0);
#endif
}

/* PKHTB with ASR #16: top lane of hi, bottom lane of lo >> 16; PKHBT with
 * LSL #1: bottom lane of lo, top lane of hi << 1.  (GCC does not find these
 * two in the C expressions.) */
static inline uint32_t circnn_pkhtb16(int32_t hi, int32_t lo)
{
#if CIRCNN_DSP_NATIVE
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
    return r;
#else
    return ((uint32_t)hi & 0xFFFF0000u) | (((uint32_t)lo >> 16) & 0xFFFFu);
#endif
}

static inline uint32_t circnn_pkhbt1(int32_t lo, int32_t hi)
{
#if CIRCNN_DSP_NATIVE
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #1" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
#else
    return ((uint32_t)lo & 0xFFFFu) | (((uint32_t)hi << 1) & 0xFFFF0000u);
#endif
}

static inline void circnn_store_pair(int16_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* Per lane the larger of a and b (signed): SSUB16 sets the GE flags of the
 * lanes where a >= b, SEL takes those lanes from a, the others from b. */
static inline uint32_t circnn_max16x2(uint32_t a, uint32_t b)
{
#if CIRCNN_DSP_NATIVE
    uint32_t r;   /* one statement: the GE flags pass from SSUB16 to SEL inside it */
    __asm__("ssub16 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b));
    return r;
#else
    const int32_t lo = circnn_pair_bottom(a) >= circnn_pair_bottom(b) ? circnn_pair_bottom(a) : circnn_pair_bottom(b);
    const int32_t hi = circnn_pair_top(a) >= circnn_pair_top(b) ? circnn_pair_top(a) : circnn_pair_top(b);
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
#endif
}

/* QADD: a + b saturated to the int32 range. */
static inline int32_t circnn_qadd(int32_t a, int32_t b)
{
#if CIRCNN_DSP_NATIVE
    return __qadd(a, b);
#else
    int64_t s = (int64_t)a + b;
    return s > INT32_MAX ? INT32_MAX : s < INT32_MIN ? INT32_MIN : (int32_t)s;
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

/*
 * The same sums for a dense layer, written rather than added:
 *   acc = sum over j < blocks of w_j * x_j,   w_j = w + j k,
 * with the x spectra stored by word: the pair of reals 2b, 2b + 1 of x_j
 * (bin b; DC and Nyquist for b = 0) at x + 2 (b blocks + j), so that each
 * bin's words are read in a row (ARMv7E-M assembly on the cores).
 */
void circnn_bc_mac_q15_dsp_words(int64_t *acc, const int16_t *w, const int16_t *x, uint32_t blocks,
                                 uint32_t k);

#endif /* CIRCNN_DSP_Q15_H */
