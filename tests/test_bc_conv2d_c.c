/*
 * test_bc_conv2d_c.c - the block-circulant 2-D convolution (circnn/bc_conv2d.h)
 * against an explicit convolution in double.
 *
 * The layer is defined by random time-domain vectors w[a][b][i][j] (one
 * k-vector per tap and block); the oracle builds each tap's channel matrix
 *     W_ab[co][ci] = w[a][b][co / k][ci / k][(co - ci) mod k]
 * and convolves explicitly (cross-correlation, zero padding, HWC), in double.
 * The layer gets the packed spectra of the w computed by a naive double DFT.
 * f32: max error <= 1e-5 of max |y|, with and without bias / scale / ReLU.
 * q15: weights quantised with power-of-two scales, SNR >= 50 dB, saturation.
 * Scratch is exactly the size the library asks for, 8-byte (not 16-byte)
 * aligned, poisoned before each call, with guard bytes after it; y has guards
 * too; x, weights, bias and scale must come back unchanged.
 */
#include "circnn/bc_conv2d.h"
#include "circnn/status.h"
#include "c_test_util.h"

#define F32_TOL 1e-5
#define Q15_SNR_MIN 50.0

typedef struct {
    uint16_t in_h, in_w, in_c, out_c;
    uint8_t kh, kw, stride;
    uint32_t padding; /* CIRCNN_PAD_VALID, CIRCNN_PAD_SAME, or 2: pad_top/pad_left/out given */
    uint8_t pad_top, pad_left;
    uint16_t out_h, out_w;
    uint32_t k;
} shape_t;

typedef struct {
    circnn_window_t g;
    uint32_t k, p, q;
    size_t count;   /* kh * kw * p * q * k */
    double *w;      /* time-domain vectors */
    double *spec;   /* their packed spectra */
} layer_ref_t;

static uint32_t blocks(uint32_t n, uint32_t k)
{
    return (n + k - 1u) / k;
}

static layer_ref_t make_layer(rng_t *rng, const shape_t *s)
{
    layer_ref_t L;
    memset(&L.g, 0, sizeof L.g);
    L.g.in_h = s->in_h;
    L.g.in_w = s->in_w;
    L.g.in_c = s->in_c;
    L.g.out_c = s->out_c;
    L.g.kernel_h = s->kh;
    L.g.kernel_w = s->kw;
    L.g.stride = s->stride;
    if (s->padding == 2) {
        L.g.pad_top = s->pad_top;
        L.g.pad_left = s->pad_left;
        L.g.out_h = s->out_h;
        L.g.out_w = s->out_w;
    } else {
        CHECK(circnn_window_geometry(&L.g, s->padding) == CIRCNN_OK, "window_geometry failed");
    }
    L.k = s->k;
    L.p = blocks(s->out_c, s->k);
    L.q = blocks(s->in_c, s->k);
    L.count = (size_t)s->kh * s->kw * L.p * L.q * s->k;
    L.w = (double *)xmalloc(L.count * sizeof(double));
    L.spec = (double *)xmalloc(L.count * sizeof(double));
    double amplitude = 1.0 / sqrt((double)s->kh * s->kw * s->in_c);
    for (size_t i = 0; i < L.count; i++) L.w[i] = amplitude * rng_uniform(rng);
    for (size_t b = 0; b < L.count / s->k; b++) dft_packed(L.w + b * s->k, L.spec + b * s->k, s->k);
    return L;
}

static void free_layer(layer_ref_t *L)
{
    free(L->w);
    free(L->spec);
}

static size_t out_count(const circnn_window_t *g)
{
    return (size_t)g->out_h * g->out_w * g->out_c;
}

/* y = scale * conv(W, x) + bias in double (scale, bias optional). */
static void conv_ref(const layer_ref_t *L, const double *x, const double *scale, const double *bias,
                     double *y)
{
    const circnn_window_t *g = &L->g;
    const uint32_t k = L->k;
    for (uint32_t oy = 0; oy < g->out_h; oy++)
        for (uint32_t ox = 0; ox < g->out_w; ox++)
            for (uint32_t co = 0; co < g->out_c; co++) {
                double acc = 0.0;
                for (uint32_t a = 0; a < g->kernel_h; a++) {
                    long iy = (long)oy * g->stride + a - g->pad_top;
                    if (iy < 0 || iy >= g->in_h) continue;
                    for (uint32_t b = 0; b < g->kernel_w; b++) {
                        long ix = (long)ox * g->stride + b - g->pad_left;
                        if (ix < 0 || ix >= g->in_w) continue;
                        const double *px = x + ((size_t)iy * g->in_w + (size_t)ix) * g->in_c;
                        for (uint32_t ci = 0; ci < g->in_c; ci++) {
                            size_t blk = (((size_t)a * g->kernel_w + b) * L->p + co / k) * L->q + ci / k;
                            acc += L->w[blk * k + (co % k + k - ci % k) % k] * px[ci];
                        }
                    }
                }
                if (scale) acc *= scale[co];
                if (bias) acc += bias[co];
                y[((size_t)oy * g->out_w + ox) * g->out_c + co] = acc;
            }
}

