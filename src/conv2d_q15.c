/*
 * Conv2d with a dense kernel, q15 (contract: circnn/layers.h).
 *
 * circnn_conv2d_q15_reference is the plain kernel: per output pixel the
 * int64 sums of 16 output channels at a time, then circnn_requant_q15.
 * circnn_conv2d_q15 computes the same exact sums and, where the output
 * stage's shifted form applies (requant_q15.h: each accumulator starts at
 * the bias term C, one shift and one saturation at the end), with these
 * kernels; otherwise it calls the reference:
 *  - one input channel (first layers), at most 16 taps: the taps of each
 *    output pixel are gathered once (zeros outside the input) into pairs,
 *    each output channel's weights are packed once per call into pairs of
 *    taps, and every output is C plus one dual multiply-accumulate per pair
 *    of taps (SMLALD with the DSP extension; two int32 products summed
 *    exactly and added to the int64 elsewhere);
 *  - more input channels, with the DSP extension and OHWI weights: the
 *    window of each output pixel gathered once into one run of values
 *    (zeros outside the input; windows larger than WINDOW_MAX read row by
 *    row), then two output channels at a time, each a dot product of that
 *    run with the channel's weights, two values a word (SMLALD); the bias
 *    terms computed once per call; on the cores, windows of 8n values in
 *    assembly, the output stage included;
 *  - more input channels, OHWI weights, without the DSP extension: each
 *    window row against one output channel at a time (src/dot_q15.h, in
 *    assembly on ARMv6-M).
 * Several input channels with HWIO weights (circnn_conv2d_q15: blobs before
 * format 6, C callers that keep TensorFlow's order) take the reference: model blobs
 * store them OHWI, and a second fast kernel would cost every firmware
 * about 1.5 KB of flash.
 */
#include <string.h>

#include "circnn/config.h"
#include "circnn/layers.h"
#include "conv2d_q15.h"
#include "dot_q15.h"
#include "dsp_q15.h"
#include "fixed_point.h"
#include "requant_q15.h"
#include "window_taps.h"

/* Output channels accumulated together by the reference (int64 on the stack). */
#define REF_CHUNK 16u
/* The one-channel kernel: pairs of taps, and output channels whose weight
 * pairs and bias terms sit on the stack (CHUNK * (4 MAX_PAIRS + 12) bytes). */
#define ONE_MAX_PAIRS 8u
#if CIRCNN_DSP
#define ONE_CHUNK 16u
#else
#define ONE_CHUNK 8u   /* small stacks (the micro:bit's is 2 KB) */
#endif

/* Element strides of the weights along taps, input and output channels. */
typedef struct {
    size_t tap, in, out;
} weight_strides_t;

static weight_strides_t weight_strides(const circnn_conv2d_q15_t *layer, int ohwi)
{
    const circnn_window_t *g = &layer->g;
    weight_strides_t st;
    if (ohwi)
        st.tap = g->in_c, st.in = 1, st.out = (size_t)g->kernel_h * g->kernel_w * g->in_c;
    else
        st.tap = (size_t)g->in_c * g->out_c, st.in = g->out_c, st.out = 1;
    return st;
}

