"""The package as a user meets it: version, headers, status strings, generated files."""
import os
import pathlib
import re
import subprocess
import sys

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
