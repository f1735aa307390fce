"""The `circnn` command: info, export, verify, firmware, train."""
import argparse
import sys

import numpy as np

from .format import blob as B


def _load(path):
    from .export.exported import load
    return load(path)


def cmd_info(args):
    from .format.header import layer_table
    model = _load(args.model)
    rows = model.table()
    params = sum(r["params"] for r in rows)
    dense = sum(r["dense_params"] for r in rows)
    print(f"{args.model}: circnn model, format {model.version}, {model.dtype}, {len(model.ops)} layers")
    print(f"input {model.input_shape}, output {model.output_shape}"
          + (f", scales 2^-{model.input_frac} in, 2^-{model.output_frac} out" if model.dtype == "q15" else ""))
    print()
    print("\n".join(layer_table(model)))
    print()
    print(f"parameters       {params:>10}")
    print(f"dense equivalent {dense:>10}   compression {dense / max(params, 1):.1f}x")
    print(f"flash (blob)     {len(model.blob):>10} bytes")
    print(f"arena (RAM)      {model.arena_bytes:>10} bytes")
    print(f"sha256           {model.hash}")
    return 0


def cmd_export(args):
    model = _load(args.model)
    name = args.name
    out = args.output or f"{name}.h"
    model.write_header(out, name)
    print(f"wrote {out}: model {name!r}, {len(model.blob)} bytes of blob, arena {model.arena_bytes} bytes")
    return 0


def _data(spec, limit):
    from . import datasets
    if spec in ("fashion-mnist", "fashion_mnist"):
        _, (x, y) = datasets.fashion_mnist(limit=limit)
    else:
        _, (x, y) = datasets.idx_folder(spec, limit=limit)
    return x, y.astype(np.int64)


def verify(model, x, y, batch_size=500, progress=True):
    """The float reference, the numpy simulator and the C engine on (x, y).

    Returns a dict: accuracy of each, the number of outputs where the
    simulator and the C engine differ, and the largest difference between
    the f32 C engine and float64 (relative to the largest float64 output).
    """
    from tqdm import tqdm

    from .native.engine import Engine
    if x.shape[1:] != model.input_shape:
        x = x.reshape((len(x),) + model.input_shape)
    engine = Engine(model)
    f32 = model.as_f32()
    f32_engine = engine if model.dtype == "f32" else Engine(f32)
    argmax_out = model.ops[-1].type == B.ARGMAX
    hits = {"float64": 0, "simulator": 0, "C engine": 0}
    mismatches, worst, scale = 0, 0.0, 0.0
    batches = range(0, len(x), batch_size)
    for start in tqdm(batches, desc="verify", unit="batch", disable=not progress):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        ref = f32.reference(xb)
        c32 = f32_engine.run(xb)
        worst = max(worst, float(np.abs(c32 - ref).max()))
        scale = max(scale, float(np.abs(ref).max()))
        if model.dtype == "q15":
            sim = model.simulate_raw(model.quantize_input(xb))
            c = engine.run_raw(model.quantize_input(xb))
            mismatches += int(np.count_nonzero(sim != c))
        else:
            sim = model.simulate(xb)
            c = c32
        for name, out in (("float64", ref), ("simulator", sim), ("C engine", c)):
            pred = out.reshape(len(xb), -1)
            pred = pred[:, 0].astype(np.int64) if argmax_out else np.argmax(pred, axis=1)
            hits[name] += int(np.sum(pred == yb))
    result = {f"accuracy {k}": v / len(x) for k, v in hits.items()}
    result.update(samples=len(x), mismatches=mismatches if model.dtype == "q15" else None,
                  f32_max_abs_diff=worst, f32_max_rel_diff=worst / scale if scale else 0.0)
    return result


