"""The files of an earlier circnn (tests/compat: format version 1,
version 2, which added the depthwise convolution, version 3, whose q15
block-circulant layers may store 8-bit spectra, version 4, whose q15
layers with weights may all store 8-bit weights, version 5, whose
arena sizes buffers A and B apart, version 6, whose q15 conv2d of
several input channels stores its weights OHWI, version 7, whose
conv2d takes the max pool after it into the same layer, and version 8,
whose bc_conv2d keeps its spectra in its input's place): the runtime and the
Python reader still take them and give exactly the outputs recorded when
they were written.  A format change must bump the version and
keep reading these files or refuse them with CIRCNN_ERR_VERSION
(tests/compat/make_compat.py says how)."""
import os
import re
import struct
import zlib

import numpy as np
import pytest

import circnn
from circnn._native import ffi, lib

COMPAT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compat")
MODELS = ("q15", "q15_argmax", "f32", "f32_argmax", "q15_v2", "f32_v2", "q15_v3", "q15_v4", "q15_v5", "f32_v5",
          "q15_v6", "q15_v7", "f32_v7", "q15_v8", "f32_v8")
VERSION = {"q15_v2": 2, "f32_v2": 2, "q15_v3": 3, "q15_v4": 4, "q15_v5": 5, "f32_v5": 5, "q15_v6": 6, "q15_v7": 7,
           "f32_v7": 7, "q15_v8": 8, "f32_v8": 8}
KINDS = {"dense", "bc_dense", "conv2d", "bc_conv2d", "relu", "maxpool2d", "avgpool2d", "flatten", "softmax", "argmax",
         "depthwise_conv2d"}


def read(name):
    with open(os.path.join(COMPAT, name), "rb") as f:
        return f.read()


def vectors(name, model):
    dtype = np.dtype("<i2") if name.startswith("q15") else np.dtype("<f4")
    x = np.frombuffer(read(name[:3] + "_input.bin"), dtype=dtype).reshape((-1,) + model.input_shape)
    y = np.frombuffer(read(name + "_output.bin"), dtype=dtype).reshape((len(x),) + model.output_shape)
    return x, y


@pytest.mark.parametrize("name", MODELS)
def test_old_files_give_the_recorded_outputs(name):
    model = circnn.load(os.path.join(COMPAT, name + ".circ"))
    assert struct.unpack_from("<H", model.blob, 4)[0] == VERSION.get(name, 1)
    x, want = vectors(name, model)
    got = circnn.Engine(model).run_raw(x)
    assert got.dtype == want.dtype.newbyteorder("=")
    # bit for bit: the f32 outputs compared as integers
    assert np.array_equal(got.view(f"i{got.itemsize}"), want.astype(got.dtype).view(f"i{got.itemsize}"))
    if name.startswith("q15"):
        assert np.array_equal(model.simulate_raw(x), want)


def test_old_files_cover_every_layer_kind():
    for dtype in ("q15", "f32"):
        kinds = set()
        for name in (dtype, dtype + "_argmax", dtype + "_v2"):
            kinds |= {op.name for op in circnn.load(os.path.join(COMPAT, name + ".circ")).ops}
        assert kinds == KINDS - ({"softmax"} if dtype == "q15" else set()), kinds


@pytest.mark.parametrize("name", MODELS)
def test_old_header_holds_the_blob(name):
    text = read(name + ".h").decode("ascii")
    data = bytes(int(v, 16) for v in re.findall(r"0x([0-9a-f]{2}),", text.split("_blob[")[1]))
    assert data == read(name + ".circ")
    assert f"#define COMPAT_{name.upper()}_BLOB_BYTES {len(data)}u" in text
    # the header refuses a runtime that does not read its format
    if VERSION.get(name, 1) == 1:
        assert "CIRCNN_FORMAT_VERSION != 1" in text
    else:
        assert f"CIRCNN_FORMAT_VERSION_NEWEST < {VERSION[name]} ||" in text


