"""Fashion-MNIST test accuracy against block size: float (the float64
reference) and q15 through the C engine, with parameter counts, q15 weight
bytes and compression against the dense network of the same shape.

Every run (architecture, block size, seed) is trained with circnn.train.fit,
evaluated on the whole test set (or --limit samples), quantized with 512
calibration samples drawn from the training set, run through circnn.Engine,
and appended to a JSON file, so an interrupted sweep continues where it
stopped (runs already in the file are skipped) and several processes can
share one sweep.  --table prints the markdown table from the file.

    # the issue's sweep: MLP dense and k = 4..128, CNN dense and k = 4, 8, 16
    python benchmarks/accuracy.py --arch mlp --epochs 10 --seeds 0 1
    python benchmarks/accuracy.py --arch cnn --epochs 10 --seeds 0 1
    python benchmarks/accuracy.py --arch wide_cnn --blocks 8,16,32 --epochs 15 --lr 2e-3
    python benchmarks/accuracy.py --arch ds_cnn --blocks 16 --epochs 10 --seeds 0
    python benchmarks/accuracy.py --table

    # 8-bit weights (quantize(x, weight_bits=8)) of a run already in the file, from
    # its trained weights (a circnn.train checkpoint of that run: its float accuracy
    # must be the row's, to the last image): adds q15_w8, weight_bytes_w8, blob_bytes_w8,
    # and q15_w16, the 16-bit q15 accuracy measured beside it (the row's q15 may be
    # an older runtime's)
    python benchmarks/accuracy.py --arch cnn --blocks 8 --seeds 0 --weight8-from CHECKPOINT

    # a quick version (minutes): fewer samples and epochs
    python benchmarks/accuracy.py --arch mlp --epochs 1 --limit 5000 --results quick.json
"""
import argparse
import json
import os
import time

import numpy as np

import circnn
from circnn import presets, train

DEFAULT_BLOCKS = {"mlp": ["dense", "4", "8", "16", "32", "64", "128"], "cnn": ["dense", "4", "8", "16"],
                  "wide_cnn": ["8,16,32"], "ds_cnn": ["16"]}
HERE = os.path.dirname(os.path.abspath(__file__))


def parse_blocks(text):
    sizes = [None if t in ("dense", "none") else int(t) for t in text.split(",")]
    return sizes[0] if len(sizes) == 1 else tuple(sizes)


def ds_blocks(text):
    """"64:1,128:2" -> ((64, 1), (128, 2)): ds_cnn's (channels, stride) per block."""
    return tuple(tuple(int(v) for v in item.split(":")) for item in text.split(","))


def build(arch, blocks, seed, args):
    if arch == "wide_cnn":
        return presets.wide_cnn(blocks, seed=seed, pools=args.pools)
    if arch == "ds_cnn":
        if isinstance(blocks, tuple) and len(blocks) != len(ds_blocks(args.ds_blocks)):
            raise ValueError(f"--blocks {blocks} does not match --ds-blocks {args.ds_blocks}")
        head = args.ds_head if args.ds_head == "gap" else int(args.ds_head)
        return presets.ds_cnn(blocks, seed=seed, blocks=ds_blocks(args.ds_blocks), stem=args.ds_stem,
                              stem_pool=args.ds_stem_stride == 1, head=head)
    return presets.build(arch, blocks, seed=seed)


def arch_label(arch, args):
    if arch == "ds_cnn":
        return (f"ds_cnn stem={args.ds_stem}{' pool' if args.ds_stem_stride == 1 else ''} blocks={args.ds_blocks}"
                + ("" if args.ds_head == "gap" else f" head=bc{args.ds_head}"))
    return f"wide_cnn pools={args.pools}" if arch == "wide_cnn" else arch


def run_key(r):
    return (r["arch"], r["blocks"], r["seed"], r["epochs"], r["limit"], r["recipe"])


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)


def append(path, row):
    rows = load(path)            # re-read: another process may have added runs
    rows.append(row)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(tmp, path)


