/*
 * Block-circulant 2-D convolution, q15 (contract: circnn/bc_conv2d.h, the
 * steps of circnn/bc_dense.h generalised; scratch layout: bc_conv2d_common.h).
 * python/circnn/sim/bc_conv2d.py is the bit-exact twin.
 *
 *  1. Every input block (pixel, j) is transformed by circnn_rfft_q15 into the
 *     spectra buffer -> (X, e).
 *  2. All spectra are aligned to E = max e over every pixel and block:
 *     X >>= (E - e), rounded half up (a shift of 16 or more gives 0).
 *  3. For each output pixel and output block i, the products w * X are
 *     summed in int64 over the taps that read a pixel inside the input and
 *     over j (each product of two int16 is exact in int32; the real and
 *     imaginary parts are formed in int64).
 *  4. The sums are brought to 16 bits (shift r, bc_dense step 4).
 *  5. circnn_irfft_q15 -> (a, d); F = weight_exp + E + r + d.
 *  6. y = circnn_requant_q15(a * scale[c], F + scale_exp, bias[c]), or
 *     circnn_requant_q15(a, F, bias[c]) without a scale; then the ReLU.
 */
#include "circnn/bc_conv2d.h"
#include "circnn/config.h"
#include "circnn/fft.h"
#include "circnn/q15.h"
#include "bc_conv2d_common.h"
#include "dsp_q15.h"
#include "fixed_point.h"
#include "fft_q15_common.h"
#include "pool2.h"
#include "requant_q15.h"

/* Exponents handed to circnn_requant_q15 are clamped to this range, which
 * changes no result (every e >= 46 saturates or gives 0 alike, every
 * e <= -79 shifts everything out alike) and keeps e + 16 from overflowing. */
#define EXP_LIMIT 128

/* Blocks (taps times input blocks) of one output block that the DSP
 * kernel lists on the stack (8 bytes each); more take circnn_bc_mac_q15_dsp
 * tap by tap. */
#define LIST_MAX 128u

#if !CIRCNN_DSP
/* acc += w * x on packed q15 spectra, every part exact. */
static void spectral_mac(int64_t *acc, const int16_t *w, const int16_t *x, uint32_t k)
{
    acc[0] += (int32_t)w[0] * x[0];
    acc[1] += (int32_t)w[1] * x[1];
    for (uint32_t b = 2; b < k; b += 2) {
        int32_t wr = w[b], wi = w[b + 1], xr = x[b], xi = x[b + 1];
        acc[b] += (int64_t)(wr * xr) - (int64_t)(wi * xi);
        acc[b + 1] += (int64_t)(wr * xi) + (int64_t)(wi * xr);
    }
}
#endif

static int32_t clamp_exp(int64_t e)
{
    if (e > EXP_LIMIT) return EXP_LIMIT;
    if (e < -EXP_LIMIT) return -EXP_LIMIT;
    return (int32_t)e;
}

/* Step 6 on one output block: for each channel v = a[t] (times scale[t]),
 * y = circnn_requant_q15(v, f, bias[t]), then the ReLU; the same integers in
 * 32 bits where |v| <= 2^30 allows (always: a and the scale are int16).
 * With u = f + 16 and B = bias + 2^15:
 *  - u in [1, 15]: y = sat16((v 2^u + B) >> 16) = sat16((v + floor(B / 2^u))
 *    >> (16 - u)), floor(B / 2^u) = ((bias >> 1) + 2^14) >> (u - 1); the sum
 *    is taken with saturation (QADD): when it leaves int32, |v + c| >= 2^31
 *    and the output saturates to the same side either way;
 *  - u <= 0: y = sat16(((v >> -u) + bias + 2^15) >> 16) (a shift of 31 or
 *    more gives 0 or -1, as circnn_requant_q15's), the two additions
 *    saturating: each clamp decides the sign of an output that saturates;
 *  - u in [16, 31]: y = sat16(v 2^(u-16) + floor(B / 2^16)) (v 2^u is a
 *    multiple of 2^16, and below circnn_requant_q15's clamp 2^62), in 32
 *    bits without a scale (|a| 2^15 <= 2^30), else in 64;
 *  - u >= 32: circnn_requant_q15 itself. */