void circnn_conv2d_q15_reference(const circnn_conv2d_q15_t *layer, int ohwi, const int16_t *x, int16_t *y)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t in_h = g->in_h, in_w = g->in_w, in_c = g->in_c;
    const uint32_t out_h = g->out_h, out_w = g->out_w, out_c = g->out_c;
    const uint32_t kw = g->kernel_w, stride = g->stride;
    const weight_strides_t st = weight_strides(layer, ohwi);
    int64_t acc[REF_CHUNK];
    for (uint32_t oy = 0; oy < out_h; oy++) {
        uint32_t a0, a1;
        circnn_window_taps(oy, stride, g->pad_top, g->kernel_h, in_h, &a0, &a1);
        for (uint32_t ox = 0; ox < out_w; ox++) {
            uint32_t b0, b1;
            circnn_window_taps(ox, stride, g->pad_left, kw, in_w, &b0, &b1);
            int16_t *yp = y + ((size_t)oy * out_w + ox) * out_c;
            for (uint32_t c0 = 0; c0 < out_c; c0 += REF_CHUNK) {
                const uint32_t cn = out_c - c0 < REF_CHUNK ? out_c - c0 : REF_CHUNK;
                for (uint32_t j = 0; j < cn; j++) acc[j] = 0;
                for (uint32_t a = a0; a < a1; a++) {
                    const uint32_t iy = oy * stride + a - g->pad_top;
                    for (uint32_t b = b0; b < b1; b++) {
                        const uint32_t ix = ox * stride + b - g->pad_left;
                        const int16_t *xp = x + ((size_t)iy * in_w + ix) * in_c;
                        const int16_t *wp = layer->weight + ((size_t)a * kw + b) * st.tap + c0 * st.out;
                        for (uint32_t ci = 0; ci < in_c; ci++, wp += st.in) {
                            const int32_t xv = xp[ci];
                            for (uint32_t j = 0; j < cn; j++) acc[j] += (int32_t)wp[j * st.out] * xv;
                        }
                    }
                }
                for (uint32_t j = 0; j < cn; j++) {
                    const int32_t bias = layer->bias ? layer->bias[c0 + j] : 0;
                    int16_t v = circnn_requant_q15(acc[j], layer->weight_exp, bias);
                    if (layer->relu && v < 0) v = 0;
                    yp[c0 + j] = v;
                }
            }
        }
    }
}

/* acc + the two products of a pair of taps (bottom, top halves), exact. */
static inline int64_t mac_pair(int64_t acc, uint32_t x, uint32_t w)
{
#if CIRCNN_DSP
    return circnn_smlald(x, w, acc);
#else
    /* Each product is in [-2^30 + 2^15, 2^30]: the negated sum fits int32. */
    int32_t p0 = circnn_pair_bottom(x) * circnn_pair_bottom(w);
    int32_t p1 = circnn_pair_top(x) * circnn_pair_top(w);
    return acc - (int64_t)(-p0 - p1);
#endif
}

/* The output stage of one accumulator (started at C): shift, saturate, ReLU. */
CIRCNN_ALWAYS_INLINE int16_t finish(int64_t acc, int32_t s, int high, int relu)
{
    return circnn_requant_saturate(circnn_requant_shifted(acc, s, high), relu);
}

/* The taps of output pixel (oy, ox) as np pairs: tap t = a kw + b in half
 * t % 2 of pair t / 2, zero outside the input and past the last tap. */
static void gather_taps(const circnn_window_t *g, const int16_t *x, uint32_t oy, uint32_t ox, uint32_t np,
                        uint32_t *pairs)
{
    int16_t v[2 * ONE_MAX_PAIRS];
    uint32_t a0, a1, b0, b1, t = 0;
    const uint32_t kh = g->kernel_h, kw = g->kernel_w, in_w = g->in_w;
    circnn_window_taps(oy, g->stride, g->pad_top, kh, g->in_h, &a0, &a1);
    circnn_window_taps(ox, g->stride, g->pad_left, kw, in_w, &b0, &b1);
    const uint32_t ix = ox * g->stride - g->pad_left;   /* modulo 2^32: only taps inside are read */
    if (np == 5 && kw == 3 && a0 == 0 && a1 == 3 && b0 == 0 && b1 == 3) {   /* 3 x 3 inside the input */
        const int16_t *r0 = x + (size_t)(oy * g->stride - g->pad_top) * in_w + ix, *r1 = r0 + in_w, *r2 = r1 + in_w;
        pairs[0] = circnn_load_pair(r0), pairs[1] = circnn_pair(r0[2], r1[0]), pairs[2] = circnn_load_pair(r1 + 1);
        pairs[3] = circnn_load_pair(r2), pairs[4] = (uint16_t)r2[2];
        return;
    }
    for (uint32_t a = 0; a < kh; a++) {
        if (a < a0 || a >= a1) {
            for (uint32_t b = 0; b < kw; b++) v[t++] = 0;
            continue;
        }
        const int16_t *row = x + (size_t)(oy * g->stride + a - g->pad_top) * in_w;
        for (uint32_t b = 0; b < kw; b++, t++) v[t] = (b >= b0 && b < b1) ? row[ix + b] : (int16_t)0;
    }
    for (; t < 2 * np; t++) v[t] = 0;
    for (uint32_t r = 0; r < np; r++) pairs[r] = circnn_pair(v[2 * r], v[2 * r + 1]);
}

