"""The firmware on emulated Cortex-M cores (QEMU): every output bit for bit.

A q15 and an f32 model are cross-built with arm-none-eabi-gcc for M0+ (on
the micro:bit board), M3, M4F, M7 and M33 (f32 on the FPU cores), run on
QEMU, and every output is compared inside the firmware with the expected
bits: for q15 the simulator's, which the host C engine matches too (checked
here); for f32 the host C engine's.  A fault, a hang or a wrong output must
make circnn firmware run fail.  Without the toolchain or QEMU these tests
fail with the install line (they never skip): the Cortex-M targets are part
of what circnn promises.
"""
import json
import os
import sys

import numpy as np
import pytest

import circnn
from circnn import blob as B, cli, firmware
from circnn import layers as L
from model_zoo import cnn, images, mlp

ALL_TARGETS = ["cortex-m0plus", "cortex-m3", "cortex-m4f", "cortex-m7", "cortex-m33"]
FPU_TARGETS = ["cortex-m4f", "cortex-m7", "cortex-m33"]


# conftest.py: fail, never skip; the firmware tier (pyproject.toml)
pytestmark = [pytest.mark.usefixtures("cortex_m_tools"), pytest.mark.firmware]


@pytest.fixture(scope="module")
def models():
    m = mlp(seed=4)
    x = images(m, 64)
    c = cnn(seed=5)
    return {"q15": m.quantize(x), "f32": m.to_f32(), "cnn-q15": c.quantize(images(c, 64)),
            "cnn-f32": c.to_f32()}


def build_and_run(model, target, out, **kw):
    record = firmware.build(model, target, str(out), **kw)
    return record, firmware.run(str(out), timeout=60)


def assert_passed(result, vectors=8):
    assert result["status"] == "passed", result["console"]
    assert result["exit_status"] == 0
    assert (result["passed"], result["failed"]) == (vectors + 1, 0)
    ins = result["instructions"]
    assert len(ins["per_inference"]) == vectors and all(c > 100 for c in ins["per_inference"])
    assert len(ins["per_layer"]) >= 1 and all(row["instructions"] > 0 for row in ins["per_layer"])
    # the layers are inside the inference
    assert sum(row["instructions"] for row in ins["per_layer"]) < max(ins["per_inference"])


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_q15_model_bit_exact_on_every_core(models, target, tmp_path):
    q = models["q15"]
    record, result = build_and_run(q, target, tmp_path)
    assert record["board"] == firmware.TARGETS[target]["board"]      # M0+: the micro:bit (16 KB RAM)
    assert_passed(result)
    # The expected bits are the simulator's, and the host C engine agrees.
    x = firmware.default_inputs(q)
    xq = q.quantize_input(x)
    np.testing.assert_array_equal(q.simulate_raw(xq), circnn.Engine(q).run_raw(xq))


