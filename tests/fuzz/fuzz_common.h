/*
 * fuzz_common.h - the structure-aware model mutator and the per-input check
 * shared by the libFuzzer harness (fuzz_model.c) and the deterministic
 * replay driver that meson runs under ASan + UBSan (fuzz_replay.c).
 *
 * fuzz_mutate changes several fields of a blob at once: shapes, kernel,
 * stride, padding, block size, layer type, layer count, format version, with values chosen
 * near the limits of circnn/model.h and shapes whose element count wraps
 * 32 bits (2048 x 2048 x 1025 and the like).  Most of the time it then
 * repairs what a real exporter would keep consistent (window output sizes,
 * the shape chain, the header's shapes, sections of the expected length,
 * the arena figure, the CRC), so that the mutants reach every check of the
 * validator, not just the first.  Nothing filters shapes before
 * validation.
 *
 * fuzz_one validates a blob and, when circnn_model_init accepts it, checks
 * what the format promises: the input, output and every layer's tensors
 * within CIRCNN_MAX_ELEMENTS, and input_count / output_count the exact
 * products of the header's shapes (computed here in 64 bits).  Then it
 * runs the model, in heap buffers of exactly the sizes the model states
 * (so AddressSanitizer sees any access past them), unless the work the
 * validated shapes imply is above a cap: the cost is bounded after
 * validation, never by refusing large shapes before it.
 */
#ifndef CIRCNN_FUZZ_COMMON_H
#define CIRCNN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circnn/circnn.h"

/* Work cap for running an accepted model (multiply-accumulates, roughly). */
#define FUZZ_MAX_WORK (1u << 18)
#define FUZZ_MAX_ARENA (1u << 24)

typedef struct {
    unsigned long inputs, accepted, large, ran, refused[32];
} fuzz_stats_t;

static fuzz_stats_t fuzz_stats;

/* -- little-endian fields ------------------------------------------------ */

static uint32_t fz_rd16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

