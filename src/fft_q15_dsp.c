/*
 * q15 real FFT with the DSP extension's packed 16-bit instructions (Cortex-M4,
 * M7, M33): the same integers as the portable reference in fft_q15.c, which
 * the numeric contract of circnn/fft.h defines so that these instructions
 * compute it exactly:
 *   - a halving add or subtract (floor) is SHADD16 / SHSUB16 / SHASX / SHSAX;
 *   - a rotation (sum of two or four 16x16 products, one rounding) is a chain
 *     of SMLAD / SMLSDX started from the rounding constant, packed by PKHTB
 *     (shift 16) or ASR + PKHBT (shift 15);
 *   - |z|^2 for the block floating point bound is SMUAD(z, z).
 * A complex word is one 32-bit load: re in the bottom lane, im in the top.
 * The twiddled butterfly loops are ARMv7E-M assembly on the cores (GCC
 * spills about a quarter more instructions); elsewhere their C twins run on
 * the exact emulations of dsp_q15.h, and the host tests compare them with
 * the reference (test_dsp_c), the cores run the assembly against the
 * simulator (test_fft_firmware.py).  Compiled on every target: with the
 * extension circnn_rfft_q15 and circnn_irfft_q15 call these for every size
 * but 4 and 8 (fft_q15.c writes those out; with them alone this file is not
 * linked, and test_dsp_c checks these at 4 and 8 too).  The twiddle
 * table is that of the largest size in CIRCNN_FFT_SIZES (twiddle.h), so this
 * file is compiled per configuration.
 */
#include "circnn/config.h"
#include "circnn/fft.h"
#include "dsp_q15.h"
#include "fft_q15_common.h"

#define LD(z, i) circnn_load_pair((z) + 2 * (i))
#define ST(z, i, v) circnn_store_pair((z) + 2 * (i), (v))

static inline uint32_t sqw(uint32_t v)
{
    return (uint32_t)circnn_smuad(v, v);
}

