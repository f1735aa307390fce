/*
 * test_bc_dense_c.c - the block-circulant dense layer (circnn/bc_dense.h)
 * against an explicit dense matrix in double.
 *
 * The layer is defined by random time-domain vectors w_ij; the test builds
 *     W[r][c] = w_ij[(r - c) mod k]   (r in block i, c in block j)
 * and y = W x + b in double, and gives the layer the packed spectra of the
 * w_ij computed by a naive double DFT (the library's FFT is not used for the
 * weights).  f32: max error <= 1e-5 of max |y|.  q15: the weights are
 * quantised from the float layer with power-of-two input and output scales,
 * SNR >= 50 dB, saturation exact.  Scratch is exactly the size the library
 * asks for, 8-byte (not 16-byte) aligned, with guard bytes after it; y has
 * guards too; x, weights and bias must come back unchanged.
 */
#include "circnn/bc_dense.h"
#include "circnn/status.h"
#include "c_test_util.h"

#define F32_TOL 1e-5
#define Q15_SNR_MIN 50.0

static uint32_t blocks(uint32_t n, uint32_t k)
{
    return (n + k - 1u) / k;
}

/* ------------------------------------------------------------------------ */
/* The float layer and its oracle */

typedef struct {
    uint32_t m, n, k, p, q;
    double *w;     /* p * q * k time-domain defining vectors, block (i, j) at (i q + j) k */
    double *dense; /* m * n, row major */
    double *spec;  /* p * q * k packed spectra (double DFT of w) */
} layer_ref_t;

static layer_ref_t make_layer(rng_t *rng, uint32_t m, uint32_t n, uint32_t k, double amplitude)
{
    layer_ref_t L;
    L.m = m;
    L.n = n;
    L.k = k;
    L.p = blocks(m, k);
    L.q = blocks(n, k);
    size_t count = (size_t)L.p * L.q * k;
    L.w = (double *)xmalloc(count * sizeof(double));
    L.spec = (double *)xmalloc(count * sizeof(double));
    L.dense = (double *)xmalloc((size_t)m * n * sizeof(double));
    for (size_t i = 0; i < count; i++) L.w[i] = amplitude * rng_uniform(rng);
    /* The explicit matrix, straight from the definition. */
    for (uint32_t r = 0; r < m; r++) {
        uint32_t i = r / k, rr = r % k;
        for (uint32_t c = 0; c < n; c++) {
            uint32_t j = c / k, cc = c % k;
            L.dense[(size_t)r * n + c] = L.w[((size_t)i * L.q + j) * k + (rr + k - cc) % k];
        }
    }
    for (size_t b = 0; b < (size_t)L.p * L.q; b++) dft_packed(L.w + b * k, L.spec + b * k, k);
    return L;
}

static void free_layer(layer_ref_t *L)
{
    free(L->w);
    free(L->spec);
    free(L->dense);
}

/* y = W x (+ b), in double. */
static void dense_apply(const layer_ref_t *L, const double *x, const double *b, double *y)
{
    for (uint32_t r = 0; r < L->m; r++) {
        double acc = 0.0;
        const double *row = L->dense + (size_t)r * L->n;
        for (uint32_t c = 0; c < L->n; c++) acc += row[c] * x[c];
        y[r] = acc + (b ? b[r] : 0.0);
    }
}

static double max_abs(const double *v, size_t n)
{
    double a = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) > a) a = fabs(v[i]);
    return a;
}

/* Cross-check of the oracle itself: the first column of block (0, 0) is w_00
 * and each block is circulant (W[r+1][c+1] = W[r][c] inside a block). */
static void check_oracle(const layer_ref_t *L)
{
    uint32_t lim_r = L->m < L->k ? L->m : L->k, lim_c = L->n < L->k ? L->n : L->k;
    for (uint32_t r = 0; r < lim_r; r++)
        CHECK(L->dense[(size_t)r * L->n] == L->w[r], "oracle: column 0 of block (0,0) is not w_00");
    for (uint32_t r = 0; r + 1 < lim_r; r++)
        for (uint32_t c = 0; c + 1 < lim_c; c++)
            CHECK(L->dense[(size_t)(r + 1) * L->n + c + 1] == L->dense[(size_t)r * L->n + c],
                  "oracle: block (0,0) is not circulant");
}

