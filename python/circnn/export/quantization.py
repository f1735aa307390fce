"""q15 quantization, written once: the power-of-two scale of a tensor, int16
mantissas with one power-of-two exponent, and int32 biases at the
accumulator's scale.  The exporter (circnn.export) and the kernel wrappers
(circnn.native.fft, circnn.native.bc_conv2d) all quantize through these functions;
the rounding is fixed.quantize's (half up, as the C code rounds).

    frac_bits(largest, headroom_bits=0)   activation scale 2^-f
    mantissas(values, axis=None)          int16 mantissas, exponent(s)
    weights(w, in_frac, out_frac)         a layer's weights between two scales
    weights8(w, in_frac, out_frac)        the same in 8 significant bits (w16 = w8 * 256)
    bias(b, out_frac)                     int32 bias, BIAS_FRAC_BITS more bits
"""
import math

import numpy as np

from ..sim import q15 as fixed

MANTISSA_MAX = 32767      # |mantissa| <= 32767: -32768 is never used
MANTISSA8_MAX = 127       # 8-bit weights: |w8| <= 127
INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1


def frac_bits(largest, headroom_bits=0):
    """The largest f with largest * 2^f <= 2^(15 - headroom_bits) - 1, so that
    values up to `largest` fit int16 at scale 2^-f with headroom_bits to spare
    (15 when largest is 0).  The exporter calibrates with no headroom (values
    beyond the calibration range saturate); the kernel wrappers, which choose
    the output scale from the float result, keep one bit."""
    if largest <= 0:
        return 15
    return int(math.floor(math.log2((2.0 ** (15 - headroom_bits) - 1) / largest)))


def exponent(largest, mantissa_max=MANTISSA_MAX):
    """The smallest e with largest * 2^-e <= mantissa_max (32767; 0 when largest is 0)."""
    return math.ceil(math.log2(largest / float(mantissa_max))) if largest > 0 else 0


def mantissas(values, axis=None):
    """Float array -> (int16 mantissas, exponent) with values ~ mantissas * 2^exponent,
    |mantissa| <= 32767, rounded half up.  axis=None: one exponent (an int) for
    the whole array; axis=-1: one per row (an int64 array over the other axes).
    NaN and infinities are refused."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("cannot quantize NaN or infinite values")
    if axis is None:
        exp = exponent(float(np.abs(values).max()) if values.size else 0.0)
        scaled = values * 2.0 ** -exp
    elif axis == -1:
        largest = np.abs(values).max(axis=-1) if values.size else np.zeros(values.shape[:-1])
        exp = np.array([exponent(float(v)) for v in largest.ravel()], dtype=np.int64).reshape(largest.shape)
        scaled = values * np.exp2(-exp.astype(np.float64))[..., None]
    else:
        raise ValueError(f"axis must be None or -1, got {axis!r}")
    mant = np.maximum(fixed.quantize(scaled, 0), -MANTISSA_MAX)
    return mant.astype(np.int16), exp


def weights(w, in_frac, out_frac):
    """A layer's float weights for activations x_int / 2^in_frac in and
    y_int / 2^out_frac out -> (int16 mantissas, weight_exp)."""
    return mantissas(np.asarray(w, dtype=np.float64) * 2.0 ** (out_frac - in_frac))


def weights8(w, in_frac, out_frac):
    """weights() in 8 significant bits: int8 mantissas m (|m| <= 127, the
    largest magnitude using the range, rounded half up) and exponent e give
    the int16 mantissas m * 256 with weight_exp e - 8, the q15 weights the
    8-bit storage of circnn/model.h means."""
    values = np.asarray(w, dtype=np.float64) * 2.0 ** (out_frac - in_frac)
    if not np.all(np.isfinite(values)):
        raise ValueError("cannot quantize NaN or infinite values")
    exp = exponent(float(np.abs(values).max()) if values.size else 0.0, MANTISSA8_MAX)
    m8 = np.clip(fixed.quantize(values * 2.0 ** -exp, 0), -MANTISSA8_MAX, MANTISSA8_MAX)
    return (m8.astype(np.int16) * np.int16(256)).astype(np.int16), exp - 8


def bias(b, out_frac):
    """Float biases -> int32 at the accumulator's scale 2^-(out_frac + BIAS_FRAC_BITS),
    rounded half up and saturated."""
    scaled = np.floor(np.asarray(b, dtype=np.float64) * 2.0 ** (out_frac + fixed.BIAS_FRAC_BITS) + 0.5)
    return np.clip(scaled, INT32_MIN, INT32_MAX).astype(np.int32)
