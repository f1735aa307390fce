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
static void run_f32(const circnn_model_t *m, const entry_t *e, const float *x, float *y, void *scratch)
{
    const float *w = (const float *)section(m, e->weight_off, e->weight_bytes);
    const float *bias = (const float *)section(m, e->bias_off, e->bias_bytes);
    uint32_t relu = e->flags & FLAG_RELU;
    uint32_t count = e->in[0] * e->in[1] * e->in[2];
    (void)w, (void)bias, (void)relu, (void)count, (void)scratch;   /* when config.h leaves no kind reading them */
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
        circnn_conv2d_f32_t l = {window_of(e), relu, w, bias};
        circnn_conv2d_f32(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_BC_CONV2D
    case CIRCNN_LAYER_BC_CONV2D: {
        circnn_bc_conv2d_f32_t l = {window_of(e), e->block_size, relu, w, bias,
                                    (const float *)section(m, e->scale_off, e->scale_bytes)};
        circnn_bc_conv2d_f32(&l, x, y, scratch);
        break;
    }
#endif
#if CIRCNN_WITH_DEPTHWISE_CONV2D
    case CIRCNN_LAYER_DEPTHWISE_CONV2D: {
        circnn_depthwise_conv2d_f32_t l = {window_of(e), relu, w, bias};
        circnn_depthwise_conv2d_f32(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_RELU
    case CIRCNN_LAYER_RELU: circnn_relu_f32(x, y, count); break;
#endif
#if CIRCNN_WITH_MAXPOOL2D
    case CIRCNN_LAYER_MAXPOOL2D: {
        circnn_window_t g = window_of(e);
        circnn_maxpool2d_f32(&g, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_AVGPOOL2D
    case CIRCNN_LAYER_AVGPOOL2D: {
        circnn_window_t g = window_of(e);
        circnn_avgpool2d_f32(&g, x, y);
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

static void run_q15(const circnn_model_t *m, const entry_t *e, const int16_t *x, int16_t *y, void *scratch)
{
    const int16_t *w = (const int16_t *)section(m, e->weight_off, e->weight_bytes);
    const int32_t *bias = (const int32_t *)section(m, e->bias_off, e->bias_bytes);
    uint32_t relu = e->flags & FLAG_RELU;
    uint32_t count = e->in[0] * e->in[1] * e->in[2];
#if CIRCNN_WITH_WEIGHT8
    if (e->flags & FLAG_WEIGHT8) {   /* the int16 weights first, the kernel's scratch after them */
        w = expand_weight8(m->blob + e->weight_off, e->weight_bytes, (int16_t *)scratch);
        scratch = (unsigned char *)scratch + (size_t)weight8_expanded_bytes(e);
    }
#endif
    (void)w, (void)bias, (void)relu, (void)count, (void)scratch;   /* when config.h leaves no kind reading them */
    switch (e->type) {
#if CIRCNN_WITH_DENSE
    case CIRCNN_LAYER_DENSE: {
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
        circnn_conv2d_q15_t l = {window_of(e), relu, w, e->weight_exp, bias};
        if (e->flags & FLAG_OHWI)
            circnn_conv2d_q15_ohwi(&l, x, y);
        else
            circnn_conv2d_q15(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_BC_CONV2D
    case CIRCNN_LAYER_BC_CONV2D: {
        circnn_bc_conv2d_q15_t l = {window_of(e), e->block_size, relu, w, e->weight_exp, bias,
                                    (const int16_t *)section(m, e->scale_off, e->scale_bytes),
                                    e->scale_exp};
        circnn_bc_conv2d_q15(&l, x, y, scratch);
        break;
    }
#endif
#if CIRCNN_WITH_DEPTHWISE_CONV2D
    case CIRCNN_LAYER_DEPTHWISE_CONV2D: {
        circnn_depthwise_conv2d_q15_t l = {window_of(e), relu, w, e->weight_exp, bias};
        circnn_depthwise_conv2d_q15(&l, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_RELU
    case CIRCNN_LAYER_RELU: circnn_relu_q15(x, y, count); break;
#endif
#if CIRCNN_WITH_MAXPOOL2D
    case CIRCNN_LAYER_MAXPOOL2D: {
        circnn_window_t g = window_of(e);
        circnn_maxpool2d_q15(&g, x, y);
        break;
    }
#endif
#if CIRCNN_WITH_AVGPOOL2D
    case CIRCNN_LAYER_AVGPOOL2D: {
        circnn_window_t g = window_of(e);
        circnn_avgpool2d_q15(&g, x, y);
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

void circnn_model_run(const circnn_model_t *m, const void *input, void *output, void *arena)
{
    unsigned char *base = (unsigned char *)arena;
    void *scratch = base + m->scratch_offset;
    const void *x = input;
    for (uint32_t l = 0; l < m->layer_count; l++) {
        entry_t e;
        read_entry(m->blob + CIRCNN_HEADER_BYTES + l * CIRCNN_LAYER_ENTRY_BYTES, &e);
        void *y = (l + 1 == m->layer_count) ? output : base + (l % 2u ? m->b_offset : 0u);
        CIRCNN_LAYER_BEGIN(l);
#if CIRCNN_WITH_F32 && CIRCNN_WITH_Q15
        if (m->dtype == CIRCNN_DTYPE_F32)
            run_f32(m, &e, (const float *)x, (float *)y, scratch);
        else
            run_q15(m, &e, (const int16_t *)x, (int16_t *)y, scratch);
#elif CIRCNN_WITH_F32
        run_f32(m, &e, (const float *)x, (float *)y, scratch);
#else
        run_q15(m, &e, (const int16_t *)x, (int16_t *)y, scratch);
#endif
        CIRCNN_LAYER_END(l);
        x = y;
    }
}