/* ------------------------------------------------------------------------ */
/* f32 */

static long relu_zeros_checked = 0;
static double f32_worst_rel = 0.0;

static void run_f32(uint32_t m, uint32_t n, uint32_t k, int with_bias, int relu, uint32_t seed)
{
    rng_t rng = rng_seed(seed);
    CHECK(circnn_bc_dense_check(n, m, k) == CIRCNN_OK, "bc_dense_check(n=%u, m=%u, k=%u) not OK", (unsigned)n,
          (unsigned)m, (unsigned)k);
    layer_ref_t L = make_layer(&rng, m, n, k, 1.0 / sqrt((double)n));
    if (seed % 7u == 0u) check_oracle(&L);
    size_t count = (size_t)L.p * L.q * k;
    CHECK(circnn_bc_dense_weight_count(n, m, k) == count, "weight_count(n=%u, m=%u, k=%u) = %lu, want %lu",
          (unsigned)n, (unsigned)m, (unsigned)k, (unsigned long)circnn_bc_dense_weight_count(n, m, k),
          (unsigned long)count);

    float *weight = (float *)xmalloc(count * sizeof(float));
    float *weight_copy = (float *)xmalloc(count * sizeof(float));
    float *bias = (float *)xmalloc(m * sizeof(float));
    float *bias_copy = (float *)xmalloc(m * sizeof(float));
    float *x = (float *)xmalloc(n * sizeof(float));
    float *x_copy = (float *)xmalloc(n * sizeof(float));
    double *xd = (double *)xmalloc(n * sizeof(double));
    double *bd = (double *)xmalloc(m * sizeof(double));
    double *ref = (double *)xmalloc(m * sizeof(double));

    for (size_t i = 0; i < count; i++) weight[i] = (float)L.spec[i];
    for (uint32_t r = 0; r < m; r++) {
        bias[r] = (float)(0.5 * rng_uniform(&rng));
        bd[r] = (double)bias[r];
    }
    for (uint32_t c = 0; c < n; c++) {
        x[c] = (float)rng_uniform(&rng);
        xd[c] = (double)x[c];
    }
    /* The oracle uses the exact double spectra's time-domain vectors; the
     * float rounding of the spectra is part of the error budget. */
    dense_apply(&L, xd, with_bias ? bd : NULL, ref);
    double scale = max_abs(ref, m);
    memcpy(weight_copy, weight, count * sizeof(float));
    memcpy(bias_copy, bias, m * sizeof(float));
    memcpy(x_copy, x, n * sizeof(float));

    size_t sb = circnn_bc_dense_f32_scratch_bytes(n, m, k);
    guarded_t gs, gy;
    void *scratch = guarded_alloc(&gs, sb);
    float *y = (float *)guarded_alloc(&gy, m * sizeof(float));
    CHECK(((uintptr_t)scratch & 7u) == 0, "test setup: scratch not 8-byte aligned");

    circnn_bc_dense_f32_t layer;
    layer.in_features = n;
    layer.out_features = m;
    layer.block_size = k;
    layer.relu = relu ? 1u : 0u;
    layer.weight = weight;
    layer.bias = with_bias ? bias : NULL;

    /* Two calls on the same scratch, poisoned with NaN each time: the layer
     * must not depend on its contents. */
    for (int call = 0; call < 2; call++) {
        guarded_poison(&gs, 0xFF);
        guarded_poison(&gy, 0xFF);
        circnn_bc_dense_f32(&layer, x, y, scratch);
        CHECK(guarded_intact(&gs), "bc_dense_f32 m=%u n=%u k=%u: wrote outside scratch (%lu bytes)", (unsigned)m,
              (unsigned)n, (unsigned)k, (unsigned long)sb);
        CHECK(guarded_intact(&gy), "bc_dense_f32 m=%u n=%u k=%u: wrote outside y", (unsigned)m, (unsigned)n,
              (unsigned)k);
        CHECK(memcmp(x, x_copy, n * sizeof(float)) == 0, "bc_dense_f32: x modified");
        CHECK(memcmp(weight, weight_copy, count * sizeof(float)) == 0, "bc_dense_f32: weight modified");
        CHECK(memcmp(bias, bias_copy, m * sizeof(float)) == 0, "bc_dense_f32: bias modified");

        double worst = 0.0;
        uint32_t worst_r = 0;
        for (uint32_t r = 0; r < m; r++) {
            double want = (relu && ref[r] < 0.0) ? 0.0 : ref[r];
            double err = fabs((double)y[r] - want);
            if (!(err <= worst)) { /* also catches NaN */
                worst = err;
                worst_r = r;
            }
            if (relu) {
                CHECK(y[r] >= 0.0f, "bc_dense_f32 relu m=%u n=%u k=%u: y[%u] = %g < 0", (unsigned)m, (unsigned)n,
                      (unsigned)k, (unsigned)r, (double)y[r]);
                if (ref[r] < -F32_TOL * scale) {
                    CHECK(y[r] == 0.0f, "bc_dense_f32 relu m=%u n=%u k=%u: y[%u] = %g, reference %g: not exactly 0",
                          (unsigned)m, (unsigned)n, (unsigned)k, (unsigned)r, (double)y[r], ref[r]);
                    relu_zeros_checked++;
                }
            }
        }
        if (!(worst / scale <= f32_worst_rel)) f32_worst_rel = worst / scale;
        CHECK(worst <= F32_TOL * scale, "bc_dense_f32 m=%u n=%u k=%u bias=%d relu=%d: max error %.3g at y[%u] > %.0e * %.3g",
              (unsigned)m, (unsigned)n, (unsigned)k, with_bias, relu, worst, (unsigned)worst_r, F32_TOL, scale);
        if (call == 0) {
            /* second call: a fresh x */
            for (uint32_t c = 0; c < n; c++) {
                x[c] = (float)rng_uniform(&rng);
                xd[c] = (double)x[c];
            }
            memcpy(x_copy, x, n * sizeof(float));
            dense_apply(&L, xd, with_bias ? bd : NULL, ref);
            scale = max_abs(ref, m);
        }
    }

    guarded_free(&gs);
    guarded_free(&gy);
    free(weight);
    free(weight_copy);
    free(bias);
    free(bias_copy);
    free(x);
    free(x_copy);
    free(xd);
    free(bd);
    free(ref);
    free_layer(&L);
}

