"""Depthwise conv2d, every piece: the C kernels (f32 against float64 loops written
here, q15 against the numpy twin bit for bit on random geometries, saturation,
windows that miss the input), the float64 layer against the same loops, the
model path (export with BatchNorm folded and ReLU fused, simulator == C engine,
save/load), the blob format version and the CLI table."""
import math
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import circnn
from circnn import blob as B
from circnn import cli, fixed, fixed_layers, layer_kernels as lk
from circnn import layers as L
from circnn._native import ffi, lib
from conftest import snr_db
from test_layers import MODES, WEIGHT_EXPS, BIASES, geometry, int16_data, q15_bias, quantized_float_layer, \
    window_case


def depthwise_ref(w, x, stride, pad_top, pad_left, out_h, out_w, bias=None, relu=False):
    """Explicit loops in float64: y[n, oy, ox, c] = sum_ab w[a, b, c] x[n, oy*s + a - pt, ox*s + b - pl, c]."""
    kh, kw, c = w.shape
    batch, h, wd, _ = x.shape
    y = np.zeros((batch, out_h, out_w, c))
    for oy in range(out_h):
        for ox in range(out_w):
            for a in range(kh):
                for b in range(kw):
                    iy, ix = oy * stride + a - pad_top, ox * stride + b - pad_left
                    if 0 <= iy < h and 0 <= ix < wd:
                        y[:, oy, ox, :] += np.asarray(x[:, iy, ix, :], np.float64) * w[a, b, :]
    if bias is not None:
        y += bias
    return np.maximum(y, 0.0) if relu else y


CASES = [  # (in_h, in_w, kh, kw, stride, padding, channels)
    (7, 10, 3, 3, 1, "same", 5), (7, 10, 3, 3, 2, "same", 4), (9, 6, 3, 3, 2, "valid", 3),
    (8, 8, 5, 5, 1, "same", 2), (6, 7, 2, 3, 2, "valid", 17), (5, 5, 1, 1, 1, "valid", 8),
    (4, 3, 5, 5, 1, "same", 1), (12, 11, 7, 7, 3, "same", 6), (14, 14, 3, 3, 2, "same", 32),
]


@pytest.mark.parametrize("in_h,in_w,kh,kw,stride,padding,c", CASES)
def test_reference_layer_and_f32_kernel_against_loops(rng, in_h, in_w, kh, kw, stride, padding, c):
    pad_top, pad_left, out_h, out_w = geometry(in_h, in_w, kh, kw, stride, padding)
    w = rng.standard_normal((kh, kw, c))
    b = rng.standard_normal(c)
    x = rng.standard_normal((3, in_h, in_w, c))
    expected = depthwise_ref(w, x, stride, pad_top, pad_left, out_h, out_w, b)
    layer = L.DepthwiseConv2d(c, (kh, kw), stride, padding, weight=w, bias=b)
    assert layer.output_shape((in_h, in_w, c)) == (out_h, out_w, c)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
    for relu in (False, True):
        want = np.maximum(expected, 0) if relu else expected
        got = lk.depthwise_conv2d(w, x, stride, padding, bias=b, relu=relu)
        assert got.shape == (3, out_h, out_w, c) and got.dtype == np.float32
        assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    one = lk.depthwise_conv2d(w, x[1], stride, padding)                 # no batch axis, no bias
    ref1 = depthwise_ref(w, x[1:2], stride, pad_top, pad_left, out_h, out_w)[0]
    assert np.abs(one - ref1).max() <= 1e-5 * np.abs(ref1).max()


def test_channels_do_not_mix_and_kernel_is_cross_correlation():
    """A single tap at (0, 0) of a 3x3 'same' kernel on channel 1 only: y[i][j][1] = x[i-1][j-1][1]."""
    x = np.arange(1.0, 41.0).reshape(1, 4, 5, 2)
    w = np.zeros((3, 3, 2))
    w[0, 0, 1] = 1.0
    y = lk.depthwise_conv2d(w, x, 1, "same")[0]
    assert np.all(y[..., 0] == 0)
    expected = np.zeros((4, 5))
    expected[1:, 1:] = x[0, :-1, :-1, 1]
    assert np.array_equal(y[..., 1], expected)
    assert np.array_equal(L.DepthwiseConv2d(2, 3, weight=w).forward(x)[0], y)


