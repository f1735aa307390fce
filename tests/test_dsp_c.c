/*
 * test_dsp_c.c - the DSP-extension variants of the q15 kernels against the
 * portable reference, bit for bit, on the host.
 *
 * src/dsp_q15.h's C emulations of SMLALD, SMLSLD and SMLALDX are first
 * checked against the instructions' definitions (every corner value and
 * random pairs).  Then bc_dense_q15.c, bc_conv2d_q15.c and their shared
 * spectral_to_q15.c are compiled a
 * second time in this file with CIRCNN_DSP_EMULATE (so with the DSP code
 * path, as on a Cortex-M4/M7/M33) under other names, and every output is
 * compared with the library's reference build of the same layer: random
 * shapes and block sizes, full-range weights and inputs, the all -32768
 * corner, bias, scale and ReLU.  The packed 16-bit instructions of the q15
 * FFT's DSP variant (fft_q15_dsp.c) are checked against their definitions
 * the same way, and the variant against the portable circnn_rfft_q15 and
 * circnn_irfft_q15 on every size and many kinds of input, in place and out
 * of place.  On QEMU the native instructions run the same code
 * (tests/test_firmware.py checks their bits there).
 */
#define CIRCNN_DSP_EMULATE 1

/* The DSP builds of the two layers and of their step 4, renamed. */
#define circnn_spectral_to_q15 dsp_spectral_to_q15
#include "spectral_to_q15.c"
#define circnn_bc_dense_q15 dsp_bc_dense_q15
#define circnn_bc_dense_q15_scratch_bytes dsp_bc_dense_q15_scratch_bytes
#include "bc_dense_q15.c"
#undef circnn_bc_dense_q15
#undef circnn_bc_dense_q15_scratch_bytes

#define circnn_bc_conv2d_q15 dsp_bc_conv2d_q15
#define circnn_bc_conv2d_q15_pool2 dsp_bc_conv2d_q15_pool2
#define circnn_bc_conv2d_q15_model dsp_bc_conv2d_q15_model
#include "bc_conv2d_q15.c"
#undef circnn_bc_conv2d_q15
#undef circnn_bc_conv2d_q15_pool2
#undef circnn_bc_conv2d_q15_model
#undef circnn_spectral_to_q15

/* pool.c's DSP build (the 2x2 max pool two channels a word), all renamed. */
#define circnn_maxpool2d_q15 dsp_maxpool2d_q15
#define circnn_maxpool2d_f32 dsp_maxpool2d_f32
#define circnn_avgpool2d_q15 dsp_avgpool2d_q15
#define circnn_avgpool2d_f32 dsp_avgpool2d_f32
#define circnn_maxpool2x2_q15 dsp_maxpool2x2_q15
#define circnn_maxpool2x2_f32 dsp_maxpool2x2_f32
#include "pool.c"
#undef circnn_maxpool2d_q15
#undef circnn_maxpool2d_f32
#undef circnn_avgpool2d_q15
#undef circnn_avgpool2d_f32
#undef circnn_maxpool2x2_q15
#undef circnn_maxpool2x2_f32

#if !CIRCNN_DSP
#error "the DSP variants are not compiled in"
#endif

#include "circnn/window.h"
#include "fft_q15_common.h"
#include "c_test_util.h"

/* The reference build: the library's, declared here with the headers'
 * names (the macros above are gone). */
void circnn_bc_dense_q15(const circnn_bc_dense_q15_t *layer, const int16_t *x, int16_t *y, void *scratch);
size_t circnn_bc_dense_q15_scratch_bytes(uint32_t in_features, uint32_t out_features, uint32_t block_size);
void circnn_bc_conv2d_q15(const circnn_bc_conv2d_q15_t *layer, const int16_t *x, int16_t *y, void *scratch);
void circnn_maxpool2d_q15(const circnn_window_t *g, const int16_t *x, int16_t *y);

static int16_t draw16(rng_t *r, int extreme)
{
    if (extreme) return (int16_t)-32768;
    uint32_t u = rng_next(r);
    switch (u & 7u) {
    case 0: return (int16_t)-32768;
    case 1: return (int16_t)32767;
    default: return (int16_t)(uint16_t)(u >> 16);
    }
}