typedef struct {
    uint32_t m, n, k;
} shape_t;

static void test_f32(void)
{
    static const shape_t shapes[] = {
        {5, 3, 1024}, {3, 5, 1024},  {1, 1, 2},     {1, 1, 1024},  {2, 2, 2},     {10, 6, 2},
        {7, 13, 4},   {13, 7, 4},    {16, 16, 16},  {33, 70, 16},  {70, 33, 16},  {100, 300, 64},
        {64, 128, 64}, {129, 65, 64}, {256, 256, 8}, {700, 1500, 1024}, {1030, 20, 1024}, {37, 2049, 1024},
    };
    const size_t count = sizeof shapes / sizeof shapes[0];
    uint32_t seed = 1;
    for (size_t s = 0; s < count; s++)
        for (int variant = 0; variant < 4; variant++)
            run_f32(shapes[s].m, shapes[s].n, shapes[s].k, variant & 1, variant >> 1, seed++);
    CHECK(relu_zeros_checked > 100, "too few negative outputs to test the ReLU (%ld)", relu_zeros_checked);
    printf("f32: %lu shapes x {no bias, bias} x {no relu, relu}: worst max error %.2e of max |y| (bound %.0e); "
           "%ld relu zeros checked\n",
           (unsigned long)count, f32_worst_rel, F32_TOL, relu_zeros_checked);
}

/* ------------------------------------------------------------------------ */
/* q15 */

typedef struct {
    double snr;
    double signal, noise; /* sums of squares behind snr, for pooling */
    long saturated;  /* outputs far beyond int16 checked for exact saturation */
    long relu_zeros; /* outputs far below 0 checked for exactly 0 */
} q15_run_t;

static int16_t sat16_of_long(long v)
{
    return v > 32767 ? (int16_t)32767 : v < -32768 ? (int16_t)-32768 : (int16_t)v;
}

/*
 * Quantise the float layer: input scale 2^-15 (x real = x_int / 2^15),
 * output scale 2^-sy with sy the largest integer that puts max |y| at or
 * below out_target integers; the integer layer maps x_int to y_int, so its
 * time-domain weights are w * 2^(sy - 15); their spectra are int16 mantissas
 * with one exponent, the bias is round(b * 2^(sy + 16)).
 * out_target beyond 32767 makes outputs saturate.
 */
