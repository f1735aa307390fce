"""benchmarks/flash_breakdown.py reads a firmware's map file right: the
objects it attributes add up to the flash `circnn firmware build` reports
(without the blob and the test vectors), the runtime's objects are the
library's, the harness's are the runner's."""
import os
import sys

import numpy as np
import pytest

import circnn
from circnn import firmware
from circnn import layers as L

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))

import flash_breakdown  # noqa: E402

pytestmark = [pytest.mark.usefixtures("cortex_m_tools"), pytest.mark.firmware]


@pytest.mark.parametrize("target", ["cortex-m4f", "cortex-m0plus"])
def test_breakdown_adds_up_to_the_reported_flash(target, tmp_path):
    rng = np.random.default_rng(0)
    model = circnn.Model([L.Conv2d(1, 4, 3, seed=rng), L.ReLU(), L.MaxPool2d(2),
                          L.BlockCirculantConv2d(4, 8, 3, 4, seed=rng), L.ReLU(), L.Flatten(),
                          L.Dense(200, 10, seed=rng)], input_shape=(10, 10, 1))
    q = model.quantize(rng.uniform(0, 1, (16, 10, 10, 1)))
    record = firmware.build(q, target, str(tmp_path), count=2)
    mem = record["memory"]
    b = flash_breakdown.breakdown(str(tmp_path / record["elf"]), str(tmp_path / "runner.map"))
    assert b["blob"] == len(q.blob) and b["vectors"] == mem["test_vectors"]
    # the runner's per-layer copy of the loop, its static helpers included, is what build() leaves out
    assert b["layer_copy"] == mem["flash"] - mem["test_vectors"] - mem["flash_without_tests"] > 500
    code = mem["flash_without_tests"] - mem["blob"]
    counted = sum(b["groups"].values())
    assert code - 64 <= counted <= code, (counted, code)      # alignment padding is not in any object
    assert {"runtime", "harness"} <= set(b["groups"]) and b["groups"]["runtime"] > b["groups"]["harness"]
    assert "bc_conv2d_q15.o" in b["objects"] and "runner-0-runner.o" in b["objects"]
    assert flash_breakdown.group_of("/x/runner-3-startup.o") == "harness"
    assert flash_breakdown.group_of("/usr/lib/libc_nano.a(lib_a-memcpy.o)") == "libc"
    assert flash_breakdown.group_of("/usr/lib/libgcc.a(_udivsi3.o)") == "libgcc"
    names = [name for _, _, name in flash_breakdown.top_symbols(str(tmp_path / record["elf"]), 10)]
    # the block-circulant kernel's body (its rows, shared with the fused-pool entry) among the largest
    assert "model_blob" not in names and {"circnn_bc_conv2d_q15", "output_rows_q15"} & set(names)
