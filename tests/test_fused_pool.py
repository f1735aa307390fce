"""A 2x2 max pool fused into the convolution before it (format 7, FLAG_POOL2).

The exporter fuses MaxPool2d(2) into the conv2d, bc_conv2d or
depthwise_conv2d before it (export(fuse_pools=True), the default); the
runtime then computes two of the convolution's output rows at a time and
pools them (src/model_run.c; the block-circulant kernel bands its own
output after transforming the whole input once), so the convolution's
output is never stored.  The oracles: the same model exported
without fusion (two layers, each checked elsewhere against float64 numpy),
which must give the same bits in the C engine and the simulator, and a
float64 numpy convolution and pool written here for the f32 models.  On the
emulated cores: the fused models' outputs equal the simulator's bits.
"""
import struct
import zlib

import numpy as np
import pytest

import circnn
from circnn import layers as L
from circnn import firmware
from circnn._native import ffi, lib
from circnn.format import blob as B
from circnn.nn import circulant


def conv_f64(x, w, stride, padding):
    """float64 cross-correlation of x (N, H, W, C) with w (kh, kw, C, O), zero padding as circnn/window.h."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]

    def axis(size, k):
        if padding == "valid":
            return (size - k) // stride + 1, 0
        out = -(-size // stride)
        return out, max((out - 1) * stride + k - size, 0) // 2

    (oh, pt), (ow, pl) = axis(h, kh), axis(wd, kw)
    padded = np.zeros((n, h + 2 * kh, wd + 2 * kw, c))
    padded[:, pt:pt + h, pl:pl + wd] = x
    y = np.zeros((n, oh, ow, w.shape[3]))
    for a in range(kh):
        for b in range(kw):
            rows = padded[:, a:a + (oh - 1) * stride + 1:stride, b:b + (ow - 1) * stride + 1:stride]
            y += rows @ w[a, b]
    return y


def pool_f64(y):
    n, h, w, c = y.shape
    h2, w2 = h // 2, w // 2
    return y[:, :2 * h2, :2 * w2].reshape(n, h2, 2, w2, 2, c).max(axis=(2, 4))


# (input shape, layers before the pool): every convolution kind that fuses, strides,
# paddings, kernels, odd sizes (the pool drops the last row and column)
CASES = {
    "conv 1 channel": ((13, 11, 1), lambda r: [L.Conv2d(1, 6, 3, padding="same", seed=r), L.ReLU()]),
    "conv OHWI, stride 2": ((17, 15, 3), lambda r: [L.Conv2d(3, 5, 3, stride=2, padding="same", seed=r)]),
    "conv 5x5 valid": ((14, 13, 2), lambda r: [L.Conv2d(2, 4, 5, padding="valid", seed=r), L.ReLU()]),
    "conv 1x1": ((7, 9, 4), lambda r: [L.Conv2d(4, 8, 1, seed=r), L.ReLU()]),
    "depthwise": ((12, 10, 6), lambda r: [L.DepthwiseConv2d(6, 3, padding="same", seed=r), L.ReLU()]),
    "depthwise stride 2 valid": ((15, 16, 4), lambda r: [L.DepthwiseConv2d(4, 3, stride=2, padding="valid",
                                                                           seed=r)]),
    "bc_conv2d k=4": ((12, 11, 8), lambda r: [L.BlockCirculantConv2d(8, 8, 3, 4, padding="same", seed=r),
                                              L.ReLU()]),
    "bc_conv2d stride 2 valid, scale": ((15, 13, 6), lambda r: [
        L.BlockCirculantConv2d(6, 10, 3, 4, stride=2, padding="valid", seed=r),
        L.BatchNorm(10, gamma=r.uniform(0.5, 1.5, 10), beta=r.normal(0, 0.1, 10), mean=r.normal(0, 0.1, 10),
                    var=r.uniform(0.5, 1.5, 10))]),
    "bc_conv2d k=8 1x1": ((9, 10, 16), lambda r: [L.BlockCirculantConv2d(16, 24, 1, 8, seed=r), L.ReLU()]),
}


def model_of(case, seed=0):
    shape, body = CASES[case]
    r = np.random.default_rng(seed)
    return circnn.Model(body(r) + [L.MaxPool2d(2)], input_shape=shape)


def inputs(model, n=6, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n,) + model.input_shape)


@pytest.mark.parametrize("case", list(CASES))
def test_fused_q15_gives_the_two_layers_bits(case):
    m = model_of(case)
    x = inputs(m)
    fused, apart = m.quantize(x), m.quantize(x, fuse_pools=False)
    assert [op.pool for op in fused.ops] == [True] and len(apart.ops) == 2
    assert fused.version == B.POOL2_VERSION and apart.version < B.POOL2_VERSION
    assert fused.ops[0].out_shape == apart.ops[1].out_shape
    assert fused.ops[0].label.endswith("+maxpool2d")
    xq = fused.quantize_input(x)
    want = circnn.Engine(apart).run_raw(xq)
    np.testing.assert_array_equal(circnn.Engine(fused).run_raw(xq), want)
    np.testing.assert_array_equal(fused.simulate_raw(xq), want)


@pytest.mark.parametrize("case", list(CASES))
def test_fused_f32_against_float64(case):
    m = model_of(case)
    x = inputs(m)
    fused, apart = m.to_f32(), m.to_f32(fuse_pools=False)
    assert fused.ops[0].pool and not apart.ops[0].pool
    got = circnn.Engine(fused).run(x)
    # the same float operations in the same order: the two layers' bits
    np.testing.assert_array_equal(got, circnn.Engine(apart).run(x))
    op = fused.ops[0]
    w = op.weight.astype(np.float64)
    if op.type == B.DEPTHWISE_CONV2D:   # (kh, kw, c) -> a dense (kh, kw, c, c) that keeps the channels apart
        w = w[..., None] * np.eye(w.shape[2])
    if op.type == B.BC_CONV2D:          # the spectra -> each tap's explicit out_c x in_c matrix, as HWIO
        vectors = circulant.from_spectrum(w)
        w = np.stack([np.stack([circulant.dense_matrix(vectors[a, b], op.out_shape[2], op.in_shape[2]).T
                                for b in range(op.kernel[1])]) for a in range(op.kernel[0])])
    y = conv_f64(x, w, op.stride, "same" if op.same else "valid")
    if op.scale is not None:
        y = y * op.scale
    if op.bias is not None:
        y = y + op.bias
    if op.relu:
        y = np.maximum(y, 0)
    np.testing.assert_allclose(got, pool_f64(y), rtol=1e-5, atol=1e-5)


def test_8bit_weights_and_a_model_of_several_fused_layers():
    r = np.random.default_rng(3)
    m = circnn.Model([L.Conv2d(1, 8, 3, padding="same", seed=r), L.ReLU(), L.MaxPool2d(2),
                      L.Conv2d(8, 8, 3, padding="same", seed=r), L.BatchNorm(8), L.ReLU(), L.MaxPool2d(2),
                      L.DepthwiseConv2d(8, 3, padding="same", seed=r), L.MaxPool2d(2),
                      L.Flatten(), L.Dense(8 * 2 * 2, 5, seed=r)], input_shape=(19, 18, 1))
    x = inputs(m, 8)
    for bits in (16, 8):
        fused, apart = m.quantize(x, weight_bits=bits), m.quantize(x, weight_bits=bits, fuse_pools=False)
        assert [op.label for op in fused.ops] == ["conv2d+relu+maxpool2d"] * 2 + ["depthwise_conv2d+maxpool2d",
                                                                                  "flatten", "dense"]
        xq = fused.quantize_input(x)
        want = circnn.Engine(apart).run_raw(xq)
        np.testing.assert_array_equal(circnn.Engine(fused).run_raw(xq), want)
        np.testing.assert_array_equal(fused.simulate_raw(xq), want)


def test_the_arena_holds_the_pooled_map_and_a_band():
    """The first convolution's 19x18x8 output is never stored: buffer A holds
    the largest pooled map, B the next, the scratch a band of two rows
    (circnn/model.h), and the C runtime agrees to the byte."""
    r = np.random.default_rng(4)
    m = circnn.Model([L.Conv2d(1, 8, 3, padding="same", seed=r), L.ReLU(), L.MaxPool2d(2),
                      L.Conv2d(8, 16, 3, padding="same", seed=r), L.ReLU(), L.MaxPool2d(2),
                      L.Flatten(), L.Dense(16 * 4 * 4, 5, seed=r)], input_shape=(19, 18, 1))
    x = inputs(m, 4)
    fused, apart = m.quantize(x), m.quantize(x, fuse_pools=False)
    a = 9 * 9 * 8 * 2            # layer 0's pooled output
    b = 4 * 4 * 16 * 2           # layer 1's (flatten, layer 2, writes the same count to A)
    band = max(4 * 9 * 8 * 2, 4 * 4 * 16 * 2)   # two convolution rows of 2 * pooled width
    assert fused.arena_bytes == -(-a // 16) * 16 + -(-b // 16) * 16 + -(-band // 16) * 16
    assert apart.arena_bytes == 19 * 18 * 8 * 2 + 9 * 9 * 8 * 2    # conv 0 in A, pool 1 in B
    for q in (fused, apart):
        model = ffi.new("circnn_model_t *")
        assert lib.circnn_model_init(model, q.blob, len(q.blob), ffi.NULL, 0) == lib.CIRCNN_ERR_ARENA
        assert model.arena_bytes == q.arena_bytes


def entry_flags(blob, index):
    return blob[B.HEADER_BYTES + B.ENTRY_BYTES * index + 1]


def patched(blob, index, flags=None, version=None, out_shape=None):
    """blob with layer index's flags / output shape and the header's version changed, the CRC fixed."""
    b = bytearray(blob)
    at = B.HEADER_BYTES + B.ENTRY_BYTES * index
    if flags is not None:
        b[at + 1] = flags
    if out_shape is not None:
        struct.pack_into("<3H", b, at + 10, *out_shape)
    if version is not None:
        struct.pack_into("<H", b, 4, version)
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])))
    return bytes(b)


def init_status(blob):
    model = ffi.new("circnn_model_t *")
    return lib.circnn_model_init(model, blob, len(blob), ffi.NULL, 0)


def test_a_misplaced_pool_flag_is_refused_by_both_readers():
    r = np.random.default_rng(5)
    m = circnn.Model([L.Conv2d(2, 4, 3, padding="same", seed=r), L.MaxPool2d(2), L.AvgPool2d(2),
                      L.BlockCirculantConv2d(4, 8, 3, 4, padding="same", seed=r), L.Flatten(),
                      L.Dense(8 * 2 * 2, 3, seed=r)], input_shape=(8, 8, 2))
    q = m.quantize(inputs(m, 4))
    assert [op.label for op in q.ops] == ["conv2d+maxpool2d", "avgpool2d", "bc_conv2d", "flatten", "dense"]
    assert init_status(q.blob) == lib.CIRCNN_ERR_ARENA          # valid: it asks for its arena
    bad = {
        "a pool": patched(q.blob, 1, flags=entry_flags(q.blob, 1) | B.FLAG_POOL2),
        "dense": patched(q.blob, 4, flags=entry_flags(q.blob, 4) | B.FLAG_POOL2),
        "a version-6 blob": patched(q.blob, 0, version=6),
    }
    for what, blob in bad.items():
        assert init_status(blob) == lib.CIRCNN_ERR_LAYER, what
        with pytest.raises(B.ModelFormatError, match="fused max pool"):
            B.unpack(blob)
    # the convolution's own output shape with the flag: the pooled one is expected
    assert init_status(patched(q.blob, 0, out_shape=(8, 8, 4))) == lib.CIRCNN_ERR_SHAPE
    # a convolution of a 1-pixel-high output: nothing to pool
    tiny = circnn.Model([L.Conv2d(1, 2, 3, padding="valid", seed=r), L.MaxPool2d(2, padding="same")],
                        input_shape=(3, 6, 1)).quantize(np.ones((2, 3, 6, 1)))
    assert [op.pool for op in tiny.ops] == [False, False]     # "same" pooling is not fused


def test_without_fusion_the_blob_is_an_older_format():
    """fuse_pools=False keeps the pool a layer: the format of before, for older runtimes."""
    m = model_of("conv 1 channel")
    q = m.quantize(inputs(m), fuse_pools=False)
    assert [op.name for op in q.ops] == ["conv2d", "maxpool2d"] and q.version < B.POOL2_VERSION
    assert not any(entry_flags(q.blob, i) & B.FLAG_POOL2 for i in range(len(q.ops)))


@pytest.mark.firmware
@pytest.mark.usefixtures("cortex_m_tools")
@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m3", "cortex-m4f", "cortex-m7", "cortex-m33"])
def test_fused_models_bit_exact_on_every_core(target, tmp_path):
    """q15 on every core (the simulator's bits, which the host engine gives);
    f32 on the cores with an FPU (the host engine's bits)."""
    r = np.random.default_rng(6)
    m = circnn.Model([L.Conv2d(1, 8, 3, padding="same", seed=r), L.ReLU(), L.MaxPool2d(2),
                      L.Conv2d(8, 16, 3, padding="same", seed=r), L.ReLU(), L.MaxPool2d(2),
                      L.BlockCirculantConv2d(16, 16, 3, 8, padding="same", seed=r), L.ReLU(), L.MaxPool2d(2),
                      L.DepthwiseConv2d(16, 1, padding="same", seed=r), L.MaxPool2d(2),
                      L.Flatten(), L.Dense(16, 5, seed=r)], input_shape=(23, 21, 1))
    q = m.quantize(inputs(m, 16))
    assert sum(op.pool for op in q.ops) == 4
    models = [("q15", q)] + ([("f32", m.to_f32())] if target != "cortex-m0plus" and target != "cortex-m3" else [])
    for name, model in models:
        record = firmware.build(model, target, str(tmp_path / name))
        result = firmware.run(str(tmp_path / name), timeout=60)
        assert result["status"] == "passed", result["console"]
        assert result["failed"] == 0 and result["passed"] > 1
        assert [row["layer"] for row in result["instructions"]["per_layer"]] == record["layers"]
        assert record["layers"][:4] == ["conv2d+relu+maxpool2d", "conv2d+relu+maxpool2d",
                                        "bc_conv2d+relu+maxpool2d", "depthwise_conv2d+maxpool2d"]
        # the fused pool's code, not the pool layer's (none stands alone here)
        assert "-DCIRCNN_WITH_POOL2=0" not in record["config"] and "-DCIRCNN_WITH_MAXPOOL2D=0" in record["config"]
        names = set(firmware.symbols(str(tmp_path / name / record["elf"])))
        assert f"circnn_maxpool2x2_{name}" in names and f"circnn_maxpool2d_{name}" not in names
    xq = q.quantize_input(firmware.default_inputs(q))
    np.testing.assert_array_equal(q.simulate_raw(xq), circnn.Engine(q).run_raw(xq))