static q15_run_t run_q15(uint32_t m, uint32_t n, uint32_t k, int with_bias, int relu, double out_target,
                         int mixed_block_scales, uint32_t seed)
{
    q15_run_t res;
    rng_t rng = rng_seed(seed);
    const int sx = 15;
    CHECK(circnn_bc_dense_check(n, m, k) == CIRCNN_OK, "bc_dense_check(n=%u, m=%u, k=%u) not OK", (unsigned)n,
          (unsigned)m, (unsigned)k);
    layer_ref_t L = make_layer(&rng, m, n, k, 1.0 / sqrt((double)n));
    size_t count = (size_t)L.p * L.q * k;
    CHECK(circnn_bc_dense_weight_count(n, m, k) == count, "weight_count(n=%u, m=%u, k=%u) wrong", (unsigned)n,
          (unsigned)m, (unsigned)k);

    double *bd = (double *)xmalloc(m * sizeof(double));
    double *xd = (double *)xmalloc(n * sizeof(double));
    double *ref = (double *)xmalloc(m * sizeof(double));
    int16_t *x = (int16_t *)xmalloc(n * sizeof(int16_t));
    int16_t *x_copy = (int16_t *)xmalloc(n * sizeof(int16_t));
    int16_t *weight = (int16_t *)xmalloc(count * sizeof(int16_t));
    int16_t *weight_copy = (int16_t *)xmalloc(count * sizeof(int16_t));
    int32_t *bias = (int32_t *)xmalloc(m * sizeof(int32_t));
    int32_t *bias_copy = (int32_t *)xmalloc(m * sizeof(int32_t));

    for (uint32_t r = 0; r < m; r++) bd[r] = 0.25 * rng_uniform(&rng);
    /* mixed_block_scales: input block j at 2^-s_j of full scale, s_j random
     * in [0, 12], so that the block spectra come with different exponents. */
    int block_shift = 0;
    for (uint32_t c = 0; c < n; c++) {
        if (mixed_block_scales && c % k == 0) block_shift = (c == k) ? 0 : (int)rng_int(&rng, 0, 12);
        long v = lround(ldexp(rng_uniform(&rng), 15 - block_shift));
        x[c] = sat16_of_long(v);
        xd[c] = ldexp((double)x[c], -sx); /* the input the integers stand for */
    }
    dense_apply(&L, xd, with_bias ? bd : NULL, ref);
    double top = max_abs(ref, m);
    int sy = (int)floor(log2(out_target / top));

    /* Weight spectra in integer units, one exponent. */
    double spec_max = 0.0;
    for (size_t i = 0; i < count; i++) {
        double v = fabs(ldexp(L.spec[i], sy - sx));
        if (v > spec_max) spec_max = v;
    }
    int32_t wexp = (int32_t)ceil(log2(spec_max / 32767.0));
    if (floor(ldexp(spec_max, -(int)wexp) + 0.5) > 32767.0) wexp++;
    for (size_t i = 0; i < count; i++) {
        double v = floor(ldexp(L.spec[i], sy - sx - (int)wexp) + 0.5);
        CHECK(v >= -32767.0 && v <= 32767.0, "test setup: weight mantissa %g out of range", v);
        weight[i] = (int16_t)v;
    }
    /* The bias in int32 with 16 fraction bits holds at most +-32768 output
     * integers: clamp it (the saturation tests go beyond), and give the
     * reference the bias the layer actually gets. */
    for (uint32_t r = 0; r < m; r++) {
        double v = floor(ldexp(bd[r], sy + CIRCNN_Q15_BIAS_FRAC_BITS) + 0.5);
        v = v > 2147483647.0 ? 2147483647.0 : v < -2147483648.0 ? -2147483648.0 : v;
        bias[r] = (int32_t)v;
        bd[r] = ldexp(v, -(sy + CIRCNN_Q15_BIAS_FRAC_BITS));
    }
    dense_apply(&L, xd, with_bias ? bd : NULL, ref);
    memcpy(x_copy, x, n * sizeof(int16_t));
    memcpy(weight_copy, weight, count * sizeof(int16_t));
    memcpy(bias_copy, bias, m * sizeof(int32_t));

    size_t sb = circnn_bc_dense_q15_scratch_bytes(n, m, k);
    guarded_t gs, gy;
    void *scratch = guarded_alloc(&gs, sb);
    int16_t *y = (int16_t *)guarded_alloc(&gy, m * sizeof(int16_t));
    guarded_poison(&gs, 0xA7);
    guarded_poison(&gy, 0xA7);

    circnn_bc_dense_q15_t layer;
    layer.in_features = n;
    layer.out_features = m;
    layer.block_size = k;
    layer.relu = relu ? 1u : 0u;
    layer.weight = weight;
    layer.weight_exp = wexp;
    layer.bias = with_bias ? bias : NULL;
    circnn_bc_dense_q15(&layer, x, y, scratch);

    CHECK(guarded_intact(&gs), "bc_dense_q15 m=%u n=%u k=%u: wrote outside scratch (%lu bytes)", (unsigned)m,
          (unsigned)n, (unsigned)k, (unsigned long)sb);
    CHECK(guarded_intact(&gy), "bc_dense_q15 m=%u n=%u k=%u: wrote outside y", (unsigned)m, (unsigned)n,
          (unsigned)k);
    CHECK(memcmp(x, x_copy, n * sizeof(int16_t)) == 0, "bc_dense_q15: x modified");
    CHECK(memcmp(weight, weight_copy, count * sizeof(int16_t)) == 0, "bc_dense_q15: weight modified");
    CHECK(memcmp(bias, bias_copy, m * sizeof(int32_t)) == 0, "bc_dense_q15: bias modified");

    /* Compare in real units: y_int * 2^-sy against the double reference. */
    double *want = (double *)xmalloc(m * sizeof(double));
    double *got = (double *)xmalloc(m * sizeof(double));
    double lsb = ldexp(1.0, -sy), full = 32768.0 * lsb;
    double noise_tol = 0.01 * out_target * lsb; /* 40 dB below the largest output */
    res.saturated = 0;
    res.relu_zeros = 0;
    for (uint32_t r = 0; r < m; r++) {
        want[r] = (relu && ref[r] < 0.0) ? 0.0 : ref[r];
        got[r] = ldexp((double)y[r], -sy);
        if (relu) {
            CHECK(y[r] >= 0, "bc_dense_q15 relu m=%u n=%u k=%u: y[%u] = %d < 0", (unsigned)m, (unsigned)n, (unsigned)k,
                  (unsigned)r, y[r]);
            if (ref[r] < -noise_tol) {
                CHECK(y[r] == 0, "bc_dense_q15 relu m=%u n=%u k=%u: y[%u] = %d, reference %.1f: not 0", (unsigned)m,
                      (unsigned)n, (unsigned)k, (unsigned)r, y[r], ref[r] / lsb);
                res.relu_zeros++;
            }
        }
        if (out_target > 32767.0) {
            /* Saturation: far beyond int16 gives exactly the limit, never a
             * wrapped value; in range, the value within the noise. */
            if (want[r] >= full + noise_tol) {
                CHECK(y[r] == 32767, "bc_dense_q15 saturation m=%u n=%u k=%u: y[%u] = %d, true value %.0f",
                      (unsigned)m, (unsigned)n, (unsigned)k, (unsigned)r, y[r], want[r] / lsb);
                res.saturated++;
            } else if (want[r] <= -full - noise_tol) {
                CHECK(y[r] == -32768, "bc_dense_q15 saturation m=%u n=%u k=%u: y[%u] = %d, true value %.0f",
                      (unsigned)m, (unsigned)n, (unsigned)k, (unsigned)r, y[r], want[r] / lsb);
                res.saturated++;
            } else if (fabs(want[r]) < full) {
                CHECK(fabs(got[r] - want[r]) <= noise_tol,
                      "bc_dense_q15 saturation test m=%u n=%u k=%u: in-range y[%u] = %d, true value %.0f",
                      (unsigned)m, (unsigned)n, (unsigned)k, (unsigned)r, y[r], want[r] / lsb);
            } else {
                CHECK((want[r] > 0 && y[r] >= 32767 - (long)(noise_tol / lsb)) ||
                          (want[r] < 0 && y[r] <= -32768 + (long)(noise_tol / lsb)),
                      "bc_dense_q15 saturation m=%u n=%u k=%u: y[%u] = %d, true value %.0f", (unsigned)m, (unsigned)n,
                      (unsigned)k, (unsigned)r, y[r], want[r] / lsb);
            }
        }
    }
    res.snr = snr_db(got, want, m);
    res.signal = res.noise = 0.0;
    for (uint32_t r = 0; r < m; r++) {
        res.signal += want[r] * want[r];
        res.noise += (got[r] - want[r]) * (got[r] - want[r]);
    }

    free(want);
    free(got);
    guarded_free(&gs);
    guarded_free(&gy);
    free(bd);
    free(xd);
    free(ref);
    free(x);
    free(x_copy);
    free(weight);
    free(weight_copy);
    free(bias);
    free(bias_copy);
    free_layer(&L);
    return res;
}

