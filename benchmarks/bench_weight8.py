"""8-bit weights (`quantize(x, weight_bits=8)`, formats 3 and 4) against the
usual 16-bit q15 weights: q15 accuracy of the host C engine on the 10,000
Fashion-MNIST test images (trained models), weight and blob bytes, arena,
and on emulated Cortex-M4F and M0+ (QEMU, the same plugin and flags as
`circnn firmware`): flash without the test vectors, RAM, instructions per
inference and per layer with weights.  Printed as Markdown; --json writes
the figures too.

    python benchmarks/bench_weight8.py --cnn CNN_CHECKPOINT --ds-cnn DS_CNN_CHECKPOINT
    python benchmarks/bench_weight8.py --compact --json FILE   # no data set, no training

The checkpoints are circnn.train checkpoints (`fit(checkpoint=...)`,
`circnn train --checkpoint`) of circnn.presets.cnn(block_size=8) and
circnn.presets.ds_cnn(); a model without one is skipped.  Calibration: 512
training images (a fixed random draw, seed 0), as `circnn train`.
--compact: presets.compact_cnn(8, channels=(16, 32, 64), head=11), untrained
(seed 0), calibrated on 256 random images in [0, 1) (seed 0), the firmware
checking 2 of them; no accuracy.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

import circnn
from circnn import firmware, presets
from circnn.train import load_checkpoint

TARGETS = ("cortex-m4f", "cortex-m0plus")


def weight_bytes(q):
    return sum(op.weight.size * op.weight_bits // 8 for op in q.ops if op.weight is not None)


def measure(name, model, calibration, test, out, targets, vectors):
    """{16: row, 8: row}; test: (x_test, y_test) or None (no accuracy)."""
    rows = {}
    for bits in (16, 8):
        q = model.quantize(calibration, weight_bits=bits)
        acc = None
        if test is not None:
            x_test, y_test = test
            out_q = circnn.Engine(q).run(x_test).reshape(len(x_test), -1)
            acc = float(np.mean(np.argmax(out_q, axis=1) == y_test))
        row = dict(accuracy=acc, weight_bytes=weight_bytes(q), blob=len(q.blob), arena=q.arena_bytes,
                   version=q.version)
        for target in targets:
            folder = os.path.join(out, f"{name}-w{bits}-{target}")
            if test is None:
                firmware.build(q, target, folder, inputs=q.quantize_input(calibration[:vectors]))
            else:
                firmware.build(q, target, folder, count=vectors)
            r = firmware.run(folder, timeout=600)
            if r["status"] != "passed":
                raise SystemExit(f"{name} w{bits} on {target}: {r['status']}\n{r['console']}")
            weighted = [i for i, op in enumerate(q.ops) if op.weight is not None]
            row[target] = dict(instructions=r["instructions"]["inference"],
                               flash=r["memory"]["flash_without_tests"], ram=r["memory"]["ram"],
                               layers={i: r["instructions"]["per_layer"][i] for i in weighted})
        rows[bits] = row
    return rows


def report(name, rows, targets):
    a, b = rows[16], rows[8]
    print(f"#### {name}\n")
    print("| | 16-bit weights | 8-bit weights | change |")
    print("|---|---:|---:|---:|")
    if a["accuracy"] is not None:
        print(f"| q15 accuracy (C engine, 10,000 test images) | {100 * a['accuracy']:.2f} % "
              f"| {100 * b['accuracy']:.2f} % | {100 * (b['accuracy'] - a['accuracy']):+.2f} points |")
    for key, label in (("weight_bytes", "weight bytes"), ("blob", "model blob bytes"), ("arena", "arena bytes")):
        print(f"| {label} | {a[key]:,} | {b[key]:,} | {b[key] - a[key]:+,} |")
    for t in targets:
        for key, label in (("flash", "flash bytes (without test vectors)"), ("ram", "RAM bytes"),
                           ("instructions", "instructions / inference")):
            print(f"| {t} {label} | {a[t][key]:,} | {b[t][key]:,} | {b[t][key] - a[t][key]:+,} "
                  f"({100 * (b[t][key] / a[t][key] - 1):+.1f} %) |")
        for i, la in a[t]["layers"].items():
            lb = b[t]["layers"][i]
            print(f"| {t} layer {i} {lb['layer']} | {la['instructions']:,} | {lb['instructions']:,} "
                  f"| {lb['instructions'] - la['instructions']:+,} |")
    print()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cnn", help="checkpoint of presets.cnn(block_size=8)")
    p.add_argument("--ds-cnn", help="checkpoint of presets.ds_cnn()")
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--vectors", type=int, default=2, help="test images run on each core (default 2)")
    p.add_argument("-o", "--output", default=None, help="build folder (default: a temporary one)")
    p.add_argument("--compact", action="store_true",
                   help="only the untrained compact_cnn(8, channels=(16, 32, 64), head=11)")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    out = args.output or tempfile.mkdtemp(prefix="circnn-w8-")
    results = {}
    if args.compact:
        name = "compact_cnn(8, channels=(16, 32, 64), head=11), untrained"
        calibration = np.random.default_rng(0).uniform(0, 1, (256, 28, 28, 1))
        model = presets.compact_cnn(8, channels=(16, 32, 64), head=11)
        results[name] = measure("compact", model, calibration, None, out, targets, args.vectors)
        report(name, results[name], targets)
        return _write(args.json, results)
    data = circnn.datasets.fashion_mnist()
    (x_train, _), test = data
    pick = np.sort(np.random.default_rng(0).permutation(len(x_train))[:512])
    for name, build, path in (("cnn, k = 8 (the demo's CNN)", lambda: presets.cnn(block_size=8), args.cnn),
                              ("ds_cnn", presets.ds_cnn, args.ds_cnn)):
        if not path:
            print(f"({name}: no checkpoint given, skipped)\n")
            continue
        model = build()
        load_checkpoint(path, model)
        results[name] = measure(name.split(",")[0], model, x_train[pick], test, out, targets, args.vectors)
        report(name, results[name], targets)
        sys.stdout.flush()
    return _write(args.json, results)


def _write(path, results):
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
