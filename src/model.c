/* Model blob validation and the layer loop (format and contract: circnn/model.h). */
#include <string.h>

#include "circnn/bc_conv2d.h"
#include "circnn/bc_dense.h"
#include "circnn/layers.h"
#include "circnn/model.h"
#include "bc_conv2d_common.h"
#include "fixed_point.h"
#include "model_format.h"

/* Elements of an (h, w, c) shape of 16-bit sizes: below 2^48, exact in 64
 * bits (compared with CIRCNN_MAX_ELEMENTS before any 32-bit use). */
static uint64_t count3(const uint32_t s[3]) { return (uint64_t)s[0] * s[1] * s[2]; }

static int is_window(uint32_t type)
{
    return type == CIRCNN_LAYER_CONV2D || type == CIRCNN_LAYER_BC_CONV2D ||
           type == CIRCNN_LAYER_MAXPOOL2D || type == CIRCNN_LAYER_AVGPOOL2D ||
           type == CIRCNN_LAYER_DEPTHWISE_CONV2D;
}

static int has_weights(uint32_t type)
{
    return type == CIRCNN_LAYER_DENSE || type == CIRCNN_LAYER_BC_DENSE ||
           type == CIRCNN_LAYER_CONV2D || type == CIRCNN_LAYER_BC_CONV2D ||
           type == CIRCNN_LAYER_DEPTHWISE_CONV2D;
}

/* A section: absent (0, 0) when allowed, else exactly `expected` bytes,
 * 16-byte aligned, after the layer table and inside the blob. */
static circnn_status_t check_section(uint32_t off, uint32_t bytes, uint32_t expected, int required,
                                     uint32_t table_end, uint32_t total)
{
    if (off == 0 && bytes == 0) return required ? CIRCNN_ERR_LAYER : CIRCNN_OK;
    if (off < table_end || off > total || bytes > total - off) return CIRCNN_ERR_BOUNDS;
    if (off % CIRCNN_SECTION_ALIGN != 0) return CIRCNN_ERR_ALIGN;
    if (bytes != expected) return CIRCNN_ERR_LAYER;
    return CIRCNN_OK;
}

/* The constant CIRCNN_WITH_* tests fold away the calls of what this build
 * compiled out (circnn/config.h), so that the linker can drop that code. */
static size_t layer_scratch(const entry_t *e, uint32_t dtype, int over_input)
{
    int f32 = CIRCNN_WITH_F32 && (!CIRCNN_WITH_Q15 || dtype == CIRCNN_DTYPE_F32);
    if (CIRCNN_WITH_BC_DENSE && e->type == CIRCNN_LAYER_BC_DENSE)
        return f32 ? circnn_bc_dense_f32_scratch_bytes(e->in[2], e->out[2], e->block_size)
                   : circnn_bc_dense_q15_scratch_bytes(e->in[2], e->out[2], e->block_size);
    if (CIRCNN_WITH_BC_CONV2D && e->type == CIRCNN_LAYER_BC_CONV2D) {
        circnn_window_t g = window_of(e);
        size_t all = f32 ? circnn_bc_conv2d_f32_scratch_bytes(&g, e->block_size)
                         : circnn_bc_conv2d_q15_scratch_bytes(&g, e->block_size);
        if (all == SIZE_MAX || !over_input) return all;   /* over its input: the spectra take no scratch */
        return all - (f32 ? circnn_bc_conv2d_f32_spectra_bytes(&g, e->block_size)
                          : circnn_bc_conv2d_q15_spectra_bytes(&g, e->block_size));
    }
    return 0;
}

/* The scratch of layer l (model_run.c): with 8-bit weights, first the int16
 * weights the layer expands its int8 weights into (2 bytes a weight,
 * rounded up to 16; a dense layer's from format 7: DENSE8_ROWS rows); with
 * a fused pool, then the band of two convolution
 * rows (band_bytes); then the kernel's (0 for the dense kinds). */
static size_t layer_scratch_all(const entry_t *e, uint32_t l, uint32_t version, uint32_t dtype)
{
    size_t kernel = layer_scratch(e, dtype, spectra_over_input(e, l, version));
    if (kernel > 0xFFFF0000u) return kernel;
    uint64_t all = kernel;
    if (CIRCNN_WITH_WEIGHT8 && (e->flags & FLAG_WEIGHT8)) all += weight8_expanded_bytes(e, version);
    if (e->flags & FLAG_POOL2) all += band_bytes(e, dtype == CIRCNN_DTYPE_F32 ? 4u : 2u);
    return all > 0xFFFF0000u ? SIZE_MAX : (size_t)all;
}