static double max_abs(const double *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) > m) m = fabs(v[i]);
    return m;
}

static void describe(const shape_t *s, const layer_ref_t *L, char *buf, size_t size)
{
    snprintf(buf, size, "%ux%ux%u -> %ux%ux%u kernel %ux%u stride %u pad (%u,%u) k=%u", (unsigned)s->in_h,
             (unsigned)s->in_w, (unsigned)s->in_c, (unsigned)L->g.out_h, (unsigned)L->g.out_w,
             (unsigned)s->out_c, (unsigned)s->kh, (unsigned)s->kw, (unsigned)s->stride,
             (unsigned)L->g.pad_top, (unsigned)L->g.pad_left, (unsigned)s->k);
}

/* ------------------------------------------------------------------------ */
/* f32 */

static void run_f32(const shape_t *s, uint32_t seed)
{
    rng_t rng = rng_seed(seed);
    layer_ref_t L = make_layer(&rng, s);
    const circnn_window_t *g = &L.g;
    char what[160];
    describe(s, &L, what, sizeof what);
    CHECK(circnn_bc_conv2d_check(g, s->k) == CIRCNN_OK, "%s: check refused", what);

    size_t nx = (size_t)s->in_h * s->in_w * s->in_c, ny = out_count(g);
    float *weight = (float *)xmalloc(L.count * sizeof(float));
    float *x = (float *)xmalloc(nx * sizeof(float));
    float *bias = (float *)xmalloc(s->out_c * sizeof(float));
    float *scale = (float *)xmalloc(s->out_c * sizeof(float));
    double *xd = (double *)xmalloc(nx * sizeof(double));
    double *bd = (double *)xmalloc(s->out_c * sizeof(double));
    double *sd = (double *)xmalloc(s->out_c * sizeof(double));
    double *ref = (double *)xmalloc(ny * sizeof(double));
    float *copy = (float *)xmalloc((L.count + nx + 2u * s->out_c) * sizeof(float));

    for (size_t i = 0; i < L.count; i++) weight[i] = (float)L.spec[i];
    for (size_t i = 0; i < nx; i++) {
        x[i] = (float)rng_uniform(&rng);
        xd[i] = (double)x[i];
    }
    for (uint32_t c = 0; c < s->out_c; c++) {
        bias[c] = (float)(0.5 * rng_uniform(&rng));
        scale[c] = (float)(1.25 + 0.75 * rng_uniform(&rng));
        bd[c] = (double)bias[c];
        sd[c] = (double)scale[c];
    }
    memcpy(copy, weight, L.count * sizeof(float));
    memcpy(copy + L.count, x, nx * sizeof(float));
    memcpy(copy + L.count + nx, bias, s->out_c * sizeof(float));
    memcpy(copy + L.count + nx + s->out_c, scale, s->out_c * sizeof(float));

    size_t sb = circnn_bc_conv2d_f32_scratch_bytes(g, s->k);
    guarded_t gs, gy;
    void *scratch = guarded_alloc(&gs, sb);
    float *y = (float *)guarded_alloc(&gy, ny * sizeof(float));

    circnn_bc_conv2d_f32_t layer;
    layer.g = *g;
    layer.block_size = s->k;
    layer.weight = weight;

    for (int variant = 0; variant < 4; variant++) {
        int with_bias = variant & 1, with_scale = variant >= 2, relu = variant == 3;
        layer.bias = with_bias ? bias : NULL;
        layer.scale = with_scale ? scale : NULL;
        layer.relu = relu ? 1u : 0u;
        conv_ref(&L, xd, with_scale ? sd : NULL, with_bias ? bd : NULL, ref);
        double top = max_abs(ref, ny);
        guarded_poison(&gs, 0xFF); /* NaN everywhere: the layer must not read it */
        guarded_poison(&gy, 0xFF);
        circnn_bc_conv2d_f32(&layer, x, y, scratch);
        CHECK(guarded_intact(&gs), "f32 %s: wrote outside scratch (%lu bytes)", what, (unsigned long)sb);
        CHECK(guarded_intact(&gy), "f32 %s: wrote outside y", what);
        double worst = 0.0;
        size_t worst_i = 0;
        for (size_t i = 0; i < ny; i++) {
            double want = (relu && ref[i] < 0.0) ? 0.0 : ref[i];
            double err = fabs((double)y[i] - want);
            if (!(err <= worst)) { /* also catches NaN */
                worst = err;
                worst_i = i;
            }
            if (relu) CHECK(y[i] >= 0.0f, "f32 relu %s: y[%lu] = %g", what, (unsigned long)i, (double)y[i]);
        }
        CHECK(worst <= F32_TOL * top, "f32 %s bias=%d scale=%d relu=%d: max error %.3g at %lu > %.0e * %.3g",
              what, with_bias, with_scale, relu, worst, (unsigned long)worst_i, F32_TOL, top);
    }
    CHECK(memcmp(copy, weight, L.count * sizeof(float)) == 0, "f32 %s: weight modified", what);
    CHECK(memcmp(copy + L.count, x, nx * sizeof(float)) == 0, "f32 %s: x modified", what);
    CHECK(memcmp(copy + L.count + nx, bias, s->out_c * sizeof(float)) == 0, "f32 %s: bias modified", what);
    CHECK(memcmp(copy + L.count + nx + s->out_c, scale, s->out_c * sizeof(float)) == 0, "f32 %s: scale modified",
          what);

    guarded_free(&gs);
    guarded_free(&gy);
    free(weight);
    free(x);
    free(bias);
    free(scale);
    free(xd);
    free(bd);
    free(sd);
    free(ref);
    free(copy);
    free_layer(&L);
}

