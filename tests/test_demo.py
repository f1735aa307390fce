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
    # benchmarks/peers.json ships too: the comparison with the dense CNN in int8 is printed
    assert s["peer"]["engine"] == "CMSIS-NN int8" and s["peer"]["targets"]["cortex-m4f"]["instructions"] > 0
    assert "the same CNN dense in int8 through CMSIS-NN" in r.stdout


def _peer_record(tmp_path):
    """A peers.json as benchmarks/bench_peers.py writes it, with made-up figures."""
    targets = {"cortex-m4f": dict(board="mps2-an386", status="passed", instructions=5_000_000, flash=70_000,
                                  ram=33_000, stack=16384, arena=16_000, per_layer=[])}
    engines = [dict(engine="circnn q15", accuracy=0.9, weight_bytes=110_000, layers=[], targets=targets),
               dict(engine="CMSIS-NN int8", accuracy=0.9139, weight_bytes=55_936, layers=[], targets=targets)]
    record = dict(recipe="10 epochs", commits={"CMSIS-NN": "99f736a63036613032f9b70de36b493bcd7802d4"},
                  results=[dict(model="cnn-k8", float_accuracy=0.9, engines=engines[:1]),
                           dict(model="cnn-dense", float_accuracy=0.915, engines=engines)])
    path = tmp_path / "peers.json"
    path.write_text(json.dumps(record))
    return path


def test_the_summary_compares_with_the_dense_cnn_in_int8(tmp_path):
    from circnn import demo
    peer = demo.peer_comparison(str(_peer_record(tmp_path)))
    assert peer["engine"] == "CMSIS-NN int8" and peer["commit"] == "99f736a6" and peer["weight_bytes"] == 55_936
    summary = dict(peer=peer, blob_bytes=69_768,
                   firmware={"cortex-m4f": dict(instructions=2_000_000, flash_without_tests=35_000)})
    text = "\n".join(demo._peer_lines(summary))
    assert "91.39%" in text and "5,000,000" in text and "0.40x" in text and "0.50x" in text


def test_the_summary_says_when_there_are_no_peer_figures(tmp_path):
    from circnn import demo
    assert demo.peer_comparison(str(tmp_path / "absent.json")) is None
    text = "\n".join(demo._peer_lines(dict(peer=None)))
    assert "no figures here" in text and "bench_peers.py" in text