static uint32_t fz_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void fz_wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void fz_wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t fz_next(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static uint32_t fz_below(uint32_t *s, uint32_t n) { return n ? fz_next(s) % n : 0u; }

/* Entry fields (byte offsets in a layer entry, circnn/model.h). */
enum { E_TYPE = 0, E_FLAGS = 1, E_K = 2, E_IN = 4, E_OUT = 10, E_KH = 16, E_KW = 17, E_STRIDE = 18 };

static uint8_t *fz_entry(uint8_t *b, uint32_t l) { return b + CIRCNN_HEADER_BYTES + l * CIRCNN_LAYER_ENTRY_BYTES; }

static uint64_t fz_count(const uint8_t *shape)
{
    return (uint64_t)fz_rd16(shape) * fz_rd16(shape + 2) * fz_rd16(shape + 4);
}

static int fz_is_window(uint32_t t)
{
    return t == CIRCNN_LAYER_CONV2D || t == CIRCNN_LAYER_BC_CONV2D || t == CIRCNN_LAYER_MAXPOOL2D ||
           t == CIRCNN_LAYER_AVGPOOL2D || t == CIRCNN_LAYER_DEPTHWISE_CONV2D;
}

static int fz_has_weights(uint32_t t)
{
    return t == CIRCNN_LAYER_DENSE || t == CIRCNN_LAYER_BC_DENSE || t == CIRCNN_LAYER_CONV2D ||
           t == CIRCNN_LAYER_BC_CONV2D || t == CIRCNN_LAYER_DEPTHWISE_CONV2D;
}

static int fz_circulant(uint32_t t) { return t == CIRCNN_LAYER_BC_DENSE || t == CIRCNN_LAYER_BC_CONV2D; }

/* Weight elements of a layer as the format defines them (64 bits). */
static uint64_t fz_weight_count(const uint8_t *e)
{
    const uint64_t n = fz_rd16(e + E_IN + 4), m = fz_rd16(e + E_OUT + 4), k = fz_rd16(e + E_K);
    const uint64_t taps = (uint64_t)e[E_KH] * e[E_KW];
    switch (e[E_TYPE]) {
    case CIRCNN_LAYER_DENSE: return m * n;
    case CIRCNN_LAYER_CONV2D: return taps * n * m;
    case CIRCNN_LAYER_DEPTHWISE_CONV2D: return taps * n;
    case CIRCNN_LAYER_BC_DENSE: return k ? (m + k - 1) / k * ((n + k - 1) / k) * k : 0;
    case CIRCNN_LAYER_BC_CONV2D: return k ? taps * ((m + k - 1) / k) * ((n + k - 1) / k) * k : 0;
    default: return 0;
    }
}

/* -- mutation -------------------------------------------------------------- */

static const uint32_t fz_values[] = {1,    2,    3,    4,    5,    7,    8,     9,     15,    16,    17,   28,
                                     31,   32,   33,   64,   127,  128,  255,   256,   1023,  1024,  1025, 2047,
                                     2048, 4095, 4096, 4097, 8192, 16384, 32767, 32768, 32769, 65534, 65535};

/* Shapes whose 32-bit element count wraps, or lands at a limit. */
static const uint32_t fz_shapes[][3] = {{2048, 2048, 1025}, {2, 32769, 65535}, {4096, 4096, 256},
                                        {65535, 65535, 65535}, {4096, 4096, 1}, {1, 1, 65535},
                                        {2048, 2048, 4}, {4096, 4096, 4097}, {1, 1, 32769}, {3, 3, 65535}};

static uint32_t fz_value(uint32_t *s)
{
    switch (fz_below(s, 4)) {
    case 0: return fz_below(s, 65536);
    case 1: return 1u + fz_below(s, 16);
    default: return fz_values[fz_below(s, sizeof fz_values / sizeof fz_values[0])];
    }
}

/* One field of layer l changed. */
static void fz_mutate_field(uint8_t *b, uint32_t layers, uint32_t *s)
{
    uint8_t *e = fz_entry(b, fz_below(s, layers));
    switch (fz_below(s, 11)) {
    case 0: fz_wr16(e + E_IN + 2 * fz_below(s, 3), fz_value(s)); break;
    case 1: fz_wr16(e + E_OUT + 2 * fz_below(s, 3), fz_value(s)); break;
    case 2: {
        const uint32_t *shape = fz_shapes[fz_below(s, sizeof fz_shapes / sizeof fz_shapes[0])];
        uint8_t *at = e + (fz_below(s, 2) ? E_IN : E_OUT);
        for (int i = 0; i < 3; i++) fz_wr16(at + 2 * i, shape[i]);
        break;
    }
    case 3: e[E_KH + fz_below(s, 2)] = (uint8_t)fz_value(s); break;
    case 4: e[E_STRIDE] = (uint8_t)fz_value(s); break;
    case 5: fz_wr16(e + E_K, fz_below(s, 2) ? 1u << fz_below(s, 12) : fz_value(s)); break;
    case 6: e[E_FLAGS] = (uint8_t)(e[E_FLAGS] ^ (1u << fz_below(s, 3))); break;
    case 7: /* every type, and one past the newest */
        e[E_TYPE] = (uint8_t)(1u + fz_below(s, CIRCNN_LAYER_DEPTHWISE_CONV2D + 1u));
        break;
    case 10: /* the format version: the oldest, the newest, one either side */
        fz_wr16(b + 4, CIRCNN_FORMAT_VERSION - 1u + fz_below(s, CIRCNN_FORMAT_VERSION_NEWEST - CIRCNN_FORMAT_VERSION + 3u));
        break;
    case 8: /* the same channel count in and out */
        fz_wr16(e + E_OUT + 4, fz_rd16(e + E_IN + 4));
        break;
    default: /* height and width together */
    {
        uint32_t v = fz_value(s);
        fz_wr16(e + E_IN, v);
        fz_wr16(e + E_IN + 2, v);
        break;
    }
    }
}

/* The output shape a layer's kind implies for its input, where it can be
 * written in 16 bits; fields of other kinds cleared. */
static void fz_repair_layer(uint8_t *e, uint32_t dtype)
{
    const uint32_t t = e[E_TYPE];
    uint32_t in[3], out[3];
    for (int i = 0; i < 3; i++) {
        in[i] = fz_rd16(e + E_IN + 2 * i);
        out[i] = fz_rd16(e + E_OUT + 2 * i);
    }
    if (!fz_circulant(t)) fz_wr16(e + E_K, 0);
    /* 8-bit weights (flag bit 2): q15 layers with weights */
    const uint32_t weight8 = fz_has_weights(t) && dtype == CIRCNN_DTYPE_Q15 ? 4u : 0u;
    if (fz_is_window(t)) {
        for (int i = E_KH; i <= E_STRIDE; i++)
            if (e[i] == 0) e[i] = 1;
        const uint32_t same = (e[E_FLAGS] & 2u) != 0, st = e[E_STRIDE];
        for (int a = 0; a < 2; a++) {
            const uint32_t k = e[E_KH + a];
            if (same)
                out[a] = (in[a] + st - 1u) / st;
            else if (k <= in[a])
                out[a] = (in[a] - k) / st + 1u;
        }
        if (t == CIRCNN_LAYER_MAXPOOL2D || t == CIRCNN_LAYER_AVGPOOL2D || t == CIRCNN_LAYER_DEPTHWISE_CONV2D)
            out[2] = in[2];
        e[E_FLAGS] &= (fz_has_weights(t) ? 3u : 2u) | weight8;
    } else {
        e[E_KH] = e[E_KW] = e[E_STRIDE] = 0;
        e[E_FLAGS] &= (fz_has_weights(t) ? 1u : 0u) | weight8;
        if (t == CIRCNN_LAYER_RELU) {
            memcpy(out, in, sizeof out);
        } else {
            out[0] = out[1] = 1;
            if (t == CIRCNN_LAYER_FLATTEN) {
                const uint64_t c = (uint64_t)in[0] * in[1] * in[2];
                if (c <= 65535u) out[2] = (uint32_t)c;
            } else if (t == CIRCNN_LAYER_SOFTMAX) {
                out[2] = in[2];
            } else if (t == CIRCNN_LAYER_ARGMAX) {
                out[2] = 1;
            }
        }
    }
    if (dtype == CIRCNN_DTYPE_F32) {
        memset(e + 19, 0, 9);   /* output frac, weight and scale exponents */
    }
    for (int i = 0; i < 3; i++) fz_wr16(e + E_OUT + 2 * i, out[i]);
}

/*
 * Lay the sections out again after the table, each of the length the
 * layer's shape asks for (old contents kept where they were, the rest
 * filled), when the blob fits cap bytes; returns the new total, or 0.
 */
static uint32_t fz_relayout(uint8_t *b, uint32_t total, uint32_t cap, uint32_t *s)
{
    const uint32_t layers = fz_rd16(b + 18), es = b[16] == CIRCNN_DTYPE_F32 ? 4u : 2u;
    uint64_t want[CIRCNN_MAX_LAYERS][3];
    uint64_t end = CIRCNN_HEADER_BYTES + (uint64_t)layers * CIRCNN_LAYER_ENTRY_BYTES;
    for (uint32_t l = 0; l < layers; l++) {
        const uint8_t *e = fz_entry(b, l);
        const uint32_t t = e[E_TYPE], m = fz_rd16(e + E_OUT + 4);
        want[l][0] = fz_has_weights(t) ? fz_weight_count(e) * (e[E_FLAGS] & 4u ? 1u : es) : 0u;
        want[l][1] = fz_has_weights(t) && (fz_rd32(e + 40) != 0 || fz_below(s, 4) == 0) ? m * 4u : 0u;
        want[l][2] = t == CIRCNN_LAYER_BC_CONV2D && (fz_rd32(e + 48) != 0 || fz_below(s, 4) == 0) ? m * es : 0u;
        for (int i = 0; i < 3; i++)
            if (want[l][i]) end = ((end + 15u) & ~(uint64_t)15u) + want[l][i];
    }
    if (end > cap) return 0;
    uint8_t *old = (uint8_t *)malloc(total ? total : 1u);
    if (!old) return 0;
    memcpy(old, b, total);
    uint32_t pos = CIRCNN_HEADER_BYTES + layers * CIRCNN_LAYER_ENTRY_BYTES;
    for (uint32_t l = 0; l < layers; l++) {
        uint8_t *e = fz_entry(b, l);
        for (int i = 0; i < 3; i++) {
            const uint32_t was_off = fz_rd32(e + 28 + 8 * i), was_bytes = fz_rd32(e + 32 + 8 * i);
            const uint32_t bytes = (uint32_t)want[l][i];
            if (bytes == 0) {
                fz_wr32(e + 28 + 8 * i, 0);
                fz_wr32(e + 32 + 8 * i, 0);
                continue;
            }
            pos = (pos + 15u) & ~15u;
            uint32_t kept = 0;
            if (was_off <= total && was_bytes <= total - was_off) kept = was_bytes < bytes ? was_bytes : bytes;
            memcpy(b + pos, old + was_off, kept);
            /* the rest: f32 values in [-1, 1); q15 int16 (weights, scales)
             * or int32 biases of 17 random bits */
            const uint32_t step = b[16] == CIRCNN_DTYPE_F32 || i == 1 ? 4u : (i == 0 && (e[E_FLAGS] & 4u)) ? 1u : 2u;
            for (uint32_t j = kept - kept % step; j + step <= bytes; j += step) {
                const uint32_t r = fz_next(s);
                if (b[16] == CIRCNN_DTYPE_F32) {
                    float f = (float)((int32_t)(r >> 8) - (1 << 23)) / (float)(1 << 23);
                    memcpy(b + pos + j, &f, 4);
                } else {
                    b[pos + j] = (uint8_t)r;
                    if (step == 1) continue;
                    b[pos + j + 1] = (uint8_t)(r >> 8);
                    if (step == 4) b[pos + j + 2] = b[pos + j + 3] = (uint8_t)((r >> 15) & 1u ? 0xFF : 0);
                }
            }
            fz_wr32(e + 28 + 8 * i, pos);
            fz_wr32(e + 32 + 8 * i, bytes);
            pos += bytes;
        }
    }
    free(old);
    return pos;
}

/* The format version from which buffers A and B are sized apart. */
#define FZ_ARENA_VERSION 5u

/* The arena a blob's layers need, from the layout circnn/model.h states
 * for the blob's format version (64 bits; the scratch sizes from the
 * layers' own functions, asked only for block sizes those accept):
 * act[0] / act[1], the largest output of the even / odd layers before the
 * last (buffers A and B). */
static uint64_t fz_arena(const uint8_t *b)
{
    const uint32_t layers = fz_rd16(b + 18), es = b[16] == CIRCNN_DTYPE_F32 ? 4u : 2u;
    uint64_t act[2] = {0, 0}, scratch = 0;
    for (uint32_t l = 0; l < layers; l++) {
        const uint8_t *e = fz_entry((uint8_t *)(uintptr_t)b, l);
        const uint32_t t = e[E_TYPE], k = fz_rd16(e + E_K);
        if (l + 1 < layers && fz_count(e + E_OUT) * es > act[l % 2u]) act[l % 2u] = fz_count(e + E_OUT) * es;
        size_t bytes = 0;   /* the kernel's scratch: none for the dense kinds */
        if (fz_circulant(t) && circnn_fft_check(k) != CIRCNN_OK) continue;
        if (t == CIRCNN_LAYER_BC_DENSE) {
            const uint32_t n = fz_rd16(e + E_IN + 4), m = fz_rd16(e + E_OUT + 4);
            bytes = b[16] == CIRCNN_DTYPE_F32 ? circnn_bc_dense_f32_scratch_bytes(n, m, k)
                                              : circnn_bc_dense_q15_scratch_bytes(n, m, k);
        } else if (t == CIRCNN_LAYER_BC_CONV2D) {
            circnn_window_t g;
            memset(&g, 0, sizeof g);
            g.in_h = (uint16_t)fz_rd16(e + E_IN);
            g.in_w = (uint16_t)fz_rd16(e + E_IN + 2);
            g.in_c = (uint16_t)fz_rd16(e + E_IN + 4);
            g.out_c = (uint16_t)fz_rd16(e + E_OUT + 4);
            g.kernel_h = e[E_KH];
            g.kernel_w = e[E_KW];
            g.stride = e[E_STRIDE];
            if (circnn_window_geometry(&g, (e[E_FLAGS] & 2u) ? CIRCNN_PAD_SAME : CIRCNN_PAD_VALID) != CIRCNN_OK ||
                circnn_bc_conv2d_check(&g, k) != CIRCNN_OK)
                continue;
            bytes = b[16] == CIRCNN_DTYPE_F32 ? circnn_bc_conv2d_f32_scratch_bytes(&g, k)
                                              : circnn_bc_conv2d_q15_scratch_bytes(&g, k);
            /* format 8, after the first layer, in_c a multiple of k: the spectra overwrite the input */
            if (bytes != SIZE_MAX && fz_rd16(b + 4) >= 8u && l > 0u && g.in_c % k == 0u)
                bytes -= (((size_t)g.in_h * g.in_w * g.in_c * es) + 7u) & ~(size_t)7u;
        }
        /* 8-bit weights: their int16 copy first (2 bytes a weight, rounded up to 16; format 7 on, a dense
         * layer of more than 4 outputs: 4 of its rows) */
        uint64_t copy = fz_weight_count(e);
        if (t == CIRCNN_LAYER_DENSE && fz_rd16(b + 4) >= 7u && fz_rd16(e + E_OUT + 4) > 4u)
            copy = 4u * (uint64_t)fz_rd16(e + E_IN + 4);
        uint64_t all = (e[E_FLAGS] & 4u) && bytes <= 0xFFFF0000u ? ((2u * copy + 15u) & ~(uint64_t)15u) + bytes : bytes;
        /* a fused 2x2 max pool (format 7): the band of two convolution rows, 2 x 2 pooled width */
        if ((e[E_FLAGS] & 16u) && all <= 0xFFFF0000u)
            all += (4u * (uint64_t)fz_rd16(e + E_OUT + 2) * fz_rd16(e + E_OUT + 4) * es + 15u) & ~(uint64_t)15u;
        if (all > scratch) scratch = all;
    }
    const uint64_t a = (act[0] + 15u) & ~(uint64_t)15u, bb = (act[1] + 15u) & ~(uint64_t)15u;
    /* format versions 1 to 4: both buffers as large as the largest tensor */
    const uint64_t buffers = fz_rd16(b + 4) >= FZ_ARENA_VERSION ? a + bb : (layers > 2u ? 2u : 1u) * (a > bb ? a : bb);
    return buffers + ((scratch + 15u) & ~(uint64_t)15u);
}

/* Whether the arena layouts of format 5 and of the versions before differ
 * (the exporter then writes version 5). */
static int fz_parity_arena_differs(uint8_t *b)
{
    const uint32_t layers = fz_rd16(b + 18), es = b[16] == CIRCNN_DTYPE_F32 ? 4u : 2u;
    uint64_t act[2] = {0, 0};
    for (uint32_t l = 0; l + 1 < layers; l++) {
        const uint64_t bytes = (fz_count(fz_entry(b, l) + E_OUT) * es + 15u) & ~(uint64_t)15u;
        if (bytes > act[l % 2u]) act[l % 2u] = bytes;
    }
    return layers > 2u && act[0] != act[1];
}

static void fz_seal(uint8_t *b, uint32_t total)
{
    fz_wr32(b + 8, total);
    fz_wr32(b + 12, circnn_crc32(b + 16, total - 16u));
}

/*
 * Mutate the blob b (size bytes, cap bytes of room) in place; returns the
 * new size.  Several fields at once, then (each most of the time) the
 * repairs described at the top.
 */
static size_t fuzz_mutate(uint8_t *b, size_t size, size_t cap, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1u;
    if (cap > 0xFFFFFFF0u) cap = 0xFFFFFFF0u;
    if (size < CIRCNN_HEADER_BYTES || cap < CIRCNN_HEADER_BYTES + CIRCNN_LAYER_ENTRY_BYTES) {
        if (size) b[fz_below(&s, (uint32_t)size)] ^= (uint8_t)(1u << fz_below(&s, 8));
        return size;
    }
    uint32_t total = fz_rd32(b + 8);
    if (total < CIRCNN_HEADER_BYTES || total > size) total = (uint32_t)size;
    uint32_t layers = fz_rd16(b + 18);
    const uint32_t dtype = b[16];
    if (layers == 0 || layers > CIRCNN_MAX_LAYERS || CIRCNN_HEADER_BYTES + layers * CIRCNN_LAYER_ENTRY_BYTES > total) {
        b[fz_below(&s, total)] ^= (uint8_t)(1u << fz_below(&s, 8));
        return size;
    }
    /* the layer count: drop the last layer, or repeat one at the end (its
     * sections follow the table, which then moves: they are laid out again) */
    if (fz_below(&s, 8) == 0) {
        if (layers > 1 && fz_below(&s, 2)) {
            layers--;
        } else if (layers < CIRCNN_MAX_LAYERS &&
                   CIRCNN_HEADER_BYTES + (layers + 1u) * CIRCNN_LAYER_ENTRY_BYTES <= total) {
            memcpy(fz_entry(b, layers), fz_entry(b, fz_below(&s, layers)), CIRCNN_LAYER_ENTRY_BYTES);
            layers++;
        }
        fz_wr16(b + 18, layers);
    }
    if (fz_below(&s, 8) == 0) {   /* keep layers [first, first + count) only */
        const uint32_t first = fz_below(&s, layers), count = 1u + fz_below(&s, layers - first);
        memmove(fz_entry(b, 0), fz_entry(b, first), (size_t)count * CIRCNN_LAYER_ENTRY_BYTES);
        layers = count;
        fz_wr16(b + 18, layers);
    }
    const uint32_t changes = 1u + fz_below(&s, 4);
    for (uint32_t i = 0; i < changes; i++) fz_mutate_field(b, layers, &s);

    if (fz_below(&s, 8) != 0) {   /* consistent layers and a consistent chain */
        for (uint32_t l = 0; l < layers; l++) {
            uint8_t *e = fz_entry(b, l);
            if (l > 0 && fz_below(&s, 16) != 0) memcpy(e + E_IN, fz_entry(b, l - 1) + E_OUT, 6);
            if (fz_below(&s, 16) != 0) fz_repair_layer(e, dtype);
        }
        memcpy(b + 24, fz_entry(b, 0) + E_IN, 6);
        memcpy(b + 30, fz_entry(b, layers - 1) + E_OUT, 6);
        /* the oldest version that holds the layer types and flags (as the exporter writes) */
        uint32_t version = CIRCNN_FORMAT_VERSION;
        for (uint32_t l = 0; l < layers; l++)
            if (fz_entry(b, l)[E_TYPE] == CIRCNN_LAYER_DEPTHWISE_CONV2D && version < 2u) version = 2;
        for (uint32_t l = 0; l < layers; l++) {   /* 8-bit weights: 3 for circulant layers, 4 for the others */
            const uint8_t *e = fz_entry(b, l);
            if ((e[E_FLAGS] & 4u) && version < (fz_circulant(e[E_TYPE]) ? 3u : 4u))
                version = fz_circulant(e[E_TYPE]) ? 3u : 4u;
        }
        if (fz_parity_arena_differs(b)) version = FZ_ARENA_VERSION;
        fz_wr16(b + 4, version);
    }
    if (fz_below(&s, 8) != 0) {
        uint32_t t = fz_relayout(b, total, (uint32_t)cap, &s);
        if (t) total = t;
    }
    if (fz_below(&s, 8) != 0) {   /* the arena figure of the layout */
        const uint64_t arena = fz_arena(b);
        if (arena <= 0xFFFFFFFFu) fz_wr32(b + 20, (uint32_t)arena);
    }
    fz_seal(b, total);
    return total;
}

/* -- checking and running -------------------------------------------------- */

#define FUZZ_REQUIRE(cond, ...)                                                                            \
    do {                                                                                                    \
        if (!(cond)) {                                                                                      \
            fprintf(stderr, "fuzz: accepted blob breaks the format's promise: " __VA_ARGS__);               \
            fprintf(stderr, "\n");                                                                          \
            abort();                                                                                        \
        }                                                                                                   \
    } while (0)

/* Work the accepted model's layers imply (64 bits, saturating at 2^62). */
static uint64_t fz_work(const uint8_t *b, uint32_t layers)
{
    uint64_t work = 0;
    for (uint32_t l = 0; l < layers && work < ((uint64_t)1 << 62); l++) {
        const uint8_t *e = fz_entry((uint8_t *)(uintptr_t)b, l);
        uint64_t taps = e[E_KH] ? (uint64_t)e[E_KH] * e[E_KW] : 1u;
        uint64_t per = taps * fz_rd16(e + E_IN + 4) + fz_rd16(e + E_K) * 16u;
        work += fz_count(e + E_OUT) * per + fz_count(e + E_IN);
    }
    return work;
}

/* Validate data; when accepted, check the promises and run within the cap. */
static void fuzz_one(const uint8_t *data, size_t size)
{
    fuzz_stats.inputs++;
    uint8_t *blob = (uint8_t *)malloc(size ? size : 1u);   /* exactly size bytes, malloc-aligned */
    if (!blob) return;
    memcpy(blob, data, size);
    circnn_model_t m;
    circnn_status_t s = circnn_model_init(&m, blob, size, NULL, 0);
    if (s != CIRCNN_OK && s != CIRCNN_ERR_ARENA) {
        fuzz_stats.refused[(unsigned)s & 31u]++;
        free(blob);
        return;
    }
    fuzz_stats.accepted++;
    FUZZ_REQUIRE(m.total_bytes <= size && m.layer_count >= 1 && m.layer_count <= CIRCNN_MAX_LAYERS, "header");
    const uint64_t in_count = fz_count(blob + 24), out_count = fz_count(blob + 30);
    FUZZ_REQUIRE(in_count == m.input_count && out_count == m.output_count,
                 "input/output shapes of %llu/%llu elements, counts %u/%u", (unsigned long long)in_count,
                 (unsigned long long)out_count, m.input_count, m.output_count);
    int large = 0;
    for (uint32_t l = 0; l < m.layer_count; l++) {
        const uint8_t *e = fz_entry(blob, l);
        large |= fz_count(e + E_IN) > 65536u || fz_count(e + E_OUT) > 65536u;
        FUZZ_REQUIRE(fz_count(e + E_IN) <= CIRCNN_MAX_ELEMENTS && fz_count(e + E_OUT) <= CIRCNN_MAX_ELEMENTS,
                     "layer %u of %llu -> %llu elements", l, (unsigned long long)fz_count(e + E_IN),
                     (unsigned long long)fz_count(e + E_OUT));
    }
    fuzz_stats.large += (unsigned long)large;
    FUZZ_REQUIRE(m.arena_bytes == fz_arena(blob), "arena of %u bytes, the layout says %llu", m.arena_bytes,
                 (unsigned long long)fz_arena(blob));
    if (m.arena_bytes <= FUZZ_MAX_ARENA && fz_work(blob, m.layer_count) <= FUZZ_MAX_WORK) {
        const size_t es = m.dtype == CIRCNN_DTYPE_F32 ? 4u : 2u;
        void *arena = malloc(m.arena_bytes ? m.arena_bytes : 1u);
        uint8_t *x = (uint8_t *)malloc(m.input_count * es), *y = (uint8_t *)malloc(m.output_count * es);
        if (arena && x && y) {
            s = circnn_model_init(&m, blob, size, arena, m.arena_bytes);
            FUZZ_REQUIRE(s == CIRCNN_OK, "refused with an arena of the size it asked for: %s",
                         circnn_status_string(s));
            uint32_t r = (uint32_t)size;
            for (uint32_t i = 0; i < m.input_count; i++) {
                if (m.dtype == CIRCNN_DTYPE_F32) {
                    float f = (float)((int32_t)(fz_next(&r) >> 16) - 32768) / 4096.0f;
                    memcpy(x + 4 * i, &f, 4);
                } else {
                    const uint32_t v = fz_next(&r);
                    x[2 * i] = (uint8_t)v;
                    x[2 * i + 1] = (uint8_t)(v >> 8);
                }
            }
            circnn_model_run(&m, x, y, arena);
            fuzz_stats.ran++;
        }
        free(y);
        free(x);
        free(arena);
    }
    free(blob);
}

#endif /* CIRCNN_FUZZ_COMMON_H */