def test_8bit_weights_of_versions_3_and_4():
    """Format 3 stores the spectra of block-circulant layers in 8 bits, format 4
    the weights of every layer that has them."""
    kinds = {}
    for name in ("q15_v3", "q15_v4"):
        model = circnn.load(os.path.join(COMPAT, name + ".circ"))
        kinds[name] = {op.name for op in model.ops if op.weight_bits == 8}
        assert all(op.weight_bits == 16 for op in model.ops if op.name not in kinds[name])
    assert kinds["q15_v3"] == {"bc_conv2d", "bc_dense"}
    assert kinds["q15_v4"] == {"conv2d", "depthwise_conv2d", "bc_conv2d", "bc_dense", "dense"}


def test_another_format_version_is_refused():
    """Both readers refuse a version they do not know (CRC recomputed)."""
    data = bytearray(read("q15.circ"))
    for version in (0, circnn.blob.FORMAT_VERSION_NEWEST + 1, 0xFFFF):   # 2 to 4: read
        struct.pack_into("<H", data, 4, version)
        struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:])))
        blob = np.frombuffer(bytes(data), dtype=np.uint8).copy()      # numpy: 16-byte aligned
        status = lib.circnn_model_init(ffi.new("circnn_model_t *"), ffi.from_buffer(blob), len(blob), ffi.NULL, 0)
        assert status == lib.CIRCNN_ERR_VERSION
        with pytest.raises(circnn.ModelFormatError, match="version"):
            circnn.ExportedModel(bytes(data))


@pytest.mark.parametrize("dtype", ["q15", "f32"])
def test_version_5_files_are_the_version_2_networks_in_a_smaller_arena(dtype):
    """q15_v5 / f32_v5 hold the networks of q15_v2 / f32_v2, written after
    format 5 sized buffers A and B apart: the same layers and outputs, and
    an arena smaller by B's old size less its new one (from the shapes)."""
    old, new = (circnn.load(os.path.join(COMPAT, f"{dtype}_{v}.circ")) for v in ("v2", "v5"))
    assert [(op.type, op.out_shape) for op in old.ops] == [(op.type, op.out_shape) for op in new.ops]
    assert read(f"{dtype}_v2_output.bin") == read(f"{dtype}_v5_output.bin")
    es = 4 if dtype == "f32" else 2
    sizes = [-(-int(np.prod(op.out_shape)) * es // 16) * 16 for op in new.ops[:-1]]
    assert old.arena_bytes - new.arena_bytes == max(sizes) - max(sizes[1::2]) > 0


def test_version_6_file_is_the_version_5_network_with_ohwi_conv2d_weights():
    """q15_v6 holds q15_v5's network, written after format 6 stored the
    weights of a q15 conv2d of several input channels OHWI: the same layers,
    weights (read back as HWIO), arena and outputs; its first conv2d (two
    input channels) carries FLAG_OHWI and its section is the HWIO weights
    transposed, and q15_v5's does not."""
    old, new = (circnn.load(os.path.join(COMPAT, f"q15_{v}.circ")) for v in ("v5", "v6"))
    assert (old.version, new.version) == (5, 6) and old.arena_bytes == new.arena_bytes
    for a, b in zip(old.ops, new.ops):
        assert (a.type, a.out_shape) == (b.type, b.out_shape)
        assert (a.weight is None and b.weight is None) or np.array_equal(a.weight, b.weight)
    assert read("q15_v5_output.bin") == read("q15_v6_output.bin")
    conv = new.ops[0]
    assert conv.type == circnn.blob.CONV2D and conv.in_shape[2] == 2
    for model, ohwi in ((old, False), (new, True)):
        entry = struct.unpack_from("<BBH 3H3H BBBb ii IIIIII", model.blob, circnn.blob.HEADER_BYTES)
        assert bool(entry[1] & circnn.blob.FLAG_OHWI) == ohwi
        stored = np.frombuffer(model.blob, "<i2", conv.weight.size, entry[15])
        hwio = conv.weight.reshape(conv.kernel + (2, conv.out_shape[2]))
        assert np.array_equal(stored, (hwio.transpose(3, 0, 1, 2) if ohwi else hwio).ravel())


@pytest.mark.parametrize("dtype", ["q15", "f32"])
def test_version_7_files_are_the_earlier_networks_with_the_first_pool_fused(dtype):
    """q15_v7 / f32_v7 hold the networks of q15_v6 / f32_v5, written after
    format 7 fused a 2x2 max pool into the convolution before it: the
    conv2d and maxpool2d layers are one (FLAG_POOL2), the other layers and
    the outputs the same, and the arena no longer holds the conv2d's output."""
    old, new = (circnn.load(os.path.join(COMPAT, f"{dtype}_{v}.circ")) for v in
                (("v6", "v7") if dtype == "q15" else ("v5", "v7")))
    assert [op.label for op in old.ops[:2]] == ["conv2d+relu", "maxpool2d"]
    assert new.ops[0].label == "conv2d+relu+maxpool2d" and new.ops[0].out_shape == old.ops[1].out_shape
    assert [(op.type, op.out_shape) for op in old.ops[2:]] == [(op.type, op.out_shape) for op in new.ops[1:]]
    assert read(f"{dtype}_{'v6' if dtype == 'q15' else 'v5'}_output.bin") == read(f"{dtype}_v7_output.bin")
    assert new.blob[circnn.blob.HEADER_BYTES + 1] & circnn.blob.FLAG_POOL2
    assert new.arena_bytes < old.arena_bytes


@pytest.mark.parametrize("dtype", ["q15", "f32"])
def test_version_8_files_are_the_version_7_networks_in_a_smaller_arena(dtype):
    """q15_v8 / f32_v8 hold the networks of q15_v7 / f32_v7, written after
    format 8 let a block-circulant convolution after the first layer keep its
    spectra in its input's place: the same bytes but for the version, the
    arena figure and the CRC, the same outputs, and the arena smaller by the
    spectra of its input (from the shapes; the bc_conv2d's scratch is the
    largest here)."""
    old, new = (circnn.load(os.path.join(COMPAT, f"{dtype}_{v}.circ")) for v in ("v7", "v8"))
    assert (old.version, new.version) == (7, 8)
    assert old.blob[16:20] == new.blob[16:20] and old.blob[24:] == new.blob[24:]
    assert read(f"{dtype}_v7_output.bin") == read(f"{dtype}_v8_output.bin")
    i, bc = next((i, op) for i, op in enumerate(new.ops) if op.type == circnn.blob.BC_CONV2D)
    assert i > 0 and bc.in_shape[2] % bc.block_size == 0
    spectra = -(-int(np.prod(bc.in_shape)) * (4 if dtype == "f32" else 2) // 8) * 8
    assert 0 < old.arena_bytes - new.arena_bytes <= spectra


def _with_flags(blob, layer, flags, version=None):
    data = bytearray(blob)
    data[circnn.blob.HEADER_BYTES + circnn.blob.ENTRY_BYTES * layer + 1] = flags
    if version is not None:
        struct.pack_into("<H", data, 4, version)
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:])))
    return bytes(data)


