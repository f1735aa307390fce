"""benchmarks/bench_peers.py's published record: the last run of each
network merged into one file in MODELS order, refused when the runs were
trained or measured differently, and read back by `circnn demo`."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))

import bench_peers  # noqa: E402
from circnn import demo  # noqa: E402


def _run(cache, model, recipe="10 epochs", commit="99f736a63036613032f9b70de36b493bcd7802d4", m4f=5_055_697):
    """A per-network record as a run of bench_peers.py leaves it in its cache."""
    targets = {"cortex-m4f": dict(instructions=m4f, flash=70_840, ram=40_000, per_layer=[])}
    engines = [dict(engine="circnn q15", accuracy=0.90, weight_bytes=30_000, targets=targets),
               dict(engine="CMSIS-NN int8", accuracy=0.9139, weight_bytes=55_936, targets=targets)]
    record = dict(recipe=recipe, commits={"CMSIS-NN": commit}, tools="gcc",
                  results=[dict(model=model, float_accuracy=0.91, engines=engines)])
    (cache / f"peers-{model}.json").write_text(json.dumps(record))


def test_publish_merges_the_last_runs_in_models_order(tmp_path):
    _run(tmp_path, "cnn-dense")
    _run(tmp_path, "cnn-k8")
    out = tmp_path / "peers.json"
    bench_peers.publish(str(tmp_path), str(out))
    record = json.loads(out.read_text())
    assert [r["model"] for r in record["results"]] == ["cnn-k8", "cnn-dense"]
    assert record["recipe"] == "10 epochs"
    peer = demo.peer_comparison(str(out))
    assert peer["engine"] == "CMSIS-NN int8" and peer["commit"] == "99f736a6"
    assert peer["targets"]["cortex-m4f"]["instructions"] == 5_055_697


@pytest.mark.parametrize("difference", [dict(recipe="3 epochs"), dict(commit="0" * 40)])
def test_publish_refuses_runs_that_differ(tmp_path, difference):
    _run(tmp_path, "cnn-k8")
    _run(tmp_path, "cnn-dense", **difference)
    out = tmp_path / "peers.json"
    with pytest.raises(SystemExit, match="rerun the networks together"):
        bench_peers.publish(str(tmp_path), str(out))
    assert not out.exists()


def test_publish_says_when_there_is_nothing(tmp_path):
    with pytest.raises(SystemExit, match="nothing to publish"):
        bench_peers.publish(str(tmp_path), str(tmp_path / "peers.json"))


@pytest.mark.parametrize("recipe", ["short", "long"])
def test_training_applies_every_setting_of_the_recipe(tmp_path, monkeypatch, recipe):
    """trained() hands circnn.train.fit the recipe's whole budget: a setting
    dropped on the way (augmentation, label smoothing, weight decay,
    warm-up) would train one engine's network differently from what the
    table says."""
    import numpy as np

    calls = []
    monkeypatch.setattr(bench_peers.train, "fit", lambda model, x, y, **kw: calls.append(kw))
    rec = bench_peers.RECIPES[recipe]
    x = np.zeros((4, 28, 28, 1))
    bench_peers.trained("cnn-k8", ((x, np.zeros(4, int)), None), str(tmp_path), rec)
    (kw,) = calls
    for name in ("epochs", "batch_size", "lr", "schedule", "seed"):
        assert kw[name] == rec[name]
    assert kw["warmup"] == rec.get("warmup", 0.0)
    assert kw["weight_decay"] == rec.get("weight_decay", 0.0)
    assert kw["label_smoothing"] == rec.get("label_smoothing", 0.0)
    if recipe == "short":
        assert kw["augment"] is None
    else:
        # the augmentation moves and mirrors: a lone bright pixel lands elsewhere in some of 32 draws
        img = np.zeros((32, 28, 28, 1), dtype=np.float32)
        img[:, 5, 3] = 1.0
        out = kw["augment"](img, np.random.default_rng(1))
        assert out.shape == img.shape and out.sum() == 32.0
        cols = np.argwhere(out[..., 0] == 1.0)[:, 2]
        assert (np.abs(np.argwhere(out[..., 0] == 1.0)[:, 1] - 5) <= rec["shift"]).all()
        assert (cols > 3 + rec["shift"]).any()   # mirrored: column 24 - shift .. 24 + shift
    text = bench_peers.recipe_text(rec)
    assert f"{rec['epochs']} epochs" in text and ("mirror" in text) == bool(rec.get("flip"))


def test_layer_table_sums_the_calls_a_fused_layer_stands_for():
    """circnn's conv2d with its max pool fused is one layer; CMSIS-NN's
    convolution and max pool are two calls, summed into its row; flatten has
    no CMSIS-NN call."""
    def engine(name, layers, m4f, m0):
        return dict(engine=name, layers=layers, targets={
            "cortex-m4f": dict(instructions=sum(m4f), per_layer=m4f),
            "cortex-m0plus": dict(instructions=sum(m0), per_layer=m0)})
    r = dict(model="net", engines=[
        engine("circnn q15", ["conv2d+relu+maxpool2d", "conv2d+relu", "flatten", "dense"], [500, 300, 7, 40],
               [900, 800, 9, 60]),
        engine("CMSIS-NN int8", ["conv", "pool", "conv", "fc"], [400, 150, 350, 30], [1000, 200, 700, 50])])
    rows = bench_peers.layer_table(r).splitlines()[2:]
    assert rows[0] == "| 0 conv2d+relu+maxpool2d | 500 | 550 | 900 | 1,200 |"
    assert rows[1] == "| 1 conv2d+relu | 300 | 350 | 800 | 700 |"
    assert rows[2] == "| 2 flatten | 7 | - | 9 | - |"
    assert rows[3] == "| 3 dense | 40 | 30 | 60 | 50 |"