static void test_intrinsics(void)
{
    static const int32_t corner[] = {-32768, -32767, -1, 0, 1, 2, 32766, 32767};
    rng_t r = rng_seed(7);
    for (int i = 0; i < 20000; i++) {
        int32_t a0, a1, b0, b1;
        if (i < 4096) {
            a0 = corner[i & 7], a1 = corner[(i >> 3) & 7], b0 = corner[(i >> 6) & 7], b1 = corner[(i >> 9) & 7];
        } else {
            a0 = draw16(&r, 0), a1 = draw16(&r, 0), b0 = draw16(&r, 0), b1 = draw16(&r, 0);
        }
        uint32_t a = (uint32_t)(uint16_t)a0 | ((uint32_t)(uint16_t)a1 << 16);
        uint32_t b = (uint32_t)(uint16_t)b0 | ((uint32_t)(uint16_t)b1 << 16);
        int64_t acc = (int64_t)(int32_t)rng_next(&r) * 1000;
        int64_t lld = acc + (int64_t)a0 * b0 + (int64_t)a1 * b1;
        int64_t lsd = acc + (int64_t)a0 * b0 - (int64_t)a1 * b1;
        int64_t ldx = acc + (int64_t)a0 * b1 + (int64_t)a1 * b0;
        CHECK(circnn_smlald(a, b, acc) == lld, "smlald %d %d %d %d", a0, a1, b0, b1);
        CHECK(circnn_smlsld(a, b, acc) == lsd, "smlsld %d %d %d %d", a0, a1, b0, b1);
        CHECK(circnn_smlaldx(a, b, acc) == ldx, "smlaldx %d %d %d %d", a0, a1, b0, b1);
    }
}

static int32_t lane(uint32_t v, int top)
{
    return top ? circnn_pair_top(v) : circnn_pair_bottom(v);
}

static int16_t wrap16(int32_t v)
{
    return (int16_t)(uint16_t)((uint32_t)v & 0xFFFFu);
}

/* The packed instructions against their definitions (Arm ARM). */
static void test_simd_intrinsics(void)
{
    static const int32_t corner[] = {-32768, -32767, -2, -1, 0, 1, 32766, 32767};
    rng_t r = rng_seed(17);
    for (int i = 0; i < 40000; i++) {
        int32_t v[4];
        for (int t = 0; t < 4; t++) v[t] = i < 4096 ? corner[(i >> (3 * t)) & 7] : draw16(&r, 0);
        uint32_t a = circnn_pair(v[0], v[1]), b = circnn_pair(v[2], v[3]);
        int32_t al = v[0], ah = v[1], bl = v[2], bh = v[3];
        CHECK(lane(a, 0) == al && lane(a, 1) == ah, "pair %d %d", al, ah);
        uint32_t tops = circnn_pair_tops(a, b);   /* PKHTB: the top lanes of a and b */
        CHECK(lane(tops, 0) == ah && lane(tops, 1) == bh, "pair_tops %d %d", ah, bh);
        uint32_t got[8] = {circnn_sadd16(a, b), circnn_ssub16(a, b), circnn_sasx(a, b), circnn_ssax(a, b),
                           circnn_shadd16(a, b), circnn_shsub16(a, b), circnn_shasx(a, b), circnn_shsax(a, b)};
        int32_t want[8][2] = {{wrap16(al + bl), wrap16(ah + bh)}, {wrap16(al - bl), wrap16(ah - bh)},
                              {wrap16(al - bh), wrap16(ah + bl)}, {wrap16(al + bh), wrap16(ah - bl)},
                              {(al + bl) >> 1, (ah + bh) >> 1},   {(al - bl) >> 1, (ah - bh) >> 1},
                              {(al - bh) >> 1, (ah + bl) >> 1},   {(al + bh) >> 1, (ah - bl) >> 1}};
        for (int t = 0; t < 8; t++)
            CHECK(lane(got[t], 0) == want[t][0] && lane(got[t], 1) == want[t][1],
                  "packed op %d on %d %d %d %d: %d %d", t, al, ah, bl, bh, lane(got[t], 0), lane(got[t], 1));
        uint32_t mx = circnn_max16x2(a, b);   /* SSUB16 + SEL */
        CHECK(lane(mx, 0) == (al > bl ? al : bl) && lane(mx, 1) == (ah > bh ? ah : bh), "max16x2 %d %d %d %d", al,
              ah, bl, bh);
        uint32_t uh = circnn_uhadd16(a, b);
        CHECK((uh & 0xFFFFu) == (((a & 0xFFFFu) + (b & 0xFFFFu)) >> 1) && (uh >> 16) == (((a >> 16) + (b >> 16)) >> 1),
              "uhadd16");
        int32_t acc = (int32_t)rng_next(&r);
        int64_t wad = (int64_t)acc + (int64_t)al * bl + (int64_t)ah * bh;
        int64_t wadx = (int64_t)acc + (int64_t)al * bh + (int64_t)ah * bl;
        int64_t wsd = (int64_t)acc + (int64_t)al * bl - (int64_t)ah * bh;
        int64_t wsdx = (int64_t)acc + (int64_t)al * bh - (int64_t)ah * bl;
        CHECK(circnn_smlad(a, b, acc) == (int32_t)(uint32_t)wad, "smlad");
        CHECK(circnn_smladx(a, b, acc) == (int32_t)(uint32_t)wadx, "smladx");
        CHECK(circnn_smlsd(a, b, acc) == (int32_t)(uint32_t)wsd, "smlsd");
        CHECK(circnn_smlsdx(a, b, acc) == (int32_t)(uint32_t)wsdx, "smlsdx");
        CHECK(circnn_smuad(a, b) == (int32_t)(uint32_t)((int64_t)al * bl + (int64_t)ah * bh), "smuad");
        CHECK(lane(circnn_pkhtb16(acc, (int32_t)rng_next(&r)), 1) == (acc >> 16), "pkhtb");
        int32_t lo = (int32_t)rng_next(&r) >> 1, hi = (int32_t)rng_next(&r) >> 2;
        uint32_t pk = circnn_pkhbt1(lo, hi);
        CHECK(lane(pk, 0) == wrap16(lo) && lane(pk, 1) == wrap16(hi >> 15), "pkhbt");
    }
}

