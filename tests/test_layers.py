"""Plain layers (include/circnn/layers.h): f32 C against float64 references written
here, q15 C against the numpy twins (circnn.fixed_layers) bit for bit, and q15
against float64 with bounds that a wrong rounding or scale cannot meet."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from circnn import fixed, fixed_layers, layer_kernels as lk, window
from conftest import snr_db

F32_TOL = 1e-5


def rel_err(got, expected):
    scale = np.abs(expected).max()
    return np.abs(np.asarray(got, dtype=np.float64) - expected).max() / (scale if scale > 0 else 1.0)


# ---------------------------------------------------------------------------
# float64 references (independent of the library and of fixed_layers)

def geometry(in_h, in_w, kh, kw, stride, padding):
    """(pad_top, pad_left, out_h, out_w) from TensorFlow's definition of the padding modes."""
    if padding == "valid":
        return 0, 0, (in_h - kh) // stride + 1, (in_w - kw) // stride + 1
    out_h, out_w = math.ceil(in_h / stride), math.ceil(in_w / stride)
    pad_h = max((out_h - 1) * stride + kh - in_h, 0)
    pad_w = max((out_w - 1) * stride + kw - in_w, 0)
    return pad_h // 2, pad_w // 2, out_h, out_w


def padded(x, pad_top, pad_left, rows, cols, fill=0.0):
    """x (B, H, W, C) placed in a (B, rows, cols, C) canvas of `fill` at (pad_top, pad_left)."""
    batch, h, w, c = x.shape
    canvas = np.full((batch, max(rows, pad_top + h), max(cols, pad_left + w), c), fill)
    canvas[:, pad_top:pad_top + h, pad_left:pad_left + w, :] = x
    return canvas


def conv2d_ref(w, x, stride, pad_top, pad_left, out_h, out_w, bias=None, relu=False):
    kh, kw, _, cout = w.shape
    xp = padded(np.asarray(x, np.float64), pad_top, pad_left, (out_h - 1) * stride + kh, (out_w - 1) * stride + kw)
    y = np.zeros((x.shape[0], out_h, out_w, cout))
    for a in range(kh):
        for b in range(kw):
            patch = xp[:, a:a + (out_h - 1) * stride + 1:stride, b:b + (out_w - 1) * stride + 1:stride, :]
            y += np.einsum("nyxi,io->nyxo", patch, np.asarray(w[a, b], np.float64))
    if bias is not None:
        y += bias
    return np.maximum(y, 0.0) if relu else y


def pool_ref(x, kh, kw, stride, pad_top, pad_left, out_h, out_w, kind):
    """Max or mean over the window pixels inside the input, by explicit loops."""
    batch, h, w, c = x.shape
    y = np.zeros((batch, out_h, out_w, c))
    for oy in range(out_h):
        for ox in range(out_w):
            r0, c0 = oy * stride - pad_top, ox * stride - pad_left
            rows = [r for r in range(r0, r0 + kh) if 0 <= r < h]
            cols = [q for q in range(c0, c0 + kw) if 0 <= q < w]
            if not rows or not cols:
                continue
            win = np.asarray(x, np.float64)[:, rows][:, :, cols]
            y[:, oy, ox] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return y


# ---------------------------------------------------------------------------
# f32 against float64

@pytest.mark.parametrize("out_f,in_f", [(1, 1), (5, 3), (3, 5), (10, 64), (64, 10), (100, 300), (257, 1000)])
def test_dense_f32(rng, out_f, in_f):
    w = rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)
    b = rng.standard_normal(out_f)
    x = rng.standard_normal((4, in_f))
    for bias in (None, b):
        for relu in (False, True):
            expected = x @ w.T + (0.0 if bias is None else bias)
            if relu:
                expected = np.maximum(expected, 0.0)
            got = lk.dense(w, x, bias=bias, relu=relu)
            assert got.shape == (4, out_f) and got.dtype == np.float32
            assert rel_err(got, expected) <= F32_TOL
            if relu:
                assert np.all(got[expected == 0.0] == 0.0)
    single = lk.dense(w, x[0], bias=b)
    assert single.shape == (out_f,)
    assert rel_err(single, w @ x[0] + b) <= F32_TOL


