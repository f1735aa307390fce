"""Bad input raises a clear Python exception before it can reach the C."""
import numpy as np
import pytest

from circnn import fixed, kernels


def q15(shape):
    return np.zeros(shape, dtype=np.int16)


@pytest.mark.parametrize("call", [kernels.rfft_q15, kernels.irfft_q15, fixed.rfft_q15, fixed.irfft_q15])
def test_transform_int16_checks(call):
    with pytest.raises(TypeError, match="int16"):
        call(np.zeros((2, 8), dtype=np.int32))
    with pytest.raises(ValueError, match="power of two"):
        call(q15((2, 12)))
    with pytest.raises(ValueError, match="power of two"):
        call(q15((1, 2048)))


def test_non_contiguous_is_refused():
    x = q15((4, 16))[:, ::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.rfft_q15(x)
    w = q15((2, 2, 8))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.bc_dense_q15(w, 0, q15((3, 32))[:, ::2], 16)


def test_float_wrappers_check_dtype_and_values():
    with pytest.raises(TypeError, match="real float"):
        kernels.rfft(np.zeros(8, dtype=np.int64))
    with pytest.raises(TypeError, match="real float"):
        kernels.rfft(np.zeros(8, dtype=np.complex128))
    with pytest.raises(ValueError, match="NaN"):
        kernels.rfft(np.array([0.0, np.nan, 0.0, 0.0]))
    with pytest.raises(ValueError, match="dtype must be one of"):
        kernels.rfft(np.zeros(8), dtype="q7")
    with pytest.raises(ValueError, match="power of two"):
        kernels.irfft(np.zeros(6, dtype=np.complex128))


def test_bc_dense_shape_checks():
    w = np.zeros((2, 3, 4))
    x = np.zeros((5, 12))
    kernels.bc_dense(w, x, 8)                       # fits: no error
    with pytest.raises(ValueError, match=r"expected \(2, 4, 4\)"):
        kernels.bc_dense(w, np.zeros((5, 13)), 8)    # 13 inputs need 4 blocks
    with pytest.raises(ValueError, match=r"expected \(3, 3, 4\)"):
        kernels.bc_dense(w, x, 9)
    with pytest.raises(ValueError, match="power of two"):
        kernels.bc_dense(np.zeros((2, 2, 6)), np.zeros(12), 12)
    with pytest.raises(ValueError, match="shape \\(p, q, k\\)"):
        kernels.bc_dense(np.zeros((2, 12)), x, 8)
    with pytest.raises(ValueError, match="bias must have shape"):
        kernels.bc_dense(w, x, 8, bias=np.zeros(7))
    with pytest.raises(ValueError, match="NaN or infinite"):
        kernels.bc_dense(np.full((2, 3, 4), np.inf), x, 8)
    with pytest.raises(TypeError, match="real float"):
        kernels.bc_dense(w.astype(np.int32), x, 8)


def test_bc_dense_q15_checks():
    w = q15((2, 3, 4))
    x = q15((5, 12))
    kernels.bc_dense_q15(w, 0, x, 8)
    with pytest.raises(TypeError, match="weight must be int16"):
        kernels.bc_dense_q15(w.astype(np.float32), 0, x, 8)
    with pytest.raises(TypeError, match="x must be int16"):
        kernels.bc_dense_q15(w, 0, x.astype(np.float64), 8)
    with pytest.raises(TypeError, match="bias must be an int32"):
        kernels.bc_dense_q15(w, 0, x, 8, bias=np.zeros(8, dtype=np.int64))
    with pytest.raises(ValueError, match="does not fit"):
        kernels.bc_dense_q15(w, 0, q15((5, 20)), 8)


def test_quantize_refuses_nan_and_rounds_half_up():
    with pytest.raises(ValueError, match="NaN"):
        fixed.quantize([0.5, np.nan])
    # half up, not numpy's half to even: 0.5 -> 1, 1.5 -> 2, 2.5 -> 3, -0.5 -> 0, -1.5 -> -1
    np.testing.assert_array_equal(fixed.quantize([0.5, 1.5, 2.5, -0.5, -1.5], 0), [1, 2, 3, 0, -1])
    np.testing.assert_array_equal(fixed.quantize([1.0, -1.0, 2.0], 15), [32767, -32768, 32767])