@settings(max_examples=300, deadline=None)
@given(window_case(max_channels=24), st.integers(1, 2), WEIGHT_EXPS, MODES, MODES, BIASES, st.booleans(),
       st.integers(0, 2 ** 32 - 1))
def test_q15_c_equals_twin(case, batch, e, wmode, xmode, bias_kind, relu, seed):
    """Random geometries ('same', 'valid', stride up to 3, explicit padding whose windows may
    miss the input), extreme weights and inputs (saturation), any exponent, any bias."""
    in_h, in_w, kh, kw, stride, padding, geo, c = case
    w = int16_data(seed, (kh, kw, c), wmode)
    x = int16_data(seed + 2, (batch, in_h, in_w, c), xmode)
    b = q15_bias(seed, c, bias_kind)
    got = lk.depthwise_conv2d(w, x, stride, padding, bias=b, relu=relu, dtype="q15", weight_exp=e)
    expected = fixed_layers.depthwise_conv2d_q15(w, e, x, stride, *geo, bias=b, relu=relu)
    assert got.shape == (batch, geo[2], geo[3], c) and got.dtype == np.int16
    assert np.array_equal(got, expected)


def test_q15_twin_is_the_exact_sum_rounded_half_up(rng):
    """The twin itself against Python integers: requant of the exact sum (no bias, e < -16)."""
    w = rng.integers(-32768, 32768, (3, 3, 4)).astype(np.int16)
    x = rng.integers(-32768, 32768, (2, 6, 5, 4)).astype(np.int16)
    geo = geometry(6, 5, 3, 3, 2, "same")
    y = fixed_layers.depthwise_conv2d_q15(w, -20, x, 2, *geo)
    exact = depthwise_ref(w.astype(np.float64), x.astype(np.float64), 2, *geo)   # integers below 2^34: exact
    assert np.array_equal(y, np.clip(np.floor(exact / 2 ** 20 + 0.5), -32768, 32767))


def test_q15_saturates_and_sums_beyond_int32():
    w = np.full((3, 3, 3), -32768, dtype=np.int16)
    x = np.full((1, 5, 5, 3), -32768, dtype=np.int16)
    # Every output sums 4 to 9 products of 2^30 (beyond int32): times 2^-16 far beyond int16.
    y = lk.depthwise_conv2d(w, x, 1, "same", dtype="q15", weight_exp=-16)
    assert np.all(y == 32767)
    y = lk.depthwise_conv2d(w, -(x + 1), 1, "same", dtype="q15", weight_exp=-16)
    assert np.all(y == -32768)
    assert np.array_equal(fixed_layers.depthwise_conv2d_q15(w, -16, -(x + 1), 1, 1, 1, 5, 5), y)
    # Scaled back into range, the 9-product sum of the centre pixel is exact: 9 * 2^30 / 2^20 = 9216.
    y = lk.depthwise_conv2d(w, x, 1, "same", dtype="q15", weight_exp=-20)
    assert y[0, 2, 2, 0] == 9216 and y[0, 0, 0, 0] == 4096


def test_windows_that_miss_the_input_give_the_bias():
    x = np.full((1, 3, 3, 2), -5, dtype=np.int16)
    geo = (3, 0, 3, 2)    # pad_top 3, 2x2 kernel, stride 2: output row 0 misses the input
    w = np.ones((2, 2, 2), dtype=np.int16)
    bias = np.array([7 << 16, -3 << 16], dtype=np.int32)
    y = lk.depthwise_conv2d(w, x, 2, geo, bias=bias, dtype="q15")
    assert np.array_equal(y, fixed_layers.depthwise_conv2d_q15(w, 0, x, 2, *geo, bias=bias))
    assert y[0, 0].tolist() == [[7, -3], [7, -3]]
    yr = lk.depthwise_conv2d(w, x, 2, geo, bias=bias, relu=True, dtype="q15")
    assert yr[0, 0].tolist() == [[7, 0], [7, 0]]
    yf = lk.depthwise_conv2d(w.astype(np.float64), x.astype(np.float64), 2, geo, bias=bias / 65536.0)
    assert yf[0, 0].tolist() == [[7, -3], [7, -3]]


