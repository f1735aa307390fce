/* Spectral multiply-accumulate with the DSP extension's dual 16-bit MACs
 * (contract: dsp_q15.h).  Compiled on every target: with the extension it
 * is what the q15 block-circulant layers use; elsewhere it runs on the
 * exact C emulations, which the host tests compare with the reference. */
#include "dsp_q15.h"

void circnn_bc_mac_q15_dsp(int64_t *acc, const int16_t *w, uint32_t w_stride, const int16_t *x,
                           uint32_t x_stride, uint32_t blocks, uint32_t k)
{
    int64_t dc = acc[0], nyquist = acc[1];
    const int16_t *wj = w, *xj = x;
    for (uint32_t j = 0; j < blocks; j++, wj += w_stride, xj += x_stride) {
        dc += (int32_t)wj[0] * xj[0];
        nyquist += (int32_t)wj[1] * xj[1];
    }
    acc[0] = dc;
    acc[1] = nyquist;
    const size_t ws = w_stride, xs = x_stride;
    for (uint32_t b = 2; b < k; b += 2) {
        int64_t re = acc[b], im = acc[b + 1];
        const int16_t *wb = w + b, *xb = x + b, *w4 = w + b + (size_t)(blocks & ~3u) * ws;
        /* four blocks a step: the loop costs 4 of 20 instructions */
        for (; wb != w4; wb += 4 * ws, xb += 4 * xs) {
            uint32_t w0 = circnn_load_pair(wb), x0 = circnn_load_pair(xb);
            uint32_t w1 = circnn_load_pair(wb + ws), x1 = circnn_load_pair(xb + xs);
            re = circnn_smlsld(w0, x0, re);
            im = circnn_smlaldx(w0, x0, im);
            re = circnn_smlsld(w1, x1, re);
            im = circnn_smlaldx(w1, x1, im);
            w0 = circnn_load_pair(wb + 2 * ws), x0 = circnn_load_pair(xb + 2 * xs);
            w1 = circnn_load_pair(wb + 3 * ws), x1 = circnn_load_pair(xb + 3 * xs);
            re = circnn_smlsld(w0, x0, re);
            im = circnn_smlaldx(w0, x0, im);
            re = circnn_smlsld(w1, x1, re);
            im = circnn_smlaldx(w1, x1, im);
        }
        for (uint32_t j = blocks & ~3u; j < blocks; j++, wb += ws, xb += xs) {
            uint32_t w0 = circnn_load_pair(wb), x0 = circnn_load_pair(xb);
            re = circnn_smlsld(w0, x0, re);
            im = circnn_smlaldx(w0, x0, im);
        }
        acc[b] = re;
        acc[b + 1] = im;
    }
}

/*
 * The words of rows [r0, r1) (r: the word index, bins 2r and 2r + 1 of acc)
 * over the first `head` blocks, head a positive multiple of 4; x row r at
 * x + 2 r blocks.  Row 0 (DC, Nyquist: two real products) uses SMLALBB and
 * SMLALTT, the others SMLSLD (re) and SMLALDX (im).  Writes acc[2 r0 ..
 * 2 r1).
 */
#if CIRCNN_DSP_NATIVE
/* Two blocks: their x words by one LDRD, their w words a stride apart. */
#define ROWS_TWO_BLOCKS(MAC_A, MAC_B)                                                             \
    "ldrd    %[x0], %[x1], [%[xp]], #8\n\t"                                                    \
    "ldr     %[tw], [%[wp]]\n\t"                                                               \
    MAC_A "  %[al], %[ah], %[tw], %[x0]\n\t"                                                   \
    MAC_B "  %[bl], %[bh], %[tw], %[x0]\n\t"                                                   \
    "ldr     %[tw], [%[wp], %[st]]\n\t"                                                        \
    MAC_A "  %[al], %[ah], %[tw], %[x1]\n\t"                                                   \
    MAC_B "  %[bl], %[bh], %[tw], %[x1]\n\t"                                                   \
    "add     %[wp], %[wp], %[st], lsl #1\n\t"

/* Registers: four accumulator words, x0, x1, tw, wp, xp, st (the w stride
 * in bytes), xe (the row's end), wr (w at the row), ap (acc at the row);
 * the row length, the skip to the next x row and the acc end in memory.
 * 18 instructions per four blocks, 15 per row. */
