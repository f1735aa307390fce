/*
 * bc_dense_firmware.c - circnn_bc_dense_q15 on a Cortex-M core under QEMU
 * against the Python simulator, bit for bit (tests/test_fft_firmware.py
 * writes bc_vectors.h and runs this).  The cores' own spectral MACs (DSP
 * instructions on M4/M7/M33, ARMv6-M assembly on M0/M0+) and FFTs run on
 * corner cases the model tests do not reach: every weight and input -32768,
 * full-range random values, bias and ReLU.
 *
 * bc_vectors.h: BC_COUNT layers; layer v has bc_n[v] inputs, bc_m[v]
 * outputs, block size bc_k[v], weight exponent bc_e[v], ReLU bc_relu[v],
 * bias at bc_bias + bc_bias_at[v] (or none if bc_has_bias[v] is 0), weights
 * at bc_data + bc_w[v], input at bc_data + bc_x[v], expected output at
 * bc_data + bc_y[v].  One line: "bc-dense-firmware: N passed, M failed".
 */
#include <stdint.h>
#include <string.h>

#include "circnn/bc_dense.h"
#include "bc_vectors.h"
#include "semihost.h"

static uint64_t scratch[(BC_MAX_SCRATCH + 7) / 8];
static int16_t y[BC_MAX_M];

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
    for (uint32_t v = 0; v < BC_COUNT; v++) {
        circnn_bc_dense_q15_t layer = {bc_n[v], bc_m[v], bc_k[v], bc_relu[v], bc_data + bc_w[v], bc_e[v],
                                       bc_has_bias[v] ? bc_bias + bc_bias_at[v] : NULL};
        circnn_bc_dense_q15(&layer, bc_data + bc_x[v], y, scratch);
        if (memcmp(y, bc_data + bc_y[v], bc_m[v] * sizeof *y) == 0) passed++;
        else failed++;
    }
    char line[64] = "bc-dense-firmware: ";
    put_uint(line + strlen(line), passed);
    strcat(line, " passed, ");
    put_uint(line + strlen(line), failed);
    strcat(line, " failed\n");
    semihost_write0(line);
    return failed ? 1 : 0;
}