@pytest.mark.parametrize("kernel,stride,padding,c", [(3, 1, "same", 8), (3, 2, "same", 16), (5, 2, "valid", 3)])
def test_q15_snr_against_float64(rng, kernel, stride, padding, c):
    w = rng.standard_normal((kernel, kernel, c)) / kernel
    b = rng.standard_normal(c) * 0.1
    in_frac = 14
    xq = fixed.quantize(rng.uniform(-1.9, 1.9, size=(2, 11, 9, c)), in_frac)
    xr = xq.astype(np.float64) * 2.0 ** -in_frac
    geo = geometry(11, 9, kernel, kernel, stride, padding)
    ref = depthwise_ref(w, xr, stride, *geo, b)
    out_frac = math.floor(math.log2(32767 / np.abs(ref).max()))
    weight, e, qbias = quantized_float_layer(w, b, in_frac, out_frac)
    y = lk.depthwise_conv2d(weight.reshape(w.shape), xq, stride, padding, bias=qbias, dtype="q15",
                            weight_exp=e) * 2.0 ** -out_frac
    assert snr_db(ref, y) >= 70.0
    y_off = lk.depthwise_conv2d(weight.reshape(w.shape), xq, stride, padding, bias=qbias, dtype="q15",
                                weight_exp=e - 1) * 2.0 ** -out_frac
    assert snr_db(ref, y_off) < 20.0      # a scale off by one bit is far below


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="channels"):
        lk.depthwise_conv2d(np.zeros((3, 3, 2)), np.zeros((1, 5, 5, 3)))
    with pytest.raises(ValueError, match="kernel_h, kernel_w, channels"):
        lk.depthwise_conv2d(np.zeros((3, 3, 2, 1)), np.zeros((1, 5, 5, 2)))
    with pytest.raises(ValueError, match="does not fit"):
        lk.depthwise_conv2d(np.zeros((3, 3, 2)), np.zeros((1, 2, 5, 2)), padding="valid")
    with pytest.raises(TypeError, match="int16"):
        lk.depthwise_conv2d(np.zeros((3, 3, 2)), np.zeros((1, 5, 5, 2), np.int16), dtype="q15")
    with pytest.raises(ValueError, match="channels"):
        fixed_layers.depthwise_conv2d_q15(np.zeros((3, 3, 2), np.int16), 0, np.zeros((1, 5, 5, 3), np.int16),
                                          1, 1, 1, 5, 5)
    with pytest.raises(ValueError, match="weight must have shape"):
        L.DepthwiseConv2d(4, 3, weight=np.zeros((3, 3, 5)))
    with pytest.raises(ValueError, match="expects 4 channels"):
        circnn.Model([L.DepthwiseConv2d(4, 3)], input_shape=(5, 5, 3))
    with pytest.raises(ValueError, match="padding"):
        L.DepthwiseConv2d(4, 3, padding="full")


# ---------------------------------------------------------------------------
# The model path

def ds_model(seed=0, k=4):
    """Depthwise-separable: conv, then depthwise (BN, ReLU) + 1x1 block-circulant (BN, ReLU), twice."""
    rng = np.random.default_rng(seed)

    def bn(c):
        return L.BatchNorm(c, gamma=rng.uniform(0.5, 1.5, c), beta=rng.normal(0, 0.1, c),
                           mean=rng.normal(0, 0.1, c), var=rng.uniform(0.5, 1.5, c))
    return circnn.Model([
        L.Conv2d(1, 8, 3, seed=rng), L.ReLU(),
        L.DepthwiseConv2d(8, 3, stride=2, bias=rng.normal(0, 0.1, 8), seed=rng), bn(8), L.ReLU(),
        L.BlockCirculantConv2d(8, 16, 1, k, seed=rng), bn(16), L.ReLU(),
        L.DepthwiseConv2d(16, (3, 2), padding="valid", seed=rng), L.ReLU(),
        L.GlobalAvgPool2d(), L.Flatten(), L.Dense(16, 10, seed=rng),
    ], input_shape=(11, 12, 1))


def small_model(depthwise, seed=0):
    """(6, 6, 1) -> conv2d + ReLU to 8 channels (depthwise: then a depthwise
    conv2d + ReLU) -> flatten -> dense: buffers A and B both hold 288 values,
    so the arena is the same under every format version's layout and the
    blob's version is that of its layer types alone."""
    rng = np.random.default_rng(seed)
    dw = [L.DepthwiseConv2d(8, 3, padding="same", seed=rng), L.ReLU()] if depthwise else []
    return circnn.Model([L.Conv2d(1, 8, 3, padding="same", seed=rng), L.ReLU(), *dw, L.Flatten(),
                         L.Dense(288, 10, seed=rng)], input_shape=(6, 6, 1))