CIRCNN_ALWAYS_INLINE void requant_loop(const int16_t *a, int16_t *y, uint32_t count, int32_t f, const int32_t *bias,
                                       const int16_t *scale, int relu, int mode, int has_bias, int has_scale)
{
    const int32_t u = f + CIRCNN_Q15_BIAS_FRAC_BITS;
    const int32_t right = 16 - u, half = u - 1, n = -u > 31 ? 31 : -u;
    for (uint32_t t = 0; t < count; t++) {
        const int32_t v = has_scale ? (int32_t)a[t] * scale[t] : (int32_t)a[t];
        const int32_t b = has_bias ? bias[t] : 0;
        int32_t o;
        if (mode == 0) {
            o = circnn_qadd(v, ((b >> 1) + 16384) >> half) >> right;
        } else if (mode == 1) {
            o = circnn_qadd(has_bias ? circnn_qadd(v >> n, b) : v >> n, 32768) >> 16;
        } else if (mode == 3) {   /* u in [16, 31]: v 2^(u-16) + floor(B / 2^16) */
            const int32_t c = ((b >> 1) + 16384) >> 15;
            if (!has_scale) {     /* |a| 2^15 <= 2^30 */
                o = v * ((int32_t)1 << (u - 16)) + c;
            } else {
                const int64_t w = (int64_t)v * ((int64_t)1 << (u - 16)) + c;
                o = w > INT16_MAX ? INT16_MAX : w < INT16_MIN ? INT16_MIN : (int32_t)w;
            }
        } else {
            int16_t r = circnn_requant_q15(v, f, b);
            y[t] = (relu && r < 0) ? (int16_t)0 : r;
            continue;
        }
        y[t] = circnn_requant_saturate(o, relu);
    }
}

/* One loop per combination of the constants above. */
#define REQUANT_LOOPS(relu)                                                                                       \
    do {                                                                                                          \
        if (mode == 2)                                                                                            \
            requant_loop(a, y, count, f, bias, scale, relu, 2, bias != NULL, scale != NULL);                      \
        else if (mode == 3)                                                                                       \
            requant_loop(a, y, count, f, bias, scale, relu, 3, bias != NULL, scale != NULL);                      \
        else if (bias && scale)                                                                                   \
            mode ? requant_loop(a, y, count, f, bias, scale, relu, 1, 1, 1)                                       \
                 : requant_loop(a, y, count, f, bias, scale, relu, 0, 1, 1);                                      \
        else if (bias)                                                                                            \
            mode ? requant_loop(a, y, count, f, bias, scale, relu, 1, 1, 0)                                       \
                 : requant_loop(a, y, count, f, bias, scale, relu, 0, 1, 0);                                      \
        else if (scale)                                                                                           \
            mode ? requant_loop(a, y, count, f, bias, scale, relu, 1, 0, 1)                                       \
                 : requant_loop(a, y, count, f, bias, scale, relu, 0, 0, 1);                                      \
        else                                                                                                      \
            mode ? requant_loop(a, y, count, f, bias, scale, relu, 1, 0, 0)                                       \
                 : requant_loop(a, y, count, f, bias, scale, relu, 0, 0, 0);                                      \
    } while (0)

static void requant_scaled_block(const int16_t *a, int16_t *y, uint32_t count, int32_t f, const int32_t *bias,
                                 const int16_t *scale, int relu)
{
    const int32_t u = f + CIRCNN_Q15_BIAS_FRAC_BITS;
    const int mode = u >= 32 ? 2 : u >= 16 ? 3 : u > 0 ? 0 : 1;
    if (relu)
        REQUANT_LOOPS(1);
    else
        REQUANT_LOOPS(0);
}

#if CIRCNN_DSP
/*
 * Step 3 with the DSP extension, for one output pixel and output block: the
 * blocks that take part, one (x, w) pair of pointers each (the input
 * block's aligned spectrum, the weight block's), end with a NULL x whose w
 * is acc.  Two words (bins 2r .. 2r + 3) at a time over the whole list:
 * four int64 sums in registers (word 0: DC by SMLALBB and Nyquist by
 * SMLALTT; the others re by SMLSLD and im by SMLALDX, as
 * circnn_bc_mac_q15_dsp), the same exact sums as spectral_mac.
 */
