/* model_format.h - reading the blob's little-endian fields (private; the
 * format is documented in circnn/model.h). */
#ifndef CIRCNN_MODEL_FORMAT_H
#define CIRCNN_MODEL_FORMAT_H

#include <stdint.h>
#include <string.h>

#include "circnn/model.h"
#include "circnn/window.h"
#include "pool2.h"

#define MAX_EXPONENT 128         /* |weight_exp|, |scale_exp|: keeps exponent sums in range */
#define FLAG_RELU 1u
#define FLAG_SAME 2u
#define FLAG_WEIGHT8 4u          /* q15 weights as int8, w16 = w8 * 256 (circulant: format 3, others: 4) */
#define FLAG_OHWI 8u             /* q15 conv2d weights (out_c, kh, kw, in_c), not HWIO: format 6 */
#define OHWI_VERSION 6u
#define FLAG_POOL2 16u           /* a 2x2 max pool (stride 2, valid) after the convolution: format 7 */
#define POOL2_VERSION 7u
#define DENSE8_ROWS 4u           /* an 8-bit DENSE layer widens this many rows at a time (model_run.c) */
#define DENSE8_ROWS_VERSION 7u   /* from this format on, its scratch holds only those (circnn/model.h) */
#define OVER_INPUT_VERSION 8u    /* from this format on, bc_conv2d's spectra overwrite its input (circnn/model.h) */
#define ARENA_BY_PARITY_VERSION 5u  /* from this format on, buffers A and B are sized apart (circnn/model.h) */

typedef struct entry {
    uint32_t type, flags, block_size;
    uint32_t in[3], out[3];
    uint32_t kernel_h, kernel_w, stride;
    int32_t weight_exp, scale_exp;
    uint32_t weight_off, weight_bytes, bias_off, bias_bytes, scale_off, scale_bytes;
    int32_t out_frac;
    uint32_t reserved;   /* OR of the reserved bytes */
} entry_t;

static inline uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Two's complement without implementation-defined conversions. */
static inline int32_t rd_i32(const uint8_t *p)
{
    uint32_t u = rd32(p);
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}

static inline int32_t rd_i8(const uint8_t *p) { return p[0] < 128u ? (int32_t)p[0] : (int32_t)p[0] - 256; }

static inline void read_entry(const uint8_t *p, entry_t *e)
{
    e->type = p[0];
    e->flags = p[1];
    e->block_size = rd16(p + 2);
    for (int i = 0; i < 3; i++) {
        e->in[i] = rd16(p + 4 + 2 * i);
        e->out[i] = rd16(p + 10 + 2 * i);
    }
    e->kernel_h = p[16];
    e->kernel_w = p[17];
    e->stride = p[18];
    e->weight_exp = rd_i32(p + 20);
    e->scale_exp = rd_i32(p + 24);
    e->weight_off = rd32(p + 28);
    e->weight_bytes = rd32(p + 32);
    e->bias_off = rd32(p + 36);
    e->bias_bytes = rd32(p + 40);
    e->scale_off = rd32(p + 44);
    e->scale_bytes = rd32(p + 48);
    e->out_frac = rd_i8(p + 19);
    e->reserved = 0;
    for (int i = 52; i < CIRCNN_LAYER_ENTRY_BYTES; i++) e->reserved |= p[i];
}

/* Bytes of the int16 copy of an 8-bit weight section (FLAG_WEIGHT8) at the
 * start of the layer's scratch: 2 a weight, rounded up to 16.  A DENSE
 * layer widens DENSE8_ROWS rows at a time (4-byte aligned in the blob, as
 * rows of 4 x in_features bytes start there): in a blob of format 7 on, its
 * scratch holds those alone; an older blob states the whole copy. */
static inline uint64_t weight8_expanded_bytes(const entry_t *e, uint32_t version)
{
    uint64_t count = e->weight_bytes;
    if (e->type == CIRCNN_LAYER_DENSE && version >= DENSE8_ROWS_VERSION && e->out[2] > DENSE8_ROWS)
        count = (uint64_t)DENSE8_ROWS * e->in[2];
    return (2u * count + 15u) & ~(uint64_t)15u;
}

/* Whether this build runs models of a numeric type, and layers of a type
 * (circnn/config.h); unknown values are not. */
static inline int dtype_enabled(uint32_t dtype)
{
    return dtype == CIRCNN_DTYPE_F32 ? CIRCNN_WITH_F32 : dtype == CIRCNN_DTYPE_Q15 ? CIRCNN_WITH_Q15 : 0;
}

