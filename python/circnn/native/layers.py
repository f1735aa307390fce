"""circnn's plain C layers (include/circnn/layers.h) on numpy batches, through cffi.

    dense(weight, x, bias, relu, dtype, weight_exp)            x (B, in) or (in,)
    conv2d(weight, x, stride, padding, bias, relu, dtype, weight_exp)
                                                               x (B, H, W, C) or (H, W, C)
    depthwise_conv2d(weight, x, stride, padding, bias, relu, dtype, weight_exp)
    maxpool2d(x, kernel, stride, padding, dtype)
    avgpool2d(x, kernel, stride, padding, dtype)
    relu(x, dtype)                 any shape
    softmax(x)                     f32, over the last axis
    argmax(x, dtype)               over the last axis, first index on ties

dtype "f32": real float arrays (any float dtype, converted to float32) in,
float32 out - exactly what the C computed.  dtype "q15" works at the integer
level, like the C: C-contiguous int16 arrays (weights int16 mantissas with
one weight_exp, bias int32 with 16 fraction bits, see circnn/q15.h) in,
int16 out.  circnn.sim.layers has numpy twins of the q15 layers that are
bit-exact with these.

Window geometry: kernel is an int or (kernel_h, kernel_w); padding is
"same", "valid" (circnn.nn.window's rules, any kernel up to 255) or an explicit
(pad_top, pad_left, out_h, out_w); pools default to stride = kernel.
Anything the C could not take raises TypeError or ValueError here; the C
itself never fails.
"""
import numpy as np

from ..nn import window
from .._native import ffi, lib
from .fft import _check_dtype, _int16_array, _ptr, _wptr

MAX_DIM = window.MAX_DIM     # largest height, width or channel count
MAX_KERNEL_FIELD = 255       # kernel, stride and padding are uint8 in circnn_window_t
MAX_FEATURES = 2 ** 32 - 1


def _float_array(x, name):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name} must be a real float array for dtype 'f32', got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return np.ascontiguousarray(x, dtype=np.float32)


def _array(x, name, dtype):
    """x as the C will read it: float32 (converted) for f32, int16 (checked, not copied) for q15."""
    return _float_array(x, name) if dtype == "f32" else _int16_array(x, name)


def _ctype(dtype):
    return "float[]" if dtype == "f32" else "int16_t[]"


def _bias(bias, count, dtype):
    if bias is None:
        return None
    if dtype == "f32":
        bias = _float_array(bias, "bias")
    else:
        if not isinstance(bias, np.ndarray) or bias.dtype != np.int32:
            raise TypeError(f"bias must be an int32 numpy array of shape ({count},) for dtype 'q15'")
        if not bias.flags.c_contiguous:
            raise ValueError("bias must be C-contiguous (use numpy.ascontiguousarray)")
    if bias.shape != (count,):
        raise ValueError(f"bias must have shape ({count},), got {bias.shape}")
    return bias


def _weight_exp(weight_exp):
    e = int(weight_exp)
    if not -2 ** 31 <= e < 2 ** 31:
        raise ValueError(f"weight_exp must fit int32, got {weight_exp}")
    return e


def _batch(x, ndim, name):
    """(batch view with a leading axis, whether x had one)."""
    if x.ndim == ndim:
        return x[None], False
    if x.ndim == ndim + 1:
        return x, True
    raise ValueError(f"{name} must have {ndim} or {ndim + 1} (batch first) dimensions, got shape {x.shape}")


def _check_dim(name, value, low, high):
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}, got {value}")
    return value


def _pair(kernel, name="kernel"):
    if np.ndim(kernel) == 0:
        return int(kernel), int(kernel)
    if len(kernel) != 2:
        raise ValueError(f"{name} must be an int or (height, width), got {kernel!r}")
    return int(kernel[0]), int(kernel[1])


def _window(shape, kernel_h, kernel_w, stride, padding, out_c):
    """A circnn_window_t for an input of shape (H, W, C)."""
    in_h, in_w, in_c = shape
    g = ffi.new("circnn_window_t *")
    g.in_h = _check_dim("input height", in_h, 1, MAX_DIM)
    g.in_w = _check_dim("input width", in_w, 1, MAX_DIM)
    g.in_c = _check_dim("input channels", in_c, 1, MAX_DIM)
    g.out_c = _check_dim("output channels", out_c, 1, MAX_DIM)
    g.kernel_h = _check_dim("kernel height", kernel_h, 1, MAX_KERNEL_FIELD)
    g.kernel_w = _check_dim("kernel width", kernel_w, 1, MAX_KERNEL_FIELD)
    g.stride = _check_dim("stride", stride, 1, MAX_KERNEL_FIELD)
    if isinstance(padding, str):
        if padding not in window.PADDINGS:
            raise ValueError(f"padding must be 'valid', 'same' or (pad_top, pad_left, out_h, out_w), got {padding!r}")
        out_h, pad_top = window._axis(in_h, kernel_h, stride, padding)
        out_w, pad_left = window._axis(in_w, kernel_w, stride, padding)
    else:
        if len(padding) != 4:
            raise ValueError(f"padding must be 'valid', 'same' or (pad_top, pad_left, out_h, out_w), got {padding!r}")
        pad_top, pad_left, out_h, out_w = (int(v) for v in padding)
    g.pad_top = _check_dim("pad_top", pad_top, 0, MAX_KERNEL_FIELD)
    g.pad_left = _check_dim("pad_left", pad_left, 0, MAX_KERNEL_FIELD)
    g.out_h = _check_dim("output height", out_h, 1, MAX_DIM)
    g.out_w = _check_dim("output width", out_w, 1, MAX_DIM)
    return g


