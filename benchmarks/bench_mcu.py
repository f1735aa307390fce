"""Executed instructions of circnn's kernels and of a whole model on emulated
Cortex-M cores (QEMU 7.2 + targets/qemu_plugin), printed as Markdown tables.

    python benchmarks/bench_mcu.py            # about a minute

Everything is counted the same way: the instructions executed between two
marker functions around one call (docs/ANCHORS.md's method; the markers' own
cost, the "empty" region, is printed and is not subtracted), -O2, the flags
of targets/<target>.ini.  Instructions, not cycles: QEMU has no cycle
model.  M0+ code runs on the micro:bit's Cortex-M0 (the same ARMv6-M
instructions); what does not fit its 16 KB of RAM runs on mps2-an385, whose
M3 executes the same M0+ instructions with the same count.

Tables:
  1. q15 rfft / irfft, N = 4 .. 1024 (4 and 8 written out), on M0+, M4F and
     M7; f32 on M4F.
  2. q15 bc_dense 256x256 k=16, 512x512 k=64, 1024x1024 k=64, beside a
     plain-C dense q15 matrix-vector product (int32 accumulation) and the
     library's dense q15 layer (int64 accumulation) of the same size, in the
     same firmware; on M4F also with -DCIRCNN_NO_DSP (the portable kernels).
  3. A Fashion-MNIST-shaped model (28x28x1 -> 10), per inference and per
     layer, through `circnn firmware` (the runner checks every output).
  4. The convolutions (--only conv): the demo's CNN shape (circnn.presets.cnn,
     k = 8) and a model of pointwise (1x1) block-circulant convolutions beside
     a dense 1x1 one, per layer, random weights calibrated on 64 Fashion-MNIST
     test images, the first test image's counts (every output checked).
"""
import argparse
import os
import sys
import tempfile

import numpy as np

import circnn
from circnn import firmware
from circnn import layers as L

HERE = os.path.dirname(os.path.abspath(__file__))
FFT_SIZES = [4, 8, 16, 32, 64, 128, 256, 512, 1024]
DENSE_SIZES = [(256, 256, 16), (512, 512, 64), (1024, 1024, 64)]
# CMSIS-DSP / CMSIS-NN anchors (docs/ANCHORS.md), same method.
CMSIS_RFFT_Q15 = {("cortex-m4f", 32): (853, 964), ("cortex-m4f", 256): (9855, 10638),
                  ("cortex-m4f", 1024): (44537, 47624), ("cortex-m0plus", 32): (2688, 2951),
                  ("cortex-m0plus", 256): (31830, 33285), ("cortex-m0plus", 1024): (151614, 157229)}
CMSIS_RFFT_F32 = {32: 1186, 256: 12022, 1024: 48035}
CMSIS_FC_S8_1024 = {"cortex-m4f": 2016953, "cortex-m0plus": 6394009}


def run_cases(target, cases, out, name, board=None, extra_args=()):
    """Build bench_mcu.c with these cases, run it, return ({case: count}, board, empty)."""
    max_n = max([c[1] for c in cases] + [1])
    max_n_f32 = max([c[1] for c in cases if c[0] in ("RFFT_F32", "IRFFT_F32")] + [1])
    max_w, max_scratch = 1, 8
    for kind, n, m, k in cases:
        if kind == "BC_DENSE_Q15":
            p, q = -(-m // k), -(-n // k)
            max_w = max(max_w, p * q * k)
            max_scratch = max(max_scratch, 8 * k + 8 * q + 2 * (q * k + k) + 64)
        elif kind.startswith("DENSE"):
            max_w = max(max_w, m * n)
            max_n = max(max_n, m)
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "bench_cases.h"), "w") as f:
        f.write("#define BENCH_CASES " + " ".join(f"CASE({k}, {n}, {m}, {b})" for k, n, m, b in cases) + "\n")
        f.write(f"#define BENCH_MAX_N {max_n}\n#define BENCH_MAX_N_F32 {max_n_f32}\n")
        f.write(f"#define BENCH_MAX_W {max_w}\n#define BENCH_MAX_SCRATCH {max_scratch}\n")
    elf, board = firmware.build_program(target, folder, [(os.path.join(HERE, "bench_mcu.c"), list(extra_args))],
                                        "bench", board=board, extra_c_args=list(extra_args))
    status, text, counts = firmware.run_elf(board, elf, timeout=600)
    if status != 0 or len(counts["bench"]) != len(cases):
        raise SystemExit(f"bench on {target} failed (exit {status}):\n{text}")
    return dict(zip(cases, counts["bench"])), board, counts["empty"][0]