CONV_CASES = [  # (in_h, in_w, kh, kw, stride, padding, cin, cout)
    (h, w, k, k, s, p, cin, cout)
    for (h, w) in [(7, 10), (9, 6)]
    for k in (1, 2, 3, 4, 5)
    for s in (1, 2)
    for p in ("same", "valid")
    for cin, cout in [(1, 4), (2, 3), (3, 8)]
] + [(5, 8, 3, 5, 1, "same", 2, 17), (6, 6, 5, 1, 2, "valid", 3, 2), (1, 1, 1, 1, 1, "valid", 3, 5),
     (4, 3, 5, 5, 1, "same", 1, 1), (12, 11, 7, 7, 3, "same", 2, 6)]


@pytest.mark.parametrize("in_h,in_w,kh,kw,stride,padding,cin,cout", CONV_CASES)
def test_conv2d_f32(rng, in_h, in_w, kh, kw, stride, padding, cin, cout):
    pad_top, pad_left, out_h, out_w = geometry(in_h, in_w, kh, kw, stride, padding)
    assert window.window_geometry(in_h, in_w, kh, kw, stride, padding) == (out_h, out_w, pad_top, pad_left)
    w = rng.standard_normal((kh, kw, cin, cout))
    b = rng.standard_normal(cout)
    x = rng.standard_normal((3, in_h, in_w, cin))
    relu = cout % 2 == 0
    expected = conv2d_ref(w, x, stride, pad_top, pad_left, out_h, out_w, b, relu)
    got = lk.conv2d(w, x, stride, padding, bias=b, relu=relu)
    assert got.shape == (3, out_h, out_w, cout) and got.dtype == np.float32
    assert rel_err(got, expected) <= F32_TOL
    nobias = lk.conv2d(w, x[1], stride, padding)
    assert nobias.shape == (out_h, out_w, cout)
    assert rel_err(nobias, conv2d_ref(w, x[1:2], stride, pad_top, pad_left, out_h, out_w)[0]) <= F32_TOL


def test_conv2d_f32_is_cross_correlation_with_zero_padding():
    """One tap at (0, 0) of a 3x3 'same' kernel: y[i][j] = x[i-1][j-1], zero outside."""
    x = np.arange(1.0, 21.0).reshape(1, 4, 5, 1)
    w = np.zeros((3, 3, 1, 1))
    w[0, 0, 0, 0] = 1.0
    y = lk.conv2d(w, x, 1, "same")[0, :, :, 0]
    expected = np.zeros((4, 5))
    expected[1:, 1:] = x[0, :-1, :-1, 0]
    assert np.array_equal(y, expected)


POOL_CASES = [  # (in_h, in_w, kernel, stride, padding)
    (4, 4, (2, 2), 2, "valid"), (7, 5, (2, 2), 2, "valid"), (7, 5, (3, 3), 2, "same"), (6, 9, (3, 3), 1, "same"),
    (5, 5, (5, 5), 1, "same"), (8, 6, (2, 3), 1, "valid"), (9, 9, (3, 3), 3, "same"), (3, 7, (1, 1), 2, "same"),
    (11, 4, (4, 2), 3, "same"),
    (7, 5, (2, 2), 2, "same"),   # 2x2, stride 2, padded below and right only: not the fast path
]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("in_h,in_w,kernel,stride,padding", POOL_CASES)
def test_pools_f32(rng, kind, in_h, in_w, kernel, stride, padding):
    kh, kw = kernel
    pad_top, pad_left, out_h, out_w = geometry(in_h, in_w, kh, kw, stride, padding)
    x = rng.standard_normal((2, in_h, in_w, 3)) - 3.0     # all negative-ish: padding must not count
    run = lk.maxpool2d if kind == "max" else lk.avgpool2d
    got = run(x, kernel, stride, padding)
    expected = pool_ref(x, kh, kw, stride, pad_top, pad_left, out_h, out_w, kind)
    assert got.shape == expected.shape
    assert rel_err(got, expected) <= F32_TOL
    if kind == "max":    # max picks an input value exactly
        assert np.array_equal(got, expected.astype(np.float32))


def test_same_padding_edges_are_not_counted():
    x = np.full((1, 4, 4, 1), -2.0)
    x[0, 0, 0, 0] = -6.0
    # 3x3 'same' stride 1: the corner window holds 4 input pixels.
    avg = lk.avgpool2d(x, 3, 1, "same")[0, :, :, 0]
    assert avg[0, 0] == pytest.approx(-3.0)          # (-6 - 2 - 2 - 2) / 4, not / 9
    assert avg[0, 1] == pytest.approx(-16.0 / 6)     # 6 pixels
    assert avg[1, 1] == pytest.approx(-22.0 / 9)
    mx = lk.maxpool2d(x, 3, 1, "same")[0, :, :, 0]
    assert np.all(mx == -2.0)                        # a zero from the padding would win