# ---------------------------------------------------------------------------
# Layers that change scale

def _layer_struct(name, dtype, bias, weight_exp):
    """A new circnn_<name>_<dtype>_t with its bias (and, for q15, weight_exp)
    set; returns (struct, its C function, the output numpy dtype)."""
    layer = ffi.new(f"circnn_{name}_{dtype}_t *")
    if dtype == "f32":
        layer.bias = _ptr("float[]", bias) if bias is not None else ffi.NULL
        return layer, getattr(lib, f"circnn_{name}_f32"), np.float32
    layer.weight_exp = _weight_exp(weight_exp)
    layer.bias = _ptr("int32_t[]", bias) if bias is not None else ffi.NULL
    return layer, getattr(lib, f"circnn_{name}_q15"), np.int16


def dense(weight, x, bias=None, relu=False, dtype="f32", weight_exp=0):
    """y = W x + b (then ReLU) through circnn_dense_<dtype>.

    weight (out, in); x (B, in) or (in,); bias (out,) or None.  q15: weight and
    x int16, bias int32 (16 fraction bits), W = weight * 2^weight_exp.
    """
    _check_dtype(dtype)
    weight = _array(weight, "weight", dtype)
    if weight.ndim != 2:
        raise ValueError(f"weight must have shape (out_features, in_features), got {weight.shape}")
    out_features, in_features = weight.shape
    _check_dim("out_features", out_features, 1, MAX_FEATURES)
    _check_dim("in_features", in_features, 1, MAX_FEATURES)
    x = _array(x, "x", dtype)
    rows, batched = _batch(x, 1, "x")
    if rows.shape[1] != in_features:
        raise ValueError(f"x has {rows.shape[1]} features, weight expects {in_features}")
    bias = _bias(bias, out_features, dtype)
    ctype = _ctype(dtype)
    layer, run, out_dtype = _layer_struct("dense", dtype, bias, weight_exp)
    layer.in_features, layer.out_features = in_features, out_features
    layer.relu = 1 if relu else 0
    layer.weight = _ptr(ctype, weight)
    y = np.empty((rows.shape[0], out_features), dtype=out_dtype)
    for b in range(rows.shape[0]):
        run(layer, _ptr(ctype, rows[b]), _wptr(ctype, y[b]))
    return y if batched else y[0]


def conv2d(weight, x, stride=1, padding="same", bias=None, relu=False, dtype="f32", weight_exp=0, ohwi=False):
    """2-D cross-correlation through circnn_conv2d_<dtype>.

    weight (kernel_h, kernel_w, in_c, out_c) (HWIO); x (B, H, W, in_c) or (H, W, in_c);
    padding "same", "valid" or (pad_top, pad_left, out_h, out_w).  Returns
    (B, out_h, out_w, out_c) (no batch axis if x had none).  ohwi (q15): run
    circnn_conv2d_q15_ohwi on the same weights in OHWI order, as model blobs
    store a conv2d of more than one input channel.
    """
    _check_dtype(dtype)
    weight = _array(weight, "weight", dtype)
    if weight.ndim != 4:
        raise ValueError(f"weight must have shape (kernel_h, kernel_w, in_c, out_c), got {weight.shape}")
    kernel_h, kernel_w, in_c, out_c = weight.shape
    x = _array(x, "x", dtype)
    images, batched = _batch(x, 3, "x")
    if images.shape[3] != in_c:
        raise ValueError(f"x has {images.shape[3]} channels, weight expects {in_c}")
    g = _window(images.shape[1:], kernel_h, kernel_w, stride, padding, out_c)
    bias = _bias(bias, out_c, dtype)
    ctype = _ctype(dtype)
    layer, run, out_dtype = _layer_struct("conv2d", dtype, bias, weight_exp)
    layer.g = g[0]
    layer.relu = 1 if relu else 0
    if ohwi:
        if dtype != "q15":
            raise ValueError("ohwi: only the q15 conv2d reads OHWI weights")
        weight = np.ascontiguousarray(weight.transpose(3, 0, 1, 2))
        run = lib.circnn_conv2d_q15_ohwi
    layer.weight = _ptr(ctype, weight)
    y = np.empty((images.shape[0], g.out_h, g.out_w, out_c), dtype=out_dtype)
    for b in range(images.shape[0]):
        run(layer, _ptr(ctype, images[b]), _wptr(ctype, y[b]))
    return y if batched else y[0]