/* The DSP FFT against the portable one: every size, in place and out of
 * place, inputs of every kind (full scale, quiet, extremes, sparse, tones,
 * constants, zero). */
static void test_fft(void)
{
    rng_t r = rng_seed(19);
    int16_t x[1024], a[1024], b[1024];
    for (int t = 0; t < 6000; t++) {
        uint32_t n = 2u << (t % 10);
        int kind = (t / 10) % 9;
        int32_t amp = 1 + ((int32_t)(rng_next(&r) % 32768u) >> (rng_next(&r) % 15u));
        for (uint32_t i = 0; i < n; i++) {
            int32_t v;
            switch (kind) {
            case 0: v = draw16(&r, 0); break;
            case 1: v = rng_int(&r, -amp, amp); break;
            case 2: v = (rng_next(&r) & 1u) ? -32768 : 32767; break;
            case 3: v = (rng_next(&r) % 16u) == 0 ? draw16(&r, 0) : 0; break;
            case 4: v = (int32_t)lround(32767.0 * dft_cos((i * (1u + t % 7u)) % n, n)); break;
            case 5: v = t % 2 ? -32768 : 32767; break;
            case 6: v = i == 0 ? -32768 : 0; break;
            case 7: v = (int32_t)((rng_next(&r) % 3u) * 32767u) - 32767 - (int32_t)(rng_next(&r) & 1u); break;
            default: v = 0; break;
            }
            x[i] = (int16_t)v;
        }
        for (int inverse = 0; inverse <= 1; inverse++) {
            int32_t e_ref = inverse ? circnn_irfft_q15(x, a, n) : circnn_rfft_q15(x, a, n);
            int32_t e_dsp;
            if (t & 1) {
                memcpy(b, x, n * sizeof *b);
                e_dsp = inverse ? circnn_irfft_q15_dsp(b, b, n) : circnn_rfft_q15_dsp(b, b, n);
            } else {
                e_dsp = inverse ? circnn_irfft_q15_dsp(x, b, n) : circnn_rfft_q15_dsp(x, b, n);
            }
            size_t bad = 0;
            for (uint32_t i = 0; i < n; i++) bad += a[i] != b[i];
            CHECK(bad == 0 && e_ref == e_dsp, "%s n = %u, input kind %d: %lu outputs differ, exponents %ld %ld",
                  inverse ? "irfft" : "rfft", (unsigned)n, kind, (unsigned long)bad, (long)e_ref, (long)e_dsp);
        }
    }
}

