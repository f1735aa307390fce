"""circnn.quantization: the one place where scales, mantissas and biases are
chosen and rounded, for the exporter and the kernel wrappers alike."""
import numpy as np
import pytest

import circnn
from circnn import conv_kernels, export, kernels, quantization as Q
from circnn import layers as L


def test_frac_bits_and_headroom():
    assert Q.frac_bits(0.0) == 15 and Q.frac_bits(0.0, 1) == 15
    assert Q.frac_bits(1.0) == 14                         # 1 * 2^14 <= 32767 < 2^15
    assert Q.frac_bits(32767.0) == 0 and Q.frac_bits(32768.0) == -1
    assert Q.frac_bits(16383.0, headroom_bits=1) == 0 and Q.frac_bits(16384.0, headroom_bits=1) == -1
    for largest in (1e-3, 0.7, 3.0, 1234.5, 1e6):
        for headroom in (0, 1):
            f = Q.frac_bits(largest, headroom)
            assert largest * 2.0 ** f <= 2 ** (15 - headroom) - 1 < largest * 2.0 ** (f + 1)


def test_mantissas_round_half_up_and_stay_symmetric():
    mant, exp = Q.mantissas(np.array([32767.0, -32767.0, 0.5, -0.5, 1.5, -1.5, 0.0]))
    assert exp == 0
    assert mant.tolist() == [32767, -32767, 1, 0, 2, -1, 0]          # half up, as the C rounds
    mant, exp = Q.mantissas(np.array([1.0, -0.25]))       # 2^15 would not fit: 2^14
    assert exp == -14 and mant.tolist() == [16384, -4096]
    mant, exp = Q.mantissas(np.array([3.0 * 2 ** 20]))    # the smallest exponent that fits
    assert exp == 7 and mant.tolist() == [24576]
    assert Q.mantissas(np.zeros(3))[1] == 0 and Q.mantissas(np.zeros(0))[1] == 0
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="NaN or infinite"):
            Q.mantissas(np.array([1.0, bad]))
    rows, exps = Q.mantissas(np.array([[1.0, -2.0], [0.0, 0.0], [1000.0, 3.0]]), axis=-1)
    assert exps.tolist() == [-13, 0, -5] and rows.dtype == np.int16
    assert rows[0].tolist() == [8192, -16384] and rows[2].tolist() == [32000, 96]
    assert np.all(np.abs(Q.mantissas(np.random.default_rng(0).standard_normal(1000))[0]) <= 32767)


def test_bias_at_the_accumulator_scale_saturates():
    assert Q.bias(np.array([1.0, -1.0, 2.0 ** -17, -(2.0 ** -17)]), 0).tolist() == [65536, -65536, 1, 0]
    assert Q.bias(np.array([1e9, -1e9]), 0).tolist() == [2 ** 31 - 1, -2 ** 31]
    assert Q.bias(np.array([1.0]), 3).dtype == np.int32


def test_no_other_module_keeps_a_copy():
    assert not any(hasattr(export, name) for name in ("frac_bits", "_mantissas"))
    assert not hasattr(kernels, "_frac_bits") and not hasattr(conv_kernels, "_power_of_two_exp")


def test_the_exporter_and_the_kernel_wrappers_quantize_a_layer_alike():
    rng = np.random.default_rng(3)
    layer = L.BlockCirculantDense(48, 32, 16, seed=rng)
    layer.bias = 0.1 * rng.standard_normal(32)
    model = circnn.Model([layer], input_shape=(48,))
    q = model.quantize(rng.uniform(-1, 1, (64, 48)))
    op = q.ops[0]
    weight, weight_exp, bias = kernels.quantize_bc_dense(layer.weight, q.input_frac, op.out_frac, layer.bias)
    assert weight_exp == op.weight_exp
    np.testing.assert_array_equal(weight, op.weight)
    np.testing.assert_array_equal(bias, op.bias)