#define ROWS_ASM(MAC_A, MAC_B)                                                                   \
    __asm__ volatile(                                                                              \
        "2:\n\t"                                                                                   \
        "ldr     %[xe], %[len]\n\t"                                                                \
        "add     %[xe], %[xe], %[xp]\n\t"                                                          \
        "mov     %[wp], %[wr]\n\t"                                                                 \
        "mov     %[al], #0\n\t"                                                                    \
        "mov     %[ah], #0\n\t"                                                                    \
        "mov     %[bl], #0\n\t"                                                                    \
        "mov     %[bh], #0\n\t"                                                                    \
        "1:\n\t"                                                                                   \
        ROWS_TWO_BLOCKS(MAC_A, MAC_B)                                                              \
        ROWS_TWO_BLOCKS(MAC_A, MAC_B)                                                              \
        "cmp     %[xp], %[xe]\n\t"                                                                 \
        "bne     1b\n\t"                                                                           \
        "strd    %[al], %[ah], [%[ap]], #8\n\t"                                                    \
        "strd    %[bl], %[bh], [%[ap]], #8\n\t"                                                    \
        "ldr     %[tw], %[skip]\n\t"                                                               \
        "add     %[xp], %[xp], %[tw]\n\t"                                                          \
        "add     %[wr], %[wr], #4\n\t"                                                             \
        "ldr     %[tw], %[aend]\n\t"                                                               \
        "cmp     %[ap], %[tw]\n\t"                                                                 \
        "bne     2b\n\t"                                                                           \
        : [al] "=&r"(al), [ah] "=&r"(ah), [bl] "=&r"(bl), [bh] "=&r"(bh), [x0] "=&r"(x0),           \
          [x1] "=&r"(x1), [tw] "=&r"(tw), [wp] "=&r"(wp), [xe] "=&r"(xe), [xp] "+r"(xp),           \
          [wr] "+r"(wr), [ap] "+r"(ap)                                                             \
        : [st] "r"(st), [len] "m"(len), [skip] "m"(skip), [aend] "m"(aend)                         \
        : "cc", "memory")

static void rows_head(int64_t *acc, const int16_t *w, const int16_t *x, uint32_t blocks, uint32_t head,
                      uint32_t k, uint32_t r0, uint32_t r1)
{
    uint32_t al, ah, bl, bh, x0, x1, tw, st = 2u * k, len = 4u * head, skip = 4u * (blocks - head);
    const unsigned char *wp, *xe, *xp = (const unsigned char *)(x + 2 * (size_t)r0 * blocks);
    const unsigned char *wr = (const unsigned char *)(w + 2 * r0);
    int64_t *ap = acc + 2 * r0, *aend = acc + 2 * r1;
    if (r0 == 0)
        ROWS_ASM("smlalbb", "smlaltt");
    else
        ROWS_ASM("smlsld ", "smlaldx");
}
#else
static inline int64_t mac_a(uint32_t w, uint32_t x, int64_t acc, int dc)
{
    return dc ? acc + (int64_t)circnn_pair_bottom(w) * circnn_pair_bottom(x) : circnn_smlsld(w, x, acc);
}

static inline int64_t mac_b(uint32_t w, uint32_t x, int64_t acc, int dc)
{
    return dc ? acc + (int64_t)circnn_pair_top(w) * circnn_pair_top(x) : circnn_smlaldx(w, x, acc);
}

static void rows_head(int64_t *acc, const int16_t *w, const int16_t *x, uint32_t blocks, uint32_t head,
                      uint32_t k, uint32_t r0, uint32_t r1)
{
    for (uint32_t r = r0; r < r1; r++) {
        const int16_t *wp = w + 2 * r, *xp = x + 2 * (size_t)r * blocks;
        int64_t a = 0, b = 0;
        for (uint32_t j = 0; j < head; j++, wp += k, xp += 2) {
            uint32_t w0 = circnn_load_pair(wp), x0 = circnn_load_pair(xp);
            a = mac_a(w0, x0, a, r == 0);
            b = mac_b(w0, x0, b, r == 0);
        }
        acc[2 * r] = a, acc[2 * r + 1] = b;
    }
}
#endif

void circnn_bc_mac_q15_dsp_words(int64_t *acc, const int16_t *w, const int16_t *x, uint32_t blocks,
                                 uint32_t k)
{
    const uint32_t head = blocks & ~3u;
    if (head) {
        rows_head(acc, w, x, blocks, head, k, 0, 1);
        if (k > 2) rows_head(acc, w, x, blocks, head, k, 1, k / 2);
    } else {
        for (uint32_t t = 0; t < k; t++) acc[t] = 0;
    }
    /* the blocks after the last multiple of four */
    for (uint32_t j = head; j < blocks; j++) {
        const int16_t *wj = w + (size_t)j * k, *xj = x + 2 * (size_t)j;
        acc[0] += (int32_t)wj[0] * xj[0];
        acc[1] += (int32_t)wj[1] * xj[1];
        for (uint32_t b = 2; b < k; b += 2) {
            uint32_t w0 = circnn_load_pair(wj + b), x0 = circnn_load_pair(xj + (size_t)b * blocks);
            acc[b] = circnn_smlsld(w0, x0, acc[b]);
            acc[b + 1] = circnn_smlaldx(w0, x0, acc[b + 1]);
        }
    }
}
