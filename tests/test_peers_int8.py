"""The int8 side of the peer benchmark (benchmarks/peers/int8_model.py):
TFLite's requantization against independent float64 and exact-integer
re-implementations of its definition, the quantizers, every integer layer
against float64 on its own dequantized weights, and the whole int8 network
against the float model.  CMSIS-NN itself is not needed here (the
benchmark checks its outputs against this module's on every test image)."""
import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))

import circnn  # noqa: E402
from circnn import layers as L  # noqa: E402
from peers import int8_model as Q  # noqa: E402

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


# -- independent re-implementations of TFLite's requantization -------------------

def tflite_requantize_float64(acc, multiplier, shift):
    """MultiplyByQuantizedMultiplier in float64, valid while |acc * 2**left|
    * multiplier < 2**52 (every product then exact): x = acc 2**left m / 2**31
    rounded to nearest with ties toward +infinity (the nudge of
    SaturatingRoundingDoublingHighMul), then / 2**right with ties away
    from zero (RoundingDivideByPOT)."""
    left, right = max(shift, 0), max(-shift, 0)
    x = np.float64(acc) * 2.0 ** left * np.float64(multiplier) / 2.0 ** 31
    assert abs(x) * 2.0 ** 31 < 2.0 ** 52
    high = math.floor(x + 0.5)
    y = high / 2.0 ** right
    return int(math.copysign(math.floor(abs(y) + 0.5), y))


def tflite_requantize_int(acc, multiplier, shift):
    """The same on Python integers, written as TFLite's reference code reads:
    the nudge and C's division toward zero, then mask / remainder /
    threshold.  Exact on the whole int32 range."""
    left, right = max(shift, 0), max(-shift, 0)
    a = acc * (1 << left)
    assert INT32_MIN <= a <= INT32_MAX
    if a == INT32_MIN and multiplier == INT32_MIN:
        high = INT32_MAX
    else:
        ab = a * multiplier
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        num = ab + nudge
        high = abs(num) // (1 << 31) * (1 if num >= 0 else -1)       # truncation toward zero
    mask = (1 << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> right) + (1 if remainder > threshold else 0)


def test_quantize_multiplier_matches_its_definition():
    assert Q.quantize_multiplier(0.0) == (0, 0)
    assert Q.quantize_multiplier(0.5) == (1 << 30, 0)
    assert Q.quantize_multiplier(1.0) == (1 << 30, 1)
    assert Q.quantize_multiplier(0.75) == (3 << 29, 0)
    assert Q.quantize_multiplier(1 - 2.0 ** -40) == (1 << 30, 1)     # rounds up to 2**31: halved, shift + 1
    assert Q.quantize_multiplier(2.0 ** -40) == (0, 0)                # below 2**-32: zero, as TFLite
    rng = np.random.default_rng(0)
    for real in np.exp(rng.uniform(np.log(1e-7), np.log(20.0), 2000)):
        m, s = Q.quantize_multiplier(real)
        assert (1 << 30) <= m < (1 << 31)
        assert abs(m * 2.0 ** (s - 31) - real) <= 2.0 ** (s - 32) * 1.0000001
    with pytest.raises(ValueError):
        Q.quantize_multiplier(-0.1)


def _cases(rng, count, acc_bits):
    acc = rng.integers(-(1 << acc_bits), 1 << acc_bits, count)
    mult = rng.integers(1 << 30, 1 << 31, count)
    shift = rng.integers(-20, 3, count)
    return acc, mult, shift