def depthwise_conv2d(weight, x, stride=1, padding="same", bias=None, relu=False, dtype="f32", weight_exp=0):
    """Depthwise 2-D cross-correlation through circnn_depthwise_conv2d_<dtype>.

    weight (kernel_h, kernel_w, c); x (B, H, W, c) or (H, W, c); padding "same",
    "valid" or (pad_top, pad_left, out_h, out_w).  Returns (B, out_h, out_w, c).
    """
    _check_dtype(dtype)
    weight = _array(weight, "weight", dtype)
    if weight.ndim != 3:
        raise ValueError(f"weight must have shape (kernel_h, kernel_w, channels), got {weight.shape}")
    kernel_h, kernel_w, channels = weight.shape
    x = _array(x, "x", dtype)
    images, batched = _batch(x, 3, "x")
    if images.shape[3] != channels:
        raise ValueError(f"x has {images.shape[3]} channels, weight expects {channels}")
    g = _window(images.shape[1:], kernel_h, kernel_w, stride, padding, channels)
    bias = _bias(bias, channels, dtype)
    ctype = _ctype(dtype)
    layer, run, out_dtype = _layer_struct("depthwise_conv2d", dtype, bias, weight_exp)
    layer.g = g[0]
    layer.relu = 1 if relu else 0
    layer.weight = _ptr(ctype, weight)
    y = np.empty((images.shape[0], g.out_h, g.out_w, channels), dtype=out_dtype)
    for b in range(images.shape[0]):
        run(layer, _ptr(ctype, images[b]), _wptr(ctype, y[b]))
    return y if batched else y[0]


# ---------------------------------------------------------------------------
# Pooling

def _pool(name, x, kernel, stride, padding, dtype):
    _check_dtype(dtype)
    kernel_h, kernel_w = _pair(kernel)
    if stride is None:
        if kernel_h != kernel_w:
            raise ValueError(f"stride is needed for a non-square kernel {kernel_h}x{kernel_w}")
        stride = kernel_h
    x = _array(x, "x", dtype)
    images, batched = _batch(x, 3, "x")
    g = _window(images.shape[1:], kernel_h, kernel_w, stride, padding, images.shape[3])
    run = getattr(lib, f"circnn_{name}_{dtype}")
    ctype = _ctype(dtype)
    y = np.empty((images.shape[0], g.out_h, g.out_w, g.out_c), dtype=np.float32 if dtype == "f32" else np.int16)
    for b in range(images.shape[0]):
        run(g, _ptr(ctype, images[b]), _wptr(ctype, y[b]))
    return y if batched else y[0]


def maxpool2d(x, kernel, stride=None, padding="valid", dtype="f32"):
    """Max pooling per channel (taps outside the input are left out) through circnn_maxpool2d_<dtype>."""
    return _pool("maxpool2d", x, kernel, stride, padding, dtype)


def avgpool2d(x, kernel, stride=None, padding="valid", dtype="f32"):
    """Average pooling per channel over the taps inside the input, through circnn_avgpool2d_<dtype>.
    Global average pooling: kernel = (H, W), padding "valid"."""
    return _pool("avgpool2d", x, kernel, stride, padding, dtype)


# ---------------------------------------------------------------------------
# Activations

def _vector_rows(x, name, dtype):
    x = _array(x, name, dtype)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"{name} must have at least one value on its last axis, got shape {x.shape}")
    _check_dim(f"the length of {name}", x.shape[-1], 1, MAX_FEATURES)
    return x, x.reshape(-1, x.shape[-1])


def relu(x, dtype="f32"):
    """max(x, 0) through circnn_relu_<dtype>, any shape."""
    _check_dtype(dtype)
    x, rows = _vector_rows(x, "x", dtype)
    run, ctype = getattr(lib, f"circnn_relu_{dtype}"), _ctype(dtype)
    y = np.empty_like(rows)
    for b in range(rows.shape[0]):
        run(_ptr(ctype, rows[b]), _wptr(ctype, y[b]), rows.shape[1])
    return y.reshape(x.shape)


def softmax(x):
    """circnn_softmax_f32 over the last axis of a float array; float32 out."""
    x, rows = _vector_rows(x, "x", "f32")
    y = np.empty_like(rows)
    for b in range(rows.shape[0]):
        lib.circnn_softmax_f32(_ptr("float[]", rows[b]), _wptr("float[]", y[b]), rows.shape[1])
    return y.reshape(x.shape)


def argmax(x, dtype="f32"):
    """circnn_argmax_<dtype> over the last axis: int64 indices of shape x.shape[:-1]."""
    _check_dtype(dtype)
    x, rows = _vector_rows(x, "x", dtype)
    run, ctype = getattr(lib, f"circnn_argmax_{dtype}"), _ctype(dtype)
    out = np.array([run(_ptr(ctype, row), rows.shape[1]) for row in rows], dtype=np.int64)
    return out.reshape(x.shape[:-1])