@pytest.mark.parametrize("h,w,c", [(1, 1, 4), (7, 7, 8), (5, 3, 2), (12, 9, 3)])
def test_global_average_pool_f32(rng, h, w, c):
    x = rng.standard_normal((3, h, w, c))
    got = lk.avgpool2d(x, (h, w), 1, "valid")
    assert got.shape == (3, 1, 1, c)
    assert rel_err(got[:, 0, 0, :], x.mean(axis=(1, 2))) <= F32_TOL


def test_relu_softmax_argmax_f32(rng):
    x = rng.standard_normal((5, 37)) * 4
    x[0, :3] = [0.0, -0.0, 1e-30]
    r = lk.relu(x)
    assert r.shape == x.shape and np.array_equal(r, np.maximum(x, 0).astype(np.float32))
    assert np.all(np.signbit(r) == False)   # noqa: E712  (-0.0 comes out as +0.0)
    for scale in (1.0, 30.0, 1000.0):
        z = x * scale
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        expected = e / e.sum(axis=-1, keepdims=True)
        got = lk.softmax(z)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, rtol=F32_TOL, atol=1e-7)
        np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-6)
    assert lk.softmax(np.array([3.0]))[0] == 1.0
    assert np.array_equal(lk.argmax(x), np.argmax(x, axis=-1))
    assert lk.argmax(np.array([1.0, 5.0, 2.0, 5.0, 5.0])) == 1
    assert lk.argmax(np.array([-1.0, -1.0])) == 0
    assert lk.argmax(np.array([7.0])) == 0
    q = np.array([[3, 9, 9, -1], [-32768, -32768, -32768, -32768], [0, 0, 1, 1]], dtype=np.int16)
    assert list(lk.argmax(q, dtype="q15")) == [1, 0, 2]
    assert list(fixed_layers.argmax_q15(q)) == [1, 0, 2]


# ---------------------------------------------------------------------------
# q15: C against the numpy twins, bit for bit

def int16_data(seed, shape, mode):
    r = np.random.default_rng(seed)
    if mode == "max":
        return np.full(shape, 32767, dtype=np.int16)
    if mode == "min":
        return np.full(shape, -32768, dtype=np.int16)
    if mode == "extremes":
        return r.choice(np.array([-32768, 32767], dtype=np.int16), size=shape)
    if mode == "small":
        return r.integers(-300, 301, size=shape).astype(np.int16)
    return r.integers(-32768, 32768, size=shape).astype(np.int16)


MODES = st.sampled_from(["random", "random", "small", "max", "min", "extremes"])
WEIGHT_EXPS = st.one_of(st.integers(-40, 0), st.sampled_from([-90, -64, -63, -47, -46, -31, -30, -16, 1, 5, 30, 47]))


def q15_bias(seed, count, kind):
    if kind == "none":
        return None
    r = np.random.default_rng(seed + 1)
    if kind == "extreme":
        return r.choice(np.array([-2 ** 31, 2 ** 31 - 1], dtype=np.int32), size=count)
    return r.integers(-2 ** 31, 2 ** 31, size=count).astype(np.int32)


BIASES = st.sampled_from(["none", "random", "extreme"])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20), st.integers(1, 40), st.integers(1, 3), WEIGHT_EXPS, MODES, MODES, BIASES,
       st.booleans(), st.integers(0, 2 ** 32 - 1))
def test_dense_q15_c_equals_twin(out_f, in_f, batch, e, wmode, xmode, bias_kind, relu, seed):
    w = int16_data(seed, (out_f, in_f), wmode)
    x = int16_data(seed + 2, (batch, in_f), xmode)
    b = q15_bias(seed, out_f, bias_kind)
    got = lk.dense(w, x, bias=b, relu=relu, dtype="q15", weight_exp=e)
    assert got.dtype == np.int16
    assert np.array_equal(got, fixed_layers.dense_q15(w, e, x, b, relu))