/* The outputs of one pixel, one input channel: output channel j is C_j
 * (int64 words rec[0], rec[1]) plus np pairs of products (weights rec[2..]),
 * rec advancing by np + 3 words (the last: the shift, below).  np is a
 * constant where inlined. */
CIRCNN_ALWAYS_INLINE void pixel_outputs(const uint32_t *xp, const uint32_t *rec, int16_t *y, uint32_t cn, uint32_t np,
                                        int32_t s, int high, int relu)
{
    for (const int16_t *end = y + cn; y != end; y++, rec += np + 3) {
        int64_t acc = (int64_t)(((uint64_t)rec[1] << 32) | rec[0]);
        for (uint32_t r = 0; r < np; r++) acc = mac_pair(acc, xp[r], rec[2 + r]);
        *y = finish(acc, s, high, relu);
    }
}

#if CIRCNN_DSP_NATIVE && defined(__OPTIMIZE__)
/* 3 x 3 on the cores: ARMv7E-M assembly, 16 instructions an output (s <
 * 32, circnn_conv2d_q15): the record's C and weights by LDRD, the shift's
 * second operand (32 - s) from its last word, the pixel's five pairs and s
 * in registers.  The same operations as pixel_outputs. */
#define OUTPUTS5_ASM(SHIFT, SAT)                                                                                 \
    __asm__ volatile("1:\n\t"                                                                                     \
                     "ldrd    %[al], %[ah], [%[rec]], #32\n\t"                                                    \
                     "ldrd    %[wa], %[wb], [%[rec], #-24]\n\t"                                                   \
                     "smlald  %[al], %[ah], %[x0], %[wa]\n\t"                                                     \
                     "smlald  %[al], %[ah], %[x1], %[wb]\n\t"                                                     \
                     "ldrd    %[wa], %[wb], [%[rec], #-16]\n\t"                                                   \
                     "smlald  %[al], %[ah], %[x2], %[wa]\n\t"                                                     \
                     "smlald  %[al], %[ah], %[x3], %[wb]\n\t"                                                     \
                     "ldrd    %[wa], %[wb], [%[rec], #-8]\n\t"                                                    \
                     "smlald  %[al], %[ah], %[x4], %[wa]\n\t"                                                     \
                     SHIFT SAT                                                                                     \
                     "strh    %[al], [%[y]], #2\n\t"                                                              \
                     "cmp     %[y], %[ye]\n\t"                                                                    \
                     "bne     1b\n\t"                                                                             \
                     : [al] "=&r"(al), [ah] "=&r"(ah), [wa] "=&r"(wa), [wb] "=&r"(wb), [rec] "+r"(rec), [y] "+r"(y) \
                     : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [x3] "r"(x3), [x4] "r"(x4), [ye] "r"(ye),       \
                       [s] "r"(s)                                                                                   \
                     : "cc", "memory")
#define SHIFT_LOW "lsl     %[ah], %[ah], %[wb]\n\t" "lsr     %[al], %[al], %[s]\n\t" "orr     %[al], %[al], %[ah]\n\t"
#define SAT_RELU "usat    %[al], #15, %[al]\n\t"
#define SAT_PLAIN "ssat    %[al], #16, %[al]\n\t"

CIRCNN_ALWAYS_INLINE void pixel_outputs5(const uint32_t *xp, const uint32_t *rec, int16_t *y, uint32_t cn, int32_t s,
                                         int relu)
{
    const uint32_t x0 = xp[0], x1 = xp[1], x2 = xp[2], x3 = xp[3], x4 = xp[4];
    const int16_t *ye = y + cn;
    uint32_t al, ah, wa, wb;
    if (relu)
        OUTPUTS5_ASM(SHIFT_LOW, SAT_RELU);
    else
        OUTPUTS5_ASM(SHIFT_LOW, SAT_PLAIN);
}
#else
CIRCNN_ALWAYS_INLINE void pixel_outputs5(const uint32_t *xp, const uint32_t *rec, int16_t *y, uint32_t cn, int32_t s,
                                         int relu)
{
    pixel_outputs(xp, rec, y, cn, 5, s, 0, relu);
}
#endif