static void test_q15_snr(void)
{
    static const uint32_t ks[] = {8, 16, 64, 256};
    static const shape_t sizes[] = {{256, 256, 0}, {100, 300, 0}, {300, 100, 0}};
    uint32_t seed = 1000;
    long relu_zeros = 0;
    printf("\nq15 bc_dense, worst SNR in dB over {no bias, bias} x {no relu, relu} (bound %.0f)\n", Q15_SNR_MIN);
    printf("%12s", "m x n");
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) printf("   k=%-5u", (unsigned)ks[ki]);
    printf("\n");
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        char label[32];
        snprintf(label, sizeof label, "%ux%u", (unsigned)sizes[si].m, (unsigned)sizes[si].n);
        double row[sizeof ks / sizeof ks[0]];
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
            double worst = 999.0;
            for (int variant = 0; variant < 4; variant++) {
                q15_run_t r = run_q15(sizes[si].m, sizes[si].n, ks[ki], variant & 1, variant >> 1, 16384.0, 0, seed++);
                CHECK(r.snr >= Q15_SNR_MIN, "bc_dense_q15 %s k=%u bias=%d relu=%d: SNR %.1f dB < %.0f", label,
                      (unsigned)ks[ki], variant & 1, variant >> 1, r.snr, Q15_SNR_MIN);
                if (r.snr < worst) worst = r.snr;
                relu_zeros += r.relu_zeros;
            }
            row[ki] = worst;
        }
        printf("%12s", label);
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) printf("   %7.1f", row[ki]);
        printf("\n");
    }

    /* Odd shapes, extreme block sizes, input blocks of unequal scales.  With
     * a handful of outputs one run's SNR is a poor statistic (after a ReLU
     * maybe one or two values), so the error energy is pooled over 8 inputs
     * and layers per variant. */
    static const struct {
        uint32_t m, n, k;
        int mixed;
    } odd[] = {{5, 3, 1024, 0},  {3, 5, 1024, 0},    {7, 13, 4, 0},   {10, 6, 2, 0},    {33, 70, 16, 0},
               {129, 65, 32, 0}, {64, 200, 1024, 0}, {2, 2, 2, 0},    {256, 256, 16, 1}, {100, 300, 8, 1},
               {64, 4096, 256, 1}, {40, 3000, 1024, 1}};
    printf("\nother shapes, SNR in dB pooled over 8 runs, worst of the 4 variants (bound %.0f)\n", Q15_SNR_MIN);
    for (size_t s = 0; s < sizeof odd / sizeof odd[0]; s++) {
        double worst = 999.0;
        for (int variant = 0; variant < 4; variant++) {
            double signal = 0.0, noise = 0.0;
            for (int trial = 0; trial < 8; trial++) {
                q15_run_t r =
                    run_q15(odd[s].m, odd[s].n, odd[s].k, variant & 1, variant >> 1, 16384.0, odd[s].mixed, seed++);
                signal += r.signal;
                noise += r.noise;
                relu_zeros += r.relu_zeros;
            }
            double snr = noise > 0.0 ? 10.0 * log10(signal / noise) : 999.0;
            CHECK(snr >= Q15_SNR_MIN, "bc_dense_q15 m=%u n=%u k=%u bias=%d relu=%d: pooled SNR %.1f dB < %.0f",
                  (unsigned)odd[s].m, (unsigned)odd[s].n, (unsigned)odd[s].k, variant & 1, variant >> 1, snr,
                  Q15_SNR_MIN);
            if (snr < worst) worst = snr;
        }
        printf("  %4ux%-4u k=%-5u %6.1f%s\n", (unsigned)odd[s].m, (unsigned)odd[s].n, (unsigned)odd[s].k, worst,
               odd[s].mixed ? "   (input blocks at random scales 2^0..2^-12)" : "");
    }
    CHECK(relu_zeros > 100, "too few negative outputs to test the q15 ReLU (%ld)", relu_zeros);
}