def test_requantize_against_float64_tflite():
    rng = np.random.default_rng(1)
    acc, mult, shift = _cases(rng, 20000, 18)
    # ties of both roundings: acc * m / 2**31 = k + 1/2, and results at odd multiples of 2**(right-1)
    ties = [(1, 1 << 30, 0), (-1, 1 << 30, 0), (3, 1 << 30, 0), (-3, 1 << 30, 0), (5, 1 << 30, -1),
            (-5, 1 << 30, -1), (6, 1 << 30, -2), (-6, 1 << 30, -2), (-2, 1 << 30, -1), (2, 1 << 30, -1),
            (0, 1 << 30, -5), (12, 3 << 29, -3), (-12, 3 << 29, -3), (1000, (1 << 31) - 1, 2)]
    acc = np.concatenate([acc, [t[0] for t in ties]])
    mult = np.concatenate([mult, [t[1] for t in ties]])
    shift = np.concatenate([shift, [t[2] for t in ties]])
    got = Q.requantize(acc, mult, shift)
    want = np.array([tflite_requantize_float64(int(a), int(m), int(s)) for a, m, s in zip(acc, mult, shift)])
    assert (got == want).all()
    # the ties, spelled out: the high multiply takes 1/2 -> 1, -1/2 -> 0, -3/2 -> -1, 5/2 -> 3 and
    # -5/2 -> -2 (toward +infinity); the division then 3/2 -> 2 and -3/2 -> -2 (away from zero)
    assert list(Q.requantize([1, -1, -3, 5, -5, -3], [1 << 30] * 6, [0, 0, 0, -1, -1, -1])) == [1, 0, -1, 2, -1, -1]
    assert list(Q.requantize([6, -6], [1 << 30] * 2, [-1, -1])) == [2, -2]


def test_requantize_full_int32_range_against_integer_tflite():
    rng = np.random.default_rng(2)
    acc = np.concatenate([rng.integers(INT32_MIN, INT32_MAX, 5000, endpoint=True),
                          [INT32_MIN, INT32_MAX, 0, -1, 1]])
    mult = np.concatenate([rng.integers(1 << 30, 1 << 31, 5000), [1 << 30, (1 << 31) - 1, 1 << 30, 1 << 30, 1 << 30]])
    shift = np.concatenate([rng.integers(-31, 1, 5000), [0, -31, 0, -1, -1]])
    got = Q.requantize(acc, mult, shift)
    want = [tflite_requantize_int(int(a), int(m), int(s)) for a, m, s in zip(acc, mult, shift)]
    assert list(got) == want
    # the one saturating case of the doubling high multiply
    assert int(Q.doubling_high_mul(INT32_MIN, INT32_MIN)) == INT32_MAX
    with pytest.raises(OverflowError):
        Q.requantize([1 << 30], [1 << 30], [2])


def test_requantize_is_the_real_product_within_rounding():
    rng = np.random.default_rng(3)
    acc = rng.integers(-(1 << 20), 1 << 20, 5000)
    reals = np.exp(rng.uniform(np.log(1e-5), np.log(0.9), 5000))
    mults = [Q.quantize_multiplier(r) for r in reals]
    shifts = np.array([s for _, s in mults])
    got = Q.requantize(acc, [m for m, _ in mults], shifts)
    # two roundings: to 2**-right first (at most half of that), then to an integer
    bound = 0.5 + 0.5 * 2.0 ** np.minimum(shifts, 0) + 1e-3
    assert np.all(np.abs(got - acc * reals) <= bound)
    assert np.max(np.abs(got - acc * reals)) > 0.5          # the double rounding shows


def test_activation_params_and_symmetric_weights():
    for lo, hi in ((0.0, 1.0), (-3.0, 5.0), (0.5, 2.0), (-2.0, -1.0), (-1e-3, 7.5)):
        s, zp = Q.activation_params(lo, hi)
        assert -128 <= zp <= 127
        assert s == pytest.approx((max(hi, 0) - min(lo, 0)) / 255)
        for v in (min(lo, 0.0), max(hi, 0.0)):                 # the range ends are representable
            assert -128.5 - 1e-9 <= v / s + zp <= 127.5 + 1e-9
    s, zp = Q.activation_params(0.0, 1.0)
    assert (s, zp) == (1 / 255, -128)                            # pixels k/255 exactly
    w = np.random.default_rng(4).standard_normal((3, 3, 5, 7)) * np.arange(1, 8)
    q, scales = Q.quantize_symmetric(w, axis=3)
    assert q.dtype == np.int8 and scales.shape == (7,)
    assert (np.abs(q).max(axis=(0, 1, 2)) == 127).all() and q.min() >= -127
    assert np.all(np.abs(q * scales - w) <= scales / 2 + 1e-12)
    q1, s1 = Q.quantize_symmetric(w)
    assert s1.shape == (1,) and np.abs(q1).max() == 127
    assert list(Q.round_half_away([0.5, -0.5, 1.5, -2.5, 0.49])) == [1, -1, 2, -3, 0]


