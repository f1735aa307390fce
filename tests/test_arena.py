"""The arena layout of circnn/model.h (format 5 on): buffer A holds the
outputs of the even layers before the last, buffer B those of the odd
ones, each as large as the largest tensor it holds (rounded up to 16), then
the scratch.  The figure is recomputed here from the blob's layer table
alone, the C runtime asks for exactly it, runs bit-exact in exactly that
many bytes (a guard after them stays untouched) and refuses one byte less;
format 1 to 4 blobs keep the old figure (both buffers the largest tensor)."""
import struct
import zlib

import numpy as np
import pytest

import circnn
from circnn import blob as B
from circnn import layers as L
from circnn._native import ffi, lib
from model_zoo import cnn, images, mlp

GUARD = 64          # bytes after the arena that must stay untouched
PATTERN = 0xA5


def a16(n):
    return (n + 15) // 16 * 16


def table(blob):
    """(version, dtype, [(type, flags, k, in, out, kernel_h, kernel_w, stride, weight bytes)]) read with
    struct here."""
    version, = struct.unpack_from("<H", blob, 4)
    dtype, count = blob[16], struct.unpack_from("<H", blob, 18)[0]
    rows = []
    for i in range(count):
        f = struct.unpack_from("<BBH3H3HBBB", blob, 64 + 64 * i)
        rows.append((f[0], f[1], f[2], f[3:6], f[6:9], f[9], f[10], f[11],
                     struct.unpack_from("<I", blob, 64 + 64 * i + 32)[0]))
    return version, dtype, rows


