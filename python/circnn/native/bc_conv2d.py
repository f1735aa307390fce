"""circnn's block-circulant 2-D convolution (C, through cffi) on numpy arrays.

    bc_conv2d(w, x, out_channels, kernel_size, block_size, stride, padding,
              bias, scale, relu, dtype)
        float in, float64 out.  w: (kernel_h, kernel_w, p, q, k) defining
        vectors (circnn.nn.circulant conventions); x: (B, H, W, in_c) or
        (H, W, in_c), HWC.  dtype "f32" runs circnn_bc_conv2d_f32; "q15"
        chooses power-of-two scales from the data (as bc_dense does),
        quantizes, runs circnn_bc_conv2d_q15 and dequantizes.
    bc_conv2d_q15(weight, weight_exp, x, out_channels, stride, pad_top,
                  pad_left, out_h, out_w, bias, scale, scale_exp, relu)
        int16 in, int16 out, exactly what the C returns;
        circnn.sim.bc_conv2d.bc_conv2d_q15 is its bit-exact numpy twin.
    quantize_bc_conv2d(w, in_frac, out_frac, bias, scale)
        float layer -> the q15 arrays.

Anything the C could not take (dtype, shape, block size, geometry, strides)
raises TypeError or ValueError here; it never reaches the C.
"""
import numpy as np

from ..nn import circulant
from ..sim import q15 as fixed
from . import fft as kernels
from ..export import quantization as Q
from .._native import ffi, lib
from ..nn.window import MAX_DIM, MAX_KERNEL, MAX_STRIDE, window_geometry

INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1


def _int(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}, got {value}")
    return int(value)


def _image(x, name):
    """(B, H, W, C) view of x and whether it came without a batch axis."""
    if x.ndim == 3:
        return x[None], True
    if x.ndim == 4:
        return x, False
    raise ValueError(f"{name} must have shape (B, H, W, in_c) or (H, W, in_c), got shape {x.shape}")


def _window(in_h, in_w, in_c, out_c, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, k):
    """A checked circnn_window_t (cdata) for circnn_bc_conv2d_check's rules."""
    for name, value in (("height", in_h), ("width", in_w), ("in_channels", in_c),
                        ("out_channels", out_c), ("out_h", out_h), ("out_w", out_w)):
        _int(value, name, 1, MAX_DIM)
    _int(kernel_h, "kernel height", 1, MAX_KERNEL)
    _int(kernel_w, "kernel width", 1, MAX_KERNEL)
    _int(stride, "stride", 1, MAX_STRIDE)
    _int(pad_top, "pad_top", 0, kernel_h - 1)
    _int(pad_left, "pad_left", 0, kernel_w - 1)
    if (out_h - 1) * stride - pad_top >= in_h or (out_w - 1) * stride - pad_left >= in_w:
        raise ValueError(f"an output of {out_h} x {out_w} with stride {stride} and padding "
                         f"({pad_top}, {pad_left}) has windows entirely outside a {in_h} x {in_w} input")
    g = ffi.new("circnn_window_t *")
    g.in_h, g.in_w, g.in_c = in_h, in_w, in_c
    g.out_h, g.out_w, g.out_c = out_h, out_w, out_c
    g.kernel_h, g.kernel_w, g.stride = kernel_h, kernel_w, stride
    g.pad_top, g.pad_left = pad_top, pad_left
    status = lib.circnn_bc_conv2d_check(g, k)
    if status != lib.CIRCNN_OK:
        name = ffi.string(lib.circnn_status_string(status)).decode()
        raise ValueError(f"bc_conv2d shape {in_h}x{in_w}x{in_c} -> {out_h}x{out_w}x{out_c}, "
                         f"kernel {kernel_h}x{kernel_w}, k = {k} refused: {name}")
    return g


def _check_weight_shape(shape, in_c, out_c):
    if len(shape) != 5:
        raise ValueError(f"weight must have shape (kernel_h, kernel_w, p, q, k), got {tuple(shape)}")
    kh, kw, p, q, k = shape
    circulant.check_block_size(k)
    want = (circulant.blocks(out_c, k), circulant.blocks(in_c, k))
    if (p, q) != want:
        raise ValueError(f"weight of shape {tuple(shape)} does not fit {in_c} input and {out_c} output "
                         f"channels: expected ({kh}, {kw}, {want[0]}, {want[1]}, {k})")
    return kh, kw, k