# -- the network ---------------------------------------------------------------------

def small_model(seed=0):
    rng = np.random.default_rng(seed)
    model = circnn.Model([
        L.Conv2d(2, 8, 3, seed=rng),
        L.ReLU(),
        L.MaxPool2d(2),
        L.BlockCirculantConv2d(8, 16, 3, block_size=4, seed=rng),
        L.BatchNorm(16, gamma=rng.uniform(0.5, 1.5, 16), beta=rng.uniform(-0.2, 0.2, 16),
                    mean=rng.uniform(-0.1, 0.1, 16), var=rng.uniform(0.5, 2, 16)),
        L.ReLU(),
        L.AvgPool2d(2, padding="same"),
        L.DepthwiseConv2d(16, 3, stride=2, seed=rng),
        L.BatchNorm(16, gamma=rng.uniform(0.5, 1.5, 16), beta=rng.uniform(-0.2, 0.2, 16),
                    mean=rng.uniform(-0.1, 0.1, 16), var=rng.uniform(0.5, 2, 16)),
        L.ReLU(),
        L.Conv2d(16, 12, 1, seed=rng),
        L.ReLU(),
        L.GlobalAvgPool2d(),
        L.Flatten(),
        L.BlockCirculantDense(12, 16, 4, seed=rng),
        L.ReLU(),
        L.Dense(16, 10, seed=rng, bias=rng.uniform(-0.3, 0.3, 10)),
    ], input_shape=(13, 13, 2))
    return model


def _float_layer(op):
    """The float64 layer with op's dequantized weights and bias (independent of
    the integer code: circnn's own float layers)."""
    if op.kind == "conv":
        w = np.transpose(op.weight, (1, 2, 3, 0)) * op.weight_scale
        cin = op.in_shape[2]
        pad = "same" if op.pad != (0, 0) else "valid"
        layer = L.Conv2d(cin, op.out_shape[2], op.kernel, op.stride, pad, weight=w)
    elif op.kind == "dwconv":
        pad = "same" if op.pad != (0, 0) else "valid"
        layer = L.DepthwiseConv2d(op.in_shape[2], op.kernel, op.stride, pad, weight=op.weight * op.weight_scale)
    elif op.kind == "fc":
        layer = L.Dense(op.in_shape[0], op.out_shape[0], weight=op.weight * op.weight_scale[:, None])
    else:
        raise AssertionError(op.kind)
    return layer