/* pixel_outputs for 3 x 3 kernels and for the others, with few values live
 * around the loop (not inlined into the loops over pixels). */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif
#define PIXEL_OUTPUTS(name, relu)                                                                                \
    static NOINLINE void name(const uint32_t *xp, const uint32_t *rec, int16_t *y, uint32_t cn, uint32_t np,      \
                              int32_t s)                                                                           \
    {                                                                                                              \
        if (np == 5)                                                                                               \
            pixel_outputs5(xp, rec, y, cn, s, relu);                                                               \
        else                                                                                                       \
            pixel_outputs(xp, rec, y, cn, np, s, 0, relu);                                                         \
    }
PIXEL_OUTPUTS(pixel_outputs_0, 0)
PIXEL_OUTPUTS(pixel_outputs_1, 1)

/* One input channel, output channels [c0, c0 + cn); np pairs of taps. */
static void one_channel_chunk(const circnn_conv2d_q15_t *layer, int ohwi, const int16_t *x, int16_t *y,
                              uint32_t c0, uint32_t cn, int32_t s, uint32_t np)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t out_c = g->out_c, taps = (uint32_t)g->kernel_h * g->kernel_w;
    const weight_strides_t st = weight_strides(layer, ohwi);
    void (*outputs)(const uint32_t *, const uint32_t *, int16_t *, uint32_t, uint32_t, int32_t) =
        layer->relu ? pixel_outputs_1 : pixel_outputs_0;
    uint32_t rec[ONE_CHUNK * (ONE_MAX_PAIRS + 3)], xp[ONE_MAX_PAIRS];
    uint32_t *rj = rec;
    for (uint32_t j = 0; j < cn; j++, rj += np + 3) {
        const int16_t *w = layer->weight + (c0 + j) * st.out;
        const uint64_t start = (uint64_t)circnn_requant_offset(layer->bias ? layer->bias[c0 + j] : 0, s);
        rj[0] = (uint32_t)start, rj[1] = (uint32_t)(start >> 32);
        for (uint32_t r = 0; r < np; r++) {
            const uint32_t t = 2 * r;
            rj[2 + r] = circnn_pair(w[t * st.tap], t + 1 < taps ? w[(t + 1) * st.tap] : 0);
        }
        rj[2 + np] = (uint32_t)(32 - s);   /* s < 32 (circnn_conv2d_q15) */
    }
    int16_t *yp = y + c0;
    for (uint32_t oy = 0; oy < g->out_h; oy++) {
        for (uint32_t ox = 0; ox < g->out_w; ox++, yp += out_c) {
            gather_taps(g, x, oy, ox, np, xp);
            outputs(xp, rec, yp, cn, np, s);
        }
    }
}

static void one_channel(const circnn_conv2d_q15_t *layer, int ohwi, const int16_t *x, int16_t *y, int32_t s)
{
    const uint32_t out_c = layer->g.out_c;
    const uint32_t np = ((uint32_t)layer->g.kernel_h * layer->g.kernel_w + 1u) / 2u;
    for (uint32_t c0 = 0; c0 < out_c; c0 += ONE_CHUNK)
        one_channel_chunk(layer, ohwi, x, y, c0, out_c - c0 < ONE_CHUNK ? out_c - c0 : ONE_CHUNK, s, np);
}

/* With the DSP extension, windows of at most WINDOW_MAX values (taps times
 * input channels: 3 x 3 by 64, 1,152 bytes of stack) are gathered into
 * one run, larger ones and all without it read row by row from the input.
 * The bias terms of CHANNELS_MAX output channels at a time sit on the
 * stack: 512 bytes, or 128 without the DSP extension (ARMv6-M: small
 * stacks, the micro:bit's is 2 KB). */
#if CIRCNN_DSP
#define WINDOW_MAX 576u
#define CHANNELS_MAX 64u
#else
#define CHANNELS_MAX 16u
#endif

#if CIRCNN_DSP
/* n values copied from `from` (or zeros, from NULL) to `to`, two a word:
 * the C library's memcpy and memset of small-size builds (newlib-nano)
 * copy byte by byte. */