@pytest.mark.parametrize("target", FPU_TARGETS)
def test_f32_model_bit_exact_on_fpu_cores(models, target, tmp_path):
    record, result = build_and_run(models["f32"], target, tmp_path)
    assert record["dtype"] == "f32" and record["note"] is None
    assert_passed(result)


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m4f"])
def test_cnn_with_every_layer_kind(models, target, tmp_path):
    """Conv, block-circulant conv (the DSP path on M4F), pools, dense."""
    record, result = build_and_run(models["cnn-q15"], target, tmp_path / "q15")
    assert_passed(result)
    assert [r["layer"] for r in result["instructions"]["per_layer"]] == record["layers"]
    if target in FPU_TARGETS:
        assert_passed(build_and_run(models["cnn-f32"], target, tmp_path / "f32")[1])


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m4f"])
@pytest.mark.parametrize("arch", ["cnn", "depthwise"])
def test_8bit_weights_model_bit_exact(target, arch, tmp_path):
    """8-bit weights (format 4) in every layer with weights: conv2d, dense,
    bc_conv2d and bc_dense (cnn), depthwise_conv2d and the 1x1 bc_conv2d
    (depthwise): the runtime widens them to w8 * 256 on the core (then the
    DSP paths on M4F); the simulator's bits (it runs the int16 weights
    w8 * 256), which the host C engine matches."""
    from test_depthwise import ds_model
    c = cnn(seed=5) if arch == "cnn" else ds_model(seed=6)
    q = c.quantize(images(c, 64), weight_bits=8)
    weighted = [op for op in q.ops if op.weight is not None]
    # format 4 for the 8-bit weights, 7 for the 8-bit dense head of 10 rows (its scratch: 4 rows), 8 for
    # the bc_conv2d after the first layer (its spectra over its input)
    assert q.version == B.OVER_INPUT_VERSION and all(op.weight_bits == 8 for op in weighted)
    assert {B.CONV2D, B.DENSE} <= {op.type for op in weighted} if arch == "cnn" else \
        B.DEPTHWISE_CONV2D in {op.type for op in weighted}
    record, result = build_and_run(q, target, tmp_path)
    assert_passed(result)
    assert [r["layer"] for r in result["instructions"]["per_layer"]] == record["layers"]
    assert "-DCIRCNN_WITH_WEIGHT8=0" not in record["config"]
    xq = q.quantize_input(firmware.default_inputs(q))
    np.testing.assert_array_equal(q.simulate_raw(xq), circnn.Engine(q).run_raw(xq))


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m4f"])
def test_depthwise_separable_model_bit_exact(target, tmp_path):
    """Depthwise conv2d (format version 2) through the model runtime on the core:
    q15 against the simulator's bits (the host C engine agrees), f32 on the FPU core."""
    from test_depthwise import ds_model
    m = ds_model(seed=6)
    q = m.quantize(images(m, 64))
    record, result = build_and_run(q, target, tmp_path / "q15")
    assert_passed(result)
    assert [r["layer"] for r in result["instructions"]["per_layer"]] == record["layers"]
    assert record["layers"].count("depthwise_conv2d+relu") == 2
    xq = q.quantize_input(firmware.default_inputs(q))
    np.testing.assert_array_equal(q.simulate_raw(xq), circnn.Engine(q).run_raw(xq))
    if target in FPU_TARGETS:
        assert_passed(build_and_run(m.to_f32(), target, tmp_path / "f32")[1])


def test_firmware_links_only_the_kernels_its_model_needs(models, tmp_path):
    """circnn.firmware.build compiles the runtime with the model's numeric type
    and layer kinds alone (circnn/config.h): the other kernels are not in the
    ELF, and the firmware is smaller than one with the whole runtime."""
    from circnn import header
    q = models["q15"]                        # mlp: flatten, bc_dense(+relu), dense
    record, result = build_and_run(q, "cortex-m4f", tmp_path / "model")
    assert_passed(result)
    assert record["config"] == header.config_flags(q)
    assert "-DCIRCNN_WITH_F32=0" in record["config"] and "-DCIRCNN_WITH_DENSE=0" not in record["config"]
    names = set(firmware.symbols(str(tmp_path / "model" / "runner.elf")))
    for present in ("circnn_bc_dense_q15", "circnn_dense_q15", "circnn_rfft_q15", "circnn_model_init"):
        assert present in names
    ours = {n for n in names if n.startswith("circnn_")}
    absent = {n for n in ours if n.endswith("_f32") or "conv2d" in n or "pool" in n or "argmax" in n}
    assert not absent, sorted(absent)
    # the same runner with every option in: the f32 and conv kernels come back
    fw = os.path.join(firmware.source_dirs()[1], "firmware")
    src = firmware.source_dirs()[0]
    elf, _ = firmware.build_program("cortex-m4f", str(tmp_path / "model"), [
        (os.path.join(fw, "runner.c"), []),
        (os.path.join(src, "model_run.c"), ["-include", os.path.join(fw, "layer_hooks.h")])], "everything")
    full = set(firmware.symbols(elf))
    assert {"circnn_bc_dense_f32", "circnn_conv2d_q15", "circnn_depthwise_conv2d_q15"} <= full
    flash = firmware.memory_report(elf, q, 0)["flash"]
    assert record["memory"]["flash"] < flash - 8000, (record["memory"]["flash"], flash)


def small_cnn(conv_k, dense_k, seed=8):
    """A block-circulant convolution of k = conv_k and a block-circulant
    dense layer of k = dense_k."""
    rng = np.random.default_rng(seed)
    return circnn.Model([L.Conv2d(1, 8, 3, seed=rng), L.ReLU(), L.MaxPool2d(2),
                         L.BlockCirculantConv2d(8, 16, 3, conv_k, stride=2, padding="same", seed=rng), L.ReLU(),
                         L.Flatten(),
                         L.BlockCirculantDense(144, 24, dense_k, seed=rng), L.ReLU(),
                         L.Dense(24, 10, seed=rng)], input_shape=(10, 10, 1))