/* Loads and stores of a word at a byte address. */
static inline uint32_t ldb(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void stb(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* v * 2^s0 in both lanes (exact: the caller's s0 keeps every lane in range);
 * mask clears the bits the bottom lane shifts into the top one. */
static inline uint32_t shift_pair(uint32_t v, int32_t s0, uint32_t mask)
{
    return (v << s0) & mask;
}

/* Round and pack a rotation: k = 16 (PKHTB) or 15 (ASR, PKHBT). */
CIRCNN_ALWAYS_INLINE uint32_t pack(int32_t re, int32_t im, int32_t k)
{
    return k == 16 ? circnn_pkhtb16(im, re) : circnn_pkhbt1(re >> 15, im);
}

/*
 * Twiddle words of a stage butterfly: a word (c, s) stands for c - i s.
 * From W^j, W^2j, W^3j, forward: W1, -i W1, W2, -W2, W3, i W3 (y1 = q W1 +
 * u (-i W1), ...); inverse: the same from V = conj W with i and -i
 * exchanged, so that one kernel rotates both ways.  With a word W = (c, s):
 * -i W = (-s, c) = SASX(0, W), -W = SSUB16(0, W), i W = (s, -c) = SSAX(0, W),
 * conj W = (c, -s) = SSAX(0, ror W).  For j <= L/8 (t = j C / L <= C/8)
 * the words of L/4 - j come from the same table reads: W^j' = ror W1,
 * W^2j' = (-c2, s2) = SASX(0, ror W2), W^3j' = (-s3, -c3) = -ror W3.
 */
#define WORDS_PER_J 6u   /* in this order: W3, W3', W1, W1', W2, -W2 */

static inline uint32_t ror16(uint32_t w)
{
    return (w >> 16) | (w << 16);
}

CIRCNN_ALWAYS_INLINE void stage_words(uint32_t w1, uint32_t w2, uint32_t w3, int inverse, int three, uint32_t *w)
{
    if (three) {   /* shift 3 reads W3, W1, W2 only */
        w[0] = inverse ? circnn_ssax(0, ror16(w3)) : w3;
        w[2] = inverse ? circnn_ssax(0, ror16(w1)) : w1;
        w[4] = inverse ? circnn_ssax(0, ror16(w2)) : w2;
    } else if (inverse) {
        uint32_t v2 = circnn_ssax(0, ror16(w2));
        w[2] = circnn_ssax(0, ror16(w1)), w[3] = circnn_ssub16(0, ror16(w1));
        w[4] = v2, w[5] = circnn_ssub16(0, v2);
        w[0] = circnn_ssax(0, ror16(w3)), w[1] = ror16(w3);
    } else {
        w[2] = w1, w[3] = circnn_sasx(0, w1);
        w[4] = w2, w[5] = circnn_ssub16(0, w2);
        w[0] = w3, w[1] = circnn_ssax(0, w3);
    }
}

/* The words of j (t = j C / L <= C/8) at w and of L/4 - j at w2 (unless
 * NULL).  Not inlined: in the stage loop GCC spills a pointer per index. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void pair_words(uint32_t t, int inverse, int three, uint32_t *w, uint32_t *w2)
{
    uint32_t t3 = 3u * t;
    uint32_t w1 = circnn_twiddle_pairs_q15[t], w2_ = circnn_twiddle_word_q15(2u * t);
    uint32_t w3 = t3 <= CIRCNN_TWIDDLE_Q15_QUARTER ? circnn_twiddle_word_q15(t3)
                                                    : circnn_sasx(0, circnn_twiddle_pairs_q15[t3 - CIRCNN_TWIDDLE_Q15_QUARTER]);
    uint32_t v1 = ror16(w1), v2 = circnn_sasx(0, ror16(w2_)), v3 = circnn_ssub16(0, ror16(w3));
    if (three) {
        stage_words(w1, w2_, w3, inverse, 1, w);
        if (w2 != NULL) stage_words(v1, v2, v3, inverse, 1, w2);
    } else {
        stage_words(w1, w2_, w3, inverse, 0, w);
        if (w2 != NULL) stage_words(v1, v2, v3, inverse, 0, w2);
    }
}

/* Y W for a materialised Y. */
CIRCNN_ALWAYS_INLINE uint32_t rot2(uint32_t y, uint32_t w, int32_t rnd, int32_t k)
{
    return pack(circnn_smlad(y, w, rnd), circnn_smlsdx(w, y, rnd), k);
}

/* X W + V W' without forming X + V (which may not fit 16 bits). */
CIRCNN_ALWAYS_INLINE uint32_t rot4(uint32_t x, uint32_t w, uint32_t v, uint32_t w2, int32_t rnd, int32_t k)
{
    int32_t re = circnn_smlad(v, w2, circnn_smlad(x, w, rnd));
    int32_t im = circnn_smlsdx(w2, v, circnn_smlsdx(w, x, rnd));
    return pack(re, im, k);
}

/* One radix-4 DIF butterfly (fft.h) on the words at x, x + st, x + 2 st,
 * x + 3 st (byte addresses); w: its six twiddle words, or NULL for j = 0.
 * Returns the OR of the outputs' |y|^2. */
CIRCNN_ALWAYS_INLINE uint32_t butterfly4(unsigned char *x, uint32_t st, const uint32_t *w, int32_t s, int inverse)
{
    const int32_t k = s == 0 ? 15 : 16, rnd = (int32_t)1 << (k - 1);
    unsigned char *y = x + 2 * st;
    uint32_t a = ldb(x), b = ldb(x + st), c = ldb(y), d = ldb(y + st);
    uint32_t p, q, r, u, y0, y1, y2, y3;
    if (s >= 2) {
        p = circnn_shadd16(a, c), q = circnn_shsub16(a, c), r = circnn_shadd16(b, d), u = circnn_shsub16(b, d);
    } else {
        p = circnn_sadd16(a, c), q = circnn_ssub16(a, c), r = circnn_sadd16(b, d), u = circnn_ssub16(b, d);
    }
    y0 = s == 0 ? circnn_sadd16(p, r) : circnn_shadd16(p, r);
    if (s == 3) y0 = circnn_shadd16(y0, 0);
    if (w == NULL || s == 3) {
        /* Y1 = q -+ i u, Y3 = q +- i u, Y2 = p - r, halved unless s == 0 */
        if (s == 0) {
            y2 = circnn_ssub16(p, r);
            y1 = inverse ? circnn_sasx(q, u) : circnn_ssax(q, u);
            y3 = inverse ? circnn_ssax(q, u) : circnn_sasx(q, u);
        } else {
            y2 = circnn_shsub16(p, r);
            y1 = inverse ? circnn_shasx(q, u) : circnn_shsax(q, u);
            y3 = inverse ? circnn_shsax(q, u) : circnn_shasx(q, u);
        }
        if (w == NULL && s == 3) {
            y1 = circnn_shadd16(y1, 0), y2 = circnn_shadd16(y2, 0), y3 = circnn_shadd16(y3, 0);
        } else if (w != NULL) {
            y2 = rot2(y2, w[4], rnd, k), y1 = rot2(y1, w[2], rnd, k), y3 = rot2(y3, w[0], rnd, k);
        }
    } else {
        y2 = rot4(p, w[4], r, w[5], rnd, k);
        y1 = rot4(q, w[2], u, w[3], rnd, k);
        y3 = rot4(q, w[0], u, w[1], rnd, k);
    }
    stb(x, y0), stb(x + st, y2), stb(y, y1), stb(y + st, y3);
    return sqw(y0) | sqw(y1) | sqw(y2) | sqw(y3);
}

/* The butterflies of j = 0 (twiddle 1) of every group. */
CIRCNN_ALWAYS_INLINE uint32_t trivial_body(int16_t *z, uint32_t m, uint32_t len, int32_t s, int inverse)
{
    uint32_t acc = 0;
    for (unsigned char *x = (unsigned char *)z, *e = x + 4 * m; x != e; x += 4 * len)
        acc |= butterfly4(x, len, NULL, s, inverse);   /* L/4 words: a stride of L bytes */
    return acc;
}

static uint32_t trivial(int16_t *z, uint32_t m, uint32_t len, int32_t s, int inverse)
{
    switch (2 * s + inverse) {
    case 0: return trivial_body(z, m, len, 0, 0);
    case 1: return trivial_body(z, m, len, 0, 1);
    case 2: return trivial_body(z, m, len, 1, 0);
    case 3: return trivial_body(z, m, len, 1, 1);
    case 4: return trivial_body(z, m, len, 2, 0);
    case 5: return trivial_body(z, m, len, 2, 1);
    case 6: return trivial_body(z, m, len, 3, 0);
    default: return trivial_body(z, m, len, 3, 1);
    }
}

/*
 * Runs of twiddled butterflies, n of them starting at x: along j (x
 * advancing by a word, the twiddle words by six) when by_group is 0, or
 * along the groups of one j (x advancing by a group, 4 st bytes, the same
 * words) when by_group is 1.  Returns the OR of the outputs' |y|^2.
 */
#if CIRCNN_DSP_NATIVE
/* Registers: x, y (words a/b and c/d), st, w, end, acc, rnd; a, b, c, d,
 * t0, t1, tw scratch.  Same operations, same order as butterfly4.  Along j
 * the pointers advance by post-indexing (the twiddle words are read from
 * w - 24 after the first load), along the groups by adds. */
#define R4_ROT4(P, R, W0, W1, PACK, STORE)                                                          \
    "ldr    %[tw], " W0 "\n\t"                                                                       \
    "smlad  %[b], %[" P "], %[tw], %[rnd]\n\t"                                                       \
    "smlsdx %[t1], %[tw], %[" P "], %[rnd]\n\t"                                                      \
    "ldr    %[tw], " W1 "\n\t"                                                                       \
    "smlad  %[b], %[" R "], %[tw], %[b]\n\t"                                                         \
    "smlsdx %[t1], %[tw], %[" R "], %[t1]\n\t"                                                       \
    PACK                                                                                             \
    "str    %[t1], " STORE "\n\t"                                                                    \
    "smuad  %[t1], %[t1], %[t1]\n\t"                                                                 \
    "orr    %[acc], %[acc], %[t1]\n\t"

#define PACK16 "pkhtb  %[t1], %[t1], %[b], asr #16\n\t"
#define PACK15 "asr    %[b], %[b], #15\n\tpkhbt  %[t1], %[b], %[t1], lsl #1\n\t"

/* Addressing along j (J) or along the groups (G): twiddle words W3, W3',
 * W1, W1', W2, -W2; stores y3, y1, y2, y0 in that order. */
#define J_W3 "[%[w]], #24"
#define J_W3B "[%[w], #-20]"
#define J_W1 "[%[w], #-16]"
#define J_W1B "[%[w], #-12]"
#define J_W2 "[%[w], #-8]"
#define J_W2B "[%[w], #-4]"
#define J_Y1 "[%[y]], #4"
#define J_Y0 "[%[x]], #4"
#define J_NEXT ""
#define G_W3 "[%[w]]"
#define G_W3B "[%[w], #4]"
#define G_W1 "[%[w], #8]"
#define G_W1B "[%[w], #12]"
#define G_W2 "[%[w], #16]"
#define G_W2B "[%[w], #20]"
#define G_Y1 "[%[y]]"
#define G_Y0 "[%[x]]"
#define G_NEXT "add    %[x], %[x], %[st], lsl #2\n\tadd    %[y], %[y], %[st], lsl #2\n\t"

/* Shifts 0-2: four products per output. */
#define R4_LOOP4(LADD, LSUB, Y0, PACK, A)                                                           \
    "1:\n\t"                                                                                         \
    "ldr    %[a], [%[x]]\n\t"                                                                        \
    "ldr    %[c], [%[y]]\n\t"                                                                        \
    LADD "  %[t0], %[a], %[c]\n\t"  /* p */                                                         \
    LSUB "  %[c], %[a], %[c]\n\t"   /* q */                                                         \
    "ldr    %[b], [%[x], %[st]]\n\t"                                                                 \
    "ldr    %[d], [%[y], %[st]]\n\t"                                                                 \
    LADD "  %[a], %[b], %[d]\n\t"   /* r */                                                         \
    LSUB "  %[d], %[b], %[d]\n\t"   /* u */                                                         \
    R4_ROT4("c", "d", A##_W3, A##_W3B, PACK, "[%[y], %[st]]")  /* y3 = q W3 + u W3' */               \
    R4_ROT4("c", "d", A##_W1, A##_W1B, PACK, A##_Y1)           /* y1 = q W1 + u W1' */               \
    R4_ROT4("t0", "a", A##_W2, A##_W2B, PACK, "[%[x], %[st]]") /* y2 = p W2 + r (-W2) */             \
    Y0 "    %[t0], %[t0], %[a]\n\t" /* y0 */                                                        \
    "str    %[t0], " A##_Y0 "\n\t"                                                                   \
    "smuad  %[t0], %[t0], %[t0]\n\t"                                                                 \
    "orr    %[acc], %[acc], %[t0]\n\t"                                                               \
    A##_NEXT                                                                                         \
    "cmp    %[x], %[end]\n\t"                                                                        \
    "bne    1b\n\t"

#define R4_ROT2(Y, W0, STORE)   /* d: scratch (u is dead by then) */                                 \
    "ldr    %[tw], " W0 "\n\t"                                                                       \
    "smlad  %[d], %[" Y "], %[tw], %[rnd]\n\t"                                                       \
    "smlsdx %[t1], %[tw], %[" Y "], %[rnd]\n\t"                                                      \
    "pkhtb  %[t1], %[t1], %[d], asr #16\n\t"                                                         \
    "str    %[t1], " STORE "\n\t"                                                                    \
    "smuad  %[t1], %[t1], %[t1]\n\t"                                                                 \
    "orr    %[acc], %[acc], %[t1]\n\t"

/* Shift 3: halved sums, halved again to 16 bits, then two products. */
#define R4_LOOP3(Y1OP, Y3OP, A)                                                                     \
    "1:\n\t"                                                                                         \
    "ldr    %[a], [%[x]]\n\t"                                                                        \
    "ldr    %[c], [%[y]]\n\t"                                                                        \
    "shadd16 %[t0], %[a], %[c]\n\t" /* p */                                                         \
    "shsub16 %[c], %[a], %[c]\n\t"  /* q */                                                         \
    "ldr    %[b], [%[x], %[st]]\n\t"                                                                 \
    "ldr    %[d], [%[y], %[st]]\n\t"                                                                 \
    "shadd16 %[a], %[b], %[d]\n\t"  /* r */                                                         \
    "shsub16 %[d], %[b], %[d]\n\t"  /* u */                                                         \
    Y3OP "  %[b], %[c], %[d]\n\t"   /* Y3 */                                                        \
    Y1OP "  %[c], %[c], %[d]\n\t"   /* Y1 */                                                        \
    R4_ROT2("b", A##_W3, "[%[y], %[st]]")                                                            \
    R4_ROT2("c", A##_W1, A##_Y1)                                                                     \
    "shsub16 %[b], %[t0], %[a]\n\t" /* Y2 */                                                        \
    R4_ROT2("b", A##_W2, "[%[x], %[st]]")                                                            \
    "shadd16 %[t0], %[t0], %[a]\n\t"                                                                 \
    "mov    %[a], #0\n\t"                                                                            \
    "shadd16 %[t0], %[t0], %[a]\n\t" /* y0 */                                                       \
    "str    %[t0], " A##_Y0 "\n\t"                                                                   \
    "smuad  %[t0], %[t0], %[t0]\n\t"                                                                 \
    "orr    %[acc], %[acc], %[t0]\n\t"                                                               \
    A##_NEXT                                                                                         \
    "cmp    %[x], %[end]\n\t"                                                                        \
    "bne    1b\n\t"

#define R4_ASM(TEMPLATE, RND)                                                                       \
    do {                                                                                             \
        uint32_t a, b, c, d, t0, t1, tw;                                                             \
        __asm__ volatile(TEMPLATE                                                                    \
                         : [x] "+r"(x), [y] "+r"(y), [w] "+r"(w), [acc] "+r"(acc), [a] "=&r"(a),     \
                           [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d), [t0] "=&r"(t0), [t1] "=&r"(t1),  \
                           [tw] "=&r"(tw)                                                            \
                         : [st] "r"(st), [end] "r"(end), [rnd] "r"(RND)                              \
                         : "cc", "memory");                                                          \
    } while (0)

#define R4_ALL(A)                                                                                   \
    do {                                                                                             \
        if (s == 0)                                                                                  \
            R4_ASM(R4_LOOP4("sadd16", "ssub16", "sadd16", PACK15, A), 16384);                        \
        else if (s == 1)                                                                             \
            R4_ASM(R4_LOOP4("sadd16", "ssub16", "shadd16", PACK16, A), 32768);                       \
        else if (s == 2)                                                                             \
            R4_ASM(R4_LOOP4("shadd16", "shsub16", "shadd16", PACK16, A), 32768);                     \
        else if (inverse)                                                                            \
            R4_ASM(R4_LOOP3("shasx", "shsax", A), 32768);                                            \
        else                                                                                         \
            R4_ASM(R4_LOOP3("shsax", "shasx", A), 32768);                                            \
    } while (0)

static uint32_t run(unsigned char *x, uint32_t st, uint32_t n, const uint32_t *w, int32_t s, int inverse,
                    int by_group)
{
    unsigned char *y = x + 2 * st, *end = x + (by_group ? 4 * st : 4) * n;
    uint32_t acc = 0;
    if (by_group)
        R4_ALL(G);
    else
        R4_ALL(J);
    return acc;
}
#else
CIRCNN_ALWAYS_INLINE uint32_t run_body(unsigned char *x, uint32_t st, uint32_t n, const uint32_t *w, int32_t s,
                                    int inverse, int by_group)
{
    uint32_t acc = 0;
    for (uint32_t i = 0; i < n; i++) {
        acc |= butterfly4(x, st, w, s, inverse);
        x += by_group ? 4 * st : 4;
        if (!by_group) w += WORDS_PER_J;
    }
    return acc;
}

static uint32_t run(unsigned char *x, uint32_t st, uint32_t n, const uint32_t *w, int32_t s, int inverse,
                    int by_group)
{
    switch (s) {
    case 0: return run_body(x, st, n, w, 0, 0, by_group);
    case 1: return run_body(x, st, n, w, 1, 0, by_group);
    case 2: return run_body(x, st, n, w, 2, 0, by_group);
    default: return inverse ? run_body(x, st, n, w, 3, 1, by_group) : run_body(x, st, n, w, 3, 0, by_group);
    }
}
#endif

/* The twiddled butterflies j0 <= j < j0 + nj of every group, words at w:
 * along j within each group, or along the groups for each j if there are
 * more groups than j. */
static uint32_t twiddled(int16_t *z, uint32_t m, uint32_t len, uint32_t j0, uint32_t nj, const uint32_t *w,
                         int32_t s, int inverse)
{
    uint32_t acc = 0, groups = m / len;
    unsigned char *base = (unsigned char *)(z + 2 * j0);
    if (groups > nj) {
        for (uint32_t j = 0; j < nj; j++) acc |= run(base + 4 * j, len, groups, w + WORDS_PER_J * j, s, inverse, 1);
    } else {
        for (uint32_t g = 0; g < groups; g++) acc |= run(base + 4 * len * g, len, nj, w, s, inverse, 0);
    }
    return acc;
}

#define PAIRS_PER_CHUNK 8u

/* One radix-4 stage in place; returns the OR of the outputs' |y|^2. */
static uint32_t radix4_stage(int16_t *z, uint32_t m, uint32_t len, int32_t s, int inverse)
{
    uint32_t q4 = len / 4, step = CIRCNN_TWIDDLE_Q15_CIRCLE / len, acc = trivial(z, m, len, s, inverse);
    uint32_t wa[WORDS_PER_J * PAIRS_PER_CHUNK], wb[WORDS_PER_J * PAIRS_PER_CHUNK];
    /* j in [j0, j0 + nc) and their partners q4 - j, both runs ascending;
     * j = q4 / 2 is its own partner */
    for (uint32_t j0 = 1; 2 * j0 <= q4; j0 += PAIRS_PER_CHUNK) {
        uint32_t nc = q4 / 2 - j0 + 1 < PAIRS_PER_CHUNK ? q4 / 2 - j0 + 1 : PAIRS_PER_CHUNK;
        for (uint32_t i = 0; i < nc; i++)
            pair_words((j0 + i) * step, inverse, s == 3, wa + WORDS_PER_J * i, wb + WORDS_PER_J * (nc - 1 - i));
        acc |= twiddled(z, m, len, j0, nc, wa, s, inverse);
        uint32_t self = 2 * (j0 + nc - 1) == q4;   /* the last pair is j = q4 / 2 */
        if (nc > self)
            acc |= twiddled(z, m, len, q4 - j0 - nc + 1 + self, nc - self, wb + WORDS_PER_J * self, s, inverse);
    }
    return acc;
}

static inline uint32_t bitrev(uint32_t i, uint32_t bits)
{
#if CIRCNN_DSP_NATIVE
    uint32_t r;
    __asm__("rbit %0, %1" : "=r"(r) : "r"(i));
    return r >> (32u - bits);
#else
    uint32_t r = 0;
    for (uint32_t b = 0; b < bits; b++) r |= ((i >> b) & 1u) << (bits - 1u - b);
    return r;
#endif
}

/* Radix-2 butterflies (a, b) -> (a + b, a - b) >> s. */
CIRCNN_ALWAYS_INLINE void butterfly2(uint32_t *a, uint32_t *b, int32_t s)
{
    uint32_t x = *a, y = *b;
    *a = s ? circnn_shadd16(x, y) : circnn_sadd16(x, y);
    *b = s ? circnn_shsub16(x, y) : circnn_ssub16(x, y);
}

/* The bit reversal of m >= 4 words, fused with the radix-2 stage (radix2:
 * shift s) when log2 m is odd.  Words i, i+1, i+h, i+h+1 (h = m/2, i even
 * and < h) go to r, r+h, r+1, r+h+1 with r = rev(i), and those of r to
 * those of i: one step moves 8 words (4 if i == r), and the radix-2 pairs
 * (even, odd) are among them. */
CIRCNN_ALWAYS_INLINE uint32_t reverse_body(int16_t *z, uint32_t m, int radix2, int32_t s, int track)
{
    uint32_t bits = circnn_fft_q15_log2(m), h = m / 2, acc = 0;
    for (uint32_t i = 0; i < h; i += 2) {
        uint32_t r = bitrev(i, bits);
        if (r < i) continue;
        uint32_t a0 = LD(z, i), a1 = LD(z, i + 1), b0 = LD(z, i + h), b1 = LD(z, i + h + 1);
        if (radix2) butterfly2(&a0, &a1, s), butterfly2(&b0, &b1, s);
        if (track) acc |= sqw(a0) | sqw(a1) | sqw(b0) | sqw(b1);
        if (r == i) {
            ST(z, i, a0), ST(z, i + h, a1), ST(z, i + 1, b0), ST(z, i + h + 1, b1);
            continue;
        }
        uint32_t c0 = LD(z, r), c1 = LD(z, r + 1), d0 = LD(z, r + h), d1 = LD(z, r + h + 1);
        if (radix2) butterfly2(&c0, &c1, s), butterfly2(&d0, &d1, s);
        if (track) acc |= sqw(c0) | sqw(c1) | sqw(d0) | sqw(d1);
        ST(z, r, a0), ST(z, r + h, a1), ST(z, r + 1, b0), ST(z, r + h + 1, b1);
        ST(z, i, c0), ST(z, i + h, c1), ST(z, i + 1, d0), ST(z, i + h + 1, d1);
    }
    return acc;
}

static uint32_t reverse(int16_t *z, uint32_t m, int radix2, int32_t s, int track)
{
    if (!radix2) return reverse_body(z, m, 0, 0, 0);
    if (track) return s ? reverse_body(z, m, 1, 1, 1) : reverse_body(z, m, 1, 0, 1);
    return s ? reverse_body(z, m, 1, 1, 0) : reverse_body(z, m, 1, 0, 0);
}

/* The m-point complex FFT in place, natural order in and out.  *acc: the
 * OR of |z|^2 entering, updated to the one leaving (forward only).
 * Returns the shifts' sum. */
static int32_t complex_fft(int16_t *z, uint32_t m, int inverse, uint32_t *acc)
{
    int32_t exponent = 0, s;
    uint32_t len = m;
    if (m == 2) {
        uint32_t a = LD(z, 0), b = LD(z, 1);
        s = circnn_fft_q15_radix2_shift(*acc);
        butterfly2(&a, &b, s);
        ST(z, 0, a), ST(z, 1, b);
        *acc = sqw(a) | sqw(b);
        return s;
    }
    for (; len >= 4; len /= 4) {
        s = circnn_fft_q15_radix4_shift(*acc);
        *acc = radix4_stage(z, m, len, s, inverse);
        exponent += s;
    }
    if (m < 4) return exponent;
    if (len == 2) {
        s = circnn_fft_q15_radix2_shift(*acc);
        *acc = reverse(z, m, 1, s, !inverse);
        return exponent + s;
    }
    reverse(z, m, 0, 0, 0);
    return exponent;
}

static uint32_t sq_or(const int16_t *z, uint32_t m)
{
    uint32_t acc = 0, i = 0;
    for (; i + 4 <= m; i += 4) {
        uint32_t a = LD(z, i), b = LD(z, i + 1), c = LD(z, i + 2), d = LD(z, i + 3);
        acc |= sqw(a) | sqw(b) | sqw(c) | sqw(d);
    }
    for (; i < m; i++) acc |= sqw(LD(z, i));
    return acc;
}

/* out = in * 2^s0, word by word. */
static void normalise(const int16_t *in, int16_t *out, uint32_t m, int32_t s0)
{
    uint32_t mask = ~(((UINT32_C(1) << s0) - 1u) << 16), i = 0;
    if (s0 == 0) {
        if (in != out) memcpy(out, in, 4 * m);
        return;
    }
    for (; i + 4 <= m; i += 4) {
        uint32_t a = LD(in, i), b = LD(in, i + 1), c = LD(in, i + 2), d = LD(in, i + 3);
        ST(out, i, shift_pair(a, s0, mask)), ST(out, i + 1, shift_pair(b, s0, mask));
        ST(out, i + 2, shift_pair(c, s0, mask)), ST(out, i + 3, shift_pair(d, s0, mask));
    }
    for (; i < m; i++) ST(out, i, shift_pair(LD(in, i), s0, mask));
}

/* Split coefficient words of bin k from ts = (sin, cos) of t = k C / n:
 * B = (((32767 + s) >> 1) + 1, c >> 1) = UHADD16((32769, 0), ts),
 * A = (32768, 0) - B, and -B. */
static inline void split_words(uint32_t ts, uint32_t *a, uint32_t *b, uint32_t *nb)
{
    *b = circnn_uhadd16(UINT32_C(32769), ts);
    *a = circnn_ssub16(UINT32_C(0x8000), *b);
    *nb = circnn_ssub16(0, *b);
}

CIRCNN_ALWAYS_INLINE void split_fwd_bins(int16_t *z, uint32_t m, uint32_t b0, uint32_t b1, uint32_t step, int32_t s,
                                      int high)
{
    const int32_t h = s == 2, k = 15 + s - h, rnd = (int32_t)1 << (k - 1);
    for (uint32_t b = b0; b < b1; b++) {
        uint32_t t = b * step;
        uint32_t wa, wb, nb, zk = LD(z, b), zm = LD(z, m - b);
        split_words(high ? circnn_twiddle_pairs_q15[CIRCNN_TWIDDLE_Q15_QUARTER - t] : ror16(circnn_twiddle_pairs_q15[t]),
                    &wa, &wb, &nb);
        if (h) zk = circnn_shadd16(zk, 0), zm = circnn_shadd16(zm, 0);
        int32_t r0 = circnn_smlad(zm, wb, circnn_smlsd(zk, wa, rnd));
        int32_t i0 = circnn_smlsdx(zm, wb, circnn_smladx(zk, wa, rnd));
        int32_t r1 = circnn_smlsd(zk, wb, circnn_smlad(zm, wa, rnd));
        int32_t i1 = circnn_smladx(zk, nb, circnn_smlsdx(wa, zm, rnd));
        ST(z, b, pack(r0, i0, k)), ST(z, m - b, pack(r1, i1, k));
    }
}

/* Bins 0 < b < m/2; t = b C / n <= C/8 up to b = m/4. */
CIRCNN_ALWAYS_INLINE int32_t split_fwd_body(int16_t *z, uint32_t m, uint32_t n, int32_t s)
{
    uint32_t step = CIRCNN_TWIDDLE_Q15_CIRCLE / n, mid = m / 4 + 1 < m / 2 ? m / 4 + 1 : m / 2;
    split_fwd_bins(z, m, 1, mid, step, s, 0);
    split_fwd_bins(z, m, mid, m / 2, step, s, 1);
    return s;
}

static int32_t split_forward(int16_t *z, uint32_t m, uint32_t n, uint32_t acc)
{
    int32_t s = circnn_fft_q15_split_shift(acc);
    int32_t x0 = z[0], x1 = z[1];
    z[0] = (int16_t)((x0 + x1) >> s), z[1] = (int16_t)((x0 - x1) >> s);
    if (m >= 2) z[m] = (int16_t)(z[m] >> s), z[m + 1] = (int16_t)((-z[m + 1]) >> s);
    switch (s) {
    case 0: return split_fwd_body(z, m, n, 0);
    case 1: return split_fwd_body(z, m, n, 1);
    default: return split_fwd_body(z, m, n, 2);
    }
}

CIRCNN_ALWAYS_INLINE uint32_t split_inv_bins(const int16_t *in, int16_t *out, uint32_t m, uint32_t b0, uint32_t b1,
                                          uint32_t step, int32_t s, int32_t s0, int high)
{
    const int32_t h = s == 2, k = 15 + s - h, rnd = (int32_t)1 << (k - 1);
    uint32_t acc = 0, mask = ~(((UINT32_C(1) << s0) - 1u) << 16);
    for (uint32_t b = b0; b < b1; b++) {
        uint32_t t = b * step, wa, wb, nb;
        uint32_t zk = shift_pair(LD(in, b), s0, mask), zm = shift_pair(LD(in, m - b), s0, mask);
        split_words(high ? circnn_twiddle_pairs_q15[CIRCNN_TWIDDLE_Q15_QUARTER - t] : ror16(circnn_twiddle_pairs_q15[t]),
                    &wa, &wb, &nb);
        if (h) zk = circnn_shadd16(zk, 0), zm = circnn_shadd16(zm, 0);
        int32_t r0 = circnn_smlsd(zm, wb, circnn_smlad(zk, wa, rnd));
        int32_t i0 = circnn_smladx(zm, nb, circnn_smlsdx(wa, zk, rnd));
        int32_t r1 = circnn_smlad(zk, wb, circnn_smlsd(zm, wa, rnd));
        int32_t i1 = circnn_smlsdx(zk, wb, circnn_smladx(zm, wa, rnd));
        uint32_t y0 = pack(r0, i0, k), y1 = pack(r1, i1, k);
        ST(out, b, y0), ST(out, m - b, y1);
        acc |= sqw(y0) | sqw(y1);
    }
    return acc;
}

CIRCNN_ALWAYS_INLINE uint32_t split_inv_body(const int16_t *in, int16_t *out, uint32_t m, uint32_t n, int32_t s,
                                          int32_t s0)
{
    uint32_t step = CIRCNN_TWIDDLE_Q15_CIRCLE / n, mid = m / 4 + 1 < m / 2 ? m / 4 + 1 : m / 2;
    return split_inv_bins(in, out, m, 1, mid, step, s, s0, 0) | split_inv_bins(in, out, m, mid, m / 2, step, s, s0, 1);
}

static int32_t split_inverse(const int16_t *in, int16_t *out, uint32_t m, uint32_t n, int32_t s0, uint32_t *acc)
{
    int32_t s = circnn_fft_q15_split_shift(*acc);
    int32_t scale = (int32_t)1 << s0;
    int32_t x0 = in[0] * scale, x1 = in[1] * scale;
    int32_t hr = 0, hi = 0;
    if (m >= 2) hr = in[m] * scale, hi = in[m + 1] * scale;
    uint32_t a;
    switch (s) {
    case 0: a = split_inv_body(in, out, m, n, 0, s0); break;
    case 1: a = split_inv_body(in, out, m, n, 1, s0); break;
    default: a = split_inv_body(in, out, m, n, 2, s0); break;
    }
    uint32_t y = circnn_pair((x0 + x1) >> (s + 1), (x0 - x1) >> (s + 1));
    ST(out, 0, y);
    a |= sqw(y);
    if (m >= 2) {
        y = circnn_pair(hr >> s, (-hi) >> s);
        ST(out, m / 2, y);
        a |= sqw(y);
    }
    *acc = a;
    return s;
}

int32_t circnn_rfft_q15_dsp(const int16_t *in, int16_t *out, uint32_t n)
{
    uint32_t m = n / 2, acc = sq_or(in, m);
    if (acc == 0) {   /* zero in, zero out: s0 = 15 and no stage shifts */
        for (uint32_t i = 0; i < n; i++) out[i] = 0;
        return -15;
    }
    int32_t s0 = circnn_fft_q15_normalise_shift(&acc);
    normalise(in, out, m, s0);
    int32_t exponent = -s0 + complex_fft(out, m, 0, &acc);
    return exponent + split_forward(out, m, n, acc);
}

int32_t circnn_irfft_q15_dsp(const int16_t *in, int16_t *out, uint32_t n)
{
    uint32_t m = n / 2, acc = sq_or(in, m);
    if (acc == 0) {
        for (uint32_t i = 0; i < n; i++) out[i] = 0;
        return -15 - (int32_t)circnn_fft_q15_log2(m);
    }
    int32_t s0 = circnn_fft_q15_normalise_shift(&acc);
    int32_t exponent = -s0 + split_inverse(in, out, m, n, s0, &acc);
    exponent += complex_fft(out, m, 1, &acc);
    return exponent - (int32_t)circnn_fft_q15_log2(m);
}