static void put_values(int16_t *to, const int16_t *from, size_t n)
{
    size_t i = 0;
    for (; i + 2u <= n; i += 2u) {
        const uint32_t v = from ? circnn_load_pair(from + i) : 0u;
        memcpy(to + i, &v, sizeof v);
    }
    if (i < n) to[i] = from ? from[i] : (int16_t)0;
}

#if CIRCNN_DSP_NATIVE && defined(__OPTIMIZE__)
/* Two values of x (one word) against two of each of two channels' weights,
 * post-indexed: the step of two_dots and pairs_asm. */
#define DOTS_STEP                                                                                             \
    "ldr     %[xv], [%[x]], #4\n\t"                                                                           \
    "ldr     %[wa], [%[w]], #4\n\t"                                                                           \
    "ldr     %[wb], [%[v]], #4\n\t"                                                                           \
    "smlald  %[a0l], %[a0h], %[xv], %[wa]\n\t"                                                                \
    "smlald  %[a1l], %[a1h], %[xv], %[wb]\n\t"
#endif

/* acc[0] and acc[1] plus the dot products of n values x with channel c's
 * weights w and channel c + 1's (w_next after them): eight values a step,
 * four words of x against four words of each channel (SMLALD), then four,
 * two and one. */
CIRCNN_ALWAYS_INLINE void two_dots(const int16_t *x, const int16_t *w, size_t w_next, uint32_t n, int64_t *acc)
{
    int64_t acc0 = acc[0], acc1 = acc[1];
    const int16_t *const xe = x + (n & ~7u), *v = w + w_next;
#if CIRCNN_DSP_NATIVE && defined(__OPTIMIZE__)
    /* ARMv7E-M: the same steps with post-indexed loads, 22 instructions
     * for 16 products (GCC's 25 add each pointer once a step). */
    if (x != xe) {
        uint32_t a0l = (uint32_t)acc0, a0h = (uint32_t)((uint64_t)acc0 >> 32);
        uint32_t a1l = (uint32_t)acc1, a1h = (uint32_t)((uint64_t)acc1 >> 32), xv, wa, wb;
        __asm__ volatile("1:\n\t" DOTS_STEP DOTS_STEP DOTS_STEP DOTS_STEP
                         "cmp     %[x], %[xe]\n\t"
                         "bne     1b\n\t"
                         : [a0l] "+r"(a0l), [a0h] "+r"(a0h), [a1l] "+r"(a1l), [a1h] "+r"(a1h), [xv] "=&r"(xv),
                           [wa] "=&r"(wa), [wb] "=&r"(wb), [x] "+r"(x), [w] "+r"(w), [v] "+r"(v)
                         : [xe] "r"(xe)
                         : "cc", "memory");
        acc0 = (int64_t)(((uint64_t)a0h << 32) | a0l), acc1 = (int64_t)(((uint64_t)a1h << 32) | a1l);
    }
#else
    for (; x != xe; x += 8, w += 8, v += 8) {
        const uint32_t x0 = circnn_load_pair(x), x1 = circnn_load_pair(x + 2);
        acc0 = circnn_smlald(x0, circnn_load_pair(w), acc0);
        acc1 = circnn_smlald(x0, circnn_load_pair(v), acc1);
        acc0 = circnn_smlald(x1, circnn_load_pair(w + 2), acc0);
        acc1 = circnn_smlald(x1, circnn_load_pair(v + 2), acc1);
        const uint32_t x2 = circnn_load_pair(x + 4), x3 = circnn_load_pair(x + 6);
        acc0 = circnn_smlald(x2, circnn_load_pair(w + 4), acc0);
        acc1 = circnn_smlald(x2, circnn_load_pair(v + 4), acc1);
        acc0 = circnn_smlald(x3, circnn_load_pair(w + 6), acc0);
        acc1 = circnn_smlald(x3, circnn_load_pair(v + 6), acc1);
    }
#endif
    for (uint32_t r = (n & 7u) / 2u; r; r--, x += 2, w += 2, v += 2) {
        const uint32_t x0 = circnn_load_pair(x);
        acc0 = circnn_smlald(x0, circnn_load_pair(w), acc0);
        acc1 = circnn_smlald(x0, circnn_load_pair(v), acc1);
    }
    if (n & 1u) {
        acc0 += (int64_t)((int32_t)*x * *w);
        acc1 += (int64_t)((int32_t)*x * *v);
    }
    acc[0] = acc0, acc[1] = acc1;
}