def test_export_folds_batchnorm_fuses_relu_and_runs_bit_exact(rng):
    model = ds_model()
    x = rng.uniform(0, 1, (48,) + model.input_shape)
    q = model.quantize(x[:32])
    names = [op.name + ("+relu" if op.relu else "") for op in q.ops]
    assert names == ["conv2d+relu", "depthwise_conv2d+relu", "bc_conv2d+relu", "depthwise_conv2d+relu",
                     "avgpool2d", "dense"]
    assert q.ops[1].weight.shape == (3, 3, 8) and q.ops[3].weight.shape == (3, 2, 16)
    # depthwise: format 2; buffers A (11x12x8) and B (6x6x8) of different sizes: the arena of format 5
    assert q.version == B.OVER_INPUT_VERSION and q.blob[4:6] == struct.pack("<H", B.OVER_INPUT_VERSION)
    xq = q.quantize_input(x)
    sim = q.simulate_raw(xq)
    assert np.array_equal(sim, circnn.Engine(q).run_raw(xq))          # simulator == C, to the bit
    ref = model.forward(x)                                            # float64, BatchNorm unfolded
    assert snr_db(ref, q.simulate(x)) >= 40.0
    f = model.to_f32()
    np.testing.assert_allclose(circnn.Engine(f).run(x), ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    np.testing.assert_allclose(f.simulate(x), ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    np.testing.assert_allclose(q.reference(x), ref, atol=0.02 * np.abs(ref).max())


def test_save_load_round_trip_and_cli_info(tmp_path, rng, capsys):
    model = ds_model(seed=3)
    q = model.quantize(rng.uniform(0, 1, (16,) + model.input_shape))
    path = tmp_path / "ds.circ"
    q.save(path)
    back = circnn.load(str(path))
    assert back.blob == q.blob and back.version == B.OVER_INPUT_VERSION
    x = rng.uniform(0, 1, (8,) + model.input_shape)
    assert np.array_equal(circnn.Engine(back).run(x), q.simulate(x))
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"format {B.OVER_INPUT_VERSION}" in out
    row = next(line for line in out.splitlines() if "depthwise_conv2d+relu" in line and "6x6x8" in line)
    assert row.split()[-3:] == ["80", "80", str(72 * 2 + 8 * 4)]   # params and dense eq. (72 weights, 8 biases), bytes


def _with_version(blob, version):
    data = bytearray(blob)
    struct.pack_into("<H", data, 4, version)
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:])))
    return bytes(data)


def _init(blob):
    model = ffi.new("circnn_model_t *")
    buf = ffi.from_buffer(bytearray(blob))
    return lib.circnn_model_init(model, buf, len(blob), ffi.NULL, 0)


def test_format_versions(rng):
    """Models without the new layer (and whose arena is the same under every
    layout) stay version 1 (older runtimes read them, byte for byte); a
    depthwise layer makes the blob version 2; a version-1 blob with it is refused."""
    old = small_model(False)
    q1 = old.quantize(rng.uniform(0, 1, (8,) + old.input_shape))
    assert q1.version == 1 and q1.blob[4:6] == b"\x01\x00"
    assert _init(q1.blob) in (lib.CIRCNN_OK, lib.CIRCNN_ERR_ARENA)
    assert B.FORMAT_VERSION == lib.CIRCNN_FORMAT_VERSION == 1              # the oldest read
    assert B.FORMAT_VERSION_NEWEST == lib.CIRCNN_FORMAT_VERSION_NEWEST == 8   # 6: OHWI, 7: pool, 8: spectra
    assert B.DEPTHWISE_CONV2D == lib.CIRCNN_LAYER_DEPTHWISE_CONV2D
    model = small_model(True)
    q2 = model.quantize(rng.uniform(0, 1, (8,) + model.input_shape))
    assert q2.version == 2 and q2.blob[4:6] == b"\x02\x00"
    assert _init(q2.blob) == lib.CIRCNN_ERR_ARENA                    # valid, asks for its arena
    downgraded = _with_version(q2.blob, 1)
    assert _init(downgraded) == lib.CIRCNN_ERR_LAYER
    with pytest.raises(B.ModelFormatError, match="unknown type 11 in a version 1 model"):
        circnn.ExportedModel(downgraded)
    for bad in (0, B.FORMAT_VERSION_NEWEST + 1):
        assert _init(_with_version(q2.blob, bad)) == lib.CIRCNN_ERR_VERSION
        with pytest.raises(B.ModelFormatError, match=f"reads versions 1 to {B.FORMAT_VERSION_NEWEST}"):
            circnn.ExportedModel(_with_version(q2.blob, bad))


