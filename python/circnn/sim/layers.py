"""Bit-exact numpy twins of circnn's plain q15 layers (include/circnn/layers.h).

Vectorised over a leading batch axis: x is (B, in_features) for dense and
(B, H, W, C) (NHWC) for conv2d, depthwise conv2d and the pools.  The window geometry is
explicit (stride, pad_top, pad_left, out_h, out_w: see circnn.nn.window for the
"same"/"valid" rules).  Taps outside the input are skipped, exactly as the C
does: conv2d adds nothing for them (zero padding), the pools leave them out
of the max and of the average's count; a window that misses the input
entirely gives 0.

Accumulators are exact int64 sums of int32 products (no value here can
overflow int64 for shapes the C accepts), and dense/conv2d go through the one
q15 output stage, circnn.sim.q15.requant_q15, then the ReLU.
"""
import numpy as np

from .q15 import requant_q15

INT16_MIN, INT16_MAX = -32768, 32767


def _int16(x, name, ndim):
    x = np.asarray(x)
    if x.dtype != np.int16:
        raise TypeError(f"{name} must be int16, got {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {x.shape}")
    return x


def _bias(bias, count):
    if bias is None:
        return np.zeros(count, dtype=np.int64)
    bias = np.asarray(bias)
    if bias.dtype != np.int32 or bias.shape != (count,):
        raise TypeError(f"bias must be int32 of shape ({count},), got {bias.dtype} {bias.shape}")
    return bias.astype(np.int64)


def _exact_products(sums, terms):
    """float64 sums of int16 x int16 products -> int64.  Exact (BLAS speed, no
    rounding): each product is an integer of magnitude <= 2^30 and a sum of
    fewer than 2^23 of them stays an integer below 2^53."""
    if terms >= 1 << 23:
        raise ValueError(f"{terms} terms per sum: float64 would not be exact")
    return np.rint(sums).astype(np.int64)


def _output_stage(acc, weight_exp, bias, relu):
    y = requant_q15(acc, int(weight_exp), bias)
    if relu:
        y = np.maximum(y, 0)
    return y.astype(np.int16)


def dense_q15(weight, weight_exp, x, bias=None, relu=False):
    """Twin of circnn_dense_q15: weight int16 (out, in), x int16 (B, in) -> int16 (B, out)."""
    weight = _int16(weight, "weight", 2)
    x = _int16(x, "x", 2)
    out_features, in_features = weight.shape
    if x.shape[1] != in_features:
        raise ValueError(f"x has {x.shape[1]} features, weight expects {in_features}")
    acc = _exact_products(x.astype(np.float64) @ weight.astype(np.float64).T, in_features)
    return _output_stage(acc, weight_exp, _bias(bias, out_features), relu)


def _patches(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, fill):
    """Window patches of x (B, H, W, C): (B, out_h, out_w, kernel_h, kernel_w, C) int64,
    and the (out_h, out_w, kernel_h, kernel_w) mask of taps inside the input.
    Taps outside the input hold `fill`."""
    batch, in_h, in_w, channels = x.shape
    for name, value in (("kernel_h", kernel_h), ("kernel_w", kernel_w), ("stride", stride),
                        ("out_h", out_h), ("out_w", out_w)):
        if int(value) < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    if int(pad_top) < 0 or int(pad_left) < 0:
        raise ValueError(f"padding must not be negative, got {pad_top}, {pad_left}")
    rows = np.arange(out_h)[:, None] * stride + np.arange(kernel_h)[None, :] - pad_top   # (out_h, kh)
    cols = np.arange(out_w)[:, None] * stride + np.arange(kernel_w)[None, :] - pad_left  # (out_w, kw)
    row_in = (rows >= 0) & (rows < in_h)
    col_in = (cols >= 0) & (cols < in_w)
    inside = row_in[:, None, :, None] & col_in[None, :, None, :]
    r = np.clip(rows, 0, in_h - 1)[:, None, :, None]
    c = np.clip(cols, 0, in_w - 1)[None, :, None, :]
    patches = x.astype(np.int64)[:, r, c, :]            # (B, out_h, out_w, kh, kw, C)
    patches = np.where(inside[None, ..., None], patches, np.int64(fill))
    return patches, inside


