/*
 * bench_mcu.c - the kernels benchmarks/bench_mcu.py times on emulated
 * Cortex-M cores: each case runs once between the bench markers
 * (targets/firmware/markers.h) and the QEMU plugin counts the instructions.
 *
 * bench_cases.h (written by bench_mcu.py) defines BENCH_CASES, a list of
 * CASE(kind, n, m, k), and BENCH_MAX_N (largest q15 transform or vector),
 * BENCH_MAX_N_F32 (largest f32 transform), BENCH_MAX_W (largest weight
 * array, int16 elements) and BENCH_MAX_SCRATCH (bytes).  Data are pseudo-random (a fixed LCG), filled before the begin
 * marker; the results are summed into a checksum that is printed, so
 * nothing is optimised away.
 */
#include <stdint.h>
#include <string.h>

#include "circnn/circnn.h"
#include "markers.h"
#include "semihost.h"
#include "bench_cases.h"

enum { RFFT_Q15, IRFFT_Q15, RFFT_F32, IRFFT_F32, BC_DENSE_Q15, DENSE_Q15_PLAIN, DENSE_Q15, BC_DENSE_F32 };

static int16_t in16[BENCH_MAX_N], out16[BENCH_MAX_N];
static float in32[BENCH_MAX_N_F32], out32[BENCH_MAX_N_F32];
static int16_t weight16[BENCH_MAX_W];
static uint64_t scratch[(BENCH_MAX_SCRATCH + 7) / 8];
static uint32_t seed = 12345u;
static uint32_t checksum;

static int16_t next16(void)
{
    seed = seed * 1664525u + 1013904223u;
    return (int16_t)(seed >> 16);
}

/* The plain-C dense q15 matrix-vector product the circulant layer is
 * compared with: int32 accumulation (wraps like CMSIS's, no int64), then
 * round, shift by 15 and saturate. */
__attribute__((noinline)) static void plain_dense_q15(const int16_t *w, const int16_t *x, int16_t *y,
                                                      uint32_t m, uint32_t n)
{
    for (uint32_t o = 0; o < m; o++, w += n) {
        int32_t acc = 0;
        for (uint32_t i = 0; i < n; i++) acc += (int32_t)w[i] * x[i];
        acc = (acc + (1 << 14)) >> 15;
        y[o] = (int16_t)(acc > 32767 ? 32767 : acc < -32768 ? -32768 : acc);
    }
}

static void fill16(int16_t *p, uint32_t count, int shift)
{
    for (uint32_t i = 0; i < count; i++) p[i] = (int16_t)(next16() >> shift);
}

static void run_case(int kind, uint32_t n, uint32_t m, uint32_t k)
{
    switch (kind) {
    case RFFT_Q15:
    case IRFFT_Q15:
        fill16(in16, n, 0);
        circnn_mark_bench_begin();
        if (kind == RFFT_Q15)
            checksum += (uint32_t)circnn_rfft_q15(in16, out16, n);
        else
            checksum += (uint32_t)circnn_irfft_q15(in16, out16, n);
        circnn_mark_bench_end();
        for (uint32_t i = 0; i < n; i++) checksum += (uint16_t)out16[i];
        break;
    case RFFT_F32:
    case IRFFT_F32:
        for (uint32_t i = 0; i < n; i++) in32[i] = (float)next16() / 32768.0f;
        circnn_mark_bench_begin();
        if (kind == RFFT_F32)
            circnn_rfft_f32(in32, out32, n);
        else
            circnn_irfft_f32(in32, out32, n);
        circnn_mark_bench_end();
        for (uint32_t i = 0; i < n; i++) {
            uint32_t bits;
            memcpy(&bits, &out32[i], sizeof bits);
            checksum += bits;
        }
        break;
    case BC_DENSE_Q15: {
        uint32_t p = (m + k - 1) / k, q = (n + k - 1) / k;
        fill16(weight16, p * q * k, 2);
        fill16(in16, n, 1);
        circnn_bc_dense_q15_t layer = {n, m, k, 0, weight16, -20, NULL};
        circnn_mark_bench_begin();
        circnn_bc_dense_q15(&layer, in16, out16, scratch);
        circnn_mark_bench_end();
        for (uint32_t i = 0; i < m; i++) checksum += (uint16_t)out16[i];
        break;
    }
    case DENSE_Q15_PLAIN:
    case DENSE_Q15: {
        fill16(weight16, m * n, 4);
        fill16(in16, n, 1);
        circnn_dense_q15_t layer = {n, m, 0, weight16, -15, NULL};
        circnn_mark_bench_begin();
        if (kind == DENSE_Q15_PLAIN)
            plain_dense_q15(weight16, in16, out16, m, n);
        else
            circnn_dense_q15(&layer, in16, out16);
        circnn_mark_bench_end();
        for (uint32_t i = 0; i < m; i++) checksum += (uint16_t)out16[i];
        break;
    }
    default:
        break;
    }
}

int main(void)
{
    circnn_mark_empty_begin();   /* the markers' own cost */
    circnn_mark_empty_end();
#define CASE(kind, n, m, k) run_case(kind, n, m, k);
    BENCH_CASES
#undef CASE
    char line[48] = "bench-mcu: checksum 0x";
    char *p = line + strlen(line);
    for (int s = 28; s >= 0; s -= 4) *p++ = "0123456789abcdef"[(checksum >> s) & 0xFu];
    *p++ = '\n';
    *p = '\0';
    semihost_write0(line);
    return 0;
}
