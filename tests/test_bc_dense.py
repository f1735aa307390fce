"""Block-circulant dense layer: f32 C against the explicit float64 matrix,
q15 C against float64 (SNR) and against the simulator (bit for bit)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from circnn import circulant, fixed, kernels, quantization
from conftest import snr_db

SHAPES = [  # (out m, in n, k)
    (4, 4, 2), (6, 10, 2), (9, 7, 4), (64, 64, 8), (100, 300, 16), (300, 100, 16),
    (129, 65, 32), (256, 256, 64), (1000, 600, 128), (256, 512, 256), (700, 513, 512),
    (5, 3, 1024), (1024, 1024, 1024),
]


def random_layer(rng, m, n, k):
    w = rng.standard_normal((circulant.blocks(m, k), circulant.blocks(n, k), k)) / np.sqrt(n)
    return w, rng.standard_normal(m)


@pytest.mark.parametrize("m,n,k", SHAPES)
def test_f32_equals_dense_matrix(rng, m, n, k):
    w, b = random_layer(rng, m, n, k)
    x = rng.standard_normal((3, n))
    dense = circulant.dense_matrix(w, m, n)
    for bias in (None, b):
        expected = x @ dense.T + (0 if bias is None else bias)
        got = kernels.bc_dense(w, x, m, bias=bias, dtype="f32")
        assert got.shape == (3, m)
        rel = np.abs(got - expected).max() / np.abs(expected).max()
        assert rel <= 1e-5, f"{m}x{n} k={k}: relative error {rel:.2e}"


def test_f32_relu_and_single_vector(rng):
    w, b = random_layer(rng, 50, 40, 8)
    x = rng.standard_normal(40)
    expected = np.maximum(circulant.dense_matrix(w, 50, 40) @ x + b, 0.0)
    got = kernels.bc_dense(w, x, 50, bias=b, relu=True)
    assert got.shape == (50,)
    assert np.all(got[expected == 0.0] == 0.0)
    np.testing.assert_allclose(got, expected, atol=1e-5 * np.abs(expected).max())


def quantized_layer(rng, m, n, k, in_frac=12):
    """A random float layer, its q15 form and an int16 input batch."""
    w, b = random_layer(rng, m, n, k)
    x = rng.uniform(-1.0, 1.0, size=(4, n)) * 0.9 * 2.0 ** (15 - in_frac)
    y = circulant.matvec(w, x, m, b)
    out_frac = quantization.frac_bits(float(np.abs(y).max()), kernels.HEADROOM_BITS)
    weight, weight_exp, qbias = kernels.quantize_bc_dense(w, in_frac, out_frac, b)
    xq = fixed.quantize(x, in_frac)
    return w, b, xq, in_frac, out_frac, weight, weight_exp, qbias


@pytest.mark.parametrize("k", [8, 16, 32, 64, 128, 256])
@pytest.mark.parametrize("m,n", [(256, 256), (300, 200)])
def test_q15_snr_against_float64(rng, m, n, k):
    w, b, xq, in_frac, out_frac, weight, weight_exp, qbias = quantized_layer(rng, m, n, k)
    y = kernels.bc_dense_q15(weight, weight_exp, xq, m, qbias)
    # Oracle: the float64 layer on the quantized input (the error measured is the kernel's).
    expected = circulant.dense_matrix(w, m, n) @ (xq.astype(np.float64) * 2.0 ** -in_frac).T
    expected = expected.T + b
    snr = snr_db(expected, y * 2.0 ** -out_frac)
    assert snr >= 50.0, f"{m}x{n} k={k}: {snr:.1f} dB"


def test_q15_saturates_instead_of_wrapping(rng):
    m = n = 64
    k = 16
    w = np.abs(rng.standard_normal((4, 4, k)))    # all-positive blocks: large sums
    weight, weight_exp, _ = kernels.quantize_bc_dense(w, 15, 12)
    x = np.full((1, n), 32767, dtype=np.int16)
    y = kernels.bc_dense_q15(weight, weight_exp, x, m)
    expected = circulant.dense_matrix(w, m, n) @ np.full(n, 32767 / 2 ** 15) * 2 ** 12
    assert np.all(expected > 40000)
    assert np.all(y == 32767)
    y = kernels.bc_dense_q15(weight, weight_exp, -x, m)
    assert np.all(y == -32768)


def test_q15_relu_and_bias(rng):
    w, b, xq, in_frac, out_frac, weight, weight_exp, qbias = quantized_layer(rng, 40, 24, 8)
    plain = kernels.bc_dense_q15(weight, weight_exp, xq, 40, qbias)
    relu = kernels.bc_dense_q15(weight, weight_exp, xq, 40, qbias, relu=True)
    np.testing.assert_array_equal(relu, np.maximum(plain, 0))
    no_bias = kernels.bc_dense_q15(weight, weight_exp, xq, 40)
    shift = (plain.astype(np.int64) - no_bias).mean(axis=0) * 2.0 ** -out_frac
    np.testing.assert_allclose(shift, b, atol=4 * 2.0 ** -out_frac)


def test_float_q15_wrapper(rng):
    w, b = random_layer(rng, 200, 150, 32)
    x = rng.standard_normal((5, 150))
    expected = circulant.matvec(w, x, 200, b)
    assert snr_db(expected, kernels.bc_dense(w, x, 200, bias=b, dtype="q15")) >= 50.0


@st.composite
def q15_layers(draw):
    k = 2 ** draw(st.integers(1, 8))
    m = draw(st.integers(1, 3 * k + 5))
    n = draw(st.integers(1, 3 * k + 5))
    batch = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["uniform", "quiet", "extremes", "zeros"]))
    r = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    p, q = circulant.blocks(m, k), circulant.blocks(n, k)
    weight = r.integers(-32768, 32768, size=(p, q, k)).astype(np.int16)
    if kind == "uniform":
        x = r.integers(-32768, 32768, size=(batch, n))
    elif kind == "quiet":
        x = r.integers(-40, 41, size=(batch, n))
    elif kind == "extremes":
        x = r.choice([-32768, 32767], size=(batch, n))
    else:
        x = np.zeros((batch, n))
    bias = r.integers(-2 ** 31, 2 ** 31, size=m).astype(np.int32) if draw(st.booleans()) else None
    weight_exp = draw(st.integers(-45, 5))
    relu = draw(st.booleans())
    return weight, weight_exp, x.astype(np.int16), m, bias, relu


@settings(max_examples=200, deadline=None)
@given(q15_layers())
def test_q15_c_matches_simulator_bit_for_bit(layer):
    weight, weight_exp, x, m, bias, relu = layer
    c = kernels.bc_dense_q15(weight, weight_exp, x, m, bias, relu)
    s = fixed.bc_dense_q15(weight, weight_exp, x, m, bias, relu)
    np.testing.assert_array_equal(c, s)