typedef struct {
    const int16_t *x, *w;
} block_pair_t;

#if CIRCNN_DSP_NATIVE && defined(__OPTIMIZE__)
/* ARMv7E-M assembly: per list entry the pointers by one LDRD, then per
 * block the x words by one LDRD and each w word by LDR (unaligned allowed):
 * 7 instructions a block and word pair, 3 an entry (the list is never
 * empty: every window overlaps the input).  OFF: the words' byte
 * offset in a block; an entry covers `per` blocks (1 or 2), the second one
 * 2k bytes further in x and in w. */
#define LIST_BLOCK(OFF, MAC_A, MAC_B)                                                                             \
    "ldrd    %[x0], %[x1], [%[xp], #" OFF "]\n\t"                                                                 \
    "ldr     %[tw], [%[wp], #" OFF "]\n\t"                                                                        \
    MAC_A "  %[al], %[ah], %[tw], %[x0]\n\t"                                                                      \
    MAC_B "  %[bl], %[bh], %[tw], %[x0]\n\t"                                                                      \
    "ldr     %[tw], [%[wp], #" OFF " + 4]\n\t"                                                                    \
    "smlsld  %[cl], %[ch], %[tw], %[x1]\n\t"                                                                      \
    "smlaldx %[dl], %[dh], %[tw], %[x1]\n\t"
#define LIST_PASS(OFF, BLOCKS)                                                                                    \
    do {                                                                                                          \
        const block_pair_t *lp = list;                                                                            \
        uint32_t al, ah, bl, bh, cl, ch, dl, dh, x0, x1, tw;                                                      \
        const int16_t *xp, *wp;                                                                                   \
        __asm__ volatile("mov     %[al], #0\n\t"                                                                  \
                         "mov     %[ah], #0\n\t"                                                                  \
                         "mov     %[bl], #0\n\t"                                                                  \
                         "mov     %[bh], #0\n\t"                                                                  \
                         "mov     %[cl], #0\n\t"                                                                  \
                         "mov     %[ch], #0\n\t"                                                                  \
                         "mov     %[dl], #0\n\t"                                                                  \
                         "mov     %[dh], #0\n\t"                                                                  \
                         "ldrd    %[xp], %[wp], [%[lp]], #8\n\t"                                                  \
                         "1:\n\t"                                                                                 \
                         BLOCKS                                                                                   \
                         "ldrd    %[xp], %[wp], [%[lp]], #8\n\t"                                                  \
                         "cmp     %[xp], #0\n\t"                                                                  \
                         "bne     1b\n\t"                                                                         \
                         "strd    %[al], %[ah], [%[wp], #4 * " #OFF "]\n\t"                                       \
                         "strd    %[bl], %[bh], [%[wp], #4 * " #OFF " + 8]\n\t"                                   \
                         "strd    %[cl], %[ch], [%[wp], #4 * " #OFF " + 16]\n\t"                                  \
                         "strd    %[dl], %[dh], [%[wp], #4 * " #OFF " + 24]\n\t"                                  \
                         : [al] "=&r"(al), [ah] "=&r"(ah), [bl] "=&r"(bl), [bh] "=&r"(bh), [cl] "=&r"(cl),        \
                           [ch] "=&r"(ch), [dl] "=&r"(dl), [dh] "=&r"(dh), [x0] "=&r"(x0), [x1] "=&r"(x1),        \
                           [tw] "=&r"(tw), [xp] "=&r"(xp), [wp] "=&r"(wp), [lp] "+r"(lp)                          \
                         :                                                                                        \
                         : "cc", "memory");                                                                       \
    } while (0)
/* The passes of block size K (PASS1, or PASS2 with K as its first
 * argument): the word pair at offset 0 holds DC and Nyquist (SMLALBB,
 * SMLALTT). */