static const shape_t SHAPES[] = {
    /* in_h in_w in_c out_c kh kw stride padding (pads, out: custom only) k */
    {1, 1, 5, 3, 1, 1, 1, CIRCNN_PAD_VALID, 0, 0, 0, 0, 2},
    {1, 1, 16, 16, 1, 1, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 8},
    {1, 1, 7, 9, 3, 3, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 4},      /* 1x1 image, 3x3 kernel */
    {5, 7, 3, 5, 3, 3, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 2},
    {5, 7, 3, 5, 3, 3, 1, CIRCNN_PAD_VALID, 0, 0, 0, 0, 2},
    {8, 6, 9, 7, 2, 2, 2, CIRCNN_PAD_SAME, 0, 0, 0, 0, 4},
    {9, 9, 10, 6, 5, 5, 2, CIRCNN_PAD_SAME, 0, 0, 0, 0, 8},
    {9, 11, 17, 33, 5, 5, 1, CIRCNN_PAD_VALID, 0, 0, 0, 0, 16},
    {6, 10, 20, 12, 3, 1, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 4},   /* non-square kernel */
    {13, 17, 6, 6, 7, 7, 4, CIRCNN_PAD_SAME, 0, 0, 0, 0, 2},
    {4, 4, 64, 64, 3, 3, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 64},
    {3, 5, 100, 40, 3, 3, 2, CIRCNN_PAD_VALID, 0, 0, 0, 0, 128},
    {2, 2, 3, 5, 2, 2, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 1024},    /* one huge block */
    {6, 5, 7, 9, 3, 3, 1, 2, 2, 0, 8, 3, 4},                     /* "full" rows, no column padding */
    {6, 5, 7, 9, 3, 2, 2, 2, 1, 1, 3, 3, 4},                     /* custom, windows on the edges */
};

static void test_f32(void)
{
    size_t n = sizeof SHAPES / sizeof SHAPES[0];
    for (size_t i = 0; i < n; i++) run_f32(&SHAPES[i], 1000u + (uint32_t)i);
    printf("f32: %lu shapes x 4 variants against the double convolution (bound %.0e of max |y|)\n",
           (unsigned long)n, F32_TOL);
}

/* ------------------------------------------------------------------------ */
/* q15 */

/* floor(log2(v)) for v > 0. */
static int ilog2(double v)
{
    int e;
    frexp(v, &e);
    return e - 1;
}

static int16_t quantize16(double v)
{
    double r = floor(v + 0.5);
    if (r > 32767.0) return 32767;
    if (r < -32768.0) return -32768;
    return (int16_t)r;
}

/* Quantise the float layer for x = x_int / 2^in_frac and y = y_int / 2^out_frac,
 * run it, and return the SNR of the dequantised output against double on the
 * quantised input. */