def _channel_array(v, name, dtype, m):
    if not isinstance(v, np.ndarray) or v.dtype != dtype or v.shape != (m,):
        got = f"{v.dtype} {v.shape}" if isinstance(v, np.ndarray) else type(v).__name__
        raise TypeError(f"{name} must be a {np.dtype(dtype).name} array of shape ({m},), got {got}")
    return np.ascontiguousarray(v)


def bc_conv2d_q15(weight, weight_exp, x, out_channels, stride, pad_top, pad_left, out_h, out_w,
                  bias=None, scale=None, scale_exp=0, relu=False):
    """C circnn_bc_conv2d_q15: x (B, H, W, in_c) or (H, W, in_c) int16 ->
    (B, out_h, out_w, out_channels) int16.

    weight: C-contiguous int16 (kernel_h, kernel_w, p, q, k) spectrum
    mantissas, spectrum = weight * 2^weight_exp; bias: int32 (out_channels,)
    with 16 fraction bits, or None; scale: int16 (out_channels,) mantissas,
    scale = scale * 2^scale_exp, or None.
    """
    weight = kernels._int16_array(weight, "weight")
    x = kernels._int16_array(x, "x")
    images, single = _image(x, "x")
    batch, in_h, in_w, in_c = images.shape
    m = _int(out_channels, "out_channels", 1, MAX_DIM)
    kh, kw, k = _check_weight_shape(weight.shape, in_c, m)
    g = _window(in_h, in_w, in_c, m, kh, kw, stride, pad_top, pad_left, out_h, out_w, k)
    weight_exp = _int(weight_exp, "weight_exp", INT32_MIN, INT32_MAX)
    scale_exp = _int(scale_exp, "scale_exp", INT32_MIN, INT32_MAX)
    if bias is not None:
        bias = _channel_array(bias, "bias", np.int32, m)
    if scale is not None:
        scale = _channel_array(scale, "scale", np.int16, m)
    layer = ffi.new("circnn_bc_conv2d_q15_t *")
    layer.g = g[0]
    layer.block_size = k
    layer.relu = 1 if relu else 0
    layer.weight = kernels._ptr("int16_t[]", weight)
    layer.weight_exp = weight_exp
    layer.bias = kernels._ptr("int32_t[]", bias) if bias is not None else ffi.NULL
    layer.scale = kernels._ptr("int16_t[]", scale) if scale is not None else ffi.NULL
    layer.scale_exp = scale_exp
    scratch = kernels._scratch(lib.circnn_bc_conv2d_q15_scratch_bytes(g, k))
    sp = kernels._wptr("char[]", scratch)
    y = np.empty((batch, out_h, out_w, m), dtype=np.int16)
    for b in range(batch):
        lib.circnn_bc_conv2d_q15(layer, kernels._ptr("int16_t[]", images[b]),
                                 kernels._wptr("int16_t[]", y[b]), sp)
    return y[0] if single else y


def quantize_bc_conv2d(w, in_frac, out_frac, bias=None, scale=None):
    """Float layer -> q15 arrays for bc_conv2d_q15, for activations x = x_int / 2^in_frac
    and y = y_int / 2^out_frac.

    Returns (weight int16, weight_exp, bias int32 or None, scale int16 or None, scale_exp).
    """
    weight, weight_exp, qbias = kernels.quantize_bc_dense(w, in_frac, out_frac, bias)
    qscale, scale_exp = None, 0
    if scale is not None:
        qscale, scale_exp = Q.mantissas(scale)
    return np.ascontiguousarray(weight), weight_exp, qbias, qscale, scale_exp