/* Output channels c0 .. c0 + cn of one pixel, OHWI weights (w channel
 * c0's at the window's first tap), each pair (an odd last one with itself
 * as the second) started at its bias term (start[]) and summed over rows
 * window rows of run values each (x_row apart in x, w_row apart in the
 * weights), then the shifted output stage. */
static NOINLINE void pixel_ohwi(const circnn_conv2d_q15_t *layer, const int16_t *x, size_t x_row, const int16_t *w,
                                size_t w_row, uint32_t rows, uint32_t run, uint32_t cn, const int64_t *start,
                                int32_t s, int16_t *y)
{
    const size_t per_channel = (size_t)layer->g.kernel_h * layer->g.kernel_w * layer->g.in_c;
    const int high = s >= 32, relu = layer->relu != 0;
    for (uint32_t c = 0; c < cn; c += 2) {
        const uint32_t pair = cn - c > 1u;
        int64_t acc[2] = {start[c], pair ? start[c + 1] : 0};
        /* pointers formed inside the loops only: none past the arrays' ends */
        for (uint32_t a = 0; a < rows; a++)
            two_dots(x + a * x_row, w + c * per_channel + a * w_row, pair ? per_channel : 0, run, acc);
        y[c] = finish(acc[0], s, high, relu);
        if (pair) y[c + 1] = finish(acc[1], s, high, relu);
    }
}

#if CIRCNN_DSP_NATIVE && defined(__OPTIMIZE__)
#define PAIRS_ASM 1
/* What pairs_asm reads and advances in memory (its registers are full). */
typedef struct {
    const int16_t *x;       /* the gathered window */
    const int64_t *start;   /* the next pair's bias terms */
    uint32_t s, left;       /* the output stage's shifts: s < 32 and 32 - s */
    int16_t *y;             /* the next pair's outputs */
    uint32_t pairs;         /* pairs left, at least 1 */
} pairs_t;

/* pixel_ohwi for a gathered window of n values, n a multiple of 8, pairs
 * of output channels only (w: the first channel's weights, each next one n
 * further), s < 32, in ARMv7E-M assembly: per pair the loop of two_dots,
 * then the shifted output stage (pixel_outputs5's) and two stores, 29
 * instructions beside the loop's 22 for every 8 values. */
#define PAIRS_BODY(SAT0, SAT1)                                                                                \
    __asm__ volatile("1:\n\t"                                                                                \
                     "ldr     %[wa], [%[c], #4]\n\t"                                                          \
                     "ldrd    %[a0l], %[a0h], [%[wa]], #16\n\t"                                               \
                     "ldrd    %[a1l], %[a1h], [%[wa], #-8]\n\t"                                               \
                     "str     %[wa], [%[c], #4]\n\t"                                                          \
                     "ldr     %[x], [%[c]]\n\t"                                                               \
                     "2:\n\t" DOTS_STEP DOTS_STEP DOTS_STEP DOTS_STEP                                      \
                     "cmp     %[x], %[xe]\n\t"                                                                \
                     "bne     2b\n\t"                                                                         \
                     "ldr     %[xv], [%[c]]\n\t"                                                              \
                     "sub     %[xv], %[xe], %[xv]\n\t"                                                        \
                     "mov     %[w], %[v]\n\t"                                                                 \
                     "add     %[v], %[v], %[xv]\n\t"                                                          \
                     "ldr     %[xv], [%[c], #8]\n\t"                                                          \
                     "ldr     %[wa], [%[c], #12]\n\t"                                                         \
                     "lsr     %[a0l], %[a0l], %[xv]\n\t"                                                      \
                     "lsl     %[a0h], %[a0h], %[wa]\n\t"                                                      \
                     "orr     %[a0l], %[a0l], %[a0h]\n\t"                                                     \
                     "lsr     %[a1l], %[a1l], %[xv]\n\t"                                                      \
                     "lsl     %[a1h], %[a1h], %[wa]\n\t"                                                      \
                     "orr     %[a1l], %[a1l], %[a1h]\n\t"                                                     \
                     SAT0 SAT1                                                                                  \
                     "ldr     %[wb], [%[c], #16]\n\t"                                                         \
                     "strh    %[a0l], [%[wb]], #2\n\t"                                                        \
                     "strh    %[a1l], [%[wb]], #2\n\t"                                                        \
                     "str     %[wb], [%[c], #16]\n\t"                                                         \
                     "ldr     %[wb], [%[c], #20]\n\t"                                                         \
                     "subs    %[wb], %[wb], #1\n\t"                                                           \
                     "str     %[wb], [%[c], #20]\n\t"                                                         \
                     "bne     1b\n\t"                                                                         \
                     : [a0l] "=&r"(a0l), [a0h] "=&r"(a0h), [a1l] "=&r"(a1l), [a1h] "=&r"(a1h), [xv] "=&r"(xv),     \
                       [wa] "=&r"(wa), [wb] "=&r"(wb), [x] "=&r"(xp), [w] "+r"(w), [v] "+r"(v)                       \
                     : [xe] "r"(xe), [c] "r"(ctx)                                                                \
                     : "cc", "memory")