#define PASS1(OFF, A, B) LIST_PASS(OFF, LIST_BLOCK(#OFF, A, B))
#define PASS2(OFF, K, A, B) LIST_PASS(OFF, LIST_BLOCK(#OFF, A, B) LIST_BLOCK(#OFF " + 2 * " #K, A, B))
#define PASSES(K, PASS, ...)                                                                                      \
    do {                                                                                                          \
        if (K >= 16) {                                                                                            \
            PASS(24, __VA_ARGS__ "smlsld ", "smlaldx");                                                            \
            PASS(16, __VA_ARGS__ "smlsld ", "smlaldx");                                                            \
        }                                                                                                         \
        if (K >= 8) PASS(8, __VA_ARGS__ "smlsld ", "smlaldx");                                                     \
        PASS(0, __VA_ARGS__ "smlalbb", "smlaltt");                                                                 \
    } while (0)

/* The block sizes this build transforms (circnn/config.h): the passes of
 * the others would never run (circnn_bc_conv2d_check refuses them). */
#define HAS_K(K) ((CIRCNN_FFT_SIZES & (K)) != 0)

/* k = 4, 8 or 16 (the offsets are immediates); per: blocks an entry. */
static int list_mac_native(const block_pair_t *list, uint32_t k, uint32_t per)
{
    if (per == 2) {
        if (HAS_K(16) && k == 16) { PASSES(16, PASS2, 16,); return 1; }
        if (HAS_K(8) && k == 8) { PASSES(8, PASS2, 8,); return 1; }
        if (HAS_K(4) && k == 4) { PASSES(4, PASS2, 4,); return 1; }
        return 0;
    }
    if (HAS_K(16) && k == 16) { PASSES(16, PASS1,); return 1; }
    if (HAS_K(8) && k == 8) { PASSES(8, PASS1,); return 1; }
    if (HAS_K(4) && k == 4) { PASSES(4, PASS1,); return 1; }
    return 0;
}
#endif

/* acc (the end's w) = the sums over the list's blocks, `per` blocks an
 * entry (the second 2k int16 after the first in x and in w). */
static void list_mac(const block_pair_t *list, uint32_t k, uint32_t per)
{
#if CIRCNN_DSP_NATIVE && defined(__OPTIMIZE__)
    if (list_mac_native(list, k, per)) return;
#endif
    const block_pair_t *e = list;
    while (e->x) e++;
    int64_t *acc = (int64_t *)(void *)(uintptr_t)e->w;   /* the end's w is acc (see above) */
    for (uint32_t r = 0; r < k / 2; r++) {
        int64_t a = 0, b = 0;
        for (e = list; e->x; e++) {
            for (uint32_t h = 0; h < per; h++) {
                const uint32_t w = circnn_load_pair(e->w + h * k + 2 * r), x = circnn_load_pair(e->x + h * k + 2 * r);
                if (r == 0) {
                    a += (int64_t)(circnn_pair_bottom(w) * circnn_pair_bottom(x));
                    b += (int64_t)(circnn_pair_top(w) * circnn_pair_top(x));
                } else {
                    a = circnn_smlsld(w, x, a);
                    b = circnn_smlaldx(w, x, b);
                }
            }
        }
        acc[2 * r] = a, acc[2 * r + 1] = b;
    }
}
#endif

/* Steps 1 and 2; returns E. */
static int32_t forward(const circnn_window_t *g, uint32_t k, const int16_t *x, int16_t *spectra,
                       int8_t *exps)
{
    const uint32_t c = g->in_c, q = circnn_blocks(c, k);
    const size_t pixels = circnn_bc_conv2d_pixels(g), total = pixels * q;
    int32_t e_max = INT32_MIN;
    int16_t *xs = spectra;
    int8_t *ep = exps;
    for (size_t pix = 0; pix < pixels; pix++) {
        const int16_t *src = x + pix * c;
        for (uint32_t c0 = 0; c0 < c; c0 += k, xs += k, ep++) {
            int32_t e;
            if (c - c0 >= k) {   /* a whole block: transformed out of place, no copy */
                e = circnn_rfft_q15(src + c0, xs, k);
            } else {
                for (uint32_t t = 0; t < k; t++) xs[t] = (c0 + t < c) ? src[c0 + t] : (int16_t)0;
                e = circnn_rfft_q15(xs, xs, k);
            }
            *ep = (int8_t)e;   /* in [-15, 20]: fits int8 */
            if (e > e_max) e_max = e;
        }
    }
    xs = spectra;
    for (size_t blk = 0; blk < total; blk++, xs += k) {
        const int32_t shift = e_max - exps[blk];
        if (shift == 0) continue;
        if (shift >= 16) {
            for (uint32_t t = 0; t < k; t++) xs[t] = 0;
        } else {
            for (uint32_t t = 0; t < k; t++) xs[t] = (int16_t)circnn_rshift_round32(xs[t], shift);
        }
    }
    return e_max;
}