def test_every_int8_layer_against_float64():
    model = small_model()
    x = np.random.default_rng(5).uniform(-1, 1, (40, 13, 13, 2))
    im = Q.Int8Model(model, x[:24])
    kinds = [op.kind for op in im.layers]
    assert kinds == ["conv", "maxpool", "conv", "avgpool", "dwconv", "conv", "avgpool", "flatten", "fc", "fc"]
    h = im.quantize_input(x)
    in_scale = im.input_scale
    for op in im.layers:
        y = Q.run_op(op, h)
        assert y.dtype == np.int8 and y.shape[1:] == op.out_shape
        if op.kind in ("conv", "dwconv", "fc"):
            xf = (h.astype(np.float64) - op.in_zp) * in_scale
            acc_scale = in_scale * op.weight_scale
            exact = _float_layer(op).forward(xf) + op.bias * acc_scale       # the integer bias, dequantized
            want = exact / op.scale + op.out_zp                                 # in output steps
            lo, hi = op.act
            inside = (want > lo + 1) & (want < hi - 1)
            assert inside.mean() > 0.15       # ReLU layers clamp many
            # two roundings (requantize) and the Q31 multiplier's relative error 2**-31
            bound = 0.5 + 0.5 * 2.0 ** np.minimum(op.shift, 0).max() + 1e-4
            assert np.max(np.abs(y[inside] - want[inside])) <= bound
            assert (y[want <= lo - 0.5] == lo).all() and (y[want >= hi + 0.5] == hi).all()
            in_scale = op.scale
        elif op.kind == "maxpool":
            n, hh, ww, c = h.shape
            assert (y == h[:, :hh // 2 * 2, :ww // 2 * 2].reshape(n, hh // 2, 2, ww // 2, 2, c).max(axis=(2, 4))).all()
        elif op.kind == "avgpool":
            # explicit loops over the windows inside the image; rounded half away from zero
            (kh, kw), s, (pt, pl) = op.kernel, op.stride, op.pad
            want = np.empty(y.shape, np.int64)
            for i in range(op.out_shape[0]):
                for j in range(op.out_shape[1]):
                    r0, c0 = i * s - pt, j * s - pl
                    win = h[:, max(r0, 0):min(r0 + kh, h.shape[1]), max(c0, 0):min(c0 + kw, h.shape[2])]
                    mean = win.astype(np.float64).mean(axis=(1, 2))
                    want[:, i, j] = Q.round_half_away(mean)
            assert (y == want).all()
        h = y
    assert (h == im.forward(im.quantize_input(x))).all()


def test_int8_network_against_the_float_model():
    model = small_model(1)
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 1, (300, 13, 13, 2))
    im = Q.Int8Model(model, x[:128])
    f = model.forward(x[128:])
    d = im.dequantize_output(im.forward(im.quantize_input(x[128:])))
    assert np.max(np.abs(d - f)) <= 10 * im.output_scale           # a few output steps after 7 quantized layers
    assert np.linalg.norm(d - f) / np.linalg.norm(f) < 0.05
    assert np.mean(np.argmax(d, 1) == np.argmax(f, 1)) > 0.9
    # the input: pixels k/255 are exact at scale 1/255
    pixels = np.arange(256).reshape(1, 16, 16, 1) / 255.0
    m1 = circnn.Model([L.Flatten(), L.Dense(256, 2, seed=0)], input_shape=(16, 16, 1))
    q1 = Q.Int8Model(m1, pixels)
    assert (q1.input_scale, q1.input_zp) == (1 / 255, -128)
    assert (q1.quantize_input(pixels).ravel() == np.arange(256) - 128).all()
    assert q1.weight_bytes() == 512 + 4 * (2 + 1 + 1)


def test_depthwise_op_against_explicit_loops():
    rng = np.random.default_rng(7)
    c = 6
    w = rng.integers(-127, 128, (3, 3, c)).astype(np.int8)
    op = Q.Op("dwconv", "depthwise", (7, 7, c), (7, 7, c), weight=w, bias=rng.integers(-500, 500, c).astype(np.int32),
              multiplier=rng.integers(1 << 30, 1 << 31, c).astype(np.int32), shift=np.full(c, -9, np.int32),
              in_zp=-5, out_zp=3, act=(-128, 127), kernel=(3, 3), stride=1, pad=(1, 1))
    x = rng.integers(-128, 128, (2, 7, 7, c)).astype(np.int8)
    y = Q.run_op(op, x)
    for n in range(2):
        for i in range(7):
            for j in range(7):
                for ch in range(c):
                    acc = int(op.bias[ch])
                    for a in range(3):
                        for b in range(3):
                            r, cc = i + a - 1, j + b - 1
                            if 0 <= r < 7 and 0 <= cc < 7:
                                acc += (int(x[n, r, cc, ch]) - op.in_zp) * int(w[a, b, ch])
                    v = tflite_requantize_int(acc, int(op.multiplier[ch]), -9) + op.out_zp
                    assert y[n, i, j, ch] == min(max(v, -128), 127)


def test_refuses_what_cmsis_nn_cannot_run():
    m = circnn.Model([L.Flatten(), L.ReLU(), L.Dense(4, 2, seed=0)], input_shape=(2, 2, 1))
    with pytest.raises(ValueError, match="ReLU"):
        Q.Int8Model(m, np.zeros((2, 2, 2, 1)))
    im = Q.Int8Model(circnn.Model([L.Flatten(), L.Dense(4, 2, seed=0)], input_shape=(2, 2, 1)),
                     np.ones((2, 2, 2, 1)))
    with pytest.raises(ValueError):
        im.forward(np.zeros((1, 2, 2, 1)))          # float input: quantize first
