"""`circnn demo`: the main job end to end.

Train a block-circulant CNN on Fashion-MNIST with the FFT-based trainer,
quantize it to q15, export the .circ blob and the firmware header, verify on
the host (float and q15 accuracy, C engine against the simulator), cross-build
the firmware for Cortex-M4F and Cortex-M0+, run it on QEMU, and print one
summary table; pictures (matplotlib) when it is installed.
"""
import json
import os
import time

import numpy as np

from tqdm import tqdm

from . import datasets, train
from .nn import presets
from .native.engine import Engine

PROFILES = {
    # quick: a few minutes on a 2-core machine
    "quick": dict(train_samples=12000, epochs=2, batch_size=64, lr=2e-3, test_samples=None, simulator_samples=2000),
    # full: the whole training set, the reference settings of docs/ANCHORS.md
    "full": dict(train_samples=None, epochs=10, batch_size=128, lr=1e-3, test_samples=None, simulator_samples=None),
    # smoke: the pipeline in seconds, for the tests
    "smoke": dict(train_samples=1500, epochs=1, batch_size=64, lr=2e-3, test_samples=1000, simulator_samples=500),
}
TARGETS = ("cortex-m4f", "cortex-m0plus")
CALIBRATION_SAMPLES = 500


def _say(progress, text):
    if progress:
        print(text, flush=True)


def benchmark_file(name):
    """benchmarks/<name>: the checkout's (source tree, editable install) or the
    copy installed with the package (circnn/benchmarks); None when neither is there."""
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in (os.path.join(os.path.dirname(os.path.dirname(here)), "benchmarks"),
                   os.path.join(here, "benchmarks")):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def _accuracy_results(path=None):
    """The accuracy-against-block-size rows of benchmarks/accuracy.py, if found."""
    path = path or benchmark_file("accuracy.json")
    if path and os.path.isfile(path):
        with open(path) as f:
            return json.load(f), path
    return None, None


#: The network of benchmarks/bench_peers.py that is the demo's CNN dense, and its int8 engine.
PEER_NETWORK, PEER_ENGINE = "cnn-dense", "CMSIS-NN int8"


def peer_comparison(path=None):
    """The demo's CNN dense in int8 through CMSIS-NN, as benchmarks/bench_peers.py
    measured it (benchmarks/peers.json), or None when those figures are not there."""
    path = path or benchmark_file("peers.json")
    if not path or not os.path.isfile(path):
        return None
    with open(path) as f:
        record = json.load(f)
    for network in record["results"]:
        if network["model"] != PEER_NETWORK:
            continue
        for engine in network["engines"]:
            if engine["engine"] == PEER_ENGINE:
                return dict(engine=engine["engine"], commit=record["commits"]["CMSIS-NN"][:8],
                            recipe=record["recipe"], accuracy=engine["accuracy"],
                            weight_bytes=engine["weight_bytes"],
                            targets={t: dict(instructions=v["instructions"], flash=v["flash"], ram=v["ram"])
                                     for t, v in engine["targets"].items()})
    return None


