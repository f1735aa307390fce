"""8-bit weights (layer flag bit 2): a q15 layer with weights stores them as
int8 w8, meaning the q15 weights w16 = w8 * 256 with the layer's weight
exponent (the packed spectra of bc_dense and bc_conv2d from format 3; dense,
conv2d and depthwise_conv2d from format 4).  The C runtime reads the int8
section itself; the checks here are independent of the Python reader: the C
engine on the 8-bit blob against the C engine on a 16-bit blob holding
w8 * 256 written from separately computed numbers, against the simulator,
the blob's size against the layout of circnn/model.h, and the dense kinds
against float64 loops written here, within a bound derived from the 8-bit
step."""
import math
import struct
import zlib

import numpy as np
import pytest

import circnn
from circnn import layers as L
from circnn._native import ffi, lib
from circnn.export import quantization as Q
from circnn.export.exporter import export, fuse_max_pools
from circnn.export.lowering import ExportError, lower
from circnn.format import blob as B
from circnn.format.arena import arena_bytes
from model_zoo import cnn, images, mlp


def both_kinds(seed=3):
    """bc_conv2d (with a BatchNorm scale, stride 1 and 2), bc_dense, dense."""
    rng = np.random.default_rng(seed)
    return circnn.Model([
        L.Conv2d(1, 8, 3, seed=rng), L.ReLU(), L.MaxPool2d(2),
        L.BlockCirculantConv2d(8, 16, 3, 8, seed=rng),
        L.BatchNorm(16, gamma=rng.uniform(0.5, 1.5, 16), beta=rng.normal(0, 0.1, 16),
                    mean=rng.normal(0, 0.1, 16), var=rng.uniform(0.5, 1.5, 16)),
        L.ReLU(),
        L.BlockCirculantConv2d(16, 16, 3, 4, stride=2, padding="same", seed=rng), L.ReLU(),
        L.Flatten(),
        L.BlockCirculantDense(2 * 2 * 16, 24, 8, bias=rng.normal(0, 0.1, 24), seed=rng), L.ReLU(),
        L.Dense(24, 10, seed=rng),
    ], input_shape=(8, 8, 1))


def every_kind(seed=4):
    """Every layer kind with weights: conv2d, depthwise_conv2d, bc_conv2d,
    bc_dense, and a dense FC head that holds most of the weights."""
    rng = np.random.default_rng(seed)
    return circnn.Model([
        L.Conv2d(2, 8, 3, bias=rng.normal(0, 0.1, 8), seed=rng), L.ReLU(),
        L.DepthwiseConv2d(8, 3, bias=rng.normal(0, 0.1, 8), seed=rng), L.ReLU(), L.MaxPool2d(2),
        L.BlockCirculantConv2d(8, 16, 3, 8, seed=rng), L.ReLU(),
        L.Flatten(),
        L.Dense(5 * 5 * 16, 32, bias=rng.normal(0, 0.1, 32), seed=rng), L.ReLU(),
        L.BlockCirculantDense(32, 16, 8, seed=rng), L.ReLU(),
        L.Dense(16, 10, seed=rng),
    ], input_shape=(10, 10, 2))


def dense_only(seed=5):
    """No block-circulant layer: conv2d, depthwise_conv2d, dense."""
    rng = np.random.default_rng(seed)
    return circnn.Model([
        L.Conv2d(2, 6, 3, bias=rng.normal(0, 0.1, 6), seed=rng), L.ReLU(),
        L.DepthwiseConv2d(6, 3, bias=rng.normal(0, 0.1, 6), seed=rng), L.ReLU(),
        L.Flatten(),
        L.Dense(6 * 6 * 6, 10, bias=rng.normal(0, 0.1, 10), seed=rng),
    ], input_shape=(6, 6, 2))


MODELS = {"both_kinds": both_kinds, "every_kind": every_kind, "dense_only": dense_only,
          "cnn": lambda: cnn(seed=2), "mlp": lambda: mlp(seed=2)}


def _init(blob, arena=0):
    buf = np.frombuffer(bytes(blob), dtype=np.uint8).copy()     # numpy: aligned
    return lib.circnn_model_init(ffi.new("circnn_model_t *"), ffi.from_buffer(buf), len(buf), ffi.NULL, arena)


def _reseal(data):
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:])))
    return bytes(data)