# the general q15 transforms: the DSP variant, the portable loops (static,
# named in the ELF unless inlined) and the q15 twiddle table
GENERAL_FFT = ("circnn_rfft_q15_dsp", "circnn_irfft_q15_dsp", "complex_fft", "radix4_stage", "radix2_stage",
               "split_forward", "split_inverse", "bit_reverse", "circnn_twiddle_pairs_q15")


@pytest.mark.parametrize("sizes", [(4, 4), (8, 8), (4, 8), (4, 16)])
@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m4f"])
def test_straight_line_block_sizes_link_no_general_fft(sizes, target, tmp_path):
    """A model whose block sizes are {4}, {8} or {4, 8} runs bit for bit with
    the runtime built for its sizes alone, and its firmware holds none of the
    general q15 FFT (fft_q15.c writes n = 4 and 8 out); with k = 16 beside 4
    the general transforms are linked (so the check can fail)."""
    from circnn import header
    model = small_cnn(*sizes)
    q = model.quantize(images(model, 64))
    record, result = build_and_run(q, target, tmp_path)
    assert_passed(result)
    assert f"-DCIRCNN_FFT_SIZES={sizes[0] | sizes[1]}" in record["config"] == header.config_flags(q)
    xq = q.quantize_input(firmware.default_inputs(q))
    np.testing.assert_array_equal(q.simulate_raw(xq), circnn.Engine(q).run_raw(xq))
    names = set(firmware.symbols(str(tmp_path / record["elf"])))
    # (the runtime calls the block-circulant convolution through its model entry, bc_conv2d_common.h)
    assert {"circnn_rfft_q15", "circnn_irfft_q15", "circnn_bc_conv2d_q15_model", "circnn_bc_dense_q15"} <= names
    linked = sorted(names.intersection(GENERAL_FFT))
    if 16 in sizes:
        assert "circnn_twiddle_pairs_q15" in linked and (target == "cortex-m0plus" or "circnn_rfft_q15_dsp" in linked)
    else:
        assert not linked, linked


def test_counts_repeat_exactly(models, tmp_path):
    firmware.build(models["q15"], "cortex-m4f", str(tmp_path))
    a = firmware.run(str(tmp_path))["instructions"]
    b = firmware.run(str(tmp_path))["instructions"]
    assert a["per_inference"] == b["per_inference"] and a["per_layer"] == b["per_layer"]
    assert a["marker_overhead"] is not None and a["marker_overhead"] <= 8


def test_memory_report(models, tmp_path):
    q = models["q15"]
    record = firmware.build(q, "cortex-m0plus", str(tmp_path))
    mem = record["memory"]
    assert mem["blob"] == len(q.blob) and mem["arena"] == q.arena_bytes
    assert mem["flash"] == mem["text"] + mem["rodata"] + mem["data"]
    assert mem["ram"] == mem["data"] + mem["bss"] + mem["stack"] <= 16 * 1024
    assert mem["bss"] >= mem["arena"] and mem["rodata"] >= mem["blob"] + mem["test_vectors"]


def test_wrong_output_fails(models, tmp_path):
    firmware.build(models["q15"], "cortex-m3", str(tmp_path))
    path = tmp_path / "vectors.h"
    text = path.read_text()
    head, tail = text.split("vectors_expected", 1)
    first = tail.index("0x")
    value = int(tail[first:first + 6], 16)
    path.write_text(head + "vectors_expected" + tail[:first] + f"0x{value ^ 1:04x}" + tail[first + 6:])
    # rebuild the runner from the edited header
    src, targets = firmware.source_dirs()
    fw = os.path.join(targets, "firmware")
    firmware.build_program("cortex-m3", str(tmp_path), [
        (os.path.join(fw, "runner.c"), []),
        (os.path.join(src, "model_run.c"), ["-include", os.path.join(fw, "layer_hooks.h")])], "runner")
    result = firmware.run(str(tmp_path))
    assert result["status"] == "mismatch" and result["exit_status"] == 1
    assert result["failed"] == 2     # vector 0 and the per-layer run of vector 0
    assert "MISMATCH inference vector 0 output 0" in result["console"]
    assert cli.main(["firmware", "run", str(tmp_path)]) == 1