/* The newest layer type of each format version. */
static uint32_t last_layer_type(uint32_t version)
{
    return version >= 2u ? CIRCNN_LAYER_DEPTHWISE_CONV2D : CIRCNN_LAYER_ARGMAX;
}

/* Shapes, flags and sections of one layer. */
static circnn_status_t check_layer(const entry_t *e, uint32_t version, uint32_t dtype, uint32_t table_end,
                                   uint32_t total)
{
    const uint32_t es = dtype == CIRCNN_DTYPE_F32 ? 4u : 2u;
    uint32_t allowed_flags = is_window(e->type) ? FLAG_SAME : 0u;
    if (has_weights(e->type)) allowed_flags |= FLAG_RELU;
    /* 8-bit weights: q15 layers with weights, block-circulant ones from
     * format 3, the others from format 4. */
    const int weight8 = (e->flags & FLAG_WEIGHT8) != 0;
    const int circulant = e->type == CIRCNN_LAYER_BC_DENSE || e->type == CIRCNN_LAYER_BC_CONV2D;
    if (dtype == CIRCNN_DTYPE_Q15 && has_weights(e->type) && version >= (circulant ? 3u : 4u))
        allowed_flags |= FLAG_WEIGHT8;
    if (dtype == CIRCNN_DTYPE_Q15 && e->type == CIRCNN_LAYER_CONV2D && version >= OHWI_VERSION)
        allowed_flags |= FLAG_OHWI;
    const int pooled = (e->flags & FLAG_POOL2) != 0;
    if (has_weights(e->type) && is_window(e->type) && version >= POOL2_VERSION) allowed_flags |= FLAG_POOL2;
    if (e->type < CIRCNN_LAYER_DENSE || e->type > last_layer_type(version)) return CIRCNN_ERR_LAYER;
    if (!layer_enabled(e->type)) return CIRCNN_ERR_DISABLED;
    if (e->reserved != 0 || (e->flags & ~allowed_flags) != 0) return CIRCNN_ERR_LAYER;
    if (weight8 && !CIRCNN_WITH_WEIGHT8) return CIRCNN_ERR_DISABLED;
    if (pooled && !CIRCNN_WITH_POOL2) return CIRCNN_ERR_DISABLED;
    if (dtype == CIRCNN_DTYPE_F32 && (e->weight_exp != 0 || e->scale_exp != 0 || e->out_frac != 0))
        return CIRCNN_ERR_LAYER;
    if (e->weight_exp > MAX_EXPONENT || e->weight_exp < -MAX_EXPONENT ||
        e->scale_exp > MAX_EXPONENT || e->scale_exp < -MAX_EXPONENT)
        return CIRCNN_ERR_LAYER;
    for (int i = 0; i < 3; i++)
        if (e->in[i] == 0 || e->out[i] == 0) return CIRCNN_ERR_SHAPE;
    if (count3(e->in) > CIRCNN_MAX_ELEMENTS || count3(e->out) > CIRCNN_MAX_ELEMENTS) return CIRCNN_ERR_SHAPE;
    if (!circulant && e->block_size != 0) return CIRCNN_ERR_LAYER;
    if (!is_window(e->type) && (e->kernel_h | e->kernel_w | e->stride) != 0) return CIRCNN_ERR_LAYER;

    uint32_t n = e->in[2], m = e->out[2], k = e->block_size;
    uint64_t weight_count = 0;
    int vector_in = e->in[0] == 1 && e->in[1] == 1, vector_out = e->out[0] == 1 && e->out[1] == 1;
    switch (e->type) {
    case CIRCNN_LAYER_DENSE:
        if (!vector_in || !vector_out) return CIRCNN_ERR_SHAPE;
        weight_count = (uint64_t)m * n;
        break;
    case CIRCNN_LAYER_BC_DENSE: {
        if (!vector_in || !vector_out) return CIRCNN_ERR_SHAPE;
        circnn_status_t s = CIRCNN_WITH_BC_DENSE ? circnn_bc_dense_check(n, m, k) : CIRCNN_ERR_DISABLED;
        if (s != CIRCNN_OK) return s;
        weight_count = circnn_bc_dense_weight_count(n, m, k);
        break;
    }
    case CIRCNN_LAYER_CONV2D:
    case CIRCNN_LAYER_BC_CONV2D:
    case CIRCNN_LAYER_MAXPOOL2D:
    case CIRCNN_LAYER_AVGPOOL2D:
    case CIRCNN_LAYER_DEPTHWISE_CONV2D: {
        circnn_window_t g = window_of(e);
        circnn_window_t probe = g;
        if (circnn_window_geometry(&probe, (e->flags & FLAG_SAME) ? CIRCNN_PAD_SAME : CIRCNN_PAD_VALID) !=
            CIRCNN_OK)
            return CIRCNN_ERR_SHAPE;
        /* with a fused pool, the 2x2 max pool's output: floor(out / 2), at least 1 */
        if ((pooled ? g.out_h / 2u : g.out_h) != e->out[0] || (pooled ? g.out_w / 2u : g.out_w) != e->out[1])
            return CIRCNN_ERR_SHAPE;
        uint64_t taps = (uint64_t)e->kernel_h * e->kernel_w;
        if (e->type == CIRCNN_LAYER_CONV2D) {
            weight_count = taps * n * m;
        } else if (e->type == CIRCNN_LAYER_BC_CONV2D) {
            circnn_status_t s = CIRCNN_WITH_BC_CONV2D ? circnn_bc_conv2d_check(&g, k) : CIRCNN_ERR_DISABLED;
            if (s != CIRCNN_OK) return s;
            weight_count = taps * ((m + k - 1u) / k) * ((n + k - 1u) / k) * k;
        } else if (m != n) {
            return CIRCNN_ERR_SHAPE;   /* pools and depthwise keep the channels */
        } else if (e->type == CIRCNN_LAYER_DEPTHWISE_CONV2D) {
            weight_count = taps * n;
        }
        break;
    }
    case CIRCNN_LAYER_RELU:
        if (e->in[0] != e->out[0] || e->in[1] != e->out[1] || n != m) return CIRCNN_ERR_SHAPE;
        break;
    case CIRCNN_LAYER_FLATTEN:
        if (!vector_out || m != count3(e->in)) return CIRCNN_ERR_SHAPE;
        break;
    case CIRCNN_LAYER_SOFTMAX:
        if (dtype != CIRCNN_DTYPE_F32) return CIRCNN_ERR_LAYER;
        if (!vector_in || !vector_out || n != m) return CIRCNN_ERR_SHAPE;
        break;
    default: /* CIRCNN_LAYER_ARGMAX: the index must fit the output type */
        if (!vector_in || !vector_out || m != 1 || (dtype == CIRCNN_DTYPE_Q15 && n > 32768u))
            return CIRCNN_ERR_SHAPE;
        break;
    }
    const uint32_t wes = weight8 ? 1u : es;
    if (weight_count * wes > 0xFFFFFFFFu) return CIRCNN_ERR_SHAPE;
    circnn_status_t s = check_section(e->weight_off, e->weight_bytes, (uint32_t)(weight_count * wes),
                                      has_weights(e->type), table_end, total);
    if (s != CIRCNN_OK) return s;
    if (!has_weights(e->type) && (e->bias_off | e->bias_bytes | e->scale_off | e->scale_bytes) != 0)
        return CIRCNN_ERR_LAYER;
    s = check_section(e->bias_off, e->bias_bytes, m * 4u, 0, table_end, total);
    if (s != CIRCNN_OK) return s;
    if (e->type != CIRCNN_LAYER_BC_CONV2D && (e->scale_off | e->scale_bytes) != 0) return CIRCNN_ERR_LAYER;
    return check_section(e->scale_off, e->scale_bytes, m * es, 0, table_end, total);
}