def cmd_verify(args):
    model = _load(args.model)
    try:
        x, y = _data(args.data, args.limit)
    except FileNotFoundError as exc:
        print(f"circnn verify: {exc}", file=sys.stderr)
        return 2
    r = verify(model, x, y, progress=not args.quiet)
    print(f"{args.model} ({model.dtype}) on {args.data}, {r['samples']} samples")
    print(f"  accuracy, float64 reference   {100 * r['accuracy float64']:.2f} %")
    print(f"  accuracy, numpy simulator     {100 * r['accuracy simulator']:.2f} %")
    print(f"  accuracy, C engine            {100 * r['accuracy C engine']:.2f} %")
    if r["mismatches"] is not None:
        print(f"  outputs where simulator and C differ: {r['mismatches']}")
    print(f"  f32 C engine vs float64: largest difference {r['f32_max_abs_diff']:.3g} "
          f"({r['f32_max_rel_diff']:.3g} of the largest output)")
    status = 1 if r["mismatches"] else 0
    if args.target:
        status = max(status, _verify_on_target(args, model, x))
    return status


def _verify_on_target(args, model, x):
    """The firmware part of `verify --target`: the first --vectors samples
    as test vectors, built and run on QEMU."""
    import tempfile

    from . import firmware
    if x.shape[1:] != model.input_shape:
        x = x.reshape((len(x),) + model.input_shape)
    out = args.output or tempfile.mkdtemp(prefix=f"circnn-{args.target}-")
    try:
        record = firmware.build(model, args.target, out, inputs=x[:args.vectors])
        print(f"{args.target}: firmware in {out} (QEMU {record['board']})")
        print(firmware.format_memory(record["memory"]))
        result = firmware.run(out, timeout=args.timeout)
    except firmware.ToolchainMissing as exc:
        print(f"circnn verify: {exc}", file=sys.stderr)
        return 3
    except firmware.FirmwareError as exc:
        print(f"circnn verify: {exc}", file=sys.stderr)
        return 1
    print(firmware.format_run(result))
    return 0 if result["status"] == "passed" else 1


def cmd_firmware_build(args):
    from . import firmware
    model = _load(args.model)
    try:
        record = firmware.build(model, args.target, args.output, count=args.vectors, seed=args.seed,
                                board=args.board)
    except firmware.ToolchainMissing as exc:
        print(f"circnn firmware build: {exc}", file=sys.stderr)
        return 3
    except firmware.FirmwareError as exc:
        print(f"circnn firmware build: {exc}", file=sys.stderr)
        return 1
    print(f"built {args.output}/runner.elf for {record['target']} (QEMU {record['board']}), "
          f"{record['vectors']} test vectors, {model.dtype}")
    if record["note"]:
        print(record["note"])
    print(firmware.format_memory(record["memory"]))
    return 0


