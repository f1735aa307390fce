/*
 * conv_firmware.c - circnn_conv2d_q15 and circnn_bc_conv2d_q15 on a
 * Cortex-M core under QEMU against the Python simulator, bit for bit
 * (tests/test_conv_firmware.py writes conv_vectors.h and runs this).  The
 * cores' own kernels run: the one-input-channel kernel (ARMv7E-M assembly
 * for 3 x 3 on M4, M7 and M33), the DSP-extension kernel for several input
 * channels, the reference where neither applies, and the block-circulant
 * convolution's transforms and spectral sums.
 *
 * conv_vectors.h: CONV_COUNT layers; layer v is block-circulant when
 * cv_k[v] > 0 (block size) and a dense conv2d otherwise, geometry cv_g[v]
 * (in_h, in_w, in_c, out_h, out_w, out_c, kernel_h, kernel_w, stride,
 * pad_top, pad_left), weight exponent cv_e[v], ReLU cv_relu[v], bias at
 * cv_bias + cv_bias_at[v] when cv_has_bias[v], scale mantissas at cv_data +
 * cv_scale_at[v] with exponent cv_scale_exp[v] when cv_has_scale[v],
 * weights at cv_data + cv_w[v], input at cv_data + cv_x[v], expected output
 * at cv_data + cv_y[v].  CONV_MAX_Y outputs and CONV_SCRATCH bytes of
 * scratch at most.  One line: "conv-firmware: N passed, M failed".
 */
#include <stdint.h>
#include <string.h>

#include "circnn/bc_conv2d.h"
#include "circnn/layers.h"
#include "conv_vectors.h"
#include "semihost.h"

static uint64_t scratch[(CONV_SCRATCH + 7) / 8];
static int16_t y[CONV_MAX_Y + 8];

static void put_uint(char *p, uint32_t v)
{
    char tmp[12];
    int k = 0;
    do tmp[k++] = (char)('0' + v % 10u), v /= 10u; while (v);
    while (k) *p++ = tmp[--k];
    *p = '\0';
}

int main(void)
{
    uint32_t passed = 0, failed = 0;
    for (uint32_t v = 0; v < CONV_COUNT; v++) {
        const uint16_t *d = cv_g[v];
        circnn_window_t g = {d[0], d[1], d[2], d[3], d[4], d[5], (uint8_t)d[6], (uint8_t)d[7], (uint8_t)d[8],
                             (uint8_t)d[9], (uint8_t)d[10]};
        const uint32_t count = (uint32_t)g.out_h * g.out_w * g.out_c;
        const int32_t *bias = cv_has_bias[v] ? cv_bias + cv_bias_at[v] : NULL;
        for (uint32_t i = 0; i < 8; i++) y[count + i] = (int16_t)(0x5A5A + i);   /* guard */
        if (cv_k[v]) {
            circnn_bc_conv2d_q15_t layer = {g, cv_k[v], cv_relu[v], cv_data + cv_w[v], cv_e[v], bias,
                                            cv_has_scale[v] ? cv_data + cv_scale_at[v] : NULL, cv_scale_exp[v]};
            if (circnn_bc_conv2d_check(&g, cv_k[v]) != CIRCNN_OK ||
                circnn_bc_conv2d_q15_scratch_bytes(&g, cv_k[v]) > sizeof scratch) {
                failed++;
                continue;
            }
            circnn_bc_conv2d_q15(&layer, cv_data + cv_x[v], y, scratch);
        } else {
            circnn_conv2d_q15_t layer = {g, cv_relu[v], cv_data + cv_w[v], cv_e[v], bias};
            if (cv_ohwi[v])
                circnn_conv2d_q15_ohwi(&layer, cv_data + cv_x[v], y);
            else
                circnn_conv2d_q15(&layer, cv_data + cv_x[v], y);
        }
        int intact = 1;
        for (uint32_t i = 0; i < 8; i++) intact &= y[count + i] == (int16_t)(0x5A5A + i);
        if (intact && memcmp(y, cv_data + cv_y[v], count * sizeof *y) == 0) passed++;
        else failed++;
    }
    char line[64] = "conv-firmware: ";
    put_uint(line + strlen(line), passed);
    strcat(line, " passed, ");
    put_uint(line + strlen(line), failed);
    strcat(line, " failed\n");
    semihost_write0(line);
    return failed ? 1 : 0;
}