def scratch(dtype, row, version, index):
    """The kernel's scratch of one layer, asked of the C library's own size
    functions (the part of the rule this change leaves alone), with its
    int16 weight copy when the layer stores 8-bit weights (of a dense layer
    of more than 4 outputs, from format 7: 4 rows of them) and the band of
    two convolution rows when a max pool is fused into it (format 7); a
    block-circulant convolution after the first layer with in_c a multiple
    of k keeps its spectra in its input's place from format 8."""
    kind, flags, k, i, o, kh, kw, stride, weight_bytes = row
    f32 = dtype == lib.CIRCNN_DTYPE_F32
    n = 0
    if kind == lib.CIRCNN_LAYER_BC_DENSE:
        n = (lib.circnn_bc_dense_f32_scratch_bytes if f32 else lib.circnn_bc_dense_q15_scratch_bytes)(i[2], o[2], k)
    elif kind == lib.CIRCNN_LAYER_BC_CONV2D:
        pad_h = max((o[0] - 1) * stride + kh - i[0], 0) if flags & 2 else 0
        pad_w = max((o[1] - 1) * stride + kw - i[1], 0) if flags & 2 else 0
        g = ffi.new("circnn_window_t *", dict(in_h=i[0], in_w=i[1], in_c=i[2], out_h=o[0], out_w=o[1], out_c=o[2],
                                               kernel_h=kh, kernel_w=kw, stride=stride, pad_top=pad_h // 2,
                                               pad_left=pad_w // 2))
        n = (lib.circnn_bc_conv2d_f32_scratch_bytes if f32 else lib.circnn_bc_conv2d_q15_scratch_bytes)(g, k)
        if version >= 8 and index > 0 and i[2] % k == 0:   # format 8: the spectra overwrite the input
            n -= (i[0] * i[1] * i[2] * (4 if f32 else 2) + 7) // 8 * 8
    if flags & 4:   # 8-bit weights (one byte each in the blob): their int16 copy first, rounded up to 16
        dense_rows = kind == lib.CIRCNN_LAYER_DENSE and version >= 7 and o[2] > 4   # format 7: 4 rows of it
        n += a16(2 * (4 * i[2] if dense_rows else weight_bytes))
    if flags & 16:  # a fused 2x2 max pool: two rows of the convolution, each twice the pooled width
        n += a16(2 * (2 * o[1]) * o[2] * (4 if f32 else 2))
    return n


def oracle(blob):
    """(A, B, arena) by the rule of the blob's format version, from its layer table."""
    version, dtype, rows = table(blob)
    es = 4 if dtype == lib.CIRCNN_DTYPE_F32 else 2
    outs = [int(np.prod(r[4])) * es for r in rows]
    even = max((outs[l] for l in range(0, len(rows) - 1, 2)), default=0)
    odd = max((outs[l] for l in range(1, len(rows) - 1, 2)), default=0)
    a, b = a16(even), a16(odd)
    if version < B.ARENA_VERSION:
        a = b = max(a, b)
        b = b if len(rows) > 2 else 0
    return a, b, a + b + a16(max(scratch(dtype, r, version, l) for l, r in enumerate(rows)))


def aligned(data, size, offset=0):
    raw = np.zeros(size + 64, dtype=np.uint8)
    start = (-raw.ctypes.data) % 16 + offset
    view = raw[start:start + size]
    view[:] = np.frombuffer(bytes(data), dtype=np.uint8) if data is not None else PATTERN
    return raw, view


def init(blob, arena_bytes):
    """circnn_model_init with an arena of exactly arena_bytes (then GUARD bytes of PATTERN)."""
    _, b = aligned(blob, len(blob))
    _, arena = aligned(None, arena_bytes + GUARD)
    m = ffi.new("circnn_model_t *")
    status = lib.circnn_model_init(m, ffi.from_buffer(b), len(blob), ffi.from_buffer(arena), arena_bytes)
    return status, m, b, arena


def run_exact(q, x):
    """Outputs of the runtime in an arena of exactly q.arena_bytes; the guard after it untouched."""
    status, m, b, arena = init(q.blob, q.arena_bytes)
    assert status == lib.CIRCNN_OK
    np_type = np.float32 if q.dtype == "f32" else np.int16
    out = np.zeros((len(x), m.output_count), dtype=np_type)
    for i, row in enumerate(np.ascontiguousarray(x, dtype=np_type).reshape(len(x), -1)):
        lib.circnn_model_run(m, ffi.from_buffer(row), ffi.from_buffer(out[i]), ffi.from_buffer(arena))
    assert np.all(arena[q.arena_bytes:] == PATTERN), "the runtime wrote past its arena"
    return out.reshape((len(x),) + q.output_shape)


def one_layer():
    return circnn.Model([L.BlockCirculantDense(32, 16, 8, seed=1)], input_shape=(32,))


def one_dense():
    return circnn.Model([L.Dense(24, 10, seed=1)], input_shape=(24,))


def two_layers():
    return circnn.Model([L.Conv2d(1, 4, 3, padding="same", seed=2), L.ReLU(), L.Flatten()], input_shape=(6, 6, 1))


def pooling_cnn():
    """28x28x8 conv (A), 14x14x8 pool (B), 14x14x16 bc conv (A), 7x7x16 pool (B),
    flatten (A), bc_dense (B), dense: A's largest is 4x B's (pools apart;
    fused, the first pool goes into the conv and its band into the scratch)."""
    rng = np.random.default_rng(4)
    return circnn.Model([
        L.Conv2d(1, 8, 3, padding="same", seed=rng), L.ReLU(), L.MaxPool2d(2),
        L.BlockCirculantConv2d(8, 16, 3, 8, padding="same", seed=rng), L.ReLU(), L.MaxPool2d(2),
        L.Flatten(), L.BlockCirculantDense(7 * 7 * 16, 32, 8, seed=rng), L.ReLU(), L.Dense(32, 10, seed=rng),
    ], input_shape=(28, 28, 1))


MODELS = {"one_bc_dense": one_layer, "one_dense": one_dense, "two_layers": two_layers, "pooling_cnn": pooling_cnn,
          "zoo_cnn": cnn, "zoo_mlp": mlp}


def exported(name, kind):
    model = MODELS[name]()
    if kind == "f32":
        return model, model.to_f32()
    return model, model.quantize(images(model, 16), weight_bits=8 if kind == "q15w8" else 16)


@pytest.mark.parametrize("kind", ["q15", "f32", "q15w8"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_arena_is_the_parity_rule_and_runs_in_exactly_that(name, kind):
    model, q = exported(name, kind)
    a, b, need = oracle(q.blob)
    assert q.arena_bytes == need == struct.unpack_from("<I", q.blob, 20)[0]
    status, m, _, _ = init(q.blob, 0)
    assert status == (lib.CIRCNN_ERR_ARENA if need else lib.CIRCNN_OK) and m.arena_bytes == need
    if need:
        assert (m.b_offset, m.scratch_offset) == (a, a + b)
    layers = len(q.ops)
    if layers == 1:
        assert a == b == 0
    if layers == 2:
        assert b == 0 and a > 0
    for short in {1, 8} if need >= 8 else {1}:
        if need >= short:
            assert init(q.blob, need - short)[0] == lib.CIRCNN_ERR_ARENA
    x = images(model, 6, seed=9)
    if q.dtype == "q15":
        xq = q.quantize_input(x)
        assert np.array_equal(run_exact(q, xq), q.simulate_raw(xq))       # bit for bit, in exactly its arena
    else:
        got = run_exact(q, x.astype(np.float32))
        want = circnn.Engine(q).run_raw(x.astype(np.float32))             # an arena rounded up to 8 bytes
        assert np.array_equal(got.view(np.int32), want.view(np.int32))
        np.testing.assert_allclose(got, q.simulate(x), rtol=1e-4, atol=1e-4 * np.abs(q.simulate(x)).max())


def test_the_saving_where_one_buffer_holds_the_large_tensors():
    """pooling_cnn with its pools apart: the old layout gave B A's size too;
    the version says the layout changed."""
    model = pooling_cnn()
    q = model.quantize(images(model, 16), fuse_pools=False)
    a, b, need = oracle(q.blob)
    assert (a, b) == (28 * 28 * 8 * 2, 14 * 14 * 8 * 2)
    assert q.version == B.OVER_INPUT_VERSION   # (its bc_conv2d keeps its spectra in its input's place)
    old, seven = bytearray(q.blob), bytearray(q.blob)
    struct.pack_into("<H", old, 4, 2)
    struct.pack_into("<H", seven, 4, 7)       # the parity layout without format 8's scratch
    assert oracle(bytes(old))[2] - oracle(bytes(seven))[2] == a - b


def _patched(blob, version=None, arena=None):
    data = bytearray(blob)
    if version is not None:
        struct.pack_into("<H", data, 4, version)
    if arena is not None:
        struct.pack_into("<I", data, 20, arena)
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:])))
    return bytes(data)


