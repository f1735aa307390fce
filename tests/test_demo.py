"""The main job end to end in its smoke profile: train, quantize, export, verify,
run on emulated Cortex-M4F and M0+, summary and pictures; the figures agree."""
import json
import subprocess
import sys

import pytest

import circnn


def arm_size(elf):
    """text, data, bss of an ELF from arm-none-eabi-size (Berkeley format)."""
    out = subprocess.run(["arm-none-eabi-size", elf], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    return text, data, bss


@pytest.mark.slow
@pytest.mark.firmware
@pytest.mark.dataset
def test_demo_smoke_end_to_end(tmp_path):
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "circnn", "demo", "--profile", "smoke", "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    with open(out / "summary.json") as f:
        s = json.load(f)
    # host verification
    assert s["mismatches"] == 0
    assert s["float_accuracy"] > 0.5 and s["q15_accuracy"] > 0.5          # chance is 0.1
    assert abs(s["q15_accuracy"] - s["float_accuracy"]) < 0.03
    # the exported files are what the summary says
    q = circnn.load(s["model"])
    assert len(q.blob) == s["blob_bytes"] and q.arena_bytes == s["arena_bytes"]
    assert s["parameters"] < s["dense_parameters"] and s["blob_bytes"] < s["dense_blob_bytes"]
    assert "fmnist_blob" in open(s["header"]).read()
    # firmware on both cores: bit-exact, counted, and flash as arm-none-eabi-size reports it
    assert set(s["firmware"]) == {"cortex-m4f", "cortex-m0plus"}
    for target, fw in s["firmware"].items():
        assert fw["status"] == "passed" and fw["failed"] == 0, target
        assert fw["instructions"] > 100_000
        text, data, bss = arm_size(fw["elf"])
        assert fw["flash"] == text + data, target          # Berkeley text = .text + .rodata + vectors
        assert fw["flash"] > s["blob_bytes"]
    assert s["firmware"]["cortex-m0plus"]["instructions"] > s["firmware"]["cortex-m4f"]["instructions"]
    # the summary table and the pictures
    assert "outputs C engine != simulator" in r.stdout and "cortex-m4f instructions/inference" in r.stdout
    for path in s["pictures"]:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert any(p.endswith("layer_budget.png") for p in s["pictures"])
    # benchmarks/accuracy.json ships with the package: the picture is drawn from a regular install too
    assert any(p.endswith("accuracy_vs_block_size.png") for p in s["pictures"]), s["skipped"]
    assert not any("matplotlib" in item for item in s["skipped"])
