"""8-bit spectral weights (`quantize(x, weight_bits=8)`, format 3) against the
usual 16-bit q15 spectra, on trained Fashion-MNIST models: q15 accuracy of
the host C engine on the 10,000 test images, weight and blob bytes, arena,
and on emulated Cortex-M4F and M0+ (QEMU, the same plugin and flags as
`circnn firmware`): flash without the test vectors, RAM, instructions per
inference and per block-circulant layer.  Printed as Markdown.

    python benchmarks/bench_weight8.py --cnn CNN_CHECKPOINT --ds-cnn DS_CNN_CHECKPOINT

The checkpoints are circnn.train checkpoints (`fit(checkpoint=...)`,
`circnn train --checkpoint`) of circnn.presets.cnn(block_size=8) and
circnn.presets.ds_cnn(); a model without one is skipped.  Calibration: 512
training images (a fixed random draw, seed 0), as `circnn train`.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

import circnn
from circnn import firmware, presets
from circnn.format import blob as B
from circnn.train import load_checkpoint

TARGETS = ("cortex-m4f", "cortex-m0plus")


def weight_bytes(q):
    return sum(op.weight.size * op.weight_bits // 8 for op in q.ops if op.weight is not None)


def measure(name, model, data, out, targets, vectors):
    (x_train, _), (x_test, y_test) = data
    pick = np.sort(np.random.default_rng(0).permutation(len(x_train))[:512])
    rows = {}
    for bits in (16, 8):
        q = model.quantize(x_train[pick], weight_bits=bits)
        acc = float(np.mean(np.argmax(circnn.Engine(q).run(x_test).reshape(len(x_test), -1), axis=1) == y_test))
        row = dict(accuracy=acc, weight_bytes=weight_bytes(q), blob=len(q.blob), arena=q.arena_bytes, version=q.version)
        for target in targets:
            folder = os.path.join(out, f"{name}-w{bits}-{target}")
            firmware.build(q, target, folder, count=vectors)
            r = firmware.run(folder, timeout=600)
            if r["status"] != "passed":
                raise SystemExit(f"{name} w{bits} on {target}: {r['status']}\n{r['console']}")
            circ = [i for i, op in enumerate(q.ops) if op.type in B.CIRCULANT]
            row[target] = dict(instructions=r["instructions"]["inference"],
                               flash=r["memory"]["flash_without_tests"], ram=r["memory"]["ram"],
                               layers={i: r["instructions"]["per_layer"][i] for i in circ})
        rows[bits] = row
    return rows


def report(name, rows, targets):
    a, b = rows[16], rows[8]
    print(f"#### {name}\n")
    print("| | 16-bit spectra | 8-bit spectra | change |")
    print("|---|---:|---:|---:|")
    print(f"| q15 accuracy (C engine, 10,000 test images) | {100 * a['accuracy']:.2f} % | {100 * b['accuracy']:.2f} % "
          f"| {100 * (b['accuracy'] - a['accuracy']):+.2f} points |")
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
    args = p.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    data = circnn.datasets.fashion_mnist()
    out = args.output or tempfile.mkdtemp(prefix="circnn-w8-")
    for name, build, path in (("cnn, k = 8 (the demo's CNN)", lambda: presets.cnn(block_size=8), args.cnn),
                              ("ds_cnn", presets.ds_cnn, args.ds_cnn)):
        if not path:
            print(f"({name}: no checkpoint given, skipped)\n")
            continue
        model = build()
        load_checkpoint(path, model)
        report(name, measure(name.split(",")[0], model, data, out, targets, args.vectors), targets)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