def one_run(arch, blocks, seed, args, data):
    (x_train, y_train), (x_test, y_test) = data
    model = build(arch, parse_blocks(blocks), seed, args)
    t0 = time.perf_counter()
    history = train.fit(model, x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        seed=seed, schedule=args.schedule, weight_decay=args.weight_decay,
                        augment=train.random_shift_flip() if args.augment else None, progress=not args.quiet)
    seconds = time.perf_counter() - t0
    float_acc = train.evaluate(model, x_test, y_test)
    pick = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:512])
    q = model.quantize(x_train[pick])
    out = circnn.Engine(q).run(x_test).reshape(len(x_test), -1)
    q15_acc = float(np.mean(np.argmax(out, axis=1) == y_test))
    w8 = weight8_fields(model, x_train[pick], x_test, y_test)
    weights = presets.weight_count(model)
    circ = [layer for layer in model.layers if hasattr(layer, "spectrum")]
    circ_weights = sum(layer.spectrum.size for layer in circ)
    circ_dense = sum(layer.dense_parameter_count() - layer.bias.size for layer in circ)
    dense_weights = presets.weight_count(build(arch, None, seed, args))
    return {"arch": arch_label(arch, args), "blocks": blocks, "seed": seed, "epochs": args.epochs, "limit": args.limit,
            "recipe": recipe(args), "float": float_acc, "q15": q15_acc,
            "params": model.parameter_count(), "dense_params": model.dense_parameter_count(),
            "weights": weights, "dense_weights": dense_weights,
            "circulant_compression": circ_dense / circ_weights if circ else None, "weight_bytes_q15": 2 * weights,
            "blob_bytes": len(q.blob), "train_seconds": seconds, "train_loss": history["loss"][-1],
            "train_accuracy": history["accuracy"][-1], "test_samples": len(x_test),
            "train_samples": len(x_train), **w8}


def quantized_accuracy(q, x_test, y_test):
    out = circnn.Engine(q).run(x_test).reshape(len(x_test), -1)
    return float(np.mean(np.argmax(out, axis=1) == y_test))


def weight8_fields(model, calibration, x_test, y_test):
    """The q15 accuracy (C engine) with 8-bit weights, its weight and blob bytes."""
    q = model.quantize(calibration, weight_bits=8)
    return {"q15_w8": quantized_accuracy(q, x_test, y_test),
            "weight_bytes_w8": sum(op.weight.size * op.weight_bits // 8 for op in q.ops if op.weight is not None),
            "blob_bytes_w8": len(q.blob)}


def add_weight8(path, key, arch, blocks, seed, args, data, checkpoint):
    """Add the 8-bit fields to the row of `key` from the checkpoint of its run."""
    (x_train, _), (x_test, y_test) = data
    rows = load(path)
    row = next((r for r in rows if run_key(r) == key), None)
    if row is None:
        raise SystemExit(f"no run {key} in {path}")
    model = build(arch, parse_blocks(blocks), seed, args)
    train.load_checkpoint(checkpoint, model)
    float_acc = train.evaluate(model, x_test, y_test)
    if float_acc != row["float"]:
        raise SystemExit(f"{checkpoint}: float accuracy {float_acc} is not the run's {row['float']}: another model")
    pick = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:512])
    # the 16-bit figure again with today's runtime (the row's q15 may be an older runtime's)
    row["q15_w16"] = quantized_accuracy(model.quantize(x_train[pick]), x_test, y_test)
    row.update(weight8_fields(model, x_train[pick], x_test, y_test))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(tmp, path)
    return row


def recipe(args):
    text = f"adam lr {args.lr:g} batch {args.batch_size} {args.schedule}"
    if args.weight_decay:
        text += f" wd {args.weight_decay:g}"
    if args.augment:
        text += " shift2+flip"
    return text