static void test_bc_dense(void)
{
    rng_t r = rng_seed(11);
    for (int t = 0; t < 300; t++) {
        uint32_t k = 2u << (rng_next(&r) % 7u);           /* 2 .. 128 */
        uint32_t n = 1 + rng_next(&r) % 300u, m = 1 + rng_next(&r) % 300u;
        int extreme = t < 10;
        uint32_t p = (m + k - 1) / k, q = (n + k - 1) / k;
        int16_t *w = (int16_t *)xmalloc((size_t)p * q * k * sizeof *w);
        int16_t *x = (int16_t *)xmalloc(n * sizeof *x);
        int32_t *bias = (int32_t *)xmalloc(m * sizeof *bias);
        int16_t *y_ref = (int16_t *)xmalloc(m * sizeof *y_ref), *y_dsp = (int16_t *)xmalloc(m * sizeof *y_dsp);
        size_t sb = circnn_bc_dense_q15_scratch_bytes(n, m, k);
        CHECK(sb == dsp_bc_dense_q15_scratch_bytes(n, m, k), "scratch sizes differ");
        void *scratch = xmalloc(sb);
        for (size_t i = 0; i < (size_t)p * q * k; i++) w[i] = draw16(&r, extreme);
        for (uint32_t i = 0; i < n; i++) x[i] = draw16(&r, extreme);
        if (t % 3 == 1) {   /* blocks of different exponents, some all zero: the alignment shifts */
            for (uint32_t i = 0; i < n; i++) {
                uint32_t s = (i / k) * 5u % 17u;
                x[i] = s == 16 ? (int16_t)0 : (int16_t)(x[i] / (1 << s));
            }
        }
        for (uint32_t i = 0; i < m; i++) bias[i] = (int32_t)rng_next(&r) >> 8;
        circnn_bc_dense_q15_t layer = {n, m, k, rng_next(&r) & 1u, w, -(int32_t)(rng_next(&r) % 30u),
                                       (rng_next(&r) & 1u) ? bias : NULL};
        circnn_bc_dense_q15(&layer, x, y_ref, scratch);
        dsp_bc_dense_q15(&layer, x, y_dsp, scratch);
        size_t bad = 0;
        for (uint32_t i = 0; i < m; i++) bad += y_ref[i] != y_dsp[i];
        CHECK(bad == 0, "bc_dense %u -> %u, k = %u: %lu outputs differ", (unsigned)n, (unsigned)m, (unsigned)k,
              (unsigned long)bad);
        free(w), free(x), free(bias), free(y_ref), free(y_dsp), free(scratch);
    }
}

static void test_bc_conv2d(void)
{
    rng_t r = rng_seed(13);
    for (int t = 0; t < 60; t++) {
        circnn_window_t g;
        memset(&g, 0, sizeof g);
        uint32_t k = 2u << (rng_next(&r) % 5u);           /* 2 .. 32 */
        g.in_h = (uint16_t)(1 + rng_next(&r) % 7u);
        g.in_w = (uint16_t)(1 + rng_next(&r) % 7u);
        g.in_c = (uint16_t)(1 + rng_next(&r) % 40u);
        g.out_c = (uint16_t)(1 + rng_next(&r) % 40u);
        g.kernel_h = (uint8_t)(1 + rng_next(&r) % 3u);
        g.kernel_w = (uint8_t)(1 + rng_next(&r) % 3u);
        g.stride = (uint8_t)(1 + rng_next(&r) % 2u);
        if (circnn_window_geometry(&g, CIRCNN_PAD_SAME) != CIRCNN_OK) continue;
        int extreme = t < 5;
        uint32_t p = (g.out_c + k - 1) / k, q = (g.in_c + k - 1) / k;
        size_t nw = (size_t)g.kernel_h * g.kernel_w * p * q * k;
        size_t nx = (size_t)g.in_h * g.in_w * g.in_c, ny = (size_t)g.out_h * g.out_w * g.out_c;
        int16_t *w = (int16_t *)xmalloc(nw * sizeof *w), *x = (int16_t *)xmalloc(nx * sizeof *x);
        int16_t *scale = (int16_t *)xmalloc(g.out_c * sizeof *scale);
        int32_t *bias = (int32_t *)xmalloc(g.out_c * sizeof *bias);
        int16_t *y_ref = (int16_t *)xmalloc(ny * sizeof *y_ref), *y_dsp = (int16_t *)xmalloc(ny * sizeof *y_dsp);
        void *scratch = xmalloc(circnn_bc_conv2d_q15_scratch_bytes(&g, k));
        for (size_t i = 0; i < nw; i++) w[i] = draw16(&r, extreme);
        for (size_t i = 0; i < nx; i++) x[i] = draw16(&r, extreme);
        for (uint32_t i = 0; i < g.out_c; i++) {
            bias[i] = (int32_t)rng_next(&r) >> 8;
            scale[i] = draw16(&r, 0);
        }
        int with_scale = (int)(rng_next(&r) & 1u);
        circnn_bc_conv2d_q15_t layer = {g, k, rng_next(&r) & 1u, w, -(int32_t)(rng_next(&r) % 30u),
                                        (rng_next(&r) & 1u) ? bias : NULL, with_scale ? scale : NULL,
                                        with_scale ? -14 : 0};
        circnn_bc_conv2d_q15(&layer, x, y_ref, scratch);
        dsp_bc_conv2d_q15(&layer, x, y_dsp, scratch);
        size_t bad = 0;
        for (size_t i = 0; i < ny; i++) bad += y_ref[i] != y_dsp[i];
        CHECK(bad == 0, "bc_conv2d %ux%ux%u -> %u, %ux%u kernel, k = %u: %lu outputs differ", (unsigned)g.in_h,
              (unsigned)g.in_w, (unsigned)g.in_c, (unsigned)g.out_c, (unsigned)g.kernel_h, (unsigned)g.kernel_w,
              (unsigned)k, (unsigned long)bad);
        free(w), free(x), free(scale), free(bias), free(y_ref), free(y_dsp), free(scratch);
    }
}

