"""The examples in README.md work as written: Python blocks run, the C runtime block compiles."""
import os
import pathlib
import re
import subprocess

import numpy as np

import circnn
from circnn import layers as L

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


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
