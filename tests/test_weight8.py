"""8-bit spectral weights (format 3, layer flag bit 2): a q15 bc_dense or
bc_conv2d stores its packed spectra as int8 w8, meaning the q15 weights
w16 = w8 * 256 with the layer's weight exponent.  The C runtime reads the
int8 section itself; the checks here are independent of the Python reader:
the C engine on the 8-bit blob against the C engine on a 16-bit blob holding
w8 * 256 written from separately computed numbers, and against the simulator."""
import struct
import zlib

import numpy as np
import pytest

import circnn
from circnn import layers as L
from circnn._native import ffi, lib
from circnn.export import quantization as Q
from circnn.export.exporter import export
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


def _init(blob, arena=0):
    buf = np.frombuffer(bytes(blob), dtype=np.uint8).copy()     # numpy: aligned
    return lib.circnn_model_init(ffi.new("circnn_model_t *"), ffi.from_buffer(buf), len(buf), ffi.NULL, arena)


def _reseal(data):
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:])))
    return bytes(data)


def _entry(blob, i):
    return struct.unpack_from("<BBH 3H3H BBBb ii IIIIII", blob, B.HEADER_BYTES + B.ENTRY_BYTES * i)


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


@pytest.mark.parametrize("make", [both_kinds, lambda: cnn(seed=2), lambda: mlp(seed=2)])
def test_c_engine_reads_the_int8_section_bit_exact(make):
    m = make()
    x = images(m, 24)
    q8 = m.quantize(x, weight_bits=8)
    q16 = m.quantize(x)
    assert q16.version in (1, 2) and q8.version == 3
    assert q16.blob == m.quantize(x, weight_bits=16).blob           # the default, byte for byte
    circ = [i for i, op in enumerate(q8.ops) if op.type in B.CIRCULANT]
    assert circ and all(q8.ops[i].weight_bits == 8 for i in circ)
    for i, op in enumerate(q8.ops):
        f = _entry(q8.blob, i)
        flags, w_len = f[1], f[16]
        if i in circ:   # one byte a weight; the other layers as before
            assert flags & B.FLAG_WEIGHT8 and w_len == op.weight.size
            section = np.frombuffer(q8.blob, np.int8, op.weight.size, f[15])
            assert np.array_equal(section.astype(np.int32) * 256, op.weight.ravel())
        else:
            assert not flags & B.FLAG_WEIGHT8
    assert len(q8.blob) < len(q16.blob)
    xq = q8.quantize_input(x)
    got = circnn.Engine(q8).run_raw(xq)
    np.testing.assert_array_equal(got, q8.simulate_raw(xq))
    # The same int16 weights in a 16-bit blob, built from the float weights by
    # float64 arithmetic here (not from the reader): the C engine gives the same bits.
    ops = []
    for op in q8.ops:
        o = B.Op(op.type, op.in_shape, op.out_shape, relu=op.relu, same=op.same, kernel=op.kernel,
                 stride=op.stride, block_size=op.block_size, bias=op.bias, scale=op.scale,
                 weight_exp=op.weight_exp, scale_exp=op.scale_exp, out_frac=op.out_frac)
        o.weight = op.weight
        ops.append(o)
    lowered = lower(m)
    frac = q8.input_frac
    for o, low in zip(ops, lowered):
        if o.type in B.CIRCULANT:
            v = np.asarray(low.extra["float"], np.float64) * 2.0 ** (o.out_frac - frac)
            e8 = o.weight_exp + 8
            o.weight = (np.floor(v * 2.0 ** -e8 + 0.5).astype(np.int64) * 256).astype(np.int16)
        frac = o.out_frac
    data = B.pack("q15", ops, ops[0].in_shape, ops[-1].out_shape, q8.input_frac, q8.output_frac,
                  arena_bytes(ops, "q15"))
    wide = circnn.ExportedModel(data, source=m)
    assert wide.version < 3
    np.testing.assert_array_equal(circnn.Engine(wide).run_raw(xq), got)