/* The scratch's parts (bc_conv2d_common.h). */
typedef struct parts {
    int64_t *acc;
    int16_t *tmp, *spectra;
    int8_t *exps;
} parts_t;

/* over: NULL, or the input the spectra overwrite (then not in the scratch). */
static parts_t parts_of(const circnn_window_t *g, uint32_t k, void *scratch, int16_t *over)
{
    parts_t s;
    unsigned char *base = (unsigned char *)scratch;
    s.acc = (int64_t *)(void *)base;
    base += circnn_bc_conv2d_q15_acc_bytes(k);
    s.tmp = (int16_t *)(void *)base;
    base += circnn_bc_conv2d_q15_tmp_bytes(k);
    s.spectra = over;
    if (!over) {
        s.spectra = (int16_t *)(void *)base;
        base += circnn_bc_conv2d_q15_spectra_bytes(g, k);
    }
    s.exps = (int8_t *)(void *)base;
    return s;
}

/* Steps 1 and 2 for the whole input; returns the exponent every output
 * block starts from (E plus the weight's and scale's). */
static int64_t prepare(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, const parts_t *s)
{
    const int32_t e_max = forward(&layer->g, layer->block_size, x, s->spectra, s->exps);
    return (int64_t)layer->weight_exp + e_max + (layer->scale ? (int64_t)layer->scale_exp : 0);
}

/* Steps 3 to 6 for output rows [oy0, oy1), columns [0, out_w): row oy's
 * pixels at y + (oy - oy0) * out_w * out_c. */
static void output_rows_q15(const circnn_bc_conv2d_q15_t *layer, const parts_t *s, int64_t e_base,
                            uint32_t oy0, uint32_t oy1, uint32_t out_w, int16_t *y)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t k = layer->block_size;
    const uint32_t p = circnn_blocks(g->out_c, k), q = circnn_blocks(g->in_c, k);
    int64_t *acc = s->acc;
    int16_t *tmp = s->tmp;
    const int16_t *spectra = s->spectra;
#if CIRCNN_DSP
    block_pair_t list[LIST_MAX + 1];
    const int use_list = (uint32_t)g->kernel_h * g->kernel_w * q <= LIST_MAX;
    const uint32_t per = (q & 1u) ? 1u : 2u;   /* blocks a list entry */