static void test_q15_saturation(void)
{
    static const shape_t shapes[] = {{256, 256, 16}, {100, 300, 64}, {64, 64, 8}, {5, 3, 1024}, {40, 40, 2}};
    long saturated = 0;
    uint32_t seed = 5000;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int variant = 0; variant < 4; variant++) {
            /* largest output 32 times full scale, and 2^12 times */
            double target = (variant & 2) ? 32768.0 * 4096.0 : 32768.0 * 32.0;
            q15_run_t r = run_q15(shapes[s].m, shapes[s].n, shapes[s].k, variant & 1, 0, target, 0, seed++);
            saturated += r.saturated;
        }
    CHECK(saturated > 200, "too few saturating outputs in the saturation test (%ld)", saturated);
    printf("q15 saturation: %ld outputs far beyond int16 came out exactly 32767 / -32768\n", saturated);
}

/* Zero input: W x is exactly 0 whatever the weights, so y = sat16(round half
 * up(bias / 2^16)) exactly. */
static void test_q15_bias_only(void)
{
    static const int32_t biases[] = {0,      1,        32767,  32768,       -32768,     -32769,    65536,
                                     -65536, 98304,    -98304, 100 * 65536, 2147483647, -2147483647 - 1,
                                     -100 * 65536 - 32768};
    const uint32_t m = (uint32_t)(sizeof biases / sizeof biases[0]), n = 20, k = 8;
    rng_t rng = rng_seed(77);
    size_t count = circnn_bc_dense_weight_count(n, m, k);
    int16_t *weight = (int16_t *)xmalloc(count * sizeof(int16_t));
    int16_t *x = (int16_t *)xmalloc(n * sizeof(int16_t));
    int32_t *bias = (int32_t *)xmalloc(m * sizeof(int32_t));
    for (size_t i = 0; i < count; i++) weight[i] = (int16_t)rng_int(&rng, -32767, 32767);
    memset(x, 0, n * sizeof(int16_t));
    memcpy(bias, biases, sizeof biases);
    size_t sb = circnn_bc_dense_q15_scratch_bytes(n, m, k);
    guarded_t gs, gy;
    void *scratch = guarded_alloc(&gs, sb);
    int16_t *y = (int16_t *)guarded_alloc(&gy, m * sizeof(int16_t));
    for (int relu = 0; relu <= 1; relu++)
        for (int32_t wexp = -40; wexp <= 40; wexp += 20) {
            circnn_bc_dense_q15_t layer = {n, m, k, (uint32_t)relu, weight, wexp, bias};
            guarded_poison(&gs, 0x3C);
            guarded_poison(&gy, 0x3C);
            circnn_bc_dense_q15(&layer, x, y, scratch);
            CHECK(guarded_intact(&gs) && guarded_intact(&gy), "bc_dense_q15 bias only: guard overwritten");
            for (uint32_t r = 0; r < m; r++) {
                double v = floor((double)bias[r] / 65536.0 + 0.5);
                long want = (long)(v > 32767.0 ? 32767.0 : v < -32768.0 ? -32768.0 : v);
                if (relu && want < 0) want = 0;
                CHECK(y[r] == want, "bc_dense_q15 x=0 weight_exp=%ld relu=%d bias=%ld: y=%d, want %ld", (long)wexp,
                      relu, (long)bias[r], y[r], want);
            }
        }
    guarded_free(&gs);
    guarded_free(&gy);
    free(weight);
    free(x);
    free(bias);
}