def _entry(blob, i):
    return struct.unpack_from("<BBH 3H3H BBBb ii IIIIII", blob, B.HEADER_BYTES + B.ENTRY_BYTES * i)


def _layout_bytes(ops, weight_bytes):
    """The blob size of circnn/model.h's layout: header, layer table, then
    each op's weight, bias (4 bytes a value) and scale (2) sections, each
    starting at a multiple of 16; weight_bytes(op) gives the weight section."""
    at = B.HEADER_BYTES + B.ENTRY_BYTES * len(ops)
    for op in ops:
        for n in (weight_bytes(op), 0 if op.bias is None else 4 * op.bias.size,
                  0 if op.scale is None else 2 * op.scale.size):
            if n:
                at = -(-at // 16) * 16 + n
    return at


def test_weights8_rounds_to_eight_significant_bits(rng):
    """Independent float64 arithmetic: the exponent puts the largest magnitude in
    (63.5, 127], mantissas round half up, the stored int16 are m * 256."""
    w = rng.normal(0, 0.3, (2, 3, 8))
    m16, e = Q.weights8(w, 5, 7)
    v = w * 4.0
    e8 = e + 8
    assert 63.5 < np.abs(v).max() * 2.0 ** -e8 <= 127
    assert np.array_equal(m16.astype(np.int64), np.floor(v * 2.0 ** -e8 + 0.5).astype(np.int64) * 256)
    assert m16.dtype == np.int16 and not np.any(m16 % 256)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_c_engine_reads_the_int8_section_bit_exact(name):
    m = MODELS[name]()
    x = images(m, 24)
    q8 = m.quantize(x, weight_bits=8)
    q16 = m.quantize(x)
    weighted = [i for i, op in enumerate(q8.ops) if op.weight is not None]
    plain = any(q8.ops[i].type not in B.CIRCULANT for i in weighted)
    # 8-bit weights need format 3 (circulant) or 4; the arena layout of format 5 (buffers A and B sized
    # apart), OHWI conv2d weights (6) or a fused pool (7) may need more
    assert q16.version in (1, 2, B.ARENA_VERSION, B.OHWI_VERSION, B.POOL2_VERSION, B.OVER_INPUT_VERSION)
    # an 8-bit dense layer of more than DENSE8_ROWS outputs: format 7, whose scratch holds a few rows
    rows = any(B.dense8_rows(op) for op in q8.ops)
    assert q8.version == max(4 if plain else 3, q16.version, B.DENSE8_ROWS_VERSION if rows else 0)
    assert q16.blob == m.quantize(x, weight_bits=16).blob           # the default, byte for byte
    assert weighted and all(q8.ops[i].weight_bits == 8 for i in weighted)
    for i, op in enumerate(q8.ops):
        f = _entry(q8.blob, i)
        flags, w_len = f[1], f[16]
        if i in weighted:   # one byte a weight, every kind
            assert flags & B.FLAG_WEIGHT8 and w_len == op.weight.size
            assert _entry(q16.blob, i)[16] == 2 * op.weight.size
            section = np.frombuffer(q8.blob, np.int8, op.weight.size, f[15])
            stored = op.weight   # in the blob's order: OHWI for a q15 conv2d of several input channels
            if flags & B.FLAG_OHWI:
                stored = op.weight.reshape(op.kernel + (op.in_shape[2], op.out_shape[2])).transpose(3, 0, 1, 2)
            assert np.array_equal(section.astype(np.int32) * 256, stored.ravel())
        else:
            assert not flags & B.FLAG_WEIGHT8 and w_len == 0
    xq = q8.quantize_input(x)
    got = circnn.Engine(q8).run_raw(xq)
    np.testing.assert_array_equal(got, q8.simulate_raw(xq))
    # The same int16 weights in a 16-bit blob, built from the float weights by
    # float64 arithmetic here (not from the reader): the C engine gives the same bits.
    ops = []
    for op in q8.ops:
        o = B.Op(op.type, op.in_shape, op.out_shape, relu=op.relu, same=op.same, kernel=op.kernel,
                 stride=op.stride, block_size=op.block_size, bias=op.bias, scale=op.scale,
                 weight_exp=op.weight_exp, scale_exp=op.scale_exp, out_frac=op.out_frac, pool=op.pool)
        o.weight = op.weight
        ops.append(o)
    lowered = fuse_max_pools(lower(m))   # the exporter's ops, pools fused
    frac = q8.input_frac
    for o, low in zip(ops, lowered):
        if o.weight is not None:
            v = np.asarray(low.extra["float"], np.float64) * 2.0 ** (o.out_frac - frac)
            e8 = o.weight_exp + 8
            m8 = np.floor(v * 2.0 ** -e8 + 0.5).astype(np.int64)
            assert 63 < np.abs(m8).max() <= 127           # the layer's largest weight uses the 8-bit range
            o.weight = (m8 * 256).astype(np.int16)
        frac = o.out_frac
    data = B.pack("q15", ops, ops[0].in_shape, ops[-1].out_shape, q8.input_frac, q8.output_frac,
                  arena_bytes(ops, "q15"))
    wide = circnn.ExportedModel(data, source=m)
    assert all(op.weight_bits == 16 for op in wide.ops) and wide.version in (1, 2, B.ARENA_VERSION, B.OHWI_VERSION,
                                                                                B.POOL2_VERSION, B.OVER_INPUT_VERSION)
    np.testing.assert_array_equal(circnn.Engine(wide).run_raw(xq), got)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_blob_one_byte_a_weight(name):
    """Every weight section loses one byte a weight, and the blob is exactly
    the size circnn/model.h's layout gives for 1- and 2-byte weights (the
    16-byte alignment of the sections aside, it shrinks by the weight count)."""
    m = MODELS[name]()
    x = images(m, 16)
    q8, q16 = m.quantize(x, weight_bits=8), m.quantize(x)
    count = sum(int(np.prod(op.weight.shape)) for op in q16.ops if op.weight is not None)
    sections = lambda q: sum(_entry(q.blob, i)[16] for i in range(len(q.ops)))   # noqa: E731
    assert sections(q16) - sections(q8) == count
    assert len(q8.blob) == _layout_bytes(q16.ops, lambda op: 0 if op.weight is None else op.weight.size)
    assert len(q16.blob) == _layout_bytes(q16.ops, lambda op: 0 if op.weight is None else 2 * op.weight.size)
    assert abs(len(q16.blob) - len(q8.blob) - count) < 16 * len(q16.ops)


def test_every_kind_counts():
    """The model with a dense FC head: its head alone shrinks by 5 * 5 * 16 * 32 bytes."""
    m = every_kind()
    q8, q16 = m.quantize(images(m, 16), weight_bits=8), m.quantize(images(m, 16))
    head = next(i for i, op in enumerate(q16.ops) if op.type == B.DENSE)
    assert _entry(q16.blob, head)[16] - _entry(q8.blob, head)[16] == 5 * 5 * 16 * 32
    kinds = {op.type for op in q8.ops if op.weight_bits == 8}
    assert kinds == {B.CONV2D, B.DEPTHWISE_CONV2D, B.BC_CONV2D, B.DENSE, B.BC_DENSE}


def test_version_3_without_dense_kinds():
    """A model whose only weights are block-circulant (and whose buffers A
    and B hold 64 values each: the same arena under every layout) stays
    format 3, which runtimes of format 3 read."""
    rng = np.random.default_rng(6)
    m = circnn.Model([L.Flatten(), L.BlockCirculantDense(64, 64, 8, seed=rng), L.ReLU(),
                      L.BlockCirculantDense(64, 16, 8, seed=rng)], input_shape=(8, 8, 1))
    q8 = m.quantize(images(m, 8), weight_bits=8)
    assert q8.version == 3 and q8.blob[4:6] == b"\x03\x00"
    xq = q8.quantize_input(images(m, 8))
    np.testing.assert_array_equal(circnn.Engine(q8).run_raw(xq), q8.simulate_raw(xq))


def _conv_ref(x, w, b, depthwise=False):
    """float64 loops: a 3x3-style 'same' convolution with stride 1 of x (N, H, W, C);
    w (kh, kw, cin, cout), or (kh, kw, c) for a depthwise one; b per output channel."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    pt, pl = (kh - 1) // 2, (kw - 1) // 2
    xp = np.zeros((n, h + kh - 1, wd + kw - 1, c))
    xp[:, pt:pt + h, pl:pl + wd, :] = x
    y = np.zeros((n, h, wd, w.shape[-1])) + b
    for a in range(kh):
        for t in range(kw):
            patch = xp[:, a:a + h, t:t + wd, :]
            y += patch * w[a, t] if depthwise else patch @ w[a, t]
    return y


def test_dense_kinds_close_to_float64():
    """conv2d -> ReLU -> depthwise -> ReLU -> flatten -> dense FC with 8-bit
    weights, through the C engine, against the same network in float64
    (explicit loops here, the layers' own float weights, on the dequantized
    q15 input).  An 8-bit weight is off by at most half its step
    s = 2^ceil(log2(max|w| / 127)) (the layer's largest weight maps into
    [-127, 127]); each layer adds one LSB of its output (rounding half up,
    the bias's rounding) and carries W times its input's error; ReLU does
    not grow errors, and a unit whose float pre-activation lies below
    minus its error bound has none.  Two tolerances, propagated layer by layer:
    - worst case: a layer adds s/2 * sum|x| (a bound that always holds);
    - rounding as noise (errors of rounded weights spread evenly over
      [-s/2, s/2], independent): a layer's error has the variance
      s^2 / 12 * ||x||^2 + sum w^2 var_in + LSB^2; 6 sigma, tight
      enough that the head's weights off by a factor of two would fail
      (checked here).
    Calibrated on twice the inputs: nothing saturates."""
    rng = np.random.default_rng(7)
    conv = L.Conv2d(2, 6, 3, bias=rng.normal(0, 0.1, 6), seed=rng)
    dw = L.DepthwiseConv2d(6, 3, bias=rng.normal(0, 0.1, 6), seed=rng)
    fc = L.Dense(6 * 6 * 6, 10, bias=rng.normal(0, 0.1, 10), seed=rng)
    m = circnn.Model([conv, L.ReLU(), dw, L.ReLU(), L.Flatten(), fc], input_shape=(6, 6, 2))
    x = rng.uniform(0, 1, (64, 6, 6, 2))
    q8 = m.quantize(np.concatenate([x, 2 * x]), weight_bits=8)
    q16 = m.quantize(np.concatenate([x, 2 * x]))
    assert [op.weight_bits for op in q8.ops if op.weight is not None] == [8, 8, 8]
    fracs = [op.out_frac for op in q8.ops if op.weight is not None]
    xq = q8.quantize_input(x)
    ref = xq.astype(np.float64) * 2.0 ** -q8.input_frac
    worst = np.zeros_like(ref)
    var = np.zeros_like(ref)

    def step(w):
        return 2.0 ** math.ceil(math.log2(np.abs(w).max() / 127))

    for w, b, frac, depthwise in ((conv.weight, conv.bias, fracs[0], False), (dw.weight, dw.bias, fracs[1], True)):
        s = step(w)
        worst = (_conv_ref(np.abs(ref) + worst, np.full(w.shape, s / 2), 0, depthwise)
                 + _conv_ref(worst, np.abs(w), 0, depthwise) + 2.0 ** -frac)
        var = (s ** 2 / 12 * _conv_ref(ref ** 2, np.ones(w.shape), 0, depthwise)
               + _conv_ref(var, w ** 2, 0, depthwise) + 2.0 ** (-2 * frac))
        pre = _conv_ref(ref, w, b, depthwise)
        worst, var = worst * (pre > -worst), var * (pre > -6 * np.sqrt(var))   # ReLU: no error well below 0
        ref = np.maximum(pre, 0)
    ref, worst, var = (v.reshape(len(x), -1) for v in (ref, worst, var))   # flatten: (h, w, c) order
    s = step(fc.weight)
    worst = ((np.abs(ref) + worst).sum(axis=1, keepdims=True) * s / 2 + worst @ np.abs(fc.weight).T
             + 2.0 ** -fracs[2])
    var = s ** 2 / 12 * (ref ** 2).sum(axis=1, keepdims=True) + var @ (fc.weight ** 2).T
    noise = 6 * np.sqrt(var) + 2.0 ** -fracs[2]
    ref = ref @ fc.weight.T + fc.bias

    raw8 = circnn.Engine(q8).run_raw(xq).reshape(len(x), -1)
    assert np.abs(raw8.astype(np.int64)).max() < 32767
    got8 = raw8 * 2.0 ** -q8.output_frac
    got16 = circnn.Engine(q16).run_raw(q16.quantize_input(x)).reshape(len(x), -1) * 2.0 ** -q16.output_frac
    for got in (got8, got16):                                   # 16 bits: inside the same bounds
        assert np.all(np.abs(got - ref) <= worst)
        assert np.all(np.abs(got - ref) <= noise)
    # the head's weights off by a factor of two would move most outputs by more than the tolerance
    assert np.mean(np.abs(ref - fc.bias) / 2 > noise) > 0.5
    assert np.abs(got8 - ref).max() > 4 * np.abs(got16 - ref).max()   # 8 bits did reach the layers
    assert np.mean(np.argmax(got8, 1) == np.argmax(ref, 1)) >= 0.9


def test_accuracy_close_to_q15(rng):
    """8 significant bits move the outputs a little, not the ranking (float reference)."""
    m = both_kinds(seed=5)
    x = images(m, 64)
    ref = np.argmax(m.forward(x), axis=1)
    for q in (m.quantize(x), m.quantize(x, weight_bits=8)):
        assert np.mean(np.argmax(circnn.Engine(q).run(x), axis=1) == ref) >= 0.9


def test_arena_holds_the_int16_copy():
    """The arena: two buffers, then the largest of the layers' scratch, now
    the int16 copy of a layer's weights (2 bytes a weight, rounded up to 16)
    plus its kernel's; a dense layer's copy holds DENSE8_ROWS rows at a time
    from format 7 on (the 800-32 layer's: 4 x 800 weights, its 32 rows in
    eight steps), the whole copy before.  The C runtime computes the same
    figure (init refuses one byte less, and a header that disagrees); a blob
    of format 6 that states the whole copy is read and runs in that arena,
    with the same outputs."""
    m = every_kind()
    x = images(m, 8)
    q8, q16 = m.quantize(x, weight_bits=8, fuse_pools=False), m.quantize(x, fuse_pools=False)
    a16 = lambda n: -(-n // 16) * 16   # noqa: E731
    buffers = 2 * a16(max(2 * int(np.prod(op.out_shape)) for op in q8.ops[:-1]))
    kernel = q16.arena_bytes - buffers      # the largest kernel scratch (16-bit weights: no copies)
    head = next(op for op in q8.ops if op.type == B.DENSE)
    assert head.weight.shape == (32, 5 * 5 * 16) and B.dense8_rows(head) and q8.version >= B.DENSE8_ROWS_VERSION
    rows, whole = a16(2 * B.DENSE8_ROWS * 5 * 5 * 16), a16(2 * head.weight.size)
    circulant = max(a16(2 * op.weight.size) + kernel for op in q8.ops if op.type in B.CIRCULANT)
    assert q8.arena_bytes == buffers + max(rows, circulant) < buffers + whole
    fc = circnn.Model([L.Flatten(), L.Dense(64, 10, seed=1)], input_shape=(8, 8, 1))
    f8, f16 = fc.quantize(images(fc, 8), weight_bits=8), fc.quantize(images(fc, 8))
    assert f8.arena_bytes == f16.arena_bytes + a16(2 * B.DENSE8_ROWS * 64)    # no kernel scratch: the rows alone
    small = circnn.Model([L.Flatten(), L.Dense(64, 4, seed=1)], input_shape=(8, 8, 1))
    s8, s16 = small.quantize(images(small, 8), weight_bits=8), small.quantize(images(small, 8))
    assert s8.version == 4 and s8.arena_bytes == s16.arena_bytes + a16(2 * 4 * 64)   # four rows: all, format 4
    for q in (q8, f8):
        assert _init(q.blob, q.arena_bytes - 1) == lib.CIRCNN_ERR_ARENA
        assert _init(q.blob, q.arena_bytes) == lib.CIRCNN_ERR_NULL     # the size passed, NULL arena
        data = bytearray(q.blob)
        struct.pack_into("<I", data, 20, q.arena_bytes - 16)
        assert _init(_reseal(data), 1 << 20) == lib.CIRCNN_ERR_HEADER
    # the same bytes as format 6 with the whole copy's figure: what an older circnn wrote
    older = bytearray(q8.blob)
    struct.pack_into("<H", older, 4, 6)
    assert _init(_reseal(older), 1 << 20) == lib.CIRCNN_ERR_HEADER          # the new figure: refused
    struct.pack_into("<I", older, 20, buffers + whole)
    older = _reseal(older)
    assert _init(older, buffers + whole - 1) == lib.CIRCNN_ERR_ARENA
    xq = q8.quantize_input(x)
    np.testing.assert_array_equal(circnn.Engine(older).run_raw(xq), circnn.Engine(q8).run_raw(xq))
    np.testing.assert_array_equal(circnn.Engine(q8).run_raw(xq), q8.simulate_raw(xq))


def _flagged(blob, i, flag_on=True, version=None):
    data = bytearray(blob)
    at = B.HEADER_BYTES + B.ENTRY_BYTES * i + 1
    data[at] = (data[at] | B.FLAG_WEIGHT8) if flag_on else (data[at] & ~B.FLAG_WEIGHT8)
    if version is not None:
        struct.pack_into("<H", data, 4, version)
    return _reseal(data)


def _field(blob, i, offset, value):
    data = bytearray(blob)
    struct.pack_into("<I", data, B.HEADER_BYTES + B.ENTRY_BYTES * i + offset, value)
    return _reseal(data)


def test_malformed_flag_refused():
    """(Pools apart: the blob may then be relabelled as the older versions.)"""
    m = both_kinds()
    x = images(m, 8)
    q8, q16 = m.quantize(x, weight_bits=8, fuse_pools=False), m.quantize(x, fuse_pools=False)
    circ = next(i for i, op in enumerate(q8.ops) if op.type == B.BC_CONV2D)
    assert _init(q8.blob) == lib.CIRCNN_ERR_ARENA                      # valid: asks for its arena
    cases = {
        "flag in a version 2 blob": _flagged(q8.blob, circ, version=2),
        "flag with a 2-byte section": _flagged(q16.blob, circ, version=4),
        "1-byte section without the flag": _flagged(q8.blob, circ, flag_on=False),
    }
    for what, blob in cases.items():
        assert _init(blob) == lib.CIRCNN_ERR_LAYER, what
    with pytest.raises(B.ModelFormatError, match="8-bit weights"):
        circnn.ExportedModel(cases["flag in a version 2 blob"])
    # an f32 model: the flag is refused
    f = m.to_f32(fuse_pools=False)
    i = next(i for i, op in enumerate(f.ops) if op.type == B.BC_CONV2D)
    bad = _flagged(f.blob, i, version=4)
    assert _init(bad) == lib.CIRCNN_ERR_LAYER
    with pytest.raises(B.ModelFormatError, match="8-bit weights"):
        circnn.ExportedModel(bad)


@pytest.mark.parametrize("kind", ["dense", "conv2d", "depthwise_conv2d"])
def test_malformed_dense_kinds_refused(kind):
    """The dense kinds' 8-bit sections: every malformed variant gets a status
    code from init (and the Python reader refuses what it can tell)."""
    m = every_kind()
    x = images(m, 8)
    q8, q16 = m.quantize(x, weight_bits=8, fuse_pools=False), m.quantize(x, fuse_pools=False)
    t = {"dense": B.DENSE, "conv2d": B.CONV2D, "depthwise_conv2d": B.DEPTHWISE_CONV2D}[kind]
    i = next(i for i, op in enumerate(q8.ops) if op.type == t)
    count = q8.ops[i].weight.size
    unweighted = [j for j, op in enumerate(q8.ops) if op.weight is None]
    # its conv2d of several input channels: format 6; its 8-bit dense layers of more than 4 outputs: 7;
    # its bc_conv2d after the first layer: 8
    assert unweighted and _init(q8.blob) == lib.CIRCNN_ERR_ARENA and q8.version == B.OVER_INPUT_VERSION
    layer = {
        "flag in a version 3 blob (3: circulant layers only)": _flagged(q8.blob, i, version=3),
        "flag in a version 2 blob": _flagged(q8.blob, i, version=2),
        "flag with the 2-byte section": _flagged(q16.blob, i, version=q8.version),
        "1-byte section without the flag": _flagged(q8.blob, i, flag_on=False),
        "int8 section one byte short": _field(q8.blob, i, 32, count - 1),
        "int8 section one byte long": _field(q8.blob, i, 32, count + 1),
        "no int8 section": _field(_field(q8.blob, i, 28, 0), i, 32, 0),
    }
    layer.update({f"flag on unweighted layer {j} ({q8.ops[j].name})": _flagged(q8.blob, j) for j in unweighted})
    for what, blob in layer.items():
        assert _init(blob, 1 << 20) == lib.CIRCNN_ERR_LAYER, what
    off = _entry(q8.blob, i)[15]
    # the 16-bit length: inside the blob the wrong size, else outside it
    assert _init(_field(q8.blob, i, 32, 2 * count), 1 << 20) == (
        lib.CIRCNN_ERR_LAYER if off + 2 * count <= len(q8.blob) else lib.CIRCNN_ERR_BOUNDS)
    cut = bytearray(q8.blob[:off + count // 2])                  # the blob ends inside the int8 section
    struct.pack_into("<I", cut, 8, len(cut))
    outside = {
        "blob cut inside the int8 section": _reseal(cut),
        "int8 section past the blob's end": _field(q8.blob, i, 28, -(-len(q8.blob) // 16) * 16 - 16),
    }
    for what, blob in outside.items():
        assert _init(blob, 1 << 20) == lib.CIRCNN_ERR_BOUNDS, what
    for what in ["flag in a version 3 blob (3: circulant layers only)", "flag in a version 2 blob"] + \
            [w for w in layer if w.startswith("flag on unweighted")]:
        with pytest.raises(B.ModelFormatError, match="8-bit weights"):
            circnn.ExportedModel(layer[what])
    with pytest.raises(B.ModelFormatError, match="outside the model"):
        circnn.ExportedModel(outside["blob cut inside the int8 section"])
    # f32: no 8-bit weights in any version
    f = m.to_f32()
    j = next(j for j, op in enumerate(f.ops) if op.type == t)
    assert _init(_flagged(f.blob, j, version=4), 1 << 20) == lib.CIRCNN_ERR_LAYER


def test_export_options_refused():
    m = mlp(seed=1)
    x = images(m, 8)
    with pytest.raises(ExportError, match="weight_bits"):
        m.quantize(x, weight_bits=4)
    with pytest.raises(ExportError, match="q15"):
        export(m, "f32", weight_bits=8)
    op = lower(m)[1]
    op.weight = np.zeros(4, np.int16)
    op.type = B.RELU
    with pytest.raises(ValueError, match="layers with weights"):
        B.weight8(op)


def test_header_and_table(tmp_path):
    m = every_kind()
    q8 = m.quantize(images(m, 8), weight_bits=8)
    rows = q8.table()
    for op, row in zip(q8.ops, rows):
        if op.weight is not None:
            assert row["type"].endswith("+w8")
            assert row["bytes"] == op.weight.size + sum(0 if a is None else a.nbytes for a in (op.bias, op.scale))
        else:
            assert "+w8" not in row["type"]
    text = open(q8.write_header(tmp_path / "m.h", name="m")).read()
    assert q8.version >= 4
    assert f"CIRCNN_FORMAT_VERSION_NEWEST < {q8.version} ||" in text and f"Format version {q8.version}" in text


def test_cli_train_weight_bits_8(tmp_path, capsys):
    from circnn import cli
    from test_cli import write_idx
    rng = np.random.default_rng(3)
    write_idx(tmp_path / "idx", rng.integers(0, 256, (40, 28, 28)), rng.integers(0, 10, 40))
    for bits in ("16", "8"):
        code = cli.main(["train", "--arch", "mlp", "--block-size", "32", "--epochs", "0", "--data",
                         str(tmp_path / "idx"), "--quiet", "--calibration", "16", "--weight-bits", bits,
                         "-o", str(tmp_path / f"m{bits}.circ")])
        assert code == 0
    out = capsys.readouterr().out
    m8, m16 = circnn.load(str(tmp_path / "m8.circ")), circnn.load(str(tmp_path / "m16.circ"))
    assert f"({sum(op.weight.size for op in m8.ops if op.weight is not None)} bytes with 8-bit weights)" in out
    assert (m8.version, m16.version) == (B.DENSE8_ROWS_VERSION, 1)   # its dense head of 10 rows: format 7
    assert [op.weight_bits for op in m8.ops if op.weight is not None] == [8] * 3
    assert cli.main(["info", str(tmp_path / "m8.circ")]) == 0
    assert "bc_dense+relu+w8" in capsys.readouterr().out