static uint32_t align16(uint32_t v) { return (v + 15u) & ~15u; }

static int little_endian(void)
{
    const uint16_t probe = 1;
    return *(const uint8_t *)&probe == 1;
}

CIRCNN_COLD circnn_status_t circnn_model_init(circnn_model_t *model, const void *blob, size_t blob_bytes,
                                  const void *arena, size_t arena_bytes)
{
    const uint8_t *b = (const uint8_t *)blob;
    if (model == NULL || blob == NULL) return CIRCNN_ERR_NULL;
    memset(model, 0, sizeof *model);
    if (!little_endian()) return CIRCNN_ERR_PLATFORM;
    if ((uintptr_t)blob % CIRCNN_BLOB_ALIGN != 0) return CIRCNN_ERR_ALIGN;
    if (blob_bytes < CIRCNN_HEADER_BYTES) return CIRCNN_ERR_TRUNCATED;
    if (b[0] != 'C' || b[1] != 'I' || b[2] != 'R' || b[3] != 'C') return CIRCNN_ERR_MAGIC;
    uint32_t version = rd16(b + 4);
    if (version < CIRCNN_FORMAT_VERSION || version > CIRCNN_FORMAT_VERSION_NEWEST) return CIRCNN_ERR_VERSION;
    if (rd16(b + 6) != CIRCNN_HEADER_BYTES) return CIRCNN_ERR_HEADER;
    uint32_t total = rd32(b + 8);
    if (total > blob_bytes) return CIRCNN_ERR_TRUNCATED;
    if (total < CIRCNN_HEADER_BYTES) return CIRCNN_ERR_HEADER;
    if (circnn_crc32(b + 16, total - 16u) != rd32(b + 12)) return CIRCNN_ERR_CRC;

    uint32_t dtype = b[16];
    if (dtype != CIRCNN_DTYPE_F32 && dtype != CIRCNN_DTYPE_Q15) return CIRCNN_ERR_DTYPE;
    if (!dtype_enabled(dtype)) return CIRCNN_ERR_DISABLED;
    uint32_t layers = rd16(b + 18);
    if (b[17] != 0 || layers == 0 || layers > CIRCNN_MAX_LAYERS) return CIRCNN_ERR_HEADER;
    for (int i = 38; i < CIRCNN_HEADER_BYTES; i++)
        if (b[i] != 0) return CIRCNN_ERR_HEADER;
    if (dtype == CIRCNN_DTYPE_F32 && (b[36] != 0 || b[37] != 0)) return CIRCNN_ERR_HEADER;
    uint32_t table_end = CIRCNN_HEADER_BYTES + layers * CIRCNN_LAYER_ENTRY_BYTES;
    if (table_end > total) return CIRCNN_ERR_BOUNDS;

    uint32_t shape[3], in_shape[3];
    for (int i = 0; i < 3; i++) {
        shape[i] = in_shape[i] = rd16(b + 24 + 2 * i);
        model->input_shape[i] = (uint16_t)shape[i];
        model->output_shape[i] = (uint16_t)rd16(b + 30 + 2 * i);
    }
    uint32_t es = dtype == CIRCNN_DTYPE_F32 ? 4u : 2u;
    uint32_t largest_act[2] = {0, 0}, largest_scratch = 0;   /* [l % 2]: buffer A, B */
    for (uint32_t l = 0; l < layers; l++) {
        entry_t e;
        read_entry(b + CIRCNN_HEADER_BYTES + l * CIRCNN_LAYER_ENTRY_BYTES, &e);
        for (int i = 0; i < 3; i++)
            if (e.in[i] != shape[i]) return CIRCNN_ERR_CHAIN;
        circnn_status_t s = check_layer(&e, version, dtype, table_end, total);
        if (s != CIRCNN_OK) return s;
        for (int i = 0; i < 3; i++) shape[i] = e.out[i];
        uint32_t act_bytes = (uint32_t)count3(e.out) * es;   /* at most 2^26 */
        if (l + 1 < layers && act_bytes > largest_act[l % 2u]) largest_act[l % 2u] = act_bytes;
        size_t scratch = layer_scratch_all(&e, l, version, dtype);
        if (scratch > 0xFFFF0000u) return CIRCNN_ERR_SHAPE;
        if ((uint32_t)scratch > largest_scratch) largest_scratch = (uint32_t)scratch;
    }
    for (int i = 0; i < 3; i++)
        if (shape[i] != model->output_shape[i]) return CIRCNN_ERR_CHAIN;

    /* Each act is at most 2^26 bytes, so the buffers' offsets fit 32 bits. */
    uint32_t a = align16(largest_act[0]), bb = align16(largest_act[1]);
    if (version < ARENA_BY_PARITY_VERSION) {   /* both as large as the largest */
        a = bb = a > bb ? a : bb;
        if (layers <= 2u) bb = 0;
    }
    model->b_offset = a;
    model->scratch_offset = a + bb;
    uint64_t need = (uint64_t)model->scratch_offset + align16(largest_scratch);
    if (need > 0xFFFFFFFFu) return CIRCNN_ERR_SHAPE;
    model->arena_bytes = (uint32_t)need;
    if (rd32(b + 20) != (uint32_t)need) return CIRCNN_ERR_HEADER;

    model->blob = b;
    model->total_bytes = total;
    model->dtype = dtype;
    model->layer_count = layers;
    /* Both equal a layer's shape (the chain checks), so at most CIRCNN_MAX_ELEMENTS. */
    model->input_count = (uint32_t)count3(in_shape);
    model->output_count = (uint32_t)count3(shape);
    model->input_frac = rd_i8(b + 36);
    model->output_frac = rd_i8(b + 37);
    if (arena_bytes < need) return CIRCNN_ERR_ARENA;
    if (need > 0 && (arena == NULL || (uintptr_t)arena % CIRCNN_ARENA_ALIGN != 0))
        return arena == NULL ? CIRCNN_ERR_NULL : CIRCNN_ERR_ALIGN;
    return CIRCNN_OK;
}