def fft_table(out, targets):
    print("### q15 and f32 real FFTs (instructions per call)\n")
    rows, notes = {}, []
    for target in targets:
        cases = [(kind, n, 0, 0) for n in FFT_SIZES for kind in ("RFFT_Q15", "IRFFT_Q15")]
        if target == "cortex-m4f":
            cases += [(kind, n, 0, 0) for n in FFT_SIZES for kind in ("RFFT_F32", "IRFFT_F32")]
        counts, board, empty = run_cases(target, cases, out, f"fft-{target}")
        notes.append(f"{target} on {board} (empty region {empty})")
        for (kind, n, _, _), c in counts.items():
            rows.setdefault((target, kind), {})[n] = c
    print("| target | transform | " + " | ".join(f"N={n}" for n in FFT_SIZES) + " |")
    print("|---|---|" + "---:|" * len(FFT_SIZES))
    for (target, kind), by_n in rows.items():
        print(f"| {target} | {kind.lower()} | " + " | ".join(f"{by_n[n]:,}" for n in FFT_SIZES) + " |")
    print("\nCMSIS-DSP (docs/ANCHORS.md, same method): arm_rfft_q15 forward/inverse N=32, 256, 1024 on M4F "
          "853/964, 9,855/10,638, 44,537/47,624; on M0+ 2,688/2,951, 31,830/33,285, 151,614/157,229; "
          "arm_rfft_fast_f32 on M4F 1,186, 12,022, 48,035.")
    print("Boards: " + "; ".join(notes) + ".\n")
    return rows


