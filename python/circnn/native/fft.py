"""circnn's C kernels on numpy arrays, through cffi.

Float entry points take real float arrays of any layout (a leading batch
shape is allowed) and return float64 results at numpy's scale:
    rfft(x, dtype)            complex bins (..., n/2 + 1), like numpy.fft.rfft
    irfft(spectrum, dtype)    real (..., n), like numpy.fft.irfft
    bc_dense(w, x, out_features, bias, relu, dtype)
dtype "f32" runs the float kernels; "q15" quantizes (power-of-two scales,
rounding half up), runs the q15 kernels and dequantizes.

Integer entry points, for callers who hold int16 data, take C-contiguous
int16 arrays and return exactly what the C returns:
    rfft_q15(x) -> (packed, exponent);  irfft_q15(packed) -> (x, exponent)
    bc_dense_q15(weight, weight_exp, x, out_features, bias, relu)
circnn.sim.q15 has numpy twins of these that are bit-exact with them.

Anything the C could not take (wrong dtype, shape, block size, strides)
raises TypeError or ValueError here; it never reaches the C.
"""
import numpy as np

from ..nn import circulant
from ..sim import q15 as fixed
from ..export import quantization as Q
from .._native import ffi, lib

DTYPES = ("f32", "q15")


def _check_dtype(dtype):
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")