/* The 2x2 max pool two channels a word (even channel counts) and the
 * general loop otherwise, against the library's reference build; then the
 * DSP bc_conv2d with its fused pool against the library's bc_conv2d
 * followed by the library's max pool. */
static void test_maxpool2x2_and_bc_conv2d_pool2(void)
{
    rng_t r = rng_seed(29);
    for (int t = 0; t < 200; t++) {
        circnn_window_t g;
        memset(&g, 0, sizeof g);
        g.in_h = (uint16_t)(2 + rng_next(&r) % 9u);
        g.in_w = (uint16_t)(2 + rng_next(&r) % 9u);
        g.in_c = g.out_c = (uint16_t)(1 + rng_next(&r) % 20u);
        g.kernel_h = g.kernel_w = g.stride = (uint8_t)(t % 4 == 3 ? 3 : 2);   /* also windows of the general loop */
        /* "same" on odd sizes pads below and right only: the general loop */
        if (circnn_window_geometry(&g, t % 5 == 4 ? CIRCNN_PAD_SAME : CIRCNN_PAD_VALID) != CIRCNN_OK) continue;
        size_t nx = (size_t)g.in_h * g.in_w * g.in_c, ny = (size_t)g.out_h * g.out_w * g.out_c;
        int16_t *x = (int16_t *)xmalloc(nx * sizeof *x), *a = (int16_t *)xmalloc(ny * sizeof *a);
        int16_t *b = (int16_t *)xmalloc(ny * sizeof *b);
        for (size_t i = 0; i < nx; i++) x[i] = draw16(&r, 0);
        circnn_maxpool2d_q15(&g, x, a);
        dsp_maxpool2d_q15(&g, x, b);
        size_t bad = 0;
        for (size_t i = 0; i < ny; i++) bad += a[i] != b[i];
        CHECK(bad == 0, "maxpool %ux%ux%u, window %u: %lu outputs differ", (unsigned)g.in_h, (unsigned)g.in_w,
              (unsigned)g.in_c, (unsigned)g.kernel_h, (unsigned long)bad);
        free(x), free(a), free(b);
    }
    for (int t = 0; t < 40; t++) {
        circnn_window_t g;
        memset(&g, 0, sizeof g);
        uint32_t k = 4u << (rng_next(&r) % 3u);           /* 4 .. 16 */
        g.in_h = (uint16_t)(2 + rng_next(&r) % 8u);
        g.in_w = (uint16_t)(2 + rng_next(&r) % 8u);
        g.in_c = (uint16_t)(1 + rng_next(&r) % 24u);
        g.out_c = (uint16_t)(1 + rng_next(&r) % 24u);
        g.kernel_h = g.kernel_w = (uint8_t)(1 + 2 * (rng_next(&r) % 2u));
        g.stride = 1;
        if (circnn_window_geometry(&g, CIRCNN_PAD_SAME) != CIRCNN_OK) continue;
        uint32_t p = (g.out_c + k - 1) / k, q = (g.in_c + k - 1) / k;
        size_t nw = (size_t)g.kernel_h * g.kernel_w * p * q * k, nx = (size_t)g.in_h * g.in_w * g.in_c;
        size_t ny = (size_t)g.out_h * g.out_w * g.out_c, pw = g.out_w / 2u, np = (size_t)(g.out_h / 2u) * pw * g.out_c;
        int16_t *w = (int16_t *)xmalloc(nw * sizeof *w), *x = (int16_t *)xmalloc(nx * sizeof *x);
        int16_t *y = (int16_t *)xmalloc(ny * sizeof *y), *want = (int16_t *)xmalloc(np * sizeof *want);
        int16_t *got = (int16_t *)xmalloc(np * sizeof *got), *band = (int16_t *)xmalloc(4 * pw * g.out_c * 2 + 4);
        void *scratch = xmalloc(circnn_bc_conv2d_q15_scratch_bytes(&g, k));
        for (size_t i = 0; i < nw; i++) w[i] = draw16(&r, t < 3);
        for (size_t i = 0; i < nx; i++) x[i] = draw16(&r, t < 3);
        circnn_bc_conv2d_q15_t layer = {g, k, rng_next(&r) & 1u, w, -(int32_t)(rng_next(&r) % 30u), NULL, NULL, 0};
        circnn_bc_conv2d_q15(&layer, x, y, scratch);
        circnn_window_t pool;
        memset(&pool, 0, sizeof pool);
        pool.in_h = g.out_h, pool.in_w = g.out_w, pool.in_c = pool.out_c = g.out_c;
        pool.kernel_h = pool.kernel_w = pool.stride = 2;
        (void)circnn_window_geometry(&pool, CIRCNN_PAD_VALID);
        circnn_maxpool2d_q15(&pool, y, want);
        dsp_bc_conv2d_q15_pool2(&layer, x, got, band, scratch);
        size_t bad = 0;
        for (size_t i = 0; i < np; i++) bad += want[i] != got[i];
        CHECK(bad == 0, "bc_conv2d + pool %ux%ux%u -> %u, k = %u: %lu outputs differ", (unsigned)g.in_h,
              (unsigned)g.in_w, (unsigned)g.in_c, (unsigned)g.out_c, (unsigned)k, (unsigned long)bad);
        free(w), free(x), free(y), free(want), free(got), free(band), free(scratch);
    }
}

