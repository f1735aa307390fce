/*
 * test_model_limits_c.c - circnn_model_init against blobs whose shape
 * products do not fit 32 bits (the limits of circnn/model.h), and the
 * scratch size functions on shapes their checks refuse.
 *
 * Each blob is well formed in every other respect (header shapes that
 * match, sections of the expected length, the arena figure of the layout,
 * the CRC recomputed), and the same construction with in-range shapes is
 * accepted, so a refusal can only come from the shape.  A validator that
 * multiplies the three 16-bit sizes in 32 bits accepts them: 2048 x 2048 x
 * 1025 wraps to 4,194,304, 2 x 32769 x 65535 to 65534.
 */
#include "circnn/circnn.h"
#include "c_test_util.h"

#define BLOB_CAPACITY (1u << 19)

static uint64_t storage[BLOB_CAPACITY / 8];

typedef struct {
    uint8_t *b;
    uint32_t layers;     /* entries written */
    uint32_t end;        /* bytes used: header, table, sections */
} builder_t;

typedef struct {
    uint32_t type, flags, k;
    uint32_t in[3], out[3];
    uint32_t kh, kw, stride;
    uint32_t weight_bytes, bias_bytes, scale_bytes;
} layer_t;

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A q15 or f32 blob of `count` layers: header and table, then the sections
 * each layer asks for (filled with a pattern), 16-byte aligned. */
static builder_t build(uint32_t dtype, const layer_t *layers, uint32_t count, uint32_t arena_figure)
{
    builder_t bl;
    bl.b = (uint8_t *)storage;
    memset(storage, 0, sizeof storage);
    bl.layers = count;
    bl.end = CIRCNN_HEADER_BYTES + count * CIRCNN_LAYER_ENTRY_BYTES;
    uint8_t *b = bl.b;
    memcpy(b, "CIRC", 4);
    uint32_t version = CIRCNN_FORMAT_VERSION;   /* the oldest that holds the layer types */
    for (uint32_t l = 0; l < count; l++)
        if (layers[l].type == CIRCNN_LAYER_DEPTHWISE_CONV2D) version = 2;
    put16(b + 4, version);
    put16(b + 6, CIRCNN_HEADER_BYTES);
    b[16] = (uint8_t)dtype;
    put16(b + 18, count);
    put32(b + 20, arena_figure);
    for (int i = 0; i < 3; i++) {
        put16(b + 24 + 2 * i, layers[0].in[i]);
        put16(b + 30 + 2 * i, layers[count - 1].out[i]);
    }
    for (uint32_t l = 0; l < count; l++) {
        const layer_t *e = &layers[l];
        uint8_t *p = b + CIRCNN_HEADER_BYTES + l * CIRCNN_LAYER_ENTRY_BYTES;
        p[0] = (uint8_t)e->type;
        p[1] = (uint8_t)e->flags;
        put16(p + 2, e->k);
        for (int i = 0; i < 3; i++) {
            put16(p + 4 + 2 * i, e->in[i]);
            put16(p + 10 + 2 * i, e->out[i]);
        }
        p[16] = (uint8_t)e->kh;
        p[17] = (uint8_t)e->kw;
        p[18] = (uint8_t)e->stride;
        const uint32_t bytes[3] = {e->weight_bytes, e->bias_bytes, e->scale_bytes};
        for (int s = 0; s < 3; s++) {
            if (bytes[s] == 0) continue;
            bl.end = (bl.end + 15u) & ~15u;
            if (bl.end + bytes[s] > BLOB_CAPACITY) {
                printf("test setup: blob over %u bytes\n", BLOB_CAPACITY);
                exit(2);
            }
            put32(p + 28 + 8 * s, bl.end);
            put32(p + 32 + 8 * s, bytes[s]);
            for (uint32_t i = 0; i < bytes[s]; i++) b[bl.end + i] = (uint8_t)(i * 7u + 3u);
            bl.end += bytes[s];
        }
    }
    put32(b + 8, bl.end);
    put32(b + 12, circnn_crc32(b + 16, bl.end - 16u));
    return bl;
}

static circnn_status_t init(const builder_t *bl, circnn_model_t *m)
{
    static uint64_t arena[64];
    return circnn_model_init(m, bl->b, bl->end, arena, sizeof arena);
}