def run(out_dir="circnn-demo", profile="quick", block_size=8, targets=TARGETS, seed=0, progress=True,
        plots=True, accuracy_results=None):
    """Run the demo; returns the summary dict (also written to out_dir/summary.json)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    settings = PROFILES[profile]
    os.makedirs(out_dir, exist_ok=True)
    summary = dict(profile=profile, block_size=block_size, seed=seed, skipped=[], steps={})
    started = time.time()

    _say(progress, f"[1/6] Fashion-MNIST (profile {profile!r})")
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist()   # missing: DataSetMissing says how to install
    if settings["train_samples"]:
        x_train, y_train = x_train[:settings["train_samples"]], y_train[:settings["train_samples"]]
    if settings["test_samples"]:
        x_test, y_test = x_test[:settings["test_samples"]], y_test[:settings["test_samples"]]
    summary.update(train_samples=len(x_train), test_samples=len(x_test))

    _say(progress, f"[2/6] training the block-circulant CNN (k = {block_size}) with the FFT-based trainer: "
                   f"{len(x_train)} images, {settings['epochs']} epochs")
    model = presets.cnn(block_size=block_size, seed=seed)
    t0 = time.time()
    train.fit(model, x_train, y_train, epochs=settings["epochs"], batch_size=settings["batch_size"],
              lr=settings["lr"], seed=seed, schedule="cosine", progress=progress)
    summary["steps"]["train_seconds"] = round(time.time() - t0, 1)

    _say(progress, "[3/6] quantizing to q15 and exporting")
    calibration = x_train[np.random.default_rng(seed).permutation(len(x_train))[:CALIBRATION_SAMPLES]]
    q = model.quantize(calibration)
    blob_path, header_path = os.path.join(out_dir, "model.circ"), os.path.join(out_dir, "model.h")
    q.save(blob_path)
    q.write_header(header_path, name="fmnist")
    dense = presets.cnn(block_size=None, seed=seed)
    dense_q = dense.quantize(calibration[:16])      # the same shape with dense weights: its exact blob size
    summary.update(
        model=os.path.abspath(blob_path), header=os.path.abspath(header_path),
        parameters=int(model.parameter_count()), dense_parameters=int(dense.parameter_count()),
        blob_bytes=len(q.blob), dense_blob_bytes=len(dense_q.blob), arena_bytes=q.arena_bytes,
        layers=[dict(index=r["index"], type=r["type"], bytes=r["bytes"], params=r["params"]) for r in q.table()])

    _say(progress, "[4/6] verifying on the host: float64, C engine, numpy simulator")
    summary["float_accuracy"] = float(train.evaluate(model, x_test, y_test))
    xq = q.quantize_input(x_test)
    c_out = Engine(q).run_raw(xq).reshape(len(xq), -1)
    summary["q15_accuracy"] = float(np.mean(np.argmax(c_out, axis=1) == y_test))
    n_sim = settings["simulator_samples"] or len(xq)
    sim = np.concatenate([q.simulate_raw(xq[i:i + 250]).reshape(-1, c_out.shape[1])
                          for i in tqdm(range(0, n_sim, 250), desc="simulator", unit="batch", disable=not progress)])
    summary.update(simulator_samples=n_sim, mismatches=int(np.count_nonzero(sim != c_out[:n_sim])),
                   simulator_accuracy=float(np.mean(np.argmax(sim, axis=1) == y_test[:n_sim])))

    _say(progress, "[5/6] Cortex-M: cross-compiling the firmware and running it on QEMU")
    summary["firmware"] = {}
    from . import firmware
    try:
        firmware.check_tools(run=True)
    except firmware.ToolchainMissing as exc:
        summary["skipped"].append(f"Cortex-M firmware: {exc}")
        targets = ()
    for target in targets:
        fw_dir = os.path.join(out_dir, f"firmware-{target}")
        inputs = q.quantize_input(x_test[:8])
        build = firmware.build(q, target, fw_dir, inputs=inputs)
        result = firmware.run(fw_dir)
        summary["firmware"][target] = dict(
            board=result["board"], status=result["status"], passed=result["passed"], failed=result["failed"],
            instructions=result["instructions"]["inference"],
            per_layer=[r["instructions"] for r in result["instructions"]["per_layer"]],
            flash=build["memory"]["flash"], flash_without_tests=build["memory"]["flash_without_tests"],
            text=build["memory"]["text"], rodata=build["memory"]["rodata"], data=build["memory"]["data"],
            ram=build["memory"]["ram"], elf=os.path.join(fw_dir, build["elf"]))
        _say(progress, f"      {target}: {result['status']}, {result['instructions']['inference']} instructions")

    summary["peer"] = peer_comparison()

    _say(progress, "[6/6] pictures")
    summary["pictures"] = []
    if plots:
        summary["pictures"], why = _pictures(summary, out_dir, accuracy_results)
        if why:
            summary["skipped"].append(why)
    summary["seconds"] = round(time.time() - started, 1)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def _pictures(summary, out_dir, accuracy_results):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "pictures: matplotlib is not installed (pip install 'circnn[plots]')"
    written, why = [], None
    rows, source = _accuracy_results(accuracy_results)
    if rows:
        # rows of benchmarks/accuracy.py: arch, blocks ("4", "dense", or one k per layer), seed, float, q15
        fig, ax = plt.subplots(figsize=(6, 4))
        for arch in sorted({r["arch"] for r in rows}):
            mine = [dict(r, blocks=int(r["blocks"]) if str(r["blocks"]).isdigit() else r["blocks"])
                    for r in rows if r["arch"] == arch]
            ks = sorted({r["blocks"] for r in mine if isinstance(r["blocks"], int)})
            if ks:
                mean = lambda key, k: 100 * np.mean([r[key] for r in mine if r["blocks"] == k])  # noqa: E731
                ax.plot(ks, [mean("float", k) for k in ks], "o-", label=f"{arch} float")
                ax.plot(ks, [mean("q15", k) for k in ks], "x--", label=f"{arch} q15 (C engine)")
            dense = [r["float"] for r in mine if r["blocks"] in ("dense", None)]
            if dense:
                ax.axhline(100 * np.mean(dense), linestyle=":", color="gray")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("block size k")
        ax.set_ylabel("Fashion-MNIST test accuracy (%)")
        ax.set_title("Accuracy against block size (dotted: dense)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(out_dir, "accuracy_vs_block_size.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    else:
        why = "accuracy picture: no benchmarks/accuracy.json found (run python benchmarks/accuracy.py)"
    layers = summary["layers"]
    fw = summary["firmware"].get("cortex-m4f") or next(iter(summary["firmware"].values()), None)
    fig, axes = plt.subplots(1, 2 if fw else 1, figsize=(10 if fw else 5, 4), squeeze=False)
    names = [f"{r['index']} {r['type']}" for r in layers]
    axes[0, 0].barh(names, [r["bytes"] for r in layers], color="tab:blue")
    axes[0, 0].set_xlabel("weight bytes (flash)")
    axes[0, 0].invert_yaxis()
    if fw:
        axes[0, 1].barh(names, fw["per_layer"][:len(names)], color="tab:orange")
        axes[0, 1].set_xlabel(f"instructions per inference ({'cortex-m4f' if 'cortex-m4f' in summary['firmware'] else ''})")
        axes[0, 1].invert_yaxis()
    fig.suptitle(f"Per-layer budget of the demo model (k = {summary['block_size']}, q15)")
    fig.tight_layout()
    path = os.path.join(out_dir, "layer_budget.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(path)
    return written, why


def format_summary(s):
    """The one summary table."""
    lines = [
        f"circnn demo ({s['profile']} profile, k = {s['block_size']}, {s['train_samples']} training images, "
        f"{s['test_samples']} test images, {s['seconds']} s)",
        "",
        f"{'':<34}{'block-circulant':>18}{'dense, same shape':>20}",
        f"{'parameters':<34}{s['parameters']:>18,}{s['dense_parameters']:>20,}",
        f"{'model blob (flash) bytes':<34}{s['blob_bytes']:>18,}{s['dense_blob_bytes']:>20,}",
        f"{'arena (RAM) bytes':<34}{s['arena_bytes']:>18,}",
        f"{'accuracy, float64':<34}{100 * s['float_accuracy']:>17.2f}%",
        f"{'accuracy, q15 (C engine)':<34}{100 * s['q15_accuracy']:>17.2f}%",
        f"{'outputs C engine != simulator':<34}{s['mismatches']:>18}   (on {s['simulator_samples']:,} test images)",
    ]
    for target, fw in s["firmware"].items():
        lines.append(f"{target + ' instructions/inference':<34}{fw['instructions']:>18,}   "
                     f"({fw['status']} on QEMU {fw['board']}, {fw['passed']} checks)")
        lines.append(f"{target + ' flash / RAM bytes':<34}{fw['flash']:>18,}   RAM {fw['ram']:,} "
                     f"(flash without test vectors {fw['flash_without_tests']:,})")
    lines += _peer_lines(s)
    for item in s["skipped"]:
        lines.append(f"skipped: {item}")
    for path in s["pictures"]:
        lines.append(f"picture: {path}")
    lines.append(f"model: {s['model']}   header: {s['header']}")
    return "\n".join(lines)


def _peer_lines(s):
    """The comparison with the same network dense in int8 through CMSIS-NN, or why there is none."""
    peer = s.get("peer")
    if not peer:
        return ["", "against CMSIS-NN int8: no figures here (benchmarks/peers.json; "
                    "python benchmarks/bench_peers.py --cmsis-nn DIR measures them)"]
    lines = ["", f"the same CNN dense in int8 through CMSIS-NN {peer['commit']} (benchmarks/peers.json; "
                 f"trained {peer['recipe']}):",
             f"{'accuracy, int8':<34}{100 * peer['accuracy']:>17.2f}%   (this demo's training budget differs)",
             f"{'weight bytes':<34}{peer['weight_bytes']:>18,}   (circnn blob {s['blob_bytes']:,})"]
    for target, fw in peer["targets"].items():
        mine = s["firmware"].get(target)
        ratio = (f"   (circnn {mine['instructions']:,} = {mine['instructions'] / fw['instructions']:.2f}x)"
                 if mine else "")
        lines.append(f"{target + ' instructions/inference':<34}{fw['instructions']:>18,}{ratio}")
        lines.append(f"{target + ' flash bytes':<34}{fw['flash']:>18,}"
                     + (f"   (circnn {mine['flash_without_tests']:,} without test vectors = "
                        f"{mine['flash_without_tests'] / fw['flash']:.2f}x)" if mine else ""))
    return lines
