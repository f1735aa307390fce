"""Output size and padding of 2-D window layers: the twin of circnn_window_geometry.

Output pixel (oy, ox) reads input pixels (oy * stride + a - pad_top,
ox * stride + b - pad_left) for the kernel taps (a, b); outside the input is
zero padding.  "valid": out = floor((in - kernel) / stride) + 1, no padding.
"same": out = ceil(in / stride), total padding max((out - 1) * stride +
kernel - in, 0), the smaller half before (top, left).
"""
from collections import namedtuple

from .._native import lib

PADDINGS = {"valid": lib.CIRCNN_PAD_VALID, "same": lib.CIRCNN_PAD_SAME}
MAX_KERNEL = lib.CIRCNN_MAX_KERNEL
MAX_STRIDE = lib.CIRCNN_MAX_STRIDE
MAX_DIM = lib.CIRCNN_MAX_DIM

Window = namedtuple("Window", "out_h out_w pad_top pad_left")


def _axis(size, kernel, stride, padding):
    if padding == "valid":
        if kernel > size:
            raise ValueError(f"a {kernel}-wide window does not fit an input of {size} with 'valid' padding")
        return (size - kernel) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2


def window_geometry(in_h, in_w, kernel_h, kernel_w, stride, padding):
    """Window(out_h, out_w, pad_top, pad_left) for a padding mode ("valid" or "same")."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    for name, value, limit in (("height", in_h, MAX_DIM), ("width", in_w, MAX_DIM),
                               ("kernel height", kernel_h, MAX_KERNEL),
                               ("kernel width", kernel_w, MAX_KERNEL), ("stride", stride, MAX_STRIDE)):
        if not 1 <= int(value) <= limit:
            raise ValueError(f"{name} must be from 1 to {limit}, got {value}")
    out_h, pad_top = _axis(int(in_h), int(kernel_h), int(stride), padding)
    out_w, pad_left = _axis(int(in_w), int(kernel_w), int(stride), padding)
    return Window(out_h, out_w, pad_top, pad_left)
