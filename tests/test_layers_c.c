/*
 * test_layers_c.c - the plain layers of circnn/layers.h on small hand-computed
 * cases, f32 and q15: dense, conv2d 'same' 3x3 on a 4x4 image (a box kernel
 * and a one-tap kernel that shows the cross-correlation orientation), max
 * pooling (padding never wins), average pooling with negative sums (round half
 * up, floor division), relu in place, softmax, argmax ties.  Every output
 * buffer has guard words after it that must survive.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "circnn/layers.h"

static long checks = 0, failures = 0;

#define CHECK(cond, ...)                                    \
    do {                                                    \
        checks++;                                           \
        if (!(cond)) {                                      \
            failures++;                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);     \
            printf(__VA_ARGS__);                            \
            printf("\n");                                   \
        }                                                   \
    } while (0)

#define GUARDS 8
#define GUARD_I16 ((int16_t)0x5A5A)
#define GUARD_F32 (-12345.5f)

static void guard_i16(int16_t *y, size_t n)
{
    for (size_t i = 0; i < GUARDS; i++) y[n + i] = GUARD_I16;
}

static int intact_i16(const int16_t *y, size_t n)
{
    for (size_t i = 0; i < GUARDS; i++)
        if (y[n + i] != GUARD_I16) return 0;
    return 1;
}

static void guard_f32(float *y, size_t n)
{
    for (size_t i = 0; i < GUARDS; i++) y[n + i] = GUARD_F32;
}

static int intact_f32(const float *y, size_t n)
{
    for (size_t i = 0; i < GUARDS; i++)
        if (y[n + i] != GUARD_F32) return 0;
    return 1;
}

/* 4x4 image 1..16 and its 3x3 box sums with zero padding (computed by hand). */
static const int16_t IMAGE[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const int16_t BOX_SUMS[16] = {14, 24, 30, 22, 33, 54, 63, 45, 57, 90, 99, 69, 46, 72, 78, 54};
/* One tap at (0, 0): y[i][j] = x[i-1][j-1], zero outside. */
static const int16_t SHIFTED[16] = {0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11};

static circnn_window_t window(uint16_t in_h, uint16_t in_w, uint16_t c_in, uint16_t c_out, uint8_t k, uint8_t stride,
                              uint8_t pad, uint16_t out_h, uint16_t out_w)
{
    circnn_window_t g;
    memset(&g, 0, sizeof g);
    g.in_h = in_h;
    g.in_w = in_w;
    g.in_c = c_in;
    g.out_c = c_out;
    g.kernel_h = k;
    g.kernel_w = k;
    g.stride = stride;
    g.pad_top = pad;
    g.pad_left = pad;
    g.out_h = out_h;
    g.out_w = out_w;
    return g;
}

static void test_dense(void)
{
    /* W = [[1, 2], [3, -4], [-300, 200]], x = [100, 200]:
     * W x = [500, -500, 10000]; bias [0, +1, -0.5] output integers. */
    const int16_t w[6] = {1, 2, 3, -4, -300, 200};
    const int16_t x[2] = {100, 200};
    const int32_t bias[3] = {0, 1 << 16, -(1 << 15)};
    int16_t y[3 + GUARDS];
    circnn_dense_q15_t L = {2, 3, 0, w, 0, bias};
    guard_i16(y, 3);
    circnn_dense_q15(&L, x, y);
    CHECK(y[0] == 500 && y[1] == -499 && y[2] == 10000, "dense q15: %d %d %d", y[0], y[1], y[2]);
    /* 10000 - 0.5 = 9999.5 rounds half up to 10000 (above) */
    L.weight_exp = -3; /* 62.5, -62.5 + 1, 1250 - 0.5: 63 (half up), -61 (-61.5 up), 1250 (1249.5 up) */
    circnn_dense_q15(&L, x, y);
    CHECK(y[0] == 63 && y[1] == -61 && y[2] == 1250, "dense q15 e=-3: %d %d %d", y[0], y[1], y[2]);
    L.weight_exp = 2; /* 2000, -2000 + 1, 40000 - 0.5 -> saturated */
    L.relu = 1;
    circnn_dense_q15(&L, x, y);
    CHECK(y[0] == 2000 && y[1] == 0 && y[2] == 32767, "dense q15 relu e=2: %d %d %d", y[0], y[1], y[2]);
    CHECK(intact_i16(y, 3), "dense q15 wrote past y");

    const float wf[6] = {1.0f, 2.0f, 3.0f, -4.0f, -0.5f, 0.25f};
    const float xf[2] = {0.5f, -2.0f};
    const float bf[3] = {0.0f, 1.0f, -0.125f};
    float yf[3 + GUARDS];
    circnn_dense_f32_t Lf = {2, 3, 0, wf, bf};
    guard_f32(yf, 3);
    circnn_dense_f32(&Lf, xf, yf); /* [-3.5, 10.5, -0.875] */
    CHECK(yf[0] == -3.5f && yf[1] == 10.5f && yf[2] == -0.875f, "dense f32: %g %g %g", (double)yf[0],
          (double)yf[1], (double)yf[2]);
    Lf.relu = 1;
    Lf.bias = NULL;
    circnn_dense_f32(&Lf, xf, yf); /* [-3.5, 9.5, -0.75] -> relu */
    CHECK(yf[0] == 0.0f && yf[1] == 9.5f && yf[2] == 0.0f, "dense f32 relu: %g %g %g", (double)yf[0],
          (double)yf[1], (double)yf[2]);
    CHECK(intact_f32(yf, 3), "dense f32 wrote past y");
}

static void test_conv2d(void)
{
    /* 3x3 'same' on 4x4, one input channel, two output channels: channel 0 the
     * box kernel, channel 1 the one-tap kernel at (0, 0). HWIO layout. */
    int16_t w[3 * 3 * 1 * 2];
    float wf[3 * 3 * 1 * 2];
    for (int t = 0; t < 9; t++) {
        w[2 * t] = 1;
        w[2 * t + 1] = (int16_t)(t == 0 ? 1 : 0);
        wf[2 * t] = 1.0f;
        wf[2 * t + 1] = t == 0 ? 1.0f : 0.0f;
    }
    const int32_t bias[2] = {-(10 << 16), 1 << 15}; /* -10 and +0.5 */
    circnn_conv2d_q15_t L;
    L.g = window(4, 4, 1, 2, 3, 1, 1, 4, 4);
    L.relu = 0;
    L.weight = w;
    L.weight_exp = 0;
    L.bias = NULL;
    int16_t y[32 + GUARDS];
    guard_i16(y, 32);
    circnn_conv2d_q15(&L, IMAGE, y);
    for (int i = 0; i < 16; i++) {
        CHECK(y[2 * i] == BOX_SUMS[i], "conv2d q15 box: pixel %d = %d, want %d", i, y[2 * i], BOX_SUMS[i]);
        CHECK(y[2 * i + 1] == SHIFTED[i], "conv2d q15 tap: pixel %d = %d, want %d", i, y[2 * i + 1], SHIFTED[i]);
    }
    L.bias = bias;
    L.relu = 1;
    L.weight_exp = -1; /* box / 2 - 10 (half up), then relu; tap / 2 + 0.5 */
    circnn_conv2d_q15(&L, IMAGE, y);
    for (int i = 0; i < 16; i++) {
        int want0 = (int)floor(BOX_SUMS[i] / 2.0 - 10.0 + 0.5);
        if (want0 < 0) want0 = 0;
        int want1 = (int)floor(SHIFTED[i] / 2.0 + 0.5 + 0.5);
        CHECK(y[2 * i] == want0, "conv2d q15 box e=-1 relu: pixel %d = %d, want %d", i, y[2 * i], want0);
        CHECK(y[2 * i + 1] == want1, "conv2d q15 tap e=-1: pixel %d = %d, want %d", i, y[2 * i + 1], want1);
    }
    CHECK(intact_i16(y, 32), "conv2d q15 wrote past y");

    float xf[16], yf[32 + GUARDS];
    for (int i = 0; i < 16; i++) xf[i] = (float)IMAGE[i] * 0.25f;
    circnn_conv2d_f32_t Lf;
    Lf.g = L.g;
    Lf.relu = 0;
    Lf.weight = wf;
    Lf.bias = NULL;
    guard_f32(yf, 32);
    circnn_conv2d_f32(&Lf, xf, yf);
    for (int i = 0; i < 16; i++) {
        CHECK(yf[2 * i] == (float)BOX_SUMS[i] * 0.25f, "conv2d f32 box: pixel %d = %g", i, (double)yf[2 * i]);
        CHECK(yf[2 * i + 1] == (float)SHIFTED[i] * 0.25f, "conv2d f32 tap: pixel %d = %g", i,
              (double)yf[2 * i + 1]);
    }
    CHECK(intact_f32(yf, 32), "conv2d f32 wrote past y");
}

static void test_pools(void)
{
    int16_t neg[16], y[16 + GUARDS];
    float negf[16], yf[16 + GUARDS];
    for (int i = 0; i < 16; i++) {
        neg[i] = (int16_t)-IMAGE[i];
        negf[i] = -(float)IMAGE[i];
    }
    /* 2x2 stride 2 'valid' on the image: [[6, 8], [14, 16]]. */
    circnn_window_t g = window(4, 4, 1, 1, 2, 2, 0, 2, 2);
    guard_i16(y, 4);
    circnn_maxpool2d_q15(&g, IMAGE, y);
    CHECK(y[0] == 6 && y[1] == 8 && y[2] == 14 && y[3] == 16, "maxpool q15: %d %d %d %d", y[0], y[1], y[2], y[3]);
    CHECK(intact_i16(y, 4), "maxpool q15 wrote past y");
    /* 3x3 'same' stride 1 on -image: padding (zeros) must never win. */
    g = window(4, 4, 1, 1, 3, 1, 1, 4, 4);
    static const int16_t max_same[16] = {-1, -1, -2, -3, -1, -1, -2, -3, -5, -5, -6, -7, -9, -9, -10, -11};
    guard_i16(y, 16);
    guard_f32(yf, 16);
    circnn_maxpool2d_q15(&g, neg, y);
    circnn_maxpool2d_f32(&g, negf, yf);
    for (int i = 0; i < 16; i++) {
        CHECK(y[i] == max_same[i], "maxpool q15 same: pixel %d = %d, want %d", i, y[i], max_same[i]);
        CHECK(yf[i] == (float)max_same[i], "maxpool f32 same: pixel %d = %g", i, (double)yf[i]);
    }
    CHECK(intact_i16(y, 16) && intact_f32(yf, 16), "maxpool same wrote past y");

    /* Average, 3x3 'same' on -image: sum / count over the pixels inside, count 4, 6 or 9.
     * Corner: -(1+2+5+6)/4 = -3.5 -> -3 (half up); (0,1): -24/6 = -4; (1,1): -54/9 = -6;
     * (0,3): -22/4 = -5.5 -> -5; (3,3): -54/4 = -13.5 -> -13; (1,0): -33/6 = -5.5 -> -5. */
    circnn_avgpool2d_q15(&g, neg, y);
    circnn_avgpool2d_f32(&g, negf, yf);
    static const int counts[16] = {4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4};
    for (int i = 0; i < 16; i++) {
        int want = (int)floor(-(double)BOX_SUMS[i] / counts[i] + 0.5);
        CHECK(y[i] == want, "avgpool q15 same: pixel %d = %d, want %d", i, y[i], want);
        double wantf = -(double)BOX_SUMS[i] / counts[i];
        CHECK(fabs((double)yf[i] - wantf) <= 1e-6 * fabs(wantf), "avgpool f32 same: pixel %d = %g, want %g", i,
              (double)yf[i], wantf);
    }
    CHECK(y[0] == -3 && y[3] == -5 && y[4] == -5 && y[15] == -13 && y[5] == -6, "avgpool q15 hand values");
    CHECK(intact_i16(y, 16) && intact_f32(yf, 16), "avgpool same wrote past y");

    /* 2x2 stride 2, two channels: sums (-5, 5), (-7, 7), (-6, 6), (-2, 2) over 4:
     * -1.25 -> -1, -1.75 -> -2 (a truncating division gives -1), -1.5 -> -1, -0.5 -> 0;
     * 1.25 -> 1, 1.75 -> 2, 1.5 -> 2, 0.5 -> 1. */
    static const int16_t x2[2 * 4 * 4] = {
        -2, 2, -1, 1, -3, 3, -1, 1,     /* row 0 */
        -1, 1, -1, 1, -2, 2, -1, 1,     /* row 1 */
        -3, 3, -1, 1, -1, 1, 0, 0,      /* row 2 */
        -1, 1, -1, 1, 0, 0, -1, 1,      /* row 3 */
    };
    g = window(4, 4, 2, 2, 2, 2, 0, 2, 2);
    int16_t y2[8 + GUARDS];
    guard_i16(y2, 8);
    circnn_avgpool2d_q15(&g, x2, y2);
    static const int16_t want2[8] = {-1, 1, -2, 2, -1, 2, 0, 1};
    for (int i = 0; i < 8; i++)
        CHECK(y2[i] == want2[i], "avgpool q15 negative sums: %d = %d, want %d", i, y2[i], want2[i]);
    CHECK(intact_i16(y2, 8), "avgpool q15 wrote past y");

    /* Global average pool of 4x4 all -32768 and all 32767: the value itself. */
    int16_t full[16], one[1 + GUARDS];
    g = window(4, 4, 1, 1, 4, 1, 0, 1, 1);
    guard_i16(one, 1);
    for (int v = 0; v < 2; v++) {
        for (int i = 0; i < 16; i++) full[i] = v ? (int16_t)32767 : (int16_t)-32768;
        circnn_avgpool2d_q15(&g, full, one);
        CHECK(one[0] == full[0], "global avgpool of %d: %d", full[0], one[0]);
    }
    CHECK(intact_i16(one, 1), "global avgpool wrote past y");
}

static void test_activations(void)
{
    int16_t v[5 + GUARDS] = {-3, 0, 7, -32768, 32767};
    guard_i16(v, 5);
    circnn_relu_q15(v, v, 5); /* in place */
    CHECK(v[0] == 0 && v[1] == 0 && v[2] == 7 && v[3] == 0 && v[4] == 32767, "relu q15 in place");
    CHECK(intact_i16(v, 5), "relu q15 wrote past y");
    float f[4 + GUARDS] = {-1.5f, 0.0f, 2.5f, -0.0f};
    guard_f32(f, 4);
    circnn_relu_f32(f, f, 4);
    CHECK(f[0] == 0.0f && f[1] == 0.0f && f[2] == 2.5f && f[3] == 0.0f && !signbit(f[3]), "relu f32 in place");
    CHECK(intact_f32(f, 4), "relu f32 wrote past y");

    const float logits[3] = {1.0f, 2.0f, 3.0f};
    float p[3 + GUARDS];
    guard_f32(p, 3);
    circnn_softmax_f32(logits, p, 3);
    double e1 = exp(-2.0), e2 = exp(-1.0), s = e1 + e2 + 1.0;
    CHECK(fabs(p[0] - e1 / s) < 1e-6 && fabs(p[1] - e2 / s) < 1e-6 && fabs(p[2] - 1.0 / s) < 1e-6,
          "softmax f32: %g %g %g", (double)p[0], (double)p[1], (double)p[2]);
    const float huge[2] = {1000.0f, 1000.0f};
    circnn_softmax_f32(huge, p, 2);
    CHECK(p[0] == 0.5f && p[1] == 0.5f, "softmax of large equal logits: %g %g", (double)p[0], (double)p[1]);
    CHECK(intact_f32(p, 3), "softmax wrote past y");

    const float tie[5] = {1.0f, 5.0f, 2.0f, 5.0f, 5.0f};
    CHECK(circnn_argmax_f32(tie, 5) == 1, "argmax f32 ties: %u", (unsigned)circnn_argmax_f32(tie, 5));
    CHECK(circnn_argmax_f32(tie, 1) == 0, "argmax f32 single");
    const int16_t tq[4] = {-32768, -32768, -5, -5};
    CHECK(circnn_argmax_q15(tq, 4) == 2, "argmax q15 ties: %u", (unsigned)circnn_argmax_q15(tq, 4));
    CHECK(circnn_argmax_q15(tq, 2) == 0, "argmax q15 all equal");
}

int main(void)
{
    test_dense();
    test_conv2d();
    test_pools();
    test_activations();
    printf("test_layers_c: %ld checks, %ld failed\n", checks, failures);
    return failures != 0;
}