static double run_q15(const shape_t *s, uint32_t seed, int saturate)
{
    rng_t rng = rng_seed(seed);
    layer_ref_t L = make_layer(&rng, s);
    const circnn_window_t *g = &L.g;
    char what[160];
    describe(s, &L, what, sizeof what);
    size_t nx = (size_t)s->in_h * s->in_w * s->in_c, ny = out_count(g);
    const int in_frac = 12;
    int16_t *x = (int16_t *)xmalloc(nx * sizeof(int16_t));
    double *xd = (double *)xmalloc(nx * sizeof(double));
    double *bd = (double *)xmalloc(s->out_c * sizeof(double));
    double *sd = (double *)xmalloc(s->out_c * sizeof(double));
    double *ref = (double *)xmalloc(ny * sizeof(double));
    double *got = (double *)xmalloc(ny * sizeof(double));
    int16_t *weight = (int16_t *)xmalloc(L.count * sizeof(int16_t));
    int32_t *bias = (int32_t *)xmalloc(s->out_c * sizeof(int32_t));
    int16_t *scale = (int16_t *)xmalloc(s->out_c * sizeof(int16_t));

    if (saturate) /* all-positive weights and a full-scale input */
        for (size_t i = 0; i < L.count / s->k; i++) {
            for (uint32_t t = 0; t < s->k; t++) L.w[i * s->k + t] = fabs(L.w[i * s->k + t]) * 8.0;
            dft_packed(L.w + i * s->k, L.spec + i * s->k, s->k);
        }
    for (size_t i = 0; i < nx; i++) {
        x[i] = saturate ? (int16_t)32767 : (int16_t)rng_int(&rng, -29000, 29000);
        xd[i] = ldexp((double)x[i], -in_frac);
    }
    double smax = 0.0;
    for (uint32_t c = 0; c < s->out_c; c++) {
        bd[c] = saturate ? 0.0 : 0.5 * rng_uniform(&rng);
        sd[c] = 1.25 + 0.75 * rng_uniform(&rng);
        if (sd[c] > smax) smax = sd[c];
    }
    conv_ref(&L, xd, sd, bd, ref);
    /* Output scale from the data, one bit of headroom (quantization.frac_bits, kernels.HEADROOM_BITS). */
    int out_frac = saturate ? 10 : ilog2(16383.0 / max_abs(ref, ny));
    /* Spectra times 2^(out_frac - in_frac), one exponent; scale one exponent. */
    double wmax = max_abs(L.spec, L.count) * ldexp(1.0, out_frac - in_frac);
    int weight_exp = ilog2(wmax / 32767.0) + 1;
    for (size_t i = 0; i < L.count; i++) weight[i] = quantize16(ldexp(L.spec[i], out_frac - in_frac - weight_exp));
    int scale_exp = ilog2(smax / 32767.0) + 1;
    for (uint32_t c = 0; c < s->out_c; c++) {
        scale[c] = quantize16(ldexp(sd[c], -scale_exp));
        bias[c] = (int32_t)floor(ldexp(bd[c], out_frac + 16) + 0.5);
    }

    size_t sb = circnn_bc_conv2d_q15_scratch_bytes(g, s->k);
    guarded_t gs, gy;
    void *scratch = guarded_alloc(&gs, sb);
    int16_t *y = (int16_t *)guarded_alloc(&gy, ny * sizeof(int16_t));
    circnn_bc_conv2d_q15_t layer;
    layer.g = *g;
    layer.block_size = s->k;
    layer.relu = 0;
    layer.weight = weight;
    layer.weight_exp = weight_exp;
    layer.bias = bias;
    layer.scale = scale;
    layer.scale_exp = scale_exp;
    guarded_poison(&gs, 0xA7);
    guarded_poison(&gy, 0xA7);
    circnn_bc_conv2d_q15(&layer, x, y, scratch);
    CHECK(guarded_intact(&gs), "q15 %s: wrote outside scratch (%lu bytes)", what, (unsigned long)sb);
    CHECK(guarded_intact(&gy), "q15 %s: wrote outside y", what);
    double snr = 0.0;
    if (saturate) {
        for (size_t i = 0; i < ny; i++) {
            CHECK(ldexp(ref[i], out_frac) > 40000.0, "q15 saturation %s: reference %g not large", what,
                  ldexp(ref[i], out_frac));
            CHECK(y[i] == 32767, "q15 saturation %s: y[%lu] = %d, want 32767", what, (unsigned long)i, y[i]);
        }
        /* the same with a negative scale: -32768, never wrapped */
        for (uint32_t c = 0; c < s->out_c; c++) scale[c] = (int16_t)-scale[c];
        circnn_bc_conv2d_q15(&layer, x, y, scratch);
        for (size_t i = 0; i < ny; i++)
            CHECK(y[i] == -32768, "q15 saturation %s: y[%lu] = %d, want -32768", what, (unsigned long)i, y[i]);
    } else {
        for (size_t i = 0; i < ny; i++) got[i] = ldexp((double)y[i], -out_frac);
        snr = snr_db(got, ref, ny);
        CHECK(snr >= Q15_SNR_MIN, "q15 %s: SNR %.1f dB < %.0f", what, snr, Q15_SNR_MIN);
        /* ReLU: exactly the clipped outputs. */
        int16_t *plain = (int16_t *)xmalloc(ny * sizeof(int16_t));
        memcpy(plain, y, ny * sizeof(int16_t));
        layer.relu = 1;
        guarded_poison(&gs, 0x00);
        circnn_bc_conv2d_q15(&layer, x, y, scratch);
        for (size_t i = 0; i < ny; i++)
            CHECK(y[i] == (plain[i] < 0 ? 0 : plain[i]), "q15 relu %s: y[%lu] = %d, plain %d", what,
                  (unsigned long)i, y[i], plain[i]);
        free(plain);
    }
    guarded_free(&gs);
    guarded_free(&gy);
    free(x);
    free(xd);
    free(bd);
    free(sd);
    free(ref);
    free(got);
    free(weight);
    free(bias);
    free(scale);
    free_layer(&L);
    return snr;
}

