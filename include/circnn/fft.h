/*
 * circnn/fft.h - real FFTs of power-of-two length, f32 and q15.
 *
 * Sizes: every power of two n with CIRCNN_FFT_MIN_SIZE <= n <= CIRCNN_FFT_MAX_SIZE.
 * circnn_fft_check(n) says whether n is one; the transforms themselves
 * assume it (they are on the hot path and return no status).
 *
 * Packed half spectrum ("k reals").  The spectrum X[0..n/2] of a real
 * sequence of length n has a real DC bin X[0] and a real Nyquist bin X[n/2];
 * it is stored in exactly n reals:
 *
 *     out[0]       = Re X[0]
 *     out[1]       = Re X[n/2]
 *     out[2b]      = Re X[b]      for 1 <= b < n/2
 *     out[2b + 1]  = Im X[b]      for 1 <= b < n/2
 *
 * Block-circulant weights are stored in this layout (circnn.circulant.to_spectrum).
 *
 * Scale: the forward transform is numpy.fft.rfft's, X[b] = sum_t x[t] e^(-2 pi i b t / n);
 * the inverse is numpy.fft.irfft's, with the 1/n.  irfft(rfft(x)) = x.
 *
 * In place: in == out is allowed; otherwise the buffers must not overlap.
 * The input is read only (when in != out it is left unchanged).
 * No memory is allocated and there is no mutable static state: the twiddle
 * factors are const tables (src/twiddle.c), shared by every size.
 *
 * ---------------------------------------------------------------------------
 * q15: block floating point
 *
 * A q15 transform returns an exponent e with its int16 output: the true
 * result is out[i] * 2^e in the units of the input (for the forward
 * transform, the input integers; for the inverse, the mantissas of the
 * spectrum it was given).  Callers who keep an exponent with their data add e
 * to it.  Examples: an impulse x = {1000, 0, ..., 0} gives a flat spectrum of
 * 1000, returned as, say, out = 16000 with e = -4.
 *
 * Scaling policy, the same for every stage:
 *  1. The input is first normalised: shifted left by the largest s0 in
 *     [0, 15] that keeps max|x| * 2^s0 <= 32767 (all-zero input: s0 = 15).
 *     A quiet signal thus uses all 16 bits before any rounding happens,
 *     which is where a fixed 1/2 per stage (CMSIS-DSP) loses its precision.
 *  2. Each radix-2 stage of the n/2-point complex FFT, and the final stage
 *     that splits it into the real spectrum, looks at the largest magnitude M
 *     of any real or imaginary part entering it and scales its outputs by
 *     2^-s with s = 0 if M <= 13568, s = 1 if M <= 27136, else s = 2.  A
 *     butterfly grows a part by at most 1 + sqrt(2), so no stage can
 *     overflow; s is added to the exponent.
 *  3. Arithmetic inside a butterfly: twiddles are q15 (cos and sin rounded
 *     to nearest, the unit twiddle exact); each product of a 16-bit value
 *     and a twiddle is kept in 32 bits, shifted right by one or two bits
 *     (arithmetic, floor) so the sum cannot overflow, and each output is
 *     rounded once: add 2^(r-1), then shift right arithmetically by r
 *     (round half up).  Outputs are clamped to [-32768, 32767].
 * The Python simulator circnn.fixed performs the same operations in the same
 * order and is bit-exact with this code.
 *
 * Accuracy against float64 (tests/test_fft.py prints the table): forward
 * SNR >= 65 dB on full-scale uniform random input and >= 50 dB at 1/64 of
 * full scale for every n from 8 to 1024; forward then inverse >= 60 dB.
 *
 * The C code assumes two's complement integers and an arithmetic right shift
 * of negative values (every compiler circnn targets; checked in tests).
 */
#ifndef CIRCNN_FFT_H
#define CIRCNN_FFT_H

#include <stdint.h>

#include "circnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CIRCNN_FFT_MIN_SIZE 2
#define CIRCNN_FFT_MAX_SIZE 1024

/* CIRCNN_OK if n is a supported transform size, else CIRCNN_ERR_BLOCK_SIZE. */
circnn_status_t circnn_fft_check(uint32_t n);

/* Forward real FFT: n reals in, n reals out in the packed layout above. */
void circnn_rfft_f32(const float *in, float *out, uint32_t n);

/* Inverse real FFT: packed spectrum in, n reals out, scaled by 1/n. */
void circnn_irfft_f32(const float *in, float *out, uint32_t n);

/* Forward real FFT in q15.  in: n integers.  out: the packed spectrum.
 * Returns e: the spectrum is out * 2^e in units of the input. */
int32_t circnn_rfft_q15(const int16_t *in, int16_t *out, uint32_t n);

/* Inverse real FFT in q15, with numpy's 1/n.  in: packed spectrum mantissas.
 * out: n integers.  Returns e: the signal is out * 2^e in units of the
 * input mantissas. */
int32_t circnn_irfft_q15(const int16_t *in, int16_t *out, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* CIRCNN_FFT_H */