@st.composite
def window_case(draw, max_channels=20):
    """A window layer's geometry: 'same'/'valid' or explicit (windows may miss the input)."""
    in_h, in_w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["same", "valid", "explicit"]))
    if mode == "valid":
        assume(kh <= in_h and kw <= in_w)
    if mode == "explicit":
        geo = (draw(st.integers(0, kh + 1)), draw(st.integers(0, kw + 1)), draw(st.integers(1, 6)),
               draw(st.integers(1, 6)))
        padding = geo
    else:
        geo = geometry(in_h, in_w, kh, kw, stride, mode)
        padding = mode
    channels = draw(st.integers(1, max_channels))
    return in_h, in_w, kh, kw, stride, padding, geo, channels


@settings(max_examples=200, deadline=None)
@given(window_case(max_channels=3), st.integers(1, 20), st.integers(1, 2), WEIGHT_EXPS, MODES, MODES, BIASES,
       st.booleans(), st.integers(0, 2 ** 32 - 1))
def test_conv2d_q15_c_equals_twin(case, cout, batch, e, wmode, xmode, bias_kind, relu, seed):
    in_h, in_w, kh, kw, stride, padding, geo, cin = case
    w = int16_data(seed, (kh, kw, cin, cout), wmode)
    x = int16_data(seed + 2, (batch, in_h, in_w, cin), xmode)
    b = q15_bias(seed, cout, bias_kind)
    got = lk.conv2d(w, x, stride, padding, bias=b, relu=relu, dtype="q15", weight_exp=e)
    expected = fixed_layers.conv2d_q15(w, e, x, stride, *geo, bias=b, relu=relu)
    assert got.shape == (batch, geo[2], geo[3], cout)
    assert np.array_equal(got, expected)


@settings(max_examples=300, deadline=None)
@given(window_case(), st.integers(1, 2), MODES, st.integers(0, 2 ** 32 - 1))
def test_pools_q15_c_equal_twins(case, batch, xmode, seed):
    in_h, in_w, kh, kw, stride, padding, geo, c = case
    x = int16_data(seed, (batch, in_h, in_w, c), xmode)
    for c_run, twin in ((lk.maxpool2d, fixed_layers.maxpool2d_q15), (lk.avgpool2d, fixed_layers.avgpool2d_q15)):
        got = c_run(x, (kh, kw), stride, padding, dtype="q15")
        assert np.array_equal(got, twin(x, kh, kw, stride, *geo))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 50), MODES, st.integers(0, 2 ** 32 - 1))
def test_relu_argmax_q15_c_equal_twins(n, mode, seed):
    x = int16_data(seed, (3, n), mode)
    assert np.array_equal(lk.relu(x, dtype="q15"), fixed_layers.relu_q15(x))
    assert np.array_equal(lk.argmax(x, dtype="q15"), fixed_layers.argmax_q15(x))


def test_pool_twins_against_float64(rng):
    """The twins themselves: max exact, average = the float64 mean rounded half up."""
    x = rng.integers(-32768, 32768, size=(3, 9, 7, 4)).astype(np.int16)
    for kh, kw, stride, padding in [(3, 3, 1, "same"), (2, 2, 2, "valid"), (3, 2, 2, "same"), (9, 7, 1, "valid")]:
        geo = geometry(9, 7, kh, kw, stride, padding)
        mx = fixed_layers.maxpool2d_q15(x, kh, kw, stride, *geo)
        assert np.array_equal(mx, pool_ref(x, kh, kw, stride, *geo, "max"))
        avg = fixed_layers.avgpool2d_q15(x, kh, kw, stride, *geo)
        mean = pool_ref(x, kh, kw, stride, *geo, "avg")
        assert np.array_equal(avg, np.floor(mean + 0.5))
        assert np.array_equal(lk.avgpool2d(x, (kh, kw), stride, padding, dtype="q15"), avg)


