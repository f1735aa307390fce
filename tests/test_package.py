"""The package as a user meets it: version, headers, status strings, generated files."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

import circnn
from circnn._native import ffi, lib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_one_version_everywhere():
    meson_version = (ROOT / "VERSION").read_text().strip()
    assert circnn.__version__ == meson_version
    header = pathlib.Path(circnn.get_include()) / "circnn" / "version.h"
    assert f'#define CIRCNN_VERSION_STRING "{meson_version}"' in header.read_text()


def test_get_include_ships_every_public_header():
    shipped = pathlib.Path(circnn.get_include()) / "circnn"
    for header in (ROOT / "include" / "circnn").glob("*.h"):
        assert (shipped / header.name).read_text() == header.read_text(), header.name


def test_status_strings_cannot_drift():
    text = (ROOT / "include" / "circnn" / "status.h").read_text()
    names = re.findall(r"^\s*(CIRCNN_(?:OK|ERR_\w+))\s*=\s*(\d+)", text, flags=re.M)
    assert len(names) >= 10
    for name, value in names:
        assert getattr(lib, name) == int(value)
        assert ffi.string(lib.circnn_status_string(int(value))).decode() == name
    assert ffi.string(lib.circnn_status_string(999)).decode() == "CIRCNN_ERR_UNKNOWN"


def test_twiddle_tables_are_what_the_generator_writes():
    out = subprocess.run([sys.executable, str(ROOT / "src" / "gen_twiddle.py")],
                         capture_output=True, text=True, check=True).stdout
    assert out == (ROOT / "src" / "twiddle.c").read_text()


def test_header_compiles_standalone(tmp_path):
    src = tmp_path / "use.c"
    src.write_text('#include "circnn/circnn.h"\nint main(void) { return circnn_fft_check(64); }\n')
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c",
                    "-I", circnn.get_include(), str(src), "-o", str(tmp_path / "use.o")], check=True)


def _int_defines(path):
    """{NAME: value} of the `#define NAME <integer>` lines of a C file."""
    text = pathlib.Path(path).read_text()
    return {name: int(value) for name, value in
            re.findall(r"^\s*#\s*define\s+(\w+)\s+\(?(-?\d+)u?\)?\s*(?:/\*.*\*/\s*)?$", text, flags=re.M)}


def test_every_integer_macro_of_the_public_headers_is_in_lib():
    # tools/gen_cffi.py declares them to cffi; a trailing comment used to hide
    # one (CIRCNN_MAX_KERNEL, CIRCNN_MAX_DIM, CIRCNN_ARENA_ALIGN, ...).
    found = {}
    for header in sorted((ROOT / "include" / "circnn").glob("*.h")):
        found.update(_int_defines(header))
    assert {"CIRCNN_FORMAT_VERSION", "CIRCNN_MAX_KERNEL", "CIRCNN_MAX_DIM", "CIRCNN_LAYER_ARGMAX"} <= set(found)
    for name, value in found.items():
        assert getattr(lib, name) == value, name


def test_python_constants_are_their_c_twins():
    from circnn import blob as B
    from circnn import circulant, fixed, fixed_conv, layer_kernels, window
    # the public ones come from the library itself
    assert (B.FORMAT_VERSION, B.HEADER_BYTES, B.ENTRY_BYTES, B.SECTION_ALIGN, B.MAX_LAYERS) == (
        lib.CIRCNN_FORMAT_VERSION, lib.CIRCNN_HEADER_BYTES, lib.CIRCNN_LAYER_ENTRY_BYTES, lib.CIRCNN_SECTION_ALIGN,
        lib.CIRCNN_MAX_LAYERS)
    assert B.DTYPES == {"f32": lib.CIRCNN_DTYPE_F32, "q15": lib.CIRCNN_DTYPE_Q15}
    codes = {name: getattr(lib, name) for name in dir(lib) if name.startswith("CIRCNN_LAYER_")}
    del codes["CIRCNN_LAYER_ENTRY_BYTES"]
    assert {f"CIRCNN_LAYER_{name.upper()}": code for code, name in B.LAYER_NAMES.items()} == codes
    assert window.PADDINGS == {"valid": lib.CIRCNN_PAD_VALID, "same": lib.CIRCNN_PAD_SAME}
    assert (window.MAX_KERNEL, window.MAX_STRIDE, window.MAX_DIM, layer_kernels.MAX_DIM) == (
        lib.CIRCNN_MAX_KERNEL, lib.CIRCNN_MAX_STRIDE, lib.CIRCNN_MAX_DIM, lib.CIRCNN_MAX_DIM)
    assert fixed.BIAS_FRAC_BITS == lib.CIRCNN_Q15_BIAS_FRAC_BITS
    assert (circulant.MIN_BLOCK, circulant.MAX_BLOCK) == (lib.CIRCNN_FFT_MIN_SIZE, lib.CIRCNN_FFT_MAX_SIZE)
    # the private ones, against the sources that define them
    private = _int_defines(ROOT / "src" / "model_format.h")
    assert (B.FLAG_RELU, B.FLAG_SAME, B.FLAG_WEIGHT8, B.MAX_EXPONENT, B.ARENA_VERSION, B.FLAG_OHWI,
            B.OHWI_VERSION, B.FLAG_POOL2, B.POOL2_VERSION, B.DENSE8_ROWS, B.DENSE8_ROWS_VERSION,
            B.OVER_INPUT_VERSION) == (
        private["FLAG_RELU"], private["FLAG_SAME"], private["FLAG_WEIGHT8"], private["MAX_EXPONENT"],
        private["ARENA_BY_PARITY_VERSION"], private["FLAG_OHWI"], private["OHWI_VERSION"],
        private["FLAG_POOL2"], private["POOL2_VERSION"], private["DENSE8_ROWS"], private["DENSE8_ROWS_VERSION"],
        private["OVER_INPUT_VERSION"])
    assert fixed_conv.EXP_LIMIT == _int_defines(ROOT / "src" / "bc_conv2d_q15.c")["EXP_LIMIT"]
    g = ffi.new("circnn_window_t *")      # kernel, stride and padding: uint8 fields
    for field in ("kernel_h", "kernel_w", "stride", "pad_top", "pad_left"):
        setattr(g, field, layer_kernels.MAX_KERNEL_FIELD)
        with pytest.raises(OverflowError):
            setattr(g, field, layer_kernels.MAX_KERNEL_FIELD + 1)


def test_the_magic_is_what_circnn_model_init_reads():
    from circnn import blob as B
    blob = bytearray(circnn.Model([circnn.layers.ReLU()], input_shape=(4,)).to_f32().blob)
    assert blob[:4] == B.MAGIC

    def init(data):
        buf = ffi.new("uint64_t[]", -(-len(data) // 8))
        ffi.memmove(buf, bytes(data), len(data))
        return lib.circnn_model_init(ffi.new("circnn_model_t *"), buf, len(data), ffi.NULL, 0)

    assert init(blob) in (lib.CIRCNN_OK, lib.CIRCNN_ERR_ARENA)
    for i in range(4):
        bad = bytearray(blob)
        bad[i] ^= 0x20
        assert init(bad) == lib.CIRCNN_ERR_MAGIC, i


def test_host_library_keeps_every_option():
    """The host library (the engine's, the C tests') is built with every option
    of circnn/config.h: every numeric type, layer kind and transform size, and
    the compat blobs, which hold every kind of both types, all initialise."""
    from circnn import header
    for name in header.CONFIG_OPTIONS:
        assert getattr(lib, f"CIRCNN_WITH_{name}") == 1, name
    assert lib.CIRCNN_FFT_SIZES == header.ALL_FFT_SIZES == sum(1 << b for b in range(1, 11))
    for b in range(1, 11):
        assert lib.circnn_fft_check(1 << b) == lib.CIRCNN_OK
    compat = ROOT / "tests" / "compat"
    kinds = set()
    for name in ("q15", "q15_argmax", "q15_v2", "f32", "f32_argmax", "f32_v2", "q15_v3", "q15_v6", "q15_v7"):
        model = circnn.load(str(compat / f"{name}.circ"))
        circnn.Engine(model)   # raises on any status but CIRCNN_OK
        kinds |= {model.dtype.upper()} | {op.name.upper() for op in model.ops}
        kinds |= {"WEIGHT8" for op in model.ops if op.weight_bits == 8}
        kinds |= {"CONV2D_OHWI" for op in model.ops if circnn.blob.stored_ohwi(op, model.dtype)}
        kinds |= {"POOL2" for op in model.ops if op.pool}
    assert kinds == set(header.CONFIG_OPTIONS)