/* bc_conv2d_q15.c's output stage in 32 bits against circnn_requant_q15 on
 * every exponent it can be given, the int16 extremes of a and of the
 * scale, and biases of every size. */
static void test_bc_conv2d_output_stage(void)
{
    rng_t r = rng_seed(5);
    const int32_t biases[] = {0, 1, -1, 32767, -32768, 65535, INT32_MAX, INT32_MIN, INT32_MAX - 32767, INT32_MIN + 1};
    int16_t a[64], scale[64], y[64];
    int32_t bias[64];
    for (int32_t f = -EXP_LIMIT; f <= EXP_LIMIT; f++) {
        for (int rep = 0; rep < 8; rep++) {
            for (uint32_t t = 0; t < 64; t++) {
                a[t] = (rep & 1) ? draw16(&r, t < 8) : (int16_t)((int32_t)draw16(&r, 0) >> (rng_next(&r) % 16u));
                scale[t] = draw16(&r, t < 4);
                bias[t] = (t % 3u == 0) ? biases[(rng_next(&r) >> 4) % 10u] : (int32_t)rng_next(&r) >> (rng_next(&r) % 31u);
            }
            const int relu = rep & 2, scaled = rep & 4;
            requant_scaled_block(a, y, 64, f, bias, scaled ? scale : NULL, relu);
            for (uint32_t t = 0; t < 64; t++) {
                int16_t want = circnn_requant_q15(scaled ? (int64_t)a[t] * scale[t] : (int64_t)a[t], f, bias[t]);
                if (relu && want < 0) want = 0;
                CHECK(y[t] == want, "bc_conv2d output stage f=%d a=%d scale=%d bias=%d relu=%d: %d, want %d", f,
                      a[t], scaled ? scale[t] : 1, bias[t], relu, y[t], want);
            }
        }
    }
}

int main(void)
{
    test_bc_conv2d_output_stage();
    test_intrinsics();
    test_simd_intrinsics();
    test_fft();
    test_bc_dense();
    test_bc_conv2d();
    test_maxpool2x2_and_bc_conv2d_pool2();
    return test_summary("test_dsp_c");
}