def test_avgpool_q15_negative_sums_round_half_up():
    # Two 2x2 windows with sums -5 and -7 (count 4): -1.25 -> -1, -1.75 -> -2.
    x = np.array([[-2, -1, -3, -1], [-1, -1, -1, -2]], dtype=np.int16).reshape(1, 2, 4, 1)
    assert lk.avgpool2d(x, 2, 2, "valid", dtype="q15")[0, 0, :, 0].tolist() == [-1, -2]
    # One window, sum `total`, count 4: ties (-1.5, -0.5, -2.5) go up; C's truncating
    # division would give -1 for -1.75.
    for total, want in [(-5, -1), (-6, -1), (-2, 0), (-7, -2), (-8, -2), (-9, -2), (-10, -2), (-1, 0),
                        (-3, -1), (6, 2), (5, 1), (7, 2)]:
        px = np.zeros((1, 2, 2, 1), dtype=np.int16)
        px[0, 0, 0, 0] = total
        assert lk.avgpool2d(px, 2, 2, "valid", dtype="q15")[0, 0, 0, 0] == want, total
        assert fixed_layers.avgpool2d_q15(px, 2, 2, 2, 0, 0, 1, 1)[0, 0, 0, 0] == want, total


def test_global_average_pool_q15_saturating_inputs():
    for value in (32767, -32768):
        x = np.full((1, 16, 16, 3), value, dtype=np.int16)   # kernel 16 > the model limit 7: allowed here
        assert np.all(lk.avgpool2d(x, 16, 1, "valid", dtype="q15") == value)
        assert np.all(lk.maxpool2d(x, 16, 1, "valid", dtype="q15") == value)
    x = np.full((1, 255, 255, 1), -32768, dtype=np.int16)   # largest window: 2 * sum beyond int32
    assert lk.avgpool2d(x, 255, 1, "valid", dtype="q15")[0, 0, 0, 0] == -32768


# ---------------------------------------------------------------------------
# q15 against float64

def quantize_weights(w_scaled):
    """Float weights (input integers -> output integers) -> int16 mantissas and one exponent."""
    largest = float(np.abs(w_scaled).max())
    e = math.ceil(math.log2(largest / 32767.0))
    return fixed.quantize(w_scaled * 2.0 ** -e, 0), e


def test_dense_q15_is_float64_rounded_half_up(rng):
    """With weights exactly representable, y is the float64 result rounded half up
    (within 0.5 LSB + 1e-6), saturated, and exact ties go up."""
    for out_f, in_f in [(16, 64), (40, 300), (7, 1)]:
        weight, e = quantize_weights(rng.standard_normal((out_f, in_f)) * 2.0 ** -4)
        x = rng.integers(-32768, 32768, size=(8, in_f)).astype(np.int16)
        bias = rng.integers(-2 ** 28, 2 ** 28, size=out_f).astype(np.int32)
        ref = (x.astype(np.float64) @ weight.astype(np.float64).T) * 2.0 ** e + bias / 2.0 ** 16
        y = lk.dense(weight, x, bias=bias, dtype="q15", weight_exp=e).astype(np.float64)
        inside = np.abs(ref) < 32767
        assert inside.mean() > 0.5
        assert np.all(np.abs(y[inside] - ref[inside]) <= 0.5 + 1e-6)
        assert np.array_equal(y[inside], np.floor(ref[inside] + 0.5))
        assert np.array_equal(y[~inside], np.clip(np.floor(ref[~inside] + 0.5), -32768, 32767))
    ties = lk.dense(np.array([[1], [-1], [3], [-3]], dtype=np.int16), np.array([1], dtype=np.int16),
                    dtype="q15", weight_exp=-1)
    assert ties.tolist() == [1, 0, 2, -1]      # 0.5, -0.5, 1.5, -1.5 rounded half up


def quantized_float_layer(w, b, in_frac, out_frac):
    """A float layer -> (weight int16, weight_exp, bias int32) for x = xq / 2^in_frac,
    y = yq / 2^out_frac."""
    weight, e = quantize_weights(np.asarray(w) * 2.0 ** (out_frac - in_frac))
    qbias = np.floor(np.asarray(b) * 2.0 ** (out_frac + 16) + 0.5).astype(np.int32)
    return weight, e, qbias


@pytest.mark.parametrize("out_f,in_f", [(32, 64), (100, 300), (10, 784)])
def test_dense_q15_snr_against_float64(rng, out_f, in_f):
    w = rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)
    b = rng.standard_normal(out_f) * 0.1
    in_frac = 13
    x = rng.uniform(-3.9, 3.9, size=(16, in_f))
    xq = fixed.quantize(x, in_frac)
    xr = xq.astype(np.float64) * 2.0 ** -in_frac
    ref = xr @ w.T + b
    out_frac = math.floor(math.log2(32767 / np.abs(ref).max()))
    weight, e, qbias = quantized_float_layer(w, b, in_frac, out_frac)
    y = lk.dense(weight, xq, bias=qbias, dtype="q15", weight_exp=e) * 2.0 ** -out_frac
    snr = snr_db(ref, y)
    assert snr >= 70.0, f"{out_f}x{in_f}: {snr:.1f} dB"
    # and not by luck: a scale off by one bit is far below
    y_off = lk.dense(weight, xq, bias=qbias, dtype="q15", weight_exp=e - 1) * 2.0 ** -out_frac
    assert snr_db(ref, y_off) < 20.0


