"""The circnn command: info, export, verify, and its errors."""
import gzip
import re
import subprocess
import sys

import numpy as np
import pytest

import circnn
from circnn import layers as L


def run(*args):
    return subprocess.run([sys.executable, "-m", "circnn", *args], capture_output=True, text=True)


def fmnist_model(seed=0):
    rng = np.random.default_rng(seed)
    return circnn.Model([L.Flatten(), L.BlockCirculantDense(784, 128, 16, seed=rng), L.ReLU(),
                         L.Dense(128, 10, seed=rng)], input_shape=(28, 28, 1))


def test_info_and_export(tmp_path):
    model = fmnist_model()
    q = model.quantize(np.random.default_rng(1).uniform(0, 1, (64, 28, 28, 1)))
    path = tmp_path / "m.circ"
    q.save(path)
    r = run("info", str(path))
    assert r.returncode == 0, r.stderr
    assert "bc_dense+relu" in r.stdout and "1x1x784" in r.stdout
    assert f"{len(q.blob)} bytes" in r.stdout and f"{q.arena_bytes} bytes" in r.stdout
    params = 8 * 49 * 16 + 128 * 10            # p * q * k + the dense layer; zero biases are not stored
    assert int(re.search(r"^parameters\s+(\d+)", r.stdout, re.M).group(1)) == params
    dense = 784 * 128 + 128 * 10
    assert f"compression {dense / params:.1f}x" in r.stdout
    r = run("export", str(path), "-o", str(tmp_path / "fm.h"), "--name", "fm")
    assert r.returncode == 0, r.stderr
    assert "fm_blob[FM_BLOB_BYTES]" in (tmp_path / "fm.h").read_text()


def write_idx(folder, images, labels):
    folder.mkdir()
    n, h, w = images.shape
    for split in ("train", "t10k"):
        with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(np.array([0x803, n, h, w], dtype=">u4").tobytes() + images.astype(np.uint8).tobytes())
        with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(np.array([0x801, n], dtype=">u4").tobytes() + labels.astype(np.uint8).tobytes())


@pytest.mark.dataset
def test_verify_on_fashion_mnist_and_on_an_idx_folder(tmp_path):
    model = fmnist_model()
    q = model.quantize(np.random.default_rng(1).uniform(0, 1, (64, 28, 28, 1)))
    path = tmp_path / "m.circ"
    q.save(path)
    r = run("verify", str(path), "--data", "fashion-mnist", "--limit", "300", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "300 samples" in r.stdout
    assert "outputs where simulator and C differ: 0" in r.stdout
    # a folder of IDX files where the label is what the model predicts: 100 %
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (40, 28, 28))
    labels = circnn.Engine(q).run(images[..., None] / 255.0).argmax(axis=1)
    write_idx(tmp_path / "idx", images, labels)
    r = run("verify", str(path), "--data", str(tmp_path / "idx"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "accuracy, C engine            100.00 %" in r.stdout
    assert "accuracy, numpy simulator     100.00 %" in r.stdout


def test_cli_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.circ"
    bad.write_bytes(b"hello world" * 10)
    r = run("info", str(bad))
    assert r.returncode == 2 and "not a circnn model" in r.stderr
    r = run("info", str(tmp_path / "missing.circ"))
    assert r.returncode == 2 and "no model file" in r.stderr
    q = fmnist_model().to_f32()
    q.save(tmp_path / "m.circ")
    r = run("verify", str(tmp_path / "m.circ"), "--data", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "nowhere: missing train-images-idx3-ubyte" in r.stderr
    r = run("export", str(tmp_path / "m.circ"), "--name", "1bad")
    assert r.returncode == 2 and "C identifier" in r.stderr


def test_an_export_error_is_one_line_from_the_cli(tmp_path, monkeypatch, capsys):
    # circnn train on a network whose activations are around 1e-40: the q15 scale
    # does not fit the blob, and the CLI says so in one line (it was a struct.error).
    from circnn import cli, presets

    def tiny(block_size=None, seed=0):
        w = np.random.default_rng(seed).standard_normal((10, 784)) * 1e-42
        return circnn.Model([L.Flatten(), L.Dense(784, 10, weight=w)], input_shape=(28, 28, 1))

    monkeypatch.setitem(presets.ARCHITECTURES, "mlp", tiny)
    rng = np.random.default_rng(3)
    write_idx(tmp_path / "idx", rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 10, 20))
    code = cli.main(["train", "--arch", "mlp", "--epochs", "0", "--data", str(tmp_path / "idx"), "--quiet",
                     "-o", str(tmp_path / "m.circ")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("circnn train: layer 1 (Dense(784 -> 10)): output scale exponent")
    assert "does not fit the blob" in err and not (tmp_path / "m.circ").exists()