static layer_t window_layer(uint32_t type, uint32_t h, uint32_t w, uint32_t c_in, uint32_t c_out)
{
    layer_t e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.kh = e.kw = e.stride = 1;
    e.in[0] = e.out[0] = h;
    e.in[1] = e.out[1] = w;
    e.in[2] = c_in;
    e.out[2] = c_out;
    return e;
}

/* The arena figure of a one-layer bc_conv2d (1x1 kernel, stride 1, valid). */
static uint32_t bc_conv2d_arena(uint32_t dtype, const layer_t *e)
{
    circnn_window_t g;
    memset(&g, 0, sizeof g);
    g.in_h = (uint16_t)e->in[0];
    g.in_w = (uint16_t)e->in[1];
    g.in_c = (uint16_t)e->in[2];
    g.out_c = (uint16_t)e->out[2];
    g.kernel_h = g.kernel_w = g.stride = 1;
    if (circnn_window_geometry(&g, CIRCNN_PAD_VALID) != CIRCNN_OK) return 0;
    size_t s = dtype == CIRCNN_DTYPE_F32 ? circnn_bc_conv2d_f32_scratch_bytes(&g, e->k)
                                         : circnn_bc_conv2d_q15_scratch_bytes(&g, e->k);
    return (uint32_t)((s + 15u) & ~(size_t)15u);
}

/* One window or element-wise layer: refused with CIRCNN_ERR_SHAPE at the
 * wrapping shape, accepted at the in-range one. */
static void check_pair(const char *what, uint32_t dtype, layer_t wrapped, layer_t fine, uint32_t wrapped_arena,
                       uint32_t fine_arena)
{
    circnn_model_t m;
    builder_t bl = build(dtype, &fine, 1, fine_arena);
    circnn_status_t s = init(&bl, &m);
    CHECK(s == CIRCNN_OK, "%s: the in-range control is refused with %s", what, circnn_status_string(s));
    bl = build(dtype, &wrapped, 1, wrapped_arena);
    s = init(&bl, &m);
    CHECK(s == CIRCNN_ERR_SHAPE, "%s %ux%ux%u -> %ux%ux%u: %s (input_count %u, output_count %u), want %s", what,
          wrapped.in[0], wrapped.in[1], wrapped.in[2], wrapped.out[0], wrapped.out[1], wrapped.out[2],
          circnn_status_string(s), m.input_count, m.output_count, circnn_status_string(CIRCNN_ERR_SHAPE));
}

static void test_window_layers(void)
{
    for (uint32_t dtype = CIRCNN_DTYPE_F32; dtype <= CIRCNN_DTYPE_Q15; dtype++) {
        const uint32_t es = dtype == CIRCNN_DTYPE_F32 ? 4u : 2u;
        /* The blob: max pooling, 1x1 window, stride 1, 2048 x 2048 x 1025. */
        check_pair("maxpool2d", dtype, window_layer(CIRCNN_LAYER_MAXPOOL2D, 2048, 2048, 1025, 1025),
                   window_layer(CIRCNN_LAYER_MAXPOOL2D, 16, 16, 5, 5), 0, 0);
        check_pair("avgpool2d", dtype, window_layer(CIRCNN_LAYER_AVGPOOL2D, 2048, 2048, 1025, 1025),
                   window_layer(CIRCNN_LAYER_AVGPOOL2D, 16, 16, 5, 5), 0, 0);
        layer_t a = window_layer(CIRCNN_LAYER_RELU, 2048, 2048, 1025, 1025);
        layer_t b = window_layer(CIRCNN_LAYER_RELU, 16, 16, 5, 5);
        a.kh = a.kw = a.stride = b.kh = b.kw = b.stride = 0;
        check_pair("relu", dtype, a, b, 0, 0);

        /* conv2d 1x1: the input wraps (1025 -> 1 channels), then the output (1 -> 1025). */
        a = window_layer(CIRCNN_LAYER_CONV2D, 2048, 2048, 1025, 1);
        b = window_layer(CIRCNN_LAYER_CONV2D, 8, 8, 1025, 1);
        a.weight_bytes = b.weight_bytes = 1025u * es;
        check_pair("conv2d (input)", dtype, a, b, 0, 0);
        a = window_layer(CIRCNN_LAYER_CONV2D, 2048, 2048, 1, 1025);
        b = window_layer(CIRCNN_LAYER_CONV2D, 8, 8, 1, 1025);
        a.weight_bytes = b.weight_bytes = 1025u * es;
        a.bias_bytes = b.bias_bytes = 1025u * 4u;
        check_pair("conv2d (output)", dtype, a, b, 0, 0);

        /* depthwise conv2d 1x1 (format version 2): 1025 channels in and out */
        a = window_layer(CIRCNN_LAYER_DEPTHWISE_CONV2D, 2048, 2048, 1025, 1025);
        b = window_layer(CIRCNN_LAYER_DEPTHWISE_CONV2D, 4, 4, 1025, 1025);
        a.weight_bytes = b.weight_bytes = 1025u * es;
        a.bias_bytes = b.bias_bytes = 1025u * 4u;
        check_pair("depthwise_conv2d", dtype, a, b, 0, 0);

        /* bc_conv2d, k = 4: 2048 x 2048 x 4 (2^24 elements, the limit) to
         * 2048 x 2048 x 1025; weights 1 x 1 x 257 x 1 x 4.  Its input
         * spectra make the scratch large (37.7 MB for q15) but below the
         * arena's limit: a validator that lets the shape through answers
         * CIRCNN_ERR_ARENA for it (the blob valid, the test's arena small). */
        a = window_layer(CIRCNN_LAYER_BC_CONV2D, 2048, 2048, 4, 1025);
        b = window_layer(CIRCNN_LAYER_BC_CONV2D, 4, 4, 4, 1025);
        a.k = b.k = 4;
        a.weight_bytes = b.weight_bytes = 257u * 4u * es;
        a.scale_bytes = b.scale_bytes = 1025u * es;
        check_pair("bc_conv2d", dtype, a, b, bc_conv2d_arena(dtype, &a), bc_conv2d_arena(dtype, &b));
    }
}