@pytest.mark.parametrize("kernel,stride,padding,cin,cout", [(3, 1, "same", 3, 8), (5, 2, "same", 2, 4),
                                                            (1, 1, "valid", 3, 16), (3, 2, "valid", 1, 20)])
def test_conv2d_q15_snr_against_float64(rng, kernel, stride, padding, cin, cout):
    w = rng.standard_normal((kernel, kernel, cin, cout)) / np.sqrt(kernel * kernel * cin)
    b = rng.standard_normal(cout) * 0.1
    in_frac = 14
    x = rng.uniform(-1.9, 1.9, size=(2, 11, 9, cin))
    xq = fixed.quantize(x, in_frac)
    xr = xq.astype(np.float64) * 2.0 ** -in_frac
    pad_top, pad_left, out_h, out_w = geometry(11, 9, kernel, kernel, stride, padding)
    ref = conv2d_ref(w, xr, stride, pad_top, pad_left, out_h, out_w, b)
    out_frac = math.floor(math.log2(32767 / np.abs(ref).max()))
    weight, e, qbias = quantized_float_layer(w, b, in_frac, out_frac)
    y = lk.conv2d(weight, xq, stride, padding, bias=qbias, dtype="q15", weight_exp=e) * 2.0 ** -out_frac
    snr = snr_db(ref, y)
    assert snr >= 70.0, f"{kernel}x{kernel} s{stride} {padding}: {snr:.1f} dB"
    yr = lk.conv2d(weight, xq, stride, padding, bias=qbias, relu=True, dtype="q15", weight_exp=e)
    assert np.all(yr >= 0) and snr_db(np.maximum(ref, 0), yr * 2.0 ** -out_frac) >= 70.0


def test_q15_saturates_instead_of_wrapping():
    n = 64
    w = np.full((3, n), 32767, dtype=np.int16)
    x = np.full((1, n), 32767, dtype=np.int16)
    # sum = 64 * 32767^2 ~ 6.9e10: beyond int32; times 2^-20 ~ 65532 > 32767.
    assert np.all(lk.dense(w, x, dtype="q15", weight_exp=-20) == 32767)
    assert np.all(lk.dense(w, -x - 1, dtype="q15", weight_exp=-20) == -32768)
    assert np.all(lk.dense(w, x, dtype="q15", weight_exp=40) == 32767)
    # Large exact sums (beyond int32) scaled back into range come out exact.
    exact = (n * 32767 * 32767) / 2.0 ** 22
    assert lk.dense(w, x, dtype="q15", weight_exp=-22)[0, 0] == math.floor(exact + 0.5)
    wc = np.full((5, 5, 3, 2), -32768, dtype=np.int16)
    xc = np.full((1, 6, 6, 3), -32768, dtype=np.int16)
    # Every output sums at least 27 products of 2^30: times 2^-16 at least 442368.
    yc = lk.conv2d(wc, xc, 1, "same", dtype="q15", weight_exp=-16)
    assert np.all(yc == 32767)
    yc = lk.conv2d(wc, -(xc + 1), 1, "same", dtype="q15", weight_exp=-16)
    assert np.all(yc == -32768)
    assert np.array_equal(fixed_layers.conv2d_q15(wc, -16, -(xc + 1), 1, 2, 2, 6, 6), yc)
    # Bias at the int32 extremes saturates too (2^31 / 2^16 = 32768 output integers).
    big = np.array([2 ** 31 - 1, -2 ** 31], dtype=np.int32)
    yb = lk.dense(np.zeros((2, 1), np.int16), np.zeros((1, 1), np.int16), bias=big, dtype="q15")
    assert yb.tolist() == [[32767, -32768]]


# ---------------------------------------------------------------------------
# Input checks: errors before the C is called