static NOINLINE void pairs_asm(pairs_t *ctx, const int16_t *w, uint32_t n, int relu)
{
    const int16_t *v = w + n, *const xe = ctx->x + n, *xp;
    uint32_t a0l, a0h, a1l, a1h, xv, wa, wb;
    if (relu)
        PAIRS_BODY("usat    %[a0l], #15, %[a0l]\n\t", "usat    %[a1l], #15, %[a1l]\n\t");
    else
        PAIRS_BODY("ssat    %[a0l], #16, %[a0l]\n\t", "ssat    %[a1l], #16, %[a1l]\n\t");
}
#else
#define PAIRS_ASM 0
#endif

#else /* !CIRCNN_DSP */
#define PAIRS_ASM 0

/* pixel_ohwi without the DSP extension: one output channel at a time. */
static NOINLINE void pixel_ohwi(const circnn_conv2d_q15_t *layer, const int16_t *x, size_t x_row, const int16_t *w,
                                size_t w_row, uint32_t rows, uint32_t run, uint32_t cn, const int64_t *start,
                                int32_t s, int16_t *y)
{
    const size_t per_channel = (size_t)layer->g.kernel_h * layer->g.kernel_w * layer->g.in_c;
    const int high = s >= 32, relu = layer->relu != 0;
    for (uint32_t c = 0; c < cn; c++) {
        int64_t acc = start[c];
        for (uint32_t a = 0; a < rows; a++)
            acc = circnn_dot_q15(x + a * x_row, w + c * per_channel + a * w_row, run, acc);
        y[c] = finish(acc, s, high, relu);
    }
}
#endif /* CIRCNN_DSP */

/* Output channels c0 .. c0 + cn, several input channels, OHWI weights: per
 * output pixel its window once, with the DSP extension as one run of
 * taps * in_c values (zeros outside the input, which add nothing; up to
 * WINDOW_MAX), else as its rows inside the input, then pixel_ohwi. */
static void channels_ohwi(const circnn_conv2d_q15_t *layer, const int16_t *x, int16_t *y, int32_t s, uint32_t c0,
                          uint32_t cn, const int64_t *start)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t in_c = g->in_c, kh = g->kernel_h, kw = g->kernel_w, out_c = g->out_c;
    const size_t x_row = (size_t)g->in_w * in_c, w_row = (size_t)kw * in_c, window = kh * w_row;
    const int16_t *const weight = layer->weight + c0 * window;
#if CIRCNN_DSP
    uint32_t buffer[WINDOW_MAX / 2u];
    int16_t *const gathered = (int16_t *)(void *)buffer;
