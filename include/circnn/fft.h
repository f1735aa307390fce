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
 * Block-circulant weights are stored in this layout (circnn.nn.circulant.to_spectrum).
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
 * Structure.  The n reals are m = n/2 complex words z[t] = x[2t] + i x[2t+1]
 * (re, im: int16 each).  Their m-point FFT runs radix-4 decimation-in-
 * frequency stages over groups of L = m, m/4, ... down to 4 (and, when
 * log2 m is odd, a last radix-2 stage of twiddle 1), then a bit reversal;
 * a split stage separates the two real spectra.  The inverse runs the split
 * backwards first, then the same stages with conjugate twiddles.
 *
 * Scaling policy.  Every decision reads b, the bit length of the largest
 * |z|^2 = re^2 + im^2 over the words entering a step (the OR of all of them,
 * so |z| < 2^(b/2) for every word and one cheap pass finds it):
 *  1. The input is first shifted left by the largest s0 in [0, 15] that keeps
 *     |z| * 2^s0 < 2^15 for every word (all-zero input: s0 = 15).  A quiet
 *     signal thus uses all 16 bits before any rounding happens, which is
 *     where a fixed 1/2 per stage (CMSIS-DSP) loses its precision.
 *  2. A radix-4 stage shifts its outputs right by s = 0 if b <= 26 (|z| <
 *     2^13), 1 if b <= 28, 2 if b <= 29, else 3; the radix-2 stage by 0 if
 *     b <= 28, else 1; the split by 0 if b <= 28, 1 if b <= 30, else 2.  A
 *     radix-4 stage grows |z| by at most 4, the radix-2 one by 2, the split by
 *     sqrt 2, and every twiddle has modulus <= 32767: so no output and no
 *     intermediate value leaves int16, no 32-bit sum overflows, and nothing
 *     is clamped.  The shifts are added to the exponent.
 *  3. Arithmetic (>> is an arithmetic shift, so every halving is a floor, and
 *     each product is rounded once, half up):
 *     - twiddles W^t = c - i s, t = j 1024 / L, from one table of (c, s) for
 *       t = 0..128 and symmetry (src/twiddle.c: 32767 cos and 32767 sin
 *       rounded, one of them lowered where needed so that c^2 + s^2 <=
 *       32767^2; 516 bytes for every size);
 *     - radix-4 butterfly on a, b, c, d (words j, j + L/4, j + L/2,
 *       j + 3L/4 of a group), h = [s >= 2], g = [s == 3]:
 *           p = (a + c) >> h, q = (a - c) >> h, r = (b + d) >> h, u = (b - d) >> h
 *           out[j]        = (p + r) >> (s - h)
 *           out[j + L/4]  = rot((p - r) >> g,     W^2j)
 *           out[j + L/2]  = rot((q - i u) >> g,   W^j)     (inverse: q + i u)
 *           out[j + 3L/4] = rot((q + i u) >> g,   W^3j)    (inverse: q - i u)
 *       where rot(y, w) = y w (inverse: y conj(w)) with each part one int32
 *       sum of products, (sum + 2^(k-1)) >> k, k = 15 if s == 0 else 16; y is
 *       never rounded to 16 bits first (for s < 3 its products are summed from
 *       those of p and r, or q and u).  For j = 0 the twiddle 1 is exact:
 *       rot(y, 1) = y >> (k - 15).
 *     - radix-2 butterfly: (a + b) >> s, (a - b) >> s.
 *     - forward split, bins 0 < k < m/2, with (c, s') the twiddle of t = k
 *       1024 / n, B = ((32767 + s') >> 1) + 1 + i (c >> 1) and A = 32768 - B
 *       (so A + B = 1 exactly, in q15):
 *           X[k] = Z[k] A + conj(Z[m-k]) B,  X[m-k] = Z[m-k] conj(A) + conj(Z[k]) conj(B)
 *       each part one int32 sum of four products, (sum + 2^(14+s)) >> (15+s);
 *       for s = 2 the words Z[k], Z[m-k] are halved first and the shift is
 *       16.  X[0] = (Re Z[0] + Im Z[0]) >> s, X[n/2] = (Re Z[0] - Im Z[0]) >> s,
 *       X[n/4] = conj(Z[m/2]) >> s.  Inverse split: Z[k] = X[k] conj(A) +
 *       conj(X[m-k]) conj(B), Z[m-k] = X[m-k] A + conj(X[k]) B, Z[0] =
 *       ((X[0] + X[n/2]) >> (s+1), (X[0] - X[n/2]) >> (s+1)), Z[m/2] =
 *       conj(X[n/4]) >> s.
 * Every one of these operations is what a DSP-extension instruction computes
 * exactly (SHADD16 and SHASX halve with a floor, SMLAD and SMLSDX chains
 * started from the rounding constant sum in int32, PKHTB takes the rounded
 * top halves, SMUAD(z, z) is |z|^2), so the DSP variant used on Cortex-M4,
 * M7 and M33, the portable C used elsewhere and the Python simulator
 * circnn.sim.q15 give the same bits.
 *
 * Accuracy against float64 (tests/test_fft.py prints the table): forward
 * SNR >= 65 dB on full-scale uniform random input and >= 50 dB at 1/64 of
 * full scale for every n from 8 to 1024 (measured: 69.7 and 70.0 dB at
 * n = 1024, 71.9 and 73.4 at 256); forward then inverse >= 60 dB (65.9 at
 * 1024).  Bins that are exactly zero (a constant or alternating input) come
 * out zero; an impulse, and small integers at n = 2 and 4, come out exact,
 * forward and back (tests/test_fft_c.c).
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

/* CIRCNN_OK if n is a supported transform size, else CIRCNN_ERR_BLOCK_SIZE
 * (CIRCNN_ERR_DISABLED for a size circnn/config.h's CIRCNN_FFT_SIZES left
 * out of this build). */
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