def _replace_runner(tmp_path, target, body):
    """Swap the built runner for a program with this main() body."""
    source = tmp_path / "bad.c"
    source.write_text('#include <stdint.h>\n#include "markers.h"\nint main(void)\n{\n' + body + "\n}\n")
    firmware.build_program(target, str(tmp_path), [(str(source), [])], "runner")


FAULTS = {
    "bad address": "    *(volatile uint32_t *)0xfffffff0u = 1u;   /* no memory there */",
    "undefined instruction": "    __builtin_trap();",
}


@pytest.mark.parametrize("target, fault", [("cortex-m4f", "bad address"), ("cortex-m0plus", "undefined instruction")])
def test_fault_fails(models, target, fault, tmp_path):
    firmware.build(models["q15"], target, str(tmp_path))
    _replace_runner(tmp_path, target, "    circnn_mark_inference_begin();\n" + FAULTS[fault] + "\n    return 0;")
    result = firmware.run(str(tmp_path))
    assert result["status"] == "fault" and result["exit_status"] == 127, result["console"]
    assert "FAULT exception" in result["console"]
    assert cli.main(["firmware", "run", str(tmp_path)]) == 1


def test_no_sentinel_fails(models, tmp_path):
    """A program that exits 0 without the sentinel line is not a pass."""
    firmware.build(models["q15"], "cortex-m3", str(tmp_path))
    _replace_runner(tmp_path, "cortex-m3", "    return 0;")
    result = firmware.run(str(tmp_path))
    assert result["status"] == "error" and result["exit_status"] == 0
    assert cli.main(["firmware", "run", str(tmp_path)]) == 1


def test_hang_fails(models, tmp_path):
    firmware.build(models["q15"], "cortex-m3", str(tmp_path))
    _replace_runner(tmp_path, "cortex-m3", "    for (;;) circnn_mark_inference_begin();")
    result = firmware.run(str(tmp_path), timeout=3)
    assert result["status"] == "hang" and result["exit_status"] is None
    assert cli.main(["firmware", "run", str(tmp_path), "--timeout", "3"]) == 1


def test_cli_build_and_run_json(models, tmp_path, capsys):
    model_path = tmp_path / "m.circ"
    models["q15"].save(str(model_path))
    out = tmp_path / "fw"
    assert cli.main(["firmware", "build", str(model_path), "--target", "cortex-m33", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "flash" in text and "RAM" in text and "mps2-an505" in text
    assert cli.main(["firmware", "run", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["target"] == "cortex-m33" and result["passed"] == 9 and result["failed"] == 0
    assert len(result["instructions"]["per_inference"]) == 8
    assert [r["layer"] for r in result["instructions"]["per_layer"]] == ["flatten", "bc_dense+relu", "dense"]


@pytest.mark.dataset
def test_cli_verify_on_target(tmp_path, capsys):
    """`circnn verify --target`: host checks on Fashion-MNIST samples, then
    the same samples on QEMU."""
    from circnn import datasets
    try:
        _, (x, _) = datasets.fashion_mnist(limit=64)
    except FileNotFoundError as exc:
        pytest.fail(f"Fashion-MNIST is needed (apt-get install dataset-fashion-mnist): {exc}")
    rng = np.random.default_rng(0)
    model = circnn.Model([L.Flatten(), L.BlockCirculantDense(784, 64, 16, seed=rng), L.ReLU(),
                          L.Dense(64, 10, seed=rng)], input_shape=x.shape[1:])
    path = tmp_path / "fm.circ"
    model.quantize(x).save(str(path))
    code = cli.main(["verify", str(path), "--limit", "32", "--quiet", "--target", "cortex-m4f",
                     "--vectors", "4", "-o", str(tmp_path / "fw")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "outputs where simulator and C differ: 0" in out
    assert "cortex-m4f on QEMU mps2-an386 (q15): passed, 5 passed, 0 failed" in out


def test_missing_toolchain_names_the_packages(monkeypatch, models, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))        # nothing on PATH
    monkeypatch.setattr(sys, "executable", sys.executable)
    with pytest.raises(firmware.ToolchainMissing, match="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"):
        firmware.build(models["q15"], "cortex-m4f", str(tmp_path / "fw"))
    path = tmp_path / "m.circ"
    models["q15"].save(str(path))
    assert cli.main(["firmware", "build", str(path), "--target", "cortex-m4f", "-o", str(tmp_path / "fw")]) != 0
    assert "apt-get install" in capsys.readouterr().err