def _float_array(v, name):
    v = np.asarray(v)
    if v.dtype.kind != "f":
        raise TypeError(f"{name} must be a real float array, got dtype {v.dtype}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return v


def _kernel_size(kernel_size):
    if isinstance(kernel_size, (tuple, list)):
        if len(kernel_size) != 2:
            raise ValueError(f"kernel_size must be an int or (kernel_h, kernel_w), got {kernel_size!r}")
        return tuple(_int(v, "kernel_size", 1, MAX_KERNEL) for v in kernel_size)
    size = _int(kernel_size, "kernel_size", 1, MAX_KERNEL)
    return size, size


def bc_conv2d(w, x, out_channels, kernel_size, block_size, stride=1, padding="same", bias=None,
              scale=None, relu=False, dtype="f32"):
    """y = scale * conv(W, x) + bias, optional ReLU, through the C layer (HWC tensors).

    w: (kernel_h, kernel_w, p, q, k) defining vectors, tap (a, b) holding the
    block-circulant in_c x out_c matrix circulant.dense_matrix(w[a, b], ...);
    x: (B, H, W, in_c) or (H, W, in_c) floats; padding "same" or "valid".
    For q15 the power-of-two scales of x and y are chosen from the data (the
    output's from the float64 result, before the ReLU), as the exporter's
    calibration does.  Returns float64 (B, out_h, out_w, out_channels).
    """
    kernels._check_dtype(dtype)
    w = _float_array(w, "w")
    x = _float_array(x, "x")
    images, single = _image(x, "x")
    batch, in_h, in_w, in_c = images.shape
    m = _int(out_channels, "out_channels", 1, MAX_DIM)
    kh, kw = _kernel_size(kernel_size)
    k = circulant.check_block_size(block_size)
    if w.ndim != 5 or w.shape[:2] != (kh, kw) or w.shape[4] != k:
        raise ValueError(f"w must have shape ({kh}, {kw}, p, q, {k}) for a {kh}x{kw} kernel "
                         f"and block size {k}, got {w.shape}")
    _check_weight_shape(w.shape, in_c, m)
    stride = _int(stride, "stride", 1, MAX_STRIDE)
    geo = window_geometry(in_h, in_w, kh, kw, stride, padding)
    g = _window(in_h, in_w, in_c, m, kh, kw, stride, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w, k)
    for name, v in (("bias", bias), ("scale", scale)):
        if v is not None and np.shape(v) != (m,):
            raise ValueError(f"{name} must have shape ({m},), got {np.shape(v)}")
    if bias is not None:
        bias = _float_array(bias, "bias").astype(np.float64)
    if scale is not None:
        scale = _float_array(scale, "scale").astype(np.float64)
    if dtype == "f32":
        weight = np.ascontiguousarray(circulant.to_spectrum(w), dtype=np.float32)
        fbias = np.ascontiguousarray(bias, dtype=np.float32) if bias is not None else None
        fscale = np.ascontiguousarray(scale, dtype=np.float32) if scale is not None else None
        layer = ffi.new("circnn_bc_conv2d_f32_t *")
        layer.g = g[0]
        layer.block_size = k
        layer.relu = 1 if relu else 0
        layer.weight = kernels._ptr("float[]", weight)
        layer.bias = kernels._ptr("float[]", fbias) if fbias is not None else ffi.NULL
        layer.scale = kernels._ptr("float[]", fscale) if fscale is not None else ffi.NULL
        scratch = kernels._scratch(lib.circnn_bc_conv2d_f32_scratch_bytes(g, k))
        sp = kernels._wptr("char[]", scratch)
        xs = np.ascontiguousarray(images, dtype=np.float32)
        y = np.empty((batch, geo.out_h, geo.out_w, m), dtype=np.float32)
        for b in range(batch):
            lib.circnn_bc_conv2d_f32(layer, kernels._ptr("float[]", xs[b]), kernels._wptr("float[]", y[b]), sp)
        y = y.astype(np.float64)
        return y[0] if single else y
    reference = circulant.bc_conv2d_reference(w, images, m, stride, padding, bias, scale)
    in_frac = Q.frac_bits(float(np.abs(images).max()), kernels.HEADROOM_BITS)
    out_frac = Q.frac_bits(float(np.abs(reference).max()), kernels.HEADROOM_BITS)
    weight, weight_exp, qbias, qscale, scale_exp = quantize_bc_conv2d(w, in_frac, out_frac, bias, scale)
    xq = np.ascontiguousarray(fixed.quantize(images, in_frac))
    y = bc_conv2d_q15(weight, weight_exp, xq, m, stride, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w,
                      qbias, qscale, scale_exp, relu)
    y = y.astype(np.float64) * 2.0 ** -out_frac
    return y[0] if single else y
