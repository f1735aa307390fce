/* Running a validated model: one layer after another through the arena
 * (contract: circnn/model.h).  circnn_model_init checked every field used
 * here, so nothing is checked again; in particular every tensor holds at
 * most CIRCNN_MAX_ELEMENTS elements, so the 32-bit counts below are exact.
 * The dispatch holds only the types and kinds circnn/config.h compiles in:
 * init refused a model that needs another, and the linker drops the
 * kernels no case calls. */
#include <string.h>

#include "circnn/bc_conv2d.h"
#include "circnn/bc_dense.h"
#include "circnn/layers.h"
#include "circnn/model.h"
#include "bc_conv2d_common.h"
#include "dsp_q15.h"
#include "model_format.h"

/* Per-layer instrumentation: empty here.  The firmware runner compiles this
 * file a second time with its own definitions (targets/firmware/
 * layer_hooks.h) to count instructions per layer; the library never does. */
#ifndef CIRCNN_LAYER_BEGIN
#define CIRCNN_LAYER_BEGIN(index) ((void)0)
#define CIRCNN_LAYER_END(index) ((void)0)
#endif

static const void *section(const circnn_model_t *m, uint32_t off, uint32_t bytes)
{
    return bytes ? (const void *)(m->blob + off) : NULL;
}

