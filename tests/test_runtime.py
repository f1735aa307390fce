"""The C runtime refuses every malformed blob with its specific status, never crashing."""
import struct
import zlib

import numpy as np
import pytest

import circnn
from circnn import blob as B
from circnn._native import ffi, lib
from model_zoo import cnn, images, mlp


def init(data, arena_bytes=None, blob_offset=0, arena_offset=0):
    """circnn_model_init on a copy of data at a 16-aligned (+ offset) address."""
    raw = np.zeros(len(data) + 32, dtype=np.uint8)
    start = (-raw.ctypes.data) % 16 + blob_offset
    raw[start:start + len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)
    handle = ffi.new("circnn_model_t *")
    size = 1 << 20 if arena_bytes is None else arena_bytes
    arena = np.zeros(size // 8 + 4, dtype=np.int64)
    ptr = ffi.from_buffer(arena) + arena_offset
    status = lib.circnn_model_init(handle, ffi.from_buffer(raw) + start, len(data), ptr, size)
    return status, handle


def name(status):
    return circnn.engine.status_name(status)


def fix_crc(data):
    data = bytearray(data)
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:])))
    return bytes(data)


@pytest.fixture(scope="module")
def real_blob():
    model = cnn()
    return model.quantize(images(model)).blob


def test_real_blob_is_accepted(real_blob):
    status, handle = init(real_blob)
    assert name(status) == "CIRCNN_OK"
    assert handle.layer_count == 6 and handle.input_count == 14 * 14   # the first max pool fused


def test_every_truncation_is_refused(real_blob):
    for length in range(len(real_blob)):
        status, _ = init(real_blob[:length])
        assert name(status) == "CIRCNN_ERR_TRUNCATED", length


def test_every_single_byte_change_is_refused(real_blob):
    total = len(real_blob)
    for pos in range(total):
        data = bytearray(real_blob)
        data[pos] ^= 0x5A
        status, _ = init(data)
        if pos < 4:
            expected = "CIRCNN_ERR_MAGIC"
        elif pos < 6:
            expected = "CIRCNN_ERR_VERSION"
        elif pos < 8:
            expected = "CIRCNN_ERR_HEADER"
        elif pos < 12:
            claimed = struct.unpack_from("<I", data, 8)[0]
            expected = ("CIRCNN_ERR_TRUNCATED" if claimed > total else
                        "CIRCNN_ERR_HEADER" if claimed < 64 else "CIRCNN_ERR_CRC")
        else:
            expected = "CIRCNN_ERR_CRC"
        assert name(status) == expected, (pos, name(status))


