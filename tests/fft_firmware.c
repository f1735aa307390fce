/*
 * fft_firmware.c - circnn_rfft_q15 and circnn_irfft_q15 on a Cortex-M core
 * under QEMU against the Python simulator, bit for bit
 * (tests/test_fft_firmware.py writes fft_vectors.h and runs this).
 *
 * fft_vectors.h: FFT_COUNT vectors; vector v has size fft_n[v], input
 * fft_data + fft_in[v], and the simulator's outputs: rfft at
 * fft_data + fft_fwd[v] with exponent fft_fwd_e[v], irfft (of the input as
 * a packed spectrum) at fft_data + fft_inv[v] with exponent fft_inv_e[v].
 * Each transform runs out of place and in place, with its buffers word
 * aligned and misaligned by one int16 (the DSP variant loads words;
 * ARMv6-M faults on a misaligned word access).  One line at the end:
 *
 *   fft-firmware: N passed, M failed
 *
 * and exit status 0 only if M == 0.
 */
#include <stdint.h>
#include <string.h>

#include "circnn/fft.h"
#include "fft_vectors.h"
#include "semihost.h"

static uint32_t in_buf[512 + 2], out_buf[512 + 2];

static void put_uint(char *p, uint32_t v)
{
    char tmp[12];
    int k = 0;
    do tmp[k++] = (char)('0' + v % 10u), v /= 10u; while (v);
    while (k) *p++ = tmp[--k];
    *p = '\0';
}

/* One transform; 1 if its output and exponent are the expected ones. */
static int check(int inverse, uint32_t n, const int16_t *x, const int16_t *want, int32_t want_e, int in_place,
                 int misaligned)
{
    int16_t *in = (int16_t *)in_buf + misaligned, *out = in_place ? in : (int16_t *)out_buf + misaligned;
    memcpy(in, x, n * sizeof *in);
    int32_t e = inverse ? circnn_irfft_q15(in, out, n) : circnn_rfft_q15(in, out, n);
    if (e != want_e || memcmp(out, want, n * sizeof *out) != 0) return 0;
    return in_place || memcmp(in, x, n * sizeof *in) == 0;   /* the input untouched */
}

int main(void)
{
    uint32_t passed = 0, failed = 0;
    for (uint32_t v = 0; v < FFT_COUNT; v++) {
        const int16_t *x = fft_data + fft_in[v];
        for (int mode = 0; mode < 4; mode++) {
            int in_place = mode & 1, misaligned = mode >> 1;
            int ok = check(0, fft_n[v], x, fft_data + fft_fwd[v], fft_fwd_e[v], in_place, misaligned) &&
                     check(1, fft_n[v], x, fft_data + fft_inv[v], fft_inv_e[v], in_place, misaligned);
            if (ok) passed++;
            else failed++;
        }
    }
    char line[64] = "fft-firmware: ";
    put_uint(line + strlen(line), passed);
    strcat(line, " passed, ");
    put_uint(line + strlen(line), failed);
    strcat(line, " failed\n");
    semihost_write0(line);
    return failed ? 1 : 0;
}