def cmd_firmware_run(args):
    import json

    from . import firmware
    try:
        result = firmware.run(args.directory, timeout=args.timeout)
    except firmware.ToolchainMissing as exc:
        print(f"circnn firmware run: {exc}", file=sys.stderr)
        return 3
    except firmware.FirmwareError as exc:
        print(f"circnn firmware run: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "console"}))
    else:
        print(firmware.format_run(result))
    return 0 if result["status"] == "passed" else 1


_TARGETS = ("cortex-m0plus", "cortex-m3", "cortex-m4f", "cortex-m7", "cortex-m33")


def _add_firmware_parser(sub):
    f = sub.add_parser("firmware", help="cross-build a model's test firmware for Cortex-M, run it on QEMU")
    fsub = f.add_subparsers(dest="firmware_command", required=True)
    s = fsub.add_parser("build", help="write the model and test-vector headers, cross-build the runner")
    s.add_argument("model", help="a .circ file")
    s.add_argument("--target", required=True, choices=_TARGETS)
    s.add_argument("-o", "--output", required=True, help="output folder")
    s.add_argument("--vectors", type=int, default=8, help="number of test vectors (default 8)")
    s.add_argument("--seed", type=int, default=0, help="seed of the random test inputs")
    s.add_argument("--board", default=None, choices=("microbit", "mps2-an385", "mps2-an386", "mps2-an500",
                                                      "mps2-an505"),
                   help="QEMU board (default: the target's; cortex-m0plus: microbit, else mps2-an385)")
    s.set_defaults(run=cmd_firmware_build)
    s = fsub.add_parser("run", help="run a built firmware on QEMU: pass/fail and instruction counts")
    s.add_argument("directory", help="the folder `circnn firmware build` wrote")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--timeout", type=float, default=120.0, help="seconds before QEMU counts as hung")
    s.set_defaults(run=cmd_firmware_run)


def _block_size(text):
    """'dense', k, or one value per block-circulant layer: '8,16,32'."""
    try:
        sizes = [None if t.strip().lower() in ("dense", "none", "0") else int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"block size must be a power of two, 'dense' or a comma-separated "
                                         f"list of them, got {text!r}") from None
    return sizes[0] if len(sizes) == 1 else tuple(sizes)


def cmd_train(args):
    """Train a preset on Fashion-MNIST (or an IDX folder), quantize, report, write."""
    from . import datasets, train
    from .nn import presets
    from .native.engine import Engine
    if args.data is None:
        (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist(limit=args.limit)
    else:
        (x_train, y_train), (x_test, y_test) = datasets.idx_folder(args.data, limit=args.limit)
    import inspect
    build = presets.ARCHITECTURES[args.arch]
    sizes = getattr(args, "block_size", inspect.signature(build).parameters["block_size"].default)
    model = build(sizes, seed=args.seed)
    blocks = ",".join(str(k or "dense") for k in (sizes if isinstance(sizes, tuple) else (sizes,)))
    if not args.quiet:
        print(model.summary())
    train.fit(model, x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
              seed=args.seed, optimizer=args.optimizer, weight_decay=args.weight_decay, schedule=args.schedule,
              augment=train.random_shift_flip() if args.augment else None, checkpoint=args.checkpoint,
              resume=args.checkpoint if args.resume else None, progress=not args.quiet)
    float_acc = train.evaluate(model, x_test, y_test)
    pick = np.random.default_rng(args.seed).permutation(len(x_train))[:args.calibration]
    q = model.quantize(x_train[np.sort(pick)], weight_bits=args.weight_bits)
    out = Engine(q).run(x_test).reshape(len(x_test), -1)
    q15_acc = float(np.mean(np.argmax(out, axis=1) == y_test))
    q.save(args.output)
    print(f"{args.arch}, block size {blocks}: {args.epochs} epochs on {len(x_train)} samples, "
          f"seed {args.seed}")
    weights = presets.weight_count(model)
    print(f"  parameters {model.parameter_count()} (dense {model.dense_parameter_count()}, "
          f"compression {model.dense_parameter_count() / model.parameter_count():.1f}x), "
          f"{weights} weights = {2 * weights} bytes in q15"
          + (f" ({sum(op.weight.size * op.weight_bits // 8 for op in q.ops if op.weight is not None)} bytes "
             "with 8-bit weights)" if args.weight_bits == 8 else "")
          + f", blob {len(q.blob)} bytes, arena {q.arena_bytes} bytes")
    print(f"  test accuracy ({len(x_test)} samples): float {100 * float_acc:.2f} %, "
          f"q15 C engine {100 * q15_acc:.2f} %")
    print(f"wrote {args.output}")
    if args.header:
        q.write_header(args.header, args.name)
        print(f"wrote {args.header}: model {args.name!r}")
    return 0


def cmd_demo(args):
    from . import demo
    summary = demo.run(out_dir=args.out, profile="full" if args.full else args.profile, block_size=args.block_size,
                       targets=tuple(args.targets.split(",")) if args.targets else (), seed=args.seed,
                       progress=not args.quiet, plots=not args.no_plots, accuracy_results=args.accuracy)
    print()
    print(demo.format_summary(summary))
    failed = summary["mismatches"] or any(fw["status"] != "passed" for fw in summary["firmware"].values())
    return 1 if failed else 0


def _add_demo_parser(sub):
    from .demo import PROFILES, TARGETS
    s = sub.add_parser("demo", help="train, quantize, export, verify and run on emulated Cortex-M: the main job")
    s.add_argument("--full", action="store_true", help="the best accuracy: all 60000 images, 10 epochs (about 30 min)")
    s.add_argument("--profile", choices=tuple(PROFILES), default="quick",
                   help="quick (default, a few minutes), full, or smoke (seconds, for tests)")
    s.add_argument("--block-size", type=int, default=8, help="k of the block-circulant convolutions (default 8)")
    s.add_argument("--targets", default=",".join(TARGETS),
                   help=f"Cortex-M targets, comma separated, or '' for none (default {','.join(TARGETS)})")
    s.add_argument("--out", default="circnn-demo", help="output folder (default circnn-demo)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--accuracy", default=None, help="accuracy.json to plot (default: benchmarks/accuracy.json, shipped with circnn)")
    s.add_argument("--no-plots", action="store_true", help="no pictures")
    s.add_argument("--quiet", action="store_true", help="no progress output")
    s.set_defaults(run=cmd_demo)


def build_parser():
    p = argparse.ArgumentParser(prog="circnn", description="Block-circulant neural networks for microcontrollers.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("info", help="layer table, parameters, flash and arena bytes of a model")
    s.add_argument("model", help="a .circ file")
    s.set_defaults(run=cmd_info)
    s = sub.add_parser("export", help="write the firmware header of a model")
    s.add_argument("model", help="a .circ file")
    s.add_argument("-o", "--output", help="header path (default NAME.h)")
    s.add_argument("--name", default="model", help="C name prefix (default: model)")
    s.set_defaults(run=cmd_export)
    s = sub.add_parser("verify", help="accuracy of the float reference, the simulator and the C engine")
    s.add_argument("model", help="a .circ file")
    s.add_argument("--data", default="fashion-mnist",
                   help="'fashion-mnist' or a folder of IDX files (default: fashion-mnist)")
    s.add_argument("--limit", type=int, default=None, help="use the first N test samples")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--target", choices=_TARGETS, default=None,
                   help="then also build the firmware and run it on QEMU for this core")
    s.add_argument("--vectors", type=int, default=8, help="samples run on the target (default 8)")
    s.add_argument("-o", "--output", default=None, help="firmware folder (default: a temporary one)")
    s.add_argument("--timeout", type=float, default=120.0, help="seconds before QEMU counts as hung")
    s.set_defaults(run=cmd_verify)
    _add_firmware_parser(sub)
    _add_demo_parser(sub)
    s = sub.add_parser("train", help="train a preset network, quantize it, report float and q15 accuracy")
    s.add_argument("--arch", required=True, choices=("mlp", "cnn", "wide_cnn", "ds_cnn", "compact_cnn"),
                   help="circnn.presets network")
    s.add_argument("--block-size", type=_block_size, default=argparse.SUPPRESS,
                   help="k (a power of two), 'dense', or one per layer: 8,16,32 (default: the preset's, "
                        "dense for mlp and cnn, 8,16,32 for wide_cnn, 8 for compact_cnn)")
    s.add_argument("--epochs", type=int, default=10, help="default 10")
    s.add_argument("--batch-size", type=int, default=128, help="default 128")
    s.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    s.add_argument("--optimizer", choices=("adam", "sgd"), default="adam", help="default adam")
    s.add_argument("--schedule", choices=("constant", "cosine", "step"), default="constant",
                   help="learning-rate schedule (default constant)")
    s.add_argument("--weight-decay", type=float, default=0.0, help="default 0")
    s.add_argument("--augment", action="store_true", help="random shifts (2 pixels) and left-right flips")
    s.add_argument("--seed", type=int, default=0, help="initial weights, sample order (default 0)")
    s.add_argument("--limit", type=int, default=None, help="use the first N training and test samples")
    s.add_argument("--data", default=None, help="a folder of IDX files (default: Fashion-MNIST)")
    s.add_argument("--calibration", type=int, default=512, help="training samples to calibrate q15 (default 512)")
    s.add_argument("--weight-bits", type=int, choices=(16, 8), default=16,
                   help="8: store the weights of every layer in 8 bits, one byte a weight "
                        "(format 4; default 16)")
    s.add_argument("--checkpoint", default=None, help="write a checkpoint (.npz) after every epoch")
    s.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    s.add_argument("--quiet", action="store_true", help="no summary and no progress bars")
    s.add_argument("-o", "--output", required=True, help="the model (.circ) to write")
    s.add_argument("--header", default=None, help="also write the firmware header here")
    s.add_argument("--name", default="model", help="C name prefix in the header (default: model)")
    s.set_defaults(run=cmd_train)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (FileNotFoundError, B.ModelFormatError, ValueError) as exc:
        print(f"circnn {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