def test_the_figure_of_the_wrong_layout_is_refused():
    """A version-5 blob that states the old figure, and an old-version blob
    that states the new one: CIRCNN_ERR_HEADER, with arena_bytes the figure
    of the blob's own version; off by 16: refused too (pooling_cnn with its
    pools apart, which an old version holds)."""
    model = pooling_cnn()
    q = model.quantize(images(model, 16), fuse_pools=False)
    new = q.arena_bytes
    old_version = _patched(q.blob, version=B.ARENA_VERSION - 1)
    _, _, old = oracle(old_version)
    assert old > new
    for data, right in ((_patched(q.blob, arena=old), new), (old_version, old), (_patched(q.blob, arena=new + 16), new),
                        (_patched(q.blob, arena=new - 16), new)):
        status, m, _, _ = init(data, 1 << 20)
        assert status == lib.CIRCNN_ERR_HEADER and m.arena_bytes == right
        with pytest.raises(circnn.RuntimeRefused):
            circnn.Engine(data)
    # with its own version's figure the old-version blob is read, in the old layout's arena and not in less
    fixed = _patched(q.blob, version=B.ARENA_VERSION - 1, arena=old)
    assert init(fixed, old)[0] == lib.CIRCNN_OK and init(fixed, old - 1)[0] == lib.CIRCNN_ERR_ARENA
    m = init(fixed, old)[1]
    assert m.b_offset == 28 * 28 * 8 * 2 and m.scratch_offset == 2 * 28 * 28 * 8 * 2
    x = q.quantize_input(images(MODELS["pooling_cnn"](), 4, seed=3))
    assert np.array_equal(circnn.Engine(fixed).run_raw(x), q.simulate_raw(x))


def test_the_exporter_keeps_the_old_version_when_the_layouts_agree():
    """Two layers (one intermediate), and buffers A and B of one size: the
    figure is the same under both layouts, so the blob keeps the oldest
    version that holds its layers, byte for byte as before."""
    for name in ("two_layers", "one_bc_dense", "one_dense"):
        _, q = exported(name, "q15")
        assert q.version == 1
    same = circnn.Model([L.Conv2d(1, 8, 3, padding="same", seed=1), L.ReLU(), L.Flatten(), L.Dense(288, 10, seed=1)],
                        input_shape=(6, 6, 1)).quantize(np.random.default_rng(1).uniform(0, 1, (8, 6, 6, 1)))
    a, b, _ = oracle(same.blob)
    assert a == b and same.version == 1
