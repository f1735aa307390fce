/*
 * circnn/q15.h - q15 numbers: activation scales and the one output stage.
 *
 * An activation tensor is int16 with one power-of-two scale for the tensor:
 * value = x * 2^-frac (frac is chosen by calibration at export).  A layer
 * that changes scale (dense, conv2d, bc_dense, bc_conv2d) holds int16 weight
 * mantissas with one exponent for the layer, weight_exp, that already
 * includes the input and output scales: the layer maps input integers to
 * output integers.  Its int64 accumulator v (exact sums of int32 products)
 * goes through the one q15 output stage of circnn:
 *
 *     circnn_requant_q15(v, e, bias) = sat16( round_half_up( v * 2^e + bias / 2^16 ) )
 *
 * computed exactly as: u = e + 16; t = v * 2^u when u >= 0 (t = +-2^62 when
 * |v| * 2^u would reach 2^62), t = v >> -u (arithmetic, shift capped at 63)
 * when u < 0; y = sat16( (t + bias + 2^15) >> 16 ).  The bias is int32 with
 * CIRCNN_Q15_BIAS_FRAC_BITS (16) fraction bits of the output integer.
 * Rounding is half up throughout; saturation never wraps.
 * python/circnn/sim/q15.py is the bit-exact twin.
 */
#ifndef CIRCNN_Q15_H
#define CIRCNN_Q15_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fraction bits of a q15 bias: bias / 2^16 output integers. */
#define CIRCNN_Q15_BIAS_FRAC_BITS 16

/* The q15 output stage described above. */
int16_t circnn_requant_q15(int64_t v, int32_t e, int32_t bias);

#ifdef __cplusplus
}
#endif

#endif /* CIRCNN_Q15_H */