/* Flatten of 2 x 32769 x 65535 (2^32 + 65534 elements) to 65534 features,
 * alone and followed by a dense layer. */
static void test_flatten_dense(void)
{
    for (uint32_t dtype = CIRCNN_DTYPE_F32; dtype <= CIRCNN_DTYPE_Q15; dtype++) {
        const uint32_t es = dtype == CIRCNN_DTYPE_F32 ? 4u : 2u;
        const uint32_t big[3] = {2, 32769, 65535}, small[3] = {2, 3, 5};
        for (int wrapped = 0; wrapped < 2; wrapped++) {
            const uint32_t *in = wrapped ? big : small;
            const uint32_t n = wrapped ? 65534u : 30u;
            layer_t l[2];
            memset(l, 0, sizeof l);
            l[0].type = CIRCNN_LAYER_FLATTEN;
            memcpy(l[0].in, in, sizeof l[0].in);
            l[0].out[0] = l[0].out[1] = 1;
            l[0].out[2] = n;
            l[1].type = CIRCNN_LAYER_DENSE;
            memcpy(l[1].in, l[0].out, sizeof l[1].in);
            l[1].out[0] = l[1].out[1] = l[1].out[2] = 1;
            l[1].weight_bytes = n * es;
            const circnn_status_t want = wrapped ? CIRCNN_ERR_SHAPE : CIRCNN_OK;
            for (uint32_t count = 1; count <= 2; count++) {
                /* two layers: one activation buffer of n elements */
                uint32_t arena = count == 1 ? 0u : (n * es + 15u) & ~15u;
                builder_t bl = build(dtype, l, count, arena);
                circnn_model_t m;
                circnn_status_t s = init(&bl, &m);
                CHECK(s == want, "flatten %ux%ux%u -> %u%s: %s (input_count %u), want %s", in[0], in[1], in[2], n,
                      count == 2 ? " -> dense" : "", circnn_status_string(s), m.input_count,
                      circnn_status_string(want));
            }
        }
    }
}

/* A valid blob whose arena figure is off: CIRCNN_ERR_HEADER, and
 * model.arena_bytes says the right figure. */