def conv2d_q15(weight, weight_exp, x, stride, pad_top, pad_left, out_h, out_w, bias=None, relu=False):
    """Twin of circnn_conv2d_q15: weight int16 (kh, kw, cin, cout), x int16 (B, H, W, cin)
    -> int16 (B, out_h, out_w, cout)."""
    weight = _int16(weight, "weight", 4)
    x = _int16(x, "x", 4)
    kernel_h, kernel_w, in_c, out_c = weight.shape
    if x.shape[3] != in_c:
        raise ValueError(f"x has {x.shape[3]} channels, weight expects {in_c}")
    patches, _ = _patches(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, 0)
    sums = np.tensordot(patches.astype(np.float64), weight.astype(np.float64), axes=3)
    acc = _exact_products(sums, kernel_h * kernel_w * in_c)
    return _output_stage(acc, weight_exp, _bias(bias, out_c), relu)


def depthwise_conv2d_q15(weight, weight_exp, x, stride, pad_top, pad_left, out_h, out_w, bias=None, relu=False):
    """Twin of circnn_depthwise_conv2d_q15: weight int16 (kh, kw, c), x int16 (B, H, W, c)
    -> int16 (B, out_h, out_w, c); channel c sees only its own kernel weight[:, :, c]."""
    weight = _int16(weight, "weight", 3)
    x = _int16(x, "x", 4)
    kernel_h, kernel_w, channels = weight.shape
    if x.shape[3] != channels:
        raise ValueError(f"x has {x.shape[3]} channels, weight expects {channels}")
    for name, value in (("stride", stride), ("out_h", out_h), ("out_w", out_w)):
        if int(value) < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    if int(pad_top) < 0 or int(pad_left) < 0:
        raise ValueError(f"padding must not be negative, got {pad_top}, {pad_left}")
    stride = int(stride)
    batch, in_h, in_w, _ = x.shape
    acc = np.zeros((batch, out_h, out_w, channels), dtype=np.int64)   # exact sums, tap by tap

    def inside(out, tap, pad, size):
        """(output slice, input slice) of the outputs whose input index for this tap is inside."""
        where = np.arange(out) * stride + tap - pad
        index = np.flatnonzero((where >= 0) & (where < size))
        if not index.size:
            return None, None
        o0, o1 = int(index[0]), int(index[-1]) + 1
        i0 = o0 * stride + tap - pad
        return slice(o0, o1), slice(i0, i0 + (o1 - o0 - 1) * stride + 1, stride)

    for a in range(kernel_h):
        out_rows, in_rows = inside(out_h, a, pad_top, in_h)
        for b in range(kernel_w):
            out_cols, in_cols = inside(out_w, b, pad_left, in_w)
            if out_rows is None or out_cols is None:
                continue
            acc[:, out_rows, out_cols] += x[:, in_rows, in_cols].astype(np.int64) * weight[a, b].astype(np.int64)
    return _output_stage(acc, weight_exp, _bias(bias, channels), relu)


def maxpool2d_q15(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w):
    """Twin of circnn_maxpool2d_q15 on x int16 (B, H, W, C) -> int16 (B, out_h, out_w, C)."""
    x = _int16(x, "x", 4)
    patches, inside = _patches(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, INT16_MIN - 1)
    y = patches.max(axis=(3, 4))
    empty = ~inside.any(axis=(2, 3))
    return np.where(empty[None, :, :, None], 0, y).astype(np.int16)


def avgpool2d_q15(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w):
    """Twin of circnn_avgpool2d_q15: floor((2 sum + count) / (2 count)) over the taps inside
    the input (count of them; 0 for a window that misses the input)."""
    x = _int16(x, "x", 4)
    patches, inside = _patches(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, 0)
    total = patches.sum(axis=(3, 4))                                  # (B, out_h, out_w, C)
    count = inside.sum(axis=(2, 3)).astype(np.int64)[None, :, :, None]
    y = (2 * total + count) // np.maximum(2 * count, 1)              # floor division
    return np.where(count == 0, 0, y).astype(np.int16)


def relu_q15(x):
    """Twin of circnn_relu_q15: max(x, 0), any shape."""
    x = np.asarray(x)
    if x.dtype != np.int16:
        raise TypeError(f"x must be int16, got {x.dtype}")
    return np.maximum(x, 0).astype(np.int16)


def argmax_q15(x):
    """Twin of circnn_argmax_q15 over the last axis (first index on ties): x (..., n) -> (...)."""
    x = np.asarray(x)
    if x.dtype != np.int16:
        raise TypeError(f"x must be int16, got {x.dtype}")
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"x must have at least one value on its last axis, got shape {x.shape}")
    return np.argmax(x, axis=-1).astype(np.int64)