/* ------------------------------------------------------------------------ */
/* Shapes and status strings */

static void test_check_and_status(void)
{
    static const uint32_t bad_k[] = {0u, 1u, 3u, 6u, 12u, 100u, 2048u, 4096u};
    for (size_t i = 0; i < sizeof bad_k / sizeof bad_k[0]; i++)
        CHECK(circnn_bc_dense_check(10, 10, bad_k[i]) == CIRCNN_ERR_BLOCK_SIZE,
              "bc_dense_check(10, 10, k=%u) != CIRCNN_ERR_BLOCK_SIZE", (unsigned)bad_k[i]);
    for (uint32_t k = 2; k <= 1024; k *= 2) {
        CHECK(circnn_bc_dense_check(10, 10, k) == CIRCNN_OK, "bc_dense_check(10, 10, k=%u) != CIRCNN_OK", (unsigned)k);
        CHECK(circnn_bc_dense_check(1, 1, k) == CIRCNN_OK, "bc_dense_check(1, 1, k=%u) != CIRCNN_OK", (unsigned)k);
        CHECK(circnn_bc_dense_check(CIRCNN_MAX_FEATURES, CIRCNN_MAX_FEATURES, k) == CIRCNN_OK,
              "bc_dense_check(max, max, k=%u) != CIRCNN_OK", (unsigned)k);
        CHECK(circnn_bc_dense_check(0, 10, k) == CIRCNN_ERR_SHAPE, "bc_dense_check(0, 10, k=%u) != SHAPE", (unsigned)k);
        CHECK(circnn_bc_dense_check(10, 0, k) == CIRCNN_ERR_SHAPE, "bc_dense_check(10, 0, k=%u) != SHAPE", (unsigned)k);
        CHECK(circnn_bc_dense_check(0, 0, k) == CIRCNN_ERR_SHAPE, "bc_dense_check(0, 0, k=%u) != SHAPE", (unsigned)k);
        CHECK(circnn_bc_dense_check(CIRCNN_MAX_FEATURES + 1u, 10, k) == CIRCNN_ERR_SHAPE,
              "bc_dense_check(max + 1, 10, k=%u) != SHAPE", (unsigned)k);
        CHECK(circnn_bc_dense_check(10, CIRCNN_MAX_FEATURES + 1u, k) == CIRCNN_ERR_SHAPE,
              "bc_dense_check(10, max + 1, k=%u) != SHAPE", (unsigned)k);
    }

    static const struct {
        circnn_status_t code;
        const char *name;
    } names[] = {
        {CIRCNN_OK, "CIRCNN_OK"},
        {CIRCNN_ERR_NULL, "CIRCNN_ERR_NULL"},
        {CIRCNN_ERR_BLOCK_SIZE, "CIRCNN_ERR_BLOCK_SIZE"},
        {CIRCNN_ERR_SHAPE, "CIRCNN_ERR_SHAPE"},
        {CIRCNN_ERR_MAGIC, "CIRCNN_ERR_MAGIC"},
        {CIRCNN_ERR_VERSION, "CIRCNN_ERR_VERSION"},
        {CIRCNN_ERR_TRUNCATED, "CIRCNN_ERR_TRUNCATED"},
        {CIRCNN_ERR_CRC, "CIRCNN_ERR_CRC"},
        {CIRCNN_ERR_DTYPE, "CIRCNN_ERR_DTYPE"},
        {CIRCNN_ERR_LAYER, "CIRCNN_ERR_LAYER"},
        {CIRCNN_ERR_BOUNDS, "CIRCNN_ERR_BOUNDS"},
        {CIRCNN_ERR_ALIGN, "CIRCNN_ERR_ALIGN"},
        {CIRCNN_ERR_CHAIN, "CIRCNN_ERR_CHAIN"},
        {CIRCNN_ERR_ARENA, "CIRCNN_ERR_ARENA"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *s = circnn_status_string(names[i].code);
        CHECK(s != NULL && strcmp(s, names[i].name) == 0, "circnn_status_string(%d) = \"%s\", want \"%s\"",
              (int)names[i].code, s ? s : "(null)", names[i].name);
    }
    const char *unknown = circnn_status_string((circnn_status_t)99);
    CHECK(unknown != NULL && strcmp(unknown, "CIRCNN_ERR_UNKNOWN") == 0,
          "circnn_status_string(99) = \"%s\", want \"CIRCNN_ERR_UNKNOWN\"", unknown ? unknown : "(null)");
}

int main(void)
{
    test_check_and_status();
    test_f32();
    test_q15_snr();
    test_q15_saturation();
    test_q15_bias_only();
    return test_summary("test_bc_dense_c");
}