def test_layer_kernels_refuse_bad_inputs():
    w16 = np.zeros((2, 3), np.int16)
    x16 = np.zeros((1, 3), np.int16)
    with pytest.raises(TypeError, match="int16"):
        lk.dense(w16.astype(np.int32), x16, dtype="q15")
    with pytest.raises(TypeError, match="float"):
        lk.dense(w16, x16, dtype="f32")
    with pytest.raises(ValueError, match="C-contiguous"):
        lk.dense(w16, np.zeros((1, 6), np.int16)[:, ::2], dtype="q15")
    with pytest.raises(ValueError, match="features"):
        lk.dense(w16, np.zeros((1, 4), np.int16), dtype="q15")
    with pytest.raises(TypeError, match="int32"):
        lk.dense(w16, x16, bias=np.zeros(2, np.int64), dtype="q15")
    with pytest.raises(ValueError, match="shape"):
        lk.dense(w16, x16, bias=np.zeros(3, np.int32), dtype="q15")
    with pytest.raises(ValueError, match="dtype"):
        lk.dense(w16, x16, dtype="q31")
    with pytest.raises(ValueError, match="NaN"):
        lk.dense(np.zeros((2, 3)), np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="weight_exp"):
        lk.dense(w16, x16, dtype="q15", weight_exp=2 ** 31)
    wc = np.zeros((3, 3, 2, 4))
    with pytest.raises(ValueError, match="channels"):
        lk.conv2d(wc, np.zeros((1, 5, 5, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        lk.conv2d(wc, np.zeros((1, 2, 5, 2)), padding="valid")
    with pytest.raises(ValueError, match="padding"):
        lk.conv2d(wc, np.zeros((1, 5, 5, 2)), padding="full")
    with pytest.raises(ValueError, match="stride"):
        lk.conv2d(wc, np.zeros((1, 5, 5, 2)), stride=0)
    with pytest.raises(ValueError, match="dimensions"):
        lk.conv2d(wc, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="pad_top"):
        lk.maxpool2d(np.zeros((1, 5, 5, 2)), 2, 1, (256, 0, 1, 1))
    with pytest.raises(ValueError, match="output height"):
        lk.maxpool2d(np.zeros((1, 5, 5, 2)), 2, 1, (0, 0, 0, 1))
    with pytest.raises(ValueError, match="stride"):
        lk.avgpool2d(np.zeros((1, 5, 5, 2)), (2, 3))
    with pytest.raises(ValueError, match="kernel height"):
        lk.avgpool2d(np.zeros((1, 300, 5, 2)), (256, 1), 1)
    with pytest.raises(TypeError, match="int16"):
        lk.relu(np.zeros(3), dtype="q15")
    with pytest.raises(ValueError, match="last axis"):
        lk.argmax(np.zeros((2, 0)))
    with pytest.raises(TypeError, match="float"):
        lk.softmax(np.zeros(3, np.int16))
    with pytest.raises(TypeError, match="int16"):
        fixed_layers.dense_q15(w16.astype(np.int32), 0, x16)
    with pytest.raises(ValueError, match="channels"):
        fixed_layers.conv2d_q15(np.zeros((3, 3, 2, 4), np.int16), 0, np.zeros((1, 5, 5, 3), np.int16),
                                1, 1, 1, 5, 5)


def test_windows_that_miss_the_input_give_zero():
    """Explicit geometry with a window entirely in the padding: pools give 0, conv2d the bias."""
    x = np.full((1, 3, 3, 2), -5, dtype=np.int16)
    geo = (3, 0, 3, 2)     # pad_top 3 with a 2x2 kernel, stride 2: output row 0 misses the input
    for run, twin in ((lk.maxpool2d, fixed_layers.maxpool2d_q15), (lk.avgpool2d, fixed_layers.avgpool2d_q15)):
        y = run(x, 2, 2, geo, dtype="q15")
        assert np.array_equal(y, twin(x, 2, 2, 2, *geo))
        assert np.all(y[0, 0] == 0) and np.all(y[0, 1:] == -5)
        yf = run(x.astype(np.float64), 2, 2, geo)
        assert np.array_equal(yf, y.astype(np.float32))
    w = np.ones((2, 2, 2, 1), dtype=np.int16)
    bias = np.array([7 << 16], dtype=np.int32)
    y = lk.conv2d(w, x, 2, geo, bias=bias, dtype="q15")
    assert y[0, 0, :, 0].tolist() == [7, 7] and y[0, 1, 0, 0] == 7 - 20