def test_blob_validation_of_the_depthwise_entry(rng):
    """Channel count changed, weight section of the wrong size, a scale section: refused."""
    model = ds_model()
    q = model.quantize(rng.uniform(0, 1, (8,) + model.input_shape))
    entry = B.HEADER_BYTES + B.ENTRY_BYTES * 1       # the first depthwise layer

    def patched(offset, fmt, value):
        data = bytearray(q.blob)
        struct.pack_into(fmt, data, entry + offset, value)
        struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:])))
        return bytes(data)
    assert _init(q.blob) == lib.CIRCNN_ERR_ARENA
    assert _init(patched(14, "<H", 9)) in (lib.CIRCNN_ERR_SHAPE, lib.CIRCNN_ERR_CHAIN)   # out_c != in_c
    assert _init(patched(32, "<I", 3 * 3 * 8 * 2 + 2)) == lib.CIRCNN_ERR_LAYER            # weight bytes
    assert _init(patched(2, "<H", 4)) == lib.CIRCNN_ERR_LAYER                             # a block size
    assert _init(patched(44, "<I", 64)) != lib.CIRCNN_ERR_ARENA                           # a scale offset


def test_version_2_header_compiles_and_refuses_an_older_runtime(tmp_path, rng):
    import os
    import subprocess
    model = small_model(True)
    q = model.quantize(rng.uniform(0, 1, (8,) + model.input_shape))
    q.write_header(tmp_path / "ds.h", name="ds")
    text = (tmp_path / "ds.h").read_text()
    assert "CIRCNN_FORMAT_VERSION_NEWEST < 2" in text and "Format version 2" in text
    (tmp_path / "use.c").write_text('#include "ds.h"\nint main(void) { return ds_blob[0]; }\n')
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", circnn.get_include(), "-I", str(tmp_path)]

    def compile_():
        return subprocess.run([os.environ.get("CC", "cc"), *flags, "-c", str(tmp_path / "use.c"), "-o",
                               str(tmp_path / "use.o")], capture_output=True, text=True)
    r = compile_()
    assert r.returncode == 0, r.stderr
    # as if the runtime read format 1 only
    (tmp_path / "ds.h").write_text(text.replace("CIRCNN_FORMAT_VERSION_NEWEST < 2", "CIRCNN_FORMAT_VERSION_NEWEST < 99"))
    r = compile_()
    assert r.returncode != 0 and "re-export" in r.stderr


def test_ds_cnn_preset_exports_and_runs_bit_exact(rng):
    """presets.ds_cnn: depthwise layers with the BatchNorm folded and the ReLU fused,
    1x1 block-circulant pointwise layers; q15 simulator == C engine, f32 close to float64."""
    from circnn import presets
    model = presets.ds_cnn(16, seed=1)
    x = rng.uniform(0, 1, (24, 28, 28, 1))
    q = model.quantize(x[:16])
    assert [op.label for op in q.ops] == [
        "conv2d+relu+maxpool2d", "depthwise_conv2d+relu", "bc_conv2d+relu", "depthwise_conv2d+relu",
        "bc_conv2d+relu", "flatten", "bc_dense"]
    gap = presets.ds_cnn(16, seed=2, stem_pool=False, head="gap").quantize(x[:16])
    assert [op.name for op in gap.ops][-2:] == ["avgpool2d", "dense"]
    assert np.array_equal(gap.simulate_raw(gap.quantize_input(x)), circnn.Engine(gap).run_raw(gap.quantize_input(x)))
    xq = q.quantize_input(x)
    assert np.array_equal(q.simulate_raw(xq), circnn.Engine(q).run_raw(xq))
    ref = model.forward(x)
    assert snr_db(ref, q.simulate(x)) >= 30.0
    np.testing.assert_allclose(circnn.Engine(model.to_f32()).run(x), ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