static inline int layer_enabled(uint32_t type)
{
    switch (type) {
    case CIRCNN_LAYER_DENSE: return CIRCNN_WITH_DENSE;
    case CIRCNN_LAYER_BC_DENSE: return CIRCNN_WITH_BC_DENSE;
    case CIRCNN_LAYER_CONV2D: return CIRCNN_WITH_CONV2D;
    case CIRCNN_LAYER_BC_CONV2D: return CIRCNN_WITH_BC_CONV2D;
    case CIRCNN_LAYER_DEPTHWISE_CONV2D: return CIRCNN_WITH_DEPTHWISE_CONV2D;
    case CIRCNN_LAYER_RELU: return CIRCNN_WITH_RELU;
    case CIRCNN_LAYER_MAXPOOL2D: return CIRCNN_WITH_MAXPOOL2D;
    case CIRCNN_LAYER_AVGPOOL2D: return CIRCNN_WITH_AVGPOOL2D;
    case CIRCNN_LAYER_FLATTEN: return CIRCNN_WITH_FLATTEN;
    case CIRCNN_LAYER_SOFTMAX: return CIRCNN_WITH_SOFTMAX;
    case CIRCNN_LAYER_ARGMAX: return CIRCNN_WITH_ARGMAX;
    default: return 0;
    }
}

static inline circnn_window_t window_of(const entry_t *e)
{
    circnn_window_t g;
    memset(&g, 0, sizeof g);
    g.in_h = (uint16_t)e->in[0];
    g.in_w = (uint16_t)e->in[1];
    g.in_c = (uint16_t)e->in[2];
    g.out_c = (uint16_t)e->out[2];
    g.kernel_h = (uint8_t)e->kernel_h;
    g.kernel_w = (uint8_t)e->kernel_w;
    g.stride = (uint8_t)e->stride;
    (void)circnn_window_geometry(&g, (e->flags & FLAG_SAME) ? CIRCNN_PAD_SAME : CIRCNN_PAD_VALID);
    return g;
}

/* FLAG_POOL2: the convolution g computes two of its output rows at a time,
 * 2r and 2r + 1 (pooled row r), each 2 * pooled_w wide (the columns the
 * pool reads), into the band the pool then reads.  The band's window over
 * the input rows those windows read, from input row *first: its padding
 * above, and its in_h ending at the last row they read or at the image's
 * end (below which the kernels pad as for the whole image).  Every output
 * pixel reads the same input pixels as in g, so the band gives the same
 * values as the whole convolution. */
static inline circnn_window_t pool_band(const circnn_window_t *g, uint32_t pooled_w, uint32_t r,
                                        uint32_t *first)
{
    circnn_window_t b = *g;
    const uint32_t top = 2u * r * g->stride;                        /* padded row of row 2r's windows */
    const uint32_t end = top + g->stride + g->kernel_h;             /* padded row after row 2r + 1's */
    const uint32_t image_end = (uint32_t)g->pad_top + g->in_h;
    const uint32_t start = top > g->pad_top ? top : g->pad_top;     /* first padded row inside the image */
    *first = start - g->pad_top;
    b.pad_top = (uint8_t)(start - top);
    b.in_h = (uint16_t)((end < image_end ? end : image_end) - start);
    b.out_h = 2;
    b.out_w = (uint16_t)(2u * pooled_w);
    return b;
}

/* Whether layer l (of a blob of this format version) is a block-circulant
 * convolution whose spectra overwrite its input, an arena buffer no later
 * layer reads (l > 0), of in_c a multiple of k (bc_conv2d_common.h). */
static inline int spectra_over_input(const entry_t *e, uint32_t l, uint32_t version)
{
    return e->type == CIRCNN_LAYER_BC_CONV2D && l > 0u && version >= OVER_INPUT_VERSION && e->block_size != 0u &&
           e->in[2] % e->block_size == 0u;
}

/* Bytes of the band at the start of a FLAG_POOL2 layer's scratch (after an
 * 8-bit layer's int16 weights): two rows of the convolution's output,
 * rounded up to 16. */
static inline uint64_t band_bytes(const entry_t *e, uint32_t element_bytes)
{
    return (4u * (uint64_t)e->out[1] * e->out[2] * element_bytes + 15u) & ~(uint64_t)15u;
}

#endif /* CIRCNN_MODEL_FORMAT_H */