static void test_arena_figure(void)
{
    layer_t e = window_layer(CIRCNN_LAYER_BC_CONV2D, 8, 8, 4, 8);
    e.k = 4;
    e.weight_bytes = 2u * 4u * 2u;
    uint32_t right = bc_conv2d_arena(CIRCNN_DTYPE_Q15, &e);
    circnn_model_t m;
    builder_t bl = build(CIRCNN_DTYPE_Q15, &e, 1, right + 16u);
    circnn_status_t s = init(&bl, &m);
    CHECK(s == CIRCNN_ERR_HEADER && m.arena_bytes == right, "arena figure off by 16: %s, arena_bytes %u, want %u",
          circnn_status_string(s), m.arena_bytes, right);
    bl = build(CIRCNN_DTYPE_Q15, &e, 1, right);
    s = init(&bl, &m);
    CHECK(s == CIRCNN_ERR_ARENA && m.arena_bytes == right, "arena of 512 bytes: %s, arena_bytes %u, want %u",
          circnn_status_string(s), m.arena_bytes, right);
}

/* The scratch size functions: SIZE_MAX for a shape their check refuses
 * (never a wrapped figure, never a division by a zero block size). */
static void test_scratch_sizes(void)
{
    const uint32_t bad[][3] = {{16, 16, 0}, {16, 16, 3}, {16, 16, 2048}, {0, 16, 4}, {16, 0, 4}, {70000, 16, 4},
                               {16, 70000, 4}, {0xFFFFFFFFu, 0xFFFFFFFFu, 2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const uint32_t n = bad[i][0], m = bad[i][1], k = bad[i][2];
        CHECK(circnn_bc_dense_check(n, m, k) != CIRCNN_OK, "bc_dense %u -> %u, k = %u: accepted", n, m, k);
        CHECK(circnn_bc_dense_f32_scratch_bytes(n, m, k) == SIZE_MAX, "bc_dense f32 %u -> %u, k = %u: %zu", n, m,
              k, circnn_bc_dense_f32_scratch_bytes(n, m, k));
        CHECK(circnn_bc_dense_q15_scratch_bytes(n, m, k) == SIZE_MAX, "bc_dense q15 %u -> %u, k = %u: %zu", n, m,
              k, circnn_bc_dense_q15_scratch_bytes(n, m, k));
        CHECK(circnn_bc_dense_weight_count(n, m, k) == SIZE_MAX, "bc_dense weights %u -> %u, k = %u: %zu", n, m, k,
              circnn_bc_dense_weight_count(n, m, k));
    }
    CHECK(circnn_bc_dense_q15_scratch_bytes(65536, 65536, 2) < SIZE_MAX, "bc_dense at the limit refused");
    CHECK(circnn_bc_dense_weight_count(65536, 65536, 2) == (size_t)1 << 31, "bc_dense weights at the limit: %zu",
          circnn_bc_dense_weight_count(65536, 65536, 2));

    circnn_window_t g;
    memset(&g, 0, sizeof g);
    g.in_h = g.in_w = 8;
    g.in_c = 8;
    g.out_c = 8;
    g.kernel_h = g.kernel_w = g.stride = 1;
    CHECK(circnn_window_geometry(&g, CIRCNN_PAD_VALID) == CIRCNN_OK, "test setup: geometry");
    const uint32_t ks[] = {0, 3, 2048};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        CHECK(circnn_bc_conv2d_f32_scratch_bytes(&g, ks[i]) == SIZE_MAX, "bc_conv2d f32 k = %u: %zu", ks[i],
              circnn_bc_conv2d_f32_scratch_bytes(&g, ks[i]));
        CHECK(circnn_bc_conv2d_q15_scratch_bytes(&g, ks[i]) == SIZE_MAX, "bc_conv2d q15 k = %u: %zu", ks[i],
              circnn_bc_conv2d_q15_scratch_bytes(&g, ks[i]));
    }
    /* 4096 x 4096 pixels, k = 1024 on one channel: 2^34 spectral reals. */
    g.in_h = g.in_w = g.out_h = g.out_w = 4096;
    g.in_c = 1;
    const size_t f32 = circnn_bc_conv2d_f32_scratch_bytes(&g, 1024);
    const uint64_t want = ((uint64_t)1 << 36) + (2u * 1024u + 1024u) * 4u;
    CHECK(sizeof(size_t) < 8 ? f32 == SIZE_MAX : (uint64_t)f32 == want, "bc_conv2d f32 4096^2 pixels, k = 1024: %zu",
          f32);
}

int main(void)
{
    test_window_layers();
    test_flatten_dense();
    test_arena_figure();
    test_scratch_sizes();
    return test_summary("test_model_limits_c");
}
