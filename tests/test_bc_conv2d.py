"""Block-circulant 2-D convolution: f32 C against the explicit float64
convolution, q15 C against the simulator (bit for bit) and float64 (SNR)."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from circnn import circulant, conv_kernels, fixed_conv, kernels, quantization
from circnn._native import ffi, lib
from circnn.window import window_geometry
from conftest import snr_db


def random_layer(rng, kh, kw, in_c, out_c, k):
    shape = (kh, kw, circulant.blocks(out_c, k), circulant.blocks(in_c, k), k)
    return rng.standard_normal(shape) / np.sqrt(kh * kw * in_c)


def rel_error(got, expected):
    return np.abs(got - expected).max() / np.abs(expected).max()


# ---------------------------------------------------------------------------
# The oracle itself

def test_reference_is_the_explicit_convolution(rng):
    """bc_conv2d_reference against a loop over pixels and taps written out here."""
    w = random_layer(rng, 3, 2, 7, 6, 4)
    x = rng.standard_normal((2, 5, 6, 7))
    b, s = rng.standard_normal(6), rng.uniform(0.5, 2.0, 6)
    geo = window_geometry(5, 6, 3, 2, 2, "same")
    expected = np.zeros((2, geo.out_h, geo.out_w, 6))
    for oy, ox, a, c in itertools.product(range(geo.out_h), range(geo.out_w), range(3), range(2)):
        iy, ix = oy * 2 + a - geo.pad_top, ox * 2 + c - geo.pad_left
        if 0 <= iy < 5 and 0 <= ix < 6:
            expected[:, oy, ox] += x[:, iy, ix] @ circulant.dense_matrix(w[a, c], 6, 7).T
    expected = expected * s + b
    got = circulant.bc_conv2d_reference(w, x, 6, 2, "same", b, s)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(circulant.bc_conv2d_reference(w, x[0], 6, 2, "same", b, s), expected[0],
                               rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# f32

F32_CASES = list(itertools.product([(1, 1), (2, 2), (3, 3), (5, 5)], [1, 2], ["same", "valid"], [2, 4, 8, 16]))


@pytest.mark.parametrize("kernel,stride,padding,k", F32_CASES)
def test_f32_equals_reference(rng, kernel, stride, padding, k):
    kh, kw = kernel
    in_c, out_c = 2 * k + 1, k + 3          # neither a multiple of k
    h, w_ = 9, 6                           # non-square
    w = random_layer(rng, kh, kw, in_c, out_c, k)
    x = rng.standard_normal((2, h, w_, in_c))
    bias, scale = rng.standard_normal(out_c), rng.uniform(0.25, 2.0, out_c)
    for b, s, relu in [(None, None, False), (bias, None, False), (None, scale, False), (bias, scale, True)]:
        expected = circulant.bc_conv2d_reference(w, x, out_c, stride, padding, b, s)
        if relu:
            expected = np.maximum(expected, 0.0)
        got = conv_kernels.bc_conv2d(w, x, out_c, kernel, k, stride, padding, b, s, relu)
        assert got.shape == expected.shape
        rel = rel_error(got, expected)
        assert rel <= 1e-5, f"{kernel} s={stride} {padding} k={k}: relative error {rel:.2e}"
        if relu:
            assert np.all(got >= 0.0) and np.all(got[expected == 0.0] == 0.0)


@pytest.mark.parametrize("k", [2, 4, 8, 16, 64])
def test_f32_1x1_is_the_block_circulant_matrix(rng, k):
    in_c, out_c = 3 * k - 1, 2 * k + 1
    w = random_layer(rng, 1, 1, in_c, out_c, k)
    x = rng.standard_normal(in_c)
    expected = circulant.dense_matrix(w[0, 0], out_c, in_c) @ x
    got = conv_kernels.bc_conv2d(w, x.reshape(1, 1, in_c), out_c, 1, k)
    assert got.shape == (1, 1, out_c)
    assert rel_error(got[0, 0], expected) <= 1e-5
    # and bc_dense's C gives the same
    dense = kernels.bc_dense(w[0, 0], x, out_c)
    assert rel_error(got[0, 0], dense) <= 1e-6


@pytest.mark.parametrize("kernel,stride,in_hw,in_c,out_c,k", [
    ((7, 7), 4, (17, 23), 5, 9, 4),            # stride 4, odd sizes
    ((3, 1), 1, (8, 3), 12, 12, 4),            # non-square kernel
    ((1, 5), 3, (4, 13), 9, 2, 8),
    ((3, 3), 1, (6, 6), 64, 96, 32),           # many channels
    ((3, 3), 2, (5, 5), 100, 40, 128),         # one block larger than the channels
    ((2, 3), 1, (1, 1), 3, 3, 2),              # 1x1 image, "same"
])
def test_f32_more_shapes(rng, kernel, stride, in_hw, in_c, out_c, k):
    w = random_layer(rng, *kernel, in_c, out_c, k)
    x = rng.standard_normal((3,) + in_hw + (in_c,))
    b = rng.standard_normal(out_c)
    for padding in ("same", "valid"):
        if padding == "valid" and (kernel[0] > in_hw[0] or kernel[1] > in_hw[1]):
            continue
        expected = circulant.bc_conv2d_reference(w, x, out_c, stride, padding, b)
        got = conv_kernels.bc_conv2d(w, x, out_c, kernel, k, stride, padding, b)
        assert rel_error(got, expected) <= 1e-5


# ---------------------------------------------------------------------------
# q15 against float64

def quantized_case(rng, k, kh=3, kw=3, in_c=48, out_c=40, hw=(10, 12), in_frac=12, stride=1,
                   padding="same"):
    """A float layer with a folded batch-norm scale, its q15 form and an int16 input batch."""
    w = random_layer(rng, kh, kw, in_c, out_c, k)
    b = 0.5 * rng.standard_normal(out_c)
    s = rng.uniform(0.5, 2.0, out_c)
    x = rng.uniform(-1.0, 1.0, size=(2,) + hw + (in_c,)) * 0.9 * 2.0 ** (15 - in_frac)
    y = circulant.bc_conv2d_reference(w, x, out_c, stride, padding, b, s)
    out_frac = quantization.frac_bits(float(np.abs(y).max()), kernels.HEADROOM_BITS)
    weight, weight_exp, qbias, qscale, scale_exp = conv_kernels.quantize_bc_conv2d(w, in_frac, out_frac, b, s)
    xq = kernels.fixed.quantize(x, in_frac)
    geo = window_geometry(hw[0], hw[1], kh, kw, stride, padding)
    return dict(w=w, b=b, s=s, xq=xq, in_frac=in_frac, out_frac=out_frac, weight=weight,
                weight_exp=weight_exp, qbias=qbias, qscale=qscale, scale_exp=scale_exp, geo=geo,
                stride=stride, padding=padding, out_c=out_c)


def run_q15(c, bias=True, scale=True, relu=False, simulator=False):
    g = c["geo"]
    call = fixed_conv.bc_conv2d_q15 if simulator else conv_kernels.bc_conv2d_q15
    return call(c["weight"], c["weight_exp"], c["xq"], c["out_c"], c["stride"], g.pad_top, g.pad_left,
                g.out_h, g.out_w, c["qbias"] if bias else None, c["qscale"] if scale else None,
                c["scale_exp"], relu)


Q15_SNR = {}


@pytest.mark.parametrize("k", [4, 8, 16])
@pytest.mark.parametrize("kernel,stride,padding", [((3, 3), 1, "same"), ((5, 5), 2, "valid"), ((1, 1), 1, "same")])
def test_q15_snr_against_float64(rng, k, kernel, stride, padding):
    c = quantized_case(rng, k, *kernel, stride=stride, padding=padding)
    y = run_q15(c)
    # Oracle: the float64 layer on the quantized input (the error measured is the kernel's).
    x = c["xq"].astype(np.float64) * 2.0 ** -c["in_frac"]
    expected = circulant.bc_conv2d_reference(c["w"], x, c["out_c"], stride, padding, c["b"], c["s"])
    snr = snr_db(expected, y * 2.0 ** -c["out_frac"])
    Q15_SNR[(k, kernel, stride, padding)] = snr
    print(f"q15 bc_conv2d k={k} kernel={kernel} stride={stride} {padding}: SNR {snr:.1f} dB")
    assert snr >= 50.0, f"k={k} {kernel} s={stride} {padding}: {snr:.1f} dB"


def test_q15_float_wrapper(rng):
    w = random_layer(rng, 3, 3, 20, 24, 8)
    x = rng.standard_normal((2, 7, 9, 20))
    b, s = rng.standard_normal(24), rng.uniform(0.5, 2.0, 24)
    expected = circulant.bc_conv2d_reference(w, x, 24, 1, "same", b, s)
    got = conv_kernels.bc_conv2d(w, x, 24, 3, 8, bias=b, scale=s, dtype="q15")
    assert snr_db(expected, got) >= 50.0
    got_relu = conv_kernels.bc_conv2d(w, x, 24, 3, 8, bias=b, scale=s, relu=True, dtype="q15")
    assert np.all(got_relu >= 0) and snr_db(np.maximum(expected, 0), got_relu) >= 50.0


def test_q15_saturates_instead_of_wrapping(rng):
    k, in_c, out_c = 16, 32, 32
    w = np.abs(rng.standard_normal((3, 3, 2, 2, k)))   # all-positive: large sums
    weight, weight_exp, _, _, _ = conv_kernels.quantize_bc_conv2d(w, 15, 10)
    x = np.full((1, 4, 5, in_c), 32767, dtype=np.int16)
    expected = circulant.bc_conv2d_reference(w, np.full((1, 4, 5, in_c), 32767 / 2 ** 15), out_c) * 2 ** 10
    assert np.all(expected > 40000)
    args = (weight, weight_exp)
    y = conv_kernels.bc_conv2d_q15(*args, x, out_c, 1, 1, 1, 4, 5)
    assert np.all(y == 32767)
    assert np.all(conv_kernels.bc_conv2d_q15(*args, -x, out_c, 1, 1, 1, 4, 5) == -32768)
    # a negative channel scale flips the sign, still saturating
    scale = np.full(out_c, -32768, dtype=np.int16)            # -1.0 at scale_exp -15
    y = conv_kernels.bc_conv2d_q15(*args, x, out_c, 1, 1, 1, 4, 5, scale=scale, scale_exp=-15)
    assert np.all(y == -32768)
    # a huge bias does not wrap either
    bias = np.full(out_c, 2 ** 31 - 1, dtype=np.int32)
    y = conv_kernels.bc_conv2d_q15(*args, x, out_c, 1, 1, 1, 4, 5, bias=bias)
    assert np.all(y == 32767)


def test_q15_relu_bias_and_scale(rng):
    c = quantized_case(rng, 8, in_c=24, out_c=20, hw=(6, 5))
    plain = run_q15(c)
    np.testing.assert_array_equal(run_q15(c, relu=True), np.maximum(plain, 0))
    no_bias = run_q15(c, bias=False)
    shift = (plain.astype(np.int64) - no_bias).mean(axis=(0, 1, 2)) * 2.0 ** -c["out_frac"]
    np.testing.assert_allclose(shift, c["b"], atol=4 * 2.0 ** -c["out_frac"])
    no_scale = run_q15(c, bias=False, scale=False).astype(np.float64)
    ratio = (no_bias * no_scale).sum(axis=(0, 1, 2)) / (no_scale ** 2).sum(axis=(0, 1, 2))
    np.testing.assert_allclose(ratio, c["s"], rtol=2e-3)


@pytest.mark.parametrize("k", [2, 8, 32])
def test_q15_1x1_is_bc_dense_bit_for_bit(rng, k):
    in_c, out_c = 3 * k + 1, 2 * k - 1
    p, q = circulant.blocks(out_c, k), circulant.blocks(in_c, k)
    weight = rng.integers(-32768, 32768, size=(1, 1, p, q, k)).astype(np.int16)
    x = rng.integers(-32768, 32768, size=(5, in_c)).astype(np.int16)
    bias = rng.integers(-2 ** 24, 2 ** 24, size=out_c).astype(np.int32)
    for relu in (False, True):
        dense = kernels.bc_dense_q15(np.ascontiguousarray(weight[0, 0]), -20, x, out_c, bias, relu)
        conv = conv_kernels.bc_conv2d_q15(weight, -20, x.reshape(5, 1, 1, in_c), out_c, 1, 0, 0, 1, 1,
                                          bias, relu=relu)
        np.testing.assert_array_equal(conv.reshape(5, out_c), dense)


# ---------------------------------------------------------------------------
# q15 C against the simulator, bit for bit

@st.composite
def q15_layers(draw):
    k = 2 ** draw(st.integers(1, 6))
    in_c = draw(st.integers(1, 2 * k + 3))
    out_c = draw(st.integers(1, 2 * k + 3))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = draw(st.integers(1, 4))
    in_h, in_w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    mode = draw(st.sampled_from(["same", "valid", "custom"]))
    if mode == "valid" and (kh > in_h or kw > in_w):
        mode = "same"
    if mode == "custom":   # any padding below the kernel, any output whose windows touch the input
        pad_top, pad_left = draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))
        out_h = draw(st.integers(1, (in_h + pad_top - 1) // stride + 1))
        out_w = draw(st.integers(1, (in_w + pad_left - 1) // stride + 1))
    else:
        out_h, out_w, pad_top, pad_left = window_geometry(in_h, in_w, kh, kw, stride, mode)
    batch = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["uniform", "quiet", "extremes", "max", "min", "zeros", "sparse"]))
    r = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    shape = (batch, in_h, in_w, in_c)
    if kind == "uniform":
        x = r.integers(-32768, 32768, size=shape)
    elif kind == "quiet":
        x = r.integers(-40, 41, size=shape)
    elif kind == "extremes":
        x = r.choice([-32768, 32767], size=shape)
    elif kind == "max":
        x = np.full(shape, 32767)
    elif kind == "min":
        x = np.full(shape, -32768)
    elif kind == "zeros":
        x = np.zeros(shape)
    else:   # one loud pixel in a quiet image: its exponent sets everyone's
        x = r.integers(-3, 4, size=shape)
        x[:, r.integers(in_h), r.integers(in_w)] = r.choice([-32768, 32767], size=(batch, in_c))
    wkind = draw(st.sampled_from(["uniform", "extremes", "small"]))
    wshape = (kh, kw, circulant.blocks(out_c, k), circulant.blocks(in_c, k), k)
    if wkind == "uniform":
        weight = r.integers(-32768, 32768, size=wshape)
    elif wkind == "extremes":
        weight = r.choice([-32768, 32767], size=wshape)
    else:
        weight = r.integers(-3, 4, size=wshape)
    bias = r.integers(-2 ** 31, 2 ** 31, size=out_c).astype(np.int32) if draw(st.booleans()) else None
    scale = None
    if draw(st.booleans()):
        scale = (r.choice([-32768, 32767], size=out_c) if draw(st.booleans())
                 else r.integers(-32768, 32768, size=out_c)).astype(np.int16)
    weight_exp = draw(st.one_of(st.integers(-60, 20), st.sampled_from([-2 ** 31, 2 ** 31 - 1, -1000, 1000])))
    scale_exp = draw(st.one_of(st.integers(-30, 5), st.sampled_from([-2 ** 31, 2 ** 31 - 1])))
    relu = draw(st.booleans())
    return (weight.astype(np.int16), weight_exp, x.astype(np.int16), out_c, stride, pad_top, pad_left,
            out_h, out_w, bias, scale, scale_exp, relu)


@settings(max_examples=300, deadline=None)
@given(q15_layers())
def test_q15_c_matches_simulator_bit_for_bit(layer):
    c = conv_kernels.bc_conv2d_q15(*layer)
    s = fixed_conv.bc_conv2d_q15(*layer)
    assert c.shape == s.shape == layer[2].shape[:1] + (layer[7], layer[8], layer[3])
    np.testing.assert_array_equal(c, s)


def test_q15_simulator_single_image_and_snr_case(rng):
    c = quantized_case(rng, 16, in_c=40, out_c=33, hw=(7, 6), stride=2)
    np.testing.assert_array_equal(run_q15(c), run_q15(c, simulator=True))
    c["xq"] = c["xq"][0]
    single = run_q15(c)
    assert single.ndim == 3
    np.testing.assert_array_equal(single, run_q15(c, simulator=True))


# ---------------------------------------------------------------------------
# The C check and the Python validation

def window(**fields):
    g = ffi.new("circnn_window_t *")
    base = dict(in_h=5, in_w=6, in_c=7, out_h=5, out_w=6, out_c=9, kernel_h=3, kernel_w=3, stride=1,
                pad_top=1, pad_left=1)
    base.update(fields)
    for name, value in base.items():
        setattr(g, name, value)
    return g


def test_c_check():
    assert lib.circnn_bc_conv2d_check(window(), 4) == lib.CIRCNN_OK
    assert lib.circnn_bc_conv2d_check(ffi.NULL, 4) == lib.CIRCNN_ERR_NULL
    for k in (0, 1, 3, 12, 2048):
        assert lib.circnn_bc_conv2d_check(window(), k) == lib.CIRCNN_ERR_BLOCK_SIZE
    for bad in (dict(in_h=0), dict(in_c=0), dict(out_c=0), dict(out_w=0), dict(in_c=4097), dict(kernel_h=0),
                dict(stride=0), dict(pad_top=3), dict(pad_left=3), dict(out_h=7), dict(out_w=8),
                dict(stride=2, out_h=4)):
        assert lib.circnn_bc_conv2d_check(window(**bad), 4) == lib.CIRCNN_ERR_SHAPE, bad
    # the last window may start on the last row / column
    assert lib.circnn_bc_conv2d_check(window(out_h=6, out_w=7), 4) == lib.CIRCNN_OK


def test_scratch_sizes_are_the_layouts():
    g = window()                                # 5 x 6 pixels, 7 input channels
    for k, q in ((2, 4), (4, 2), (8, 1), (16, 1)):
        pixels = 5 * 6

        def up8(n):
            return -(-n // 8) * 8

        # f32: spectra P q k, two sums of max(k, 16), one spectrum of k (floats)
        assert lib.circnn_bc_conv2d_f32_scratch_bytes(g, k) == 4 * (pixels * q * k + 2 * max(k, 16) + k)
        # q15: acc k int64, tmp k int16, spectra P q k int16, exponents P q int8
        assert lib.circnn_bc_conv2d_q15_scratch_bytes(g, k) == (
            8 * k + up8(2 * k) + up8(2 * pixels * q * k) + up8(pixels * q))


def q15(shape):
    return np.zeros(shape, dtype=np.int16)


def test_q15_wrapper_refuses_bad_input():
    w = q15((3, 3, 2, 2, 4))
    x = q15((2, 5, 6, 7))
    conv_kernels.bc_conv2d_q15(w, 0, x, 8, 1, 1, 1, 5, 6)            # fits: no error
    with pytest.raises(TypeError, match="int16"):
        conv_kernels.bc_conv2d_q15(w.astype(np.int32), 0, x, 8, 1, 1, 1, 5, 6)
    with pytest.raises(TypeError, match="int16"):
        conv_kernels.bc_conv2d_q15(w, 0, x.astype(np.float32), 8, 1, 1, 1, 5, 6)
    with pytest.raises(ValueError, match="C-contiguous"):
        conv_kernels.bc_conv2d_q15(w, 0, q15((2, 5, 12, 7))[:, :, ::2], 8, 1, 1, 1, 5, 6)
    with pytest.raises(ValueError, match=r"expected \(3, 3, 3, 2, 4\)"):
        conv_kernels.bc_conv2d_q15(w, 0, x, 9, 1, 1, 1, 5, 6)
    with pytest.raises(ValueError, match=r"expected \(3, 3, 2, 3, 4\)"):
        conv_kernels.bc_conv2d_q15(w, 0, q15((2, 5, 6, 9)), 8, 1, 1, 1, 5, 6)
    with pytest.raises(ValueError, match="power of two"):
        conv_kernels.bc_conv2d_q15(q15((3, 3, 2, 2, 6)), 0, q15((2, 5, 6, 12)), 12, 1, 1, 1, 5, 6)
    with pytest.raises(ValueError, match="kernel_h, kernel_w, p, q, k"):
        conv_kernels.bc_conv2d_q15(q15((2, 2, 4)), 0, x, 8, 1, 1, 1, 5, 6)
    with pytest.raises(ValueError, match=r"\(B, H, W, in_c\)"):
        conv_kernels.bc_conv2d_q15(w, 0, q15((5, 7)), 8, 1, 1, 1, 5, 6)
    with pytest.raises(ValueError, match="pad_top"):
        conv_kernels.bc_conv2d_q15(w, 0, x, 8, 1, 3, 1, 5, 6)
    with pytest.raises(ValueError, match="entirely outside"):
        conv_kernels.bc_conv2d_q15(w, 0, x, 8, 1, 1, 1, 7, 6)
    with pytest.raises(ValueError, match="stride"):
        conv_kernels.bc_conv2d_q15(w, 0, x, 8, 0, 1, 1, 5, 6)
    with pytest.raises(TypeError, match="int32 array of shape \\(8,\\)"):
        conv_kernels.bc_conv2d_q15(w, 0, x, 8, 1, 1, 1, 5, 6, bias=np.zeros(8, dtype=np.int64))
    with pytest.raises(TypeError, match="int16 array of shape \\(8,\\)"):
        conv_kernels.bc_conv2d_q15(w, 0, x, 8, 1, 1, 1, 5, 6, scale=np.zeros(7, dtype=np.int16))
    with pytest.raises(ValueError, match="weight_exp"):
        conv_kernels.bc_conv2d_q15(w, 2 ** 31, x, 8, 1, 1, 1, 5, 6)
    with pytest.raises(TypeError, match="int16"):
        fixed_conv.bc_conv2d_q15(w.astype(np.int32), 0, x, 8, 1, 1, 1, 5, 6)
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 3, 2, 4\)"):
        fixed_conv.bc_conv2d_q15(w, 0, x, 9, 1, 1, 1, 5, 6)


def test_float_wrapper_refuses_bad_input():
    w = np.zeros((3, 3, 2, 2, 4))
    x = np.zeros((2, 5, 6, 7))
    conv_kernels.bc_conv2d(w, x, 8, 3, 4)                           # fits: no error
    with pytest.raises(TypeError, match="real float"):
        conv_kernels.bc_conv2d(w, x.astype(np.int16), 8, 3, 4)
    with pytest.raises(ValueError, match="NaN"):
        conv_kernels.bc_conv2d(np.full_like(w, np.nan), x, 8, 3, 4)
    with pytest.raises(ValueError, match="w must have shape \\(3, 3, p, q, 8\\)"):
        conv_kernels.bc_conv2d(w, x, 8, 3, 8)
    with pytest.raises(ValueError, match="w must have shape \\(5, 5, p, q, 4\\)"):
        conv_kernels.bc_conv2d(w, x, 8, 5, 4)
    with pytest.raises(ValueError, match="power of two"):
        conv_kernels.bc_conv2d(w, x, 8, 3, 6)
    with pytest.raises(ValueError, match=r"expected \(3, 3, 3, 2, 4\)"):
        conv_kernels.bc_conv2d(w, x, 9, 3, 4)
    with pytest.raises(ValueError, match="padding must be"):
        conv_kernels.bc_conv2d(w, x, 8, 3, 4, padding="full")
    with pytest.raises(ValueError, match="does not fit"):
        conv_kernels.bc_conv2d(np.zeros((7, 7, 2, 2, 4)), x, 8, 7, 4, padding="valid")
    with pytest.raises(ValueError, match="bias must have shape"):
        conv_kernels.bc_conv2d(w, x, 8, 3, 4, bias=np.zeros(7))
    with pytest.raises(ValueError, match="scale must have shape"):
        conv_kernels.bc_conv2d(w, x, 8, 3, 4, scale=np.zeros(9))
    with pytest.raises(ValueError, match="dtype must be one of"):
        conv_kernels.bc_conv2d(w, x, 8, 3, 4, dtype="q7")
