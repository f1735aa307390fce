"""The q15 output stage and window geometry: C, Python twin and an exact oracle agree."""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from circnn import fixed, window
from circnn._native import ffi, lib


def exact_requant(v, e, bias):
    """round_half_up(v * 2^e + bias / 2^16) saturated, in exact rationals - except that
    the C floors v * 2^e to 2^-16 first when e < -16 (documented), which we mirror."""
    u = e + 16
    t = v * 2 ** u if u >= 0 else math.floor(Fraction(v, 2 ** min(-u, 63)))
    if u >= 0 and abs(t) >= 2 ** 62:
        t = 2 ** 62 if t > 0 else -2 ** 62
    y = math.floor(Fraction(t + bias + 2 ** 15, 2 ** 16))
    return max(-32768, min(32767, y))


@settings(max_examples=400, deadline=None)
@given(st.integers(-2 ** 50, 2 ** 50), st.integers(-70, 70), st.integers(-2 ** 31, 2 ** 31 - 1))
def test_requant_c_python_and_exact_agree(v, e, bias):
    expected = exact_requant(v, e, bias)
    assert lib.circnn_requant_q15(v, e, bias) == expected
    assert int(fixed.requant_q15(np.array([v]), e, bias)[0]) == expected


def test_requant_rounds_half_up_and_saturates():
    assert lib.circnn_requant_q15(3, -1, 0) == 2       # 1.5 -> 2
    assert lib.circnn_requant_q15(-3, -1, 0) == -1     # -1.5 -> -1
    assert lib.circnn_requant_q15(1, 40, 0) == 32767
    assert lib.circnn_requant_q15(-1, 40, 0) == -32768
    assert lib.circnn_requant_q15(0, 0, 5 << 16) == 5


@pytest.mark.parametrize("size,kernel,stride,padding", [
    (28, 3, 1, "same"), (28, 3, 2, "same"), (28, 5, 1, "valid"), (7, 2, 2, "valid"),
    (7, 4, 2, "same"), (1, 1, 1, "valid"), (14, 7, 1, "same"), (9, 2, 3, "same")])
def test_window_geometry_c_matches_python_and_definition(size, kernel, stride, padding):
    w = window.window_geometry(size, size + 1, kernel, kernel, stride, padding)
    g = ffi.new("circnn_window_t *", {"in_h": size, "in_w": size + 1, "in_c": 3,
                                      "kernel_h": kernel, "kernel_w": kernel, "stride": stride})
    assert lib.circnn_window_geometry(g, window.PADDINGS[padding]) == lib.CIRCNN_OK
    assert (g.out_h, g.out_w, g.pad_top, g.pad_left) == tuple(w)
    if padding == "same":       # TensorFlow's definition
        assert w.out_h == math.ceil(size / stride)
    else:
        assert w.out_h == (size - kernel) // stride + 1 and w.pad_top == 0
    # every output pixel's window overlaps the input
    assert (w.out_h - 1) * stride - w.pad_top < size


def test_window_geometry_refuses_bad_shapes():
    with pytest.raises(ValueError, match="does not fit"):
        window.window_geometry(3, 3, 5, 5, 1, "valid")
    with pytest.raises(ValueError, match="stride"):
        window.window_geometry(8, 8, 3, 3, 0, "same")
    with pytest.raises(ValueError, match="padding"):
        window.window_geometry(8, 8, 3, 3, 1, "full")
    g = ffi.new("circnn_window_t *", {"in_h": 3, "in_w": 3, "in_c": 1, "kernel_h": 5,
                                      "kernel_w": 5, "stride": 1})
    assert lib.circnn_window_geometry(g, 0) == lib.CIRCNN_ERR_SHAPE