def _float_rows(x, name):
    """Real float array (..., n) -> (C-contiguous float32 rows (B, n), leading shape)."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name} must be a real float array, got dtype {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return np.ascontiguousarray(x.reshape(-1, x.shape[-1]), dtype=np.float32), x.shape[:-1]


def _int16_array(x, name):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy int16 array, got {type(x).__name__}")
    if x.dtype != np.int16:
        raise TypeError(f"{name} must be int16, got {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    if x.ndim < 1:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    return x


def _scratch(nbytes):
    """A zeroed buffer of nbytes, 8-byte aligned (numpy int64 storage)."""
    return np.zeros(max(1, -(-nbytes // 8)), dtype=np.int64)


def _ptr(ctype, array):
    return ffi.from_buffer(ctype, array, require_writable=False)


def _wptr(ctype, array):
    return ffi.from_buffer(ctype, array, require_writable=True)


# ---------------------------------------------------------------------------
# Transforms

def rfft_q15(x):
    """C circnn_rfft_q15 on int16 rows (..., n): (packed int16 (..., n), exponent int32 (...))."""
    x = _int16_array(x, "x")
    n = circulant.check_block_size(x.shape[-1])
    rows = x.reshape(-1, n)
    out = np.empty_like(rows)
    exps = np.empty(rows.shape[0], dtype=np.int32)
    for b in range(rows.shape[0]):
        exps[b] = lib.circnn_rfft_q15(_ptr("int16_t[]", rows[b]), _wptr("int16_t[]", out[b]), n)
    return out.reshape(x.shape), exps.reshape(x.shape[:-1])


def irfft_q15(spectrum):
    """C circnn_irfft_q15 on packed int16 rows: (int16 (..., n), exponent int32 (...))."""
    spectrum = _int16_array(spectrum, "spectrum")
    n = circulant.check_block_size(spectrum.shape[-1])
    rows = spectrum.reshape(-1, n)
    out = np.empty_like(rows)
    exps = np.empty(rows.shape[0], dtype=np.int32)
    for b in range(rows.shape[0]):
        exps[b] = lib.circnn_irfft_q15(_ptr("int16_t[]", rows[b]), _wptr("int16_t[]", out[b]), n)
    return out.reshape(spectrum.shape), exps.reshape(spectrum.shape[:-1])


def rfft(x, dtype="f32"):
    """Real FFT of x (..., n) through the C kernel: complex bins at numpy.fft.rfft's scale.

    For q15 the input is taken as fractions in [-1, 1) (quantized to int16 at
    2^-15, saturating) and the block-floating-point result is dequantized.
    """
    _check_dtype(dtype)
    rows, lead = _float_rows(x, "x")
    n = circulant.check_block_size(rows.shape[1])
    if dtype == "f32":
        out = np.empty_like(rows)
        for b in range(rows.shape[0]):
            lib.circnn_rfft_f32(_ptr("float[]", rows[b]), _wptr("float[]", out[b]), n)
        packed = out.astype(np.float64)
    else:
        mant, exps = rfft_q15(fixed.quantize(rows, 15))
        packed = mant.astype(np.float64) * np.exp2(exps.astype(np.float64) - 15)[:, None]
    return circulant.unpack(packed).reshape(lead + (n // 2 + 1,))


def _spectrum_to_q15(packed):
    """Packed float spectra (B, n) -> int16 mantissas and one exponent per row."""
    return Q.mantissas(packed, axis=-1)


def irfft(spectrum, dtype="f32"):
    """Inverse real FFT of complex bins (..., n/2 + 1), numpy.fft.irfft's scale, n even."""
    _check_dtype(dtype)
    spectrum = np.asarray(spectrum)
    if spectrum.dtype.kind not in "fc" or spectrum.ndim < 1:
        raise TypeError(f"spectrum must be a complex (or real) float array, got {spectrum.dtype}")
    if not np.all(np.isfinite(spectrum)):
        raise ValueError("spectrum contains NaN or infinite values")
    n = circulant.check_block_size(2 * (spectrum.shape[-1] - 1))
    lead = spectrum.shape[:-1]
    packed = circulant.pack(spectrum.reshape(-1, n // 2 + 1))
    if dtype == "f32":
        rows = np.ascontiguousarray(packed, dtype=np.float32)
        out = np.empty_like(rows)
        for b in range(rows.shape[0]):
            lib.circnn_irfft_f32(_ptr("float[]", rows[b]), _wptr("float[]", out[b]), n)
        result = out.astype(np.float64)
    else:
        mant, exps = _spectrum_to_q15(packed)
        out, d = irfft_q15(mant)
        result = out.astype(np.float64) * np.exp2((exps + d).astype(np.float64))[:, None]
    return result.reshape(lead + (n,))


# ---------------------------------------------------------------------------
# Block-circulant dense layer

def _check_bc_shape(weight_shape, n, m):
    if len(weight_shape) != 3:
        raise ValueError(f"weight must have shape (p, q, k), got {weight_shape}")
    p, q, k = weight_shape
    circulant.check_block_size(k)
    if m < 1 or n < 1:
        raise ValueError(f"in_features and out_features must be positive, got {n} and {m}")
    if (p, q) != (circulant.blocks(m, k), circulant.blocks(n, k)):
        raise ValueError(f"weight of shape {tuple(weight_shape)} does not fit {n} inputs and {m} outputs: "
                         f"expected ({circulant.blocks(m, k)}, {circulant.blocks(n, k)}, {k})")
    status = lib.circnn_bc_dense_check(n, m, k)
    if status != lib.CIRCNN_OK:
        raise ValueError(f"shape {n} -> {m}, k = {k} refused: {ffi.string(lib.circnn_status_string(status)).decode()}")
    return p, q, k


def bc_dense_q15(weight, weight_exp, x, out_features, bias=None, relu=False):
    """C circnn_bc_dense_q15: x (..., n) int16 -> (..., out_features) int16.

    weight: (p, q, k) int16 packed spectrum mantissas, spectrum = weight * 2^weight_exp;
    bias: int32 (out_features,) with 16 fraction bits, or None.
    """
    weight = _int16_array(weight, "weight")
    x = _int16_array(x, "x")
    m, n = int(out_features), x.shape[-1]
    p, q, k = _check_bc_shape(weight.shape, n, m)
    if bias is not None:
        if not isinstance(bias, np.ndarray) or bias.dtype != np.int32 or bias.shape != (m,):
            raise TypeError(f"bias must be an int32 array of shape ({m},)")
        bias = np.ascontiguousarray(bias)
    layer = ffi.new("circnn_bc_dense_q15_t *")
    layer.in_features, layer.out_features, layer.block_size = n, m, k
    layer.relu = 1 if relu else 0
    layer.weight = _ptr("int16_t[]", weight)
    layer.weight_exp = int(weight_exp)
    layer.bias = _ptr("int32_t[]", bias) if bias is not None else ffi.NULL
    scratch = _scratch(lib.circnn_bc_dense_q15_scratch_bytes(n, m, k))
    rows = x.reshape(-1, n)
    y = np.empty((rows.shape[0], m), dtype=np.int16)
    sp = _wptr("char[]", scratch)
    for b in range(rows.shape[0]):
        lib.circnn_bc_dense_q15(layer, _ptr("int16_t[]", rows[b]), _wptr("int16_t[]", y[b]), sp)
    return y.reshape(x.shape[:-1] + (m,))


# The wrappers choose the output scale from the float result: one bit of headroom.
HEADROOM_BITS = 1


def quantize_bc_dense(w, in_frac, out_frac, bias=None):
    """Float layer -> q15 arrays for bc_dense_q15, for activations x = x_int / 2^in_frac
    and y = y_int / 2^out_frac.  Returns (weight int16, weight_exp, bias int32 or None)."""
    weight, weight_exp = Q.weights(circulant.to_spectrum(w), in_frac, out_frac)
    qbias = None if bias is None else Q.bias(bias, out_frac)
    return weight, weight_exp, qbias


def bc_dense(w, x, out_features, bias=None, relu=False, dtype="f32"):
    """y = W x (+ bias), optional ReLU, through the C layer.

    w: (p, q, k) defining vectors (first-column convention); x: (..., n).
    For q15 the power-of-two scales of x and y are chosen from the data (the
    output's from the float64 result), as the exporter's calibration does.
    """
    _check_dtype(dtype)
    w = np.asarray(w)
    if w.dtype.kind != "f":
        raise TypeError(f"w must be a real float array, got dtype {w.dtype}")
    if not np.all(np.isfinite(w)):
        raise ValueError("w contains NaN or infinite values")
    rows, lead = _float_rows(x, "x")
    m, n = int(out_features), rows.shape[1]
    p, q, k = _check_bc_shape(w.shape, n, m)
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float64)
        if bias.shape != (m,):
            raise ValueError(f"bias must have shape ({m},), got {bias.shape}")
    if dtype == "f32":
        weight = np.ascontiguousarray(circulant.to_spectrum(w), dtype=np.float32)
        fbias = np.ascontiguousarray(bias, dtype=np.float32) if bias is not None else None
        layer = ffi.new("circnn_bc_dense_f32_t *")
        layer.in_features, layer.out_features, layer.block_size = n, m, k
        layer.relu = 1 if relu else 0
        layer.weight = _ptr("float[]", weight)
        layer.bias = _ptr("float[]", fbias) if fbias is not None else ffi.NULL
        scratch = _scratch(lib.circnn_bc_dense_f32_scratch_bytes(n, m, k))
        sp = _wptr("char[]", scratch)
        y = np.empty((rows.shape[0], m), dtype=np.float32)
        for b in range(rows.shape[0]):
            lib.circnn_bc_dense_f32(layer, _ptr("float[]", rows[b]), _wptr("float[]", y[b]), sp)
        return y.astype(np.float64).reshape(lead + (m,))
    reference = circulant.matvec(w, rows.astype(np.float64), m, bias)
    in_frac = Q.frac_bits(float(np.abs(rows).max()), HEADROOM_BITS)
    out_frac = Q.frac_bits(float(np.abs(reference).max()), HEADROOM_BITS)
    weight, weight_exp, qbias = quantize_bc_dense(w, in_frac, out_frac, bias)
    y = bc_dense_q15(weight, weight_exp, fixed.quantize(rows, in_frac), m, qbias, relu)
    return (y.astype(np.float64) * 2.0 ** -out_frac).reshape(lead + (m,))