def test_ohwi_flag_only_on_q15_conv2d_from_version_6():
    """FLAG_OHWI elsewhere is refused by both readers: in a version-5 blob,
    on a layer of another kind, in an f32 model."""
    B = circnn.blob
    q6, f5 = (read(f"{name}.circ") for name in ("q15_v6", "f32_v5"))
    flags = q6[B.HEADER_BYTES + 1]
    assert flags & B.FLAG_OHWI
    dense = len(circnn.load(os.path.join(COMPAT, "q15_v6.circ")).ops) - 1      # the dense head
    bad = {"a version 5 blob": _with_flags(q6, 0, flags, version=5),
           "a dense layer": _with_flags(q6, dense, q6[B.HEADER_BYTES + B.ENTRY_BYTES * dense + 1] | B.FLAG_OHWI),
           "an f32 conv2d": _with_flags(f5, 0, f5[B.HEADER_BYTES + 1] | B.FLAG_OHWI, version=6)}
    for what, blob in bad.items():
        model = ffi.new("circnn_model_t *")
        buf = ffi.from_buffer(bytearray(blob))
        assert lib.circnn_model_init(model, buf, len(blob), ffi.NULL, 0) == lib.CIRCNN_ERR_LAYER, what
        with pytest.raises(circnn.ModelFormatError, match="OHWI"):
            circnn.ExportedModel(blob)