def test_accuracy_close_to_q15(rng):
    """8 significant bits move the outputs a little, not the ranking (float reference)."""
    m = both_kinds(seed=5)
    x = images(m, 64)
    ref = np.argmax(m.forward(x), axis=1)
    for q in (m.quantize(x), m.quantize(x, weight_bits=8)):
        assert np.mean(np.argmax(circnn.Engine(q).run(x), axis=1) == ref) >= 0.9


def test_arena_holds_the_int16_copy():
    m = mlp(seed=1)
    x = images(m, 8)
    q8, q16 = m.quantize(x, weight_bits=8), m.quantize(x)
    count = q8.ops[1].weight.size
    assert q8.arena_bytes == q16.arena_bytes + -(-2 * count // 16) * 16
    assert _init(q8.blob) == lib.CIRCNN_ERR_ARENA


def test_malformed_flag_refused():
    m = both_kinds()
    x = images(m, 8)
    q8, q16 = m.quantize(x, weight_bits=8), m.quantize(x)
    circ = next(i for i, op in enumerate(q8.ops) if op.type == B.BC_CONV2D)
    dense = next(i for i, op in enumerate(q8.ops) if op.type == B.DENSE)
    assert _init(q8.blob) == lib.CIRCNN_ERR_ARENA                      # valid: asks for its arena

    def flagged(blob, i, flag_on=True, version=None):
        data = bytearray(blob)
        at = B.HEADER_BYTES + B.ENTRY_BYTES * i + 1
        data[at] = (data[at] | B.FLAG_WEIGHT8) if flag_on else (data[at] & ~B.FLAG_WEIGHT8)
        if version is not None:
            struct.pack_into("<H", data, 4, version)
        return _reseal(data)
    cases = {
        "flag on a dense layer": flagged(q8.blob, dense),
        "flag in a version 2 blob": flagged(q8.blob, circ, version=2),
        "flag with a 2-byte section": flagged(q16.blob, circ, version=3),
        "1-byte section without the flag": flagged(q8.blob, circ, flag_on=False),
    }
    for what, blob in cases.items():
        assert _init(blob) == lib.CIRCNN_ERR_LAYER, what
    with pytest.raises(B.ModelFormatError, match="8-bit weights"):
        circnn.ExportedModel(cases["flag on a dense layer"])
    with pytest.raises(B.ModelFormatError, match="8-bit weights"):
        circnn.ExportedModel(cases["flag in a version 2 blob"])
    # an f32 model: the flag is refused
    f = m.to_f32()
    i = next(i for i, op in enumerate(f.ops) if op.type == B.BC_CONV2D)
    bad = flagged(f.blob, i, version=3)
    assert _init(bad) == lib.CIRCNN_ERR_LAYER
    with pytest.raises(B.ModelFormatError, match="8-bit weights"):
        circnn.ExportedModel(bad)


def test_export_options_refused():
    m = mlp(seed=1)
    x = images(m, 8)
    with pytest.raises(ExportError, match="weight_bits"):
        m.quantize(x, weight_bits=4)
    with pytest.raises(ExportError, match="q15"):
        export(m, "f32", weight_bits=8)


def test_header_and_table(tmp_path):
    m = both_kinds()
    q8 = m.quantize(images(m, 8), weight_bits=8)
    rows = q8.table()
    for op, row in zip(q8.ops, rows):
        if op.type in B.CIRCULANT:
            assert row["type"].endswith("+w8")
            assert row["bytes"] == op.weight.size + sum(0 if a is None else a.nbytes for a in (op.bias, op.scale))
    text = open(q8.write_header(tmp_path / "m.h", name="m")).read()
    assert "CIRCNN_FORMAT_VERSION_NEWEST < 3 ||" in text and "Format version 3" in text


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
    assert "bytes with 8-bit spectra" in out
    m8, m16 = circnn.load(str(tmp_path / "m8.circ")), circnn.load(str(tmp_path / "m16.circ"))
    assert (m8.version, m16.version) == (3, 1)
    assert [op.weight_bits for op in m8.ops if op.type == B.BC_DENSE] == [8, 8]
    assert cli.main(["info", str(tmp_path / "m8.circ")]) == 0
    assert "bc_dense+relu+w8" in capsys.readouterr().out