def table(rows):
    groups = {}
    for r in rows:
        groups.setdefault((r["arch"], r["blocks"], r["epochs"], r["limit"], r["recipe"]), []).append(r)
    order = {"mlp": 0, "cnn": 1}

    def sort_key(item):
        arch, blocks, epochs, limit, rec = item[0]
        first = blocks.split(",")[0]
        return (order.get(arch, 9), epochs, limit or 0, rec, first != "dense", int(first) if first.isdigit() else 0,
                blocks)

    lines = ["| network | k | seeds | float % | q15 C engine % | q15 - float | parameters | weights "
             "| q15 weight bytes | compression (all weights / circulant layers) | epochs, samples, recipe |",
             "|---|---|---|---|---|---|---:|---:|---:|---:|---|"]
    for (arch, blocks, epochs, limit, rec), rs in sorted(groups.items(), key=sort_key):
        rs = sorted(rs, key=lambda r: r["seed"])
        fl = " / ".join(f"{100 * r['float']:.2f}" for r in rs)
        qs = " / ".join(f"{100 * r['q15']:.2f}" for r in rs)
        diff = " / ".join(f"{100 * (r['q15'] - r['float']):+.2f}" for r in rs)
        if len(rs) > 1:
            fl += f" (mean {100 * np.mean([r['float'] for r in rs]):.2f})"
            qs += f" (mean {100 * np.mean([r['q15'] for r in rs]):.2f})"
        r = rs[0]
        lines.append(f"| {arch} | {blocks} | {', '.join(str(r['seed']) for r in rs)} | {fl} | {qs} | {diff} "
                     f"| {r['params']:,} | {r['weights']:,} | {r['weight_bytes_q15']:,} "
                     f"| {r['dense_weights'] / r['weights']:.1f}x / "
                     + (f"{r['circulant_compression']:.1f}x" if r.get("circulant_compression") else "-")
                     + f" | {epochs}, {r['train_samples']} train / "
                     f"{r['test_samples']} test, {rec} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", choices=("mlp", "cnn", "wide_cnn", "ds_cnn"), action="append")
    p.add_argument("--blocks", nargs="*", help="block sizes: dense, k, or k1,k2,... per layer "
                                               "(default: the issue's sweep for the architecture)")
    p.add_argument("--seeds", type=int, nargs="*", default=[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", default="cosine", choices=("constant", "cosine", "step"))
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--augment", action="store_true", help="random 2-pixel shifts and left-right flips")
    p.add_argument("--pools", type=int, default=2, help="wide_cnn: max pools after the first N convolutions")
    p.add_argument("--ds-blocks", default="64:1,128:2", help="ds_cnn: channels:stride of each depthwise-separable block")
    p.add_argument("--ds-stem", type=int, default=16, help="ds_cnn: channels of the first convolution")
    p.add_argument("--ds-stem-stride", type=int, default=1, choices=(1, 2),
                   help="ds_cnn: 1 (the first convolution then a 2x2 max pool, the preset's default) or 2")
    p.add_argument("--ds-head", default="64", help="ds_cnn: gap, or k of a block-circulant classifier on the flat map")
    p.add_argument("--limit", type=int, default=None, help="first N training and test samples")
    p.add_argument("--results", default=os.path.join(HERE, "accuracy.json"))
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--table", action="store_true", help="print the table of the results file and stop")
    p.add_argument("--weight8-from", metavar="CHECKPOINT", default=None,
                   help="add the 8-bit-weights accuracy to the (one) run named by the other options, "
                        "from the checkpoint of its trained weights")
    args = p.parse_args()
    if args.table:
        print(table(load(args.results)))
        return
    data = circnn.datasets.fashion_mnist(limit=args.limit)
    for arch in args.arch or ["mlp", "cnn"]:
        for blocks in args.blocks or DEFAULT_BLOCKS[arch]:
            for seed in args.seeds:
                key = (arch_label(arch, args), blocks, seed, args.epochs, args.limit, recipe(args))
                if args.weight8_from:
                    row = add_weight8(args.results, key, arch, blocks, seed, args, data, args.weight8_from)
                    print(f"{arch} k={blocks} seed {seed}: q15 {100 * row['q15_w16']:.2f} %, 8-bit weights "
                          f"{100 * row['q15_w8']:.2f} %, weight bytes {row['weight_bytes_q15']} -> "
                          f"{row['weight_bytes_w8']}, blob {row['blob_bytes']} -> {row['blob_bytes_w8']}")
                    return
                if any(run_key(r) == key for r in load(args.results)):
                    print(f"skip {key}: in {args.results}")
                    continue
                row = one_run(arch, blocks, seed, args, data)
                append(args.results, row)
                print(f"{arch} k={blocks} seed {seed}: float {100 * row['float']:.2f} %, q15 {100 * row['q15']:.2f} %,"
                      f" {row['weights']} weights, {row['train_seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
