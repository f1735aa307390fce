"""Fuzz circnn_model_init + circnn_model_run with libFuzzer under ASan and UBSan.

Runs for CIRCNN_FUZZ_SECONDS (default 30) from a corpus of real exported
models, with the structure-aware mutator of tests/fuzz/fuzz_common.h; any
finding fails.  Needs clang with libFuzzer (Debian: clang,
libclang-rt-14-dev; .ci/setup installs them).
"""
import os
import shutil
import subprocess

import pytest

import circnn
from model_zoo import cnn, images, mlp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def clang():
    for name in ("clang", "clang-16", "clang-15", "clang-14"):
        if shutil.which(name):
            return name
    raise AssertionError("clang is needed to fuzz the runtime: sudo apt-get install clang libclang-rt-14-dev")


@pytest.mark.slow
def test_runtime_survives_fuzzing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, build in enumerate((cnn, mlp)):
        model = build()
        (corpus / f"q15_{i}").write_bytes(model.quantize(images(model)).blob)
        (corpus / f"f32_{i}").write_bytes(model.to_f32().blob)
    for name in os.listdir(os.path.join(ROOT, "tests", "compat")):    # every layer kind
        if name.endswith(".circ"):
            shutil.copy(os.path.join(ROOT, "tests", "compat", name), corpus / name)
    src = os.path.join(ROOT, "src")
    sources = sorted(os.path.join(src, f) for f in os.listdir(src) if f.endswith(".c"))
    exe = tmp_path / "fuzz_model"
    build = subprocess.run(
        [clang(), "-g", "-O1", "-std=c99", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
         "-I", circnn.get_include(), "-I", src, os.path.join(ROOT, "tests", "fuzz", "fuzz_model.c"), *sources,
         "-lm", "-o", str(exe)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    seconds = int(os.environ.get("CIRCNN_FUZZ_SECONDS", "30"))
    run = subprocess.run([str(exe), str(corpus), f"-max_total_time={seconds}", "-max_len=16384", "-timeout=20",
                          "-rss_limit_mb=1024", "-print_final_stats=1"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=seconds + 120)
    tail = run.stderr[-3000:]
    assert run.returncode == 0, tail
    assert "Done" in run.stderr and "stat::number_of_executed_units" in run.stderr, tail
    executed = int(run.stderr.split("stat::number_of_executed_units:")[1].split()[0])
    assert executed > 1000, tail