#endif
    int16_t *yp = y + c0;
    for (uint32_t oy = 0; oy < g->out_h; oy++) {
        uint32_t a0, a1;
        circnn_window_taps(oy, g->stride, g->pad_top, kh, g->in_h, &a0, &a1);
        for (uint32_t ox = 0; ox < g->out_w; ox++, yp += out_c) {
            uint32_t b0, b1;
            circnn_window_taps(ox, g->stride, g->pad_left, kw, g->in_w, &b0, &b1);
            const int inside = a0 < a1 && b0 < b1;   /* else no tap: the input offset below is not formed */
            const uint32_t iy = oy * g->stride + a0 - g->pad_top, ix = ox * g->stride + b0 - g->pad_left;
            const int16_t *xp = inside ? x + ((size_t)iy * g->in_w + ix) * in_c : x;
#if CIRCNN_DSP
            if (window <= WINDOW_MAX) {
                /* rows a0 .. a1, columns b0 .. b1 of the input; zeros elsewhere */
                const size_t before = (size_t)b0 * in_c, run = inside ? (size_t)(b1 - b0) * in_c : 0;
                int16_t *row = gathered;
                for (uint32_t a = 0; a < kh; a++, row += w_row) {
                    if (a < a0 || a >= a1 || !inside) {
                        put_values(row, NULL, w_row);
                        continue;
                    }
                    put_values(row, NULL, before);
                    put_values(row + before, xp + (a - a0) * x_row, run);
                    put_values(row + before + run, NULL, w_row - before - run);
                }
#if PAIRS_ASM
                if (window % 8u == 0 && s < 32 && cn > 1) {
                    pairs_t ctx = {gathered, start, (uint32_t)s, (uint32_t)(32 - s), yp, cn / 2u};
                    pairs_asm(&ctx, weight, (uint32_t)window, layer->relu != 0);
                    if (cn & 1u)   /* the odd last channel */
                        pixel_ohwi(layer, gathered, 0, weight + (cn - 1u) * window, 0, 1, (uint32_t)window, 1,
                                   start + cn - 1u, s, yp + cn - 1u);
                    continue;
                }
#endif
                pixel_ohwi(layer, gathered, 0, weight, 0, 1, (uint32_t)window, cn, start, s, yp);
                continue;
            }
#endif
            pixel_ohwi(layer, xp, x_row, inside ? weight + ((size_t)a0 * kw + b0) * in_c : weight, w_row,
                       inside ? a1 - a0 : 0,
                       inside ? (b1 - b0) * in_c : 0, cn, start, s, yp);
        }
    }
}

/* The kernel for several input channels and OHWI weights: up to
 * CHANNELS_MAX output channels at a time, their bias terms computed once. */
static void many_channels_ohwi(const circnn_conv2d_q15_t *layer, const int16_t *x, int16_t *y, int32_t s)
{
    const uint32_t out_c = layer->g.out_c;
    int64_t start[CHANNELS_MAX];
    for (uint32_t c0 = 0; c0 < out_c; c0 += CHANNELS_MAX) {
        const uint32_t cn = out_c - c0 < CHANNELS_MAX ? out_c - c0 : CHANNELS_MAX;
        for (uint32_t j = 0; j < cn; j++) start[j] = circnn_requant_offset(layer->bias ? layer->bias[c0 + j] : 0, s);
        channels_ohwi(layer, x, y, s, c0, cn, start);
    }
}

/* Both weight orders: the kernel that serves each layer. */
static void conv2d_q15(const circnn_conv2d_q15_t *layer, int ohwi, const int16_t *x, int16_t *y)
{
    const circnn_window_t *g = &layer->g;
    const uint32_t taps = (uint32_t)g->kernel_h * g->kernel_w;
    const int32_t s = circnn_requant_shift(layer->weight_exp, (uint64_t)taps * g->in_c);
    /* One input channel with s >= 32 (weights below 2^-17, rare) takes the
     * reference: two more copies of the output loops would serve it. */
    if (s != 0 && s < 32 && g->in_c == 1 && taps <= 2 * ONE_MAX_PAIRS) {
        one_channel(layer, ohwi, x, y, s);
        return;
    }
    if (CIRCNN_WITH_CONV2D_OHWI && s != 0 && g->in_c > 1 && ohwi) {
        many_channels_ohwi(layer, x, y, s);
        return;
    }
    circnn_conv2d_q15_reference(layer, ohwi, x, y);
}

void circnn_conv2d_q15(const circnn_conv2d_q15_t *layer, const int16_t *x, int16_t *y)
{
    conv2d_q15(layer, 0, x, y);
}

void circnn_conv2d_q15_ohwi(const circnn_conv2d_q15_t *layer, const int16_t *x, int16_t *y)
{
    conv2d_q15(layer, 1, x, y);
}