static void test_q15(void)
{
    static const shape_t q15_shapes[] = {
        {10, 12, 48, 40, 3, 3, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 4},
        {10, 12, 48, 40, 3, 3, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 8},
        {10, 12, 48, 40, 3, 3, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 16},
        {11, 9, 33, 20, 5, 5, 2, CIRCNN_PAD_VALID, 0, 0, 0, 0, 8},
        {1, 1, 64, 64, 1, 1, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 16},
    };
    printf("q15 against double (bound %.0f dB):\n", Q15_SNR_MIN);
    for (size_t i = 0; i < sizeof q15_shapes / sizeof q15_shapes[0]; i++) {
        double snr = run_q15(&q15_shapes[i], 77u + (uint32_t)i, 0);
        printf("  k=%-3u %ux%u kernel, %u -> %u channels: %.1f dB\n", (unsigned)q15_shapes[i].k,
               (unsigned)q15_shapes[i].kh, (unsigned)q15_shapes[i].kw, (unsigned)q15_shapes[i].in_c,
               (unsigned)q15_shapes[i].out_c, snr);
    }
    static const shape_t sat = {4, 5, 32, 32, 3, 3, 1, CIRCNN_PAD_SAME, 0, 0, 0, 0, 16};
    run_q15(&sat, 5u, 1);
}

/* ------------------------------------------------------------------------ */
/* The check */

static void test_check(void)
{
    circnn_window_t g;
    memset(&g, 0, sizeof g);
    g.in_h = 5;
    g.in_w = 6;
    g.in_c = 7;
    g.out_c = 9;
    g.kernel_h = 3;
    g.kernel_w = 3;
    g.stride = 1;
    CHECK(circnn_window_geometry(&g, CIRCNN_PAD_SAME) == CIRCNN_OK, "geometry");
    CHECK(circnn_bc_conv2d_check(&g, 4) == CIRCNN_OK, "check: valid shape refused");
    CHECK(circnn_bc_conv2d_check(NULL, 4) == CIRCNN_ERR_NULL, "check: NULL");
    CHECK(circnn_bc_conv2d_check(&g, 3) == CIRCNN_ERR_BLOCK_SIZE, "check: k = 3");
    CHECK(circnn_bc_conv2d_check(&g, 2048) == CIRCNN_ERR_BLOCK_SIZE, "check: k = 2048");
    circnn_window_t b = g;
    b.in_c = 0;
    CHECK(circnn_bc_conv2d_check(&b, 4) == CIRCNN_ERR_SHAPE, "check: in_c = 0");
    b = g;
    b.out_c = CIRCNN_MAX_DIM + 1;
    CHECK(circnn_bc_conv2d_check(&b, 4) == CIRCNN_ERR_SHAPE, "check: out_c too large");
    b = g;
    b.pad_top = 3;
    CHECK(circnn_bc_conv2d_check(&b, 4) == CIRCNN_ERR_SHAPE, "check: pad_top = kernel");
    b = g;
    b.out_w = 8;
    CHECK(circnn_bc_conv2d_check(&b, 4) == CIRCNN_ERR_SHAPE, "check: a window outside the input");
    b = g;
    b.stride = 0;
    CHECK(circnn_bc_conv2d_check(&b, 4) == CIRCNN_ERR_SHAPE, "check: stride 0");
}

int main(void)
{
    test_check();
    test_f32();
    test_q15();
    return test_summary("test_bc_conv2d_c");
}