#if CIRCNN_WITH_F32
static void run_f32(const circnn_model_t *m, const entry_t *e, const float *w, const circnn_window_t *g,
                    const float *x, float *y, void *scratch)
{
    const float *bias = (const float *)section(m, e->bias_off, e->bias_bytes);
    uint32_t relu = e->flags & FLAG_RELU;
    uint32_t count = e->in[0] * e->in[1] * e->in[2];
    (void)w, (void)bias, (void)relu, (void)count, (void)scratch, (void)g;   /* when config.h leaves no kind reading them */
    switch (e->type) {
#if CIRCNN_WITH_DENSE
    case CIRCNN_LAYER_DENSE: {
        circnn_dense_f32_t l = {e->in[2], e->out[2], relu, w, bias};
        circnn_dense_f32(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_BC_DENSE
    case CIRCNN_LAYER_BC_DENSE: {
        circnn_bc_dense_f32_t l = {e->in[2], e->out[2], e->block_size, relu, w, bias};
        circnn_bc_dense_f32(&l, x, y, scratch);
        break;
    }
#endif
#if CIRCNN_WITH_CONV2D
    case CIRCNN_LAYER_CONV2D: {
        circnn_conv2d_f32_t l = {*g, relu, w, bias};
        circnn_conv2d_f32(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_DEPTHWISE_CONV2D
    case CIRCNN_LAYER_DEPTHWISE_CONV2D: {
        circnn_depthwise_conv2d_f32_t l = {*g, relu, w, bias};
        circnn_depthwise_conv2d_f32(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_RELU
    case CIRCNN_LAYER_RELU: circnn_relu_f32(x, y, count); break;
#endif
#if CIRCNN_WITH_MAXPOOL2D
    case CIRCNN_LAYER_MAXPOOL2D: {
        circnn_maxpool2d_f32(g, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_AVGPOOL2D
    case CIRCNN_LAYER_AVGPOOL2D: {
        circnn_avgpool2d_f32(g, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_FLATTEN
    case CIRCNN_LAYER_FLATTEN: memcpy(y, x, (size_t)count * sizeof(float)); break;
#endif
#if CIRCNN_WITH_SOFTMAX
    case CIRCNN_LAYER_SOFTMAX: circnn_softmax_f32(x, y, count); break;
#endif
#if CIRCNN_WITH_ARGMAX
    case CIRCNN_LAYER_ARGMAX: y[0] = (float)circnn_argmax_f32(x, count); break;
#endif
    default: break;   /* not reached: circnn_model_init refused every other type */
    }
}
#endif /* CIRCNN_WITH_F32 */

#if CIRCNN_WITH_Q15
#if CIRCNN_WITH_WEIGHT8
/* 8-bit weights (FLAG_WEIGHT8): w16 = w8 * 256, the int16 weights the
 * kernels read, written to `to`; four at a time (the section is 16-byte
 * aligned in a 4-byte aligned blob, `to` 8-byte aligned at the scratch's
 * start; circnn_model_init checked all three and that the machine is
 * little-endian): byte b of a weight becomes the high byte of
 * its int16, whose low byte is 0. */
static const int16_t *expand_weight8(const uint8_t *from, uint32_t count, int16_t *to)
{
#if defined(__GNUC__)   /* the word copies below are then single loads and stores, also on ARMv6-M */
    from = (const uint8_t *)__builtin_assume_aligned(from, 4);
    to = (int16_t *)__builtin_assume_aligned(to, 8);
#endif
    uint32_t i = 0;
    for (; i + 4u <= count; i += 4u) {
        uint32_t u, lo, hi;
        memcpy(&u, from + i, 4);
        /* bytes 0 and 2 to the high bytes of their halfwords (bytes 1 and 3
         * are there), then the halfwords paired: PKHBT and PKHTB with the
         * DSP extension, where the widening takes 10 instructions for 4
         * weights instead of 15 */
        const uint32_t even = (u << 8) & 0xFF00FF00u, odd = u & 0xFF00FF00u;
        lo = circnn_pair((int32_t)even, (int32_t)odd);
        hi = circnn_pair_tops(even, odd);
        memcpy(to + i, &lo, 4);
        memcpy(to + i + 2u, &hi, 4);
    }
    for (; i < count; i++) to[i] = (int16_t)((int32_t)(int8_t)from[i] * 256);
    return to;
}
#endif

/* w: the layer's int16 weights (widened already from 8 bits). */
static void run_q15(const circnn_model_t *m, const entry_t *e, const int16_t *w, const circnn_window_t *g,
                    const int16_t *x, int16_t *y, void *scratch)
{
    const int32_t *bias = (const int32_t *)section(m, e->bias_off, e->bias_bytes);
    uint32_t relu = e->flags & FLAG_RELU;
    uint32_t count = e->in[0] * e->in[1] * e->in[2];
    (void)w, (void)bias, (void)relu, (void)count, (void)scratch, (void)g;   /* when config.h leaves no kind reading them */
    switch (e->type) {
#if CIRCNN_WITH_DENSE
    case CIRCNN_LAYER_DENSE: {
#if CIRCNN_WITH_WEIGHT8
        if (e->flags & FLAG_WEIGHT8) {   /* a few rows widened at a time, the same sums */
            const uint32_t n = e->in[2];
            for (uint32_t o = 0; o < e->out[2]; o += DENSE8_ROWS) {
                const uint32_t rows = e->out[2] - o < DENSE8_ROWS ? e->out[2] - o : DENSE8_ROWS;
                circnn_dense_q15_t l = {n, rows, relu,
                                        expand_weight8(m->blob + e->weight_off + (size_t)o * n, rows * n,
                                                       (int16_t *)scratch),
                                        e->weight_exp, bias ? bias + o : NULL};
                circnn_dense_q15(&l, x, y + o);
            }
            break;
        }
#endif
        circnn_dense_q15_t l = {e->in[2], e->out[2], relu, w, e->weight_exp, bias};
        circnn_dense_q15(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_BC_DENSE
    case CIRCNN_LAYER_BC_DENSE: {
        circnn_bc_dense_q15_t l = {e->in[2], e->out[2], e->block_size, relu, w, e->weight_exp, bias};
        circnn_bc_dense_q15(&l, x, y, scratch);
        break;
    }
#endif
#if CIRCNN_WITH_CONV2D
    case CIRCNN_LAYER_CONV2D: {
        circnn_conv2d_q15_t l = {*g, relu, w, e->weight_exp, bias};
        if (e->flags & FLAG_OHWI)
            circnn_conv2d_q15_ohwi(&l, x, y);
        else
            circnn_conv2d_q15(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_DEPTHWISE_CONV2D
    case CIRCNN_LAYER_DEPTHWISE_CONV2D: {
        circnn_depthwise_conv2d_q15_t l = {*g, relu, w, e->weight_exp, bias};
        circnn_depthwise_conv2d_q15(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_RELU
    case CIRCNN_LAYER_RELU: circnn_relu_q15(x, y, count); break;
#endif
#if CIRCNN_WITH_MAXPOOL2D
    case CIRCNN_LAYER_MAXPOOL2D: {
        circnn_maxpool2d_q15(g, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_AVGPOOL2D
    case CIRCNN_LAYER_AVGPOOL2D: {
        circnn_avgpool2d_q15(g, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_FLATTEN
    case CIRCNN_LAYER_FLATTEN: memcpy(y, x, (size_t)count * sizeof(int16_t)); break;
#endif
#if CIRCNN_WITH_ARGMAX
    case CIRCNN_LAYER_ARGMAX: y[0] = (int16_t)circnn_argmax_q15(x, count); break;
#endif
    default: break;   /* not reached (and no q15 softmax) */
    }
}

#endif /* CIRCNN_WITH_Q15 */

/* One layer on window g (the layer's own, or a band of it) from x to y. */
static void run_layer(const circnn_model_t *m, const entry_t *e, const void *w, const circnn_window_t *g,
                      const void *x, void *y, void *scratch)
{
#if CIRCNN_WITH_F32 && CIRCNN_WITH_Q15
    if (m->dtype == CIRCNN_DTYPE_F32)
        run_f32(m, e, (const float *)w, g, (const float *)x, (float *)y, scratch);
    else
        run_q15(m, e, (const int16_t *)w, g, (const int16_t *)x, (int16_t *)y, scratch);
#elif CIRCNN_WITH_F32
    run_f32(m, e, (const float *)w, g, (const float *)x, (float *)y, scratch);
#else
    run_q15(m, e, (const int16_t *)w, g, (const int16_t *)x, (int16_t *)y, scratch);
#endif
}

#if CIRCNN_WITH_POOL2
/* A convolution with its 2x2 max pool fused (FLAG_POOL2): two output rows
 * at a time into the band at the scratch's start, the kernel's scratch
 * after it, then the pool of the band into one output row.  The whole
 * convolution's output is never stored; the same values as the two layers.
 * (The block-circulant one: run_bc.) */
static void run_pooled(const circnn_model_t *m, const entry_t *e, const void *w, const circnn_window_t *g,
                       const void *x, void *y, void *scratch)
{
    const uint32_t es = m->dtype == CIRCNN_DTYPE_F32 ? 4u : 2u;
    const size_t in_row = (size_t)g->in_w * g->in_c * es, out_row = (size_t)e->out[1] * e->out[2] * es;
    const circnn_window_t pool = circnn_pool2_window(e->out[1], e->out[2]);
    unsigned char *band = (unsigned char *)scratch;
    void *rest = band + (size_t)band_bytes(e, es);
    for (uint32_t r = 0; r < e->out[0]; r++) {
        uint32_t first;
        const circnn_window_t b = pool_band(g, e->out[1], r, &first);
        run_layer(m, e, w, &b, (const unsigned char *)x + first * in_row, band, rest);
        unsigned char *to = (unsigned char *)y + r * out_row;
#if CIRCNN_WITH_F32 && CIRCNN_WITH_Q15
        if (es == 4u)
            circnn_maxpool2x2_f32(&pool, (const float *)(const void *)band, (float *)(void *)to);
        else
            circnn_maxpool2x2_q15(&pool, (const int16_t *)(const void *)band, (int16_t *)(void *)to);
#elif CIRCNN_WITH_F32
        circnn_maxpool2x2_f32(&pool, (const float *)(const void *)band, (float *)(void *)to);
#else
        circnn_maxpool2x2_q15(&pool, (const int16_t *)(const void *)band, (int16_t *)(void *)to);
#endif
    }
}
#endif

#if CIRCNN_WITH_BC_CONV2D
/* A block-circulant convolution: with its fused pool (the band first in the
 * scratch) or not, its spectra over its input (over: x itself, blob format
 * 8; spectra_over_input) or in the scratch (over NULL).  With a pool the kernel bands its
 * own output (bc_conv2d.h): it transforms the whole input once, and its q15
 * spectra share one exponent over the whole input, which a band of input
 * rows would change. */
static void run_bc(const circnn_model_t *m, const entry_t *e, const void *w, const circnn_window_t *g,
                   const void *x, void *over, void *y, void *scratch)
{
    const void *scale = section(m, e->scale_off, e->scale_bytes), *bias = section(m, e->bias_off, e->bias_bytes);
    void *band = NULL;
    (void)w, (void)g, (void)x, (void)over, (void)y, (void)scale, (void)bias;
#if CIRCNN_WITH_POOL2
    if (e->flags & FLAG_POOL2) {
        band = scratch;
        scratch = (unsigned char *)scratch + (size_t)band_bytes(e, m->dtype == CIRCNN_DTYPE_F32 ? 4u : 2u);
    }
#endif
#if CIRCNN_WITH_F32
    if (m->dtype == CIRCNN_DTYPE_F32) {
        circnn_bc_conv2d_f32_t l = {*g, e->block_size, e->flags & FLAG_RELU, (const float *)w, (const float *)bias,
                                    (const float *)scale};
        circnn_bc_conv2d_f32_model(&l, (const float *)x, (float *)over, (float *)y, (float *)band, scratch);
        return;
    }
#endif
#if CIRCNN_WITH_Q15
    circnn_bc_conv2d_q15_t l = {*g, e->block_size, e->flags & FLAG_RELU, (const int16_t *)w, e->weight_exp,
                                (const int32_t *)bias, (const int16_t *)scale, e->scale_exp};
    circnn_bc_conv2d_q15_model(&l, (const int16_t *)x, (int16_t *)over, (int16_t *)y, (int16_t *)band, scratch);
#endif
}
#endif

void circnn_model_run(const circnn_model_t *m, const void *input, void *output, void *arena)
{
    unsigned char *base = (unsigned char *)arena;
    const uint32_t version = rd16(m->blob + 4);
    (void)version;   /* when config.h leaves out the block-circulant convolution */
    const void *x = input;
    for (uint32_t l = 0; l < m->layer_count; l++) {
        entry_t e;
        read_entry(m->blob + CIRCNN_HEADER_BYTES + l * CIRCNN_LAYER_ENTRY_BYTES, &e);
        void *y = (l + 1 == m->layer_count) ? output : base + (l % 2u ? m->b_offset : 0u);
        void *scratch = base + m->scratch_offset;
        const void *w = section(m, e.weight_off, e.weight_bytes);
        circnn_window_t g;
        memset(&g, 0, sizeof g);
        if (e.kernel_h != 0) g = window_of(&e);   /* window layers: the only ones with a kernel */
        CIRCNN_LAYER_BEGIN(l);
#if CIRCNN_WITH_Q15 && CIRCNN_WITH_WEIGHT8
        /* the int16 weights first, the rest of the scratch after them (dense: in run_q15) */
        if ((e.flags & FLAG_WEIGHT8) && e.type != CIRCNN_LAYER_DENSE) {
            w = expand_weight8(m->blob + e.weight_off, e.weight_bytes, (int16_t *)scratch);
            scratch = (unsigned char *)scratch + (size_t)weight8_expanded_bytes(&e, CIRCNN_FORMAT_VERSION_NEWEST);
        }
#endif
#if CIRCNN_WITH_BC_CONV2D
        if (e.type == CIRCNN_LAYER_BC_CONV2D) {   /* over its input: l > 0, x is the buffer of layer l - 1 */
            void *over = spectra_over_input(&e, l, version) ? base + ((l - 1u) % 2u ? m->b_offset : 0u) : NULL;
            run_bc(m, &e, w, &g, x, over, y, scratch);
        } else
#endif
#if CIRCNN_WITH_POOL2
        if (e.flags & FLAG_POOL2)
            run_pooled(m, &e, w, &g, x, y, scratch);
        else
#endif
            run_layer(m, &e, w, &g, x, y, scratch);
        CIRCNN_LAYER_END(l);
        x = y;
    }
}
