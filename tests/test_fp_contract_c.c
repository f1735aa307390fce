/*
 * test_fp_contract_c.c - the library's f32 layers round a * b + c twice,
 * never once (no fused multiply-add contraction; circnn/model.h,
 * "f32 bit-identity").
 *
 * With a = b = 1 + 2^-12, a * b = 1 + 2^-11 + 2^-24 exactly, which rounds
 * to 1 + 2^-11 in float (a tie, to even).  So after acc = -(1 + 2^-11),
 * acc + a * b is 0 when the product is rounded first, and 2^-24 when a
 * fused multiply-add keeps it exact.  A build that contracts (GCC in GNU
 * mode or clang, without -ffp-contract=off, on a CPU with FMA: aarch64, or
 * x86-64 built with -mfma) fails here.
 */
#include "circnn/circnn.h"
#include "c_test_util.h"

int main(void)
{
    const float a = 1.0f + 0x1p-12f, c = -(1.0f + 0x1p-11f);
    volatile float product = a * a;   /* rounded on its own (volatile store) */
    CHECK(product == 1.0f + 0x1p-11f, "test setup: (1 + 2^-12)^2 rounds to %a", (double)product);

    /* dense: y = w0 x0 + w1 x1 with w0 x0 = c exactly */
    const float w[2] = {c, a}, x[2] = {1.0f, a};
    float y[1] = {-1.0f};
    const circnn_dense_f32_t dense = {2, 1, 0, w, NULL};
    circnn_dense_f32(&dense, x, y);
    CHECK(y[0] == 0.0f, "dense f32: %a, want 0 (a fused multiply-add gives 2^-24)", (double)y[0]);

    /* conv2d, 1x1 kernel: the same sum over two input channels, at four pixels */
    circnn_window_t g;
    memset(&g, 0, sizeof g);
    g.in_h = g.in_w = 2;
    g.in_c = 2;
    g.out_c = 1;
    g.kernel_h = g.kernel_w = g.stride = 1;
    CHECK(circnn_window_geometry(&g, CIRCNN_PAD_VALID) == CIRCNN_OK, "test setup: geometry");
    const float image[8] = {1.0f, a, 1.0f, a, 1.0f, a, 1.0f, a};
    float out[4] = {-1.0f, -1.0f, -1.0f, -1.0f};
    const circnn_conv2d_f32_t conv = {g, 0, w, NULL};
    circnn_conv2d_f32(&conv, image, out);
    for (int i = 0; i < 4; i++)
        CHECK(out[i] == 0.0f, "conv2d f32 pixel %d: %a, want 0 (a fused multiply-add gives 2^-24)", i, (double)out[i]);
    return test_summary("test_fp_contract_c");
}