def test_every_single_byte_change_past_the_crc_never_crashes(real_blob):
    """With the CRC recomputed the layer checks must catch what they can; what
    they accept must run (this runs in-process: a crash would kill pytest)."""
    accepted = 0
    x = np.zeros(14 * 14, dtype=np.int16)
    y = np.zeros(4096, dtype=np.int16)
    for pos in range(16, len(real_blob)):
        data = bytearray(real_blob)
        data[pos] ^= 0xA5
        status, handle = init(fix_crc(data))
        assert status in range(0, 16)
        if status == lib.CIRCNN_OK:
            accepted += 1
            assert handle.output_count <= 4096
            arena = np.zeros(handle.arena_bytes // 8 + 1, dtype=np.int64)
            lib.circnn_model_run(handle, ffi.from_buffer(x), ffi.from_buffer(y), ffi.from_buffer(arena))
    # weight bytes are free to change: most of the blob is weights
    assert accepted > 0


def patch_entry(data, layer, offset, fmt, value):
    data = bytearray(data)
    struct.pack_into(fmt, data, B.HEADER_BYTES + B.ENTRY_BYTES * layer + offset, value)
    return fix_crc(data)


def test_specific_faults_get_specific_codes(real_blob):
    for version in (0, B.FORMAT_VERSION_NEWEST + 1):             # outside the versions this runtime reads
        data = bytearray(real_blob)
        data[4] = version
        assert name(init(data)[0]) == "CIRCNN_ERR_VERSION"
    data = bytearray(real_blob)
    data[0:4] = b"TFL3"
    assert name(init(data)[0]) == "CIRCNN_ERR_MAGIC"
    data = bytearray(real_blob)
    data[16] = 7                                        # unknown numeric type
    assert name(init(fix_crc(data))[0]) == "CIRCNN_ERR_DTYPE"
    # shapes that do not chain: layer 1's input height
    assert name(init(patch_entry(real_blob, 1, 4, "<H", 13))[0]) == "CIRCNN_ERR_CHAIN"
    # a layer's output that does not follow from its window
    assert name(init(patch_entry(real_blob, 0, 10, "<H", 13))[0]) in ("CIRCNN_ERR_SHAPE", "CIRCNN_ERR_CHAIN")
    # offsets and lengths outside the blob
    assert name(init(patch_entry(real_blob, 0, 28, "<I", len(real_blob) + 16))[0]) == "CIRCNN_ERR_BOUNDS"
    assert name(init(patch_entry(real_blob, 0, 32, "<I", 0xFFFFFFF0))[0]) == "CIRCNN_ERR_BOUNDS"
    assert name(init(patch_entry(real_blob, 0, 28, "<I", 8))[0]) == "CIRCNN_ERR_BOUNDS"   # inside the header
    # a section of the wrong length, a misaligned section
    op0 = B.unpack(real_blob)["ops"][0]
    assert name(init(patch_entry(real_blob, 0, 32, "<I", op0.weight.nbytes - 2))[0]) == "CIRCNN_ERR_LAYER"
    w_off = struct.unpack_from("<I", real_blob, B.HEADER_BYTES + 28)[0]
    assert name(init(patch_entry(real_blob, 0, 28, "<I", w_off + 2))[0]) == "CIRCNN_ERR_ALIGN"
    # unknown layer type, unknown flag bit, block size not a power of two
    assert name(init(patch_entry(real_blob, 0, 0, "<B", 42))[0]) == "CIRCNN_ERR_LAYER"
    assert name(init(patch_entry(real_blob, 0, 1, "<B", 0x80))[0]) == "CIRCNN_ERR_LAYER"
    assert name(init(patch_entry(real_blob, 1, 2, "<H", 6))[0]) == "CIRCNN_ERR_BLOCK_SIZE"
    # the exporter's arena figure must be the runtime's
    data = bytearray(real_blob)
    struct.pack_into("<I", data, 20, struct.unpack_from("<I", data, 20)[0] + 16)
    assert name(init(fix_crc(data))[0]) == "CIRCNN_ERR_HEADER"


def test_arena_one_byte_too_small_reports_the_size(real_blob):
    status, handle = init(real_blob, arena_bytes=0)
    need = handle.arena_bytes
    assert name(status) == "CIRCNN_ERR_ARENA" and need > 0
    assert need == B.unpack(real_blob)["arena_bytes"]
    assert name(init(real_blob, arena_bytes=need - 1)[0]) == "CIRCNN_ERR_ARENA"
    assert name(init(real_blob, arena_bytes=need)[0]) == "CIRCNN_OK"


def test_alignment_is_checked(real_blob):
    assert name(init(real_blob, blob_offset=2)[0]) == "CIRCNN_ERR_ALIGN"
    assert name(init(real_blob, arena_offset=4)[0]) == "CIRCNN_ERR_ALIGN"


def test_null_pointers():
    handle = ffi.new("circnn_model_t *")
    assert name(lib.circnn_model_init(handle, ffi.NULL, 100, ffi.NULL, 0)) == "CIRCNN_ERR_NULL"


def test_crc_matches_zlib():
    rng = np.random.default_rng(0)
    for n in (0, 1, 15, 1000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert lib.circnn_crc32(data, n) == zlib.crc32(data)


def test_python_refuses_files_that_are_not_models(tmp_path):
    bad = tmp_path / "x.circ"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(circnn.ModelFormatError, match="not a circnn model"):
        circnn.load(str(bad))
    blob = mlp().to_f32().blob
    bad.write_bytes(blob[:-5])
    with pytest.raises(circnn.ModelFormatError, match="truncated"):
        circnn.load(str(bad))
    data = bytearray(blob)
    data[-1] ^= 1
    bad.write_bytes(bytes(data))
    with pytest.raises(circnn.ModelFormatError, match="checksum"):
        circnn.load(str(bad))
    with pytest.raises(FileNotFoundError):
        circnn.load(str(tmp_path / "missing.circ"))
    with pytest.raises(circnn.RuntimeRefused, match="CIRCNN_ERR_CHAIN"):
        circnn.Engine(patch_entry(blob, 1, 4, "<H", 2))
