"""The examples in README.md work as written: Python blocks run, the C runtime block compiles."""
import os
import pathlib
import re
import subprocess

import numpy as np
import pytest

import circnn
from circnn import layers as L

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.dataset
def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # the examples write model.circ and model.h
    assert blocks("python"), "README.md has no python example"
    for block in blocks("python"):
        exec(compile(block, str(README), "exec"), {})


def test_readme_c_runtime_block_compiles(tmp_path):
    code = [b for b in blocks("c") if "circnn_model_init" in b]
    assert code, "README.md shows no use of the C runtime"
    model = circnn.Model([L.Flatten(), L.Dense(784, 10)], input_shape=(28, 28, 1))
    model.quantize(np.random.default_rng(0).uniform(0, 1, (8, 28, 28, 1))).write_header(tmp_path / "model.h", "fmnist")
    (tmp_path / "use.c").write_text(code[0])
    subprocess.run([os.environ.get("CC", "cc"), "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wconversion",
                    "-I", circnn.get_include(), "-I", str(tmp_path), "-c", str(tmp_path / "use.c"),
                    "-o", str(tmp_path / "use.o")], check=True)


APP = r"""
#include <stdio.h>
#include "circnn/circnn.h"
#include "model.h"

static uint64_t arena[(FMNIST_ARENA_BYTES + 7) / 8];

int main(void)
{
    static int16_t input[FMNIST_INPUT_COUNT], output[FMNIST_OUTPUT_COUNT];
    circnn_model_t model;
    for (unsigned i = 0; i < FMNIST_INPUT_COUNT; i++) input[i] = (int16_t)(i * 37 % 16384);
    if (circnn_model_init(&model, fmnist_blob, FMNIST_BLOB_BYTES, arena, sizeof arena) != CIRCNN_OK) return 1;
    circnn_model_run(&model, input, output, arena);
    for (unsigned i = 0; i < FMNIST_OUTPUT_COUNT; i++) printf("%d ", output[i]);
    printf("\n");
    return 0;
}
"""


def _project(tmp_path):
    """A firmware-like project folder: main.c and an exported model.h; the expected output."""
    model = circnn.Model([L.Flatten(), L.BlockCirculantDense(784, 64, 16), L.ReLU(), L.Dense(64, 10)],
                         input_shape=(28, 28, 1))
    q = model.quantize(np.random.default_rng(0).uniform(0, 1, (16, 28, 28, 1)))
    q.write_header(tmp_path / "model.h", "fmnist")
    (tmp_path / "main.c").write_text(APP)
    x = (np.arange(784) * 37 % 16384).astype(np.int16).reshape(1, 28, 28, 1)
    return " ".join(str(v) for v in q.simulate_raw(x).ravel())


def _package_dir(tmp_path):
    """The installed package's folder (with src/ and include/); for an editable
    install, a folder that links the same two places."""
    pkg = os.path.dirname(circnn.__file__)
    if os.path.isdir(os.path.join(pkg, "src")) and os.path.isdir(os.path.join(pkg, "include")):
        return pkg
    from circnn import firmware
    folder = tmp_path / "circnn-pkg"
    folder.mkdir()
    os.symlink(circnn.get_include(), folder / "include")
    os.symlink(firmware.source_dirs()[0], folder / "src")
    return str(folder)


def test_readme_makefile_fragment_builds_a_working_program(tmp_path):
    expected = _project(tmp_path)
    fragment = blocks("make")[0]
    (tmp_path / "Makefile").write_text(fragment + "\nCFLAGS += -I.\n")
    subprocess.run(["make", "-s", "-j2", "app", f"CIRCNN={_package_dir(tmp_path)}"], cwd=tmp_path, check=True,
                   capture_output=True)
    out = subprocess.run([str(tmp_path / "app")], capture_output=True, text=True, check=True).stdout
    assert out.split() == expected.split()


def test_readme_cmake_snippet_builds_a_working_program(tmp_path):
    expected = _project(tmp_path)
    snippet = blocks("cmake")[0]
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(app C)\nadd_executable(app main.c)\n"
        "target_include_directories(app PRIVATE ${CMAKE_SOURCE_DIR})\n" + snippet)
    build = tmp_path / "build"
    subprocess.run(["cmake", "-S", str(tmp_path), "-B", str(build), f"-DCIRCNN={_package_dir(tmp_path)}"],
                   check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build), "-j2"], check=True, capture_output=True)
    out = subprocess.run([str(build / "app")], capture_output=True, text=True, check=True).stdout
    assert out.split() == expected.split()