def dense_table(out, targets):
    print("### Block-circulant dense q15 beside dense q15 (instructions per layer call)\n")
    results = []
    for target in targets:
        variants = [("", ())]
        if firmware.TARGETS[target]["dsp"]:
            variants.append((" (portable, -DCIRCNN_NO_DSP)", ("-DCIRCNN_NO_DSP",)))
        for label, args in variants:
            cases = []
            for n, m, k in DENSE_SIZES:
                cases += [("BC_DENSE_Q15", n, m, k), ("DENSE_Q15_PLAIN", n, m, 0), ("DENSE_Q15", n, m, 0)]
            # the 1024x1024 dense weights (2 MB) need an mps2 board's RAM
            board = "mps2-an385" if target == "cortex-m0plus" else None
            counts, board, empty = run_cases(target, cases, out, f"dense-{target}{'-nodsp' if args else ''}",
                                             board=board, extra_args=args)
            for n, m, k in DENSE_SIZES:
                bc = counts[("BC_DENSE_Q15", n, m, k)]
                plain = counts[("DENSE_Q15_PLAIN", n, m, 0)]
                lib = counts[("DENSE_Q15", n, m, 0)]
                results.append((target + label, board, f"{n}x{m}", k, bc, plain, lib))
    print("| target | board | size | k | bc_dense q15 | plain dense q15 (int32 acc.) | circnn_dense_q15 (int64) "
          "| plain / bc | per MAC (plain) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for target, board, size, k, bc, plain, lib in results:
        n = int(size.split("x")[0]) * int(size.split("x")[1])
        print(f"| {target} | {board} | {size} | {k} | {bc:,} | {plain:,} | {lib:,} | {plain / bc:.1f}x "
              f"| {plain / n:.2f} |")
    print("\nCMSIS-NN arm_fully_connected_s8 1024x1024 (docs/ANCHORS.md): M4F 2,016,953, M0+ 6,394,009.\n")
    return results


def fmnist_model(seed=0):
    rng = np.random.default_rng(seed)
    return circnn.Model([
        L.Conv2d(1, 8, 3, padding="same", seed=rng), L.ReLU(), L.MaxPool2d(2),
        L.BlockCirculantConv2d(8, 16, 3, 8, padding="same", seed=rng), L.ReLU(), L.MaxPool2d(2),
        L.Flatten(),
        L.BlockCirculantDense(7 * 7 * 16, 128, 16, seed=rng), L.ReLU(),
        L.Dense(128, 10, seed=rng),
    ], input_shape=(28, 28, 1))


def model_table(out, targets):
    print("### A Fashion-MNIST-shaped model (28x28x1 -> 10; instructions per inference and per layer)\n")
    model = fmnist_model()
    try:
        from circnn import datasets
        _, (x, _) = datasets.fashion_mnist(limit=256)
        data = "Fashion-MNIST test images"
    except Exception:   # noqa: BLE001 - any missing or broken data set: random images
        x = np.random.default_rng(1).uniform(0, 1, (256, 28, 28, 1)).astype(np.float32)
        data = "random images (Fashion-MNIST not found)"
    exported = {"q15": model.quantize(x), "f32": model.to_f32()}
    runs = []
    for target in targets:
        for dtype in ("q15", "f32"):
            if dtype == "f32" and not firmware.TARGETS[target]["fpu"]:
                continue
            folder = os.path.join(out, f"model-{target}-{dtype}")
            record = firmware.build(exported[dtype], target, folder, inputs=x[:4])
            r = firmware.run(folder, timeout=600)
            if r["status"] != "passed":
                raise SystemExit(f"model on {target} {dtype}: {r['status']}\n{r['console']}")
            runs.append((target, dtype, record, r))
    layers = runs[0][2]["layers"]
    head = " | ".join(f"{t} {d} ({r['board']})" for t, d, _, r in runs)
    print(f"| layer | {head} |")
    print("|---|" + "---:|" * len(runs))
    for i, name in enumerate(layers):
        print(f"| {i} {name} | " + " | ".join(f"{r['instructions']['per_layer'][i]['instructions']:,}"
                                             for _, _, _, r in runs) + " |")
    print("| **per inference** | " + " | ".join(f"**{r['instructions']['inference']:,}**" for *_, r in runs) + " |")
    print("| flash (text+rodata+data) | " + " | ".join(f"{rec['memory']['flash_without_tests']:,}"
                                                      for _, _, rec, _ in runs) + " |")
    print("| RAM (data+bss+stack) | " + " | ".join(f"{rec['memory']['ram']:,}" for _, _, rec, _ in runs) + " |")
    print(f"\nModel blob {len(exported['q15'].blob):,} bytes (q15) / {len(exported['f32'].blob):,} (f32), "
          f"arena {exported['q15'].arena_bytes:,} / {exported['f32'].arena_bytes:,} bytes; "
          f"calibrated and checked on {data}, every output bit-exact on every core. "
          "Per inference: the first of the 4 vectors; flash without the test vectors.\n")


def pointwise_model(seed=0):
    """3x3 conv 1-64, 2x2 max pool, then 1x1 convolutions on 14x14x64: block-circulant
    at k = 8 and 16, and dense; global average pooling, FC 64-10."""
    rng = np.random.default_rng(seed)
    return circnn.Model([
        L.Conv2d(1, 64, 3, seed=rng), L.ReLU(), L.MaxPool2d(2),
        L.BlockCirculantConv2d(64, 64, 1, 8, seed=rng), L.ReLU(),
        L.BlockCirculantConv2d(64, 64, 1, 16, seed=rng), L.ReLU(),
        L.Conv2d(64, 64, 1, seed=rng), L.ReLU(),
        L.GlobalAvgPool2d(), L.Flatten(), L.Dense(64, 10, seed=rng),
    ], input_shape=(28, 28, 1))


def conv_table(out, targets):
    print("### Convolutions, q15 (instructions per layer, first Fashion-MNIST test image)\n")
    from circnn import datasets, presets
    _, (x, _) = datasets.fashion_mnist(limit=64)
    for title, model in (("demo CNN shape (presets.cnn, k = 8)", circnn.presets.cnn(8, seed=0)),
                         ("pointwise (1x1) convolutions", pointwise_model())):
        q = model.quantize(x)
        runs = []
        for target in targets:
            folder = os.path.join(out, f"conv-{target}-{len(runs)}-{title.split()[0]}")
            firmware.build(q, target, folder, inputs=x[:2])
            r = firmware.run(folder, timeout=600)
            if r["status"] != "passed":
                raise SystemExit(f"{title} on {target}: {r['status']}\n{r['console']}")
            runs.append((target, r))
        print(f"{title}:\n")
        print("| layer | " + " | ".join(f"{t} ({r['board']})" for t, r in runs) + " |")
        print("|---|" + "---:|" * len(runs))
        for row in q.table():
            i = row["index"]
            shape = f"{row['input'][0]}x{row['input'][1]}x{row['input'][2]} -> {row['output'][2]}"
            k = f", k = {row['k']}" if row["k"] else ""
            print(f"| {i} {row['type']} {shape}{k} | " +
                  " | ".join(f"{r['instructions']['per_layer'][i]['instructions']:,}" for _, r in runs) + " |")
        print("| **per inference** | " + " | ".join(f"**{r['instructions']['inference']:,}**" for _, r in runs)
              + " |\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default="cortex-m0plus,cortex-m4f,cortex-m7")
    p.add_argument("--only", choices=("fft", "dense", "model", "conv"), default=None)
    p.add_argument("-o", "--output", default=None, help="build folder (default: a temporary one)")
    args = p.parse_args(argv)
    firmware.check_tools(run=True)
    targets = args.targets.split(",")
    out = args.output or tempfile.mkdtemp(prefix="circnn-bench-mcu-")
    print(f"circnn {circnn.__version__}, {firmware.tool_versions()}\n")
    if args.only in (None, "fft"):
        fft_table(out, targets)
    if args.only in (None, "dense"):
        dense_table(out, targets)
    if args.only in (None, "model"):
        model_table(out, targets)
    if args.only in (None, "conv"):
        conv_table(out, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