#endif
    for (uint32_t oy = oy0; oy < oy1; oy++) {
        uint32_t a_lo, a_hi;
        circnn_tap_range(oy, g->stride, g->pad_top, g->kernel_h, g->in_h, &a_lo, &a_hi);
        for (uint32_t ox = 0; ox < out_w; ox++) {
            uint32_t b_lo, b_hi;
            circnn_tap_range(ox, g->stride, g->pad_left, g->kernel_w, g->in_w, &b_lo, &b_hi);
            int16_t *out = y + ((size_t)(oy - oy0) * out_w + ox) * g->out_c;
#if CIRCNN_DSP
            uint32_t blocks = 0;
            if (use_list) {   /* the blocks of output block 0; the others' weights follow by q k */
                for (uint32_t a = a_lo; a < a_hi; a++) {
                    const uint32_t iy = oy * g->stride + a - g->pad_top;
                    for (uint32_t b = b_lo; b < b_hi; b++) {
                        const uint32_t ix = ox * g->stride + b - g->pad_left;
                        const int16_t *w = layer->weight + ((size_t)a * g->kernel_w + b) * p * q * k;
                        const int16_t *xs = spectra + ((size_t)iy * g->in_w + ix) * q * k;
                        for (uint32_t j = 0; j < q; j += per, w += per * k, xs += per * k, blocks++)
                            list[blocks].x = xs, list[blocks].w = w;
                    }
                }
                list[blocks].x = NULL, list[blocks].w = (const int16_t *)(void *)acc;
            }
#endif
            for (uint32_t i = 0; i < p; i++) {
                /* Step 3. */
#if CIRCNN_DSP
                if (use_list) {
                    if (i > 0)
                        for (uint32_t e = 0; e < blocks; e++) list[e].w += (size_t)q * k;
                    list_mac(list, k, per);
                } else {
                    for (uint32_t t = 0; t < k; t++) acc[t] = 0;
                    for (uint32_t a = a_lo; a < a_hi; a++) {
                        uint32_t iy = oy * g->stride + a - g->pad_top;
                        for (uint32_t b = b_lo; b < b_hi; b++) {
                            uint32_t ix = ox * g->stride + b - g->pad_left;
                            const int16_t *w =
                                layer->weight + (((size_t)a * g->kernel_w + b) * p + i) * q * k;
                            const int16_t *xs = spectra + ((size_t)iy * g->in_w + ix) * q * k;
                            circnn_bc_mac_q15_dsp(acc, w, k, xs, k, q, k);   /* the same sums (dsp_q15.h) */
                        }
                    }
                }
#else
                for (uint32_t t = 0; t < k; t++) acc[t] = 0;
                for (uint32_t a = a_lo; a < a_hi; a++) {
                    uint32_t iy = oy * g->stride + a - g->pad_top;
                    for (uint32_t b = b_lo; b < b_hi; b++) {
                        uint32_t ix = ox * g->stride + b - g->pad_left;
                        const int16_t *w =
                            layer->weight + (((size_t)a * g->kernel_w + b) * p + i) * q * k;
                        const int16_t *xs = spectra + ((size_t)iy * g->in_w + ix) * q * k;
                        for (uint32_t j = 0; j < q; j++)
                            spectral_mac(acc, w + (size_t)j * k, xs + (size_t)j * k, k);
                    }
                }
#endif
                /* Steps 4 to 6. */
                int32_t r = circnn_spectral_to_q15(acc, tmp, k);
                /* All sums zero (r = -15, tmp zero): the inverse gives zeros and -15 - log2(k/2). */
                int32_t d = r == -15 ? -15 - (int32_t)circnn_fft_q15_log2(k / 2) : circnn_irfft_q15(tmp, tmp, k);
                int32_t f = clamp_exp(e_base + r + d);
                uint32_t c0 = i * k;
                requant_scaled_block(tmp, out + c0, g->out_c - c0 < k ? g->out_c - c0 : k, f,
                                     layer->bias ? layer->bias + c0 : NULL, layer->scale ? layer->scale + c0 : NULL,
                                     (int)layer->relu);
            }
        }
    }
}

/* The layer into y, or with band its 2x2 max pool (circnn_bc_conv2d_q15_pool2). */
static void run(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *y, int16_t *band, const parts_t *s)
{
    const circnn_window_t *g = &layer->g;
    const int64_t e_base = prepare(layer, x, s);
    if (!band) {
        output_rows_q15(layer, s, e_base, 0, g->out_h, g->out_w, y);
        return;
    }
    const uint32_t pooled_w = g->out_w / 2u, row = pooled_w * g->out_c;
    const circnn_window_t pool = circnn_pool2_window(pooled_w, g->out_c);
    for (uint32_t r = 0; r < g->out_h / 2u; r++) {
        output_rows_q15(layer, s, e_base, 2u * r, 2u * r + 2u, 2u * pooled_w, band);
        circnn_maxpool2x2_q15(&pool, band, y + (size_t)r * row);
    }
}

void circnn_bc_conv2d_q15(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *y,
                          void *scratch)
{
    const parts_t s = parts_of(&layer->g, layer->block_size, scratch, NULL);
    run(layer, x, y, NULL, &s);
}

void circnn_bc_conv2d_q15_pool2(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *y,
                                int16_t *band, void *scratch)
{
    const parts_t s = parts_of(&layer->g, layer->block_size, scratch, NULL);
    run(layer, x, y, band, &s);
}

void circnn_bc_conv2d_q15_model(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *over, int16_t *y,
                                int16_t *band, void *scratch)
{
    const parts_t s = parts_of(&layer->g, layer->block_size, scratch, over);
    run(layer, x, y, band, &s);
}
